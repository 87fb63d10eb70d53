"""The simplifier: a catalogue of small named rules, each with the identity it encodes, driven to a
fixed point by rewrite.Normalizer. The rules only ever shrink or reorder an expression (nothing
distributes), so the system terminates; tests check termination and idempotence on the corpus.

Canonical form: transposes pushed to the leaves (but kept outside inverses and elementwise
functions), numeric coefficients in front, like terms collected, common factors pulled out of sums,
Diag(a)b written a∘b, elementwise powers of one base merged (so y ⊘ ŷ ∘ ŷ = y).
"""
from __future__ import annotations

from collections import defaultdict
import math
import weakref

import sympy

from . import expr as E
from .rewrite import Normalizer, first_of
from .scalar_algebra import factor_scalar

_SYMMETRIC_DOMAINS = ("symmetric", "spd")


# ── structural helpers ────────────────────────────────────────────────────────────────────────

class Key:
    """The structural key of an expression, interned: equal keys are one object, so ``==`` and
    ``hash`` cost O(1) however large the expression. Keys order as the nested tuples
    (type name, params, child keys) would, compared without recursion."""

    __slots__ = ("name", "params", "children", "__weakref__")
    name: str
    params: tuple
    children: tuple["Key", ...]

    def __lt__(self, other: "Key") -> bool:
        return _compare(self, other) < 0

    def __le__(self, other: "Key") -> bool:
        return _compare(self, other) <= 0

    def __gt__(self, other: "Key") -> bool:
        return _compare(self, other) > 0

    def __ge__(self, other: "Key") -> bool:
        return _compare(self, other) >= 0

    def __repr__(self) -> str:
        return f"Key({self.name}, {len(self.children)} children)"


def _compare(a: Key, b: Key) -> int:
    """−1, 0 or 1 as for the tuples (name, params, children): only the first pair of children that
    differ decides, so one loop down one path replaces the tuples' recursion."""
    while a is not b:
        if a.name != b.name:
            return -1 if a.name < b.name else 1
        if a.params != b.params:
            return -1 if a.params < b.params else 1
        for x, y in zip(a.children, b.children):
            if x is not y:
                a, b = x, y
                break
        else:
            return (len(a.children) > len(b.children)) - (len(a.children) < len(b.children))
    return 0


_interned_keys: "weakref.WeakValueDictionary[tuple, Key]" = weakref.WeakValueDictionary()
_keys: "weakref.WeakKeyDictionary[E.Expr, Key]" = weakref.WeakKeyDictionary()


def key(e: E.Expr) -> Key:
    """A structural key in which commutative operands are sorted: equal keys, equal values.
    Shapes are left out: operands compared by it (terms of one sum, factors of one product) share
    their shape already. Built without recursion and cached weakly, so expressions no one holds
    are freed."""
    cached = _keys.get(e)
    if cached is not None:
        return cached
    stack = [e]
    while stack:
        node = stack[-1]
        if node in _keys:
            stack.pop()
            continue
        pending = [c for c in node.children if c not in _keys]
        if pending:
            stack.extend(pending)
            continue
        _keys[node] = _key(node)
        stack.pop()
    return _keys[e]


def _key(e: E.Expr) -> Key:
    """The key of ``e`` from its children's (already computed) keys."""
    children = [_keys[c] for c in e.children]
    if isinstance(e, (E.Add, E.Hadamard, E.Frobenius)):
        children.sort()
    elif isinstance(e, E.Product):
        scalars = sorted(_keys[c] for c in e.children if c.is_scalar)
        children = scalars + [_keys[c] for c in e.children if not c.is_scalar]
    name, params, kids = type(e).__name__, tuple(str(p) for p in e.params), tuple(children)
    identity = (name, params, kids)
    found = _interned_keys.get(identity)
    if found is None:
        found = object.__new__(Key)
        found.name, found.params, found.children = name, params, kids
        _interned_keys[identity] = found
    return found


def split_coefficient(e: E.Expr) -> tuple[sympy.Expr, E.Expr]:
    """``3 A x`` → (3, A x); ``5`` → (5, 1)."""
    if isinstance(e, E.Const):
        return e.value, E.ONE
    if isinstance(e, E.Product) and isinstance(e.children[0], E.Const):
        return e.children[0].value, E.mul(*e.children[1:])
    return sympy.Integer(1), e


_symmetric: "weakref.WeakKeyDictionary[E.Expr, bool]" = weakref.WeakKeyDictionary()


def is_symmetric(e: E.Expr) -> bool:
    """Whether e is symmetric by its structure (and declared domains): S, I, Diag(a), BᵀSB, S⁻¹,
    sums and Hadamard products of such. Worked out children first on an explicit stack, cached."""
    stack = [e]
    while stack:
        node = stack[-1]
        if node in _symmetric:
            stack.pop()
            continue
        pending = [c for c in _symmetry_depends_on(node) if c not in _symmetric]
        if pending:
            stack.extend(pending)
        else:
            _symmetric[node] = _symmetric_here(node)
            stack.pop()
    return _symmetric[e]


def _symmetry_depends_on(e: E.Expr) -> list[E.Expr]:
    if isinstance(e, (E.Inverse, E.Elementwise, E.Power)):
        return [e.children[0]]
    if isinstance(e, (E.Add, E.Hadamard, E.Kron)):
        return list(e.children)
    if isinstance(e, E.Product):
        chain = [c for c in e.children if not c.is_scalar]
        return [chain[len(chain) // 2]] if len(chain) % 2 else []
    return []


def _symmetric_here(e: E.Expr) -> bool:
    """One node, its children's answers already known."""
    if isinstance(e, E.Var):
        return e.domain in _SYMMETRIC_DOMAINS and e.shape[0] == e.shape[1]
    if isinstance(e, (E.Identity, E.DiagMat)):
        return True
    if isinstance(e, (E.Inverse, E.Elementwise, E.Power)):
        return e.shape[0] == e.shape[1] and _symmetric[e.children[0]]
    if isinstance(e, (E.Add, E.Hadamard, E.Kron)):
        return all(_symmetric[c] for c in e.children)
    if isinstance(e, E.Product):   # Bᵀ S B: the chain reads the same transposed
        chain = [c for c in e.children if not c.is_scalar]
        n = len(chain)
        return all(chain[i] is E.transpose(chain[n - 1 - i]) or (2 * i == n - 1 and _symmetric[chain[i]])
                   for i in range((n + 1) // 2))
    return False


def _chain(e: E.Expr) -> tuple[list[E.Expr], list[E.Expr]]:
    """(scalar factors, matrix chain) of a product; any other node is a chain of one."""
    if isinstance(e, E.Product):
        return [c for c in e.children if c.is_scalar], [c for c in e.children if not c.is_scalar]
    return ([e], []) if e.is_scalar else ([], [e])


def _base_exponent(e: E.Expr) -> tuple[E.Expr, E.Expr]:
    if isinstance(e, E.Power):
        return e.children[0], e.children[1]
    return e, E.ONE


def _add_exponents(a: E.Expr, b: E.Expr) -> E.Expr:
    if isinstance(a, E.Const) and isinstance(b, E.Const):
        return E.const(a.value + b.value)
    return E.add(a, b)


# ── transposes ────────────────────────────────────────────────────────────────────────────────

def transpose_inward(e: E.Expr) -> E.Expr:
    """(A + B)ᵀ = Aᵀ + Bᵀ,  (AB)ᵀ = BᵀAᵀ,  (A∘B)ᵀ = Aᵀ∘Bᵀ,  (A⊗B)ᵀ = Aᵀ⊗Bᵀ,  (A.^p)ᵀ = (Aᵀ).^p,
    Sᵀ = S for symmetric S, (c𝟏)ᵀ = c𝟏."""
    if not isinstance(e, E.Transpose):
        return e
    x = e.children[0]
    if is_symmetric(x):
        return x
    if isinstance(x, E.Add):
        return E.add(*(E.transpose(c) for c in x.children))
    if isinstance(x, E.Product):
        scalars, chain = _chain(x)
        return E.mul(*scalars, *(E.transpose(c) for c in reversed(chain)))
    if isinstance(x, E.Hadamard):
        return E.hadamard(*(E.transpose(c) for c in x.children))
    if isinstance(x, E.Kron):
        return E.kron(*(E.transpose(c) for c in x.children))
    if isinstance(x, E.Power):
        return E.power(E.transpose(x.children[0]), x.children[1])
    if isinstance(x, E.Broadcast):
        return E.broadcast(x.children[0], e.shape)
    return e


def transpose_outside_inverse(e: E.Expr) -> E.Expr:
    """(Xᵀ)⁻¹ = (X⁻¹)ᵀ: keeps one X⁻¹ to share."""
    if isinstance(e, E.Inverse) and isinstance(e.children[0], E.Transpose):
        return E.transpose(E.inverse(e.children[0].children[0]))
    return e


def transpose_invariant(e: E.Expr) -> E.Expr:
    """tr(Aᵀ) = tr(A),  det(Aᵀ) = det(A),  log det(Aᵀ) = log det(A),  sum(Aᵀ) = sum(A),  ‖Aᵀ‖ = ‖A‖,
    diag(Aᵀ) = diag(A)."""
    if isinstance(e, (E.Trace, E.Det, E.LogDet, E.Sum, E.Norm, E.DiagVec)) and \
            isinstance(e.children[0], E.Transpose):
        return e.rebuild([e.children[0].children[0]])
    return e


# ── sums ──────────────────────────────────────────────────────────────────────────────────────

def collect_like_terms(e: E.Expr) -> E.Expr:
    """2A + 3A = 5A,  A − A = 0,  a x + b x = (a + b) x for scalars a, b,  c𝟏 + d𝟏 = (c + d)𝟏."""
    if not isinstance(e, E.Add):
        return e
    groups: dict[tuple, list] = {}
    broadcasts = []
    for term in e.children:
        if isinstance(term, E.Broadcast):
            broadcasts.append(term.children[0])
            continue
        scalars, chain = _chain(term)
        if len(chain) == 1 and isinstance(chain[0], E.Broadcast):   # c (b𝟏) = (c b)𝟏
            broadcasts.append(E.mul(*scalars, chain[0].children[0]))
            continue
        if chain:
            core, coefficient = E.mul(*chain), E.mul(*scalars)
        else:
            c, core = split_coefficient(term)
            coefficient = E.const(c)
        groups.setdefault(key(core), [core, []])[1].append(coefficient)
    if len(groups) + min(len(broadcasts), 1) == len(e.children):
        return e
    terms = [E.mul(_sum_of(coefficients), core) for core, coefficients in groups.values()]
    if broadcasts:
        total = _sum_of(broadcasts)
        terms.append(E.zero(e.shape) if total == E.const(0) else E.broadcast(total, e.shape))
    kept = [t for t in terms if not isinstance(t, E.Zero)]
    return E.add(*kept) if kept else E.zero(e.shape)


def _sum_of(scalars: list[E.Expr]) -> E.Expr:
    if all(isinstance(s, E.Const) for s in scalars):
        return E.const(sum((s.value for s in scalars), sympy.Integer(0)))
    return E.add(*scalars)


def common_coefficient(e: E.Expr) -> E.Expr:
    """2A − 2B = 2(A − B),  −A − B = −(A + B): a numeric factor shared by every term comes out."""
    if not isinstance(e, E.Add) or e.is_scalar:
        return e
    coefficients = [split_coefficient(t)[0] for t in e.children]
    if not all(c.is_Rational for c in coefficients):
        return e
    common = sympy.gcd_list(coefficients)
    if all(c < 0 for c in coefficients):
        common = -common
    if common == 1 or common == 0:
        return e
    return E.mul(E.const(common), E.add(*(E.mul(E.const(1 / common), t) for t in e.children)))


def factor_common(e: E.Expr) -> E.Expr:
    """A x + B x = (A + B) x,  x A + x B = x (A + B): an end factor shared by two or more terms is
    pulled out; this is how (A + Aᵀ)x and 2Aᵀ(AX − B) arise."""
    if not isinstance(e, E.Add):
        return e
    for side in (-1, 0):
        groups: dict[E.Expr, list[int]] = defaultdict(list)
        for i, term in enumerate(e.children):
            _, chain = _chain(term)
            if len(chain) > 1:   # a term that is only the factor would leave an I behind
                groups[chain[side]].append(i)
        for factor, members in groups.items():
            if len(members) < 2:
                continue
            rests = []
            for i in members:
                scalars, chain = _chain(e.children[i])
                rests.append(E.mul(*scalars, *(chain[:-1] if side == -1 else chain[1:])))
            inner = E.add(*sorted(rests, key=_reading_order))
            pulled = E.mul(inner, factor) if side == -1 else E.mul(factor, inner)
            return E.add(pulled, *(t for i, t in enumerate(e.children) if i not in members))
    return e


def _reading_order(term: E.Expr) -> tuple:
    """Terms of a pulled-out sum in one order whatever order they arrived in, untransposed first:
    (A + Aᵀ) x, never sometimes (Aᵀ + A) x."""
    _, chain = _chain(term)
    return (sum(isinstance(f, E.Transpose) for f in chain), key(term))


# ── products ──────────────────────────────────────────────────────────────────────────────────

def merge_scalar_powers(e: E.Expr) -> E.Expr:
    """a·a⁻¹ = 1,  a²·a = a³ for scalar factors of a product."""
    if not isinstance(e, E.Product):
        return e
    scalars, chain = _chain(e)
    merged: dict[E.Expr, E.Expr] = {}
    order: list[E.Expr] = []
    for f in scalars:
        base, exponent = _base_exponent(f)
        if isinstance(base, E.Const):
            order.append(f)
            continue
        if base in merged:
            merged[base] = _add_exponents(merged[base], exponent)
        else:
            merged[base] = exponent
            order.append(base)
    if len(order) == len(scalars):
        return e
    factors = [E.power(f, merged[f]) if f in merged else f for f in order]
    return E.mul(*factors, *chain)


def scalar_subchain_out(e: E.Expr) -> E.Expr:
    """a xᵀb = (xᵀb) a: a 1×1 stretch inside a longer chain is a scalar and leaves the chain."""
    if not isinstance(e, E.Product):
        return e
    scalars, chain = _chain(e)
    for i in range(len(chain)):
        if chain[i].shape[0] != 1:
            continue
        for j in range(i + 1, len(chain)):
            if chain[j].shape[1] == 1 and (i, j) != (0, len(chain) - 1):
                inner = E.Product(tuple(chain[i:j + 1]), (), E.SCALAR)
                return E.mul(*scalars, inner, *chain[:i], *chain[j + 1:])
    return e


def inner_product_order(e: E.Expr) -> E.Expr:
    """xᵀa = aᵀx: of the two spellings of an inner product of columns, keep one."""
    if not (isinstance(e, E.Product) and e.is_scalar and len(e.children) == 2):
        return e
    u, v = e.children
    if isinstance(u, E.Transpose) and u.children[0].is_column and v.is_column \
            and not isinstance(v, E.Transpose) and key(v) < key(u.children[0]):
        return E.mul(E.transpose(v), u.children[0])
    return e


def _adjacent(e: E.Expr, combine) -> E.Expr:
    """Rewrite the first adjacent pair (a, b) of a product's chain for which ``combine(a, b)``
    returns replacement factors (an empty list removes the pair) instead of None."""
    if not isinstance(e, E.Product):
        return e
    scalars, chain = _chain(e)
    for i in range(len(chain) - 1):
        new = combine(chain[i], chain[i + 1])
        if new is not None:
            rest = chain[:i] + new + chain[i + 2:]
            return E.mul(*scalars, *(rest or [E.identity(chain[i].shape[0])]))
    return e


def cancel_inverses(e: E.Expr) -> E.Expr:
    """X X⁻¹ = X⁻¹ X = I inside a chain."""
    def pair(a: E.Expr, b: E.Expr):
        a, b = _untransposed_pair(a, b)
        inverse_pair = (isinstance(b, E.Inverse) and b.children[0] is a) or \
            (isinstance(a, E.Inverse) and a.children[0] is b)
        return [] if inverse_pair else None
    return _adjacent(e, pair)


def _untransposed_pair(a: E.Expr, b: E.Expr) -> tuple[E.Expr, E.Expr]:
    """Aᵀ (A⁻¹)ᵀ = (A⁻¹ A)ᵀ: a pair of transposes cancels exactly when the plain pair does."""
    if isinstance(a, E.Transpose) and isinstance(b, E.Transpose):
        return b.children[0], a.children[0]
    return a, b


def kron_mixed_product(e: E.Expr) -> E.Expr:
    """(A ⊗ B)(C ⊗ D) = AC ⊗ BD when the factors chain."""
    def pair(a: E.Expr, b: E.Expr):
        if isinstance(a, E.Kron) and isinstance(b, E.Kron):
            (A, B), (C, D) = a.children, b.children
            if A.shape[1] == C.shape[0] and B.shape[1] == D.shape[0]:
                return [E.kron(E.mul(A, C), E.mul(B, D))]
        return None
    return _adjacent(e, pair)


def kron_inverse(e: E.Expr) -> E.Expr:
    """(A ⊗ B)⁻¹ = A⁻¹ ⊗ B⁻¹ for square A and B (a 5×1 ⊗ 1×5 product is square, its factors not)."""
    if isinstance(e, E.Inverse) and isinstance(e.children[0], E.Kron) and \
            all(c.shape[0] == c.shape[1] for c in e.children[0].children):
        return E.kron(*(E.inverse(c) for c in e.children[0].children))
    return e


def partial_trace_rules(e: E.Expr) -> E.Expr:
    """tr₂(A ⊗ B) = tr(B) A,  tr₁(A ⊗ B) = tr(A) B,  tr(c M) = c tr(M),  tr(M + N) = tr(M) + tr(N),
    and tr₁(I) = n I = tr₂(I) for the identity seen as a grid of identity blocks."""
    if not isinstance(e, E.PartialTrace):
        return e
    which, a, b, c, d = e.params
    x = e.children[0]
    def again(m: E.Expr) -> E.Expr:
        return E.partial_trace(m, which, (a, b), (c, d))
    if isinstance(x, E.Kron) and x.children[0].shape == (a, b) and x.children[1].shape == (c, d):
        A, B = x.children
        return E.mul(E.trace(B), A) if which == 2 else E.mul(E.trace(A), B)
    if isinstance(x, E.Identity):
        return E.mul(E.const(c if which == 2 else a), E.identity(a if which == 2 else c))
    if isinstance(x, E.Add):
        return E.add(*(again(t) for t in x.children))
    scalars, chain = _chain(x)
    if isinstance(x, E.Product) and scalars:
        return E.mul(*scalars, again(E.mul(*chain)))
    return e


def diag_times_vector(e: E.Expr) -> E.Expr:
    """Diag(a) b = a ∘ b,  bᵀ Diag(a) = bᵀ ∘ aᵀ,  Diag(a) Diag(b) = Diag(a ∘ b)."""
    def pair(a: E.Expr, b: E.Expr):
        if isinstance(a, E.DiagMat) and isinstance(b, E.DiagMat):
            return [E.diag_mat(E.hadamard(_as_column(a.children[0]), _as_column(b.children[0])))]
        if isinstance(a, E.DiagMat) and b.is_column:
            return [E.hadamard(_as_column(a.children[0]), b)]
        if isinstance(b, E.DiagMat) and a.is_row:
            return [E.hadamard(a, E.transpose(_as_column(b.children[0])))]
        return None
    return _adjacent(e, pair)


def _as_column(v: E.Expr) -> E.Expr:
    return v if v.is_column or v.is_scalar else E.transpose(v)


def inner_product_cancellation(e: E.Expr) -> E.Expr:
    """uᵀ(a ⊘ u) = sum(a), and its row-vector twin: an inner product in which a base cancels."""
    if not (isinstance(e, E.Product) and e.is_scalar):
        return e
    scalars, chain = _chain(e)
    if len(chain) != 2 or not (chain[0].is_row and chain[1].is_column):
        return e
    left, right = chain
    # Both as columns when the left is a transposed column, else both as rows.
    u, v = (_transposed(left), right) if isinstance(left, E.Transpose) else (left, _transposed(right))
    exponents: dict[E.Expr, list] = defaultdict(list)
    for f in _hadamard_factors(u) + _hadamard_factors(v):
        base, exponent = _base_exponent(f)
        exponents[base].append(exponent)
    cancels = any(all(isinstance(x, E.Const) for x in xs) and len(xs) > 1 and sum(x.value for x in xs) == 0
                  for xs in exponents.values())
    if not cancels:
        return e
    return E.mul(*scalars, E.total(merge_hadamard_powers(E.hadamard(u, v))))


def _transposed(e: E.Expr) -> E.Expr:
    """eᵀ with the transpose pushed down as far as transpose_inward goes."""
    t = transpose_inward(E.transpose(e))
    if isinstance(t, E.Transpose):
        return t
    return t.rebuild(_transposed(c.children[0]) if isinstance(c, E.Transpose) else c for c in t.children)


def frobenius_as_product(e: E.Expr) -> E.Expr:
    """a : b = aᵀb for column vectors (a bᵀ for rows); a : a stays, printed ‖a‖²."""
    if not isinstance(e, E.Frobenius):
        return e
    a, b = e.children
    if a is b or not a.is_vector:
        return e
    return E.mul(E.transpose(a), b) if a.is_column else E.mul(a, E.transpose(b))


def frobenius_scalars_out(e: E.Expr) -> E.Expr:
    """(a A) : B = a (A : B) = A : (a B)."""
    if not isinstance(e, E.Frobenius):
        return e
    pulled, sides = [], []
    for side in e.children:
        scalars, chain = _chain(side)
        if isinstance(side, E.Product) and scalars:
            pulled.extend(scalars)
            sides.append(E.mul(*chain))
        else:
            sides.append(side)
    return E.mul(*pulled, E.frobenius(*sides)) if pulled else e


def differential_on_the_right(e: E.Expr) -> E.Expr:
    """dA : B = B : dA, the orientation a derivation reads in."""
    if isinstance(e, E.Frobenius) and _has_differential(e.children[0]) and not _has_differential(e.children[1]):
        return E.frobenius(e.children[1], e.children[0])
    return e


def _has_differential(e: E.Expr) -> bool:
    return any(isinstance(n, E.Differential) for n in E.walk(e, into_refs=False))


def trace_rotation(e: E.Expr) -> E.Expr:
    """tr(c I) = c n,  tr(x yᵀ) = yᵀx: a trace whose chain starts with a column becomes a scalar."""
    if not isinstance(e, E.Trace):
        return e
    x = e.children[0]
    if isinstance(x, E.Identity):
        return E.const(x.shape[0])
    scalars, chain = _chain(x)
    if chain and chain[0].is_column:
        return E.mul(*scalars, *chain[1:], chain[0])
    if len(chain) == 1 and isinstance(chain[0], E.Identity) and scalars:
        return E.mul(*scalars, E.const(chain[0].shape[0]))
    return e


# ── Hadamard products and powers ──────────────────────────────────────────────────────────────

def _hadamard_factors(e: E.Expr) -> tuple[E.Expr, ...]:
    return e.children if isinstance(e, E.Hadamard) else (e,)


def merge_hadamard_powers(e: E.Expr) -> E.Expr:
    """a ∘ a = a.^2,  (y ⊘ ŷ) ∘ ŷ = y: factors with one base add their exponents."""
    if not isinstance(e, E.Hadamard):
        return e
    merged: dict[E.Expr, E.Expr] = {}
    order: list[E.Expr] = []
    for f in e.children:
        base, exponent = _base_exponent(f)
        if base in merged:
            merged[base] = _add_exponents(merged[base], exponent)
        else:
            merged[base] = exponent
            order.append(base)
    if len(order) == len(e.children):
        return e
    return E.hadamard(*(E.power(b, merged[b]) for b in order))


def hadamard_scalars_out(e: E.Expr) -> E.Expr:
    """(c A) ∘ B = c (A ∘ B),  (c𝟏) ∘ B = c B: scalar factors leave the Hadamard product."""
    if not isinstance(e, E.Hadamard):
        return e
    pulled: list[E.Expr] = []
    factors = []
    for f in e.children:
        if isinstance(f, E.Broadcast):
            pulled.append(f.children[0])
            continue
        scalars, chain = _chain(f)
        if isinstance(f, E.Product) and scalars:
            pulled.extend(scalars)
            factors.append(E.mul(*chain))
        else:
            factors.append(f)
    if not pulled:
        return e
    if not factors:
        return E.broadcast(E.mul(*pulled), e.shape)
    return E.mul(*pulled, E.hadamard(*factors))


def power_rules(e: E.Expr) -> E.Expr:
    """(a.^p).^k = a.^(pk),  (a∘b).^k = a.^k ∘ b.^k,  (c A).^k = c^k A.^k and (a b)^k = a^k b^k
    for integer k,  (c𝟏).^p = c^p 𝟏."""
    if not isinstance(e, E.Power):
        return e
    base, exponent = e.children
    k = exponent.value if isinstance(exponent, E.Const) else None
    if isinstance(base, E.Power) and k is not None and k.is_integer:
        inner, p = base.children
        return E.power(inner, E.mul(p, exponent) if not isinstance(p, E.Const) else E.const(p.value * k))
    if isinstance(base, E.Broadcast):
        return E.broadcast(E.power(base.children[0], exponent), e.shape)
    if isinstance(base, E.Hadamard) and k is not None and k.is_integer:   # (a∘b).^k = a.^k ∘ b.^k
        return E.hadamard(*(E.power(f, exponent) for f in base.children))
    if isinstance(base, E.Product) and k is not None and k.is_integer and not e.is_scalar:
        scalars, chain = _chain(base)
        if scalars and len(chain) == 1:
            return E.mul(*(E.power(s, exponent) for s in scalars), E.power(chain[0], exponent))
    if isinstance(base, E.Product) and k is not None and k.is_integer and e.is_scalar \
            and all(f.is_scalar for f in base.children):      # (a b)^k = a^k b^k
        return E.mul(*(E.power(f, exponent) for f in base.children))
    if isinstance(base, E.Const) and base.value.is_negative is False and k is not None:
        return E.const(base.value ** k)
    return e


def inverse_functions(e: E.Expr) -> E.Expr:
    """log(exp(x)) = x,  exp(log(x)) = x."""
    if isinstance(e, E.Elementwise) and isinstance(e.children[0], E.Elementwise):
        inner = e.children[0]
        if {e.function, inner.function} == {"log", "exp"}:
            return inner.children[0]
    return e


# ── reductions ────────────────────────────────────────────────────────────────────────────────

def sum_rules(e: E.Expr) -> E.Expr:
    """sum(y) = 1 for y in a simplex (or one-hot),  sum(c𝟏) = c·m·n,  sum(c A) = c sum(A)."""
    if not isinstance(e, E.Sum):
        return e
    x = e.children[0]
    if isinstance(x, E.Var) and x.domain in ("simplex", "onehot"):
        return E.ONE
    if isinstance(x, E.Broadcast):
        return E.mul(E.const(x.shape[0] * x.shape[1]), x.children[0])
    if isinstance(x, E.Product):
        scalars, chain = _chain(x)
        if scalars:
            return E.mul(*scalars, E.total(E.mul(*chain)))
    return e


def absorb_negation(e: E.Expr) -> E.Expr:
    """−(b − a) x = (a − b) x: a negative coefficient is absorbed by a scalar difference, (σ − y)x."""
    if not isinstance(e, E.Product):
        return e
    coefficient, _ = split_coefficient(e)
    if not (coefficient.is_number and coefficient < 0):
        return e
    scalars, _ = _chain(e)
    for f in scalars:
        if isinstance(f, E.Add) and len(f.children) == 2 and _negative(f.children[1]) \
                and not _negative(f.children[0]):
            flipped = E.add(E.neg(f.children[1]), E.neg(f.children[0]))
            return E.mul(E.const(-coefficient), *(flipped if c is f else c for c in e.children[1:]))
    return e


def _negative(e: E.Expr) -> bool:
    c, _ = split_coefficient(e)
    return c.is_number and c < 0


_EXPANSION_LIMIT = 16     # at most this many terms once multiplied out
_EXPANSION_FACTORS = 8    # only Hadamard products of at most this many factors are tried …
_EXPANSION_SUMS = 3       # … with at most this many sums among them
_expansions: "weakref.WeakKeyDictionary[E.Expr, weakref.ref]" = weakref.WeakKeyDictionary()
_plain: list[Normalizer] = []


def expand_if_smaller(e: E.Expr) -> E.Expr:
    """(1 − y) ∘ s ∘ u ⊘ u − y ∘ s ∘ u ⊘ s = s − y: multiply a Hadamard sum out, collect, and keep
    the result only if it is smaller (so this never grows an expression).

    Bounded, so that simplification stays linear: only small products with few, short sums are
    tried; the candidate is simplified without trying expansions inside it again (which made
    σ(σ(…)) exponential in depth); and each product is tried once (remembered weakly)."""
    if not isinstance(e, E.Hadamard) or len(e.children) > _EXPANSION_FACTORS:
        return e
    sums = [f for f in e.children if isinstance(f, E.Add)]
    if not sums or len(sums) > _EXPANSION_SUMS or \
            math.prod(len(f.children) for f in sums) > _EXPANSION_LIMIT:
        return e
    done = _expansions.get(e)
    if done is not None and done() is not None:
        return done()
    result = e
    terms = _expand(e)
    if terms is not None:
        expanded = _simplify_candidate(E.add(*terms))
        cancelled = len(expanded.children if isinstance(expanded, E.Add) else (expanded,)) < len(terms)
        if cancelled and _size(expanded) < _size(e):
            result = expanded
    _expansions[e] = weakref.ref(result)
    return result


def _simplify_candidate(e: E.Expr) -> E.Expr:
    """``simplify`` without expand_if_smaller (a Normalizer of its own, so that its memo never
    answers for the full rule set)."""
    if not _plain:
        _plain.append(Normalizer(first_of(*(r for r in RULES.rules if r is not expand_if_smaller))))
    return _plain[0](e)


def _expand(e: E.Expr) -> list[E.Expr] | None:
    """The terms of ``e`` with Hadamard products distributed over sums, one sum at a time and
    simplifying as it goes (so u ⊘ u cancels before u is multiplied out); None past the limit.
    A worklist in left-to-right order; ``scale`` holds the numeric factors met on the way."""
    out: list[E.Expr] = []
    work: list[tuple[tuple[E.Expr, ...], E.Expr]] = [((), e)]
    while work:
        scale, x = work.pop()
        if isinstance(x, E.Add):
            work.extend((scale, t) for t in reversed(x.children))
            continue
        if isinstance(x, E.Product) and len(x.children) == 2 and isinstance(x.children[0], E.Const):
            work.append((scale + (x.children[0],), x.children[1]))
            continue
        if isinstance(x, E.Hadamard):
            sums = [f for f in x.children if isinstance(f, E.Add)]
            if sums:
                others = [f for f in x.children if f is not sums[0]]
                work.append((scale, E.add(*(_simplify_candidate(E.hadamard(t, *others))
                                            for t in sums[0].children))))
                continue
        for c in reversed(scale):
            x = E.mul(c, x)
        out.append(x)
        if len(out) > _EXPANSION_LIMIT:
            return None
    return out


def _size(e: E.Expr, memo: dict | None = None) -> int:
    """Tree size (a definition counts one); cached weakly across calls (``memo`` is unused)."""
    return E.tree_size(e)


def factor_scalars(e: E.Expr) -> E.Expr:
    """A scalar sum of scalar functions, factored by SymPy: 2x eˣ + 2x = 2x(eˣ + 1); the scalar
    factors of a product together when one is a sum: p(p − 1)(y/p + (y − 1)/(1 − p)) = p − y."""
    if isinstance(e, E.Add) and e.is_scalar:
        return factor_scalar(e)
    if isinstance(e, E.Product):
        scalars, chain = _chain(e)
        symbolic = [f for f in scalars if not isinstance(f, E.Const)]
        if len(symbolic) > 1 and any(isinstance(f, E.Add) for f in symbolic):   # not just 2 (a + b)
            together = E.Product(tuple(scalars), (), E.SCALAR)
            factored = factor_scalar(together)
            if len(E.walk(factored)) < len(E.walk(together)):   # strictly smaller, so it settles
                return E.mul(factored, *chain)
    return e


def diag_sums(e: E.Expr) -> E.Expr:
    """a Diag(u) + b Diag(v) = Diag(a u + b v): one diagonal, never a sum of n×n matrices."""
    if not isinstance(e, E.Add):
        return e
    diagonals, others = [], []
    for term in e.children:
        scalars, chain = _chain(term)
        if len(chain) == 1 and isinstance(chain[0], E.DiagMat):
            diagonals.append(E.mul(*scalars, _as_column(chain[0].children[0])))
        else:
            others.append(term)
    if len(diagonals) < 2:
        return e
    return E.add(E.diag_mat(E.add(*diagonals)), *others)


def diag_rules(e: E.Expr) -> E.Expr:
    """diag(Diag(a)) = a,  diag(c I) = c𝟏,  Diag(c𝟏) = c I."""
    if isinstance(e, E.DiagMat) and isinstance(e.children[0], E.Broadcast):
        return E.mul(e.children[0].children[0], E.identity(e.shape[0]))
    if not isinstance(e, E.DiagVec):
        return e
    x = e.children[0]
    if isinstance(x, E.DiagMat):
        return _as_column(x.children[0])
    if isinstance(x, E.Identity):
        return E.ones(e.shape)
    return e


_COMMON = (
    transpose_inward, transpose_outside_inverse, transpose_invariant,
    collect_like_terms, common_coefficient, factor_common,
    merge_scalar_powers, scalar_subchain_out, inner_product_order, cancel_inverses,
    kron_mixed_product, kron_inverse, partial_trace_rules, diag_times_vector, inner_product_cancellation,
    trace_rotation, frobenius_scalars_out, merge_hadamard_powers, hadamard_scalars_out, power_rules, inverse_functions,
    sum_rules, diag_sums, diag_rules, factor_scalars, absorb_negation, expand_if_smaller,
)
RULES = first_of(*_COMMON, frobenius_as_product)
# Differentials keep their Frobenius products, written G : dX, as in a derivation by hand.
DIFFERENTIAL_RULES = first_of(*_COMMON, differential_on_the_right)


_CANONICAL = Normalizer(RULES)
_TIDY = Normalizer(DIFFERENTIAL_RULES)


def simplify(e: E.Expr) -> E.Expr:
    """The canonical compact form of ``e``."""
    return _CANONICAL(e)


def tidy_differential(e: E.Expr) -> E.Expr:
    """A differential in readable form: simplified, but ``A : dX`` stays a Frobenius product."""
    return _TIDY(e)
