/*
 * stream_engine.h - the stream engine's internal interface between its files (not for
 * transports): stream_io.c moves bytes, stream_conn.c runs a connection's lifecycle,
 * stream_pipe.c the pipe hooks, stream_read.c the direct-receive pipe hooks, stream_ep.c
 * the endpoints. Calls go one way only: ep -> conn -> io, pipe/read -> conn/io.
 */
#ifndef NP_STREAM_ENGINE_H
#define NP_STREAM_ENGINE_H

#include "transports/stream.h"

enum { NP_STREAM_UPGRADE, NP_STREAM_HANDSHAKE, NP_STREAM_ACTIVE, NP_STREAM_CLOSED };

#define NP_STREAM_BATCH_MAX 64   /* large messages per writev */
#define NP_STREAM_IOV_MAX (NP_STREAM_BATCH_MAX * 3 + 8)

static inline np_stream_pipe *np_stream_pipe_of(np_pipe *p) { return p->tdata; }

/* ---- stream_io.c: I/O thread ---- */
/* Bytes in and out through the transport's hooks or the descriptor (recv/sendmsg results). */
ssize_t np_stream_recv(np_stream *st, void *buf, size_t len);
ssize_t np_stream_writev(np_stream *st, const struct iovec *iov, int iovcnt);
/* The header of the frame carrying m (len wire bytes) into out; its length. */
size_t np_stream_encode_hdr(np_stream *st, uint8_t *out, uint64_t len, const np_msg *m);
/* Read what the descriptor has, deliver complete messages. 0, or -1: close (broken). */
int np_stream_read_some(np_stream *st);
/* The same for a caller reading directly (any thread, it holds the read side): stops
 * instead of pausing the descriptor when the inbound ring fills, notifies nobody. Returns
 * the messages delivered, or -1: close (broken). */
int np_stream_read_direct(np_stream *st);

/* Who reads a stream pipe's descriptor (np_stream_pipe.reader). */
enum {
    NP_STREAM_READER_LOOP,    /* the I/O thread may (it moves it to LOOP_BUSY first) */
    NP_STREAM_READER_LOOP_BUSY,
    NP_STREAM_READER_CALLER,  /* a caller, its input lent (np_loop_lend_in) */
    NP_STREAM_READER_DOOMED,  /* broken, a close is on its way: nobody */
    NP_STREAM_READER_CLOSED,  /* closed: nobody */
};
/* I/O thread: read unless a caller holds the read side (stream_read.c). 0, or -1: close. */
int np_stream_loop_read(np_stream *st);
/* Write what the pipe has queued. 0, or -1: close (broken). */
int np_stream_write_some(np_stream *st);
/* The rings a burst made big are given back once the connection is idle: soon after
 * this, if it still is (see stream_io.c). */
void np_stream_trim_later(np_stream *st);
/* trim_timer's callback. */
void np_stream_trim_timeout(np_timer *t, uint64_t seq);

/* Free the batch storage a closing connection still holds (stream_io.c lends it). */
void np_stream_free_wspace(np_stream *st);

/* ---- stream_conn.c: I/O thread ---- */
/* A new connected descriptor of ep (accepted, or connected when outgoing); handoff goes
 * to ops->conn_init (st->handoff). 0, or -1 when it could not start (fd closed). */
int np_stream_conn_start(np_ep *ep, int fd, int outgoing, void *handoff);
/* Close a connection (idempotent): detach its pipe, free it after this batch of events
 * (or once the caller reading it directly lets go: np_stream_conn_release). */
void np_stream_conn_close(np_stream *st, int broken);
/* Drop a hold on st (any thread); the last one closes the descriptor and frees st. */
void np_stream_conn_release(np_stream *st);

#endif
