/*
 * core.h - the C core's public interface, used by the Cython module (_core.pyx).
 *
 * The functions mirror nanomsg's nn_* calls, but report errors as a negative errno in the
 * return value instead of through the thread's errno, so the caller never races on it.
 * No function here touches Python; blocking functions may be called without the GIL.
 */
#ifndef NP_CORE_H
#define NP_CORE_H

#include "platform/np_errno.h"  /* errno values, and nanomsg's NP_ETERM / NP_EFSM */

#include <stddef.h>
#include <stdint.h>

#define NP_AF_SP 1
#define NP_AF_SP_RAW 2

#define NP_PAIR 16
#define NP_PUB 32
#define NP_SUB 33
#define NP_REQ 48
#define NP_REP 49
#define NP_PUSH 80
#define NP_PULL 81
#define NP_SURVEYOR 98
#define NP_RESPONDENT 99
#define NP_BUS 112

#define NP_SOL_SOCKET 0
#define NP_INPROC (-1)
#define NP_IPC (-2)
#define NP_TCP (-3)
#define NP_WS (-4)

enum {
    NP_LINGER = 1, NP_SNDBUF, NP_RCVBUF, NP_SNDTIMEO, NP_RCVTIMEO, NP_RECONNECT_IVL,
    NP_RECONNECT_IVL_MAX, NP_SNDPRIO, NP_RCVPRIO, NP_SNDFD, NP_RCVFD, NP_DOMAIN, NP_PROTOCOL,
    NP_IPV4ONLY, NP_SOCKET_NAME, NP_RCVMAXSIZE, NP_MAXTTL
};
#define NP_SUB_SUBSCRIBE 1
#define NP_SUB_UNSUBSCRIBE 2
#define NP_REQ_RESEND_IVL 1
#define NP_SURVEYOR_DEADLINE 1
#define NP_TCP_NODELAY 1
/* NN_WS level: the WebSocket frame type of outgoing messages (kept per socket). */
#define NP_WS_MSG_TYPE 1
#define NP_WS_MSG_TYPE_TEXT 1
#define NP_WS_MSG_TYPE_BINARY 2

/*
 * Private option levels: nanopy's own transport options, at negative levels nanomsg does
 * not use (its transports sit at -1..-4), so they never collide with a nanomsg option.
 *
 * NP_TLS_LEVEL / NP_TLS_CONFIG: the TLS configuration of a socket's tls+tcp:// and wss://
 * endpoints, one opaque blob (at most NP_TLS_CONFIG_MAX bytes) that the core stores and the
 * TLS transports read when an endpoint starts. It is text, one "name=value" per line:
 * names such as ca_file, cert_file, key_file (paths of PEM files), verify (0 or 1) and
 * server_name; the TLS transport's file documents the full list.
 *
 * NP_TCP_PRIVATE_LEVEL / NP_TCP_KEEPALIVE: an int, 0 or 1 (default 0): TCP keep-alive
 * probes on the connections of tcp-based endpoints made after it is set (NNG's
 * NNG_OPT_TCP_KEEPALIVE).
 */
#define NP_TLS_LEVEL (-1001)
#define NP_TLS_CONFIG 1
#define NP_TLS_CONFIG_MAX 4096
#define NP_TCP_PRIVATE_LEVEL (-1003)
#define NP_TCP_KEEPALIVE 1

#define NP_DONTWAIT 1
/* Internal flag of np_send: the caller holds a GIL it would rather release before waking a
 * receiver in the same process. With it, a send that would wake a sleeping inproc receiver
 * returns -EINPROGRESS (nothing sent); the caller retries without the GIL, so the woken
 * thread does not at once block on the GIL the sender still holds. A receiver that is busy
 * (its readiness already signalled) costs no such round trip. */
#define NP_SEND_GIL_HELD 0x100
/* np_send / np_ctx_send flags may carry the new message's frame kind (see np_msg_kind) in
 * bits 16-23: flags | NP_SEND_KIND(k). 0 = none. */
#define NP_SEND_KIND_SHIFT 16
#define NP_SEND_KIND_MASK (0xff << NP_SEND_KIND_SHIFT)
#define NP_SEND_KIND(k) (((int)(k) & 0xff) << NP_SEND_KIND_SHIFT)
#define NP_POLLIN 1
#define NP_POLLOUT 2

#define NP_MAX_SOCKETS 512
#define NP_SOCKADDR_MAX 128
#define NP_SOCKET_NAME_MAX 63

/* Statistic ids (nanomsg's NN_STAT_*). */
#define NP_STAT_ESTABLISHED_CONNECTIONS 101
#define NP_STAT_ACCEPTED_CONNECTIONS 102
#define NP_STAT_DROPPED_CONNECTIONS 103
#define NP_STAT_BROKEN_CONNECTIONS 104
#define NP_STAT_CONNECT_ERRORS 105
#define NP_STAT_BIND_ERRORS 106
#define NP_STAT_ACCEPT_ERRORS 107
#define NP_STAT_CURRENT_CONNECTIONS 201
#define NP_STAT_INPROGRESS_CONNECTIONS 202
#define NP_STAT_CURRENT_EP_ERRORS 203
#define NP_STAT_MESSAGES_SENT 301
#define NP_STAT_MESSAGES_RECEIVED 302
#define NP_STAT_BYTES_SENT 303
#define NP_STAT_BYTES_RECEIVED 304
#define NP_STAT_CURRENT_SND_PRIORITY 401

/* A deadline value meaning "not computed yet": set by the first wait of a call. */
#define NP_DEADLINE_UNSET INT64_MIN

typedef struct np_msg np_msg;

/* One part of a gathered send. */
typedef struct np_iov {
    const void *base;
    size_t len;
} np_iov;

int np_socket(int domain, int protocol);
int np_close(int s);
int np_setsockopt(int s, int level, int option, const void *val, size_t len);
int np_getsockopt(int s, int level, int option, void *val, size_t *len);
int np_bind(int s, const char *addr);
int np_connect(int s, const char *addr);
int np_shutdown(int s, int eid);

/*
 * Send the concatenation of iov[0..n) as one message, with an optional SP header (raw
 * sockets). Returns the body size or -errno. -EINTR means a signal arrived while waiting:
 * the caller checks for Python signals and calls again with the same *deadline.
 */
int np_send(int s, const np_iov *iov, int n, const void *hdr, size_t hdr_len, int has_hdr,
            int flags, int64_t *deadline);
/* Receive one message; on success *out owns it (free with np_msg_free). */
int np_recv(int s, np_msg **out, int flags, int64_t *deadline);

/* Several messages in one call: used by send_many/recv_many to amortise per-call costs. */
int np_send_batch(int s, const np_iov *msgs, int n, int flags, int64_t *deadline, int *sent);
int np_recv_batch(int s, np_msg **out, int max, int flags, int64_t *deadline);

/* nn_poll: fds[i] = socket, events[i] in/out; fills revents. Returns count or -errno. */
int np_poll(const int *socks, const short *events, short *revents, int n, int timeout_ms);

/* Accessors for a received message. */
const uint8_t *np_msg_body(const np_msg *m);
size_t np_msg_body_len(const np_msg *m);
const uint8_t *np_msg_hdr(const np_msg *m);
size_t np_msg_hdr_len(const np_msg *m);
void np_msg_free(np_msg *m);
/* Id of the connection a received message came through (0: not received from a peer). */
uint32_t np_msg_pipe(const np_msg *m);
/* A per-message property of the frame it travels in, which the core carries without
 * interpreting it: 0 = none (sent: use the socket's setting; received: the transport has no
 * such property). ws and wss store NN_WS_MSG_TYPE here (1 text, 2 binary). */
uint8_t np_msg_kind(const np_msg *m);
void np_msg_set_kind(np_msg *m, uint8_t kind);

/* Contexts (REQ, REP, SURVEYOR, RESPONDENT): independent request states on one socket. */
int np_ctx_open(int s);
int np_ctx_close(int s, int ctx);
int np_ctx_send(int s, int ctx, const np_iov *iov, int n, int flags, int64_t *deadline);
int np_ctx_recv(int s, int ctx, np_msg **out, int flags, int64_t *deadline);
/* The descriptor that is readable while a recv on the context would not block. */
int np_ctx_recv_fd(int s, int ctx);

/* Zero-copy: a message over someone else's buffer (see msg.h and deferred.h). */
#ifndef NP_RELEASE_FN_DEFINED
#define NP_RELEASE_FN_DEFINED
typedef void (*np_release_fn)(void *owner);
#endif
np_msg *np_msg_wrap(const void *data, size_t len, np_release_fn release, void *owner);
void *np_msg_external_owner(const np_msg *m, np_release_fn release, size_t owner_len);
int np_send_owned(int s, np_msg *m, int flags, int64_t *deadline);
void np_defer_release(void *owner);
size_t np_deferred_count(void);
size_t np_deferred_take(void **out, size_t max);

int np_device(int s1, int s2);
void np_term(void);
int np_is_terminated(void);
int np_get_statistic(int s, int stat, uint64_t *value);

/* The URL of endpoint eid of socket s as resolved by its transport (for a bind to port 0,
 * with the port the kernel chose), or as given when the transport resolved nothing.
 * Copies at most len bytes (NUL-terminated) and returns the full length, or -errno. */
int np_endpoint_url(int s, int eid, char *buf, size_t len);

/* The I/O backends this process uses (platform/poller.h): "epoll", "kqueue" or "poll";
 * "eventfd" or "pipe". Chosen from the environment at first use, then fixed. */
const char *np_poller_backend(void);
const char *np_wakeup_backend(void);

/* ---- connection events (monitor.c) ---------------------------------------------------- */
enum {
    NP_EV_CONNECTED = 1, NP_EV_DISCONNECTED, NP_EV_CONNECT_FAILED, NP_EV_ACCEPT_FAILED,
    NP_EV_HANDSHAKE_FAILED
};

/* One connection event as a reader gets it. `dropped`: events this reader lost (the ring was
 * full, the oldest went first) between the event it took before and this one. */
typedef struct np_pipe_event {
    int kind;
    uint32_t pipe;      /* the connection's id (0 when there was no connection) */
    int endpoint;       /* the endpoint id it came through */
    uint64_t dropped;
    char address[NP_SOCKADDR_MAX];   /* the remote address as a URL */
} np_pipe_event;

typedef struct np_monitor np_monitor;

/* A monitor of socket s keeping up to `capacity` unread events. 0 and *out, or -errno. */
int np_monitor_open(int s, int capacity, np_monitor **out);
/* Readable while an event waits, or once the monitor or its socket is closed. */
int np_monitor_fd(np_monitor *m);
/* Take the oldest event: 0, -EAGAIN (none yet) or -EBADF (closed, nothing left). */
int np_monitor_take(np_monitor *m, np_pipe_event *ev);
/* Wait up to timeout_ms (<0 forever) for the descriptor: 0, -ETIMEDOUT or -EINTR. */
int np_monitor_wait(np_monitor *m, int timeout_ms);
/* Stop collecting and wake a waiting reader; the memory stays until np_monitor_free. */
void np_monitor_close(np_monitor *m);
void np_monitor_free(np_monitor *m);

#endif
