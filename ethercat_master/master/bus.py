"""Acyclic bus access: datagrams packed into frames, matched replies, deadlines and retries.

:class:`Bus` sends a batch of datagram requests in as few frames as fit (several datagrams
per frame, up to the Ethernet maximum), gives every datagram a fresh index, and accepts only
a reply frame that carries back exactly the datagrams it sent (index, command, length and,
for all but position-addressed commands, the address). Anything else that arrives meanwhile
is a stale or foreign frame: it is discarded and counted. A frame without a reply before the
deadline is sent again with new indices (so a late reply to the old one cannot be mistaken
for the new one), up to ``retries`` times; then :class:`~ethercat_master.errors.FrameTimeout`.

Re-sending is safe for register reads and writes, which are idempotent; the mailbox engine,
whose writes are not, handles its own repetition with the mailbox repeat protocol.

One frame is in flight at a time: the bus holds a lock from send to reply, so the cycle
thread and acyclic users may share it.

Shared frames: exchanges that fit one frame and are made by several threads at once travel
together. A thread queues its datagrams and takes the frame lock; whoever holds the lock sends
one frame with the oldest queued exchange and every later one with the same number of attempts
that still fits, and hands each its own replies (or its own :class:`FrameTimeout`). The
matching is unchanged (the reply frame must carry back every datagram of the frame), and so
is each exchange's view: its replies in order, its working counters checked. Many mailbox
engines polled from their own threads thus share frames instead of queueing for one frame
each, which matters when every frame costs the slaves' side (or the wire) more than a
datagram does.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from ..errors import FrameTimeout, ProtocolError, WorkingCounterError
from ..protocol.datagram import DATAGRAM_OVERHEAD, Addressing, Command, Datagram
from ..protocol.frame import MAX_DATAGRAMS_BYTES, Frame
from ..transport.link import Link

__all__ = ["Bus", "BusCounters", "Request"]

Buffer = Union[bytes, bytearray, memoryview]

#: Default time to wait for a frame's reply.
DEFAULT_TIMEOUT = 0.02
#: Default number of times a frame without reply is sent again.
DEFAULT_RETRIES = 2
INDEX_MODULO = 256


@dataclass(frozen=True, slots=True)
class Request:
    """One datagram to exchange: a command, its 32-bit address, and the data it carries
    (for reads, zeros of the length to read). ``expected_wkc``, when given, is checked."""

    command: Command
    address: int
    data: bytes
    expected_wkc: Optional[int] = None

    @classmethod
    def read(cls, command: Command, address: int, length: int, expected_wkc: Optional[int] = None) -> "Request":
        """A read of ``length`` bytes."""
        return cls(command, address, bytes(length), expected_wkc)

    def describe(self) -> str:
        """Human description for errors, e.g. ``"FPRD 0x1001:0x0130 len 2"``."""
        return Datagram(self.command, 0, self.address, self.data).describe()


@dataclass(slots=True)
class BusCounters:
    """Cumulative counters of a :class:`Bus` (diagnostics; never reset by the bus)."""

    frames_sent: int = 0
    frames_received: int = 0
    #: Frames without a reply before their deadline (each re-send counts again).
    timeouts: int = 0
    retries: int = 0
    #: Frames that arrived but were not the reply awaited (late replies, foreign frames).
    stale_frames: int = 0
    #: Frames that arrived but did not decode.
    malformed_frames: int = 0
    #: Replies whose working counter differed from the expected one.
    wkc_mismatches: int = 0
    #: Sum and maximum of reply round trips, in nanoseconds.
    round_trip_ns_total: int = 0
    round_trip_ns_max: int = 0


@dataclass(eq=False, slots=True)
class _Waiter:
    """One exchange of one frame's worth, queued to share a frame (module docstring)."""

    requests: list[Request]
    attempts: int
    size: int
    replies: Optional[list[Datagram]] = None
    error: Optional[Exception] = None
    done: bool = field(default=False)


class Bus:
    """Acyclic datagram exchange over a :class:`~ethercat_master.transport.Link`.

    :param timeout: seconds to wait for each frame's reply.
    :param retries: how many times a frame without reply is sent again.
    """

    def __init__(self, link: Link, *, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES):
        if timeout <= 0 or retries < 0:
            raise ValueError("timeout must be positive and retries non-negative")
        self.link = link
        self.timeout = timeout
        self.retries = retries
        self.counters = BusCounters()
        self._lock = threading.Lock()
        self._next_index = 0
        self._queue_lock = threading.Lock()
        self._waiting: collections.deque[_Waiter] = collections.deque()

    @property
    def lock(self) -> threading.Lock:
        """Held from send to reply of every frame; a user that sends its own frames on the
        same link (the cyclic exchange) holds it too, so frames never interleave."""
        return self._lock

    # ------------------------------------------------------------------------- batches
    def exchange(self, requests: Sequence[Request], *, retries: Optional[int] = None) -> list[Datagram]:
        """Exchange ``requests``; return the reply datagrams in the same order.

        Requests are packed into as few frames as fit. Raises :class:`FrameTimeout` when a
        frame stays unanswered through all retries, and :class:`WorkingCounterError` for the
        first reply whose working counter differs from its request's ``expected_wkc`` (after
        all frames were exchanged, so no request is left half done).

        :param retries: overrides the bus's retries for this exchange; ``0`` for datagrams that
            must not be repeated blindly (a mailbox read empties the mailbox it reads).
        """
        attempts = (self.retries if retries is None else retries) + 1
        if attempts < 1:
            raise ValueError(f"retries must be non-negative, got {retries!r}")
        batches = self._frames(requests)
        if len(batches) == 1:
            replies = self._shared(batches[0], attempts)
        else:
            replies = []
            for batch in batches:
                with self._lock:
                    replies.extend(self._exchange_frame(batch, attempts))
        for request, reply in zip(requests, replies):
            if request.expected_wkc is not None and reply.wkc != request.expected_wkc:
                self.counters.wkc_mismatches += 1
                raise WorkingCounterError(request.describe(), request.expected_wkc, reply.wkc)
        return replies

    def read(self, command: Command, address: int, length: int, *, expected_wkc: Optional[int] = None) -> bytes:
        """One read datagram; returns its data."""
        return self.exchange([Request.read(command, address, length, expected_wkc)])[0].data

    def write(self, command: Command, address: int, data: Buffer, *, expected_wkc: Optional[int] = None) -> int:
        """One write datagram; returns its working counter."""
        return self.exchange([Request(command, address, bytes(data), expected_wkc)])[0].wkc

    def count_slaves(self) -> int:
        """The number of slaves that answer a broadcast read of the ESC type register."""
        return self.exchange([Request.read(Command.BRD, 0, 1)])[0].wkc

    # ------------------------------------------------------------------------ internals
    @staticmethod
    def _frames(requests: Sequence[Request]) -> list[list[Request]]:
        batches: list[list[Request]] = []
        size = MAX_DATAGRAMS_BYTES
        for request in requests:
            need = DATAGRAM_OVERHEAD + len(request.data)
            if need > MAX_DATAGRAMS_BYTES:
                raise ValueError(f"{request.describe()}: {len(request.data)} data bytes do not fit one frame")
            if size + need > MAX_DATAGRAMS_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(request)
            size += need
        return batches

    def _shared(self, batch: list[Request], attempts: int) -> list[Datagram]:
        """Exchange one frame's worth, sharing the frame with concurrent exchanges."""
        waiter = _Waiter(batch, attempts, sum(DATAGRAM_OVERHEAD + len(r.data) for r in batch))
        with self._queue_lock:
            self._waiting.append(waiter)
        while not waiter.done:
            with self._lock:
                if not waiter.done:
                    self._serve(self._take_group())
        if waiter.error is not None:
            raise waiter.error
        assert waiter.replies is not None
        return waiter.replies

    def _take_group(self) -> list[_Waiter]:
        """The oldest queued exchange and the later ones with its attempts that fit its frame."""
        with self._queue_lock:
            first = self._waiting.popleft()
            group, size, kept = [first], first.size, collections.deque()
            while self._waiting:
                waiter = self._waiting.popleft()
                if waiter.attempts == first.attempts and size + waiter.size <= MAX_DATAGRAMS_BYTES:
                    group.append(waiter)
                    size += waiter.size
                else:
                    kept.append(waiter)
            self._waiting = kept
        return group

    def _serve(self, group: list[_Waiter]) -> None:
        """Send one frame for ``group`` (frame lock held) and hand each waiter its result."""
        requests = [request for waiter in group for request in waiter.requests]
        try:
            replies = self._exchange_frame(requests, group[0].attempts)
        except FrameTimeout as timeout:
            for waiter in group:
                waiter.error = FrameTimeout(timeout.what, timeout.timeout)
                waiter.done = True
            return
        except Exception as failure:  # a link error: every exchange of the frame meets it
            for waiter in group:
                waiter.error = failure
                waiter.done = True
            return
        at = 0
        for waiter in group:
            waiter.replies = replies[at:at + len(waiter.requests)]
            at += len(waiter.requests)
            waiter.done = True

    def _exchange_frame(self, batch: list[Request], attempts: int) -> list[Datagram]:
        """Exchange one frame (the frame lock must be held), with its retries."""
        for attempt in range(attempts):
            if attempt:
                self.counters.retries += 1
            sent = [Datagram(r.command, self._take_index(), r.address, r.data) for r in batch]
            payload = Frame(sent).encode()
            t0 = time.monotonic_ns()
            deadline = time.monotonic() + self.timeout
            self.link.send(payload)
            self.counters.frames_sent += 1
            reply = self._await(sent, deadline)
            if reply is not None:
                rtt = time.monotonic_ns() - t0
                c = self.counters
                c.round_trip_ns_total += rtt
                c.round_trip_ns_max = max(c.round_trip_ns_max, rtt)
                return reply
            self.counters.timeouts += 1
        what = ", ".join(r.describe() for r in batch[:3]) + (" ..." if len(batch) > 3 else "")
        raise FrameTimeout(f"reply to {what} (after {attempts} attempts)", self.timeout)

    def _await(self, sent: list[Datagram], deadline: float) -> Optional[list[Datagram]]:
        while True:
            payload = self.link.recv(deadline=deadline)
            if payload is None:
                return None
            self.counters.frames_received += 1
            try:
                datagrams = Frame.decode(payload).datagrams
            except ProtocolError:
                self.counters.malformed_frames += 1
                continue
            if _is_reply(sent, datagrams):
                return list(datagrams)
            self.counters.stale_frames += 1

    def _take_index(self) -> int:
        index = self._next_index
        self._next_index = (index + 1) % INDEX_MODULO
        return index


def _is_reply(sent: Sequence[Datagram], got: Sequence[Datagram]) -> bool:
    """True when ``got`` carries back exactly the datagrams of ``sent`` (position-addressed
    datagrams come back with their ADP incremented by every slave, so only their offset is
    compared)."""
    if len(sent) != len(got):
        return False
    for s, g in zip(sent, got):
        if s.index != g.index or s.command != g.command or len(s.data) != len(g.data):
            return False
        addressing = s.command.addressing
        if addressing in (Addressing.POSITION, Addressing.BROADCAST):
            if s.ado != g.ado:
                return False
        elif s.address != g.address:
            return False
    return True
