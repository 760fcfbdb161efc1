/*
 * ws_frame.h - RFC 6455 framing for SP over WebSocket, as pure functions (fuzzable).
 *
 * One SP message (header + body) is one WebSocket data message, binary (opcode 2) unless
 * NN_WS_MSG_TYPE asks for text (opcode 1). A message may arrive in fragments (NNG sends
 * 64 KiB fragments); control frames (ping, pong, close) may come between them. Frames from a
 * client are masked, frames from a server are not; either side seeing the wrong kind fails
 * the connection. The announced length is checked against NN_RCVMAXSIZE (for fragments: the
 * running total) before anything is allocated.
 */
#ifndef NP_WS_FRAME_H
#define NP_WS_FRAME_H

#include "core/msg.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    NP_WS_OP_CONT = 0x0,
    NP_WS_OP_TEXT = 0x1,
    NP_WS_OP_BINARY = 0x2,
    NP_WS_OP_CLOSE = 0x8,
    NP_WS_OP_PING = 0x9,
    NP_WS_OP_PONG = 0xA,
};

/* What np_ws_decoder_feed stopped for. */
enum {
    NP_WS_EV_NONE = 0,  /* consumed everything it was given, nothing complete yet */
    NP_WS_EV_MESSAGE,   /* *out holds a whole data message (opcode in d->msg_opcode_done) */
    NP_WS_EV_PING,      /* answer with a pong carrying d->ctl[0..ctl_len) */
    NP_WS_EV_PONG,      /* nothing to do */
    NP_WS_EV_CLOSE,     /* peer closes: d->ctl holds its status code and reason */
};

#define NP_WS_MAX_HDR 14
#define NP_WS_CTL_MAX 125
/* Close status codes we send. */
#define NP_WS_CLOSE_NORMAL 1000
#define NP_WS_CLOSE_PROTOCOL 1002
#define NP_WS_CLOSE_BAD_DATA 1007
#define NP_WS_CLOSE_TOO_BIG 1009

typedef struct np_ws_decoder {
    int server;             /* we are the server: every frame must be masked */
    int64_t max_size;       /* NN_RCVMAXSIZE: -1 = unlimited */
    uint8_t hdr[NP_WS_MAX_HDR];
    size_t hdr_have, hdr_need;
    int in_payload;         /* header parsed, payload bytes being read */
    int opcode, fin;
    uint8_t mask[4];
    int masked;
    uint64_t flen, fhave;   /* this frame's payload length and bytes read of it */
    int msg_opcode;         /* text/binary of the message in progress, 0 = none */
    int msg_opcode_done;    /* opcode of the message last returned */
    np_msg *cur;            /* message in progress; body capacity is cur_cap */
    size_t cur_len, cur_cap;
    uint8_t ctl[NP_WS_CTL_MAX];
    size_t ctl_len;
} np_ws_decoder;

void np_ws_decoder_init(np_ws_decoder *d, int server, int64_t max_size);
void np_ws_decoder_fini(np_ws_decoder *d);

/*
 * Consume up to len bytes; stops after the first event. Returns the bytes consumed (>= 0)
 * and sets *event (and *out for NP_WS_EV_MESSAGE, owned by the caller), or fails the
 * connection with -EPROTO (protocol violation), -EMSGSIZE (over the limit: close 1009),
 * -EILSEQ (text message that is not UTF-8: close 1007) or -ENOMEM.
 */
ssize_t np_ws_decoder_feed(np_ws_decoder *d, const uint8_t *buf, size_t len, np_msg **out,
                           int *event);

/* While a data frame's payload is being read: where its next bytes may be read straight
 * into the message (no copy). Returns the room (0 when there is none). */
size_t np_ws_decoder_direct(np_ws_decoder *d, uint8_t **ptr);
/* After n bytes were read into the direct area: unmask them, and finish the frame/message
 * when complete (returns like feed: 0 or a negative errno; sets event and out). */
int np_ws_decoder_advance(np_ws_decoder *d, size_t n, np_msg **out, int *event);

/* A frame header. mask = NULL for a server's (unmasked) frame. Returns its length. */
size_t np_ws_encode_hdr(uint8_t out[NP_WS_MAX_HDR], int opcode, int fin, uint64_t len,
                        const uint8_t *mask);
/* XOR src into dst with the key, starting at byte `offset` of the frame (dst may be src). */
void np_ws_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
                uint64_t offset);
/* A whole close frame with this status code (mask as above). Returns its length (<= 8). */
size_t np_ws_encode_close(uint8_t out[NP_WS_MAX_HDR + 2], int status, const uint8_t *mask);
/* 1 when s[0..n) is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
int np_utf8_valid(const uint8_t *s, size_t n);

#endif
