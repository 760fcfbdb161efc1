/* local_lat <bind-to> <msg-size> <roundtrips>: echo side of the latency test. */
#include <unistd.h>

#include "nn_util.h"

int main(int argc, char *argv[])
{
    /* Nagle off, as nanomsg's latency tools (with or without --nodelay). */
    int nodelay = 1;

    (void) perf_take_nodelay(&argc, &argv);
    perf_usage_check(argc, 4, "local_lat <bind-to> <msg-size> <roundtrips>");
    const char *addr = argv[1];
    size_t size = (size_t) atoi(argv[2]);
    int roundtrips = atoi(argv[3]);
    char *buf = perf_alloc_payload(size);
    int s = nn_perf_socket(nodelay);

    NN_CHECK(nn_bind(s, addr) >= 0, "nn_bind");
    for (int i = 0; i < roundtrips; i++) {
        nn_perf_recv_exact(s, buf, size);
        nn_perf_send_exact(s, buf, size);
    }
    /* nanomsg's own tool closes at once; nanomsg 1.1.5 may drop the last echo
     * still queued at close, so wait (the peer's clock has stopped by then). */
    sleep(1);
    nn_close(s);
    free(buf);
    return 0;
}
