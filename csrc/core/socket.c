/*
 * socket.c - nn_socket, nn_close and nn_term: building a socket, and taking it apart once
 * every call on it has left (NN_LINGER first gives queued messages time to leave).
 *
 * fork(): the child gets a copy of the parent's memory but none of its threads, so every
 * socket it inherited is a snapshot that nothing will ever service (and whose locks may be
 * held forever). The child forgets them all: old ids answer EBADF, new sockets work, and a
 * fresh I/O thread starts on first use.
 */
#include "core/endpoint.h"
#include "core/pipe.h"
#include "core/table.h"
#include "transports/transport.h"

#include "platform/clock.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void socket_set_defaults(np_sock *s)
{
    s->next_eid = 1;
    s->next_pipe_id = np_random32();
    s->linger = 1000;
    s->sndbuf = 128 * 1024;
    s->rcvbuf = 128 * 1024;
    s->sndtimeo = -1;
    s->rcvtimeo = -1;
    s->reconnect_ivl = 100;
    s->reconnect_ivl_max = 0;
    s->sndprio = 8;
    s->rcvprio = 8;
    s->ipv4only = 1;
    s->rcvmaxsize = 1024 * 1024;
    s->maxttl = 8;
}

/* A socket with its readiness descriptors and protocol state, not in the table yet. */
static int socket_build(const np_proto_ops *ops, int domain, int protocol, np_sock **out)
{
    np_sock *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (np_efd_init(&s->rcv_efd) != 0) {
        free(s);
        return -EMFILE;
    }
    if (np_efd_init(&s->snd_efd) != 0) {
        np_efd_fini(&s->rcv_efd);
        free(s);
        return -EMFILE;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->holds_cond, NULL);
    atomic_init(&s->refs, 1);
    s->domain = domain;
    s->protocol = protocol;
    s->ops = ops;
    socket_set_defaults(s);
    np_sock_ready_init(s);
    np_monitors_init(s);
    if (ops->state_size && !(s->proto = calloc(1, ops->state_size))) {
        np_sock_unref(s);
        return -ENOMEM;
    }
    int rc = ops->init ? ops->init(s) : 0;
    if (rc) {
        np_sock_unref(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void socket_atfork_child(void)
{
    np_table_forget_after_fork();
    np_random_reset();
    np_loop_forget_after_fork();
    np_transports_after_fork();
}

static void socket_register_fork_handlers(void)
{
    pthread_atfork(np_table_lock_for_fork, np_table_unlock_for_fork, socket_atfork_child);
}

int np_socket(int domain, int protocol)
{
    static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;
    pthread_once(&fork_handlers_once, socket_register_fork_handlers);
    if (np_is_terminated())
        return -NP_ETERM;
    if (domain != NP_AF_SP && domain != NP_AF_SP_RAW)
        return -EAFNOSUPPORT;
    if (!np_table_has_room())
        return -EMFILE;
    const np_proto_ops *ops = np_proto_find(domain, protocol);
    if (!ops)
        return -EINVAL;
    int rc = np_loop_start();
    if (rc)
        return rc;
    np_sock *s;
    if ((rc = socket_build(ops, domain, protocol, &s)) != 0)
        return rc;
    int id = np_table_insert(s);
    if (id < 0) {
        np_sock_unref(s);
        return id;
    }
    pthread_mutex_lock(&s->lock);
    np_sock_update_ready(s);
    pthread_mutex_unlock(&s->lock);
    return id;
}

/* Pipes still have bytes queued for the kernel. */
static int socket_has_unsent(np_sock *s)
{
    int pending = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->npipes && !pending; i++) {
        np_pipe *p = s->pipes[i];
        if (p->tran->pipe_pending && !atomic_load(&p->dead))
            pending = p->tran->pipe_pending(p);
    }
    pthread_mutex_unlock(&s->lock);
    return pending;
}

static int socket_teardown_on_loop(void *arg)
{
    np_sock *s = arg;
    if (s->ops->stop)
        s->ops->stop(s);
    np_ep_stop_all(s);
    /* Every pipe is detached now; drop the ones still kept for draining. */
    pthread_mutex_lock(&s->lock);
    np_pipe **pipes = s->pipes;
    int n = s->npipes;
    s->pipes = NULL;
    s->npipes = s->cap_pipes = 0;
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < n; i++) {
        np_pipe_detach(pipes[i], 0);
        np_pipe_unref(pipes[i]);
    }
    free(pipes);
    return 0;
}

static void socket_close(np_sock *s)
{
    int id = s->id;
    /* Wake every thread blocked on this socket; they see `closing` and leave. */
    np_efd_signal(&s->rcv_efd);
    np_efd_signal(&s->snd_efd);
    pthread_mutex_lock(&s->lock);
    for (np_ctx *c = s->ctxs; c; c = c->next)
        np_efd_signal(&c->ready);
    pthread_mutex_unlock(&s->lock);
    np_table_wait_holds(s);

    /* NN_LINGER: give queued outbound messages time to reach the kernel. */
    if (s->linger != 0 && !np_is_terminated()) {
        int64_t until = s->linger < 0 ? INT64_MAX : np_now_ms() + s->linger;
        while (socket_has_unsent(s) && np_now_ms() < until)
            usleep(1000);
    }
    np_loop_call(socket_teardown_on_loop, s);
    np_monitors_socket_closed(s);
    np_table_remove(id);
    np_sock_unref(s);
}

int np_close(int id)
{
    if (np_is_terminated())
        return -NP_ETERM;
    np_sock *s = np_table_begin_close(id);
    if (!s)
        return -EBADF;
    socket_close(s);
    return 0;
}

void np_term(void)
{
    np_table_terminate();
    for (int id = 0; id < NP_MAX_SOCKETS; id++) {
        np_sock *s = np_table_begin_close(id);
        if (s)
            socket_close(s);
    }
}
