/* local_thr <bind-to> <msg-size> <msg-count>: receiving, timed side of the throughput test. */
#include "nn_util.h"

int main(int argc, char *argv[])
{
    int nodelay = perf_take_nodelay(&argc, &argv);
    perf_usage_check(argc, 4, "local_thr <bind-to> <msg-size> <msg-count>");
    const char *addr = argv[1];
    size_t size = (size_t) atoi(argv[2]);
    int count = atoi(argv[3]);
    char *buf = perf_alloc_payload(size);
    int s = nn_perf_socket(nodelay);

    NN_CHECK(nn_bind(s, addr) >= 0, "nn_bind");
    /* An empty message marks the start; the clock starts once it is in. */
    nn_perf_recv_exact(s, buf, 0);
    uint64_t start = perf_now_us();
    for (int i = 0; i < count; i++)
        nn_perf_recv_exact(s, buf, size);
    uint64_t elapsed = perf_now_us() - start;
    perf_print_throughput("", (int) size, count, elapsed);
    nn_close(s);
    free(buf);
    return 0;
}
