/*
 * poller_kqueue.c - the kqueue backend (macOS and the BSDs); see poller.h. kqueue watches
 * reading and writing as two filters of one descriptor: both are added at registration and
 * enabled or disabled as the wanted events change.
 */
#include "platform/poller.h"

#include "platform/features.h"

#ifdef NP_HAVE_KQUEUE
#include "platform/np_errno.h"

#include <fcntl.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#define KQUEUE_BATCH 64

static int poller_kqueue_open(np_poller *p)
{
    p->fd = kqueue();
    if (p->fd < 0)
        return -errno;
    fcntl(p->fd, F_SETFD, FD_CLOEXEC);
    return 0;
}

static void poller_kqueue_close(np_poller *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

/* Add (or update) both filters of h, each enabled when wanted. */
static int poller_kqueue_apply(np_poller *p, np_ioh *h, uint32_t events)
{
    struct kevent kev[2];
    EV_SET(&kev[0], h->fd, EVFILT_READ, EV_ADD | ((events & NP_IO_IN) ? EV_ENABLE : EV_DISABLE),
           0, 0, h);
    EV_SET(&kev[1], h->fd, EVFILT_WRITE,
           EV_ADD | ((events & NP_IO_OUT) ? EV_ENABLE : EV_DISABLE), 0, 0, h);
    return kevent(p->fd, kev, 2, NULL, 0, NULL) == 0 ? 0 : -errno;
}

static int poller_kqueue_add(np_poller *p, np_ioh *h, uint32_t events)
{
    return poller_kqueue_apply(p, h, events);
}

static void poller_kqueue_modify(np_poller *p, np_ioh *h, uint32_t events)
{
    (void)poller_kqueue_apply(p, h, events);
}

static void poller_kqueue_remove(np_poller *p, np_ioh *h)
{
    struct kevent kev[2];
    EV_SET(&kev[0], h->fd, EVFILT_READ, EV_DELETE, 0, 0, h);
    EV_SET(&kev[1], h->fd, EVFILT_WRITE, EV_DELETE, 0, 0, h);
    (void)kevent(p->fd, kev, 2, NULL, 0, NULL);
}

static int poller_kqueue_wait(np_poller *p, int timeout_ms)
{
    struct kevent events[KQUEUE_BATCH];
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    int n = kevent(p->fd, NULL, 0, events, KQUEUE_BATCH, tsp);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        uint32_t ev = events[i].filter == EVFILT_WRITE ? NP_IO_OUT : NP_IO_IN;
        if (events[i].flags & EV_EOF)
            ev |= NP_IO_IN;  /* the peer hung up: the next read says so */
        if (events[i].flags & EV_ERROR)
            ev |= NP_IO_ERR | NP_IO_IN;
        np_poller_dispatch((np_ioh *)events[i].udata, ev);
    }
    return n;
}

const np_poller_ops np_poller_kqueue_ops = {
    .name = "kqueue",
    .open = poller_kqueue_open,
    .close = poller_kqueue_close,
    .add = poller_kqueue_add,
    .modify = poller_kqueue_modify,
    .remove = poller_kqueue_remove,
    .wait = poller_kqueue_wait,
};
#else
typedef int np_poller_kqueue_not_compiled;
#endif
