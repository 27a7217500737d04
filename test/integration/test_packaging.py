"""The package as users get it: the colcon install tree, `pip install .`, and a real ROS
round trip of one of the package's generated message types."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import venv

import pytest

from harness import require

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSTALL_SITE = os.path.join(ROOT, "install", "ethercat_master", "lib",
                            f"python{sys.version_info.major}.{sys.version_info.minor}", "site-packages")


def _require_ros_build():
    require(os.path.isdir(INSTALL_SITE), "needs the colcon build (`./dev test` builds it)")
    try:
        import rclpy  # noqa: F401
    except ImportError:
        require(False, "needs rclpy (the ROS 2 wheels; `./dev test` installs them)")


def test_generated_messages_import_from_the_install_tree():
    _require_ros_build()
    env = dict(os.environ, PYTHONPATH=INSTALL_SITE)  # only the installed package, not the source
    code = textwrap.dedent("""
        import ethercat_master, ethercat_master.protocol.frame
        from ethercat_master.msg import SlaveState, SlaveIdentity, Emergency
        m = SlaveState(al_state=SlaveState.OP)
        m.identity.name = "EL2008"
        print(ethercat_master.__file__)
        print(m.al_state, m.identity.name, len(Emergency().manufacturer_data))
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd="/", capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[0].startswith(INSTALL_SITE)
    assert out[1] == "8 EL2008 5"


def test_generated_message_crosses_a_real_ros_graph(ros_env):
    _require_ros_build()
    listener = textwrap.dedent("""
        import rclpy
        from ethercat_master.msg import Emergency
        rclpy.init()
        node = rclpy.create_node("listener")
        got = []
        node.create_subscription(Emergency, "emergencies", got.append, 10)
        print("ready", flush=True)
        while not got:
            rclpy.spin_once(node, timeout_sec=0.1)
        m = got[0]
        print(m.position, hex(m.error_code), [int(x) for x in m.manufacturer_data], m.text, flush=True)
        rclpy.shutdown()
    """)
    talker = textwrap.dedent("""
        import time, rclpy
        from ethercat_master.msg import Emergency
        rclpy.init()
        node = rclpy.create_node("talker")
        pub = node.create_publisher(Emergency, "emergencies", 10)
        m = Emergency(position=3, error_code=0x8611, manufacturer_data=[1, 2, 3, 4, 5], text="following error")
        for _ in range(200):
            pub.publish(m)
            time.sleep(0.05)
    """)
    env = ros_env.env()
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    lp = subprocess.Popen([sys.executable, "-c", listener], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    tp = subprocess.Popen([sys.executable, "-c", talker], env=env, stderr=subprocess.DEVNULL)
    try:
        assert lp.stdout.readline().strip() == "ready"
        out, err = lp.communicate(timeout=30)
        assert out.strip() == "3 0x8611 [1, 2, 3, 4, 5] following error", (
            f"listener exited with {lp.returncode}: {err[-2000:]}")
    finally:
        for p in (tp, lp):  # SIGINT first: DDS then removes its shared-memory segments
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.mark.slow
def test_pip_install_gives_the_core_without_ros(tmp_path):
    # a copy of what git tracks, like a fresh clone (and no build output lands in the source tree)
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for rel in files:
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if os.path.isfile(os.path.join(ROOT, rel)):
            shutil.copy2(os.path.join(ROOT, rel), dest)
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    py = str(target / "bin" / "python")
    done = subprocess.run([py, "-m", "pip", "install", "-q", str(src)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    code = ("import ethercat_master, ethercat_master.transport, ethercat_master.protocol.frame as f;"
            "print(ethercat_master.__file__); print(f.Frame.__name__)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AMENT_PREFIX_PATH")}
    out = subprocess.run([py, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path,
                         env=env).stdout.splitlines()
    assert out[0].startswith(str(target)) and out[1] == "Frame"
    cli = subprocess.run([str(target / "bin" / "ethercat-master"), "--help"], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert cli.returncode == 0 and "usage" in cli.stdout.lower()
