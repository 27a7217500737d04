"""The CiA 402 (IEC 61800-7-201) power drive system state machine, as seen from the master.

Written from IEC 61800-7-201 / CiA 402 part 2 ("PDS FSA": states, transitions 0..16, the
controlword command coding and the statusword state coding) and ETG.6010 (CiA 402 on
EtherCAT), with ethercrab's ``ds402`` module and python canopen's ``BaseNode402`` as style
references. It knows nothing of the process image: :mod:`.cia402_drive` uses it.

Statusword (0x6041)
    Bits 0..6 code the state: :data:`STATE_PATTERNS` gives each state's (mask, value); the
    mask is 0x004F for the states that do not use bit 5 (quick stop) and 0x006F for the
    others. :func:`decode_state` applies them. Bits 10, 12 and 13 depend on the mode of
    operation (:class:`ModeStatus`, :class:`HomingStatus`).

Controlword (0x6040)
    :class:`Cia402Command` is the command table: each command's bits (what the master
    writes) and the mask of the bits that identify it. Disable operation and switch on have
    the same bits and differ only in the state they are given in. Fault reset acts on the
    rising edge of bit 7: the master writes the bit as 0 for at least one cycle first.

Transitions
    :data:`TRANSITIONS` maps (state, command) to (transition number, next state) for the
    commanded transitions; :data:`AUTOMATIC_TRANSITIONS` lists those the drive takes on its
    own (1 after initialisation, 12 after a quick stop with option code 0..4, 14 after the
    fault reaction). Transition 13 (fault) can happen in any state. Transition 16 (quick stop
    active -> operation enabled) is taken by a drive only with quick stop option codes 5..8;
    with 0..4 it finishes the quick stop and takes 12 instead.

Path
    :func:`next_command` gives the command that moves a drive one step on the shortest path
    from its state to a target state (:data:`TARGET_STATES`), or None where no command helps:
    the target is reached, or only an automatic transition leads on (not ready to switch on,
    fault reaction active). :data:`HOLDING_COMMAND` is the command that keeps a state.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Optional, Union

from ..protocol.cia402 import Controlword, Statusword

__all__ = [
    "Statusword",
    "Controlword",
    "COMMAND_BITS",
    "Cia402State",
    "STATE_MASK_SHORT",
    "STATE_MASK_LONG",
    "STATE_PATTERNS",
    "decode_state",
    "CommandPattern",
    "Cia402Command",
    "TRANSITIONS",
    "AUTOMATIC_TRANSITIONS",
    "TARGET_STATES",
    "HOLDING_COMMAND",
    "next_command",
    "OperationMode",
    "HomingStatus",
    "ModeStatus",
    "decode_mode_status",
]


#: The bits of the controlword that code a command (the rest are mode specific).
COMMAND_BITS = (Controlword.SWITCH_ON | Controlword.ENABLE_VOLTAGE | Controlword.QUICK_STOP
                | Controlword.ENABLE_OPERATION | Controlword.FAULT_RESET)


class Cia402State(enum.Enum):
    """States of the power drive system (IEC 61800-7-201)."""

    NOT_READY_TO_SWITCH_ON = "Not ready to switch on"
    SWITCH_ON_DISABLED = "Switch on disabled"
    READY_TO_SWITCH_ON = "Ready to switch on"
    SWITCHED_ON = "Switched on"
    OPERATION_ENABLED = "Operation enabled"
    QUICK_STOP_ACTIVE = "Quick stop active"
    FAULT_REACTION_ACTIVE = "Fault reaction active"
    FAULT = "Fault"


_S = Cia402State
#: Mask of the state bits for states that ignore bit 5 (quick stop).
STATE_MASK_SHORT = 0x004F
#: Mask of the state bits for states that include bit 5.
STATE_MASK_LONG = 0x006F

#: Each state's statusword pattern: (mask, value); ``statusword & mask == value``.
STATE_PATTERNS: dict[Cia402State, tuple[int, int]] = {
    _S.NOT_READY_TO_SWITCH_ON: (STATE_MASK_SHORT, 0x0000),
    _S.SWITCH_ON_DISABLED: (STATE_MASK_SHORT, 0x0040),
    _S.READY_TO_SWITCH_ON: (STATE_MASK_LONG, 0x0021),
    _S.SWITCHED_ON: (STATE_MASK_LONG, 0x0023),
    _S.OPERATION_ENABLED: (STATE_MASK_LONG, 0x0027),
    _S.QUICK_STOP_ACTIVE: (STATE_MASK_LONG, 0x0007),
    _S.FAULT_REACTION_ACTIVE: (STATE_MASK_SHORT, 0x000F),
    _S.FAULT: (STATE_MASK_SHORT, 0x0008),
}

#: Every value of the seven state bits (0..6) mapped to its state, or None for a value no
#: state has: the decoding table is built once from :data:`STATE_PATTERNS`.
_STATE_BITS = 0x007F
_DECODE: tuple[Optional[Cia402State], ...] = tuple(
    next((state for state, (mask, value) in STATE_PATTERNS.items() if bits & mask == value), None)
    for bits in range(_STATE_BITS + 1)
)


def decode_state(statusword: int) -> Cia402State:
    """The state coded in ``statusword`` bits 0..6.

    A pattern that no state has (e.g. ``0x0001``: ready to switch on without bit 5, which a
    drive shows only in passing) reads as not ready to switch on, the state a master must not
    command.
    """
    state = _DECODE[statusword & _STATE_BITS]
    return _S.NOT_READY_TO_SWITCH_ON if state is None else state


@dataclass(frozen=True, slots=True)
class CommandPattern:
    """One device control command: the controlword bits the master writes, the mask of the
    bits that identify the command, and the transitions it triggers."""

    bits: int
    mask: int
    transitions: tuple[int, ...]

    def matches(self, controlword: int) -> bool:
        """True when ``controlword`` codes this command (fault reset: when bit 7 is set)."""
        return controlword & self.mask == self.bits


class Cia402Command(enum.Enum):
    """Controlword commands (IEC 61800-7-201 command coding, bits 7, 3, 2, 1, 0)."""

    #: 0xxx x110.
    SHUTDOWN = CommandPattern(0x0006, 0x0087, (2, 6, 8))
    #: 0xxx 0111.
    SWITCH_ON = CommandPattern(0x0007, 0x008F, (3,))
    #: 0xxx 1111.
    ENABLE_OPERATION = CommandPattern(0x000F, 0x008F, (4, 16))
    #: 0xxx xx0x.
    DISABLE_VOLTAGE = CommandPattern(0x0000, 0x0082, (7, 9, 10, 12))
    #: 0xxx x01x.
    QUICK_STOP = CommandPattern(0x0002, 0x0086, (7, 10, 11))
    #: 0xxx 0111, given in operation enabled.
    DISABLE_OPERATION = CommandPattern(0x0007, 0x008F, (5,))
    #: Bit 7, on its rising edge.
    FAULT_RESET = CommandPattern(0x0080, 0x0080, (15,))

    @property
    def bits(self) -> int:
        """The controlword bits to write."""
        return self.value.bits


_C = Cia402Command
#: Commanded transitions: (state, command) -> (transition number, next state).
TRANSITIONS: dict[tuple[Cia402State, Cia402Command], tuple[int, Cia402State]] = {
    (_S.SWITCH_ON_DISABLED, _C.SHUTDOWN): (2, _S.READY_TO_SWITCH_ON),
    (_S.READY_TO_SWITCH_ON, _C.SWITCH_ON): (3, _S.SWITCHED_ON),
    (_S.SWITCHED_ON, _C.ENABLE_OPERATION): (4, _S.OPERATION_ENABLED),
    (_S.OPERATION_ENABLED, _C.DISABLE_OPERATION): (5, _S.SWITCHED_ON),
    (_S.SWITCHED_ON, _C.SHUTDOWN): (6, _S.READY_TO_SWITCH_ON),
    (_S.READY_TO_SWITCH_ON, _C.DISABLE_VOLTAGE): (7, _S.SWITCH_ON_DISABLED),
    (_S.READY_TO_SWITCH_ON, _C.QUICK_STOP): (7, _S.SWITCH_ON_DISABLED),
    (_S.OPERATION_ENABLED, _C.SHUTDOWN): (8, _S.READY_TO_SWITCH_ON),
    (_S.OPERATION_ENABLED, _C.DISABLE_VOLTAGE): (9, _S.SWITCH_ON_DISABLED),
    (_S.SWITCHED_ON, _C.DISABLE_VOLTAGE): (10, _S.SWITCH_ON_DISABLED),
    (_S.SWITCHED_ON, _C.QUICK_STOP): (10, _S.SWITCH_ON_DISABLED),
    (_S.OPERATION_ENABLED, _C.QUICK_STOP): (11, _S.QUICK_STOP_ACTIVE),
    (_S.QUICK_STOP_ACTIVE, _C.DISABLE_VOLTAGE): (12, _S.SWITCH_ON_DISABLED),
    (_S.FAULT, _C.FAULT_RESET): (15, _S.SWITCH_ON_DISABLED),
    (_S.QUICK_STOP_ACTIVE, _C.ENABLE_OPERATION): (16, _S.OPERATION_ENABLED),
}

#: Transitions the drive takes on its own: state -> (transition number, next state). Quick
#: stop active -> switch on disabled only with quick stop option codes 0..4, once stopped.
AUTOMATIC_TRANSITIONS: dict[Cia402State, tuple[int, Cia402State]] = {
    _S.NOT_READY_TO_SWITCH_ON: (1, _S.SWITCH_ON_DISABLED),
    _S.QUICK_STOP_ACTIVE: (12, _S.SWITCH_ON_DISABLED),
    _S.FAULT_REACTION_ACTIVE: (14, _S.FAULT),
}

#: The states a master can command a drive into.
TARGET_STATES: tuple[Cia402State, ...] = (
    _S.SWITCH_ON_DISABLED,
    _S.READY_TO_SWITCH_ON,
    _S.SWITCHED_ON,
    _S.OPERATION_ENABLED,
    _S.QUICK_STOP_ACTIVE,
)

#: The command that keeps each state (no transition), with bit 7 clear so that a fault reset
#: always finds a rising edge.
HOLDING_COMMAND: dict[Cia402State, Cia402Command] = {
    _S.NOT_READY_TO_SWITCH_ON: _C.DISABLE_VOLTAGE,
    _S.SWITCH_ON_DISABLED: _C.DISABLE_VOLTAGE,
    _S.READY_TO_SWITCH_ON: _C.SHUTDOWN,
    _S.SWITCHED_ON: _C.SWITCH_ON,
    _S.OPERATION_ENABLED: _C.ENABLE_OPERATION,
    _S.QUICK_STOP_ACTIVE: _C.QUICK_STOP,
    _S.FAULT_REACTION_ACTIVE: _C.DISABLE_VOLTAGE,
    _S.FAULT: _C.DISABLE_VOLTAGE,
}


def _first_steps() -> dict[tuple[Cia402State, Cia402State], Optional[Cia402Command]]:
    """Breadth-first search over :data:`TRANSITIONS` from every state: the first command of a
    shortest path to each target (ties go to the command listed first in the table). A path to
    a state without power never passes through operation enabled: no drive is enabled on its
    way to being disabled."""
    table: dict[tuple[Cia402State, Cia402State], Optional[Cia402Command]] = {}
    for target in TARGET_STATES:
        via_operation = target in (_S.OPERATION_ENABLED, _S.QUICK_STOP_ACTIVE)
        for start in Cia402State:
            first: dict[Cia402State, Optional[Cia402Command]] = {start: None}
            queue = deque([start])
            while queue and target not in first:
                state = queue.popleft()
                if state is _S.OPERATION_ENABLED and state is not start and not via_operation:
                    continue
                for (source, command), (_, following) in TRANSITIONS.items():
                    if source is state and following not in first:
                        first[following] = command if state is start else first[state]
                        queue.append(following)
            if target in first:
                table[(start, target)] = first[target]
    return table


_FIRST_STEP = _first_steps()


def next_command(state: Cia402State, target: Cia402State) -> Optional[Cia402Command]:
    """The command that takes a drive in ``state`` one step towards ``target``.

    None when ``state`` is ``target``, or when no command leads on and the drive must first
    take an automatic transition (not ready to switch on, fault reaction active). From fault
    the path starts with :attr:`Cia402Command.FAULT_RESET`; whether to reset a fault is the
    caller's decision. :class:`ValueError` for a target outside :data:`TARGET_STATES`.
    """
    if target not in TARGET_STATES:
        raise ValueError(f"{target.value!r} is no state a master can command a drive into")
    return _FIRST_STEP.get((state, target))


# ------------------------------------------------------------------------ modes of operation
class OperationMode(enum.IntEnum):
    """Modes of operation (0x6060 requested, 0x6061 in effect)."""

    NO_MODE = 0
    #: Profile position.
    PP = 1
    #: Profile velocity.
    PV = 3
    #: Profile torque.
    PT = 4
    #: Homing.
    HM = 6
    #: Cyclic synchronous position.
    CSP = 8
    #: Cyclic synchronous velocity.
    CSV = 9
    #: Cyclic synchronous torque.
    CST = 10


class HomingStatus(enum.Enum):
    """The homing status coded in statusword bits 13, 12 and 10 in homing mode (CiA 402)."""

    IN_PROGRESS = "in progress"
    INTERRUPTED = "interrupted or not started"
    ATTAINED = "attained, target not reached"
    COMPLETED = "completed"
    ERROR_MOVING = "error, axis moving"
    ERROR_STILL = "error, axis still"
    RESERVED = "reserved"

    @classmethod
    def from_statusword(cls, statusword: int) -> HomingStatus:
        """Decode bits 13 (error), 12 (attained) and 10 (target reached)."""
        error = bool(statusword & Statusword.HOMING_ERROR)
        attained = bool(statusword & Statusword.HOMING_ATTAINED)
        reached = bool(statusword & Statusword.TARGET_REACHED)
        if error:
            if attained:
                return cls.RESERVED
            return cls.ERROR_STILL if reached else cls.ERROR_MOVING
        if attained:
            return cls.COMPLETED if reached else cls.ATTAINED
        return cls.INTERRUPTED if reached else cls.IN_PROGRESS

    @property
    def error(self) -> bool:
        """True for the two error codes."""
        return self in (HomingStatus.ERROR_MOVING, HomingStatus.ERROR_STILL)


_POSITION_FOLLOWING_MODES = frozenset({OperationMode.PP, OperationMode.CSP})
_CYCLIC_MODES = frozenset({OperationMode.CSP, OperationMode.CSV, OperationMode.CST})


@dataclass(frozen=True, slots=True)
class ModeStatus:
    """The mode-specific statusword bits, read for the mode in effect (False where a bit
    means something else in that mode).

    :ivar target_reached: bit 10 (PP, PV, PT; in homing part of :attr:`homing`).
    :ivar set_point_acknowledge: bit 12 in PP.
    :ivar speed_zero: bit 12 in PV.
    :ivar drive_follows_command: bit 12 in CSP, CSV, CST.
    :ivar following_error: bit 13 in PP and CSP.
    :ivar homing: the homing status in HM, else None.
    :ivar internal_limit_active: bit 11 (any mode).
    """

    target_reached: bool = False
    set_point_acknowledge: bool = False
    speed_zero: bool = False
    drive_follows_command: bool = False
    following_error: bool = False
    homing: Optional[HomingStatus] = None
    internal_limit_active: bool = False

    @property
    def homing_attained(self) -> bool:
        """Homing attained (bit 12 in HM)."""
        return self.homing in (HomingStatus.ATTAINED, HomingStatus.COMPLETED)

    @property
    def homing_error(self) -> bool:
        """Homing error (bit 13 in HM)."""
        return self.homing is not None and self.homing.error


#: The statusword bits :func:`decode_mode_status` looks at (10-13).
_MODE_BITS = int(Statusword.TARGET_REACHED | Statusword.INTERNAL_LIMIT_ACTIVE | Statusword.OPERATION_MODE_SPECIFIC_12
                 | Statusword.OPERATION_MODE_SPECIFIC_13)
_MODE_STATUS_CACHE: dict[tuple[int, int], ModeStatus] = {}


def decode_mode_status(statusword: int, mode: Union[OperationMode, int]) -> ModeStatus:
    """The mode-specific bits of ``statusword`` for ``mode`` (:class:`ModeStatus`); decoded
    once per combination of those four bits and mode (it runs every cycle for every drive)."""
    key = (statusword & _MODE_BITS, int(mode))
    found = _MODE_STATUS_CACHE.get(key)
    if found is None:
        found = _MODE_STATUS_CACHE[key] = _decode_mode_status(key[0], key[1])
    return found


def _decode_mode_status(statusword: int, mode: int) -> ModeStatus:
    bit10 = bool(statusword & Statusword.TARGET_REACHED)
    bit12 = bool(statusword & Statusword.OPERATION_MODE_SPECIFIC_12)
    bit13 = bool(statusword & Statusword.OPERATION_MODE_SPECIFIC_13)
    limit = bool(statusword & Statusword.INTERNAL_LIMIT_ACTIVE)
    if mode == OperationMode.HM:
        return ModeStatus(homing=HomingStatus.from_statusword(statusword), internal_limit_active=limit)
    return ModeStatus(
        target_reached=bit10 and mode in (OperationMode.PP, OperationMode.PV, OperationMode.PT),
        set_point_acknowledge=bit12 and mode == OperationMode.PP,
        speed_zero=bit12 and mode == OperationMode.PV,
        drive_follows_command=bit12 and mode in _CYCLIC_MODES,
        following_error=bit13 and mode in _POSITION_FOLLOWING_MODES,
        internal_limit_active=limit,
    )
