/*
 * monitor.h - connection events (a pipe came or went, a dial/accept/handshake failed) queued
 * for whoever watches a socket.
 *
 * Events are produced on the I/O thread (and by inproc pairings) and only ever copied into a
 * fixed ring per monitor under that monitor's own mutex: nothing waits for the reader, and a
 * full ring forgets its oldest event and counts it, so a slow reader can never hold up a
 * connection. The data path does not see monitors at all.
 *
 * Lock order: sock->lock, then sock->mon_lock, then a monitor's lock.
 */
#ifndef NP_MONITOR_H
#define NP_MONITOR_H

#include "core.h"

typedef struct np_sock np_sock;
typedef struct np_ep np_ep;
typedef struct np_pipe np_pipe;

/* The socket's side: its list of monitors (fields of np_sock, see sock.h). */
void np_monitors_init(np_sock *s);
/* The socket closed: its monitors keep what they hold, then report EBADF. */
void np_monitors_socket_closed(np_sock *s);
/* (The socket's destructor, ready.c, destroys mon_lock itself: monitor.c depends on the
 * socket's reference count, not the other way round.) */

/* Queue one event on every monitor of s (any thread; takes mon_lock). */
void np_monitor_emit(np_sock *s, int kind, uint32_t pipe, int eid, const char *address);

/* A pipe was attached / detached: NP_EV_CONNECTED or NP_EV_DISCONNECTED with its address. */
void np_monitor_pipe(np_pipe *p, int kind);

/*
 * Transports call this when a dial, an accept or an SP handshake fails (kind is
 * NP_EV_CONNECT_FAILED, NP_EV_ACCEPT_FAILED or NP_EV_HANDSHAKE_FAILED). fd is the
 * connection's descriptor when there is one (its peer address is reported), else -1 (the
 * endpoint's own address is).
 */
void np_ep_report_failure(np_ep *ep, int kind, int fd);

/* The peer of a connected descriptor as a URL with ep's scheme ("tcp://10.0.0.2:41234");
 * ep's own URL when the peer has no address of its own (ipc, abstract), or fd is -1. */
void np_format_peer(const np_ep *ep, int fd, char *buf, size_t cap);

/* A bound listening descriptor: when the address asked for port 0, record the URL with the
 * port the kernel chose (ep->url), so Endpoint.url and events name the address really bound. */
void np_ep_note_bound_fd(np_ep *ep, int fd);

#endif
