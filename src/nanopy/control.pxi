# Per-message properties: nanomsg's control data (nn_sendmsg / nn_recvmsg) rendered as a
# sequence of (level, type, data) entries, and the message's NN_WS_MSG_TYPE.
#
# Two properties exist, as in nanomsg: (PROTO_SP, SP_HDR, header bytes) and
# (NN_WS, NN_WS_MSG_TYPE, one byte: 1 text or 2 binary). The C core keeps the second as the
# message's frame kind without interpreting it; ws and wss write it on receive and honour it
# on send, every other transport ignores it (as nanomsg's do). Included by _core.pyx.

from cpython.buffer cimport PyObject_CheckBuffer

from nanopy.constants import PROTO_SP, SP_HDR

_CONTROL_SHAPE = (
    "control must be bytes-like (the SP header) or a sequence of (level, type, data) entries"
)


cdef int _ws_kind(value) except -1:
    """The frame kind for an NN_WS_MSG_TYPE value given to one message (None: none)."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and (
            value == NP_WS_MSG_TYPE_TEXT or value == NP_WS_MSG_TYPE_BINARY):
        return <int>value
    raise error_for(EINVAL, f"NN_WS_MSG_TYPE must be NN_WS_MSG_TYPE_TEXT (1) or "
                            f"NN_WS_MSG_TYPE_BINARY (2), not {value!r}")


cdef int _ws_kind_of_data(data) except -1:
    """The frame kind named by an (NN_WS, NN_WS_MSG_TYPE) entry's data: one byte, or an int."""
    if isinstance(data, int) and not isinstance(data, bool):
        return _ws_kind(data)
    if not PyObject_CheckBuffer(data):
        raise error_for(EINVAL, f"(NN_WS, NN_WS_MSG_TYPE) data must be one byte, not "
                                f"{type(data).__name__}")
    raw = data if isinstance(data, bytes) else bytes(memoryview(data))
    if len(raw) != 1:
        raise error_for(EINVAL, f"(NN_WS, NN_WS_MSG_TYPE) data must be one byte (1 text or "
                                f"2 binary), got {len(raw)} bytes")
    return _ws_kind(raw[0])


cdef tuple _split_control(control):
    """(SP header or None, frame kind) from nn_sendmsg's control argument. Everything is
    checked before anything is sent, so a bad entry loses nothing."""
    if control is None or PyObject_CheckBuffer(control):
        return control, 0
    if isinstance(control, str):
        raise TypeError(_CONTROL_SHAPE)
    try:
        entries = list(control)
    except TypeError:
        raise TypeError(_CONTROL_SHAPE) from None
    header = None
    kind = -1
    for entry in entries:
        try:
            level, ctype, data = entry
        except (TypeError, ValueError):
            raise error_for(EINVAL, f"control entry {entry!r} is not a (level, type, data) "
                                    f"triple") from None
        if level == PROTO_SP and ctype == SP_HDR:
            if header is not None:
                raise error_for(EINVAL, "control has two (PROTO_SP, SP_HDR) entries")
            if not PyObject_CheckBuffer(data):
                raise error_for(EINVAL, f"(PROTO_SP, SP_HDR) data must be bytes-like (the "
                                        f"header), not {type(data).__name__}")
            header = data
        elif level == NP_WS and ctype == NP_WS_MSG_TYPE:
            if kind >= 0:
                raise error_for(EINVAL, "control has two (NN_WS, NN_WS_MSG_TYPE) entries")
            kind = _ws_kind_of_data(data)
        else:
            raise error_for(EINVAL, f"unknown control entry (level {level!r}, type {ctype!r}): "
                                    f"known are (PROTO_SP, SP_HDR) and (NN_WS, NN_WS_MSG_TYPE)")
    return header, (kind if kind > 0 else 0)


cdef list _control_of(np_msg *m):
    """nn_recvmsg's control entries for a received message: the SP header first (always, as
    nanomsg writes it), then NN_WS_MSG_TYPE when the message came over ws or wss."""
    header = PyBytes_FromStringAndSize(<const char *>np_msg_hdr(m), <Py_ssize_t>np_msg_hdr_len(m))
    entries = [(PROTO_SP, SP_HDR, header)]
    cdef int kind = np_msg_kind(m)
    if kind:
        entries.append((NP_WS, NP_WS_MSG_TYPE, bytes((kind,))))
    return entries
