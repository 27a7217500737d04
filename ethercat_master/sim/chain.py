"""A tree of simulated ESCs processing whole EtherCAT frames, and a thread serving it on a link.

The wiring and the frame's way through it come from :mod:`~ethercat_master.sim.topology`
(ESC Section I 3.2: ``0 -> EPU -> 3 -> 1 -> 2 -> 0`` in every ESC). Every datagram passes the
Processing Unit of every reached slave in processing order; each slave applies it (Section I
Table 7) and increments the working counter, and position and broadcast commands leave with ADP
increased by the number of slaves reached. Processing datagram by datagram through all slaves
gives the same result as the wire's slave by slave order, because a slave's state depends only
on the datagrams that passed it before.

Links and ports (Section I "Loop control", Section II 0x0100 loop bits and 0x0110 DL status):
a port has a link when its cable is intact and the slave at the other end is powered. With the
loop setting "auto" an unlinked port is closed and the frame turns back there; "auto close"
also closes it at link loss but opens it again only when the master writes 01 to its loop bits
once the link is back (a frame arriving at the closed port, the datasheet's other way to reopen
it, is not modelled); "open" sends the frame out even without a link (the frame is lost);
"closed" turns it back always. Port 0's setting is not applied to the frame's way in. A link
going down counts in the lost link counters (0x0310-0x0313) of both ends that are powered, when
their loop setting is "auto" or "auto close" (Section I Table 50). Loop settings written in a
frame apply from the next frame on.

Errors on the wire (Section I 14 "Error counters", Tables 50 and 51): a frame is checked at
every port it reaches. The first ESC that receives it invalid (a malformed frame, or a bit error
that breaks the FCS) counts it in the invalid frame counter of that port (0x0300 + 2 * port) and
forwards it marked; every later reception counts in the forwarded RX error counter of its port
(0x0308 + port); an invalid frame passing a Processing Unit also counts in 0x030C. The master's
NIC drops it. Simplification: slaves that receive the frame invalid do not apply any of it,
where a real ESC discards register writes and SyncManager buffer changes but still writes RAM
areas. Frames whose EtherCAT header type is not 1 pass the chain unchanged (ESCs process type 1
only).

After a frame, every slave that applied it gets :meth:`Esc.frame_end` (SyncManagers, firmware
hooks), after its DC unit has taken the frame's receive times and system time.

Power cycles: a powered-off slave has no links; when power returns, the chain builds a new ESC
from its factory, so every register is back at its power-on value (station address 0, AL INIT,
counters 0, DC clock restarted).

Distributed clocks: every ESC with DC gets a :class:`~ethercat_master.sim.dc.DcUnit` whose
local clock runs from the chain's time source; the frame's start reaches each ESC at the time
the topology's delays give, which the receive times and the system time reads reflect.

Cost per frame (``benchmarks/bench_sim.py`` measures it): the path, the ESCs in processing
order, and each DC unit's arrival and port reception times are worked out once per path (the
path changes only with the topology: cables, power, loop settings) and kept until it changes. A
frame that no fault hits goes through them without building anything per slave; the DC units
learn of it through their shared context and do their per-frame work only when a datagram
touches their registers (see :class:`~ethercat_master.sim.dc.DcUnit`). Frames hit by a
:class:`WireFault` take the general way, which stops at the reception the fault hits.

Batched ways (``SlaveChain.fast_paths``, on by default): an LRW goes through all slaves in one
loop that does, for each slave whose mappings it covers, what ``Esc._logical`` does for such an
LRW (SyncManagers bind whole-buffer accessors for mappings of a whole buffered area); an FRMW
of the system time 0x0910 stores the value in every slave whose write of it is plain (decided
per ESC configuration epoch) and tells their DC units at once; the frame end runs inline. Every
other slave, and every other datagram, goes through ``Esc.execute``. The results are those of
the general way; ``test/unit/sim/test_fast_paths.py`` holds the two to identical replies and
state, and ``benchmarks/bench_sim.py`` measures both.
"""

from __future__ import annotations

import heapq
import random
import struct
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Optional, Protocol, Sequence, Union

from ..errors import LinkError
from ..protocol.datagram import (
    DATAGRAM_HEADER,
    DATAGRAM_HEADER_SIZE,
    DATAGRAM_OVERHEAD,
    LENGTH_MASK,
    MORE_FOLLOWS_FLAG,
    RESERVED_MASK,
    WKC,
    Command,
)
from ..protocol.frame import ECAT_HEADER, ECAT_HEADER_SIZE, ECAT_LENGTH_MASK, ECAT_TYPE_SHIFT, FrameType
from ..protocol.registers import (
    PORT_COUNT,
    DlControl,
    DlStatus,
    DlStatusFlag,
    LoopPortControl,
    PortType,
    Register,
)
from ..transport.link import Link
from .dc import ClockSpec, DatagramContext, DcUnit, LocalClock, TimeSource
from .esc import ADP_INCREMENTING, Esc, _end_frame, _execute_lrw, _plain_type
from .topology import MASTER, UPSTREAM_PORT, FramePath, PortState, Reception, SlaveTiming, Topology, route

__all__ = ["SlaveChain", "WireFault", "Delivery", "Wire", "ChainServer"]

Buffer = Union[bytes, bytearray, memoryview]

_ADP = WKC  # both little-endian u16
_U32 = struct.Struct("<I")
_LRW, _FRMW = int(Command.LRW), int(Command.FRMW)
_SYSTEM_TIME_AT = int(Register.DC_SYSTEM_TIME)
#: FRMW lengths of the system time the batched way takes: those whose written value is the
#: comparison's whole input (the loop takes the lower 32 bits), up to the 64-bit register.
_SYSTEM_TIME_FRMW_LENGTHS = range(4, Register.DC_SYSTEM_TIME.size + 1)
_ADP_OFFSET = 2  # within a datagram header
_POSITION_SINGLE = frozenset({int(Command.APRD), int(Command.APWR), int(Command.APRW)})
#: Commands every slave acts on (or checks) with the ADP unchanged: station and logical.
_VISIT_ALL_FIXED_ADP = frozenset(
    int(c) for c in (Command.FPRD, Command.FPWR, Command.FPRW, Command.FRMW,
                     Command.LRD, Command.LWR, Command.LRW)
)
#: Commands every slave acts on, each seeing the ADP incremented by the slaves before it.
_VISIT_ALL_COUNTING = frozenset(int(c) for c in (Command.ARMW, Command.BRD, Command.BWR, Command.BRW))
#: DL status bits the ESC itself owns (PDI operational, PDI watchdog, enhanced link detection).
_DL_STATUS_OWN_BITS = 0x000F
_COUNTER_MAX = 0xFF
_INVALID_FRAME_COUNTERS = (Register.RX_ERROR_COUNTER_PORT0, Register.RX_ERROR_COUNTER_PORT1,
                           Register.RX_ERROR_COUNTER_PORT2, Register.RX_ERROR_COUNTER_PORT3)
_FORWARDED_ERROR_COUNTERS = (Register.FORWARDED_RX_ERROR_COUNTER_PORT0, Register.FORWARDED_RX_ERROR_COUNTER_PORT1,
                             Register.FORWARDED_RX_ERROR_COUNTER_PORT2, Register.FORWARDED_RX_ERROR_COUNTER_PORT3)
#: Section I Table 50: lost links count only in these loop settings.
_COUNTING_LOOPS = frozenset({LoopPortControl.AUTO, LoopPortControl.AUTO_CLOSE})
_LOST_LINK_COUNTERS = (Register.LOST_LINK_COUNTER_PORT0, Register.LOST_LINK_COUNTER_PORT1,
                       Register.LOST_LINK_COUNTER_PORT2, Register.LOST_LINK_COUNTER_PORT3)
_PHYSICAL_LINK = (DlStatusFlag.PHYSICAL_LINK_PORT0, DlStatusFlag.PHYSICAL_LINK_PORT1,
                  DlStatusFlag.PHYSICAL_LINK_PORT2, DlStatusFlag.PHYSICAL_LINK_PORT3)
_LOOP_CLOSED = (DlStatusFlag.LOOP_CLOSED_PORT0, DlStatusFlag.LOOP_CLOSED_PORT1,
                DlStatusFlag.LOOP_CLOSED_PORT2, DlStatusFlag.LOOP_CLOSED_PORT3)
_COMMUNICATION = (DlStatusFlag.COMMUNICATION_PORT0, DlStatusFlag.COMMUNICATION_PORT1,
                  DlStatusFlag.COMMUNICATION_PORT2, DlStatusFlag.COMMUNICATION_PORT3)


class _Plan:
    """What every frame needs from the current path, worked out once per path (the path
    changes only with the topology: cables, power, loop settings): the ESCs in processing
    order, and each DC unit with its arrival time and port reception times (relative to the
    frame leaving the master)."""

    __slots__ = ("path", "escs", "count", "returned", "dcs", "arrivals", "port_times", "fast", "esc_dcs",
                 "system_time_checks")

    def __init__(self, path: FramePath, escs: list[Esc], dcs: list[Optional[DcUnit]]) -> None:
        self.path = path
        processors = [r for r in path.receptions if r.port == UPSTREAM_PORT and r.slave != MASTER]
        self.escs = [escs[r.slave] for r in processors]
        self.count = len(self.escs)
        self.returned = path.returned
        #: The DC units in processing order, and their arrival times.
        self.dcs = [dc for r in processors if (dc := dcs[r.slave]) is not None]
        self.arrivals = {dc: r.time_ns for r in processors if (dc := dcs[r.slave]) is not None}
        times: dict[int, list[Optional[int]]] = {r.slave: [None] * PORT_COUNT for r in processors}
        for reception in path.receptions:
            slave_times = times.get(reception.slave)
            if slave_times is not None:
                slave_times[reception.port] = reception.time_ns
        #: DC unit -> reception times at its ports 0-3 (the whole path).
        self.port_times = {dc: tuple(times[r.slave]) for r in processors if (dc := dcs[r.slave]) is not None}
        #: Every ESC keeps Esc's own processing, so the batched ways may stand in for it (from
        #: two slaves on: for one, their setting up costs about what they save).
        self.fast = self.count > 1 and all(_plain_type(esc) for esc in self.escs)
        #: The DC unit (or None) of each ESC in processing order.
        self.esc_dcs = [dcs[r.slave] for r in processors]
        #: FRMW length -> per ESC in processing order [its epoch when checked, whether its
        #: system time write may take the batched way] (see SlaveChain._frmw_system_time).
        self.system_time_checks: dict[int, list[list]] = {}


def _power_on_copy(esc: Esc) -> Esc:
    """A plain :class:`Esc` with the identity, alias and name of ``esc``, as at power-on."""
    identity = esc.identity
    return Esc(esc_type=identity.esc_type, revision=identity.revision, build=identity.build,
               fmmu_count=identity.fmmu_count, sync_manager_count=identity.sync_manager_count,
               ram_size_kib=identity.ram_size_kib, ports=identity.port_descriptor.ports,
               features=identity.features.flags, alias=esc.alias, bootstrap=esc.bootstrap, name=esc.name)


def _count(esc: Esc, address: int) -> None:
    """Increment an 8-bit error counter; it stops at 0xFF (Section II)."""
    value = esc.pdi_read(address, 1)[0]
    if value < _COUNTER_MAX:
        esc.pdi_write(address, bytes((value + 1,)))


@dataclass(frozen=True, slots=True)
class WireFault:
    """A fault hitting one frame on a cable: at reception ``reception`` (an index into the
    frame's :attr:`FramePath.receptions`; the last one is the master's) the frame arrives with
    a broken FCS (``corrupted``) or does not arrive at all."""

    reception: int
    corrupted: bool


class SlaveChain:
    """Simulated slaves wired as a :class:`Topology` (default: a line), processing frames.

    :param escs: the slaves, by their number in the topology.
    :param topology: the wiring; ``Topology.line(len(escs))`` when omitted.
    :param timings: processing and forwarding delays: one for all slaves, or one per slave.
    :param clocks: power-on state of each slave's DC clock; by default drawn from
        ``random.Random(clock_seed)`` (power-on times up to ~18 minutes, drift within 50 ppm).
    :param time_source: simulation time in ns for the DC clocks (default :func:`time.monotonic_ns`).
    :param factory: builds slave ``n`` anew when its power returns; by default a plain
        :class:`Esc` with the same identity (pass a factory for slaves with more layers).

    Counters (cumulative): ``frames_processed`` (valid type-1 frames that reached a slave),
    ``frames_dropped`` (malformed frames), ``frames_forwarded`` (other frame types),
    ``frames_lost`` (frames that did not come back: no link, an open port without link, or a
    :class:`WireFault`).

    :attr:`lock` is held while a frame is processed; hold it to touch slave memory from another
    thread while a :class:`ChainServer` runs.
    """

    def __init__(self, escs: Iterable[Esc], topology: Optional[Topology] = None, *,
                 timings: Union[SlaveTiming, Sequence[SlaveTiming], None] = None,
                 clocks: Optional[Sequence[ClockSpec]] = None, clock_seed: int = 0,
                 time_source: Optional[TimeSource] = None,
                 factory: Optional[Callable[[int], Esc]] = None) -> None:
        self._escs: list[Esc] = list(escs)
        count = len(self._escs)
        self.topology = Topology.line(count) if topology is None else topology
        if self.topology.count != count:
            raise ValueError(f"{count} slaves for a topology of {self.topology.count}")
        if timings is None or isinstance(timings, SlaveTiming):
            self._timings = (timings or SlaveTiming(),) * count
        else:
            self._timings = tuple(timings)
        if len(self._timings) != count:
            raise ValueError(f"{len(self._timings)} timings for {count} slaves")
        if clocks is None:
            rng = random.Random(clock_seed)
            clocks = [ClockSpec.random(rng) for _ in range(count)]
        self._clocks = tuple(clocks)
        if len(self._clocks) != count:
            raise ValueError(f"{len(self._clocks)} clock specs for {count} slaves")
        self.time: TimeSource = time.monotonic_ns if time_source is None else time_source
        self._factory = factory
        self.lock = threading.RLock()
        self._context = DatagramContext()
        self._powered = [True] * count
        self._cut: set[int] = set()
        self._loops = [(LoopPortControl.AUTO,) * PORT_COUNT for _ in range(count)]
        self._reopen_pending: list[set[int]] = [set() for _ in range(count)]
        self._links = [[False] * PORT_COUNT for _ in range(count)]
        self._dc: list[Optional[DcUnit]] = [None] * count
        self._path: Optional[FramePath] = None
        self._plan: Optional[_Plan] = None
        self.frames_processed = 0
        self.frames_dropped = 0
        self.frames_forwarded = 0
        self.frames_lost = 0
        #: Let frames that no fault hits take the batched ways (an LRW through every slave, an
        #: FRMW of the system time, the frame end); False sends every datagram through each
        #: slave's :meth:`Esc.execute`. Both give the same replies and slave state (the tests
        #: hold them to that); the switch exists for those tests and for measuring.
        self.fast_paths = True
        for slave, esc in enumerate(self._escs):
            self._attach(slave, esc)
        self._refresh(count_losses=False)

    # ------------------------------------------------------------------------- access
    @property
    def escs(self) -> Sequence[Esc]:
        """The slaves by topology number (a powered-off slave's last ESC stays here)."""
        return tuple(self._escs)

    def __len__(self) -> int:
        return len(self._escs)

    def __getitem__(self, slave: int) -> Esc:
        return self._escs[slave]

    def __repr__(self) -> str:
        return f"<SlaveChain of {len(self._escs)} slaves, {len(self.path().order)} reached>"

    def dc(self, slave: int) -> Optional[DcUnit]:
        """The distributed clock of ``slave`` (None without DC support)."""
        return self._dc[slave]

    def powered(self, slave: int) -> bool:
        """True while ``slave`` has power."""
        return self._powered[slave]

    def link_up(self, slave: int, port: int) -> bool:
        """True when ``port`` of ``slave`` has a physical link."""
        return self._links[slave][port]

    def path(self) -> FramePath:
        """The way the next frame takes, times relative to leaving the master."""
        with self.lock:
            if self._path is None:
                self._path = route(self.topology, self._timings, self._port_state,
                                   bool(self._escs) and self._links[0][UPSTREAM_PORT])
            return self._path

    @property
    def processing_order(self) -> tuple[int, ...]:
        """The slaves the next frame reaches, in processing (auto-increment) order."""
        return self.path().order

    # ---------------------------------------------------------------- topology events
    def disconnect(self, slave: int) -> None:
        """Break the cable into port 0 of ``slave`` (slave 0: the master's cable)."""
        self._set_cable(slave, intact=False)

    def reconnect(self, slave: int) -> None:
        """Repair the cable into port 0 of ``slave``."""
        self._set_cable(slave, intact=True)

    def power_off(self, slave: int) -> None:
        """Switch ``slave`` off: its neighbours lose their links to it."""
        with self.lock:
            self._check_slave(slave)
            self._powered[slave] = False
            dc = self._dc[slave]
            if dc is not None:  # its last frame, then no more
                dc._detach()
            self._dc[slave] = None
            self._refresh()

    def power_on(self, slave: int) -> None:
        """Switch ``slave`` on again (no effect when it is on): a new ESC from the factory, with
        every register at its power-on value and a restarted DC clock."""
        with self.lock:
            self._check_slave(slave)
            if self._powered[slave]:
                return
            factory = self._factory or (lambda n: _power_on_copy(self._escs[n]))
            esc = factory(slave)
            self._escs[slave] = esc
            self._powered[slave] = True
            self._loops[slave] = (LoopPortControl.AUTO,) * PORT_COUNT
            self._reopen_pending[slave] = set()
            self._links[slave] = [False] * PORT_COUNT
            self._attach(slave, esc)
            self._refresh()

    # ------------------------------------------------------------------ processing
    def process(self, payload: Buffer, *, fault: Optional[WireFault] = None) -> Optional[bytearray]:
        """Run an EtherCAT payload (EtherCAT header and datagrams, padding allowed after them)
        through the slaves, as the frame that returns to the master.

        A ``bytearray`` is processed in place and returned; other buffers are copied first.
        Returns ``None`` when no valid frame comes back: a malformed frame, a frame that found
        no way back, or one hit by ``fault``.
        """
        frame = payload if isinstance(payload, bytearray) else bytearray(payload)
        with self.lock:
            plan = self._plan
            if plan is None:
                plan = self._make_plan()
            datagrams = self._parse(frame)
            if fault is None and datagrams is not None:  # the common case: valid, nothing hits it
                if plan.count:
                    self.frames_processed += 1
                    self._run_plan(frame, datagrams, plan)
                if plan.returned:
                    return frame
                self.frames_lost += 1
                return None
            path = plan.path
            receptions = path.receptions
            reached = len(receptions)  # receptions that happen
            invalid_from: Optional[int] = None  # first reception of an invalid frame
            if fault is not None:
                if fault.corrupted:
                    invalid_from = min(fault.reception, reached)
                else:
                    reached = min(fault.reception, reached)
            malformed = datagrams is None and not self._forwarded(frame)
            if malformed:
                self.frames_dropped += 1
                invalid_from = 0
            valid = reached if invalid_from is None else min(invalid_from, reached)
            processors = [r for r in receptions[:valid] if r.port == UPSTREAM_PORT and r.slave != MASTER]
            if datagrams is not None and processors:
                self.frames_processed += 1
                self._run(frame, datagrams, processors, path, valid)
            if invalid_from is not None:
                self._count_invalid(receptions[invalid_from:reached])
                if not malformed:
                    self.frames_lost += 1
                return None
            return self._deliver(frame, path, reached)

    def _deliver(self, frame: bytearray, path: FramePath, reached: int) -> Optional[bytearray]:
        if path.returned and reached == len(path.receptions):
            return frame
        self.frames_lost += 1
        return None

    def _make_plan(self) -> _Plan:
        """The plan of the current path; tells each DC unit its arrival time on it (after the
        unit took the last frame of the old path)."""
        plan = self._plan = _Plan(self.path(), self._escs, self._dc)
        for dc in self._dc:
            if dc is not None:
                dc._sync()
                dc._arrival = plan.arrivals.get(dc)
        return plan

    def _run_plan(self, frame: bytearray, datagrams: list[tuple[int, int, int, int, int]], plan: _Plan) -> None:
        """:meth:`_run` for a frame that passes the whole path of ``plan`` unharmed."""
        start_ns = self.time()
        context = self._context
        context.frame += 1  # every DC unit of the plan: frame_arrived(start_ns + its arrival), lazily
        context.start_ns = start_ns
        if context.eager:
            for dc in context.eager:
                dc._sync()
        escs = plan.escs
        count = plan.count
        fast = plan.fast and self.fast_paths
        for header, command, address, start, length in datagrams:
            context.command = command
            adp = address & 0xFFFF
            wkc = 0
            if command in _VISIT_ALL_FIXED_ADP:
                if fast and command == _LRW:
                    wkc = _execute_lrw(escs, address, frame, start, length)
                elif fast and command == _FRMW and address >> 16 == _SYSTEM_TIME_AT \
                        and length in _SYSTEM_TIME_FRMW_LENGTHS:
                    wkc = self._frmw_system_time(plan, adp, address, frame, start, length)
                else:
                    for esc in escs:
                        wkc += esc.execute(command, adp, address, frame, start, length)
            elif command in _POSITION_SINGLE:
                # only the slave that sees ADP 0 acts; the others just increment ADP
                target = (-adp) & 0xFFFF
                if target < count:
                    wkc = escs[target].execute(command, 0, address, frame, start, length)
            elif command in _VISIT_ALL_COUNTING:
                for position, esc in enumerate(escs):
                    wkc += esc.execute(command, (adp + position) & 0xFFFF, address, frame, start, length)
            else:
                continue  # NOP and unknown commands pass untouched
            if command in ADP_INCREMENTING:
                _ADP.pack_into(frame, header + _ADP_OFFSET, (adp + count) & 0xFFFF)
            if wkc:
                at = start + length
                WKC.pack_into(frame, at, (WKC.unpack_from(frame, at)[0] + wkc) & 0xFFFF)
        frame_number = context.frame
        for dc in plan.dcs:  # DcUnit.frame_done, skipped where it has nothing to do
            received = dc._received
            if received is None and not dc._latch:
                continue
            if dc._frame != frame_number:  # left by a frame an exception ended: its arrival clears it
                dc._sync()
                received = dc._received
            if dc._latch:
                dc.frame_done(tuple(None if t is None else start_ns + t for t in plan.port_times[dc]))
            elif received is not None:
                dc._compare(received)
                dc._received = None
        if fast:
            _end_frame(escs)
        else:
            for esc in escs:
                esc.frame_end()

    def _frmw_system_time(self, plan: _Plan, adp: int, address: int, frame: bytearray, start: int,
                          length: int) -> int:
        """An FRMW of the system time (0x0910, 4 to 8 bytes) passing every slave of ``plan``:
        the sum of their :meth:`Esc.execute` increments, with the same effects.

        The slave it addresses (the reference clock) reads; every other one writes 0x0910 and
        its DC unit keeps the written lower 32 bits for the comparison at the frame's end
        (:meth:`DcUnit._system_time_written`). Where that write is plain
        (:meth:`Esc._plain_write_hooks`) and the DC unit's hook is its only one, it is done here
        in the loop, without the ESC's general write path, and the DC units that took the same
        value are told at once (:meth:`DcUnit._system_times_written`; the slaves are
        independent, so telling them after the loop reached the next changes nothing); the
        reference clock and any other slave go through :meth:`Esc.execute`. Whether a slave's
        write is plain is decided again whenever its ESC's epoch changed."""
        checks = plan.system_time_checks.get(length)
        if checks is None:
            checks = plan.system_time_checks[length] = [[-1, False] for _ in plan.escs]
        end = _SYSTEM_TIME_AT + length
        data: Optional[bytearray] = None
        taken: list[DcUnit] = []  # DC units whose ESC stored data, not yet told
        wkc = 0
        for esc, dc, check in zip(plan.escs, plan.esc_dcs, checks):
            if not esc._in_frame:  # Esc.execute's first datagram of a frame, inline
                esc._in_frame = True
                watchdog = esc.watchdog
                if watchdog.running and watchdog._clock() >= watchdog._deadline:
                    watchdog._expire()
                    esc._watchdog_expired()
            if check[0] != esc._epoch:
                check[0] = esc._epoch
                hooks = None if dc is None else esc._plain_write_hooks(_SYSTEM_TIME_AT, end)
                check[1] = hooks is not None and len(hooks) == 1 and hooks[0][2] == dc._system_time_written
            if not check[1] or esc._station == adp or (esc._alias_enabled and adp == esc.alias):
                wkc += esc.execute(_FRMW, adp, address, frame, start, length)
                if data is not None:  # the reference clock put its time into the datagram
                    DcUnit._system_times_written(taken, _U32.unpack_from(data)[0])
                    taken.clear()
                    data = None
                continue
            if data is None:
                data = frame[start:start + length]
            esc._mem[_SYSTEM_TIME_AT:end] = data
            taken.append(dc)  # type: ignore[arg-type]
            wkc += 1
        if taken:
            DcUnit._system_times_written(taken, _U32.unpack_from(data)[0])  # type: ignore[arg-type]
        return wkc

    def _run(self, frame: bytearray, datagrams: list[tuple[int, int, int, int, int]],
             processors: list[Reception], path: FramePath, valid: int) -> None:
        """Apply the datagrams at the slaves of ``processors`` (their port 0 receptions), then
        end the frame at each of them (DC latches and loop, SyncManagers, firmware)."""
        start_ns = self.time()
        clocks = [(r.slave, dc) for r in processors if (dc := self._dc[r.slave]) is not None]
        for reception in processors:
            dc = self._dc[reception.slave]
            if dc is not None:
                dc.frame_arrived(start_ns + reception.time_ns)
        escs = [self._escs[r.slave] for r in processors]
        count = len(escs)
        context = self._context
        for header, command, address, start, length in datagrams:
            context.command = command
            adp = address & 0xFFFF
            wkc = 0
            if command in _POSITION_SINGLE:
                # only the slave that sees ADP 0 acts; the others just increment ADP
                target = (-adp) & 0xFFFF
                if target < count:
                    wkc = escs[target].execute(command, 0, address, frame, start, length)
            elif command in _VISIT_ALL_FIXED_ADP:
                for esc in escs:
                    wkc += esc.execute(command, adp, address, frame, start, length)
            elif command in _VISIT_ALL_COUNTING:
                for position, esc in enumerate(escs):
                    wkc += esc.execute(command, (adp + position) & 0xFFFF, address, frame, start, length)
            else:
                continue  # NOP and unknown commands pass untouched
            if command in ADP_INCREMENTING:
                _ADP.pack_into(frame, header + _ADP_OFFSET, (adp + count) & 0xFFFF)
            if wkc:
                at = start + length
                WKC.pack_into(frame, at, (WKC.unpack_from(frame, at)[0] + wkc) & 0xFFFF)
        for slave, dc in clocks:
            times = path.port_times(slave, valid)
            dc.frame_done(tuple(None if t is None else start_ns + t for t in times))
        for esc in escs:
            esc.frame_end()

    def _count_invalid(self, receptions: Sequence[Reception]) -> None:
        """The first reception detects the error, the later ones see it marked; an invalid
        frame passing a Processing Unit (a port 0 reception) counts there too."""
        for index, reception in enumerate(receptions):
            if reception.slave == MASTER:
                continue
            esc = self._escs[reception.slave]
            counters = _FORWARDED_ERROR_COUNTERS if index else _INVALID_FRAME_COUNTERS
            _count(esc, counters[reception.port])
            if reception.port == UPSTREAM_PORT:
                _count(esc, Register.PROCESSING_UNIT_ERROR_COUNTER)

    @staticmethod
    def _parse(frame: bytearray) -> Optional[list[tuple[int, int, int, int, int]]]:
        """(header offset, command, address, data offset, length) of each datagram, or None
        when the frame is malformed or not of type 1."""
        size = len(frame)
        if size < ECAT_HEADER_SIZE:
            return None
        (word,) = ECAT_HEADER.unpack_from(frame, 0)
        if word >> ECAT_TYPE_SHIFT != FrameType.DLPDU:
            return None
        end = ECAT_HEADER_SIZE + (word & ECAT_LENGTH_MASK)
        if end > size:
            return None
        datagrams = []
        offset = ECAT_HEADER_SIZE
        while True:
            if offset + DATAGRAM_OVERHEAD > end:
                return None
            command, _index, address, flags, _irq = DATAGRAM_HEADER.unpack_from(frame, offset)
            if flags & RESERVED_MASK:
                return None
            length = flags & LENGTH_MASK
            start = offset + DATAGRAM_HEADER_SIZE
            following = start + length + WKC.size
            if following > end:
                return None
            datagrams.append((offset, command, address, start, length))
            offset = following
            if not flags & MORE_FOLLOWS_FLAG:
                break
        if offset != end:
            return None
        return datagrams

    def _forwarded(self, frame: bytearray) -> bool:
        """True (and counted) when ``frame`` is a well-formed header of another frame type."""
        if len(frame) < ECAT_HEADER_SIZE:
            return False
        (word,) = ECAT_HEADER.unpack_from(frame, 0)
        if word >> ECAT_TYPE_SHIFT == FrameType.DLPDU:
            return False
        self.frames_forwarded += 1
        return True

    # ------------------------------------------------------------- links and ports
    def _check_slave(self, slave: int) -> None:
        if not 0 <= slave < len(self._escs):
            raise ValueError(f"slave {slave!r} is outside 0..{len(self._escs) - 1}")

    def _attach(self, slave: int, esc: Esc) -> None:
        """Check that ``esc`` has the ports its cables need; watch its DL control; give it a
        DC unit."""
        ports = esc.identity.port_descriptor.ports
        cabled = [UPSTREAM_PORT, *self.topology.children(slave)]
        missing = [port for port in cabled if ports[port] is PortType.NOT_IMPLEMENTED]
        if missing:
            raise ValueError(f"slave {slave} ({esc!r}) is cabled at ports {missing}, which it does not implement")
        esc.add_write_hook(Register.DL_CONTROL, Register.DL_CONTROL.size, partial(self._dl_control_written, slave))
        if esc.identity.features.dc_supported:
            clock = LocalClock(self._clocks[slave], self.time())
            self._dc[slave] = DcUnit(esc, clock, self.time, self._context)
        else:
            self._dc[slave] = None

    def _set_cable(self, slave: int, intact: bool) -> None:
        with self.lock:
            self._check_slave(slave)
            if intact:
                self._cut.discard(slave)
            else:
                self._cut.add(slave)
            self._refresh()

    def _dl_control_written(self, slave: int, address: int, length: int) -> None:
        esc = self._escs[slave]
        control = DlControl.decode(esc.pdi_read(DlControl.ADDRESS, DlControl.SIZE))
        before = (self._loops[slave], set(self._reopen_pending[slave]))
        self._loops[slave] = control.loop_ports
        for port, loop in enumerate(control.loop_ports):
            if loop is LoopPortControl.AUTO_CLOSE and self._links[slave][port]:
                self._reopen_pending[slave].discard(port)  # "auto close": reopened by writing 01
        # Loop settings change no link (links follow cables and power): only this slave's DL
        # status and, if its ports changed, the path. A whole-chain refresh here made a BWR of DL
        # control (every scan's reset) cost O(slaves^2): 0.3 s for 64 slaves.
        if self._powered[slave]:
            self._write_dl_status(slave, esc)
        if before != (self._loops[slave], self._reopen_pending[slave]):
            self._path = None
            self._plan = None

    def _has_link(self, slave: int, port: int) -> bool:
        if not self._powered[slave]:
            return False
        if port == UPSTREAM_PORT:
            parent = self.topology.upstream(slave).parent
            return slave not in self._cut and (parent == MASTER or self._powered[parent])
        child = self.topology.neighbour(slave, port)
        return child is not None and child not in self._cut and self._powered[child]

    def _port_state(self, slave: int, port: int) -> PortState:
        if self._escs[slave].identity.port_descriptor.ports[port] is PortType.NOT_IMPLEMENTED:
            return PortState.CLOSED
        linked = self._links[slave][port]
        loop = self._loops[slave][port]
        if loop is LoopPortControl.OPEN:
            return PortState.OPEN if linked else PortState.OPEN_WITHOUT_LINK
        if loop is LoopPortControl.CLOSED or not linked:
            return PortState.CLOSED
        if loop is LoopPortControl.AUTO_CLOSE and port in self._reopen_pending[slave]:
            return PortState.CLOSED
        return PortState.OPEN

    def _refresh(self, count_losses: bool = True, route_changed: bool = True) -> None:
        """Recompute every port's link, count lost links, rewrite DL status, forget the path
        (it depends on the links, the loop settings and the ports waiting to reopen, so it is
        kept when the caller says none of the latter two changed and no link did)."""
        for slave, esc in enumerate(self._escs):
            for port in range(PORT_COUNT):
                linked = self._has_link(slave, port)
                if linked != self._links[slave][port]:
                    route_changed = True
                if self._links[slave][port] and not linked:
                    self._reopen_pending[slave].add(port)
                    if count_losses and self._powered[slave] and self._loops[slave][port] in _COUNTING_LOOPS:
                        _count(esc, _LOST_LINK_COUNTERS[port])
                self._links[slave][port] = linked
        for slave, esc in enumerate(self._escs):
            if self._powered[slave]:
                self._write_dl_status(slave, esc)
        if route_changed:
            self._path = None
            self._plan = None

    def _write_dl_status(self, slave: int, esc: Esc) -> None:
        own = DlStatus.decode(esc.pdi_read(DlStatus.ADDRESS, DlStatus.SIZE)).flags & _DL_STATUS_OWN_BITS
        flags = DlStatusFlag(own)
        for port in range(PORT_COUNT):
            if self._links[slave][port]:
                flags |= _PHYSICAL_LINK[port] | _COMMUNICATION[port]
            if self._port_state(slave, port) is PortState.CLOSED:
                flags |= _LOOP_CLOSED[port]
        esc.pdi_write(DlStatus.ADDRESS, DlStatus(flags).encode())


# ---------------------------------------------------------------------------- serving
@dataclass(frozen=True, slots=True)
class Delivery:
    """A frame to send back to the master, ``delay_s`` seconds after its request arrived."""

    payload: bytes
    delay_s: float = 0.0


class Wire(Protocol):
    """Something between the link and the chain that turns one request into deliveries
    (:class:`~ethercat_master.sim.faults.FaultyWire`)."""

    def transmit(self, payload: Buffer) -> Sequence[Delivery]:
        """Carry ``payload`` through the chain; return what reaches the master and when."""


class ChainServer:
    """Serves a :class:`SlaveChain` on a :class:`Link` from a thread: receive a payload,
    process it, send the result back (nothing for a frame that does not come back), until
    stopped.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Counters:
    ``frames_received``, ``frames_replied`` (frames sent back, duplicates included) and
    ``frames_dropped`` (requests without any reply). If the loop dies of an unexpected
    exception, it is kept in :attr:`error` and raised again by :meth:`stop`.

    :param wire: carries each request through the chain (e.g. a ``FaultyWire`` injecting
        faults, whose delayed replies are sent when due); by default the chain is called
        directly.
    :param poll_interval: seconds between checks for a stop request while no frame arrives.
    """

    def __init__(self, chain: SlaveChain, link: Link, *, wire: Optional[Wire] = None,
                 poll_interval: float = 0.02, name: str = "ethercat-sim"):
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
        self.chain = chain
        self.link = link
        self.wire = wire
        self.name = name
        self._poll = poll_interval
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.frames_received = 0
        self.frames_replied = 0
        self.frames_dropped = 0
        self.error: Optional[BaseException] = None

    @property
    def running(self) -> bool:
        """True while the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "ChainServer":
        """Start serving in a daemon thread; returns self."""
        if self.running:
            raise RuntimeError(f"{self.name}: already running")
        self._stop.clear()
        self.error = None
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving and wait for the thread; re-raise an exception that ended the loop.
        Replies still delayed are not sent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError(f"{self.name}: serving thread did not stop within {timeout} s")
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def __enter__(self) -> "ChainServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _deliveries(self, payload: bytes) -> Sequence[Delivery]:
        if self.wire is not None:
            return self.wire.transmit(payload)
        reply = self.chain.process(payload)
        return () if reply is None else (Delivery(bytes(reply)),)

    def _serve(self) -> None:
        link, stop = self.link, self._stop
        pending: list[tuple[float, int, bytes]] = []  # (due time, sequence, payload)
        sequence = 0
        try:
            while not stop.is_set():
                now = time.monotonic()
                while pending and pending[0][0] <= now:
                    link.send(heapq.heappop(pending)[2])
                    self.frames_replied += 1
                timeout = self._poll if not pending else min(self._poll, pending[0][0] - now)
                payload = link.recv(timeout)
                if payload is None:
                    continue
                arrived = time.monotonic()
                self.frames_received += 1
                deliveries = self._deliveries(payload)
                if not deliveries:
                    self.frames_dropped += 1
                for delivery in deliveries:
                    if delivery.delay_s <= 0:
                        link.send(delivery.payload)
                        self.frames_replied += 1
                    else:
                        sequence += 1
                        heapq.heappush(pending, (arrived + delivery.delay_s, sequence, delivery.payload))
        except LinkError as exc:
            if not link.closed:  # a closed link ends serving quietly
                self.error = exc
        except BaseException as exc:  # kept for stop(); a thread cannot raise to its owner
            self.error = exc
