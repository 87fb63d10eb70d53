"""Scalar sums are simplified by SymPy: ``factor`` finds forms such as 2x(1/(2√a) − sin a)(1 + eˣ²)
or σ − y that term rewriting cannot. Elementwise functions travel as opaque SymPy functions (so
SymPy applies no identities of its own); every other scalar (a definition, xᵀAx, tr(X), det(X) …)
is an opaque symbol. The result is kept only if it is smaller.
"""
from __future__ import annotations

from functools import lru_cache

import sympy

from . import expr as E

_MAX_OPS = 60   # beyond this, factoring costs more than it is worth


def _structural(e: E.Expr) -> bool:
    """Scalar nodes SymPy sees into; any other scalar is an atom to it."""
    if isinstance(e, E.Const):
        return e.value.is_number
    if isinstance(e, (E.Add, E.Power, E.Elementwise)):
        return True
    return isinstance(e, E.Product) and all(c.is_scalar for c in e.children)


def to_sympy(e: E.Expr, atoms: dict[sympy.Symbol, E.Expr]) -> sympy.Expr:
    if isinstance(e, E.Const) and e.value.is_number:
        return e.value
    if not _structural(e):
        for symbol, node in atoms.items():
            if node is e:
                return symbol
        symbol = sympy.Symbol(f"_{len(atoms)}", real=True)
        atoms[symbol] = e
        return symbol
    args = [to_sympy(c, atoms) for c in e.children]
    if isinstance(e, E.Add):
        return sympy.Add(*args)
    if isinstance(e, E.Product):
        return sympy.Mul(*args)
    if isinstance(e, E.Power):
        return sympy.Pow(*args)
    return sympy.Function(e.function)(args[0])


def from_sympy(s: sympy.Expr, atoms: dict[sympy.Symbol, E.Expr]) -> E.Expr:
    if s in atoms:
        return atoms[s]
    if s.is_Number:
        return E.const(s)
    args = [from_sympy(a, atoms) for a in s.args]
    if s.is_Add:
        return E.add(*args)
    if s.is_Mul:
        return E.mul(*args)
    if s.is_Pow:
        return E.power(*args)
    return E.elementwise(type(s).__name__, args[0])


def _structural_size(e: E.Expr) -> int:
    """How many nodes to_sympy would visit (stopping early past the limit); no recursion."""
    count, stack = 0, [e]
    while stack and count <= 4 * _MAX_OPS:
        node = stack.pop()
        count += 1
        if _structural(node):
            stack.extend(node.children)
    return count


@lru_cache(maxsize=4096)
def factor_scalar(e: E.Expr) -> E.Expr:
    """The factored form of a scalar sum when SymPy finds one no larger (a product wins ties)."""
    if _structural_size(e) > 4 * _MAX_OPS:   # checked first, iteratively: to_sympy recurses
        return e
    atoms: dict[sympy.Symbol, E.Expr] = {}
    original = to_sympy(e, atoms)
    if sympy.count_ops(original) > _MAX_OPS:
        return e
    candidates = [sympy.factor_terms(original), sympy.factor(original)]
    best = min(candidates, key=sympy.count_ops)
    size, before = sympy.count_ops(best), sympy.count_ops(original)
    if size < before or (size == before and best.is_Mul and not original.is_Mul):
        return from_sympy(best, atoms)
    return e
