/*
 * inproc.c - inproc://name: a process-wide registry of bound and connecting endpoints.
 *
 * Connect-before-bind works: a connector waits in the registry and pairs with whichever
 * compatible socket binds the name, and again with the next one after that closes. A pairing
 * is two pipe halves; each half's outbound ring is the other half's inbound ring, so messages
 * move by reference. Everything here runs on the I/O thread, so the registry needs no lock.
 */
#include "transports/transport.h"

#include <stdlib.h>
#include <string.h>

/* Per pipe: the other half of the pairing (guarded by this pipe's socket lock). */
typedef struct inproc_pipe {
    np_pipe *peer;
} inproc_pipe;

/* Per endpoint: our halves of its pairings. */
typedef struct inproc_ep {
    np_pipe **pipes;
    int n, cap;
} inproc_ep;

typedef struct inproc_entry {
    np_ep *ep;
    struct inproc_entry *next;
} inproc_entry;

static inproc_entry *inproc_bound, *inproc_connecting;

static inline np_pipe *inproc_peer(np_pipe *p) { return ((inproc_pipe *)p->tdata)->peer; }
static inline void inproc_set_peer(np_pipe *p, np_pipe *peer)
{
    ((inproc_pipe *)p->tdata)->peer = peer;
}

static int inproc_ep_add_pipe(np_ep *ep, np_pipe *p)
{
    inproc_ep *ie = ep->tdata;
    if (ie->n == ie->cap) {
        int cap = ie->cap ? ie->cap * 2 : 4;
        np_pipe **n = realloc(ie->pipes, (size_t)cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        ie->pipes = n;
        ie->cap = cap;
    }
    ie->pipes[ie->n++] = p;
    return 0;
}

static void inproc_ep_remove_pipe(np_ep *ep, np_pipe *p)
{
    inproc_ep *ie = ep->tdata;
    for (int i = 0; i < ie->n; i++) {
        if (ie->pipes[i] == p) {
            ie->pipes[i] = ie->pipes[--ie->n];
            return;
        }
    }
}

/* Drop a half from its endpoint's list together with the endpoint's reference. */
static void inproc_forget_half(np_pipe *p)
{
    if (p->ep)
        inproc_ep_remove_pipe(p->ep, p);
    p->ep = NULL;
    np_pipe_unref(p);
}

/*
 * Undo a pairing from either side: both halves stop sending and die. Each half holds a
 * reference on the other (so a peer pointer read under a socket lock is never dangling);
 * those go last.
 */
static void inproc_unpair(np_pipe *a, int broken_for_peer)
{
    np_pipe *b = inproc_peer(a);
    pthread_mutex_lock(&a->sock->lock);
    inproc_set_peer(a, NULL);
    pthread_mutex_unlock(&a->sock->lock);
    if (b) {
        pthread_mutex_lock(&b->sock->lock);
        inproc_set_peer(b, NULL);
        pthread_mutex_unlock(&b->sock->lock);
    }
    np_pipe_detach(a, 0);
    if (b)
        np_pipe_detach(b, broken_for_peer);
    inproc_forget_half(a);
    if (b) {
        inproc_forget_half(b);
        np_pipe_unref(b);
        np_pipe_unref(a);
    }
}

static void inproc_pair(np_ep *binder, np_ep *connector)
{
    np_sock *bs = binder->sock, *cs = connector->sock;
    if (!np_sock_accepts_peer(bs, cs->protocol))
        return;
    np_pipe *a = np_pipe_new(bs, binder, binder->tran);
    np_pipe *b = np_pipe_new(cs, connector, connector->tran);
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
    inproc_set_peer(a, b);
    inproc_set_peer(b, a);
    if (np_pipe_attach(a) != 0) {
        inproc_set_peer(a, NULL);
        inproc_set_peer(b, NULL);
        np_pipe_unref(a);
        np_pipe_unref(b);
        return;
    }
    if (np_pipe_attach(b) != 0) {
        pthread_mutex_lock(&bs->lock);
        inproc_set_peer(a, NULL);
        pthread_mutex_unlock(&bs->lock);
        inproc_set_peer(b, NULL);
        np_pipe_detach(a, 0);
        np_pipe_unref(a);
        np_pipe_unref(b);
        return;
    }
    /* Each half references the other (so a peer pointer is never dangling) and is
     * referenced by its endpoint. */
    atomic_fetch_add(&a->refs, 1);
    atomic_fetch_add(&b->refs, 1);
    inproc_ep_add_pipe(binder, a);
    inproc_ep_add_pipe(connector, b);
    atomic_fetch_add(&bs->accepted, 1);
    atomic_fetch_add(&cs->established, 1);
    if (((inproc_ep *)connector->tdata)->n == 1 && atomic_load(&cs->inprogress) > 0)
        atomic_fetch_sub(&cs->inprogress, 1);
}

static np_ep *inproc_find_bound(const char *name)
{
    for (inproc_entry *e = inproc_bound; e; e = e->next)
        if (strcmp(e->ep->rest, name) == 0)
            return e->ep;
    return NULL;
}

static int inproc_register(inproc_entry **list, np_ep *ep)
{
    inproc_entry *e = malloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->ep = ep;
    e->next = *list;
    *list = e;
    return 0;
}

static void inproc_unregister(inproc_entry **list, np_ep *ep)
{
    for (inproc_entry **pp = list; *pp; pp = &(*pp)->next) {
        if ((*pp)->ep == ep) {
            inproc_entry *e = *pp;
            *pp = e->next;
            free(e);
            return;
        }
    }
}

static int inproc_bind(np_ep *ep)
{
    if (inproc_find_bound(ep->rest))
        return -EADDRINUSE;
    int rc = inproc_register(&inproc_bound, ep);
    if (rc)
        return rc;
    for (inproc_entry *e = inproc_connecting; e; e = e->next)
        if (strcmp(e->ep->rest, ep->rest) == 0)
            inproc_pair(ep, e->ep);
    return 0;
}

static int inproc_connect(np_ep *ep)
{
    int rc = inproc_register(&inproc_connecting, ep);
    if (rc)
        return rc;
    atomic_fetch_add(&ep->sock->inprogress, 1);
    np_ep *binder = inproc_find_bound(ep->rest);
    if (binder)
        inproc_pair(binder, ep);
    return 0;
}

static void inproc_ep_stop(np_ep *ep)
{
    inproc_ep *ie = ep->tdata;
    inproc_unregister(ep->bound ? &inproc_bound : &inproc_connecting, ep);
    if (!ep->bound && ie->n == 0 && atomic_load(&ep->sock->inprogress) > 0)
        atomic_fetch_sub(&ep->sock->inprogress, 1);
    while (ie->n > 0)
        inproc_unpair(ie->pipes[ie->n - 1], 1);
    free(ie->pipes);
    ie->pipes = NULL;
    ie->cap = 0;
}

/* In a forked child the parent's endpoints are gone; forget them (their memory is leaked on
 * purpose: it belongs to sockets the child can no longer use). */
static void inproc_after_fork(void)
{
    inproc_bound = NULL;
    inproc_connecting = NULL;
}

/* ---- pipe hooks: the outbound ring is the peer's inbound ring ---- */

static int inproc_pipe_send(np_pipe *p, np_msg *m)
{
    np_pipe *peer = inproc_peer(p);
    if (!peer)
        return -EAGAIN;
    m->pipe = peer->id;  /* the receiving half: the id its socket knows the pipe by */
    m->kind = 0;         /* no frames, so no frame kind arrives (as nanomsg's inproc) */
    if (!m->hdr_len)
        return NP_PIPE_QUEUE;  /* handed over by reference */
    /* The receiver parses headers out of the body, exactly as from the wire. */
    np_msg *flat = np_msg_flat_copy(m);
    if (!flat)
        return -ENOMEM;
    flat->pipe = peer->id;
    if (np_ring_push(p->outq, flat, np_msg_wire_len(flat)) != 0) {
        np_msg_free(flat);
        return -EAGAIN;
    }
    np_msg_free(m);
    np_sock_notify_in(peer->sock, 0);
    return 0;
}

static void inproc_pipe_kick_write(np_pipe *p)
{
    np_pipe *peer = inproc_peer(p);
    if (peer)
        np_sock_notify_in(peer->sock, 0);
}

/* Room was made in the sender's window: wake a sender blocked on it. */
static void inproc_pipe_kick_read(np_pipe *p)
{
    np_pipe *peer = inproc_peer(p);
    if (peer)
        np_sock_notify_out(peer->sock);
}

static int inproc_pipe_peer_asleep(np_pipe *p)
{
    np_pipe *peer = inproc_peer(p);
    return peer && !atomic_load(&peer->sock->rcv_efd.signalled);
}

const np_transport np_inproc_transport = {
    .scheme = "inproc",
    .ep_size = sizeof(inproc_ep),
    .ep_bind = inproc_bind,
    .ep_connect = inproc_connect,
    .ep_stop = inproc_ep_stop,
    .pipe_size = sizeof(inproc_pipe),
    .pipe_send = inproc_pipe_send,
    .pipe_kick_write = inproc_pipe_kick_write,
    .pipe_kick_read = inproc_pipe_kick_read,
    .pipe_peer_asleep = inproc_pipe_peer_asleep,
    .after_fork = inproc_after_fork,
};
