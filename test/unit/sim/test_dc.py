"""Distributed clocks of the simulated chain: receive time latching with known delays, the
system time read view, the time control loop driven by a master-like loop written here, and the
SYNC0/SYNC1 cyclic unit. Expected values are worked out by hand from the ESC documents."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.protocol.datagram import Command, Datagram, position_address, station_address
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.registers import (
    DcActivation,
    DcActivationStatus,
    DcControlLoop,
    DcCyclicUnit,
    DcReceiveTimes,
    DcSyncTiming,
    DlControl,
    EscFeature,
    LoopPortControl,
    PortType,
    Register,
)
from ethercat_master.sim import Esc
from ethercat_master.sim.chain import SlaveChain
from ethercat_master.sim.dc import ClockSpec, LocalClock, ManualTime, SyncSignal, TimeControlLoop
from ethercat_master.sim.topology import Cable, SlaveTiming, Topology

U16, U32, U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")
TIMING = SlaveTiming(processing_delay_ns=300, forwarding_delay_ns=200)
STATION = 0x1001


def run(chain: SlaveChain, *datagrams: Datagram) -> tuple[Datagram, ...]:
    reply = chain.process(Frame(datagrams).encode())
    assert reply is not None
    return Frame.decode(reply).datagrams


def fpwr(position: int, register: int, data: bytes) -> Datagram:
    return Datagram(Command.FPWR, 0, station_address(STATION + position, register), data)


def fprd(position: int, register: int, length: int) -> Datagram:
    return Datagram(Command.FPRD, 0, station_address(STATION + position, register), bytes(length))


def read(chain: SlaveChain, position: int, register: int, length: int) -> bytes:
    (reply,) = run(chain, fprd(position, register, length))
    assert reply.wkc == 1
    return reply.data


def assign_stations(chain: SlaveChain) -> None:
    run(chain, *(Datagram(Command.APWR, 0, position_address(i, Register.CONFIGURED_STATION_ADDRESS),
                          U16.pack(STATION + i)) for i in range(len(chain))))


def difference(chain: SlaveChain, position: int) -> int:
    """0x092C per Section II: bit 31 set when the local copy is smaller than the received time."""
    (raw,) = U32.unpack(read(chain, position, Register.DC_SYSTEM_TIME_DIFFERENCE, 4))
    magnitude = raw & 0x7FFF_FFFF
    return -magnitude if raw & 0x8000_0000 else magnitude


def latch(chain: SlaveChain) -> None:
    (reply,) = run(chain, Datagram(Command.BWR, 0, Register.DC_RECEIVE_TIME_PORT0 << 16, bytes(4)))
    assert reply.wkc == len(chain.processing_order)


def receive_times(chain: SlaveChain, position: int) -> tuple[tuple[int, ...], int]:
    ports = DcReceiveTimes.decode(read(chain, position, DcReceiveTimes.ADDRESS, DcReceiveTimes.SIZE)).ports
    (unit,) = U64.unpack(read(chain, position, Register.DC_RECEIVE_TIME_PROCESSING_UNIT, 8))
    return ports, unit


# ------------------------------------------------------------------------ local clock
@settings(max_examples=100, deadline=None)
@given(drift=st.floats(-100.0, 100.0), steps=st.lists(st.tuples(st.integers(0, 10**9), st.floats(-1e-3, 1e-3)),
                                                      min_size=1, max_size=8))
def test_local_clock_is_continuous_and_follows_its_rate(drift, steps):
    clock = LocalClock(ClockSpec(initial_ns=1234, drift_ppm=drift), power_on_ns=500)
    now = 500
    for elapsed, correction in steps:
        before = clock.read(now)
        now += elapsed
        expected = before + elapsed * clock.rate
        assert abs(clock.read(now) - expected) <= 1.0
        clock.set_correction(now, correction)
        assert abs(clock.read(now) - round(expected)) <= 1  # no jump at a change of rate
        assert abs(clock.sim_time_at(clock.read(now) + 10**6) - (now + 10**6 / clock.rate)) <= 1


# ------------------------------------------------------------------ receive times
def _line(time: ManualTime) -> SlaveChain:
    # power-on at 5000 ns with local times 1000, 2000, 3000 ns; no drift; 100 ns cables
    clocks = [ClockSpec(initial_ns=1000 * (i + 1)) for i in range(3)]
    return SlaveChain([Esc() for _ in range(3)], Topology.line(3, delay_ns=100), timings=TIMING,
                      clocks=clocks, time_source=time)


def test_bwr_0x0900_latches_every_port_of_a_line():
    time = ManualTime(5000)
    chain = _line(time)
    assign_stations(chain)
    time.set(10_000)
    latch(chain)
    # frame leaves at 10000: 0.p0 10100, 1.p0 10500, 2.p0 10900; 2 leaves 11200;
    # 1.p1 11300, 1 leaves 11500; 0.p1 11600. Local = initial + (t - 5000).
    assert receive_times(chain, 0) == ((6100, 7600, 0, 0), 6100)
    assert receive_times(chain, 1) == ((7500, 8300, 0, 0), 7500)
    assert receive_times(chain, 2) == ((8900, 0, 0, 0), 8900)  # closed port 1: nothing received


def test_receive_times_cannot_be_read_in_the_frame_that_latches():
    time = ManualTime(5000)
    chain = _line(time)
    assign_stations(chain)
    _, same_frame = run(chain, Datagram(Command.BWR, 0, Register.DC_RECEIVE_TIME_PORT0 << 16, bytes(4)),
                        fprd(0, Register.DC_RECEIVE_TIME_PORT0, 4))
    assert same_frame.data == bytes(4)
    assert read(chain, 0, Register.DC_RECEIVE_TIME_PORT0, 4) == U32.pack(1100)


def test_only_bwr_and_fpwr_latch_and_fpwr_only_its_slave():
    time = ManualTime(5000)
    chain = _line(time)
    assign_stations(chain)
    run(chain, Datagram(Command.APWR, 0, position_address(0, Register.DC_RECEIVE_TIME_PORT0), bytes(4)))
    assert receive_times(chain, 0) == ((0, 0, 0, 0), 0)
    time.set(7000)
    run(chain, fpwr(1, Register.DC_RECEIVE_TIME_PORT0, bytes(4)))
    assert receive_times(chain, 0)[1] == 0
    assert receive_times(chain, 1)[1] == 2000 + (7000 + 500 - 5000)
    assert receive_times(chain, 2)[1] == 0


def test_branch_receive_times_follow_port_order_0_3_1_2():
    # coupler 0 (ports 0, 1, 3): terminal 1 on port 3 over 20 ns of E-bus, coupler 2 on port 1
    # over 50 ns; master cable 10 ns; all clocks start at 0 at time 0
    topology = Topology(3, [Cable(0, 3, 1, 20), Cable(0, 1, 2, 50)], master_delay_ns=10)
    escs = [Esc(ports=(PortType.MII, PortType.MII, PortType.NOT_IMPLEMENTED, PortType.EBUS)),
            Esc(ports=(PortType.EBUS, PortType.EBUS, PortType.NOT_IMPLEMENTED, PortType.NOT_IMPLEMENTED)),
            Esc()]
    time = ManualTime(0)
    chain = SlaveChain(escs, topology, timings=TIMING, clocks=[ClockSpec()] * 3, time_source=time)
    assign_stations(chain)
    latch(chain)
    # 0.p0 10 -> out port 3 at 310 -> 1.p0 330 -> 1 leaves 630 -> 0.p3 650 -> out port 1 at 850
    # -> 2.p0 900 -> 2 leaves 1200 -> 0.p1 1250
    assert receive_times(chain, 0) == ((10, 1250, 0, 650), 10)
    assert receive_times(chain, 1) == ((330, 0, 0, 0), 330)
    assert receive_times(chain, 2) == ((900, 0, 0, 0), 900)


# ------------------------------------------------------------------- system time
def test_ecat_read_of_system_time_is_local_plus_offset_minus_delay_at_frame_start():
    time = ManualTime(5000)
    chain = _line(time)
    assign_stations(chain)
    run(chain, fpwr(1, Register.DC_SYSTEM_TIME_OFFSET, U64.pack(1_000_000)),
        fpwr(1, Register.DC_SYSTEM_TIME_DELAY, U32.pack(300)))
    time.set(20_000)
    (system_time,) = U64.unpack(read(chain, 1, Register.DC_SYSTEM_TIME, 8))
    # slave 1's frame start at 20000 + 500; local 2000 + 15500; + offset - delay
    assert system_time == 17_500 + 1_000_000 - 300
    assert chain.dc(1).system_time(20_500) == 17_500 + 1_000_000  # the application's view has no delay


def test_32_bit_clock_keeps_the_upper_half_zero():
    time = ManualTime(0)
    esc = Esc(features=EscFeature.DISTRIBUTED_CLOCKS)
    chain = SlaveChain([esc], clocks=[ClockSpec(initial_ns=(1 << 32) - 100)], time_source=time)
    assign_stations(chain)
    time.set(1000)
    (value,) = U64.unpack(read(chain, 0, Register.DC_SYSTEM_TIME, 8))
    assert value == ((1 << 32) - 100 + 1000 + 250) & 0xFFFF_FFFF


def test_difference_sign_follows_the_datasheet():
    time = ManualTime(0)
    chain = SlaveChain([Esc(), Esc()], timings=TIMING, clocks=[ClockSpec(), ClockSpec()], time_source=time)
    assign_stations(chain)
    time.set(10_000)
    # local copy of slave 1 at its frame start: 10000 + 250 + 300 + 250 = 10800
    run(chain, fpwr(1, Register.DC_SYSTEM_TIME, U64.pack(10_000)))
    assert difference(chain, 1) == round(800 / 16)  # local ahead: sign bit clear; filter depth 4 (mean)
    run(chain, Datagram(Command.BWR, 0, Register.DC_SPEED_COUNTER_START << 16, U16.pack(0x1000)))
    assert difference(chain, 1) == 0  # a write to the speed counter start resets it
    run(chain, Datagram(Command.BWR, 0, Register.DC_SYSTEM_TIME_DIFF_FILTER_DEPTH << 16, b"\x00"))
    time.set(20_000)
    run(chain, fpwr(1, Register.DC_SYSTEM_TIME, U32.pack(30_000)))  # received ahead of local copy
    assert difference(chain, 1) == 20_800 - 30_000  # sign bit set: local copy smaller


def test_control_loop_registers_start_at_their_reset_values():
    chain = SlaveChain([Esc()], time_source=ManualTime(0))
    assign_stations(chain)
    loop = DcControlLoop.decode(read(chain, 0, DcControlLoop.ADDRESS, DcControlLoop.SIZE))
    assert loop == DcControlLoop(0x1000, 0, 4, 12)


# ------------------------------------------------------------- a master's DC loop
def _configure_like_a_master(chain: SlaveChain, master_time: int) -> list[int]:
    """Latch receive times, compute the line's delays and each slave's offset, write them, and
    reset the loop filters. Returns the delays."""
    count = len(chain)
    latch(chain)
    times = [receive_times(chain, i) for i in range(count)]
    # round trip behind each slave: port 1 time - port 0 time (0 for the last one)
    behind = [((ports[1] - ports[0]) & 0xFFFF_FFFF) if i < count - 1 else 0 for i, (ports, _) in enumerate(times)]
    delays = [0]
    for i in range(1, count):
        delays.append(delays[-1] + (behind[i - 1] - behind[i]) // 2)
    for i, (_, unit_time) in enumerate(times):
        offset = (master_time + delays[i] - unit_time) & (2**64 - 1)
        run(chain, fpwr(i, Register.DC_SYSTEM_TIME_OFFSET, U64.pack(offset)),
            fpwr(i, Register.DC_SYSTEM_TIME_DELAY, U32.pack(delays[i])))
    run(chain, Datagram(Command.BWR, 0, Register.DC_SPEED_COUNTER_START << 16, U16.pack(0x1000)))
    return delays


@pytest.mark.parametrize("drifts", [(100.0, -100.0, 50.0), (-100.0, 100.0, -100.0)])
def test_master_distribution_makes_the_difference_converge(drifts):
    time = ManualTime(10**9)
    clocks = [ClockSpec(initial_ns=(i + 1) * 987_654_321, drift_ppm=d) for i, d in enumerate(drifts)]
    chain = SlaveChain([Esc() for _ in drifts], timings=TIMING, clocks=clocks, time_source=time)
    assign_stations(chain)
    delays = _configure_like_a_master(chain, master_time=789 * 10**15)
    # one hop: (processing + forwarding)/2 + cable for a middle slave, processing + cable at the end
    assert delays == [0, 250 + 250, 250 + 250 + 550]
    distribute = Datagram(Command.FRMW, 0, station_address(STATION, Register.DC_SYSTEM_TIME), bytes(8))
    for _ in range(2000):
        time.advance(1_000_000)
        (reply,) = run(chain, distribute)
        assert reply.wkc == 3
    for position in (1, 2):
        assert abs(difference(chain, position)) < 100
    # the true error is the delay estimate's: slave 1 is a middle slave, its hop is 50 ns short
    reference = chain.dc(0).system_time()
    assert abs(chain.dc(1).system_time() - reference + 50) < 100
    assert abs(chain.dc(2).system_time() - reference + 50) < 100


def test_without_offset_compensation_the_loop_cannot_catch_up():
    time = ManualTime(0)
    clocks = [ClockSpec(initial_ns=0), ClockSpec(initial_ns=10**9)]  # a second apart
    chain = SlaveChain([Esc(), Esc()], clocks=clocks, time_source=time)
    assign_stations(chain)
    distribute = Datagram(Command.FRMW, 0, station_address(STATION, Register.DC_SYSTEM_TIME), bytes(8))
    for _ in range(200):
        time.advance(1_000_000)
        run(chain, distribute)
    # 200 ms at the largest correction (1000 ppm) removes 200 us of the 1 s: still far off
    assert abs(difference(chain, 1)) > 900_000_000


# ------------------------------------------------------------------- SYNC signals
START = 1_000_000


def _sync_chain() -> tuple[SlaveChain, ManualTime]:
    """One slave whose system time equals the simulation time (clock from 0 at 0, no offset)."""
    time = ManualTime(0)
    chain = SlaveChain([Esc()], clocks=[ClockSpec()], time_source=time)
    assign_stations(chain)
    return chain, time


def _activate(chain: SlaveChain, start: int, cycle0: int, cycle1: int, activation: DcActivation) -> None:
    run(chain, fpwr(0, Register.DC_ACTIVATION, b"\x00"),
        fpwr(0, Register.DC_START_TIME_CYCLIC, U64.pack(start)),
        fpwr(0, Register.DC_SYNC0_CYCLE_TIME, U32.pack(cycle0)),
        fpwr(0, Register.DC_SYNC1_CYCLE_TIME, U32.pack(cycle1)))
    run(chain, fpwr(0, Register.DC_ACTIVATION, bytes((int(activation),))))


def _status(chain: SlaveChain) -> DcActivationStatus:
    return DcCyclicUnit.decode(read(chain, 0, DcCyclicUnit.ADDRESS, DcCyclicUnit.SIZE)).activation_status


ALL = DcActivation.CYCLIC_OPERATION | DcActivation.SYNC0 | DcActivation.SYNC1


def test_sync0_and_sync1_pulses_follow_start_and_cycle_times():
    chain, time = _sync_chain()
    _activate(chain, START, 250_000, 100_000, ALL)
    dc = chain.dc(0)
    assert dc.cyclic_active
    assert dc.pulses(SyncSignal.SYNC0, 0, 2_000_000) == [1_000_000, 1_250_000, 1_500_000, 1_750_000]
    assert dc.pulses(SyncSignal.SYNC1, 0, 1_700_000) == [1_100_000, 1_350_000, 1_600_000]
    assert _status(chain) == DcActivationStatus.SYNC0_PENDING | DcActivationStatus.SYNC1_PENDING
    timing = DcSyncTiming.decode(read(chain, 0, DcSyncTiming.ADDRESS, DcSyncTiming.SIZE))
    assert (timing.start_time, timing.next_sync1_pulse) == (1_000_000, 1_100_000)

    time.set(1_300_000)  # the frame starts at the slave at 1_300_250
    timing = DcSyncTiming.decode(read(chain, 0, DcSyncTiming.ADDRESS, DcSyncTiming.SIZE))
    assert (timing.start_time, timing.next_sync1_pulse) == (1_500_000, 1_350_000)
    assert _status(chain) == DcActivationStatus(0)
    assert dc.next_pulse(SyncSignal.SYNC0) == 1_500_000
    assert dc.sim_time_at(1_500_000) == 1_500_000


def test_sync_status_in_acknowledge_mode_waits_for_the_application():
    chain, time = _sync_chain()
    _activate(chain, START, 250_000, 0, ALL)
    assert read(chain, 0, Register.DC_SYNC0_STATUS, 2) == b"\x00\x00"
    time.set(1_100_000)
    assert read(chain, 0, Register.DC_SYNC0_STATUS, 2) == b"\x01\x01"  # pulse length 0: acknowledge mode
    chain.dc(0).acknowledge(SyncSignal.SYNC0)
    assert read(chain, 0, Register.DC_SYNC0_STATUS, 2) == b"\x00\x01"
    time.set(1_260_000)
    assert read(chain, 0, Register.DC_SYNC0_STATUS, 1) == b"\x01"


def test_sync1_longer_than_sync0_fires_every_few_sync0_cycles():
    chain, _ = _sync_chain()
    _activate(chain, START, 100_000, 250_000, ALL)
    # the SYNC0 at 1.0 ms starts SYNC1 (fires 1.25 ms); the next idle SYNC0 is 1.3 ms, and so on
    assert chain.dc(0).pulses(SyncSignal.SYNC1, 0, 2_000_000) == [1_250_000, 1_550_000, 1_850_000]


def test_single_shot_mode_gives_one_pulse():
    chain, _ = _sync_chain()
    _activate(chain, START, 0, 0, ALL)
    assert chain.dc(0).pulses(SyncSignal.SYNC0, 0, 10**9) == [START]
    assert chain.dc(0).pulses(SyncSignal.SYNC1, 0, 10**9) == [START]


def test_disabled_outputs_give_no_pulses_and_start_time_is_locked_while_active():
    chain, _ = _sync_chain()
    _activate(chain, START, 250_000, 0, DcActivation.CYCLIC_OPERATION | DcActivation.SYNC0)
    assert chain.dc(0).pulses(SyncSignal.SYNC1, 0, 10**7) == []
    run(chain, fpwr(0, Register.DC_START_TIME_CYCLIC, U64.pack(5 * START)))
    assert chain.dc(0).pulses(SyncSignal.SYNC0, 0, 1_300_000) == [1_000_000, 1_250_000]
    run(chain, fpwr(0, Register.DC_ACTIVATION, b"\x00"))
    assert not chain.dc(0).cyclic_active and chain.dc(0).next_pulse(SyncSignal.SYNC0) is None


def test_start_time_in_the_past_waits_unless_the_plausibility_check_is_on():
    chain, time = _sync_chain()
    time.set(5_000_000)
    _activate(chain, START, 250_000, 0, ALL)
    assert chain.dc(0).pulses(SyncSignal.SYNC0, 0, 10**10) == []  # waits for the 64-bit wrap
    assert DcActivationStatus.SYNC0_PENDING in _status(chain)
    assert DcActivationStatus.START_TIME_OUT_OF_NEAR_FUTURE in _status(chain)

    _activate(chain, START, 250_000, 0, ALL | DcActivation.START_TIME_PLAUSIBILITY_CHECK)
    first = 5_000_000 + 250  # at once: the frame that activated it reached the slave then
    assert chain.dc(0).pulses(SyncSignal.SYNC0, 0, first + 600_000) == [first, first + 250_000, first + 500_000]
    assert DcActivationStatus.START_TIME_OUT_OF_NEAR_FUTURE in _status(chain)


def test_auto_activation_extends_a_32_bit_start_time():
    chain, time = _sync_chain()
    time.set((1 << 32) + 1000)
    run(chain, fpwr(0, Register.DC_SYNC0_CYCLE_TIME, U32.pack(1_000_000)),
        fpwr(0, Register.DC_ACTIVATION, bytes((int(DcActivation.AUTO_ACTIVATION | DcActivation.SYNC0),))))
    run(chain, fpwr(0, Register.DC_START_TIME_CYCLIC, U32.pack(2_000_000)))
    assert chain.dc(0).cyclic_active
    assert chain.dc(0).next_pulse(SyncSignal.SYNC0) == (1 << 32) + 2_000_000
    (activation,) = read(chain, 0, Register.DC_ACTIVATION, 1)
    assert activation & DcActivation.CYCLIC_OPERATION


# ------------------------------------------------- lazily written registers (frame cost)
# The unit writes the registers that follow the frame start only when something may look at
# them; these pin down that what is seen is what the frame start wrote.
def test_the_system_time_view_read_later_is_the_one_of_the_last_frame_start():
    time = ManualTime(5000)
    chain = _line(time)
    assign_stations(chain)
    time.set(20_000)
    run(chain, Datagram(Command.BRD, 0, Register.AL_STATUS << 16, bytes(2)))  # no DC register touched
    time.set(900_000)
    # slave 2's frame start at 20000 + 900; local 3000 + 15900; no offset or delay
    assert chain[2].pdi_read(Register.DC_SYSTEM_TIME, 8) == U64.pack(18_900)


def test_an_offset_written_in_a_frame_applies_to_the_view_from_the_next_frame_on():
    time = ManualTime(5000)
    chain = _line(time)
    assign_stations(chain)
    time.set(20_000)
    _, same_frame = run(chain, fpwr(1, Register.DC_SYSTEM_TIME_OFFSET, U64.pack(1_000_000)),
                        fprd(1, Register.DC_SYSTEM_TIME, 8))
    assert same_frame.data == U64.pack(2000 + 15_500)  # latched at the frame start, before the write
    assert read(chain, 1, Register.DC_SYSTEM_TIME, 8) == U64.pack(2000 + 15_500 + 1_000_000)


def test_a_pdi_write_of_the_system_time_stays_until_the_next_frame():
    time = ManualTime(5000)
    chain = _line(time)
    assign_stations(chain)
    run(chain, Datagram(Command.BRD, 0, Register.AL_STATUS << 16, bytes(2)))
    chain[0].pdi_write(Register.DC_SYSTEM_TIME, U64.pack(0xDEAD))
    assert chain[0].pdi_read(Register.DC_SYSTEM_TIME, 8) == U64.pack(0xDEAD)
    time.set(6000)
    assert read(chain, 0, Register.DC_SYSTEM_TIME, 8) == U64.pack(1000 + 1100)


def test_single_shot_next_pulse_registers_keep_what_the_last_frame_before_the_pulse_wrote():
    chain, time = _sync_chain()
    _activate(chain, START, 0, 0, ALL)  # one pulse at 1 ms
    chain[0].pdi_write(Register.DC_START_TIME_CYCLIC, U64.pack(0xDEAD) * 2)  # the application scribbles
    time.set(500_000)
    run(chain, Datagram(Command.BRD, 0, Register.AL_STATUS << 16, bytes(2)))  # rewrites the next pulses
    time.set(2_000_000)
    run(chain, Datagram(Command.BRD, 0, Register.AL_STATUS << 16, bytes(2)))  # after the pulse: kept
    timing = DcSyncTiming.decode(read(chain, 0, DcSyncTiming.ADDRESS, DcSyncTiming.SIZE))
    assert (timing.start_time, timing.next_sync1_pulse) == (START, START)


def test_sync_status_read_frames_later_is_the_one_of_the_last_frame_start():
    chain, time = _sync_chain()
    _activate(chain, START, 250_000, 0, ALL)
    time.set(1_100_000)
    run(chain, Datagram(Command.BRD, 0, Register.AL_STATUS << 16, bytes(2)))  # after the first pulse
    time.set(5_000_000)
    assert chain[0].pdi_read(Register.DC_ACTIVATION_STATUS, 1) == b"\x00"
    timing = DcSyncTiming.decode(chain[0].pdi_read(DcSyncTiming.ADDRESS, DcSyncTiming.SIZE))
    assert timing.start_time == 1_250_000  # as of that frame's start, not of now


def test_the_loop_follows_time_control_loop_and_local_clock():
    """The unit runs the loop inline for speed; it must do exactly what the public classes do."""
    time = ManualTime(10**9)
    specs = [ClockSpec(initial_ns=123_456_789, drift_ppm=30.0), ClockSpec(initial_ns=987_654_321, drift_ppm=-70.0)]
    chain = SlaveChain([Esc(), Esc()], timings=TIMING, clocks=specs, time_source=time)
    assign_stations(chain)
    offset, delay = 77_777, 550
    run(chain, fpwr(1, Register.DC_SYSTEM_TIME_OFFSET, U64.pack(offset)),
        fpwr(1, Register.DC_SYSTEM_TIME_DELAY, U32.pack(delay)),
        Datagram(Command.BWR, 0, Register.DC_SYSTEM_TIME_DIFF_FILTER_DEPTH << 16, b"\x03\x05"))
    reference, clock = LocalClock(specs[0], 10**9), LocalClock(specs[1], 10**9)
    loop = TimeControlLoop()
    distribute = Datagram(Command.FRMW, 0, station_address(STATION, Register.DC_SYSTEM_TIME), bytes(8))
    for cycle in range(300):
        start = time.advance(1_000_000 + 3_333 * (cycle % 7))
        (reply,) = run(chain, distribute)
        received = U64.unpack(reply.data)[0]
        assert received == reference.read(start + 250)  # the reference's view: no offset, no delay
        local = clock.read(start + 250 + 300 + 250)
        raw = (local + offset - delay - received) & 0xFFFF_FFFF
        clock.set_correction(start + 800, loop.update(raw - (1 << 32) if raw & 0x8000_0000 else raw, local,
                                                      0x1000, 3, 5))
    unit = chain.dc(1)
    assert (unit.clock.correction, unit.clock.read(time() + 10**6)) == (clock.correction, clock.read(time() + 10**6))
    assert difference(chain, 1) == loop.mean_difference
    loop_registers = DcControlLoop.decode(read(chain, 1, DcControlLoop.ADDRESS, DcControlLoop.SIZE))
    assert loop_registers == DcControlLoop(0x1000, loop.speed_counter_diff(0x1000), 3, 5)


def test_receive_times_follow_the_path_after_a_loop_is_closed():
    time = ManualTime(5000)
    chain = _line(time)
    assign_stations(chain)
    time.set(10_000)
    latch(chain)
    closed = DlControl(loop_ports=(LoopPortControl.AUTO, LoopPortControl.CLOSED, LoopPortControl.AUTO,
                                   LoopPortControl.AUTO))
    run(chain, fpwr(1, Register.DL_CONTROL, closed.encode()))  # slave 2 is cut off behind slave 1
    time.set(20_000)
    latch(chain)
    # 0.p0 20100, 1.p0 20500, 1 turns the frame back at its closed port 1: leaves at 20800;
    # 0.p1 20900. Slave 1 port 1 and slave 2 keep their times of the first latch.
    assert receive_times(chain, 0) == ((16_100, 16_900, 0, 0), 16_100)
    assert receive_times(chain, 1) == ((17_500, 8300, 0, 0), 17_500)
    assert DcReceiveTimes.decode(chain[2].pdi_read(DcReceiveTimes.ADDRESS, DcReceiveTimes.SIZE)).ports == (8900, 0, 0, 0)
