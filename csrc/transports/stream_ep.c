/*
 * stream_ep.c - stream endpoints: a bound one accepts connections; a connecting one keeps
 * one connection up, retrying with nanomsg's backoff. I/O thread only.
 */
#include "transports/stream_engine.h"

#include "platform/sockio.h"

#include <unistd.h>

#define STREAM_ACCEPT_PAUSE_MS 100  /* after EMFILE: stop accepting for a moment, don't spin */

/* ---- bound endpoints --------------------------------------------------------------- */

static void stream_accept_resume(np_timer *t, uint64_t seq)
{
    (void)seq;
    np_ep *ep = t->owner;
    np_stream_ep *sep = ep->tdata;
    if (!ep->stopping)
        np_loop_set_events(&sep->listen_ioh, NP_IO_IN);
}

static void stream_accept_event(np_ioh *h, uint32_t ev)
{
    (void)ev;
    np_ep *ep = h->owner;
    np_stream_ep *sep = ep->tdata;
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
            np_timer_start(&sep->retry_timer, STREAM_ACCEPT_PAUSE_MS, 0);
            return;
        }
        np_set_nonblock_cloexec(fd);
        atomic_fetch_add(&ep->sock->accepted, 1);
        ep->last_error = 0;
        np_stream_tune_fd(ep->sock, fd, sep->ops);
        np_stream_conn_start(ep, fd, 0, NULL);
    }
}

int np_stream_bind(np_ep *ep, const np_stream_ops *ops)
{
    np_stream_ep *sep = ep->tdata;
    sep->ops = ops;
    sep->listen_ioh.fd = sep->conn_ioh.fd = -1;
    int fd = ops->listen(ep);
    if (fd < 0)
        return fd;
    np_ep_note_bound_fd(ep, fd);
    sep->listen_ioh.fd = fd;
    sep->listen_ioh.cb = stream_accept_event;
    sep->listen_ioh.owner = ep;
    sep->retry_timer.cb = stream_accept_resume;
    sep->retry_timer.owner = ep;
    int rc = np_loop_add(&sep->listen_ioh, NP_IO_IN);
    if (rc) {
        close(fd);
        sep->listen_ioh.fd = -1;
        ops->unlisten(ep);
    }
    return rc;
}

void np_stream_bind_shared(np_ep *ep, const np_stream_ops *ops)
{
    np_stream_ep *sep = ep->tdata;
    sep->ops = ops;
    sep->listen_ioh.fd = sep->conn_ioh.fd = -1;
}

int np_stream_adopt(np_ep *ep, int fd, void *handoff)
{
    np_stream_ep *sep = ep->tdata;
    atomic_fetch_add(&ep->sock->accepted, 1);
    ep->last_error = 0;
    np_stream_tune_fd(ep->sock, fd, sep->ops);
    return np_stream_conn_start(ep, fd, 0, handoff);
}

/* ---- connecting endpoints ------------------------------------------------------------ */

static void stream_connect_attempt(np_ep *ep);

static void stream_retry_fired(np_timer *t, uint64_t seq)
{
    (void)seq;
    np_ep *ep = t->owner;
    np_stream_ep *sep = ep->tdata;
    if (!ep->stopping && !sep->has_live_conn && sep->conn_ioh.fd < 0)
        stream_connect_attempt(ep);
}

static void stream_schedule_retry(np_ep *ep)
{
    np_stream_ep *sep = ep->tdata;
    if (ep->stopping)
        return;
    /* nanomsg's backoff: wait (n-1) * IVL, doubling n until the wait reaches IVL_MAX. */
    int64_t ivl = ep->reconnect_ivl;
    int64_t max = ep->reconnect_ivl_max > 0 ? ep->reconnect_ivl_max : ivl;
    int64_t wait = (int64_t)(sep->backoff_n - 1) * ivl;
    if (wait > max)
        wait = max;
    else if (sep->backoff_n < (1 << 20))
        sep->backoff_n *= 2;
    np_timer_start(&sep->retry_timer, wait, 0);
}

static void stream_connect_done(np_ioh *h, uint32_t ev)
{
    np_ep *ep = h->owner;
    np_stream_ep *sep = ep->tdata;
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
        stream_schedule_retry(ep);
        return;
    }
    atomic_fetch_add(&ep->sock->established, 1);
    ep->last_error = 0;
    sep->has_live_conn = 1;
    np_stream_tune_fd(ep->sock, fd, sep->ops);
    np_stream_conn_start(ep, fd, 1, NULL);
}

static void stream_connect_attempt(np_ep *ep)
{
    np_stream_ep *sep = ep->tdata;
    int fd = sep->ops->start_connect(ep);
    if (fd < 0) {
        atomic_fetch_add(&ep->sock->connect_errors, 1);
        ep->last_error = -fd;
        np_ep_report_failure(ep, NP_EV_CONNECT_FAILED, -1);
        stream_schedule_retry(ep);
        return;
    }
    sep->conn_ioh.fd = fd;
    sep->conn_ioh.cb = stream_connect_done;
    sep->conn_ioh.owner = ep;
    atomic_fetch_add(&ep->sock->inprogress, 1);
    if (np_loop_add(&sep->conn_ioh, NP_IO_OUT) != 0) {
        close(fd);
        sep->conn_ioh.fd = -1;
        atomic_fetch_sub(&ep->sock->inprogress, 1);
        stream_schedule_retry(ep);
    }
}

int np_stream_connect(np_ep *ep, const np_stream_ops *ops)
{
    np_stream_ep *sep = ep->tdata;
    sep->ops = ops;
    sep->listen_ioh.fd = sep->conn_ioh.fd = -1;
    int rc = ops->check_connect(ep);
    if (rc)
        return rc;
    sep->backoff_n = 1;
    sep->conn_gone = stream_schedule_retry;
    sep->retry_timer.cb = stream_retry_fired;
    sep->retry_timer.owner = ep;
    stream_connect_attempt(ep);
    return 0;
}

void np_stream_ep_stop(np_ep *ep)
{
    np_stream_ep *sep = ep->tdata;
    ep->stopping = 1;
    np_timer_cancel(&sep->retry_timer);
    if (ep->bound && sep->listen_ioh.fd >= 0) {
        np_loop_remove(&sep->listen_ioh);
        close(sep->listen_ioh.fd);
        sep->listen_ioh.fd = -1;
        sep->ops->unlisten(ep);
    }
    if (!ep->bound && sep->conn_ioh.fd >= 0) {
        np_loop_remove(&sep->conn_ioh);
        close(sep->conn_ioh.fd);
        sep->conn_ioh.fd = -1;
        atomic_fetch_sub(&ep->sock->inprogress, 1);
    }
    while (sep->conns)
        np_stream_conn_close(sep->conns, 0);
}
