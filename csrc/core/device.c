/*
 * device.c - nn_device: forward messages between two raw sockets (or back into one socket,
 * the loopback form) until a socket is closed or nn_term is called. Headers travel with the
 * message, so REQ/REP and SURVEY backtraces keep working through any chain of devices.
 */
#include "core/sock.h"

static int device_socket_kind(int s, int *domain, int *protocol, int *dirs)
{
    size_t len = sizeof(int);
    int rc = np_getsockopt(s, NP_SOL_SOCKET, NP_DOMAIN, domain, &len);
    if (rc)
        return rc;
    len = sizeof(int);
    rc = np_getsockopt(s, NP_SOL_SOCKET, NP_PROTOCOL, protocol, &len);
    if (rc)
        return rc;
    *dirs = np_proto_find(*domain, *protocol)->dirs;
    return 0;
}

/* Move every message waiting on `from` to `to`. */
static int device_forward(int from, int to)
{
    for (int i = 0; i < 256; i++) {
        np_msg *m;
        int64_t deadline = NP_DEADLINE_UNSET;
        int rc = np_recv(from, &m, NP_DONTWAIT, &deadline);
        if (rc == -EAGAIN)
            return 0;
        if (rc)
            return rc;
        deadline = -1;  /* a device waits as long as it takes for room */
        do {
            rc = np_send_owned(to, m, 0, &deadline);
        } while (rc == -EINTR);
        if (rc)
            return rc;
    }
    return 0;
}

int np_device(int s1, int s2)
{
    if (np_is_terminated())
        return -NP_ETERM;
    if (s1 < 0 && s2 < 0)
        return -EBADF;
    int d1, p1, dirs1, d2, p2, dirs2, rc;
    int loopback = s1 < 0 || s2 < 0;
    if (loopback) {
        int s = s1 < 0 ? s2 : s1;
        if ((rc = device_socket_kind(s, &d1, &p1, &dirs1)) != 0)
            return rc;
        if (d1 != NP_AF_SP_RAW)
            return -EINVAL;
        s1 = s2 = s;
        dirs2 = dirs1;
    } else {
        if ((rc = device_socket_kind(s1, &d1, &p1, &dirs1)) != 0 ||
            (rc = device_socket_kind(s2, &d2, &p2, &dirs2)) != 0)
            return rc;
        if (d1 != NP_AF_SP_RAW || d2 != NP_AF_SP_RAW || p1 / 16 != p2 / 16)
            return -EINVAL;
        if (((dirs1 & NP_CAN_RECV) && !(dirs2 & NP_CAN_SEND)) ||
            ((dirs2 & NP_CAN_RECV) && !(dirs1 & NP_CAN_SEND)))
            return -EINVAL;
    }
    int socks[2];
    short events[2], revents[2];
    int targets[2], n = 0;
    if (dirs1 & NP_CAN_RECV) {
        socks[n] = s1;
        targets[n] = s2;
        events[n++] = NP_POLLIN;
    }
    if (!loopback && (dirs2 & NP_CAN_RECV)) {
        socks[n] = s2;
        targets[n] = s1;
        events[n++] = NP_POLLIN;
    }
    if (n == 0)
        return -EINVAL;
    for (;;) {
        rc = np_poll(socks, events, revents, n, -1);
        if (rc < 0)
            return rc;  /* -EINTR lets the caller check for Ctrl-C and call again */
        for (int i = 0; i < n; i++) {
            if (!(revents[i] & NP_POLLIN))
                continue;
            if ((rc = device_forward(socks[i], targets[i])) != 0)
                return rc;
        }
    }
}
