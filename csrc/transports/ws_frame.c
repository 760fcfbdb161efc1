/* ws_frame.c - RFC 6455 frame decoder/encoder; see ws_frame.h. */
#include "ws_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void np_ws_decoder_init(np_ws_decoder *d, int server, int64_t max_size)
{
    memset(d, 0, sizeof(*d));
    d->server = server;
    d->max_size = max_size;
    d->hdr_need = 2;
}

void np_ws_decoder_fini(np_ws_decoder *d)
{
    if (d->cur)
        np_msg_free(d->cur);
    d->cur = NULL;
}

void np_ws_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
                uint64_t offset)
{
    uint8_t k[8];
    for (int i = 0; i < 8; i++)
        k[i] = key[(offset + (uint64_t)i) & 3];
    size_t i = 0;
    /* Eight bytes at a time: the key repeats every 4, so an 8-byte word of it lines up. */
    uint64_t kw;
    memcpy(&kw, k, 8);
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= kw;
        memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ k[i & 7];
}

size_t np_ws_encode_hdr(uint8_t out[NP_WS_MAX_HDR], int opcode, int fin, uint64_t len,
                        const uint8_t *mask)
{
    size_t n = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    uint8_t mbit = mask ? 0x80 : 0;
    if (len < 126) {
        out[1] = (uint8_t)(mbit | len);
    } else if (len <= 0xffff) {
        out[1] = mbit | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        out[1] = mbit | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

size_t np_ws_encode_close(uint8_t out[NP_WS_MAX_HDR + 2], int status, const uint8_t *mask)
{
    uint8_t code[2] = {(uint8_t)(status >> 8), (uint8_t)status};
    size_t n = np_ws_encode_hdr(out, NP_WS_OP_CLOSE, 1, 2, mask);
    if (mask)
        np_ws_mask(out + n, code, 2, mask, 0);
    else
        memcpy(out + n, code, 2);
    return n + 2;
}

int np_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            need = 1;
            cp = c & 0x1f;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0f;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* Header complete: check it and get ready for the payload. */
static int start_frame(np_ws_decoder *d)
{
    const uint8_t *h = d->hdr;
    if (h[0] & 0x70)
        return -EPROTO;  /* RSV bits: no extension was negotiated */
    d->fin = h[0] >> 7;
    d->opcode = h[0] & 0x0f;
    d->masked = h[1] >> 7;
    if (d->masked != d->server)
        return -EPROTO;
    uint64_t len = h[1] & 0x7f;
    size_t p = 2;
    if (len == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        p = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        p = 10;
        if (len >> 63)
            return -EPROTO;
    }
    if (d->masked)
        memcpy(d->mask, h + p, 4);
    d->flen = len;
    d->fhave = 0;
    switch (d->opcode) {
    case NP_WS_OP_CLOSE:
    case NP_WS_OP_PING:
    case NP_WS_OP_PONG:
        /* Final, and short enough for the 7-bit length field itself. */
        if (!d->fin || (h[1] & 0x7f) > NP_WS_CTL_MAX)
            return -EPROTO;
        d->ctl_len = 0;
        return 0;
    case NP_WS_OP_TEXT:
    case NP_WS_OP_BINARY:
        if (d->msg_opcode)
            return -EPROTO;  /* a new message inside a fragmented one */
        d->msg_opcode = d->opcode;
        d->cur_len = 0;
        break;
    case NP_WS_OP_CONT:
        if (!d->msg_opcode)
            return -EPROTO;
        break;
    default:
        return -EPROTO;
    }
    /* Data frame: the running total must stay within the limit before we allocate. */
    uint64_t total = (uint64_t)d->cur_len + len;
    if (total < len || (d->max_size >= 0 && total > (uint64_t)d->max_size))
        return -EMSGSIZE;
    if (total > SIZE_MAX / 2)
        return -ENOMEM;
    if (total > d->cur_cap || !d->cur) {
        /* A single final frame gets exactly its size; fragments grow by doubling. */
        size_t cap = (size_t)total;
        if (!(d->opcode != NP_WS_OP_CONT && d->fin)) {
            size_t dbl = d->cur_cap * 2;
            if (dbl > cap)
                cap = dbl;
            if (d->max_size >= 0 && cap > (uint64_t)d->max_size)
                cap = (size_t)d->max_size;
            if (cap < total)
                cap = (size_t)total;
        }
        np_msg *m = np_msg_alloc(cap);
        if (!m)
            return -ENOMEM;
        if (d->cur) {
            memcpy(m->body, d->cur->body, d->cur_len);
            np_msg_free(d->cur);
        }
        d->cur = m;
        d->cur_cap = cap;
    }
    return 0;
}

/* Payload complete: produce the event, if any. */
static int finish_frame(np_ws_decoder *d, np_msg **out, int *event)
{
    d->in_payload = 0;
    d->hdr_have = 0;
    d->hdr_need = 2;
    switch (d->opcode) {
    case NP_WS_OP_CLOSE:
        /* A close payload is empty or a 2-byte status (then optional UTF-8 reason). */
        if (d->ctl_len == 1)
            return -EPROTO;
        *event = NP_WS_EV_CLOSE;
        return 0;
    case NP_WS_OP_PING:
        *event = NP_WS_EV_PING;
        return 0;
    case NP_WS_OP_PONG:
        *event = NP_WS_EV_PONG;
        return 0;
    }
    d->cur_len += (size_t)d->flen;
    if (!d->fin)
        return 0;
    np_msg *m = d->cur;
    m->body_len = d->cur_len;
    if (d->msg_opcode == NP_WS_OP_TEXT && !np_utf8_valid(m->body, m->body_len))
        return -EILSEQ;
    d->msg_opcode_done = d->msg_opcode;
    d->msg_opcode = 0;
    d->cur = NULL;
    d->cur_len = d->cur_cap = 0;
    *out = m;
    *event = NP_WS_EV_MESSAGE;
    return 0;
}

static int is_control(int op) { return op >= NP_WS_OP_CLOSE; }

ssize_t np_ws_decoder_feed(np_ws_decoder *d, const uint8_t *buf, size_t len, np_msg **out,
                           int *event)
{
    size_t used = 0;
    *event = NP_WS_EV_NONE;
    while (used < len) {
        if (!d->in_payload) {
            size_t take = d->hdr_need - d->hdr_have;
            if (take > len - used)
                take = len - used;
            memcpy(d->hdr + d->hdr_have, buf + used, take);
            d->hdr_have += take;
            used += take;
            if (d->hdr_have < d->hdr_need)
                return (ssize_t)used;
            if (d->hdr_need == 2) {
                /* Now the full header size is known. */
                uint8_t l7 = d->hdr[1] & 0x7f;
                d->hdr_need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) +
                              (d->hdr[1] & 0x80 ? 4 : 0);
                if (d->hdr_need > 2)
                    continue;
            }
            int rc = start_frame(d);
            if (rc < 0)
                return rc;
            d->in_payload = 1;
        }
        uint64_t left = d->flen - d->fhave;
        size_t take = left < len - used ? (size_t)left : len - used;
        if (take) {
            uint8_t *dst = is_control(d->opcode) ? d->ctl + d->ctl_len
                                                  : d->cur->body + d->cur_len + d->fhave;
            if (d->masked)
                np_ws_mask(dst, buf + used, take, d->mask, d->fhave);
            else
                memcpy(dst, buf + used, take);
            if (is_control(d->opcode))
                d->ctl_len += take;
            d->fhave += take;
            used += take;
        }
        if (d->fhave == d->flen) {
            int rc = finish_frame(d, out, event);
            if (rc < 0)
                return rc;
            if (*event != NP_WS_EV_NONE)
                return (ssize_t)used;
        }
    }
    return (ssize_t)used;
}

size_t np_ws_decoder_direct(np_ws_decoder *d, uint8_t **ptr)
{
    if (!d->in_payload || is_control(d->opcode) || d->fhave == d->flen)
        return 0;
    *ptr = d->cur->body + d->cur_len + d->fhave;
    return (size_t)(d->flen - d->fhave);
}

int np_ws_decoder_advance(np_ws_decoder *d, size_t n, np_msg **out, int *event)
{
    *event = NP_WS_EV_NONE;
    uint8_t *p = d->cur->body + d->cur_len + d->fhave;
    if (d->masked)
        np_ws_mask(p, p, n, d->mask, d->fhave);
    d->fhave += n;
    if (d->fhave < d->flen)
        return 0;
    return finish_frame(d, out, event);
}
