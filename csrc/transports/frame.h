/*
 * frame.h - the SP wire format of the stream transports, as pure functions (fuzzable).
 *
 * Handshake: 8 bytes each way, 00 'S' 'P' 00, the sender's protocol id (16-bit big-endian),
 * two reserved bytes. Frames: TCP = 64-bit big-endian length + payload; IPC = type byte 0x01
 * + 64-bit big-endian length + payload. The decoder checks the announced length against the
 * receive limit before it allocates anything.
 */
#ifndef NP_FRAME_H
#define NP_FRAME_H

#include "core/msg.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NP_HANDSHAKE_LEN 8
#define NP_IPC_MSG_TYPE 0x01

void np_handshake_encode(uint8_t out[NP_HANDSHAKE_LEN], int protocol);
/*
 * Validate a peer's handshake. Returns the peer's protocol id, or -EPROTO when the magic is
 * wrong. Whether that peer may talk to us is the protocol's rule (np_proto_ops.peer).
 */
int np_handshake_decode(const uint8_t in[NP_HANDSHAKE_LEN]);

/* Size of the frame header written before each payload. */
static inline size_t np_frame_hdr_len(int ipc) { return ipc ? 9 : 8; }
void np_frame_encode_hdr(uint8_t *out, int ipc, uint64_t payload_len);

typedef struct np_decoder {
    int ipc;
    int64_t max_size;  /* NN_RCVMAXSIZE: -1 = unlimited */
    uint8_t hdr[9];
    size_t hdr_have;
    np_msg *cur;       /* message being filled */
    size_t body_have;
    np_msg_slab *slab; /* small bodies of the buffer being cut (see np_msg_alloc_in) */
} np_decoder;

/* Bodies up to this size followed by more frames in the same buffer share slabs. */
#define NP_DECODER_SLAB_BODY_MAX 1024

void np_decoder_init(np_decoder *d, int ipc, int64_t max_size);
void np_decoder_fini(np_decoder *d);

/*
 * Consume up to len bytes. Stops after completing one message (stored in *out, owned by the
 * caller). Returns the number of bytes consumed (>= 0), or -EPROTO (bad IPC type byte),
 * -EMSGSIZE (over the limit) or -ENOMEM (allocation failed): the connection must be closed.
 */
ssize_t np_decoder_feed(np_decoder *d, const uint8_t *buf, size_t len, np_msg **out);

/*
 * While a large body is being filled: where the next bytes may be read directly (no extra
 * copy). Returns the free space (0 if no body in progress).
 */
size_t np_decoder_direct(np_decoder *d, uint8_t **ptr);
/* After reading n bytes into the np_decoder_direct area; sets *out when the body completes. */
void np_decoder_advance(np_decoder *d, size_t n, np_msg **out);

#endif
