"""Tests of the FoE payload codecs (ethercat_master.protocol.foe)."""

from __future__ import annotations

import random

import pytest
from harness.fuzz import fuzz_decoder
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import FoEError, ProtocolError
from ethercat_master.protocol.foe import (
    FOE_HEADER_SIZE,
    FoEAck,
    FoEBusy,
    FoEData,
    FoEErrorCode,
    FoEErrorMessage,
    FoEOpCode,
    FoEReadRequest,
    FoEWriteRequest,
    decode_foe,
    foe_error_text,
)

U32 = st.integers(0, 0xFFFF_FFFF)
U16 = st.integers(0, 0xFFFF)
#: latin-1 text without NUL: what the codecs carry unchanged.
TEXT = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=40)
NAME = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0xFF), min_size=1, max_size=40)
ERROR_CODE = st.one_of(st.sampled_from(FoEErrorCode), U32)

STRATEGIES = {
    FoEReadRequest: st.builds(FoEReadRequest, file_name=NAME, password=U32),
    FoEWriteRequest: st.builds(FoEWriteRequest, file_name=NAME, password=U32),
    FoEData: st.builds(FoEData, packet_number=U32, data=st.binary(max_size=200)),
    FoEAck: st.builds(FoEAck, packet_number=U32),
    FoEErrorMessage: st.builds(FoEErrorMessage, code=ERROR_CODE, text=TEXT),
    FoEBusy: st.builds(FoEBusy, done=U16, entire=U16, text=TEXT),
}
ANY_PACKET = st.one_of(*STRATEGIES.values())
DECODERS = [cls.decode for cls in STRATEGIES] + [decode_foe]


# ------------------------------------------------------------------------------ round trip
@pytest.mark.parametrize("cls", list(STRATEGIES), ids=lambda cls: cls.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_round_trip(cls, data):
    packet = data.draw(STRATEGIES[cls])
    encoded = packet.encode()
    assert cls.decode(encoded) == packet
    assert decode_foe(encoded) == packet
    assert type(decode_foe(encoded)) is cls
    assert cls.decode(bytearray(encoded)) == packet
    assert cls.decode(memoryview(encoded)) == packet


def test_read_and_write_request_are_distinct():
    read = FoEReadRequest("fw.bin", 1)
    write = FoEWriteRequest("fw.bin", 1)
    assert read != write
    assert read.encode()[1:] == write.encode()[1:]
    with pytest.raises(ProtocolError):
        FoEWriteRequest.decode(read.encode())


# ------------------------------------------------------------------------- known vectors
# Layout of SOEM ethercatfoe.c ec_FOEt after the mailbox header: OpCode u8, Reserved u8,
# Password/PacketNumber/ErrorCode u32 little endian, then FileName/Data/ErrorText.
def test_vector_read_request():
    raw = bytes.fromhex("01 00 78 56 34 12") + b"fw.bin"
    assert FoEReadRequest("fw.bin", 0x12345678).encode() == raw
    assert decode_foe(raw) == FoEReadRequest(file_name="fw.bin", password=0x12345678)


def test_vector_write_request_without_password():
    # IgH fsm_foe.c ec_foe_prepare_wrq_send: U16 OpCode 2, U32 0, then the file name.
    raw = bytes.fromhex("02 00 00 00 00 00") + b"app.efw"
    assert FoEWriteRequest("app.efw").encode() == raw
    assert decode_foe(raw) == FoEWriteRequest("app.efw", 0)


def test_vector_data_and_ack():
    assert FoEData(1, b"\xde\xad").encode() == bytes.fromhex("03 00 01 00 00 00 de ad")
    assert FoEAck(0x0102).encode() == bytes.fromhex("04 00 02 01 00 00")
    # The last, empty data packet of a file that filled every packet (SOEM dofinalzero).
    assert decode_foe(bytes.fromhex("03 00 07 00 00 00")) == FoEData(7, b"")


def test_vector_error_with_c_string_text():
    # SOEM checks ErrorCode == 0x8001 for "file not found"; the text follows the code.
    raw = bytes.fromhex("05 00 01 80 00 00") + b"no such file\x00\x00"
    message = decode_foe(raw)
    assert message == FoEErrorMessage(FoEErrorCode.NOT_FOUND, "no such file")
    assert isinstance(message.code, FoEErrorCode)
    assert FoEErrorMessage(FoEErrorCode.NOT_FOUND, "no such file").encode() == raw[:-2]


def test_vector_busy():
    # Wireshark packet-ecatmb.c: busy "done" UINT at offset 2, "entire" UINT at offset 4.
    raw = bytes.fromhex("06 00 05 00 0a 00")
    assert decode_foe(raw) == FoEBusy(done=5, entire=10)
    assert FoEBusy(5, 10).encode() == raw


def test_header_size_is_six():
    # IgH fsm_foe.c EC_FOE_HEADER_SIZE.
    assert FOE_HEADER_SIZE == 6
    assert len(FoEAck(0).encode()) == FOE_HEADER_SIZE


def test_opcodes():
    # Wireshark FoEOpMode: 1 RRQ, 2 WRQ, 3 DATA, 4 ACK, 5 ERROR, 6 BUSY.
    assert [op.value for op in FoEOpCode] == [1, 2, 3, 4, 5, 6]


# ----------------------------------------------------------------------------- error codes
@pytest.mark.parametrize(
    "code, text",
    [
        (0x8000, "Not defined"),
        (0x8001, "Not found"),
        (0x8002, "Access denied"),
        (0x8003, "Disk full"),
        (0x8004, "Illegal"),
        (0x8005, "Packet number wrong"),
        (0x8006, "Already exists"),
        (0x8007, "No user"),
        (0x8008, "Bootstrap only"),
        (0x8009, "Not Bootstrap"),
        (0x800A, "No rights"),
        (0x800B, "Program error"),
        (0x800C, "Checksum error"),
        (0x800D, "Firmware does not fit the hardware"),
    ],
)
def test_error_texts(code, text):
    assert foe_error_text(code) == text
    assert FoEErrorCode(code) == code


@given(st.integers(-(2**40), 2**40))
def test_error_text_never_fails(code):
    text = foe_error_text(code)
    assert isinstance(text, str) and text
    if code not in set(FoEErrorCode):
        assert "unknown" in text


def test_unknown_error_code_is_kept_raw():
    message = decode_foe(bytes.fromhex("05 00 34 12 00 00"))
    assert message.code == 0x1234
    assert not isinstance(message.code, FoEErrorCode)


def test_as_error():
    error = FoEErrorMessage(FoEErrorCode.DISK_FULL, "flash 98 %").as_error(slave=3)
    assert isinstance(error, FoEError)
    assert error.code == 0x8003
    assert error.text == "Disk full: flash 98 %"
    assert error.slave == 3
    assert FoEErrorMessage(0x8003).as_error().text == "Disk full"


# ------------------------------------------------------------------------ malformed input
@pytest.mark.parametrize(
    "decoder, raw, offset",
    [
        (decode_foe, b"", 0),
        (decode_foe, bytes.fromhex("07 00 00 00 00 00"), 0),  # unknown OpCode
        (decode_foe, bytes.fromhex("00 00 00 00 00 00"), 0),  # OpCode 0
        (decode_foe, bytes.fromhex("04 00 01 00 00"), 0),  # short header
        (decode_foe, bytes.fromhex("04 01 01 00 00 00"), 1),  # reserved byte set
        (decode_foe, bytes.fromhex("04 00 01 00 00 00 00"), 6),  # ack with a body
        (decode_foe, bytes.fromhex("01 00 00 00 00 00"), 6),  # read request, no name
        (decode_foe, bytes.fromhex("02 00 00 00 00 00 00 41"), 6),  # name is only NUL
        (FoEAck.decode, FoEData(1, b"x").encode(), 0),  # wrong OpCode for the class
        (FoEBusy.decode, bytes.fromhex("06 00 05 00"), 0),
    ],
)
def test_malformed(decoder, raw, offset):
    with pytest.raises(ProtocolError) as info:
        decoder(raw)
    assert info.value.offset == offset


@pytest.mark.parametrize(
    "packet",
    [
        FoEReadRequest("", 0),
        FoEReadRequest("a\x00b", 0),
        FoEWriteRequest("\u20ac.bin", 0),
        FoEWriteRequest("x", 2**32),
        FoEWriteRequest("x", -1),
        FoEData(2**32),
        FoEAck(-1),
        FoEErrorMessage(2**32),
        FoEErrorMessage(0x8000, "bad\x00"),
        FoEBusy(0x10000, 1),
        FoEBusy(1, -1),
    ],
)
def test_encoder_rejects_invalid_fields(packet):
    with pytest.raises(ValueError):
        packet.encode()


# ---------------------------------------------------------------------------------- fuzz
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: getattr(d, "__qualname__", str(d)))
@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64))
def test_fuzz_random_bytes(decoder, raw):
    try:
        decoder(raw)
    except ProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(packet=ANY_PACKET, data=st.data())
def test_fuzz_mutated_encodings(packet, data):
    raw = bytearray(packet.encode())
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= 1 << data.draw(st.integers(0, 7))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut]), bytes(raw) + data.draw(st.binary(max_size=8))):
        for decoder in DECODERS:
            try:
                decoder(candidate)
            except ProtocolError:
                pass


def _seeds() -> list[bytes]:
    return [
        FoEReadRequest("firmware.efw", 0xCAFE).encode(),
        FoEWriteRequest("x", 0).encode(),
        FoEData(1, bytes(range(40))).encode(),
        FoEData(0xFFFF_FFFF).encode(),
        FoEAck(5).encode(),
        FoEErrorMessage(FoEErrorCode.ILLEGAL, "illegal").encode(),
        FoEBusy(10, 100, "erasing").encode(),
    ]




@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: getattr(d, "__qualname__", str(d)))
def test_fuzz_deterministic(decoder):
    decoded, rejected = fuzz_decoder(decoder, _seeds(), 20_000, random.Random(0xF0E))
    # The mutations reach both outcomes, so the loop exercises the decoder's checks.
    assert decoded > 0 and rejected > 0
