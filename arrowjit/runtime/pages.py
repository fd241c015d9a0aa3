"""Reading a Parquet column chunk with the native page decoder (:mod:`.pagecodec`).

The scanner asks here first for each fixed-width column of a row group it
reads; None sends it to pyarrow's reader as before. This module decides
which chunks the decoder may take (from the file's metadata), reads their
bytes, gives the decoder its buffers and turns its :class:`Status` into an
Arrow array or None::

    chunk metadata --(eligible?)--> chunk bytes --decode_chunk_<bits>--> values buffer --> pa.Array
                        | no                              | HAS_NULLS, unsupported, damaged
                        v                                 v
                      None (pyarrow reads the column)   None

The decoder writes no validity bitmap, so a chunk with a null goes to
pyarrow (the chunk's statistics usually say so before anything is read).
``ARROWJIT_PAGES=0`` turns the decoder off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .native import native
from .pagecodec import HEADROOM, Codec, Status

ENABLE = "ARROWJIT_PAGES"

# Arrow type -> the Parquet physical type it is stored as, bit for bit (pyarrow reads these with no
# conversion): the decoder copies their values as they lie in the pages.
STORED_AS: dict[pa.DataType, str] = {
    pa.int32(): "INT32", pa.uint32(): "INT32", pa.date32(): "INT32", pa.float32(): "FLOAT",
    pa.int64(): "INT64", pa.uint64(): "INT64", pa.float64(): "DOUBLE",
}
CODECS: dict[str, Codec] = {"UNCOMPRESSED": Codec.UNCOMPRESSED, "SNAPPY": Codec.SNAPPY}
FIRST_BUFFER = 1 << 20  # scratch and dictionary bytes given at first (pyarrow's pages are at most ~1 MB)
MAX_BUFFER = 1 << 31  # a page's size is an i32
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


def eligible(chunk: Any, column: Any, type_: pa.DataType, rows: int, file_size: int) -> Chunk | None:
    """The :class:`Chunk` to decode, or None when the decoder cannot take it.

    ``chunk`` is the row group's ``ColumnChunkMetaData``, ``column`` the
    file schema's ``ColumnSchema``, ``type_`` the column's Arrow type as
    pyarrow reads the file.
    """
    statistics = chunk.statistics
    if STORED_AS.get(type_) != chunk.physical_type or chunk.compression not in CODECS \
            or column.max_repetition_level != 0 or column.max_definition_level not in (0, 1) \
            or chunk.num_values != rows or rows <= 0:
        return None
    if statistics is not None and statistics.has_null_count and statistics.null_count > 0:
        return None  # (nulls: pyarrow builds the bitmap)
    start = chunk.data_page_offset
    if chunk.has_dictionary_page and chunk.dictionary_page_offset:
        start = min(start, chunk.dictionary_page_offset)
    size = chunk.total_compressed_size
    if start < 4 or size <= 0 or start + size > file_size - 8:
        return None
    return Chunk(start, size, rows, type_, CODECS[chunk.compression], column.max_definition_level == 1,
                 chunk.total_uncompressed_size)


def decode(chunk: Chunk, data: pa.Buffer) -> tuple[Status, pa.Array | None]:
    """The chunk's values from its bytes ``data`` (``chunk.size`` of them): (OK, the array), or
    (why not, None)."""
    if data.size != chunk.size:
        return Status.TRUNCATED, None
    width = chunk.type.bit_width
    decoder = native().decode_chunk(width)
    room_before = pa.allocate_buffer(HEADROOM + chunk.rows * width // 8)  # (see pagecodec.HEADROOM)
    out = room_before.slice(HEADROOM)
    info = pa.py_buffer(bytearray(16))
    first = min(FIRST_BUFFER, max(chunk.uncompressed_size, 1))
    room = [first, first]
    while True:
        scratch, dictionary = pa.allocate_buffer(room[0]), pa.allocate_buffer(room[1])
        status = Status(decoder(data.address, data.size, chunk.rows, int(chunk.codec), int(chunk.optional),
                                scratch.address, scratch.size, dictionary.address, dictionary.size,
                                out.address, info.address))
        if status != Status.NEED_BUFFERS:
            break
        needed = memoryview(info).cast("q")
        grown = [max(have, need) for have, need in zip(room, needed)]
        # (A page asking for more than its chunk's bytes can decode to is damaged: no 2 GB scratch for it.)
        if grown == room or max(grown) > min(MAX_BUFFER, SNAPPY_MAX_RATIO * chunk.size):
            return Status.BAD_HEADER, None
        room = grown
    if status != Status.OK:
        return status, None
    return status, pa.Array.from_buffers(chunk.type, chunk.rows, [None, out], null_count=0)


def read(source: Any, chunk: Chunk) -> pa.Array | None:
    """The chunk's values read from ``source`` (a pyarrow NativeFile), or None (read it with pyarrow)."""
    source.seek(chunk.start)
    return decode(chunk, source.read_buffer(chunk.size))[1]
