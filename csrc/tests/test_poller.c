/*
 * test_poller.c - every poller backend compiled for this platform (epoll or kqueue, and
 * poll everywhere) and both wake-up kinds: readiness in and out, changing and removing the
 * watched events, hang-ups, timeouts, and a wake-up descriptor's signal/drain cycle. The
 * environment's choice of backend is checked first (it is read once per process).
 */
// deps: platform/*.c
#include "platform/features.h"
#include "platform/poller.h"
#include "platform/wakeup.h"
#include "tinytest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const backend_names[] = {"epoll", "kqueue", "poll"};

typedef struct seen {
    int calls;
    uint32_t events;
} seen;

static void record(np_ioh *h, uint32_t ev)
{
    seen *s = h->owner;
    s->calls++;
    s->events |= ev;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nonblocking_pipe(int fds[2])
{
    REQUIRE(pipe(fds) == 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
}

/* ---- choice --------------------------------------------------------------------------- */

static void test_portable_env_selects_poll_and_pipe(void)
{
    /* main() set NANOPY_POLLER=portable before anything read it. */
    CHECK(strcmp(np_poller_backend(), "poll") == 0);
    CHECK(strcmp(np_wakeup_backend(), "pipe") == 0);
    CHECK(np_poller_choose() == np_poller_by_name("poll"));
}

static void test_compiled_backends(void)
{
    CHECK(np_poller_by_name("poll") != NULL);
    CHECK(np_poller_by_name("select") == NULL);
#ifdef NP_HAVE_EPOLL
    CHECK(np_poller_by_name("epoll") != NULL);
#else
    CHECK(np_poller_by_name("epoll") == NULL);
#endif
#ifdef NP_HAVE_KQUEUE
    CHECK(np_poller_by_name("kqueue") != NULL);
#else
    CHECK(np_poller_by_name("kqueue") == NULL);
#endif
}

/* ---- each backend ----------------------------------------------------------------------- */

static void backend_readable(const np_poller_ops *ops)
{
    np_poller p;
    REQUIRE(np_poller_open(&p, ops) == 0);
    int fds[2];
    nonblocking_pipe(fds);
    seen s = {0};
    np_ioh h = {.fd = fds[0], .cb = record, .owner = &s};
    REQUIRE(np_poller_add(&p, &h, NP_IO_IN) == 0);
    CHECK_EQ(np_poller_wait(&p, 0), 0);
    CHECK_EQ(s.calls, 0);
    CHECK_EQ(write(fds[1], "x", 1), 1);
    CHECK(np_poller_wait(&p, 1000) >= 1);
    CHECK_EQ(s.calls, 1);
    CHECK(s.events & NP_IO_IN);
    /* Level-triggered: still readable, reported again. */
    CHECK(np_poller_wait(&p, 1000) >= 1);
    CHECK_EQ(s.calls, 2);
    np_poller_remove(&p, &h);
    CHECK_EQ(h.registered, 0);
    CHECK_EQ(np_poller_wait(&p, 0), 0);
    CHECK_EQ(s.calls, 2);
    close(fds[0]);
    close(fds[1]);
    np_poller_close(&p);
}

static void backend_writable_and_modify(const np_poller_ops *ops)
{
    np_poller p;
    REQUIRE(np_poller_open(&p, ops) == 0);
    int fds[2];
    nonblocking_pipe(fds);
    seen s = {0};
    np_ioh h = {.fd = fds[1], .cb = record, .owner = &s};
    REQUIRE(np_poller_add(&p, &h, NP_IO_OUT) == 0);
    CHECK(np_poller_wait(&p, 1000) >= 1);
    CHECK(s.events & NP_IO_OUT);
    /* Nothing watched: a writable pipe stays silent. */
    np_poller_set_events(&p, &h, 0);
    CHECK_EQ(h.events, 0u);
    s = (seen){0};
    CHECK_EQ(np_poller_wait(&p, 20), 0);
    CHECK_EQ(s.calls, 0);
    np_poller_set_events(&p, &h, NP_IO_OUT);
    CHECK(np_poller_wait(&p, 1000) >= 1);
    CHECK_EQ(s.calls, 1);
    np_poller_remove(&p, &h);
    close(fds[0]);
    close(fds[1]);
    np_poller_close(&p);
}

static void backend_hangup_reads_as_in(const np_poller_ops *ops)
{
    np_poller p;
    REQUIRE(np_poller_open(&p, ops) == 0);
    int fds[2];
    nonblocking_pipe(fds);
    seen s = {0};
    np_ioh h = {.fd = fds[0], .cb = record, .owner = &s};
    REQUIRE(np_poller_add(&p, &h, NP_IO_IN) == 0);
    close(fds[1]);
    CHECK(np_poller_wait(&p, 1000) >= 1);
    CHECK(s.events & NP_IO_IN);
    np_poller_remove(&p, &h);
    close(fds[0]);
    np_poller_close(&p);
}

static void backend_timeout(const np_poller_ops *ops)
{
    np_poller p;
    REQUIRE(np_poller_open(&p, ops) == 0);
    int fds[2];
    nonblocking_pipe(fds);
    seen s = {0};
    np_ioh h = {.fd = fds[0], .cb = record, .owner = &s};
    REQUIRE(np_poller_add(&p, &h, NP_IO_IN) == 0);
    int64_t t0 = now_ms();
    CHECK_EQ(np_poller_wait(&p, 60), 0);
    int64_t took = now_ms() - t0;
    CHECK(took >= 50);
    CHECK(took < 2000);
    CHECK_EQ(s.calls, 0);
    np_poller_remove(&p, &h);
    close(fds[0]);
    close(fds[1]);
    np_poller_close(&p);
}

/* A callback that removes another ready handle: that one must not be called afterwards. */
static np_poller *removal_poller;
static np_ioh *removal_pair[2];
static void remove_other(np_ioh *h, uint32_t ev)
{
    record(h, ev);
    np_ioh *other = removal_pair[0] == h ? removal_pair[1] : removal_pair[0];
    if (other->registered)
        np_poller_remove(removal_poller, other);
}

static void backend_removal_during_dispatch(const np_poller_ops *ops)
{
    np_poller p;
    REQUIRE(np_poller_open(&p, ops) == 0);
    int a[2], b[2];
    nonblocking_pipe(a);
    nonblocking_pipe(b);
    seen sa = {0}, sb = {0};
    np_ioh ha = {.fd = a[0], .cb = remove_other, .owner = &sa};
    np_ioh hb = {.fd = b[0], .cb = remove_other, .owner = &sb};
    removal_poller = &p;
    REQUIRE(np_poller_add(&p, &ha, NP_IO_IN) == 0);
    REQUIRE(np_poller_add(&p, &hb, NP_IO_IN) == 0);
    CHECK_EQ(write(a[1], "x", 1), 1);
    CHECK_EQ(write(b[1], "x", 1), 1);
    /* Whichever runs first removes the other. */
    removal_pair[0] = &ha;
    removal_pair[1] = &hb;
    np_poller_wait(&p, 1000);
    CHECK_EQ(sa.calls + sb.calls, 1);
    np_poller_remove(&p, &ha);
    np_poller_remove(&p, &hb);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    np_poller_close(&p);
}

static void backend_wakeup(const np_poller_ops *ops, const char *kind)
{
    np_wakeup w;
    int rc = np_wakeup_open_kind(&w, kind);
#ifndef NP_HAVE_EVENTFD
    if (strcmp(kind, "eventfd") == 0) {
        CHECK_EQ(rc, -ENOTSUP);
        return;
    }
#endif
    REQUIRE(rc == 0);
    CHECK(strcmp(kind, "eventfd") == 0 ? w.rfd == w.wfd : w.rfd != w.wfd);
    np_poller p;
    REQUIRE(np_poller_open(&p, ops) == 0);
    seen s = {0};
    np_ioh h = {.fd = w.rfd, .cb = record, .owner = &s};
    REQUIRE(np_poller_add(&p, &h, NP_IO_IN) == 0);
    CHECK_EQ(np_poller_wait(&p, 0), 0);
    np_wakeup_signal(&w);
    np_wakeup_signal(&w);  /* two signals, one drain: not readable afterwards */
    CHECK(np_poller_wait(&p, 1000) >= 1);
    CHECK_EQ(s.calls, 1);
    np_wakeup_drain(&w);
    CHECK_EQ(np_poller_wait(&p, 0), 0);
    CHECK_EQ(s.calls, 1);
    np_wakeup_signal(&w);
    CHECK(np_poller_wait(&p, 1000) >= 1);
    CHECK_EQ(s.calls, 2);
    np_poller_remove(&p, &h);
    np_poller_close(&p);
    np_wakeup_close(&w);
    CHECK_EQ(w.rfd, -1);
}

static void test_every_backend(void)
{
    int tested = 0;
    for (size_t i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
        const np_poller_ops *ops = np_poller_by_name(backend_names[i]);
        if (!ops)
            continue;
        printf("     backend %s\n", ops->name);
        backend_readable(ops);
        backend_writable_and_modify(ops);
        backend_hangup_reads_as_in(ops);
        backend_timeout(ops);
        backend_removal_during_dispatch(ops);
        backend_wakeup(ops, "eventfd");
        backend_wakeup(ops, "pipe");
        tested++;
    }
    CHECK(tested >= 2);  /* the platform's own and the portable one */
}

static void test_wakeup_rejects_unknown_kind(void)
{
    np_wakeup w;
    CHECK_EQ(np_wakeup_open_kind(&w, "carrier-pigeon"), -EINVAL);
}

int main(void)
{
    setenv("NANOPY_POLLER", "portable", 1);
    TT_RUN(test_portable_env_selects_poll_and_pipe);
    TT_RUN(test_compiled_backends);
    TT_RUN(test_every_backend);
    TT_RUN(test_wakeup_rejects_unknown_kind);
    return tt_summary();
}
