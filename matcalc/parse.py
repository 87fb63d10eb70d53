"""Text → surface AST. Lark does the parsing; this module only normalises spellings and keeps spans.

Lark's own exceptions never escape: they become ``ParseError`` with a caret and a hint.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path
from collections.abc import Iterator

import sympy
from lark import Lark, Token, Transformer_NonRecursive, UnexpectedCharacters, UnexpectedInput, UnexpectedToken, v_args
from lark.exceptions import UnexpectedEOF, VisitError

from . import syntax as s
from .errors import MatcalcError, ParseError, Span, normalize_newlines, source_lines

_PRODUCT_OPS = {"*": "product", "@": "product", "·": "product", "⋅": "product",
                "∘": "hadamard", ".*": "hadamard", "⊙": "hadamard",
                "./": "ediv", "⊘": "ediv", "/": "div", "⊗": "kron"}
_FRACTIONS = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5),
              "⅙": (1, 6), "⅛": (1, 8)}
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
# What a name may be once NFKC has folded compatibility spellings (ﬁ → fi, ϵ → ε, x₁ → x1): a
# letter, then letters, digits, underscores and combining marks — the grammar's NAME without the
# subscripts, which NFKC has turned into digits (or into + and −, which no name may hold).
_LETTER = "A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF"
_VALID_NAME = re.compile(f"[{_LETTER}][{_LETTER}0-9_\u0300-\u036F]*")
# Numbers: at most this many significant digits, and a size float64 can hold (decimal exponent).
_MAX_DIGITS = 50
_MAX_EXPONENT = 308

# Tokens after which a bar closes an open norm or absolute value rather than opening a new one.
_OPERAND_END = {"NAME", "NUMBER", "FRACTION", "RPAR", "RBRACE", "POSTFIX_OP", "RNORM", "RABS"}


class _BarPostLexer:
    """Marks each ‖ / || / | as opening or closing: a bar closes when one of its kind is open and
    the previous token ends an operand; otherwise it opens. ``‖a‖ ‖b‖`` and ``½‖x‖²`` both work."""

    always_accept = ("DBAR", "BAR")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        open_bars: list[str] = []
        previous = None
        for token in stream:
            if token.type in ("DBAR", "BAR"):
                closes = bool(open_bars) and open_bars[-1] == token.type and previous in _OPERAND_END
                kind = "NORM" if token.type == "DBAR" else "ABS"
                if closes:
                    open_bars.pop()
                    token = Token.new_borrow_pos("R" + kind, token.value, token)
                else:
                    open_bars.append(token.type)
                    token = Token.new_borrow_pos("L" + kind, token.value, token)
            previous = token.type
            yield token


def _span(meta_or_token) -> Span:
    return Span(meta_or_token.line, meta_or_token.column,
                meta_or_token.end_line, meta_or_token.end_column)


def _name_text(token: Token) -> str:
    """A name as the program means it: NFKC-normalised, so that spellings Unicode treats as the
    same (ﬁ and fi, µ and μ, x₁ and x1) are one name in every later stage."""
    text = unicodedata.normalize("NFKC", str(token))
    if not _VALID_NAME.fullmatch(text) or unicodedata.normalize("NFKC", text) != text:
        raise ParseError(f"the name {str(token)!r} reads as {text!r} after Unicode normalisation, "
                         "which is not a name", _span(token),
                         hint="use letters, digits and underscores in names")
    return text


def _domain_text(token: Token) -> str:
    """A set's name (ℝ, ℝ₊, 𝕊₊₊) NFKC-normalised: R, R+, S++."""
    return unicodedata.normalize("NFKC", str(token))


def _number(text: str, span: Span) -> sympy.Rational:
    """The exact value of a decimal literal; refuses sizes float64 cannot hold before building
    them, so ``1e999999999`` is an error at once rather than a billion-digit integer."""
    mantissa, _, exponent_text = text.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return sympy.Integer(0)
    if len(digits.rstrip("0")) > _MAX_DIGITS:
        raise ParseError(f"the number has more than {_MAX_DIGITS} significant digits", span,
                         hint="write it with fewer digits; derivatives are evaluated in float64")
    exponent_digits = exponent_text.lstrip("+-").lstrip("0")
    if len(exponent_digits) > 6:
        exponent = _MAX_EXPONENT * 10 * (-1 if exponent_text.startswith("-") else 1)
    else:
        exponent = int(exponent_text) if exponent_text else 0
    # decimal exponent of the leading digit: 123.4 → 2, 0.05 → −2
    leading = len(whole.lstrip("0")) - 1 if whole.lstrip("0") else -(len(fraction) - len(fraction.lstrip("0")) + 1)
    magnitude = leading + exponent
    if magnitude > _MAX_EXPONENT:
        raise ParseError(f"the number {_short(text)} is too large", span,
                         hint="numbers must fit a float64 (below about 1.8e308)")
    if magnitude < -_MAX_EXPONENT:
        raise ParseError(f"the number {_short(text)} is too small to be told from 0 in float64", span,
                         hint="write 0, or a number above about 1e-308")
    value = sympy.Rational(int(whole + fraction), 10 ** len(fraction))
    return value * sympy.Rational(10) ** exponent


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:10] + "…" + text[-10:]


@v_args(meta=True)
class _ToSyntax(Transformer_NonRecursive):
    """One method per grammar rule; each returns a surface node with its span. Non-recursive, so
    the depth of the program's nesting is bounded by memory, not by Python's stack."""

    def start(self, meta, statements):
        return tuple(statements)

    def declaration(self, meta, children):
        *names, domain = children
        return s.Declaration(_span(meta), tuple(s.Name(_span(n), _name_text(n)) for n in names), domain)

    def definition(self, meta, children):
        name, value = children
        return s.Definition(_span(meta), s.Name(_span(name), _name_text(name)), value)

    def expression_statement(self, meta, children):
        return s.ExpressionStatement(_span(meta), children[0])

    def domain(self, meta, children):
        name, *power = children
        return s.Domain(_span(meta), _domain_text(name), power[0] if power else ())

    def domain_call(self, meta, children):
        name, *dims = children
        return s.Domain(_span(meta), _domain_text(name), tuple(dims))

    def power_one(self, meta, children):
        return tuple(children)

    power_list = power_one

    def power_superscript(self, meta, children):
        return (_dimension(str(children[0]).translate(_SUPERSCRIPT_DIGITS), _span(meta)),)

    def dim(self, meta, children):
        token = children[0]
        return _dimension(str(token), _span(meta)) if token.type == "INT" else s.DimName(_span(token), _name_text(token))

    def binary(self, meta, children):
        left, op, right = children
        kind = {"+": "add", "-": "sub", "−": "sub"}.get(str(op)) or _PRODUCT_OPS[str(op)]
        return s.Binary(_span(meta), kind, left, right)

    def frobenius(self, meta, children):
        return s.Binary(_span(meta), "frobenius", children[0], children[1])

    def juxtapose(self, meta, children):
        return s.Binary(_span(meta), "product", children[0], children[1])

    def divide(self, meta, children):
        return s.Binary(_span(meta), "div", children[0], children[1])

    def unary(self, meta, children):
        op, operand = children
        return operand if str(op) == "+" else s.Negate(_span(meta), operand)

    def power(self, meta, children):
        return s.Power(_span(meta), children[0], children[1], elementwise=False)

    def elementwise_power(self, meta, children):
        return s.Power(_span(meta), children[0], children[1], elementwise=True)

    def postfix(self, meta, children):
        operand, op = children
        span = _span(meta)
        text = str(op)
        if text in ("'", "ᵀ"):
            return s.Postfix(span, "transpose", operand)
        if text == "⁻¹":
            return s.Postfix(span, "inverse", operand)
        if text == "⁻ᵀ":
            return s.Postfix(span, "transpose", s.Postfix(span, "inverse", operand))
        exponent = {"²": 2, "³": 3}[text]
        return s.Power(span, operand, s.Number(_span(op), sympy.Integer(exponent)), elementwise=False)

    def number(self, meta, children):
        return s.Number(_span(meta), _number(str(children[0]), _span(meta)))

    def fraction(self, meta, children):
        p, q = _FRACTIONS[str(children[0])]
        return s.Number(_span(meta), sympy.Rational(p, q))

    def name(self, meta, children):
        return s.Name(_span(meta), _name_text(children[0]))

    def group(self, meta, children):
        inner = children[0]
        return s.Name(inner.span, inner.text, grouped=True) if isinstance(inner, s.Name) else inner

    def call(self, meta, children):
        name, *args = children
        return s.Call(_span(meta), s.Name(_span(name), _name_text(name)), tuple(args))

    def norm(self, meta, children):
        return s.Norm(_span(meta), children[1])

    def abs(self, meta, children):
        return s.Abs(_span(meta), children[1])

    def sqrt(self, meta, children):
        return s.Call(_span(meta), s.Name(_span(children[0]), "sqrt"), (children[1],))


def _dimension(text: str, span: Span) -> int:
    digits = text.lstrip("0")
    if len(digits) > 9:
        raise ParseError(f"the dimension {_short(text)} is too large", span)
    return int(text)


def _grammar() -> str:
    """The grammar ships in the wheel as the package matcalc.grammar; run from a source checkout
    (``python -m matcalc`` in the repository), the package is this folder and it is ../grammar."""
    try:
        return resources.files("matcalc.grammar").joinpath("matcalc.lark").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        return (Path(__file__).resolve().parent.parent / "grammar" / "matcalc.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    from ._parser_cache import cached_lark   # the table is built once per user, not per process
    return cached_lark(_grammar(), parser="lalr", lexer="contextual", postlex=_BarPostLexer(),
                       propagate_positions=True, maybe_placeholders=False)


_TOKEN_NAMES = {"NAME": "a name", "NUMBER": "a number", "FRACTION": "a number", "INT": "a number",
                "ADD_OP": "'+' or '-'", "PRODUCT_OP": "a product operator", "RPAR": "')'",
                "LPAR": "'('", "EQUAL": "'='", "_NL": "end of line", "$END": "end of input",
                "RNORM": "a closing ‖", "LNORM": "'‖'", "LABS": "'|'", "RABS": "a closing |",
                "DBAR": "'‖'", "BAR": "'|'",
                "SQRT": "'√'", "COLON": "':'", "POSTFIX_OP": "a postfix operator", "COMMA": "','",
                "SEMICOLON": "';'", "_IN": "'in'", "LBRACE": "'{'", "RBRACE": "'}'",
                "CIRCUMFLEX": "'^'", "SUPERSCRIPT_INT": "a superscript", "SLASH": "'/'"}


def _describe_expected(expected) -> str:
    names = sorted({_TOKEN_NAMES.get(e, e) for e in expected if not e.startswith("__")})
    return ", ".join(names[:6])


# Programs longer than this (comments aside) are refused before parsing: reading 1 MB would take
# Lark about 15 s, and no derivation that long is readable. About 5,000 short statements.
MAX_PROGRAM_CHARACTERS = 100_000


def _refuse_too_long(source: str, lines: list[str]) -> None:
    """A ParseError at the first character past the limit, counting text outside comments."""
    counted = 0
    for row, line in enumerate(lines, start=1):
        code = line.split("#", 1)[0]
        if counted + len(code) > MAX_PROGRAM_CHARACTERS:
            column = MAX_PROGRAM_CHARACTERS - counted + 1
            raise ParseError(f"the program is longer than matcalc reads ({MAX_PROGRAM_CHARACTERS:,} "
                             "characters outside comments)", Span(row, column, row, column + 1),
                             hint="differentiate a smaller program, or split it into parts",
                             source=source)
        counted += len(code) + 1


def parse(source: str) -> s.Program:
    """Parse program text into a surface ``Program``; raises ``ParseError`` with a caret.

    Line ends are normalised first (``\r\n``, ``\r``, NEL, U+2028, U+2029 → ``\n``), so the lines
    lark counts, the spans in the AST and the lines an error shows are the same lines."""
    source = normalize_newlines(source)
    lines = source_lines(source)
    end = Span(len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
    _refuse_too_long(source, lines)
    try:
        statements = _ToSyntax().transform(_parser().parse(source))
    except UnexpectedCharacters as err:
        span = Span(err.line, err.column, err.line, err.column + 1)
        char = source[err.pos_in_stream] if 0 <= err.pos_in_stream < len(source) else ""
        raise ParseError(f"unexpected character {char!r}", span,
                         hint="see the operator table in README.md for what the language accepts",
                         source=source) from None
    except UnexpectedEOF as err:
        raise ParseError("unexpected end of input", end,
                         hint=f"expected {_describe_expected(err.expected)}", source=source) from None
    except UnexpectedToken as err:
        token = err.token
        if token.type == "$END":
            span, message = end, "unexpected end of input"
        else:
            end_column = token.end_column if token.end_line == token.line else token.column + 1
            span = Span(token.line, token.column, token.line, max(end_column, token.column + 1))
            shown = "end of line" if token.type == "_NL" else repr(str(token))
            message = f"unexpected {shown}"
        raise ParseError(message, span, hint=f"expected {_describe_expected(err.expected)}",
                         source=source) from None
    except UnexpectedInput as err:  # any other lark input error
        line, column = getattr(err, "line", None), getattr(err, "column", None)
        span = Span(line, column, line, column + 1) if isinstance(line, int) and isinstance(column, int) \
            and line > 0 else end
        raise ParseError(str(err).splitlines()[0] if str(err) else "the text is not a program", span,
                         source=source) from None
    except VisitError as err:
        if isinstance(err.orig_exc, MatcalcError):
            raise err.orig_exc.with_source(source) from None
        raise
    return s.Program(statements, source)
