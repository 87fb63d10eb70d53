"""Scalar functions of scalars are simplified by SymPy: ``factor`` finds the textbook form
2x(1/(2√a) − sin a)(1 + eˣ²) that term rewriting cannot. Elementwise functions travel as opaque
SymPy functions (so SymPy applies no identities of its own), definitions as symbols; the result is
kept only if it is smaller.
"""
from __future__ import annotations

from functools import lru_cache

import sympy

from . import expr as E

_LEAVES = (E.Var, E.Const, E.Ref)
_NODES = (E.Add, E.Product, E.Power, E.Elementwise)


def is_scalar_tree(e: E.Expr) -> bool:
    """Built only from scalars with +, ×, powers and elementwise functions."""
    return all(n.is_scalar and isinstance(n, _LEAVES + _NODES) for n in E.walk(e, into_refs=False))


def to_sympy(e: E.Expr, atoms: dict[sympy.Symbol, E.Expr]) -> sympy.Expr:
    if isinstance(e, E.Const):
        return e.value
    if isinstance(e, (E.Var, E.Ref)):
        symbol = sympy.Symbol(f"_{len(atoms)}", real=True)
        for s, node in atoms.items():
            if node is e:
                return s
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


@lru_cache(maxsize=4096)
def factor_scalar(e: E.Expr) -> E.Expr:
    """The factored form of a scalar sum of scalars when SymPy finds a smaller one."""
    atoms: dict[sympy.Symbol, E.Expr] = {}
    original = to_sympy(e, atoms)
    factored = sympy.factor(original)
    if sympy.count_ops(factored) >= sympy.count_ops(original):
        return e
    return from_sympy(factored, atoms)
