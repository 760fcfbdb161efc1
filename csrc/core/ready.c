/*
 * ready.c - a socket's readiness (NN_RCVFD / NN_SNDFD) and the reference count that keeps
 * its memory alive while pipes and timers still point at it.
 */
#include "core/sock.h"

#include <stdlib.h>

void np_sock_ref(np_sock *s) { atomic_fetch_add(&s->refs, 1); }

static void ready_free_contexts(np_sock *s)
{
    while (s->ctxs) {
        np_ctx *c = s->ctxs;
        s->ctxs = c->next;
        if (!c->closed && s->ops->ctx_fini)
            s->ops->ctx_fini(s, c);
        np_efd_fini(&c->ready);
        free(c->state);
        free(c);
    }
}

void np_sock_unref(np_sock *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    ready_free_contexts(s);
    if (s->ops->fini)
        s->ops->fini(s);
    while (s->topts) {
        np_topt *o = s->topts;
        s->topts = o->next;
        free(o);
    }
    free(s->proto);
    free(s->pipes);
    np_efd_fini(&s->rcv_efd);
    np_efd_fini(&s->snd_efd);
    pthread_mutex_destroy(&s->mon_lock);  /* the monitor list's lock (monitor.c) */
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->holds_cond);
    free(s);
}

static void ready_set(np_efd *e, int (*cond)(np_sock *), np_sock *s)
{
    if (cond(s)) {
        np_efd_signal(e);
        return;
    }
    np_efd_unsignal(e);
    /* A producer that pushed between the test and the unsignal saw the flag still set and
     * did not signal: test again now that the flag is clear. */
    if (cond(s))
        np_efd_signal(e);
}

void np_sock_update_ready(np_sock *s)
{
    if (s->closing)
        return;
    if (s->ops->dirs & NP_CAN_RECV)
        ready_set(&s->rcv_efd, s->ops->can_recv, s);
    if (s->ops->dirs & NP_CAN_SEND)
        ready_set(&s->snd_efd, s->ops->can_send, s);
}

static void ready_update_cmd(void *arg)
{
    np_sock *s = arg;
    pthread_mutex_lock(&s->lock);
    np_sock_update_ready(s);
    pthread_mutex_unlock(&s->lock);
    np_sock_unref(s);
}

void np_sock_ready_init(np_sock *s)
{
    s->ready_task.fn = ready_update_cmd;
    s->ready_task.arg = s;
}

void np_sock_notify_in(np_sock *s, int may_lock)
{
    if (!s->ops->recv_filters) {
        np_efd_signal(&s->rcv_efd);
    } else if (may_lock) {
        pthread_mutex_lock(&s->lock);
        np_sock_update_ready(s);
        pthread_mutex_unlock(&s->lock);
    } else {
        /* The producer holds another socket's lock: evaluate on the I/O thread. One
         * queued evaluation serves every producer until it runs (a publish to many
         * pipes of this socket queues one), and posting it allocates nothing. */
        np_sock_ref(s);
        if (np_loop_post_task(&s->ready_task) != 0)
            np_sock_unref(s);
    }
}

void np_sock_notify_out(np_sock *s)
{
    if (s->ops->send_blocks)
        np_efd_signal(&s->snd_efd);
}

int np_sock_accepts_peer(np_sock *s, int protocol) { return s->ops->peer == protocol; }
