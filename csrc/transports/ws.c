/*
 * ws.c - ws://host:port/path and wss://host:port/path: SP over WebSocket (RFC 6455), as
 * nanomsg 1.1.5 and NNG speak it, optionally inside TLS.
 *
 * The engine's upgrade step runs the TLS handshake (wss), then the HTTP upgrade (ws_http.h):
 * the client asks for the server's socket type in Sec-WebSocket-Protocol, which also stands
 * for the SP handshake (none follows). Each SP message is one WebSocket message
 * (ws_frame.h); the opcode of outgoing ones is the message's own NN_WS_MSG_TYPE (its kind)
 * if it has one, else the socket's (binary unless set to text, read when the connection
 * starts); received messages carry their opcode as their kind. Bound endpoints share one
 * listening socket per address (ws_listener.h), which reads the request head and hands the
 * connection to the endpoint serving its path; that endpoint's socket checks the
 * subprotocol and answers.
 */
#include "transports/net_url.h"
#include "transports/tls_stream.h"
#include "transports/ws_frame.h"
#include "transports/ws_http.h"
#include "transports/ws_listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct ws_ep {
    np_stream_ep base;      /* first: the engine's view of ep->tdata */
    np_tls_ctx *ctx;        /* wss only */
    np_hostport hp;
    int secure;
    np_ws_binder binder;    /* bound: this endpoint's path on the shared listener */
} ws_ep;

/*
 * Outgoing messages larger than WS_FRAGMENT are sent as several frames of that size, as NNG
 * does (NNG refuses frames over 1 MiB by default). The engine encodes one frame per message;
 * the write hook re-cuts that stream into fragments while copying it into `out`, from where
 * it goes to the descriptor (or the TLS session). The fragment size is a multiple of 4, so a
 * client's masked payload stays correctly masked under the same key in every fragment.
 */
#define WS_FRAGMENT 65536
#define WS_OUT_SIZE (WS_FRAGMENT + 4096)

typedef struct ws_tx {
    int in_payload;
    uint8_t lhdr[NP_WS_MAX_HDR];    /* the engine's header of the current message */
    size_t lhave, lneed;
    uint64_t left;                  /* payload bytes of the message still to copy */
    uint64_t frag_left;             /* of them, in the current fragment */
    int opcode, masked;
    uint8_t key[4];
    uint8_t *out;
    size_t out_off, out_len;        /* unwritten bytes: out[out_off..out_len) */
    size_t held;                    /* input bytes absorbed but not reported (see writev) */
} ws_tx;

typedef struct ws_conn {
    np_tls *tls;            /* wss only */
    int tls_done;
    int http_done;
    char out[NP_WS_HEAD_MAX];   /* request or response being sent */
    size_t out_len, out_sent;
    char in[NP_WS_HEAD_MAX];    /* head being received, read byte by byte so nothing past
                                 * it is taken from the descriptor or the TLS session */
    size_t in_len;
    char key[NP_WS_KEY_LEN + 1];
    int refusing;           /* server: sending an error status, then closing */
    int done;               /* upgrade finished */
    int counted;            /* its failure was counted */
    np_ws_decoder dec;
    ws_tx tx;
    int opcode;             /* of outgoing messages */
    uint8_t mask[4];        /* client: key of the frame being encoded */
    uint64_t rng;
} ws_conn;

/* ---- byte I/O: the descriptor, or the TLS session ------------------------------------ */

static ssize_t ws_raw_read(np_stream *st, void *buf, size_t len)
{
    ws_conn *c = st->tdata;
    if (c->tls)
        return np_tls_stream_read(c->tls, buf, len);
    return recv(st->ioh.fd, buf, len, 0);
}

static ssize_t ws_raw_writev(np_stream *st, const struct iovec *iov, int iovcnt)
{
    ws_conn *c = st->tdata;
    if (c->tls)
        return np_tls_stream_writev(c->tls, iov, iovcnt);
    struct msghdr mh = {0};
    mh.msg_iov = (struct iovec *)iov;
    mh.msg_iovlen = (size_t)iovcnt;
    return sendmsg(st->ioh.fd, &mh, MSG_NOSIGNAL);
}

static uint64_t ws_next_random(ws_conn *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return x;
}

/* ---- addresses ------------------------------------------------------------------------ */

static int ws_check_connect(np_ep *ep)
{
    ws_ep *we = ep->tdata;
    np_hostport hp;
    return np_hostport_parse(ep->rest, 0, we->secure ? 443 : 80, 1, &hp);
}

static int ws_start_connect(np_ep *ep)
{
    ws_ep *we = ep->tdata;
    int fd = np_hostport_connect(&we->hp, ep->ipv4only);
    if (fd >= 0)
        np_stream_tune_fd(ep->sock, fd, we->base.ops);
    return fd;
}

static void ws_tune(np_sock *s, int fd)
{
    int nodelay = np_topt_int(s, NP_TCP, NP_TCP_NODELAY, 0);
    int keepalive = np_topt_int(s, NP_TCP_PRIVATE_LEVEL, NP_TCP_KEEPALIVE, 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
    if (keepalive)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, sizeof(keepalive));
}

/* ---- connections ---------------------------------------------------------------------- */

static int ws_conn_init(np_stream *st)
{
    ws_ep *we = st->ep->tdata;
    ws_conn *c = st->tdata;
    int rfd = -1;
    uint8_t seed[24];
    ssize_t got = 0;
    /* Masking keys and the handshake nonce must be unpredictable (RFC 6455 10.3). */
    rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (rfd >= 0) {
        got = read(rfd, seed, sizeof(seed));
        close(rfd);
    }
    if (got != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t v = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)st;
        for (size_t i = 0; i < sizeof(seed); i++)
            seed[i] = (uint8_t)(v >> (8 * (i % 8))) ^ (uint8_t)i;
    }
    c->tx.out = malloc(WS_OUT_SIZE);
    c->tx.lneed = 2;
    if (!c->tx.out)
        return -1;
    memcpy(&c->rng, seed + 16, 8);
    c->rng |= 1;
    c->opcode = np_topt_int(st->sock, NP_WS, NP_WS_MSG_TYPE, NP_WS_MSG_TYPE_BINARY) ==
                        NP_WS_MSG_TYPE_TEXT
                    ? NP_WS_OP_TEXT
                    : NP_WS_OP_BINARY;
    np_ws_decoder_init(&c->dec, !st->outgoing, st->sock->rcvmaxsize);
    if (st->outgoing) {
        np_ws_make_key(seed, c->key);
        char host[NP_URL_HOST_MAX + 16];
        if (we->hp.port == (we->secure ? 443 : 80))
            snprintf(host, sizeof(host), strchr(we->hp.host, ':') ? "[%s]" : "%s",
                     we->hp.host);
        else
            np_hostport_format(&we->hp, we->hp.port, host, sizeof(host));
        int n = np_ws_build_request(c->out, sizeof(c->out), host, we->hp.path, c->key,
                                    st->sock->protocol);
        if (n < 0)
            return -1;
        c->out_len = (size_t)n;
    }
    if (!st->outgoing) {
        /* Accepted by the shared listener: the TLS session and the request head. */
        np_ws_handoff *h = st->handoff;
        if (!h || h->head_len > sizeof(c->in))
            return -1;
        c->tls = h->tls;
        h->tls = NULL;
        memcpy(c->in, h->head, h->head_len);
        c->in_len = h->head_len;
        c->tls_done = 1;
    } else if (we->secure) {
        c->tls = np_tls_new(we->ctx, st->ioh.fd);
        if (!c->tls)
            return -1;
    } else {
        c->tls_done = 1;
    }
    return 0;
}

static void ws_conn_fini(np_stream *st)
{
    ws_conn *c = st->tdata;
    if (!c)
        return;
    /* Closed before the upgrade finished (timeout, peer gone): count it too. */
    if (!c->done && !c->counted)
        np_tls_stream_count_failure(st);
    np_ws_decoder_fini(&c->dec);
    free(c->tx.out);
    c->tx.out = NULL;
    if (c->tls) {
        np_tls_free(c->tls);
        c->tls = NULL;
    }
}

/* Send what is left of c->out. 1 when all sent, 0 to wait, -1 on error. */
static int ws_flush_out(np_stream *st, ws_conn *c)
{
    while (c->out_sent < c->out_len) {
        struct iovec iov = {c->out + c->out_sent, c->out_len - c->out_sent};
        ssize_t n = ws_raw_writev(st, &iov, 1);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        c->out_sent += (size_t)n;
    }
    return 1;
}

/* Read the peer's head one byte at a time. >0 head length, 0 wait, <0 -errno. */
static int ws_read_head(np_stream *st, ws_conn *c)
{
    for (;;) {
        int hl = st->outgoing
                     ? np_ws_parse_response(c->in, c->in_len, c->key, st->sock->protocol)
                     : 0;
        if (!st->outgoing) {
            np_ws_request req;
            hl = np_ws_parse_request(c->in, c->in_len, st->sock->protocol, &req);
        }
        if (hl != 0)
            return hl;
        if (c->in_len >= sizeof(c->in))
            return -EMSGSIZE;
        ssize_t n = ws_raw_read(st, c->in + c->in_len, 1);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
        c->in_len++;
    }
}

static int ws_fail(np_stream *st, int rc)
{
    ((ws_conn *)st->tdata)->counted = 1;
    np_tls_stream_count_failure(st);
    st->ep->last_error = -rc;
    return rc;
}

static int ws_upgrade_step(np_stream *st);

static int ws_upgrade(np_stream *st, uint32_t events)
{
    (void)events;
    ws_conn *c = st->tdata;
    int rc = ws_upgrade_step(st);
    if (rc == 0)
        c->done = 1;
    else if (rc < 0 && !c->counted) {
        c->counted = 1;
        np_tls_stream_count_failure(st);
    }
    return rc;
}

static int ws_upgrade_step(np_stream *st)
{
    ws_conn *c = st->tdata;
    if (!c->tls_done) {
        int rc = np_tls_stream_handshake(st, c->tls);
        if (rc < 0)
            c->counted = 1;  /* counted by np_tls_stream_handshake */
        if (rc != 0)
            return rc;
        c->tls_done = 1;
    }
    if (c->refusing) {
        int r = ws_flush_out(st, c);
        return r == 0 ? (int)NP_IO_OUT : -ECONNREFUSED;
    }
    if (st->outgoing) {
        int r = ws_flush_out(st, c);
        if (r < 0)
            return ws_fail(st, -ECONNRESET);
        if (r == 0)
            return NP_IO_OUT;
        int hl = ws_read_head(st, c);
        if (hl == 0)
            return NP_IO_IN;
        if (hl < 0)
            return ws_fail(st, hl);
        np_stream_set_peer(st, np_ws_peer_protocol(st->sock->protocol));
        return 0;
    }
    if (!c->http_done) {
        int hl = ws_read_head(st, c);
        if (hl == 0)
            return NP_IO_IN;
        np_ws_request req;
        int status = 0;
        if (hl < 0) {
            status = hl == -EMSGSIZE ? 431 : 400;
        } else {
            np_ws_parse_request(c->in, c->in_len, st->sock->protocol, &req);
            if (!req.proto[0])
                status = 400;  /* asks for a socket type we are not */
        }
        if (status) {
            int n = np_ws_build_refusal(c->out, sizeof(c->out), status);
            c->out_len = n > 0 ? (size_t)n : 0;
            c->refusing = 1;
            ws_fail(st, -EPROTO);
            return ws_flush_out(st, c) == 0 ? (int)NP_IO_OUT : -ECONNREFUSED;
        }
        int n = np_ws_build_response(c->out, sizeof(c->out), req.key, st->sock->protocol);
        if (n < 0)
            return ws_fail(st, n);
        c->out_len = (size_t)n;
        c->http_done = 1;
    }
    int r = ws_flush_out(st, c);
    if (r < 0)
        return ws_fail(st, -ECONNRESET);
    if (r == 0)
        return NP_IO_OUT;
    np_stream_set_peer(st, np_ws_peer_protocol(st->sock->protocol));
    return 0;
}

/* ---- framing -------------------------------------------------------------------------- */

static size_t ws_encode_hdr(np_stream *st, uint8_t *out, uint64_t len, const np_msg *m)
{
    ws_conn *c = st->tdata;
    /* A message's own NN_WS_MSG_TYPE (its kind; the values are the opcodes) wins. */
    int opcode = m->kind == NP_WS_OP_TEXT || m->kind == NP_WS_OP_BINARY ? m->kind : c->opcode;
    if (!st->outgoing)
        return np_ws_encode_hdr(out, opcode, 1, len, NULL);
    uint64_t r = ws_next_random(c);
    memcpy(c->mask, &r, 4);
    return np_ws_encode_hdr(out, opcode, 1, len, c->mask);
}

static void ws_filter(np_stream *st, uint8_t *bytes, size_t n, uint64_t offset)
{
    ws_conn *c = st->tdata;
    np_ws_mask(bytes, bytes, n, c->mask, offset);
}

static int ws_tx_flush(np_stream *st, ws_tx *tx);

/*
 * A control frame of our own (pong, close) joins the outgoing bytes (tx.out) at a frame
 * boundary there, between two fragments of a message if need be (RFC 6455 5.4), and is
 * written at once, through the TLS session for wss. In the middle of a frame, or without
 * room, it is left out (a pong is a courtesy, a close is followed by closing the connection
 * anyway); what the socket does not take now goes with the next message's bytes. Returns -1
 * when the stream broke.
 */
static int ws_send_control(np_stream *st, int opcode, const uint8_t *payload, size_t n)
{
    ws_conn *c = st->tdata;
    ws_tx *tx = &c->tx;
    if (n > NP_WS_CTL_MAX || !tx->out || (tx->in_payload && tx->frag_left > 0))
        return 0;
    if (tx->out_off > 0 && tx->out_len + NP_WS_MAX_HDR + n > WS_OUT_SIZE) {
        memmove(tx->out, tx->out + tx->out_off, tx->out_len - tx->out_off);
        tx->out_len -= tx->out_off;
        tx->out_off = 0;
    }
    if (tx->out_len + NP_WS_MAX_HDR + n > WS_OUT_SIZE)
        return 0;
    uint8_t *frame = tx->out + tx->out_len;
    uint8_t key[4];
    uint64_t r = ws_next_random(c);
    memcpy(key, &r, 4);
    size_t hl = np_ws_encode_hdr(frame, opcode, 1, n, st->outgoing ? key : NULL);
    if (st->outgoing)
        np_ws_mask(frame + hl, payload, n, key, 0);
    else
        memcpy(frame + hl, payload, n);
    tx->out_len += hl + n;
    return ws_tx_flush(st, tx) < 0 ? -1 : 0;
}

static void ws_send_close(np_stream *st, int status)
{
    uint8_t code[2] = {(uint8_t)(status >> 8), (uint8_t)status};
    ws_send_control(st, NP_WS_OP_CLOSE, code, 2);
}

static ssize_t ws_decode(np_stream *st, const uint8_t *buf, size_t len, np_msg **out)
{
    ws_conn *c = st->tdata;
    c->dec.max_size = st->sock->rcvmaxsize;
    size_t used = 0;
    while (used < len) {
        int ev;
        np_msg *m = NULL;
        ssize_t n = np_ws_decoder_feed(&c->dec, buf + used, len - used, &m, &ev);
        if (n < 0) {
            ws_send_close(st, n == -EMSGSIZE  ? NP_WS_CLOSE_TOO_BIG
                              : n == -EILSEQ ? NP_WS_CLOSE_BAD_DATA
                                             : NP_WS_CLOSE_PROTOCOL);
            return n;
        }
        used += (size_t)n;
        switch (ev) {
        case NP_WS_EV_MESSAGE:
            m->kind = (uint8_t)c->dec.msg_opcode_done;  /* seen as NN_WS_MSG_TYPE */
            *out = m;
            return (ssize_t)used;
        case NP_WS_EV_PING:
            if (ws_send_control(st, NP_WS_OP_PONG, c->dec.ctl, c->dec.ctl_len) < 0)
                return -EPROTO;
            break;
        case NP_WS_EV_CLOSE:
            ws_send_close(st, NP_WS_CLOSE_NORMAL);
            return -ECONNRESET;
        default:
            break;
        }
    }
    return (ssize_t)used;
}

/* Parse the engine's frame header in tx->lhdr (complete) and start that message. */
static void ws_tx_start(ws_tx *tx)
{
    const uint8_t *h = tx->lhdr;
    uint64_t len = h[1] & 0x7f;
    size_t p = 2;
    if (len == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        p = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        p = 10;
    }
    tx->opcode = h[0] & 0x0f;
    tx->masked = h[1] >> 7;
    if (tx->masked)
        memcpy(tx->key, h + p, 4);
    tx->left = len;
    if (len <= WS_FRAGMENT) {
        memcpy(tx->out + tx->out_len, h, tx->lneed);  /* one frame: header unchanged */
        tx->out_len += tx->lneed;
        tx->frag_left = len;
    } else {
        tx->out_len += np_ws_encode_hdr(tx->out + tx->out_len, tx->opcode, 0, WS_FRAGMENT,
                                        tx->masked ? tx->key : NULL);
        tx->frag_left = WS_FRAGMENT;
    }
    tx->in_payload = len > 0;
    tx->lhave = 0;
    tx->lneed = 2;
}

/* Copy logical bytes into tx->out, re-cut into fragments. Returns the bytes taken. */
static size_t ws_tx_feed(ws_tx *tx, const uint8_t *p, size_t n)
{
    size_t used = 0;
    while (used < n && WS_OUT_SIZE - tx->out_len >= 2 * NP_WS_MAX_HDR) {
        if (!tx->in_payload) {
            tx->lhdr[tx->lhave++] = p[used++];
            if (tx->lhave == 2)
                tx->lneed = 2 + ((tx->lhdr[1] & 0x7f) == 126 ? 2
                                 : (tx->lhdr[1] & 0x7f) == 127 ? 8 : 0) +
                            (tx->lhdr[1] & 0x80 ? 4 : 0);
            if (tx->lhave == tx->lneed)
                ws_tx_start(tx);
            continue;
        }
        if (tx->frag_left == 0) {
            uint64_t next = tx->left < WS_FRAGMENT ? tx->left : WS_FRAGMENT;
            tx->out_len += np_ws_encode_hdr(tx->out + tx->out_len, NP_WS_OP_CONT,
                                            tx->left <= WS_FRAGMENT, next,
                                            tx->masked ? tx->key : NULL);
            tx->frag_left = next;
        }
        size_t take = n - used;
        if (take > tx->frag_left)
            take = (size_t)tx->frag_left;
        if (take > WS_OUT_SIZE - tx->out_len)
            take = WS_OUT_SIZE - tx->out_len;
        memcpy(tx->out + tx->out_len, p + used, take);
        tx->out_len += take;
        used += take;
        tx->frag_left -= take;
        tx->left -= take;
        if (tx->left == 0)
            tx->in_payload = 0;
    }
    return used;
}

/* Write what tx->out holds: 1 all written, 0 some left (would block), -1 error. */
static int ws_tx_flush(np_stream *st, ws_tx *tx)
{
    while (tx->out_off < tx->out_len) {
        struct iovec iov = {tx->out + tx->out_off, tx->out_len - tx->out_off};
        ssize_t n = ws_raw_writev(st, &iov, 1);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        tx->out_off += (size_t)n;
    }
    tx->out_off = tx->out_len = 0;
    return 1;
}

/*
 * The engine's write hook. Input bytes copied into tx->out count as written, except that
 * while tx->out still holds unwritten bytes one input byte is held back (reported next
 * time, when the engine passes it again): the engine then keeps waiting for the descriptor
 * to become writable, which is when the rest of tx->out can go.
 */
static ssize_t ws_writev(np_stream *st, const struct iovec *iov, int iovcnt)
{
    ws_conn *c = st->tdata;
    ws_tx *tx = &c->tx;
    size_t skip = tx->held, total = 0, fresh = 0;
    tx->held = 0;
    if (tx->out_off > 0 && tx->out_off == tx->out_len)
        tx->out_off = tx->out_len = 0;
    if (tx->out_off > WS_OUT_SIZE / 2) {
        memmove(tx->out, tx->out + tx->out_off, tx->out_len - tx->out_off);
        tx->out_len -= tx->out_off;
        tx->out_off = 0;
    }
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t len = iov[i].iov_len;
        if (skip) {
            size_t s = skip < len ? skip : len;
            skip -= s;
            total += s;
            p += s;
            len -= s;
        }
        size_t took = ws_tx_feed(tx, p, len);
        total += took;
        fresh += took;
        if (took < len)
            break;
    }
    size_t before = tx->out_len - tx->out_off;
    int r = ws_tx_flush(st, tx);
    if (r < 0)
        return -1;
    if (r == 1)
        return (ssize_t)total;
    int progress = tx->out_len - tx->out_off < before;
    if (total == 0 || (!fresh && !progress) || (total == 1 && !progress)) {
        tx->held = total;
        errno = EAGAIN;
        return -1;
    }
    tx->held = 1;
    return (ssize_t)(total - 1);
}

static ssize_t ws_tls_read(np_stream *st, void *buf, size_t len)
{
    return np_tls_stream_read(((ws_conn *)st->tdata)->tls, buf, len);
}


/* Servers send unmasked frames (no copy of large messages); clients mask every frame. */
static const np_stream_framing ws_server_framing = {
    .encode_hdr = ws_encode_hdr,
    .decode = ws_decode,
};
static const np_stream_framing ws_client_framing = {
    .encode_hdr = ws_encode_hdr,
    .filter = ws_filter,
    .decode = ws_decode,
};

#define WS_OPS_COMMON                                                                      \
    .check_connect = ws_check_connect, .start_connect = ws_start_connect, .tune = ws_tune, \
    .conn_size = sizeof(ws_conn), .conn_init = ws_conn_init, .conn_fini = ws_conn_fini,    \
    .upgrade = ws_upgrade, .upgrade_negotiates_peer = 1

static const np_stream_ops ws_server_ops = {WS_OPS_COMMON, .framing = &ws_server_framing,
                                            .writev = ws_writev};
static const np_stream_ops ws_client_ops = {WS_OPS_COMMON, .framing = &ws_client_framing,
                                            .writev = ws_writev};
static const np_stream_ops wss_server_ops = {WS_OPS_COMMON, .framing = &ws_server_framing,
                                             .read = ws_tls_read, .writev = ws_writev,
                                             .read_buffers = 1};
static const np_stream_ops wss_client_ops = {WS_OPS_COMMON, .framing = &ws_client_framing,
                                             .read = ws_tls_read, .writev = ws_writev,
                                             .read_buffers = 1};

static int ws_adopt(np_ep *ep, int fd, np_ws_handoff *h)
{
    return np_stream_adopt(ep, fd, h);
}

/* Register on the listener shared by the endpoints bound to this address. */
static int ws_bind_shared(np_ep *ep, const np_stream_ops *ops)
{
    ws_ep *we = ep->tdata;
    np_stream_bind_shared(ep, ops);
    int rc = np_ws_listener_join(&we->binder, ep, &we->hp, we->secure, we->ctx, ws_adopt);
    we->ctx = NULL;  /* taken by the listener */
    return rc;
}

static int ws_start(np_ep *ep, int bind, int secure)
{
    ws_ep *we = ep->tdata;
    we->secure = secure;
    int rc = np_hostport_parse(ep->rest, bind, secure ? 443 : 80, 1, &we->hp);
    if (rc)
        return rc;
    if (secure) {
        we->ctx = np_tls_ctx_for_ep(ep, we->hp.host, &rc);
        if (!we->ctx)
            return rc;
    }
    const np_stream_ops *ops = secure ? (bind ? &wss_server_ops : &wss_client_ops)
                                      : (bind ? &ws_server_ops : &ws_client_ops);
    if (bind)
        return ws_bind_shared(ep, ops);
    rc = np_stream_connect(ep, ops);
    if (rc && we->ctx) {
        np_tls_ctx_free(we->ctx);
        we->ctx = NULL;
    }
    return rc;
}

static int ws_bind(np_ep *ep) { return ws_start(ep, 1, 0); }
static int ws_connect(np_ep *ep) { return ws_start(ep, 0, 0); }
static int wss_bind(np_ep *ep) { return ws_start(ep, 1, 1); }
static int wss_connect(np_ep *ep) { return ws_start(ep, 0, 1); }

static void ws_stop(np_ep *ep)
{
    ws_ep *we = ep->tdata;
    np_ws_listener_leave(&we->binder);  /* no new connections, before closing ours */
    np_stream_ep_stop(ep);
    np_tls_ctx_free(we->ctx);
    we->ctx = NULL;
}

static const np_tran_option ws_options[] = {
    {.level = NP_WS, .option = NP_WS_MSG_TYPE, .kind = NP_TOPT_INT,
     .min = NP_WS_MSG_TYPE_TEXT, .max = NP_WS_MSG_TYPE_BINARY, .def = NP_WS_MSG_TYPE_BINARY},
    {0},
};

const np_transport np_ws_transport = {
    .scheme = "ws",
    .ep_size = sizeof(ws_ep),
    .ep_bind = ws_bind,
    .ep_connect = ws_connect,
    .ep_stop = ws_stop,
    NP_STREAM_PIPE_HOOKS,
    .after_fork = np_ws_listener_after_fork,  /* the registry ws and wss share */
    .options = ws_options,
};

const np_transport np_wss_transport = {
    .scheme = "wss",
    .ep_size = sizeof(ws_ep),
    .ep_bind = wss_bind,
    .ep_connect = wss_connect,
    .ep_stop = ws_stop,
    NP_STREAM_PIPE_HOOKS,
};
