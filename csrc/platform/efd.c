/* efd.c - readiness descriptors; see efd.h. */
#include "platform/efd.h"

#include "platform/np_errno.h"

#include <poll.h>

/* The unit test defines this to stretch the windows between a flip and its syscall. */
#ifndef NP_EFD_RACE_POINT
#define NP_EFD_RACE_POINT() ((void)0)
#endif

static int efd_setup(np_efd *e, int rc)
{
    if (rc)
        return rc;
    atomic_init(&e->signalled, 0);
    return 0;
}

int np_efd_init(np_efd *e) { return efd_setup(e, np_wakeup_open(&e->fd)); }

int np_efd_init_kind(np_efd *e, const char *kind)
{
    return efd_setup(e, np_wakeup_open_kind(&e->fd, kind));
}

void np_efd_fini(np_efd *e) { np_wakeup_close(&e->fd); }

/*
 * The descriptor was just made readable (applied = 1) or drained (0). Another thread may have
 * flipped the flag before that landed, its own write or drain landing before ours: read the
 * flag again and apply it until what we did last agrees with it. Every flip is followed by
 * such a loop in the flipping thread, so the last one to touch the descriptor leaves it right.
 */
static void efd_settle(np_efd *e, int applied)
{
    for (;;) {
        NP_EFD_RACE_POINT();
        atomic_thread_fence(memory_order_seq_cst);  /* the syscall's effect before the load */
        int want = atomic_load(&e->signalled);
        if (want == applied)
            return;
        if (want)
            np_wakeup_signal(&e->fd);
        else
            np_wakeup_drain(&e->fd);
        applied = want;
    }
}

void np_efd_signal(np_efd *e)
{
    if (atomic_load(&e->signalled) || atomic_exchange(&e->signalled, 1))
        return;
    NP_EFD_RACE_POINT();
    np_wakeup_signal(&e->fd);
    efd_settle(e, 1);
}

void np_efd_unsignal(np_efd *e)
{
    if (!atomic_load(&e->signalled) || !atomic_exchange(&e->signalled, 0))
        return;
    NP_EFD_RACE_POINT();
    np_wakeup_drain(&e->fd);
    efd_settle(e, 0);
}

int np_efd_wait(np_efd *e, int timeout_ms)
{
    struct pollfd pfd = {.fd = e->fd.rfd, .events = POLLIN};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? -EINTR : -errno;
    if (rc == 0)
        return -ETIMEDOUT;
    if (!atomic_load(&e->signalled)) {
        /* Readable with the flag clear: a signaller's write landed after a clearer's drain
         * and that signaller has not settled yet (on one CPU it may not run for a while).
         * Draining and settling here is as safe as in the settle loop itself, and stops this
         * waiter from polling a stale descriptor in a loop. */
        np_wakeup_drain(&e->fd);
        efd_settle(e, 0);
    }
    return 0;
}
