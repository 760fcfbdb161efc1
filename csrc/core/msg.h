/*
 * msg.h - messages: an SP header plus a body that is a view into a reference-counted chunk.
 *
 * Broadcasts (PUB, BUS, SURVEYOR) share one chunk among many messages, so a body is never
 * copied per subscriber. The header is small (a backtrace of at most 255 words) and owned by
 * each message; up to NP_MSG_INLINE_HDR bytes live inside the message itself.
 */
#ifndef NP_MSG_H
#define NP_MSG_H

#include "core.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define NP_MSG_INLINE_HDR 16

/* Called when the last reference to an external body goes (any thread, no lock held). */
#ifndef NP_RELEASE_FN_DEFINED
#define NP_RELEASE_FN_DEFINED
typedef void (*np_release_fn)(void *owner);
#endif

typedef struct np_chunk {
    atomic_int refs;
    size_t size;
    np_release_fn release;  /* external body (not in data[]): give it back to its owner */
    void *owner;
    void *block;    /* allocation to free when refs drop to 0 (the chunk, or the message it
                     * was allocated with: one malloc per message on the common path) */
    uint8_t data[];
} np_chunk;

struct np_msg {
    np_chunk *chunk;     /* may be NULL for an empty body */
    uint8_t *body;       /* points into chunk->data */
    size_t body_len;
    uint8_t *hdr;        /* hdr_inline or heap */
    size_t hdr_len;
    uint32_t pipe;       /* received: id of the connection it came through (0: none) */
    uint8_t framed;      /* the body is whole frames of the pipe's wire format, several
                          * messages ready to write (see pipe_frame_hdr in transport.h) */
    uint8_t hdr_inline[NP_MSG_INLINE_HDR];
    /* A per-message property of the transport's frame, carried without being interpreted
     * here: the transport that writes frames with kinds sets it on receive and reads it on
     * send (0: none, use the socket's setting). Fills padding: the struct stays 64 bytes. */
    uint8_t kind;
};

typedef struct np_msg np_msg;

/* A message with a fresh chunk of body_len bytes (uninitialised). NULL when out of memory. */
np_msg *np_msg_alloc(size_t body_len);
/*
 * A message whose body is someone else's memory (an immutable Python bytes object): no copy
 * on send, and over inproc the receiver can be handed the very same object. release(owner)
 * runs once when the last reference goes.
 */
np_msg *np_msg_wrap(const void *data, size_t len, np_release_fn release, void *owner);
/*
 * Slabs: many small messages carved from one allocation, so a stream's receive pass makes
 * one malloc (and the reader one free) per slab instead of per message, and the two threads
 * do not fight over the allocator. A slab message is freed with np_msg_free like any other;
 * the slab goes when its maker dropped it and its last message is freed (any thread).
 */
typedef struct np_msg_slab np_msg_slab;
/* A message of body_len bytes carved from *slab (a new slab of about `hint` bytes, at most
 * 16 KiB, when it has no room; bodies over 4 KiB get their own block). NULL: no memory. */
np_msg *np_msg_alloc_in(np_msg_slab **slab, size_t body_len, size_t hint);
/* The maker lets go of *slab (its live messages keep it); *slab becomes NULL. */
void np_msg_slab_drop(np_msg_slab **slab);
/* The owner of m's external body if it is exactly that whole buffer made with `release`. */
void *np_msg_external_owner(const np_msg *m, np_release_fn release, size_t owner_len);

/* A new message sharing m's body chunk and copying its header and kind. */
np_msg *np_msg_share(const np_msg *m);
/* Replace the header with a copy of hdr[0..len). Returns 0 or -ENOMEM. */
int np_msg_set_hdr(np_msg *m, const void *hdr, size_t len);
/* Move the first n body bytes to the end of the header (used to split protocol headers). */
int np_msg_body_to_hdr(np_msg *m, size_t n);
/* A new message whose body is m's header followed by m's body (inproc carries the header
 * in-band, exactly as the wire does); its kind is 0. NULL when out of memory. */
np_msg *np_msg_flat_copy(const np_msg *m);
void np_msg_free(np_msg *m);
/* A message holding the concatenation of iov[0..n) and a copy of hdr (may be empty). NULL
 * and *err = -EINVAL (sizes overflow) or -ENOMEM. */
np_msg *np_msg_from_iov(const np_iov *iov, int n, const void *hdr, size_t hdr_len, int *err);
static inline size_t np_msg_wire_len(const np_msg *m) { return m->hdr_len + m->body_len; }

#endif
