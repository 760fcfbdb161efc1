/*
 * inproc.c - inproc://name: a process-wide registry of bound and connecting endpoints.
 *
 * Connect-before-bind works: a connector waits in the registry and pairs with whichever
 * compatible socket binds the name, and again with the next one after that closes. A pairing
 * is two pipe halves; each half's outbound ring is the other half's inbound ring, so messages
 * move by reference. Everything here runs on the I/O thread, so the registry needs no lock.
 */
#include "inproc.h"

#include "../frame.h"

#include <stdlib.h>
#include <string.h>

typedef struct reg_entry {
    np_ep *ep;
    struct reg_entry *next;
} reg_entry;

static reg_entry *bound_list, *connect_list;

static int ep_add_pipe(np_ep *ep, np_pipe *p)
{
    if (ep->nipipes == ep->cap_ipipes) {
        int cap = ep->cap_ipipes ? ep->cap_ipipes * 2 : 4;
        np_pipe **n = realloc(ep->ipipes, (size_t)cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        ep->ipipes = n;
        ep->cap_ipipes = cap;
    }
    ep->ipipes[ep->nipipes++] = p;
    return 0;
}

static void ep_remove_pipe(np_ep *ep, np_pipe *p)
{
    for (int i = 0; i < ep->nipipes; i++) {
        if (ep->ipipes[i] == p) {
            ep->ipipes[i] = ep->ipipes[--ep->nipipes];
            return;
        }
    }
}

/* Drop a half from its endpoint's list together with the endpoint's reference. */
static void forget_half(np_pipe *p)
{
    if (p->ep)
        ep_remove_pipe(p->ep, p);
    p->ep = NULL;
    np_pipe_unref(p);
}

/*
 * Undo a pairing from either side: both halves stop sending and die. Each half holds a
 * reference on the other (so a peer pointer read under a socket lock is never dangling);
 * those go last.
 */
static void unpair(np_pipe *a, int broken_for_peer)
{
    np_pipe *b = a->peer;
    pthread_mutex_lock(&a->sock->lock);
    a->peer = NULL;
    pthread_mutex_unlock(&a->sock->lock);
    if (b) {
        pthread_mutex_lock(&b->sock->lock);
        b->peer = NULL;
        pthread_mutex_unlock(&b->sock->lock);
    }
    np_pipe_detach(a, 0);
    if (b)
        np_pipe_detach(b, broken_for_peer);
    forget_half(a);
    if (b) {
        forget_half(b);
        np_pipe_unref(b);
        np_pipe_unref(a);
    }
}

static void pair(np_ep *binder, np_ep *connector)
{
    np_sock *bs = binder->sock, *cs = connector->sock;
    if (!np_peer_compatible(bs->protocol, cs->protocol))
        return;
    np_pipe *a = np_pipe_new(bs, binder, NP_INPROC);
    np_pipe *b = np_pipe_new(cs, connector, NP_INPROC);
    if (!a || !b) {
        if (a)
            np_pipe_unref(a);
        if (b)
            np_pipe_unref(b);
        return;
    }
    a->outq = &b->inq;
    b->outq = &a->inq;
    a->out_limit = b->in_limit;  /* the receiver's NN_RCVBUF bounds what may be queued */
    b->out_limit = a->in_limit;
    a->peer = b;
    b->peer = a;
    if (np_pipe_attach(a) != 0) {
        a->peer = b->peer = NULL;
        np_pipe_unref(a);
        np_pipe_unref(b);
        return;
    }
    if (np_pipe_attach(b) != 0) {
        pthread_mutex_lock(&bs->lock);
        a->peer = NULL;
        pthread_mutex_unlock(&bs->lock);
        b->peer = NULL;
        np_pipe_detach(a, 0);
        np_pipe_unref(a);
        np_pipe_unref(b);
        return;
    }
    /* Each half references the other (so a peer pointer is never dangling) and is
     * referenced by its endpoint. */
    atomic_fetch_add(&a->refs, 1);
    atomic_fetch_add(&b->refs, 1);
    ep_add_pipe(binder, a);
    ep_add_pipe(connector, b);
    atomic_fetch_add(&bs->accepted, 1);
    atomic_fetch_add(&cs->established, 1);
    if (connector->nipipes == 1 && atomic_load(&cs->inprogress) > 0)
        atomic_fetch_sub(&cs->inprogress, 1);
}

static np_ep *find_bound(const char *name)
{
    for (reg_entry *e = bound_list; e; e = e->next)
        if (strcmp(e->ep->rest, name) == 0)
            return e->ep;
    return NULL;
}

static int reg_add(reg_entry **list, np_ep *ep)
{
    reg_entry *e = malloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->ep = ep;
    e->next = *list;
    *list = e;
    return 0;
}

static void reg_remove(reg_entry **list, np_ep *ep)
{
    for (reg_entry **pp = list; *pp; pp = &(*pp)->next) {
        if ((*pp)->ep == ep) {
            reg_entry *e = *pp;
            *pp = e->next;
            free(e);
            return;
        }
    }
}

int np_inproc_bind(np_ep *ep)
{
    if (find_bound(ep->rest))
        return -EADDRINUSE;
    int rc = reg_add(&bound_list, ep);
    if (rc)
        return rc;
    for (reg_entry *e = connect_list; e; e = e->next)
        if (strcmp(e->ep->rest, ep->rest) == 0)
            pair(ep, e->ep);
    return 0;
}

int np_inproc_connect(np_ep *ep)
{
    int rc = reg_add(&connect_list, ep);
    if (rc)
        return rc;
    atomic_fetch_add(&ep->sock->inprogress, 1);
    np_ep *binder = find_bound(ep->rest);
    if (binder)
        pair(binder, ep);
    return 0;
}

void np_inproc_stop(np_ep *ep)
{
    ep->stopping = 1;
    reg_remove(ep->bound ? &bound_list : &connect_list, ep);
    if (!ep->bound && ep->nipipes == 0 && atomic_load(&ep->sock->inprogress) > 0)
        atomic_fetch_sub(&ep->sock->inprogress, 1);
    while (ep->nipipes > 0)
        unpair(ep->ipipes[ep->nipipes - 1], 1);
    free(ep->ipipes);
    ep->ipipes = NULL;
    ep->cap_ipipes = 0;
}

/* In a forked child the parent's endpoints are gone; forget them (their memory is leaked on
 * purpose: it belongs to sockets the child can no longer use). */
void np_inproc_forget_after_fork(void)
{
    bound_list = NULL;
    connect_list = NULL;
}
