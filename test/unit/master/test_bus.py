"""The master's acyclic bus engine against the simulator: batching, matching, faults."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from ethercat_master.errors import FrameTimeout, WorkingCounterError
from ethercat_master.master import Bus, Request
from ethercat_master.protocol.datagram import Command, position_address, station_address
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.registers import EscIdentity, Register
from ethercat_master.sim import ChainServer, Esc, SlaveChain
from ethercat_master.sim.faults import FaultPlan, FaultRate, FaultyWire
from ethercat_master.transport import InProcessLink
from ethercat_master.transport.link import Link


@pytest.fixture
def segment():
    """A bus on an in-process link to a served chain of four simulated ESCs."""
    chain = SlaveChain(Esc(name=f"s{i}", revision=i) for i in range(4))
    master_end, sim_end = InProcessLink.pair()
    with ChainServer(chain, sim_end):
        yield Bus(master_end, timeout=0.2), chain


def _faulty_segment(plan: FaultPlan, timeout: float = 0.05, retries: int = 2):
    chain = SlaveChain(Esc() for _ in range(2))
    master_end, sim_end = InProcessLink.pair()
    server = ChainServer(chain, sim_end, wire=FaultyWire(chain, plan))
    return Bus(master_end, timeout=timeout, retries=retries), server


def test_count_and_identity_by_position(segment):
    bus, chain = segment
    assert bus.count_slaves() == 4
    replies = bus.exchange([Request.read(Command.APRD, position_address(p, Register.TYPE), EscIdentity.SIZE, 1)
                            for p in range(4)])
    assert [EscIdentity.decode(r.data).revision for r in replies] == [0, 1, 2, 3]
    assert bus.counters.frames_sent == 2 and bus.counters.stale_frames == 0


def test_station_addresses_written_and_read_back(segment):
    bus, chain = segment
    bus.exchange([Request(Command.APWR, position_address(p, Register.CONFIGURED_STATION_ADDRESS),
                          (0x1001 + p).to_bytes(2, "little"), 1) for p in range(4)])
    assert [esc.station_address for esc in chain.escs] == [0x1001, 0x1002, 0x1003, 0x1004]
    data = bus.read(Command.FPRD, station_address(0x1003, Register.CONFIGURED_STATION_ADDRESS), 2, expected_wkc=1)
    assert data == b"\x03\x10"


def test_many_requests_are_split_across_frames_in_order(segment):
    bus, chain = segment
    requests = [Request.read(Command.BRD, Register.TYPE << 16, 100) for _ in range(40)]  # 4480 bytes
    replies = bus.exchange(requests)
    assert len(replies) == 40 and all(r.wkc == 4 for r in replies)
    assert bus.counters.frames_sent == 4  # 13 datagrams of 112 bytes fit in 1498


def test_wrong_working_counter_names_the_datagram(segment):
    bus, _ = segment
    with pytest.raises(WorkingCounterError) as err:
        bus.read(Command.FPRD, station_address(0x7777, Register.AL_STATUS), 2, expected_wkc=1)
    assert err.value.expected == 1 and err.value.got == 0
    assert "FPRD 0x7777:0x0130" in str(err.value)
    assert bus.counters.wkc_mismatches == 1


def test_lost_frames_are_sent_again_with_new_indices():
    bus, server = _faulty_segment(FaultPlan(seed=1, loss=FaultRate(every=2)))
    with server:
        for _ in range(5):
            assert bus.count_slaves() == 2
    assert bus.counters.timeouts >= 2 and bus.counters.retries == bus.counters.timeouts


def test_late_replies_are_discarded_as_stale():
    # every reply is delayed past the first deadline: the late reply to attempt n arrives while
    # the bus waits for attempt n+1 and must not be taken for it
    bus, server = _faulty_segment(FaultPlan(seed=2, delay=FaultRate(every=2), delay_s=(0.08, 0.08)),
                                  timeout=0.05, retries=3)
    with server:
        for _ in range(4):
            assert bus.count_slaves() == 2
        time.sleep(0.1)
    assert bus.counters.stale_frames >= 1


def test_no_reply_at_all_is_a_frame_timeout():
    bus, server = _faulty_segment(FaultPlan(seed=3, loss=FaultRate(probability=1.0)), timeout=0.01, retries=2)
    with server:
        with pytest.raises(FrameTimeout, match="BRD 0x0000:0x0000 len 1 .after 3 attempts"):
            bus.count_slaves()
    assert bus.counters.frames_sent == 3 and bus.counters.timeouts == 3


def test_malformed_and_foreign_frames_are_skipped():
    master_end, other_end = InProcessLink.pair()
    bus = Bus(master_end, timeout=0.5, retries=0)

    def answer():
        request = Frame.decode(other_end.recv(1.0))
        other_end.send(b"\x30\x10junk")  # header claims more than it carries
        other_end.send(Frame([request.datagrams[0].__class__(Command.BRD, 99, 0, b"\0")]).encode())
        other_end.send(request.encode())  # the real reply, last

    t = threading.Thread(target=answer)
    t.start()
    assert bus.count_slaves() == 0
    t.join()
    assert bus.counters.malformed_frames == 1 and bus.counters.stale_frames == 1


def test_concurrent_users_share_the_bus(segment):
    bus, _ = segment
    results = []

    def user():
        results.extend(bus.count_slaves() for _ in range(50))

    threads = [threading.Thread(target=user) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [4] * 150 and bus.counters.stale_frames == 0


# ------------------------------------------------------------------------ shared frames
class GatedEchoLink(Link):
    """Answers every frame with its datagrams' data replaced by their address (4 octets,
    little endian, repeated) and working counter 1, but only once ``gate`` is set; frames in
    ``drop`` (by number) are never answered."""

    name = "gated-echo"

    def __init__(self, drop: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.sent: list[Frame] = []
        self._drop = drop
        self._replies: list[bytes] = []

    def _send(self, payload) -> None:
        frame = Frame.decode(bytes(payload))
        self.sent.append(frame)
        if len(self.sent) - 1 in self._drop:
            return
        replies = [dataclasses.replace(d, wkc=1, data=(d.address.to_bytes(4, "little") * 8)[:len(d.data)])
                   for d in frame.datagrams]
        self._replies.append(Frame(replies).encode())

    def _recv(self, timeout):
        end = None if timeout is None else time.monotonic() + timeout
        if not self.gate.wait(timeout):
            return None
        if not self._replies:
            if end is not None:
                time.sleep(max(0.0, end - time.monotonic()))
            return None
        return self._replies.pop(0)


def _queued(bus: Bus, count: int) -> None:
    end = time.monotonic() + 5.0
    while len(bus._waiting) < count:  # noqa: SLF001 - the queue is what this test is about
        assert time.monotonic() < end, "the exchanges did not queue"
        time.sleep(0.001)


def _reader(bus: Bus, address: int, results: dict, retries=None):
    def run():
        try:
            results[address] = bus.exchange([Request.read(Command.FPRD, address, 4)], retries=retries)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[address] = exc
    return threading.Thread(target=run)


def test_exchanges_made_while_a_frame_is_out_share_the_next_frame_and_get_their_own_replies():
    link = GatedEchoLink()
    bus = Bus(link, timeout=2.0)
    link.gate.clear()
    results: dict = {}
    first = _reader(bus, 0x1001_0130, results)
    first.start()
    while not link.sent:
        time.sleep(0.001)
    others = [_reader(bus, (0x1002 + k) << 16 | 0x0130, results) for k in range(4)]
    for thread in others:
        thread.start()
    _queued(bus, 4)
    link.gate.set()
    for thread in [first, *others]:
        thread.join(5.0)
    assert [len(frame.datagrams) for frame in link.sent] == [1, 4]
    for address, replies in results.items():
        assert [(r.address, r.wkc, r.data) for r in replies] == [(address, 1, address.to_bytes(4, "little"))]
    assert bus.counters.frames_sent == 2 and bus.counters.stale_frames == 0


def test_a_shared_frame_without_reply_is_a_frame_timeout_for_each_of_its_exchanges():
    link = GatedEchoLink(drop=(1,))
    bus = Bus(link, timeout=0.05, retries=0)
    link.gate.clear()
    results: dict = {}
    first = _reader(bus, 0x1001_0130, results)
    first.start()
    while not link.sent:
        time.sleep(0.001)
    others = [_reader(bus, (0x1002 + k) << 16 | 0x0130, results) for k in range(3)]
    for thread in others:
        thread.start()
    _queued(bus, 3)
    link.gate.set()
    for thread in [first, *others]:
        thread.join(5.0)
    assert isinstance(results.pop(0x1001_0130), list)
    assert len(results) == 3 and all(isinstance(error, FrameTimeout) for error in results.values())
    assert len({id(error) for error in results.values()}) == 3  # each thread raises its own
    assert [len(frame.datagrams) for frame in link.sent] == [1, 3]
    assert bus.counters.timeouts == 1
    assert bus.read(Command.FPRD, 0x1009_0130, 4) == (0x1009_0130).to_bytes(4, "little")  # the bus goes on


def test_exchanges_with_different_retries_do_not_share_a_frame():
    link = GatedEchoLink()
    bus = Bus(link, timeout=2.0)
    link.gate.clear()
    results: dict = {}
    first = _reader(bus, 0x1001_0130, results)
    first.start()
    while not link.sent:
        time.sleep(0.001)
    mailbox = [_reader(bus, (0x1002 + k) << 16 | 0x0130, results, retries=0) for k in range(2)]
    register = _reader(bus, 0x1005_0130, results)
    for thread in [*mailbox, register]:
        thread.start()
    _queued(bus, 3)
    link.gate.set()
    for thread in [first, *mailbox, register]:
        thread.join(5.0)
    assert sorted(len(frame.datagrams) for frame in link.sent[1:]) == [1, 2]
    assert all(isinstance(replies, list) and replies[0].data == address.to_bytes(4, "little")
               for address, replies in results.items())
