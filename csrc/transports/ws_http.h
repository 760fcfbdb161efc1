/*
 * ws_http.h - the HTTP/1.1 upgrade that opens an SP-over-WebSocket connection (RFC 6455
 * section 4), as pure functions so the parsers can be fuzzed and unit-tested alone.
 *
 * The client asks for the *server's* socket type in Sec-WebSocket-Protocol (a REQ client
 * sends "rep.sp.nanomsg.org"); the server accepts only its own type and echoes the header.
 * No 8-byte SP handshake follows: the subprotocol header is the protocol check.
 */
#ifndef NP_WS_HTTP_H
#define NP_WS_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Upper bound of an upgrade request or response head (nanomsg uses the same figure). */
#define NP_WS_HEAD_MAX 4096
/* Sec-WebSocket-Key is 16 random bytes in base64 (24 chars); the accept value is 28. */
#define NP_WS_KEY_LEN 24
#define NP_WS_ACCEPT_LEN 28
#define NP_WS_PATH_MAX 256
#define NP_WS_PROTO_MAX 64

void np_sha1(const void *data, size_t len, uint8_t out[20]);
/* Standard base64 with padding; out needs 4 * ceil(len / 3) + 1 bytes. Returns the length. */
size_t np_base64_encode(const uint8_t *in, size_t len, char *out);

/* The key a client sends, from 16 random bytes (NUL-terminated, NP_WS_KEY_LEN chars). */
void np_ws_make_key(const uint8_t nonce[16], char out[NP_WS_KEY_LEN + 1]);
/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + the RFC 6455 GUID)), NUL-terminated. */
void np_ws_accept_for(const char *key, size_t key_len, char out[NP_WS_ACCEPT_LEN + 1]);

/* "pair", "pub", "sub", "req", "rep", "push", "pull", "surveyor", "respondent", "bus";
 * NULL for an unknown protocol id. */
const char *np_ws_proto_name(int protocol);
/* The protocol id whose peer is `protocol` (what a client of type `protocol` asks for). */
int np_ws_peer_protocol(int protocol);

/*
 * Build the client's request into buf (cap bytes). host is the Host header value (with
 * ":port" when not the default), path starts with '/'. Returns the length or -ENAMETOOLONG
 * when it does not fit.
 */
int np_ws_build_request(char *buf, size_t cap, const char *host, const char *path,
                        const char *key, int my_protocol);

typedef struct np_ws_request {
    char path[NP_WS_PATH_MAX];      /* request target up to '?', NUL-terminated */
    char key[NP_WS_KEY_LEN + 1];
    char proto[NP_WS_PROTO_MAX];    /* the one "<name>.sp.nanomsg.org" token we serve, or "" */
    int version_ok, upgrade_ok, connection_ok;
} np_ws_request;

/*
 * Parse a request head from the bytes received so far. Returns the head's length (bytes
 * up to and including the blank line) once it is complete and valid; 0 when more bytes are
 * needed; -EMSGSIZE when NP_WS_HEAD_MAX bytes hold no complete head; -EPROTO when it is not
 * an acceptable WebSocket upgrade (not GET, HTTP/1.0, missing or bad key, version, Upgrade or
 * Connection token, over-long path). A request that names no SP protocol parses fine with
 * proto = "": the caller answers it with an error status.
 *
 * my_protocol picks the subprotocol token to look for in a comma-separated list.
 */
int np_ws_parse_request(const char *buf, size_t len, int my_protocol, np_ws_request *out);

/* The 101 answer for an accepted request. Returns the length or -ENAMETOOLONG. */
int np_ws_build_response(char *buf, size_t cap, const char *key, int my_protocol);
/* A refusal with this status (400, 404, 426...) and no body. Returns the length. */
int np_ws_build_refusal(char *buf, size_t cap, int status);

/*
 * Parse the server's answer for the request made with `key`. Returns the head's length when
 * it is a valid 101 with the right accept value and the subprotocol of the server we asked
 * for (a missing subprotocol header is accepted, as NNG does); 0 when more bytes are needed;
 * -EMSGSIZE over NP_WS_HEAD_MAX; -ECONNREFUSED for any other status; -EPROTO otherwise.
 */
int np_ws_parse_response(const char *buf, size_t len, const char *key, int my_protocol);

#endif
