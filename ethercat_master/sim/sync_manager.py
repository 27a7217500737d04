"""SyncManager channels of a simulated ESC, the process data watchdog they trigger, and the
SyncManager layout a device expects the master to configure.

Written from the ESC documents, not from what a master expects:

* Beckhoff "EtherCAT Slave Controller, Section I - Technology", chapter 8 "SyncManager": a
  buffer has to be accessed beginning with its start address, otherwise the access is denied;
  after that the whole buffer may be accessed, as a whole or in several strokes; accessing the
  end address finishes the access, the buffer state changes and a watchdog trigger pulse is
  generated if configured; the end address cannot be accessed twice inside a frame.
  8.1 buffered mode: three buffers of the configured size lie one after the other from the start
  address; accesses to buffer 0's range are redirected to the buffer the producer or consumer
  owns; the third buffer keeps the last consistently written data; the status shows the last
  written buffer, 3 before any. 8.2 mailbox mode: one buffer, writable when empty and readable
  when full, alternately. Figure 26: the repeat request / acknowledge toggles. 8.7: a
  SyncManager deactivated by the PDI is reset and its whole area is read/write protected.
* "Section II - Register description": 0x0800-0x087F (start address, length and control
  are writable from ECAT only while the SyncManager is disabled, 0x0806 bit 0 = 0; length 0
  does not activate the SyncManager, length 1 only generates the watchdog trigger), the
  watchdog registers 0x0400 (divider: 25 MHz ticks minus 2 per increment), 0x0420 (process
  data watchdog time, 0 disables it), 0x0440 bit 0 (0: expired, 1: active or disabled) and
  0x0442 (expiry counter, stops at 0xFF).
* The AL status codes of a wrong SyncManager configuration follow the reference slave stacks:
  Beckhoff SSC ``CheckSmSettings`` and SOES ``ESC_checkmbx``/``ESC_checkSM23``: 0x0016 for the
  mailbox (0x0015 for the bootstrap mailbox), 0x001D for an output and 0x001E for an input
  SyncManager.

Choices the documents leave open (made here, deliberately)
    * An access in the wrong direction (ECAT reading an ECAT-write SyncManager, the PDI writing
      it, and the reverse) is denied, like an access to a full or empty mailbox.
    * Buffer handling covers SyncManagers whose area lies in the process data RAM; a buffered
      SyncManager whose three buffers do not fit the RAM denies every access.
    * The process data watchdog starts with the first trigger (it does not expire before the
      master ever wrote outputs) and is triggered by ECAT writes that complete a buffer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, Optional, Union

from ..protocol.al_status import ALState, ALStatusCode
from ..protocol.mailbox import MAILBOX_HEADER_SIZE
from ..protocol.registers import (
    MAX_SYNC_MANAGERS,
    PROCESS_DATA_RAM_START,
    SM_ACTIVATE_OFFSET,
    SM_CONTROL_OFFSET,
    SM_PDI_CONTROL_OFFSET,
    SM_STATUS_OFFSET,
    Register,
    SmActivate,
    SmControl,
    SmDirection,
    SmMode,
    SmPdiControl,
    SmStatus,
    SyncManagerChannel,
    sync_manager_address,
)

__all__ = [
    "BUFFER_COUNT",
    "NO_BUFFER_WRITTEN",
    "WATCHDOG_CLOCK_NS",
    "WATCHDOG_DIVIDER_OFFSET",
    "SyncManager",
    "ProcessDataWatchdog",
    "ExpectedSyncManager",
    "MailboxLayout",
    "SyncManagerLayout",
]

Buffer = Union[bytes, bytearray, memoryview]

#: Buffers a SyncManager in buffered mode occupies, one after the other from its start address.
BUFFER_COUNT = 3
#: Buffer state in the status register before any buffer was written ("start/empty").
NO_BUFFER_WRITTEN = 3
#: The smallest length that makes a SyncManager handle a buffer (length 1: watchdog trigger only).
_MIN_BUFFER_LENGTH = 2

_START_LENGTH = struct.Struct("<HH")
_U16 = struct.Struct("<H")

# Status bits (0x0805 + 8n), taken from the register view so the layout lives in one place.
_INTERRUPT_WRITE = SmStatus(interrupt_write=True).encode()[0]
_INTERRUPT_READ = SmStatus(interrupt_read=True).encode()[0]
_MAILBOX_FULL = SmStatus(mailbox_full=True).encode()[0]
_READ_OPEN = SmStatus(read_buffer_open=True).encode()[0]
_WRITE_OPEN = SmStatus(write_buffer_open=True).encode()[0]
_BUFFER_STATE_MASK = SmStatus(buffer_state=NO_BUFFER_WRITTEN).encode()[0]
#: Status after reset or (re)activation: nothing written, nothing open.
_STATUS_RESET = _BUFFER_STATE_MASK
_BUFFER_STATE_BITS = tuple(SmStatus(buffer_state=n).encode()[0] for n in range(BUFFER_COUNT))
#: Status bits a buffered write of a whole buffer keeps: opening sets "write buffer open" and
#: clears "interrupt read", completing clears "write buffer open" and sets the buffer state.
_WHOLE_WRITE_KEEP = 0xFF & ~(_INTERRUPT_READ | _BUFFER_STATE_MASK | _WRITE_OPEN)
#: The same for a buffered read of a whole buffer: opening sets "read buffer open" and clears
#: "interrupt write", closing clears "read buffer open" and sets "interrupt read".
_WHOLE_READ_KEEP = 0xFF & ~(_INTERRUPT_WRITE | _READ_OPEN)

#: The watchdog counts cycles of the ESC's 25 MHz clock: 40 ns each.
WATCHDOG_CLOCK_NS = 40
#: Register 0x0400 holds the cycles per watchdog increment minus this.
WATCHDOG_DIVIDER_OFFSET = 2
_WATCHDOG_ACTIVE = 0x0001  # 0x0440 bit 0: active or disabled (0: expired)
_WATCHDOG_STATUS_AT = int(Register.WATCHDOG_STATUS_PROCESS_DATA)  # a plain int for the hot path
_COUNTER_MAX = 0xFF


class SyncManager:
    """One SyncManager channel: its registers decoded, and the buffer rules for both sides.

    The ESC calls :meth:`reconfigure` after every write to the channel's registers and routes
    ECAT and PDI accesses inside :attr:`start`..:attr:`end` through :meth:`read` and
    :meth:`write` while :attr:`routed` is true. The buffers live in the ESC memory itself (buffer
    n of a buffered channel at ``start + n * length``), and the status register is kept up to
    date in memory, so a plain register read shows it.

    :param index: the channel number (registers at 0x0800 + 8 * index).
    :param memory: the ESC's 64 KiB memory.
    :param memory_end: end of the ESC's process data RAM.
    :param on_watchdog_trigger: called when an ECAT write completes a buffer of a channel with
        the watchdog trigger enabled.
    :param ended: the ESC's list of channels whose end address ECAT accessed in the current
        frame; a channel adds itself, and the ESC clears :attr:`end_accessed` of each and
        empties the list when the frame ends.
    """

    def __init__(self, index: int, memory: bytearray, memory_end: int,
                 on_watchdog_trigger: Callable[[], None], ended: list["SyncManager"]) -> None:
        self.index = index
        #: First register of the channel.
        self.address = sync_manager_address(index)
        self._status_at = self.address + SM_STATUS_OFFSET
        self._mem = memory
        self._memory_end = memory_end
        self._trigger = on_watchdog_trigger
        self._ended = ended
        #: ECAT accessed the end address in the current frame (Section I: not twice a frame).
        self.end_accessed = False
        self._key: Optional[tuple[int, int, int, bool, bool]] = None
        #: Configured area: first byte, length, end (first byte after it).
        self.start = self.length = self.end = 0
        #: Mailbox (one buffer) rather than buffered (three buffers) mode.
        self.mailbox = False
        #: Direction: ECAT writes and the PDI reads (outputs, master-to-slave mailbox).
        self.ecat_writes = False
        #: Control bit 6: completing an ECAT write triggers the process data watchdog.
        self.watchdog_trigger = False
        #: Activate bit 0, written by the master.
        self.enabled = False
        #: PDI control bit 0, written by the slave application.
        self.deactivated = False
        #: The ESC routes accesses to the area through this channel.
        self.routed = False
        self._usable = False
        self.reconfigure()

    def __repr__(self) -> str:
        if not self.enabled:
            return f"<SyncManager {self.index} disabled>"
        mode = "mailbox" if self.mailbox else "buffered"
        direction = "ECAT write" if self.ecat_writes else "ECAT read"
        return f"<SyncManager {self.index} 0x{self.start:04X}+{self.length} {mode} {direction}>"

    # ------------------------------------------------------------------------------ state
    @property
    def active(self) -> bool:
        """Enabled by the master, not deactivated by the PDI, with a buffer to handle."""
        return self._usable

    @property
    def trigger_only(self) -> bool:
        """Enabled with length 1 and the watchdog trigger: no buffer, an ECAT write of its byte
        only triggers the process data watchdog."""
        return self.enabled and not self.deactivated and self.length == 1 and self.watchdog_trigger

    @property
    def mailbox_full(self) -> bool:
        """Mailbox mode: the buffer is written completely and not yet read (status bit 3)."""
        return bool(self._status & _MAILBOX_FULL)

    @property
    def read_completed(self) -> bool:
        """Interrupt read (status bit 0x02): the consumer read a buffer completely, and the
        producer has not started a new one."""
        return bool(self._status & _INTERRUPT_READ)

    @property
    def write_completed(self) -> bool:
        """Interrupt write (status bit 0x01): the producer completed a buffer, and the consumer
        has not started reading it."""
        return bool(self._status & _INTERRUPT_WRITE)

    @property
    def last_written_buffer(self) -> int:
        """Buffered mode: the buffer written last (0-2), :data:`NO_BUFFER_WRITTEN` before any."""
        return SmStatus.decode(bytes((self._status,))).buffer_state

    @property
    def repeat_request(self) -> bool:
        """Activate bit 1, toggled by the master to ask for the last mailbox again."""
        return bool(self._mem[self.address + SM_ACTIVATE_OFFSET] & SmActivate.REPEAT_REQUEST)

    @property
    def repeat_ack(self) -> bool:
        """PDI control bit 1, toggled by the slave once it has repeated the mailbox."""
        return bool(self._mem[self.address + SM_PDI_CONTROL_OFFSET] & SmPdiControl.REPEAT_ACK)

    def channel(self) -> SyncManagerChannel:
        """The eight registers as a typed view."""
        return SyncManagerChannel.decode(self._mem[self.address:self.address + SyncManagerChannel.SIZE])

    def reconfigure(self) -> bool:
        """Read the registers again after a write to them. A change of the area, the control
        byte, the enable bit or the PDI deactivate bit resets the channel (the repeat bits do
        not). Returns True when the channel was reset."""
        base = self.address
        start, length = _START_LENGTH.unpack_from(self._mem, base)
        control = self._mem[base + SM_CONTROL_OFFSET]
        enabled = bool(self._mem[base + SM_ACTIVATE_OFFSET] & SmActivate.ENABLE)
        deactivated = bool(self._mem[base + SM_PDI_CONTROL_OFFSET] & SmPdiControl.DEACTIVATE)
        key = (start, length, control, enabled, deactivated)
        if key == self._key:
            return False
        self._key = key
        decoded = SmControl.decode(bytes((control,)))
        self.start, self.length, self.end = start, length, start + length
        # the reserved modes and directions are taken as buffered and ECAT-read
        self.mailbox = decoded.mode == SmMode.MAILBOX
        self.ecat_writes = decoded.direction == SmDirection.WRITE
        self.watchdog_trigger = decoded.watchdog
        self.enabled, self.deactivated = enabled, deactivated
        in_ram = PROCESS_DATA_RAM_START <= start and self.end <= self._memory_end
        self.routed = enabled and length >= _MIN_BUFFER_LENGTH and in_ram
        buffers = 1 if self.mailbox else BUFFER_COUNT
        self._usable = self.routed and not deactivated and start + buffers * length <= self._memory_end
        self._reset()
        return True

    # ----------------------------------------------------------------------------- access
    def read(self, ecat: bool, lo: int, hi: int) -> Optional[bytearray]:
        """Read ``lo``..``hi`` (inside the area) from the ECAT side or the PDI side, as the
        consumer; None when the SyncManager denies the access.

        The first access must include the start address (it opens the buffer: a buffered
        channel hands the newest complete buffer to the consumer); the access that includes
        the end address closes it (a mailbox becomes empty).
        """
        if not self._usable or ecat == self.ecat_writes:
            return None
        end = self.end
        if ecat and hi == end and self.end_accessed:
            return None
        status = self._status
        mailbox = self.mailbox
        if mailbox and not status & _MAILBOX_FULL:
            return None
        if not self._consumer_open:
            if lo != self.start:
                return None
            if hi == end and not mailbox:  # the whole buffer in one access: open, read, close
                if self._new_data:
                    self._consumer, self._latest = self._latest, self._consumer
                    self._new_data = False
                shift = self._consumer * self.length
                data = self._mem[lo + shift:hi + shift]
                status = (status & _WHOLE_READ_KEEP) | _INTERRUPT_READ
                if ecat:  # not again in this frame
                    self.end_accessed = True
                    self._ended.append(self)
                if status != self._status:  # self._set_status(status), inline
                    self._status = status
                    self._mem[self._status_at] = status
                return data
            self._consumer_open = True
            if self._new_data:
                self._consumer, self._latest = self._latest, self._consumer
                self._new_data = False
            status = (status | _READ_OPEN) & ~_INTERRUPT_WRITE
        shift = 0 if mailbox else self._consumer * self.length
        data = self._mem[lo + shift:hi + shift]
        if hi == end:
            self._consumer_open = False
            if mailbox:
                status &= ~_MAILBOX_FULL
            status = (status & ~_READ_OPEN) | _INTERRUPT_READ
            if ecat:  # not again in this frame
                self.end_accessed = True
                self._ended.append(self)
        if status != self._status:  # self._set_status(status), inline
            self._status = status
            self._mem[self._status_at] = status
        return data

    def write(self, ecat: bool, lo: int, data: Buffer) -> bool:
        """Write ``data`` at ``lo`` (inside the area) from the ECAT side or the PDI side, as the
        producer; False when the SyncManager denies the access.

        The first access must include the start address (it opens the buffer); the access that
        includes the end address completes it (a mailbox becomes full, a buffered channel
        publishes the buffer as the newest one) and triggers the watchdog if configured.
        """
        if not self._usable or ecat != self.ecat_writes:
            return False
        hi = lo + len(data)
        end = self.end
        if ecat and hi == end and self.end_accessed:
            return False
        status = self._status
        mailbox = self.mailbox
        if mailbox and status & _MAILBOX_FULL:
            return False
        if not self._producer_open:
            if lo != self.start:
                return False
            if hi == end and not mailbox:  # the whole buffer in one access: open, write, complete
                written = self._producer
                shift = written * self.length
                self._mem[lo + shift:hi + shift] = data
                self._producer, self._latest = self._latest, written
                self._new_data = True
                status = (status & _WHOLE_WRITE_KEEP) | _BUFFER_STATE_BITS[written] | _INTERRUPT_WRITE
                if ecat:  # not again in this frame
                    self.end_accessed = True
                    self._ended.append(self)
                    if self.watchdog_trigger:
                        self._trigger()
                if status != self._status:  # self._set_status(status), inline
                    self._status = status
                    self._mem[self._status_at] = status
                return True
            self._producer_open = True
            status = (status | _WRITE_OPEN) & ~_INTERRUPT_READ
        if mailbox:
            self._mem[lo:hi] = data
        else:
            shift = self._producer * self.length
            self._mem[lo + shift:hi + shift] = data
        if hi == end:
            self._producer_open = False
            if mailbox:
                status |= _MAILBOX_FULL
            else:
                written = self._producer
                self._producer, self._latest = self._latest, written
                self._new_data = True
                status = (status & ~_BUFFER_STATE_MASK) | _BUFFER_STATE_BITS[written]
            status = (status & ~_WRITE_OPEN) | _INTERRUPT_WRITE
            if ecat:  # not again in this frame
                self.end_accessed = True
                self._ended.append(self)
                if self.watchdog_trigger:
                    self._trigger()
        if status != self._status:  # self._set_status(status), inline
            self._status = status
            self._mem[self._status_at] = status
        return True

    # ------------------------------------------------------------ whole-buffer accessors
    def ecat_reader(self, lo: int, hi: int) -> Callable[[bool, int, int], Optional[bytearray]]:
        """The reader for ECAT reads of ``lo``..``hi`` (inside the area) under the current
        configuration: :meth:`read`, or, when they are whole buffers of a usable buffered channel
        that ECAT reads, :meth:`_read_whole` (the same results with fewer checks). The ESC asks
        again after every reconfiguration (its FMMU mappings are compiled anew)."""
        if self._usable and not self.mailbox and not self.ecat_writes and lo == self.start and hi == self.end:
            return self._read_whole
        return self.read

    def ecat_writer(self, lo: int, hi: int) -> Callable[[bool, int, Buffer], bool]:
        """The writer for ECAT writes of ``lo``..``hi`` (see :meth:`ecat_reader`): :meth:`write`,
        or :meth:`_write_whole` for whole buffers of a usable buffered channel that ECAT writes."""
        if self._usable and not self.mailbox and self.ecat_writes and lo == self.start and hi == self.end:
            return self._write_whole
        return self.write

    def _read_whole(self, ecat: bool, lo: int, hi: int) -> Optional[bytearray]:
        """:meth:`read` of the whole area of a usable buffered channel that ECAT reads (see
        :meth:`ecat_reader`): the buffer's way through :meth:`read` without the checks that
        configuration settles; anything else goes to :meth:`read`."""
        if not ecat or self.end_accessed or self._consumer_open:
            return self.read(ecat, lo, hi)
        if self._new_data:
            self._consumer, self._latest = self._latest, self._consumer
            self._new_data = False
        shift = self._consumer * self.length
        data = self._mem[lo + shift:hi + shift]
        status = (self._status & _WHOLE_READ_KEEP) | _INTERRUPT_READ
        self.end_accessed = True  # not again in this frame
        self._ended.append(self)
        if status != self._status:  # self._set_status(status), inline
            self._status = status
            self._mem[self._status_at] = status
        return data

    def _write_whole(self, ecat: bool, lo: int, data: Buffer) -> bool:
        """:meth:`write` of the whole area of a usable buffered channel that ECAT writes (see
        :meth:`ecat_writer`): the buffer's way through :meth:`write` without the checks that
        configuration settles; anything else goes to :meth:`write`."""
        length = self.length
        if not ecat or self.end_accessed or self._producer_open or len(data) != length:
            return self.write(ecat, lo, data)
        written = self._producer
        shift = written * length
        self._mem[lo + shift:lo + shift + length] = data
        self._producer, self._latest = self._latest, written
        self._new_data = True
        status = (self._status & _WHOLE_WRITE_KEEP) | _BUFFER_STATE_BITS[written] | _INTERRUPT_WRITE
        self.end_accessed = True  # not again in this frame
        self._ended.append(self)
        if self.watchdog_trigger:
            self._trigger()
        if status != self._status:  # self._set_status(status), inline
            self._status = status
            self._mem[self._status_at] = status
        return True

    def _reset(self) -> None:
        self._producer, self._latest, self._consumer = 0, 1, 2
        self._new_data = False
        self._producer_open = self._consumer_open = False
        self.end_accessed = False
        self._set_status(_STATUS_RESET)

    def _set_status(self, status: int) -> None:
        self._status = status
        self._mem[self._status_at] = status


class ProcessDataWatchdog:
    """The ESC's process data watchdog: rewound by every ECAT write that completes a buffer of a
    SyncManager with the watchdog trigger enabled; expires when no trigger came for register
    0x0420 increments of (0x0400 + 2) * 40 ns (both read when it is rewound; 0x0420 = 0 disables
    it). Expiry clears 0x0440 bit 0 and counts in 0x0442.

    :param memory: the ESC's memory (registers read and written in place).
    :param clock: monotonic time in nanoseconds.
    """

    def __init__(self, memory: bytearray, clock: Callable[[], int]) -> None:
        self._mem = memory
        self._clock = clock
        self._timeout = 0
        self._deadline = 0
        #: Triggered and neither expired nor disabled since.
        self.running = False
        #: The watchdog expired and was not triggered since.
        self.expired = False
        self.configure()

    def configure(self) -> None:
        """Read the divider and the time again (the ESC calls this after writes to them); the
        new time applies from the next trigger."""
        (divider,) = _U16.unpack_from(self._mem, Register.WATCHDOG_DIVIDER)
        (time,) = _U16.unpack_from(self._mem, Register.WATCHDOG_TIME_PROCESS_DATA)
        self._timeout = (divider + WATCHDOG_DIVIDER_OFFSET) * WATCHDOG_CLOCK_NS * time

    @property
    def timeout_ns(self) -> int:
        """The configured time in nanoseconds; 0 when the watchdog is disabled."""
        return self._timeout

    def trigger(self) -> None:
        """Rewind the watchdog (a triggering write completed)."""
        self.running = self._timeout > 0
        self._deadline = self._clock() + self._timeout
        if self.expired or not self._mem[_WATCHDOG_STATUS_AT] & _WATCHDOG_ACTIVE:
            self.expired = False
            _U16.pack_into(self._mem, _WATCHDOG_STATUS_AT, _WATCHDOG_ACTIVE)

    def check(self) -> bool:
        """Bring the watchdog up to the clock; True exactly when it expires now."""
        if not self.running or self._clock() < self._deadline:
            return False
        self._expire()
        return True

    def _expire(self) -> None:
        """The deadline has passed: stop, clear 0x0440 bit 0, count in 0x0442."""
        self.running = False
        self.expired = True
        _U16.pack_into(self._mem, Register.WATCHDOG_STATUS_PROCESS_DATA, 0)
        counter = Register.WATCHDOG_COUNTER_PROCESS_DATA
        if self._mem[counter] < _COUNTER_MAX:
            self._mem[counter] += 1


# ------------------------------------------------------------------------- expected layout
@dataclass(frozen=True, slots=True)
class ExpectedSyncManager:
    """How a device expects the master to configure one SyncManager (from its SII/ESI): the
    master must enable it with this area, mode and direction. The interrupt and watchdog bits
    of the control byte are the master's choice and are not compared."""

    index: int
    physical_start: int
    length: int
    mode: SmMode
    direction: SmDirection

    def __post_init__(self) -> None:
        if not 0 <= self.index < MAX_SYNC_MANAGERS:
            raise ValueError(f"SyncManager index {self.index!r} is outside 0..{MAX_SYNC_MANAGERS - 1}")
        for name in ("physical_start", "length"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFFFF:
                raise ValueError(f"{name} {value!r} is outside 0..0xFFFF")
        object.__setattr__(self, "mode", SmMode(self.mode))
        object.__setattr__(self, "direction", SmDirection(self.direction))

    def matches(self, channel: SyncManagerChannel) -> bool:
        """True when ``channel`` is enabled with this area, mode and direction."""
        return (
            SmActivate.ENABLE in channel.activate
            and channel.physical_start == self.physical_start
            and channel.length == self.length
            and channel.control.mode == self.mode
            and channel.control.direction == self.direction
        )

    def process_data_matches(self, channel: SyncManagerChannel) -> bool:
        """The rule for a process data SyncManager: with data it must match; without data
        (length 0) it must be disabled with length 0 (SSC ``CheckSmSettings``)."""
        if self.length:
            return self.matches(channel)
        return SmActivate.ENABLE not in channel.activate and channel.length == 0


@dataclass(frozen=True, slots=True)
class MailboxLayout:
    """The two mailbox SyncManagers: ``receive`` (master to slave, ECAT writes) and ``send``
    (slave to master, ECAT reads), both in mailbox mode."""

    receive: ExpectedSyncManager
    send: ExpectedSyncManager

    def __post_init__(self) -> None:
        for role, sm, direction in (("receive", self.receive, SmDirection.WRITE),
                                    ("send", self.send, SmDirection.READ)):
            if sm.mode != SmMode.MAILBOX or sm.direction != direction:
                raise ValueError(f"the {role} mailbox must be a mailbox-mode SyncManager with direction "
                                 f"{direction.name}, got {sm.mode.name}/{sm.direction.name}")
            if sm.length <= MAILBOX_HEADER_SIZE:
                raise ValueError(f"the {role} mailbox of {sm.length} bytes cannot hold a mailbox header")
        if self.receive.index == self.send.index:
            raise ValueError("the receive and send mailboxes need two SyncManagers")

    @classmethod
    def standard(cls, receive_start: int, receive_length: int, send_start: int,
                 send_length: int) -> "MailboxLayout":
        """SyncManager 0 receives and SyncManager 1 sends (ETG.2010 / SII mailbox words)."""
        return cls(
            ExpectedSyncManager(0, receive_start, receive_length, SmMode.MAILBOX, SmDirection.WRITE),
            ExpectedSyncManager(1, send_start, send_length, SmMode.MAILBOX, SmDirection.READ),
        )

    def matches(self, channel: Callable[[int], SyncManagerChannel]) -> bool:
        """Both mailbox SyncManagers are configured as expected."""
        return self.receive.matches(channel(self.receive.index)) and self.send.matches(channel(self.send.index))


@dataclass(frozen=True, slots=True)
class SyncManagerLayout:
    """The SyncManager configuration a device expects, checked by its AL state machine:

    * INIT -> PRE-OP: the ``mailbox`` SyncManagers, else refused with 0x0016;
    * INIT -> BOOT: the ``boot_mailbox`` SyncManagers, else refused with 0x0015;
    * PRE-OP -> SAFE-OP and SAFE-OP -> OP: every ``process_data`` SyncManager, else refused with
      0x001D (an output, ECAT-write SyncManager) or 0x001E (an input one).

    A part left at None or empty is not checked (a device without mailbox or process data).
    """

    mailbox: Optional[MailboxLayout] = None
    boot_mailbox: Optional[MailboxLayout] = None
    process_data: tuple[ExpectedSyncManager, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "process_data", tuple(self.process_data))

    @property
    def indexes(self) -> frozenset[int]:
        """Every SyncManager index the layout refers to."""
        used = {sm.index for sm in self.process_data}
        for mailbox in (self.mailbox, self.boot_mailbox):
            if mailbox is not None:
                used.update((mailbox.receive.index, mailbox.send.index))
        return frozenset(used)

    def check(self, current: ALState, target: ALState,
              channel: Callable[[int], SyncManagerChannel]) -> int:
        """The AL status code refusing ``current`` -> ``target`` because of the SyncManager
        registers read through ``channel(index)``; 0 when they are as expected."""
        if current is ALState.INIT:
            if target is ALState.PREOP and self.mailbox is not None and not self.mailbox.matches(channel):
                return ALStatusCode.INVALID_MAILBOX_CONFIGURATION_PREOP
            if target is ALState.BOOT and self.boot_mailbox is not None \
                    and not self.boot_mailbox.matches(channel):
                return ALStatusCode.INVALID_MAILBOX_CONFIGURATION_BOOT
            return ALStatusCode.NO_ERROR
        going_up = (current, target) in ((ALState.PREOP, ALState.SAFEOP), (ALState.SAFEOP, ALState.OP))
        if going_up:
            for expected in self.process_data:
                if not expected.process_data_matches(channel(expected.index)):
                    if expected.direction == SmDirection.WRITE:
                        return ALStatusCode.INVALID_OUTPUT_CONFIGURATION
                    return ALStatusCode.INVALID_INPUT_CONFIGURATION
        return ALStatusCode.NO_ERROR
