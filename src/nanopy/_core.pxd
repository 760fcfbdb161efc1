# Declarations of the C core (csrc/core.h) for Cython code that cimports it.
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
    int NP_EFSM
    int NP_ETERM

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


cdef class Message:
    cdef np_msg *_msg
    cdef Py_ssize_t _shape[1]
    cdef Py_ssize_t _strides[1]
    cdef int _views
