"""``ethercat_master_node``: run the lifecycle node.

::

    ethercat_master_node --ros-args -p config_file:=config/network_sim.yaml
    ethercat_master_node --config config/network_sim.yaml --autostart     # configure + activate

Without ``--autostart`` the node waits in ``unconfigured`` for its lifecycle services (as
``ros2 lifecycle set`` or a launch file's LifecycleNode drive it).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Optional, Sequence

__all__ = ["main"]

#: DDS must not leave the machine unless asked (Kilted ignores ROS_LOCALHOST_ONLY).
_DISCOVERY = "ROS_AUTOMATIC_DISCOVERY_RANGE"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the node until interrupted; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if "--ros-args" in args:
        at = args.index("--ros-args")
        args, ros_args = args[:at], args[at:]
    parser = argparse.ArgumentParser(prog="ethercat_master_node", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="the network description (sets the config_file parameter)")
    parser.add_argument("--interface", help="override the file's interface (eth1, udp:HOST:PORT, sim:CHAIN.yaml)")
    parser.add_argument("--autostart", action="store_true", help="configure and activate at once")
    parser.add_argument("--threads", type=int, default=4, help="executor threads (default 4)")
    options = parser.parse_args(args)
    os.environ.setdefault(_DISCOVERY, "LOCALHOST")

    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from rclpy.signals import SignalHandlerOptions

    from .node import EtherCATMasterNode

    # our own signal handling: the node releases the bus while ROS is still up to log it
    rclpy.init(args=["node", *ros_args], signal_handler_options=SignalHandlerOptions.NO)
    overrides = []
    if options.config:
        overrides.append(Parameter("config_file", value=os.path.abspath(options.config)))
    if options.interface:
        overrides.append(Parameter("interface", value=options.interface))
    from rclpy.exceptions import InvalidParameterValueException, ParameterException

    try:
        node = EtherCATMasterNode(parameter_overrides=overrides)
    except (InvalidParameterValueException, ParameterException) as exc:
        print(f"ethercat_master_node: {exc}", file=sys.stderr)
        rclpy.shutdown()
        return 2
    _route_logging(node.get_logger())
    executor = MultiThreadedExecutor(num_threads=options.threads)
    executor.add_node(node)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()
        executor.wake()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    try:
        if options.autostart:
            success = TransitionCallbackReturn.SUCCESS
            if node.trigger_configure() != success or node.trigger_activate() != success:
                node.get_logger().error("autostart failed; the node stays up for its lifecycle services")
                status = 1
        while not stopping.is_set() and rclpy.ok():
            try:
                executor.spin_once(timeout_sec=0.1)
            except (KeyboardInterrupt, ExternalShutdownException):
                raise
            except Exception as exc:  # noqa: BLE001 - one failed callback must not end the node
                node.get_logger().error(f"callback failed: {type(exc).__name__}: {exc}")
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        try:
            node.release()  # slaves to INIT, link closed, also when a signal ended the executor
        except Exception as exc:  # noqa: BLE001 - shutting down: report, never mask the exit
            print(f"ethercat_master_node: shutdown: {exc}", file=sys.stderr)
        executor.shutdown()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return status


class _RosLogHandler(logging.Handler):
    """Python logging of the core (supervisor, AL state machine) into the node's ROS log."""

    def __init__(self, logger: object) -> None:
        super().__init__()
        self._logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        logger = self._logger
        if record.levelno >= logging.ERROR:
            logger.error(text)  # type: ignore[attr-defined]
        elif record.levelno >= logging.WARNING:
            logger.warning(text)  # type: ignore[attr-defined]
        else:
            logger.info(text)  # type: ignore[attr-defined]


def _route_logging(logger: object) -> None:
    core = logging.getLogger("ethercat_master")
    core.addHandler(_RosLogHandler(logger))
    core.setLevel(logging.INFO)
    core.propagate = False


if __name__ == "__main__":
    sys.exit(main())
