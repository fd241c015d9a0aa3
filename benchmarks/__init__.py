"""arrowjit's benchmark suite: ``make bench`` or ``python -m benchmarks.run --help``.

Modules: ``data`` (generated columns), ``expressions`` (E1..E7 in every
contender's dialect), ``contenders`` (how each library answers count / mask /
indices / filtered table), ``worker`` (interleaved timing in one process at
one thread count), ``latency`` and ``fresh`` (compile and import time in
fresh processes with their own on-disk caches; 1,000-row calls), ``params``
(parameters vs baked literals, a 1,000-threshold sweep), ``report`` (tables,
JSON, chart), ``targets`` (the issue's targets, met or missed),
``markdown`` (a result as the tables of docs/benchmarks.md) and ``run`` (the
driver).
"""
