"""The README's main command: the demo brings the node up on the simulated drive chain, moves
the drives and prints the live state (run for a few seconds)."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_runs_the_node_on_the_simulated_chain_and_moves_the_drives(ros_env):
    demo = subprocess.run([sys.executable, "-m", "ethercat_master.tools.demo", "--duration", "6", "--interval", "1"],
                          env=ros_env.env(), capture_output=True, text=True, timeout=180)
    out = demo.stdout
    assert demo.returncode == 0, out[-4000:] + demo.stderr[-2000:]
    assert "demo: node active with joints joint1, joint2, joint3, joint4" in out
    assert "configured: 8 slaves in PRE-OP, 4 drives" in out
    positions = [float(v) for v in re.findall(r"joint1\s+position\s+([+-]\d+\.\d+) rad", out)]
    assert len(positions) >= 3
    assert max(positions) - min(positions) > 0.2  # joint1 moved with the commanded sine
    assert re.search(r"master active\s+8/8 slaves in OP", out)
    assert "axis1 OK OP" in out or "axis1 WARN" in out
