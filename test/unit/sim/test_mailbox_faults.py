"""Mailbox faults of a simulated slave: each kind, as a master sees it through real datagrams,
and reproducible from the seed."""

from __future__ import annotations

import pytest
from harness.raw_mailbox import setup

from ethercat_master.protocol.coe import CoEService, CoEHeader, Emergency
from ethercat_master.protocol.mailbox import MailboxMessage, MailboxType
from ethercat_master.sim.faults import FaultRate
from ethercat_master.sim.mailbox_faults import STORM_ERROR_CODE, MailboxFault, MailboxFaultPlan, MailboxFaults

ALWAYS = FaultRate(every=1)


def _faulty(plan: MailboxFaultPlan):
    esc, mailbox, master = setup()
    faults = MailboxFaults(plan).attach(mailbox)
    return esc, master, faults


def _receive_all(esc, master, polls: int = 30) -> list[MailboxMessage]:
    """Everything the slave puts into its send mailbox within ``polls`` frames."""
    got = []
    for _ in range(polls):
        if master.status(master.layout.send.index).mailbox_full:
            wkc, data = master.read()
            assert wkc == 1
            got.append(MailboxMessage.decode(data))
    return got


def _request(master, n: int, counter: int) -> None:
    assert master.write(MailboxType.COE, b"req%d" % n, counter=counter) == 1


def test_stale_sends_the_previous_reply_again_before_the_new_one():
    esc, master, faults = _faulty(MailboxFaultPlan(stale=FaultRate(every=2)))
    _request(master, 1, 1)
    first = _receive_all(esc, master)
    _request(master, 2, 2)
    second = _receive_all(esc, master)
    assert [m.payload[:7] for m in first] == [b"re:req1"]
    assert [m.payload[:7] for m in second] == [b"re:req1", b"re:req2"]
    assert second[0].header.counter == first[0].header.counter  # the old message, old counter
    assert faults.log[1].faults == {MailboxFault.STALE}


def test_repeat_sends_one_reply_twice_with_the_same_counter():
    esc, master, _ = _faulty(MailboxFaultPlan(repeat=ALWAYS))
    _request(master, 1, 1)
    got = _receive_all(esc, master)
    assert len(got) == 2 and got[0] == got[1]


def test_wrong_counter_is_not_the_next_one():
    esc, master, faults = _faulty(MailboxFaultPlan(seed=5, wrong_counter=ALWAYS))
    _request(master, 1, 1)
    (reply,) = _receive_all(esc, master)
    assert reply.header.counter != faults.log[0].counter and 1 <= reply.header.counter <= 7


def test_busy_holds_the_reply_for_the_configured_polls():
    esc, master, _ = _faulty(MailboxFaultPlan(busy=ALWAYS, busy_polls=5))
    _request(master, 1, 1)
    empty_polls = 0
    while not master.status(master.layout.send.index).mailbox_full:
        empty_polls += 1
        assert empty_polls < 50
    assert empty_polls >= 4  # held back over several firmware polls
    assert master.read()[1][6:13] == b"re:req1"


def test_silent_never_answers_and_the_next_request_is_served():
    esc, master, _ = _faulty(MailboxFaultPlan(silent=FaultRate(every=1)))
    _request(master, 1, 1)
    assert _receive_all(esc, master) == []
    esc2, master2, _ = _faulty(MailboxFaultPlan(silent=FaultRate(every=2)))
    _request(master2, 1, 1)
    assert len(_receive_all(esc2, master2)) == 1
    _request(master2, 2, 2)
    assert _receive_all(esc2, master2) == []  # the second request is a transient timeout
    _request(master2, 3, 3)
    assert [m.payload[:7] for m in _receive_all(esc2, master2)] == [b"re:req3"]


def test_emergency_storm_follows_the_reply_with_numbered_emergencies():
    esc, master, faults = _faulty(MailboxFaultPlan(emergency_storm=FaultRate(every=1), storm_size=5))
    _request(master, 1, 1)
    got = _receive_all(esc, master, polls=60)
    assert got[0].payload[:7] == b"re:req1"
    storm = got[1:]
    assert len(storm) == 5
    for m in storm:
        assert CoEHeader.decode(m.payload).service == CoEService.EMERGENCY
        assert Emergency.decode(m.payload).error_code == STORM_ERROR_CODE
    counters = [m.header.counter for m in got]
    assert len(set(counters[:6])) == 6  # each numbered as the slave numbers its messages
    assert len(faults.log) == 1  # storm messages pass unharmed, they are not faulted again


def test_the_same_seed_gives_the_same_faults():
    def run(seed: int) -> list:
        esc, master, faults = _faulty(MailboxFaultPlan(seed=seed, stale=FaultRate(0.3), repeat=FaultRate(0.3),
                                                       wrong_counter=FaultRate(0.3), silent=FaultRate(0.2)))
        for n in range(1, 30):
            _request(master, n, (n - 1) % 7 + 1)
            _receive_all(esc, master, polls=6)
        return [r.faults for r in faults.log]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_plan_rejects_nonsense():
    with pytest.raises(ValueError):
        MailboxFaultPlan(busy_polls=0)
