/* random.c - a small PRNG for initial request, survey and pipe ids (xorshift seeded from
 * the pid and the clock). Not for anything secret. */
#include "core/sock.h"

#include "platform/clock.h"

#include <unistd.h>

static pthread_mutex_t random_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t random_state;

uint32_t np_random32(void)
{
    pthread_mutex_lock(&random_lock);
    if (random_state == 0)
        random_state = (uint32_t)(getpid() * 2654435761u) ^ (uint32_t)np_now_ms() ^ 0x9e3779b9u;
    uint32_t x = random_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    random_state = x ? x : 1;
    pthread_mutex_unlock(&random_lock);
    return x;
}

void np_random_reset(void)
{
    pthread_mutex_init(&random_lock, NULL);
    random_state = 0;
}
