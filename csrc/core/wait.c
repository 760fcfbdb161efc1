/* wait.c - timed waits on readiness descriptors; see wait.h. */
#include "core/wait.h"

#include "core/pipe.h"
#include "transports/transport.h"

#include "platform/clock.h"

#include <poll.h>

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

/* The pipe a waiting receiver may read itself: the socket's only one, if it can. */
static np_pipe *wait_direct_pipe(np_sock *s)
{
    if (s->npipes != 1)
        return NULL;  /* with several, the I/O thread keeps them fair */
    np_pipe *p = s->pipes[0];
    if (!p->tran->pipe_read_begin || atomic_load(&p->dead))
        return NULL;
    return p;
}

/* Poll NN_RCVFD and the connection until a message was read, the signal rose or time
 * ran out (no lock held; the caller holds the read side of p). 0 or -errno. */
static int wait_reading(np_sock *s, np_pipe *p, int fd, int64_t *deadline, int timeo)
{
    for (;;) {
        int left = wait_remaining_ms(deadline, timeo);
        if (left == 0)
            return -ETIMEDOUT;
        struct pollfd fds[2] = {{.fd = np_efd_pollfd(&s->rcv_efd), .events = POLLIN},
                                {.fd = fd, .events = POLLIN}};
        int n = poll(fds, 2, left);
        if (n < 0) {
            if (errno == EINTR)
                return -EINTR;
            return -errno;
        }
        if (n == 0)
            continue;  /* the deadline is checked again above */
        if (fds[1].revents && p->tran->pipe_read_some(p) != 0)
            return 0;  /* messages queued, or the connection is gone: go round */
        if (fds[0].revents) {
            np_efd_wait(&s->rcv_efd, 0);  /* lets the descriptor settle a stale wake-up */
            return 0;
        }
    }
}

int np_wait_recv(np_sock *s, int flags, int64_t *deadline)
{
    np_pipe *p = flags & NP_DONTWAIT ? NULL : wait_direct_pipe(s);
    int fd = p ? p->tran->pipe_read_begin(p) : -1;
    if (fd < 0)
        return np_wait_after_eagain(s, &s->rcv_efd, s->ops->can_recv, flags, deadline,
                                    s->rcvtimeo);
    int rc = 0;
    np_efd_unsignal(&s->rcv_efd);
    if (s->ops->can_recv(s)) {
        np_efd_signal(&s->rcv_efd);  /* a message came between the attempt and the clear */
    } else {
        int timeo = s->rcvtimeo;
        np_pipe_ref(p);  /* the socket may drop the pipe meanwhile */
        pthread_mutex_unlock(&s->lock);
        rc = wait_reading(s, p, fd, deadline, timeo);
        pthread_mutex_lock(&s->lock);
        p->tran->pipe_read_end(p);
        pthread_mutex_unlock(&s->lock);
        np_pipe_unref(p);
        return rc;
    }
    p->tran->pipe_read_end(p);
    pthread_mutex_unlock(&s->lock);
    return rc;
}
