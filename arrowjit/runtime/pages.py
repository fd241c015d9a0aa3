"""Reading a Parquet column chunk with the native page decoder (:mod:`.pagecodec`).

The scanner asks here first for each fixed-width column of a row group it
reads; None sends it to pyarrow's reader as before. This module decides
which chunks the decoder may take (from the file's metadata), reads their
bytes, gives the decoder its buffers and turns its :class:`Status` into an
Arrow array or None::

    chunk metadata --(eligible?)--> chunk bytes --decode_chunk_<bits>--> values (+ validity) --> pa.Array
                        | no                              | unsupported or damaged
                        v                                 v
                      None (pyarrow reads the column)   None

``ARROWJIT_PAGES=0`` turns the decoder off.
"""

from __future__ import annotations

import ctypes
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .buffers import ColumnBuffers
from .kernel import Kernel
from .native import native
from .pagecodec import HEADROOM, SINK_SLOTS, Codec, Status

ENABLE = "ARROWJIT_PAGES"

# Arrow type -> the Parquet physical type it is stored as, bit for bit (pyarrow reads these with no
# conversion): the decoder copies their values as they lie in the pages.
STORED_AS: dict[pa.DataType, str] = {
    pa.int32(): "INT32", pa.uint32(): "INT32", pa.date32(): "INT32", pa.float32(): "FLOAT",
    pa.int64(): "INT64", pa.uint64(): "INT64", pa.float64(): "DOUBLE",
}
# Timestamps and times are stored as they are when the column's logical type has the Arrow type's unit.
TIME_UNITS: dict[str, str] = {"milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns"}
# The encodings a chunk's metadata may list for the decoder to take it (BIT_PACKED: old levels' name).
ENCODINGS = frozenset({"PLAIN", "RLE", "RLE_DICTIONARY", "PLAIN_DICTIONARY", "BIT_PACKED"})
CODECS: dict[str, Codec] = {"UNCOMPRESSED": Codec.UNCOMPRESSED, "SNAPPY": Codec.SNAPPY}
FIRST_BUFFER = 1 << 20  # scratch and dictionary bytes given at first (pyarrow's pages are at most ~1 MB)
MAX_BUFFER = 1 << 31  # a page's size is an i32
STREAM_ROWS = 1 << 17  # rows of one streamed page the output holds at first (pyarrow writes 20,000)
SNAPPY_MAX_RATIO = 22  # snappy decodes at most 64 bytes from 3 (a copy with a 2-byte offset)


def enabled() -> bool:
    """Whether scans read eligible chunks with the native decoder (on unless ARROWJIT_PAGES=0)."""
    return os.environ.get(ENABLE, "1") != "0"


@dataclass(frozen=True)
class Chunk:
    """Where one column chunk lies in its file and how it is stored."""

    start: int
    size: int
    rows: int
    type: pa.DataType
    codec: Codec
    optional: bool
    uncompressed_size: int
    nulls_possible: bool  # optional and its statistics do not say it has no null


def _stored_as(type_: pa.DataType, column: Any) -> str | None:
    """The physical type whose values are ``type_``'s bit for bit, or None."""
    if type_ in STORED_AS:
        return STORED_AS[type_]
    is_timestamp = pa.types.is_timestamp(type_)
    if is_timestamp or pa.types.is_time(type_):
        logical = json.loads(column.logical_type.to_json())
        if logical.get("Type") == ("Timestamp" if is_timestamp else "Time") \
                and TIME_UNITS.get(logical.get("timeUnit")) == type_.unit:
            return "INT32" if type_.bit_width == 32 else "INT64"
    return None


def eligible(chunk: Any, column: Any, type_: pa.DataType, rows: int, file_size: int) -> Chunk | None:
    """The :class:`Chunk` to decode, or None when the decoder cannot take it.

    ``chunk`` is the row group's ``ColumnChunkMetaData``, ``column`` the
    file schema's ``ColumnSchema``, ``type_`` the column's Arrow type as
    pyarrow reads the file.
    """
    if _stored_as(type_, column) != chunk.physical_type or chunk.compression not in CODECS \
            or column.max_repetition_level != 0 or column.max_definition_level not in (0, 1) \
            or chunk.num_values != rows or rows <= 0 or not ENCODINGS.issuperset(chunk.encodings):
        return None
    start = chunk.data_page_offset
    if chunk.has_dictionary_page and chunk.dictionary_page_offset:
        start = min(start, chunk.dictionary_page_offset)
    size = chunk.total_compressed_size
    if start < 4 or size <= 0 or start + size > file_size - 8:
        return None
    optional = column.max_definition_level == 1
    statistics = chunk.statistics
    no_nulls = statistics is not None and statistics.has_null_count and statistics.null_count == 0
    return Chunk(start, size, rows, type_, CODECS[chunk.compression], optional, chunk.total_uncompressed_size,
                 optional and not no_nulls)


class Workspace:
    """Memory one thread reuses from one column chunk to the next: the chunk's bytes, the decoder's
    scratch and dictionary buffers, a streaming call's one-page output. (Arrow's pool hands large
    buffers back to the system: fresh ones would fault their pages in again for every chunk.)
    Nothing that outlives a call (an array handed back) comes from here."""

    def __init__(self) -> None:
        self._buffers: dict[str, pa.Buffer] = {}

    def buffer(self, name: str, size: int) -> pa.Buffer:
        """A buffer of at least ``size`` bytes (what it held before is undefined)."""
        found = self._buffers.get(name)
        if found is None or found.size < size:
            found = self._buffers[name] = pa.allocate_buffer(size)
        return found

    def read(self, source: Any, start: int, size: int) -> pa.Buffer:
        """``size`` bytes of ``source`` (a pyarrow NativeFile) from ``start`` (fewer at its end)."""
        into = self.buffer("chunk", size)
        source.seek(start)
        return into.slice(0, source.readinto(memoryview(into)[:size]))


def _fresh(name: str, size: int) -> pa.Buffer:
    return pa.allocate_buffer(size)


@dataclass
class _Output:
    """Where the decoder writes: a chunk's rows, or (streaming) one page's at a time."""

    rows: int  # the rows out and validity hold
    width: int
    optional: bool
    allocate: Callable[[str, int], pa.Buffer] = _fresh

    def __post_init__(self) -> None:
        self.headroom = self.allocate("values", HEADROOM + self.rows * self.width // 8 + 64)  # (HEADROOM)
        self.values = self.headroom.slice(HEADROOM)
        # (the kernel reads whole words of the bitmap, and 9 bytes at a bit offset: 16 bytes spare)
        self.validity = self.allocate("validity", (self.rows + 7) // 8 + 16) if self.optional else None


def _sink(**slots: int) -> ctypes.Array:
    """A streaming call's sink (see pagecodec.SINK_SLOTS): the named slots, the others null."""
    unknown = set(slots) - set(SINK_SLOTS)
    if unknown:
        raise ValueError(f"no sink slot {sorted(unknown)}")
    return (ctypes.c_void_p * len(SINK_SLOTS))(*(slots.get(name, 0) for name in SINK_SLOTS))


def _address(buffer: pa.Buffer | None) -> int:
    return 0 if buffer is None else buffer.address


def _decode(chunk: Chunk, data: pa.Buffer, rows: int, streaming: Callable[[_Output], tuple[Any, Any]] | None,
            workspace: Workspace | None) -> tuple[Status, _Output, list[int]]:
    """Run the decoder until it has the buffers it needs: (status, output, info).

    ``streaming(output)``: the sink (see pagecodec) for an output of one page,
    and what must stay alive while it runs.
    """
    width = chunk.type.bit_width
    decoder = native().decode_chunk(width)
    info = pa.py_buffer(bytearray(40))
    first = min(FIRST_BUFFER, max(chunk.uncompressed_size, 1))
    room = [first, first, rows]
    allocate = _fresh if workspace is None else workspace.buffer
    while True:
        output = _Output(room[2], width, chunk.optional, allocate if streaming is not None else _fresh)
        scratch, dictionary = allocate("scratch", room[0]), allocate("dictionary", room[1])
        sink, keep = streaming(output) if streaming is not None else (None, None)
        status = Status(decoder(data.address, data.size, chunk.rows, int(chunk.codec), int(chunk.optional),
                                scratch.address, scratch.size, dictionary.address, dictionary.size,
                                output.values.address, _address(output.validity), output.rows, sink,
                                info.address))
        del keep
        values = list(memoryview(info).cast("q"))
        if status != Status.NEED_BUFFERS:
            return status, output, values
        grown = [max(room[0], values[0]), max(room[1], values[1]), max(room[2], values[3])]
        # (A page asking for more than its chunk's bytes can decode to is damaged: no 2 GB scratch for it.)
        if grown == room or max(grown[:2]) > min(MAX_BUFFER, SNAPPY_MAX_RATIO * chunk.size) \
                or grown[2] > chunk.rows:
            return Status.BAD_HEADER, output, values
        room = grown


def decode(chunk: Chunk, data: pa.Buffer) -> tuple[Status, pa.Array | None]:
    """The chunk's values from its bytes ``data`` (``chunk.size`` of them): (OK, the array), or
    (why not, None)."""
    if data.size != chunk.size:
        return Status.TRUNCATED, None
    status, output, info = _decode(chunk, data, chunk.rows, None, None)
    if status != Status.OK:
        return status, None
    nulls = info[2]
    return status, pa.Array.from_buffers(chunk.type, chunk.rows, [output.validity if nulls else None,
                                                                  output.values], null_count=nulls)


def count(chunk: Chunk, data: pa.Buffer, kernel: Kernel, params: np.ndarray | None,
          workspace: Workspace | None = None) -> tuple[Status, int]:
    """How many of the chunk's rows a filter kernel on this one column keeps, each page counted
    as soon as it is decoded, while it is still in the core's cache (nothing else is written):
    (OK, the count), or (why not, 0)."""
    columns = kernel.layout.columns
    if len(columns) != 1 or columns[0].dtype.is_string or columns[0].dtype.bits != chunk.type.bit_width:
        raise ValueError("count() takes the kernel of a filter on the chunk's one column")  # (a bug)
    if data.size != chunk.size:
        return Status.TRUNCATED, 0
    compiled = kernel.compiled  # (this tier's code stays alive while the kernel does)

    def streaming(output: _Output) -> tuple[Any, Any]:
        columns = [ColumnBuffers(output.values.address, _address(output.validity) or None, 0, output.rows)]
        arguments = kernel.arguments(columns)
        bitmap = output.allocate("bitmap", (output.rows + 63) // 64 * 8 + 64)
        params_address = 0 if params is None else params.ctypes.data
        sink = _sink(kernel=compiled.address, buffers=ctypes.addressof(arguments[0]),
                     offsets=ctypes.addressof(arguments[1]), params=params_address, bitmap=bitmap.address)
        return ctypes.addressof(sink), (arguments, bitmap, sink)

    status, _, info = _decode(chunk, data, min(chunk.rows, STREAM_ROWS), streaming, workspace)
    if status == Status.OK and info[2] and kernel.layout.columns[0].validity_slot is None:
        return Status.BAD_HYBRID, 0  # nulls where the statistics said none: counted as values
    return status, info[4] if status == Status.OK else 0


def select(chunk: Chunk, data: pa.Buffer, words: np.ndarray, kept: int,
           workspace: Workspace | None = None) -> tuple[Status, pa.Array | None]:
    """The chunk's rows whose bit is set in the selection bitmap ``words`` (``kept`` of them), each
    page's taken as soon as it is decoded, while it is still in the core's cache (the chunk is
    never written whole): (OK, the array), or (why not, None)."""
    if data.size != chunk.size or len(words) * 64 < chunk.rows:
        return Status.TRUNCATED, None
    width = chunk.type.bit_width
    selection = np.zeros(len(words) + 2, dtype=np.uint64)  # (9 bytes to spare: see _selection_word)
    whole, rest = divmod(chunk.rows, 64)
    selection[:whole] = words[:whole]
    if rest:
        selection[whole] = words[whole] & np.uint64((1 << rest) - 1)  # (no bit past the chunk's rows)
    if int(np.bitwise_count(selection).sum()) != kept:  # (the picks are written to kept slots)
        return Status.COUNT_MISMATCH, None
    picked = pa.allocate_buffer(kept * width // 8 + 8)
    picked_validity = pa.allocate_buffer((kept + 7) // 8 + 8) if chunk.nulls_possible else None

    def streaming(_output: _Output) -> tuple[Any, Any]:
        sink = _sink(selection=selection.ctypes.data, picked=picked.address,
                     picked_validity=_address(picked_validity))
        return ctypes.addressof(sink), sink

    status, _, info = _decode(chunk, data, min(chunk.rows, STREAM_ROWS), streaming, workspace)
    if status != Status.OK:
        return status, None
    if info[4] != kept:
        return Status.COUNT_MISMATCH, None
    if info[2] and picked_validity is None:  # statistics said no null: the file is damaged
        return Status.BAD_HYBRID, None
    nulls = -1 if info[2] else 0  # (-1: Arrow counts them in the bitmap)
    return status, pa.Array.from_buffers(chunk.type, kept, [picked_validity if nulls else None, picked],
                                         null_count=nulls)


def _bytes(source: Any, chunk: Chunk, workspace: Workspace | None) -> pa.Buffer:
    if workspace is not None:
        return workspace.read(source, chunk.start, chunk.size)
    source.seek(chunk.start)
    return source.read_buffer(chunk.size)


def read(source: Any, chunk: Chunk, workspace: Workspace | None = None) -> pa.Array | None:
    """The chunk's values read from ``source`` (a pyarrow NativeFile), or None (read it with pyarrow)."""
    return decode(chunk, _bytes(source, chunk, workspace))[1]


def read_selected(source: Any, chunk: Chunk, words: np.ndarray, kept: int,
                  workspace: Workspace | None = None) -> pa.Array | None:
    """:func:`select` on the chunk read from ``source``, or None (read it with pyarrow)."""
    return select(chunk, _bytes(source, chunk, workspace), words, kept, workspace)[1]


def read_count(source: Any, chunk: Chunk, kernel: Kernel, params: np.ndarray | None,
               workspace: Workspace | None = None) -> int | None:
    """:func:`count` on the chunk read from ``source``, or None (read it with pyarrow)."""
    status, kept = count(chunk, _bytes(source, chunk, workspace), kernel, params, workspace)
    return kept if status == Status.OK else None
