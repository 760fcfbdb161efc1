/*
 * req.c - REQ, cooked and raw.
 *
 * Cooked REQ keeps one request outstanding: it is sent as soon as some REP pipe is writable,
 * re-sent every NN_REQ_RESEND_IVL without a reply (and at once if its pipe dies), replaced by
 * a newer request, and only the reply carrying its id is delivered. Raw REQ load-balances
 * the caller's requests (header included) and hands back replies with their id as header.
 */
#include "protocols/route.h"

enum { REQ_IDLE, REQ_DELAYED, REQ_ACTIVE, REQ_DONE };

/* One request state: the socket's own, or a context's. */
typedef struct req_ctx {
    int state;
    uint32_t id;
    np_msg *request;   /* the outstanding request, header included (kept for resends) */
    np_msg *reply;
    np_pipe *sent_to;
    np_timer timer;
    uint64_t seq;
    np_sock *sock;
    np_ctx *ctx;       /* NULL for the socket's own state */
} req_ctx;

typedef struct req_state {
    uint32_t last_id;  /* request ids are unique across all contexts of the socket */
    int resend_ivl;
    req_ctx main;
} req_state;

static void req_timer_fired(np_timer *t, uint64_t seq);

static void req_ctx_setup(np_sock *s, req_ctx *rc, np_ctx *ctx)
{
    rc->sock = s;
    rc->ctx = ctx;
    rc->timer.cb = req_timer_fired;
    rc->timer.owner = rc;
}

static int req_init(np_sock *s)
{
    req_state *st = s->proto;
    st->last_id = np_random32();
    st->resend_ivl = 60000;
    req_ctx_setup(s, &st->main, NULL);
    return 0;
}

/* Call fn on every live request state of the socket. */
#define FOR_EACH_REQ(s, rc, body)                                                   \
    do {                                                                            \
        req_ctx *rc = &((req_state *)(s)->proto)->main;                             \
        body;                                                                       \
        for (np_ctx *c_ = (s)->ctxs; c_; c_ = c_->next) {                           \
            if (c_->closed)                                                         \
                continue;                                                           \
            rc = c_->state;                                                         \
            body;                                                                   \
        }                                                                           \
    } while (0)

static void req_ctx_clear(req_ctx *rc)
{
    np_timer_cancel(&rc->timer);
    np_msg_free(rc->request);
    np_msg_free(rc->reply);
    rc->request = rc->reply = NULL;
    rc->sent_to = NULL;
    rc->state = REQ_IDLE;
}

static void req_stop(np_sock *s)
{
    FOR_EACH_REQ(s, rc, np_timer_cancel(&rc->timer));
}

static void req_fini(np_sock *s)
{
    req_state *st = s->proto;
    if (st)
        req_ctx_clear(&st->main);
}

/* Send (or re-send) a state's request through p, or the load balancer's pick. */
static void req_transmit(np_sock *s, req_ctx *rc, np_pipe *p)
{
    req_state *st = s->proto;
    if (!p)
        p = np_lb_pick(s);
    np_msg *copy = p ? np_msg_share(rc->request) : NULL;
    if (!copy || np_pipe_send(p, copy) != 0) {
        np_msg_free(copy);
        rc->state = REQ_DELAYED;
        rc->sent_to = NULL;
        np_timer_cancel(&rc->timer);
        return;
    }
    rc->state = REQ_ACTIVE;
    rc->sent_to = p;
    np_timer_start(&rc->timer, st->resend_ivl, ++rc->seq);
}

static void req_timer_fired(np_timer *t, uint64_t seq)
{
    req_ctx *rc = t->owner;
    np_sock *s = rc->sock;
    pthread_mutex_lock(&s->lock);
    if (seq == rc->seq && rc->state == REQ_ACTIVE && !s->closing) {
        req_transmit(s, rc, NULL);
        np_sock_update_ready(s);
    }
    pthread_mutex_unlock(&s->lock);
}

static int req_pipe_add(np_sock *s, np_pipe *p)
{
    FOR_EACH_REQ(s, rc, if (rc->state == REQ_DELAYED && np_pipe_writable(p))
                            req_transmit(s, rc, p));
    return 0;
}

static void req_pipe_rm(np_sock *s, np_pipe *p)
{
    /* The REP holding a request vanished: try another one now. */
    FOR_EACH_REQ(s, rc, if (rc->state == REQ_ACTIVE && rc->sent_to == p) {
        rc->sent_to = NULL;
        req_transmit(s, rc, NULL);
    });
}

static int req_ctx_send_msg(np_sock *s, req_ctx *rc, np_msg *m)
{
    req_state *st = s->proto;
    uint8_t hdr[4];
    uint32_t id = st->last_id + 1;
    np_put_u32(hdr, id | 0x80000000u);
    if (np_msg_set_hdr(m, hdr, 4) != 0)
        return -ENOMEM;
    st->last_id = id;
    /* A new request cancels the old one; a late reply to it will not match the id. */
    np_msg_free(rc->reply);
    rc->reply = NULL;
    np_msg_free(rc->request);
    rc->request = m;
    rc->id = id;
    req_transmit(s, rc, NULL);
    return 0;
}

static req_ctx *req_by_id(np_sock *s, uint32_t word)
{
    req_ctx *found = NULL;
    FOR_EACH_REQ(s, rc, if (!found && (rc->state == REQ_ACTIVE || rc->state == REQ_DELAYED) &&
                            (rc->id | 0x80000000u) == word) found = rc);
    return found;
}

/* Route what arrived to the request it answers (any context); drop everything else. */
static void req_take_replies(np_sock *s)
{
    FOR_EACH_REQ(s, rc, if (rc->state == REQ_DELAYED && np_lb_writable(s))
                            req_transmit(s, rc, NULL));
    np_msg *m;
    while ((m = np_fq_recv(s, NULL)) != NULL) {
        req_ctx *rc = np_bt_split_id(m) == 0 ? req_by_id(s, np_get_u32(m->hdr)) : NULL;
        if (!rc) {
            np_msg_free(m);
            continue;
        }
        np_msg_set_hdr(m, NULL, 0);
        rc->reply = m;
        rc->state = REQ_DONE;
        np_timer_cancel(&rc->timer);
        if (rc->ctx)
            np_efd_signal(&rc->ctx->ready);
    }
}

static int req_ctx_recv_msg(np_sock *s, req_ctx *rc, np_msg **out)
{
    if (rc->state == REQ_IDLE)
        return -NP_EFSM;
    req_take_replies(s);
    if (rc->state != REQ_DONE)
        return -EAGAIN;
    *out = rc->reply;
    rc->reply = NULL;
    np_msg_free(rc->request);
    rc->request = NULL;
    rc->sent_to = NULL;
    rc->state = REQ_IDLE;
    return 0;
}

static int req_send(np_sock *s, np_msg *m)
{
    return req_ctx_send_msg(s, &((req_state *)s->proto)->main, m);
}

static int req_recv(np_sock *s, np_msg **out)
{
    return req_ctx_recv_msg(s, &((req_state *)s->proto)->main, out);
}

static int req_can_recv(np_sock *s)
{
    req_take_replies(s);
    return ((req_state *)s->proto)->main.state == REQ_DONE;
}

static int req_ctx_init(np_sock *s, np_ctx *c)
{
    req_ctx_setup(s, c->state, c);
    return 0;
}

static void req_ctx_fini(np_sock *s, np_ctx *c)
{
    (void)s;
    req_ctx_clear(c->state);
}

static int req_ctx_send(np_sock *s, np_ctx *c, np_msg *m)
{
    return req_ctx_send_msg(s, c->state, m);
}

static int req_ctx_recv(np_sock *s, np_ctx *c, np_msg **out)
{
    return req_ctx_recv_msg(s, c->state, out);
}

static int req_ctx_can_recv(np_sock *s, np_ctx *c)
{
    req_take_replies(s);
    return ((req_ctx *)c->state)->state == REQ_DONE;
}

static int req_setopt(np_sock *s, int opt, const void *val, size_t len)
{
    req_state *st = s->proto;
    return opt == NP_REQ_RESEND_IVL ? np_opt_set_nonneg_int(val, len, &st->resend_ivl)
                                    : -ENOPROTOOPT;
}

static int req_getopt(np_sock *s, int opt, void *val, size_t *len)
{
    req_state *st = s->proto;
    return opt == NP_REQ_RESEND_IVL ? np_opt_get_int(st->resend_ivl, val, len) : -ENOPROTOOPT;
}

const np_proto_ops np_req_ops = {
    .protocol = NP_REQ, .peer = NP_REP, .raw = 0, .dirs = NP_CAN_SEND | NP_CAN_RECV,
    .opt_level = NP_REQ, .recv_filters = 1, .lb_priority = 1,
    .state_size = sizeof(req_state), .init = req_init, .fini = req_fini, .stop = req_stop,
    .pipe_add = req_pipe_add, .pipe_rm = req_pipe_rm, .send = req_send, .recv = req_recv,
    .can_send = np_proto_always, .can_recv = req_can_recv, .setopt = req_setopt,
    .getopt = req_getopt,
    .ctx_size = sizeof(req_ctx), .ctx_own_efd = 1, .ctx_init = req_ctx_init,
    .ctx_fini = req_ctx_fini, .ctx_send = req_ctx_send, .ctx_recv = req_ctx_recv,
    .ctx_can_recv = req_ctx_can_recv,
};

/* ---- raw REQ: load-balanced requests with the caller's header; 4-byte id on replies --- */

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
    .protocol = NP_REQ, .peer = NP_REP, .raw = 1, .dirs = NP_CAN_SEND | NP_CAN_RECV,
    .send_blocks = 1, .lb_priority = 1, .pipe_add = np_proto_pipe_accept,
    .pipe_rm = np_proto_pipe_forget, .send = xreq_send, .recv = xreq_recv,
    .can_send = np_lb_writable, .can_recv = np_fq_readable,
};
