"""Slave-chain simulator: EtherCAT slaves in software, written from the ESC specification.

The simulator exists to catch a master's mistakes, so it follows the Beckhoff ESC datasheets
(Section I technology, Section II registers), ETG.1000.4/.6, ETG.2010 and the device profiles,
never this project's master (``sim`` imports ``protocol``, ``transport`` and ``errors`` only).
SOEM (pysoem) drives it end to end over a veth pair (``test/integration/test_pysoem_peer.py``).

Layers, bottom up::

    Esc                 one EtherCAT Slave Controller: registers and process RAM, addressing
                        and working counters, FMMUs, SyncManagers (sync_manager), the AL state
                        machine, the process-data watchdog, ECAT write masks and hooks
    Eeprom              the SII EEPROM behind registers 0x0500-0x050F
    SlaveMailbox        the slave's mailbox firmware; CoeServer (with an ObjectDictionary),
                        FoEServer, EoEEndpoint serve its protocols
    SimulatedSlave      an Esc with its EEPROM, mailbox, servers and device application, built
                        from a DeviceDescription by a DeviceModel (devices: EK1100, EL1008,
                        EL2008, EL3102, Cia402DriveModel)
    SlaveChain          slaves wired by a Topology (ports, Cables, delays), with DC clocks
                        (DcUnit), processing whole frames; ChainServer serves it on a Link
    FaultPlan/FaultyWire, MailboxFaultPlan/MailboxFaults
                        seeded frame-level and mailbox-level fault injection
    load_chain          a chain from a YAML description (config/sim_chain.yaml);
                        ``ethercat-sim`` serves one on an interface or on UDP

Example::

    from ethercat_master.sim import ChainServer, load_chain
    from ethercat_master.transport import InProcessLink

    chain = load_chain("config/sim_chain.yaml").chain
    master_end, sim_end = InProcessLink.pair()
    with ChainServer(chain, sim_end):
        master_end.send(payload)              # EtherCAT header + datagrams
        reply = master_end.recv(timeout=1.0)
"""

from .chain import ChainServer, SlaveChain
from .chain_config import LoadedChain, load_chain, parse_chain_config
from .coe_server import CoeServer
from .dc import ClockSpec, DcUnit, ManualTime
from .device import DeviceDescription
from .eeprom import Eeprom
from .eoe_endpoint import EoEEndpoint
from .esc import ALTransition, Esc, EscType
from .faults import FaultPlan, FaultRate, FaultyWire, TopologyEvent
from .foe_server import FoEServer
from .mailbox import SlaveMailbox
from .mailbox_faults import MailboxFaultPlan, MailboxFaults
from .object_dictionary import ObjectDictionary
from .slave import DeviceApplication, DeviceModel, SimulatedSlave, build_chain
from .sync_manager import MailboxLayout, SyncManagerLayout
from .topology import Cable, Topology

__all__ = [
    "Esc", "EscType", "ALTransition", "MailboxLayout", "SyncManagerLayout", "Eeprom",
    "SlaveMailbox", "CoeServer", "ObjectDictionary", "FoEServer", "EoEEndpoint",
    "DeviceDescription", "DeviceModel", "DeviceApplication", "SimulatedSlave", "build_chain",
    "SlaveChain", "ChainServer", "Topology", "Cable", "DcUnit", "ClockSpec", "ManualTime",
    "FaultPlan", "FaultRate", "FaultyWire", "TopologyEvent", "MailboxFaultPlan", "MailboxFaults",
    "LoadedChain", "load_chain", "parse_chain_config",
]
