/* poll.c - nn_poll: readiness of several sockets, judged by the protocols, waited for on
 * their NN_SNDFD / NN_RCVFD descriptors. */
#include "core/table.h"

#include "platform/clock.h"

#include <poll.h>
#include <stdlib.h>

/* Evaluate socket i precisely (protocol state) and aim fds at its descriptors. 0 or -errno. */
static int poll_check_one(int sock, short events, short *revents, struct pollfd fds[2])
{
    np_sock *s;
    int rc;
    *revents = 0;
    fds[0].fd = fds[1].fd = -1;
    fds[0].events = fds[1].events = POLLIN;
    if ((rc = np_table_hold(sock, &s)) != 0)
        return rc;
    if (((events & NP_POLLIN) && !(s->ops->dirs & NP_CAN_RECV)) ||
        ((events & NP_POLLOUT) && !(s->ops->dirs & NP_CAN_SEND))) {
        np_table_release(s);
        return -ENOPROTOOPT;
    }
    pthread_mutex_lock(&s->lock);
    np_sock_update_ready(s);
    if ((events & NP_POLLIN) && s->ops->can_recv(s))
        *revents |= NP_POLLIN;
    if ((events & NP_POLLOUT) && s->ops->can_send(s))
        *revents |= NP_POLLOUT;
    if (events & NP_POLLIN)
        fds[0].fd = np_efd_pollfd(&s->rcv_efd);
    if (events & NP_POLLOUT)
        fds[1].fd = np_efd_pollfd(&s->snd_efd);
    pthread_mutex_unlock(&s->lock);
    np_table_release(s);
    return 0;
}

int np_poll(const int *socks, const short *events, short *revents, int n, int timeout_ms)
{
    struct pollfd stack_fds[32];
    struct pollfd *fds = n * 2 <= 32 ? stack_fds : calloc((size_t)n * 2, sizeof(*fds));
    if (!fds)
        return -ENOMEM;
    int64_t deadline = timeout_ms < 0 ? -1 : np_now_ms() + timeout_ms;
    int rc = 0;
    for (;;) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            if ((rc = poll_check_one(socks[i], events[i], &revents[i], &fds[2 * i])) != 0)
                goto out;
            count += revents[i] != 0;
        }
        if (count > 0) {
            rc = count;
            goto out;
        }
        int left = deadline == -1 ? -1 : (int)(deadline - np_now_ms());
        if (deadline != -1 && left <= 0) {
            rc = 0;
            goto out;
        }
        int prc = poll(fds, (nfds_t)n * 2, left);
        if (prc < 0 && errno == EINTR) {
            rc = -EINTR;
            goto out;
        }
        if (np_is_terminated()) {
            rc = -NP_ETERM;
            goto out;
        }
    }
out:
    if (fds != stack_fds)
        free(fds);
    return rc;
}
