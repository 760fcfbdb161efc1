/* loop.c - the I/O thread; see loop.h. */
#include "loop.h"

#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

/*
 * Two backends behind one interface: epoll (the default on Linux) and poll(), the portable
 * fallback, also selectable with NANOPY_POLLER=poll so that it is tested on Linux too.
 */

typedef struct cmd {
    void (*fn)(void *);
    void *arg;
    struct cmd *next;
} cmd;

typedef struct deferred {
    void (*fn)(void *);
    void *p;
    struct deferred *next;
} deferred;

static struct {
    pthread_mutex_t lock;
    int started;
    int epfd;
    int wakefd;
    pthread_t thread;
    cmd *head, *tail;
    np_timer *timers;  /* sorted by `when` */
    deferred *graveyard;
    int use_poll;        /* poll() backend instead of epoll */
    np_ioh **polled;     /* poll backend: registered handlers */
    int npolled, cap_polled;
} L = {.lock = PTHREAD_MUTEX_INITIALIZER};

static __thread int in_loop_thread;

int np_loop_in_thread(void) { return in_loop_thread; }

static void wake(void)
{
    uint64_t one = 1;
    ssize_t rc = write(L.wakefd, &one, sizeof(one));
    (void)rc;
}

int np_loop_add(np_ioh *h, uint32_t events)
{
    if (L.use_poll) {
        if (L.npolled == L.cap_polled) {
            int cap = L.cap_polled ? L.cap_polled * 2 : 64;
            np_ioh **a = realloc(L.polled, (size_t)cap * sizeof(*a));
            if (!a)
                return -ENOMEM;
            L.polled = a;
            L.cap_polled = cap;
        }
        L.polled[L.npolled++] = h;
        h->events = events;
        h->registered = 1;
        return 0;
    }
    struct epoll_event ev = {.events = 0, .data.ptr = h};
    if (events & NP_IO_IN)
        ev.events |= EPOLLIN;
    if (events & NP_IO_OUT)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, h->fd, &ev) != 0)
        return -errno;
    h->events = events;
    h->registered = 1;
    return 0;
}

void np_loop_set_events(np_ioh *h, uint32_t events)
{
    if (!h->registered || h->events == events)
        return;
    if (L.use_poll) {
        h->events = events;
        return;
    }
    struct epoll_event ev = {.events = 0, .data.ptr = h};
    if (events & NP_IO_IN)
        ev.events |= EPOLLIN;
    if (events & NP_IO_OUT)
        ev.events |= EPOLLOUT;
    epoll_ctl(L.epfd, EPOLL_CTL_MOD, h->fd, &ev);
    h->events = events;
}

void np_loop_remove(np_ioh *h)
{
    if (!h->registered)
        return;
    h->registered = 0;
    if (!L.use_poll) {
        epoll_ctl(L.epfd, EPOLL_CTL_DEL, h->fd, NULL);
        return;
    }
    for (int i = 0; i < L.npolled; i++) {
        if (L.polled[i] == h) {
            L.polled[i] = L.polled[--L.npolled];
            return;
        }
    }
}

void np_loop_defer_free(void (*fn)(void *), void *p)
{
    deferred *d = malloc(sizeof(*d));
    if (!d) {
        fn(p);  /* out of memory: free now; only reachable outside event dispatch */
        return;
    }
    d->fn = fn;
    d->p = p;
    d->next = L.graveyard;
    L.graveyard = d;
}

int np_loop_post(void (*fn)(void *), void *arg)
{
    if (!L.started)
        return -EBADF;  /* no I/O thread (after fork or in a test harness): nothing would run it */
    cmd *c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->fn = fn;
    c->arg = arg;
    c->next = NULL;
    pthread_mutex_lock(&L.lock);
    if (L.tail)
        L.tail->next = c;
    else
        L.head = c;
    L.tail = c;
    pthread_mutex_unlock(&L.lock);
    wake();
    return 0;
}

typedef struct call {
    int (*fn)(void *);
    void *arg;
    int rc;
    int done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} call;

static void run_call(void *p)
{
    call *c = p;
    int rc = c->fn(c->arg);
    pthread_mutex_lock(&c->lock);
    c->rc = rc;
    c->done = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

int np_loop_call(int (*fn)(void *), void *arg)
{
    if (in_loop_thread)
        return fn(arg);
    int rc = np_loop_start();
    if (rc)
        return rc;
    call c = {.fn = fn, .arg = arg};
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.cond, NULL);
    rc = np_loop_post(run_call, &c);
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

static void timer_unlink_locked(np_timer *t)
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
        timer_unlink_locked(t);
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
    if (first && !in_loop_thread)
        wake();
}

void np_timer_cancel(np_timer *t)
{
    pthread_mutex_lock(&L.lock);
    if (t->armed)
        timer_unlink_locked(t);
    pthread_mutex_unlock(&L.lock);
}

static int next_timeout(void)
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

static void run_commands(void)
{
    pthread_mutex_lock(&L.lock);
    cmd *c = L.head;
    L.head = L.tail = NULL;
    pthread_mutex_unlock(&L.lock);
    while (c) {
        cmd *next = c->next;
        c->fn(c->arg);
        free(c);
        c = next;
    }
}

static void run_timers(void)
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

static void bury_the_dead(void)
{
    while (L.graveyard) {
        deferred *d = L.graveyard;
        L.graveyard = d->next;
        d->fn(d->p);
        free(d);
    }
}

static void dispatch(np_ioh *h, uint32_t ev)
{
    if (h->registered)  /* not closed by an earlier event of this batch */
        h->cb(h, ev);
}

static void drain_wakefd(void)
{
    uint64_t v;
    ssize_t rc = read(L.wakefd, &v, sizeof(v));
    (void)rc;
}

/* One iteration of the poll() backend. */
static void poll_once(void)
{
    int n = L.npolled;
    struct pollfd *fds = malloc(sizeof(*fds) * (size_t)(n + 1));
    np_ioh **hs = malloc(sizeof(*hs) * (size_t)(n + 1));
    if (!fds || !hs) {
        free(fds);
        free(hs);
        usleep(1000);
        return;
    }
    fds[0] = (struct pollfd){.fd = L.wakefd, .events = POLLIN};
    for (int i = 0; i < n; i++) {
        hs[i] = L.polled[i];
        fds[i + 1].fd = hs[i]->fd;
        fds[i + 1].events = (short)(((hs[i]->events & NP_IO_IN) ? POLLIN : 0) |
                                    ((hs[i]->events & NP_IO_OUT) ? POLLOUT : 0));
        fds[i + 1].revents = 0;
    }
    int rc = poll(fds, (nfds_t)n + 1, next_timeout());
    if (rc > 0) {
        if (fds[0].revents)
            drain_wakefd();
        for (int i = 0; i < n; i++) {
            short r = fds[i + 1].revents;
            if (!r)
                continue;
            uint32_t ev = 0;
            if (r & (POLLIN | POLLHUP))
                ev |= NP_IO_IN;
            if (r & POLLOUT)
                ev |= NP_IO_OUT;
            if (r & (POLLERR | POLLNVAL))
                ev |= NP_IO_ERR | NP_IO_IN;
            dispatch(hs[i], ev);
        }
    }
    free(fds);
    free(hs);
}

static void *loop_main(void *unused)
{
    (void)unused;
    in_loop_thread = 1;
    struct epoll_event events[64];
    for (;;) {
        if (L.use_poll) {
            poll_once();
            run_commands();
            run_timers();
            bury_the_dead();
            continue;
        }
        int n = epoll_wait(L.epfd, events, 64, next_timeout());
        for (int i = 0; i < n; i++) {
            np_ioh *h = events[i].data.ptr;
            if (h == NULL) {
                drain_wakefd();
                continue;
            }
            uint32_t ev = 0;
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
                ev |= NP_IO_IN;
            if (events[i].events & EPOLLOUT)
                ev |= NP_IO_OUT;
            if (events[i].events & EPOLLERR)
                ev |= NP_IO_ERR | NP_IO_IN;
            dispatch(h, ev);
        }
        run_commands();
        run_timers();
        bury_the_dead();
    }
    return NULL;
}

int np_loop_start(void)
{
    pthread_mutex_lock(&L.lock);
    if (L.started) {
        pthread_mutex_unlock(&L.lock);
        return 0;
    }
    const char *which = getenv("NANOPY_POLLER");
    L.use_poll = which && strcmp(which, "poll") == 0;
    L.epfd = L.use_poll ? -1 : epoll_create1(EPOLL_CLOEXEC);
    if (L.epfd < 0 && !L.use_poll) {
        int e = errno;
        pthread_mutex_unlock(&L.lock);
        return -e;
    }
    L.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!L.use_poll) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.wakefd, &ev);
    }
    /* The I/O thread must never take a signal meant for Python's main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&L.thread, &attr, loop_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        if (L.epfd >= 0)
            close(L.epfd);
        close(L.wakefd);
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
    L.polled = NULL;
    L.npolled = L.cap_polled = 0;
}
