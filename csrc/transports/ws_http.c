/* ws_http.c - WebSocket upgrade request/response, SHA-1 and base64; see ws_http.h. */
#include "ws_http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- SHA-1 (FIPS 180-4), only ever used for the 60-byte accept computation ------------- */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void np_sha1(const void *data, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const uint8_t *p = data;
    size_t left = len;
    for (; left >= 64; left -= 64, p += 64)
        sha1_block(h, p);
    /* Last block(s): the rest, 0x80, zeros, then the bit length big-endian. */
    uint8_t tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(h, tail);
    if (tl == 128)
        sha1_block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

size_t np_base64_encode(const uint8_t *in, size_t len, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

void np_ws_make_key(const uint8_t nonce[16], char out[NP_WS_KEY_LEN + 1])
{
    np_base64_encode(nonce, 16, out);
}

void np_ws_accept_for(const char *key, size_t key_len, char out[NP_WS_ACCEPT_LEN + 1])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t buf[128 + sizeof(guid)];
    uint8_t digest[20];
    if (key_len > 128)
        key_len = 128;
    memcpy(buf, key, key_len);
    memcpy(buf + key_len, guid, sizeof(guid) - 1);
    np_sha1(buf, key_len + sizeof(guid) - 1, digest);
    np_base64_encode(digest, 20, out);
}

/* ---- protocol names ----------------------------------------------------------------------- */

static const struct {
    int id, peer;
    const char *name;
} protos[] = {{16, 16, "pair"},      {32, 33, "pub"},        {33, 32, "sub"},
              {48, 49, "req"},       {49, 48, "rep"},        {80, 81, "push"},
              {81, 80, "pull"},      {98, 99, "surveyor"},   {99, 98, "respondent"},
              {112, 112, "bus"}};

const char *np_ws_proto_name(int protocol)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (protos[i].id == protocol)
            return protos[i].name;
    return NULL;
}

int np_ws_peer_protocol(int protocol)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (protos[i].id == protocol)
            return protos[i].peer;
    return -1;
}

/* ---- building ----------------------------------------------------------------------------- */

static int fits(int n, size_t cap) { return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : n; }

int np_ws_build_request(char *buf, size_t cap, const char *host, const char *path,
                        const char *key, int my_protocol)
{
    const char *peer = np_ws_proto_name(np_ws_peer_protocol(my_protocol));
    if (!peer)
        return -EINVAL;
    int n = snprintf(buf, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: %s.sp.nanomsg.org\r\n"
                     "\r\n",
                     path, host, key, peer);
    return fits(n, cap);
}

int np_ws_build_response(char *buf, size_t cap, const char *key, int my_protocol)
{
    const char *me = np_ws_proto_name(my_protocol);
    if (!me)
        return -EINVAL;
    char accept[NP_WS_ACCEPT_LEN + 1];
    np_ws_accept_for(key, strlen(key), accept);
    int n = snprintf(buf, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: %s.sp.nanomsg.org\r\n"
                     "\r\n",
                     accept, me);
    return fits(n, cap);
}

int np_ws_build_refusal(char *buf, size_t cap, int status)
{
    const char *why = status == 404   ? "Not Found"
                      : status == 426 ? "Upgrade Required"
                      : status == 431 ? "Request Header Fields Too Large"
                                      : "Bad Request";
    int n = snprintf(buf, cap,
                     "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                     status, why);
    return fits(n, cap);
}

/* ---- parsing ------------------------------------------------------------------------------ */

/* Length of the head (through CRLF CRLF) in buf, 0 if not complete yet, -EMSGSIZE when the
 * limit passed without one. A bare LF line end is not accepted (neither peer sends it). */
static int head_length(const char *buf, size_t len)
{
    size_t lim = len < NP_WS_HEAD_MAX ? len : NP_WS_HEAD_MAX;
    for (size_t i = 3; i < lim; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return (int)(i + 1);
    return len >= NP_WS_HEAD_MAX ? -EMSGSIZE : 0;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Does the comma-separated list v[0..n) hold `token` (case-insensitive)? */
static int has_token(const char *v, size_t n, const char *token)
{
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        const char *t = v + i;
        size_t tl = j - i;
        trim(&t, &tl);
        if (ieq(t, tl, token))
            return 1;
        i = j + 1;
    }
    return 0;
}

typedef void (*header_fn)(void *ctx, const char *name, size_t nlen, const char *val,
                          size_t vlen);

/* Walk the header lines after the first line. -EPROTO on a line without a colon. */
static int each_header(const char *buf, int head_len, const char *first_end, header_fn fn,
                       void *ctx)
{
    const char *p = first_end + 2, *end = buf + head_len - 2;
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol || eol[1] != '\n')
            return -EPROTO;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p)
            return -EPROTO;
        const char *v = colon + 1;
        size_t vl = (size_t)(eol - v);
        trim(&v, &vl);
        fn(ctx, p, (size_t)(colon - p), v, vl);
        p = eol + 2;
    }
    return 0;
}

typedef struct {
    np_ws_request *r;
    const char *want;   /* "<name>.sp.nanomsg.org" */
    int key_bad;
} req_ctx;

static int is_b64(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* 16 bytes in base64: 22 alphabet characters and "==". */
static int key_valid(const char *v, size_t n)
{
    if (n != NP_WS_KEY_LEN || v[22] != '=' || v[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!is_b64((unsigned char)v[i]))
            return 0;
    return 1;
}

static void copy_token(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static void request_header(void *c, const char *name, size_t nl, const char *v, size_t vl)
{
    req_ctx *ctx = c;
    np_ws_request *r = ctx->r;
    if (ieq(name, nl, "upgrade"))
        r->upgrade_ok |= has_token(v, vl, "websocket");
    else if (ieq(name, nl, "connection"))
        r->connection_ok |= has_token(v, vl, "upgrade");
    else if (ieq(name, nl, "sec-websocket-version"))
        r->version_ok = vl == 2 && v[0] == '1' && v[1] == '3';
    else if (ieq(name, nl, "sec-websocket-key")) {
        if (!key_valid(v, vl))
            ctx->key_bad = 1;
        else
            copy_token(r->key, sizeof(r->key), v, vl);
    } else if (ieq(name, nl, "sec-websocket-protocol")) {
        if (ctx->want && has_token(v, vl, ctx->want))
            copy_token(r->proto, sizeof(r->proto), ctx->want, strlen(ctx->want));
    }
}

int np_ws_parse_request(const char *buf, size_t len, int my_protocol, np_ws_request *out)
{
    int hl = head_length(buf, len);
    if (hl <= 0)
        return hl;
    memset(out, 0, sizeof(*out));
    const char *first_end = memchr(buf, '\r', (size_t)hl);
    /* "GET <target> HTTP/1.1" */
    if (!first_end || first_end - buf < 14 || memcmp(buf, "GET ", 4) != 0)
        return -EPROTO;
    const char *target = buf + 4;
    const char *sp = memchr(target, ' ', (size_t)(first_end - target));
    if (!sp || sp == target || first_end - sp != 9 || memcmp(sp, " HTTP/1.1", 9) != 0)
        return -EPROTO;
    size_t tl = (size_t)(sp - target);
    const char *q = memchr(target, '?', tl);
    if (q)
        tl = (size_t)(q - target);
    /* An absolute-form target ("http://host/path") is reduced to its path. */
    if (tl > 7 && (memcmp(target, "http://", 7) == 0 || (tl > 8 && memcmp(target, "https://", 8) == 0))) {
        const char *scheme_end = memchr(target, '/', tl);
        const char *path = memchr(scheme_end + 2, '/', tl - (size_t)(scheme_end + 2 - target));
        if (!path) {
            target = "/";
            tl = 1;
        } else {
            tl -= (size_t)(path - target);
            target = path;
        }
    }
    if (tl == 0 || target[0] != '/' || tl >= NP_WS_PATH_MAX)
        return -EPROTO;
    for (size_t i = 0; i < tl; i++)
        if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f)
            return -EPROTO;  /* no controls (NUL included) in a path we route by */
    memcpy(out->path, target, tl);
    out->path[tl] = 0;
    char want[NP_WS_PROTO_MAX];
    const char *me = np_ws_proto_name(my_protocol);
    req_ctx ctx = {out, NULL, 0};
    if (me) {
        snprintf(want, sizeof(want), "%s.sp.nanomsg.org", me);
        ctx.want = want;
    }
    if (each_header(buf, hl, first_end, request_header, &ctx) < 0)
        return -EPROTO;
    if (ctx.key_bad || !out->key[0] || !out->version_ok || !out->upgrade_ok ||
        !out->connection_ok)
        return -EPROTO;
    return hl;
}

typedef struct {
    const char *accept;
    const char *want;
    int accept_ok, proto_seen, proto_ok, upgrade_ok, connection_ok;
} resp_ctx;

static void response_header(void *c, const char *name, size_t nl, const char *v, size_t vl)
{
    resp_ctx *ctx = c;
    if (ieq(name, nl, "sec-websocket-accept"))
        ctx->accept_ok = vl == NP_WS_ACCEPT_LEN && memcmp(v, ctx->accept, vl) == 0;
    else if (ieq(name, nl, "sec-websocket-protocol")) {
        ctx->proto_seen = 1;
        ctx->proto_ok = ieq(v, vl, ctx->want);
    } else if (ieq(name, nl, "upgrade"))
        ctx->upgrade_ok |= has_token(v, vl, "websocket");
    else if (ieq(name, nl, "connection"))
        ctx->connection_ok |= has_token(v, vl, "upgrade");
}

int np_ws_parse_response(const char *buf, size_t len, const char *key, int my_protocol)
{
    int hl = head_length(buf, len);
    if (hl <= 0)
        return hl;
    const char *first_end = memchr(buf, '\r', (size_t)hl);
    /* "HTTP/1.1 101 ..." */
    if (!first_end || first_end - buf < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0)
        return -EPROTO;
    if (memcmp(buf + 9, "101", 3) != 0 || (first_end - buf > 12 && buf[12] != ' '))
        return -ECONNREFUSED;
    const char *peer = np_ws_proto_name(np_ws_peer_protocol(my_protocol));
    if (!peer)
        return -EPROTO;
    char accept[NP_WS_ACCEPT_LEN + 1], want[NP_WS_PROTO_MAX];
    np_ws_accept_for(key, strlen(key), accept);
    snprintf(want, sizeof(want), "%s.sp.nanomsg.org", peer);
    resp_ctx ctx = {accept, want, 0, 0, 0, 0, 0};
    if (each_header(buf, hl, first_end, response_header, &ctx) < 0)
        return -EPROTO;
    if (!ctx.accept_ok || !ctx.upgrade_ok || !ctx.connection_ok ||
        (ctx.proto_seen && !ctx.proto_ok))
        return -EPROTO;
    return hl;
}
