/*
 * np_errno.h - error numbers. Everything the system defines comes from <errno.h>; nanomsg's
 * own errors (ETERM, EFSM) and any standard name a platform lacks get nanomsg's value,
 * NN_HAUSNUMERO plus a fixed offset, so that a number means the same in nanopy and in a
 * native nanomsg build on that platform. This is the one place such numbers are written.
 */
#ifndef NP_ERRNO_H
#define NP_ERRNO_H

#include <errno.h>

#define NP_HAUSNUMERO 156384712
#define NP_ETERM (NP_HAUSNUMERO + 53)
#define NP_EFSM (NP_HAUSNUMERO + 54)

#ifndef ENOTSUP
#define ENOTSUP (NP_HAUSNUMERO + 1)
#endif
#ifndef EPROTONOSUPPORT
#define EPROTONOSUPPORT (NP_HAUSNUMERO + 2)
#endif
#ifndef ENOBUFS
#define ENOBUFS (NP_HAUSNUMERO + 3)
#endif
#ifndef ENETDOWN
#define ENETDOWN (NP_HAUSNUMERO + 4)
#endif
#ifndef EADDRINUSE
#define EADDRINUSE (NP_HAUSNUMERO + 5)
#endif
#ifndef EADDRNOTAVAIL
#define EADDRNOTAVAIL (NP_HAUSNUMERO + 6)
#endif
#ifndef ECONNREFUSED
#define ECONNREFUSED (NP_HAUSNUMERO + 7)
#endif
#ifndef EINPROGRESS
#define EINPROGRESS (NP_HAUSNUMERO + 8)
#endif
#ifndef ENOTSOCK
#define ENOTSOCK (NP_HAUSNUMERO + 9)
#endif
#ifndef EAFNOSUPPORT
#define EAFNOSUPPORT (NP_HAUSNUMERO + 10)
#endif
#ifndef EPROTO
#define EPROTO (NP_HAUSNUMERO + 11)
#endif
#ifndef ENETRESET
#define ENETRESET (NP_HAUSNUMERO + 18)
#endif
#ifndef ENETUNREACH
#define ENETUNREACH (NP_HAUSNUMERO + 19)
#endif
#ifndef EHOSTUNREACH
#define EHOSTUNREACH (NP_HAUSNUMERO + 20)
#endif
#ifndef ENOTCONN
#define ENOTCONN (NP_HAUSNUMERO + 21)
#endif
#ifndef EMSGSIZE
#define EMSGSIZE (NP_HAUSNUMERO + 22)
#endif
#ifndef ETIMEDOUT
#define ETIMEDOUT (NP_HAUSNUMERO + 23)
#endif
#ifndef ECONNABORTED
#define ECONNABORTED (NP_HAUSNUMERO + 24)
#endif
#ifndef ECONNRESET
#define ECONNRESET (NP_HAUSNUMERO + 25)
#endif
#ifndef ENOPROTOOPT
#define ENOPROTOOPT (NP_HAUSNUMERO + 26)
#endif
#ifndef EISCONN
#define EISCONN (NP_HAUSNUMERO + 27)
#endif
#ifndef ESOCKTNOSUPPORT
#define ESOCKTNOSUPPORT (NP_HAUSNUMERO + 28)
#endif

#endif
