"""The FoE client: read and write files over a :class:`~ethercat_master.master.mailbox.MailboxEngine`
(ETG.1000.6 FoE; checked against SOEM ``ecx_FOEread``/``ecx_FOEwrite`` and IgH ``fsm_foe.c``).

Read: the read request (file name, password) is answered with ``DATA 1``; every data packet is
acknowledged with its number, which must be the one expected (1, 2, ...); a packet shorter
than the send mailbox allows (its size minus the 6-octet mailbox header and the 6-octet FoE
header), possibly empty, ends the file, and its acknowledge gets no answer.

Write: the write request is answered with ``ACK 0``; data packets numbered from 1 carry the
receive mailbox's room (its size minus 12 octets) each, and a file whose size is a multiple of
that ends with an empty packet (SOEM ``dofinalzero``). Each must be acknowledged with its
number. A ``BUSY`` answer (a slave erasing flash) means the packet was not taken: the client
waits (the engine's backoff delays) and sends the same packet again with a new mailbox counter,
as SOEM and IgH do, for at most ``busy_timeout`` seconds per packet.

Errors: an FoE error request from the slave raises :class:`~ethercat_master.errors.FoEError`
with its code, the specification's text and the slave's own text. A packet number other than
the expected one is answered with the FoE error "packet number wrong" (0x8005) and raises
:class:`FoEError` with that code; a slave that stays busy is sent the error "not defined"
(0x8000) and raises :class:`~ethercat_master.errors.FrameTimeout`. Data packets and their
acknowledges are not idempotent, so the engine never re-executes them; the repeat protocol
recovers their lost replies.

``progress(done, total)`` is called after every packet: octets acknowledged and the file size
when writing, octets received and None when reading (FoE does not announce a file's size).
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from ..errors import FoEError, FrameTimeout
from ..protocol.foe import (
    FOE_HEADER_SIZE,
    FoEAck,
    FoEBusy,
    FoEData,
    FoEErrorCode,
    FoEErrorMessage,
    FoEPacket,
    FoEReadRequest,
    FoEWriteRequest,
    decode_foe,
    foe_error_text,
)
from ..protocol.mailbox import MAILBOX_HEADER_SIZE, MailboxMessage, MailboxType
from .mailbox import MailboxEngine

__all__ = ["DEFAULT_BUSY_TIMEOUT", "Progress", "FoEClient"]

#: ``progress(done, total)``: octets transferred so far and the file size (None when unknown).
Progress = Callable[[int, Optional[int]], None]

#: Seconds a slave may keep answering one packet with BUSY.
DEFAULT_BUSY_TIMEOUT = 10.0
#: Packet number of the acknowledge of a write request.
_WRITE_REQUEST_ACK = 0
_FIRST_PACKET = 1
_PACKET_OVERHEAD = MAILBOX_HEADER_SIZE + FOE_HEADER_SIZE


class _Expect:
    """A reply matcher for the engine: accepts FoE packets of the given kinds and keeps the
    accepted one decoded."""

    def __init__(self, *kinds: type) -> None:
        self._kinds = kinds
        self.packet: Optional[FoEPacket] = None

    def __call__(self, mailbox: MailboxMessage) -> bool:
        packet = decode_foe(mailbox.payload)
        if not isinstance(packet, self._kinds):
            return False
        self.packet = packet
        return True


class FoEClient:
    """File access over EtherCAT with one slave.

    :param engine: the slave's mailbox engine.
    :param timeout: seconds for each mailbox transaction (default: the engine's deadline).
    :param busy_timeout: seconds one packet may be answered with BUSY before giving up.
    """

    def __init__(self, engine: MailboxEngine, *, timeout: Optional[float] = None,
                 busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        if busy_timeout <= 0:
            raise ValueError(f"busy_timeout {busy_timeout} must be positive")
        self.engine = engine
        self.timeout = timeout
        self.busy_timeout = busy_timeout

    @property
    def _slave(self) -> str:
        return self.engine.slave.label

    def read(self, name: str, *, password: int = 0, progress: Optional[Progress] = None) -> bytes:
        """The content of file ``name`` on the slave."""
        what = f"FoE read {name!r}"
        full = self.engine.slave.send_size - _PACKET_OVERHEAD
        expect = _Expect(FoEData, FoEErrorMessage)
        self._request(FoEReadRequest(name, password).encode(), expect, what, idempotent=True)
        data = bytearray()
        number = _FIRST_PACKET
        while True:
            packet = expect.packet
            if isinstance(packet, FoEErrorMessage):
                raise packet.as_error(self._slave)
            assert isinstance(packet, FoEData)
            if packet.packet_number != number:
                raise self._refuse(FoEErrorCode.PACKET_NUMBER_WRONG,
                                   f"{what}: data packet {packet.packet_number}, expected {number}")
            data += packet.data
            if progress is not None:
                progress(len(data), None)
            ack = FoEAck(number).encode()
            if len(packet.data) < full:
                self.engine.send(MailboxType.FOE, ack, what=f"{what}: last acknowledge", timeout=self.timeout)
                return bytes(data)
            number += 1
            expect = _Expect(FoEData, FoEErrorMessage)
            self._request(ack, expect, f"{what} packet {number}", idempotent=False)

    def write(self, name: str, data: bytes, *, password: int = 0, progress: Optional[Progress] = None) -> None:
        """Store ``data`` as file ``name`` on the slave."""
        what = f"FoE write {name!r}"
        full = self.engine.slave.receive_size - _PACKET_OVERHEAD
        content = bytes(data)
        packets = [content[start:start + full] for start in range(0, len(content), full)]
        if len(content) % full == 0:
            packets.append(b"")  # a short packet ends the file
        self._until_acknowledged(FoEWriteRequest(name, password).encode(), _WRITE_REQUEST_ACK, what,
                                 idempotent=True)
        done = 0
        for number, part in enumerate(packets, start=_FIRST_PACKET):
            self._until_acknowledged(FoEData(number, part).encode(), number, f"{what} packet {number}",
                                     idempotent=False)
            done += len(part)
            if progress is not None:
                progress(done, len(content))

    # ------------------------------------------------------------------- internals
    def _request(self, payload: bytes, expect: _Expect, what: str, *, idempotent: bool) -> None:
        self.engine.request(MailboxType.FOE, payload, expect, what=what, idempotent=idempotent, timeout=self.timeout)

    def _until_acknowledged(self, payload: bytes, number: int, what: str, *, idempotent: bool) -> None:
        """Send ``payload`` until the slave acknowledges it with ``number`` (again after BUSY)."""
        busy_until = time.monotonic() + self.busy_timeout
        busy = 0
        while True:
            expect = _Expect(FoEAck, FoEErrorMessage, FoEBusy)
            self._request(payload, expect, what, idempotent=idempotent)
            packet = expect.packet
            if isinstance(packet, FoEErrorMessage):
                raise packet.as_error(self._slave)
            if isinstance(packet, FoEAck):
                if packet.packet_number != number:
                    raise self._refuse(FoEErrorCode.PACKET_NUMBER_WRONG,
                                       f"{what}: acknowledge of packet {packet.packet_number}, expected {number}")
                return
            assert isinstance(packet, FoEBusy)
            self.engine.counters.busy_replies += 1
            if time.monotonic() >= busy_until:
                self._abort(FoEErrorCode.NOT_DEFINED, f"busy for {self.busy_timeout} s")
                raise FrameTimeout(f"{what}: slave {self._slave} still busy ({packet.done}/{packet.entire})",
                                   self.busy_timeout)
            time.sleep(self.engine.policy.backoff.delay(busy))
            busy += 1

    def _abort(self, code: FoEErrorCode, text: str) -> None:
        """Tell the slave that the master aborts the transfer (no reply is expected)."""
        self.engine.send(MailboxType.FOE, FoEErrorMessage(code, text).encode(), what=f"FoE error 0x{int(code):04X}",
                         timeout=self.timeout)
        self.engine.counters.aborts_sent += 1

    def _refuse(self, code: FoEErrorCode, detail: str) -> FoEError:
        """Abort the transfer at the slave with ``code``; return the error to raise."""
        self._abort(code, foe_error_text(code))
        return FoEError(int(code), f"{foe_error_text(code)}: {detail}", self._slave)
