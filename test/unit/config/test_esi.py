"""ESI (EtherCATInfo) import: the fixture files, every element the reader uses, errors that
name file, line and element, and fuzzed files that raise nothing but ConfigError."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.config import (
    EsiCoe,
    EsiDcOpMode,
    EsiInitCommand,
    EsiPdoEntry,
    EsiSyncManager,
    EsiVendor,
    Transition,
    data_type_by_name,
    load_esi,
    parse_esi,
)
from ethercat_master.errors import ConfigError
from ethercat_master.protocol.coe import DataType
from ethercat_master.protocol.sii import MailboxProtocols

DATA = Path(__file__).resolve().parent / "data"
IO = DATA / "demo_io.xml"
DRIVE = DATA / "demo_drive.xml"


def device_xml(body: str, *, vendor: str = "<Id>#x00000ABC</Id>") -> str:
    """A one-device ESI text; ``body`` is the inside of its ``Device`` element."""
    return ("<?xml version=\"1.0\"?>\n<EtherCATInfo>\n  <Vendor>" + vendor + "</Vendor>\n  <Descriptions>\n"
            "    <Devices>\n      <Device>\n        <Type ProductCode=\"#x10\" RevisionNo=\"2\">T</Type>\n"
            + body + "      </Device>\n    </Devices>\n  </Descriptions>\n</EtherCATInfo>\n")


def line_of(text: str, marker: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(lines) == 1, (marker, lines)
    return lines[0]


# ------------------------------------------------------------------------------ the files
def test_io_terminals():
    esi = load_esi(IO)
    assert esi.file == str(IO)
    assert (esi.vendor.id, esi.vendor.name) == (0xABC, "Demo Automation")
    assert [(group.type, group.name) for group in esi.groups] == [
        ("DemoDigOut", "Digital outputs"), ("DemoAnaIn", "Analog inputs")]
    assert [(device.type, device.product_code, device.revision) for device in esi.devices] == [
        ("DO-4", 0x00010001, 0x00010000), ("DO-4", 0x00010001, 0x00020000), ("AI-2", 0x00020001, 1)]
    out = esi.devices[0]
    assert out.line == line_of(IO.read_text(), "RevisionNo=\"#x00010000\"") - 1
    assert out.group == "DemoDigOut" and out.fmmus == ("Outputs",) and out.mailbox is None
    assert out.sync_managers == (EsiSyncManager(0, "Outputs", 0x0F00, 0x44, enable=True),)
    (pdo,) = out.rx_pdos
    assert (pdo.index, pdo.name, pdo.sm, pdo.mandatory, pdo.fixed) == (0x1600, "Outputs", 0, True, True)
    assert pdo.entries[0] == EsiPdoEntry(0x7000, 1, 1, "Output 1", "BOOL")
    assert pdo.entries[4].is_padding and pdo.entries[4] == EsiPdoEntry(0, 0, 4)
    assert pdo.bit_length == 8 and pdo.entries[0].coe_type is DataType.BOOLEAN and pdo.entries[4].coe_type is None
    assert out.default_rx_assignment == (0x1600,) and out.default_tx_assignment == ()
    analog = esi.devices[2]
    assert analog.sync_managers[1] == EsiSyncManager(1, "MBoxIn", 0x1080, 0x22, 128, 34, 128, True)
    assert not analog.sync_managers[2].enable
    assert analog.default_tx_assignment == (0x1A00, 0x1A01)   # 0x1A02 has no Sm
    assert analog.pdo(0x1A00).excludes == (0x1A02,) and analog.pdo(0x1A00).entries[2].subindex == 0x11
    assert analog.pdo(0x1234) is None
    assert analog.mailbox.protocols == MailboxProtocols.COE
    assert analog.mailbox.coe == EsiCoe(sdo_info=True, pdo_assign=True, complete_access=True)
    assert analog.init_commands == () and analog.dc_op_modes == ()


def test_a_drive_in_latin_1_with_init_commands_and_dc():
    esi = load_esi(DRIVE)
    assert esi.vendor.id == 2748 and esi.groups[0].name == "Drives"  # LcId 1033, not the first name
    (drive,) = esi.devices
    assert drive.name == "DS-402 servo drive" and drive.describe() == "DS-402 (0x00000402 revision 0x00000002)"
    assert drive.mailbox.protocols == MailboxProtocols.EOE | MailboxProtocols.COE | MailboxProtocols.FOE
    assert drive.mailbox.coe.pdo_config and drive.mailbox.coe.segmented_sdo and not drive.mailbox.coe.pdo_upload
    assert drive.init_commands == (
        EsiInitCommand((Transition.PREOP_TO_SAFEOP,), 0x6060, 0, b"\x08",
                       "Modes of operation: cyclic synchronous position"),
        EsiInitCommand((Transition.INIT_TO_PREOP, Transition.PREOP_TO_SAFEOP), 0x1C32, 1, b"\x02\x00",
                       "SM2 synchronisation: DC SYNC0", fixed=True),
        EsiInitCommand((Transition.PREOP_TO_SAFEOP,), 0x1C12, 0, bytes.fromhex("01000016"), complete_access=True),
    )
    assert drive.dc_op_modes[0] == EsiDcOpMode("DC", 0x0300, "DC synchronous (SYNC0)", 0, 1, -5000)
    assert drive.dc_op_mode("DC01") == EsiDcOpMode("DC01", 0x0700, "DC synchronous (SYNC0 and SYNC1)", 0, 1, 0,
                                                   125_000, 2, 250)
    assert drive.dc_op_mode("DC3") is None
    assert drive.pdo(0x1600).mandatory and drive.pdo(0x1601).excludes == (0x1600,)
    assert drive.default_rx_assignment == (0x1600,) and drive.default_tx_assignment == (0x1A00,)
    assert drive.pdo(0x1A00).entries[2].coe_type is DataType.INTEGER8


def test_find_device():
    esi = load_esi(IO)
    assert esi.find_device(0x00010001).revision == 0x00020000   # the highest revision
    assert esi.find_device(0x00010001, 0x00010000) is esi.devices[0]
    with pytest.raises(ConfigError) as info:
        esi.find_device(0x00010001, 0x00030000)
    assert (info.value.file, info.value.field) == (str(IO), "Descriptions/Devices")
    assert "revision 0x00030000 (the file has revisions 0x00010000, 0x00020000 of it)" in info.value.expected
    with pytest.raises(ConfigError, match="product code 0x00000099 \\(the file describes 3 other device"):
        esi.find_device(0x99)


@pytest.mark.parametrize("name, data_type", [
    ("UINT", DataType.UNSIGNED16), ("UNSIGNED16", DataType.UNSIGNED16), ("BOOL", DataType.BOOLEAN),
    ("SINT", DataType.INTEGER8), ("ULINT", DataType.UNSIGNED64), ("LREAL", DataType.REAL64),
    ("STRING(12)", DataType.VISIBLE_STRING), ("BIT3", DataType.BIT3), (" DINT ", DataType.INTEGER32),
    ("ARRAY [0..3] OF BYTE", None), ("MyVendorType", None), ("uint", None)])
def test_data_type_names(name, data_type):
    assert data_type_by_name(name) is data_type


def test_numbers_names_and_tolerated_forms():
    text = device_xml("""\
        <Name LcId="1031">Erster</Name>
        <Name LcId="2052">Second</Name>
        <Sm StartAddress="0x1100" ControlByte="#x64" Enable="#x03">Outputs</Sm>
        <RxPdo Sm="2"><Index>5632</Index><Name>P</Name>
          <Entry><Index>#x7000</Index><SubIndex>#X1</SubIndex><BitLen>8</BitLen><DataType>USINT</DataType></Entry>
        </RxPdo>
""", vendor="<Id> 12 </Id>")
    esi = parse_esi(text, "inline.xml")
    (device,) = esi.devices
    assert esi.vendor == EsiVendor(12, "") and device.name == "Erster"  # no 1033: the first name
    assert device.sync_managers[0].start_address == 0x1100 and device.sync_managers[0].enable
    assert device.rx_pdos[0].index == 0x1600 and device.rx_pdos[0].entries[0].subindex == 1
    assert parse_esi(device_xml("").replace("RevisionNo=\"2\"", ""), "x.xml").devices[0].revision == 0
    assert parse_esi(device_xml("").encode(), "x.xml").devices[0].name == "T"  # bytes in, Type as the name


# ---------------------------------------------------------------------------- the errors
ERRORS = [
    # (case, text, field, marker of the line, fragment of the expectation)
    ("not XML", device_xml("        <Sm>Outputs</Smx>\n"), "(document)", "</Smx>", "well-formed XML (mismatched tag)"),
    ("doctype", "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"aaaa\">]>\n<EtherCATInfo/>\n", "(document)",
     "DOCTYPE", "without a document type declaration"),
    ("root", "<?xml version=\"1.0\"?>\n<EtherCATConfig/>\n", "EtherCATConfig", "EtherCATConfig",
     "an EtherCATInfo root element"),
    ("vendor id", device_xml("", vendor="<Name>V</Name>"), "Vendor/Id", "<Vendor>", "a Id element (missing)"),
    ("vendor id too big", device_xml("", vendor="<Id>#x100000000</Id>"), "Vendor/Id", "<Vendor>",
     "in 0..4294967295, got '#x100000000'"),
    ("no devices", "<EtherCATInfo><Vendor><Id>1</Id></Vendor>\n<Descriptions/></EtherCATInfo>",
     "Descriptions/Devices", "<Descriptions/>", "a Devices element (missing)"),
    ("product code", device_xml("").replace(" ProductCode=\"#x10\"", ""),
     "Descriptions/Devices/Device[0]/Type@ProductCode", "<Type", "product code (missing)"),
    ("bad hex", device_xml("        <RxPdo><Index>#x1600</Index>\n          <Entry><Index>#x70G0</Index>"
                           "<BitLen>1</BitLen></Entry></RxPdo>\n"),
     "Descriptions/Devices/Device[0]/RxPdo[0]/Entry[0]/Index", "#x70G0", "a number (decimal or #x hex)"),
    ("huge number", device_xml("        <RxPdo><Index>" + "9" * 5000 + "</Index></RxPdo>\n"),
     "Descriptions/Devices/Device[0]/RxPdo[0]/Index", "<RxPdo>", "a number"),
    ("bit length", device_xml("        <TxPdo><Index>#x1A00</Index>\n          <Entry><Index>1</Index>"
                              "<BitLen>256</BitLen></Entry></TxPdo>\n"),
     "Descriptions/Devices/Device[0]/TxPdo[0]/Entry[0]/BitLen", "<BitLen>256", "in 1..255"),
    ("pdo without index", device_xml("        <TxPdo Sm=\"3\"><Name>x</Name></TxPdo>\n"),
     "Descriptions/Devices/Device[0]/TxPdo[0]/Index", "<TxPdo", "a Index element (missing)"),
    ("sync manager number", device_xml("        <RxPdo Sm=\"16\"><Index>#x1600</Index></RxPdo>\n"),
     "Descriptions/Devices/Device[0]/RxPdo[0]@Sm", "<RxPdo", "in 0..15"),
    ("boolean", device_xml("        <RxPdo Mandatory=\"yes\"><Index>#x1600</Index></RxPdo>\n"),
     "Descriptions/Devices/Device[0]/RxPdo[0]@Mandatory", "<RxPdo", "a boolean (1, 0, true or false)"),
    ("sm enable", device_xml("        <Sm Enable=\"on\">Inputs</Sm>\n"), "Descriptions/Devices/Device[0]/Sm[0]@Enable",
     "<Sm", "a number"),
    ("transition", device_xml("        <Mailbox><CoE>\n          <InitCmd><Transition>PS</Transition>\n"
                              "            <Transition>XY</Transition><Index>1</Index><SubIndex>0</SubIndex>"
                              "<Data>00</Data></InitCmd>\n        </CoE></Mailbox>\n"),
     "Descriptions/Devices/Device[0]/Mailbox/CoE/InitCmd[0]/Transition[1]", "XY", "one of IP, PS, SP, SO, OP, OS"),
    ("no transition", device_xml("        <Mailbox><CoE>\n          <InitCmd><Index>1</Index><SubIndex>0</SubIndex>"
                                 "<Data>00</Data></InitCmd>\n        </CoE></Mailbox>\n"),
     "Descriptions/Devices/Device[0]/Mailbox/CoE/InitCmd[0]/Transition", "<InitCmd>", "at least one Transition"),
    ("data", device_xml("        <Mailbox><CoE>\n          <InitCmd><Transition>PS</Transition><Index>1</Index>"
                        "<SubIndex>0</SubIndex>\n            <Data>080</Data></InitCmd>\n        </CoE></Mailbox>\n"),
     "Descriptions/Devices/Device[0]/Mailbox/CoE/InitCmd[0]/Data", "<Data>", "hex octets such as 0800"),
    ("complete access", device_xml("        <Mailbox><CoE>\n          <InitCmd CompleteAccess=\"1\">"
                                   "<Transition>PS</Transition><Index>1</Index><SubIndex>2</SubIndex>"
                                   "<Data>00</Data></InitCmd>\n        </CoE></Mailbox>\n"),
     "Descriptions/Devices/Device[0]/Mailbox/CoE/InitCmd[0]/SubIndex", "CompleteAccess", "subindex 0 or 1"),
    ("op mode", device_xml("        <Dc>\n          <OpMode><Name>DC</Name></OpMode>\n        </Dc>\n"),
     "Descriptions/Devices/Device[0]/Dc/OpMode[0]/AssignActivate", "<OpMode>", "a AssignActivate element"),
    ("shift", device_xml("        <Dc>\n          <OpMode><Name>DC</Name><AssignActivate>#x300</AssignActivate>\n"
                         "            <ShiftTimeSync0>-2147483649</ShiftTimeSync0></OpMode>\n        </Dc>\n"),
     "Descriptions/Devices/Device[0]/Dc/OpMode[0]/ShiftTimeSync0", "ShiftTimeSync0", "in -2147483648..2147483647"),
    ("factor", device_xml("        <Dc>\n          <OpMode><Name>DC</Name><AssignActivate>#x300</AssignActivate>\n"
                          "            <CycleTimeSync0 Factor=\"x\">0</CycleTimeSync0></OpMode>\n        </Dc>\n"),
     "Descriptions/Devices/Device[0]/Dc/OpMode[0]/CycleTimeSync0@Factor", "Factor", "a number"),
]


@pytest.mark.parametrize("text, field, marker, expected", [case[1:] for case in ERRORS],
                         ids=[case[0] for case in ERRORS])
def test_errors_name_file_line_and_element(text, field, marker, expected):
    with pytest.raises(ConfigError) as info:
        parse_esi(text, "bad.xml")
    caught = info.value
    assert (caught.file, caught.field) == ("bad.xml", field)
    assert caught.line == line_of(text, marker)
    assert expected in caught.expected, caught.expected


def test_empty_unreadable_and_undecodable_files(tmp_path):
    for data in (b"", b"   \n"):
        with pytest.raises(ConfigError, match="well-formed XML"):
            parse_esi(data, "empty.xml")
    with pytest.raises(ConfigError) as info:
        load_esi(tmp_path / "absent.xml")
    assert (info.value.file, info.value.field) == (str(tmp_path / "absent.xml"), "(file)")
    with pytest.raises(ConfigError) as info:
        parse_esi(b"<?xml version=\"1.0\" encoding=\"no-such-codec\"?><EtherCATInfo/>", "codec.xml")
    assert info.value.field == "(document)"


# ------------------------------------------------------------------------------- fuzzing
_TOKENS = ["", "#x", "-1", "#xFFFFFFFFFFFFFFFFFFFF", "abc", "1.5", "9" * 30, "true", "#x1g", "0x10", "PS",
           "<", "&amp;", "&bogus;", "]]>", "\x00", "é", "1 2"]
_SEED_FILES = [IO.read_bytes(), DRIVE.read_bytes()]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One random edit: bytes flipped, cut, repeated or inserted, an element's text or an
    attribute replaced, or an element removed."""
    text = data.decode("latin-1")
    choice = rng.randrange(7)
    if choice == 0 and data:
        position = rng.randrange(len(data))
        return data[:position] + bytes([rng.randrange(256)]) + data[position + 1:]
    if choice == 1 and data:
        start = rng.randrange(len(data))
        return data[:start] + data[start + rng.randrange(1, 64):]
    if choice == 2 and data:
        start = rng.randrange(len(data))
        return data[:start] + data[start:start + rng.randrange(1, 200)] + data[start:]
    if choice == 3:
        texts = [m.span(1) for m in re.finditer(r">([^<]*)<", text)]
        start, end = rng.choice(texts)
        return (text[:start] + rng.choice(_TOKENS) + text[end:]).encode("latin-1", "replace")
    if choice == 4:
        values = [m.span(1) for m in re.finditer(r"=\"([^\"]*)\"", text)]
        start, end = rng.choice(values)
        return (text[:start] + rng.choice(_TOKENS).replace("\"", "") + text[end:]).encode("latin-1", "replace")
    if choice == 5:
        elements = [m.span() for m in re.finditer(r"<(\w+)[^>]*>[^<]*</\1>", text)]
        start, end = rng.choice(elements)
        return (text[:start] + text[end:]).encode("latin-1")
    position = rng.randrange(len(data) + 1)
    return data[:position] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8))) + data[position:]


def test_mutated_files_raise_only_config_errors():
    rng = random.Random(2000)
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(3000):
        data = rng.choice(_SEED_FILES)
        for _ in range(rng.randrange(1, 4)):
            data = _mutate(data, rng)
        try:
            parse_esi(data, "fuzz.xml")
        except ConfigError as exc:
            assert exc.file == "fuzz.xml"
            outcomes["refused"] += 1
        else:
            outcomes["parsed"] += 1
    assert outcomes["parsed"] > 300 and outcomes["refused"] > 300, outcomes


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_SEED_FILES), st.integers(0, 2**32 - 1), st.binary(max_size=32))
def test_hypothesis_spliced_files_raise_only_config_errors(seed_file, cut, junk):
    start = cut % (len(seed_file) + 1)
    try:
        parse_esi(seed_file[:start] + junk + seed_file[start + len(junk):], "fuzz.xml")
    except ConfigError:
        pass
