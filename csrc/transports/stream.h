/*
 * stream.h - the engine shared by the tcp and ipc transports: accept, connect with
 * reconnect backoff, the SP handshake, and moving frames between a socket descriptor and a
 * pipe's rings. Everything here runs on the I/O thread, except the two kick functions.
 */
#ifndef NP_STREAM_H
#define NP_STREAM_H

#include "../sock.h"

#include <sys/socket.h>

/* What differs between tcp and ipc. */
typedef struct np_stream_transport {
    int ipc;
    /* Parse ep->rest and return a bound, listening, non-blocking descriptor or -errno. */
    int (*listen)(np_ep *ep);
    /* Check ep->rest without connecting (nn_connect reports only syntax errors). */
    int (*check_connect)(np_ep *ep);
    /* Resolve ep->rest and start a non-blocking connect: fd >= 0, or -errno. */
    int (*start_connect)(np_ep *ep);
    /* Bound endpoint is going away (ipc unlinks its socket file). */
    void (*unlisten)(np_ep *ep);
} np_stream_transport;

extern const np_stream_transport np_tcp_transport;
extern const np_stream_transport np_ipc_transport;

int np_stream_bind(np_ep *ep, const np_stream_transport *t);
int np_stream_connect(np_ep *ep, const np_stream_transport *t);
void np_stream_stop(np_ep *ep);

/*
 * Caller's thread, sock->lock held: write m straight to the descriptor when the pipe is idle
 * (no I/O-thread hop, which is most of a round trip's latency). Returns 0 when m was taken
 * (written, or queued with its unwritten rest for the I/O thread), -1 to use the queue.
 */
int np_stream_send_direct(np_pipe *p, np_msg *m);

/* Any thread: the pipe has new outbound messages / room for inbound ones again. */
void np_stream_kick_write(np_pipe *p);
void np_stream_kick_read(np_pipe *p);

/* Socket-option helpers shared by tcp.c and ipc.c. */
void np_stream_tune_fd(np_sock *s, int fd, int is_tcp);
int np_set_nonblock_cloexec(int fd);

#endif
