/*
 * bus.c - BUS: every message goes to every directly connected node (never back to the pipe it
 * came from, never relayed). Raw BUS exposes an 8-byte pipe token as the SP header so that a
 * loopback device can re-broadcast to everyone but the origin.
 */
#include "protocols/route.h"

#include <string.h>


static int bus_send(np_sock *s, np_msg *m)
{
    np_pipe *except = NULL;
    if (m->hdr_len == 8) {
        uint64_t token;
        memcpy(&token, m->hdr, 8);
        except = np_pipe_by_id(s, (uint32_t)token);
        np_msg_set_hdr(m, NULL, 0);
    } else if (m->hdr_len != 0) {
        return -EINVAL;
    }
    np_dist_send(s, m, except);
    return 0;
}

static int xbus_recv(np_sock *s, np_msg **out)
{
    np_pipe *from;
    np_msg *m = np_fq_recv(s, &from);
    if (!m)
        return -EAGAIN;
    /* The token is local only (native-endian, like nanomsg's pipe pointer). */
    uint64_t token = from ? from->id : 0xffffffffu;
    if (np_msg_set_hdr(m, &token, sizeof(token)) != 0) {
        np_msg_free(m);
        return -ENOMEM;
    }
    *out = m;
    return 0;
}

#define BUS_OPS(is_raw, recv_fn)                                                          \
    {                                                                                     \
        .protocol = NP_BUS, .peer = NP_BUS, .raw = is_raw,                                \
        .dirs = NP_CAN_SEND | NP_CAN_RECV, .pipe_add = np_proto_pipe_accept,              \
        .pipe_rm = np_proto_pipe_forget, .send = bus_send, .recv = recv_fn,               \
        .can_send = np_proto_always, .can_recv = np_fq_readable,                          \
    }

const np_proto_ops np_bus_ops = BUS_OPS(0, np_proto_fq_recv);
const np_proto_ops np_xbus_ops = BUS_OPS(1, xbus_recv);
