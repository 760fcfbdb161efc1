/*
 * transport.h - the contract between the core and a transport, and the core functions a
 * transport may call. A transport is one file in csrc/transports/ defining a `np_transport`
 * table, plus one line in transports/registry.c; the core never names a transport.
 *
 * Objects a transport deals with (core/sock.h):
 *  - np_ep, an endpoint: made by nn_bind / nn_connect. The core allocates it with
 *    `ep_size` zeroed bytes of transport state at ep->tdata, and frees both after ep_stop.
 *  - np_pipe, one connection with one peer socket: the transport makes it (np_pipe_new,
 *    with `pipe_size` zeroed bytes at p->tdata that live as long as the pipe, which may
 *    outlive the connection while the socket still reads queued messages), attaches it
 *    (np_pipe_attach), and detaches it when the connection is gone (np_pipe_detach).
 *    Inbound: the transport pushes onto p->inq (it is the ring's only producer) and calls
 *    np_sock_notify_in. Outbound: np_pipe_send (core) runs the pipe_send hook, or queues
 *    the message on p->outq, which the transport must point at a ring it consumes.
 *
 * Threads and locks: "I/O thread" means the one thread running core/loop.h; everything that
 * creates or destroys endpoints, pipes and connections runs there, so those never race.
 * "sock->lock" is the owning socket's lock. No hook may block.
 */
#ifndef NP_TRANSPORT_H
#define NP_TRANSPORT_H

#include "core/loop.h"
#include "core/pipe.h"
#include "core/sock.h"

#include <stdio.h>

/* Kinds of transport-level socket options. The core stores their values per socket
 * (np_topt_* below) and validates them by kind; it never interprets them. */
enum {
    NP_TOPT_INT = 1,   /* an int in [min, max]; `def` when never set */
    NP_TOPT_BLOB,      /* up to `max` bytes, opaque; empty when never set */
    NP_TOPT_IGNORED,   /* accepted (an int or more) and ignored; not readable (nanomsg's
                        * Windows-only options) */
};

typedef struct np_tran_option {
    int level;    /* a transport level (NN_TCP, NN_WS...) or a private one (core.h) */
    int option;
    int kind;
    int min, max; /* INT: the allowed range; BLOB: max = the longest value */
    int def;      /* INT: the value of a socket that never set it */
} np_tran_option;

/* Return value of pipe_send: "not taken here: queue m on p->outq, then kick_write". */
#define NP_PIPE_QUEUE 1

typedef struct np_transport {
    const char *scheme;   /* the URL scheme without "://": "tcp", "ws", "tls+tcp"... */

    /* ---- endpoints: all on the I/O thread, no lock held ---- */
    size_t ep_size;
    /* Parse ep->rest and start listening. 0, or -errno reported by nn_bind (EINVAL,
     * EADDRINUSE, ENODEV...). May record the real address with np_ep_set_url. */
    int (*ep_bind)(np_ep *ep);
    /* Check ep->rest (syntax errors are reported by nn_connect) and start connecting;
     * later failures are retried with the endpoint's reconnect interval, not reported. */
    int (*ep_connect)(np_ep *ep);
    /* Stop everything made through ep: listener, attempts, timers, and every pipe (detach
     * them). Free what ep->tdata owns; the core frees the block itself after the current
     * batch of events. Called once. */
    void (*ep_stop)(np_ep *ep);

    /* ---- pipes ---- */
    size_t pipe_size;
    /*
     * Direct send (optional). Caller's thread, sock->lock held, after the core checked
     * np_pipe_writable. Returns 0 (m taken: written or queued by the transport), -EAGAIN
     * (not taken: the pipe cannot accept it now) or NP_PIPE_QUEUE (queue it normally).
     */
    int (*pipe_send)(np_pipe *p, np_msg *m);
    /* A message was queued on p->outq. Caller's thread, sock->lock held: post work to the
     * I/O thread, do not write from here. */
    void (*pipe_kick_write)(np_pipe *p);
    /* The socket took a message from p->inq (sock->lock held): room for more, resume
     * reading if it was paused. Runs on every receive: keep it to a flag test. */
    void (*pipe_kick_read)(np_pipe *p);
    /* Outbound bytes not yet handed to the kernel (NN_LINGER waits on it). sock->lock
     * held; NULL: never. */
    int (*pipe_pending)(np_pipe *p);
    /* The receiving end is a thread of this process asleep on its readiness (see
     * NP_SEND_GIL_HELD in core.h). sock->lock held; NULL for transports to other
     * processes. */
    int (*pipe_peer_asleep)(np_pipe *p);
    /* Pre-framed sends (optional; caller's thread, sock->lock held): write the frame
     * header of a payload of len bytes into out and return its length (at most 16), or 0
     * when this pipe does not take messages whose body is already whole frames (np_msg's
     * `framed`, several small messages copied back to back by the batch send). */
    size_t (*pipe_frame_hdr)(np_pipe *p, uint8_t *out, uint64_t len);
    /*
     * Direct receive (optional; all three or none). A caller about to sleep until this pipe
     * has a message may read the connection itself, on its own thread, instead of the I/O
     * thread reading and then waking it. One reader at a time: while a caller owns the read
     * side, the I/O thread neither watches nor reads the connection.
     * pipe_read_begin: sock->lock held, p attached and not dead. Take the read side and
     *   return the descriptor to poll for input, or -1 (not now: the I/O thread is reading,
     *   another caller owns it, the connection cannot be read from outside the I/O thread).
     * pipe_read_some: the owner, no lock held. Read what has arrived and push complete
     *   messages on p->inq without notifying anyone (the caller takes them next). Returns
     *   how many were pushed (0: nothing yet, poll again), or -1: the connection is closed
     *   or broken (the I/O thread closes it); stop reading and end.
     * pipe_read_end: the owner, sock->lock held again: give the read side back to the I/O
     *   thread, which reads on if bytes are left. The descriptor may be closed after this.
     */
    int (*pipe_read_begin)(np_pipe *p);
    int (*pipe_read_some)(np_pipe *p);
    void (*pipe_read_end)(np_pipe *p);
    /* The last reference to the pipe went (any thread, no lock): free what p->tdata owns. */
    void (*pipe_fini)(np_pipe *p);

    /* ---- process ---- */
    /* In a child after fork(), before any other call: forget process-wide state of the
     * parent (its threads are gone). May be NULL. */
    void (*after_fork)(void);

    /* ---- options: a table ended by an entry with level 0 (may be NULL) ---- */
    const np_tran_option *options;
} np_transport;

/* ---- the registry (transports/registry.c) ---- */

/* The transport for a scheme of `len` bytes, or NULL. */
const np_transport *np_transport_find(const char *scheme, size_t len);
/* The definition of a transport-level option; *level_known says whether any transport
 * defines options at that level. NULL when the option is unknown. */
const np_tran_option *np_transport_option(int level, int option, int *level_known);
/* Run every transport's after_fork hook. */
void np_transports_after_fork(void);

/* ---- what transports call in the core ---- */

/* Endpoints: record the resolved address (e.g. the kernel's port after binding port 0). */
static inline void np_ep_set_url(np_ep *ep, const char *url)
{
    snprintf(ep->url, sizeof(ep->url), "%s", url);
}

/* Connection events for monitors (core/monitor.h; I/O thread, no lock needed):
 *   np_ep_report_failure(ep, NP_EV_CONNECT_FAILED / NP_EV_ACCEPT_FAILED /
 *                        NP_EV_HANDSHAKE_FAILED, fd or -1)
 * reports a failed dial, accept or handshake (the stream engine already does for transports
 * built on it); np_format_peer(ep, fd, buf, cap) writes a connection's peer as a URL (store
 * it in p->remote before np_pipe_attach, which reports "connected" with it); and
 * np_ep_note_bound_fd(ep, fd) records the real URL of a bind to port 0 (np_stream_bind
 * does it for stream transports). */

/* Transport option values of a socket (core/topt.c; they take sock->lock: call them
 * without it). An INT option never set reads as `def` (pass the definition's). */
int np_topt_int(np_sock *s, int level, int option, int def);
/* Copy a BLOB option into buf (at most cap bytes). Returns its full length (0 if unset). */
size_t np_topt_blob(np_sock *s, int level, int option, void *buf, size_t cap);

/* Would this socket talk to a peer speaking `protocol` (the protocol's peer rule)? */
int np_sock_accepts_peer(np_sock *s, int protocol);

#endif
