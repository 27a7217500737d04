"""Frame-level fault injection: each fault kind reproducible from its seed, what slaves and
error counters see of lost and corrupted frames, late and duplicated replies through the server,
and scheduled topology events."""

from __future__ import annotations

import dataclasses
import random

import pytest

from ethercat_master.protocol.datagram import Command, Datagram
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.registers import ErrorCounters
from ethercat_master.sim import Esc
from ethercat_master.sim.chain import ChainServer, SlaveChain, WireFault
from ethercat_master.sim.dc import ManualTime
from ethercat_master.sim.faults import (
    FaultKind,
    FaultPlan,
    FaultRate,
    FaultyWire,
    TopologyAction,
    TopologyEvent,
)
from ethercat_master.transport.inprocess import InProcessLink

RAM = 0x1000


def make_chain(count: int = 3, **kwargs) -> SlaveChain:
    return SlaveChain([Esc() for _ in range(count)], **kwargs)


def counting_frame(value: int) -> bytes:
    """A BWR of ``value`` to RAM and a BRD counting the slaves."""
    return Frame([Datagram(Command.BWR, 0, RAM << 16, bytes((value,))),
                  Datagram(Command.BRD, 1, RAM << 16, b"\x00")]).encode()


def counters(esc: Esc) -> ErrorCounters:
    return ErrorCounters.decode(esc.pdi_read(ErrorCounters.ADDRESS, ErrorCounters.SIZE))


def carry(plan: FaultPlan, frames: int, count: int = 3) -> tuple[FaultyWire, list[list[bytes]]]:
    wire = FaultyWire(make_chain(count), plan)
    replies = [[d.payload for d in wire.transmit(counting_frame(n & 0xFF))] for n in range(frames)]
    return wire, replies


# ------------------------------------------------------------------------- rates
def test_fault_rate_every_nth_and_probability():
    rng = random.Random(1)
    assert [n for n in range(1, 10) if FaultRate(every=3).strikes(n, rng)] == [3, 6, 9]
    assert not any(FaultRate().strikes(n, rng) for n in range(1, 100))
    assert all(FaultRate(probability=1.0).strikes(n, rng) for n in range(1, 100))
    with pytest.raises(ValueError):
        FaultRate(probability=1.5)
    with pytest.raises(ValueError):
        FaultRate(every=-1)


@pytest.mark.parametrize("plan", [
    FaultPlan(seed=7, loss=FaultRate(probability=0.3)),
    FaultPlan(seed=7, corruption=FaultRate(probability=0.3)),
    FaultPlan(seed=7, delay=FaultRate(probability=0.3), delay_s=(0.001, 0.01)),
    FaultPlan(seed=7, duplication=FaultRate(probability=0.3)),
], ids=["loss", "corruption", "delay", "duplication"])
def test_each_fault_kind_repeats_with_its_seed(plan):
    first, replies_first = carry(plan, 60)
    second, replies_second = carry(plan, 60)
    assert first.log == second.log and replies_first == replies_second
    struck = [record.number for record in first.log if record.faults]
    assert 5 < len(struck) < 35  # about 30 % of 60
    other, _ = carry(dataclasses.replace(plan, seed=8), 60)
    assert [record.number for record in other.log if record.faults] != struck


def test_one_kind_does_not_shift_another_kinds_sequence():
    alone, _ = carry(FaultPlan(seed=3, loss=FaultRate(probability=0.2)), 50)
    mixed, _ = carry(FaultPlan(seed=3, loss=FaultRate(probability=0.2), duplication=FaultRate(probability=0.5)), 50)
    lost = lambda wire: [r.number for r in wire.log if FaultKind.LOSS in r.faults]  # noqa: E731
    assert lost(alone) == lost(mixed)


# ------------------------------------------------------------------ loss and corruption
def test_every_third_frame_lost():
    wire, replies = carry(FaultPlan(loss=FaultRate(every=3)), 7)
    assert [bool(r) for r in replies] == [True, True, False, True, True, False, True]
    assert wire.chain.frames_lost == 2


def test_a_frame_lost_on_the_way_reached_only_the_slaves_before():
    chain = make_chain(3)
    # receptions of a line of 3: 0.p0, 1.p0, 2.p0, 1.p1, 0.p1, master; lost before reception 2
    assert chain.process(counting_frame(0x55), fault=WireFault(2, corrupted=False)) is None
    assert [esc.pdi_read(RAM, 1) for esc in chain] == [b"\x55", b"\x55", b"\x00"]
    assert all(counters(esc) == ErrorCounters() for esc in chain)


def test_a_corrupted_frame_is_counted_where_detected_and_forwarded_marked():
    chain = make_chain(3)
    assert chain.process(counting_frame(0x66), fault=WireFault(1, corrupted=True)) is None
    # slave 0 took the frame while valid; slave 1 detects the bad FCS at port 0, slave 2 and the
    # return path through 1.p1 and 0.p1 see it marked
    assert [esc.pdi_read(RAM, 1) for esc in chain] == [b"\x66", b"\x00", b"\x00"]
    assert counters(chain[1]).invalid_frame == (1, 0, 0, 0)
    assert counters(chain[1]).forwarded_rx_error == (0, 1, 0, 0)
    assert counters(chain[2]).forwarded_rx_error == (1, 0, 0, 0)
    assert counters(chain[0]).forwarded_rx_error == (0, 1, 0, 0)
    assert counters(chain[0]).invalid_frame == (0, 0, 0, 0)
    # an invalid frame passing a Processing Unit counts there as well (Section I Table 50)
    assert [counters(esc).processing_unit_error for esc in chain] == [0, 1, 1]
    assert chain.frames_lost == 1


def test_corruption_on_the_way_back_loses_a_frame_every_slave_applied():
    chain = make_chain(2)
    # receptions: 0.p0, 1.p0, 0.p1, master: corrupted on the cable into 0.p1
    assert chain.process(counting_frame(0x77), fault=WireFault(2, corrupted=True)) is None
    assert [esc.pdi_read(RAM, 1) for esc in chain] == [b"\x77", b"\x77"]
    assert counters(chain[0]).invalid_frame == (0, 1, 0, 0)


def test_random_corruption_always_loses_the_reply_and_counts_once_as_invalid():
    wire, replies = carry(FaultPlan(seed=11, corruption=FaultRate(every=1)), 20)
    assert not any(replies)
    invalid = sum(sum(counters(esc).invalid_frame) for esc in wire.chain)
    hit_master = sum(1 for r in wire.log if r.reception == 5)  # the master's NIC drops, no ESC counts
    assert invalid == 20 - hit_master
    assert {r.reception for r in wire.log} <= set(range(6))


# --------------------------------------------------------------- delay and duplication
@pytest.fixture
def served():
    master, sim_end = InProcessLink.pair("faults")
    servers = []

    def serve(plan: FaultPlan, count: int = 2) -> tuple[ChainServer, FaultyWire]:
        chain = make_chain(count)
        wire = FaultyWire(chain, plan)
        server = ChainServer(chain, sim_end, wire=wire, poll_interval=0.005).start()
        servers.append(server)
        return server, wire

    yield master, serve
    for server in servers:
        server.stop()
    master.close()
    sim_end.close()


def test_a_delayed_reply_arrives_after_the_masters_timeout(served):
    master, serve = served
    server, wire = serve(FaultPlan(delay=FaultRate(every=1), delay_s=(0.15, 0.15)))
    master.send(counting_frame(1))
    assert master.recv(timeout=0.05) is None  # the master gives up ...
    late = master.recv(timeout=1.0)  # ... and the reply still comes: a late frame
    assert late is not None and Frame.decode(late).datagrams[1].wkc == 2
    assert wire.log[0].faults == {FaultKind.DELAY} and wire.log[0].delay_s == 0.15
    assert server.frames_replied == 1


def test_a_duplicated_reply_arrives_twice(served):
    master, serve = served
    server, _ = serve(FaultPlan(duplication=FaultRate(every=2), duplicate_gap_s=0.01))
    master.send(counting_frame(1))
    first = master.recv(timeout=1.0)
    master.send(counting_frame(2))
    second, again = master.recv(timeout=1.0), master.recv(timeout=1.0)
    assert first is not None and second is not None and second == again
    assert master.recv(timeout=0.05) is None
    assert (server.frames_received, server.frames_replied) == (2, 3)


def test_lost_frames_are_not_answered(served):
    master, serve = served
    server, _ = serve(FaultPlan(loss=FaultRate(every=1)))
    master.send(counting_frame(1))
    assert master.recv(timeout=0.1) is None
    assert (server.frames_received, server.frames_dropped) == (1, 1)


# ------------------------------------------------------------------- topology events
def wkc_sequence(wire: FaultyWire, frames: int) -> list[int]:
    result = []
    for n in range(frames):
        deliveries = wire.transmit(counting_frame(n))
        result.append(Frame.decode(deliveries[0].payload).datagrams[1].wkc if deliveries else -1)
    return result


def test_scheduled_cable_break_and_repair():
    plan = FaultPlan(events=TopologyEvent.cable_break(2, at_frame=3, repaired_at_frame=5))
    wire = FaultyWire(make_chain(4), plan)
    assert wkc_sequence(wire, 6) == [4, 4, 2, 2, 4, 4]
    assert [bool(r.events) for r in wire.log] == [False, False, True, False, True, False]
    assert counters(wire.chain[1]).lost_link == (0, 1, 0, 0)


def test_scheduled_power_cycle_brings_the_slave_back_reset():
    plan = FaultPlan(events=TopologyEvent.power_cycle(1, at_frame=2, back_at_frame=4))
    wire = FaultyWire(make_chain(3), plan)
    assert wkc_sequence(wire, 5) == [3, 1, 1, 3, 3]
    assert wire.chain[1].pdi_read(RAM, 1) == bytes((4,))  # written by frame 5 only, after power-on


def test_events_at_a_simulation_time():
    time = ManualTime(0)
    chain = make_chain(2, time_source=time)
    wire = FaultyWire(chain, FaultPlan(events=(TopologyEvent(TopologyAction.POWER_OFF, 1, at_time_ns=1000),)))
    assert wkc_sequence(wire, 1) == [2]
    time.set(1000)
    assert wkc_sequence(wire, 2) == [1, 1]


def test_event_needs_exactly_one_trigger():
    with pytest.raises(ValueError):
        TopologyEvent(TopologyAction.POWER_OFF, 1)
    with pytest.raises(ValueError):
        TopologyEvent(TopologyAction.POWER_OFF, 1, at_frame=1, at_time_ns=5)
