/* deferred.c - the queue of external bodies waiting to be released; see deferred.h. */
#include "core/deferred.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static pthread_mutex_t deferred_lock = PTHREAD_MUTEX_INITIALIZER;
static void **deferred_pending;
static size_t deferred_n, deferred_cap;
static atomic_size_t deferred_count;

void np_defer_release(void *owner)
{
    pthread_mutex_lock(&deferred_lock);
    if (deferred_n == deferred_cap) {
        size_t ncap = deferred_cap ? deferred_cap * 2 : 64;
        void **n = realloc(deferred_pending, ncap * sizeof(*n));
        if (!n) {
            /* Out of memory: leaking one buffer beats touching Python without the GIL. */
            pthread_mutex_unlock(&deferred_lock);
            return;
        }
        deferred_pending = n;
        deferred_cap = ncap;
    }
    deferred_pending[deferred_n++] = owner;
    atomic_store(&deferred_count, deferred_n);
    pthread_mutex_unlock(&deferred_lock);
}

size_t np_deferred_count(void)
{
    return atomic_load_explicit(&deferred_count, memory_order_relaxed);
}

size_t np_deferred_take(void **out, size_t max)
{
    pthread_mutex_lock(&deferred_lock);
    size_t n = deferred_n < max ? deferred_n : max;
    for (size_t i = 0; i < n; i++)
        out[i] = deferred_pending[--deferred_n];
    atomic_store(&deferred_count, deferred_n);
    pthread_mutex_unlock(&deferred_lock);
    return n;
}
