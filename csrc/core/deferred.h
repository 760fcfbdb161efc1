/*
 * deferred.h - releases of external message bodies, handed back to the thread that owns
 * them. A Python bytes object lent to a message must be released with the GIL held, but the
 * last reference may go on the I/O thread (after a tcp write) or in a receiver without the
 * GIL; so the C side only queues the owner here and the Cython layer drains the queue
 * (Py_DECREF) on its next call.
 */
#ifndef NP_DEFERRED_H
#define NP_DEFERRED_H

#include <stddef.h>

void np_defer_release(void *owner);
/* How many releases are waiting (a cheap check before draining). */
size_t np_deferred_count(void);
/* Move up to max waiting owners into out; returns how many. */
size_t np_deferred_take(void **out, size_t max);

#endif
