/*
 * poller_poll.c - the poll() backend, portable to every POSIX system; see poller.h. The
 * registered handles live in an array; each wait builds the pollfd array from it (reusing
 * the buffers), so registration is O(1) and a wait O(n).
 */
#include "platform/poller.h"

#include "platform/np_errno.h"

#include <poll.h>
#include <stdlib.h>

static int poller_poll_open(np_poller *p)
{
    p->fd = -1;
    return 0;
}

static void poller_poll_close(np_poller *p) { (void)p; }

static int poller_poll_add(np_poller *p, np_ioh *h, uint32_t events)
{
    (void)events;
    if (p->npolled == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        np_ioh **a = realloc(p->polled, (size_t)cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        p->polled = a;
        p->cap = cap;
    }
    p->polled[p->npolled++] = h;
    return 0;
}

/* The wanted events are read from h->events at each wait. */
static void poller_poll_modify(np_poller *p, np_ioh *h, uint32_t events)
{
    (void)p;
    (void)h;
    (void)events;
}

static void poller_poll_remove(np_poller *p, np_ioh *h)
{
    for (int i = 0; i < p->npolled; i++) {
        if (p->polled[i] == h) {
            p->polled[i] = p->polled[--p->npolled];
            return;
        }
    }
}

static int poller_poll_reserve(np_poller *p, int n)
{
    if (n <= p->scratch_cap)
        return 0;
    struct pollfd *fds = realloc(p->scratch, (size_t)n * sizeof(*fds));
    if (!fds)
        return -ENOMEM;
    p->scratch = fds;
    np_ioh **snap = realloc(p->snap, (size_t)n * sizeof(*snap));
    if (!snap)
        return -ENOMEM;
    p->snap = snap;
    p->scratch_cap = n;
    return 0;
}

static int poller_poll_wait(np_poller *p, int timeout_ms)
{
    int n = p->npolled;
    if (poller_poll_reserve(p, n > 0 ? n : 1) != 0)
        return -ENOMEM;
    struct pollfd *fds = p->scratch;
    for (int i = 0; i < n; i++) {
        np_ioh *h = p->snap[i] = p->polled[i];
        fds[i].fd = h->fd;
        fds[i].events = (short)(((h->events & NP_IO_IN) ? POLLIN : 0) |
                                ((h->events & NP_IO_OUT) ? POLLOUT : 0));
        fds[i].revents = 0;
    }
    int rc = poll(fds, (nfds_t)n, timeout_ms);
    if (rc < 0)
        return -errno;
    for (int i = 0; i < n && rc > 0; i++) {
        short r = fds[i].revents;
        if (!r)
            continue;
        uint32_t ev = 0;
        if (r & (POLLIN | POLLHUP))
            ev |= NP_IO_IN;
        if (r & POLLOUT)
            ev |= NP_IO_OUT;
        if (r & (POLLERR | POLLNVAL))
            ev |= NP_IO_ERR | NP_IO_IN;
        np_poller_dispatch(p->snap[i], ev);
    }
    return rc;
}

const np_poller_ops np_poller_poll_ops = {
    .name = "poll",
    .open = poller_poll_open,
    .close = poller_poll_close,
    .add = poller_poll_add,
    .modify = poller_poll_modify,
    .remove = poller_poll_remove,
    .wait = poller_poll_wait,
};
