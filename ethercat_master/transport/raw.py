"""Raw Ethernet link: an AF_PACKET socket bound to one network interface (Linux).

Frames are filtered to EtherType 0x88A4 by the kernel (the socket's protocol), frames this
socket sent itself are ignored (``PACKET_IGNORE_OUTGOING`` where the kernel has it, else by
the packet type ``PACKET_OUTGOING``), and the socket is non-blocking, waited on with poll.
Opening needs root or the ``CAP_NET_RAW`` capability; without it :class:`LinkPermissionError`
says how to grant it.

Busy polling (``busy_poll``, off by default): a receive first retries the non-blocking socket
for up to that many seconds before it sleeps in ``poll``. Waking from ``poll`` costs a
scheduler wake-up (tens of microseconds on a virtual machine, more when the CPU idles deeply);
polling the socket, as SOEM's receive loop does, sees the reply as soon as the kernel has it,
at the price of a CPU busy for the wait.
"""

from __future__ import annotations

import errno
import fcntl
import select
import socket
import struct
import time
from typing import Optional

from ..errors import InterfaceDownError, InterfaceNotFoundError, LinkError, LinkPermissionError, ProtocolError
from ..protocol.frame import (
    BROADCAST_MAC,
    ECAT_HEADER_SIZE,
    ETHERNET_HEADER,
    ETHERNET_HEADER_SIZE,
    ETHERNET_MAX_FRAME,
    ETHERNET_MIN_FRAME,
    ETHERTYPE_ETHERCAT,
    decode_ecat_header,
)
from .link import Buffer, Link, recv_polled

__all__ = ["RawLink"]

# <linux/if_packet.h>, <linux/sockios.h>, <linux/if.h>
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1
IFF_RUNNING = 0x40
IFREQ = struct.Struct("16sH14x")
#: Receive buffer: room for a burst of full frames.
RCVBUF_BYTES = 1 << 20
#: Room for one frame plus a VLAN tag the kernel might leave in place.
RECV_SIZE = ETHERNET_MAX_FRAME + 4
SETCAP_HINT = ("open raw sockets as root, or grant the capability once: "
               "sudo setcap cap_net_raw,cap_net_admin+ep \"$(readlink -f \"$(which python3)\")\"")


class RawLink(Link):
    """EtherCAT frames on a network interface through an AF_PACKET raw socket.

    :param interface: the interface name, e.g. ``"eth1"`` or one end of a veth pair.
    :param destination: destination MAC of sent frames (EtherCAT slaves ignore it; the
        broadcast address is the usual choice).
    :param busy_poll: seconds a receive polls the socket before sleeping (module docstring).
    """

    def __init__(self, interface: str, destination: bytes = BROADCAST_MAC, *, busy_poll: float = 0.0):
        super().__init__()
        if busy_poll < 0:
            raise ValueError(f"busy_poll must be non-negative, got {busy_poll!r}")
        #: Seconds a receive polls the socket before sleeping in poll.
        self.busy_poll = busy_poll
        self.name = interface
        self.interface = interface
        try:
            socket.if_nametoindex(interface)
        except OSError:
            raise InterfaceNotFoundError(interface, "no such network interface in this network "
                                         "namespace (see `ip link`)") from None
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE_ETHERCAT))
        except PermissionError:
            raise LinkPermissionError(interface, "no permission for a raw socket; " + SETCAP_HINT) from None
        try:
            flags = IFREQ.unpack(fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, IFREQ.pack(interface.encode(), 0)))[1]
            if not flags & IFF_UP:
                raise InterfaceDownError(interface, f"interface is down; bring it up with "
                                         f"`ip link set {interface} up`")
            sock.bind((interface, ETHERTYPE_ETHERCAT))
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                self._filter_outgoing = False
            except OSError:  # kernels before 4.20: drop own frames by packet type instead
                self._filter_outgoing = True
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self.mac: bytes = sock.getsockname()[4][:6]
        self._header = ETHERNET_HEADER.pack(destination, self.mac, ETHERTYPE_ETHERCAT)
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN)

    def fileno(self) -> int:
        """The socket's file descriptor (for a caller's own poll loop)."""
        return self._sock.fileno()

    def _send(self, payload: Buffer) -> None:
        pad = ETHERNET_MIN_FRAME - ETHERNET_HEADER_SIZE - len(payload)
        parts = [self._header, payload] if pad <= 0 else [self._header, payload, bytes(pad)]
        try:
            self._sock.sendmsg(parts)
        except OSError as e:
            if e.errno == errno.ENETDOWN:
                raise InterfaceDownError(self.interface, "interface went down") from None
            if e.errno == errno.ENXIO or e.errno == errno.ENODEV:
                raise InterfaceNotFoundError(self.interface, "interface disappeared") from None
            raise LinkError(self.interface, f"send failed: {e.strerror}") from None

    def _recv(self, timeout: Optional[float]) -> Optional[bytes]:
        now = time.monotonic()
        deadline = None if timeout is None else now + timeout
        if self.busy_poll > 0:
            spin_end = now + self.busy_poll if deadline is None else min(now + self.busy_poll, deadline)
            payload = self._recv_spinning(spin_end)
            if payload is not None or (deadline is not None and spin_end >= deadline):
                return payload
        while True:
            try:
                got = recv_polled(self._sock, self._poll, RECV_SIZE, deadline)
            except OSError as e:
                if e.errno == errno.ENETDOWN:
                    raise InterfaceDownError(self.interface, "interface went down") from None
                raise LinkError(self.interface, f"receive failed: {e.strerror}") from None
            if got is None:
                return None
            frame, addr = got
            if self._filter_outgoing and addr[2] == PACKET_OUTGOING:
                continue
            return _trim_padding(memoryview(frame)[ETHERNET_HEADER_SIZE:])

    def _recv_spinning(self, spin_end: float) -> Optional[bytes]:
        """Retry the non-blocking socket until a frame arrives or ``spin_end`` passes."""
        recvfrom = self._sock.recvfrom
        clock = time.monotonic
        while True:
            try:
                frame, addr = recvfrom(RECV_SIZE)
            except BlockingIOError:
                if clock() >= spin_end:
                    return None
                continue
            except OSError as e:
                if e.errno == errno.ENETDOWN:
                    raise InterfaceDownError(self.interface, "interface went down") from None
                raise LinkError(self.interface, f"receive failed: {e.strerror}") from None
            if self._filter_outgoing and addr[2] == PACKET_OUTGOING:
                continue
            return _trim_padding(memoryview(frame)[ETHERNET_HEADER_SIZE:])

    def _close(self) -> None:
        self._sock.close()


def _trim_padding(payload: memoryview) -> bytes:
    """Drop Ethernet padding after the EtherCAT header's length (when the header is sane)."""
    try:
        length, _ = decode_ecat_header(payload)
    except ProtocolError:
        return bytes(payload)
    end = ECAT_HEADER_SIZE + length
    return bytes(payload[:end] if end <= len(payload) else payload)
