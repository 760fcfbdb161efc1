/*
 * test_loop.c - the I/O thread on whichever backend the environment selects (tests/
 * test_csrc.py runs it with the default, NANOPY_POLLER=poll and NANOPY_POLLER=portable):
 * calls and posted commands run there in order, timers fire in deadline order, a cancelled
 * timer never fires, and a timer armed from another thread wakes a sleeping loop.
 */
// deps: core/loop.c platform/*.c
#include "core/loop.h"
#include "platform/clock.h"
#include "platform/poller.h"
#include "platform/wakeup.h"
#include "tinytest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_t loop_thread_id;

static int where_am_i(void *arg)
{
    (void)arg;
    loop_thread_id = pthread_self();
    return 42;
}

static void test_call_runs_on_the_io_thread(void)
{
    REQUIRE(np_loop_start() == 0);
    CHECK_EQ(np_loop_call(where_am_i, NULL), 42);
    CHECK(!pthread_equal(loop_thread_id, pthread_self()));
    printf("     backend %s + %s\n", np_poller_backend(), np_wakeup_backend());
}

static int order[16];
static atomic_int norder;

static void append(void *arg) { order[atomic_fetch_add(&norder, 1)] = (int)(intptr_t)arg; }

static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

static void test_posts_run_in_order(void)
{
    atomic_store(&norder, 0);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(np_loop_post(append, (void *)(intptr_t)i), 0);
    np_loop_call(nothing, NULL);  /* everything posted before has run */
    CHECK_EQ(atomic_load(&norder), 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(order[i], i);
}

typedef struct fired {
    atomic_int count;
    int64_t at;
    uint64_t seq;
} fired;

static void timer_cb(np_timer *t, uint64_t seq)
{
    fired *f = t->owner;
    f->at = np_now_ms();
    f->seq = seq;
    atomic_fetch_add(&f->count, 1);
}

static fired fires[3];
static np_timer timers[3];

static int arm_three(void *arg)
{
    (void)arg;
    int64_t delays[3] = {60, 20, 40};
    for (int i = 0; i < 3; i++) {
        timers[i] = (np_timer){.cb = timer_cb, .owner = &fires[i]};
        np_timer_start(&timers[i], delays[i], 100 + i);
    }
    return 0;
}

static void wait_count(atomic_int *c, int want, int ms)
{
    for (int i = 0; i < ms && atomic_load(c) < want; i++)
        usleep(1000);
}

static void test_timers_fire_in_deadline_order(void)
{
    memset(fires, 0, sizeof(fires));
    np_loop_call(arm_three, NULL);
    int64_t t0 = np_now_ms();
    wait_count(&fires[0].count, 1, 3000);
    CHECK_EQ(atomic_load(&fires[0].count), 1);
    CHECK_EQ(atomic_load(&fires[1].count), 1);
    CHECK_EQ(atomic_load(&fires[2].count), 1);
    CHECK(fires[1].at <= fires[2].at && fires[2].at <= fires[0].at);
    CHECK(fires[0].at - t0 >= 40);
    CHECK_EQ(fires[1].seq, 101u);
}

static void test_cancelled_timer_never_fires(void)
{
    fired f = {0};
    np_timer t = {.cb = timer_cb, .owner = &f};
    np_timer_start(&t, 30, 7);
    np_timer_cancel(&t);
    CHECK_EQ(t.armed, 0);
    usleep(80 * 1000);
    np_loop_call(nothing, NULL);
    CHECK_EQ(atomic_load(&f.count), 0);
}

static void test_timer_from_another_thread_wakes_the_loop(void)
{
    /* The loop sleeps with no timer (up to its 60 s cap); a 20 ms timer armed here must
     * wake it through the wake-up descriptor. */
    np_loop_call(nothing, NULL);
    usleep(20 * 1000);
    fired f = {0};
    np_timer t = {.cb = timer_cb, .owner = &f};
    int64_t t0 = np_now_ms();
    np_timer_start(&t, 20, 1);
    wait_count(&f.count, 1, 3000);
    CHECK_EQ(atomic_load(&f.count), 1);
    CHECK(f.at - t0 < 1500);
}

static void test_restarted_timer_fires_once_with_new_seq(void)
{
    fired f = {0};
    np_timer t = {.cb = timer_cb, .owner = &f};
    np_timer_start(&t, 10, 1);
    np_timer_start(&t, 30, 2);
    wait_count(&f.count, 1, 3000);
    usleep(50 * 1000);
    CHECK_EQ(atomic_load(&f.count), 1);
    CHECK_EQ(f.seq, 2u);
}

int main(void)
{
    TT_RUN(test_call_runs_on_the_io_thread);
    TT_RUN(test_posts_run_in_order);
    TT_RUN(test_timers_fire_in_deadline_order);
    TT_RUN(test_cancelled_timer_never_fires);
    TT_RUN(test_timer_from_another_thread_wakes_the_loop);
    TT_RUN(test_restarted_timer_fires_once_with_new_seq);
    return tt_summary();
}
