"""The YAML network description: the example files, every section, every validation error
(naming file, line and field), round trips of any valid description, and the bus check."""

from __future__ import annotations

import string
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ethercat_master.config import (
    BackoffSettings,
    DcMode,
    DcSettings,
    DriveMode,
    DriveSettings,
    DriveUnit,
    EsiSelection,
    FailureAction,
    FoundSlave,
    Identity,
    LinkKind,
    LinkSpec,
    MailboxSettings,
    MismatchKind,
    NetworkConfig,
    PdoConfig,
    PdoEntry,
    PdoMapping,
    RecoverySettings,
    SlaveConfig,
    SlaveDc,
    StartupSdo,
    StatusMode,
    Transition,
    check_bus,
    dump_network,
    load_esi,
    load_network,
    parse_network,
)
from ethercat_master.config.network import (
    MAX_CYCLE_PERIOD_NS,
    MAX_POSITION,
    MIN_CYCLE_PERIOD_NS,
    RXPDO_INDICES,
    TXPDO_INDICES,
)
from ethercat_master.config.yaml_source import format_duration_ns, parse_duration_ns
from ethercat_master.errors import ConfigError
from ethercat_master.protocol.coe import DataType, encode_value
from ethercat_master.sim.chain_config import load_chain

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).resolve().parent / "data"
FILE = str(DATA / "net.yaml")


def parse(text: str) -> NetworkConfig:
    """Parse ``text`` as if it were the file data/net.yaml (ESI paths resolve in data/)."""
    return parse_network(textwrap.dedent(text), FILE)


def line_of(text: str, marker: str) -> int:
    """The 1-based line of the only line containing ``marker``."""
    lines = [n for n, line in enumerate(textwrap.dedent(text).splitlines(), 1) if marker in line]
    assert len(lines) == 1, (marker, lines)
    return lines[0]


def error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return info.value


HEAD = """\
interface: eth0
cycle_period: 1ms
slaves:
"""
COUPLER = """\
  - name: coupler
    position: 0
    identity: {vendor_id: 0x2, product_code: 0x044C2C52}
"""


# ---------------------------------------------------------------------------- the examples
def test_the_simulated_network_matches_the_simulated_chain():
    config = load_network(ROOT / "config" / "network_sim.yaml")
    assert config.interface == LinkSpec(LinkKind.SIM, "sim_chain.yaml")
    assert config.resolve(config.interface.target) == (ROOT / "config" / "sim_chain.yaml").resolve()
    assert config.cycle_period_ns == 1_000_000 and config.cycle_period == 0.001
    assert [slave.name for slave in config.slaves] == [
        "coupler", "inputs", "outputs", "analog", "axis1", "axis2", "axis3", "axis4"]
    assert [slave.alias for slave in config.slaves[4:]] == [0x0101, 0x0102, 0x0103, 0x0104]
    assert config.slave("axis2").pdo == config.slave("axis1").pdo  # the YAML anchor
    assert config.slave("axis1").rx_assignment() == (0x1600,)
    assert config.dc == DcSettings(True, "coupler", DcMode.MASTER_FOLLOWS_BUS)
    chain = load_chain(ROOT / "config" / "sim_chain.yaml").chain
    found = [FoundSlave(position, chain[position].alias, *_identity(chain[position].description.identity),
                        name=chain[position].description.name) for position in range(len(chain))]
    assert check_bus(config.slaves, found) == []


def _identity(identity) -> tuple[int, int, int, int]:
    return identity.vendor_id, identity.product_code, identity.revision, identity.serial_number


def test_the_template_is_valid_and_round_trips():
    config = load_network(ROOT / "config" / "network_template.yaml")
    axis = config.slave("axis1")
    assert axis.alias == 0x0101 and axis.position is None
    assert [sdo.data for sdo in axis.startup_sdos] == [b"\x08", b"\x01", bytes.fromhex("01000016")]
    assert axis.startup_sdos[2].complete_access
    assert config.mailbox_for(axis).reply_timeout_ns == 500_000_000
    assert config.mailbox_for(axis).backoff == config.mailbox.backoff  # only reply_timeout overridden
    assert config.mailbox_for(config.slave("coupler")) is config.mailbox
    assert axis.pdo.mapping(0x1600).entries[2] == PdoEntry(0, 0, 8)
    assert parse_network(dump_network(config), FILE) == config


# ------------------------------------------------------------------------------- values
@pytest.mark.parametrize("written, ns", [
    ("1ms", 1_000_000), ("500us", 500_000), ("500µs", 500_000), ("250 ns", 250), ("2s", 2_000_000_000),
    ("1.5ms", 1_500_000), (0.001, 1_000_000), (1, 1_000_000_000), ("-5us", -5_000), ("0s", 0)])
def test_durations(written, ns):
    assert parse_duration_ns(written) == ns
    assert parse_duration_ns(format_duration_ns(ns)) == ns


def test_durations_in_a_file():
    config = parse(HEAD.replace("1ms", "0.0005") + COUPLER + "recovery: {check_interval: 1.5ms, retry_delay: 0}\n"
                   "mailbox: {reply_timeout: 250 us}\n")
    assert config.cycle_period_ns == 500_000
    assert (config.recovery.check_interval_ns, config.recovery.retry_delay_ns) == (1_500_000, 0)
    assert config.mailbox.reply_timeout_ns == 250_000


@pytest.mark.parametrize("written", ["1.5ns", "1 min", "ms", "", "1e400s", True, None, float("inf")])
def test_durations_that_are_not(written):
    assert parse_duration_ns(written) is None


@pytest.mark.parametrize("written, link", [
    ("eth0", LinkSpec(LinkKind.INTERFACE, "eth0")),
    ("raw:enp3s0f1", LinkSpec(LinkKind.INTERFACE, "enp3s0f1")),
    ("udp:127.0.0.1:34980", LinkSpec(LinkKind.UDP, "127.0.0.1", 34980)),
    ("sim:demo_io.xml", LinkSpec(LinkKind.SIM, "demo_io.xml")),
])
def test_interfaces(written, link):
    config = parse(HEAD.replace("eth0", written).replace("1ms", "500us") + COUPLER)
    assert config.interface == link
    assert config.cycle_period_ns == 500_000
    assert str(link) in (written, written.removeprefix("raw:"))


def test_defaults_and_typed_startup_sdos():
    config = parse("""\
        interface: eth0
        cycle_period: 1ms
        slaves:
          - name: coupler
            position: 0
            identity: {vendor_id: 0x2, product_code: 0x044C2C52}
          - name: drive
            alias: 0x0101
            identity: {vendor_id: 0, product_code: 0x402, revision: 1, serial: 1001}
            startup_sdos:
              - {transition: [IP, PS], index: 0x6060, type: SINT, value: -3}
              - {transition: SO, index: 0x2000, subindex: 2, type: REAL32, value: 1}
              - {transition: OS, index: 0x2001, type: VISIBLE_STRING, value: "hi"}
              - {transition: PS, index: 0x2002, type: BOOL, value: true}
              - {transition: PS, index: 0x2003, type: UINT, value: "0x1234"}
              - {transition: PS, index: 0x2004, data: "de ad be ef"}
    """)
    assert config.mailbox == MailboxSettings() and config.recovery == RecoverySettings()
    assert config.dc == DcSettings() and not config.allow_extra_slaves
    sdos = config.slave("drive").startup_sdos
    assert sdos[0].transitions == (Transition.INIT_TO_PREOP, Transition.PREOP_TO_SAFEOP)
    assert (sdos[0].subindex, sdos[0].data, sdos[0].data_type) == (0, b"\xfd", DataType.INTEGER8)
    assert sdos[1].value == 1.0 and isinstance(sdos[1].value, float) and sdos[1].data == encode_value(8, 1.0)
    assert sdos[2].data == b"hi" and sdos[3].data == b"\x01" and sdos[4].data == b"\x34\x12"
    assert sdos[5] == StartupSdo((Transition.PREOP_TO_SAFEOP,), 0x2004, 0, b"\xde\xad\xbe\xef")
    assert config.slave("drive").all_startup_sdos() == sdos
    assert config.slave("drive").describe() == "drive (alias 0x0101)"
    assert config.slave("coupler").describe() == "coupler (position 0)"
    with pytest.raises(KeyError):
        config.slave("nobody")


def test_mailbox_overrides_merge_key_by_key():
    config = parse("""\
        interface: eth0
        cycle_period: 1ms
        slaves:
          - name: coupler
            position: 0
            identity: {vendor_id: 0x2, product_code: 0x044C2C52}
            mailbox: {status_mode: strict, backoff: {attempts: 7}}
        mailbox:
          status_mode: poll
          emergency_capacity: 8
          backoff: {initial_delay: 1ms, max_delay: 5ms, factor: 1.5}
    """)
    own = config.slaves[0].mailbox
    assert config.mailbox.status_mode is StatusMode.POLL
    assert own.status_mode is StatusMode.STRICT and own.emergency_capacity == 8
    assert own.backoff == BackoffSettings(7, 1_000_000, 1.5, 5_000_000)


def test_yaml_merge_keys_share_settings():
    config = parse(HEAD + "  - &drive\n    name: a\n    alias: 1\n    identity: {vendor_id: 0, product_code: 0x402}\n"
                          "  - <<: *drive\n    name: b\n    alias: 2\n")
    assert [slave.identity for slave in config.slaves] == [Identity(0, 0x402)] * 2


def test_dc_settings():
    config = parse("""\
        interface: eth0
        cycle_period: 1ms
        slaves:
          - name: coupler
            position: 0
            identity: {vendor_id: 0x2, product_code: 0x044C2C52}
            dc: {sync1_cycle: 250us, sync1_shift: -1us, sync0_shift: 20us}
          - name: other
            position: 1
            identity: {vendor_id: 0x2, product_code: 0x1}
            dc: {sync0_cycle: 2ms}
        dc: {reference_clock: 1, mode: bus_follows_master}
    """)
    assert config.dc == DcSettings(True, 1, DcMode.BUS_FOLLOWS_MASTER)
    assert config.slaves[0].dc == SlaveDc(0x0700, None, 20_000, 250_000, -1_000)
    assert config.slaves[1].dc == SlaveDc(0x0300, 2_000_000)


# --------------------------------------------------------------------------------- ESI
ESI_DRIVE = """\
  - name: drive
    alias: 0x0101
    esi: demo_drive.xml
"""


def test_esi_gives_identity_pdos_and_init_commands():
    config = parse(HEAD + ESI_DRIVE + "    startup_sdos:\n"
                   "      - {transition: PS, index: 0x6060, type: INTEGER8, value: 9}\n"
                   "    dc: {op_mode: DC01}\n" + "dc: {}\n")
    drive = config.slave("drive")
    esi = load_esi(DATA / "demo_drive.xml")
    assert drive.esi == EsiSelection("demo_drive.xml", esi.devices[0])
    assert drive.identity == Identity(2748, 0x402, 2)
    assert drive.rx_assignment() == (0x1600,) and drive.tx_assignment() == (0x1A00,)
    sdos = drive.all_startup_sdos()
    assert [sdo.index for sdo in sdos] == [0x6060, 0x1C32, 0x1C12, 0x6060]
    assert sdos[2].complete_access and sdos[1].transitions == (Transition.INIT_TO_PREOP, Transition.PREOP_TO_SAFEOP)
    assert sdos[-1].data == b"\x09"  # the file's own SDO comes last and wins
    assert drive.dc == SlaveDc(0x0700, op_mode="DC01")
    assert parse_network(dump_network(config), FILE) == config


def test_esi_selection_by_identity_and_device():
    text = """\
    interface: eth0
    cycle_period: 1ms
    slaves:
      - name: newest
        position: 0
        esi: demo_io.xml
        device: {product_code: 0x00010001}
      - name: first
        position: 1
        esi: demo_io.xml
        identity: {vendor_id: 0xABC, product_code: 0x00010001, revision: 0x00010000, serial: 5}
      - name: analog
        position: 2
        esi: demo_io.xml
        device: {product_code: 0x00020001, revision: 1}
        pdo: {txpdo: [0x1A02, 0x1A01]}
    """
    config = parse(text)
    assert config.slave("newest").identity == Identity(0xABC, 0x00010001, 0x00020000)
    assert config.slave("first").identity == Identity(0xABC, 0x00010001, 0x00010000, 5)
    assert config.slave("first").esi.device.name.endswith("(first revision)")
    assert config.slave("analog").tx_assignment() == (0x1A02, 0x1A01)
    assert config.slave("analog").rx_assignment() == ()


# ---------------------------------------------------------------------------- the errors
ERRORS = [
    # (case, text, field, marker of the line, fragment of the expectation)
    ("yaml syntax", "interface: [eth0\ncycle_period: 1ms\n", "(document)", "cycle_period", "valid YAML"),
    ("unknown top key", HEAD.replace("cycle_period", "cycle_perod") + COUPLER, "cycle_perod", "cycle_perod",
     "did you mean 'cycle_period'"),
    ("missing cycle", HEAD.replace("cycle_period: 1ms\n", "") + COUPLER, "cycle_period", "interface",
     "cycle period"),
    ("cycle too short", HEAD.replace("1ms", "10us") + COUPLER, "cycle_period", "cycle_period", ">= 50us"),
    ("cycle not a duration", HEAD.replace("1ms", "fast") + COUPLER, "cycle_period", "cycle_period", "duration"),
    ("bad udp port", HEAD.replace("eth0", "udp:host:0") + COUPLER, "interface", "interface", "port in 1..65535"),
    ("missing sim file", HEAD.replace("eth0", "sim:nowhere.yaml") + COUPLER, "interface", "interface",
     "existing chain file"),
    ("interface too long", HEAD.replace("eth0", "a-very-long-interface-name") + COUPLER, "interface", "interface",
     "1..15 characters"),
    ("unknown scheme", HEAD.replace("eth0", "tcp:host:1") + COUPLER, "interface", "interface", "udp:HOST:PORT"),
    ("no slaves", HEAD + "  []\n", "slaves", "[]", "at least one slave"),
    ("slaves not a list", HEAD + "  name: x\n", "slaves", "name: x", "a list of slaves"),
    ("duplicate key", HEAD + COUPLER + "    position: 1\n", "slaves[0].position", "position: 1", "each key once"),
    ("unknown slave key", HEAD + COUPLER + "    identiy: {}\n", "slaves[0].identiy", "identiy",
     "did you mean 'identity'"),
    ("position and alias", HEAD + COUPLER + "    alias: 0x0101\n", "slaves[0].alias", "alias: 0x0101",
     "only one of position, alias"),
    ("neither position nor alias", HEAD + "  - name: x\n    identity: {vendor_id: 1, product_code: 2}\n",
     "slaves[0].position", "- name: x", "position: N or alias"),
    ("alias out of range", HEAD + COUPLER.replace("position: 0", "alias: 0x10000"), "slaves[0].alias", "alias:",
     "a station alias in 1..65535"),
    ("alias zero", HEAD + COUPLER.replace("position: 0", "alias: 0"), "slaves[0].alias", "alias:", "in 1..65535"),
    ("position a text", HEAD + COUPLER.replace("position: 0", "position: first"), "slaves[0].position",
     "position:", "a bus position"),
    ("position a bool", HEAD + COUPLER.replace("position: 0", "position: true"), "slaves[0].position",
     "position:", "a bus position"),
    ("vendor too large", HEAD + COUPLER.replace("0x2,", "0x100000000,"), "slaves[0].identity.vendor_id",
     "identity", "a vendor ID in 0..4294967295"),
    ("missing identity", HEAD + "  - name: x\n    position: 0\n", "slaves[0].identity", "- name: x",
     "identity"),
    ("identity without product", HEAD + COUPLER.replace(", product_code: 0x044C2C52", ""),
     "slaves[0].identity.product_code", "identity", "product code"),
    ("duplicate position", HEAD + COUPLER + COUPLER.replace("coupler", "second"), "slaves[1].position",
     None, "a position no other slave has (0 is also slave 'coupler'"),
    ("duplicate name", HEAD + COUPLER + COUPLER.replace("position: 0", "position: 1"), "slaves[1].name", None,
     "a name no other slave has"),
    ("duplicate alias", HEAD + COUPLER.replace("position: 0", "alias: 7") + COUPLER.replace(
        "position: 0", "alias: 0x7").replace("coupler", "b"), "slaves[1].alias", "alias: 0x7",
     "(0x0007 is also slave 'coupler'"),
    ("bad transition", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PO, index: 0x6060, "
     "type: SINT, value: 1}\n", "slaves[0].startup_sdos[0].transition", "transition: PO", "one of IP, PS"),
    ("repeated transition", HEAD + COUPLER + "    startup_sdos:\n      - {transition: [PS, PS], "
     "index: 1, type: SINT, value: 1}\n", "slaves[0].startup_sdos[0].transition[1]", "transition:", "once"),
    ("index too large", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 0x10000, "
     "type: SINT, value: 1}\n", "slaves[0].startup_sdos[0].index", "index: 0x10000", "an object index in 0..65535"),
    ("value out of range", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1,\n"
     "         type: USINT, value: 256}\n", "slaves[0].startup_sdos[0].value", "value: 256",
     "a value UNSIGNED8 can hold"),
    ("value of the wrong kind", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1, "
     "type: BOOL, value: 1}\n", "slaves[0].startup_sdos[0].value", "BOOL", "true or false"),
    ("unknown type", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1, "
     "type: UINT128, value: 1}\n", "slaves[0].startup_sdos[0].type", "UINT128", "a data type with a value form"),
    ("structured type", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1, "
     "type: OCTET_STRING, value: x}\n", "slaves[0].startup_sdos[0].type", "OCTET", "raw data for others"),
    ("value without type", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1, "
     "value: 1}\n", "slaves[0].startup_sdos[0].type", "value: 1", "the data type"),
    ("neither value nor data", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1}\n",
     "slaves[0].startup_sdos[0].value", "index: 1", "type and value, or data"),
    ("value and data", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1, "
     "value: 1, data: '01'}\n", "slaves[0].startup_sdos[0].data", "data:", "only one of data, value"),
    ("type with data", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1, "
     "type: SINT, data: '01'}\n", "slaves[0].startup_sdos[0].type", "data:", "no type with raw data"),
    ("unquoted data", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1, "
     "data: 0100}\n", "slaves[0].startup_sdos[0].data", "data:", "reads the unquoted 0100 as a number"),
    ("data not hex", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, index: 1, "
     "data: '0g'}\n", "slaves[0].startup_sdos[0].data", "data:", "hex octets"),
    ("complete access subindex", HEAD + COUPLER + "    startup_sdos:\n      - {transition: PS, "
     "index: 1, subindex: 2, complete_access: true, data: '01'}\n", "slaves[0].startup_sdos[0].subindex",
     "subindex: 2", "subindex 0 or 1 with complete_access"),
    ("rxpdo out of range", HEAD + COUPLER + "    pdo: {rxpdo: [0x1A00]}\n", "slaves[0].pdo.rxpdo[0]",
     "rxpdo", "a rxpdo index in 5632..6143"),
    ("pdo assigned twice", HEAD + COUPLER + "    pdo:\n      txpdo:\n        - 0x1A00\n"
     "        - 0x1a00\n", "slaves[0].pdo.txpdo[1]", "- 0x1a00", "each PDO once"),
    ("mapping index", HEAD + COUPLER + "    pdo:\n      mappings:\n        - index: 0x1900\n"
     "          entries: []\n", "slaves[0].pdo.mappings[0].index", "0x1900", "an RxPDO index"),
    ("padding subindex", HEAD + COUPLER + "    pdo:\n      mappings:\n        - index: 0x1600\n"
     "          entries:\n            - {index: 0, subindex: 1, bits: 8}\n",
     "slaves[0].pdo.mappings[0].entries[0].subindex", "subindex: 1", "subindex 0 for padding"),
    ("zero bits", HEAD + COUPLER + "    pdo:\n      mappings:\n        - index: 0x1600\n"
     "          entries:\n            - {index: 0x7000, bits: 0}\n",
     "slaves[0].pdo.mappings[0].entries[0].bits", "bits: 0", "a bit length in 1..255"),
    ("mapping twice", HEAD + COUPLER + "    pdo:\n      mappings:\n        - {index: 0x1600, "
     "entries: []}\n        - {index: 0x1600, entries: []}\n", "slaves[0].pdo.mappings[1].index",
     None, "one mapping per PDO"),
    ("status mode", HEAD + COUPLER + "mailbox: {status_mode: lazy}\n", "mailbox.status_mode", "lazy",
     "one of strict, hybrid, poll"),
    ("attempts", HEAD + COUPLER + "mailbox: {backoff: {attempts: 0}}\n", "mailbox.backoff.attempts",
     "attempts: 0", "attempts in 1..1000"),
    ("delays", HEAD + COUPLER + "mailbox: {backoff: {initial_delay: 20ms}}\n", "mailbox.backoff.initial_delay",
     "initial_delay", "initial_delay <= max_delay, got 20ms > 10ms"),
    ("factor", HEAD + COUPLER + "mailbox:\n  backoff: {factor: 0.5}\n", "mailbox.backoff.factor", "factor",
     "a number >= 1.0"),
    ("emergencies", HEAD + COUPLER + "    mailbox: {emergency_capacity: 0}\n",
     "slaves[0].mailbox.emergency_capacity", "emergency_capacity", "in 1..1048576"),
    ("slave dc without network dc", HEAD + COUPLER + "    dc: {}\n", "slaves[0].dc", "dc: {}",
     "dc.enabled: true"),
    ("slave dc with dc disabled", HEAD + COUPLER + "    dc: {}\ndc: {enabled: false}\n", "slaves[0].dc",
     "dc: {}\n", "dc.enabled: true"),
    ("sync1 shift alone", HEAD + COUPLER + "    dc: {sync1_shift: 1us}\ndc: {}\n", "slaves[0].dc.sync1_shift",
     "sync1_shift", "sync1_cycle as well"),
    ("sync0 cycle zero", HEAD + COUPLER + "    dc: {sync0_cycle: 0}\ndc: {}\n", "slaves[0].dc.sync0_cycle",
     "sync0_cycle", ">= 1ns"),
    ("op mode without esi", HEAD + COUPLER + "    dc: {op_mode: DC}\ndc: {}\n", "slaves[0].dc.op_mode",
     "op_mode", "only with an esi file"),
    ("reference clock name", HEAD + COUPLER + "dc: {reference_clock: nobody}\n", "dc.reference_clock", "nobody",
     "the name of a configured slave (coupler)"),
    ("dc mode", HEAD + COUPLER + "dc: {mode: free}\n", "dc.mode", "free", "master_follows_bus"),
    ("drive unit", HEAD + COUPLER + "    drive: {joint: j, unit: deg, counts_per_unit: 1}\n",
     "slaves[0].drive.unit", "drive", "one of rad, m"),
    ("drive scaling", HEAD + COUPLER + "    drive: {joint: j, unit: rad, counts_per_unit: 0}\n",
     "slaves[0].drive.counts_per_unit", "drive", "a number > 0.0"),
    ("duplicate joint", HEAD + COUPLER + "    drive: {joint: j, unit: rad, counts_per_unit: 1}\n" + COUPLER
     .replace("coupler", "b").replace("position: 0", "position: 1") + "    drive:\n      joint: j\n"
     "      unit: m\n      counts_per_unit: 1\n", "slaves[1].drive.joint", "joint: j\n",
     "a joint no other slave has ('j' is also slave 'coupler'"),
    ("recovery action", HEAD + COUPLER + "recovery: {on_failure: panic}\n", "recovery.on_failure", "panic",
     "keep_running, safe_op"),
    ("recovery interval", HEAD + COUPLER + "recovery: {check_interval: 10us}\n", "recovery.check_interval",
     "check_interval", ">= 1ms"),
    ("extra slaves flag", HEAD + COUPLER + "allow_extra_slaves: maybe\n", "allow_extra_slaves", "maybe",
     "true or false"),
    # ESI
    ("unreadable esi", HEAD + "  - name: x\n    position: 0\n    esi: missing.xml\n", "slaves[0].esi",
     "esi: missing.xml", "a valid ESI file"),
    ("esi device not in file", HEAD + "  - name: x\n    position: 0\n    esi: demo_io.xml\n"
     "    device: {product_code: 0x1234}\n", "slaves[0].device", "device:", "product code 0x00001234"),
    ("esi revision not in file", HEAD + "  - name: x\n    position: 0\n    esi: demo_io.xml\n"
     "    device: {product_code: 0x00010001, revision: 3}\n", "slaves[0].device", "device:",
     "revisions 0x00010000, 0x00020000"),
    ("esi product ambiguous", HEAD + "  - name: x\n    position: 0\n    esi: demo_io.xml\n",
     "slaves[0].device", "- name: x", "choose among the ESI's products (0x00010001, 0x00020001)"),
    ("device without esi", HEAD + COUPLER + "    device: {product_code: 1}\n", "slaves[0].device", "device:",
     "only together with esi"),
    ("identity disagrees with esi", HEAD + ESI_DRIVE + "    identity: {vendor_id: 2, product_code: 0x402}\n",
     "slaves[0].identity.vendor_id", "identity:", "0x00000ABC as the ESI device DS-402"),
    ("mandatory pdo", HEAD + ESI_DRIVE + "    pdo: {rxpdo: [0x1602]}\n", "slaves[0].pdo.rxpdo", "pdo:",
     "the mandatory PDO 0x1600"),
    ("excluded pdos", HEAD + ESI_DRIVE + "    pdo:\n      rxpdo: [0x1600, 0x1601]\n",
     "slaves[0].pdo.rxpdo", "rxpdo:", "0x1600 excludes 0x1601"),
    ("fixed pdo", HEAD + ESI_DRIVE + "    pdo:\n      mappings:\n        - index: 0x1A00\n"
     "          entries: []\n", "slaves[0].pdo.mappings[0].index", "0x1A00", "marks 0x1A00 as fixed"),
    ("pdo the device lacks", HEAD + ESI_DRIVE + "    pdo:\n      rxpdo: [0x1600, 0x1605]\n",
     "slaves[0].pdo.rxpdo", "rxpdo:", "0x1605 is neither"),
    ("unknown op mode", HEAD + ESI_DRIVE + "    dc: {op_mode: DC2}\ndc: {}\n", "slaves[0].dc.op_mode",
     "op_mode", "('DC', 'DC01', 'FreeRun')"),
    ("op mode disagrees", HEAD + ESI_DRIVE + "    dc: {op_mode: DC, assign_activate: 0x700}\ndc: {}\n",
     "slaves[0].dc.assign_activate", "op_mode", "0x0300 as OpMode 'DC' says"),
]


@pytest.mark.parametrize("text, field, marker, expected", [case[1:] for case in ERRORS],
                         ids=[case[0] for case in ERRORS])
def test_errors_name_file_line_and_field(text, field, marker, expected):
    caught = error(text)
    assert caught.file == FILE
    assert caught.field == field
    assert expected in caught.expected, caught.expected
    if marker is None:  # the last line that names the field's key
        key = field.rsplit(".", 1)[-1]
        marker_lines = [n for n, line in enumerate(textwrap.dedent(text).splitlines(), 1) if f"{key}:" in line]
        assert caught.line == marker_lines[-1]
    elif "\n" in marker:  # the marker's first line, where several lines are alike
        assert caught.line == textwrap.dedent(text).count("\n", 0, textwrap.dedent(text).index(marker)) + 1
    else:
        assert caught.line == line_of(text, marker)
    assert f"{FILE}:{caught.line}: {field}: expected" in str(caught)


def test_empty_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError) as info:
        parse("")
    assert (info.value.line, info.value.field) == (None, "(document)")
    with pytest.raises(ConfigError) as info:
        load_network(tmp_path / "absent.yaml")
    assert info.value.field == "(file)" and info.value.file.endswith("absent.yaml")
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_network(tmp_path / "latin1.yaml")


def test_a_top_level_that_is_not_a_mapping():
    caught = error("- eth0\n")
    assert (caught.line, caught.field) == (1, "") and "a mapping" in caught.expected


# ------------------------------------------------------------------------- round trips
NAME = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=10)
U32 = st.integers(0, 0xFFFF_FFFF)
I32 = st.integers(-0x8000_0000, 0x7FFF_FFFF)
ESI_FILES = {name: load_esi(DATA / name) for name in ("demo_io.xml", "demo_drive.xml")}


TYPED_VALUES = st.one_of(*(st.tuples(st.just(data_type), values) for data_type, values in (
    (DataType.BOOLEAN, st.booleans()),
    (DataType.INTEGER16, st.integers(-0x8000, 0x7FFF)),
    (DataType.UNSIGNED32, U32),
    (DataType.INTEGER64, st.integers(-(1 << 63), (1 << 63) - 1)),
    (DataType.REAL32, st.floats(width=32, allow_nan=False, allow_infinity=False)),
    (DataType.REAL64, st.floats(allow_nan=False, allow_infinity=False)),
    (DataType.VISIBLE_STRING, st.text(string.printable.strip() + " ", max_size=20)),
    (DataType.BIT3, st.integers(0, 7)),
)))
TRANSITIONS = st.lists(st.sampled_from(list(Transition)), min_size=1, max_size=3, unique=True)


@st.composite
def startup_sdos(draw) -> StartupSdo:
    transitions = tuple(draw(TRANSITIONS))
    complete_access = draw(st.booleans())
    subindex = draw(st.integers(0, 1 if complete_access else 0xFF))
    index = draw(st.integers(0, 0xFFFF))
    comment = draw(st.sampled_from(["", "set the mode", "x: y"]))
    if draw(st.booleans()):
        return StartupSdo(transitions, index, subindex, draw(st.binary(min_size=1, max_size=12)),
                          complete_access=complete_access, comment=comment)
    data_type, value = draw(TYPED_VALUES)
    return StartupSdo(transitions, index, subindex, encode_value(data_type, value), data_type, value,
                      complete_access, comment)


ENTRIES = st.lists(st.one_of(
    st.builds(PdoEntry, st.integers(1, 0xFFFF), st.integers(0, 0xFF), st.integers(1, 0xFF),
              st.sampled_from(["", "value", "status word"])),
    st.builds(PdoEntry, st.just(0), st.just(0), st.integers(1, 0xFF))), max_size=4)
RX_ASSIGNMENTS = st.none() | st.lists(st.sampled_from(RXPDO_INDICES), max_size=4, unique=True).map(tuple)
TX_ASSIGNMENTS = st.none() | st.lists(st.sampled_from(TXPDO_INDICES), max_size=4, unique=True).map(tuple)
MAPPED_PDOS = st.lists(st.sampled_from(RXPDO_INDICES) | st.sampled_from(TXPDO_INDICES), max_size=3, unique=True)


@st.composite
def pdo_configs(draw) -> PdoConfig:
    mappings = tuple(PdoMapping(index, tuple(draw(ENTRIES))) for index in draw(MAPPED_PDOS))
    return PdoConfig(draw(RX_ASSIGNMENTS), draw(TX_ASSIGNMENTS), mappings)


TIMES = st.integers(1, 3600 * 10**9)


@st.composite
def mailboxes(draw) -> MailboxSettings:
    initial = draw(st.integers(0, 10**9))
    backoff = BackoffSettings(draw(st.integers(1, 1000)), initial,
                              draw(st.floats(1.0, 1000.0)), draw(st.integers(initial, 3600 * 10**9)), draw(TIMES))
    return MailboxSettings(draw(st.sampled_from(list(StatusMode))), backoff, draw(TIMES), draw(TIMES),
                           draw(st.integers(1, 1 << 20)))


@st.composite
def slave_dcs(draw, op_modes: tuple = ()) -> SlaveDc:
    sync1 = draw(st.none() | st.integers(1, 0xFFFF_FFFF))
    op_mode = draw(st.none() | st.sampled_from(op_modes)) if op_modes else None
    assign = draw(st.integers(0, 0xFFFF)) if op_mode is None else op_mode.assign_activate
    return SlaveDc(assign, draw(st.none() | st.integers(1, 0xFFFF_FFFF)), draw(I32), sync1,
                   0 if sync1 is None else draw(I32), None if op_mode is None else op_mode.name)


DRIVES = st.builds(DriveSettings, st.just("joint"), st.sampled_from(list(DriveUnit)), st.floats(1e-6, 1e9),
                   st.sampled_from(list(DriveMode)))
LINKS = st.one_of(
    st.builds(LinkSpec, st.just(LinkKind.INTERFACE), st.text(string.ascii_lowercase + string.digits + ".-_",
                                                               min_size=1, max_size=15)),
    st.builds(LinkSpec, st.just(LinkKind.UDP), st.sampled_from(["127.0.0.1", "ecat-peer", "10.0.0.2"]),
              st.integers(1, 0xFFFF)),
    st.just(LinkSpec(LinkKind.SIM, "demo_io.xml")))


OPTIONAL_U32 = st.none() | U32
ESI_SELECTIONS = st.none() | st.sampled_from([EsiSelection(name, device) for name, esi in sorted(ESI_FILES.items())
                                              for device in esi.devices])
PDO_CONFIGS = st.none() | pdo_configs()
SLAVE_DCS = st.none() | slave_dcs()
OPTIONAL_DRIVES = st.none() | DRIVES
SDO_LISTS = st.lists(startup_sdos(), max_size=3)
MAILBOXES = st.none() | mailboxes()


@st.composite
def networks(draw) -> NetworkConfig:
    count = draw(st.integers(1, 4))
    names = draw(st.lists(NAME, min_size=count, max_size=count, unique=True))
    positions = draw(st.lists(st.integers(0, MAX_POSITION), min_size=count, max_size=count, unique=True))
    aliases = draw(st.lists(st.integers(1, 0xFFFF), min_size=count, max_size=count, unique=True))
    slaves = []
    for n, name in enumerate(names):
        by_alias = draw(st.booleans())
        esi = draw(ESI_SELECTIONS)
        if esi is not None:
            device = esi.device
            identity = Identity(device.vendor_id, device.product_code, device.revision, draw(OPTIONAL_U32))
            pdo = None
            dc = draw(st.none() | slave_dcs(device.dc_op_modes))
        else:
            identity = Identity(draw(U32), draw(U32), draw(OPTIONAL_U32), draw(OPTIONAL_U32))
            pdo = draw(PDO_CONFIGS)
            dc = draw(SLAVE_DCS)
        drive = draw(OPTIONAL_DRIVES)
        slaves.append(SlaveConfig(
            name=name, identity=identity, position=None if by_alias else positions[n],
            alias=aliases[n] if by_alias else None, esi=esi, startup_sdos=tuple(draw(SDO_LISTS)), pdo=pdo,
            mailbox=draw(MAILBOXES), dc=dc, drive=None if drive is None else replace(drive, joint=f"{name}_joint")))
    any_dc = any(slave.dc is not None for slave in slaves)
    dc = DcSettings(any_dc or draw(st.booleans()), draw(st.none() | st.sampled_from(names) | st.integers(0, 99)),
                    draw(st.sampled_from(list(DcMode))))
    interface = draw(LINKS)
    recovery = RecoverySettings(draw(st.booleans()), draw(st.integers(10**6, 3600 * 10**9)),
                                draw(st.integers(1, 10**6)), draw(st.integers(0, 10**6)),
                                draw(st.integers(0, 3600 * 10**9)), draw(st.sampled_from(list(FailureAction))))
    return NetworkConfig(interface, draw(st.integers(MIN_CYCLE_PERIOD_NS, MAX_CYCLE_PERIOD_NS)), tuple(slaves),
                         draw(mailboxes()), dc, recovery, draw(st.booleans()))



@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_any_valid_network_round_trips(config):
    text = dump_network(config)
    loaded = parse_network(text, FILE)
    assert loaded == config
    assert dump_network(loaded) == text


# ------------------------------------------------------------------------------ bus check
def _expected() -> tuple[SlaveConfig, ...]:
    return (SlaveConfig("coupler", Identity(2, 0x044C2C52), position=0),
            SlaveConfig("outputs", Identity(2, 0x07D83052, revision=0x00120000), position=1),
            SlaveConfig("axis1", Identity(0, 0x402, serial=1001), alias=0x0101),
            SlaveConfig("axis2", Identity(0, 0x402), alias=0x0102))


def _bus() -> list[FoundSlave]:
    return [FoundSlave(0, 0, 2, 0x044C2C52, 0x00120000, name="EK1100"),
            FoundSlave(1, 0, 2, 0x07D83052, 0x00120000, name="EL2008"),
            FoundSlave(2, 0x0102, 0, 0x402, 1, 1002, "drive"),
            FoundSlave(3, 0x0101, 0, 0x402, 1, 1001, "drive")]


def test_a_bus_as_configured_has_no_mismatches():
    assert check_bus(_expected(), _bus()) == []


def test_missing_extra_and_wrong_slaves_are_named():
    bus = _bus()
    bus[1] = FoundSlave(1, 0, 2, 0x07D83052, 0x00110000, name="EL2008")  # an older revision
    del bus[3]                                                          # axis1 is gone
    bus.append(FoundSlave(4, 0, 2, 0x03F03052, 0x00120000, name="EL1008"))
    mismatches = check_bus(_expected(), bus)
    assert [(m.kind, m.slave, m.position, m.alias) for m in mismatches] == [
        (MismatchKind.WRONG_IDENTITY, "outputs", 1, None),
        (MismatchKind.EXTRA, None, 4, None),
        (MismatchKind.MISSING, "axis1", None, 0x0101),
    ]
    assert "revision 0x00120000" in mismatches[0].expected and "revision 0x00110000" in mismatches[0].found
    assert str(mismatches[0]).startswith("position 1 (outputs): wrong identity: expected vendor 0x00000002")
    assert str(mismatches[2]) == ("alias 0x0101 (axis1): missing slave: expected vendor 0x00000000 product "
                                  "0x00000402 serial 1001, found no slave with this alias")
    assert check_bus(_expected(), bus, allow_extra=True) == [mismatches[0], mismatches[2]]


def test_a_short_bus_misses_positions():
    mismatches = check_bus(_expected(), _bus()[:1])
    assert [(m.kind, m.position, m.alias) for m in mismatches] == [
        (MismatchKind.MISSING, 1, None), (MismatchKind.MISSING, None, 0x0101), (MismatchKind.MISSING, None, 0x0102)]
    assert mismatches[0].found == "no slave there (1 on the bus)"


def test_wrong_and_duplicate_aliases():
    bus = _bus()
    bus[3] = FoundSlave(3, 0x0777, 0, 0x402, 1, 1001)
    wrong = check_bus(_expected(), bus)
    assert [(m.kind, m.slave, m.position, m.alias) for m in wrong] == [
        (MismatchKind.WRONG_ALIAS, "axis1", 3, 0x0101)]
    assert wrong[0].found.startswith("alias 0x0777 on vendor")
    bus[3] = FoundSlave(3, 0x0102, 0, 0x402, 1, 1001)
    duplicate = check_bus(_expected(), bus)
    assert [(m.kind, m.slave, m.alias) for m in duplicate] == [
        (MismatchKind.DUPLICATE_ALIAS, "axis2", 0x0102), (MismatchKind.MISSING, "axis1", 0x0101)]
    assert duplicate[0].found == "slaves at positions 2, 3"


def test_two_entries_for_one_slave_conflict_and_serials_are_checked():
    expected = _expected() + (SlaveConfig("again", Identity(0, 0x402), position=3),)
    conflict = check_bus(expected, _bus())
    assert [(m.kind, m.slave, m.position) for m in conflict] == [(MismatchKind.CONFLICT, "axis1", 3)]
    assert "also configured as 'again'" in conflict[0].found
    bus = _bus()
    bus[3] = FoundSlave(3, 0x0101, 0, 0x402, 1, 999)
    assert [m.kind for m in check_bus(_expected(), bus)] == [MismatchKind.WRONG_IDENTITY]


# ------------------------------------------------------------------ process data watchdog
def test_process_data_watchdog_for_the_network_and_one_slave():
    text = ("process_data_watchdog: 250ms\n" + HEAD + COUPLER
            + "  - name: io\n    position: 1\n    identity: {vendor_id: 0x2, product_code: 0x03F03052}\n"
              "    process_data_watchdog: 0\n")
    network = parse(text)
    assert network.process_data_watchdog_ns == 250_000_000
    coupler, io = network.slaves
    assert network.watchdog_for(coupler) == 250_000_000
    assert network.watchdog_for(io) == 0  # off for this slave
    assert parse_network(dump_network(network), FILE) == network
    assert parse(HEAD + COUPLER).watchdog_for(coupler) is None  # silent file: the ESC keeps its own


def test_a_process_data_watchdog_beyond_the_register_is_refused():
    text = "process_data_watchdog: 7s\n" + HEAD + COUPLER
    problem = error(text)
    assert problem.field == "process_data_watchdog" and problem.line == 1
    assert "<= 6553500us" in problem.expected and "7s" in problem.expected
