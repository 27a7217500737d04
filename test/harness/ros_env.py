"""Environment for ROS processes started by tests.

Every ROS process gets ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (Kilted ignores the old
``ROS_LOCALHOST_ONLY``; without it DDS discovery multicasts on the real network) and a
``ROS_DOMAIN_ID`` that no other test run on this machine holds at the same time: the id is
reserved with an exclusive lock file for as long as the environment lives.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from typing import Optional

#: DDS domain ids usable with the default port mapping: 0..101 (0 is left to users).
DOMAIN_IDS = range(1, 102)
LOCK_DIR = os.path.join(tempfile.gettempdir(), "ethercat_master_ros_domains")


class RosEnvironment:
    """A reserved ``ROS_DOMAIN_ID`` and the environment a ROS process of a test runs with."""

    def __init__(self) -> None:
        os.makedirs(LOCK_DIR, exist_ok=True)
        self._lock_file: Optional[int] = None
        start = os.getpid() % len(DOMAIN_IDS)
        for k in range(len(DOMAIN_IDS)):
            domain = DOMAIN_IDS[(start + k) % len(DOMAIN_IDS)]
            fd = os.open(os.path.join(LOCK_DIR, f"{domain}.lock"), os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._lock_file = fd
            self.domain_id = domain
            break
        else:
            raise RuntimeError(f"all ROS domain ids {DOMAIN_IDS.start}..{DOMAIN_IDS.stop - 1} are in use")

    @property
    def variables(self) -> dict[str, str]:
        """The variables that make ROS processes local and private to this test."""
        return {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_DOMAIN_ID": str(self.domain_id)}

    def env(self, base: Optional[dict[str, str]] = None) -> dict[str, str]:
        """A full environment for a subprocess: ``base`` (default ``os.environ``) plus :attr:`variables`."""
        env = dict(os.environ if base is None else base)
        env.pop("ROS_LOCALHOST_ONLY", None)
        env.update(self.variables)
        return env

    def release(self) -> None:
        """Give the domain id back."""
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None
