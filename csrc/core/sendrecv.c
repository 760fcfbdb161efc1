/*
 * sendrecv.c - nn_send / nn_recv and their batch forms: hand the message to the protocol
 * under the socket lock, and wait on NN_SNDFD / NN_RCVFD (no lock held) when it would block.
 */
#include "core/table.h"
#include "core/wait.h"
#include "transports/transport.h"

#include <string.h>

static void sendrecv_count_sent(np_sock *s, size_t len)
{
    atomic_fetch_add(&s->msgs_sent, 1);
    atomic_fetch_add(&s->bytes_sent, len);
}

/*
 * Hand m to the protocol, waiting for room as the options say. Called with a hold; returns
 * 0 (m consumed) or -errno (m still the caller's).
 */
static int sendrecv_send_one(np_sock *s, np_msg *m, int flags, int64_t *deadline)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (s->closing) {
            pthread_mutex_unlock(&s->lock);
            return np_table_closed_error();
        }
        size_t len = m->body_len;
        /* Pipes this send asks the I/O thread to flush go over in one hand-off. */
        np_loop_batch_begin();
        int rc = s->ops->send(s, m);
        np_loop_batch_end();
        if (rc == 0)
            sendrecv_count_sent(s, len);
        if (rc != -EAGAIN) {
            np_sock_update_ready(s);
            pthread_mutex_unlock(&s->lock);
            return rc;
        }
        rc = np_wait_after_eagain(s, &s->snd_efd, s->ops->can_send, flags, deadline,
                                  s->sndtimeo);
        if (rc)
            return rc;
    }
}

/* Pipes from the round-robin cursor a load-balanced send may go to (see below). */
#define SENDRECV_LB_LOOKAHEAD 4

/* Would a send wake a receiver of this process that is asleep? (takes sock->lock) */
static int sendrecv_local_peer_asleep(np_sock *s)
{
    if (!atomic_load_explicit(&s->local_pipes, memory_order_relaxed))
        return 0;
    int asleep = 0;
    pthread_mutex_lock(&s->lock);
    /* A load-balanced send goes to the pipe at the round-robin cursor (or, when that one is
     * full, one of the next): look only there, so the test stays O(1) with many peers.
     * Other sockets send to every pipe, which costs O(pipes) anyway. */
    int n = s->npipes;
    int start = s->ops->lb_priority && n ? s->lb_cursor % n : 0;
    int look = s->ops->lb_priority && n > SENDRECV_LB_LOOKAHEAD ? SENDRECV_LB_LOOKAHEAD : n;
    for (int k = 0; k < look && !asleep; k++) {
        np_pipe *p = s->pipes[(start + k) % n];
        if (p->tran->pipe_peer_asleep)
            asleep = p->tran->pipe_peer_asleep(p);
    }
    pthread_mutex_unlock(&s->lock);
    return asleep;
}

int np_send(int id, const np_iov *iov, int n, const void *hdr, size_t hdr_len, int has_hdr,
            int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_SEND)) {
        np_table_release(s);
        return -ENOTSUP;
    }
    if (has_hdr && hdr_len > 0 && !s->ops->raw) {
        np_table_release(s);
        return -EINVAL;  /* cooked sockets build their own headers */
    }
    if (flags & NP_SEND_GIL_HELD) {
        /* Decided before building the message, so the retry does not copy it twice. (A
         * receiver falling asleep right after this test only costs a slower wake-up.) */
        if (sendrecv_local_peer_asleep(s)) {
            np_table_release(s);
            return -EINPROGRESS;
        }
        flags &= ~NP_SEND_GIL_HELD;
    }
    np_msg *m = np_msg_from_iov(iov, n, hdr, hdr_len, &rc);
    if (!m) {
        np_table_release(s);
        return rc;
    }
    m->kind = (uint8_t)((unsigned)flags >> NP_SEND_KIND_SHIFT);
    flags &= ~NP_SEND_KIND_MASK;
    size_t len = m->body_len;
    rc = sendrecv_send_one(s, m, flags, deadline);
    if (rc)
        np_msg_free(m);
    np_table_release(s);
    return rc ? rc : (int)(len > INT32_MAX ? INT32_MAX : len);
}

/* Send a message the caller already built (devices); m is consumed on success only. */
int np_send_owned(int id, np_msg *m, int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_SEND))
        rc = -ENOTSUP;
    else
        rc = sendrecv_send_one(s, m, flags, deadline);
    np_table_release(s);
    return rc;
}

#define SENDRECV_FRAMED_MSG_MAX 1024   /* messages up to this size are copied into runs */
#define SENDRECV_FRAMED_RUN_MAX 65536  /* bytes of frames per run */

/* How many of msgs[0..n) fit in one run to p, and their frames' total size. */
static int sendrecv_run_len(np_pipe *p, size_t hl, const np_iov *msgs, int n, size_t *total)
{
    size_t cap = p->out_limit < SENDRECV_FRAMED_RUN_MAX ? p->out_limit : SENDRECV_FRAMED_RUN_MAX;
    int k = 0;
    *total = 0;
    while (k < n && msgs[k].len <= SENDRECV_FRAMED_MSG_MAX && *total + hl + msgs[k].len <= cap)
        *total += hl + msgs[k++].len;
    return k;
}

/*
 * Send a run of small messages as one message of ready frames when the protocol sends the
 * whole batch to one pipe that takes them (PAIR over a byte stream): one allocation, one
 * lock and one hand-off per run instead of per message. Returns how many went (0: not now;
 * the caller sends the next one alone, waiting for room if it must) or -errno. *never:
 * runs are not possible on this socket's pipe, do not ask again for this batch.
 */
static int sendrecv_send_framed(np_sock *s, const np_iov *msgs, int n, int *never)
{
    if (!s->ops->batch_pipe) {
        *never = 1;
        return 0;
    }
    int done = 0;
    pthread_mutex_lock(&s->lock);
    if (s->closing) {
        pthread_mutex_unlock(&s->lock);
        return np_table_closed_error();
    }
    for (;;) {
        np_pipe *p = s->ops->batch_pipe(s);
        uint8_t hdr[16];
        size_t hl, total, payload;
        if (!p || !np_pipe_writable(p))
            break;
        if (!p->tran->pipe_frame_hdr || (hl = p->tran->pipe_frame_hdr(p, hdr, 0)) == 0) {
            *never = 1;
            break;
        }
        int k = sendrecv_run_len(p, hl, msgs + done, n - done, &total);
        if (k < 2)
            break;  /* a lone or large message goes the ordinary way */
        np_msg *m = np_msg_alloc(total);
        if (!m)
            break;
        uint8_t *dst = m->body;
        for (int i = done; i < done + k; i++) {
            dst += p->tran->pipe_frame_hdr(p, dst, msgs[i].len);
            if (msgs[i].len)
                memcpy(dst, msgs[i].base, msgs[i].len);
            dst += msgs[i].len;
        }
        m->framed = 1;
        payload = total - (size_t)k * hl;
        if (np_pipe_send(p, m) != 0) {
            np_msg_free(m);
            break;
        }
        atomic_fetch_add(&s->msgs_sent, (uint64_t)k);
        atomic_fetch_add(&s->bytes_sent, payload);
        done += k;
    }
    if (done)
        np_sock_update_ready(s);
    pthread_mutex_unlock(&s->lock);
    return done;
}

int np_send_batch(int id, const np_iov *msgs, int n, int flags, int64_t *deadline, int *sent)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_SEND)) {
        np_table_release(s);
        return -ENOTSUP;
    }
    rc = 0;
    int no_runs = 0;
    while (*sent < n) {
        int k = no_runs ? 0 : sendrecv_send_framed(s, &msgs[*sent], n - *sent, &no_runs);
        if (k < 0) {
            rc = k;
            break;
        }
        *sent += k;
        if (*sent == n)
            break;
        np_msg *m = np_msg_from_iov(&msgs[*sent], 1, NULL, 0, &rc);
        if (!m)
            break;
        rc = sendrecv_send_one(s, m, flags, deadline);
        if (rc) {
            np_msg_free(m);
            break;
        }
        (*sent)++;
    }
    np_table_release(s);
    return rc;
}

static int sendrecv_recv_common(np_sock *s, np_msg **out, int max, int flags,
                                int64_t *deadline)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (s->closing) {
            pthread_mutex_unlock(&s->lock);
            return np_table_closed_error();
        }
        int got = 0, rc = 0;
        while (got < max) {
            rc = s->ops->recv(s, &out[got]);
            if (rc)
                break;
            atomic_fetch_add(&s->msgs_recv, 1);
            atomic_fetch_add(&s->bytes_recv, out[got]->body_len);
            got++;
        }
        if (got > 0 || rc != -EAGAIN) {
            np_sock_update_ready(s);
            pthread_mutex_unlock(&s->lock);
            return got > 0 ? got : rc;
        }
        rc = np_wait_recv(s, flags, deadline);
        if (rc)
            return rc;
    }
}

int np_recv(int id, np_msg **out, int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_RECV))
        rc = -ENOTSUP;
    else
        rc = sendrecv_recv_common(s, out, 1, flags, deadline);
    np_table_release(s);
    return rc < 0 ? rc : 0;
}

int np_recv_batch(int id, np_msg **out, int max, int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_RECV))
        rc = -ENOTSUP;
    else if (max <= 0)
        rc = -EINVAL;
    else
        rc = sendrecv_recv_common(s, out, max, flags, deadline);
    np_table_release(s);
    return rc;
}
