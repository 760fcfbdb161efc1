/* frame.c - handshake and framing; see frame.h. */
#include "transports/frame.h"

#include "platform/np_errno.h"

#include <string.h>

void np_handshake_encode(uint8_t out[NP_HANDSHAKE_LEN], int protocol)
{
    out[0] = 0x00;
    out[1] = 'S';
    out[2] = 'P';
    out[3] = 0x00;
    out[4] = (uint8_t)((protocol >> 8) & 0xff);
    out[5] = (uint8_t)(protocol & 0xff);
    out[6] = 0;
    out[7] = 0;
}

int np_handshake_decode(const uint8_t in[NP_HANDSHAKE_LEN])
{
    if (in[0] != 0x00 || in[1] != 'S' || in[2] != 'P' || in[3] != 0x00)
        return -EPROTO;
    /* Reserved bytes 6-7 are not checked, as nanomsg (NNG is stricter). */
    return (in[4] << 8) | in[5];
}

/* 64-bit big-endian load and store: one instruction each where the compiler knows them. */
static inline uint64_t frame_swap_be(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return v;
#elif defined(__GNUC__) || defined(__clang__)
    return __builtin_bswap64(v);
#else
    uint8_t b[8];
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    memcpy(&v, b, 8);
    return v;
#endif
}

void np_frame_encode_hdr(uint8_t *out, int ipc, uint64_t len)
{
    if (ipc)
        *out++ = NP_IPC_MSG_TYPE;
    len = frame_swap_be(len);
    memcpy(out, &len, 8);
}

void np_decoder_init(np_decoder *d, int ipc, int64_t max_size)
{
    memset(d, 0, sizeof(*d));
    d->ipc = ipc;
    d->max_size = max_size;
}

void np_decoder_fini(np_decoder *d)
{
    np_msg_free(d->cur);
    d->cur = NULL;
    np_msg_slab_drop(&d->slab);
}

/* Room for the body of len bytes; `after` bytes of the buffer follow the header. When more
 * frames follow this one, small bodies are carved from a slab sized for the buffer's rest;
 * the last message of a buffer lets the slab go, so an idle connection holds none. */
static np_msg *frame_alloc_body(np_decoder *d, size_t len, size_t after)
{
    size_t frame = np_frame_hdr_len(d->ipc) + len;
    if (after <= len || len > NP_DECODER_SLAB_BODY_MAX) {
        np_msg_slab_drop(&d->slab);
        return np_msg_alloc(len);
    }
    size_t per_msg = 128 + len;  /* np_msg + chunk + body, rounded */
    size_t hint = (after / frame + 1) * per_msg;
    return np_msg_alloc_in(&d->slab, len, hint);
}

static int frame_start_body(np_decoder *d, size_t after)
{
    const uint8_t *p = d->hdr;
    if (d->ipc) {
        if (p[0] != NP_IPC_MSG_TYPE)
            return -EPROTO;
        p++;
    }
    uint64_t len;
    memcpy(&len, p, 8);
    len = frame_swap_be(len);
    if (d->max_size >= 0 && len > (uint64_t)d->max_size)
        return -EMSGSIZE;
    if (len > (uint64_t)SIZE_MAX / 2)
        return -ENOMEM;
    d->cur = frame_alloc_body(d, (size_t)len, after);
    if (!d->cur)
        return -ENOMEM;
    d->body_have = 0;
    return 0;
}

static void frame_finish_if_complete(np_decoder *d, np_msg **out)
{
    if (d->cur && d->body_have == d->cur->body_len) {
        *out = d->cur;
        d->cur = NULL;
        d->hdr_have = 0;
    }
}

ssize_t np_decoder_feed(np_decoder *d, const uint8_t *buf, size_t len, np_msg **out)
{
    size_t used = 0;
    size_t hlen = np_frame_hdr_len(d->ipc);
    *out = NULL;
    if (!d->cur) {
        size_t take = hlen - d->hdr_have;
        if (take > len)
            take = len;
        if (take)
            memcpy(d->hdr + d->hdr_have, buf, take);
        d->hdr_have += take;
        used += take;
        if (d->hdr_have < hlen)
            return (ssize_t)used;
        int rc = frame_start_body(d, len - used);
        if (rc)
            return rc;
    }
    size_t want = d->cur->body_len - d->body_have;
    size_t take = len - used < want ? len - used : want;
    if (take)
        memcpy(d->cur->body + d->body_have, buf + used, take);
    d->body_have += take;
    used += take;
    frame_finish_if_complete(d, out);
    return (ssize_t)used;
}

size_t np_decoder_direct(np_decoder *d, uint8_t **ptr)
{
    if (!d->cur)
        return 0;
    *ptr = d->cur->body + d->body_have;
    return d->cur->body_len - d->body_have;
}

void np_decoder_advance(np_decoder *d, size_t n, np_msg **out)
{
    *out = NULL;
    d->body_have += n;
    frame_finish_if_complete(d, out);
}
