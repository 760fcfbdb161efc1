/*
 * msg.h - messages: an SP header plus a body that is a view into a reference-counted chunk.
 *
 * Broadcasts (PUB, BUS, SURVEYOR) share one chunk among many messages, so a body is never
 * copied per subscriber. The header is small (a backtrace of at most 255 words) and owned by
 * each message; up to NP_MSG_INLINE_HDR bytes live inside the message itself.
 */
#ifndef NP_MSG_H
#define NP_MSG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define NP_MSG_INLINE_HDR 16

typedef struct np_chunk {
    atomic_int refs;
    size_t size;
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
    uint8_t hdr_inline[NP_MSG_INLINE_HDR];
};

typedef struct np_msg np_msg;

/* A message with a fresh chunk of body_len bytes (uninitialised). NULL when out of memory. */
np_msg *np_msg_alloc(size_t body_len);
/* A new message sharing m's body chunk and copying its header. */
np_msg *np_msg_share(const np_msg *m);
/* Replace the header with a copy of hdr[0..len). Returns 0 or -ENOMEM. */
int np_msg_set_hdr(np_msg *m, const void *hdr, size_t len);
/* Move the first n body bytes to the end of the header (used to split protocol headers). */
int np_msg_body_to_hdr(np_msg *m, size_t n);
/* A new message whose body is m's header followed by m's body (inproc carries the header
 * in-band, exactly as the wire does). NULL when out of memory. */
np_msg *np_msg_flat_copy(const np_msg *m);
void np_msg_free(np_msg *m);
static inline size_t np_msg_wire_len(const np_msg *m) { return m->hdr_len + m->body_len; }

#endif
