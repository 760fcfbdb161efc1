/*
 * test_registry.c - the two registries the core looks things up in.
 *  - transports: schemes resolve to their tables (and nothing else does), every table has
 *    the hooks the core calls without checking, and transport options are found by
 *    (level, option) with the kinds and defaults nanomsg gives them;
 *  - protocols: all 20 socket types exist, and each accepts exactly its partner (the rule
 *    nanomsg enforces at the handshake), written out here independently of the tables.
 * (One file: both need the whole core linked, the slowest part of building a test.)
 */
// deps: core/*.c platform/*.c protocols/*.c transports/*.c
#include "core/sock.h"
#include "transports/transport.h"
#include "tinytest.h"

#include <string.h>

/* ---- transports ---- */

static const char *const schemes[] = {"inproc", "ipc", "tcp"};
#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

static void test_known_schemes_resolve(void)
{
    for (size_t i = 0; i < NSCHEMES; i++) {
        const np_transport *t = np_transport_find(schemes[i], strlen(schemes[i]));
        REQUIRE(t != NULL);
        CHECK(strcmp(t->scheme, schemes[i]) == 0);
    }
}

static void test_unknown_schemes_do_not(void)
{
    const char *bad[] = {"", "tc", "tcpx", "TCP", "inpro", "udp", "zmq"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(np_transport_find(bad[i], strlen(bad[i])) == NULL);
    /* The length decides, not a NUL: "tcp" as the first 3 bytes of "tcp://x" is tcp. */
    CHECK(np_transport_find("tcp://x", 3) == np_transport_find("tcp", 3));
}

static void test_every_table_has_the_mandatory_hooks(void)
{
    for (size_t i = 0; i < NSCHEMES; i++) {
        const np_transport *t = np_transport_find(schemes[i], strlen(schemes[i]));
        REQUIRE(t != NULL);
        CHECK(t->ep_bind != NULL);
        CHECK(t->ep_connect != NULL);
        CHECK(t->ep_stop != NULL);
        CHECK(t->pipe_kick_write != NULL);
        CHECK(t->pipe_kick_read != NULL);
        /* Schemes are unique. */
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(schemes[j], t->scheme) != 0);
    }
}

static void test_options_by_level(void)
{
    int known;
    const np_tran_option *o = np_transport_option(NP_TCP, NP_TCP_NODELAY, &known);
    REQUIRE(o != NULL);
    CHECK_EQ(known, 1);
    CHECK_EQ(o->kind, NP_TOPT_INT);
    CHECK_EQ(o->def, 0);
    CHECK_EQ(o->min, 0);
    CHECK_EQ(o->max, 1);
    CHECK(np_transport_option(NP_TCP, 99, &known) == NULL);
    CHECK_EQ(known, 1);
    CHECK(np_transport_option(-77, 1, &known) == NULL);
    CHECK_EQ(known, 0);
    o = np_transport_option(NP_TCP_PRIVATE_LEVEL, NP_TCP_KEEPALIVE, &known);
    REQUIRE(o != NULL);
    CHECK_EQ(o->def, 0);
    for (int opt = 1; opt <= 3; opt++) {
        o = np_transport_option(NP_IPC, opt, &known);
        REQUIRE(o != NULL);
        CHECK_EQ(o->kind, NP_TOPT_IGNORED);
    }
    CHECK(np_transport_option(NP_IPC, 4, &known) == NULL);
    /* Level 0 is the socket's own, never a transport's. */
    CHECK(np_transport_option(0, NP_LINGER, &known) == NULL);
    CHECK_EQ(known, 0);
}

static int after_fork_ran;

static void test_after_fork_hooks_run(void)
{
    /* Only checks that the walk survives every table (inproc's hook clears its registry,
     * which is empty here). */
    np_transports_after_fork();
    after_fork_ran = 1;
    CHECK(after_fork_ran);
}

/* ---- protocols ---- */

static const int all_types[] = {NP_PAIR, NP_PUB,      NP_SUB,        NP_REQ, NP_REP,
                                NP_PUSH, NP_PULL,     NP_SURVEYOR,   NP_RESPONDENT,
                                NP_BUS};
#define NTYPES (int)(sizeof(all_types) / sizeof(all_types[0]))

static int expected_peer(int mine)
{
    switch (mine) {
    case NP_PAIR: return NP_PAIR;
    case NP_PUB: return NP_SUB;
    case NP_SUB: return NP_PUB;
    case NP_REQ: return NP_REP;
    case NP_REP: return NP_REQ;
    case NP_PUSH: return NP_PULL;
    case NP_PULL: return NP_PUSH;
    case NP_SURVEYOR: return NP_RESPONDENT;
    case NP_RESPONDENT: return NP_SURVEYOR;
    case NP_BUS: return NP_BUS;
    }
    return -1;
}

static void test_every_type_has_cooked_and_raw_tables(void)
{
    for (int i = 0; i < NTYPES; i++) {
        const np_proto_ops *c = np_proto_find(NP_AF_SP, all_types[i]);
        const np_proto_ops *r = np_proto_find(NP_AF_SP_RAW, all_types[i]);
        REQUIRE(c != NULL && r != NULL);
        CHECK_EQ(c->protocol, all_types[i]);
        CHECK_EQ(r->protocol, all_types[i]);
        CHECK_EQ(c->raw, 0);
        CHECK_EQ(r->raw, 1);
        CHECK(c->dirs != 0);
        CHECK_EQ(c->dirs, r->dirs);
    }
    CHECK(np_proto_find(NP_AF_SP, 17) == NULL);   /* NNG's pair1 */
    CHECK(np_proto_find(NP_AF_SP, 0) == NULL);
    CHECK(np_proto_find(NP_AF_SP_RAW, 0xffff) == NULL);
}

static void test_peer_compatibility_matrix(void)
{
    /* The full 10x10 table, for cooked and raw sockets alike: one partner per type. */
    for (int raw = 0; raw < 2; raw++)
        for (int i = 0; i < NTYPES; i++) {
            np_sock s = {.ops = np_proto_find(raw ? NP_AF_SP_RAW : NP_AF_SP, all_types[i])};
            REQUIRE(s.ops != NULL);
            for (int j = 0; j < NTYPES; j++) {
                int want = all_types[j] == expected_peer(all_types[i]);
                if (np_sock_accepts_peer(&s, all_types[j]) != want)
                    TT_FAIL_AT(__FILE__, __LINE__, "accepts(%d, %d) != %d", all_types[i],
                               all_types[j], want);
            }
            int odd[] = {0, 1, 17, 34, 0x1010, 0x2021, 0xffff, -1};
            for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++)
                CHECK_EQ(np_sock_accepts_peer(&s, odd[k]), 0);
        }
}

static void test_only_lb_senders_report_priority(void)
{
    for (int i = 0; i < NTYPES; i++) {
        const np_proto_ops *c = np_proto_find(NP_AF_SP, all_types[i]);
        int want = all_types[i] == NP_PUSH || all_types[i] == NP_REQ;
        CHECK_EQ(c->lb_priority, want);
        CHECK_EQ(np_proto_find(NP_AF_SP_RAW, all_types[i])->lb_priority, want);
    }
}

int main(void)
{
    TT_RUN(test_known_schemes_resolve);
    TT_RUN(test_unknown_schemes_do_not);
    TT_RUN(test_every_table_has_the_mandatory_hooks);
    TT_RUN(test_options_by_level);
    TT_RUN(test_after_fork_hooks_run);
    TT_RUN(test_every_type_has_cooked_and_raw_tables);
    TT_RUN(test_peer_compatibility_matrix);
    TT_RUN(test_only_lb_senders_report_priority);
    return tt_summary();
}
