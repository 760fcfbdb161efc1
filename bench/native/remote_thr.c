/* remote_thr <connect-to> <msg-size> <msg-count>: sending side of the throughput test. */
#include <unistd.h>

#include "nn_util.h"

int main(int argc, char *argv[])
{
    int nodelay = perf_take_nodelay(&argc, &argv);
    perf_usage_check(argc, 4, "remote_thr <connect-to> <msg-size> <msg-count>");
    const char *addr = argv[1];
    size_t size = (size_t) atoi(argv[2]);
    int count = atoi(argv[3]);
    char *buf = perf_alloc_payload(size);
    int s = nn_perf_socket(nodelay);

    NN_CHECK(nn_connect(s, addr) >= 0, "nn_connect");
    nn_perf_send_exact(s, buf, 0);
    for (int i = 0; i < count; i++)
        nn_perf_send_exact(s, buf, size);
    /* nanomsg's own tool closes at once; nanomsg 1.1.5 may drop messages still
     * queued at close, so wait (the receiver's clock has stopped by then). */
    sleep(1);
    nn_close(s);
    free(buf);
    return 0;
}
