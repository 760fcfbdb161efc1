/* deferred.c - the queue of external bodies waiting to be released; see deferred.h. */
#include "deferred.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void **pending;
static size_t npending, cap;
static atomic_size_t count;

void np_defer_release(void *owner)
{
    pthread_mutex_lock(&lock);
    if (npending == cap) {
        size_t ncap = cap ? cap * 2 : 64;
        void **n = realloc(pending, ncap * sizeof(*n));
        if (!n) {
            /* Out of memory: leaking one buffer beats touching Python without the GIL. */
            pthread_mutex_unlock(&lock);
            return;
        }
        pending = n;
        cap = ncap;
    }
    pending[npending++] = owner;
    atomic_store(&count, npending);
    pthread_mutex_unlock(&lock);
}

size_t np_deferred_count(void) { return atomic_load_explicit(&count, memory_order_relaxed); }

size_t np_deferred_take(void **out, size_t max)
{
    pthread_mutex_lock(&lock);
    size_t n = npending < max ? npending : max;
    for (size_t i = 0; i < n; i++)
        out[i] = pending[--npending];
    atomic_store(&count, npending);
    pthread_mutex_unlock(&lock);
    return n;
}
