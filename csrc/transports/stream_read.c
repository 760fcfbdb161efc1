/*
 * stream_read.c - direct receive for stream pipes (the pipe_read_* hooks of transport.h),
 * the mirror of the direct write in stream_pipe.c: a caller about to sleep until its only
 * pipe has a message reads the connection on its own thread, so no I/O-thread wake-up and
 * no hand-off through the readiness descriptor sit between the kernel and the caller.
 *
 * Who may read the descriptor is sp->reader (NP_STREAM_READER_*): the I/O thread after
 * moving it from LOOP to LOOP_BUSY, a caller while it is CALLER, nobody once DOOMED or
 * CLOSED. Callers take and give back the read side under the socket's lock, so they never
 * overlap each other. While a caller holds it, the connection's input is lent
 * (np_loop_lend_in): the I/O thread is not woken by the bytes the caller reads. The caller
 * also holds the connection (st->holds), so an I/O-thread close in the meantime leaves the
 * descriptor open and the read state allocated until the caller lets go.
 */
#include "transports/stream_engine.h"

#include "platform/sockio.h"

static void stream_read_close_cmd(void *arg)
{
    np_pipe *p = arg;
    np_stream *st = np_stream_pipe_of(p)->conn;
    if (st && st->state == NP_STREAM_ACTIVE)
        np_stream_conn_close(st, 1);
    np_pipe_unref(p);
}

/* A direct reader left frames in rbuf (the inbound ring was full): the I/O thread goes on
 * with them (and pauses properly if the ring is still full). */
static void stream_read_resume_cmd(void *arg)
{
    np_pipe *p = arg;
    np_stream *st = np_stream_pipe_of(p)->conn;
    if (st && st->state == NP_STREAM_ACTIVE && np_stream_loop_read(st) != 0)
        np_stream_conn_close(st, 1);
    np_pipe_unref(p);
}

int np_stream_pipe_read_begin(np_pipe *p)
{
    np_stream_pipe *sp = np_stream_pipe_of(p);
    np_stream *st = sp->rconn;
    /* Transports with their own byte layer or framing read on the I/O thread only. */
    if (!sp->direct_ok || !st || atomic_load(&sp->reader) != NP_STREAM_READER_LOOP)
        return -1;
    /* Lend first, then claim: once the claim succeeds the I/O thread is already deaf to
     * this descriptor, so it never spins on input it may not read. (The pipe is not dead
     * and sock->lock is held: st cannot be freed under us.) */
    if (np_loop_lend_in(&st->ioh, 1) != 0)
        return -1;
    int v = NP_STREAM_READER_LOOP;
    if (!atomic_compare_exchange_strong(&sp->reader, &v, NP_STREAM_READER_CALLER)) {
        np_loop_lend_in(&st->ioh, 0);  /* the I/O thread is reading right now */
        return -1;
    }
    if (st->roff < st->rlen) {
        /* Frames left in rbuf by a paused read: the I/O thread resumes with them. */
        atomic_store(&sp->reader, NP_STREAM_READER_LOOP);
        np_loop_lend_in(&st->ioh, 0);
        return -1;
    }
    atomic_fetch_add(&st->holds, 1);
    return st->ioh.fd;
}

int np_stream_pipe_read_some(np_pipe *p)
{
    np_stream_pipe *sp = np_stream_pipe_of(p);
    if (atomic_load(&sp->reader) != NP_STREAM_READER_CALLER)
        return -1;  /* closed by the I/O thread meanwhile */
    int n = np_stream_read_direct(sp->rconn);
    if (n >= 0)
        return n;
    /* Broken (peer gone, hostile frame): nobody reads any more, the I/O thread closes it. */
    int v = NP_STREAM_READER_CALLER;
    if (atomic_compare_exchange_strong(&sp->reader, &v, NP_STREAM_READER_DOOMED)) {
        np_pipe_ref(p);
        if (np_loop_post(stream_read_close_cmd, p) != 0)
            np_pipe_unref(p);
    }
    return -1;
}

void np_stream_pipe_read_end(np_pipe *p)
{
    np_stream_pipe *sp = np_stream_pipe_of(p);
    np_stream *st = sp->rconn;
    int v = NP_STREAM_READER_CALLER;
    int leftover = st->roff < st->rlen;  /* read while we still own the read state */
    /* Hand back before re-arming: when the I/O thread hears of input again, it may read. */
    if (atomic_compare_exchange_strong(&sp->reader, &v, NP_STREAM_READER_LOOP)) {
        np_loop_lend_in(&st->ioh, 0);
        if (leftover) {
            /* No input event would bring the I/O thread back to these bytes. */
            np_pipe_ref(p);
            if (np_loop_post(stream_read_resume_cmd, p) != 0)
                np_pipe_unref(p);
        }
    }
    np_stream_conn_release(st);
}
