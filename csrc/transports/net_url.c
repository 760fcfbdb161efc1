/* net_url.c - host:port[/path] addresses and their sockets; see net_url.h. */
#include "net_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int np_hostport_parse(const char *rest, int bind, int default_port, int allow_path,
                      np_hostport *out)
{
    memset(out, 0, sizeof(*out));
    const char *slash = strchr(rest, '/');
    const char *hp_end = slash ? slash : rest + strlen(rest);
    if (slash) {
        if (!allow_path || strlen(slash) >= sizeof(out->path))
            return -EINVAL;
        snprintf(out->path, sizeof(out->path), "%s", slash);
        out->has_path = 1;
    } else {
        strcpy(out->path, "/");
    }
    /* host part: [v6] or up to the last ':' */
    const char *host = rest, *host_end, *colon = NULL;
    if (*rest == '[') {
        const char *close = memchr(rest, ']', (size_t)(hp_end - rest));
        if (!close)
            return -EINVAL;
        host = rest + 1;
        host_end = close;
        if (close + 1 < hp_end) {
            if (close[1] != ':')
                return -EINVAL;
            colon = close + 1;
        }
    } else {
        for (const char *p = rest; p < hp_end; p++)
            if (*p == ':')
                colon = p;
        host_end = colon ? colon : hp_end;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl >= sizeof(out->host))
        return -EINVAL;
    memcpy(out->host, host, hl);
    out->host[hl] = 0;
    if (strcmp(out->host, "*") == 0)
        out->host[0] = 0;
    if (!out->host[0] && !bind)
        return -EINVAL;
    for (const char *p = out->host; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '%' ||
              *p == '_'))
            return -EINVAL;
    if (colon) {
        const char *p = colon + 1;
        if (p == hp_end)
            return -EINVAL;
        long port = 0;
        for (; p < hp_end; p++) {
            if (!isdigit((unsigned char)*p))
                return -EINVAL;
            port = port * 10 + (*p - '0');
            if (port > 65535)
                return -EINVAL;
        }
        if (port == 0 && !bind)
            return -EINVAL;
        out->port = (int)port;
    } else {
        if (!default_port || bind)
            return -EINVAL;
        out->port = default_port;
    }
    return 0;
}

int np_hostport_resolve(const np_hostport *hp, int passive, int ipv4only,
                        struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = ipv4only ? AF_INET : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    char port[8];
    snprintf(port, sizeof(port), "%d", hp->port);
    int rc = getaddrinfo(hp->host[0] ? hp->host : NULL, port, &hints, &res);
    if (rc != 0 || !res)
        return -EHOSTUNREACH;
    /* A wildcard bind prefers the IPv6 any-address (dual stack), as tcp does for "*". */
    struct addrinfo *pick = res;
    if (!hp->host[0] && !ipv4only)
        for (struct addrinfo *a = res; a; a = a->ai_next)
            if (a->ai_family == AF_INET6) {
                pick = a;
                break;
            }
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *len = pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return 0;
}

int np_hostport_listen(const np_hostport *hp, int ipv4only, int *bound_port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = np_hostport_resolve(hp, 1, ipv4only, &ss, &len);
    if (rc)
        return rc == -EHOSTUNREACH ? -ENODEV : rc;
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    nonblock_cloexec(fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    struct sockaddr_storage got;
    socklen_t glen = sizeof(got);
    *bound_port = hp->port;
    if (getsockname(fd, (struct sockaddr *)&got, &glen) == 0)
        *bound_port = ntohs(got.ss_family == AF_INET
                                ? ((struct sockaddr_in *)&got)->sin_port
                                : ((struct sockaddr_in6 *)&got)->sin6_port);
    return fd;
}

int np_hostport_connect(const np_hostport *hp, int ipv4only)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = np_hostport_resolve(hp, 0, ipv4only, &ss, &len);
    if (rc)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    nonblock_cloexec(fd);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

void np_hostport_format(const np_hostport *hp, int port, char *out, size_t cap)
{
    const char *h = hp->host[0] ? hp->host : "0.0.0.0";
    if (strchr(h, ':'))
        snprintf(out, cap, "[%s]:%d", h, port);
    else
        snprintf(out, cap, "%s:%d", h, port);
}
