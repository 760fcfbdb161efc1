/*
 * endpoint.h - nn_bind / nn_connect / nn_shutdown: the socket's endpoint list and the hand-off
 * to the transport named by the URL's scheme (transports/transport.h). The transport work
 * runs on the I/O thread (np_loop_call).
 */
#ifndef NP_ENDPOINT_H
#define NP_ENDPOINT_H

#include "core/sock.h"

/* Make an endpoint of s for addr: its id, or -errno. */
int np_ep_bind_or_connect(np_sock *s, const char *addr, int bind);
/* Stop and free every endpoint of s (I/O thread: the socket is closing). */
void np_ep_stop_all(np_sock *s);
/* Stop and free endpoint eid of s: 0 or -EINVAL. */
int np_ep_shutdown(np_sock *s, int eid);

#endif
