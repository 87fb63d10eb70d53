"""Numerically stable forms, recognised wherever the user writes them out by hand.

``log(1 + exp(x))`` overflows at x = 1000 and its derivative eˣ ⊘ (1 + eˣ) is NaN there; written as
softplus(x) the value is logaddexp(0, x) and the derivative σ(x). Each row below is an identity
between a hand-written form and a primitive with a stable value and derivative. They are applied
to the program before it is differentiated (one bottom-up pass, through definitions), so the value
function, the derivative and the generated code all use the stable primitive. The explicit
softmax exp(z) / sum(exp(z)) is recognised too, and log of it then becomes z − logsumexp(z); the
determinant of a product of square matrices is the product of their determinants.
"""
from __future__ import annotations

from collections.abc import Callable

from . import expr as E


def _is_function(e: E.Expr, name: str) -> bool:
    return isinstance(e, E.Elementwise) and e.function == name


def _is_ones(e: E.Expr) -> bool:
    return isinstance(e, E.Broadcast) and e.children[0] is E.ONE or e is E.ONE


def _softplus(log_argument: E.Expr) -> E.Expr | None:
    """log(1 + exp(x)) = softplus(x)."""
    if isinstance(log_argument, E.Add) and len(log_argument.children) == 2:
        a, b = log_argument.children
        for one, other in ((a, b), (b, a)):
            if _is_ones(one) and _is_function(other, "exp"):
                return E.elementwise("softplus", other.children[0])
    return None


def _logsumexp(log_argument: E.Expr) -> E.Expr | None:
    """log(sum(exp(x))) = logsumexp(x) for a vector x."""
    if isinstance(log_argument, E.Sum) and _is_function(log_argument.children[0], "exp"):
        x = log_argument.children[0].children[0]
        if x.is_vector:
            return E.logsumexp(x)
    return None


def _log_softmax(log_argument: E.Expr) -> E.Expr | None:
    """log(softmax(x)) = x − logsumexp(x) 𝟏: its Jacobian I − 𝟏 softmax(x)ᵀ divides by nothing."""
    if isinstance(log_argument, E.Softmax):
        x = log_argument.children[0]
        return E.sub(x, E.broadcast(E.logsumexp(x), x.shape))
    return None


# log(argument) → stable form, or None when the row does not apply.
LOG_FORMS: tuple[Callable[[E.Expr], E.Expr | None], ...] = (_softplus, _logsumexp, _log_softmax)


def _reciprocal_of(e: E.Expr) -> E.Expr | None:
    """s for s⁻¹ (also for a broadcast s⁻¹ 𝟏 and (s 𝟏).^−1)."""
    if isinstance(e, E.Broadcast):
        e = e.children[0]
    if isinstance(e, E.Power) and e.children[1] == E.MINUS_ONE:
        base = e.children[0]
        return base.children[0] if isinstance(base, E.Broadcast) else base
    return None


def _explicit_softmax(node: E.Expr) -> E.Expr | None:
    """exp(z) / sum(exp(z)) = softmax(z): exp overflows at z = 710, softmax shifts by max(z) first
    (also when exp(z) is a definition ``e = exp(z)``)."""
    if isinstance(node, (E.Product, E.Hadamard)) and len(node.children) == 2:
        for numerator, other in (node.children, reversed(node.children)):
            denominator = _reciprocal_of(other)
            body = numerator.children[0] if isinstance(numerator, E.Ref) else numerator
            if isinstance(denominator, E.Sum) and denominator.children[0] is numerator \
                    and _is_function(body, "exp") and body.is_vector:
                return E.softmax(body.children[0])
    return None


def _determinant_of_product(node: E.Expr) -> E.Expr | None:
    """det(A B) = det(A) det(B) and log|det(A B)| = log|det A| + log|det B| for square factors:
    the gradient of det(X³) is then 3 det(X)³ X⁻ᵀ, one inverse of X instead of three of X³
    (whose condition number is the cube of X's)."""
    if isinstance(node, (E.Det, E.LogDet)) and isinstance(node.children[0], E.Product):
        factors = node.children[0].children
        if all(not f.is_scalar and f.shape[0] == f.shape[1] for f in factors):
            if isinstance(node, E.Det):
                return E.mul(*(E.det(f) for f in factors))
            return E.add(*(E.logdet(f) for f in factors))
    return None


def _stable(node: E.Expr) -> E.Expr:
    stable = _determinant_of_product(node)
    if stable is not None:
        return stable
    if _is_function(node, "log"):
        for form in LOG_FORMS:
            stable = form(node.children[0])
            if stable is not None:
                return stable
    return _explicit_softmax(node) or node


def stable_forms(e: E.Expr) -> E.Expr:
    """``e`` with every hand-written unstable form replaced by its stable primitive."""
    memo: dict[E.Expr, E.Expr] = {}
    for node in E.walk(e):
        children = [memo[c] for c in node.children]
        same = all(new is old for new, old in zip(children, node.children))
        memo[node] = _stable(node if same else node.rebuild(children))
    return memo[e]
