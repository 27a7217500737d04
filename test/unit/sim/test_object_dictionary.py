"""The simulated object dictionary: entries, access rights, PDO procedure, complete access, layout.

Expected abort codes are written out as numbers from ETG.1000.6 Table 41 / CiA 301, and the
complete access layout from the SSC (SI0 as 16 bits) and SOES (bit packing), independently of
the module's tables.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import SdoAbort
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.coe import DataType, ObjectAccess, ObjectCode, OdListType
from ethercat_master.sim.object_dictionary import (
    READ_ONLY,
    READ_WRITE,
    READ_WRITE_PREOP,
    WRITE_ONLY,
    ChangeSource,
    MappedEntry,
    ObjectDictionary,
    OdEntry,
    OdObject,
    SyncMode,
    SyncModeSupport,
    ValueChange,
    array,
    device_name,
    device_type,
    error_register,
    identity,
    pdo_assignment,
    pdo_mapping,
    pdo_mapping_value,
    record,
    split_pdo_mapping_value,
    sync_manager_parameter,
    sync_manager_types,
    var,
)

RX = ObjectAccess.RXPDO_MAPPABLE
TX = ObjectAccess.TXPDO_MAPPABLE
U16, U32 = struct.Struct("<H"), struct.Struct("<I")


class State:
    """The AL state the ESC would report; tests change it."""

    def __init__(self) -> None:
        self.value = ALState.PREOP

    def __call__(self) -> ALState:
        return self.value


def make_od(state: State, *, limit: int = 1024) -> ObjectDictionary:
    """A drive-like dictionary: identity, two mappable objects each way, PDO objects."""
    return ObjectDictionary(
        state,
        [
            device_type(0x00020192),
            error_register(),
            device_name("Simulated drive"),
            identity(0x0000_0ABC, 0x0001_0002, 3, 0x1234_5678),
            var(0x6040, "Controlword", DataType.UNSIGNED16, 0, access=READ_WRITE | RX),
            var(0x6060, "Modes of operation", DataType.INTEGER8, 0, access=READ_WRITE | RX),
            var(0x607A, "Target position", DataType.INTEGER32, 0, access=READ_WRITE | RX),
            var(0x6041, "Statusword", DataType.UNSIGNED16, 0, access=READ_ONLY | TX),
            var(0x6064, "Position actual", DataType.INTEGER32, 0, access=READ_ONLY | TX),
            pdo_mapping(0x1600, "RxPDO 1", [pdo_mapping_value(0x6040, 0, 16)], capacity=4),
            pdo_mapping(0x1601, "RxPDO 2", [pdo_mapping_value(0x607A, 0, 32)], capacity=4),
            pdo_mapping(0x1A00, "TxPDO 1", [pdo_mapping_value(0x6041, 0, 16)], capacity=4),
            pdo_mapping(0x1A01, "TxPDO 2", [pdo_mapping_value(0x6064, 0, 32)], capacity=4),
            sync_manager_types([1, 2, 3, 4]),
            pdo_assignment(2, [0x1600], capacity=2),
            pdo_assignment(3, [0x1A00], capacity=2),
            sync_manager_parameter(2),
            sync_manager_parameter(
                3, supported=SyncModeSupport.FREE_RUN | SyncModeSupport.SYNCHRON
            ),
        ],
        process_data_limit=limit,
    )


@pytest.fixture
def state() -> State:
    return State()


@pytest.fixture
def od(state: State) -> ObjectDictionary:
    return make_od(state)


def code_of(call, *args, **kwargs) -> int:
    """The abort code ``call`` raises."""
    with pytest.raises(SdoAbort) as info:
        call(*args, **kwargs)
    return info.value.code


# ------------------------------------------------------------------------------- model
def test_entry_takes_the_size_of_fixed_types_and_a_capacity_for_strings() -> None:
    assert OdEntry(0, "x", DataType.INTEGER24, READ_ONLY, -5).bit_length == 24
    assert OdEntry(0, "b", DataType.BIT3, READ_ONLY, 7).byte_size == 1
    assert OdEntry(0, "d", DataType.DOMAIN, READ_ONLY, b"").bit_length == 0
    with pytest.raises(ValueError, match="capacity"):
        OdEntry(0, "s", DataType.VISIBLE_STRING, READ_ONLY, "abc")
    with pytest.raises(ValueError, match="has 16 bits"):
        OdEntry(0, "w", DataType.UNSIGNED16, READ_ONLY, 0, bit_length=8)
    with pytest.raises(ValueError, match="no minimum"):
        OdEntry(0, "f", DataType.BOOLEAN, READ_ONLY, False, minimum=False)
    with pytest.raises(ValueError, match="does not fit"):
        OdEntry(0, "n", DataType.UNSIGNED8, READ_ONLY, 256)
    with pytest.raises(ValueError, match="capacity 2"):
        OdEntry(0, "s", DataType.VISIBLE_STRING, READ_ONLY, "abc", bit_length=16)
    with pytest.raises(ValueError, match="no basic type"):
        OdEntry(0, "r", DataType.IDENTITY, READ_ONLY, 0)


def test_objects_check_their_shape() -> None:
    entry = OdEntry(0, "v", DataType.UNSIGNED8, READ_ONLY, 1)
    with pytest.raises(ValueError, match="subindex 0 only"):
        OdObject(
            0x2000,
            "v",
            ObjectCode.VAR,
            DataType.UNSIGNED8,
            {0: entry, 1: OdEntry(1, "w", DataType.UNSIGNED8, READ_ONLY, 1)},
        )
    mixed = array(0x2001, "a", DataType.UNSIGNED8, [1, 2])
    mixed.entries[2] = OdEntry(2, "x", DataType.UNSIGNED16, READ_ONLY, 0)
    with pytest.raises(ValueError, match="array's type"):
        OdObject(mixed.index, mixed.name, mixed.object_code, mixed.data_type, mixed.entries)
    with pytest.raises(ValueError, match="above the last subindex"):
        array(0x2002, "a", DataType.UNSIGNED8, [1, 2], count=3)
    with pytest.raises(ValueError, match="distinct"):
        record(0x2003, "r", [entry])
    with pytest.raises(ValueError, match="already"):
        ObjectDictionary(State(), [device_type(1), device_type(2)])


def test_standard_objects_have_the_specified_layout(od: ObjectDictionary) -> None:
    ident = od.find(0x1018)
    assert ident.object_code == ObjectCode.RECORD and ident.data_type == DataType.IDENTITY
    assert [od.get(0x1018, sub) for sub in range(5)] == [4, 0x0ABC, 0x0001_0002, 3, 0x1234_5678]
    assert od.find(0x1C12).data_type == DataType.UNSIGNED16
    assert od.find(0x1C00).object_code == ObjectCode.ARRAY
    assert [od.get(0x1C00, sub) for sub in range(5)] == [4, 1, 2, 3, 4]
    sync = od.find(0x1C32)
    assert sync.data_type == DataType.SM_SYNCHRONISATION and sync.count == 0x20
    assert sync.entries[0x20].data_type == DataType.BOOLEAN
    assert od.find(0x1600).data_type == DataType.PDO_MAPPING
    assert od.find(0x1008).entries[0].bit_length == 8 * len("Simulated drive")
    assert split_pdo_mapping_value(pdo_mapping_value(0x6040, 2, 16)) == (0x6040, 2, 16)
    assert pdo_mapping_value(0x6040, 2, 16) == 0x60400210
    with pytest.raises(ValueError):
        pdo_mapping(0x2000, "not a PDO", [])
    with pytest.raises(ValueError):
        pdo_assignment(32, [])


# ----------------------------------------------------------------------- access rights
@pytest.mark.parametrize(
    "access, al_state, read, write",
    [
        (READ_ONLY, ALState.OP, None, 0x06010002),
        (WRITE_ONLY, ALState.PREOP, 0x06010001, None),
        (READ_WRITE_PREOP, ALState.PREOP, None, None),
        (READ_WRITE_PREOP, ALState.SAFEOP, None, 0x08000022),
        (READ_WRITE_PREOP, ALState.OP, None, 0x08000022),
        (ObjectAccess.READ_OP | ObjectAccess.WRITE_OP, ALState.SAFEOP, 0x08000022, 0x08000022),
        (ObjectAccess.READ_OP | ObjectAccess.WRITE_OP, ALState.OP, None, None),
        (READ_WRITE, ALState.INIT, None, None),
    ],
)
def test_access_rights_follow_the_al_state(state: State, access, al_state, read, write) -> None:
    od = ObjectDictionary(state, [var(0x2000, "v", DataType.UNSIGNED8, 7, access=access)])
    state.value = al_state
    if read is None:
        assert od.sdo_upload(0x2000, 0) == b"\x07"
    else:
        assert code_of(od.sdo_upload, 0x2000, 0) == read
    if write is None:
        od.sdo_download(0x2000, 0, b"\x09")
        assert od.get(0x2000, 0) == 9
    else:
        assert code_of(od.sdo_download, 0x2000, 0, b"\x09") == write
        assert od.get(0x2000, 0) == 7


def test_missing_objects_and_subindices(od: ObjectDictionary) -> None:
    assert code_of(od.sdo_upload, 0x2FFF, 0) == 0x06020000
    assert code_of(od.sdo_upload, 0x1018, 5) == 0x06090011
    assert code_of(od.sdo_download, 0x1C32, 14, b"\0\0") == 0x06090011
    assert code_of(od.sdo_upload_complete, 0x2FFF, 0) == 0x06020000


# -------------------------------------------------------------------- value validation
@pytest.fixture
def values(state: State) -> ObjectDictionary:
    return ObjectDictionary(
        state,
        [
            var(0x2000, "u16", DataType.UNSIGNED16, 5, access=READ_WRITE, minimum=2, maximum=1000),
            var(0x2001, "i8", DataType.INTEGER8, 0, access=READ_WRITE, minimum=-10),
            var(0x2002, "bits", DataType.BIT3, 0, access=READ_WRITE),
            var(0x2003, "flag", DataType.BOOLEAN, False, access=READ_WRITE),
            var(0x2004, "text", DataType.VISIBLE_STRING, "", access=READ_WRITE, bit_length=8 * 8),
            var(0x2005, "blob", DataType.DOMAIN, b"", access=READ_WRITE),
            var(0x2006, "wide", DataType.UNICODE_STRING, "", access=READ_WRITE, bit_length=8 * 8),
            var(0x2007, "real", DataType.REAL32, 0.0, access=READ_WRITE, maximum=1.5),
            var(0x2008, "u64", DataType.UNSIGNED64, 0, access=READ_WRITE),
        ],
    )


@pytest.mark.parametrize(
    "index, data, code",
    [
        (0x2000, b"\x01", 0x06070013),
        (0x2000, b"\x01\x00\x00", 0x06070012),
        (0x2000, U16.pack(1001), 0x06090031),
        (0x2000, U16.pack(1), 0x06090032),
        (0x2001, bytes([0xF5]), 0x06090032),  # -11
        (0x2002, b"\x08", 0x06090030),
        (0x2003, b"\x02", 0x06090030),
        (0x2004, b"123456789", 0x06070012),
        (0x2006, b"abc", 0x06070010),
        (0x2007, struct.pack("<f", 2.0), 0x06090031),
    ],
)
def test_refused_values(values: ObjectDictionary, index: int, data: bytes, code: int) -> None:
    before = values.get(index, 0)
    assert code_of(values.sdo_download, index, 0, data) == code
    assert values.get(index, 0) == before


def test_accepted_values(values: ObjectDictionary) -> None:
    values.sdo_download(0x2000, 0, U16.pack(1000))
    values.sdo_download(0x2002, 0, b"\x07")
    values.sdo_download(0x2003, 0, b"\x01")
    values.sdo_download(0x2004, 0, b"abc")
    values.sdo_download(0x2005, 0, bytes(range(200)))
    values.sdo_download(0x2006, 0, "hé".encode("utf-16-le"))
    assert [values.get(0x2000 + n, 0) for n in (0, 2, 3, 4, 6)] == [1000, 7, True, "abc", "hé"]
    assert values.sdo_upload(0x2004, 0) == b"abc"  # a string is as long as it is
    assert values.sdo_upload(0x2005, 0) == bytes(range(200))


def test_expedited_without_size_takes_the_entry_size(values: ObjectDictionary) -> None:
    values.sdo_download(0x2000, 0, b"\x10\x00\xee\xee", size_indicated=False)
    assert values.get(0x2000, 0) == 16
    assert code_of(values.sdo_download, 0x2008, 0, b"\0\0\0\0", size_indicated=False) == 0x06070013


def test_check_sdo_download_refuses_sizes_at_the_initiate(values: ObjectDictionary) -> None:
    values.check_sdo_download(0x2004, 0, 8, complete_access=False)
    assert code_of(values.check_sdo_download, 0x2004, 0, 9, complete_access=False) == 0x06070012
    assert code_of(values.check_sdo_download, 0x2008, 0, 4, complete_access=False) == 0x06070013
    values.check_sdo_download(0x2005, 0, 100_000, complete_access=False)


def test_check_sdo_download_with_complete_access(od: ObjectDictionary) -> None:
    od.check_sdo_download(0x1C12, 0, 6, complete_access=True)
    assert code_of(od.check_sdo_download, 0x1C12, 0, 7, complete_access=True) == 0x06070012
    assert code_of(od.check_sdo_download, 0x1008, 0, 4, complete_access=True) == 0x06010000


# ----------------------------------------------------------------- listeners and local
def test_listeners_hear_master_and_local_writes(od: ObjectDictionary) -> None:
    heard: list[ValueChange] = []
    od.subscribe(0x6040, 0, heard.append)
    od.sdo_download(0x6040, 0, U16.pack(0x0F))
    od.sdo_download(0x6040, 0, U16.pack(0x0F))
    od.set(0x6040, 0, 0x80)
    assert heard == [
        ValueChange(0x6040, 0, 0, 0x0F, ChangeSource.SDO),
        ValueChange(0x6040, 0, 0x0F, 0x0F, ChangeSource.SDO),
        ValueChange(0x6040, 0, 0x0F, 0x80, ChangeSource.LOCAL),
    ]


def test_local_writes_ignore_access_but_not_types(od: ObjectDictionary) -> None:
    od.set(0x6041, 0, 0x0237)
    assert od.sdo_upload(0x6041, 0) == U16.pack(0x0237)
    with pytest.raises(ValueError):
        od.set(0x6041, 0, 1 << 16)
    with pytest.raises(KeyError, match="0x6041:01"):
        od.set(0x6041, 1, 0)
    with pytest.raises(KeyError):
        od.subscribe(0x7000, 0, print)


def test_sync_mode_accepts_only_supported_modes(od: ObjectDictionary) -> None:
    od.sdo_download(0x1C32, 1, U16.pack(SyncMode.SYNCHRON))
    assert code_of(od.sdo_download, 0x1C32, 1, U16.pack(SyncMode.DC_SYNC0)) == 0x06090030
    assert code_of(od.sdo_download, 0x1C32, 1, U16.pack(SyncMode.SM2_SYNCHRON)) == 0x06090030
    assert code_of(od.sdo_download, 0x1C32, 1, U16.pack(0x7)) == 0x06090030
    od.sdo_download(0x1C33, 1, U16.pack(SyncMode.SM2_SYNCHRON))
    assert od.get(0x1C32, 1) == SyncMode.SYNCHRON and od.get(0x1C33, 1) == 0x22
    assert code_of(od.sdo_download, 0x1C32, 4, U16.pack(0xF)) == 0x06010002


# ------------------------------------------------------------ PDO mapping and assignment
def test_mapping_entries_need_si0_zero_first(od: ObjectDictionary) -> None:
    new = U32.pack(pdo_mapping_value(0x6060, 0, 8))
    assert code_of(od.sdo_download, 0x1600, 1, new) == 0x06010003
    assert code_of(od.sdo_download, 0x1600, 2, new) == 0x06090011  # above SI0 = 1
    od.sdo_download(0x1600, 0, b"\x00")
    od.sdo_download(0x1600, 1, U32.pack(pdo_mapping_value(0x6040, 0, 16)))
    od.sdo_download(0x1600, 2, new)
    od.sdo_download(0x1600, 3, U32.pack(pdo_mapping_value(0, 0, 8)))  # a gap
    od.sdo_download(0x1600, 0, b"\x03")
    assert od.sdo_upload(0x1600, 0) == b"\x03"
    assert od.sdo_upload(0x1600, 2) == new


@pytest.mark.parametrize(
    "mapped",
    [
        pdo_mapping_value(0x7000, 0, 16),  # no such object
        pdo_mapping_value(0x6040, 1, 16),  # no such subindex
        pdo_mapping_value(0x6041, 0, 16),  # TxPDO-mappable only
        pdo_mapping_value(0x1008, 0, 8),  # not mappable at all
        pdo_mapping_value(0x6040, 0, 8),  # wrong bit length
    ],
)
def test_invalid_mapping_entries(od: ObjectDictionary, mapped: int) -> None:
    od.sdo_download(0x1600, 0, b"\x00")
    assert code_of(od.sdo_download, 0x1600, 1, U32.pack(mapped)) == 0x06040041


def test_mapping_activation_checks_entries_count_and_length(state: State) -> None:
    od = make_od(state, limit=6)
    od.sdo_download(0x1600, 0, b"\x00")
    assert code_of(od.sdo_download, 0x1600, 0, b"\x05") == 0x06090031  # capacity 4
    assert code_of(od.sdo_download, 0x1600, 0, b"\x02") == 0x06040041  # entry 2 is 0
    od.sdo_download(0x1600, 2, U32.pack(pdo_mapping_value(0x607A, 0, 32)))
    od.sdo_download(0x1600, 3, U32.pack(pdo_mapping_value(0x607A, 0, 32)))
    assert code_of(od.sdo_download, 0x1600, 0, b"\x03") == 0x06040042  # 80 bits > 6 octets
    od.sdo_download(0x1600, 0, b"\x02")
    assert od.get(0x1600, 0) == 2


def test_mapping_activation_checks_the_sync_manager_total(state: State) -> None:
    od = make_od(state, limit=6)
    od.sdo_download(0x1C12, 0, b"\x00")
    od.sdo_download(0x1C12, 2, U16.pack(0x1601))
    od.sdo_download(0x1C12, 0, b"\x02")  # 16 + 32 bits = 6 octets
    od.sdo_download(0x1600, 0, b"\x00")
    od.sdo_download(0x1600, 2, U32.pack(pdo_mapping_value(0x6060, 0, 8)))
    assert code_of(od.sdo_download, 0x1600, 0, b"\x02") == 0x06040042


def test_mapping_is_writable_in_preop_only(od: ObjectDictionary, state: State) -> None:
    state.value = ALState.SAFEOP
    assert code_of(od.sdo_download, 0x1600, 0, b"\x00") == 0x08000022
    assert code_of(od.sdo_download, 0x1C12, 0, b"\x00") == 0x08000022
    assert od.sdo_upload(0x1600, 1) == U32.pack(0x60400010)


def test_fixed_mapping_is_read_only(state: State) -> None:
    od = ObjectDictionary(state, [pdo_mapping(0x1A00, "fixed", [], capacity=1, writable=False)])
    assert code_of(od.sdo_download, 0x1A00, 0, b"\x00") == 0x06010002


def test_assignment_rules(od: ObjectDictionary) -> None:
    assert code_of(od.sdo_download, 0x1C12, 1, U16.pack(0x1601)) == 0x06010003
    od.sdo_download(0x1C12, 0, b"\x00")
    assert code_of(od.sdo_download, 0x1C12, 1, U16.pack(0x1A00)) == 0x06090030  # TxPDO on SM2
    assert code_of(od.sdo_download, 0x1C12, 1, U16.pack(0x1602)) == 0x06090030  # no such PDO
    assert code_of(od.sdo_download, 0x1C13, 1, U16.pack(0x1600)) == 0x06010003
    od.sdo_download(0x1C12, 2, U16.pack(0x1600))
    assert code_of(od.sdo_download, 0x1C12, 0, b"\x02") == 0x06090030  # 0x1600 twice
    od.sdo_download(0x1C12, 1, U16.pack(0x1601))
    od.sdo_download(0x1C12, 0, b"\x02")
    assert od.sync_manager_pdos(2).byte_length == 6


def test_assignment_total_length(state: State) -> None:
    od = make_od(state, limit=4)
    od.sdo_download(0x1C13, 0, b"\x00")
    od.sdo_download(0x1C13, 2, U16.pack(0x1A01))
    assert code_of(od.sdo_download, 0x1C13, 0, b"\x02") == 0x06040042


def test_layout_follows_the_assignment_and_mappings(od: ObjectDictionary) -> None:
    assert od.sync_manager_pdos(3).entries == (MappedEntry(0x6041, 0, 16, 0),)
    od.sdo_download(0x1A00, 0, b"\x00")
    od.sdo_download(0x1A00, 2, U32.pack(pdo_mapping_value(0, 0, 3)))
    od.sdo_download(0x1A00, 0, b"\x02")
    od.sdo_download(0x1C13, 0, b"\x00")
    od.sdo_download(0x1C13, 2, U16.pack(0x1A01))
    od.sdo_download(0x1C13, 0, b"\x02")
    layout = od.sync_manager_pdos(3)
    assert [pdo.index for pdo in layout.pdos] == [0x1A00, 0x1A01]
    assert layout.entries == (
        MappedEntry(0x6041, 0, 16, 0),
        MappedEntry(0, 0, 3, 16),
        MappedEntry(0x6064, 0, 32, 19),
    )
    assert layout.entries[1].gap and not layout.entries[0].gap
    assert (layout.bit_length, layout.byte_length) == (51, 7)
    with pytest.raises(LookupError):
        od.sync_manager_pdos(4)


def test_layout_reports_an_inconsistent_dictionary(state: State) -> None:
    od = ObjectDictionary(state, [pdo_assignment(2, [0x1600])])
    with pytest.raises(ValueError, match="missing PDO 0x1600"):
        od.sync_manager_pdos(2)
    od.add(pdo_mapping(0x1600, "RxPDO", [pdo_mapping_value(0x7000, 1, 8)]))
    with pytest.raises(ValueError, match="missing 0x7000:01"):
        od.sync_manager_pdos(2)


def test_object_lists(od: ObjectDictionary) -> None:
    everything = od.object_list(OdListType.ALL)
    assert everything == tuple(sorted(everything)) and len(everything) == len(od)
    assert od.object_list(OdListType.RXPDO_MAPPABLE) == (0x6040, 0x6060, 0x607A)
    assert od.object_list(OdListType.TXPDO_MAPPABLE) == (0x6041, 0x6064)
    assert od.object_list(OdListType.BACKUP) == ()
    with pytest.raises(ValueError):
        od.object_list(OdListType.LENGTHS)


# ---------------------------------------------------------------------- complete access
def test_complete_access_upload_of_the_identity(od: ObjectDictionary) -> None:
    ident = struct.pack("<BxIIII", 4, 0x0ABC, 0x0001_0002, 3, 0x1234_5678)
    assert od.sdo_upload_complete(0x1018, 0) == ident
    assert od.sdo_upload_complete(0x1018, 1) == ident[2:]


def test_complete_access_on_an_assignment(od: ObjectDictionary) -> None:
    assert od.sdo_upload_complete(0x1C12, 0) == struct.pack("<BxH", 1, 0x1600)
    od.sdo_download_complete(0x1C12, 0, struct.pack("<BxHH", 2, 0x1601, 0x1600))
    assert [od.get(0x1C12, sub) for sub in range(3)] == [2, 0x1601, 0x1600]
    assert (
        code_of(od.sdo_download_complete, 0x1C12, 0, struct.pack("<BxHH", 2, 0x1A00, 0x1600))
        == 0x06090030
    )
    assert (
        code_of(od.sdo_download_complete, 0x1C12, 0, struct.pack("<BxH", 2, 0x1601)) == 0x06070013
    )
    assert code_of(od.sdo_download_complete, 0x1C12, 0, struct.pack("<BxHH", 1, 1, 2)) == 0x06070012
    assert (
        code_of(od.sdo_download_complete, 0x1C12, 0, struct.pack("<BxHHH", 3, 1, 2, 3))
        == 0x06090031
    )
    assert (
        code_of(od.sdo_download_complete, 0x1C12, 1, struct.pack("<HH", 0x1600, 0x1601))
        == 0x06010003
    )
    assert [od.get(0x1C12, sub) for sub in range(3)] == [2, 0x1601, 0x1600]


def test_complete_access_remaps_atomically(od: ObjectDictionary) -> None:
    data = struct.pack(
        "<BxII", 2, pdo_mapping_value(0x6040, 0, 16), pdo_mapping_value(0x6060, 0, 8)
    )
    od.sdo_download_complete(0x1600, 0, data)
    assert od.sdo_upload_complete(0x1600, 0) == data
    bad = struct.pack(
        "<BxII", 2, pdo_mapping_value(0x6040, 0, 16), pdo_mapping_value(0x6041, 0, 16)
    )
    assert code_of(od.sdo_download_complete, 0x1600, 0, bad) == 0x06040041
    assert od.sdo_upload_complete(0x1600, 0) == data


def test_complete_access_packs_bits_and_aligns_octets(state: State) -> None:
    entries = [
        OdEntry(1, "a", DataType.BOOLEAN, READ_WRITE, True),
        OdEntry(2, "b", DataType.BIT3, READ_WRITE, 0b101),
        OdEntry(3, "c", DataType.UNSIGNED16, READ_WRITE, 0xBEEF),
        OdEntry(4, "d", DataType.BIT2, READ_WRITE, 0b11),
        OdEntry(5, "e", DataType.UNSIGNED8, WRITE_ONLY, 0x55),
    ]
    od = ObjectDictionary(state, [record(0x2000, "bits", entries)])
    # SI0 (16 bits), a at bit 16, b at 17..19, c aligned to octet 3, d at bit 40, e octet 6
    expected = bytes([5, 0, 0b1011, 0xEF, 0xBE, 0b11, 0x00])
    assert od.sdo_upload_complete(0x2000, 0) == expected  # e is write-only: zeros
    od.sdo_download_complete(0x2000, 1, bytes([0b0100, 0x34, 0x12, 0b10, 0x77]))
    assert [od.get(0x2000, sub) for sub in range(1, 6)] == [False, 0b010, 0x1234, 0b10, 0x77]


def test_complete_access_refusals(od: ObjectDictionary, state: State) -> None:
    assert code_of(od.sdo_upload_complete, 0x6040, 0) == 0x06010000  # a VAR
    assert code_of(od.sdo_upload_complete, 0x1018, 2) == 0x06010000
    strings = record(
        0x2000, "text", [OdEntry(1, "s", DataType.VISIBLE_STRING, READ_ONLY, "", bit_length=8)]
    )
    od.add(strings)
    assert code_of(od.sdo_upload_complete, 0x2000, 0) == 0x06010004
    assert (
        code_of(od.sdo_download_complete, 0x1018, 0, od.sdo_upload_complete(0x1018, 0))
        == 0x06010002
    )
    assert code_of(od.sdo_download_complete, 0x1018, 0, b"\x05") == 0x06070013
    state.value = ALState.OP
    assert (
        code_of(od.sdo_download_complete, 0x1C12, 0, struct.pack("<BxH", 1, 0x1600)) == 0x08000022
    )
    assert (
        code_of(od.sdo_download_complete, 0x1C12, 0, struct.pack("<BxHH", 2, 0x1600, 0x1601))
        == 0x08000022
    )


def test_complete_access_ignores_read_only_entries(state: State) -> None:
    entries = [
        OdEntry(1, "ro", DataType.UNSIGNED8, READ_ONLY, 1),
        OdEntry(2, "rw", DataType.UNSIGNED8, READ_WRITE, 2),
    ]
    od = ObjectDictionary(state, [record(0x2000, "mixed", entries)])
    od.sdo_download_complete(0x2000, 0, bytes([2, 0, 9, 9]))
    assert [od.get(0x2000, 1), od.get(0x2000, 2)] == [1, 9]


def bits_record() -> OdObject:
    """A RECORD mixing bit-packed and octet-aligned entries, all 0."""
    types = (
        DataType.BOOLEAN,
        DataType.BIT3,
        DataType.BOOLEAN,
        DataType.UNSIGNED16,
        DataType.BOOLEAN,
        DataType.INTEGER32,
    )
    return record(
        0x2000,
        "r",
        [OdEntry(sub, f"e{sub}", kind, READ_WRITE, 0) for sub, kind in enumerate(types, start=1)],
    )


@settings(max_examples=50, deadline=None)
@given(
    flags=st.lists(st.booleans(), min_size=3, max_size=3),
    small=st.integers(0, 7),
    word=st.integers(0, 0xFFFF),
    signed=st.integers(-(1 << 31), (1 << 31) - 1),
)
def test_complete_access_round_trips(flags, small, word, signed) -> None:
    values = [flags[0], small, flags[1], word, flags[2], signed]
    source = ObjectDictionary(State(), [bits_record()])
    for sub, value in enumerate(values, start=1):
        source.set(0x2000, sub, value)
    target = ObjectDictionary(State(), [bits_record()])
    target.sdo_download_complete(0x2000, 0, source.sdo_upload_complete(0x2000, 0))
    assert [target.get(0x2000, sub) for sub in range(1, 7)] == values


def test_update_writes_and_notifies_only_on_a_change(od: ObjectDictionary) -> None:
    heard = []
    od.subscribe(0x6040, 0, heard.append)
    first = od.get(0x6040, 0)
    assert od.update(0x6040, 0, first) is False and heard == []  # same value: nothing written
    assert od.update(0x6040, 0, first + 6) is True
    assert od.get(0x6040, 0) == first + 6 and [(c.old, c.new) for c in heard] == [(first, first + 6)]
    assert od.update(0x6040, 0, first + 6) is False and len(heard) == 1
    with pytest.raises(ValueError):
        od.update(0x6040, 0, -1)  # an UNSIGNED16 cannot hold it: refused like set()
