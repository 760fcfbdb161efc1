/* msg.c - message and chunk allocation; see msg.h. */
#include "core/msg.h"

#include "platform/np_errno.h"

#include <stdlib.h>
#include <string.h>

/* Every message costs one of these per hop: adding a field must not make it bigger. */
_Static_assert(sizeof(np_msg) <= 64, "np_msg grew past one cache line");

static void msg_chunk_unref(np_chunk *c)
{
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        void *block = c->block;  /* read first: release may free a slab holding c */
        if (c->release)
            c->release(c->owner);
        free(block);
    }
}

/* ---- slabs: many small messages in one allocation (see msg.h) ------------------------- */

struct np_msg_slab {
    atomic_int refs;  /* the maker's hold + one per live chunk carved from it */
    size_t size, used;
    _Alignas(16) uint8_t data[];
};

#define MSG_HEAD_SIZE ((sizeof(np_msg) + 15) & ~(size_t)15)
#define MSG_SLAB_MAX 16384  /* larger slabs would pin more memory per kept message */

static void msg_slab_release(void *owner)
{
    np_msg_slab *sl = owner;
    if (atomic_fetch_sub_explicit(&sl->refs, 1, memory_order_acq_rel) == 1)
        free(sl);
}

/* A slab message lives just before its chunk, like an inline one (not a shared copy). */
static int msg_in_slab(const np_msg *m)
{
    return m->chunk && m->chunk->block == NULL &&
           (const uint8_t *)m->chunk == (const uint8_t *)m + MSG_HEAD_SIZE;
}

void np_msg_slab_drop(np_msg_slab **slab)
{
    if (*slab)
        msg_slab_release(*slab);
    *slab = NULL;
}

/* Fills a message whose chunk header sits right after it (at MSG_HEAD_SIZE); the three
 * ways of making a message differ only in where the block and the release come from. */
static np_msg *msg_init(np_msg *m, size_t body_len, void *block, np_release_fn release,
                        void *owner)
{
    m->chunk = (np_chunk *)((uint8_t *)m + MSG_HEAD_SIZE);
    atomic_init(&m->chunk->refs, 1);
    m->chunk->size = body_len;
    m->chunk->block = block;
    m->chunk->release = release;
    m->chunk->owner = owner;
    m->body = m->chunk->data;
    m->body_len = body_len;
    m->hdr = m->hdr_inline;
    m->hdr_len = 0;
    m->pipe = 0;
    m->framed = 0;
    m->kind = 0;
    return m;
}

np_msg *np_msg_alloc_in(np_msg_slab **slab, size_t body_len, size_t hint)
{
    size_t need = (MSG_HEAD_SIZE + sizeof(np_chunk) + body_len + 15) & ~(size_t)15;
    if (need > MSG_SLAB_MAX / 4)
        return np_msg_alloc(body_len);
    np_msg_slab *sl = *slab;
    if (!sl || sl->size - sl->used < need) {
        np_msg_slab_drop(slab);
        size_t size = hint < need ? need : hint > MSG_SLAB_MAX ? MSG_SLAB_MAX : hint;
        size = (size + 15) & ~(size_t)15;
        if (!(sl = malloc(sizeof(*sl) + size)))
            return NULL;
        atomic_init(&sl->refs, 1);
        sl->size = size;
        sl->used = 0;
        *slab = sl;
    }
    np_msg *m = (np_msg *)(sl->data + sl->used);
    sl->used += need;
    atomic_fetch_add_explicit(&sl->refs, 1, memory_order_relaxed);
    return msg_init(m, body_len, NULL, msg_slab_release, sl);
}

/* The chunk allocated in the same block as m (see np_chunk.block), or NULL. */
static int msg_chunk_is_inline(const np_msg *m)
{
    return m->chunk && m->chunk->block == (const void *)m;
}

np_msg *np_msg_alloc(size_t body_len)
{
    /* Message and chunk in one allocation; the chunk frees the block when the last
     * reference (the message, or a broadcast copy sharing the body) goes. */
    if (body_len > SIZE_MAX - MSG_HEAD_SIZE - sizeof(np_chunk))
        return NULL;
    np_msg *m = malloc(MSG_HEAD_SIZE + sizeof(np_chunk) + body_len);
    if (!m)
        return NULL;
    return msg_init(m, body_len, m, NULL, NULL);
}

np_msg *np_msg_wrap(const void *data, size_t len, np_release_fn release, void *owner)
{
    np_msg *m = malloc(MSG_HEAD_SIZE + sizeof(np_chunk));
    if (!m)
        return NULL;
    msg_init(m, len, m, release, owner);
    m->body = (uint8_t *)data; /* the caller's bytes, not the (empty) inline chunk */
    return m;
}

void *np_msg_external_owner(const np_msg *m, np_release_fn release, size_t owner_len)
{
    if (!m->chunk || m->chunk->release != release || m->hdr_len != 0)
        return NULL;
    return m->body_len == owner_len && m->chunk->size == owner_len ? m->chunk->owner : NULL;
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
    c->pipe = m->pipe;
    c->framed = m->framed;
    c->kind = m->kind;
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

np_msg *np_msg_flat_copy(const np_msg *m)
{
    np_msg *c = np_msg_alloc(m->hdr_len + m->body_len);
    if (!c)
        return NULL;
    memcpy(c->body, m->hdr, m->hdr_len);
    if (m->body_len)
        memcpy(c->body + m->hdr_len, m->body, m->body_len);
    return c;
}

uint32_t np_msg_pipe(const np_msg *m) { return m->pipe; }
uint8_t np_msg_kind(const np_msg *m) { return m->kind; }
void np_msg_set_kind(np_msg *m, uint8_t kind) { m->kind = kind; }

void np_msg_free(np_msg *m)
{
    if (!m)
        return;
    if (m->hdr != m->hdr_inline)
        free(m->hdr);
    if (msg_chunk_is_inline(m) || msg_in_slab(m)) {
        msg_chunk_unref(m->chunk);  /* frees m too, unless a copy still shares the body */
        return;
    }
    msg_chunk_unref(m->chunk);
    free(m);
}

np_msg *np_msg_from_iov(const np_iov *iov, int n, const void *hdr, size_t hdr_len, int *err)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].len > SIZE_MAX - total) {
            *err = -EINVAL;
            return NULL;
        }
        total += iov[i].len;
    }
    np_msg *m = np_msg_alloc(total);
    if (!m) {
        *err = -ENOMEM;
        return NULL;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].len)
            memcpy(m->body + off, iov[i].base, iov[i].len);
        off += iov[i].len;
    }
    if (hdr_len && np_msg_set_hdr(m, hdr, hdr_len) != 0) {
        np_msg_free(m);
        *err = -ENOMEM;
        return NULL;
    }
    return m;
}

/* Accessors for the Python layer, which does not see the struct. */
const uint8_t *np_msg_body(const np_msg *m) { return m->body; }
size_t np_msg_body_len(const np_msg *m) { return m->body_len; }
const uint8_t *np_msg_hdr(const np_msg *m) { return m->hdr; }
size_t np_msg_hdr_len(const np_msg *m) { return m->hdr_len; }
