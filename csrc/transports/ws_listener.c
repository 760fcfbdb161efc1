/* ws_listener.c - listening sockets shared by ws:// / wss:// endpoints; see ws_listener.h. */
#include "transports/ws_listener.h"

#include "platform/sockio.h"
#include "transports/stream.h"
#include "transports/ws_http.h"
#include "transports/ws_path.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WS_LISTEN_HEAD_MS 1000   /* TLS handshake and request head: the engine's handshake limit */
#define WS_LISTEN_PAUSE_MS 100   /* after EMFILE: stop accepting for a moment, don't spin */

typedef struct ws_pending ws_pending;

struct np_ws_listener {
    np_ws_listener *next;
    int secure;
    struct sockaddr_storage addr;   /* as bound (the real port) */
    np_ioh ioh;
    np_timer pause;
    np_tls_ctx *ctx;                /* wss: the server context of the port */
    np_ws_adopt_fn adopt;
    np_ws_binder *binders;          /* oldest first */
    ws_pending *pending;
};

/* A connection whose request head is still being read (after the TLS handshake). */
struct ws_pending {
    np_ioh ioh;
    np_ws_listener *lst;
    np_tls *tls;
    int tls_done;
    int refusing;                   /* sending an error status, then closing */
    int counted;
    char in[NP_WS_HEAD_MAX];        /* read byte by byte: nothing past the head is taken */
    size_t in_len;
    char out[128];
    size_t out_len, out_sent;
    np_timer timer;
    ws_pending *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static np_ws_listener *registry;

/* ---- paths ------------------------------------------------------------------------------ */

static np_ws_binder *binder_with_path(np_ws_listener *l, const char *key)
{
    for (np_ws_binder *b = l->binders; b; b = b->next)
        if (strcmp(b->path, key) == 0)
            return b;
    return NULL;
}

/* Who answers a request for `path`: its binder, else the root, else nobody (404). */
static np_ws_binder *binder_for(np_ws_listener *l, const char *path)
{
    char key[NP_URL_PATH_MAX];
    np_ws_path_key(path, key, sizeof(key));
    pthread_mutex_lock(&registry_lock);
    np_ws_binder *b = binder_with_path(l, key);
    if (!b)
        b = binder_with_path(l, "");
    pthread_mutex_unlock(&registry_lock);
    return b;
}

/* Where failures before routing are counted: the root's socket, else the oldest binder's. */
static np_ep *listener_owner(np_ws_listener *l)
{
    np_ws_binder *root = binder_with_path(l, "");
    return root ? root->ep : l->binders->ep;
}

/* ---- connections being read ------------------------------------------------------------- */

static void pending_unlink(ws_pending *p)
{
    for (ws_pending **pp = &p->lst->pending; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            return;
        }
    }
}

/* Forget p; close its descriptor unless it was handed over (fd < 0). */
static void pending_free(ws_pending *p)
{
    pending_unlink(p);
    np_timer_cancel(&p->timer);
    if (p->ioh.fd >= 0) {
        np_loop_remove(&p->ioh);
        close(p->ioh.fd);
        p->ioh.fd = -1;
    }
    if (p->tls) {
        np_tls_free(p->tls);
        p->tls = NULL;
    }
    np_loop_defer_free(free, p);
}

static void pending_count(ws_pending *p, int err)
{
    if (p->counted)
        return;
    p->counted = 1;
    np_ep *ep = listener_owner(p->lst);
    atomic_fetch_add(&ep->sock->accept_errors, 1);
    ep->last_error = err;
}

/* A failed upgrade: counted where the user sees it (as the engine counts its own). */
static void pending_drop(ws_pending *p, int err)
{
    np_ep *ep = listener_owner(p->lst);
    pending_count(p, err);
    atomic_fetch_add(&ep->sock->accepted, 1);
    atomic_fetch_add(&ep->sock->broken, 1);
    np_ep_report_failure(ep, NP_EV_HANDSHAKE_FAILED, p->ioh.fd);
    pending_free(p);
}

static ssize_t pending_read1(ws_pending *p, char *c)
{
    if (!p->tls)
        return recv(p->ioh.fd, c, 1, 0);
    ssize_t n = np_tls_read(p->tls, c, 1);
    if (n >= 0)
        return n;
    errno = n == NP_TLS_WANT_READ || n == NP_TLS_WANT_WRITE ? EAGAIN : (int)-n;
    return -1;
}

/* Send what is left of the refusal: 1 all sent, 0 wait, -1 error. */
static int pending_flush(ws_pending *p)
{
    while (p->out_sent < p->out_len) {
        const char *b = p->out + p->out_sent;
        size_t left = p->out_len - p->out_sent;
        ssize_t n = p->tls ? np_tls_write(p->tls, b, left)
                           : send(p->ioh.fd, b, left, MSG_NOSIGNAL);
        if (p->tls && n < 0) {
            if (n == NP_TLS_WANT_READ || n == NP_TLS_WANT_WRITE)
                return 0;
            return -1;
        }
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        p->out_sent += (size_t)n;
    }
    return 1;
}

/* Answer with an error status, then close. Returns the next events, or 0 (p is gone). */
static int pending_refuse(ws_pending *p, int status)
{
    int n = np_ws_build_refusal(p->out, sizeof(p->out), status);
    p->out_len = n > 0 ? (size_t)n : 0;
    p->refusing = 1;
    pending_count(p, EPROTO);
    if (pending_flush(p) == 0)
        return NP_IO_OUT;
    pending_drop(p, EPROTO);
    return 0;
}

/* The head is complete: hand the connection to the endpoint serving its path. */
static int pending_route(ws_pending *p, const np_ws_request *req, int head_len)
{
    np_ws_binder *b = binder_for(p->lst, req->path);
    if (!b)
        return pending_refuse(p, 404);
    np_ws_handoff h = {p->tls, p->in, (size_t)head_len};
    int fd = p->ioh.fd;
    np_loop_remove(&p->ioh);
    p->ioh.fd = -1;
    p->tls = NULL;
    p->lst->adopt(b->ep, fd, &h);
    if (h.tls)
        np_tls_free(h.tls);  /* not taken: the endpoint could not start the connection */
    pending_free(p);
    return 0;
}

/* One step: >0 events to wait for, 0 done (p handed over or gone), <0 -errno to drop it. */
static int pending_step(ws_pending *p)
{
    if (!p->tls_done) {
        int rc = np_tls_handshake(p->tls);
        if (rc == NP_TLS_WANT_READ)
            return NP_IO_IN;
        if (rc == NP_TLS_WANT_WRITE)
            return NP_IO_OUT;
        if (rc < 0)
            return rc;
        p->tls_done = 1;
    }
    if (p->refusing) {
        int r = pending_flush(p);
        if (r == 0)
            return NP_IO_OUT;
        pending_drop(p, EPROTO);
        return 0;
    }
    for (;;) {
        np_ws_request req;
        /* No protocol of ours yet: only the path matters here; the endpoint's socket
         * checks the subprotocol when it answers. */
        int hl = np_ws_parse_request(p->in, p->in_len, 0, &req);
        if (hl > 0)
            return pending_route(p, &req, hl);
        if (hl < 0)
            return pending_refuse(p, hl == -EMSGSIZE ? 431 : 400);
        if (p->in_len >= sizeof(p->in))
            return pending_refuse(p, 431);
        ssize_t n = pending_read1(p, p->in + p->in_len);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? (int)NP_IO_IN
                                                                              : -errno;
        p->in_len++;
    }
}

static void pending_event(np_ioh *h, uint32_t ev)
{
    (void)ev;
    ws_pending *p = h->owner;
    int rc = pending_step(p);
    if (rc < 0)
        pending_drop(p, -rc);
    else if (rc > 0)
        np_loop_set_events(h, (uint32_t)rc & (NP_IO_IN | NP_IO_OUT));
}

static void pending_timeout(np_timer *t, uint64_t seq)
{
    (void)seq;
    pending_drop(t->owner, ETIMEDOUT);
}

static void pending_start(np_ws_listener *l, int fd)
{
    np_ep *owner = listener_owner(l);
    ws_pending *p = calloc(1, sizeof(*p));
    if (p && l->secure && !(p->tls = np_tls_new(l->ctx, fd))) {
        free(p);
        p = NULL;
    }
    if (!p) {
        close(fd);
        atomic_fetch_add(&owner->sock->accept_errors, 1);
        owner->last_error = ENOMEM;
        return;
    }
    np_stream_tune_fd(owner->sock, fd, ((np_stream_ep *)owner->tdata)->ops);
    p->lst = l;
    p->tls_done = !l->secure;
    p->ioh.fd = fd;
    p->ioh.cb = pending_event;
    p->ioh.owner = p;
    p->timer.cb = pending_timeout;
    p->timer.owner = p;
    p->next = l->pending;
    l->pending = p;
    np_timer_start(&p->timer, WS_LISTEN_HEAD_MS, 0);
    if (np_loop_add(&p->ioh, NP_IO_IN) != 0)
        pending_drop(p, ENOMEM);
}

/* ---- the listening socket ---------------------------------------------------------------- */

static void listener_resume(np_timer *t, uint64_t seq)
{
    (void)seq;
    np_ws_listener *l = t->owner;
    np_loop_set_events(&l->ioh, NP_IO_IN);
}

static void listener_accept(np_ioh *h, uint32_t ev)
{
    (void)ev;
    np_ws_listener *l = h->owner;
    for (int i = 0; i < 256; i++) {
        int fd = accept(h->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            np_ep *ep = listener_owner(l);
            atomic_fetch_add(&ep->sock->accept_errors, 1);
            ep->last_error = errno;
            np_ep_report_failure(ep, NP_EV_ACCEPT_FAILED, -1);
            np_loop_set_events(h, 0);
            np_timer_start(&l->pause, WS_LISTEN_PAUSE_MS, 0);
            return;
        }
        np_set_nonblock_cloexec(fd);
        pending_start(l, fd);
    }
}

static void listener_close(np_ws_listener *l)
{
    while (l->pending)
        pending_free(l->pending);
    np_timer_cancel(&l->pause);
    np_loop_remove(&l->ioh);
    close(l->ioh.fd);
    np_tls_ctx_free(l->ctx);
    np_loop_defer_free(free, l);
}

static int same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return a->ss_family == AF_INET6 && x->sin6_port == y->sin6_port &&
           x->sin6_scope_id == y->sin6_scope_id &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* Join an existing listener (registry locked). 0, or -EADDRINUSE with the reason kept. */
static int listener_add_binder(np_ws_listener *l, np_ws_binder *b, int secure)
{
    char why[NP_URL_PATH_MAX + 96];
    if (l->secure != secure) {
        snprintf(why, sizeof(why), "this address already serves %s:// (ws:// and wss:// "
                 "cannot share a port)", l->secure ? "wss" : "ws");
        np_tls_set_last_error(why);
        return -EADDRINUSE;
    }
    if (binder_with_path(l, b->path)) {
        if (b->path[0])
            snprintf(why, sizeof(why), "path %s is already bound on this address", b->path);
        else
            snprintf(why, sizeof(why), "the root path (no path, or /) is already bound on "
                     "this address");
        np_tls_set_last_error(why);
        return -EADDRINUSE;
    }
    np_ws_binder **pp = &l->binders;
    while (*pp)
        pp = &(*pp)->next;
    *pp = b;
    b->lst = l;
    return 0;
}

/* ep->url: the address as bound, with the real port when 0 was asked. */
static void listener_note_url(np_ep *ep, const np_hostport *hp, int secure, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int port = hp->port;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                             : ((struct sockaddr_in6 *)&ss)->sin6_port);
    char host[NP_URL_HOST_MAX + 16], url[NP_URL_HOST_MAX + NP_URL_PATH_MAX + 40];
    np_hostport_format(hp, port, host, sizeof(host));
    snprintf(url, sizeof(url), "%s://%s%s", secure ? "wss" : "ws", host,
             hp->has_path ? hp->path : "");
    if (strlen(url) < sizeof(ep->url))
        np_ep_set_url(ep, url);
    np_ep_note_bound_fd(ep, fd);
}

int np_ws_listener_join(np_ws_binder *b, np_ep *ep, const np_hostport *hp, int secure,
                        np_tls_ctx *ctx, np_ws_adopt_fn adopt)
{
    memset(b, 0, sizeof(*b));
    b->ep = ep;
    np_ws_path_key(hp->has_path ? hp->path : "", b->path, sizeof(b->path));
    struct sockaddr_storage want;
    socklen_t len = sizeof(want);
    int rc = np_hostport_resolve(hp, 1, ep->ipv4only, &want, &len);
    if (rc) {
        np_tls_ctx_free(ctx);
        return rc == -EHOSTUNREACH ? -ENODEV : rc;
    }
    pthread_mutex_lock(&registry_lock);
    np_ws_listener *l = registry;
    while (hp->port && l && !same_address(&l->addr, &want))
        l = l->next;
    if (hp->port && l) {
        rc = listener_add_binder(l, b, secure);
        pthread_mutex_unlock(&registry_lock);
        np_tls_ctx_free(ctx);  /* the port keeps its first binder's certificate */
        if (rc == 0)
            listener_note_url(ep, hp, secure, l->ioh.fd);
        return rc;
    }
    pthread_mutex_unlock(&registry_lock);

    int port;
    int fd = np_hostport_listen(hp, ep->ipv4only, &port);
    l = fd >= 0 ? calloc(1, sizeof(*l)) : NULL;
    socklen_t alen = sizeof(l->addr);
    if (!l || getsockname(fd, (struct sockaddr *)&l->addr, &alen) != 0) {
        rc = fd < 0 ? fd : -ENOMEM;
        if (fd >= 0)
            close(fd);
        free(l);
        np_tls_ctx_free(ctx);
        return rc;
    }
    l->secure = secure;
    l->ctx = ctx;
    l->adopt = adopt;
    l->ioh.fd = fd;
    l->ioh.cb = listener_accept;
    l->ioh.owner = l;
    l->pause.cb = listener_resume;
    l->pause.owner = l;
    rc = np_loop_add(&l->ioh, NP_IO_IN);
    if (rc) {
        close(fd);
        np_tls_ctx_free(ctx);
        free(l);
        return rc;
    }
    pthread_mutex_lock(&registry_lock);
    l->binders = b;
    b->lst = l;
    l->next = registry;
    registry = l;
    pthread_mutex_unlock(&registry_lock);
    listener_note_url(ep, hp, secure, fd);
    return 0;
}

void np_ws_listener_leave(np_ws_binder *b)
{
    np_ws_listener *l = b->lst;
    if (!l)
        return;
    pthread_mutex_lock(&registry_lock);
    for (np_ws_binder **pp = &l->binders; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    b->lst = NULL;
    int last = l->binders == NULL;
    if (last) {
        for (np_ws_listener **pp = &registry; *pp; pp = &(*pp)->next) {
            if (*pp == l) {
                *pp = l->next;
                break;
            }
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (last)
        listener_close(l);
}

void np_ws_listener_after_fork(void)
{
    /* The parent's listeners belong to its I/O thread, which the child does not have; their
     * memory is leaked on purpose (as the sockets that own them are). */
    pthread_mutex_init(&registry_lock, NULL);
    registry = NULL;
}
