/*
 * route.h - the routing mechanisms protocols are built from (nanomsg's utils):
 *   fq   fair queueing in: strict NN_RCVPRIO priority, round robin within a priority;
 *   lb   load balancing out: strict NN_SNDPRIO priority, round robin among writable pipes;
 *   dist fan-out: a shared copy to every writable pipe, never blocks, drops for busy ones;
 *   backtrace: REQ/REP and SURVEY headers (pipe-id stack ending in an id with bit 31 set).
 * All take sock->lock held.
 */
#ifndef NP_ROUTE_H
#define NP_ROUTE_H

#include "core/pipe.h"

np_msg *np_fq_recv(np_sock *s, np_pipe **from);
int np_fq_readable(np_sock *s);

np_pipe *np_lb_pick(np_sock *s);
int np_lb_send(np_sock *s, np_msg *m);
int np_lb_writable(np_sock *s);

/* Send a copy to every writable pipe except `except` (may be NULL); consumes m. */
void np_dist_send(np_sock *s, np_msg *m, np_pipe *except);


static inline uint32_t np_get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void np_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Ops-table building blocks shared by several protocols. */
int np_proto_pipe_accept(np_sock *s, np_pipe *p);   /* take every pipe */
void np_proto_pipe_forget(np_sock *s, np_pipe *p);  /* nothing kept per pipe */
int np_proto_always(np_sock *s);
int np_proto_never(np_sock *s);
/* Receive through the fair queue (PAIR, PULL, BUS...). */
int np_proto_fq_recv(np_sock *s, np_msg **m);

/* Protocol int options (NN_REQ_RESEND_IVL, NN_SURVEYOR_DEADLINE): exactly an int, >= 0
 * (nanomsg aborts later on a negative value; we refuse it with EINVAL). */
int np_opt_set_nonneg_int(const void *val, size_t len, int *dst);
/* Read one back: the caller's buffer must hold an int (EINVAL otherwise, as nanomsg). */
int np_opt_get_int(int value, void *val, size_t *len);

/*
 * The backtrace at the front of a request body: 32-bit big-endian words, the last one (the
 * request or survey id) with bit 31 set. Returns the number of words (1..maxttl) and sets
 * *hdr_len, or 0 when no final word ends the stack within maxttl words (drop the message).
 * Pure: reads at most 4 * maxttl bytes.
 */
int np_bt_parse(const uint8_t *body, size_t len, int maxttl, size_t *hdr_len);

/*
 * Server side of a backtrace protocol (REP, RESPONDENT): take the next well-formed request,
 * its header = [local pipe id][the wire stack ending in the request id]. Requests without a
 * final id word or deeper than NN_MAXTTL are dropped. 0, or -EAGAIN.
 */
int np_bt_recv(np_sock *s, np_msg **out);
/* Route a reply by the first header word (the local pipe id), which is stripped. Replies
 * that cannot be routed (short header, unknown or busy pipe) are dropped silently. */
void np_bt_route(np_sock *s, np_msg *m);
/* Client side (REQ, SURVEYOR): split the 4-byte id off the front; 0 or -EPROTO (too short). */
int np_bt_split_id(np_msg *m);

#endif
