# cython: language_level=3
"""The compiled backend: a one-to-one rendering of the C core for the Python layer.

Every function here takes and returns plain Python values and raises NNError on failure.
The GIL is released exactly around calls that may block; a call that can finish at once is
tried first with the GIL held, because releasing and re-taking it costs more than the call.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport Py_DECREF, Py_INCREF
from libc.stdint cimport INT64_MIN, int64_t, uint64_t
from libc.string cimport memcpy

from nanopy.errors import Again, error_for

# Sends of at most this many bytes are copied with the GIL held (cheaper than releasing it).
DEF SMALL = 65536
DEF BATCH = 256
# bytes objects at least this large are lent to the message instead of copied (they are
# immutable); over inproc the receiver gets the very same object back.
DEF ZERO_COPY_MIN = 65536

cdef int64_t DEADLINE_UNSET = INT64_MIN

_EFSM_MESSAGES = {
    ("recv", 48): "recv() on REQ before send(): there is no request waiting for a reply",
    ("recv", 98): "recv() on SURVEYOR outside a survey: send a survey first",
    ("send", 49): "send() on REP before recv(): there is no request to reply to",
    ("send", 99): "send() on RESPONDENT before recv(): there is no survey to answer",
}


cdef object _error(int rc, int s=-1, str op=""):
    """Build the NNError for a negative return code."""
    cdef int errnum = -rc
    cdef int proto = 0
    cdef size_t plen = sizeof(int)
    message = None
    if errnum == NP_EFSM and s >= 0:
        if np_getsockopt(s, 0, 13, &proto, &plen) == 0:
            message = _EFSM_MESSAGES.get((op, proto))
    return error_for(errnum, message)


cdef inline int _cint(object value, int errnum) except? -1:
    """A Python int as a C int; out of range or not an int raises NNError(errnum)."""
    try:
        return value
    except (OverflowError, TypeError):
        raise error_for(errnum) from None


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
        while rc == -11 and not (flags & NP_DONTWAIT):
            with nogil:
                rc = np_send_owned(s, m, flags, &deadline)
            if rc == -4:
                PyErr_CheckSignals()
                rc = -11
    except BaseException:
        np_msg_free(m)
        raise
    if rc < 0:
        np_msg_free(m)  # gives the bytes object back (through the deferred queue)
        _drain_released()
        raise _error(rc, s, "send")
    return <int>(size if size < 0x7fffffff else 0x7fffffff)


cdef object _body_object(np_msg *m):
    """The received body as bytes: the sender's own object when it was lent (inproc),
    else a copy."""
    cdef size_t size = np_msg_body_len(m)
    cdef void *owner = np_msg_external_owner(m, np_defer_release, size)
    if owner is not NULL:
        return <object>owner
    return PyBytes_FromStringAndSize(<const char *>np_msg_body(m), <Py_ssize_t>size)


cdef inline int _check(int rc) except -1:
    if rc < 0:
        raise _error(rc)
    return rc


cdef class Message:
    """A received message whose body is exposed through the buffer protocol without a copy.

    ``bytes(msg)`` copies it; ``memoryview(msg)`` does not. ``header`` is the SP header
    (non-empty only on raw sockets).
    """

    def __dealloc__(self):
        if self._msg is not NULL:
            np_msg_free(self._msg)
            self._msg = NULL

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


def nn_socket(domain, protocol):
    """Create an SP socket; returns its integer id."""
    cdef int c_domain = _cint(domain, 97)
    cdef int c_protocol = _cint(protocol, 22)
    return _check(np_socket(c_domain, c_protocol))


def nn_close(s):
    """Close a socket, first giving queued messages up to NN_LINGER ms to leave."""
    cdef int c_s = _cint(s, 9)
    cdef int rc
    with nogil:
        rc = np_close(c_s)
    _drain_released()
    _check(rc)


cdef object _as_bytes(value):
    if isinstance(value, str):
        return (<str>value).encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return None


def nn_setsockopt(s, level, option, value):
    """Set a socket option: an int, or bytes/str for names and subscriptions."""
    cdef int c_s = _cint(s, 9)
    cdef int c_level = _cint(level, 92)
    cdef int c_option = _cint(option, 92)
    cdef int ival
    cdef bytes b
    cdef int rc
    # Names, subscriptions, and the TLS configuration (private level -1001, see tls.py).
    wants_bytes = ((c_level == 0 and c_option == 15) or (c_level == 33 and c_option in (1, 2))
                   or (c_level == -1001 and c_option == 1))
    if wants_bytes:
        data = _as_bytes(value)
        if data is None:
            raise error_for(22, "option value must be bytes or str")
        b = data
        rc = np_setsockopt(c_s, c_level, c_option, PyBytes_AS_STRING(b), len(b))
    else:
        if isinstance(value, (bytes, str, bytearray, memoryview)) or not hasattr(value, "__index__"):
            raise error_for(22, "option value must be an int")
        v = value.__index__()
        if v < -2147483648 or v > 2147483647:
            raise error_for(22, "option value out of range for a C int")
        ival = v
        rc = np_setsockopt(c_s, c_level, c_option, &ival, sizeof(int))
    _check(rc)


def nn_getsockopt(s, level, option):
    """Read a socket option: an int, or a str for NN_SOCKET_NAME."""
    cdef int c_s = _cint(s, 9)
    cdef int c_level = _cint(level, 92)
    cdef int c_option = _cint(option, 92)
    cdef char buf[128]
    cdef size_t size = sizeof(buf)
    cdef int ival = 0
    cdef int rc
    if c_level == 0 and c_option == 15:
        rc = np_getsockopt(c_s, c_level, c_option, buf, &size)
        _check(rc)
        return buf[:min(size, sizeof(buf))].decode("utf-8", "replace")
    size = sizeof(int)
    _check(np_getsockopt(c_s, c_level, c_option, &ival, &size))
    return ival


cdef bytes _addr_bytes(addr):
    if isinstance(addr, str):
        return (<str>addr).encode("utf-8")
    if isinstance(addr, bytes):
        return <bytes>addr
    raise error_for(22, "address must be str or bytes")


cdef extern from "transports/tls_engine.h" nogil:
    int np_tls_take_last_error(char *buf, size_t cap)


cdef object _endpoint_error(int rc, bytes addr):
    """The error of a failed bind/connect; TLS endpoints say why (missing configuration,
    unreadable certificate, no OpenSSL)."""
    cdef char why[256]
    if np_tls_take_last_error(why, sizeof(why)):
        scheme = addr.split(b"://", 1)[0].decode("utf-8", "replace")
        return error_for(-rc, f"{scheme}://: {why.decode('utf-8', 'replace')}")
    return _error(rc)


def nn_bind(s, addr):
    """Bind to an address; returns the endpoint id."""
    cdef int c_s = _cint(s, 9)
    cdef bytes b = _addr_bytes(addr)
    if b"\0" in b:
        raise error_for(22)
    cdef const char *c = b
    cdef int rc
    np_tls_take_last_error(NULL, 0)
    with nogil:
        rc = np_bind(c_s, c)
    if rc < 0:
        raise _endpoint_error(rc, b)
    return rc


def nn_connect(s, addr):
    """Connect to an address (asynchronously, retrying forever); returns the endpoint id."""
    cdef int c_s = _cint(s, 9)
    cdef bytes b = _addr_bytes(addr)
    if b"\0" in b:
        raise error_for(22)
    cdef const char *c = b
    cdef int rc
    np_tls_take_last_error(NULL, 0)
    with nogil:
        rc = np_connect(c_s, c)
    if rc < 0:
        raise _endpoint_error(rc, b)
    return rc


def nn_shutdown(s, eid):
    """Remove one endpoint and every connection made through it."""
    cdef int c_s = _cint(s, 9)
    cdef int c_eid = _cint(eid, 22)
    cdef int rc
    with nogil:
        rc = np_shutdown(c_s, c_eid)
    _check(rc)


cdef int _send_iov(int s, np_iov *iov, int n, const void *hdr, size_t hdr_len, int has_hdr,
                   int flags, size_t total) except? -1:
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    if total <= SMALL or (flags & NP_DONTWAIT):
        # Try at once with the GIL held (cheaper than releasing it), except when a receiver
        # in this process may be woken: then send without the GIL (NP_SEND_GIL_HELD).
        rc = np_send(s, iov, n, hdr, hdr_len, has_hdr, flags | NP_DONTWAIT | NP_SEND_GIL_HELD,
                     &deadline)
        if rc == -115:  # EINPROGRESS: inproc peers; nothing was sent
            rc = -11
            if flags & NP_DONTWAIT:
                with nogil:
                    rc = np_send(s, iov, n, hdr, hdr_len, has_hdr, flags, &deadline)
        if rc != -11 or (flags & NP_DONTWAIT):
            if rc < 0:
                raise _error(rc, s, "send")
            return rc
    while True:
        with nogil:
            rc = np_send(s, iov, n, hdr, hdr_len, has_hdr, flags, &deadline)
        if rc == -4:  # EINTR: let Python run its signal handlers, then carry on
            PyErr_CheckSignals()
            continue
        if rc < 0:
            raise _error(rc, s, "send")
        return rc


def nn_send(s, data, flags=0):
    """Send one message from any bytes-like object; returns the number of bytes sent."""
    cdef int c_s = _cint(s, 9)
    cdef int c_flags = _cint(flags, 22)
    cdef Py_buffer view
    cdef np_iov iov
    if type(data) is bytes and PyBytes_GET_SIZE(data) >= ZERO_COPY_MIN:
        return _send_lent(c_s, <bytes>data, c_flags)
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        iov.base = view.buf
        iov.len = <size_t>view.len
        return _send_iov(c_s, &iov, 1, NULL, 0, 0, c_flags, iov.len)
    finally:
        PyBuffer_Release(&view)


def nn_sendmsg(s, iov, control=None, flags=0):
    """Send the concatenation of the parts in ``iov`` as one message, with an optional SP
    header (``control``, raw sockets only)."""
    cdef int c_s = _cint(s, 9)
    cdef int c_flags = _cint(flags, 22)
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
        return _send_iov(c_s, vec, n, hview.buf, <size_t>hview.len, has_hdr, c_flags, total)
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
    if rc != -11 or (flags & NP_DONTWAIT):
        raise _error(rc, s, "recv")
    while True:
        with nogil:
            rc = np_recv(s, &m, flags, &deadline)
        if rc == 0:
            return m
        if rc == -4:
            PyErr_CheckSignals()
            continue
        raise _error(rc, s, "recv")


def nn_recv(s, flags=0):
    """Receive one message as bytes."""
    cdef int c_s = _cint(s, 9)
    cdef int c_flags = _cint(flags, 22)
    cdef np_msg *m = _recv_msg(c_s, c_flags)
    try:
        return _body_object(m)
    finally:
        np_msg_free(m)
        _drain_released()


def try_recv(s):
    """Receive one message if one is waiting, else return None (no exception: the asyncio
    fast path calls this before every wait)."""
    cdef int c_s = _cint(s, 9)
    cdef int64_t deadline = DEADLINE_UNSET
    cdef np_msg *m = NULL
    cdef int rc = np_recv(c_s, &m, NP_DONTWAIT, &deadline)
    if rc == -11:
        return None
    if rc < 0:
        raise _error(rc, c_s, "recv")
    try:
        return _body_object(m)
    finally:
        np_msg_free(m)
        _drain_released()


def try_send(s, data):
    """Send one message if it can go without waiting; returns the size, or None."""
    cdef int c_s = _cint(s, 9)
    cdef Py_buffer view
    cdef np_iov iov
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        iov.base = view.buf
        iov.len = <size_t>view.len
        rc = np_send(c_s, &iov, 1, NULL, 0, 0, NP_DONTWAIT, &deadline)
    finally:
        PyBuffer_Release(&view)
    if rc == -11:
        return None
    if rc < 0:
        raise _error(rc, c_s, "send")
    return rc


def nn_recv_msg(s, flags=0):
    """Receive one message as a zero-copy Message object."""
    cdef int c_s = _cint(s, 9)
    cdef int c_flags = _cint(flags, 22)
    return _wrap(_recv_msg(c_s, c_flags))


def nn_recv_into(s, buffer, flags=0):
    """Receive into a writable buffer; returns the full message size (which may exceed the
    buffer: the message is then truncated, as C nn_recv does)."""
    cdef int c_s = _cint(s, 9)
    cdef int c_flags = _cint(flags, 22)
    cdef Py_buffer view
    PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE)
    cdef np_msg *m = NULL
    cdef size_t n, size
    try:
        m = _recv_msg(c_s, c_flags)
        size = np_msg_body_len(m)
        n = size if size < <size_t>view.len else <size_t>view.len
        if n:
            memcpy(view.buf, np_msg_body(m), n)
        return size
    finally:
        if m is not NULL:
            np_msg_free(m)
        PyBuffer_Release(&view)


def nn_recvmsg(s, flags=0):
    """Receive one message; returns (body, header). The header is empty on cooked sockets."""
    cdef int c_s = _cint(s, 9)
    cdef int c_flags = _cint(flags, 22)
    cdef np_msg *m = _recv_msg(c_s, c_flags)
    try:
        return (PyBytes_FromStringAndSize(<const char *>np_msg_body(m),
                                          <Py_ssize_t>np_msg_body_len(m)),
                PyBytes_FromStringAndSize(<const char *>np_msg_hdr(m),
                                          <Py_ssize_t>np_msg_hdr_len(m)))
    finally:
        np_msg_free(m)


def send_many(s, messages, flags=0):
    """Send every message of a sequence with one GIL release; returns how many were sent.

    Blocks (honouring NN_SNDTIMEO) when the pipe is full. When NN_DONTWAIT, or the timeout,
    stops the batch after some messages went, it returns the count sent so far (resend the
    rest); it raises only when none was sent.
    """
    cdef int c_s = _cint(s, 9)
    cdef int c_flags = _cint(flags, 22)
    items = messages if isinstance(messages, (list, tuple)) else list(messages)
    cdef int n = len(items)
    cdef int lent = 0
    if n and all(type(m) is bytes and PyBytes_GET_SIZE(m) >= ZERO_COPY_MIN for m in items):
        # Large messages: lending each buffer beats copying, and per-call costs are noise.
        for m in items:
            try:
                _send_lent(c_s, <bytes>m, c_flags)
            except Again:
                if lent:
                    return lent
                raise
            lent += 1
        return lent
    cdef Py_buffer *views = <Py_buffer *>PyMem_Malloc(sizeof(Py_buffer) * (n + 1))
    cdef np_iov *vec = <np_iov *>PyMem_Malloc(sizeof(np_iov) * (n + 1))
    cdef int got = 0, sent = 0, rc = 0
    cdef int64_t deadline = DEADLINE_UNSET
    if views is NULL or vec is NULL:
        PyMem_Free(views)
        PyMem_Free(vec)
        raise MemoryError()
    try:
        for i in range(n):
            PyObject_GetBuffer(items[i], &views[i], PyBUF_SIMPLE)
            got += 1
            vec[i].base = views[i].buf
            vec[i].len = <size_t>views[i].len
        while sent < n:
            with nogil:
                rc = np_send_batch(c_s, vec, n, c_flags, &deadline, &sent)
            if rc == -4:
                PyErr_CheckSignals()
                continue
            break
        # Some messages went before a timeout (or NN_DONTWAIT) stopped the batch: report how
        # many, so the caller resends only the rest.
        if rc < 0 and not (rc in (-11, -110) and sent > 0):
            raise _error(rc, c_s, "send")
        return sent
    finally:
        for i in range(got):
            PyBuffer_Release(&views[i])
        PyMem_Free(views)
        PyMem_Free(vec)


def recv_many(s, max_messages, flags=0):
    """Receive up to ``max_messages`` messages with one GIL release: waits (honouring
    NN_RCVTIMEO) for the first, then takes whatever else is already queued."""
    cdef int c_s = _cint(s, 9)
    cdef int c_max_messages = _cint(max_messages, 22)
    cdef int c_flags = _cint(flags, 22)
    if c_max_messages <= 0:
        raise error_for(22, "max_messages must be positive")
    cdef int cap = c_max_messages if c_max_messages < BATCH else BATCH
    cdef np_msg *msgs[BATCH]
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    rc = np_recv_batch(c_s, msgs, cap, c_flags | NP_DONTWAIT, &deadline)
    if rc == -11 and not (c_flags & NP_DONTWAIT):
        while True:
            with nogil:
                rc = np_recv_batch(c_s, msgs, cap, c_flags, &deadline)
            if rc == -4:
                PyErr_CheckSignals()
                continue
            break
    if rc < 0:
        raise _error(rc, c_s, "recv")
    out = [None] * rc
    for i in range(rc):
        out[i] = _body_object(msgs[i])
        np_msg_free(msgs[i])
    _drain_released()
    return out


def nn_poll(fds, timeout=-1):
    """Wait until some socket is ready; ``fds`` holds (socket, NN_POLLIN|NN_POLLOUT) pairs.
    Returns the list of revents, one per entry (all 0 on timeout)."""
    cdef int c_timeout = _cint(timeout, 22)
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
            socks[i] = _cint(sock, 9)
            events[i] = <short>_cint(ev, 22)
            revents[i] = 0
        while True:
            with nogil:
                rc = np_poll(socks, events, revents, n, c_timeout)
            if rc == -4:
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
    """Forward messages between two raw sockets (s2 = -1: loop back into s1) until a socket
    closes or nn_term() is called; always ends by raising NNError."""
    cdef int c_s1 = _cint(s1, 9)
    cdef int c_s2 = _cint(s2, 9)
    cdef int rc
    while True:
        with nogil:
            rc = np_device(c_s1, c_s2)
        if rc == -4:
            PyErr_CheckSignals()
            continue
        raise _error(rc)


def nn_term():
    """Shut the library down: every blocked and later call raises ETERM."""
    with nogil:
        np_term()


def nn_get_statistic(s, stat):
    """Read one NN_STAT_* counter or gauge of a socket."""
    cdef int c_s = _cint(s, 9)
    cdef int c_stat = _cint(stat, 22)
    cdef uint64_t v = 0
    _check(np_get_statistic(c_s, c_stat, &v))
    return v



# ---- contexts (beyond nanomsg, as NNG has them) ---------------------------------------

def ctx_open(s):
    """Open an independent request state on a cooked REQ, REP, SURVEYOR or RESPONDENT socket;
    returns its id. Other socket types raise ENOTSUP."""
    cdef int c_s = _cint(s, 9)
    return _check(np_ctx_open(c_s))


def ctx_close(s, ctx):
    """Close a context; a thread waiting in ctx_recv on it gets EBADF."""
    cdef int c_s = _cint(s, 9)
    cdef int c_ctx = _cint(ctx, 9)
    _check(np_ctx_close(c_s, c_ctx))


def ctx_send(s, ctx, data):
    """Send through a context (REQ: a new request of that context; REP: its reply)."""
    cdef int c_s = _cint(s, 9)
    cdef int c_ctx = _cint(ctx, 9)
    cdef Py_buffer view
    cdef np_iov iov
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        iov.base = view.buf
        iov.len = <size_t>view.len
        rc = np_ctx_send(c_s, c_ctx, &iov, 1, 0, &deadline)
        if rc < 0:
            raise _error(rc, c_s, "send")
        return rc
    finally:
        PyBuffer_Release(&view)


def ctx_recv(s, ctx, flags=0):
    """Receive through a context: REQ waits for the reply to that context's request, REP
    takes the next request and remembers where its reply goes."""
    cdef int c_s = _cint(s, 9)
    cdef int c_ctx = _cint(ctx, 9)
    cdef int c_flags = _cint(flags, 22)
    cdef int64_t deadline = DEADLINE_UNSET
    cdef np_msg *m = NULL
    cdef int rc = np_ctx_recv(c_s, c_ctx, &m, c_flags | NP_DONTWAIT, &deadline)
    if rc == -11 and not (c_flags & NP_DONTWAIT):
        while True:
            with nogil:
                rc = np_ctx_recv(c_s, c_ctx, &m, c_flags, &deadline)
            if rc == -4:
                PyErr_CheckSignals()
                continue
            break
    if rc < 0:
        raise _error(rc, c_s, "recv")
    try:
        return PyBytes_FromStringAndSize(<const char *>np_msg_body(m),
                                         <Py_ssize_t>np_msg_body_len(m))
    finally:
        np_msg_free(m)


def ctx_recv_fd(s, ctx):
    """The descriptor that is readable while ctx_recv would not block (for asyncio)."""
    cdef int c_s = _cint(s, 9)
    cdef int c_ctx = _cint(ctx, 9)
    return _check(np_ctx_recv_fd(c_s, c_ctx))
