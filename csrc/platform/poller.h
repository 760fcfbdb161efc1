/*
 * poller.h - readiness of many descriptors at once, behind one interface with three
 * backends: epoll (Linux), kqueue (macOS and the BSDs) and poll() (every POSIX system).
 *
 * The backend is chosen once per process, when the I/O thread first starts:
 *   NANOPY_POLLER=poll      the poll() backend (the wake-up descriptors stay the platform's
 *                           best: eventfd on Linux)
 *   NANOPY_POLLER=portable  poll() and pipe wake-ups together: the pair every platform has,
 *                           so Linux can run the code a port would run
 *   NANOPY_WAKEUP=pipe      pipe wake-ups with the default poller
 *   unset / anything else   epoll where compiled in, else kqueue, else poll
 * np_poller_backend() and np_wakeup_backend() name what was chosen.
 *
 * Threads: a poller belongs to one thread (the I/O thread); none of these functions may be
 * called from another thread. Callbacks run inside np_poller_wait, on that thread.
 */
#ifndef NP_POLLER_H
#define NP_POLLER_H

#include <pthread.h>
#include <stdint.h>

#define NP_IO_IN 1u    /* readable, or the peer hung up (a read will say so) */
#define NP_IO_OUT 4u   /* writable */
#define NP_IO_ERR 8u   /* error condition; always reported together with NP_IO_IN */

typedef struct np_ioh np_ioh;
typedef void (*np_io_fn)(np_ioh *h, uint32_t events);

/* A registered descriptor. Embed it in the object that owns the fd. */
struct np_ioh {
    int fd;
    uint32_t events;  /* NP_IO_IN / NP_IO_OUT currently requested */
    int registered;
    int lent;         /* input lent to another thread: NP_IO_IN is not watched (lendable
                       * backends; guarded by the poller's lend_lock) */
    np_io_fn cb;
    void *owner;
};

typedef struct np_poller np_poller;

typedef struct np_poller_ops {
    const char *name;   /* "epoll", "kqueue", "poll" */
    int (*open)(np_poller *p);
    void (*close)(np_poller *p);
    /* Start watching h->fd for `events`. 0 or -errno. */
    int (*add)(np_poller *p, np_ioh *h, uint32_t events);
    /* Change the events watched (h->events still holds the old set). */
    void (*modify)(np_poller *p, np_ioh *h, uint32_t events);
    void (*remove)(np_poller *p, np_ioh *h);
    /* Sleep until a descriptor is ready or timeout_ms passes (-1: no limit), then call
     * cb for every ready descriptor that is still registered. Returns how many were ready
     * (0 on timeout) or -errno (-EINTR included). */
    int (*wait)(np_poller *p, int timeout_ms);
    /* modify may be called from any thread while another waits (epoll): input can be lent
     * (np_poller_lend_in). */
    int lendable;
} np_poller_ops;

struct np_poller {
    const np_poller_ops *ops;
    int fd;               /* epoll / kqueue descriptor; -1 for poll() */
    np_ioh **polled;      /* poll(): the registered handles */
    int npolled, cap;
    void *scratch;        /* poll(): struct pollfd array reused across waits */
    np_ioh **snap;        /* poll(): the handles matching scratch, for this wait */
    int scratch_cap;
    pthread_mutex_t lend_lock;  /* orders modify calls of the owner and of lenders */
};

/* The backend this process uses (environment read once). */
const np_poller_ops *np_poller_choose(void);
/* A backend by name, or NULL when it is not compiled for this platform (unit tests). */
const np_poller_ops *np_poller_by_name(const char *name);
/* Name of the backend np_poller_choose returns. */
const char *np_poller_backend(void);

/* Open p with ops. 0 or -errno. */
int np_poller_open(np_poller *p, const np_poller_ops *ops);
void np_poller_close(np_poller *p);

/* Handle registration: h->registered and h->events follow these calls. */
int np_poller_add(np_poller *p, np_ioh *h, uint32_t events);
void np_poller_set_events(np_poller *p, np_ioh *h, uint32_t events);
void np_poller_remove(np_poller *p, np_ioh *h);
/*
 * Lend h's input to another thread (lent = 1) or take it back (0): while lent the poller
 * does not watch h for input, whatever np_poller_set_events asks, so a thread that reads
 * h->fd itself is not raced by the owner nor wakes it. The one call allowed from any
 * thread. 0, -ENOTSUP (backend cannot), -EBADF (h is not registered).
 */
int np_poller_lend_in(np_poller *p, np_ioh *h, int lent);
static inline int np_poller_wait(np_poller *p, int timeout_ms)
{
    return p->ops->wait(p, timeout_ms);
}

/* For backends: run h's callback unless an earlier callback of this wait removed it. */
static inline void np_poller_dispatch(np_ioh *h, uint32_t ev)
{
    if (h->registered)
        h->cb(h, ev);
}

#endif
