"""Unit scaling of a drive: encoder counts to radians or metres, and back.

The network configuration's ``drive:`` section
(:class:`~ethercat_master.config.network.DriveSettings`) gives the joint's unit (rad or m) and
the encoder counts per unit. CiA 402 positions (0x607A, 0x6064) are INTEGER32 counts;
velocities (0x60FF, 0x606C) are taken as INTEGER32 counts per second (the default velocity
unit of ETG.6010 drives, increments/s); torques (0x6071, 0x6077) are INTEGER16 per mille of the
motor's rated torque (CiA 402), so an effort in N·m (or N) needs the rated torque
(:attr:`DriveScaling.rated_torque`); with the default 1.0 the effort is in multiples of the
rated torque.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ..config.network import DriveSettings, DriveUnit

__all__ = ["INT16_RANGE", "INT32_RANGE", "PER_MILLE", "DriveScaling"]

#: Range of an INTEGER32 PDO entry (positions, velocities).
INT32_RANGE = (-(1 << 31), (1 << 31) - 1)
#: Range of an INTEGER16 PDO entry (torques).
INT16_RANGE = (-(1 << 15), (1 << 15) - 1)
#: Torque objects count per mille of the rated torque.
PER_MILLE = 1000.0


@dataclass(frozen=True, slots=True)
class DriveScaling:
    """Counts <-> user units for one drive.

    :ivar counts_per_unit: encoder counts per radian (rotary) or metre (linear).
    :ivar unit: the joint's unit; None: raw counts (``counts_per_unit`` 1).
    :ivar rated_torque: effort units (N·m or N) of the rated torque.
    """

    counts_per_unit: float = 1.0
    unit: Optional[DriveUnit] = None
    rated_torque: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.counts_per_unit) or self.counts_per_unit <= 0:
            raise ValueError(f"counts_per_unit must be a positive number, got {self.counts_per_unit!r}")
        if not math.isfinite(self.rated_torque) or self.rated_torque <= 0:
            raise ValueError(f"rated_torque must be a positive number, got {self.rated_torque!r}")

    @classmethod
    def from_settings(cls, settings: DriveSettings, *, rated_torque: float = 1.0) -> DriveScaling:
        """The scaling of a drive's ``drive:`` section."""
        return cls(settings.counts_per_unit, settings.unit, rated_torque)

    # ------------------------------------------------------------------------ to user
    def position(self, counts: int) -> float:
        """A position in counts, in user units."""
        return counts / self.counts_per_unit

    def velocity(self, counts_per_second: int) -> float:
        """A velocity in counts/s, in user units per second."""
        return counts_per_second / self.counts_per_unit

    def effort(self, per_mille: int) -> float:
        """A torque in per mille of the rated torque, in effort units."""
        return per_mille / PER_MILLE * self.rated_torque

    # ------------------------------------------------------------------------ to drive
    def position_counts(self, position: float) -> int:
        """A position in user units, in counts (rounded). :class:`ValueError` beyond INTEGER32."""
        return _fit(position * self.counts_per_unit, INT32_RANGE, "position")

    def velocity_counts(self, velocity: float) -> int:
        """A velocity in user units/s, in counts/s (rounded). :class:`ValueError` beyond INTEGER32."""
        return _fit(velocity * self.counts_per_unit, INT32_RANGE, "velocity")

    def torque_per_mille(self, effort: float) -> int:
        """An effort in effort units, in per mille of the rated torque (rounded).
        :class:`ValueError` beyond INTEGER16."""
        return _fit(effort / self.rated_torque * PER_MILLE, INT16_RANGE, "torque")


def _fit(value: float, limits: tuple[int, int], what: str) -> int:
    if not math.isfinite(value):
        raise ValueError(f"{what} {value!r} is not a finite number")
    counts = round(value)
    low, high = limits
    if not low <= counts <= high:
        raise ValueError(f"{what} {counts} is outside {low}..{high}")
    return counts
