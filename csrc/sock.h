/*
 * sock.h - SP sockets, pipes and endpoints: the objects every layer shares.
 *
 * Locking (who holds what):
 *  - the global table lock guards the socket table and holds; never held while waiting;
 *  - sock->lock guards the protocol state, the pipe array, options and endpoints list;
 *    it is held only for short non-blocking work and never across a wait on the I/O thread;
 *  - a pipe's rings are lock-free single-producer/single-consumer queues (queue.h): the
 *    consumer of an inbound ring is whoever holds the owning socket's lock, the producer is
 *    the I/O thread (tcp/ipc) or the peer socket's lock holder (inproc);
 *  - endpoint and pipe creation/destruction runs on the I/O thread only (loop.h).
 */
#ifndef NP_SOCK_H
#define NP_SOCK_H

#include "core.h"
#include "efd.h"
#include "loop.h"
#include "monitor.h"
#include "msg.h"
#include "queue.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct np_sock np_sock;
typedef struct np_pipe np_pipe;
typedef struct np_ep np_ep;
typedef struct np_stream np_stream;

#define NP_CAN_SEND 1
#define NP_CAN_RECV 2

typedef struct np_ctx np_ctx;

/*
 * A context: an independent request state on one REQ/REP (or RESPONDENT) socket, so that
 * several threads or coroutines can have requests in flight at once (as NNG has). The wire
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

/* A protocol: one table per socket type (cooked and raw are separate tables). */
typedef struct np_proto_ops {
    int protocol;     /* NN_* id sent in the handshake */
    int raw;          /* 1 for the AF_SP_RAW variant */
    int dirs;         /* NP_CAN_SEND | NP_CAN_RECV */
    int opt_level;    /* protocol option level (its own id), 0 if none */
    /* An arriving message does not by itself make recv possible (cooked REQ and SURVEYOR
     * match ids): arrivals go through can_recv under the lock instead of a bare signal. */
    int recv_filters;
    /* send can block for lack of room in a pipe (PAIR, PUSH, raw REQ): room freed in a pipe
     * may make the socket writable. Other types never block or depend on their state. */
    int send_blocks;
    size_t state_size;
    int (*init)(np_sock *s);
    void (*fini)(np_sock *s);
    /* Called on the I/O thread when the socket closes: cancel timers (may be NULL). */
    void (*stop)(np_sock *s);
    /* A new pipe is attached; return non-zero to refuse it (PAIR keeps one peer). */
    int (*pipe_add)(np_sock *s, np_pipe *p);
    /* The pipe can no longer be sent to (it may still hold unread inbound messages). */
    void (*pipe_rm)(np_sock *s, np_pipe *p);
    /* Non-blocking send: 0 (msg consumed), -EAGAIN (would block, msg kept) or -errno. */
    int (*send)(np_sock *s, np_msg *m);
    /* Non-blocking receive: 0 and *m, -EAGAIN or -errno (EFSM, ETIMEDOUT...). */
    int (*recv)(np_sock *s, np_msg **m);
    /* Would send / recv not block now (table 4.3 of NANOMSG.md). */
    int (*can_send)(np_sock *s);
    int (*can_recv)(np_sock *s);
    int (*setopt)(np_sock *s, int opt, const void *val, size_t len);
    int (*getopt)(np_sock *s, int opt, void *val, size_t *len);
    /* Contexts (NULL ctx_init: not supported). ctx_own_efd: each context has its own
     * readiness (REQ replies); otherwise all contexts wait on the socket's NN_RCVFD. */
    size_t ctx_size;
    int ctx_own_efd;
    int (*ctx_init)(np_sock *s, np_ctx *c);
    void (*ctx_fini)(np_sock *s, np_ctx *c);
    int (*ctx_send)(np_sock *s, np_ctx *c, np_msg *m);
    int (*ctx_recv)(np_sock *s, np_ctx *c, np_msg **m);
    int (*ctx_can_recv)(np_sock *s, np_ctx *c);
} np_proto_ops;

/* One connection to one peer socket, whatever the transport. */
struct np_pipe {
    atomic_int refs;
    np_sock *sock;
    np_ep *ep;              /* endpoint that created it (NULL once detached) */
    uint32_t id;            /* 31-bit id used in REQ/REP and SURVEY backtraces */
    int sndprio, rcvprio;
    int transport;          /* NP_INPROC / NP_IPC / NP_TCP */
    atomic_int dead;        /* set once the connection is gone: no more sends */
    int removed;            /* pipe_rm was called */
    np_ring inq;            /* messages from the peer, waiting for the protocol */
    np_ring own_outq;       /* stream transports: messages waiting for the I/O thread */
    np_ring *outq;          /* &own_outq, or the inproc peer's inq */
    size_t out_limit;       /* byte limit for outq (SNDBUF, or the inproc peer's RCVBUF) */
    size_t in_limit;        /* byte limit for inq (RCVBUF) */
    np_pipe *peer;          /* inproc: the other half (guarded by this socket's lock) */
    np_stream *stream;      /* tcp/ipc: connection state owned by the I/O thread */
    /* stream: who writes to the descriptor now: 0 nobody, 1 the I/O thread (it has been
     * asked to flush), 2 a caller writing directly (it holds the socket's lock). */
    atomic_int write_scheduled;
    int fd;                 /* stream descriptor; valid while !dead (read under sock->lock) */
    size_t partial;         /* bytes of the first queued message already written directly */
    int64_t last_send_us;   /* when the previous message was queued (burst detection) */
    atomic_int read_stalled;    /* stream: reading paused because inq is full */
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
    int transport;          /* NP_INPROC / NP_IPC / NP_TCP */
    char addr[NP_SOCKADDR_MAX];   /* full URL */
    const char *rest;       /* the part after "scheme://" */
    int sndprio, rcvprio, ipv4only;
    int reconnect_ivl, reconnect_ivl_max;
    int backoff_n;
    int last_error;
    int port;               /* bound tcp/ws: the port really listened on (for :0) */
    int stopping;
    np_ioh listen_ioh;      /* tcp/ipc bound: listening socket */
    np_ioh conn_ioh;        /* tcp/ipc connecting: attempt in progress */
    np_timer retry_timer;
    int has_live_conn;      /* connecting endpoint currently has a connection */
    np_stream *streams;     /* tcp/ipc connections made through this endpoint */
    np_pipe **ipipes;       /* inproc: our halves of the pairings */
    int nipipes, cap_ipipes;
    np_ep *next;            /* socket's endpoint list */
};

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
    int closing;          /* nn_close started: new calls get EBADF */
    int holds;            /* calls in progress (guarded by the table lock) */
    pthread_cond_t holds_cond;
    /* pipes attached (including dead ones that still hold inbound messages) */
    np_pipe **pipes;
    int npipes, cap_pipes;
    int fq_cursor;        /* round-robin start for fair queueing */
    int lb_cursor;        /* round-robin start for load balancing */
    np_ep *eps;
    int next_eid;
    np_ctx *ctxs;
    int next_ctx_id;
    atomic_int inproc_pipes;  /* attached inproc pipes (see NP_SEND_GIL_HELD) */
    uint32_t next_pipe_id;
    /* connection-event readers (monitor.c) */
    pthread_mutex_t mon_lock;
    struct np_monitor *monitors;
    atomic_int nmonitors;
    /* options */
    int linger, sndbuf, rcvbuf, sndtimeo, rcvtimeo, reconnect_ivl, reconnect_ivl_max;
    int sndprio, rcvprio, ipv4only, rcvmaxsize, maxttl, tcp_nodelay;
    char name[NP_SOCKET_NAME_MAX + 1];
    /* statistics (NN_STAT_*) */
    atomic_uint_least64_t established, accepted, dropped, broken, connect_errors,
        accept_errors, inprogress, msgs_sent, msgs_recv, bytes_sent, bytes_recv;
    int64_t current_snd_priority;
};

/* Protocol tables, one per socket type (protocols/). */
const np_proto_ops *np_proto_find(int domain, int protocol);

/* Re-evaluate the socket's readiness and set NN_RCVFD / NN_SNDFD. Call with sock->lock. */
void np_sock_update_ready(np_sock *s);

/*
 * A pipe of s received a message / freed room. Called by producers that do not hold
 * s->lock. `may_lock`: the caller holds no socket lock, so s->lock may be taken here.
 */
void np_sock_notify_in(np_sock *s, int may_lock);
void np_sock_notify_out(np_sock *s);

/* Hold socket `id` for the length of a call (0 or -EBADF/-ETERM), and let it go. */
int np_sock_hold(int id, np_sock **out);
void np_sock_release(np_sock *s);

/* Take / drop a reference on a socket's memory. */
void np_sock_ref(np_sock *s);
void np_sock_unref(np_sock *s);

/* Pipe lifecycle (I/O thread). attach returns 0 or -errno (refused). */
np_pipe *np_pipe_new(np_sock *s, np_ep *ep, int transport);
int np_pipe_attach(np_pipe *p);
/* The connection is gone: mark dead and tell the protocol. Safe to call twice. */
void np_pipe_detach(np_pipe *p, int broken);
void np_pipe_unref(np_pipe *p);

/* Pipe data movement (see the ring ownership rules above). */
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

/* Endpoints (endpoint.c), transports (transports/). */
int np_ep_bind_or_connect(np_sock *s, const char *addr, int bind);
void np_ep_stop_all(np_sock *s);
int np_ep_shutdown(np_sock *s, int eid);

#endif
