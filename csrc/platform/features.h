/*
 * features.h - what this platform offers, decided at compile time. Every other file tests
 * these macros instead of the OS names.
 *
 *   NP_HAVE_EPOLL    Linux epoll: the default poller there
 *   NP_HAVE_KQUEUE   kqueue (macOS and the BSDs): the default poller there
 *   NP_HAVE_EVENTFD  Linux eventfd: the default wake-up descriptor there
 *   NP_HAVE_FUTEX    Linux futex: blocking calls sleep on the readiness flag (efd.c)
 *
 * The portable pair, poll() and a pipe, is always compiled and can be chosen at run time
 * (see poller.h).
 */
#ifndef NP_FEATURES_H
#define NP_FEATURES_H

#if defined(__linux__)
#define NP_HAVE_EPOLL 1
#define NP_HAVE_EVENTFD 1
#define NP_HAVE_FUTEX 1
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
#define NP_HAVE_KQUEUE 1
#endif

#endif
