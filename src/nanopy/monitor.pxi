# Connections you can see: events (csrc/core/monitor.c), endpoint URLs, message pipes and the
# tcp keep-alive option. Included by _core.pyx.
# nanopy.monitor builds the public Monitor and PipeEvent on top of MonitorHandle.

from libc.stdint cimport uint32_t

from os import getpid as _getpid
from time import monotonic as _monotonic


cdef extern from "core.h" nogil:
    ctypedef struct np_monitor:
        pass

    ctypedef struct np_pipe_event:
        int kind
        uint32_t pipe
        int endpoint
        uint64_t dropped
        char address[128]

    int np_monitor_open(int s, int capacity, np_monitor **out)
    int np_monitor_fd(const np_monitor *m)
    int np_monitor_take(np_monitor *m, np_pipe_event *ev)
    int np_monitor_wait(np_monitor *m, int timeout_ms)
    void np_monitor_close(np_monitor *m)
    void np_monitor_free(np_monitor *m)
    int np_endpoint_url(int s, int eid, char *buf, size_t len)
    uint32_t np_msg_pipe(const np_msg *m)
    int NP_TCP_PRIVATE_LEVEL
    int NP_TCP_KEEPALIVE


# (level, option) of nanopy's tcp keep-alive socket option (SO_KEEPALIVE on tcp connections).
TCP_KEEPALIVE_OPTION = (NP_TCP_PRIVATE_LEVEL, NP_TCP_KEEPALIVE)

EVENT_KINDS = ("connected", "disconnected", "connect_failed", "accept_failed",
               "handshake_failed")


cdef tuple _event_tuple(np_pipe_event *ev):
    address = (<bytes>ev.address).decode("utf-8", "replace")
    return (EVENT_KINDS[ev.kind - 1], ev.pipe, address, ev.endpoint, ev.dropped)


cdef class MonitorHandle:
    """The C side of a monitor: a bounded queue of connection events of one socket, with a
    descriptor that is readable while an event waits (or once closed)."""

    cdef np_monitor *_m
    cdef int _pid

    def __cinit__(self, s, capacity):
        cdef int c_s = _cint(s, EBADF)
        cdef int c_capacity = _cint(capacity, EINVAL)
        self._pid = _getpid()
        _check(np_monitor_open(c_s, c_capacity, &self._m))

    def __dealloc__(self):
        # In a forked child the monitor is a copy of the parent's (its locks may be held by a
        # thread that does not exist here, its descriptor is shared): leave it alone.
        if self._m is not NULL and self._pid == _getpid():
            np_monitor_close(self._m)
            np_monitor_free(self._m)
        self._m = NULL

    cdef int _usable(self) except -1:
        if self._pid != _getpid():
            raise error_for(EBADF, "monitor created in parent process")
        return 0

    def fileno(self):
        """The readiness descriptor (for select/poll and event loops)."""
        return np_monitor_fd(self._m)

    def take(self):
        """The oldest event as (kind, pipe, address, endpoint, dropped), or None when there
        is none yet; EBADF once the monitor (or its socket) is closed and nothing is left."""
        cdef np_pipe_event ev
        self._usable()
        cdef int rc = np_monitor_take(self._m, &ev)
        if rc == -EAGAIN:
            return None
        if rc < 0:
            raise error_for(-rc, "monitor is closed")
        return _event_tuple(&ev)

    def recv(self, timeout):
        """Wait up to ``timeout`` ms (negative: forever) for an event; ETIMEDOUT if none."""
        cdef int c_timeout = _cint(timeout, EINVAL)
        cdef np_pipe_event ev
        cdef int rc, wait_ms = c_timeout
        self._usable()
        deadline = None if c_timeout < 0 else _monotonic() + c_timeout / 1000.0
        while True:
            rc = np_monitor_take(self._m, &ev)
            if rc == 0:
                return _event_tuple(&ev)
            if rc != -EAGAIN:
                raise error_for(-rc, "monitor is closed")
            if deadline is not None:
                wait_ms = <int>max(0.0, (deadline - _monotonic()) * 1000.0 + 0.999)
            with nogil:
                rc = np_monitor_wait(self._m, wait_ms)
            if rc == -EINTR:
                PyErr_CheckSignals()
            elif rc == -ETIMEDOUT:
                rc = np_monitor_take(self._m, &ev)
                if rc == 0:
                    return _event_tuple(&ev)
                raise error_for(ETIMEDOUT if rc == -EAGAIN else -rc)

    def close(self):
        """Stop collecting events and wake a thread waiting in recv (it gets EBADF)."""
        if self._m is not NULL and self._pid == _getpid():
            np_monitor_close(self._m)


def endpoint_url(s, eid):
    """The URL of an endpoint as its transport resolved it (a bind to port 0: with the port
    the kernel chose), else as given."""
    cdef int c_s = _cint(s, EBADF)
    cdef int c_eid = _cint(eid, EINVAL)
    cdef char buf[256]
    cdef int rc
    with nogil:
        rc = np_endpoint_url(c_s, c_eid, buf, sizeof(buf))
    _check(rc)
    return buf[:min(rc, 255)].decode("utf-8", "replace")
