"""The FoE server of a simulated slave: an in-memory file store served over the mailbox.

Written from ETG.1000.6 (FoE services, error codes of Table 92) and checked against the slave
stacks (Beckhoff SSC ``ecatfoe.c`` ``FOE_ServiceInd``, SOES ``esc_foe.c``) and the masters it
must satisfy (SOEM ``ec_foe.c`` ``ecx_FOEread``/``ecx_FOEwrite``, IgH ``fsm_foe.c``).

The mailbox layer calls :meth:`FoEServer.handle` with the FoE payload of each message (the
bytes after the 6-byte mailbox header) and sends every returned payload as one mailbox message.

Read (RRQ)
    ``RRQ(name, password)`` is answered with ``DATA 1``; ``ACK n`` of the packet just sent is
    answered with ``DATA n+1``. A data packet carries ``max_payload - 6`` bytes; a shorter one,
    possibly empty, ends the file, so a file whose size is a multiple of that is followed by an
    empty packet (SSC: a full packet means "wait for ACK", anything else "wait for last ACK";
    SOES ``FOE_ack``; SOEM keeps reading while ``segmentdata == maxdata``). The ACK of the last
    packet ends the transfer without a reply. A BUSY from the master makes the server send the
    last packet again (SSC ``FOE_Busy``, SOES ``FOE_busy``).
Write (WRQ)
    ``WRQ(name, password)`` is answered with ``ACK 0``; ``DATA n`` (n counting from 1, in
    sequence) with ``ACK n``. A packet shorter than ``write_max_payload - 6`` bytes ends the
    file, which is stored at that moment (a partly written file is never visible). A new file
    is protected by the password of its write request; an existing one keeps its password.
Busy
    With ``busy_replies = N`` the server answers data packet number ``busy_packet`` of every
    write N times with ``BUSY(done, entire=N)`` and discards its data, as a slave erasing flash
    does; the master must send that packet again (SSC: "send BUSY and wait for the DATA to be
    sent again"; SOEM and IgH re-send the packet not yet acknowledged). The N+1-th copy is
    stored and acknowledged. A BUSY is never the answer to a write request: SOEM ends
    ``ecx_FOEwrite`` on it and IgH would send packet number 0.
Errors (sent as an FoE error request, which ends the transfer)
    ``0x8001`` not found (read of an unknown file); ``0x800A`` no rights (wrong password: SSC
    "Password invalid", SOES ``FOE_ERR_NORIGHTS``); ``0x8002`` access denied (write to a
    read-only file); ``0x8003`` disk full (file larger than ``max_file_size``, or the store
    beyond ``capacity``); ``0x8005`` packet number wrong (an ACK or DATA out of sequence);
    ``0x8004`` illegal (an opcode that does not fit the state, a malformed FoE header, a data
    packet longer than the mailbox allows). An error request from the master aborts the
    transfer without a reply (SSC ``FOE_Error``, SOES ``FOE_abort(0)``).
New requests
    A read or write request while a transfer is in progress abandons that transfer and starts
    the new one. (SSC and SOES answer it with ``0x8004`` and return to idle instead; this
    server lets a master that lost a transfer start over at once.)
Malformed mailbox data
    A payload shorter than the 6-byte FoE header is not an FoE message at all: :meth:`handle`
    raises :class:`~ethercat_master.errors.MailboxError` with ``code`` = mailbox error code
    ``SIZE_TOO_SHORT`` (SSC ``MBXERR_SIZETOOSHORT``), for the mailbox layer to answer with a
    mailbox error reply.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping, Union

from ..errors import MailboxError, ProtocolError
from ..protocol.foe import (
    FOE_HEADER_SIZE,
    FoEAck,
    FoEBusy,
    FoEData,
    FoEErrorCode,
    FoEErrorMessage,
    FoEReadRequest,
    FoEWriteRequest,
    decode_foe,
)
from ..protocol.mailbox import MailboxErrorCode

__all__ = ["FoEFile", "FoEServerState", "FoECounters", "FoEServer"]

#: Largest value of the UDINT password and of the busy progress UINT.
_U32_MAX = 0xFFFF_FFFF
_U16_MAX = 0xFFFF
#: Packet number the write request is acknowledged with; data packets count from 1.
_WRITE_REQUEST_ACK = 0
_FIRST_PACKET = 1


@dataclass(slots=True)
class FoEFile:
    """One file of the store.

    :ivar data: the file's content.
    :ivar password: the UDINT a request must carry to read or overwrite it (0 = none, which is
        what masters send by default).
    :ivar read_only: write requests for it are refused with ``0x8002`` (access denied).
    """

    data: bytes = b""
    password: int = 0
    read_only: bool = False

    def __post_init__(self) -> None:
        self.data = bytes(self.data)
        if not 0 <= self.password <= _U32_MAX:
            raise ValueError(f"FoE password {self.password!r} is outside 0..0x{_U32_MAX:X}")


class FoEServerState(enum.Enum):
    """What the server is doing."""

    IDLE = "idle"
    READING = "reading"  # sent a data packet, waiting for its ACK
    WRITING = "writing"  # acknowledged a request or packet, waiting for the next DATA


@dataclass(slots=True)
class FoECounters:
    """Cumulative counters of an :class:`FoEServer`."""

    reads_completed: int = 0
    writes_completed: int = 0
    data_packets_sent: int = 0
    data_packets_received: int = 0
    busy_sent: int = 0
    errors_sent: int = 0
    #: Transfers the master aborted with an error request.
    aborts_received: int = 0


class FoEServer:
    """Serves an in-memory file store to the master over FoE (see the module docstring).

    :param max_payload: room for a payload in the slave's send mailbox (its size minus the
        6-byte mailbox header); read data packets carry ``max_payload - 6`` bytes.
    :param write_max_payload: the same for the receive mailbox, which decides what a full
        write data packet is; defaults to ``max_payload`` (equal mailboxes, as most devices).
    :param files: the initial store, name -> content or :class:`FoEFile`.
    :param max_file_size: largest file a write may create, in bytes (None = no limit).
    :param capacity: total bytes the store may hold (None = no limit); a write that would make
        the files (the one being replaced not counted) exceed it fails with "disk full".
    :param busy_replies: BUSY answers to data packet ``busy_packet`` of every write.
    :param busy_packet: the data packet number that gets the BUSY answers.

    Attributes: ``files`` (the store, name -> :class:`FoEFile`, free to inspect and change
    between transfers) and ``counters`` (:class:`FoECounters`).
    """

    def __init__(
        self,
        max_payload: int,
        *,
        write_max_payload: int | None = None,
        files: Mapping[str, Union[bytes, FoEFile]] | None = None,
        max_file_size: int | None = None,
        capacity: int | None = None,
        busy_replies: int = 0,
        busy_packet: int = _FIRST_PACKET,
    ) -> None:
        write_max_payload = max_payload if write_max_payload is None else write_max_payload
        for name, value in (("max_payload", max_payload), ("write_max_payload", write_max_payload)):
            if value <= FOE_HEADER_SIZE:
                raise ValueError(
                    f"{name} {value!r} leaves no room for data after the "
                    f"{FOE_HEADER_SIZE}-byte FoE header"
                )
        for name, limit in (("max_file_size", max_file_size), ("capacity", capacity)):
            if limit is not None and limit < 0:
                raise ValueError(f"{name} {limit!r} is negative")
        if not 0 <= busy_replies <= _U16_MAX:
            raise ValueError(f"busy_replies {busy_replies!r} is outside 0..{_U16_MAX} (a UINT)")
        if busy_packet < _FIRST_PACKET:
            raise ValueError(f"busy_packet {busy_packet!r}: data packets count from {_FIRST_PACKET}")
        self.files: dict[str, FoEFile] = {
            name: value if isinstance(value, FoEFile) else FoEFile(value)
            for name, value in (files or {}).items()
        }
        if capacity is not None and sum(len(f.data) for f in self.files.values()) > capacity:
            raise ValueError(f"the initial files do not fit the capacity of {capacity} bytes")
        self.counters = FoECounters()
        self._read_chunk = max_payload - FOE_HEADER_SIZE
        self._write_chunk = write_max_payload - FOE_HEADER_SIZE
        self._max_file_size = max_file_size
        self._capacity = capacity
        self._busy_replies = busy_replies
        self._busy_packet = busy_packet
        self._state = FoEServerState.IDLE
        self._packet = 0  # last packet sent (read) or acknowledged (write)
        self._content = b""  # read: the file being sent
        self._offset = 0  # read: where the next packet starts
        self._previous_offset = 0  # read: where the last packet started (for a re-send)
        self._final = False  # read: the last packet sent ends the file
        self._name = ""  # write: the file being written
        self._password = 0  # write: the password of the request
        self._buffer = bytearray()  # write: data received so far
        self._busy_left = 0  # write: BUSY answers still to give

    @property
    def state(self) -> FoEServerState:
        """What the server is doing now."""
        return self._state

    def handle(self, payload: bytes) -> list[bytes]:
        """Process one FoE payload from the master; return the FoE payloads to send back.

        Raises :class:`MailboxError` (code ``SIZE_TOO_SHORT``) when ``payload`` is shorter than
        the FoE header.
        """
        raw = bytes(payload)
        if len(raw) < FOE_HEADER_SIZE:
            raise MailboxError(
                "FoE",
                f"{len(raw)} bytes, the FoE header alone needs {FOE_HEADER_SIZE}",
                code=MailboxErrorCode.SIZE_TOO_SHORT,
            )
        try:
            packet = decode_foe(raw)
        except ProtocolError as exc:
            return self._fail(FoEErrorCode.ILLEGAL, exc.detail)
        if isinstance(packet, FoEReadRequest):
            self._reset()
            return self._start_read(packet)
        if isinstance(packet, FoEWriteRequest):
            self._reset()
            return self._start_write(packet)
        if isinstance(packet, FoEErrorMessage):
            if self._state is not FoEServerState.IDLE:
                self.counters.aborts_received += 1
                self._reset()
            return []
        if isinstance(packet, FoEAck) and self._state is FoEServerState.READING:
            return self._acknowledged(packet)
        if isinstance(packet, FoEBusy) and self._state is FoEServerState.READING:
            self._offset = self._previous_offset
            self._packet -= 1
            return [self._next_data()]
        if isinstance(packet, FoEData) and self._state is FoEServerState.WRITING:
            return self._received(packet)
        return self._fail(
            FoEErrorCode.ILLEGAL, f"{type(packet).__name__} while {self._state.value}"
        )

    # ------------------------------------------------------------------------------ read
    def _start_read(self, request: FoEReadRequest) -> list[bytes]:
        file = self.files.get(request.file_name)
        if file is None:
            return self._fail(FoEErrorCode.NOT_FOUND, f"no file {request.file_name!r}")
        if request.password != file.password:
            return self._fail(FoEErrorCode.NO_RIGHTS, f"wrong password for {request.file_name!r}")
        self._state = FoEServerState.READING
        self._content = file.data
        return [self._next_data()]

    def _next_data(self) -> bytes:
        chunk = self._content[self._offset:self._offset + self._read_chunk]
        self._previous_offset = self._offset
        self._offset += len(chunk)
        self._packet += 1
        self._final = len(chunk) < self._read_chunk
        self.counters.data_packets_sent += 1
        return FoEData(self._packet, chunk).encode()

    def _acknowledged(self, ack: FoEAck) -> list[bytes]:
        if ack.packet_number != self._packet:
            return self._fail(
                FoEErrorCode.PACKET_NUMBER_WRONG,
                f"ACK of packet {ack.packet_number}, packet {self._packet} was sent",
            )
        if self._final:
            self.counters.reads_completed += 1
            self._reset()
            return []
        return [self._next_data()]

    # ----------------------------------------------------------------------------- write
    def _start_write(self, request: FoEWriteRequest) -> list[bytes]:
        existing = self.files.get(request.file_name)
        if existing is not None:
            if existing.read_only:
                return self._fail(FoEErrorCode.ACCESS_DENIED, f"{request.file_name!r} is read-only")
            if request.password != existing.password:
                return self._fail(FoEErrorCode.NO_RIGHTS, f"wrong password for {request.file_name!r}")
        self._state = FoEServerState.WRITING
        self._name = request.file_name
        self._password = request.password
        self._busy_left = self._busy_replies
        return [FoEAck(_WRITE_REQUEST_ACK).encode()]

    def _received(self, data: FoEData) -> list[bytes]:
        expected = self._packet + 1
        if data.packet_number != expected:
            return self._fail(
                FoEErrorCode.PACKET_NUMBER_WRONG,
                f"DATA packet {data.packet_number}, expected {expected}",
            )
        if len(data.data) > self._write_chunk:
            return self._fail(
                FoEErrorCode.ILLEGAL,
                f"{len(data.data)} data bytes, the mailbox carries at most {self._write_chunk}",
            )
        if expected == self._busy_packet and self._busy_left:
            done = self._busy_replies - self._busy_left
            self._busy_left -= 1
            self.counters.busy_sent += 1
            return [FoEBusy(done, self._busy_replies).encode()]
        size = len(self._buffer) + len(data.data)
        if self._max_file_size is not None and size > self._max_file_size:
            return self._fail(
                FoEErrorCode.DISK_FULL, f"file larger than {self._max_file_size} bytes"
            )
        if self._capacity is not None:
            others = sum(len(f.data) for name, f in self.files.items() if name != self._name)
            if others + size > self._capacity:
                return self._fail(FoEErrorCode.DISK_FULL, f"store full ({self._capacity} bytes)")
        self._buffer += data.data
        self._packet = expected
        self.counters.data_packets_received += 1
        ack = FoEAck(expected).encode()
        if len(data.data) == self._write_chunk:
            return [ack]
        self.files[self._name] = FoEFile(bytes(self._buffer), password=self._password)
        self.counters.writes_completed += 1
        self._reset()
        return [ack]

    # ---------------------------------------------------------------------------- common
    def _fail(self, code: FoEErrorCode, text: str) -> list[bytes]:
        """End any transfer and answer with an FoE error request (text cut to fit the mailbox)."""
        self._reset()
        self.counters.errors_sent += 1
        return [FoEErrorMessage(code, text[:self._read_chunk]).encode()]

    def _reset(self) -> None:
        self._state = FoEServerState.IDLE
        self._packet = 0
        self._content = b""
        self._offset = self._previous_offset = 0
        self._final = False
        self._name = ""
        self._password = 0
        self._buffer = bytearray()
        self._busy_left = 0
