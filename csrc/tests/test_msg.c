/*
 * test_msg.c - messages and shared chunks: reference counts (ASan/LSan catch a wrong
 * count as a use-after-free or a leak), the inline/heap header switch at
 * NP_MSG_INLINE_HDR bytes, body-to-header splitting and flattening.
 */
// deps: core/msg.c
#include "core/msg.h"
#include "tinytest.h"

#include <errno.h>

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i);
}

static void test_alloc_and_free(void)
{
    np_msg *m = np_msg_alloc(0);
    REQUIRE(m);
    CHECK_EQ(m->body_len, 0);
    CHECK_EQ(m->hdr_len, 0);
    CHECK_EQ(np_msg_wire_len(m), 0);
    np_msg_free(m);
    m = np_msg_alloc(100000);
    REQUIRE(m);
    fill(m->body, 100000, 1);  /* the whole body is writable */
    CHECK_EQ(m->body_len, 100000);
    np_msg_free(m);
    np_msg_free(NULL);
}

static void test_alloc_overflow(void)
{
    /* chunk header + size must not wrap around to a tiny allocation. */
    CHECK(np_msg_alloc(SIZE_MAX) == NULL);
    CHECK(np_msg_alloc(SIZE_MAX - 4) == NULL);
}

static void test_share_keeps_body_alive(void)
{
    np_msg *a = np_msg_alloc(64);
    REQUIRE(a);
    fill(a->body, 64, 3);
    REQUIRE(np_msg_set_hdr(a, "\x80\0\0\x01", 4) == 0);
    np_msg *b = np_msg_share(a);
    np_msg *c = np_msg_share(a);
    REQUIRE(b && c);
    CHECK(b->body == a->body);             /* same chunk, no copy */
    CHECK(b->hdr != a->hdr);               /* own header copy */
    CHECK_EQ(b->hdr_len, 4);
    CHECK_MEM(b->hdr, "\x80\0\0\x01", 4);
    CHECK_EQ(atomic_load(&a->chunk->refs), 3);
    np_msg_free(a);                        /* b and c still read the body */
    uint8_t want[64];
    fill(want, 64, 3);
    CHECK_MEM(b->body, want, 64);
    np_msg_free(b);
    CHECK_MEM(c->body, want, 64);
    CHECK_EQ(atomic_load(&c->chunk->refs), 1);
    np_msg_free(c);
}

static void test_share_long_header(void)
{
    np_msg *a = np_msg_alloc(4);
    REQUIRE(a);
    uint8_t hdr[40];
    fill(hdr, sizeof(hdr), 9);
    REQUIRE(np_msg_set_hdr(a, hdr, sizeof(hdr)) == 0);
    np_msg *b = np_msg_share(a);
    REQUIRE(b);
    CHECK(b->hdr != b->hdr_inline);
    CHECK(b->hdr != a->hdr);
    CHECK_MEM(b->hdr, hdr, sizeof(hdr));
    np_msg_free(a);
    np_msg_free(b);
}

static void test_set_hdr_transitions(void)
{
    /* inline -> heap -> heap (other size) -> inline -> empty, checking content each time. */
    np_msg *m = np_msg_alloc(1);
    REQUIRE(m);
    uint8_t big[300], small[16];
    fill(big, sizeof(big), 5);
    fill(small, sizeof(small), 50);
    CHECK_EQ(np_msg_set_hdr(m, small, 16), 0);
    CHECK(m->hdr == m->hdr_inline);        /* exactly NP_MSG_INLINE_HDR stays inline */
    CHECK_MEM(m->hdr, small, 16);
    CHECK_EQ(np_msg_set_hdr(m, big, 17), 0);
    CHECK(m->hdr != m->hdr_inline);
    CHECK_MEM(m->hdr, big, 17);
    CHECK_EQ(np_msg_set_hdr(m, big, 300), 0);
    CHECK_MEM(m->hdr, big, 300);
    CHECK_EQ(np_msg_set_hdr(m, small, 3), 0);
    CHECK(m->hdr == m->hdr_inline);
    CHECK_MEM(m->hdr, small, 3);
    CHECK_EQ(np_msg_set_hdr(m, NULL, 0), 0);
    CHECK_EQ(m->hdr_len, 0);
    np_msg_free(m);
}

static void test_set_hdr_from_own_header(void)
{
    /* np_bt_route strips the first word with set_hdr(m, m->hdr + 4, len - 4): the source
     * overlaps the destination, inline and on the heap. */
    np_msg *m = np_msg_alloc(0);
    REQUIRE(m);
    uint8_t h[24];
    fill(h, sizeof(h), 100);
    REQUIRE(np_msg_set_hdr(m, h, 12) == 0);
    CHECK_EQ(np_msg_set_hdr(m, m->hdr + 4, m->hdr_len - 4), 0);
    CHECK_EQ(m->hdr_len, 8);
    CHECK_MEM(m->hdr, h + 4, 8);
    REQUIRE(np_msg_set_hdr(m, h, 24) == 0);   /* heap */
    CHECK_EQ(np_msg_set_hdr(m, m->hdr + 4, m->hdr_len - 4), 0);  /* heap -> 20 bytes heap */
    CHECK_MEM(m->hdr, h + 4, 20);
    CHECK_EQ(np_msg_set_hdr(m, m->hdr + 8, m->hdr_len - 8), 0);  /* heap -> inline */
    CHECK(m->hdr == m->hdr_inline);
    CHECK_MEM(m->hdr, h + 12, 12);
    np_msg_free(m);
}

static void test_body_to_hdr(void)
{
    np_msg *m = np_msg_alloc(40);
    REQUIRE(m);
    uint8_t body[40];
    fill(body, 40, 7);
    memcpy(m->body, body, 40);
    CHECK_EQ(np_msg_body_to_hdr(m, 0), 0);
    CHECK_EQ(m->hdr_len, 0);
    CHECK_EQ(np_msg_body_to_hdr(m, 8), 0);    /* inline */
    CHECK(m->hdr == m->hdr_inline);
    CHECK_EQ(np_msg_body_to_hdr(m, 8), 0);    /* exactly 16: still inline */
    CHECK(m->hdr == m->hdr_inline);
    CHECK_EQ(np_msg_body_to_hdr(m, 4), 0);    /* 20: moves to the heap */
    CHECK(m->hdr != m->hdr_inline);
    CHECK_EQ(np_msg_body_to_hdr(m, 12), 0);   /* 32: heap grows */
    CHECK_EQ(m->hdr_len, 32);
    CHECK_MEM(m->hdr, body, 32);
    CHECK_EQ(m->body_len, 8);
    CHECK_MEM(m->body, body + 32, 8);
    CHECK_EQ(np_msg_wire_len(m), 40);
    CHECK_EQ(np_msg_body_to_hdr(m, 9), -EINVAL);  /* more than the body */
    CHECK_EQ(m->hdr_len, 32);
    CHECK_EQ(np_msg_body_to_hdr(m, 8), 0);
    CHECK_EQ(m->body_len, 0);
    np_msg_free(m);
}

static void test_body_to_hdr_on_shared_chunk(void)
{
    /* Splitting one copy's header must not move the other copies' bodies. */
    np_msg *a = np_msg_alloc(12);
    REQUIRE(a);
    memcpy(a->body, "\x80\0\0\x07" "payload!", 12);
    np_msg *b = np_msg_share(a);
    REQUIRE(b);
    CHECK_EQ(np_msg_body_to_hdr(b, 4), 0);
    CHECK_EQ(a->body_len, 12);
    CHECK_EQ(b->body_len, 8);
    CHECK_MEM(b->body, "payload!", 8);
    np_msg_free(a);
    np_msg_free(b);
}

static void test_flat_copy(void)
{
    np_msg *m = np_msg_alloc(5);
    REQUIRE(m);
    memcpy(m->body, "hello", 5);
    uint8_t hdr[20];
    fill(hdr, 20, 1);
    REQUIRE(np_msg_set_hdr(m, hdr, 20) == 0);
    np_msg *other = np_msg_share(m);
    REQUIRE(other);
    np_msg *flat = np_msg_flat_copy(m);
    REQUIRE(flat);
    CHECK_EQ(flat->hdr_len, 0);
    CHECK_EQ(flat->body_len, 25);
    CHECK_MEM(flat->body, hdr, 20);
    CHECK_MEM(flat->body + 20, "hello", 5);
    /* The original and the copy sharing its body are untouched. */
    CHECK_EQ(m->hdr_len, 20);
    CHECK_MEM(m->body, "hello", 5);
    CHECK(other->chunk == m->chunk);
    np_msg_free(m);                 /* the shared body outlives the message it came with */
    CHECK_MEM(other->body, "hello", 5);
    CHECK_EQ(other->hdr_len, 20);
    np_msg_free(other);
    np_msg_free(flat);
}

static void test_flat_copy_after_body_to_hdr(void)
{
    /* The round trip a raw device does: split the header off, then flatten for inproc. */
    np_msg *m = np_msg_alloc(10);
    REQUIRE(m);
    memcpy(m->body, "ABCDEFGHIJ", 10);
    REQUIRE(np_msg_body_to_hdr(m, 4) == 0);
    np_msg *flat = np_msg_flat_copy(m);
    REQUIRE(flat);
    CHECK_EQ(flat->body_len, 10);
    CHECK_MEM(flat->body, "ABCDEFGHIJ", 10);
    np_msg_free(flat);
    np_msg_free(m);
}

static void test_slab_messages_outlive_their_slab(void)
{
    /* Carved messages are freed in any order, after the maker dropped the slab; a shared
     * copy keeps the body alive after its original goes (ASan/LSan check every count). */
    np_msg_slab *slab = NULL;
    np_msg *m[40];
    for (int i = 0; i < 40; i++) {
        m[i] = np_msg_alloc_in(&slab, (size_t)i * 10, 2000);
        REQUIRE(m[i]);
        CHECK_EQ(m[i]->body_len, (size_t)i * 10);
        fill(m[i]->body, m[i]->body_len, (uint8_t)i);
    }
    CHECK(slab != NULL);  /* 40 messages needed several slabs of about 2000 bytes */
    np_msg *copy = np_msg_share(m[7]);
    REQUIRE(copy);
    REQUIRE(np_msg_set_hdr(m[3], "a header longer than sixteen bytes", 34) == 0);
    np_msg_slab_drop(&slab);
    CHECK(slab == NULL);
    for (int i = 39; i >= 0; i -= 2)
        np_msg_free(m[i]);
    for (int i = 0; i < 40; i += 2)
        np_msg_free(m[i]);
    uint8_t want[70];
    fill(want, 70, 7);
    CHECK_EQ(copy->body_len, 70);
    CHECK_MEM(copy->body, want, 70);
    np_msg_free(copy);
}

static void test_slab_large_body_gets_its_own_block(void)
{
    np_msg_slab *slab = NULL;
    np_msg *m = np_msg_alloc_in(&slab, 100000, 16384);
    REQUIRE(m);
    CHECK(slab == NULL);  /* too big to carve: an ordinary message */
    fill(m->body, 100000, 3);
    np_msg_free(m);
    np_msg_slab_drop(&slab);
}

static void test_frame_kind(void)
{
    /* The core carries a message's frame kind without reading it: new messages have none,
     * shares (broadcasts, REQ resends) keep it, flattening for inproc drops it. */
    CHECK(sizeof(np_msg) <= 64);
    np_msg *m = np_msg_alloc(3);
    REQUIRE(m);
    CHECK_EQ(np_msg_kind(m), 0);
    np_msg_set_kind(m, 1);
    CHECK_EQ(m->kind, 1);
    np_msg *shared = np_msg_share(m);
    REQUIRE(shared);
    CHECK_EQ(shared->kind, 1);
    np_msg *flat = np_msg_flat_copy(m);
    REQUIRE(flat);
    CHECK_EQ(flat->kind, 0);
    static const uint8_t text[] = "abc";
    np_msg *wrapped = np_msg_wrap(text, 3, NULL, NULL);
    REQUIRE(wrapped);
    CHECK_EQ(wrapped->kind, 0);
    np_msg_free(wrapped);
    np_msg_free(flat);
    np_msg_free(shared);
    np_msg_free(m);
}

int main(void)
{
    TT_RUN(test_alloc_and_free);
    TT_RUN(test_alloc_overflow);
    TT_RUN(test_share_keeps_body_alive);
    TT_RUN(test_share_long_header);
    TT_RUN(test_set_hdr_transitions);
    TT_RUN(test_set_hdr_from_own_header);
    TT_RUN(test_body_to_hdr);
    TT_RUN(test_body_to_hdr_on_shared_chunk);
    TT_RUN(test_flat_copy);
    TT_RUN(test_flat_copy_after_body_to_hdr);
    TT_RUN(test_slab_messages_outlive_their_slab);
    TT_RUN(test_slab_large_body_gets_its_own_block);
    TT_RUN(test_frame_kind);
    return tt_summary();
}
