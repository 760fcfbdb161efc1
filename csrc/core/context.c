/*
 * context.c - nn contexts (REQ, REP, SURVEYOR, RESPONDENT): independent request states on
 * one socket, each with its own send/recv; the protocol does the work (ops->ctx_*).
 */
#include "core/table.h"
#include "core/wait.h"

#include <stdlib.h>

/* The open context `cid` of s (sock->lock held), or NULL. */
static np_ctx *context_find(np_sock *s, int cid)
{
    for (np_ctx *c = s->ctxs; c; c = c->next)
        if (c->id == cid && !c->closed)
            return c;
    return NULL;
}

static np_ctx *context_alloc(np_sock *s, int *err)
{
    np_ctx *c = calloc(1, sizeof(*c));
    if (!c || !(c->state = calloc(1, s->ops->ctx_size ? s->ops->ctx_size : 1))) {
        free(c);
        *err = -ENOMEM;
        return NULL;
    }
    if (np_efd_init(&c->ready) != 0) {
        free(c->state);
        free(c);
        *err = -EMFILE;
        return NULL;
    }
    c->sock = s;
    return c;
}

int np_ctx_open(int id)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    np_ctx *c = s->ops->ctx_init ? context_alloc(s, &rc) : NULL;
    if (!c) {
        np_table_release(s);
        return s->ops->ctx_init ? rc : -ENOTSUP;
    }
    pthread_mutex_lock(&s->lock);
    c->id = ++s->next_ctx_id;
    rc = s->ops->ctx_init(s, c);
    if (rc == 0) {
        c->next = s->ctxs;
        s->ctxs = c;
        rc = c->id;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        np_efd_fini(&c->ready);
        free(c->state);
        free(c);
    }
    np_table_release(s);
    return rc;
}

int np_ctx_close(int id, int cid)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    np_ctx *c = context_find(s, cid);
    if (!c) {
        rc = -EBADF;
    } else {
        if (s->ops->ctx_fini)
            s->ops->ctx_fini(s, c);
        c->closed = 1;
        np_efd_signal(&c->ready);  /* a waiter wakes and finds it closed */
    }
    pthread_mutex_unlock(&s->lock);
    np_table_release(s);
    return rc;
}

int np_ctx_send(int id, int cid, const np_iov *iov, int n, int flags, int64_t *deadline)
{
    (void)deadline;  /* context sends never block: REQ queues, REP replies or drops */
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    np_msg *m = np_msg_from_iov(iov, n, NULL, 0, &rc);
    if (!m) {
        np_table_release(s);
        return rc;
    }
    m->kind = (uint8_t)((unsigned)flags >> NP_SEND_KIND_SHIFT);
    size_t len = m->body_len;
    pthread_mutex_lock(&s->lock);
    np_ctx *c = context_find(s, cid);
    if (s->closing)
        rc = np_table_closed_error();
    else if (!c)
        rc = -EBADF;
    else
        rc = s->ops->ctx_send(s, c, m);
    if (rc == 0) {
        atomic_fetch_add(&s->msgs_sent, 1);
        atomic_fetch_add(&s->bytes_sent, len);
    }
    np_sock_update_ready(s);
    pthread_mutex_unlock(&s->lock);
    if (rc)
        np_msg_free(m);
    np_table_release(s);
    return rc ? rc : (int)(len > INT32_MAX ? INT32_MAX : len);
}

/* One attempt (sock->lock held, released here): 0 with *out, 1 to try again at once,
 * -EAGAIN to wait on *wait_on, or -errno. */
static int context_try_recv(np_sock *s, int cid, np_msg **out, np_efd **wait_on)
{
    np_ctx *c = context_find(s, cid);
    if (s->closing || !c) {
        pthread_mutex_unlock(&s->lock);
        return s->closing ? np_table_closed_error() : -EBADF;
    }
    np_efd *e = s->ops->ctx_own_efd ? &c->ready : &s->rcv_efd;
    int rc = s->ops->ctx_recv(s, c, out);
    if (rc == 0) {
        atomic_fetch_add(&s->msgs_recv, 1);
        atomic_fetch_add(&s->bytes_recv, (*out)->body_len);
    }
    if (rc != -EAGAIN) {
        if (s->ops->ctx_own_efd && !s->ops->ctx_can_recv(s, c))
            np_efd_unsignal(e);
        np_sock_update_ready(s);
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    np_efd_unsignal(e);
    int again = s->ops->ctx_can_recv(s, c);
    if (again)
        np_efd_signal(e);
    pthread_mutex_unlock(&s->lock);
    *wait_on = e;
    return again ? 1 : -EAGAIN;
}

int np_ctx_recv(int id, int cid, np_msg **out, int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    for (;;) {
        np_efd *e = NULL;
        pthread_mutex_lock(&s->lock);
        rc = context_try_recv(s, cid, out, &e);
        if (rc == 1)
            continue;
        if (rc != -EAGAIN || (flags & NP_DONTWAIT))
            break;
        if ((rc = np_wait_ready(e, deadline, s->rcvtimeo)) != 0)
            break;
    }
    np_table_release(s);
    return rc;
}

int np_ctx_recv_fd(int id, int cid)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    np_ctx *c = context_find(s, cid);
    rc = !c ? -EBADF
            : np_efd_pollfd(s->ops->ctx_own_efd ? &c->ready : &s->rcv_efd);
    pthread_mutex_unlock(&s->lock);
    np_table_release(s);
    return rc;
}
