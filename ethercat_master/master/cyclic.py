"""The cyclic exchange of process data: one call per cycle, and a cycle thread with absolute
deadlines.

One exchange (:meth:`CyclicExchange.exchange`)
    1. Holding the image's lock, copy the staged outputs into each frame's LRW data area (one
       ``memcpy`` per frame; the frame buffer is the front output image, sent as it is).
    2. Give each frame a fresh datagram index, reset its working counters and send it; then
       receive until every frame has come back or the deadline passes. A reply is accepted for
       a frame when it carries the same command, index and length at the LRW's place
       (:meth:`~ethercat_master.protocol.frame.DatagramSlot.reply_wkc`); anything else (a late
       reply of an earlier cycle, a foreign or malformed frame) is discarded and counted.
    3. Holding the image's lock again, copy the replies' input octets into the published input
       image; compare each LRW's working counter with the expected one (2 per slave with
       outputs, 1 per slave with inputs in that frame). The image's lock and the bus's frame
       lock are never held together, so an application holding one while waiting for the
       other cannot deadlock the cycle. Inputs are published even when the working
       counter is wrong (as SOEM and IgH do): the octets of a slave that did not answer are
       those the master sent, zeros. :meth:`~CyclicExchange.raise_for_status` turns the last
       exchange's loss or mismatch into :class:`~ethercat_master.errors.FrameTimeout` or
       :class:`~ethercat_master.errors.WorkingCounterError` naming the frame and its slaves.
    4. Update the counters: O(1), into preallocated histograms (:class:`CycleCounters`).

    Sharing the link: given a :class:`~ethercat_master.master.bus.Bus`, the exchange holds the
    bus's frame lock from its first send to its last reply, so acyclic traffic (mailbox,
    AL state requests) interleaves with the cyclic frames at frame granularity, and a cycle
    waits for at most one acyclic frame (``docs/mailbox.md`` section 7).

DC slot
    With ``dc_reference`` (the reference clock's station address), the first frame carries,
    after its LRW, an FRMW of the reference clock's system time (0x0910, 8 octets, SOEM's
    ``ecx_main_send_processdata`` order): the reference reads its time into it and every slave
    after it writes that time into its own register. Its reply value is
    :attr:`CyclicExchange.dc_system_time`; its working counter (:attr:`CyclicExchange.dc_wkc`)
    is not checked (it counts the slaves with DC). With ``dc_master_time`` as well (DC mode
    "bus follows master"), an FPWR of the master's time to the reference's 0x0910 goes before
    the FRMW (IgH's order: sync the reference, then the slaves); its value is taken from
    ``dc_master_time()`` just before the frame is sent. The control itself lives in
    :class:`~ethercat_master.master.dc.DcController`.
    :func:`~ethercat_master.master.pdo_mapping.plan_process_data` keeps the room for the FRMW
    in the first frame (the FPWR needs 20 octets more).

The cycle thread (:class:`CycleThread`)
    Deadlines are absolute: cycle ``n`` is due at ``start + n * period`` (never
    ``sleep(period)``, so nothing accumulates). The thread sleeps until ``spin`` before the
    deadline, then busy-waits for it (``runtime-facts.md``: the sleep alone wakes 20-70 us late,
    the spin to within a microsecond), runs the exchange with the next deadline as its reply
    deadline, then ``on_cycle`` (the application's cyclic work), then ``idle_work`` with the
    seconds left before the next deadline (e.g. :class:`MailboxPoller`). A cycle that starts
    later than its deadline plus one period is an *overrun*: it runs at once for the latest
    deadline passed, the ones before are skipped (counted), so the thread keeps its phase.
    Real-time settings are applied in the thread itself and reported
    (:class:`RealtimeReport`): timer slack 1 ns
    (``prctl(PR_SET_TIMERSLACK)``), optionally SCHED_FIFO, CPU affinity, ``mlockall``, a
    shorter GIL switch interval and the NIC's receive interrupt coalescing; whatever is not
    permitted is reported, never fatal; the report also notes whether the kernel is
    PREEMPT_RT and whether the chosen CPUs are isolated (``docs/realtime.md``).
    With a ``clock_sync`` (a :class:`~ethercat_master.master.dc.DcController`), after each
    exchange the thread calls ``clock_sync.after_exchange(sent_ns, reference_time)`` and
    shifts all later deadlines by the nanoseconds it returns (DC "master follows bus": the
    cycle follows the reference clock); :attr:`CycleThread.phase_offset_ns` is the sum.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, Union

import numpy as np

from ..errors import FrameTimeout, ProtocolError, WorkingCounterError
from ..protocol.datagram import DATAGRAM_HEADER_SIZE, Command, station_address
from ..protocol.frame import FrameBuilder
from ..protocol.registers import Register
from ..transport.link import Link
from .bus import Bus
from .mailbox import MailboxEngine
from .pdo_mapping import FrameLayout, ProcessDataLayout
from .process_image import ProcessImage

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_SPIN",
    "LatencySummary",
    "LogHistogram",
    "CycleStatistics",
    "CycleCounters",
    "CyclicExchange",
    "RealtimeOptions",
    "RealtimeReport",
    "apply_realtime",
    "CycleThread",
    "MailboxPoller",
    "ClockSync",
    "combine_idle",
    "kernel_realtime",
    "isolated_cpus",
    "set_rx_coalescing",
]

_log = logging.getLogger(__name__)

_NS_PER_S = 1_000_000_000
_NS_PER_US = 1_000
_INDEX_MODULO = 256
#: Seconds to wait for the replies of an exchange without a bus (a bus brings its timeout).
DEFAULT_TIMEOUT = 0.01
#: The cycle thread spins for the last 100 us before a deadline (runtime-facts.md).
DEFAULT_SPIN = 100e-6
_SYSTEM_TIME_SIZE = Register.DC_SYSTEM_TIME.size
_U64_MASK = (1 << 64) - 1
#: prctl option and mlockall flags (linux/prctl.h, sys/mman.h).
_PR_SET_TIMERSLACK = 29
_MCL_CURRENT = 1
_MCL_FUTURE = 2


# ----------------------------------------------------------------------------- statistics
@dataclass(frozen=True, slots=True)
class LatencySummary:
    """A distribution of durations in microseconds (None while empty). Percentiles are the
    upper bound of the histogram bucket holding them (at most 1/32 above the value)."""

    count: int
    min_us: Optional[float]
    mean_us: Optional[float]
    max_us: Optional[float]
    p50_us: Optional[float]
    p90_us: Optional[float]
    p99_us: Optional[float]
    p999_us: Optional[float]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {name: getattr(self, name) for name in self.__slots__}


class LogHistogram:
    """Counts of non-negative nanosecond values in log-linear buckets (32 per power of two, so
    a bucket is at most 1/32 of its values wide; exact below 64 ns), up to 2**40 ns; larger
    values fall into the last bucket. Recording is O(1) into a preallocated array; exact
    count, sum, minimum and maximum are kept beside it."""

    _MANTISSA_BITS = 6
    _HALF = 1 << (_MANTISSA_BITS - 1)
    _MAX_BITS = 40

    def __init__(self) -> None:
        self._size = (self._MAX_BITS - self._MANTISSA_BITS + 2) * self._HALF + self._HALF
        self._counts = np.zeros(self._size, dtype=np.int64)
        self.count = 0
        self.total = 0
        self.minimum: Optional[int] = None
        self.maximum: Optional[int] = None

    def record(self, value: int) -> None:
        """Count ``value`` (negative values count as 0)."""
        if value < 0:
            value = 0
        shift = value.bit_length() - self._MANTISSA_BITS
        bucket = value if shift <= 0 else (shift << (self._MANTISSA_BITS - 1)) + (value >> shift)
        if bucket >= self._size:
            bucket = self._size - 1
        self._counts[bucket] += 1
        self.count += 1
        self.total += value
        if self.minimum is None or value < self.minimum:
            self.minimum = value
        if self.maximum is None or value > self.maximum:
            self.maximum = value

    def _upper_bound(self, bucket: int) -> int:
        if bucket < 2 * self._HALF:
            return bucket
        shift = bucket // self._HALF - 1
        mantissa = bucket - shift * self._HALF
        return ((mantissa + 1) << shift) - 1

    def percentile(self, q: float) -> Optional[int]:
        """The value below which ``q`` percent of the values lie (bucket upper bound, at most
        the maximum); None while empty."""
        if not self.count:
            return None
        rank = max(1, int(np.ceil(q / 100.0 * self.count)))
        bucket = int(np.searchsorted(np.cumsum(self._counts), rank))
        assert self.maximum is not None
        return min(self._upper_bound(bucket), self.maximum)

    def summary(self) -> LatencySummary:
        """The distribution in microseconds."""
        if not self.count:
            return LatencySummary(0, None, None, None, None, None, None, None)
        assert self.minimum is not None and self.maximum is not None

        def us(ns: Optional[int]) -> Optional[float]:
            return None if ns is None else round(ns / _NS_PER_US, 3)

        return LatencySummary(self.count, us(self.minimum), round(self.total / self.count / _NS_PER_US, 3),
                              us(self.maximum), us(self.percentile(50)), us(self.percentile(90)),
                              us(self.percentile(99)), us(self.percentile(99.9)))

    def reset(self) -> None:
        """Forget every value."""
        self._counts[:] = 0
        self.count = self.total = 0
        self.minimum = self.maximum = None


@dataclass(frozen=True, slots=True)
class CycleStatistics:
    """A snapshot of :class:`CycleCounters`.

    :ivar cycles: exchanges done.
    :ivar frames_sent: cyclic frames sent.
    :ivar frames_lost: cyclic frames without a reply before their deadline.
    :ivar wkc_mismatches: replies whose LRW working counter differed from the expected one.
    :ivar stale_replies: frames received during exchanges that answered nothing pending (late
        replies of earlier cycles, foreign or malformed frames).
    :ivar overruns: cycles that started later than their deadline plus one period.
    :ivar skipped_cycles: deadlines skipped because they were more than a period past.
    :ivar idle_overruns: cycles whose idle work ended after the next deadline.
    :ivar round_trip: first send to last reply of exchanges without loss.
    :ivar wake_latency: cycle start minus its deadline (cycle thread).
    :ivar period_jitter: |interval between two cycle starts - period| (cycle thread).
    """

    cycles: int
    frames_sent: int
    frames_lost: int
    wkc_mismatches: int
    stale_replies: int
    overruns: int
    skipped_cycles: int
    idle_overruns: int
    round_trip: LatencySummary
    wake_latency: LatencySummary
    period_jitter: LatencySummary

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (durations in microseconds)."""
        result: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            result[name] = value.as_dict() if isinstance(value, LatencySummary) else value
        return result


@dataclass(slots=True)
class CycleCounters:
    """The counters of a :class:`CyclicExchange` and of the :class:`CycleThread` driving it
    (field meanings in :class:`CycleStatistics`). Updated in O(1) without growing."""

    cycles: int = 0
    frames_sent: int = 0
    frames_lost: int = 0
    wkc_mismatches: int = 0
    stale_replies: int = 0
    overruns: int = 0
    skipped_cycles: int = 0
    idle_overruns: int = 0
    round_trip: LogHistogram = field(default_factory=LogHistogram)
    wake_latency: LogHistogram = field(default_factory=LogHistogram)
    period_jitter: LogHistogram = field(default_factory=LogHistogram)

    def snapshot(self) -> CycleStatistics:
        """The counters now (percentiles computed here, O(buckets))."""
        return CycleStatistics(self.cycles, self.frames_sent, self.frames_lost, self.wkc_mismatches,
                               self.stale_replies, self.overruns, self.skipped_cycles, self.idle_overruns,
                               self.round_trip.summary(), self.wake_latency.summary(), self.period_jitter.summary())


# ------------------------------------------------------------------------------ exchange
class _CyclicFrame:
    """One preallocated cyclic frame and what the exchange copies in and out of it."""

    __slots__ = ("payload", "lrw", "dc", "dc_write", "index_at", "out_view", "out_lo", "out_hi", "in_lo", "in_hi",
                 "in_at", "in_end", "expected_wkc", "last_wkc", "reply", "description")

    def __init__(self, layout: Optional[FrameLayout], dc_reference: Optional[int], description: str,
                 dc_write: bool = False):
        builder = FrameBuilder()
        self.lrw = None if layout is None else builder.add(Command.LRW, layout.logical_start, layout.length)
        self.dc_write = None if dc_reference is None or not dc_write else builder.add(
            Command.FPWR, station_address(dc_reference, Register.DC_SYSTEM_TIME), _SYSTEM_TIME_SIZE)
        self.dc = None if dc_reference is None else builder.add(
            Command.FRMW, station_address(dc_reference, Register.DC_SYSTEM_TIME), _SYSTEM_TIME_SIZE)
        self.payload = builder.payload()
        first = self.lrw if self.lrw is not None else (self.dc_write or self.dc)
        assert first is not None
        self.index_at = first.offset + 1
        outputs = 0 if layout is None else layout.output_bytes
        inputs = 0 if layout is None else layout.input_bytes
        self.out_lo = 0 if layout is None else layout.output_offset
        self.out_hi = self.out_lo + outputs
        self.out_view = None if self.lrw is None else self.lrw.data[:outputs]
        self.in_lo = 0 if layout is None else layout.input_offset
        self.in_hi = self.in_lo + inputs
        self.in_at = 0 if self.lrw is None else self.lrw.offset + DATAGRAM_HEADER_SIZE + outputs
        self.in_end = self.in_at + inputs
        self.expected_wkc = 0 if layout is None else layout.expected_wkc
        self.last_wkc: Optional[int] = None
        #: The reply received in the exchange in progress.
        self.reply: Optional[bytes] = None
        self.description = description

    def set_index(self, index: int) -> None:
        """Give the frame's datagrams ``index`` and clear their working counters."""
        for slot in (self.lrw, self.dc_write, self.dc):
            if slot is not None:
                slot.index = index
                slot.wkc = 0

    def matches(self, reply: bytes) -> Optional[int]:
        """The working counter of the first datagram if ``reply`` answers this frame."""
        first = self.lrw if self.lrw is not None else (self.dc_write or self.dc)
        assert first is not None
        if len(reply) <= self.index_at or reply[self.index_at] != first.index:
            return None
        try:
            return first.reply_wkc(reply)
        except ProtocolError:
            return None


class CyclicExchange:
    """Exchanges the process data of ``layout`` once per :meth:`exchange` (see the module
    docstring).

    :param bus: the bus to share the link with (its frame lock is held during an exchange),
        or a bare link used by nothing else.
    :param layout: the process data layout (:func:`~.pdo_mapping.configure_process_data`).
    :param image: the process image to copy from and to (a new one by default).
    :param timeout: seconds an exchange waits for its replies when no deadline is given
        (default: the bus's timeout, or :data:`DEFAULT_TIMEOUT`).
    :param dc_reference: station address of the DC reference clock: adds the FRMW of its
        system time to the first frame.
    :param dc_master_time: with ``dc_reference``, a callable giving the master's time (ns on
        the DC time base): adds an FPWR of it to the reference's 0x0910 before the FRMW
        (DC mode "bus follows master").

    Attributes: :attr:`image`, :attr:`counters`, :attr:`working_counters` (the LRW working
    counter of each frame in the last exchange, None for a lost frame), :attr:`dc_system_time`
    and :attr:`dc_wkc` (None until a reply carried them), :attr:`dc_fresh` (the last exchange
    brought the DC reply), :attr:`sent_ns` (:func:`time.monotonic_ns` just before the last
    exchange's first frame was sent).
    """

    def __init__(self, bus: Union[Bus, Link], layout: ProcessDataLayout, image: Optional[ProcessImage] = None, *,
                 timeout: Optional[float] = None, dc_reference: Optional[int] = None,
                 dc_master_time: Optional[Callable[[], int]] = None):
        if isinstance(bus, Bus):
            self.link = bus.link
            self._frame_lock = bus.lock  # the bus's send-to-reply lock: frames never interleave
            default_timeout = bus.timeout
        else:
            self.link = bus
            self._frame_lock = threading.Lock()
            default_timeout = DEFAULT_TIMEOUT
        self.timeout = default_timeout if timeout is None else timeout
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout!r}")
        self.layout = layout
        self.image = image if image is not None else ProcessImage(layout)
        if self.image.layout is not layout:
            raise ValueError("the process image belongs to another layout")
        names = {slave.position: slave.name for slave in layout.slaves}
        self._frames = [
            _CyclicFrame(frame, dc_reference if frame.index == 0 else None,
                         f"LRW 0x{frame.logical_start:08X} len {frame.length} of cyclic frame {frame.index} "
                         f"(slaves {', '.join(names[p] for p in frame.positions)})", dc_master_time is not None)
            for frame in layout.frames
        ]
        if not self._frames:
            if dc_reference is None:
                raise ValueError("the layout has no process data and no DC datagram was asked for")
            self._frames.append(_CyclicFrame(None, dc_reference, f"DC FRMW to 0x{dc_reference:04X}",
                                             dc_master_time is not None))
        self.counters = CycleCounters()
        self.working_counters: list[Optional[int]] = [None] * len(self._frames)
        self.dc_system_time: Optional[int] = None
        self.dc_wkc: Optional[int] = None
        self.dc_fresh = False
        self.dc_master_time = dc_master_time
        self.sent_ns = 0
        self._outputs = memoryview(self.image.outputs_buffer)
        self._inputs = memoryview(self.image.inputs_buffer)
        self._next_index = 0
        self._lost: Optional[_CyclicFrame] = None
        self._mismatch: Optional[_CyclicFrame] = None
        self._waited = 0.0

    @property
    def frame_count(self) -> int:
        """Frames per cycle."""
        return len(self._frames)

    def statistics(self) -> CycleStatistics:
        """A snapshot of the counters."""
        return self.counters.snapshot()

    def exchange(self, deadline: Optional[float] = None) -> bool:
        """Run one cycle's exchange (module docstring).

        :param deadline: absolute :func:`time.monotonic` time until which replies are awaited
            (default: now + :attr:`timeout`).
        :returns: True when every frame came back with its expected working counter.
        :raises LinkError: the link failed.
        """
        frames = self._frames
        counters = self.counters
        image = self.image
        outputs, inputs = self._outputs, self._inputs
        self._lost = self._mismatch = None
        with image.lock:  # never together with the frame lock: an application may hold either
            for frame in frames:
                if frame.out_view is not None and frame.out_hi > frame.out_lo:
                    frame.out_view[:] = outputs[frame.out_lo:frame.out_hi]
        with self._frame_lock:
            start = time.monotonic_ns()
            if deadline is None:
                deadline = start / _NS_PER_S + self.timeout
            self._waited = max(0.0, deadline - start / _NS_PER_S)
            link = self.link
            self.dc_fresh = False
            master_time = self.dc_master_time
            self.sent_ns = time.monotonic_ns()
            for frame in frames:
                if frame.dc_write is not None and master_time is not None:
                    frame.dc_write.data[:] = (master_time() & _U64_MASK).to_bytes(_SYSTEM_TIME_SIZE, "little")
                frame.set_index(self._next_index)
                self._next_index = (self._next_index + 1) % _INDEX_MODULO
                frame.reply = None
                link.send(frame.payload)
            pending = len(frames)
            while pending:
                reply = link.recv(deadline=deadline)
                if reply is None:
                    break
                for frame in frames:
                    if frame.reply is None:
                        wkc = frame.matches(reply)
                        if wkc is not None:
                            break
                else:
                    counters.stale_replies += 1
                    continue
                frame.reply = reply
                frame.last_wkc = wkc
                pending -= 1
            finished = time.monotonic_ns()
        cycle = counters.cycles + 1
        with image.lock:
            for frame in frames:
                if frame.reply is not None and frame.in_end > frame.in_at:
                    inputs[frame.in_lo:frame.in_hi] = memoryview(frame.reply)[frame.in_at:frame.in_end]
                    image.inputs_cycle = cycle
        for number, frame in enumerate(frames):
            if frame.reply is None:
                frame.last_wkc = None
                counters.frames_lost += 1
                if self._lost is None:
                    self._lost = frame
            else:
                if frame.lrw is not None and frame.last_wkc != frame.expected_wkc:
                    counters.wkc_mismatches += 1
                    if self._mismatch is None:
                        self._mismatch = frame
                if frame.dc is not None:
                    self._read_dc(frame, frame.reply)
                frame.reply = None
            self.working_counters[number] = frame.last_wkc
        counters.frames_sent += len(frames)
        counters.cycles = cycle
        if not pending:
            counters.round_trip.record(finished - start)
        return self._lost is None and self._mismatch is None

    def _read_dc(self, frame: _CyclicFrame, reply: bytes) -> None:
        slot = frame.dc
        assert slot is not None
        try:
            self.dc_wkc = slot.reply_wkc(reply)
        except ProtocolError:
            return
        self.dc_system_time = int.from_bytes(slot.reply_data(reply), "little")
        self.dc_fresh = True

    def raise_for_status(self) -> None:
        """Raise for the last exchange: :class:`FrameTimeout` for its first lost frame, else
        :class:`WorkingCounterError` for its first working counter mismatch (both name the
        frame's LRW and slaves); nothing when it went well."""
        if self._lost is not None:
            raise FrameTimeout(f"reply to {self._lost.description}", self._waited)
        if self._mismatch is not None:
            frame = self._mismatch
            raise WorkingCounterError(frame.description, frame.expected_wkc, frame.last_wkc or 0)


# ------------------------------------------------------------------------------ real time
@dataclass(frozen=True, slots=True)
class RealtimeOptions:
    """What the cycle thread asks of the operating system (each attempted, reported).

    :ivar timer_slack_ns: the thread's timer slack (default 1 ns; None leaves it, 50 us).
    :ivar priority: SCHED_FIFO priority 1-99 (None: the normal scheduler).
    :ivar cpus: CPUs to pin the thread to (None: no pinning).
    :ivar lock_memory: ``mlockall(MCL_CURRENT | MCL_FUTURE)`` for the whole process.
    :ivar switch_interval: the interpreter's GIL switch interval for the whole process
        (:func:`sys.setswitchinterval`; None leaves it, 5 ms by default): a thread that computes
        without pause holds the GIL for up to that long while the cycle thread waits for it.
    :ivar spin: seconds before each deadline spent busy-waiting instead of sleeping (0: sleep
        only).
    :ivar interface: the network interface of the EtherCAT link (for ``rx_coalesce_usecs``).
    :ivar rx_coalesce_usecs: the NIC's receive interrupt coalescing in microseconds
        (``ethtool -C IF rx-usecs N``; 0: an interrupt per frame, the lowest latency). Needs
        CAP_NET_ADMIN and a driver that supports it; None leaves it.
    """

    timer_slack_ns: Optional[int] = 1
    priority: Optional[int] = None
    cpus: Optional[frozenset[int]] = None
    lock_memory: bool = False
    switch_interval: Optional[float] = None
    spin: float = DEFAULT_SPIN
    interface: Optional[str] = None
    rx_coalesce_usecs: Optional[int] = None

    def __post_init__(self) -> None:
        if self.rx_coalesce_usecs is not None:
            if self.rx_coalesce_usecs < 0:
                raise ValueError(f"rx_coalesce_usecs must be non-negative, got {self.rx_coalesce_usecs!r}")
            if not self.interface:
                raise ValueError("rx_coalesce_usecs needs the interface it applies to")
        if self.timer_slack_ns is not None and self.timer_slack_ns < 1:
            raise ValueError(f"timer_slack_ns must be at least 1, got {self.timer_slack_ns!r}")
        if self.priority is not None and not 1 <= self.priority <= 99:
            raise ValueError(f"SCHED_FIFO priority must be 1..99, got {self.priority!r}")
        if self.spin < 0:
            raise ValueError(f"spin must be non-negative, got {self.spin!r}")
        if self.switch_interval is not None and self.switch_interval <= 0:
            raise ValueError(f"switch_interval must be positive, got {self.switch_interval!r}")


@dataclass(frozen=True, slots=True)
class RealtimeReport:
    """What :func:`apply_realtime` could apply and what not (with the reason), and notes on
    the system that matter for real time (PREEMPT_RT, isolated CPUs)."""

    applied: tuple[str, ...]
    failed: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [f"applied: {', '.join(self.applied) or 'nothing'}"]
        if self.failed:
            parts.append(f"not applied: {'; '.join(self.failed)}")
        if self.notes:
            parts.append(f"notes: {'; '.join(self.notes)}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"applied": list(self.applied), "failed": list(self.failed), "notes": list(self.notes)}


def kernel_realtime() -> bool:
    """True when the running kernel is PREEMPT_RT (``/sys/kernel/realtime`` reads 1, or the
    version string names PREEMPT_RT)."""
    try:
        with open("/sys/kernel/realtime", encoding="ascii") as file:
            if file.read().strip() == "1":
                return True
    except OSError:
        pass
    return "PREEMPT_RT" in os.uname().version


def isolated_cpus() -> frozenset[int]:
    """The CPUs the kernel keeps free of other tasks (``isolcpus=``), from
    ``/sys/devices/system/cpu/isolated``; empty when none or unknown."""
    try:
        with open("/sys/devices/system/cpu/isolated", encoding="ascii") as file:
            text = file.read().strip()
    except OSError:
        return frozenset()
    cpus: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return frozenset(cpus)


#: SIOCETHTOOL and the ethtool coalescing commands (linux/sockios.h, linux/ethtool.h).
_SIOCETHTOOL = 0x8946
_ETHTOOL_GCOALESCE = 0x0E
_ETHTOOL_SCOALESCE = 0x0F
#: struct ethtool_coalesce: cmd and 22 further u32 fields; rx_coalesce_usecs is the first,
#: rx_max_coalesced_frames the second.
_COALESCE = struct.Struct("<23I")
_IFNAMSIZ = 16


def set_rx_coalescing(interface: str, usecs: int) -> Optional[str]:
    """Set the receive interrupt coalescing of ``interface`` to ``usecs`` (and at most one
    frame per interrupt when ``usecs`` is 0), as ``ethtool -C IF rx-usecs N``. None on
    success, else the reason (e.g. no CAP_NET_ADMIN, a driver without coalescing)."""
    if len(interface.encode()) >= _IFNAMSIZ:
        return f"interface name {interface!r} is too long"
    buffer = ctypes.create_string_buffer(_COALESCE.size)
    _COALESCE.pack_into(buffer, 0, _ETHTOOL_GCOALESCE, *([0] * 22))
    request = struct.pack(f"{_IFNAMSIZ}sP", interface.encode(), ctypes.addressof(buffer))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            fcntl.ioctl(sock.fileno(), _SIOCETHTOOL, request)
            fields = list(_COALESCE.unpack_from(buffer, 0))
            fields[0] = _ETHTOOL_SCOALESCE
            fields[1] = usecs
            if usecs == 0:
                fields[2] = 1
            _COALESCE.pack_into(buffer, 0, *fields)
            fcntl.ioctl(sock.fileno(), _SIOCETHTOOL, request)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _libc_call(name: str, *args: int) -> Optional[str]:
    """Call a libc function with unsigned long arguments; None on success, else the reason."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, name)
    except (OSError, AttributeError):
        return f"{name}() is not available on this system"
    if function(*(ctypes.c_ulong(arg) for arg in args)) != 0:
        return os.strerror(ctypes.get_errno())
    return None


def apply_realtime(options: RealtimeOptions) -> RealtimeReport:
    """Apply ``options`` to the calling thread (and, for ``lock_memory``, the process)."""
    applied: list[str] = []
    failed: list[str] = []

    def attempt(what: str, action: Callable[[], Optional[str]], hint: str = "") -> None:
        try:
            reason = action()
        except (OSError, AttributeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
        if reason is None:
            applied.append(what)
        else:
            failed.append(f"{what}: {reason}{f' ({hint})' if hint else ''}")

    if options.timer_slack_ns is not None:
        attempt(f"timer slack {options.timer_slack_ns} ns",
                lambda: _libc_call("prctl", _PR_SET_TIMERSLACK, options.timer_slack_ns, 0, 0, 0))
    if options.priority is not None:
        priority = options.priority
        attempt(f"SCHED_FIFO priority {priority}",
                lambda: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority)),
                "needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least the priority (ulimit -r)")
    if options.cpus is not None:
        cpus = options.cpus
        attempt(f"CPU affinity {sorted(cpus)}", lambda: os.sched_setaffinity(0, cpus),
                f"CPUs online: {sorted(os.sched_getaffinity(0))}")
    if options.lock_memory:
        attempt("mlockall", lambda: _libc_call("mlockall", _MCL_CURRENT | _MCL_FUTURE),
                "needs CAP_IPC_LOCK or an RLIMIT_MEMLOCK above the process size (ulimit -l)")
    if options.switch_interval is not None:
        interval = options.switch_interval
        attempt(f"GIL switch interval {interval * 1e6:g} us", lambda: sys.setswitchinterval(interval))
    if options.rx_coalesce_usecs is not None and options.interface:
        interface, usecs = options.interface, options.rx_coalesce_usecs
        attempt(f"rx interrupt coalescing {usecs} us on {interface}", lambda: set_rx_coalescing(interface, usecs),
                "needs CAP_NET_ADMIN and a driver with interrupt coalescing (ethtool -c IF shows it)")
    notes = [f"kernel {'is' if kernel_realtime() else 'is not'} PREEMPT_RT"]
    if options.cpus is not None:
        outside = sorted(options.cpus - isolated_cpus())
        if outside:
            notes.append(f"CPUs {outside} are not isolated (isolcpus=)")
    report = RealtimeReport(tuple(applied), tuple(failed), tuple(notes))
    if failed:
        _log.warning("cycle thread real-time settings %s", report)
    return report


# --------------------------------------------------------------------------- cycle thread
class CycleThread:
    """Runs ``exchange`` every ``period`` seconds in its own thread (module docstring).

    :param on_cycle: called after each exchange (the application's cyclic work).
    :param idle_work: called after ``on_cycle`` with the seconds left before the next deadline
        (minus the spin time) when some are left; it must return before they run out.
    :param realtime: the real-time settings to apply in the thread.
    :param clock_sync: shifts the deadlines after each exchange (:class:`ClockSync`, module
        docstring); its ``start(now_ns)`` is called when the loop begins, if it has one.

    Use :meth:`start` and :meth:`stop`, or as a context manager. If an exception ends the loop,
    it is kept in :attr:`error` and raised again by :meth:`stop`.
    """

    def __init__(self, exchange: CyclicExchange, period: float, *, on_cycle: Optional[Callable[[], None]] = None,
                 idle_work: Optional[Callable[[float], None]] = None, realtime: RealtimeOptions = RealtimeOptions(),
                 name: str = "ethercat-cycle", clock_sync: Optional["ClockSync"] = None):
        if period <= 0:
            raise ValueError(f"period must be positive, got {period!r}")
        self.exchange = exchange
        self.period = period
        self.on_cycle = on_cycle
        self.idle_work = idle_work
        self.realtime = realtime
        self.name = name
        self.clock_sync = clock_sync
        #: Sum of the deadline shifts ``clock_sync`` asked for, in ns.
        self.phase_offset_ns = 0
        self.report: Optional[RealtimeReport] = None
        self.error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> RealtimeReport:
        """Start the thread; returns once it has applied its real-time settings."""
        if self.running:
            raise RuntimeError(f"{self.name}: already running")
        self._stop.clear()
        self._ready.clear()
        self.error = None
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        assert self.report is not None
        return self.report

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after the current cycle and wait; re-raise an exception that ended the loop."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError(f"{self.name}: cycle thread did not stop within {timeout} s")
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def __enter__(self) -> "CycleThread":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            self.report = apply_realtime(self.realtime)
        finally:
            self._ready.set()
        try:
            self._loop()
        except BaseException as exc:  # kept for stop(), which raises it in the caller's thread
            self.error = exc

    def _loop(self) -> None:
        period = round(self.period * _NS_PER_S)
        spin = round(self.realtime.spin * _NS_PER_S)
        counters = self.exchange.counters
        exchange = self.exchange.exchange
        on_cycle, idle_work = self.on_cycle, self.idle_work
        clock_sync = self.clock_sync
        cyclic = self.exchange
        stop = self._stop
        start = time.monotonic_ns()
        starting = getattr(clock_sync, "start", None)
        if starting is not None:
            starting(start)
        n = 0
        previous: Optional[int] = None
        while not stop.is_set():
            deadline = start + n * period
            _wait_until(deadline, spin)
            began = time.monotonic_ns()
            late = began - deadline
            counters.wake_latency.record(late)
            if previous is not None:
                counters.period_jitter.record(abs(began - previous - period))
            previous = began
            if late > period:
                counters.overruns += 1
                missed = late // period
                counters.skipped_cycles += missed
                n += missed
            n += 1
            following = start + n * period
            exchange(following / _NS_PER_S)
            if clock_sync is not None:
                shift = clock_sync.after_exchange(cyclic.sent_ns, cyclic.dc_system_time if cyclic.dc_fresh else None)
                if shift:
                    start += shift
                    following += shift
                    self.phase_offset_ns += shift
            if on_cycle is not None:
                on_cycle()
            if idle_work is not None:
                left = following - spin - time.monotonic_ns()
                if left > 0:
                    idle_work(left / _NS_PER_S)
                    if time.monotonic_ns() > following:
                        counters.idle_overruns += 1


class ClockSync(Protocol):
    """What a :class:`CycleThread` asks of a clock synchronisation (the DC controller)."""

    def after_exchange(self, sent_ns: int, reference_time: Optional[int]) -> int:
        """The exchange whose first frame left at ``sent_ns`` (:func:`time.monotonic_ns`)
        read ``reference_time`` (None: not this cycle); returns the ns to shift later
        deadlines by."""


def combine_idle(*works: Optional[Callable[[float], None]]) -> Callable[[float], None]:
    """One ``idle_work`` that runs ``works`` in turn, each with the time still left."""
    chosen = [work for work in works if work is not None]

    def idle(remaining: float) -> None:
        end = time.monotonic() + remaining
        for work in chosen:
            left = end - time.monotonic()
            if left <= 0:
                return
            work(left)

    return idle


def _wait_until(deadline_ns: int, spin_ns: int) -> None:
    """Sleep until ``spin_ns`` before ``deadline_ns``, then busy-wait for it."""
    while True:
        remaining = deadline_ns - time.monotonic_ns()
        if remaining <= spin_ns:
            break
        time.sleep((remaining - spin_ns) / _NS_PER_S)
    while time.monotonic_ns() < deadline_ns:
        pass


# ------------------------------------------------------------------------ mailbox polling
class MailboxPoller:
    """``idle_work`` for a :class:`CycleThread`: polls mailbox engines in the time a cycle has
    left, one engine step (at most one frame) at a time, each engine when the delay its last
    :meth:`~.mailbox.MailboxEngine.poll` asked for has passed, and only while at least
    ``frame_time`` seconds are left, so that the next cyclic frame goes out on time (a lost
    mailbox frame can still hold the bus for the bus's timeout).

    :param engines: the engines to serve.
    :param frame_time: seconds one mailbox frame may take (one round trip with margin).
    """

    def __init__(self, engines: Sequence[MailboxEngine], *, frame_time: float = 0.0005):
        if frame_time <= 0:
            raise ValueError(f"frame_time must be positive, got {frame_time!r}")
        self.engines = tuple(engines)
        self.frame_time = frame_time
        self._due = [0.0] * len(self.engines)
        #: Engine steps taken.
        self.polls = 0

    def __call__(self, remaining: float) -> None:
        """Poll due engines for at most ``remaining`` seconds."""
        end = time.monotonic() + remaining - self.frame_time
        due = self._due
        while due:
            now = time.monotonic()
            if now > end:
                return
            engine = min(range(len(due)), key=due.__getitem__)
            if due[engine] > now:
                return
            delay = self.engines[engine].poll()
            self.polls += 1
            due[engine] = time.monotonic() + delay
