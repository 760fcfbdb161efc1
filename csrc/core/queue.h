/*
 * queue.h - a bounded single-producer/single-consumer ring of message pointers.
 *
 * Each pipe direction has one: the producer is the only thread that pushes (the I/O thread,
 * or whoever holds the sending socket's lock), the consumer the only one that pops (whoever
 * holds the receiving socket's lock, or the I/O thread). C11 acquire/release on the two
 * indices is all the synchronisation needed; `bytes` tracks the queued payload for NN_SNDBUF
 * and NN_RCVBUF limits.
 *
 * The slot array grows on demand: none until the first push, then 16 slots, doubled by the
 * producer whenever it finds them all taken, up to the capacity. The producer copies the
 * queued items into the bigger array and publishes it (release) before any push that uses
 * it, so a consumer that sees such a push (acquire on `tail`) also sees the new array; one
 * still reading the old array finds the same items there (the producer never writes to an
 * array again once replaced). Replaced arrays are freed with the ring, or earlier by
 * np_ring_trim: whoever can exclude both ends (the transport that knows them) gives an
 * empty ring's arrays back after a burst. An idle connection thus holds no slot array or
 * the first small one, a busy one the size it needed.
 */
#ifndef NP_QUEUE_H
#define NP_QUEUE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct np_ring_slots {
    size_t mask;                  /* slots - 1 (a power of two) */
    struct np_ring_slots *older;  /* the array this one replaced (freed with the ring) */
    void *slot[];
} np_ring_slots;

typedef struct np_ring {
    _Atomic size_t head;   /* next slot to pop (consumer) */
    _Atomic size_t tail;   /* next slot to push (producer) */
    _Atomic size_t bytes;  /* payload bytes queued */
    size_t mask;           /* capacity - 1 (capacity is a power of two) */
    _Atomic(np_ring_slots *) slots;  /* current array; NULL until the first push */
} np_ring;

#define NP_RING_FIRST_SLOTS 16  /* a connection carrying a few messages at a time needs no more */

int np_ring_init(np_ring *r, size_t capacity);
void np_ring_fini(np_ring *r);
/* Producer side: a bigger array holding the queued items [head, tail), or NULL (no memory). */
np_ring_slots *np_ring_grow(np_ring *r, size_t head, size_t tail);

/* An empty ring drops its slot arrays (the next push starts small again); a non-empty one
 * is left alone. Neither end may use the ring meanwhile: the caller is one end and holds
 * whatever the other end holds while it pushes or pops. */
void np_ring_trim(np_ring *r);

static inline size_t np_ring_count(np_ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_acquire) -
           atomic_load_explicit(&r->head, memory_order_acquire);
}

static inline size_t np_ring_bytes(np_ring *r)
{
    return atomic_load_explicit(&r->bytes, memory_order_acquire);
}

/* The ring holds more slot memory than its first array (it grew, or keeps replaced
 * arrays): worth trimming once empty. Either end. */
static inline int np_ring_oversized(np_ring *r)
{
    np_ring_slots *a = atomic_load_explicit(&r->slots, memory_order_acquire);
    return a && (a->older || a->mask + 1 > NP_RING_FIRST_SLOTS);
}

/* True when one more item may be pushed under a byte limit (a lone item always fits). */
static inline int np_ring_has_room(np_ring *r, size_t byte_limit)
{
    size_t n = np_ring_count(r);
    if (n > r->mask)
        return 0;
    return n == 0 || np_ring_bytes(r) < byte_limit;
}

/* Producer side. Returns 0, or -1 when the ring is full (the item was not queued). */
static inline int np_ring_push(np_ring *r, void *item, size_t size)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail - head > r->mask)
        return -1;
    np_ring_slots *a = atomic_load_explicit(&r->slots, memory_order_relaxed);
    if (!a || tail - head > a->mask) {
        a = np_ring_grow(r, head, tail);
        if (!a)
            return -1;
    }
    a->slot[tail & a->mask] = item;
    atomic_fetch_add_explicit(&r->bytes, size, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_seq_cst);
    return 0;
}

/* Consumer side: the oldest item without removing it, or NULL. */
static inline void *np_ring_peek(np_ring *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head == tail)
        return NULL;
    np_ring_slots *a = atomic_load_explicit(&r->slots, memory_order_acquire);
    return a->slot[head & a->mask];
}

/* Consumer side: remove the oldest item (which was `size` bytes) and return it, or NULL. */
static inline void *np_ring_pop(np_ring *r, size_t size)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head == tail)
        return NULL;
    np_ring_slots *a = atomic_load_explicit(&r->slots, memory_order_acquire);
    void *item = a->slot[head & a->mask];
    atomic_fetch_sub_explicit(&r->bytes, size, memory_order_relaxed);
    atomic_store_explicit(&r->head, head + 1, memory_order_seq_cst);
    return item;
}

#endif
