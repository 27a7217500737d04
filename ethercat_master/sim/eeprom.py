"""The SII EEPROM of a simulated ESC and its interface registers 0x0500-0x050F.

Written from the Beckhoff ESC datasheets: Section I "SII/ESI EEPROM" (configuration area loaded
at power-on, its CRC-8 checksum, the read/write/reload commands, EEPROM errors) and Section II
registers 0x0500-0x050F (access column and footnotes). Checked against the masters that drive it:
SOEM (``ecx_readeepromFP``/``ecx_writeeepromFP``, ``ecx_eeprom2master``/``ecx_eeprom2pdi``) and
IgH (``fsm_sii.c``).

Registers (ECAT side; the layouts are :class:`~ethercat_master.protocol.registers.SiiControlStatus`
and :class:`~ethercat_master.protocol.registers.SiiAccess`)
    0x0500 bit 0 offers the EEPROM to the PDI, bit 1 forces ECAT access (clears 0x0501 bit 0).
    0x0501 bit 0 is set by the PDI when it takes the EEPROM (:meth:`Eeprom.pdi_take_control`).
    EtherCAT controls the interface when both 0x0500 bit 0 and 0x0501 bit 0 are 0; otherwise
    the PDI does, ECAT writes to 0x0502-0x0509 have no effect and the write enable bit reads 1.
    0x0502:0x0503 control/status: ECAT writes bit 0 (write enable) and bits 8-10 (command);
    the other bits are read-only: 8-byte read support (bit 6), two address bytes (bit 7, set
    for EEPROMs larger than 16 Kbit), checksum error (11), not loaded (12), missing
    acknowledge/invalid command (13), write without enable (14), busy (15).
    0x0504:0x0507 word address; 0x0508:0x0509 data to write; 0x0508.. data read (4 or 8 bytes).
Commands (written to bits 8-10; a write that does not reach byte 0x0503 issues no command)
    000 clears the error bits 13-14. While bit 13 is set every other command is ignored (the
    datasheet's "command bits are ignored if Error Acknowledge/Command is pending"; SOEM always
    writes 000 first). Other values than read/write/reload set bit 13 (invalid command): SOEM's
    ``EC_ECMD_RELOAD = 0x0300`` is one of them. A write needs the write enable bit in the same
    register write or earlier in the same frame, else it sets bit 14 and is not executed.
    An accepted command sets busy; while busy, ECAT writes to 0x0502-0x0509 are blocked (the
    registers' "write access blocked while busy"), a command written then is lost and counted.
    Read copies 4 or 8 bytes from the word address (the EEPROM's address counter wraps at its
    end, as an I2C EEPROM's does) to 0x0508; write stores the word of 0x0508:0x0509; an address
    beyond the EEPROM sets bit 13 (missing acknowledge). Reload loads the configuration area.
Timing
    The simulator has no clock and :class:`~ethercat_master.sim.esc.Esc` has no read hooks, so
    time is counted in frames: :meth:`Eeprom.tick` runs once between two frames, registered as
    a frame end hook of the ESC (:meth:`~ethercat_master.sim.esc.Esc.add_frame_end_hook`, run
    by the chain after every frame), which here stands for the start of the next frame. A
    command stays busy until ``busy_frames`` ticks have passed (0: it completes within the
    write that issued it); the read data appears in 0x0508 only then, so a master that reads
    before busy clears reads stale data. Each tick also clears the write enable bit
    ("self-clearing at the SOF of the next frame").
Configuration area (words 0-7)
    Loaded at construction (power-on) and by reload: when the CRC-8 of words 0-6
    (:func:`~ethercat_master.protocol.sii.sii_crc8`) matches the low byte of word 7, words 0-3 go
    to PDI control/ESC configuration (0x0140), PDI configuration (0x0150), SYNC impulse length
    (0x0982) and extended PDI configuration (0x0152); otherwise they are not loaded and status
    bits 11 and 12 are set. Word 4, the configured station alias, goes to 0x0012 only at the
    power-on load (the datasheet: "EEPROM value is only transferred into this register at first
    EEPROM load after power-on or reset"), except on an ESC20, which takes it at every reload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from ..protocol.registers import (
    SII_ADDRESS_SIZES,
    SII_READ_SIZES,
    Register,
    SiiCommand,
    SiiControlStatus,
)
from ..protocol.sii import (
    CHECKSUM_COVERED_SIZE,
    CHECKSUM_MASK,
    CHECKSUM_WORD,
    WORD_SIZE,
    sii_crc8,
)
from .esc import Esc, EscType

__all__ = ["MIN_EEPROM_SIZE", "MAX_EEPROM_SIZE", "EepromCounters", "Eeprom"]

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

#: Smallest EEPROM the ESCs support: 1 Kbit.
MIN_EEPROM_SIZE = 1024 // 8
#: Largest EEPROM the ESCs support: 4 Mbit.
MAX_EEPROM_SIZE = 4 * 1024 * 1024 // 8
#: EEPROMs up to 16 Kbit take one address byte, larger ones two (0x0502 bit 7).
_ONE_ADDRESS_BYTE_LIMIT = 16 * 1024 // 8

# 0x0500 EEPROM configuration
_OFFER_TO_PDI = 0x01
_FORCE_ECAT_ACCESS = 0x02
_CONFIGURATION_MASK = bytes((_OFFER_TO_PDI | _FORCE_ECAT_ACCESS,))
# 0x0501 EEPROM PDI access state
_PDI_ACCESS = 0x01
_ALL_COMMAND_BITS = 0b111
#: ECAT-writable bits of 0x0502:0x0503: write enable and the command.
_CONTROL_MASK = SiiControlStatus(command=_ALL_COMMAND_BITS, write_enable=True).encode()
_COMMAND_BYTE = Register.SII_CONTROL_STATUS + 1
#: ECAT-writable bytes of 0x0502..0x0509: control, the word address, the data word to write.
_ACCESS_MASK = _CONTROL_MASK + b"\xff" * Register.SII_ADDRESS.size + b"\xff" * WORD_SIZE
_BLOCKED_MASK = bytes(len(_ACCESS_MASK))
_EXECUTABLE = frozenset({SiiCommand.READ, SiiCommand.WRITE, SiiCommand.RELOAD})

#: Configuration area words loaded into registers (besides the alias, word 4).
_LOADED_WORDS = (
    (0, Register.PDI_CONTROL),  # PDI control 0x0140 and ESC configuration 0x0141
    (1, Register.PDI_CONFIGURATION),  # 0x0150 and SYNC/latch PDI configuration 0x0151
    (2, Register.DC_PULSE_LENGTH),  # SYNC signal impulse length 0x0982
    (3, Register.EXTENDED_PDI_CONFIGURATION),  # 0x0152
)
_ALIAS_WORD = 4
#: Write enable, bit 0 of the SII control/status register's first octet (0x0502).
_WRITE_ENABLE_BIT = 0x01


@dataclass(slots=True)
class EepromCounters:
    """Cumulative counters of an :class:`Eeprom`."""

    reads: int = 0
    writes: int = 0
    reloads: int = 0
    #: Missing acknowledge (address beyond the EEPROM) or invalid command: status bit 13.
    acknowledge_errors: int = 0
    #: Write commands without write enable: status bit 14.
    write_enable_errors: int = 0
    #: Commands lost: written while busy, while bit 13 was pending, or without ECAT control.
    commands_ignored: int = 0


class Eeprom:
    """The SII EEPROM of ``esc`` with its register interface (see the module docstring).

    Attaching it performs the power-on load of the configuration area.

    :param esc: the ESC whose registers 0x0500-0x050F it serves.
    :param image: the EEPROM content (e.g. ``SiiImage(...).build()``), an even number of bytes
        between 1 Kbit and 4 Mbit.
    :param read_size: bytes one read command returns in 0x0508, 8 or 4 depending on the ESC;
        reported in 0x0502 bit 6, which SOEM reads to know how much to fetch.
    :param busy_frames: frames (:meth:`tick` calls) a command stays busy.
    """

    def __init__(self, esc: Esc, image: bytes, *, read_size: int = 8, busy_frames: int = 0) -> None:
        if not MIN_EEPROM_SIZE <= len(image) <= MAX_EEPROM_SIZE or len(image) % WORD_SIZE:
            raise ValueError(
                f"EEPROM image of {len(image)} bytes: expected an even size between "
                f"{MIN_EEPROM_SIZE} and {MAX_EEPROM_SIZE} bytes"
            )
        if read_size not in SII_READ_SIZES:
            raise ValueError(f"read_size {read_size!r}: expected one of {SII_READ_SIZES}")
        if busy_frames < 0:
            raise ValueError(f"busy_frames {busy_frames!r} is negative")
        self._esc = esc
        self._image = bytearray(image)
        self._read_size = read_size
        self._busy_frames = busy_frames
        self._remaining = 0
        self._pending: tuple[SiiCommand, int, bytes] | None = None
        self._ecat_control = True
        self.counters = EepromCounters()

        address_bytes = SII_ADDRESS_SIZES[len(image) > _ONE_ADDRESS_BYTE_LIMIT]
        self._write_status(SiiControlStatus(read_size=read_size, address_bytes=address_bytes))
        esc.set_ecat_write_mask(Register.SII_CONFIGURATION, _CONFIGURATION_MASK)
        esc.add_write_hook(
            Register.SII_CONFIGURATION, Register.SII_CONFIGURATION.size, self._configuration_written
        )
        esc.add_write_hook(
            Register.SII_CONTROL_STATUS, Register.SII_CONTROL_STATUS.size, self._control_written
        )
        esc.add_frame_end_hook(self.tick)
        self._update_access()
        self._load(power_on=True)

    # ------------------------------------------------------------------------ properties
    @property
    def image(self) -> bytes:
        """The EEPROM content now."""
        return bytes(self._image)

    @property
    def status(self) -> SiiControlStatus:
        """Register 0x0502:0x0503 as the master reads it."""
        raw = self._esc.pdi_read(Register.SII_CONTROL_STATUS, SiiControlStatus.SIZE)
        return SiiControlStatus.decode(raw)

    @property
    def busy(self) -> bool:
        """A command is being executed."""
        return self._pending is not None

    @property
    def ecat_has_control(self) -> bool:
        """EtherCAT controls the interface: 0x0500 bit 0 and 0x0501 bit 0 are both 0."""
        return not (self._configuration() & _OFFER_TO_PDI or self._pdi_access())

    # ---------------------------------------------------------------------- PDI side
    def pdi_take_control(self) -> bool:
        """The local application takes the EEPROM (0x0501 bit 0), which it may only do while
        the master offers it (0x0500 bit 0) and does not force ECAT access (bit 1).
        Returns whether it has control now."""
        configuration = self._configuration()
        if configuration & _OFFER_TO_PDI and not configuration & _FORCE_ECAT_ACCESS:
            self._esc.pdi_write(Register.SII_PDI_ACCESS, bytes((_PDI_ACCESS,)))
            self._update_access()
        return self._pdi_access()

    def pdi_release_control(self) -> None:
        """The local application releases the EEPROM (0x0501 bit 0 cleared)."""
        self._esc.pdi_write(Register.SII_PDI_ACCESS, bytes(Register.SII_PDI_ACCESS.size))
        self._update_access()

    # -------------------------------------------------------------------------- time
    def tick(self) -> None:
        """Between two frames (the ESC's frame end hook): clear the write enable bit and count
        down a busy command."""
        if self._pending is None and not (self._ecat_control and self._esc.pdi_read(
                Register.SII_CONTROL_STATUS, 1)[0] & _WRITE_ENABLE_BIT):
            return  # the usual frame: nothing to clear, nothing running (no decode per frame)
        status = self.status
        if status.write_enable and self._ecat_control:
            self._write_status(replace(status, write_enable=False))
        if self._pending is not None:
            self._remaining -= 1
            if self._remaining <= 0:
                self._complete(self._pending)

    # ------------------------------------------------------------------------ ECAT side
    def _configuration_written(self, address: int, length: int) -> None:
        if self._configuration() & _FORCE_ECAT_ACCESS:
            self._esc.pdi_write(Register.SII_PDI_ACCESS, bytes(Register.SII_PDI_ACCESS.size))
        self._update_access()

    def _control_written(self, address: int, length: int) -> None:
        if not address <= _COMMAND_BYTE < address + length:
            return  # write enable alone: no command
        if self._pending is not None or not self._ecat_control:
            self.counters.commands_ignored += 1  # the write was blocked by the mask
            return
        status = self.status
        command = status.command
        if command == SiiCommand.NOP:
            self._write_status(replace(status, ack_error=False, write_error=False))
            return
        if status.ack_error:
            self.counters.commands_ignored += 1
            self._write_status(replace(status, command=SiiCommand.NOP))
            return
        if command not in _EXECUTABLE:
            self.counters.acknowledge_errors += 1
            self._write_status(replace(status, command=SiiCommand.NOP, ack_error=True))
            return
        if command == SiiCommand.WRITE and not status.write_enable:
            self.counters.write_enable_errors += 1
            self._write_status(replace(status, command=SiiCommand.NOP, write_error=True))
            return
        (address_word,) = _U32.unpack(self._esc.pdi_read(Register.SII_ADDRESS, Register.SII_ADDRESS.size))
        data = self._esc.pdi_read(Register.SII_DATA, WORD_SIZE)
        self._pending = (SiiCommand(command), address_word, data)
        self._remaining = self._busy_frames
        # a reload reports "not loaded" (loading in progress) until it is done
        loading = status.not_loaded or command == SiiCommand.RELOAD
        self._write_status(replace(status, write_error=False, busy=True, not_loaded=loading))
        self._update_access()
        if self._remaining == 0:
            self._complete(self._pending)

    def _complete(self, pending: tuple[SiiCommand, int, bytes]) -> None:
        """Finish the pending command: its effect, then busy and command bits cleared."""
        command, word, data = pending
        self._pending = None
        missing_acknowledge = False
        if command == SiiCommand.RELOAD:
            self.counters.reloads += 1
            self._load(power_on=False)
        elif word * WORD_SIZE >= len(self._image):
            missing_acknowledge = True
            self.counters.acknowledge_errors += 1
        elif command == SiiCommand.READ:
            self.counters.reads += 1
            start = word * WORD_SIZE
            size = len(self._image)
            read = bytes(self._image[(start + i) % size] for i in range(self._read_size))
            self._esc.pdi_write(Register.SII_DATA, read)
        else:
            self.counters.writes += 1
            self._image[word * WORD_SIZE:(word + 1) * WORD_SIZE] = data
        self._write_status(
            replace(self.status, command=SiiCommand.NOP, busy=False, ack_error=missing_acknowledge)
        )
        self._update_access()

    def _load(self, *, power_on: bool) -> None:
        """Load the configuration area into the registers if its checksum is right."""
        checksum = self._image[CHECKSUM_WORD * WORD_SIZE] & CHECKSUM_MASK
        good = sii_crc8(self._image[:CHECKSUM_COVERED_SIZE]) == checksum
        if good:
            for word, register in _LOADED_WORDS:
                self._esc.pdi_write(register, self._word(word))
            if power_on or self._esc.identity.esc_type == EscType.ESC20:
                self._esc.alias = _U16.unpack(self._word(_ALIAS_WORD))[0]
        self._write_status(replace(self.status, checksum_error=not good, not_loaded=not good))

    # --------------------------------------------------------------------------- helpers
    def _update_access(self) -> None:
        """Open 0x0502-0x0509 to ECAT writes only while ECAT has control and nothing is busy;
        the write enable bit reads 1 while the PDI has control and 0 when ECAT gets it back."""
        ecat = self.ecat_has_control
        mask = _ACCESS_MASK if ecat and self._pending is None else _BLOCKED_MASK
        self._esc.set_ecat_write_mask(Register.SII_CONTROL_STATUS, mask)
        if ecat != self._ecat_control:
            self._ecat_control = ecat
            self._write_status(replace(self.status, write_enable=not ecat))

    def _word(self, word: int) -> bytes:
        return bytes(self._image[word * WORD_SIZE:(word + 1) * WORD_SIZE])

    def _configuration(self) -> int:
        return self._esc.pdi_read(Register.SII_CONFIGURATION, Register.SII_CONFIGURATION.size)[0]

    def _pdi_access(self) -> bool:
        access = self._esc.pdi_read(Register.SII_PDI_ACCESS, Register.SII_PDI_ACCESS.size)[0]
        return bool(access & _PDI_ACCESS)

    def _write_status(self, status: SiiControlStatus) -> None:
        self._esc.pdi_write(Register.SII_CONTROL_STATUS, status.encode())
