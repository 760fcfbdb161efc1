/* queue.c - ring allocation; the lock-free operations are inline in queue.h. */
#include "core/queue.h"

#include "platform/np_errno.h"

#include <stdlib.h>

int np_ring_init(np_ring *r, size_t capacity)
{
    size_t cap = 1;
    while (cap < capacity)
        cap <<= 1;
    r->mask = cap - 1;
    atomic_init(&r->slots, NULL);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->bytes, 0);
    return 0;
}

np_ring_slots *np_ring_grow(np_ring *r, size_t head, size_t tail)
{
    np_ring_slots *old = atomic_load_explicit(&r->slots, memory_order_relaxed);
    size_t n = old ? (old->mask + 1) * 2 : NP_RING_FIRST_SLOTS;
    if (n > r->mask + 1)
        n = r->mask + 1;
    np_ring_slots *a = malloc(sizeof(*a) + n * sizeof(void *));
    if (!a)
        return NULL;
    a->mask = n - 1;
    a->older = old;
    for (size_t i = head; i != tail; i++)
        a->slot[i & a->mask] = old->slot[i & old->mask];
    atomic_store_explicit(&r->slots, a, memory_order_release);
    return a;
}

void np_ring_trim(np_ring *r)
{
    if (np_ring_count(r) == 0)
        np_ring_fini(r);
}

void np_ring_fini(np_ring *r)
{
    np_ring_slots *a = atomic_load_explicit(&r->slots, memory_order_relaxed);
    while (a) {
        np_ring_slots *older = a->older;
        free(a);
        a = older;
    }
    atomic_store_explicit(&r->slots, NULL, memory_order_relaxed);
}
