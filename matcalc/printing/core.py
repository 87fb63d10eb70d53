"""The printer shared by all targets: structure and parentheses here, spellings in a Notation.

Dispatch is by node class (``_print_<Class>``); each method returns (text, precedence) so that
``parenthesize`` decides brackets in one place. ``names`` maps subexpressions to the names they
print as (user definitions and shared subexpressions, see naming.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Callable
from typing import Union

import sympy

from .. import expr as E
from . import precedence as P


@dataclass(frozen=True)
class Notation:
    name: Callable[[str], str]
    number: Callable[[sympy.Expr], str]
    add: str
    sub: str
    neg: str
    hadamard: str
    ediv: str
    kron: str
    frobenius: str
    juxtapose: str
    transpose: Callable[[str], str]
    inverse: Callable[[str], str]
    inverse_transpose: Callable[[str], str]
    power: Callable[[str, str], str]           # scalar power
    elementwise_power: Callable[[str, str], str]
    fraction: Callable[[str, str], str]
    function: Callable[[str, str], str]        # (name, argument) for named functions
    elementwise: Callable[[str, str], str]     # (function row name, argument)
    norm: Callable[[str], str]
    norm_squared: Callable[[str], str]
    paren: Callable[[str], str]
    differential: Callable[[str], str]
    identity: str
    ones: str
    partial_trace: Callable[[int, str], str]


# ── text that grows linearly ──────────────────────────────────────────────────────────────────
# A node's text is a str when short, else a rope: parts (strs and ropes) joined only once, at the
# end, so writing out a deep expression costs time and memory linear in its length.

_FLAT = 256                                  # texts up to this length are plain strings
_HOLE = re.compile("\ue000(\\d+)\ue001")     # a rope's place inside a Notation template


class _Rope:
    __slots__ = ("parts", "length")

    def __init__(self, parts: tuple, length: int) -> None:
        self.parts = parts
        self.length = length


Text = Union[str, _Rope]


def _len(t: Text) -> int:
    return len(t) if isinstance(t, str) else t.length


def _cat(*parts: Text) -> Text:
    length = sum(map(_len, parts))
    if length <= _FLAT:   # then every part is a str
        return "".join(parts)   # type: ignore[arg-type]
    return _Rope(parts, length)


def _join(separator: str, items: list[Text]) -> Text:
    parts: list[Text] = []
    for i, item in enumerate(items):
        if i:
            parts.append(separator)
        parts.append(item)
    return _cat(*parts)


def flatten(t: Text) -> str:
    """A text as one string (iterative)."""
    if isinstance(t, str):
        return t
    out: list[str] = []
    stack: list[Text] = [t]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        else:
            stack.extend(reversed(item.parts))
    return "".join(out)


def _apply(template: Callable[..., str], *args: Text) -> Text:
    r"""A Notation template (``x + "ᵀ"``, ``\left(x\right)`` …) applied to texts: a long argument
    enters as a hole framed by its outer literal parts (so ``_unwrap`` still sees \left( … \right))
    and is put back as a rope, never copied."""
    holes: list[Text] = []
    plain: list[str] = []
    for a in args:
        if isinstance(a, str):
            plain.append(a)
            continue
        parts = a.parts
        i, j = 0, len(parts)
        while i < j and isinstance(parts[i], str):
            i += 1
        while j > i and isinstance(parts[j - 1], str):
            j -= 1
        if i == j:
            plain.append("".join(parts))   # type: ignore[arg-type]
            continue
        middle = parts[i] if j == i + 1 else _Rope(parts[i:j], sum(map(_len, parts[i:j])))
        plain.append("".join(parts[:i]) + f"\ue000{len(holes)}\ue001" + "".join(parts[j:]))  # type: ignore[arg-type]
        holes.append(middle)
    text = template(*plain)
    if not holes:
        return text
    pieces = _HOLE.split(text)
    return _cat(*(piece if k % 2 == 0 else holes[int(piece)] for k, piece in enumerate(pieces)))


# ── the printer ───────────────────────────────────────────────────────────────────────────────

class Printer:
    """Each ``_print_<Class>`` returns (text, precedence), or is a generator that yields the nodes
    it needs printed, receives their (text, precedence), and returns its own: a driver with an
    explicit stack runs them, so printing never recurses on depth, and each node is printed once
    per printer (results are kept, so printing many lines that share subexpressions is linear)."""

    def __init__(self, notation: Notation, names: dict[E.Expr, str] | None = None) -> None:
        self.n = notation
        self.names = names or {}
        self._done: dict[E.Expr, tuple[Text, int]] = {}

    def __call__(self, e: E.Expr) -> str:
        return flatten(self._visit(e)[0])

    def definition(self, e: E.Expr) -> str:
        """``e`` written out even when it has a name (the right-hand side of ``name = …``)."""
        return flatten(self._run(e, self._method(e))[0])

    def visit(self, e: E.Expr) -> tuple[str, int]:
        text, prec = self._visit(e)
        return flatten(text), prec

    def paren(self, e: E.Expr, level: int, strict: bool = False) -> str:
        text, prec = self.visit(e)
        return self.n.paren(text) if prec < level or (strict and prec == level) else text

    # — the driver —
    def _method(self, e: E.Expr):
        return getattr(self, "_print_" + type(e).__name__)(e)

    def _visit(self, e: E.Expr) -> tuple[Text, int]:
        done = self._done.get(e)
        if done is not None:
            return done
        if e in self.names:
            done = self._done[e] = (self.n.name(self.names[e]), P.ATOM)
            return done
        return self._run(e, self._method(e), remember=True)

    def _run(self, root: E.Expr, first, remember: bool = False) -> tuple[Text, int]:
        """Run ``first`` (the result or generator of root's method) and every method it needs."""
        if isinstance(first, tuple):
            if remember:
                self._done[root] = first
            return first
        stack: list[tuple[E.Expr, object, bool]] = [(root, first, remember)]
        reply = None
        while stack:
            node, work, keep = stack[-1]
            try:
                wanted = work.send(reply)   # type: ignore[attr-defined]
            except StopIteration as stop:
                stack.pop()
                reply = stop.value
                if keep:
                    self._done[node] = reply
                continue
            reply = self._done.get(wanted)
            if reply is not None:
                continue
            if wanted in self.names:
                reply = self._done[wanted] = (self.n.name(self.names[wanted]), P.ATOM)
                continue
            method = self._method(wanted)
            if isinstance(method, tuple):
                reply = self._done[wanted] = method
                continue
            stack.append((wanted, method, True))
        return reply   # type: ignore[return-value]

    def _paren(self, e: E.Expr, level: int, strict: bool = False):
        """(generator) e's text, bracketed when its precedence is below ``level``."""
        text, prec = yield e
        return _apply(self.n.paren, text) if prec < level or (strict and prec == level) else text

    def _text(self, e: E.Expr):
        """(generator) e's text."""
        text, _ = yield e
        return text

    # leaves
    def _print_Var(self, e): return self.n.name(e.name), P.ATOM
    def _print_Ref(self, e): return self.n.name(e.name), P.ATOM
    def _print_Identity(self, e): return self.n.identity, P.ATOM
    def _print_Zero(self, e): return "0", P.ATOM

    def _print_Const(self, e):
        value = e.value
        if value.is_number and value < 0:
            return self.n.neg + self.n.number(-value), P.NEGATION
        text = self.n.number(value)
        return text, P.OPERATOR if "/" in text else P.ATOM

    def _print_Differential(self, e):
        return _apply(self.n.differential, (yield from self._paren(e.children[0], P.ATOM))), P.ATOM

    def _print_Broadcast(self, e):
        """A standalone broadcast is c𝟏; inside + and ∘ it prints as the scalar c (see _operand)."""
        c = e.children[0]
        if c is E.ONE:
            return self.n.ones, P.ATOM
        return _cat((yield from self._paren(c, P.PRODUCT, strict=True)), self.n.juxtapose, self.n.ones), P.PRODUCT

    def _operand(self, e: E.Expr) -> E.Expr:
        return e.children[0] if isinstance(e, E.Broadcast) else e

    # sums and products
    def _print_Add(self, e):
        terms = [self._operand(t) for t in e.children]
        transposed = [_untransposed(t) for t in terms]
        if len(terms) > 1 and all(t is not None for t in transposed) and e not in self.names:
            return _apply(self.n.transpose, (yield from self._paren(E.add(*transposed), P.ATOM))), P.POSTFIX
        positive = [t for t in terms if not _is_negative(t)]
        if positive and _is_negative(terms[0]):
            terms.remove(positive[0])
            terms.insert(0, positive[0])
        parts = [(yield from self._paren(terms[0], P.ADD))]
        for t in terms[1:]:
            if _is_negative(t):
                parts += [self.n.sub, (yield from self._paren(E.neg(t), P.ADD, strict=True))]
            else:
                parts += [self.n.add, (yield from self._paren(t, P.ADD, strict=True))]
        return _cat(*parts), P.ADD

    def _print_Product(self, e):
        factors = list(e.children)
        if isinstance(factors[0], E.Const) and factors[0].value.is_number and factors[0].value < 0:
            rest = E.mul(E.const(-factors[0].value), *factors[1:])
            return _cat(self.n.neg, (yield from self._paren(rest, P.NEGATION))), P.NEGATION
        numerator = [f for f in factors if not (f.is_scalar and _positive_power(f) is not None)]
        denominator = [_positive_power(f) for f in factors if f.is_scalar and _positive_power(f) is not None]
        if denominator:
            top = (yield from self._paren(E.mul(*numerator), P.OPERATOR)) if numerator else "1"
            bottom = yield from self._paren(E.mul(*denominator), P.POSTFIX)   # x/(xᵀ x), never x/xᵀ x
            return _apply(self.n.fraction, top, bottom), P.OPERATOR
        parts = []
        for f in factors:
            parts.append((yield from self._paren(f, P.PRODUCT, strict=True)))
        return _join(self.n.juxtapose, parts), P.PRODUCT

    def _print_Hadamard(self, e):
        factors = [self._operand(f) for f in e.children]
        plain = [f for f in factors if _positive_power(f) is None]
        divisors = [_positive_power(f) for f in factors if _positive_power(f) is not None]
        parts = []
        for f in plain:
            parts.append((yield from self._paren(f, P.OPERATOR, strict=True)))
        text = _join(self.n.hadamard, parts) if plain else "1"
        for d in divisors:
            text = _cat(text, self.n.ediv, (yield from self._paren(d, P.OPERATOR, strict=True)))
        return text, P.OPERATOR

    def _print_Kron(self, e):
        parts = []
        for c in e.children:
            parts.append((yield from self._paren(c, P.OPERATOR, strict=True)))
        return _join(self.n.kron, parts), P.OPERATOR

    def _print_Frobenius(self, e):
        a, b = e.children
        if a is b:
            return _apply(self.n.norm_squared, (yield from self._text(a))), P.POSTFIX
        if a is E.ONE:
            return (yield b)
        left = yield from self._paren(a, P.PRODUCT)
        right = yield from self._paren(b, P.PRODUCT)
        return _cat(left, self.n.frobenius, right), P.FROBENIUS

    # postfix
    def _print_Transpose(self, e):
        x = e.children[0]
        if isinstance(x, E.Inverse) and x not in self.names:
            return _apply(self.n.inverse_transpose, (yield from self._paren(x.children[0], P.ATOM))), P.POSTFIX
        return _apply(self.n.transpose, (yield from self._paren(x, P.ATOM))), P.POSTFIX

    def _print_Inverse(self, e):
        return _apply(self.n.inverse, (yield from self._paren(e.children[0], P.ATOM))), P.POSTFIX

    def _print_Power(self, e):
        base, exponent = e.children
        positive = _positive_power(e)
        if positive is not None:
            one = self.n.number(sympy.Integer(1))
            denominator = yield from self._paren(positive, P.OPERATOR, strict=True)
            if e.is_scalar:
                return _apply(self.n.fraction, one, denominator), P.OPERATOR
            return _cat(one, self.n.ediv, denominator), P.OPERATOR
        exp_text = yield from self._text(exponent)
        base_text = yield from self._paren(base, P.ATOM)
        if e.is_scalar:
            return _apply(self.n.power, base_text, exp_text), P.POSTFIX
        return _apply(self.n.elementwise_power, base_text, exp_text), P.POSTFIX

    # functions
    def _print_Elementwise(self, e):
        return _apply(lambda x: self.n.elementwise(e.function, x), (yield from self._text(e.children[0]))), P.ATOM

    def _named(name):
        def method(self, e):
            return _apply(lambda x: self.n.function(name, x), (yield from self._text(e.children[0]))), P.ATOM
        return method

    _print_Det = _named("det")
    _print_LogDet = _named("logdet")
    _print_Trace = _named("tr")
    _print_DiagVec = _named("diag")
    _print_DiagMat = _named("Diag")
    _print_Sum = _named("sum")
    _print_Softmax = _named("softmax")
    _print_LogSumExp = _named("logsumexp")
    del _named

    def _print_Norm(self, e):
        return _apply(self.n.norm, (yield from self._text(e.children[0]))), P.ATOM

    def _print_PartialTrace(self, e):
        which = e.params[0]
        return _apply(lambda x: self.n.partial_trace(which, x), (yield from self._text(e.children[0]))), P.ATOM


def _is_negative(e: E.Expr) -> bool:
    if isinstance(e, E.Const):
        return e.value.is_number and e.value < 0
    return isinstance(e, E.Product) and isinstance(e.children[0], E.Const) and _is_negative(e.children[0])


def _positive_power(e: E.Expr) -> E.Expr | None:
    """For b^(−p) with a negative constant exponent, b^p (written in a denominator); else None."""
    if isinstance(e, E.Power) and isinstance(e.children[1], E.Const) and e.children[1].value.is_number \
            and e.children[1].value < 0:
        return E.power(e.children[0], E.const(-e.children[1].value))
    return None


def _untransposed(e: E.Expr) -> E.Expr | None:
    """x for xᵀ and −x for −xᵀ: lets xᵀ − μᵀ print as (x − μ)ᵀ."""
    if isinstance(e, E.Transpose):
        return e.children[0]
    if isinstance(e, E.Product) and len(e.children) == 2 and isinstance(e.children[0], E.Const) \
            and isinstance(e.children[1], E.Transpose):
        return E.mul(e.children[0], e.children[1].children[0])
    return None


PRINTED_NODES = {cls for cls in E.NODE_TYPES if hasattr(Printer, "_print_" + cls.__name__)}

