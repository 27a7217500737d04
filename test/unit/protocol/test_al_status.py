"""Tests of AL states and AL status codes (ethercat_master.protocol.al_status)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.protocol import al_status as al
from ethercat_master.protocol.al_status import ALState, ALStatusCode

#: ETG.1000.6 Table "AL Status Codes" and ETG.1020, as listed in the project brief and the
#: Beckhoff slave stack code (ecatslv.h ALSTATUSCODE_*), written out by hand.
SPEC_TABLE = {
    0x0000: "No error",
    0x0001: "Unspecified error",
    0x0002: "No Memory",
    0x0003: "Invalid Device Setup",
    0x0004: "Invalid revision",
    0x0005: "Reserved due to compatibility reasons",
    0x0006: "Firmware and EEPROM do not match",
    0x0007: "Firmware update not successful, old firmware still running",
    0x0011: "Invalid requested state change",
    0x0012: "Unknown requested state",
    0x0013: "Bootstrap not supported",
    0x0014: "No valid firmware",
    0x0015: "Invalid mailbox configuration (BOOT)",
    0x0016: "Invalid mailbox configuration (PREOP)",
    0x0017: "Invalid sync manager configuration",
    0x0018: "No valid inputs available",
    0x0019: "No valid outputs",
    0x001A: "Synchronization error",
    0x001B: "Sync manager watchdog",
    0x001C: "Invalid Sync Manager Types",
    0x001D: "Invalid Output Configuration",
    0x001E: "Invalid Input Configuration",
    0x001F: "Invalid Watchdog Configuration",
    0x0020: "Slave needs cold start",
    0x0021: "Slave needs INIT",
    0x0022: "Slave needs PREOP",
    0x0023: "Slave needs SAFEOP",
    0x0024: "Invalid Input Mapping",
    0x0025: "Invalid Output Mapping",
    0x0026: "Inconsistent Settings",
    0x0027: "FreeRun not supported",
    0x0028: "SyncMode not supported",
    0x0029: "FreeRun needs 3Buffer Mode",
    0x002A: "Background Watchdog",
    0x002B: "No Valid Inputs and Outputs",
    0x002C: "Fatal Sync Error",
    0x002D: "No Sync Error",
    0x002E: "Cycle time too small",
    0x0030: "Invalid DC SYNC Configuration",
    0x0031: "Invalid DC Latch Configuration",
    0x0032: "PLL Error",
    0x0033: "DC Sync IO Error",
    0x0034: "DC Sync Timeout Error",
    0x0035: "DC Invalid Sync Cycle Time",
    0x0036: "DC Sync0 Cycle Time",
    0x0037: "DC Sync1 Cycle Time",
    0x0041: "MBX_AOE",
    0x0042: "MBX_EOE",
    0x0043: "MBX_COE",
    0x0044: "MBX_FOE",
    0x0045: "MBX_SOE",
    0x004F: "MBX_VOE",
    0x0050: "EEPROM no access",
    0x0051: "EEPROM Error",
    0x0052: "External Hardware not ready",
    0x0060: "Slave restarted locally",
    0x0061: "Device Identification value updated",
    0x0070: "Detected Module Ident List does not match",
    0x0080: "Supply voltage too low",
    0x0081: "Supply voltage too high",
    0x0082: "Temperature too low",
    0x0083: "Temperature too high",
    0x00F0: "Application controller available",
}

#: The same codes in SOEM's ec_ALstatuscodelist (ethercatprint.c), whose texts differ only in
#: letter case for these entries.
SOEM_TEXTS = {
    0x0001: "Unspecified error",
    0x0011: "Invalid requested state change",
    0x001B: "Sync manager watchdog",
    0x001D: "Invalid output configuration",
    0x0024: "Invalid input mapping",
    0x0030: "Invalid DC SYNC configuration",
    0x0034: "DC sync timeout error",
    0x0051: "EEPROM error",
    0x0060: "Slave restarted locally",
    0x00F0: "Application controller available",
}


# ------------------------------------------------------------------------------ states
def test_state_values_and_names() -> None:
    assert [(s.name, s.value) for s in ALState] == [
        ("INIT", 1),
        ("PREOP", 2),
        ("BOOT", 3),
        ("SAFEOP", 4),
        ("OP", 8),
    ]
    assert str(ALState.SAFEOP) == "SAFEOP"
    assert f"{ALState.OP}" == "OP"
    assert ALState.PREOP.description == "Pre-Operational"
    assert ALState.BOOT.description == "Bootstrap"


def test_flag_constants() -> None:
    assert al.AL_STATE_MASK == 0x0F
    assert al.AL_STATUS_ERROR_INDICATION == al.AL_CONTROL_ERROR_ACK == 0x10
    assert al.AL_STATUS_ID_LOADED == al.AL_CONTROL_ID_REQUEST == 0x20


def test_unknown_state_is_kept_as_raw_int() -> None:
    assert al.state_from_value(4) is ALState.SAFEOP
    for raw in (0, 5, 6, 7, 9, 0x0F):
        value = al.state_from_value(raw)
        assert value == raw and not isinstance(value, ALState)
    assert al.state_name(2) == "PREOP"
    assert al.state_name(0) == "unknown state 0x0"
    assert al.state_name(0xB) == "unknown state 0xB"


def test_split_known_vectors() -> None:
    # AL status 0x14: SAFEOP with error indication (ETG.1000.6 AL status register).
    assert al.split_al_status(0x14) == (ALState.SAFEOP, True)
    assert al.split_al_status(0x08) == (ALState.OP, False)
    # The ID-loaded bit and the reserved high byte do not disturb the state.
    assert al.split_al_status(0xFF22) == (ALState.PREOP, False)
    # AL control 0x11: request INIT and acknowledge the error.
    assert al.split_al_control(0x11) == (ALState.INIT, True)
    assert al.compose_al_control(ALState.OP, ack=True) == 0x18
    assert al.compose_al_status(ALState.BOOT, error=True) == 0x13
    assert al.compose_al_control(ALState.PREOP) == 0x02


@settings(max_examples=300)
@given(state=st.integers(0, 15), flag=st.booleans())
def test_compose_split_round_trip(state: int, flag: bool) -> None:
    assert al.split_al_status(al.compose_al_status(state, flag)) == (state, flag)
    assert al.split_al_control(al.compose_al_control(state, flag)) == (state, flag)


@settings(max_examples=300)
@given(value=st.integers(0, 0xFFFF))
def test_split_never_fails_on_register_values(value: int) -> None:
    state, error = al.split_al_status(value)
    assert state == value & 0x0F
    assert error == bool(value & 0x10)
    assert isinstance(state, ALState) == (value & 0x0F in {1, 2, 3, 4, 8})


@pytest.mark.parametrize("value", [-1, 0x10000])
def test_split_rejects_non_register_values(value: int) -> None:
    with pytest.raises(ValueError):
        al.split_al_status(value)
    with pytest.raises(ValueError):
        al.split_al_control(value)


@pytest.mark.parametrize("state", [-1, 0x10, 0x18])
def test_compose_rejects_states_outside_the_nibble(state: int) -> None:
    with pytest.raises(ValueError):
        al.compose_al_status(state)
    with pytest.raises(ValueError):
        al.compose_al_control(state)


# ------------------------------------------------------------------------------ status codes
def test_table_holds_every_specified_code_with_its_text() -> None:
    assert dict(al.AL_STATUS_CODES) == SPEC_TABLE


def test_enum_and_table_agree() -> None:
    assert {int(code) for code in ALStatusCode} == set(al.AL_STATUS_CODES)
    assert ALStatusCode.SYNC_MANAGER_WATCHDOG == 0x001B
    assert ALStatusCode.SYNC_MANAGER_WATCHDOG.text == "Sync manager watchdog"
    assert ALStatusCode.APPLICATION_CONTROLLER_AVAILABLE == 0x00F0
    assert all(0 <= code < al.VENDOR_SPECIFIC_FIRST for code in ALStatusCode)


@pytest.mark.parametrize("code", sorted(SOEM_TEXTS))
def test_texts_agree_with_soem(code: int) -> None:
    assert al.al_status_text(code).lower() == SOEM_TEXTS[code].lower()


@pytest.mark.parametrize("code", sorted(SPEC_TABLE))
def test_lookup_of_named_codes(code: int) -> None:
    assert al.al_status_text(code) == SPEC_TABLE[code]
    assert al.al_status_text(ALStatusCode(code)) == SPEC_TABLE[code]


def test_vendor_specific_and_unknown_codes() -> None:
    assert al.al_status_text(0x8000) == "vendor specific AL status code 0x8000"
    assert al.al_status_text(0x9001) == "vendor specific AL status code 0x9001"
    assert al.al_status_text(0xFFFF) == "vendor specific AL status code 0xFFFF"
    assert al.al_status_text(0x0008) == "reserved AL status code 0x0008"
    assert al.al_status_text(0x002F) == "reserved AL status code 0x002F"
    assert al.al_status_text(0x7FFF) == "reserved AL status code 0x7FFF"
    assert "0x1234" in al.al_status_text(0x1234)


@pytest.mark.parametrize("value", [-1, 0x10000, None, "0x0011", 1.5, True, b"\x11\x00"])
def test_text_of_values_that_are_no_code(value) -> None:
    text = al.al_status_text(value)
    assert text.startswith("invalid AL status code")


@settings(max_examples=300)
@given(
    value=st.one_of(
        st.integers(),
        st.none(),
        st.booleans(),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.binary(max_size=3),
    )
)
def test_text_never_fails(value) -> None:
    text = al.al_status_text(value)
    assert isinstance(text, str) and text
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFF:
        assert text == SPEC_TABLE.get(value, text)
        if value not in SPEC_TABLE:
            assert f"0x{value:04X}" in text
