/*
 * tcp.c - tcp:// addresses: nanomsg's grammar and errno for each bad form, listening and
 * connecting sockets, descriptor options. Framing and the connection engine are the stream
 * engine's (stream.h).
 *
 *   bind:    tcp://<iface>:<port>           iface = * | IP literal | interface name
 *   connect: tcp://[<iface>;]<host>:<port>  host = IP literal | DNS name
 */
#include "transports/stream.h"

#include "platform/sockio.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Port after the last ':' (1..65535, or 0 = "the kernel picks" when allow_zero). Returns the
 * port or -EINVAL; *host_len = text before. */
static int tcp_parse_port(const char *s, size_t *host_len, int allow_zero)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -EINVAL;
    const char *p = colon + 1;
    if (!*p)
        return -EINVAL;
    long port = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        port = port * 10 + (*p - '0');
        if (port > 65535)
            return -EINVAL;
    }
    if (port == 0 && !allow_zero)
        return -EINVAL;
    *host_len = (size_t)(colon - s);
    return (int)port;
}

/* Copy [start, start+len) dropping one pair of surrounding brackets. */
static int tcp_copy_host(char *dst, size_t cap, const char *start, size_t len)
{
    if (len >= 2 && start[0] == '[' && start[len - 1] == ']') {
        start++;
        len -= 2;
    }
    if (len >= cap)
        return -EINVAL;
    memcpy(dst, start, len);
    dst[len] = 0;
    return 0;
}

/* An IP literal; IPv6 only when allowed. Returns 0, -EINVAL (v6 refused) or -ENOENT. */
static int tcp_parse_literal(const char *host, int ipv4only, struct sockaddr_storage *ss,
                         socklen_t *len)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        *len = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        if (ipv4only)
            return -EINVAL;
        in6->sin6_family = AF_INET6;
        *len = sizeof(*in6);
        return 0;
    }
    return -ENOENT;
}

/* Local interface part: '*', an IP literal or a network interface name; else -ENODEV. */
static int tcp_resolve_iface(const char *iface, int ipv4only, struct sockaddr_storage *ss,
                         socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (strcmp(iface, "*") == 0) {
        if (ipv4only) {
            struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
            in4->sin_family = AF_INET;
            in4->sin_addr.s_addr = htonl(INADDR_ANY);
            *len = sizeof(*in4);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
            in6->sin6_family = AF_INET6;
            in6->sin6_addr = in6addr_any;
            *len = sizeof(*in6);
        }
        return 0;
    }
    if (tcp_parse_literal(iface, ipv4only, ss, len) == 0)
        return 0;
    struct ifaddrs *ifs, *it;
    if (getifaddrs(&ifs) != 0)
        return -ENODEV;
    int rc = -ENODEV;
    for (it = ifs; it; it = it->ifa_next) {
        if (!it->ifa_addr || strcmp(it->ifa_name, iface) != 0)
            continue;
        int fam = it->ifa_addr->sa_family;
        if (fam == AF_INET || (fam == AF_INET6 && !ipv4only)) {
            *len = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
            memcpy(ss, it->ifa_addr, *len);
            rc = 0;
            if (fam == AF_INET)
                break;  /* prefer IPv4 */
        }
    }
    freeifaddrs(ifs);
    return rc;
}

static void tcp_set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* nanomsg's DNS name syntax check: labels of letters, digits and '-', 1..63 chars each. */
static int tcp_valid_dns_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255)
        return 0;
    size_t label = 0;
    for (const char *p = name; *p; p++) {
        if (*p == '.') {
            if (label == 0)
                return 0;
            label = 0;
            continue;
        }
        if (!(isalnum((unsigned char)*p) || *p == '-'))
            return 0;
        if (*p == '-' && label == 0)
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0;
}

static int tcp_listen(np_ep *ep)
{
    size_t host_len;
    int port = tcp_parse_port(ep->rest, &host_len, 1);
    if (port < 0)
        return port;
    char iface[NP_SOCKADDR_MAX];
    if (tcp_copy_host(iface, sizeof(iface), ep->rest, host_len) != 0 || !iface[0])
        return -EINVAL;
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = tcp_resolve_iface(iface, ep->ipv4only, &ss, &len);
    if (rc)
        return rc;
    tcp_set_port(&ss, port);
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    np_set_nonblock_cloexec(fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 100) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* Split "[iface;]host:port" and validate it. Fills host (no brackets) and iface. */
static int tcp_parse_connect(np_ep *ep, char *iface, char *host, size_t cap, int *port)
{
    const char *rest = ep->rest;
    const char *semi = strchr(rest, ';');
    iface[0] = 0;
    if (semi) {
        if ((size_t)(semi - rest) >= cap)
            return -EINVAL;
        memcpy(iface, rest, (size_t)(semi - rest));
        iface[semi - rest] = 0;
        rest = semi + 1;
    }
    size_t host_len;
    int p = tcp_parse_port(rest, &host_len, 0);
    if (p < 0)
        return p;
    *port = p;
    if (host_len == 0 || tcp_copy_host(host, cap, rest, host_len) != 0 || !host[0])
        return -EINVAL;
    struct sockaddr_storage ss;
    socklen_t len;
    int lit = tcp_parse_literal(host, ep->ipv4only, &ss, &len);
    if (lit == -EINVAL)
        return -EINVAL;
    if (lit != 0 && !tcp_valid_dns_name(host))
        return -EINVAL;
    if (iface[0]) {
        int rc = tcp_resolve_iface(iface, ep->ipv4only, &ss, &len);
        if (rc)
            return rc;
    }
    return 0;
}

static int tcp_check_connect(np_ep *ep)
{
    char iface[NP_SOCKADDR_MAX], host[NP_SOCKADDR_MAX];
    int port;
    return tcp_parse_connect(ep, iface, host, sizeof(host), &port);
}

static const np_stream_ops tcp_stream_ops;

static int tcp_start_connect(np_ep *ep)
{
    char iface[NP_SOCKADDR_MAX], host[NP_SOCKADDR_MAX];
    int port, rc = tcp_parse_connect(ep, iface, host, sizeof(host), &port);
    if (rc)
        return rc;
    struct sockaddr_storage ss;
    socklen_t len;
    if (tcp_parse_literal(host, ep->ipv4only, &ss, &len) != 0) {
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_family = ep->ipv4only ? AF_INET : AF_INET6;
        hints.ai_socktype = SOCK_STREAM;
        if (!ep->ipv4only)
            hints.ai_flags = AI_V4MAPPED | AI_ALL;
        if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
            return -EHOSTUNREACH;
        memcpy(&ss, res->ai_addr, res->ai_addrlen);
        len = res->ai_addrlen;
        freeaddrinfo(res);
    }
    tcp_set_port(&ss, port);
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    np_set_nonblock_cloexec(fd);
    np_stream_tune_fd(ep->sock, fd, &tcp_stream_ops);
    if (iface[0] && strcmp(iface, "*") != 0) {
        struct sockaddr_storage local;
        socklen_t llen;
        if (tcp_resolve_iface(iface, ep->ipv4only, &local, &llen) == 0 &&
            local.ss_family == ss.ss_family)
            bind(fd, (struct sockaddr *)&local, llen);
    }
    if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static void tcp_unlisten(np_ep *ep) { (void)ep; }

/* NN_TCP_NODELAY (off unless set, as nanomsg) and nanopy's keep-alive option. */
static void tcp_tune(np_sock *s, int fd)
{
    int nodelay = np_topt_int(s, NP_TCP, NP_TCP_NODELAY, 0);
    int keepalive = np_topt_int(s, NP_TCP_PRIVATE_LEVEL, NP_TCP_KEEPALIVE, 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
    if (keepalive)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, sizeof(keepalive));
}

static const np_stream_ops tcp_stream_ops = {
    .ipc = 0,
    .listen = tcp_listen,
    .check_connect = tcp_check_connect,
    .start_connect = tcp_start_connect,
    .unlisten = tcp_unlisten,
    .tune = tcp_tune,
};

static int tcp_bind(np_ep *ep) { return np_stream_bind(ep, &tcp_stream_ops); }
static int tcp_connect(np_ep *ep) { return np_stream_connect(ep, &tcp_stream_ops); }

static const np_tran_option tcp_options[] = {
    {.level = NP_TCP, .option = NP_TCP_NODELAY, .kind = NP_TOPT_INT, .min = 0, .max = 1},
    {.level = NP_TCP_PRIVATE_LEVEL, .option = NP_TCP_KEEPALIVE, .kind = NP_TOPT_INT,
     .min = 0, .max = 1},
    {0},
};

const np_transport np_tcp_transport = {
    .scheme = "tcp",
    .ep_size = sizeof(np_stream_ep),
    .ep_bind = tcp_bind,
    .ep_connect = tcp_connect,
    .ep_stop = np_stream_ep_stop,
    NP_STREAM_PIPE_HOOKS,
    .options = tcp_options,
};
