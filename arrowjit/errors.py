"""Every error arrowjit raises, and how an error points at the expression.

Errors about the expression carry the source text and the span of the
offending sub-expression, and print them the way chibicc or Crafting
Interpreters do::

    arrowjit.ExpressionTypeError: 1:5: cannot compare x (utf8) with 2 (int64)
      x > 2
      ^^^^^
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A half-open range ``[start, end)`` of character offsets into the expression."""

    start: int
    end: int

    def cover(self, other: Span) -> Span:
        return Span(min(self.start, other.start), max(self.end, other.end))


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def render_caret(text: str, span: Span) -> str:
    """The source line holding ``span.start`` with carets under the span."""
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.start)
    if line_end == -1:
        line_end = len(text)
    line = text[line_start:line_end]
    end = min(max(span.end, span.start + 1), line_end if line_end > span.start else span.start + 1)
    width = max(1, end - span.start)
    return f"  {line}\n  {' ' * (span.start - line_start)}{'^' * width}"


class ArrowJitError(Exception):
    """Base class of every error arrowjit raises on purpose."""


class ExpressionError(ArrowJitError):
    """An error located in the expression text."""

    def __init__(self, message: str, text: str | None = None, span: Span | None = None):
        self.message = message
        self.text = text
        self.span = span
        super().__init__(self._format())

    def _format(self) -> str:
        if self.text is None or self.span is None:
            return self.message
        line, column = line_and_column(self.text, self.span.start)
        return f"{line}:{column}: {self.message}\n{render_caret(self.text, self.span)}"


class ParseError(ExpressionError):
    """The expression does not follow the grammar."""


class ExpressionTypeError(ExpressionError):
    """The expression is well formed but its types do not fit."""


class UnknownColumnError(ExpressionError):
    """The expression names a column the schema does not have."""


class ParameterError(ArrowJitError):
    """A parameter value is missing, unknown, or does not fit the parameter's type."""


class SchemaMismatchError(ArrowJitError):
    """The data handed to a compiled filter does not match the schema it was compiled for."""


class InvalidDataError(ArrowJitError):
    """An Arrow array whose buffers cannot hold what it declares (checked before any kernel runs)."""


class CompilerError(ArrowJitError):
    """LLVM rejected the code arrowjit generated: a bug in arrowjit, reported with the IR."""


class ArgumentError(ArrowJitError, ValueError):
    """An option has a value it cannot take (``threads=0``)."""


class InputTypeError(ArrowJitError, TypeError):
    """The data is not something a compiled expression can read."""


class SourceError(ArrowJitError):
    """A scan's source cannot be found or read (a missing file, a glob that matches nothing, bad data)."""
