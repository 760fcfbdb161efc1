/*
 * stream_conn.c - a stream connection's lifecycle: start, the transport's upgrade step, the
 * SP handshake, attaching the pipe, dispatching I/O events, and closing. I/O thread only.
 */
#include "transports/stream_engine.h"

#include "platform/clock.h"
#include "platform/sockio.h"

#include <stdlib.h>
#include <unistd.h>

#define STREAM_HANDSHAKE_TIMEOUT_MS 1000

void np_stream_tune_fd(np_sock *s, int fd, const np_stream_ops *ops)
{
    pthread_mutex_lock(&s->lock);
    int sndbuf = s->sndbuf, rcvbuf = s->rcvbuf;
    pthread_mutex_unlock(&s->lock);
    /* Only an explicit NN_SNDBUF/NN_RCVBUF overrides the kernel's autotuning, which moves
     * large messages much faster than nanomsg's fixed 128 KiB. */
    if (sndbuf != 128 * 1024)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (rcvbuf != 128 * 1024)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    np_set_nosigpipe(fd);
    if (ops->tune)
        ops->tune(s, fd);
}

static void stream_free(void *p)
{
    np_stream *st = p;
    free(st->tdata);
    np_stream_free_wspace(st);
    free(st->rbuf);
    free(st);
}

static void stream_unlink(np_stream *st)
{
    np_stream_ep *sep = st->ep->tdata;
    for (np_stream **pp = &sep->conns; *pp; pp = &(*pp)->ep_next) {
        if (*pp == st) {
            *pp = st->ep_next;
            return;
        }
    }
}

/* Did the connection outlive the longest reconnect wait? Only then does its end reset the
 * backoff: one closed soon after the handshake (a PAIR that already has its peer, a server
 * that turns connections away) is a failed attempt, and redialling it at once would loop. */
static int stream_lived_long(np_stream *st)
{
    int64_t ivl = st->ep->reconnect_ivl;
    int64_t max = st->ep->reconnect_ivl_max > ivl ? st->ep->reconnect_ivl_max : ivl;
    return np_now_us() - st->active_since_us >= max * 1000;
}

/* The last hold went: nobody reads the descriptor any more. */
static void stream_conn_finish(np_stream *st)
{
    close(st->ioh.fd);
    st->ioh.fd = -1;
    np_decoder_fini(&st->dec);
    if (st->pipe) {
        np_pipe_unref(st->pipe);
        st->pipe = NULL;
    }
}

static void stream_conn_finish_cmd(void *arg)
{
    stream_conn_finish(arg);
    stream_free(arg);
}

void np_stream_conn_release(np_stream *st)
{
    if (atomic_fetch_sub(&st->holds, 1) != 1)
        return;
    /* A direct reader let go last, on its own thread: finish on the I/O thread, after its
     * current batch of events (which may still name st). Without one (out of memory), st
     * is leaked rather than freed under the I/O thread. */
    if (np_loop_post(stream_conn_finish_cmd, st) != 0)
        return;
}

/* Nobody may read any more. Returns 1 when a caller reads st directly right now: it keeps
 * a hold, and is woken (the descriptor reports end of input) to let go. */
static int stream_stop_readers(np_stream *st)
{
    if (!st->pipe)
        return 0;
    np_stream_pipe *sp = np_stream_pipe_of(st->pipe);
    int was = atomic_exchange(&sp->reader, NP_STREAM_READER_CLOSED);
    if (was != NP_STREAM_READER_CALLER)
        return 0;
    shutdown(st->ioh.fd, SHUT_RD);
    return 1;
}

void np_stream_conn_close(np_stream *st, int broken)
{
    if (st->state == NP_STREAM_CLOSED)
        return;
    int was_active = st->state == NP_STREAM_ACTIVE;
    st->state = NP_STREAM_CLOSED;
    np_timer_cancel(&st->hs_timer);
    np_timer_cancel(&st->trim_timer);
    /* Detach first: once the pipe is dead (set under the socket lock) no caller writes to
     * the descriptor directly any more, so it is safe to close it. */
    if (st->pipe) {
        np_stream_pipe_of(st->pipe)->conn = NULL;
        np_pipe_detach(st->pipe, broken);
    } else if (broken && !was_active) {
        atomic_fetch_add(&st->sock->broken, 1);
        np_ep_report_failure(st->ep, NP_EV_HANDSHAKE_FAILED, st->ioh.fd);
    }
    np_loop_remove(&st->ioh);
    stream_stop_readers(st);
    if (st->ops->conn_fini)
        st->ops->conn_fini(st);
    for (int i = 0; i < st->nbatch; i++)
        np_msg_free(st->batch[i]);
    st->nbatch = 0;
    stream_unlink(st);
    np_stream_ep *sep = st->ep->tdata;
    if (st->outgoing && !st->ep->stopping) {
        sep->has_live_conn = 0;
        if (was_active && stream_lived_long(st))
            sep->backoff_n = 1;  /* a good connection: the next redial may be at once */
        sep->conn_gone(st->ep);
    }
    /* The I/O thread's hold; a caller reading directly may still hold st. */
    if (atomic_fetch_sub(&st->holds, 1) == 1) {
        stream_conn_finish(st);
        np_loop_defer_free(stream_free, st);
    }
}

static void stream_handshake_timeout(np_timer *t, uint64_t seq)
{
    (void)seq;
    np_stream *st = t->owner;
    if (st->state == NP_STREAM_UPGRADE || st->state == NP_STREAM_HANDSHAKE)
        np_stream_conn_close(st, 1);
}

/* Make the pipe for a connection whose peer is known and acceptable. 0 or -1 (closed). */
static int stream_attach_pipe(np_stream *st)
{
    np_pipe *p = np_pipe_new(st->sock, st->ep, st->ep->tran);
    np_stream_pipe *sp = p ? np_stream_pipe_of(p) : NULL;
    if (!p || np_ring_init(&sp->outq, 4096) != 0) {
        if (p)
            np_pipe_unref(p);
        np_stream_conn_close(st, 1);
        return -1;
    }
    atomic_init(&sp->write_scheduled, 0);
    atomic_init(&sp->read_stalled, 0);
    atomic_init(&sp->trim_posted, 0);
    atomic_init(&sp->reader, NP_STREAM_READER_LOOP);
    sp->conn = st;
    sp->rconn = st;
    sp->fd = st->ioh.fd;
    np_format_peer(st->ep, st->ioh.fd, p->remote, sizeof(p->remote));
    sp->ipc = st->ops->ipc;
    sp->direct_ok = !st->ops->read && !st->ops->writev && !st->ops->framing;
    sp->sp_framing = !st->ops->framing;
    p->outq = &sp->outq;
    st->pipe = p;
    if (np_pipe_attach(p) != 0) {
        /* Refused (e.g. PAIR already has its peer): drop the connection; a connecting
         * endpoint keeps retrying at the reconnect interval. */
        st->pipe = NULL;
        sp->conn = NULL;
        np_pipe_unref(p);
        np_stream_conn_close(st, 1);
        return -1;
    }
    return 0;
}

/* The peer is known: check it, attach, and start moving messages. */
static void stream_established(np_stream *st)
{
    if (!np_sock_accepts_peer(st->sock, st->peer_protocol)) {
        np_stream_conn_close(st, 1);
        return;
    }
    np_timer_cancel(&st->hs_timer);
    if (stream_attach_pipe(st) != 0)
        return;
    st->state = NP_STREAM_ACTIVE;
    st->active_since_us = np_now_us();
    np_loop_set_events(&st->ioh, NP_IO_IN);
}

static void stream_handshake_step(np_stream *st, uint32_t ev)
{
    if ((ev & NP_IO_OUT) && st->hs_sent < NP_HANDSHAKE_LEN) {
        struct iovec iov = {st->hs_out + st->hs_sent, NP_HANDSHAKE_LEN - st->hs_sent};
        ssize_t n = np_stream_writev(st, &iov, 1);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            np_stream_conn_close(st, 1);
            return;
        }
        if (n > 0)
            st->hs_sent += (size_t)n;
    }
    if ((ev & NP_IO_IN) && st->hs_got < NP_HANDSHAKE_LEN) {
        /* Read exactly the handshake: frames that follow stay in the kernel for now. */
        ssize_t n = np_stream_recv(st, st->hs_in + st->hs_got, NP_HANDSHAKE_LEN - st->hs_got);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            np_stream_conn_close(st, 1);
            return;
        }
        if (n > 0)
            st->hs_got += (size_t)n;
    }
    if (st->hs_sent < NP_HANDSHAKE_LEN || st->hs_got < NP_HANDSHAKE_LEN) {
        np_loop_set_events(&st->ioh,
                           NP_IO_IN | (st->hs_sent < NP_HANDSHAKE_LEN ? NP_IO_OUT : 0));
        return;
    }
    int peer = np_handshake_decode(st->hs_in);
    if (peer < 0) {
        np_stream_conn_close(st, 1);
        return;
    }
    st->peer_protocol = peer;
    stream_established(st);
}

static void stream_upgrade_step(np_stream *st, uint32_t ev)
{
    int rc = st->ops->upgrade(st, ev);
    if (rc < 0) {
        np_stream_conn_close(st, 1);
        return;
    }
    if (rc > 0) {
        np_loop_set_events(&st->ioh, (uint32_t)rc & (NP_IO_IN | NP_IO_OUT));
        return;
    }
    if (st->ops->upgrade_negotiates_peer) {
        stream_established(st);
        return;
    }
    st->state = NP_STREAM_HANDSHAKE;
    np_loop_set_events(&st->ioh, NP_IO_IN | NP_IO_OUT);
    stream_handshake_step(st, NP_IO_OUT);
}

static void stream_event(np_ioh *h, uint32_t ev)
{
    np_stream *st = h->owner;
    switch (st->state) {
    case NP_STREAM_UPGRADE:
        stream_upgrade_step(st, ev);
        return;
    case NP_STREAM_HANDSHAKE:
        stream_handshake_step(st, ev);
        return;
    case NP_STREAM_ACTIVE:
        break;
    default:
        return;
    }
    if ((ev & NP_IO_IN) && np_stream_loop_read(st) != 0) {
        np_stream_conn_close(st, 1);
        return;
    }
    if (st->state == NP_STREAM_ACTIVE && (ev & NP_IO_OUT) && np_stream_write_some(st) != 0)
        np_stream_conn_close(st, 1);
}

static np_stream *stream_alloc(np_ep *ep, const np_stream_ops *ops)
{
    np_stream *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    /* No buffers up front: reads go through the I/O thread's shared buffer, and a batch
     * being written borrows its storage (stream_io.c), so an idle connection holds neither. */
    if (ops->conn_size && !(st->tdata = calloc(1, ops->conn_size))) {
        stream_free(st);
        return NULL;
    }
    st->ep = ep;
    st->sock = ep->sock;
    st->ops = ops;
    atomic_init(&st->holds, 1);
    return st;
}

int np_stream_conn_start(np_ep *ep, int fd, int outgoing, void *handoff)
{
    np_stream_ep *sep = ep->tdata;
    const np_stream_ops *ops = sep->ops;
    np_stream *st = stream_alloc(ep, ops);
    if (!st) {
        close(fd);
        if (outgoing)
            sep->conn_gone(ep);
        return -1;
    }
    st->outgoing = outgoing;
    st->ioh.fd = fd;
    st->ioh.cb = stream_event;
    st->ioh.owner = st;
    np_handshake_encode(st->hs_out, ep->sock->protocol);
    np_decoder_init(&st->dec, ops->ipc, ep->sock->rcvmaxsize);
    st->ep_next = sep->conns;
    sep->conns = st;
    st->hs_timer.cb = stream_handshake_timeout;
    st->hs_timer.owner = st;
    st->trim_timer.cb = np_stream_trim_timeout;
    st->trim_timer.owner = st;
    st->state = ops->upgrade ? NP_STREAM_UPGRADE : NP_STREAM_HANDSHAKE;
    st->handoff = handoff;
    int rc = ops->conn_init ? ops->conn_init(st) : 0;
    st->handoff = NULL;
    if (rc != 0) {
        np_stream_conn_close(st, 1);
        return -1;
    }
    np_timer_start(&st->hs_timer, STREAM_HANDSHAKE_TIMEOUT_MS, 0);
    if (np_loop_add(&st->ioh, NP_IO_IN | NP_IO_OUT) != 0) {
        np_stream_conn_close(st, 1);
        return -1;
    }
    return 0;
}
