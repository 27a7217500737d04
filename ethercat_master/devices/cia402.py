"""The CiA 402 drive profile in one import: the state machine (:mod:`.cia402_state`), one drive
on the process image (:mod:`.cia402_drive`), the drives of a network (:mod:`.cia402_group`),
unit scaling (:mod:`.scaling`) and the errors (:mod:`.drive_errors`)."""

from .cia402_drive import *  # noqa: F401,F403
from .cia402_drive import __all__ as _drive_all
from .cia402_group import *  # noqa: F401,F403
from .cia402_group import __all__ as _group_all
from .cia402_state import *  # noqa: F401,F403
from .cia402_state import __all__ as _state_all
from .drive_errors import *  # noqa: F401,F403
from .drive_errors import __all__ as _errors_all
from .scaling import *  # noqa: F401,F403
from .scaling import __all__ as _scaling_all

__all__ = [*_state_all, *_drive_all, *_group_all, *_scaling_all, *_errors_all]
