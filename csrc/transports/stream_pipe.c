/*
 * stream_pipe.c - the pipe hooks of stream transports (transport.h): direct writes from the
 * caller's thread when the pipe is idle, and the hand-offs to the I/O thread otherwise.
 */
#include "transports/stream_engine.h"

#include "platform/clock.h"
#include "platform/sockio.h"

#define STREAM_DIRECT_GAP_US 5  /* sends closer together than this are a burst: batch them */

static void stream_kick_write_cmd(void *arg)
{
    np_pipe *p = arg;
    np_stream_pipe *sp = np_stream_pipe_of(p);
    np_stream *st = sp->conn;
    if (st && st->state == NP_STREAM_ACTIVE) {
        if (np_stream_write_some(st) != 0)
            np_stream_conn_close(st, 1);
    } else {
        atomic_store(&sp->write_scheduled, 0);
    }
    np_pipe_unref(p);
}

static void stream_kick_read_cmd(void *arg)
{
    np_pipe *p = arg;
    np_stream *st = np_stream_pipe_of(p)->conn;
    if (st && st->state == NP_STREAM_ACTIVE) {
        np_loop_set_events(&st->ioh, st->ioh.events | NP_IO_IN);
        if (np_stream_loop_read(st) != 0)
            np_stream_conn_close(st, 1);
    }
    np_pipe_unref(p);
}

/*
 * Queue one of the pipe's own commands, handing it a reference on p. The flags
 * (write_scheduled, read_stalled) post each at most once per need, but the poller may
 * flush a pipe before its queued command runs, and the next need finds the command still
 * queued: it runs once and does the work of both, with one reference.
 */
static int stream_post(np_loop_task *t, void (*fn)(void *), np_pipe *p)
{
    if (t->fn != fn) {  /* set once, before the first post: never changes while queued */
        t->fn = fn;
        t->arg = p;
    }
    np_pipe_ref(p);
    int rc = np_loop_post_task(t);
    if (rc != 0)
        np_pipe_unref(p);
    return rc < 0 ? rc : 0;
}

/* Write m with one sendmsg; when the kernel takes only part, queue the rest. */
static int stream_write_direct(np_pipe *p, np_stream_pipe *sp, np_msg *m)
{
    uint8_t fhdr[9];
    size_t hl = m->framed ? 0 : np_frame_hdr_len(sp->ipc);
    struct iovec iov[3];
    int n = 0;
    if (hl) {
        np_frame_encode_hdr(fhdr, sp->ipc, np_msg_wire_len(m));
        iov[n++] = (struct iovec){fhdr, hl};
    }
    if (m->hdr_len)
        iov[n++] = (struct iovec){m->hdr, m->hdr_len};
    if (m->body_len)
        iov[n++] = (struct iovec){m->body, m->body_len};
    size_t total = hl + np_msg_wire_len(m);
    struct msghdr mh = {0};
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    ssize_t w = sendmsg(sp->fd, &mh, MSG_DONTWAIT | NP_MSG_NOSIGNAL);
    if (w >= 0 && (size_t)w == total) {
        np_msg_free(m);
        atomic_store(&sp->write_scheduled, 0);
        return 0;
    }
    /* Partly written (or an error the I/O thread will find): it finishes the message. */
    sp->partial = w > 0 ? (size_t)w : 0;
    np_ring_push(&sp->outq, m, np_msg_wire_len(m));
    atomic_store(&sp->write_scheduled, 1);
    stream_post(&sp->write_task, stream_kick_write_cmd, p);
    return 0;
}

int np_stream_pipe_send(np_pipe *p, np_msg *m)
{
    np_stream_pipe *sp = np_stream_pipe_of(p);
    /* Cheap tests first: the clock is read only when the pipe looks idle. */
    if (!sp->direct_ok || np_ring_count(&sp->outq) != 0 ||
        atomic_load(&sp->write_scheduled) != 0)
        return NP_PIPE_QUEUE;
    /* The gap is per socket (sock->lock is held): a PUSH or PUB spreading a burst over
     * many pipes finds each pipe idle, but one system call per message would make the
     * send cost grow with the number of peers; queued, the I/O thread writes each pipe
     * once per burst. */
    int64_t now = np_now_us();
    int64_t last = p->sock->last_send_us;
    p->sock->last_send_us = now;
    if (now - last < STREAM_DIRECT_GAP_US)
        return NP_PIPE_QUEUE;
    int idle = 0;
    if (!atomic_compare_exchange_strong(&sp->write_scheduled, &idle, 2))
        return NP_PIPE_QUEUE;
    int rc = stream_write_direct(p, sp, m);
    /* The gap counts from the end of the write: over loopback a sendmsg runs the
     * receiver's side too and can take tens of microseconds, so measured from its start
     * every next send of a burst (the next pipe of a PUB, the next peer of a PUSH) would
     * look idle and go direct as well. */
    p->sock->last_send_us = np_now_us();
    return rc;
}

void np_stream_pipe_kick_write(np_pipe *p)
{
    np_stream_pipe *sp = np_stream_pipe_of(p);
    if (atomic_exchange(&sp->write_scheduled, 1))
        return;  /* the I/O thread is already flushing this pipe */
    if (stream_post(&sp->write_task, stream_kick_write_cmd, p) != 0)
        atomic_store(&sp->write_scheduled, 0);
}

static void stream_trim_cmd(void *arg)
{
    np_pipe *p = arg;
    np_stream_pipe *sp = np_stream_pipe_of(p);
    atomic_store(&sp->trim_posted, 0);
    if (sp->conn && sp->conn->state == NP_STREAM_ACTIVE)
        np_stream_trim_later(sp->conn);
    np_pipe_unref(p);
}

void np_stream_pipe_kick_read(np_pipe *p)
{
    np_stream_pipe *sp = np_stream_pipe_of(p);
    /* The application took the last message of a ring a burst made big: the I/O thread
     * gives the arrays back soon if the pipe stays idle (one request at a time). */
    if (np_ring_count(&p->inq) == 0 && np_ring_oversized(&p->inq) &&
        !atomic_exchange(&sp->trim_posted, 1)) {
        np_pipe_ref(p);
        if (np_loop_post(stream_trim_cmd, p) != 0) {
            atomic_store(&sp->trim_posted, 0);
            np_pipe_unref(p);
        }
    }
    if (!atomic_load(&sp->read_stalled) || !atomic_exchange(&sp->read_stalled, 0))
        return;
    stream_post(&sp->read_task, stream_kick_read_cmd, p);
}

int np_stream_pipe_pending(np_pipe *p)
{
    np_stream_pipe *sp = np_stream_pipe_of(p);
    return np_ring_count(&sp->outq) > 0 || atomic_load(&sp->write_scheduled);
}

size_t np_stream_pipe_frame_hdr(np_pipe *p, uint8_t *out, uint64_t len)
{
    np_stream_pipe *sp = np_stream_pipe_of(p);
    if (!sp->sp_framing)
        return 0;
    np_frame_encode_hdr(out, sp->ipc, len);
    return np_frame_hdr_len(sp->ipc);
}

void np_stream_pipe_fini(np_pipe *p)
{
    np_stream_pipe *sp = np_stream_pipe_of(p);
    np_msg *m;
    while ((m = np_ring_peek(&sp->outq)) != NULL) {
        np_ring_pop(&sp->outq, np_msg_wire_len(m));
        np_msg_free(m);
    }
    np_ring_fini(&sp->outq);
}
