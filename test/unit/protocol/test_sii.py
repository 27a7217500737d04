"""Tests of ethercat_master.protocol.sii: the SII (EEPROM) image, parse and build.

Known vectors come from public sources, cited where they are used:

* siitool (github.com/synapticon/siitool, ``sii_example.asc``): a complete SII image written
  by an ESI-to-SII generator, with STRINGS, GENERAL, FMMU, SYNCM, TXPDO, RXPDO and DC.
* ethercrab (github.com/ethercrab-rs/ethercrab, ``src/eeprom/mod.rs`` test
  ``read_single_bytes``): the first 16 bytes of a Beckhoff EL2828 EEPROM dump.
"""

from __future__ import annotations

import random
import struct
from dataclasses import replace

import pytest
from harness.fuzz import mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ethercat_master.errors import ProtocolError
from ethercat_master.protocol.sii import (
    EEPROM_SIZE_UNIT,
    FIXED_AREA_SIZE,
    TYPED_CATEGORIES,
    CategoryType,
    CoeDetails,
    EoeDetails,
    FmmuUsage,
    FoeDetails,
    GeneralFlags,
    MailboxProtocols,
    PdoFlags,
    PhysicalPortType,
    SiiCategoryHeader,
    SiiDcOpMode,
    SiiGeneral,
    SiiImage,
    SiiInfo,
    SiiPdo,
    SiiPdoEntry,
    SiiRawCategory,
    SiiSyncManager,
    SyncManagerEnable,
    SyncManagerType,
    decode_fmmus,
    decode_strings,
    encode_fmmus,
    encode_strings,
    end_of_categories,
    sii_crc8,
)

# --------------------------------------------------------------------------- known vectors
#: siitool sii_example.asc, verbatim (xxd dump of a generated SII image, 472 bytes, ending with END).
#: Fixed area: PDI control 0x0E08, PDI configuration 0x8802, checksum 0x002F, vendor 0x22D2,
#: product 0x0201, revision 0x0A000002, serial 0xDD, mailboxes, protocols 0x000E, size 0x000F,
#: version 1. Categories: STRINGS @0x080, GENERAL @0x11C, FMMU @0x140, SYNCM @0x146,
#: TXPDO @0x16A, RXPDO @0x186, DC @0x1A2 (two 24-byte op modes), END @0x1D6.
SIITOOL_XXD = """
0000000: 080e 0288 0000 0000 0000 0000 0000 2f00
0000010: d222 0000 0102 0000 0200 000a dd00 0000
0000020: 0000 0000 0000 0000 0010 1402 0018 1402
0000030: 0010 8000 8010 8000 0e00 0000 0000 0000
0000040: 0000 0000 0000 0000 0000 0000 0000 0000
0000050: 0000 0000 0000 0000 0000 0000 0000 0000
0000060: 0000 0000 0000 0000 0000 0000 0000 0000
0000070: 0000 0000 0000 0000 0000 0000 0f00 0100
0000080: 0a00 4c00 0c0f 5379 6e61 7074 6963 6f6e
0000090: 2d45 4341 5406 534f 4d41 5858 1b53 796e
00000a0: 6170 7469 636f 6e20 534f 4d41 4e45 5420
00000b0: 434f 4d20 4543 4154 1553 4e43 4e20 534f
00000c0: 4d41 4e45 5420 434f 4d20 4543 4154 0853
00000d0: 796e 6368 726f 6e0f 4469 7374 7269 6275
00000e0: 7465 6420 436c 6f06 496e 7075 7473 0845
00000f0: 4341 5420 496e 3108 4543 4154 2049 6e32
0000100: 074f 7574 7075 7473 0945 4341 5420 4f75
0000110: 7431 0945 4341 5420 4f75 7432 1e00 1000
0000120: 0200 0104 010f 0101 0000 0000 0000 0300
0000130: 1100 0000 0000 0000 0000 0000 0000 0000
0000140: 2800 0100 0102 2900 1000 0010 8000 2600
0000150: 0101 8010 8000 2200 0102 0011 0200 2400
0000160: 0103 8011 0200 2000 0104 3200 0c00 0016
0000170: 0203 0007 0000 0060 0108 0610 0000 0060
0000180: 0209 0610 0000 3300 0c00 001a 0202 000a
0000190: 0000 0070 010b 0610 0000 0070 020c 0610
00001a0: 0000 3c00 1800 0000 0000 0000 0000 0000
00001b0: 0000 0000 0000 0100 0500 0000 0000 0000
00001c0: 0000 0000 0000 0000 0000 0000 0001 0100
00001d0: 0600 0000 0000 ffff
"""
SIITOOL_EXAMPLE = bytes.fromhex("".join("".join(line.split()[1:]) for line in SIITOOL_XXD.strip().splitlines()))
#: Byte offset of the TXPDO category header in SIITOOL_EXAMPLE (word 0x00B5).
SIITOOL_TXPDO_OFFSET = 0x16A
SIITOOL_END_OFFSET = 0x1D6


def test_siitool_vector_is_the_published_size() -> None:
    # The dump is 0x1D8 bytes and its last word is END.
    assert len(SIITOOL_EXAMPLE) == 0x1D8
    assert SIITOOL_EXAMPLE[SIITOOL_END_OFFSET:] == b"\xff\xff"


# ------------------------------------------------------------------------------ checksum
def test_checksum_el2828_vector() -> None:
    # ethercrab dumps/eeprom/el2828.hex: words 0..6 = 0104 0000 0000 00ff 0000 0000 0000,
    # word 7 = 0x00E2.
    preamble = bytes.fromhex("0401000000 00ff00000000000000".replace(" ", ""))
    assert sii_crc8(preamble) == 0xE2


def test_checksum_siitool_vector() -> None:
    # siitool sii_example.asc: words 0..6 = 0e08 8802 0 0 0 0 0, word 7 = 0x002F.
    assert sii_crc8(SIITOOL_EXAMPLE[:14]) == 0x2F
    assert SiiInfo.decode(SIITOOL_EXAMPLE[:FIXED_AREA_SIZE]).checksum_ok


def test_checksum_detects_a_changed_preamble_but_decode_still_succeeds() -> None:
    image = bytearray(SIITOOL_EXAMPLE)
    image[8] ^= 0x01  # configured station alias, inside the checksummed words
    parsed = SiiImage.parse(bytes(image))
    assert not parsed.info.checksum_ok
    assert parsed.info.checksum == 0x2F
    assert parsed.info.configured_station_alias == 0x0001


def test_build_computes_checksum_when_none() -> None:
    info = SiiInfo(pdi_control=0x0E08, pdi_configuration=0x8802)
    encoded = info.encode()
    assert encoded[14:16] == b"\x2f\x00"
    decoded = SiiInfo.decode(encoded)
    assert decoded.checksum == 0x2F and decoded.checksum_ok


def test_explicit_wrong_checksum_is_written_as_given() -> None:
    info = SiiInfo(pdi_control=0x0E08, pdi_configuration=0x8802, checksum=0x0030)
    assert not info.checksum_ok
    assert info.encode()[14:16] == b"\x30\x00"


# ---------------------------------------------------------------------------- the vector
def test_parse_siitool_example_fields() -> None:
    image = SiiImage.parse(SIITOOL_EXAMPLE)
    info = image.info
    assert (info.vendor_id, info.product_code) == (0x22D2, 0x0201)
    assert (info.revision_number, info.serial_number) == (0x0A000002, 0xDD)
    assert (info.pdi_control, info.pdi_configuration) == (0x0E08, 0x8802)
    assert (info.bootstrap_receive_mailbox_offset, info.bootstrap_receive_mailbox_size) == (0x1000, 0x0214)
    assert (info.bootstrap_send_mailbox_offset, info.bootstrap_send_mailbox_size) == (0x1800, 0x0214)
    assert (info.standard_receive_mailbox_offset, info.standard_receive_mailbox_size) == (0x1000, 0x80)
    assert (info.standard_send_mailbox_offset, info.standard_send_mailbox_size) == (0x1080, 0x80)
    assert info.mailbox_protocols == MailboxProtocols.EOE | MailboxProtocols.COE | MailboxProtocols.FOE
    assert info.eeprom_size == 0x000F and info.eeprom_bytes == 2048  # 16 KiBit
    assert info.version == 1

    assert len(image.strings) == 12
    assert image.string(1) == "Synapticon-ECAT"
    assert image.string(12) == "ECAT Out2"
    general = image.general
    assert general is not None
    assert (general.group_idx, general.image_idx, general.order_idx, general.name_idx) == (2, 0, 1, 4)
    assert image.string(general.name_idx) == "SNCN SOMANET COM ECAT"
    assert general.coe_details == (
        CoeDetails.ENABLE_SDO
        | CoeDetails.ENABLE_SDO_INFO
        | CoeDetails.ENABLE_PDO_ASSIGN
        | CoeDetails.ENABLE_PDO_CONFIGURATION
    )
    assert general.foe_details == FoeDetails.ENABLE_FOE and general.eoe_details == EoeDetails.ENABLE_EOE
    assert general.physical_ports == (PhysicalPortType.MII, PhysicalPortType.MII, 0, 0)
    assert general.ebus_current == 0

    assert image.fmmus == (FmmuUsage.OUTPUTS, FmmuUsage.INPUTS)
    assert image.sync_managers == (
        SiiSyncManager(0x1000, 0x80, 0x26, SyncManagerEnable.ENABLE, SyncManagerType.MAILBOX_OUT),
        SiiSyncManager(0x1080, 0x80, 0x22, SyncManagerEnable.ENABLE, SyncManagerType.MAILBOX_IN),
        SiiSyncManager(0x1100, 0x02, 0x24, SyncManagerEnable.ENABLE, SyncManagerType.PROCESS_DATA_OUT),
        SiiSyncManager(0x1180, 0x02, 0x20, SyncManagerEnable.ENABLE, SyncManagerType.PROCESS_DATA_IN),
    )
    (tx,) = image.tx_pdos
    assert (tx.index, tx.sync_manager, tx.name_idx, tx.bit_length) == (0x1600, 3, 7, 32)
    assert tx.entries[1] == SiiPdoEntry(0x6000, 2, 16, data_type=0x06, name_idx=9)
    (rx,) = image.rx_pdos
    assert (rx.index, rx.sync_manager, image.string(rx.name_idx)) == (0x1A00, 2, "Outputs")
    assert [image.string(mode.name_idx) for mode in image.dc_op_modes] == ["Synchron", "Distributed Clo"]
    assert image.dc_op_modes[1].assign_activate == 0x0100
    assert all(mode.sync0_cycle_factor == 1 for mode in image.dc_op_modes)
    assert image.extra_categories == ()


def test_build_reproduces_siitool_example_and_pads_erased() -> None:
    built = SiiImage.parse(SIITOOL_EXAMPLE).build()
    assert len(built) == 2048
    assert built[: len(SIITOOL_EXAMPLE)] == SIITOOL_EXAMPLE
    assert set(built[len(SIITOOL_EXAMPLE) :]) == {0xFF}


def test_end_of_categories_reports_the_end_only_once_reached() -> None:
    assert end_of_categories(SIITOOL_EXAMPLE) == len(SIITOOL_EXAMPLE)
    assert end_of_categories(SIITOOL_EXAMPLE + b"\xff" * 100) == len(SIITOOL_EXAMPLE)
    for cut in (0, 100, FIXED_AREA_SIZE, FIXED_AREA_SIZE + 3, SIITOOL_TXPDO_OFFSET + 10, SIITOOL_END_OFFSET + 1):
        assert end_of_categories(SIITOOL_EXAMPLE[:cut]) is None


# ------------------------------------------------------------------- hand-written layouts
def test_sync_manager_layout() -> None:
    # ETG.1000.6 Table 24 / SOEM ecx_siiSM: start u16, length u16, control, status, enable, type.
    sm = SiiSyncManager(0x1000, 0x0080, 0x26, SyncManagerEnable.ENABLE, SyncManagerType.MAILBOX_OUT)
    assert sm.encode() == bytes.fromhex("0010 8000 26 00 01 01".replace(" ", ""))


def test_pdo_layout() -> None:
    # ETG.1000.6 Tables 25/26 (SOEM ecx_siiPDO, IgH ec_slave_fetch_sii_pdos): header index,
    # entry count, SyncM, DC sync, name index, flags; entry index, subindex, name, type, bits, flags.
    pdo = SiiPdo(
        0x1A00,
        (SiiPdoEntry(0x6000, 0x01, 1, data_type=0x01, name_idx=5),),
        sync_manager=3,
        name_idx=4,
        flags=PdoFlags.MANDATORY | PdoFlags.FIXED_CONTENT,
    )
    assert pdo.encode() == bytes.fromhex("001a 01 03 00 04 1100" "0060 01 05 01 01 0000".replace(" ", ""))
    decoded, end = SiiPdo.decode_prefix(pdo.encode() + b"\x00\x00", 0)
    assert decoded == pdo and end == pdo.size == 16


def test_general_layout_offsets() -> None:
    # IgH ec_slave_fetch_sii_general: CoE at 0x05, flags at 0x0B, signed EBus current at 0x0C;
    # ETG.2010: GroupIdx duplicate 0x0E, physical ports 0x10 (nibbles), memory address 0x12.
    general = SiiGeneral(
        group_idx=1,
        name_idx=2,
        coe_details=CoeDetails.ENABLE_SDO | CoeDetails.ENABLE_SDO_COMPLETE_ACCESS,
        flags=GeneralFlags.ENABLE_NOT_LRW,
        ebus_current=-100,
        group_idx_dup=1,
        physical_ports=(PhysicalPortType.EBUS, PhysicalPortType.MII, 0, PhysicalPortType.FAST_HOT_CONNECT),
        physical_memory_address=0x0134,
    )
    data = general.encode()
    assert len(data) == 32
    assert data[:4] == b"\x01\x00\x00\x02"
    assert data[0x05] == 0x21 and data[0x0B] == 0x02
    assert data[0x0C:0x0E] == b"\x9c\xff"
    assert data[0x0E] == 1
    assert data[0x10:0x14] == b"\x13\x40\x34\x01"
    assert data[0x14:] == bytes(12)


def test_dc_layout() -> None:
    # libethercat ec_eeprom_cat_dc_t / acontis ESC_SII_CAT_DC_*: cycle u32 @0, shift0 @4, shift1 @8,
    # Sync1 factor @0x0C, AssignActivate @0x0E, Sync0 factor @0x10, name @0x12, desc @0x13.
    mode = SiiDcOpMode(1_000_000, -500, 0, 0, 0x0300, 1, name_idx=3, desc_idx=4)
    assert mode.encode() == struct.pack("<IiihHhBB", 1_000_000, -500, 0, 0, 0x0300, 1, 3, 4) + bytes(4)
    assert SiiDcOpMode.SIZE == 24


def test_category_header_layout_and_vendor_bit() -> None:
    assert SiiCategoryHeader(CategoryType.STRINGS, 0x4C).encode() == b"\x0a\x00\x4c\x00"
    assert SiiCategoryHeader.decode(b"\x1e\x00\x10\x00") == SiiCategoryHeader(CategoryType.GENERAL, 0x10)
    assert SiiCategoryHeader(0x8001, 0).vendor_specific
    assert not SiiCategoryHeader(CategoryType.DC, 0).vendor_specific
    assert SiiCategoryHeader.decode(b"\x34\x12\x02\x00").category_type == 0x1234


def test_eeprom_size_word_counts_kibit_minus_one() -> None:
    assert SiiInfo(eeprom_size=0).eeprom_bytes == EEPROM_SIZE_UNIT == 128
    assert SiiInfo(eeprom_size=0x000F).eeprom_bytes == 2048


def test_strings_encoding() -> None:
    assert encode_strings(("AB", "")) == b"\x02\x02AB\x00\x00"
    assert encode_strings(("AB",)) == b"\x01\x02AB"
    assert encode_strings(("ABC",)) == b"\x01\x03ABC\x00"  # padded to a whole word
    assert decode_strings(b"\x01\x02\xe9\xff\x00") == ("\xe9\xff",)  # latin-1, never fails


def test_fmmu_padding_and_raw_values() -> None:
    assert encode_fmmus((FmmuUsage.OUTPUTS, FmmuUsage.INPUTS, FmmuUsage.SYNC_MANAGER_STATUS)) == b"\x01\x02\x03\x00"
    assert decode_fmmus(b"\x01\x02\x03\x00") == (1, 2, 3, FmmuUsage.UNUSED)
    assert decode_fmmus(b"\x01\xff") == (FmmuUsage.OUTPUTS, 0xFF)


# ------------------------------------------------------------------------- image behaviour
def _image_bytes(*categories: bytes, info: SiiInfo | None = None) -> bytes:
    return (info or SiiInfo()).encode() + b"".join(categories) + b"\xff\xff"


def test_string_lookup() -> None:
    image = SiiImage(strings=("one", "two"))
    assert image.string(0) == ""
    assert image.string(2) == "two"
    with pytest.raises(ProtocolError, match="string index 3 out of range"):
        image.string(3)
    with pytest.raises(ValueError):
        image.string(256)


def test_truncated_category_names_category_and_word_address() -> None:
    truncated = SIITOOL_EXAMPLE[: SIITOOL_TXPDO_OFFSET + 12]
    with pytest.raises(ProtocolError) as info:
        SiiImage.parse(truncated)
    assert "TXPDO" in str(info.value) and "0x00B5" in str(info.value)


def test_truncated_header_is_an_error() -> None:
    with pytest.raises(ProtocolError, match="0x00B5"):
        SiiImage.parse(SIITOOL_EXAMPLE[: SIITOOL_TXPDO_OFFSET + 2])


def test_malformed_category_error_points_into_the_image() -> None:
    image = bytearray(SIITOOL_EXAMPLE)
    image[SIITOOL_TXPDO_OFFSET + 2] = 0x0B  # TXPDO shrinks to 11 words: 2nd entry is cut
    with pytest.raises(ProtocolError) as info:
        SiiImage.parse(bytes(image))
    assert "TXPDO category at word 0x00B5" in str(info.value)
    assert info.value.offset == SIITOOL_TXPDO_OFFSET + 4 + 8


def test_parse_stops_at_end_of_data_without_end_marker() -> None:
    data = SIITOOL_EXAMPLE[:SIITOOL_TXPDO_OFFSET]
    image = SiiImage.parse(data)
    assert image.tx_pdos == () and len(image.sync_managers) == 4
    assert image.string(4) == "SNCN SOMANET COM ECAT"


def test_parse_ignores_everything_after_end() -> None:
    assert SiiImage.parse(SIITOOL_EXAMPLE + b"\x00\x01\x02\x03") == SiiImage.parse(SIITOOL_EXAMPLE)


def test_fixed_area_too_short() -> None:
    with pytest.raises(ProtocolError, match="fixed area"):
        SiiImage.parse(SIITOOL_EXAMPLE[:127])


def test_second_general_category_is_malformed() -> None:
    general = SiiRawCategory(CategoryType.GENERAL, SiiGeneral().encode()).encode()
    with pytest.raises(ProtocolError, match="second category"):
        SiiImage.parse(_image_bytes(general, general))


def test_repeated_list_categories_are_concatenated() -> None:
    sm0 = SiiSyncManager(0x1000, 0x80, 0x26, sync_manager_type=SyncManagerType.MAILBOX_OUT)
    sm1 = SiiSyncManager(0x1080, 0x80, 0x22, sync_manager_type=SyncManagerType.MAILBOX_IN)
    first = SiiRawCategory(CategoryType.SYNC_MANAGER, sm0.encode()).encode()
    second = SiiRawCategory(CategoryType.SYNC_MANAGER, sm1.encode()).encode()
    assert SiiImage.parse(_image_bytes(first, second)).sync_managers == (sm0, sm1)


def test_unknown_and_vendor_categories_are_preserved() -> None:
    extra = (
        SiiRawCategory(CategoryType.DATA_TYPES, b"\x01\x02"),
        SiiRawCategory(CategoryType.FMMU_EX, b"\x00\x01\x02\x00"),
        SiiRawCategory(0x0800, b""),
        SiiRawCategory(0x8123, b"\xaa\xbb\xcc\xdd"),
    )
    image = SiiImage(strings=("x",), general=SiiGeneral(name_idx=1), extra_categories=extra)
    built = image.build()
    # Decoding reports the checksum word that build computed.
    assert SiiImage.parse(built) == replace(image, info=replace(image.info, checksum=image.info.expected_checksum))
    # Written in ascending type order: STRINGS(10), DATA_TYPES(20), GENERAL(30), FMMU_EX(42), ...
    offset, order = FIXED_AREA_SIZE, []
    while (category_type := struct.unpack_from("<H", built, offset)[0]) != CategoryType.END:
        order.append(category_type)
        offset += 4 + 2 * struct.unpack_from("<H", built, offset + 2)[0]
    assert order == [10, 20, 30, 42, 0x0800, 0x8123]


def test_build_rejects_extra_category_of_a_typed_type() -> None:
    with pytest.raises(ValueError, match="STRINGS"):
        SiiImage(extra_categories=(SiiRawCategory(CategoryType.STRINGS, b"\x00\x00"),)).build()


def test_build_rejects_content_larger_than_the_eeprom() -> None:
    image = SiiImage(info=SiiInfo(eeprom_size=0), strings=("a",))  # 128 bytes: fixed area only
    with pytest.raises(ValueError, match="do not fit"):
        image.build()


def test_minimal_image_is_fixed_area_and_end_only() -> None:
    built = SiiImage(info=SiiInfo(eeprom_size=1)).build()
    assert len(built) == 256
    assert built[FIXED_AREA_SIZE : FIXED_AREA_SIZE + 2] == b"\xff\xff"
    assert end_of_categories(built) == FIXED_AREA_SIZE + 2
    with pytest.raises(ValueError, match="do not fit"):
        SiiImage(info=SiiInfo(eeprom_size=0)).build()  # END needs 2 bytes past the fixed area


@pytest.mark.parametrize(
    "build",
    [
        lambda: SiiInfo(vendor_id=1 << 32).encode(),
        lambda: SiiInfo(pdi_control=-1).encode(),
        lambda: SiiInfo(reserved_0x001d=b"").encode(),
        lambda: SiiInfo(checksum=0x10000).encode(),
        lambda: SiiGeneral(ebus_current=0x8000).encode(),
        lambda: SiiGeneral(physical_ports=(0, 0, 0)).encode(),
        lambda: SiiGeneral(physical_ports=(16, 0, 0, 0)).encode(),
        lambda: SiiGeneral(reserved=bytes(11)).encode(),
        lambda: SiiSyncManager(0x10000, 0, 0).encode(),
        lambda: SiiPdoEntry(0x6000, 256, 8).encode(),
        lambda: SiiPdo(0x1A00, (SiiPdoEntry(0x6000, 1, 8),) * 256).encode(),
        lambda: SiiDcOpMode(shift_time_sync0=1 << 31).encode(),
        lambda: SiiDcOpMode(reserved=b"").encode(),
        lambda: encode_strings(("€",)),
        lambda: encode_strings(("x" * 256,)),
        lambda: encode_strings(("",) * 256),
        lambda: encode_fmmus((256,)),
        lambda: SiiRawCategory(0x0800, b"\x00").encode(),
        lambda: SiiCategoryHeader(0x10000, 0).encode(),
    ],
)
def test_encoders_reject_out_of_range_values(build) -> None:
    with pytest.raises(ValueError):
        build()


def test_decoders_accept_bytearray_and_memoryview() -> None:
    for wrap in (bytearray, memoryview):
        assert SiiImage.parse(wrap(SIITOOL_EXAMPLE)) == SiiImage.parse(SIITOOL_EXAMPLE)
        assert end_of_categories(wrap(SIITOOL_EXAMPLE)) == len(SIITOOL_EXAMPLE)


# ------------------------------------------------------------------------------ strategies
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
i16 = st.integers(-0x8000, 0x7FFF)
i32 = st.integers(-0x8000_0000, 0x7FFF_FFFF)


def even_bytes(min_words: int = 0, max_words: int = 8) -> st.SearchStrategy[bytes]:
    return st.integers(min_words, max_words).flatmap(lambda n: st.binary(min_size=2 * n, max_size=2 * n))


def sii_infos(eeprom_size: st.SearchStrategy[int] = u16) -> st.SearchStrategy[SiiInfo]:
    return st.builds(
        SiiInfo,
        pdi_control=u16,
        pdi_configuration=u16,
        sync_impulse_length=u16,
        pdi_configuration2=u16,
        configured_station_alias=u16,
        vendor_id=u32,
        product_code=u32,
        revision_number=u32,
        serial_number=u32,
        execution_delay=u16,
        port0_delay=u16,
        port1_delay=u16,
        bootstrap_receive_mailbox_offset=u16,
        bootstrap_receive_mailbox_size=u16,
        bootstrap_send_mailbox_offset=u16,
        bootstrap_send_mailbox_size=u16,
        standard_receive_mailbox_offset=u16,
        standard_receive_mailbox_size=u16,
        standard_send_mailbox_offset=u16,
        standard_send_mailbox_size=u16,
        mailbox_protocols=u16.map(MailboxProtocols),
        eeprom_size=eeprom_size,
        version=u16,
        checksum=u16,
        reserved_0x0005=st.binary(min_size=4, max_size=4),
        reserved_0x0013=u16,
        reserved_0x001d=st.binary(min_size=66, max_size=66),
    )


latin1_text = st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=40)
string_tables = st.lists(latin1_text, max_size=12).map(tuple)

generals = st.builds(
    SiiGeneral,
    group_idx=u8,
    image_idx=u8,
    order_idx=u8,
    name_idx=u8,
    physical_layer=u8,
    coe_details=u8.map(CoeDetails),
    foe_details=u8.map(FoeDetails),
    eoe_details=u8.map(EoeDetails),
    soe_channels=u8,
    ds402_channels=u8,
    sysman_class=u8,
    flags=u8.map(GeneralFlags),
    ebus_current=i16,
    group_idx_dup=u8,
    reserved_0x0f=u8,
    physical_ports=st.tuples(*[st.integers(0, 15)] * 4),
    physical_memory_address=u16,
    reserved=even_bytes(6, 10),
)
fmmu_tables = st.lists(st.one_of(st.sampled_from(FmmuUsage), u8), max_size=4).map(
    lambda usages: tuple(usages + [FmmuUsage.UNUSED] * (len(usages) % 2))
)
sync_managers = st.builds(
    SiiSyncManager,
    u16,
    u16,
    u8,
    u8.map(SyncManagerEnable),
    st.one_of(st.sampled_from(SyncManagerType), u8),
    u8,
)
pdo_entries = st.builds(SiiPdoEntry, u16, u8, u8, u8, u8, u16)
pdos = st.builds(
    SiiPdo, u16, st.lists(pdo_entries, max_size=4).map(tuple), u8, u8, u8, u16.map(PdoFlags)
)
dc_op_modes = st.builds(SiiDcOpMode, u32, i32, i32, i16, u16, i16, u8, u8, st.binary(min_size=4, max_size=4))
raw_types = st.integers(0, 0xFFFE).filter(lambda t: t not in TYPED_CATEGORIES)
raw_categories = st.builds(SiiRawCategory, raw_types, even_bytes())
category_headers = st.builds(SiiCategoryHeader, u16, u16)

images = st.builds(
    SiiImage,
    info=sii_infos(eeprom_size=st.integers(0x3F, 0x5F)),
    strings=string_tables,
    general=st.none() | generals,
    fmmus=fmmu_tables,
    sync_managers=st.lists(sync_managers, max_size=4).map(tuple),
    tx_pdos=st.lists(pdos, max_size=3).map(tuple),
    rx_pdos=st.lists(pdos, max_size=3).map(tuple),
    dc_op_modes=st.lists(dc_op_modes, max_size=2).map(tuple),
    extra_categories=st.lists(raw_categories, max_size=3).map(
        lambda cats: tuple(sorted(cats, key=lambda c: c.category_type))
    ),
)

ROUND_TRIP = settings(max_examples=60, deadline=None)


# ----------------------------------------------------------------------------- round trips
@ROUND_TRIP
@given(sii_infos())
def test_info_round_trip(info: SiiInfo) -> None:
    encoded = info.encode()
    assert len(encoded) == FIXED_AREA_SIZE
    assert SiiInfo.decode(encoded) == info


@ROUND_TRIP
@given(sii_infos())
def test_info_computed_checksum_round_trip(info: SiiInfo) -> None:
    decoded = SiiInfo.decode(replace(info, checksum=None).encode())
    assert decoded.checksum_ok and decoded.checksum == info.expected_checksum
    assert replace(decoded, checksum=info.checksum) == info


@ROUND_TRIP
@given(category_headers)
def test_category_header_round_trip(header: SiiCategoryHeader) -> None:
    assert SiiCategoryHeader.decode(header.encode()) == header


@ROUND_TRIP
@given(raw_categories)
def test_raw_category_round_trip(category: SiiRawCategory) -> None:
    assert SiiRawCategory.decode(category.encode()) == category


@ROUND_TRIP
@given(string_tables)
def test_strings_round_trip(strings: tuple[str, ...]) -> None:
    encoded = encode_strings(strings)
    assert len(encoded) % 2 == 0
    assert decode_strings(encoded) == strings


@ROUND_TRIP
@given(generals)
def test_general_round_trip(general: SiiGeneral) -> None:
    assert SiiGeneral.decode(general.encode()) == general


@ROUND_TRIP
@given(fmmu_tables)
def test_fmmu_round_trip(usages: tuple[int, ...]) -> None:
    assert decode_fmmus(encode_fmmus(usages)) == usages


@ROUND_TRIP
@given(st.lists(sync_managers, max_size=5).map(tuple))
def test_sync_manager_round_trip(sms: tuple[SiiSyncManager, ...]) -> None:
    for sm in sms:
        assert SiiSyncManager.decode(sm.encode()) == sm
    assert SiiSyncManager.decode_all(SiiSyncManager.encode_all(sms)) == sms


@ROUND_TRIP
@given(pdo_entries)
def test_pdo_entry_round_trip(entry: SiiPdoEntry) -> None:
    assert SiiPdoEntry.decode(entry.encode()) == entry


@ROUND_TRIP
@given(st.lists(pdos, max_size=4).map(tuple))
def test_pdo_round_trip(pdo_list: tuple[SiiPdo, ...]) -> None:
    for pdo in pdo_list:
        assert SiiPdo.decode(pdo.encode()) == pdo
        assert len(pdo.encode()) == pdo.size
    assert SiiPdo.decode_all(SiiPdo.encode_all(pdo_list)) == pdo_list


@ROUND_TRIP
@given(st.lists(dc_op_modes, max_size=3).map(tuple))
def test_dc_round_trip(modes: tuple[SiiDcOpMode, ...]) -> None:
    for mode in modes:
        assert SiiDcOpMode.decode(mode.encode()) == mode
    assert SiiDcOpMode.decode_all(SiiDcOpMode.encode_all(modes)) == modes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images)
def test_image_round_trip(image: SiiImage) -> None:
    built = image.build()
    assert len(built) == image.info.eeprom_bytes
    assert SiiImage.parse(built) == image
    assert SiiImage.parse(built).build() == built
    end = end_of_categories(built)
    assert end is not None and built[end - 2 : end] == b"\xff\xff"
    assert SiiImage.parse(built[:end]) == image


# ----------------------------------------------------------------------------------- fuzz
def _fuzz_targets():
    sm = SiiSyncManager(0x1000, 0x80, 0x26, sync_manager_type=SyncManagerType.MAILBOX_OUT)
    pdo = SiiPdo(0x1A00, (SiiPdoEntry(0x6000, 1, 16), SiiPdoEntry(0x6000, 2, 16)), sync_manager=3)
    mode = SiiDcOpMode(1_000_000, 0, 0, 0, 0x0300, 1, 1, 0)
    return [
        ("SiiInfo.decode", SiiInfo.decode, SIITOOL_EXAMPLE[:FIXED_AREA_SIZE]),
        ("SiiCategoryHeader.decode", SiiCategoryHeader.decode, b"\x0a\x00\x4c\x00"),
        ("SiiRawCategory.decode", SiiRawCategory.decode, SiiRawCategory(0x0800, b"\x01\x02\x03\x04").encode()),
        ("decode_strings", decode_strings, encode_strings(("EL2004", "Term", "x" * 20))),
        ("SiiGeneral.decode", SiiGeneral.decode, SiiGeneral(name_idx=1, ebus_current=-5).encode()),
        ("decode_fmmus", decode_fmmus, b"\x01\x02\x03\xff"),
        ("SiiSyncManager.decode", SiiSyncManager.decode, sm.encode()),
        ("SiiSyncManager.decode_all", SiiSyncManager.decode_all, sm.encode() * 4),
        ("SiiPdoEntry.decode", SiiPdoEntry.decode, pdo.entries[0].encode()),
        ("SiiPdo.decode", SiiPdo.decode, pdo.encode()),
        ("SiiPdo.decode_all", SiiPdo.decode_all, pdo.encode() * 3),
        ("SiiDcOpMode.decode", SiiDcOpMode.decode, mode.encode()),
        ("SiiDcOpMode.decode_all", SiiDcOpMode.decode_all, mode.encode() * 2),
        ("SiiImage.parse", SiiImage.parse, SIITOOL_EXAMPLE),
        ("end_of_categories", end_of_categories, SIITOOL_EXAMPLE),
    ]


FUZZ_TARGETS = _fuzz_targets()
FUZZ_IDS = [name for name, _, _ in FUZZ_TARGETS]
FUZZ_ITERATIONS = 20_000




def _decode_expecting_only_protocol_errors(decode, data: bytes) -> bool:
    """Run ``decode``; True if it raised ProtocolError. Any other exception fails the test."""
    try:
        decode(data)
    except ProtocolError:
        return True
    return False


@pytest.mark.parametrize(("name", "decode", "sample"), FUZZ_TARGETS, ids=FUZZ_IDS)
def test_fuzz_deterministic(name: str, decode, sample: bytes) -> None:
    rng = random.Random(f"sii-{name}")
    outcomes = {_decode_expecting_only_protocol_errors(decode, mutate(rng, sample)) for _ in range(FUZZ_ITERATIONS)}
    if name in ("decode_fmmus", "end_of_categories"):
        assert outcomes == {False}  # these accept any bytes
    else:
        assert outcomes == {True, False}  # both paths were exercised


@pytest.mark.parametrize(("name", "decode", "sample"), FUZZ_TARGETS, ids=FUZZ_IDS)
@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=600))
def test_fuzz_random_bytes(name: str, decode, sample: bytes, data: bytes) -> None:
    _decode_expecting_only_protocol_errors(decode, data)
    _decode_expecting_only_protocol_errors(decode, sample + data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images, st.data())
def test_fuzz_mutated_built_images(image: SiiImage, data: st.DataObject) -> None:
    built = bytearray(image.build())
    end = end_of_categories(built)
    assert end is not None
    flips = data.draw(st.lists(st.tuples(st.integers(0, end - 1), st.integers(0, 7)), min_size=1, max_size=4))
    for position, bit in flips:
        built[position] ^= 1 << bit
    cut = data.draw(st.integers(0, len(built)))
    _decode_expecting_only_protocol_errors(SiiImage.parse, bytes(built[:cut]))
    end_of_categories(bytes(built[:cut]))
