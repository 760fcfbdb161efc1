/*
 * loop.h - the I/O thread: one poller (platform/poller.h) that owns every network
 * descriptor, runs timers and executes commands posted by caller threads.
 *
 * Everything that creates or destroys endpoints and pipes runs here (np_loop_call), so those
 * lifecycles never race with each other. Handlers must not block; they may take one socket
 * lock at a time, never while a caller could be waiting on the loop with that lock held.
 */
#ifndef NP_LOOP_H
#define NP_LOOP_H

#include "platform/poller.h"

#include <stdatomic.h>
#include <stdint.h>

/* Start the I/O thread if needed. Returns 0 or -errno. */
int np_loop_start(void);

/* Descriptor registration: only from the I/O thread. */
int np_loop_add(np_ioh *h, uint32_t events);
void np_loop_set_events(np_ioh *h, uint32_t events);
void np_loop_remove(np_ioh *h);
/* Any thread: stop (lent = 1) or resume (0) watching a registered handle for input, so
 * that another thread may read its descriptor without the I/O thread waking or racing it
 * (see np_poller_lend_in). 0, -ENOTSUP (this poller cannot) or -EBADF (not registered). */
int np_loop_lend_in(np_ioh *h, int lent);

/* Defer fn(p) until the current batch of events has been dispatched. I/O thread only. */
void np_loop_defer_free(void (*fn)(void *), void *p);

/* Run fn(arg) on the I/O thread soon. Any thread. 0, or -errno (no I/O thread). */
int np_loop_post(void (*fn)(void *), void *arg);

/*
 * A command kept inside the object it works on, so that posting it allocates nothing (a
 * pipe posts its flush once per burst, not once per message). The poster sets fn and arg;
 * the task may be posted again as soon as fn has started.
 */
typedef struct np_loop_task {
    void (*fn)(void *);
    void *arg;
    struct np_loop_task *next;
    atomic_int queued;  /* in a command list, fn not started yet */
    int heap;           /* allocated by np_loop_post: freed before fn runs */
} np_loop_task;
/* Queue t. Any thread. 0; 1 when t was queued already (it will run once: the poster keeps
 * whatever it meant to hand over); -errno (no I/O thread: not queued). */
int np_loop_post_task(np_loop_task *t);
/*
 * Between begin and end, tasks this thread posts are collected and handed to the I/O thread
 * at end with one lock and at most one wake-up (a publish to N pipes costs one hand-off, not
 * N). Nests; the caller must not wait for the I/O thread in between.
 */
void np_loop_batch_begin(void);
void np_loop_batch_end(void);
/* Run fn(arg) on the I/O thread and wait for its result (inline when already there). */
int np_loop_call(int (*fn)(void *), void *arg);

/*
 * Timers. `seq` is chosen by the owner when starting and handed back to cb, so a callback
 * that fires after a restart or a cancel can recognise itself as stale.
 */
typedef struct np_timer np_timer;
struct np_timer {
    int64_t when;
    uint64_t seq;
    void (*cb)(np_timer *t, uint64_t seq);
    void *owner;
    int armed;
    np_timer *next;
};
void np_timer_start(np_timer *t, int64_t delay_ms, uint64_t seq);
void np_timer_cancel(np_timer *t);

/* Called in a child after fork(): forget the parent's I/O thread. */
void np_loop_forget_after_fork(void);

#endif
