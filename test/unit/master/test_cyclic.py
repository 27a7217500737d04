"""The cyclic exchange and the cycle thread against the simulated reference chain
(config/sim_chain.yaml) and synthetic chains: SAFE-OP and OP, process data both ways by name, a
CiA 402 drive following CSP targets, the DC datagram, mailbox work in the idle time, working
counter mismatches of a powered-off slave, lost frames, the double buffer under a concurrent
writer as seen in the frames sent, frames split when the image exceeds one frame, overruns."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ethercat_master.errors import FrameTimeout, WorkingCounterError
from ethercat_master.master.al import read_states, request_states
from ethercat_master.master.cyclic import (
    CycleThread,
    CyclicExchange,
    MailboxPoller,
    RealtimeOptions,
    apply_realtime,
)
from ethercat_master.master.master import Master
from ethercat_master.master.pdo_mapping import configure_process_data
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.coe import DataType, Direction, SdoUploadExpeditedResponse, SdoUploadRequest, decode_coe
from ethercat_master.protocol.datagram import DATAGRAM_HEADER_SIZE, Command
from ethercat_master.protocol.frame import ECAT_HEADER_SIZE
from ethercat_master.protocol.mailbox import MailboxType
from ethercat_master.protocol.registers import PortType
from ethercat_master.protocol.sii import FmmuUsage, SyncManagerType
from ethercat_master.sim import ChainServer, FaultPlan, FaultRate, FaultyWire, SlaveChain, build_chain, load_chain
from ethercat_master.sim.device import (
    DeviceDescription,
    DeviceIdentity,
    EscParameters,
    PdoEntrySpec,
    PdoSpec,
    SyncManagerSpec,
)
from ethercat_master.sim.devices.beckhoff import EK1100, EL1008, EL2008
from ethercat_master.sim.esc import DEFAULT_FEATURES, EscType
from ethercat_master.sim.slave import DeviceApplication, DeviceModel, SimulatedSlave
from ethercat_master.transport import InProcessLink

ROOT = Path(__file__).resolve().parents[3]
CHAIN = ROOT / "config" / "sim_chain.yaml"
COUPLER, DIGITAL_IN, DIGITAL_OUT, ANALOG = 0, 1, 2, 3
DRIVES = (4, 5, 6, 7)
PERIOD = 0.002
PATTERN = 0x5A
#: EL3102 channel 2: a constant 2.5 V of +/-10 V full scale (0x7FFF).
CHANNEL_2_COUNTS = round(2.5 / 10 * 0x7FFF)
CSP = 8
#: A drive in CSP lags its moving target by a few cycles of motion: 1 % of a revolution.
TRACKING_BOUND = 1311


class Segment:
    """A simulated chain served on an in-process link, scanned and in PRE-OP."""

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
        """Configure the process data and request SAFE-OP."""
        self.layout = configure_process_data(self.bus, self.slaves, self.coe)
        request_states(self.bus, self.slaves, ALState.SAFEOP)

    def close(self) -> None:
        self.server.stop()


def wait_for(condition, timeout: float = 3.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"{what} not reached within {timeout} s"
        time.sleep(0.005)


@pytest.fixture
def segment():
    seg = Segment(load_chain(CHAIN).chain)
    try:
        yield seg
    finally:
        seg.close()


@pytest.fixture(scope="module")
def running():
    """The reference chain in OP, cycled every 2 ms by a cycle thread that serves the EL3102's
    mailbox in its idle time and reads the DC reference clock (the coupler)."""
    seg = Segment(load_chain(CHAIN).chain)
    seg.configure()
    exchange = CyclicExchange(seg.bus, seg.layout, dc_reference=seg.slaves[COUPLER].station_address)
    poller = MailboxPoller([seg.master.mailbox(ANALOG)])
    thread = CycleThread(exchange, PERIOD, idle_work=poller)
    report = thread.start()
    image = exchange.image
    image.outputs[DIGITAL_OUT].write({f"channel_{n + 1}_output": bool(PATTERN >> n & 1) for n in range(8)})
    try:
        request_states(seg.bus, seg.slaves, ALState.OP)
        yield SimpleNamespace(segment=seg, exchange=exchange, image=image, thread=thread, report=report,
                              poller=poller)
    finally:
        try:
            thread.stop()
        finally:
            seg.close()


# -------------------------------------------------------------------- the reference chain
def test_the_chain_reaches_op_with_process_data_flowing_both_ways(running):
    seg, image = running.segment, running.image
    assert all(block.status.state is ALState.OP for block in read_states(seg.bus, seg.slaves))
    wait_for(lambda: seg.chain[DIGITAL_OUT].application.value == PATTERN, what="EL2008 pins")
    assert seg.chain[DIGITAL_OUT].application.channels == tuple(bool(PATTERN >> n & 1) for n in range(8))
    digital = image.inputs[DIGITAL_IN]
    assert [digital[f"channel_{n + 1}_input"] for n in range(8)] == [bool(0xA5 >> n & 1) for n in range(8)]
    analog = image.slave(ANALOG).inputs
    assert analog.ai_standard_channel_2_value == CHANNEL_2_COUNTS
    assert abs(analog.ai_standard_channel_1_value) <= round(5.0 / 10 * 0x7FFF) + 1
    wait_for(lambda: running.exchange.working_counters == [seg.layout.expected_wkc] == [16], what="WKC 16")
    statistics = running.exchange.statistics()
    assert statistics.cycles > 0 and statistics.wkc_mismatches == 0


def test_a_drive_enabled_through_cia402_follows_csp_targets_written_by_name(running):
    image = running.image
    drives = [image.slave(position) for position in DRIVES]
    for drive in drives:
        drive.outputs.write(modes_of_operation=CSP, target_position=drive.inputs.position_actual_value)
    for controlword, state in ((0x06, 0x21), (0x07, 0x23), (0x0F, 0x27)):  # shutdown, switch on, enable
        for drive in drives:
            drive.outputs.controlword = controlword
        wait_for(lambda: all(d.inputs.statusword & 0x6F == state for d in drives), what=f"statusword 0x{state:02X}")
    assert all(d.inputs.modes_of_operation_display == CSP for d in drives)
    start = {d.position: d.inputs.position_actual_value for d in drives}
    step = 250
    for k in range(1, 101):
        with image.lock:
            for drive in drives:
                drive.outputs.target_position = start[drive.position] + k * step
        time.sleep(PERIOD)
    final = {d.position: start[d.position] + 100 * step for d in drives}
    wait_for(lambda: all(abs(d.inputs.position_actual_value - final[d.position]) <= TRACKING_BOUND for d in drives),
             what="positions at the last target")
    for drive in drives:
        assert drive.inputs.statusword & 0x1000  # following the target
        assert not drive.inputs.statusword & 0x0008  # no fault


def test_the_dc_datagram_reads_the_reference_clock(running):
    exchange = running.exchange
    first = exchange.dc_system_time
    assert first is not None
    wait_for(lambda: exchange.dc_system_time > first, what="a later system time")
    assert exchange.dc_wkc >= len(DRIVES)


def test_mailbox_work_is_done_in_the_idle_time_of_the_cycles(running):
    engine = running.segment.master.mailbox(ANALOG)
    polls = running.poller.polls
    transaction = engine.submit(MailboxType.COE, SdoUploadRequest(0x1018, 2).encode(), lambda message: True,
                                what="SDO upload 0x1018:02 in the cycle's idle time")
    wait_for(lambda: transaction.done, what="the upload, polled by the cycle thread alone")
    reply = decode_coe(transaction.result().payload, Direction.SLAVE_TO_MASTER)
    assert isinstance(reply, SdoUploadExpeditedResponse)
    assert struct.unpack("<I", reply.data)[0] == 0x0C1E3052  # the EL3102's product code
    assert running.poller.polls > polls


def test_an_application_holding_the_image_lock_may_use_the_bus(running):
    cycles = running.exchange.counters.cycles
    with running.image.lock:  # the cycle waits for the lock, not holding the bus meanwhile
        name = running.segment.coe[ANALOG].read(0x1008, 0, DataType.VISIBLE_STRING)
    assert name == "EL3102 2Ch. Ana. Input +/-10V, Diff."
    wait_for(lambda: running.exchange.counters.cycles > cycles + 2, what="cycles after the lock")


def test_the_cycle_thread_applies_timer_slack_and_keeps_statistics(running):
    assert "timer slack 1 ns" in running.report.applied
    # run alone, the module's thread has only just started
    wait_for(lambda: running.exchange.statistics().period_jitter.count > 10, timeout=10.0, what="11 cycles")
    statistics = running.exchange.statistics()
    assert statistics.wake_latency.count > 10 and statistics.period_jitter.count > 10
    assert statistics.round_trip.p50_us is not None and statistics.round_trip.p50_us <= statistics.round_trip.max_us
    json.dumps(statistics.as_dict())


# ------------------------------------------------------------------------------ faults
def test_a_slave_powered_off_is_a_working_counter_mismatch(segment):
    segment.configure()
    exchange = CyclicExchange(segment.bus, segment.layout, timeout=1.0)
    assert all(exchange.exchange() for _ in range(3))
    segment.chain.power_off(DRIVES[-1])
    assert not exchange.exchange()
    assert exchange.working_counters == [16 - 3]
    assert exchange.statistics().wkc_mismatches == 1
    with pytest.raises(WorkingCounterError) as caught:
        exchange.raise_for_status()
    assert (caught.value.expected, caught.value.got) == (16, 13)
    assert "LRW 0x00000000 len 130 of cyclic frame 0" in str(caught.value) and "position 7" in str(caught.value)
    # its inputs are the octets that passed it unchanged: zeros
    assert exchange.image.inputs[DRIVES[-1]].read() == dict.fromkeys(exchange.image.inputs[DRIVES[-1]], 0)


def test_lost_frames_are_counted_and_reported(segment):
    segment.configure()
    exchange = CyclicExchange(segment.bus, segment.layout, timeout=0.1)
    segment.server.wire = FaultyWire(segment.chain, FaultPlan(loss=FaultRate(every=5)))
    results = [exchange.exchange() for _ in range(20)]
    failed = [n for n, ok in enumerate(results, start=1) if not ok]
    assert {5, 10, 15, 20} <= set(failed)  # (a reply later than 0.1 s on a loaded machine fails too)
    statistics = exchange.statistics()
    assert (statistics.frames_sent, statistics.frames_lost, statistics.wkc_mismatches) == (20, len(failed), 0)
    assert statistics.round_trip.count == 20 - len(failed)
    assert exchange.working_counters == [None]
    with pytest.raises(FrameTimeout, match=r"reply to LRW 0x00000000 len 130 of cyclic frame 0"):
        exchange.raise_for_status()


def test_the_frames_sent_never_carry_a_torn_pair_of_fields(segment):
    segment.configure()
    sent: list[bytes] = []

    class Recorder:
        def record(self, payload: Any, outgoing: bool) -> None:
            if outgoing and payload[ECAT_HEADER_SIZE] == Command.LRW:
                sent.append(bytes(payload))

    segment.link.record_to(Recorder())
    exchange = CyclicExchange(segment.bus, segment.layout)
    drive = exchange.image.outputs[DRIVES[0]]
    at = ECAT_HEADER_SIZE + DATAGRAM_HEADER_SIZE + drive.info.offset
    position_at = at + drive.info.fields["target_position"].byte_offset
    velocity_at = at + drive.info.fields["target_velocity"].byte_offset
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            drive.write(target_position=n, target_velocity=n)

    thread = threading.Thread(target=writer)
    with CycleThread(exchange, 0.001):
        thread.start()
        try:  # the writer never sleeps: the cycle thread gets the GIL every switch interval (5 ms)
            wait_for(lambda: len(sent) > 60, timeout=10.0, what="60 frames sent")
        finally:
            stop.set()
            thread.join()
    segment.link.record_to(None)
    pairs = [struct.unpack_from("<i", frame, position_at) + struct.unpack_from("<i", frame, velocity_at)
             for frame in sent]
    assert len(pairs) > 50
    assert all(position == velocity for position, velocity in pairs)
    assert len({position for position, _ in pairs}) > 10  # the writer did change them meanwhile


# ---------------------------------------------------------------------- large images
class LoopbackInputs(DeviceApplication):
    """Inputs = the outputs received last (in OP)."""

    def __init__(self) -> None:
        self.data = b""

    def write_outputs(self, data: bytes) -> None:
        self.data = bytes(data)

    def read_inputs(self, size: int) -> bytes:
        return self.data[:size].ljust(size, b"\0")


class Loopback(DeviceModel):
    """A device without mailbox with ``words`` 32-bit outputs on SM0 and as many inputs on SM1
    (PDOs of 64 entries at most), its inputs echoing its outputs."""

    def __init__(self, words: int, serial_number: int) -> None:
        def pdos(base: int, index: int, sync_manager: int) -> tuple[PdoSpec, ...]:
            return tuple(PdoSpec(base + k, f"PDO {k}", tuple(
                PdoEntrySpec(index + k, n % 64 + 1, 32, f"Word {n}", DataType.UNSIGNED32)
                for n in range(k * 64, min(words, (k + 1) * 64))), sync_manager=sync_manager)
                for k in range((words + 63) // 64))
        octets = 4 * words
        self._description = DeviceDescription(
            identity=DeviceIdentity(0x1234, 0xB16, 1, serial_number), order_code="LOOP", name="Loopback",
            group="Test",
            esc=EscParameters(esc_type=EscType.ET1100, ram_size_kib=8, ports=(PortType.MII, PortType.MII,
                              PortType.NOT_IMPLEMENTED, PortType.NOT_IMPLEMENTED), features=DEFAULT_FEATURES,
                              pdi_control=0x0100),
            sync_managers=(SyncManagerSpec(0x1000, 0, 0x64, SyncManagerType.PROCESS_DATA_OUT),
                           SyncManagerSpec(0x1000 + 3 * octets, 0, 0x20, SyncManagerType.PROCESS_DATA_IN)),
            fmmus=(FmmuUsage.OUTPUTS, FmmuUsage.INPUTS),
            rx_pdos=pdos(0x1600, 0x7000, 0), tx_pdos=pdos(0x1A00, 0x6000, 1), eeprom_bytes=8192)

    @property
    def description(self) -> DeviceDescription:
        return self._description

    def create_application(self, slave: SimulatedSlave) -> DeviceApplication:
        return LoopbackInputs()


def test_frames_are_split_when_the_image_exceeds_one_frame():
    words = 175  # 700 octets each way: 1400 per slave, one slave per frame
    seg = Segment(build_chain([Loopback(words, n) for n in range(3)]))
    try:
        seg.configure()
        assert [frame.positions for frame in seg.layout.frames] == [(0,), (1,), (2,)]
        exchange = CyclicExchange(seg.bus, seg.layout, timeout=1.0)
        assert exchange.frame_count == 3
        image = exchange.image
        for slave in range(3):
            image.outputs[slave].write({f"word_{n}": slave << 16 | n for n in range(words)})
        assert exchange.exchange()
        request_states(seg.bus, seg.slaves, ALState.OP)
        for _ in range(3):
            assert exchange.exchange()
        assert exchange.working_counters == [3, 3, 3]
        for slave in range(3):
            assert image.inputs[slave].read() == {f"word_{n}": slave << 16 | n for n in range(words)}
    finally:
        seg.close()


# -------------------------------------------------------------------------- the thread
def test_an_overrun_is_counted_and_the_missed_deadlines_skipped():
    seg = Segment(build_chain([EL1008(value=0x0F), EL2008()]))
    try:
        seg.configure()
        exchange = CyclicExchange(seg.bus, seg.layout)
        slow = [True]

        def on_cycle() -> None:
            if slow.pop() if slow else False:
                time.sleep(5 * PERIOD)

        with CycleThread(exchange, PERIOD, on_cycle=on_cycle):
            wait_for(lambda: exchange.counters.cycles > 10, what="ten cycles")
        statistics = exchange.statistics()
        assert statistics.overruns >= 1 and statistics.skipped_cycles >= 3
        assert exchange.image.inputs[0].channel_1_input is True
    finally:
        seg.close()


def test_an_exchange_needs_process_data_or_the_dc_datagram():
    seg = Segment(build_chain([EK1100()]))
    try:
        seg.configure()
        assert seg.layout.frames == ()
        with pytest.raises(ValueError, match="no process data and no DC datagram"):
            CyclicExchange(seg.bus, seg.layout)
        exchange = CyclicExchange(seg.bus, seg.layout, dc_reference=seg.slaves[0].station_address)
        assert exchange.exchange() and exchange.dc_system_time is not None
    finally:
        seg.close()


def test_real_time_settings_that_are_refused_are_reported():
    result = []
    thread = threading.Thread(target=lambda: result.append(apply_realtime(RealtimeOptions(cpus=frozenset({4096})))))
    thread.start()
    thread.join()
    (report,) = result
    assert "timer slack 1 ns" in report.applied
    assert len(report.failed) == 1 and report.failed[0].startswith("CPU affinity [4096]: ")
    with pytest.raises(ValueError, match="priority"):
        RealtimeOptions(priority=100)
    before = sys.getswitchinterval()
    try:
        report = apply_realtime(RealtimeOptions(timer_slack_ns=None, switch_interval=0.0005))
        assert report.applied == ("GIL switch interval 500 us",) and sys.getswitchinterval() == 0.0005
    finally:
        sys.setswitchinterval(before)


def test_the_benchmark_prints_its_figures():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_cycle.py"), "--cycles", "200",
                          "--jitter-seconds", "0.3", "--drives", "4"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    result = json.loads(out)
    for chain in ("reference_chain", "drives", "master_only"):
        figures = result["exchange"][chain]
        assert figures["cycles"] == 200 and 0 < figures["p50_us"] <= figures["p99_us"]
    jitter = result["cycle_thread"]
    assert jitter["period_ms"] == 1.0 and jitter["statistics"]["cycles"] > 100
