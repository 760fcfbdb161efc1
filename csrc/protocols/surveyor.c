/*
 * surveyor.c - SURVEYOR, cooked and raw.
 *
 * A cooked survey is broadcast, answers carrying its id are collected until
 * NN_SURVEYOR_DEADLINE; then a waiting (or the next) recv gets ETIMEDOUT once, and EFSM
 * after that until the next survey. Late answers to an older survey are dropped by id.
 */
#include "protocols/route.h"

#include <stdlib.h>

/* Answers to one context's survey, kept in arrival order until it reads them. */
#define SURVEY_ANSWERS_MAX 4096  /* beyond this a flood of answers is dropped, not queued */

/* One survey state: the socket's own, or a context's. */
typedef struct survey_ctx {
    uint32_t id;
    int active;
    int timed_out;
    np_timer timer;
    uint64_t seq;
    np_msg **answers;   /* FIFO ring of answers to the current survey */
    int head, count, cap;
    np_sock *sock;
    np_ctx *ctx;        /* NULL for the socket's own state */
} survey_ctx;

typedef struct surveyor_state {
    uint32_t last_id;   /* survey ids are unique across the socket's contexts */
    int deadline;
    survey_ctx main;
} surveyor_state;

#define FOR_EACH_SURVEY(s, sc, body)                                                \
    do {                                                                            \
        survey_ctx *sc = &((surveyor_state *)(s)->proto)->main;                     \
        body;                                                                       \
        for (np_ctx *c_ = (s)->ctxs; c_; c_ = c_->next) {                           \
            if (c_->closed)                                                         \
                continue;                                                           \
            sc = c_->state;                                                         \
            body;                                                                   \
        }                                                                           \
    } while (0)

static void survey_answers_clear(survey_ctx *sc)
{
    while (sc->count) {
        np_msg_free(sc->answers[sc->head]);
        sc->head = (sc->head + 1) % sc->cap;
        sc->count--;
    }
    sc->head = 0;
}

static int survey_answers_push(survey_ctx *sc, np_msg *m)
{
    if (sc->count == sc->cap) {
        if (sc->cap >= SURVEY_ANSWERS_MAX)
            return -ENOBUFS;
        int cap = sc->cap ? sc->cap * 2 : 8;
        np_msg **a = malloc((size_t)cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        for (int i = 0; i < sc->count; i++)
            a[i] = sc->answers[(sc->head + i) % sc->cap];
        free(sc->answers);
        sc->answers = a;
        sc->cap = cap;
        sc->head = 0;
    }
    sc->answers[(sc->head + sc->count) % sc->cap] = m;
    sc->count++;
    return 0;
}

static np_msg *survey_answers_pop(survey_ctx *sc)
{
    if (!sc->count)
        return NULL;
    np_msg *m = sc->answers[sc->head];
    sc->head = (sc->head + 1) % sc->cap;
    sc->count--;
    return m;
}

static void survey_deadline_passed(np_timer *t, uint64_t seq)
{
    survey_ctx *sc = t->owner;
    np_sock *s = sc->sock;
    pthread_mutex_lock(&s->lock);
    if (seq == sc->seq && sc->active && !s->closing) {
        survey_answers_clear(sc);
        sc->active = 0;
        sc->timed_out = 1;
        if (sc->ctx)
            np_efd_signal(&sc->ctx->ready);  /* a waiter wakes up to get ETIMEDOUT */
        np_sock_update_ready(s);
    }
    pthread_mutex_unlock(&s->lock);
}

static void survey_ctx_setup(np_sock *s, survey_ctx *sc, np_ctx *ctx)
{
    sc->sock = s;
    sc->ctx = ctx;
    sc->timer.cb = survey_deadline_passed;
    sc->timer.owner = sc;
}

static void survey_ctx_clear(survey_ctx *sc)
{
    np_timer_cancel(&sc->timer);
    survey_answers_clear(sc);
    free(sc->answers);
    sc->answers = NULL;
    sc->cap = 0;
    sc->active = 0;
}

static int surveyor_init(np_sock *s)
{
    surveyor_state *st = s->proto;
    st->last_id = np_random32();
    st->deadline = 1000;
    survey_ctx_setup(s, &st->main, NULL);
    return 0;
}

static void surveyor_stop(np_sock *s)
{
    FOR_EACH_SURVEY(s, sc, np_timer_cancel(&sc->timer));
}

static void surveyor_fini(np_sock *s)
{
    surveyor_state *st = s->proto;
    if (st)
        survey_ctx_clear(&st->main);
}

static int survey_send_from(np_sock *s, survey_ctx *sc, np_msg *m)
{
    surveyor_state *st = s->proto;
    uint8_t hdr[4];
    uint32_t id = st->last_id + 1;
    np_put_u32(hdr, id | 0x80000000u);
    if (np_msg_set_hdr(m, hdr, 4) != 0)
        return -ENOMEM;
    st->last_id = id;
    np_dist_send(s, m, NULL);
    survey_answers_clear(sc);  /* answers to the previous survey are stale now */
    sc->id = id;
    sc->active = 1;
    sc->timed_out = 0;
    np_timer_start(&sc->timer, st->deadline, ++sc->seq);
    return 0;
}

static survey_ctx *survey_by_id(np_sock *s, uint32_t word)
{
    survey_ctx *found = NULL;
    FOR_EACH_SURVEY(s, sc, if (!found && sc->active && (sc->id | 0x80000000u) == word)
                               found = sc);
    return found;
}

/* Route what arrived to the survey it answers (any context); drop the rest. */
static void survey_take_answers(np_sock *s)
{
    np_msg *m;
    while ((m = np_fq_recv(s, NULL)) != NULL) {
        survey_ctx *sc = np_bt_split_id(m) == 0 ? survey_by_id(s, np_get_u32(m->hdr)) : NULL;
        if (sc) {
            np_msg_set_hdr(m, NULL, 0);
            if (survey_answers_push(sc, m) == 0) {
                if (sc->ctx)
                    np_efd_signal(&sc->ctx->ready);
                continue;
            }
        }
        np_msg_free(m);
    }
}

static int survey_recv_into(np_sock *s, survey_ctx *sc, np_msg **out)
{
    if (!sc->active) {
        if (sc->timed_out) {
            sc->timed_out = 0;
            return -ETIMEDOUT;
        }
        return -NP_EFSM;
    }
    survey_take_answers(s);
    *out = survey_answers_pop(sc);
    return *out ? 0 : -EAGAIN;
}

static int survey_ready(np_sock *s, survey_ctx *sc)
{
    survey_take_answers(s);
    return !sc->active || sc->count > 0;
}

static int surveyor_send(np_sock *s, np_msg *m)
{
    return survey_send_from(s, &((surveyor_state *)s->proto)->main, m);
}

static int surveyor_recv(np_sock *s, np_msg **out)
{
    return survey_recv_into(s, &((surveyor_state *)s->proto)->main, out);
}

static int surveyor_can_recv(np_sock *s)
{
    return survey_ready(s, &((surveyor_state *)s->proto)->main);
}

static int survey_ctx_init(np_sock *s, np_ctx *c)
{
    survey_ctx_setup(s, c->state, c);
    return 0;
}

static void survey_ctx_fini(np_sock *s, np_ctx *c)
{
    (void)s;
    survey_ctx_clear(c->state);
}

static int survey_ctx_send(np_sock *s, np_ctx *c, np_msg *m)
{
    return survey_send_from(s, c->state, m);
}

static int survey_ctx_recv(np_sock *s, np_ctx *c, np_msg **out)
{
    return survey_recv_into(s, c->state, out);
}

static int survey_ctx_can_recv(np_sock *s, np_ctx *c) { return survey_ready(s, c->state); }

static int surveyor_setopt(np_sock *s, int opt, const void *val, size_t len)
{
    surveyor_state *st = s->proto;
    return opt == NP_SURVEYOR_DEADLINE ? np_opt_set_nonneg_int(val, len, &st->deadline)
                                       : -ENOPROTOOPT;
}

static int surveyor_getopt(np_sock *s, int opt, void *val, size_t *len)
{
    surveyor_state *st = s->proto;
    return opt == NP_SURVEYOR_DEADLINE ? np_opt_get_int(st->deadline, val, len) : -ENOPROTOOPT;
}

const np_proto_ops np_surveyor_ops = {
    .protocol = NP_SURVEYOR, .peer = NP_RESPONDENT, .raw = 0,
    .dirs = NP_CAN_SEND | NP_CAN_RECV,
    .opt_level = NP_SURVEYOR, .recv_filters = 1, .state_size = sizeof(surveyor_state),
    .init = surveyor_init, .fini = surveyor_fini, .stop = surveyor_stop,
    .pipe_add = np_proto_pipe_accept, .pipe_rm = np_proto_pipe_forget,
    .send = surveyor_send, .recv = surveyor_recv, .can_send = np_proto_always,
    .can_recv = surveyor_can_recv,
    .setopt = surveyor_setopt, .getopt = surveyor_getopt, .ctx_size = sizeof(survey_ctx),
    .ctx_own_efd = 1, .ctx_init = survey_ctx_init, .ctx_fini = survey_ctx_fini,
    .ctx_send = survey_ctx_send, .ctx_recv = survey_ctx_recv,
    .ctx_can_recv = survey_ctx_can_recv,
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
    .protocol = NP_SURVEYOR, .peer = NP_RESPONDENT, .raw = 1,
    .dirs = NP_CAN_SEND | NP_CAN_RECV, .pipe_add = np_proto_pipe_accept,
    .pipe_rm = np_proto_pipe_forget, .send = xsurveyor_send, .recv = xsurveyor_recv,
    .can_send = np_proto_always, .can_recv = np_fq_readable,
};
