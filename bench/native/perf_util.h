/*
 * Shared helpers for nanopy's native benchmark programs.
 *
 * The programs in this folder take the arguments of nanomsg's perf tools
 * (local_lat, remote_thr, ...) and print the same lines, so one parser in
 * bench/run.py reads the output of every implementation.  They are our own
 * programs, not nanomsg's: see bench/README.md for where they differ.
 * An optional first argument --nodelay turns Nagle off in every tool.  Timing uses the
 * monotonic clock in microseconds; results use nanomsg's formulas:
 *   latency    = elapsed_us / (roundtrips * 2)
 *   msgs/s     = trunc(count / elapsed_us * 1e6), elapsed forced >= 1
 *   Mb/s       = msgs/s * size * 8 / 1e6
 */
#ifndef NANOPY_BENCH_PERF_UTIL_H
#define NANOPY_BENCH_PERF_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Payload byte used by nanomsg's perf tools ('o'). */
#define PERF_FILL_BYTE 0x6F

static inline uint64_t perf_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Abort with a message naming the failed step; benchmarks have no recovery. */
#define PERF_CHECK(cond, what)                                              \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s failed: %s (%s:%d)\n", (what),              \
                    strerror(errno), __FILE__, __LINE__);                   \
            exit(2);                                                        \
        }                                                                   \
    } while (0)

/* PERF_PAGE: receivers read one byte per page of what they did not copy. */
#define PERF_PAGE 4096

/* Strip a leading --nodelay from argv; returns 1 when it was there. */
static inline int perf_take_nodelay(int *argc, char ***argv)
{
    if (*argc > 1 && strcmp((*argv)[1], "--nodelay") == 0) {
        (*argv)[1] = (*argv)[0];
        (*argv)++;
        (*argc)--;
        return 1;
    }
    return 0;
}

/* Sum of one byte per page, so a buffer handed over untouched is read at least once. */
static inline unsigned perf_touch(const void *buf, size_t size)
{
    const volatile unsigned char *p = buf;
    unsigned sum = 0;
    for (size_t off = 0; off < size; off += PERF_PAGE)
        sum += p[off];
    return sum;
}

static inline void perf_usage_check(int argc, int want, const char *usage)
{
    if (argc != want) {
        printf("usage: %s\n", usage);
        exit(1);
    }
}

static inline void perf_print_latency(int size, int roundtrips, uint64_t elapsed_us)
{
    double one_way = (double) elapsed_us / ((double) roundtrips * 2.0);
    printf("message size: %d [B]\n", size);
    printf("roundtrip count: %d\n", roundtrips);
    printf("average latency: %.3f [us]\n", one_way);
    fflush(stdout);
}

/* prefix is "" for local_thr and "mean " for inproc_thr, as in nanomsg. */
static inline void perf_print_throughput(const char *prefix, int size, int count,
                                         uint64_t elapsed_us)
{
    uint64_t msgs_per_s;
    double megabits;

    if (elapsed_us == 0)
        elapsed_us = 1;
    msgs_per_s = (uint64_t) ((double) count / (double) elapsed_us * 1000000.0);
    megabits = (double) (msgs_per_s * (uint64_t) size * 8u) / 1000000.0;
    printf("message size: %d [B]\n", size);
    printf("message count: %d\n", count);
    printf("%sthroughput: %d [msg/s]\n", prefix, (int) msgs_per_s);
    printf("%sthroughput: %.3f [Mb/s]\n", prefix, megabits);
    fflush(stdout);
}

static inline char *perf_alloc_payload(size_t size)
{
    /* malloc(0) may return NULL; keep one byte so the pointer is usable. */
    char *buf = malloc(size ? size : 1);
    PERF_CHECK(buf != NULL, "malloc");
    memset(buf, PERF_FILL_BYTE, size ? size : 1);
    return buf;
}

#endif
