/*
 * bus.c - BUS: every message goes to every directly connected node (never back to the pipe it
 * came from, never relayed). Raw BUS exposes an 8-byte pipe token as the SP header so that a
 * loopback device can re-broadcast to everyone but the origin.
 */
#include "route.h"

#include <string.h>

static int accept_pipe(np_sock *s, np_pipe *p) { (void)s; (void)p; return 0; }
static void forget_pipe(np_sock *s, np_pipe *p) { (void)s; (void)p; }
static int always(np_sock *s) { (void)s; return 1; }

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

static int bus_recv(np_sock *s, np_msg **out)
{
    *out = np_fq_recv(s, NULL);
    return *out ? 0 : -EAGAIN;
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

const np_proto_ops np_bus_ops = {
    .protocol = NP_BUS, .raw = 0, .dirs = NP_CAN_SEND | NP_CAN_RECV,
    .pipe_add = accept_pipe, .pipe_rm = forget_pipe, .send = bus_send, .recv = bus_recv,
    .can_send = always, .can_recv = np_fq_readable,
};
const np_proto_ops np_xbus_ops = {
    .protocol = NP_BUS, .raw = 1, .dirs = NP_CAN_SEND | NP_CAN_RECV,
    .pipe_add = accept_pipe, .pipe_rm = forget_pipe, .send = bus_send, .recv = xbus_recv,
    .can_send = always, .can_recv = np_fq_readable,
};
