/*
 * test_ws.c - the WebSocket codecs: SHA-1/base64, the upgrade request and response, and the
 * RFC 6455 frame decoder/encoder. ws_frame.c is compiled in (not linked) so allocations can
 * be counted: an oversized frame must be refused before anything is allocated. Also the
 * host:port[/path] addresses of the ws, wss and tls+tcp transports (net_url.c), and the
 * keys ws paths are compared by on a shared port (ws_path.c).
 */
// deps: core/msg.c transports/ws_http.c transports/net_url.c transports/ws_path.c
#include "transports/net_url.h"
#include "transports/ws_path.h"
#include "transports/ws_http.h"
#include "tinytest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/msg.h"

static int alloc_calls;

static np_msg *counting_alloc(size_t n)
{
    alloc_calls++;
    return np_msg_alloc(n);
}

#define np_msg_alloc counting_alloc
#include "transports/ws_frame.c"
#undef np_msg_alloc

/* ---- SHA-1, base64, accept ------------------------------------------------------------- */

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha1_vectors(void)
{
    uint8_t d[20];
    char h[41];
    np_sha1("abc", 3, d);
    hex(d, 20, h);
    CHECK(strcmp(h, "a9993e364706816aba3e25717850c26c9cd0d89d") == 0);
    np_sha1("", 0, d);
    hex(d, 20, h);
    CHECK(strcmp(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709") == 0);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";  /* 56 bytes */
    np_sha1(two, strlen(two), d);
    hex(d, 20, h);
    CHECK(strcmp(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1") == 0);
    char *mil = malloc(1000000);
    memset(mil, 'a', 1000000);
    np_sha1(mil, 1000000, d);
    free(mil);
    hex(d, 20, h);
    CHECK(strcmp(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0);
}

static void test_base64(void)
{
    char out[16];
    CHECK_EQ(np_base64_encode((const uint8_t *)"", 0, out), 0);
    CHECK(strcmp(out, "") == 0);
    np_base64_encode((const uint8_t *)"f", 1, out);
    CHECK(strcmp(out, "Zg==") == 0);
    np_base64_encode((const uint8_t *)"fo", 2, out);
    CHECK(strcmp(out, "Zm8=") == 0);
    np_base64_encode((const uint8_t *)"foobar", 6, out);
    CHECK(strcmp(out, "Zm9vYmFy") == 0);
}

static void test_accept_rfc_example(void)
{
    char acc[NP_WS_ACCEPT_LEN + 1];
    np_ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", 24, acc);
    CHECK(strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
    char key[NP_WS_KEY_LEN + 1];
    np_ws_make_key((const uint8_t *)"the sample nonce", key);
    CHECK(strcmp(key, "dGhlIHNhbXBsZSBub25jZQ==") == 0);
}

static void test_proto_names(void)
{
    CHECK(strcmp(np_ws_proto_name(48), "req") == 0);
    CHECK(strcmp(np_ws_proto_name(99), "respondent") == 0);
    CHECK(np_ws_proto_name(17) == NULL);
    CHECK_EQ(np_ws_peer_protocol(48), 49);
    CHECK_EQ(np_ws_peer_protocol(112), 112);
    CHECK_EQ(np_ws_peer_protocol(32), 33);
}

/* ---- upgrade ---------------------------------------------------------------------------- */

static void test_request_round_trip(void)
{
    char buf[NP_WS_HEAD_MAX];
    int n = np_ws_build_request(buf, sizeof(buf), "localhost:5555", "/chat", 
                                "dGhlIHNhbXBsZSBub25jZQ==", 48 /* REQ */);
    REQUIRE(n > 0);
    CHECK(strstr(buf, "Sec-WebSocket-Protocol: rep.sp.nanomsg.org\r\n") != NULL);
    np_ws_request r;
    /* Incomplete until the blank line has arrived. */
    for (int cut = 0; cut < n; cut++)
        CHECK_EQ(np_ws_parse_request(buf, (size_t)cut, 49, &r), 0);
    CHECK_EQ(np_ws_parse_request(buf, (size_t)n, 49 /* REP */, &r), n);
    CHECK(strcmp(r.path, "/chat") == 0);
    CHECK(strcmp(r.key, "dGhlIHNhbXBsZSBub25jZQ==") == 0);
    CHECK(strcmp(r.proto, "rep.sp.nanomsg.org") == 0);
    /* The same request reaching a PUB server names no protocol that server speaks. */
    CHECK_EQ(np_ws_parse_request(buf, (size_t)n, 32, &r), n);
    CHECK(r.proto[0] == 0);
}

static void test_request_variants(void)
{
    np_ws_request r;
    const char *ok = "GET /a/b?x=1 HTTP/1.1\r\nhost: h\r\nUPGRADE: WebSocket\r\n"
                     "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Protocol: x, pair.sp.nanomsg.org\r\n\r\nEXTRA";
    int n = np_ws_parse_request(ok, strlen(ok), 16, &r);
    CHECK_EQ(n, (int)strlen(ok) - 5);
    CHECK(strcmp(r.path, "/a/b") == 0);
    CHECK(strcmp(r.proto, "pair.sp.nanomsg.org") == 0);
    const char *bad[] = {
        "POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n",
        "GET / HTTP/1.1\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        "GET / HTTP/1.1\r\nbroken line\r\n\r\n",
        "GET noslash HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(np_ws_parse_request(bad[i], strlen(bad[i]), 16, &r), -EPROTO);
}

static void test_request_size_limit(void)
{
    char *big = malloc(NP_WS_HEAD_MAX + 10);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', NP_WS_HEAD_MAX + 10 - 19);
    np_ws_request r;
    CHECK_EQ(np_ws_parse_request(big, NP_WS_HEAD_MAX - 1, 16, &r), 0);
    CHECK_EQ(np_ws_parse_request(big, NP_WS_HEAD_MAX, 16, &r), -EMSGSIZE);
    CHECK_EQ(np_ws_parse_response(big, NP_WS_HEAD_MAX + 10, "k", 16), -EMSGSIZE);
    free(big);
}

static void test_response_round_trip(void)
{
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    char buf[512];
    int n = np_ws_build_response(buf, sizeof(buf), key, 49 /* REP server */);
    REQUIRE(n > 0);
    CHECK(strstr(buf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != NULL);
    CHECK_EQ(np_ws_parse_response(buf, (size_t)n, key, 48 /* REQ client */), n);
    CHECK_EQ(np_ws_parse_response(buf, (size_t)n - 1, key, 48), 0);
    /* Wrong key: the accept value does not match. */
    CHECK_EQ(np_ws_parse_response(buf, (size_t)n, "AAAAAAAAAAAAAAAAAAAAAA==", 48), -EPROTO);
    /* A PUSH client expects pull, not rep. */
    CHECK_EQ(np_ws_parse_response(buf, (size_t)n, key, 80), -EPROTO);
    n = np_ws_build_refusal(buf, sizeof(buf), 404);
    CHECK_EQ(np_ws_parse_response(buf, (size_t)n, key, 48), -ECONNREFUSED);
    const char *no_proto = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    CHECK_EQ(np_ws_parse_response(no_proto, strlen(no_proto), key, 48), (int)strlen(no_proto));
}

/* ---- frames ----------------------------------------------------------------------------- */

static size_t make_frame(uint8_t *out, int op, int fin, const void *payload, size_t n,
                         const uint8_t *mask)
{
    size_t h = np_ws_encode_hdr(out, op, fin, n, mask);
    if (mask)
        np_ws_mask(out + h, payload, n, mask, 0);
    else
        memcpy(out + h, payload, n);
    return h + n;
}

static const uint8_t KEY[4] = {0x12, 0x34, 0x56, 0x78};

static void test_hdr_lengths(void)
{
    uint8_t h[NP_WS_MAX_HDR];
    CHECK_EQ(np_ws_encode_hdr(h, 2, 1, 125, NULL), 2);
    CHECK_EQ(h[0], 0x82);
    CHECK_EQ(h[1], 125);
    CHECK_EQ(np_ws_encode_hdr(h, 2, 1, 126, NULL), 4);
    CHECK_EQ(h[1], 126);
    CHECK_EQ(np_ws_encode_hdr(h, 2, 1, 65535, KEY), 8);
    CHECK_EQ(h[1], 0x80 | 126);
    CHECK_EQ(np_ws_encode_hdr(h, 0, 0, 65536, NULL), 10);
    CHECK_EQ(h[0], 0x00);
    CHECK_EQ(h[1], 127);
    CHECK_EQ(h[7], 1);
    CHECK_EQ(np_ws_encode_hdr(h, 2, 1, 1ULL << 40, KEY), 14);
}

static void test_decode_masked_server_side(void)
{
    uint8_t buf[300];
    uint8_t payload[200];
    for (int i = 0; i < 200; i++)
        payload[i] = (uint8_t)i;
    size_t n = make_frame(buf, 2, 1, payload, 200, KEY);
    np_ws_decoder d;
    np_ws_decoder_init(&d, 1, -1);
    np_msg *m = NULL;
    int ev;
    /* One byte at a time. */
    size_t used = 0;
    while (used < n) {
        ssize_t r = np_ws_decoder_feed(&d, buf + used, 1, &m, &ev);
        REQUIRE(r == 1);
        used++;
        if (used < n)
            CHECK_EQ(ev, NP_WS_EV_NONE);
    }
    CHECK_EQ(ev, NP_WS_EV_MESSAGE);
    REQUIRE(m);
    CHECK_EQ(m->body_len, 200);
    CHECK_MEM(m->body, payload, 200);
    CHECK_EQ(d.msg_opcode_done, NP_WS_OP_BINARY);
    np_msg_free(m);
    /* The same frame unmasked is a violation on the server side ... */
    n = make_frame(buf, 2, 1, payload, 10, NULL);
    CHECK_EQ(np_ws_decoder_feed(&d, buf, n, &m, &ev), -EPROTO);
    np_ws_decoder_fini(&d);
    /* ... and a masked one on the client side. */
    np_ws_decoder_init(&d, 0, -1);
    n = make_frame(buf, 2, 1, payload, 10, KEY);
    CHECK_EQ(np_ws_decoder_feed(&d, buf, n, &m, &ev), -EPROTO);
    np_ws_decoder_fini(&d);
}

static void test_fragments_with_ping_between(void)
{
    uint8_t buf[1024];
    size_t n = 0;
    n += make_frame(buf + n, 2, 0, "hello ", 6, NULL);
    n += make_frame(buf + n, 9, 1, "pp", 2, NULL);
    n += make_frame(buf + n, 0, 0, "", 0, NULL);
    n += make_frame(buf + n, 0, 1, "world", 5, NULL);
    np_ws_decoder d;
    np_ws_decoder_init(&d, 0, 11);
    np_msg *m = NULL;
    int ev;
    ssize_t r = np_ws_decoder_feed(&d, buf, n, &m, &ev);
    REQUIRE(r > 0);
    CHECK_EQ(ev, NP_WS_EV_PING);
    CHECK_EQ(d.ctl_len, 2);
    CHECK_MEM(d.ctl, "pp", 2);
    ssize_t r2 = np_ws_decoder_feed(&d, buf + r, n - (size_t)r, &m, &ev);
    CHECK_EQ((size_t)(r + r2), n);
    CHECK_EQ(ev, NP_WS_EV_MESSAGE);
    REQUIRE(m);
    CHECK_EQ(m->body_len, 11);
    CHECK_MEM(m->body, "hello world", 11);
    np_msg_free(m);
    np_ws_decoder_fini(&d);
}

static void test_limits_before_alloc(void)
{
    uint8_t h[NP_WS_MAX_HDR];
    np_ws_decoder d;
    np_msg *m = NULL;
    int ev;
    np_ws_decoder_init(&d, 0, 1000);
    alloc_calls = 0;
    size_t hl = np_ws_encode_hdr(h, 2, 1, 1001, NULL);
    CHECK_EQ(np_ws_decoder_feed(&d, h, hl, &m, &ev), -EMSGSIZE);
    CHECK_EQ(alloc_calls, 0);
    np_ws_decoder_fini(&d);
    /* Fragments: the running total counts. */
    uint8_t buf[2000];
    uint8_t zero[600] = {0};
    size_t n = make_frame(buf, 2, 0, zero, 600, NULL);
    n += make_frame(buf + n, 0, 1, zero, 401, NULL);
    np_ws_decoder_init(&d, 0, 1000);
    ssize_t r = np_ws_decoder_feed(&d, buf, n, &m, &ev);
    CHECK_EQ(r, -EMSGSIZE);
    np_ws_decoder_fini(&d);
    /* 2^63 and more is invalid; 2^62 unlimited is an allocation failure, not a crash. */
    uint8_t huge[10] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
    np_ws_decoder_init(&d, 0, -1);
    CHECK_EQ(np_ws_decoder_feed(&d, huge, 10, &m, &ev), -EPROTO);
    np_ws_decoder_fini(&d);
    huge[2] = 0x40;
    np_ws_decoder_init(&d, 0, -1);
    CHECK_EQ(np_ws_decoder_feed(&d, huge, 10, &m, &ev), -ENOMEM);
    np_ws_decoder_fini(&d);
}

static void test_protocol_violations(void)
{
    struct {
        uint8_t bytes[4];
    } cases[] = {
        {{0xC2, 0x00}},  /* RSV1 set */
        {{0x83, 0x00}},  /* reserved opcode 3 */
        {{0x80, 0x00}},  /* continuation with no message */
        {{0x09, 0x00}},  /* fragmented ping */
        {{0x89, 126}},   /* ping longer than 125 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        np_ws_decoder d;
        np_ws_decoder_init(&d, 0, -1);
        np_msg *m = NULL;
        int ev;
        CHECK_EQ(np_ws_decoder_feed(&d, cases[i].bytes, 4, &m, &ev), -EPROTO);
        np_ws_decoder_fini(&d);
    }
    /* A new data message inside a fragmented one. */
    uint8_t buf[32];
    size_t n = make_frame(buf, 2, 0, "a", 1, NULL);
    n += make_frame(buf + n, 2, 1, "b", 1, NULL);
    np_ws_decoder d;
    np_ws_decoder_init(&d, 0, -1);
    np_msg *m = NULL;
    int ev;
    CHECK_EQ(np_ws_decoder_feed(&d, buf, n, &m, &ev), -EPROTO);
    np_ws_decoder_fini(&d);  /* frees the partial message (ASan checks) */
}

static void test_text_and_utf8(void)
{
    uint8_t buf[64];
    np_ws_decoder d;
    np_msg *m = NULL;
    int ev;
    size_t n = make_frame(buf, 1, 1, "h\xc3\xa9", 3, KEY);
    np_ws_decoder_init(&d, 1, -1);
    CHECK_EQ(np_ws_decoder_feed(&d, buf, n, &m, &ev), (ssize_t)n);
    CHECK_EQ(ev, NP_WS_EV_MESSAGE);
    CHECK_EQ(d.msg_opcode_done, NP_WS_OP_TEXT);
    np_msg_free(m);
    n = make_frame(buf, 1, 1, "\xc0\xaf", 2, KEY);  /* overlong '/' */
    CHECK_EQ(np_ws_decoder_feed(&d, buf, n, &m, &ev), -EILSEQ);
    np_ws_decoder_fini(&d);
    CHECK(np_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
    CHECK(!np_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));   /* surrogate */
    CHECK(!np_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    CHECK(!np_utf8_valid((const uint8_t *)"\xe2\x82", 2));        /* truncated */
}

static void test_close_frame(void)
{
    uint8_t buf[NP_WS_MAX_HDR + 2];
    size_t n = np_ws_encode_close(buf, NP_WS_CLOSE_TOO_BIG, KEY);
    np_ws_decoder d;
    np_ws_decoder_init(&d, 1, -1);
    np_msg *m = NULL;
    int ev;
    CHECK_EQ(np_ws_decoder_feed(&d, buf, n, &m, &ev), (ssize_t)n);
    CHECK_EQ(ev, NP_WS_EV_CLOSE);
    CHECK_EQ(d.ctl_len, 2);
    CHECK_EQ(d.ctl[0] << 8 | d.ctl[1], 1009);
    np_ws_decoder_fini(&d);
}

static void test_direct_read_unmasks(void)
{
    uint8_t payload[100000];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    uint8_t *frame = malloc(sizeof(payload) + NP_WS_MAX_HDR);
    size_t n = make_frame(frame, 2, 1, payload, sizeof(payload), KEY);
    np_ws_decoder d;
    np_ws_decoder_init(&d, 1, -1);
    np_msg *m = NULL;
    int ev;
    /* Header plus 3 payload bytes through feed, then the rest in odd-sized direct reads. */
    ssize_t r = np_ws_decoder_feed(&d, frame, 14 + 3, &m, &ev);
    CHECK_EQ(r, 17);
    size_t off = 17;
    while (off < n) {
        uint8_t *dst;
        size_t room = np_ws_decoder_direct(&d, &dst);
        REQUIRE(room == n - off);
        size_t k = room < 4097 ? room : 4097;
        memcpy(dst, frame + off, k);
        off += k;
        REQUIRE(np_ws_decoder_advance(&d, k, &m, &ev) == 0);
    }
    CHECK_EQ(ev, NP_WS_EV_MESSAGE);
    REQUIRE(m);
    CHECK_EQ(m->body_len, sizeof(payload));
    CHECK_MEM(m->body, payload, sizeof(payload));
    np_msg_free(m);
    np_ws_decoder_fini(&d);
    free(frame);
}

/* ---- addresses (net_url.c) ----------------------------------------------------------- */

static void test_hostport_forms(void)
{
    np_hostport hp;
    CHECK_EQ(np_hostport_parse("localhost:5555/a/b?x=1", 0, 80, 1, &hp), 0);
    CHECK(strcmp(hp.host, "localhost") == 0);
    CHECK_EQ(hp.port, 5555);
    CHECK(strcmp(hp.path, "/a/b?x=1") == 0);
    CHECK_EQ(np_hostport_parse("example.org", 0, 443, 1, &hp), 0);  /* default port */
    CHECK_EQ(hp.port, 443);
    CHECK(strcmp(hp.path, "/") == 0);
    CHECK_EQ(np_hostport_parse("[::1]:80/x", 0, 80, 1, &hp), 0);
    CHECK(strcmp(hp.host, "::1") == 0);
    CHECK_EQ(np_hostport_parse("*:0", 1, 0, 0, &hp), 0);   /* wildcard, kernel's port */
    CHECK(hp.host[0] == 0);
    CHECK_EQ(hp.port, 0);
    CHECK_EQ(np_hostport_parse(":7000", 1, 0, 0, &hp), 0);
    char out[64];
    hp.host[0] = 0;
    strcpy(hp.host, "::1");
    np_hostport_format(&hp, 9, out, sizeof(out));
    CHECK(strcmp(out, "[::1]:9") == 0);
}

static void test_path_keys(void)
{
    static const char *same[][2] = {
        {"", "/"}, {"/", "//"}, {"/jobs", "/jobs/"}, {"/jobs", "/jobs?x=1"},
        {"/jobs", "/jobs#frag"}, {"/jobs", "/%6aobs"}, {"/a/b", "/a%2Fb"}, {"/", "/?q"},
    };
    char a[64], b[64];
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        np_ws_path_key(same[i][0], a, sizeof(a));
        np_ws_path_key(same[i][1], b, sizeof(b));
        CHECK(strcmp(a, b) == 0);
    }
    CHECK_EQ(np_ws_path_key("/", a, sizeof(a)), 0);
    CHECK_EQ(np_ws_path_key("/a/b/", a, sizeof(a)), 4);
    CHECK(strcmp(a, "/a/b") == 0);
    /* %00 stays as written (no NUL inside a key); bad escapes stay too. */
    np_ws_path_key("/x%00y%zz%4", a, sizeof(a));
    CHECK(strcmp(a, "/x%00y%zz%4") == 0);
    np_ws_path_key("/jobs", a, sizeof(a));
    np_ws_path_key("/jobs2", b, sizeof(b));
    CHECK(strcmp(a, b) != 0);
    /* Truncated to the buffer, always terminated. */
    CHECK_EQ(np_ws_path_key("/abcdef", a, 4), 3);
    CHECK(strcmp(a, "/ab") == 0);
    CHECK_EQ(np_ws_path_key("/abc", a, 1), 0);
    CHECK(a[0] == 0);
}

static void test_hostport_errors(void)
{
    np_hostport hp;
    const char *connect_bad[] = {":80", "h:0", "h:65536", "h:", "h:8x", "[::1", "[::1]x",
                                 "a b:1", "h"};
    for (size_t i = 0; i < sizeof(connect_bad) / sizeof(connect_bad[0]); i++)
        CHECK_EQ(np_hostport_parse(connect_bad[i], 0, 0, 0, &hp), -EINVAL);
    CHECK_EQ(np_hostport_parse("h:1/path", 0, 0, 0, &hp), -EINVAL);  /* no path allowed */
    CHECK_EQ(np_hostport_parse("h/path", 1, 80, 1, &hp), -EINVAL);   /* bind needs a port */
}

int main(void)
{
    TT_RUN(test_sha1_vectors);
    TT_RUN(test_base64);
    TT_RUN(test_accept_rfc_example);
    TT_RUN(test_proto_names);
    TT_RUN(test_request_round_trip);
    TT_RUN(test_request_variants);
    TT_RUN(test_request_size_limit);
    TT_RUN(test_response_round_trip);
    TT_RUN(test_hdr_lengths);
    TT_RUN(test_decode_masked_server_side);
    TT_RUN(test_fragments_with_ping_between);
    TT_RUN(test_limits_before_alloc);
    TT_RUN(test_protocol_violations);
    TT_RUN(test_text_and_utf8);
    TT_RUN(test_close_frame);
    TT_RUN(test_direct_read_unmasks);
    TT_RUN(test_hostport_forms);
    TT_RUN(test_hostport_errors);
    TT_RUN(test_path_keys);
    return tt_summary();
}
