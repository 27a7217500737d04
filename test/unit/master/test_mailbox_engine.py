"""The mailbox engine against a simulated slave: status modes, matching, repeat, retries, faults.

Each test runs one simulated ESC with a mailbox (``Esc`` + ``SlaveMailbox``) on an in-process
link served by a ``ChainServer``, configured to PRE-OP through the bus, and drives it with a
:class:`MailboxEngine`. Faults come from the slave's ``outgoing_hook`` (messages dropped,
duplicated, altered, held back) and from wires that lose reply frames.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable, Sequence

import pytest

from ethercat_master.errors import FrameTimeout, MailboxError
from ethercat_master.master.bus import Bus
from ethercat_master.master.diagnostics import (
    COUNTER_FIELDS,
    SCHEMA_VERSION,
    LatencyHistogram,
    MailboxDiagnostics,
)
from ethercat_master.master.mailbox import (
    BackoffPolicy,
    EmergencyQueue,
    MailboxEngine,
    MailboxPolicy,
    MailboxSlave,
    ReceivedEmergency,
    StatusMode,
    TransactionState,
)
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.coe import Emergency, ErrorRegister
from ethercat_master.protocol.datagram import Command
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.mailbox import MailboxHeader, MailboxMessage, MailboxType
from ethercat_master.protocol.registers import (
    sync_manager_address,
)
from ethercat_master.sim import SlaveChain
from ethercat_master.sim.chain import Delivery
from ethercat_master.transport import InProcessLink
from harness.mailbox_slave import RECEIVE, SEND, STATION, SimulatedMailboxSlave

SIZE = 128
MODES = list(StatusMode)


def fast(mode: StatusMode = StatusMode.HYBRID, *, attempts: int = 3, deadline: float = 2.0,
         reply_timeout: float = 0.2, **kwargs) -> MailboxPolicy:
    """A policy with short timeouts, for tests."""
    backoff = BackoffPolicy(attempts=attempts, initial_delay=0.0001, max_delay=0.002, deadline=deadline)
    return MailboxPolicy(status_mode=mode, backoff=backoff, reply_timeout=reply_timeout, **kwargs)


class Slave(SimulatedMailboxSlave):
    """One simulated mailbox slave on an in-process link, configured to PRE-OP."""

    def __init__(self, size: int = SIZE, *, bus_timeout: float = 0.01, bus_retries: int = 2) -> None:
        super().__init__(size, bus_timeout=bus_timeout, bus_retries=bus_retries)

    def engine(self, policy: MailboxPolicy, **kwargs) -> MailboxEngine:
        slave = MailboxSlave(STATION, RECEIVE, self.size, SEND, self.size, name="sim")
        return MailboxEngine(self.bus, slave, policy=policy, **kwargs)


class LoseReplies:
    """A wire that processes every frame but loses the reply frames ``lose`` picks."""

    def __init__(self, chain: SlaveChain, lose: Callable[[Frame], bool]) -> None:
        self.chain = chain
        self.lose = lose
        self.lost = 0

    def transmit(self, payload: bytes) -> Sequence[Delivery]:
        reply = self.chain.process(payload)
        if reply is None:
            return ()
        if self.lose(Frame.decode(bytes(reply))):
            self.lost += 1
            return ()
        return (Delivery(bytes(reply)),)


def full_mailbox_reads(count: int) -> Callable[[Frame], bool]:
    """Picks the first ``count`` frames whose read of the send mailbox returned a message."""
    left = [count]

    def lose(frame: Frame) -> bool:
        for datagram in frame.datagrams:
            if datagram.command == Command.FPRD and datagram.ado == SEND and datagram.wkc and left[0]:
                left[0] -= 1
                return True
        return False

    return lose


def echo(payload: bytes) -> list[bytes]:
    return [b"re:" + payload]


def answers(request: bytes) -> Callable[[MailboxMessage], bool]:
    return lambda message: message.payload == b"re:" + request


def emergency(code: int) -> bytes:
    return Emergency(code, ErrorRegister.GENERIC, bytes(5)).encode()


# ------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("mode", MODES)
def test_request_and_reply_in_every_status_mode(mode):
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        engine = sim.engine(fast(mode))
        frames = sim.bus.counters.frames_sent - sim.bus.counters.retries
        for n in range(5):
            reply = engine.request(MailboxType.COE, bytes((n,)) * 3, answers(bytes((n,)) * 3), what=f"echo {n}")
            assert reply.header.type == MailboxType.COE and reply.payload == b"re:" + bytes((n,)) * 3
        used = sim.bus.counters.frames_sent - sim.bus.counters.retries - frames  # not counting the bus's own re-sends
        c = engine.counters
        assert (c.requests, c.replies, c.retries, c.stale_discarded, c.mismatched_discarded) == (5, 5, 0, 0, 0)
        assert c.bytes_down == 5 * (6 + 3) and c.bytes_up == 5 * (6 + 6)
        assert c.latency.count == 5
    # strict reads the status before every access: twice the frames of the others
    assert used == {StatusMode.STRICT: 20, StatusMode.HYBRID: 10, StatusMode.POLL: 10}[mode]


def test_hybrid_frames_carry_the_status_read_before_the_access():
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        engine = sim.engine(fast(StatusMode.HYBRID))
        sent: list[Frame] = []
        send = sim.bus.link.send
        sim.bus.link.send = lambda payload: (sent.append(Frame.decode(payload)), send(payload))[1]
        engine.request(MailboxType.COE, b"x", answers(b"x"), what="echo")
        for frame in sent:
            status, access = frame.datagrams
            assert status.command == Command.FPRD and status.ado == sync_manager_address(0) + 5
            assert len(status.data) == 9  # 0x0805..0x080D: both mailbox status registers
            assert access.ado in (RECEIVE, SEND)


def test_poll_is_non_blocking_and_exchanges_at_most_one_frame():
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        engine = sim.engine(fast(StatusMode.STRICT))
        transaction = engine.submit(MailboxType.COE, b"step", answers(b"step"), what="echo")
        assert transaction.state is TransactionState.QUEUED and engine.busy
        polls = 0
        while not transaction.done:
            before = sim.bus.counters.frames_sent
            delay = engine.poll()
            assert sim.bus.counters.frames_sent - before <= 1
            assert delay >= 0
            polls += 1
        assert transaction.result().payload == b"re:step" and not engine.busy
        assert polls >= 4  # status, write, status, read


def test_send_only_and_receive_only_transactions():
    with Slave() as sim:
        seen = []
        sim.mailbox.register(MailboxType.COE, lambda payload: seen.append(payload) or [])
        engine = sim.engine(fast())
        engine.send(MailboxType.COE, b"fire and forget", what="notify")
        sim.mailbox.send(MailboxType.COE, b"unsolicited")
        message = engine.receive(MailboxType.COE, lambda m: m.payload == b"unsolicited", what="wait")
        assert message.payload == b"unsolicited" and seen == [b"fire and forget"]
        with pytest.raises(ValueError):
            engine.submit(MailboxType.COE, None, None, what="nothing")
        with pytest.raises(ValueError, match="do not fit"):
            engine.submit(MailboxType.COE, bytes(SIZE), None, what="too long")


def test_a_transaction_in_progress_has_no_result_yet():
    with Slave() as sim:
        engine = sim.engine(fast())
        transaction = engine.submit(MailboxType.COE, b"x", None, what="pending")
        with pytest.raises(RuntimeError, match="still queued"):
            transaction.result()
        engine.wait(transaction)
        assert transaction.result() is None


# --------------------------------------------------------------------- lost replies
@pytest.mark.parametrize("mode", MODES)
def test_a_lost_mailbox_read_is_recovered_with_the_repeat_protocol(mode):
    # the reply frame of the read is lost after the read emptied the mailbox; the engine never
    # lets the bus send a mailbox read again blindly (it would find the mailbox empty or take
    # the next message): it sees the lost frame and a repeat request brings the message back
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        wire = LoseReplies(sim.chain, full_mailbox_reads(1))
        sim.server.wire = wire
        engine = sim.engine(fast(mode, reply_timeout=0.1))
        assert engine.request(MailboxType.COE, b"A", answers(b"A"), what="echo").payload == b"re:A"
        c = engine.counters
        assert wire.lost == 1 and sim.mailbox.repeats == 1 and c.repeat_requests == 1
        assert c.retries == 0 and sim.mailbox.requests == 1  # recovered, not executed again
        # every mode detects the loss at once, none waits for the reply timeout
        assert (c.frame_timeouts, c.lost_reads, c.reply_timeouts) == (1, 1, 0)


@pytest.mark.parametrize("mode", MODES)
def test_a_read_frame_the_bus_gives_up_on_triggers_a_repeat(mode):
    with Slave(bus_retries=0, bus_timeout=0.05) as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        sim.server.wire = LoseReplies(sim.chain, full_mailbox_reads(1))
        engine = sim.engine(fast(mode))
        assert engine.request(MailboxType.COE, b"B", answers(b"B"), what="echo").payload == b"re:B"
        c = engine.counters
        assert (c.frame_timeouts, c.lost_reads, c.repeat_requests, c.reply_timeouts) == (1, 1, 1, 0)


def test_a_lost_write_frame_is_written_again_and_the_duplicate_dropped():
    left = [1]

    def lose_first_write(frame: Frame) -> bool:
        if any(d.command == Command.FPWR and d.ado == RECEIVE for d in frame.datagrams) and left[0]:
            left[0] -= 1
            return True
        return False

    with Slave(bus_retries=0, bus_timeout=0.05) as sim:
        calls = []
        sim.mailbox.register(MailboxType.COE, lambda p: calls.append(p) or echo(p))
        sim.server.wire = LoseReplies(sim.chain, lose_first_write)
        engine = sim.engine(fast(StatusMode.POLL))
        assert engine.request(MailboxType.COE, b"W", answers(b"W"), what="echo").payload == b"re:W"
        c = engine.counters
        assert c.frame_timeouts == 1 and c.requests == 1 and c.retries <= 1
        # executed once: either the reply was read before the write was due again, or the
        # second copy had the same counter and the slave dropped it
        assert calls == [b"W"]


# ------------------------------------------------------------------ stale / mismatched
def test_a_repeated_reply_is_discarded_as_stale():
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        sim.mailbox.outgoing_hook = lambda m: [m, m]
        engine = sim.engine(fast())
        for n in range(3):
            request = bytes((n,))
            assert engine.request(MailboxType.COE, request, answers(request), what="echo").payload == b"re:" + request
        while engine.poll() == 0:
            pass
        c = engine.counters
        assert c.stale_discarded == 3 and c.replies == 3 and c.mismatched_discarded == 0


def test_a_reply_with_the_previous_counter_is_stale_and_the_request_sent_again():
    with Slave() as sim:
        calls = []
        sim.mailbox.register(MailboxType.COE, lambda p: calls.append(p) or echo(p))
        engine = sim.engine(fast(reply_timeout=0.02))
        engine.request(MailboxType.COE, b"1", answers(b"1"), what="first")
        previous = sim.mailbox._sent_counter

        done: list[bool] = []

        def wrong_counter_once(message: MailboxMessage):
            if done:
                return [message]
            done.append(True)
            h = message.header
            return [MailboxMessage(MailboxHeader(h.length, h.address, h.channel, h.priority, h.type, previous),
                                   message.payload)]

        sim.mailbox.outgoing_hook = wrong_counter_once
        assert engine.request(MailboxType.COE, b"2", answers(b"2"), what="second").payload == b"re:2"
        c = engine.counters
        # discarded, then discarded again when the repeat request put it back; then re-sent
        assert c.stale_discarded == 2 and c.repeat_requests == 1 and c.retries == 1
        assert calls == [b"1", b"2", b"2"]


def test_unrelated_messages_are_discarded_as_mismatched():
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)

        def noise_first(message: MailboxMessage):
            noise = MailboxMessage(MailboxHeader(5, 0, 0, 0, MailboxType.COE, 0), b"noise")
            other_type = MailboxMessage(MailboxHeader(3, 0, 0, 0, MailboxType.EOE, 0), b"eoe")
            return [noise, other_type, message]

        sim.mailbox.outgoing_hook = noise_first
        engine = sim.engine(fast())
        assert engine.request(MailboxType.COE, b"q", answers(b"q"), what="echo").payload == b"re:q"
        assert engine.counters.mismatched_discarded == 2


def test_a_reply_held_back_by_the_slave_is_awaited():
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        held = []

        def hold_twice(message):
            held.append(message)
            return None if len(held) <= 2 else [message]

        sim.mailbox.outgoing_hook = hold_twice
        engine = sim.engine(fast(StatusMode.STRICT))
        assert engine.request(MailboxType.COE, b"slow", answers(b"slow"), what="echo").payload == b"re:slow"
        assert len(held) == 3 and engine.counters.reply_timeouts == 0


def test_a_malformed_message_is_discarded():
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, lambda p: [b"\x01"])  # no CoE header
        engine = sim.engine(fast(attempts=1, deadline=0.2, reply_timeout=0.02))
        sim.mailbox.send(MailboxType.COE, b"\x00\x10")  # CoE emergency header, no body
        with pytest.raises(FrameTimeout):
            engine.request(MailboxType.COE, b"x", lambda m: Emergency.decode(m.payload) is None, what="broken")
        assert engine.counters.malformed_discarded == 2


# ----------------------------------------------------------------- errors and timeouts
def test_a_mailbox_error_reply_raises_mailbox_error_with_code_and_text():
    with Slave() as sim:
        engine = sim.engine(fast())
        with pytest.raises(MailboxError) as error:
            engine.request(MailboxType.SOE, b"\x01\x00", lambda m: True, what="SoE read")
        assert error.value.code == 0x0002 and error.value.protocol == "SoE"
        assert "The Mailbox protocol is not supported" in str(error.value) and "0x1001 (sim)" in str(error.value)
        assert engine.counters.mailbox_errors == 1


def test_retry_exhaustion_is_a_frame_timeout_naming_slave_and_request():
    with Slave() as sim:
        calls = []
        sim.mailbox.register(MailboxType.COE, lambda p: calls.append(p) or [])  # never answers
        engine = sim.engine(fast(attempts=2, reply_timeout=0.02))
        with pytest.raises(FrameTimeout) as error:
            engine.request(MailboxType.COE, b"?", lambda m: True, what="SDO upload 0x1018:01")
        text = str(error.value)
        assert "SDO upload 0x1018:01" in text and "slave 0x1001 (sim)" in text
        assert "2 transmissions, 2 repeat requests" in text
        c = engine.counters
        assert (c.timeouts, c.retries, c.repeat_requests, c.reply_timeouts) == (1, 1, 2, 4)
        assert len(calls) == 2  # the second transmission had a new counter


def test_a_request_that_is_not_idempotent_is_never_executed_twice():
    with Slave() as sim:
        calls = []
        sim.mailbox.register(MailboxType.COE, lambda p: calls.append(p) or [])
        engine = sim.engine(fast(attempts=3, reply_timeout=0.02))
        with pytest.raises(FrameTimeout, match="1 transmissions, 1 repeat requests"):
            engine.request(MailboxType.COE, b"segment", lambda m: True, what="segment", idempotent=False)
        assert calls == [b"segment"] and engine.counters.retries == 0


def test_the_deadline_bounds_a_transaction_whose_mailbox_never_frees():
    with Slave() as sim:
        sim.state(ALState.INIT)  # the mailbox stops: its sync managers refuse every access
        engine = sim.engine(fast(StatusMode.POLL, deadline=0.1))
        started = time.monotonic()
        with pytest.raises(FrameTimeout, match="room in the receive mailbox for write"):
            engine.request(MailboxType.COE, b"x", lambda m: True, what="write")
        assert time.monotonic() - started < 0.5
        c = engine.counters
        assert c.mailbox_full >= 2 and c.requests == 1 and c.retries == c.mailbox_full - 1 and c.timeouts == 1


@pytest.mark.parametrize("mode", MODES)
def test_an_absent_slave_is_polled_with_backoff_until_the_deadline(mode):
    with Slave() as sim:
        absent = MailboxSlave(0x0BAD, RECEIVE, SIZE, SEND, SIZE)  # no slave answers this address
        engine = MailboxEngine(sim.bus, absent, policy=fast(mode, deadline=0.1))
        frames = sim.bus.counters.frames_sent
        with pytest.raises(FrameTimeout, match="room in the receive mailbox for write .* slave 0x0BAD"):
            engine.request(MailboxType.COE, b"x", lambda m: True, what="write")
        # backoff up to max_delay (2 ms): some tens of frames, not a busy loop
        assert sim.bus.counters.frames_sent - frames < 150


@pytest.mark.parametrize("mode", MODES)
def test_a_full_receive_mailbox_delays_the_write_without_deadlock(mode):
    # the slave takes a request only when its own message was read; the engine must read while
    # it waits to write
    with Slave() as sim:
        taken = []
        sim.mailbox.register(MailboxType.COE, lambda p: taken.append(p) or [])
        engine = sim.engine(fast(mode))
        sim.mailbox.send(MailboxType.COE, emergency(0x1000))
        sim.esc.frame_end()  # posted: the send mailbox is full
        first = engine.submit(MailboxType.COE, b"one", None, what="one")
        second = engine.submit(MailboxType.COE, b"two", None, what="two")
        engine.wait(first)
        engine.wait(second)
        while engine.poll() == 0:
            pass
        assert taken == [b"one", b"two"] and engine.counters.emergencies_received == 1
        # strict reads the waiting message before it writes at all; the others find the
        # receive mailbox full behind the first request
        assert (engine.counters.mailbox_full > 0) == (mode is not StatusMode.STRICT)


def test_a_receive_only_transaction_times_out_after_its_repeat():
    with Slave() as sim:
        engine = sim.engine(fast(reply_timeout=0.02))
        with pytest.raises(FrameTimeout, match="0 transmissions, 1 repeat requests"):
            engine.receive(MailboxType.COE, lambda m: True, what="nothing comes")
        assert engine.counters.repeat_requests == 1 and engine.counters.timeouts == 1


# ------------------------------------------------------------------------ emergencies
def test_emergencies_are_queued_at_any_time_and_the_oldest_dropped_when_full():
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        engine = sim.engine(fast(emergency_capacity=2))
        for code in (0x1000, 0x2310, 0x3210, 0x4210, 0x5000):
            sim.mailbox.send(MailboxType.COE, emergency(code))
        # the emergencies wait in front of the reply; the engine routes them while it waits
        assert engine.request(MailboxType.COE, b"r", answers(b"r"), what="echo").payload == b"re:r"
        c = engine.counters
        assert (c.emergencies_received, c.emergencies_dropped, c.replies, c.mismatched_discarded) == (5, 3, 1, 0)
        queued = engine.emergencies.drain()
        assert [e.emergency.error_code for e in queued] == [0x4210, 0x5000]  # the newest kept
        assert queued[0].slave == "0x1001 (sim)" and queued[0].emergency.text == "Device temperature"
        assert engine.emergencies.dropped == 3 and len(engine.emergencies) == 0


def test_idle_polls_collect_emergencies():
    with Slave() as sim:
        engine = sim.engine(fast(idle_poll_interval=0.001))
        sim.mailbox.send(MailboxType.COE, emergency(0x8110))
        deadline = time.monotonic() + 1.0
        while engine.emergencies.get() is None:
            assert time.monotonic() < deadline
            time.sleep(engine.poll())
        assert engine.counters.emergencies_received == 1


def test_emergency_queue_alone():
    queue = EmergencyQueue(1)
    first = ReceivedEmergency("a", Emergency(0x1000), 1.0)
    second = ReceivedEmergency("a", Emergency(0x2000), 2.0)
    assert queue.put(first) and not queue.put(second)
    assert queue.get() == second and queue.get() is None and queue.dropped == 1
    with pytest.raises(ValueError):
        EmergencyQueue(0)


# -------------------------------------------------------------------------- sharing
def test_engines_and_a_cycle_thread_share_the_bus():
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        engine = sim.engine(fast())
        stop = threading.Event()
        cycles = []

        def cycle():
            while not stop.is_set():
                cycles.append(sim.bus.count_slaves())

        thread = threading.Thread(target=cycle)
        thread.start()
        try:
            results = []

            def user(tag: int):
                for n in range(30):
                    request = bytes((tag, n))
                    results.append(engine.request(MailboxType.COE, request, answers(request), what="echo").payload)

            users = [threading.Thread(target=user, args=(t,)) for t in range(3)]
            for u in users:
                u.start()
            for u in users:
                u.join()
        finally:
            stop.set()
            thread.join()
        assert len(results) == 90 and set(cycles) == {1} and engine.counters.replies == 90


# ---------------------------------------------------------------------- diagnostics
def test_diagnostics_snapshot_has_the_versioned_schema():
    diagnostics = MailboxDiagnostics()
    with Slave() as sim:
        sim.mailbox.register(MailboxType.COE, echo)
        engine = sim.engine(fast(), diagnostics=diagnostics)
        for n in range(4):
            engine.request(MailboxType.COE, bytes((n,)), answers(bytes((n,))), what="echo")
    other = diagnostics.register(0x1002, "other")
    other.requests = 2
    other.latency.record(2.0)
    snapshot = json.loads(json.dumps(diagnostics.snapshot()))
    assert snapshot["schema_version"] == SCHEMA_VERSION == 1 and snapshot["kind"] == "ethercat_master.mailbox"
    assert [s["station_address"] for s in snapshot["slaves"]] == [0x1001, 0x1002]
    first = snapshot["slaves"][0]
    assert first["name"] == "sim" and set(COUNTER_FIELDS) <= set(first)
    assert snapshot["totals"]["requests"] == 6 and snapshot["totals"]["replies"] == 4
    latency = snapshot["totals"]["latency"]
    assert latency["count"] == 5 and latency["p99_us"] == latency["max_us"] == 2e6
    assert sum(b["count"] for b in latency["buckets"]) == 5 and latency["buckets"][-1]["le_us"] is None
    assert diagnostics.counters(0x1001) is engine.counters


def test_latency_histogram_percentiles():
    histogram = LatencyHistogram()
    assert histogram.percentile(50) is None and histogram.to_dict()["mean_us"] is None
    for seconds in [0.00005] * 90 + [0.003] * 9 + [0.2]:
        histogram.record(seconds)
    assert histogram.percentile(50) == 100 and histogram.percentile(90) == 100
    assert histogram.percentile(99) == 5_000 and histogram.percentile(100) == 250_000


def test_policies_refuse_nonsense():
    for bad in (dict(attempts=0), dict(initial_delay=0.1, max_delay=0.01), dict(factor=0.5), dict(deadline=0)):
        with pytest.raises(ValueError):
            BackoffPolicy(**bad)
    for bad in (dict(reply_timeout=0), dict(emergency_capacity=0)):
        with pytest.raises(ValueError):
            MailboxPolicy(**bad)
    assert BackoffPolicy(initial_delay=0.001, factor=2, max_delay=0.005).delay(5) == 0.005
    for bad in (dict(receive_size=6), dict(send_offset=0xFFF0), dict(send_sync_manager=0), dict(station_address=-1)):
        with pytest.raises(ValueError):
            MailboxSlave(**{**dict(station_address=1, receive_offset=0x1000, receive_size=128, send_offset=0x1100,
                                   send_size=128), **bad})
    with pytest.raises(ValueError, match="does not fit one frame"):
        MailboxEngine(Bus(InProcessLink.pair()[0]), MailboxSlave(1, 0x1000, 1480, 0x2000, 128))
