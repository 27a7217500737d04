"""Tests of the EoE payload codecs, fragmentation and reassembly (ethercat_master.protocol.eoe)."""

from __future__ import annotations

import random
import struct
from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from harness.fuzz import fuzz_decoder, mutate
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import ProtocolError
from ethercat_master.protocol.eoe import (
    EOE_BLOCK_SIZE,
    EOE_HEADER_SIZE,
    EOE_MAX_FRAME_SIZE,
    EoEFragment,
    EoEFrameType,
    EoEHeader,
    EoEIpFlag,
    EoEIpParameters,
    EoEResult,
    EoETimestampResponse,
    EoEUnparsedFrame,
    GetIpParameterRequest,
    GetIpParameterResponse,
    Reassembler,
    SetIpParameterRequest,
    SetIpParameterResponse,
    decode_eoe,
    fragment_frame,
)

U32 = st.integers(0, 0xFFFF_FFFF)
PORT = st.integers(0, 15)
FRAME_NUMBER = st.integers(0, 15)
IPV4 = st.ip_addresses(v=4)
DNS_NAME = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=32)
RESULT = st.one_of(st.sampled_from(EoEResult), st.integers(0, 0xFFFF))


@st.composite
def fragments(draw):
    """Valid fragments: data a multiple of 32 unless last, a time stamp only on the last."""
    last = draw(st.booleans())
    if last:
        data = draw(st.binary(max_size=120))
        timestamp = draw(st.none() | U32)
    else:
        data = bytes(draw(st.binary(min_size=EOE_BLOCK_SIZE, max_size=EOE_BLOCK_SIZE)))
        data *= draw(st.integers(0, 3))
        timestamp = None
    return EoEFragment(
        fragment_number=draw(st.integers(0, 63)),
        size_or_offset=draw(st.integers(0, 63)),
        frame_number=draw(FRAME_NUMBER),
        last_fragment=last,
        data=data,
        port=draw(PORT),
        time_requested=draw(st.booleans()),
        timestamp=timestamp,
    )


IP_PARAMETERS = st.builds(
    EoEIpParameters,
    mac_address=st.none() | st.binary(min_size=6, max_size=6),
    ip_address=st.none() | IPV4,
    subnet_mask=st.none() | IPV4,
    default_gateway=st.none() | IPV4,
    dns_server=st.none() | IPV4,
    dns_name=st.none() | DNS_NAME,
    append_timestamp=st.booleans(),
)
UNPARSED_TYPES = st.sampled_from(
    [
        EoEFrameType.SET_ADDRESS_FILTER_REQUEST,
        EoEFrameType.SET_ADDRESS_FILTER_RESPONSE,
        EoEFrameType.GET_ADDRESS_FILTER_REQUEST,
        EoEFrameType.GET_ADDRESS_FILTER_RESPONSE,
        *range(10, 16),
    ]
)

#: Every structure with a strategy for valid instances, and whether decode_eoe returns it.
STRATEGIES = {
    EoEHeader: (
        st.builds(
            EoEHeader,
            frame_type=st.integers(0, 15),
            port=PORT,
            last_fragment=st.booleans(),
            time_appended=st.booleans(),
            time_requested=st.booleans(),
            frame_info=st.integers(0, 0xFFFF),
        ),
        False,
    ),
    EoEFragment: (fragments(), True),
    EoETimestampResponse: (
        st.builds(EoETimestampResponse, timestamp=U32, frame_number=FRAME_NUMBER, port=PORT),
        True,
    ),
    EoEIpParameters: (IP_PARAMETERS, False),
    SetIpParameterRequest: (
        st.builds(SetIpParameterRequest, parameters=IP_PARAMETERS, port=PORT),
        True,
    ),
    SetIpParameterResponse: (st.builds(SetIpParameterResponse, result=RESULT, port=PORT), True),
    GetIpParameterRequest: (st.builds(GetIpParameterRequest, port=PORT), True),
    GetIpParameterResponse: (
        st.builds(GetIpParameterResponse, parameters=IP_PARAMETERS, result=RESULT, port=PORT),
        True,
    ),
    EoEUnparsedFrame: (
        st.builds(
            EoEUnparsedFrame,
            frame_type=UNPARSED_TYPES,
            body=st.binary(max_size=64),
            frame_info=st.integers(0, 0xFFFF),
            port=PORT,
        ),
        True,
    ),
}
DECODERS = [cls.decode for cls in STRATEGIES] + [decode_eoe]


# ------------------------------------------------------------------------------ round trip
@pytest.mark.parametrize("cls", list(STRATEGIES), ids=lambda cls: cls.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_round_trip(cls, data):
    strategy, dispatched = STRATEGIES[cls]
    value = data.draw(strategy)
    encoded = value.encode()
    assert cls.decode(encoded) == value
    assert cls.decode(memoryview(bytearray(encoded))) == value
    if dispatched:
        decoded = decode_eoe(encoded)
        assert type(decoded) is cls and decoded == value


def _fixed_layout(parameters: EoEIpParameters) -> bytes:
    """The IgH fsm_eoe.c body: every field at its place, zeros where not included."""
    def address(value):
        return struct.pack("<I", int(value)) if value is not None else bytes(4)

    name = (parameters.dns_name or "").encode("latin-1").ljust(32, b"\x00")
    return (
        struct.pack("<I", parameters.flags)
        + (parameters.mac_address or bytes(6))
        + address(parameters.ip_address)
        + address(parameters.subnet_mask)
        + address(parameters.default_gateway)
        + address(parameters.dns_server)
        + name
    )


@settings(max_examples=150, deadline=None)
@given(parameters=IP_PARAMETERS)
def test_fixed_layout_decodes_to_the_same_parameters(parameters):
    assert EoEIpParameters.decode(_fixed_layout(parameters)) == parameters


# ------------------------------------------------------------------------- known vectors
def test_vector_single_fragment():
    # SOEM ecx_EOEsend: frameinfo1 = LAST_FRAGMENT (bit 8) | port << 4; frameinfo2 =
    # fragment 0 | ((size + 31) >> 5) << 6 | frame number << 12. 60 bytes -> 2 blocks.
    frame = bytes(range(60))
    (fragment,) = fragment_frame(frame, max_payload=128, frame_number=1)
    assert fragment.encode() == bytes.fromhex("00 01 80 10") + frame
    decoded = decode_eoe(bytes.fromhex("00 01 80 10") + frame)
    assert decoded == EoEFragment(0, 2, 1, True, frame)


def test_vector_fragments_of_a_longer_frame():
    # 100 bytes through a 48-byte mailbox payload: 44 bytes of room, 32 per fragment but the
    # last (SOEM: txframesize = (maxdata >> 5) << 5); later fragments carry the offset / 32.
    frame = bytes(range(100))
    first, second, third = fragment_frame(frame, max_payload=48, frame_number=3, port=1)
    assert first.encode() == bytes.fromhex("10 00 00 31") + frame[:32]  # 4 blocks announced
    assert second.encode() == bytes.fromhex("10 00 41 30") + frame[32:64]  # offset 1 block
    assert third.encode() == bytes.fromhex("10 01 82 30") + frame[64:]  # last, offset 2 blocks


def test_vector_time_stamp_appended():
    # Beckhoff ecateoe.h: EOEHEADER_TIMESTAMPAPPENDED 0x0200 (last fragment only); the
    # 32-bit time stamp follows the data and is not part of the frame (SOEM strips 4 bytes).
    raw = bytes.fromhex("00 03 40 20") + b"frame-data" + bytes.fromhex("78 56 34 12")
    fragment = decode_eoe(raw)
    assert fragment.data == b"frame-data"
    assert fragment.timestamp == 0x12345678
    assert fragment.encode() == raw


def test_vector_set_ip_request_packed():
    # SOEM ecx_EOEsetIp: frameinfo1 = SET IP REQ (2) | LAST_FRAGMENT, frameinfo2 = 0, a
    # 4-byte flags field, then only the included fields; IPs written 4th octet first.
    raw = bytes.fromhex("02 01 00 00  06 00 00 00  0a 01 a8 c0  00 ff ff ff")
    parameters = EoEIpParameters(
        ip_address=IPv4Address("192.168.1.10"), subnet_mask=IPv4Address("255.255.255.0")
    )
    request = SetIpParameterRequest(parameters)
    assert request.encode() == raw
    assert decode_eoe(raw) == request
    assert request.parameters.flags == EoEIpFlag.IP_ADDRESS | EoEIpFlag.SUBNET_MASK


def test_vector_set_ip_request_fixed_layout_from_igh():
    # IgH fsm_eoe.c ec_fsm_eoe_prepare_set: byte 0 = 2, bytes 1-3 = 0, U32 flags, then all
    # fields at fixed places (MAC 6, IP 4, mask 4, gateway 4, DNS 4, name 32), zero if unused.
    raw = (
        bytes.fromhex("02 00 00 00  22 00 00 00")
        + bytes(6)
        + bytes.fromhex("0a 01 a8 c0")
        + bytes(12)
        + b"slave-7".ljust(32, b"\x00")
    )
    assert len(raw) == 62
    request = decode_eoe(raw)
    assert request == SetIpParameterRequest(
        EoEIpParameters(ip_address=IPv4Address("192.168.1.10"), dns_name="slave-7")
    )


def test_vector_dns_name_is_padded_to_32_bytes():
    # SOEM: "TwinCAT include EOE_DNS_NAME_LENGTH chars even if name is shorter".
    body = EoEIpParameters(dns_name="io").encode()
    assert body == bytes.fromhex("20 00 00 00") + b"io" + bytes(30)
    # SOES and the Beckhoff stack accept a shorter name (1..32 bytes) at the end of the body.
    assert EoEIpParameters.decode(bytes.fromhex("20 00 00 00") + b"io").dns_name == "io"


def test_vector_set_ip_response_from_soes():
    # SOES EOE_set_ip: frameinfo1 = port | EOE_INIT_RESP (3) | LAST_FRAGMENT, result in word 2.
    response = decode_eoe(bytes.fromhex("03 01 01 02"))
    assert response == SetIpParameterResponse(EoEResult.NO_IP_SUPPORT)
    assert isinstance(response.result, EoEResult)
    assert decode_eoe(bytes.fromhex("03 00 34 12")).result == 0x1234  # unknown code kept


def test_vector_get_ip_request_and_response():
    # SOEM ecx_EOEgetIp sends the header alone (mailbox length 4).
    assert GetIpParameterRequest().encode() == bytes.fromhex("06 01 00 00")
    # Beckhoff eoeappl.c EOEAPPL_GetSettingsInd: MAC and IP, mailbox length 10 + 6 + 4.
    raw = bytes.fromhex("07 00 00 00  03 00 00 00  02 01 05 00 00 09  0a 01 a8 c0")
    mac = bytes.fromhex("02 01 05 00 00 09")
    assert decode_eoe(raw) == GetIpParameterResponse(
        EoEIpParameters(mac_address=mac, ip_address=IPv4Address("192.168.1.10"))
    )


def test_vector_time_stamp_response():
    # Wireshark: type 1 "TimeStamp", the 32-bit time stamp after the 4-byte header.
    raw = bytes.fromhex("01 01 00 50 04 03 02 01")
    assert decode_eoe(raw) == EoETimestampResponse(0x01020304, 5)


def test_frame_types_and_results():
    # SOEM ethercateoe.h EOE_* frame types and EOE_RESULT_* codes.
    assert [t.value for t in EoEFrameType] == list(range(10))
    assert {r.name: r.value for r in EoEResult} == {
        "SUCCESS": 0x0000,
        "UNSPECIFIED_ERROR": 0x0001,
        "UNSUPPORTED_FRAME_TYPE": 0x0002,
        "NO_IP_SUPPORT": 0x0201,
        "NO_DHCP_SUPPORT": 0x0202,
        "NO_FILTER_SUPPORT": 0x0401,
    }


def test_address_filter_frames_are_kept_raw():
    frame = decode_eoe(bytes.fromhex("05 01 01 04"))
    assert frame == EoEUnparsedFrame(EoEFrameType.SET_ADDRESS_FILTER_RESPONSE, b"", 0x0401)
    assert decode_eoe(bytes.fromhex("0c 00 00 00 aa")).frame_type == 12


# ----------------------------------------------------------------- fragmenting, reassembly
@settings(max_examples=300, deadline=None)
@given(
    frame=st.binary(min_size=14, max_size=1518),
    max_payload=st.integers(48, 1024),
    frame_number=FRAME_NUMBER,
    port=PORT,
)
def test_fragment_and_reassemble_any_frame(frame, max_payload, frame_number, port):
    fragments_ = fragment_frame(frame, max_payload, frame_number, port)
    reassembler = Reassembler()
    results = []
    for index, fragment in enumerate(fragments_):
        encoded = fragment.encode()
        assert len(encoded) <= max_payload
        assert fragment.fragment_number == index
        assert fragment.last_fragment == (index == len(fragments_) - 1)
        if not fragment.last_fragment:
            assert len(fragment.data) % EOE_BLOCK_SIZE == 0
            assert len(encoded) > max_payload - EOE_HEADER_SIZE - EOE_BLOCK_SIZE
        results.append(reassembler.feed(decode_eoe(encoded)))
    assert results[-1] == frame
    assert results[:-1] == [None] * (len(fragments_) - 1)
    assert not reassembler.in_progress
    # The reassembler is ready for the next frame at once.
    (again,) = [r for r in map(reassembler.feed, fragment_frame(frame, 2048, 0)) if r]
    assert again == frame


@settings(max_examples=200, deadline=None)
@given(
    frame=st.binary(min_size=300, max_size=1518),
    max_payload=st.integers(48, 200),
    data=st.data(),
)
def test_reassembler_detects_out_of_order_and_missing(frame, max_payload, data):
    fragments_ = fragment_frame(frame, max_payload, frame_number=9)
    assert len(fragments_) >= 2
    index = data.draw(st.integers(0, len(fragments_) - 2))
    swapped = list(fragments_)
    swapped[index], swapped[index + 1] = swapped[index + 1], swapped[index]
    missing = fragments_[:index] + fragments_[index + 1 :]
    for sequence in (swapped, missing):
        reassembler = Reassembler()
        with pytest.raises(ProtocolError):
            for fragment in sequence:
                assert reassembler.feed(fragment) is None
        assert not reassembler.in_progress
        # It recovers: the next complete frame comes out whole.
        assert [reassembler.feed(f) for f in fragments_][-1] == frame


@pytest.mark.parametrize(
    "change",
    [
        {"frame_number": 8},
        {"port": 2},
        {"size_or_offset": 2},
        {"fragment_number": 2},
    ],
)
def test_reassembler_rejects_inconsistent_second_fragment(change):
    first, second, third = fragment_frame(bytes(100), 48, frame_number=9)
    reassembler = Reassembler()
    assert reassembler.feed(first) is None
    with pytest.raises(ProtocolError):
        reassembler.feed(replace(second, **change))
    assert not reassembler.in_progress


def test_reassembler_rejects_size_overflow_and_short_frames():
    first, *rest = fragment_frame(bytes(100), 48, frame_number=1)
    reassembler = Reassembler()
    reassembler.feed(replace(first, size_or_offset=2))  # announces 64 bytes, 100 follow
    reassembler.feed(rest[0])
    with pytest.raises(ProtocolError, match="announced"):
        reassembler.feed(rest[1])
    # A frame that ends blocks before its announced size.
    with pytest.raises(ProtocolError, match="announced"):
        reassembler.feed(EoEFragment(0, 5, 1, True, bytes(40)))
    with pytest.raises(ProtocolError, match="empty"):
        reassembler.feed(EoEFragment(0, 0, 1, True, b""))
    with pytest.raises(ProtocolError, match="without a preceding fragment 0"):
        reassembler.feed(rest[0])


def test_interrupting_fragment_zero_can_be_fed_again():
    old = fragment_frame(bytes(100), 48, frame_number=1)
    new = fragment_frame(b"\x01" * 50, 512, frame_number=2)
    reassembler = Reassembler()
    reassembler.feed(old[0])
    with pytest.raises(ProtocolError):
        reassembler.feed(new[0])
    assert reassembler.feed(new[0]) == b"\x01" * 50


def test_reset_discards_the_frame_in_progress():
    first, second, _ = fragment_frame(bytes(100), 48, frame_number=1)
    reassembler = Reassembler()
    reassembler.feed(first)
    assert reassembler.in_progress
    reassembler.reset()
    assert not reassembler.in_progress
    with pytest.raises(ProtocolError):
        reassembler.feed(second)


def test_largest_frame_with_smallest_mailbox():
    frame = bytes(EOE_MAX_FRAME_SIZE)
    fragments_ = fragment_frame(frame, 36, frame_number=15)
    assert len(fragments_) == 63
    reassembler = Reassembler()
    assert [reassembler.feed(decode_eoe(f.encode())) for f in fragments_][-1] == frame


@pytest.mark.parametrize(
    "args",
    [
        (b"", 128, 0),
        (bytes(EOE_MAX_FRAME_SIZE + 1), 128, 0),
        (bytes(60), 35, 0),
        (bytes(60), 128, 16),
        (bytes(60), 128, -1),
    ],
)
def test_fragment_frame_rejects_invalid_arguments(args):
    with pytest.raises(ValueError):
        fragment_frame(*args)


# ------------------------------------------------------------------------ malformed input
@pytest.mark.parametrize(
    "decoder, raw",
    [
        (decode_eoe, b"\x00\x01\x00"),  # short header
        (decode_eoe, bytes.fromhex("00 09 40 00") + bytes(8)),  # reserved bit 11 set
        (decode_eoe, bytes.fromhex("00 02 40 00") + bytes(8)),  # time stamp, not last
        (decode_eoe, bytes.fromhex("00 03 40 00 01 02 03")),  # time stamp does not fit
        (decode_eoe, bytes.fromhex("00 00 40 00") + bytes(31)),  # non-last, not 32-byte grid
        (decode_eoe, bytes.fromhex("03 01 00 00 00")),  # response with a body
        (decode_eoe, bytes.fromhex("02 01 01 00 00 00 00 00")),  # reserved frame info 2
        (decode_eoe, bytes.fromhex("02 01 00 00 00 00")),  # flags cut short
        (decode_eoe, bytes.fromhex("02 01 00 00 40 00 00 00")),  # reserved flag
        (decode_eoe, bytes.fromhex("02 01 00 00 02 00 00 00 0a 01 a8")),  # IP cut short
        (decode_eoe, bytes.fromhex("02 01 00 00 02 00 00 00 0a 01 a8 c0 00")),  # trailing byte
        (decode_eoe, bytes.fromhex("02 01 00 00 20 00 00 00")),  # DNS name flagged, missing
        (decode_eoe, bytes.fromhex("02 01 00 00 20 00 00 00") + bytes(33)),  # name too long
        (decode_eoe, bytes.fromhex("01 01 01 00 00 00 00 00")),  # fragment bits set
        (decode_eoe, bytes.fromhex("01 01 00 00 00 00 00")),  # time stamp cut short
        (SetIpParameterResponse.decode, bytes.fromhex("02 01 00 00 00 00 00 00")),
    ],
)
def test_malformed(decoder, raw):
    with pytest.raises(ProtocolError):
        decoder(raw)


def test_error_offsets_point_into_the_payload():
    with pytest.raises(ProtocolError) as info:
        decode_eoe(bytes.fromhex("02 01 00 00 02 00 00 00 0a 01 a8"))
    assert info.value.offset == 8
    assert info.value.structure == "EoE set IP parameter request"


@pytest.mark.parametrize(
    "value",
    [
        EoEHeader(16),
        EoEHeader(0, port=16),
        EoEHeader(0, frame_info=0x10000),
        EoEFragment(64, 0, 0, True, b""),
        EoEFragment(0, 64, 0, True, b""),
        EoEFragment(0, 0, 16, True, b""),
        EoEFragment(0, 1, 0, False, bytes(31)),
        EoEFragment(0, 1, 0, False, bytes(32), timestamp=1),
        EoEFragment(0, 1, 0, True, b"", timestamp=2**32),
        EoETimestampResponse(-1),
        EoEIpParameters(mac_address=bytes(5)),
        EoEIpParameters(ip_address="192.168.1.1"),
        EoEIpParameters(dns_name="x" * 33),
        EoEIpParameters(dns_name="a\x00b"),
        EoEIpParameters(dns_name="\u20ac"),
        SetIpParameterResponse(0x10000),
        GetIpParameterRequest(port=16),
    ],
)
def test_encoder_rejects_invalid_fields(value):
    with pytest.raises(ValueError):
        value.encode()


# ---------------------------------------------------------------------------------- fuzz
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: getattr(d, "__qualname__", str(d)))
@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=80))
def test_fuzz_random_bytes(decoder, raw):
    try:
        decoder(raw)
    except ProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(*(strategy for strategy, _ in STRATEGIES.values())), data=st.data())
def test_fuzz_mutated_encodings(value, data):
    raw = bytearray(value.encode())
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= 1 << data.draw(st.integers(0, 7))
    cut = data.draw(st.integers(0, len(raw)))
    extended = bytes(raw) + data.draw(st.binary(max_size=40))
    for candidate in (bytes(raw), bytes(raw[:cut]), extended):
        for decoder in DECODERS:
            try:
                decoder(candidate)
            except ProtocolError:
                pass


def _seeds() -> list[bytes]:
    parameters = EoEIpParameters(
        mac_address=bytes.fromhex("02 00 00 00 00 01"),
        ip_address=IPv4Address("10.0.0.2"),
        subnet_mask=IPv4Address("255.0.0.0"),
        default_gateway=IPv4Address("10.0.0.1"),
        dns_server=IPv4Address("10.0.0.1"),
        dns_name="drive",
    )
    frame = bytes(range(200))
    return [
        *(f.encode() for f in fragment_frame(frame, 100, 4, 1)),
        replace(fragment_frame(frame[:40], 100, 4)[0], timestamp=7).encode(),
        EoETimestampResponse(99, 4).encode(),
        SetIpParameterRequest(parameters).encode(),
        SetIpParameterRequest(EoEIpParameters(ip_address=IPv4Address("10.0.0.2"))).encode(),
        b"\x02\x00\x00\x00"  # IgH-style fixed body
        + _fixed_layout(EoEIpParameters(subnet_mask=IPv4Address("255.0.0.0"))),
        SetIpParameterResponse(EoEResult.NO_DHCP_SUPPORT).encode(),
        GetIpParameterRequest(1).encode(),
        GetIpParameterResponse(parameters).encode(),
        EoEUnparsedFrame(EoEFrameType.SET_ADDRESS_FILTER_REQUEST, bytes(20)).encode(),
        parameters.encode(),
    ]




@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: getattr(d, "__qualname__", str(d)))
def test_fuzz_deterministic(decoder):
    decoded, rejected = fuzz_decoder(decoder, _seeds(), 20_000, random.Random(0xE0E))
    # The mutations reach both outcomes, so the loop exercises the decoder's checks.
    assert decoded > 0 and rejected > 0


def test_fuzz_reassembler_with_mutated_fragments():
    """Frames fed fragment by fragment, each fragment mutated with probability 0.3: only
    ProtocolError escapes, and every round without a mutation yields the original frame."""
    rng = random.Random(0xE0F)
    original = bytes(range(256)) * 2
    seeds = [f.encode() for f in fragment_frame(original, 100, 3)]
    reassembler = Reassembler()
    frames = errors = 0
    for _ in range(4_000):
        mutated = False
        for seed in seeds:
            if rng.random() < 0.3:
                seed, mutated = mutate(rng, seed), True
            try:
                fragment = decode_eoe(seed)
                frame = reassembler.feed(fragment) if isinstance(fragment, EoEFragment) else None
            except ProtocolError:
                errors += 1
                continue
            if frame is not None:
                frames += 1
                if not mutated:
                    assert frame == original
    assert frames > 0 and errors > 0
