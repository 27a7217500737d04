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
from dataclasses import dataclass, replace
from typing import Callable, Optional, Sequence

from ..protocol.datagram import Command
from ..protocol.registers import (
    PORT_COUNT,
    DcActivation,
    DcActivationStatus,
    DcControlLoop,
    DcCyclicUnit,
    DcCyclicUnitControl,
    DcReceiveTimes,
    DcSyncTiming,
    DcSystemTime,
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
        self._rate_error = self._drift

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
        return self._base_local + elapsed + round(elapsed * self._rate_error)

    def sim_time_at(self, local_ns: int) -> int:
        """Simulation time at which the local time reaches ``local_ns`` at the current rate."""
        return self._base_sim + round((local_ns - self._base_local) / self.rate)

    def set_correction(self, sim_ns: int, correction: float) -> None:
        """From simulation time ``sim_ns`` on, run with rate correction ``correction``."""
        self._base_local = self.read(sim_ns)
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

    def update(self, difference: int, local_ns: int, speed_counter_start: int,
               difference_depth: int, speed_depth: int) -> float:
        """One comparison: ``difference`` = local copy - received (ns) at local time
        ``local_ns``. Returns the new rate correction."""
        self._mean_difference += (difference - self._mean_difference) / (1 << difference_depth)
        last, self._last_local = self._last_local, local_ns
        if last is not None and local_ns > last:
            interval = local_ns - last
            samples = max(speed_counter_start, SPEED_COUNTER_START_MIN) / _START_PER_SAMPLE
            pole = 1.0 - 1.0 / samples
            gain_p = 1.0 - pole * pole
            gain_i = (1.0 - pole) ** 2
            frequency = self._frequency + gain_i * difference / interval
            correction = -(frequency + gain_p * difference / interval)
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
    that register hooks know which command wrote (0x0900 latches only for BWR and FPWR)."""

    command: int = int(Command.NOP)


class SyncSignal(enum.IntEnum):
    """The two SYNC outputs of the cyclic unit."""

    SYNC0 = 0
    SYNC1 = 1


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
    """

    def __init__(self, esc: Esc, clock: LocalClock, time_source: TimeSource, context: DatagramContext) -> None:
        if not esc.identity.features.dc_supported:
            raise ValueError(f"{esc!r} has no distributed clocks")
        self.esc = esc
        self.clock = clock
        self._time = time_source
        self._context = context
        self._width = 64 if esc.identity.features.dc_64bit else 32
        self._mask = (1 << self._width) - 1
        self._loop = TimeControlLoop()
        self._sof_sim = time_source()
        self._sof_local = clock.read(self._sof_sim)
        self._latch = False
        self._received: Optional[int] = None
        self._schedule: Optional[_Schedule] = None
        self._acknowledged = [0, 0]

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
        self._write_system_time_view()

    def __repr__(self) -> str:
        return f"<DcUnit of {self.esc!r}, drift {self.clock.spec.drift_ppm:+.3f} ppm>"

    # ------------------------------------------------------------------- chain side
    def frame_arrived(self, sim_ns: int) -> None:
        """The start of a frame reaches the Processing Unit at simulation time ``sim_ns``:
        latch the system time and bring the time-dependent registers up to date."""
        self._sof_sim = sim_ns
        self._sof_local = self.clock.read(sim_ns)
        self._latch = False
        self._received = None
        self._write_system_time_view()
        if self._schedule is not None:
            self._write_cyclic_registers(self._sof_local + self._offset())

    def frame_done(self, port_times: Sequence[Optional[int]]) -> None:
        """The frame has passed; ``port_times`` are its reception times (simulation ns) at
        ports 0-3 (None where it was not received). Latches the receive times if a BWR/FPWR
        wrote 0x0900, and feeds a written 0x0910 to the time control loop."""
        if len(port_times) != PORT_COUNT:
            raise ValueError(f"port_times needs {PORT_COUNT} entries, got {len(port_times)}")
        esc = self.esc
        if self._latch:
            old = DcReceiveTimes.decode(esc.pdi_read(DcReceiveTimes.ADDRESS, DcReceiveTimes.SIZE))
            latched = tuple(
                old.ports[port] if at is None else self.clock.read(at) & _U32_MASK
                for port, at in enumerate(port_times)
            )
            esc.pdi_write(DcReceiveTimes.ADDRESS, DcReceiveTimes(latched).encode())  # type: ignore[arg-type]
            entry = port_times[0]
            if entry is not None:
                block = self._system_time_block()
                esc.pdi_write(DcSystemTime.ADDRESS, replace(
                    block, receive_time_processing_unit=self.clock.read(entry) & self._mask).encode())
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
            now = self._system_now(None)
            self._acknowledged[signal] = schedule.count_until(signal, now)
            self._write_cyclic_registers(now)

    # --------------------------------------------------------------------- hooks
    def _latch_written(self, address: int, length: int) -> None:
        if self._context.command in _LATCH_COMMANDS:
            self._latch = True

    def _system_time_written(self, address: int, length: int) -> None:
        first = Register.DC_SYSTEM_TIME
        written = self.esc.pdi_read(first, Register.DC_SYSTEM_TIME.size)
        self._write_system_time_view()  # the register keeps the latched value for reads
        if address > first:
            return  # only a write that includes byte 0x0910 starts a comparison
        latched = ((self._sof_local + self._offset() - self._delay()) & _U32_MASK).to_bytes(4, "little")
        count = min(address + length - first, 4)  # the loop uses the lower 32 bits
        self._received = int.from_bytes(written[:count] + latched[count:], "little")

    def _speed_counter_start_written(self, address: int, length: int) -> None:
        self._loop.reset()
        self._write_loop_registers()

    def _cyclic_control_written(self, address: int, length: int) -> None:
        self._update_masks()

    def _activation_written(self, address: int, length: int) -> None:
        if self._pdi_controlled():
            return
        unit = self._cyclic_unit()
        activation = unit.activation
        if DcActivation.DEBUG_PULSE in activation:
            activation &= ~DcActivation.DEBUG_PULSE
            self.esc.pdi_write(Register.DC_ACTIVATION, bytes((int(activation),)))
        if DcActivation.CYCLIC_OPERATION not in activation:
            self._schedule = None
        elif self._schedule is None:
            self._activate(activation)
        self._update_masks()
        self._write_cyclic_registers(self._sof_local + self._offset())

    def _start_time_written(self, address: int, length: int) -> None:
        if self._schedule is not None or self._pdi_controlled():
            return  # not writable while active (0x0981.0) or when the PDI owns the unit
        activation = self._cyclic_unit().activation
        end = address + length
        low_only = end <= Register.DC_START_TIME_CYCLIC + _START_TIME_LOW_BYTES
        if low_only and activation & (DcActivation.START_TIME_EXTENSION_64BIT | DcActivation.AUTO_ACTIVATION):
            timing = self._sync_timing()
            now = self._sof_local + self._offset()
            extended = (now + ((timing.start_time - now) & _U32_MASK)) & self._mask  # next such time
            self.esc.pdi_write(Register.DC_START_TIME_CYCLIC, replace(timing, start_time=extended).encode()[:8])
        if DcActivation.AUTO_ACTIVATION in activation:
            activation |= DcActivation.CYCLIC_OPERATION
            self.esc.pdi_write(Register.DC_ACTIVATION, bytes((int(activation),)))
            self._activate(activation)
            self._update_masks()
            self._write_cyclic_registers(self._sof_local + self._offset())

    # ----------------------------------------------------------------- internals
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
        return self._system_time_block().system_time_offset & self._mask

    def _delay(self) -> int:
        return self._system_time_block().system_time_delay

    def _system_time_block(self) -> DcSystemTime:
        return DcSystemTime.decode(self.esc.pdi_read(DcSystemTime.ADDRESS, DcSystemTime.SIZE))

    def _cyclic_unit(self) -> DcCyclicUnit:
        return DcCyclicUnit.decode(self.esc.pdi_read(DcCyclicUnit.ADDRESS, DcCyclicUnit.SIZE))

    def _sync_timing(self) -> DcSyncTiming:
        return DcSyncTiming.decode(self.esc.pdi_read(DcSyncTiming.ADDRESS, DcSyncTiming.SIZE))

    def _pdi_controlled(self) -> bool:
        return DcCyclicUnitControl.SYNC_OUT_PDI_CONTROLLED in self._cyclic_unit().control

    def _write_system_time_view(self) -> None:
        block = self._system_time_block()
        view = (self._sof_local + (block.system_time_offset & self._mask) - block.system_time_delay) & self._mask
        self.esc.pdi_write(DcSystemTime.ADDRESS, replace(block, system_time=view).encode())

    def _compare(self, received: int) -> None:
        """Section I 9.1.5: dt = (local + offset - delay) - received, on the lower 32 bits."""
        latched = (self._sof_local + self._offset() - self._delay()) & _U32_MASK
        raw = (latched - received) & _U32_MASK
        difference = raw - (1 << 32) if raw & _I32_SIGN else raw
        loop = DcControlLoop.decode(self.esc.pdi_read(DcControlLoop.ADDRESS, DcControlLoop.SIZE))
        correction = self._loop.update(difference, self._sof_local, loop.speed_counter_start,
                                       loop.system_time_diff_filter_depth, loop.speed_counter_filter_depth)
        self.clock.set_correction(self._sof_sim, correction)
        self._write_loop_registers()

    def _write_loop_registers(self) -> None:
        esc = self.esc
        block = self._system_time_block()
        limit = (1 << 31) - 1
        difference = max(-limit, min(limit, self._loop.mean_difference))
        esc.pdi_write(DcSystemTime.ADDRESS, replace(block, system_time_difference=difference).encode())
        loop = DcControlLoop.decode(esc.pdi_read(DcControlLoop.ADDRESS, DcControlLoop.SIZE))
        esc.pdi_write(DcControlLoop.ADDRESS, replace(
            loop, speed_counter_diff=self._loop.speed_counter_diff(loop.speed_counter_start)).encode())

    def _activate(self, activation: DcActivation) -> None:
        timing = self._sync_timing()
        now = self._sof_local + self._offset()
        ahead = (timing.start_time - now) % (1 << self._width)
        near_future = _NEAR_FUTURE_SHORT_NS if DcActivation.NEAR_FUTURE_LONG in activation \
            else 1 << (self._width - 1)
        outside = ahead > near_future
        if outside and DcActivation.START_TIME_PLAUSIBILITY_CHECK in activation:
            ahead = 0  # immediate SyncSignal generation
        self._schedule = _Schedule(now + ahead, timing.sync0_cycle_time, timing.sync1_cycle_time, outside)
        self._acknowledged = [0, 0]

    def _enabled_schedule(self, signal: SyncSignal) -> Optional[_Schedule]:
        enable = DcActivation.SYNC0 if signal is SyncSignal.SYNC0 else DcActivation.SYNC1
        if self._schedule is None or enable not in self._cyclic_unit().activation:
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
        esc = self.esc
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
            esc.pdi_write(DcSyncTiming.ADDRESS, replace(
                timing,
                start_time=timing.start_time if next0 is None else next0 & self._mask,
                next_sync1_pulse=timing.next_sync1_pulse if next1 is None else next1 & self._mask,
            ).encode())
        esc.pdi_write(DcCyclicUnit.ADDRESS, replace(unit, activation_status=status).encode())
        esc.pdi_write(Register.DC_SYNC0_STATUS, bytes(sync_status))
