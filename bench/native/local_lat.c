/* local_lat <bind-to> <msg-size> <roundtrips>: echo side of the latency test. */
#include <unistd.h>

#include "nn_util.h"

int main(int argc, char *argv[])
{
    perf_usage_check(argc, 4, "local_lat <bind-to> <msg-size> <roundtrips>");
    const char *addr = argv[1];
    size_t size = (size_t) atoi(argv[2]);
    int roundtrips = atoi(argv[3]);
    char *buf = perf_alloc_payload(size);
    int s = nn_perf_socket();

    NN_CHECK(nn_bind(s, addr) >= 0, "nn_bind");
    for (int i = 0; i < roundtrips; i++) {
        nn_perf_recv_exact(s, buf, size);
        nn_perf_send_exact(s, buf, size);
    }
    /* nanomsg 1.1.5 drops queued messages on close despite NN_LINGER. */
    sleep(1);
    nn_close(s);
    free(buf);
    return 0;
}
