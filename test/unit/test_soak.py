"""mailbox_soak_demo: short soaks with every fault kind switched on must succeed completely and
without deadlock in every status mode; the report keeps its schema; the watchdog reports a hung
transaction instead of hanging; failures are counted by class; the seed fixes the mix."""

from __future__ import annotations

import json
import threading
import time

import pytest

from ethercat_master.master.mailbox import StatusMode
from ethercat_master.tools import soak
from ethercat_master.tools.soak import NO_FAULTS, DataMismatch, FaultRates, SoakSettings, run_soak

#: Every fault kind often enough to strike several times in a few hundred transactions.
DENSE = FaultRates(stale=0.02, repeat=0.02, wrong_counter=0.02, busy=0.03, silent=0.015, emergency_storm=0.02,
                   loss=0.01, delay=0.01, duplication=0.01)
TOP_LEVEL = {
    "schema_version": int, "kind": str, "chain": str, "seed": int, "status_mode": str,
    "transactions_requested": int, "stopped_by": str, "total": int, "succeeded": int, "failed": int,
    "success_rate": float, "failures_by_class": dict, "failure_examples": list, "by_kind": dict,
    "latency_us": dict, "retries": int, "repeat_requests": int, "stale_discarded": int,
    "emergencies_received": int, "emergencies_dropped": int, "emergencies_taken": int,
    "deadlocks_detected": int, "deadlocks": list, "watchdog_s": float, "duration_s": float,
    "transactions_per_s": float, "mailbox": dict, "frames": dict, "slaves": list, "policy": dict, "faults": dict,
}


@pytest.fixture(scope="module")
def report():
    return run_soak(SoakSettings(transactions=400, seed=7, faults=DENSE))


def test_a_short_soak_with_every_fault_succeeds_completely(report):
    assert report["total"] == report["succeeded"] == 400 and report["failed"] == 0
    assert report["success_rate"] == 1.0 and report["failures_by_class"] == {}
    assert report["deadlocks_detected"] == 0 and report["stopped_by"] == "transactions"
    injected = report["faults"]["injected"]
    assert all(n > 0 for n in injected["mailbox"].values()), injected
    assert all(n > 0 for n in injected["frame"].values()), injected
    # the recovery paths ran
    assert report["retries"] > 0 and report["repeat_requests"] > 0 and report["stale_discarded"] > 0
    assert report["mailbox"]["lost_reads"] + report["mailbox"]["frame_timeouts"] > 0
    assert report["emergencies_received"] >= report["emergencies_taken"] > 0
    assert report["emergencies_dropped"] == 0


def test_every_kind_ran_on_the_slaves_that_support_it(report):
    assert set(report["by_kind"]) == set(soak.KINDS)
    slaves = {s["position"]: s for s in report["slaves"]}
    assert sorted(slaves) == [3, 4, 5, 6, 7]  # the CoE slaves of the reference chain
    assert slaves[4]["string_transfer"] == "segmented" and slaves[5]["string_transfer"] == "normal"
    assert "complete_access_download" not in slaves[3]["kinds"]  # the EL3102 has no complete access
    assert slaves[3]["write_target"] == "EL31xx channel 1 limit 1"
    assert slaves[4]["array_target"] == "CiA 402 software position limit"
    assert sum(s["transactions"] for s in slaves.values()) == 400


def test_the_report_schema(report):
    for key, kind in TOP_LEVEL.items():
        assert isinstance(report[key], kind), key
    assert (report["schema_version"], report["kind"]) == (1, "ethercat_master.mailbox_soak")
    latency = report["latency_us"]
    assert set(latency) == {"p50_us", "p90_us", "p99_us", "p99_9_us", "max_us", "mean_us"}
    assert 0 < latency["p50_us"] <= latency["p99_us"] <= latency["p99_9_us"] <= latency["max_us"]
    assert set(report["faults"]) == {"mailbox", "frame", "injected"}
    assert report["faults"]["mailbox"]["silent"] == DENSE.silent
    assert json.loads(json.dumps(report)) == report


@pytest.mark.parametrize("mode", [StatusMode.STRICT, StatusMode.POLL])
def test_the_other_status_modes(mode):
    result = run_soak(SoakSettings(transactions=150, seed=3, status_mode=mode, faults=DENSE))
    assert result["succeeded"] == 150 and result["deadlocks_detected"] == 0
    assert result["status_mode"] == mode.value


def test_the_seed_fixes_the_mix():
    runs = [run_soak(SoakSettings(transactions=60, seed=seed, faults=NO_FAULTS)) for seed in (5, 5, 6)]
    assert runs[0]["by_kind"] == runs[1]["by_kind"] != runs[2]["by_kind"]
    assert runs[0]["faults"]["injected"]["mailbox"] == dict.fromkeys(runs[0]["faults"]["injected"]["mailbox"], 0)


def test_the_watchdog_reports_a_hung_transaction_and_returns(monkeypatch):
    release = threading.Event()

    def hang(client, targets, rng):
        release.wait(60)

    monkeypatch.setitem(soak.KINDS, "hang", soak._Kind(1000, lambda t: t.position == 6, hang))
    start = time.monotonic()
    try:
        result = run_soak(SoakSettings(transactions=100, seed=1, faults=NO_FAULTS, watchdog=0.5))
    finally:
        release.set()
    assert time.monotonic() - start < 10
    assert result["deadlocks_detected"] == 1 and result["stopped_by"] == "deadlock"
    (deadlock,) = result["deadlocks"]
    assert deadlock["position"] == 6 and deadlock["kind"] == "hang"
    assert deadlock["seconds_without_progress"] >= 0.5
    assert result["failures_by_class"] == {"Deadlock": 1}
    assert result["total"] < 100  # the abandoned thread's later transactions never ran


def test_failures_are_counted_by_class_and_set_the_exit_status(monkeypatch, capsys):
    def wrong(client, targets, rng):
        raise DataMismatch("made up")

    monkeypatch.setitem(soak.KINDS, "string_upload", soak._Kind(15, lambda t: True, wrong))
    status = soak.main(["--transactions", "80", "--no-faults", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert status == 1
    assert result["failures_by_class"] == {"DataMismatch": result["by_kind"]["string_upload"]["total"]}
    assert result["failure_examples"][0]["message"] == "made up"
    assert result["success_rate"] < 1


def test_duration_limit_and_human_summary(capsys):
    status = soak.main(["--transactions", "1000000", "--duration", "0.5", "--no-faults"])
    out = capsys.readouterr().out
    assert status == 0
    assert "stopped by duration" in out and "deadlocks detected: 0" in out and "100.0000 %" in out


def test_bad_options_are_one_line(capsys):
    assert soak.main(["--chain", "/nonexistent.yaml", "-n", "10"]) == 2
    assert "nonexistent.yaml" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        soak.main(["--silent", "1.5"])
