/*
 * endpoint.c - nn_bind / nn_connect / nn_shutdown: address scheme dispatch and the socket's
 * endpoint list. The transport work itself runs on the I/O thread (np_loop_call).
 */
#include "sock.h"
#include "transports/inproc.h"
#include "transports/stream.h"

#include <stdlib.h>
#include <string.h>

static int scheme_of(const char *addr, const char **rest)
{
    const char *colon = strchr(addr, ':');
    if (!colon || strncmp(colon, "://", 3) != 0)
        return -EINVAL;
    size_t n = (size_t)(colon - addr);
    *rest = colon + 3;
    if (n == 6 && strncmp(addr, "inproc", 6) == 0)
        return NP_INPROC;
    if (n == 3 && strncmp(addr, "ipc", 3) == 0)
        return NP_IPC;
    if (n == 3 && strncmp(addr, "tcp", 3) == 0)
        return NP_TCP;
    return -EPROTONOSUPPORT;  /* includes ws://, which nanopy does not implement */
}

static int ep_start_transport(np_ep *ep)
{
    switch (ep->transport) {
    case NP_INPROC:
        return ep->bound ? np_inproc_bind(ep) : np_inproc_connect(ep);
    case NP_IPC:
        return ep->bound ? np_stream_bind(ep, &np_ipc_transport)
                         : np_stream_connect(ep, &np_ipc_transport);
    default:
        return ep->bound ? np_stream_bind(ep, &np_tcp_transport)
                         : np_stream_connect(ep, &np_tcp_transport);
    }
}

/* On the I/O thread (so ids are handed out in order): link, start, unlink on failure. */
static int ep_start(void *arg)
{
    np_ep *ep = arg;
    np_sock *s = ep->sock;
    pthread_mutex_lock(&s->lock);
    ep->id = s->next_eid;
    ep->next = s->eps;
    s->eps = ep;
    pthread_mutex_unlock(&s->lock);
    int id = ep->id;
    int rc = ep_start_transport(ep);
    pthread_mutex_lock(&s->lock);
    if (rc == 0) {
        s->next_eid++;
        rc = id;
    } else {
        for (np_ep **pp = &s->eps; *pp; pp = &(*pp)->next)
            if (*pp == ep) {
                *pp = ep->next;
                break;
            }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void ep_stop(np_ep *ep)
{
    if (ep->transport == NP_INPROC)
        np_inproc_stop(ep);
    else
        np_stream_stop(ep);
}

int np_ep_bind_or_connect(np_sock *s, const char *addr, int bind)
{
    if (!addr)
        return -EINVAL;
    if (strlen(addr) >= NP_SOCKADDR_MAX)
        return -ENAMETOOLONG;
    const char *rest;
    int transport = scheme_of(addr, &rest);
    if (transport < NP_TCP)
        return transport;  /* -EINVAL / -EPROTONOSUPPORT */
    np_ep *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return -ENOMEM;
    strcpy(ep->addr, addr);
    ep->rest = ep->addr + (rest - addr);
    ep->sock = s;
    ep->bound = bind;
    ep->transport = transport;
    ep->listen_ioh.fd = -1;
    ep->conn_ioh.fd = -1;
    ep->backoff_n = 1;
    pthread_mutex_lock(&s->lock);
    ep->sndprio = s->sndprio;
    ep->rcvprio = s->rcvprio;
    ep->ipv4only = s->ipv4only;
    ep->reconnect_ivl = s->reconnect_ivl;
    ep->reconnect_ivl_max = s->reconnect_ivl_max;
    pthread_mutex_unlock(&s->lock);

    int rc = np_loop_call(ep_start, ep);
    if (rc < 0)
        free(ep);
    return rc;  /* the endpoint id, or -errno */
}

typedef struct shutdown_args {
    np_sock *s;
    int eid;
} shutdown_args;

static int shutdown_on_loop(void *arg)
{
    shutdown_args *a = arg;
    np_ep *found = NULL;
    pthread_mutex_lock(&a->s->lock);
    for (np_ep **pp = &a->s->eps; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == a->eid) {
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&a->s->lock);
    if (!found)
        return -EINVAL;
    ep_stop(found);
    np_loop_defer_free(free, found);
    return 0;
}

int np_endpoint_port(int id, int eid)
{
    np_sock *s;
    int rc = np_sock_hold(id, &s);
    if (rc)
        return rc;
    rc = -EINVAL;
    pthread_mutex_lock(&s->lock);
    for (np_ep *ep = s->eps; ep; ep = ep->next)
        if (ep->id == eid)
            rc = ep->port;
    pthread_mutex_unlock(&s->lock);
    np_sock_release(s);
    return rc;
}

int np_ep_shutdown(np_sock *s, int eid)
{
    shutdown_args a = {s, eid};
    return np_loop_call(shutdown_on_loop, &a);
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
        ep_stop(ep);
        np_loop_defer_free(free, ep);
    }
}
