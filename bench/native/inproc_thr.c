/* inproc_thr <msg-size> <msg-count>: one-way throughput between two threads. */
#include <pthread.h>
#include <semaphore.h>

#include "nn_util.h"

#define INPROC_THR_ADDR "inproc://inproc_thr"

/* Posted by main once every message is in: closing the worker's socket
 * earlier drops messages still queued on the inproc pipe (nanomsg 1.1.5). */
static sem_t main_done;
static size_t msg_size;
static int msg_count;

static void *send_worker(void *unused)
{
    (void) unused;
    char *buf = perf_alloc_payload(msg_size);
    int s = nn_perf_socket(0);

    NN_CHECK(nn_connect(s, INPROC_THR_ADDR) >= 0, "nn_connect");
    nn_perf_send_exact(s, buf, 0);
    for (int i = 0; i < msg_count; i++)
        nn_perf_send_exact(s, buf, msg_size);
    sem_wait(&main_done);
    nn_close(s);
    free(buf);
    return NULL;
}

int main(int argc, char *argv[])
{
    (void) perf_take_nodelay(&argc, &argv); /* no TCP here */
    pthread_t worker;

    /* nanomsg's own tool prints "thread_thr" here; the name is kept. */
    perf_usage_check(argc, 3, "thread_thr <message-size> <message-count>");
    msg_size = (size_t) atoi(argv[1]);
    msg_count = atoi(argv[2]);
    char *buf = perf_alloc_payload(msg_size);
    int s = nn_perf_socket(0);

    NN_CHECK(nn_bind(s, INPROC_THR_ADDR) >= 0, "nn_bind");
    PERF_CHECK(sem_init(&main_done, 0, 0) == 0, "sem_init");
    PERF_CHECK(pthread_create(&worker, NULL, send_worker, NULL) == 0, "pthread_create");
    nn_perf_recv_exact(s, buf, 0);
    uint64_t start = perf_now_us();
    for (int i = 0; i < msg_count; i++)
        nn_perf_recv_exact(s, buf, msg_size);
    uint64_t elapsed = perf_now_us() - start;
    sem_post(&main_done);
    pthread_join(worker, NULL);
    perf_print_throughput("mean ", (int) msg_size, msg_count, elapsed);
    nn_close(s);
    free(buf);
    return 0;
}
