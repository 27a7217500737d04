"""One simulated ESC with a mailbox, served on an in-process link and configured to PRE-OP the
way a master does it (station address, mailbox SyncManagers, AL control), for the tests of the
master's mailbox engine and its CoE and FoE clients."""

from __future__ import annotations

import struct

from ethercat_master.master.bus import Bus
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.datagram import Command, position_address, station_address
from ethercat_master.protocol.registers import (
    EscFeature,
    Register,
    SmActivate,
    SmControl,
    SmMode,
    SyncManagerChannel,
    sync_manager_address,
)
from ethercat_master.sim import ChainServer, Esc, SlaveChain
from ethercat_master.sim.mailbox import SlaveMailbox
from ethercat_master.sim.sync_manager import MailboxLayout, SyncManagerLayout
from ethercat_master.transport import InProcessLink

STATION = 0x1001
RECEIVE, SEND = 0x1000, 0x1400
U16 = struct.Struct("<H")


class SimulatedMailboxSlave:
    """The slave (``esc``, ``mailbox``, ``chain``, ``server``) and two buses on the master's
    end: ``config`` for set-up frames (re-sends lost frames) and ``bus`` for the engine under
    test. Use as a context manager; register protocol servers on ``mailbox`` before entering."""

    def __init__(self, size: int, *, bus_timeout: float, bus_retries: int = 0) -> None:
        self.size = size
        self.layout = MailboxLayout.standard(RECEIVE, size, SEND, size)
        self.esc = Esc(features=EscFeature(0), sync_manager_layout=SyncManagerLayout(mailbox=self.layout))
        self.mailbox = SlaveMailbox(self.esc, self.layout)
        self.chain = SlaveChain([self.esc])
        master_end, sim_end = InProcessLink.pair()
        self.server = ChainServer(self.chain, sim_end, poll_interval=0.005)
        self.config = Bus(master_end, timeout=0.1, retries=3)
        self.bus = Bus(master_end, timeout=bus_timeout, retries=bus_retries)

    def __enter__(self):
        self.server.start()
        self.config.write(Command.APWR, position_address(0, Register.CONFIGURED_STATION_ADDRESS),
                          U16.pack(STATION), expected_wkc=1)
        for sm in (self.layout.receive, self.layout.send):
            control = SmControl(SmMode.MAILBOX, sm.direction, pdi_interrupt=True)
            channel = SyncManagerChannel(sm.physical_start, sm.length, control, activate=SmActivate.ENABLE)
            self.config.write(Command.FPWR, station_address(STATION, sync_manager_address(sm.index)),
                              channel.encode(), expected_wkc=1)
        self.state(ALState.PREOP)
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    def state(self, state: ALState) -> None:
        """Request ``state`` through AL control and check the slave took it."""
        self.config.write(Command.FPWR, station_address(STATION, Register.AL_CONTROL), U16.pack(state),
                          expected_wkc=1)
        assert self.esc.al_state is state
