"""The ESC register map and typed views of its registers.

Sources: Beckhoff "EtherCAT Slave Controller Hardware Data Sheet Section II - Register
Description" (the ET1100/ET1200/IP-core register map, which ETG.1000.4 clause 6 "DL
attributes" abstracts: Table 31 DL information, Table 34 DL status, Table 57 FMMU, Table 59
SyncManager, Table 60/61 distributed clocks) and ETG.1000.6 (AL control/status). Addresses,
widths and bit positions were cross-checked against register headers generated from vendor
SVD/datasheet data (Infineon XMC4300 ``ECAT0``, HPMicro ``hpm_esc_regs.h``, TI "EtherCAT
Slave Controller Register List") and against SOEM (``ethercattype.h``), ethercrab
(``register.rs``) and KickCAT (feature bits).

All registers are little-endian. Each typed view below carries the class constants
``ADDRESS`` (first register address) and ``SIZE`` (bytes), so a master reads or writes it
with one datagram, and has ``encode() -> bytes`` and ``decode(data) -> view``; ``decode``
takes exactly ``SIZE`` bytes.

Reserved bits: the datasheet asks writers to write them as 0 and lets later ESCs define
them, so decoders never fail on them. Views made of one bit-field enum (``IntFlag``) keep the
raw value, unknown bits included; views made of fields drop reserved bits and write them as 0.
A multi-bit field whose value the datasheet calls reserved is kept as a raw ``int``.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import ClassVar, Union

from ..errors import ProtocolError
from .al_status import (
    AL_CONTROL_ERROR_ACK,
    AL_CONTROL_ID_REQUEST,
    AL_STATE_MASK,
    AL_STATUS_ERROR_INDICATION,
    AL_STATUS_ID_LOADED,
    StateValue,
    al_status_text,
    state_from_value,
)

__all__ = [
    "Register",
    "PORT_COUNT",
    "MAX_FMMUS",
    "MAX_SYNC_MANAGERS",
    "PROCESS_DATA_RAM_START",
    "ESC_RESET_SEQUENCE",
    "DL_RX_FIFO_DEFAULT",
    "SII_READ_SIZES",
    "SII_ADDRESS_SIZES",
    "fmmu_address",
    "sync_manager_address",
    "PortType",
    "PortDescriptor",
    "EscFeature",
    "EscFeatures",
    "EscIdentity",
    "ForwardingRule",
    "LoopPortControl",
    "DlControl",
    "DlStatusFlag",
    "DlStatus",
    "AlControl",
    "AlStatus",
    "AlStatusBlock",
    "EcatEvent",
    "AlEvent",
    "ErrorCounters",
    "SiiCommand",
    "SiiControlStatus",
    "SiiAccess",
    "FmmuEntry",
    "SmMode",
    "SmDirection",
    "SmControl",
    "SmStatus",
    "SmActivate",
    "SmPdiControl",
    "SyncManagerChannel",
    "SM_CONTROL_OFFSET",
    "SM_STATUS_OFFSET",
    "SM_ACTIVATE_OFFSET",
    "SM_PDI_CONTROL_OFFSET",
    "DcReceiveTimes",
    "DcSystemTime",
    "DcControlLoop",
    "DcCyclicUnitControl",
    "DcActivation",
    "DcActivationStatus",
    "DcCyclicUnit",
    "DcSyncTiming",
]

Buffer = Union[bytes, bytearray, memoryview]


# ------------------------------------------------------------------------------ register map
class Register(enum.IntEnum):
    """ESC register addresses; ``Register.X.size`` is the register's width in bytes."""

    size: int

    def __new__(cls, address: int, size: int) -> Register:
        member = int.__new__(cls, address)
        member._value_ = address
        member.size = size
        return member

    # ESC information (ETG.1000.4 Table 31 "DL information")
    TYPE = 0x0000, 1
    REVISION = 0x0001, 1
    BUILD = 0x0002, 2
    FMMU_COUNT = 0x0004, 1
    SYNC_MANAGER_COUNT = 0x0005, 1
    RAM_SIZE = 0x0006, 1  # process data RAM size in KiB
    PORT_DESCRIPTOR = 0x0007, 1
    ESC_FEATURES = 0x0008, 2
    # station address
    CONFIGURED_STATION_ADDRESS = 0x0010, 2
    CONFIGURED_STATION_ALIAS = 0x0012, 2
    # write protection
    REGISTER_WRITE_ENABLE = 0x0020, 1
    REGISTER_WRITE_PROTECTION = 0x0021, 1
    ESC_WRITE_ENABLE = 0x0030, 1
    ESC_WRITE_PROTECTION = 0x0031, 1
    # reset
    ESC_RESET_ECAT = 0x0040, 1
    ESC_RESET_PDI = 0x0041, 1
    # data link layer
    DL_CONTROL = 0x0100, 4
    PHYSICAL_RW_OFFSET = 0x0108, 2
    DL_STATUS = 0x0110, 2
    # application layer
    AL_CONTROL = 0x0120, 2
    AL_STATUS = 0x0130, 2
    AL_STATUS_CODE = 0x0134, 2
    RUN_LED_OVERRIDE = 0x0138, 1
    ERR_LED_OVERRIDE = 0x0139, 1
    # PDI / ESC configuration
    PDI_CONTROL = 0x0140, 1
    ESC_CONFIGURATION = 0x0141, 1
    PDI_INFORMATION = 0x014E, 2
    PDI_CONFIGURATION = 0x0150, 1
    SYNC_LATCH_PDI_CONFIGURATION = 0x0151, 1
    EXTENDED_PDI_CONFIGURATION = 0x0152, 2
    # interrupts
    ECAT_EVENT_MASK = 0x0200, 2
    PDI_AL_EVENT_MASK = 0x0204, 4
    ECAT_EVENT_REQUEST = 0x0210, 2
    AL_EVENT_REQUEST = 0x0220, 4
    # error counters: per port, invalid frame counter (low byte) and RX error counter (high byte)
    RX_ERROR_COUNTER_PORT0 = 0x0300, 2
    RX_ERROR_COUNTER_PORT1 = 0x0302, 2
    RX_ERROR_COUNTER_PORT2 = 0x0304, 2
    RX_ERROR_COUNTER_PORT3 = 0x0306, 2
    FORWARDED_RX_ERROR_COUNTER_PORT0 = 0x0308, 1
    FORWARDED_RX_ERROR_COUNTER_PORT1 = 0x0309, 1
    FORWARDED_RX_ERROR_COUNTER_PORT2 = 0x030A, 1
    FORWARDED_RX_ERROR_COUNTER_PORT3 = 0x030B, 1
    PROCESSING_UNIT_ERROR_COUNTER = 0x030C, 1
    PDI_ERROR_COUNTER = 0x030D, 1
    LOST_LINK_COUNTER_PORT0 = 0x0310, 1
    LOST_LINK_COUNTER_PORT1 = 0x0311, 1
    LOST_LINK_COUNTER_PORT2 = 0x0312, 1
    LOST_LINK_COUNTER_PORT3 = 0x0313, 1
    # watchdogs
    WATCHDOG_DIVIDER = 0x0400, 2  # 25 MHz ticks minus 2 per watchdog increment
    WATCHDOG_TIME_PDI = 0x0410, 2
    WATCHDOG_TIME_PROCESS_DATA = 0x0420, 2
    WATCHDOG_STATUS_PROCESS_DATA = 0x0440, 2
    WATCHDOG_COUNTER_PROCESS_DATA = 0x0442, 1
    WATCHDOG_COUNTER_PDI = 0x0443, 1
    # SII EEPROM interface
    SII_CONFIGURATION = 0x0500, 1
    SII_PDI_ACCESS = 0x0501, 1
    SII_CONTROL_STATUS = 0x0502, 2
    SII_ADDRESS = 0x0504, 4
    SII_DATA = 0x0508, 8  # 4 or 8 bytes read (see SiiControlStatus.read_size), 2 bytes written
    # MII management interface
    MII_CONTROL_STATUS = 0x0510, 2
    MII_PHY_ADDRESS = 0x0512, 1
    MII_PHY_REGISTER_ADDRESS = 0x0513, 1
    MII_PHY_DATA = 0x0514, 2
    MII_ECAT_ACCESS_STATE = 0x0516, 1
    MII_PDI_ACCESS_STATE = 0x0517, 1
    MII_PHY_PORT_STATUS = 0x0518, 4  # one byte per port
    # FMMU 0 and SyncManager 0; the others follow at a stride of their size
    FMMU_BASE = 0x0600, 16
    SYNC_MANAGER_BASE = 0x0800, 8
    # distributed clocks: receive times and time loop control unit
    DC_RECEIVE_TIME_PORT0 = 0x0900, 4
    DC_RECEIVE_TIME_PORT1 = 0x0904, 4
    DC_RECEIVE_TIME_PORT2 = 0x0908, 4
    DC_RECEIVE_TIME_PORT3 = 0x090C, 4
    DC_SYSTEM_TIME = 0x0910, 8
    DC_RECEIVE_TIME_PROCESSING_UNIT = 0x0918, 8
    DC_SYSTEM_TIME_OFFSET = 0x0920, 8
    DC_SYSTEM_TIME_DELAY = 0x0928, 4
    DC_SYSTEM_TIME_DIFFERENCE = 0x092C, 4
    DC_SPEED_COUNTER_START = 0x0930, 2
    DC_SPEED_COUNTER_DIFF = 0x0932, 2
    DC_SYSTEM_TIME_DIFF_FILTER_DEPTH = 0x0934, 1
    DC_SPEED_COUNTER_FILTER_DEPTH = 0x0935, 1
    DC_RECEIVE_TIME_LATCH_MODE = 0x0936, 1
    # distributed clocks: cyclic unit (SYNC out) and latch unit
    DC_CYCLIC_UNIT_CONTROL = 0x0980, 1
    DC_ACTIVATION = 0x0981, 1
    DC_PULSE_LENGTH = 0x0982, 2  # units of 10 ns
    DC_ACTIVATION_STATUS = 0x0984, 1
    DC_SYNC0_STATUS = 0x098E, 1
    DC_SYNC1_STATUS = 0x098F, 1
    DC_START_TIME_CYCLIC = 0x0990, 8  # write: start time; read: time of the next SYNC0 pulse
    DC_NEXT_SYNC1_PULSE = 0x0998, 8
    DC_SYNC0_CYCLE_TIME = 0x09A0, 4
    DC_SYNC1_CYCLE_TIME = 0x09A4, 4
    DC_LATCH0_CONTROL = 0x09A8, 1
    DC_LATCH1_CONTROL = 0x09A9, 1
    DC_LATCH0_STATUS = 0x09AE, 1
    DC_LATCH1_STATUS = 0x09AF, 1
    DC_LATCH0_TIME_POSITIVE = 0x09B0, 8
    DC_LATCH0_TIME_NEGATIVE = 0x09B8, 8
    DC_LATCH1_TIME_POSITIVE = 0x09C0, 8
    DC_LATCH1_TIME_NEGATIVE = 0x09C8, 8
    DC_ECAT_BUFFER_CHANGE_EVENT_TIME = 0x09F0, 4
    DC_PDI_BUFFER_START_EVENT_TIME = 0x09F8, 4
    DC_PDI_BUFFER_CHANGE_EVENT_TIME = 0x09FC, 4
    # ESC specific area (ET1100: power-on values of the configuration pins)
    POWER_ON_VALUES = 0x0E00, 2
    # digital I/O, general purpose I/O, user RAM
    DIGITAL_IO_OUTPUT_DATA = 0x0F00, 4
    GENERAL_PURPOSE_OUTPUTS = 0x0F10, 8
    GENERAL_PURPOSE_INPUTS = 0x0F18, 8
    USER_RAM = 0x0F80, 128


#: An ESC has up to four ports (0-3).
PORT_COUNT = 4
#: Register space reserves room for 16 FMMUs (0x0600-0x06FF) and 16 SyncManagers (0x0800-0x087F).
MAX_FMMUS = 16
MAX_SYNC_MANAGERS = 16
#: First byte of the process data RAM.
PROCESS_DATA_RAM_START = 0x1000
#: Bytes to write, one per frame, to ESC reset ECAT (0x0040) or PDI (0x0041): "R", "E", "S".
ESC_RESET_SEQUENCE = (0x52, 0x45, 0x53)


def fmmu_address(index: int) -> int:
    """Address of FMMU ``index`` (0-15).

    :raises ValueError: for an index outside 0-15.
    """
    if not 0 <= index < MAX_FMMUS:
        raise ValueError(f"FMMU index {index!r} is outside 0..{MAX_FMMUS - 1}")
    return Register.FMMU_BASE + index * Register.FMMU_BASE.size


def sync_manager_address(index: int) -> int:
    """Address of SyncManager ``index`` (0-15).

    :raises ValueError: for an index outside 0-15.
    """
    if not 0 <= index < MAX_SYNC_MANAGERS:
        raise ValueError(f"SyncManager index {index!r} is outside 0..{MAX_SYNC_MANAGERS - 1}")
    return Register.SYNC_MANAGER_BASE + index * Register.SYNC_MANAGER_BASE.size


# --------------------------------------------------------------------------------- helpers
_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


def _exact(data: Buffer, size: int, structure: str) -> bytes:
    """``data`` as bytes, which must be exactly ``size`` long, or ProtocolError."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError(structure, f"expected a bytes-like object, got {type(data).__name__}")
    raw = bytes(data)
    if len(raw) != size:
        raise ProtocolError(structure, f"expected {size} bytes, got {len(raw)}", offset=min(len(raw), size))
    return raw


def _check_uint(name: str, value: int, bits: int) -> None:
    """ValueError unless ``value`` is an int that fits an unsigned field of ``bits`` bits."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise ValueError(f"{name} = {value!r} does not fit an unsigned {bits}-bit field")


def _check_per_port(name: str, values: tuple[int, ...], bits: int) -> None:
    """ValueError unless ``values`` holds one ``bits``-wide value per port."""
    if not isinstance(values, tuple) or len(values) != PORT_COUNT:
        raise ValueError(f"{name} must be a tuple of {PORT_COUNT} values, got {values!r}")
    for port, value in enumerate(values):
        _check_uint(f"{name}[{port}]", value, bits)


def _check_port(port: int) -> None:
    if not 0 <= port < PORT_COUNT:
        raise ValueError(f"port {port!r} is outside 0..{PORT_COUNT - 1}")


def _enum_or_int(enum_type: type[enum.IntEnum], value: int) -> Union[enum.IntEnum, int]:
    """``enum_type(value)``, or the raw value when the datasheet reserves it."""
    try:
        return enum_type(value)
    except ValueError:
        return value


def _bit(value: int, mask: int) -> bool:
    return bool(value & mask)


def _flag(condition: bool, mask: int) -> int:
    return mask if condition else 0


# ---------------------------------------------------------------------- ESC information block
class PortType(enum.IntEnum):
    """Port descriptor value of one port (register 0x0007)."""

    NOT_IMPLEMENTED = 0b00
    NOT_CONFIGURED = 0b01  # SII EEPROM
    EBUS = 0b10
    MII = 0b11  # MII / RMII / RGMII


#: Each port takes two bits of the port descriptor, port 0 in bits 0-1.
_PORT_BITS = 2
_PORT_MASK = 0b11


@dataclass(frozen=True, slots=True)
class PortDescriptor:
    """Port descriptor (0x0007): the physical layer of ports 0-3."""

    ADDRESS: ClassVar[int] = Register.PORT_DESCRIPTOR
    SIZE: ClassVar[int] = Register.PORT_DESCRIPTOR.size

    ports: tuple[PortType, PortType, PortType, PortType]

    def __post_init__(self) -> None:
        _check_per_port("ports", self.ports, _PORT_BITS)

    def encode(self) -> bytes:
        """The register byte."""
        value = 0
        for port, kind in enumerate(self.ports):
            value |= kind << (port * _PORT_BITS)
        return _U8.pack(value)

    @classmethod
    def decode(cls, data: Buffer) -> PortDescriptor:
        """Decode the register byte."""
        (value,) = _U8.unpack(_exact(data, cls.SIZE, "port descriptor (0x0007)"))
        return cls(
            tuple(  # type: ignore[arg-type]
                PortType((value >> (port * _PORT_BITS)) & _PORT_MASK)
                for port in range(PORT_COUNT)
            )
        )


class EscFeature(enum.IntFlag):
    """ESC features supported (0x0008:0x0009). Note the inverted sense of some bits."""

    FMMU_BYTE_ORIENTED = 0x0001  # 0: FMMUs map bit-wise, 1: byte-wise only
    UNUSED_REGISTER_ACCESS_NOT_SUPPORTED = 0x0002
    DISTRIBUTED_CLOCKS = 0x0004
    DC_64BIT = 0x0008  # 0: 32-bit system time, 1: 64-bit
    LOW_JITTER_EBUS = 0x0010
    ENHANCED_LINK_DETECTION_EBUS = 0x0020
    ENHANCED_LINK_DETECTION_MII = 0x0040
    SEPARATE_FCS_ERROR_HANDLING = 0x0080
    ENHANCED_DC_SYNC_ACTIVATION = 0x0100
    LRW_NOT_SUPPORTED = 0x0200
    READ_WRITE_NOT_SUPPORTED = 0x0400  # BRW, APRW, FPRW
    FIXED_FMMU_SM_CONFIGURATION = 0x0800


_FEATURES_BITS = 16


@dataclass(frozen=True, slots=True)
class EscFeatures:
    """ESC features supported (0x0008:0x0009), with the inverted bits turned into properties."""

    ADDRESS: ClassVar[int] = Register.ESC_FEATURES
    SIZE: ClassVar[int] = Register.ESC_FEATURES.size

    flags: EscFeature

    def __post_init__(self) -> None:
        _check_uint("flags", int(self.flags), _FEATURES_BITS)

    @property
    def fmmu_bit_oriented(self) -> bool:
        """True when FMMUs can map single bits."""
        return EscFeature.FMMU_BYTE_ORIENTED not in self.flags

    @property
    def dc_supported(self) -> bool:
        """True when the ESC has distributed clocks."""
        return EscFeature.DISTRIBUTED_CLOCKS in self.flags

    @property
    def dc_64bit(self) -> bool:
        """True when the DC system time is 64 bits wide (else 32)."""
        return EscFeature.DC_64BIT in self.flags

    @property
    def lrw_supported(self) -> bool:
        """True when the ESC executes LRW."""
        return EscFeature.LRW_NOT_SUPPORTED not in self.flags

    @property
    def read_write_supported(self) -> bool:
        """True when the ESC executes BRW, APRW and FPRW."""
        return EscFeature.READ_WRITE_NOT_SUPPORTED not in self.flags

    def encode(self) -> bytes:
        """The two register bytes."""
        return _U16.pack(int(self.flags))

    @classmethod
    def decode(cls, data: Buffer) -> EscFeatures:
        """Decode the two register bytes (unknown bits are kept)."""
        (value,) = _U16.unpack(_exact(data, cls.SIZE, "ESC features (0x0008)"))
        return cls(EscFeature(value))


_IDENTITY = struct.Struct("<BBHBBBBH")  # type, revision, build, FMMUs, SMs, RAM, ports, features


@dataclass(frozen=True, slots=True)
class EscIdentity:
    """The ESC information block 0x0000-0x0009, read once per slave at scan time."""

    ADDRESS: ClassVar[int] = Register.TYPE
    SIZE: ClassVar[int] = _IDENTITY.size

    esc_type: int
    revision: int
    build: int
    fmmu_count: int
    sync_manager_count: int
    ram_size_kib: int
    port_descriptor: PortDescriptor
    features: EscFeatures

    def __post_init__(self) -> None:
        _check_uint("esc_type", self.esc_type, 8)
        _check_uint("revision", self.revision, 8)
        _check_uint("build", self.build, 16)
        _check_uint("fmmu_count", self.fmmu_count, 8)
        _check_uint("sync_manager_count", self.sync_manager_count, 8)
        _check_uint("ram_size_kib", self.ram_size_kib, 8)

    def encode(self) -> bytes:
        """The ten register bytes."""
        (ports,) = _U8.unpack(self.port_descriptor.encode())
        return _IDENTITY.pack(
            self.esc_type,
            self.revision,
            self.build,
            self.fmmu_count,
            self.sync_manager_count,
            self.ram_size_kib,
            ports,
            int(self.features.flags),
        )

    @classmethod
    def decode(cls, data: Buffer) -> EscIdentity:
        """Decode the ten register bytes."""
        raw = _exact(data, cls.SIZE, "ESC information (0x0000-0x0009)")
        esc_type, revision, build, fmmus, sms, ram, ports, features = _IDENTITY.unpack(raw)
        return cls(
            esc_type=esc_type,
            revision=revision,
            build=build,
            fmmu_count=fmmus,
            sync_manager_count=sms,
            ram_size_kib=ram,
            port_descriptor=PortDescriptor.decode(_U8.pack(ports)),
            features=EscFeatures(EscFeature(features)),
        )


# ------------------------------------------------------------------------------- data link
class ForwardingRule(enum.IntEnum):
    """DL control bit 0: what the ESC does with non-EtherCAT frames."""

    FORWARD_NON_ETHERCAT = 0  # forwarded unmodified, source MAC unchanged
    DESTROY_NON_ETHERCAT = 1  # destroyed; source MAC bit 1 set on every frame


class LoopPortControl(enum.IntEnum):
    """DL control loop setting of one port (2 bits per port from bit 8)."""

    AUTO = 0b00  # closed at link down, opened at link up
    AUTO_CLOSE = 0b01  # closed at link down, opened by writing 01 again (or a frame) after link up
    OPEN = 0b10  # open regardless of link
    CLOSED = 0b11  # closed regardless of link


_DL_FORWARDING_RULE = 0x0000_0001
_DL_TEMPORARY_LOOP = 0x0000_0002
_DL_LOOP_SHIFT = 8
_DL_LOOP_BITS = 2
_DL_LOOP_MASK = 0b11
_DL_RX_FIFO_SHIFT = 16
_DL_RX_FIFO_BITS = 3
_DL_RX_FIFO_MASK = 0b111
_DL_EBUS_LOW_JITTER = 0x0008_0000
_DL_EBUS_REMOTE_LINK_DOWN_REDUCED = 0x0040_0000
_DL_STATION_ALIAS = 0x0100_0000
#: Reset value of the RX FIFO size field ("default" delay).
DL_RX_FIFO_DEFAULT = 7


@dataclass(frozen=True, slots=True)
class DlControl:
    """ESC DL control (0x0100:0x0103)."""

    ADDRESS: ClassVar[int] = Register.DL_CONTROL
    SIZE: ClassVar[int] = Register.DL_CONTROL.size

    forwarding_rule: ForwardingRule = ForwardingRule.DESTROY_NON_ETHERCAT
    #: Use the loop settings for about one second only, then revert.
    temporary_loop: bool = False
    loop_ports: tuple[LoopPortControl, LoopPortControl, LoopPortControl, LoopPortControl] = (
        LoopPortControl.AUTO,
    ) * PORT_COUNT
    rx_fifo_size: int = DL_RX_FIFO_DEFAULT
    ebus_low_jitter: bool = False
    #: EBUS remote link down signalling time reduced to about 80 us (else about 660 ms).
    ebus_remote_link_down_reduced: bool = False
    #: The configured station alias (0x0012) may be used by FPxx commands.
    station_alias_enabled: bool = False

    def __post_init__(self) -> None:
        _check_uint("forwarding_rule", self.forwarding_rule, 1)
        _check_per_port("loop_ports", self.loop_ports, _DL_LOOP_BITS)
        _check_uint("rx_fifo_size", self.rx_fifo_size, _DL_RX_FIFO_BITS)

    def encode(self) -> bytes:
        """The four register bytes."""
        value = (
            _flag(self.forwarding_rule == ForwardingRule.DESTROY_NON_ETHERCAT, _DL_FORWARDING_RULE)
            | _flag(self.temporary_loop, _DL_TEMPORARY_LOOP)
            | (self.rx_fifo_size << _DL_RX_FIFO_SHIFT)
            | _flag(self.ebus_low_jitter, _DL_EBUS_LOW_JITTER)
            | _flag(self.ebus_remote_link_down_reduced, _DL_EBUS_REMOTE_LINK_DOWN_REDUCED)
            | _flag(self.station_alias_enabled, _DL_STATION_ALIAS)
        )
        for port, loop in enumerate(self.loop_ports):
            value |= loop << (_DL_LOOP_SHIFT + port * _DL_LOOP_BITS)
        return _U32.pack(value)

    @classmethod
    def decode(cls, data: Buffer) -> DlControl:
        """Decode the four register bytes."""
        (value,) = _U32.unpack(_exact(data, cls.SIZE, "DL control (0x0100)"))
        return cls(
            forwarding_rule=ForwardingRule(value & _DL_FORWARDING_RULE),
            temporary_loop=_bit(value, _DL_TEMPORARY_LOOP),
            loop_ports=tuple(  # type: ignore[arg-type]
                LoopPortControl((value >> (_DL_LOOP_SHIFT + port * _DL_LOOP_BITS)) & _DL_LOOP_MASK)
                for port in range(PORT_COUNT)
            ),
            rx_fifo_size=(value >> _DL_RX_FIFO_SHIFT) & _DL_RX_FIFO_MASK,
            ebus_low_jitter=_bit(value, _DL_EBUS_LOW_JITTER),
            ebus_remote_link_down_reduced=_bit(value, _DL_EBUS_REMOTE_LINK_DOWN_REDUCED),
            station_alias_enabled=_bit(value, _DL_STATION_ALIAS),
        )


class DlStatusFlag(enum.IntFlag):
    """ESC DL status bits (0x0110:0x0111, ETG.1000.4 Table 34)."""

    PDI_OPERATIONAL = 0x0001  # EEPROM loaded correctly, PDI operational
    PDI_WATCHDOG_RELOADED = 0x0002  # 0: PDI watchdog expired
    ENHANCED_LINK_DETECTION = 0x0004  # activated for at least one port
    PHYSICAL_LINK_PORT0 = 0x0010
    PHYSICAL_LINK_PORT1 = 0x0020
    PHYSICAL_LINK_PORT2 = 0x0040
    PHYSICAL_LINK_PORT3 = 0x0080
    LOOP_CLOSED_PORT0 = 0x0100
    COMMUNICATION_PORT0 = 0x0200
    LOOP_CLOSED_PORT1 = 0x0400
    COMMUNICATION_PORT1 = 0x0800
    LOOP_CLOSED_PORT2 = 0x1000
    COMMUNICATION_PORT2 = 0x2000
    LOOP_CLOSED_PORT3 = 0x4000
    COMMUNICATION_PORT3 = 0x8000


_PHYSICAL_LINK = (
    DlStatusFlag.PHYSICAL_LINK_PORT0,
    DlStatusFlag.PHYSICAL_LINK_PORT1,
    DlStatusFlag.PHYSICAL_LINK_PORT2,
    DlStatusFlag.PHYSICAL_LINK_PORT3,
)
_LOOP_CLOSED = (
    DlStatusFlag.LOOP_CLOSED_PORT0,
    DlStatusFlag.LOOP_CLOSED_PORT1,
    DlStatusFlag.LOOP_CLOSED_PORT2,
    DlStatusFlag.LOOP_CLOSED_PORT3,
)
_COMMUNICATION = (
    DlStatusFlag.COMMUNICATION_PORT0,
    DlStatusFlag.COMMUNICATION_PORT1,
    DlStatusFlag.COMMUNICATION_PORT2,
    DlStatusFlag.COMMUNICATION_PORT3,
)
_DL_STATUS_BITS = 16


@dataclass(frozen=True, slots=True)
class DlStatus:
    """ESC DL status (0x0110:0x0111): link, loop and communication state per port."""

    ADDRESS: ClassVar[int] = Register.DL_STATUS
    SIZE: ClassVar[int] = Register.DL_STATUS.size

    flags: DlStatusFlag

    def __post_init__(self) -> None:
        _check_uint("flags", int(self.flags), _DL_STATUS_BITS)

    @property
    def pdi_operational(self) -> bool:
        """True when the EEPROM was loaded correctly and the PDI is operational."""
        return DlStatusFlag.PDI_OPERATIONAL in self.flags

    @property
    def pdi_watchdog_reloaded(self) -> bool:
        """True while the PDI watchdog is reloaded (False: expired)."""
        return DlStatusFlag.PDI_WATCHDOG_RELOADED in self.flags

    def physical_link(self, port: int) -> bool:
        """True when ``port`` (0-3) has a physical link."""
        _check_port(port)
        return _PHYSICAL_LINK[port] in self.flags

    def loop_closed(self, port: int) -> bool:
        """True when the loop of ``port`` (0-3) is closed (frames are not sent out there)."""
        _check_port(port)
        return _LOOP_CLOSED[port] in self.flags

    def communication(self, port: int) -> bool:
        """True when ``port`` (0-3) has stable communication."""
        _check_port(port)
        return _COMMUNICATION[port] in self.flags

    def encode(self) -> bytes:
        """The two register bytes."""
        return _U16.pack(int(self.flags))

    @classmethod
    def decode(cls, data: Buffer) -> DlStatus:
        """Decode the two register bytes (the reserved bit 3 is kept)."""
        (value,) = _U16.unpack(_exact(data, cls.SIZE, "DL status (0x0110)"))
        return cls(DlStatusFlag(value))


# ------------------------------------------------------------------------ application layer
_AL_STATE_BITS = 4


@dataclass(frozen=True, slots=True)
class AlControl:
    """AL control (0x0120:0x0121), written by the master to request a state."""

    ADDRESS: ClassVar[int] = Register.AL_CONTROL
    SIZE: ClassVar[int] = Register.AL_CONTROL.size

    state: StateValue
    error_ack: bool = False
    id_request: bool = False

    def __post_init__(self) -> None:
        _check_uint("state", self.state, _AL_STATE_BITS)

    def encode(self) -> bytes:
        """The two register bytes."""
        return _U16.pack(
            self.state | _flag(self.error_ack, AL_CONTROL_ERROR_ACK) | _flag(self.id_request, AL_CONTROL_ID_REQUEST)
        )

    @classmethod
    def decode(cls, data: Buffer) -> AlControl:
        """Decode the two register bytes (an unknown state is kept as int)."""
        (value,) = _U16.unpack(_exact(data, cls.SIZE, "AL control (0x0120)"))
        return cls(
            state=state_from_value(value & AL_STATE_MASK),
            error_ack=_bit(value, AL_CONTROL_ERROR_ACK),
            id_request=_bit(value, AL_CONTROL_ID_REQUEST),
        )


@dataclass(frozen=True, slots=True)
class AlStatus:
    """AL status (0x0130:0x0131), the state a slave is in."""

    ADDRESS: ClassVar[int] = Register.AL_STATUS
    SIZE: ClassVar[int] = Register.AL_STATUS.size

    state: StateValue
    error: bool = False
    id_loaded: bool = False

    def __post_init__(self) -> None:
        _check_uint("state", self.state, _AL_STATE_BITS)

    def encode(self) -> bytes:
        """The two register bytes."""
        return _U16.pack(
            self.state | _flag(self.error, AL_STATUS_ERROR_INDICATION) | _flag(self.id_loaded, AL_STATUS_ID_LOADED)
        )

    @classmethod
    def decode(cls, data: Buffer) -> AlStatus:
        """Decode the two register bytes (an unknown state is kept as int)."""
        (value,) = _U16.unpack(_exact(data, cls.SIZE, "AL status (0x0130)"))
        return cls(
            state=state_from_value(value & AL_STATE_MASK),
            error=_bit(value, AL_STATUS_ERROR_INDICATION),
            id_loaded=_bit(value, AL_STATUS_ID_LOADED),
        )


_AL_STATUS_BLOCK = struct.Struct("<H2xH")  # AL status, reserved, AL status code


@dataclass(frozen=True, slots=True)
class AlStatusBlock:
    """AL status and AL status code (0x0130-0x0135), read together in one datagram."""

    ADDRESS: ClassVar[int] = Register.AL_STATUS
    SIZE: ClassVar[int] = _AL_STATUS_BLOCK.size

    status: AlStatus
    status_code: int = 0

    def __post_init__(self) -> None:
        _check_uint("status_code", self.status_code, 16)

    @property
    def text(self) -> str:
        """The specification's text of the AL status code."""
        return al_status_text(self.status_code)

    def encode(self) -> bytes:
        """The six register bytes."""
        (status,) = _U16.unpack(self.status.encode())
        return _AL_STATUS_BLOCK.pack(status, self.status_code)

    @classmethod
    def decode(cls, data: Buffer) -> AlStatusBlock:
        """Decode the six register bytes."""
        status, code = _AL_STATUS_BLOCK.unpack(_exact(data, cls.SIZE, "AL status block (0x0130-0x0135)"))
        return cls(AlStatus.decode(_U16.pack(status)), code)


# ----------------------------------------------------------------------------------- events
class EcatEvent(enum.IntFlag):
    """ECAT event request (0x0210:0x0211) and mask (0x0200); also the datagram IRQ field."""

    DC_LATCH = 0x0001
    DL_STATUS = 0x0004  # cleared by reading DL status from ECAT
    AL_STATUS = 0x0008  # cleared by reading AL status from ECAT
    SM0 = 0x0010  # SyncManager status mirrors
    SM1 = 0x0020
    SM2 = 0x0040
    SM3 = 0x0080
    SM4 = 0x0100
    SM5 = 0x0200
    SM6 = 0x0400
    SM7 = 0x0800


class AlEvent(enum.IntFlag):
    """AL event request (0x0220:0x0223) and PDI AL event mask (0x0204), seen by the PDI."""

    AL_CONTROL = 0x0000_0001
    DC_LATCH = 0x0000_0002
    DC_SYNC0 = 0x0000_0004
    DC_SYNC1 = 0x0000_0008
    SM_ACTIVATION = 0x0000_0010
    EEPROM_EMULATION = 0x0000_0020
    WATCHDOG_PROCESS_DATA = 0x0000_0040
    SM0 = 0x0000_0100
    SM1 = 0x0000_0200
    SM2 = 0x0000_0400
    SM3 = 0x0000_0800
    SM4 = 0x0000_1000
    SM5 = 0x0000_2000
    SM6 = 0x0000_4000
    SM7 = 0x0000_8000
    SM8 = 0x0001_0000
    SM9 = 0x0002_0000
    SM10 = 0x0004_0000
    SM11 = 0x0008_0000
    SM12 = 0x0010_0000
    SM13 = 0x0020_0000
    SM14 = 0x0040_0000
    SM15 = 0x0080_0000


# --------------------------------------------------------------------------- error counters
#: 0x0300-0x0307 invalid frame / RX error per port, 0x0308-0x030B forwarded RX error per port,
#: 0x030C processing unit, 0x030D PDI, 0x030E-0x030F ESC specific, 0x0310-0x0313 lost link.
_ERROR_COUNTERS = struct.Struct("<8B4BBB2x4B")
_COUNTER_BITS = 8


@dataclass(frozen=True, slots=True)
class ErrorCounters:
    """The error counter block 0x0300-0x0313; each counter stops counting at 0xFF."""

    ADDRESS: ClassVar[int] = Register.RX_ERROR_COUNTER_PORT0
    SIZE: ClassVar[int] = _ERROR_COUNTERS.size

    invalid_frame: tuple[int, int, int, int] = (0,) * PORT_COUNT
    rx_error: tuple[int, int, int, int] = (0,) * PORT_COUNT
    forwarded_rx_error: tuple[int, int, int, int] = (0,) * PORT_COUNT
    processing_unit_error: int = 0
    pdi_error: int = 0
    lost_link: tuple[int, int, int, int] = (0,) * PORT_COUNT

    def __post_init__(self) -> None:
        _check_per_port("invalid_frame", self.invalid_frame, _COUNTER_BITS)
        _check_per_port("rx_error", self.rx_error, _COUNTER_BITS)
        _check_per_port("forwarded_rx_error", self.forwarded_rx_error, _COUNTER_BITS)
        _check_uint("processing_unit_error", self.processing_unit_error, _COUNTER_BITS)
        _check_uint("pdi_error", self.pdi_error, _COUNTER_BITS)
        _check_per_port("lost_link", self.lost_link, _COUNTER_BITS)

    def encode(self) -> bytes:
        """The twenty register bytes (the ESC-specific bytes 0x030E-0x030F as 0)."""
        interleaved = [count for pair in zip(self.invalid_frame, self.rx_error) for count in pair]
        return _ERROR_COUNTERS.pack(
            *interleaved,
            *self.forwarded_rx_error,
            self.processing_unit_error,
            self.pdi_error,
            *self.lost_link,
        )

    @classmethod
    def decode(cls, data: Buffer) -> ErrorCounters:
        """Decode the twenty register bytes (0x030E-0x030F are ignored)."""
        values = _ERROR_COUNTERS.unpack(_exact(data, cls.SIZE, "error counters (0x0300-0x0313)"))
        rx_pairs = values[: 2 * PORT_COUNT]
        rest = values[2 * PORT_COUNT :]
        return cls(
            invalid_frame=tuple(rx_pairs[0::2]),  # type: ignore[arg-type]
            rx_error=tuple(rx_pairs[1::2]),  # type: ignore[arg-type]
            forwarded_rx_error=tuple(rest[:PORT_COUNT]),  # type: ignore[arg-type]
            processing_unit_error=rest[PORT_COUNT],
            pdi_error=rest[PORT_COUNT + 1],
            lost_link=tuple(rest[PORT_COUNT + 2 :]),  # type: ignore[arg-type]
        )


# --------------------------------------------------------------------------------------- SII
class SiiCommand(enum.IntEnum):
    """SII (EEPROM) command, bits 8-10 of 0x0502. Writing NOP clears the error bits."""

    NOP = 0b000
    READ = 0b001
    WRITE = 0b010
    RELOAD = 0b100


_SII_WRITE_ENABLE = 0x0001
_SII_EMULATION = 0x0020
_SII_READ_8_BYTES = 0x0040
_SII_ADDRESS_2_BYTES = 0x0080
_SII_COMMAND_SHIFT = 8
_SII_COMMAND_BITS = 3
_SII_COMMAND_MASK = 0b111
_SII_CHECKSUM_ERROR = 0x0800
_SII_NOT_LOADED = 0x1000
_SII_ACK_ERROR = 0x2000
_SII_WRITE_ERROR = 0x4000
_SII_BUSY = 0x8000
#: Bytes one SII read returns in 0x0508 (bit 6 clear / set).
SII_READ_SIZES = (4, 8)
#: Address bytes the ESC sends to the EEPROM (bit 7 clear: up to 16 Kbit, set: 32 Kbit-4 Mbit).
SII_ADDRESS_SIZES = (1, 2)


@dataclass(frozen=True, slots=True)
class SiiControlStatus:
    """SII EEPROM control/status (0x0502:0x0503)."""

    ADDRESS: ClassVar[int] = Register.SII_CONTROL_STATUS
    SIZE: ClassVar[int] = Register.SII_CONTROL_STATUS.size

    command: Union[SiiCommand, int] = SiiCommand.NOP
    #: ECAT write enable; needed in the same frame as a WRITE command.
    write_enable: bool = False
    #: The PDI emulates the EEPROM (read-only).
    emulation: bool = False
    #: Bytes one read returns in 0x0508: 4 or 8 (read-only).
    read_size: int = 4
    #: EEPROM address bytes: 1 (up to 16 Kbit) or 2 (read-only).
    address_bytes: int = 1
    checksum_error: bool = False
    #: The EEPROM is not (yet) loaded; the device information is not available.
    not_loaded: bool = False
    #: Missing EEPROM acknowledge or invalid command.
    ack_error: bool = False
    #: A write command came without write enable.
    write_error: bool = False
    busy: bool = False

    def __post_init__(self) -> None:
        _check_uint("command", self.command, _SII_COMMAND_BITS)
        if self.read_size not in SII_READ_SIZES:
            raise ValueError(f"read_size = {self.read_size!r}, expected one of {SII_READ_SIZES}")
        if self.address_bytes not in SII_ADDRESS_SIZES:
            raise ValueError(f"address_bytes = {self.address_bytes!r}, expected one of {SII_ADDRESS_SIZES}")

    @property
    def has_error(self) -> bool:
        """True when any error bit (11-14) is set, as SOEM's EC_ESTAT_EMASK tests."""
        return self.checksum_error or self.not_loaded or self.ack_error or self.write_error

    def encode(self) -> bytes:
        """The two register bytes."""
        value = (
            (self.command << _SII_COMMAND_SHIFT)
            | _flag(self.write_enable, _SII_WRITE_ENABLE)
            | _flag(self.emulation, _SII_EMULATION)
            | _flag(self.read_size == SII_READ_SIZES[1], _SII_READ_8_BYTES)
            | _flag(self.address_bytes == SII_ADDRESS_SIZES[1], _SII_ADDRESS_2_BYTES)
            | _flag(self.checksum_error, _SII_CHECKSUM_ERROR)
            | _flag(self.not_loaded, _SII_NOT_LOADED)
            | _flag(self.ack_error, _SII_ACK_ERROR)
            | _flag(self.write_error, _SII_WRITE_ERROR)
            | _flag(self.busy, _SII_BUSY)
        )
        return _U16.pack(value)

    @classmethod
    def decode(cls, data: Buffer) -> SiiControlStatus:
        """Decode the two register bytes (a reserved command value is kept as int)."""
        (value,) = _U16.unpack(_exact(data, cls.SIZE, "SII control/status (0x0502)"))
        return cls(
            command=_enum_or_int(SiiCommand, (value >> _SII_COMMAND_SHIFT) & _SII_COMMAND_MASK),
            write_enable=_bit(value, _SII_WRITE_ENABLE),
            emulation=_bit(value, _SII_EMULATION),
            read_size=SII_READ_SIZES[_bit(value, _SII_READ_8_BYTES)],
            address_bytes=SII_ADDRESS_SIZES[_bit(value, _SII_ADDRESS_2_BYTES)],
            checksum_error=_bit(value, _SII_CHECKSUM_ERROR),
            not_loaded=_bit(value, _SII_NOT_LOADED),
            ack_error=_bit(value, _SII_ACK_ERROR),
            write_error=_bit(value, _SII_WRITE_ERROR),
            busy=_bit(value, _SII_BUSY),
        )


_SII_ACCESS = struct.Struct("<HI")  # control/status, EEPROM word address


@dataclass(frozen=True, slots=True)
class SiiAccess:
    """SII control/status and word address (0x0502-0x0507): starts a command in one write."""

    ADDRESS: ClassVar[int] = Register.SII_CONTROL_STATUS
    SIZE: ClassVar[int] = _SII_ACCESS.size

    control: SiiControlStatus
    #: EEPROM address in 16-bit words.
    address: int

    def __post_init__(self) -> None:
        _check_uint("address", self.address, 32)

    def encode(self) -> bytes:
        """The six register bytes."""
        (control,) = _U16.unpack(self.control.encode())
        return _SII_ACCESS.pack(control, self.address)

    @classmethod
    def decode(cls, data: Buffer) -> SiiAccess:
        """Decode the six register bytes."""
        control, address = _SII_ACCESS.unpack(_exact(data, cls.SIZE, "SII access (0x0502-0x0507)"))
        return cls(SiiControlStatus.decode(_U16.pack(control)), address)


# -------------------------------------------------------------------------------------- FMMU
#: Logical start u32, length u16, logical start bit, logical stop bit, physical start u16,
#: physical start bit, type, activate, 3 reserved bytes (ETG.1000.4 Table 57).
_FMMU = struct.Struct("<IHBBHBBB3x")
_FMMU_BIT_BITS = 3
_FMMU_BIT_MASK = 0b111
_FMMU_TYPE_READ = 0x01
_FMMU_TYPE_WRITE = 0x02
_FMMU_ACTIVATE = 0x01


def _decode_table(view: type, data: Buffer, max_count: int, structure: str) -> tuple:
    """Decode consecutive views of ``view.SIZE`` bytes (at most ``max_count``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError(structure, f"expected a bytes-like object, got {type(data).__name__}")
    raw = bytes(data)
    if len(raw) % view.SIZE:
        raise ProtocolError(structure, f"{len(raw)} bytes is not a multiple of {view.SIZE}", offset=len(raw))
    if len(raw) > max_count * view.SIZE:
        raise ProtocolError(structure, f"{len(raw) // view.SIZE} entries, at most {max_count} exist", offset=len(raw))
    return tuple(view.decode(raw[start : start + view.SIZE]) for start in range(0, len(raw), view.SIZE))


@dataclass(frozen=True, slots=True)
class FmmuEntry:
    """One FMMU (16 bytes from 0x0600 + 16 * index): maps logical to physical memory."""

    ADDRESS: ClassVar[int] = Register.FMMU_BASE
    SIZE: ClassVar[int] = _FMMU.size

    logical_start: int
    length: int
    physical_start: int
    logical_start_bit: int = 0
    #: Last logical bit mapped (7 for byte-aligned mappings).
    logical_stop_bit: int = 7
    physical_start_bit: int = 0
    read: bool = False
    write: bool = False
    active: bool = False

    def __post_init__(self) -> None:
        _check_uint("logical_start", self.logical_start, 32)
        _check_uint("length", self.length, 16)
        _check_uint("physical_start", self.physical_start, 16)
        _check_uint("logical_start_bit", self.logical_start_bit, _FMMU_BIT_BITS)
        _check_uint("logical_stop_bit", self.logical_stop_bit, _FMMU_BIT_BITS)
        _check_uint("physical_start_bit", self.physical_start_bit, _FMMU_BIT_BITS)

    def encode(self) -> bytes:
        """The sixteen register bytes."""
        return _FMMU.pack(
            self.logical_start,
            self.length,
            self.logical_start_bit,
            self.logical_stop_bit,
            self.physical_start,
            self.physical_start_bit,
            _flag(self.read, _FMMU_TYPE_READ) | _flag(self.write, _FMMU_TYPE_WRITE),
            _flag(self.active, _FMMU_ACTIVATE),
        )

    @classmethod
    def decode(cls, data: Buffer) -> FmmuEntry:
        """Decode the sixteen register bytes of one FMMU."""
        raw = _exact(data, cls.SIZE, "FMMU entry")
        logical, length, start_bit, stop_bit, physical, physical_bit, kind, activate = _FMMU.unpack(raw)
        return cls(
            logical_start=logical,
            length=length,
            physical_start=physical,
            logical_start_bit=start_bit & _FMMU_BIT_MASK,
            logical_stop_bit=stop_bit & _FMMU_BIT_MASK,
            physical_start_bit=physical_bit & _FMMU_BIT_MASK,
            read=_bit(kind, _FMMU_TYPE_READ),
            write=_bit(kind, _FMMU_TYPE_WRITE),
            active=_bit(activate, _FMMU_ACTIVATE),
        )

    @classmethod
    def decode_table(cls, data: Buffer) -> tuple[FmmuEntry, ...]:
        """Decode consecutive FMMUs read from 0x0600 (a multiple of 16 bytes, at most 16)."""
        return _decode_table(cls, data, MAX_FMMUS, "FMMU table")


# ------------------------------------------------------------------------------ SyncManager
class SmMode(enum.IntEnum):
    """SyncManager operation mode, control bits 0-1 (1 and 3 are reserved)."""

    BUFFERED = 0b00  # three-buffer mode, process data
    MAILBOX = 0b10  # single buffer


class SmDirection(enum.IntEnum):
    """SyncManager direction, control bits 2-3, as seen from the master (2 and 3 are reserved)."""

    READ = 0b00  # ECAT reads, PDI writes (inputs, slave-to-master mailbox)
    WRITE = 0b01  # ECAT writes, PDI reads (outputs, master-to-slave mailbox)


_SM_MODE_MASK = 0b0000_0011
_SM_DIRECTION_SHIFT = 2
_SM_DIRECTION_MASK = 0b11
_SM_FIELD_BITS = 2
_SM_ECAT_INTERRUPT = 0x10
_SM_PDI_INTERRUPT = 0x20
_SM_WATCHDOG = 0x40


@dataclass(frozen=True, slots=True)
class SmControl:
    """SyncManager control byte (offset 4)."""

    mode: Union[SmMode, int]
    direction: Union[SmDirection, int]
    #: Interrupt in the ECAT event request register.
    ecat_interrupt: bool = False
    #: Interrupt in the AL event request register (PDI).
    pdi_interrupt: bool = False
    #: Watchdog trigger enable.
    watchdog: bool = False

    def __post_init__(self) -> None:
        _check_uint("mode", self.mode, _SM_FIELD_BITS)
        _check_uint("direction", self.direction, _SM_FIELD_BITS)

    def encode(self) -> bytes:
        """The control byte."""
        return _U8.pack(
            self.mode
            | (self.direction << _SM_DIRECTION_SHIFT)
            | _flag(self.ecat_interrupt, _SM_ECAT_INTERRUPT)
            | _flag(self.pdi_interrupt, _SM_PDI_INTERRUPT)
            | _flag(self.watchdog, _SM_WATCHDOG)
        )

    @classmethod
    def decode(cls, data: Buffer) -> SmControl:
        """Decode the control byte (reserved mode/direction values are kept as int)."""
        (value,) = _U8.unpack(_exact(data, 1, "SyncManager control"))
        return cls(
            mode=_enum_or_int(SmMode, value & _SM_MODE_MASK),
            direction=_enum_or_int(SmDirection, (value >> _SM_DIRECTION_SHIFT) & _SM_DIRECTION_MASK),
            ecat_interrupt=_bit(value, _SM_ECAT_INTERRUPT),
            pdi_interrupt=_bit(value, _SM_PDI_INTERRUPT),
            watchdog=_bit(value, _SM_WATCHDOG),
        )


_SM_INTERRUPT_WRITE = 0x01
_SM_INTERRUPT_READ = 0x02
_SM_MAILBOX_FULL = 0x08
_SM_BUFFER_SHIFT = 4
_SM_BUFFER_MASK = 0b11
_SM_READ_BUFFER_OPEN = 0x40
_SM_WRITE_BUFFER_OPEN = 0x80


@dataclass(frozen=True, slots=True)
class SmStatus:
    """SyncManager status byte (offset 5), read-only."""

    #: Set after a buffer was completely written, cleared when the reader starts.
    interrupt_write: bool = False
    #: Set after a buffer was completely read, cleared when the writer starts.
    interrupt_read: bool = False
    #: Mailbox mode: the mailbox is full.
    mailbox_full: bool = False
    #: Buffered mode: last written buffer 0-2, 3 when none was written.
    buffer_state: int = 0
    read_buffer_open: bool = False
    write_buffer_open: bool = False

    def __post_init__(self) -> None:
        _check_uint("buffer_state", self.buffer_state, _SM_FIELD_BITS)

    def encode(self) -> bytes:
        """The status byte."""
        return _U8.pack(
            _flag(self.interrupt_write, _SM_INTERRUPT_WRITE)
            | _flag(self.interrupt_read, _SM_INTERRUPT_READ)
            | _flag(self.mailbox_full, _SM_MAILBOX_FULL)
            | (self.buffer_state << _SM_BUFFER_SHIFT)
            | _flag(self.read_buffer_open, _SM_READ_BUFFER_OPEN)
            | _flag(self.write_buffer_open, _SM_WRITE_BUFFER_OPEN)
        )

    @classmethod
    def decode(cls, data: Buffer) -> SmStatus:
        """Decode the status byte."""
        (value,) = _U8.unpack(_exact(data, 1, "SyncManager status"))
        return cls(
            interrupt_write=_bit(value, _SM_INTERRUPT_WRITE),
            interrupt_read=_bit(value, _SM_INTERRUPT_READ),
            mailbox_full=_bit(value, _SM_MAILBOX_FULL),
            buffer_state=(value >> _SM_BUFFER_SHIFT) & _SM_BUFFER_MASK,
            read_buffer_open=_bit(value, _SM_READ_BUFFER_OPEN),
            write_buffer_open=_bit(value, _SM_WRITE_BUFFER_OPEN),
        )


class SmActivate(enum.IntFlag):
    """SyncManager activate byte (offset 6), written by the master."""

    ENABLE = 0x01
    REPEAT_REQUEST = 0x02  # toggled to ask the slave to repeat the last read mailbox
    LATCH_EVENT_ECAT = 0x40
    LATCH_EVENT_PDI = 0x80


class SmPdiControl(enum.IntFlag):
    """SyncManager PDI control byte (offset 7), written by the slave application."""

    DEACTIVATE = 0x01  # read: SyncManager deactivated by the PDI
    REPEAT_ACK = 0x02  # equals REPEAT_REQUEST once the repeat was done


#: Byte offsets inside one SyncManager channel, for writing one byte alone.
SM_CONTROL_OFFSET = 4
SM_STATUS_OFFSET = 5
SM_ACTIVATE_OFFSET = 6
SM_PDI_CONTROL_OFFSET = 7
_SYNC_MANAGER = struct.Struct("<HHBBBB")  # physical start, length, control, status, activate, PDI control
_BYTE_BITS = 8


@dataclass(frozen=True, slots=True)
class SyncManagerChannel:
    """One SyncManager (8 bytes from 0x0800 + 8 * index, ETG.1000.4 Table 59)."""

    ADDRESS: ClassVar[int] = Register.SYNC_MANAGER_BASE
    SIZE: ClassVar[int] = _SYNC_MANAGER.size

    physical_start: int
    length: int
    control: SmControl
    status: SmStatus = SmStatus()
    activate: SmActivate = SmActivate(0)
    pdi_control: SmPdiControl = SmPdiControl(0)

    def __post_init__(self) -> None:
        _check_uint("physical_start", self.physical_start, 16)
        _check_uint("length", self.length, 16)
        _check_uint("activate", int(self.activate), _BYTE_BITS)
        _check_uint("pdi_control", int(self.pdi_control), _BYTE_BITS)

    def encode(self) -> bytes:
        """The eight register bytes."""
        (control,) = _U8.unpack(self.control.encode())
        (status,) = _U8.unpack(self.status.encode())
        return _SYNC_MANAGER.pack(
            self.physical_start, self.length, control, status, int(self.activate), int(self.pdi_control)
        )

    @classmethod
    def decode(cls, data: Buffer) -> SyncManagerChannel:
        """Decode the eight register bytes of one SyncManager (unknown activate/PDI bits kept)."""
        raw = _exact(data, cls.SIZE, "SyncManager channel")
        physical, length, _, _, activate, pdi_control = _SYNC_MANAGER.unpack(raw)
        return cls(
            physical_start=physical,
            length=length,
            control=SmControl.decode(raw[SM_CONTROL_OFFSET : SM_CONTROL_OFFSET + 1]),
            status=SmStatus.decode(raw[SM_STATUS_OFFSET : SM_STATUS_OFFSET + 1]),
            activate=SmActivate(activate),
            pdi_control=SmPdiControl(pdi_control),
        )

    @classmethod
    def decode_table(cls, data: Buffer) -> tuple[SyncManagerChannel, ...]:
        """Decode consecutive SyncManagers read from 0x0800 (a multiple of 8 bytes, at most 16)."""
        return _decode_table(cls, data, MAX_SYNC_MANAGERS, "SyncManager table")


# ------------------------------------------------------------------------ distributed clocks
_RECEIVE_TIMES = struct.Struct("<4I")


@dataclass(frozen=True, slots=True)
class DcReceiveTimes:
    """DC receive times of ports 0-3 (0x0900-0x090F), local time in ns, low 32 bits.

    A BWR/FPWR to 0x0900 latches the time the frame arrived at each port.
    """

    ADDRESS: ClassVar[int] = Register.DC_RECEIVE_TIME_PORT0
    SIZE: ClassVar[int] = _RECEIVE_TIMES.size

    ports: tuple[int, int, int, int]

    def __post_init__(self) -> None:
        _check_per_port("ports", self.ports, 32)

    def encode(self) -> bytes:
        """The sixteen register bytes."""
        return _RECEIVE_TIMES.pack(*self.ports)

    @classmethod
    def decode(cls, data: Buffer) -> DcReceiveTimes:
        """Decode the sixteen register bytes."""
        return cls(_RECEIVE_TIMES.unpack(_exact(data, cls.SIZE, "DC receive times (0x0900)")))  # type: ignore[arg-type]


#: System time, receive time processing unit, system time offset (u64 each), system time
#: delay (u32), system time difference (u32, sign and magnitude).
_SYSTEM_TIME = struct.Struct("<QQQII")
_DIFFERENCE_SIGN = 0x8000_0000  # set: local copy < received system time (difference < 0)
_DIFFERENCE_MAGNITUDE = 0x7FFF_FFFF


@dataclass(frozen=True, slots=True)
class DcSystemTime:
    """DC time loop registers 0x0910-0x092F; times in ns."""

    ADDRESS: ClassVar[int] = Register.DC_SYSTEM_TIME
    SIZE: ClassVar[int] = _SYSTEM_TIME.size

    system_time: int
    #: Local time at the start of the frame that wrote 0x0900, seen by the processing unit (64 bit).
    receive_time_processing_unit: int
    #: Added to the local time to give the system time.
    system_time_offset: int
    #: Propagation delay from the reference clock to this ESC.
    system_time_delay: int
    #: Mean (local copy - received system time); register bit 31 is the sign (set: local copy
    #: smaller than the received time, Section II Table 103), bits 0-30 the magnitude.
    system_time_difference: int = 0

    def __post_init__(self) -> None:
        _check_uint("system_time", self.system_time, 64)
        _check_uint("receive_time_processing_unit", self.receive_time_processing_unit, 64)
        _check_uint("system_time_offset", self.system_time_offset, 64)
        _check_uint("system_time_delay", self.system_time_delay, 32)
        if not -_DIFFERENCE_MAGNITUDE <= self.system_time_difference <= _DIFFERENCE_MAGNITUDE:
            raise ValueError(
                f"system_time_difference = {self.system_time_difference!r} exceeds ±0x{_DIFFERENCE_MAGNITUDE:X}"
            )

    def encode(self) -> bytes:
        """The thirty-two register bytes."""
        difference = abs(self.system_time_difference) | _flag(self.system_time_difference < 0, _DIFFERENCE_SIGN)
        return _SYSTEM_TIME.pack(
            self.system_time,
            self.receive_time_processing_unit,
            self.system_time_offset,
            self.system_time_delay,
            difference,
        )

    @classmethod
    def decode(cls, data: Buffer) -> DcSystemTime:
        """Decode the thirty-two register bytes."""
        raw = _exact(data, cls.SIZE, "DC system time (0x0910-0x092F)")
        system_time, receive_time, offset, delay, difference = _SYSTEM_TIME.unpack(raw)
        magnitude = difference & _DIFFERENCE_MAGNITUDE
        return cls(
            system_time=system_time,
            receive_time_processing_unit=receive_time,
            system_time_offset=offset,
            system_time_delay=delay,
            system_time_difference=-magnitude if difference & _DIFFERENCE_SIGN else magnitude,
        )


_CONTROL_LOOP = struct.Struct("<HhBB")  # speed counter start, speed counter diff, two filter depths
_SPEED_COUNTER_START_BITS = 15
_SPEED_COUNTER_START_MASK = 0x7FFF
_FILTER_DEPTH_BITS = 4
_FILTER_DEPTH_MASK = 0x0F
_I16_MIN = -0x8000
_I16_MAX = 0x7FFF


@dataclass(frozen=True, slots=True)
class DcControlLoop:
    """DC control loop parameters 0x0930-0x0935."""

    ADDRESS: ClassVar[int] = Register.DC_SPEED_COUNTER_START
    SIZE: ClassVar[int] = _CONTROL_LOOP.size

    #: Bandwidth of the drift compensation (larger: smoother); a write resets the filters.
    speed_counter_start: int
    #: Deviation of the local clock period from the reference clock (read-only, signed).
    speed_counter_diff: int = 0
    system_time_diff_filter_depth: int = 0
    speed_counter_filter_depth: int = 0

    def __post_init__(self) -> None:
        _check_uint("speed_counter_start", self.speed_counter_start, _SPEED_COUNTER_START_BITS)
        if isinstance(self.speed_counter_diff, bool) or not _I16_MIN <= self.speed_counter_diff <= _I16_MAX:
            raise ValueError(f"speed_counter_diff = {self.speed_counter_diff!r} does not fit a signed 16-bit field")
        _check_uint("system_time_diff_filter_depth", self.system_time_diff_filter_depth, _FILTER_DEPTH_BITS)
        _check_uint("speed_counter_filter_depth", self.speed_counter_filter_depth, _FILTER_DEPTH_BITS)

    def encode(self) -> bytes:
        """The six register bytes."""
        return _CONTROL_LOOP.pack(
            self.speed_counter_start,
            self.speed_counter_diff,
            self.system_time_diff_filter_depth,
            self.speed_counter_filter_depth,
        )

    @classmethod
    def decode(cls, data: Buffer) -> DcControlLoop:
        """Decode the six register bytes."""
        start, diff, time_depth, speed_depth = _CONTROL_LOOP.unpack(
            _exact(data, cls.SIZE, "DC control loop (0x0930-0x0935)")
        )
        return cls(
            speed_counter_start=start & _SPEED_COUNTER_START_MASK,
            speed_counter_diff=diff,
            system_time_diff_filter_depth=time_depth & _FILTER_DEPTH_MASK,
            speed_counter_filter_depth=speed_depth & _FILTER_DEPTH_MASK,
        )


class DcCyclicUnitControl(enum.IntFlag):
    """Cyclic unit control (0x0980): which side controls the SYNC and latch units."""

    SYNC_OUT_PDI_CONTROLLED = 0x01  # 0: ECAT controls the cyclic unit and SYNC0 out
    LATCH_IN0_PDI_CONTROLLED = 0x10
    LATCH_IN1_PDI_CONTROLLED = 0x20


class DcActivation(enum.IntFlag):
    """DC activation (0x0981)."""

    CYCLIC_OPERATION = 0x01  # Sync Out Unit activation
    SYNC0 = 0x02
    SYNC1 = 0x04
    AUTO_ACTIVATION = 0x08  # bit 0 is set when the start time is written
    START_TIME_EXTENSION_64BIT = 0x10  # extend a 32-bit written start time to 64 bits
    START_TIME_PLAUSIBILITY_CHECK = 0x20  # fire at once if start time is outside the near future
    NEAR_FUTURE_LONG = 0x40  # near future ~2.1 s instead of half the DC width
    DEBUG_PULSE = 0x80  # one immediate pulse on the enabled SYNC outputs, self-clearing


class DcActivationStatus(enum.IntFlag):
    """DC activation status (0x0984), read-only."""

    SYNC0_PENDING = 0x01  # first SYNC0 pulse not yet generated
    SYNC1_PENDING = 0x02
    START_TIME_OUT_OF_NEAR_FUTURE = 0x04


_CYCLIC_UNIT = struct.Struct("<BBHB")  # control, activation, pulse length, activation status


@dataclass(frozen=True, slots=True)
class DcCyclicUnit:
    """DC cyclic unit registers 0x0980-0x0984."""

    ADDRESS: ClassVar[int] = Register.DC_CYCLIC_UNIT_CONTROL
    SIZE: ClassVar[int] = _CYCLIC_UNIT.size

    control: DcCyclicUnitControl = DcCyclicUnitControl(0)
    activation: DcActivation = DcActivation(0)
    #: SYNC pulse length in units of 10 ns; 0 selects acknowledge mode.
    pulse_length: int = 0
    activation_status: DcActivationStatus = DcActivationStatus(0)

    def __post_init__(self) -> None:
        _check_uint("control", int(self.control), _BYTE_BITS)
        _check_uint("activation", int(self.activation), _BYTE_BITS)
        _check_uint("pulse_length", self.pulse_length, 16)
        _check_uint("activation_status", int(self.activation_status), _BYTE_BITS)

    def encode(self) -> bytes:
        """The five register bytes."""
        return _CYCLIC_UNIT.pack(
            int(self.control), int(self.activation), self.pulse_length, int(self.activation_status)
        )

    @classmethod
    def decode(cls, data: Buffer) -> DcCyclicUnit:
        """Decode the five register bytes (unknown bits are kept)."""
        control, activation, pulse, status = _CYCLIC_UNIT.unpack(
            _exact(data, cls.SIZE, "DC cyclic unit (0x0980-0x0984)")
        )
        return cls(DcCyclicUnitControl(control), DcActivation(activation), pulse, DcActivationStatus(status))


_SYNC_TIMING = struct.Struct("<QQII")  # start time, next SYNC1, SYNC0 cycle, SYNC1 cycle


@dataclass(frozen=True, slots=True)
class DcSyncTiming:
    """DC SYNC timing 0x0990-0x09A7; times in ns."""

    ADDRESS: ClassVar[int] = Register.DC_START_TIME_CYCLIC
    SIZE: ClassVar[int] = _SYNC_TIMING.size

    #: Write: system time of the first SYNC0 pulse. Read: system time of the next SYNC0 pulse.
    start_time: int
    #: System time of the next SYNC1 pulse (read-only).
    next_sync1_pulse: int
    #: Time between two SYNC0 pulses; 0 is single-shot mode.
    sync0_cycle_time: int
    #: Time between a SYNC0 pulse and the SYNC1 pulse.
    sync1_cycle_time: int

    def __post_init__(self) -> None:
        _check_uint("start_time", self.start_time, 64)
        _check_uint("next_sync1_pulse", self.next_sync1_pulse, 64)
        _check_uint("sync0_cycle_time", self.sync0_cycle_time, 32)
        _check_uint("sync1_cycle_time", self.sync1_cycle_time, 32)

    def encode(self) -> bytes:
        """The twenty-four register bytes."""
        return _SYNC_TIMING.pack(self.start_time, self.next_sync1_pulse, self.sync0_cycle_time, self.sync1_cycle_time)

    @classmethod
    def decode(cls, data: Buffer) -> DcSyncTiming:
        """Decode the twenty-four register bytes."""
        return cls(*_SYNC_TIMING.unpack(_exact(data, cls.SIZE, "DC SYNC timing (0x0990-0x09A7)")))
