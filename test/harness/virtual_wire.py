"""A virtual wire: two network namespaces joined by a veth pair, made and removed per test.

``VirtualWire.create()`` makes namespaces ``ecmt-<pid>-<n>-a`` and ``-b`` with the veth ends
``e<pid><n>a`` / ``e<pid><n>b`` (one in each, up, with their own locally administered MACs,
IPv6 off so the kernel sends nothing of its own). Code runs inside a namespace either as a
subprocess (``run``/``popen``, through ``ip netns exec``) or in the calling thread
(``with wire.inside("a"):`` switches the thread with setns; sockets opened there stay in that
namespace after the block). ``remove()`` deletes both namespaces, which deletes the veth pair.

Names carry the creating process's PID, so ``remove_stale_wires()`` can clean up after a run
that was killed before its finalizers ran.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Iterator, Sequence

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
PREFIX = "ecmt-"
_counter = itertools.count()
_libc = ctypes.CDLL(None, use_errno=True)
_live: set[str] = set()
_live_lock = threading.Lock()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def _setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


@dataclass
class VirtualWire:
    """Two namespaces (``a`` and ``b``) joined by a veth pair."""

    ns: dict[str, str]
    interface: dict[str, str]
    mac: dict[str, bytes]
    removed: bool = field(default=False)

    @classmethod
    def create(cls) -> "VirtualWire":
        """Make the namespaces and the veth pair (needs root)."""
        n = next(_counter)
        pid = os.getpid()
        ns = {s: f"{PREFIX}{pid}-{n}-{s}" for s in "ab"}
        interface = {s: f"e{pid % 1000000}x{n}{s}"[-15:] for s in "ab"}
        mac = {s: bytes([0x02, 0xEC, (pid >> 8) & 0xFF, pid & 0xFF, n & 0xFF, 0xA0 + i])
               for i, s in enumerate("ab")}
        wire = cls(ns, interface, mac)
        with _live_lock:
            _live.update(ns.values())
        try:
            for s in "ab":
                _ip("netns", "add", ns[s])
            _ip("link", "add", "name", interface["a"], "netns", ns["a"], "type", "veth",
                "peer", "name", interface["b"], "netns", ns["b"])
            for s in "ab":
                dev = interface[s]
                wire.run(s, ["sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1"], check=False)
                _ip("-n", ns[s], "link", "set", dev, "address", mac[s].hex(":"))
                _ip("-n", ns[s], "link", "set", dev, "up")
                _ip("-n", ns[s], "link", "set", "lo", "up")
        except BaseException:
            wire.remove()
            raise
        return wire

    def run(self, side: str, argv: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a command inside namespace ``side`` ("a" or "b") and wait for it."""
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(["ip", "netns", "exec", self.ns[side], *argv], **kwargs)

    def popen(self, side: str, argv: Sequence[str], **kwargs) -> subprocess.Popen:
        """Start a command inside namespace ``side``; the caller waits for or kills it."""
        return subprocess.Popen(["ip", "netns", "exec", self.ns[side], *argv], **kwargs)

    @contextlib.contextmanager
    def inside(self, side: str) -> Iterator[None]:
        """Run the block with the calling thread inside namespace ``side``."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(os.path.join(NETNS_DIR, self.ns[side]))
            try:
                yield
            finally:
                if _libc.setns(home, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "could not return to the original namespace")
        finally:
            os.close(home)

    def remove(self) -> None:
        """Delete both namespaces (and with them the veth pair); safe to call twice."""
        for name in self.ns.values():
            _ip("netns", "delete", name, check=False)
            with _live_lock:
                _live.discard(name)
        self.removed = True


def remove_live_wires() -> None:
    """Delete every namespace this process created and has not removed yet (atexit hook)."""
    with _live_lock:
        names = list(_live)
    for name in names:
        _ip("netns", "delete", name, check=False)


def remove_stale_wires() -> list[str]:
    """Delete namespaces left behind by test processes that no longer run; return their names."""
    try:
        entries = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    removed = []
    for name in entries:
        if not name.startswith(PREFIX):
            continue
        pid_text = name[len(PREFIX):].split("-", 1)[0]
        if pid_text.isdigit() and not os.path.exists(f"/proc/{pid_text}"):
            _ip("netns", "delete", name, check=False)
            removed.append(name)
    return removed
