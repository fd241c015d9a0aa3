"""Chapter 8 exercises: the runtime. Check: pytest docs/exercises -k chapter8

1. morsel_count(rows, threads, min_rows): how many morsels (row ranges)
   arrowjit.runtime.threads.row_ranges cuts `rows` rows into for `threads`
   threads when MIN_MORSEL_ROWS is `min_rows`. Read row_ranges, then write
   the rule yourself (do not call row_ranges).

2. measure(sizes, rows=4_000_000): change the morsel size and measure. For
   each size in `sizes`, set arrowjit.runtime.threads.MIN_MORSEL_ROWS to it,
   time `f.count(batch, threads=2)` for the filter "x > 2.0 and x < 6.0" over
   `rows` random float64 values (the median of a few calls), and return
   {size: milliseconds}. Put the original MIN_MORSEL_ROWS back at the end,
   even if something fails. Then look at the numbers: on this machine, where
   does a second thread start to pay?
"""


def morsel_count(rows: int, threads: int, min_rows: int) -> int:
    raise NotImplementedError("exercise: the rule of row_ranges")


def measure(sizes: list[int], rows: int = 4_000_000) -> dict[int, float]:
    raise NotImplementedError("exercise: time f.count(batch, threads=2) for each MIN_MORSEL_ROWS")
