/* efd.c - readiness signals; see efd.h. */
#include "platform/efd.h"

#include "platform/features.h"
#include "platform/np_errno.h"

#include <limits.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#ifdef NP_HAVE_FUTEX
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* The unit test defines this to stretch the windows between a flip and its syscall. */
#ifndef NP_EFD_RACE_POINT
#define NP_EFD_RACE_POINT() ((void)0)
#endif

static int efd_setup(np_efd *e, int rc)
{
    if (rc)
        return rc;
    atomic_init(&e->signalled, 0);
    atomic_init(&e->sleepers, 0);
#ifdef NP_HAVE_FUTEX
    atomic_init(&e->mirrored, 0);
#else
    atomic_init(&e->mirrored, 1);  /* no futex: waiters sleep in poll() on the descriptor */
#endif
    return 0;
}

int np_efd_init(np_efd *e)
{
    int rc = efd_setup(e, np_wakeup_open(&e->fd));
    /* The portable backends (pipe wake-ups) run what a platform without a futex runs:
     * waiters poll the descriptor from the start, so that path is tested here too. */
    if (rc == 0 && strcmp(np_wakeup_backend(), "pipe") == 0)
        atomic_store(&e->mirrored, 1);
    return rc;
}

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

#ifdef NP_HAVE_FUTEX
static void efd_wake_sleepers(np_efd *e)
{
    syscall(SYS_futex, &e->signalled, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Sleep while the flag is clear. The sleeper count is raised before the kernel tests the
 * flag and a signaller reads it after setting the flag (both sequentially consistent), so
 * either the kernel sees the flag set or the signaller sees a sleeper and wakes it. */
static int efd_sleep(np_efd *e, int timeout_ms)
{
    /* "Forever" is an hour at a time: a timed futex wait is never restarted after a signal
     * handler ran, so Ctrl-C reaches Python as with poll(). */
    int ms = timeout_ms < 0 ? 3600 * 1000 : timeout_ms;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    atomic_fetch_add(&e->sleepers, 1);
    long rc = syscall(SYS_futex, &e->signalled, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
    int err = rc < 0 ? errno : 0;
    atomic_fetch_sub(&e->sleepers, 1);
    if (err == EINTR)
        return -EINTR;
    if (err == ETIMEDOUT)
        return timeout_ms < 0 ? 0 : -ETIMEDOUT;
    return 0;  /* woken, or the flag was already set (EAGAIN) */
}
#endif

void np_efd_signal(np_efd *e)
{
    if (atomic_load(&e->signalled) || atomic_exchange(&e->signalled, 1))
        return;
#ifdef NP_HAVE_FUTEX
    if (atomic_load(&e->sleepers))
        efd_wake_sleepers(e);
#endif
    if (!atomic_load(&e->mirrored))
        return;
    NP_EFD_RACE_POINT();
    np_wakeup_signal(&e->fd);
    efd_settle(e, 1);
}

void np_efd_unsignal(np_efd *e)
{
    if (!atomic_load(&e->signalled) || !atomic_exchange(&e->signalled, 0))
        return;
    if (!atomic_load(&e->mirrored))
        return;
    NP_EFD_RACE_POINT();
    np_wakeup_drain(&e->fd);
    efd_settle(e, 0);
}

int np_efd_pollfd(np_efd *e)
{
    /* Flips seen unmirrored left the descriptor alone (empty: nobody writes it before
     * this): settle it against the flag now. A flip that reads `mirrored` after our
     * exchange settles by itself; one that read it before has set the flag already. */
    if (!atomic_load(&e->mirrored) && !atomic_exchange(&e->mirrored, 1))
        efd_settle(e, 0);
    return e->fd.rfd;
}

int np_efd_wait(np_efd *e, int timeout_ms)
{
#ifdef NP_HAVE_FUTEX
    if (!atomic_load(&e->mirrored))
        return efd_sleep(e, timeout_ms);
#endif
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
