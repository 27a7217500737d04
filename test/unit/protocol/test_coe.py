"""Tests of the CoE codecs: SDO, SDO information, emergency, PDO services and data types."""

from __future__ import annotations

import math
import random
from typing import Any, Callable

import pytest
from harness.fuzz import mutate
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import ProtocolError, SdoAbort
from ethercat_master.protocol.coe import (
    DATA_TYPE_BIT_SIZES,
    CoEHeader,
    CoEPdoMessage,
    CoEService,
    DataType,
    Direction,
    Emergency,
    EntryDescriptionRequest,
    EntryDescriptionResponse,
    ErrorRegister,
    ObjectAccess,
    ObjectCode,
    ObjectDescriptionRequest,
    ObjectDescriptionResponse,
    OdListRequest,
    OdListResponse,
    OdListType,
    SdoAbortRequest,
    SdoDownloadExpeditedRequest,
    SdoDownloadNormalRequest,
    SdoDownloadResponse,
    SdoDownloadSegmentRequest,
    SdoDownloadSegmentResponse,
    SdoInfoError,
    SdoInfoMessage,
    SdoInfoOpcode,
    SdoUploadExpeditedResponse,
    SdoUploadNormalResponse,
    SdoUploadRequest,
    SdoUploadSegmentRequest,
    SdoUploadSegmentResponse,
    TimeOfDay,
    ValueInfo,
    decode_coe,
    decode_sdo_info,
    decode_value,
    emergency_text,
    encode_value,
    fragment_sdo_info,
)
from ethercat_master.protocol.sdo_abort import SdoAbortCode

FUZZ_ITERATIONS = 20_000
M2S = Direction.MASTER_TO_SLAVE
S2M = Direction.SLAVE_TO_MASTER

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=24
)


@st.composite
def addresses(draw: st.DrawFn) -> dict[str, Any]:
    complete_access = draw(st.booleans())
    return dict(
        index=draw(u16),
        subindex=draw(st.integers(0, 1 if complete_access else 0xFF)),
        complete_access=complete_access,
    )


@st.composite
def expedited(draw: st.DrawFn, cls: type) -> Any:
    size_indicated = draw(st.booleans())
    data = draw(st.binary(min_size=1 if size_indicated else 4, max_size=4))
    return cls(data=data, size_indicated=size_indicated, **draw(addresses()))


@st.composite
def normal(draw: st.DrawFn, cls: type) -> Any:
    data = draw(st.binary(max_size=40))
    complete_size = draw(st.integers(len(data), 0xFFFFFFFF))
    return cls(complete_size=complete_size, data=data, **draw(addresses()))


@st.composite
def entry_descriptions(draw: st.DrawFn) -> EntryDescriptionResponse:
    info = ValueInfo(draw(u8))
    bit_length = draw(st.integers(0, 80))
    size = (bit_length + 7) // 8

    def value(flag: ValueInfo) -> bytes | None:
        return draw(st.binary(min_size=size, max_size=size)) if info & flag else None

    return EntryDescriptionResponse(
        index=draw(u16),
        subindex=draw(u8),
        value_info=info,
        data_type=draw(st.one_of(st.sampled_from(DataType), u16)),
        bit_length=bit_length,
        object_access=ObjectAccess(draw(u16)),
        name=draw(names),
        unit_type=draw(u16) if info & ValueInfo.UNIT_TYPE else None,
        default_value=value(ValueInfo.DEFAULT_VALUE),
        minimum_value=value(ValueInfo.MINIMUM_VALUE),
        maximum_value=value(ValueInfo.MAXIMUM_VALUE),
    )


SDO_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {
    SdoDownloadExpeditedRequest: expedited(SdoDownloadExpeditedRequest),
    SdoDownloadNormalRequest: normal(SdoDownloadNormalRequest),
    SdoDownloadResponse: addresses().map(lambda a: SdoDownloadResponse(**a)),
    SdoDownloadSegmentRequest: st.builds(
        SdoDownloadSegmentRequest, st.booleans(), st.binary(max_size=40), st.booleans()
    ),
    SdoDownloadSegmentResponse: st.builds(SdoDownloadSegmentResponse, st.booleans()),
    SdoUploadRequest: addresses().map(lambda a: SdoUploadRequest(**a)),
    SdoUploadExpeditedResponse: expedited(SdoUploadExpeditedResponse),
    SdoUploadNormalResponse: normal(SdoUploadNormalResponse),
    SdoUploadSegmentRequest: st.builds(SdoUploadSegmentRequest, st.booleans()),
    SdoUploadSegmentResponse: st.builds(
        SdoUploadSegmentResponse, st.booleans(), st.binary(max_size=40), st.booleans()
    ),
    SdoAbortRequest: st.builds(
        SdoAbortRequest, u16, u8, st.one_of(st.sampled_from(SdoAbortCode), u32)
    ),
}
FROM_MASTER = {
    SdoDownloadExpeditedRequest,
    SdoDownloadNormalRequest,
    SdoDownloadSegmentRequest,
    SdoUploadRequest,
    SdoUploadSegmentRequest,
    SdoAbortRequest,
}
FROM_SLAVE = set(SDO_STRATEGIES) - FROM_MASTER | {SdoAbortRequest}

INFO_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {
    OdListRequest: st.builds(OdListRequest, st.one_of(st.sampled_from(OdListType), u16)),
    OdListResponse: st.builds(
        OdListResponse,
        st.one_of(st.sampled_from(OdListType), u16),
        st.lists(u16, max_size=30).map(tuple),
    ),
    ObjectDescriptionRequest: st.builds(ObjectDescriptionRequest, u16),
    ObjectDescriptionResponse: st.builds(
        ObjectDescriptionResponse,
        u16,
        st.one_of(st.sampled_from(DataType), u16),
        u8,
        st.one_of(st.sampled_from(ObjectCode), u8),
        names,
    ),
    EntryDescriptionRequest: st.builds(EntryDescriptionRequest, u16, u8, u8.map(ValueInfo)),
    EntryDescriptionResponse: entry_descriptions(),
    SdoInfoError: st.builds(SdoInfoError, st.one_of(st.sampled_from(SdoAbortCode), u32)),
}
info_messages = st.builds(
    SdoInfoMessage, st.sampled_from(SdoInfoOpcode), st.binary(max_size=40), st.booleans(), u16
)
emergencies = st.builds(Emergency, u16, u8.map(ErrorRegister), st.binary(min_size=5, max_size=5))
pdo_messages = st.builds(
    CoEPdoMessage,
    st.sampled_from(
        [
            CoEService.TXPDO,
            CoEService.RXPDO,
            CoEService.TXPDO_REMOTE_REQ,
            CoEService.RXPDO_REMOTE_REQ,
        ]
    ),
    st.integers(0, 0x1FF),
    st.binary(max_size=32),
)

# --------------------------------------------------------------------------- round trips


@given(st.one_of(st.sampled_from(CoEService), st.integers(0, 15)), st.integers(0, 0x1FF))
def test_coe_header_round_trip(service: int, number: int) -> None:
    header = CoEHeader(service, number)
    assert CoEHeader.decode(header.encode()) == header


@pytest.mark.parametrize("cls", list(SDO_STRATEGIES), ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_sdo_round_trip(cls: type, data: st.DataObject) -> None:
    message = data.draw(SDO_STRATEGIES[cls])
    raw = message.encode()
    assert len(raw) >= 10  # SDO messages are at least 10 octets on the wire
    assert cls.decode(raw) == message
    assert cls.decode(bytearray(raw)) == message
    if cls in FROM_MASTER:
        assert decode_coe(raw, M2S) == message
    if cls in FROM_SLAVE:
        assert decode_coe(raw, S2M) == message


@pytest.mark.parametrize("cls", list(INFO_STRATEGIES), ids=lambda cls: cls.__name__)
@given(data=st.data(), max_data=st.integers(1, 24))
def test_sdo_info_body_round_trip(cls: type, data: st.DataObject, max_data: int) -> None:
    body = data.draw(INFO_STRATEGIES[cls])
    assert cls.decode(body.encode()) == body
    message = body.message()
    direction = M2S if message.opcode % 2 else S2M  # requests have odd opcodes, SDO info error 7
    if cls is SdoInfoError:
        direction = S2M
    assert decode_coe(message.encode(), direction) == message
    assert decode_sdo_info([message]) == body
    fragments = fragment_sdo_info(body, max_data)
    assert all(len(fragment.data) <= max_data for fragment in fragments)
    assert decode_sdo_info([SdoInfoMessage.decode(f.encode()) for f in fragments]) == body


@given(info_messages)
def test_sdo_info_message_round_trip(message: SdoInfoMessage) -> None:
    assert SdoInfoMessage.decode(message.encode()) == message


@given(emergencies)
def test_emergency_round_trip(emergency: Emergency) -> None:
    raw = emergency.encode()
    assert len(raw) == 10
    assert Emergency.decode(raw) == emergency
    assert decode_coe(raw, S2M) == emergency


@given(pdo_messages)
def test_pdo_message_round_trip(message: CoEPdoMessage) -> None:
    raw = message.encode()
    assert CoEPdoMessage.decode(raw) == message
    slave_sends = message.service in (CoEService.TXPDO, CoEService.RXPDO_REMOTE_REQ)
    assert decode_coe(raw, S2M if slave_sends else M2S) == message
    with pytest.raises(ProtocolError):
        decode_coe(raw, M2S if slave_sends else S2M)


# ------------------------------------------------------------------------- known vectors


def test_soem_upload_request_vector() -> None:
    # SOEM ecx_SDOread, 0x1018:01: CANOpen = 0x000 + (ECT_COES_SDOREQ << 12), Command =
    # ECT_SDO_UP_REQ (0x40), Index, SubIndex, ldata[0] = 0; mailbox length 0x000A.
    raw = bytes.fromhex("0020 40 1810 01 00000000")
    assert SdoUploadRequest(0x1018, 1).encode() == raw
    assert decode_coe(raw, M2S) == SdoUploadRequest(0x1018, 1)


def test_soem_complete_access_upload_request_vector() -> None:
    # SOEM ECT_SDO_UP_REQ_CA = 0x50 (complete access bit 4), subindex 0 or 1.
    raw = bytes.fromhex("0020 50 121c 00 00000000")
    assert SdoUploadRequest(0x1C12, 0, complete_access=True).encode() == raw


def test_soem_expedited_download_vector() -> None:
    # SOEM ecx_SDOwrite, 2 octets: Command = ECT_SDO_DOWN_EXP (0x23) | ((4 - 2) << 2) = 0x2B.
    raw = bytes.fromhex("0020 2b 4060 00 0f00 0000")
    message = SdoDownloadExpeditedRequest(0x6040, 0, b"\x0f\x00")
    assert message.encode() == raw
    assert decode_coe(raw, M2S) == message


def test_soem_normal_download_vector() -> None:
    # SOEM ecx_SDOwrite normal transfer: Command = ECT_SDO_DOWN_INIT (0x21), ldata[0] = size,
    # then the data; with complete access ECT_SDO_DOWN_INIT_CA (0x31).
    raw = bytes.fromhex("0020 31 121c 00 06000000 0200 001a 011a")
    message = SdoDownloadNormalRequest(0x1C12, 0, 6, bytes.fromhex("0200001a011a"), True)
    assert message.encode() == raw
    assert decode_coe(raw, M2S) == message


def test_soes_expedited_upload_response_vector() -> None:
    # SOES SDO_upload of a 16-bit object: command = COE_COMMAND_UPLOADRESPONSE (0x40) +
    # size indicator (0x01) + expedited (0x02) + dss 0x08 = 0x4B, service SDO response.
    raw = bytes.fromhex("0030 4b 4160 00 3702 0000")
    assert decode_coe(raw, S2M) == SdoUploadExpeditedResponse(0x6041, 0, b"\x37\x02")


def test_soes_normal_upload_response_vector() -> None:
    # SOES SDO_upload of a 6-octet string: command 0x40 + size indicator = 0x41, size u32, data.
    raw = bytes.fromhex("0030 41 0810 00 06000000") + b"EK1100"
    message = decode_coe(raw, S2M)
    assert message == SdoUploadNormalResponse(0x1008, 0, 6, b"EK1100")
    assert decode_value(DataType.VISIBLE_STRING, message.data) == "EK1100"


def test_soes_last_upload_segment_vector() -> None:
    # SOES SDO_uploadsegment: last segment of 3 octets padded to 7, command = 0x00 (scs 0)
    # + toggle copied from the request + last bit + (7 - 3) << 1 = 0x19.
    raw = bytes.fromhex("0030 19 414243 00000000")
    assert decode_coe(raw, S2M) == SdoUploadSegmentResponse(True, b"ABC", True)
    assert SdoUploadSegmentResponse(True, b"ABC", True).encode() == raw


def test_soem_download_segment_vector() -> None:
    # SOEM ecx_SDOwrite segments: Command = 0x01 (last) + ((7 - size) << 1) + toggle.
    raw = bytes.fromhex("0020 09 aabbcc 00000000")
    assert SdoDownloadSegmentRequest(False, b"\xaa\xbb\xcc", True).encode() == raw
    long = SdoDownloadSegmentRequest(True, bytes(range(9)), False)
    assert long.encode() == bytes.fromhex("0020 10") + bytes(range(9))


def test_soes_abort_vector() -> None:
    # SOES SDO_abort: service COE_SDOREQUEST even from the slave, command 0x80, index,
    # subindex, abort code (0x06020000 object does not exist).
    raw = bytes.fromhex("0020 80 0020 00 00000206")
    abort = decode_coe(raw, S2M)
    assert abort == SdoAbortRequest(0x2000, 0, SdoAbortCode.OBJECT_DOES_NOT_EXIST)
    assert abort.encode() == raw
    error = abort.to_error(slave=2)
    assert isinstance(error, SdoAbort)
    assert error.code == 0x06020000
    assert error.text == "The object does not exist in the object directory"


def test_abort_with_response_service_is_accepted() -> None:
    raw = bytes.fromhex("0030 80 4160 00 11000906")
    assert decode_coe(raw, S2M) == SdoAbortRequest(0x6041, 0, SdoAbortCode.SUBINDEX_DOES_NOT_EXIST)


def test_soem_and_igh_sdo_info_request_vectors() -> None:
    # SOEM ecx_readODlist / IgH ec_fsm_coe_prepare_dict: CANOpen 0x8000, opcode 1, reserved,
    # fragments 0, list type 1 (all objects).
    raw = bytes.fromhex("0080 01 00 0000 0100")
    assert OdListRequest(OdListType.ALL).message().encode() == raw
    assert decode_sdo_info([decode_coe(raw, M2S)]) == OdListRequest(OdListType.ALL)
    # IgH ec_fsm_coe_dict_prepare_entry: opcode 5, index, subindex, value info 0x01.
    raw = bytes.fromhex("0080 05 00 0000 1810 02 01")
    body = decode_sdo_info([decode_coe(raw, M2S)])
    assert body == EntryDescriptionRequest(0x1018, 2, ValueInfo(1))


def test_object_description_response_layout() -> None:
    # SOEM ecx_readODdescription: wdata[1] data type, bdata[4] max subindex, bdata[5] object
    # code, name from bdata[6] (name length = mailbox length - 12).
    raw = bytes.fromhex("0080 04 00 0000 1810 2300 04 09") + b"Identity"
    body = decode_sdo_info([decode_coe(raw, S2M)])
    assert body == ObjectDescriptionResponse(
        0x1018, DataType.IDENTITY, 4, ObjectCode.RECORD, "Identity"
    )


def test_entry_description_response_layout() -> None:
    # SOEM ecx_readOEsingle / IgH: bdata[3] value info, wdata[2] data type, wdata[3] bit
    # length, wdata[4] object access (bit 0 read PREOP .. bit 5 write OP, bit 7 TxPDO), then
    # with value info 0x18 the u16 unit type and the default value, then the name.
    raw = bytes.fromhex("0080 06 00 0000 4160 00 18 0600 1000 8700 0000 3702") + b"Statusword"
    body = decode_sdo_info([decode_coe(raw, S2M)])
    assert body == EntryDescriptionResponse(
        index=0x6041,
        subindex=0,
        value_info=ValueInfo.UNIT_TYPE | ValueInfo.DEFAULT_VALUE,
        data_type=DataType.UNSIGNED16,
        bit_length=16,
        object_access=ObjectAccess.READ_PREOP
        | ObjectAccess.READ_SAFEOP
        | ObjectAccess.READ_OP
        | ObjectAccess.TXPDO_MAPPABLE,
        name="Statusword",
        unit_type=0,
        default_value=b"\x37\x02",
    )


def test_od_list_response_fragments_like_soem() -> None:
    # SOEM ecx_readODlist: the first fragment carries the list type, later ones only indices;
    # IgH continues while the incomplete bit or fragments left is set.
    first = bytes.fromhex("0080 82 00 0100 0100 0010 0810")
    last = bytes.fromhex("0080 02 00 0000 1810 001c")
    fragments = [decode_coe(first, S2M), decode_coe(last, S2M)]
    body = decode_sdo_info(fragments)
    assert body == OdListResponse(OdListType.ALL, (0x1000, 0x1008, 0x1018, 0x1C00))


def test_od_list_lengths_response() -> None:
    raw = bytes.fromhex("0080 02 00 0000 0000 2000 0500 0600 0300 0100")
    body = decode_sdo_info([decode_coe(raw, S2M)])
    assert body == OdListResponse(OdListType.LENGTHS, (32, 5, 6, 3, 1))


def test_sdo_info_error_vector() -> None:
    # SOES SDO_infoerror: opcode 7, abort code u32 after the 6-octet header.
    raw = bytes.fromhex("0080 07 00 0000 00000206")
    body = decode_sdo_info([decode_coe(raw, S2M)])
    assert body == SdoInfoError(SdoAbortCode.OBJECT_DOES_NOT_EXIST)
    assert body.text == "The object does not exist in the object directory"


def test_emergency_vector() -> None:
    # SOEM ec_emcyt / IgH ec_fsm_coe_check_emergency: CoE header service 1, error code u16,
    # error register u8, 5 octets of data.
    raw = bytes.fromhex("0010 1082 11 0102030405")
    emergency = decode_coe(raw, S2M)
    assert emergency == Emergency(
        0x8210, ErrorRegister.GENERIC | ErrorRegister.COMMUNICATION, bytes(range(1, 6))
    )
    assert emergency.text == "PDO not processed due to length error"


def test_soem_data_type_numbers() -> None:
    # SOEM ec_datatype (ethercattype.h).
    soem = {
        "BOOLEAN": 0x01,
        "INTEGER8": 0x02,
        "INTEGER16": 0x03,
        "INTEGER32": 0x04,
        "UNSIGNED8": 0x05,
        "UNSIGNED16": 0x06,
        "UNSIGNED32": 0x07,
        "REAL32": 0x08,
        "VISIBLE_STRING": 0x09,
        "OCTET_STRING": 0x0A,
        "UNICODE_STRING": 0x0B,
        "TIME_OF_DAY": 0x0C,
        "TIME_DIFFERENCE": 0x0D,
        "DOMAIN": 0x0F,
        "INTEGER24": 0x10,
        "REAL64": 0x11,
        "INTEGER64": 0x15,
        "UNSIGNED24": 0x16,
        "UNSIGNED64": 0x1B,
        "BIT1": 0x30,
        "BIT2": 0x31,
        "BIT3": 0x32,
        "BIT4": 0x33,
        "BIT5": 0x34,
        "BIT6": 0x35,
        "BIT7": 0x36,
        "BIT8": 0x37,
    }
    assert {name: DataType[name].value for name in soem} == soem


# ------------------------------------------------------------------- direction semantics


def test_command_specifier_meaning_depends_on_direction() -> None:
    # cs 3 from the master is "upload segment", from the slave "initiate download response".
    assert decode_coe(bytes.fromhex("0020 70 00000000000000"), M2S) == SdoUploadSegmentRequest(True)
    assert decode_coe(bytes.fromhex("0030 60 0010 00 00000000"), S2M) == SdoDownloadResponse(
        0x1000, 0
    )
    # cs 1 from the master is "initiate download", from the slave "download segment response".
    assert isinstance(
        decode_coe(bytes.fromhex("0020 2f 0010 00 01000000"), M2S), SdoDownloadExpeditedRequest
    )
    assert decode_coe(bytes.fromhex("0030 30 00000000000000"), S2M) == SdoDownloadSegmentResponse(
        True
    )


def test_service_must_match_direction() -> None:
    with pytest.raises(ProtocolError):
        decode_coe(SdoUploadRequest(0x1000, 0).encode(), S2M)
    with pytest.raises(ProtocolError):
        decode_coe(SdoDownloadResponse(0x1000, 0).encode(), M2S)
    with pytest.raises(ProtocolError):
        decode_coe(Emergency(0x1000).encode(), M2S)
    with pytest.raises(ProtocolError):
        decode_coe(OdListRequest(OdListType.ALL).message().encode(), S2M)
    with pytest.raises(ProtocolError):
        decode_coe(OdListResponse(OdListType.ALL, ()).message().encode(), M2S)


def test_block_transfer_specifiers_are_refused() -> None:
    with pytest.raises(ProtocolError, match="command specifier 6"):
        decode_coe(bytes.fromhex("0020 c0 0010 00 00000000"), M2S)
    with pytest.raises(ProtocolError, match="reserved CoE service"):
        decode_coe(bytes.fromhex("0090 00"), S2M)


# ----------------------------------------------------------------- inconsistent sizes


def test_expedited_with_data_beyond_four_octets_is_refused() -> None:
    with pytest.raises(ProtocolError, match="expedited"):
        decode_coe(bytes.fromhex("0030 4b 4160 00 3702 0000 ff"), S2M)
    with pytest.raises(ProtocolError):
        decode_coe(bytes.fromhex("0030 4b 4160 00 3702"), S2M)


def test_expedited_unused_count_without_size_indicator_is_refused() -> None:
    with pytest.raises(ProtocolError, match="size indicator"):
        SdoUploadExpeditedResponse.decode(bytes.fromhex("0030 46 4160 00 3702 0000"))
    unsized = SdoUploadExpeditedResponse.decode(bytes.fromhex("0030 42 4160 00 3702 0000"))
    assert unsized == SdoUploadExpeditedResponse(
        0x6041, 0, bytes.fromhex("37020000"), size_indicated=False
    )


def test_padded_segment_must_be_seven_octets() -> None:
    with pytest.raises(ProtocolError, match="unused"):
        decode_coe(bytes.fromhex("0030 19 41424344454647 48"), S2M)
    with pytest.raises(ProtocolError):
        decode_coe(bytes.fromhex("0030 19 414243 0000"), S2M)  # shorter than 7


def test_normal_response_with_more_data_than_complete_size_is_refused() -> None:
    with pytest.raises(ProtocolError, match="exceed the complete size"):
        decode_coe(bytes.fromhex("0030 41 0810 00 02000000") + b"EK1100", S2M)


def test_normal_without_size_indicator_is_refused() -> None:
    with pytest.raises(ProtocolError, match="size indicator"):
        decode_coe(bytes.fromhex("0030 40 0810 00 02000000 4142"), S2M)


def test_complete_access_needs_subindex_zero_or_one() -> None:
    with pytest.raises(ValueError, match="complete access"):
        SdoUploadRequest(0x1C12, 2, complete_access=True)
    with pytest.raises(ProtocolError, match="complete access"):
        decode_coe(bytes.fromhex("0020 50 121c 02 00000000"), M2S)


def test_encoders_refuse_invalid_fields() -> None:
    with pytest.raises(ValueError):
        SdoDownloadExpeditedRequest(0x6040, 0, b"")
    with pytest.raises(ValueError):
        SdoDownloadExpeditedRequest(0x6040, 0, b"12345")
    with pytest.raises(ValueError):
        SdoDownloadExpeditedRequest(0x6040, 0, b"12", size_indicated=False)
    with pytest.raises(ValueError):
        SdoDownloadNormalRequest(0x10000, 0, 0)
    with pytest.raises(ValueError):
        SdoAbortRequest(0, 0, 1 << 32)
    with pytest.raises(ValueError):
        CoEPdoMessage(CoEService.SDO_REQUEST, 0)
    with pytest.raises(ValueError):
        Emergency(0x1000, data=b"123")
    with pytest.raises(ValueError, match="UNIT_TYPE"):
        EntryDescriptionResponse(
            0, 0, ValueInfo.UNIT_TYPE, DataType.UNSIGNED8, 8, ObjectAccess(0), ""
        )
    with pytest.raises(ValueError, match="DEFAULT_VALUE"):
        EntryDescriptionResponse(
            0,
            0,
            ValueInfo.DEFAULT_VALUE,
            DataType.UNSIGNED16,
            16,
            ObjectAccess(0),
            "",
            default_value=b"1",
        )


def test_entry_description_with_missing_optional_value_is_refused() -> None:
    raw = bytes.fromhex("4160 00 10 0600 1000 8700 37")  # default value needs 2 octets
    with pytest.raises(ProtocolError):
        EntryDescriptionResponse.decode(raw)


def test_od_list_response_with_odd_length_is_refused() -> None:
    with pytest.raises(ProtocolError, match="odd"):
        OdListResponse.decode(bytes.fromhex("0100 0010 08"))


def test_unknown_sdo_info_opcode_is_refused() -> None:
    with pytest.raises(ProtocolError, match="opcode"):
        SdoInfoMessage.decode(bytes.fromhex("0080 08 00 0000"))


def test_fragment_sequence_is_checked() -> None:
    body = OdListResponse(OdListType.ALL, tuple(range(0x1000, 0x1010)))
    fragments = fragment_sdo_info(body, 8)
    assert len(fragments) == 5
    assert [f.fragments_left for f in fragments] == [4, 3, 2, 1, 0]
    assert [f.incomplete for f in fragments] == [True, True, True, True, False]
    with pytest.raises(ProtocolError, match="fragments left"):
        decode_sdo_info([fragments[0], fragments[2]])
    with pytest.raises(ProtocolError, match="more fragments follow"):
        decode_sdo_info(fragments[:-1][-1:])
    with pytest.raises(ProtocolError, match="opcode"):
        decode_sdo_info(
            [fragments[0], SdoInfoMessage(SdoInfoOpcode.SDO_INFO_ERROR_REQUEST, b"", False, 3)]
        )
    with pytest.raises(ProtocolError, match="no fragments"):
        decode_sdo_info([])


# ---------------------------------------------------------------------------- emergency


def test_emergency_texts() -> None:
    assert emergency_text(0x0000) == "Error reset or no error"
    assert emergency_text(0x1000) == "Generic error"
    assert emergency_text(0x2310) == "Current, device output side"
    assert emergency_text(0x3120) == "Mains voltage"
    assert emergency_text(0x4210) == "Device temperature"
    assert emergency_text(0x5000) == "Device hardware - generic error"
    assert emergency_text(0x5530) == "Device hardware error"
    assert emergency_text(0x6100) == "Internal software"
    assert emergency_text(0x7000) == "Additional modules - generic error"
    assert emergency_text(0x8220) == "PDO length exceeded"
    assert emergency_text(0x9000) == "External error - generic error"
    assert emergency_text(0xF001) == "Additional functions - generic error"
    assert emergency_text(0xFF42) == "Device specific - generic error"
    assert emergency_text(0xA000) == "Unknown emergency error code 0xA000"


@given(st.integers(-(2**40), 2**40))
def test_emergency_text_never_fails(code: int) -> None:
    assert emergency_text(code)


# ---------------------------------------------------------------------------- data types


def _strategy_for(data_type: DataType) -> st.SearchStrategy[Any] | None:
    from ethercat_master.protocol import coe

    if data_type == DataType.BOOLEAN:
        return st.booleans()
    if data_type in coe._INTEGERS:
        octets, signed = coe._INTEGERS[data_type]
        bits = octets * 8
        return (
            st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
            if signed
            else st.integers(0, (1 << bits) - 1)
        )
    if data_type in coe._BITS:
        return st.integers(0, (1 << coe._BITS[data_type]) - 1)
    if data_type == DataType.REAL32:
        return st.floats(width=32, allow_nan=False)
    if data_type == DataType.REAL64:
        return st.floats(allow_nan=False)
    if data_type in (DataType.VISIBLE_STRING, DataType.UNICODE_STRING):
        return names
    if data_type in (DataType.TIME_OF_DAY, DataType.TIME_DIFFERENCE):
        return st.builds(TimeOfDay, st.integers(0, 0x0FFFFFFF), u16)
    if data_type == DataType.GUID:
        return st.binary(min_size=16, max_size=16)
    return st.binary(max_size=32)


@pytest.mark.parametrize("data_type", list(DataType), ids=lambda dt: dt.name)
@given(data=st.data())
def test_value_round_trip(data_type: DataType, data: st.DataObject) -> None:
    value = data.draw(_strategy_for(data_type))
    raw = encode_value(data_type, value)
    if data_type in DATA_TYPE_BIT_SIZES:
        assert len(raw) == (DATA_TYPE_BIT_SIZES[data_type] + 7) // 8
    assert decode_value(data_type, raw) == value


def test_value_vectors() -> None:
    assert encode_value(DataType.INTEGER24, -1) == b"\xff\xff\xff"
    assert encode_value(DataType.UNSIGNED24, 0x123456) == b"\x56\x34\x12"
    assert encode_value(DataType.INTEGER16, -2) == b"\xfe\xff"
    assert encode_value(DataType.REAL32, 1.0) == bytes.fromhex("0000803f")
    assert encode_value(DataType.BOOLEAN, True) == b"\x01"
    assert encode_value(DataType.BIT3, 5) == b"\x05"
    assert encode_value(DataType.UNICODE_STRING, "Ab") == b"A\x00b\x00"
    assert encode_value(DataType.TIME_OF_DAY, TimeOfDay(1000, 2)) == bytes.fromhex("e8030000 0200")
    assert decode_value(DataType.TIME_OF_DAY, bytes.fromhex("e80300f0 0200")) == TimeOfDay(1000, 2)
    assert decode_value(DataType.VISIBLE_STRING, b"EL1008\x00\x00junk") == "EL1008"
    assert decode_value(DataType.VISIBLE_STRING, b"\xb0C") == "\xb0C"  # not UTF-8: Latin-1
    assert decode_value(DataType.UNSIGNED32, b"\x01\x00\x00\x80") == 0x80000001
    assert decode_value(0x7777, b"\x01\x02") == b"\x01\x02"
    assert DATA_TYPE_BIT_SIZES[DataType.BOOLEAN] == 1
    assert DATA_TYPE_BIT_SIZES[DataType.UNSIGNED24] == 24
    assert DATA_TYPE_BIT_SIZES[DataType.TIME_OF_DAY] == 48
    assert DATA_TYPE_BIT_SIZES[DataType.BIT5] == 5
    assert DataType.VISIBLE_STRING not in DATA_TYPE_BIT_SIZES
    assert math.isnan(decode_value(DataType.REAL64, encode_value(DataType.REAL64, math.nan)))


@pytest.mark.parametrize(
    "data_type, value",
    [
        (DataType.UNSIGNED8, 256),
        (DataType.INTEGER8, -129),
        (DataType.UNSIGNED16, -1),
        (DataType.BIT2, 4),
        (DataType.BOOLEAN, 2),
        (DataType.REAL32, 1e39),
        (DataType.VISIBLE_STRING, "a\x00b"),
        (DataType.GUID, b"short"),
        (DataType.UNSIGNED32, 1.5),
    ],
)
def test_encode_value_refuses_values_the_type_cannot_hold(data_type: DataType, value: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        encode_value(data_type, value)


def test_decode_value_checks_sizes() -> None:
    with pytest.raises(ProtocolError, match="need 2"):
        decode_value(DataType.UNSIGNED16, b"\x01\x02\x03\x04")
    with pytest.raises(ProtocolError, match="beyond"):
        decode_value(DataType.BIT3, b"\x08")
    with pytest.raises(ProtocolError, match="odd"):
        decode_value(DataType.UNICODE_STRING, b"A\x00b")


# ---------------------------------------------------------------------------------- fuzz

SAMPLES: list[Any] = [
    SdoDownloadExpeditedRequest(0x6040, 0, b"\x0f\x00"),
    SdoDownloadExpeditedRequest(0x1C12, 0, b"\x01\x02\x03\x04", True, False),
    SdoDownloadNormalRequest(0x1C12, 0, 6, bytes(6), True),
    SdoDownloadNormalRequest(0x2000, 1, 100, bytes(range(20))),
    SdoDownloadResponse(0x6040, 0),
    SdoDownloadSegmentRequest(True, b"abc", True),
    SdoDownloadSegmentRequest(False, bytes(12), False),
    SdoDownloadSegmentResponse(True),
    SdoUploadRequest(0x1018, 1),
    SdoUploadRequest(0x1C13, 0, True),
    SdoUploadExpeditedResponse(0x6041, 0, b"\x37\x02"),
    SdoUploadNormalResponse(0x1008, 0, 6, b"EK1100"),
    SdoUploadSegmentRequest(False),
    SdoUploadSegmentResponse(True, b"ABC", True),
    SdoUploadSegmentResponse(False, bytes(range(10)), False),
    SdoAbortRequest(0x2000, 0, SdoAbortCode.OBJECT_DOES_NOT_EXIST),
    OdListRequest(OdListType.ALL).message(),
    OdListResponse(OdListType.ALL, (0x1000, 0x1018)).message(),
    ObjectDescriptionRequest(0x1018).message(),
    ObjectDescriptionResponse(
        0x1018, DataType.IDENTITY, 4, ObjectCode.RECORD, "Identity"
    ).message(),
    EntryDescriptionRequest(0x1018, 1, ValueInfo(0x78)).message(),
    EntryDescriptionResponse(
        0x6041,
        0,
        ValueInfo(0x78),
        DataType.UNSIGNED16,
        16,
        ObjectAccess(0x87),
        "Status",
        unit_type=0,
        default_value=b"\x00\x00",
        minimum_value=b"\x00\x00",
        maximum_value=b"\xff\xff",
    ).message(),
    SdoInfoError(SdoAbortCode.GENERAL_ERROR).message(),
    Emergency(0x8210, ErrorRegister.GENERIC, b"12345"),
    CoEPdoMessage(CoEService.TXPDO, 1, b"\x01\x02"),
    CoEPdoMessage(CoEService.TXPDO_REMOTE_REQ, 0x1FF),
]
SEEDS = [sample.encode() for sample in SAMPLES]
SEEDS += [sample.encode() for sample in SAMPLES if isinstance(sample, SdoInfoMessage)]
SEEDS += [m.data for m in SAMPLES if isinstance(m, SdoInfoMessage)]  # bare service data

DECODERS: dict[str, Callable[[bytes], Any]] = {
    cls.__name__: cls.decode
    for cls in [
        CoEHeader,
        SdoInfoMessage,
        Emergency,
        CoEPdoMessage,
        *SDO_STRATEGIES,
        *INFO_STRATEGIES,
    ]
}
DECODERS["decode_coe(master to slave)"] = lambda raw: decode_coe(raw, M2S)
DECODERS["decode_coe(slave to master)"] = lambda raw: decode_coe(raw, S2M)




@pytest.mark.parametrize("name", sorted(DECODERS))
def test_fuzz_decoders_raise_only_protocol_error(name: str) -> None:
    decode = DECODERS[name]
    rng = random.Random(sum(map(ord, name)))
    decoded = 0
    for _ in range(FUZZ_ITERATIONS):
        try:
            decode(mutate(rng, rng.choice(SEEDS)))
            decoded += 1
        except ProtocolError:
            pass
    assert decoded > 0  # the mutations reach the successful paths too


def test_fuzz_decode_value_raises_only_protocol_error() -> None:
    rng = random.Random(0xC0E)
    types = [*DataType, 0x0000, 0x000E, 0x7777]
    for _ in range(FUZZ_ITERATIONS):
        data_type = rng.choice(types)
        try:
            decode_value(
                data_type, rng.randbytes(rng.choice((rng.randrange(0, 20), 1, 2, 4, 6, 8)))
            )
        except ProtocolError:
            pass


def test_fuzz_decode_sdo_info_raises_only_protocol_error() -> None:
    rng = random.Random(0x5D01)
    info_seeds = [sample for sample in SAMPLES if isinstance(sample, SdoInfoMessage)]
    for _ in range(FUZZ_ITERATIONS // 4):
        fragments = []
        for _ in range(rng.randint(0, 3)):
            seed = rng.choice(info_seeds)
            fragments.append(
                SdoInfoMessage(
                    rng.choice([seed.opcode, *SdoInfoOpcode]),
                    mutate(rng, seed.data),
                    rng.random() < 0.3,
                    rng.choice([0, 0, 1, 2, rng.randrange(0x10000)]),
                )
            )
        try:
            decode_sdo_info(fragments)
        except ProtocolError:
            pass


@settings(max_examples=200)
@given(st.binary(max_size=64))
def test_hypothesis_fuzz_decoders(data: bytes) -> None:
    for decode in DECODERS.values():
        try:
            decode(data)
        except ProtocolError:
            pass
    for data_type in (
        DataType.UNSIGNED16,
        DataType.VISIBLE_STRING,
        DataType.UNICODE_STRING,
        DataType.BIT4,
    ):
        try:
            decode_value(data_type, data)
        except ProtocolError:
            pass
