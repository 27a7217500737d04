"""The EoE endpoint of a simulated slave: fragments both ways, IP parameters, ARP and ICMP echo.

Frames are built and checked here with struct from RFC 826/791/792, with a checksum written
independently of the simulator's and anchored to the RFC 1071 worked example.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest

from ethercat_master.errors import MailboxError
from ethercat_master.protocol.eoe import (
    EoEFragment,
    EoEFrameType,
    EoEHeader,
    EoEIpParameters,
    EoEResult,
    GetIpParameterRequest,
    GetIpParameterResponse,
    Reassembler,
    SetIpParameterRequest,
    SetIpParameterResponse,
    decode_eoe,
    fragment_frame,
)
from ethercat_master.protocol.mailbox import MailboxErrorCode
from ethercat_master.sim.eoe_endpoint import EoEEndpoint

PAYLOAD = 62  # a 68-byte mailbox: 58 bytes of fragment data, one 32-byte block unless last
SLAVE_MAC = bytes.fromhex("020000000001")
SLAVE_IP = IPv4Address("192.168.10.2")
MASTER_MAC = bytes.fromhex("02aabbccddee")
MASTER_IP = IPv4Address("192.168.10.1")
BROADCAST = b"\xff" * 6


def folded_sum(data: bytes) -> int:
    """16-bit one's complement sum, folding the carry after every word (RFC 1071 4.1 style)."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += data[i] << 8 | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum(data: bytes) -> int:
    return 0xFFFF - folded_sum(data)


def test_checksum_matches_the_rfc_1071_example():
    assert folded_sum(bytes.fromhex("0001f203f4f5f6f7")) == 0xDDF2
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def ethernet(destination: bytes, source: bytes, ethertype: int, body: bytes) -> bytes:
    return destination + source + struct.pack("!H", ethertype) + body


def arp_request(target: IPv4Address) -> bytes:
    body = struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MASTER_MAC, MASTER_IP.packed, bytes(6), target.packed
    )
    return ethernet(BROADCAST, MASTER_MAC, 0x0806, body)


def echo_request(
    data: bytes,
    *,
    identifier: int = 0x4242,
    sequence: int = 7,
    corrupt: bool = False,
    destination: IPv4Address = SLAVE_IP,
) -> bytes:
    icmp = struct.pack("!BBHHH", 8, 0, 0, identifier, sequence) + data
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp) ^ (1 if corrupt else 0)) + icmp[4:]
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(icmp),
        99,
        0x4000,
        64,
        1,
        0,
        MASTER_IP.packed,
        destination.packed,
    )
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return ethernet(SLAVE_MAC, MASTER_MAC, 0x0800, header + icmp)


def configured(**kwargs) -> EoEEndpoint:
    return EoEEndpoint(
        PAYLOAD, parameters=EoEIpParameters(mac_address=SLAVE_MAC, ip_address=SLAVE_IP), **kwargs
    )


def exchange(
    endpoint: EoEEndpoint, frame: bytes, frame_number: int = 3
) -> tuple[list[EoEFragment], bytes | None]:
    """Send ``frame`` in fragments; return the reply's fragments and the reassembled reply."""
    replies = []
    for fragment in fragment_frame(frame, PAYLOAD, frame_number):
        replies += endpoint.handle(fragment.encode())
    fragments = [EoEFragment.decode(raw) for raw in replies]
    assert all(len(raw) <= PAYLOAD for raw in replies)
    reassembler, reply = Reassembler(), None
    for fragment in fragments:
        reply = reassembler.feed(fragment)
    return fragments, reply


# ---------------------------------------------------------------------------- IP parameters
def test_set_ip_then_get_ip_returns_the_values():
    endpoint = EoEEndpoint(PAYLOAD)
    parameters = EoEIpParameters(
        mac_address=SLAVE_MAC,
        ip_address=SLAVE_IP,
        subnet_mask=IPv4Address("255.255.255.0"),
        dns_name="slave-1",
    )
    (raw,) = endpoint.handle(SetIpParameterRequest(parameters).encode())
    assert SetIpParameterResponse.decode(raw).result == EoEResult.SUCCESS
    (raw,) = endpoint.handle(
        SetIpParameterRequest(EoEIpParameters(default_gateway=MASTER_IP)).encode()
    )
    (raw,) = endpoint.handle(GetIpParameterRequest().encode())
    response = GetIpParameterResponse.decode(raw)
    assert response.result == EoEResult.SUCCESS
    assert response.parameters.mac_address == SLAVE_MAC
    assert response.parameters.ip_address == SLAVE_IP
    assert response.parameters.subnet_mask == IPv4Address("255.255.255.0")
    assert response.parameters.default_gateway == MASTER_IP
    assert response.parameters.dns_name == "slave-1"
    assert response.parameters.dns_server is None


def test_ip_requests_for_another_port_fail():
    endpoint = EoEEndpoint(PAYLOAD)
    (raw,) = endpoint.handle(
        SetIpParameterRequest(EoEIpParameters(ip_address=SLAVE_IP), port=2).encode()
    )
    assert SetIpParameterResponse.decode(raw) == SetIpParameterResponse(
        EoEResult.UNSPECIFIED_ERROR, port=2
    )
    assert endpoint.parameters.ip_address is None
    (raw,) = endpoint.handle(GetIpParameterRequest(port=3).encode())
    assert GetIpParameterResponse.decode(raw).result == EoEResult.UNSPECIFIED_ERROR


def test_malformed_set_ip_body_is_an_unspecified_error():
    endpoint = EoEEndpoint(PAYLOAD)
    header = EoEHeader(EoEFrameType.SET_IP_REQUEST, last_fragment=True).encode()
    (raw,) = endpoint.handle(header + struct.pack("<I", 0x02) + b"\x01\x02")  # IP flagged, 2 bytes
    assert SetIpParameterResponse.decode(raw).result == EoEResult.UNSPECIFIED_ERROR


@pytest.mark.parametrize(
    "request_type, response_type",
    [
        (EoEFrameType.SET_ADDRESS_FILTER_REQUEST, EoEFrameType.SET_ADDRESS_FILTER_RESPONSE),
        (EoEFrameType.GET_ADDRESS_FILTER_REQUEST, EoEFrameType.GET_ADDRESS_FILTER_RESPONSE),
    ],
)
def test_address_filter_requests_get_no_filter_support(request_type, response_type):
    (raw,) = EoEEndpoint(PAYLOAD).handle(
        EoEHeader(request_type, last_fragment=True).encode() + bytes(8)
    )
    response = decode_eoe(raw)
    assert response.frame_type == response_type
    assert response.frame_info == 0x0401


# ------------------------------------------------------------------------------------- ARP
def test_fragmented_arp_request_gets_a_fragmented_arp_reply():
    endpoint = configured()
    request = arp_request(SLAVE_IP).ljust(60, b"\0")
    fragments, reply = exchange(endpoint, request)
    assert len(fragments) == 2 and [f.fragment_number for f in fragments] == [0, 1]
    assert fragments[0].frame_number == fragments[1].frame_number
    assert len(reply) == 60
    destination, source, ethertype = struct.unpack_from("!6s6sH", reply)
    assert (destination, source, ethertype) == (MASTER_MAC, SLAVE_MAC, 0x0806)
    fields = struct.unpack_from("!HHBBH6s4s6s4s", reply, 14)
    assert fields == (1, 0x0800, 6, 4, 2, SLAVE_MAC, SLAVE_IP.packed, MASTER_MAC, MASTER_IP.packed)
    assert endpoint.counters.arp_replies == 1 and endpoint.counters.frames_received == 1


def test_arp_for_another_address_or_before_configuration_is_queued():
    endpoint = configured()
    other = arp_request(IPv4Address("192.168.10.9"))
    assert exchange(endpoint, other)[0] == []
    unconfigured = EoEEndpoint(PAYLOAD)
    assert exchange(unconfigured, arp_request(SLAVE_IP))[0] == []
    assert list(endpoint.received) == [other]
    assert unconfigured.counters.frames_queued == 1


# ------------------------------------------------------------------------------------ ICMP
@pytest.mark.parametrize("size", [0, 1, 56, 1001])
def test_echo_request_gets_a_checksummed_echo_reply(size):
    endpoint = configured()
    data = bytes((i * 7) & 0xFF for i in range(size))
    fragments, reply = exchange(endpoint, echo_request(data))
    assert reply is not None and len(fragments) >= 1
    destination, source, ethertype = struct.unpack_from("!6s6sH", reply)
    assert (destination, source, ethertype) == (MASTER_MAC, SLAVE_MAC, 0x0800)
    ip = reply[14:34]
    version_ihl, _, total, _, flags, ttl, protocol, _, src, dst = struct.unpack("!BBHHHBBH4s4s", ip)
    assert version_ihl == 0x45 and protocol == 1 and ttl > 0 and flags & 0x3FFF == 0
    assert (src, dst) == (SLAVE_IP.packed, MASTER_IP.packed)
    assert folded_sum(ip) == 0xFFFF  # header checksum verifies
    icmp = reply[34 : 14 + total]
    assert folded_sum(icmp) == 0xFFFF  # ICMP checksum verifies
    assert struct.unpack_from("!BBxxHH", icmp) == (0, 0, 0x4242, 7)
    assert icmp[8:] == data
    assert len(reply) == max(60, 14 + total)  # padded to the Ethernet minimum, no more
    assert endpoint.counters.echo_replies == 1


def test_reply_frame_numbers_advance():
    endpoint = configured()
    first = exchange(endpoint, echo_request(b"a"))[0][0].frame_number
    second = exchange(endpoint, echo_request(b"b"))[0][0].frame_number
    assert second == (first + 1) % 16


def test_echo_with_a_bad_checksum_is_counted_and_not_answered():
    endpoint = configured()
    frame = echo_request(b"payload", corrupt=True)
    assert exchange(endpoint, frame)[0] == []
    assert endpoint.counters.checksum_errors == 1
    assert list(endpoint.received) == [frame]


def test_echo_for_another_address_is_queued():
    endpoint = configured()
    frame = echo_request(b"x", destination=IPv4Address("192.168.10.77"))
    assert exchange(endpoint, frame)[0] == []
    assert endpoint.counters.frames_queued == 1 and endpoint.counters.checksum_errors == 0


def test_the_receive_queue_is_bounded_and_counts_drops():
    endpoint = configured(queue_size=2)
    frames = [ethernet(SLAVE_MAC, MASTER_MAC, 0x88B5, bytes([n]) * 50) for n in range(4)]
    for frame in frames:
        exchange(endpoint, frame)
    assert list(endpoint.received) == frames[:2]
    assert (endpoint.counters.frames_queued, endpoint.counters.frames_dropped) == (2, 2)


# ------------------------------------------------------------------------------ fragments
def test_a_broken_sequence_is_counted_and_the_next_frame_still_works():
    endpoint = configured()
    first = fragment_frame(echo_request(bytes(100)), PAYLOAD, 1)
    assert endpoint.handle(first[0].encode()) == []
    assert endpoint.handle(first[2].encode()) == []  # fragment 1 skipped
    assert endpoint.counters.fragment_errors == 1
    assert endpoint.handle(first[1].encode()) == []  # stray: no frame in progress
    assert endpoint.counters.fragment_errors == 2
    second = fragment_frame(echo_request(bytes(100)), PAYLOAD, 2)
    endpoint.handle(second[0].encode())
    third = fragment_frame(echo_request(b"ok"), PAYLOAD, 3)
    replies = []
    for fragment in third:  # fragment 0 interrupts frame 2 and starts frame 3
        replies += endpoint.handle(fragment.encode())
    assert replies and endpoint.counters.echo_replies == 1
    assert endpoint.counters.fragment_errors == 3


def test_send_frame_fragments_a_device_frame():
    endpoint = EoEEndpoint(PAYLOAD)
    frame = bytes(range(200))
    payloads = endpoint.send_frame(frame)
    reassembler, result = Reassembler(), None
    for raw in payloads:
        result = reassembler.feed(EoEFragment.decode(raw))
    assert result == frame
    assert endpoint.counters.fragments_sent == len(payloads) == 6  # 5 x 32 bytes, then 40


# ------------------------------------------------------------------------------ malformed
@pytest.mark.parametrize(
    "payload, code",
    [
        (b"\x00\x01", MailboxErrorCode.SIZE_TOO_SHORT),
        (b"\x00\xf9\x00\x00", MailboxErrorCode.INVALID_HEADER),  # reserved bits of frame info 1
        (
            EoEHeader(EoEFrameType.SET_IP_RESPONSE, last_fragment=True).encode(),
            MailboxErrorCode.SERVICE_NOT_SUPPORTED,
        ),
    ],
)
def test_payloads_that_are_no_request_raise_mailbox_errors(payload, code):
    with pytest.raises(MailboxError) as caught:
        EoEEndpoint(PAYLOAD).handle(payload)
    assert caught.value.code == code


def test_configuration_is_checked():
    with pytest.raises(ValueError):
        EoEEndpoint(40)
    with pytest.raises(ValueError):
        EoEEndpoint(PAYLOAD, queue_size=0)
