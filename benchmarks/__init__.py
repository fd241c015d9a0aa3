"""arrowjit's benchmark suite: ``make bench`` or ``python -m benchmarks.run --help``.

Modules: ``data`` (generated columns), ``expressions`` (E1..E7 in every
contender's dialect), ``contenders`` (how each library answers count / mask /
indices / filtered table), ``worker`` (interleaved timing in one process at
one thread count), ``latency`` (compile time, import time, 1,000-row calls),
``report`` (table, JSON, chart) and ``run`` (the driver).
"""
