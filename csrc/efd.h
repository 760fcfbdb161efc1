/*
 * efd.h - a readiness signal backed by an OS descriptor (eventfd on Linux, a pipe elsewhere).
 *
 * NN_SNDFD and NN_RCVFD are these descriptors: readable exactly while the signal is set, so
 * select/poll/asyncio users see level-triggered readiness. `signalled` lets the common case
 * (already in the wanted state) skip the syscall; the mutex keeps the flag and the descriptor
 * in step when a setter and a clearer race, which would otherwise lose a wake-up.
 */
#ifndef NP_EFD_H
#define NP_EFD_H

#include <pthread.h>
#include <stdatomic.h>

typedef struct np_efd {
    int rfd;  /* the descriptor users poll */
    int wfd;  /* same as rfd for eventfd */
    atomic_int signalled;
    pthread_mutex_t lock;
} np_efd;

int np_efd_init(np_efd *e);
void np_efd_fini(np_efd *e);
void np_efd_signal(np_efd *e);
void np_efd_unsignal(np_efd *e);
/* Wait until readable or timeout (ms, <0 forever). 0 = readable, -ETIMEDOUT, -EINTR. */
int np_efd_wait(np_efd *e, int timeout_ms);

#endif
