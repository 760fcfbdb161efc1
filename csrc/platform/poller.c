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
    return ops->open(p);
}

void np_poller_close(np_poller *p)
{
    if (p->ops)
        p->ops->close(p);
    free(p->polled);
    free(p->scratch);
    free(p->snap);
    memset(p, 0, sizeof(*p));
    p->fd = -1;
}

int np_poller_add(np_poller *p, np_ioh *h, uint32_t events)
{
    int rc = p->ops->add(p, h, events);
    if (rc)
        return rc;
    h->events = events;
    h->registered = 1;
    return 0;
}

void np_poller_set_events(np_poller *p, np_ioh *h, uint32_t events)
{
    if (!h->registered || h->events == events)
        return;
    p->ops->modify(p, h, events);
    h->events = events;
}

void np_poller_remove(np_poller *p, np_ioh *h)
{
    if (!h->registered)
        return;
    h->registered = 0;
    p->ops->remove(p, h);
}
