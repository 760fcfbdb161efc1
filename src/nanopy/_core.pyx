# cython: language_level=3
"""The compiled backend: a one-to-one rendering of the C core for the Python layer.

Every function here takes and returns plain Python values and raises NNError on failure.
The GIL is released exactly around calls that may block; a call that can finish at once is
tried first with the GIL held, because releasing and re-taking it costs more than the call.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport INT64_MIN, int64_t, uint64_t
from libc.string cimport memcpy

from nanopy.errors import error_for

# Sends of at most this many bytes are copied with the GIL held (cheaper than releasing it).
DEF SMALL = 65536
DEF BATCH = 256

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


def nn_socket(int domain, int protocol):
    """Create an SP socket; returns its integer id."""
    return _check(np_socket(domain, protocol))


def nn_close(int s):
    """Close a socket, first giving queued messages up to NN_LINGER ms to leave."""
    cdef int rc
    with nogil:
        rc = np_close(s)
    _check(rc)


cdef object _as_bytes(value):
    if isinstance(value, str):
        return (<str>value).encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return None


def nn_setsockopt(int s, int level, int option, value):
    """Set a socket option: an int, or bytes/str for names and subscriptions."""
    cdef int ival
    cdef bytes b
    cdef int rc
    wants_bytes = (level == 0 and option == 15) or (level == 33 and option in (1, 2))
    if wants_bytes:
        data = _as_bytes(value)
        if data is None:
            raise error_for(22, "option value must be bytes or str")
        b = data
        rc = np_setsockopt(s, level, option, PyBytes_AS_STRING(b), len(b))
    else:
        if isinstance(value, (bytes, str, bytearray, memoryview)) or not hasattr(value, "__index__"):
            raise error_for(22, "option value must be an int")
        v = value.__index__()
        if v < -2147483648 or v > 2147483647:
            raise error_for(22, "option value out of range for a C int")
        ival = v
        rc = np_setsockopt(s, level, option, &ival, sizeof(int))
    _check(rc)


def nn_getsockopt(int s, int level, int option):
    """Read a socket option: an int, or a str for NN_SOCKET_NAME."""
    cdef char buf[128]
    cdef size_t size = sizeof(buf)
    cdef int ival = 0
    cdef int rc
    if level == 0 and option == 15:
        rc = np_getsockopt(s, level, option, buf, &size)
        _check(rc)
        return buf[:min(size, sizeof(buf))].decode("utf-8", "replace")
    size = sizeof(int)
    _check(np_getsockopt(s, level, option, &ival, &size))
    return ival


cdef bytes _addr_bytes(addr):
    if isinstance(addr, str):
        return (<str>addr).encode("utf-8")
    if isinstance(addr, bytes):
        return <bytes>addr
    raise error_for(22, "address must be str or bytes")


def nn_bind(int s, addr):
    """Bind to an address; returns the endpoint id."""
    cdef bytes b = _addr_bytes(addr)
    if b"\0" in b:
        raise error_for(22)
    cdef const char *c = b
    cdef int rc
    with nogil:
        rc = np_bind(s, c)
    return _check(rc)


def nn_connect(int s, addr):
    """Connect to an address (asynchronously, retrying forever); returns the endpoint id."""
    cdef bytes b = _addr_bytes(addr)
    if b"\0" in b:
        raise error_for(22)
    cdef const char *c = b
    cdef int rc
    with nogil:
        rc = np_connect(s, c)
    return _check(rc)


def nn_shutdown(int s, int eid):
    """Remove one endpoint and every connection made through it."""
    cdef int rc
    with nogil:
        rc = np_shutdown(s, eid)
    _check(rc)


cdef int _send_iov(int s, np_iov *iov, int n, const void *hdr, size_t hdr_len, int has_hdr,
                   int flags, size_t total) except? -1:
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    if total <= SMALL or (flags & NP_DONTWAIT):
        rc = np_send(s, iov, n, hdr, hdr_len, has_hdr, flags | NP_DONTWAIT, &deadline)
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


def nn_send(int s, data, int flags=0):
    """Send one message from any bytes-like object; returns the number of bytes sent."""
    cdef Py_buffer view
    cdef np_iov iov
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        iov.base = view.buf
        iov.len = <size_t>view.len
        return _send_iov(s, &iov, 1, NULL, 0, 0, flags, iov.len)
    finally:
        PyBuffer_Release(&view)


def nn_sendmsg(int s, iov, control=None, int flags=0):
    """Send the concatenation of the parts in ``iov`` as one message, with an optional SP
    header (``control``, raw sockets only)."""
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


def nn_recv(int s, int flags=0):
    """Receive one message as bytes."""
    cdef np_msg *m = _recv_msg(s, flags)
    try:
        return PyBytes_FromStringAndSize(<const char *>np_msg_body(m),
                                         <Py_ssize_t>np_msg_body_len(m))
    finally:
        np_msg_free(m)


def nn_recv_msg(int s, int flags=0):
    """Receive one message as a zero-copy Message object."""
    return _wrap(_recv_msg(s, flags))


def nn_recv_into(int s, buffer, int flags=0):
    """Receive into a writable buffer; returns the full message size (which may exceed the
    buffer: the message is then truncated, as C nn_recv does)."""
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
        return size
    finally:
        if m is not NULL:
            np_msg_free(m)
        PyBuffer_Release(&view)


def nn_recvmsg(int s, int flags=0):
    """Receive one message; returns (body, header). The header is empty on cooked sockets."""
    cdef np_msg *m = _recv_msg(s, flags)
    try:
        return (PyBytes_FromStringAndSize(<const char *>np_msg_body(m),
                                          <Py_ssize_t>np_msg_body_len(m)),
                PyBytes_FromStringAndSize(<const char *>np_msg_hdr(m),
                                          <Py_ssize_t>np_msg_hdr_len(m)))
    finally:
        np_msg_free(m)


def send_many(int s, messages, int flags=0):
    """Send every message of a sequence with one GIL release; returns how many were sent.

    Blocks (honouring NN_SNDTIMEO) when the pipe is full; with NN_DONTWAIT it stops at the
    first message that would block and returns the count sent so far.
    """
    items = messages if isinstance(messages, (list, tuple)) else list(messages)
    cdef int n = len(items)
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
                rc = np_send_batch(s, vec, n, flags, &deadline, &sent)
            if rc == -4:
                PyErr_CheckSignals()
                continue
            break
        if rc < 0 and not (rc == -11 and sent > 0):
            raise _error(rc, s, "send")
        return sent
    finally:
        for i in range(got):
            PyBuffer_Release(&views[i])
        PyMem_Free(views)
        PyMem_Free(vec)


def recv_many(int s, int max_messages, int flags=0):
    """Receive up to ``max_messages`` messages with one GIL release: waits (honouring
    NN_RCVTIMEO) for the first, then takes whatever else is already queued."""
    if max_messages <= 0:
        raise error_for(22, "max_messages must be positive")
    cdef int cap = max_messages if max_messages < BATCH else BATCH
    cdef np_msg *msgs[BATCH]
    cdef int64_t deadline = DEADLINE_UNSET
    cdef int rc
    rc = np_recv_batch(s, msgs, cap, flags | NP_DONTWAIT, &deadline)
    if rc == -11 and not (flags & NP_DONTWAIT):
        while True:
            with nogil:
                rc = np_recv_batch(s, msgs, cap, flags, &deadline)
            if rc == -4:
                PyErr_CheckSignals()
                continue
            break
    if rc < 0:
        raise _error(rc, s, "recv")
    out = [None] * rc
    for i in range(rc):
        out[i] = PyBytes_FromStringAndSize(<const char *>np_msg_body(msgs[i]),
                                           <Py_ssize_t>np_msg_body_len(msgs[i]))
        np_msg_free(msgs[i])
    return out


def nn_poll(fds, int timeout=-1):
    """Wait until some socket is ready; ``fds`` holds (socket, NN_POLLIN|NN_POLLOUT) pairs.
    Returns the list of revents, one per entry (all 0 on timeout)."""
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
            socks[i] = sock
            events[i] = ev
            revents[i] = 0
        while True:
            with nogil:
                rc = np_poll(socks, events, revents, n, timeout)
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


def nn_device(int s1, int s2):
    """Forward messages between two raw sockets (s2 = -1: loop back into s1) until a socket
    closes or nn_term() is called; always ends by raising NNError."""
    cdef int rc
    while True:
        with nogil:
            rc = np_device(s1, s2)
        if rc == -4:
            PyErr_CheckSignals()
            continue
        raise _error(rc)


def nn_term():
    """Shut the library down: every blocked and later call raises ETERM."""
    with nogil:
        np_term()


def nn_get_statistic(int s, int stat):
    """Read one NN_STAT_* counter or gauge of a socket."""
    cdef uint64_t v = 0
    _check(np_get_statistic(s, stat, &v))
    return v
