/* pub.c - PUB fans out to every subscriber that has room (never blocks, drops for the busy
 * ones). Raw PUB is the same. */
#include "protocols/route.h"

static int pub_send(np_sock *s, np_msg *m)
{
    np_dist_send(s, m, NULL);
    return 0;
}

#define PUB_OPS(is_raw)                                                                   \
    {                                                                                     \
        .protocol = NP_PUB, .peer = NP_SUB, .raw = is_raw, .dirs = NP_CAN_SEND,           \
        .pipe_add = np_proto_pipe_accept, .pipe_rm = np_proto_pipe_forget,                \
        .send = pub_send, .can_send = np_proto_always, .can_recv = np_proto_never,        \
    }

const np_proto_ops np_pub_ops = PUB_OPS(0);
const np_proto_ops np_xpub_ops = PUB_OPS(1);
