"""The benchmark expressions, each written once per contender's dialect.

``text`` is what arrowjit compiles (and what ``pandas.query`` / ``DataFrame.eval``
read, unless ``pandas`` says otherwise). ``pyarrow`` and ``polars`` are
functions of a column constructor: ``pc.field`` or a batch's columns for
pyarrow, ``pl.col`` for polars, so one definition gives both the expression
object and the eager computation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The output kinds timed for each expression.
KINDS = ("count", "mask", "indices", "table")


@dataclass(frozen=True)
class Expr:
    name: str
    text: str
    columns: tuple[str, ...]  # what the predicate reads (for bytes and the bandwidth reference)
    numpy: Callable[[dict[str, np.ndarray]], np.ndarray]
    numexpr: str
    pyarrow: Callable  # col -> pc.Expression (col=pc.field) or BooleanArray (col=batch.column)
    polars: Callable  # col -> pl.Expr (col=pl.col)
    sql: str
    pandas: str | None = None
    dataset: str = "plain"  # "nulls": x has 10% nulls

    @property
    def pandas_text(self) -> str:
        return self.pandas or self.text


_IN_SET = (1, 5, 17, 300, 999)

E1 = Expr(
    "E1", "x > 2.0 and x < 6.0", ("x",),
    numpy=lambda c: (c["x"] > 2.0) & (c["x"] < 6.0),
    numexpr="(x > 2.0) & (x < 6.0)",
    pyarrow=lambda col: pc.and_kleene(pc.greater(col("x"), 2.0), pc.less(col("x"), 6.0)),
    polars=lambda col: (col("x") > 2.0) & (col("x") < 6.0),
    sql="x > 2.0 AND x < 6.0",
)
E2 = Expr(
    "E2", "x < 0.001", ("x",),
    numpy=lambda c: c["x"] < 0.001,
    numexpr="x < 0.001",
    pyarrow=lambda col: pc.less(col("x"), 0.001),
    polars=lambda col: col("x") < 0.001,
    sql="x < 0.001",
)
E3 = Expr(
    "E3", "(x > 2 and y < 5) or (i % 7 == 3)", ("x", "y", "i"),
    numpy=lambda c: ((c["x"] > 2) & (c["y"] < 5)) | (c["i"] % 7 == 3),
    numexpr="((x > 2) & (y < 5)) | (i % 7 == 3)",
    pyarrow=lambda col: pc.or_kleene(pc.and_kleene(pc.greater(col("x"), 2), pc.less(col("y"), 5)),
                                     pc.equal(pc.modulo(col("i"), 7), 3)),
    polars=lambda col: ((col("x") > 2) & (col("y") < 5)) | (col("i") % 7 == 3),
    sql="(x > 2 AND y < 5) OR (i % 7 = 3)",
)
E4 = Expr(
    "E4", "x * 2.5 + y > 10 and f32 < 3.0", ("x", "y", "f32"),
    numpy=lambda c: (c["x"] * 2.5 + c["y"] > 10) & (c["f32"] < 3.0),
    numexpr="(x * 2.5 + y > 10) & (f32 < 3.0)",
    pyarrow=lambda col: pc.and_kleene(pc.greater(pc.add(pc.multiply(col("x"), 2.5), col("y")), 10),
                                      pc.less(col("f32"), 3.0)),
    polars=lambda col: (col("x") * 2.5 + col("y") > 10) & (col("f32") < 3.0),
    sql="x * 2.5 + y > 10 AND f32 < 3.0",
)
E5 = Expr(
    "E5", "i in (1, 5, 17, 300, 999)", ("i",),
    numpy=lambda c: np.isin(c["i"], _IN_SET),
    numexpr=" | ".join(f"(i == {v})" for v in _IN_SET),  # numexpr has no `in`
    pyarrow=lambda col: pc.is_in(col("i"), value_set=pa.array(_IN_SET, pa.int64())),
    polars=lambda col: col("i").is_in(list(_IN_SET)),
    sql=f"i IN {_IN_SET}",
)
# HOOK E6 (strings): E6 = Expr("E6", "s == 'abc'", ("s",), ...) once arrowjit reads strings;
# add the column in data.py and list E6 in EXPRESSIONS.
# E7 is E1 over the x with 10% nulls (numpy, numexpr and pandas see the nulls as NaN).
E7 = replace(E1, name="E7", dataset="nulls")

EXPRESSIONS: dict[str, Expr] = {e.name: e for e in (E1, E2, E3, E4, E5, E7)}


def select(only: str | None) -> list[Expr]:
    """``--only E1,E5`` -> those expressions; None -> all."""
    if not only:
        return list(EXPRESSIONS.values())
    names = [n.strip().upper() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in EXPRESSIONS]
    if unknown:
        raise SystemExit(f"unknown expression(s) {', '.join(unknown)}; choose from {', '.join(EXPRESSIONS)}")
    return [EXPRESSIONS[n] for n in names]
