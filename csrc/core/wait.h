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

#endif
