"""EtherCAT over UDP (ETG.1000.4, 5.3: EtherCAT frames in UDP datagrams to port 0x88A4).

The UDP payload is the EtherCAT header and the datagrams, exactly as after the EtherType in
an Ethernet frame. Needs no privileges, so the simulator and the master can talk over the
loopback address without root.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from typing import Optional

from ..errors import LinkError
from ..protocol.frame import ETHERNET_MTU, UDP_PORT_ETHERCAT
from .link import Buffer, Link, recv_polled

__all__ = ["UdpLink", "UDP_PORT_ETHERCAT"]


class UdpLink(Link):
    """EtherCAT frames in UDP datagrams.

    :param local: ``(host, port)`` to bind; port 0 picks a free port (see :attr:`address`).
    :param remote: ``(host, port)`` to send to. ``None`` makes a server end that replies to
        whoever sent the last frame (how a simulated segment answers a master).
    """

    def __init__(self, local: tuple[str, int] = ("127.0.0.1", 0),
                 remote: Optional[tuple[str, int]] = None):
        super().__init__()
        self.name = f"udp:{local[0]}:{local[1]}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(local)
        except OSError as e:
            sock.close()
            raise LinkError(self.name, f"cannot bind: {e.strerror}") from None
        sock.setblocking(False)
        self._sock = sock
        self.address: tuple[str, int] = sock.getsockname()
        self.name = f"udp:{self.address[0]}:{self.address[1]}"
        self.remote = remote
        self._is_server = remote is None
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN)

    def _send(self, payload: Buffer) -> None:
        if self.remote is None:
            raise LinkError(self.name, "no peer yet: a server end replies only after a frame arrived")
        try:
            self._sock.sendto(payload, self.remote)
        except OSError as e:
            raise LinkError(self.name, f"send to {self.remote} failed: {e.strerror}") from None

    def _recv(self, timeout: Optional[float]) -> Optional[bytes]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                got = recv_polled(self._sock, self._poll, ETHERNET_MTU, deadline)
            except OSError as e:
                if e.errno == errno.ECONNREFUSED:  # ICMP port unreachable from an earlier send
                    continue
                raise LinkError(self.name, f"receive failed: {e.strerror}") from None
            if got is None:
                return None
            data, peer = got
            if self._is_server:
                self.remote = peer
            return data

    def _close(self) -> None:
        self._sock.close()
