"""One error hierarchy for every stage, each error carrying the source span it is about.

Errors also inherit a builtin (``ValueError``/``NotImplementedError``) so callers that do not know
matcalc can still catch them sensibly.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Every line end a text may carry; the parser sees each of them as "\n", so lines are counted one
# way everywhere (lark counts "\n" only; ``str.splitlines`` would also split at \v, \f, \x1c …).
_LINE_ENDS = str.maketrans({"\r": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"})


def normalize_newlines(source: str) -> str:
    """``\r\n``, ``\r``, NEL, U+2028 and U+2029 become ``\n``; nothing else changes."""
    return source.replace("\r\n", "\n").translate(_LINE_ENDS)


def source_lines(source: str) -> list[str]:
    """The lines of a program as the parser numbers them (1-based line n is ``lines[n - 1]``)."""
    return normalize_newlines(source).split("\n")


def _visible(line: str) -> str:
    """A source line for display under which a caret lines up: tabs and other control or
    format characters each become one visible character."""
    return "".join(" " if c == "\t" else "\ufffd" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
                   else c for c in line)


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
        """``line:col: error: …``, the source line, a caret under the span, and the hint.

        Never raises: a span outside the source is shown without its line."""
        try:
            text = self._located()
        except Exception:  # a malformed span must not hide the message itself
            text = f"error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text

    def _located(self) -> str:
        span = self.span
        if span is None:
            return f"error: {self.message}"
        head = f"{span.line}:{span.column}: error: {self.message}"
        if self.source is None:
            return head
        lines = source_lines(self.source)
        if not 1 <= span.line <= len(lines):
            return head
        src_line = _visible(lines[span.line - 1])
        column = max(1, min(span.column, len(src_line) + 1))
        if span.end_line == span.line:
            width = span.end_column - column
        else:
            width = len(src_line) - column + 1
        width = max(1, min(width, len(src_line) - column + 1))
        if len(src_line) > _SHOWN:   # a window around the caret, not a line of a megabyte
            start = max(0, min(column - 1 - _SHOWN // 2, len(src_line) - _SHOWN))
            src_line = ("…" if start else "") + src_line[start:start + _SHOWN] + \
                ("…" if start + _SHOWN < len(src_line) else "")
            column = column - start + (1 if start else 0)
            width = min(width, _SHOWN)
        caret = " " * (column - 1) + "^" + "~" * (width - 1)
        return f"{head}\n    {src_line}\n    {caret}"

    def __str__(self) -> str:
        return self.format()


_SHOWN = 120   # characters of a long source line shown around the caret


class ParseError(MatcalcError):
    """The text is not a well-formed program."""


class NameResolutionError(MatcalcError):
    """A name is unknown, defined twice, or used where it cannot be."""


class ShapeError(MatcalcError):
    """Operand shapes do not fit the operator."""


class UnsupportedError(MatcalcError, NotImplementedError):
    """A construct the language can express but matcalc cannot (yet) differentiate or generate."""
