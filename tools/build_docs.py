"""Regenerate the generated docs: the tour's chapters and the architecture pictures.

    python -m tools.build_docs           # write them (what `make docs` runs)
    python -m tools.build_docs --check   # write nothing; exit 1 and print the diff if any differs
    python -m tools.build_docs 05        # only the chapters whose file name starts with 05

Machine-dependent listings (assembly, optimized IR) are compared with
``--check`` only when the committed listing came from this machine's CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from . import architecture, tour


def generated(only: list[str]) -> dict[Path, str]:
    files = {}
    for source, target in tour.chapters():
        if only and not any(source.name.startswith(prefix) for prefix in only):
            continue
        t0 = time.perf_counter()
        files[target] = tour.build_chapter(source)
        print(f"{target.relative_to(tour.ROOT)}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if not only:
        files.update(architecture.write())
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead")
    parser.add_argument("only", nargs="*", help="chapter number prefixes (default: everything)")
    args = parser.parse_args(argv)
    # Listings must not depend on what an earlier run left in the cache, nor leave anything behind.
    with tempfile.TemporaryDirectory(prefix="arrowjit-docs-") as cache:
        os.environ["ARROWJIT_CACHE_DIR"] = cache
        files = generated(args.only)
    cpu = tour.host_cpu()
    stale = 0
    for path, text in files.items():
        if args.check:
            committed = path.read_text() if path.exists() else ""
            diff = tour.differences(text, committed, cpu)
            if diff is not None:
                stale += 1
                print(f"{path.relative_to(tour.ROOT)} is out of date:\n{diff}")
        elif not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(tour.ROOT)}", file=sys.stderr)
    if stale:
        print(f"{stale} generated file(s) differ: run `make docs` and commit the result")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
