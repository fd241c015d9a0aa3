"""Hostile input: every case ends in an ``arrowjit.ArrowJitError`` with a clear message, or in
the correct result; never a crash, a hang, a wrong answer or an exception from a dependency.

Expression strings (empty, a megabyte long, nested 20,000 deep, NUL bytes, unterminated
backticks, non-ASCII text, reserved words, huge literals, non-strings), schemas (unknown and
unsupported types, names that are not strings) and data (missing columns, other types, zero
rows, and corrupt arrays whose buffers are shorter than they declare).

Anything might crash the interpreter, so every case runs in a subprocess: all of them in
one driver process that reports each case as a line of JSON, restarted after a case that
kills it (a segfault fails that case, not pytest) or that does not finish in time (a hang
fails that case). Corrupt arrays are made the way they arrive in practice, as in
tests/test_runtime.py: an Arrow IPC stream whose metadata was edited (pyarrow validates arrays
made with ``Array.from_buffers``), here also cut short and placed so that it ends exactly
where an unreadable (PROT_NONE) page begins, so a read past a buffer's real end faults.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass

import pytest

DRIVER = textwrap.dedent(r'''
    import ctypes, json, math, mmap, struct, sys, traceback
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import arrowjit

    nan, inf = math.nan, math.inf
    cf = arrowjit.compile_filter
    S = {"x": "int64", "f": "float64", "b": "bool"}
    BATCH = pa.record_batch({"x": pa.array([1, 5, -3, None], pa.int64()),
                             "f": pa.array([1.0, 2.0, nan, None]),
                             "b": pa.array([True, False, None, True])})

    def outputs(f, data, **kw):
        """Every answer of a Filter, as plain Python values."""
        return {"mask": f.mask(data, **kw).to_pylist(), "indices": f.indices(data, **kw).to_pylist(),
                "count": f.count(data, **kw), "rows": f(data, **kw).to_pylist()}

    # -- corrupt IPC streams (see tests/test_runtime.py) ---------------------------------
    def ipc_bytes(batch):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        return bytearray(sink.getvalue().to_pybytes())

    def read_ipc(raw):
        return pa.ipc.open_stream(pa.py_buffer(bytes(raw))).read_next_batch()

    def metadata_span(raw):
        reader = pa.ipc.MessageReader.open_stream(pa.py_buffer(bytes(raw)))
        reader.read_next_message()
        metadata = reader.read_next_message().metadata.to_pybytes()
        assert raw.count(metadata) == 1
        start = raw.find(metadata)
        return start, start + len(metadata)

    def patch(raw, old, new, count):
        start, end = metadata_span(raw)
        metadata = raw[start:end]
        assert metadata.count(old) == count, (metadata.count(old), count)
        raw[start:end] = metadata.replace(old, new)

    def with_length(batch, length):
        """``batch`` (one column) claiming ``length`` rows: the batch and its FieldNode lie."""
        raw = ipc_bytes(batch)
        patch(raw, struct.pack("<q", batch.num_rows), struct.pack("<q", length), 2)
        return read_ipc(raw)

    def with_buffer_size(batch, column, index, size):
        """``batch`` whose buffer ``index`` of ``column`` claims ``size`` bytes."""
        raw = ipc_bytes(batch)
        first = read_ipc(raw)
        base = min(b.address for c in first.columns for b in c.buffers() if b is not None)
        buf = first.column(column).buffers()[index]
        patch(raw, struct.pack("<qq", buf.address - base, buf.size),
              struct.pack("<qq", buf.address - base, size), 1)
        return read_ipc(raw)

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    PAGE = mmap.PAGESIZE

    def guarded(data):
        """``data`` copied so that it ends exactly where a PROT_NONE page begins."""
        pages = (len(data) + PAGE - 1) // PAGE + 1
        base = libc.mmap(None, pages * PAGE, 3, 0x22, -1, 0)
        assert base not in (None, ctypes.c_void_p(-1).value)
        guard = base + (pages - 1) * PAGE
        assert libc.mprotect(guard, PAGE, 0) == 0
        ctypes.memmove(guard - len(data), data, len(data))
        return pa.foreign_buffer(guard - len(data), len(data))

    def cut_last_buffer(batch, keep):
        """``batch`` from an IPC stream whose last body buffer claims, and really has, only
        ``keep`` bytes: the stream is cut there and ends at an unreadable page."""
        raw = ipc_bytes(batch)
        first = read_ipc(raw)
        buffers = [b for c in first.columns for b in c.buffers() if b is not None]
        base = min(b.address for b in buffers)
        last = max(buffers, key=lambda b: b.address)
        offset = last.address - base
        patch(raw, struct.pack("<qq", offset, last.size), struct.pack("<qq", offset, keep), 1)
        reader = pa.ipc.MessageReader.open_stream(pa.py_buffer(bytes(raw)))
        reader.read_next_message()
        body = reader.read_next_message().body.size
        patch(raw, struct.pack("<q", body), struct.pack("<q", offset + keep), 1)
        _, end = metadata_span(raw)
        return pa.ipc.open_stream(guarded(bytes(raw[:end + offset + keep]))).read_next_batch()

    def sparse_pair(kind, dense=False, n=100_000):
        """A valid int8 column x (x == 1 on rows 5 and 8, or everywhere) and an unreferenced
        column s of ``kind`` whose last buffer is cut to 8 bytes at an unreadable page."""
        x = np.ones(n, np.int8) if dense else np.zeros(n, np.int8)
        x[[5, 8]] = 1
        s = {"int64": lambda: pa.array(np.arange(n, dtype=np.int64)),
             "string": lambda: pa.array([f"v{i}" for i in range(n)]),
             "bool": lambda: pa.array(np.arange(n) % 3 == 0)}[kind]()
        return cut_last_buffer(pa.record_batch({"x": x, "s": s}), 8)

    cases = json.loads(sys.stdin.read())
    for case_id, code in cases:
        print(json.dumps({"start": case_id}), flush=True)
        namespace = dict(globals())
        try:
            exec(code, namespace)
            out = {"id": case_id, "ok": True, "value": namespace.get("result")}
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            out = {"id": case_id, "ok": False, "type": type(e).__name__, "module": type(e).__module__,
                   "arrowjit": isinstance(e, arrowjit.ArrowJitError), "message": str(e)[:3000],
                   "traceback": traceback.format_exc()[-3000:]}
        print(json.dumps(out, default=repr), flush=True)
''')


@dataclass(frozen=True)
class Hostile:
    """One case: ``code`` runs in the driver and may set ``result``.

    ``error``: the ArrowJitError subclass name expected (``"ArrowJitError"``: any), with a
    message matching ``match``; or ``result``: the value ``result`` must have; with both, either
    outcome is right. ``bug``: a known arrowjit bug (the case is a strict xfail).
    """

    id: str
    code: str
    error: str | None = None
    match: str = ""
    result: object = None
    timeout: float = 30.0
    bug: str | None = None


def expect_error(id: str, code: str, error: str = "ArrowJitError", match: str = "", **kw) -> Hostile:
    return Hostile(id, code, error=error, match=match, **kw)


def expect_result(id: str, code: str, result, **kw) -> Hostile:
    return Hostile(id, code, result=result, **kw)


X_GT_1 = {"mask": [False, True, False, False], "indices": [1], "count": 1,
          "rows": [{"x": 5, "f": 2.0, "b": False}]}
NOTHING = {"mask": [False] * 4, "indices": [], "count": 0, "rows": []}
EVERYTHING = {"mask": [True] * 4, "indices": [0, 1, 2, 3], "count": 4,
              "rows": [{"x": 1, "f": 1.0, "b": True}, {"x": 5, "f": 2.0, "b": False},
                       {"x": -3, "f": "nan", "b": None}, {"x": None, "f": None, "b": True}]}


def run_expr(expr: str, schema: str = "S", data: str = "BATCH") -> str:
    return f"result = outputs(cf({expr}, {schema}), {data})"


CASES: list[Hostile] = [
    # -- the expression: empty, whitespace, not a string ----------------------------------
    expect_error("empty", 'cf("", S)', "ParseError", "empty"),
    expect_error("whitespace", 'cf(" \\t\\n\\r ", S)', "ParseError", "empty"),
    expect_error("None", "cf(None, S)", match="string"),
    expect_error("bytes", 'cf(b"x > 1", S)', match="string"),
    expect_error("int", "cf(42, S)", match="string"),
    expect_error("float", "cf(4.5, S)", match="string"),
    expect_error("list", 'cf(["x > 1"], S)', match="string"),
    # -- a megabyte ------------------------------------------------------------------------
    expect_result("megabyte of spaces", run_expr('" " * 999_990 + "x > 1"'), X_GT_1),
    expect_error("over the length limit", 'cf("x > 1" + " " * 1_000_000, S)', "ParseError",
                 r"limit is 1000000"),
    expect_error("over the length limit, one long name", 'cf("`" + "a" * 1_000_001 + "` > 1", S)',
                 "ParseError", "limit"),
    expect_error("megabyte unknown column name", 'cf("`" + "a" * 999_000 + "` > 1", S)',
                 "UnknownColumnError", "unknown column", timeout=30),
    # A legal expression just under the limit: a result, or a clear error, in bounded time.
    Hostile("megabyte of legal terms",
            'expr = " or ".join(f"x == {i}" for i in range(72_000))\n'
            'assert 900_000 < len(expr) < 1_000_000\n'
            'result = outputs(cf(expr, S), BATCH)',
            error="ArrowJitError", result={"mask": [True, True, False, False], "indices": [0, 1],
                                           "count": 2, "rows": [{"x": 1, "f": 1.0, "b": True},
                                                                {"x": 5, "f": 2.0, "b": False}]},
            timeout=20),
    # -- nested 20,000 levels deep -----------------------------------------------------------
    expect_error("20000 parentheses", 'cf("(" * 20_000 + "x > 1" + ")" * 20_000, S)', "ParseError",
                 r"256"),
    expect_error("20000 nots", 'cf("not " * 20_000 + "b", S)', "ParseError", r"limit is 256"),
    expect_error("20000 tildes", 'cf("~" * 20_000 + "b", S)', "ParseError", r"limit is 256"),
    expect_error("20000 minus signs on a column", 'cf("x > " + "- " * 20_000 + "x", S)', "ParseError",
                 r"limit is 256"),
    expect_error("20000 powers", 'cf("x > " + "2 ** " * 20_000 + "1", S)', "ParseError", r"limit is 256"),
    expect_error("20000 calls", 'cf("abs(" * 20_000 + "x" + ")" * 20_000 + " > 1", S)', "ParseError",
                 r"256"),
    expect_error("20000 in lists", 'cf("x in (" * 20_000 + "1" + ")" * 20_000, S)', "ParseError", r"256"),
    expect_error("20000 casts", 'cf("x" + "::int64" * 20_000 + " > 1", S)', "ParseError", r"limit is 256"),
    expect_error("20000 case nestings",  # (80,000 tokens: the size limit comes before the depth's)
                 'cf("case when b then " * 20_000 + "x" + " end" * 20_000 + " > 1", S)',
                 "ParseError", r"more than 65,536 tokens"),
    expect_error("20000 unbalanced", 'cf(")" * 20_000 + "(" * 20_000, S)', "ParseError"),
    # Signs on a literal fold into the literal as they are read: no nesting, the right value.
    expect_result("20000 minus signs on a literal", run_expr('"x > " + "-" * 20_000 + "1"'), X_GT_1),
    expect_result("20001 spaced minus signs", run_expr('"x > " + "- " * 20_001 + "-1"'), X_GT_1),
    expect_result("20000 plus signs", run_expr('"x > " + "+" * 20_000 + "x"'), NOTHING),
    # Too big to compile in reasonable time (30,000 nodes): a clear error, where the limit is passed.
    expect_error("10000 alternating and/or", 'cf("b and b or " * 10_000 + "x > 1", S)', "ParseError",
                 r"more than 2,048 operands"),
    expect_result("600 alternating and/or", run_expr('"b and b or " * 600 + "x > 1"'),
                  {"mask": [True, True, False, True], "indices": [0, 1, 3], "count": 3,
                   "rows": [{"x": 1, "f": 1.0, "b": True}, {"x": 5, "f": 2.0, "b": False},
                            {"x": None, "f": None, "b": True}]}),
    # -- NUL bytes, backticks, non-ASCII ------------------------------------------------------
    expect_error("NUL at the end", 'cf("x > 1\\x00", S)', "ParseError", "unexpected character"),
    expect_error("NUL alone", 'cf("\\x00", S)', "ParseError"),
    expect_error("NUL inside", 'cf("x >\\x00 1", S)', "ParseError"),
    expect_result("NUL in a quoted name",
                  'result = cf("`a\\x00b` > 1", {"a\\x00b": "int64"}).count('
                  'pa.record_batch({"a\\x00b": pa.array([1, 2, 3])}))', 2),
    expect_error("unterminated backtick", 'cf("`x > 1", S)', "ParseError"),
    expect_error("backtick at the end", 'cf("x > `", S)', "ParseError"),
    expect_error("a lone backtick", 'cf("`", S)', "ParseError"),
    expect_error("unterminated after a name", 'cf("x > 1 and `y", S)', "ParseError"),
    expect_error("odd doubled backticks", 'cf("`a``", S)', "ParseError"),
    expect_error("non-ASCII name unquoted", 'cf("x > 1 and é > 2", S)', "ParseError", "unexpected character"),
    expect_result("non-ASCII name quoted",
                  'result = cf("`é` > 1", {"é": "int64"}).count(pa.record_batch({"é": [1, 2, 3]}))', 2),
    expect_result("emoji name",
                  'result = cf("`😀` < 3", {"😀": "int64"}).count(pa.record_batch({"😀": [1, 2, 3]}))', 2),
    expect_error("fullwidth letter", 'cf("ｘ > 1", S)', "ParseError"),
    expect_error("Arabic-Indic digit", 'cf("x > ١", S)', "ParseError"),
    expect_error("no-break space", 'cf("x\\u00a0> 1", S)', "ParseError"),
    expect_error("zero-width space", 'cf("x\\u200b> 1", S)', "ParseError"),
    expect_error("right-to-left override", 'cf("x > 1 \\u202e", S)', "ParseError"),
    expect_error("lone surrogate", 'cf("x > 1 \\ud800", S)', "ParseError"),
    expect_result("tabs, newlines, carriage returns", run_expr('"x\\n>\\t1\\r\\n"'), X_GT_1),
    # -- reserved words and nonsense ------------------------------------------------------------
    expect_error("and alone", 'cf("and", S)', "ParseError"),
    expect_error("x > and", 'cf("x > and", S)', "ParseError"),
    expect_error("not alone", 'cf("not", S)', "ParseError"),
    expect_error("x is", 'cf("x is", S)', "ParseError"),
    expect_error("x is 1", 'cf("x is 1", S)', "ParseError"),
    expect_error("between alone", 'cf("between", S)', "ParseError"),
    expect_error("x between 1", 'cf("x between 1", S)', "ParseError"),
    expect_error("case without end", 'cf("case when b then 1", S)', "ParseError"),
    expect_error("cast without type", 'cf("cast(x as) > 1", S)', "ParseError"),
    expect_error("cast to a keyword", 'cf("x::and > 1", S)', "ParseError"),
    expect_error("select statement", 'cf("select x from t", S)', "ParseError"),
    expect_error("SQL comment", 'cf("x > 1 -- comment", S)'),
    expect_error("semicolon", 'cf("x > 1; drop table t", S)', "ParseError"),
    expect_error("empty parentheses", 'cf("()", S)', "ParseError"),
    expect_error("empty in list", 'cf("x in ()", S)', "ParseError"),
    expect_error("inf alone", 'cf("inf", S)', "ExpressionTypeError", "boolean"),
    expect_error("number alone", 'cf("1", S)', "ExpressionTypeError", "boolean"),
    expect_error("unknown function", 'cf("foo(x) > 1", S)', "ExpressionTypeError", "unknown function"),
    expect_error("too many arguments", 'cf("abs(x, x) > 1", S)', "ExpressionTypeError", "argument"),
    expect_error("lone colon", 'cf("x > :", S)', "ParseError"),
    expect_result("null alone", run_expr('"null"'), NOTHING),
    expect_result("TRUE alone", run_expr('"TRUE"'), EVERYTHING),
    expect_result("keyword as a quoted name",
                  'result = cf("`and` > 1", {"and": "int64"}).count(pa.record_batch({"and": [1, 2, 3]}))', 2),
    # -- huge and odd literals ------------------------------------------------------------------
    expect_error("25-digit integer", 'cf("x > " + "9" * 25, S)', "ParseError", "does not fit"),
    expect_error("2**64", 'cf("x > 18446744073709551616", S)', "ParseError", "does not fit"),
    expect_error("-(2**63) - 1", 'cf("x > -9223372036854775809", S)', match="does not fit"),
    expect_error("17-digit hex", 'cf("x > 0x1" + "0" * 16, S)', "ParseError", "does not fit"),
    expect_result("2**64 - 1", run_expr('"x < 18446744073709551615"'),
                  {"mask": [True, True, True, False], "indices": [0, 1, 2], "count": 3,
                   "rows": [{"x": 1, "f": 1.0, "b": True}, {"x": 5, "f": 2.0, "b": False},
                            {"x": -3, "f": "nan", "b": None}]}),
    expect_error("5000-digit integer", 'cf("x > " + "9" * 5000, S, parameterize=False)', "ParseError",
                 "does not fit"),
    expect_error("5000-digit integer through the template cache",
                 'cf("x > 5", S)\ncf("x > " + "9" * 5000, S)', "ParseError", "does not fit"),
    expect_result("1e400 is inf", run_expr('"f < 1e400"'),
                  {"mask": [True, True, False, False], "indices": [0, 1], "count": 2,
                   "rows": [{"x": 1, "f": 1.0, "b": True}, {"x": 5, "f": 2.0, "b": False}]}),
    expect_result("1e-400 is zero", run_expr('"f > 1e-400"'),
                  {"mask": [True, True, False, False], "indices": [0, 1], "count": 2,
                   "rows": [{"x": 1, "f": 1.0, "b": True}, {"x": 5, "f": 2.0, "b": False}]}),
    expect_result("5000-digit float", run_expr('"f < " + "9" * 5000 + ".0"'),
                  {"mask": [True, True, False, False], "indices": [0, 1], "count": 2,
                   "rows": [{"x": 1, "f": 1.0, "b": True}, {"x": 5, "f": 2.0, "b": False}]}),
    expect_result("100000-digit fraction", run_expr('"f > 0." + "0" * 100_000 + "1"'),
                  {"mask": [True, True, False, False], "indices": [0, 1], "count": 2,
                   "rows": [{"x": 1, "f": 1.0, "b": True}, {"x": 5, "f": 2.0, "b": False}]}),
    expect_result("huge exponent", run_expr('"f > 1e999999999999999999"'), NOTHING),
    # -- schemas --------------------------------------------------------------------------------
    expect_error("unknown type name", 'cf("x > 1", {"x": "foo"})', "SchemaMismatchError", "unknown type"),
    expect_error("empty type name", 'cf("x > 1", {"x": ""})', "SchemaMismatchError", "unknown type"),
    expect_error("type name with NUL", 'cf("x > 1", {"x": "int8\\x00"})', "SchemaMismatchError"),
    expect_error("type None", 'cf("x > 1", {"x": None})', "SchemaMismatchError", "not an Arrow type"),
    expect_error("type 42", 'cf("x > 1", {"x": 42})', "SchemaMismatchError", "not an Arrow type"),
    expect_error("type int", 'cf("x > 1", {"x": int})', "SchemaMismatchError", "not an Arrow type"),
    expect_error("type factory pa.int64", 'cf("x > 1", {"x": pa.int64})', "SchemaMismatchError"),
    *[expect_error(f"unsupported {t}", f'cf("x > 1", {{"x": {t}}})', "ExpressionTypeError",
                   r"column 'x' has type .*cannot")
      for t in ("pa.decimal256(40, 2)", "pa.month_day_nano_interval()", "pa.list_(pa.int8())",
                "pa.struct([('a', pa.int8())])", "pa.float16()",
                "pa.null()", "pa.uuid()")],
    *[expect_error(f"{t} against an integer", f'cf("x > 1", {{"x": {t}}})', "ExpressionTypeError",
                   r"cannot compare")
      for t in ("pa.date32()", "pa.timestamp('s')", "pa.duration('s')", "pa.time32('s')")],
    expect_error("unsupported type in isnull", 'cf("isnull(x)", {"x": pa.float16()})', "ExpressionTypeError"),
    expect_result("unsupported types not used",
                  'schema = pa.schema([("x", pa.int64()), ("d", pa.date32()), ("l", pa.list_(pa.int8())),\n'
                  '                    ("h", pa.float16()), ("m", pa.decimal128(5, 1))])\n'
                  'import decimal, datetime\n'
                  'data = pa.record_batch([pa.array([1, 5]), pa.array([datetime.date(2020, 1, 1), None]),\n'
                  '                        pa.array([[1], [2, 3]], pa.list_(pa.int8())),\n'
                  '                        pa.array(np.array([1, 2], np.float16())),\n'
                  '                        pa.array([decimal.Decimal("1.5"), None], pa.decimal128(5, 1))],\n'
                  '                       schema=schema)\n'
                  'result = str(cf("x > 1", schema)(data).to_pylist())',
                  "[{'x': 5, 'd': None, 'l': [2, 3], 'h': 2.0, 'm': None}]"),
    expect_error("schema None", 'cf("x > 1", None)', "InputTypeError", "schema"),
    expect_error("schema a string", 'cf("x > 1", "x: int64")', "InputTypeError", "schema"),
    expect_error("schema a list", 'cf("x > 1", [("x", "int64")])', "InputTypeError", "schema"),
    expect_error("schema 42", 'cf("x > 1", 42)', "InputTypeError", "schema"),
    expect_error("empty schema", 'cf("x > 1", {})', "UnknownColumnError", "unknown column 'x'"),
    expect_error("duplicate names", 'cf("x > 1", pa.schema([("x", pa.int8()), ("x", pa.int8())]))',
                 "SchemaMismatchError", "more than once"),
    expect_error("name 1", 'cf("x > 1", {1: "int64"})', match="name"),
    expect_error("name None", 'cf("x > 1", {None: "int64"})', match="name"),
    expect_error("name a tuple", 'cf("x > 1", {("x",): "int64"})', match="name"),
    expect_error("name a lone surrogate", 'cf("x > 1", {"\\ud800": "int64"})'),
    Hostile("name as bytes", 'result = cf("x > 1", {b"x": "int64"}).count(BATCH)', error="ArrowJitError",
            result=1),
    expect_result("name with NUL and newline",
                  'name = "a\\nb\\x00c"\n'
                  'result = cf("`a\\nb\\x00c` > 1", {name: "int64"}).count('
                  'pa.record_batch({name: [1, 2, 3]}))',
                  2),
    expect_result("2000-character column name",
                  'name = "a" * 2000\n'
                  'result = cf(f"`{name}` > 1", {name: "int64"}).count('
                  'pa.record_batch({name: [1, 2, 3]}))', 2),
    expect_result("two long names with a common prefix",
                  'a, b = "p" * 10_000 + "1", "p" * 10_000 + "2"\n'
                  'result = cf(f"`{a}` > `{b}`", {a: "int64", b: "int64"}).count('
                  'pa.record_batch({a: [1, 3], b: [2, 2]}))', 1),
    # -- other arguments --------------------------------------------------------------------------
    expect_error("params not a mapping", 'cf("x > :p", S, params=42)', "ParameterError"),
    expect_error("params a list", 'cf("x > :p", S, params=["p"])', "ParameterError"),
    expect_error("params of an unknown type", 'cf("x > :p", S, params={"p": "no_such_type"})',
                 "ParameterError"),
    expect_error("params of a type the comparison refuses", 'cf("x > :p", S, params={"p": "date32"})',
                 "ExpressionTypeError", match="cannot compare"),
    expect_error("threads 0", 'cf("x > 1", S, threads=0)', match="threads"),
    expect_error("threads at call time", 'cf("x > 1", S).count(BATCH, threads=-1)', match="threads"),
    expect_error("float parameter 10**400", 'cf("f > :p", S).count(BATCH, p=10**400)', "ParameterError"),
    expect_error("int parameter nan", 'cf("x > :p", S).count(BATCH, p=nan)', "ParameterError"),
    expect_error("parameter a string", 'cf("x > :p", S).count(BATCH, p="1")', "ParameterError"),
    expect_result("parameter None is null", 'result = cf("x > :p", S).count(BATCH, p=None)', 0),
    # -- data ----------------------------------------------------------------------------------
    expect_error("missing column", 'cf("x > 1", S).count(pa.record_batch({"y": [1]}))', "SchemaMismatchError",
                 "missing"),
    expect_error("other type", 'cf("x > 1", S).count(pa.record_batch({"x": pa.array([1], pa.int32())}))',
                 "SchemaMismatchError", "int32"),
    expect_error("strings instead", 'cf("x > 1", S).count(pa.record_batch({"x": ["1"]}))',
                 "SchemaMismatchError"),
    Hostile("dictionary encoded",
            'result = cf("x > 1", S).count(pa.record_batch({"x": pa.array([1, 2]).dictionary_encode()}))',
            error="SchemaMismatchError", result=1),
    Hostile("run-end encoded",
            'result = cf("x > 1", S).count(pa.record_batch({"x": pc.run_end_encode(pa.array([1, 2]))}))',
            error="SchemaMismatchError", result=1),
    expect_error("column twice",
                 'cf("x > 1", S).count(pa.table([pa.array([1]), pa.array([2])], names=["x", "x"]))',
                 "SchemaMismatchError", "2 times"),
    *[expect_error(f"not Arrow data: {what}", f'cf("x > 1", S).count({what})', "InputTypeError")
      for what in ("None", "[1, 2]", '{"x": [1, 2]}', "pa.array([1, 2])", "pa.scalar(1)", "np.arange(3)",
                   '"x"')],
    # (a reader is read batch by batch since issue 7)
    expect_result("a reader", 'result = cf("x > 1", S).count(pa.RecordBatchReader.from_batches('
                  'BATCH.schema, [BATCH, BATCH]))', 2),
    expect_result("zero rows", run_expr('"x > 1"', data="BATCH.slice(0, 0)"),
                  {"mask": [], "indices": [], "count": 0, "rows": []}),
    expect_result("zero rows from an empty schema",
                  'result = outputs(cf("x > 1", S), pa.RecordBatch.from_pylist([], schema=BATCH.schema))',
                  {"mask": [], "indices": [], "count": 0, "rows": []}),
    expect_result("table without chunks",
                  'result = outputs(cf("x > 1", S), pa.Table.from_batches([], schema=BATCH.schema))',
                  {"mask": [], "indices": [], "count": 0, "rows": []}),
    expect_result("table of empty chunks",
                  'result = outputs(cf("x > 1", S), pa.Table.from_batches([BATCH.slice(0, 0)] * 3))',
                  {"mask": [], "indices": [], "count": 0, "rows": []}),
    expect_result("no columns, three rows",
                  'data = pa.table({"a": [1, 2, 3]}).drop(["a"])\n'
                  'f = cf("true", {})\n'
                  'result = [f.mask(data).to_pylist(), f.indices(data).to_pylist(), f.count(data),\n'
                  '          f(data).num_rows]',
                  [[True] * 3, [0, 1, 2], 3, 3]),
    expect_result("declared non-nullable, has nulls",
                  'schema = pa.schema([pa.field("x", pa.int64(), nullable=False)])\n'
                  'data = pa.RecordBatch.from_arrays([pa.array([1, None, 5])], schema=schema)\n'
                  'result = cf("x > 0", schema).count(data)', 2),
    # Columns Arrow's own filter cannot copy: the right rows, or an ArrowJitError (not pyarrow's).
    Hostile("string_view column in the filtered output",
            'data = pa.record_batch({"x": [1, 2], "s": pa.array(["a", "b"], pa.string_view())})\n'
            'result = cf("x > 1", S)(data).to_pydict()',
            error="ArrowJitError", result={"x": [2], "s": ["b"]}),
    Hostile("run-end encoded column in the filtered output",
            'data = pa.record_batch({"x": [1, 2], "s": pc.run_end_encode(pa.array([7, 8]))})\n'
            'result = cf("x > 1", S)(data).to_pydict()',
            error="ArrowJitError", result={"x": [2], "s": [8]}),
    # -- corrupt arrays --------------------------------------------------------------------------
    *[expect_error(f"data buffer shorter than the length ({t}, {call})",
                   f'batch = pa.record_batch({{"x": pa.array(np.arange(777) % 7, {t})}})\n'
                   f'bad = with_length(batch, 100_000)\n'
                   f'f = cf("x > 3" if {t!r} != "pa.bool_()" else "x", {{"x": bad.schema.field("x").type}})\n'
                   f'{call}(bad)',
                   "InvalidDataError", "'x'")
      for t in ("pa.int16()", "pa.uint64()", "pa.float32()")
      for call in ("f", "f.mask", "f.count", "f.indices")],
    expect_error("bool data buffer shorter than the length",
                 'bad = with_length(pa.record_batch({"x": pa.array(np.arange(777) % 3 == 0)}), 100_000)\n'
                 'cf("x", {"x": "bool"}).mask(bad)', "InvalidDataError", "'x'"),
    expect_error("validity bitmap shorter than the length",
                 'batch = pa.record_batch({"x": pa.array(np.arange(777.0), mask=np.arange(777) % 5 == 0)})\n'
                 'bad = with_buffer_size(batch, 0, 0, 3)\n'
                 'cf("x > 3", {"x": "float64"}).count(bad)', "InvalidDataError", "validity"),
    expect_error("offset beyond the buffer",
                 'values = np.arange(777, dtype=np.int32)\n'
                 'batch = pa.record_batch({"x": pa.array(values, mask=np.arange(777) % 5 == 0)})\n'
                 'bad = with_length(batch, 800).slice(30)\n'
                 'cf("x > 3", {"x": "int32"}).count(bad)', "InvalidDataError", "'x'"),
    expect_error("corrupt chunk in a table",
                 'good = pa.record_batch({"x": pa.array(np.arange(777, dtype=np.int64))})\n'
                 'bad = with_length(good, 10_000)\n'
                 'cf("x > 3", {"x": "int64"}).count(pa.Table.from_batches([good, bad, good]))',
                 "InvalidDataError", "'x'"),
    expect_error("negative length",
                 'batch = pa.record_batch({"x": pa.array(np.arange(777, dtype=np.int64))})\n'
                 'bad = with_length(batch, -5)\n'
                 'cf("x > 3", {"x": "int64"}).count(bad)', "InvalidDataError"),
    expect_error("null count without a bitmap",
                 'batch = pa.record_batch({"x": pa.array(np.arange(777, dtype=np.int64))})\n'
                 'raw = ipc_bytes(batch)\n'
                 'patch(raw, struct.pack("<qq", 777, 0), struct.pack("<qq", 777, 3), 1)\n'
                 'cf("x > 3", {"x": "int64"}).count(read_ipc(raw))', "InvalidDataError"),
    expect_error("referenced buffer ends at an unreadable page",
                 'bad = cut_last_buffer(pa.record_batch({"x": np.arange(100_000, dtype=np.int64)}), 8)\n'
                 'cf("x > 3", {"x": "int64"}).count(bad)', "InvalidDataError", "'x'"),
    # The predicate's own column is fine; another column of the batch is corrupt.
    expect_result("corrupt unreferenced column: mask, count, indices",
                  'bad = sparse_pair("int64")\n'
                  'f = cf("x == 1", {"x": "int8"})\n'
                  'result = [f.count(bad), f.indices(bad).to_pylist(), f.mask(bad).to_pylist()[:9]]',
                  [2, [5, 8], [False] * 5 + [True, False, False, True]]),
    expect_error("corrupt unreferenced int64 column, many rows kept",
                 'cf("x == 1", {"x": "int8"})(sparse_pair("int64", dense=True))', "InvalidDataError"),
    expect_error("corrupt unreferenced int64 column, few rows kept",
                 'cf("x == 1", {"x": "int8"})(sparse_pair("int64"))', "InvalidDataError"),
    expect_error("corrupt unreferenced string column, few rows kept",
                 'cf("x == 1", {"x": "int8"})(sparse_pair("string"))', "InvalidDataError"),
    expect_error("corrupt unreferenced string column, many rows kept",
                 'cf("x == 1", {"x": "int8"})(sparse_pair("string", dense=True))', "InvalidDataError"),
    expect_error("corrupt unreferenced bool column, many rows kept",
                 'cf("x == 1", {"x": "int8"})(sparse_pair("bool", dense=True))', "InvalidDataError"),
]

IDS = [case.id for case in CASES]
assert len(set(IDS)) == len(IDS), "case ids must be unique"


def _run_driver(cases: list[Hostile]) -> dict[str, dict]:
    """Run ``cases`` in driver processes; a crash or timeout is that case's result, then go on."""
    results: dict[str, dict] = {}
    remaining = list(cases)
    cache = tempfile.mkdtemp(prefix="arrowjit-hostile-cache-")
    env = {**os.environ, "ARROWJIT_CACHE_DIR": cache, "PYTHONFAULTHANDLER": "1"}
    while remaining:
        process = subprocess.Popen([sys.executable, "-c", DRIVER], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        process.stdin.write(json.dumps([[c.id, c.code] for c in remaining]))
        process.stdin.close()
        by_id = {c.id: c for c in remaining}
        current: Hostile | None = None
        started = time.monotonic()
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        pending = ""
        timed_out = False
        while True:
            limit = (current.timeout if current else 60.0) - (time.monotonic() - started)
            if limit <= 0:
                timed_out = True
                break
            if not selector.select(timeout=limit):
                continue
            chunk = os.read(process.stdout.fileno(), 1 << 16).decode()
            if not chunk:
                break
            pending += chunk
            while "\n" in pending:
                line, pending = pending.split("\n", 1)
                message = json.loads(line)
                if "start" in message:
                    current, started = by_id[message["start"]], time.monotonic()
                else:
                    results[message["id"]] = message
                    current = None
        if timed_out:
            process.kill()
        process.wait()
        stderr = process.stderr.read()
        done = set(results)
        if current is not None and current.id not in done:
            if timed_out:
                results[current.id] = {"id": current.id, "hang": True,
                                       "message": f"did not finish in {current.timeout} s"}
            else:
                results[current.id] = {"id": current.id, "crash": process.returncode,
                                       "message": f"the process died with {process.returncode}"
                                                  f"\n{stderr[-3000:]}"}
            done.add(current.id)
        elif timed_out:  # before the first case started
            raise AssertionError("the hostile-input driver did not start")
        remaining = [c for c in remaining if c.id not in done]
        if remaining and process.returncode not in (0, None, -9) and current is None:
            raise AssertionError(f"the driver failed outside any case:\n{stderr[-3000:]}")
    return results


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict]:
    return _run_driver(CASES)


def _normalize(value):
    """JSON-able values with NaN written as "nan" (so that expected values can be compared)."""
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=f"BUG: {c.bug}")] if c.bug else [])
    for c in CASES])
def test_hostile(case: Hostile, outcomes) -> None:
    outcome = outcomes[case.id]
    assert "crash" not in outcome, f"CRASH: {outcome['message']}"
    assert "hang" not in outcome, f"HANG: {outcome['message']}"
    if outcome["ok"]:
        assert case.result is not None, f"expected {case.error}, got the result {outcome['value']!r}"
        assert _normalize(outcome["value"]) == _normalize(case.result)
        return
    described = f"{outcome['module']}.{outcome['type']}: {outcome['message'][:500]}\n{outcome['traceback']}"
    assert case.error is not None, f"expected the result {case.result!r}, got {described}"
    assert outcome["arrowjit"], f"not an ArrowJitError: {described}"
    if case.error != "ArrowJitError":
        assert outcome["type"] == case.error, described
    assert re.search(case.match, outcome["message"]), described
    assert "Traceback" not in outcome["message"], described


def test_every_error_class_is_exported() -> None:
    import arrowjit

    for case in CASES:
        if case.error is not None:
            assert issubclass(getattr(arrowjit, case.error), arrowjit.ArrowJitError), case.error
