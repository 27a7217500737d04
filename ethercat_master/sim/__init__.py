"""Slave-chain simulator: EtherCAT slaves in software, written from the ESC specification.

The simulator exists to catch a master's mistakes, so it follows the Beckhoff ESC datasheets
(Section I technology, Section II registers), ETG.1000.4 and ETG.1000.6, never this project's
master (``sim`` imports ``protocol`` and ``errors`` only). It must satisfy an independent
master (SOEM/pysoem) too.

Public API::

    Esc            one EtherCAT Slave Controller: 64 KiB of registers and process RAM,
                   identity registers, ECAT write masks, station/alias/position/broadcast/
                   logical (FMMU, bit-granular) addressing, working counters, the AL state
                   machine (Esc.al_transition is the one place requests are judged),
                   DL status, clear-on-write error counters; PDI-side access with
                   Esc.pdi_read / Esc.pdi_write; extension points Esc.add_write_hook and
                   Esc.set_ecat_write_mask for later layers (SII, SyncManagers, DC, mailbox)
    EscType        values of the ESC type register (ET1100 by default)
    ALTransition   outcome of a state request: resulting state and AL status code
    SlaveChain     a line of Esc processing whole EtherCAT payloads like the wire:
                   SlaveChain.process(payload) -> the returning payload, or None if dropped
    ChainServer    a thread serving a SlaveChain on a transport Link (start/stop, context
                   manager, frame counters)

Example::

    from ethercat_master.sim import ChainServer, Esc, SlaveChain
    from ethercat_master.transport.inprocess import InProcessLink

    chain = SlaveChain(Esc(name=f"slave{i}") for i in range(3))
    master_end, sim_end = InProcessLink.pair()
    with ChainServer(chain, sim_end):
        master_end.send(payload)              # EtherCAT header + datagrams
        reply = master_end.recv(timeout=1.0)  # processed by the three slaves
"""

from .chain import ChainServer, SlaveChain
from .esc import (
    ADDRESS_SPACE,
    DEFAULT_FEATURES,
    DEFAULT_PORTS,
    MAX_RAM_SIZE_KIB,
    ALTransition,
    Esc,
    EscType,
    WriteHook,
)

__all__ = [
    "Esc",
    "EscType",
    "ALTransition",
    "WriteHook",
    "SlaveChain",
    "ChainServer",
    "ADDRESS_SPACE",
    "MAX_RAM_SIZE_KIB",
    "DEFAULT_FEATURES",
    "DEFAULT_PORTS",
]
