/* queue.c - ring allocation; the lock-free operations are inline in queue.h. */
#include "core/queue.h"

#include "platform/np_errno.h"

#include <stdlib.h>

int np_ring_init(np_ring *r, size_t capacity)
{
    size_t cap = 1;
    while (cap < capacity)
        cap <<= 1;
    r->slots = calloc(cap, sizeof(void *));
    if (!r->slots)
        return -ENOMEM;
    r->mask = cap - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->bytes, 0);
    return 0;
}

void np_ring_fini(np_ring *r)
{
    free(r->slots);
    r->slots = NULL;
}
