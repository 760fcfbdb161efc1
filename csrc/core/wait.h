/*
 * wait.h - how a blocking call waits: on a readiness descriptor, with no lock held, until
 * a deadline computed at its first wait (so EINTR retries keep the original timeout).
 */
#ifndef NP_WAIT_H
#define NP_WAIT_H

#include "core/sock.h"

/* Wait for `e` with the time left. 0 = try again, else -ETIMEDOUT / -EINTR. */
int np_wait_ready(np_efd *e, int64_t *deadline, int timeo);

/*
 * After a would-block result (sock->lock held; released here): clear the readiness signal,
 * test again (a producer may have pushed between the attempt and the clear), then wait.
 * Returns 0 to try again, or -errno (EAGAIN for NN_DONTWAIT, ETIMEDOUT, EINTR).
 */
int np_wait_after_eagain(np_sock *s, np_efd *e, int (*ready)(np_sock *), int flags,
                         int64_t *deadline, int timeo);

/*
 * np_wait_after_eagain for receiving (sock->lock held; released here). When the socket's
 * only pipe lets a caller read it (the transport's pipe_read_* hooks), the caller polls
 * that connection and NN_RCVFD together and reads what arrives on its own thread: no
 * I/O-thread wake-up and no hand-off stand between the kernel and the caller. Anything
 * else (a message on another pipe, nn_close, nn_term) still arrives through NN_RCVFD.
 * Returns 0 to try again, or -errno as np_wait_after_eagain.
 */
int np_wait_recv(np_sock *s, int flags, int64_t *deadline);

#endif
