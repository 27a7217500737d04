"""The FoE server of a simulated slave, driven packet by packet as SOEM's ecx_FOEread and
ecx_FOEwrite drive a slave (data size = mailbox size - 12, acks by packet number, BUSY makes
the master send the same packet again)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import MailboxError
from ethercat_master.protocol.foe import (
    FoEAck,
    FoEBusy,
    FoEData,
    FoEErrorCode,
    FoEErrorMessage,
    FoEReadRequest,
    FoEWriteRequest,
    decode_foe,
)
from ethercat_master.protocol.mailbox import MailboxErrorCode
from ethercat_master.sim.foe_server import FoEFile, FoEServer, FoEServerState

MAILBOX = 64  # bytes of the mailbox: 58 of payload, 52 of file data per packet
PAYLOAD = MAILBOX - 6
CHUNK = MAILBOX - 12
FILE = bytes(range(256)) * 40  # 10 KiB


def one(server: FoEServer, message) -> object:
    """Send one FoE message, expect exactly one reply, decode it."""
    replies = server.handle(message.encode())
    assert len(replies) == 1, replies
    assert len(replies[0]) <= PAYLOAD
    return decode_foe(replies[0])


def error_code(reply) -> int:
    assert isinstance(reply, FoEErrorMessage), reply
    return reply.code


def read(server: FoEServer, name: str, password: int = 0) -> tuple[bytes, list[int]]:
    """ecx_FOEread: RRQ, then ACK every data packet by its number while packets are full."""
    reply = one(server, FoEReadRequest(name, password))
    data, sizes, expected = b"", [], 1
    while True:
        assert isinstance(reply, FoEData), reply
        assert reply.packet_number == expected
        data += reply.data
        sizes.append(len(reply.data))
        last = len(reply.data) < CHUNK
        replies = server.handle(FoEAck(reply.packet_number).encode())
        if last:
            assert replies == []
            return data, sizes
        (raw,) = replies
        reply = decode_foe(raw)
        expected += 1


def write(server: FoEServer, name: str, content: bytes, password: int = 0) -> list[object]:
    """ecx_FOEwrite: WRQ, ACK 0, then data packets; on BUSY the same packet again; a final
    empty packet when the last one was full. Returns the slave's replies in order."""
    replies = [one(server, FoEWriteRequest(name, password))]
    if not isinstance(replies[-1], FoEAck):
        return replies
    assert replies[-1].packet_number == 0
    packet, offset = 1, 0
    while True:
        chunk = content[offset : offset + CHUNK]
        reply = one(server, FoEData(packet, chunk))
        replies.append(reply)
        if isinstance(reply, FoEBusy):
            continue
        if not isinstance(reply, FoEAck):
            return replies
        assert reply.packet_number == packet
        if len(chunk) < CHUNK:
            return replies
        packet, offset = packet + 1, offset + CHUNK


# -------------------------------------------------------------------------------------- read
def test_read_of_a_10_kib_file_through_a_small_mailbox():
    server = FoEServer(PAYLOAD, files={"firmware.bin": FILE})
    data, sizes = read(server, "firmware.bin")
    assert data == FILE
    assert sizes[:-1] == [CHUNK] * (len(sizes) - 1)
    assert sizes[-1] == len(FILE) % CHUNK
    assert server.counters.reads_completed == 1
    assert server.counters.data_packets_sent == len(sizes)
    assert server.state is FoEServerState.IDLE


def test_a_file_of_whole_packets_ends_with_an_empty_packet():
    content = bytes(CHUNK * 3)
    server = FoEServer(PAYLOAD, files={"f": content})
    data, sizes = read(server, "f")
    assert data == content
    assert sizes == [CHUNK, CHUNK, CHUNK, 0]


@settings(max_examples=60, deadline=None)
@given(content=st.binary(max_size=600), payload=st.integers(min_value=7, max_value=80))
def test_read_returns_any_file_in_full_packets_then_one_shorter(content, payload):
    server = FoEServer(payload, files={"f": content})
    reply = decode_foe(server.handle(FoEReadRequest("f").encode())[0])
    chunk, received = payload - 6, []
    while True:
        assert isinstance(reply, FoEData)
        received.append(reply.data)
        replies = server.handle(FoEAck(reply.packet_number).encode())
        if len(reply.data) < chunk:
            break
        reply = decode_foe(replies[0])
    assert b"".join(received) == content
    assert all(len(part) == chunk for part in received[:-1])
    assert len(received) == len(content) // chunk + 1


def test_ack_with_a_wrong_packet_number_ends_the_read_with_0x8005():
    server = FoEServer(PAYLOAD, files={"f": FILE})
    assert isinstance(one(server, FoEReadRequest("f")), FoEData)
    assert error_code(one(server, FoEAck(2))) == FoEErrorCode.PACKET_NUMBER_WRONG
    assert server.state is FoEServerState.IDLE
    assert error_code(one(server, FoEAck(1))) == FoEErrorCode.ILLEGAL  # no transfer any more


def test_read_of_an_unknown_file_is_not_found():
    server = FoEServer(PAYLOAD, files={"f": FILE})
    assert error_code(one(server, FoEReadRequest("g"))) == FoEErrorCode.NOT_FOUND


def test_wrong_password_is_no_rights_and_the_right_one_reads():
    server = FoEServer(PAYLOAD, files={"secret": FoEFile(b"xyz", password=0x1234)})
    assert error_code(one(server, FoEReadRequest("secret", 0))) == FoEErrorCode.NO_RIGHTS
    assert read(server, "secret", 0x1234)[0] == b"xyz"


def test_busy_from_the_master_makes_the_server_send_the_packet_again():
    server = FoEServer(PAYLOAD, files={"f": FILE})
    first = one(server, FoEReadRequest("f"))
    again = one(server, FoEBusy(0, 100))
    assert again == first
    assert isinstance(one(server, FoEAck(1)), FoEData)


def test_master_error_aborts_a_read_without_reply():
    server = FoEServer(PAYLOAD, files={"f": FILE})
    one(server, FoEReadRequest("f"))
    assert server.handle(FoEErrorMessage(FoEErrorCode.NOT_DEFINED).encode()) == []
    assert server.state is FoEServerState.IDLE
    assert server.counters.aborts_received == 1


# ------------------------------------------------------------------------------------- write
def test_write_of_a_10_kib_file_is_stored_only_when_complete():
    server = FoEServer(PAYLOAD)
    one(server, FoEWriteRequest("new.bin", 7))
    one(server, FoEData(1, FILE[:CHUNK]))
    assert "new.bin" not in server.files
    server = FoEServer(PAYLOAD)
    replies = write(server, "new.bin", FILE, password=7)
    assert all(isinstance(r, FoEAck) for r in replies)
    assert [r.packet_number for r in replies] == list(range(len(FILE) // CHUNK + 2))
    assert server.files["new.bin"] == FoEFile(FILE, password=7)
    assert read(server, "new.bin", 7)[0] == FILE
    assert server.counters.writes_completed == 1


def test_a_write_of_whole_packets_needs_the_final_empty_packet():
    server = FoEServer(PAYLOAD)
    one(server, FoEWriteRequest("f"))
    one(server, FoEData(1, bytes(CHUNK)))
    assert "f" not in server.files
    assert one(server, FoEData(2, b"")) == FoEAck(2)
    assert server.files["f"].data == bytes(CHUNK)


def test_receive_and_send_mailboxes_of_different_sizes():
    server = FoEServer(PAYLOAD, write_max_payload=128 - 6, files={"f": FILE})
    one(server, FoEWriteRequest("g"))
    assert one(server, FoEData(1, bytes(CHUNK))) == FoEAck(1)  # shorter than 116: the last one
    assert server.files["g"].data == bytes(CHUNK)
    one(server, FoEWriteRequest("h"))
    one(server, FoEData(1, bytes(116)))
    assert "h" not in server.files  # a full packet: more to come
    assert error_code(one(server, FoEData(2, bytes(117)))) == FoEErrorCode.ILLEGAL  # too long
    assert read(server, "f")[1][0] == CHUNK  # reads use the send mailbox


def test_data_packet_out_of_sequence_is_0x8005_and_nothing_is_stored():
    server = FoEServer(PAYLOAD)
    one(server, FoEWriteRequest("f"))
    one(server, FoEData(1, bytes(CHUNK)))
    assert error_code(one(server, FoEData(3, b"x"))) == FoEErrorCode.PACKET_NUMBER_WRONG
    assert server.files == {}


def test_overwrite_needs_the_password_and_a_writable_file():
    server = FoEServer(
        PAYLOAD, files={"locked": FoEFile(b"a", read_only=True), "mine": FoEFile(b"b", password=5)}
    )
    assert error_code(write(server, "locked", b"new")[0]) == FoEErrorCode.ACCESS_DENIED
    assert error_code(write(server, "mine", b"new")[0]) == FoEErrorCode.NO_RIGHTS
    write(server, "mine", b"new", password=5)
    assert server.files["mine"].data == b"new"
    assert server.files["locked"].data == b"a"


def test_disk_full_for_a_file_too_large_and_for_a_full_store():
    server = FoEServer(PAYLOAD, max_file_size=100)
    replies = write(server, "big", bytes(101))
    assert error_code(replies[-1]) == FoEErrorCode.DISK_FULL
    assert server.files == {}
    server = FoEServer(PAYLOAD, files={"old": bytes(900), "f": bytes(50)}, capacity=1000)
    write(server, "f", bytes(100))  # replaces f: 900 + 100 fits
    assert len(server.files["f"].data) == 100
    assert error_code(write(server, "g", bytes(1))[-1]) == FoEErrorCode.DISK_FULL


def test_busy_n_times_then_ack_and_the_packet_is_stored_once():
    server = FoEServer(PAYLOAD, busy_replies=3, busy_packet=2)
    replies = write(server, "f", FILE)
    busy = [r for r in replies if isinstance(r, FoEBusy)]
    assert busy == [FoEBusy(0, 3), FoEBusy(1, 3), FoEBusy(2, 3)]
    assert replies[2:6] == busy + [FoEAck(2)]
    assert server.files["f"].data == FILE
    assert server.counters.busy_sent == 3
    write(server, "g", b"short")  # every write gets its BUSY answers; this one has no packet 2
    assert server.files["g"].data == b"short"


def test_master_error_aborts_a_write_and_nothing_is_stored():
    server = FoEServer(PAYLOAD)
    one(server, FoEWriteRequest("f"))
    one(server, FoEData(1, bytes(CHUNK)))
    assert server.handle(FoEErrorMessage(FoEErrorCode.DISK_FULL, "master gives up").encode()) == []
    assert server.state is FoEServerState.IDLE and server.files == {}
    assert server.handle(FoEErrorMessage(FoEErrorCode.DISK_FULL).encode()) == []  # idle: ignored
    assert server.counters.aborts_received == 1


def test_a_new_request_replaces_the_transfer_in_progress():
    server = FoEServer(PAYLOAD, files={"f": FILE})
    one(server, FoEWriteRequest("g"))
    one(server, FoEData(1, bytes(CHUNK)))
    assert read(server, "f")[0] == FILE
    assert "g" not in server.files


# ---------------------------------------------------------------------------- malformed
def test_a_payload_shorter_than_the_header_is_a_mailbox_error():
    with pytest.raises(MailboxError) as caught:
        FoEServer(PAYLOAD).handle(b"\x03\x00\x01")
    assert caught.value.code == MailboxErrorCode.SIZE_TOO_SHORT


@pytest.mark.parametrize(
    "payload",
    [
        b"\x09\x00\x00\x00\x00\x00",
        b"\x04\x01\x00\x00\x00\x00",
        FoEAck(1).encode(),
        FoEData(1, b"x").encode(),
    ],
)
def test_unexpected_or_malformed_messages_are_illegal(payload):
    server = FoEServer(PAYLOAD)
    (reply,) = server.handle(payload)
    assert error_code(decode_foe(reply)) == FoEErrorCode.ILLEGAL


def test_error_texts_are_cut_to_fit_the_mailbox():
    server = FoEServer(7)  # one data byte per packet
    (reply,) = server.handle(FoEReadRequest("a-rather-long-file-name").encode())
    assert len(reply) <= 7
    assert decode_foe(reply).code == FoEErrorCode.NOT_FOUND


def test_configuration_is_checked():
    with pytest.raises(ValueError):
        FoEServer(6)
    with pytest.raises(ValueError):
        FoEServer(PAYLOAD, busy_replies=0x10000)
    with pytest.raises(ValueError):
        FoEServer(PAYLOAD, files={"f": bytes(10)}, capacity=5)
