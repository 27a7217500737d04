"""AL (application layer) states and AL status codes.

Sources:

* ETG.1000.6, 6.4.1 "AL Control" / "AL Status" and Table "AL Status Codes"; ETG.1020
  ("EtherCAT Protocol Enhancements"), which adds codes 0x0003-0x0007, 0x002E, 0x0052,
  0x0070 and 0x0080-0x0083. The texts follow those tables as they are reproduced in the
  Beckhoff slave stack code (``ecatslv.h`` ``ALSTATUSCODE_*``), SOEM (``ethercatprint.c``
  ``ec_ALstatuscodelist``), IgH (``fsm_change.c`` ``al_status_messages``) and ethercrab
  (``al_status_code.rs``).
* ESC datasheet section II, registers 0x0120 (AL Control) and 0x0130 (AL Status).

The AL control and AL status registers share one layout in their low byte::

    bit 0-3  state (1 INIT, 2 PREOP, 3 BOOT, 4 SAFEOP, 8 OP)
    bit 4    AL control: error indication acknowledge / AL status: error indication
    bit 5    AL control: device identification request / AL status: identification loaded
    bit 6-7  reserved

The state nibble of a slave is kept as a raw ``int`` when it is none of the five states
(e.g. 0 or a combination such as 0x3 | 0x8): a master must be able to report what a broken
slave says, so the codecs here never fail on it. Use :func:`state_name` to print either.
"""

from __future__ import annotations

import enum
from typing import Union

__all__ = [
    "ALState",
    "StateValue",
    "AL_STATE_MASK",
    "AL_STATUS_ERROR_INDICATION",
    "AL_CONTROL_ERROR_ACK",
    "AL_STATUS_ID_LOADED",
    "AL_CONTROL_ID_REQUEST",
    "AL_REGISTER_MAX",
    "state_from_value",
    "state_name",
    "split_al_status",
    "compose_al_status",
    "split_al_control",
    "compose_al_control",
    "ALStatusCode",
    "AL_STATUS_CODES",
    "VENDOR_SPECIFIC_FIRST",
    "VENDOR_SPECIFIC_LAST",
    "al_status_text",
]

#: Bits 0-3 of AL control / AL status: the state.
AL_STATE_MASK = 0x0F
#: AL status bit 4: the slave refused a requested state or left a state on its own.
AL_STATUS_ERROR_INDICATION = 0x10
#: AL control bit 4: the master acknowledges the error indication.
AL_CONTROL_ERROR_ACK = 0x10
#: AL status bit 5: the device identification value is loaded (ETG.1020 explicit device ID).
AL_STATUS_ID_LOADED = 0x20
#: AL control bit 5: the master requests the device identification value.
AL_CONTROL_ID_REQUEST = 0x20
#: AL control and AL status are 16-bit registers (0x0120:0x0121, 0x0130:0x0131).
AL_REGISTER_MAX = 0xFFFF


class ALState(enum.IntEnum):
    """The states of the EtherCAT state machine (ETG.1000.6, 6.4.1)."""

    INIT = 0x01
    PREOP = 0x02
    BOOT = 0x03
    SAFEOP = 0x04
    OP = 0x08

    def __str__(self) -> str:
        return self.name

    @property
    def description(self) -> str:
        """The specification's long name of the state, e.g. ``"Pre-Operational"``."""
        return _STATE_DESCRIPTIONS[self]


_STATE_DESCRIPTIONS = {
    ALState.INIT: "Init",
    ALState.PREOP: "Pre-Operational",
    ALState.BOOT: "Bootstrap",
    ALState.SAFEOP: "Safe-Operational",
    ALState.OP: "Operational",
}

#: A state nibble as read from the wire: an :class:`ALState`, or the raw value when unknown.
StateValue = Union[ALState, int]

_STATE_VALUES = frozenset(state.value for state in ALState)


def state_from_value(value: int) -> StateValue:
    """Return ``ALState(value)``, or ``value`` itself when it is no defined state (never fails)."""
    return ALState(value) if value in _STATE_VALUES else value


def state_name(value: int) -> str:
    """Printable name of a state nibble: ``"SAFEOP"``, or ``"unknown state 0x0"``."""
    if value in _STATE_VALUES:
        return ALState(value).name
    return f"unknown state 0x{value:X}"


def _check_register_value(value: int, what: str) -> None:
    if not 0 <= value <= AL_REGISTER_MAX:
        raise ValueError(f"{what} value {value!r} is outside 0..0x{AL_REGISTER_MAX:04X}")


def _check_state(state: int) -> None:
    if not 0 <= state <= AL_STATE_MASK:
        raise ValueError(f"AL state {state!r} does not fit the 4-bit state field")


def split_al_status(value: int) -> tuple[StateValue, bool]:
    """Split an AL status register value into (state, error indication).

    :raises ValueError: if ``value`` is not a 16-bit register value.
    """
    _check_register_value(value, "AL status")
    return state_from_value(value & AL_STATE_MASK), bool(value & AL_STATUS_ERROR_INDICATION)


def compose_al_status(state: int, error: bool = False) -> int:
    """AL status register value for ``state`` with the error indication bit set if ``error``.

    :raises ValueError: if ``state`` does not fit the 4-bit state field.
    """
    _check_state(state)
    return state | (AL_STATUS_ERROR_INDICATION if error else 0)


def split_al_control(value: int) -> tuple[StateValue, bool]:
    """Split an AL control register value into (requested state, error acknowledge).

    :raises ValueError: if ``value`` is not a 16-bit register value.
    """
    _check_register_value(value, "AL control")
    return state_from_value(value & AL_STATE_MASK), bool(value & AL_CONTROL_ERROR_ACK)


def compose_al_control(state: int, ack: bool = False) -> int:
    """AL control register value requesting ``state``, acknowledging the error if ``ack``.

    :raises ValueError: if ``state`` does not fit the 4-bit state field.
    """
    _check_state(state)
    return state | (AL_CONTROL_ERROR_ACK if ack else 0)


class ALStatusCode(enum.IntEnum):
    """The named AL status codes (register 0x0134), ETG.1000.6 and ETG.1020."""

    NO_ERROR = 0x0000
    UNSPECIFIED_ERROR = 0x0001
    NO_MEMORY = 0x0002
    INVALID_DEVICE_SETUP = 0x0003
    INVALID_REVISION = 0x0004
    RESERVED_COMPATIBILITY = 0x0005
    FIRMWARE_EEPROM_MISMATCH = 0x0006
    FIRMWARE_UPDATE_FAILED = 0x0007
    INVALID_REQUESTED_STATE_CHANGE = 0x0011
    UNKNOWN_REQUESTED_STATE = 0x0012
    BOOTSTRAP_NOT_SUPPORTED = 0x0013
    NO_VALID_FIRMWARE = 0x0014
    INVALID_MAILBOX_CONFIGURATION_BOOT = 0x0015
    INVALID_MAILBOX_CONFIGURATION_PREOP = 0x0016
    INVALID_SYNC_MANAGER_CONFIGURATION = 0x0017
    NO_VALID_INPUTS = 0x0018
    NO_VALID_OUTPUTS = 0x0019
    SYNCHRONIZATION_ERROR = 0x001A
    SYNC_MANAGER_WATCHDOG = 0x001B
    INVALID_SYNC_MANAGER_TYPES = 0x001C
    INVALID_OUTPUT_CONFIGURATION = 0x001D
    INVALID_INPUT_CONFIGURATION = 0x001E
    INVALID_WATCHDOG_CONFIGURATION = 0x001F
    SLAVE_NEEDS_COLD_START = 0x0020
    SLAVE_NEEDS_INIT = 0x0021
    SLAVE_NEEDS_PREOP = 0x0022
    SLAVE_NEEDS_SAFEOP = 0x0023
    INVALID_INPUT_MAPPING = 0x0024
    INVALID_OUTPUT_MAPPING = 0x0025
    INCONSISTENT_SETTINGS = 0x0026
    FREERUN_NOT_SUPPORTED = 0x0027
    SYNCMODE_NOT_SUPPORTED = 0x0028
    FREERUN_NEEDS_3BUFFER_MODE = 0x0029
    BACKGROUND_WATCHDOG = 0x002A
    NO_VALID_INPUTS_AND_OUTPUTS = 0x002B
    FATAL_SYNC_ERROR = 0x002C
    NO_SYNC_ERROR = 0x002D
    CYCLE_TIME_TOO_SMALL = 0x002E
    INVALID_DC_SYNC_CONFIGURATION = 0x0030
    INVALID_DC_LATCH_CONFIGURATION = 0x0031
    PLL_ERROR = 0x0032
    DC_SYNC_IO_ERROR = 0x0033
    DC_SYNC_TIMEOUT_ERROR = 0x0034
    DC_INVALID_SYNC_CYCLE_TIME = 0x0035
    DC_SYNC0_CYCLE_TIME = 0x0036
    DC_SYNC1_CYCLE_TIME = 0x0037
    MBX_AOE = 0x0041
    MBX_EOE = 0x0042
    MBX_COE = 0x0043
    MBX_FOE = 0x0044
    MBX_SOE = 0x0045
    MBX_VOE = 0x004F
    EEPROM_NO_ACCESS = 0x0050
    EEPROM_ERROR = 0x0051
    EXTERNAL_HARDWARE_NOT_READY = 0x0052
    SLAVE_RESTARTED_LOCALLY = 0x0060
    DEVICE_IDENTIFICATION_VALUE_UPDATED = 0x0061
    MODULE_IDENT_LIST_MISMATCH = 0x0070
    SUPPLY_VOLTAGE_TOO_LOW = 0x0080
    SUPPLY_VOLTAGE_TOO_HIGH = 0x0081
    TEMPERATURE_TOO_LOW = 0x0082
    TEMPERATURE_TOO_HIGH = 0x0083
    APPLICATION_CONTROLLER_AVAILABLE = 0x00F0

    @property
    def text(self) -> str:
        """The specification's text for this code."""
        return AL_STATUS_CODES[self]


#: Every AL status code the specifications name, with the specification's text.
AL_STATUS_CODES: dict[int, str] = {
    ALStatusCode.NO_ERROR: "No error",
    ALStatusCode.UNSPECIFIED_ERROR: "Unspecified error",
    ALStatusCode.NO_MEMORY: "No Memory",
    ALStatusCode.INVALID_DEVICE_SETUP: "Invalid Device Setup",
    ALStatusCode.INVALID_REVISION: "Invalid revision",
    ALStatusCode.RESERVED_COMPATIBILITY: "Reserved due to compatibility reasons",
    ALStatusCode.FIRMWARE_EEPROM_MISMATCH: "Firmware and EEPROM do not match",
    ALStatusCode.FIRMWARE_UPDATE_FAILED: "Firmware update not successful, old firmware still running",
    ALStatusCode.INVALID_REQUESTED_STATE_CHANGE: "Invalid requested state change",
    ALStatusCode.UNKNOWN_REQUESTED_STATE: "Unknown requested state",
    ALStatusCode.BOOTSTRAP_NOT_SUPPORTED: "Bootstrap not supported",
    ALStatusCode.NO_VALID_FIRMWARE: "No valid firmware",
    ALStatusCode.INVALID_MAILBOX_CONFIGURATION_BOOT: "Invalid mailbox configuration (BOOT)",
    ALStatusCode.INVALID_MAILBOX_CONFIGURATION_PREOP: "Invalid mailbox configuration (PREOP)",
    ALStatusCode.INVALID_SYNC_MANAGER_CONFIGURATION: "Invalid sync manager configuration",
    ALStatusCode.NO_VALID_INPUTS: "No valid inputs available",
    ALStatusCode.NO_VALID_OUTPUTS: "No valid outputs",
    ALStatusCode.SYNCHRONIZATION_ERROR: "Synchronization error",
    ALStatusCode.SYNC_MANAGER_WATCHDOG: "Sync manager watchdog",
    ALStatusCode.INVALID_SYNC_MANAGER_TYPES: "Invalid Sync Manager Types",
    ALStatusCode.INVALID_OUTPUT_CONFIGURATION: "Invalid Output Configuration",
    ALStatusCode.INVALID_INPUT_CONFIGURATION: "Invalid Input Configuration",
    ALStatusCode.INVALID_WATCHDOG_CONFIGURATION: "Invalid Watchdog Configuration",
    ALStatusCode.SLAVE_NEEDS_COLD_START: "Slave needs cold start",
    ALStatusCode.SLAVE_NEEDS_INIT: "Slave needs INIT",
    ALStatusCode.SLAVE_NEEDS_PREOP: "Slave needs PREOP",
    ALStatusCode.SLAVE_NEEDS_SAFEOP: "Slave needs SAFEOP",
    ALStatusCode.INVALID_INPUT_MAPPING: "Invalid Input Mapping",
    ALStatusCode.INVALID_OUTPUT_MAPPING: "Invalid Output Mapping",
    ALStatusCode.INCONSISTENT_SETTINGS: "Inconsistent Settings",
    ALStatusCode.FREERUN_NOT_SUPPORTED: "FreeRun not supported",
    ALStatusCode.SYNCMODE_NOT_SUPPORTED: "SyncMode not supported",
    ALStatusCode.FREERUN_NEEDS_3BUFFER_MODE: "FreeRun needs 3Buffer Mode",
    ALStatusCode.BACKGROUND_WATCHDOG: "Background Watchdog",
    ALStatusCode.NO_VALID_INPUTS_AND_OUTPUTS: "No Valid Inputs and Outputs",
    ALStatusCode.FATAL_SYNC_ERROR: "Fatal Sync Error",
    ALStatusCode.NO_SYNC_ERROR: "No Sync Error",
    ALStatusCode.CYCLE_TIME_TOO_SMALL: "Cycle time too small",
    ALStatusCode.INVALID_DC_SYNC_CONFIGURATION: "Invalid DC SYNC Configuration",
    ALStatusCode.INVALID_DC_LATCH_CONFIGURATION: "Invalid DC Latch Configuration",
    ALStatusCode.PLL_ERROR: "PLL Error",
    ALStatusCode.DC_SYNC_IO_ERROR: "DC Sync IO Error",
    ALStatusCode.DC_SYNC_TIMEOUT_ERROR: "DC Sync Timeout Error",
    ALStatusCode.DC_INVALID_SYNC_CYCLE_TIME: "DC Invalid Sync Cycle Time",
    ALStatusCode.DC_SYNC0_CYCLE_TIME: "DC Sync0 Cycle Time",
    ALStatusCode.DC_SYNC1_CYCLE_TIME: "DC Sync1 Cycle Time",
    ALStatusCode.MBX_AOE: "MBX_AOE",
    ALStatusCode.MBX_EOE: "MBX_EOE",
    ALStatusCode.MBX_COE: "MBX_COE",
    ALStatusCode.MBX_FOE: "MBX_FOE",
    ALStatusCode.MBX_SOE: "MBX_SOE",
    ALStatusCode.MBX_VOE: "MBX_VOE",
    ALStatusCode.EEPROM_NO_ACCESS: "EEPROM no access",
    ALStatusCode.EEPROM_ERROR: "EEPROM Error",
    ALStatusCode.EXTERNAL_HARDWARE_NOT_READY: "External Hardware not ready",
    ALStatusCode.SLAVE_RESTARTED_LOCALLY: "Slave restarted locally",
    ALStatusCode.DEVICE_IDENTIFICATION_VALUE_UPDATED: "Device Identification value updated",
    ALStatusCode.MODULE_IDENT_LIST_MISMATCH: "Detected Module Ident List does not match",
    ALStatusCode.SUPPLY_VOLTAGE_TOO_LOW: "Supply voltage too low",
    ALStatusCode.SUPPLY_VOLTAGE_TOO_HIGH: "Supply voltage too high",
    ALStatusCode.TEMPERATURE_TOO_LOW: "Temperature too low",
    ALStatusCode.TEMPERATURE_TOO_HIGH: "Temperature too high",
    ALStatusCode.APPLICATION_CONTROLLER_AVAILABLE: "Application controller available",
}

#: Codes 0x8000-0xFFFF are vendor specific; every other unnamed code is reserved.
VENDOR_SPECIFIC_FIRST = 0x8000
VENDOR_SPECIFIC_LAST = 0xFFFF


def al_status_text(code: int) -> str:
    """The specification's text for an AL status code; never fails.

    Vendor-specific codes (0x8000-0xFFFF), reserved codes and values that are no 16-bit
    code at all get a descriptive text that names the value in hex.
    """
    if isinstance(code, bool) or not isinstance(code, int):
        return f"invalid AL status code {code!r}"
    text = AL_STATUS_CODES.get(code)
    if text is not None:
        return text
    if VENDOR_SPECIFIC_FIRST <= code <= VENDOR_SPECIFIC_LAST:
        return f"vendor specific AL status code 0x{code:04X}"
    if 0 <= code < VENDOR_SPECIFIC_FIRST:
        return f"reserved AL status code 0x{code:04X}"
    return f"invalid AL status code {code} (not a 16-bit value)"
