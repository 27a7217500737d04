"""The README's main command: the ROS 2 node on the built-in simulated drive chain, with the
drives moving and the live state printed.

``./dev demo`` (or ``python -m ethercat_master.tools.demo [--duration 30]``) starts the lifecycle
node ``ethercat_master`` as its own process on ``config/network_sim.yaml`` (the simulator runs
inside it: no root, no network interface), configured and activated at once; then, as a ROS
client would, it streams ``joint_commands`` (a slow sine per joint, around where each joint
stands) and prints once a second what the node publishes: the master's state and cycle
statistics (``~/state``), every joint (``joint_states``) and every slave's diagnostic status
(``/diagnostics``). Ctrl-C (or ``--duration``) ends both.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

__all__ = ["main"]

_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = _ROOT / "config" / "network_sim.yaml"
#: Amplitude (rad) and frequency (Hz) of the demo motion.
_AMPLITUDE = 0.8
_FREQUENCY = 0.25
_COMMAND_RATE_HZ = 50.0
_NODE_START_TIMEOUT_S = 60.0
_LEVELS = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}


def _level(value: Any) -> str:
    return _LEVELS.get(value[0] if isinstance(value, bytes) else int(value), str(value))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo; returns the exit status (1 when the node did not come up)."""
    parser = argparse.ArgumentParser(prog="ethercat_master demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="network description")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run (default: until Ctrl-C)")
    parser.add_argument("--cycle-period", type=float, default=0.002,
                        help="seconds (default 0.002: the simulator shares this machine's CPU with the node)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between status prints")
    args = parser.parse_args(argv)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 100 + 100))

    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import JointState

    from ethercat_master.msg import MasterState

    node_process = subprocess.Popen(
        [sys.executable, "-m", "ethercat_master.ros", "--config", str(args.config), "--autostart", "--ros-args",
         "-p", f"cycle_period:={args.cycle_period}", "-p", "publish_rate:=50.0", "-p", "diagnostics_rate:=2.0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log_thread = threading.Thread(target=_forward, args=(node_process,), daemon=True)
    log_thread.start()
    rclpy.init()
    client = Node("ethercat_master_demo")
    latest: dict[str, Any] = {}
    client.create_subscription(JointState, "/joint_states", lambda m: latest.__setitem__("joints", m),
                               qos_profile_sensor_data)
    client.create_subscription(MasterState, "/ethercat_master/state", lambda m: latest.__setitem__("state", m), 10)
    client.create_subscription(DiagnosticArray, "/diagnostics", lambda m: latest.__setitem__("diagnostics", m), 10)
    commands = client.create_publisher(JointState, "/joint_commands", qos_profile_sensor_data)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    status = 0
    try:
        start = time.monotonic()
        while "joints" not in latest or latest.get("state") is None or latest["state"].lifecycle_state != "active":
            rclpy.spin_once(client, timeout_sec=0.1)
            if node_process.poll() is not None or time.monotonic() - start > _NODE_START_TIMEOUT_S or stop.is_set():
                print("demo: the node did not become active (its log is above)", flush=True)
                return 1
        centre = list(latest["joints"].position)
        names = list(latest["joints"].name)
        print(f"demo: node active with joints {', '.join(names)}; moving them (Ctrl-C ends)", flush=True)
        began = time.monotonic()
        next_print = began
        while not stop.is_set() and node_process.poll() is None:
            now = time.monotonic()
            t = now - began
            if args.duration and t >= args.duration:
                break
            msg = JointState()
            msg.name = names
            msg.position = [c + _AMPLITUDE * math.sin(2 * math.pi * _FREQUENCY * t + i * math.pi / 4)
                            for i, c in enumerate(centre)]
            commands.publish(msg)
            if now >= next_print:
                print(_report(t, latest), flush=True)
                next_print += args.interval
            rclpy.spin_once(client, timeout_sec=1.0 / _COMMAND_RATE_HZ)
        if node_process.poll() is not None:
            print(f"demo: the node ended with status {node_process.returncode}", flush=True)
            status = 1
    finally:
        client.destroy_node()
        rclpy.shutdown()
        if node_process.poll() is None:
            node_process.send_signal(signal.SIGINT)
            try:
                node_process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                node_process.kill()
                node_process.wait()
        log_thread.join(timeout=5)
    return status


def _forward(process: subprocess.Popen) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        print(f"  [node] {line.rstrip()}", flush=True)


def _report(t: float, latest: dict[str, Any]) -> str:
    lines = []
    state = latest.get("state")
    if state is not None:
        lines.append(f"t={t:5.1f} s  master {state.lifecycle_state}  {state.slaves_in_op}/{state.slaves} slaves in OP"
                     f"  cycles {state.cycles}  lost frames {state.frames_lost}  WKC mismatches "
                     f"{state.working_counter_mismatches}  overruns {state.overruns}  round trip p99 "
                     f"{state.round_trip_p99_us:.0f} us  jitter p99 {state.jitter_p99_us:.0f} us")
    joints = latest.get("joints")
    if joints is not None:
        for name, position, velocity, effort in zip(joints.name, joints.position, joints.velocity, joints.effort):
            lines.append(f"    {name:8s} position {position:+8.3f} rad  velocity {velocity:+7.3f} rad/s  "
                         f"effort {effort:+7.3f}")
    diagnostics = latest.get("diagnostics")
    if diagnostics is not None:
        slaves = [status for status in diagnostics.status if " slave " in status.name]
        lines.append("    slaves: " + ", ".join(f"{s.name.split(' ', 3)[-1]} {_level(s.level)} {s.message}"
                                                for s in slaves))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
