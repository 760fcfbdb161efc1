/*
 * The "limit" rows: the same four perf programs over plain kernel sockets,
 * with no messaging library at all.  Each message is an 8-byte big-endian
 * length followed by the body (nanomsg's TCP framing without the handshake).
 *
 * Addresses use nanomsg's syntax: tcp://HOST:PORT (IPv4; HOST may be "*" to bind all), and
 * ipc:///path for a Unix stream socket.
 *
 * Built twice by bench/run.py:
 *   plain_*       one writev() per message; the receiver reads the 8-byte
 *                 header, then the body, with exact-length reads.
 *   plain_co_*    (-DPLAIN_COALESCE) the sender packs frames into a 64 KiB
 *                 buffer and writes it when full (or when a reply is awaited);
 *                 the receiver reads 64 KiB at a time and cuts every complete
 *                 frame out of the buffer.  This is the ceiling that write
 *                 coalescing and batched reads can reach.
 */
#ifndef NANOPY_BENCH_PLAIN_UTIL_H
#define NANOPY_BENCH_PLAIN_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "perf_util.h"

#define PLAIN_BUF_SIZE (64 * 1024)

struct plain_conn {
    int fd;
    /* Outgoing coalescing buffer (PLAIN_COALESCE only). */
    char out[PLAIN_BUF_SIZE];
    size_t out_len;
    /* Incoming buffer: bytes [in_pos, in_len) are read but not yet consumed. */
    char in[PLAIN_BUF_SIZE];
    size_t in_pos;
    size_t in_len;
};

static inline void plain_put_be64(char *dst, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        dst[i] = (char) (v & 0xFF);
        v >>= 8;
    }
}

static inline uint64_t plain_get_be64(const char *src)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char) src[i];
    return v;
}

/* Fill a sockaddr for addr; returns its length.  *family receives AF_INET/AF_UNIX. */
static inline socklen_t plain_parse_addr(const char *addr, struct sockaddr_storage *ss,
                                         int *family)
{
    memset(ss, 0, sizeof *ss);
    if (strncmp(addr, "ipc://", 6) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *) ss;
        const char *path = addr + 6;
        if (strlen(path) >= sizeof un->sun_path) {
            fprintf(stderr, "ipc path too long: %s\n", path);
            exit(2);
        }
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, path);
        *family = AF_UNIX;
        return (socklen_t) sizeof *un;
    }
    if (strncmp(addr, "tcp://", 6) == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *) ss;
        char host[256];
        const char *colon = strrchr(addr + 6, ':');
        size_t host_len = colon ? (size_t) (colon - (addr + 6)) : 0;
        if (!colon || host_len >= sizeof host) {
            fprintf(stderr, "bad tcp address: %s\n", addr);
            exit(2);
        }
        memcpy(host, addr + 6, host_len);
        host[host_len] = '\0';
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t) atoi(colon + 1));
        if (strcmp(host, "*") == 0)
            in->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
            fprintf(stderr, "bad IPv4 host: %s\n", host);
            exit(2);
        }
        *family = AF_INET;
        return (socklen_t) sizeof *in;
    }
    fprintf(stderr, "unsupported address: %s\n", addr);
    exit(2);
}

/* Nagle off on tcp: set by the latency tools, and by the throughput tools on --nodelay. */
static int plain_nodelay;

static inline void plain_tune(int fd, int family)
{
    if (family == AF_INET && plain_nodelay) {
        int one = 1;
        PERF_CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0,
                   "TCP_NODELAY");
    }
}

/* Listen on addr and return the first accepted connection. */
static inline struct plain_conn *plain_accept_one(const char *addr)
{
    struct sockaddr_storage ss;
    int family;
    socklen_t len = plain_parse_addr(addr, &ss, &family);
    int one = 1;
    int lfd = socket(family, SOCK_STREAM, 0);

    PERF_CHECK(lfd >= 0, "socket");
    if (family == AF_UNIX)
        unlink(((struct sockaddr_un *) &ss)->sun_path);
    else
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    PERF_CHECK(bind(lfd, (struct sockaddr *) &ss, len) == 0, "bind");
    PERF_CHECK(listen(lfd, 1) == 0, "listen");

    struct plain_conn *c = calloc(1, sizeof *c);
    PERF_CHECK(c != NULL, "calloc");
    c->fd = accept(lfd, NULL, NULL);
    PERF_CHECK(c->fd >= 0, "accept");
    plain_tune(c->fd, family);
    close(lfd);
    if (family == AF_UNIX)
        unlink(((struct sockaddr_un *) &ss)->sun_path);
    return c;
}

/* Connect to addr, retrying for up to 10 s while the listener starts. */
static inline struct plain_conn *plain_connect(const char *addr)
{
    struct sockaddr_storage ss;
    int family;
    socklen_t len = plain_parse_addr(addr, &ss, &family);
    struct plain_conn *c = calloc(1, sizeof *c);

    PERF_CHECK(c != NULL, "calloc");
    for (int attempt = 0;; attempt++) {
        c->fd = socket(family, SOCK_STREAM, 0);
        PERF_CHECK(c->fd >= 0, "socket");
        if (connect(c->fd, (struct sockaddr *) &ss, len) == 0)
            break;
        PERF_CHECK((errno == ECONNREFUSED || errno == ENOENT) && attempt < 10000, "connect");
        close(c->fd);
        usleep(1000);
    }
    plain_tune(c->fd, family);
    return c;
}

static inline void plain_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        PERF_CHECK(n > 0, "write");
        buf += n;
        len -= (size_t) n;
    }
}

static inline void plain_flush(struct plain_conn *c)
{
    if (c->out_len) {
        plain_write_all(c->fd, c->out, c->out_len);
        c->out_len = 0;
    }
}

/* Send one frame.  With PLAIN_COALESCE it may stay buffered until plain_flush. */
static inline void plain_send(struct plain_conn *c, const char *body, size_t size)
{
    char header[8];
    plain_put_be64(header, size);
#ifdef PLAIN_COALESCE
    if (c->out_len + 8 + size <= PLAIN_BUF_SIZE) {
        memcpy(c->out + c->out_len, header, 8);
        memcpy(c->out + c->out_len + 8, body, size);
        c->out_len += 8 + size;
        return;
    }
    plain_flush(c);
    if (8 + size <= PLAIN_BUF_SIZE) {
        memcpy(c->out, header, 8);
        memcpy(c->out + 8, body, size);
        c->out_len = 8 + size;
        return;
    }
#endif
    /* One writev per message; loop only on a short write. */
    struct iovec iov[2] = {{header, 8}, {(void *) body, size}};
    size_t total = 8 + size;
    int iovcnt = 2;
    struct iovec *cur = iov;
    while (total > 0) {
        ssize_t n = writev(c->fd, cur, iovcnt);
        if (n < 0 && errno == EINTR)
            continue;
        PERF_CHECK(n > 0, "writev");
        total -= (size_t) n;
        while (iovcnt > 0 && (size_t) n >= cur->iov_len) {
            n -= (ssize_t) cur->iov_len;
            cur++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            cur->iov_base = (char *) cur->iov_base + n;
            cur->iov_len -= (size_t) n;
        }
    }
}

/* Read exactly len bytes, first from the buffer, then from the socket. */
static inline void plain_read_exact(struct plain_conn *c, char *dst, size_t len)
{
    size_t buffered = c->in_len - c->in_pos;
    size_t take = buffered < len ? buffered : len;
    memcpy(dst, c->in + c->in_pos, take);
    c->in_pos += take;
    dst += take;
    len -= take;
    while (len > 0) {
#ifdef PLAIN_COALESCE
        if (len < PLAIN_BUF_SIZE) {
            /* Refill the buffer: one read may bring many frames. */
            ssize_t n = read(c->fd, c->in, PLAIN_BUF_SIZE);
            if (n < 0 && errno == EINTR)
                continue;
            PERF_CHECK(n > 0, "read");
            c->in_len = (size_t) n;
            take = (size_t) n < len ? (size_t) n : len;
            memcpy(dst, c->in, take);
            c->in_pos = take;
            dst += take;
            len -= take;
            continue;
        }
#endif
        ssize_t n = read(c->fd, dst, len);
        if (n < 0 && errno == EINTR)
            continue;
        PERF_CHECK(n > 0, "read");
        dst += n;
        len -= (size_t) n;
    }
}

/* Receive one frame of the expected size into buf; exits on any other size. */
static inline void plain_recv_expect(struct plain_conn *c, char *buf, size_t expected)
{
    char header[8];
    plain_read_exact(c, header, 8);
    uint64_t size = plain_get_be64(header);
    if (size != expected) {
        fprintf(stderr, "got a %llu-byte message, expected %zu\n",
                (unsigned long long) size, expected);
        exit(2);
    }
    plain_read_exact(c, buf, (size_t) size);
}

#endif
