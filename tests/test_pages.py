"""The native Parquet page decoder (runtime/pagecodec.py, runtime/pages.py), with pyarrow as the oracle.

Every chunk pyarrow writes in a form the decoder takes must decode to exactly
what ``ParquetFile.read_row_group`` gives for it, bit for bit (NaN payloads,
-0.0), nulls included; every other chunk must be declined by ``eligible`` or
by the status ``decode`` returns (never a wrong value). Damaged chunks
(every byte changed, every truncation, hand-made headers) must never crash
the process and never decode to anything but what pyarrow reads from the same
bytes. The damaged chunks run through the raw native function with every
buffer ending at an inaccessible page, so a read or write one byte past a
buffer is a crash here, not silent. Scans must give the same results with
the decoder on and off (``ARROWJIT_PAGES=0``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import mmap
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arrowjit
from arrowjit.runtime import pages
from arrowjit.runtime import parquet_format as fmt
from arrowjit.runtime.native import native
from arrowjit.runtime.pagecodec import HEADROOM, Codec, Status

TYPES = {"i32": pa.int32(), "i64": pa.int64(), "u32": pa.uint32(), "u64": pa.uint64(),
         "f32": pa.float32(), "f64": pa.float64(), "date": pa.date32()}
NUMPY = {"i32": np.int32, "i64": np.int64, "u32": np.uint32, "u64": np.uint64, "f32": np.float32,
         "f64": np.float64, "date": np.int32}
NAN_PAYLOAD = {"f32": np.array([0x7FC01234], np.uint32).view(np.float32)[0],
               "f64": np.array([0xFFF8_0000_DEAD_BEEF], np.uint64).view(np.float64)[0]}


# ---------------------------------------------------------------------------
# Helpers: tables, bit patterns, a reader of page headers, chunks of a file.
# ---------------------------------------------------------------------------

def _values(kind: str, rows: int, rng: np.random.Generator, distinct: int | None) -> np.ndarray:
    dtype = np.dtype(NUMPY[kind])
    if dtype.kind == "f":
        values = (rng.uniform(-1e6, 1e6, rows) if distinct is None
                  else rng.integers(0, distinct, rows) / 8).astype(dtype)
        for k, special in enumerate([np.nan, -0.0, 0.0, np.inf, -np.inf, NAN_PAYLOAD[kind],
                                     np.finfo(dtype).smallest_subnormal, np.finfo(dtype).max]):
            values[(k * 131) % rows] = special
        return values
    info = np.iinfo(dtype)
    values = (rng.integers(info.min, info.max, rows, dtype=dtype, endpoint=True) if distinct is None
              else rng.integers(0, distinct, rows).astype(dtype))
    for k, special in enumerate([info.min, info.max, 0]):
        values[(k * 131) % rows] = special
    return values


def _table(rows: int, seed: int = 1, distinct: int | None = None) -> pa.Table:
    """Each type twice: required (``<kind>_req``) and nullable without a null (``<kind>_opt``)."""
    rng = np.random.default_rng(seed)
    fields, columns = [], []
    for kind, type_ in TYPES.items():
        values = _values(kind, rows, rng, distinct)
        array = pa.array(values.view(np.int32), pa.int32()).cast(pa.date32()) if kind == "date" \
            else pa.array(values, type_)
        for suffix, nullable in (("req", False), ("opt", True)):
            fields.append(pa.field(f"{kind}_{suffix}", type_, nullable=nullable))
            columns.append(array)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _bits(array: pa.Array | pa.ChunkedArray) -> tuple[pa.DataType, int, int, bytes, bytes]:
    """(type, length, nulls, the values' bytes (a null's as zeros), which rows are valid): equal
    exactly when the arrays are, NaN bits and -0.0 included."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    width = array.type.bit_width // 8
    raw = array.buffers()[1].to_pybytes()[array.offset * width:(array.offset + len(array)) * width]
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    values = np.frombuffer(raw, dtype=np.uint8).reshape(len(array), width).copy()
    values[~valid] = 0  # (what a null's slot holds is not the array's content)
    return array.type, len(array), array.null_count, values.tobytes(), np.packbits(valid).tobytes()


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _read_struct(data: bytes, pos: int) -> tuple[dict[int, object], int]:
    """A Thrift compact struct of the kinds page headers hold (an independent reader, for the tests'
    own checks of what pyarrow wrote)."""
    fields: dict[int, object] = {}
    last = 0
    while True:
        header = data[pos]
        pos += 1
        kind = header & 15
        if kind == 0:
            return fields, pos
        if header >> 4:
            last += header >> 4
        else:
            raw, pos = _read_uleb(data, pos)
            last = (raw >> 1) ^ -(raw & 1)
        if kind in (1, 2):
            fields[last] = kind == 1
        elif kind == 3:
            fields[last], pos = data[pos], pos + 1
        elif kind in (4, 5, 6):
            raw, pos = _read_uleb(data, pos)
            fields[last] = (raw >> 1) ^ -(raw & 1)
        elif kind == 7:
            pos += 8
        elif kind == 8:
            length, pos = _read_uleb(data, pos)
            fields[last], pos = data[pos:pos + length], pos + length
        elif kind == 12:
            fields[last], pos = _read_struct(data, pos)
        else:
            raise AssertionError(f"a Thrift type {kind} in a page header")


def _page_kinds(chunk: bytes) -> list[tuple[int, int]]:
    """(page type, encoding) of each page of a column chunk."""
    pos, out = 0, []
    while pos < len(chunk):
        header, pos = _read_struct(chunk, pos)
        page_type = header[1]
        inner = header.get({0: 5, 2: 7, 3: 8}.get(page_type, 0), {})
        out.append((page_type, inner.get(4 if page_type == 3 else 2)))
        pos += header[3]
    return out


@dataclasses.dataclass(frozen=True)
class ChunkCase:
    row_group: int
    name: str
    chunk: pages.Chunk | None
    data: bytes  # the chunk's bytes ('' when declined)


def _chunks(path, data: bytes | None = None) -> Iterator[ChunkCase]:
    """Each (row group, column) of a file with what ``eligible`` makes of it."""
    file = pq.ParquetFile(path)
    metadata = file.metadata
    data = open(path, "rb").read() if data is None else data
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for k in range(metadata.num_columns):
            column = metadata.schema.column(k)
            field = file.schema_arrow.field(column.path) if column.path in file.schema_arrow.names \
                else pa.field(column.path, pa.int64())
            chunk = pages.eligible(group.column(k), column, field.type, group.num_rows, len(data))
            body = b"" if chunk is None else data[chunk.start:chunk.start + chunk.size]
            yield ChunkCase(g, column.path, chunk, body)


def _expected(path, case: ChunkCase) -> pa.ChunkedArray:
    return pq.ParquetFile(path).read_row_group(case.row_group, columns=[case.name]).column(case.name)


def _check_file(path) -> list[ChunkCase]:
    """Every chunk of a file decodes to pyarrow's values, bit for bit; the chunks."""
    cases = list(_chunks(path))
    for case in cases:
        assert case.chunk is not None, case.name
        status, got = pages.decode(case.chunk, pa.py_buffer(case.data))
        assert status == Status.OK, (case.row_group, case.name, status)
        assert got.null_count == 0 and got.buffers()[0] is None
        assert _bits(got) == _bits(_expected(path, case)), (case.row_group, case.name)
    return cases


# ---------------------------------------------------------------------------
# 1. Round trips: what pyarrow writes, decoded exactly.
# ---------------------------------------------------------------------------

DICTIONARY_MODES = {
    "plain": ({"use_dictionary": False}, 50_000),
    "dictionary": ({"use_dictionary": True}, 40),
    "fallback": ({"use_dictionary": True, "dictionary_pagesize_limit": 256}, None),  # PLAIN mid-chunk
}


@pytest.mark.parametrize("mode", list(DICTIONARY_MODES))
@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("compression", ["none", "snappy"])
def test_pyarrow_files_decode_bit_for_bit(tmp_path, compression, version, mode):
    options, distinct = DICTIONARY_MODES[mode]
    table = _table(3_001, distinct=distinct)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, compression=compression, data_page_version=version, row_group_size=999,
                   data_page_size=512, write_batch_size=64, **options)
    cases = _check_file(path)
    assert len(cases) == 4 * 14  # 999, 999, 999 and 4 rows; 7 types required and optional
    assert [pq.ParquetFile(path).metadata.row_group(g).num_rows for g in range(4)] == [999] * 3 + [4]
    # The file holds what the test means it to: many pages, of the right kinds.
    kinds = _page_kinds(next(c for c in cases if c.name == "f64_opt").data)
    data_page = fmt.DATA_PAGE if version == "1.0" else fmt.DATA_PAGE_V2
    encodings = {e for t, e in kinds if t == data_page}
    types = {data_page} if mode == "plain" else {fmt.DICTIONARY_PAGE, data_page}
    assert {t for t, _ in kinds} == types
    assert len(kinds) > 5
    dictionary = fmt.RLE_DICTIONARY  # (PLAIN_DICTIONARY: see the format 1.0 test)
    assert encodings == {"plain": {fmt.PLAIN}, "dictionary": {dictionary},
                         "fallback": {dictionary, fmt.PLAIN}}[mode]
    # And pyarrow's values are the table's (the oracle itself reads right).
    read = pq.read_table(path)
    assert all(_bits(read[n]) == _bits(table[n]) for n in table.column_names)


def test_format_one_writes_plain_dictionary_pages(tmp_path):
    table = _table(2_001, distinct=30).select(["i32_req", "i64_opt", "f32_opt", "f64_req"])
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, version="1.0", data_page_size=512, write_batch_size=64)
    cases = _check_file(path)
    assert {e for c in cases for t, e in _page_kinds(c.data) if t == fmt.DATA_PAGE} == {
        fmt.PLAIN_DICTIONARY}


def test_few_distinct_values_make_long_rle_runs(tmp_path):
    table = _table(5_003, distinct=3).sort_by([("i64_req", "ascending")])
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=2_001, data_page_size=700)
    assert len(_check_file(path)) == 3 * 14


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_row_groups_of_one_row_and_of_seven(tmp_path, version):
    for rows, group in ((5, 1), (23, 7)):
        path = tmp_path / f"t{rows}.parquet"
        pq.write_table(_table(rows, seed=rows), path, row_group_size=group, data_page_version=version)
        cases = _check_file(path)
        assert len(cases) == -(-rows // group) * 14


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_a_dictionary_of_one_value(tmp_path, version):
    table = pa.table({"c": pa.array([-0.0] * 1_001), "k": pa.array([7] * 1_001, pa.int32()),
                      "two": pa.array([2**40, -1] * 500 + [2**40], pa.int64())})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, data_page_version=version, compression="none")
    cases = _check_file(path)
    for case in cases[:2]:  # a dictionary page of one value, one data page of indices
        (_, page), = [(t, p) for t, p in _page_kinds(case.data) if t != fmt.DICTIONARY_PAGE]
        assert page == fmt.RLE_DICTIONARY
    assert [str(v) for v in pages.decode(cases[0].chunk, pa.py_buffer(cases[0].data))[1][:2].to_pylist()] == \
        ["-0.0", "-0.0"]


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("compression", ["none", "snappy"])
def test_pages_of_one_value(tmp_path, version, compression):
    table = _table(203, seed=4).select(["f64_opt", "i32_req", "u64_opt", "f32_req"])
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, data_page_version=version, compression=compression, use_dictionary=False,
                   data_page_size=1, write_batch_size=1)
    cases = _check_file(path)
    assert all(len(_page_kinds(c.data)) == 203 for c in cases)


def test_a_row_group_of_many_pages_is_one_array():
    table = pa.table({"x": pa.array(np.arange(10_001, dtype=np.float64))})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, use_dictionary=False, compression="none", data_page_size=1_000,
                   write_batch_size=100)
    path = pa.BufferReader(sink.getvalue())
    (case,) = _chunks(path, sink.getvalue().to_pybytes())
    assert len(_page_kinds(case.data)) > 50
    status, got = pages.decode(case.chunk, pa.py_buffer(case.data))
    assert status == Status.OK and got.to_pylist() == list(range(10_001))


@pytest.mark.parametrize("writer", ["duckdb", "polars"])
@pytest.mark.parametrize("compression", ["snappy", "uncompressed"])
@pytest.mark.parametrize("distinct", [None, 30])
def test_other_writers_files_decode_bit_for_bit(tmp_path, writer, compression, distinct):
    table = _table(2_501, seed=9, distinct=distinct)
    path = tmp_path / "t.parquet"
    if writer == "duckdb":
        duckdb = pytest.importorskip("duckdb")
        with duckdb.connect() as connection:
            connection.register("t", table)
            connection.execute(f"COPY (SELECT * FROM t) TO '{path}' "
                               f"(FORMAT parquet, COMPRESSION {compression}, ROW_GROUP_SIZE 1000)")
    else:
        polars = pytest.importorskip("polars")
        polars.from_arrow(table).write_parquet(path, compression=compression, row_group_size=1_000,
                                               data_page_size=2_000, use_pyarrow=False)
    cases = _check_file(path)
    assert len(cases) == 14 * pq.ParquetFile(path).metadata.num_row_groups
    dictionary = any(t == fmt.DICTIONARY_PAGE for c in cases for t, _ in _page_kinds(c.data))
    assert dictionary == (distinct is not None) or writer == "polars"  # (polars: a dictionary at times)


def test_eligible_reads_the_chunk_where_the_metadata_says(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": pa.array([1, 2, 3], pa.int64()), "b": pa.array([1.5, -0.0, 2.5])}), path)
    metadata = pq.ParquetFile(path).metadata
    for case in _chunks(path):
        column = metadata.row_group(0).column(["a", "b"].index(case.name))
        assert case.chunk == pages.Chunk(
            column.dictionary_page_offset, column.total_compressed_size, 3,
            pa.int64() if case.name == "a" else pa.float64(), Codec.SNAPPY, True,
            column.total_uncompressed_size, False)
    with pa.OSFile(str(path)) as source:
        got = [pages.read(source, c.chunk) for c in _chunks(path)]
    assert [a.to_pylist() for a in got] == [[1, 2, 3], [1.5, -0.0, 2.5]]
    assert str(got[1][1].as_py()) == "-0.0"


# ---------------------------------------------------------------------------
# 2. What the decoder declines.
# ---------------------------------------------------------------------------

def test_a_chunk_with_nulls_is_read_with_its_validity(tmp_path):
    path = tmp_path / "t.parquet"
    x = pa.array([1.0, None, 3.0, 4.0] * 10 + [5.0] * 40)
    pq.write_table(pa.table({"x": x, "y": pa.array(range(80), pa.int32())}), path, row_group_size=40)
    cases = {(c.row_group, c.name): c for c in _chunks(path)}
    assert all(c.chunk is not None for c in cases.values())
    # Statistics say which chunk may hold a null (its kernel variant reads validity only then).
    assert {key: c.chunk.nulls_possible for key, c in cases.items()} == {
        (0, "x"): True, (0, "y"): False, (1, "x"): False, (1, "y"): False}
    status, got = pages.decode(cases[0, "x"].chunk, pa.py_buffer(cases[0, "x"].data))
    assert status == Status.OK and got.null_count == 10
    assert got.to_pylist() == [1.0, None, 3.0, 4.0] * 10


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("dictionary", [False, True])
@pytest.mark.parametrize("where", ["first", "last", "all"])
def test_nulls_without_statistics_are_read_as_nulls(tmp_path, version, dictionary, where):
    values = list(np.arange(2_000.0))
    if where == "first":
        values[0] = None
    elif where == "last":
        values[-1] = None  # after many pages without a null
    else:
        values = [None] * len(values)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": pa.array(values, pa.float64())}), path, write_statistics=False,
                   data_page_version=version, use_dictionary=dictionary, data_page_size=1_000,
                   write_batch_size=100)
    (case,) = _chunks(path)
    assert case.chunk is not None and case.chunk.nulls_possible  # (nothing says there is none)
    status, got = pages.decode(case.chunk, pa.py_buffer(case.data))
    assert status == Status.OK and got.equals(pa.array(values, pa.float64()))


@pytest.mark.parametrize("compression", ["zstd", "gzip", "lz4", "brotli"])
def test_other_codecs_are_declined(tmp_path, compression):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": np.arange(100.0)}), path, compression=compression)
    assert [c.chunk for c in _chunks(path)] == [None]


@pytest.mark.parametrize("encoding", ["BYTE_STREAM_SPLIT", "DELTA_BINARY_PACKED"])
def test_other_encodings_are_declined_and_unsupported_pages(tmp_path, monkeypatch, encoding):
    names = ["i32_opt", "i64_req"] + (["f64_opt"] if encoding == "BYTE_STREAM_SPLIT" else [])
    table = _table(100).select(names)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, use_dictionary=False, column_encoding=encoding)
    assert [case.chunk for case in _chunks(path)] == [None] * len(names)  # (by the chunk's encodings)
    # Had the metadata not listed them, the pages themselves stop the decoder.
    monkeypatch.setattr(pages, "ENCODINGS", pages.ENCODINGS | {encoding})
    for case in _chunks(path):
        assert pages.decode(case.chunk, pa.py_buffer(case.data)) == (Status.UNSUPPORTED_PAGE, None)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_page_checksums_and_page_indexes_are_read_past(tmp_path, version):
    path = tmp_path / "t.parquet"
    pq.write_table(_table(1_001, distinct=20), path, data_page_version=version, write_page_checksum=True,
                   write_page_index=True, data_page_size=512, write_batch_size=64)
    cases = _check_file(path)
    assert len(cases) == 14 and all(4 in _read_struct(c.data, 0)[0] for c in cases)  # (4: crc)
    with pq.ParquetFile(path, page_checksum_verification=True) as file:
        file.read()  # (the checksums are right)


def test_other_types_and_nested_columns_are_declined(tmp_path):
    from decimal import Decimal

    path = tmp_path / "t.parquet"
    table = pa.table({
        "i8": pa.array([1, 2, 3, 4], pa.int8()),
        "i16": pa.array([1, 2, 3, 4], pa.int16()),
        "u8": pa.array([1, 2, 3, 4], pa.uint8()),
        "s": pa.array(["a", "b", "c", "d"]),
        "ts": pa.array([1, 2, 3, 4], pa.timestamp("us")),
        "ts_ms": pa.array([1, 2, 3, 4], pa.timestamp("ms")),
        "t64": pa.array([1, 2, 3, 4], pa.time64("us")),
        "d64": pa.array([1, 2, 3, 4], pa.date64()),
        "dec": pa.array([Decimal("1.5")] * 4, pa.decimal128(5, 2)),
        "b": pa.array([True, False, True, True]),
        "f16": pa.array(np.array([1, 2, 3, 4], np.float16)),
        "lst": pa.array([[1], [2, 3], [], [4]], pa.list_(pa.int64())),
        "st": pa.array([{"v": 1.0}, {"v": 2.0}, {"v": 3.0}, {"v": 4.0}], pa.struct([("v", pa.float64())])),
        "ok": pa.array([1, 2, 3, 4], pa.int64()),
    })
    pq.write_table(table, path)
    taken = {c.name: c for c in _chunks(path) if c.chunk is not None}
    # (date64 is stored as a Parquet DATE: pyarrow reads a date32; timestamps and times whose
    # Parquet unit is their Arrow unit are stored as they are)
    assert set(taken) == {"ok", "d64", "ts", "ts_ms", "t64"}
    for case in taken.values():
        assert _bits(pages.decode(case.chunk, pa.py_buffer(case.data))[1]) == _bits(_expected(path, case))
    # A nested leaf is declined by its levels whatever Arrow type it is given.
    metadata = pq.ParquetFile(path).metadata
    names = [metadata.schema.column(k).path for k in range(metadata.num_columns)]
    for name in ("lst.list.element", "st.v"):
        k = names.index(name)
        for type_ in (pa.int64(), pa.float64()):
            assert pages.eligible(metadata.row_group(0).column(k), metadata.schema.column(k), type_, 4,
                                  path.stat().st_size) is None


def test_a_type_or_row_count_not_the_chunks_is_declined(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": pa.array([1, 2, 3], pa.int32())}), path)
    metadata = pq.ParquetFile(path).metadata
    column, schema = metadata.row_group(0).column(0), metadata.schema.column(0)
    size = path.stat().st_size
    assert pages.eligible(column, schema, pa.int32(), 3, size) is not None
    for type_, rows, file_size in [(pa.int64(), 3, size), (pa.float32(), 3, size), (pa.int32(), 4, size),
                                   (pa.int32(), 0, size), (pa.int32(), 3, column.total_compressed_size)]:
        assert pages.eligible(column, schema, type_, rows, file_size) is None, (type_, rows, file_size)


def test_bytes_not_the_chunks_size_are_truncated(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": pa.array([1, 2, 3], pa.int32())}), path)
    (case,) = _chunks(path)
    assert pages.decode(case.chunk, pa.py_buffer(case.data[:-1])) == (Status.TRUNCATED, None)
    assert pages.decode(case.chunk, pa.py_buffer(case.data + b"\0")) == (Status.TRUNCATED, None)
    # A file cut short: read() gets fewer bytes than the chunk's and declines.
    data = path.read_bytes()
    assert pages.read(pa.BufferReader(data[:case.chunk.start + case.chunk.size - 3]), case.chunk) is None
    assert pages.read(pa.BufferReader(data), case.chunk).to_pylist() == [1, 2, 3]


# ---------------------------------------------------------------------------
# 3. Hostile input: the raw native function, every buffer guarded.
# ---------------------------------------------------------------------------

_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.mmap.restype = ctypes.c_void_p
_LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_LIBC.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_LIBC.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
PAGE = mmap.PAGESIZE
PROT_NONE = 0
GROWTH_LIMIT = 1 << 24  # what the guarded runs give at most (pages.decode has its own limit)


@contextmanager
def _guarded(size: int, at_start: bool = False) -> Iterator[int]:
    """The address of ``size`` bytes (read and write) between two inaccessible pages, its last byte
    right before the second (``at_start``: its first right after the first): one byte read or written
    past the end (before the start) is a segmentation fault."""
    span = -(-size // PAGE) * PAGE
    total = span + 2 * PAGE
    base = _LIBC.mmap(None, total, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                      -1, 0)
    assert base is not None and base != ctypes.c_void_p(-1).value
    try:
        assert _LIBC.mprotect(base, PAGE, PROT_NONE) == 0
        assert _LIBC.mprotect(base + PAGE + span, PAGE, PROT_NONE) == 0
        yield base + PAGE if at_start else base + PAGE + span - size
    finally:
        _LIBC.munmap(base, total)


def _raw_decode(data: bytes, rows: int, width: int, codec: int, optional: bool,
                room: tuple[int, int] = (0, 0), at_start: bool = False,
                type_: pa.DataType | None = None) -> tuple[Status, pa.Array | None]:
    """``decode_chunk_<8 * width>`` on ``data`` with guarded buffers of exactly the sizes given
    (``room``: scratch, dictionary; grown as NEED_BUFFERS asks, up to GROWTH_LIMIT): (status, the
    array of ``type_``, by default the unsigned integers of the width). ``at_start``: the buffers
    start at their guard page (``out``'s HEADROOM bytes before it do)."""
    function = native().decode_chunk(8 * width)
    type_ = type_ or {4: pa.uint32(), 8: pa.uint64()}[width]
    info = (ctypes.c_int64 * 5)()
    have = list(room)
    while True:
        with _guarded(len(data), at_start) as chunk, _guarded(have[0], at_start) as scratch, \
                _guarded(have[1], at_start) as dictionary, \
                _guarded(HEADROOM + rows * width, at_start) as out, \
                _guarded((rows + 7) // 8 if optional else 0, at_start) as validity:
            ctypes.memmove(chunk, data, len(data))
            status = Status(function(chunk, len(data), rows, codec, int(optional), scratch, have[0],
                                     dictionary, have[1], out + HEADROOM, validity if optional else 0,
                                     rows, 0, ctypes.addressof(info)))
            values = ctypes.string_at(out + HEADROOM, rows * width) if status == Status.OK else None
            bitmap = ctypes.string_at(validity, (rows + 7) // 8) if status == Status.OK and info[2] else None
        if status != Status.NEED_BUFFERS:
            if values is None:
                return status, None
            buffers = [None if bitmap is None else pa.py_buffer(bitmap), pa.py_buffer(values)]
            return status, pa.Array.from_buffers(type_, rows, buffers, null_count=info[2])
        grown = [max(a, b) for a, b in zip(have, info[:2])]
        assert grown != have, "NEED_BUFFERS without asking for more"
        if max(grown) > GROWTH_LIMIT:
            return status, None
        have = grown


def _raw(case: ChunkCase, data: bytes | None = None, rows: int | None = None,
         at_start: bool = False) -> tuple[Status, bytes | None]:
    chunk = case.chunk
    data = case.data if data is None else data
    return _raw_decode(data, chunk.rows if rows is None else rows, chunk.type.bit_width // 8,
                       int(chunk.codec), chunk.optional, at_start=at_start, type_=chunk.type)


def _small_file(tmp_path, version: str, compression: str, dictionary: bool, optional: bool) -> tuple:
    """A file of 45 rows in pages of about 16 values: x float64, n int32 (from 6 distinct values: one
    dictionary), then its bytes."""
    x = pa.array([1.5, -0.0, 2.5, float("nan"), 2.5, 1.5, 8.0, float("inf"), -3.0] * 5)
    n = pa.array([3, -1, 7, 7, 2**31 - 1, -2**31, 0, 3, 3] * 5, pa.int32())
    schema = pa.schema([pa.field("x", pa.float64(), optional), pa.field("n", pa.int32(), optional)])
    path = tmp_path / f"{version}{compression}{dictionary}{optional}.parquet"
    pq.write_table(pa.Table.from_arrays([x, n], schema=schema), path, compression=compression,
                   use_dictionary=dictionary, data_page_version=version, data_page_size=64,
                   write_batch_size=16)
    return path, path.read_bytes()


def _read_damaged(data: bytes, case: ChunkCase) -> pa.ChunkedArray:
    return pq.ParquetFile(pa.BufferReader(data)).read_row_group(case.row_group, columns=[case.name]).column(
        case.name)


MASKS = (0x01, 0x80, 0xFF)


@pytest.mark.parametrize("optional", [False, True], ids=["required", "optional"])
@pytest.mark.parametrize("dictionary", [False, True], ids=["plain", "dictionary"])
@pytest.mark.parametrize("compression", ["none", "snappy"])
@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_every_byte_of_a_chunk_damaged(tmp_path, version, compression, dictionary, optional):
    _damage_every_byte(*_small_file(tmp_path, version, compression, dictionary, optional))


@pytest.mark.parametrize("compression", ["uncompressed", "snappy"])
def test_every_byte_of_a_duckdb_chunk_damaged(tmp_path, compression):
    """DuckDB's dictionary pages: bit-packed runs padded to 256 indices."""
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "t.parquet"
    table = _table(45, seed=2, distinct=5).select(["f64_opt", "i32_req"])
    with duckdb.connect() as connection:
        connection.register("t", table)
        connection.execute(f"COPY (SELECT * FROM t) TO '{path}' (FORMAT parquet, COMPRESSION {compression})")
    cases = list(_chunks(path))
    assert [_page_kinds(c.data) for c in cases] == [[(fmt.DATA_PAGE, fmt.PLAIN)],  # (13 distinct)
                                                    [(fmt.DICTIONARY_PAGE, fmt.PLAIN),
                                                     (fmt.DATA_PAGE, fmt.PLAIN_DICTIONARY)]]
    _damage_every_byte(path, path.read_bytes())


def _damage_every_byte(path, data: bytes) -> None:
    """Each byte of each chunk of a file changed in turn (xor MASKS): the decoder declines, or decodes
    what pyarrow reads from the damaged file."""
    cases = list(_chunks(path))
    assert all(c.chunk is not None for c in cases)
    outcomes = {"declined": 0, "same": 0}
    for case in cases:
        assert _raw(case)[0] == Status.OK
        for position in range(case.chunk.start, case.chunk.start + case.chunk.size):
            for mask in MASKS:
                damaged = bytearray(data)
                damaged[position] ^= mask
                body = bytes(damaged[case.chunk.start:case.chunk.start + case.chunk.size])
                status, got = _raw(case, body, at_start=mask == 0x80)  # (guards before and after)
                if status != Status.OK:
                    outcomes["declined"] += 1
                    continue
                # Decoded: pyarrow must read the same bytes to the same values.
                try:
                    expected = _read_damaged(bytes(damaged), case)
                except (OSError, pa.ArrowException) as e:
                    raise AssertionError(f"{case.name}: OK where pyarrow raises {e!r}: byte "
                                         f"{position - case.chunk.start} ^ {mask:#x}") from None
                assert _bits(got) == _bits(expected), (case.name, position - case.chunk.start, mask)
                through_pages = pages.decode(case.chunk, pa.py_buffer(body))
                assert _bits(through_pages[1]) == _bits(got)
                outcomes["same"] += 1
    assert outcomes["declined"] > 0 and outcomes["same"] > 0, outcomes  # both ways were taken


@pytest.mark.parametrize("optional", [False, True], ids=["required", "optional"])
@pytest.mark.parametrize("dictionary", [False, True], ids=["plain", "dictionary"])
@pytest.mark.parametrize("compression", ["none", "snappy"])
@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_every_truncation_of_a_chunk_is_declined(tmp_path, version, compression, dictionary, optional):
    path, _ = _small_file(tmp_path, version, compression, dictionary, optional)
    for case in _chunks(path):
        for length in range(case.chunk.size):
            status, _ = _raw(case, case.data[:length], at_start=length % 2 == 0)
            assert status < 0, (case.name, length, status)  # (every byte of a chunk is a page's)
            short = dataclasses.replace(case.chunk, size=length)
            assert pages.decode(short, pa.py_buffer(case.data[:length]))[0] == status
        # Fewer rows than the chunk holds: its last page has too many values.
        assert _raw(case, rows=case.chunk.rows - 1)[0] == Status.COUNT_MISMATCH
        # More: the pages run out.
        assert _raw(case, rows=case.chunk.rows + 1)[0] == Status.TRUNCATED


# ---------------------------------------------------------------------------
# Hand-made chunks: one thing wrong at a time.
# ---------------------------------------------------------------------------

I32, STRUCT, LIST, SET, MAP, BINARY, DOUBLE, BYTE, TRUE, FALSE = 5, 12, 9, 10, 11, 8, 7, 3, 1, 2


def _zz(n: int) -> bytes:
    return _uleb((n << 1) ^ (n >> 63))


def _compact(*fields: tuple[int, int, bytes]) -> bytes:
    """A Thrift compact struct: (field id, type, the value's encoded bytes) each, then the stop byte."""
    out, last = bytearray(), 0
    for fid, kind, value in fields:
        if 0 < fid - last <= 15:
            out.append((fid - last) << 4 | kind)
        else:
            out += bytes([kind]) + _zz(fid)
        last = fid
        out += value
    return bytes(out) + b"\0"


def _i32(fid: int, value: int) -> tuple[int, int, bytes]:
    return fid, I32, _zz(value)


def _struct(fid: int, *fields: tuple[int, int, bytes]) -> tuple[int, int, bytes]:
    return fid, STRUCT, _compact(*fields)


def _page(page_type: int, body: bytes, inner: tuple, uncompressed: int | None = None,
          compressed: int | None = None, extra: tuple = ()) -> bytes:
    """A page: its header (type, sizes, the page type's struct ``inner``, ``extra`` fields) and body."""
    header = _compact(_i32(1, page_type), _i32(2, len(body) if uncompressed is None else uncompressed),
                      _i32(3, len(body) if compressed is None else compressed), *extra, inner)
    return header + body


def _v1(values: bytes, count: int, encoding: int = fmt.PLAIN, levels: bytes | None = None,
        snappy: bool = False, **kw) -> bytes:
    """A DATA_PAGE: ``levels`` (a hybrid stream of definition levels) given: an optional column's."""
    body = values if levels is None else len(levels).to_bytes(4, "little") + levels + values
    stored = pa.compress(body, "snappy", asbytes=True) if snappy else body
    inner = _struct(5, _i32(1, count), _i32(2, encoding), _i32(3, fmt.RLE), _i32(4, fmt.RLE))
    return _page(fmt.DATA_PAGE, stored, inner, **{"uncompressed": len(body), **kw})


def _v2(values: bytes, count: int, encoding: int = fmt.PLAIN, levels: bytes = b"", nulls: int = 0,
        rows: int | None = None, snappy: bool = False, flag: bool | None = None, repetition: int = 0,
        **kw) -> bytes:
    stored = pa.compress(values, "snappy", asbytes=True) if snappy else values
    fields = [_i32(1, count), _i32(2, nulls), _i32(3, count if rows is None else rows), _i32(4, encoding),
              _i32(5, len(levels)), _i32(6, repetition)]
    if flag is not None:
        fields.append((7, TRUE if flag else FALSE, b""))
    return _page(fmt.DATA_PAGE_V2, levels + stored, _struct(8, *fields),
                 **{"uncompressed": len(levels) + len(values), **kw})


def _dictionary(values: np.ndarray, count: int | None = None, encoding: int = fmt.PLAIN) -> bytes:
    inner = _struct(7, _i32(1, len(values) if count is None else count), _i32(2, encoding))
    return _page(fmt.DICTIONARY_PAGE, values.tobytes(), inner)


def _all_valid(count: int) -> bytes:
    return _uleb(count << 1) + b"\x01"  # one RLE run of 1s


def _indices(values: list[int], width: int) -> bytes:
    """A bit width byte and one bit-packed run of ``values`` (padded to a multiple of 8)."""
    padded = values + [0] * (-len(values) % 8)
    packed = sum(v << (width * k) for k, v in enumerate(padded)).to_bytes(len(padded) * width // 8, "little")
    return bytes([width]) + _uleb(len(padded) // 8 << 1 | 1) + packed


def _decode(data: bytes, rows: int, type_: pa.DataType = pa.float64(), codec: Codec = Codec.UNCOMPRESSED,
            optional: bool = False) -> tuple[Status, list | None]:
    """The raw function (guarded) and pages.decode on the same chunk: the same status; the values."""
    width = type_.bit_width // 8
    status, raw = _raw_decode(data, rows, width, int(codec), optional, type_=type_)
    again, raw_at_start = _raw_decode(data, rows, width, int(codec), optional, at_start=True, type_=type_)
    assert again == status and (raw is None) == (raw_at_start is None)
    assert raw is None or _bits(raw) == _bits(raw_at_start)
    chunk = pages.Chunk(0, len(data), rows, type_, codec, optional, len(data), optional)
    through_pages, array = pages.decode(chunk, pa.py_buffer(data))
    assert through_pages == status or (status == Status.NEED_BUFFERS and through_pages < 0)
    if status != Status.OK:
        return status, None
    assert _bits(raw) == _bits(array)
    return status, array.to_pylist()


F64 = np.array([1.5, -0.0, 3.0, 10.0])
DICT = _dictionary(np.array([10.0, 20.0, 30.0]))
OK_LIST = [1.5, -0.0, 3.0, 10.0]


def test_hand_made_chunks_decode():
    """The baseline of the damaged chunks below: each well-formed way of writing a page."""
    assert _decode(_v1(F64.tobytes(), 4), 4) == (Status.OK, OK_LIST)
    assert _decode(_v1(F64.tobytes(), 4, levels=_all_valid(4)), 4, optional=True) == (Status.OK, OK_LIST)
    for optional in (False, True):
        levels = _all_valid(4) if optional else None
        assert _decode(_v1(F64.tobytes(), 4, levels=levels, snappy=True), 4, codec=Codec.SNAPPY,
                       optional=optional) == (Status.OK, OK_LIST)
        assert _decode(_v2(F64.tobytes(), 4, levels=_all_valid(4) if optional else b"", snappy=True), 4,
                       codec=Codec.SNAPPY, optional=optional) == (Status.OK, OK_LIST)
    # v2, snappy chunk, a page stored uncompressed (is_compressed false).
    assert _decode(_v2(F64.tobytes(), 4, flag=False), 4, codec=Codec.SNAPPY) == (Status.OK, OK_LIST)
    # Dictionary [10, 20, 30]; indices 2 0 1 1 0 2 2 2 bit-packed at 2 bits.
    chunk = DICT + _v1(_indices([2, 0, 1, 1, 0, 2, 2, 2], 2), 8, fmt.RLE_DICTIONARY)
    assert _decode(chunk, 8) == (Status.OK, [30.0, 10.0, 20.0, 20.0, 10.0, 30.0, 30.0, 30.0])
    # Five values of a padded group of eight; then an RLE run of index 1, three times (bit width 2).
    chunk = DICT + _v1(_indices([2, 0, 1, 1, 0], 2), 5, fmt.PLAIN_DICTIONARY) + \
        _v2(b"\x02" + _uleb(3 << 1) + b"\x01", 3, fmt.RLE_DICTIONARY)
    assert _decode(chunk, 8) == (Status.OK, [30.0, 10.0, 20.0, 20.0, 10.0, 20.0, 20.0, 20.0])
    # Indices of 0 bits (a dictionary of one value; pyarrow writes 1 bit, the format allows 0): an RLE run
    # with no value bytes, a bit-packed group of 8 with no bytes.
    chunk = _dictionary(np.array([-0.0])) + _v1(b"\x00" + _uleb(3 << 1) + _uleb(1 << 1 | 1), 11, 8)
    assert _decode(chunk, 11) == (Status.OK, [-0.0] * 11)
    # A bit-packed run of 256 indices for 5 values (DuckDB pads its runs so), its 64 bytes all there.
    chunk = DICT + _v1(_indices([2, 0, 1, 1, 0] + [0] * 251, 2), 5, fmt.RLE_DICTIONARY)
    assert _decode(chunk, 5) == (Status.OK, [30.0, 10.0, 20.0, 20.0, 10.0])
    # An index page is skipped; unknown header fields (a binary, a double, a byte, a struct) too.
    index = _page(fmt.INDEX_PAGE, b"\xAB" * 7, _struct(6))
    extra = ((4, I32, _zz(99)), (9, BINARY, _uleb(3) + b"abc"), (10, DOUBLE, b"\1" * 8), (11, BYTE, b"\7"),
             _struct(13, _i32(1, 5), (2, BINARY, _uleb(2) + b"zz")))
    assert _decode(index + _v1(F64.tobytes(), 4, extra=extra), 4) == (Status.OK, OK_LIST)
    # Snappy: each kind of element (the damaged streams below change one of these), on v2 pages and on
    # v1 pages (decoded in place).
    twice = np.frombuffer(EIGHT * 2).tolist()
    for stream, values in [(b"\x1c" + EIGHT + b"\x11\x08", twice), (b"\x1c" + EIGHT + b"\x1e\x08\x00", twice),
                           (b"\x1c" + EIGHT + b"\x1f\x08\0\0\0", twice), (b"\xf0\x0f" + EIGHT * 2, twice),
                           (b"\x0c" + EIGHT[:4] + b"\x2e\x04\x00", np.frombuffer(EIGHT[:4] * 4).tolist())]:
        for make in (_snappy_page, _snappy_v1):  # (the last stream: a copy overlapping what it writes)
            assert _decode(make(_uleb(16) + stream, 16), 2, codec=Codec.SNAPPY) == (Status.OK, values)
    # An int32 chunk: the 32-bit function.
    ints = np.array([-2**31, 7, 2**31 - 1], np.int32)
    assert _decode(_v2(ints.tobytes(), 3), 3, pa.int32()) == (Status.OK, [-2**31, 7, 2**31 - 1])


def _nested(depth: int) -> tuple[int, int, bytes]:
    """An unknown field 14 of ``depth`` structs, one in the other."""
    inner = b"\0"
    for _ in range(depth - 1):
        inner = bytes([1 << 4 | STRUCT]) + inner + b"\0"
    return 14, STRUCT, inner


def _snappy_page(stream: bytes, size: int, count: int | None = None) -> bytes:
    """A v2 page (plain float64 values, ``size`` bytes once decoded) whose body is ``stream``."""
    count = size // 8 if count is None else count
    inner = _struct(8, _i32(1, count), _i32(2, 0), _i32(3, count), _i32(4, 0), _i32(5, 0), _i32(6, 0))
    return _page(fmt.DATA_PAGE_V2, stream, inner, uncompressed=size)


def _snappy_v1(stream: bytes, size: int) -> bytes:
    """The same as a v1 page of a required column (decoded in place when it is well formed)."""
    inner = _struct(5, _i32(1, size // 8), _i32(2, 0), _i32(3, 3), _i32(4, 3))
    return _page(fmt.DATA_PAGE, stream, inner, uncompressed=size)


EIGHT = bytes(range(1, 9))
HOSTILE = {
    # Thrift: a list, set or map field; a type no Thrift has; nesting too deep; a varint too long.
    "list field": (_v1(F64.tobytes(), 4, extra=((4, LIST, b"\x15" + _zz(1)),)), Status.UNSUPPORTED_THRIFT),
    "set field": (_v1(F64.tobytes(), 4, extra=((4, SET, b"\x15" + _zz(1)),)), Status.UNSUPPORTED_THRIFT),
    "map field": (_v1(F64.tobytes(), 4, extra=((4, MAP, b"\x00"),)), Status.UNSUPPORTED_THRIFT),
    "huge list": (bytes([0x19, 0xF5]) + _uleb(1 << 40) + b"\0" * 10, Status.UNSUPPORTED_THRIFT),
    "list in a skipped struct": (_v1(F64.tobytes(), 4, extra=(_struct(13, (1, LIST, b"\x15\x02")),)),
                                 Status.UNSUPPORTED_THRIFT),
    "type 13": (_v1(F64.tobytes(), 4, extra=((4, 13, b""),)), Status.UNSUPPORTED_THRIFT),
    "nesting at the limit": (_v1(F64.tobytes(), 4, extra=(_nested(fmt.MAX_THRIFT_DEPTH - 1),)),
                             Status.OK),
    "nesting past the limit": (_v1(F64.tobytes(), 4, extra=(_nested(fmt.MAX_THRIFT_DEPTH),)),
                               Status.UNSUPPORTED_THRIFT),
    "nesting 100000 deep": (_v1(F64.tobytes(), 4, extra=(_nested(100_000),)), Status.UNSUPPORTED_THRIFT),
    "varint of 11 bytes": (bytes([0x15]) + b"\x80" * 10 + b"\x01" + b"\0" * 40, Status.TRUNCATED),
    "size of 10 bytes": (bytes([0x15, 0x00, 0x15]) + b"\xfe" * 9 + b"\x01" + b"\0" * 40, Status.BAD_HEADER),
    "field id as a varint": (_compact(_i32(1, 0), _i32(2, 32), _i32(3, 32), (1000, I32, _zz(1)),
                                      _struct(5, _i32(1, 4), _i32(2, 0), _i32(3, 3), _i32(4, 3)))
                             + F64.tobytes(), Status.OK),
    "header cut in a field": (_v1(F64.tobytes(), 4)[:5], Status.TRUNCATED),
    "a binary past the end": (bytes([0x18]) + _uleb(1000) + b"ab", Status.TRUNCATED),
    "a double past the end": (bytes([0x17]) + b"1234", Status.TRUNCATED),
    # Page headers: required fields missing or out of range.
    "no page type": (_compact(_i32(2, 32), _i32(3, 32)) + F64.tobytes(), Status.BAD_HEADER),
    "page type a binary": (_compact((1, BINARY, b"\0"), _i32(2, 32), _i32(3, 32)) + F64.tobytes(),
                           Status.BAD_HEADER),
    "negative size": (_v1(F64.tobytes(), 4, compressed=-32), Status.BAD_HEADER),
    "no data page struct": (_compact(_i32(1, 0), _i32(2, 32), _i32(3, 32)) + F64.tobytes(),
                            Status.BAD_HEADER),
    "sizes differ uncompressed": (_v1(F64.tobytes(), 4, uncompressed=40), Status.BAD_HEADER),
    "page past the chunk": (_v1(F64.tobytes(), 4, compressed=1_000, uncompressed=1_000), Status.TRUNCATED),
    "unknown page type": (_page(7, F64.tobytes(), _struct(5)), Status.UNSUPPORTED_PAGE),
    "unknown encoding": (_v1(F64.tobytes(), 4, encoding=9), Status.UNSUPPORTED_PAGE),
    "more values than rows": (_v1(np.arange(5.0).tobytes(), 5), Status.COUNT_MISMATCH),
    "fewer values than rows": (_v1(np.arange(3.0).tobytes(), 3), Status.TRUNCATED),
    "values past the page": (_v1(np.arange(3.0).tobytes(), 4), Status.TRUNCATED),
    "only index pages": (_page(fmt.INDEX_PAGE, b"", _struct(6)) * 3, Status.TRUNCATED),
    # Dictionaries.
    "index past the dictionary": (DICT + _v1(b"\x02" + _uleb(4 << 1) + b"\x03", 4, fmt.RLE_DICTIONARY),
                                  Status.BAD_DICTIONARY),
    "packed index past the dictionary": (DICT + _v1(_indices([0, 1, 2, 3], 2), 4, fmt.RLE_DICTIONARY),
                                         Status.BAD_DICTIONARY),
    "no dictionary": (_v1(b"\x01" + _uleb(4 << 1) + b"\x00", 4, fmt.RLE_DICTIONARY),
                      Status.BAD_DICTIONARY),
    "a second dictionary": (DICT + DICT + _v1(b"\x01" + _uleb(4 << 1) + b"\x00", 4, fmt.RLE_DICTIONARY),
                            Status.BAD_DICTIONARY),
    "a dictionary after a data page": (_v1(F64[:2].tobytes(), 2) + DICT + _v1(F64[2:].tobytes(), 2),
                                       Status.BAD_DICTIONARY),
    "a dictionary shorter than its count": (_dictionary(np.array([10.0]), count=3)
                                            + _v1(b"\x02" + _uleb(4 << 1) + b"\x02", 4, 8),
                                            Status.TRUNCATED),
    "a dictionary of RLE": (_dictionary(np.array([10.0]), encoding=fmt.RLE), Status.UNSUPPORTED_PAGE),
    "an empty dictionary": (_dictionary(np.array([])) + _v1(b"\x01" + _uleb(4 << 1) + b"\x00", 4, 8),
                            Status.BAD_DICTIONARY),
    # The RLE/bit-packed hybrid.
    "rle run longer than the page": (DICT + _v1(b"\x02" + _uleb(9 << 1) + b"\x01", 4, 8), Status.BAD_HYBRID),
    # (A bit-packed run longer than the page's values, its bytes all there, is read: DuckDB writes those.)
    "bit-packed run longer than the page": (DICT + _v1(b"\x02" + _uleb(2 << 1 | 1) + b"\0" * 3, 4, 8),
                                            Status.BAD_HYBRID),
    "bit-packed run past its bytes": (DICT + _v1(b"\x10" + _uleb(1 << 1 | 1) + b"\0\0\0", 4, 8),
                                      Status.TRUNCATED),
    "bit-packed run of 2**40 groups": (DICT + _v1(b"\x02" + _uleb(1 << 41 | 1) + b"\0" * 4, 4, 8),
                                       Status.BAD_HYBRID),
    "rle run of nothing": (DICT + _v1(b"\x02" + _uleb(0) + b"\x01" + _uleb(4 << 1) + b"\x01", 4, 8),
                           Status.BAD_HYBRID),
    "bit-packed run of nothing": (DICT + _v1(b"\x02" + _uleb(1) + _uleb(4 << 1) + b"\x01", 4, 8),
                                  Status.BAD_HYBRID),
    "bit width 33": (DICT + _v1(b"\x21" + _uleb(4 << 1) + b"\0" * 5, 4, 8), Status.BAD_HYBRID),
    "bit width byte missing": (DICT + _v1(b"", 4, 8), Status.TRUNCATED),
    "run value past the page": (DICT + _v1(b"\x10" + _uleb(4 << 1) + b"\x01", 4, 8), Status.TRUNCATED),
    "run header past the page": (DICT + _v1(b"\x02" + b"\x81", 4, 8), Status.TRUNCATED),
    # Snappy: copies before the start or of offset 0, literals longer than the input or the output.
    "snappy copy offset 0": (_snappy_page(_uleb(16) + b"\x1c" + EIGHT + b"\x11\x00", 16), Status.BAD_SNAPPY),
    "snappy copy past the start": (_snappy_page(_uleb(16) + b"\x1c" + EIGHT + b"\x11\x09", 16),
                                   Status.BAD_SNAPPY),
    "snappy copy-2 past the start": (_snappy_page(_uleb(16) + b"\x1c" + EIGHT + b"\x1e\x00\x01", 16),
                                     Status.BAD_SNAPPY),
    "snappy copy-4 past the start": (_snappy_page(_uleb(16) + b"\x1c" + EIGHT + b"\x1f\x09\0\0\0", 16),
                                     Status.BAD_SNAPPY),
    "snappy copy past the output": (_snappy_page(_uleb(16) + b"\x1c" + EIGHT + b"\x15\x08", 16),
                                    Status.BAD_SNAPPY),
    "snappy copy cut": (_snappy_page(_uleb(16) + b"\x1c" + EIGHT + b"\x1e\x08", 16), Status.BAD_SNAPPY),
    "snappy literal past the input": (_snappy_page(_uleb(16) + b"\x3c" + EIGHT, 16), Status.BAD_SNAPPY),
    "snappy long literal past the input": (_snappy_page(_uleb(16) + b"\xf0\x0f" + EIGHT, 16),
                                           Status.BAD_SNAPPY),
    "snappy literal length cut": (_snappy_page(_uleb(16) + b"\xfc\x0f", 16), Status.BAD_SNAPPY),
    "snappy literal past the output": (_snappy_page(_uleb(16) + b"\x44" + EIGHT * 3, 16), Status.BAD_SNAPPY),
    "snappy too short": (_snappy_page(_uleb(16) + b"\x1c" + EIGHT, 16), Status.BAD_SNAPPY),
    "snappy length not the page's": (_snappy_page(_uleb(8) + b"\x1c" + EIGHT, 16), Status.BAD_SNAPPY),
    "snappy empty": (_snappy_page(b"", 16), Status.TRUNCATED),
    "v1 snappy copy offset 0": (_snappy_v1(_uleb(16) + b"\x1c" + EIGHT + b"\x11\x00", 16), Status.BAD_SNAPPY),
    "v1 snappy copy past the start": (_snappy_v1(_uleb(16) + b"\x1c" + EIGHT + b"\x11\x09", 16),
                                      Status.BAD_SNAPPY),
    "v1 snappy literal past the input": (_snappy_v1(_uleb(16) + b"\x3c" + EIGHT, 16), Status.BAD_SNAPPY),
    "v1 snappy literal past the output": (_snappy_v1(_uleb(16) + b"\x44" + EIGHT * 3, 16), Status.BAD_SNAPPY),
    # Data page v2.
    "v2 repetition levels": (_v2(F64.tobytes(), 4, repetition=2), Status.UNSUPPORTED_PAGE),
    "v2 rows not values": (_v2(F64.tobytes(), 4, rows=3), Status.UNSUPPORTED_PAGE),
    "v2 nulls": (_v2(F64.tobytes(), 4, nulls=1), Status.BAD_HEADER),  # (a null in a required column)
    "v2 levels of a required column": (_v2(F64.tobytes(), 4, levels=_all_valid(4)), Status.BAD_HEADER),
    "v2 is_compressed an i32": (_page(fmt.DATA_PAGE_V2, F64.tobytes(), _struct(
        8, _i32(1, 4), _i32(2, 0), _i32(3, 4), _i32(4, 0), _i32(5, 0), _i32(6, 0), _i32(7, 0))),
    Status.BAD_HEADER),
}
# Optional columns: (the chunk, the status, the values when OK: by default OK_LIST).
NULL_LAST = [1.5, -0.0, 3.0, None]
OPTIONAL_HOSTILE = {
    # Nulls: their rows are null, the values go to the other rows (extra value bytes are ignored,
    # as pyarrow ignores them).
    "level 0": (_v1(F64.tobytes(), 4, levels=_uleb(3 << 1) + b"\x01" + _uleb(1 << 1) + b"\x00"),
                Status.OK, NULL_LAST),
    "level 0 first": (_v1(F64[1:].tobytes(), 4, levels=_uleb(1 << 1) + b"\x00" + _uleb(3 << 1) + b"\x01"),
                      Status.OK, [None, -0.0, 3.0, 10.0]),
    "level 2": (_v1(F64.tobytes(), 4, levels=_uleb(4 << 1) + b"\x02"), Status.BAD_HYBRID),
    "packed level 0": (_v1(F64.tobytes(), 4, levels=_uleb(1 << 1 | 1) + b"\xf7"), Status.OK, NULL_LAST),
    "all null": (_v1(b"", 4, levels=_uleb(4 << 1) + b"\x00"), Status.OK, [None] * 4),
    "fewer values than valid levels": (_v1(F64[:3].tobytes(), 4, levels=_all_valid(4)), Status.TRUNCATED),
    "levels past the page": (_v1(F64.tobytes(), 4, levels=b"\x08" * 200)[:-150], Status.TRUNCATED),
    "levels length past the page": (_v1((1_000).to_bytes(4, "little") + F64.tobytes(), 4), Status.TRUNCATED),
    "levels run longer than the page": (_v1(F64.tobytes(), 4, levels=_uleb(9 << 1) + b"\x01"),
                                        Status.BAD_HYBRID),
    "levels of bit-packed encoding": (_page(fmt.DATA_PAGE, F64.tobytes(), _struct(
        5, _i32(1, 4), _i32(2, 0), _i32(3, 4), _i32(4, 3))), Status.UNSUPPORTED_PAGE),
    "v2 levels past the page": (_v2(F64.tobytes(), 4, levels=_all_valid(4), compressed=1), Status.TRUNCATED),
    "v2 levels past the values": (_v2(F64.tobytes(), 4, levels=_all_valid(4), uncompressed=1),
                                  Status.TRUNCATED),
    "v2 level 0": (_v2(F64.tobytes(), 4, levels=_uleb(4 << 1) + b"\x00"), Status.BAD_HYBRID),  # (nulls: 0)
    # Levels longer than HEADROOM (not decoded in place), their bytes after the 4 values ignored.
    "snappy v1 long levels": (_v1(F64.tobytes(), 4, levels=_all_valid(4) + b"\0" * 100, snappy=True),
                              Status.OK),
    "snappy v1 levels length past the page": (
        _page(fmt.DATA_PAGE, pa.compress((1_000).to_bytes(4, "little") + F64.tobytes(), "snappy",
                                               asbytes=True),
              _struct(5, _i32(1, 4), _i32(2, 0), _i32(3, 3), _i32(4, 3)), uncompressed=36), Status.TRUNCATED),
    # Values for every row but a null among the levels: the page's size contradicts its levels.
    "snappy v1 level 0": (_v1(F64.tobytes(), 4, levels=_uleb(4 << 1) + b"\x00", snappy=True),
                          Status.BAD_HYBRID),
    "snappy v1 one null": (_v1(F64[:3].tobytes(), 4, levels=_uleb(3 << 1) + b"\x01" + _uleb(1 << 1) + b"\x00",
                               snappy=True), Status.OK, NULL_LAST),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hand_made_damage(name):
    chunk, expected = HOSTILE[name]
    rows = 2 if name.startswith(("snappy", "v1 snappy")) else 4  # (the snappy pages: 16 bytes, 2 values)
    codec = Codec.SNAPPY if "snappy" in name else Codec.UNCOMPRESSED
    status, values = _decode(chunk, rows, codec=codec)
    assert status == expected
    if expected == Status.OK:
        assert values == OK_LIST


@pytest.mark.parametrize("name", list(OPTIONAL_HOSTILE))
def test_hand_made_damage_to_levels(name):
    chunk, expected, *values_if_ok = OPTIONAL_HOSTILE[name]
    codec = Codec.SNAPPY if "snappy" in name else Codec.UNCOMPRESSED
    status, values = _decode(chunk, 4, codec=codec, optional=True)
    assert status == expected
    if expected == Status.OK:
        assert values == (values_if_ok[0] if values_if_ok else OK_LIST)


@pytest.mark.parametrize("page", ["data v1", "data v2", "dictionary"])
def test_a_huge_page_size_is_declined_without_allocating_it(monkeypatch, page):
    """A snappy page claiming 2**31 - 1 bytes in a chunk of ~40: NEED_BUFFERS from the function, then
    pages.decode declines rather than allocate 2 GB (snappy decodes at most 64 bytes from 3)."""
    huge = 2**31 - 1
    stream = _uleb(huge) + b"\x1c" + EIGHT
    if page == "data v2":
        data, need = _snappy_page(stream, huge, count=4), 0
    elif page == "data v1":
        data = _page(fmt.DATA_PAGE, stream, _struct(5, _i32(1, 4), _i32(2, 0), _i32(3, 3), _i32(4, 3)),
                     uncompressed=huge)
        need = 0
    else:
        data = _page(fmt.DICTIONARY_PAGE, stream, _struct(7, _i32(1, 4), _i32(2, 0)), uncompressed=huge)
        need = 1
    function = native().decode_chunk(64)
    info = (ctypes.c_int64 * 5)()
    with _guarded(len(data)) as chunk, _guarded(HEADROOM + 32) as out:
        ctypes.memmove(chunk, data, len(data))
        status = function(chunk, len(data), 4, int(Codec.SNAPPY), 0, 0, 0, 0, 0, out + HEADROOM, 0, 4, 0,
                          ctypes.addressof(info))
    assert (status, info[need]) == (Status.NEED_BUFFERS, huge)
    sizes = []
    allocate = pa.allocate_buffer
    monkeypatch.setattr(pa, "allocate_buffer",
                        lambda size, *a, **k: sizes.append(size) or allocate(size, *a, **k))
    chunk = pages.Chunk(0, len(data), 4, pa.float64(), Codec.SNAPPY, False, len(data), False)
    assert pages.decode(chunk, pa.py_buffer(data)) == (Status.BAD_HEADER, None)
    assert sizes and max(sizes) < 1 << 20, sizes
    # A page that snappy can decode to its size is never refused: 64 bytes from a 3-byte copy.
    values = np.zeros(4096 // 8)
    stream = _uleb(4096) + b"\x1c" + bytes(8) + b"\xfe\x08\x00" * 63 + b"\xde\x08\x00"  # 8 zeros, copies
    data = _snappy_page(stream, 4096)
    chunk = pages.Chunk(0, len(data), 512, pa.float64(), Codec.SNAPPY, False, len(data), False)
    assert len(data) * 21 > 4096 > len(data) * 16
    status, array = pages.decode(chunk, pa.py_buffer(data))
    assert status == Status.OK and _bits(array) == _bits(pa.array(values))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(variant=st.tuples(st.sampled_from(["1.0", "2.0"]), st.sampled_from(["none", "snappy"]), st.booleans(),
                         st.booleans(), st.sampled_from(["x", "n"])),
       changes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1,
                        max_size=6),
       cut=st.none() | st.floats(0, 1, exclude_max=True), at_start=st.booleans())
def test_random_damage_decodes_as_pyarrow_reads_or_is_declined(tmp_path_factory, variant, changes, cut,
                                                               at_start):
    version, compression, dictionary, optional, name = variant
    path, data = _small_file(tmp_path_factory.getbasetemp(), version, compression, dictionary, optional)
    (case,) = [c for c in _chunks(path) if c.name == name]
    damaged = bytearray(data)
    for where, value in changes:
        damaged[case.chunk.start + int(where * case.chunk.size)] = value
    body = bytes(damaged[case.chunk.start:case.chunk.start + case.chunk.size])
    if cut is not None:
        body = body[:int(cut * len(body))]
        assert _raw(case, body, at_start=at_start)[0] < 0
        return
    status, got = _raw(case, body, at_start=at_start)
    if status == Status.OK:
        assert _bits(got) == _bits(_read_damaged(bytes(damaged), case))


# ---------------------------------------------------------------------------
# 4. Scans: the same results with the decoder on and off.
# ---------------------------------------------------------------------------

@pytest.fixture
def decoded_chunks(monkeypatch) -> list[int]:
    """Counts the chunks scans take from the page decoder (one entry a chunk: its rows), whether it
    decodes them (read), counts them (read_count) or picks rows from them (read_selected)."""
    taken: list[int] = []

    def counting(function):
        def taking(source, chunk, *rest):
            result = function(source, chunk, *rest)
            if result is not None:
                taken.append(chunk.rows)
            return result
        return taking

    for name in ("read", "read_count", "read_selected"):
        monkeypatch.setattr(pages, name, counting(getattr(pages, name)))
    return taken


def _same_table(got: pa.Table, want: pa.Table) -> None:
    """Equal tables, floats bit for bit (NaN payloads, -0.0), nulls in the same places."""
    assert got.schema == want.schema and got.num_rows == want.num_rows
    for name in got.column_names:
        a, b = got[name].combine_chunks(), want[name].combine_chunks()
        if pa.types.is_floating(a.type):
            a, b = a.view(pa.int32() if a.type == pa.float32() else pa.int64()), \
                b.view(pa.int32() if b.type == pa.float32() else pa.int64())
        assert a.equals(b), name


def _scan_both_ways(monkeypatch, decoded_chunks, source, where: str, columns=None, threads: int = 1) -> tuple:
    """The table a scan reads with the decoder on, the same with ARROWJIT_PAGES=0 (asserted), its count
    the same both ways (asserted); and how many chunks the decoder gave to the scan that read the table."""
    monkeypatch.delenv(pages.ENABLE, raising=False)
    decoded_chunks.clear()
    on = arrowjit.scan(source, where, columns, threads=threads, progress=False).read_all()
    taken = len(decoded_chunks)
    on_count = arrowjit.scan(source, where, threads=threads, progress=False).count()
    reads = len(decoded_chunks)
    monkeypatch.setenv(pages.ENABLE, "0")
    off = arrowjit.scan(source, where, columns, threads=threads, progress=False).read_all()
    off_count = arrowjit.scan(source, where, threads=threads, progress=False).count()
    assert len(decoded_chunks) == reads  # (off: not one chunk)
    monkeypatch.delenv(pages.ENABLE)
    _same_table(on, off)
    assert on_count == off_count == on.num_rows
    return on, taken


def _mixed_table(rows: int = 4_003) -> pa.Table:
    """Eligible and ineligible columns; in row groups of 700 rows, f has nulls in groups 2 and 5 only,
    i in group 0 only."""
    rng = np.random.default_rng(11)
    f = rng.uniform(-1, 1, rows)
    f[::97] = np.nan
    f[5::101] = -0.0
    f_nulls = np.zeros(rows, bool)
    f_nulls[1400:2100:3] = True
    f_nulls[3500:3600:7] = True
    i = rng.integers(-100, 100, rows).astype(np.int32)
    i_nulls = np.zeros(rows, bool)
    i_nulls[10:600:13] = True
    words = np.array(["a", "b", "c", "dd"])
    return pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "f": pa.array(f, mask=f_nulls),
        "g": pa.array(rng.uniform(0, 2, rows).astype(np.float32)),
        "i": pa.array(i, mask=i_nulls),
        "u": pa.array(rng.integers(0, 2**64 - 1, rows, dtype=np.uint64, endpoint=True)),
        "u32": pa.array(rng.integers(0, 2**32 - 1, rows, dtype=np.uint32, endpoint=True)),
        "d": pa.array(rng.integers(0, 20_000, rows).astype(np.int32)).cast(pa.date32()),
        "s": pa.array(words[rng.integers(0, 4, rows)].tolist(), mask=rng.random(rows) < 0.1),
        "ts": pa.array(rng.integers(0, 10**12, rows), pa.timestamp("us")),
        "h": pa.array(rng.integers(-300, 300, rows).astype(np.int16)),
    })


WHERES = {
    "f > 0.5 and i < 20": lambda t: pc.and_kleene(pc.greater(t["f"], 0.5), pc.less(t["i"], 20)),
    "g <= 1 or s = 'b'": lambda t: pc.or_kleene(pc.less_equal(t["g"], 1), pc.equal(t["s"], "b")),
    "u > 9223372036854775808": lambda t: pc.greater(t["u"], pa.scalar(2**63, pa.uint64())),
    "u32 < 100000000 and h > 0": lambda t: pc.and_kleene(pc.less(t["u32"], 10**8), pc.greater(t["h"], 0)),
    "d >= date '1990-01-01'": lambda t: pc.greater_equal(t["d"], pa.scalar(7305, pa.date32())),
    "id >= 4000": lambda t: pc.greater_equal(t["id"], 4_000),
    "f is null": lambda t: pc.is_null(t["f"]),
}


@pytest.mark.parametrize("where", list(WHERES))
@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_scans_with_the_decoder_on_and_off(tmp_path, monkeypatch, decoded_chunks, where, version):
    table = _mixed_table()
    path = tmp_path / "mixed.parquet"
    pq.write_table(table, path, row_group_size=700, data_page_version=version, data_page_size=2_000,
                   write_batch_size=200)
    got, taken = _scan_both_ways(monkeypatch, decoded_chunks, str(path), where)
    want = table.filter(WHERES[where](table))
    _same_table(got, want)
    assert taken > 0
    # And the columns picked, in another order, on two threads.
    columns = ["ts", "f", "u", "id"]
    got, _ = _scan_both_ways(monkeypatch, decoded_chunks, str(path), where, columns, threads=2)
    _same_table(got, want.select(columns))


def test_which_chunks_the_scan_decodes(tmp_path, monkeypatch, decoded_chunks):
    table = _mixed_table()
    path = tmp_path / "mixed.parquet"
    pq.write_table(table, path, row_group_size=700)
    monkeypatch.delenv(pages.ENABLE, raising=False)
    # f: 5 row groups of 700 rows and one of 503 (nulls in groups 2 and 5), each counted page by page.
    assert arrowjit.scan(str(path), "f * 2.0 > 4.0", progress=False).count() == 0
    assert sorted(decoded_chunks) == [503] + [700] * 5
    decoded_chunks.clear()
    assert arrowjit.scan(str(path), "s = 'b' or h > 1000", progress=False).count() == pc.sum(
        pc.equal(table["s"], "b")).as_py()
    assert decoded_chunks == []  # (strings and int16 are pyarrow's)
    decoded_chunks.clear()
    assert arrowjit.scan(str(path), "i * 2 > 1000 or d < date '1970-01-01'", progress=False).count() == 0
    assert sorted(decoded_chunks) == [503] * 2 + [700] * 10  # i and d, all 6 groups each
    monkeypatch.setenv(pages.ENABLE, "0")
    decoded_chunks.clear()
    assert arrowjit.scan(str(path), "f * 2.0 > 4.0", progress=False).count() == 0
    assert decoded_chunks == []


def test_a_file_column_read_as_another_type_of_the_dataset_schema(tmp_path, monkeypatch, decoded_chunks):
    first = pa.table({"x": pa.array([1, 5, 9, -4], pa.int32()), "y": pa.array([0.5] * 4, pa.float32())})
    pq.write_table(first, tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": pa.array([7, 2**40], pa.int64()), "y": pa.array([1.5, 2.5])}),
                   tmp_path / "b.parquet")
    schema = pa.schema([("x", pa.int64()), ("y", pa.float64())])
    dataset = ds.dataset([str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")], schema=schema)
    got, taken = _scan_both_ways(monkeypatch, decoded_chunks, dataset, "x > 4")
    assert got.to_pydict() == {"x": [5, 9, 7, 2**40], "y": [0.5, 0.5, 1.5, 2.5]}
    assert taken == 4  # x of both files, y of both (the int32 and the float32 ones cast)


def test_sliced_tables_and_subsets_of_row_groups(tmp_path, monkeypatch, decoded_chunks):
    table = _mixed_table().slice(3, 3_001)  # odd offsets in every column written
    path = tmp_path / "sliced.parquet"
    pq.write_table(table, path, row_group_size=333)
    where = "f < 0 and id > 100"
    got, _ = _scan_both_ways(monkeypatch, decoded_chunks, str(path), where)
    _same_table(got, table.filter(pc.and_kleene(pc.less(table["f"], 0), pc.greater(table["id"], 100))))
    # A dataset of some of the file's row groups only.
    (fragment,) = ds.dataset(str(path)).get_fragments()
    subset = ds.FileSystemDataset([fragment.subset(row_group_ids=[1, 4, 9])], table.schema,
                                  ds.ParquetFileFormat(), fragment.filesystem)
    got, taken = _scan_both_ways(monkeypatch, decoded_chunks, subset, "id >= 0")
    ids = list(range(336, 669)) + list(range(1335, 1668)) + list(range(3000, 3004))
    assert got["id"].to_pylist() == ids
    assert taken > 0


def test_empty_file_and_one_row_groups(tmp_path, monkeypatch, decoded_chunks):
    table = _mixed_table(13)
    pq.write_table(table.slice(0, 0), tmp_path / "empty.parquet")
    got, taken = _scan_both_ways(monkeypatch, decoded_chunks, str(tmp_path / "empty.parquet"), "f > 0")
    assert got.num_rows == 0 and got.schema == table.schema and taken == 0
    pq.write_table(table, tmp_path / "ones.parquet", row_group_size=1)
    got, taken = _scan_both_ways(monkeypatch, decoded_chunks, str(tmp_path / "ones.parquet"), "g >= 0")
    _same_table(got, table)
    assert taken == 13 * 8  # id f g i u u32 d ts of each row group (i of row 10 a null)


@pytest.mark.parametrize("version, compression, dictionary",
                         [("1.0", "snappy", True), ("2.0", "none", False)])
def test_a_damaged_file_scans_alike_with_the_decoder_on_and_off(tmp_path, monkeypatch, version,
                                                               compression, dictionary):
    """Each byte of x's chunk changed in turn: the scan reads the same rows both ways, or fails both
    ways with a SourceError."""
    from arrowjit.errors import SourceError

    path, data = _small_file(tmp_path, version, compression, dictionary, True)
    case = next(c for c in _chunks(path) if c.name == "x")
    damaged_path = tmp_path / "damaged.parquet"
    outcomes = set()

    def scan() -> pa.Table | str:
        try:
            return arrowjit.scan(str(damaged_path), "x is null or x is not null", progress=False).read_all()
        except SourceError:
            return "SourceError"

    for position in range(case.chunk.start, case.chunk.start + case.chunk.size, 2):
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        damaged_path.write_bytes(bytes(damaged))
        monkeypatch.delenv(pages.ENABLE, raising=False)
        on = scan()
        monkeypatch.setenv(pages.ENABLE, "0")
        off = scan()
        if isinstance(off, str) or isinstance(on, str):
            assert on == off, position - case.chunk.start
        else:
            _same_table(on, off)
        outcomes.add(type(on))
    assert outcomes == {str, pa.Table}


def test_a_footer_with_a_negative_row_count_is_declined(tmp_path, monkeypatch):
    """A footer saying -1 rows (every i64 45 in it, zigzag 0x5a after a field header 0x16, made -1, 0x01):
    eligible declines the chunk; the scan fails as pyarrow does, with the decoder on and off."""
    from arrowjit.errors import SourceError

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": np.arange(45.0)}), path, compression="none", use_dictionary=False,
                   write_statistics=False)
    data = bytearray(path.read_bytes())
    start = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    footer = bytes(data[start:-8])
    assert footer.count(b"\x16\x5a") == 3  # the file's, the row group's and the column chunk's
    data[start:-8] = footer.replace(b"\x16\x5a", b"\x16\x01")
    path.write_bytes(bytes(data))
    metadata = pq.ParquetFile(path).metadata
    group = metadata.row_group(0)
    assert (metadata.num_rows, group.num_rows, group.column(0).num_values) == (-1, -1, -1)
    assert [c.chunk for c in _chunks(path)] == [None]
    for enabled in ("1", "0"):
        monkeypatch.setenv(pages.ENABLE, enabled)
        with pytest.raises(SourceError, match="row group 0: "):
            arrowjit.scan(str(path), "x > 3", progress=False).count()


def test_other_columns_are_decoded_only_where_a_row_matches(tmp_path, monkeypatch):
    """Late materialization with the decoder: the predicate's columns of each row group the statistics
    keep, the others only in row groups with a match (strings still by pyarrow, there only)."""
    table = _mixed_table()
    path = tmp_path / "mixed.parquet"
    pq.write_table(table, path, row_group_size=700)
    where_chunk = {c.chunk.start: (c.row_group, c.name) for c in _chunks(path) if c.chunk is not None}
    decoded, pyarrow_reads = [], []
    read_row_group = pq.ParquetFile.read_row_group

    def recording(function):  # (a whole chunk decoded, or its selected rows picked)
        def reading(source, chunk, *rest):
            array = function(source, chunk, *rest)
            decoded.append((*where_chunk[chunk.start], array is not None))
            return array
        return reading

    def recording_read_row_group(self, i, columns=None, **kw):
        pyarrow_reads.append((i, tuple(columns)))
        return read_row_group(self, i, columns=columns, **kw)

    monkeypatch.setattr(pages, "read", recording(pages.read))
    monkeypatch.setattr(pages, "read_selected", recording(pages.read_selected))
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", recording_read_row_group)
    monkeypatch.delenv(pages.ENABLE, raising=False)
    got = arrowjit.scan(str(path), "g > 1.999 and id < 2100", ["id", "u", "s"], threads=1,
                        progress=False).read_all()
    want = table.filter(pc.and_(pc.greater(table["g"], np.float32(1.999)), pc.less(table["id"], 2_100)))
    _same_table(got, want.select(["id", "u", "s"]))
    matched = sorted({i // 700 for i in got["id"].to_pylist()})
    assert 0 < len(matched) < 3
    kept = [k for k in range(3) if pc.max(table["g"][700 * k:700 * (k + 1)]).as_py() > 1.999]  # id < 2100
    predicate = sorted((g, n) for g, n, _ in decoded if n in ("g", "id"))
    assert predicate == [(k, n) for k in kept for n in ("g", "id")]
    assert sorted(g for g, n, _ in decoded if n == "u") == matched
    assert all(ok for *_, ok in decoded)
    assert sorted(pyarrow_reads) == [(k, ("s",)) for k in matched]


def test_decoding_from_threads_at_once_and_no_aliasing(tmp_path):
    """The decoder keeps no state between calls: chunks decoded on 4 threads at once equal pyarrow's;
    an array owns its values (the chunk's bytes changed afterwards change nothing)."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "t.parquet"
    pq.write_table(_table(2_003, distinct=50), path, row_group_size=500, data_page_size=512,
                   write_batch_size=64)
    cases = list(_chunks(path)) * 3
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: pages.decode(c.chunk, pa.py_buffer(c.data)), cases))
    for case, (status, got) in zip(cases, results):
        assert status == Status.OK and _bits(got) == _bits(_expected(path, case)), (case.row_group, case.name)
    for case in cases[:14]:
        data = bytearray(case.data)
        status, got = pages.decode(case.chunk, pa.py_buffer(data))
        before = _bits(got)
        data[:] = bytes(len(data))
        assert _bits(got) == before


def test_scans_of_a_duckdb_file(tmp_path, monkeypatch, decoded_chunks):
    duckdb = pytest.importorskip("duckdb")
    table = _mixed_table().select(["id", "f", "g", "i", "u", "d", "s"])
    path = tmp_path / "duck.parquet"
    with duckdb.connect() as connection:
        connection.register("t", table)
        connection.execute(f"COPY (SELECT * FROM t) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000)")
    where = "g > 1.5 and i < 0 or d < date '1975-01-01'"
    got, taken = _scan_both_ways(monkeypatch, decoded_chunks, str(path), where)
    g, i, d = table["g"], table["i"], table["d"]
    want = table.filter(pc.or_kleene(pc.and_kleene(pc.greater(g, np.float32(1.5)), pc.less(i, 0)),
                                     pc.less(d, pa.scalar(5 * 365 + 1, pa.date32()))))
    _same_table(got, want)
    assert taken > 0


# ---------------------------------------------------------------------------
# 5. Streaming: a page at a time to the filter kernel (count) or to a pick of selected rows.
# ---------------------------------------------------------------------------

def _counting_kernel(case: ChunkCase, where: str):
    """A filter on the chunk's column alone, its kernel for the chunk (reads validity when the chunk
    may hold a null) and its packed parameters."""
    from arrowjit.compiler.codegen import Nulls

    compiled = arrowjit.compile_filter(where, pa.schema([(case.name, case.chunk.type)]))
    packed, null_parameters = compiled._pack(None, {})
    nulls = frozenset({case.name} if case.chunk.nulls_possible else ())
    return compiled, compiled._kernel(Nulls(nulls, null_parameters)), packed


def _selection(rows: int, density: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random selection of ``rows`` rows: (as booleans, as the bitmap's uint64 words)."""
    chosen = np.random.default_rng(seed).random(rows) < density
    packed = np.packbits(chosen, bitorder="little")
    packed = np.concatenate([packed, np.zeros(-len(packed) % 8, np.uint8)])
    return chosen, packed.view(np.uint64)


@pytest.mark.parametrize("optional", [False, True], ids=["required", "optional"])
@pytest.mark.parametrize("dictionary", [False, True], ids=["plain", "dictionary"])
@pytest.mark.parametrize("compression", ["none", "snappy"])
@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_count_and_pick_page_by_page_agree_with_the_decoded_chunk(tmp_path, version, compression,
                                                                    dictionary, optional):
    table = _mixed_table(3_001)
    columns = ["f", "i", "g", "u32", "ts"]
    schema = pa.schema([table.schema.field(n).with_nullable(optional or n in ("f", "i")) for n in columns])
    table = table.select(columns).cast(schema) if not optional else table.select(columns)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, compression=compression, use_dictionary=dictionary, data_page_version=version,
                   data_page_size=1_000, row_group_size=1_500)
    wheres = {"f": "f > 0.5", "i": "i is null or i < -50", "g": "g < 1", "u32": "u32 % 3 = 0",
              "ts": "ts < timestamp '1970-01-04'"}
    for case in _chunks(path):
        data = pa.py_buffer(case.data)
        status, whole = pages.decode(case.chunk, data)
        assert status == Status.OK, case.name
        filter_, kernel, packed = _counting_kernel(case, wheres[case.name])
        expected = filter_.count(pa.table({case.name: whole}))
        assert pages.count(case.chunk, data, kernel, packed) == (Status.OK, expected), case.name
        for density in (0.0, 0.002, 0.05, 0.6, 1.0):
            chosen, words = _selection(case.chunk.rows, density, case.row_group)
            status, picked = pages.select(case.chunk, data, words, int(chosen.sum()))
            assert status == Status.OK and _bits(picked) == _bits(whole.filter(pa.array(chosen))), \
                (case.name, density)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_count_and_pick_on_damaged_chunks(tmp_path, version):
    """Every byte of small chunks damaged: counting and picking never crash, and what they give
    when they succeed is what the decoded chunk gives (a pick may skip a damaged page it needs no
    row of: then only the pick succeeds)."""
    path, data = _small_file(tmp_path, version, "snappy", True, True)
    for case in _chunks(path):
        _, kernel, packed = _counting_kernel(case, "x > 2" if case.name == "x" else "n > 2")
        filter_ = _counting_kernel(case, "x > 2" if case.name == "x" else "n > 2")[0]
        chosen, words = _selection(case.chunk.rows, 0.05, 3)
        for position in range(case.chunk.size):
            for mask in MASKS:
                body = bytearray(case.data)
                body[position] ^= mask
                buffer = pa.py_buffer(bytes(body))
                status, whole = pages.decode(case.chunk, buffer)
                counted = pages.count(case.chunk, buffer, kernel, packed)
                picked_status, picked = pages.select(case.chunk, buffer, words, int(chosen.sum()))
                if status == Status.OK and whole.null_count and not case.chunk.nulls_possible:
                    # Nulls the statistics deny: both decline (the kernel would read them as values).
                    assert counted[0] == Status.BAD_HYBRID and picked_status in (Status.OK, Status.BAD_HYBRID)
                elif status == Status.OK:
                    assert counted == (Status.OK, filter_.count(pa.table({case.name: whole})))
                    assert picked_status == Status.OK
                    assert _bits(picked) == _bits(whole.filter(pa.array(chosen)))
                else:
                    assert counted[0] != Status.OK, (case.name, position, mask)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("nulls", [False, True], ids=["no nulls", "nulls"])
def test_sparse_picks_straight_from_snappy_literals(tmp_path, version, nulls):
    """Pages of 20,000 incompressible values (snappy stores them as literals) with a few selected
    rows: taken from the stream without decompressing it, equal to the decoded chunk's; with
    nulls, or once the values are compressible, the pages are decompressed as before."""
    rows = 60_000
    rng = np.random.default_rng(21)
    mask = rng.random(rows) < 0.05 if nulls else None
    table = pa.table({"r": pa.array(rng.random(rows), mask=mask),  # incompressible: literals
                      "c": pa.array(np.arange(rows, dtype=np.int64) // 3)})  # compressible: copies
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, data_page_version=version, use_dictionary=False, row_group_size=rows)
    for case in _chunks(path):
        data = pa.py_buffer(case.data)
        status, whole = pages.decode(case.chunk, data)
        assert status == Status.OK
        for density in (0.00005, 0.003, 0.02):  # (the last: more than 1 row in LITERAL_RATIO)
            chosen, words = _selection(rows, density, 5)
            # Values straddling two literals (every 64 KB) selected too: they fall back.
            chosen[[8_191, 8_192, 16_383]] = True
            words = np.packbits(chosen, bitorder="little")
            words = np.concatenate([words, np.zeros(-len(words) % 8, np.uint8)]).view(np.uint64)
            status, picked = pages.select(case.chunk, data, words, int(chosen.sum()))
            assert status == Status.OK and _bits(picked) == _bits(whole.filter(pa.array(chosen))), \
                (case.name, density)
        # Damaged: each byte of the chunk's first 300 and last 300 (headers, levels, literal tags).
        chosen, words = _selection(rows, 0.0002, 6)
        for position in [*range(300), *range(case.chunk.size - 300, case.chunk.size)]:
            body = bytearray(case.data)
            body[position] ^= 0xFF
            buffer = pa.py_buffer(bytes(body))
            status, decoded = pages.decode(case.chunk, buffer)
            picked_status, picked = pages.select(case.chunk, buffer, words, int(chosen.sum()))
            if status == Status.OK and picked_status == Status.OK:
                assert _bits(picked) == _bits(decoded.filter(pa.array(chosen))), (case.name, position)


def test_a_pick_whose_count_disagrees_with_its_selection_is_refused():
    """select() writes the picks into ``kept`` slots: a count that is not the selection's (bits
    past the chunk's rows do not count) is refused before the decoder runs."""
    table = pa.table({"x": np.random.default_rng(1).random(1_000)})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    data = buffer.getvalue()
    file = pq.ParquetFile(pa.BufferReader(data))
    metadata = file.metadata
    chunk = pages.eligible(metadata.row_group(0).column(0), metadata.schema.column(0), pa.float64(), 1_000,
                           data.size)
    body = data.slice(chunk.start, chunk.size)
    every = np.full(16, np.uint64(2**64 - 1))  # 1,024 bits set: 1,000 of them rows
    assert pages.select(chunk, body, every, 10) == (Status.COUNT_MISMATCH, None)
    assert pages.select(chunk, body, every, 1_024) == (Status.COUNT_MISMATCH, None)
    status, picked = pages.select(chunk, body, every, 1_000)
    assert status == Status.OK and picked.equals(table.column(0).chunk(0))
