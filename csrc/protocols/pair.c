/* pair.c - PAIR (cooked and raw behave alike): exactly one peer at a time. */
#include "protocols/route.h"

typedef struct pair_state {
    np_pipe *peer;  /* the one pipe we talk to */
} pair_state;

static int pair_pipe_add(np_sock *s, np_pipe *p)
{
    pair_state *st = s->proto;
    if (st->peer)
        return -EISCONN;  /* a second peer is refused; its connection is closed */
    st->peer = p;
    return 0;
}

static void pair_pipe_rm(np_sock *s, np_pipe *p)
{
    pair_state *st = s->proto;
    if (st->peer == p)
        st->peer = NULL;
}

static int pair_send(np_sock *s, np_msg *m)
{
    pair_state *st = s->proto;
    return st->peer ? np_pipe_send(st->peer, m) : -EAGAIN;
}

static np_pipe *pair_batch_pipe(np_sock *s)
{
    pair_state *st = s->proto;
    return st->peer;
}

static int pair_can_send(np_sock *s)
{
    pair_state *st = s->proto;
    return st->peer && np_pipe_writable(st->peer);
}

#define PAIR_OPS(is_raw)                                                                      \
    {                                                                                         \
        .protocol = NP_PAIR, .peer = NP_PAIR, .raw = is_raw,                                  \
        .dirs = NP_CAN_SEND | NP_CAN_RECV, .send_blocks = 1,                                  \
        .state_size = sizeof(pair_state), .pipe_add = pair_pipe_add, .pipe_rm = pair_pipe_rm, \
        .send = pair_send, .recv = np_proto_fq_recv, .can_send = pair_can_send,               \
        .batch_pipe = pair_batch_pipe,                                                        \
        .can_recv = np_fq_readable,                                                           \
    }

const np_proto_ops np_pair_ops = PAIR_OPS(0);
const np_proto_ops np_xpair_ops = PAIR_OPS(1);
