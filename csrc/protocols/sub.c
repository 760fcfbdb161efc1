/* sub.c - SUB fair-queues and keeps only messages matching a subscription (a prefix trie).
 * Raw SUB filters too, so a device needs an explicit "" subscription. */
#include "protocols/route.h"
#include "protocols/trie.h"

typedef struct sub_state {
    np_trie subs;
} sub_state;

static int sub_init(np_sock *s)
{
    sub_state *st = s->proto;
    np_trie_init(&st->subs);
    return st->subs.root ? 0 : -ENOMEM;
}

static void sub_fini(np_sock *s)
{
    sub_state *st = s->proto;
    if (st)
        np_trie_fini(&st->subs);
}

static int sub_recv(np_sock *s, np_msg **out)
{
    sub_state *st = s->proto;
    for (;;) {
        np_msg *m = np_fq_recv(s, NULL);
        if (!m)
            return -EAGAIN;
        if (np_trie_match(&st->subs, m->body, m->body_len)) {
            *out = m;
            return 0;
        }
        np_msg_free(m);
    }
}

static int sub_setopt(np_sock *s, int opt, const void *val, size_t len)
{
    sub_state *st = s->proto;
    if (len && !val)
        return -EINVAL;
    switch (opt) {
    case NP_SUB_SUBSCRIBE:
        return np_trie_subscribe(&st->subs, val, len);
    case NP_SUB_UNSUBSCRIBE:
        return np_trie_unsubscribe(&st->subs, val, len);
    default:
        return -ENOPROTOOPT;
    }
}

static int sub_getopt(np_sock *s, int opt, void *val, size_t *len)
{
    (void)s; (void)opt; (void)val; (void)len;
    return -ENOPROTOOPT;  /* subscriptions are write-only, as in nanomsg */
}

#define SUB_OPS(is_raw)                                                                    \
    {                                                                                      \
        .protocol = NP_SUB, .peer = NP_PUB, .raw = is_raw, .dirs = NP_CAN_RECV,            \
        .opt_level = NP_SUB, .state_size = sizeof(sub_state), .init = sub_init,            \
        .fini = sub_fini, .pipe_add = np_proto_pipe_accept,                                \
        .pipe_rm = np_proto_pipe_forget, .recv = sub_recv, .can_send = np_proto_never,     \
        .can_recv = np_fq_readable, .setopt = sub_setopt, .getopt = sub_getopt,            \
    }

const np_proto_ops np_sub_ops = SUB_OPS(0);
const np_proto_ops np_xsub_ops = SUB_OPS(1);
