"""In-process link pair: two ends of a virtual wire inside one Python process.

What one end sends, the other receives, in order. Used to run the simulator and the master
in one process (tests, demos, benchmarks) with the same :class:`Link` interface as the wire.
"""

from __future__ import annotations

import queue
from typing import Optional

from .link import Buffer, Link

__all__ = ["InProcessLink"]


class InProcessLink(Link):
    """One end of an in-process wire; create both ends with :meth:`pair`."""

    def __init__(self, name: str, inbox: "queue.SimpleQueue[bytes]", outbox: "queue.SimpleQueue[bytes]"):
        super().__init__()
        self.name = name
        self._inbox = inbox
        self._outbox = outbox

    @classmethod
    def pair(cls, name: str = "inprocess") -> tuple["InProcessLink", "InProcessLink"]:
        """Two connected ends ``(a, b)``: frames sent on ``a`` arrive at ``b`` and back."""
        ab: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        ba: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        return cls(f"{name}:a", ba, ab), cls(f"{name}:b", ab, ba)

    def _send(self, payload: Buffer) -> None:
        self._outbox.put(bytes(payload))

    def _recv(self, timeout: Optional[float]) -> Optional[bytes]:
        try:
            if timeout is not None and timeout <= 0:
                return self._inbox.get_nowait()
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None
