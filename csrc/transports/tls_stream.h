/*
 * tls_stream.h - what tls+tcp:// and wss:// share: the endpoint's TLS context made from the
 * socket's NP_TLS_CONFIG blob, and the stream engine's byte I/O through a TLS session.
 */
#ifndef NP_TLS_STREAM_H
#define NP_TLS_STREAM_H

#include "transports/stream.h"
#include "transports/tls_engine.h"

/*
 * The endpoint's context: server for a bound endpoint, else a client checking `host`.
 * NULL with *rc = -EINVAL (no or bad configuration, unreadable files) or -EPROTONOSUPPORT
 * (no OpenSSL); the reason is kept for np_tls_take_last_error().
 */
np_tls_ctx *np_tls_ctx_for_ep(np_ep *ep, const char *host, int *rc);

/* One step of the TLS handshake as an upgrade step: 0 done, NP_IO_IN/NP_IO_OUT to wait,
 * or -EPROTO/-ECONNRESET after counting the failure as a connect or accept error. */
int np_tls_stream_handshake(np_stream *st, np_tls *t);
/* recv()/sendmsg()-like results (-1 with errno; EAGAIN to wait). */
ssize_t np_tls_stream_read(np_tls *t, void *buf, size_t len);
ssize_t np_tls_stream_writev(np_tls *t, const struct iovec *iov, int iovcnt);
/* Count a failed handshake (TLS or HTTP upgrade) of st where the user sees it. */
void np_tls_stream_count_failure(np_stream *st);

#endif
