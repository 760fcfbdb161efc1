/* stats.c - nn_get_statistic: the NN_STAT_* counters a socket keeps. */
#include "core/pipe.h"
#include "core/table.h"

/* NN_STAT_CURRENT_SND_PRIORITY: the best priority a load-balanced send could use now. */
static uint64_t stats_snd_priority(np_sock *s)
{
    if (!s->ops->lb_priority)
        return 0;
    int best = 0;
    for (int i = 0; i < s->npipes; i++) {
        np_pipe *p = s->pipes[i];
        if (np_pipe_writable(p) && (best == 0 || p->sndprio < best))
            best = p->sndprio;
    }
    return best ? (uint64_t)best : (s->npipes ? UINT64_MAX : 0);
}

static int stats_read(np_sock *s, int stat, uint64_t *value)
{
    uint64_t v = 0;
    switch (stat) {
    case NP_STAT_ESTABLISHED_CONNECTIONS: v = atomic_load(&s->established); break;
    case NP_STAT_ACCEPTED_CONNECTIONS: v = atomic_load(&s->accepted); break;
    case NP_STAT_DROPPED_CONNECTIONS: v = atomic_load(&s->dropped); break;
    case NP_STAT_BROKEN_CONNECTIONS: v = atomic_load(&s->broken); break;
    case NP_STAT_CONNECT_ERRORS: v = atomic_load(&s->connect_errors); break;
    case NP_STAT_BIND_ERRORS: v = 0; break;
    case NP_STAT_ACCEPT_ERRORS: v = atomic_load(&s->accept_errors); break;
    case NP_STAT_MESSAGES_SENT: v = atomic_load(&s->msgs_sent); break;
    case NP_STAT_MESSAGES_RECEIVED: v = atomic_load(&s->msgs_recv); break;
    case NP_STAT_BYTES_SENT: v = atomic_load(&s->bytes_sent); break;
    case NP_STAT_BYTES_RECEIVED: v = atomic_load(&s->bytes_recv); break;
    case NP_STAT_INPROGRESS_CONNECTIONS: v = atomic_load(&s->inprogress); break;
    case NP_STAT_CURRENT_CONNECTIONS:
        for (int i = 0; i < s->npipes; i++)
            v += !atomic_load(&s->pipes[i]->dead);
        break;
    case NP_STAT_CURRENT_EP_ERRORS:
        for (np_ep *ep = s->eps; ep; ep = ep->next)
            v += ep->last_error != 0;
        break;
    case NP_STAT_CURRENT_SND_PRIORITY: v = stats_snd_priority(s); break;
    default: return -EINVAL;
    }
    *value = v;
    return 0;
}

int np_get_statistic(int id, int stat, uint64_t *value)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    *value = 0;
    pthread_mutex_lock(&s->lock);
    rc = stats_read(s, stat, value);
    pthread_mutex_unlock(&s->lock);
    np_table_release(s);
    return rc;
}
