"""Showing the stages: terminal colors and HTML (Jupyter), with pygments when it is installed.

LLVM IR gets pygments' ``LlvmLexer``, assembly its ``GasLexer``, the
pass-by-pass view (unified diffs) its ``DiffLexer``; the AST and typed IR
are shown as they are. pygments is imported only when something is
colored; without it, text stays plain and HTML is escaped ``<pre>``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from typing import IO

STAGE_TITLES = {
    "ast": "AST (the parse, with sugar such as comparison chains expanded)",
    "typed": "typed IR (every node typed, casts explicit, registry functions named)",
    "llvm": "LLVM IR before optimization",
    "passes": "the O3 pipeline pass by pass (what each pass changed)",
    "optimized": "LLVM IR after O3 (inlined and vectorized)",
    "asm": "machine code",
}

_LEXERS = {"llvm": "LlvmLexer", "optimized": "LlvmLexer", "asm": "GasLexer", "passes": "DiffLexer"}


def _lexer(stage: str):
    """The pygments lexer for a stage, or None (no lexer for it, or no pygments)."""
    name = _LEXERS.get(stage)
    if name is None:
        return None
    try:
        from pygments import lexers
    except ImportError:
        return None
    return getattr(lexers, name)()


def use_color(choice: str, stream: IO[str]) -> bool:
    """``--color``: always, never, or auto (a terminal, unless NO_COLOR is set or TERM is dumb)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def terminal(text: str, stage: str) -> str:
    """``text`` with ANSI colors for a terminal (unchanged when there is nothing to color it with)."""
    lexer = _lexer(stage)
    if lexer is None:
        return text
    from pygments import highlight
    from pygments.formatters import TerminalFormatter

    return highlight(text, lexer, TerminalFormatter())


def html_block(text: str, stage: str) -> str:
    """A ``<pre>`` block of ``text``, highlighted with inline styles where a lexer fits."""
    lexer = _lexer(stage)
    if lexer is None:
        return f'<pre style="margin:0">{html.escape(text)}</pre>'
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    return highlight(text, lexer, HtmlFormatter(noclasses=True, nobackground=True,
                                                cssstyles="margin:0"))


def html_view(kind: str, expressions: Sequence[tuple[str | None, str]], columns: Mapping[str, object],
              parameters: Mapping[str, object], stages: Sequence[tuple[str, str]]) -> str:
    """The HTML a notebook shows: the expressions, the column types, each stage collapsed."""
    parts = [f'<div class="arrowjit"><p><b>arrowjit.{html.escape(kind)}</b></p>', "<table>"]
    for name, text in expressions:
        label = f"<td>{html.escape(name)}</td>" if name is not None else ""
        parts.append(f"<tr>{label}<td><code>{html.escape(text)}</code></td></tr>")
    parts.append("</table>")
    parts.append("<table><tr><th>column</th><th>type</th></tr>")
    for name, dtype in columns.items():
        parts.append(f"<tr><td><code>{html.escape(name)}</code></td><td>{html.escape(str(dtype))}</td></tr>")
    for name, dtype in parameters.items():
        parts.append(f"<tr><td><code>:{html.escape(name)}</code></td>"
                     f"<td>{html.escape(str(dtype))} (parameter)</td></tr>")
    parts.append("</table>")
    for stage, text in stages:
        title = STAGE_TITLES.get(stage, stage)
        parts.append(f"<details><summary><b>{html.escape(stage)}</b>: {html.escape(title)}</summary>"
                     f"{html_block(text, stage)}</details>")
    parts.append("</div>")
    return "\n".join(parts)
