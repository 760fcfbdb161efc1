/*
 * test_efd.c - the lock-free readiness signal (platform/efd.h): several threads flip it at
 * once, and at every quiescent point (a barrier) the descriptor must be readable iff the
 * signal is set, also when it is handed out while they flip; a producer/consumer pair must
 * never lose a wake-up nor spin on a stale one, whether the consumer sleeps on the flag or
 * on the descriptor; a descriptor nobody asked for is never written. Run on both descriptor
 * kinds, under ASan and TSan (tests/test_csrc.py).
 */
// deps: platform/wakeup.c platform/sockio.c
#include "tinytest.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

/* Between a flip and its syscall, and before each settle step, sometimes give the CPU away
 * or pause a few microseconds: the races the settle loop resolves become common instead of
 * one in millions (without the loop, the checks below fail within a few rounds). */
static _Thread_local uint64_t race_seed;
static void race_point(void)
{
    if (!race_seed)
        race_seed = (uint64_t)(uintptr_t)&race_seed | 1;
    uint64_t r = tt_rand(&race_seed) % 8;
    if (r == 0)
        sched_yield();
    else if (r == 1)
        nanosleep(&(struct timespec){.tv_nsec = 2000}, NULL);
}
#define NP_EFD_RACE_POINT() race_point()
#include "platform/efd.c"

static const char *const KINDS[] = {"eventfd", "pipe"};

/* Readable now? (looks at the descriptor without handing it out) */
static int readable(np_efd *e)
{
    struct pollfd p = {.fd = e->fd.rfd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int open_kind(np_efd *e, const char *kind)
{
    int rc = np_efd_init_kind(e, kind);
    return rc == -ENOTSUP ? 1 : rc;  /* 1: this platform lacks the kind */
}

/* ---- many threads flip, quiescent checks --------------------------------------------- */

enum { FLIPPERS = 4, ROUNDS = 3000 };

typedef struct {
    np_efd *e;
    pthread_barrier_t *start, *done;
    uint64_t seed;
} flipper;

static void *flipper_main(void *arg)
{
    flipper *f = arg;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(f->start);
        int ops = 1 + (int)(tt_rand(&f->seed) % 6);
        for (int i = 0; i < ops; i++) {
            if (tt_rand(&f->seed) & 1)
                np_efd_signal(f->e);
            else
                np_efd_unsignal(f->e);
            if (tt_rand(&f->seed) % 16 == 0)
                sched_yield();
        }
        pthread_barrier_wait(f->done);
    }
    return NULL;
}

/* take_at: the round in which the main thread hands the descriptor out while the others
 * flip (0: before they start). Quiescent checks count from then on. */
static void flip_rounds(const char *kind, int take_at)
{
    np_efd e;
    int rc = open_kind(&e, kind);
    if (rc == 1)
        return;
    REQUIRE(rc == 0);
    pthread_barrier_t start, done;
    pthread_barrier_init(&start, NULL, FLIPPERS + 1);
    pthread_barrier_init(&done, NULL, FLIPPERS + 1);
    pthread_t th[FLIPPERS];
    flipper f[FLIPPERS];
    for (int i = 0; i < FLIPPERS; i++) {
        f[i] = (flipper){.e = &e, .start = &start, .done = &done, .seed = 0x9E3779B9u * (i + 1)};
        pthread_create(&th[i], NULL, flipper_main, &f[i]);
    }
    uint64_t seed = 42;
    int mismatches = 0, wrong_after_last = 0, unmirrored_writes = 0;
    if (take_at == 0)
        np_efd_pollfd(&e);
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&start);
        if (r == take_at && r > 0)
            np_efd_pollfd(&e);
        pthread_barrier_wait(&done);
        /* Quiescent: nobody is inside signal/unsignal. */
        if (r >= take_at)
            mismatches += readable(&e) != atomic_load(&e.signalled);
        else
            unmirrored_writes += readable(&e);
        /* One more call from a single thread decides the state exactly. */
        int want = (int)(tt_rand(&seed) & 1);
        if (want)
            np_efd_signal(&e);
        else
            np_efd_unsignal(&e);
        wrong_after_last += atomic_load(&e.signalled) != want;
        if (r >= take_at)
            wrong_after_last += readable(&e) != want;
    }
    for (int i = 0; i < FLIPPERS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(mismatches, 0);
    CHECK_EQ(wrong_after_last, 0);
    CHECK_EQ(unmirrored_writes, 0);  /* nobody asked for the descriptor: never written */
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&done);
    np_efd_fini(&e);
}

static void test_quiescent_state_matches_flag_eventfd(void) { flip_rounds(KINDS[0], 0); }
static void test_quiescent_state_matches_flag_pipe(void) { flip_rounds(KINDS[1], 0); }
static void test_taken_while_flipping_eventfd(void) { flip_rounds(KINDS[0], ROUNDS / 2); }
static void test_taken_while_flipping_pipe(void) { flip_rounds(KINDS[1], ROUNDS / 2); }

/* ---- producer / consumer: no lost wake-up, no spin ------------------------------------- */

enum { ITEMS = 100000 };

typedef struct {
    np_efd e;
    atomic_int avail;
    int take_at;  /* hand the descriptor out after this many items (-1: never) */
    int timeouts, idle_wakes;
} channel;

static void *producer_main(void *arg)
{
    channel *c = arg;
    uint64_t seed = 7;
    for (int i = 0; i < ITEMS; i++) {
        if (i == c->take_at)
            np_efd_pollfd(&c->e);  /* the consumer switches from the flag to the descriptor */
        atomic_fetch_add(&c->avail, 1);
        np_efd_signal(&c->e);
        if (tt_rand(&seed) % 64 == 0)
            sched_yield();
    }
    return NULL;
}

/* What the socket does after taking a message (ready.c): set or clear, then test again. */
static void consumer_update(channel *c)
{
    if (atomic_load(&c->avail) > 0) {
        np_efd_signal(&c->e);
        return;
    }
    np_efd_unsignal(&c->e);
    if (atomic_load(&c->avail) > 0)
        np_efd_signal(&c->e);
}

static void producer_consumer(const char *kind, int take_at)
{
    channel c = {.take_at = take_at};
    int rc = open_kind(&c.e, kind);
    if (rc == 1)
        return;
    REQUIRE(rc == 0);
    atomic_init(&c.avail, 0);
    if (take_at == 0)
        np_efd_pollfd(&c.e);
    pthread_t th;
    pthread_create(&th, NULL, producer_main, &c);
    int got = 0;
    while (got < ITEMS) {
        int n = atomic_load(&c.avail);
        if (n > 0) {
            atomic_fetch_sub(&c.avail, 1);
            got++;
            consumer_update(&c);
            continue;
        }
        consumer_update(&c);  /* the would-block path: clear, test again */
        if (atomic_load(&c.avail) > 0)
            continue;
        rc = np_efd_wait(&c.e, 3000);
        if (rc == -ETIMEDOUT) {
            c.timeouts++;  /* a lost wake-up: a message is there and nothing woke us */
            if (atomic_load(&c.avail) == 0 || c.timeouts > 2)
                break;
        } else if (atomic_load(&c.avail) == 0) {
            c.idle_wakes++;
        }
    }
    pthread_join(th, NULL);
    CHECK_EQ(got, ITEMS);
    CHECK_EQ(c.timeouts, 0);
    /* A stale readable descriptor would make the consumer poll in a loop: millions. */
    CHECK(c.idle_wakes <= ITEMS);
    consumer_update(&c);
    CHECK_EQ(readable(&c.e), 0);
    CHECK_EQ(atomic_load(&c.e.signalled), 0);
    CHECK_EQ(atomic_load(&c.e.sleepers), 0);
    np_efd_fini(&c.e);
}

static void test_no_lost_wakeup_eventfd(void) { producer_consumer(KINDS[0], 0); }
static void test_no_lost_wakeup_pipe(void) { producer_consumer(KINDS[1], 0); }
/* Without the descriptor handed out the consumer sleeps on the flag (a futex on Linux). */
static void test_no_lost_wakeup_sleeping_on_flag(void) { producer_consumer(KINDS[0], -1); }
static void test_no_lost_wakeup_taken_midway(void) { producer_consumer(KINDS[1], ITEMS / 2); }

/* ---- handing the descriptor out brings it up to date ------------------------------------ */

static void test_taken_late_is_up_to_date(void)
{
    np_efd e;
    REQUIRE(np_efd_init(&e) == 0);
    np_efd_signal(&e);  /* a message is queued before anyone asks for the descriptor */
    int fd = np_efd_pollfd(&e);
    CHECK_EQ(fd, e.fd.rfd);
    CHECK_EQ(readable(&e), 1);
    CHECK_EQ(np_efd_pollfd(&e), fd);  /* the same descriptor every time */
    np_efd_unsignal(&e);
    CHECK_EQ(readable(&e), 0);
    np_efd_signal(&e);
    CHECK_EQ(readable(&e), 1);
    np_efd_fini(&e);
}

static void test_wait_times_out_and_sees_a_set_flag(void)
{
    np_efd e;
    REQUIRE(np_efd_init(&e) == 0);
    CHECK_EQ(np_efd_wait(&e, 0), -ETIMEDOUT);
    CHECK_EQ(np_efd_wait(&e, 20), -ETIMEDOUT);
    np_efd_signal(&e);
    CHECK_EQ(np_efd_wait(&e, -1), 0);
    CHECK_EQ(np_efd_wait(&e, 1000), 0);
    np_efd_fini(&e);
}

/* ---- a stale readable descriptor is drained by the waiter ------------------------------ */

static void stale_readable_is_drained(const char *kind)
{
    np_efd e;
    int rc = open_kind(&e, kind);
    if (rc == 1)
        return;
    REQUIRE(rc == 0);
    np_efd_pollfd(&e);
    /* The state a signaller leaves while preempted between its write and its settle loop:
     * the write landed after a clearer's drain, so readable with the flag clear. */
    np_wakeup_signal(&e.fd);
    CHECK_EQ(readable(&e), 1);
    CHECK_EQ(np_efd_wait(&e, 0), 0);
    CHECK_EQ(readable(&e), 0);
    CHECK_EQ(np_efd_wait(&e, 0), -ETIMEDOUT);
    np_efd_signal(&e);
    CHECK_EQ(np_efd_wait(&e, 0), 0);
    CHECK_EQ(readable(&e), 1);  /* a real signal is left alone */
    np_efd_fini(&e);
}

static void test_stale_readable_is_drained_eventfd(void) { stale_readable_is_drained(KINDS[0]); }
static void test_stale_readable_is_drained_pipe(void) { stale_readable_is_drained(KINDS[1]); }

int main(void)
{
    TT_RUN(test_quiescent_state_matches_flag_eventfd);
    TT_RUN(test_quiescent_state_matches_flag_pipe);
    TT_RUN(test_taken_while_flipping_eventfd);
    TT_RUN(test_taken_while_flipping_pipe);
    TT_RUN(test_no_lost_wakeup_eventfd);
    TT_RUN(test_no_lost_wakeup_pipe);
    TT_RUN(test_no_lost_wakeup_sleeping_on_flag);
    TT_RUN(test_no_lost_wakeup_taken_midway);
    TT_RUN(test_taken_late_is_up_to_date);
    TT_RUN(test_wait_times_out_and_sees_a_set_flag);
    TT_RUN(test_stale_readable_is_drained_eventfd);
    TT_RUN(test_stale_readable_is_drained_pipe);
    return tt_summary();
}
