"""Reading and writing a slave's SII EEPROM through the ESC's SII interface (0x0500-0x050F).

The interface (ESC datasheet Section II, registers 0x0500-0x050F):

* 0x0500 bit 0 offers the EEPROM to the PDI, bit 1 forces EtherCAT access (clears the PDI's
  access bit 0x0501 bit 0). EtherCAT controls the interface while both 0x0500 bit 0 and
  0x0501 bit 0 are 0, so the master takes it by writing 2 and then 0 to 0x0500 (SOEM
  ``ecx_eeprom2master``) and offers it back by writing 1 (``ecx_eeprom2pdi``: "some slaves
  need eeprom available to PDI in init->preop transition").
* A command is one write of 0x0502-0x0507: the command in bits 8-10 of 0x0502 with the word
  address in 0x0504 (IgH ``fsm_sii.c``); a write adds the write enable bit (0x0502 bit 0) and
  the data word in 0x0508 to the same datagram (IgH writes those 8 bytes at once).
* While busy (0x0502 bit 15) the ESC blocks writes to 0x0502-0x0509, and the read data in
  0x0508 is valid only once busy has cleared. The busy poll and the data fetch are one read of
  0x0502 onwards (status, address and 4 or 8 data bytes, as IgH reads 0x0502 with 10 bytes):
  when that read shows busy clear and the address of the command, its data is the answer.
  Bit 6 of 0x0502 says whether a read returns 8 bytes or 4.
* Bit 13 is set for a missing EEPROM acknowledge (the EEPROM did not answer, e.g. during its
  internal write cycle) or an invalid command; while it is set the ESC ignores commands, and
  writing command 0 clears it. The command is then tried again after a short pause, three
  times in all (SOEM ``ecx_readeepromFP``: ``nackcnt < 3``, 5 x 200 us apart), then the
  slave's EEPROM is reported broken. Bit 14 (write without enable) is reported at once.

Reads run per slave as a small state machine; :func:`read_sii_images` runs one per slave in
lockstep, so each round is one frame carrying one or two datagrams per slave (SOEM reads the
first words of all slaves in parallel the same way, ``ecx_readeeprom1``/``2``). The image is
read up to the END category (:func:`~ethercat_master.protocol.sii.end_of_categories`), or to
the EEPROM size of word 0x003E for an EEPROM without END.

Each slave's busy wait has a deadline (:attr:`SiiTiming.busy_timeout`, SOEM's
``EC_TIMEOUTEEP`` of 20 ms; IgH allows 10 ms); a command is declared stuck only when a poll
sent after the deadline still shows busy, so a late thread does not cause a false timeout.

Errors name the slave by :attr:`SiiTarget.description`: :class:`SiiError` (a
:class:`~ethercat_master.errors.ProtocolError`) when the EEPROM or the ESC fails a command,
:class:`~ethercat_master.errors.FrameTimeout` when the EEPROM stays busy,
:class:`~ethercat_master.errors.WorkingCounterError` when the slave does not answer.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Optional, TypeVar, Union

from ..errors import FrameTimeout, ProtocolError, SiiError, WorkingCounterError
from ..protocol.datagram import Command, Datagram, station_address
from ..protocol.registers import Register, SiiAccess, SiiCommand, SiiControlStatus
from ..protocol.sii import FIXED_AREA_SIZE, WORD_SIZE, SiiImage, SiiInfo, end_of_categories
from .bus import Bus, Request

__all__ = [
    "SII_BUSY_TIMEOUT",
    "SII_NACK_ATTEMPTS",
    "SII_NACK_DELAY",
    "SiiError",
    "SiiTarget",
    "SiiTiming",
    "read_sii_images",
    "read_sii",
    "parse_sii",
    "read_sii_words",
    "write_sii_words",
    "offer_sii_to_pdi",
]

#: Longest time one EEPROM command may keep the interface busy (SOEM ``EC_TIMEOUTEEP``).
SII_BUSY_TIMEOUT = 0.020
#: Attempts of one command that ends with a missing acknowledge (SOEM: 3).
SII_NACK_ATTEMPTS = 3
#: Pause before a command is tried again after a missing acknowledge (SOEM: 5 x 200 us).
SII_NACK_DELAY = 0.001

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
#: 0x0500 EEPROM configuration: bit 0 offers the EEPROM to the PDI, bit 1 forces ECAT access.
_OFFER_TO_PDI = 0x01
_FORCE_ECAT_ACCESS = 0x02
_ECAT_ACCESS = 0x00
#: 0x0501 EEPROM PDI access state: bit 0 set while the PDI has the EEPROM.
_PDI_ACCESS = 0x01
#: 0x0500-0x0503 read together: configuration, PDI access state, control/status.
_OWNERSHIP_SIZE = Register.SII_CONFIGURATION.size + Register.SII_PDI_ACCESS.size + SiiControlStatus.SIZE
#: 0x0502-0x0507 precede the data: control/status and the word address.
_DATA_OFFSET = SiiAccess.SIZE
_CLEAR_ERRORS = SiiControlStatus(command=SiiCommand.NOP).encode()
#: The word address register 0x0504 is 32 bits wide.
_WORD_ADDRESSES = 1 << 32

T = TypeVar("T")
#: What a per-slave state machine hands the driver: requests for the next frame, or a
#: :func:`time.monotonic` instant to be resumed at without sending anything.
_Step = Union[list[Request], float]
_Job = Generator[_Step, list[Datagram], T]


@dataclass(frozen=True, slots=True)
class SiiTarget:
    """A slave whose EEPROM is accessed: its configured station address, and how messages
    name it (e.g. ``"position 3"`` or ``"position 3 (EL2008)"``)."""

    station_address: int
    description: str


@dataclass(frozen=True, slots=True)
class SiiTiming:
    """How long to wait for the EEPROM, and how often to try a command it did not acknowledge."""

    busy_timeout: float = SII_BUSY_TIMEOUT
    nack_attempts: int = SII_NACK_ATTEMPTS
    nack_delay: float = SII_NACK_DELAY

    def __post_init__(self) -> None:
        if self.busy_timeout <= 0 or self.nack_attempts < 1 or self.nack_delay < 0:
            raise ValueError(f"invalid SII timing {self!r}")


# ------------------------------------------------------------------------------ public API
def read_sii_images(bus: Bus, targets: Sequence[SiiTarget], *, timing: SiiTiming = SiiTiming()) -> list[bytes]:
    """Read the SII image of every target in parallel: from word 0 to just past the END
    category (or to the EEPROM size of word 0x003E when there is no END). The EEPROM stays
    with EtherCAT afterwards (see :func:`offer_sii_to_pdi`).

    :raises WorkingCounterError: a slave did not answer a datagram (the message names it).
    :raises FrameTimeout: a slave's EEPROM stayed busy past ``timing.busy_timeout``.
    :raises SiiError: a slave's EEPROM did not acknowledge a command after
        ``timing.nack_attempts`` attempts, or its PDI keeps the EEPROM.
    """
    return _run_lockstep(bus, [_read_image(target, timing) for target in targets])


def read_sii(bus: Bus, target: SiiTarget, *, timing: SiiTiming = SiiTiming()) -> SiiImage:
    """Read and parse the SII image of one slave (see :func:`read_sii_images`)."""
    return parse_sii(read_sii_images(bus, [target], timing=timing)[0], target)


def parse_sii(data: bytes, target: SiiTarget) -> SiiImage:
    """Parse an image read from ``target``.

    :raises ProtocolError: the image is malformed; the structure names the slave.
    """
    try:
        return SiiImage.parse(data)
    except ProtocolError as exc:
        raise ProtocolError(f"SII of slave {target.description}: {exc.structure}", exc.detail, exc.offset) from exc


def read_sii_words(
    bus: Bus, target: SiiTarget, first_word: int, count: int, *, timing: SiiTiming = SiiTiming()
) -> bytes:
    """Read ``count`` words from word address ``first_word`` of one slave's EEPROM."""
    _check_words(first_word, count)
    return _run_lockstep(bus, [_read_words(target, first_word, count, timing)])[0]


def write_sii_words(
    bus: Bus, target: SiiTarget, first_word: int, data: bytes, *, timing: SiiTiming = SiiTiming()
) -> None:
    """Write ``data`` (whole words) to one slave's EEPROM from word address ``first_word``, one
    word per command, then read the words back and compare.

    Writing words 0-7 changes the configuration area: the checksum in word 7 must match words
    0-6 (:func:`~ethercat_master.protocol.sii.sii_crc8`), and the ESC loads them only at its
    next power-on or EEPROM reload.

    :raises SiiError: the ESC refused a write, the EEPROM did not acknowledge it, or a word
        reads back different.
    """
    if len(data) % WORD_SIZE:
        raise ValueError(f"SII data must be whole 16-bit words, got {len(data)} bytes")
    count = len(data) // WORD_SIZE
    _check_words(first_word, count)
    _run_lockstep(bus, [_write_words(target, first_word, bytes(data), timing)])
    written = read_sii_words(bus, target, first_word, count, timing=timing)
    for index in range(count):
        wanted = data[index * WORD_SIZE:(index + 1) * WORD_SIZE]
        got = written[index * WORD_SIZE:(index + 1) * WORD_SIZE]
        if got != wanted:
            raise SiiError(
                target.description,
                f"word 0x{first_word + index:04X} reads back 0x{_U16.unpack(got)[0]:04X} "
                f"after writing 0x{_U16.unpack(wanted)[0]:04X}",
            )


def offer_sii_to_pdi(bus: Bus, targets: Sequence[SiiTarget]) -> None:
    """Offer each target's EEPROM to its PDI (0x0500 = 1), as SOEM does after the scan: some
    slaves read their EEPROM during INIT to PRE-OP. The readers here take it back when needed.

    :raises WorkingCounterError: a slave did not answer (the message names it).
    """
    requests = [Request(Command.FPWR, _address(t, Register.SII_CONFIGURATION), bytes((_OFFER_TO_PDI,)))
                for t in targets]
    for target, request, reply in zip(targets, requests, bus.exchange(requests)):
        _expect_answer(target, [request], [reply], "EEPROM hand-over to the PDI")


# -------------------------------------------------------------------------------- driver
def _run_lockstep(bus: Bus, jobs: Sequence[_Job[T]]) -> list[T]:
    """Run per-slave state machines side by side: each round, the requests of every machine
    that has some go out together (:meth:`Bus.exchange` packs them into frames) and each gets
    its own replies back. Returns the machines' results in order; an error in one ends all."""
    results: list[Optional[T]] = [None] * len(jobs)
    waiting: dict[int, _Step] = {}

    def advance(index: int, replies: Optional[list[Datagram]]) -> None:
        try:
            waiting[index] = jobs[index].send(replies)  # type: ignore[arg-type]
        except StopIteration as done:
            waiting.pop(index, None)
            results[index] = done.value

    for index in range(len(jobs)):
        advance(index, None)
    while waiting:
        now = time.monotonic()
        batch = [(index, step) for index, step in waiting.items() if isinstance(step, list)]
        due = [index for index, step in waiting.items() if not isinstance(step, list) and step <= now]
        if not batch and not due:
            time.sleep(max(0.0, min(step for step in waiting.values() if not isinstance(step, list)) - now))
            continue
        for index in due:
            advance(index, [])
        if batch:
            replies = bus.exchange([request for _, step in batch for request in step])
            at = 0
            for index, step in batch:
                advance(index, replies[at:at + len(step)])
                at += len(step)
    return results  # type: ignore[return-value]


# ------------------------------------------------------------------ per-slave machines
def _read_image(target: SiiTarget, timing: SiiTiming) -> _Job[bytes]:
    """Read from word 0 until the END category or the EEPROM size."""
    read_size = yield from _acquire(target, timing)
    data = bytearray()
    limit: Optional[int] = None
    while True:
        data += yield from _read_command(target, len(data) // WORD_SIZE, read_size, timing)
        if len(data) < FIXED_AREA_SIZE:
            continue
        if limit is None:
            limit = SiiInfo.decode(data[:FIXED_AREA_SIZE]).eeprom_bytes
        end = end_of_categories(data)
        if end is not None:
            return bytes(data[:end])
        if len(data) >= limit:
            return bytes(data[:limit])


def _read_words(target: SiiTarget, first_word: int, count: int, timing: SiiTiming) -> _Job[bytes]:
    """Read ``count`` words from ``first_word``."""
    read_size = yield from _acquire(target, timing)
    data = bytearray()
    while len(data) < count * WORD_SIZE:
        data += yield from _read_command(target, first_word + len(data) // WORD_SIZE, read_size, timing)
    return bytes(data[:count * WORD_SIZE])


def _write_words(target: SiiTarget, first_word: int, data: bytes, timing: SiiTiming) -> _Job[None]:
    """Write the words of ``data`` from ``first_word``, one command each."""
    yield from _acquire(target, timing)
    for index in range(len(data) // WORD_SIZE):
        word = data[index * WORD_SIZE:(index + 1) * WORD_SIZE]
        yield from _write_command(target, first_word + index, word, timing)


def _acquire(target: SiiTarget, timing: SiiTiming) -> _Job[int]:
    """Make sure EtherCAT controls the interface, no command is running and no error is
    pending; return the number of bytes one read command delivers (4 or 8)."""
    ownership = Request.read(Command.FPRD, _address(target, Register.SII_CONFIGURATION), _OWNERSHIP_SIZE)
    replies = yield [ownership]
    _expect_answer(target, [ownership], replies, "EEPROM access state")
    configuration, pdi_access = replies[0].data[0], replies[0].data[1]
    if configuration & _OFFER_TO_PDI or pdi_access & _PDI_ACCESS:
        config_address = _address(target, Register.SII_CONFIGURATION)
        take = [Request(Command.FPWR, config_address, bytes((_FORCE_ECAT_ACCESS,))),
                Request(Command.FPWR, config_address, bytes((_ECAT_ACCESS,))),
                ownership]
        replies = yield take
        _expect_answer(target, take, replies, "EEPROM take-over from the PDI")
        configuration, pdi_access = replies[-1].data[0], replies[-1].data[1]
        if configuration & _OFFER_TO_PDI or pdi_access & _PDI_ACCESS:
            raise SiiError(
                target.description,
                f"the PDI keeps the EEPROM (0x0500 = 0x{configuration:02X}, 0x0501 = 0x{pdi_access:02X})",
            )
    status = SiiControlStatus.decode(replies[-1].data[2:])
    if status.busy:
        status = yield from _wait_not_busy(target, time.monotonic(), timing, "a running EEPROM command")
    if status.ack_error or status.write_error:
        yield from _clear_errors(target)
    return status.read_size


def _read_command(target: SiiTarget, word: int, read_size: int, timing: SiiTiming) -> _Job[bytes]:
    """One read command at ``word``: issue it and fetch status, address and data in the same
    frame, poll until not busy, try again after a missing acknowledge; return the data."""
    block = Request.read(Command.FPRD, _address(target, Register.SII_CONTROL_STATUS), _DATA_OFFSET + read_size)
    command = Request(
        Command.FPWR,
        _address(target, Register.SII_CONTROL_STATUS),
        SiiAccess(SiiControlStatus(command=SiiCommand.READ), word).encode(),
    )
    what = f"EEPROM read of word 0x{word:04X}"
    for _ in range(timing.nack_attempts):
        issued = sent = time.monotonic()
        replies = yield [command, block]
        _expect_answer(target, [command, block], replies, what)
        data = replies[1].data
        while SiiControlStatus.decode(data[:SiiControlStatus.SIZE]).busy:
            if sent - issued > timing.busy_timeout:
                raise FrameTimeout(f"{what} on slave {target.description} (EEPROM busy)", timing.busy_timeout)
            sent = time.monotonic()
            replies = yield [block]
            _expect_answer(target, [block], replies, what)
            data = replies[0].data
        status = SiiControlStatus.decode(data[:SiiControlStatus.SIZE])
        (address,) = _U32.unpack_from(data, SiiControlStatus.SIZE)
        if status.ack_error:
            reason = "no EEPROM acknowledge"
            yield from _clear_errors(target)
            yield time.monotonic() + timing.nack_delay
        elif address != word:  # the command was not taken (blocked by another one): again
            reason = f"the address register shows word 0x{address:04X}"
        else:
            return bytes(data[_DATA_OFFSET:])
    raise SiiError(target.description, f"{what} failed {timing.nack_attempts} times: {reason}")


def _write_command(target: SiiTarget, word: int, value: bytes, timing: SiiTiming) -> _Job[None]:
    """One write command of ``value`` (one word) at ``word``, with write enable in the same
    datagram; poll until not busy, try again after a missing acknowledge."""
    control = _address(target, Register.SII_CONTROL_STATUS)
    command = Request(
        Command.FPWR, control, SiiAccess(SiiControlStatus(command=SiiCommand.WRITE, write_enable=True), word).encode() + value
    )
    poll = Request.read(Command.FPRD, control, SiiControlStatus.SIZE)
    what = f"EEPROM write of word 0x{word:04X}"
    for _ in range(timing.nack_attempts):
        issued = time.monotonic()
        replies = yield [command, poll]
        _expect_answer(target, [command, poll], replies, what)
        status = SiiControlStatus.decode(replies[1].data)
        if status.busy:
            status = yield from _wait_not_busy(target, issued, timing, what)
        if status.write_error:
            yield from _clear_errors(target)
            raise SiiError(target.description, f"{what}: the ESC refused the write (no write enable)")
        if not status.ack_error:
            return
        yield from _clear_errors(target)
        yield time.monotonic() + timing.nack_delay
    raise SiiError(target.description, f"{what} failed {timing.nack_attempts} times: no EEPROM acknowledge")


def _wait_not_busy(target: SiiTarget, since: float, timing: SiiTiming, what: str) -> _Job[SiiControlStatus]:
    """Poll 0x0502 until busy clears; a poll sent ``busy_timeout`` after ``since`` that still
    shows busy is a timeout."""
    poll = Request.read(Command.FPRD, _address(target, Register.SII_CONTROL_STATUS), SiiControlStatus.SIZE)
    while True:
        sent = time.monotonic()
        replies = yield [poll]
        _expect_answer(target, [poll], replies, what)
        status = SiiControlStatus.decode(replies[0].data)
        if not status.busy:
            return status
        if sent - since > timing.busy_timeout:
            raise FrameTimeout(f"{what} on slave {target.description} (EEPROM busy)", timing.busy_timeout)


def _clear_errors(target: SiiTarget) -> _Job[None]:
    """Command 0 clears the error bits 13 and 14 (the ESC ignores commands while bit 13 is set)."""
    clear = Request(Command.FPWR, _address(target, Register.SII_CONTROL_STATUS), _CLEAR_ERRORS)
    replies = yield [clear]
    _expect_answer(target, [clear], replies, "EEPROM error reset")


# ------------------------------------------------------------------------------- helpers
def _address(target: SiiTarget, register: int) -> int:
    return station_address(target.station_address, register)


def _expect_answer(target: SiiTarget, requests: Sequence[Request], replies: Sequence[Datagram], what: str) -> None:
    """Every datagram of ``requests`` must have reached the slave (working counter 1)."""
    for request, reply in zip(requests, replies):
        if reply.wkc != 1:
            raise WorkingCounterError(f"{request.describe()} ({what} of slave {target.description})", 1, reply.wkc)


def _check_words(first_word: int, count: int) -> None:
    if first_word < 0 or count < 1 or first_word + count > _WORD_ADDRESSES:
        raise ValueError(f"SII words {first_word}+{count} are outside the 32-bit word address range")
