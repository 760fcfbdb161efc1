/* msg.c - message and chunk allocation; see msg.h. */
#include "msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static np_chunk *chunk_alloc(size_t size)
{
    if (size > SIZE_MAX - sizeof(np_chunk))
        return NULL;
    np_chunk *c = malloc(sizeof(np_chunk) + size);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->size = size;
    return c;
}

static void chunk_unref(np_chunk *c)
{
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        free(c);
}

np_msg *np_msg_alloc(size_t body_len)
{
    np_msg *m = malloc(sizeof(np_msg));
    if (!m)
        return NULL;
    m->chunk = chunk_alloc(body_len);
    if (!m->chunk) {
        free(m);
        return NULL;
    }
    m->body = m->chunk->data;
    m->body_len = body_len;
    m->hdr = m->hdr_inline;
    m->hdr_len = 0;
    return m;
}

np_msg *np_msg_share(const np_msg *m)
{
    np_msg *c = malloc(sizeof(np_msg));
    if (!c)
        return NULL;
    c->chunk = m->chunk;
    if (c->chunk)
        atomic_fetch_add_explicit(&c->chunk->refs, 1, memory_order_relaxed);
    c->body = m->body;
    c->body_len = m->body_len;
    c->hdr = c->hdr_inline;
    c->hdr_len = 0;
    if (np_msg_set_hdr(c, m->hdr, m->hdr_len) != 0) {
        np_msg_free(c);
        return NULL;
    }
    return c;
}

int np_msg_set_hdr(np_msg *m, const void *hdr, size_t len)
{
    uint8_t *dst = m->hdr_inline;
    if (len > NP_MSG_INLINE_HDR) {
        dst = malloc(len);
        if (!dst)
            return -ENOMEM;
    }
    if (len)
        memmove(dst, hdr, len);
    if (m->hdr != m->hdr_inline)
        free(m->hdr);
    m->hdr = dst;
    m->hdr_len = len;
    return 0;
}

int np_msg_body_to_hdr(np_msg *m, size_t n)
{
    if (n > m->body_len)
        return -EINVAL;
    size_t total = m->hdr_len + n;
    uint8_t *dst = m->hdr;
    if (total > NP_MSG_INLINE_HDR && m->hdr == m->hdr_inline) {
        dst = malloc(total);
        if (!dst)
            return -ENOMEM;
        memcpy(dst, m->hdr_inline, m->hdr_len);
    } else if (m->hdr != m->hdr_inline) {
        dst = realloc(m->hdr, total);
        if (!dst)
            return -ENOMEM;
    }
    memcpy(dst + m->hdr_len, m->body, n);
    m->hdr = dst;
    m->hdr_len = total;
    m->body += n;
    m->body_len -= n;
    return 0;
}

int np_msg_flatten(np_msg *m)
{
    if (m->hdr_len == 0)
        return 0;
    np_chunk *c = chunk_alloc(m->hdr_len + m->body_len);
    if (!c)
        return -ENOMEM;
    memcpy(c->data, m->hdr, m->hdr_len);
    if (m->body_len)
        memcpy(c->data + m->hdr_len, m->body, m->body_len);
    chunk_unref(m->chunk);
    m->chunk = c;
    m->body = c->data;
    m->body_len = c->size;
    np_msg_set_hdr(m, NULL, 0);
    return 0;
}

void np_msg_free(np_msg *m)
{
    if (!m)
        return;
    chunk_unref(m->chunk);
    if (m->hdr != m->hdr_inline)
        free(m->hdr);
    free(m);
}
