"""05: arrowjit from pandas: df.arrowjit.query, .mask and .eval, beside DataFrame.query.

    python examples/05_pandas.py

Importing arrowjit registers the `df.arrowjit` accessor. It takes the
pandas.query dialect (`&`, `|`, `~`, `@name` for a variable of the caller),
compiles it like any filter (each column's Arrow view, no copy for numeric
columns), and returns pandas objects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import arrowjit  # noqa: F401  (registers the df.arrowjit accessor)


def main() -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "price": rng.uniform(1, 100, 10_000).round(2),
        "qty": rng.integers(1, 50, 10_000),
        "region": rng.choice(["north", "south", "east", "west"], 10_000),
    })
    df.loc[::97, "price"] = np.nan  # a few missing prices

    expression = "price > 20 & price < 30 & qty >= 40"
    ours = df.arrowjit.query(expression)
    theirs = df.query(expression)
    print(f"query {expression!r}: {len(ours)} rows; the same rows as DataFrame.query: "
          f"{ours.index.equals(theirs.index)}")
    print(ours.head(3).to_string())

    limit = 95.0  # @limit is read from this scope, as in DataFrame.query
    mask = df.arrowjit.mask("price > @limit | qty == 1")
    print(f"\nmask 'price > @limit | qty == 1' with limit = {limit}: {int(mask.sum())} of {len(mask)} rows; "
          f"a {type(mask).__name__} of {mask.dtype}")

    text = "region == 'north' & price < 2"
    strings = df.arrowjit.query(text)
    print(f"\nstrings: {text}: {len(strings)} rows, same as pandas: "
          f"{strings.index.equals(df.query(text).index)}")

    with_total = df.arrowjit.eval("total = price * qty")
    expected = df["price"] * df["qty"]
    print(f"\neval 'total = price * qty': new columns {list(with_total.columns)}; equal to pandas "
          f"(NaN where price is missing): {np.allclose(with_total['total'], expected, equal_nan=True)}")
    print(with_total.head(3).to_string())


if __name__ == "__main__":
    main()
