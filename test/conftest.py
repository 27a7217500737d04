"""Fixtures shared by the whole suite: virtual wires and ROS environments (see harness/)."""

from __future__ import annotations

import atexit
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import RosEnvironment, VirtualWire, remove_stale_wires, require_root, require_tool  # noqa: E402
from harness.virtual_wire import remove_live_wires  # noqa: E402

pytest_plugins = ["pytester"]

atexit.register(remove_live_wires)


def pytest_sessionstart(session) -> None:
    if os.geteuid() == 0:
        remove_stale_wires()


@pytest.fixture
def wire():
    """Two network namespaces joined by a veth pair, removed after the test (needs root)."""
    require_root()
    require_tool("ip", "iproute2")
    w = VirtualWire.create()
    try:
        yield w
    finally:
        w.remove()


@pytest.fixture
def ros_env(monkeypatch):
    """A private ROS environment: LOCALHOST discovery and a reserved ROS_DOMAIN_ID, set in this
    process too (for in-process rclpy) and available as ``ros_env.env()`` for subprocesses."""
    env = RosEnvironment()
    for k, v in env.variables.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("ROS_LOCALHOST_ONLY", raising=False)
    try:
        yield env
    finally:
        env.release()
