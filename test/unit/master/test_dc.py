"""Distributed clocks in the master against the simulator: propagation delays against the
topology's true arrival times (lines and trees with branches through junctions), offsets that
put every clock on the master's time base, lock within 2 s with clocks drifting +/-100 ppm in
both modes, SYNC0 start times aligned to the cycle, drives in CSP running on SYNC0, and a sync
loss detected, reported and recovered. Time is simulated (``ManualTime``): the assertions are
about bus time, never about the host's timing."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.config.network import DcMode
from ethercat_master.errors import ConfigError
from ethercat_master.master.al import read_states, request_states
from ethercat_master.master.bus import Request
from ethercat_master.master.cyclic import CycleThread, CyclicExchange, RealtimeOptions, apply_realtime, combine_idle
from ethercat_master.master.dc import (
    DcController,
    DcNode,
    ReceiveTimes,
    choose_reference,
    compute_delays,
    decode_system_time_difference,
    previous_port,
    sync_start_time,
)
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.datagram import Command, station_address
from ethercat_master.protocol.registers import Register
from ethercat_master.sim.chain_config import load_chain_config
from ethercat_master.sim.dc import ClockSpec, ManualTime, SyncSignal
from ethercat_master.sim.devices.drive import SYNC_ERROR_COUNTER_LIMIT
from ethercat_master.sim.slave import build_chain
from ethercat_master.sim.topology import MASTER, Cable, PortState, SlaveTiming, Topology, route
from ethercat_master.tools.dc_soak import VirtualCycle, bring_up

ROOT = Path(__file__).resolve().parents[3]
CHAIN = ROOT / "config" / "sim_chain.yaml"
PERIOD = 1_000_000
DRIVES = (4, 5, 6, 7)
CSP = 8
U64 = struct.Struct("<Q")


# ------------------------------------------------------------------ delays, pure
@st.composite
def trees(draw):
    """A random tree of 1-12 slaves (parents on free ports 1-3), random cable delays, and one
    processing = forwarding delay for all (the symmetry every master assumes)."""
    count = draw(st.integers(1, 12))
    free = {0: [1, 2, 3]}
    links = []
    for child in range(1, count):
        parents = [p for p, ports in free.items() if ports]
        parent = draw(st.sampled_from(parents))
        port = draw(st.sampled_from(free[parent]))
        free[parent].remove(port)
        free[child] = [1, 2, 3]
        links.append(Cable(parent, port, child, draw(st.integers(0, 5000))))
    topology = Topology(count, links, master_delay_ns=draw(st.integers(0, 5000)))
    delay = draw(st.integers(0, 2000))
    return topology, SlaveTiming(delay, delay)


def _nodes_from_route(topology: Topology, timing: SlaveTiming, base: int = 0):
    """What the master would read after a latch: each slave's receive times (local clocks =
    ``base`` + simulation time, wrapped to 32 bits) by processing position."""
    path = route(topology, [timing] * topology.count,
                 lambda s, p: PortState.OPEN if topology.neighbour(s, p) is not None else PortState.CLOSED, True)
    position = {slave: n for n, slave in enumerate(path.order)}
    nodes = []
    for slave in path.order:
        times = path.port_times(slave)
        ports = tuple(0 if t is None else (base + t) & 0xFFFF_FFFF for t in times)
        link = topology.upstream(slave)
        nodes.append(DcNode(position[slave], None if link.parent == MASTER else position[link.parent],
                            None if link.parent == MASTER else link.port,
                            frozenset(p for p, t in enumerate(times) if t is not None), True,
                            ReceiveTimes(ports, base + times[0])))
    arrivals = {position[s]: path.port_times(s)[0] for s in path.order}
    return nodes, arrivals


@settings(max_examples=200, deadline=None)
@given(trees(), st.integers(0, (1 << 32) - 1))
def test_delays_equal_the_true_arrival_differences_in_any_tree(tree, base):
    topology, timing = tree
    nodes, arrivals = _nodes_from_route(topology, timing, base)
    delays = compute_delays(nodes)
    assert delays == {p: arrivals[p] - arrivals[0] for p in arrivals}


@settings(max_examples=100, deadline=None)
@given(trees())
def test_parent_port_unknown_falls_back_to_port_order(tree):
    topology, timing = tree
    nodes, arrivals = _nodes_from_route(topology, timing)
    anonymous = [DcNode(n.position, n.parent, None, n.open_ports, True, n.times) for n in nodes]
    assert compute_delays(anonymous) == compute_delays(nodes)


def test_a_branch_behind_a_junction_takes_the_earlier_subtrees_into_account():
    # junction 0 with a 3-slave line on port 3, a slave on port 1 and one on port 2
    topology = Topology(6, [Cable(0, 3, 1, 100), Cable(1, 1, 2, 100), Cable(2, 1, 3, 100),
                            Cable(0, 1, 4, 100), Cable(0, 2, 5, 100)], master_delay_ns=100)
    nodes, arrivals = _nodes_from_route(topology, SlaveTiming(300, 300))
    delays = compute_delays(nodes)
    # the slave on port 2 is reached after the frame went round both other branches
    assert delays[5] == arrivals[5] - arrivals[0] > delays[4] > delays[3]
    assert delays == {p: arrivals[p] - arrivals[0] for p in arrivals}


def test_slaves_without_dc_are_passed_through():
    topology = Topology.line(4, delay_ns=200)
    nodes, arrivals = _nodes_from_route(topology, SlaveTiming(300, 300))
    nodes[1] = DcNode(1, 0, 1, nodes[1].open_ports, False, None)  # slave 1 has no DC
    delays = compute_delays(nodes)
    assert 1 not in delays
    # its delay is inside slave 0's loop time minus slave 2's: still the true arrival difference
    assert delays[2] == arrivals[2] - arrivals[0] and delays[3] == arrivals[3] - arrivals[0]


def _soem_prevport(port: int, active: frozenset) -> int:
    """SOEM's ecx_prevport, transcribed from its switch statement."""
    table = {0: (2, 1, 3), 1: (3, 0, 2), 2: (1, 3, 0), 3: (0, 2, 1)}
    return next((p for p in table[port] if p in active), port)


@given(st.sampled_from([0, 1, 2, 3]), st.sets(st.sampled_from([0, 1, 2, 3])))
def test_previous_port_walks_the_processing_order_backwards(port, others):
    open_ports = frozenset(others | {port})
    assert previous_port(open_ports, port) == _soem_prevport(port, open_ports)


@given(st.integers(0, 0xFFFF_FFFF))
def test_system_time_difference_is_sign_and_magnitude(raw):
    value = decode_system_time_difference(raw)
    assert abs(value) == raw & 0x7FFF_FFFF
    assert (value < 0) == (bool(raw >> 31) and raw & 0x7FFF_FFFF != 0)


@given(st.integers(0, 1 << 62), st.integers(1, 10_000_000), st.integers(-500_000, 500_000),
       st.integers(0, 1_000_000_000))
def test_sync_start_time_is_aligned_to_the_cycle_plus_shift(now, cycle, shift, delay):
    start = sync_start_time(now, cycle, shift, delay)
    assert (start - shift) % cycle == 0
    assert now + delay < start - shift <= now + delay + cycle


# ------------------------------------------------------------------------ simulated bus
def reference_chain(clock: ManualTime, *, drift_ppm: float = 100.0, timing=None):
    """config/sim_chain.yaml (an EK1100 junction: E-bus terminals on port 1, drives on port 2)
    with clocks at +/-drift_ppm."""
    config = load_chain_config(CHAIN)
    drifts = [drift_ppm, -drift_ppm, 0.5 * drift_ppm, -0.25 * drift_ppm, -drift_ppm, 0.75 * drift_ppm,
              drift_ppm, -0.5 * drift_ppm]
    clocks = [ClockSpec(1_000_000_000 * (n + 3) + 12_345 * n, d) for n, d in enumerate(drifts)]
    return build_chain([s.model for s in config.slaves], topology=config.topology, clocks=clocks,
                       time_source=clock, timings=timing)


@pytest.fixture
def virtual():
    """Builds the reference chain on simulated time and brings it to SAFE-OP with DC."""
    opened = []

    def make(mode=DcMode.MASTER_FOLLOWS_BUS, *, timing=None, drift_ppm=100.0, drift_frames=3000, shift=0):
        clock = ManualTime(1_000_000_000)
        chain = reference_chain(clock, drift_ppm=drift_ppm, timing=timing)
        sim = bring_up(chain, period_ns=PERIOD, mode=mode, clock=clock, drift_frames=drift_frames,
                       sync0_shift_ns=shift)
        opened.append(sim)
        return sim

    yield make
    for sim in opened:
        sim.close()


def to_op(sim, jitter_ns=0, seed=3) -> VirtualCycle:
    cycle = VirtualCycle(sim, PERIOD, jitter_ns=jitter_ns, seed=seed)
    cycle.run(20)
    request_states(sim.bus, list(sim.master.slaves), ALState.OP)
    return cycle


def system_times(sim) -> list[int]:
    at = Register.DC_SYSTEM_TIME
    replies = sim.bus.exchange([Request.read(Command.FPRD, station_address(s.station_address, at), 8)
                                for s in sim.startup.slaves])
    return [U64.unpack(r.data)[0] for r in replies]


def test_startup_delays_follow_the_chain_and_offsets_share_the_master_time_base(virtual):
    sim = virtual(timing=SlaveTiming(300, 300), drift_ppm=0.0, drift_frames=0)
    chain = sim.chain
    path = chain.path()
    arrivals = {n: path.port_times(slave)[0] for n, slave in enumerate(path.order)}
    assert sim.startup.reference.position == 0
    assert sim.startup.delays == {p: arrivals[p] - arrivals[0] for p in arrivals}
    # the axes behind the coupler's port 2 come after the E-bus branch
    assert sim.startup.delays[4] > sim.startup.delays[3] > 0
    # one frame reads every copy of the system time "when the frame passed the reference"
    times = system_times(sim)
    assert len(set(times)) == 1
    assert abs(times[0] - sim.clock.now) < 10_000  # the master's time base (the latch was just now)


def test_configured_reference_must_be_the_first_dc_slave(virtual):
    sim = virtual(drift_ppm=0.0, drift_frames=0)
    slaves = list(sim.master.slaves)
    assert choose_reference(slaves, slaves[0].name).position == 0
    assert choose_reference(slaves, 0).position == 0
    with pytest.raises(ConfigError, match="first DC slave"):
        choose_reference(slaves, 4)
    with pytest.raises(ConfigError):
        choose_reference(slaves, "no such slave")


@pytest.mark.parametrize("mode", [DcMode.MASTER_FOLLOWS_BUS, DcMode.BUS_FOLLOWS_MASTER])
def test_clocks_drifting_100_ppm_lock_within_2_s_and_hold(virtual, mode):
    sim = virtual(mode)
    cycle = to_op(sim, jitter_ns=50_000)
    cycle.run(2000)
    controller = sim.controller
    assert controller.time_to_lock_ns is not None and controller.time_to_lock_ns <= 2_000_000_000
    cycle.run(2000)
    snapshot = controller.snapshot()
    assert snapshot["schema_version"] == 1 and snapshot["kind"] == "ethercat_master.dc"
    assert snapshot["locked"] and snapshot["out_of_sync_events"] == 0
    followers = [s for s in snapshot["slaves"] if s["position"] != 0]
    assert all(s["abs_difference_ns"]["max"] < 100 for s in followers), followers
    windows = snapshot["trend"]["windows"]
    assert sum(w["samples"] for w in windows) == snapshot["monitor"]["samples"] > 300
    assert [w["start_ns"] for w in windows] == [n * snapshot["trend"]["window_ns"] for n in range(len(windows))]
    json.dumps(snapshot)
    # the drifts were really there: each follower's loop corrects its clock's drift
    for n in range(1, 8):
        rate = sim.chain.dc(n).clock.rate
        assert abs(rate - sim.chain.dc(0).clock.rate) < 1e-7
    if mode is DcMode.BUS_FOLLOWS_MASTER:
        # the reference follows the master's clock (+100 ppm corrected away)
        assert abs(sim.chain.dc(0).clock.rate - 1.0) < 1e-6
        assert abs(controller.offset_ns) < 2_000
    else:
        # the master follows the bus: it measured the reference's drift and keeps its phase
        assert controller.drift_ppm == pytest.approx(100.0, abs=1.0)
        assert abs(controller.phase_error_ns) < 200_000


def test_sync0_start_is_aligned_to_the_cycle_and_the_drives_run_csp_on_sync0(virtual):
    shift = 125_000
    sim = virtual(shift=shift)
    # every slave whose SII offers a SYNC0 operation mode: the EL3102 and the drives
    assert [s.position for s in sim.sync] == [3, *DRIVES]
    assert all((s.start_time - shift) % PERIOD == 0 for s in sim.sync)
    cycle = to_op(sim)
    cycle.run(150)  # past the first SYNC0 pulse (100 ms after the configuration)
    for position in (3, *DRIVES):
        dc = sim.chain.dc(position)
        assert dc.cyclic_active
        assert (dc.next_pulse(SyncSignal.SYNC0) - shift) % PERIOD == 0
    image = sim.exchange.image
    drives = [image.slave(p) for p in DRIVES]
    for drive in drives:
        drive.outputs.write(modes_of_operation=CSP, target_position=drive.inputs.position_actual_value)
    for controlword in (0x06, 0x07, 0x0F):
        for drive in drives:
            drive.outputs.write(controlword=controlword)
        cycle.run(10)
    assert all(d.inputs.statusword & 0x6F == 0x27 for d in drives)  # operation enabled
    start = [d.inputs.position_actual_value for d in drives]
    for step in range(1, 201):
        for drive, origin in zip(drives, start):
            drive.outputs.write(target_position=origin + 100 * step)
        cycle.run(1)
    cycle.run(5)
    for drive, origin in zip(drives, start):
        assert abs(drive.inputs.position_actual_value - (origin + 20_000)) < 500
    for position in DRIVES:
        model = sim.chain[position].application.drive
        assert model.dc_synchronised and model.trigger.value == "SYNC0"


def test_sync_loss_is_detected_reported_and_recovered(virtual):
    sim = virtual()
    cycle = to_op(sim)
    cycle.run(100)
    controller = sim.controller
    assert controller.sync_lost == [] and controller.locked
    victim = DRIVES[1]
    station = sim.startup.stations[victim]
    # a disturbance switches the drive's SYNC0 off: its SYNC0 events stop
    sim.bus.write(Command.FPWR, station_address(station, Register.DC_ACTIVATION), b"\x00")
    cycle.run(30)
    assert controller.sync_lost == [victim]
    status = controller.slaves[victim]
    assert status.al_state == "SAFEOP" and status.al_status_code == 0x002C
    events = [e for e in controller.snapshot()["events"] if e["kind"] == "sync_lost"]
    assert events and events[-1]["position"] == victim and events[-1]["al_status_code"] == 0x002C
    assert sim.chain[victim].application.drive.sync_lost or not sim.chain.dc(victim).cyclic_active
    # recovery: SYNC0 programmed again, the error acknowledged, OP requested
    assert controller.recover(sim.bus, request_state=False) == [victim]
    assert list(controller.rearmed) == [victim]  # its SYNC0 was off: programmed again
    cycle.run(150)  # past the new start time (100 ms)
    request_states(sim.bus, [s for s in sim.master.slaves if s.position == victim], ALState.OP)
    cycle.run(30)
    block = read_states(sim.bus, [s for s in sim.master.slaves if s.position == victim])[0]
    assert block.status.state is ALState.OP and not block.status.error
    assert sim.chain.dc(victim).cyclic_active
    assert not sim.chain[victim].application.drive.sync_lost
    assert controller.sync_lost == [] and controller.slaves[victim].recoveries == 1
    assert controller.snapshot()["sync_loss_events"] == 1


def test_frames_stopping_is_a_sync_error_the_master_detects_and_recovers(virtual):
    sim = virtual()
    cycle = to_op(sim)
    cycle.run(150)
    drives = {p: sim.chain[p].application for p in DRIVES}
    for application in drives.values():
        application.sync_error_counter_limit = SYNC_ERROR_COUNTER_LIMIT
    cycle.run(50)
    assert all(a.sm_event_missed == 0 for a in drives.values())
    controller = sim.controller
    cycle.stall(20 * PERIOD)  # no frames for 20 ms; SYNC0 goes on
    cycle.run(20)
    assert sorted(controller.sync_lost) == list(DRIVES)
    for position in DRIVES:
        status = controller.slaves[position]
        assert status.al_state == "SAFEOP" and status.al_status_code == 0x001A
        od = sim.chain[position].od
        assert od.get(0x1C32, 0x0B) > SYNC_ERROR_COUNTER_LIMIT and od.get(0x1C32, 0x20) is True
    assert controller.recover(sim.bus) == list(DRIVES)
    assert controller.rearmed == {}  # SYNC0 kept running: only acknowledged and back to OP
    cycle.run(50)
    blocks = read_states(sim.bus, [s for s in sim.master.slaves if s.position in DRIVES])
    assert all(b.status.state is ALState.OP and not b.status.error for b in blocks)
    assert all(a.sm_event_missed <= SYNC_ERROR_COUNTER_LIMIT for a in drives.values())
    assert controller.sync_lost == []
    assert sim.chain[DRIVES[0]].od.get(0x1C32, 0x20) is False


def test_bus_follows_master_puts_the_masters_time_into_the_cyclic_frame(virtual):
    sim = virtual(DcMode.BUS_FOLLOWS_MASTER, drift_ppm=0.0, drift_frames=0)
    ahead = 8_000
    exchange = CyclicExchange(sim.bus, sim.exchange.layout, dc_reference=sim.startup.reference.station_address,
                              dc_master_time=lambda: sim.clock.now + ahead)
    sim.clock.advance(PERIOD)
    assert exchange.exchange() and exchange.dc_fresh
    # the reference compared its own time with the master's: local copy - received = -ahead (+ cable)
    loop = sim.chain.dc(0)._loop
    assert loop.mean_difference == pytest.approx(-ahead / 16, abs=50)


# --------------------------------------------------------------------- cycle thread
class _Shifter:
    def __init__(self) -> None:
        self.calls = 0
        self.started = None
        self.samples = []

    def start(self, now_ns: int) -> None:
        self.started = now_ns

    def after_exchange(self, sent_ns: int, reference_time):
        self.calls += 1
        self.samples.append((sent_ns, reference_time))
        return 1_000


def test_cycle_thread_shifts_its_deadlines_by_what_the_clock_sync_asks(virtual):
    sim = virtual(drift_ppm=0.0, drift_frames=0)
    shifter = _Shifter()
    thread = CycleThread(sim.exchange, 0.002, clock_sync=shifter)
    thread.start()
    end = time.monotonic() + 5
    while shifter.calls < 10 and time.monotonic() < end:
        time.sleep(0.01)
    thread.stop()
    assert shifter.started is not None and shifter.calls >= 10
    assert thread.phase_offset_ns == 1_000 * shifter.calls
    sent = [s for s, _ in shifter.samples]
    assert sent == sorted(sent) and sent[0] >= shifter.started
    assert all(r is not None for _, r in shifter.samples)  # the FRMW answered every cycle


def test_realtime_report_says_what_could_not_be_applied():
    report = apply_realtime(RealtimeOptions(interface="nosuchif0", rx_coalesce_usecs=0))
    assert any("rx interrupt coalescing" in f and "nosuchif0" in f for f in report.failed)
    assert any("PREEMPT_RT" in note for note in report.notes)
    assert "not applied" in str(report)
    with pytest.raises(ValueError):
        RealtimeOptions(rx_coalesce_usecs=0)


def test_combine_idle_hands_each_work_the_time_still_left():
    seen = []

    def slow(remaining):
        seen.append(("slow", remaining))
        time.sleep(0.02)

    def quick(remaining):
        seen.append(("quick", remaining))

    combine_idle(slow, None, quick)(0.5)
    assert [name for name, _ in seen] == ["slow", "quick"]
    assert seen[1][1] < seen[0][1] - 0.015  # the sleep was taken off
    seen.clear()
    combine_idle(slow, quick)(0.0)
    assert seen == []


def test_a_lost_cyclic_frame_brings_no_reference_time(virtual):
    sim = virtual(drift_ppm=0.0, drift_frames=0)
    exchange = sim.exchange
    sim.clock.advance(PERIOD)
    assert exchange.exchange() and exchange.dc_fresh and exchange.dc_system_time is not None
    sim.chain.power_off(0)  # the reference clock (and the way to every slave) is gone
    assert not exchange.exchange(time.monotonic() + 0.01)
    assert not exchange.dc_fresh
    controller = sim.controller
    assert controller.after_exchange(sim.clock.now, None) == 0 and controller.missing_reference == 1


@given(st.integers((1 << 32) - 20_000_000, (1 << 32) - 1) | st.integers(0, (1 << 32) - 1),
       st.lists(st.integers(1, 3_000_000), min_size=1, max_size=50))
@settings(max_examples=50, deadline=None)
def test_a_32_bit_reference_clock_is_unwrapped_across_its_wrap(start, steps):
    from ethercat_master.master.dc import DcSlave, DcStartup

    reference = DcSlave(0, 0x1001, "ref", 0, 0, 0, True, dc_64bit=False)
    controller = DcController(DcStartup(reference, (reference,), 0, 0), 1_000_000, time_source=lambda: 0,
                              host_clock=lambda: 0)
    true_time = start
    base = ((start + steps[0]) >> 32) << 32  # the wraps before the first reading
    for step in steps:
        true_time += step
        controller.after_exchange(true_time, true_time & 0xFFFF_FFFF)
        # the phase error is that of the unwrapped time: no jump at 2**32
        expected = (true_time - base - controller.send_phase_ns) % 1_000_000
        expected -= 1_000_000 if expected >= 500_000 else 0
        assert controller.phase_error_ns == expected
