"""CiA 402 (IEC 61800-7-201, ETG.6010) controlword and statusword bits: the wire facts a
drive and a master of drives share, so the simulated drive (``sim/devices``) and the master's
drive profile (``devices/``) read and write the same bits from one definition."""

from __future__ import annotations

import enum

__all__ = ["Statusword", "Controlword"]


class Statusword(enum.IntFlag):
    """Statusword (0x6041) bits. Bits 10, 12 and 13 depend on the mode of operation: the
    aliases name their meaning per mode."""

    READY_TO_SWITCH_ON = 0x0001
    SWITCHED_ON = 0x0002
    OPERATION_ENABLED = 0x0004
    FAULT = 0x0008
    VOLTAGE_ENABLED = 0x0010
    #: Low active: 0 while a quick stop is active.
    QUICK_STOP = 0x0020
    SWITCH_ON_DISABLED = 0x0040
    WARNING = 0x0080
    MANUFACTURER_SPECIFIC = 0x0100
    REMOTE = 0x0200
    #: PP/PV: target reached; HM: with bits 12/13, the homing status; quick stop active:
    #: the axis stands still.
    TARGET_REACHED = 0x0400
    INTERNAL_LIMIT_ACTIVE = 0x0800
    #: Bit 12, operation mode specific.
    OPERATION_MODE_SPECIFIC_12 = 0x1000
    #: PP: set-point acknowledge.
    SET_POINT_ACKNOWLEDGE = 0x1000
    #: PV: speed is zero.
    SPEED_ZERO = 0x1000
    #: HM: homing attained.
    HOMING_ATTAINED = 0x1000
    #: CSP/CSV/CST: the drive follows the target value.
    DRIVE_FOLLOWS_COMMAND = 0x1000
    #: Bit 13, operation mode specific.
    OPERATION_MODE_SPECIFIC_13 = 0x2000
    #: PP/CSP: following error.
    FOLLOWING_ERROR = 0x2000
    #: HM: homing error.
    HOMING_ERROR = 0x2000


class Controlword(enum.IntFlag):
    """Controlword (0x6040) bits. Bits 4..6 and 9 depend on the mode of operation."""

    SWITCH_ON = 0x0001
    ENABLE_VOLTAGE = 0x0002
    #: Low active: 0 commands a quick stop.
    QUICK_STOP = 0x0004
    ENABLE_OPERATION = 0x0008
    #: PP: new set-point (rising edge).
    NEW_SET_POINT = 0x0010
    #: HM: homing operation start (rising edge starts, 0 interrupts).
    HOMING_OPERATION_START = 0x0010
    #: PP: change set immediately.
    CHANGE_SET_IMMEDIATELY = 0x0020
    #: PP: the target is relative.
    RELATIVE = 0x0040
    #: Rising edge: fault reset.
    FAULT_RESET = 0x0080
    HALT = 0x0100
    #: PP: change on set-point.
    CHANGE_ON_SET_POINT = 0x0200
