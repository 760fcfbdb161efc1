/* plain_local_lat <bind-to> <msg-size> <roundtrips>: echo side over a plain socket. */
#include "plain_util.h"

int main(int argc, char *argv[])
{
    (void) perf_take_nodelay(&argc, &argv);
    plain_nodelay = 1;
    perf_usage_check(argc, 4, "plain_local_lat <bind-to> <msg-size> <roundtrips>");
    size_t size = (size_t) atoi(argv[2]);
    int roundtrips = atoi(argv[3]);
    char *buf = perf_alloc_payload(size);
    struct plain_conn *c = plain_accept_one(argv[1]);

    for (int i = 0; i < roundtrips; i++) {
        plain_recv_expect(c, buf, size);
        plain_send(c, buf, size);
        plain_flush(c);
    }
    close(c->fd);
    free(c);
    free(buf);
    return 0;
}
