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

void np_frame_encode_hdr(uint8_t *out, int ipc, uint64_t len)
{
    if (ipc)
        *out++ = NP_IPC_MSG_TYPE;
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(len & 0xff);
        len >>= 8;
    }
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
}

static int frame_start_body(np_decoder *d)
{
    const uint8_t *p = d->hdr;
    if (d->ipc) {
        if (p[0] != NP_IPC_MSG_TYPE)
            return -EPROTO;
        p++;
    }
    uint64_t len = 0;
    for (int i = 0; i < 8; i++)
        len = (len << 8) | p[i];
    if (d->max_size >= 0 && len > (uint64_t)d->max_size)
        return -EMSGSIZE;
    if (len > (uint64_t)SIZE_MAX / 2)
        return -ENOMEM;
    d->cur = np_msg_alloc((size_t)len);
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
        int rc = frame_start_body(d);
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
