/* endpoint.c - the socket's endpoint list and the hand-off to transports; see endpoint.h. */
#include "core/endpoint.h"

#include "core/table.h"
#include "transports/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The transport of a URL "scheme://rest", or NULL with *err = -EINVAL / -EPROTONOSUPPORT. */
static const np_transport *endpoint_scheme(const char *addr, const char **rest, int *err)
{
    const char *sep = strstr(addr, "://");
    const char *colon = strchr(addr, ':');
    if (!sep || colon != sep) {
        *err = -EINVAL;
        return NULL;
    }
    *rest = sep + 3;
    const np_transport *t = np_transport_find(addr, (size_t)(sep - addr));
    if (!t)
        *err = -EPROTONOSUPPORT;
    return t;
}

static void endpoint_free(void *arg)
{
    np_ep *ep = arg;
    free(ep->tdata);
    free(ep);
}

static void endpoint_unlink(np_sock *s, np_ep *ep)
{
    for (np_ep **pp = &s->eps; *pp; pp = &(*pp)->next) {
        if (*pp == ep) {
            *pp = ep->next;
            return;
        }
    }
}

/* On the I/O thread (so ids are handed out in order): link, start, unlink on failure. */
static int endpoint_start(void *arg)
{
    np_ep *ep = arg;
    np_sock *s = ep->sock;
    pthread_mutex_lock(&s->lock);
    ep->id = s->next_eid;
    ep->next = s->eps;
    s->eps = ep;
    pthread_mutex_unlock(&s->lock);
    int id = ep->id;
    int rc = ep->bound ? ep->tran->ep_bind(ep) : ep->tran->ep_connect(ep);
    pthread_mutex_lock(&s->lock);
    if (rc == 0) {
        s->next_eid++;
        rc = id;
    } else {
        endpoint_unlink(s, ep);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static np_ep *endpoint_new(np_sock *s, const np_transport *t, const char *addr,
                           const char *rest, int bind)
{
    np_ep *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return NULL;
    if (t->ep_size && !(ep->tdata = calloc(1, t->ep_size))) {
        free(ep);
        return NULL;
    }
    strcpy(ep->addr, addr);
    ep->rest = ep->addr + (rest - addr);
    ep->sock = s;
    ep->bound = bind;
    ep->tran = t;
    pthread_mutex_lock(&s->lock);
    ep->sndprio = s->sndprio;
    ep->rcvprio = s->rcvprio;
    ep->ipv4only = s->ipv4only;
    ep->reconnect_ivl = s->reconnect_ivl;
    ep->reconnect_ivl_max = s->reconnect_ivl_max;
    pthread_mutex_unlock(&s->lock);
    return ep;
}

int np_ep_bind_or_connect(np_sock *s, const char *addr, int bind)
{
    if (!addr)
        return -EINVAL;
    if (strlen(addr) >= NP_SOCKADDR_MAX)
        return -ENAMETOOLONG;
    const char *rest;
    int rc;
    const np_transport *t = endpoint_scheme(addr, &rest, &rc);
    if (!t)
        return rc;
    np_ep *ep = endpoint_new(s, t, addr, rest, bind);
    if (!ep)
        return -ENOMEM;
    rc = np_loop_call(endpoint_start, ep);
    if (rc < 0)
        endpoint_free(ep);
    return rc;  /* the endpoint id, or -errno */
}

typedef struct endpoint_shutdown_args {
    np_sock *s;
    int eid;
} endpoint_shutdown_args;

static int endpoint_shutdown_on_loop(void *arg)
{
    endpoint_shutdown_args *a = arg;
    np_ep *found = NULL;
    pthread_mutex_lock(&a->s->lock);
    for (np_ep *ep = a->s->eps; ep && !found; ep = ep->next)
        if (ep->id == a->eid)
            found = ep;
    if (found)
        endpoint_unlink(a->s, found);
    pthread_mutex_unlock(&a->s->lock);
    if (!found)
        return -EINVAL;
    found->stopping = 1;
    found->tran->ep_stop(found);
    np_loop_defer_free(endpoint_free, found);
    return 0;
}

int np_ep_shutdown(np_sock *s, int eid)
{
    endpoint_shutdown_args a = {s, eid};
    return np_loop_call(endpoint_shutdown_on_loop, &a);
}

void np_ep_stop_all(np_sock *s)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        np_ep *ep = s->eps;
        if (ep)
            s->eps = ep->next;
        pthread_mutex_unlock(&s->lock);
        if (!ep)
            return;
        ep->stopping = 1;
        ep->tran->ep_stop(ep);
        np_loop_defer_free(endpoint_free, ep);
    }
}

/* ---- the nn_* entry points ---- */

static int endpoint_call(int id, const char *addr, int bind)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    rc = np_ep_bind_or_connect(s, addr, bind);
    np_table_release(s);
    return rc;
}

int np_bind(int id, const char *addr) { return endpoint_call(id, addr, 1); }
int np_connect(int id, const char *addr) { return endpoint_call(id, addr, 0); }

int np_shutdown(int id, int eid)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    rc = np_ep_shutdown(s, eid);
    np_table_release(s);
    return rc;
}

typedef struct endpoint_url_args {
    np_sock *s;
    int eid;
    char *buf;
    size_t len;
} endpoint_url_args;

static int endpoint_url_on_loop(void *arg)
{
    endpoint_url_args *a = arg;
    int rc = -EINVAL;
    pthread_mutex_lock(&a->s->lock);
    for (np_ep *ep = a->s->eps; ep; ep = ep->next) {
        if (ep->id == a->eid) {
            const char *url = ep->url[0] ? ep->url : ep->addr;
            rc = (int)strlen(url);
            snprintf(a->buf, a->len, "%s", url);
            break;
        }
    }
    pthread_mutex_unlock(&a->s->lock);
    return rc;
}

int np_endpoint_url(int id, int eid, char *buf, size_t len)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    endpoint_url_args a = {s, eid, buf, len};
    rc = np_loop_call(endpoint_url_on_loop, &a);
    np_table_release(s);
    return rc;
}
