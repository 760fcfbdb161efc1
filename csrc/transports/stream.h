/*
 * stream.h - the engine shared by transports that carry SP over a connected byte stream
 * (tcp, ipc, and those that wrap one: TLS, WebSocket): accept, connect with reconnect
 * backoff, an optional upgrade step (TLS handshake, HTTP upgrade), the SP handshake, and the
 * framed message pump with coalesced writes and direct writes from the caller's thread.
 *
 * A stream transport fills a `np_stream_ops` (what differs: addresses, descriptor options,
 * and optionally its own byte I/O, upgrade and framing) and an `np_transport` whose
 * endpoint hooks call np_stream_bind / np_stream_connect with it and whose pipe hooks are
 * NP_STREAM_PIPE_HOOKS. Everything here runs on the I/O thread unless said otherwise.
 */
#ifndef NP_STREAM_H
#define NP_STREAM_H

#include "transports/frame.h"
#include "transports/transport.h"

#include <sys/types.h>
#include <sys/uio.h>

typedef struct np_stream np_stream;

#define NP_STREAM_HDR_MAX 16  /* the longest frame header a framing may write */

/*
 * A framing other than SP's length prefix (a WebSocket frame per message, say). All on the
 * I/O thread, for one connection at a time.
 */
typedef struct np_stream_framing {
    /* Write the header of the frame carrying message m (payload_len bytes: its header and
     * body) into out (at most NP_STREAM_HDR_MAX bytes); return its length. */
    size_t (*encode_hdr)(np_stream *st, uint8_t *out, uint64_t payload_len, const np_msg *m);
    /* Optional: rewrite the payload bytes of the frame whose header was just encoded
     * (`offset` counts from the payload's start), e.g. WebSocket client masking. With it,
     * payloads are always copied before writing, never sent from the caller's buffer. */
    void (*filter)(np_stream *st, uint8_t *bytes, size_t n, uint64_t offset);
    /* Consume up to len received bytes; when they complete a message, set *out (owned by
     * the caller). Return the bytes consumed (>= 0) or -errno to close the connection.
     * Must honour the socket's NN_RCVMAXSIZE (st->sock->rcvmaxsize) before allocating. */
    ssize_t (*decode)(np_stream *st, const uint8_t *buf, size_t len, np_msg **out);
} np_stream_framing;

/* Return value of an upgrade step: 0 done; NP_IO_IN / NP_IO_OUT (or both): call again when
 * the descriptor is ready for that; -errno: close the connection. */
typedef int (*np_stream_upgrade_fn)(np_stream *st, uint32_t events);

typedef struct np_stream_ops {
    int ipc;   /* SP framing variant: a type byte before the length (ipc://) */
    /* Addresses (ep->rest). listen: a bound, listening, non-blocking descriptor or -errno;
     * check_connect: syntax only (what nn_connect reports); start_connect: a descriptor
     * with a non-blocking connect in progress, or -errno; unlisten: the bound endpoint
     * goes away (ipc removes its socket file). */
    int (*listen)(np_ep *ep);
    int (*check_connect)(np_ep *ep);
    int (*start_connect)(np_ep *ep);
    void (*unlisten)(np_ep *ep);
    /* Descriptor options of a new connection (TCP_NODELAY, keep-alive...). May be NULL. */
    void (*tune)(np_sock *s, int fd);

    /* Per-connection state: conn_size zeroed bytes at st->tdata; conn_fini frees what it
     * owns when the connection closes (conn_init may be NULL; non-zero refuses it). */
    size_t conn_size;
    int (*conn_init)(np_stream *st);
    void (*conn_fini)(np_stream *st);
    /* Runs before the SP handshake, once per I/O-thread event, until it returns 0 (see
     * np_stream_upgrade_fn); the handshake timeout covers it. May be NULL. */
    np_stream_upgrade_fn upgrade;
    /* The upgrade step has already learnt the peer's protocol (stored with
     * np_stream_set_peer): skip the 8-byte SP handshake (WebSocket negotiates it in HTTP). */
    int upgrade_negotiates_peer;

    /* Byte I/O, NULL = the descriptor itself. Same results as recv()/sendmsg(): bytes,
     * 0 for an orderly close (read), or -1 with errno (EAGAIN: wait for readiness). With
     * either set, every write happens on the I/O thread (no direct writes from callers,
     * which would race with reads inside a record layer). */
    ssize_t (*read)(np_stream *st, void *buf, size_t len);
    ssize_t (*writev)(np_stream *st, const struct iovec *iov, int iovcnt);
    /* read may keep bytes the descriptor no longer shows (a TLS record layer): the engine
     * reads until EAGAIN instead of stopping at the first short read. */
    int read_buffers;

    const np_stream_framing *framing;   /* NULL: SP's length prefix */
} np_stream_ops;

/* A connection. Transports may read ep, sock, fd, outgoing and use tdata. */
struct np_stream {
    np_ioh ioh;             /* ioh.fd is the descriptor */
    np_ep *ep;
    np_sock *sock;
    const np_stream_ops *ops;
    void *tdata;            /* the transport's per-connection state */
    np_pipe *pipe;
    int state;
    int outgoing;           /* made by connect (1) or accept (0) */
    int peer_protocol;      /* set by the SP handshake or the upgrade step */
    uint8_t hs_out[NP_HANDSHAKE_LEN];
    size_t hs_sent;
    uint8_t hs_in[NP_HANDSHAKE_LEN];
    size_t hs_got;
    np_timer hs_timer;
    np_timer trim_timer;    /* give back ring arrays once idle (stream_pipe.c) */
    int64_t active_since_us;  /* when the connection was established (np_now_us) */
    np_decoder dec;
    uint8_t *rbuf;          /* bytes being cut into frames: the reading thread's buffer
                             * during a read (rbuf_shared), else (reading paused on a full
                             * inbound queue) the undelivered rest in storage of its own */
    int rbuf_shared;
    size_t roff, rlen;
    int large;              /* the last message was large: read the next frame header alone,
                             * then its body straight into place (no copy through rbuf) */
    np_msg **batch;         /* large messages being written */
    int nbatch;
    uint8_t (*fhdr)[NP_STREAM_HDR_MAX];
    struct iovec *iov;
    int niov, iov_pos;
    uint8_t *wbuf;          /* staging buffer for small frames */
    size_t wlen;
    np_stream *ep_next;
    void *handoff;          /* np_stream_adopt's argument, for ops->conn_init only */
    /* 1 for the I/O thread until the connection closes, plus one per caller reading it
     * directly (stream_read.c): the last one closes the descriptor and frees the rest. */
    atomic_int holds;
};

/* Per-pipe state of a stream pipe (p->tdata): outlives the connection while the socket
 * still reads the pipe's queued messages. */
typedef struct np_stream_pipe {
    np_stream *conn;        /* I/O thread only: NULL once the connection closed */
    int fd;                 /* valid while the pipe is not dead (read under sock->lock) */
    int direct_ok;          /* callers may write to fd themselves (plain SP framing) */
    int sp_framing;         /* SP's length prefix (no framing of the transport's own) */
    int ipc;
    /* who writes to the descriptor now: 0 nobody, 1 the I/O thread (it has been asked to
     * flush), 2 a caller writing directly (it holds the socket's lock) */
    atomic_int write_scheduled;
    atomic_int read_stalled;    /* reading paused because the pipe's inbound ring is full */
    atomic_int trim_posted;     /* the I/O thread has been asked to trim the rings */
    /* who reads the descriptor: NP_STREAM_READER_* (stream_read.c); rconn is the
     * connection, which callers may use only while they hold the read side */
    atomic_int reader;
    np_stream *rconn;
    size_t partial;         /* bytes of the first queued message already written directly */
    np_ring outq;           /* messages waiting for the I/O thread */
    /* The I/O thread's flush and resume-reading commands, posted without allocating;
     * write_scheduled and read_stalled say whether each is queued. */
    np_loop_task write_task, read_task;
} np_stream_pipe;

/* Per-endpoint state of a stream endpoint (ep->tdata). */
typedef struct np_stream_ep {
    const np_stream_ops *ops;
    np_ioh listen_ioh;      /* bound: listening descriptor */
    np_ioh conn_ioh;        /* connecting: attempt in progress */
    np_timer retry_timer;
    int backoff_n;
    int has_live_conn;      /* connecting endpoint currently has a connection */
    np_stream *conns;       /* connections made through this endpoint */
    void (*conn_gone)(np_ep *ep);  /* an outgoing connection closed: retry later */
} np_stream_ep;

/* ---- endpoint hooks (stream_ep.c) ---- */
int np_stream_bind(np_ep *ep, const np_stream_ops *ops);
int np_stream_connect(np_ep *ep, const np_stream_ops *ops);
void np_stream_ep_stop(np_ep *ep);
/* A bound endpoint without a listening socket of its own: its connections are accepted
 * by a listener it shares with other endpoints (ws:// paths) and handed over with
 * np_stream_adopt. */
void np_stream_bind_shared(np_ep *ep, const np_stream_ops *ops);
/* An accepted, non-blocking connection joins such an endpoint; st->handoff = handoff
 * while ops->conn_init runs (what the listener already did: TLS, the request head). 0, or
 * -1 when it could not (fd closed). */
int np_stream_adopt(np_ep *ep, int fd, void *handoff);

/* ---- pipe hooks (stream_pipe.c) ---- */
int np_stream_pipe_send(np_pipe *p, np_msg *m);
void np_stream_pipe_kick_write(np_pipe *p);
void np_stream_pipe_kick_read(np_pipe *p);
int np_stream_pipe_pending(np_pipe *p);
size_t np_stream_pipe_frame_hdr(np_pipe *p, uint8_t *out, uint64_t len);
void np_stream_pipe_fini(np_pipe *p);
/* ---- direct receive (stream_read.c) ---- */
int np_stream_pipe_read_begin(np_pipe *p);
int np_stream_pipe_read_some(np_pipe *p);
void np_stream_pipe_read_end(np_pipe *p);

#define NP_STREAM_PIPE_HOOKS                                                               \
    .pipe_size = sizeof(np_stream_pipe), .pipe_send = np_stream_pipe_send,                 \
    .pipe_kick_write = np_stream_pipe_kick_write,                                          \
    .pipe_kick_read = np_stream_pipe_kick_read, .pipe_pending = np_stream_pipe_pending,   \
    .pipe_read_begin = np_stream_pipe_read_begin,                                          \
    .pipe_read_some = np_stream_pipe_read_some, .pipe_read_end = np_stream_pipe_read_end,  \
    .pipe_frame_hdr = np_stream_pipe_frame_hdr, .pipe_fini = np_stream_pipe_fini

/* ---- for stream transports' own hooks ---- */
/* Record the peer's protocol learnt by an upgrade step (upgrade_negotiates_peer). */
static inline void np_stream_set_peer(np_stream *st, int protocol)
{
    st->peer_protocol = protocol;
}
/* SO_SNDBUF/SO_RCVBUF from the socket's options, then ops->tune. */
void np_stream_tune_fd(np_sock *s, int fd, const np_stream_ops *ops);

#endif
