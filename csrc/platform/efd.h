/*
 * efd.h - a readiness signal: a flag that blocking calls sleep on, and the descriptor users
 * poll (NN_SNDFD, NN_RCVFD, context and monitor descriptors).
 *
 * The descriptor is readable exactly while the signal is set, so select/poll/asyncio users
 * see level-triggered readiness. It is kept in step with the flag only once somebody has
 * asked for it (np_efd_pollfd); until then a blocking call sleeps on the flag itself (a
 * futex where the platform has one), and setting the signal with nobody asleep costs no
 * syscall at all. Platforms without a futex mirror the descriptor from the start and sleep
 * in poll().
 *
 * No lock: a thread that flips the flag while the descriptor is mirrored writes or drains it
 * to match, then reads the flag again and repeats while another thread flipped it meanwhile
 * (efd.c). So whichever thread touched the descriptor last checked it against the flag
 * afterwards, and once no call is in progress the descriptor is readable iff the flag is
 * set. (A lock held across the write made a receiver woken on the same CPU block on it at
 * once: two extra switches per hand-off.) While calls overlap the descriptor can be readable
 * for a moment with the flag clear; a waiter that sees that drains it itself instead of
 * spinning (np_efd_wait).
 */
#ifndef NP_EFD_H
#define NP_EFD_H

#include "platform/wakeup.h"

#include <stdatomic.h>

typedef struct np_efd {
    np_wakeup fd;
    atomic_int signalled;  /* the signal; also the word sleepers wait on */
    atomic_int mirrored;   /* the descriptor was handed out: keep it in step */
    atomic_int sleepers;   /* threads asleep on `signalled` in np_efd_wait */
} np_efd;

int np_efd_init(np_efd *e);
/* The same with a given descriptor kind, "eventfd" or "pipe" (unit tests). */
int np_efd_init_kind(np_efd *e, const char *kind);
void np_efd_fini(np_efd *e);
/* Set / clear the signal. Any thread, no lock needed. */
void np_efd_signal(np_efd *e);
void np_efd_unsignal(np_efd *e);
/* Wait until the signal is set or timeout (ms, <0 forever). 0 = set (or a wake-up that may
 * be spurious: test again), -ETIMEDOUT, -EINTR. */
int np_efd_wait(np_efd *e, int timeout_ms);
/* The descriptor users poll for readability. From the first call on it is kept in step with
 * the signal (and brought up to date now: a message may be waiting already). */
int np_efd_pollfd(np_efd *e);

#endif
