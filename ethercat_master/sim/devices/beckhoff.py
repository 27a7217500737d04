"""Beckhoff EtherCAT terminals: EK1100 coupler, EL1008 digital inputs, EL2008 digital outputs,
EL3102 analog inputs, as their EEPROMs and datasheets describe them.

Sources (identities and revisions cross-checked in several independent places):

* identities: vendor 0x00000002; EK1100 0x044C2C52 (SOEM slaveinfo dumps in ethercrab's
  ``dumps/``: revision 0x00120000, E-bus current -2000 mA, DC, no SyncManagers), EL1008
  0x03F03052, EL2008 0x07D83052 (revisions 0x00100000-0x00120000 in the ESI files collected by
  linuxcnc-ethercat/esi-data), EL3102 0x0C1E3052 (revisions up to 0x00140000, same source;
  lcec, IgH examples and SOEM users agree on the product codes);
* PDOs: EL1008 TxPDOs 0x1A00-0x1A07 "Channel n" each mapping 0x6000 + 0x10 n:01 "Input"
  (BOOL); EL2008 RxPDOs 0x1600-0x1607 mapping 0x7000 + 0x10 n:01 "Output" (BOOL) (esi-data;
  IgH ``ec_pdo_entry_info_t`` tables); EL3102 revision 0x00140000: 0x1A02/0x1A04 "AI Standard
  Channel 1/2" = status bits 0x60n0:01 underrange, :02 overrange, :03 limit 1 (BIT2), :05
  limit 2 (BIT2), :07 error, :0E sync error, :0F TxPDO state, :10 TxPDO toggle, then :11 value
  (INT), 32 bits, and 0x1A03/0x1A05 "AI Compact Channel 1/2" = :11 only (esi-data); the
  legacy 0x1A00/0x1A01 whose content those sources do not list are not modelled;
* SyncManagers: an EL2008 dump (gatorcat bus info of an EK1100 + EL2008) shows SM0 at the
  digital output register 0x0F00, control 0x44 (buffered, ECAT write, watchdog), enable 0x09
  (enable, OP only), default length 0; SOEM's slaveinfo of an EL1004 shows its input SM0 at
  0x1000, control 0x00 (its SII default length is taken as 0 too: the master sizes both from
  the PDOs); analog terminals (EL3314 dump) use mailboxes 0x1000/0x1080 of 128
  bytes with control 0x26/0x22, SM2 0x1100 (disabled without outputs), SM3 0x1180 (0x20),
  CoE details SDO + SDO info + PDO assign;
* the EK1100's ports: SOEM shows ports 0, 1, 2 active with E-bus terminals behind port 1 and
  the next device (X2 OUT) behind port 2;
* the EL31xx documentation (Beckhoff Information System, "Limit 1 and limit 2"): 10 V =
  2^15 - 1; limits 0x80n0:13/:14 enabled by 0x80n0:07/:08 set the 2-bit 0x60n0:03/:05 to 1
  (value below the limit), 2 (above), 3 (equal), evaluated on the signed value; the user
  scale is value * gain * 2^-16 + offset; status word bit n = subindex n + 1; the error bit
  is set with under- and overrange, TxPDO state means an internal error, the TxPDO toggle
  inverts with every new value.

Modelling choices: the terminals without an application controller (EK1100, EL1008, EL2008)
set "device emulation" in SII word 0 (the ESC runs their AL state machine); EL1008 and EL2008
use the ET1200's digital I/O PDI (word 0 = 0x0104), the EK1100 none (0x0100). The EL3102 uses
an SPI microcontroller (0x0C05) and supports free run, SM-synchronous and DC SYNC0; its device
type 0x00001389 is the modular device profile (5001). E-bus currents are typical datasheet
values.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ...protocol.coe import DataType, ObjectAccess
from ...protocol.registers import PortType
from ...protocol.sii import (
    CoeDetails,
    FmmuUsage,
    GeneralFlags,
    MailboxProtocols,
    SyncManagerEnable,
    SyncManagerType,
)
from ..device import (
    DcOpModeSpec,
    DeviceDescription,
    DeviceIdentity,
    EscParameters,
    MailboxSpec,
    PdoEntrySpec,
    PdoSpec,
    SyncManagerSpec,
)
from ..esc import DEFAULT_FEATURES, EscType
from ..object_dictionary import READ_ONLY, READ_WRITE, OdEntry, OdObject, SyncModeSupport, record
from ..slave import DeviceApplication, DeviceModel, SimulatedSlave
from .cia402_drive import CycleTrigger

__all__ = [
    "BECKHOFF_VENDOR_ID",
    "EK1100",
    "EL1008",
    "EL2008",
    "EL3102",
    "InputPattern",
    "DigitalInputs",
    "DigitalOutputs",
    "SignalShape",
    "AnalogSignal",
    "AnalogInputs",
]

#: Beckhoff Automation's EtherCAT vendor ID.
BECKHOFF_VENDOR_ID = 0x0000_0002

_CHANNELS_8 = 8
#: Changes of the EL2008 pins kept in its history.
_HISTORY = 256
_NS_PER_S = 1_000_000_000
_ET1200_PORTS = (PortType.EBUS, PortType.EBUS, PortType.NOT_IMPLEMENTED, PortType.NOT_IMPLEMENTED)
#: ET1200: 3 FMMUs, 4 SyncManagers, 1 KiB process RAM.
_ET1200 = dict(esc_type=EscType.ET1200, fmmu_count=3, sync_manager_count=4, ram_size_kib=1,
               ports=_ET1200_PORTS, features=DEFAULT_FEATURES)
_DIGITAL_IO_EMULATED = 0x0104  # PDI digital I/O, ESC configuration: device emulation
_NO_PDI_EMULATED = 0x0100
_SPI_WITH_DC = 0x0C05  # PDI SPI, ESC configuration: DC SYNC out and latch in units enabled


def _identity(product_code: int, revision: int, serial_number: int) -> DeviceIdentity:
    return DeviceIdentity(BECKHOFF_VENDOR_ID, product_code, revision, serial_number)


# ------------------------------------------------------------------------------- EK1100
class EK1100(DeviceModel):
    """EK1100 EtherCAT coupler: no mailbox, no process data; port 0 (X1 IN), port 1 (E-bus to
    the terminals), port 2 (X2 OUT); feeds 2 A into the E-bus."""

    PRODUCT_CODE = 0x044C_2C52
    REVISION = 0x0012_0000

    def __init__(self, *, alias: int = 0, serial_number: int = 0) -> None:
        self._description = DeviceDescription(
            identity=_identity(self.PRODUCT_CODE, self.REVISION, serial_number),
            order_code="EK1100",
            name="EK1100 EtherCAT Coupler (2A E-Bus)",
            group="SystemBk",
            esc=EscParameters(esc_type=EscType.ET1100, fmmu_count=8, sync_manager_count=8, ram_size_kib=8,
                              ports=(PortType.MII, PortType.EBUS, PortType.MII, PortType.NOT_IMPLEMENTED),
                              features=DEFAULT_FEATURES, pdi_control=_NO_PDI_EMULATED),
            ebus_current_ma=-2000,
            alias=alias,
        )

    @property
    def description(self) -> DeviceDescription:
        """The coupler's SII."""
        return self._description

    def create_application(self, slave: SimulatedSlave) -> DeviceApplication:
        """The coupler has no application."""
        return DeviceApplication()


# ------------------------------------------------------------------------------- EL1008
class InputPattern(enum.Enum):
    """How simulated digital inputs change over time."""

    #: The value set (``value``) stays.
    FIXED = "fixed"
    #: The inputs count up by one every period.
    COUNTER = "counter"
    #: One input on at a time, moving to the next every period.
    WALKING = "walking"


class DigitalInputs(DeviceApplication):
    """The eight input pins of an EL1008: ``value`` (bit n = channel n + 1), or a pattern
    stepping every ``period_ns`` of simulation time; set from tests with :meth:`set_value`
    and :meth:`set_channel`."""

    def __init__(self, value: int, pattern: InputPattern, period_ns: int) -> None:
        self.value = value
        self.pattern = pattern
        self.period_ns = period_ns
        self._now = 0

    def set_value(self, value: int) -> None:
        """Set all eight inputs (bit n = channel n + 1); the pattern becomes fixed."""
        if not 0 <= value <= 0xFF:
            raise ValueError(f"inputs 0x{value:X} do not fit 8 channels")
        self.value = value
        self.pattern = InputPattern.FIXED

    def set_channel(self, channel: int, on: bool) -> None:
        """Set channel 1..8, the others keeping their present value; the pattern becomes fixed."""
        if not 1 <= channel <= _CHANNELS_8:
            raise ValueError(f"channel {channel} is outside 1..{_CHANNELS_8}")
        bit = 1 << (channel - 1)
        present = self.current()
        self.set_value((present | bit) if on else (present & ~bit))

    def current(self) -> int:
        """The input byte at the last cycle's time."""
        if self.pattern is InputPattern.FIXED:
            return self.value
        step = self._now // self.period_ns
        if self.pattern is InputPattern.COUNTER:
            return (self.value + step) & 0xFF
        return 1 << (step % _CHANNELS_8)

    def cycle(self, now_ns: int, trigger: CycleTrigger) -> None:
        """Sample the inputs at ``now_ns``."""
        self._now = now_ns

    def read_inputs(self, size: int) -> bytes:
        """The input byte for SyncManager 0."""
        return self.current().to_bytes(size, "little")

    def status(self) -> dict[str, Any]:
        """``inputs``: the input byte."""
        return {"inputs": self.current()}


class EL1008(DeviceModel):
    """EL1008 8-channel digital input 24 V: TxPDOs 0x1A00-0x1A07 of one BOOL each on SM0 (an
    input SyncManager at 0x1000, no mailbox).

    :param value: the inputs (bit n = channel n + 1), or the pattern's start value.
    :param pattern: how the inputs change (:class:`InputPattern`).
    :param period_ns: the pattern's step.
    """

    PRODUCT_CODE = 0x03F0_3052
    REVISION = 0x0012_0000

    def __init__(self, *, value: int = 0, pattern: InputPattern = InputPattern.FIXED,
                 period_ns: int = 100_000_000, alias: int = 0, serial_number: int = 0) -> None:
        if not 0 <= value <= 0xFF:
            raise ValueError(f"EL1008 inputs 0x{value:X} do not fit 8 channels")
        if period_ns <= 0:
            raise ValueError(f"EL1008 pattern period {period_ns!r} ns must be positive")
        self.value, self.pattern, self.period_ns = value, pattern, period_ns
        pdos = tuple(PdoSpec(0x1A00 + n, f"Channel {n + 1}",
                             (PdoEntrySpec(0x6000 + 0x10 * n, 1, 1, "Input", DataType.BOOLEAN),),
                             sync_manager=0, mandatory=True) for n in range(_CHANNELS_8))
        self._description = DeviceDescription(
            identity=_identity(self.PRODUCT_CODE, self.REVISION, serial_number),
            order_code="EL1008",
            name="EL1008 8Ch. Dig. Input 24V, 3ms",
            group="DigIn",
            esc=EscParameters(**_ET1200, pdi_control=_DIGITAL_IO_EMULATED),
            sync_managers=(SyncManagerSpec(0x1000, 0, 0x00, SyncManagerType.PROCESS_DATA_IN),),
            fmmus=(FmmuUsage.INPUTS,),
            tx_pdos=pdos,
            ebus_current_ma=90,
            alias=alias,
        )

    @property
    def description(self) -> DeviceDescription:
        """The terminal's SII."""
        return self._description

    def create_application(self, slave: SimulatedSlave) -> DigitalInputs:
        """The input pins."""
        return DigitalInputs(self.value, self.pattern, self.period_ns)


# ------------------------------------------------------------------------------- EL2008
class DigitalOutputs(DeviceApplication):
    """The eight output pins of an EL2008: the byte the master wrote to the digital output
    register while in OP, zero otherwise (:attr:`value`, :attr:`channels`)."""

    def __init__(self) -> None:
        self.value = 0
        #: Every change of the pins, oldest first (bounded).
        self.history: list[int] = []

    @property
    def channels(self) -> tuple[bool, ...]:
        """Channel 1..8 on or off."""
        return tuple(bool(self.value >> n & 1) for n in range(_CHANNELS_8))

    def write_outputs(self, data: bytes) -> None:
        """Drive the pins."""
        value = data[0] if data else 0
        if value != self.value:
            self.value = value
            self.history.append(value)
            del self.history[:-_HISTORY]

    def status(self) -> dict[str, Any]:
        """``outputs``: the pins as a byte."""
        return {"outputs": self.value}



class EL2008(DeviceModel):
    """EL2008 8-channel digital output 24 V: RxPDOs 0x1600-0x1607 of one BOOL each on SM0, at
    the digital output register 0x0F00 with the watchdog trigger (no mailbox)."""

    PRODUCT_CODE = 0x07D8_3052
    REVISION = 0x0012_0000

    def __init__(self, *, alias: int = 0, serial_number: int = 0) -> None:
        pdos = tuple(PdoSpec(0x1600 + n, f"Channel {n + 1}",
                             (PdoEntrySpec(0x7000 + 0x10 * n, 1, 1, "Output", DataType.BOOLEAN),),
                             sync_manager=0, mandatory=True) for n in range(_CHANNELS_8))
        self._description = DeviceDescription(
            identity=_identity(self.PRODUCT_CODE, self.REVISION, serial_number),
            order_code="EL2008",
            name="EL2008 8Ch. Dig. Output 24V, 0.5A",
            group="DigOut",
            esc=EscParameters(**_ET1200, pdi_control=_DIGITAL_IO_EMULATED),
            sync_managers=(SyncManagerSpec(0x0F00, 0, 0x44, SyncManagerType.PROCESS_DATA_OUT,
                                           SyncManagerEnable.ENABLE | SyncManagerEnable.OP_ONLY),),
            fmmus=(FmmuUsage.OUTPUTS,),
            rx_pdos=pdos,
            ebus_current_ma=110,
            alias=alias,
        )

    @property
    def description(self) -> DeviceDescription:
        """The terminal's SII."""
        return self._description

    def create_application(self, slave: SimulatedSlave) -> DigitalOutputs:
        """The output pins."""
        return DigitalOutputs()


# ------------------------------------------------------------------------------- EL3102
class SignalShape(enum.Enum):
    """The shape of a simulated analog signal."""

    CONSTANT = "constant"
    SINE = "sine"
    #: A sawtooth from offset - amplitude to offset + amplitude once per period.
    RAMP = "ramp"


@dataclass(frozen=True, slots=True)
class AnalogSignal:
    """A voltage over time: ``offset + amplitude * shape(frequency * t + phase)``."""

    shape: SignalShape = SignalShape.CONSTANT
    offset: float = 0.0
    amplitude: float = 0.0
    frequency: float = 1.0
    phase: float = 0.0

    def __post_init__(self) -> None:
        if self.frequency <= 0:
            raise ValueError(f"signal frequency {self.frequency!r} Hz must be positive")

    def volts(self, now_ns: int) -> float:
        """The voltage at simulation time ``now_ns``."""
        if self.shape is SignalShape.CONSTANT:
            return self.offset
        cycles = self.frequency * now_ns / _NS_PER_S + self.phase
        if self.shape is SignalShape.SINE:
            return self.offset + self.amplitude * math.sin(2 * math.pi * cycles)
        return self.offset + self.amplitude * (2 * (cycles % 1.0) - 1)


#: +/-10 V full scale: 10 V reads 0x7FFF.
FULL_SCALE_VOLTS = 10.0
_FULL_SCALE_COUNTS = 0x7FFF
_I16_MIN, _I16_MAX = -0x8000, 0x7FFF
_GAIN_ONE = 1 << 16
_INPUTS_BASE = 0x6000
_SETTINGS_BASE = 0x8000
_CHANNEL_STRIDE = 0x10


class _Status(enum.IntEnum):
    """Subindices of the EL31xx "AI Inputs" objects (status word bit = subindex - 1)."""

    UNDERRANGE = 0x01
    OVERRANGE = 0x02
    LIMIT1 = 0x03
    LIMIT2 = 0x05
    ERROR = 0x07
    SYNC_ERROR = 0x0E
    TXPDO_STATE = 0x0F
    TXPDO_TOGGLE = 0x10
    VALUE = 0x11


class _Setting(enum.IntEnum):
    """Subindices of the EL31xx "AI Settings" objects modelled here."""

    ENABLE_USER_SCALE = 0x01
    ENABLE_LIMIT1 = 0x07
    ENABLE_LIMIT2 = 0x08
    USER_SCALE_OFFSET = 0x11
    USER_SCALE_GAIN = 0x12
    LIMIT1 = 0x13
    LIMIT2 = 0x14


def _limit_state(value: int, limit: int) -> int:
    """EL31xx limit evaluation (swap limit bits off): 1 below, 2 above, 3 equal."""
    if value < limit:
        return 1
    return 2 if value > limit else 3


def _inputs_object(channel: int) -> OdObject:
    tx = READ_ONLY | ObjectAccess.TXPDO_MAPPABLE
    boolean, bit2 = DataType.BOOLEAN, DataType.BIT2
    entries = [
        OdEntry(_Status.UNDERRANGE, "Underrange", boolean, tx, False),
        OdEntry(_Status.OVERRANGE, "Overrange", boolean, tx, False),
        OdEntry(_Status.LIMIT1, "Limit 1", bit2, tx, 0),
        OdEntry(_Status.LIMIT2, "Limit 2", bit2, tx, 0),
        OdEntry(_Status.ERROR, "Error", boolean, tx, False),
        OdEntry(_Status.SYNC_ERROR, "Sync error", boolean, tx, False),
        OdEntry(_Status.TXPDO_STATE, "TxPDO State", boolean, tx, False),
        OdEntry(_Status.TXPDO_TOGGLE, "TxPDO Toggle", boolean, tx, False),
        OdEntry(_Status.VALUE, "Value", DataType.INTEGER16, tx, 0),
    ]
    return record(_INPUTS_BASE + _CHANNEL_STRIDE * channel, f"AI Inputs Ch.{channel + 1}", entries)


def _settings_object(channel: int) -> OdObject:
    entries = [
        OdEntry(_Setting.ENABLE_USER_SCALE, "Enable user scale", DataType.BOOLEAN, READ_WRITE, False),
        OdEntry(_Setting.ENABLE_LIMIT1, "Enable limit 1", DataType.BOOLEAN, READ_WRITE, False),
        OdEntry(_Setting.ENABLE_LIMIT2, "Enable limit 2", DataType.BOOLEAN, READ_WRITE, False),
        OdEntry(_Setting.USER_SCALE_OFFSET, "User scale offset", DataType.INTEGER16, READ_WRITE, 0),
        OdEntry(_Setting.USER_SCALE_GAIN, "User scale gain", DataType.INTEGER32, READ_WRITE, _GAIN_ONE),
        OdEntry(_Setting.LIMIT1, "Limit 1", DataType.INTEGER16, READ_WRITE, 0),
        OdEntry(_Setting.LIMIT2, "Limit 2", DataType.INTEGER16, READ_WRITE, 0),
    ]
    return record(_SETTINGS_BASE + _CHANNEL_STRIDE * channel, f"AI Settings Ch.{channel + 1}", entries)


class AnalogInputs(DeviceApplication):
    """The two channels of an EL3102: each cycle samples the channel's signal, converts it to
    counts (+/-10 V = +/-0x7FFF, saturated, under/overrange flagged), applies the user scale
    (``value * gain / 65536 + offset``) and the limits of the settings objects 0x80n0, and
    publishes 0x60n0 with a toggled TxPDO toggle. The error bit goes with under- and
    overrange; TxPDO state (an internal error) and sync error stay FALSE, no such errors are
    simulated. Signals can be changed with
    :meth:`set_signal`."""

    def __init__(self, slave: SimulatedSlave, description: DeviceDescription,
                 signals: Sequence[AnalogSignal]) -> None:
        od = slave.od
        if od is None:
            raise ValueError("an EL3102 needs its object dictionary")
        for obj in description.communication_objects(
                device_type_value=EL3102.DEVICE_TYPE, hardware="00", software="01",
                sync_modes=SyncModeSupport.FREE_RUN | SyncModeSupport.SYNCHRON | SyncModeSupport.DC_SYNC0):
            od.add(obj)
        for channel in range(len(signals)):
            od.add(_inputs_object(channel))
            od.add(_settings_object(channel))
        self._od = od
        self.signals = list(signals)
        self._toggle = False

    def set_signal(self, channel: int, signal: AnalogSignal) -> None:
        """Feed ``channel`` (1 or 2) with ``signal``."""
        if not 1 <= channel <= len(self.signals):
            raise ValueError(f"channel {channel} is outside 1..{len(self.signals)}")
        self.signals[channel - 1] = signal

    def cycle(self, now_ns: int, trigger: CycleTrigger) -> None:
        """Sample every channel at ``now_ns``."""
        self._toggle = not self._toggle
        for channel, signal in enumerate(self.signals):
            self._sample(channel, signal.volts(now_ns))

    def _sample(self, channel: int, volts: float) -> None:
        od = self._od
        inputs = _INPUTS_BASE + _CHANNEL_STRIDE * channel
        settings = _SETTINGS_BASE + _CHANNEL_STRIDE * channel
        under, over = volts < -FULL_SCALE_VOLTS, volts > FULL_SCALE_VOLTS
        value = max(_I16_MIN, min(_I16_MAX, round(volts / FULL_SCALE_VOLTS * _FULL_SCALE_COUNTS)))
        if od.get(settings, _Setting.ENABLE_USER_SCALE):
            scaled = value * od.get(settings, _Setting.USER_SCALE_GAIN) // _GAIN_ONE
            value = max(_I16_MIN, min(_I16_MAX, scaled + od.get(settings, _Setting.USER_SCALE_OFFSET)))
        limits = []
        for enable, limit in ((_Setting.ENABLE_LIMIT1, _Setting.LIMIT1), (_Setting.ENABLE_LIMIT2, _Setting.LIMIT2)):
            limits.append(_limit_state(value, od.get(settings, limit)) if od.get(settings, enable) else 0)
        error = under or over
        for subindex, new in ((_Status.UNDERRANGE, under), (_Status.OVERRANGE, over),
                              (_Status.LIMIT1, limits[0]), (_Status.LIMIT2, limits[1]), (_Status.ERROR, error),
                              (_Status.TXPDO_TOGGLE, self._toggle),
                              (_Status.VALUE, value)):
            if od.get(inputs, subindex) != new:
                od.set(inputs, subindex, new)

    def status(self) -> dict[str, Any]:
        """``values``: each channel's value."""
        return {"values": [self._od.get(_INPUTS_BASE + _CHANNEL_STRIDE * channel, _Status.VALUE)
                           for channel in range(len(self.signals))]}


def _standard_pdo(index: int, channel: int) -> PdoSpec:
    base = _INPUTS_BASE + _CHANNEL_STRIDE * channel
    boolean = DataType.BOOLEAN
    entries = (
        PdoEntrySpec(base, _Status.UNDERRANGE, 1, "Status__Underrange", boolean),
        PdoEntrySpec(base, _Status.OVERRANGE, 1, "Status__Overrange", boolean),
        PdoEntrySpec(base, _Status.LIMIT1, 2, "Status__Limit 1", DataType.BIT2),
        PdoEntrySpec(base, _Status.LIMIT2, 2, "Status__Limit 2", DataType.BIT2),
        PdoEntrySpec(base, _Status.ERROR, 1, "Status__Error", boolean),
        PdoEntrySpec(0, 0, _Status.SYNC_ERROR - _Status.ERROR - 1),
        PdoEntrySpec(base, _Status.SYNC_ERROR, 1, "Status__Sync error", boolean),
        PdoEntrySpec(base, _Status.TXPDO_STATE, 1, "Status__TxPDO State", boolean),
        PdoEntrySpec(base, _Status.TXPDO_TOGGLE, 1, "Status__TxPDO Toggle", boolean),
        PdoEntrySpec(base, _Status.VALUE, 16, "Value", DataType.INTEGER16),
    )
    return PdoSpec(index, f"AI Standard Channel {channel + 1}", entries, sync_manager=3)


def _compact_pdo(index: int, channel: int) -> PdoSpec:
    base = _INPUTS_BASE + _CHANNEL_STRIDE * channel
    return PdoSpec(index, f"AI Compact Channel {channel + 1}",
                   (PdoEntrySpec(base, _Status.VALUE, 16, "Value", DataType.INTEGER16),))


class EL3102(DeviceModel):
    """EL3102 2-channel analog input +/-10 V, differential, 16 bit: CoE mailbox on SM0/SM1
    (128 bytes), inputs on SM3 with TxPDOs 0x1A02 and 0x1A04 ("AI Standard", status word +
    value per channel) assigned by default; 0x1A03/0x1A05 ("AI Compact", value only) can be
    assigned instead in PRE-OP (0x1C13).

    :param signals: the voltage on channel 1 and 2.
    :param device_name: 0x1008 and the SII name (default: the Beckhoff name).
    """

    PRODUCT_CODE = 0x0C1E_3052
    REVISION = 0x0014_0000
    #: 0x1000: modular device profile 5001.
    DEVICE_TYPE = 0x0000_1389
    CHANNELS = 2

    def __init__(self, *, signals: Sequence[AnalogSignal] = (AnalogSignal(), AnalogSignal()),
                 device_name: Optional[str] = None, alias: int = 0, serial_number: int = 0) -> None:
        if len(signals) != self.CHANNELS:
            raise ValueError(f"an EL3102 has {self.CHANNELS} channels, got {len(signals)} signals")
        self.signals = tuple(signals)
        self._description = DeviceDescription(
            identity=_identity(self.PRODUCT_CODE, self.REVISION, serial_number),
            order_code="EL3102",
            name=device_name or "EL3102 2Ch. Ana. Input +/-10V, Diff.",
            group="AnaIn",
            esc=EscParameters(**_ET1200, pdi_control=_SPI_WITH_DC),
            sync_managers=(
                SyncManagerSpec(0x1000, 128, 0x26, SyncManagerType.MAILBOX_OUT),
                SyncManagerSpec(0x1080, 128, 0x22, SyncManagerType.MAILBOX_IN),
                SyncManagerSpec(0x1100, 0, 0x24, SyncManagerType.PROCESS_DATA_OUT, SyncManagerEnable(0)),
                SyncManagerSpec(0x1180, 8, 0x20, SyncManagerType.PROCESS_DATA_IN),
            ),
            fmmus=(FmmuUsage.OUTPUTS, FmmuUsage.INPUTS, FmmuUsage.SYNC_MANAGER_STATUS),
            tx_pdos=(_standard_pdo(0x1A02, 0), _compact_pdo(0x1A03, 0), _standard_pdo(0x1A04, 1),
                     _compact_pdo(0x1A05, 1)),
            mailbox=MailboxSpec(MailboxProtocols.COE,
                                CoeDetails.ENABLE_SDO | CoeDetails.ENABLE_SDO_INFO | CoeDetails.ENABLE_PDO_ASSIGN),
            dc_op_modes=(DcOpModeSpec("FreeRun/SM-Synchron", 0x0000), DcOpModeSpec("DC-Synchron", 0x0300)),
            ebus_current_ma=130,
            alias=alias,
            flags=GeneralFlags.MBOX_DATA_LINK_LAYER,
        )

    @property
    def description(self) -> DeviceDescription:
        """The terminal's SII."""
        return self._description

    def create_application(self, slave: SimulatedSlave) -> AnalogInputs:
        """The analog front end, with the terminal's objects added to ``slave.od``."""
        return AnalogInputs(slave, self._description, self.signals)

