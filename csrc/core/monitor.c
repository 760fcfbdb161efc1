/* monitor.c - connection events for readers of a socket; see monitor.h. */
#include "core/monitor.h"

#include "core/sock.h"
#include "core/table.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NP_MONITOR_MAX_CAPACITY (1 << 20)

struct np_monitor {
    atomic_int refs;        /* the owner, and the socket's list while linked */
    np_sock *sock;          /* a memory reference (np_sock_ref), dropped by np_monitor_free */
    int linked;             /* on sock->monitors (guarded by sock->mon_lock) */
    pthread_mutex_t lock;   /* guards the ring, `dropped` and `closed` */
    np_efd ready;           /* readable while events wait, or once closed */
    np_pipe_event *ring;
    size_t cap, head, count;
    uint64_t dropped;       /* lost since the reader last took an event */
    int closed;
    np_monitor *next;
};

static void monitor_unref(np_monitor *m)
{
    if (atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    np_efd_fini(&m->ready);
    pthread_mutex_destroy(&m->lock);
    np_sock_unref(m->sock);
    free(m->ring);
    free(m);
}

/* ---- the socket's list ----------------------------------------------------------------- */

void np_monitors_init(np_sock *s)
{
    pthread_mutex_init(&s->mon_lock, NULL);
    s->monitors = NULL;
    atomic_init(&s->nmonitors, 0);
}

static void mark_closed(np_monitor *m)
{
    pthread_mutex_lock(&m->lock);
    m->closed = 1;
    np_efd_signal(&m->ready);
    pthread_mutex_unlock(&m->lock);
}

/* Take m off its socket's list (sock->mon_lock held). */
static void unlink_locked(np_sock *s, np_monitor *m)
{
    for (np_monitor **pp = &s->monitors; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            m->linked = 0;
            atomic_fetch_sub(&s->nmonitors, 1);
            return;
        }
    }
}

void np_monitors_socket_closed(np_sock *s)
{
    for (;;) {
        pthread_mutex_lock(&s->mon_lock);
        np_monitor *m = s->monitors;
        if (m)
            unlink_locked(s, m);
        pthread_mutex_unlock(&s->mon_lock);
        if (!m)
            return;
        mark_closed(m);
        monitor_unref(m);  /* the list's reference */
    }
}

/* ---- producing ------------------------------------------------------------------------- */

static void push(np_monitor *m, const np_pipe_event *ev)
{
    pthread_mutex_lock(&m->lock);
    if (!m->closed) {
        if (m->count == m->cap) {
            /* Full: the oldest event goes, and the reader is told when it takes the next. */
            m->head = (m->head + 1) % m->cap;
            m->count--;
            m->dropped++;
        }
        m->ring[(m->head + m->count) % m->cap] = *ev;
        m->count++;
        np_efd_signal(&m->ready);
    }
    pthread_mutex_unlock(&m->lock);
}

void np_monitor_emit(np_sock *s, int kind, uint32_t pipe, int eid, const char *address)
{
    if (atomic_load_explicit(&s->nmonitors, memory_order_acquire) == 0)
        return;
    np_pipe_event ev;
    ev.kind = kind;
    ev.pipe = pipe;
    ev.endpoint = eid;
    ev.dropped = 0;
    snprintf(ev.address, sizeof(ev.address), "%s", address ? address : "");
    pthread_mutex_lock(&s->mon_lock);
    for (np_monitor *m = s->monitors; m; m = m->next)
        push(m, &ev);
    pthread_mutex_unlock(&s->mon_lock);
}

void np_monitor_pipe(np_pipe *p, int kind)
{
    np_monitor_emit(p->sock, kind, p->id, p->ep_id, p->remote);
}

void np_format_peer(const np_ep *ep, int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    const char *sep = strstr(ep->addr, "://");
    int scheme_len = sep ? (int)(sep - ep->addr) : 0;
    char host[INET6_ADDRSTRLEN];
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
            snprintf(buf, cap, "%.*s://%s:%u", scheme_len, ep->addr, host,
                     (unsigned)ntohs(in4->sin_port));
            return;
        }
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            unsigned port = ntohs(in6->sin6_port);
            if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
                /* An IPv4 peer of a dual-stack listener: show it as the IPv4 address. */
                inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
                snprintf(buf, cap, "%.*s://%s:%u", scheme_len, ep->addr, host, port);
            } else {
                inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
                snprintf(buf, cap, "%.*s://[%s]:%u", scheme_len, ep->addr, host, port);
            }
            return;
        }
    }
    snprintf(buf, cap, "%s", ep->url[0] ? ep->url : ep->addr);
}

void np_ep_report_failure(np_ep *ep, int kind, int fd)
{
    if (atomic_load_explicit(&ep->sock->nmonitors, memory_order_acquire) == 0)
        return;
    char address[NP_SOCKADDR_MAX];
    np_format_peer(ep, fd, address, sizeof(address));
    np_monitor_emit(ep->sock, kind, 0, ep->id, address);
}

void np_ep_note_bound_fd(np_ep *ep, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int port;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        return;
    /* The port is the text after the last ':' of the authority (not inside [v6]). */
    const char *auth = strstr(ep->addr, "://");
    if (!auth)
        return;
    auth += 3;
    const char *end = auth + strcspn(auth, "/");
    const char *colon = NULL;
    for (const char *c = auth; c < end; c++)
        if (*c == ':')
            colon = c;
        else if (*c == ']')
            colon = NULL;
    if (!colon || end - colon != 2 || colon[1] != '0')
        return;  /* a port was given: the URL as written is the URL as bound */
    char url[NP_SOCKADDR_MAX];
    int n = snprintf(url, sizeof(url), "%.*s%d%s", (int)(colon + 1 - ep->addr), ep->addr,
                     port, end);
    if (n > 0 && (size_t)n < sizeof(url))
        snprintf(ep->url, sizeof(ep->url), "%s", url);
}

/* ---- reading --------------------------------------------------------------------------- */

int np_monitor_open(int id, int capacity, np_monitor **out)
{
    if (capacity < 1 || capacity > NP_MONITOR_MAX_CAPACITY)
        return -EINVAL;
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    np_monitor *m = calloc(1, sizeof(*m));
    np_pipe_event *ring = calloc((size_t)capacity, sizeof(*ring));
    if (!m || !ring || np_efd_init(&m->ready) != 0) {
        free(m);
        free(ring);
        np_table_release(s);
        return !m || !ring ? -ENOMEM : -EMFILE;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->ring = ring;
    m->cap = (size_t)capacity;
    m->sock = s;
    np_sock_ref(s);
    atomic_init(&m->refs, 2);  /* the caller's and the list's */
    pthread_mutex_lock(&s->mon_lock);
    m->next = s->monitors;
    s->monitors = m;
    m->linked = 1;
    atomic_fetch_add(&s->nmonitors, 1);
    pthread_mutex_unlock(&s->mon_lock);
    np_table_release(s);
    *out = m;
    return 0;
}

int np_monitor_fd(np_monitor *m) { return np_efd_pollfd(&m->ready); }

int np_monitor_take(np_monitor *m, np_pipe_event *ev)
{
    pthread_mutex_lock(&m->lock);
    if (m->count == 0) {
        int rc = m->closed ? -EBADF : -EAGAIN;
        pthread_mutex_unlock(&m->lock);
        return rc;
    }
    *ev = m->ring[m->head];
    ev->dropped = m->dropped;
    m->dropped = 0;
    m->head = (m->head + 1) % m->cap;
    if (--m->count == 0 && !m->closed)
        np_efd_unsignal(&m->ready);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

int np_monitor_wait(np_monitor *m, int timeout_ms) { return np_efd_wait(&m->ready, timeout_ms); }

void np_monitor_close(np_monitor *m)
{
    np_sock *s = m->sock;
    int was_linked = 0;
    pthread_mutex_lock(&s->mon_lock);
    if (m->linked) {
        unlink_locked(s, m);
        was_linked = 1;
    }
    pthread_mutex_unlock(&s->mon_lock);
    mark_closed(m);
    pthread_mutex_lock(&m->lock);
    m->count = 0;  /* a closed monitor hands out nothing more */
    pthread_mutex_unlock(&m->lock);
    if (was_linked)
        monitor_unref(m);
}

void np_monitor_free(np_monitor *m)
{
    if (m)
        monitor_unref(m);
}
