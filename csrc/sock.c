/*
 * sock.c - the socket table, options, the blocking send/recv loops, close and term.
 *
 * A call "holds" its socket while it runs so that nn_close can wake it (EBADF) and wait for
 * it to leave before freeing anything. Blocking waits happen on the socket's own readiness
 * descriptors (NN_SNDFD / NN_RCVFD) with no lock held.
 */
#include "sock.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t table_cond = PTHREAD_COND_INITIALIZER;
static np_sock *table[NP_MAX_SOCKETS];
static int free_slots[NP_MAX_SOCKETS];
static int nfree = -1;  /* -1: table not initialised yet */
static atomic_int terminated;
static uint32_t rng_state;

int np_is_terminated(void) { return atomic_load(&terminated); }

/* A small PRNG for initial request/survey/pipe ids (xorshift seeded from pid and clock). */
uint32_t np_random32(void)
{
    pthread_mutex_lock(&table_lock);
    if (rng_state == 0)
        rng_state = (uint32_t)(getpid() * 2654435761u) ^ (uint32_t)np_now_ms() ^ 0x9e3779b9u;
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x ? x : 1;
    pthread_mutex_unlock(&table_lock);
    return x;
}

void np_inproc_forget_after_fork(void);

/*
 * fork(): the child gets a copy of the parent's memory but none of its threads, so every
 * socket it inherited is a snapshot that nothing will ever service (and whose locks may be
 * held forever). The child forgets them all: old ids answer EBADF, new sockets work, and a
 * fresh I/O thread starts on first use. Holding the table lock across fork keeps the table
 * consistent in the child.
 */
static void atfork_prepare(void) { pthread_mutex_lock(&table_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&table_lock); }
static void atfork_child(void)
{
    pthread_mutex_init(&table_lock, NULL);
    pthread_cond_init(&table_cond, NULL);
    memset(table, 0, sizeof(table));
    nfree = -1;
    rng_state = 0;  /* reseed: the child must not repeat the parent's request ids */
    np_loop_forget_after_fork();
    np_inproc_forget_after_fork();
}

static void table_init_locked(void)
{
    if (nfree >= 0)
        return;
    static int atfork_registered;
    if (!atfork_registered) {
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
        atfork_registered = 1;
    }
    /* LIFO stack of free handles: a fresh process hands out 0, 1, 2, ... */
    nfree = 0;
    for (int i = NP_MAX_SOCKETS - 1; i >= 0; i--)
        free_slots[nfree++] = i;
}

/* Take a hold on socket `id` for the duration of a call. */
static int hold(int id, np_sock **out)
{
    if (atomic_load(&terminated))
        return -NP_ETERM;
    pthread_mutex_lock(&table_lock);
    if (id < 0 || id >= NP_MAX_SOCKETS || !table[id] || table[id]->closing) {
        pthread_mutex_unlock(&table_lock);
        return atomic_load(&terminated) ? -NP_ETERM : -EBADF;
    }
    np_sock *s = table[id];
    s->holds++;
    pthread_mutex_unlock(&table_lock);
    *out = s;
    return 0;
}

static void release(np_sock *s)
{
    pthread_mutex_lock(&table_lock);
    if (--s->holds == 0 && s->closing)
        pthread_cond_broadcast(&s->holds_cond);
    pthread_mutex_unlock(&table_lock);
}

int np_sock_hold(int id, np_sock **out) { return hold(id, out); }
void np_sock_release(np_sock *s) { release(s); }

/* The error a call on a closing socket reports. */
static int closed_error(void) { return atomic_load(&terminated) ? -NP_ETERM : -EBADF; }

void np_sock_ref(np_sock *s) { atomic_fetch_add(&s->refs, 1); }

void np_sock_unref(np_sock *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    while (s->ctxs) {
        np_ctx *c = s->ctxs;
        s->ctxs = c->next;
        if (!c->closed && s->ops->ctx_fini)
            s->ops->ctx_fini(s, c);
        np_efd_fini(&c->ready);
        free(c->state);
        free(c);
    }
    if (s->ops->fini)
        s->ops->fini(s);
    free(s->proto);
    free(s->pipes);
    np_efd_fini(&s->rcv_efd);
    np_efd_fini(&s->snd_efd);
    np_monitors_fini(s);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->holds_cond);
    free(s);
}

static void set_ready(np_efd *e, int (*cond)(np_sock *), np_sock *s)
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
        set_ready(&s->rcv_efd, s->ops->can_recv, s);
    if (s->ops->dirs & NP_CAN_SEND)
        set_ready(&s->snd_efd, s->ops->can_send, s);
}

static void update_ready_cmd(void *arg)
{
    np_sock *s = arg;
    pthread_mutex_lock(&s->lock);
    np_sock_update_ready(s);
    pthread_mutex_unlock(&s->lock);
    np_sock_unref(s);
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
        /* The producer holds another socket's lock: evaluate on the I/O thread. */
        np_sock_ref(s);
        if (np_loop_post(update_ready_cmd, s) != 0)
            np_sock_unref(s);
    }
}

void np_sock_notify_out(np_sock *s)
{
    if (s->ops->send_blocks)
        np_efd_signal(&s->snd_efd);
}

int np_socket(int domain, int protocol)
{
    if (atomic_load(&terminated))
        return -NP_ETERM;
    if (domain != NP_AF_SP && domain != NP_AF_SP_RAW)
        return -EAFNOSUPPORT;
    pthread_mutex_lock(&table_lock);
    table_init_locked();
    int full = (nfree == 0);
    pthread_mutex_unlock(&table_lock);
    if (full)
        return -EMFILE;
    const np_proto_ops *ops = np_proto_find(domain, protocol);
    if (!ops)
        return -EINVAL;
    int rc = np_loop_start();
    if (rc)
        return rc;

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
    s->next_eid = 1;
    s->next_pipe_id = np_random32();
    np_monitors_init(s);
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
    if (ops->state_size) {
        s->proto = calloc(1, ops->state_size);
        if (!s->proto) {
            np_sock_unref(s);
            return -ENOMEM;
        }
    }
    if (ops->init && (rc = ops->init(s)) != 0) {
        np_sock_unref(s);
        return rc;
    }

    pthread_mutex_lock(&table_lock);
    if (atomic_load(&terminated) || nfree == 0) {
        pthread_mutex_unlock(&table_lock);
        np_sock_unref(s);
        return atomic_load(&terminated) ? -NP_ETERM : -EMFILE;
    }
    int id = free_slots[--nfree];
    s->id = id;
    snprintf(s->name, sizeof(s->name), "%d", id);
    table[id] = s;
    pthread_mutex_unlock(&table_lock);

    pthread_mutex_lock(&s->lock);
    np_sock_update_ready(s);
    pthread_mutex_unlock(&s->lock);
    return id;
}

/* Stream pipes still have bytes queued for the kernel. */
static int has_unsent(np_sock *s)
{
    int pending = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->npipes; i++) {
        np_pipe *p = s->pipes[i];
        if (p->stream && !atomic_load(&p->dead) &&
            (np_ring_count(&p->own_outq) > 0 || atomic_load(&p->write_scheduled)))
            pending = 1;
    }
    pthread_mutex_unlock(&s->lock);
    return pending;
}

static int teardown_on_loop(void *arg)
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

static void close_socket(np_sock *s, int id)
{
    /* Wake every thread blocked on this socket; they see `closing` and leave. */
    np_efd_signal(&s->rcv_efd);
    np_efd_signal(&s->snd_efd);
    pthread_mutex_lock(&s->lock);
    for (np_ctx *c = s->ctxs; c; c = c->next)
        np_efd_signal(&c->ready);
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_lock(&table_lock);
    while (s->holds > 0)
        pthread_cond_wait(&s->holds_cond, &table_lock);
    pthread_mutex_unlock(&table_lock);

    /* NN_LINGER: give queued outbound messages time to reach the kernel. */
    if (s->linger != 0 && !atomic_load(&terminated)) {
        int64_t until = s->linger < 0 ? INT64_MAX : np_now_ms() + s->linger;
        while (has_unsent(s) && np_now_ms() < until)
            usleep(1000);
    }
    np_loop_call(teardown_on_loop, s);
    np_monitors_socket_closed(s);

    pthread_mutex_lock(&table_lock);
    table[id] = NULL;
    free_slots[nfree++] = id;
    pthread_mutex_unlock(&table_lock);
    np_sock_unref(s);
}

int np_close(int id)
{
    if (atomic_load(&terminated))
        return -NP_ETERM;
    pthread_mutex_lock(&table_lock);
    if (id < 0 || id >= NP_MAX_SOCKETS || !table[id] || table[id]->closing) {
        pthread_mutex_unlock(&table_lock);
        return -EBADF;
    }
    np_sock *s = table[id];
    s->closing = 1;
    pthread_mutex_unlock(&table_lock);
    close_socket(s, id);
    return 0;
}

void np_term(void)
{
    atomic_store(&terminated, 1);
    for (int id = 0; id < NP_MAX_SOCKETS; id++) {
        pthread_mutex_lock(&table_lock);
        table_init_locked();
        np_sock *s = table[id];
        if (!s || s->closing) {
            pthread_mutex_unlock(&table_lock);
            continue;
        }
        s->closing = 1;
        pthread_mutex_unlock(&table_lock);
        close_socket(s, id);
    }
    pthread_mutex_lock(&table_lock);
    pthread_cond_broadcast(&table_cond);
    pthread_mutex_unlock(&table_lock);
}

/* ---- options ---------------------------------------------------------------------- */

static int get_int(const void *val, size_t len, int *out)
{
    if (len != sizeof(int) || !val)
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int set_generic(np_sock *s, int opt, const void *val, size_t len)
{
    int v;
    if (opt == NP_SOCKET_NAME) {
        if (len > NP_SOCKET_NAME_MAX)
            return -EINVAL;
        memcpy(s->name, val, len);
        s->name[len] = 0;
        return 0;
    }
    switch (opt) {
    case NP_SNDFD: case NP_RCVFD: case NP_DOMAIN: case NP_PROTOCOL:
        return -ENOPROTOOPT;
    case NP_LINGER: case NP_SNDBUF: case NP_RCVBUF: case NP_SNDTIMEO: case NP_RCVTIMEO:
    case NP_RECONNECT_IVL: case NP_RECONNECT_IVL_MAX: case NP_SNDPRIO: case NP_RCVPRIO:
    case NP_IPV4ONLY: case NP_RCVMAXSIZE: case NP_MAXTTL:
        break;
    default:
        return -ENOPROTOOPT;
    }
    if (get_int(val, len, &v))
        return -EINVAL;
    switch (opt) {
    case NP_LINGER: s->linger = v; return 0;
    case NP_SNDBUF: if (v <= 0) return -EINVAL; s->sndbuf = v; return 0;
    case NP_RCVBUF: if (v <= 0) return -EINVAL; s->rcvbuf = v; return 0;
    case NP_SNDTIMEO: s->sndtimeo = v; return 0;
    case NP_RCVTIMEO: s->rcvtimeo = v; return 0;
    case NP_RECONNECT_IVL: if (v < 0) return -EINVAL; s->reconnect_ivl = v; return 0;
    case NP_RECONNECT_IVL_MAX: if (v < 0) return -EINVAL; s->reconnect_ivl_max = v; return 0;
    case NP_SNDPRIO: if (v < 1 || v > 16) return -EINVAL; s->sndprio = v; return 0;
    case NP_RCVPRIO: if (v < 1 || v > 16) return -EINVAL; s->rcvprio = v; return 0;
    case NP_IPV4ONLY: if (v != 0 && v != 1) return -EINVAL; s->ipv4only = v; return 0;
    case NP_RCVMAXSIZE: if (v < -1) return -EINVAL; s->rcvmaxsize = v; return 0;
    case NP_MAXTTL: if (v < 1 || v > 255) return -EINVAL; s->maxttl = v; return 0;
    }
    return -ENOPROTOOPT;
}

static int set_transport(np_sock *s, int level, int opt, const void *val, size_t len)
{
    int v;
    switch (level) {
    case NP_TCP:
        if (get_int(val, len, &v))
            return -EINVAL;
        if (opt != NP_TCP_NODELAY)
            return -ENOPROTOOPT;
        if (v != 0 && v != 1)
            return -EINVAL;
        s->tcp_nodelay = v;
        return 0;
    case NP_IPC:
        /* Windows-only options: accepted and ignored on POSIX, as nanomsg. */
        if (opt < 1 || opt > 3)
            return -ENOPROTOOPT;
        return len < sizeof(int) ? -EINVAL : 0;
    default:
        return -ENOPROTOOPT;
    }
}

int np_setsockopt(int id, int level, int opt, const void *val, size_t len)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    if (level == NP_SOL_SOCKET)
        rc = set_generic(s, opt, val, len);
    else if (level > 0)
        rc = (level == s->ops->opt_level && s->ops->setopt) ? s->ops->setopt(s, opt, val, len)
                                                            : -ENOPROTOOPT;
    else
        rc = set_transport(s, level, opt, val, len);
    np_sock_update_ready(s);
    pthread_mutex_unlock(&s->lock);
    release(s);
    return rc;
}

static int put_int(void *val, size_t *len, int v)
{
    size_t n = *len < sizeof(int) ? *len : sizeof(int);
    memcpy(val, &v, n);
    *len = sizeof(int);
    return 0;
}

static int get_generic(np_sock *s, int opt, void *val, size_t *len)
{
    switch (opt) {
    case NP_LINGER: return put_int(val, len, s->linger);
    case NP_SNDBUF: return put_int(val, len, s->sndbuf);
    case NP_RCVBUF: return put_int(val, len, s->rcvbuf);
    case NP_SNDTIMEO: return put_int(val, len, s->sndtimeo);
    case NP_RCVTIMEO: return put_int(val, len, s->rcvtimeo);
    case NP_RECONNECT_IVL: return put_int(val, len, s->reconnect_ivl);
    case NP_RECONNECT_IVL_MAX: return put_int(val, len, s->reconnect_ivl_max);
    case NP_SNDPRIO: return put_int(val, len, s->sndprio);
    case NP_RCVPRIO: return put_int(val, len, s->rcvprio);
    case NP_SNDFD:
        if (!(s->ops->dirs & NP_CAN_SEND))
            return -ENOPROTOOPT;
        return put_int(val, len, s->snd_efd.rfd);
    case NP_RCVFD:
        if (!(s->ops->dirs & NP_CAN_RECV))
            return -ENOPROTOOPT;
        return put_int(val, len, s->rcv_efd.rfd);
    case NP_DOMAIN: return put_int(val, len, s->domain);
    case NP_PROTOCOL: return put_int(val, len, s->protocol);
    case NP_IPV4ONLY: return put_int(val, len, s->ipv4only);
    case NP_RCVMAXSIZE: return put_int(val, len, s->rcvmaxsize);
    case NP_MAXTTL: return put_int(val, len, s->maxttl);
    case NP_SOCKET_NAME: {
        size_t n = strlen(s->name);
        memcpy(val, s->name, n < *len ? n : *len);
        *len = n;
        return 0;
    }
    }
    return -ENOPROTOOPT;
}

int np_getsockopt(int id, int level, int opt, void *val, size_t *len)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    if (level == NP_SOL_SOCKET)
        rc = get_generic(s, opt, val, len);
    else if (level > 0)
        rc = (level == s->ops->opt_level && s->ops->getopt) ? s->ops->getopt(s, opt, val, len)
                                                            : -ENOPROTOOPT;
    else if (level == NP_TCP && opt == NP_TCP_NODELAY)
        rc = put_int(val, len, s->tcp_nodelay);
    else
        rc = -ENOPROTOOPT;
    pthread_mutex_unlock(&s->lock);
    release(s);
    return rc;
}

/* ---- endpoints -------------------------------------------------------------------- */

int np_bind(int id, const char *addr)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    rc = np_ep_bind_or_connect(s, addr, 1);
    release(s);
    return rc;
}

int np_connect(int id, const char *addr)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    rc = np_ep_bind_or_connect(s, addr, 0);
    release(s);
    return rc;
}

int np_shutdown(int id, int eid)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    rc = np_ep_shutdown(s, eid);
    release(s);
    return rc;
}

/* ---- send / recv ------------------------------------------------------------------- */

/* Milliseconds left before *deadline (computing it on first use), or -1 for forever. */
static int remaining_ms(int64_t *deadline, int timeo)
{
    if (*deadline == NP_DEADLINE_UNSET)
        *deadline = timeo < 0 ? -1 : np_now_ms() + timeo;
    if (*deadline == -1)
        return -1;
    int64_t left = *deadline - np_now_ms();
    return left < 0 ? 0 : (left > INT32_MAX ? INT32_MAX : (int)left);
}

/* Wait for `e` with the remaining time. 0 = try again, else -ETIMEDOUT / -EINTR. */
static int wait_ready(np_efd *e, int64_t *deadline, int timeo)
{
    int left = remaining_ms(deadline, timeo);
    if (left == 0)
        return -ETIMEDOUT;
    int rc = np_efd_wait(e, left);
    if (rc == -ETIMEDOUT && remaining_ms(deadline, timeo) > 0)
        return 0;  /* poll woke early (clock granularity): go round again */
    return rc;
}

/*
 * After a would-block result (sock->lock held; released here): clear the readiness signal,
 * test again (a producer may have pushed between the attempt and the clear), then wait.
 * Returns 0 to try again, or -errno (EAGAIN for NN_DONTWAIT, ETIMEDOUT, EINTR).
 */
static int wait_after_eagain(np_sock *s, np_efd *e, int (*ready)(np_sock *), int flags,
                             int64_t *deadline, int timeo)
{
    np_efd_unsignal(e);
    int again = ready(s);
    if (again)
        np_efd_signal(e);
    pthread_mutex_unlock(&s->lock);
    if (again)
        return 0;
    if (flags & NP_DONTWAIT)
        return -EAGAIN;
    return wait_ready(e, deadline, timeo);
}

static np_msg *build_msg(const np_iov *iov, int n, const void *hdr, size_t hdr_len, int *err)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].len > SIZE_MAX - total) {
            *err = -EINVAL;
            return NULL;
        }
        total += iov[i].len;
    }
    np_msg *m = np_msg_alloc(total);
    if (!m) {
        *err = -ENOMEM;
        return NULL;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].len)
            memcpy(m->body + off, iov[i].base, iov[i].len);
        off += iov[i].len;
    }
    if (hdr_len && np_msg_set_hdr(m, hdr, hdr_len) != 0) {
        np_msg_free(m);
        *err = -ENOMEM;
        return NULL;
    }
    return m;
}

/*
 * Hand m to the protocol, waiting for room as the options say. Called with a hold; returns
 * 0 (m consumed) or -errno (m still the caller's).
 */
/* Would a send wake a receiver of this process that is asleep (sock->lock held)? */
static int inproc_peer_sleeping(np_sock *s)
{
    if (!atomic_load_explicit(&s->inproc_pipes, memory_order_relaxed))
        return 0;
    for (int i = 0; i < s->npipes; i++) {
        np_pipe *p = s->pipes[i];
        if (p->transport == NP_INPROC && p->peer && !atomic_load(&p->peer->sock->rcv_efd.signalled))
            return 1;
    }
    return 0;
}

static int send_one(np_sock *s, np_msg *m, int flags, int64_t *deadline)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (s->closing) {
            pthread_mutex_unlock(&s->lock);
            return closed_error();
        }
        size_t len = m->body_len;
        int rc = s->ops->send(s, m);
        if (rc == 0) {
            atomic_fetch_add(&s->msgs_sent, 1);
            atomic_fetch_add(&s->bytes_sent, len);
        }
        if (rc != -EAGAIN) {
            np_sock_update_ready(s);
            pthread_mutex_unlock(&s->lock);
            return rc;
        }
        rc = wait_after_eagain(s, &s->snd_efd, s->ops->can_send, flags, deadline, s->sndtimeo);
        if (rc)
            return rc;
    }
}

int np_send(int id, const np_iov *iov, int n, const void *hdr, size_t hdr_len, int has_hdr,
            int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_SEND)) {
        release(s);
        return -ENOTSUP;
    }
    if (has_hdr && hdr_len > 0 && !s->ops->raw) {
        release(s);
        return -EINVAL;  /* cooked sockets build their own headers */
    }

    if (flags & NP_SEND_GIL_HELD) {
        /* Decided before building the message, so the retry does not copy it twice. (A
         * receiver falling asleep right after this test only costs a slower wake-up.) */
        int sleeping = 0;
        if (atomic_load_explicit(&s->inproc_pipes, memory_order_relaxed)) {
            pthread_mutex_lock(&s->lock);
            sleeping = inproc_peer_sleeping(s);
            pthread_mutex_unlock(&s->lock);
        }
        if (sleeping) {
            release(s);
            return -EINPROGRESS;
        }
        flags &= ~NP_SEND_GIL_HELD;
    }
    np_msg *m = build_msg(iov, n, hdr, hdr_len, &rc);
    if (!m) {
        release(s);
        return rc;
    }
    size_t len = m->body_len;
    rc = send_one(s, m, flags, deadline);
    if (rc)
        np_msg_free(m);
    release(s);
    return rc ? rc : (int)(len > INT32_MAX ? INT32_MAX : len);
}

/* Send a message the caller already built (devices); m is consumed on success only. */
int np_send_owned(int id, np_msg *m, int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_SEND))
        rc = -ENOTSUP;
    else
        rc = send_one(s, m, flags, deadline);
    release(s);
    return rc;
}

int np_send_batch(int id, const np_iov *msgs, int n, int flags, int64_t *deadline, int *sent)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_SEND)) {
        release(s);
        return -ENOTSUP;
    }
    rc = 0;
    while (*sent < n) {
        np_msg *m = build_msg(&msgs[*sent], 1, NULL, 0, &rc);
        if (!m)
            break;
        rc = send_one(s, m, flags, deadline);
        if (rc) {
            np_msg_free(m);
            break;
        }
        (*sent)++;
    }
    release(s);
    return rc;
}

static int recv_common(np_sock *s, np_msg **out, int max, int flags, int64_t *deadline)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (s->closing) {
            pthread_mutex_unlock(&s->lock);
            return closed_error();
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
        rc = wait_after_eagain(s, &s->rcv_efd, s->ops->can_recv, flags, deadline, s->rcvtimeo);
        if (rc)
            return rc;
    }
}

int np_recv(int id, np_msg **out, int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_RECV))
        rc = -ENOTSUP;
    else
        rc = recv_common(s, out, 1, flags, deadline);
    release(s);
    return rc < 0 ? rc : 0;
}

int np_recv_batch(int id, np_msg **out, int max, int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    if (!(s->ops->dirs & NP_CAN_RECV))
        rc = -ENOTSUP;
    else if (max <= 0)
        rc = -EINVAL;
    else
        rc = recv_common(s, out, max, flags, deadline);
    release(s);
    return rc;
}

/* ---- poll, statistics ---------------------------------------------------------------- */

#include <poll.h>

int np_poll(const int *socks, const short *events, short *revents, int n, int timeout_ms)
{
    struct pollfd stack_fds[32];
    struct pollfd *fds = n * 2 <= 32 ? stack_fds : calloc((size_t)n * 2, sizeof(*fds));
    if (!fds)
        return -ENOMEM;
    int64_t deadline = timeout_ms < 0 ? -1 : np_now_ms() + timeout_ms;
    int rc = 0;
    for (;;) {
        /* Evaluate readiness precisely (protocol state), then sleep on the descriptors. */
        int count = 0;
        for (int i = 0; i < n; i++) {
            np_sock *s;
            revents[i] = 0;
            fds[2 * i].fd = fds[2 * i + 1].fd = -1;
            fds[2 * i].events = fds[2 * i + 1].events = POLLIN;
            if ((rc = hold(socks[i], &s)) != 0)
                goto out;
            if (((events[i] & NP_POLLIN) && !(s->ops->dirs & NP_CAN_RECV)) ||
                ((events[i] & NP_POLLOUT) && !(s->ops->dirs & NP_CAN_SEND))) {
                release(s);
                rc = -ENOPROTOOPT;
                goto out;
            }
            pthread_mutex_lock(&s->lock);
            np_sock_update_ready(s);
            if ((events[i] & NP_POLLIN) && s->ops->can_recv(s))
                revents[i] |= NP_POLLIN;
            if ((events[i] & NP_POLLOUT) && s->ops->can_send(s))
                revents[i] |= NP_POLLOUT;
            if (events[i] & NP_POLLIN)
                fds[2 * i].fd = s->rcv_efd.rfd;
            if (events[i] & NP_POLLOUT)
                fds[2 * i + 1].fd = s->snd_efd.rfd;
            pthread_mutex_unlock(&s->lock);
            release(s);
            if (revents[i])
                count++;
        }
        if (count > 0) {
            rc = count;
            goto out;
        }
        int left = deadline == -1 ? -1 : (int)(deadline - np_now_ms());
        if (deadline != -1 && left <= 0) {
            rc = 0;
            goto out;
        }
        int prc = poll(fds, (nfds_t)n * 2, left);
        if (prc < 0 && errno == EINTR) {
            rc = -EINTR;
            goto out;
        }
        if (atomic_load(&terminated)) {
            rc = -NP_ETERM;
            goto out;
        }
    }
out:
    if (fds != stack_fds)
        free(fds);
    return rc;
}

int np_get_statistic(int id, int stat, uint64_t *value)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    uint64_t v = 0;
    pthread_mutex_lock(&s->lock);
    switch (stat) {
    case NP_STAT_ESTABLISHED_CONNECTIONS: v = atomic_load(&s->established); break;
    case NP_STAT_ACCEPTED_CONNECTIONS: v = atomic_load(&s->accepted); break;
    case NP_STAT_DROPPED_CONNECTIONS: v = atomic_load(&s->dropped); break;
    case NP_STAT_BROKEN_CONNECTIONS: v = atomic_load(&s->broken); break;
    case NP_STAT_CONNECT_ERRORS: v = atomic_load(&s->connect_errors); break;
    case NP_STAT_BIND_ERRORS: v = 0; break;
    case NP_STAT_ACCEPT_ERRORS: v = atomic_load(&s->accept_errors); break;
    case NP_STAT_MESSAGES_SENT: v = atomic_load(&s->msgs_sent); break;
    case NP_STAT_MESSAGES_RECEIVED: v = atomic_load(&s->msgs_recv); break;
    case NP_STAT_BYTES_SENT: v = atomic_load(&s->bytes_sent); break;
    case NP_STAT_BYTES_RECEIVED: v = atomic_load(&s->bytes_recv); break;
    case NP_STAT_INPROGRESS_CONNECTIONS: v = atomic_load(&s->inprogress); break;
    case NP_STAT_CURRENT_CONNECTIONS:
        for (int i = 0; i < s->npipes; i++)
            v += !atomic_load(&s->pipes[i]->dead);
        break;
    case NP_STAT_CURRENT_EP_ERRORS:
        for (np_ep *ep = s->eps; ep; ep = ep->next)
            v += ep->last_error != 0;
        break;
    case NP_STAT_CURRENT_SND_PRIORITY: {
        int best = 0;
        for (int i = 0; i < s->npipes; i++) {
            np_pipe *p = s->pipes[i];
            if (np_pipe_writable(p) && (best == 0 || p->sndprio < best))
                best = p->sndprio;
        }
        v = best ? (uint64_t)best : (s->npipes ? UINT64_MAX : 0);
        if (s->protocol != NP_PUSH && s->protocol != NP_REQ)
            v = 0;
        break;
    }
    default: rc = -EINVAL;
    }
    pthread_mutex_unlock(&s->lock);
    release(s);
    *value = v;
    return rc;
}

int np_pipe_count(int id)
{
    uint64_t v;
    int rc = np_get_statistic(id, NP_STAT_CURRENT_CONNECTIONS, &v);
    return rc ? rc : (int)v;
}

const uint8_t *np_msg_body(const np_msg *m) { return m->body; }
size_t np_msg_body_len(const np_msg *m) { return m->body_len; }
const uint8_t *np_msg_hdr(const np_msg *m) { return m->hdr; }
size_t np_msg_hdr_len(const np_msg *m) { return m->hdr_len; }

/* ---- contexts ------------------------------------------------------------------------ */

/* The open context `cid` of s (sock->lock held), or NULL. */
static np_ctx *find_ctx(np_sock *s, int cid)
{
    for (np_ctx *c = s->ctxs; c; c = c->next)
        if (c->id == cid && !c->closed)
            return c;
    return NULL;
}

int np_ctx_open(int id)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    if (!s->ops->ctx_init) {
        release(s);
        return -ENOTSUP;
    }
    np_ctx *c = calloc(1, sizeof(*c));
    if (!c || !(c->state = calloc(1, s->ops->ctx_size ? s->ops->ctx_size : 1))) {
        free(c);
        release(s);
        return -ENOMEM;
    }
    if (np_efd_init(&c->ready) != 0) {
        free(c->state);
        free(c);
        release(s);
        return -EMFILE;
    }
    c->sock = s;
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
    release(s);
    return rc;
}

int np_ctx_close(int id, int cid)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    np_ctx *c = find_ctx(s, cid);
    if (!c) {
        rc = -EBADF;
    } else {
        if (s->ops->ctx_fini)
            s->ops->ctx_fini(s, c);
        c->closed = 1;
        np_efd_signal(&c->ready);  /* a waiter wakes and finds it closed */
    }
    pthread_mutex_unlock(&s->lock);
    release(s);
    return rc;
}

int np_ctx_send(int id, int cid, const np_iov *iov, int n, int flags, int64_t *deadline)
{
    (void)flags;
    (void)deadline;  /* context sends never block: REQ queues, REP replies or drops */
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    np_msg *m = build_msg(iov, n, NULL, 0, &rc);
    if (!m) {
        release(s);
        return rc;
    }
    size_t len = m->body_len;
    pthread_mutex_lock(&s->lock);
    np_ctx *c = find_ctx(s, cid);
    if (s->closing)
        rc = closed_error();
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
    release(s);
    return rc ? rc : (int)(len > INT32_MAX ? INT32_MAX : len);
}

int np_ctx_recv(int id, int cid, np_msg **out, int flags, int64_t *deadline)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        np_ctx *c = find_ctx(s, cid);
        if (s->closing || !c) {
            pthread_mutex_unlock(&s->lock);
            rc = s->closing ? closed_error() : -EBADF;
            break;
        }
        np_efd *e = s->ops->ctx_own_efd ? &c->ready : &s->rcv_efd;
        rc = s->ops->ctx_recv(s, c, out);
        if (rc == 0) {
            atomic_fetch_add(&s->msgs_recv, 1);
            atomic_fetch_add(&s->bytes_recv, (*out)->body_len);
        }
        if (rc != -EAGAIN) {
            if (s->ops->ctx_own_efd && !s->ops->ctx_can_recv(s, c))
                np_efd_unsignal(e);
            np_sock_update_ready(s);
            pthread_mutex_unlock(&s->lock);
            break;
        }
        np_efd_unsignal(e);
        int again = s->ops->ctx_can_recv(s, c);
        if (again)
            np_efd_signal(e);
        pthread_mutex_unlock(&s->lock);
        if (again)
            continue;
        if (flags & NP_DONTWAIT) {
            rc = -EAGAIN;
            break;
        }
        rc = wait_ready(e, deadline, s->rcvtimeo);
        if (rc)
            break;
    }
    release(s);
    return rc;
}

int np_ctx_recv_fd(int id, int cid)
{
    np_sock *s;
    int rc = hold(id, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    np_ctx *c = find_ctx(s, cid);
    rc = !c ? -EBADF : s->ops->ctx_own_efd ? c->ready.rfd : s->rcv_efd.rfd;
    pthread_mutex_unlock(&s->lock);
    release(s);
    return rc;
}
