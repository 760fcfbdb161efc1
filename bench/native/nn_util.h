/*
 * nanomsg-specific helpers for the native perf programs: open a PAIR socket
 * with the options nanomsg's perf tools set, and check sizes.
 */
#ifndef NANOPY_BENCH_NN_UTIL_H
#define NANOPY_BENCH_NN_UTIL_H

#include <nanomsg/nn.h>
#include <nanomsg/pair.h>
#include <nanomsg/tcp.h>

#include "perf_util.h"

#define NN_CHECK(cond, what)                                                \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s failed: %s (%s:%d)\n", (what),              \
                    nn_strerror(nn_errno()), __FILE__, __LINE__);           \
            exit(2);                                                        \
        }                                                                   \
    } while (0)

/*
 * A PAIR socket with no receive size limit (nanomsg's default cap is 1 MiB),
 * Nagle disabled for TCP, and a linger of one second.
 */
static inline int nn_perf_socket(void)
{
    int s = nn_socket(AF_SP, NN_PAIR);
    int nodelay = 1;
    int maxsize = -1;
    int linger = 1000;

    NN_CHECK(s >= 0, "nn_socket");
    NN_CHECK(nn_setsockopt(s, NN_TCP, NN_TCP_NODELAY, &nodelay, sizeof nodelay) == 0,
             "NN_TCP_NODELAY");
    NN_CHECK(nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsize, sizeof maxsize) == 0,
             "NN_RCVMAXSIZE");
    NN_CHECK(nn_setsockopt(s, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger) == 0,
             "NN_LINGER");
    return s;
}

static inline void nn_perf_recv_exact(int s, char *buf, size_t size)
{
    int n = nn_recv(s, buf, size, 0);
    NN_CHECK(n >= 0, "nn_recv");
    if ((size_t) n != size) {
        fprintf(stderr, "nn_recv: got %d bytes, expected %zu\n", n, size);
        exit(2);
    }
}

static inline void nn_perf_send_exact(int s, const char *buf, size_t size)
{
    int n = nn_send(s, buf, size, 0);
    NN_CHECK(n >= 0, "nn_send");
    if ((size_t) n != size) {
        fprintf(stderr, "nn_send: sent %d bytes, expected %zu\n", n, size);
        exit(2);
    }
}

#endif
