"""The process image: field names, numpy dtypes, reading and writing by name and attribute, bit
fields, range errors, the double buffer's lock under concurrent access, and a property check of
every field's bits against an independent computation."""

from __future__ import annotations

import math
import struct
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.master.pdo_mapping import (
    Direction,
    MappingSource,
    Pdo,
    PdoEntry,
    ProcessDataLayout,
    SlavePdoMapping,
    SlaveProcessData,
    SyncManagerPdos,
)
from ethercat_master.master.process_image import ProcessImage, ValueKind, field_identifier
from ethercat_master.protocol.coe import DataType

OUT, IN = Direction.OUTPUTS, Direction.INPUTS
U8, U16, U32, I8, I16, I32 = (DataType.UNSIGNED8, DataType.UNSIGNED16, DataType.UNSIGNED32, DataType.INTEGER8,
                              DataType.INTEGER16, DataType.INTEGER32)
BOOL, BIT2 = DataType.BOOLEAN, DataType.BIT2


def mapping(position: int, name: str, outputs: tuple[Pdo, ...] = (), inputs: tuple[Pdo, ...] = ()) -> SlavePdoMapping:
    sms = []
    if outputs:
        sms.append(SyncManagerPdos(2, OUT, outputs, MappingSource.SII))
    if inputs:
        sms.append(SyncManagerPdos(3, IN, inputs, MappingSource.SII))
    return SlavePdoMapping(position, f"position {position} ({name})", tuple(sms))


def layout_of(*mappings: SlavePdoMapping) -> ProcessDataLayout:
    """The layout the planner would make for ``mappings`` (without registers or frames)."""
    slaves = []
    outputs = inputs = 0
    for m in mappings:
        o, i = m.byte_length(OUT), m.byte_length(IN)
        slaves.append(SlaveProcessData(m.position, 0x1001 + m.position, m.name, m, 0 if o or i else None,
                                       outputs, o, inputs, i, 0, 0, (), ()))
        outputs += o
        inputs += i
    return ProcessDataLayout(tuple(slaves), (), outputs, inputs)


DRIVE = mapping(
    4, "drive",
    outputs=(Pdo(0x1600, (PdoEntry(0x6040, 0, 16, "Controlword", U16), PdoEntry(0x607A, 0, 32, "Target position", I32),
                          PdoEntry(0x60FF, 0, 32, "Target velocity", I32),
                          PdoEntry(0x6060, 0, 8, "Modes of operation", I8)), "RxPDO 1"),),
    inputs=(Pdo(0x1A00, (PdoEntry(0x6041, 0, 16, "Statusword", U16),
                         PdoEntry(0x6064, 0, 32, "Position actual value", I32)), "TxPDO 1"),),
)
DIGITAL_IN = mapping(1, "EL1008", inputs=tuple(
    Pdo(0x1A00 + n, (PdoEntry(0x6000 + 0x10 * n, 1, 1, "Input", BOOL),), f"Channel {n + 1}") for n in range(8)))


def analog_pdo(index: int, channel: int) -> Pdo:
    base = 0x6000 + 0x10 * channel
    return Pdo(index, (
        PdoEntry(base, 1, 1, "Status__Underrange", BOOL), PdoEntry(base, 2, 1, "Status__Overrange", BOOL),
        PdoEntry(base, 3, 2, "Status__Limit 1", BIT2), PdoEntry(base, 5, 2, "Status__Limit 2", BIT2),
        PdoEntry(base, 7, 1, "Status__Error", BOOL), PdoEntry(0, 0, 6),
        PdoEntry(base, 14, 1, "Status__Sync error", BOOL), PdoEntry(base, 15, 1, "Status__TxPDO State", BOOL),
        PdoEntry(base, 16, 1, "Status__TxPDO Toggle", BOOL), PdoEntry(base, 17, 16, "Value", I16),
    ), f"AI Standard Channel {channel + 1}")


ANALOG = mapping(3, "EL3102", inputs=(analog_pdo(0x1A02, 0), analog_pdo(0x1A04, 1)))
#: Odd entries: bits before aligned ones, a 24-bit signed value off the octet grid, floats,
#: a name starting with a digit, no name, the same name twice in one PDO.
ODD = mapping(9, "odd", outputs=(Pdo(0x1600, (
    PdoEntry(0x2000, 1, 1, "Enable", BOOL),
    PdoEntry(0x2000, 2, 3, "Mode bits", DataType.BIT3),
    PdoEntry(0x2000, 3, 24, "Offset", DataType.INTEGER24),   # bits 4..27
    PdoEntry(0x2000, 4, 4, "", 0),                            # bits 28..31
    PdoEntry(0x2000, 5, 32, "Gain", DataType.REAL32),         # octet 4
    PdoEntry(0x2000, 6, 1, "1st flag", BOOL),                 # bit 64
    PdoEntry(0x2000, 7, 32, "Scale", DataType.REAL32),        # bits 65..96, not on an octet
    PdoEntry(0x2000, 8, 7, "X", 0),
    PdoEntry(0x2000, 9, 8, "X", U8),
), "Odd PDO"),))


@pytest.fixture
def image() -> ProcessImage:
    return ProcessImage(layout_of(DIGITAL_IN, ANALOG, DRIVE, ODD))


# -------------------------------------------------------------------------------- names
def test_field_identifiers():
    assert field_identifier("Position actual value") == "position_actual_value"
    assert field_identifier("Status__Limit 1") == "status_limit_1"
    assert field_identifier("1st flag") == "field_1st_flag"
    assert field_identifier(" -- ") == ""


def test_fields_are_named_after_their_entries_and_qualified_where_names_repeat(image):
    assert list(image.outputs[4].info.fields) == ["controlword", "target_position", "target_velocity",
                                                  "modes_of_operation"]
    assert list(image.inputs[4].info.fields) == ["statusword", "position_actual_value"]
    assert list(image.inputs[1].info.fields) == [f"channel_{n}_input" for n in range(1, 9)]
    analog = list(image.inputs[3].info.fields)
    assert len(analog) == 18 and analog[:3] == ["ai_standard_channel_1_status_underrange",
                                               "ai_standard_channel_1_status_overrange",
                                               "ai_standard_channel_1_status_limit_1"]
    assert analog[8] == "ai_standard_channel_1_value" and analog[17] == "ai_standard_channel_2_value"
    assert list(image.outputs[9].info.fields) == ["enable", "mode_bits", "offset", "entry_2000_04", "gain",
                                             "field_1st_flag", "scale", "odd_pdo_x", "odd_pdo_x_2"]


def test_octet_aligned_fields_form_the_structured_dtype_and_bit_fields_do_not(image):
    drive = image.outputs[4]
    assert drive.info.dtype == np.dtype({"names": ["controlword", "target_position", "target_velocity",
                                              "modes_of_operation"],
                                    "formats": ["<u2", "<i4", "<i4", "i1"], "offsets": [0, 2, 6, 10],
                                    "itemsize": 11})
    analog = image.inputs[3]
    assert analog.info.dtype.names == ("ai_standard_channel_1_value", "ai_standard_channel_2_value")
    assert [analog.info.dtype.fields[name][1] for name in analog.info.dtype.names] == [2, 6]
    odd = image.outputs[9]
    assert odd.info.dtype.names == ("gain", "odd_pdo_x_2")
    assert odd.info.fields["scale"].kind is ValueKind.FLOAT and not odd.info.fields["scale"].aligned
    assert odd.info.fields["offset"].kind is ValueKind.SIGNED and odd.info.fields["offset"].numpy_dtype is None


# ------------------------------------------------------------------------- read/write
def test_outputs_written_by_name_and_attribute_land_little_endian_in_the_staged_image(image):
    drive = image.slave(4).outputs
    drive.controlword = 0x000F
    drive["target_position"] = -2
    drive.write(target_velocity=0x01020304, modes_of_operation=-3)
    offset = drive.info.offset
    assert bytes(image.outputs_buffer[offset:offset + drive.info.size]) == \
        b"\x0f\x00" + b"\xfe\xff\xff\xff" + b"\x04\x03\x02\x01" + b"\xfd"
    assert drive.read() == {"controlword": 15, "target_position": -2, "target_velocity": 0x01020304,
                            "modes_of_operation": -3}
    assert int(drive.array["target_position"]) == -2
    assert image.slave(4).outputs is image.outputs[4]


def test_inputs_are_read_from_the_published_image(image):
    digital, analog, drive = image.inputs[1], image.inputs[3], image.inputs[4]
    image.inputs_buffer[digital.info.offset] = 0xA5
    # channel 1: underrange, limit 1 = 2, toggle, value -1000; channel 2: limit 2 = 3, value 8192
    image.inputs_buffer[analog.info.offset:analog.info.offset + 8] = np.frombuffer(
        struct.pack("<HhHh", 0x0001 | 2 << 2 | 1 << 15, -1000, 3 << 4, 8192), np.uint8)
    image.inputs_buffer[drive.info.offset:drive.info.offset + 6] = np.frombuffer(struct.pack("<Hi", 0x1237, -5),
                                                                                 np.uint8)
    assert [digital[f"channel_{n}_input"] for n in range(1, 9)] == [True, False, True, False, False, True, False,
                                                                    True]
    assert (analog.ai_standard_channel_1_status_underrange, analog.ai_standard_channel_1_status_limit_1,
            analog.ai_standard_channel_1_status_txpdo_toggle, analog.ai_standard_channel_1_value) == (True, 2, True,
                                                                                                    -1000)
    assert (analog.ai_standard_channel_2_status_limit_1, analog.ai_standard_channel_2_status_limit_2,
            analog.ai_standard_channel_2_value) == (0, 3, 8192)
    assert (drive.statusword, drive.position_actual_value) == (0x1237, -5)


def test_bit_fields_change_only_their_bits(image):
    odd = image.outputs[9]
    start, end = odd.info.offset, odd.info.offset + odd.info.size
    image.outputs_buffer[start:end] = 0xFF
    odd.enable = False
    odd.mode_bits = 0b010
    odd.offset = -2
    odd.scale = 1.5
    odd.odd_pdo_x = 0
    value = int.from_bytes(bytes(image.outputs_buffer[start:end]), "little")
    assert value & 1 == 0
    assert (value >> 1) & 0b111 == 0b010
    assert (value >> 4) & 0xFFFFFF == 0xFFFFFE
    assert (value >> 28) & 0xF == 0xF            # the unnamed entry kept its bits
    assert (value >> 64) & 1 == 1                # field_1st_flag untouched
    assert struct.unpack("<f", ((value >> 65) & 0xFFFFFFFF).to_bytes(4, "little"))[0] == 1.5
    assert (value >> 97) & 0x7F == 0
    assert (odd.enable, odd.mode_bits, odd.offset, odd.scale, odd.field_1st_flag) == (False, 2, -2, 1.5, True)
    odd.gain = -0.25
    assert odd.gain == -0.25


def test_values_that_do_not_fit_are_refused_naming_slave_and_field(image):
    drive, odd = image.outputs[4], image.outputs[9]
    with pytest.raises(ValueError, match=r"position 4 \(drive\) outputs: controlword = 70000: does not fit unsigned"):
        drive.controlword = 70000
    with pytest.raises(ValueError, match=r"mode_bits = 8: outside 0\.\.7 \(3 bits\)"):
        odd.mode_bits = 8
    with pytest.raises(ValueError, match=r"offset = -8388609: outside -8388608\.\.8388607"):
        odd.offset = -(1 << 23) - 1
    with pytest.raises(ValueError, match=r"enable = 2"):
        odd.enable = 2
    with pytest.raises(ValueError, match=r"mode_bits = 1\.5"):
        odd.mode_bits = 1.5
    assert (drive.controlword, odd.mode_bits, odd.enable) == (0, 0, False)


def test_unknown_fields_are_named_with_the_fields_there_are(image):
    drive = image.outputs[4]
    with pytest.raises(KeyError, match=r"position 4 \(drive\) outputs has no field 'speed' \(fields: controlword, "):
        drive["speed"]
    with pytest.raises(AttributeError, match=r"has no field 'speed'"):
        drive.speed = 3
    with pytest.raises(KeyError):
        drive.write(controlword=6, speed=3)
    assert drive.controlword == 0  # nothing written when one name is unknown
    with pytest.raises(KeyError, match=r"no slave at position 12"):
        image.slave(12)
    assert len(image) == len(image.outputs) == 4 and [area.info.position for area in image.inputs] == [1, 3, 4, 9]


# ----------------------------------------------------------------------- double buffer
def test_a_set_of_fields_written_together_is_never_seen_torn():
    image = ProcessImage(layout_of(DRIVE))
    drive = image.outputs[4]
    sent = memoryview(image.outputs_buffer)
    frame = bytearray(drive.info.size)
    stop = threading.Event()
    torn = []
    copies = 0

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            drive.write(target_position=n, target_velocity=n)
            with image.lock:  # the same with attribute writes inside the lock
                drive.target_position = -n
                drive.target_velocity = -n

    thread = threading.Thread(target=writer)
    thread.start()
    end = time.monotonic() + 0.3
    try:
        while time.monotonic() < end:
            with image.lock:  # what the cycle does: one copy of the staged image under the lock
                frame[:] = sent[:drive.info.size]
            copies += 1
            position, velocity = struct.unpack_from("<ii", frame, 2)
            if position != velocity:
                torn.append((position, velocity))
    finally:
        stop.set()
        thread.join()
    assert copies > 100 and not torn


# ---------------------------------------------------------------------------- property
KINDS = st.sampled_from([(U16, 16), (I16, 16), (U32, 32), (I32, 32), (U8, 8), (I8, 8), (BOOL, 1), (BIT2, 2),
                         (DataType.UNSIGNED24, 24), (DataType.INTEGER24, 24), (0, 5), (0, 13),
                         (DataType.INTEGER64, 64), (DataType.UNSIGNED64, 64)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(KINDS, st.booleans()), min_size=1, max_size=12), st.data())
def test_every_field_holds_exactly_its_bits(entries, data):
    pdo_entries = []
    for n, ((data_type, bits), gap_before) in enumerate(entries):
        if gap_before:
            pdo_entries.append(PdoEntry(0, 0, 3))
        pdo_entries.append(PdoEntry(0x2000, n + 1, bits, f"F{n}", data_type))
    image = ProcessImage(layout_of(mapping(0, "random", outputs=(Pdo(0x1600, tuple(pdo_entries), "P"),))))
    area = image.outputs[0]
    values = {}
    for field in area.info.fields.values():
        bits = field.bit_length
        if field.kind is ValueKind.BOOL:
            value = data.draw(st.booleans())
        elif field.kind is ValueKind.SIGNED:
            value = data.draw(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1))
        else:
            value = data.draw(st.integers(0, (1 << bits) - 1))
        area[field.name] = value
        values[field.name] = value
    assert area.read() == values
    whole = int.from_bytes(bytes(image.outputs_buffer), "little")
    covered = 0
    for field in area.info.fields.values():
        mask = (1 << field.bit_length) - 1
        assert (whole >> field.bit_offset) & mask == int(values[field.name]) & mask
        covered |= mask << field.bit_offset
    assert whole & ~covered == 0  # gaps and padding stay zero
    assert math.ceil(sum(e.bit_length for e in pdo_entries) / 8) == area.info.size


def test_names_the_area_or_python_use_get_a_trailing_underscore():
    pdo = Pdo(0x1A00, (PdoEntry(0x2000, 1, 8, "Read", U8), PdoEntry(0x2000, 2, 8, "in", U8),
                       PdoEntry(0x2000, 3, 8, "Info", U8)), "P")
    area = ProcessImage(layout_of(mapping(0, "names", inputs=(pdo,)))).inputs[0]
    assert list(area.info.fields) == ["read_", "in_", "info_"]
    assert (area.read_, area["in_"], area.info_) == (0, 0, 0)
