/*
 * protocol.h - the contract between the core and a protocol (one ops table per socket type;
 * cooked and raw variants are separate tables, usually made by one macro).
 *
 * Who calls what:
 *  - init/fini: the thread running nn_socket / the last reference of the socket, no lock;
 *  - stop: the I/O thread when the socket closes (cancel timers);
 *  - pipe_add/pipe_rm: the I/O thread, sock->lock held;
 *  - send/recv, can_send/can_recv, setopt/getopt, ctx_*: any caller thread, sock->lock held.
 * Nothing here may block or take another socket's lock; a protocol moves messages with the
 * routing helpers (protocols/route.h) and the pipe functions (core/pipe.h).
 */
#ifndef NP_PROTOCOL_H
#define NP_PROTOCOL_H

#include <stddef.h>

typedef struct np_sock np_sock;
typedef struct np_pipe np_pipe;
typedef struct np_ctx np_ctx;
typedef struct np_msg np_msg;

#define NP_CAN_SEND 1
#define NP_CAN_RECV 2

typedef struct np_proto_ops {
    int protocol;     /* NN_* id sent in the handshake */
    int peer;         /* the only protocol id this one talks to (its valid partner) */
    int raw;          /* 1 for the AF_SP_RAW variant */
    int dirs;         /* NP_CAN_SEND | NP_CAN_RECV */
    int opt_level;    /* protocol option level (its own id), 0 if none */
    /* An arriving message does not by itself make recv possible (cooked REQ and SURVEYOR
     * match ids): arrivals go through can_recv under the lock instead of a bare signal. */
    int recv_filters;
    /* send can block for lack of room in a pipe (PAIR, PUSH, raw REQ): room freed in a pipe
     * may make the socket writable. Other types never block or depend on their state. */
    int send_blocks;
    /* Sends are load-balanced by NN_SNDPRIO (PUSH, REQ): NN_STAT_CURRENT_SND_PRIORITY
     * reports the best writable priority; other types report 0. */
    int lb_priority;
    size_t state_size;
    int (*init)(np_sock *s);
    void (*fini)(np_sock *s);
    /* Called on the I/O thread when the socket closes: cancel timers (may be NULL). */
    void (*stop)(np_sock *s);
    /* A new pipe is attached; return non-zero to refuse it (PAIR keeps one peer). */
    int (*pipe_add)(np_sock *s, np_pipe *p);
    /* The pipe can no longer be sent to (it may still hold unread inbound messages). */
    void (*pipe_rm)(np_sock *s, np_pipe *p);
    /* Non-blocking send: 0 (msg consumed), -EAGAIN (would block, msg kept) or -errno. */
    int (*send)(np_sock *s, np_msg *m);
    /* The pipe every message of a batch would go to now, so a batch may be framed and
     * handed over in one piece (PAIR's peer); NULL: send them one by one. May be NULL. */
    np_pipe *(*batch_pipe)(np_sock *s);
    /* Non-blocking receive: 0 and *m, -EAGAIN or -errno (EFSM, ETIMEDOUT...). */
    int (*recv)(np_sock *s, np_msg **m);
    /* Would send / recv not block now (nanomsg's NN_SNDFD / NN_RCVFD meaning). */
    int (*can_send)(np_sock *s);
    int (*can_recv)(np_sock *s);
    int (*setopt)(np_sock *s, int opt, const void *val, size_t len);
    int (*getopt)(np_sock *s, int opt, void *val, size_t *len);
    /* Contexts (NULL ctx_init: not supported). ctx_own_efd: each context has its own
     * readiness (REQ replies); otherwise all contexts wait on the socket's NN_RCVFD. */
    size_t ctx_size;
    int ctx_own_efd;
    int (*ctx_init)(np_sock *s, np_ctx *c);
    void (*ctx_fini)(np_sock *s, np_ctx *c);
    int (*ctx_send)(np_sock *s, np_ctx *c, np_msg *m);
    int (*ctx_recv)(np_sock *s, np_ctx *c, np_msg **m);
    int (*ctx_can_recv)(np_sock *s, np_ctx *c);
} np_proto_ops;

/* The table of a socket type (protocols/registry.c), or NULL for an unknown one. */
const np_proto_ops *np_proto_find(int domain, int protocol);

#endif
