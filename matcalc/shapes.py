"""Symbolic dimensions and their unification.

A dimension is a sympy expression: an integer, a *rigid* symbol the user declared (``n`` in
``W in R^(n,m)``), a *free* placeholder that inference may bind, or a product of those (Kronecker
shapes). Unifying two rigid values that differ fails — symbolic n ≠ p never passes silently.
"""
from __future__ import annotations

import sympy

Dim = sympy.Expr
ShapePair = tuple[sympy.Expr, sympy.Expr]

# Names handed to dimensions that inference leaves open, in order of first appearance.
_DIM_NAMES = ("n", "m", "p", "q", "k", "l", "r", "s", "t", "u", "v", "w")


def rigid(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, positive=True, integer=True)


class Dims:
    """The unifier: a substitution from free placeholders to dimension expressions."""

    def __init__(self) -> None:
        self._binding: dict[sympy.Dummy, sympy.Expr] = {}
        self._free: list[sympy.Dummy] = []
        self._final: dict[sympy.Dummy, sympy.Expr] | None = None

    def fresh(self) -> sympy.Dummy:
        d = sympy.Dummy("d", positive=True, integer=True)
        self._free.append(d)
        return d

    def resolve(self, d: Dim) -> sympy.Expr:
        d = sympy.sympify(d)
        if isinstance(d, sympy.Dummy):
            return self._find(d)
        free = [s for s in d.free_symbols if isinstance(s, sympy.Dummy) and s in self._binding]
        if not free:
            return d
        return d.xreplace({s: self._find(s) for s in free})

    def _find(self, d: sympy.Dummy) -> sympy.Expr:
        """The value of a placeholder, following chains of bindings without recursion on their
        length, and shortening them as it goes (union-find's path compression): a program with
        10⁴ additions binds 10⁴ placeholders in a chain, each looked up many times."""
        path = []
        value: sympy.Expr = d
        while isinstance(value, sympy.Dummy) and value in self._binding:
            path.append(value)
            value = self._binding[value]
        if not isinstance(value, sympy.Dummy):
            inner = [s for s in value.free_symbols if isinstance(s, sympy.Dummy) and s in self._binding]
            if inner:
                value = value.xreplace({s: self._find(s) for s in inner})
        for p in path:
            self._binding[p] = value
        return value

    def is_free(self, d: Dim) -> bool:
        r = self.resolve(d)
        return isinstance(r, sympy.Dummy)

    def is_one(self, d: Dim) -> bool:
        return self.resolve(d) == 1

    def unify(self, a: Dim, b: Dim) -> bool:
        """Make ``a`` and ``b`` equal if possible; False when they are provably different."""
        ra, rb = self.resolve(a), self.resolve(b)
        if ra == rb:
            return True
        for x, y in ((ra, rb), (rb, ra)):
            if isinstance(x, sympy.Dummy) and x not in y.free_symbols:
                self._binding[x] = y
                return True
        free = [s for s in (ra - rb).free_symbols if isinstance(s, sympy.Dummy)]
        if len(free) == 1:
            # only whole sizes: n·d = p has no solution d = p/n unless p/n is known to be an integer
            solutions = [v for v in sympy.solve(sympy.Eq(ra, rb), free[0])
                         if v.is_positive is not False and v.is_integer is True]
            if len(solutions) == 1:
                self._binding[free[0]] = solutions[0]
                return True
        return False

    def finalize(self, taken: set[str]) -> None:
        """Give every still-free placeholder a readable name (n, m, p …) not used by the user."""
        names = (name for name in _DIM_NAMES + tuple(f"n{i}" for i in range(1, 100)) if name not in taken)
        self._final = {}
        for d in self._free:
            r = self.resolve(d)
            for s in sorted((s for s in r.free_symbols if isinstance(s, sympy.Dummy)),
                            key=self._free.index):
                if s not in self._final:
                    self._final[s] = rigid(next(names))

    def final(self, d: Dim) -> int | sympy.Expr:
        assert self._final is not None, "finalize() first"
        r = self.resolve(d).xreplace(self._final)
        return int(r) if r.is_Integer else r


def describe_shape(shape: tuple) -> str:
    """``5×4``; vectors and scalars say what they are."""
    r, c = shape
    if r == 1 and c == 1:
        return "a scalar"
    if c == 1:
        return f"a column vector of length {r}"
    if r == 1:
        return f"a row vector of length {c}"
    return f"{r}×{c}"
