# Declarations of the C core (csrc/core.h) and of the extension types, for Cython code that
# cimports them.
from libc.stdint cimport int64_t, uint8_t, uint64_t


cdef extern from "core.h" nogil:
    ctypedef struct np_msg:
        pass

    ctypedef struct np_iov:
        const void *base
        size_t len

    int NP_DEADLINE_UNSET_VALUE "NP_DEADLINE_UNSET"
    int NP_DONTWAIT
    int NP_SEND_GIL_HELD
    int NP_SEND_KIND_MASK
    int NP_SEND_KIND(int kind)
    int NP_HAUSNUMERO
    int NP_EFSM
    int NP_ETERM
    int NP_AF_SP
    int NP_AF_SP_RAW
    int NP_PAIR
    int NP_PUB
    int NP_SUB
    int NP_REQ
    int NP_REP
    int NP_PUSH
    int NP_PULL
    int NP_SURVEYOR
    int NP_RESPONDENT
    int NP_BUS
    int NP_SOL_SOCKET
    int NP_INPROC
    int NP_IPC
    int NP_TCP
    int NP_WS
    int NP_WS_MSG_TYPE
    int NP_WS_MSG_TYPE_TEXT
    int NP_WS_MSG_TYPE_BINARY
    int NP_LINGER
    int NP_SNDBUF
    int NP_RCVBUF
    int NP_SNDTIMEO
    int NP_RCVTIMEO
    int NP_RECONNECT_IVL
    int NP_RECONNECT_IVL_MAX
    int NP_SNDPRIO
    int NP_RCVPRIO
    int NP_SNDFD
    int NP_RCVFD
    int NP_DOMAIN
    int NP_PROTOCOL
    int NP_IPV4ONLY
    int NP_SOCKET_NAME
    int NP_RCVMAXSIZE
    int NP_MAXTTL
    int NP_SUB_SUBSCRIBE
    int NP_SUB_UNSUBSCRIBE
    int NP_TLS_LEVEL
    int NP_TLS_CONFIG
    int NP_REQ_RESEND_IVL
    int NP_SURVEYOR_DEADLINE
    int NP_TCP_NODELAY
    int NP_POLLIN
    int NP_POLLOUT
    int NP_SOCKADDR_MAX
    int NP_STAT_ESTABLISHED_CONNECTIONS
    int NP_STAT_ACCEPTED_CONNECTIONS
    int NP_STAT_DROPPED_CONNECTIONS
    int NP_STAT_BROKEN_CONNECTIONS
    int NP_STAT_CONNECT_ERRORS
    int NP_STAT_BIND_ERRORS
    int NP_STAT_ACCEPT_ERRORS
    int NP_STAT_CURRENT_CONNECTIONS
    int NP_STAT_INPROGRESS_CONNECTIONS
    int NP_STAT_CURRENT_EP_ERRORS
    int NP_STAT_MESSAGES_SENT
    int NP_STAT_MESSAGES_RECEIVED
    int NP_STAT_BYTES_SENT
    int NP_STAT_BYTES_RECEIVED
    int NP_STAT_CURRENT_SND_PRIORITY

    int np_socket(int domain, int protocol)
    int np_close(int s)
    int np_setsockopt(int s, int level, int option, const void *val, size_t len)
    int np_getsockopt(int s, int level, int option, void *val, size_t *len)
    int np_bind(int s, const char *addr)
    int np_connect(int s, const char *addr)
    int np_shutdown(int s, int eid)
    int np_send(int s, const np_iov *iov, int n, const void *hdr, size_t hdr_len, int has_hdr,
                int flags, int64_t *deadline)
    int np_recv(int s, np_msg **out, int flags, int64_t *deadline)
    int np_send_batch(int s, const np_iov *msgs, int n, int flags, int64_t *deadline, int *sent)
    int np_recv_batch(int s, np_msg **out, int max, int flags, int64_t *deadline)
    int np_poll(const int *socks, const short *events, short *revents, int n, int timeout_ms)
    const uint8_t *np_msg_body(const np_msg *m)
    size_t np_msg_body_len(const np_msg *m)
    const uint8_t *np_msg_hdr(const np_msg *m)
    size_t np_msg_hdr_len(const np_msg *m)
    void np_msg_free(np_msg *m)
    uint8_t np_msg_kind(const np_msg *m)
    void np_msg_set_kind(np_msg *m, uint8_t kind)
    int np_ctx_open(int s)
    int np_ctx_close(int s, int ctx)
    int np_ctx_send(int s, int ctx, const np_iov *iov, int n, int flags, int64_t *deadline)
    int np_ctx_recv(int s, int ctx, np_msg **out, int flags, int64_t *deadline)
    int np_ctx_recv_fd(int s, int ctx)
    ctypedef void (*np_release_fn)(void *owner)
    np_msg *np_msg_wrap(const void *data, size_t len, np_release_fn release, void *owner)
    void *np_msg_external_owner(const np_msg *m, np_release_fn release, size_t owner_len)
    int np_send_owned(int s, np_msg *m, int flags, int64_t *deadline)
    void np_defer_release(void *owner)
    size_t np_deferred_count()
    size_t np_deferred_take(void **out, size_t max)
    int np_device(int s1, int s2)
    void np_term()
    int np_is_terminated()
    int np_get_statistic(int s, int stat, uint64_t *value)
    const char *np_poller_backend()
    const char *np_wakeup_backend()


cdef class Message:
    cdef np_msg *_msg
    cdef Py_ssize_t _shape[1]
    cdef Py_ssize_t _strides[1]
    cdef int _views


cdef class Socket:
    cdef readonly int _s
    cdef bint _closed
    cdef unsigned int _generation
