"""``arrowjit.scan``: the rows of Parquet, Arrow IPC or CSV files where a predicate is true.

A scan is planned first (:func:`plan`) and then run lazily, batch by batch:

1. The source becomes a ``pyarrow.dataset.Dataset``; its schema types the
   expression.
2. The typed predicate becomes a pruning expression (:mod:`.pushdown`);
   pyarrow.dataset uses it to skip Hive partitions and, for Parquet, row
   groups whose statistics show that no row can match.
3. Each Parquet row group left is one task: read the predicate's columns,
   evaluate the compiled predicate, and only if a row matches read the other
   requested columns and keep the matching rows (late materialization).
   Tasks run on a thread pool (pyarrow decodes without the GIL, the kernel
   runs without it); at most ``threads`` row groups are in flight, and
   batches come out in file order.

Other formats are read batch by batch through pyarrow.dataset (with the
same partition pruning) and filtered with the compiled predicate.
"""

from __future__ import annotations

import functools
import glob as globbing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from . import progress as progress_bars
from .compiler import typed_ir as tir
from .compiler.codegen import Nulls
from .compiler.parameterize import restore_literals
from .errors import ArgumentError, ArrowJitError, SourceError, UnknownColumnError
from .filter import SPARSE_RATIO, Filter, compile_filter
from .pushdown import Pushdown, pushdown
from .runtime import outputs, pages
from .runtime import threads as parallel

FORMATS: Mapping[str, str] = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet",
                              ".feather": "ipc", ".arrow": "ipc", ".ipc": "ipc", ".csv": "csv"}
FORMAT_NAMES = ("parquet", "ipc", "feather", "arrow", "csv")

Source = str | os.PathLike | Sequence[str | os.PathLike] | Any  # Any: a pyarrow.dataset.Dataset


# ---------------------------------------------------------------------------
# Opening the source.
# ---------------------------------------------------------------------------

def _format_of(path: str, given: str | None) -> str:
    if given is not None:
        if given not in FORMAT_NAMES:
            raise ArgumentError(f"format must be one of {', '.join(FORMAT_NAMES)}, not {given!r}")
        return "ipc" if given in ("feather", "arrow") else given
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise SourceError(f"cannot tell the format of {path!r} from its name "
                          f"(expected {', '.join(sorted(FORMATS))}); pass format=")
    return FORMATS[suffix]


def _format_in_directory(directory: str, given: str | None) -> str:
    if given is not None:
        return _format_of(directory, given)
    for _, _, names in os.walk(directory):
        for name in sorted(names):
            if not name.startswith((".", "_")) and Path(name).suffix.lower() in FORMATS:
                return FORMATS[Path(name).suffix.lower()]
    raise SourceError(f"directory {directory!r} holds no Parquet, Arrow IPC/Feather or CSV file")


def open_dataset(source: Source, format: str | None = None):
    """A ``pyarrow.dataset.Dataset`` for a path, a directory, a glob, a list of paths or a Dataset."""
    import pyarrow.dataset as ds

    if isinstance(source, ds.Dataset):
        return source
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if not os.path.exists(text) and any(c in text for c in "*?["):
            paths = sorted(globbing.glob(text, recursive=True))
            if not paths:
                raise SourceError(f"no file matches {text!r}")
            return _open_files(paths, format)
        if os.path.isdir(text):
            fmt = _format_in_directory(text, format)
            return _opened(lambda: ds.dataset(text, format=fmt, partitioning="hive"), text, fmt)
        return _open_files([text], format)
    if isinstance(source, Sequence) and not isinstance(source, bytes):
        paths = [os.fspath(p) if isinstance(p, str | os.PathLike) else p for p in source]
        if not paths or not all(isinstance(p, str) for p in paths):
            raise ArgumentError("a list source must hold at least one path (str or os.PathLike)")
        return _open_files(paths, format)
    raise ArgumentError(f"source must be a path, a glob, a list of paths or a pyarrow.dataset.Dataset, "
                        f"not {type(source).__name__}")


def _open_files(paths: list[str], format: str | None):
    import pyarrow.dataset as ds

    formats = {_format_of(p, format) for p in paths}
    if len(formats) > 1:
        raise SourceError(f"the files mix formats ({', '.join(sorted(formats))}); scan them separately")
    for path in paths:
        if not os.path.exists(path):
            raise SourceError(f"{path!r}: no such file or directory")
        if os.path.isdir(path):
            raise SourceError(f"{path!r} is a directory: pass it alone, not in a list")
    fmt = formats.pop()
    return _opened(lambda: ds.dataset(paths, format=fmt), paths[0] if len(paths) == 1 else paths, fmt)


def _opened(make: Callable[[], Any], what: Any, fmt: str):
    try:
        return make()
    except FileNotFoundError as e:
        raise SourceError(f"{what!r}: no such file or directory ({e})") from None
    except (OSError, pa.ArrowException) as e:
        raise SourceError(f"cannot read {what!r} as {fmt}: {e}") from None


# ---------------------------------------------------------------------------
# The plan.
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Task:
    """One unit of work: a Parquet row group, or a whole file of another format."""

    fragment: Any  # pyarrow.dataset.FileFragment
    row_group: int | None  # the row group's index in its file (None: the whole fragment)
    num_rows: int | None
    nbytes: int  # compressed bytes of the columns the task may read (0 when unknown)
    partition: Mapping[str, Any]  # column -> the value the fragment's path gives it


@dataclass(frozen=True)
class Plan:
    dataset: Any
    where: str
    filter: Filter
    typed: tir.TypedNode  # the predicate with its literals
    columns: tuple[str, ...]  # the output's columns
    schema: pa.Schema  # the output's schema
    predicate_columns: tuple[str, ...]
    pruning: Pushdown
    parquet: bool
    tasks: tuple[Task, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total_rows(self) -> int | None:
        counts = [task.num_rows for task in self.tasks]
        return None if any(n is None for n in counts) else sum(counts)

    @property
    def reading(self) -> Reading:
        """What reading one of its row groups needs (the plan without its dataset and tasks)."""
        return Reading(self.filter, self.params, self.predicate_columns, self.columns, self.schema,
                       self.dataset.schema)


@dataclass(frozen=True)
class Reading:
    """How to read a row group: the predicate, its columns, the output's, and the dataset's schema.

    It pickles small (the Filter as its expression and schema), so a Dask
    task can carry it with its row groups (arrowjit/dask.py).
    """

    filter: Filter
    params: Mapping[str, Any]
    predicate_columns: tuple[str, ...]
    columns: tuple[str, ...]  # the output's columns
    schema: pa.Schema  # the output's schema
    source_schema: pa.Schema  # the dataset's (partition columns included)


def plan(source: Source, where: str, columns: Sequence[str] | None = None, *,
         params: Mapping[str, Any] | None = None, format: str | None = None) -> Plan:
    """Open the source, type the predicate, and find the row groups that may hold matches."""
    import pyarrow.dataset as ds

    if not isinstance(where, str):
        raise ArgumentError(f"where must be an expression string, not {type(where).__name__}")
    dataset = open_dataset(source, format)
    schema = dataset.schema
    compiled = compile_filter(where, schema, params=_param_types(params))
    if compiled.parameters or params:
        compiled._pack(params or {}, {})  # every parameter has a value of its type
    typed = restore_literals(compiled._shape, compiled._hidden)
    names = tuple(schema.names if columns is None else _checked_columns(columns, schema))
    pruning = pushdown(typed, params)
    parquet = isinstance(dataset, ds.FileSystemDataset) and isinstance(dataset.format, ds.ParquetFileFormat)
    read = set(names) | set(compiled.columns)

    def tasks_for(expression) -> tuple[Task, ...]:
        if parquet:
            return tuple(_row_group_tasks(dataset, expression, read))
        if isinstance(dataset, ds.FileSystemDataset):
            return tuple(Task(f, None, None, 0, _partition(f)) for f in _fragments(dataset, expression))
        return ()

    try:
        try:
            tasks = tasks_for(pruning.expression)
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid):
            if pruning.expression is None:
                raise
            # pyarrow could not simplify the expression with these statistics: prune nothing.
            pruning = Pushdown(None, (typed,))
            tasks = tasks_for(None)
    except (OSError, pa.ArrowException) as e:
        raise SourceError(f"cannot read the source: {e}") from None
    return Plan(dataset, where, compiled, typed, names, pa.schema([schema.field(n) for n in names]),
                tuple(compiled.columns), pruning, parquet, tasks, dict(params or {}))


def _param_types(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if params is None:
        return None
    if not isinstance(params, Mapping):
        raise ArgumentError(f"params must map parameter names to values, not {type(params).__name__}")
    # A float value makes its parameter float64 (an int would take the column's type).
    return {name: "float64" for name, value in params.items() if isinstance(value, float)} or None


def _checked_columns(columns: Sequence[str], schema: pa.Schema) -> list[str]:
    if isinstance(columns, str) or not isinstance(columns, Sequence):
        raise ArgumentError("columns must be a list of column names")
    seen = set()
    for name in columns:
        if not isinstance(name, str):
            raise ArgumentError(f"columns must be a list of column names, not hold {name!r}")
        if name in seen:
            raise ArgumentError(f"columns names {name!r} twice")
        seen.add(name)
        if schema.get_field_index(name) < 0:
            known = ", ".join(schema.names[:20]) + (", ..." if len(schema.names) > 20 else "")
            raise UnknownColumnError(f"unknown column {name!r} in columns (the data has: {known})")
    return list(columns)


def _fragments(dataset, expression) -> Iterable[Any]:
    return dataset.get_fragments(filter=expression) if expression is not None else dataset.get_fragments()


def _partition(fragment) -> dict[str, Any]:
    import pyarrow.dataset as ds

    return ds.get_partition_keys(fragment.partition_expression)


def _check_not_encrypted(fragment, metadata) -> None:
    """Refuse a Parquet file encrypted with a plaintext footer (pyarrow aborts the process
    when it reads such a file's column metadata without keys: apache/arrow issue to be filed).

    Its footer holds a signature after the file metadata: the footer's length (in the
    file's last 8 bytes) is longer than the metadata pyarrow parsed from it.
    """
    with fragment.filesystem.open_input_file(fragment.path) as source:
        size = source.size()
        tail = source.read_at(8, size - 8) if size >= 8 else b""
    footer = int.from_bytes(tail[:4], "little") if len(tail) == 8 else -1
    if footer != metadata.serialized_size:
        raise SourceError(f"{fragment.path}: the file is encrypted (Parquet modular encryption); "
                          "arrowjit does not read encrypted Parquet files")


def _row_group_tasks(dataset, expression, read: set[str]) -> Iterator[Task]:
    for fragment in _fragments(dataset, expression):
        partition = _partition(fragment)
        metadata = fragment.metadata
        _check_not_encrypted(fragment, metadata)
        positions = {metadata.schema.column(k).path: k for k in range(metadata.num_columns)}
        wanted = [k for name, k in positions.items() if name.split(".")[0] in read]
        groups = fragment.split_by_row_group(expression, schema=dataset.schema) \
            if expression is not None else fragment.split_by_row_group()
        for piece in groups:
            for info in piece.row_groups:
                group = metadata.row_group(info.id)
                nbytes = sum(group.column(k).total_compressed_size for k in wanted)
                yield Task(fragment, info.id, group.num_rows, nbytes, partition)


# ---------------------------------------------------------------------------
# Running a task.
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What one task gave: the kept rows (None when counting), how many, how many rows were read."""

    batch: pa.RecordBatch | None
    kept: int
    rows: int
    nbytes: int


def _constant(value: Any, type_: pa.DataType, length: int) -> pa.Array:
    if value is None:
        return pa.nulls(length, type_)
    if pa.types.is_dictionary(type_):
        return pa.repeat(pa.scalar(value, type_.value_type), length).dictionary_encode().cast(type_)
    return pa.repeat(pa.scalar(value, type_), length)


def _read(reading: Reading, task: Task, reader, names: Sequence[str], length: int | None,
          use_threads: bool, decoded: Callable[[str], pa.Array | None] | None = None) -> dict[str, pa.Array]:
    """The columns ``names`` of a task's rows, each as one array (partition columns made up).

    ``decoded(name)``: a column read by the native page decoder, or None for
    pyarrow's reader to read it.
    """
    schema = reading.source_schema
    physical = set(task.fragment.physical_schema.names)
    from_file = [n for n in names if n not in task.partition and n in physical]
    arrays: dict[str, pa.Array] = {}
    if decoded is not None and from_file:
        if use_threads and len(from_file) > 1:  # (few row groups: their columns side by side)
            # (as many threads as pyarrow's reader would use for them)
            workers = min(len(from_file), os.cpu_count() or 1)
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="arrowjit-pages") as pool:
                found = list(pool.map(decoded, from_file))
        else:
            found = [decoded(name) for name in from_file]
        for name, column in zip(from_file, found):
            if column is not None:
                wanted = schema.field(name).type
                arrays[name] = column if column.type == wanted else column.cast(wanted)
    from_file = [n for n in from_file if n not in arrays]
    if from_file or (length is None and not arrays):
        table = reader(from_file, use_threads)
        length = table.num_rows
        for name in from_file:
            column = table.column(name)
            wanted = schema.field(name).type
            if column.type != wanted:
                column = column.cast(wanted)
            arrays[name] = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if length is None:
        length = len(next(iter(arrays.values())))
    for name in names:
        if name not in arrays:
            arrays[name] = _constant(task.partition.get(name), schema.field(name).type, length)
    return arrays


def _selector(buffer, words: np.ndarray, kept: int, length: int) -> Callable[[pa.Array], pa.Array]:
    """How to keep a column's selected rows: all of them, a gather by position, or a compress."""
    if kept == length:
        return lambda array: array
    if kept * SPARSE_RATIO < length:
        selection, _ = outputs.indices([(0, words)], length)
        return lambda array: outputs.take(array, selection)
    return lambda array: outputs.compress(array, buffer, words, kept)


def _evaluate(reading: Reading, arrays: Mapping[str, pa.Array], length: int):
    """The predicate's bitmap over one run of rows: (buffer, words, kept)."""
    names = list(reading.predicate_columns)
    if names:
        batch = pa.RecordBatch.from_arrays([arrays[n] for n in names], names=names)
    else:
        batch = pa.record_batch({"_": pa.nulls(length)}).select([])
    results, kept = reading.filter._counted_bitmaps(batch, reading.params, {}, threads=1)
    if not results:  # no rows
        buffer, words = outputs.new_words(0)
        return buffer, words, 0
    ((_, buffer, words),) = results
    return buffer, words, kept


def _dictionary_columns(reading: Reading, task: Task) -> list[str]:
    """Output-only string columns stored with a dictionary in this row group.

    They are read as dictionary indices and decoded after the matching rows
    are taken: only the kept rows' strings are ever built.
    """
    schema = reading.source_schema
    wanted = {n for n in reading.columns if n not in reading.predicate_columns and n not in task.partition
              and _is_string(schema.field(n).type)}
    if not wanted:
        return []
    group = task.fragment.metadata.row_group(task.row_group)
    chunks = (group.column(k) for k in range(group.num_columns))
    return sorted(c.path_in_schema for c in chunks if c.path_in_schema in wanted and c.has_dictionary_page)


def _is_string(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_) or pa.types.is_binary(type_) \
        or pa.types.is_large_binary(type_)


def _decoded(column: pa.ChunkedArray, select: Callable[[pa.Array], pa.Array], type_: pa.DataType) -> pa.Array:
    """The kept rows of a dictionary-encoded column, as plain ``type_`` values."""
    if column.num_chunks == 1:
        array = select(column.chunk(0)).dictionary_decode()
    else:  # chunks may carry different dictionaries
        array = select(pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks],
                                        type=column.type.value_type).combine_chunks())
    return array if array.type == type_ else array.cast(type_)


def _page_chunks(task: Task, source: Any) -> Callable[[str], pages.Chunk | None]:
    """``chunk(name)``: the row group's column ``name`` as the native page decoder reads it
    (:mod:`.runtime.pages`), or None where it does not."""
    metadata = task.fragment.metadata
    physical = task.fragment.physical_schema
    group = metadata.row_group(task.row_group)
    positions: dict[str, list[int]] = {}
    for k in range(metadata.num_columns):
        positions.setdefault(metadata.schema.column(k).path, []).append(k)
    file_size = source.size()

    def chunk(name: str) -> pages.Chunk | None:
        found = positions.get(name, [])
        if len(found) != 1 or physical.get_field_index(name) < 0:
            return None
        return pages.eligible(group.column(found[0]), metadata.schema.column(found[0]),
                              physical.field(name).type, task.num_rows, file_size)

    return chunk


def _page_reader(task: Task, source: Any, chunk_of: Callable[[str], pages.Chunk | None], use_threads: bool,
                 workspace: pages.Workspace | None) -> Callable[[str], pa.Array | None]:
    """``decoded(name)``: the row group's column ``name`` decoded whole by the native page
    decoder, or None (pyarrow reads it). ``use_threads``: called from several threads at once."""

    def decoded(name: str) -> pa.Array | None:
        chunk = chunk_of(name)
        if chunk is None:
            return None
        if use_threads:  # a file handle and memory of its own for each call
            with task.fragment.filesystem.open_input_file(task.fragment.path) as own:
                return pages.read(own, chunk)
        return pages.read(source, chunk, workspace)

    return decoded


def _count_on_pages(reading: Reading, task: Task, source: Any, chunk_of: Callable[[str], pages.Chunk | None],
                    workspace: pages.Workspace | None) -> int | None:
    """The rows a one-column predicate keeps in the row group, each page counted by the kernel as
    soon as it is decoded; None when the column is not one the decoder reads as the kernel takes it."""
    if len(reading.predicate_columns) != 1:
        return None
    name = reading.predicate_columns[0]
    chunk = None if name in task.partition else chunk_of(name)
    if chunk is None or chunk.type != reading.source_schema.field(name).type:
        return None
    compiled = reading.filter
    packed, null_parameters = compiled._pack(reading.params, {})
    kernel = compiled._kernel_for(Nulls(frozenset({name} if chunk.nulls_possible else ()), null_parameters))
    return pages.read_count(source, chunk, kernel, packed, workspace)


PICK_RATIO = 20  # a selection sparser than 1 row in this many is taken page by page as decoded


def _picked_on_pages(reading: Reading, task: Task, source: Any,
                     chunk_of: Callable[[str], pages.Chunk | None] | None, name: str, words: np.ndarray,
                     kept: int, workspace: pages.Workspace | None) -> pa.Array | None:
    """The selected rows of column ``name``, each page's taken as it is decoded; None when the
    page decoder does not read the column, or one row in PICK_RATIO or more is selected."""
    if chunk_of is None or name in task.partition or kept * PICK_RATIO >= task.num_rows:
        return None  # (more rows: decoding the chunk whole and compressing it is faster, measured)
    chunk = chunk_of(name)
    picked = None if chunk is None else pages.read_selected(source, chunk, words, kept, workspace)
    wanted = reading.source_schema.field(name).type
    return picked if picked is None or picked.type == wanted else picked.cast(wanted)


def _run_row_group(reading: Reading, task: Task, count_only: bool, use_threads: bool,
                   workspace: pages.Workspace | None = None) -> Outcome:
    import pyarrow.fs
    import pyarrow.parquet as pq

    filesystem = task.fragment.filesystem
    # Coalesced reads ahead pay off on object stores; on a local disk they are one more copy.
    options = {"metadata": task.fragment.metadata,
               "pre_buffer": not isinstance(filesystem, pyarrow.fs.LocalFileSystem)}
    try:
        source = filesystem.open_input_file(task.fragment.path)
        with source:
            parquet = functools.cache(lambda: pq.ParquetFile(source, **options))  # (made when first read)

            def reader(columns: list[str], threads: bool) -> pa.Table:
                return parquet().read_row_group(task.row_group, columns=columns, use_threads=threads)

            length = task.num_rows
            chunk_of = _page_chunks(task, source) if pages.enabled() else None
            if count_only and chunk_of is not None:
                kept = _count_on_pages(reading, task, source, chunk_of, workspace)
                if kept is not None:
                    return Outcome(None, kept, length, task.nbytes)
            decoded = None
            if chunk_of is not None:
                decoded = _page_reader(task, source, chunk_of, use_threads, workspace)
            first = _read(reading, task, reader, reading.predicate_columns, length, use_threads, decoded)
            buffer, words, kept = _evaluate(reading, first, length)
            if count_only or kept == 0:
                return Outcome(None, kept, length, task.nbytes)
            select = _selector(buffer, words, kept, length)
            coded = _dictionary_columns(reading, task)
            indices = pq.ParquetFile(source, read_dictionary=coded, **options) if coded else None

            if use_threads:  # few row groups: decode their columns side by side instead
                rest = [n for n in reading.columns if n not in first and n not in coded]
                first = {**first, **_read(reading, task, reader, rest, length, use_threads, decoded)}

            def column(name: str) -> pa.Array:
                if name in first:
                    return select(first[name])
                if name in coded:
                    table = indices.read_row_group(task.row_group, columns=[name], use_threads=use_threads)
                    return _decoded(table.column(name), select, reading.source_schema.field(name).type)
                picked = _picked_on_pages(reading, task, source, chunk_of, name, words, kept, workspace)
                if picked is not None:
                    return picked
                return select(_read(reading, task, reader, [name], length, use_threads, decoded)[name])

            # One column at a time: its decoded form is dropped once its rows are taken.
            columns = [column(name) for name in reading.columns]
    except (OSError, pa.ArrowException) as e:
        raise SourceError(f"{task.fragment.path}, row group {task.row_group}: {e}") from None
    return Outcome(_batch(columns, reading.schema, kept), kept, length, task.nbytes)


def _batch(columns: list[pa.Array], schema: pa.Schema, length: int) -> pa.RecordBatch:
    if columns:
        return pa.RecordBatch.from_arrays(columns, schema=schema)
    return pa.record_batch({"_": pa.nulls(length)}).select([])  # no column, but rows


def _ordered(tasks: Sequence[Task], run: Callable[[Task], Outcome], workers: int,
             ahead: int | None = None) -> Iterator[Outcome]:
    """``run`` over the tasks on ``workers`` threads, in task order.

    At most ``ahead`` tasks (by default ``workers``) are alive at once,
    counting a finished one whose result has not been taken yet: memory stays
    at about a row group a thread. Outcomes that hold no rows (counts) can
    run further ahead, so a thread done early does not wait for the oldest
    task to finish.
    """
    ahead = workers if ahead is None else ahead
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield run(task)
        return
    pending: deque[Future] = deque()
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="arrowjit-scan")
    try:
        for task in tasks:
            if len(pending) >= ahead:
                yield pending.popleft().result()
            pending.append(executor.submit(run, task))
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def run_row_groups(reading: Reading, tasks: Sequence[Task], workers: int, count_only: bool
                   ) -> Iterator[Outcome]:
    """Each Parquet row group task's outcome, in task order, ``workers`` row groups at a time.

    The loop of a scan, and of each partition of ``arrowjit.dask.read_parquet``.
    """
    use_threads = workers > 1 and len(tasks) < workers
    local = threading.local()  # each thread's memory for the page decoder, reused from task to task

    def run(task: Task) -> Outcome:
        workspace = getattr(local, "workspace", None)
        if workspace is None:
            workspace = local.workspace = pages.Workspace()
        return _run_row_group(reading, task, count_only, use_threads, workspace)

    return _ordered(tasks, run, workers,
                    ahead=4 * workers if count_only else workers)


# ---------------------------------------------------------------------------
# Other formats: batch by batch through pyarrow.dataset.
# ---------------------------------------------------------------------------

def _batches_of(plan: Plan, workers: int) -> Iterator[tuple[pa.RecordBatch | None, int]]:
    """Each batch read (the predicate's and the output's columns); ``(None, 1)`` after each file."""
    import pyarrow.dataset as ds

    read = list(dict.fromkeys([*plan.predicate_columns, *plan.columns]))
    try:
        if isinstance(plan.dataset, ds.FileSystemDataset):  # the files partition pruning left
            for task in plan.tasks:
                scanner = task.fragment.to_batches(schema=plan.dataset.schema, columns=read,
                                                   use_threads=workers > 1)
                yield from ((batch, 0) for batch in scanner)
                yield None, 1
        else:
            yield from ((batch, 0) for batch in plan.dataset.to_batches(columns=read,
                                                                         use_threads=workers > 1))
    except (OSError, pa.ArrowException) as e:
        raise SourceError(f"cannot read the source: {e}") from None


def _filter_batches(plan: Plan, workers: int, count_only: bool) -> Iterator[tuple[Outcome, int]]:
    for batch, done in _batches_of(plan, workers):
        if batch is None:
            yield Outcome(None, 0, 0, 0), done
            continue
        if count_only:
            kept = plan.filter.count(batch, plan.params, threads=workers) if len(batch) else 0
            yield Outcome(None, kept, len(batch), batch.nbytes), 0
            continue
        buffer, words, kept = _evaluate_threads(plan, batch, workers)
        select = _selector(buffer, words, kept, len(batch))
        out = _batch([select(batch.column(n)) for n in plan.columns], plan.schema, kept) if kept else None
        yield Outcome(out, kept, len(batch), batch.nbytes), 0


def _evaluate_threads(plan: Plan, batch: pa.RecordBatch, workers: int):
    if len(batch) == 0:
        buffer, words = outputs.new_words(0)
        return buffer, words, 0
    source = batch.select(list(plan.predicate_columns))
    ((_, buffer, words),), kept = plan.filter._counted_bitmaps(source, plan.params, {}, threads=workers)
    return buffer, words, kept


# ---------------------------------------------------------------------------
# The public object.
# ---------------------------------------------------------------------------

@dataclass
class ScanStats:
    """What a run of the scan did (filled in as batches come out)."""

    row_groups_planned: int = 0
    row_groups_read: int = 0
    rows_read: int = 0
    rows_kept: int = 0
    bytes_read: int = 0


class Scan:
    """The lazy result of :func:`scan`: a stream of record batches, read on demand.

    It is used like a ``pa.RecordBatchReader`` (``read_all``,
    ``read_next_batch``, iteration, ``schema``, ``read_pandas``) and can be
    handed to anything that takes an Arrow stream (``pa.table(scan)``,
    polars, DuckDB) through ``__arrow_c_stream__``; :meth:`to_reader` gives a
    real ``pa.RecordBatchReader``. Like a reader it is consumed once.
    :meth:`count` counts the matching rows without building any output
    column; :meth:`explain` describes the plan without reading any data.
    """

    def __init__(self, plan_: Plan, threads: int | None, progress: bool | None):
        progress_bars.check(progress)
        self.plan = plan_
        self.threads = parallel.resolve(threads)
        self.progress = progress
        self.stats = ScanStats(row_groups_planned=len(plan_.tasks))
        self._reader: pa.RecordBatchReader | None = None

    @property
    def schema(self) -> pa.Schema:
        return self.plan.schema

    # -- running -----------------------------------------------------------
    def _outcomes(self, count_only: bool) -> Iterator[Outcome]:
        plan, workers = self.plan, self.threads
        bar = progress_bars.bar(self.progress, plan.total_rows, len(plan.tasks))
        try:
            if plan.parquet:
                for outcome in run_row_groups(plan.reading, plan.tasks, workers, count_only):
                    self._advance(bar, outcome, 1)
                    yield outcome
                    del outcome  # not kept alive while the next row group is read
            else:
                for outcome, done in _filter_batches(plan, workers, count_only):
                    self._advance(bar, outcome, done)
                    yield outcome
                    del outcome
        finally:
            bar.close()

    def _advance(self, bar, outcome: Outcome, groups: int) -> None:
        stats = self.stats
        stats.row_groups_read += groups
        stats.rows_read += outcome.rows
        stats.rows_kept += outcome.kept
        stats.bytes_read += outcome.nbytes
        bar.advance(outcome.rows, outcome.kept, groups, outcome.nbytes)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        for outcome in self._outcomes(count_only=False):
            batch = outcome.batch
            del outcome
            if batch is not None and batch.num_rows:
                yield batch
            del batch  # the consumer has it: do not hold it while the next one is made

    def to_reader(self) -> pa.RecordBatchReader:
        """The scan as a ``pa.RecordBatchReader`` (the same one on every call: read it once)."""
        if self._reader is None:
            self._reader = pa.RecordBatchReader.from_batches(self.plan.schema, self._batches())
        return self._reader

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.to_reader().__arrow_c_stream__(requested_schema)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self.to_reader())

    def read_next_batch(self) -> pa.RecordBatch:
        return self.to_reader().read_next_batch()

    def read_all(self) -> pa.Table:
        """Every matching row as a Table."""
        return self.to_reader().read_all()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def __enter__(self) -> Scan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("plan", "threads", "progress", "stats"):
            raise AttributeError(name)
        return getattr(self.to_reader(), name)  # the rest of RecordBatchReader's API

    def count(self) -> int:
        """How many rows match, reading only the predicate's columns (no output is built)."""
        return sum(outcome.kept for outcome in self._outcomes(count_only=True))

    # -- looking inside ------------------------------------------------------
    def explain(self) -> str:
        """The plan: typed predicate, columns read, pruning expression, row groups left to read."""
        return explain(self.plan)

    def __repr__(self) -> str:
        return (f"<arrowjit.Scan {self.plan.where!r}: {len(self.plan.columns)} columns, "
                f"{len(self.plan.tasks)} {'row groups' if self.plan.parquet else 'files'} to read>")


def scan(source: Source, where: str, columns: Sequence[str] | None = None, *, threads: int | None = None,
         progress: bool | None = None, params: Mapping[str, Any] | None = None,
         format: str | None = None) -> Scan:
    """The rows of ``source`` where the predicate ``where`` is true, as a lazy stream of batches.

    ``source`` is a path, a directory (Hive partitions become columns), a
    glob, a list of paths, or a ``pyarrow.dataset.Dataset``; files are
    Parquet, Arrow IPC/Feather or CSV (told by their extension, or
    ``format=``). ``columns`` picks the output's columns (default: all).
    Only the columns the predicate and ``columns`` need are read; Parquet
    row groups and partitions that cannot match are skipped by their
    statistics; the other columns of a row group are decoded only when one
    of its rows matches. ``threads`` row groups are read at once (None: every
    core). ``progress``: True shows a tqdm bar, None shows one on a terminal
    when the scan takes more than a second, False never. ``params`` gives
    the values of the expression's parameters (``x > :lo``).

    >>> arrowjit.scan("data.parquet", "x > 2.0 and x < 6.0", ["id", "x"]).read_all()  # doctest: +SKIP
    """
    if threads is not None:
        parallel.resolve(threads)
    return Scan(plan(source, where, columns, params=params, format=format), threads, progress)


# ---------------------------------------------------------------------------
# Explaining a plan.
# ---------------------------------------------------------------------------

MAX_FILES_SHOWN = 20


def explain(plan: Plan) -> str:
    """A human description of the plan (reads Parquet footers, never data)."""
    lines = [f"predicate: {plan.where}", "typed:"]
    lines += ["  " + line for line in tir.dump(plan.typed).splitlines()]
    later = [n for n in plan.columns if n not in plan.predicate_columns]
    first = ", ".join(plan.predicate_columns) or "(none: the predicate reads no column)"
    lines.append(f"columns read: {first}" + (" (predicate, read first)" if plan.parquet else ""))
    if later:
        when = "only for row groups with a match" if plan.parquet else "with the predicate's"
        lines.append(f"then: {', '.join(later)} ({when})")
    pruning = plan.pruning
    lines.append(f"pruning expression: {pruning.expression if pruning.expression is not None else 'none'}")
    for node in pruning.dropped:
        lines.append(f"  left out of pruning: {plan.where[node.span.start:node.span.end]}")
    if plan.parquet:
        lines += _row_group_lines(plan)
        lines += _decoder_lines(plan)
    elif plan.tasks:
        lines.append(f"files: {len(plan.tasks)} read")
        lines += [f"  {task.fragment.path}" for task in plan.tasks[:MAX_FILES_SHOWN]]
    return "\n".join(lines)


def _decoder_lines(plan: Plan) -> list[str]:
    """Which columns of the first row group read go through the native page decoder."""
    if not plan.tasks or not pages.enabled():
        return []
    task = plan.tasks[0]
    with task.fragment.filesystem.open_input_file(task.fragment.path) as source:
        chunk_of = _page_chunks(task, source)
        read = dict.fromkeys([*plan.predicate_columns, *plan.columns])
        names = [n for n in read if n not in task.partition]
        native = [n for n in names if chunk_of(n) is not None]
    others = [n for n in names if n not in native]
    return [f"page decoder: {', '.join(native) or 'no column'}"
            + (f"; pyarrow's reader: {', '.join(others)}" if others else "") + " (first row group read)"]


def _row_group_lines(plan: Plan) -> list[str]:
    read: dict[str, int] = {}
    for task in plan.tasks:
        read[task.fragment.path] = read.get(task.fragment.path, 0) + 1
    totals = {}
    try:
        for fragment in plan.dataset.get_fragments():
            totals[fragment.path] = len(fragment.row_groups) if fragment.row_groups is not None \
                else fragment.metadata.num_row_groups
    except (OSError, pa.ArrowException, ArrowJitError) as e:  # pragma: no cover - a file vanished
        raise SourceError(f"cannot read the source: {e}") from None
    lines = [f"row groups: {sum(read.values())} of {sum(totals.values())} read"]
    for path, total in list(totals.items())[:MAX_FILES_SHOWN]:
        lines.append(f"  {path}: {read.get(path, 0)} of {total}")
    if len(totals) > MAX_FILES_SHOWN:
        lines.append(f"  ... and {len(totals) - MAX_FILES_SHOWN} more files")
    return lines
