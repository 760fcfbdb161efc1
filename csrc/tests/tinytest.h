/*
 * tinytest.h - the smallest test runner that does what we need, header only.
 *
 * Why our own: the C core has no dependencies and its tests should not grow one (no
 * CUnit/Check on CI images). Each test binary lists its cases in main() with TT_RUN; a
 * failed CHECK prints file:line and the expression, marks the case failed and keeps going
 * inside that case so one run shows every broken assertion; REQUIRE stops the case (use it
 * when the rest would dereference garbage). The binary exits non-zero if any case failed,
 * and prints a closing "N passed, N failed" line that CI log readers understand.
 */
#ifndef TINYTEST_H
#define TINYTEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tt_case_failed;
static int tt_passed, tt_failed;
static const char *tt_case_name;

#define TT_FAIL_AT(file, line, ...)                                                           \
    do {                                                                                      \
        fprintf(stderr, "%s:%d: [%s] ", file, line, tt_case_name);                            \
        fprintf(stderr, __VA_ARGS__);                                                         \
        fputc('\n', stderr);                                                                  \
        tt_case_failed = 1;                                                                   \
    } while (0)

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond))                                                                          \
            TT_FAIL_AT(__FILE__, __LINE__, "CHECK failed: %s", #cond);                        \
    } while (0)

#define REQUIRE(cond)                                                                         \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            TT_FAIL_AT(__FILE__, __LINE__, "REQUIRE failed: %s", #cond);                      \
            return;                                                                           \
        }                                                                                     \
    } while (0)

/* Integer equality that shows both values: most failures here are off-by-one or errno. */
#define CHECK_EQ(a, b)                                                                        \
    do {                                                                                      \
        long long tt_a = (long long)(a), tt_b = (long long)(b);                               \
        if (tt_a != tt_b)                                                                     \
            TT_FAIL_AT(__FILE__, __LINE__, "CHECK_EQ failed: %s == %s (%lld vs %lld)", #a,    \
                       #b, tt_a, tt_b);                                                       \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                    \
    do {                                                                                      \
        if (memcmp((a), (b), (n)) != 0)                                                       \
            TT_FAIL_AT(__FILE__, __LINE__, "CHECK_MEM failed: %s vs %s (%zu bytes)", #a, #b,  \
                       (size_t)(n));                                                          \
    } while (0)

#define TT_RUN(fn)                                                                            \
    do {                                                                                      \
        tt_case_name = #fn;                                                                   \
        tt_case_failed = 0;                                                                   \
        fn();                                                                                 \
        if (tt_case_failed) {                                                                 \
            tt_failed++;                                                                      \
            fprintf(stderr, "FAIL %s\n", #fn);                                                \
        } else {                                                                              \
            tt_passed++;                                                                      \
            printf("ok   %s\n", #fn);                                                         \
        }                                                                                     \
        fflush(stdout);                                                                       \
    } while (0)

static inline int tt_summary(void)
{
    printf("%d passed, %d failed\n", tt_passed, tt_failed);
    return tt_failed ? 1 : 0;
}

/* Deterministic PRNG (xorshift64*): reproducible "random" tests without srand() state. */
static inline uint64_t tt_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif
