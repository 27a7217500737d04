"""The simulator as a user runs it: ``ethercat-sim`` as its own process on one end of a
:class:`~.virtual_wire.VirtualWire`, started and stopped the same way by every integration test."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from .virtual_wire import VirtualWire

__all__ = ["SIM_START_TIMEOUT_S", "start_simulator", "stop_process"]

#: Seconds ``ethercat-sim`` may take to write its first status file (a loaded machine).
SIM_START_TIMEOUT_S = 20.0
_WAIT_STEP_S = 0.05
_STOP_TIMEOUT_S = 10.0


def start_simulator(wire: VirtualWire, chain: Path, status_path: Path, *options: str, side: str = "b",
                    ready: Sequence[Path] = (), start_timeout: float = SIM_START_TIMEOUT_S,
                    **popen: object) -> subprocess.Popen:
    """Start ``ethercat-sim`` serving ``chain`` on ``wire``'s interface in namespace ``side``
    with ``--status-file status_path`` and ``options``, and return once the status file (and
    every path of ``ready``, e.g. a ``--control`` socket) exists. Output is captured as text
    unless ``popen`` says otherwise.

    :raises AssertionError: the simulator ended, or did not start within ``start_timeout``
        (it is stopped first).
    """
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    popen.setdefault("text", True)
    process = wire.popen(side, [sys.executable, "-m", "ethercat_master.sim.cli", "--interface", wire.interface[side],
                                "--chain", str(chain), "--status-file", str(status_path), *options], **popen)
    start = time.monotonic()
    while not (status_path.exists() and all(path.exists() for path in ready)):
        if process.poll() is not None:
            raise AssertionError(f"ethercat-sim ended: {process.communicate()}")
        if time.monotonic() - start >= start_timeout:
            stop_process(process)
            raise AssertionError("ethercat-sim did not start")
        time.sleep(_WAIT_STEP_S)
    return process


def stop_process(process: subprocess.Popen, *, sig: int = signal.SIGTERM,
                 timeout: float = _STOP_TIMEOUT_S) -> tuple[str, str]:
    """Stop ``process`` with ``sig`` (killed after ``timeout``) and return its output, if it
    is still running; its output either way."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return out or "", err or ""
