/* push.c - PUSH: each message to one PULL peer, load-balanced by NN_SNDPRIO then round
 * robin; it waits (blocks) when no peer has room. Raw PUSH is the same. */
#include "protocols/route.h"

static int push_send(np_sock *s, np_msg *m) { return np_lb_send(s, m); }

#define PUSH_OPS(is_raw)                                                                  \
    {                                                                                     \
        .protocol = NP_PUSH, .peer = NP_PULL, .raw = is_raw, .dirs = NP_CAN_SEND,         \
        .send_blocks = 1, .lb_priority = 1, .pipe_add = np_proto_pipe_accept,             \
        .pipe_rm = np_proto_pipe_forget, .send = push_send, .can_send = np_lb_writable,   \
        .can_recv = np_proto_never,                                                       \
    }

const np_proto_ops np_push_ops = PUSH_OPS(0);
const np_proto_ops np_xpush_ops = PUSH_OPS(1);
