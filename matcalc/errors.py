"""One error hierarchy for every stage, each error carrying the source span it is about.

Errors also inherit a builtin (``ValueError``/``NotImplementedError``) so callers that do not know
matcalc can still catch them sensibly.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A region of the source text: 1-based line and column, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    def merge(self, other: "Span | None") -> "Span":
        if other is None:
            return self
        start = min((self.line, self.column), (other.line, other.column))
        end = max((self.end_line, self.end_column), (other.end_line, other.end_column))
        return Span(start[0], start[1], end[0], end[1])


class MatcalcError(ValueError):
    """A user-facing error: message, optional span into ``source``, optional hint."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None,
                 source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.source = source

    def with_source(self, source: str) -> "MatcalcError":
        if self.source is None:
            self.source = source
        return self

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.column if self.span else None

    def format(self) -> str:
        """``line:col: error: …``, the source line, a caret under the span, and the hint."""
        if self.span is None or self.source is None:
            text = f"error: {self.message}"
        else:
            lines = self.source.splitlines() or [""]
            row = min(self.span.line, len(lines))
            src_line = lines[row - 1]
            width = (self.span.end_column - self.span.column
                     if self.span.end_line == self.span.line else len(src_line) - self.span.column + 1)
            caret = " " * (self.span.column - 1) + "^" + "~" * max(0, width - 1)
            text = (f"{self.span.line}:{self.span.column}: error: {self.message}\n"
                    f"    {src_line}\n    {caret}")
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.format()


class ParseError(MatcalcError):
    """The text is not a well-formed program."""


class NameResolutionError(MatcalcError):
    """A name is unknown, defined twice, or used where it cannot be."""


class ShapeError(MatcalcError):
    """Operand shapes do not fit the operator."""


class UnsupportedError(MatcalcError, NotImplementedError):
    """A construct the language can express but matcalc cannot (yet) differentiate or generate."""
