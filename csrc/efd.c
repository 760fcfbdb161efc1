/* efd.c - readiness descriptors; see efd.h. */
#include "efd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

int np_efd_init(np_efd *e)
{
#ifdef __linux__
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    e->rfd = e->wfd = fd;
#else
    int fds[2];
    if (pipe(fds) != 0)
        return -errno;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    e->rfd = fds[0];
    e->wfd = fds[1];
#endif
    atomic_init(&e->signalled, 0);
    pthread_mutex_init(&e->lock, NULL);
    return 0;
}

void np_efd_fini(np_efd *e)
{
    if (e->rfd >= 0)
        close(e->rfd);
    if (e->wfd >= 0 && e->wfd != e->rfd)
        close(e->wfd);
    e->rfd = e->wfd = -1;
    pthread_mutex_destroy(&e->lock);
}

void np_efd_signal(np_efd *e)
{
    if (atomic_load(&e->signalled))
        return;
    pthread_mutex_lock(&e->lock);
    if (!atomic_load(&e->signalled)) {
        /* Flag first: a clearer that sees it set takes the lock and so waits for the write;
         * set after the write, a clearer could see the fd readable but the flag still clear
         * and leave a stale wake-up behind. */
        atomic_store(&e->signalled, 1);
        uint64_t one = 1;
        ssize_t rc;
        do {
            rc = write(e->wfd, &one, e->wfd == e->rfd ? sizeof(one) : 1);
        } while (rc < 0 && errno == EINTR);
    }
    pthread_mutex_unlock(&e->lock);
}

void np_efd_unsignal(np_efd *e)
{
    if (!atomic_load(&e->signalled))
        return;
    pthread_mutex_lock(&e->lock);
    if (atomic_load(&e->signalled)) {
        uint64_t buf[8];
        ssize_t rc;
        do {
            rc = read(e->rfd, buf, e->wfd == e->rfd ? sizeof(uint64_t) : sizeof(buf));
        } while (rc < 0 && errno == EINTR);
        atomic_store(&e->signalled, 0);
    }
    pthread_mutex_unlock(&e->lock);
}

int np_efd_wait(np_efd *e, int timeout_ms)
{
    struct pollfd pfd = {.fd = e->rfd, .events = POLLIN};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? -EINTR : -errno;
    return rc == 0 ? -ETIMEDOUT : 0;
}
