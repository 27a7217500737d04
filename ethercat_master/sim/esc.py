"""One simulated EtherCAT Slave Controller (ESC): its memory and its datagram processing.

Written from the ESC specification, not from what a master expects:

* Beckhoff "EtherCAT Slave Controller, Section I - Technology": Table 6 "EtherCAT command
  types", Table 7 "EtherCAT command details" (address match, data in/out, ADP increment per
  command), 2.4 "Working counter" (Table 5), chapter 7 "FMMU" (bit-wise mapping example of
  Figure 21);
* Beckhoff "Section II - Register description": the ECAT access column of every register (what
  the EtherCAT side may write), reset values, clear-on-write error counters, the physical
  read/write offset (0x0108) of APRW/FPRW/BRW, DL status bits;
* ETG.1000.4 (datagram processing, working counter) and ETG.1000.6 (AL state machine), checked
  against the reference slave stack's ``AL_ControlInd`` (Beckhoff SSC) and SOES ``ESC_state``.

Memory model
    A 64 KiB address space (:data:`ADDRESS_SPACE`): registers 0x0000-0x0FFF, process data RAM
    from 0x1000 (:data:`~ethercat_master.protocol.registers.PROCESS_DATA_RAM_START`) of
    ``ram_size_kib`` KiB (default 8 KiB, as an ET1100). A datagram whose physical range runs
    past the end of the RAM is not processed and not counted. Registers that do not exist read
    0 and ignore writes ("reserved ... not writable, read returns 0", Section II table 1); a
    write to them is still a successful access for the working counter.

Write mask
    The EtherCAT side can only change the register bits whose ECAT access is ``r/w`` in Section
    II (:meth:`Esc.set_ecat_write_mask` opens more for later layers). The local application
    (PDI side) uses :meth:`Esc.pdi_read` / :meth:`Esc.pdi_write`, which bypass the mask.

Side effects of ECAT writes
    Run after the write, in registration order, by write hooks (:meth:`Esc.add_write_hook`):
    configured station address, DL control (station alias enable), AL control (the AL state
    machine), FMMU configuration (recompiled mappings), SyncManager registers (channels reset
    and their configuration locked while enabled) and the clear-on-write error and watchdog
    counters.

SyncManagers (:mod:`.sync_manager`)
    ECAT accesses (physical, read-write and through FMMUs) and PDI accesses
    (:meth:`Esc.pdi_read`, :meth:`Esc.pdi_write`) inside an enabled SyncManager's area follow
    its buffer rules; the working counter counts an access when at least one of its bytes was
    accepted. Completing a write of a channel with the watchdog trigger rewinds the process
    data watchdog; in OP its expiry takes the slave to SAFE-OP with error 0x001B.

Frames and firmware
    The chain calls :meth:`Esc.frame_end` once after every frame: the SyncManagers accept their
    end addresses again and the firmware tasks registered with :meth:`Esc.add_frame_end_hook`
    (the mailbox server) run, as a slave's firmware polls between frames. The process data
    watchdog is checked when the next frame arrives (before its first datagram), so a master
    sees its expiry in the first frame after it.

Simplifications (documented, deliberate)
    * Frames reaching an ESC are well formed (the chain drops malformed ones before any slave
      sees them), so SyncManager buffers change hands when their end address is accessed
      rather than when the frame's FCS has been checked.
    * A read-write command (APRW, FPRW, BRW, LRW) returns the memory content from before its own
      write (exchange semantics); LRW writes with the data the datagram brought and then puts
      the read bits into the datagram, so inputs and outputs may share logical addresses.
    * Bit-wise FMMU writes change only the mapped bits everywhere (the datasheet leaves the
      unmapped bits of a byte "undefined" outside the digital output register).
    * The AL state machine (the slave's firmware) runs immediately after the AL control write.
"""

from __future__ import annotations

import enum
import struct
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence, Union

from ..errors import ProtocolError
from ..protocol.al_status import (
    AL_CONTROL_ERROR_ACK,
    AL_STATE_MASK,
    AL_STATUS_ERROR_INDICATION,
    ALState,
    ALStatusCode,
    StateValue,
    state_from_value,
)
from ..protocol.datagram import (
    DATAGRAM_HEADER,
    DATAGRAM_HEADER_SIZE,
    DATAGRAM_OVERHEAD,
    LENGTH_MASK,
    RESERVED_MASK,
    WKC,
    Command,
)
from ..protocol.registers import (
    MAX_FMMUS,
    MAX_SYNC_MANAGERS,
    PORT_COUNT,
    PROCESS_DATA_RAM_START,
    AlControl,
    DlControl,
    DlStatusFlag,
    EscFeature,
    EscFeatures,
    EscIdentity,
    FmmuEntry,
    PortDescriptor,
    PortType,
    Register,
    SyncManagerChannel,
    fmmu_address,
    sync_manager_address,
)
from .sync_manager import ProcessDataWatchdog, SyncManager, SyncManagerLayout

__all__ = [
    "ADDRESS_SPACE",
    "MAX_RAM_SIZE_KIB",
    "DEFAULT_FEATURES",
    "DEFAULT_PORTS",
    "EscType",
    "ALTransition",
    "WriteHook",
    "FrameEndHook",
    "Esc",
]

Buffer = Union[bytes, bytearray, memoryview]
#: ``callback(address, length)`` of an ECAT write that touched the hook's range.
WriteHook = Callable[[int, int], None]
#: ``callback()`` run after every frame: the slave firmware's work between frames.
FrameEndHook = Callable[[], None]
#: ``callback(address, end, write)`` run before an ECAT or PDI access to memory ``address``..``end``.
AccessHook = Callable[[int, int, bool], None]

#: The ESC address space: 64 KiB.
ADDRESS_SPACE = 0x10000
#: Largest process data RAM: 60 KiB (0x1000-0xFFFF).
MAX_RAM_SIZE_KIB = (ADDRESS_SPACE - PROCESS_DATA_RAM_START) // 1024
_KIB = 1024
_REGISTERS_END = PROCESS_DATA_RAM_START

#: Features of the default simulated ESC: bit-wise FMMUs, 64-bit distributed clocks.
DEFAULT_FEATURES = EscFeature.DISTRIBUTED_CLOCKS | EscFeature.DC_64BIT
#: Ports of the default simulated ESC: two Ethernet ports (0 in, 1 out), like most devices.
DEFAULT_PORTS = (PortType.MII, PortType.MII, PortType.NOT_IMPLEMENTED, PortType.NOT_IMPLEMENTED)


class EscType(enum.IntEnum):
    """Values of the ESC type register 0x0000 (Section II 2.1.1)."""

    FIRST_TERMINALS = 0x01
    ESC20 = 0x02
    FIRST_EK1100 = 0x03
    IP_CORE = 0x04
    INTERNAL_FPGA = 0x05
    ET1100 = 0x11  # also ET1150
    ET1200 = 0x12


_U16 = struct.Struct("<H")

# Command codes as plain ints for the hot path.
_NOP = int(Command.NOP)
_APRD, _APWR, _APRW = int(Command.APRD), int(Command.APWR), int(Command.APRW)
_FPRD, _FPWR, _FPRW = int(Command.FPRD), int(Command.FPWR), int(Command.FPRW)
_BRD, _BWR, _BRW = int(Command.BRD), int(Command.BWR), int(Command.BRW)
_LRD, _LWR, _LRW = int(Command.LRD), int(Command.LWR), int(Command.LRW)
_ARMW, _FRMW = int(Command.ARMW), int(Command.FRMW)
#: Commands whose ADP every slave increments (Section I Table 7: position and broadcast).
ADP_INCREMENTING = frozenset({_APRD, _APWR, _APRW, _ARMW, _BRD, _BWR, _BRW})

# ------------------------------------------------------------------------ ECAT write masks
# Bits the EtherCAT side may write, from the "ECAT" access column of Section II ("r/w").
# Registers written from the EEPROM or by the PDI (alias, AL status, status codes, ...) and
# clear-on-write counters (value ignored) have mask 0 here.
_FF2 = b"\xff\xff"
_ECAT_WRITABLE: tuple[tuple[int, bytes], ...] = (
    (Register.CONFIGURED_STATION_ADDRESS, _FF2),
    # bits 0-1 forwarding rule / temporary loop, 8-15 loop ports, 16-23 FIFO and EBUS, 24 alias
    (Register.DL_CONTROL, bytes((0x03, 0xFF, 0xFF, 0x01))),
    (Register.PHYSICAL_RW_OFFSET, _FF2),
    (Register.AL_CONTROL, _FF2),
    (Register.ECAT_EVENT_MASK, _FF2),
    (Register.WATCHDOG_DIVIDER, _FF2),
    (Register.WATCHDOG_TIME_PDI, _FF2),
    (Register.WATCHDOG_TIME_PROCESS_DATA, _FF2),
    # Section II 2.17: digital I/O output data (bit-writable through logical addressing) and
    # general purpose outputs are ECAT r/w (their usable size depends on the PDI; all here)
    (Register.DIGITAL_IO_OUTPUT_DATA, b"\xff" * Register.DIGITAL_IO_OUTPUT_DATA.size),
    (Register.GENERAL_PURPOSE_OUTPUTS, b"\xff" * Register.GENERAL_PURPOSE_OUTPUTS.size),
    (Register.USER_RAM, b"\xff" * Register.USER_RAM.size),
)
#: Plain storage registers of the distributed clocks (side effects belong to the DC layer).
_ECAT_WRITABLE_DC: tuple[tuple[int, bytes], ...] = (
    (Register.DC_SYSTEM_TIME_OFFSET, b"\xff" * Register.DC_SYSTEM_TIME_OFFSET.size),
    (Register.DC_SYSTEM_TIME_DELAY, b"\xff" * Register.DC_SYSTEM_TIME_DELAY.size),
    (Register.DC_SPEED_COUNTER_START, b"\xff\x7f"),
    (Register.DC_SYSTEM_TIME_DIFF_FILTER_DEPTH, b"\x0f"),
    (Register.DC_SPEED_COUNTER_FILTER_DEPTH, b"\x0f"),
    (Register.DC_CYCLIC_UNIT_CONTROL, b"\x31"),
    (Register.DC_ACTIVATION, b"\xff"),
    (Register.DC_START_TIME_CYCLIC, b"\xff" * Register.DC_START_TIME_CYCLIC.size),
    (Register.DC_SYNC0_CYCLE_TIME, b"\xff" * Register.DC_SYNC0_CYCLE_TIME.size),
    (Register.DC_SYNC1_CYCLE_TIME, b"\xff" * Register.DC_SYNC1_CYCLE_TIME.size),
    (Register.DC_LATCH0_CONTROL, b"\x03"),
    (Register.DC_LATCH1_CONTROL, b"\x03"),
)
#: One FMMU: logical start, length, start bit (2:0), stop bit (2:0), physical start,
#: physical start bit (2:0), type (read/write), activate; 3 reserved bytes.
_FMMU_MASK = bytes((0xFF,) * 6 + (0x07, 0x07, 0xFF, 0xFF, 0x07, 0x03, 0x01, 0x00, 0x00, 0x00))
#: One SyncManager: start, length, control, status (r/-), activate (bits 0,1,6,7), PDI control (r/-).
_SM_MASK = bytes((0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0xC3, 0x00))
#: The same while the SyncManager is enabled: start, length and control are "r/(w)", writable
#: only while the SyncManager is disabled (Section II Tables 89-91).
_SM_MASK_ENABLED = bytes(5) + _SM_MASK[5:]

#: Counter groups cleared by an ECAT write to any byte of the group (write value ignored).
_CLEAR_ON_WRITE: tuple[tuple[int, int], ...] = (
    (Register.RX_ERROR_COUNTER_PORT0, Register.PROCESSING_UNIT_ERROR_COUNTER),  # RX + forwarded RX
    (Register.PROCESSING_UNIT_ERROR_COUNTER, Register.PDI_ERROR_COUNTER),
    (Register.PDI_ERROR_COUNTER, Register.PDI_ERROR_COUNTER + 1),
    (Register.LOST_LINK_COUNTER_PORT0, Register.LOST_LINK_COUNTER_PORT3 + 1),
    (Register.WATCHDOG_COUNTER_PROCESS_DATA, Register.WATCHDOG_COUNTER_PDI + 1),
)
_COUNTER_MAX = 0xFF
#: Registers below this address hold configuration the ESC keeps decoded (station, DL control, FMMUs).
_DERIVED_END = Register.FMMU_BASE + MAX_FMMUS * Register.FMMU_BASE.size
#: Registers the process data watchdog's time comes from.
_WATCHDOG_CONFIGURATION = (Register.WATCHDOG_DIVIDER, Register.WATCHDOG_TIME_PROCESS_DATA)
_WATCHDOG_CONFIGURATION_LO = min(_WATCHDOG_CONFIGURATION)
_WATCHDOG_CONFIGURATION_HI = max(r + r.size for r in _WATCHDOG_CONFIGURATION)
#: Write masks of n bytes that let every bit through (n < 0x1000), to skip the bit merge.
_OPEN_MASKS = tuple(b"\xff" * n for n in range(PROCESS_DATA_RAM_START + 1))
#: A written range as one int: address * _RANGE_KEY + end (end <= 0x10000).
_RANGE_KEY = ADDRESS_SPACE + 1
#: Written ranges whose hooks and masks an ESC keeps (beyond that it works them out each time).
_RANGE_CACHE_SIZE = 4096
#: End of the SyncManager register block.
_SYNC_MANAGERS_END = Register.SYNC_MANAGER_BASE + MAX_SYNC_MANAGERS * Register.SYNC_MANAGER_BASE.size
# Register addresses as plain ints for the hot paths (an enum member lookup costs more).
_SYNC_MANAGERS_START = int(Register.SYNC_MANAGER_BASE)
_PHYSICAL_RW_OFFSET_AT = int(Register.PHYSICAL_RW_OFFSET)
_STATION_ALIAS_AT = int(Register.CONFIGURED_STATION_ALIAS)

# Reset values (Section II).
_WATCHDOG_DIVIDER_RESET = 0x09C2  # 100 us basic increment
_WATCHDOG_TIME_RESET = 0x03E8  # 100 ms

# --------------------------------------------------------------------------- AL state machine
#: Valid transitions (ETG.1000.6 "state transitions"); a request for the current state is valid.
_ALLOWED: dict[ALState, frozenset[ALState]] = {
    ALState.INIT: frozenset({ALState.INIT, ALState.PREOP, ALState.BOOT}),
    ALState.PREOP: frozenset({ALState.INIT, ALState.PREOP, ALState.SAFEOP}),
    ALState.SAFEOP: frozenset({ALState.INIT, ALState.PREOP, ALState.SAFEOP, ALState.OP}),
    ALState.OP: frozenset({ALState.INIT, ALState.PREOP, ALState.SAFEOP, ALState.OP}),
    ALState.BOOT: frozenset({ALState.INIT, ALState.BOOT}),
}
_STATE_VALUES = frozenset(int(s) for s in ALState)


@dataclass(frozen=True, slots=True)
class ALTransition:
    """Outcome of an AL state request: the state the slave is in afterwards, and the AL status
    code (0 for success; any other code also sets the error indication bit)."""

    state: ALState
    code: int = ALStatusCode.NO_ERROR

    @property
    def failed(self) -> bool:
        """True when the request was refused."""
        return self.code != ALStatusCode.NO_ERROR


def _refused_state(current: ALState) -> ALState:
    """Where a slave stays after refusing a request: its state, except that it leaves OP for
    SAFE-OP (it must stop its outputs when it does not follow the master; SSC, SOES)."""
    return ALState.SAFEOP if current is ALState.OP else current


# --------------------------------------------------------------------------------- FMMUs
@dataclass(frozen=True, slots=True)
class _Mapping:
    """An active FMMU compiled for the datagram hot path; bit positions are absolute
    (byte address * 8 + bit)."""

    logical_lo: int  # first logical byte
    logical_hi: int  # logical byte after the last one
    first_bit: int  # first mapped logical bit
    end_bit: int  # logical bit after the last mapped one
    physical: int  # physical byte of the first mapped bit
    physical_bit: int  # physical bit of the first mapped bit
    aligned: bool  # byte-wise mapping: start bit 0, stop bit 7, physical start bit 0
    read: bool
    write: bool

    @classmethod
    def compile(cls, entry: FmmuEntry, byte_oriented: bool) -> "_Mapping | None":
        """The mapping of an active FMMU entry, or None when it maps nothing."""
        start_bit, stop_bit, physical_bit = entry.logical_start_bit, entry.logical_stop_bit, entry.physical_start_bit
        if byte_oriented:  # ESC feature 0x0008[0]: the bit fields have no effect
            start_bit, stop_bit, physical_bit = 0, 7, 0
        bits = (entry.length - 1) * 8 + stop_bit - start_bit + 1
        if not entry.active or entry.length == 0 or bits <= 0 or not (entry.read or entry.write):
            return None
        first = entry.logical_start * 8 + start_bit
        return cls(
            logical_lo=entry.logical_start,
            logical_hi=entry.logical_start + entry.length,
            first_bit=first,
            end_bit=first + bits,
            physical=entry.physical_start,
            physical_bit=entry.physical_start * 8 + physical_bit,
            aligned=start_bit == 0 and stop_bit == 7 and physical_bit == 0,
            read=entry.read,
            write=entry.write,
        )

    @property
    def physical_bytes(self) -> tuple[int, int]:
        """The physical bytes holding the mapped bits: (first, end)."""
        return self.physical_bit >> 3, (self.physical_bit + self.end_bit - self.first_bit + 7) >> 3

    def hot(self, route: "_Route", memory_size: int) -> "_HotMapping":
        """The tuple the datagram loop unpacks: (logical_lo, logical_hi, aligned, first_bit,
        end_bit, physical_bit, route), where ``route`` says how its physical bytes are accessed
        and an aligned mapping carries, for a datagram that covers all of it, its physical start
        in the first bit field and its byte count (clipped to the memory) in the end bit field,
        and physical - logical_lo in the physical bit field."""
        if not self.aligned:
            return (self.logical_lo, self.logical_hi, False, self.first_bit, self.end_bit, self.physical_bit, route)
        shift = self.physical - self.logical_lo
        last = self.logical_hi if self.logical_hi + shift <= memory_size else memory_size - shift
        return (self.logical_lo, self.logical_hi, True, self.physical, last - self.logical_lo, shift, route)


class _General:
    """Route of a mapping whose physical bytes need the general path: they touch several
    SyncManager areas, or plain memory and one, or a byte that triggers the watchdog."""


_GENERAL = _General()
#: How a mapping's physical bytes are accessed: None for plain memory, the SyncManager whose
#: area holds them all, or :data:`_GENERAL`.
_Route = Union[None, SyncManager, _General]
#: See :meth:`_Mapping.hot`.
_HotMapping = tuple[int, int, bool, int, int, int, _Route]


def _get_bits(buf: Buffer, bit: int, count: int) -> int:
    """``count`` bits of ``buf`` from absolute bit position ``bit`` (LSB first)."""
    first, end = bit >> 3, (bit + count + 7) >> 3
    return (int.from_bytes(buf[first:end], "little") >> (bit & 7)) & ((1 << count) - 1)


def _merge_bits(buf: Buffer, bit: int, count: int, value: int) -> tuple[int, bytes]:
    """The bytes of ``buf`` covering ``count`` bits from ``bit`` with those bits set to
    ``value``: (first byte offset, new bytes)."""
    first, end = bit >> 3, (bit + count + 7) >> 3
    shift = bit & 7
    mask = ((1 << count) - 1) << shift
    old = int.from_bytes(buf[first:end], "little")
    return first, ((old & ~mask) | (value << shift)).to_bytes(end - first, "little")


# ------------------------------------------------------------------------------------ ESC
class Esc:
    """One EtherCAT Slave Controller: 64 KiB of registers and RAM, and datagram processing.

    :param esc_type: register 0x0000 (:class:`EscType`, default ET1100).
    :param revision: register 0x0001.
    :param build: register 0x0002:0x0003.
    :param fmmu_count: FMMUs supported (0x0004), 0-16.
    :param sync_manager_count: SyncManagers supported (0x0005), 0-16.
    :param ram_size_kib: process data RAM in KiB (0x0006), 1-60.
    :param ports: the physical layer of ports 0-3 (0x0007); port 0 must be implemented.
    :param features: ESC features (0x0008:0x0009). Honoured: distributed clocks (DC registers
        writable), byte-oriented FMMUs, LRW and read-write commands not supported.
    :param alias: configured station alias (0x0012), as loaded from the SII EEPROM.
    :param bootstrap: whether the device supports the BOOT state (else INIT->BOOT is refused
        with AL status code 0x0013).
    :param name: a label for messages (e.g. the device name).
    :param sync_manager_layout: the SyncManager configuration the device expects, checked on
        state requests (see :class:`~.sync_manager.SyncManagerLayout`); None checks nothing.
    :param clock: monotonic time in nanoseconds, for the process data watchdog.
    """

    def __init__(
        self,
        *,
        esc_type: int = EscType.ET1100,
        revision: int = 0,
        build: int = 0,
        fmmu_count: int = 8,
        sync_manager_count: int = 8,
        ram_size_kib: int = 8,
        ports: Sequence[PortType] = DEFAULT_PORTS,
        features: EscFeature = DEFAULT_FEATURES,
        alias: int = 0,
        bootstrap: bool = True,
        name: str = "",
        sync_manager_layout: Optional[SyncManagerLayout] = None,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if not 0 <= fmmu_count <= MAX_FMMUS:
            raise ValueError(f"fmmu_count {fmmu_count!r} is outside 0..{MAX_FMMUS}")
        if not 0 <= sync_manager_count <= MAX_SYNC_MANAGERS:
            raise ValueError(f"sync_manager_count {sync_manager_count!r} is outside 0..{MAX_SYNC_MANAGERS}")
        if not 1 <= ram_size_kib <= MAX_RAM_SIZE_KIB:
            raise ValueError(f"ram_size_kib {ram_size_kib!r} is outside 1..{MAX_RAM_SIZE_KIB}")
        ports = tuple(PortType(p) for p in ports)
        if len(ports) != PORT_COUNT or ports[0] is PortType.NOT_IMPLEMENTED:
            raise ValueError(f"ports must describe {PORT_COUNT} ports with port 0 implemented, got {ports!r}")
        if not 0 <= alias <= 0xFFFF:
            raise ValueError(f"alias {alias!r} is outside 0..0xFFFF")
        self.name = name
        self.bootstrap = bootstrap
        #: The identity block 0x0000-0x0009 as configured.
        self.identity = EscIdentity(
            esc_type=int(esc_type),
            revision=revision,
            build=build,
            fmmu_count=fmmu_count,
            sync_manager_count=sync_manager_count,
            ram_size_kib=ram_size_kib,
            port_descriptor=PortDescriptor(ports),  # type: ignore[arg-type]
            features=EscFeatures(EscFeature(features)),
        )
        features = EscFeature(features)
        self._size = PROCESS_DATA_RAM_START + ram_size_kib * _KIB
        self._mem = bytearray(ADDRESS_SPACE)
        self._view = memoryview(self._mem)
        self._wmask = bytearray(_REGISTERS_END)
        # Counts changes of what decides how an ECAT access is carried out (write masks, write
        # and access hooks, SyncManager routes, FMMU mappings): a cache built from these (the
        # chain's fast paths) is valid while the epoch it was built in is current.
        self._epoch = 0
        self._byte_oriented = EscFeature.FMMU_BYTE_ORIENTED in features
        self._lrw_supported = EscFeature.LRW_NOT_SUPPORTED not in features
        self._rw_supported = EscFeature.READ_WRITE_NOT_SUPPORTED not in features
        self._station = 0
        self._alias_enabled = False
        self._fmmus: tuple[_Mapping, ...] = ()
        self._read_maps: tuple[_HotMapping, ...] = ()
        self._write_maps: tuple[_HotMapping, ...] = ()
        self._reads_apart = True  # no read mapping's logical bytes overlap a write mapping's
        self._lrw_hull: Optional[tuple[int, int]] = None  # see _compile_maps
        # (hull start, hull end, _lrw_reads, _lrw_writes, the one read and the one write through
        # SyncManagers as one tuple or None) when this ESC executes LRW and has a hull; for the
        # chain's batched LRW (_execute_lrw)
        self._lrw_batch: Optional[tuple] = None
        self._hooks: list[tuple[int, int, WriteHook]] = []
        self._hook_lo = ADDRESS_SPACE
        self._hook_hi = 0
        # Per written range (_range_key): the hooks it touches, in registration order (a hook
        # added later is appended to every cached list it touches), and the register write mask
        # as an int (-1: every bit writable); the masks are forgotten when one changes.
        self._hook_cache: dict[int, list[tuple[int, int, WriteHook]]] = {}
        self._mask_cache: dict[int, int] = {}
        # Access hooks (see _add_access_hook) and their hull; whether an FMMU maps into it.
        self._access_hooks: list[tuple[int, int, AccessHook]] = []
        self._access_lo = ADDRESS_SPACE
        self._access_hi = 0
        self._ecat_write_hooks: list[tuple[int, int, AccessHook]] = []
        self._ecat_write_lo = ADDRESS_SPACE
        self._ecat_write_hi = 0
        self._logical_watched = False
        self._frame_hooks: list[FrameEndHook] = []
        self._in_frame = False
        self._clock = clock
        #: The process data watchdog (0x0400, 0x0420, 0x0440, 0x0442).
        self.watchdog = ProcessDataWatchdog(self._mem, clock)
        self._ended: list[SyncManager] = []
        self._sync_managers = tuple(
            SyncManager(index, self._mem, self._size, self.watchdog.trigger, self._ended)
            for index in range(sync_manager_count)
        )
        # Areas whose accesses go through a SyncManager: (start, end, channel) sorted by start,
        # and their hull for a quick miss test on the hot path.
        self._routes: tuple[tuple[int, int, SyncManager], ...] = ()
        self._route_lo = ADDRESS_SPACE
        self._route_hi = 0
        # Bytes of enabled length-1 SyncManagers that only trigger the watchdog.
        self._trigger_bytes: tuple[int, ...] = ()
        self._layout: Optional[SyncManagerLayout] = None
        self.sync_manager_layout = sync_manager_layout

        self._mem[Register.TYPE:Register.TYPE + EscIdentity.SIZE] = self.identity.encode()
        self.alias = alias
        self._poke(Register.DL_CONTROL, DlControl().encode())
        self._poke(Register.AL_CONTROL, AlControl(ALState.INIT).encode())
        self._set_al(ALState.INIT, ALStatusCode.NO_ERROR)
        self._poke(Register.WATCHDOG_DIVIDER, _U16.pack(_WATCHDOG_DIVIDER_RESET))
        self._poke(Register.WATCHDOG_TIME_PDI, _U16.pack(_WATCHDOG_TIME_RESET))
        self._poke(Register.WATCHDOG_TIME_PROCESS_DATA, _U16.pack(_WATCHDOG_TIME_RESET))
        self.watchdog.configure()
        self.set_links((0,))

        for address, mask in _ECAT_WRITABLE:
            self.set_ecat_write_mask(address, mask)
        if EscFeature.DISTRIBUTED_CLOCKS in features:
            for address, mask in _ECAT_WRITABLE_DC:
                self.set_ecat_write_mask(address, mask)
        for index in range(fmmu_count):
            self.set_ecat_write_mask(fmmu_address(index), _FMMU_MASK)
        for index in range(sync_manager_count):
            self.set_ecat_write_mask(sync_manager_address(index), _SM_MASK)

        self.add_write_hook(Register.CONFIGURED_STATION_ADDRESS, 2, self._station_written)
        self.add_write_hook(Register.DL_CONTROL, Register.DL_CONTROL.size, self._dl_control_written)
        self.add_write_hook(Register.AL_CONTROL, Register.AL_CONTROL.size, self._al_control_written)
        counters_lo = _CLEAR_ON_WRITE[0][0]
        self.add_write_hook(counters_lo, _CLEAR_ON_WRITE[3][1] - counters_lo, self._counters_written)
        watchdog_lo, watchdog_hi = _CLEAR_ON_WRITE[4]
        self.add_write_hook(watchdog_lo, watchdog_hi - watchdog_lo, self._counters_written)
        if fmmu_count:
            self.add_write_hook(fmmu_address(0), fmmu_count * FmmuEntry.SIZE, self._fmmus_written)
        if sync_manager_count:
            self.add_write_hook(sync_manager_address(0), sync_manager_count * SyncManagerChannel.SIZE,
                                self._sync_managers_written)
        for register in _WATCHDOG_CONFIGURATION:
            self.add_write_hook(register, register.size, self._watchdog_written)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Esc{label} station 0x{self._station:04X} {self.al_state_name}>"

    # ------------------------------------------------------------------------ properties
    @property
    def memory_size(self) -> int:
        """End of the accessible memory: 0x1000 + RAM size (datagrams beyond it are ignored)."""
        return self._size

    @property
    def station_address(self) -> int:
        """Configured station address (0x0010), as written by the master."""
        return self._station

    @property
    def alias(self) -> int:
        """Configured station alias (0x0012); read-only from EtherCAT, set here as the SII
        EEPROM load (or the application) would."""
        return _U16.unpack_from(self._mem, _STATION_ALIAS_AT)[0]

    @alias.setter
    def alias(self, value: int) -> None:
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"alias {value!r} is outside 0..0xFFFF")
        self._poke(Register.CONFIGURED_STATION_ALIAS, _U16.pack(value))

    @property
    def alias_enabled(self) -> bool:
        """DL control bit 24: FPxx commands may address the slave by its alias."""
        return self._alias_enabled

    @property
    def al_state(self) -> StateValue:
        """The state in AL status (0x0130 bits 0-3)."""
        return state_from_value(self._mem[Register.AL_STATUS] & AL_STATE_MASK)

    @property
    def al_state_name(self) -> str:
        """Printable AL state, with ``+ERR`` when the error indication is set."""
        state = self.al_state
        name = state.name if isinstance(state, ALState) else f"0x{state:X}"
        return name + ("+ERR" if self.al_error else "")

    @property
    def al_error(self) -> bool:
        """AL status error indication (0x0130 bit 4)."""
        return bool(self._mem[Register.AL_STATUS] & AL_STATUS_ERROR_INDICATION)

    @property
    def al_status_code(self) -> int:
        """AL status code (0x0134)."""
        return _U16.unpack_from(self._mem, Register.AL_STATUS_CODE)[0]

    @property
    def clock(self) -> Callable[[], int]:
        """The monotonic nanosecond clock the process data watchdog runs on."""
        return self._clock

    @property
    def sync_managers(self) -> Sequence[SyncManager]:
        """The SyncManager channels, by index."""
        return self._sync_managers

    @property
    def sync_manager_layout(self) -> Optional[SyncManagerLayout]:
        """The SyncManager configuration the device expects (checked by :meth:`al_transition`);
        None checks nothing. Set by the device layer, typically from the SII."""
        return self._layout

    @sync_manager_layout.setter
    def sync_manager_layout(self, layout: Optional[SyncManagerLayout]) -> None:
        if layout is not None:
            missing = sorted(i for i in layout.indexes if i >= len(self._sync_managers))
            if missing:
                raise ValueError(f"the layout uses SyncManagers {missing}, this ESC has "
                                 f"{len(self._sync_managers)}")
        self._layout = layout

    # ------------------------------------------------------------------ local (PDI) side
    def pdi_read(self, address: int, length: int) -> bytes:
        """Read memory as the local application does. Inside an enabled SyncManager's area its
        rules apply (reading a full mailbox to its last byte empties it, a buffered channel
        hands out its newest complete buffer) and bytes it denies read as 0; elsewhere reading
        has no side effects."""
        self._check_range(address, length)
        end = address + length
        if address < self._access_hi and end > self._access_lo:
            self._accessed(address, end, False)
        if address < self._route_hi and end > self._route_lo:
            result = bytearray(length)
            for lo, hi, sm in self._segments(address, end):
                data = self._view[lo:hi] if sm is None else sm.read(False, lo, hi)
                if data is not None:
                    result[lo - address:hi - address] = data
            return bytes(result)
        return bytes(self._mem[address:end])

    def pdi_write(self, address: int, data: Buffer) -> bool:
        """Write memory as the local application does: no ECAT write mask, no write hooks (no
        ECAT events such as an AL control request); inside an enabled SyncManager's area its
        rules apply (writing a mailbox to its last byte fills it, a buffered channel publishes
        a completed buffer). The ESC's own view of its station address, alias enable, FMMUs and
        SyncManagers follows the new register contents (the PDI control register 0x0807 + 8n
        deactivates a SyncManager and acknowledges repeat requests).

        Returns False when SyncManagers denied every byte.
        """
        self._check_range(address, len(data))
        end = address + len(data)
        if address < self._access_hi and end > self._access_lo:
            self._accessed(address, end, True)
        accepted = True
        if address < self._route_hi and end > self._route_lo:
            accepted = False
            for lo, hi, sm in self._segments(address, end):
                chunk = data[lo - address:hi - address]
                if sm is None:
                    self._mem[lo:hi] = chunk
                    accepted = True
                elif sm.write(False, lo, chunk):
                    accepted = True
        else:
            self._mem[address:end] = data
        if address < _DERIVED_END:
            self._station_written(address, len(data))
            self._dl_control_written(address, len(data))
            self._fmmus_written(address, len(data))
        if address < _SYNC_MANAGERS_END and end > _SYNC_MANAGERS_START:
            self._sync_managers_written(address, len(data))
        if address < _WATCHDOG_CONFIGURATION_HI and end > _WATCHDOG_CONFIGURATION_LO and \
                any(address < r + r.size and end > r for r in _WATCHDOG_CONFIGURATION):
            self.watchdog.configure()
        return accepted

    def set_al_status(self, state: ALState, code: int = ALStatusCode.NO_ERROR) -> None:
        """Change the AL state on the slave's own initiative (e.g. a watchdog dropping to
        SAFE-OP with code 0x001B); a non-zero ``code`` sets the error indication."""
        if not 0 <= code <= 0xFFFF:
            raise ValueError(f"AL status code {code!r} is outside 0..0xFFFF")
        self._set_al(ALState(state), code)

    def set_links(self, ports: Iterable[int]) -> None:
        """Declare which ports have a neighbour; updates DL status (0x0110).

        A port with a neighbour has a physical link, an open loop and communication; any other
        port (implemented or not) is closed. Port 0 is where frames arrive, so it is always
        linked. Bits 0-1 report an operational PDI with a reloaded PDI watchdog.
        """
        linked = set(ports) | {0}
        kinds = self.identity.port_descriptor.ports
        status = DlStatusFlag.PDI_OPERATIONAL | DlStatusFlag.PDI_WATCHDOG_RELOADED
        for port in range(PORT_COUNT):
            if port in linked:
                if kinds[port] is PortType.NOT_IMPLEMENTED:
                    raise ValueError(f"port {port} is not implemented by this ESC ({kinds[port].name})")
                status |= DlStatusFlag(DlStatusFlag.PHYSICAL_LINK_PORT0 << port)
                status |= DlStatusFlag(DlStatusFlag.COMMUNICATION_PORT0 << (2 * port))
            else:
                status |= DlStatusFlag(DlStatusFlag.LOOP_CLOSED_PORT0 << (2 * port))
        unknown = linked - set(range(PORT_COUNT))
        if unknown:
            raise ValueError(f"ports {sorted(unknown)} do not exist (0..{PORT_COUNT - 1})")
        self._poke(Register.DL_STATUS, _U16.pack(int(status)))

    # ------------------------------------------------------------------ extension points
    def set_ecat_write_mask(self, address: int, mask: Buffer) -> None:
        """Set which bits of registers ``address``.. the EtherCAT side may write (1 = writable).
        For layers that model more registers (SII, SyncManagers, DC)."""
        if not (0 <= address and address + len(mask) <= _REGISTERS_END):
            raise ValueError(f"write masks cover the register area 0x0000-0x{_REGISTERS_END - 1:04X} only")
        self._wmask[address:address + len(mask)] = mask
        self._mask_cache.clear()
        self._epoch += 1

    def add_frame_end_hook(self, callback: FrameEndHook) -> None:
        """Run ``callback()`` after every frame, from :meth:`frame_end`, in registration order:
        where the slave's firmware works between frames (the mailbox server polls there)."""
        self._frame_hooks.append(callback)

    def frame_end(self) -> None:
        """The frame being processed has passed this slave; the chain calls this once after
        every frame. The SyncManagers accept their end addresses again and the frame end hooks
        (the firmware) run; the process data watchdog is checked when the next frame arrives."""
        self._in_frame = False
        ended = self._ended
        if ended:
            for sm in ended:
                sm.end_accessed = False
            ended.clear()
        for callback in self._frame_hooks:
            callback()

    def add_write_hook(self, address: int, length: int, callback: WriteHook) -> None:
        """Call ``callback(address, length)`` after every ECAT write (datagram or FMMU) that
        touches ``address``..``address + length - 1``; the arguments are the written range."""
        self._check_range(address, length)
        if length <= 0:
            raise ValueError("a write hook needs a range of at least one byte")
        hook = (int(address), int(address + length), callback)
        self._hooks.append(hook)
        self._epoch += 1
        for key, hooks in self._hook_cache.items():
            if key // _RANGE_KEY < hook[1] and key % _RANGE_KEY > hook[0]:
                hooks.append(hook)
        self._hook_lo = min(self._hook_lo, hook[0])
        self._hook_hi = max(self._hook_hi, hook[1])

    def _add_access_hook(self, address: int, end: int, callback: AccessHook,
                         ecat_writes: Optional[tuple[int, int]] = None) -> None:
        """Call ``callback(address, end, write)`` before every ECAT access (physical or through
        an FMMU) and PDI access (:meth:`pdi_read`, :meth:`pdi_write`) whose range overlaps
        ``address``..``end``: a layer that writes registers lazily (the DC unit) brings them up
        to date there. ``ecat_writes`` narrows the range for plain ECAT writes (:meth:`ecat_write`),
        for registers whose write hooks bring them up to date themselves. ``write`` is True
        for a plain write of the whole range (an ECAT write or a PDI write); False for reads,
        read-writes and logical commands. The callback must not depend on being called only
        when needed (an FMMU into the range calls it for every logical command, with the whole
        range)."""
        self._check_range(address, end - address)
        self._access_hooks.append((address, end, callback))
        self._access_lo = min(self._access_lo, address)
        self._access_hi = max(self._access_hi, end)
        write_lo, write_hi = (address, end) if ecat_writes is None else ecat_writes
        self._ecat_write_hooks.append((write_lo, write_hi, callback))
        self._ecat_write_lo = min(self._ecat_write_lo, write_lo)
        self._ecat_write_hi = max(self._ecat_write_hi, write_hi)
        self._compile_maps()  # a new epoch

    def _accessed(self, address: int, end: int, write: bool) -> None:
        for lo, hi, callback in self._access_hooks:
            if address < hi and end > lo:
                callback(address, end, write)

    def al_transition(self, current: ALState, requested: int) -> ALTransition:
        """The slave's answer to a request for state ``requested`` in state ``current``.

        The one place where state requests are judged (ETG.1000.6 state machine); subclasses
        may override or wrap it. Here: an unknown state is refused with 0x0012, BOOT without
        bootstrap support with 0x0013, a transition outside the table with 0x0011, and a valid
        transition whose SyncManagers differ from :attr:`sync_manager_layout` with that layout's
        code (0x0016/0x0015 mailbox, 0x001D output, 0x001E input); a refused slave stays where
        it is, except OP falls to SAFE-OP.
        """
        if requested not in _STATE_VALUES:
            return ALTransition(_refused_state(current), ALStatusCode.UNKNOWN_REQUESTED_STATE)
        target = ALState(requested)
        if target is ALState.BOOT and current is ALState.INIT and not self.bootstrap:
            return ALTransition(current, ALStatusCode.BOOTSTRAP_NOT_SUPPORTED)
        if target not in _ALLOWED[current]:
            return ALTransition(_refused_state(current), ALStatusCode.INVALID_REQUESTED_STATE_CHANGE)
        if self._layout is not None:
            code = self._layout.check(current, target, self._channel)
            if code:
                return ALTransition(_refused_state(current), code)
        return ALTransition(target)

    # -------------------------------------------------------------------- wire counters
    def count_invalid_frame(self) -> None:
        """Count a malformed frame received on port 0 (invalid frame counter 0x0300)."""
        self._count(Register.RX_ERROR_COUNTER_PORT0)

    def count_forwarded_error(self) -> None:
        """Count a frame already marked invalid upstream (forwarded RX error counter 0x0308)."""
        self._count(Register.FORWARDED_RX_ERROR_COUNTER_PORT0)

    # --------------------------------------------------------------- datagram processing
    def addressed_by_station(self, adp: int) -> bool:
        """True when ``adp`` is this slave's station address, or its alias with alias
        addressing enabled (DL control bit 24)."""
        return adp == self._station or (self._alias_enabled and adp == self.alias)

    def process_datagram(self, frame: Union[bytearray, memoryview], offset: int) -> int:
        """Process the datagram at ``offset`` of a writable frame buffer as this slave, in place:
        data, working counter, and ADP (incremented by position and broadcast commands).

        Returns the offset after the datagram. Raises :class:`ProtocolError` when the datagram
        does not fit the buffer or has reserved length bits set.
        """
        end = len(frame)
        if end - offset < DATAGRAM_OVERHEAD:
            raise ProtocolError("datagram", f"{end - offset} bytes left, a datagram needs "
                                f"{DATAGRAM_OVERHEAD}", offset)
        command, _index, address, flags, _irq = DATAGRAM_HEADER.unpack_from(frame, offset)
        if flags & RESERVED_MASK:
            raise ProtocolError("datagram", f"reserved length bits set (0x{flags:04X})", offset + 6)
        length = flags & LENGTH_MASK
        start = offset + DATAGRAM_HEADER_SIZE
        wkc_at = start + length
        if wkc_at + WKC.size > end:
            raise ProtocolError("datagram", f"length {length} runs past the end of the buffer", offset + 6)
        adp = address & 0xFFFF
        increment = self.execute(command, adp, address, frame, start, length)
        if command in ADP_INCREMENTING:
            _U16.pack_into(frame, offset + 2, (adp + 1) & 0xFFFF)
        if increment:
            WKC.pack_into(frame, wkc_at, (WKC.unpack_from(frame, wkc_at)[0] + increment) & 0xFFFF)
        return wkc_at + WKC.size

    def execute(self, command: int, adp: int, address: int, frame: Union[bytearray, memoryview],
                start: int, length: int) -> int:
        """Apply one datagram's command at this slave; return its working-counter increment.

        Low-level entry used by :class:`~ethercat_master.sim.SlaveChain`: ``adp`` is the ADP as
        it arrives here (position addressing matches 0), ``address`` the raw 32-bit address
        field, and the data is ``frame[start:start + length]``. The ADP and working counter
        fields are left to the caller.
        """
        if not self._in_frame:  # first datagram of a frame: the watchdog kept running meanwhile
            self._in_frame = True
            watchdog = self.watchdog
            if watchdog.running and watchdog._clock() >= watchdog._deadline:  # _check_watchdog, inline
                watchdog._expire()
                self._watchdog_expired()
        if command >= _LRD:
            if command <= _LRW:
                if not self._fmmus or (command == _LRW and not self._lrw_supported):
                    return 0
                return self._logical(command, address, frame, start, length)
            if command == _FRMW:
                if self.addressed_by_station(adp):
                    return self._read(address >> 16, frame, start, length)
            elif command == _ARMW:
                if adp == 0:
                    return self._read(address >> 16, frame, start, length)
            else:
                return 0  # unknown command: the ESC ignores it
            ado = address >> 16  # the others write (self._write, inline)
            if ado + length > self._size or not length:
                return 0
            return 1 if self.ecat_write(ado, frame[start:start + length]) else 0
        if command >= _BRD:
            ado = address >> 16
            if command == _BWR:
                return self._write(ado, frame, start, length)
            if command == _BRD:
                return self._read_or(ado, frame, start, length)
            return self._read_write(ado, frame, start, length, broadcast=True)
        if command >= _FPRD:
            if not self.addressed_by_station(adp):
                return 0
        elif command == _NOP or adp != 0:
            return 0
        ado = address >> 16
        if command == _APRD or command == _FPRD:
            return self._read(ado, frame, start, length)
        if command == _APWR or command == _FPWR:
            return self._write(ado, frame, start, length)
        return self._read_write(ado, frame, start, length, broadcast=False)

    # ------------------------------------------------------------------- physical access
    def _read(self, ado: int, frame, start: int, length: int) -> int:
        end = ado + length
        if end > self._size or not length:
            return 0
        if ado < self._access_hi and end > self._access_lo:
            self._accessed(ado, end, False)
        if ado < self._route_hi and end > self._route_lo:
            return self._put(frame, start, self._fetch(ado, length), combine=False)
        frame[start:start + length] = self._view[ado:end]
        return 1

    def _read_or(self, ado: int, frame, start: int, length: int) -> int:
        end = ado + length
        if end > self._size or not length:
            return 0
        if ado < self._access_hi and end > self._access_lo:
            self._accessed(ado, end, False)
        if ado < self._route_hi and end > self._route_lo:
            return self._put(frame, start, self._fetch(ado, length), combine=True)
        value = int.from_bytes(frame[start:start + length], "little") | int.from_bytes(self._view[ado:end], "little")
        frame[start:start + length] = value.to_bytes(length, "little")
        return 1

    def _write(self, ado: int, frame, start: int, length: int) -> int:
        if ado + length > self._size or not length:
            return 0
        return 1 if self.ecat_write(ado, frame[start:start + length]) else 0

    def _read_write(self, ado: int, frame, start: int, length: int, broadcast: bool) -> int:
        """APRW/FPRW/BRW: read at ADO, write at ADO + physical read/write offset (0x0108)."""
        if not self._rw_supported or not length:
            return 0
        write_at = ado + _U16.unpack_from(self._mem, _PHYSICAL_RW_OFFSET_AT)[0]
        increment = 0
        old: list[tuple[int, bytes]] = []
        if ado + length <= self._size:
            old = self._fetch(ado, length)
            increment = 1 if old else 0
        if write_at + length <= self._size and self.ecat_write(write_at, frame[start:start + length]):
            increment += 2
        self._put(frame, start, old, combine=broadcast)
        return increment

    def _fetch(self, address: int, length: int) -> list[tuple[int, bytes]]:
        """An ECAT read of ``address``..: (offset, data) of every part accepted, which is all of
        it outside SyncManager areas."""
        if address < self._access_hi and address + length > self._access_lo:
            self._accessed(address, address + length, False)
        parts = []
        for lo, hi, sm in self._segments(address, address + length):
            data = bytes(self._view[lo:hi]) if sm is None else sm.read(True, lo, hi)
            if data is not None:
                parts.append((lo - address, data))
        return parts

    @staticmethod
    def _put(frame, start: int, parts: list[tuple[int, bytes]], combine: bool) -> int:
        """Put read ``parts`` into the datagram data at ``start`` (ORed in for broadcast reads);
        1 when there was any, for the working counter."""
        for offset, data in parts:
            at = start + offset
            if combine:
                value = int.from_bytes(frame[at:at + len(data)], "little") | int.from_bytes(data, "little")
                data = value.to_bytes(len(data), "little")
            frame[at:at + len(data)] = data
        return 1 if parts else 0

    def _segments(self, lo: int, hi: int) -> list[tuple[int, int, Optional[SyncManager]]]:
        """``lo``..``hi`` split into SyncManager areas (with their channel) and plain memory
        (None)."""
        segments: list[tuple[int, int, Optional[SyncManager]]] = []
        at = lo
        for start, end, sm in self._routes:
            if at >= hi or start >= hi:
                break  # done (overlapping SyncManager areas can end the range early)
            if end <= at:
                continue
            if start > at:
                segments.append((at, start, None))
                at = start
            stop = end if end < hi else hi
            segments.append((at, stop, sm))
            at = stop
        if at < hi:
            segments.append((at, hi, None))
        return segments

    def ecat_write(self, address: int, data: Buffer) -> bool:
        """Write as the EtherCAT side does: inside an enabled SyncManager's area by its rules;
        elsewhere register bits outside the ECAT write mask keep their value, then the write
        hooks of the touched range run. Returns False when SyncManagers denied every byte. No
        range check (callers check)."""
        end = address + len(data)
        if self._trigger_bytes:
            for byte in self._trigger_bytes:
                if address <= byte < end:
                    self.watchdog.trigger()
        if address < self._ecat_write_hi and end > self._ecat_write_lo:
            for lo, hi, callback in self._ecat_write_hooks:
                if address < hi and end > lo:
                    callback(address, end, True)
        if address < self._route_hi and end > self._route_lo:
            accepted = False
            for lo, hi, sm in self._segments(address, end):
                chunk = data[lo - address:hi - address]
                if sm is None:
                    self._store(lo, chunk)
                    accepted = True
                elif sm.write(True, lo, chunk):
                    accepted = True
            return accepted
        self._store(address, data)
        return True

    def _store(self, address: int, data: Buffer) -> None:
        """Plain ECAT write: the write mask, then the write hooks."""
        end = address + len(data)
        mem = self._mem
        key = address * _RANGE_KEY + end
        if address >= _REGISTERS_END:
            mem[address:end] = data
        elif end <= _REGISTERS_END:
            mask = self._mask_cache.get(key)
            if mask is None:
                mask = self._cache_mask(key, address, end)
            if mask == -1:
                mem[address:end] = data
            elif mask:
                old = int.from_bytes(mem[address:end], "little")
                new = int.from_bytes(data, "little")
                mem[address:end] = ((old & ~mask) | (new & mask)).to_bytes(end - address, "little")
        else:
            split = _REGISTERS_END
            count = split - address
            mask = int.from_bytes(self._wmask[address:split], "little")
            if mask:
                old = int.from_bytes(mem[address:split], "little")
                new = int.from_bytes(data[:count], "little")
                mem[address:split] = ((old & ~mask) | (new & mask)).to_bytes(count, "little")
            mem[split:end] = data[count:]
        if address < self._hook_hi and end > self._hook_lo:
            hooks = self._hook_cache.get(key)
            if hooks is None:
                hooks = self._cache_hooks(key, address, end)
            for _, _, callback in hooks:  # each touches the range
                callback(address, end - address)

    def _cache_mask(self, key: int, address: int, end: int) -> int:
        """The write mask of registers ``address``..``end`` as an int, -1 when every bit is
        writable; kept for the next write of the range."""
        wmask = self._wmask[address:end]
        mask = -1 if wmask == _OPEN_MASKS[end - address] else int.from_bytes(wmask, "little")
        if len(self._mask_cache) < _RANGE_CACHE_SIZE:
            self._mask_cache[key] = mask
        return mask

    def _cache_hooks(self, key: int, address: int, end: int) -> list[tuple[int, int, WriteHook]]:
        """The write hooks touching ``address``..``end``, in registration order; kept for the
        next write of the range (and extended by later registrations)."""
        hooks = [hook for hook in self._hooks if address < hook[1] and end > hook[0]]
        if len(self._hook_cache) < _RANGE_CACHE_SIZE:
            self._hook_cache[key] = hooks
        return hooks

    def _plain_write_hooks(self, address: int, end: int) -> Optional[list[tuple[int, int, WriteHook]]]:
        """The write hooks an ECAT write of registers ``address``..``end`` runs, in order, when
        that write is plain: every bit writable, no byte that triggers the watchdog, no access
        hook before ECAT writes and no SyncManager area in the range, so that
        :meth:`ecat_write` comes down to storing the data and running these hooks (and
        accepts the write); None otherwise. The answer holds while :attr:`_epoch` stays."""
        if not 0 <= address < end <= _REGISTERS_END:
            return None
        if any(address <= byte < end for byte in self._trigger_bytes):
            return None
        if any(address < hi and end > lo for lo, hi, _ in self._ecat_write_hooks):
            return None
        if address < self._route_hi and end > self._route_lo:
            return None
        if self._wmask[address:end] != _OPEN_MASKS[end - address]:
            return None
        return [hook for hook in self._hooks if address < hook[1] and end > hook[0]]

    # -------------------------------------------------------------------- logical access
    def _logical(self, command: int, address: int, frame, start: int, length: int) -> int:
        """LRD/LWR/LRW through the FMMUs: reads are taken from memory before any write of this
        datagram, writes use the incoming data, then the read bits replace the datagram's.
        Physical ranges inside SyncManager areas go through the SyncManagers (a bit-wise mapping
        accesses the whole bytes that hold its bits)."""
        end = address + length
        view = self._view
        hull = self._lrw_hull
        if hull is not None and command == _LRW and address <= hull[0] and hull[1] <= end:
            # every mapping whole, byte-wise, into memory or one SyncManager, reads apart from
            # writes: the loops below come down to this
            base = start - address
            read_hit = write_hit = False
            for lo, physical, count, read in self._lrw_reads:
                at = base + lo
                if read is None:
                    frame[at:at + count] = view[physical:physical + count]
                else:
                    data = read(True, physical, physical + count)
                    if data is None:
                        continue
                    frame[at:at + count] = data
                read_hit = True
            for lo, physical, count, write in self._lrw_writes:
                at = base + lo
                if write is None:
                    self._store(physical, frame[at:at + count])
                elif not write(True, physical, frame[at:at + count]):
                    continue
                write_hit = True
            if write_hit:
                return 3 if read_hit else 2
            return 1 if read_hit else 0
        size = self._size
        if self._logical_watched:
            self._accessed(self._access_lo, self._access_hi, False)
        read_hit = write_hit = False
        # Read results wait until the writes have taken their data from the frame (LRD: those
        # of plain memory do not), unless no write takes data from where reads put theirs; once
        # one waits, the later ones wait too, so they land in mapping order.
        direct = self._reads_apart and command == _LRW
        pending: list[tuple[int, int, object]] = []
        if command != _LWR:
            for lo, hi, aligned, first_bit, end_bit, physical_bit, route in self._read_maps:
                if hi <= address or lo >= end:
                    continue
                if aligned:  # see _Mapping.hot for the fields of byte-wise mappings
                    if address <= lo and hi <= end:  # the whole mapping
                        physical, count, at = first_bit, end_bit, start + lo - address
                    else:
                        first = lo if lo > address else address
                        last = hi if hi < end else end
                        if last + physical_bit > size:
                            last = size - physical_bit
                        count = last - first
                        physical = first + physical_bit
                        at = start + first - address
                    if count <= 0:
                        continue
                    if route is None:
                        if direct or command == _LRD:
                            frame[at:at + count] = view[physical:physical + count]
                        else:
                            pending.append((at, -count, bytes(view[physical:physical + count])))
                    elif route is _GENERAL:
                        parts = self._fetch(physical, count)
                        if not parts:
                            continue
                        for offset, data in parts:
                            pending.append((at + offset, -len(data), data))
                        direct = False  # later reads must not overtake these
                    else:
                        data = route.read(True, physical, physical + count)  # type: ignore[union-attr]
                        if data is None:
                            continue
                        if direct:
                            frame[at:at + count] = data
                        else:
                            pending.append((at, -count, data))
                else:
                    span = self._bit_span(first_bit, end_bit, physical_bit, address, end)
                    if span is None:
                        continue
                    logical_bit, physical_at, count = span
                    if route is not None:
                        lo_byte, hi_byte = physical_at >> 3, (physical_at + count + 7) >> 3
                        parts = self._fetch(lo_byte, hi_byte - lo_byte)
                        if not parts:
                            continue
                        held = bytearray(view[lo_byte:hi_byte])
                        for offset, data in parts:
                            held[offset:offset + len(data)] = data
                        value = _get_bits(held, physical_at - lo_byte * 8, count)
                    else:
                        value = _get_bits(self._mem, physical_at, count)
                    pending.append((start * 8 + logical_bit - address * 8, count, value))
                    direct = False
                read_hit = True
        if command != _LRD:
            for lo, hi, aligned, first_bit, end_bit, physical_bit, route in self._write_maps:
                if hi <= address or lo >= end:
                    continue
                if aligned:
                    if address <= lo and hi <= end:  # the whole mapping
                        physical, count, at = first_bit, end_bit, start + lo - address
                    else:
                        first = lo if lo > address else address
                        last = hi if hi < end else end
                        if last + physical_bit > size:
                            last = size - physical_bit
                        count = last - first
                        physical = first + physical_bit
                        at = start + first - address
                    if count <= 0:
                        continue
                    if route is None:
                        self._store(physical, frame[at:at + count])
                    elif route is _GENERAL:
                        if not self.ecat_write(physical, frame[at:at + count]):
                            continue
                    elif not route.write(True, physical, frame[at:at + count]):  # type: ignore[union-attr]
                        continue
                else:
                    span = self._bit_span(first_bit, end_bit, physical_bit, address, end)
                    if span is None:
                        continue
                    logical_bit, physical_at, count = span
                    value = _get_bits(frame, start * 8 + logical_bit - address * 8, count)
                    if route is None:
                        self._store(*_merge_bits(self._mem, physical_at, count, value))
                    elif not self.ecat_write(*_merge_bits(self._mem, physical_at, count, value)):
                        continue
                write_hit = True
        for at, count, value in pending:
            if count < 0:  # byte-wise: at is a byte offset, -count bytes
                frame[at:at - count] = value  # type: ignore[assignment]
            else:  # bit-wise: at is a bit offset
                first, merged = _merge_bits(frame, at, count, value)  # type: ignore[arg-type]
                frame[first:first + len(merged)] = merged
        if write_hit:
            return (3 if read_hit else 2) if command == _LRW else 1
        return 1 if read_hit else 0

    def _bit_span(self, first_bit: int, end_bit: int, physical_bit: int, address: int,
                  end: int) -> "tuple[int, int, int] | None":
        """Overlap of a bit-wise mapping with logical bytes ``address``..``end``: (first logical
        bit, its physical bit, bit count), clipped to the memory; None when empty."""
        lo = first_bit if first_bit > address * 8 else address * 8
        hi = end_bit if end_bit < end * 8 else end * 8
        physical_at = physical_bit + lo - first_bit
        count = min(hi - lo, self._size * 8 - physical_at)
        return (lo, physical_at, count) if count > 0 else None

    # ------------------------------------------------------------------------ write hooks
    def _station_written(self, address: int, length: int) -> None:
        self._station = _U16.unpack_from(self._mem, Register.CONFIGURED_STATION_ADDRESS)[0]

    def _dl_control_written(self, address: int, length: int) -> None:
        control = DlControl.decode(self._view[Register.DL_CONTROL:Register.DL_CONTROL + DlControl.SIZE])
        self._alias_enabled = control.station_alias_enabled

    def _al_control_written(self, address: int, length: int) -> None:
        """The slave firmware's reaction to an AL control write (SSC ``AL_ControlInd``).

        With the acknowledge bit set, a pending error indication is cleared and the request is
        judged. Without it, a pending error makes the slave ignore every request except INIT.
        """
        control = self._mem[Register.AL_CONTROL]
        requested = control & AL_STATE_MASK
        status = self._mem[Register.AL_STATUS]
        if not control & AL_CONTROL_ERROR_ACK and status & AL_STATUS_ERROR_INDICATION \
                and requested != ALState.INIT:
            return
        current = state_from_value(status & AL_STATE_MASK)
        if not isinstance(current, ALState):  # only reachable through pdi_write of a bad state
            current = ALState.INIT
        outcome = self.al_transition(current, requested)
        self._set_al(outcome.state, outcome.code)

    def _fmmus_written(self, address: int, length: int) -> None:
        mappings = []
        for index in range(self.identity.fmmu_count):
            base = fmmu_address(index)
            mapping = _Mapping.compile(FmmuEntry.decode(self._view[base:base + FmmuEntry.SIZE]), self._byte_oriented)
            if mapping is not None:
                mappings.append(mapping)
        self._fmmus = tuple(mappings)
        self._compile_maps()

    def _compile_maps(self) -> None:
        """The hot tuples of the FMMU mappings, with the route of their physical bytes."""
        self._epoch += 1
        size = self._size
        self._read_maps = tuple(m.hot(self._route(*m.physical_bytes), size) for m in self._fmmus if m.read)
        self._write_maps = tuple(m.hot(self._route(*m.physical_bytes), size) for m in self._fmmus if m.write)
        self._reads_apart = all(read_hi <= write_lo or write_hi <= read_lo
                                for read_lo, read_hi, *_ in self._read_maps for write_lo, write_hi, *_ in self._write_maps)
        self._logical_watched = any(
            lo < self._access_hi and hi > self._access_lo for lo, hi in (m.physical_bytes for m in self._fmmus))
        # The common process data layout gets a shorter way for an LRW that covers every mapping:
        # byte-wise mappings into plain memory or one SyncManager each, reads and writes apart.
        maps = self._read_maps + self._write_maps
        if maps and self._reads_apart and not self._logical_watched and \
                all(aligned and route is not _GENERAL for _, _, aligned, _, _, _, route in maps):
            self._lrw_hull = (min(m[0] for m in maps), max(m[1] for m in maps))
            # (logical start, physical start, count, the SyncManager's reader or writer or None)
            self._lrw_reads = tuple(
                (lo, physical, count,
                 None if route is None else route.ecat_reader(physical, physical + count))  # type: ignore[union-attr]
                for lo, _, _, physical, count, _, route in self._read_maps if count > 0)
            self._lrw_writes = tuple(
                (lo, physical, count,
                 None if route is None else route.ecat_writer(physical, physical + count))  # type: ignore[union-attr]
                for lo, _, _, physical, count, _, route in self._write_maps if count > 0)
        else:
            self._lrw_hull = None
        hull = self._lrw_hull
        if hull is None or not self._lrw_supported:
            self._lrw_batch = None
        else:
            reads, writes = self._lrw_reads, self._lrw_writes
            pair = reads[0] + writes[0] if len(reads) == len(writes) == 1 and reads[0][3] and writes[0][3] else None
            self._lrw_batch = (hull[0], hull[1], reads, writes, pair)

    def _route(self, lo: int, hi: int) -> _Route:
        """How physical bytes ``lo``..``hi`` are accessed (see :data:`_Route`)."""
        if any(lo <= byte < hi for byte in self._trigger_bytes):
            return _GENERAL
        touched = [(start, end, sm) for start, end, sm in self._routes if start < hi and lo < end]
        if not touched:
            return None
        if len(touched) == 1 and touched[0][0] <= lo and hi <= touched[0][1]:
            return touched[0][2]
        return _GENERAL

    def _sync_managers_written(self, address: int, length: int) -> None:
        """SyncManager registers changed (from ECAT or the PDI): channels whose configuration,
        enable or PDI deactivation changed are reset, their start, length and control registers
        are locked while enabled, and the routing of accesses is rebuilt."""
        size = SyncManagerChannel.SIZE
        first = max(0, (address - Register.SYNC_MANAGER_BASE) // size)
        last = (address + length - 1 - Register.SYNC_MANAGER_BASE) // size + 1
        changed = False
        for sm in self._sync_managers[first:last]:
            if sm.reconfigure():
                changed = True
                self.set_ecat_write_mask(sm.address, _SM_MASK_ENABLED if sm.enabled else _SM_MASK)
        if changed:
            routes = sorted((sm for sm in self._sync_managers if sm.routed), key=lambda sm: (sm.start, sm.index))
            self._routes = tuple((sm.start, sm.end, sm) for sm in routes)
            self._route_lo = min((sm.start for sm in routes), default=ADDRESS_SPACE)
            self._route_hi = max((sm.end for sm in routes), default=0)
            self._trigger_bytes = tuple(sm.start for sm in self._sync_managers if sm.trigger_only)
            self._compile_maps()

    def _watchdog_written(self, address: int, length: int) -> None:
        self.watchdog.configure()

    def _channel(self, index: int) -> SyncManagerChannel:
        return self._sync_managers[index].channel()

    def _check_watchdog(self) -> None:
        """The firmware's reaction to the process data watchdog: when it expires in OP, the
        slave stops its outputs and drops to SAFE-OP with error 0x001B (SSC, SOES). An expiry
        outside OP is only recorded in the registers (SSC supervises the outputs in OP only)."""
        if self.watchdog.check():
            self._watchdog_expired()

    def _watchdog_expired(self) -> None:
        if self._mem[Register.AL_STATUS] & AL_STATE_MASK == ALState.OP:
            self._set_al(ALState.SAFEOP, ALStatusCode.SYNC_MANAGER_WATCHDOG)

    def _counters_written(self, address: int, length: int) -> None:
        end = address + length
        for lo, hi in _CLEAR_ON_WRITE:
            if address < hi and end > lo:
                self._mem[lo:hi] = bytes(hi - lo)

    # ---------------------------------------------------------------------------- helpers
    def _set_al(self, state: ALState, code: int) -> None:
        status = int(state) | (AL_STATUS_ERROR_INDICATION if code else 0)
        self._poke(Register.AL_STATUS, _U16.pack(status))
        self._poke(Register.AL_STATUS_CODE, _U16.pack(code))

    def _count(self, address: int) -> None:
        if self._mem[address] < _COUNTER_MAX:
            self._mem[address] += 1

    def _poke(self, address: int, data: bytes) -> None:
        self._mem[address:address + len(data)] = data

    @staticmethod
    def _check_range(address: int, length: int) -> None:
        if not (0 <= address and 0 <= length and address + length <= ADDRESS_SPACE):
            raise ValueError(f"range 0x{address:X}+{length} is outside the 64 KiB ESC address space")


# ------------------------------------------------------------------------- chain fast paths
#: The :class:`Esc` methods whose work the batch functions below do inline.
_INLINED_METHODS = ("execute", "_logical", "_read", "ecat_write", "_store", "frame_end")
_plain_types: dict[type, bool] = {}


def _plain_type(esc: Esc) -> bool:
    """True when ``esc``'s class keeps :class:`Esc`'s own datagram processing and frame end
    (a subclass overriding one of them must not be bypassed by the batch functions)."""
    cls = type(esc)
    plain = _plain_types.get(cls)
    if plain is None:
        plain = _plain_types[cls] = all(getattr(cls, name) is getattr(Esc, name) for name in _INLINED_METHODS)
    return plain


def _execute_lrw(escs: Sequence[Esc], address: int, frame: bytearray, start: int, length: int) -> int:
    """An LRW passing ``escs`` in processing order (each of a :func:`_plain_type`): the sum of
    their :meth:`Esc.execute` increments, with the same effects. An ESC whose mappings an LRW
    covering all of them takes the short way of :meth:`Esc._logical` (its ``_lrw_hull``) is
    served here without the two calls; any other ESC goes through :meth:`Esc.execute`."""
    end = address + length
    base = start - address
    wkc = 0
    for esc in escs:
        if not esc._in_frame:  # Esc.execute's first datagram of a frame, inline
            esc._in_frame = True
            watchdog = esc.watchdog
            if watchdog.running and watchdog._clock() >= watchdog._deadline:
                watchdog._expire()
                esc._watchdog_expired()
        batch = esc._lrw_batch
        if batch is None:
            wkc += esc.execute(_LRW, address & 0xFFFF, address, frame, start, length)
            continue
        hull_lo, hull_hi, reads, writes, pair = batch
        if address > hull_lo or hull_hi > end:
            wkc += esc.execute(_LRW, address & 0xFFFF, address, frame, start, length)
            continue
        # Esc._logical's way for an LRW covering every mapping, inline
        if pair is not None:  # the usual process data: one input and one output SyncManager
            read_lo, read_physical, read_count, read, write_lo, write_physical, write_count, write = pair
            data = read(True, read_physical, read_physical + read_count)
            if data is not None:
                at = base + read_lo
                frame[at:at + read_count] = data
            at = base + write_lo
            if write(True, write_physical, frame[at:at + write_count]):
                wkc += 2 if data is None else 3
            elif data is not None:
                wkc += 1
            continue
        read_hit = write_hit = False
        for lo, physical, count, read in reads:
            at = base + lo
            if read is None:
                frame[at:at + count] = esc._view[physical:physical + count]
            else:
                data = read(True, physical, physical + count)
                if data is None:
                    continue
                frame[at:at + count] = data
            read_hit = True
        for lo, physical, count, write in writes:
            at = base + lo
            if write is None:
                esc._store(physical, frame[at:at + count])
            elif not write(True, physical, frame[at:at + count]):
                continue
            write_hit = True
        if write_hit:
            wkc += 3 if read_hit else 2
        elif read_hit:
            wkc += 1
    return wkc


def _end_frame(escs: Sequence[Esc]) -> None:
    """:meth:`Esc.frame_end` at each of ``escs`` (each of a :func:`_plain_type`), inline."""
    for esc in escs:
        esc._in_frame = False
        ended = esc._ended
        if ended:
            for sm in ended:
                sm.end_accessed = False
            ended.clear()
        hooks = esc._frame_hooks
        if hooks:
            for callback in hooks:
                callback()
