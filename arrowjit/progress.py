"""Progress bars for long scans, drawn by tqdm (imported only when a bar may be shown).

``progress=True`` always shows a bar (tqdm.auto: a widget in a notebook);
``progress=None`` shows one only when stderr is a terminal or the code runs
in a Jupyter notebook, and only once the scan has run for about a second;
``progress=False`` never does. Nothing
is written when stderr is not a terminal and no bar was asked for.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

from .errors import ArgumentError

# A scan shorter than this shows no bar unless one was asked for.
DELAY_SECONDS = 1.0


class Bar(Protocol):
    def advance(self, rows: int, kept: int, row_groups: int, nbytes: int) -> None: ...

    def close(self) -> None: ...


class NoBar:
    def advance(self, rows: int, kept: int, row_groups: int, nbytes: int) -> None:
        pass

    def close(self) -> None:
        pass


class TqdmBar:
    """Rows scanned (with tqdm's rate), and rows kept and row groups done after the bar."""

    def __init__(self, tqdm_class: Any, total_rows: int | None, total_groups: int, delay: float):
        self._bar = tqdm_class(total=total_rows, unit=" rows", unit_scale=True, desc="scan",
                               delay=delay, file=sys.stderr, dynamic_ncols=True)
        self._total_groups = total_groups
        self._kept = self._groups = self._bytes = 0

    def advance(self, rows: int, kept: int, row_groups: int, nbytes: int) -> None:
        self._kept += kept
        self._groups += row_groups
        self._bytes += nbytes
        self._bar.set_postfix_str(f"kept {self._kept:,} rows, {self._groups}/{self._total_groups} "
                                  f"row groups, {self._bytes / 1e6:,.0f} MB read", refresh=False)
        self._bar.update(rows)

    def close(self) -> None:
        self._bar.close()


def check(progress: bool | None) -> None:
    if progress is not None and not isinstance(progress, bool):
        raise ArgumentError(f"progress must be True, False or None, not {progress!r}")


def bar(progress: bool | None, total_rows: int | None, total_groups: int) -> Bar:
    """A bar for a scan of ``total_rows`` rows in ``total_groups`` row groups (or files)."""
    check(progress)
    notebook = _in_notebook()
    if progress is False or (progress is None and not (notebook or _stderr_is_terminal())):
        return NoBar()
    try:
        if progress or notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        if progress:
            raise ArgumentError("progress=True needs tqdm (pip install tqdm)") from None
        return NoBar()
    return TqdmBar(tqdm, total_rows, total_groups, 0.0 if progress else DELAY_SECONDS)


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where tqdm.auto draws a widget)."""
    if "ipykernel" not in sys.modules:
        return False
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced by something without isatty
        return False
