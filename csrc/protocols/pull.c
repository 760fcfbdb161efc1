/* pull.c - PULL: fair-queued receive from every PUSH peer. Raw PULL is the same. */
#include "protocols/route.h"

#define PULL_OPS(is_raw)                                                                  \
    {                                                                                     \
        .protocol = NP_PULL, .peer = NP_PUSH, .raw = is_raw, .dirs = NP_CAN_RECV,         \
        .pipe_add = np_proto_pipe_accept, .pipe_rm = np_proto_pipe_forget,                \
        .recv = np_proto_fq_recv, .can_send = np_proto_never, .can_recv = np_fq_readable, \
    }

const np_proto_ops np_pull_ops = PULL_OPS(0);
const np_proto_ops np_xpull_ops = PULL_OPS(1);
