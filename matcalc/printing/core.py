"""The printer shared by all targets: structure and parentheses here, spellings in a Notation.

Dispatch is by node class (``_print_<Class>``); each method returns (text, precedence) so that
``parenthesize`` decides brackets in one place. ``names`` maps subexpressions to the names they
print as (user definitions and shared subexpressions, see naming.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

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


class Printer:
    def __init__(self, notation: Notation, names: dict[E.Expr, str] | None = None) -> None:
        self.n = notation
        self.names = names or {}

    def __call__(self, e: E.Expr) -> str:
        return self.visit(e)[0]

    def definition(self, e: E.Expr) -> str:
        """``e`` written out even when it has a name (the right-hand side of ``name = …``)."""
        return getattr(self, "_print_" + type(e).__name__)(e)[0]

    def visit(self, e: E.Expr) -> tuple[str, int]:
        if e in self.names:
            return self.n.name(self.names[e]), P.ATOM
        return getattr(self, "_print_" + type(e).__name__)(e)

    def paren(self, e: E.Expr, level: int, strict: bool = False) -> str:
        text, prec = self.visit(e)
        return self.n.paren(text) if prec < level or (strict and prec == level) else text

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
        return self.n.differential(self.paren(e.children[0], P.ATOM)), P.ATOM

    def _print_Broadcast(self, e):
        """A standalone broadcast is c𝟏; inside + and ∘ it prints as the scalar c (see _operand)."""
        c = e.children[0]
        if c is E.ONE:
            return self.n.ones, P.ATOM
        return self.paren(c, P.PRODUCT, strict=True) + self.n.juxtapose + self.n.ones, P.PRODUCT

    def _operand(self, e: E.Expr) -> E.Expr:
        return e.children[0] if isinstance(e, E.Broadcast) else e

    # sums and products
    def _print_Add(self, e):
        terms = [self._operand(t) for t in e.children]
        transposed = [_untransposed(t) for t in terms]
        if len(terms) > 1 and all(t is not None for t in transposed) and e not in self.names:
            return self.n.transpose(self.paren(E.add(*transposed), P.ATOM)), P.POSTFIX
        positive = [t for t in terms if not _is_negative(t)]
        if positive and _is_negative(terms[0]):
            terms.remove(positive[0])
            terms.insert(0, positive[0])
        parts = [self.paren(terms[0], P.ADD)]
        for t in terms[1:]:
            if _is_negative(t):
                parts.append(self.n.sub + self.paren(E.neg(t), P.ADD, strict=True))
            else:
                parts.append(self.n.add + self.paren(t, P.ADD, strict=True))
        return "".join(parts), P.ADD

    def _print_Product(self, e):
        factors = list(e.children)
        if isinstance(factors[0], E.Const) and factors[0].value.is_number and factors[0].value < 0:
            rest = E.mul(E.const(-factors[0].value), *factors[1:])
            return self.n.neg + self.paren(rest, P.NEGATION), P.NEGATION
        numerator = [f for f in factors if not (f.is_scalar and _positive_power(f) is not None)]
        denominator = [_positive_power(f) for f in factors if f.is_scalar and _positive_power(f) is not None]
        if denominator:
            top = self.paren(E.mul(*numerator), P.OPERATOR) if numerator else "1"
            bottom = self.paren(E.mul(*denominator), P.POSTFIX)   # x/(xᵀ x), never x/xᵀ x
            return self.n.fraction(top, bottom), P.OPERATOR
        parts = [self.paren(f, P.PRODUCT, strict=True) for f in factors]
        return self.n.juxtapose.join(parts), P.PRODUCT

    def _print_Hadamard(self, e):
        factors = [self._operand(f) for f in e.children]
        plain = [f for f in factors if _positive_power(f) is None]
        divisors = [_positive_power(f) for f in factors if _positive_power(f) is not None]
        text = self.n.hadamard.join(self.paren(f, P.OPERATOR, strict=True) for f in plain) if plain else "1"
        for d in divisors:
            text += self.n.ediv + self.paren(d, P.OPERATOR, strict=True)
        return text, P.OPERATOR

    def _print_Kron(self, e):
        return self.n.kron.join(self.paren(c, P.OPERATOR, strict=True) for c in e.children), P.OPERATOR

    def _print_Frobenius(self, e):
        a, b = e.children
        if a is b:
            return self.n.norm_squared(self(a)), P.POSTFIX
        if a is E.ONE:
            return self.visit(b)
        return self.paren(a, P.PRODUCT) + self.n.frobenius + self.paren(b, P.PRODUCT), P.FROBENIUS

    # postfix
    def _print_Transpose(self, e):
        x = e.children[0]
        if isinstance(x, E.Inverse) and x not in self.names:
            return self.n.inverse_transpose(self.paren(x.children[0], P.ATOM)), P.POSTFIX
        return self.n.transpose(self.paren(x, P.ATOM)), P.POSTFIX

    def _print_Inverse(self, e):
        return self.n.inverse(self.paren(e.children[0], P.ATOM)), P.POSTFIX

    def _print_Power(self, e):
        base, exponent = e.children
        positive = _positive_power(e)
        if positive is not None:
            one = self.n.number(sympy.Integer(1))
            if e.is_scalar:
                return self.n.fraction(one, self.paren(positive, P.OPERATOR, strict=True)), P.OPERATOR
            return one + self.n.ediv + self.paren(positive, P.OPERATOR, strict=True), P.OPERATOR
        exp_text = self(exponent)
        if e.is_scalar:
            return self.n.power(self.paren(base, P.ATOM), exp_text), P.POSTFIX
        return self.n.elementwise_power(self.paren(base, P.ATOM), exp_text), P.POSTFIX

    # functions
    def _print_Elementwise(self, e):
        return self.n.elementwise(e.function, self(e.children[0])), P.ATOM

    def _named(name):
        return lambda self, e: (self.n.function(name, self(e.children[0])), P.ATOM)

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
        return self.n.norm(self(e.children[0])), P.ATOM

    def _print_PartialTrace(self, e):
        return self.n.partial_trace(e.params[0], self(e.children[0])), P.ATOM


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

