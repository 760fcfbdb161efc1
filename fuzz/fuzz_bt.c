/*
 * fuzz_bt.c - libFuzzer target: REP/RESPONDENT backtrace parsing (np_bt_recv) and reply
 * routing (np_bt_route), the code that reads protocol headers out of untrusted bodies.
 *
 * There is no pure parsing function to call (np_bt_recv pulls from a socket's pipes), so
 * the harness builds the smallest socket np_bt_recv can work on: one server np_sock with
 * two pipes whose outbound rings are the inbound rings of two client pipes, carried by a
 * harness transport that behaves as inproc does (headers flattened into the body).
 * Nothing here starts the I/O thread. Requests are pushed into the server pipes exactly as
 * a transport would; the results are checked against a reference parse:
 *   - a request is delivered iff a word with bit 31 set ends the stack within NN_MAXTTL
 *     words, and then its header is [local pipe id][those words], its body the rest;
 *   - routing the delivered message back must put the original request bytes, unchanged,
 *     on the pipe it came from (header stripped of the pipe id, flattened for inproc);
 *   - replies with a short header or an unknown pipe id vanish without a trace.
 *
 * Input: [0] NN_MAXTTL (0 = default 8); [1..4] pipe id; then requests, each as
 *   ctl byte (bit0 pipe, bits1-2 reply mangling, bits3-7 high length bits), one length
 *   byte, then up to that many body bytes.
 */
#include "protocols/route.h"
#include "transports/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING 16
#define MAXQ 4096

static np_sock server, client;
static np_pipe sp[2], cp[2];
static np_pipe *server_pipes[2];

typedef struct {
    const uint8_t *req;
    size_t len;
    size_t hdr_words;  /* 0: must be dropped */
    int mangle;
} expect;

static expect fifo[2][MAXQ];
static size_t fifo_head[2], fifo_tail[2];

static void die(const char *what)
{
    fprintf(stderr, "fuzz_bt: %s\n", what);
    abort();
}

/* The harness transport: outbound messages land in the client pipe's ring as inproc puts
 * them there (header flattened into the body, as from the wire); nothing to wake. */
static int harness_pipe_send(np_pipe *p, np_msg *m)
{
    if (!m->hdr_len)
        return NP_PIPE_QUEUE;
    np_msg *flat = np_msg_flat_copy(m);
    if (!flat)
        return -ENOMEM;
    if (np_ring_push(p->outq, flat, np_msg_wire_len(flat)) != 0) {
        np_msg_free(flat);
        return -EAGAIN;
    }
    np_msg_free(m);
    return 0;
}

static void harness_pipe_kick(np_pipe *p) { (void)p; }

static const np_transport harness_transport = {
    .scheme = "fuzz",
    .pipe_send = harness_pipe_send,
    .pipe_kick_write = harness_pipe_kick,
    .pipe_kick_read = harness_pipe_kick,
};

static void setup_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    /* Real protocol tables: pipe code asks them things (e.g. whether sends can block).
     * The client's is a copy with recv_filters off: with it on, every delivery posts a
     * readiness re-check to the I/O thread (np_sock_notify_in), and with no I/O thread
     * here those commands would pile up until the fuzzer runs out of memory. */
    static np_proto_ops client_ops;
    server.ops = np_proto_find(NP_AF_SP, NP_REP);
    const np_proto_ops *req = np_proto_find(NP_AF_SP, NP_REQ);
    if (!server.ops || !req)
        die("protocol tables");
    client_ops = *req;
    client_ops.recv_filters = 0;
    client.ops = &client_ops;
    if (np_efd_init(&server.rcv_efd) || np_efd_init(&server.snd_efd) ||
        np_efd_init(&client.rcv_efd) || np_efd_init(&client.snd_efd))
        die("eventfd");
    for (int i = 0; i < 2; i++) {
        if (np_ring_init(&sp[i].inq, RING) || np_ring_init(&cp[i].inq, RING))
            die("ring");
        sp[i].sock = &server;
        sp[i].tran = &harness_transport;
        sp[i].outq = &cp[i].inq;
        sp[i].out_limit = SIZE_MAX;
        sp[i].in_limit = SIZE_MAX;
        sp[i].sndprio = sp[i].rcvprio = 8;
        cp[i].sock = &client;
        cp[i].tran = &harness_transport;
        cp[i].outq = &sp[i].inq;
        cp[i].out_limit = SIZE_MAX;
        cp[i].sndprio = cp[i].rcvprio = 8;
        server_pipes[i] = &sp[i];
    }
    server.pipes = server_pipes;
    server.npipes = server.cap_pipes = 2;
}

/* How many header words a REP keeps for this request (0 = drop). */
static size_t ref_words(const uint8_t *b, size_t len, int maxttl)
{
    size_t hops = 0;
    for (size_t off = 0; off + 4 <= len; off += 4) {
        hops++;
        if (b[off] & 0x80)
            return hops <= (size_t)maxttl ? hops : 0;
    }
    return 0;
}

static int pipe_index(uint32_t id)
{
    for (int i = 0; i < 2; i++)
        if (sp[i].id == id)
            return i;
    return -1;
}

/* Take every request np_bt_recv will give, checking each and routing its reply. */
static void drain(void)
{
    np_msg *m;
    while (np_bt_recv(&server, &m) == 0) {
        if (m->hdr_len < 8 || m->hdr_len % 4)
            die("delivered header is not [pipe id][>= 1 word]");
        int i = pipe_index(np_get_u32(m->hdr));
        if (i < 0)
            die("header does not start with a known pipe id");
        /* Skip the requests of this pipe that had to be dropped. */
        while (fifo_head[i] < fifo_tail[i] && fifo[i][fifo_head[i]].hdr_words == 0)
            fifo_head[i]++;
        if (fifo_head[i] == fifo_tail[i])
            die("a request was delivered that should have been dropped");
        expect *e = &fifo[i][fifo_head[i]++];
        size_t hb = e->hdr_words * 4;
        if (m->hdr_len != 4 + hb || memcmp(m->hdr + 4, e->req, hb) != 0)
            die("header differs from the reference");
        if (m->body_len != e->len - hb || (m->body_len && memcmp(m->body, e->req + hb,
                                                                  m->body_len) != 0))
            die("body differs from the reference");
        if (np_ring_count(&cp[0].inq) || np_ring_count(&cp[1].inq))
            die("client ring not empty before routing");
        if (e->mangle == 1) {
            uint8_t shortie[3] = {0, 0, 0};
            np_msg_set_hdr(m, shortie, (size_t)(np_get_u32(m->hdr) % 4));
        } else if (e->mangle == 2) {
            np_put_u32(m->hdr, sp[0].id ^ 2);  /* neither pipe's id */
        }
        np_bt_route(&server, m);
        int routed = e->mangle == 0 || e->mangle == 3;
        for (int k = 0; k < 2; k++) {
            np_msg *r = np_ring_peek(&cp[k].inq);
            if (!r)
                continue;
            np_ring_pop(&cp[k].inq, np_msg_wire_len(r));
            if (np_ring_bytes(&cp[k].inq) != 0)
                die("client ring byte count drifted");
            if (!routed || k != i)
                die("reply reached a pipe it was not addressed to");
            if (r->hdr_len || r->body_len != e->len || memcmp(r->body, e->req, e->len))
                die("routed reply is not the original request bytes");
            /* The client side splits the id off again (REQ / SURVEYOR receive). */
            int rc = np_bt_split_id(r);
            if (e->len < 4 ? rc != -EPROTO : (rc != 0 || r->hdr_len != 4))
                die("np_bt_split_id");
            routed = 2;
            np_msg_free(r);
        }
        if (routed == 1)
            die("routable reply was dropped");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    if (size < 5)
        return 0;
    server.maxttl = data[0] ? data[0] : 8;
    uint32_t id = np_get_u32(data + 1) & 0x7fffffffu;
    sp[0].id = id;
    sp[1].id = id ^ 1;
    fifo_head[0] = fifo_head[1] = fifo_tail[0] = fifo_tail[1] = 0;
    size_t pos = 5;
    while (pos + 2 <= size) {
        uint8_t ctl = data[pos];
        size_t len = (size_t)(ctl >> 3) << 8 | data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        int i = ctl & 1;
        if (fifo_tail[i] == MAXQ)
            break;
        np_msg *m = np_msg_alloc(len);
        if (!m)
            die("alloc");
        if (len)
            memcpy(m->body, data + pos, len);
        expect *e = &fifo[i][fifo_tail[i]++];
        e->req = data + pos;
        e->len = len;
        e->hdr_words = ref_words(data + pos, len, server.maxttl);
        e->mangle = (ctl >> 1) & 3;
        pos += len;
        while (np_ring_push(&sp[i].inq, m, len) != 0)
            drain();  /* the pipe is full: let the "socket" read, as the user would */
    }
    drain();
    for (int i = 0; i < 2; i++) {
        while (fifo_head[i] < fifo_tail[i] && fifo[i][fifo_head[i]].hdr_words == 0)
            fifo_head[i]++;
        if (fifo_head[i] != fifo_tail[i])
            die("a well-formed request was never delivered");
        if (np_ring_count(&sp[i].inq) || np_ring_bytes(&sp[i].inq))
            die("server ring not drained");
    }
    return 0;
}
