"""Distributed clocks in the master: the start-up sequence, SYNC0/SYNC1 of the slaves, the
continuous correction driven by the cycle thread, and the DC KPIs.

Start-up (:func:`configure_dc`, ESC datasheet Section I 9.1 "Distributed Clocks", the order
SOEM's ``ecx_configdc`` and IgH's DC state machine use; run it in PRE-OP, before SAFE-OP)
    1. A BWR to 0x0900 latches the local time of the frame's start at every port of every
       DC slave (0x0900-0x090F) and at its Processing Unit (0x0918).
    2. The receive times give each slave's propagation delay from the reference clock
       (:func:`compute_delays`): the frame passes a port out and back, so the time a
       subtree takes is the difference of the receive times of the port it hangs from and
       of the port before it in the processing order ``0 -> 3 -> 1 -> 2``; half of it, less
       the time the child's own subtrees took, is the cable's way there (forward and return
       delays assumed equal, as the datasheet and every master do), plus the subtrees of
       the parent's earlier ports. This is the computation of SOEM's ``ecx_configdc`` and
       gives the same numbers for a chain; it is written per port, so branches through a
       junction are handled the same way.
    3. The reference clock is the first DC slave in processing order, or the configured one
       (which must then be the first DC slave: the FRMW that distributes its time would
       hand the slaves before it stale data).
    4. System time offsets (0x0920): ``master time at the latch + delay - local receive time``
       for each slave, so every local copy of the system time reads the master's time base
       at the moment the reference clock saw the latch frame; then the delays (0x0928).
    5. The time control loops are reset (0x0930 written with its reset value 0x1000) and
       ``drift_frames`` FRMWs of the reference clock's system time are sent (static drift
       compensation, ESC datasheet: "about 15,000"), stopping early once every slave's
       system time difference (0x092C) has settled within a few ns (the frames come faster
       than cycles will, so a residual rate error shows here smaller than it will later).
       In bus-follows-master mode each of these frames also writes the master's time to the
       reference clock, so that its loop has settled on the master's clock before cyclic
       operation.

SYNC0/SYNC1 (:func:`configure_sync`, SOEM's ``ecx_dcsync0``/``ecx_dcsync01``)
    Activation off (0x0981 = 0), cyclic unit to EtherCAT (0x0980), SYNC0/SYNC1 cycle times
    (0x09A0/0x09A4), the start time (0x0990) as the next whole multiple of the SYNC0 cycle
    at least ``start_delay_ns`` after the slave's system time now, plus the shift, then the
    activation (high byte of AssignActivate into 0x0981). :func:`write_sync_mode` sets
    0x1C32/0x1C33 (ETG.1020 synchronisation objects) to DC SYNC0 with the cycle time.

Continuous correction (:class:`DcController`, used by :class:`~.cyclic.CycleThread`)
    :meth:`DcController.prepare` runs before cyclic operation. The cyclic frame carries an
    FRMW of the reference's 0x0910: every slave compares the
    reference's time with its own copy and its time control loop corrects its clock. Two modes
    (:class:`~ethercat_master.config.network.DcMode`):

    * master follows bus (default): the reference clock runs free and the master shifts the
      deadlines of its cycle thread so that the reference's time at the frame's passage
      sits at a fixed phase of the cycle (``send_phase_ns``; by default half a cycle away
      from SYNC0). A PI loop on that phase error (SOEM's ``ec_sync`` in its examples); the
      integral takes up the drift of the reference clock against the host's clock.
    * bus follows master: the frame also carries, before the FRMW, an FPWR of the master's
      time to the reference clock's 0x0910; the reference's control loop follows the host's
      clock. The host's send jitter enters the reference's loop: use it with a real-time
      host.

KPIs (:meth:`DcController.monitor`, :meth:`DcController.snapshot`)
    Per slave the system time difference 0x092C (mean of ``local copy - received``, sign and
    magnitude), read with the AL status in one frame every ``monitor_interval_ns`` (in the
    cycle thread's idle time, not every cycle); time to lock (first sample with every slave
    inside ``lock_window_ns`` after the start of cyclic operation); out-of-sync events (a
    locked slave beyond ``out_of_sync_ns``); sync loss (a slave with SYNC0 dropped to SAFE-OP
    with a synchronisation AL status code, e.g. 0x002C fatal sync error), which
    :meth:`DcController.recover` re-synchronises; the master's phase error, and the drift
    and offset of the reference clock against the host's clock; trend windows (the worst
    difference and the events of every 10 s). :meth:`DcController.snapshot`
    is a versioned JSON-ready dict (``{"schema_version": 1, "kind": "ethercat_master.dc"}``).
"""

from __future__ import annotations

import collections
import enum
import struct
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

from ..config.network import DcMode
from ..errors import ConfigError, FrameTimeout, SdoAbort, WorkingCounterError
from ..protocol.al_status import ALState, ALStatusCode, al_status_text
from ..protocol.datagram import Command, station_address
from ..protocol.registers import PORT_COUNT, AlStatusBlock, DcActivation, Register
from .al import acknowledge_errors, request_states
from .bus import Bus, Request
from .cyclic import LogHistogram

__all__ = [
    "DC_EPOCH_UNIX_NS",
    "DEFAULT_DRIFT_FRAMES",
    "DEFAULT_START_DELAY_NS",
    "SPEED_COUNTER_START_RESET",
    "SYNC_LOSS_CODES",
    "TREND_WINDOWS",
    "SyncMode",
    "dc_time_ns",
    "ReceiveTimes",
    "DcNode",
    "DcSlave",
    "DcStartup",
    "SyncConfiguration",
    "choose_reference",
    "latch_receive_times",
    "compute_delays",
    "entry_port",
    "previous_port",
    "system_time_offsets",
    "write_offsets_and_delays",
    "reset_control_loops",
    "static_drift_compensation",
    "read_system_time_differences",
    "decode_system_time_difference",
    "configure_dc",
    "sync_start_time",
    "configure_sync",
    "write_sync_mode",
    "SlaveDcStatus",
    "DcController",
]

#: The DC system time counts from 2000-01-01 00:00 UTC (ETG.1000.4); as Unix time in ns.
DC_EPOCH_UNIX_NS = 946_684_800 * 1_000_000_000
#: Static drift compensation frames the ESC datasheet suggests.
DEFAULT_DRIFT_FRAMES = 15_000
#: SYNC0 starts at least this long after the configuration (SOEM's ``SyncDelay``: 100 ms).
DEFAULT_START_DELAY_NS = 100_000_000
#: Reset value of the Speed Counter Start register 0x0930 (ESC datasheet Section II).
SPEED_COUNTER_START_RESET = 0x1000
#: AL status codes by which a slave reports lost synchronisation (ETG.1000.6 Table 11).
SYNC_LOSS_CODES = frozenset({
    ALStatusCode.SYNCHRONIZATION_ERROR,  # 0x001A
    ALStatusCode.FATAL_SYNC_ERROR,  # 0x002C
    ALStatusCode.NO_SYNC_ERROR,  # 0x002D
    ALStatusCode.DC_SYNC_IO_ERROR,  # 0x0033
    ALStatusCode.DC_SYNC_TIMEOUT_ERROR,  # 0x0034
})

_NS_PER_S = 1_000_000_000
_U32_MASK = 0xFFFF_FFFF
_U64_MASK = (1 << 64) - 1
_SIGN_BIT = 0x8000_0000
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_RECEIVE_TIMES = struct.Struct("<4I")
#: SOEM's port order of a frame through an ESC, from the entry port: 0 -> 3 -> 1 -> 2 -> 0.
_PROCESSING_ORDER = (0, 3, 1, 2)
#: Static drift: how often the differences are read to stop early, and how many frames at least.
_DRIFT_CHECK_EVERY = 500
_DRIFT_MIN_FRAMES = 1_000
#: Trend windows :meth:`DcController.snapshot` keeps (10 minutes at the default 10 s).
TREND_WINDOWS = 60
#: The reference clock's drift is measured over baselines of at least this long.
_DRIFT_BASELINE_NS = 1_000_000_000
#: ... and of at least this many samples (a loaded host loses frames).
_DRIFT_WINDOW_SAMPLES = 100
#: Monitoring needs this much of the cycle left (one frame's round trip with margin).
_MONITOR_MIN_REMAINING_S = 0.0002
#: 0x0981: SYNC0 and SYNC1 bits of the activation register.
_SYNC_ACTIVATION_MASK = int(DcActivation.CYCLIC_OPERATION | DcActivation.SYNC0 | DcActivation.SYNC1)
#: 0x1C32/0x1C33 sub-indices (ETG.1020): sync mode, cycle time.
_SYNC_PARAMETER_OUTPUTS = 0x1C32
_SYNC_PARAMETER_INPUTS = 0x1C33
_SYNC_MODE_SUBINDEX = 1
_CYCLE_TIME_SUBINDEX = 2


class SyncMode(enum.IntEnum):
    """0x1C32/0x1C33 SI1 synchronisation type (ETG.1020)."""

    FREE_RUN = 0x00
    SM_SYNCHRONOUS = 0x01
    DC_SYNC0 = 0x02
    DC_SYNC1 = 0x03


def dc_time_ns() -> int:
    """The host's time on the DC time base: ns since 2000-01-01 (``CLOCK_REALTIME``)."""
    return time.time_ns() - DC_EPOCH_UNIX_NS


def _signed32(value: int) -> int:
    value &= _U32_MASK
    return value - (1 << 32) if value & _SIGN_BIT else value


def _trunc_half(value: int) -> int:
    """``value / 2`` truncated towards zero (C integer division, as SOEM computes it)."""
    return -((-value) // 2) if value < 0 else value // 2


# ------------------------------------------------------------------------- receive times
@dataclass(frozen=True, slots=True)
class ReceiveTimes:
    """The receive times one DC slave latched for one frame.

    :ivar ports: local time (32 bit) of the frame's start at ports 0-3 (0x0900-0x090F).
    :ivar processing_unit: local time of the frame's start at the Processing Unit (0x0918).
    """

    ports: tuple[int, int, int, int]
    processing_unit: int

    @classmethod
    def decode(cls, ports: bytes, processing_unit: bytes) -> ReceiveTimes:
        """From the 16 bytes of 0x0900-0x090F and the 8 bytes of 0x0918."""
        return cls(_RECEIVE_TIMES.unpack(ports), _U64.unpack(processing_unit)[0])


@dataclass(frozen=True, slots=True)
class DcNode:
    """What the delay computation needs of one slave (in processing order).

    :ivar position: auto-increment position.
    :ivar parent: position of the slave its port 0 is cabled to (None: the master).
    :ivar parent_port: the parent's port (1-3) it hangs from, None when unknown (then the
        parent's ports are taken in the order 3, 1, 2 for its children, as SOEM does).
    :ivar open_ports: ports with communication and an open loop (SOEM's active ports).
    :ivar has_dc: the ESC has distributed clocks.
    :ivar times: its receive times (None without DC).
    """

    position: int
    parent: Optional[int]
    parent_port: Optional[int]
    open_ports: frozenset[int]
    has_dc: bool
    times: Optional[ReceiveTimes] = None


def previous_port(open_ports: frozenset[int], port: int) -> int:
    """The open port the frame leaves before it reaches ``port`` (order 0 -> 3 -> 1 -> 2 ->
    0; SOEM's ``ecx_prevport``); ``port`` itself when no other port is open."""
    at = _PROCESSING_ORDER.index(port)
    for step in range(1, PORT_COUNT):
        candidate = _PROCESSING_ORDER[(at - step) % PORT_COUNT]
        if candidate in open_ports:
            return candidate
    return port


def entry_port(node: DcNode) -> int:
    """The port the frame enters through: the open port with the earliest receive time
    (SOEM's rule, the first of equal ones in the order 0, 1, 2, 3); port 0 without times."""
    times = node.times
    ports = [p for p in range(PORT_COUNT) if p in node.open_ports]
    if times is None or not ports:
        return 0
    first = ports[0]
    for port in ports[1:]:
        if _signed32(times.ports[port] - times.ports[first]) < 0:
            first = port
    return first


def compute_delays(nodes: Sequence[DcNode]) -> dict[int, int]:
    """The propagation delay (ns, from the first DC slave) of every DC slave in ``nodes``
    (processing order); module docstring, step 2. Slaves without DC are passed through: a DC
    slave behind one takes the delay from its nearest DC ancestor (as SOEM does)."""
    by_position = {node.position: node for node in nodes}
    delays: dict[int, int] = {}
    entries: dict[int, int] = {}
    consumed: dict[int, set[int]] = {}
    for node in nodes:
        if not node.has_dc or node.times is None:
            continue
        entries[node.position] = entry_port(node)
        consumed[node.position] = set(node.open_ports) - {entries[node.position]}
        child, parent = node.position, node.parent
        while parent is not None and not (by_position[parent].has_dc and by_position[parent].times is not None):
            child, parent = parent, by_position[parent].parent
        if parent is None:
            delays[node.position] = 0
            continue
        upper = by_position[parent]
        assert upper.times is not None
        port = by_position[child].parent_port
        if port is None or port not in upper.open_ports:
            port = next((p for p in (3, 1, 2, 0) if p in consumed[parent]), entries[parent])
        consumed[parent].discard(port)
        before = previous_port(upper.open_ports, port)
        dt3 = _signed32(upper.times.ports[port] - upper.times.ports[before])
        dt1 = 0
        if len(node.open_ports) > 1:  # its own subtrees' time, measured at its ports
            entry = entries[node.position]
            dt1 = _signed32(node.times.ports[previous_port(node.open_ports, entry)] - node.times.ports[entry])
        if dt1 > dt3:
            dt1 = -dt1
        dt2 = 0
        if child - parent > 1:  # earlier subtrees of the parent come first
            dt2 = abs(_signed32(upper.times.ports[before] - upper.times.ports[entries[parent]]))
        delays[node.position] = _trunc_half(dt3 - dt1) + dt2 + delays[parent]
    return delays


def latch_receive_times(bus: Bus, slaves: Sequence[Any]) -> dict[int, ReceiveTimes]:
    """Latch the receive times of every DC slave with one BWR to 0x0900, then read them
    (0x0900-0x090F and 0x0918 of each, in one exchange). ``slaves`` are
    :class:`~.slave_info.SlaveInfo`; returns {position: times} for those with DC."""
    dc_slaves = [s for s in slaves if s.dc_supported]
    # broadcast: the register is the address's high word (ADO), ADP counts the slaves
    bus.write(Command.BWR, int(Register.DC_RECEIVE_TIME_PORT0) << 16, bytes(Register.DC_RECEIVE_TIME_PORT0.size))
    requests = []
    for slave in dc_slaves:
        requests.append(Request.read(Command.FPRD, station_address(
            slave.station_address, Register.DC_RECEIVE_TIME_PORT0), _RECEIVE_TIMES.size, 1))
        requests.append(Request.read(Command.FPRD, station_address(
            slave.station_address, Register.DC_RECEIVE_TIME_PROCESSING_UNIT), _U64.size, 1))
    replies = bus.exchange(requests)
    return {slave.position: ReceiveTimes.decode(replies[2 * n].data, replies[2 * n + 1].data)
            for n, slave in enumerate(dc_slaves)}


def _nodes(slaves: Sequence[Any], times: Mapping[int, ReceiveTimes]) -> list[DcNode]:
    return [DcNode(s.position, s.parent, s.parent_port, frozenset(s.open_ports), bool(s.dc_supported),
                   times.get(s.position)) for s in sorted(slaves, key=lambda s: s.position)]


def choose_reference(slaves: Sequence[Any], configured: Optional[object] = None) -> Any:
    """The reference clock: the first slave with DC, or ``configured`` (a position, a slave's
    name, or None). :class:`ConfigError` when there is none, or when the configured one is
    not the first DC slave in processing order (the cyclic FRMW would hand the slaves
    before it stale data)."""
    dc_slaves = sorted((s for s in slaves if s.dc_supported), key=lambda s: s.position)
    if not dc_slaves:
        raise ConfigError("(bus)", None, "dc.reference_clock", "a slave with distributed clocks; none has them")
    if configured is None:
        return dc_slaves[0]
    matches = [s for s in dc_slaves if configured == s.position or configured == s.name]
    if not matches:
        raise ConfigError("(bus)", None, "dc.reference_clock",
                          f"a DC slave's position or name, got {configured!r}")
    if matches[0] is not dc_slaves[0]:
        raise ConfigError("(bus)", None, "dc.reference_clock",
                          f"the first DC slave in processing order ({dc_slaves[0].name} at position "
                          f"{dc_slaves[0].position}), got {configured!r} at position {matches[0].position}")
    return matches[0]


# ------------------------------------------------------------------- offsets and delays
def system_time_offsets(times: Mapping[int, ReceiveTimes], delays: Mapping[int, int], master_time: int,
                        *, widths: Optional[Mapping[int, int]] = None) -> dict[int, int]:
    """The system time offset (0x0920) of each slave: ``master_time + delay - local time at
    the latch`` (wrapped to the slave's DC width, 64 bits by default)."""
    offsets = {}
    for position, latched in times.items():
        mask = (1 << (widths or {}).get(position, 64)) - 1
        offsets[position] = (master_time + delays.get(position, 0) - latched.processing_unit) & mask
    return offsets


def write_offsets_and_delays(bus: Bus, stations: Mapping[int, int], offsets: Mapping[int, int],
                             delays: Mapping[int, int]) -> None:
    """Write 0x0920 (offset) and 0x0928 (delay) of every slave in one exchange;
    ``stations`` maps positions to station addresses."""
    requests = []
    for position, offset in offsets.items():
        station = stations[position]
        requests.append(Request(Command.FPWR, station_address(station, Register.DC_SYSTEM_TIME_OFFSET),
                                _U64.pack(offset & _U64_MASK), 1))
        requests.append(Request(Command.FPWR, station_address(station, Register.DC_SYSTEM_TIME_DELAY),
                                _U32.pack(delays.get(position, 0) & _U32_MASK), 1))
    bus.exchange(requests)


def resynchronise_slave(bus: Bus, startup: DcStartup, position: int, station: int) -> int:
    """Give one slave that lost its DC settings (a power cycle resets 0x0920/0x0928) the
    system time of the others again while the bus runs: its system time and the reference's
    are read in one frame, the offset is the reference's time plus the slave's propagation
    delay minus the slave's time, and offset, delay and a control loop reset are written.
    Returns the offset written.

    :raises LookupError: ``position`` is not a DC slave of ``startup``.
    :raises WorkingCounterError: one of the two did not answer.
    """
    slave = next((s for s in startup.slaves if s.position == position), None)
    if slave is None:
        raise LookupError(f"position {position} is not a DC slave of the start-up")
    reference = startup.reference
    size = Register.DC_SYSTEM_TIME.size
    requests = [Request.read(Command.FPRD, station_address(reference.station_address, Register.DC_SYSTEM_TIME), size),
                Request.read(Command.FPRD, station_address(station, Register.DC_SYSTEM_TIME), size)]
    replies = bus.exchange(requests)
    for request, reply in zip(requests, replies):
        if reply.wkc != 1:
            raise WorkingCounterError(f"{request.describe()} (DC resynchronisation of position {position})", 1,
                                      reply.wkc)
    reference_time, own_time = (_U64.unpack(reply.data)[0] for reply in replies)
    mask = _U64_MASK if slave.dc_64bit else _U32_MASK
    offset = (reference_time + slave.delay_ns - own_time) & mask
    write_offsets_and_delays(bus, {position: station}, {position: offset}, {position: slave.delay_ns})
    reset_control_loops(bus, [station])
    return offset


def reset_control_loops(bus: Bus, stations: Sequence[int]) -> None:
    """Reset the time control loop of each slave: write 0x0930 with its reset value."""
    bus.exchange([Request(Command.FPWR, station_address(station, Register.DC_SPEED_COUNTER_START),
                          struct.pack("<H", SPEED_COUNTER_START_RESET), 1) for station in stations])


def decode_system_time_difference(raw: int) -> int:
    """0x092C as signed ns (``local copy - received``): bit 31 is the sign (set: the local
    copy is smaller), bits 0-30 the magnitude."""
    magnitude = raw & 0x7FFF_FFFF
    return -magnitude if raw & _SIGN_BIT else magnitude


def read_system_time_differences(bus: Bus, stations: Mapping[int, int]) -> dict[int, int]:
    """0x092C of every slave in ``stations`` (position -> station), in one exchange."""
    replies = bus.exchange([Request.read(Command.FPRD, station_address(station, Register.DC_SYSTEM_TIME_DIFFERENCE),
                                         4, 1) for station in stations.values()])
    return {position: decode_system_time_difference(_U32.unpack(reply.data)[0])
            for position, reply in zip(stations, replies)}


def static_drift_compensation(bus: Bus, reference_station: int, frames: int, *,
                              check: Optional[Mapping[int, int]] = None, settle_ns: int = 3,
                              on_frame: Optional[Callable[[], None]] = None,
                              master_time: Optional[Callable[[], int]] = None) -> tuple[int, dict[int, int]]:
    """Send up to ``frames`` FRMWs of the reference's system time (one frame each).

    With ``master_time`` (bus follows master) each frame first writes the master's time to
    the reference (FPWR 0x0910), so the reference's loop settles on the master's clock before
    cyclic operation: its rate changes afterwards would drag every follower with them.

    With ``check`` (position -> station of the slaves to watch), every
    500 frames the system time differences are read, and the compensation stops once every
    one is within ``settle_ns`` after at least 1000 frames. The frames come much faster
    than cycles will, so a residual rate error shows here ``cycle / frame interval`` times
    smaller than it will in cyclic operation: ``settle_ns`` is a few ns, not the lock
    window (a real ESC's 10 ns granularity then simply runs all ``frames``). ``on_frame`` is called
    before each frame (a simulation advances its clock there). Returns the frames sent and
    the last differences read (empty without ``check``)."""
    request = Request.read(Command.FRMW, station_address(reference_station, Register.DC_SYSTEM_TIME), _U64.size)
    write_at = station_address(reference_station, Register.DC_SYSTEM_TIME)
    differences: dict[int, int] = {}
    sent = 0
    while sent < frames:
        if on_frame is not None:
            on_frame()
        if master_time is not None:
            bus.exchange([Request(Command.FPWR, write_at, _U64.pack(master_time() & _U64_MASK)), request])
        else:
            bus.exchange([request])
        sent += 1
        if check and (sent % _DRIFT_CHECK_EVERY == 0 or sent == frames):
            differences = read_system_time_differences(bus, check)
            if sent >= min(frames, _DRIFT_MIN_FRAMES) and all(abs(d) <= settle_ns for d in differences.values()):
                break
    return sent, differences


# ------------------------------------------------------------------------------ start-up
@dataclass(frozen=True, slots=True)
class DcSlave:
    """One DC slave as the start-up configured it.

    :ivar delay_ns: propagation delay from the reference clock (0x0928).
    :ivar offset_ns: system time offset written (0x0920).
    :ivar entry_port: the port the frame enters through.
    """

    position: int
    station_address: int
    name: str
    entry_port: int
    delay_ns: int
    offset_ns: int
    reference: bool
    dc_64bit: bool = True


@dataclass(frozen=True, slots=True)
class DcStartup:
    """The result of :func:`configure_dc`.

    :ivar reference: the reference clock (one of :attr:`slaves`).
    :ivar slaves: every DC slave, in processing order.
    :ivar master_time_ns: the master's time taken for the latch frame.
    :ivar drift_frames: static drift compensation frames sent.
    :ivar differences: 0x092C of each slave after the static drift compensation.
    """

    reference: DcSlave
    slaves: tuple[DcSlave, ...]
    master_time_ns: int
    drift_frames: int
    differences: dict[int, int] = field(default_factory=dict)

    @property
    def delays(self) -> dict[int, int]:
        """Position -> propagation delay."""
        return {s.position: s.delay_ns for s in self.slaves}

    @property
    def stations(self) -> dict[int, int]:
        """Position -> station address of each DC slave."""
        return {s.position: s.station_address for s in self.slaves}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "reference": self.reference.position,
            "master_time_ns": self.master_time_ns,
            "drift_frames": self.drift_frames,
            "slaves": [{"position": s.position, "name": s.name, "station_address": s.station_address,
                        "entry_port": s.entry_port, "delay_ns": s.delay_ns, "offset_ns": s.offset_ns,
                        "reference": s.reference} for s in self.slaves],
            "differences_ns": {str(k): v for k, v in self.differences.items()},
        }


def configure_dc(bus: Bus, slaves: Sequence[Any], *, reference: Optional[object] = None,
                 time_source: Callable[[], int] = dc_time_ns, drift_frames: int = DEFAULT_DRIFT_FRAMES,
                 settle_ns: int = 3, on_frame: Optional[Callable[[], None]] = None,
                 mode: DcMode = DcMode.MASTER_FOLLOWS_BUS) -> DcStartup:
    """The DC start-up sequence (module docstring) on the scanned ``slaves``
    (:class:`~.slave_info.SlaveInfo`); run in PRE-OP, before SYNC0 is configured.

    :param reference: the configured reference clock (position or name), None: the first.
    :param time_source: the master's time base in ns (default: ns since 2000-01-01).
    :param drift_frames: at most this many static drift compensation frames (0: none).
    :param settle_ns: the static drift compensation ends early once every |0x092C| is within
        this (see :func:`static_drift_compensation`).
    :param on_frame: called before each static drift compensation frame.
    :param mode: with bus follows master, the static drift compensation also steers the
        reference clock to ``time_source``.
    :raises ConfigError: no DC slave, or an unusable configured reference.
    """
    chosen = choose_reference(slaves, reference)
    times = latch_receive_times(bus, slaves)
    master_time = time_source()
    nodes = _nodes(slaves, times)
    delays = compute_delays(nodes)
    widths = {s.position: 64 if s.esc.features.dc_64bit else 32 for s in slaves if s.position in times}
    offsets = system_time_offsets(times, delays, master_time, widths=widths)
    stations = {s.position: s.station_address for s in slaves if s.position in times}
    write_offsets_and_delays(bus, stations, offsets, delays)
    reset_control_loops(bus, list(stations.values()))
    sent, differences = 0, {}
    if drift_frames > 0:
        sent, differences = static_drift_compensation(bus, chosen.station_address, drift_frames, check=stations,
                                                      settle_ns=settle_ns, on_frame=on_frame,
                                                      master_time=time_source if mode is DcMode.BUS_FOLLOWS_MASTER
                                                      else None)
    entries = {node.position: entry_port(node) for node in nodes if node.times is not None}
    dc_slaves = tuple(
        DcSlave(s.position, s.station_address, s.name, entries[s.position], delays[s.position], offsets[s.position],
                s.position == chosen.position, widths[s.position] == 64)
        for s in sorted(slaves, key=lambda s: s.position) if s.position in times)
    ref = next(s for s in dc_slaves if s.reference)
    return DcStartup(ref, dc_slaves, master_time, sent, differences)


# --------------------------------------------------------------------------- SYNC0/SYNC1
@dataclass(frozen=True, slots=True)
class SyncConfiguration:
    """SYNC0/SYNC1 of one slave as :func:`configure_sync` programmed it (times in ns).

    :ivar start_time: the first SYNC0 pulse (system time).
    :ivar activation: the value written to 0x0981.
    """

    position: int
    station_address: int
    assign_activate: int
    sync0_cycle_ns: int
    sync0_shift_ns: int
    sync1_cycle_ns: int
    start_time: int
    activation: int


def sync_start_time(now: int, cycle_ns: int, shift_ns: int = 0, start_delay_ns: int = DEFAULT_START_DELAY_NS) -> int:
    """The first SYNC0 pulse: the next whole multiple of ``cycle_ns`` after
    ``now + start_delay_ns``, plus ``shift_ns`` (SOEM's rule: slaves with the same cycle fire
    together; the shift moves them). A single shot (cycle 0) fires at
    ``now + start_delay_ns + shift_ns``."""
    if cycle_ns <= 0:
        return now + start_delay_ns + shift_ns
    return ((now + start_delay_ns) // cycle_ns) * cycle_ns + cycle_ns + shift_ns


def configure_sync(bus: Bus, slave: Any, *, sync0_cycle_ns: int, sync0_shift_ns: int = 0,
                   sync1_cycle_ns: int = 0, assign_activate: int = 0x0300,
                   start_delay_ns: int = DEFAULT_START_DELAY_NS) -> SyncConfiguration:
    """Program SYNC0 (and SYNC1 when ``assign_activate`` enables it) of ``slave`` (anything
    with ``position`` and ``station_address``); module docstring. The low byte of
    ``assign_activate`` goes to 0x0980, the high byte to 0x0981 (0x0300: cyclic unit and
    SYNC0)."""
    station = slave.station_address

    def fpwr(register: Register, data: bytes) -> Request:
        return Request(Command.FPWR, station_address(station, register), data, 1)

    control, activation = assign_activate & 0xFF, (assign_activate >> 8) & 0xFF
    bus.exchange([fpwr(Register.DC_ACTIVATION, b"\x00"), fpwr(Register.DC_CYCLIC_UNIT_CONTROL, bytes((control,)))])
    now = _U64.unpack(bus.read(Command.FPRD, station_address(station, Register.DC_SYSTEM_TIME), _U64.size,
                               expected_wkc=1))[0]
    start = sync_start_time(now, sync0_cycle_ns, sync0_shift_ns, start_delay_ns)
    bus.exchange([
        fpwr(Register.DC_SYNC0_CYCLE_TIME, _U32.pack(sync0_cycle_ns & _U32_MASK)),
        fpwr(Register.DC_SYNC1_CYCLE_TIME, _U32.pack(sync1_cycle_ns & _U32_MASK)),
        fpwr(Register.DC_START_TIME_CYCLIC, _U64.pack(start & _U64_MASK)),
    ])
    bus.write(Command.FPWR, station_address(station, Register.DC_ACTIVATION), bytes((activation,)), expected_wkc=1)
    return SyncConfiguration(slave.position, station, assign_activate, sync0_cycle_ns, sync0_shift_ns,
                             sync1_cycle_ns, start, activation)


class _CoeClient(Protocol):
    def write(self, index: int, subindex: int, value: Any, data_type: Any, *, complete_access: bool = False) -> None:
        ...


def write_sync_mode(coe: _CoeClient, cycle_ns: int, mode: SyncMode = SyncMode.DC_SYNC0) -> list[str]:
    """Set the ETG.1020 synchronisation objects for DC mode in PRE-OP: 0x1C32:01 and
    0x1C33:01 to ``mode``, :02 to ``cycle_ns``. A refused entry is reported, not fatal
    (many slaves take the mode from the DC activation when entering SAFE-OP); returns the
    refusals as text."""
    from ..protocol.coe import DataType  # the codec types, imported here to keep the module light

    refused = []
    for index in (_SYNC_PARAMETER_OUTPUTS, _SYNC_PARAMETER_INPUTS):
        for subindex, value, kind in ((_SYNC_MODE_SUBINDEX, int(mode), DataType.UNSIGNED16),
                                      (_CYCLE_TIME_SUBINDEX, cycle_ns, DataType.UNSIGNED32)):
            try:
                coe.write(index, subindex, value, kind)
            except SdoAbort as exc:
                refused.append(f"0x{index:04X}:{subindex:02X}: {exc}")
    return refused


# ---------------------------------------------------------------------------- controller
@dataclass(slots=True)
class SlaveDcStatus:
    """What the controller knows of one DC slave (updated by :meth:`DcController.monitor`)."""

    position: int
    station_address: int
    name: str
    delay_ns: int = 0
    difference_ns: Optional[int] = None
    max_abs_difference_ns: int = 0
    differences: LogHistogram = field(default_factory=LogHistogram)
    in_sync: bool = False
    out_of_sync_events: int = 0
    al_state: Optional[str] = None
    al_status_code: int = 0
    sync_lost: bool = False
    sync_loss_events: int = 0
    recoveries: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (differences in ns)."""
        h = self.differences
        return {
            "position": self.position, "name": self.name, "station_address": self.station_address,
            "delay_ns": self.delay_ns, "difference_ns": self.difference_ns,
            "max_abs_difference_ns": self.max_abs_difference_ns,
            "abs_difference_ns": {"count": h.count, "p50": h.percentile(50), "p99": h.percentile(99),
                                  "p999": h.percentile(99.9), "max": h.maximum},
            "in_sync": self.in_sync, "out_of_sync_events": self.out_of_sync_events,
            "al_state": self.al_state, "al_status_code": self.al_status_code,
            "al_status_text": al_status_text(self.al_status_code) if self.al_status_code else None,
            "sync_lost": self.sync_lost, "sync_loss_events": self.sync_loss_events, "recoveries": self.recoveries,
        }


class DcController:
    """The continuous DC correction and its KPIs (module docstring).

    :param startup: the result of :func:`configure_dc`.
    :param cycle_ns: the cycle period.
    :param mode: master follows bus (default) or bus follows master.
    :param sync: the SYNC0 configuration of the slaves that use it (for sync loss
        detection and :meth:`recover`).
    :param send_phase_ns: the reference clock's time (modulo the cycle) at which the cyclic
        frame should pass it (master follows bus). Default: SYNC0's phase (the shift of the
        first ``sync`` entry, else 0) plus half a cycle: the frame lands mid-way between two
        SYNC0 pulses, as far as possible from both.
    :param time_source: the master's time base (bus follows master; the one
        :func:`configure_dc` used).
    :param kp, ki: gains of the phase loop (per cycle).
    :param lock_window_ns: |system time difference| that counts as locked.
    :param out_of_sync_ns: |system time difference| of a locked slave that counts as an
        out-of-sync event.
    :param monitor_interval_ns: how often :meth:`idle_work` reads the differences.
    :param host_clock: the host clock the cycle's deadlines use (:meth:`idle_work`).
    :param trend_window_ns: length of one trend window (:meth:`snapshot` keeps the last
        :data:`TREND_WINDOWS`: the worst difference, samples and events of each).
    """

    def __init__(self, startup: DcStartup, cycle_ns: int, *, mode: DcMode = DcMode.MASTER_FOLLOWS_BUS,
                 sync: Sequence[SyncConfiguration] = (), send_phase_ns: Optional[int] = None,
                 time_source: Callable[[], int] = dc_time_ns, kp: float = 0.1, ki: float = 0.005,
                 lock_window_ns: int = 100, out_of_sync_ns: int = 1000, monitor_interval_ns: int = 10_000_000,
                 host_clock: Callable[[], int] = time.monotonic_ns, trend_window_ns: int = 10_000_000_000):
        if cycle_ns <= 0:
            raise ValueError(f"cycle_ns must be positive, got {cycle_ns!r}")
        self.startup = startup
        self.cycle_ns = cycle_ns
        self.mode = mode
        self.sync = {s.position: s for s in sync}
        if send_phase_ns is None:
            shift = sync[0].sync0_shift_ns if sync else 0
            send_phase_ns = shift + cycle_ns // 2
        self.send_phase_ns = send_phase_ns % cycle_ns
        self.time_source = time_source
        self.host_clock = host_clock
        self.kp, self.ki = kp, ki
        self.lock_window_ns = lock_window_ns
        self.out_of_sync_ns = out_of_sync_ns
        self.monitor_interval_ns = monitor_interval_ns
        self.slaves = {s.position: SlaveDcStatus(s.position, s.station_address, s.name, s.delay_ns)
                       for s in startup.slaves}
        self._stations = startup.stations
        self._requests = []
        for slave in startup.slaves:
            self._requests.append(Request.read(Command.FPRD, station_address(
                slave.station_address, Register.DC_SYSTEM_TIME_DIFFERENCE), 4))
            self._requests.append(Request.read(Command.FPRD, station_address(
                slave.station_address, Register.AL_STATUS), AlStatusBlock.SIZE))
        # phase loop
        self._integral = 0.0
        self.phase_error_ns: Optional[int] = None
        self.phase_errors = LogHistogram()
        self.adjust_total_ns = 0
        # drift and offset of the reference against the host
        self._last_sample: Optional[tuple[int, int]] = None
        self._unwrapped: Optional[int] = None
        self._drift_window: Optional[list[int]] = None
        self.drift_ppm: Optional[float] = None
        self.offset_ns: Optional[int] = None
        self.reference_samples = 0
        self.missing_reference = 0
        # lock
        self.started_ns: Optional[int] = None
        self.locked = False
        self.time_to_lock_ns: Optional[int] = None
        self.lock_losses = 0
        self.samples = 0
        self.monitor_errors = 0
        self.events: list[dict[str, Any]] = []
        self.trend_window_ns = trend_window_ns
        self._trend: collections.deque[dict[str, Any]] = collections.deque(maxlen=TREND_WINDOWS)
        #: Position -> new SYNC0 start time of the slaves the last :meth:`recover` re-armed.
        self.rearmed: dict[int, int] = {}
        self._next_monitor: Optional[int] = None

    # ---------------------------------------------------------------- cyclic side
    def start(self, now_ns: int) -> None:
        """Cyclic operation begins at ``now_ns`` (the host clock of :meth:`after_exchange`)."""
        self.started_ns = now_ns
        self.locked = False
        self.time_to_lock_ns = None
        self._next_monitor = now_ns

    def prepare(self, bus: Bus) -> int:
        """Before cyclic operation (after :func:`configure_dc`, with SYNC0 not yet running or
        at least before OP): in bus follows master, move every slave's system time by the
        reference clock's distance from the master's time (all offsets by the same amount, in
        one frame), so that the reference's loop starts near zero instead of pulling its
        clock, and every follower with it, at its maximum rate. Returns the shift (0 in the
        other mode)."""
        if not self.writes_reference:
            return 0
        reference = self.startup.reference
        before = self.time_source()
        now = _U64.unpack(bus.read(Command.FPRD, station_address(reference.station_address, Register.DC_SYSTEM_TIME),
                                   _U64.size, expected_wkc=1))[0]
        master = (before + self.time_source()) // 2
        mask = _U64_MASK if reference.dc_64bit else _U32_MASK
        shift = (master - now) & mask
        if shift > mask >> 1:
            shift -= mask + 1
        offsets = {s.position: s.offset_ns + shift for s in self.startup.slaves}
        bus.exchange([Request(Command.FPWR, station_address(s.station_address, Register.DC_SYSTEM_TIME_OFFSET),
                              _U64.pack(offsets[s.position] & (_U64_MASK if s.dc_64bit else _U32_MASK)), 1)
                      for s in self.startup.slaves])
        self.startup = _replace_offsets(self.startup, offsets)
        return shift

    @property
    def writes_reference(self) -> bool:
        """True when the cyclic frame carries the master's time to the reference (bus
        follows master)."""
        return self.mode is DcMode.BUS_FOLLOWS_MASTER

    def master_time(self) -> int:
        """The master's time now, for the FPWR to the reference clock (bus follows master)."""
        return self.time_source()

    def after_exchange(self, sent_ns: int, reference_time: Optional[int]) -> int:
        """One cycle's exchange is done: the frame left at host time ``sent_ns`` and read
        ``reference_time`` (None: no reply). Returns the shift (ns) to add to the cycle's
        deadlines from now on (master follows bus; 0 in the other mode)."""
        if reference_time is None:
            self.missing_reference += 1
            return 0
        if not self.startup.reference.dc_64bit:  # a 32-bit clock: unwrapped against the last value
            last = self._unwrapped
            reference_time &= _U32_MASK
            if last is not None:
                reference_time = last + _signed32(reference_time - last)
            self._unwrapped = reference_time
        self._estimate(sent_ns, reference_time)
        error = (reference_time - self.send_phase_ns) % self.cycle_ns
        if error >= self.cycle_ns // 2:
            error -= self.cycle_ns
        self.phase_error_ns = error
        self.phase_errors.record(abs(error))
        if self.mode is not DcMode.MASTER_FOLLOWS_BUS:
            return 0
        # a frame late by a large part of the cycle says more of the host than of the clocks
        self._integral += error
        adjust = -round(self.kp * error + self.ki * self._integral)
        limit = self.cycle_ns // 4
        adjust = max(-limit, min(limit, adjust))
        self.adjust_total_ns += adjust
        return adjust

    def _estimate(self, sent_ns: int, reference_time: int) -> None:
        """Offset of the reference clock against the master's time base at the frame's
        send, and its drift against the host clock (a slow mean of successive samples)."""
        self.reference_samples += 1
        master_at_send = self.time_source() - (self.host_clock() - sent_ns)
        self.offset_ns = reference_time - master_at_send
        # Drift: the frame reaches the reference some latency after ``sent_ns``; that latency
        # varies with the host's load, but its smallest value in a window hardly does. So the
        # lower envelope of (reference time - send time) is taken per window of at least 1 s,
        # and the drift is the slope between the minima of successive windows (smoothed).
        lead = reference_time - sent_ns
        window = self._drift_window
        if window is None:
            self._drift_window = [sent_ns, lead, sent_ns, 1]  # start, min lead, its send time, samples
            return
        if lead < window[1]:
            window[1], window[2] = lead, sent_ns
        window[3] += 1
        if sent_ns - window[0] < _DRIFT_BASELINE_NS or window[3] < _DRIFT_WINDOW_SAMPLES:
            return
        previous = self._last_sample
        if previous is not None and window[2] > previous[0]:
            ppm = (window[1] - previous[1]) / (window[2] - previous[0]) * 1e6
            if abs(ppm) < 10_000:  # a baseline across a jump (offsets rewritten) says nothing
                self.drift_ppm = ppm if self.drift_ppm is None else self.drift_ppm + (ppm - self.drift_ppm) / 4
        self._last_sample = (window[2], window[1])
        self._drift_window = [sent_ns, lead, sent_ns, 1]

    # ------------------------------------------------------------------ monitoring
    def idle_work(self, remaining: float, bus: Optional[Bus] = None) -> None:
        """``idle_work`` for the cycle thread: :meth:`monitor` when it is due and at least
        200 us are left (bound with ``functools.partial(controller.idle_work, bus=bus)``)."""
        now = self.host_clock()
        if bus is None or self._next_monitor is None or now < self._next_monitor \
                or remaining < _MONITOR_MIN_REMAINING_S:
            return
        self._next_monitor = now + self.monitor_interval_ns
        self.monitor(bus, now)

    def monitor(self, bus: Bus, now_ns: int) -> None:
        """Read every DC slave's system time difference and AL status in one frame at host
        time ``now_ns`` and update the KPIs and events."""
        try:
            replies = bus.exchange(self._requests, retries=0)
        except (FrameTimeout, WorkingCounterError):  # a lost monitoring frame must not end the cycle
            self.monitor_errors += 1
            return
        self.samples += 1
        window = self._window(now_ns)
        window["samples"] += 1
        all_in = True
        for n, status in enumerate(self.slaves.values()):
            diff_reply, al_reply = replies[2 * n], replies[2 * n + 1]
            if diff_reply.wkc != 1 or al_reply.wkc != 1:
                all_in = False
                continue
            difference = decode_system_time_difference(_U32.unpack(diff_reply.data)[0])
            status.difference_ns = difference
            magnitude = abs(difference)
            if self.locked:
                status.differences.record(magnitude)
                status.max_abs_difference_ns = max(status.max_abs_difference_ns, magnitude)
            window["max_abs_difference_ns"] = max(window["max_abs_difference_ns"], magnitude)
            inside = magnitude <= self.lock_window_ns
            if status.in_sync and magnitude > self.out_of_sync_ns:
                status.in_sync = False
                status.out_of_sync_events += 1
                window["out_of_sync_events"] += 1
                self._event(now_ns, "out_of_sync", status, difference_ns=difference)
            elif inside:
                status.in_sync = True
            all_in = all_in and inside
            self._al_status(now_ns, status, AlStatusBlock.decode(al_reply.data))
        if all_in and not self.locked:
            self.locked = True
            if self.time_to_lock_ns is None and self.started_ns is not None:
                self.time_to_lock_ns = now_ns - self.started_ns
                self._event(now_ns, "locked", None, time_to_lock_ns=self.time_to_lock_ns)
        elif self.locked and not all(s.in_sync for s in self.slaves.values()):
            self.locked = False
            self.lock_losses += 1

    def _window(self, now_ns: int) -> dict[str, Any]:
        """The trend window ``now_ns`` falls into (a new one when it is past the last)."""
        start = now_ns - (now_ns - (self.started_ns or 0)) % self.trend_window_ns
        if not self._trend or self._trend[-1]["start_ns"] != start:
            self._trend.append({"start_ns": start, "samples": 0, "max_abs_difference_ns": 0,
                                "out_of_sync_events": 0, "sync_loss_events": 0})
        return self._trend[-1]

    def _al_status(self, now_ns: int, status: SlaveDcStatus, block: AlStatusBlock) -> None:
        state = block.status.state
        status.al_state = state.name if isinstance(state, ALState) else str(state)
        status.al_status_code = block.status_code if block.status.error else 0
        lost = (status.position in self.sync and block.status.error and block.status_code in SYNC_LOSS_CODES)
        if lost and not status.sync_lost:
            status.sync_loss_events += 1
            self._window(now_ns)["sync_loss_events"] += 1
            self._event(now_ns, "sync_lost", status, al_status_code=block.status_code,
                        al_status_text=al_status_text(block.status_code))
        status.sync_lost = lost

    def _event(self, now_ns: int, kind: str, status: Optional[SlaveDcStatus], **details: Any) -> None:
        event = {"kind": kind, "at_ns": now_ns - (self.started_ns or 0)}
        if status is not None:
            event.update(position=status.position, name=status.name)
        event.update(details)
        self.events.append(event)
        del self.events[:-100]  # the last 100

    @property
    def sync_lost(self) -> list[int]:
        """Positions of the slaves whose synchronisation is lost now."""
        return [s.position for s in self.slaves.values() if s.sync_lost]

    def recover(self, bus: Bus, positions: Optional[Sequence[int]] = None, *,
                state: ALState = ALState.OP, start_delay_ns: int = DEFAULT_START_DELAY_NS,
                request_state: bool = True) -> list[int]:
        """Re-synchronise slaves that lost synchronisation (default: :attr:`sync_lost`):
        SYNC0 programmed again where it no longer runs (a new start time aligned to the cycle,
        ``start_delay_ns`` ahead), the error acknowledged, ``state`` requested. A slave whose
        SYNC0 was programmed again reports a sync loss until its first pulse: pass
        ``request_state=False`` then and request ``state`` once the cycle has run past
        :attr:`rearmed` (the new start times). Returns the positions handled."""
        targets = list(self.sync_lost if positions is None else positions)
        self.rearmed = {}
        for position in targets:
            config = self.sync[position]
            active = bus.read(Command.FPRD, station_address(config.station_address, Register.DC_ACTIVATION), 1,
                              expected_wkc=1)[0]
            if active & _SYNC_ACTIVATION_MASK != config.activation & _SYNC_ACTIVATION_MASK:
                again = configure_sync(bus, config, sync0_cycle_ns=config.sync0_cycle_ns,
                                       sync0_shift_ns=config.sync0_shift_ns, sync1_cycle_ns=config.sync1_cycle_ns,
                                       assign_activate=config.assign_activate, start_delay_ns=start_delay_ns)
                self.sync[position] = again
                self.rearmed[position] = again.start_time
        if targets:
            slaves = [_Addressed(p, self._stations[p]) for p in targets]
            acknowledge_errors(bus, slaves)
            if request_state:
                request_states(bus, slaves, state)
            for position in targets:
                status = self.slaves[position]
                status.recoveries += 1
                status.sync_lost = False
                self._event(self.host_clock(), "recovered", status, sync0_rearmed=position in self.rearmed)
        return targets

    # -------------------------------------------------------------------- reports
    def snapshot(self) -> dict[str, Any]:
        """The versioned, JSON-ready DC report (schema 1)."""
        slaves = [s.as_dict() for s in self.slaves.values()]
        worst = max((s.differences.percentile(99.9) or 0 for s in self.slaves.values()), default=0)
        return {
            "schema_version": 1,
            "kind": "ethercat_master.dc",
            "mode": self.mode.value,
            "cycle_ns": self.cycle_ns,
            "reference": {"position": self.startup.reference.position, "name": self.startup.reference.name,
                          "drift_ppm": None if self.drift_ppm is None else round(self.drift_ppm, 3),
                          "offset_ns": self.offset_ns, "samples": self.reference_samples,
                          "missing": self.missing_reference},
            "locked": self.locked,
            "time_to_lock_ns": self.time_to_lock_ns,
            "lock_losses": self.lock_losses,
            "out_of_sync_events": sum(s.out_of_sync_events for s in self.slaves.values()),
            "sync_loss_events": sum(s.sync_loss_events for s in self.slaves.values()),
            "recoveries": sum(s.recoveries for s in self.slaves.values()),
            "worst_p999_abs_difference_ns": worst,
            "monitor": {"samples": self.samples, "errors": self.monitor_errors,
                        "interval_ns": self.monitor_interval_ns},
            "phase": {"send_phase_ns": self.send_phase_ns, "error_ns": self.phase_error_ns,
                      "abs_error_ns": {"p50": self.phase_errors.percentile(50),
                                       "p99": self.phase_errors.percentile(99),
                                       "max": self.phase_errors.maximum},
                      "adjust_total_ns": self.adjust_total_ns},
            "trend": {"window_ns": self.trend_window_ns,
                      "windows": [dict(w, start_ns=w["start_ns"] - (self.started_ns or 0)) for w in self._trend]},
            "startup": self.startup.as_dict(),
            "slaves": slaves,
            "events": list(self.events),
        }


def _replace_offsets(startup: DcStartup, offsets: Mapping[int, int]) -> DcStartup:
    import dataclasses

    slaves = tuple(dataclasses.replace(s, offset_ns=offsets.get(s.position, s.offset_ns)) for s in startup.slaves)
    reference = next(s for s in slaves if s.reference)
    return dataclasses.replace(startup, slaves=slaves, reference=reference)


@dataclass(frozen=True, slots=True)
class _Addressed:
    position: int
    station_address: int

    def describe(self) -> str:
        """How messages name the slave."""
        return f"position {self.position} (station 0x{self.station_address:04X})"
