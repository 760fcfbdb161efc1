/*
 * wakeup.h - a descriptor that one thread makes readable to wake another: an eventfd where
 * Linux has it, otherwise a non-blocking pipe. Used for the I/O thread's wake-ups and for
 * the readiness descriptors users poll (NN_SNDFD / NN_RCVFD, see efd.h).
 *
 * Which kind is chosen once per process: the platform's best, or the pipe when the
 * environment asks for the portable backends (NANOPY_WAKEUP=pipe, or NANOPY_POLLER=portable;
 * see poller.h). The kind of an open descriptor is known from rfd == wfd, so signalling
 * needs no global state.
 */
#ifndef NP_WAKEUP_H
#define NP_WAKEUP_H

typedef struct np_wakeup {
    int rfd;  /* the descriptor to poll for readability */
    int wfd;  /* the one to write to: rfd itself for an eventfd */
} np_wakeup;

/* Open a wake-up descriptor (close-on-exec, non-blocking). 0 or -errno. */
int np_wakeup_open(np_wakeup *w);
/* The same with a given kind, "eventfd" or "pipe" (unit tests): -ENOTSUP when the platform
 * lacks it. */
int np_wakeup_open_kind(np_wakeup *w, const char *kind);
void np_wakeup_close(np_wakeup *w);
/* Make rfd readable (idempotent while it is). Any thread. */
void np_wakeup_signal(np_wakeup *w);
/* Consume every pending signal: rfd is no longer readable afterwards. */
void np_wakeup_drain(np_wakeup *w);

/* "eventfd" or "pipe": the kind np_wakeup_open makes in this process. */
const char *np_wakeup_backend(void);

#endif
