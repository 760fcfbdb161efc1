/* pipeline.c - PUSH (load balanced out) and PULL (fair-queued in); raw is the same. */
#include "route.h"

static int accept_pipe(np_sock *s, np_pipe *p) { (void)s; (void)p; return 0; }
static void forget_pipe(np_sock *s, np_pipe *p) { (void)s; (void)p; }

static int push_send(np_sock *s, np_msg *m) { return np_lb_send(s, m); }

static int pull_recv(np_sock *s, np_msg **m)
{
    *m = np_fq_recv(s, NULL);
    return *m ? 0 : -EAGAIN;
}

static int never(np_sock *s) { (void)s; return 0; }

#define PUSH_OPS(is_raw)                                                                  \
    {                                                                                     \
        .protocol = NP_PUSH, .raw = is_raw, .dirs = NP_CAN_SEND, .pipe_add = accept_pipe, \
        .send_blocks = 1,                                                                 \
        .pipe_rm = forget_pipe, .send = push_send, .can_send = np_lb_writable,            \
        .can_recv = never,                                                                \
    }
#define PULL_OPS(is_raw)                                                                  \
    {                                                                                     \
        .protocol = NP_PULL, .raw = is_raw, .dirs = NP_CAN_RECV, .pipe_add = accept_pipe, \
        .pipe_rm = forget_pipe, .recv = pull_recv, .can_send = never,                     \
        .can_recv = np_fq_readable,                                                       \
    }

const np_proto_ops np_push_ops = PUSH_OPS(0);
const np_proto_ops np_xpush_ops = PUSH_OPS(1);
const np_proto_ops np_pull_ops = PULL_OPS(0);
const np_proto_ops np_xpull_ops = PULL_OPS(1);
