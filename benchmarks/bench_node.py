"""The ROS node's cost and latency: CPU use at a given cycle period with N simulated CiA 402 drives,
and the latency from a ``joint_commands`` message to the drive's target in the process image.

::

    python benchmarks/bench_node.py [--drives 16] [--period 0.001] [--seconds 10] [--samples 200]

Two measurements, printed as one JSON object:

``cpu``
    The node runs as its own process (``python -m ethercat_master.ros --autostart``) against a
    chain of ``--drives`` drives served by ``ethercat-sim`` in another process over
    EtherCAT-over-UDP on the loopback address (so the simulator's CPU is not counted), all
    drives enabled in CSP, a client streaming ``joint_commands`` for every joint at 100 Hz. The
    node's user+system CPU time over ``--seconds`` (from ``/proc/PID/stat``) as a percentage of
    one core, with the cycles, lost frames and overruns it reported.
``latency``
    The node runs in this process (its executor in a thread) on the same kind of chain served
    in-process; a client node publishes ``joint_commands`` with a new position for joint1
    ``--samples`` times, and a poller reads the drive's ``target_position`` in the process image
    until it shows the commanded counts: publish -> DDS -> subscription callback -> drive
    set-point -> next cycle's ``update()`` writes the image. Percentiles in microseconds.

The figures depend on the machine (2 shared cores here): read them as orders of magnitude and
compare runs on the same machine only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
COUNTS_PER_RAD = 131072 / (2 * np.pi)
#: joint_commands messages per second in the CPU measurement (a controller's rate).
COMMAND_RATE_HZ = 100.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def chain_files(directory: Path, drives: int, interface: str) -> Path:
    """Write a chain of ``drives`` drives and its network file; returns the network file."""
    slaves = "\n".join(f"  - {{device: CiA402Drive, label: axis{n + 1}, serial_number: {1001 + n}}}"
                       for n in range(drives))
    links = "\n".join(f"    - {{parent: axis{n}, port: 1, child: axis{n + 1}}}" for n in range(1, drives))
    (directory / "chain.yaml").write_text(f"slaves:\n{slaves}\ntopology:\n  connections:\n{links or '    []'}\n")
    drive_pdo = ("    pdo:\n      rxpdo: [0x1600]\n      txpdo: [0x1A00]\n")
    entries = "\n".join(
        f"  - name: axis{n + 1}\n    position: {n}\n"
        f"    identity: {{vendor_id: 0x0, product_code: 0x402, revision: 1}}\n{drive_pdo}"
        f"    drive: {{joint: joint{n + 1}, unit: rad, counts_per_unit: {COUNTS_PER_RAD!r}, mode: csp}}"
        for n in range(drives))
    network = directory / "network.yaml"
    network.write_text(f"interface: {interface}\ncycle_period: 1ms\nprocess_data_watchdog: 500ms\nslaves:\n{entries}\n")
    return network


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_cpu(drives: int, period: float, seconds: float) -> dict[str, Any]:
    """The node's CPU use (see the module documentation)."""
    import rclpy
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import JointState

    from ethercat_master.msg import MasterState

    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        network = chain_files(Path(tmp), drives, f"udp:127.0.0.1:{port}")
        sim = subprocess.Popen([sys.executable, "-m", "ethercat_master.sim.cli", "--chain", str(Path(tmp) / "chain.yaml"),
                                "--udp", f"127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        node = subprocess.Popen([sys.executable, "-m", "ethercat_master.ros", "--config", str(network), "--autostart",
                                 "--ros-args", "-p", f"cycle_period:={period}", "-p", "publish_rate:=100.0"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        rclpy.init()
        client = Node("bench_node_cpu")
        latest: dict[str, Any] = {}
        client.create_subscription(MasterState, "/ethercat_master/state", lambda m: latest.__setitem__("state", m), 10)
        client.create_subscription(JointState, "/joint_states", lambda m: latest.__setitem__("joints", m),
                                   qos_profile_sensor_data)
        commands = client.create_publisher(JointState, "/joint_commands", qos_profile_sensor_data)
        try:
            end = time.monotonic() + 90
            while not ("joints" in latest and "state" in latest and latest["state"].lifecycle_state == "active"):
                rclpy.spin_once(client, timeout_sec=0.1)
                if time.monotonic() > end or node.poll() is not None:
                    node.send_signal(signal.SIGINT)
                    log = node.communicate(timeout=20)[0]
                    raise RuntimeError(f"the node did not become active:\n{log[-3000:]}")
            names = list(latest["joints"].name)
            centre = list(latest["joints"].position)
            start_state = latest["state"]
            cpu0, t0 = _cpu_seconds(node.pid), time.monotonic()
            next_command = t0
            while time.monotonic() - t0 < seconds:
                now = time.monotonic()
                if now >= next_command:  # a controller at COMMAND_RATE_HZ, not as fast as the loop spins
                    t = now - t0
                    msg = JointState(name=names, position=[c + 0.3 * np.sin(2 * np.pi * 0.5 * t) for c in centre])
                    commands.publish(msg)
                    next_command += 1.0 / COMMAND_RATE_HZ
                rclpy.spin_once(client, timeout_sec=max(0.0, next_command - time.monotonic()))
            cpu1, t1 = _cpu_seconds(node.pid), time.monotonic()
            state = latest["state"]
            return {"drives": drives, "period_s": period, "seconds": round(t1 - t0, 2),
                    "cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
                    "cycles": state.cycles - start_state.cycles,
                    "cycles_expected": round((t1 - t0) / period),
                    "frames_lost": state.frames_lost - start_state.frames_lost,
                    "overruns": state.overruns - start_state.overruns,
                    "round_trip_p99_us": state.round_trip_p99_us, "jitter_p99_us": state.jitter_p99_us}
        finally:
            client.destroy_node()
            rclpy.shutdown()
            for process in (node, sim):
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def measure_latency(drives: int, period: float, samples: int) -> dict[str, Any]:
    """Latency from joint_commands to the image (see the module documentation)."""
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import JointState

    from ethercat_master.ros.node import EtherCATMasterNode

    with tempfile.TemporaryDirectory() as tmp:
        network = chain_files(Path(tmp), drives, "sim:chain.yaml")
        rclpy.init()
        node = EtherCATMasterNode(parameter_overrides=[Parameter("config_file", value=str(network)),
                                                       Parameter("cycle_period", value=period)])
        client = Node("bench_node_latency")
        publisher = client.create_publisher(JointState, "/joint_commands", qos_profile_sensor_data)
        executor = MultiThreadedExecutor(num_threads=4)
        executor.add_node(node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        try:
            from rclpy.lifecycle import TransitionCallbackReturn

            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS or \
                    node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                raise RuntimeError("the node did not become active")
            drive = node.drives["joint1"]
            area = node.master.image.outputs[drive.slave]
            time.sleep(0.5)  # discovery between the two nodes
            base = drive.position or 0.0
            latencies = []
            for k in range(samples + 5):
                target = base + 0.001 * (k % 50 + 1)
                counts = round(target * COUNTS_PER_RAD)
                sent = time.perf_counter_ns()
                publisher.publish(JointState(name=["joint1"], position=[target]))
                deadline = sent + 200_000_000
                while area["target_position"] != counts and time.perf_counter_ns() < deadline:
                    time.sleep(20e-6)
                seen = time.perf_counter_ns()
                if area["target_position"] == counts and k >= 5:  # the first ones wait for discovery
                    latencies.append((seen - sent) / 1000)
                time.sleep(0.01)
            values = np.array(latencies)
            return {"drives": drives, "period_s": period, "samples": len(latencies),
                    "missed": samples - len(latencies),
                    "p50_us": round(float(np.percentile(values, 50)), 1),
                    "p99_us": round(float(np.percentile(values, 99)), 1),
                    "max_us": round(float(values.max()), 1)}
        finally:
            node.release()
            executor.shutdown()
            client.destroy_node()
            node.destroy_node()
            rclpy.shutdown()


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drives", type=int, default=16)
    parser.add_argument("--period", type=float, default=0.001)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 50 + 200))
    result: dict[str, Any] = {"benchmark": "ros_node"}
    for key, run in (("cpu", lambda: measure_cpu(args.drives, args.period, args.seconds)),
                     ("latency", lambda: measure_latency(args.drives, args.period, args.samples))):
        try:
            result[key] = run()
        except RuntimeError as exc:  # a node that could not run on this machine now: say why
            result[key] = {"error": str(exc)[:2000]}
    result["machine"] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
