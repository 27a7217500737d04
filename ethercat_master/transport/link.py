"""The link interface: something that sends and receives EtherCAT frames.

A link moves the EtherCAT payload of a frame (the 2-byte EtherCAT header and the
datagrams); links that need more framing (the raw Ethernet link) add and remove it
themselves. Modelled on python-can's bus: the public methods live here and handle deadlines,
closing and recording; a backend overrides the private hooks ``_send`` and ``_recv``.
"""

from __future__ import annotations

import abc
import select
import socket
import time
from typing import Any, Optional, Union

from ..errors import LinkError

__all__ = ["Link", "Buffer", "recv_polled"]

Buffer = Union[bytes, bytearray, memoryview]


class Link(abc.ABC):
    """Sends EtherCAT payloads and receives them with a deadline.

    Use as a context manager, or call :meth:`close`. A closed link raises :class:`LinkError`.
    """

    #: Human name of the endpoint, used in error messages (e.g. the interface name).
    name: str = "link"

    def __init__(self) -> None:
        self._closed = False
        self._recorder = None

    # ----------------------------------------------------------------------------- public
    def send(self, payload: Buffer) -> None:
        """Send one EtherCAT payload (EtherCAT header and datagrams)."""
        if self._closed:
            raise LinkError(self.name, "link is closed")
        self._send(payload)
        if self._recorder is not None:
            self._recorder.record(payload, outgoing=True)

    def recv(self, timeout: Optional[float] = None, *, deadline: Optional[float] = None) -> Optional[bytes]:
        """Receive one EtherCAT payload; ``None`` when nothing arrived in time.

        :param timeout: seconds to wait (``0`` polls, ``None`` waits forever).
        :param deadline: absolute :func:`time.monotonic` time to wait until; wins over ``timeout``.
        """
        if self._closed:
            raise LinkError(self.name, "link is closed")
        if deadline is not None:
            timeout = max(0.0, deadline - time.monotonic())
        payload = self._recv(timeout)
        if payload is not None and self._recorder is not None:
            self._recorder.record(payload, outgoing=False)
        return payload

    def record_to(self, recorder) -> None:
        """Copy every frame sent and received to ``recorder`` (a :class:`PcapRecorder`), or
        stop recording with ``None``."""
        self._recorder = recorder

    def close(self) -> None:
        """Release the link's resources; further use raises :class:`LinkError`."""
        if not self._closed:
            self._closed = True
            self._close()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}{' closed' if self._closed else ''}>"

    # ------------------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _send(self, payload: Buffer) -> None:
        """Put one payload on the wire."""

    @abc.abstractmethod
    def _recv(self, timeout: Optional[float]) -> Optional[bytes]:
        """Return one payload, or ``None`` after ``timeout`` seconds (``None``: no limit)."""

    def _close(self) -> None:
        """Release resources (default: nothing)."""


def recv_polled(sock: socket.socket, poller: "select.poll", size: int,
                deadline: Optional[float]) -> Optional[tuple[bytes, Any]]:
    """``recvfrom`` on a non-blocking socket, waiting with ``poller`` until ``deadline``
    (absolute :func:`time.monotonic`; ``None`` waits forever). Returns ``(data, address)`` or
    ``None`` at the deadline; ``OSError`` other than would-block propagates to the backend."""
    while True:
        try:
            return sock.recvfrom(size)
        except BlockingIOError:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            poller.poll(None if remaining is None else remaining * 1e3)
