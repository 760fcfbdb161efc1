/*
 * ws_listener.h - one listening socket per address, shared by every ws:// (or wss://)
 * endpoint of the process bound to it, each serving its own path, as NNG shares one HTTP
 * server per host:port among its WebSocket listeners.
 *
 * A new connection is read up to the end of its HTTP request head (after the TLS handshake,
 * for wss) and then handed to the endpoint whose path the request names; the endpoint's
 * socket answers the upgrade. Path rules:
 *   - paths compare without their query, percent-escapes decoded and trailing '/' ignored;
 *   - the root ("ws://host:port" or "ws://host:port/", the same binding) serves "/" and
 *     every path no other endpoint on the port claims (nanomsg's listener serves them all);
 *   - without a root, an unclaimed path is answered 404 and the connection closed;
 *   - a path bound twice on one address, or ws and wss on one address: EADDRINUSE.
 * The Host header is not checked (NNG checks it against the bound host; accepting every
 * value is never stricter than that).
 *
 * Everything here runs on the I/O thread (endpoints are bound and stopped there); the
 * registry has a lock anyway so that a forked child can reset it in a known state.
 */
#ifndef NP_WS_LISTENER_H
#define NP_WS_LISTENER_H

#include "transports/net_url.h"
#include "transports/tls_engine.h"
#include "transports/transport.h"

typedef struct np_ws_listener np_ws_listener;

/* What the listener learnt before the connection joins an endpoint (np_stream_adopt). */
typedef struct np_ws_handoff {
    np_tls *tls;            /* wss: the established session (taken by the receiver) */
    const char *head;       /* the request head, complete */
    size_t head_len;
} np_ws_handoff;

/* Hands an accepted connection (fd, handoff) to endpoint ep. 0, or -1 when it could not
 * (fd then closed; handoff->tls left for the caller to free if not taken). */
typedef int (*np_ws_adopt_fn)(np_ep *ep, int fd, np_ws_handoff *h);

/* One bound endpoint's registration (embedded in its state). */
typedef struct np_ws_binder {
    np_ep *ep;
    char path[NP_URL_PATH_MAX];     /* normalised; "" is the root */
    np_ws_listener *lst;
    struct np_ws_binder *next;
} np_ws_binder;

/*
 * Register ep (address hp, path hp->path when hp->has_path) on the shared listener of that
 * address, making it when there is none. ctx: wss only, the server context, always taken
 * (kept by a new listener, freed otherwise: the port's certificate is its first binder's).
 * Records ep's URL as bound (the real port of a bind to port 0). 0, or -errno (EADDRINUSE,
 * ENODEV, ...), the reason of an EADDRINUSE kept for the error message.
 */
int np_ws_listener_join(np_ws_binder *b, np_ep *ep, const np_hostport *hp, int secure,
                        np_tls_ctx *ctx, np_ws_adopt_fn adopt);
/* Remove a registration; the last one closes the listening socket. Idempotent. */
void np_ws_listener_leave(np_ws_binder *b);
/* In a forked child: forget the parent's listeners. */
void np_ws_listener_after_fork(void);

#endif
