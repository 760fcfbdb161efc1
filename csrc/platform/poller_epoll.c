/* poller_epoll.c - the epoll backend (Linux); see poller.h. */
#include "platform/poller.h"

#include "platform/features.h"

#ifdef NP_HAVE_EPOLL
#include "platform/np_errno.h"

#include <sys/epoll.h>
#include <unistd.h>

#define EPOLL_BATCH 64

static uint32_t poller_epoll_mask(uint32_t events)
{
    return ((events & NP_IO_IN) ? EPOLLIN : 0) | ((events & NP_IO_OUT) ? EPOLLOUT : 0);
}

static int poller_epoll_open(np_poller *p)
{
    p->fd = epoll_create1(EPOLL_CLOEXEC);
    return p->fd < 0 ? -errno : 0;
}

static void poller_epoll_close(np_poller *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

static int poller_epoll_add(np_poller *p, np_ioh *h, uint32_t events)
{
    struct epoll_event ev = {.events = poller_epoll_mask(events), .data.ptr = h};
    return epoll_ctl(p->fd, EPOLL_CTL_ADD, h->fd, &ev) == 0 ? 0 : -errno;
}

static void poller_epoll_modify(np_poller *p, np_ioh *h, uint32_t events)
{
    struct epoll_event ev = {.events = poller_epoll_mask(events), .data.ptr = h};
    epoll_ctl(p->fd, EPOLL_CTL_MOD, h->fd, &ev);
}

static void poller_epoll_remove(np_poller *p, np_ioh *h)
{
    epoll_ctl(p->fd, EPOLL_CTL_DEL, h->fd, NULL);
}

static int poller_epoll_wait_once(np_poller *p, int timeout_ms)
{
    struct epoll_event events[EPOLL_BATCH];
    int n = epoll_wait(p->fd, events, EPOLL_BATCH, timeout_ms);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = events[i].events, ev = 0;
        if (e & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
            ev |= NP_IO_IN;
        if (e & EPOLLOUT)
            ev |= NP_IO_OUT;
        if (e & EPOLLERR)
            ev |= NP_IO_ERR | NP_IO_IN;
        np_poller_dispatch(events[i].data.ptr, ev);
    }
    return n;
}

const np_poller_ops np_poller_epoll_ops = {
    .name = "epoll",
    .open = poller_epoll_open,
    .close = poller_epoll_close,
    .add = poller_epoll_add,
    .modify = poller_epoll_modify,
    .remove = poller_epoll_remove,
    .wait = poller_epoll_wait_once,
    .lendable = 1,  /* epoll_ctl may run on any thread */
};
#else
typedef int np_poller_epoll_not_compiled;
#endif
