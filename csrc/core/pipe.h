/*
 * pipe.h - pipes: one connection between two SP sockets, whatever carries it (the transport
 * behind p->tran). Lifecycle functions run on the I/O thread; data movement runs under the
 * owning socket's lock (see the ring rules in sock.h).
 */
#ifndef NP_PIPE_H
#define NP_PIPE_H

#include "core/sock.h"

/* A pipe of s made through ep (may be NULL) by transport t, with t->pipe_size zeroed bytes
 * at p->tdata. NULL when out of memory. */
np_pipe *np_pipe_new(np_sock *s, np_ep *ep, const np_transport *t);
/* Offer the pipe to the protocol. 0, or -errno (refused: the caller unrefs it). */
int np_pipe_attach(np_pipe *p);
/* The connection is gone: mark dead and tell the protocol. Safe to call twice. */
void np_pipe_detach(np_pipe *p, int broken);
void np_pipe_ref(np_pipe *p);
void np_pipe_unref(np_pipe *p);

static inline int np_pipe_writable(np_pipe *p)
{
    return !atomic_load_explicit(&p->dead, memory_order_acquire) &&
           np_ring_has_room(p->outq, p->out_limit);
}
static inline int np_pipe_readable(np_pipe *p)
{
    return np_ring_count(&p->inq) > 0;
}
/* Queue m on the pipe (caller holds sock->lock). 0, or -EAGAIN when it is not writable. */
int np_pipe_send(np_pipe *p, np_msg *m);
/* Take the next inbound message (caller holds sock->lock), or NULL. */
np_msg *np_pipe_recv(np_pipe *p);

/* Forget dead pipes with nothing left to read (sock->lock held). */
void np_sock_reap(np_sock *s);
/* The live pipe with this id (sock->lock held), or NULL. */
np_pipe *np_pipe_by_id(np_sock *s, uint32_t id);

#endif
