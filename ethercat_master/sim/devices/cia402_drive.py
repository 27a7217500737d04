"""A simulated CiA 402 servo drive: the device application of a CoE slave, pure and without I/O.

Written from CiA 402 / IEC 61800-7-201 (power drive system state machine, controlword and
statusword, modes of operation, objects 0x6040-0x6502), ETG.6010 (CiA 402 on EtherCAT),
ETG.1020 (0x1C32/0x1C33 synchronisation) and CiA 301 (0x1000, 0x1001, 0x1018, emergencies),
and checked against the Beckhoff SSC's CiA 402 sample (``cia402appl.c``/``.h``) and python
canopen's ``BaseNode402``. It follows the specification, never this project's master: it
exists to catch the master's mistakes, and an independent master (SOEM) must be able to drive
it.

How the slave layer runs it
    :class:`Cia402Drive` adds its objects (:func:`drive_objects`, or only the CiA 402
    :func:`profile_objects` when the slave layer builds the communication objects from the
    device's description) to an
    :class:`~ethercat_master.sim.object_dictionary.ObjectDictionary`. Like a slave's firmware,
    the slave layer copies received RxPDO data into the mapped entries (``od.set``), calls
    :meth:`Cia402Drive.cycle` and then copies the mapped TxPDO entries out. It calls ``cycle``
    on each SYNC0 event in DC mode (0x1C32:01 = 2, :attr:`CycleTrigger.SYNC0`), on each SM2
    event in SM-synchronous mode or free run driven by frames (:attr:`CycleTrigger.SM2_EVENT`)
    or from a local timer (:attr:`CycleTrigger.LOCAL_TIMER`). ``now_ns`` is the simulation
    time; the motion is integrated over the real time elapsed since the previous cycle, under
    the commands that were in force during that interval (the set-points received at the
    previous cycle), and the new commands act from now on. Emergencies go to the
    ``raise_emergency(error_code, error_register, data) -> bool`` callable given at
    construction (``CoeServer.raise_emergency``, which also sets 0x1001).

State machine (IEC 61800-7-201 "PDS states", transitions 0..16)
    :data:`TRANSITION_TABLE` maps (state, :class:`Command`) to (transition, next state); a
    command the table does not list for a state leaves the state unchanged. The command is
    decoded from bits 0..3 and 7 of the controlword (:func:`decode_command`): with bit 7 set no
    command but fault reset exists, and fault reset acts on the rising edge of bit 7 only. One
    commanded or automatic transition happens per cycle; a fault (13) is taken whenever it is
    detected. Automatic transitions: 0 at construction, 1 at the first cycle (initialisation
    done), 12 when a quick stop with option code 0..4 has stopped the axis, 14 when the fault
    reaction (0x605E) has stopped it. Transition 16 (quick stop active -> operation enabled)
    is taken only with quick stop option codes 5..8, as the table's note requires. Switch on
    + enable operation (0x0F) from ready to switch on takes 3 and, in the next cycle, 4.

Statusword (0x6041)
    Bits 0..6 follow the state patterns (masks 0x004F / 0x006F). Bit 4 (voltage enabled) tells
    that the simulated DC link is powered, which it is in every state after initialisation;
    bit 9 (remote) is set from then on, as the controlword is always processed. Bit 7 is the
    warning set with :meth:`Cia402Drive.set_warning`. In operation enabled bits 10, 12 and 13
    depend on the mode (below); in quick stop active bit 10 tells that the axis stands still.
    Bit 11 (internal limit active) is set while a set-point is clipped by the software position
    limits, the maximum velocity or the maximum torque. The following error bit stays set from
    the following error fault until the fault reset.

Modes of operation (0x6060 requested, 0x6061 in effect)
    A supported mode (:data:`SUPPORTED_MODES`) takes effect in the cycle that reads it; any
    other value keeps the mode in effect. Entering a mode (or operation enabled) starts it
    afresh. With no mode (0, the power-on value) operation enabled holds the axis still.

    * CSP (8): the position demand is 0x607A as received. **A drive entering operation enabled
      takes the target position as it is**: if the master did not first set 0x607A to the
      actual position, the axis accelerates at full torque towards the stale target, the
      following error grows, and after 0x6066 ms beyond 0x6065 the drive faults with 0x8611.
      That is what a real drive does, and what the master must avoid. Bit 12: the drive
      follows the target; bit 13: following error. Halt is not evaluated (ETG.6010 leaves it
      optional in the cyclic modes).
    * CSV (9) / CST (10): the target velocity (acceleration limited) / target torque (clipped to
      0x6072) act directly; bit 12: the drive follows the target.
    * PP (1): set-point handshake. A rising edge of controlword bit 4 (new set-point) is
      accepted when bit 12 (set-point acknowledge) is 0; bit 6 makes the target relative to
      the last accepted target (or, without one, to the position demand). With bit 5 (change
      set immediately) or with no positioning in progress the set-point starts at once;
      otherwise it waits in a one-deep buffer until the current target is reached. Bit 12 is
      set on acceptance and cleared once bit 4 is 0 and the buffer is empty; a rising edge
      while bit 12 is still set is ignored. The trajectory is trapezoidal (0x6081 limited by
      0x607F, 0x6083, 0x6084). Bit 10 (target reached): the last target is reached and the
      actual position stays within 0x6067 for 0x6068 ms (0x6067 = 0xFFFFFFFF: the demand
      reached it); with halt (bit 8) the axis stops with 0x6084, bit 10 then means standstill,
      and the positioning resumes when halt is released. Bit 9 (change on set-point) is not
      supported: the drive stops at each target.
    * PV (3): 0x60FF with 0x6083/0x6084; halt makes the target 0. Bit 10: the velocity stays
      within 0x606D of the target for 0x606E ms; bit 12: the speed stays within 0x606F of
      zero for 0x6070 ms.
    * HM (6): the rising edge of bit 4 starts the method in 0x6098; bit 4 back to 0 or halt
      interrupts it (the axis stops with 0x609A). Methods 35 and 37 take the current position
      as home: the position actual value becomes the home offset 0x607C. Methods 17 and 18
      search the negative / positive limit switch with the speed 0x6099:01, then move back off
      it with 0x6099:02; the switch's falling edge is the home position, which becomes the home
      offset, and the axis stops there with 0x609A. Method 0 (no homing method, the default)
      ends in homing error. Bits 13/12/10 follow the CiA 402 homing table (in progress 000,
      interrupted or not started 001, attained 010, completed 011, error 100 / 101 while the
      axis moves / stands still).

Motor model
    Positions are in encoder counts (0x608F: counts per revolution from the configuration),
    velocities in counts/s, torques in per mille of the rated torque. The axis follows its
    demand, without overshoot, with the acceleration the torque limit allows
    (:attr:`DriveConfig.max_acceleration` at :attr:`DriveConfig.max_torque`, scaled by
    0x6072) and at most :attr:`DriveConfig.max_velocity`; the torque actual value is the
    torque the acceleration took. Without power the axis coasts to rest with
    :attr:`DriveConfig.coast_deceleration`. Shutdown and disable operation switch the power
    stage off at once (the behaviour of option code 0 of 0x605B/0x605C, not modelled). The
    simulated limit switches (:class:`DriveConfig`) show in 0x60FD bit 0 (negative) and bit 1
    (positive); outside homing they only report.

Faults and emergencies
    Following error (PP, CSP): |position demand - actual| > 0x6065 for longer than 0x6066 ms
    (0x6065 = 0xFFFFFFFF switches the check off) -> fault 0x8611.
    :meth:`Cia402Drive.inject_fault` raises any error code at once; a persistent fault keeps
    the drive in fault until :meth:`Cia402Drive.clear_fault_cause`. A fault sets 0x603F,
    sends the emergency and enters fault reaction active, which stops the axis per 0x605E
    (0 coast, 1 slow down ramp 0x6084, 2 quick stop ramp 0x6085, 3 and 4 at the torque limit)
    before fault. The fault reset sets 0x603F to 0 and sends the "error reset" emergency
    0x0000 (CiA 301). The error register sent with an emergency (:func:`error_register_for`)
    has the generic bit and the bit of the code's class. Quick stop uses 0x605A the same way
    (0..4 then switch on disabled, 5..8 stay in quick stop active).

Synchronisation (ETG.1020)
    The drive records which event runs its cycles. In DC mode (0x1C32:01 = 2), once SYNC0
    cycles have started, SYNC0 events missing for more than :attr:`DriveConfig.sync_loss_cycles`
    periods (0x1C32:02, or the measured SYNC0 period when it is 0) mean lost synchronisation:
    :attr:`Cia402Drive.sync_lost` is set, 0x1C32:20 and 0x1C33:20 (sync error) become TRUE,
    and the drive faults with 0x8700 (sync controller). The check runs at every cycle and at
    :meth:`Cia402Drive.supervise`, which the slave layer calls between cycles and which then
    returns AL status code 0x002C (fatal sync error): the slave layer falls back to SAFE-OP
    with it, as the SSC's SYNC0 watchdog does, and keeps calling ``cycle`` (local timer or
    frames) so the fault reaction completes. The next SYNC0 cycle clears ``sync_lost`` and
    the sync error entries; :meth:`Cia402Drive.reset_sync` forgets the SYNC0 history when
    SYNC0 stops on purpose (DC deactivated, the slave back in PRE-OP or INIT).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Callable, Optional, Union

from ...protocol.al_status import ALStatusCode
from ...protocol.cia402 import Controlword, Statusword
from ...protocol.coe import EMERGENCY_DATA_SIZE, DataType, ErrorRegister, ObjectAccess
from ...protocol.sdo_abort import SdoAbortCode
from ...protocol.sii import SyncManagerType
from ..object_dictionary import (
    READ_ONLY,
    READ_WRITE,
    ObjectDictionary,
    OdObject,
    SyncMode,
    SyncModeSupport,
    array,
    device_name,
    device_type,
    error_register,
    hardware_version,
    identity,
    pdo_assignment,
    pdo_mapping,
    pdo_mapping_value,
    software_version,
    sync_manager_parameter,
    sync_manager_types,
    var,
)

__all__ = [
    "SERVO_DRIVE_DEVICE_TYPE",
    "Cia402Object",
    "Controlword",
    "Statusword",
    "DriveState",
    "Command",
    "TRANSITION_TABLE",
    "decode_command",
    "OperationMode",
    "SUPPORTED_MODES",
    "SupportedDriveModes",
    "HomingMethod",
    "SUPPORTED_HOMING_METHODS",
    "QuickStopOption",
    "FaultReactionOption",
    "DriveErrorCode",
    "error_register_for",
    "CycleTrigger",
    "EmergencySink",
    "DriveConfig",
    "communication_objects",
    "profile_objects",
    "drive_objects",
    "Cia402Drive",
]

#: 0x1000 of a CiA 402 servo drive: profile 402 (0x0192) in bits 0..15, type 0x02 (servo
#: drive) in bits 16..23 (CiA 402 device type; 0x01 frequency converter, 0x03 stepper).
SERVO_DRIVE_DEVICE_TYPE = 0x0002_0192

#: ``raise_emergency(error_code, error_register, data) -> queued`` (``CoeServer.raise_emergency``).
EmergencySink = Callable[[int, int, bytes], bool]


class Cia402Object(enum.IntEnum):
    """Indices of the CiA 402 objects the drive implements (IEC 61800-7-201 object list)."""

    ERROR_CODE = 0x603F
    CONTROLWORD = 0x6040
    STATUSWORD = 0x6041
    QUICK_STOP_OPTION_CODE = 0x605A
    FAULT_REACTION_OPTION_CODE = 0x605E
    MODES_OF_OPERATION = 0x6060
    MODES_OF_OPERATION_DISPLAY = 0x6061
    POSITION_DEMAND_VALUE = 0x6062
    POSITION_ACTUAL_VALUE = 0x6064
    FOLLOWING_ERROR_WINDOW = 0x6065
    FOLLOWING_ERROR_TIME_OUT = 0x6066
    POSITION_WINDOW = 0x6067
    POSITION_WINDOW_TIME = 0x6068
    VELOCITY_ACTUAL_VALUE = 0x606C
    VELOCITY_WINDOW = 0x606D
    VELOCITY_WINDOW_TIME = 0x606E
    VELOCITY_THRESHOLD = 0x606F
    VELOCITY_THRESHOLD_TIME = 0x6070
    TARGET_TORQUE = 0x6071
    MAX_TORQUE = 0x6072
    TORQUE_ACTUAL_VALUE = 0x6077
    TARGET_POSITION = 0x607A
    HOME_OFFSET = 0x607C
    SOFTWARE_POSITION_LIMIT = 0x607D
    MAX_PROFILE_VELOCITY = 0x607F
    PROFILE_VELOCITY = 0x6081
    PROFILE_ACCELERATION = 0x6083
    PROFILE_DECELERATION = 0x6084
    QUICK_STOP_DECELERATION = 0x6085
    POSITION_ENCODER_RESOLUTION = 0x608F
    HOMING_METHOD = 0x6098
    HOMING_SPEEDS = 0x6099
    HOMING_ACCELERATION = 0x609A
    FOLLOWING_ERROR_ACTUAL_VALUE = 0x60F4
    DIGITAL_INPUTS = 0x60FD
    TARGET_VELOCITY = 0x60FF
    SUPPORTED_DRIVE_MODES = 0x6502


# ---------------------------------------------------------------------- control and status
class DriveState(enum.Enum):
    """States of the power drive system (IEC 61800-7-201)."""

    NOT_READY_TO_SWITCH_ON = "Not ready to switch on"
    SWITCH_ON_DISABLED = "Switch on disabled"
    READY_TO_SWITCH_ON = "Ready to switch on"
    SWITCHED_ON = "Switched on"
    OPERATION_ENABLED = "Operation enabled"
    QUICK_STOP_ACTIVE = "Quick stop active"
    FAULT_REACTION_ACTIVE = "Fault reaction active"
    FAULT = "Fault"


#: Statusword bits 0..6 of each state (the values of the 0x004F / 0x006F patterns, bit 4
#: voltage enabled excluded).
_STATE_BITS: dict[DriveState, int] = {
    DriveState.NOT_READY_TO_SWITCH_ON: 0x00,
    DriveState.SWITCH_ON_DISABLED: 0x40,
    DriveState.READY_TO_SWITCH_ON: 0x21,
    DriveState.SWITCHED_ON: 0x23,
    DriveState.OPERATION_ENABLED: 0x27,
    DriveState.QUICK_STOP_ACTIVE: 0x07,
    DriveState.FAULT_REACTION_ACTIVE: 0x0F,
    DriveState.FAULT: 0x08,
}


class Command(enum.Enum):
    """Device control commands coded in the controlword (IEC 61800-7-201 command table)."""

    #: 0xxx x110: transitions 2, 6, 8.
    SHUTDOWN = "Shutdown"
    #: 0xxx 0111: switch on (3) and disable operation (5).
    SWITCH_ON = "Switch on / disable operation"
    #: 0xxx 1111: enable operation (4, 16) and switch on + enable operation (3 + 4).
    ENABLE_OPERATION = "Enable operation"
    #: 0xxx xx0x: transitions 7, 9, 10, 12.
    DISABLE_VOLTAGE = "Disable voltage"
    #: 0xxx x01x: transitions 7, 10, 11.
    QUICK_STOP = "Quick stop"
    #: Bit 7 rising edge: transition 15.
    FAULT_RESET = "Fault reset"


def decode_command(controlword: int, previous: int) -> Optional[Command]:
    """The command in ``controlword``, given the controlword of the previous cycle.

    With bit 7 set there is no command but fault reset, and that only on the rising edge:
    None then, and the state stays as it is.
    """
    if controlword & Controlword.FAULT_RESET:
        return None if previous & Controlword.FAULT_RESET else Command.FAULT_RESET
    if not controlword & Controlword.ENABLE_VOLTAGE:
        return Command.DISABLE_VOLTAGE
    if not controlword & Controlword.QUICK_STOP:
        return Command.QUICK_STOP
    if not controlword & Controlword.SWITCH_ON:
        return Command.SHUTDOWN
    if not controlword & Controlword.ENABLE_OPERATION:
        return Command.SWITCH_ON
    return Command.ENABLE_OPERATION


_S = DriveState
#: Commanded transitions: (state, command) -> (transition number, next state).
TRANSITION_TABLE: dict[tuple[DriveState, Command], tuple[int, DriveState]] = {
    (_S.SWITCH_ON_DISABLED, Command.SHUTDOWN): (2, _S.READY_TO_SWITCH_ON),
    (_S.READY_TO_SWITCH_ON, Command.SWITCH_ON): (3, _S.SWITCHED_ON),
    (_S.READY_TO_SWITCH_ON, Command.ENABLE_OPERATION): (3, _S.SWITCHED_ON),
    (_S.SWITCHED_ON, Command.ENABLE_OPERATION): (4, _S.OPERATION_ENABLED),
    (_S.OPERATION_ENABLED, Command.SWITCH_ON): (5, _S.SWITCHED_ON),
    (_S.SWITCHED_ON, Command.SHUTDOWN): (6, _S.READY_TO_SWITCH_ON),
    (_S.READY_TO_SWITCH_ON, Command.DISABLE_VOLTAGE): (7, _S.SWITCH_ON_DISABLED),
    (_S.READY_TO_SWITCH_ON, Command.QUICK_STOP): (7, _S.SWITCH_ON_DISABLED),
    (_S.OPERATION_ENABLED, Command.SHUTDOWN): (8, _S.READY_TO_SWITCH_ON),
    (_S.OPERATION_ENABLED, Command.DISABLE_VOLTAGE): (9, _S.SWITCH_ON_DISABLED),
    (_S.SWITCHED_ON, Command.DISABLE_VOLTAGE): (10, _S.SWITCH_ON_DISABLED),
    (_S.SWITCHED_ON, Command.QUICK_STOP): (10, _S.SWITCH_ON_DISABLED),
    (_S.OPERATION_ENABLED, Command.QUICK_STOP): (11, _S.QUICK_STOP_ACTIVE),
    (_S.QUICK_STOP_ACTIVE, Command.DISABLE_VOLTAGE): (12, _S.SWITCH_ON_DISABLED),
    (_S.FAULT, Command.FAULT_RESET): (15, _S.SWITCH_ON_DISABLED),
    (_S.QUICK_STOP_ACTIVE, Command.ENABLE_OPERATION): (16, _S.OPERATION_ENABLED),
}
_INIT_DONE = 1
_QUICK_STOP_DONE = 12
_FAULT_OCCURRED = 13
_FAULT_REACTION_DONE = 14
_RESUME_FROM_QUICK_STOP = 16


# ------------------------------------------------------------------------ modes and options
class OperationMode(enum.IntEnum):
    """Modes of operation (0x6060/0x6061)."""

    NO_MODE = 0
    PROFILE_POSITION = 1
    VELOCITY = 2
    PROFILE_VELOCITY = 3
    PROFILE_TORQUE = 4
    HOMING = 6
    INTERPOLATED_POSITION = 7
    CYCLIC_SYNC_POSITION = 8
    CYCLIC_SYNC_VELOCITY = 9
    CYCLIC_SYNC_TORQUE = 10


_M = OperationMode
#: The modes this drive implements.
SUPPORTED_MODES = frozenset(
    {
        _M.PROFILE_POSITION,
        _M.PROFILE_VELOCITY,
        _M.HOMING,
        _M.CYCLIC_SYNC_POSITION,
        _M.CYCLIC_SYNC_VELOCITY,
        _M.CYCLIC_SYNC_TORQUE,
    }
)
_FOLLOWING_ERROR_MODES = frozenset({_M.PROFILE_POSITION, _M.CYCLIC_SYNC_POSITION})


class SupportedDriveModes(enum.IntFlag):
    """0x6502 supported drive modes bits."""

    PP = 1 << 0
    VL = 1 << 1
    PV = 1 << 2
    TQ = 1 << 3
    HM = 1 << 5
    IP = 1 << 6
    CSP = 1 << 7
    CSV = 1 << 8
    CST = 1 << 9


_SUPPORTED_MODE_BITS = (
    SupportedDriveModes.PP
    | SupportedDriveModes.PV
    | SupportedDriveModes.HM
    | SupportedDriveModes.CSP
    | SupportedDriveModes.CSV
    | SupportedDriveModes.CST
)


class HomingMethod(enum.IntEnum):
    """Homing methods (0x6098) this drive implements, and 0 (no homing method)."""

    NONE = 0
    NEGATIVE_LIMIT_SWITCH = 17
    POSITIVE_LIMIT_SWITCH = 18
    #: The older number of "homing on the current position".
    CURRENT_POSITION_35 = 35
    CURRENT_POSITION = 37


SUPPORTED_HOMING_METHODS = frozenset(HomingMethod)


class QuickStopOption(enum.IntEnum):
    """0x605A quick stop option codes."""

    DISABLE_DRIVE = 0
    SLOW_DOWN_RAMP = 1
    QUICK_STOP_RAMP = 2
    CURRENT_LIMIT = 3
    VOLTAGE_LIMIT = 4
    SLOW_DOWN_RAMP_STAY = 5
    QUICK_STOP_RAMP_STAY = 6
    CURRENT_LIMIT_STAY = 7
    VOLTAGE_LIMIT_STAY = 8


#: Quick stop options 5..8 stay in quick stop active; the stop ramp is option - this.
_QUICK_STOP_STAY_OFFSET = 4


class FaultReactionOption(enum.IntEnum):
    """0x605E fault reaction option codes."""

    DISABLE_DRIVE = 0
    SLOW_DOWN_RAMP = 1
    QUICK_STOP_RAMP = 2
    CURRENT_LIMIT = 3
    VOLTAGE_LIMIT = 4


class DriveErrorCode(enum.IntEnum):
    """Error codes (0x603F, emergencies) the drive raises itself, and common injected ones."""

    NO_ERROR = 0x0000
    CONTINUOUS_OVER_CURRENT = 0x2310
    DC_LINK_UNDER_VOLTAGE = 0x3220
    EXCESS_TEMPERATURE_DEVICE = 0x4210
    FOLLOWING_ERROR = 0x8611
    SYNC_CONTROLLER = 0x8700


#: (first code, last code, error register bit) beside the generic bit (CiA 301 0x1001).
_ERROR_REGISTER_CLASSES: tuple[tuple[int, int, ErrorRegister], ...] = (
    (0x2000, 0x2FFF, ErrorRegister.CURRENT),
    (0x3000, 0x3FFF, ErrorRegister.VOLTAGE),
    (0x4000, 0x4FFF, ErrorRegister.TEMPERATURE),
    (0x8100, 0x81FF, ErrorRegister.COMMUNICATION),
    (0x8300, 0x86FF, ErrorRegister.DEVICE_PROFILE),
    (0x8700, 0x87FF, ErrorRegister.COMMUNICATION),
)


def error_register_for(error_code: int) -> ErrorRegister:
    """The error register (0x1001) sent with ``error_code``'s emergency.

    0 for the error reset code 0x0000; otherwise the generic bit (CiA 301: set for every
    error), plus current, voltage or temperature for those classes, communication for
    0x81xx and the sync controller 0x87xx, device profile for the CiA 402 controller codes
    0x8300-0x86FF (torque, velocity, position and positioning controller, e.g. 0x8611).
    """
    if error_code == DriveErrorCode.NO_ERROR:
        return ErrorRegister(0)
    register = ErrorRegister.GENERIC
    for first, last, bit in _ERROR_REGISTER_CLASSES:
        if first <= error_code <= last:
            register |= bit
    return register


class CycleTrigger(enum.Enum):
    """The event that runs one application cycle."""

    #: The drive's own timer (free run).
    LOCAL_TIMER = "local timer"
    #: The SM2 (outputs) event: a frame delivered new outputs (SM-synchronous, free run on frames).
    SM2_EVENT = "SM2 event"
    #: The DC SYNC0 event (DC mode).
    SYNC0 = "SYNC0"


# ---------------------------------------------------------------------------- configuration
_MAX_U16 = 0xFFFF
_MAX_U32 = 0xFFFF_FFFF
_MAX_I16 = 0x7FFF
_MIN_I32 = -(1 << 31)
_MAX_I32 = (1 << 31) - 1
_WINDOW_OFF = _MAX_U32
_NS_PER_S = 1_000_000_000
_NS_PER_MS = 1_000_000
#: Positions and velocities this close count as equal (float rounding of the integration).
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class DriveConfig:
    """Identity and physics of one simulated drive.

    Positions in counts (machine coordinates before any homing), velocities in counts/s,
    accelerations in counts/s^2, torques in per mille of the rated torque.
    """

    vendor_id: int = 0
    product_code: int = 0x0000_0402
    revision: int = 1
    serial_number: int = 0
    device_name: str = "Simulated CiA 402 servo drive"
    hardware_version: str = "1.0"
    software_version: str = "1.0"
    counts_per_revolution: int = 1 << 17
    #: Maximum speed of the motor (100 rev/s with the default resolution).
    max_velocity: int = 100 << 17
    #: Acceleration at :attr:`max_torque` (1000 rev/s^2 with the default resolution).
    max_acceleration: int = 1000 << 17
    #: Peak torque, per mille of the rated torque (0x6072 defaults to it and cannot exceed it).
    max_torque: int = 3000
    #: Deceleration by friction while the power stage is off.
    coast_deceleration: int = 10 << 17
    #: Position of the axis at power on.
    initial_position: int = 0
    #: The negative limit switch is active at and below this position.
    negative_limit_switch: int = -(10 << 17)
    #: The positive limit switch is active at and above this position.
    positive_limit_switch: int = 10 << 17
    #: SYNC0 periods without a SYNC0 cycle after which synchronisation counts as lost.
    sync_loss_cycles: int = 3
    #: 0x1C32/0x1C33:05 minimum cycle time in ns.
    minimum_cycle_time_ns: int = 1_000_000

    def __post_init__(self) -> None:
        for name in ("vendor_id", "product_code", "revision", "serial_number"):
            if not 0 <= getattr(self, name) <= _MAX_U32:
                raise ValueError(f"drive config: {name} must be an UNSIGNED32")
        for name in (
            "counts_per_revolution",
            "max_velocity",
            "max_acceleration",
            "coast_deceleration",
            "sync_loss_cycles",
            "minimum_cycle_time_ns",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"drive config: {name} must be positive")
        if not 0 < self.max_torque <= _MAX_I16:
            raise ValueError(f"drive config: max_torque must be in 1..{_MAX_I16} per mille")
        if not _MIN_I32 <= self.max_velocity <= _MAX_I32:
            raise ValueError("drive config: max_velocity must fit the INTEGER32 velocity objects")
        if self.negative_limit_switch >= self.positive_limit_switch:
            raise ValueError(
                "drive config: the negative limit switch must lie below the positive one"
            )


# --------------------------------------------------------------------------------- objects
_RW_RX = READ_WRITE | ObjectAccess.RXPDO_MAPPABLE
_RO_TX = READ_ONLY | ObjectAccess.TXPDO_MAPPABLE
_O = Cia402Object
_RX_MAPPING = 0x1600
_TX_MAPPING = 0x1A00
_OUTPUT_SYNC_MANAGER = 2
_INPUT_SYNC_MANAGER = 3
_OUTPUT_SYNC_PARAMETER = 0x1C32
_INPUT_SYNC_PARAMETER = 0x1C33
_SYNC_MODE_SUBINDEX = 1
_CYCLE_TIME_SUBINDEX = 2
_SYNC_ERROR_SUBINDEX = 0x20
_PDO_CAPACITY = 10
_LIMIT_MIN_SUBINDEX = 1
_LIMIT_MAX_SUBINDEX = 2
_SEARCH_SWITCH_SPEED_SUBINDEX = 1
_SEARCH_ZERO_SPEED_SUBINDEX = 2
_NEGATIVE_LIMIT_INPUT = 1 << 0
_POSITIVE_LIMIT_INPUT = 1 << 1

#: Default RxPDO 0x1600 and TxPDO 0x1A00: (object, bit length).
_RX_ENTRIES = (
    (_O.CONTROLWORD, 16),
    (_O.TARGET_POSITION, 32),
    (_O.TARGET_VELOCITY, 32),
    (_O.TARGET_TORQUE, 16),
    (_O.MODES_OF_OPERATION, 8),
)
_TX_ENTRIES = (
    (_O.STATUSWORD, 16),
    (_O.POSITION_ACTUAL_VALUE, 32),
    (_O.VELOCITY_ACTUAL_VALUE, 32),
    (_O.TORQUE_ACTUAL_VALUE, 16),
    (_O.MODES_OF_OPERATION_DISPLAY, 8),
    (_O.FOLLOWING_ERROR_ACTUAL_VALUE, 32),
)


def _homing_method_check(value: int) -> Optional[int]:
    """0x6098 accepts the implemented methods only."""
    return None if value in SUPPORTED_HOMING_METHODS else SdoAbortCode.VALUE_RANGE_EXCEEDED


def communication_objects(config: DriveConfig) -> list[OdObject]:
    """The CiA 301 / ETG.1000.6 objects of the drive, 0x1000 to 0x1C33 (:func:`drive_objects`)."""
    supported = SyncModeSupport.FREE_RUN | SyncModeSupport.SYNCHRON | SyncModeSupport.DC_SYNC0
    return [
        device_type(SERVO_DRIVE_DEVICE_TYPE),
        error_register(),
        device_name(config.device_name),
        hardware_version(config.hardware_version),
        software_version(config.software_version),
        identity(config.vendor_id, config.product_code, config.revision, config.serial_number),
        pdo_mapping(
            _RX_MAPPING,
            "RxPDO 1",
            [pdo_mapping_value(index, 0, bits) for index, bits in _RX_ENTRIES],
            capacity=_PDO_CAPACITY,
        ),
        pdo_mapping(
            _TX_MAPPING,
            "TxPDO 1",
            [pdo_mapping_value(index, 0, bits) for index, bits in _TX_ENTRIES],
            capacity=_PDO_CAPACITY,
        ),
        sync_manager_types(
            [
                SyncManagerType.MAILBOX_OUT,
                SyncManagerType.MAILBOX_IN,
                SyncManagerType.PROCESS_DATA_OUT,
                SyncManagerType.PROCESS_DATA_IN,
            ]
        ),
        pdo_assignment(_OUTPUT_SYNC_MANAGER, [_RX_MAPPING]),
        pdo_assignment(_INPUT_SYNC_MANAGER, [_TX_MAPPING]),
        sync_manager_parameter(
            _OUTPUT_SYNC_MANAGER,
            supported=supported,
            minimum_cycle_time_ns=config.minimum_cycle_time_ns,
        ),
        sync_manager_parameter(
            _INPUT_SYNC_MANAGER,
            supported=supported,
            minimum_cycle_time_ns=config.minimum_cycle_time_ns,
        ),
    ]


@dataclass(frozen=True, slots=True)
class _Var:
    """One VAR profile object: type, default, access and the range master writes must meet."""

    index: Cia402Object
    data_type: DataType
    default: int
    access: ObjectAccess
    minimum: Optional[int] = None
    maximum: Optional[int] = None

    def build(self) -> OdObject:
        return var(
            self.index,
            _name(self.index),
            self.data_type,
            int(self.default),
            access=self.access,
            minimum=None if self.minimum is None else int(self.minimum),
            maximum=None if self.maximum is None else int(self.maximum),
        )


def _name(index: Cia402Object) -> str:
    """The object's name: "Following error window" for FOLLOWING_ERROR_WINDOW."""
    return index.name.replace("_", " ").capitalize()


def profile_objects(config: DriveConfig) -> list[OdObject]:
    """The CiA 402 objects (:class:`Cia402Object`) with their types, access rights, defaults
    and value ranges."""
    i8, i16, i32 = DataType.INTEGER8, DataType.INTEGER16, DataType.INTEGER32
    u16, u32 = DataType.UNSIGNED16, DataType.UNSIGNED32
    cpr = config.counts_per_revolution
    acceleration = min(100 * cpr, config.max_acceleration)
    window = min(cpr // 100, _MAX_U16)
    homing_speed = min(cpr, config.max_velocity)
    quick_stop = (QuickStopOption.DISABLE_DRIVE, QuickStopOption.VOLTAGE_LIMIT_STAY)
    quick_stop_default = QuickStopOption.QUICK_STOP_RAMP
    reaction = (FaultReactionOption.DISABLE_DRIVE, FaultReactionOption.VOLTAGE_LIMIT)
    reaction_default = FaultReactionOption.QUICK_STOP_RAMP
    plain = [
        _Var(_O.ERROR_CODE, u16, 0, _RO_TX),
        _Var(_O.CONTROLWORD, u16, 0, _RW_RX),
        _Var(_O.STATUSWORD, u16, 0, _RO_TX),
        _Var(_O.QUICK_STOP_OPTION_CODE, i16, quick_stop_default, READ_WRITE, *quick_stop),
        _Var(_O.FAULT_REACTION_OPTION_CODE, i16, reaction_default, READ_WRITE, *reaction),
        _Var(_O.MODES_OF_OPERATION, i8, 0, _RW_RX),
        _Var(_O.MODES_OF_OPERATION_DISPLAY, i8, 0, _RO_TX),
        _Var(_O.POSITION_DEMAND_VALUE, i32, 0, _RO_TX),
        _Var(_O.POSITION_ACTUAL_VALUE, i32, 0, _RO_TX),
        _Var(_O.FOLLOWING_ERROR_WINDOW, u32, cpr // 10, _RW_RX),
        _Var(_O.FOLLOWING_ERROR_TIME_OUT, u16, 10, _RW_RX),
        _Var(_O.POSITION_WINDOW, u32, max(cpr // 1000, 1), _RW_RX),
        _Var(_O.POSITION_WINDOW_TIME, u16, 0, _RW_RX),
        _Var(_O.VELOCITY_ACTUAL_VALUE, i32, 0, _RO_TX),
        _Var(_O.VELOCITY_WINDOW, u16, window, _RW_RX),
        _Var(_O.VELOCITY_WINDOW_TIME, u16, 0, _RW_RX),
        _Var(_O.VELOCITY_THRESHOLD, u16, window, _RW_RX),
        _Var(_O.VELOCITY_THRESHOLD_TIME, u16, 0, _RW_RX),
        _Var(_O.TARGET_TORQUE, i16, 0, _RW_RX),
        _Var(_O.MAX_TORQUE, u16, config.max_torque, _RW_RX, 0, config.max_torque),
        _Var(_O.TORQUE_ACTUAL_VALUE, i16, 0, _RO_TX),
        _Var(_O.TARGET_POSITION, i32, 0, _RW_RX),
        _Var(_O.HOME_OFFSET, i32, 0, _RW_RX),
        _Var(_O.MAX_PROFILE_VELOCITY, u32, config.max_velocity, _RW_RX, 0, config.max_velocity),
        _Var(_O.PROFILE_VELOCITY, u32, min(10 * cpr, config.max_velocity), _RW_RX),
        _Var(_O.PROFILE_ACCELERATION, u32, acceleration, _RW_RX, 1),
        _Var(_O.PROFILE_DECELERATION, u32, acceleration, _RW_RX, 1),
        _Var(_O.QUICK_STOP_DECELERATION, u32, config.max_acceleration, _RW_RX, 1),
        _Var(_O.HOMING_ACCELERATION, u32, acceleration, _RW_RX, 1),
        _Var(_O.FOLLOWING_ERROR_ACTUAL_VALUE, i32, 0, _RO_TX),
        _Var(_O.DIGITAL_INPUTS, u32, 0, _RO_TX),
        _Var(_O.TARGET_VELOCITY, i32, 0, _RW_RX),
        _Var(_O.SUPPORTED_DRIVE_MODES, u32, _SUPPORTED_MODE_BITS, READ_ONLY),
    ]
    homing_method = var(
        _O.HOMING_METHOD,
        _name(_O.HOMING_METHOD),
        i8,
        int(HomingMethod.NONE),
        access=_RW_RX,
        validator=_homing_method_check,
    )
    limits = [_MIN_I32, _MAX_I32]
    speeds = [homing_speed, max(homing_speed // 10, 1)]
    return [spec.build() for spec in plain] + [
        homing_method,
        array(_O.SOFTWARE_POSITION_LIMIT, "Software position limit", i32, limits, access=_RW_RX),
        array(_O.POSITION_ENCODER_RESOLUTION, _name(_O.POSITION_ENCODER_RESOLUTION), u32, [cpr, 1]),
        array(_O.HOMING_SPEEDS, _name(_O.HOMING_SPEEDS), u32, speeds, access=_RW_RX),
    ]


def drive_objects(config: DriveConfig) -> list[OdObject]:
    """Every object of the drive: the CiA 301 communication objects and the CiA 402 profile.

    0x1000 device type (:data:`SERVO_DRIVE_DEVICE_TYPE`), 0x1001, 0x1008-0x100A, 0x1018
    identity (from ``config``), RxPDO 0x1600 {0x6040, 0x607A, 0x60FF, 0x6071, 0x6060} and
    TxPDO 0x1A00 {0x6041, 0x6064, 0x606C, 0x6077, 0x6061, 0x60F4} (both remappable in PRE-OP,
    10 entries), 0x1C00, assignments 0x1C12 = {0x1600} and 0x1C13 = {0x1A00}, 0x1C32/0x1C33
    supporting free run, SM-synchronous and DC SYNC0 (free run by default), and the profile
    objects listed in :class:`Cia402Object`.
    """
    return communication_objects(config) + profile_objects(config)


# ----------------------------------------------------------------------------- motor model
def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _ramp(
    velocity: float, wanted: float, acceleration: float, deceleration: float, dt: float
) -> float:
    """``velocity`` moved towards ``wanted``, by ``acceleration`` when speeding up, else by
    ``deceleration``, for ``dt`` seconds."""
    speeding_up = abs(wanted) > abs(velocity) and wanted * velocity >= 0
    step = (acceleration if speeding_up else deceleration) * dt
    return velocity + _clamp(wanted - velocity, -step, step)


def _braking_velocity(distance: float, deceleration: float, dt: float) -> float:
    """The highest speed from which steps of ``dt`` can still stop exactly after ``distance``.

    Speed may drop by d = ``deceleration`` * ``dt`` per step. From speed v the shortest stop
    takes m = ceil(v / d) steps (v, v - d, ... the last one at most d) and covers
    dt * (m v - d m (m - 1) / 2); this inverts that. Below one step it is distance / dt: the
    last step lands on the target.
    """
    step = deceleration * dt
    if step <= 0.0:
        return 0.0
    steps = distance / dt / step
    whole = math.floor((math.sqrt(8.0 * steps + 1.0) - 1.0) / 2.0)
    return step * (steps + whole * (whole + 1) / 2.0) / (whole + 1)


def _approach(
    position: float,
    velocity: float,
    target: float,
    target_velocity: float,
    limits: tuple[float, float, float],
    dt: float,
) -> tuple[float, float]:
    """One step of a time-optimal approach of a (moving) target; returns position, velocity.

    ``limits`` are (maximum velocity, acceleration, deceleration). The velocity relative to
    the target is bounded by :func:`_braking_velocity`, so the approach never overshoots.
    """
    max_velocity, acceleration, deceleration = limits
    distance = target - position
    brake = _braking_velocity(abs(distance), deceleration, dt)
    wanted = target_velocity + _clamp(distance / dt - target_velocity, -brake, brake)
    wanted = _clamp(wanted, -max_velocity, max_velocity)
    velocity = _ramp(velocity, wanted, acceleration, deceleration, dt)
    position += velocity * dt
    if abs(target - position) < _EPSILON and abs(velocity - target_velocity) < _EPSILON:
        return target, target_velocity
    return position, velocity


@dataclass(slots=True)
class _Motor:
    """The axis: position and velocity in machine coordinates, the torque it takes."""

    position: float
    max_velocity: float
    max_acceleration: float
    max_torque: int
    velocity: float = 0.0
    torque: float = 0.0
    #: 0x6072, the torque limit in force.
    torque_limit: int = 0

    @property
    def acceleration_limit(self) -> float:
        """The acceleration the torque limit allows."""
        return self.max_acceleration * min(self.torque_limit, self.max_torque) / self.max_torque

    @property
    def stopped(self) -> bool:
        """True when the axis stands still."""
        return self.velocity == 0.0

    def _moved(self, velocity: float, dt: float, powered: bool) -> None:
        acceleration = (velocity - self.velocity) / dt
        self.torque = acceleration / self.max_acceleration * self.max_torque if powered else 0.0
        self.velocity = velocity

    def coast(self, deceleration: float, dt: float) -> None:
        """No torque: friction slows the axis down."""
        velocity = _ramp(self.velocity, 0.0, deceleration, deceleration, dt)
        self._moved(velocity, dt, powered=False)
        self.position += velocity * dt

    def ramp(self, velocity: float, acceleration: float, deceleration: float, dt: float) -> None:
        """Velocity control towards ``velocity`` with the given ramps (within the limits)."""
        limit = self.acceleration_limit
        wanted = _clamp(velocity, -self.max_velocity, self.max_velocity)
        new = _ramp(self.velocity, wanted, min(acceleration, limit), min(deceleration, limit), dt)
        self._moved(new, dt, powered=True)
        self.position += new * dt

    def track(self, position: float, velocity: float, dt: float) -> None:
        """Position control towards ``position`` moving at ``velocity``, within the limits."""
        limit = self.acceleration_limit
        new_position, new_velocity = _approach(
            self.position, self.velocity, position, velocity, (self.max_velocity, limit, limit), dt
        )
        self._moved(new_velocity, dt, powered=True)
        self.position = new_position

    def apply_torque(self, torque: float, dt: float) -> None:
        """Torque control: the torque accelerates the axis up to the maximum velocity."""
        velocity = self.velocity + torque / self.max_torque * self.max_acceleration * dt
        if abs(velocity) > self.max_velocity:
            velocity = math.copysign(self.max_velocity, velocity)
            self._moved(velocity, dt, powered=True)
        else:
            self.velocity = velocity
            self.torque = torque
        self.position += velocity * dt


@dataclass(frozen=True, slots=True)
class _Coast:
    """Power stage off: the axis coasts, slowed by friction."""

    deceleration: float

    def apply(self, motor: _Motor, dt: float) -> None:
        motor.coast(self.deceleration, dt)


@dataclass(frozen=True, slots=True)
class _Velocity:
    """Velocity control with ramps (CSV, PV, homing moves, stop ramps)."""

    velocity: float
    acceleration: float
    deceleration: float

    def apply(self, motor: _Motor, dt: float) -> None:
        motor.ramp(self.velocity, self.acceleration, self.deceleration, dt)


@dataclass(frozen=True, slots=True)
class _Position:
    """Position control towards a (moving) demand in machine coordinates (CSP, holding)."""

    position: float
    velocity: float

    def apply(self, motor: _Motor, dt: float) -> None:
        motor.track(self.position, self.velocity, dt)


@dataclass(frozen=True, slots=True)
class _Torque:
    """Torque control (CST)."""

    torque: float

    def apply(self, motor: _Motor, dt: float) -> None:
        motor.apply_torque(self.torque, dt)


@dataclass(slots=True)
class _Trajectory:
    """The PP trajectory generator (machine coordinates): a trapezoidal profile to a target."""

    position: float
    velocity: float = 0.0
    target: Optional[float] = None
    limits: tuple[float, float, float] = (0.0, 0.0, 0.0)
    halt: bool = False

    @property
    def done(self) -> bool:
        """The demand rests at the target (or there is none)."""
        return self.target is None or (self.position == self.target and self.velocity == 0.0)

    def apply(self, motor: _Motor, dt: float) -> None:
        _, _, deceleration = self.limits
        if self.halt or self.target is None:
            self.velocity = _ramp(self.velocity, 0.0, deceleration, deceleration, dt)
            self.position += self.velocity * dt
        else:
            self.position, self.velocity = _approach(
                self.position, self.velocity, self.target, 0.0, self.limits, dt
            )
        motor.track(self.position, self.velocity, dt)


#: What the drive does to the axis during the next interval: ``apply(motor, dt)``.
_ControlType = Union[_Coast, _Velocity, _Position, _Torque, _Trajectory]


# ------------------------------------------------------------------------------- helpers
@dataclass(slots=True)
class _Since:
    """When a condition became true (simulation time), to time windows and time-outs."""

    start: Optional[int] = None

    def held(self, condition: bool, now_ns: int) -> int:
        """How long ``condition`` has held until ``now_ns``, or -1 if it does not hold."""
        if not condition:
            self.start = None
            return -1
        if self.start is None:
            self.start = now_ns
        return now_ns - self.start


class _HomingStatus(enum.Enum):
    """Homing status: statusword bits 13 (error), 12 (attained), 10 (target reached)."""

    IN_PROGRESS = (False, False, False)
    INTERRUPTED = (False, False, True)
    ATTAINED = (False, True, False)
    COMPLETED = (False, True, True)
    ERROR = (True, False, False)


class _HomingPhase(enum.Enum):
    IDLE = "idle"
    SEARCH_SWITCH = "search switch"
    SEARCH_EDGE = "search edge"
    STOPPING = "stopping"


def _wrap_i32(value: float) -> int:
    """A position as INTEGER32: encoders wrap around."""
    return ((round(value) - _MIN_I32) % (1 << 32)) + _MIN_I32


def _saturate(value: float, low: int, high: int) -> int:
    return int(_clamp(round(value), low, high))


# -------------------------------------------------------------------------------- the drive
class Cia402Drive:
    """A CiA 402 servo drive running on an object dictionary (see the module documentation).

    The constructor adds :func:`profile_objects` to ``od`` and, with ``communication``, the
    :func:`communication_objects` too (without it, when the slave layer built them from the
    device's description, ``od`` must hold 0x1C32). :class:`ValueError` if an object is there
    already or 0x1C32 is missing. The drive starts in "not ready to switch on" (transition 0).
    """

    def __init__(
        self,
        od: ObjectDictionary,
        raise_emergency: EmergencySink,
        *,
        config: Optional[DriveConfig] = None,
        communication: bool = True,
    ):
        self._config = config if config is not None else DriveConfig()
        objects = drive_objects(self._config) if communication else profile_objects(self._config)
        for obj in objects:
            od.add(obj)
        if _OUTPUT_SYNC_PARAMETER not in od:
            raise ValueError(
                f"the drive needs the sync manager parameter object 0x{_OUTPUT_SYNC_PARAMETER:04X}"
            )
        self._od = od
        self._raise_emergency = raise_emergency
        self._state = DriveState.NOT_READY_TO_SWITCH_ON
        self._last_transition: Optional[int] = 0
        self._transitioned = False
        self._mode: int = _M.NO_MODE
        self._motor = _Motor(
            position=float(self._config.initial_position),
            max_velocity=float(self._config.max_velocity),
            max_acceleration=float(self._config.max_acceleration),
            max_torque=self._config.max_torque,
            torque_limit=self._config.max_torque,
        )
        self._control: _ControlType = _Coast(self._config.coast_deceleration)
        #: Application position = machine position + offset (set by homing).
        self._offset = 0.0
        self._previous_controlword = 0
        self._last_cycle_ns: Optional[int] = None
        self._warning = False
        self._limited = False
        self._persistent_faults: set[int] = set()
        self._following_error = False
        self._following_since = _Since()
        self._demand: Optional[float] = None
        # PP
        self._trajectory = _Trajectory(self._motor.position)
        self._last_set_point: Optional[float] = None
        self._pending: Optional[float] = None
        self._acknowledge = False
        self._window_since = _Since()
        # PV
        self._velocity_since = _Since()
        self._zero_speed_since = _Since()
        # HM
        self._homing_status = _HomingStatus.INTERRUPTED
        self._homing_phase = _HomingPhase.IDLE
        self._homing_method: int = HomingMethod.NONE
        #: Statusword bits 10, 12 and 13 as the mode (or quick stop) sets them.
        self._mode_bits = Statusword(0)
        # synchronisation
        self._trigger: Optional[CycleTrigger] = None
        self._last_sync0_ns: Optional[int] = None
        self._sync0_period_ns = 0
        self._sync_lost = False
        self._publish()

    # ------------------------------------------------------------------------ properties
    @property
    def config(self) -> DriveConfig:
        """The configuration the drive was built with."""
        return self._config

    @property
    def state(self) -> DriveState:
        """The current state of the power drive system."""
        return self._state

    @property
    def last_transition(self) -> Optional[int]:
        """The number of the last transition taken (0 after construction)."""
        return self._last_transition

    @property
    def mode(self) -> int:
        """The mode of operation in effect (0x6061)."""
        return self._mode

    @property
    def trigger(self) -> Optional[CycleTrigger]:
        """The event that ran the last cycle (None before the first)."""
        return self._trigger

    @property
    def dc_synchronised(self) -> bool:
        """True in DC mode while SYNC0 events run the cycles and synchronisation holds."""
        return (
            self._sync_mode() == SyncMode.DC_SYNC0
            and self._trigger is CycleTrigger.SYNC0
            and not self._sync_lost
        )

    @property
    def sync_lost(self) -> bool:
        """True from a detected loss of SYNC0 until the next SYNC0 cycle."""
        return self._sync_lost

    # -------------------------------------------------------------------- fault injection
    def inject_fault(self, error_code: int, *, persistent: bool = False) -> None:
        """A fault with ``error_code`` (e.g. 0x2310 over-current), taken at once.

        The drive sets 0x603F, sends the emergency and enters fault reaction active. A
        ``persistent`` fault keeps the cause present: fault reset is refused until
        :meth:`clear_fault_cause`. Raises :class:`ValueError` for 0 (no error) or a code
        beyond 16 bits.
        """
        if not 0 < error_code <= _MAX_U16:
            raise ValueError(f"error code 0x{error_code:X} is no fault (1..0xFFFF)")
        if persistent:
            self._persistent_faults.add(error_code)
        self._fault(error_code)
        self._publish()

    def clear_fault_cause(self, error_code: int) -> None:
        """The cause of a persistent fault is gone; :class:`KeyError` if it was not present."""
        try:
            self._persistent_faults.remove(error_code)
        except KeyError:
            raise KeyError(f"no persistent fault 0x{error_code:04X} is present") from None

    def set_warning(self, active: bool) -> None:
        """Set or clear the warning condition (statusword bit 7)."""
        self._warning = active
        self._publish()

    # --------------------------------------------------------------------- synchronisation
    def supervise(self, now_ns: int) -> int:
        """Check SYNC0 at ``now_ns`` between cycles (the slave layer calls it after frames).

        Returns the AL status code for the slave layer: 0x002C (fatal sync error) while
        synchronisation is lost, else 0.
        """
        if self._check_sync(now_ns):
            self._publish()
        return ALStatusCode.FATAL_SYNC_ERROR if self._sync_lost else ALStatusCode.NO_ERROR

    def reset_sync(self) -> None:
        """Forget the SYNC0 history: SYNC0 stopped on purpose (DC deactivated, AL state left)."""
        self._last_sync0_ns = None
        self._sync0_period_ns = 0
        self._set_sync_lost(False)

    def _sync_mode(self) -> int:
        return self._od.get(_OUTPUT_SYNC_PARAMETER, _SYNC_MODE_SUBINDEX)

    def _check_sync(self, now_ns: int) -> bool:
        """Detect lost synchronisation; True if it was lost just now."""
        last = self._last_sync0_ns
        if self._sync_lost or last is None or self._sync_mode() != SyncMode.DC_SYNC0:
            return False
        period = self._od.get(_OUTPUT_SYNC_PARAMETER, _CYCLE_TIME_SUBINDEX) or self._sync0_period_ns
        if not period or now_ns - last <= self._config.sync_loss_cycles * period:
            return False
        self._set_sync_lost(True)
        self._fault(DriveErrorCode.SYNC_CONTROLLER)
        return True

    def _set_sync_lost(self, lost: bool) -> None:
        self._sync_lost = lost
        for index in (_OUTPUT_SYNC_PARAMETER, _INPUT_SYNC_PARAMETER):
            if index in self._od:
                self._od.set(index, _SYNC_ERROR_SUBINDEX, lost)

    def _note_trigger(self, now_ns: int, trigger: CycleTrigger) -> None:
        self._trigger = trigger
        if trigger is not CycleTrigger.SYNC0:
            return
        was_lost = self._sync_lost
        lost_now = self._check_sync(now_ns)
        if was_lost:
            self._set_sync_lost(False)
        elif not lost_now and self._last_sync0_ns is not None:
            self._sync0_period_ns = now_ns - self._last_sync0_ns
        self._last_sync0_ns = now_ns

    # ------------------------------------------------------------------------------ cycle
    def cycle(self, now_ns: int, trigger: CycleTrigger) -> None:
        """Run one application cycle at simulation time ``now_ns`` (ns), run by ``trigger``.

        Moves the axis over the time since the previous cycle, then reads the commands
        (0x6040, 0x6060 and the targets), takes at most one transition, updates the mode's
        set-points and publishes the feedback objects. :class:`ValueError` if time runs
        backwards.
        """
        if self._last_cycle_ns is not None and now_ns < self._last_cycle_ns:
            raise ValueError(
                f"cycle at {now_ns} ns precedes the previous one at {self._last_cycle_ns} ns"
            )
        dt_ns = 0 if self._last_cycle_ns is None else now_ns - self._last_cycle_ns
        self._last_cycle_ns = now_ns
        if dt_ns:
            self._control.apply(self._motor, dt_ns / _NS_PER_S)
        self._motor.torque_limit = self._od.get(_O.MAX_TORQUE, 0)
        self._transitioned = False
        self._note_trigger(now_ns, trigger)
        controlword = self._od.get(_O.CONTROLWORD, 0)
        self._select_mode()
        self._command(controlword)
        self._limited = False
        self._run_state(controlword, now_ns, dt_ns)
        if not self._transitioned:
            self._automatic()
        self._previous_controlword = controlword
        self._publish()

    # ---------------------------------------------------------------------- state machine
    def _enter(self, state: DriveState, transition: int) -> None:
        enabled = _S.OPERATION_ENABLED
        entering_operation = state is enabled and self._state is not enabled
        leaving_operation = self._state is enabled and state is not enabled
        self._state = state
        self._last_transition = transition
        self._transitioned = True
        if leaving_operation:
            self._leave_operation()
        if entering_operation:
            self._start_mode()

    def _command(self, controlword: int) -> None:
        command = decode_command(controlword, self._previous_controlword)
        entry = TRANSITION_TABLE.get((self._state, command)) if command is not None else None
        if entry is None:
            return
        transition, target = entry
        if transition == _RESUME_FROM_QUICK_STOP and not self._quick_stop_stays():
            return
        if command is Command.FAULT_RESET:
            if self._persistent_faults:
                return
            self._reset_fault()
        self._enter(target, transition)

    def _automatic(self) -> None:
        if self._state is _S.NOT_READY_TO_SWITCH_ON:
            self._enter(_S.SWITCH_ON_DISABLED, _INIT_DONE)
        elif self._state is _S.QUICK_STOP_ACTIVE and not self._quick_stop_stays():
            if self._motor.stopped or self._quick_stop_option() == QuickStopOption.DISABLE_DRIVE:
                self._enter(_S.SWITCH_ON_DISABLED, _QUICK_STOP_DONE)
        elif self._state is _S.FAULT_REACTION_ACTIVE:
            option = self._od.get(_O.FAULT_REACTION_OPTION_CODE, 0)
            if self._motor.stopped or option == FaultReactionOption.DISABLE_DRIVE:
                self._enter(_S.FAULT, _FAULT_REACTION_DONE)

    def _fault(self, error_code: int) -> None:
        """Fault ``error_code``: 0x603F, the emergency and, unless already there, transition 13."""
        self._od.set(_O.ERROR_CODE, 0, int(error_code))
        register = int(error_register_for(error_code))
        self._raise_emergency(int(error_code), register, bytes(EMERGENCY_DATA_SIZE))
        if self._state not in (_S.FAULT_REACTION_ACTIVE, _S.FAULT):
            self._enter(_S.FAULT_REACTION_ACTIVE, _FAULT_OCCURRED)
            self._control = self._stop_control(self._fault_reaction_ramp())

    def _reset_fault(self) -> None:
        self._following_error = False
        self._od.set(_O.ERROR_CODE, 0, int(DriveErrorCode.NO_ERROR))
        self._raise_emergency(int(DriveErrorCode.NO_ERROR), 0, bytes(EMERGENCY_DATA_SIZE))

    def _quick_stop_option(self) -> int:
        return self._od.get(_O.QUICK_STOP_OPTION_CODE, 0)

    def _quick_stop_stays(self) -> bool:
        return self._quick_stop_option() >= QuickStopOption.SLOW_DOWN_RAMP_STAY

    def _ramp_deceleration(self, option: int) -> Optional[float]:
        """Deceleration of stop ramp ``option`` (fault reaction numbering); None: coast."""
        if option == FaultReactionOption.SLOW_DOWN_RAMP:
            return float(self._od.get(_O.PROFILE_DECELERATION, 0))
        if option == FaultReactionOption.QUICK_STOP_RAMP:
            return float(self._od.get(_O.QUICK_STOP_DECELERATION, 0))
        if option in (FaultReactionOption.CURRENT_LIMIT, FaultReactionOption.VOLTAGE_LIMIT):
            return self._motor.acceleration_limit
        return None

    def _quick_stop_ramp(self) -> Optional[float]:
        option = self._quick_stop_option()
        if option >= QuickStopOption.SLOW_DOWN_RAMP_STAY:
            option -= _QUICK_STOP_STAY_OFFSET
        return self._ramp_deceleration(option)

    def _fault_reaction_ramp(self) -> Optional[float]:
        return self._ramp_deceleration(self._od.get(_O.FAULT_REACTION_OPTION_CODE, 0))

    def _stop_control(self, deceleration: Optional[float]) -> _ControlType:
        if deceleration is None:
            return _Coast(self._config.coast_deceleration)
        return _Velocity(0.0, deceleration, deceleration)

    # ------------------------------------------------------------------------ per state
    def _run_state(self, controlword: int, now_ns: int, dt_ns: int) -> None:
        if self._state is _S.OPERATION_ENABLED:
            self._operate(controlword, now_ns, dt_ns)
        elif self._state is _S.QUICK_STOP_ACTIVE:
            self._control = self._stop_control(self._quick_stop_ramp())
            self._mode_bits = Statusword.TARGET_REACHED if self._motor.stopped else Statusword(0)
        elif self._state is not _S.FAULT_REACTION_ACTIVE:
            self._control = _Coast(self._config.coast_deceleration)

    def _leave_operation(self) -> None:
        """Operation ends: set-points are dropped, homing is interrupted."""
        self._pending = None
        self._acknowledge = False
        self._last_set_point = None
        self._demand = None
        self._following_since.start = None
        if self._homing_phase is not _HomingPhase.IDLE:
            self._homing_phase = _HomingPhase.IDLE
            self._homing_status = _HomingStatus.INTERRUPTED

    def _select_mode(self) -> None:
        requested = self._od.get(_O.MODES_OF_OPERATION, 0)
        if requested == self._mode or requested not in SUPPORTED_MODES:
            return
        if self._state is _S.OPERATION_ENABLED:
            self._leave_operation()
        self._mode = requested
        if self._state is _S.OPERATION_ENABLED:
            self._start_mode()

    def _start_mode(self) -> None:
        """The mode starts afresh (entering operation enabled, or a new mode in it)."""
        position = self._motor.position
        self._trajectory = _Trajectory(position)
        self._demand = None
        self._window_since.start = None
        self._velocity_since.start = None
        self._zero_speed_since.start = None
        if self._mode == _M.CYCLIC_SYNC_POSITION:
            self._demand = self._clip_position(self._od.get(_O.TARGET_POSITION, 0))

    # ------------------------------------------------------------------------ modes
    def _operate(self, controlword: int, now_ns: int, dt_ns: int) -> None:
        rising = controlword & ~self._previous_controlword
        halt = bool(controlword & Controlword.HALT)
        self._mode_bits = Statusword(0)
        if self._mode == _M.CYCLIC_SYNC_POSITION:
            self._cyclic_position(dt_ns)
        elif self._mode == _M.CYCLIC_SYNC_VELOCITY:
            self._cyclic_velocity()
        elif self._mode == _M.CYCLIC_SYNC_TORQUE:
            self._cyclic_torque()
        elif self._mode == _M.PROFILE_POSITION:
            self._profile_position(controlword, rising, halt, now_ns)
        elif self._mode == _M.PROFILE_VELOCITY:
            self._profile_velocity(halt, now_ns)
        elif self._mode == _M.HOMING:
            self._homing(controlword, rising, halt)
        else:
            self._control = _Position(self._motor.position, 0.0)
        self._monitor_following_error(now_ns)

    def _clip_position(self, position: float) -> float:
        """A position set-point within the software limits 0x607D (when min < max)."""
        low = self._od.get(_O.SOFTWARE_POSITION_LIMIT, _LIMIT_MIN_SUBINDEX)
        high = self._od.get(_O.SOFTWARE_POSITION_LIMIT, _LIMIT_MAX_SUBINDEX)
        if low < high and not low <= position <= high:
            self._limited = True
            return _clamp(position, low, high)
        return position

    def _cyclic_position(self, dt_ns: int) -> None:
        target = self._clip_position(self._od.get(_O.TARGET_POSITION, 0))
        previous = target if self._demand is None else self._demand
        velocity = (target - previous) * _NS_PER_S / dt_ns if dt_ns else 0.0
        self._demand = target
        self._control = _Position(target - self._offset, velocity)
        self._mode_bits = Statusword.DRIVE_FOLLOWS_COMMAND

    def _cyclic_velocity(self) -> None:
        velocity = self._od.get(_O.TARGET_VELOCITY, 0)
        limit = self._motor.max_velocity
        self._limited = abs(velocity) > limit
        acceleration = self._motor.acceleration_limit
        self._control = _Velocity(_clamp(velocity, -limit, limit), acceleration, acceleration)
        self._mode_bits = Statusword.DRIVE_FOLLOWS_COMMAND

    def _cyclic_torque(self) -> None:
        torque = self._od.get(_O.TARGET_TORQUE, 0)
        limit = min(self._motor.torque_limit, self._config.max_torque)
        at_speed_limit = abs(self._motor.velocity) >= self._motor.max_velocity
        self._limited = abs(torque) > limit or at_speed_limit
        self._control = _Torque(_clamp(torque, -limit, limit))
        self._mode_bits = Statusword.DRIVE_FOLLOWS_COMMAND

    def _profile_limits(self) -> tuple[float, float, float]:
        velocity = min(
            self._od.get(_O.PROFILE_VELOCITY, 0),
            self._od.get(_O.MAX_PROFILE_VELOCITY, 0),
            self._motor.max_velocity,
        )
        return (
            float(velocity),
            float(self._od.get(_O.PROFILE_ACCELERATION, 0)),
            float(self._od.get(_O.PROFILE_DECELERATION, 0)),
        )

    def _profile_position(self, controlword: int, rising: int, halt: bool, now_ns: int) -> None:
        trajectory = self._trajectory
        if trajectory.done and self._pending is not None:
            trajectory.target, self._pending = self._pending, None
        if rising & Controlword.NEW_SET_POINT and not self._acknowledge:
            self._accept_set_point(controlword)
        if not controlword & Controlword.NEW_SET_POINT and self._pending is None:
            self._acknowledge = False
        trajectory.limits = self._profile_limits()
        trajectory.halt = halt
        self._control = trajectory
        self._demand = trajectory.position + self._offset
        if self._acknowledge:
            self._mode_bits |= Statusword.SET_POINT_ACKNOWLEDGE
        if halt:
            reached = self._motor.stopped and trajectory.velocity == 0.0
        else:
            window = self._od.get(_O.POSITION_WINDOW, 0)
            inside = trajectory.done and self._pending is None
            if inside and trajectory.target is not None and window != _WINDOW_OFF:
                inside = abs(trajectory.target - self._motor.position) <= window
            held = self._window_since.held(inside, now_ns)
            reached = held >= self._od.get(_O.POSITION_WINDOW_TIME, 0) * _NS_PER_MS
        if reached:
            self._mode_bits |= Statusword.TARGET_REACHED

    def _accept_set_point(self, controlword: int) -> None:
        value = self._od.get(_O.TARGET_POSITION, 0)
        if controlword & Controlword.RELATIVE:
            base = self._last_set_point if self._last_set_point is not None else self._demand
            value += base if base is not None else self._motor.position + self._offset
        target = self._clip_position(value)
        self._last_set_point = target
        self._acknowledge = True
        self._window_since.start = None
        trajectory = self._trajectory
        if controlword & Controlword.CHANGE_SET_IMMEDIATELY or trajectory.done:
            trajectory.target = target - self._offset
            self._pending = None
        else:
            self._pending = target - self._offset

    def _profile_velocity(self, halt: bool, now_ns: int) -> None:
        _, acceleration, deceleration = self._profile_limits()
        target = 0.0 if halt else float(self._od.get(_O.TARGET_VELOCITY, 0))
        self._limited = abs(target) > self._motor.max_velocity
        self._control = _Velocity(target, acceleration, deceleration)
        window = self._od.get(_O.VELOCITY_WINDOW, 0)
        reached = self._velocity_since.held(abs(target - self._motor.velocity) <= window, now_ns)
        if reached >= self._od.get(_O.VELOCITY_WINDOW_TIME, 0) * _NS_PER_MS:
            self._mode_bits |= Statusword.TARGET_REACHED
        threshold = self._od.get(_O.VELOCITY_THRESHOLD, 0)
        still = self._zero_speed_since.held(abs(self._motor.velocity) <= threshold, now_ns)
        if still >= self._od.get(_O.VELOCITY_THRESHOLD_TIME, 0) * _NS_PER_MS:
            self._mode_bits |= Statusword.SPEED_ZERO

    # ------------------------------------------------------------------------- homing
    def _homing(self, controlword: int, rising: int, halt: bool) -> None:
        motor = self._motor
        if rising & Controlword.HOMING_OPERATION_START and not halt:
            self._start_homing()
        elif self._homing_phase in (_HomingPhase.SEARCH_SWITCH, _HomingPhase.SEARCH_EDGE) and (
            halt or not controlword & Controlword.HOMING_OPERATION_START
        ):
            self._homing_phase = _HomingPhase.STOPPING
            self._homing_status = _HomingStatus.INTERRUPTED
        negative = self._homing_method == HomingMethod.NEGATIVE_LIMIT_SWITCH
        direction = -1.0 if negative else 1.0
        on_switch = self._on_limit_switch(negative)
        if self._homing_phase is _HomingPhase.SEARCH_SWITCH and on_switch:
            self._homing_phase = _HomingPhase.SEARCH_EDGE
        elif self._homing_phase is _HomingPhase.SEARCH_EDGE and not on_switch:
            config = self._config
            edge = config.negative_limit_switch if negative else config.positive_limit_switch
            self._offset = self._od.get(_O.HOME_OFFSET, 0) - edge
            self._homing_phase = _HomingPhase.STOPPING
            self._homing_status = _HomingStatus.ATTAINED
        acceleration = float(self._od.get(_O.HOMING_ACCELERATION, 0))
        speed = 0.0
        if self._homing_phase is _HomingPhase.SEARCH_SWITCH:
            speed = direction * self._od.get(_O.HOMING_SPEEDS, _SEARCH_SWITCH_SPEED_SUBINDEX)
        elif self._homing_phase is _HomingPhase.SEARCH_EDGE:
            speed = -direction * self._od.get(_O.HOMING_SPEEDS, _SEARCH_ZERO_SPEED_SUBINDEX)
        elif self._homing_phase is _HomingPhase.STOPPING and motor.stopped:
            self._homing_phase = _HomingPhase.IDLE
            if self._homing_status is _HomingStatus.ATTAINED:
                self._homing_status = _HomingStatus.COMPLETED
        if self._homing_phase is _HomingPhase.IDLE:
            self._control = _Position(motor.position, 0.0)
        else:
            self._control = _Velocity(speed, acceleration, acceleration)
        error, attained, reached = self._homing_status.value
        for flag, bit in (
            (error, Statusword.HOMING_ERROR),
            (attained, Statusword.HOMING_ATTAINED),
            (reached or (error and motor.stopped), Statusword.TARGET_REACHED),
        ):
            if flag:
                self._mode_bits |= bit

    def _start_homing(self) -> None:
        method = self._od.get(_O.HOMING_METHOD, 0)
        self._homing_method = method
        if method in (HomingMethod.CURRENT_POSITION, HomingMethod.CURRENT_POSITION_35):
            self._offset = self._od.get(_O.HOME_OFFSET, 0) - self._motor.position
            self._homing_phase = _HomingPhase.IDLE
            self._homing_status = _HomingStatus.COMPLETED
        elif method in (HomingMethod.NEGATIVE_LIMIT_SWITCH, HomingMethod.POSITIVE_LIMIT_SWITCH):
            negative = method == HomingMethod.NEGATIVE_LIMIT_SWITCH
            on_switch = self._on_limit_switch(negative)
            self._homing_phase = (
                _HomingPhase.SEARCH_EDGE if on_switch else _HomingPhase.SEARCH_SWITCH
            )
            self._homing_status = _HomingStatus.IN_PROGRESS
        else:
            self._homing_phase = _HomingPhase.IDLE
            self._homing_status = _HomingStatus.ERROR

    def _on_limit_switch(self, negative: bool) -> bool:
        if negative:
            return self._motor.position <= self._config.negative_limit_switch
        return self._motor.position >= self._config.positive_limit_switch

    # --------------------------------------------------------------------- monitoring
    def _monitor_following_error(self, now_ns: int) -> None:
        if self._mode not in _FOLLOWING_ERROR_MODES or self._demand is None:
            self._following_since.start = None
            return
        window = self._od.get(_O.FOLLOWING_ERROR_WINDOW, 0)
        error = abs(self._demand - (self._motor.position + self._offset))
        held = self._following_since.held(window != _WINDOW_OFF and error > window, now_ns)
        if held > self._od.get(_O.FOLLOWING_ERROR_TIME_OUT, 0) * _NS_PER_MS:
            self._following_error = True
            self._fault(DriveErrorCode.FOLLOWING_ERROR)

    # ------------------------------------------------------------------------ feedback
    def _statusword(self) -> int:
        state = self._state
        word = _STATE_BITS[state]
        if state is _S.NOT_READY_TO_SWITCH_ON:
            return word
        word |= Statusword.VOLTAGE_ENABLED | Statusword.REMOTE
        if self._warning:
            word |= Statusword.WARNING
        if self._following_error:
            word |= Statusword.FOLLOWING_ERROR
        if state in (_S.OPERATION_ENABLED, _S.QUICK_STOP_ACTIVE):
            word |= self._mode_bits
            if self._limited:
                word |= Statusword.INTERNAL_LIMIT_ACTIVE
        return int(word)

    def _publish(self) -> None:
        motor = self._motor
        position = motor.position + self._offset
        demand = position
        if self._demand is not None and self._state is _S.OPERATION_ENABLED:
            demand = self._demand
        inputs = 0
        if self._on_limit_switch(negative=True):
            inputs |= _NEGATIVE_LIMIT_INPUT
        if self._on_limit_switch(negative=False):
            inputs |= _POSITIVE_LIMIT_INPUT
        od = self._od  # update: only what changed is written (this runs every cycle)
        od.update(_O.STATUSWORD, 0, self._statusword())
        od.update(_O.MODES_OF_OPERATION_DISPLAY, 0, self._mode)
        od.update(_O.POSITION_DEMAND_VALUE, 0, _wrap_i32(demand))
        od.update(_O.POSITION_ACTUAL_VALUE, 0, _wrap_i32(position))
        od.update(_O.FOLLOWING_ERROR_ACTUAL_VALUE, 0, _saturate(demand - position, _MIN_I32, _MAX_I32))
        od.update(_O.VELOCITY_ACTUAL_VALUE, 0, _saturate(motor.velocity, _MIN_I32, _MAX_I32))
        od.update(_O.TORQUE_ACTUAL_VALUE, 0, _saturate(motor.torque, -_MAX_I16 - 1, _MAX_I16))
        od.update(_O.DIGITAL_INPUTS, 0, inputs)
