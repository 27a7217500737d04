"""launch_testing: launch/ethercat_master.launch.py with ``autostart:=false`` leaves the node in
'unconfigured' for its lifecycle services, and a configure + activate through them brings it
to 'active' (here on the simulated chain of config/network_sim.yaml, so no hardware is needed).

Run where ROS 2 is complete: ``ROS_DOMAIN_ID=<free id> launch_test test/launch/test_ethercat_master_launch.py``.
Skipped under plain pytest without the launch packages (see test_sim_launch.py). The waits give
up after generous limits; they are not timing assertions.
"""

import os
import time
import unittest
from pathlib import Path

import pytest

launch_testing = pytest.importorskip(
    "launch_testing",
    reason="launch_testing is not installed here (ROS 2 launch packages are not pip-installable); "
           "run with launch_test on a full ROS 2 install")
launch = pytest.importorskip("launch", reason="launch (ROS 2) is not installed")
pytest.importorskip("launch_ros", reason="launch_ros (ROS 2) is not installed")

import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
import rclpy  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NODE = "/ethercat_master"
UP_TIMEOUT = 180.0

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


@pytest.mark.launch_test
def generate_test_description():
    node = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(ROOT / "launch" / "ethercat_master.launch.py")),
        launch_arguments={"config_file": str(ROOT / "config" / "network_sim.yaml"),
                          "autostart": "false"}.items())
    return launch.LaunchDescription([node, launch_testing.actions.ReadyToTest()])


class TestManualLifecycle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rclpy.init()
        cls.node = rclpy.create_node("test_ethercat_master_launch_probe")

    @classmethod
    def tearDownClass(cls):
        cls.node.destroy_node()
        rclpy.shutdown()

    def _call(self, srv_type, name, request):
        client = self.node.create_client(srv_type, f"{NODE}/{name}")
        try:
            self.assertTrue(client.wait_for_service(timeout_sec=UP_TIMEOUT), f"no service {NODE}/{name}")
            future = client.call_async(request)
            end = time.monotonic() + UP_TIMEOUT
            while not future.done() and time.monotonic() < end:
                rclpy.spin_once(self.node, timeout_sec=0.2)
            self.assertTrue(future.done(), f"{name}: no reply")
            return future.result()
        finally:
            self.node.destroy_client(client)

    def _state(self):
        return self._call(GetState, "get_state", GetState.Request()).current_state.label

    def _transition(self, transition_id):
        return self._call(ChangeState, "change_state",
                          ChangeState.Request(transition=Transition(id=transition_id))).success

    def test_waits_unconfigured_then_follows_its_lifecycle_services(self):
        self.assertEqual(self._state(), "unconfigured")
        self.assertTrue(self._transition(Transition.TRANSITION_CONFIGURE))
        self.assertEqual(self._state(), "inactive")
        self.assertTrue(self._transition(Transition.TRANSITION_ACTIVATE))
        self.assertEqual(self._state(), "active")
        self.assertTrue(self._transition(Transition.TRANSITION_DEACTIVATE))
        self.assertEqual(self._state(), "inactive")  # autostart is off: nothing re-activates it


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
