/*
 * sock.h - SP sockets, pipes, endpoints and contexts: the objects every layer shares.
 *
 * Locking (who holds what):
 *  - the socket table lock (table.c) guards the table and the holds; never held while
 *    waiting;
 *  - sock->lock guards the protocol state, the pipe array, options and the endpoint list;
 *    it is held only for short non-blocking work and never across a wait on the I/O thread;
 *  - a pipe's rings are lock-free single-producer/single-consumer queues (queue.h): the
 *    consumer of an inbound ring is whoever holds the owning socket's lock, the producer is
 *    the transport (see transports/transport.h);
 *  - endpoint and pipe creation/destruction runs on the I/O thread only (loop.h).
 */
#ifndef NP_SOCK_H
#define NP_SOCK_H

#include "core.h"
#include "core/loop.h"
#include "core/monitor.h"
#include "core/msg.h"
#include "core/protocol.h"
#include "core/queue.h"
#include "platform/efd.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct np_ep np_ep;
typedef struct np_transport np_transport;

/*
 * A context: an independent request state on one REQ/REP (or SURVEYOR/RESPONDENT) socket,
 * so that several threads or coroutines can have requests in flight at once. The wire
 * format is unchanged: contexts only decide which request id or backtrace a message uses.
 * Closed contexts stay allocated (marked closed) until the socket is freed, so a thread
 * still waiting on one never touches freed memory.
 */
struct np_ctx {
    int id;
    int closed;
    np_sock *sock;
    np_efd ready;    /* REQ: readable while this context's reply is waiting */
    void *state;     /* the protocol's per-context state */
    np_ctx *next;
};

/* One connection to one peer socket, whatever the transport. */
struct np_pipe {
    atomic_int refs;
    np_sock *sock;
    np_ep *ep;              /* endpoint that created it (NULL once detached) */
    uint32_t id;            /* 31-bit id used in REQ/REP and SURVEY backtraces */
    int sndprio, rcvprio;
    atomic_int dead;        /* set once the connection is gone: no more sends */
    int removed;            /* pipe_rm was called */
    np_ring inq;            /* messages from the peer, waiting for the protocol */
    np_ring *outq;          /* where np_pipe_send queues (set by the transport) */
    size_t out_limit;       /* byte limit for outq (SNDBUF, or the peer's RCVBUF) */
    size_t in_limit;        /* byte limit for inq (RCVBUF) */
    const np_transport *tran;
    void *tdata;            /* the transport's per-pipe state (tran->pipe_size bytes) */
    /* Protocol scratch space. */
    void *proto_data;
    int proto_flag;
    /* Monitor events: the endpoint it came through and the peer's address as a URL. */
    int ep_id;
    char remote[NP_SOCKADDR_MAX];
};

/* An endpoint created by bind or connect. Owned by its socket; used on the I/O thread only. */
struct np_ep {
    np_sock *sock;
    int id;
    int bound;
    const np_transport *tran;
    void *tdata;            /* the transport's per-endpoint state (tran->ep_size bytes) */
    char addr[NP_SOCKADDR_MAX];   /* the URL as given */
    const char *rest;       /* the part after "scheme://" */
    char url[NP_SOCKADDR_MAX];    /* resolved URL ("" until the transport sets it) */
    /* socket options copied when the endpoint was made */
    int sndprio, rcvprio, ipv4only;
    int reconnect_ivl, reconnect_ivl_max;
    int last_error;         /* errno of the last failed attempt, 0 after a success */
    int stopping;
    np_ep *next;            /* socket's endpoint list */
};

/* One transport-level option value of a socket (see np_tran_option). */
typedef struct np_topt {
    int level, option;
    size_t len;
    struct np_topt *next;
    unsigned char value[];
} np_topt;

#define NP_NSTATS 16

struct np_sock {
    pthread_mutex_t lock;
    atomic_int refs;
    int id;
    int domain;
    int protocol;
    const np_proto_ops *ops;
    void *proto;
    np_efd rcv_efd, snd_efd;
    np_loop_task ready_task;  /* re-evaluate readiness on the I/O thread (ready.c) */
    int closing;          /* nn_close started: new calls get EBADF */
    int holds;            /* calls in progress (guarded by the table lock) */
    pthread_cond_t holds_cond;
    /* pipes attached (including dead ones that still hold inbound messages) */
    np_pipe **pipes;
    int npipes, cap_pipes;
    int fq_cursor;        /* round-robin start for fair queueing */
    int lb_cursor;        /* round-robin start for load balancing */
    unsigned pipes_gen;   /* bumped whenever the pipe array changes */
    unsigned prio_gen;    /* pipes_gen the two minimums below were computed at */
    int min_sndprio, min_rcvprio;  /* best priorities present: a scan stops at one */
    int64_t last_send_us; /* previous send to any pipe (stream burst detection) */
    np_ep *eps;
    int next_eid;
    np_ctx *ctxs;
    int next_ctx_id;
    atomic_int local_pipes;  /* attached pipes to sockets of this process (NP_SEND_GIL_HELD) */
    uint32_t next_pipe_id;
    /* connection-event readers (monitor.c) */
    pthread_mutex_t mon_lock;
    struct np_monitor *monitors;
    atomic_int nmonitors;
    /* options */
    int linger, sndbuf, rcvbuf, sndtimeo, rcvtimeo, reconnect_ivl, reconnect_ivl_max;
    int sndprio, rcvprio, ipv4only, rcvmaxsize, maxttl;
    char name[NP_SOCKET_NAME_MAX + 1];
    np_topt *topts;       /* transport-level options set on this socket */
    /* statistics (NN_STAT_*) */
    atomic_uint_least64_t established, accepted, dropped, broken, connect_errors,
        accept_errors, inprogress, msgs_sent, msgs_recv, bytes_sent, bytes_recv;
    int64_t current_snd_priority;
};

/* ---- readiness and references (ready.c) ---- */

/* Re-evaluate the socket's readiness and set NN_RCVFD / NN_SNDFD. Call with sock->lock. */
void np_sock_update_ready(np_sock *s);

/*
 * A pipe of s received a message / freed room. Called by producers that do not hold
 * s->lock. `may_lock`: the caller holds no socket lock, so s->lock may be taken here.
 */
void np_sock_notify_in(np_sock *s, int may_lock);
/* Set up the socket's readiness command (once, when the socket is built). */
void np_sock_ready_init(np_sock *s);
void np_sock_notify_out(np_sock *s);

/* Take / drop a reference on a socket's memory. */
void np_sock_ref(np_sock *s);
void np_sock_unref(np_sock *s);

/* A pseudo-random 32-bit number for initial request, survey and pipe ids (random.c). */
uint32_t np_random32(void);
/* In a forked child: reseed, so the child does not repeat the parent's ids. */
void np_random_reset(void);

#endif
