/* poller.c - backend choice and the registration bookkeeping shared by all backends. */
#include "platform/poller.h"

#include "platform/features.h"
#include "platform/np_errno.h"

#include <stdlib.h>
#include <string.h>

extern const np_poller_ops np_poller_poll_ops;
#ifdef NP_HAVE_EPOLL
extern const np_poller_ops np_poller_epoll_ops;
#endif
#ifdef NP_HAVE_KQUEUE
extern const np_poller_ops np_poller_kqueue_ops;
#endif

static const np_poller_ops *const poller_compiled[] = {
#ifdef NP_HAVE_EPOLL
    &np_poller_epoll_ops,
#endif
#ifdef NP_HAVE_KQUEUE
    &np_poller_kqueue_ops,
#endif
    &np_poller_poll_ops,  /* last: the fallback */
};
#define POLLER_NCOMPILED (sizeof(poller_compiled) / sizeof(poller_compiled[0]))

static const np_poller_ops *poller_chosen;

const np_poller_ops *np_poller_by_name(const char *name)
{
    for (size_t i = 0; i < POLLER_NCOMPILED; i++)
        if (strcmp(poller_compiled[i]->name, name) == 0)
            return poller_compiled[i];
    return NULL;
}

const np_poller_ops *np_poller_choose(void)
{
    if (poller_chosen)
        return poller_chosen;
    const char *want = getenv("NANOPY_POLLER");
    const np_poller_ops *ops = NULL;
    if (want && strcmp(want, "portable") == 0)
        ops = &np_poller_poll_ops;
    else if (want)
        ops = np_poller_by_name(want);
    poller_chosen = ops ? ops : poller_compiled[0];
    return poller_chosen;
}

const char *np_poller_backend(void) { return np_poller_choose()->name; }

int np_poller_open(np_poller *p, const np_poller_ops *ops)
{
    memset(p, 0, sizeof(*p));
    p->ops = ops;
    p->fd = -1;
    pthread_mutex_init(&p->lend_lock, NULL);
    return ops->open(p);
}

void np_poller_close(np_poller *p)
{
    if (p->ops)
        p->ops->close(p);
    free(p->polled);
    free(p->scratch);
    free(p->snap);
    pthread_mutex_destroy(&p->lend_lock);
    memset(p, 0, sizeof(*p));
    p->fd = -1;
}

int np_poller_add(np_poller *p, np_ioh *h, uint32_t events)
{
    h->lent = 0;
    int rc = p->ops->add(p, h, events);
    if (rc)
        return rc;
    h->events = events;
    h->registered = 1;
    return 0;
}

/* What the backend watches: the wanted events minus input while it is lent. */
static uint32_t poller_effective(const np_ioh *h, uint32_t events)
{
    return h->lent ? events & ~NP_IO_IN : events;
}

void np_poller_set_events(np_poller *p, np_ioh *h, uint32_t events)
{
    if (!h->registered || h->events == events)
        return;
    if (!p->ops->lendable) {
        p->ops->modify(p, h, events);
        h->events = events;
        return;
    }
    pthread_mutex_lock(&p->lend_lock);
    if (poller_effective(h, events) != poller_effective(h, h->events))
        p->ops->modify(p, h, poller_effective(h, events));
    h->events = events;
    pthread_mutex_unlock(&p->lend_lock);
}

void np_poller_remove(np_poller *p, np_ioh *h)
{
    if (!h->registered)
        return;
    if (p->ops->lendable)
        pthread_mutex_lock(&p->lend_lock);
    h->registered = 0;
    p->ops->remove(p, h);
    if (p->ops->lendable)
        pthread_mutex_unlock(&p->lend_lock);
}

int np_poller_lend_in(np_poller *p, np_ioh *h, int lent)
{
    if (!p->ops || !p->ops->lendable)
        return -ENOTSUP;
    pthread_mutex_lock(&p->lend_lock);
    int rc = 0;
    if (!h->registered) {
        rc = -EBADF;
    } else if (h->lent != lent) {
        uint32_t before = poller_effective(h, h->events);
        h->lent = lent;
        if (poller_effective(h, h->events) != before)
            p->ops->modify(p, h, poller_effective(h, h->events));
    }
    pthread_mutex_unlock(&p->lend_lock);
    return rc;
}
