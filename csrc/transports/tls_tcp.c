/*
 * tls_tcp.c - tls+tcp://host:port: SP over TLS 1.2/1.3 over TCP, as NNG (and pynng) speak it:
 * the TLS handshake first (the engine's upgrade step, driven by the I/O thread), then the
 * ordinary 8-byte SP handshake and length-prefixed frames inside the TLS session.
 *
 * The socket's TLS configuration (NP_TLS_CONFIG) is read when an endpoint starts: bind needs
 * a server configuration, connect a client one. A client checks the server's certificate
 * chain and that it names the URL's host (or the configured server_name) unless the
 * configuration says verify=0.
 */
#include "transports/net_url.h"
#include "transports/tls_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

typedef struct tls_ep {
    np_stream_ep base;   /* first: the engine's view of ep->tdata */
    np_tls_ctx *ctx;
    np_hostport hp;
} tls_ep;

typedef struct tls_conn {
    np_tls *tls;
    int done;       /* handshake finished */
    int counted;    /* its failure was counted */
} tls_conn;

static int tls_listen(np_ep *ep)
{
    tls_ep *te = ep->tdata;
    int port;
    int fd = np_hostport_listen(&te->hp, ep->ipv4only, &port);
    if (fd >= 0) {
        char hp[NP_URL_HOST_MAX + 16], url[NP_URL_HOST_MAX + NP_URL_PATH_MAX + 40];
        np_hostport_format(&te->hp, port, hp, sizeof(hp));
        snprintf(url, sizeof(url), "tls+tcp://%s", hp);
        if (strlen(url) < sizeof(ep->url))
            memcpy(ep->url, url, strlen(url) + 1);  /* the real port, when 0 was asked */
    }
    return fd;
}

static int tls_check_connect(np_ep *ep)
{
    np_hostport hp;
    return np_hostport_parse(ep->rest, 0, 0, 0, &hp);
}

static int tls_start_connect(np_ep *ep)
{
    tls_ep *te = ep->tdata;
    int fd = np_hostport_connect(&te->hp, ep->ipv4only);
    if (fd >= 0)
        np_stream_tune_fd(ep->sock, fd, te->base.ops);
    return fd;
}

static void tls_unlisten(np_ep *ep) { (void)ep; }

static void tls_tune(np_sock *s, int fd)
{
    int nodelay = np_topt_int(s, NP_TCP, NP_TCP_NODELAY, 0);
    int keepalive = np_topt_int(s, NP_TCP_PRIVATE_LEVEL, NP_TCP_KEEPALIVE, 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
    if (keepalive)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, sizeof(keepalive));
}

static int tls_conn_init(np_stream *st)
{
    tls_ep *te = st->ep->tdata;
    tls_conn *c = st->tdata;
    c->tls = np_tls_new(te->ctx, st->ioh.fd);
    return c->tls ? 0 : -1;
}

static void tls_conn_fini(np_stream *st)
{
    tls_conn *c = st->tdata;
    /* Closed before the handshake finished (timeout, peer gone): count it too. */
    if (c && !c->done && !c->counted)
        np_tls_stream_count_failure(st);
    if (c && c->tls) {
        np_tls_free(c->tls);
        c->tls = NULL;
    }
}

static int tls_upgrade(np_stream *st, uint32_t events)
{
    (void)events;
    tls_conn *c = st->tdata;
    int rc = np_tls_stream_handshake(st, c->tls);
    c->done = rc == 0;
    c->counted = rc < 0;
    return rc;
}

static ssize_t tls_read(np_stream *st, void *buf, size_t len)
{
    return np_tls_stream_read(((tls_conn *)st->tdata)->tls, buf, len);
}

static ssize_t tls_writev(np_stream *st, const struct iovec *iov, int iovcnt)
{
    return np_tls_stream_writev(((tls_conn *)st->tdata)->tls, iov, iovcnt);
}

static const np_stream_ops tls_stream_ops = {
    .ipc = 0,
    .listen = tls_listen,
    .check_connect = tls_check_connect,
    .start_connect = tls_start_connect,
    .unlisten = tls_unlisten,
    .tune = tls_tune,
    .conn_size = sizeof(tls_conn),
    .conn_init = tls_conn_init,
    .conn_fini = tls_conn_fini,
    .upgrade = tls_upgrade,
    .read = tls_read,
    .writev = tls_writev,
    .read_buffers = 1,
};

static int tls_start(np_ep *ep, int bind)
{
    tls_ep *te = ep->tdata;
    int rc = np_hostport_parse(ep->rest, bind, 0, 0, &te->hp);
    if (rc)
        return rc;
    te->ctx = np_tls_ctx_for_ep(ep, te->hp.host, &rc);
    if (!te->ctx)
        return rc;
    rc = bind ? np_stream_bind(ep, &tls_stream_ops) : np_stream_connect(ep, &tls_stream_ops);
    if (rc) {
        np_tls_ctx_free(te->ctx);
        te->ctx = NULL;
    }
    return rc;
}

static int tls_bind(np_ep *ep) { return tls_start(ep, 1); }
static int tls_connect(np_ep *ep) { return tls_start(ep, 0); }

static void tls_stop(np_ep *ep)
{
    tls_ep *te = ep->tdata;
    np_stream_ep_stop(ep);
    /* Sessions keep their own reference to the context (OpenSSL counts them). */
    np_tls_ctx_free(te->ctx);
    te->ctx = NULL;
}

static const np_tran_option tls_options[] = {
    {.level = NP_TLS_LEVEL, .option = NP_TLS_CONFIG, .kind = NP_TOPT_BLOB,
     .max = NP_TLS_BLOB_MAX},
    {0},
};

const np_transport np_tls_tcp_transport = {
    .scheme = "tls+tcp",
    .ep_size = sizeof(tls_ep),
    .ep_bind = tls_bind,
    .ep_connect = tls_connect,
    .ep_stop = tls_stop,
    NP_STREAM_PIPE_HOOKS,
    .options = tls_options,
};
