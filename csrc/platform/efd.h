/*
 * efd.h - a readiness signal backed by a wake-up descriptor (wakeup.h).
 *
 * NN_SNDFD and NN_RCVFD are these descriptors: readable exactly while the signal is set, so
 * select/poll/asyncio users see level-triggered readiness. `signalled` lets the common case
 * (already in the wanted state) skip the syscall; the mutex keeps the flag and the descriptor
 * in step when a setter and a clearer race, which would otherwise lose a wake-up.
 */
#ifndef NP_EFD_H
#define NP_EFD_H

#include "platform/wakeup.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct np_efd {
    np_wakeup fd;
    atomic_int signalled;
    pthread_mutex_t lock;
} np_efd;

int np_efd_init(np_efd *e);
void np_efd_fini(np_efd *e);
void np_efd_signal(np_efd *e);
void np_efd_unsignal(np_efd *e);
/* Wait until readable or timeout (ms, <0 forever). 0 = readable, -ETIMEDOUT, -EINTR. */
int np_efd_wait(np_efd *e, int timeout_ms);
/* The descriptor users poll for readability. */
static inline int np_efd_pollfd(const np_efd *e) { return e->fd.rfd; }

#endif
