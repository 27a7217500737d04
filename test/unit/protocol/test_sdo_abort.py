"""Tests of the SDO abort code table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ethercat_master.protocol.sdo_abort import SDO_ABORT_CODES, SdoAbortCode, sdo_abort_text

# Every code of SOEM's ec_sdoerrorlist (ethercatprint.c) and ethercrab's AbortCode
# (ETG1000.6 Table 41), plus 0x06090033 (Beckhoff slave stack ABORT_MODULE_ID_LIST_NOT_MATCH)
# and the CiA 301 codes ETG.1000.6 leaves out.
ETG_CODES = {
    0x05030000,
    0x05040000,
    0x05040001,
    0x05040005,
    0x06010000,
    0x06010001,
    0x06010002,
    0x06010003,
    0x06010004,
    0x06010005,
    0x06010006,
    0x06020000,
    0x06040041,
    0x06040042,
    0x06040043,
    0x06040047,
    0x06060000,
    0x06070010,
    0x06070012,
    0x06070013,
    0x06090011,
    0x06090030,
    0x06090031,
    0x06090032,
    0x06090033,
    0x06090036,
    0x08000000,
    0x08000020,
    0x08000021,
    0x08000022,
    0x08000023,
}
CIA_ONLY_CODES = {0x05040002, 0x05040003, 0x05040004, 0x060A0023, 0x08000024}


def test_table_holds_every_code_exactly_once() -> None:
    assert set(SDO_ABORT_CODES) == ETG_CODES | CIA_ONLY_CODES
    assert set(SDO_ABORT_CODES) == {int(code) for code in SdoAbortCode}
    assert len(SdoAbortCode) == len(ETG_CODES | CIA_ONLY_CODES)


def test_specification_texts() -> None:
    assert sdo_abort_text(0x05030000) == "Toggle bit not changed"
    assert sdo_abort_text(0x05040001) == "Client/Server command specifier not valid or unknown"
    assert (
        sdo_abort_text(0x06010003) == "Subindex cannot be written, SI0 must be 0 for write access"
    )
    assert sdo_abort_text(0x06010006) == "Object mapped to RxPDO, SDO Download blocked"
    assert sdo_abort_text(0x06020000) == "The object does not exist in the object directory"
    assert sdo_abort_text(0x06070010) == (
        "Data type does not match, length of service parameter does not match"
    )
    assert sdo_abort_text(0x06090030) == "Value range of parameter exceeded (only for write access)"
    assert sdo_abort_text(0x08000022) == (
        "Data cannot be transferred or stored to the application because of the present device state"
    )
    assert sdo_abort_text(0x08000023) == (
        "Object dictionary dynamic generation fails or no object dictionary is present"
    )
    assert "Module Ident List" in sdo_abort_text(0x06090033)


def test_enum_names_are_readable() -> None:
    assert SdoAbortCode(0x06020000) is SdoAbortCode.OBJECT_DOES_NOT_EXIST
    assert SdoAbortCode(0x06090011) is SdoAbortCode.SUBINDEX_DOES_NOT_EXIST
    assert SdoAbortCode.WRITE_READ_ONLY_OBJECT == 0x06010002
    assert sdo_abort_text(SdoAbortCode.TOGGLE_BIT_NOT_CHANGED) == "Toggle bit not changed"


def test_unknown_code_gets_its_value_in_the_text() -> None:
    assert sdo_abort_text(0x12345678) == "Unknown SDO abort code 0x12345678"
    assert sdo_abort_text(0) == "Unknown SDO abort code 0x00000000"


@given(st.integers(-(2**40), 2**40))
def test_text_never_fails(code: int) -> None:
    text = sdo_abort_text(code)
    assert text
    if code not in SDO_ABORT_CODES:
        assert f"0x{code & 0xFFFFFFFF:08X}" in text
