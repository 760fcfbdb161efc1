/*
 * stream_io.c - the stream engine's message pump: cut received bytes into messages, and
 * write queued messages in as few system calls as possible (small frames copied together
 * into one buffer, large ones gathered from their chunks). I/O thread only.
 */
#include "transports/stream_engine.h"

#include "platform/sockio.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_RBUF_SIZE 65536       /* one read of small frames */
#define STREAM_DIRECT_READ_MIN 16384  /* bodies at least this big are read straight into place */
#define STREAM_WBUF_SIZE 65536        /* small frames are copied together into one write */
#define STREAM_SMALL_FRAME 2048       /* frames up to this size are copied, larger gathered */

ssize_t np_stream_recv(np_stream *st, void *buf, size_t len)
{
    if (st->ops->read)
        return st->ops->read(st, buf, len);
    return recv(st->ioh.fd, buf, len, 0);
}

ssize_t np_stream_writev(np_stream *st, const struct iovec *iov, int iovcnt)
{
    if (st->ops->writev)
        return st->ops->writev(st, iov, iovcnt);
    struct msghdr mh = {0};
    mh.msg_iov = (struct iovec *)iov;
    mh.msg_iovlen = (size_t)iovcnt;
    return sendmsg(st->ioh.fd, &mh, NP_MSG_NOSIGNAL);
}

size_t np_stream_encode_hdr(np_stream *st, uint8_t *out, uint64_t len, const np_msg *m)
{
    if (st->ops->framing)
        return st->ops->framing->encode_hdr(st, out, len, m);
    np_frame_encode_hdr(out, st->ops->ipc, len);
    return np_frame_hdr_len(st->ops->ipc);
}

/* ---- reading ------------------------------------------------------------------------- */

/* Received bytes land in a buffer of the reading thread (the I/O thread, or a caller
 * reading directly), shared by every connection it reads: a read cuts every complete frame
 * out before it returns (a partial frame goes into the decoder, which keeps its header and
 * its body in the message being filled). Only the bytes of a connection whose inbound queue
 * is full stay behind, in storage of its own sized to them, so no connection holds a read
 * buffer of its own. The buffer is freed when its thread ends (the ones of threads that
 * are still running at exit stay listed, reachable). */
typedef struct stream_rbuf {
    struct stream_rbuf *next;  /* every thread's buffer is listed: reachable until freed */
    uint8_t bytes[STREAM_RBUF_SIZE];
} stream_rbuf;

static pthread_key_t stream_rbuf_key;
static pthread_once_t stream_rbuf_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t stream_rbufs_lock = PTHREAD_MUTEX_INITIALIZER;
static stream_rbuf *stream_rbufs;

static void stream_rbuf_free(void *p)
{
    pthread_mutex_lock(&stream_rbufs_lock);
    for (stream_rbuf **pp = &stream_rbufs; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = ((stream_rbuf *)p)->next;
            break;
        }
    }
    pthread_mutex_unlock(&stream_rbufs_lock);
    free(p);
}

static void stream_rbuf_key_init(void) { pthread_key_create(&stream_rbuf_key, stream_rbuf_free); }

static uint8_t *stream_thread_rbuf(void)
{
    pthread_once(&stream_rbuf_once, stream_rbuf_key_init);
    stream_rbuf *rb = pthread_getspecific(stream_rbuf_key);
    if (rb)
        return rb->bytes;
    if (!(rb = malloc(sizeof(*rb))))
        return NULL;
    if (pthread_setspecific(stream_rbuf_key, rb) != 0) {
        free(rb);
        return NULL;
    }
    pthread_mutex_lock(&stream_rbufs_lock);
    rb->next = stream_rbufs;
    stream_rbufs = rb;
    pthread_mutex_unlock(&stream_rbufs_lock);
    return rb->bytes;
}

static int stream_inbound_room(np_pipe *p) { return np_ring_has_room(&p->inq, p->in_limit); }

static void stream_deliver(np_stream *st, np_msg *m)
{
    np_pipe *p = st->pipe;
    m->pipe = p->id;
    if (!(st->sock->ops->dirs & NP_CAN_RECV) || np_ring_push(&p->inq, m, np_msg_wire_len(m)))
        np_msg_free(m);  /* PUB/PUSH never read what a peer sends */
}

/* Pause reading when the pipe's inbound queue is full. Returns 1 if reading may go on. */
static int stream_stall_reading(np_stream *st)
{
    np_stream_pipe *sp = np_stream_pipe_of(st->pipe);
    atomic_store(&sp->read_stalled, 1);
    if (stream_inbound_room(st->pipe)) {
        atomic_store(&sp->read_stalled, 0);
        return 1;
    }
    np_loop_set_events(&st->ioh, st->ioh.events & ~NP_IO_IN);
    return 0;
}

/* Feed buffered bytes to the decoder: consumed count or -errno; *m on a complete message. */
static ssize_t stream_decode(np_stream *st, np_msg **m)
{
    const uint8_t *buf = st->rbuf + st->roff;
    size_t len = st->rlen - st->roff;
    if (st->ops->framing) {
        *m = NULL;
        return st->ops->framing->decode(st, buf, len, m);
    }
    st->dec.max_size = st->sock->rcvmaxsize;
    return np_decoder_feed(&st->dec, buf, len, m);
}

/* No room in the inbound ring: pause (I/O thread) or stop (a direct reader, who takes
 * messages next). Returns 1 if reading may go on after all. */
static int stream_full(np_stream *st, int direct)
{
    return direct ? stream_inbound_room(st->pipe) : stream_stall_reading(st);
}

/* Cut every complete frame out of rbuf. 0: done (or paused), -1: close. *delivered counts. */
static int stream_drain_rbuf(np_stream *st, int direct, int *delivered, int *paused)
{
    while (st->roff < st->rlen) {
        if (!stream_inbound_room(st->pipe) && !stream_full(st, direct)) {
            *paused = 1;
            return 0;
        }
        np_msg *m;
        ssize_t n = stream_decode(st, &m);
        if (n < 0)
            return -1;
        st->roff += (size_t)n;
        if (m) {
            st->large = m->body_len >= STREAM_DIRECT_READ_MIN;
            stream_deliver(st, m);
            (*delivered)++;
        }
    }
    if (!st->rbuf_shared)
        free(st->rbuf);  /* bytes kept while reading was paused, all delivered now */
    st->rbuf = NULL;
    st->rbuf_shared = 0;
    st->roff = st->rlen = 0;
    return 0;
}

/* Move the bytes left in the shared buffer (reading paused) into storage of the
 * connection's own. 0, or -1 (no memory). */
static int stream_keep_rest(np_stream *st)
{
    if (!st->rbuf_shared)
        return 0;
    size_t n = st->rlen - st->roff;
    uint8_t *own = malloc(n);
    if (!own)
        return -1;
    memcpy(own, st->rbuf + st->roff, n);
    st->rbuf = own;
    st->rbuf_shared = 0;
    st->roff = 0;
    st->rlen = n;
    return 0;
}

/* One read: into the message body being filled (large frames) or into rbuf. Sets *asked. */
static ssize_t stream_read_once(np_stream *st, size_t *asked, int *delivered)
{
    uint8_t *direct;
    size_t space = st->ops->framing ? 0 : np_decoder_direct(&st->dec, &direct);
    ssize_t r;
    if (space >= STREAM_DIRECT_READ_MIN) {
        *asked = space;
        r = np_stream_recv(st, direct, space);
        if (r > 0) {
            np_msg *m;
            np_decoder_advance(&st->dec, (size_t)r, &m);
            if (m) {
                st->large = 1;
                stream_deliver(st, m);
                (*delivered)++;
            }
        }
        return r;
    }
    size_t hdr_left = st->ops->framing ? 0 : np_frame_hdr_len(st->ops->ipc) - st->dec.hdr_have;
    *asked = st->large && space == 0 && hdr_left > 0 ? hdr_left : STREAM_RBUF_SIZE;
    st->rbuf = stream_thread_rbuf();  /* empty: the previous bytes were all cut out */
    if (!st->rbuf) {
        errno = ENOMEM;
        return -1;
    }
    st->rbuf_shared = 1;
    st->roff = st->rlen = 0;
    r = np_stream_recv(st, st->rbuf, *asked);
    if (r > 0)
        st->rlen = (size_t)r;
    return r;
}

/* Read and deliver (*delivered counts messages). 0, or -1: close. */
static int stream_read(np_stream *st, int direct, int *delivered_out)
{
    int delivered = 0, paused = 0, rc = 0, drained = 0;
    for (int iter = 0; iter < 64; iter++) {
        if (stream_drain_rbuf(st, direct, &delivered, &paused) != 0) {
            rc = -1;
            break;
        }
        if (drained || paused || (!stream_inbound_room(st->pipe) && !stream_full(st, direct)))
            break;
        size_t asked;
        ssize_t r = stream_read_once(st, &asked, &delivered);
        if (r == 0) {
            rc = -1;
            break;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                rc = -1;
            break;
        }
        /* A short read means the kernel had nothing more: cut the frames out of what we
         * have and stop, without a read that would only say EAGAIN (level-triggered
         * readiness brings us back if more arrived meanwhile). */
        if ((size_t)r < asked && !st->ops->read_buffers)
            drained = 1;
    }
    /* The thread's buffer must be empty before it reads another connection: cut what the
     * last read brought, and keep what a full inbound queue could not take yet. */
    if (rc == 0 && st->roff < st->rlen &&
        stream_drain_rbuf(st, direct, &delivered, &paused) != 0)
        rc = -1;
    if (rc == 0 && st->roff < st->rlen && stream_keep_rest(st) != 0)
        rc = -1;
    if (st->rbuf_shared) {
        st->rbuf = NULL;  /* closing (rc -1) or empty: nothing of this connection stays */
        st->rbuf_shared = 0;
        st->roff = st->rlen = 0;
    }
    *delivered_out = delivered;
    return rc;
}

int np_stream_read_some(np_stream *st)
{
    int delivered;
    int rc = stream_read(st, 0, &delivered);
    if (delivered)
        np_sock_notify_in(st->sock, 1);
    return rc;
}

int np_stream_read_direct(np_stream *st)
{
    int delivered;
    int rc = stream_read(st, 1, &delivered);
    return rc ? rc : delivered;
}

/* The I/O thread's turn (sp->reader, see stream_read.c). */
int np_stream_loop_read(np_stream *st)
{
    np_stream_pipe *sp = np_stream_pipe_of(st->pipe);
    int v = NP_STREAM_READER_LOOP;
    if (!atomic_compare_exchange_strong(&sp->reader, &v, NP_STREAM_READER_LOOP_BUSY))
        return 0;  /* a caller reads it, or it is on its way out */
    int rc = np_stream_read_some(st);
    atomic_store(&sp->reader, rc ? NP_STREAM_READER_DOOMED : NP_STREAM_READER_LOOP);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------- */

/*
 * A batch being written needs iovecs, the large messages they point into, their frame
 * headers and the staging buffer of small frames (~70 KiB together). A connection holds
 * them only while it has a batch in flight: once its queue is drained they go back to the
 * I/O thread's one spare set, which the next connection to write takes, so idle
 * connections hold none and a busy thread does not allocate per burst.
 */
typedef struct stream_wspace {
    struct iovec iov[NP_STREAM_IOV_MAX];  /* first: st->iov is the block's address */
    np_msg *batch[NP_STREAM_BATCH_MAX];
    uint8_t fhdr[NP_STREAM_BATCH_MAX][NP_STREAM_HDR_MAX];
} stream_wspace;

static struct {
    stream_wspace *ws;
    uint8_t *wbuf;
} stream_spare;  /* I/O thread only */

static int stream_take_wspace(np_stream *st)
{
    stream_wspace *ws = stream_spare.ws;
    if (ws) {
        stream_spare.ws = NULL;
        st->wbuf = stream_spare.wbuf;
        stream_spare.wbuf = NULL;
    } else if (!(ws = malloc(sizeof(*ws)))) {
        return -1;
    }
    st->iov = ws->iov;
    st->batch = ws->batch;
    st->fhdr = ws->fhdr;
    return 0;
}

/* Nothing in flight: hand the batch storage back (kept as the spare, or freed). */
static void stream_release_wspace(np_stream *st)
{
    if (!st->iov)
        return;
    stream_wspace *ws = (stream_wspace *)(void *)st->iov;
    if (!stream_spare.ws) {
        stream_spare.ws = ws;
        stream_spare.wbuf = st->wbuf;
    } else {
        free(ws);
        free(st->wbuf);
    }
    st->iov = NULL;
    st->batch = NULL;
    st->fhdr = NULL;
    st->wbuf = NULL;
}

void np_stream_free_wspace(np_stream *st)
{
    free(st->iov);  /* the workspace block starts with the iovecs */
    free(st->wbuf);
    st->iov = NULL;
    st->batch = NULL;
    st->fhdr = NULL;
    st->wbuf = NULL;
}

/* Advance the batch's iovecs past n written bytes. */
static void stream_consume_iov(np_stream *st, size_t n)
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

/* Append [p, p+n) to the iovecs, merging with the previous one when contiguous. */
static void stream_push_iov(np_stream *st, uint8_t *p, size_t n)
{
    struct iovec *last = st->niov ? &st->iov[st->niov - 1] : NULL;
    if (last && (uint8_t *)last->iov_base + last->iov_len == p)
        last->iov_len += n;
    else
        st->iov[st->niov++] = (struct iovec){p, n};
}

/* Copy one small frame into the staging buffer. 0, or -1 when it does not fit. */
static int stream_stage_small(np_stream *st, np_msg *m)
{
    uint8_t hdr[NP_STREAM_HDR_MAX];
    size_t wire = np_msg_wire_len(m);
    size_t hl = m->framed ? 0 : np_stream_encode_hdr(st, hdr, wire, m);
    if (st->wlen + hl + wire > STREAM_WBUF_SIZE)
        return -1;
    uint8_t *dst = st->wbuf + st->wlen;
    memcpy(dst, hdr, hl);
    memcpy(dst + hl, m->hdr, m->hdr_len);
    if (m->body_len)
        memcpy(dst + hl + m->hdr_len, m->body, m->body_len);
    if (st->ops->framing && st->ops->framing->filter)
        st->ops->framing->filter(st, dst + hl, wire, 0);
    stream_push_iov(st, dst, hl + wire);
    st->wlen += hl + wire;
    return 0;
}

/* Gather one large frame from its chunks (or a filtered copy of them). 0 or -1 (no memory). */
static int stream_stage_large(np_stream *st, np_msg *m)
{
    size_t wire = np_msg_wire_len(m);
    int i = st->nbatch;
    size_t hl = m->framed ? 0 : np_stream_encode_hdr(st, st->fhdr[i], wire, m);
    if (st->ops->framing && st->ops->framing->filter) {
        np_msg *copy = np_msg_flat_copy(m);
        if (!copy)
            return -1;
        st->ops->framing->filter(st, copy->body, copy->body_len, 0);
        np_msg_free(m);
        m = copy;
    }
    st->batch[st->nbatch++] = m;
    if (hl)
        st->iov[st->niov++] = (struct iovec){st->fhdr[i], hl};
    if (m->hdr_len)
        st->iov[st->niov++] = (struct iovec){m->hdr, m->hdr_len};
    if (m->body_len)
        st->iov[st->niov++] = (struct iovec){m->body, m->body_len};
    return 0;
}

/*
 * Take queued messages for one write: small frames are copied back to back into the staging
 * buffer (one iovec for hundreds of messages), large ones are gathered from their chunks.
 * Returns non-zero when there is something to write.
 */
static int stream_fill_batch(np_stream *st)
{
    np_stream_pipe *sp = np_stream_pipe_of(st->pipe);
    st->niov = st->iov_pos = 0;
    st->wlen = 0;
    while (st->nbatch < NP_STREAM_BATCH_MAX && st->niov < NP_STREAM_BATCH_MAX * 3) {
        np_msg *m = np_ring_peek(&sp->outq);
        if (!m)
            break;
        size_t wire = np_msg_wire_len(m);
        /* Small frames are copied into wbuf, allocated on first use (without it, for lack
         * of memory, they go out by reference like large ones). */
        if (NP_STREAM_HDR_MAX + wire <= STREAM_SMALL_FRAME &&
            (st->wbuf || (st->wbuf = malloc(STREAM_WBUF_SIZE)) != NULL)) {
            if (stream_stage_small(st, m) != 0)
                break;
            np_ring_pop(&sp->outq, wire);
            np_msg_free(m);
            continue;
        }
        np_ring_pop(&sp->outq, wire);
        if (stream_stage_large(st, m) != 0)
            np_msg_free(m);  /* out of memory: the message is lost, the stream stays whole */
    }
    if (st->niov && sp->partial) {
        /* A caller already wrote the start of the first message directly. */
        stream_consume_iov(st, sp->partial);
        sp->partial = 0;
    }
    return st->niov;
}

static void stream_batch_done(np_stream *st)
{
    for (int i = 0; i < st->nbatch; i++)
        np_msg_free(st->batch[i]);
    st->nbatch = 0;
    st->niov = st->iov_pos = 0;
}

int np_stream_write_some(np_stream *st)
{
    np_stream_pipe *sp = np_stream_pipe_of(st->pipe);
    if (atomic_load(&sp->write_scheduled) != 1) {
        /* Nothing for us: idle, or a caller is writing directly (it hands over if needed). */
        np_loop_set_events(&st->ioh, st->ioh.events & ~NP_IO_OUT);
        return 0;
    }
    for (;;) {
        if (st->iov_pos >= st->niov) {
            if (!st->iov && stream_take_wspace(st) != 0)
                return -1;  /* out of memory: nothing can be written */
            if (stream_fill_batch(st) == 0) {
                atomic_store(&sp->write_scheduled, 0);
                if (np_ring_count(&sp->outq) > 0 && !atomic_exchange(&sp->write_scheduled, 1))
                    continue;
                stream_release_wspace(st);
                if (np_ring_oversized(&sp->outq))
                    np_stream_trim_later(st);
                np_loop_set_events(&st->ioh, NP_IO_IN & st->ioh.events ? NP_IO_IN : 0);
                return 0;
            }
            /* Room was made: a sender blocked on a full pipe may go on. (Checking whether
             * the ring was full before popping would race with a sender filling it.) */
            np_sock_notify_out(st->sock);
        }
        ssize_t n = np_stream_writev(st, st->iov + st->iov_pos, st->niov - st->iov_pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                np_loop_set_events(&st->ioh, st->ioh.events | NP_IO_OUT);
                return 0;
            }
            return -1;
        }
        stream_consume_iov(st, (size_t)n);
        if (st->iov_pos >= st->niov)
            stream_batch_done(st);
    }
}

/* ---- giving ring arrays back ------------------------------------------------------- */

#define STREAM_TRIM_DELAY_MS 20  /* traffic that goes on within this keeps its ring arrays */

/*
 * Rings grow with a burst (up to 4,096 slots and the arrays they replaced) and would keep
 * that size for the life of the connection. Once both are empty, the I/O thread gives their
 * arrays back: it is the lock-free end of both rings (consumer of the outbound one,
 * producer of the inbound one), and the other ends push and pop under the socket's lock,
 * which it takes for the trim. It waits a little first, so a steady flow that empties its
 * rings now and then does not give back and regrow them every time, and it never waits
 * for the lock: when busy, it tries again later. A caller reading the descriptor directly
 * also fills the inbound ring; that ring is left alone while a caller holds the read side.
 */
void np_stream_trim_later(np_stream *st)
{
    if (!st->trim_timer.armed)
        np_timer_start(&st->trim_timer, STREAM_TRIM_DELAY_MS, 0);
}

void np_stream_trim_timeout(np_timer *t, uint64_t seq)
{
    (void)seq;
    np_stream *st = t->owner;
    if (st->state != NP_STREAM_ACTIVE || !st->pipe)
        return;
    np_pipe *p = st->pipe;
    np_stream_pipe *sp = np_stream_pipe_of(p);
    if (pthread_mutex_trylock(&p->sock->lock) != 0) {
        np_stream_trim_later(st);
        return;
    }
    np_ring_trim(&sp->outq);
    if (atomic_load(&sp->reader) != NP_STREAM_READER_CALLER)
        np_ring_trim(&p->inq);
    pthread_mutex_unlock(&p->sock->lock);
}
