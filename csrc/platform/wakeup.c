/* wakeup.c - eventfd and pipe wake-up descriptors; see wakeup.h. */
#include "platform/wakeup.h"

#include "platform/features.h"
#include "platform/np_errno.h"
#include "platform/sockio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef NP_HAVE_EVENTFD
#include <sys/eventfd.h>
#endif

/* -1: not decided yet; 0: pipe; 1: eventfd. Decided once (environment read at first use). */
static int wakeup_use_eventfd = -1;

static int wakeup_choose(void)
{
    if (wakeup_use_eventfd >= 0)
        return wakeup_use_eventfd;
#ifdef NP_HAVE_EVENTFD
    const char *w = getenv("NANOPY_WAKEUP");
    const char *p = getenv("NANOPY_POLLER");
    int portable = (w && strcmp(w, "pipe") == 0) || (p && strcmp(p, "portable") == 0);
    wakeup_use_eventfd = !portable;
#else
    wakeup_use_eventfd = 0;
#endif
    return wakeup_use_eventfd;
}

const char *np_wakeup_backend(void) { return wakeup_choose() ? "eventfd" : "pipe"; }

int np_wakeup_open_kind(np_wakeup *w, const char *kind)
{
    if (strcmp(kind, "eventfd") == 0) {
#ifdef NP_HAVE_EVENTFD
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
            return -errno;
        w->rfd = w->wfd = fd;
        return 0;
#else
        return -ENOTSUP;
#endif
    }
    if (strcmp(kind, "pipe") != 0)
        return -EINVAL;
    int fds[2];
    if (pipe(fds) != 0)
        return -errno;
    for (int i = 0; i < 2; i++)
        np_set_nonblock_cloexec(fds[i]);
    w->rfd = fds[0];
    w->wfd = fds[1];
    return 0;
}

int np_wakeup_open(np_wakeup *w) { return np_wakeup_open_kind(w, np_wakeup_backend()); }

void np_wakeup_close(np_wakeup *w)
{
    if (w->rfd >= 0)
        close(w->rfd);
    if (w->wfd >= 0 && w->wfd != w->rfd)
        close(w->wfd);
    w->rfd = w->wfd = -1;
}

void np_wakeup_signal(np_wakeup *w)
{
    uint64_t one = 1;
    ssize_t rc;
    /* An eventfd takes an 8-byte counter; a pipe one byte (a full pipe is readable anyway,
     * so EAGAIN is fine). */
    do {
        rc = write(w->wfd, &one, w->wfd == w->rfd ? sizeof(one) : 1);
    } while (rc < 0 && errno == EINTR);
}

void np_wakeup_drain(np_wakeup *w)
{
    uint64_t buf[8];
    ssize_t rc;
    if (w->wfd == w->rfd) {
        do {
            rc = read(w->rfd, buf, sizeof(uint64_t));
        } while (rc < 0 && errno == EINTR);
        return;
    }
    /* A pipe may hold several bytes (several signals): read until it is empty. */
    do {
        rc = read(w->rfd, buf, sizeof(buf));
    } while (rc == (ssize_t)sizeof(buf) || (rc < 0 && errno == EINTR));
}
