"""The slave side of the mailbox, driven like a master drives it: FPWR into the receive mailbox,
FPRD of the SyncManager status, FPRD of the send mailbox, repeat requests as SOEM sends them.

Expected behaviour follows ESC Section I 8.2 and Figure 26 and ETG.1000.6 (mailbox header,
counter, error reply codes), written out here independently of the simulator.
"""

from __future__ import annotations

import pytest

from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.mailbox import (
    MailboxErrorCode,
    MailboxErrorReply,
    MailboxHeader,
    MailboxMessage,
    MailboxType,
)
from ethercat_master.protocol.registers import sync_manager_address
from ethercat_master.sim.esc import Esc
from ethercat_master.sim.mailbox import SlaveMailbox
from harness.raw_mailbox import BOOT, LAYOUT, SIZE, SM1, U16, Master, cycle, echo, fprd, fpwr, setup


# ------------------------------------------------------------------------------ handshake
def test_request_and_reply_through_real_datagrams():
    esc, mailbox, master = setup()
    assert mailbox.running
    assert master.write(MailboxType.COE, b"hello", counter=1) == 1
    # the firmware took the request between frames and answered
    assert not master.status(0).mailbox_full
    reply = master.receive()
    assert (reply.header.type, reply.header.counter, reply.payload) == (MailboxType.COE, 1, b"re:hello")
    assert not master.status(1).mailbox_full
    assert master.read()[0] == 0  # an empty mailbox is not counted


def test_receive_mailbox_stays_full_while_a_reply_waits_unread():
    esc, mailbox, master = setup()
    assert master.write(MailboxType.COE, b"one", counter=1) == 1
    assert master.write(MailboxType.COE, b"two", counter=2) == 1  # taken? no: a reply is waiting
    assert master.status(0).mailbox_full
    assert master.write(MailboxType.COE, b"three", counter=3) == 0  # refused: WKC 0
    assert master.receive().payload == b"re:one"
    assert master.receive().payload == b"re:two"  # taken after the first reply was read
    assert mailbox.requests == 2


def test_slave_counter_runs_1_to_7_and_wraps_to_1():
    esc, mailbox, master = setup()
    counters = []
    for n in range(9):
        master.write(MailboxType.COE, bytes((n,)), counter=0)
        counters.append(master.receive().header.counter)
    assert counters == [1, 2, 3, 4, 5, 6, 7, 1, 2]


def test_a_retried_counter_is_not_executed_twice():
    esc, mailbox, master = setup()
    calls = []
    mailbox.register(MailboxType.COE, lambda payload: calls.append(payload) or [payload])
    master.write(MailboxType.COE, b"a", counter=3)
    master.receive()
    master.write(MailboxType.COE, b"a", counter=3)  # the master retried: same counter
    assert master.status(1).mailbox_full is False and calls == [b"a"] and mailbox.duplicates == 1
    master.write(MailboxType.COE, b"b", counter=4)
    assert master.receive().payload == b"b"
    for _ in range(2):  # counter 0: not used, every message is new
        master.write(MailboxType.COE, b"c", counter=0)
        master.receive()
    assert calls == [b"a", b"b", b"c", b"c"]


# ---------------------------------------------------------------------------- error replies
def error_code(master: Master) -> int:
    reply = master.receive()
    assert reply.header.type == MailboxType.ERR
    return MailboxErrorReply.decode(reply.payload).code


@pytest.mark.parametrize("type", [MailboxType.FOE, MailboxType.SOE, 0x6, MailboxType.ERR])
def test_unsupported_protocol_gets_the_mailbox_error_reply(type):
    esc, mailbox, master = setup()
    master.write(type, b"\x01\x02")
    assert error_code(master) == MailboxErrorCode.UNSUPPORTED_PROTOCOL == 0x0002


def test_invalid_headers_get_their_error_codes():
    esc, mailbox, master = setup()
    cases = [
        (MailboxHeader(SIZE, 0, 0, 0, MailboxType.COE, 1).encode() + bytes(SIZE - 6), 0x0008),  # too long
        (MailboxHeader(0, 0, 0, 0, MailboxType.COE, 2).encode() + bytes(SIZE - 6), 0x0006),  # no data
        (MailboxHeader(2, 0, 5, 0, MailboxType.COE, 3).encode() + bytes(SIZE - 6), 0x0003),  # channel
        (MailboxHeader(2, 0, 0, 0, MailboxType.COE, 4, True).encode() + bytes(SIZE - 6), 0x0001),  # reserved
    ]
    for data, code in cases:
        assert cycle(esc, fpwr(LAYOUT.receive.physical_start, data))[0].wkc == 1
        assert error_code(master) == code
    assert mailbox.errors_sent == 4 and mailbox.requests == 0


# ------------------------------------------------------------------------------- repeat
def toggle_repeat(master: Master) -> None:
    """SOEM: FPRD SM1 status word (0x080D: status, activate), toggle 0x0200, FPWR it back."""
    (word,) = cycle(master.esc, fprd(SM1 + 5, 2))
    value = U16.unpack(word.data)[0] ^ 0x0200
    assert cycle(master.esc, fpwr(SM1 + 5, U16.pack(value)))[0].wkc == 1


def repeat_ack(master: Master) -> bool:
    return bool(cycle(master.esc, fprd(SM1 + 7, 1))[0].data[0] & 0x02)


def test_repeat_request_puts_the_lost_reply_back():
    esc, mailbox, master = setup()
    master.write(MailboxType.COE, b"A", counter=1)
    lost = master.receive()  # read completely, then the frame got lost on its way back
    toggle_repeat(master)
    assert repeat_ack(master)  # acknowledged by toggling
    assert master.receive() == lost
    assert mailbox.repeats == 1
    toggle_repeat(master)  # toggles back
    assert not repeat_ack(master)
    assert master.receive() == lost


def test_repeat_request_with_a_newer_reply_waiting_sends_both_in_order():
    esc, mailbox, master = setup()
    mailbox.register(MailboxType.COE, lambda payload: [b"A", b"B"])
    master.write(MailboxType.COE, b"go", counter=1)
    first = master.receive()
    assert master.status(1).mailbox_full  # B is waiting
    toggle_repeat(master)
    assert repeat_ack(master)
    assert master.receive() == first
    second = master.receive()
    assert second.payload == b"B" and second.header.counter == first.header.counter + 1
    assert master.read()[0] == 0


# --------------------------------------------------------------------------- unsolicited
def test_unsolicited_messages_are_queued_and_sent():
    esc, mailbox, master = setup()
    assert mailbox.send(MailboxType.COE, b"emergency")
    esc.frame_end()  # the firmware posts it between frames
    assert master.receive().payload == b"emergency"
    master.state(ALState.INIT)
    assert not mailbox.send(MailboxType.COE, b"lost")


def test_messages_that_do_not_fit_are_refused():
    esc, mailbox, master = setup()
    with pytest.raises(ValueError):
        mailbox.send(MailboxType.COE, bytes(SIZE - 5))
    mailbox.register(MailboxType.COE, lambda payload: [bytes(SIZE)])
    with pytest.raises(ValueError):  # the firmware fails after the frame (a server keeps it)
        master.write(MailboxType.COE, b"x")


# --------------------------------------------------------------------------- outgoing hook
def test_outgoing_hook_can_drop_repeat_alter_and_delay():
    esc, mailbox, master = setup()
    decisions = iter(["drop", "twice", "counter", "delay", "delay", "pass"])
    seen = []

    def hook(message: MailboxMessage):
        seen.append(message.header.counter)
        decision = next(decisions)
        if decision == "drop":
            return []
        if decision == "twice":
            return [message, message]
        if decision == "counter":
            header = MailboxHeader(message.header.length, 0, 0, 0, message.header.type, 7)
            return [MailboxMessage(header, message.payload)]
        if decision == "delay":
            return None
        return [message]

    mailbox.outgoing_hook = hook
    master.write(MailboxType.COE, b"1")
    assert not master.status(1).mailbox_full  # dropped
    master.write(MailboxType.COE, b"2")
    assert [master.receive().payload for _ in range(2)] == [b"re:2", b"re:2"]
    master.write(MailboxType.COE, b"3")
    assert master.receive().header.counter == 7
    master.write(MailboxType.COE, b"4")  # held back twice: offered again at every poll
    assert not master.status(1).mailbox_full  # held at the poll after the write
    assert not master.status(1).mailbox_full  # held at the poll after the first status read
    assert master.receive().payload == b"re:4"
    assert seen == [1, 2, 3, 4, 4, 4]


# ------------------------------------------------------------------------------- states
def test_init_stops_the_mailbox_and_preop_starts_it_afresh():
    esc, mailbox, master = setup()
    master.write(MailboxType.COE, b"a", counter=5)
    master.state(ALState.INIT)
    assert not mailbox.running and mailbox.queued == 0
    assert master.write(MailboxType.COE, b"b", counter=5) == 0  # deactivated from the PDI
    master.state(ALState.PREOP)
    assert master.write(MailboxType.COE, b"c", counter=5) == 1  # counter forgotten: executed
    assert master.receive().payload == b"re:c"


def test_boot_uses_the_bootstrap_mailbox():
    esc, mailbox, master = setup(boot_layout=BOOT)
    mailbox.register(MailboxType.FOE, echo)
    master.state(ALState.INIT)
    for index in (0, 1):
        cycle(esc, fpwr(sync_manager_address(index) + 6, b"\x00"))
    boot = Master(esc, BOOT)
    boot.configure()
    boot.state(ALState.BOOT)
    assert mailbox.running
    assert boot.write(MailboxType.FOE, b"file") == 1
    assert boot.receive().payload == b"re:file"


def test_handlers_are_registered_per_type_only_for_real_protocols():
    esc, mailbox, master = setup()
    with pytest.raises(ValueError):
        mailbox.register(MailboxType.ERR, echo)
    with pytest.raises(ValueError):
        SlaveMailbox(Esc(sync_manager_count=1), LAYOUT)
