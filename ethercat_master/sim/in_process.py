"""A simulated chain served in this process: the master's end of an in-process link with the
chain of a YAML file behind it (how ``--sim CHAIN.yaml``, the ``sim:`` link of a network file
and the soak demos run the simulator without a network interface or root)."""

from __future__ import annotations

from pathlib import Path

from ..transport import InProcessLink, Link
from .chain import ChainServer
from .chain_config import LoadedChain, load_chain
from .esc import Esc
from .faults import FaultyWire

__all__ = ["InProcessSimulator"]

#: Seconds the serving thread sleeps between empty polls of its end of the link.
_SIMULATOR_POLL_S = 0.005


class InProcessSimulator:
    """The slaves of a chain file served in this process on an in-process link.

    :attr:`link` is the master's end (hand it to :class:`~ethercat_master.master.master.Master`);
    the chain file's own fault plan, if any, is applied on the wire. Use as a context
    manager, or :meth:`start` and :meth:`stop`.

    :param chain_path: the YAML chain file (:func:`~ethercat_master.sim.chain_config.load_chain`).
    :raises ConfigError: the chain file is invalid.
    """

    def __init__(self, chain_path: Path | str) -> None:
        #: The chain as built from the file.
        self.loaded: LoadedChain = load_chain(chain_path)
        #: The master's end of the in-process wire.
        self.link: Link
        self.link, self._served = InProcessLink.pair("sim")
        plan = self.loaded.fault_plan
        wire = None if plan is None else FaultyWire(self.loaded.chain, plan)
        #: The thread serving the chain.
        self.server = ChainServer(self.loaded.chain, self._served, wire=wire, poll_interval=_SIMULATOR_POLL_S,
                                  name="in-process ethercat-sim")

    def slave(self, position: int) -> Esc:
        """The simulated slave at auto-increment ``position``."""
        chain = self.loaded.chain
        return chain[chain.processing_order[position]]

    def start(self) -> InProcessSimulator:
        """Start serving; returns self."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving and close both ends of the wire."""
        try:
            self.server.stop()
        finally:
            self.link.close()
            self._served.close()

    def __enter__(self) -> InProcessSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
