# cython: language_level=3, auto_pickle=False
"""The compiled backend: the C core rendered for Python, and the fast half of nanopy.Socket.

Two shapes over the same data-path helpers:

* module functions that mirror nanomsg's C API one to one (``nn_send(s, data)``...);
* ``Socket``, a thin extension type holding one C socket id. ``nanopy.Socket`` subclasses it
  to add the Pythonic conveniences, so ``sock.send(data)`` runs straight into the methods
  here with no Python frame in between.

Every failure raises NNError through ``_check``. The GIL is released exactly around calls
that may block; a call that can finish at once is tried first with the GIL held, because
releasing and re-taking it costs more than the call.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport Py_DECREF, Py_INCREF
from libc.errno cimport (
    EAFNOSUPPORT,
    EAGAIN,
    EBADF,
    EINPROGRESS,
    EINTR,
    EINVAL,
    ENAMETOOLONG,
    ENOPROTOOPT,
    ETIMEDOUT,
)
from libc.stdint cimport INT64_MIN, int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

from nanopy import _explain
from nanopy.errors import Again, error_for

# Sends of at most this many bytes are copied with the GIL held (cheaper than releasing it).
DEF SMALL = 65536
DEF BATCH = 256
# bytes objects at least this large are lent to the message instead of copied (they are
# immutable); over inproc the receiver gets the very same object back.
DEF ZERO_COPY_MIN = 65536

cdef int64_t DEADLINE_UNSET = INT64_MIN

# Which call hit an error, so a state error (EFSM) can say what was wrong.
cdef enum Operation:
    OP_OTHER = 0
    OP_SEND = 1
    OP_RECV = 2


# ---- fork ---------------------------------------------------------------------------------

cdef extern from "pthread.h" nogil:
    int pthread_atfork(void (*prepare)() noexcept nogil, void (*parent)() noexcept nogil,
                       void (*child)() noexcept nogil)

# Bumped in every forked child. The core forgets the parent's sockets there, and their ids
# may be handed out again: a Socket object compares its birth generation with this number
# so an inherited one fails with EBADF instead of reaching a new socket that reuses its id.
cdef unsigned int _fork_generation = 0


cdef void _after_fork_in_child() noexcept nogil:
    global _fork_generation
    _fork_generation += 1


pthread_atfork(NULL, NULL, _after_fork_in_child)


# ---- errors -------------------------------------------------------------------------------

cdef int _protocol_of(int s) noexcept:
    """The protocol number of a live socket, or -1."""
    cdef int proto = -1
    cdef size_t size = sizeof(int)
    if s < 0 or np_getsockopt(s, NP_SOL_SOCKET, NP_PROTOCOL, &proto, &size) != 0:
        return -1
    return proto


cdef object _error(int errnum, int s=-1, int op=OP_OTHER):
    """The NNError for ``errnum``; a state error names the call and protocol that failed."""
    detail = None
    if errnum == NP_EFSM and op != OP_OTHER:
        detail = _explain.state_problem("send" if op == OP_SEND else "recv", _protocol_of(s))
    return error_for(errnum, detail)


cdef inline int _check(int rc, int s=-1, int op=OP_OTHER) except -1:
    """Pass a non-negative return code through; raise the NNError of a negative one."""
    if rc < 0:
        raise _error(-rc, s, op)
    return rc


cdef inline int _cint(object value, int errnum) except? -1:
    """A Python int as a C int; out of range or not an int raises NNError(errnum)."""
    try:
        return value
    except (OverflowError, TypeError):
        raise error_for(errnum) from None


cdef object _option_error(int errnum, int s, int level, int option, bint setting, value):
    detail = _explain.option_problem(errnum, level, option, setting, _protocol_of(s), value)
    return error_for(errnum, detail)


cdef object _address_error(int errnum, address, bint bind):
    return error_for(errnum, _explain.address_problem(address, errnum, bind))


# ---- lent buffers ---------------------------------------------------------------------------

cdef void _drain_released():
    """Drop the references of lent bytes objects whose messages are gone (queued by the C
    core, which may not touch Python objects without the GIL)."""
    cdef void *owners[64]
    cdef size_t n
    while np_deferred_count():
        n = np_deferred_take(owners, 64)
        for i in range(n):
            Py_DECREF(<object>owners[i])
        if n < 64:
            break


cdef int _send_lent(int s, bytes data, int flags) except -1:
    """Send a large bytes object without copying it: the message borrows its buffer."""
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef int64_t deadline = DEADLINE_UNSET
    cdef np_msg *m
    cdef int rc
    _drain_released()
    Py_INCREF(data)
    m = np_msg_wrap(PyBytes_AS_STRING(data), <size_t>size, np_defer_release, <void *>data)
    if m is NULL:
        Py_DECREF(data)
        raise MemoryError()
    rc = np_send_owned(s, m, flags | NP_DONTWAIT, &deadline)
    try:
        while rc == -EAGAIN and not (flags & NP_DONTWAIT):
            with nogil:
                rc = np_send_owned(s, m, flags, &deadline)
            if rc == -EINTR:
                PyErr_CheckSignals()
                rc = -EAGAIN
    except BaseException:
        np_msg_free(m)
        raise
    if rc < 0:
        np_msg_free(m)  # gives the bytes object back (through the deferred queue)
        _drain_released()
        _check(rc, s, OP_SEND)
    return <int>(size if size < 0x7fffffff else 0x7fffffff)


cdef object _body_object(np_msg *m):
    """The received body as bytes: the sender's own object when it was lent (inproc),
    else a copy."""
    cdef size_t size = np_msg_body_len(m)
    cdef void *owner = np_msg_external_owner(m, np_defer_release, size)
    if owner is not NULL:
        return <object>owner
    return PyBytes_FromStringAndSize(<const char *>np_msg_body(m), <Py_ssize_t>size)


include "monitor.pxi"
include "control.pxi"


cdef class Message:
    """A message whose body is exposed through the buffer protocol without a copy.

    ``recv_msg()`` returns one; ``bytes(msg)`` copies the body, ``memoryview(msg)`` does
    not. ``header`` is the SP header (non-empty only on raw sockets); ``ws_msg_type`` the
    WebSocket message type it came with. ``Message(data, ws_msg_type=...)`` builds one to
    send: ``send()`` honours its ``ws_msg_type``.

    Parameters
    ----------
    data : bytes-like
        The body (copied unless it is a bytes object).
    ws_msg_type : int or None
        ``NN_WS_MSG_TYPE_TEXT`` or ``NN_WS_MSG_TYPE_BINARY`` to send it as a text or binary
        WebSocket message whatever the socket's ``NN_WS_MSG_TYPE``; None follows the socket.

    Raises
    ------
    NNError
        EINVAL for a ``ws_msg_type`` other than None, 1 or 2.
    """

    def __init__(self, data=b"", *, ws_msg_type=None):
        cdef int kind = _ws_kind(ws_msg_type)
        body = data if type(data) is bytes else bytes(memoryview(data))
        if self._views:
            raise BufferError("Message is exported by a memoryview")
        cdef np_msg *m = np_msg_wrap(PyBytes_AS_STRING(body), <size_t>PyBytes_GET_SIZE(body),
                                     np_defer_release, <void *>body)
        if m is NULL:
            raise MemoryError()
        Py_INCREF(body)  # given back through the deferred queue when the message goes
        np_msg_set_kind(m, <uint8_t>kind)
        if self._msg is not NULL:
            np_msg_free(self._msg)
            _drain_released()
        self._msg = m

    def __dealloc__(self):
        if self._msg is not NULL:
            np_msg_free(self._msg)
            self._msg = NULL
            _drain_released()

    def __len__(self):
        return np_msg_body_len(self._msg) if self._msg is not NULL else 0

    def __bytes__(self):
        if self._msg is NULL:
            return b""
        return PyBytes_FromStringAndSize(<const char *>np_msg_body(self._msg),
                                         <Py_ssize_t>np_msg_body_len(self._msg))

    @property
    def header(self):
        if self._msg is NULL:
            return b""
        return PyBytes_FromStringAndSize(<const char *>np_msg_hdr(self._msg),
                                         <Py_ssize_t>np_msg_hdr_len(self._msg))

    @property
    def bytes(self):
        return self.__bytes__()

    @property
    def pipe(self):
        """Id of the connection the message came through (as monitor events name it)."""
        return np_msg_pipe(self._msg) if self._msg is not NULL else 0

    @property
    def ws_msg_type(self):
        """The WebSocket message type: received over ws or wss, the frame's
        (``NN_WS_MSG_TYPE_TEXT`` 1 or ``NN_WS_MSG_TYPE_BINARY`` 2), else None. Set it (1, 2 or
        None) before sending the message: ws and wss then send it as that type whatever
        the socket's ``NN_WS_MSG_TYPE``; other transports ignore it. A bad value raises
        NNError (EINVAL)."""
        cdef int kind = np_msg_kind(self._msg) if self._msg is not NULL else 0
        return kind if kind else None

    @ws_msg_type.setter
    def ws_msg_type(self, value):
        cdef int kind = _ws_kind(value)
        if self._msg is NULL:
            self.__init__(b"")
        np_msg_set_kind(self._msg, <uint8_t>kind)

    def __getbuffer__(self, Py_buffer *view, int flags):
        if flags & PyBUF_WRITABLE:
            raise BufferError("Message is read-only")
        self._shape[0] = <Py_ssize_t>np_msg_body_len(self._msg) if self._msg is not NULL else 0
        self._strides[0] = 1
        view.buf = <void *>np_msg_body(self._msg) if self._msg is not NULL else NULL
        view.obj = self
        view.len = self._shape[0]
        view.readonly = 1
        view.itemsize = 1
        view.format = "B"
        view.ndim = 1
        view.shape = self._shape
        view.strides = self._strides
        view.suboffsets = NULL
        view.internal = NULL
        self._views += 1

    def __releasebuffer__(self, Py_buffer *view):
        self._views -= 1

    def __eq__(self, other):
        try:
            return bytes(self) == bytes(other)
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(bytes(self))

    def __repr__(self):
        n = len(self)
        head = bytes(self)[:32]
        return f"<nanopy.Message {n} bytes {head!r}{'...' if n > 32 else ''}>"


cdef Message _wrap(np_msg *m):
    cdef Message msg = Message.__new__(Message)
    msg._msg = m
    return msg


# ---- the data path, shared by the nn_* functions and Socket ---------------------------------

cdef int _send_iov(int s, np_iov *iov, int n, const void *hdr, size_t hdr_len, int has_hdr,
                   int flags, size_t total) except -1:
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    if total <= SMALL or (flags & NP_DONTWAIT):
        # Try at once with the GIL held (cheaper than releasing it), except when a receiver
        # in this process may be woken: then send without the GIL (NP_SEND_GIL_HELD).
        rc = np_send(s, iov, n, hdr, hdr_len, has_hdr, flags | NP_DONTWAIT | NP_SEND_GIL_HELD,
                     &deadline)
        if rc == -EINPROGRESS:  # inproc peers: nothing was sent
            rc = -EAGAIN
            if flags & NP_DONTWAIT:
                with nogil:
                    rc = np_send(s, iov, n, hdr, hdr_len, has_hdr, flags, &deadline)
        if rc != -EAGAIN or (flags & NP_DONTWAIT):
            return _check(rc, s, OP_SEND)
    while True:
        with nogil:
            rc = np_send(s, iov, n, hdr, hdr_len, has_hdr, flags, &deadline)
        if rc == -EINTR:  # let Python run its signal handlers, then carry on
            PyErr_CheckSignals()
            continue
        return _check(rc, s, OP_SEND)


cdef int _send_data(int s, object data, int flags) except -1:
    """Send one message from any bytes-like object."""
    cdef Py_buffer view
    cdef np_iov iov
    if type(data) is bytes:
        if PyBytes_GET_SIZE(data) >= ZERO_COPY_MIN:
            return _send_lent(s, <bytes>data, flags)
        iov.base = PyBytes_AS_STRING(data)
        iov.len = <size_t>PyBytes_GET_SIZE(data)
        return _send_iov(s, &iov, 1, NULL, 0, 0, flags, iov.len)
    if type(data) is Message and (<Message>data)._msg is not NULL:
        flags |= NP_SEND_KIND(np_msg_kind((<Message>data)._msg))  # its NN_WS_MSG_TYPE
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        iov.base = view.buf
        iov.len = <size_t>view.len
        return _send_iov(s, &iov, 1, NULL, 0, 0, flags, iov.len)
    finally:
        PyBuffer_Release(&view)


cdef int _send_parts(int s, iov, control, int flags, int kind=0) except -1:
    """Send the concatenation of ``iov``'s parts as one message, with an optional SP header
    and NN_WS_MSG_TYPE (``control``: the header, or nn_sendmsg's entries; ``kind`` wins over
    an entry's type)."""
    control, entry_kind = _split_control(control)
    flags |= NP_SEND_KIND(kind if kind else entry_kind)
    parts = list(iov)
    cdef int n = len(parts)
    cdef Py_buffer *views = <Py_buffer *>PyMem_Malloc(sizeof(Py_buffer) * (n + 1))
    cdef np_iov *vec = <np_iov *>PyMem_Malloc(sizeof(np_iov) * (n + 1))
    cdef Py_buffer hview
    cdef int got = 0, has_hdr = 0
    cdef size_t total = 0
    if views is NULL or vec is NULL:
        PyMem_Free(views)
        PyMem_Free(vec)
        raise MemoryError()
    hview.buf = NULL
    hview.len = 0
    try:
        for i in range(n):
            PyObject_GetBuffer(parts[i], &views[i], PyBUF_SIMPLE)
            got += 1
            vec[i].base = views[i].buf
            vec[i].len = <size_t>views[i].len
            total += vec[i].len
        if control is not None:
            PyObject_GetBuffer(control, &hview, PyBUF_SIMPLE)
            has_hdr = 1
        return _send_iov(s, vec, n, hview.buf, <size_t>hview.len, has_hdr, flags, total)
    finally:
        for i in range(got):
            PyBuffer_Release(&views[i])
        if has_hdr:
            PyBuffer_Release(&hview)
        PyMem_Free(views)
        PyMem_Free(vec)


cdef np_msg *_recv_msg(int s, int flags) except NULL:
    cdef int64_t deadline = DEADLINE_UNSET
    cdef np_msg *m = NULL
    cdef int rc = np_recv(s, &m, flags | NP_DONTWAIT, &deadline)
    if rc == 0:
        return m
    if rc != -EAGAIN or (flags & NP_DONTWAIT):
        raise _error(-rc, s, OP_RECV)
    while True:
        with nogil:
            rc = np_recv(s, &m, flags, &deadline)
        if rc == 0:
            return m
        if rc == -EINTR:
            PyErr_CheckSignals()
            continue
        raise _error(-rc, s, OP_RECV)


cdef object _recv_bytes(int s, int flags):
    cdef np_msg *m = _recv_msg(s, flags)
    try:
        return _body_object(m)
    finally:
        np_msg_free(m)
        _drain_released()


cdef Py_ssize_t _recv_into(int s, buffer, int flags) except -1:
    cdef Py_buffer view
    PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE)
    cdef np_msg *m = NULL
    cdef size_t n, size
    try:
        m = _recv_msg(s, flags)
        size = np_msg_body_len(m)
        n = size if size < <size_t>view.len else <size_t>view.len
        if n:
            memcpy(view.buf, np_msg_body(m), n)
        return <Py_ssize_t>size
    finally:
        if m is not NULL:
            np_msg_free(m)
        PyBuffer_Release(&view)


cdef tuple _recv_with_header(int s, int flags, list control=None):
    """(body, SP header); ``control``, when given, receives nn_recvmsg's control entries."""
    cdef np_msg *m = _recv_msg(s, flags)
    try:
        if control is not None:
            control[:] = _control_of(m)
        return (PyBytes_FromStringAndSize(<const char *>np_msg_body(m),
                                          <Py_ssize_t>np_msg_body_len(m)),
                PyBytes_FromStringAndSize(<const char *>np_msg_hdr(m),
                                          <Py_ssize_t>np_msg_hdr_len(m)))
    finally:
        np_msg_free(m)


cdef object _try_recv(int s):
    cdef int64_t deadline = DEADLINE_UNSET
    cdef np_msg *m = NULL
    cdef int rc = np_recv(s, &m, NP_DONTWAIT, &deadline)
    if rc == -EAGAIN:
        return None
    _check(rc, s, OP_RECV)
    try:
        return _body_object(m)
    finally:
        np_msg_free(m)
        _drain_released()


cdef object _try_send(int s, data):
    cdef Py_buffer view
    cdef np_iov iov
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    cdef int flags = NP_DONTWAIT
    if type(data) is Message and (<Message>data)._msg is not NULL:
        flags |= NP_SEND_KIND(np_msg_kind((<Message>data)._msg))  # its NN_WS_MSG_TYPE
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        iov.base = view.buf
        iov.len = <size_t>view.len
        rc = np_send(s, &iov, 1, NULL, 0, 0, flags, &deadline)
    finally:
        PyBuffer_Release(&view)
    if rc == -EAGAIN:
        return None
    return _check(rc, s, OP_SEND)


cdef int _send_many(int s, messages, int flags) except -1:
    items = messages if isinstance(messages, (list, tuple)) else list(messages)
    cdef int n = len(items)
    cdef int lent = 0
    if n and all(type(m) is bytes and PyBytes_GET_SIZE(m) >= ZERO_COPY_MIN for m in items):
        # Large messages: lending each buffer beats copying, and per-call costs are noise.
        for m in items:
            try:
                _send_lent(s, <bytes>m, flags)
            except Again:
                if lent:
                    return lent
                raise
            lent += 1
        return lent
    cdef Py_buffer *views = <Py_buffer *>PyMem_Malloc(sizeof(Py_buffer) * (n + 1))
    cdef np_iov *vec = <np_iov *>PyMem_Malloc(sizeof(np_iov) * (n + 1))
    cdef char *viewed = <char *>PyMem_Malloc(n + 1)  # views[i] was taken (not bytes)
    cdef int got = 0, sent = 0, rc = 0
    cdef int64_t deadline = DEADLINE_UNSET
    if views is NULL or vec is NULL or viewed is NULL:
        PyMem_Free(views)
        PyMem_Free(vec)
        PyMem_Free(viewed)
        raise MemoryError()
    cdef object item
    try:
        for item in items:
            if type(item) is bytes:
                # items keeps the object alive: no buffer view to take and give back
                viewed[got] = 0
                vec[got].base = PyBytes_AS_STRING(item)
                vec[got].len = <size_t>PyBytes_GET_SIZE(item)
            else:
                PyObject_GetBuffer(item, &views[got], PyBUF_SIMPLE)
                viewed[got] = 1
                vec[got].base = views[got].buf
                vec[got].len = <size_t>views[got].len
            got += 1
        while sent < n:
            with nogil:
                rc = np_send_batch(s, vec, n, flags, &deadline, &sent)
            if rc == -EINTR:
                PyErr_CheckSignals()
                continue
            break
        # Some messages went before a timeout (or NN_DONTWAIT) stopped the batch: report how
        # many, so the caller resends only the rest.
        if rc < 0 and not ((rc == -EAGAIN or rc == -ETIMEDOUT) and sent > 0):
            _check(rc, s, OP_SEND)
        return sent
    finally:
        for i in range(got):
            if viewed[i]:
                PyBuffer_Release(&views[i])
        PyMem_Free(views)
        PyMem_Free(vec)
        PyMem_Free(viewed)


cdef list _recv_many(int s, int max_messages, int flags):
    if max_messages <= 0:
        raise error_for(EINVAL, f"max_messages must be 1 or more, got {max_messages}")
    cdef int cap = max_messages if max_messages < BATCH else BATCH
    cdef np_msg *msgs[BATCH]
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    rc = np_recv_batch(s, msgs, cap, flags | NP_DONTWAIT, &deadline)
    if rc == -EAGAIN and not (flags & NP_DONTWAIT):
        while True:
            with nogil:
                rc = np_recv_batch(s, msgs, cap, flags, &deadline)
            if rc == -EINTR:
                PyErr_CheckSignals()
                continue
            break
    _check(rc, s, OP_RECV)
    out = [None] * rc
    for i in range(rc):
        out[i] = _body_object(msgs[i])
        np_msg_free(msgs[i])
    _drain_released()
    return out


cdef object _as_bytes(value):
    if isinstance(value, str):
        return (<str>value).encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return None


cdef bint _takes_bytes(int level, int option):
    return ((level == NP_SOL_SOCKET and option == NP_SOCKET_NAME)
            or (level == NP_SUB and (option == NP_SUB_SUBSCRIBE or option == NP_SUB_UNSUBSCRIBE))
            or (level == NP_TLS_LEVEL and option == NP_TLS_CONFIG))


cdef int _setsockopt(int s, int level, int option, value) except -1:
    cdef int ival
    cdef bytes b
    cdef int rc
    if _takes_bytes(level, option):
        data = _as_bytes(value)
        if data is None:
            raise _option_error(EINVAL, s, level, option, True, value)
        b = data
        rc = np_setsockopt(s, level, option, PyBytes_AS_STRING(b), len(b))
    else:
        if isinstance(value, (bytes, str, bytearray, memoryview)) or not hasattr(value, "__index__"):
            raise _option_error(EINVAL, s, level, option, True, value)
        v = value.__index__()
        if v < -2147483648 or v > 2147483647:
            raise _option_error(EINVAL, s, level, option, True, v)
        ival = v
        rc = np_setsockopt(s, level, option, &ival, sizeof(int))
    if rc < 0:
        if rc == -EINVAL or rc == -ENOPROTOOPT:
            raise _option_error(-rc, s, level, option, True, value)
        _check(rc)
    return 0


cdef object _getsockopt(int s, int level, int option):
    cdef char buf[128]
    cdef size_t size = sizeof(buf)
    cdef int ival = 0
    cdef int rc
    if level == NP_SOL_SOCKET and option == NP_SOCKET_NAME:
        _check(np_getsockopt(s, level, option, buf, &size))
        return buf[:min(size, sizeof(buf))].decode("utf-8", "replace")
    size = sizeof(int)
    rc = np_getsockopt(s, level, option, &ival, &size)
    if rc == -ENOPROTOOPT:
        raise _option_error(ENOPROTOOPT, s, level, option, False, None)
    _check(rc)
    return ival


cdef bytes _address_bytes(addr):
    if isinstance(addr, str):
        return (<str>addr).encode("utf-8")
    if isinstance(addr, bytes):
        return <bytes>addr
    raise _address_error(EINVAL, addr, False)


cdef extern from "transports/tls_engine.h" nogil:
    int np_tls_take_last_error(char *buf, size_t cap)


cdef int _add_endpoint(int s, addr, bint bind) except -1:
    """nn_bind / nn_connect: returns the endpoint id."""
    cdef bytes b = _address_bytes(addr)
    if b"\0" in b:
        raise _address_error(EINVAL, addr, bind)
    cdef const char *c = b
    cdef int rc
    cdef char why[256]
    np_tls_take_last_error(NULL, 0)
    with nogil:
        rc = np_bind(s, c) if bind else np_connect(s, c)
    if rc < 0 and rc != -EBADF and rc != -NP_ETERM:
        # A TLS endpoint says why it could not start (no configuration, unreadable
        # certificate, no OpenSSL).
        if np_tls_take_last_error(why, sizeof(why)):
            raise error_for(-rc, f"{b.decode('utf-8', 'replace')}: "
                                 f"{why.decode('utf-8', 'replace')}")
        raise _address_error(-rc, addr, bind)
    return _check(rc)


cdef int _shutdown(int s, int eid) except -1:
    cdef int rc
    with nogil:
        rc = np_shutdown(s, eid)
    return _check(rc)


cdef int _close(int s) except -1:
    cdef int rc
    with nogil:
        rc = np_close(s)
    _drain_released()
    return _check(rc)


# ---- the nn_* functions -------------------------------------------------------------------

def nn_socket(domain, protocol):
    """Create an SP socket.

    Parameters
    ----------
    domain : int
        ``AF_SP`` (end to end) or ``AF_SP_RAW`` (raw, for devices).
    protocol : int
        ``NN_PAIR``, ``NN_REQ``... (see ``nanopy.PROTOCOL_NAMES``).

    Returns
    -------
    int
        The new socket's id, for every other nn_* call.

    Raises
    ------
    NNError
        EAFNOSUPPORT for a bad domain, EINVAL for an unknown protocol (the message lists the
        protocols that exist), EMFILE when the socket table is full, ETERM after nn_term().
    """
    cdef int c_domain = _cint(domain, EAFNOSUPPORT)
    cdef int c_protocol = _cint(protocol, EINVAL)
    cdef int rc = np_socket(c_domain, c_protocol)
    if rc < 0:
        raise error_for(-rc, _explain.socket_problem(-rc, domain, protocol))
    return rc


def nn_close(s):
    """Close a socket, first giving queued messages up to NN_LINGER ms to leave.

    Parameters
    ----------
    s : int
        Socket id.

    Raises
    ------
    NNError
        EBADF for an id that is not open, ETERM after nn_term().
    """
    _close(_cint(s, EBADF))


def nn_setsockopt(s, level, option, value):
    """Set a socket option.

    Parameters
    ----------
    s : int
        Socket id.
    level : int
        ``NN_SOL_SOCKET``, a protocol (``NN_SUB``, ``NN_REQ``, ``NN_SURVEYOR``) or a transport
        (``NN_TCP``...).
    option : int
        The option at that level (``NN_LINGER``, ``NN_SUB_SUBSCRIBE``...).
    value : int, bytes or str
        An int, or bytes/str for ``NN_SOCKET_NAME`` and the subscriptions.

    Raises
    ------
    NNError
        ENOPROTOOPT for an option that does not exist or does not apply to this socket,
        EINVAL for a value of the wrong type or out of range (the message names the option
        and what it accepts), EBADF for a closed socket.
    """
    _setsockopt(_cint(s, EBADF), _cint(level, ENOPROTOOPT), _cint(option, ENOPROTOOPT), value)


def nn_getsockopt(s, level, option):
    """Read a socket option.

    Parameters
    ----------
    s : int
        Socket id.
    level, option : int
        As for nn_setsockopt.

    Returns
    -------
    int or str
        The value; a str for ``NN_SOCKET_NAME``. ``NN_SNDFD``/``NN_RCVFD`` are OS descriptors
        usable with select, poll and asyncio.

    Raises
    ------
    NNError
        ENOPROTOOPT for an unknown or write-only option, EBADF for a closed socket.
    """
    return _getsockopt(_cint(s, EBADF), _cint(level, ENOPROTOOPT), _cint(option, ENOPROTOOPT))


def nn_bind(s, addr):
    """Listen on an address.

    Parameters
    ----------
    s : int
        Socket id.
    addr : str or bytes
        ``inproc://name``, ``ipc:///path``, ``tcp://iface:port`` (``*`` for every interface).

    Returns
    -------
    int
        The endpoint id (for nn_shutdown).

    Raises
    ------
    NNError
        EINVAL for an ill-formed address, EPROTONOSUPPORT for an unknown transport,
        ENAMETOOLONG for an over-long address, EADDRINUSE, ENODEV for an unknown interface,
        or the OS error of the listening socket (EACCES...). The message names the address
        and the reason.
    """
    return _add_endpoint(_cint(s, EBADF), addr, True)


def nn_connect(s, addr):
    """Connect to an address, in the background and reconnecting as needed.

    Parameters
    ----------
    s : int
        Socket id.
    addr : str or bytes
        ``inproc://name``, ``ipc:///path``, ``tcp://[iface;]host:port``.

    Returns
    -------
    int
        The endpoint id (for nn_shutdown).

    Raises
    ------
    NNError
        As nn_bind (a peer that is not there yet is no error: the socket keeps trying).
    """
    return _add_endpoint(_cint(s, EBADF), addr, False)


def nn_shutdown(s, eid):
    """Remove one endpoint and every connection made through it.

    Parameters
    ----------
    s : int
        Socket id.
    eid : int
        Endpoint id returned by nn_bind or nn_connect.

    Raises
    ------
    NNError
        EINVAL when ``eid`` is not a live endpoint of ``s``, EBADF for a closed socket.
    """
    _shutdown(_cint(s, EBADF), _cint(eid, EINVAL))


def nn_send(s, data, flags=0):
    """Send one message.

    Parameters
    ----------
    s : int
        Socket id.
    data : bytes-like
        bytes, bytearray, memoryview, a numpy array... (anything with the buffer protocol).
        A ``Message`` goes with its ``ws_msg_type``.
    flags : int
        0 to wait while the socket cannot send, ``NN_DONTWAIT`` not to.

    Returns
    -------
    int
        The number of bytes sent.

    Raises
    ------
    NNError
        EAGAIN (``nanopy.Again``) with NN_DONTWAIT when it would wait, ETIMEDOUT
        (``nanopy.Timeout``) when NN_SNDTIMEO expires, EFSM when the protocol's state forbids
        a send (REP before a request), EBADF, ETERM.
    """
    return _send_data(_cint(s, EBADF), data, _cint(flags, EINVAL) & ~NP_SEND_KIND_MASK)


def nn_sendmsg(s, iov, control=None, flags=0):
    """Send the concatenation of several parts as one message.

    Parameters
    ----------
    s : int
        Socket id.
    iov : iterable of bytes-like
        The parts, in order.
    control : bytes-like, sequence of (level, type, data), or None
        The SP header (raw sockets only), or nanomsg's control entries:
        ``(PROTO_SP, SP_HDR, header)`` and ``(NN_WS, NN_WS_MSG_TYPE, bytes([t]))`` with
        ``t`` ``NN_WS_MSG_TYPE_TEXT`` or ``NN_WS_MSG_TYPE_BINARY`` (an int is taken too),
        which sends this message over ws/wss as that type whatever the socket's option;
        other transports ignore it. nn_recvmsg's entries can be passed back as they are.
    flags : int
        0 or ``NN_DONTWAIT``.

    Returns
    -------
    int
        The number of body bytes sent.

    Raises
    ------
    NNError
        As nn_send; EINVAL (nothing sent) for an unknown or repeated entry, a message type
        other than 1 or 2, or type data that is not one byte.
    """
    return _send_parts(_cint(s, EBADF), iov, control, _cint(flags, EINVAL) & ~NP_SEND_KIND_MASK)


def nn_recv(s, flags=0):
    """Receive one message.

    Parameters
    ----------
    s : int
        Socket id.
    flags : int
        0 to wait for a message, ``NN_DONTWAIT`` not to.

    Returns
    -------
    bytes
        The message body.

    Raises
    ------
    NNError
        EAGAIN with NN_DONTWAIT when nothing is waiting, ETIMEDOUT when NN_RCVTIMEO
        expires, EFSM when the protocol's state forbids a receive (REQ before a request),
        EBADF, ETERM.
    """
    return _recv_bytes(_cint(s, EBADF), _cint(flags, EINVAL))


def nn_recv_msg(s, flags=0):
    """Receive one message as a Message whose body is shared, not copied.

    Parameters
    ----------
    s : int
        Socket id.
    flags : int
        0 or ``NN_DONTWAIT``.

    Returns
    -------
    Message
        Exposes the body through the buffer protocol (``memoryview(msg)``).

    Raises
    ------
    NNError
        As nn_recv.
    """
    return _wrap(_recv_msg(_cint(s, EBADF), _cint(flags, EINVAL)))


def nn_recv_into(s, buffer, flags=0):
    """Receive into a writable buffer, as C nn_recv does.

    Parameters
    ----------
    s : int
        Socket id.
    buffer : writable bytes-like
        Where the body goes; a longer message is truncated to fit.
    flags : int
        0 or ``NN_DONTWAIT``.

    Returns
    -------
    int
        The full message size (larger than the buffer when it was truncated).

    Raises
    ------
    NNError
        As nn_recv.
    """
    return _recv_into(_cint(s, EBADF), buffer, _cint(flags, EINVAL))


def nn_recvmsg(s, flags=0, control=None):
    """Receive one message with its SP header.

    Parameters
    ----------
    s : int
        Socket id.
    flags : int
        0 or ``NN_DONTWAIT``.
    control : list or None
        When a list is given, its contents are replaced by the message's control entries,
        as C's nn_recvmsg fills its control buffer: ``(PROTO_SP, SP_HDR, header)`` first,
        then ``(NN_WS, NN_WS_MSG_TYPE, bytes([opcode]))`` for a message that came over ws
        or wss (1 text, 2 binary).

    Returns
    -------
    tuple of (bytes, bytes)
        The body and the SP header (empty on cooked sockets).

    Raises
    ------
    NNError
        As nn_recv.
    TypeError
        ``control`` is neither None nor a list (checked before anything is received).
    """
    if control is not None and type(control) is not list:
        raise TypeError("control must be a list (it receives the control entries) or None")
    return _recv_with_header(_cint(s, EBADF), _cint(flags, EINVAL), control)


def try_recv(s):
    """Receive one message if one is waiting (the asyncio fast path calls this first).

    Parameters
    ----------
    s : int
        Socket id.

    Returns
    -------
    bytes or None
        The body, or None when nothing is waiting.

    Raises
    ------
    NNError
        Any error but EAGAIN.
    """
    return _try_recv(_cint(s, EBADF))


def try_send(s, data):
    """Send one message if it can go without waiting.

    Parameters
    ----------
    s : int
        Socket id.
    data : bytes-like
        The message.

    Returns
    -------
    int or None
        The number of bytes sent, or None when the send would have to wait.

    Raises
    ------
    NNError
        Any error but EAGAIN.
    """
    return _try_send(_cint(s, EBADF), data)


def send_many(s, messages, flags=0):
    """Send every message of a sequence with one GIL release.

    Blocks (honouring NN_SNDTIMEO) while the pipe is full. When NN_DONTWAIT, or the timeout,
    stops the batch after some messages went, it returns the count sent so far (resend the
    rest); it raises only when none was sent.

    Parameters
    ----------
    s : int
        Socket id.
    messages : sequence of bytes-like
        The messages, in order.
    flags : int
        0 or ``NN_DONTWAIT``.

    Returns
    -------
    int
        How many messages were sent.

    Raises
    ------
    NNError
        As nn_send, when no message could be sent.
    """
    return _send_many(_cint(s, EBADF), messages, _cint(flags, EINVAL))


def recv_many(s, max_messages, flags=0):
    """Receive several messages with one GIL release: wait (honouring NN_RCVTIMEO) for the
    first, then take whatever else is already queued.

    Parameters
    ----------
    s : int
        Socket id.
    max_messages : int
        The most messages to return (1 or more).
    flags : int
        0 or ``NN_DONTWAIT``.

    Returns
    -------
    list of bytes
        At least one message.

    Raises
    ------
    NNError
        As nn_recv; EINVAL when ``max_messages`` is below 1.
    """
    return _recv_many(_cint(s, EBADF), _cint(max_messages, EINVAL), _cint(flags, EINVAL))


# ---- the socket type ------------------------------------------------------------------------

cdef inline int _live_id(Socket sock) except -1:
    """The C id of a socket that may be used here; EBADF when closed or inherited by fork."""
    if sock._closed or sock._generation != _fork_generation:
        _raise_unusable(sock)
    return sock._s


cdef int _raise_unusable(Socket sock) except -1:
    if sock._closed:
        raise error_for(EBADF, "socket is closed")
    raise error_for(EBADF, "socket created in parent process")


cdef class Socket:
    """One SP socket: the compiled base of ``nanopy.Socket``.

    It holds the C socket id and does the per-message work (send, receive, options) with no
    Python code in between; ``nanopy.Socket`` adds options as properties, endpoints as
    objects, context managers and asyncio. A socket inherited through ``fork()`` raises
    EBADF in the child (the core forgets the parent's sockets there).

    Parameters
    ----------
    protocol : int
        ``nanopy.PAIR``, ``nanopy.REQ``... (nanomsg's protocol numbers).
    raw : bool
        True for an ``AF_SP_RAW`` socket (devices, no protocol state).

    Raises
    ------
    NNError
        EINVAL for an unknown protocol (the message lists those that exist), EMFILE when
        too many sockets are open, ETERM after nn_term().
    """

    def __cinit__(self, *args, **kwargs):
        self._s = -1
        self._closed = True
        self._generation = _fork_generation

    def __init__(self, protocol, *, raw=False):
        cdef int domain = NP_AF_SP_RAW if raw else NP_AF_SP
        cdef int rc
        if not self._closed:
            raise error_for(EINVAL, "socket is already open")
        if not isinstance(protocol, int) or isinstance(protocol, bool):
            raise error_for(EINVAL, _explain.socket_problem(EINVAL, domain, protocol))
        rc = np_socket(domain, _cint(protocol, EINVAL))
        if rc < 0:
            raise error_for(-rc, _explain.socket_problem(-rc, domain, protocol))
        self._s = rc
        self._closed = False
        self._generation = _fork_generation

    def __dealloc__(self):
        # Last resort for a socket nobody closed (nanopy.Socket closes in __del__ first).
        if not self._closed and self._generation == _fork_generation:
            self._closed = True
            with nogil:
                np_close(self._s)

    @property
    def id(self):
        """The nn_* socket id (usable with every nn_* function); EBADF once closed."""
        return _live_id(self)

    @property
    def closed(self):
        """True once close() was called."""
        return self._closed

    def close(self):
        """Close the socket; queued outbound messages get up to ``linger`` ms to leave.

        Closing twice, or closing a socket inherited through fork(), does nothing (the
        parent owns that one).

        Raises
        ------
        NNError
            Only for an unexpected failure of the core.
        """
        cdef int rc
        if self._closed:
            return
        self._closed = True
        if self._generation != _fork_generation:
            return
        with nogil:
            rc = np_close(self._s)
        _drain_released()
        # Already gone: closed through nn_close(sock.id), or nn_term() closed everything.
        if rc < 0 and rc != -EBADF and rc != -NP_ETERM:
            _check(rc)

    # ---- data ---------------------------------------------------------------------------

    def send(self, data, *, bint block=True):
        """Send one message.

        Parameters
        ----------
        data : bytes-like
            bytes, bytearray, memoryview, a numpy array... A ``Message`` goes with its
            ``ws_msg_type`` (over ws/wss, that WebSocket message type for this message).
        block : bool
            False raises ``nanopy.Again`` instead of waiting.

        Returns
        -------
        int
            The number of bytes sent.

        Raises
        ------
        NNError
            ``Again`` (block=False and it would wait), ``Timeout`` (send_timeout expired),
            ``StateError`` (the protocol forbids a send now, e.g. REP before a request),
            ``BadSocket`` (closed), ``Terminated``.
        """
        return _send_data(_live_id(self), data, 0 if block else NP_DONTWAIT)

    def recv(self, *, bint block=True):
        """Receive one message.

        Parameters
        ----------
        block : bool
            False raises ``nanopy.Again`` instead of waiting.

        Returns
        -------
        bytes
            The message body.

        Raises
        ------
        NNError
            ``Again``, ``Timeout`` (recv_timeout expired), ``StateError`` (e.g. REQ before
            send()), ``BadSocket``, ``Terminated``.
        """
        return _recv_bytes(_live_id(self), 0 if block else NP_DONTWAIT)

    def recv_msg(self, *, bint block=True):
        """Receive one message as a ``nanopy.Message`` (its body is shared, not copied).

        Parameters
        ----------
        block : bool
            False raises ``nanopy.Again`` instead of waiting.

        Returns
        -------
        Message
            Exposes the body through the buffer protocol.

        Raises
        ------
        NNError
            As recv().
        """
        return _wrap(_recv_msg(_live_id(self), 0 if block else NP_DONTWAIT))

    def recv_into(self, buffer, *, bint block=True):
        """Receive into a writable buffer.

        Parameters
        ----------
        buffer : writable bytes-like
            Where the body goes; a longer message is truncated to fit.
        block : bool
            False raises ``nanopy.Again`` instead of waiting.

        Returns
        -------
        int
            The full message size (larger than the buffer when it was truncated).

        Raises
        ------
        NNError
            As recv().
        """
        return _recv_into(_live_id(self), buffer, 0 if block else NP_DONTWAIT)

    def sendmsg(self, parts, header=None, *, bint block=True, ws_msg_type=None):
        """Send several parts as one message, with an SP header on raw sockets.

        Parameters
        ----------
        parts : sequence of bytes-like
            Concatenated in order.
        header : bytes-like or None
            The SP header (raw sockets only); nn_sendmsg's control entries are taken too.
        block : bool
            False raises ``nanopy.Again`` instead of waiting.
        ws_msg_type : int or None
            ``NN_WS_MSG_TYPE_TEXT`` or ``NN_WS_MSG_TYPE_BINARY``: over ws/wss this message
            goes as that type whatever the socket's ``NN_WS_MSG_TYPE`` (other transports
            ignore it). None follows the socket.

        Returns
        -------
        int
            The number of body bytes sent.

        Raises
        ------
        NNError
            As send(); EINVAL (nothing sent) for a ``ws_msg_type`` other than None, 1 or 2.
        """
        return _send_parts(_live_id(self), parts, header, 0 if block else NP_DONTWAIT,
                           _ws_kind(ws_msg_type))

    def recvmsg(self, *, bint block=True):
        """Receive one message with its SP header.

        Parameters
        ----------
        block : bool
            False raises ``nanopy.Again`` instead of waiting.

        Returns
        -------
        tuple of (bytes, bytes)
            The body and the header (empty on cooked sockets).

        Raises
        ------
        NNError
            As recv().
        """
        return _recv_with_header(_live_id(self), 0 if block else NP_DONTWAIT)

    def send_many(self, messages, *, bint block=True):
        """Send many messages with one call (one GIL release).

        Parameters
        ----------
        messages : sequence of bytes-like
            The messages, in order (their bodies only: a ``Message``'s ``ws_msg_type`` is
            not applied here; send such messages with ``send()``).
        block : bool
            False stops at the first message that would have to wait.

        Returns
        -------
        int
            How many were sent (resend the rest when it is fewer than given).

        Raises
        ------
        NNError
            As send(), when none could be sent.
        """
        return _send_many(_live_id(self), messages, 0 if block else NP_DONTWAIT)

    def recv_many(self, max_messages=256, *, bint block=True):
        """Wait for one message, then take up to ``max_messages`` already queued.

        Parameters
        ----------
        max_messages : int
            The most messages to return (1 or more).
        block : bool
            False raises ``nanopy.Again`` when nothing is waiting.

        Returns
        -------
        list of bytes
            At least one message.

        Raises
        ------
        NNError
            As recv(); EINVAL when ``max_messages`` is below 1.
        """
        return _recv_many(_live_id(self), _cint(max_messages, EINVAL),
                          0 if block else NP_DONTWAIT)

    def try_send(self, data):
        """Send one message if it can go at once.

        Parameters
        ----------
        data : bytes-like
            The message.

        Returns
        -------
        int or None
            The number of bytes sent, or None when the send would have to wait.

        Raises
        ------
        NNError
            Any error but EAGAIN.
        """
        return _try_send(_live_id(self), data)

    def try_recv(self):
        """Receive one message if one is waiting.

        Returns
        -------
        bytes or None
            The body, or None when nothing is waiting.

        Raises
        ------
        NNError
            Any error but EAGAIN.
        """
        return _try_recv(_live_id(self))

    # ---- options and endpoints ------------------------------------------------------------

    def setsockopt(self, level, option, value):
        """nn_setsockopt on this socket (see ``nanopy.nn_setsockopt``).

        Raises
        ------
        NNError
            ENOPROTOOPT for an option that does not apply, EINVAL for a bad value.
        """
        _setsockopt(_live_id(self), _cint(level, ENOPROTOOPT), _cint(option, ENOPROTOOPT),
                    value)

    def getsockopt(self, level, option):
        """nn_getsockopt on this socket (see ``nanopy.nn_getsockopt``).

        Returns
        -------
        int or str
            The value (a str for ``NN_SOCKET_NAME``).

        Raises
        ------
        NNError
            ENOPROTOOPT for an option that does not apply.
        """
        return _getsockopt(_live_id(self), _cint(level, ENOPROTOOPT), _cint(option, ENOPROTOOPT))

    def _add_endpoint(self, address, bint bind):
        """nn_bind (``bind`` true) or nn_connect; returns the endpoint id."""
        return _add_endpoint(_live_id(self), address, bind)

    def _shutdown(self, eid):
        """nn_shutdown of one endpoint id."""
        _shutdown(_live_id(self), _cint(eid, EINVAL))


# ---- polling, devices, termination, statistics ------------------------------------------------

def nn_poll(fds, timeout=-1):
    """Wait until some sockets are ready.

    Parameters
    ----------
    fds : iterable of (int, int)
        ``(socket, events)`` pairs, events being ``NN_POLLIN``, ``NN_POLLOUT`` or both.
    timeout : int
        Milliseconds to wait; -1 waits forever.

    Returns
    -------
    list of int
        The revents of each entry, in order (all 0 on timeout).

    Raises
    ------
    NNError
        EBADF for a closed socket, ETERM after nn_term().
    """
    cdef int c_timeout = _cint(timeout, EINVAL)
    pairs = list(fds)
    cdef int n = len(pairs)
    cdef int *socks = <int *>PyMem_Malloc(sizeof(int) * (n + 1))
    cdef short *events = <short *>PyMem_Malloc(sizeof(short) * (n + 1))
    cdef short *revents = <short *>PyMem_Malloc(sizeof(short) * (n + 1))
    cdef int rc
    if socks is NULL or events is NULL or revents is NULL:
        PyMem_Free(socks)
        PyMem_Free(events)
        PyMem_Free(revents)
        raise MemoryError()
    try:
        for i in range(n):
            sock, ev = pairs[i]
            socks[i] = _cint(sock, EBADF)
            events[i] = <short>_cint(ev, EINVAL)
            revents[i] = 0
        while True:
            with nogil:
                rc = np_poll(socks, events, revents, n, c_timeout)
            if rc == -EINTR:
                PyErr_CheckSignals()
                continue
            break
        _check(rc)
        return [revents[i] for i in range(n)]
    finally:
        PyMem_Free(socks)
        PyMem_Free(events)
        PyMem_Free(revents)


def nn_device(s1, s2):
    """Forward messages between two raw sockets until a socket closes or nn_term() is called.

    Parameters
    ----------
    s1, s2 : int
        Raw socket ids; ``s2 = -1`` loops messages back into ``s1``.

    Raises
    ------
    NNError
        Always, when it ends: ETERM after nn_term(), EBADF when a socket closes, EINVAL for
        sockets that cannot form a device.
    """
    cdef int c_s1 = _cint(s1, EBADF)
    cdef int c_s2 = _cint(s2, EBADF)
    cdef int rc
    while True:
        with nogil:
            rc = np_device(c_s1, c_s2)
        if rc == -EINTR:
            PyErr_CheckSignals()
            continue
        raise _error(-rc)


def io_backends():
    """Name the I/O thread's poller and wake-up mechanism chosen on this platform.

    Returns
    -------
    tuple[str, str]
        ``(poller, wakeup)``: the poller is ``"epoll"``, ``"kqueue"`` or ``"poll"``, the
        wake-up ``"eventfd"`` or ``"pipe"``. On Linux ``NANOPY_POLLER=poll`` selects poll,
        ``NANOPY_POLLER=portable`` poll with pipes, ``NANOPY_WAKEUP=pipe`` pipes alone; the
        variables are read when the I/O thread starts.
    """
    return (np_poller_backend().decode(), np_wakeup_backend().decode())


def nn_term():
    """Shut the library down: every blocked and later call on any socket raises ETERM."""
    with nogil:
        np_term()


def nn_get_statistic(s, stat):
    """Read one statistic of a socket.

    Parameters
    ----------
    s : int
        Socket id.
    stat : int
        An ``NN_STAT_*`` id.

    Returns
    -------
    int
        The counter or gauge.

    Raises
    ------
    NNError
        EBADF for a closed socket, EINVAL for an unknown statistic.
    """
    cdef uint64_t v = 0
    _check(np_get_statistic(_cint(s, EBADF), _cint(stat, EINVAL), &v))
    return v


# ---- contexts (beyond nanomsg, as NNG has them) ---------------------------------------

def ctx_open(s):
    """Open an independent request state on a cooked REQ, REP, SURVEYOR or RESPONDENT socket;
    returns its id. Other socket types raise ENOTSUP."""
    return _check(np_ctx_open(_cint(s, EBADF)))


def ctx_close(s, ctx):
    """Close a context; a thread waiting in ctx_recv on it gets EBADF."""
    _check(np_ctx_close(_cint(s, EBADF), _cint(ctx, EBADF)))


def ctx_send(s, ctx, data):
    """Send through a context (REQ: a new request of that context; REP: its reply)."""
    cdef int c_s = _cint(s, EBADF)
    cdef int c_ctx = _cint(ctx, EBADF)
    cdef Py_buffer view
    cdef np_iov iov
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    cdef int flags = 0
    if type(data) is Message and (<Message>data)._msg is not NULL:
        flags = NP_SEND_KIND(np_msg_kind((<Message>data)._msg))  # its NN_WS_MSG_TYPE
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        iov.base = view.buf
        iov.len = <size_t>view.len
        rc = np_ctx_send(c_s, c_ctx, &iov, 1, flags, &deadline)
        return _check(rc, c_s, OP_SEND)
    finally:
        PyBuffer_Release(&view)


def ctx_recv(s, ctx, flags=0):
    """Receive through a context: REQ waits for the reply to that context's request, REP
    takes the next request and remembers where its reply goes."""
    cdef int c_s = _cint(s, EBADF)
    cdef int c_ctx = _cint(ctx, EBADF)
    cdef int c_flags = _cint(flags, EINVAL)
    cdef int64_t deadline = DEADLINE_UNSET
    cdef np_msg *m = NULL
    cdef int rc = np_ctx_recv(c_s, c_ctx, &m, c_flags | NP_DONTWAIT, &deadline)
    if rc == -EAGAIN and not (c_flags & NP_DONTWAIT):
        while True:
            with nogil:
                rc = np_ctx_recv(c_s, c_ctx, &m, c_flags, &deadline)
            if rc == -EINTR:
                PyErr_CheckSignals()
                continue
            break
    _check(rc, c_s, OP_RECV)
    try:
        return PyBytes_FromStringAndSize(<const char *>np_msg_body(m),
                                         <Py_ssize_t>np_msg_body_len(m))
    finally:
        np_msg_free(m)


def ctx_recv_fd(s, ctx):
    """The descriptor that is readable while ctx_recv would not block (for asyncio)."""
    return _check(np_ctx_recv_fd(_cint(s, EBADF), _cint(ctx, EBADF)))


# ---- the core's own numbers -----------------------------------------------------------------

def core_constants():
    """The constants the C core's header defines, by nanomsg name (a test compares them
    with nanopy.constants, the one table every other module reads)."""
    return {
        "NN_HAUSNUMERO": NP_HAUSNUMERO, "ETERM": NP_ETERM, "EFSM": NP_EFSM,
        "AF_SP": NP_AF_SP, "AF_SP_RAW": NP_AF_SP_RAW,
        "NN_PAIR": NP_PAIR, "NN_PUB": NP_PUB, "NN_SUB": NP_SUB, "NN_REQ": NP_REQ,
        "NN_REP": NP_REP, "NN_PUSH": NP_PUSH, "NN_PULL": NP_PULL, "NN_SURVEYOR": NP_SURVEYOR,
        "NN_RESPONDENT": NP_RESPONDENT, "NN_BUS": NP_BUS,
        "NN_SOL_SOCKET": NP_SOL_SOCKET, "NN_INPROC": NP_INPROC, "NN_IPC": NP_IPC,
        "NN_TCP": NP_TCP, "NN_WS": NP_WS,
        "NN_LINGER": NP_LINGER, "NN_SNDBUF": NP_SNDBUF, "NN_RCVBUF": NP_RCVBUF,
        "NN_SNDTIMEO": NP_SNDTIMEO, "NN_RCVTIMEO": NP_RCVTIMEO,
        "NN_RECONNECT_IVL": NP_RECONNECT_IVL, "NN_RECONNECT_IVL_MAX": NP_RECONNECT_IVL_MAX,
        "NN_SNDPRIO": NP_SNDPRIO, "NN_RCVPRIO": NP_RCVPRIO, "NN_SNDFD": NP_SNDFD,
        "NN_RCVFD": NP_RCVFD, "NN_DOMAIN": NP_DOMAIN, "NN_PROTOCOL": NP_PROTOCOL,
        "NN_IPV4ONLY": NP_IPV4ONLY, "NN_SOCKET_NAME": NP_SOCKET_NAME,
        "NN_RCVMAXSIZE": NP_RCVMAXSIZE, "NN_MAXTTL": NP_MAXTTL,
        "NN_SUB_SUBSCRIBE": NP_SUB_SUBSCRIBE, "NN_SUB_UNSUBSCRIBE": NP_SUB_UNSUBSCRIBE,
        "NN_REQ_RESEND_IVL": NP_REQ_RESEND_IVL, "NN_SURVEYOR_DEADLINE": NP_SURVEYOR_DEADLINE,
        "NN_TCP_NODELAY": NP_TCP_NODELAY, "NN_DONTWAIT": NP_DONTWAIT,
        "NN_POLLIN": NP_POLLIN, "NN_POLLOUT": NP_POLLOUT, "NN_SOCKADDR_MAX": NP_SOCKADDR_MAX,
        "NN_STAT_ESTABLISHED_CONNECTIONS": NP_STAT_ESTABLISHED_CONNECTIONS,
        "NN_STAT_ACCEPTED_CONNECTIONS": NP_STAT_ACCEPTED_CONNECTIONS,
        "NN_STAT_DROPPED_CONNECTIONS": NP_STAT_DROPPED_CONNECTIONS,
        "NN_STAT_BROKEN_CONNECTIONS": NP_STAT_BROKEN_CONNECTIONS,
        "NN_STAT_CONNECT_ERRORS": NP_STAT_CONNECT_ERRORS,
        "NN_STAT_BIND_ERRORS": NP_STAT_BIND_ERRORS,
        "NN_STAT_ACCEPT_ERRORS": NP_STAT_ACCEPT_ERRORS,
        "NN_STAT_CURRENT_CONNECTIONS": NP_STAT_CURRENT_CONNECTIONS,
        "NN_STAT_INPROGRESS_CONNECTIONS": NP_STAT_INPROGRESS_CONNECTIONS,
        "NN_STAT_CURRENT_EP_ERRORS": NP_STAT_CURRENT_EP_ERRORS,
        "NN_STAT_MESSAGES_SENT": NP_STAT_MESSAGES_SENT,
        "NN_STAT_MESSAGES_RECEIVED": NP_STAT_MESSAGES_RECEIVED,
        "NN_STAT_BYTES_SENT": NP_STAT_BYTES_SENT,
        "NN_STAT_BYTES_RECEIVED": NP_STAT_BYTES_RECEIVED,
        "NN_STAT_CURRENT_SND_PRIORITY": NP_STAT_CURRENT_SND_PRIORITY,
    }
