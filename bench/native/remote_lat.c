/* remote_lat <connect-to> <msg-size> <roundtrips>: timed side of the latency test. */
#include "nn_util.h"

int main(int argc, char *argv[])
{
    /* Nagle off, as nanomsg's latency tools (with or without --nodelay). */
    int nodelay = 1;

    (void) perf_take_nodelay(&argc, &argv);
    perf_usage_check(argc, 4, "remote_lat <connect-to> <msg-size> <roundtrips>");
    const char *addr = argv[1];
    size_t size = (size_t) atoi(argv[2]);
    int roundtrips = atoi(argv[3]);
    char *buf = perf_alloc_payload(size);
    int s = nn_perf_socket(nodelay);

    NN_CHECK(nn_connect(s, addr) >= 0, "nn_connect");
    uint64_t start = perf_now_us();
    for (int i = 0; i < roundtrips; i++) {
        nn_perf_send_exact(s, buf, size);
        nn_perf_recv_exact(s, buf, size);
    }
    uint64_t elapsed = perf_now_us() - start;
    perf_print_latency((int) size, roundtrips, elapsed);
    nn_close(s);
    free(buf);
    return 0;
}
