/*
 * tls_engine.h - TLS 1.2/1.3 on a non-blocking descriptor, driven by the I/O thread.
 *
 * OpenSSL (1.1.1 or 3.x) is loaded at run time with dlopen, through a small table of
 * function pointers declared here, so the extension links nothing and builds on any target
 * (wheels included); without a usable libssl, np_tls_available() says what is missing and
 * tls+tcp:// and wss:// refuse to bind or connect with EPROTONOSUPPORT.
 *
 * OpenSSL reads and writes the descriptor itself (SSL_set_fd): no copy through memory
 * buffers, and no allocation per message beyond OpenSSL's own record buffers.
 */
#ifndef NP_TLS_ENGINE_H
#define NP_TLS_ENGINE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * A socket's TLS settings travel from Python as one text blob (socket option NP_TLS_CONFIG
 * at the private level NP_TLS_LEVEL), one "name=value" per line, no NUL:
 *   server=0|1       required: the role these settings are for (bind = 1, connect = 0)
 *   verify=0|1       check the peer's certificate (default 1)
 *   cert_file=PATH   PEM certificate chain (a server's own; a client's, if it has one)
 *   key_file=PATH    PEM private key of cert_file
 *   ca_file=PATH     PEM CA certificates to verify the peer with; a client without one
 *                    uses the system's store; a server with one requires client certificates
 *   server_name=NAME the name the server's certificate must carry (default: the URL's host)
 * An unknown name or a malformed line is refused (EINVAL).
 */
#define NP_TLS_BLOB_MAX 4096

typedef struct np_tls_ctx np_tls_ctx;   /* one per endpoint: certificates, CA, mode */
typedef struct np_tls np_tls;           /* one per connection */

/* 1 when OpenSSL could be loaded; else 0 and why[] says what is missing. Thread-safe. */
int np_tls_available(char *why, size_t cap);

/*
 * Build a context from a blob. is_server must match the blob's role. host is the dialled
 * host name (client: checked against the certificate unless the blob names server_name,
 * which wins; empty/NULL = no name check). On failure returns NULL, sets *err to an errno
 * (EPROTONOSUPPORT: no OpenSSL; EINVAL: bad blob, unreadable file, key not matching the
 * certificate...) and writes the reason into why[].
 */
np_tls_ctx *np_tls_ctx_new(const void *blob, size_t len, int is_server, const char *host,
                           int *err, char *why, size_t cap);
void np_tls_ctx_free(np_tls_ctx *c);

/* A connection over fd (non-blocking, already connected/accepted). NULL on failure. */
np_tls *np_tls_new(np_tls_ctx *c, int fd);
void np_tls_free(np_tls *t);

/* Results of the calls below besides a byte count. */
#define NP_TLS_WANT_READ (-1000)
#define NP_TLS_WANT_WRITE (-1001)

/*
 * Drive the handshake: 0 when done, NP_TLS_WANT_READ/WRITE to be called again when the
 * descriptor is ready that way, or -EPROTO (handshake or verification failed; why() says
 * which) / -ECONNRESET (peer went away).
 */
int np_tls_handshake(np_tls *t);
/* n > 0 bytes read, 0 at a clean close by the peer, NP_TLS_WANT_*, or -errno. */
ssize_t np_tls_read(np_tls *t, void *buf, size_t len);
/* n > 0 bytes written, NP_TLS_WANT_*, or -errno. A WANT result must be retried later with
 * at least the same bytes (a moved buffer is fine). */
ssize_t np_tls_write(np_tls *t, const void *buf, size_t len);
/* Bytes already decrypted inside OpenSSL (readable without the descriptor being ready). */
int np_tls_pending(np_tls *t);
/* Why the last TLS endpoint of this process failed to start (no configuration, unreadable
 * file, no OpenSSL...): set by the transports, read once (and cleared) by the Python layer
 * to word its exception. take returns 1 and copies the reason when there is one. */
void np_tls_set_last_error(const char *why);
int np_tls_take_last_error(char *buf, size_t cap);

/* The last failure's reason for this connection (verification result or library error). */
const char *np_tls_why(np_tls *t);

#endif
