"""``arrowjit filter``: the rows of a Parquet, Feather or CSV file (or directory) where a predicate holds.

    arrowjit filter data.parquet "x > 2.0 and x < 6.0" -o kept.parquet
    arrowjit filter data.parquet "x > 2.0 and x < 6.0" --count
    arrowjit filter data.parquet "id >= 19000000" --columns id,x --explain
    arrowjit filter logs/ "status >= 500" > errors.csv

The output is written batch by batch (the result is never held whole), to a
temporary file beside OUTPUT that is renamed to OUTPUT only once complete: an
error or an interrupt leaves no half-written file. Errors print one message
(with a caret under the expression where it applies) and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from .errors import ArgumentError, ArrowJitError
from .scanner import Scan, scan

OUTPUT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet", ".arrow": "arrow",
                  ".feather": "arrow", ".ipc": "arrow", ".csv": "csv"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arrowjit filter",
        description="Write the rows of INPUT where EXPR is true (Parquet row groups that cannot match "
                    "are skipped by their statistics).")
    parser.add_argument("input", metavar="INPUT",
                        help="a Parquet, Feather/Arrow or CSV file, a directory (Hive partitions "
                             "become columns) or a glob")
    parser.add_argument("expr", metavar="EXPR", help="the filter expression, e.g. \"x > 2.0 and x < 6.0\"")
    parser.add_argument("-o", "--output", metavar="OUTPUT",
                        help="where to write the kept rows (default: CSV on standard output)")
    parser.add_argument("--columns", metavar="A,B", help="the columns to write (default: all)")
    parser.add_argument("--count", action="store_true", help="print how many rows match instead")
    parser.add_argument("--explain", action="store_true",
                        help="print the plan (typed expression, columns read, pruning expression, "
                             "row groups read) without running it")
    parser.add_argument("--format", choices=("parquet", "arrow", "csv"),
                        help="the output format (default: from OUTPUT's extension)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="row groups read at once (default: every core)")
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    return parser


def output_format(path: str | None, given: str | None) -> str:
    if given is not None:
        return given
    if path is None:
        return "csv"
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ArgumentError(f"cannot tell the output format from {path!r}; "
                            "use --format parquet, arrow or csv")
    return OUTPUT_FORMATS[suffix]


def write(batches: Iterable[pa.RecordBatch], schema: pa.Schema, sink: BinaryIO | str, fmt: str) -> int:
    """Write the batches one by one in ``fmt``; the number of rows written."""
    rows = 0
    if fmt == "parquet":
        import pyarrow.parquet as pq
        writer = pq.ParquetWriter(sink, schema)
    elif fmt == "arrow":
        writer = pa.ipc.new_file(sink, schema)
    else:
        import pyarrow.csv as pacsv
        writer = pacsv.CSVWriter(sink, schema)
    with writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def write_file(result: Scan, path: str, fmt: str) -> int:
    """Write to a temporary name beside ``path``, renamed to ``path`` once complete."""
    target = Path(path)
    if target.is_dir():
        raise ArgumentError(f"output {path!r} is a directory")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        temporary = _new_file(directory, target.name)
    except OSError as e:
        raise ArgumentError(f"cannot write {path!r}: {e.strerror or e}") from None
    try:
        rows = write(result, result.schema, temporary, fmt)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return rows


def _new_file(directory: Path, name: str) -> str:
    """A new empty file ``.NAME.XXXX.partial`` in ``directory``, with the permissions the umask gives."""
    for _ in range(100):
        candidate = directory / f".{name}.{secrets.token_hex(4)}.partial"
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return str(candidate)
    raise FileExistsError(f"no free temporary name beside {name!r}")  # pragma: no cover


def run(args: argparse.Namespace) -> int:
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    fmt = output_format(args.output, args.format)
    # No bar when nothing runs, or when the rows themselves go to the terminal.
    progress = False if args.no_progress or args.explain or (args.output is None and not args.count
                                                            and _is_terminal(sys.stdout)) else None
    result = scan(args.input, args.expr, columns, threads=args.threads, progress=progress)
    if args.explain:
        print(result.explain())
        return 0
    if args.count:
        print(result.count())
        return 0
    if args.output is None:
        write(result, result.schema, sys.stdout.buffer, fmt)
        sys.stdout.buffer.flush()
        return 0
    write_file(result, args.output, fmt)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except ArrowJitError as e:
        print(f"arrowjit: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # `arrowjit filter ... | head`
            _silence_stdout()
            return 0
        where = f" {e.filename!r}" if e.filename else ""
        print(f"arrowjit: error:{where} {e.strerror or e}", file=sys.stderr)
        return 2
    except pa.ArrowException as e:
        print(f"arrowjit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("arrowjit: interrupted", file=sys.stderr)
        return 130


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover
        pass
