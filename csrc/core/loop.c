/* loop.c - the I/O thread; see loop.h. */
#include "core/loop.h"

#include "platform/clock.h"
#include "platform/np_errno.h"
#include "platform/wakeup.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef struct loop_deferred {
    void (*fn)(void *);
    void *p;
    struct loop_deferred *next;
} loop_deferred;

static struct {
    pthread_mutex_t lock;
    int started;
    np_poller poller;
    np_wakeup wake;
    np_ioh wake_ioh;
    pthread_t thread;
    np_loop_task *head, *tail;
    np_timer *timers;  /* sorted by `when` */
    loop_deferred *graveyard;
} L = {.lock = PTHREAD_MUTEX_INITIALIZER};

static __thread int loop_in_thread;
/* This thread's batch (np_loop_batch_begin): tasks not yet handed to the I/O thread. */
static __thread int loop_batch_depth;
static __thread np_loop_task *loop_batch_head, *loop_batch_tail;

int np_loop_add(np_ioh *h, uint32_t events) { return np_poller_add(&L.poller, h, events); }

void np_loop_set_events(np_ioh *h, uint32_t events)
{
    np_poller_set_events(&L.poller, h, events);
}

void np_loop_remove(np_ioh *h) { np_poller_remove(&L.poller, h); }

int np_loop_lend_in(np_ioh *h, int lent)
{
    if (!L.started)
        return -EBADF;
    return np_poller_lend_in(&L.poller, h, lent);
}

void np_loop_defer_free(void (*fn)(void *), void *p)
{
    loop_deferred *d = malloc(sizeof(*d));
    if (!d) {
        fn(p);  /* out of memory: free now; only reachable outside event dispatch */
        return;
    }
    d->fn = fn;
    d->p = p;
    d->next = L.graveyard;
    L.graveyard = d;
}

/* Append the chain first..last to the command list and wake the thread if it was empty. */
static void loop_enqueue(np_loop_task *first, np_loop_task *last)
{
    pthread_mutex_lock(&L.lock);
    /* Only the command that makes the list non-empty wakes the thread: until the thread
     * takes the whole list (loop_run_commands), that wake-up is still pending, so posting
     * to many pipes in a row costs one wake-up, not one system call each. */
    int was_empty = L.head == NULL;
    if (L.tail)
        L.tail->next = first;
    else
        L.head = first;
    L.tail = last;
    pthread_mutex_unlock(&L.lock);
    if (was_empty)
        np_wakeup_signal(&L.wake);
}

int np_loop_post_task(np_loop_task *t)
{
    if (!L.started)
        return -EBADF;  /* no I/O thread (after fork or in a test harness): nothing would run it */
    if (atomic_exchange(&t->queued, 1))
        return 1;
    t->next = NULL;
    if (loop_batch_depth > 0) {
        if (loop_batch_tail)
            loop_batch_tail->next = t;
        else
            loop_batch_head = t;
        loop_batch_tail = t;
        return 0;
    }
    loop_enqueue(t, t);
    return 0;
}

void np_loop_batch_begin(void) { loop_batch_depth++; }

void np_loop_batch_end(void)
{
    if (--loop_batch_depth > 0 || !loop_batch_head)
        return;
    np_loop_task *first = loop_batch_head, *last = loop_batch_tail;
    loop_batch_head = loop_batch_tail = NULL;
    loop_enqueue(first, last);
}

int np_loop_post(void (*fn)(void *), void *arg)
{
    if (!L.started)
        return -EBADF;
    np_loop_task *t = malloc(sizeof(*t));
    if (!t)
        return -ENOMEM;
    *t = (np_loop_task){.fn = fn, .arg = arg, .heap = 1};
    /* Never batched: np_loop_call waits for its command right after posting it. */
    t->next = NULL;
    loop_enqueue(t, t);
    return 0;
}

typedef struct loop_call_state {
    int (*fn)(void *);
    void *arg;
    int rc;
    int done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} loop_call_state;

static void loop_run_call(void *p)
{
    loop_call_state *c = p;
    int rc = c->fn(c->arg);
    pthread_mutex_lock(&c->lock);
    c->rc = rc;
    c->done = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

int np_loop_call(int (*fn)(void *), void *arg)
{
    if (loop_in_thread)
        return fn(arg);
    int rc = np_loop_start();
    if (rc)
        return rc;
    loop_call_state c = {.fn = fn, .arg = arg};
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.cond, NULL);
    rc = np_loop_post(loop_run_call, &c);
    if (rc == 0) {
        pthread_mutex_lock(&c.lock);
        while (!c.done)
            pthread_cond_wait(&c.cond, &c.lock);
        pthread_mutex_unlock(&c.lock);
        rc = c.rc;
    }
    pthread_mutex_destroy(&c.lock);
    pthread_cond_destroy(&c.cond);
    return rc;
}

static void loop_timer_unlink_locked(np_timer *t)
{
    for (np_timer **pp = &L.timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->armed = 0;
    t->next = NULL;
}

void np_timer_start(np_timer *t, int64_t delay_ms, uint64_t seq)
{
    pthread_mutex_lock(&L.lock);
    if (t->armed)
        loop_timer_unlink_locked(t);
    t->when = np_now_ms() + (delay_ms < 0 ? 0 : delay_ms);
    t->seq = seq;
    t->armed = 1;
    np_timer **pp = &L.timers;
    while (*pp && (*pp)->when <= t->when)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    int first = (L.timers == t);
    pthread_mutex_unlock(&L.lock);
    if (first && !loop_in_thread && L.started)
        np_wakeup_signal(&L.wake);
}

void np_timer_cancel(np_timer *t)
{
    pthread_mutex_lock(&L.lock);
    if (t->armed)
        loop_timer_unlink_locked(t);
    pthread_mutex_unlock(&L.lock);
}

static int loop_next_timeout(void)
{
    pthread_mutex_lock(&L.lock);
    int timeout = -1;
    if (L.timers) {
        int64_t d = L.timers->when - np_now_ms();
        timeout = d < 0 ? 0 : (d > 60000 ? 60000 : (int)d);
    }
    if (L.head)
        timeout = 0;
    pthread_mutex_unlock(&L.lock);
    return timeout;
}

static void loop_run_commands(void)
{
    pthread_mutex_lock(&L.lock);
    np_loop_task *t = L.head;
    L.head = L.tail = NULL;
    pthread_mutex_unlock(&L.lock);
    while (t) {
        /* Read everything first: an embedded task may be posted again while fn runs. */
        np_loop_task *next = t->next;
        void (*fn)(void *) = t->fn;
        void *arg = t->arg;
        if (t->heap)
            free(t);
        else
            atomic_store(&t->queued, 0);
        fn(arg);
        t = next;
    }
}

static void loop_run_timers(void)
{
    int64_t now = np_now_ms();
    for (;;) {
        pthread_mutex_lock(&L.lock);
        np_timer *t = L.timers;
        if (!t || t->when > now) {
            pthread_mutex_unlock(&L.lock);
            return;
        }
        L.timers = t->next;
        t->next = NULL;
        t->armed = 0;
        uint64_t seq = t->seq;
        void (*cb)(np_timer *, uint64_t) = t->cb;
        pthread_mutex_unlock(&L.lock);
        cb(t, seq);
    }
}

static void loop_bury_the_dead(void)
{
    while (L.graveyard) {
        loop_deferred *d = L.graveyard;
        L.graveyard = d->next;
        d->fn(d->p);
        free(d);
    }
}

static void loop_woken(np_ioh *h, uint32_t ev)
{
    (void)h;
    (void)ev;
    np_wakeup_drain(&L.wake);
}

static void *loop_main(void *unused)
{
    (void)unused;
    loop_in_thread = 1;
    for (;;) {
        np_poller_wait(&L.poller, loop_next_timeout());
        loop_run_commands();
        loop_run_timers();
        loop_bury_the_dead();
    }
    return NULL;
}

/* Poller and wake-up descriptor, registered with each other. L.lock held. */
static int loop_open_descriptors(void)
{
    int rc = np_poller_open(&L.poller, np_poller_choose());
    if (rc)
        return rc;
    if ((rc = np_wakeup_open(&L.wake)) != 0) {
        np_poller_close(&L.poller);
        return rc;
    }
    L.wake_ioh = (np_ioh){.fd = L.wake.rfd, .cb = loop_woken};
    if ((rc = np_poller_add(&L.poller, &L.wake_ioh, NP_IO_IN)) != 0) {
        np_wakeup_close(&L.wake);
        np_poller_close(&L.poller);
    }
    return rc;
}

int np_loop_start(void)
{
    pthread_mutex_lock(&L.lock);
    if (L.started) {
        pthread_mutex_unlock(&L.lock);
        return 0;
    }
    int rc = loop_open_descriptors();
    if (rc) {
        pthread_mutex_unlock(&L.lock);
        return rc;
    }
    /* The I/O thread must never take a signal meant for Python's main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&L.thread, &attr, loop_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        np_poller_close(&L.poller);
        np_wakeup_close(&L.wake);
        pthread_mutex_unlock(&L.lock);
        return -rc;
    }
    L.started = 1;
    pthread_mutex_unlock(&L.lock);
    return 0;
}

void np_loop_forget_after_fork(void)
{
    /* The parent's thread does not exist here; its descriptors and queued work are dropped
     * (leaked on purpose: they may be in any state). The next np_loop_start makes a new one. */
    pthread_mutex_init(&L.lock, NULL);
    L.started = 0;
    L.head = L.tail = NULL;
    L.timers = NULL;
    L.graveyard = NULL;
    memset(&L.poller, 0, sizeof(L.poller));
}
