/*
 * replier.h - the answering side shared by REP and RESPONDENT: take a request with its
 * backtrace, keep the backtrace (per socket, or per context), and route the one answer back
 * along it. The two protocols differ only in their ids; each has its own file and table.
 */
#ifndef NP_REPLIER_H
#define NP_REPLIER_H

#include "protocols/route.h"

/* The backtrace of the request being answered, per socket or per context. */
typedef struct np_replier {
    np_msg *held;  /* header-only message */
} np_replier;

void np_replier_fini(np_sock *s);
int np_replier_recv(np_sock *s, np_msg **out);
int np_replier_send(np_sock *s, np_msg *m);
int np_replier_can_send(np_sock *s);
int np_replier_ctx_init(np_sock *s, np_ctx *c);
void np_replier_ctx_fini(np_sock *s, np_ctx *c);
int np_replier_ctx_send(np_sock *s, np_ctx *c, np_msg *m);
int np_replier_ctx_recv(np_sock *s, np_ctx *c, np_msg **out);
int np_replier_ctx_can_recv(np_sock *s, np_ctx *c);
/* Raw variants: the caller sees and supplies the backtrace header. */
int np_replier_raw_recv(np_sock *s, np_msg **out);
int np_replier_raw_send(np_sock *s, np_msg *m);

/* A cooked (is_raw 0) or raw table for protocol `proto` answering `peer_proto`. */
#define NP_REPLIER_OPS(proto, peer_proto)                                                  \
    {                                                                                      \
        .protocol = proto, .peer = peer_proto, .raw = 0, .dirs = NP_CAN_SEND | NP_CAN_RECV, \
        .state_size = sizeof(np_replier), .fini = np_replier_fini,                         \
        .pipe_add = np_proto_pipe_accept, .pipe_rm = np_proto_pipe_forget,                 \
        .send = np_replier_send, .recv = np_replier_recv, .can_send = np_replier_can_send, \
        .can_recv = np_fq_readable, .ctx_size = sizeof(np_replier),                        \
        .ctx_init = np_replier_ctx_init, .ctx_fini = np_replier_ctx_fini,                  \
        .ctx_send = np_replier_ctx_send, .ctx_recv = np_replier_ctx_recv,                  \
        .ctx_can_recv = np_replier_ctx_can_recv,                                           \
    }
#define NP_REPLIER_RAW_OPS(proto, peer_proto)                                              \
    {                                                                                      \
        .protocol = proto, .peer = peer_proto, .raw = 1, .dirs = NP_CAN_SEND | NP_CAN_RECV, \
        .pipe_add = np_proto_pipe_accept, .pipe_rm = np_proto_pipe_forget,                 \
        .send = np_replier_raw_send, .recv = np_replier_raw_recv,                          \
        .can_send = np_proto_always, .can_recv = np_fq_readable,                           \
    }

#endif
