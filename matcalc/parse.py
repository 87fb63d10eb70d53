"""Text → surface AST. Lark does the parsing; this module only normalises spellings and keeps spans.

Lark's own exceptions never escape: they become ``ParseError`` with a caret and a hint.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path
from collections.abc import Iterator

import sympy
from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput, UnexpectedToken, v_args
from lark.exceptions import UnexpectedEOF, VisitError

from . import syntax as s
from .errors import MatcalcError, ParseError, Span

_PRODUCT_OPS = {"*": "product", "@": "product", "·": "product", "⋅": "product",
                "∘": "hadamard", ".*": "hadamard", "⊙": "hadamard",
                "./": "ediv", "⊘": "ediv", "/": "div", "⊗": "kron"}
_FRACTIONS = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5),
              "⅙": (1, 6), "⅛": (1, 8)}
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")

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
    return unicodedata.normalize("NFC", str(token)).translate(_SUBSCRIPT_DIGITS)


@v_args(meta=True)
class _ToSyntax(Transformer):
    """One method per grammar rule; each returns a surface node with its span."""

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
        return s.Domain(_span(meta), _name_text(name), power[0] if power else ())

    def domain_call(self, meta, children):
        name, *dims = children
        return s.Domain(_span(meta), _name_text(name), tuple(dims))

    def power_one(self, meta, children):
        return tuple(children)

    power_list = power_one

    def power_superscript(self, meta, children):
        return (int(str(children[0]).translate(_SUPERSCRIPT_DIGITS)),)

    def dim(self, meta, children):
        token = children[0]
        return int(token) if token.type == "INT" else _name_text(token)

    def binary(self, meta, children):
        left, op, right = children
        kind = {"+": "add", "-": "sub", "−": "sub"}.get(str(op)) or _PRODUCT_OPS[str(op)]
        return s.Binary(_span(meta), kind, left, right)

    def frobenius(self, meta, children):
        return s.Binary(_span(meta), "frobenius", children[0], children[1])

    def juxtapose(self, meta, children):
        return s.Binary(_span(meta), "product", children[0], children[1])

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
        text = str(children[0])
        value = sympy.Rational(text) if "e" not in text.lower() else sympy.Rational(sympy.Float(text))
        return s.Number(_span(meta), value)

    def fraction(self, meta, children):
        p, q = _FRACTIONS[str(children[0])]
        return s.Number(_span(meta), sympy.Rational(p, q))

    def name(self, meta, children):
        return s.Name(_span(meta), _name_text(children[0]))

    def call(self, meta, children):
        name, *args = children
        return s.Call(_span(meta), s.Name(_span(name), _name_text(name)), tuple(args))

    def norm(self, meta, children):
        return s.Norm(_span(meta), children[1])

    def abs(self, meta, children):
        return s.Abs(_span(meta), children[1])

    def sqrt(self, meta, children):
        return s.Call(_span(meta), s.Name(_span(children[0]), "sqrt"), (children[1],))


def _grammar() -> str:
    """The grammar ships in the wheel as the package matcalc.grammar; run from a source checkout
    (``python -m matcalc`` in the repository), the package is this folder and it is ../grammar."""
    try:
        return resources.files("matcalc.grammar").joinpath("matcalc.lark").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        return (Path(__file__).resolve().parent.parent / "grammar" / "matcalc.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_grammar(), parser="lalr", lexer="contextual", postlex=_BarPostLexer(),
                propagate_positions=True, maybe_placeholders=False)


_TOKEN_NAMES = {"NAME": "a name", "NUMBER": "a number", "FRACTION": "a number", "INT": "a number",
                "ADD_OP": "'+' or '-'", "PRODUCT_OP": "a product operator", "RPAR": "')'",
                "LPAR": "'('", "EQUAL": "'='", "_NL": "end of line", "$END": "end of input",
                "RNORM": "a closing ‖", "LNORM": "'‖'", "LABS": "'|'", "RABS": "a closing |",
                "DBAR": "'‖'", "BAR": "'|'",
                "SQRT": "'√'", "COLON": "':'", "POSTFIX_OP": "a postfix operator", "COMMA": "','",
                "SEMICOLON": "';'", "_IN": "'in'", "LBRACE": "'{'", "RBRACE": "'}'",
                "CIRCUMFLEX": "'^'", "SUPERSCRIPT_INT": "a superscript"}


def _describe_expected(expected) -> str:
    names = sorted({_TOKEN_NAMES.get(e, e) for e in expected if not e.startswith("__")})
    return ", ".join(names[:6])


def parse(source: str) -> s.Program:
    """Parse program text into a surface ``Program``; raises ``ParseError`` with a caret."""
    try:
        statements = _ToSyntax().transform(_parser().parse(source))
    except UnexpectedCharacters as err:
        span = Span(err.line, err.column, err.line, err.column + 1)
        char = source.splitlines()[err.line - 1][err.column - 1] if source else ""
        raise ParseError(f"unexpected character {char!r}", span,
                         hint="see the operator table in README.md for what the language accepts",
                         source=source) from None
    except UnexpectedEOF as err:
        lines = source.splitlines() or [""]
        span = Span(len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
        raise ParseError("unexpected end of input", span,
                         hint=f"expected {_describe_expected(err.expected)}", source=source) from None
    except UnexpectedToken as err:
        token = err.token
        if token.type == "$END":
            lines = source.splitlines() or [""]
            span = Span(len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
            message = "unexpected end of input"
        else:
            end_column = token.end_column if token.end_line == token.line else token.column + 1
            span = Span(token.line, token.column, token.line, max(end_column, token.column + 1))
            shown = "end of line" if token.type == "_NL" else repr(str(token))
            message = f"unexpected {shown}"
        raise ParseError(message, span, hint=f"expected {_describe_expected(err.expected)}",
                         source=source) from None
    except UnexpectedInput as err:  # any other lark input error
        raise ParseError(str(err).splitlines()[0], None, source=source) from None
    except VisitError as err:
        if isinstance(err.orig_exc, MatcalcError):
            raise err.orig_exc.with_source(source) from None
        raise
    return s.Program(statements, source)
