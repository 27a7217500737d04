"""One CiA 402 drive on top of the master's process image.

Threads
    :meth:`Cia402Drive.update` is stepped once per cycle from the cycle thread (the
    :class:`~ethercat_master.master.cyclic.CycleThread`'s ``on_cycle``, after the exchange): it
    reads the drive's inputs once, advances the request in progress by at most one step,
    and writes the outputs once. It never waits: it holds the drive's own lock only while it
    computes, and the image's lock only while it reads or writes the slave's area (never both
    at once). Requests come from other threads (ROS services and topics):
    :meth:`~Cia402Drive.enable`, :meth:`~Cia402Drive.disable`, :meth:`~Cia402Drive.quick_stop`,
    :meth:`~Cia402Drive.fault_reset`, :meth:`~Cia402Drive.set_mode`, :meth:`~Cia402Drive.home`
    each return a :class:`DriveRequest`; with ``wait=True`` (the default) they block the
    caller until it completes and raise a :mod:`.drive_errors` error when it fails or times
    out. One request runs at a time: a new one supersedes the one in progress, which fails with
    :class:`~.drive_errors.DriveRequestCancelled`. :meth:`~Cia402Drive.command` sets the
    set-point of the mode in effect and returns at once.

Safe enable
    Whenever the drive does not follow set-points (any state but operation enabled, and while
    a mode change is under way) every mapped target holds the axis: the target position is the
    actual position, the target velocity and torque are 0; the set-points are reset to those
    values too. So a drive entering operation enabled (or a new mode) takes the position it is
    at, never a stale or zero target; set-points given by :meth:`~Cia402Drive.command` count
    only from the cycle the drive is seen operation enabled in the requested mode.

Without a request
    The drive keeps the state it reached: the controlword holds that state
    (:data:`~.cia402_state.HOLDING_COMMAND`). A state the drive changes to on its own (a fault,
    the end of a quick stop, a lost enable) is followed, never fought: the master does not
    re-enable a drive that left operation enabled, and never resets a fault unasked.

Events
    Faults (entered and cleared), the following error of the configured window
    (|last target position written - actual position| beyond it, in CSP; in PP the drive's
    following error actual value 0x60F4 when mapped), the drive's own following error bit,
    the warning bit, and operation enabled left without a request, are :class:`DriveEvent`
    records: kept in a bounded queue (:meth:`~Cia402Drive.events`) and passed to listeners
    (:meth:`~Cia402Drive.add_listener`), which run in the cycle thread and must be quick.

PDO entries
    Fields are found by object index, not by name, so any naming of the entries works: 0x6040
    and 0x6041 are required; 0x6060/0x6061, the targets 0x607A/0x60FF/0x6071, the actual
    values 0x6064/0x606C/0x6077, 0x60F4 and 0x603F are used when mapped. A mode whose target
    entry (or, for position modes, 0x6064) is not mapped is refused with
    :class:`~.drive_errors.UnsupportedModeError`; without 0x6060 the mode cannot be changed
    from the process image (it is what the startup SDOs set); without 0x6061 a mode counts as
    in effect :data:`MODE_SETTLE_CYCLES` cycles after it was written.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol, Union

from ..protocol.coe import DataType
from .cia402_state import (
    HOLDING_COMMAND,
    Cia402Command,
    Cia402State,
    Controlword,
    HomingStatus,
    ModeStatus,
    OperationMode,
    Statusword,
    decode_mode_status,
    decode_state,
    next_command,
)
from .drive_errors import (
    DriveCommandError,
    DriveError,
    DriveFaultError,
    DriveMappingError,
    DriveRequestCancelled,
    DriveStateError,
    DriveTimeout,
    HomingError,
    UnsupportedModeError,
)
from .scaling import DriveScaling

__all__ = [
    "Cia402Object",
    "MODE_TARGETS",
    "MODE_SETTLE_CYCLES",
    "HOMING_ACK_CYCLES",
    "FAULT_RESET_PULSE_CYCLES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_HOMING_TIMEOUT",
    "SdoClient",
    "RequestKind",
    "DriveRequest",
    "DriveEventKind",
    "DriveEvent",
    "DriveFault",
    "DriveStatus",
    "Cia402Drive",
]

#: Statusword bits as plain ints for the per-cycle path (IntFlag operators run in Python).
_SW_WARNING = int(Statusword.WARNING)
_SW_TARGET_REACHED = int(Statusword.TARGET_REACHED)
_log = logging.getLogger(__name__)


class Cia402Object(enum.IntEnum):
    """The CiA 402 objects the drive uses in the process image (and 0x6098 by SDO)."""

    ERROR_CODE = 0x603F
    CONTROLWORD = 0x6040
    STATUSWORD = 0x6041
    MODES_OF_OPERATION = 0x6060
    MODES_OF_OPERATION_DISPLAY = 0x6061
    POSITION_ACTUAL_VALUE = 0x6064
    VELOCITY_ACTUAL_VALUE = 0x606C
    TARGET_TORQUE = 0x6071
    TORQUE_ACTUAL_VALUE = 0x6077
    TARGET_POSITION = 0x607A
    HOMING_METHOD = 0x6098
    FOLLOWING_ERROR_ACTUAL_VALUE = 0x60F4
    TARGET_VELOCITY = 0x60FF


_O = Cia402Object
_M = OperationMode
_S = Cia402State
_C = Cia402Command

#: The output entry each mode's set-point goes to (None: homing takes no set-point).
MODE_TARGETS: dict[OperationMode, Optional[Cia402Object]] = {
    _M.PP: _O.TARGET_POSITION,
    _M.CSP: _O.TARGET_POSITION,
    _M.PV: _O.TARGET_VELOCITY,
    _M.CSV: _O.TARGET_VELOCITY,
    _M.PT: _O.TARGET_TORQUE,
    _M.CST: _O.TARGET_TORQUE,
    _M.HM: None,
}
_POSITION_MODES = frozenset({_M.PP, _M.CSP})
_VELOCITY_MODES = frozenset({_M.PV, _M.CSV})
_TORQUE_MODES = frozenset({_M.PT, _M.CST})

#: Without 0x6061 mapped, cycles after which a written mode counts as in effect.
MODE_SETTLE_CYCLES = 10
#: Cycles after the homing start edge after which the homing status bits count as the new
#: run's even if they did not change (homing on the current position may complete at once).
HOMING_ACK_CYCLES = 10
#: Cycles the fault reset bit stays set before it is dropped and raised again.
FAULT_RESET_PULSE_CYCLES = 10
#: Default timeout of a request, in seconds.
DEFAULT_TIMEOUT = 2.0
#: Default timeout of homing, in seconds.
DEFAULT_HOMING_TIMEOUT = 30.0
_DEFAULT_EVENT_CAPACITY = 256
_NO_FAULT_STATES = frozenset(set(_S) - {_S.FAULT, _S.FAULT_REACTION_ACTIVE})
_FAULT_STATES = frozenset({_S.FAULT, _S.FAULT_REACTION_ACTIVE})


class SdoClient(Protocol):
    """What the drive needs of a CoE client (:class:`~ethercat_master.master.coe.CoEClient`)."""

    def read(self, index: int, subindex: int, data_type: Union[DataType, int]) -> Any:
        """Upload an entry."""

    def write(self, index: int, subindex: int, value: Any, data_type: Union[DataType, int]) -> None:
        """Download an entry."""


class _Area(Protocol):
    """What the drive needs of a slave's process image area
    (:class:`~ethercat_master.master.process_image.SlaveArea`)."""

    info: Any

    def read(self) -> dict[str, Any]:
        """Every field, as one consistent set."""

    def write(self, values: Optional[Mapping[str, Any]] = None, /, **more: Any) -> None:
        """Several fields, as one consistent set."""


# ------------------------------------------------------------------------------ requests
class RequestKind(enum.Enum):
    """What a :class:`DriveRequest` asks for."""

    ENABLE = "enable"
    DISABLE = "disable"
    QUICK_STOP = "quick stop"
    FAULT_RESET = "fault reset"
    SET_MODE = "mode change"
    HOME = "homing"


class DriveRequest:
    """A request to a drive, completed by the drive's :meth:`~Cia402Drive.update`.

    :ivar kind: what is asked.
    :ivar timeout: seconds allowed; :ivar deadline: the :func:`time.monotonic` time it ends.
    """

    def __init__(self, drive: Cia402Drive, kind: RequestKind, timeout: float, detail: str = ""):
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        self.kind = kind
        self.detail = detail
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._drive = drive
        self._event = threading.Event()
        self._error: Optional[DriveError] = None
        self._callbacks: list[Callable[[DriveRequest], None]] = []
        self._callback_lock = threading.Lock()
        # progress, touched only under the drive's lock
        self.phase = ""
        self.cycle = 0
        self.mode: Optional[int] = None
        self.previous_mode: Optional[int] = None
        self.restore_mode = False
        self.edge_cycle = 0
        self.edge_status: Optional[HomingStatus] = None
        self.started = False

    def __repr__(self) -> str:
        status = "pending" if not self.done else ("failed" if self._error else "done")
        return f"<DriveRequest {self.describe()} of {self._drive.name}: {status}>"

    def describe(self) -> str:
        """``"enable"``, ``"mode change to CSP"``..."""
        return f"{self.kind.value} {self.detail}".strip()

    @property
    def done(self) -> bool:
        """True once it completed or failed."""
        return self._event.is_set()

    def exception(self) -> Optional[DriveError]:
        """Why it failed; None while pending or when it succeeded."""
        return self._error

    def wait(self, timeout: Optional[float] = None) -> None:
        """Block until it completes (at most until its deadline, or ``timeout`` seconds if
        that is shorter); raise its error if it failed. A request still pending at its deadline
        fails with :class:`~.drive_errors.DriveTimeout` (also when no cycle runs)."""
        remaining = self.deadline - time.monotonic()
        if timeout is not None and timeout < remaining:
            if not self._event.wait(max(timeout, 0.0)):
                raise DriveTimeout(self._drive.name, self.describe(), timeout, state=self._drive.state,
                                   statusword=self._drive.statusword, waiting_for="the caller's wait ended")
        elif not self._event.wait(max(remaining, 0.0)):
            self._drive._expire(self)
            self._event.wait()
        if self._error is not None:
            raise self._error

    def add_done_callback(self, callback: Callable[[DriveRequest], None]) -> None:
        """Call ``callback(request)`` once it is done (at once if it is); it runs in the thread
        that completes the request, usually the cycle thread, and must be quick."""
        with self._callback_lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback(self)

    def _resolve(self, error: Optional[DriveError]) -> None:
        """Complete (``error`` None) or fail it; called once by the drive, outside its lock."""
        self._error = error
        with self._callback_lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(self)
            except Exception:  # a listener's bug must not stop the cycle
                _log.exception("done callback of %r failed", self)


# -------------------------------------------------------------------------------- events
class DriveEventKind(enum.Enum):
    """What a :class:`DriveEvent` reports."""

    FAULT = "fault"
    FAULT_CLEARED = "fault cleared"
    #: |target - actual| beyond the configured following error window.
    FOLLOWING_ERROR = "following error"
    FOLLOWING_ERROR_CLEARED = "following error cleared"
    #: The drive's own following error bit (statusword bit 13 in PP/CSP) was set.
    DRIVE_FOLLOWING_ERROR = "drive following error"
    WARNING = "warning"
    #: The drive left operation enabled without being asked to.
    OPERATION_LOST = "operation lost"


@dataclass(frozen=True, slots=True)
class DriveEvent:
    """One event of a drive.

    :ivar kind: what happened; :ivar drive: the drive's name.
    :ivar detail: in words; :ivar state: its state then; :ivar statusword: its statusword then.
    :ivar cycle: the drive's update count; :ivar time: :func:`time.monotonic` then.
    :ivar value: the following error in user units (following error events), the error code
        (faults, when 0x603F is mapped), else None.
    """

    kind: DriveEventKind
    drive: str
    detail: str
    state: Cia402State
    statusword: int
    cycle: int
    time: float
    value: Optional[float] = None


@dataclass(frozen=True, slots=True)
class DriveFault:
    """A fault the drive reported.

    :ivar state: fault reaction active or fault; :ivar statusword: when it was seen.
    :ivar error_code: 0x603F when mapped, else None (:meth:`Cia402Drive.read_error_code`).
    :ivar cycle: update count; :ivar time: :func:`time.monotonic` when it was seen.
    """

    state: Cia402State
    statusword: int
    error_code: Optional[int]
    cycle: int
    time: float


@dataclass(frozen=True, slots=True)
class DriveStatus:
    """What one :meth:`Cia402Drive.update` saw, as one consistent set.

    Positions, velocities and efforts are in user units (:class:`~.scaling.DriveScaling`),
    None when the entry is not mapped; the ``*_counts`` fields are the raw values.
    """

    cycle: int
    state: Cia402State
    statusword: int
    mode: int
    requested_mode: int
    mode_status: ModeStatus
    position: Optional[float]
    velocity: Optional[float]
    effort: Optional[float]
    position_counts: Optional[int]
    velocity_counts: Optional[int]
    torque_per_mille: Optional[int]
    #: True while set-points given by :meth:`Cia402Drive.command` act.
    following_setpoints: bool
    following_error: bool
    fault: bool
    warning: bool


_INITIAL_STATUS = DriveStatus(0, _S.NOT_READY_TO_SWITCH_ON, 0, 0, 0, ModeStatus(), None, None, None, None, None,
                              None, False, False, False, False)


# --------------------------------------------------------------------------------- drive
class Cia402Drive:
    """A CiA 402 drive at ``position`` in ``image`` (see the module documentation).

    :param image: the process image (:class:`~ethercat_master.master.process_image.ProcessImage`).
    :param position: the slave's position.
    :param name: how messages name it (default: the image's name of the slave, with ``joint``).
    :param joint: the joint it drives (``drive.joint`` of the configuration).
    :param scaling: counts <-> user units (default: counts).
    :param mode: the mode of operation to run in; it is written to 0x6060 from the first
        update when that is mapped.
    :param following_error_window: in user units; None: not monitored (beyond the drive's bit).
    :param sdo: a CoE client of the slave, for the homing method and the error code.
    :param event_capacity: events kept for :meth:`events`.
    :raises DriveMappingError: 0x6040 or 0x6041 is not mapped.
    :raises UnsupportedModeError: ``mode`` needs an entry that is not mapped.
    """

    def __init__(self, image: Any, position: int, *, name: Optional[str] = None, joint: Optional[str] = None,
                 scaling: Optional[DriveScaling] = None, mode: Union[OperationMode, int] = OperationMode.CSP,
                 following_error_window: Optional[float] = None, sdo: Optional[SdoClient] = None,
                 event_capacity: int = _DEFAULT_EVENT_CAPACITY):
        slave = image.slave(position)
        self.slave = position
        self.joint = joint
        base = name if name is not None else getattr(slave, "name", f"position {position}")
        self.name = f"{joint} ({base})" if joint and name is None else base
        self.scaling = scaling if scaling is not None else DriveScaling()
        self._sdo = sdo
        self._inputs: _Area = slave.inputs
        self._outputs: _Area = slave.outputs
        self._in = _fields_by_index(self._inputs)
        self._out = _fields_by_index(self._outputs)
        for table, index, direction in ((self._out, _O.CONTROLWORD, "outputs"), (self._in, _O.STATUSWORD, "inputs")):
            if index not in table:
                raise DriveMappingError(self.name, f"0x{index:04X} ({index.name.lower()}) is not mapped in its {direction}"
                                                   f" (fields: {', '.join(_field_names(self._outputs if direction == 'outputs' else self._inputs)) or 'none'})")
        self._f_controlword = self._out[_O.CONTROLWORD]
        self._f_statusword = self._in[_O.STATUSWORD]
        self._f_mode = self._out.get(_O.MODES_OF_OPERATION)
        self._f_display = self._in.get(_O.MODES_OF_OPERATION_DISPLAY)
        self._f_target_position = self._out.get(_O.TARGET_POSITION)
        self._f_target_velocity = self._out.get(_O.TARGET_VELOCITY)
        self._f_target_torque = self._out.get(_O.TARGET_TORQUE)
        self._f_position = self._in.get(_O.POSITION_ACTUAL_VALUE)
        self._f_velocity = self._in.get(_O.VELOCITY_ACTUAL_VALUE)
        self._f_torque = self._in.get(_O.TORQUE_ACTUAL_VALUE)
        self._f_following = self._in.get(_O.FOLLOWING_ERROR_ACTUAL_VALUE)
        self._f_error_code = self._in.get(_O.ERROR_CODE)
        self._check_mode(int(mode))
        self._lock = threading.Lock()
        self._listeners: tuple[Callable[[DriveEvent], None], ...] = ()
        self._events: deque[DriveEvent] = deque(maxlen=event_capacity)
        self._request: Optional[DriveRequest] = None
        self._hold = _C.DISABLE_VOLTAGE
        self._cycle = 0
        self._requested_mode = int(mode)
        self._mode_written_cycle = 0
        self._status = _INITIAL_STATUS
        self._last_state = _S.NOT_READY_TO_SWITCH_ON
        self._following = False
        self._rejected = 0
        # set-points in counts
        self._sp_position = 0
        self._sp_velocity = 0
        self._sp_torque = 0
        self._written_position: Optional[int] = None
        # PP handshake
        self._pp_pending: Optional[int] = None
        self._pp_sent = False
        self._pp_target = 0
        # homing start bit, fault reset pulse
        self._homing_bit = False
        self._reset_count = 0
        self._last_controlword = 0
        # monitoring
        self._window_counts: Optional[float] = None
        self.set_following_error_window(following_error_window)
        self._fe_active = False
        self._drive_fe = False
        self._warning = False
        self._fault: Optional[DriveFault] = None
        self._last_fault: Optional[DriveFault] = None
        self._last_error: Optional[DriveError] = None

    def __repr__(self) -> str:
        return f"<Cia402Drive {self.name}: {self._status.state.value}, mode {self._status.mode}>"

    # ------------------------------------------------------------------ configuration
    @property
    def supported_modes(self) -> frozenset[OperationMode]:
        """The modes whose needed entries are mapped (selectable only with 0x6060 mapped,
        except the mode written at start)."""
        return frozenset(mode for mode in MODE_TARGETS if self._missing_for(mode) is None)

    @property
    def mapped(self) -> frozenset[Cia402Object]:
        """The objects of :class:`Cia402Object` mapped in the drive's outputs or inputs."""
        return frozenset(self._out) | frozenset(self._in)

    def set_following_error_window(self, window: Optional[float]) -> None:
        """Monitor |target - actual| against ``window`` (user units); None switches it off."""
        if window is not None and not window > 0:
            raise ValueError(f"following error window must be positive, got {window!r}")
        counts = None if window is None else window * self.scaling.counts_per_unit
        with self._lock:
            self._window_counts = counts

    def add_listener(self, listener: Callable[[DriveEvent], None]) -> None:
        """Call ``listener(event)`` for every event, in the cycle thread (it must be quick)."""
        with self._lock:
            self._listeners = self._listeners + (listener,)

    def remove_listener(self, listener: Callable[[DriveEvent], None]) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            self._listeners = tuple(item for item in self._listeners if item is not listener)

    def events(self) -> list[DriveEvent]:
        """The events kept since the last call (oldest first), removed from the queue."""
        with self._lock:
            events = list(self._events)
            self._events.clear()
        return events

    # --------------------------------------------------------------------- read-outs
    @property
    def status(self) -> DriveStatus:
        """Everything the last update saw, as one consistent set."""
        return self._status

    @property
    def state(self) -> Cia402State:
        """The state the last statusword coded."""
        return self._status.state

    @property
    def statusword(self) -> int:
        """The last statusword."""
        return self._status.statusword

    @property
    def mode(self) -> int:
        """The mode in effect (0x6061, or the mode written when 0x6061 is not mapped)."""
        return self._status.mode

    @property
    def position(self) -> Optional[float]:
        """The actual position in user units (None: 0x6064 not mapped)."""
        return self._status.position

    @property
    def velocity(self) -> Optional[float]:
        """The actual velocity in user units/s (None: 0x606C not mapped)."""
        return self._status.velocity

    @property
    def effort(self) -> Optional[float]:
        """The actual torque in effort units (None: 0x6077 not mapped)."""
        return self._status.effort

    @property
    def fault(self) -> Optional[DriveFault]:
        """The fault the drive is in, None when it is not."""
        return self._fault

    @property
    def last_fault(self) -> Optional[DriveFault]:
        """The most recent fault, also after it was cleared."""
        return self._last_fault

    @property
    def last_error(self) -> Optional[DriveError]:
        """The error of the most recent request that failed."""
        return self._last_error

    @property
    def rejected_commands(self) -> int:
        """Set-points :meth:`command` dropped because the drive did not follow set-points."""
        return self._rejected

    def read_error_code(self) -> int:
        """0x603F: from the process image when mapped, else by SDO (blocks the caller).

        :raises DriveMappingError: not mapped and no SDO client was given.
        """
        if self._f_error_code is not None:
            return int(self._inputs.read()[self._f_error_code])
        if self._sdo is None:
            raise DriveMappingError(self.name, "0x603F is not mapped and no SDO client was given")
        return int(self._sdo.read(_O.ERROR_CODE, 0, DataType.UNSIGNED16))

    # ---------------------------------------------------------------------- requests
    def enable(self, timeout: float = DEFAULT_TIMEOUT, *, wait: bool = True) -> DriveRequest:
        """Walk the state machine to operation enabled, holding the axis (module docstring).

        :raises DriveFaultError: the drive is in fault (reset it first) or faults meanwhile.
        :raises DriveTimeout: not enabled in time; the drive then holds the state it reached.
        """
        if self._status.state in _FAULT_STATES:
            raise self._fault_error("cannot enable: the drive is in fault (fault_reset first)")
        return self._submit(DriveRequest(self, RequestKind.ENABLE, timeout), wait)

    def disable(self, timeout: float = DEFAULT_TIMEOUT, *, wait: bool = True) -> DriveRequest:
        """Switch the power stage off (disable voltage): to switch on disabled; a drive in
        fault counts as disabled."""
        return self._submit(DriveRequest(self, RequestKind.DISABLE, timeout), wait)

    def quick_stop(self, timeout: float = DEFAULT_TIMEOUT, *, wait: bool = True) -> DriveRequest:
        """Quick stop: completes when the axis stands still in quick stop active, or when the
        drive has gone on to switch on disabled (quick stop option codes 0..4); a drive that
        is not enabled is taken to switch on disabled."""
        return self._submit(DriveRequest(self, RequestKind.QUICK_STOP, timeout), wait)

    def fault_reset(self, timeout: float = DEFAULT_TIMEOUT, *, wait: bool = True) -> DriveRequest:
        """Reset a fault with rising edges of controlword bit 7 until the drive leaves fault
        (it waits out fault reaction active first). Completes at once without a fault."""
        return self._submit(DriveRequest(self, RequestKind.FAULT_RESET, timeout), wait)

    def set_mode(self, mode: Union[OperationMode, int], timeout: float = DEFAULT_TIMEOUT, *,
                 wait: bool = True) -> DriveRequest:
        """Change the mode of operation; completes when 0x6061 shows it. The targets hold the
        axis until then (module docstring).

        :raises UnsupportedModeError: the mode's entries are not mapped, or 0x6060 is not.
        """
        mode = int(mode)
        self._check_mode(mode)
        if mode != self._requested_mode and self._f_mode is None:
            raise UnsupportedModeError(self.name, mode, f"cannot change to mode {_mode_name(mode)}: 0x6060 "
                                                        "(modes of operation) is not mapped")
        request = DriveRequest(self, RequestKind.SET_MODE, timeout, f"to {_mode_name(mode)}")
        request.mode = mode
        return self._submit(request, wait)

    def home(self, method: Optional[int] = None, timeout: float = DEFAULT_HOMING_TIMEOUT, *,
             restore_mode: bool = True, wait: bool = True) -> DriveRequest:
        """Home the enabled drive: homing mode, the start edge of bit 4, then wait for homing
        attained and target reached (completed); a homing error fails with
        :class:`~.drive_errors.HomingError`. ``method`` is written to 0x6098 by SDO first
        (in the caller's thread); with ``restore_mode`` the mode in effect before is restored.

        :raises DriveStateError: the drive is not operation enabled.
        :raises UnsupportedModeError: homing mode cannot be selected.
        :raises DriveMappingError: a method is given but no SDO client.
        """
        if self._status.state is not _S.OPERATION_ENABLED:
            raise DriveStateError(self.name, "homing needs operation enabled (enable first)",
                                  state=self._status.state, statusword=self._status.statusword)
        if self._requested_mode != _M.HM and self._f_mode is None:
            raise UnsupportedModeError(self.name, _M.HM, "cannot select homing mode: 0x6060 is not mapped")
        if method is not None:
            if self._sdo is None:
                raise DriveMappingError(self.name, "a homing method needs an SDO client to write 0x6098")
            self._sdo.write(_O.HOMING_METHOD, 0, int(method), DataType.INTEGER8)
        request = DriveRequest(self, RequestKind.HOME, timeout, "" if method is None else f"method {method}")
        request.mode = _M.HM
        request.restore_mode = restore_mode
        return self._submit(request, wait)

    def command(self, position: Optional[float] = None, velocity: Optional[float] = None,
                torque: Optional[float] = None) -> bool:
        """Set the set-point of the mode in effect, in user units: ``position`` (CSP, PP: a
        new set-point, change immediately), ``velocity`` (CSV, PV), ``torque`` in effort
        units (CST, PT); the other values are ignored. Never blocks.

        :returns: False (and counted in :attr:`rejected_commands`) while the drive does not
            follow set-points (not enabled, enabling, changing mode).
        :raises DriveCommandError: the mode's value is missing, out of range, or the mode
            (homing) takes no set-point.
        """
        mode = self._requested_mode
        try:
            if mode in _POSITION_MODES:
                counts = self.scaling.position_counts(_require(position, "position", mode))
            elif mode in _VELOCITY_MODES:
                counts = self.scaling.velocity_counts(_require(velocity, "velocity", mode))
            elif mode in _TORQUE_MODES:
                counts = self.scaling.torque_per_mille(_require(torque, "torque", mode))
            else:
                raise ValueError(f"mode {_mode_name(mode)} takes no set-point")
        except ValueError as exc:
            raise DriveCommandError(self.name, str(exc)) from None
        with self._lock:
            if not self._following or mode != self._requested_mode:
                self._rejected += 1
                return False
            if mode == _M.PP:
                self._pp_pending = counts
            elif mode in _POSITION_MODES:
                self._sp_position = counts
            elif mode in _VELOCITY_MODES:
                self._sp_velocity = counts
            else:
                self._sp_torque = counts
        return True

    # ------------------------------------------------------------------------- cycle
    def update(self) -> None:
        """One cycle (cycle thread, after the exchange): read the inputs, advance the request,
        write the outputs, report events. Never blocks on a request."""
        now = time.monotonic()
        values = self._inputs.read()
        finished: list[tuple[DriveRequest, Optional[DriveError]]] = []
        events: list[DriveEvent] = []
        with self._lock:
            outputs = self._step(values, now, finished, events)
            listeners = self._listeners
            self._events.extend(events)
        self._outputs.write(outputs)
        for request, error in finished:
            request._resolve(error)
        for event in events:
            for listener in listeners:
                try:
                    listener(event)
                except Exception:  # a listener's bug must not stop the cycle
                    _log.exception("listener of %s failed on %s", self.name, event.kind.value)

    # ---------------------------------------------------------------------- internals
    def _missing_for(self, mode: int) -> Optional[str]:
        """Why ``mode`` cannot run with this mapping, or None."""
        if mode not in MODE_TARGETS:
            return f"mode {mode} is not a mode this master drives (one of {', '.join(m.name for m in MODE_TARGETS)})"
        target = MODE_TARGETS[OperationMode(mode)]
        if target is not None and target not in self._out:
            return f"its target 0x{target:04X} ({target.name.lower()}) is not mapped"
        if mode in _POSITION_MODES and _O.POSITION_ACTUAL_VALUE not in self._in:
            return "0x6064 (position actual value) is not mapped, so the axis cannot be held where it is"
        return None

    def _check_mode(self, mode: int) -> None:
        reason = self._missing_for(mode)
        if reason is not None:
            raise UnsupportedModeError(self.name, mode, f"mode {_mode_name(mode)} refused: {reason}")

    def _fault_error(self, detail: str) -> DriveFaultError:
        status = self._status
        fault = self._fault
        return DriveFaultError(self.name, detail, state=status.state, statusword=status.statusword,
                               error_code=None if fault is None else fault.error_code)

    def _submit(self, request: DriveRequest, wait: bool) -> DriveRequest:
        superseded: Optional[DriveRequest] = None
        with self._lock:
            request.cycle = self._cycle
            if self._request is not None:
                superseded = self._request
                self._end_request(superseded)
            self._request = request
            if request.kind is RequestKind.SET_MODE:
                assert request.mode is not None
                self._select_mode(request.mode)
        if superseded is not None:
            error = DriveRequestCancelled(self.name, f"{superseded.describe()} superseded by {request.describe()}",
                                          state=self._status.state, statusword=self._status.statusword)
            self._last_error = error
            superseded._resolve(error)
        if wait:
            request.wait()
        return request

    def _expire(self, request: DriveRequest) -> None:
        """Fail ``request`` with a timeout if it is still the one in progress (caller side)."""
        with self._lock:
            if self._request is not request:
                return
            error = self._timeout(request)
            self._end_request(request)
            self._last_error = error
        request._resolve(error)

    def _timeout(self, request: DriveRequest) -> DriveTimeout:
        status = self._status
        waiting_for = _WAITING_FOR.get(request.kind, "")
        if request.kind is RequestKind.SET_MODE:
            waiting_for = f"0x6061 to show mode {request.mode}"
        elif request.kind is RequestKind.HOME and request.phase:
            waiting_for = request.phase
        if self._cycle == request.cycle:
            waiting_for = "a cycle: no update() ran since the request (is the cycle thread calling it?)"
        return DriveTimeout(self.name, request.describe(), request.timeout, state=status.state,
                            statusword=status.statusword, waiting_for=waiting_for)

    def _end_request(self, request: DriveRequest) -> None:
        """The request stops steering: hold the state reached (lock held)."""
        if self._request is request:
            self._request = None
        self._hold = HOLDING_COMMAND[self._status.state]
        self._homing_bit = False
        self._reset_count = 0

    def _select_mode(self, mode: int) -> None:
        if mode != self._requested_mode:
            self._requested_mode = mode
            self._mode_written_cycle = self._cycle

    def _mode_in_effect(self, display: Optional[int]) -> int:
        if display is not None:
            return display
        if self._cycle - self._mode_written_cycle >= MODE_SETTLE_CYCLES:
            return self._requested_mode
        return -1

    def _step(self, values: dict[str, Any], now: float, finished: list, events: list) -> dict[str, Any]:
        self._cycle += 1
        cycle = self._cycle
        statusword = int(values[self._f_statusword])
        state = decode_state(statusword)
        display = None if self._f_display is None else int(values[self._f_display])
        in_effect = self._mode_in_effect(display)
        mode_status = decode_mode_status(statusword, in_effect)
        position = None if self._f_position is None else int(values[self._f_position])
        velocity = None if self._f_velocity is None else int(values[self._f_velocity])
        torque = None if self._f_torque is None else int(values[self._f_torque])

        def event(kind: DriveEventKind, detail: str, value: Optional[float] = None) -> None:
            events.append(DriveEvent(kind, self.name, detail, state, statusword, cycle, now, value))

        # ---- what the drive did on its own
        previous_state = self._last_state
        self._last_state = state
        self._status = _status_with(self._status, state=state, statusword=statusword)
        if state in _FAULT_STATES and self._fault is None:
            code = None if self._f_error_code is None else int(values[self._f_error_code])
            self._fault = self._last_fault = DriveFault(state, statusword, code, cycle, now)
            event(DriveEventKind.FAULT, f"the drive is in {state.value.lower()}", code)
        elif state in _NO_FAULT_STATES and self._fault is not None and state is not _S.NOT_READY_TO_SWITCH_ON:
            self._fault = None
            event(DriveEventKind.FAULT_CLEARED, f"the drive left fault to {state.value.lower()}")
        warning = bool(statusword & _SW_WARNING)
        if warning and not self._warning:
            event(DriveEventKind.WARNING, "the drive sets its warning bit")
        self._warning = warning
        drive_fe = mode_status.following_error
        if drive_fe and not self._drive_fe:
            event(DriveEventKind.DRIVE_FOLLOWING_ERROR, "the drive reports a following error (statusword bit 13)")
        self._drive_fe = drive_fe
        request = self._request
        if previous_state is _S.OPERATION_ENABLED and state is not _S.OPERATION_ENABLED and (
                request is None or request.kind in (RequestKind.ENABLE, RequestKind.SET_MODE, RequestKind.HOME)):
            event(DriveEventKind.OPERATION_LOST, f"the drive left operation enabled for {state.value.lower()} "
                                                 "without a request")
        if request is None and state is not previous_state:
            self._hold = HOLDING_COMMAND[state]

        # ---- the request in progress
        command = self._hold
        extra = 0
        if request is not None:
            if now >= request.deadline:
                error: Optional[DriveError] = self._timeout(request)
                step = None
            else:
                error, step = self._advance(request, state, statusword, mode_status, in_effect)
            if step is None:
                self._end_request(request)
                if error is not None:
                    self._last_error = error
                finished.append((request, error))
                command = self._hold
            else:
                command, extra = step
        if self._homing_bit:
            extra |= Controlword.HOMING_OPERATION_START
        if command is _C.FAULT_RESET:
            controlword = _C.FAULT_RESET.bits
        else:
            controlword = command.bits | extra

        # ---- set-points and targets
        following = (state is _S.OPERATION_ENABLED and in_effect == self._requested_mode
                     and (self._request is None or self._request.kind is not RequestKind.SET_MODE))
        self._monitor(following, in_effect, position, values, event)
        hold_position = position if position is not None else (self._written_position or 0)
        if not following:
            self._sp_position = hold_position
            self._sp_velocity = 0
            self._sp_torque = 0
            self._pp_pending = None
            self._pp_sent = False
            self._pp_target = hold_position
        elif self._requested_mode == _M.PP:
            controlword |= self._pp_handshake(mode_status)
        self._following = following
        mode = self._requested_mode
        outputs: dict[str, Any] = {self._f_controlword: controlword}
        if self._f_mode is not None:
            outputs[self._f_mode] = mode
        if self._f_target_position is not None:
            if following and mode == _M.CSP:
                target = self._sp_position
            elif following and mode == _M.PP:
                target = self._pp_target
            else:
                target = hold_position
            outputs[self._f_target_position] = target
            self._written_position = target
        if self._f_target_velocity is not None:
            outputs[self._f_target_velocity] = self._sp_velocity if following and mode in _VELOCITY_MODES else 0
        if self._f_target_torque is not None:
            outputs[self._f_target_torque] = self._sp_torque if following and mode in _TORQUE_MODES else 0
        self._last_controlword = controlword

        scaling = self.scaling
        self._status = DriveStatus(
            cycle, state, statusword, in_effect if in_effect >= 0 else mode, mode, mode_status,
            None if position is None else scaling.position(position),
            None if velocity is None else scaling.velocity(velocity),
            None if torque is None else scaling.effort(torque),
            position, velocity, torque, following, self._fe_active, self._fault is not None, warning)
        return outputs

    def _monitor(self, following: bool, mode: int, position: Optional[int], values: dict[str, Any],
                 event: Callable[..., None]) -> None:
        """The configured following error window."""
        window = self._window_counts
        error: Optional[float] = None
        if following and window is not None and position is not None:
            if mode == _M.CSP and self._written_position is not None:
                error = abs(self._written_position - position)
            elif mode == _M.PP and self._f_following is not None:
                error = abs(int(values[self._f_following]))
        exceeded = error is not None and window is not None and error > window
        if exceeded and not self._fe_active:
            assert error is not None
            value = self.scaling.position(round(error))
            event(DriveEventKind.FOLLOWING_ERROR, f"|target - actual| = {value:g} exceeds the window "
                                                  f"{self.scaling.position(round(window or 0)):g}", value)
        elif not exceeded and self._fe_active:
            event(DriveEventKind.FOLLOWING_ERROR_CLEARED, "the axis is back within the following error window")
        self._fe_active = exceeded

    def _pp_handshake(self, mode_status: ModeStatus) -> int:
        """PP set-point handshake: bits 4 and 5 to write (lock held)."""
        acknowledged = mode_status.set_point_acknowledge
        if self._pp_sent:
            if acknowledged:
                self._pp_sent = False
                return 0
            return Controlword.NEW_SET_POINT | Controlword.CHANGE_SET_IMMEDIATELY
        if self._pp_pending is not None and not acknowledged:
            self._pp_target, self._pp_pending = self._pp_pending, None
            self._pp_sent = True
            return Controlword.NEW_SET_POINT | Controlword.CHANGE_SET_IMMEDIATELY
        return 0

    def _advance(self, request: DriveRequest, state: Cia402State, statusword: int, mode_status: ModeStatus,
                 in_effect: int) -> tuple[Optional[DriveError], Optional[tuple[Cia402Command, int]]]:
        """One step of ``request``: (error, None) when it ends, else (None, (command, bits))."""
        kind = request.kind
        if kind is RequestKind.ENABLE:
            if state in _FAULT_STATES:
                return self._fault_error("went into fault while enabling"), None
            if state is _S.OPERATION_ENABLED:
                return None, None
            return None, (next_command(state, _S.OPERATION_ENABLED) or HOLDING_COMMAND[state], 0)
        if kind is RequestKind.DISABLE:
            if state in (_S.SWITCH_ON_DISABLED, _S.FAULT):
                return None, None
            step = next_command(state, _S.SWITCH_ON_DISABLED) if state in _NO_FAULT_STATES else None
            return None, (step or _C.DISABLE_VOLTAGE, 0)
        if kind is RequestKind.QUICK_STOP:
            if state is _S.QUICK_STOP_ACTIVE:
                done = bool(statusword & _SW_TARGET_REACHED)
                return None, (None if done else (_C.QUICK_STOP, 0))
            if state in (_S.OPERATION_ENABLED, _S.READY_TO_SWITCH_ON, _S.SWITCHED_ON):
                return None, (_C.QUICK_STOP, 0)
            return None, None
        if kind is RequestKind.FAULT_RESET:
            return self._advance_fault_reset(state)
        if kind is RequestKind.SET_MODE:
            return None, (None if in_effect == request.mode else (self._hold, 0))
        return self._advance_homing(request, state, mode_status, in_effect)

    def _advance_fault_reset(self, state: Cia402State):
        if state is _S.FAULT_REACTION_ACTIVE:
            return None, (_C.DISABLE_VOLTAGE, 0)
        if state is not _S.FAULT:
            return None, None
        if self._last_controlword & Controlword.FAULT_RESET:
            self._reset_count += 1
            if self._reset_count < FAULT_RESET_PULSE_CYCLES:
                return None, (_C.FAULT_RESET, 0)
            self._reset_count = 0
            return None, (_C.DISABLE_VOLTAGE, 0)  # drop the bit: the next cycle raises it again
        return None, (_C.FAULT_RESET, 0)

    def _advance_homing(self, request: DriveRequest, state: Cia402State, mode_status: ModeStatus, in_effect: int):
        if state in _FAULT_STATES:
            return self._fault_error("went into fault while homing"), None
        if state is not _S.OPERATION_ENABLED:
            return HomingError(self.name, f"homing interrupted: the drive left operation enabled ({request.phase})",
                               state=state, statusword=self._status.statusword), None
        hold = (_C.ENABLE_OPERATION, 0)
        if not request.started:
            if request.previous_mode is None:
                request.previous_mode = self._requested_mode
                self._select_mode(_M.HM)
                self._homing_bit = False
            request.phase = "0x6061 to show homing mode"
            if in_effect != _M.HM:
                return None, hold
            if self._last_controlword & Controlword.HOMING_OPERATION_START:
                return None, hold  # one cycle with bit 4 clear: the start is an edge
            request.started = True
            request.edge_cycle = self._cycle
            request.edge_status = mode_status.homing
            self._homing_bit = True
            request.phase = "homing attained and target reached"
            return None, hold
        if request.phase == "restore":
            if in_effect == request.previous_mode:
                return None, None
            return None, hold
        homing = mode_status.homing
        if homing in (HomingStatus.IN_PROGRESS, HomingStatus.ATTAINED):
            request.edge_status = None  # the new run is seen
        acknowledged = (request.edge_status is None or homing is not request.edge_status
                        or self._cycle - request.edge_cycle >= HOMING_ACK_CYCLES)
        if not acknowledged or homing is None:
            return None, hold
        if homing.error:
            self._homing_bit = False
            return HomingError(self.name, f"the drive reports a homing error ({homing.value})",
                               state=state, statusword=self._status.statusword), None
        if homing is not HomingStatus.COMPLETED:
            return None, hold
        self._homing_bit = False
        if not request.restore_mode or request.previous_mode == _M.HM or request.previous_mode is None:
            return None, None
        request.phase = "restore"
        self._select_mode(request.previous_mode)
        request.detail = (request.detail + f", then back to {_mode_name(request.previous_mode)}").lstrip(", ")
        return None, hold


_WAITING_FOR = {
    RequestKind.ENABLE: "operation enabled",
    RequestKind.DISABLE: "switch on disabled",
    RequestKind.QUICK_STOP: "standstill in quick stop active, or switch on disabled",
    RequestKind.FAULT_RESET: "the drive to leave fault",
}


def _fields_by_index(area: _Area) -> dict[Cia402Object, str]:
    """The field names of the CiA 402 objects mapped in ``area`` (the first of each, subindex 0)."""
    found: dict[Cia402Object, str] = {}
    known = set(Cia402Object)
    for name, field in area.info.fields.items():
        if field.index in known and field.subindex == 0 and Cia402Object(field.index) not in found:
            found[Cia402Object(field.index)] = name
    return found


def _field_names(area: _Area) -> Iterable[str]:
    return list(area.info.fields)


def _mode_name(mode: int) -> str:
    try:
        return f"{OperationMode(mode).name} ({mode})"
    except ValueError:
        return str(mode)


def _require(value: Optional[float], what: str, mode: int) -> float:
    if value is None:
        raise ValueError(f"mode {_mode_name(mode)} needs a {what} set-point")
    return float(value)


def _status_with(status: DriveStatus, **changes: Any) -> DriveStatus:
    """``status`` with ``changes``; the same object when nothing changes (the usual cycle:
    building a new frozen dataclass every cycle for every drive costs microseconds)."""
    for name, value in changes.items():
        if getattr(status, name) != value:
            return replace(status, **changes)
    return status
