"""Device applications of simulated CoE slaves: what runs on top of a slave's object dictionary.

A device application adds its objects to an
:class:`~ethercat_master.sim.object_dictionary.ObjectDictionary` and runs one cycle per
synchronisation event; the slave layer copies RxPDO data into the dictionary before the cycle
and TxPDO data out after it. Written from the device profiles, never from this project's
master.

Public API::

    Cia402Drive        a CiA 402 servo drive: PDS state machine, CSP/CSV/CST/PP/PV/HM, motor
                       model, following error, fault reaction, quick stop, SYNC0 supervision
    DriveConfig        identity and physics of one drive
    drive_objects      the drive's object dictionary entries: communication_objects (CiA 301,
                       0x1000-0x1C33) and profile_objects (CiA 402)
    CycleTrigger       the event that runs a cycle: local timer, SM2 event or SYNC0
    DriveState, Command, TRANSITION_TABLE, decode_command
                       the state machine as a table over decoded controlword commands
    Controlword, Statusword, OperationMode, HomingMethod, QuickStopOption,
    FaultReactionOption, SupportedDriveModes, DriveErrorCode, Cia402Object
                       the profile's bit words, codes and object indices
"""

from .cia402_drive import (
    SERVO_DRIVE_DEVICE_TYPE,
    SUPPORTED_HOMING_METHODS,
    SUPPORTED_MODES,
    TRANSITION_TABLE,
    Cia402Drive,
    Cia402Object,
    Command,
    Controlword,
    CycleTrigger,
    DriveConfig,
    DriveErrorCode,
    DriveState,
    EmergencySink,
    FaultReactionOption,
    HomingMethod,
    OperationMode,
    QuickStopOption,
    Statusword,
    SupportedDriveModes,
    communication_objects,
    decode_command,
    drive_objects,
    error_register_for,
    profile_objects,
)

__all__ = [
    "SERVO_DRIVE_DEVICE_TYPE",
    "SUPPORTED_HOMING_METHODS",
    "SUPPORTED_MODES",
    "TRANSITION_TABLE",
    "Cia402Drive",
    "Cia402Object",
    "Command",
    "Controlword",
    "CycleTrigger",
    "DriveConfig",
    "DriveErrorCode",
    "DriveState",
    "EmergencySink",
    "FaultReactionOption",
    "HomingMethod",
    "OperationMode",
    "QuickStopOption",
    "Statusword",
    "SupportedDriveModes",
    "communication_objects",
    "decode_command",
    "drive_objects",
    "error_register_for",
    "profile_objects",
]
