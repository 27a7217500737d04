"""The CiA 402 state machine of the master: the transition table exhaustively, the path to every
target walked on a small drive model (both quick stop behaviours), and the statusword decoding
against the standard's state patterns."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ethercat_master.devices.cia402_state import (
    AUTOMATIC_TRANSITIONS,
    HOLDING_COMMAND,
    STATE_PATTERNS,
    TARGET_STATES,
    TRANSITIONS,
    Cia402Command,
    Cia402State,
    Controlword,
    HomingStatus,
    OperationMode,
    Statusword,
    decode_mode_status,
    decode_state,
    next_command,
)

S = Cia402State
C = Cia402Command
#: States with no commanded way out: the drive moves on by itself.
AUTOMATIC_ONLY = {S.NOT_READY_TO_SWITCH_ON, S.FAULT_REACTION_ACTIVE}
#: Values of statusword bits 0..6 of each state in IEC 61800-7-201 (bit 4 excluded), written out
#: independently of the module's table.
STANDARD_BITS = {
    S.NOT_READY_TO_SWITCH_ON: "x0xx0000",
    S.SWITCH_ON_DISABLED: "x1xx0000",
    S.READY_TO_SWITCH_ON: "x01x0001",
    S.SWITCHED_ON: "x01x0011",
    S.OPERATION_ENABLED: "x01x0111",
    S.QUICK_STOP_ACTIVE: "x00x0111",
    S.FAULT_REACTION_ACTIVE: "x0xx1111",
    S.FAULT: "x0xx1000",
}


def standard_state(statusword: int) -> set[Cia402State]:
    """The states whose bit pattern (bits 7..0, x = any) ``statusword`` matches."""
    matches = set()
    for state, pattern in STANDARD_BITS.items():
        bits = [int(c) if c != "x" else None for c in pattern]
        if all(b is None or (statusword >> (7 - n) & 1) == b for n, b in enumerate(bits)):
            matches.add(state)
    return matches


class DriveModel:
    """A tiny drive: the standard's transitions for the decoded command, automatic ones
    otherwise, quick stop option codes 0..4 (``stays`` False) or 5..8."""

    def __init__(self, state: Cia402State, stays: bool):
        self.state = state
        self.stays = stays
        self.previous = 0

    def decode(self, controlword: int) -> Cia402Command | None:
        if controlword & Controlword.FAULT_RESET:
            return None if self.previous & Controlword.FAULT_RESET else C.FAULT_RESET
        for command in (C.DISABLE_VOLTAGE, C.QUICK_STOP, C.SHUTDOWN, C.SWITCH_ON, C.ENABLE_OPERATION):
            if command.value.matches(controlword):
                return command
        return None

    def step(self, controlword: int) -> None:
        command = self.decode(controlword)
        self.previous = controlword
        if command is C.SWITCH_ON and self.state is S.OPERATION_ENABLED:
            command = C.DISABLE_OPERATION  # same bits, named by the state it is given in
        entry = TRANSITIONS.get((self.state, command)) if command is not None else None
        if entry is not None and not (entry[0] == 16 and not self.stays):
            self.state = entry[1]
        elif self.state in AUTOMATIC_TRANSITIONS and (self.state is not S.QUICK_STOP_ACTIVE or not self.stays):
            self.state = AUTOMATIC_TRANSITIONS[self.state][1]


def controlword_for(state: Cia402State, target: Cia402State, previous: int) -> int:
    command = next_command(state, target) or HOLDING_COMMAND[state]
    if command is C.FAULT_RESET and previous & Controlword.FAULT_RESET:
        return HOLDING_COMMAND[state].bits  # the edge needs the bit clear first
    return command.bits


# --------------------------------------------------------------------------- the table
@pytest.mark.parametrize("state,target", list(itertools.product(Cia402State, TARGET_STATES)))
def test_every_state_and_target_gives_a_legal_next_command(state, target):
    command = next_command(state, target)
    if state is target or state in AUTOMATIC_ONLY:
        assert command is None
    else:
        assert command is not None
        assert (state, command) in TRANSITIONS, f"{command} is no transition out of {state}"


@pytest.mark.parametrize("state,target", list(itertools.product(Cia402State, TARGET_STATES)))
@pytest.mark.parametrize("stays", [False, True], ids=["quick stop 0..4", "quick stop 5..8"])
def test_walking_the_path_always_reaches_the_target(state, target, stays):
    model = DriveModel(state, stays)
    visited = [model.state]
    for _ in range(12):
        if model.state is target:
            break
        model.step(controlword_for(model.state, target, model.previous))
        visited.append(model.state)
    if target is S.QUICK_STOP_ACTIVE and not stays:
        # with option codes 0..4 the drive leaves quick stop active by itself: it must pass it
        assert S.QUICK_STOP_ACTIVE in visited or model.state is target
    else:
        assert model.state is target, f"path {visited}"
    if target not in (S.OPERATION_ENABLED, S.QUICK_STOP_ACTIVE):
        assert S.OPERATION_ENABLED not in visited[1:], f"path {visited} enables the drive on its way"


def test_holding_commands_cause_no_transition():
    for state, command in HOLDING_COMMAND.items():
        assert (state, command) not in TRANSITIONS
        assert not command.bits & Controlword.FAULT_RESET


def test_command_patterns_are_the_standards_codings():
    # (bits written, bits that must match, a controlword that is NOT the command)
    assert C.SHUTDOWN.bits == 0x06 and C.SHUTDOWN.value.matches(0x7E) and not C.SHUTDOWN.value.matches(0x07)
    assert C.SWITCH_ON.bits == 0x07 and not C.SWITCH_ON.value.matches(0x0F)
    assert C.ENABLE_OPERATION.bits == 0x0F and C.ENABLE_OPERATION.value.matches(0x1F)
    assert C.DISABLE_VOLTAGE.value.matches(0x0D) and not C.DISABLE_VOLTAGE.value.matches(0x02)
    assert C.QUICK_STOP.value.matches(0x0B) and not C.QUICK_STOP.value.matches(0x06)
    assert C.DISABLE_OPERATION.bits == C.SWITCH_ON.bits and C.DISABLE_OPERATION is not C.SWITCH_ON
    for command in C:
        assert command.bits & command.value.mask == command.bits
        numbers = {number for (_, c), (number, _) in TRANSITIONS.items() if c is command}
        assert numbers == set(command.value.transitions)


def test_targets_outside_the_commandable_states_are_refused():
    for target in (S.NOT_READY_TO_SWITCH_ON, S.FAULT_REACTION_ACTIVE, S.FAULT):
        with pytest.raises(ValueError):
            next_command(S.SWITCH_ON_DISABLED, target)


# ------------------------------------------------------------------------ statusword
@given(st.integers(0, 0xFFFF))
def test_decoding_agrees_with_the_standard_bit_patterns(statusword):
    state = decode_state(statusword)
    matches = standard_state(statusword)
    if matches:
        assert matches == {state}
    else:
        assert state is S.NOT_READY_TO_SWITCH_ON  # a pattern no state has: not commandable


@given(st.sampled_from(list(Cia402State)), st.integers(0, 0xFFFF))
def test_each_state_pattern_decodes_whatever_the_other_bits(state, noise):
    mask, value = STATE_PATTERNS[state]
    assert decode_state(noise & ~mask | value) is state


@given(st.integers(0, 0xFFFF))
def test_mode_bits_mean_what_the_mode_says(statusword):
    bit10, bit12, bit13 = (bool(statusword >> n & 1) for n in (10, 12, 13))
    pp = decode_mode_status(statusword, OperationMode.PP)
    assert (pp.target_reached, pp.set_point_acknowledge, pp.following_error) == (bit10, bit12, bit13)
    csp = decode_mode_status(statusword, OperationMode.CSP)
    assert (csp.drive_follows_command, csp.following_error, csp.target_reached) == (bit12, bit13, False)
    pv = decode_mode_status(statusword, OperationMode.PV)
    assert (pv.speed_zero, pv.following_error) == (bit12, False)
    hm = decode_mode_status(statusword, OperationMode.HM)
    expected = {
        (False, False, False): HomingStatus.IN_PROGRESS, (False, False, True): HomingStatus.INTERRUPTED,
        (False, True, False): HomingStatus.ATTAINED, (False, True, True): HomingStatus.COMPLETED,
        (True, False, False): HomingStatus.ERROR_MOVING, (True, False, True): HomingStatus.ERROR_STILL,
    }.get((bit13, bit12, bit10), HomingStatus.RESERVED)
    assert hm.homing is expected
    assert hm.homing_error == (bit13 and not bit12)
    assert hm.homing_attained == (bit12 and not bit13)


def test_statusword_flags_are_the_standard_bits():
    assert [Statusword.READY_TO_SWITCH_ON, Statusword.SWITCHED_ON, Statusword.OPERATION_ENABLED, Statusword.FAULT,
            Statusword.VOLTAGE_ENABLED, Statusword.QUICK_STOP, Statusword.SWITCH_ON_DISABLED,
            Statusword.WARNING] == [1 << n for n in range(8)]
    assert Statusword.TARGET_REACHED == 1 << 10 and Statusword.HOMING_ATTAINED == 1 << 12
    assert Statusword.FOLLOWING_ERROR == Statusword.HOMING_ERROR == 1 << 13
    assert [int(m) for m in OperationMode] == [0, 1, 3, 4, 6, 8, 9, 10]
