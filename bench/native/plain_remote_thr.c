/* plain_remote_thr <connect-to> <msg-size> <msg-count>: sending side over a plain socket. */
#include "plain_util.h"

int main(int argc, char *argv[])
{
    plain_nodelay = perf_take_nodelay(&argc, &argv);
    perf_usage_check(argc, 4, "plain_remote_thr <connect-to> <msg-size> <msg-count>");
    size_t size = (size_t) atoi(argv[2]);
    int count = atoi(argv[3]);
    char *buf = perf_alloc_payload(size);
    struct plain_conn *c = plain_connect(argv[1]);

    /* The start marker goes out alone so the receiver's clock starts at once. */
    plain_send(c, buf, 0);
    plain_flush(c);
    for (int i = 0; i < count; i++)
        plain_send(c, buf, size);
    plain_flush(c);
    /* close() after the last write still delivers every queued byte. */
    close(c->fd);
    free(c);
    free(buf);
    return 0;
}
