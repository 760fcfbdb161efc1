/* inproc_lat <msg-size> <roundtrips>: latency between two threads of one process. */
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

#include "nn_util.h"

#define INPROC_LAT_ADDR "inproc://inproc_lat"

/* Posted by main once every message is in: closing the worker's socket
 * earlier drops messages still queued on the inproc pipe (nanomsg 1.1.5). */
static sem_t main_done;
static size_t msg_size;
static int roundtrips;

static void *echo_worker(void *unused)
{
    (void) unused;
    char *buf = perf_alloc_payload(msg_size);
    int s = nn_perf_socket(0);

    NN_CHECK(nn_connect(s, INPROC_LAT_ADDR) >= 0, "nn_connect");
    for (int i = 0; i < roundtrips; i++) {
        nn_perf_recv_exact(s, buf, msg_size);
        nn_perf_send_exact(s, buf, msg_size);
    }
    sem_wait(&main_done);
    nn_close(s);
    free(buf);
    return NULL;
}

int main(int argc, char *argv[])
{
    (void) perf_take_nodelay(&argc, &argv); /* no TCP here */
    pthread_t worker;

    perf_usage_check(argc, 3, "inproc_lat <msg-size> <roundtrips>");
    msg_size = (size_t) atoi(argv[1]);
    roundtrips = atoi(argv[2]);
    char *buf = perf_alloc_payload(msg_size);
    int s = nn_perf_socket(0);

    NN_CHECK(nn_bind(s, INPROC_LAT_ADDR) >= 0, "nn_bind");
    PERF_CHECK(sem_init(&main_done, 0, 0) == 0, "sem_init");
    PERF_CHECK(pthread_create(&worker, NULL, echo_worker, NULL) == 0, "pthread_create");
    /* Let the worker connect before the clock starts. */
    usleep(100000);
    uint64_t start = perf_now_us();
    for (int i = 0; i < roundtrips; i++) {
        nn_perf_send_exact(s, buf, msg_size);
        nn_perf_recv_exact(s, buf, msg_size);
    }
    uint64_t elapsed = perf_now_us() - start;
    perf_print_latency((int) msg_size, roundtrips, elapsed);
    sem_post(&main_done);
    pthread_join(worker, NULL);
    nn_close(s);
    free(buf);
    return 0;
}
