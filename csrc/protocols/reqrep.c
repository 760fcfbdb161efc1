/*
 * reqrep.c - REQ and REP, cooked and raw.
 *
 * Cooked REQ keeps one request outstanding: it is sent as soon as some REP pipe is writable,
 * re-sent every NN_REQ_RESEND_IVL without a reply (and at once if its pipe dies), replaced by
 * a newer request, and only the reply carrying its id is delivered. Cooked REP holds the
 * backtrace of the request it is answering. The raw variants expose the headers instead.
 */
#include "route.h"

#include <string.h>

uint32_t np_random32(void);

enum { REQ_IDLE, REQ_DELAYED, REQ_ACTIVE, REQ_DONE };

typedef struct req_state {
    int state;
    uint32_t id;
    np_msg *request;   /* the outstanding request, header included (kept for resends) */
    np_msg *reply;
    np_pipe *sent_to;
    int resend_ivl;
    np_timer timer;
    uint64_t seq;
} req_state;

static void req_timer_fired(np_timer *t, uint64_t seq);

static int req_init(np_sock *s)
{
    req_state *st = s->proto;
    st->id = np_random32();
    st->resend_ivl = 60000;
    st->timer.cb = req_timer_fired;
    st->timer.owner = s;
    return 0;
}

static void req_stop(np_sock *s)
{
    req_state *st = s->proto;
    np_timer_cancel(&st->timer);
}

static void req_fini(np_sock *s)
{
    req_state *st = s->proto;
    if (!st)
        return;
    np_msg_free(st->request);
    np_msg_free(st->reply);
}

/* Send (or re-send) the outstanding request through p, or the load balancer's pick. */
static void req_transmit(np_sock *s, req_state *st, np_pipe *p)
{
    if (!p)
        p = np_lb_pick(s);
    np_msg *copy = p ? np_msg_share(st->request) : NULL;
    if (!copy || np_pipe_send(p, copy) != 0) {
        np_msg_free(copy);
        st->state = REQ_DELAYED;
        st->sent_to = NULL;
        np_timer_cancel(&st->timer);
        return;
    }
    st->state = REQ_ACTIVE;
    st->sent_to = p;
    np_timer_start(&st->timer, st->resend_ivl, ++st->seq);
}

static void req_timer_fired(np_timer *t, uint64_t seq)
{
    np_sock *s = t->owner;
    pthread_mutex_lock(&s->lock);
    req_state *st = s->proto;
    if (seq == st->seq && st->state == REQ_ACTIVE && !s->closing) {
        req_transmit(s, st, NULL);
        np_sock_update_ready(s);
    }
    pthread_mutex_unlock(&s->lock);
}

static int req_pipe_add(np_sock *s, np_pipe *p)
{
    req_state *st = s->proto;
    if (st->state == REQ_DELAYED && np_pipe_writable(p))
        req_transmit(s, st, p);
    return 0;
}

static void req_pipe_rm(np_sock *s, np_pipe *p)
{
    req_state *st = s->proto;
    if (st->state == REQ_ACTIVE && st->sent_to == p) {
        st->sent_to = NULL;
        req_transmit(s, st, NULL);  /* the REP holding it vanished: try another one now */
    }
}

static int req_send(np_sock *s, np_msg *m)
{
    req_state *st = s->proto;
    uint8_t hdr[4];
    np_put_u32(hdr, ++st->id | 0x80000000u);
    if (np_msg_set_hdr(m, hdr, 4) != 0) {
        st->id--;
        return -ENOMEM;
    }
    /* A new request cancels the old one; a late reply to it will not match the id. */
    np_msg_free(st->reply);
    st->reply = NULL;
    np_msg_free(st->request);
    st->request = m;
    req_transmit(s, st, NULL);
    return 0;
}

/* Look at what arrived: keep the reply to the current request, drop everything else. */
static void req_take_replies(np_sock *s, req_state *st)
{
    if (st->state == REQ_DELAYED && np_lb_writable(s))
        req_transmit(s, st, NULL);
    if (st->state != REQ_ACTIVE && st->state != REQ_DELAYED)
        return;
    np_msg *m;
    while ((m = np_fq_recv(s, NULL)) != NULL) {
        if (np_bt_split_id(m) == 0 && np_get_u32(m->hdr) == (st->id | 0x80000000u)) {
            np_msg_set_hdr(m, NULL, 0);
            st->reply = m;
            st->state = REQ_DONE;
            np_timer_cancel(&st->timer);
            return;
        }
        np_msg_free(m);
    }
}

static int req_recv(np_sock *s, np_msg **out)
{
    req_state *st = s->proto;
    if (st->state == REQ_IDLE)
        return -NP_EFSM;
    req_take_replies(s, st);
    if (st->state != REQ_DONE)
        return -EAGAIN;
    *out = st->reply;
    st->reply = NULL;
    np_msg_free(st->request);
    st->request = NULL;
    st->sent_to = NULL;
    st->state = REQ_IDLE;
    return 0;
}

static int req_can_recv(np_sock *s)
{
    req_state *st = s->proto;
    req_take_replies(s, st);
    return st->state == REQ_DONE;
}

static int always(np_sock *s) { (void)s; return 1; }

static int int_opt(const void *val, size_t len, int *out)
{
    if (len != sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int req_setopt(np_sock *s, int opt, const void *val, size_t len)
{
    req_state *st = s->proto;
    int v;
    if (opt != NP_REQ_RESEND_IVL)
        return -ENOPROTOOPT;
    if (int_opt(val, len, &v) || v < 0)
        return -EINVAL;  /* nanomsg aborts later on a negative interval */
    st->resend_ivl = v;
    return 0;
}

static int req_getopt(np_sock *s, int opt, void *val, size_t *len)
{
    req_state *st = s->proto;
    if (opt != NP_REQ_RESEND_IVL)
        return -ENOPROTOOPT;
    if (*len < sizeof(int))
        return -EINVAL;
    memcpy(val, &st->resend_ivl, sizeof(int));
    *len = sizeof(int);
    return 0;
}

const np_proto_ops np_req_ops = {
    .protocol = NP_REQ, .raw = 0, .dirs = NP_CAN_SEND | NP_CAN_RECV, .opt_level = NP_REQ,
    .recv_filters = 1,
    .state_size = sizeof(req_state), .init = req_init, .fini = req_fini, .stop = req_stop,
    .pipe_add = req_pipe_add, .pipe_rm = req_pipe_rm, .send = req_send, .recv = req_recv,
    .can_send = always, .can_recv = req_can_recv, .setopt = req_setopt, .getopt = req_getopt,
};

/* ---- raw REQ: load-balanced requests with the caller's header; 4-byte id on replies --- */

static int accept_pipe(np_sock *s, np_pipe *p) { (void)s; (void)p; return 0; }
static void forget_pipe(np_sock *s, np_pipe *p) { (void)s; (void)p; }

static int xreq_send(np_sock *s, np_msg *m) { return np_lb_send(s, m); }

static int xreq_recv(np_sock *s, np_msg **out)
{
    np_msg *m;
    while ((m = np_fq_recv(s, NULL)) != NULL) {
        if (np_bt_split_id(m) == 0) {
            *out = m;
            return 0;
        }
        np_msg_free(m);
    }
    return -EAGAIN;
}

const np_proto_ops np_xreq_ops = {
    .protocol = NP_REQ, .raw = 1, .dirs = NP_CAN_SEND | NP_CAN_RECV, .send_blocks = 1,
    .pipe_add = accept_pipe, .pipe_rm = forget_pipe, .send = xreq_send, .recv = xreq_recv,
    .can_send = np_lb_writable, .can_recv = np_fq_readable,
};

/* ---- REP (and RESPONDENT, which behaves the same) ---------------------------------- */

typedef struct rep_state {
    np_msg *held;  /* header-only message: the backtrace of the request being answered */
} rep_state;

static void rep_fini(np_sock *s)
{
    rep_state *st = s->proto;
    if (st)
        np_msg_free(st->held);
}

static int rep_recv(np_sock *s, np_msg **out)
{
    rep_state *st = s->proto;
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

static int rep_send(np_sock *s, np_msg *m)
{
    rep_state *st = s->proto;
    if (!st->held)
        return -NP_EFSM;
    if (np_msg_set_hdr(m, st->held->hdr, st->held->hdr_len) != 0)
        return -ENOMEM;
    np_msg_free(st->held);
    st->held = NULL;
    np_bt_route(s, m);
    return 0;
}

static int rep_can_send(np_sock *s)
{
    rep_state *st = s->proto;
    return st->held != NULL;
}

static int xrep_recv(np_sock *s, np_msg **out) { return np_bt_recv(s, out); }

static int xrep_send(np_sock *s, np_msg *m)
{
    np_bt_route(s, m);
    return 0;
}

#define REP_OPS(proto)                                                                       \
    {                                                                                        \
        .protocol = proto, .raw = 0, .dirs = NP_CAN_SEND | NP_CAN_RECV,                      \
        .state_size = sizeof(rep_state), .fini = rep_fini, .pipe_add = accept_pipe,          \
        .pipe_rm = forget_pipe, .send = rep_send, .recv = rep_recv, .can_send = rep_can_send, \
        .can_recv = np_fq_readable,                                                          \
    }
#define XREP_OPS(proto)                                                                     \
    {                                                                                       \
        .protocol = proto, .raw = 1, .dirs = NP_CAN_SEND | NP_CAN_RECV,                     \
        .pipe_add = accept_pipe, .pipe_rm = forget_pipe, .send = xrep_send,                 \
        .recv = xrep_recv, .can_send = always, .can_recv = np_fq_readable,                  \
    }

const np_proto_ops np_rep_ops = REP_OPS(NP_REP);
const np_proto_ops np_xrep_ops = XREP_OPS(NP_REP);
const np_proto_ops np_respondent_ops = REP_OPS(NP_RESPONDENT);
const np_proto_ops np_xrespondent_ops = XREP_OPS(NP_RESPONDENT);
