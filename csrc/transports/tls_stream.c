/* tls_stream.c - TLS glue between the stream engine and tls_engine.c; see tls_stream.h. */
#include "transports/tls_stream.h"

#include <string.h>

np_tls_ctx *np_tls_ctx_for_ep(np_ep *ep, const char *host, int *rc)
{
    char blob[NP_TLS_BLOB_MAX + 1];
    size_t n = np_topt_blob(ep->sock, NP_TLS_LEVEL, NP_TLS_CONFIG, blob, sizeof(blob));
    if (n == 0 || n > NP_TLS_BLOB_MAX) {
        np_tls_set_last_error("tls+tcp:// and wss:// need a TLS configuration on the socket "
                       "(Socket(..., tls=TLSConfig(...)) or sock.tls = ...)");
        *rc = -EINVAL;
        return NULL;
    }
    int err = 0;
    char why[256];
    np_tls_ctx *c = np_tls_ctx_new(blob, n, ep->bound, host, &err, why, sizeof(why));
    if (!c) {
        np_tls_set_last_error(why);
        *rc = -err;
    }
    return c;
}

void np_tls_stream_count_failure(np_stream *st)
{
    if (st->outgoing)
        atomic_fetch_add(&st->sock->connect_errors, 1);
    else
        atomic_fetch_add(&st->sock->accept_errors, 1);
}

int np_tls_stream_handshake(np_stream *st, np_tls *t)
{
    int rc = np_tls_handshake(t);
    if (rc == 0)
        return 0;
    if (rc == NP_TLS_WANT_READ)
        return NP_IO_IN;
    if (rc == NP_TLS_WANT_WRITE)
        return NP_IO_OUT;
    np_tls_stream_count_failure(st);
    st->ep->last_error = -rc;
    return rc;
}

ssize_t np_tls_stream_read(np_tls *t, void *buf, size_t len)
{
    ssize_t n = np_tls_read(t, buf, len);
    if (n >= 0)
        return n;
    errno = n == NP_TLS_WANT_READ || n == NP_TLS_WANT_WRITE ? EAGAIN : (int)-n;
    return -1;
}

ssize_t np_tls_stream_writev(np_tls *t, const struct iovec *iov, int iovcnt)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (left) {
            ssize_t n = np_tls_write(t, p, left);
            if (n < 0) {
                if (total)
                    return (ssize_t)total;
                errno = n == NP_TLS_WANT_READ || n == NP_TLS_WANT_WRITE ? EAGAIN : (int)-n;
                return -1;
            }
            total += (size_t)n;
            p += n;
            left -= (size_t)n;
        }
    }
    return (ssize_t)total;
}
