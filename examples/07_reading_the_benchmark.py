"""07: read a benchmark run and print the ratios that matter.

    python examples/07_reading_the_benchmark.py                       # latest run, else docs/benchmarks.md
    python examples/07_reading_the_benchmark.py benchmarks/results/latest.json
    python examples/07_reading_the_benchmark.py docs/benchmarks.md    # the committed run of record

`make bench` writes every sample of a run to benchmarks/results/*.json;
docs/benchmarks.md holds the tables of the run of record. Either way this
prints, for one thread: arrowjit's speed against the fastest other library
for each output (count, mask, selected positions, filtered table), and how
close the mask comes to the memory bandwidth, the limit for a filter that
reads each byte once (chapter 9 of the tour).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("count", "mask", "indices", "table")


@dataclass(frozen=True)
class Run:
    """What this example needs from a benchmark run."""

    source: str
    rows: int
    cpu: str
    bytes_read: dict[str, float]                     # expression -> bytes its columns hold
    stream_ms: dict[str, float]                      # expression -> time to stream those bytes
    times: dict[tuple[str, str, int], dict[str, float]]  # (expression, kind, threads) -> contender -> ms


def from_json(path: Path) -> Run:
    data = json.loads(path.read_text())
    times: dict[tuple[str, str, int], dict[str, float]] = {}
    bytes_read, stream = {}, {}
    for job in data["throughput"]:
        if job["status"] != "ok":
            continue
        times.setdefault((job["expression"], job["kind"], job["threads"]), {})[job["contender"]] = job["ms"]
        bytes_read[job["expression"]] = job["bytes"]
        stream[job["expression"]] = job["stream_ms"]
    return Run(str(path), int(data["args"]["rows"]), data["machine"]["cpu"], bytes_read, stream, times)


def _table(lines: list[str]) -> list[dict[str, str]]:
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip().strip("*") for cell in line.strip("|").split("|"))))
            for line in lines[2:]]


def from_markdown(path: Path) -> Run:
    """The tables of docs/benchmarks.md (written by ``python -m benchmarks.markdown``)."""
    text = path.read_text()
    tables: dict[str, list[dict[str, str]]] = {}
    for match in re.finditer(r"^#+ (?P<title>.+)\n\n(?P<table>(?:\|.*\n)+)", text, re.MULTILINE):
        tables[match["title"]] = _table(match["table"].strip().splitlines())
    limits = tables["References and limits"]
    bytes_read = {row["expr"]: float(row["MB read"]) * 1e6 for row in limits}
    stream = {row["expr"]: float(row["stream ms"]) for row in limits}
    times: dict[tuple[str, str, int], dict[str, float]] = {}
    for title, rows in tables.items():
        heading = re.match(r"(count|mask|indices|filtered table)\b.*, "
                           r"(one thread|all cores \((\d+) threads\))$", title)
        if not heading:
            continue
        kind = "table" if heading[1] == "filtered table" else heading[1]
        threads = 1 if heading[2] == "one thread" else int(heading[3])
        for row in rows:
            cells = {"arrowjit": row["arrowjit ms"]} | {
                name: row[name] for name in ("numpy", "numexpr", "pandas", "pyarrow", "polars", "duckdb")
                if name in row}
            times[(row["expr"], kind, threads)] = {name: float(value) for name, value in cells.items()
                                                   if value not in ("–", "-", "")}
    rows_match = re.search(r"run: ([\d,]+) rows", text)
    cpu_match = re.search(r"CPU: `(\w+)`", text)
    return Run(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
               int(rows_match[1].replace(",", "")), cpu_match[1], bytes_read, stream, times)


def load(path: Path | None) -> Run:
    if path is None:
        latest = ROOT / "benchmarks" / "results" / "latest.json"
        path = latest if latest.exists() else ROOT / "docs" / "benchmarks.md"
    return from_json(path) if path.suffix == ".json" else from_markdown(path)


def main(argv: list[str]) -> None:
    run = load(Path(argv[1]) if len(argv) > 1 else None)
    print(f"source: {run.source}: {run.rows:,} rows on a {run.cpu} CPU")
    expressions = sorted({expr for expr, _, _ in run.times})
    print("\narrowjit's speed over the fastest other library, one thread (above 1.00x: arrowjit is faster)")
    print(f"{'expr':<6}" + "".join(f"{kind:>10}" for kind in KINDS))
    for expr in expressions:
        cells = []
        for kind in KINDS:
            times = run.times.get((expr, kind, 1), {})
            peers = [ms for name, ms in times.items() if name != "arrowjit"]
            cells.append(f"{min(peers) / times['arrowjit']:.2f}x" if peers and "arrowjit" in times else "-")
        print(f"{expr:<6}" + "".join(f"{cell:>10}" for cell in cells))
    print("\nthe mask against the memory bound, one thread")
    print(f"{'expr':<6}{'MB read':>9}{'arrowjit ms':>13}{'GB/s':>7}{'stream ms':>11}{'of stream':>11}")
    for expr in expressions:
        ms = run.times[(expr, "mask", 1)]["arrowjit"]
        megabytes = run.bytes_read[expr] / 1e6
        print(f"{expr:<6}{megabytes:>9.1f}{ms:>13.2f}{megabytes / ms:>7.1f}{run.stream_ms[expr]:>11.2f}"
              f"{run.stream_ms[expr] / ms:>10.0%}")
    print("\n('of stream': the time to merely read the same bytes over arrowjit's time; near 100%,")
    print("the filter runs at the speed of memory and no code generation can make it faster.)")


if __name__ == "__main__":
    main(sys.argv)
