/* route.c - fq, lb, dist and backtrace helpers; see route.h. */
#include "protocols/route.h"

#include <string.h>

/*
 * The best (lowest) send and receive priorities among the pipes, recomputed only when the
 * pipe array changed: a round-robin scan that finds a ready pipe of the best priority
 * present can stop there, so picking a pipe costs O(1) however many pipes there are
 * (as long as the next ones are ready), not a walk over all of them.
 */
static void refresh_min_prio(np_sock *s)
{
    if (s->prio_gen == s->pipes_gen && s->npipes)
        return;
    int snd = 1 << 30, rcv = 1 << 30;
    for (int i = 0; i < s->npipes; i++) {
        if (s->pipes[i]->sndprio < snd)
            snd = s->pipes[i]->sndprio;
        if (s->pipes[i]->rcvprio < rcv)
            rcv = s->pipes[i]->rcvprio;
    }
    s->min_sndprio = snd;
    s->min_rcvprio = rcv;
    s->prio_gen = s->pipes_gen;
}

np_msg *np_fq_recv(np_sock *s, np_pipe **from)
{
    refresh_min_prio(s);
    int n = s->npipes, best = -1, best_prio = 1 << 30, stop = s->min_rcvprio;
    for (int k = 0; k < n; k++) {
        int i = (s->fq_cursor + k) % n;
        np_pipe *p = s->pipes[i];
        if (p->rcvprio < best_prio && np_pipe_readable(p)) {
            best = i;
            best_prio = p->rcvprio;
            if (best_prio <= stop)
                break;
        }
    }
    if (best < 0)
        return NULL;
    np_pipe *p = s->pipes[best];
    np_msg *m = np_pipe_recv(p);
    s->fq_cursor = best + 1;
    if (from)
        *from = p;
    if (atomic_load(&p->dead) && !np_pipe_readable(p)) {
        if (from)
            *from = NULL;  /* it is about to be freed */
        np_sock_reap(s);
    }
    return m;
}

int np_fq_readable(np_sock *s)
{
    for (int i = 0; i < s->npipes; i++)
        if (np_pipe_readable(s->pipes[i]))
            return 1;
    return 0;
}

static int route_lb_pick_index(np_sock *s)
{
    refresh_min_prio(s);
    int n = s->npipes, best = -1, best_prio = 1 << 30, stop = s->min_sndprio;
    for (int k = 0; k < n; k++) {
        int i = (s->lb_cursor + k) % n;
        np_pipe *p = s->pipes[i];
        if (p->sndprio < best_prio && np_pipe_writable(p)) {
            best = i;
            best_prio = p->sndprio;
            if (best_prio <= stop)
                break;
        }
    }
    return best;
}

np_pipe *np_lb_pick(np_sock *s)
{
    int i = route_lb_pick_index(s);
    if (i < 0)
        return NULL;
    s->lb_cursor = i + 1;
    return s->pipes[i];
}

int np_lb_send(np_sock *s, np_msg *m)
{
    int i = route_lb_pick_index(s);
    if (i < 0)
        return -EAGAIN;
    int rc = np_pipe_send(s->pipes[i], m);
    if (rc == 0)
        s->lb_cursor = i + 1;
    return rc;
}

int np_lb_writable(np_sock *s) { return route_lb_pick_index(s) >= 0; }

void np_dist_send(np_sock *s, np_msg *m, np_pipe *except)
{
    np_pipe *last = NULL;
    /* Every receiver but the last gets a shared copy; the last one takes m itself. */
    for (int i = 0; i < s->npipes; i++) {
        np_pipe *p = s->pipes[i];
        if (p == except || !np_pipe_writable(p))
            continue;
        if (last) {
            np_msg *c = np_msg_share(m);
            if (c && np_pipe_send(last, c) != 0)
                np_msg_free(c);
        }
        last = p;
    }
    if (!last || np_pipe_send(last, m) != 0)
        np_msg_free(m);
}

int np_proto_pipe_accept(np_sock *s, np_pipe *p)
{
    (void)s;
    (void)p;
    return 0;
}

void np_proto_pipe_forget(np_sock *s, np_pipe *p)
{
    (void)s;
    (void)p;
}

int np_proto_always(np_sock *s)
{
    (void)s;
    return 1;
}

int np_proto_never(np_sock *s)
{
    (void)s;
    return 0;
}

int np_proto_fq_recv(np_sock *s, np_msg **m)
{
    *m = np_fq_recv(s, NULL);
    return *m ? 0 : -EAGAIN;
}

int np_bt_parse(const uint8_t *body, size_t len, int maxttl, size_t *hdr_len)
{
    size_t off = 0;
    for (int hops = 1; hops <= maxttl && len - off >= 4; hops++, off += 4) {
        if (body[off] & 0x80) {
            *hdr_len = off + 4;
            return hops;
        }
    }
    return 0;
}

int np_bt_recv(np_sock *s, np_msg **out)
{
    for (;;) {
        np_pipe *p;
        np_msg *m = np_fq_recv(s, &p);
        if (!m)
            return -EAGAIN;
        size_t hdr_len;
        /* Too deep (NN_MAXTTL) or unterminated stacks are dropped, as is a message whose
         * pipe went away (no way to route the reply). */
        if (!p || !np_bt_parse(m->body, m->body_len, s->maxttl, &hdr_len) ||
            np_msg_body_to_hdr(m, hdr_len) != 0 || m->hdr_len + 4 > 4 + 255 * 4) {
            np_msg_free(m);
            continue;
        }
        /* Prepend our pipe id so the reply can find its way back. */
        uint8_t stack[4 + 255 * 4];
        np_put_u32(stack, p->id);
        memcpy(stack + 4, m->hdr, m->hdr_len);
        if (np_msg_set_hdr(m, stack, m->hdr_len + 4) != 0) {
            np_msg_free(m);
            continue;
        }
        *out = m;
        return 0;
    }
}

void np_bt_route(np_sock *s, np_msg *m)
{
    if (m->hdr_len < 4) {
        np_msg_free(m);
        return;
    }
    np_pipe *p = np_pipe_by_id(s, np_get_u32(m->hdr));
    if (!p || np_msg_set_hdr(m, m->hdr + 4, m->hdr_len - 4) != 0 || np_pipe_send(p, m) != 0)
        np_msg_free(m);
}

int np_bt_split_id(np_msg *m)
{
    if (m->body_len < 4)
        return -EPROTO;
    return np_msg_body_to_hdr(m, 4);
}

int np_opt_set_nonneg_int(const void *val, size_t len, int *dst)
{
    int v;
    if (len != sizeof(int) || !val)
        return -EINVAL;
    memcpy(&v, val, sizeof(int));
    if (v < 0)
        return -EINVAL;
    *dst = v;
    return 0;
}

int np_opt_get_int(int value, void *val, size_t *len)
{
    if (*len < sizeof(int))
        return -EINVAL;
    memcpy(val, &value, sizeof(int));
    *len = sizeof(int);
    return 0;
}
