"""The typed IR: immutable, hash-consed expression nodes with symbolic shapes.

Equal subtrees are one object (``a is b`` ⇔ structurally equal), so sharing is free and caches can
key on identity. Nodes hold data only; the rules for each node type (shape, differential, adjoint,
printing, code) live in the pass modules, in tables keyed by node class.

Shapes are ``(rows, cols)`` of ints or sympy symbols. Every value is two-dimensional: a column
vector is n×1, a row vector 1×n and a scalar 1×1 — so one product rule covers every case.

The constructors below (``add``, ``mul``, ``hadamard`` …) only flatten and drop neutral elements;
everything smarter is a named rule in simplify.py.
"""
from __future__ import annotations

import weakref
from typing import Union
from collections.abc import Iterable

import sympy

from .errors import UnsupportedError

Dim = Union[int, sympy.Expr]
Shape = tuple[Dim, Dim]
SCALAR: Shape = (1, 1)

_interned: "weakref.WeakValueDictionary[tuple, Expr]" = weakref.WeakValueDictionary()


def _is_one(d: Dim) -> bool:
    return d == 1 if type(d) is int else bool(d == 1)


class Expr:
    """Base node: ``children`` are sub-expressions, ``params`` hashable data, ``shape`` the result."""

    __slots__ = ("children", "params", "shape", "is_scalar", "is_column", "is_row", "__weakref__")
    children: tuple["Expr", ...]
    params: tuple
    shape: Shape
    is_scalar: bool    # 1×1; the three flags are worked out once, at construction, because
    is_column: bool    # comparing a sympy dimension with 1 costs microseconds and they are
    is_row: bool       # asked millions of times

    def __new__(cls, children: tuple["Expr", ...], params: tuple, shape: Shape):
        key = (cls, children, params, shape)
        node = _interned.get(key)
        if node is None:
            node = object.__new__(cls)
            object.__setattr__(node, "children", children)
            object.__setattr__(node, "params", params)
            object.__setattr__(node, "shape", shape)
            rows_one, cols_one = _is_one(shape[0]), _is_one(shape[1])
            object.__setattr__(node, "is_scalar", rows_one and cols_one)
            object.__setattr__(node, "is_column", cols_one and not rows_one)
            object.__setattr__(node, "is_row", rows_one and not cols_one)
            _interned[key] = node
        return node

    def __setattr__(self, name, value):
        raise AttributeError("expressions are immutable")

    def __reduce__(self):
        raise TypeError("expressions are interned; rebuild them rather than pickling")

    @property
    def is_vector(self) -> bool:
        return self.is_column or self.is_row

    def rebuild(self, children: Iterable["Expr"]) -> "Expr":
        """The same node over new children (through the smart constructor of its class)."""
        return REBUILD[type(self)](self, tuple(children))

    def __repr__(self) -> str:
        # Iterative, so a deep expression has a repr too: ``Type(params…, children…)``.
        parts: list[str] = []
        stack: list[object] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
                continue
            node: Expr = item   # type: ignore[assignment]
            pending: list[object] = [f"{type(node).__name__}("]
            for i, x in enumerate([*map(repr, node.params), *node.children]):
                pending.extend([", "] * (i > 0) + [x])
            pending.append(")")
            stack.extend(reversed(pending))
        return "".join(parts)


# ── leaves ────────────────────────────────────────────────────────────────────────────────────────

class Var(Expr):
    """A free variable. ``domain``: real, positive, symmetric, spd, simplex or onehot."""
    __slots__ = ()

    @property
    def name(self) -> str:
        return self.params[0]

    @property
    def domain(self) -> str:
        return self.params[1]


class Const(Expr):
    """A scalar constant: a sympy number or an expression in dimension symbols (e.g. ``n``)."""
    __slots__ = ()

    @property
    def value(self) -> sympy.Expr:
        return self.params[0]


class Identity(Expr):
    __slots__ = ()


class Zero(Expr):
    __slots__ = ()


class Differential(Expr):
    """The placeholder ``d(child)`` in a differential: the tangent of ``child``."""
    __slots__ = ()


class Ref(Expr):
    """A user definition: prints as its name, evaluates as its body (the only child)."""
    __slots__ = ()

    @property
    def name(self) -> str:
        return self.params[0]


# ── operations ────────────────────────────────────────────────────────────────────────────────────

class Add(Expr):
    __slots__ = ()


class Product(Expr):
    """Scalar factors (1×1, commuting) times a chain of matrix products, in order."""
    __slots__ = ()


class Hadamard(Expr):
    __slots__ = ()


class Broadcast(Expr):
    """A scalar child repeated over ``shape`` (``1 − s`` is Add(Broadcast(1), −s))."""
    __slots__ = ()


class Transpose(Expr):
    __slots__ = ()


class Elementwise(Expr):
    """A scalar function applied entry by entry; ``params[0]`` names its row in functions.py."""
    __slots__ = ()

    @property
    def function(self) -> str:
        return self.params[0]


class Power(Expr):
    """Elementwise ``base .^ exponent`` with a scalar exponent (the ordinary power for scalars)."""
    __slots__ = ()


class Inverse(Expr):
    __slots__ = ()


class Det(Expr):
    __slots__ = ()


class LogDet(Expr):
    __slots__ = ()


class Trace(Expr):
    __slots__ = ()


class DiagVec(Expr):
    """``diag(A)``: the diagonal of a square matrix as a column vector."""
    __slots__ = ()


class DiagMat(Expr):
    """``Diag(v)``: the diagonal matrix with the entries of a vector."""
    __slots__ = ()


class Sum(Expr):
    """The sum of all entries."""
    __slots__ = ()


class Softmax(Expr):
    __slots__ = ()


class LogSumExp(Expr):
    __slots__ = ()


class Norm(Expr):
    """The 2-norm of a vector, the Frobenius norm of a matrix."""
    __slots__ = ()


class Kron(Expr):
    __slots__ = ()


class Frobenius(Expr):
    """``A : B = Σ A∘B``."""
    __slots__ = ()


class PartialTrace(Expr):
    """The adjoint of a Kronecker factor. ``params = (which, a, b, c, d)``: the child is viewed as
    an a×b grid of c×d blocks; ``which == 2`` traces each block (c = d), giving a×b, and
    ``which == 1`` sums the diagonal blocks (a = b), giving c×d."""
    __slots__ = ()


# ── constructors ──────────────────────────────────────────────────────────────────────────────────

def var(name: str, shape: Shape, domain: str = "real") -> Var:
    return Var((), (name, domain), shape)


def const(value) -> Const:
    return Const((), (sympy.sympify(value),), SCALAR)


ONE = const(1)
MINUS_ONE = const(-1)


def identity(n: Dim) -> Expr:
    return ONE if n == 1 else Identity((), (), (n, n))


def zero(shape: Shape) -> Zero:
    return Zero((), (), shape)


def differential(of: Expr) -> Differential:
    return Differential((of,), (), of.shape)


def ref(name: str, body: Expr) -> Ref:
    return Ref((body,), (name,), body.shape)


def broadcast(scalar: Expr, shape: Shape) -> Expr:
    if shape == SCALAR or isinstance(scalar, Zero):
        return scalar if shape == SCALAR else zero(shape)
    return Broadcast((scalar,), (), shape)


def ones(shape: Shape) -> Expr:
    return broadcast(ONE, shape)


def _check_same(op: str, items: tuple[Expr, ...]) -> Shape:
    shape = items[0].shape
    for item in items[1:]:
        if item.shape != shape:
            raise AssertionError(f"{op}: shape {item.shape} != {shape}")
    return shape


def _flatten(op: str, cls: type, items: tuple[Expr, ...]) -> tuple[list[Expr], Shape]:
    """The operands of an n-ary ``cls`` with nested ``cls`` nodes spliced in, and their shape.
    A nested node's operands were checked when it was built, so splicing is a C-level copy: adding
    one term to a long sum costs one copy, not a Python loop over every term."""
    shape = items[0].shape
    flat: list[Expr] = []
    for item in items:
        if item.shape != shape:
            raise AssertionError(f"{op}: shape {item.shape} != {shape}")
        if isinstance(item, cls):
            flat.extend(item.children)
        else:
            flat.append(item)
    return flat, shape


def add(*terms: Expr) -> Expr:
    flat, shape = _flatten("add", Add, terms)
    nothing = zero(shape)
    kept = [t for t in flat if t is not nothing] if nothing in flat else flat
    if not kept:
        return nothing
    return kept[0] if len(kept) == 1 else Add(tuple(kept), (), shape)


def chain_shape(factors: Iterable[Expr]) -> Shape:
    """The shape of a product: scalars scale, the rest must chain."""
    chain = [f.shape for f in factors if not f.is_scalar]
    if not chain:
        return SCALAR
    for left, right in zip(chain, chain[1:]):
        if left[1] != right[0]:
            raise AssertionError(f"product: {left} times {right}")
    return (chain[0][0], chain[-1][1])


def mul(*factors: Expr) -> Expr:
    """Product of scalars and matrices; flattens, folds numeric constants, drops ones and identities."""
    flat: list[Expr] = []
    has_chain = any(not f.is_scalar for f in factors)
    for factor in factors:
        # A 1×1 chain such as xᵀa stays one scalar factor beside other matrices: splicing its
        # row and column into their chain would change the meaning.
        keep_whole = isinstance(factor, Product) and factor.is_scalar and has_chain and \
            any(not f.is_scalar for f in factor.children)
        if keep_whole:   # its scalar factors still join the others
            flat.extend(c for c in factor.children if c.is_scalar)
            flat.append(Product(tuple(c for c in factor.children if not c.is_scalar), (), SCALAR))
        elif isinstance(factor, Product):
            flat.extend(factor.children)
        else:
            flat.append(factor)
    shape = chain_shape(flat)
    if any(isinstance(f, Zero) for f in flat):
        return zero(shape)
    coefficient = sympy.Integer(1)
    rest: list[Expr] = []
    for f in flat:
        if isinstance(f, Const):
            coefficient *= f.value
        else:
            rest.append(f)
    if coefficient == 0:
        return zero(shape)
    chain = [f for f in rest if f.is_scalar or not isinstance(f, Identity)]
    if not any(not f.is_scalar for f in chain) and shape != SCALAR:
        chain.append(identity(shape[0]))  # a scaled identity: keep one I
    items = ([const(coefficient)] if coefficient != 1 else []) + chain
    if not items:
        return ONE
    if len(items) == 1:
        return items[0]
    scalars = [f for f in items if f.is_scalar]
    matrices = [f for f in items if not f.is_scalar]
    return Product(tuple(scalars + matrices), (), shape)


def neg(x: Expr) -> Expr:
    return mul(MINUS_ONE, x)


def sub(a: Expr, b: Expr) -> Expr:
    return add(a, neg(b))


def scale(c, x: Expr) -> Expr:
    return mul(const(c) if not isinstance(c, Expr) else c, x)


def hadamard(*factors: Expr) -> Expr:
    flat, shape = _flatten("hadamard", Hadamard, factors)
    nothing = zero(shape)
    if nothing in flat:
        return nothing
    if factors[0].is_scalar:
        return mul(*(f for f in flat if not (isinstance(f, Broadcast) and f.children[0] is ONE)))
    unit = ones(shape)
    kept = [f for f in flat if f is not unit] if unit in flat else flat
    if not kept:
        return ones(shape)
    return kept[0] if len(kept) == 1 else Hadamard(tuple(kept), (), shape)


def transpose(x: Expr) -> Expr:
    if x.is_scalar:
        return x
    if isinstance(x, Transpose):
        return x.children[0]
    if isinstance(x, (Zero, Identity)):
        return zero((x.shape[1], x.shape[0])) if isinstance(x, Zero) else x
    return Transpose((x,), (), (x.shape[1], x.shape[0]))


def elementwise(function: str, x: Expr) -> Elementwise:
    return Elementwise((x,), (function,), x.shape)


def _is_zero(e: Expr) -> bool:
    return isinstance(e, Zero) or isinstance(e, Const) and e.value == 0 or \
        isinstance(e, Broadcast) and _is_zero(e.children[0])


def power(base: Expr, exponent: Expr) -> Expr:
    if _is_zero(base) and isinstance(exponent, Const) and exponent.value.is_negative:
        raise UnsupportedError("division by an expression that is zero everywhere",
                               hint="check the program: a difference such as P − P cancels to 0")
    if isinstance(exponent, Const) and exponent.value == 1:
        return base
    if isinstance(exponent, Const) and exponent.value == 0:
        return ones(base.shape)
    if isinstance(base, Const) and isinstance(exponent, Const):
        return const(base.value ** exponent.value)
    return Power((base, exponent), (), base.shape)


def reciprocal(x: Expr) -> Expr:
    return power(x, MINUS_ONE)


def unary(cls: type, x: Expr, shape: Shape) -> Expr:
    return cls((x,), (), shape)


def inverse(x: Expr) -> Expr:
    if isinstance(x, Identity):
        return x
    if x.is_scalar:
        return reciprocal(x)
    if x.shape[0] != x.shape[1]:
        raise AssertionError(f"inverse of a non-square {x.shape}")
    if isinstance(x, Zero):
        raise UnsupportedError("the inverse of a matrix that is zero everywhere",
                               hint="check the program: a difference such as P − P cancels to 0")
    return unary(Inverse, x, x.shape)


def det(x: Expr) -> Expr:
    return x if x.is_scalar else unary(Det, x, SCALAR)


def logdet(x: Expr) -> Expr:
    if x.is_scalar:   # log |det a| of a 1×1 matrix
        return elementwise("log", elementwise("abs", x))
    return unary(LogDet, x, SCALAR)


def trace(x: Expr) -> Expr:
    if x.is_scalar:
        return x
    if isinstance(x, Zero):
        return zero(SCALAR)
    return unary(Trace, x, SCALAR)


def diag_vec(x: Expr) -> Expr:
    if x.is_scalar:
        return x
    return unary(DiagVec, x, (x.shape[0], 1))


def diag_mat(v: Expr) -> Expr:
    n = v.shape[0] if v.shape[1] == 1 else v.shape[1]
    if v.is_scalar:
        return v
    if isinstance(v, Zero):
        return zero((n, n))
    return unary(DiagMat, v, (n, n))


def total(x: Expr) -> Expr:
    """``sum(x)``: the sum of all entries."""
    if x.is_scalar:
        return x
    if isinstance(x, Zero):
        return zero(SCALAR)
    return unary(Sum, x, SCALAR)


def softmax(x: Expr) -> Expr:
    return unary(Softmax, x, x.shape)


def logsumexp(x: Expr) -> Expr:
    return unary(LogSumExp, x, SCALAR)


def norm(x: Expr) -> Expr:
    return unary(Norm, x, SCALAR)


def kron(a: Expr, b: Expr) -> Expr:
    shape = (a.shape[0] * b.shape[0], a.shape[1] * b.shape[1])
    if isinstance(a, Zero) or isinstance(b, Zero):
        return zero(shape)
    if a.is_scalar or b.is_scalar:
        return mul(a, b)
    return Kron((a, b), (), shape)


def frobenius(a: Expr, b: Expr) -> Expr:
    _check_same("frobenius", (a, b))
    if isinstance(a, Zero) or isinstance(b, Zero):
        return zero(SCALAR)
    if a.is_scalar:
        return mul(a, b)
    return Frobenius((a, b), (), SCALAR)


def partial_trace(x: Expr, which: int, grid: Shape, block: Shape) -> Expr:
    shape = grid if which == 2 else block
    if isinstance(x, Zero):
        return zero(shape)
    return PartialTrace((x,), (which, *grid, *block), shape)


def _rebuild_unary(constructor):
    return lambda node, children: constructor(children[0])


REBUILD = {
    Var: lambda node, children: node,
    Const: lambda node, children: node,
    Identity: lambda node, children: node,
    Zero: lambda node, children: node,
    Differential: lambda node, children: differential(children[0]),
    Ref: lambda node, children: ref(node.name, children[0]),
    Add: lambda node, children: add(*children),
    Product: lambda node, children: mul(*children),
    Hadamard: lambda node, children: hadamard(*children),
    Broadcast: lambda node, children: broadcast(children[0], node.shape),
    Transpose: _rebuild_unary(transpose),
    Elementwise: lambda node, children: elementwise(node.function, children[0]),
    Power: lambda node, children: power(*children),
    Inverse: _rebuild_unary(inverse),
    Det: _rebuild_unary(det),
    LogDet: _rebuild_unary(logdet),
    Trace: _rebuild_unary(trace),
    DiagVec: _rebuild_unary(diag_vec),
    DiagMat: _rebuild_unary(diag_mat),
    Sum: _rebuild_unary(total),
    Softmax: _rebuild_unary(softmax),
    LogSumExp: _rebuild_unary(logsumexp),
    Norm: _rebuild_unary(norm),
    Kron: lambda node, children: kron(*children),
    Frobenius: lambda node, children: frobenius(*children),
    PartialTrace: lambda node, children: partial_trace(children[0], node.params[0], node.params[1:3],
                                                       node.params[3:5]),
}

NODE_TYPES = tuple(REBUILD)


def depends_on(e: Expr, targets: frozenset, _memo: dict | None = None) -> bool:
    """Whether ``e`` contains any node in ``targets`` (looking through Refs).

    Iterative. ``_memo`` (id(node) → bool) may be shared by calls with the same ``targets`` while
    the nodes it covers are alive, so asking about many nodes of one DAG costs one walk in all."""
    memo = {} if _memo is None else _memo
    if id(e) in memo:
        return memo[id(e)]
    stack = [e]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in memo:
            stack.pop()
        elif node in targets:
            memo[key] = True
            stack.pop()
        else:
            pending = [c for c in node.children if id(c) not in memo]
            if pending:
                stack.extend(pending)
            else:
                memo[key] = any(memo[id(c)] for c in node.children)
                stack.pop()
    return memo[id(e)]


# Which differentials an expression contains, as a bit mask cached weakly per node, so that
# ``contains(e, dX)`` costs a lookup however often it is asked (reverse mode asks it at every
# level of every differential). A differential's bit is recycled when the differential is freed:
# a live mask only has bits of differentials it keeps alive itself.
_differential_bits: "weakref.WeakKeyDictionary[Expr, int]" = weakref.WeakKeyDictionary()
_free_bits: list[int] = []
_bit_count = [0]
_masks: "weakref.WeakKeyDictionary[Expr, int]" = weakref.WeakKeyDictionary()


def _bit(d: Expr) -> int:
    bit = _differential_bits.get(d)
    if bit is None:
        if _free_bits:
            index = _free_bits.pop()
        else:
            index = _bit_count[0]
            _bit_count[0] += 1
        bit = _differential_bits[d] = 1 << index
        weakref.finalize(d, _free_bits.append, index)
    return bit


def differential_mask(e: Expr) -> int:
    """A bit mask of the Differential nodes inside ``e`` (through Refs); iterative, cached."""
    mask = _masks.get(e)
    if mask is not None:
        return mask
    stack = [e]
    while stack:
        node = stack[-1]
        if node in _masks:
            stack.pop()
            continue
        pending = [c for c in node.children if c not in _masks]
        if pending:
            stack.extend(pending)
            continue
        mask = 0
        for c in node.children:
            mask |= _masks[c]
        if isinstance(node, Differential):
            mask |= _bit(node)
        _masks[node] = mask
        stack.pop()
    return _masks[e]


def contains(e: Expr, target: Expr) -> bool:
    """Whether ``target`` occurs in ``e`` (through Refs). O(1) after the first question about
    ``e`` when ``target`` is a differential."""
    if isinstance(target, Differential):
        return bool(differential_mask(e) & _bit(target))
    return depends_on(e, frozenset((target,)))


_tree_sizes: "weakref.WeakKeyDictionary[Expr, int]" = weakref.WeakKeyDictionary()


def tree_size(e: Expr) -> int:
    """The number of nodes of ``e`` written out as a tree (a definition counts as one node).
    Iterative, and cached weakly across calls."""
    size = _tree_sizes.get(e)
    if size is not None:
        return size
    stack = [e]
    while stack:
        node = stack[-1]
        if node in _tree_sizes:
            stack.pop()
            continue
        children = () if isinstance(node, Ref) else node.children
        pending = [c for c in children if c not in _tree_sizes]
        if pending:
            stack.extend(pending)
            continue
        _tree_sizes[node] = 1 + sum(_tree_sizes[c] for c in children)
        stack.pop()
    return _tree_sizes[e]


def walk(e: Expr, into_refs: bool = True) -> Iterable[Expr]:
    """Every distinct node once, children before parents."""
    return walk_all((e,), into_refs)


def walk_all(roots: Iterable[Expr], into_refs: bool = True) -> list[Expr]:
    """Every distinct node under any of ``roots`` once, children before parents: the same order as
    the walks of the roots one after another with repeats dropped, in one pass over the DAG."""
    seen: set[int] = set()
    order: list[Expr] = []
    for root in roots:
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            if into_refs or not isinstance(node, Ref):
                stack.extend((c, False) for c in reversed(node.children))
    return order


def substitute(e: Expr, mapping: dict[Expr, Expr], into_refs: bool = True) -> Expr:
    """``e`` with every node in ``mapping`` replaced, rebuilt through the smart constructors;
    with ``into_refs=False`` definitions are left as they are (and not walked)."""
    return substitute_all((e,), mapping, into_refs)[0]


def substitute_all(roots: Iterable[Expr], mapping: dict[Expr, Expr], into_refs: bool = True) -> list[Expr]:
    """``substitute`` of several roots in one pass: what they share is rebuilt once. A node whose
    children are unchanged is kept as it is."""
    roots = list(roots)
    memo: dict[Expr, Expr] = {}
    for node in walk_all(roots, into_refs):
        if node in mapping:
            memo[node] = mapping[node]
        elif node.children and (into_refs or not isinstance(node, Ref)):
            children = [memo[c] for c in node.children]
            same = all(new is old for new, old in zip(children, node.children))
            memo[node] = node if same else node.rebuild(children)
        else:
            memo[node] = node
    return [memo[e] for e in roots]
