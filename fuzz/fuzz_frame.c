/*
 * fuzz_frame.c - libFuzzer target: SP handshake + the incremental frame decoder
 * (csrc/transports/frame.c).
 *
 * The decoder is the first code that touches bytes from the network, so it is checked
 * differentially: a straightforward whole-buffer reference parser (below) says which
 * messages and which error the stream must produce, and the real decoder is fed the same
 * stream cut at fuzzer-chosen points, mixing the buffered path (np_decoder_feed) with the
 * zero-copy path (np_decoder_direct/advance) the way the stream engine does.
 *
 * Input layout:
 *   [0]      flags: bit0 = IPC framing; bits 1-2 = how the limit is chosen
 *   [1..3]   limit bytes (meaning depends on the flags)
 *   [4..11]  a peer handshake (decoded and re-encoded; which peers a socket accepts is
 *            protocol-table data, checked by csrc/tests/test_registry.c)
 *   [12..19] PRNG seed for the cut points and the feed/direct choice
 *   [20..]   the byte stream after the handshake
 */
#include "core.h"
#include "transports/frame.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* With no limit a frame may announce gigabytes, which the decoder would (rightly, as
 * nanomsg does) try to allocate; the harness stops the stream before such a frame instead
 * of letting libFuzzer report an out-of-memory that is the documented behaviour. */
#define HARNESS_ALLOC_CAP (1u << 20)

#define MAX_MSGS 4096

static void die(const char *what)
{
    fprintf(stderr, "fuzz_frame: %s\n", what);
    abort();
}

static uint64_t rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x ? x : 0x9E3779B97F4A7C15ULL;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void check_handshake(const uint8_t hs[8])
{
    int got = np_handshake_decode(hs);
    int magic_ok = hs[0] == 0 && hs[1] == 'S' && hs[2] == 'P' && hs[3] == 0;
    int want = magic_ok ? (hs[4] << 8 | hs[5]) : -EPROTO;
    if (got != want)
        die("np_handshake_decode disagrees with the reference");
    if (got >= 0) {
        uint8_t back[8];
        np_handshake_encode(back, got);
        if (memcmp(back, hs, 6) != 0 || back[6] || back[7])
            die("np_handshake_encode does not round-trip");
    }
}

typedef struct {
    size_t off, len;  /* payload position in the stream */
} ref_msg;

/*
 * Parse the whole stream at once. Returns the number of complete messages in out[], sets
 * *err to the error the decoder must report (0 if none) and *usable to how many stream
 * bytes the harness may feed (it cuts before a frame it refuses to let the decoder allocate).
 */
static size_t ref_parse(const uint8_t *s, size_t n, int ipc, int64_t max, ref_msg *out,
                        int *err, size_t *usable)
{
    size_t pos = 0, count = 0, h = ipc ? 9 : 8;
    *err = 0;
    *usable = n;
    while (count < MAX_MSGS) {
        if (n - pos < h)
            return count;
        if (ipc && s[pos] != 0x01) {
            *err = -EPROTO;
            return count;
        }
        uint64_t len = be64(s + pos + (ipc ? 1 : 0));
        if (max >= 0 && len > (uint64_t)max) {
            *err = -EMSGSIZE;
            return count;
        }
        if (len >= (1ULL << 63)) {
            *err = -ENOMEM;
            return count;
        }
        if (len > HARNESS_ALLOC_CAP) {
            *usable = pos;
            return count;
        }
        if (n - pos - h < len)
            return count;
        out[count].off = pos + h;
        out[count].len = (size_t)len;
        count++;
        pos += h + (size_t)len;
    }
    *usable = pos;
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 20)
        return 0;
    int ipc = data[0] & 1;
    int64_t max;
    switch ((data[0] >> 1) & 3) {
    case 0: max = -1; break;
    case 1: max = data[1]; break;
    case 2: max = data[1] | data[2] << 8; break;
    default: max = (data[1] | data[2] << 8 | (data[3] & 0x0f) << 16); break;  /* <= 1 MiB */
    }
    check_handshake(data + 4);
    uint64_t seed = be64(data + 12) | 1;
    const uint8_t *stream = data + 20;
    size_t n = size - 20;

    static ref_msg want[MAX_MSGS];
    int want_err;
    size_t usable;
    size_t nwant = ref_parse(stream, n, ipc, max, want, &want_err, &usable);
    n = usable;
    if (n < size - 20)
        want_err = 0;  /* cut before a frame: the error (if any) lies beyond */

    np_decoder d;
    np_decoder_init(&d, ipc, max);
    size_t pos = 0, got = 0;
    int err = 0;
    while (pos < n && !err) {
        size_t chunk = 1 + (size_t)(rng(&seed) % 64);
        if (rng(&seed) % 8 == 0)
            chunk = n - pos;  /* sometimes everything at once */
        if (chunk > n - pos)
            chunk = n - pos;
        size_t used = 0;
        while (used < chunk) {
            np_msg *m = NULL;
            uint8_t *direct;
            size_t space = np_decoder_direct(&d, &direct);
            if (space && (rng(&seed) & 1)) {
                /* The zero-copy path: read straight into the message body. */
                size_t take = space < chunk - used ? space : chunk - used;
                memcpy(direct, stream + pos + used, take);
                np_decoder_advance(&d, take, &m);
                used += take;
            } else {
                ssize_t r = np_decoder_feed(&d, stream + pos + used, chunk - used, &m);
                if (r < 0) {
                    err = (int)r;
                    if (m)
                        die("a message was returned together with an error");
                    if (d.cur)
                        die("an error left a half-made message (allocated before checking)");
                    break;
                }
                if (r == 0)
                    die("feed consumed nothing from a non-empty buffer");
                if ((size_t)r > chunk - used)
                    die("feed consumed more than it was given");
                used += (size_t)r;
            }
            if (m) {
                if (got >= nwant)
                    die("decoder produced a message the reference did not");
                if (m->body_len != want[got].len ||
                    (m->body_len && memcmp(m->body, stream + want[got].off, m->body_len)))
                    die("message differs from the reference");
                if (m->hdr_len != 0)
                    die("decoded message has a header");
                np_msg_free(m);
                got++;
            }
        }
        pos += used;
    }
    if (got != nwant)
        die("decoder produced fewer messages than the reference");
    if (err != want_err)
        die("decoder error differs from the reference");
    np_decoder_fini(&d);
    return 0;
}
