"""The bus subcommands of ``ethercat-master``: against the reference chain served in-process
(``--sim``) for one-shot commands, and served on UDP (``--link udp:...``) where a sequence of
invocations must see each other's effects, as on a real bus."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from ethercat_master.protocol.sii import sii_crc8
from ethercat_master.sim.chain import ChainServer
from ethercat_master.sim.chain_config import load_chain
from ethercat_master.tools.cli import main
from ethercat_master.transport import UdpLink

CHAIN = Path(__file__).resolve().parents[2] / "config" / "sim_chain.yaml"
SIM = ["--sim", str(CHAIN)]
COUPLER, EL1008, EL3102, AXIS1, AXIS2 = 0, 1, 3, 4, 5


@pytest.fixture
def bus():
    """The reference chain served on UDP; yields the ``--link`` options."""
    loaded = load_chain(CHAIN)
    served = UdpLink(("127.0.0.1", 0), None)
    with ChainServer(loaded.chain, served, poll_interval=0.005):
        yield ["--link", f"udp:127.0.0.1:{served.address[1]}", "--bus-timeout", "0.1"]
    served.close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *argv: str):
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


# ------------------------------------------------------------------------------ slaves
def test_slaves_lists_position_station_alias_state_name_identity(capsys):
    slaves = run_json(capsys, "slaves", *SIM)
    assert [s["position"] for s in slaves] == list(range(8))
    assert [s["station_address"] for s in slaves] == list(range(0x1001, 0x1009))
    assert slaves[AXIS2]["alias"] == 0x0102 and slaves[AXIS2]["serial"] == 1002
    assert slaves[EL3102]["name"] == "EL3102 2Ch. Ana. Input +/-10V, Diff." and slaves[EL3102]["state"] == "INIT"
    assert (slaves[COUPLER]["vendor_id"], slaves[COUPLER]["product_code"]) == (2, 0x044C2C52)
    assert "mailbox" not in slaves[0]


def test_slaves_verbose_adds_esc_ports_and_mailbox(capsys):
    slaves = run_json(capsys, "slaves", "-v", *SIM)
    drive = slaves[AXIS1]
    assert drive["mailbox"]["out"] == {"offset": 0x1000, "size": 128}
    assert drive["mailbox"]["protocols"] == ["EOE", "COE", "FOE"]
    assert "ENABLE_SDO_COMPLETE_ACCESS" in drive["mailbox"]["coe_details"]
    assert (drive["parent"], drive["parent_port"]) == (COUPLER, 2)
    status, out, _ = run(capsys, "slaves", "-v", *SIM)
    assert status == 0
    assert "mailbox out 0x1000/128, in 0x1080/128; COE" in out and "no mailbox" in out


# ------------------------------------------------------------------------------ states
def test_states_set_then_read_in_another_invocation(capsys, bus):
    (entry,) = run_json(capsys, "states", "--set", "PREOP", "--position", str(AXIS1), *bus)
    assert (entry["position"], entry["state"], entry["error"]) == (AXIS1, "PREOP", False)
    assert entry["name"].startswith("Simulated CiA 402 servo drive, axis 1")
    states = run_json(capsys, "states", *bus)  # read without reset: what the bus is in now
    assert [s["state"] for s in states] == ["INIT"] * 4 + ["PREOP"] + ["INIT"] * 3
    status, out, _ = run(capsys, "states", "-p", str(AXIS1), *bus)
    assert status == 0 and out.split() == ["4", "PREOP"]


def test_a_refused_state_is_one_line_with_the_al_status_code(capsys):
    status, out, err = run(capsys, "states", "--set", "SAFEOP", "-p", str(AXIS1), *SIM)
    assert status == 1 and out == ""
    assert err.count("\n") == 1
    assert "position 4" in err and "AL status code 0x001D (Invalid Output Configuration)" in err


# -------------------------------------------------------------------------------- SDO
def test_sdo_download_then_upload_typed_and_raw(capsys, bus):
    written = run_json(capsys, "sdo", "download", "-p", str(EL3102), "0x8000", "0x13", "-1234", "--type", "int16", *bus)
    assert written["value"] == -1234
    read = run_json(capsys, "sdo", "upload", "-p", str(EL3102), "0x8000", "0x13", "--type", "INTEGER16", *bus)
    assert (read["index"], read["subindex"], read["type"], read["value"]) == (0x8000, 0x13, "INTEGER16", -1234)
    status, out, _ = run(capsys, "sdo", "upload", "-p", str(EL3102), "0x8000", "0x13", *bus)
    assert status == 0 and out.strip() == "2e fb"
    status, out, _ = run(capsys, "sdo", "upload", "-p", str(AXIS2), "0x1018", "4", "--type", "uint32", *bus)
    assert out.strip() == "1002 (0x000003EA)"


def test_sdo_segmented_string_and_complete_access(capsys):
    read = run_json(capsys, "sdo", "upload", "-p", str(AXIS1), "0x1008", "0", "--type", "string", *SIM)
    assert len(read["value"]) > 128 and read["value"].startswith("Simulated CiA 402 servo drive, axis 1 of 4")
    whole = run_json(capsys, "sdo", "upload", "-p", str(AXIS1), "0x1018", "0", "--complete-access",
                     "--status-mode", "strict", *SIM)
    assert bytes.fromhex(whole["value"])[-16:] == struct.pack("<4I", 0, 0x402, 1, 1001)


def test_sdo_errors(capsys):
    status, _, err = run(capsys, "sdo", "upload", "-p", str(AXIS1), "0x5FFE", "0", *SIM)
    assert status == 1 and "0x06020000" in err and "does not exist" in err
    status, _, err = run(capsys, "sdo", "upload", "-p", str(COUPLER), "0x1000", "0", *SIM)
    assert status == 1 and "does not support CoE" in err
    status, _, err = run(capsys, "sdo", "download", "-p", str(AXIS1), "0x6081", "0", "99999999999", "--type",
                         "uint32", *SIM)
    assert status == 2 and "does not fit in UNSIGNED32" in err
    status, _, err = run(capsys, "sdo", "upload", "-p", "9", "0x1000", "0", *SIM)
    assert status == 2 and "no slave at position 9: the bus has 8 slaves (positions 0-7)" in err
    status, _, err = run(capsys, "sdo", "upload", "-p", str(AXIS1), "0x10000", "0", *SIM)
    assert status == 2 and "index 0x10000 is outside" in err


def test_sdo_list_shows_objects_and_entries(capsys):
    objects = {o["index"]: o for o in run_json(capsys, "sdo", "list", "-p", str(EL3102), *SIM)}
    identity = objects[0x1018]
    assert identity["name"] == "Identity" and identity["max_subindex"] == 4
    assert [(e["subindex"], e["data_type"], e["access"]) for e in identity["entries"]][1] == (1, "UNSIGNED32", "r-r-r-")
    limit = next(e for e in objects[0x8000]["entries"] if e["subindex"] == 0x13)
    assert limit["access"].startswith("rw") and limit["bit_length"] == 16


# ------------------------------------------------------------------------------- PDOs
def test_pdos_from_coe_and_from_the_sii(capsys):
    drive = run_json(capsys, "pdos", "-p", str(AXIS1), *SIM)
    assert drive["source"] == "CoE"
    outputs, inputs = drive["sync_managers"]
    assert (outputs["sync_manager"], outputs["direction"], inputs["sync_manager"]) == (2, "outputs", 3)
    assert outputs["pdos"][0]["index"] == 0x1600
    assert outputs["pdos"][0]["entries"][0] == {"index": 0x6040, "subindex": 0, "bit_length": 16}
    terminal = run_json(capsys, "pdos", "-p", str(EL1008), *SIM)
    assert terminal["source"] == "SII"
    (inputs,) = terminal["sync_managers"]
    assert inputs["direction"] == "inputs" and len(inputs["pdos"]) == 8
    assert inputs["pdos"][0]["name"] == "Channel 1"


# -------------------------------------------------------------------------- registers
def test_registers_by_position_and_station(capsys, bus):
    run_json(capsys, "reg", "write", "-p", str(AXIS2), "0x0200", "3412", *bus)
    read = run_json(capsys, "reg", "read", "-p", str(AXIS2), "0x0200", "2", *bus)
    assert read["data"] == "3412"
    run_json(capsys, "slaves", *bus)  # the scan assigns the station addresses
    status, out, _ = run(capsys, "reg", "read", "--station", "0x1006", "0x0010", "2", *bus)
    assert status == 0 and out.strip() == "0x0010: 06 10"
    status, _, err = run(capsys, "reg", "read", "0x0010", "2", *bus)
    assert status == 2 and "exactly one of --position and --station" in err
    status, _, err = run(capsys, "reg", "write", "-p", "1", "0x0120", "zz", *bus)
    assert status == 2 and "not hex data" in err


# -------------------------------------------------------------------------------- SII
def test_sii_dump_parsed_and_raw(capsys, tmp_path):
    dump = run_json(capsys, "sii", "dump", "-p", str(EL3102), *SIM)
    assert dump["checksum_ok"] and dump["identity"]["product_code"] == 0x0C1E3052
    assert dump["mailbox"]["standard_out"] == [0x1000, 128] and dump["strings"][0] == "EL3102"
    assert dump["tx_pdos"][0]["index"] == 0x1A02 and dump["tx_pdos"][0]["entries"][-1]["name"] == "Value"
    raw = tmp_path / "sii.bin"
    assert run(capsys, "sii", "dump", "-p", str(EL3102), "--raw", "-o", str(raw), *SIM)[0] == 0
    assert raw.read_bytes().hex() == dump["data"]
    status, _, err = run(capsys, "sii", "dump", "-p", str(EL3102), "--raw", "--json", *SIM)
    assert status == 2 and "exclude each other" in err


def test_sii_write_needs_force_and_checks_the_image(capsys, bus, tmp_path):
    image = bytearray(bytes.fromhex(run_json(capsys, "sii", "dump", "-p", str(EL3102), *bus)["data"]))
    image[8:10] = struct.pack("<H", 0x0BAD)  # word 4: configured station alias
    image[14] = sii_crc8(bytes(image[:14]))
    path = tmp_path / "new.bin"
    path.write_bytes(bytes(image))
    status, _, err = run(capsys, "sii", "write", "-p", str(EL3102), str(path), *bus)
    assert status == 2 and "refusing to overwrite the SII EEPROM of slave position 3 (EL3102" in err
    assert "without --force" in err
    written = run_json(capsys, "sii", "write", "-p", str(EL3102), str(path), "--force", *bus)
    assert written["words"] == len(image) // 2
    assert run_json(capsys, "sii", "dump", "-p", str(EL3102), *bus)["alias"] == 0x0BAD
    image[14] ^= 1
    path.write_bytes(bytes(image))
    status, _, err = run(capsys, "sii", "write", "-p", str(EL3102), str(path), "--force", *bus)
    assert status == 1 and "checksum" in err


# -------------------------------------------------------------------------------- FoE
def test_foe_write_then_read_with_plain_progress(capsys, bus, tmp_path):
    source = tmp_path / "app.bin"
    content = bytes(range(256)) * 20
    source.write_bytes(content)
    status, out, err = run(capsys, "foe", "write", "-p", str(AXIS2), str(source), *bus)
    assert status == 0 and "wrote 5120 bytes" in out
    assert err.splitlines()[-1] == "FoE write app.bin: 5120/5120 bytes"  # not a terminal: plain counts
    target = tmp_path / "back.bin"
    result = run_json(capsys, "foe", "read", "-p", str(AXIS2), "app.bin", "-o", str(target), *bus)
    assert result["size"] == len(content) and target.read_bytes() == content
    status, _, err = run(capsys, "foe", "read", "-p", str(AXIS2), "missing.bin", "--boot", *bus)
    assert status == 1 and "FoE error 0x8001" in err and err.count("\n") == 1


# ------------------------------------------------------------------------------ links
def test_link_errors_are_one_line(capsys):
    status, _, err = run(capsys, "slaves", "--link", "tcp:nowhere:1")
    assert status == 1 and "unknown link scheme 'tcp'" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as usage:
        main(["slaves", "--link", "eth9", *SIM])
    assert usage.value.code == 2


def test_soak_mailbox_subcommand(capsys):
    report = run_json(capsys, "soak", "mailbox", "--transactions", "40", "--seed", "2")
    assert report["total"] == 40 and report["kind"] == "ethercat_master.mailbox_soak"
