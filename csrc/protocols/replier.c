/* replier.c - the answering side of REP and RESPONDENT; see replier.h. */
#include "protocols/replier.h"

void np_replier_fini(np_sock *s)
{
    np_replier *st = s->proto;
    if (st)
        np_msg_free(st->held);
}

static int replier_recv_into(np_sock *s, np_replier *st, np_msg **out)
{
    /* A new recv abandons the request held so far, even if nothing new is there. */
    np_msg_free(st->held);
    st->held = NULL;
    np_msg *m;
    int rc = np_bt_recv(s, &m);
    if (rc)
        return rc;
    st->held = np_msg_alloc(0);
    if (!st->held || np_msg_set_hdr(st->held, m->hdr, m->hdr_len) != 0) {
        np_msg_free(st->held);
        st->held = NULL;
        np_msg_free(m);
        return -ENOMEM;
    }
    np_msg_set_hdr(m, NULL, 0);
    *out = m;
    return 0;
}

static int replier_send_from(np_sock *s, np_replier *st, np_msg *m)
{
    if (!st->held)
        return -NP_EFSM;
    if (np_msg_set_hdr(m, st->held->hdr, st->held->hdr_len) != 0)
        return -ENOMEM;
    np_msg_free(st->held);
    st->held = NULL;
    np_bt_route(s, m);
    return 0;
}

int np_replier_recv(np_sock *s, np_msg **out) { return replier_recv_into(s, s->proto, out); }
int np_replier_send(np_sock *s, np_msg *m) { return replier_send_from(s, s->proto, m); }

int np_replier_can_send(np_sock *s)
{
    np_replier *st = s->proto;
    return st->held != NULL;
}

int np_replier_ctx_init(np_sock *s, np_ctx *c)
{
    (void)s;
    (void)c;
    return 0;
}

void np_replier_ctx_fini(np_sock *s, np_ctx *c)
{
    (void)s;
    np_replier *st = c->state;
    np_msg_free(st->held);
    st->held = NULL;
}

int np_replier_ctx_send(np_sock *s, np_ctx *c, np_msg *m)
{
    return replier_send_from(s, c->state, m);
}

int np_replier_ctx_recv(np_sock *s, np_ctx *c, np_msg **out)
{
    return replier_recv_into(s, c->state, out);
}

int np_replier_ctx_can_recv(np_sock *s, np_ctx *c)
{
    (void)c;
    return np_fq_readable(s);
}

int np_replier_raw_recv(np_sock *s, np_msg **out) { return np_bt_recv(s, out); }

int np_replier_raw_send(np_sock *s, np_msg *m)
{
    np_bt_route(s, m);
    return 0;
}
