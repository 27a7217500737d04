"""The EoE side of a simulated slave: a virtual Ethernet endpoint behind the mailbox.

Written from ETG.1000.6 (EoE fragments, IP parameter and address filter services, result codes)
and the IETF documents of the frames it answers (RFC 826 ARP, RFC 791 IPv4, RFC 792 ICMP echo,
RFC 1071 Internet checksum); checked against SOES ``esc_eoe.c`` (the slave side) and SOEM
``ec_eoe.c`` (a master).

The mailbox layer calls :meth:`EoEEndpoint.handle` with the EoE payload of each message (the
bytes after the 6-byte mailbox header) and sends every returned payload as one mailbox message.

Fragments
    Reassembled with :class:`~ethercat_master.protocol.eoe.Reassembler`, which enforces the
    master's fragment, frame number, port and offset rules. A broken sequence discards the frame
    in progress and is counted; a fragment 0 that broke it starts the next frame (as SOES does).
    Time stamps appended by the master are removed; a request for a time stamp is not answered.
The endpoint
    Has a MAC and IPv4 parameters, set by the master with Set IP Parameter and read back with
    Get IP Parameter (answered SUCCESS, or UNSPECIFIED_ERROR for a malformed request or a port
    other than 0 or 1, the one port this endpoint has). Once it has both a MAC and an IP
    address it answers ARP requests for its address and ICMP echo requests sent to its MAC and
    address, with checksummed frames padded to the 60-byte Ethernet minimum, fragmented back
    with :func:`fragment_frame` to fit ``max_payload``. Every other complete frame (and any frame with a wrong IPv4 or ICMP
    checksum, which is also counted) goes to the bounded queue :attr:`EoEEndpoint.received`,
    for tests and device models; when the queue is full the new frame is dropped and counted.
Address filters
    Not supported: Set and Get Address Filter requests are answered with their responses
    carrying result 0x0401 "no filter support" (ETG.1000.6 EoE result codes).
Other frame types and malformed payloads
    A payload shorter than the EoE header raises :class:`~ethercat_master.errors.MailboxError`
    with code ``SIZE_TOO_SHORT``, reserved header bits ``INVALID_HEADER``, a frame type a master
    does not send (responses, reserved types) ``SERVICE_NOT_SUPPORTED``, for the mailbox layer to
    answer with a mailbox error reply.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, replace
from ipaddress import IPv4Address

from ..errors import MailboxError, ProtocolError
from ..protocol.eoe import (
    EOE_HEADER_SIZE,
    EoEFragment,
    EoEFrameType,
    EoEHeader,
    EoEIpParameters,
    EoEResult,
    EoEUnparsedFrame,
    GetIpParameterRequest,
    GetIpParameterResponse,
    Reassembler,
    SetIpParameterRequest,
    SetIpParameterResponse,
    fragment_frame,
)
from ..protocol.mailbox import MailboxErrorCode

__all__ = ["ETHERNET_MIN_FRAME_SIZE", "EoECounters", "EoEEndpoint"]

# ------------------------------------------------------------------------------ Ethernet
#: Destination MAC, source MAC, EtherType (network byte order).
_ETHERNET = struct.Struct("!6s6sH")
_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_ARP = 0x0806
_BROADCAST_MAC = b"\xff" * 6
#: Smallest Ethernet frame without its FCS; shorter frames are padded with zeros.
ETHERNET_MIN_FRAME_SIZE = 60

# ---------------------------------------------------------------------------- ARP (RFC 826)
#: hardware type, protocol type, hardware length, protocol length, operation,
#: sender MAC, sender IP, target MAC, target IP.
_ARP = struct.Struct("!HHBBH6s4s6s4s")
_ARP_HARDWARE_ETHERNET = 1
_ARP_REQUEST = 1
_ARP_REPLY = 2
_MAC_SIZE = 6
_IPV4_ADDRESS_SIZE = 4

# --------------------------------------------------------------------------- IPv4 (RFC 791)
#: version/IHL, type of service, total length, identification, flags/fragment offset, TTL,
#: protocol, header checksum, source address, destination address.
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV4_VERSION = 4
_IHL_UNIT = 4  # the IHL counts 32-bit words
_IHL_MASK = 0x0F
_VERSION_SHIFT = 4
_MORE_FRAGMENTS = 0x2000
_FRAGMENT_OFFSET_MASK = 0x1FFF
_IP_PROTOCOL_ICMP = 1
#: Time to live of the replies (the common default of IP stacks).
_REPLY_TTL = 64
_U16_MASK = 0xFFFF

# --------------------------------------------------------------------------- ICMP (RFC 792)
#: type, code, checksum; identifier and sequence number follow and are echoed unchanged.
_ICMP = struct.Struct("!BBH")
_ICMP_ECHO_REPLY = 0
_ICMP_ECHO_REQUEST = 8
_ICMP_ECHO_HEADER_SIZE = 8
_CHECKSUM_OFFSET = 2  # of the ICMP checksum in the ICMP header
_IPV4_CHECKSUM_OFFSET = 10

# ------------------------------------------------------------------------------------ EoE
#: Ports an IP parameter request may name: 0 (unspecified) or this endpoint's port 1 (SOES).
_VALID_PORTS = frozenset({0, 1})
_FRAME_NUMBER_MASK = 0x0F
#: The largest single-message response (Get IP Parameter with every field) must fit a mailbox.
_LARGEST_RESPONSE = len(
    GetIpParameterResponse(
        EoEIpParameters(
            mac_address=bytes(_MAC_SIZE),
            ip_address=IPv4Address(0),
            subnet_mask=IPv4Address(0),
            default_gateway=IPv4Address(0),
            dns_server=IPv4Address(0),
            dns_name="",
        )
    ).encode()
)
#: The fields of a Set IP Parameter request that change the endpoint when present.
_IP_PARAMETER_FIELDS = ("mac_address", "ip_address", "subnet_mask", "default_gateway", "dns_server", "dns_name")
_FILTER_RESPONSES = {
    EoEFrameType.SET_ADDRESS_FILTER_REQUEST: EoEFrameType.SET_ADDRESS_FILTER_RESPONSE,
    EoEFrameType.GET_ADDRESS_FILTER_REQUEST: EoEFrameType.GET_ADDRESS_FILTER_RESPONSE,
}


def _internet_checksum(data: bytes) -> int:
    """RFC 1071: the one's complement of the one's complement sum of the 16-bit words (an odd
    length is padded with a zero byte). Over data that holds a correct checksum it is 0."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(word for (word,) in struct.iter_unpack("!H", data))
    while total >> 16:
        total = (total & _U16_MASK) + (total >> 16)
    return ~total & _U16_MASK


def _with_checksum(data: bytes, offset: int) -> bytes:
    """``data`` (checksum field zero) with the Internet checksum stored at ``offset``."""
    checksum = _internet_checksum(data)
    return data[:offset] + struct.pack("!H", checksum) + data[offset + 2:]


@dataclass(slots=True)
class EoECounters:
    """Cumulative counters of an :class:`EoEEndpoint`."""

    fragments_received: int = 0
    #: Complete Ethernet frames reassembled from the master's fragments.
    frames_received: int = 0
    #: Broken fragment sequences (each discarded a frame in progress or a stray fragment).
    fragment_errors: int = 0
    arp_replies: int = 0
    echo_replies: int = 0
    #: IPv4 headers or ICMP messages with a wrong checksum.
    checksum_errors: int = 0
    #: Frames not answered and put in the receive queue.
    frames_queued: int = 0
    #: Frames not answered and dropped because the receive queue was full.
    frames_dropped: int = 0
    frames_sent: int = 0
    fragments_sent: int = 0


class EoEEndpoint:
    """A slave's EoE port with a virtual Ethernet endpoint (see the module docstring).

    :param max_payload: room for a payload in the slave's send mailbox (its size minus the
        6-byte mailbox header); replies are fragmented to fit it.
    :param parameters: the initial MAC and IP parameters (none by default: the master sets them).
    :param queue_size: frames the receive queue holds.

    Attributes: ``received`` (queue of unanswered frames, oldest first), ``counters``
    (:class:`EoECounters`).
    """

    def __init__(
        self,
        max_payload: int,
        *,
        parameters: EoEIpParameters = EoEIpParameters(),
        queue_size: int = 64,
    ) -> None:
        if max_payload < _LARGEST_RESPONSE:
            raise ValueError(
                f"max_payload {max_payload!r} is too small: a Get IP Parameter response needs "
                f"{_LARGEST_RESPONSE} bytes"
            )
        if queue_size < 1:
            raise ValueError(f"queue_size {queue_size!r} must be at least 1")
        parameters.encode()  # raises ValueError for fields out of range
        self._max_payload = max_payload
        self._parameters = parameters
        self._queue_size = queue_size
        self._reassembler = Reassembler()
        self._frame_number = 0
        self._identification = 0
        self.received: deque[bytes] = deque()
        self.counters = EoECounters()

    @property
    def parameters(self) -> EoEIpParameters:
        """The current MAC and IP parameters."""
        return self._parameters

    # ------------------------------------------------------------------------- mailbox
    def handle(self, payload: bytes) -> list[bytes]:
        """Process one EoE payload from the master; return the EoE payloads to send back.

        Raises :class:`MailboxError` for payloads that are no EoE request (see module docstring).
        """
        raw = bytes(payload)
        if len(raw) < EOE_HEADER_SIZE:
            raise MailboxError(
                "EoE",
                f"{len(raw)} bytes, the EoE header needs {EOE_HEADER_SIZE}",
                code=MailboxErrorCode.SIZE_TOO_SHORT,
            )
        try:
            header = EoEHeader.decode(raw)
        except ProtocolError as exc:
            raise MailboxError("EoE", exc.detail, code=MailboxErrorCode.INVALID_HEADER) from exc
        frame_type = header.frame_type
        if frame_type == EoEFrameType.FRAGMENT:
            return self._fragment(raw)
        if frame_type == EoEFrameType.SET_IP_REQUEST:
            return [self._set_ip(raw, header.port).encode()]
        if frame_type == EoEFrameType.GET_IP_PARAMETER_REQUEST:
            return [self._get_ip(raw, header.port).encode()]
        if frame_type in _FILTER_RESPONSES:
            response = EoEUnparsedFrame(
                _FILTER_RESPONSES[frame_type], frame_info=EoEResult.NO_FILTER_SUPPORT, port=header.port
            )
            return [response.encode()]
        raise MailboxError(
            "EoE",
            f"frame type {frame_type} is not a request a slave serves",
            code=MailboxErrorCode.SERVICE_NOT_SUPPORTED,
        )

    def send_frame(self, frame: bytes) -> list[bytes]:
        """The EoE payloads that carry ``frame`` (an Ethernet frame without FCS) to the master,
        with the next frame number; for device models that send frames of their own."""
        self._frame_number = (self._frame_number + 1) & _FRAME_NUMBER_MASK
        fragments = fragment_frame(bytes(frame), self._max_payload, self._frame_number)
        self.counters.frames_sent += 1
        self.counters.fragments_sent += len(fragments)
        return [fragment.encode() for fragment in fragments]

    def _fragment(self, raw: bytes) -> list[bytes]:
        self.counters.fragments_received += 1
        try:
            fragment = EoEFragment.decode(raw)
        except ProtocolError:
            self._reassembler.reset()
            self.counters.fragment_errors += 1
            return []
        frame = self._feed(fragment)
        if frame is None:
            return []
        self.counters.frames_received += 1
        reply = self._answer(frame)
        if reply is None:
            self._enqueue(frame)
            return []
        return self.send_frame(reply)

    def _feed(self, fragment: EoEFragment) -> bytes | None:
        """Feed the reassembler; a broken sequence is counted and gives None."""
        interrupts = self._reassembler.in_progress and fragment.fragment_number == 0
        try:
            return self._reassembler.feed(fragment)
        except ProtocolError:
            self.counters.fragment_errors += 1
            if not interrupts:
                return None
        try:  # the fragment 0 that interrupted an incomplete frame starts the next one
            return self._reassembler.feed(fragment)
        except ProtocolError:
            self.counters.fragment_errors += 1
            return None

    def _set_ip(self, raw: bytes, port: int) -> SetIpParameterResponse:
        if port not in _VALID_PORTS:
            return SetIpParameterResponse(EoEResult.UNSPECIFIED_ERROR, port=port)
        try:
            request = SetIpParameterRequest.decode(raw)
        except ProtocolError:
            return SetIpParameterResponse(EoEResult.UNSPECIFIED_ERROR, port=port)
        given = request.parameters
        changes = {
            name: value
            for name in _IP_PARAMETER_FIELDS
            if (value := getattr(given, name)) is not None
        }
        self._parameters = replace(self._parameters, append_timestamp=given.append_timestamp, **changes)
        return SetIpParameterResponse(EoEResult.SUCCESS, port=port)

    def _get_ip(self, raw: bytes, port: int) -> GetIpParameterResponse:
        failed = GetIpParameterResponse(result=EoEResult.UNSPECIFIED_ERROR, port=port)
        if port not in _VALID_PORTS:
            return failed
        try:
            GetIpParameterRequest.decode(raw)
        except ProtocolError:
            return failed
        return GetIpParameterResponse(self._parameters, port=port)

    def _enqueue(self, frame: bytes) -> None:
        if len(self.received) >= self._queue_size:
            self.counters.frames_dropped += 1
            return
        self.received.append(frame)
        self.counters.frames_queued += 1

    # ------------------------------------------------------------------------- Ethernet
    def _answer(self, frame: bytes) -> bytes | None:
        """The reply to ``frame``, or None when the endpoint does not answer it."""
        mac = self._parameters.mac_address
        ip = self._parameters.ip_address
        if mac is None or ip is None or len(frame) < _ETHERNET.size:
            return None
        destination, source, ethertype = _ETHERNET.unpack_from(frame)
        body = frame[_ETHERNET.size:]
        if ethertype == _ETHERTYPE_ARP and destination in (_BROADCAST_MAC, mac):
            return self._arp(body, mac, ip)
        if ethertype == _ETHERTYPE_IPV4 and destination == mac:
            return self._echo(body, source, mac, ip)
        return None

    def _arp(self, body: bytes, mac: bytes, ip: IPv4Address) -> bytes | None:
        """RFC 826: a reply to an Ethernet/IPv4 request for ``ip``, sent to the requester."""
        if len(body) < _ARP.size:
            return None
        hardware, protocol, hlen, plen, operation, sha, spa, _tha, tpa = _ARP.unpack_from(body)
        if (hardware, protocol, hlen, plen, operation) != (
            _ARP_HARDWARE_ETHERNET, _ETHERTYPE_IPV4, _MAC_SIZE, _IPV4_ADDRESS_SIZE, _ARP_REQUEST
        ) or tpa != ip.packed:
            return None
        self.counters.arp_replies += 1
        reply = _ARP.pack(
            _ARP_HARDWARE_ETHERNET, _ETHERTYPE_IPV4, _MAC_SIZE, _IPV4_ADDRESS_SIZE, _ARP_REPLY,
            mac, ip.packed, sha, spa,
        )
        return self._ethernet(sha, mac, _ETHERTYPE_ARP, reply)

    def _echo(self, body: bytes, source: bytes, mac: bytes, ip: IPv4Address) -> bytes | None:
        """RFC 792: an echo reply to an unfragmented echo request for ``ip``."""
        if len(body) < _IPV4.size:
            return None
        version_ihl, _tos, total, _id, flags, _ttl, protocol, _sum, src, dst = _IPV4.unpack_from(body)
        ihl = (version_ihl & _IHL_MASK) * _IHL_UNIT
        if version_ihl >> _VERSION_SHIFT != _IPV4_VERSION or not _IPV4.size <= ihl <= total <= len(body):
            return None
        if _internet_checksum(body[:ihl]):
            self.counters.checksum_errors += 1
            return None
        fragmented = flags & (_MORE_FRAGMENTS | _FRAGMENT_OFFSET_MASK)
        if dst != ip.packed or protocol != _IP_PROTOCOL_ICMP or fragmented:
            return None
        icmp = body[ihl:total]
        if len(icmp) < _ICMP_ECHO_HEADER_SIZE:
            return None
        if _internet_checksum(icmp):
            self.counters.checksum_errors += 1
            return None
        kind, code, _ = _ICMP.unpack_from(icmp)
        if kind != _ICMP_ECHO_REQUEST or code != 0:
            return None
        self.counters.echo_replies += 1
        reply = _with_checksum(_ICMP.pack(_ICMP_ECHO_REPLY, 0, 0) + icmp[_ICMP.size:], _CHECKSUM_OFFSET)
        self._identification = (self._identification + 1) & _U16_MASK
        header = _IPV4.pack(
            _IPV4_VERSION << _VERSION_SHIFT | _IPV4.size // _IHL_UNIT, 0, _IPV4.size + len(reply),
            self._identification, 0, _REPLY_TTL, _IP_PROTOCOL_ICMP, 0, ip.packed, src,
        )
        packet = _with_checksum(header, _IPV4_CHECKSUM_OFFSET) + reply
        return self._ethernet(source, mac, _ETHERTYPE_IPV4, packet)

    @staticmethod
    def _ethernet(destination: bytes, source: bytes, ethertype: int, body: bytes) -> bytes:
        frame = _ETHERNET.pack(destination, source, ethertype) + body
        return frame.ljust(ETHERNET_MIN_FRAME_SIZE, b"\x00")
