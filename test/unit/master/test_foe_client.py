"""The FoE client against a simulated slave (Esc + SlaveMailbox + FoEServer): 1 MiB round trips
with busy replies and progress, end-of-file rules, passwords, every error path, packet number
checks and lost replies."""

from __future__ import annotations

import struct
from typing import Sequence

import pytest

from ethercat_master.errors import FoEError, FrameTimeout
from ethercat_master.master.foe import FoEClient
from ethercat_master.master.mailbox import BackoffPolicy, MailboxEngine, MailboxPolicy, MailboxSlave
from ethercat_master.protocol.datagram import Command
from ethercat_master.protocol.foe import FoEAck, FoEData, decode_foe
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.mailbox import MailboxHeader, MailboxMessage, MailboxType
from ethercat_master.sim import SlaveChain
from ethercat_master.sim.chain import Delivery
from ethercat_master.sim.foe_server import FoEFile, FoEServer
from harness.mailbox_slave import RECEIVE, SEND, STATION, SimulatedMailboxSlave

SIZE = 1024
PACKET = SIZE - 12  # mailbox header and FoE header
U16 = struct.Struct("<H")
MIB = bytes((n * 7 + n // 256) & 0xFF for n in range(1 << 20))


class FoESlave(SimulatedMailboxSlave):
    """One simulated FoE slave on an in-process link, configured to PRE-OP."""

    def __init__(self, **server) -> None:
        super().__init__(SIZE, bus_timeout=0.05, bus_retries=0)
        self.foe = FoEServer(SIZE - 6, **server)
        self.mailbox.register(MailboxType.FOE, self.foe.handle)

    def __enter__(self) -> "FoESlave":
        super().__enter__()
        backoff = BackoffPolicy(attempts=3, initial_delay=0.0001, max_delay=0.002, deadline=2.0)
        policy = MailboxPolicy(backoff=backoff, reply_timeout=0.05)
        self.engine = MailboxEngine(self.bus, MailboxSlave(STATION, RECEIVE, SIZE, SEND, SIZE, name="foe"),
                                    policy=policy)
        self.client = FoEClient(self.engine)
        return self


def alter_once(slave: FoESlave, kind: type, change) -> None:
    """Replace the FoE payload of the next slave message of ``kind`` by ``change(packet)``."""
    done = []

    def hook(message: MailboxMessage):
        if not done and isinstance(decode_foe(message.payload), kind):
            done.append(True)
            payload = change(decode_foe(message.payload))
            h = message.header
            return [MailboxMessage(MailboxHeader(len(payload), h.address, h.channel, h.priority, h.type, h.counter),
                                   payload)]
        return [message]

    slave.mailbox.outgoing_hook = hook


# ----------------------------------------------------------------------- round trips
def test_one_mib_round_trip_with_busy_replies_and_progress():
    with FoESlave(busy_replies=3, busy_packet=2) as sim:
        written: list[tuple[int, int]] = []
        sim.client.write("firmware.bin", MIB, progress=lambda done, total: written.append((done, total)))
        assert sim.foe.files["firmware.bin"].data == MIB
        assert sim.engine.counters.busy_replies == sim.foe.counters.busy_sent == 3
        assert written[-1] == (len(MIB), len(MIB)) and len(written) == len(MIB) // PACKET + 1
        assert all(a[0] < b[0] for a, b in zip(written, written[1:]))
        read: list = []
        assert sim.client.read("firmware.bin", progress=lambda done, total: read.append((done, total))) == MIB
        assert read[-1] == (len(MIB), None) and len(read) == len(written)
        assert sim.foe.counters.reads_completed == 1 and sim.foe.state.value == "idle"
        c = sim.engine.counters
        assert c.bytes_down > len(MIB) and c.bytes_up > len(MIB) and c.timeouts == 0


@pytest.mark.parametrize("size", [0, 1, PACKET - 1, PACKET, 2 * PACKET])
def test_file_end_rules(size):
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    with FoESlave() as sim:
        sim.client.write("f", data)
        assert sim.foe.files["f"].data == data
        # a file of whole packets ends with an empty one
        assert sim.foe.counters.data_packets_received == size // PACKET + 1
        assert sim.client.read("f") == data
        assert sim.foe.counters.data_packets_sent == size // PACKET + 1


def test_passwords():
    with FoESlave() as sim:
        sim.client.write("secret", b"payload", password=0x1234)
        with pytest.raises(FoEError) as error:
            sim.client.read("secret")
        assert error.value.code == 0x800A and "No rights" in error.value.text and error.value.slave == "0x1001 (foe)"
        assert sim.client.read("secret", password=0x1234) == b"payload"


# ------------------------------------------------------------------------- errors
@pytest.mark.parametrize("action,code,text", [
    (lambda c: c.read("missing"), 0x8001, "Not found: no file 'missing'"),
    (lambda c: c.write("rom", b"x"), 0x8002, "Access denied"),
    (lambda c: c.write("big", bytes(3 * PACKET)), 0x8003, "Disk full"),
], ids=["not found", "read only", "disk full"])
def test_slave_errors_raise_foe_error_with_the_specification_text(action, code, text):
    with FoESlave(files={"rom": FoEFile(b"boot", read_only=True)}, max_file_size=2 * PACKET) as sim:
        with pytest.raises(FoEError) as error:
            action(sim.client)
        assert error.value.code == code and text in error.value.text
        assert sim.foe.state.value == "idle"


def test_a_data_packet_with_the_wrong_number_aborts_the_read():
    with FoESlave(files={"f": bytes(3 * PACKET)}) as sim:
        alter_once(sim, FoEData, lambda p: FoEData(p.packet_number + 1, p.data).encode())
        with pytest.raises(FoEError) as error:
            sim.client.read("f")
        assert error.value.code == 0x8005 and "data packet 2, expected 1" in error.value.text
        assert sim.engine.counters.aborts_sent == 1 and sim.foe.counters.aborts_received == 1


def test_an_acknowledge_with_the_wrong_number_aborts_the_write():
    with FoESlave() as sim:
        alter_once(sim, FoEAck, lambda p: FoEAck(p.packet_number + 5).encode())
        with pytest.raises(FoEError, match="acknowledge of packet 5, expected 0"):
            sim.client.write("f", b"data")
        assert sim.foe.counters.aborts_received == 1 and "f" not in sim.foe.files


def test_a_slave_that_stays_busy_is_aborted():
    with FoESlave(busy_replies=1000) as sim:
        sim.client.busy_timeout = 0.05
        with pytest.raises(FrameTimeout, match="still busy"):
            sim.client.write("slow", bytes(2 * PACKET))
        assert sim.engine.counters.busy_replies >= 2 and sim.foe.counters.aborts_received == 1
        with pytest.raises(ValueError):
            FoEClient(sim.engine, busy_timeout=0)


# -------------------------------------------------------------------- lost replies
class LoseReplies:
    """Loses the reply frames of the first ``count`` reads that emptied the send mailbox."""

    def __init__(self, chain: SlaveChain, count: int) -> None:
        self.chain = chain
        self.left = count

    def transmit(self, payload: bytes) -> Sequence[Delivery]:
        reply = self.chain.process(payload)
        if reply is None:
            return ()
        for datagram in Frame.decode(bytes(reply)).datagrams:
            if datagram.command == Command.FPRD and datagram.ado == SEND and datagram.wkc and self.left:
                self.left -= 1
                return ()
        return (Delivery(bytes(reply)),)


def test_lost_data_packets_are_recovered_with_the_repeat_protocol():
    with FoESlave(files={"f": MIB[:20 * PACKET + 5]}) as sim:
        sim.server.wire = LoseReplies(sim.chain, 3)
        assert sim.client.read("f") == MIB[:20 * PACKET + 5]
        c = sim.engine.counters
        assert c.repeat_requests == c.lost_reads == 3 and c.retries == 0 and c.timeouts == 0
        assert sim.mailbox.repeats == 3
