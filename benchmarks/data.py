"""The benchmark's data: the same columns for every contender, from a fixed seed.

Columns (all float64 unless said): x, y uniform in [0, 10); i int64 in
[0, 1000); f32 float32 in [0, 10); z, a fifth column that only rides along in
the filtered table. The ``nulls`` data set is the same table with x replaced
by a copy in which 10% of the values are null (E7).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

SEED = 20240601
NULL_FRACTION = 0.10
# The filtered table has these columns, in this order.
OUTPUT_COLUMNS = ("x", "y", "i", "f32", "z")
# HOOK E6 (strings): add a string column here (e.g. "s", short words from a
# small vocabulary) and to OUTPUT_COLUMNS if the filtered table should carry it.


@dataclass
class Dataset:
    """One table in the forms the contenders read, plus a cache for their own forms."""

    name: str
    table: pa.Table  # one chunk
    batch: pa.RecordBatch  # the same buffers
    numpy: dict[str, np.ndarray]  # zero-copy where possible; nulls become NaN
    prepared: dict[str, object] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.table.num_rows


def _f32(rng: np.random.Generator, rows: int) -> np.ndarray:
    values = rng.random(rows, dtype=np.float32) * np.float32(10)
    return np.minimum(values, np.nextafter(np.float32(10), np.float32(0)))


def _dataset(name: str, columns: dict[str, pa.Array]) -> Dataset:
    table = pa.table(columns)
    batch = table.combine_chunks().to_batches()[0]
    table = pa.Table.from_batches([batch])
    arrays = {n: batch.column(n).to_numpy(zero_copy_only=False) for n in batch.schema.names}
    return Dataset(name, table, batch, arrays)


def generate(rows: int, seed: int = SEED) -> dict[str, Dataset]:
    """The ``plain`` and ``nulls`` data sets (they share every column but x)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, rows)
    columns = {
        "x": pa.array(x),
        "y": pa.array(rng.uniform(0, 10, rows)),
        "i": pa.array(rng.integers(0, 1000, rows, dtype=np.int64)),
        "f32": pa.array(_f32(rng, rows)),
        "z": pa.array(rng.uniform(0, 10, rows)),
    }
    null = rng.random(rows) < NULL_FRACTION
    with_nulls = dict(columns, x=pa.array(x, mask=null))
    return {"plain": _dataset("plain", columns), "nulls": _dataset("nulls", with_nulls)}


def read_buffers(data: Dataset, columns: tuple[str, ...]) -> list[np.ndarray]:
    """The bytes an expression over ``columns`` reads: each data buffer, and validity bitmaps.

    Used for the bandwidth reference (``np.sum`` over each) and for GB/s.
    Bitmaps are viewed as uint64 words so that summing them is not slower
    than reading them.
    """
    out = []
    for name in columns:
        array = data.batch.column(name)
        validity, values = array.buffers()[0], array.buffers()[1]
        dtype = array.type.to_pandas_dtype()
        width = np.dtype(dtype).itemsize
        out.append(np.frombuffer(values, dtype=dtype, count=len(array), offset=array.offset * width))
        if validity is not None and array.null_count:
            words = (len(array) + 63) // 64
            raw = np.frombuffer(validity, dtype=np.uint8)
            padded = np.zeros(words * 8, dtype=np.uint8)
            padded[: min(raw.size, padded.size)] = raw[: padded.size]
            out.append(padded.view(np.uint64))
    return out


def stream_views(buffers: list[np.ndarray]) -> list[np.ndarray]:
    """The same bytes as uint64 words (a tail shorter than a word is left out), for the stream reference."""
    return [np.frombuffer(b, dtype=np.uint8, count=b.nbytes // 8 * 8).view(np.uint64) for b in buffers]


def table_bytes(data: Dataset, columns: tuple[str, ...], selected: int) -> tuple[int, int]:
    """(bytes read, bytes written) by a filtered table of OUTPUT_COLUMNS at the least.

    Read: every output column once (to copy the selected rows) and the
    predicate's columns once more (to evaluate it), validity bitmaps
    included. Written: the selected rows of every output column, and a
    validity bitmap for each column with nulls.
    """
    read = bytes_read(data, OUTPUT_COLUMNS) + bytes_read(data, columns)
    written = 0
    for name in OUTPUT_COLUMNS:
        array = data.batch.column(name)
        written += selected * array.type.bit_width // 8
        if array.null_count:
            written += (selected + 7) // 8
    return read, written


def bytes_read(data: Dataset, columns: tuple[str, ...]) -> int:
    total = 0
    for name in columns:
        array = data.batch.column(name)
        total += len(array) * array.type.bit_width // 8
        if array.null_count:
            total += (len(array) + 7) // 8
    return total
