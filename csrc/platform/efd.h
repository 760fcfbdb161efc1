/*
 * efd.h - a readiness signal backed by a wake-up descriptor (wakeup.h).
 *
 * NN_SNDFD and NN_RCVFD are these descriptors: readable exactly while the signal is set, so
 * select/poll/asyncio users see level-triggered readiness. `signalled` is the signal itself
 * and lets the common case (already in the wanted state) skip the syscall.
 *
 * No lock: a thread that flips the flag writes or drains the descriptor to match, then reads
 * the flag again and repeats while another thread flipped it meanwhile (efd.c). So whichever
 * thread touched the descriptor last checked it against the flag afterwards, and once no call
 * is in progress the descriptor is readable iff the flag is set. (A lock held across the
 * write made a receiver woken on the same CPU block on it at once: two extra switches per
 * hand-off.) While calls overlap the descriptor can be readable for a moment with the flag
 * clear; a waiter that sees that drains it itself instead of spinning (np_efd_wait).
 */
#ifndef NP_EFD_H
#define NP_EFD_H

#include "platform/wakeup.h"

#include <stdatomic.h>

typedef struct np_efd {
    np_wakeup fd;
    atomic_int signalled;
} np_efd;

int np_efd_init(np_efd *e);
/* The same with a given descriptor kind, "eventfd" or "pipe" (unit tests). */
int np_efd_init_kind(np_efd *e, const char *kind);
void np_efd_fini(np_efd *e);
/* Set / clear the signal. Any thread, no lock needed. */
void np_efd_signal(np_efd *e);
void np_efd_unsignal(np_efd *e);
/* Wait until readable or timeout (ms, <0 forever). 0 = readable (or a wake-up that may be
 * spurious: test again), -ETIMEDOUT, -EINTR. */
int np_efd_wait(np_efd *e, int timeout_ms);
/* The descriptor users poll for readability. */
static inline int np_efd_pollfd(const np_efd *e) { return e->fd.rfd; }

#endif
