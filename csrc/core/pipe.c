/*
 * pipe.c - pipes: the generic half of a connection. Where outbound messages go and how the
 * far side learns about them is the transport's business (p->tran hooks); this file keeps
 * the socket's pipe array, the protocol's view (attach/detach) and the inbound ring.
 */
#include "core/pipe.h"

#include "transports/transport.h"

#include <stdlib.h>
#include <string.h>

#define NP_PIPE_RING_SLOTS 4096

np_pipe *np_pipe_new(np_sock *s, np_ep *ep, const np_transport *t)
{
    /* The transport's state follows the pipe in the same block, pointer-aligned. */
    size_t head = (sizeof(np_pipe) + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
    np_pipe *p = calloc(1, head + t->pipe_size);
    if (!p)
        return NULL;
    if (np_ring_init(&p->inq, NP_PIPE_RING_SLOTS) != 0) {
        free(p);
        return NULL;
    }
    atomic_init(&p->refs, 1);
    atomic_init(&p->dead, 0);
    p->sock = s;
    np_sock_ref(s);
    p->ep = ep;
    p->tran = t;
    p->tdata = t->pipe_size ? (char *)p + head : NULL;
    if (ep) {
        /* Stream transports replace this with the peer's own address. */
        p->ep_id = ep->id;
        memcpy(p->remote, ep->url[0] ? ep->url : ep->addr, sizeof(p->remote));
    }
    pthread_mutex_lock(&s->lock);
    p->sndprio = ep ? ep->sndprio : s->sndprio;
    p->rcvprio = ep ? ep->rcvprio : s->rcvprio;
    p->out_limit = (size_t)s->sndbuf;
    p->in_limit = (size_t)s->rcvbuf;
    pthread_mutex_unlock(&s->lock);
    return p;
}

static void pipe_drain_ring(np_ring *r)
{
    if (!r->slots)
        return;
    np_msg *m;
    while ((m = np_ring_peek(r)) != NULL) {
        np_ring_pop(r, np_msg_wire_len(m));
        np_msg_free(m);
    }
    np_ring_fini(r);
}

void np_pipe_ref(np_pipe *p) { atomic_fetch_add(&p->refs, 1); }

void np_pipe_unref(np_pipe *p)
{
    if (atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    pipe_drain_ring(&p->inq);
    if (p->tran->pipe_fini)
        p->tran->pipe_fini(p);
    np_sock_unref(p->sock);
    free(p);
}

static int pipe_array_append(np_sock *s, np_pipe *p)
{
    if (s->npipes == s->cap_pipes) {
        int cap = s->cap_pipes ? s->cap_pipes * 2 : 8;
        np_pipe **n = realloc(s->pipes, (size_t)cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->pipes = n;
        s->cap_pipes = cap;
    }
    s->pipes[s->npipes++] = p;
    s->pipes_gen++;
    return 0;
}

/* Drop p from the socket's array (sock->lock held); the array's reference goes with it. */
static void pipe_array_remove(np_sock *s, np_pipe *p)
{
    for (int i = 0; i < s->npipes; i++) {
        if (s->pipes[i] == p) {
            s->pipes[i] = s->pipes[--s->npipes];
            s->pipes_gen++;
            np_pipe_unref(p);
            return;
        }
    }
}

int np_pipe_attach(np_pipe *p)
{
    np_sock *s = p->sock;
    pthread_mutex_lock(&s->lock);
    if (s->closing) {
        pthread_mutex_unlock(&s->lock);
        return -EBADF;
    }
    p->id = s->next_pipe_id++ & 0x7fffffffu;
    if (p->id == 0)  /* 0 means "no connection" in monitor events and Message.pipe */
        p->id = s->next_pipe_id++ & 0x7fffffffu;
    if (s->ops->pipe_add(s, p) != 0) {
        pthread_mutex_unlock(&s->lock);
        return -EISCONN;
    }
    if (pipe_array_append(s, p) != 0) {
        s->ops->pipe_rm(s, p);
        pthread_mutex_unlock(&s->lock);
        return -ENOMEM;
    }
    atomic_fetch_add(&p->refs, 1);
    if (p->tran->pipe_peer_asleep)
        atomic_fetch_add(&s->local_pipes, 1);
    np_sock_update_ready(s);
    np_monitor_pipe(p, NP_EV_CONNECTED);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void np_pipe_detach(np_pipe *p, int broken)
{
    np_sock *s = p->sock;
    pthread_mutex_lock(&s->lock);
    if (atomic_exchange(&p->dead, 1)) {
        /* Already dead: only forget it once its inbound messages are gone. */
        if (np_ring_count(&p->inq) == 0 || s->closing)
            pipe_array_remove(s, p);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    int attached = 0;
    for (int i = 0; i < s->npipes; i++)
        attached |= s->pipes[i] == p;
    if (attached) {
        if (!p->removed) {
            s->ops->pipe_rm(s, p);
            p->removed = 1;
            if (p->tran->pipe_peer_asleep)
                atomic_fetch_sub(&s->local_pipes, 1);
        }
        np_monitor_pipe(p, NP_EV_DISCONNECTED);
        if (broken)
            atomic_fetch_add(&s->broken, 1);
        else
            atomic_fetch_add(&s->dropped, 1);
        /* Messages already received stay readable until taken (nothing is lost). */
        if (np_ring_count(&p->inq) == 0 || s->closing)
            pipe_array_remove(s, p);
    }
    np_sock_update_ready(s);
    pthread_mutex_unlock(&s->lock);
}

void np_sock_reap(np_sock *s)
{
    for (int i = 0; i < s->npipes; i++) {
        np_pipe *p = s->pipes[i];
        if (atomic_load(&p->dead) && np_ring_count(&p->inq) == 0) {
            pipe_array_remove(s, p);
            i--;
        }
    }
}

np_pipe *np_pipe_by_id(np_sock *s, uint32_t id)
{
    for (int i = 0; i < s->npipes; i++)
        if (s->pipes[i]->id == id && !atomic_load(&s->pipes[i]->dead))
            return s->pipes[i];
    return NULL;
}

int np_pipe_send(np_pipe *p, np_msg *m)
{
    if (!np_pipe_writable(p))
        return -EAGAIN;
    const np_transport *t = p->tran;
    if (t->pipe_send) {
        int rc = t->pipe_send(p, m);
        if (rc != NP_PIPE_QUEUE)
            return rc;
    }
    if (np_ring_push(p->outq, m, np_msg_wire_len(m)) != 0)
        return -EAGAIN;
    t->pipe_kick_write(p);
    return 0;
}

np_msg *np_pipe_recv(np_pipe *p)
{
    np_msg *m = np_ring_peek(&p->inq);
    if (!m)
        return NULL;
    np_ring_pop(&p->inq, np_msg_wire_len(m));
    p->tran->pipe_kick_read(p);
    return m;
}
