"""Cia402Drive with the real master against the in-process simulator: the reference chain
(config/sim_chain.yaml, drives at positions 4-7) in OP, the drives stepped in the cycle
thread's on_cycle; the simulated drive's own state is the judge. No timing assertions: every
wait is for a condition, with a generous limit."""

from __future__ import annotations

import itertools
import math
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from ethercat_master.config.network import DriveSettings, DriveUnit
from ethercat_master.devices import (
    Cia402Drive,
    Cia402State,
    DriveEventKind,
    DriveFaultError,
    DriveScaling,
    DriveStateError,
    DriveTimeout,
    HomingError,
    OperationMode,
)
from ethercat_master.master.al import request_states
from ethercat_master.master.cyclic import CycleThread, CyclicExchange
from ethercat_master.master.master import Master
from ethercat_master.master.pdo_mapping import configure_process_data
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.coe import DataType
from ethercat_master.sim import ChainServer, SlaveChain, load_chain
from ethercat_master.transport import InProcessLink

ROOT = Path(__file__).resolve().parents[3]
CHAIN = ROOT / "config" / "sim_chain.yaml"
DRIVES = (4, 5, 6, 7)
PERIOD = 0.002
CPR = 131072
SCALING = DriveScaling.from_settings(DriveSettings("joint", DriveUnit.RAD, CPR / (2 * math.pi)))
TIMEOUT = 10.0
WATCHDOG_TIME_PROCESS_DATA = 0x0420
#: Counts a held axis may drift (the simulated motor at rest does not move at all).
HOLD_BOUND = 2


class Segment:
    """A simulated chain served on an in-process link, scanned and in PRE-OP (as in
    test/unit/master/test_cyclic.py)."""

    def __init__(self, chain: SlaveChain) -> None:
        self.chain = chain
        self.link, sim_end = InProcessLink.pair()
        self.server = ChainServer(chain, sim_end, poll_interval=0.005).start()
        self.master = Master(self.link, bus_timeout=0.5)
        self.master.scan()
        self.master.request_state("PREOP")
        self.bus = self.master.bus
        self.slaves = list(self.master.slaves)
        self.coe = {s.position: self.master.coe(s.position) for s in self.slaves if s.has_coe}

    def configure(self) -> None:
        # Other engineers' tests share the 2 cores: a stalled cycle thread must not take the
        # drives to SAFE-OP through their process data watchdog (0x0420 = 0 disables it); the
        # drive layer is under test here, not the watchdog.
        for position in DRIVES:
            self.master.write_register(WATCHDOG_TIME_PROCESS_DATA, bytes(2), position=position)
        self.layout = configure_process_data(self.bus, self.slaves, self.coe)
        request_states(self.bus, self.slaves, ALState.SAFEOP)

    def close(self) -> None:
        self.server.stop()


def wait_for(condition, timeout: float = TIMEOUT, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"{what} not reached within {timeout} s"
        time.sleep(0.005)


class Stepper:
    """The on_cycle: steps the registered drives, then runs the registered probes."""

    def __init__(self) -> None:
        self.drives: list[Cia402Drive] = []
        self.probes: list = []
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            drives, probes = list(self.drives), list(self.probes)
        for drive in drives:
            drive.update()
        for probe in probes:
            probe()


@pytest.fixture(scope="module")
def running():
    seg = Segment(load_chain(CHAIN).chain)
    seg.configure()
    exchange = CyclicExchange(seg.bus, seg.layout)
    stepper = Stepper()
    thread = CycleThread(exchange, PERIOD, on_cycle=stepper)
    thread.start()
    try:
        request_states(seg.bus, seg.slaves, ALState.OP)
        yield SimpleNamespace(segment=seg, exchange=exchange, image=exchange.image, stepper=stepper)
    finally:
        try:
            thread.stop()
        finally:
            seg.close()


class Axis:
    """One simulated drive, seen from the simulator (read under the chain's lock)."""

    def __init__(self, chain: SlaveChain, position: int):
        self.chain = chain
        self.model = chain[position].application.drive
        self.od = chain[position].od

    def read(self):
        with self.chain.lock:
            motor = self.model._motor
            return SimpleNamespace(state=self.model.state.value, target=self.od.get(0x607A, 0),
                                   position=self.od.get(0x6064, 0), velocity=motor.velocity,
                                   statusword=self.od.get(0x6041, 0), mode=self.model.mode)

    def inject_fault(self, code: int, persistent: bool = False) -> None:
        with self.chain.lock:
            self.model.inject_fault(code, persistent=persistent)

    def clear_fault_cause(self, code: int) -> None:
        with self.chain.lock:
            self.model.clear_fault_cause(code)


_NEXT_DRIVE = itertools.cycle(DRIVES)


@pytest.fixture
def axis(running):
    """A fresh Cia402Drive on one of the simulated drives (each test takes the next), stepped
    every cycle; afterwards the drive is disabled, its faults reset."""
    position = next(_NEXT_DRIVE)
    segment = running.segment
    request_states(segment.bus, [segment.slaves[position]], ALState.OP)  # back to OP if it dropped out
    drive = Cia402Drive(running.image, position, joint=f"joint{position}", scaling=SCALING,
                        sdo=running.segment.coe[position])
    sim = Axis(running.segment.chain, position)
    with running.stepper.lock:
        running.stepper.drives.append(drive)
    try:
        wait_for(lambda: drive.status.cycle > 2, what="the drive stepped")
        if drive.state in (Cia402State.FAULT, Cia402State.FAULT_REACTION_ACTIVE):
            drive.fault_reset(TIMEOUT)
        drive.disable(TIMEOUT)
        wait_for(lambda: sim.read().velocity == 0.0, what="the motor at rest")
        drive.set_mode(OperationMode.CSP, TIMEOUT)
        drive.events()
        yield SimpleNamespace(drive=drive, sim=sim, position=position)
    finally:
        with running.stepper.lock:
            running.stepper.probes.clear()
        try:
            for code in (0x2310, 0x4210):
                try:
                    sim.clear_fault_cause(code)
                except KeyError:
                    pass
            if drive.state in (Cia402State.FAULT, Cia402State.FAULT_REACTION_ACTIVE):
                drive.fault_reset(TIMEOUT)
            drive.disable(TIMEOUT)
        finally:
            with running.stepper.lock:
                running.stepper.drives.remove(drive)


# -------------------------------------------------------------------------- safe enable
def test_enable_holds_the_axis_where_it_is_even_over_a_stale_target(running, axis):
    drive, sim = axis.drive, axis.sim
    stale = sim.read().position + CPR // 2  # half a revolution away: a real jump if taken
    # Another writer leaves a stale target in the drive (the drive object is not stepping now).
    with running.stepper.lock:
        running.stepper.drives.remove(drive)
    try:
        running.image.slave(axis.position).outputs.write(target_position=stale, controlword=0)
        wait_for(lambda: sim.read().target == stale, what="the stale target in the simulated drive")
    finally:
        with running.stepper.lock:
            running.stepper.drives.append(drive)
    samples = []
    with running.stepper.lock:
        running.stepper.probes.append(lambda: samples.append(sim.read()))
    start = sim.read().position
    drive.enable(TIMEOUT)
    wait_for(lambda: len(samples) > 20 and drive.state is Cia402State.OPERATION_ENABLED, what="cycles enabled")
    enabled = [s for s in samples if s.state == "Operation enabled"]
    assert enabled, "the simulated drive was never seen enabled"
    assert all(abs(s.target - s.position) <= HOLD_BOUND for s in enabled), "the target jumped"
    assert all(abs(s.position - start) <= HOLD_BOUND for s in samples), "the axis moved"
    assert all(s.state != "Fault" for s in samples)
    assert abs(drive.position - SCALING.position(start)) <= SCALING.position(HOLD_BOUND)


def test_commands_before_the_drive_is_enabled_are_dropped(axis):
    drive = axis.drive
    assert drive.command(position=1.0) is False
    assert drive.rejected_commands == 1
    drive.enable(TIMEOUT)
    here = drive.position
    assert drive.command(position=here) is True


# --------------------------------------------------------------------------------- modes
def test_csp_follows_a_moving_target(axis):
    drive, sim = axis.drive, axis.sim
    drive.enable(TIMEOUT)
    start = drive.position
    step = 0.002  # rad per command
    for k in range(1, 151):
        assert drive.command(position=start + k * step)
        time.sleep(PERIOD)
    final = SCALING.position_counts(start + 150 * step)
    wait_for(lambda: abs(sim.read().position - final) <= 2, what="the simulated motor at the last target")
    wait_for(lambda: abs(drive.position - (start + 150 * step)) < 1e-3, what="the position read back")
    assert drive.fault is None


def test_csv_turns_the_motor(axis):
    drive, sim = axis.drive, axis.sim
    drive.set_mode(OperationMode.CSV, TIMEOUT)
    drive.enable(TIMEOUT)
    before = sim.read().position
    assert drive.command(velocity=2 * math.pi)  # one revolution per second
    wait_for(lambda: abs(sim.read().velocity - CPR) < 1, what="the motor at 1 rev/s")
    wait_for(lambda: drive.velocity is not None and abs(drive.velocity - 2 * math.pi) < 1e-3,
             what="the velocity read back")
    assert sim.read().position > before
    drive.command(velocity=0.0)
    wait_for(lambda: sim.read().velocity == 0.0, what="the motor stopped")


def test_cst_accelerates_the_motor(axis):
    drive, sim = axis.drive, axis.sim
    drive.set_mode(OperationMode.CST, TIMEOUT)
    drive.enable(TIMEOUT)
    assert drive.command(torque=0.05)  # 50 per mille of the rated torque
    wait_for(lambda: sim.read().velocity > CPR / 4, what="the motor accelerated")
    wait_for(lambda: drive.effort is not None and abs(drive.effort - 0.05) < 1e-9, what="the torque read back")
    drive.command(torque=0.0)
    drive.disable(TIMEOUT)


def test_pp_moves_to_each_new_set_point(axis):
    drive, sim = axis.drive, axis.sim
    drive.set_mode(OperationMode.PP, TIMEOUT)
    drive.enable(TIMEOUT)
    start = drive.position
    for offset in (0.5, -0.25):
        target = SCALING.position_counts(start + offset)
        assert drive.command(position=start + offset)
        wait_for(lambda: abs(sim.read().position - target) <= 2 and drive.status.mode_status.target_reached,
                 what=f"the motor at {offset} rad")
    assert drive.fault is None


def test_pv_turns_the_motor(axis):
    drive, sim = axis.drive, axis.sim
    drive.set_mode(OperationMode.PV, TIMEOUT)
    drive.enable(TIMEOUT)
    assert drive.command(velocity=-math.pi)
    wait_for(lambda: abs(sim.read().velocity + CPR / 2) < 1, what="the motor at -0.5 rev/s")
    drive.command(velocity=0.0)
    wait_for(lambda: sim.read().velocity == 0.0, what="the motor stopped")


def test_a_mode_change_while_enabled_holds_the_axis(axis):
    drive, sim = axis.drive, axis.sim
    drive.set_mode(OperationMode.CSV, TIMEOUT)
    drive.enable(TIMEOUT)
    drive.command(velocity=1.0)
    wait_for(lambda: sim.read().velocity > 0, what="moving")
    drive.command(velocity=0.0)
    wait_for(lambda: sim.read().velocity == 0.0, what="stopped")
    here = sim.read().position
    drive.set_mode(OperationMode.CSP, TIMEOUT)
    assert sim.read().mode == OperationMode.CSP
    assert abs(sim.read().target - here) <= HOLD_BOUND
    assert abs(sim.read().position - here) <= HOLD_BOUND


def test_an_unsupported_mode_times_out_naming_the_mode(axis):
    # The simulated drive has no profile torque: 0x6061 never shows it.
    with pytest.raises(DriveTimeout, match="0x6061 to show mode 4"):
        axis.drive.set_mode(OperationMode.PT, 0.3)


# -------------------------------------------------------------------------------- homing
def test_homing_on_the_current_position_completes_and_restores_the_mode(running, axis):
    drive, sim = axis.drive, axis.sim
    running.segment.coe[axis.position].write(0x607C, 0, 1000, DataType.INTEGER32)  # home offset
    drive.enable(TIMEOUT)
    drive.home(method=37, timeout=TIMEOUT)
    assert sim.read().position == 1000  # the current position became the home offset
    wait_for(lambda: drive.mode == OperationMode.CSP, what="CSP restored")
    assert drive.state is Cia402State.OPERATION_ENABLED
    assert abs(sim.read().target - 1000) <= HOLD_BOUND  # the restored CSP holds the homed axis


def test_homing_reports_the_drives_homing_error(axis):
    drive = axis.drive
    drive.enable(TIMEOUT)
    with pytest.raises(HomingError, match="homing error"):
        drive.home(method=0, timeout=TIMEOUT)  # method 0: no homing method, the drive reports an error


def test_homing_needs_an_enabled_drive(axis):
    with pytest.raises(DriveStateError, match="enable first"):
        axis.drive.home(method=37)


# ------------------------------------------------------------------------ faults, stops
def test_a_fault_is_seen_and_cleared_by_fault_reset(axis):
    drive, sim = axis.drive, axis.sim
    drive.enable(TIMEOUT)
    sim.inject_fault(0x2310)
    wait_for(lambda: drive.state is Cia402State.FAULT, what="the fault seen")
    assert drive.fault is not None
    kinds = [event.kind for event in drive.events()]
    assert DriveEventKind.FAULT in kinds and DriveEventKind.OPERATION_LOST in kinds
    with pytest.raises(DriveFaultError, match="fault_reset first"):
        drive.enable(TIMEOUT)
    drive.fault_reset(TIMEOUT)
    assert drive.state is Cia402State.SWITCH_ON_DISABLED
    assert sim.read().state == "Switch on disabled"
    assert drive.fault is None and drive.last_fault is not None
    assert DriveEventKind.FAULT_CLEARED in [event.kind for event in drive.events()]
    drive.enable(TIMEOUT)


def test_a_persistent_fault_keeps_fault_reset_waiting_until_its_cause_is_gone(axis):
    drive, sim = axis.drive, axis.sim
    sim.inject_fault(0x4210, persistent=True)
    wait_for(lambda: drive.state is Cia402State.FAULT, what="the fault seen")
    with pytest.raises(DriveTimeout) as caught:
        drive.fault_reset(0.3)
    assert caught.value.state is Cia402State.FAULT
    assert "Fault" in str(caught.value) and "statusword 0x" in str(caught.value)
    assert axis.drive.name in str(caught.value)
    sim.clear_fault_cause(0x4210)
    drive.fault_reset(TIMEOUT)
    assert drive.state is Cia402State.SWITCH_ON_DISABLED


def test_quick_stop_stops_the_motor(axis):
    drive, sim = axis.drive, axis.sim
    drive.set_mode(OperationMode.CSV, TIMEOUT)
    drive.enable(TIMEOUT)
    drive.command(velocity=4 * math.pi)
    wait_for(lambda: sim.read().velocity >= CPR * 2 - 1, what="the motor at 2 rev/s")
    drive.quick_stop(TIMEOUT)
    assert sim.read().velocity == 0.0
    # the simulated drive's default quick stop option (2) ends in switch on disabled
    wait_for(lambda: drive.state is Cia402State.SWITCH_ON_DISABLED, what="switch on disabled")
    assert drive.command(velocity=1.0) is False  # no longer enabled: nothing moves


def test_the_following_error_event_fires_when_the_target_is_moved_too_far(axis):
    drive = axis.drive
    drive.set_following_error_window(0.01)
    drive.enable(TIMEOUT)
    assert not [e for e in drive.events() if e.kind is DriveEventKind.FOLLOWING_ERROR]
    seen = threading.Event()
    drive.add_listener(lambda event: seen.set() if event.kind is DriveEventKind.FOLLOWING_ERROR else None)
    drive.command(position=drive.position + 0.3)
    assert seen.wait(TIMEOUT)
    events = drive.events()
    error = next(e for e in events if e.kind is DriveEventKind.FOLLOWING_ERROR)
    assert error.value is not None and error.value > 0.01
    wait_for(lambda: any(e.kind is DriveEventKind.FOLLOWING_ERROR_CLEARED for e in drive.events()),
             what="the axis back within the window")
    assert drive.fault is None


def test_disable_switches_the_power_stage_off(axis):
    drive, sim = axis.drive, axis.sim
    drive.enable(TIMEOUT)
    assert sim.read().state == "Operation enabled"
    drive.disable(TIMEOUT)
    assert drive.state is Cia402State.SWITCH_ON_DISABLED
    assert sim.read().state == "Switch on disabled"
