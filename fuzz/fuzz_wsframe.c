/*
 * fuzz_wsframe.c - libFuzzer target: the RFC 6455 frame decoder (transports/ws_frame.c).
 *
 * Checked differentially: a whole-buffer reference parser written straight from the RFC
 * (below) says which events (messages with their bytes, pings, pongs, closes) and which
 * error the stream must give; the real decoder gets the same stream cut at fuzzer-chosen
 * points, mixing the buffered path (np_ws_decoder_feed) with the zero-copy path
 * (np_ws_decoder_direct/advance), as a transport does.
 *
 * Input layout:
 *   [0]      flags: bit0 = we are the server (frames must be masked); bits 1-2 = limit kind
 *   [1..3]   limit bytes
 *   [4..11]  PRNG seed for the cut points and the path choice
 *   [12..]   the byte stream after the upgrade
 */
#include "transports/ws_frame.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 4096
#define HARNESS_ALLOC_CAP (1u << 20)

static void die(const char *what)
{
    fprintf(stderr, "fuzz_wsframe: %s\n", what);
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

typedef struct {
    int kind;        /* NP_WS_EV_* */
    int opcode;      /* text/binary for messages */
    uint8_t *data;   /* unmasked payload (heap) */
    size_t len;
} ref_event;

/* An independent UTF-8 check: decode code points and re-check their ranges. */
static int ref_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        int k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i - 1 < (size_t)k)
            return 0;
        for (int j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)k + 1;
    }
    return 1;
}

/*
 * Parse the whole stream. Returns the number of events, *err the error the decoder must end
 * with (0 = none), *usable how many bytes the harness may feed (it stops before a frame it
 * will not let the decoder allocate).
 */
static size_t ref_parse(const uint8_t *s, size_t n, int server, int64_t max, ref_event *ev,
                        int *err, size_t *usable)
{
    size_t pos = 0, count = 0;
    int in_msg = 0, msg_op = 0;
    uint8_t *acc = NULL;
    size_t acc_len = 0;
    *err = 0;
    *usable = n;
    while (count < MAX_EVENTS) {
        if (n - pos < 2)
            break;
        uint8_t b0 = s[pos], b1 = s[pos + 1];
        size_t h = 2;
        uint64_t len = b1 & 0x7f;
        if (len == 126)
            h += 2;
        else if (len == 127)
            h += 8;
        int masked = b1 >> 7;
        if (masked)
            h += 4;
        if (n - pos < h)
            break;
        if (len == 126)
            len = (uint64_t)s[pos + 2] << 8 | s[pos + 3];
        else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | s[pos + 2 + i];
        }
        int op = b0 & 0x0f, fin = b0 >> 7;
        int control = op >= 8;
        if ((b0 & 0x70) || masked != server || (len >> 63) ||
            (control && (!fin || (b1 & 0x7f) > 125)) || (op > 2 && op < 8) || op > 10 ||
            (op == 0 && !in_msg) || ((op == 1 || op == 2) && in_msg)) {
            *err = -EPROTO;
            break;
        }
        if (!control) {
            uint64_t total = acc_len + len;
            if (max >= 0 && total > (uint64_t)max) {
                *err = -EMSGSIZE;
                break;
            }
            if (total > HARNESS_ALLOC_CAP) {
                *usable = pos;
                break;
            }
        }
        if (n - pos - h < len)
            break;
        const uint8_t *key = s + pos + h - 4;
        const uint8_t *p = s + pos + h;
        uint8_t *plain = malloc(len ? (size_t)len : 1);
        for (size_t i = 0; i < len; i++)
            plain[i] = masked ? p[i] ^ key[i % 4] : p[i];
        pos += h + (size_t)len;
        if (control) {
            if (op == 8 && len == 1) {
                free(plain);
                *err = -EPROTO;
                break;
            }
            ev[count].kind = op == 8 ? NP_WS_EV_CLOSE : op == 9 ? NP_WS_EV_PING
                                                               : NP_WS_EV_PONG;
            ev[count].data = plain;
            ev[count].len = (size_t)len;
            count++;
            continue;
        }
        if (!in_msg) {
            in_msg = 1;
            msg_op = op;
        }
        acc = realloc(acc, acc_len + (size_t)len + 1);
        memcpy(acc + acc_len, plain, (size_t)len);
        acc_len += (size_t)len;
        free(plain);
        if (fin) {
            if (msg_op == 1 && !ref_utf8(acc, acc_len)) {
                *err = -EILSEQ;
                break;
            }
            ev[count].kind = NP_WS_EV_MESSAGE;
            ev[count].opcode = msg_op;
            ev[count].data = acc;
            ev[count].len = acc_len;
            count++;
            acc = NULL;
            acc_len = 0;
            in_msg = 0;
        }
    }
    free(acc);
    if (count == MAX_EVENTS)
        *usable = pos;
    return count;
}

static ref_event want[MAX_EVENTS];

static void check_event(const np_ws_decoder *d, int kind, np_msg *m, size_t idx, size_t nwant)
{
    if (idx >= nwant)
        die("decoder produced an event the reference did not");
    const ref_event *w = &want[idx];
    if (w->kind != kind)
        die("event kind differs from the reference");
    if (kind == NP_WS_EV_MESSAGE) {
        if (!m || m->body_len != w->len || (w->len && memcmp(m->body, w->data, w->len)))
            die("message differs from the reference");
        if (d->msg_opcode_done != w->opcode)
            die("message opcode differs");
    } else if (m || d->ctl_len != w->len || memcmp(d->ctl, w->data, w->len)) {
        die("control payload differs from the reference");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 12)
        return 0;
    int server = data[0] & 1;
    int64_t max;
    switch ((data[0] >> 1) & 3) {
    case 0: max = HARNESS_ALLOC_CAP; break;
    case 1: max = data[1]; break;
    case 2: max = data[1] | data[2] << 8; break;
    default: max = -1; break;  /* unlimited: the harness cuts before huge frames */
    }
    uint64_t seed = 1;
    for (int i = 4; i < 12; i++)
        seed = seed << 8 | data[i];
    seed |= 1;
    const uint8_t *stream = data + 12;
    size_t n = size - 12;

    int want_err;
    size_t usable;
    size_t nwant = ref_parse(stream, n, server, max, want, &want_err, &usable);
    if (usable < n)
        want_err = 0;
    n = usable;

    np_ws_decoder d;
    np_ws_decoder_init(&d, server, max);
    size_t pos = 0, got = 0;
    int err = 0;
    while (pos < n && !err) {
        size_t chunk = 1 + (size_t)(rng(&seed) % 64);
        if (rng(&seed) % 8 == 0)
            chunk = n - pos;
        if (chunk > n - pos)
            chunk = n - pos;
        size_t used = 0;
        while (used < chunk && !err) {
            np_msg *m = NULL;
            int ev = NP_WS_EV_NONE;
            uint8_t *direct;
            size_t room = np_ws_decoder_direct(&d, &direct);
            if (room && (rng(&seed) & 1)) {
                size_t take = room < chunk - used ? room : chunk - used;
                memcpy(direct, stream + pos + used, take);
                int rc = np_ws_decoder_advance(&d, take, &m, &ev);
                used += take;
                if (rc < 0) {
                    err = rc;
                    break;
                }
            } else {
                ssize_t r = np_ws_decoder_feed(&d, stream + pos + used, chunk - used, &m, &ev);
                if (r < 0) {
                    err = (int)r;
                    if (m)
                        die("a message came back with an error");
                    break;
                }
                if (r == 0)
                    die("feed consumed nothing");
                if ((size_t)r > chunk - used)
                    die("feed consumed more than it was given");
                used += (size_t)r;
            }
            if (ev != NP_WS_EV_NONE) {
                check_event(&d, ev, m, got, nwant);
                got++;
            } else if (m) {
                die("a message without an event");
            }
            if (m)
                np_msg_free(m);
        }
        pos += used;
    }
    if (!err && got != nwant)
        die("decoder produced fewer events than the reference");
    if (err && got != nwant)
        die("decoder failed before the reference's last event");
    if (err != want_err)
        die("decoder error differs from the reference");
    for (size_t i = 0; i < nwant; i++)
        free(want[i].data);
    np_ws_decoder_fini(&d);
    return 0;
}
