"""The link a network description names, opened: a raw interface, a UDP peer, or the built-in
simulator served in this process for ``sim:CHAIN.yaml`` (so the ROS node and the command-line
tools run on the simulated chain without root or a network interface)."""

from __future__ import annotations

from typing import Optional

from ..config.network import LinkKind, NetworkConfig
from ..sim.in_process import InProcessSimulator
from ..transport import Link, open_link

__all__ = ["NetworkLink"]


class NetworkLink:
    """The opened link of ``network`` (:attr:`link`), with the in-process simulator behind it
    for a ``sim:`` link (:attr:`simulator`, None otherwise). Close it with :meth:`close` or use
    it as a context manager.

    :raises LinkError: the interface cannot be opened (missing, down, no CAP_NET_RAW).
    :raises ConfigError: the simulated chain file is invalid.
    """

    def __init__(self, network: NetworkConfig) -> None:
        spec = network.interface
        #: The simulated chain served for a ``sim:`` link.
        self.simulator: Optional[InProcessSimulator] = None
        if spec.kind is LinkKind.SIM:
            self.simulator = InProcessSimulator(network.resolve(spec.target)).start()
            self.link: Link = self.simulator.link
        else:
            self.link = open_link(spec.spec)
        #: What the link is, for messages: ``"eth1"``, ``"udp:10.0.0.2:34980"``, ``"sim:/path/chain.yaml"``.
        self.description = (f"sim:{network.resolve(spec.target)}" if self.simulator is not None else spec.spec)

    def close(self) -> None:
        """Close the link (and stop the simulator)."""
        if self.simulator is not None:
            self.simulator.stop()
        else:
            self.link.close()

    def __enter__(self) -> NetworkLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
