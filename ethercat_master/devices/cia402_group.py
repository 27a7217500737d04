"""The CiA 402 drives of a network: one :class:`~.cia402_drive.Cia402Drive` for every slave
the configuration marks with ``drive:``, stepped together and addressed by joint name.

::

    group = Cia402Group.from_network(network, exchange.image, master.slaves, sdo=master.coe)
    thread = CycleThread(exchange, network.cycle_period, on_cycle=group.update)
    group.enable()                          # every drive, concurrently; raises if one fails
    group.command({"joint1": 0.5})          # set-points by joint, in user units
    names, positions, velocities, efforts = group.joint_states()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from ..config.network import DriveMode, NetworkConfig, ScannedSlave, SlaveConfig
from ..errors import ConfigError, EtherCATError
from .cia402_drive import DEFAULT_TIMEOUT, Cia402Drive, DriveRequest, SdoClient
from .cia402_state import OperationMode
from .drive_errors import DriveError
from .scaling import DriveScaling

__all__ = ["DRIVE_MODES", "JointStates", "DriveGroupError", "Cia402Group"]

#: The configuration's drive modes as modes of operation.
DRIVE_MODES: dict[DriveMode, OperationMode] = {
    DriveMode.CSP: OperationMode.CSP,
    DriveMode.CSV: OperationMode.CSV,
    DriveMode.CST: OperationMode.CST,
    DriveMode.PP: OperationMode.PP,
    DriveMode.PV: OperationMode.PV,
}


@dataclass(frozen=True, slots=True)
class JointStates:
    """The joints' state as a ``sensor_msgs/JointState`` carries it (None: not mapped)."""

    names: tuple[str, ...]
    positions: tuple[Optional[float], ...]
    velocities: tuple[Optional[float], ...]
    efforts: tuple[Optional[float], ...]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter((self.names, self.positions, self.velocities, self.efforts))


class DriveGroupError(EtherCATError):
    """A request to several drives failed on some of them.

    :ivar failures: each failed drive's joint (or name) and its :class:`DriveError`.
    """

    def __init__(self, request: str, failures: Mapping[str, DriveError]):
        self.failures = dict(failures)
        lines = "; ".join(str(error) for error in self.failures.values())
        super().__init__(f"{request} failed on {len(self.failures)} drive(s): {lines}")


def _slave_position(network: NetworkConfig, index: int, config: SlaveConfig,
                    slaves: Sequence[ScannedSlave]) -> int:
    if config.position is not None:
        return config.position
    matches = [slave.position for slave in slaves if slave.alias == config.alias]
    if len(matches) != 1:
        found = "no slave" if not matches else f"slaves at positions {', '.join(map(str, matches))}"
        raise ConfigError(network.file, None, f"slaves[{index}].alias",
                          f"one slave on the bus with alias 0x{config.alias or 0:04X} for drive {config.name!r} "
                          f"({found})")
    return matches[0]


class Cia402Group:
    """Several drives stepped together (:meth:`update` is an ``on_cycle``), by joint name.

    :param drives: the drives; their joints (or names) must be unique.
    """

    def __init__(self, drives: Sequence[Cia402Drive]):
        self._drives: dict[str, Cia402Drive] = {}
        for drive in drives:
            key = drive.joint or drive.name
            if key in self._drives:
                raise ValueError(f"two drives for joint {key!r}")
            self._drives[key] = drive
        self._sequence = tuple(self._drives.values())

    @classmethod
    def from_network(cls, network: NetworkConfig, image: Any, slaves: Sequence[ScannedSlave], *,
                     sdo: Optional[Callable[[int], SdoClient]] = None,
                     rated_torque: Optional[Mapping[str, float]] = None,
                     following_error_window: Optional[Mapping[str, float]] = None) -> Cia402Group:
        """A drive for every slave of ``network`` with a ``drive:`` section, at the position
        the configuration gives or the scanned slave with its alias has.

        :param image: the process image.
        :param slaves: the scanned slaves (to find the positions of slaves configured by alias).
        :param sdo: ``sdo(position)`` gives the slave's CoE client (e.g. ``master.coe``).
        :param rated_torque: effort units per rated torque, by joint (default 1.0).
        :param following_error_window: the window in user units, by joint (default: off).
        :raises ConfigError: a drive's alias matches no slave, or several.
        """
        drives = []
        for index, config in enumerate(network.slaves):
            settings = config.drive
            if settings is None:
                continue
            position = _slave_position(network, index, config, slaves)
            joint = settings.joint
            scaling = DriveScaling.from_settings(settings, rated_torque=(rated_torque or {}).get(joint, 1.0))
            drives.append(Cia402Drive(image, position, name=f"{config.name} (position {position})", joint=joint,
                                      scaling=scaling, mode=DRIVE_MODES[settings.mode],
                                      following_error_window=(following_error_window or {}).get(joint),
                                      sdo=None if sdo is None else sdo(position)))
        return cls(drives)

    # ------------------------------------------------------------------------ access
    def __getitem__(self, joint: str) -> Cia402Drive:
        try:
            return self._drives[joint]
        except KeyError:
            raise KeyError(f"no drive for joint {joint!r} (joints: {', '.join(self._drives) or 'none'})") from None

    def __iter__(self) -> Iterator[Cia402Drive]:
        return iter(self._sequence)

    def __len__(self) -> int:
        return len(self._sequence)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The joints, in configuration order."""
        return tuple(self._drives)

    # ------------------------------------------------------------------------- cycle
    def update(self) -> None:
        """Step every drive (the cycle thread's ``on_cycle``)."""
        for drive in self._sequence:
            drive.update()

    def joint_states(self) -> JointStates:
        """Every joint's position, velocity and effort, in user units."""
        statuses = [drive.status for drive in self._sequence]
        return JointStates(self.joint_names, tuple(s.position for s in statuses),
                           tuple(s.velocity for s in statuses), tuple(s.effort for s in statuses))

    def command(self, setpoints: Mapping[str, float]) -> dict[str, bool]:
        """Set each named joint's set-point (the value of its mode: position, velocity or
        effort); returns whether each drive took it (:meth:`Cia402Drive.command`)."""
        taken = {}
        for joint, value in setpoints.items():
            drive = self[joint]
            mode = drive.status.requested_mode
            if mode in (OperationMode.CSV, OperationMode.PV):
                taken[joint] = drive.command(velocity=value)
            elif mode in (OperationMode.CST, OperationMode.PT):
                taken[joint] = drive.command(torque=value)
            else:
                taken[joint] = drive.command(position=value)
        return taken

    # ---------------------------------------------------------------------- requests
    def _all(self, what: str, start: Callable[[Cia402Drive], DriveRequest],
             joints: Optional[Sequence[str]]) -> None:
        drives = [self[joint] for joint in joints] if joints is not None else list(self._drives.values())
        failures: dict[str, DriveError] = {}
        requests = []
        for drive in drives:
            try:
                requests.append((drive, start(drive)))
            except DriveError as error:
                failures[drive.joint or drive.name] = error
        for drive, request in requests:
            try:
                request.wait()
            except DriveError as error:
                failures[drive.joint or drive.name] = error
        if failures:
            raise DriveGroupError(what, failures)

    def enable(self, timeout: float = DEFAULT_TIMEOUT, joints: Optional[Sequence[str]] = None) -> None:
        """Enable the drives concurrently; :class:`DriveGroupError` lists those that failed."""
        self._all("enable", lambda d: d.enable(timeout, wait=False), joints)

    def disable(self, timeout: float = DEFAULT_TIMEOUT, joints: Optional[Sequence[str]] = None) -> None:
        """Disable the drives concurrently."""
        self._all("disable", lambda d: d.disable(timeout, wait=False), joints)

    def quick_stop(self, timeout: float = DEFAULT_TIMEOUT, joints: Optional[Sequence[str]] = None) -> None:
        """Quick stop the drives concurrently."""
        self._all("quick stop", lambda d: d.quick_stop(timeout, wait=False), joints)

    def fault_reset(self, timeout: float = DEFAULT_TIMEOUT, joints: Optional[Sequence[str]] = None) -> None:
        """Reset the drives' faults concurrently."""
        self._all("fault reset", lambda d: d.fault_reset(timeout, wait=False), joints)

    def set_mode(self, mode: OperationMode, timeout: float = DEFAULT_TIMEOUT,
                 joints: Optional[Sequence[str]] = None) -> None:
        """Change the drives' mode concurrently."""
        self._all("mode change", lambda d: d.set_mode(mode, timeout, wait=False), joints)
