"""config/diagnostic_analyzers.yaml against the status names the node really publishes: every
status that ethercat_master.ros.diagnostics.DiagnosticsBuilder makes for the slaves of
config/network_sim.yaml (and for odd slave names) is matched by exactly one analyzer, and the
file has the layout diagnostic_aggregator reads. The matching rules are those of
diagnostic_aggregator's GenericAnalyzer::match (regex, expected, name, startswith, contains)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytest.importorskip("diagnostic_msgs", reason="diagnostic_msgs (ROS 2) is not installed: run in the project venv")

from ethercat_master.config.network import load_network  # noqa: E402
from ethercat_master.ros.diagnostics import NAME_PREFIX, DiagnosticsBuilder, MasterReport, SlaveReport  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ANALYZERS = ROOT / "config" / "diagnostic_analyzers.yaml"
NETWORK = ROOT / "config" / "network_sim.yaml"
GENERIC = "diagnostic_aggregator/GenericAnalyzer"
GROUP = "diagnostic_aggregator/AnalyzerGroup"
#: The keys GenericAnalyzer matches a status name with.
MATCH_KEYS = ("regex", "expected", "name", "startswith", "contains")


def _leaves(entries: dict, path: str) -> list[tuple[str, dict]]:
    """The GenericAnalyzers below ``entries`` (the keys of one parameter level), with their paths."""
    leaves = []
    for key, value in entries.items():
        if not isinstance(value, dict):
            continue
        assert "type" in value and "path" in value, f"analyzer {key!r} at {path} needs type and path"
        here = f"{path}/{value['path']}"
        if value["type"] == GROUP:
            assert isinstance(value.get("analyzers"), dict), f"group {key!r} needs analyzers"
            leaves += _leaves(value["analyzers"], here)
        else:
            assert value["type"] == GENERIC, f"analyzer {key!r}: unexpected type {value['type']!r}"
            assert any(value.get(k) for k in MATCH_KEYS), f"analyzer {key!r} matches nothing"
            leaves.append((here, value))
    return leaves


def _matches(analyzer: dict, name: str) -> bool:
    as_list = lambda key: list(analyzer.get(key) or [])  # noqa: E731
    return (any(re.fullmatch(pattern, name) for pattern in as_list("regex"))
            or name in as_list("expected") or name in as_list("name")
            or any(name.startswith(prefix) for prefix in as_list("startswith"))
            or any(part in name for part in as_list("contains")))


@pytest.fixture(scope="module")
def analyzers() -> list[tuple[str, dict]]:
    document = yaml.safe_load(ANALYZERS.read_text(encoding="utf-8"))
    assert list(document) == ["analyzers"], "the aggregator node is named 'analyzers'"
    parameters = document["analyzers"]["ros__parameters"]
    leaves = _leaves(parameters, "/" + parameters.get("path", "").strip("/"))
    assert leaves
    return leaves


def _statuses(slaves: list[SlaveReport], lifecycle: str = "active") -> list:
    master = MasterReport("sim:config/sim_chain.yaml", lifecycle, lifecycle == "active", 0.001)
    return list(DiagnosticsBuilder().array(master, slaves, None).status)


def _sim_slaves() -> list[SlaveReport]:
    network = load_network(NETWORK)
    # bus positions: the chain's order (network_sim.yaml lists the slaves in it)
    return [SlaveReport(position, slave.name, "SimDevice", "OP") for position, slave in enumerate(network.slaves)]


def _only_match(analyzers: list[tuple[str, dict]], name: str) -> str:
    matched = [path for path, analyzer in analyzers if _matches(analyzer, name)]
    assert len(matched) == 1, f"status {name!r} is matched by {matched or 'no analyzer'}"
    return matched[0]


def test_every_status_of_the_simulated_network_has_exactly_one_analyzer(analyzers) -> None:
    statuses = _statuses(_sim_slaves())
    assert len(statuses) == 1 + 8
    groups = {status.name: _only_match(analyzers, status.name) for status in statuses}
    assert groups[f"{NAME_PREFIX}: master"].endswith("/EtherCAT/Master")
    slave_groups = {group for name, group in groups.items() if name != f"{NAME_PREFIX}: master"}
    assert len(slave_groups) == 1 and slave_groups.pop().endswith("/EtherCAT/Slaves")


@pytest.mark.parametrize("lifecycle", ["unconfigured", "inactive", "active", "finalized"])
def test_the_master_status_is_matched_in_every_state(analyzers, lifecycle) -> None:
    (status,) = _statuses([], lifecycle)
    assert _only_match(analyzers, status.name).endswith("/Master")


@pytest.mark.parametrize("name", ["master", "slave", "ethercat_master", "master 2", "x", "axis 10"])
def test_odd_slave_names_still_go_to_the_slaves(analyzers, name) -> None:
    lost = SlaveReport(12, name, "EL9999", None)  # a lost slave: level ERROR, same name rule
    for status in _statuses([lost, SlaveReport(3, name, "EL1008", "SAFEOP")])[1:]:
        assert _only_match(analyzers, status.name).endswith("/Slaves")


def test_the_expected_master_name_is_the_one_the_node_publishes(analyzers) -> None:
    (status,) = _statuses([])
    expected = [name for _, analyzer in analyzers for name in analyzer.get("expected") or []]
    assert expected == [status.name]


def test_the_launch_file_installs_the_analyzer_file_it_names() -> None:
    text = (ROOT / "launch" / "ethercat_master.launch.py").read_text(encoding="utf-8")
    assert "'diagnostic_analyzers.yaml'" in text and ANALYZERS.parent.name == "config"
