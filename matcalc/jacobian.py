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
    """J with ``L = J D`` for a column-vector expression L linear in the column differential D."""
    m, n = L.shape[0], D.shape[0]
    if L is D:
        return E.identity(n)
    if not E.contains(L, D):
        return E.zero((m, n))
    if isinstance(L, E.Add):
        return E.add(*(jacobian(t, D) for t in L.children))
    if isinstance(L, E.Product):
        return _product(L, D)
    if isinstance(L, E.Hadamard):
        inside = [c for c in L.children if E.contains(c, D)]
        others = [c for c in L.children if not E.contains(c, D)]
        if len(inside) == 1:
            return E.mul(E.diag_mat(E.hadamard(*others)), jacobian(inside[0], D))
    if isinstance(L, E.Broadcast):
        return E.mul(E.ones((m, 1)), E.transpose(pull_back(E.ONE, L.children[0], D)))
    if isinstance(L, E.Kron):
        a, b = L.children
        if a.is_column and b.is_column:
            return E.kron(a, jacobian(b, D)) if E.contains(b, D) else E.kron(jacobian(a, D), b)
    raise UnsupportedError(f"cannot yet form the Jacobian through {type(L).__name__}",
                           hint="differentiate a scalar function of it instead")


def _product(L: E.Expr, D: E.Expr) -> E.Expr:
    factors = L.children
    j = next(i for i, f in enumerate(factors) if E.contains(f, D))
    carrier = factors[j]
    others = [f for i, f in enumerate(factors) if i != j]
    if carrier.is_scalar:                       # s(dx) a = a gᵀ dx
        gradient = pull_back(E.ONE, carrier, D)
        return E.mul(E.mul(*others), E.transpose(gradient))
    scalars = [f for f in factors if f.is_scalar]
    chain = [f for f in factors if not f.is_scalar]
    k = chain.index(carrier)
    right = E.mul(*chain[k + 1:]) if chain[k + 1:] else E.ONE
    if not right.is_scalar:
        raise UnsupportedError("cannot yet form this Jacobian: the differential is not the last factor")
    return E.mul(*scalars, *chain[:k], right, jacobian(carrier, D))
