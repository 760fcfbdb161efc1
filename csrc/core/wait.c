/* wait.c - timed waits on readiness descriptors; see wait.h. */
#include "core/wait.h"

#include "platform/clock.h"

/* Milliseconds left before *deadline (computing it on first use), or -1 for forever. */
static int wait_remaining_ms(int64_t *deadline, int timeo)
{
    if (*deadline == NP_DEADLINE_UNSET)
        *deadline = timeo < 0 ? -1 : np_now_ms() + timeo;
    if (*deadline == -1)
        return -1;
    int64_t left = *deadline - np_now_ms();
    return left < 0 ? 0 : (left > INT32_MAX ? INT32_MAX : (int)left);
}

int np_wait_ready(np_efd *e, int64_t *deadline, int timeo)
{
    int left = wait_remaining_ms(deadline, timeo);
    if (left == 0)
        return -ETIMEDOUT;
    int rc = np_efd_wait(e, left);
    if (rc == -ETIMEDOUT && wait_remaining_ms(deadline, timeo) > 0)
        return 0;  /* poll woke early (clock granularity): go round again */
    return rc;
}

int np_wait_after_eagain(np_sock *s, np_efd *e, int (*ready)(np_sock *), int flags,
                         int64_t *deadline, int timeo)
{
    np_efd_unsignal(e);
    int again = ready(s);
    if (again)
        np_efd_signal(e);
    pthread_mutex_unlock(&s->lock);
    if (again)
        return 0;
    if (flags & NP_DONTWAIT)
        return -EAGAIN;
    return np_wait_ready(e, deadline, timeo);
}
