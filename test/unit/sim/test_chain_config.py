"""YAML chain files: the example chain, every section, and errors naming file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ethercat_master.errors import ConfigError
from ethercat_master.sim.chain_config import load_chain, load_chain_config, parse_chain_config
from ethercat_master.sim.dc import ClockSpec, ManualTime
from ethercat_master.sim.devices.beckhoff import EL1008, EL3102, InputPattern, SignalShape
from ethercat_master.sim.devices.drive import Cia402DriveModel
from ethercat_master.sim.faults import TopologyAction
from ethercat_master.sim.slave import SimulatedSlave

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "sim_chain.yaml"


def parse(text: str):
    return parse_chain_config(textwrap.dedent(text), "chain.yaml")


def error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return info.value


def test_the_example_chain():
    loaded = load_chain(EXAMPLE)
    chain = loaded.chain
    assert [slave.description.order_code for slave in chain] == [
        "EK1100", "EL1008", "EL2008", "EL3102"] + ["SimServo-402"] * 4
    assert all(isinstance(slave, SimulatedSlave) for slave in chain)
    assert loaded.labels[0] == "coupler" and loaded.fault_plan is None
    assert chain.topology.children(0) == {1: 1, 2: 4}  # E-bus on port 1, X2 OUT on port 2
    assert chain.processing_order == tuple(range(8))
    assert chain[1].application.current() == 0xA5
    assert len(chain[4].od.get(0x1008, 0)) > 112  # needs a segmented upload
    assert chain[4].alias == 0x0101
    assert chain.dc(7).clock.spec == ClockSpec(1_000_000_000, -25.0)


def test_device_settings_reach_the_models():
    config = parse("""
        slaves:
          - device: EL1008
            inputs: 0b0101
            pattern: walking
            period_ms: 5
          - device: EL3102
            device_name: Analog
            channels:
              - {signal: ramp, amplitude: 3, frequency: 2}
              - {signal: sine, offset: 1.5, amplitude: 1, phase: 0.25}
          - device: CiA402Drive
            device_name: Axis
            counts_per_revolution: 4096
            product_code: 0x1234
            order_code: MyDrive
    """)
    inputs, analog, drive = (slave.model for slave in config.slaves)
    assert isinstance(inputs, EL1008)
    assert (inputs.value, inputs.pattern, inputs.period_ns) == (5, InputPattern.WALKING, 5_000_000)
    assert isinstance(analog, EL3102) and analog.description.name == "Analog"
    assert analog.signals[0].shape is SignalShape.RAMP and analog.signals[1].phase == 0.25
    assert isinstance(drive, Cia402DriveModel)
    assert (drive.config.counts_per_revolution, drive.config.product_code) == (4096, 0x1234)
    assert drive.description.order_code == "MyDrive"


def test_topology_connections_and_labels():
    config = parse("""
        slaves:
          - {device: EK1100, label: coupler}
          - {device: EL2008}
          - {device: EL1008, label: far}
        topology:
          delay_ns: 100
          connections:
            - {parent: coupler, port: 2, child: 1}
            - {parent: 0, port: 1, child: far}
    """)
    assert config.topology.children(0) == {1: 2, 2: 1}
    chain = config.build().chain
    assert chain.processing_order == (0, 2, 1)  # port 1 before port 2


def test_seeded_clocks_are_reproducible():
    text = "clock_seed: 5\nslaves: [{device: EK1100}, {device: EL1008}]\n"
    specs = [[load.chain.dc(n).clock.spec for n in range(2)]
             for load in (parse(text).build(ManualTime()), parse(text).build(ManualTime()))]
    assert specs[0] == specs[1]


def test_faults_become_a_fault_plan():
    time = ManualTime(1_000)
    loaded = parse("""
        slaves: [{device: EK1100, label: a}, {device: EL1008, label: b}]
        faults:
          seed: 9
          loss: {probability: 0.25}
          duplication: {every: 10}
          delay_s: [0.001, 0.002]
          events:
            - {action: power_off, slave: b, at_frame: 5}
            - {action: reconnect, slave: 1, at_s: 0.5}
    """).build(time)
    plan = loaded.fault_plan
    assert plan.seed == 9 and plan.loss.probability == 0.25 and plan.duplication.every == 10
    assert plan.delay_s == (0.001, 0.002)
    first, second = plan.events
    assert (first.action, first.slave, first.at_frame) == (TopologyAction.POWER_OFF, 1, 5)
    assert (second.action, second.at_time_ns) == (TopologyAction.RECONNECT, 1_000 + 500_000_000)


@pytest.mark.parametrize("text, line, field, expected", [
    ("slaves:\n  - device: EL9999\n", 2, "slaves[0].device", "one of EK1100"),
    ("slaves:\n  - device: EL1008\n    inputs: 300\n", 3, "slaves[0].inputs", "an integer in 0..255"),
    ("slaves:\n  - device: EL1008\n    input: 3\n", 3, "slaves[0].input", "one of the keys"),
    ("slaves:\n  - device: EL1008\n    pattern: zigzag\n", 3, "slaves[0].pattern", "one of counter, fixed, walking"),
    ("slaves:\n  - label: x\n", 2, "slaves[0].device", "a device type"),
    ("slaves: []\n", 1, "slaves", "at least one slave"),
    ("slave: []\n", 1, "slaves", "a list of slaves"),
    ("slaves:\n  - device: EL3102\n    channels:\n      - {signal: sine}\n", 4, "slaves[0].channels",
     "a list of 2 channels"),
    ("slaves:\n  - device: EL3102\n    channels:\n      - {signal: sine, frequency: 0}\n      - {}\n", 4,
     "slaves[0].channels[0].frequency", "a number >= 1e-09"),
    ("slaves:\n  - device: CiA402Drive\n    counts_per_revolution: -1\n", 2, "slaves[0]",
     "a consistent drive configuration"),
    ("slaves:\n  - device: CiA402Drive\n    device_name: 5\n", 3, "slaves[0].device_name", "a non-empty text"),
    ("slaves:\n  - {device: EK1100, label: a}\n  - {device: EK1100, label: a}\n", 2, "slaves", "distinct labels"),
    ("slaves:\n  - device: EK1100\n    clock: {drift_ppm: 2000}\n", 3, "slaves[0].clock.drift_ppm",
     "a number in -1000.0..1000.0"),
    ("slaves: [{device: EK1100}, {device: EK1100}]\ntopology:\n  connections:\n    - {parent: 0, port: 4, child: 1}\n",
     4, "topology.connections[0].port", "an integer in 1..3"),
    ("slaves: [{device: EK1100}, {device: EK1100}]\ntopology:\n  connections:\n    - {parent: x, port: 1, child: 1}\n",
     4, "topology.connections[0].parent", "a slave position 0..1 or a label"),
    ("slaves: [{device: EK1100}, {device: EK1100}]\ntopology:\n  connections: []\n", 3, "topology.connections",
     "a tree rooted at slave 0"),
    ("slaves: [{device: EL1008}, {device: EK1100}]\ntopology:\n  connections:\n    - {parent: 0, port: 2, child: 1}\n",
     4, "topology.connections[0].port", "a port the parent's ESC implements: 1"),
    ("slaves: [{device: EK1100}]\nfaults:\n  events:\n    - {action: explode, slave: 0, at_frame: 1}\n", 4,
     "faults.events[0].action", "one of power_off"),
    ("slaves: [{device: EK1100}]\nfaults:\n  events:\n    - {action: power_off, slave: 0}\n", 4,
     "faults.events[0]", "exactly one of at_frame and at_s"),
    ("slaves: [{device: EK1100}]\nfaults:\n  loss: {probability: 2}\n", 3, "faults.loss.probability",
     "a number in 0.0..1.0"),
    ("slaves: [{device: EK1100}]\nfaults:\n  delay_s: [0.2, 0.1]\n", 3, "faults.delay_s", "low <= high"),
    ("slaves: [{device: EK1100}]\nextra: 1\n", 2, "extra", "one of the keys"),
    ("slaves:\n  - device: EL1008\n    inputs: 1\n    inputs: 2\n", 4, "slaves[0].inputs", "each key once"),
    ("slaves:\n  - device: EK1100\n    alias: true\n", 3, "slaves[0].alias", "an integer in 0..65535"),
    ("- device: EK1100\n", 1, "", "a mapping"),
])
def test_errors_name_line_field_and_expectation(text, line, field, expected):
    exc = error(text)
    assert (exc.file, exc.line, exc.field) == ("chain.yaml", line, field)
    assert expected in exc.expected
    assert str(exc).startswith(f"chain.yaml:{line}: {field}: expected ")


def test_yaml_syntax_errors_and_empty_or_missing_files(tmp_path):
    exc = error("slaves:\n  - device: [EK1100\n")
    assert exc.line is not None and exc.field == "(document)" and "valid YAML" in exc.expected
    assert error("").expected.startswith("a mapping")
    with pytest.raises(ConfigError) as info:
        load_chain_config(tmp_path / "missing.yaml")
    assert info.value.field == "(file)" and "readable file" in info.value.expected
