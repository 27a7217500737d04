"""The CoE client against a simulated slave (Esc + SlaveMailbox + CoeServer): every SDO form,
typed access, SDO information, each abort path, toggle errors, interrupted transfers, and a
mixed-stream soak with injected faults."""

from __future__ import annotations

import random
import struct
import time
from typing import Optional

import pytest

from ethercat_master.errors import FrameTimeout, MailboxError, SdoAbort
from ethercat_master.master.coe import CoEClient
from ethercat_master.master.mailbox import BackoffPolicy, MailboxEngine, MailboxPolicy, MailboxSlave, StatusMode
from ethercat_master.protocol.coe import (
    DataType,
    Direction,
    ObjectAccess,
    ObjectCode,
    OdListType,
    SdoDownloadSegmentResponse,
    SdoUploadExpeditedResponse,
    SdoUploadSegmentResponse,
    ValueInfo,
    decode_coe,
)
from ethercat_master.protocol.mailbox import MailboxMessage, MailboxType
from ethercat_master.sim.coe_server import CoeServer
from ethercat_master.sim.faults import FaultPlan, FaultRate, FaultyWire
from ethercat_master.sim.object_dictionary import (
    READ_ONLY,
    READ_WRITE,
    WRITE_ONLY,
    ObjectDictionary,
    OdEntry,
    array,
    device_name,
    device_type,
    error_register,
    identity,
    record,
    var,
)
from harness.mailbox_slave import RECEIVE, SEND, STATION, SimulatedMailboxSlave

SIZE = 128
LONG_TEXT = "".join(chr(ord("a") + n % 26) for n in range(8191))  # the largest VISIBLE_STRING
BLOB = bytes(range(256)) * 40  # 10 KiB
UNIT_TYPE = 0x0001


def objects() -> list:
    """The simulated slave's object dictionary."""
    return [
        device_type(0x00020192),
        error_register(),
        device_name("Simulated CoE slave"),
        identity(0x00000002, 0x12345678, 7, 42),
        var(0x2000, "U8", DataType.UNSIGNED8, 7, access=READ_WRITE),
        var(0x2001, "I16", DataType.INTEGER16, -5, access=READ_WRITE, minimum=-100, maximum=100, default=0,
            unit=UNIT_TYPE),
        var(0x2002, "U32", DataType.UNSIGNED32, 0xDEADBEEF, access=READ_WRITE),
        var(0x2003, "Real", DataType.REAL32, 1.5, access=READ_WRITE),
        var(0x2004, "Flag", DataType.BOOLEAN, False, access=READ_WRITE),
        var(0x2005, "U64", DataType.UNSIGNED64, 2**40 + 3, access=READ_WRITE),
        var(0x2006, "Short text", DataType.VISIBLE_STRING, "hello", bit_length=64 * 8, access=READ_WRITE),
        var(0x2007, "Long text", DataType.VISIBLE_STRING, LONG_TEXT, bit_length=len(LONG_TEXT) * 8,
            access=READ_WRITE),
        var(0x2008, "Blob", DataType.DOMAIN, b"", access=READ_WRITE),
        var(0x2009, "Write only", DataType.UNSIGNED16, 0, access=WRITE_ONLY),
        var(0x6000, "Input", DataType.UNSIGNED16, 3, access=READ_ONLY | ObjectAccess.TXPDO_MAPPABLE),
        array(0x3000, "Table", DataType.UNSIGNED16, [1, 2, 3, 4], access=READ_WRITE),
        array(0x3001, "Big table", DataType.UNSIGNED32, list(range(100)), access=READ_WRITE),
        record(0x3002, "Pair", [OdEntry(1, "A", DataType.UNSIGNED8, READ_WRITE, 1),
                                OdEntry(2, "B", DataType.INTEGER32, READ_WRITE, -2)]),
    ]


class CoeSlave(SimulatedMailboxSlave):
    """One simulated CoE slave on an in-process link, configured to PRE-OP."""

    def __init__(self, size: int = SIZE, *, policy: Optional[MailboxPolicy] = None, bus_timeout: float = 0.05) -> None:
        # the engine recovers lost frames itself: its bus never re-sends (docs/mailbox.md)
        super().__init__(size, bus_timeout=bus_timeout, bus_retries=0)
        self.od = ObjectDictionary(lambda: self.esc.al_state, objects())
        self.coe = CoeServer(self.od, mailbox_size=size, emergency_queue=64)
        self.mailbox.register(MailboxType.COE, self.coe.handle)
        self.esc.add_frame_end_hook(self._post_emergencies)
        self.policy = policy or fast()

    def _post_emergencies(self) -> None:
        for payload in self.coe.pop_emergencies():
            self.mailbox.send(MailboxType.COE, payload)

    def __enter__(self) -> "CoeSlave":
        super().__enter__()
        slave = MailboxSlave(STATION, RECEIVE, self.size, SEND, self.size, name="coe")
        self.engine = MailboxEngine(self.bus, slave, policy=self.policy)
        self.client = CoEClient(self.engine)
        return self


def fast(mode: StatusMode = StatusMode.HYBRID) -> MailboxPolicy:
    backoff = BackoffPolicy(attempts=3, initial_delay=0.0001, max_delay=0.002, deadline=2.0)
    return MailboxPolicy(status_mode=mode, backoff=backoff, reply_timeout=0.05, emergency_capacity=256)


@pytest.fixture
def sim():
    with CoeSlave() as slave:
        yield slave


def rewrite(slave: CoeSlave, kind: type, change, times: int = 1) -> list:
    """Pass the next ``times`` slave messages of ``kind`` through ``change(message) -> payload``."""
    done: list = []

    def hook(message: MailboxMessage):
        if len(done) < times and message.header.type == MailboxType.COE:
            decoded = decode_coe(message.payload, Direction.SLAVE_TO_MASTER)
            if isinstance(decoded, kind):
                done.append(decoded)
                payload = change(decoded)
                if payload is None:
                    return []
                h = message.header
                return [MailboxMessage(type(h)(len(payload), h.address, h.channel, h.priority, h.type, h.counter),
                                       payload)]
        return [message]

    slave.mailbox.outgoing_hook = hook
    return done


# ------------------------------------------------------------------------ SDO forms
def test_expedited_upload_and_download(sim):
    client = sim.client
    assert client.upload(0x2000) == b"\x07"
    assert client.upload(0x2002) == struct.pack("<I", 0xDEADBEEF)
    client.download(0x2002, 0, struct.pack("<I", 0x01020304))
    assert sim.od.get(0x2002, 0) == 0x01020304
    client.download(0x2000, 0, b"\x09")
    assert sim.od.get(0x2000, 0) == 9


@pytest.mark.parametrize("data_type,index,value", [
    (DataType.UNSIGNED8, 0x2000, 200),
    (DataType.INTEGER16, 0x2001, -77),
    (DataType.UNSIGNED32, 0x2002, 0xFFFFFFFE),
    (DataType.REAL32, 0x2003, -2.25),
    (DataType.BOOLEAN, 0x2004, True),
    (DataType.UNSIGNED64, 0x2005, 2**63 + 11),
    (DataType.VISIBLE_STRING, 0x2006, "sixty-four octets at most"),
])
def test_typed_write_then_read(sim, data_type, index, value):
    sim.client.write(index, 0, value, data_type)
    assert sim.od.get(index, 0) == value
    assert sim.client.read(index, 0, data_type) == value


def test_normal_transfer_fits_one_mailbox(sim):
    text = "n" * (SIZE - 16)  # exactly the room of a normal download
    sim.client.write(0x2007, 0, text, DataType.VISIBLE_STRING)
    assert sim.client.read(0x2007, 0, DataType.VISIBLE_STRING) == text
    assert sim.engine.counters.requests == 2  # one request each way: no segments


def test_segmented_string_and_domain_of_10_kib(sim):
    assert sim.client.read(0x2007, 0, DataType.VISIBLE_STRING) == LONG_TEXT
    reversed_text = LONG_TEXT[::-1]
    sim.client.write(0x2007, 0, reversed_text, DataType.VISIBLE_STRING)
    assert sim.od.get(0x2007, 0) == reversed_text
    sim.client.download(0x2008, 0, BLOB)
    assert sim.od.get(0x2008, 0) == BLOB
    assert sim.client.upload(0x2008) == BLOB
    c = sim.engine.counters
    segments = 2 * (-(-(len(BLOB) - (SIZE - 16)) // (SIZE - 9)))
    assert c.requests >= segments and c.stale_discarded == c.mismatched_discarded == 0


def test_expedited_upload_without_size_indicator_is_trimmed_to_the_type(sim):
    rewrite(sim, SdoUploadExpeditedResponse,
            lambda m: SdoUploadExpeditedResponse(m.index, m.subindex, m.data.ljust(4, b"\xAA"),
                                                 size_indicated=False).encode(), times=2)
    assert sim.client.read(0x2000, 0, DataType.UNSIGNED8) == 7
    assert sim.client.upload(0x2001) == struct.pack("<h", -5) + b"\xAA\xAA"


def test_complete_access_upload_and_download(sim):
    client = sim.client
    raw = client.upload(0x1018, 0, complete_access=True)
    assert raw == struct.pack("<HIIII", 4, 2, 0x12345678, 7, 42)  # SI0 sent as 16 bits
    assert client.upload(0x3000, 1, complete_access=True) == struct.pack("<4H", 1, 2, 3, 4)
    client.download(0x3000, 1, struct.pack("<4H", 9, 8, 7, 6), complete_access=True)
    assert [sim.od.get(0x3000, s) for s in range(1, 5)] == [9, 8, 7, 6]
    # segmented in both directions: 2 + 400 octets
    big = struct.pack("<H100I", 100, *range(1000, 1100))
    client.download(0x3001, 0, big, complete_access=True)
    assert client.upload(0x3001, 0, complete_access=True) == big
    assert client.read(0x3002, 0, DataType.OCTET_STRING, complete_access=True) == struct.pack("<HBi", 2, 1, -2)


# ------------------------------------------------------------------------ aborts
@pytest.mark.parametrize("action,index,subindex,code", [
    (lambda c: c.upload(0x7777), 0x7777, 0, 0x06020000),
    (lambda c: c.upload(0x2000, 5), 0x2000, 5, 0x06090011),
    (lambda c: c.upload(0x2009), 0x2009, 0, 0x06010001),
    (lambda c: c.download(0x1000, 0, b"\x01\x02\x03\x04"), 0x1000, 0, 0x06010002),
    (lambda c: c.write(0x2001, 0, 1000, DataType.INTEGER16), 0x2001, 0, 0x06090031),
    (lambda c: c.download(0x2002, 0, b"\x01\x02\x03"), 0x2002, 0, 0x06070013),
    (lambda c: c.write(0x2006, 0, "y" * 100, DataType.VISIBLE_STRING), 0x2006, 0, 0x06070012),
    (lambda c: c.write(0x2006, 0, "z" * 300, DataType.VISIBLE_STRING), 0x2006, 0, 0x06070012),  # segmented
    (lambda c: c.upload(0x2007, 0, complete_access=True), 0x2007, 0, 0x06010000),
], ids=["no object", "no subindex", "write only", "read only", "too high", "too short", "too long normal",
        "too long segmented", "complete access to a VAR"])
def test_each_abort_raises_sdo_abort_with_code_and_text(sim, action, index, subindex, code):
    with pytest.raises(SdoAbort) as error:
        action(sim.client)
    abort = error.value
    assert (abort.index, abort.subindex, abort.code, abort.slave) == (index, subindex, code, "0x1001 (coe)")
    assert abort.text and abort.text in str(abort)
    assert sim.engine.counters.sdo_aborts == 1
    assert sim.client.read(0x2000, 0, DataType.UNSIGNED8) == 7  # the conversation goes on


# ------------------------------------------------------------------------ toggle errors
def test_upload_segment_with_wrong_toggle_aborts_the_transfer(sim):
    seen = rewrite(sim, SdoUploadSegmentResponse,
                   lambda m: SdoUploadSegmentResponse(not m.toggle, m.data, m.last).encode())
    with pytest.raises(MailboxError, match="toggle bit 1, expected 0.*0x05030000"):
        sim.client.upload(0x2007)
    assert len(seen) == 1 and sim.engine.counters.aborts_sent == 1
    assert sim.coe._transfer is None  # the slave got the abort and dropped the transfer
    assert sim.client.upload(0x2007) == LONG_TEXT.encode()


def test_download_segment_response_with_wrong_toggle_aborts_the_transfer(sim):
    rewrite(sim, SdoDownloadSegmentResponse, lambda m: SdoDownloadSegmentResponse(not m.toggle).encode())
    with pytest.raises(MailboxError, match="download segment response toggle bit 1, expected 0"):
        sim.client.download(0x2008, 0, BLOB)
    assert sim.od.get(0x2008, 0) == b"" and sim.coe._transfer is None


def test_segment_data_beyond_the_announced_size_is_aborted(sim):
    rewrite(sim, SdoUploadSegmentResponse, lambda m: SdoUploadSegmentResponse(m.toggle, m.data, True).encode())
    with pytest.raises(MailboxError, match="0x06070010"):
        sim.client.upload(0x2007)
    assert sim.engine.counters.aborts_sent == 1


# ----------------------------------------------------------------- interrupted transfers
@pytest.mark.parametrize("attempts", [1, 2])
def test_an_unanswered_segment_restarts_the_transfer(sim, attempts):
    sim.client.transfer_attempts = attempts
    rewrite(sim, SdoUploadSegmentResponse, lambda m: None)  # the slave loses one segment response
    if attempts == 1:
        with pytest.raises(FrameTimeout, match="SDO upload 0x2007:00"):
            sim.client.upload(0x2007)
    else:
        assert sim.client.upload(0x2007) == LONG_TEXT.encode()
    c = sim.engine.counters
    assert c.aborts_sent == 1 and c.repeat_requests == 1 and c.timeouts == 1


# ------------------------------------------------------------------ SDO information
def test_object_lists(sim):
    indices = tuple(sorted(obj.index for obj in sim.od))
    assert sim.client.od_list() == indices
    assert sim.client.od_list(OdListType.TXPDO_MAPPABLE) == (0x6000,)
    lengths = sim.client.od_list_lengths()
    assert lengths[OdListType.ALL] == len(indices) and lengths[OdListType.TXPDO_MAPPABLE] == 1
    with pytest.raises(ValueError):
        sim.client.od_list(OdListType.LENGTHS)


def test_object_and_entry_descriptions(sim):
    description = sim.client.object_description(0x1018)
    assert (description.object_code, description.max_subindex, description.data_type, description.name) == (
        ObjectCode.RECORD, 4, DataType.IDENTITY, "Identity")
    entry = sim.client.entry_description(0x2001, 0)
    assert (entry.data_type, entry.bit_length, entry.name, entry.unit_type) == (
        DataType.INTEGER16, 16, "I16", UNIT_TYPE)
    assert [struct.unpack("<h", v)[0] for v in (entry.default_value, entry.minimum_value, entry.maximum_value)] == [
        0, -100, 100]
    assert entry.object_access & ObjectAccess.WRITE_OP
    plain = sim.client.entry_description(0x2000, 0, ValueInfo(0))
    assert plain.unit_type is None and plain.default_value is None


def test_sdo_information_errors_raise_sdo_abort(sim):
    with pytest.raises(SdoAbort) as error:
        sim.client.object_description(0x7777)
    assert (error.value.index, error.value.code) == (0x7777, 0x06020000)
    with pytest.raises(SdoAbort) as error:
        sim.client.entry_description(0x2000, 9)
    assert (error.value.index, error.value.subindex, error.value.code) == (0x2000, 9, 0x06090011)
    assert sim.engine.counters.sdo_aborts == 2


def test_fragmented_sdo_information_is_reassembled():
    with CoeSlave(32) as small:  # 32-octet mailboxes: 20 octets per fragment
        indices = small.client.od_list()
        assert indices == tuple(sorted(obj.index for obj in small.od)) and len(indices) > 10
        assert small.client.object_description(0x1008).name == "Device name"
        long_name = small.client.entry_description(0x2007, 0)
        assert long_name.name == "Long text"
        assert small.client.read(0x1008, 0, DataType.VISIBLE_STRING) == "Simulated CoE slave"  # segmented
        assert small.engine.counters.replies > len(indices) * 2 // 20


# ------------------------------------------------------------------ emergencies
def test_emergencies_during_sdo_traffic_reach_the_queue(sim):
    sim.coe.raise_emergency(0x2310, 0x03)
    assert sim.client.read(0x2000, 0, DataType.UNSIGNED8) == 7
    deadline = time.monotonic() + 1.0
    while not len(sim.engine.emergencies):  # queued behind the reply: idle polls collect it
        assert time.monotonic() < deadline
        time.sleep(sim.engine.poll())
    received = sim.engine.emergencies.drain()
    assert [(e.emergency.error_code, int(e.emergency.error_register)) for e in received] == [(0x2310, 0x03)]
    assert sim.od.get(0x1001, 0) == 0x03


# ------------------------------------------------------------------------ soak
def soak(sim: CoeSlave, operations: int, seed: int) -> dict:
    """``operations`` mixed SDO transactions with emergencies and injected mailbox and frame
    faults; every one must succeed (or abort exactly where the dictionary says so)."""
    rng = random.Random(seed)
    faults = {"duplicated": 0, "dropped": 0, "held": 0}

    def hook(message: MailboxMessage):
        is_emergency = message.payload[:2] == b"\x00\x10"
        roll = rng.random()
        if roll < 0.03:
            faults["duplicated"] += 1
            return [message, message]
        if roll < 0.035 and not is_emergency:
            faults["dropped"] += 1
            return []
        if roll < 0.07:
            faults["held"] += 1
            return None
        return [message]

    sim.mailbox.outgoing_hook = hook
    sim.server.wire = FaultyWire(sim.chain, FaultPlan(seed=seed, loss=FaultRate(probability=0.01)))
    client = sim.client
    client.transfer_attempts = 4  # a dropped segment response can only be recovered by a restart
    shadow = {0x2000: 7, 0x2001: -5, 0x2002: 0xDEADBEEF, 0x2005: 2**40 + 3, 0x2006: "hello"}
    types = {0x2000: DataType.UNSIGNED8, 0x2001: DataType.INTEGER16, 0x2002: DataType.UNSIGNED32,
             0x2005: DataType.UNSIGNED64, 0x2006: DataType.VISIBLE_STRING}
    emergencies = expected_aborts = 0
    for n in range(operations):
        kind = rng.random()
        index = rng.choice(list(shadow))
        if kind < 0.35:
            assert client.read(index, 0, types[index]) == shadow[index]
        elif kind < 0.60:
            value = {0x2006: "".join(rng.choice("abc") for _ in range(rng.randrange(1, 64)))}.get(
                index, rng.randrange(-100, 101) if index == 0x2001 else rng.randrange(0, 256))
            client.write(index, 0, value, types[index])
            shadow[index] = value
        elif kind < 0.75:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(100, 600)))
            client.download(0x2008, 0, data)
            assert client.upload(0x2008) == data
        elif kind < 0.85:
            assert client.upload(0x1018, 0, complete_access=True)[:2] == b"\x04\x00"
        elif kind < 0.90:
            assert client.object_description(0x2000 + rng.randrange(10)).object_code == ObjectCode.VAR
        elif kind < 0.95:
            with pytest.raises(SdoAbort):
                client.upload(0x7000 + rng.randrange(16))
            expected_aborts += 1
        else:
            sim.coe.raise_emergency(0x1000 + n, 0x01)
            emergencies += 1
            assert client.read(0x6000, 0, DataType.UNSIGNED16) == 3
    sim.mailbox.outgoing_hook = None
    sim.server.wire = None
    quiet_until = time.monotonic() + 0.1
    while time.monotonic() < quiet_until:  # collect what is still in flight (duplicates, emergencies)
        time.sleep(sim.engine.poll())
    return {"faults": faults, "emergencies": emergencies, "expected_aborts": expected_aborts}


def assert_consistent(sim: CoeSlave, outcome: dict) -> None:
    c = sim.engine.counters
    received = sim.engine.emergencies.drain()
    assert c.emergencies_received == len(received) == outcome["emergencies"] and c.emergencies_dropped == 0
    assert c.sdo_aborts == outcome["expected_aborts"]
    # every failed transaction was an unanswered segment step, aborted and started again
    assert c.timeouts == c.aborts_sent
    # one reply for every request except the aborts sent and the transactions that failed
    assert c.replies == c.requests - c.aborts_sent - c.timeouts
    # every duplicate that was read was discarded by its counter
    assert outcome["faults"]["duplicated"] <= c.stale_discarded <= outcome["faults"]["duplicated"] + c.repeat_requests
    assert c.mailbox_errors == c.malformed_discarded == 0
    # a reply that comes late, after its request was re-sent or given up, answers nothing
    assert c.mismatched_discarded <= c.retries + c.timeouts
    assert c.latency.count == c.replies


@pytest.mark.slow
def test_mixed_stream_soak_with_injected_faults():
    with CoeSlave(bus_timeout=0.01) as sim:
        outcome = soak(sim, 2000, seed=7)
        assert_consistent(sim, outcome)
        faults = outcome["faults"]
        assert faults["duplicated"] > 20 and faults["dropped"] > 3 and faults["held"] > 20
        assert sim.engine.counters.frame_timeouts + sim.bus.counters.retries > 0
        assert sim.engine.counters.repeat_requests > 0


@pytest.mark.parametrize("mode", [StatusMode.STRICT, StatusMode.POLL])
def test_short_soak_in_the_other_status_modes(mode):
    with CoeSlave(policy=fast(mode), bus_timeout=0.01) as sim:
        assert_consistent(sim, soak(sim, 300, seed=11))
