"""Distributed clocks of a simulated ESC: its local clock, the DC registers, the time control
loop and the SYNC0/SYNC1 cyclic unit.

Written from the ESC documents:

* Section II 3.49 "Distributed Clocks": a BWR or FPWR to 0x0900 latches the local time of the
  beginning of the frame at each port (0x0900-0x090F, 32 bit) and at the Processing Unit
  (0x0918, 64 bit; "if port 0 is open, this register reflects the Receive Time Port 0"); the
  time stamps cannot be read in the frame that wrote 0x0900. An ECAT read of 0x0910 returns
  "the local copy of the System Time when the frame passed the reference clock (i.e. including
  System Time Delay)", latched at the start of the frame: local time + offset (0x0920) - delay
  (0x0928) (Section I Table 30). A written 0x0910 is compared at the end of the frame with that
  latched value, if at least byte 0x0910 was written. 0x092C holds the mean difference as sign
  and magnitude, bit 31 set when the local copy is smaller than the received time. A write to
  the Speed Counter Start (0x0930, reset 0x1000) resets 0x092C and 0x0932; filter depths reset
  to 4 (0x0934) and 12 (0x0935).
* Section I 9.1.5 "Drift compensation": the loop takes the lower 32 bits of the received time,
  ``dt = (t_local + t_offset - t_delay) - t_received``; a positive ``dt`` means the local clock
  runs fast and is slowed down, a negative one that it runs slow and is sped up.
* Section II 3.49.4 "SYNC Out Unit": activation 0x0981 (cyclic operation, SYNC0, SYNC1,
  auto-activation, 32-bit start time extension, start time plausibility check, near future),
  start time 0x0990 (write: first SYNC0 pulse, only while 0x0981.0 = 0; read: next SYNC0
  pulse), next SYNC1 pulse 0x0998, SYNC0 cycle time 0x09A0 (0: single shot), SYNC1 cycle time
  0x09A4 ("time between SYNC1 pulses and SYNC0 pulse"), pulse length 0x0982 (0: acknowledge
  mode, the SYNC status 0x098E/0x098F stays set until read), activation status 0x0984.

Simulator choices where the documents stop (documented, deliberate):

* Each ESC's oscillator has a fixed drift (ppm) and a power-on local time (:class:`ClockSpec`);
  the local time is a piecewise linear function of the simulation time.
* The documents do not publish the equations of the time control loop. Here it is a per-sample
  PI loop on the local clock rate: after each comparison ``dt`` it sets the rate correction to
  ``-(F + Kp*dt/h)`` with ``F += Ki*dt/h`` (``h`` the local time since the previous comparison),
  a double pole at ``1 - 32/SpeedCounterStart`` (larger start values: smaller bandwidth), and
  the correction limited to :data:`MAX_RATE_CORRECTION` (so a large offset error takes very
  long to remove, as Section I warns). The filter depths set the exponential means reported in
  0x092C (of ``dt``) and 0x0932 (of the rate correction, in units of
  :data:`SPEED_COUNTER_DIFF_UNIT`, positive when the clock is sped up, saturated at
  +/-(start - 0x7F)); they do not change the loop's dynamics.
* SYNC1: a SYNC0 pulse starts the SYNC1 timer when it is idle; SYNC1 fires a SYNC1 cycle time
  later and the timer is idle again from then on, so SYNC1 repeats every
  ``(SYNC1 cycle // SYNC0 cycle + 1)`` SYNC0 cycles (SOEM's ``ecx_dcsync01`` computes this
  "true cycle time" too).
* The SYNC status bits are cleared by :meth:`DcUnit.acknowledge` (the local application reading
  them); reads from the EtherCAT side do not clear them. A start time extended from 32 bits is
  extended when the write covers only 0x0990-0x0993 (not "within one frame"). The debug pulse
  bit (0x0981.7) reads back 0 but its pulse is not modelled. Cycle times are taken when the
  cyclic unit is activated.
* The EtherCAT read view of 0x0910 lives in the register; the local application uses
  :meth:`DcUnit.system_time` for its own view (local time + offset).
* A port the frame did not come back through (closed loop) latches nothing: its receive time
  register keeps its previous value.
* The chain's lock guards a :class:`DcUnit`; take it to call one from another thread while a
  server runs.
"""

from __future__ import annotations

import enum
import math
import random
import struct
from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Sequence

from ..protocol.datagram import Command
from ..protocol.registers import (
    PORT_COUNT,
    DcActivation,
    DcActivationStatus,
    DcControlLoop,
    DcCyclicUnit,
    DcCyclicUnitControl,
    DcSyncTiming,
    Register,
)
from .esc import Esc

__all__ = [
    "TimeSource",
    "ManualTime",
    "ClockSpec",
    "LocalClock",
    "TimeControlLoop",
    "DatagramContext",
    "SyncSignal",
    "DcUnit",
    "MAX_RATE_CORRECTION",
    "SPEED_COUNTER_DIFF_UNIT",
    "SPEED_COUNTER_START_RESET",
    "SYSTEM_TIME_DIFF_FILTER_DEPTH_RESET",
    "SPEED_COUNTER_FILTER_DEPTH_RESET",
]

#: A simulation time source: returns the current time in ns (default :func:`time.monotonic_ns`).
TimeSource = Callable[[], int]

#: Largest rate correction the loop applies to a local clock (+/-1000 ppm).
MAX_RATE_CORRECTION = 1e-3
#: Unit of the Speed Counter Diff register 0x0932 in this model: 0.1 ppm of rate correction.
SPEED_COUNTER_DIFF_UNIT = 1e-7
#: Reset values (Section II).
SPEED_COUNTER_START_RESET = 0x1000
SYSTEM_TIME_DIFF_FILTER_DEPTH_RESET = 4
SPEED_COUNTER_FILTER_DEPTH_RESET = 12
#: Smallest valid Speed Counter Start (Section II); smaller written values act as this one.
SPEED_COUNTER_START_MIN = 0x0080
#: Speed Counter Diff saturates at +/-(start - this) (Section II).
_SPEED_COUNTER_DIFF_MARGIN = 0x7F
#: Loop time constant in comparisons = Speed Counter Start / this.
_START_PER_SAMPLE = 32
_PPM = 1e-6
_U32_MASK = 0xFFFF_FFFF
_I32_SIGN = 0x8000_0000
#: Near future with 0x0981.6 set: about 2.1 s.
_NEAR_FUTURE_SHORT_NS = 1 << 31
#: Start time bytes of a 32-bit write (extension applies when only these are written).
_START_TIME_LOW_BYTES = 4
_LATCH_COMMANDS = frozenset({int(Command.BWR), int(Command.FPWR)})
_SYNC_STATUS_ACTIVE = 0x01
_PULSE_LENGTH_UNIT_NS = 10

# Register offsets and layouts for the frame hot path (the register views in
# ``protocol.registers`` describe the same bytes; these avoid building them per frame).
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_RECEIVE_TIMES = struct.Struct("<4I")
_CONTROL_LOOP = struct.Struct("<HhBB")  # speed counter start, speed counter diff, two filter depths
_OFFSET_DELAY = struct.Struct("<QI")  # system time offset, system time delay
_I16 = struct.Struct("<h")
_RECEIVE_TIMES_AT = int(Register.DC_RECEIVE_TIME_PORT0)
_SYSTEM_TIME_AT = int(Register.DC_SYSTEM_TIME)
_PROCESSING_UNIT_TIME_AT = int(Register.DC_RECEIVE_TIME_PROCESSING_UNIT)
_OFFSET_AT = int(Register.DC_SYSTEM_TIME_OFFSET)
_DELAY_AT = int(Register.DC_SYSTEM_TIME_DELAY)
_DIFFERENCE_AT = int(Register.DC_SYSTEM_TIME_DIFFERENCE)
_CONTROL_LOOP_AT = int(Register.DC_SPEED_COUNTER_START)
_SPEED_COUNTER_DIFF_AT = int(Register.DC_SPEED_COUNTER_DIFF)
#: Registers _compare reads: offset, delay and the control loop block 0x0930-0x0935.
_LOOP_INPUTS_END = _CONTROL_LOOP_AT + DcControlLoop.SIZE
#: The loop's outputs: 0x092C (mean difference) to 0x0933 (speed counter diff).
_LOOP_MEANS_END = _SPEED_COUNTER_DIFF_AT + Register.DC_SPEED_COUNTER_DIFF.size
_SPEED_COUNTER_START_MASK = 0x7FFF
_FILTER_DEPTH_MASK = 0x0F
_DIFFERENCE_LIMIT = (1 << 31) - 1
#: The system time view depends on 0x0910 itself, the offset and the delay (0x0920-0x092B).
_VIEW_INPUTS_END = _DELAY_AT + Register.DC_SYSTEM_TIME_DELAY.size
_SYSTEM_TIME_END = _SYSTEM_TIME_AT + Register.DC_SYSTEM_TIME.size
#: The cyclic unit's registers: 0x0980 (control) to 0x09A7 (SYNC1 cycle time).
_CYCLIC_LO = int(Register.DC_CYCLIC_UNIT_CONTROL)
_CYCLIC_HI = int(Register.DC_SYNC1_CYCLE_TIME) + Register.DC_SYNC1_CYCLE_TIME.size
#: Accesses in this range may read a lazily written register or change its inputs.
_WATCH_LO, _WATCH_HI = _SYSTEM_TIME_AT, _CYCLIC_HI


# ----------------------------------------------------------------------------------- time
class ManualTime:
    """A simulation time source that only moves when told: ``ManualTime(start_ns)()`` returns
    the current time; :meth:`advance` and :meth:`set` move it (never backwards)."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def __call__(self) -> int:
        return self._now

    @property
    def now(self) -> int:
        """The current time in ns."""
        return self._now

    def advance(self, ns: int) -> int:
        """Move forward by ``ns`` (>= 0); returns the new time."""
        if ns < 0:
            raise ValueError(f"time cannot go backwards (advance by {ns})")
        self._now += ns
        return self._now

    def set(self, ns: int) -> None:
        """Jump to ``ns`` (not before the current time)."""
        if ns < self._now:
            raise ValueError(f"time cannot go backwards ({ns} < {self._now})")
        self._now = ns


@dataclass(frozen=True, slots=True)
class ClockSpec:
    """The power-on state of one ESC's local clock: its local time at power-on (ns) and the
    drift of its oscillator in ppm (positive: runs fast)."""

    initial_ns: int = 0
    drift_ppm: float = 0.0

    def __post_init__(self) -> None:
        if self.initial_ns < 0:
            raise ValueError(f"initial_ns must be non-negative, got {self.initial_ns!r}")
        if not -1000.0 <= self.drift_ppm <= 1000.0:
            raise ValueError(f"drift_ppm {self.drift_ppm!r} is outside +/-1000 ppm")

    @classmethod
    def random(cls, rng: random.Random, *, max_drift_ppm: float = 50.0,
               max_initial_ns: int = 1 << 40) -> ClockSpec:
        """A clock with a power-on time in [0, max_initial_ns) and a drift within
        +/-``max_drift_ppm``, drawn from ``rng`` (reproducible for a seeded ``rng``)."""
        return cls(rng.randrange(max_initial_ns), rng.uniform(-max_drift_ppm, max_drift_ppm))


class LocalClock:
    """An ESC's free-running local time, steered by a rate correction.

    ``read(t)`` is the local time in ns (not wrapped; registers keep the low bits) at
    simulation time ``t``: it advances at ``(1 + drift) * (1 + correction)`` ns per ns since
    power-on at ``power_on_ns``.
    """

    def __init__(self, spec: ClockSpec, power_on_ns: int) -> None:
        self.spec = spec
        self._drift = spec.drift_ppm * _PPM
        self._correction = 0.0
        self._base_sim = power_on_ns
        self._base_local = spec.initial_ns
        # The part of a ns the local time had beyond _base_local at the last rebase (in
        # [-0.5, 0.5]): carried, so that frequent rate changes do not each round the clock's
        # time and bias its rate (a comparison every 50 us would bias it by ~10 ppm).
        self._base_fraction = 0.0
        self._rate_error = self._drift
        # Called before the rate changes: a DcUnit pins the local time of its frame start, which
        # it computes lazily from this clock.
        self._before_change: list[Callable[[], None]] = []

    @property
    def correction(self) -> float:
        """The rate correction applied now (dimensionless, e.g. -5e-5 slows by 50 ppm)."""
        return self._correction

    @property
    def rate(self) -> float:
        """Local ns per simulation ns now."""
        return 1.0 + self._rate_error

    def read(self, sim_ns: int) -> int:
        """Local time at simulation time ``sim_ns`` (not before the last correction)."""
        elapsed = sim_ns - self._base_sim
        return self._base_local + elapsed + round(elapsed * self._rate_error + self._base_fraction)

    def sim_time_at(self, local_ns: int) -> int:
        """Simulation time at which the local time reaches ``local_ns`` at the current rate."""
        return self._base_sim + round((local_ns - self._base_local) / self.rate)

    def set_correction(self, sim_ns: int, correction: float) -> None:
        """From simulation time ``sim_ns`` on, run with rate correction ``correction``."""
        for callback in self._before_change:
            callback()
        self._rebase(sim_ns, correction)

    def _rebase(self, sim_ns: int, correction: float) -> None:
        """:meth:`set_correction` without telling the watchers."""
        elapsed = sim_ns - self._base_sim  # self.read(sim_ns), inline, keeping the fraction
        exact = elapsed * self._rate_error + self._base_fraction
        whole = round(exact)
        self._base_local = self._base_local + elapsed + whole
        self._base_fraction = exact - whole
        self._base_sim = sim_ns
        self._correction = correction
        self._rate_error = (1.0 + self._drift) * (1.0 + correction) - 1.0


# ------------------------------------------------------------------------ time control loop
class TimeControlLoop:
    """The drift compensation of one ESC (see the module notes for the model).

    :meth:`update` takes one comparison and returns the rate correction to apply until the next.
    """

    def __init__(self) -> None:
        self._last_local: Optional[int] = None
        self._frequency = 0.0
        self._correction = 0.0
        self._mean_difference = 0.0
        self._mean_correction = 0.0
        self._gains_start = -1  # the speed counter start the cached gains belong to
        self._gain_p = self._gain_i = 0.0

    def reset(self) -> None:
        """Forget all history and correction (a write to the Speed Counter Start register)."""
        self._last_local = None
        self._frequency = self._correction = self._mean_difference = self._mean_correction = 0.0

    @property
    def correction(self) -> float:
        """The rate correction decided by the last comparison."""
        return self._correction

    @property
    def mean_difference(self) -> int:
        """The mean of ``dt`` in ns, as reported in 0x092C (local copy - received)."""
        return round(self._mean_difference)

    def speed_counter_diff(self, speed_counter_start: int) -> int:
        """The mean rate correction in units of :data:`SPEED_COUNTER_DIFF_UNIT`, saturated at
        the register's range +/-(start - 0x7F)."""
        limit = max(speed_counter_start, SPEED_COUNTER_START_MIN) - _SPEED_COUNTER_DIFF_MARGIN
        value = round(self._mean_correction / SPEED_COUNTER_DIFF_UNIT)
        return max(-limit, min(limit, value))

    def _set_gains(self, speed_counter_start: int) -> None:
        samples = max(speed_counter_start, SPEED_COUNTER_START_MIN) / _START_PER_SAMPLE
        pole = 1.0 - 1.0 / samples
        self._gain_p = 1.0 - pole * pole
        self._gain_i = (1.0 - pole) ** 2
        self._gains_start = speed_counter_start

    def update(self, difference: int, local_ns: int, speed_counter_start: int,
               difference_depth: int, speed_depth: int) -> float:
        """One comparison: ``difference`` = local copy - received (ns) at local time
        ``local_ns``. Returns the new rate correction."""
        self._mean_difference += (difference - self._mean_difference) / (1 << difference_depth)
        last, self._last_local = self._last_local, local_ns
        if last is not None and local_ns > last:
            interval = local_ns - last
            if speed_counter_start != self._gains_start:
                self._set_gains(speed_counter_start)
            frequency = self._frequency + self._gain_i * difference / interval
            correction = -(frequency + self._gain_p * difference / interval)
            if abs(correction) > MAX_RATE_CORRECTION:
                correction = math.copysign(MAX_RATE_CORRECTION, correction)  # hold the integrator
            else:
                self._frequency = frequency
            self._correction = correction
        self._mean_correction += (self._correction - self._mean_correction) / (1 << speed_depth)
        return self._correction


# ------------------------------------------------------------------------------ DC unit
@dataclass(slots=True)
class DatagramContext:
    """The command of the datagram being executed, set by the chain before each datagram, so
    that register hooks know which command wrote (0x0900 latches only for BWR and FPWR).

    ``frame`` and ``start_ns`` let the chain announce a frame to all its DC units at once: it
    counts the frames in ``frame`` and puts the time each left the master in ``start_ns``; a
    unit with an arrival offset (set by the chain) takes the frame's arrival as
    ``start_ns + offset`` the first time it is touched, or at the frame's start when it is in
    ``eager`` (see :class:`DcUnit`)."""

    command: int = int(Command.NOP)
    frame: int = 0
    start_ns: int = 0
    #: Units that take each frame's arrival at its start (the chain calls their ``_sync``).
    eager: list = field(default_factory=list)


class SyncSignal(enum.IntEnum):
    """The two SYNC outputs of the cyclic unit."""

    SYNC0 = 0
    SYNC1 = 1


_SYNC0 = SyncSignal.SYNC0
_SYNC0_ENABLE, _SYNC1_ENABLE = int(DcActivation.SYNC0), int(DcActivation.SYNC1)
_ACTIVATION_AT = int(Register.DC_ACTIVATION)


@dataclass(frozen=True, slots=True)
class _Schedule:
    """An activated cyclic unit: system time (not wrapped) of the first SYNC0 pulse and the
    cycle times taken at activation."""

    first: int
    sync0_cycle: int
    sync1_cycle: int
    out_of_near_future: bool

    def first_pulse(self, signal: SyncSignal) -> int:
        """System time of the first pulse of ``signal``."""
        return self.first + (self.sync1_cycle if signal is SyncSignal.SYNC1 else 0)

    def period(self, signal: SyncSignal) -> int:
        """Time between two pulses of ``signal``; 0 in single shot mode."""
        if self.sync0_cycle == 0 or signal is SyncSignal.SYNC0:
            return self.sync0_cycle
        return (self.sync1_cycle // self.sync0_cycle + 1) * self.sync0_cycle

    def pulse(self, signal: SyncSignal, index: int) -> Optional[int]:
        """System time of pulse ``index`` (0-based) of ``signal``, None past a single shot."""
        period = self.period(signal)
        if period == 0 and index:
            return None
        return self.first_pulse(signal) + index * period

    def count_until(self, signal: SyncSignal, system_time: int) -> int:
        """Number of pulses of ``signal`` at or before ``system_time``."""
        first = self.first_pulse(signal)
        if system_time < first:
            return 0
        period = self.period(signal)
        return 1 if period == 0 else (system_time - first) // period + 1


class DcUnit:
    """The distributed clock of one :class:`Esc`: keeps the DC registers in step with a
    :class:`LocalClock` and runs the time control loop and the cyclic unit.

    The chain calls :meth:`frame_arrived` when a frame's start reaches the ESC's Processing
    Unit (before any of its datagrams) and :meth:`frame_done` after the frame has passed all
    ports. The local application (a device model) uses :meth:`system_time`, :meth:`pulses`,
    :meth:`next_pulse` and :meth:`acknowledge`.

    Per-frame work is lazy, so that a frame costs a unit nothing unless it touches its DC
    registers (the simulator's cost per cyclic frame is the point):

    * The chain announces a frame to all its units at once through the shared
      :class:`DatagramContext` (frame number and start time); a unit takes its arrival (start
      time + its arrival offset on the chain's path) the first time it is touched (at the
      frame's start while a single shot schedule gives its registers a history).
    * The registers that follow the frame's start (the system time view 0x0910, the cyclic
      unit's status and next pulse times 0x0984-0x099F) and the loop's outputs (0x092C,
      0x0932) are written just before the first ECAT or PDI access that may read them or change
      their inputs (an access hook of the ESC), with the values the eager model would have
      written. The local time of the frame start is computed when first needed, and pinned
      before the clock's rate changes.
    * The comparison of a written 0x0910 (the drift compensation) runs at the frame's end, on
      cached register inputs (offset, delay, control loop registers; reloaded after an access
      to them).
    """

    def __init__(self, esc: Esc, clock: LocalClock, time_source: TimeSource, context: DatagramContext) -> None:
        if not esc.identity.features.dc_supported:
            raise ValueError(f"{esc!r} has no distributed clocks")
        self.esc = esc
        self.clock = clock
        self._time = time_source
        self._context = context
        # The DC registers hold no SyncManager area and no state the ESC keeps decoded, so a PDI
        # access to them is a plain access to the ESC's memory.
        self._mem = esc._mem
        self._width = 64 if esc.identity.features.dc_64bit else 32
        self._mask = (1 << self._width) - 1
        self._loop = TimeControlLoop()
        self._frame = context.frame  # the last frame announced through the context it took
        self._arrival: Optional[int] = None  # its arrival after the frame leaves the master
        self._sof_sim = time_source()
        # local time at the frame start; None until needed (computed from the clock lazily)
        self._sof_local: Optional[int] = clock.read(self._sof_sim)
        self._view_pending = False  # 0x0910 not yet written for the current frame
        self._inputs_stale = True  # the cache of _compare's register inputs needs a reload
        self._loop_pending = False  # 0x092C and 0x0932 not yet written after a comparison
        self._cyclic_pending = False  # 0x0984-0x099F not yet written for the current frame
        self._latch = False
        self._received: Optional[int] = None
        self._schedule: Optional[_Schedule] = None
        self._acknowledged = [0, 0]

        clock._before_change.append(self._pin_frame_start)
        esc.pdi_write(DcControlLoop.ADDRESS, DcControlLoop(
            SPEED_COUNTER_START_RESET, 0, SYSTEM_TIME_DIFF_FILTER_DEPTH_RESET, SPEED_COUNTER_FILTER_DEPTH_RESET,
        ).encode())
        # The written system time must reach the hook; the register is restored right after.
        esc.set_ecat_write_mask(Register.DC_SYSTEM_TIME, b"\xff" * Register.DC_SYSTEM_TIME.size)
        esc.add_write_hook(Register.DC_RECEIVE_TIME_PORT0, Register.DC_RECEIVE_TIME_PORT0.size, self._latch_written)
        esc.add_write_hook(Register.DC_SYSTEM_TIME, Register.DC_SYSTEM_TIME.size, self._system_time_written)
        esc.add_write_hook(Register.DC_SPEED_COUNTER_START, Register.DC_SPEED_COUNTER_START.size,
                           self._speed_counter_start_written)
        esc.add_write_hook(Register.DC_CYCLIC_UNIT_CONTROL, Register.DC_CYCLIC_UNIT_CONTROL.size,
                           self._cyclic_control_written)
        esc.add_write_hook(Register.DC_ACTIVATION, Register.DC_ACTIVATION.size, self._activation_written)
        esc.add_write_hook(Register.DC_START_TIME_CYCLIC, Register.DC_START_TIME_CYCLIC.size,
                           self._start_time_written)
        # an ECAT write of 0x0910 itself needs nothing before it: its hook marks the view pending
        esc._add_access_hook(_WATCH_LO, _WATCH_HI, self._settle, ecat_writes=(_OFFSET_AT, _WATCH_HI))
        self._write_system_time_view()

    def __repr__(self) -> str:
        return f"<DcUnit of {self.esc!r}, drift {self.clock.spec.drift_ppm:+.3f} ppm>"

    # ------------------------------------------------------------------- chain side
    def frame_arrived(self, sim_ns: int) -> None:
        """The start of a frame reaches the Processing Unit at simulation time ``sim_ns``:
        latch the system time and bring the time-dependent registers up to date (lazily, see
        the class notes)."""
        self._sync()
        self._arrive(sim_ns)

    def _sync(self) -> None:
        """Take the arrival of a frame the chain announced through the context, if any."""
        context = self._context
        if self._frame != context.frame:
            self._frame = context.frame
            if self._arrival is not None:
                self._arrive(context.start_ns + self._arrival)

    def _arrive(self, sim_ns: int) -> None:
        schedule = self._schedule
        if self._cyclic_pending and schedule is not None and schedule.sync0_cycle == 0:
            # Single shot: after its pulse the next pulse times keep their register value, which
            # every frame start before it sets; the only history the cyclic registers have. Such
            # a unit is eager (it sees every frame start), and writes the registers of a frame
            # start nobody looked at before it takes the next.
            self._write_cyclic_registers(self._frame_start_local() + self._offset())
        self._sof_sim = sim_ns
        self._sof_local = None
        self._latch = False
        self._received = None
        self._view_pending = True
        self._cyclic_pending = self._schedule is not None

    def frame_done(self, port_times: Sequence[Optional[int]]) -> None:
        """The frame has passed; ``port_times`` are its reception times (simulation ns) at
        ports 0-3 (None where it was not received). Latches the receive times if a BWR/FPWR
        wrote 0x0900, and feeds a written 0x0910 to the time control loop."""
        if len(port_times) != PORT_COUNT:
            raise ValueError(f"port_times needs {PORT_COUNT} entries, got {len(port_times)}")
        self._sync()
        if self._latch:
            mem, read = self._mem, self.clock.read
            old = _RECEIVE_TIMES.unpack_from(mem, _RECEIVE_TIMES_AT)
            _RECEIVE_TIMES.pack_into(mem, _RECEIVE_TIMES_AT, *(
                old[port] if at is None else read(at) & _U32_MASK for port, at in enumerate(port_times)))
            entry = port_times[0]
            if entry is not None:
                _U64.pack_into(mem, _PROCESSING_UNIT_TIME_AT, read(entry) & self._mask)
                self._normalise_difference()
        if self._received is not None:
            self._compare(self._received)
        self._latch = False
        self._received = None

    # ------------------------------------------------------------ application side
    def local_time(self, at: Optional[int] = None) -> int:
        """Local time (wrapped to the DC width) at simulation time ``at`` (default: now)."""
        return self.clock.read(self._now(at)) & self._mask

    def system_time(self, at: Optional[int] = None) -> int:
        """The local copy of the system time (local time + offset, wrapped) as the local
        application reads it, at simulation time ``at`` (default: now)."""
        return self._system_now(at) & self._mask

    def sim_time_at(self, system_time: int) -> int:
        """Simulation time at which the local copy of the system time reaches ``system_time``
        (the wrapped value nearest to now; at the current clock rate)."""
        now = self._system_now(None)
        return self.clock.sim_time_at(self._nearest(system_time, now) - self._offset())

    @property
    def cyclic_active(self) -> bool:
        """True while the cyclic unit is activated (0x0981.0)."""
        return self._schedule is not None

    def pulses(self, signal: SyncSignal, since: int, until: int) -> list[int]:
        """System times (wrapped) of the pulses of ``signal`` with ``since <= t < until``, past
        or future; ``since`` and ``until`` are system times as :meth:`system_time` returns them
        (each taken as the wrapped value nearest to now)."""
        schedule = self._enabled_schedule(signal)
        if schedule is None:
            return []
        now = self._system_now(None)
        since, until = self._nearest(since, now), self._nearest(until, now)
        pulses = []
        index = schedule.count_until(signal, since - 1)
        while True:
            at = schedule.pulse(signal, index)
            if at is None or at >= until:
                return pulses
            pulses.append(at & self._mask)
            index += 1

    def next_pulse(self, signal: SyncSignal, at: Optional[int] = None) -> Optional[int]:
        """System time (wrapped) of the first pulse of ``signal`` after simulation time ``at``
        (default: now); None when the signal is off or its single shot has passed."""
        schedule = self._enabled_schedule(signal)
        if schedule is None:
            return None
        pulse = schedule.pulse(signal, schedule.count_until(signal, self._system_now(at)))
        return None if pulse is None else pulse & self._mask

    def acknowledge(self, signal: SyncSignal) -> None:
        """The local application reads the SYNC status register: in acknowledge mode this
        clears the status bit until the next pulse."""
        schedule = self._schedule
        if schedule is not None:
            self._settle(_WATCH_LO, _WATCH_HI, False)
            now = self._system_now(None)
            self._acknowledged[signal] = schedule.count_until(signal, now)
            self._write_cyclic_registers(now)

    # ------------------------------------------------------------- lazy registers
    def _pin_frame_start(self) -> None:
        """The clock is about to change rate: fix the local time of the frame start first."""
        self._sync()
        if self._sof_local is None:
            self._sof_local = self.clock.read(self._sof_sim)

    def _frame_start_local(self) -> int:
        local = self._sof_local
        if local is None:
            local = self._sof_local = self.clock.read(self._sof_sim)
        return local

    def _settle(self, address: int, end: int, write: bool) -> None:
        """Access hook: an ECAT or PDI access to ``address``..``end`` (inside 0x0910-0x09A7) is
        about to happen; write the registers it may read, or whose inputs it may change, as
        they were at the frame's start. A write of all of 0x0910-0x0917 replaces the view
        anyway (an ECAT write's hook restores it, a PDI write's bytes stay), so it is not
        computed for it."""
        if self._frame != self._context.frame:
            self._sync()
        if self._view_pending and address < _VIEW_INPUTS_END:
            if write and address <= _SYSTEM_TIME_AT and end >= _SYSTEM_TIME_END:
                self._view_pending = False
                if self._mem[_DIFFERENCE_AT + 3] == 0x80:
                    self._normalise_difference()
            else:
                self._write_system_time_view()
        if self._cyclic_pending and (end > _CYCLIC_LO or (address < _DELAY_AT and end > _OFFSET_AT)):
            self._write_cyclic_registers(self._frame_start_local() + self._offset())
        if self._loop_pending and address < _LOOP_MEANS_END and end > _DIFFERENCE_AT:
            self._write_loop_means()
        if address < _LOOP_INPUTS_END and end > _OFFSET_AT:
            self._inputs_stale = True  # the access may change what _compare caches

    # --------------------------------------------------------------------- hooks
    def _latch_written(self, address: int, length: int) -> None:
        self._sync()
        if self._context.command in _LATCH_COMMANDS:
            self._latch = True

    def _system_time_written(self, address: int, length: int) -> None:
        context = self._context
        if self._frame != context.frame:  # self._sync(), inline
            self._sync()
        if address <= _SYSTEM_TIME_AT:  # only a write that includes byte 0x0910 starts a comparison
            mem = self._mem
            count = address + length - _SYSTEM_TIME_AT  # the loop uses the lower 32 bits
            if count >= 4:
                self._received = _U32.unpack_from(mem, _SYSTEM_TIME_AT)[0]
            else:  # the bytes not written come from the latched local copy
                copy = (self._frame_start_local() + (_U64.unpack_from(mem, _OFFSET_AT)[0] & self._mask)
                        - _U32.unpack_from(mem, _DELAY_AT)[0])
                keep = (1 << (8 * count)) - 1
                written = int.from_bytes(mem[_SYSTEM_TIME_AT:_SYSTEM_TIME_AT + count], "little")
                self._received = written | (copy & _U32_MASK & ~keep)
        # the register keeps the latched value for reads: written back before the next access
        self._view_pending = True

    @staticmethod
    def _system_times_written(units: Sequence[DcUnit], received: int) -> None:
        """:meth:`_system_time_written` at each of ``units`` for an ECAT write of 4 to 8 bytes
        at 0x0910 whose lower 32 bits are ``received``: the chain's batched FRMW of the system
        time calls this once for all the slaves that took the same value."""
        for unit in units:
            context = unit._context
            if unit._frame != context.frame:  # unit._sync(), inline
                unit._frame = context.frame
                if unit._arrival is not None:
                    unit._arrive(context.start_ns + unit._arrival)
            unit._received = received
            # the register keeps the latched value for reads: written back before the next access
            unit._view_pending = True

    def _speed_counter_start_written(self, address: int, length: int) -> None:
        self._sync()
        self._loop.reset()
        self._write_loop_registers()

    def _cyclic_control_written(self, address: int, length: int) -> None:
        self._sync()
        self._update_masks()

    def _activation_written(self, address: int, length: int) -> None:
        self._sync()
        if self._pdi_controlled():
            return
        unit = self._cyclic_unit()
        activation = unit.activation
        if DcActivation.DEBUG_PULSE in activation:
            activation &= ~DcActivation.DEBUG_PULSE
            self._poke(Register.DC_ACTIVATION, bytes((int(activation),)))
        if DcActivation.CYCLIC_OPERATION not in activation:
            self._set_schedule(None)
        elif self._schedule is None:
            self._activate(activation)
        self._update_masks()
        self._write_cyclic_registers(self._frame_start_local() + self._offset())

    def _start_time_written(self, address: int, length: int) -> None:
        self._sync()
        if self._schedule is not None or self._pdi_controlled():
            return  # not writable while active (0x0981.0) or when the PDI owns the unit
        activation = self._cyclic_unit().activation
        end = address + length
        low_only = end <= Register.DC_START_TIME_CYCLIC + _START_TIME_LOW_BYTES
        if low_only and activation & (DcActivation.START_TIME_EXTENSION_64BIT | DcActivation.AUTO_ACTIVATION):
            timing = self._sync_timing()
            now = self._frame_start_local() + self._offset()
            extended = (now + ((timing.start_time - now) & _U32_MASK)) & self._mask  # next such time
            self._poke(Register.DC_START_TIME_CYCLIC, replace(timing, start_time=extended).encode()[:8])
        if DcActivation.AUTO_ACTIVATION in activation:
            activation |= DcActivation.CYCLIC_OPERATION
            self._poke(Register.DC_ACTIVATION, bytes((int(activation),)))
            self._activate(activation)
            self._update_masks()
            self._write_cyclic_registers(self._frame_start_local() + self._offset())

    # ----------------------------------------------------------------- internals
    def _peek(self, address: int, length: int) -> bytes:
        return bytes(self._mem[address:address + length])

    def _poke(self, address: int, data: bytes) -> None:
        self._mem[address:address + len(data)] = data

    def _now(self, at: Optional[int]) -> int:
        return self._time() if at is None else at

    def _system_now(self, at: Optional[int]) -> int:
        """Local time + offset (not wrapped) at simulation time ``at`` (default: now)."""
        return self.clock.read(self._now(at)) + self._offset()

    def _nearest(self, value: int, reference: int) -> int:
        """The unwrapped time nearest to ``reference`` whose low DC-width bits are ``value``."""
        span = 1 << self._width
        half = span >> 1
        return reference + ((value - reference + half) % span) - half

    def _offset(self) -> int:
        return _U64.unpack_from(self._mem, _OFFSET_AT)[0] & self._mask

    def _cyclic_unit(self) -> DcCyclicUnit:
        return DcCyclicUnit.decode(self._peek(DcCyclicUnit.ADDRESS, DcCyclicUnit.SIZE))

    def _sync_timing(self) -> DcSyncTiming:
        return DcSyncTiming.decode(self._peek(DcSyncTiming.ADDRESS, DcSyncTiming.SIZE))

    def _pdi_controlled(self) -> bool:
        return bool(self._mem[Register.DC_CYCLIC_UNIT_CONTROL] & DcCyclicUnitControl.SYNC_OUT_PDI_CONTROLLED)

    def _normalise_difference(self) -> None:
        """0x092C as the register view writes it: a sign bit without magnitude reads as 0 (a
        value the loop writes, pending or not, never has that form)."""
        mem = self._mem
        if not self._loop_pending and mem[_DIFFERENCE_AT + 3] == 0x80 \
                and _U32.unpack_from(mem, _DIFFERENCE_AT)[0] == _I32_SIGN:
            _U32.pack_into(mem, _DIFFERENCE_AT, 0)

    def _write_system_time_view(self) -> None:
        mem, mask = self._mem, self._mask
        view = (self._frame_start_local() + (_U64.unpack_from(mem, _OFFSET_AT)[0] & mask)
                - _U32.unpack_from(mem, _DELAY_AT)[0]) & mask
        _U64.pack_into(mem, _SYSTEM_TIME_AT, view)
        self._normalise_difference()
        self._view_pending = False

    def _compare(self, received: int) -> None:
        """Section I 9.1.5: dt = (local + offset - delay) - received, on the lower 32 bits.

        The frame hot path: :meth:`TimeControlLoop.update`, :meth:`LocalClock.set_correction`
        (the frame start is pinned already, so the clock's watchers have nothing to do) and
        :meth:`_write_loop_registers` inline, on register inputs cached until an access to
        0x0920-0x0935 (the same arithmetic, in the same order, as those methods)."""
        clock, sof = self.clock, self._sof_sim
        elapsed = sof - clock._base_sim  # clock.read(sof), inline; the new base of the clock too
        exact = elapsed * clock._rate_error + clock._base_fraction
        whole = round(exact)
        base_local = clock._base_local + elapsed + whole
        local = self._sof_local
        if local is None:
            local = self._sof_local = base_local
        if self._inputs_stale:
            self._load_inputs()
        raw = (local + self._offset_minus_delay - received) & _U32_MASK
        difference = raw - (1 << 32) if raw & _I32_SIGN else raw
        start = self._start_in
        # TimeControlLoop.update
        loop = self._loop
        mean_difference = loop._mean_difference
        mean_difference += (difference - mean_difference) / self._difference_divisor
        loop._mean_difference = mean_difference
        last, loop._last_local = loop._last_local, local
        if last is not None and local > last:
            interval = local - last
            if start != loop._gains_start:
                loop._set_gains(start)
            frequency = loop._frequency + loop._gain_i * difference / interval
            correction = -(frequency + loop._gain_p * difference / interval)
            if abs(correction) > MAX_RATE_CORRECTION:
                correction = math.copysign(MAX_RATE_CORRECTION, correction)  # hold the integrator
            else:
                loop._frequency = frequency
            loop._correction = correction
        else:
            correction = loop._correction
        mean_correction = loop._mean_correction
        mean_correction += (correction - mean_correction) / self._speed_divisor
        loop._mean_correction = mean_correction
        # LocalClock.set_correction
        clock._base_local = base_local
        clock._base_fraction = exact - whole
        clock._base_sim = sof
        clock._correction = correction
        clock._rate_error = (1.0 + clock._drift) * (1.0 + correction) - 1.0
        # _write_loop_registers: 0x092C and 0x0932 follow the loop's means (lazily)
        self._loop_pending = True

    def _write_loop_means(self) -> None:
        """0x092C (mean difference, sign and magnitude) and 0x0932 (speed counter diff) from the
        loop's means, as :meth:`_write_loop_registers` writes them, with the speed counter
        start the last comparison used."""
        mem, loop = self._mem, self._loop
        mean = round(loop._mean_difference)
        if mean < 0:
            _U32.pack_into(mem, _DIFFERENCE_AT, (-mean if mean > -_DIFFERENCE_LIMIT else _DIFFERENCE_LIMIT) | _I32_SIGN)
        else:
            _U32.pack_into(mem, _DIFFERENCE_AT, mean if mean < _DIFFERENCE_LIMIT else _DIFFERENCE_LIMIT)
        limit = self._speed_limit
        value = round(loop._mean_correction / SPEED_COUNTER_DIFF_UNIT)
        _I16.pack_into(mem, _SPEED_COUNTER_DIFF_AT, -limit if value < -limit else limit if value > limit else value)
        self._loop_pending = False

    def _load_inputs(self) -> None:
        """Read the offset, delay and control loop registers into the cache :meth:`_compare`
        uses; the control loop block is written back as its register view reads it (as
        :meth:`_write_loop_registers` does at every comparison)."""
        mem = self._mem
        offset, delay = _OFFSET_DELAY.unpack_from(mem, _OFFSET_AT)
        self._offset_minus_delay = (offset & self._mask) - delay
        start, diff, difference_depth, speed_depth = _CONTROL_LOOP.unpack_from(mem, _CONTROL_LOOP_AT)
        start &= _SPEED_COUNTER_START_MASK
        difference_depth &= _FILTER_DEPTH_MASK
        speed_depth &= _FILTER_DEPTH_MASK
        _CONTROL_LOOP.pack_into(mem, _CONTROL_LOOP_AT, start, diff, difference_depth, speed_depth)
        self._start_in = start
        self._difference_divisor = 1 << difference_depth
        self._speed_divisor = 1 << speed_depth
        self._speed_limit = max(start, SPEED_COUNTER_START_MIN) - _SPEED_COUNTER_DIFF_MARGIN
        self._inputs_stale = False

    def _write_loop_registers(self) -> None:
        """The mean difference (0x092C, sign and magnitude) and speed counter diff (0x0932);
        the control loop block is written back as its register view reads it."""
        mem, loop = self._mem, self._loop
        difference = max(-_DIFFERENCE_LIMIT, min(_DIFFERENCE_LIMIT, loop.mean_difference))
        _U32.pack_into(mem, _DIFFERENCE_AT, -difference | _I32_SIGN if difference < 0 else difference)
        start, _, difference_depth, speed_depth = _CONTROL_LOOP.unpack_from(mem, _CONTROL_LOOP_AT)
        start &= _SPEED_COUNTER_START_MASK
        _CONTROL_LOOP.pack_into(mem, _CONTROL_LOOP_AT, start, loop.speed_counter_diff(start),
                                difference_depth & _FILTER_DEPTH_MASK, speed_depth & _FILTER_DEPTH_MASK)
        self._loop_pending = False

    def _activate(self, activation: DcActivation) -> None:
        timing = self._sync_timing()
        now = self._frame_start_local() + self._offset()
        ahead = (timing.start_time - now) % (1 << self._width)
        near_future = _NEAR_FUTURE_SHORT_NS if DcActivation.NEAR_FUTURE_LONG in activation \
            else 1 << (self._width - 1)
        outside = ahead > near_future
        if outside and DcActivation.START_TIME_PLAUSIBILITY_CHECK in activation:
            ahead = 0  # immediate SyncSignal generation
        self._set_schedule(_Schedule(now + ahead, timing.sync0_cycle_time, timing.sync1_cycle_time, outside))
        self._acknowledged = [0, 0]

    def _set_schedule(self, schedule: Optional[_Schedule]) -> None:
        """A single shot schedule gives the cyclic registers a history (see :meth:`_arrive`),
        so while one is active the unit takes every frame's arrival when the frame starts."""
        self._schedule = schedule
        eager = self._context.eager
        single_shot = schedule is not None and schedule.sync0_cycle == 0
        if single_shot and self not in eager:
            eager.append(self)
        elif not single_shot and self in eager:
            eager.remove(self)

    def _detach(self) -> None:
        """The ESC lost power: take the last frame it saw, and no more."""
        self._sync()
        self._arrival = None
        if self in self._context.eager:
            self._context.eager.remove(self)

    def _enabled_schedule(self, signal: SyncSignal) -> Optional[_Schedule]:
        enable = _SYNC0_ENABLE if signal is _SYNC0 else _SYNC1_ENABLE
        if self._schedule is None or not self._mem[_ACTIVATION_AT] & enable:
            return None
        return self._schedule

    def _update_masks(self) -> None:
        """Start time is ECAT-writable only while the cyclic unit is off; activation, start time
        and cycle times only while ECAT controls the unit (0x0980.0 = 0)."""
        ecat = not self._pdi_controlled()
        for register in (Register.DC_ACTIVATION, Register.DC_SYNC0_CYCLE_TIME, Register.DC_SYNC1_CYCLE_TIME):
            self.esc.set_ecat_write_mask(register, (b"\xff" if ecat else b"\x00") * register.size)
        start = Register.DC_START_TIME_CYCLIC
        writable = ecat and self._schedule is None
        self.esc.set_ecat_write_mask(start, (b"\xff" if writable else b"\x00") * start.size)

    def _write_cyclic_registers(self, now: int) -> None:
        """Activation status, SYNC status and the next pulse times as of system time ``now``."""
        unit = self._cyclic_unit()
        schedule = self._schedule
        status = DcActivationStatus(0)
        sync_status = [0, 0]
        if schedule is not None:
            pulse_ns = unit.pulse_length * _PULSE_LENGTH_UNIT_NS
            for signal, pending in ((SyncSignal.SYNC0, DcActivationStatus.SYNC0_PENDING),
                                    (SyncSignal.SYNC1, DcActivationStatus.SYNC1_PENDING)):
                if self._enabled_schedule(signal) is None:
                    continue
                count = schedule.count_until(signal, now)
                if count == 0:
                    status |= pending
                    continue
                if pulse_ns == 0:
                    active = count > self._acknowledged[signal]
                else:
                    last = schedule.pulse(signal, count - 1)
                    active = last is not None and now < last + pulse_ns
                sync_status[signal] = _SYNC_STATUS_ACTIVE if active else 0
            if schedule.out_of_near_future:
                status |= DcActivationStatus.START_TIME_OUT_OF_NEAR_FUTURE
            timing = self._sync_timing()
            next0 = schedule.pulse(SyncSignal.SYNC0, schedule.count_until(SyncSignal.SYNC0, now))
            next1 = schedule.pulse(SyncSignal.SYNC1, schedule.count_until(SyncSignal.SYNC1, now))
            self._poke(DcSyncTiming.ADDRESS, replace(
                timing,
                start_time=timing.start_time if next0 is None else next0 & self._mask,
                next_sync1_pulse=timing.next_sync1_pulse if next1 is None else next1 & self._mask,
            ).encode())
        self._poke(DcCyclicUnit.ADDRESS, replace(unit, activation_status=status).encode())
        self._poke(Register.DC_SYNC0_STATUS, bytes(sync_status))
        self._cyclic_pending = False
