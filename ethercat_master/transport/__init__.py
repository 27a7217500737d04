"""Links that move EtherCAT frames: raw Ethernet, UDP, and an in-process pair.

:func:`open_link` finds the backend from a link spec, the way a user writes it on a command
line or in a configuration file:

============================  ==================================================
spec                          link
============================  ==================================================
``eth1`` or ``raw:eth1``      :class:`RawLink` on interface ``eth1`` (needs CAP_NET_RAW)
``udp:HOST:PORT``             :class:`UdpLink` sending to HOST:PORT from a free local port
``udp-listen:HOST:PORT``      :class:`UdpLink` bound to HOST:PORT, replying to its last peer
============================  ==================================================
"""

from __future__ import annotations

from ..errors import LinkError
from .inprocess import InProcessLink
from .link import Link
from .pcap import PcapRecorder, read_pcap
from .raw import RawLink
from .udp import UdpLink

__all__ = ["Link", "RawLink", "UdpLink", "InProcessLink", "PcapRecorder", "read_pcap", "open_link"]


def _host_port(spec: str, rest: str) -> tuple[str, int]:
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 0xFFFF:
        raise LinkError(spec, "expected HOST:PORT after the scheme, e.g. udp:127.0.0.1:34980")
    return host, int(port)


def open_link(spec: str) -> Link:
    """Open the link a spec names (see the module documentation for the forms)."""
    scheme, sep, rest = spec.partition(":")
    if not sep:
        return RawLink(spec)
    if scheme == "raw":
        return RawLink(rest)
    if scheme == "udp":
        return UdpLink(("0.0.0.0", 0), _host_port(spec, rest))
    if scheme == "udp-listen":
        return UdpLink(_host_port(spec, rest), None)
    raise LinkError(spec, f"unknown link scheme {scheme!r}; use an interface name, raw:IF, "
                    "udp:HOST:PORT or udp-listen:HOST:PORT")
