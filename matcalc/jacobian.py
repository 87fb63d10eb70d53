"""Forward mode with matrix tangents: from a differential ``df = L(dx)``, linear in the column
``dx``, read off the Jacobian J with ``L(dx) = J dx`` (J[i, j] = ∂f_i/∂x_j).

J_{Ax} = A J_x,  J_{a∘v} = Diag(a) J_v,  J_{s(x) a} = a gᵀ for a scalar s with gradient g,
J_{a⊗v} = a ⊗ J_v. Anything else is refused, never guessed.
"""
from __future__ import annotations

from . import expr as E
from .adjoint import pull_back
from .errors import UnsupportedError


def jacobian(L: E.Expr, D: E.Expr) -> E.Expr:
    """J with ``L = J D`` for a column-vector expression L linear in the column differential D.

    A worklist of (left factor, piece of L): J_{Ax} = A J_x and J_{a∘v} = Diag(a) J_v extend the
    left factor, a sum splits, and each leaf adds left · J_leaf — no recursion on depth, and the
    Diag factors meet what they cancel (Diag(1 ⊘ p) Diag(p) = I)."""
    m, n = L.shape[0], D.shape[0]
    targets, memo = frozenset((D,)), {}

    def contains(e: E.Expr) -> bool:
        return E.depends_on(e, targets, memo)

    terms: list[E.Expr] = []
    pending: list[tuple[list[E.Expr], E.Expr]] = [([], L)]
    while pending:
        left, piece = pending.pop()
        if piece is D:
            terms.append(E.mul(*left, E.identity(n)))
        elif not contains(piece):
            continue
        elif isinstance(piece, E.Add):
            pending.extend((left, t) for t in piece.children)
        elif isinstance(piece, E.Hadamard):
            inside = [c for c in piece.children if contains(c)]
            if len(inside) != 1:
                _refuse(piece)
            others = [c for c in piece.children if c is not inside[0]]
            pending.append((left + [E.diag_mat(E.hadamard(*others))], inside[0]))
        elif isinstance(piece, E.Product) and not _carrier(piece, contains).is_scalar:
            carrier = _carrier(piece, contains)
            pending.append((left + [_without(piece, carrier)], carrier))
        else:
            terms.append(E.mul(*left, _leaf(piece, D, contains)))
    return E.add(*terms) if terms else E.zero((m, n))


def _refuse(piece: E.Expr):
    raise UnsupportedError(f"cannot yet form the Jacobian through {type(piece).__name__}",
                           hint="differentiate a scalar function of it instead")


def _carrier(product: E.Expr, contains) -> E.Expr:
    return next(f for f in product.children if contains(f))


def _without(product: E.Expr, carrier: E.Expr) -> E.Expr:
    """A v(dx) with the differential at the right end of the chain: the left factor A."""
    chain = [f for f in product.children if not f.is_scalar]
    k = chain.index(carrier)
    if chain[k + 1:] and not E.mul(*chain[k + 1:]).is_scalar:
        raise UnsupportedError("cannot yet form this Jacobian: the differential is not the last factor")
    return E.mul(*(f for f in product.children if f is not carrier))


def _leaf(piece: E.Expr, D: E.Expr, contains) -> E.Expr:
    """The Jacobian of a piece that does not continue as a left factor times a column."""
    m = piece.shape[0]
    if isinstance(piece, E.Product):   # s(dx) a = a gᵀ dx for a scalar s with gradient g
        carrier = _carrier(piece, contains)
        others = [f for f in piece.children if f is not carrier]
        return E.mul(E.mul(*others), E.transpose(pull_back(E.ONE, carrier, D)))
    if isinstance(piece, E.Broadcast):
        return E.mul(E.ones((m, 1)), E.transpose(pull_back(E.ONE, piece.children[0], D)))
    if isinstance(piece, E.Kron):
        a, b = piece.children
        if a.is_column and b.is_column:
            return E.kron(a, jacobian(b, D)) if contains(b) else E.kron(jacobian(a, D), b)
    _refuse(piece)
