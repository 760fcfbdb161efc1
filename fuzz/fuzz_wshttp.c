/*
 * fuzz_wshttp.c - libFuzzer target: the WebSocket upgrade parsers (transports/ws_http.c).
 *
 * The bytes are offered to both parsers (request: server side; response: client side) for a
 * fuzzer-chosen socket type. Properties checked:
 *   - a parser never reads past what it was given (ASan) and never claims more than that;
 *   - feeding the same head in growing prefixes gives "need more" (0) until one definite
 *     answer, and every longer prefix gives the same answer (no state hidden in the cut);
 *   - the size limit holds: no complete head is ever longer than NP_WS_HEAD_MAX;
 *   - an accepted request's key, path and protocol are well formed, and the response built
 *     for it parses back as accepted by a client of the matching type.
 *
 * Input layout: [0] socket type index, [1] which parser first, [2..] the bytes.
 */
#include "transports/ws_http.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int types[] = {16, 32, 33, 48, 49, 80, 81, 98, 99, 112, 0, 17};

static void die(const char *what)
{
    fprintf(stderr, "fuzz_wshttp: %s\n", what);
    abort();
}

static void check_request(const char *buf, size_t n, int me)
{
    np_ws_request r;
    int full = np_ws_parse_request(buf, n, me, &r);
    if (full > (int)n || full > NP_WS_HEAD_MAX)
        die("request parser claims more bytes than it has");
    if (full != 0 && full != -EMSGSIZE && full != -EPROTO && full <= 0)
        die("request parser returned an unexpected error");
    /* Prefixes: undecided until the head is complete. */
    size_t step = n / 7 + 1;
    for (size_t cut = 0; cut < n; cut += step) {
        np_ws_request rp;
        int part = np_ws_parse_request(buf, cut, me, &rp);
        if (part != 0 && part != full)
            die("a prefix gave a different definite answer");
        if (part > 0 && (memcmp(rp.path, r.path, sizeof(r.path)) || strcmp(rp.key, r.key)))
            die("a prefix parsed differently");
    }
    if (full <= 0)
        return;
    if (strlen(r.key) != NP_WS_KEY_LEN || r.path[0] != '/' ||
        strlen(r.path) >= NP_WS_PATH_MAX)
        die("accepted request with a malformed key or path");
    if (r.proto[0]) {
        const char *name = np_ws_proto_name(me);
        if (!name || strncmp(r.proto, name, strlen(name)) != 0)
            die("accepted a subprotocol that is not ours");
        /* The answer we would send must satisfy a client of the peer type. */
        char resp[512];
        int rl = np_ws_build_response(resp, sizeof(resp), r.key, me);
        if (rl <= 0)
            die("could not build the response");
        int peer = np_ws_peer_protocol(me);
        if (np_ws_parse_response(resp, (size_t)rl, r.key, peer) != rl)
            die("our own response does not parse back");
    }
}

static void check_response(const char *buf, size_t n, int me)
{
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    int full = np_ws_parse_response(buf, n, key, me);
    if (full > (int)n || full > NP_WS_HEAD_MAX)
        die("response parser claims more bytes than it has");
    if (full < 0 && full != -EMSGSIZE && full != -EPROTO && full != -ECONNREFUSED)
        die("response parser returned an unexpected error");
    size_t step = n / 5 + 1;
    for (size_t cut = 0; cut < n; cut += step) {
        int part = np_ws_parse_response(buf, cut, key, me);
        if (part != 0 && part != full)
            die("a response prefix gave a different definite answer");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 3 * NP_WS_HEAD_MAX)
        return 0;
    int me = types[data[0] % (sizeof(types) / sizeof(types[0]))];
    /* A private copy of exactly the right size, so ASan sees any over-read. */
    size_t n = size - 2;
    char *buf = malloc(n ? n : 1);
    memcpy(buf, data + 2, n);
    if (data[1] & 1) {
        check_response(buf, n, me);
        check_request(buf, n, me);
    } else {
        check_request(buf, n, me);
        check_response(buf, n, me);
    }
    free(buf);
    return 0;
}
