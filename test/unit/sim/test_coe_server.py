"""The simulated CoE server end to end: master messages in, slave messages out.

Requests are built with the protocol classes (as a master would send them) and every reply is
decoded with ``decode_coe(..., Direction.SLAVE_TO_MASTER)``. The segmented helpers follow
SOEM's ``ecx_SDOread``/``ecx_SDOwrite`` (first part mailbox - 16 octets, segments mailbox - 9)
so the server is driven the way an independent master drives it.
"""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import MailboxError
from ethercat_master.protocol.al_status import ALState
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
    encode_value,
)
from ethercat_master.protocol.mailbox import MailboxErrorCode
from ethercat_master.sim.coe_server import CoeServer
from ethercat_master.sim.object_dictionary import (
    READ_ONLY,
    READ_WRITE,
    ObjectDictionary,
    device_name,
    error_register,
    identity,
    pdo_assignment,
    pdo_mapping,
    pdo_mapping_value,
    sync_manager_types,
    var,
)

MAILBOX = 32  # small, so that strings and lists need segments and fragments
PAYLOAD = MAILBOX - 6
LONG_NAME = "A simulated EtherCAT slave with a name longer than the mailbox"
RX = ObjectAccess.RXPDO_MAPPABLE


class State:
    """The AL state the ESC would report."""

    def __init__(self) -> None:
        self.value = ALState.PREOP

    def __call__(self) -> ALState:
        return self.value


@pytest.fixture
def state() -> State:
    return State()


@pytest.fixture
def server(state: State) -> CoeServer:
    od = ObjectDictionary(
        state,
        [
            error_register(),
            device_name(LONG_NAME),
            identity(0x0ABC, 0x1234, 5, 99),
            var(0x2000, "Text", DataType.VISIBLE_STRING, "", access=READ_WRITE, bit_length=8 * 100),
            var(
                0x2001,
                "Speed",
                DataType.INTEGER32,
                0,
                access=READ_WRITE | RX,
                default=100,
                minimum=-1000,
                maximum=1000,
                unit=0x0057,
            ),
            var(0x2002, "Gain", DataType.UNSIGNED8, 3, access=READ_WRITE | RX),
            var(0x2003, "Serial", DataType.UNSIGNED32, 7),
            pdo_mapping(0x1600, "RxPDO", [pdo_mapping_value(0x2001, 0, 32)], capacity=4),
            sync_manager_types([1, 2, 3, 4]),
            pdo_assignment(2, [0x1600], capacity=3),
        ],
    )
    return CoeServer(od, mailbox_size=MAILBOX)


def exchange(server: CoeServer, request) -> list:
    """Send one master message; the decoded replies, each checked to fit the mailbox."""
    payload = request if isinstance(request, bytes) else request.encode()
    replies = server.handle(payload)
    assert all(len(reply) <= PAYLOAD for reply in replies)
    return [decode_coe(reply, Direction.SLAVE_TO_MASTER) for reply in replies]


def one(server: CoeServer, request):
    """The single reply to ``request``."""
    (reply,) = exchange(server, request)
    return reply


def abort_code(reply) -> int:
    assert isinstance(reply, SdoAbortRequest), reply
    return reply.code


def upload(server: CoeServer, index: int, subindex: int, ca: bool = False) -> bytes:
    """SOEM's upload: initiate, then segments while the normal response left data out."""
    reply = one(server, SdoUploadRequest(index, subindex, ca))
    if isinstance(reply, SdoUploadExpeditedResponse):
        return reply.data
    assert isinstance(reply, SdoUploadNormalResponse), reply
    assert (reply.index, reply.subindex, reply.complete_access) == (index, subindex, ca)
    data, toggle = reply.data, False
    while len(data) < reply.complete_size:
        segment = one(server, SdoUploadSegmentRequest(toggle))
        assert isinstance(segment, SdoUploadSegmentResponse), segment
        assert segment.toggle == toggle
        data += segment.data
        assert segment.last == (len(data) == reply.complete_size)
        toggle = not toggle
    return data


def download(server: CoeServer, index: int, subindex: int, data: bytes, ca: bool = False):
    """SOEM's download: expedited up to 4 octets, else normal plus segments; the last reply."""
    if len(data) <= 4 and not ca:
        return one(server, SdoDownloadExpeditedRequest(index, subindex, data))
    first = MAILBOX - 16
    reply = one(server, SdoDownloadNormalRequest(index, subindex, len(data), data[:first], ca))
    rest, toggle = data[first:], False
    while rest and not isinstance(reply, SdoAbortRequest):
        chunk, rest = rest[: MAILBOX - 9], rest[MAILBOX - 9 :]
        reply = one(server, SdoDownloadSegmentRequest(toggle, chunk, last=not rest))
        if isinstance(reply, SdoDownloadSegmentResponse):
            assert reply.toggle == toggle
        toggle = not toggle
    return reply


# ------------------------------------------------------------------------------ uploads
def test_expedited_upload(server: CoeServer) -> None:
    reply = one(server, SdoUploadRequest(0x2002, 0))
    assert reply == SdoUploadExpeditedResponse(0x2002, 0, b"\x03")
    assert one(server, SdoUploadRequest(0x2003, 0)).data == struct.pack("<I", 7)


def test_normal_upload_when_it_fits(server: CoeServer) -> None:
    server.od.set(0x2000, 0, "twelve chars")
    reply = one(server, SdoUploadRequest(0x2000, 0))
    assert reply == SdoUploadNormalResponse(0x2000, 0, 12, b"twelve chars")


def test_segmented_upload_of_a_string_longer_than_the_mailbox(server: CoeServer) -> None:
    replies = []
    first = one(server, SdoUploadRequest(0x1008, 0))
    assert first.complete_size == len(LONG_NAME) and len(first.data) == PAYLOAD - 10
    data, toggle = first.data, False
    while len(data) < len(LONG_NAME):
        segment = one(server, SdoUploadSegmentRequest(toggle))
        replies.append(segment)
        data += segment.data
        toggle = not toggle
    assert data.decode() == LONG_NAME
    assert [segment.toggle for segment in replies] == [n % 2 == 1 for n in range(len(replies))]
    assert [segment.last for segment in replies] == [False] * (len(replies) - 1) + [True]
    assert len(replies) == math.ceil((len(LONG_NAME) - (PAYLOAD - 10)) / (PAYLOAD - 3))


def test_empty_string_upload_is_a_normal_response_of_size_zero(server: CoeServer) -> None:
    assert one(server, SdoUploadRequest(0x2000, 0)) == SdoUploadNormalResponse(0x2000, 0, 0, b"")


def test_complete_access_upload_of_the_identity(server: CoeServer) -> None:
    data = upload(server, 0x1018, 0, ca=True)
    assert data == struct.pack("<BxIIII", 4, 0x0ABC, 0x1234, 5, 99)
    assert upload(server, 0x1018, 1, ca=True) == data[2:]


# ---------------------------------------------------------------------------- downloads
def test_expedited_download_with_and_without_size(server: CoeServer) -> None:
    assert one(server, SdoDownloadExpeditedRequest(0x2002, 0, b"\x09")) == SdoDownloadResponse(
        0x2002, 0
    )
    assert server.od.get(0x2002, 0) == 9
    reply = one(
        server, SdoDownloadExpeditedRequest(0x2002, 0, b"\x0a\xff\xff\xff", size_indicated=False)
    )
    assert reply == SdoDownloadResponse(0x2002, 0) and server.od.get(0x2002, 0) == 10


def test_normal_download(server: CoeServer) -> None:
    reply = one(server, SdoDownloadNormalRequest(0x2000, 0, 5, b"hello"))
    assert reply == SdoDownloadResponse(0x2000, 0)
    assert server.od.get(0x2000, 0) == "hello"


def test_segmented_download_of_a_string_longer_than_the_mailbox(server: CoeServer) -> None:
    text = "x" * 40 + "y" * 30
    assert isinstance(download(server, 0x2000, 0, text.encode()), SdoDownloadSegmentResponse)
    assert server.od.get(0x2000, 0) == text
    assert upload(server, 0x2000, 0) == text.encode()


def test_initiate_refuses_before_the_segments(server: CoeServer) -> None:
    assert abort_code(one(server, SdoDownloadNormalRequest(0x2003, 0, 30, b"1" * 16))) == 0x06010002
    assert (
        abort_code(one(server, SdoDownloadNormalRequest(0x2000, 0, 101, b"x" * 16))) == 0x06070012
    )
    assert abort_code(one(server, SdoDownloadSegmentRequest(False, b"x" * 7, True))) == 0x05040001


def test_complete_access_download_of_an_assignment(server: CoeServer) -> None:
    reply = download(server, 0x1C12, 0, struct.pack("<BxH", 1, 0x1600), ca=True)
    assert reply == SdoDownloadResponse(0x1C12, 0, complete_access=True)
    mapping = struct.pack(
        "<BxII", 2, pdo_mapping_value(0x2001, 0, 32), pdo_mapping_value(0x2002, 0, 8)
    )
    assert isinstance(download(server, 0x1600, 0, mapping, ca=True), SdoDownloadResponse)
    assert upload(server, 0x1600, 0, ca=True) == mapping
    assert server.od.sync_manager_pdos(2).byte_length == 5


def test_complete_access_download_in_segments(server: CoeServer) -> None:
    mapping = struct.pack(
        "<BxIIII",
        4,
        *[pdo_mapping_value(0x2002, 0, 8)] * 2,
        pdo_mapping_value(0x2001, 0, 32),
        pdo_mapping_value(0, 0, 8),
    )
    assert len(mapping) > MAILBOX - 16
    assert isinstance(download(server, 0x1600, 0, mapping, ca=True), SdoDownloadSegmentResponse)
    assert server.od.get(0x1600, 0) == 4


def test_segmented_download_refused_at_completion_keeps_the_value(server: CoeServer) -> None:
    before = upload(server, 0x1600, 0, ca=True)
    mapping = struct.pack(
        "<BxIIII",
        4,
        *[pdo_mapping_value(0x2002, 0, 8)] * 2,
        pdo_mapping_value(0x2003, 0, 32),
        pdo_mapping_value(0, 0, 8),
    )
    reply = download(server, 0x1600, 0, mapping, ca=True)
    assert abort_code(reply) == 0x06040041 and (reply.index, reply.subindex) == (0x1600, 0)
    assert upload(server, 0x1600, 0, ca=True) == before


# -------------------------------------------------------------------------- abort paths
@pytest.mark.parametrize(
    "request_, code",
    [
        (SdoUploadRequest(0x3000, 0), 0x06020000),
        (SdoUploadRequest(0x1018, 9), 0x06090011),
        (SdoDownloadExpeditedRequest(0x2003, 0, b"\0\0\0\0"), 0x06010002),
        (SdoDownloadExpeditedRequest(0x2001, 0, b"\0\0"), 0x06070013),
        (SdoDownloadExpeditedRequest(0x2001, 0, struct.pack("<i", 1001)), 0x06090031),
        (SdoDownloadExpeditedRequest(0x2001, 0, struct.pack("<i", -1001)), 0x06090032),
        (SdoDownloadExpeditedRequest(0x1600, 1, b"\0\0\0\0"), 0x06010003),
        (SdoDownloadExpeditedRequest(0x1C12, 0, b"\x04"), 0x06090031),
        (SdoUploadRequest(0x2001, 0, complete_access=True), 0x06010000),
        (SdoUploadRequest(0x1008, 0, complete_access=True), 0x06010000),
    ],
)
def test_refused_accesses_are_aborted(server: CoeServer, request_, code: int) -> None:
    reply = one(server, request_)
    assert abort_code(reply) == code
    assert (reply.index, reply.subindex) == (request_.index, request_.subindex)


def test_writes_refused_outside_their_state(server: CoeServer, state: State) -> None:
    state.value = ALState.SAFEOP
    assert abort_code(one(server, SdoDownloadExpeditedRequest(0x1C12, 0, b"\x00"))) == 0x08000022


def test_wrong_upload_toggle_aborts_the_transfer(server: CoeServer) -> None:
    one(server, SdoUploadRequest(0x1008, 0))
    assert abort_code(one(server, SdoUploadSegmentRequest(True))) == 0x05030000
    reply = one(server, SdoUploadSegmentRequest(False))
    assert abort_code(reply) == 0x05040001 and (reply.index, reply.subindex) == (0, 0)


def test_wrong_download_toggle_aborts_the_transfer(server: CoeServer) -> None:
    one(server, SdoDownloadNormalRequest(0x2000, 0, 40, b"a" * 16))
    assert isinstance(
        one(server, SdoDownloadSegmentRequest(False, b"b" * 10, False)), SdoDownloadSegmentResponse
    )
    reply = one(server, SdoDownloadSegmentRequest(False, b"c" * 14, True))
    assert abort_code(reply) == 0x05030000 and (reply.index, reply.subindex) == (0x2000, 0)
    assert server.od.get(0x2000, 0) == ""


@pytest.mark.parametrize("chunks", [[b"b" * 30], [b"b" * 10]], ids=["too much", "last too short"])
def test_segment_lengths_must_add_up(server: CoeServer, chunks: list[bytes]) -> None:
    one(server, SdoDownloadNormalRequest(0x2000, 0, 40, b"a" * 16))
    assert abort_code(one(server, SdoDownloadSegmentRequest(False, chunks[0], True))) == 0x06070010


def test_segments_without_a_transfer(server: CoeServer) -> None:
    assert abort_code(one(server, SdoDownloadSegmentRequest(False, b"x", True))) == 0x05040001
    one(server, SdoUploadRequest(0x1008, 0))
    assert abort_code(one(server, SdoDownloadSegmentRequest(False, b"x", True))) == 0x05040001


def test_master_abort_ends_the_transfer_without_reply(server: CoeServer) -> None:
    one(server, SdoUploadRequest(0x1008, 0))
    assert exchange(server, SdoAbortRequest(0x1008, 0, 0x05040000)) == []
    assert abort_code(one(server, SdoUploadSegmentRequest(False))) == 0x05040001


def test_new_initiate_replaces_a_transfer_in_progress(server: CoeServer) -> None:
    one(server, SdoUploadRequest(0x1008, 0))
    one(server, SdoUploadSegmentRequest(False))
    assert upload(server, 0x1008, 0) == LONG_NAME.encode()


def test_reset_forgets_the_transfer(server: CoeServer) -> None:
    one(server, SdoUploadRequest(0x1008, 0))
    server.reset()
    assert abort_code(one(server, SdoUploadSegmentRequest(False))) == 0x05040001


def test_malformed_sdo_requests(server: CoeServer) -> None:
    header = CoEHeader(CoEService.SDO_REQUEST).encode()
    unknown = header + bytes([5 << 5]) + struct.pack("<HB", 0x2002, 0) + bytes(4)
    assert abort_code(one(server, unknown)) == 0x05040001
    ca_subindex_2 = header + bytes([0x40 | 0x10]) + struct.pack("<HB", 0x1018, 2) + bytes(4)
    reply = one(server, ca_subindex_2)
    assert abort_code(reply) == 0x06010000 and reply.subindex == 2
    long_expedited = SdoDownloadExpeditedRequest(0x2002, 0, b"\x01").encode() + b"\0"
    assert abort_code(one(server, long_expedited)) == 0x06070010
    assert server.od.get(0x2002, 0) == 3


@pytest.mark.parametrize(
    "payload, code",
    [
        (b"\x00", MailboxErrorCode.SIZE_TOO_SHORT),
        (SdoUploadRequest(0x1000, 0).encode()[:8], MailboxErrorCode.SIZE_TOO_SHORT),
        (
            CoEPdoMessage(CoEService.RXPDO, 1, b"\x01").encode(),
            MailboxErrorCode.SERVICE_NOT_SUPPORTED,
        ),
        (Emergency(0x1000).encode(), MailboxErrorCode.SERVICE_NOT_SUPPORTED),
        (SdoUploadNormalResponse(0x1000, 0, 0).encode(), MailboxErrorCode.SERVICE_NOT_SUPPORTED),
        (
            SdoInfoMessage(SdoInfoOpcode.GET_OD_LIST_RESPONSE).encode(),
            MailboxErrorCode.SERVICE_NOT_SUPPORTED,
        ),
        (
            SdoInfoMessage(SdoInfoOpcode.GET_OD_LIST_REQUEST).encode(),
            MailboxErrorCode.SIZE_TOO_SHORT,
        ),
        (
            SdoInfoMessage(SdoInfoOpcode.GET_OD_LIST_REQUEST).encode()[:4],
            MailboxErrorCode.SIZE_TOO_SHORT,
        ),
        (
            CoEHeader(CoEService.SDO_INFORMATION).encode() + b"\x7f\0\0\0",
            MailboxErrorCode.SERVICE_NOT_SUPPORTED,
        ),
    ],
)
def test_mailbox_errors(server: CoeServer, payload: bytes, code: int) -> None:
    with pytest.raises(MailboxError) as info:
        server.handle(payload)
    assert info.value.code == code


# --------------------------------------------------------------------- SDO information
def info(server: CoeServer, body) -> object:
    """Send an SDO information request; check the fragments and join them."""
    fragments = exchange(server, body.message())
    assert [f.fragments_left for f in fragments] == list(range(len(fragments) - 1, -1, -1))
    assert [f.incomplete for f in fragments] == [True] * (len(fragments) - 1) + [False]
    assert all(len(f.data) % 2 == 0 for f in fragments[:-1])
    return decode_sdo_info(fragments)


def test_od_lists_are_fragmented_to_the_mailbox(server: CoeServer) -> None:
    fragments = exchange(server, OdListRequest(OdListType.ALL).message())
    assert len(fragments) > 1
    response = decode_sdo_info(fragments)
    expected = (0x1001, 0x1008, 0x1018, 0x1600, 0x1C00, 0x1C12, 0x2000, 0x2001, 0x2002, 0x2003)
    assert response == OdListResponse(OdListType.ALL, expected)
    assert info(server, OdListRequest(OdListType.LENGTHS)).entries == (10, 2, 0, 0, 0)
    assert info(server, OdListRequest(OdListType.RXPDO_MAPPABLE)).entries == (0x2001, 0x2002)
    assert info(server, OdListRequest(OdListType.TXPDO_MAPPABLE)).entries == ()
    assert info(server, OdListRequest(6)) == SdoInfoError(0x06010000)


def test_soem_reads_od_list_fragments_one_by_one(server: CoeServer) -> None:
    """SOEM counts indices per fragment from its length, skipping the list type in the first."""
    payloads = server.handle(OdListRequest(OdListType.ALL).message().encode())
    indices = []
    for number, payload in enumerate(payloads):
        words = struct.unpack(f"<{(len(payload) - 6) // 2}H", payload[6:])
        indices += words[1:] if number == 0 else words
    assert indices == list(decode_sdo_info([SdoInfoMessage.decode(p) for p in payloads]).entries)


def test_object_description(server: CoeServer) -> None:
    assert info(server, ObjectDescriptionRequest(0x1018)) == ObjectDescriptionResponse(
        0x1018, DataType.IDENTITY, 4, ObjectCode.RECORD, "Identity"
    )
    assert info(server, ObjectDescriptionRequest(0x1C12)) == ObjectDescriptionResponse(
        0x1C12, DataType.UNSIGNED16, 3, ObjectCode.ARRAY, "RxPDO assign"
    )
    assert info(server, ObjectDescriptionRequest(0x2001)) == ObjectDescriptionResponse(
        0x2001, DataType.INTEGER32, 0, ObjectCode.VAR, "Speed"
    )
    assert info(server, ObjectDescriptionRequest(0x3000)) == SdoInfoError(0x06020000)


def test_long_object_description_is_fragmented(server: CoeServer) -> None:
    server.od.add(var(0x2200, "N" * 60, DataType.UNSIGNED8, 0))
    fragments = exchange(server, ObjectDescriptionRequest(0x2200).message())
    assert len(fragments) == math.ceil((6 + 60) / (PAYLOAD - 6))
    assert decode_sdo_info(fragments).name == "N" * 60


def test_entry_description_with_value_info(server: CoeServer) -> None:
    everything = (
        ValueInfo.UNIT_TYPE
        | ValueInfo.DEFAULT_VALUE
        | ValueInfo.MINIMUM_VALUE
        | ValueInfo.MAXIMUM_VALUE
    )
    reply = info(server, EntryDescriptionRequest(0x2001, 0, everything))
    assert reply == EntryDescriptionResponse(
        0x2001,
        0,
        everything,
        DataType.INTEGER32,
        32,
        READ_WRITE | RX,
        "Speed",
        unit_type=0x0057,
        default_value=struct.pack("<i", 100),
        minimum_value=struct.pack("<i", -1000),
        maximum_value=struct.pack("<i", 1000),
    )
    soem = info(server, EntryDescriptionRequest(0x1018, 2, ValueInfo(0x07) | everything))
    assert soem == EntryDescriptionResponse(
        0x1018, 2, ValueInfo(0x07), DataType.UNSIGNED32, 32, READ_ONLY, "Product code"
    )


def test_entry_description_errors(server: CoeServer) -> None:
    assert info(server, EntryDescriptionRequest(0x3000, 0)) == SdoInfoError(0x06020000)
    assert info(server, EntryDescriptionRequest(0x1018, 5)) == SdoInfoError(0x06090011)


# -------------------------------------------------------------------------- emergencies
def test_emergency_updates_the_error_register(server: CoeServer) -> None:
    assert server.raise_emergency(
        0x3210, ErrorRegister.GENERIC | ErrorRegister.VOLTAGE, b"\x01\x02\x03\x04\x05"
    )
    assert server.od.get(0x1001, 0) == 0x05
    assert upload(server, 0x1001, 0) == b"\x05"
    (payload,) = server.pop_emergencies()
    emergency = decode_coe(payload, Direction.SLAVE_TO_MASTER)
    assert emergency == Emergency(0x3210, ErrorRegister(0x05), b"\x01\x02\x03\x04\x05")
    assert server.pop_emergencies() == []
    server.raise_emergency(0x0000, 0)
    assert server.od.get(0x1001, 0) == 0


def test_full_emergency_queue_drops_the_newest(state: State) -> None:
    server = CoeServer(ObjectDictionary(state, [error_register()]), emergency_queue=2)
    results = [server.raise_emergency(0x1000 + n, ErrorRegister.GENERIC) for n in range(4)]
    assert results == [True, True, False, False] and server.emergencies_dropped == 2
    codes = [Emergency.decode(p).error_code for p in server.pop_emergencies()]
    assert codes == [0x1000, 0x1001]
    with pytest.raises(ValueError):
        server.raise_emergency(0x10000, 0)


def test_mailbox_size_limits(server: CoeServer) -> None:
    with pytest.raises(ValueError):
        server.mailbox_size = 15
    server.mailbox_size = 256
    (reply,) = server.handle(SdoUploadRequest(0x1008, 0).encode())
    assert SdoUploadNormalResponse.decode(reply).data == LONG_NAME.encode()
    with pytest.raises(ValueError):
        CoeServer(server.od, emergency_queue=0)


# --------------------------------------------------------------- every fixed-size type
def _values(data_type: DataType) -> st.SearchStrategy:
    bits = DATA_TYPE_BIT_SIZES[data_type]
    if data_type == DataType.BOOLEAN:
        return st.booleans()
    if data_type == DataType.REAL32:
        return st.floats(width=32, allow_nan=False)
    if data_type == DataType.REAL64:
        return st.floats(allow_nan=False)
    if data_type in (DataType.TIME_OF_DAY, DataType.TIME_DIFFERENCE):
        return st.builds(TimeOfDay, st.integers(0, 0x0FFFFFFF), st.integers(0, 0xFFFF))
    if data_type == DataType.GUID:
        return st.binary(min_size=16, max_size=16)
    if data_type.name.startswith("INTEGER"):
        return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return st.integers(0, (1 << bits) - 1)


FIXED_TYPES = sorted(DataType(t) for t in DATA_TYPE_BIT_SIZES)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(FIXED_TYPES).flatmap(lambda t: st.tuples(st.just(t), _values(t))))
def test_every_fixed_size_type_round_trips(case) -> None:
    data_type, value = case
    od = ObjectDictionary(
        lambda: ALState.OP, [var(0x2000, "v", data_type, _zero(data_type), access=READ_WRITE)]
    )
    server = CoeServer(od, mailbox_size=MAILBOX)
    raw = encode_value(data_type, value)
    assert isinstance(
        download(server, 0x2000, 0, raw), (SdoDownloadResponse, SdoDownloadSegmentResponse)
    )
    assert od.get(0x2000, 0) == value
    assert upload(server, 0x2000, 0) == raw
    assert decode_value(data_type, raw) == value


def _zero(data_type: DataType):
    if data_type in (DataType.TIME_OF_DAY, DataType.TIME_DIFFERENCE):
        return TimeOfDay(0, 0)
    if data_type == DataType.GUID:
        return bytes(16)
    if data_type in (DataType.REAL32, DataType.REAL64):
        return 0.0
    return 0
