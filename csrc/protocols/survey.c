/*
 * survey.c - SURVEYOR, cooked and raw (RESPONDENT shares REP's code in reqrep.c).
 *
 * A cooked survey is broadcast, answers carrying its id are collected until
 * NN_SURVEYOR_DEADLINE; then a waiting (or the next) recv gets ETIMEDOUT once, and EFSM
 * after that until the next survey. Late answers to an older survey are dropped by id.
 */
#include "route.h"

#include <string.h>

uint32_t np_random32(void);

typedef struct surveyor_state {
    uint32_t id;
    int active;
    int timed_out;
    int deadline;
    np_timer timer;
    uint64_t seq;
    np_msg *pending;  /* an answer to the current survey, found while checking readiness */
} surveyor_state;

static void deadline_passed(np_timer *t, uint64_t seq)
{
    np_sock *s = t->owner;
    pthread_mutex_lock(&s->lock);
    surveyor_state *st = s->proto;
    if (seq == st->seq && st->active && !s->closing) {
        np_msg_free(st->pending);
        st->pending = NULL;
        st->active = 0;
        st->timed_out = 1;
        np_sock_update_ready(s);
    }
    pthread_mutex_unlock(&s->lock);
}

static int surveyor_init(np_sock *s)
{
    surveyor_state *st = s->proto;
    st->id = np_random32();
    st->deadline = 1000;
    st->timer.cb = deadline_passed;
    st->timer.owner = s;
    return 0;
}

static void surveyor_stop(np_sock *s)
{
    surveyor_state *st = s->proto;
    np_timer_cancel(&st->timer);
}

static int accept_pipe(np_sock *s, np_pipe *p) { (void)s; (void)p; return 0; }
static void forget_pipe(np_sock *s, np_pipe *p) { (void)s; (void)p; }
static int always(np_sock *s) { (void)s; return 1; }

static int surveyor_send(np_sock *s, np_msg *m)
{
    surveyor_state *st = s->proto;
    uint8_t hdr[4];
    np_put_u32(hdr, ++st->id | 0x80000000u);
    if (np_msg_set_hdr(m, hdr, 4) != 0)
        return -ENOMEM;
    np_dist_send(s, m, NULL);
    np_msg_free(st->pending);  /* an answer to the previous survey is stale now */
    st->pending = NULL;
    st->active = 1;
    st->timed_out = 0;
    np_timer_start(&st->timer, st->deadline, ++st->seq);
    return 0;
}

/* Find the next answer to the current survey (dropping stale ones) into st->pending. */
static void surveyor_take_answer(np_sock *s, surveyor_state *st)
{
    np_msg *m;
    if (!st->active || st->pending)
        return;
    while ((m = np_fq_recv(s, NULL)) != NULL) {
        if (np_bt_split_id(m) == 0 && np_get_u32(m->hdr) == (st->id | 0x80000000u)) {
            np_msg_set_hdr(m, NULL, 0);
            st->pending = m;
            return;
        }
        np_msg_free(m);
    }
}

static int surveyor_recv(np_sock *s, np_msg **out)
{
    surveyor_state *st = s->proto;
    if (!st->active) {
        if (st->timed_out) {
            st->timed_out = 0;
            return -ETIMEDOUT;
        }
        return -NP_EFSM;
    }
    surveyor_take_answer(s, st);
    if (!st->pending)
        return -EAGAIN;
    *out = st->pending;
    st->pending = NULL;
    return 0;
}

static int surveyor_can_recv(np_sock *s)
{
    surveyor_state *st = s->proto;
    surveyor_take_answer(s, st);
    return !st->active || st->pending != NULL;
}

static void surveyor_fini(np_sock *s)
{
    surveyor_state *st = s->proto;
    if (st)
        np_msg_free(st->pending);
}

static int surveyor_setopt(np_sock *s, int opt, const void *val, size_t len)
{
    surveyor_state *st = s->proto;
    int v;
    if (opt != NP_SURVEYOR_DEADLINE)
        return -ENOPROTOOPT;
    if (len != sizeof(int))
        return -EINVAL;
    memcpy(&v, val, sizeof(int));
    if (v < 0)
        return -EINVAL;  /* nanomsg aborts on the next survey instead */
    st->deadline = v;
    return 0;
}

static int surveyor_getopt(np_sock *s, int opt, void *val, size_t *len)
{
    surveyor_state *st = s->proto;
    if (opt != NP_SURVEYOR_DEADLINE)
        return -ENOPROTOOPT;
    if (*len < sizeof(int))
        return -EINVAL;
    memcpy(val, &st->deadline, sizeof(int));
    *len = sizeof(int);
    return 0;
}

const np_proto_ops np_surveyor_ops = {
    .protocol = NP_SURVEYOR, .raw = 0, .dirs = NP_CAN_SEND | NP_CAN_RECV,
    .opt_level = NP_SURVEYOR, .recv_filters = 1, .state_size = sizeof(surveyor_state),
    .init = surveyor_init, .fini = surveyor_fini,
    .stop = surveyor_stop, .pipe_add = accept_pipe, .pipe_rm = forget_pipe,
    .send = surveyor_send, .recv = surveyor_recv, .can_send = always,
    .can_recv = surveyor_can_recv, .setopt = surveyor_setopt, .getopt = surveyor_getopt,
};

static int xsurveyor_send(np_sock *s, np_msg *m)
{
    np_dist_send(s, m, NULL);
    return 0;
}

static int xsurveyor_recv(np_sock *s, np_msg **out)
{
    np_msg *m;
    while ((m = np_fq_recv(s, NULL)) != NULL) {
        if (np_bt_split_id(m) == 0) {
            *out = m;
            return 0;
        }
        np_msg_free(m);
    }
    return -EAGAIN;
}

const np_proto_ops np_xsurveyor_ops = {
    .protocol = NP_SURVEYOR, .raw = 1, .dirs = NP_CAN_SEND | NP_CAN_RECV,
    .pipe_add = accept_pipe, .pipe_rm = forget_pipe, .send = xsurveyor_send,
    .recv = xsurveyor_recv, .can_send = always, .can_recv = np_fq_readable,
};
