/* plain_remote_lat <connect-to> <msg-size> <roundtrips>: timed side over a plain socket. */
#include "plain_util.h"

int main(int argc, char *argv[])
{
    (void) perf_take_nodelay(&argc, &argv);
    plain_nodelay = 1;
    perf_usage_check(argc, 4, "plain_remote_lat <connect-to> <msg-size> <roundtrips>");
    size_t size = (size_t) atoi(argv[2]);
    int roundtrips = atoi(argv[3]);
    char *buf = perf_alloc_payload(size);
    struct plain_conn *c = plain_connect(argv[1]);

    uint64_t start = perf_now_us();
    for (int i = 0; i < roundtrips; i++) {
        plain_send(c, buf, size);
        plain_flush(c);
        plain_recv_expect(c, buf, size);
    }
    uint64_t elapsed = perf_now_us() - start;
    perf_print_latency((int) size, roundtrips, elapsed);
    close(c->fd);
    free(c);
    free(buf);
    return 0;
}
