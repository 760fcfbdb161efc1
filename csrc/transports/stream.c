/* stream.c - tcp/ipc connection engine; see stream.h. */
#include "stream.h"

#include "../clock.h"

static void kick_write_cmd(void *arg);
#include "../frame.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define RBUF_SIZE 65536
#define DIRECT_READ_MIN 16384   /* bodies at least this big are read straight into place */
#define BATCH_MAX 64            /* large messages per writev */
#define WBUF_SIZE 65536         /* small frames are copied together into one write */
#define SMALL_FRAME 2048        /* frames up to this size are copied, larger ones gathered */
#define HANDSHAKE_TIMEOUT_MS 1000
#define ACCEPT_PAUSE_MS 100     /* after EMFILE: stop accepting for a moment, don't spin */

enum { ST_HANDSHAKE, ST_ACTIVE, ST_CLOSED };

struct np_stream {
    np_ioh ioh;
    np_ep *ep;
    np_sock *sock;
    const np_stream_transport *t;
    np_pipe *pipe;
    int state;
    int outgoing;
    uint8_t hs_out[NP_HANDSHAKE_LEN];
    size_t hs_sent;
    uint8_t hs_in[NP_HANDSHAKE_LEN];
    size_t hs_got;
    np_timer hs_timer;
    np_decoder dec;
    uint8_t *rbuf;
    size_t roff, rlen;
    int large;              /* the last message was large: read the next frame header alone,
                             * then its body straight into place (no copy through rbuf) */
    np_msg *batch[BATCH_MAX];
    int nbatch;
    uint8_t fhdr[BATCH_MAX][9];
    struct iovec iov[BATCH_MAX * 3 + 8];
    int niov, iov_pos;
    uint8_t *wbuf;          /* staging buffer for small frames */
    size_t wlen;
    np_stream *ep_next;
};

static const np_stream_transport *ep_transport(np_ep *ep)
{
    return ep->transport == NP_IPC ? &np_ipc_transport : &np_tcp_transport;
}

int np_set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return 0;
}

void np_stream_tune_fd(np_sock *s, int fd, int is_tcp)
{
    pthread_mutex_lock(&s->lock);
    int sndbuf = s->sndbuf, rcvbuf = s->rcvbuf, nodelay = s->tcp_nodelay;
    pthread_mutex_unlock(&s->lock);
    /* Only an explicit NN_SNDBUF/NN_RCVBUF overrides the kernel's autotuning, which moves
     * large messages much faster than nanomsg's fixed 128 KiB. */
    if (sndbuf != 128 * 1024)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (rcvbuf != 128 * 1024)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (is_tcp)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
}

/* ---- connection lifecycle ------------------------------------------------------------ */

static void schedule_retry(np_ep *ep);
static void stream_event(np_ioh *h, uint32_t ev);

static void stream_free(void *p)
{
    np_stream *st = p;
    free(st->wbuf);
    free(st->rbuf);
    free(st);
}

static void stream_close(np_stream *st, int broken)
{
    if (st->state == ST_CLOSED)
        return;
    int was_active = st->state == ST_ACTIVE;
    st->state = ST_CLOSED;
    np_timer_cancel(&st->hs_timer);
    /* Detach first: once the pipe is dead (set under the socket lock) no caller writes to
     * the descriptor directly any more, so it is safe to close it. */
    if (st->pipe) {
        st->pipe->stream = NULL;
        np_pipe_detach(st->pipe, broken);
    } else if (broken && !was_active) {
        atomic_fetch_add(&st->sock->broken, 1);
        np_ep_report_failure(st->ep, NP_EV_HANDSHAKE_FAILED, st->ioh.fd);
    }
    np_loop_remove(&st->ioh);
    close(st->ioh.fd);
    st->ioh.fd = -1;
    np_decoder_fini(&st->dec);
    for (int i = 0; i < st->nbatch; i++)
        np_msg_free(st->batch[i]);
    st->nbatch = 0;
    for (np_stream **pp = &st->ep->streams; *pp; pp = &(*pp)->ep_next) {
        if (*pp == st) {
            *pp = st->ep_next;
            break;
        }
    }
    if (st->pipe) {
        np_pipe_unref(st->pipe);
        st->pipe = NULL;
    }
    if (st->outgoing && !st->ep->stopping) {
        st->ep->has_live_conn = 0;
        schedule_retry(st->ep);
    }
    np_loop_defer_free(stream_free, st);
}

static void handshake_timeout(np_timer *t, uint64_t seq)
{
    (void)seq;
    np_stream *st = t->owner;
    if (st->state == ST_HANDSHAKE)
        stream_close(st, 1);
}

static void stream_start(np_ep *ep, int fd, int outgoing)
{
    np_stream *st = calloc(1, sizeof(*st));
    uint8_t *rbuf = malloc(RBUF_SIZE);
    uint8_t *wbuf = malloc(WBUF_SIZE);
    if (!st || !rbuf || !wbuf) {
        free(st);
        free(rbuf);
        free(wbuf);
        close(fd);
        if (outgoing)
            schedule_retry(ep);
        return;
    }
    st->rbuf = rbuf;
    st->wbuf = wbuf;
    st->ep = ep;
    st->sock = ep->sock;
    st->t = ep_transport(ep);
    st->outgoing = outgoing;
    st->state = ST_HANDSHAKE;
    st->ioh.fd = fd;
    st->ioh.cb = stream_event;
    st->ioh.owner = st;
    np_handshake_encode(st->hs_out, ep->sock->protocol);
    np_decoder_init(&st->dec, st->t->ipc, ep->sock->rcvmaxsize);
    st->ep_next = ep->streams;
    ep->streams = st;
    st->hs_timer.cb = handshake_timeout;
    st->hs_timer.owner = st;
    np_timer_start(&st->hs_timer, HANDSHAKE_TIMEOUT_MS, 0);
    if (np_loop_add(&st->ioh, NP_IO_IN | NP_IO_OUT) != 0)
        stream_close(st, 1);
}

static void handshake_step(np_stream *st, uint32_t ev)
{
    int fd = st->ioh.fd;
    if ((ev & NP_IO_OUT) && st->hs_sent < NP_HANDSHAKE_LEN) {
        ssize_t n = send(fd, st->hs_out + st->hs_sent, NP_HANDSHAKE_LEN - st->hs_sent,
                         MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            stream_close(st, 1);
            return;
        }
        if (n > 0)
            st->hs_sent += (size_t)n;
    }
    if ((ev & NP_IO_IN) && st->hs_got < NP_HANDSHAKE_LEN) {
        /* Read exactly the handshake: frames that follow stay in the kernel for now. */
        ssize_t n = recv(fd, st->hs_in + st->hs_got, NP_HANDSHAKE_LEN - st->hs_got, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            stream_close(st, 1);
            return;
        }
        if (n > 0)
            st->hs_got += (size_t)n;
    }
    if (st->hs_sent < NP_HANDSHAKE_LEN || st->hs_got < NP_HANDSHAKE_LEN) {
        np_loop_set_events(&st->ioh, NP_IO_IN | (st->hs_sent < NP_HANDSHAKE_LEN ? NP_IO_OUT : 0));
        return;
    }
    int peer = np_handshake_decode(st->hs_in);
    if (peer < 0 || !np_peer_compatible(st->sock->protocol, peer)) {
        stream_close(st, 1);
        return;
    }
    np_timer_cancel(&st->hs_timer);
    np_pipe *p = np_pipe_new(st->sock, st->ep, st->t->ipc ? NP_IPC : NP_TCP);
    if (!p) {
        stream_close(st, 1);
        return;
    }
    p->stream = st;
    p->fd = st->ioh.fd;
    np_format_peer(st->ep, p->fd, p->remote, sizeof(p->remote));
    st->pipe = p;
    if (np_pipe_attach(p) != 0) {
        /* Refused (e.g. PAIR already has its peer): drop the connection; a connecting
         * endpoint keeps retrying at the reconnect interval. */
        st->pipe = NULL;
        p->stream = NULL;
        np_pipe_unref(p);
        stream_close(st, 1);
        return;
    }
    st->state = ST_ACTIVE;
    if (st->outgoing)
        st->ep->backoff_n = 1;  /* a good connection resets the backoff */
    np_loop_set_events(&st->ioh, NP_IO_IN);
}

/* ---- reading ------------------------------------------------------------------------- */

static int inbound_room(np_pipe *p)
{
    return np_ring_has_room(&p->inq, p->in_limit);
}

static void deliver(np_stream *st, np_msg *m)
{
    np_pipe *p = st->pipe;
    m->pipe = p->id;
    if (!(st->sock->ops->dirs & NP_CAN_RECV) || np_ring_push(&p->inq, m, np_msg_wire_len(m))) {
        np_msg_free(m);  /* PUB/PUSH never read what a peer sends */
    }
}

/* Pause reading when the pipe's inbound queue is full. Returns 1 if reading may go on. */
static int stall_reading(np_stream *st)
{
    np_pipe *p = st->pipe;
    atomic_store(&p->read_stalled, 1);
    if (inbound_room(p)) {
        atomic_store(&p->read_stalled, 0);
        return 1;
    }
    np_loop_set_events(&st->ioh, st->ioh.events & ~NP_IO_IN);
    return 0;
}

static void do_read(np_stream *st)
{
    np_pipe *p = st->pipe;
    np_sock *s = st->sock;
    int delivered = 0;
    for (int iter = 0; iter < 64; iter++) {
        while (st->roff < st->rlen) {
            if (!inbound_room(p) && !stall_reading(st))
                goto out;
            np_msg *m;
            st->dec.max_size = s->rcvmaxsize;
            ssize_t n = np_decoder_feed(&st->dec, st->rbuf + st->roff, st->rlen - st->roff, &m);
            if (n < 0) {
                stream_close(st, 1);
                return;
            }
            st->roff += (size_t)n;
            if (m) {
                st->large = m->body_len >= DIRECT_READ_MIN;
                deliver(st, m);
                delivered++;
            }
        }
        st->roff = st->rlen = 0;
        if (!inbound_room(p) && !stall_reading(st))
            goto out;
        uint8_t *direct;
        size_t space = np_decoder_direct(&st->dec, &direct);
        ssize_t r;
        size_t asked;
        if (space >= DIRECT_READ_MIN) {
            asked = space;
            r = recv(st->ioh.fd, direct, space, 0);
            if (r > 0) {
                np_msg *m;
                np_decoder_advance(&st->dec, (size_t)r, &m);
                if (m) {
                    st->large = 1;
                    deliver(st, m);
                    delivered++;
                }
            }
        } else {
            size_t hdr_left = np_frame_hdr_len(st->t->ipc) - st->dec.hdr_have;
            asked = st->large && space == 0 && hdr_left > 0 ? hdr_left : RBUF_SIZE;
            r = recv(st->ioh.fd, st->rbuf, asked, 0);
            if (r > 0)
                st->rlen = (size_t)r;
        }
        if (r == 0) {
            stream_close(st, 1);
            goto signal;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            stream_close(st, 1);
            goto signal;
        }
        if ((size_t)r < asked && st->roff == st->rlen)
            break;
        if ((size_t)r < asked) {
            /* Cut the frames out of what we have; the socket is probably drained. */
            iter = 62;
        }
    }
out:
signal:
    if (delivered)
        np_sock_notify_in(s, 1);
}

/* ---- writing ------------------------------------------------------------------------- */

/* Advance the batch's iovecs past n written bytes. */
static void consume_iov(np_stream *st, size_t n)
{
    while (st->iov_pos < st->niov && n >= st->iov[st->iov_pos].iov_len) {
        n -= st->iov[st->iov_pos].iov_len;
        st->iov_pos++;
    }
    if (st->iov_pos < st->niov && n) {
        st->iov[st->iov_pos].iov_base = (uint8_t *)st->iov[st->iov_pos].iov_base + n;
        st->iov[st->iov_pos].iov_len -= n;
    }
}

/*
 * Take queued messages for one write: small frames are copied back to back into the staging
 * buffer (one iovec for hundreds of messages), large ones are gathered from their chunks.
 * Returns non-zero when there is something to write.
 */
static int fill_batch(np_stream *st)
{
    np_pipe *p = st->pipe;
    int ipc = st->t->ipc;
    size_t hl = np_frame_hdr_len(ipc);
    st->niov = st->iov_pos = 0;
    st->wlen = 0;
    while (st->nbatch < BATCH_MAX && st->niov < BATCH_MAX * 3) {
        np_msg *m = np_ring_peek(&p->own_outq);
        if (!m)
            break;
        size_t wire = np_msg_wire_len(m), total = hl + wire;
        if (total <= SMALL_FRAME) {
            if (st->wlen + total > WBUF_SIZE)
                break;
            np_ring_pop(&p->own_outq, wire);
            uint8_t *dst = st->wbuf + st->wlen;
            np_frame_encode_hdr(dst, ipc, wire);
            memcpy(dst + hl, m->hdr, m->hdr_len);
            if (m->body_len)
                memcpy(dst + hl + m->hdr_len, m->body, m->body_len);
            struct iovec *last = st->niov ? &st->iov[st->niov - 1] : NULL;
            if (last && (uint8_t *)last->iov_base + last->iov_len == dst)
                last->iov_len += total;
            else
                st->iov[st->niov++] = (struct iovec){dst, total};
            st->wlen += total;
            np_msg_free(m);
            continue;
        }
        np_ring_pop(&p->own_outq, wire);
        int i = st->nbatch++;
        st->batch[i] = m;
        np_frame_encode_hdr(st->fhdr[i], ipc, wire);
        st->iov[st->niov++] = (struct iovec){st->fhdr[i], hl};
        if (m->hdr_len)
            st->iov[st->niov++] = (struct iovec){m->hdr, m->hdr_len};
        if (m->body_len)
            st->iov[st->niov++] = (struct iovec){m->body, m->body_len};
    }
    if (st->niov && p->partial) {
        /* A caller already wrote the start of the first message directly. */
        consume_iov(st, p->partial);
        p->partial = 0;
    }
    return st->niov;
}

static void do_write(np_stream *st)
{
    np_pipe *p = st->pipe;
    np_sock *s = st->sock;
    if (atomic_load(&p->write_scheduled) != 1) {
        /* Nothing for us: idle, or a caller is writing directly (it hands over if needed). */
        np_loop_set_events(&st->ioh, st->ioh.events & ~NP_IO_OUT);
        return;
    }
    for (;;) {
        if (st->iov_pos >= st->niov) {
            if (fill_batch(st) == 0) {
                atomic_store(&p->write_scheduled, 0);
                if (np_ring_count(&p->own_outq) > 0 && !atomic_exchange(&p->write_scheduled, 1))
                    continue;
                np_loop_set_events(&st->ioh, NP_IO_IN & st->ioh.events ? NP_IO_IN : 0);
                return;
            }
            /* Room was made: a sender blocked on a full pipe may go on. (Checking whether
             * the ring was full before popping would race with a sender filling it.) */
            np_sock_notify_out(s);
        }
        struct msghdr mh = {0};
        mh.msg_iov = st->iov + st->iov_pos;
        mh.msg_iovlen = (size_t)(st->niov - st->iov_pos);
        ssize_t n = sendmsg(st->ioh.fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                np_loop_set_events(&st->ioh, st->ioh.events | NP_IO_OUT);
                return;
            }
            stream_close(st, 1);
            return;
        }
        consume_iov(st, (size_t)n);
        if (st->iov_pos < st->niov)
            continue;
        for (int i = 0; i < st->nbatch; i++)
            np_msg_free(st->batch[i]);
        st->nbatch = 0;
        st->niov = st->iov_pos = 0;
    }
}

static void stream_event(np_ioh *h, uint32_t ev)
{
    np_stream *st = h->owner;
    if (st->state == ST_HANDSHAKE) {
        handshake_step(st, ev);
        return;
    }
    if (st->state != ST_ACTIVE)
        return;
    if (ev & NP_IO_IN)
        do_read(st);
    if (st->state == ST_ACTIVE && (ev & NP_IO_OUT))
        do_write(st);
}

#define DIRECT_GAP_US 5  /* sends closer together than this are a burst: batch them */

int np_stream_send_direct(np_pipe *p, np_msg *m)
{
    /* Cheap tests first: the clock is read only when the pipe looks idle. */
    if (np_ring_count(&p->own_outq) != 0 || atomic_load(&p->write_scheduled) != 0)
        return -1;
    int64_t now = np_now_us();
    int64_t last = p->last_send_us;
    p->last_send_us = now;
    if (now - last < DIRECT_GAP_US)
        return -1;
    int idle = 0;
    if (!atomic_compare_exchange_strong(&p->write_scheduled, &idle, 2))
        return -1;
    int ipc = p->transport == NP_IPC;
    uint8_t fhdr[9];
    np_frame_encode_hdr(fhdr, ipc, np_msg_wire_len(m));
    struct iovec iov[3];
    int n = 0;
    iov[n++] = (struct iovec){fhdr, np_frame_hdr_len(ipc)};
    if (m->hdr_len)
        iov[n++] = (struct iovec){m->hdr, m->hdr_len};
    if (m->body_len)
        iov[n++] = (struct iovec){m->body, m->body_len};
    size_t total = np_frame_hdr_len(ipc) + np_msg_wire_len(m);
    struct msghdr mh = {0};
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    ssize_t w = sendmsg(p->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w >= 0 && (size_t)w == total) {
        np_msg_free(m);
        atomic_store(&p->write_scheduled, 0);
        return 0;
    }
    /* Partly written (or an error the I/O thread will find): it finishes the message. */
    p->partial = w > 0 ? (size_t)w : 0;
    np_ring_push(&p->own_outq, m, np_msg_wire_len(m));
    atomic_store(&p->write_scheduled, 1);
    atomic_fetch_add(&p->refs, 1);
    if (np_loop_post(kick_write_cmd, p) != 0)
        np_pipe_unref(p);
    return 0;
}

static void kick_write_cmd(void *arg)
{
    np_pipe *p = arg;
    np_stream *st = p->stream;
    if (st && st->state == ST_ACTIVE)
        do_write(st);
    else
        atomic_store(&p->write_scheduled, 0);
    np_pipe_unref(p);
}

void np_stream_kick_write(np_pipe *p)
{
    if (atomic_exchange(&p->write_scheduled, 1))
        return;  /* the I/O thread is already flushing this pipe */
    atomic_fetch_add(&p->refs, 1);
    if (np_loop_post(kick_write_cmd, p) != 0) {
        atomic_store(&p->write_scheduled, 0);
        np_pipe_unref(p);
    }
}

static void kick_read_cmd(void *arg)
{
    np_pipe *p = arg;
    np_stream *st = p->stream;
    if (st && st->state == ST_ACTIVE) {
        np_loop_set_events(&st->ioh, st->ioh.events | NP_IO_IN);
        do_read(st);
    }
    np_pipe_unref(p);
}

void np_stream_kick_read(np_pipe *p)
{
    if (!atomic_exchange(&p->read_stalled, 0))
        return;
    atomic_fetch_add(&p->refs, 1);
    if (np_loop_post(kick_read_cmd, p) != 0)
        np_pipe_unref(p);
}

/* ---- bound endpoints --------------------------------------------------------------- */

static void accept_resume(np_timer *t, uint64_t seq)
{
    (void)seq;
    np_ep *ep = t->owner;
    if (!ep->stopping)
        np_loop_set_events(&ep->listen_ioh, NP_IO_IN);
}

static void accept_event(np_ioh *h, uint32_t ev)
{
    (void)ev;
    np_ep *ep = h->owner;
    for (int i = 0; i < 256; i++) {
        int fd = accept(h->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* Out of descriptors or memory: count it, pause, and try again later. */
            atomic_fetch_add(&ep->sock->accept_errors, 1);
            ep->last_error = errno;
            np_ep_report_failure(ep, NP_EV_ACCEPT_FAILED, -1);
            np_loop_set_events(h, 0);
            np_timer_start(&ep->retry_timer, ACCEPT_PAUSE_MS, 0);
            return;
        }
        np_set_nonblock_cloexec(fd);
        atomic_fetch_add(&ep->sock->accepted, 1);
        ep->last_error = 0;
        np_stream_tune_fd(ep->sock, fd, !ep_transport(ep)->ipc);
        stream_start(ep, fd, 0);
    }
}

int np_stream_bind(np_ep *ep, const np_stream_transport *t)
{
    int fd = t->listen(ep);
    if (fd < 0)
        return fd;
    np_ep_note_bound_fd(ep, fd);
    ep->listen_ioh.fd = fd;
    ep->listen_ioh.cb = accept_event;
    ep->listen_ioh.owner = ep;
    ep->retry_timer.cb = accept_resume;
    ep->retry_timer.owner = ep;
    int rc = np_loop_add(&ep->listen_ioh, NP_IO_IN);
    if (rc) {
        close(fd);
        ep->listen_ioh.fd = -1;
        t->unlisten(ep);
    }
    return rc;
}

/* ---- connecting endpoints ------------------------------------------------------------ */

static void connect_attempt(np_ep *ep);

static void retry_fired(np_timer *t, uint64_t seq)
{
    (void)seq;
    np_ep *ep = t->owner;
    if (!ep->stopping && !ep->has_live_conn && ep->conn_ioh.fd < 0)
        connect_attempt(ep);
}

static void schedule_retry(np_ep *ep)
{
    if (ep->stopping)
        return;
    /* nanomsg's backoff: wait (n-1) * IVL, doubling n until the wait reaches IVL_MAX. */
    int64_t ivl = ep->reconnect_ivl;
    int64_t max = ep->reconnect_ivl_max > 0 ? ep->reconnect_ivl_max : ivl;
    int64_t wait = (int64_t)(ep->backoff_n - 1) * ivl;
    if (wait > max)
        wait = max;
    else if (ep->backoff_n < (1 << 20))
        ep->backoff_n *= 2;
    np_timer_start(&ep->retry_timer, wait, 0);
}

static void connect_done(np_ioh *h, uint32_t ev)
{
    (void)ev;
    np_ep *ep = h->owner;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == 0 && !(ev & NP_IO_OUT))
        return;
    int fd = h->fd;
    np_loop_remove(h);
    h->fd = -1;
    atomic_fetch_sub(&ep->sock->inprogress, 1);
    if (err) {
        close(fd);
        atomic_fetch_add(&ep->sock->connect_errors, 1);
        ep->last_error = err;
        np_ep_report_failure(ep, NP_EV_CONNECT_FAILED, -1);
        schedule_retry(ep);
        return;
    }
    atomic_fetch_add(&ep->sock->established, 1);
    ep->last_error = 0;
    ep->has_live_conn = 1;
    np_stream_tune_fd(ep->sock, fd, !ep_transport(ep)->ipc);
    stream_start(ep, fd, 1);
}

static void connect_attempt(np_ep *ep)
{
    int fd = ep_transport(ep)->start_connect(ep);
    if (fd < 0) {
        atomic_fetch_add(&ep->sock->connect_errors, 1);
        ep->last_error = -fd;
        np_ep_report_failure(ep, NP_EV_CONNECT_FAILED, -1);
        schedule_retry(ep);
        return;
    }
    ep->conn_ioh.fd = fd;
    ep->conn_ioh.cb = connect_done;
    ep->conn_ioh.owner = ep;
    atomic_fetch_add(&ep->sock->inprogress, 1);
    if (np_loop_add(&ep->conn_ioh, NP_IO_OUT) != 0) {
        close(fd);
        ep->conn_ioh.fd = -1;
        atomic_fetch_sub(&ep->sock->inprogress, 1);
        schedule_retry(ep);
    }
}

int np_stream_connect(np_ep *ep, const np_stream_transport *t)
{
    int rc = t->check_connect(ep);
    if (rc)
        return rc;
    ep->conn_ioh.fd = -1;
    ep->listen_ioh.fd = -1;
    ep->backoff_n = 1;
    ep->retry_timer.cb = retry_fired;
    ep->retry_timer.owner = ep;
    connect_attempt(ep);
    return 0;
}

void np_stream_stop(np_ep *ep)
{
    ep->stopping = 1;
    np_timer_cancel(&ep->retry_timer);
    if (ep->bound && ep->listen_ioh.fd >= 0) {
        np_loop_remove(&ep->listen_ioh);
        close(ep->listen_ioh.fd);
        ep->listen_ioh.fd = -1;
        ep_transport(ep)->unlisten(ep);
    }
    if (!ep->bound && ep->conn_ioh.fd >= 0) {
        np_loop_remove(&ep->conn_ioh);
        close(ep->conn_ioh.fd);
        ep->conn_ioh.fd = -1;
        atomic_fetch_sub(&ep->sock->inprogress, 1);
    }
    while (ep->streams)
        stream_close(ep->streams, 0);
}
