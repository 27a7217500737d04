"""Tests of the mailbox header, mailbox buffers and the mailbox error reply."""

from __future__ import annotations

import random

import pytest
from harness.fuzz import mutate
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import MailboxError, ProtocolError
from ethercat_master.protocol.mailbox import (
    MAILBOX_ERROR_TEXTS,
    MAILBOX_HEADER_SIZE,
    MailboxErrorCode,
    MailboxErrorReply,
    MailboxHeader,
    MailboxMessage,
    MailboxType,
    build_mailbox,
    mailbox_error_text,
    next_counter,
)

FUZZ_ITERATIONS = 20_000

mailbox_types = st.one_of(st.sampled_from(MailboxType), st.integers(0, 0x0F))
headers = st.builds(
    MailboxHeader,
    length=st.integers(0, 0xFFFF),
    address=st.integers(0, 0xFFFF),
    channel=st.integers(0, 0x3F),
    priority=st.integers(0, 3),
    type=mailbox_types,
    counter=st.integers(0, 7),
    reserved=st.booleans(),
)


@st.composite
def messages(draw: st.DrawFn) -> MailboxMessage:
    payload = draw(st.binary(max_size=64))
    header = draw(headers)
    return MailboxMessage(
        MailboxHeader(
            len(payload),
            header.address,
            header.channel,
            header.priority,
            header.type,
            header.counter,
            header.reserved,
        ),
        payload,
    )


error_replies = st.builds(
    MailboxErrorReply, st.one_of(st.sampled_from(MailboxErrorCode), st.integers(0, 0xFFFF))
)

# --------------------------------------------------------------------------- round trips


@given(headers)
def test_header_round_trip(header: MailboxHeader) -> None:
    raw = header.encode()
    assert len(raw) == MAILBOX_HEADER_SIZE
    assert MailboxHeader.decode(raw) == header


@given(messages(), st.integers(0, 32))
def test_message_round_trip_with_padding(message: MailboxMessage, padding: int) -> None:
    size = MAILBOX_HEADER_SIZE + len(message.payload) + padding
    raw = message.encode(size)
    assert len(raw) == size
    assert MailboxMessage.decode(raw) == message
    assert MailboxMessage.decode(memoryview(bytearray(raw))) == message


@given(error_replies)
def test_error_reply_round_trip(reply: MailboxErrorReply) -> None:
    assert MailboxErrorReply.decode(reply.encode()) == reply


# ------------------------------------------------------------------------- known vectors


def test_soem_upload_request_mailbox_vector() -> None:
    # SOEM ecx_SDOread for 0x1018:01 with mailbox counter 1 (ethercatcoe.c): length 0x000A,
    # address 0, priority 0, mbxtype = ECT_MBXT_COE + (cnt << 4) = 0x13, then the CoE data.
    coe = bytes.fromhex("0020 40 1810 01 00000000")
    expected = bytes.fromhex("0a00 0000 00 13") + coe
    assert build_mailbox(MailboxType.COE, coe, counter=1) == expected
    header = MailboxHeader.decode(expected)
    assert header == MailboxHeader(10, 0, 0, 0, MailboxType.COE, 1)
    assert MailboxMessage.decode(expected + bytes(20)).payload == coe


def test_header_bit_fields_vector() -> None:
    # ETG.1000.4 mailbox header / Wireshark MbxHeaderControlUnion: channel bits 0..5,
    # priority bits 6..7 of octet 4; type bits 0..3, counter bits 4..6, reserved bit 7 of octet 5.
    raw = bytes.fromhex("2000 0110 c5 f4")
    header = MailboxHeader.decode(raw)
    assert header.length == 0x20
    assert header.address == 0x1001
    assert header.channel == 0x05
    assert header.priority == 3
    assert header.type is MailboxType.FOE
    assert header.counter == 7
    assert header.reserved is True
    assert header.encode() == raw


def test_soem_mailbox_error_reply_vector() -> None:
    # SOEM ec_mbxerrort: mailbox header (type 0 = error), Type u16 = 0x0001, Detail u16.
    raw = bytes.fromhex("0400 0000 00 00 0100 0200")
    message = MailboxMessage.decode(raw)
    assert message.header.type is MailboxType.ERR
    reply = MailboxErrorReply.decode(message.payload)
    assert reply.code is MailboxErrorCode.UNSUPPORTED_PROTOCOL
    assert reply.encode() == raw[MAILBOX_HEADER_SIZE:]


def test_reserved_mailbox_type_is_kept_raw() -> None:
    header = MailboxHeader.decode(bytes.fromhex("0000 0000 00 06"))
    assert header.type == 6
    assert not isinstance(header.type, MailboxType)


# ------------------------------------------------------------------------ behaviour


def test_mailbox_type_values() -> None:
    assert [(t.name, t.value) for t in MailboxType] == [
        ("ERR", 0),
        ("AOE", 1),
        ("EOE", 2),
        ("COE", 3),
        ("FOE", 4),
        ("SOE", 5),
        ("VOE", 15),
    ]


def test_length_beyond_buffer_is_a_protocol_error() -> None:
    raw = bytes.fromhex("0b00 0000 00 03") + bytes(10)  # claims 11 octets, 10 present
    with pytest.raises(ProtocolError, match="exceeds"):
        MailboxMessage.decode(raw)


def test_short_header_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        MailboxHeader.decode(b"\x00\x00\x00")


def test_encode_refuses_mailbox_too_small() -> None:
    with pytest.raises(ValueError, match="exceeds mailbox size"):
        build_mailbox(MailboxType.COE, bytes(11), mailbox_size=16)
    assert len(build_mailbox(MailboxType.COE, bytes(10), mailbox_size=16)) == 16


def test_message_requires_consistent_length() -> None:
    with pytest.raises(ValueError):
        MailboxMessage(MailboxHeader(3, 0, 0, 0, MailboxType.COE, 1), b"ab")


@pytest.mark.parametrize(
    "field, value",
    [
        ("length", 0x10000),
        ("address", -1),
        ("channel", 64),
        ("priority", 4),
        ("type", 16),
        ("counter", 8),
    ],
)
def test_header_refuses_out_of_range_fields(field: str, value: int) -> None:
    fields = dict(length=0, address=0, channel=0, priority=0, type=MailboxType.COE, counter=0)
    fields[field] = value
    with pytest.raises(ValueError, match=field if field != "type" else "mailbox type"):
        MailboxHeader(**fields)


def test_next_counter_cycles_one_to_seven() -> None:
    counter = 0
    seen = []
    for _ in range(15):
        counter = next_counter(counter)
        seen.append(counter)
    assert seen == [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7, 1]
    with pytest.raises(ValueError):
        next_counter(8)


def test_mailbox_error_texts_from_the_specification() -> None:
    assert set(MAILBOX_ERROR_TEXTS) == set(MailboxErrorCode)
    assert [int(code) for code in MailboxErrorCode] == list(range(1, 10))
    assert mailbox_error_text(0x0001) == "MBXERR_SYNTAX: Syntax of 6 octet Mailbox Header is wrong"
    assert mailbox_error_text(0x0002).startswith("MBXERR_UNSUPPORTEDPROTOCOL: ")
    assert mailbox_error_text(0x0003).startswith("MBXERR_INVALIDCHANNEL: ")
    assert mailbox_error_text(0x0009) == "MBXERR_SERVICEINWORK: Mailbox service already in use"
    assert mailbox_error_text(0x1234) == "Unknown mailbox error code 0x1234"


@given(st.integers(-(2**40), 2**40))
def test_mailbox_error_text_never_fails(code: int) -> None:
    assert isinstance(mailbox_error_text(code), str)


def test_error_reply_with_wrong_service_type_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="service type"):
        MailboxErrorReply.decode(bytes.fromhex("0200 0100"))


def test_error_reply_unknown_code_is_kept_and_becomes_mailbox_error() -> None:
    reply = MailboxErrorReply.decode(bytes.fromhex("0100 7700"))
    assert reply.code == 0x77
    error = reply.to_error(slave=3)
    assert isinstance(error, MailboxError)
    assert error.code == 0x77
    assert error.slave == 3
    assert "0x0077" in str(error)


# ---------------------------------------------------------------------------------- fuzz

SEEDS = [
    build_mailbox(
        MailboxType.COE, bytes.fromhex("0020 40 1810 01 00000000"), counter=1, mailbox_size=32
    ),
    build_mailbox(MailboxType.ERR, MailboxErrorReply(MailboxErrorCode.SYNTAX).encode(), counter=2),
    build_mailbox(MailboxType.FOE, b"\x01\x00" + bytes(20), counter=7, address=0x1001),
]
DECODERS = {
    "header": MailboxHeader.decode,
    "message": MailboxMessage.decode,
    "error reply": MailboxErrorReply.decode,
}




@pytest.mark.parametrize("name", sorted(DECODERS))
def test_fuzz_decoders_raise_only_protocol_error(name: str) -> None:
    decode = DECODERS[name]
    rng = random.Random(0x4D42 + len(name))
    seeds = SEEDS + [seed[MAILBOX_HEADER_SIZE:] for seed in SEEDS]
    decoded = 0
    for _ in range(FUZZ_ITERATIONS):
        try:
            decode(mutate(rng, rng.choice(seeds)))
            decoded += 1
        except ProtocolError:
            pass
    assert decoded > 0  # the mutations do not reject everything


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_hypothesis_fuzz_decoders(data: bytes) -> None:
    for decode in DECODERS.values():
        try:
            decode(data)
        except ProtocolError:
            pass
