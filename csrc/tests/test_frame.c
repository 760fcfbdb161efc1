/*
 * test_frame.c - SP handshake and the incremental frame decoder. (Which peer a protocol
 * accepts is the protocol table's rule: test_protocols.c.)
 *
 * frame.c is compiled into this file (not linked) so np_msg_alloc can be routed through a
 * counter: the decoder promises to reject an oversized or malformed header *before* it
 * allocates, and a counter is the only way to see that from outside.
 */
// deps: core/msg.c
#include "core.h"
#include "core/msg.h"
#include "tinytest.h"

static int alloc_calls;
static size_t alloc_fail_above = SIZE_MAX;  /* simulate malloc failing for big sizes */

static np_msg *counting_alloc(size_t n)
{
    alloc_calls++;
    if (n > alloc_fail_above)
        return NULL;
    return np_msg_alloc(n);
}

#define np_msg_alloc counting_alloc
#include "transports/frame.c"
#undef np_msg_alloc

/* ---- handshake ---------------------------------------------------------------------- */

static const int all_types[] = {NP_PAIR, NP_PUB,      NP_SUB,        NP_REQ, NP_REP,
                                NP_PUSH, NP_PULL,     NP_SURVEYOR,   NP_RESPONDENT,
                                NP_BUS};
#define NTYPES (int)(sizeof(all_types) / sizeof(all_types[0]))

static void test_handshake_encode_exact_bytes(void)
{
    uint8_t hs[NP_HANDSHAKE_LEN];
    for (int i = 0; i < NTYPES; i++) {
        memset(hs, 0xaa, sizeof(hs));
        np_handshake_encode(hs, all_types[i]);
        uint8_t want[8] = {0x00, 0x53, 0x50, 0x00, 0x00, (uint8_t)all_types[i], 0x00, 0x00};
        CHECK_MEM(hs, want, 8);
        CHECK_EQ(np_handshake_decode(hs), all_types[i]);
    }
    /* Ids above one byte travel big-endian. */
    np_handshake_encode(hs, 0x1234);
    CHECK_EQ(hs[4], 0x12);
    CHECK_EQ(hs[5], 0x34);
    CHECK_EQ(np_handshake_decode(hs), 0x1234);
    np_handshake_encode(hs, 0xffff);
    CHECK_EQ(np_handshake_decode(hs), 0xffff);
}

static void test_handshake_decode_rejects_bad_magic(void)
{
    uint8_t hs[NP_HANDSHAKE_LEN];
    for (int pos = 0; pos < 4; pos++) {
        for (int delta = 1; delta < 256; delta += 37) {
            np_handshake_encode(hs, NP_REQ);
            hs[pos] = (uint8_t)(hs[pos] + delta);
            CHECK_EQ(np_handshake_decode(hs), -EPROTO);
        }
    }
    /* Reserved bytes are not checked (nanomsg-lenient). */
    np_handshake_encode(hs, NP_REQ);
    hs[6] = 0xff;
    hs[7] = 0x01;
    CHECK_EQ(np_handshake_decode(hs), NP_REQ);
}

/* ---- frame headers ------------------------------------------------------------------ */

static void test_frame_encode_hdr(void)
{
    uint8_t b[9];
    CHECK_EQ(np_frame_hdr_len(0), 8);
    CHECK_EQ(np_frame_hdr_len(1), 9);
    np_frame_encode_hdr(b, 0, 7);
    uint8_t tcp7[8] = {0, 0, 0, 0, 0, 0, 0, 7};
    CHECK_MEM(b, tcp7, 8);
    np_frame_encode_hdr(b, 1, 2);
    uint8_t ipc2[9] = {1, 0, 0, 0, 0, 0, 0, 0, 2};
    CHECK_MEM(b, ipc2, 9);
    np_frame_encode_hdr(b, 0, 0x0102030405060708ULL);
    uint8_t big[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_MEM(b, big, 8);
}

/* ---- decoder ------------------------------------------------------------------------ */

/* Build header+payload for one frame into out; returns the frame length. */
static size_t make_frame(uint8_t *out, int ipc, const void *payload, size_t n)
{
    np_frame_encode_hdr(out, ipc, n);
    size_t h = np_frame_hdr_len(ipc);
    if (n)
        memcpy(out + h, payload, n);
    return h + n;
}

static void decode_one_frame(int ipc)
{
    uint8_t buf[64];
    /* The wire format's worked examples: a tcp frame and an ipc frame of a few bytes. */
    size_t n = make_frame(buf, ipc, "\x80\x00\x00\x01" "ABC", 7);
    np_decoder d;
    np_decoder_init(&d, ipc, 1024);
    np_msg *m = NULL;
    CHECK_EQ(np_decoder_feed(&d, buf, n, &m), (ssize_t)n);
    REQUIRE(m != NULL);
    CHECK_EQ(m->body_len, 7);
    CHECK_MEM(m->body, "\x80\x00\x00\x01" "ABC", 7);
    CHECK_EQ(m->hdr_len, 0);
    np_msg_free(m);
    np_decoder_fini(&d);
}

static void test_decode_tcp(void) { decode_one_frame(0); }
static void test_decode_ipc(void) { decode_one_frame(1); }

static void test_decode_ipc_wire_example(void)
{
    const uint8_t wire[] = {0x01, 0, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69};
    np_decoder d;
    np_decoder_init(&d, 1, -1);
    np_msg *m;
    CHECK_EQ(np_decoder_feed(&d, wire, sizeof(wire), &m), (ssize_t)sizeof(wire));
    REQUIRE(m);
    CHECK_EQ(m->body_len, 2);
    CHECK_MEM(m->body, "hi", 2);
    np_msg_free(m);
    np_decoder_fini(&d);
}

static void byte_at_a_time(int ipc)
{
    uint8_t buf[512], payload[300];
    for (int i = 0; i < 300; i++)
        payload[i] = (uint8_t)(i * 7);
    size_t n = make_frame(buf, ipc, payload, sizeof(payload));
    np_decoder d;
    np_decoder_init(&d, ipc, -1);
    np_msg *m = NULL;
    for (size_t i = 0; i < n; i++) {
        CHECK(m == NULL);  /* nothing may complete early */
        CHECK_EQ(np_decoder_feed(&d, buf + i, 1, &m), 1);
    }
    REQUIRE(m != NULL);
    CHECK_EQ(m->body_len, 300);
    CHECK_MEM(m->body, payload, 300);
    np_msg_free(m);
    np_decoder_fini(&d);
}

static void test_byte_at_a_time_tcp(void) { byte_at_a_time(0); }
static void test_byte_at_a_time_ipc(void) { byte_at_a_time(1); }

static void multiple_frames(int ipc)
{
    /* Five frames (one empty) in one buffer: feed returns after each, the caller loops. */
    uint8_t buf[256];
    const char *payloads[] = {"one", "", "three", "4", "fivefive"};
    size_t off = 0;
    for (int i = 0; i < 5; i++)
        off += make_frame(buf + off, ipc, payloads[i], strlen(payloads[i]));
    np_decoder d;
    np_decoder_init(&d, ipc, 100);
    size_t pos = 0;
    int got = 0;
    while (pos < off) {
        np_msg *m;
        ssize_t r = np_decoder_feed(&d, buf + pos, off - pos, &m);
        REQUIRE(r > 0);
        pos += (size_t)r;
        if (m) {
            REQUIRE(got < 5);
            CHECK_EQ(m->body_len, strlen(payloads[got]));
            CHECK_MEM(m->body, payloads[got], m->body_len);
            np_msg_free(m);
            got++;
        }
    }
    CHECK_EQ(got, 5);
    CHECK_EQ(pos, off);
    np_decoder_fini(&d);
}

/* Hundreds of small frames in one buffer, every message kept until the decoder is gone:
 * messages carved from the decoder's slabs stay valid, then free in any order. */
static void many_frames_kept(int ipc)
{
    enum { N = 300 };
    static uint8_t buf[N * (9 + 50)];
    size_t off = 0;
    for (int i = 0; i < N; i++) {
        uint8_t payload[50];
        memset(payload, i & 0xff, sizeof(payload));
        off += make_frame(buf + off, ipc, payload, (size_t)(i % 50));
    }
    np_decoder d;
    np_decoder_init(&d, ipc, -1);
    np_msg *kept[N];
    size_t pos = 0;
    int got = 0;
    while (pos < off) {
        np_msg *m;
        ssize_t r = np_decoder_feed(&d, buf + pos, off - pos, &m);
        REQUIRE(r > 0);
        pos += (size_t)r;
        if (m) {
            REQUIRE(got < N);
            kept[got++] = m;
        }
    }
    np_decoder_fini(&d);
    REQUIRE(got == N);
    for (int i = 0; i < N; i++) {
        uint8_t want[50];
        memset(want, i & 0xff, sizeof(want));
        CHECK_EQ(kept[i]->body_len, (size_t)(i % 50));
        CHECK_MEM(kept[i]->body, want, kept[i]->body_len);
    }
    for (int i = 0; i < N; i += 2)
        np_msg_free(kept[i]);
    for (int i = N - 1; i > 0; i -= 2)
        np_msg_free(kept[i]);
}

static void test_many_frames_kept_tcp(void) { many_frames_kept(0); }
static void test_many_frames_kept_ipc(void) { many_frames_kept(1); }

static void test_multiple_frames_tcp(void) { multiple_frames(0); }
static void test_multiple_frames_ipc(void) { multiple_frames(1); }

static void test_zero_length_message(void)
{
    for (int ipc = 0; ipc <= 1; ipc++) {
        uint8_t buf[9];
        size_t n = make_frame(buf, ipc, NULL, 0);
        np_decoder d;
        np_decoder_init(&d, ipc, 0);  /* a limit of 0 still admits empty messages */
        np_msg *m;
        CHECK_EQ(np_decoder_feed(&d, buf, n, &m), (ssize_t)n);
        REQUIRE(m);
        CHECK_EQ(m->body_len, 0);
        np_msg_free(m);
        np_decoder_fini(&d);
    }
}

static void test_limit_exceeded_before_alloc(void)
{
    for (int ipc = 0; ipc <= 1; ipc++) {
        uint8_t buf[32];
        size_t n = make_frame(buf, ipc, "12345", 5);
        np_decoder d;
        np_msg *m = (np_msg *)&d;  /* must be reset to NULL */
        /* Exactly at the limit: delivered. */
        np_decoder_init(&d, ipc, 5);
        CHECK_EQ(np_decoder_feed(&d, buf, n, &m), (ssize_t)n);
        CHECK(m != NULL);
        np_msg_free(m);
        np_decoder_fini(&d);
        /* One over: refused, and nothing was allocated for it. */
        np_decoder_init(&d, ipc, 4);
        int before = alloc_calls;
        CHECK_EQ(np_decoder_feed(&d, buf, n, &m), -EMSGSIZE);
        CHECK(m == NULL);
        CHECK_EQ(alloc_calls, before);
        CHECK(d.cur == NULL);
        np_decoder_fini(&d);
        /* An absurd length against a normal limit: same, no allocation attempt. */
        np_decoder_init(&d, ipc, 1 << 20);
        np_frame_encode_hdr(buf, ipc, UINT64_MAX);
        before = alloc_calls;
        CHECK_EQ(np_decoder_feed(&d, buf, np_frame_hdr_len(ipc), &m), -EMSGSIZE);
        CHECK_EQ(alloc_calls, before);
        np_decoder_fini(&d);
    }
}

static void test_limit_read_per_message(void)
{
    /* stream.c refreshes max_size before every feed (NN_RCVMAXSIZE is read per message). */
    uint8_t buf[64];
    size_t n1 = make_frame(buf, 0, "abcdef", 6);
    size_t n2 = make_frame(buf + n1, 0, "abcdef", 6);
    np_decoder d;
    np_decoder_init(&d, 0, -1);
    np_msg *m;
    CHECK_EQ(np_decoder_feed(&d, buf, n1 + n2, &m), (ssize_t)n1);
    REQUIRE(m);
    np_msg_free(m);
    d.max_size = 5;
    CHECK_EQ(np_decoder_feed(&d, buf + n1, n2, &m), -EMSGSIZE);
    np_decoder_fini(&d);
}

static void test_huge_length_unlimited_is_enomem(void)
{
    /* 2^63 (and above) cannot be a size_t allocation: -ENOMEM, never a crash or a wrap. */
    uint64_t lens[] = {1ULL << 63, (1ULL << 63) + 1, UINT64_MAX};
    for (int ipc = 0; ipc <= 1; ipc++)
        for (size_t k = 0; k < 3; k++) {
            uint8_t buf[9];
            np_frame_encode_hdr(buf, ipc, lens[k]);
            np_decoder d;
            np_decoder_init(&d, ipc, -1);
            np_msg *m;
            int before = alloc_calls;
            CHECK_EQ(np_decoder_feed(&d, buf, np_frame_hdr_len(ipc), &m), -ENOMEM);
            CHECK(m == NULL);
            CHECK_EQ(alloc_calls, before);
            np_decoder_fini(&d);
        }
}

static void test_alloc_failure_is_enomem(void)
{
    /* Below 2^63 the decoder asks the allocator; a refusal must come back as -ENOMEM with
     * no half-made state left behind. (The failure is simulated: a real 2^62-byte malloc
     * would abort under ASan.) */
    uint64_t lens[] = {(1ULL << 63) - 1, 1ULL << 40, 4096};
    alloc_fail_above = 1024;
    for (size_t k = 0; k < 3; k++) {
        uint8_t buf[8];
        np_frame_encode_hdr(buf, 0, lens[k]);
        np_decoder d;
        np_decoder_init(&d, 0, -1);
        np_msg *m;
        CHECK_EQ(np_decoder_feed(&d, buf, 8, &m), -ENOMEM);
        CHECK(d.cur == NULL);
        np_decoder_fini(&d);
    }
    alloc_fail_above = SIZE_MAX;
}

static void test_bad_ipc_type_is_eproto(void)
{
    int types[] = {0x00, 0x02, 0x7f, 0xff};
    for (size_t k = 0; k < 4; k++) {
        uint8_t buf[16];
        size_t n = make_frame(buf, 1, "x", 1);
        buf[0] = (uint8_t)types[k];
        np_decoder d;
        np_decoder_init(&d, 1, -1);
        np_msg *m;
        int before = alloc_calls;
        CHECK_EQ(np_decoder_feed(&d, buf, n, &m), -EPROTO);
        CHECK(m == NULL);
        CHECK_EQ(alloc_calls, before);
        np_decoder_fini(&d);
    }
    /* A TCP decoder has no type byte: a leading 0x02 is just part of the length. */
    uint8_t buf[8] = {0x02, 0, 0, 0, 0, 0, 0, 0};
    np_decoder d;
    np_decoder_init(&d, 0, 1 << 20);
    np_msg *m;
    CHECK_EQ(np_decoder_feed(&d, buf, 8, &m), -EMSGSIZE);
    np_decoder_fini(&d);
}

static void test_direct_and_advance(void)
{
    for (int ipc = 0; ipc <= 1; ipc++) {
        uint8_t payload[10000];
        for (size_t i = 0; i < sizeof(payload); i++)
            payload[i] = (uint8_t)(i ^ (i >> 8));
        uint8_t hdr[9];
        np_frame_encode_hdr(hdr, ipc, sizeof(payload));
        np_decoder d;
        np_decoder_init(&d, ipc, -1);
        uint8_t *p = NULL;
        CHECK_EQ(np_decoder_direct(&d, &p), 0);  /* no body in progress */
        np_msg *m;
        size_t h = np_frame_hdr_len(ipc);
        /* Header plus the first 100 bytes through the buffered path. */
        uint8_t first[109];
        memcpy(first, hdr, h);
        memcpy(first + h, payload, 100);
        CHECK_EQ(np_decoder_feed(&d, first, h + 100, &m), (ssize_t)(h + 100));
        CHECK(m == NULL);
        /* The rest straight into the message, in three reads. */
        size_t done = 100;
        size_t steps[] = {4000, 5899, 1};
        for (int s = 0; s < 3; s++) {
            size_t space = np_decoder_direct(&d, &p);
            CHECK_EQ(space, sizeof(payload) - done);
            REQUIRE(p != NULL && space >= steps[s]);
            memcpy(p, payload + done, steps[s]);
            np_decoder_advance(&d, steps[s], &m);
            done += steps[s];
            if (done < sizeof(payload))
                CHECK(m == NULL);
        }
        REQUIRE(m != NULL);
        CHECK_EQ(m->body_len, sizeof(payload));
        CHECK_MEM(m->body, payload, sizeof(payload));
        np_msg_free(m);
        CHECK_EQ(np_decoder_direct(&d, &p), 0);
        /* The decoder is ready for the next frame. */
        uint8_t buf[16];
        size_t n = make_frame(buf, ipc, "ok", 2);
        CHECK_EQ(np_decoder_feed(&d, buf, n, &m), (ssize_t)n);
        REQUIRE(m);
        CHECK_MEM(m->body, "ok", 2);
        np_msg_free(m);
        np_decoder_fini(&d);
    }
}

static void test_fini_frees_partial_message(void)
{
    /* LeakSanitizer fails the run if the half-filled body is not released. */
    uint8_t buf[32];
    size_t n = make_frame(buf, 0, "0123456789", 10);
    np_decoder d;
    np_decoder_init(&d, 0, -1);
    np_msg *m;
    CHECK_EQ(np_decoder_feed(&d, buf, n - 3, &m), (ssize_t)(n - 3));
    CHECK(m == NULL);
    CHECK(d.cur != NULL);
    np_decoder_fini(&d);
    CHECK(d.cur == NULL);
    np_decoder_fini(&d);  /* twice is harmless */
}

static void test_random_split_points(void)
{
    /* Many frames cut at random points, compared with what was encoded. */
    uint64_t seed = 7;
    for (int ipc = 0; ipc <= 1; ipc++) {
        uint8_t stream[20000];
        size_t lens[200], off = 0, nframes = 0;
        while (nframes < 200) {
            size_t len = tt_rand(&seed) % 80;
            if (off + 9 + len > sizeof(stream))
                break;
            np_frame_encode_hdr(stream + off, ipc, len);
            off += np_frame_hdr_len(ipc);
            for (size_t i = 0; i < len; i++)
                stream[off + i] = (uint8_t)(nframes + i);
            off += len;
            lens[nframes++] = len;
        }
        np_decoder d;
        np_decoder_init(&d, ipc, 79);
        size_t pos = 0, got = 0;
        while (pos < off) {
            size_t chunk = 1 + tt_rand(&seed) % 40;
            if (chunk > off - pos)
                chunk = off - pos;
            size_t used = 0;
            while (used < chunk) {
                np_msg *m;
                ssize_t r = np_decoder_feed(&d, stream + pos + used, chunk - used, &m);
                REQUIRE(r >= 0);
                used += (size_t)r;
                if (m) {
                    REQUIRE(got < nframes);
                    CHECK_EQ(m->body_len, lens[got]);
                    for (size_t i = 0; i < m->body_len; i++)
                        if (m->body[i] != (uint8_t)(got + i)) {
                            TT_FAIL_AT(__FILE__, __LINE__, "frame %zu byte %zu", got, i);
                            break;
                        }
                    np_msg_free(m);
                    got++;
                }
                if (r == 0 && !m)
                    break;
            }
            pos += chunk;
        }
        CHECK_EQ(got, nframes);
        np_decoder_fini(&d);
    }
}

int main(void)
{
    TT_RUN(test_handshake_encode_exact_bytes);
    TT_RUN(test_handshake_decode_rejects_bad_magic);
    TT_RUN(test_frame_encode_hdr);
    TT_RUN(test_decode_tcp);
    TT_RUN(test_decode_ipc);
    TT_RUN(test_decode_ipc_wire_example);
    TT_RUN(test_byte_at_a_time_tcp);
    TT_RUN(test_byte_at_a_time_ipc);
    TT_RUN(test_multiple_frames_tcp);
    TT_RUN(test_multiple_frames_ipc);
    TT_RUN(test_zero_length_message);
    TT_RUN(test_limit_exceeded_before_alloc);
    TT_RUN(test_limit_read_per_message);
    TT_RUN(test_huge_length_unlimited_is_enomem);
    TT_RUN(test_alloc_failure_is_enomem);
    TT_RUN(test_bad_ipc_type_is_eproto);
    TT_RUN(test_direct_and_advance);
    TT_RUN(test_fini_frees_partial_message);
    TT_RUN(test_random_split_points);
    TT_RUN(test_many_frames_kept_tcp);
    TT_RUN(test_many_frames_kept_ipc);
    return tt_summary();
}
