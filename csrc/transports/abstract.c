/*
 * abstract.c - abstract://name: Linux abstract-namespace Unix stream sockets, as NNG names
 * them. The address is sun_path[0] = 0 followed by the name's bytes, and its length counts
 * exactly those bytes (no trailing zeros): two processes agree on a name only when both
 * compute it the same way, which is NNG's way. Framing is ipc's (a type byte, then the
 * 64-bit length), as NNG uses its ipc transport for both. Nothing is created in the file
 * system, and the name disappears with the last descriptor.
 */
#include "transports/stream.h"

#include "platform/sockio.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* The name with %XX escapes decoded (NNG's URLs allow them). Returns its length or -errno. */
static int abstract_name(const char *rest, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = rest; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            char hex[3] = {p[1], p[1] ? p[2] : 0, 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (!p[1] || !p[2] || *end)
                return -EINVAL;
            c = (int)v;
            p += 2;
        }
        if (n >= cap)
            return -ENAMETOOLONG;
        out[n++] = (char)c;
    }
    return n == 0 ? -EINVAL : (int)n;
}

static int abstract_addr(np_ep *ep, struct sockaddr_un *sun, socklen_t *len)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    int n = abstract_name(ep->rest, sun->sun_path + 1, sizeof(sun->sun_path) - 1);
    if (n < 0)
        return n;
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    return 0;
}

static int abstract_listen(np_ep *ep)
{
    struct sockaddr_un sun;
    socklen_t len;
    int rc = abstract_addr(ep, &sun, &len);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    np_set_nonblock_cloexec(fd);
    if (bind(fd, (struct sockaddr *)&sun, len) != 0 || listen(fd, 128) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int abstract_check_connect(np_ep *ep)
{
    struct sockaddr_un sun;
    socklen_t len;
    return abstract_addr(ep, &sun, &len);
}

static const np_stream_ops abstract_stream_ops;

static int abstract_start_connect(np_ep *ep)
{
    struct sockaddr_un sun;
    socklen_t len;
    int rc = abstract_addr(ep, &sun, &len);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    np_set_nonblock_cloexec(fd);
    np_stream_tune_fd(ep->sock, fd, &abstract_stream_ops);
    if (connect(fd, (struct sockaddr *)&sun, len) != 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static void abstract_unlisten(np_ep *ep) { (void)ep; }

static const np_stream_ops abstract_stream_ops = {
    .ipc = 1,
    .listen = abstract_listen,
    .check_connect = abstract_check_connect,
    .start_connect = abstract_start_connect,
    .unlisten = abstract_unlisten,
};

static int abstract_bind(np_ep *ep) { return np_stream_bind(ep, &abstract_stream_ops); }
static int abstract_connect(np_ep *ep) { return np_stream_connect(ep, &abstract_stream_ops); }

const np_transport np_abstract_transport = {
    .scheme = "abstract",
    .ep_size = sizeof(np_stream_ep),
    .ep_bind = abstract_bind,
    .ep_connect = abstract_connect,
    .ep_stop = np_stream_ep_stop,
    NP_STREAM_PIPE_HOOKS,
};
