"""Test harness of ethercat_master: virtual wires in network namespaces, the simulator process
on one of their ends, ROS environments, and the rule for tests that need privileges (skip
locally, fail in CI)."""

from .requirements import require, require_root, require_tool
from .ros_env import RosEnvironment
from .simulator import SIM_START_TIMEOUT_S, start_simulator, stop_process
from .virtual_wire import VirtualWire, remove_stale_wires

__all__ = ["require", "require_root", "require_tool", "RosEnvironment", "VirtualWire",
           "remove_stale_wires", "SIM_START_TIMEOUT_S", "start_simulator", "stop_process"]
