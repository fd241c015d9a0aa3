"""The ``arrowjit`` command: show what the compiler makes of an expression.

    arrowjit --dump-ir "x > 2.0 and x < 6.0" --schema x:float64
    arrowjit --dump-ir "x > 2 and flag" --schema data.parquet --stage all
    arrowjit --dump-ir "x > 2.0 and x < 6.0" --schema x:float64 --stage all --annotate
    arrowjit --dump-ir "x > 2.0 and x < 6.0" --schema x:float64 --stage passes
    arrowjit --dump-ir "clamp(x, 0.0, 1.0) > 0.5" --schema x:float64 --functions my_functions.py

On a terminal, IR and assembly are colored (pygments); piped, never
(``--color always|never|auto``).

Errors print the message (with the caret under the expression) and exit with
status 2; no traceback.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import re
import runpy
import sys
from pathlib import Path

import pyarrow as pa

from . import highlight
from .errors import ArgumentError, ArrowJitError, ParameterError, SchemaMismatchError
from .filter import STAGES, VIEWS, compile_filter
from .highlight import STAGE_TITLES
from .projection import compile_projection
from .runtime.kernel import check_parameter


def parse_schema(text: str) -> pa.Schema:
    """``name:type,...`` or the path of a Parquet, Feather/Arrow or CSV file."""
    path = Path(text)
    if path.suffix.lower() in (".parquet", ".pq", ".feather", ".arrow", ".ipc", ".csv") or path.exists():
        if not path.exists():
            raise SchemaMismatchError(f"schema file {text!r} does not exist")
        return _schema_of_file(path)
    fields = {}
    # Commas inside brackets belong to a type: t:timestamp[us, tz=UTC], d:decimal128(10, 2).
    parts = re.split(r",(?![^\[(]*[\])])", text)
    for part in filter(None, (p.strip() for p in parts)):
        bracket = min((i for i in (part.find("["), part.find("(")) if i >= 0), default=len(part))
        name, sep, type_name = part[:bracket].rpartition(":")
        type_name += part[bracket:]
        if not sep or not name.strip():
            raise SchemaMismatchError(f"--schema: expected name:type, got {part!r}")
        if name.strip() in fields:
            raise SchemaMismatchError(f"--schema names column {name.strip()!r} twice")
        fields[name.strip()] = type_name.strip()
    from .filter import normalize_schema
    return normalize_schema(fields)


def _schema_of_file(path: Path) -> pa.Schema:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq
            return pq.read_schema(path)
        if suffix == ".csv":
            import pyarrow.csv as pacsv
            with pacsv.open_csv(path) as reader:
                return reader.schema
        import pyarrow.feather as feather
        return feather.read_table(path, memory_map=True).schema
    except (OSError, pa.ArrowInvalid) as e:
        raise SchemaMismatchError(f"cannot read a schema from {str(path)!r}: {e}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arrowjit",
        description="Compile a filter expression with LLVM and show every stage of the compiler.")
    parser.add_argument("--dump-ir", metavar="EXPR", required=True,
                        help="the filter expression to compile, e.g. \"x > 2.0 and x < 6.0\"")
    parser.add_argument("--schema", required=True,
                        help="column types as name:type,... (x:float64,flag:bool) or a Parquet, "
                             "Feather or CSV file whose schema is used")
    parser.add_argument("--stage", choices=[*VIEWS, "all"], default="optimized",
                        help="which stage to print (default: optimized); passes: the O3 pipeline pass "
                             "by pass; all: every stage but passes")
    parser.add_argument("--projection", action="store_true",
                        help="compile EXPR as a projection (a computed column) instead of a filter")
    parser.add_argument("--annotate", action="store_true",
                        help="in the llvm stage, first the row loop grouped under the sub-expressions "
                             "it computes, each one's span underlined in the expression; in the asm "
                             "stage, each run of instructions under the sub-expression it computes")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="color IR and assembly: auto (default) on a terminal only")
    parser.add_argument("--functions", action="append", default=[], metavar="FILE.py",
                        help="run this Python file first (repeatable), e.g. to call "
                             "arrowjit.register_function")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a value for the parameter :NAME (repeatable): a number, true, false or "
                             "null; a float makes the parameter float64; a date, time, timestamp, "
                             "duration or decimal parameter takes the text pyarrow casts to its type "
                             "(2024-01-31, 12:30:00, 2024-01-31T12:00:00+05:30, 90 (ticks), 1.25)")
    return parser


def parse_param(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` -> (name, a number, bool or None); other text stays a str (see
    :func:`typed_param`)."""
    name, sep, value = text.partition("=")
    name = name.strip().lstrip(":@")
    if not sep or not name:
        raise ParameterError(f"--param: expected NAME=VALUE, got {text!r}")
    value = value.strip()
    words = {"null": None, "none": None, "true": True, "false": False}
    if value.lower() in words:
        return name, words[value.lower()]
    try:
        return name, int(value.replace("_", ""), 0)
    except ValueError:
        pass
    try:
        return name, float(value)
    except ValueError:
        return name, value


def typed_param(name: str, dtype, value: object, text: str) -> object:
    """A --param value for a parameter of type ``dtype``: dates, times and timestamps are read
    from ISO 8601 text as Python reads them (a timestamp without an offset is a wall-clock time
    in the parameter's zone, as a Python value); a duration is an integer of ticks; a decimal
    is exact decimal text. :func:`check_parameter` then checks the value."""
    if not (dtype.is_temporal or dtype.is_decimal) or value is None:
        if isinstance(value, str):
            raise ParameterError(f"--param {name}: {value!r} is not a number, true, false or null")
        return value
    readers = {"DATE": datetime.date.fromisoformat, "TIME": datetime.time.fromisoformat,
               "TIMESTAMP": datetime.datetime.fromisoformat, "DECIMAL": decimal.Decimal}
    kind = dtype.kind.name
    if kind == "DURATION":
        if not isinstance(value, int):
            raise ParameterError(f"--param {name}: a {dtype.arrow} value is an integer of "
                                 f"{dtype.unit} ticks, not {text!r}")
        return pa.scalar(value, dtype.arrow)
    try:
        return readers[kind](text)
    except (ValueError, decimal.InvalidOperation):
        raise ParameterError(f"--param {name}: {text!r} is not a {dtype.arrow} value") from None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["filter"]:  # `arrowjit filter INPUT EXPR ...`: see cli_filter.py
        from .cli_filter import main as filter_main
        return filter_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        for path in args.functions:
            if not Path(path).is_file():
                raise ArgumentError(f"--functions: {path!r} is not a file")
            runpy.run_path(path, run_name="arrowjit_functions")
        schema = parse_schema(args.schema)
        values: dict[str, object] = {}
        texts: dict[str, str] = {}
        for text in args.param:
            name, value = parse_param(text)
            if name in values:
                raise ParameterError(f"--param {name} is given twice")
            values[name] = value
            texts[name] = text.partition("=")[2].strip()
        build = (lambda **kw: compile_projection([args.dump_ir], schema, **kw)) if args.projection \
            else (lambda **kw: compile_filter(args.dump_ir, schema, **kw))
        compiled = build()
        floats = {name: "float64" for name, value in values.items()
                  if isinstance(value, float) and name in compiled.parameters
                  and not (compiled.parameters[name].is_float or compiled.parameters[name].is_temporal
                           or compiled.parameters[name].is_decimal)}
        if floats:
            compiled = build(params=floats)
        values = {name: typed_param(name, compiled.parameters[name], value, texts[name])
                  if name in compiled.parameters else value for name, value in values.items()}
        if values:
            compiled._pack(values, {})  # checks the names and the values
            values = {name: check_parameter(name, compiled.parameters[name], value)
                      for name, value in values.items()}
        if compiled.parameters:
            shown = ", ".join(f":{name}" + (f" = {values[name]!r}" if name in values else "") + f" ({dtype})"
                              for name, dtype in compiled.parameters.items())
            print(f"; parameters: {shown}")
        stages = STAGES if args.stage == "all" else (args.stage,)
        color = highlight.use_color(args.color, sys.stdout)
        for stage in stages:
            text = compiled.ir(stage, annotate=args.annotate)
            if color:
                text = highlight.terminal(text, stage)
            if args.stage == "all":
                banner = f" {stage}: {STAGE_TITLES[stage]} "
                print(f"{banner:=^{max(78, len(banner) + 6)}}")
            print(text.rstrip("\n"))
            if args.stage == "all":
                print()
    except ArrowJitError as e:
        print(f"arrowjit: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - `arrowjit ... | head`
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
