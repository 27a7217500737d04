"""SDO abort codes and their specification texts.

The codes and texts are those of ETG.1000.6 "Abort SDO Transfer", Table 41 "SDO
Abort Codes", which adopts the CiA 301 SDO abort codes and adds the EtherCAT codes
0x06010003..0x06010006 and 0x06090033 (module ident list, ETG.5001). The CiA 301 codes that
ETG.1000.6 leaves out (block transfer 0x05040002..0x05040004, 0x060A0023, 0x08000024) are
included with their CiA 301 texts so that gateways to CANopen devices get readable messages.
"""

from __future__ import annotations

import enum

__all__ = ["SdoAbortCode", "SDO_ABORT_CODES", "sdo_abort_text"]

MAX_U32 = 0xFFFFFFFF


class SdoAbortCode(enum.IntEnum):
    """SDO abort codes (ETG.1000.6 Table 41, CiA 301 SDO abort codes)."""

    TOGGLE_BIT_NOT_CHANGED = 0x05030000
    SDO_PROTOCOL_TIMEOUT = 0x05040000
    INVALID_COMMAND_SPECIFIER = 0x05040001
    INVALID_BLOCK_SIZE = 0x05040002
    INVALID_SEQUENCE_NUMBER = 0x05040003
    CRC_ERROR = 0x05040004
    OUT_OF_MEMORY = 0x05040005
    UNSUPPORTED_ACCESS = 0x06010000
    READ_WRITE_ONLY_OBJECT = 0x06010001
    WRITE_READ_ONLY_OBJECT = 0x06010002
    SUBINDEX_CANNOT_BE_WRITTEN = 0x06010003
    COMPLETE_ACCESS_NOT_SUPPORTED = 0x06010004
    OBJECT_LENGTH_EXCEEDS_MAILBOX = 0x06010005
    OBJECT_MAPPED_TO_RXPDO = 0x06010006
    OBJECT_DOES_NOT_EXIST = 0x06020000
    OBJECT_CANNOT_BE_MAPPED = 0x06040041
    PDO_LENGTH_EXCEEDED = 0x06040042
    GENERAL_PARAMETER_INCOMPATIBILITY = 0x06040043
    GENERAL_INTERNAL_INCOMPATIBILITY = 0x06040047
    HARDWARE_ERROR = 0x06060000
    DATA_LENGTH_MISMATCH = 0x06070010
    DATA_LENGTH_TOO_HIGH = 0x06070012
    DATA_LENGTH_TOO_LOW = 0x06070013
    SUBINDEX_DOES_NOT_EXIST = 0x06090011
    VALUE_RANGE_EXCEEDED = 0x06090030
    VALUE_TOO_HIGH = 0x06090031
    VALUE_TOO_LOW = 0x06090032
    MODULE_IDENT_LIST_MISMATCH = 0x06090033
    MAXIMUM_LESS_THAN_MINIMUM = 0x06090036
    RESOURCE_NOT_AVAILABLE = 0x060A0023
    GENERAL_ERROR = 0x08000000
    DATA_CANNOT_BE_TRANSFERRED = 0x08000020
    DATA_CANNOT_BE_TRANSFERRED_LOCAL_CONTROL = 0x08000021
    DATA_CANNOT_BE_TRANSFERRED_DEVICE_STATE = 0x08000022
    NO_OBJECT_DICTIONARY = 0x08000023
    NO_DATA_AVAILABLE = 0x08000024


#: Every abort code with its specification text.
SDO_ABORT_CODES: dict[int, str] = {
    SdoAbortCode.TOGGLE_BIT_NOT_CHANGED: "Toggle bit not changed",
    SdoAbortCode.SDO_PROTOCOL_TIMEOUT: "SDO protocol timeout",
    SdoAbortCode.INVALID_COMMAND_SPECIFIER: "Client/Server command specifier not valid or unknown",
    SdoAbortCode.INVALID_BLOCK_SIZE: "Invalid block size (block mode only)",
    SdoAbortCode.INVALID_SEQUENCE_NUMBER: "Invalid sequence number (block mode only)",
    SdoAbortCode.CRC_ERROR: "CRC error (block mode only)",
    SdoAbortCode.OUT_OF_MEMORY: "Out of memory",
    SdoAbortCode.UNSUPPORTED_ACCESS: "Unsupported access to an object",
    SdoAbortCode.READ_WRITE_ONLY_OBJECT: "Attempt to read to a write only object",
    SdoAbortCode.WRITE_READ_ONLY_OBJECT: "Attempt to write to a read only object",
    SdoAbortCode.SUBINDEX_CANNOT_BE_WRITTEN: "Subindex cannot be written, SI0 must be 0 for write access",
    SdoAbortCode.COMPLETE_ACCESS_NOT_SUPPORTED: (
        "SDO Complete access not supported for objects of variable length such as ENUM object types"
    ),
    SdoAbortCode.OBJECT_LENGTH_EXCEEDS_MAILBOX: "Object length exceeds mailbox size",
    SdoAbortCode.OBJECT_MAPPED_TO_RXPDO: "Object mapped to RxPDO, SDO Download blocked",
    SdoAbortCode.OBJECT_DOES_NOT_EXIST: "The object does not exist in the object directory",
    SdoAbortCode.OBJECT_CANNOT_BE_MAPPED: "The object can not be mapped into the PDO",
    SdoAbortCode.PDO_LENGTH_EXCEEDED: (
        "The number and length of the objects to be mapped would exceed the PDO length"
    ),
    SdoAbortCode.GENERAL_PARAMETER_INCOMPATIBILITY: "General parameter incompatibility reason",
    SdoAbortCode.GENERAL_INTERNAL_INCOMPATIBILITY: "General internal incompatibility in the device",
    SdoAbortCode.HARDWARE_ERROR: "Access failed due to a hardware error",
    SdoAbortCode.DATA_LENGTH_MISMATCH: (
        "Data type does not match, length of service parameter does not match"
    ),
    SdoAbortCode.DATA_LENGTH_TOO_HIGH: "Data type does not match, length of service parameter too high",
    SdoAbortCode.DATA_LENGTH_TOO_LOW: "Data type does not match, length of service parameter too low",
    SdoAbortCode.SUBINDEX_DOES_NOT_EXIST: "Subindex does not exist",
    SdoAbortCode.VALUE_RANGE_EXCEEDED: "Value range of parameter exceeded (only for write access)",
    SdoAbortCode.VALUE_TOO_HIGH: "Value of parameter written too high",
    SdoAbortCode.VALUE_TOO_LOW: "Value of parameter written too low",
    SdoAbortCode.MODULE_IDENT_LIST_MISMATCH: (
        "Detected Module Ident List (0xF030) and Configured Module Ident List (0xF050) do not match"
    ),
    SdoAbortCode.MAXIMUM_LESS_THAN_MINIMUM: "Maximum value is less than minimum value",
    SdoAbortCode.RESOURCE_NOT_AVAILABLE: "Resource not available: SDO connection",
    SdoAbortCode.GENERAL_ERROR: "General error",
    SdoAbortCode.DATA_CANNOT_BE_TRANSFERRED: "Data cannot be transferred or stored to the application",
    SdoAbortCode.DATA_CANNOT_BE_TRANSFERRED_LOCAL_CONTROL: (
        "Data cannot be transferred or stored to the application because of local control"
    ),
    SdoAbortCode.DATA_CANNOT_BE_TRANSFERRED_DEVICE_STATE: (
        "Data cannot be transferred or stored to the application because of the present device state"
    ),
    SdoAbortCode.NO_OBJECT_DICTIONARY: (
        "Object dictionary dynamic generation fails or no object dictionary is present"
    ),
    SdoAbortCode.NO_DATA_AVAILABLE: "No data available",
}


def sdo_abort_text(code: int) -> str:
    """The specification text of an SDO abort code; unknown codes get a text with the value."""
    text = SDO_ABORT_CODES.get(code)
    if text is None:
        return f"Unknown SDO abort code 0x{code & MAX_U32:08X}"
    return text
