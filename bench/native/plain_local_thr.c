/* plain_local_thr <bind-to> <msg-size> <msg-count>: receiving, timed side over a plain socket. */
#include "plain_util.h"

int main(int argc, char *argv[])
{
    plain_nodelay = perf_take_nodelay(&argc, &argv);
    perf_usage_check(argc, 4, "plain_local_thr <bind-to> <msg-size> <msg-count>");
    size_t size = (size_t) atoi(argv[2]);
    int count = atoi(argv[3]);
    char *buf = perf_alloc_payload(size);
    struct plain_conn *c = plain_accept_one(argv[1]);

    plain_recv_expect(c, buf, 0);
    uint64_t start = perf_now_us();
    for (int i = 0; i < count; i++)
        plain_recv_expect(c, buf, size);
    uint64_t elapsed = perf_now_us() - start;
    perf_print_throughput("", (int) size, count, elapsed);
    close(c->fd);
    free(c);
    free(buf);
    return 0;
}
