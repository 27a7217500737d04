"""Errors of the drive profiles, below :class:`~ethercat_master.errors.EtherCATError`.

::

    EtherCATError
    └── DriveError                  a drive did not do what was asked (names drive, state, statusword)
        ├── DriveMappingError       the drive's PDO mapping lacks an entry a feature needs
        │   └── UnsupportedModeError    a mode whose target entry is not mapped
        ├── DriveCommandError       a set-point out of range or in the wrong mode (also ValueError)
        ├── DriveStateError         a request that the drive's state does not allow
        ├── DriveFaultError         the drive is in fault, or went into fault during a request
        ├── DriveTimeout            a request did not complete in time
        ├── DriveRequestCancelled   a request was superseded by a later one
        └── HomingError             the drive reported a homing error
"""

from __future__ import annotations

from typing import Optional

from ..errors import EtherCATError
from .cia402_state import Cia402State

__all__ = [
    "DriveError",
    "DriveMappingError",
    "UnsupportedModeError",
    "DriveCommandError",
    "DriveStateError",
    "DriveFaultError",
    "DriveTimeout",
    "DriveRequestCancelled",
    "HomingError",
]


class DriveError(EtherCATError):
    """A drive did not do what was asked.

    :ivar drive: the drive, e.g. ``"axis1 (position 4)"``.
    :ivar detail: what went wrong.
    :ivar state: the drive's state when it happened, if known.
    :ivar statusword: its statusword then, if known.
    """

    def __init__(self, drive: str, detail: str, *, state: Optional[Cia402State] = None,
                 statusword: Optional[int] = None):
        self.drive = drive
        self.detail = detail
        self.state = state
        self.statusword = statusword
        where = []
        if state is not None:
            where.append(f"state {state.value!r}")
        if statusword is not None:
            where.append(f"statusword 0x{statusword:04X}")
        suffix = f" ({', '.join(where)})" if where else ""
        super().__init__(f"drive {drive}: {detail}{suffix}")


class DriveMappingError(DriveError):
    """The drive's PDO mapping lacks an entry that a feature needs (e.g. no statusword)."""


class UnsupportedModeError(DriveMappingError):
    """A mode of operation was asked for whose target entry (or other needed entry) is not
    mapped, or that cannot be selected because 0x6060 is not mapped.

    :ivar mode: the mode asked for.
    """

    def __init__(self, drive: str, mode: int, detail: str):
        self.mode = mode
        super().__init__(drive, detail)


class DriveCommandError(DriveError, ValueError):
    """A set-point that does not fit its PDO entry, or that the mode in effect does not take."""


class DriveStateError(DriveError):
    """A request that the drive's state does not allow (e.g. homing while not enabled)."""


class DriveFaultError(DriveError):
    """The drive is in fault, or went into fault while a request was running.

    :ivar error_code: the drive's error code (0x603F) if it is mapped, else None.
    """

    def __init__(self, drive: str, detail: str, *, state: Optional[Cia402State] = None,
                 statusword: Optional[int] = None, error_code: Optional[int] = None):
        self.error_code = error_code
        if error_code is not None:
            detail = f"{detail}, error code 0x{error_code:04X}"
        super().__init__(drive, detail, state=state, statusword=statusword)


class DriveTimeout(DriveError):
    """A request did not complete in time; the message tells the state the drive is stuck in
    and its statusword.

    :ivar request: what was asked, e.g. ``"enable"``.
    :ivar timeout: the seconds allowed.
    """

    def __init__(self, drive: str, request: str, timeout: float, *, state: Optional[Cia402State] = None,
                 statusword: Optional[int] = None, waiting_for: str = ""):
        self.request = request
        self.timeout = timeout
        detail = f"{request} did not complete within {timeout:g} s"
        if waiting_for:
            detail += f" (waiting for {waiting_for})"
        super().__init__(drive, detail, state=state, statusword=statusword)


class DriveRequestCancelled(DriveError):
    """A request was superseded by a later request to the same drive before it completed."""


class HomingError(DriveError):
    """The drive reported a homing error (statusword bit 13 in homing mode), or homing was
    interrupted."""
