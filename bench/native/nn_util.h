/*
 * nanomsg-specific helpers for the native perf programs.
 *
 * Socket options follow nanomsg's own perf tools: the latency tools set
 * NN_TCP_NODELAY, the throughput tools set nothing (so nanomsg's defaults hold:
 * Nagle on, 128 KiB buffers, 1 MiB receive limit).  --nodelay (first argument)
 * sets NN_TCP_NODELAY in any tool.
 *
 * Built a second time with -DPERF_ZEROCOPY (the nanomsg-zc programs): messages
 * travel as NN_MSG chunks (nn_allocmsg on send, the chunk itself on receive,
 * read one byte per page, then nn_freemsg), NN_SNDBUF/NN_RCVBUF are raised to
 * PERF_ZC_BUF and the receive limit is lifted: the best a nanomsg user can do
 * with large messages.
 */
#ifndef NANOPY_BENCH_NN_UTIL_H
#define NANOPY_BENCH_NN_UTIL_H

#include <nanomsg/nn.h>
#include <nanomsg/pair.h>
#include <nanomsg/tcp.h>

#include "perf_util.h"

#define PERF_ZC_BUF (4 * 1024 * 1024)

#define NN_CHECK(cond, what)                                                \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s failed: %s (%s:%d)\n", (what),              \
                    nn_strerror(nn_errno()), __FILE__, __LINE__);           \
            exit(2);                                                        \
        }                                                                   \
    } while (0)

static inline void nn_perf_setopt(int s, int level, int option, int value, const char *what)
{
    NN_CHECK(nn_setsockopt(s, level, option, &value, sizeof value) == 0, what);
}

/* A PAIR socket; nodelay is 1 to set NN_TCP_NODELAY, 0 to leave the default. */
static inline int nn_perf_socket(int nodelay)
{
    int s = nn_socket(AF_SP, NN_PAIR);

    NN_CHECK(s >= 0, "nn_socket");
    if (nodelay)
        nn_perf_setopt(s, NN_TCP, NN_TCP_NODELAY, 1, "NN_TCP_NODELAY");
#ifdef PERF_ZEROCOPY
    nn_perf_setopt(s, NN_SOL_SOCKET, NN_SNDBUF, PERF_ZC_BUF, "NN_SNDBUF");
    nn_perf_setopt(s, NN_SOL_SOCKET, NN_RCVBUF, PERF_ZC_BUF, "NN_RCVBUF");
    nn_perf_setopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, -1, "NN_RCVMAXSIZE");
#endif
    return s;
}

static inline void nn_perf_check_size(const char *what, int n, size_t size)
{
    NN_CHECK(n >= 0, what);
    if ((size_t) n != size) {
        fprintf(stderr, "%s: %d bytes, expected %zu\n", what, n, size);
        exit(2);
    }
}

/* Receive one message of exactly size bytes (into buf, or as a chunk with -DPERF_ZEROCOPY). */
static inline void nn_perf_recv_exact(int s, char *buf, size_t size)
{
#ifdef PERF_ZEROCOPY
    void *chunk = NULL;
    int n = nn_recv(s, &chunk, NN_MSG, 0);
    nn_perf_check_size("nn_recv", n, size);
    perf_touch(chunk, size);
    nn_freemsg(chunk);
    (void) buf;
#else
    nn_perf_check_size("nn_recv", nn_recv(s, buf, size, 0), size);
#endif
}

/* Send size bytes (from buf, or from a fresh nn_allocmsg chunk with -DPERF_ZEROCOPY:
 * the chunk is not filled, a producer would write its data there instead). */
static inline void nn_perf_send_exact(int s, const char *buf, size_t size)
{
#ifdef PERF_ZEROCOPY
    void *chunk = nn_allocmsg(size, 0);
    NN_CHECK(chunk != NULL, "nn_allocmsg");
    nn_perf_check_size("nn_send", nn_send(s, &chunk, NN_MSG, 0), size);
    (void) buf;
#else
    nn_perf_check_size("nn_send", nn_send(s, buf, size, 0), size);
#endif
}

#endif
