/*
 * sockio.h - small descriptor helpers that differ between platforms: non-blocking and
 * close-on-exec flags, and writes that must not raise SIGPIPE (Linux has MSG_NOSIGNAL on
 * each call; macOS sets SO_NOSIGPIPE once on the socket instead).
 */
#ifndef NP_SOCKIO_H
#define NP_SOCKIO_H

#include <sys/socket.h>

#ifdef MSG_NOSIGNAL
#define NP_MSG_NOSIGNAL MSG_NOSIGNAL
#else
#define NP_MSG_NOSIGNAL 0
#endif

/* O_NONBLOCK and FD_CLOEXEC on fd. 0 or -errno. */
int np_set_nonblock_cloexec(int fd);
/* Where sends cannot say MSG_NOSIGNAL, ask the socket itself not to raise SIGPIPE. */
void np_set_nosigpipe(int fd);

#endif
