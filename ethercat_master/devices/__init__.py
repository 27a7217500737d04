"""Device profiles on top of the master.

Built: the CiA 402 drive profile (IEC 61800-7-201 / ETG.6010):

- :mod:`.cia402_state`: the power drive state machine as a transition table
  (:class:`Cia402State`, :class:`Cia402Command`, :func:`next_command`), the statusword and
  controlword bits, :class:`OperationMode` and the mode-specific status bits;
- :mod:`.cia402_drive`: :class:`Cia402Drive`, one drive on the process image, stepped per
  cycle by :meth:`Cia402Drive.update` and commanded from other threads (enable with the axis
  held, disable, quick stop, fault reset, mode change, homing, set-points in user units,
  following error events);
- :mod:`.cia402_group`: :class:`Cia402Group`, the drives a network configuration marks with
  ``drive:``;
- :mod:`.scaling`: :class:`DriveScaling`, counts to radians or metres;
- :mod:`.drive_errors`: :class:`DriveError` and its subclasses, below
  :class:`~ethercat_master.errors.EtherCATError`.

:mod:`.cia402` gathers all of it. Nothing here imports rclpy or the simulator.
"""

from .cia402 import *  # noqa: F401,F403
from .cia402 import __all__  # noqa: F401
