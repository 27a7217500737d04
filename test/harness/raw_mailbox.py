"""A raw master for one simulated ESC with a mailbox: real datagrams through
``Esc.process_datagram`` and ``frame_end``, the mailbox handshake as SOEM's ecx_mbxsend /
ecx_mbxreceive drive it. Shared by the slave-mailbox and mailbox-fault tests."""

from __future__ import annotations

import struct

from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.datagram import Command, Datagram, station_address
from ethercat_master.protocol.frame import ECAT_HEADER_SIZE, Frame
from ethercat_master.protocol.mailbox import MailboxMessage, MailboxType, build_mailbox
from ethercat_master.protocol.registers import (
    Register,
    SmActivate,
    SmControl,
    SmMode,
    SmStatus,
    SyncManagerChannel,
    sync_manager_address,
)
from ethercat_master.sim.esc import Esc
from ethercat_master.sim.mailbox import SlaveMailbox
from ethercat_master.sim.sync_manager import MailboxLayout, SyncManagerLayout

STATION = 0x1001
U16 = struct.Struct("<H")
SIZE = 64
LAYOUT = MailboxLayout.standard(0x1000, SIZE, 0x1080, SIZE)
BOOT = MailboxLayout.standard(0x1800, 2 * SIZE, 0x1900, 2 * SIZE)
SM0, SM1 = sync_manager_address(0), sync_manager_address(1)


def cycle(esc: Esc, *datagrams: Datagram) -> tuple[Datagram, ...]:
    """One frame through one slave, then the end of the frame (where the firmware polls)."""
    frame = bytearray(Frame(datagrams).encode())
    offset = ECAT_HEADER_SIZE
    for _ in datagrams:
        offset = esc.process_datagram(frame, offset)
    esc.frame_end()
    return Frame.decode(frame).datagrams


def fprd(offset: int, length: int) -> Datagram:
    return Datagram(Command.FPRD, 0, station_address(STATION, offset), bytes(length))


def fpwr(offset: int, data: bytes) -> Datagram:
    return Datagram(Command.FPWR, 0, station_address(STATION, offset), data)


class Master:
    """The master's side of the mailbox, as SOEM's ecx_mbxsend / ecx_mbxreceive do it."""

    def __init__(self, esc: Esc, layout: MailboxLayout = LAYOUT) -> None:
        self.esc = esc
        self.layout = layout

    def configure(self) -> None:
        for sm in (self.layout.receive, self.layout.send):
            control = SmControl(SmMode.MAILBOX, sm.direction, pdi_interrupt=True)
            data = SyncManagerChannel(sm.physical_start, sm.length, control, activate=SmActivate.ENABLE).encode()
            assert cycle(self.esc, fpwr(sync_manager_address(sm.index), data))[0].wkc == 1

    def state(self, state: ALState) -> None:
        cycle(self.esc, fpwr(Register.AL_CONTROL, U16.pack(state)))
        assert self.esc.al_state is state

    def write(self, type: int, payload: bytes, counter: int = 0, **header) -> int:
        """FPWR the whole receive mailbox; the working counter."""
        data = build_mailbox(type, payload, mailbox_size=self.layout.receive.length, counter=counter, **header)
        return cycle(self.esc, fpwr(self.layout.receive.physical_start, data))[0].wkc

    def status(self, index: int) -> SmStatus:
        (reply,) = cycle(self.esc, fprd(sync_manager_address(index) + 5, 1))
        assert reply.wkc == 1
        return SmStatus.decode(reply.data)

    def read(self) -> tuple[int, bytes]:
        """FPRD the whole send mailbox: (working counter, data)."""
        (reply,) = cycle(self.esc, fprd(self.layout.send.physical_start, self.layout.send.length))
        return reply.wkc, reply.data

    def receive(self) -> MailboxMessage:
        assert self.status(self.layout.send.index).mailbox_full
        wkc, data = self.read()
        assert wkc == 1
        return MailboxMessage.decode(data)


def echo(payload: bytes) -> list[bytes]:
    return [b"re:" + payload]


def setup(**mailbox_kwargs) -> tuple[Esc, SlaveMailbox, Master]:
    esc = Esc(sync_manager_layout=SyncManagerLayout(mailbox=LAYOUT, boot_mailbox=BOOT))
    cycle(esc, Datagram(Command.APWR, 0, Register.CONFIGURED_STATION_ADDRESS << 16, U16.pack(STATION)))
    mailbox = SlaveMailbox(esc, LAYOUT, **mailbox_kwargs)
    mailbox.register(MailboxType.COE, echo)
    master = Master(esc)
    master.configure()
    master.state(ALState.PREOP)
    return esc, mailbox, master
