/* efd.c - readiness descriptors; see efd.h. */
#include "platform/efd.h"

#include "platform/np_errno.h"

#include <poll.h>

int np_efd_init(np_efd *e)
{
    int rc = np_wakeup_open(&e->fd);
    if (rc)
        return rc;
    atomic_init(&e->signalled, 0);
    pthread_mutex_init(&e->lock, NULL);
    return 0;
}

void np_efd_fini(np_efd *e)
{
    np_wakeup_close(&e->fd);
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
        np_wakeup_signal(&e->fd);
    }
    pthread_mutex_unlock(&e->lock);
}

void np_efd_unsignal(np_efd *e)
{
    if (!atomic_load(&e->signalled))
        return;
    pthread_mutex_lock(&e->lock);
    if (atomic_load(&e->signalled)) {
        np_wakeup_drain(&e->fd);
        atomic_store(&e->signalled, 0);
    }
    pthread_mutex_unlock(&e->lock);
}

int np_efd_wait(np_efd *e, int timeout_ms)
{
    struct pollfd pfd = {.fd = e->fd.rfd, .events = POLLIN};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? -EINTR : -errno;
    return rc == 0 ? -ETIMEDOUT : 0;
}
