/*
 * test_queue.c - the SPSC ring (queue.h): capacity rounding, full/empty edges, byte
 * accounting, index wrap-around, trimming an empty ring after a burst, and a two-thread producer/consumer stress that checks
 * order and loss (run under ASan by tests/test_csrc.py, and under TSan as well so the
 * acquire/release pairs are checked, not just the results).
 */
// deps: core/queue.c
#include "core/queue.h"
#include "tinytest.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>

static void *item(uintptr_t v) { return (void *)v; }

static void test_capacity_rounds_to_power_of_two(void)
{
    np_ring r;
    size_t cases[][2] = {{0, 1}, {1, 1}, {2, 2}, {3, 4}, {5, 8}, {64, 64}, {65, 128}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        REQUIRE(np_ring_init(&r, cases[k][0]) == 0);
        CHECK_EQ(r.mask + 1, cases[k][1]);
        size_t pushed = 0;
        while (np_ring_push(&r, item(pushed + 1), 1) == 0)
            pushed++;
        CHECK_EQ(pushed, cases[k][1]);
        CHECK_EQ(np_ring_count(&r), cases[k][1]);
        np_ring_fini(&r);
        CHECK(r.slots == NULL);
    }
}

static void test_empty_ring(void)
{
    np_ring r;
    REQUIRE(np_ring_init(&r, 4) == 0);
    CHECK(np_ring_peek(&r) == NULL);
    CHECK(np_ring_pop(&r, 0) == NULL);
    CHECK_EQ(np_ring_count(&r), 0);
    CHECK_EQ(np_ring_bytes(&r), 0);
    np_ring_fini(&r);
}

static void test_fifo_and_bytes(void)
{
    np_ring r;
    REQUIRE(np_ring_init(&r, 8) == 0);
    for (uintptr_t i = 1; i <= 8; i++)
        CHECK_EQ(np_ring_push(&r, item(i), i * 10), 0);
    CHECK_EQ(np_ring_push(&r, item(99), 1), -1);  /* full: not queued, bytes unchanged */
    CHECK_EQ(np_ring_bytes(&r), 360);
    for (uintptr_t i = 1; i <= 8; i++) {
        CHECK(np_ring_peek(&r) == item(i));
        CHECK(np_ring_pop(&r, i * 10) == item(i));
    }
    CHECK_EQ(np_ring_bytes(&r), 0);
    CHECK(np_ring_pop(&r, 0) == NULL);
    np_ring_fini(&r);
}

static void test_wraparound(void)
{
    /* Indices grow without bound and are masked: run them through many laps. */
    np_ring r;
    REQUIRE(np_ring_init(&r, 4) == 0);
    uintptr_t next_in = 1, next_out = 1;
    uint64_t seed = 42;
    for (int step = 0; step < 100000; step++) {
        if (tt_rand(&seed) & 1) {
            if (np_ring_push(&r, item(next_in), 3) == 0)
                next_in++;
            else
                CHECK_EQ(np_ring_count(&r), 4);
        } else {
            void *v = np_ring_pop(&r, 3);
            if (v) {
                CHECK(v == item(next_out));
                next_out++;
            } else {
                CHECK_EQ(np_ring_count(&r), 0);
            }
        }
        CHECK_EQ(np_ring_bytes(&r), np_ring_count(&r) * 3);
    }
    np_ring_fini(&r);
}

static void test_has_room(void)
{
    np_ring r;
    REQUIRE(np_ring_init(&r, 4) == 0);
    /* A lone item always fits, even when it alone is over the byte limit (else a message
     * bigger than SNDBUF could never be sent). */
    CHECK(np_ring_has_room(&r, 10));
    REQUIRE(np_ring_push(&r, item(1), 1000) == 0);
    CHECK(!np_ring_has_room(&r, 10));
    CHECK(np_ring_has_room(&r, 1001));
    REQUIRE(np_ring_push(&r, item(2), 1) == 0);
    REQUIRE(np_ring_push(&r, item(3), 1) == 0);
    REQUIRE(np_ring_push(&r, item(4), 1) == 0);
    CHECK(!np_ring_has_room(&r, SIZE_MAX));  /* slot-full beats any byte limit */
    np_ring_fini(&r);
}

/* ---- two threads -------------------------------------------------------------------- */

#define STRESS_N 400000

struct stress {
    np_ring r;
    uintptr_t bad_at;    /* first out-of-order value seen by the consumer (0 = none) */
    uint64_t sum_bytes;  /* bytes the consumer accounted */
};

/* A burst grows the ring; once empty, a trim gives every array back, and the ring works
 * from the first small array again (indices keep counting from where they were). */
static void test_trim_after_burst(void)
{
    np_ring r;
    REQUIRE(np_ring_init(&r, 4096) == 0);
    CHECK(!np_ring_oversized(&r));
    for (uintptr_t i = 0; i < 16; i++)
        REQUIRE(np_ring_push(&r, item(i + 1), 1) == 0);
    CHECK(!np_ring_oversized(&r));  /* the first array, not grown */
    for (uintptr_t i = 16; i < 1000; i++)
        REQUIRE(np_ring_push(&r, item(i + 1), 1) == 0);
    CHECK(np_ring_oversized(&r));
    np_ring_trim(&r);  /* not empty: left alone */
    CHECK(r.slots != NULL);
    for (uintptr_t i = 0; i < 1000; i++)
        CHECK(np_ring_pop(&r, 1) == item(i + 1));
    CHECK(np_ring_oversized(&r));
    np_ring_trim(&r);
    CHECK(r.slots == NULL);
    CHECK(!np_ring_oversized(&r));
    for (uintptr_t i = 0; i < 40; i++)
        REQUIRE(np_ring_push(&r, item(i + 7), 2) == 0);
    CHECK_EQ(np_ring_count(&r), 40);
    CHECK_EQ(np_ring_bytes(&r), 80);
    for (uintptr_t i = 0; i < 40; i++)
        CHECK(np_ring_pop(&r, 2) == item(i + 7));
    CHECK_EQ(np_ring_bytes(&r), 0);
    np_ring_fini(&r);
}

static void *producer(void *arg)
{
    struct stress *st = arg;
    for (uintptr_t i = 1; i <= STRESS_N; i++) {
        while (np_ring_push(&st->r, item(i), i & 255) != 0)
            sched_yield();  /* full: the consumer is behind */
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct stress *st = arg;
    uintptr_t expect = 1;
    while (expect <= STRESS_N) {
        void *p = np_ring_peek(&st->r);
        if (!p) {
            sched_yield();
            continue;
        }
        void *q = np_ring_pop(&st->r, (uintptr_t)p & 255);
        if (q != p || (uintptr_t)p != expect) {
            if (!st->bad_at)
                st->bad_at = expect;
        }
        st->sum_bytes += (uintptr_t)p & 255;
        expect++;
    }
    return NULL;
}

static void test_two_thread_stress(void)
{
    /* A small ring forces many full/empty transitions, where ordering bugs show. */
    static struct stress st;
    memset(&st, 0, sizeof(st));
    REQUIRE(np_ring_init(&st.r, 16) == 0);
    pthread_t a, b;
    REQUIRE(pthread_create(&b, NULL, consumer, &st) == 0);
    REQUIRE(pthread_create(&a, NULL, producer, &st) == 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_EQ(st.bad_at, 0);
    uint64_t want = 0;
    for (uintptr_t i = 1; i <= STRESS_N; i++)
        want += i & 255;
    CHECK_EQ(st.sum_bytes, want);
    CHECK_EQ(np_ring_count(&st.r), 0);
    CHECK_EQ(np_ring_bytes(&st.r), 0);
    np_ring_fini(&st.r);
}

int main(void)
{
    TT_RUN(test_capacity_rounds_to_power_of_two);
    TT_RUN(test_empty_ring);
    TT_RUN(test_fifo_and_bytes);
    TT_RUN(test_wraparound);
    TT_RUN(test_has_room);
    TT_RUN(test_trim_after_burst);
    TT_RUN(test_two_thread_stress);
    return tt_summary();
}
