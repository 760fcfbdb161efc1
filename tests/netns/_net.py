"""Hosts made of network namespaces: each host is a namespace with one interface (eth0)
whose other end is a port of a bridge in a "switch" namespace. Nothing leaves the machine.
A link is cut by taking the host's switch port down (the host's own interface loses its
carrier: packets are dropped, no reset is sent, as with a pulled cable).

Namespace and interface names carry this process's id and a counter, so runs (and tests)
never collide; Net.close() kills every peer and deletes every namespace, and the fixture
calls it whatever the test's outcome."""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "peer.py")
LONG = os.environ.get("NANOPY_LONG", "") not in ("", "0")
RESULTS = os.environ.get("NANOPY_NETNS_RESULTS", "/tmp/nanopy-netns-results.jsonl")
_ids = itertools.count()


def pick(short: Any, long: Any) -> Any:
    """The CI value, or the long one under NANOPY_LONG=1."""
    return long if LONG else short


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def netns_unusable() -> Optional[str]:
    """Why network namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "tests/netns needs root (ip netns add)"
    name = f"npchk{os.getpid()}"
    try:
        r = sh("ip", "netns", "add", name, check=False)
    except FileNotFoundError:
        return "iproute2's ip command is not installed"
    if r.returncode != 0:
        return f"ip netns add failed: {r.stderr.strip()}"
    sh("ip", "netns", "del", name, check=False)
    return None


def record(case: str, **values: Any) -> None:
    """Print a result line (seen with pytest -s) and append it to the results file."""
    line = json.dumps({"case": case, "mode": "long" if LONG else "short", **values})
    print(f"[netns] {line}", flush=True)
    with open(RESULTS, "a") as f:
        f.write(line + "\n")


class Peer:
    """peer.py running inside a host's namespace; its stdout lines are JSON events."""

    def __init__(self, host: Host, role: str, url: str, *args: str) -> None:
        self.host = host
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", host.ns, sys.executable, PEER, role, url, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env)
        self.events: queue.Queue[Optional[dict[str, Any]]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                continue
        self.events.put(None)

    def next(self, timeout: float = 20.0) -> dict[str, Any]:
        try:
            ev = self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.host.name}: no event in {timeout} s") from None
        if ev is None:
            self.proc.wait(5)
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"{self.host.name}: peer exited rc={self.proc.returncode}: "
                                 f"{err[-2000:]}")
        self.seen.append(ev)
        return ev

    def wait(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 20.0,
             what: str = "an event") -> dict[str, Any]:
        """The first coming event for which ``pred`` holds (earlier ones are kept in seen)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.host.name}: no {what} within {timeout} s")
            ev = self.next(left)
            if pred(ev):
                return ev

    def drain(self) -> list[dict[str, Any]]:
        """Events that arrived so far, without waiting."""
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                return self.seen
            if ev is None:
                return self.seen
            self.seen.append(ev)

    def command(self, cmd: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        # `ip netns exec` execs the interpreter, so proc is the peer itself.


class Host:
    def __init__(self, net: Net, index: int) -> None:
        self.net = net
        self.index = index
        self.name = f"h{index}"
        self.ns = f"{net.prefix}h{index}"
        self.port = f"{net.prefix}p{index}"  # the switch side of the host's link
        self.addr = f"10.66.{index // 250}.{index % 250 + 1}"
        self.peers: list[Peer] = []
        self.deleted = False

    def url(self, port: int) -> str:
        return f"tcp://{self.addr}:{port}"

    def run(self, role: str, url: str, *args: str) -> Peer:
        p = Peer(self, role, url, *args)
        self.peers.append(p)
        return p

    def cut(self, how: str = "link-down") -> None:
        """Cut the host off. ``link-down``: its switch port goes down, so the host's own
        interface loses its carrier (the host knows). ``blackhole``: the switch stops
        forwarding the port while every link stays up, as when the cable is cut further
        along the path (the host knows nothing; TCP backs off its retransmissions)."""
        if how == "blackhole":
            sh("bridge", "-n", self.net.switch, "link", "set", "dev", self.port, "state", "0")
        else:
            sh("ip", "-n", self.net.switch, "link", "set", self.port, "down")
        self.cut_how = how

    def heal(self) -> None:
        if getattr(self, "cut_how", "") == "blackhole":
            sh("bridge", "-n", self.net.switch, "link", "set", "dev", self.port, "state", "3")
        else:
            sh("ip", "-n", self.net.switch, "link", "set", self.port, "up")

    def sysctl(self, key: str, value: int) -> None:
        sh("ip", "netns", "exec", self.ns, "sysctl", "-qw", f"{key}={value}")

    def delete(self) -> None:
        """The host vanishes: its processes die and its namespace (and link) are gone."""
        for p in self.peers:
            p.kill()
        sh("ip", "netns", "del", self.ns, check=False)
        self.deleted = True


class Net:
    def __init__(self) -> None:
        self.prefix = f"np{os.getpid() % 100000}x{next(_ids)}"
        self.switch = f"{self.prefix}sw"
        self.hosts: list[Host] = []
        sh("ip", "netns", "add", self.switch)
        sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.switch, "link", "set", "br0", "up")

    def add_hosts(self, n: int) -> list[Host]:
        made = []
        for _ in range(n):
            h = Host(self, len(self.hosts))
            self.hosts.append(h)
            sh("ip", "netns", "add", h.ns)
            sh("ip", "link", "add", "eth0", "netns", h.ns, "type", "veth",
               "peer", "name", h.port, "netns", self.switch)
            sh("ip", "-n", h.ns, "addr", "add", f"{h.addr}/16", "dev", "eth0")
            sh("ip", "-n", h.ns, "link", "set", "eth0", "up")
            sh("ip", "-n", h.ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.switch, "link", "set", h.port, "master", "br0")
            sh("ip", "-n", self.switch, "link", "set", h.port, "up")
            made.append(h)
        return made

    def close(self) -> None:
        for h in self.hosts:
            for p in h.peers:
                p.kill()
        for h in self.hosts:
            if not h.deleted:
                sh("ip", "netns", "del", h.ns, check=False)
        sh("ip", "netns", "del", self.switch, check=False)
