"""The differential of every primitive: one row per node type, d(node) from its children's
differentials (the JVP table). Rows only build expressions; they never simplify.

``differential(e, seeds)`` runs forward mode over the DAG: ``seeds`` maps the nodes whose
differentials are given (variables, or definitions treated as boundaries) to their tangents.
"""
from __future__ import annotations

from collections.abc import Callable

from . import expr as E
from .errors import UnsupportedError
from .functions import FUNCTIONS


def _sum_of_slots(node: E.Expr, tangents: list[E.Expr], combine: Callable[..., E.Expr]) -> E.Expr:
    """Product rule for any multilinear node: Σ_j combine(c1, …, dc_j, …, ck)."""
    terms = []
    for j, t in enumerate(tangents):
        if not isinstance(t, E.Zero):
            args = list(node.children)
            args[j] = t
            terms.append(combine(*args))
    return E.add(*terms) if terms else E.zero(node.shape)


def _elementwise(node: E.Elementwise, tangents):
    row = FUNCTIONS[node.function]
    if row.derivative is None:
        raise UnsupportedError(
            f"'{row.name}' is piecewise constant: its derivative is zero almost everywhere and "
            f"undefined at 0; matcalc refuses to guess",
            hint="this appears when differentiating abs or relu twice")
    x = node.children[0]
    return E.hadamard(row.derivative(x, node), tangents[0])


def _power(node: E.Power, tangents):
    base, exponent = node.children
    d_base, d_exponent = tangents
    terms = []
    if not isinstance(d_base, E.Zero):
        lowered = E.power(base, E.add(exponent, E.MINUS_ONE) if not isinstance(exponent, E.Const)
                          else E.const(exponent.value - 1))
        terms.append(E.hadamard(E.mul(exponent, lowered), d_base))
    if not isinstance(d_exponent, E.Zero):
        terms.append(E.mul(d_exponent, E.hadamard(node, E.elementwise("log", base))))
    return E.add(*terms)


def _softmax(node: E.Softmax, tangents):
    # dp = p ∘ dθ − p (p : dθ)
    (t,) = tangents
    return E.sub(E.hadamard(node, t), E.mul(E.frobenius(node, t), node))


DIFFERENTIALS: dict[type, Callable[[E.Expr, list[E.Expr]], E.Expr]] = {
    E.Add: lambda node, ts: E.add(*ts),
    E.Product: lambda node, ts: _sum_of_slots(node, ts, E.mul),                    # d(AB) = dA B + A dB
    E.Hadamard: lambda node, ts: _sum_of_slots(node, ts, E.hadamard),              # d(a∘b) = da∘b + a∘db
    E.Kron: lambda node, ts: _sum_of_slots(node, ts, E.kron),
    E.Frobenius: lambda node, ts: _sum_of_slots(node, ts, E.frobenius),
    E.Broadcast: lambda node, ts: E.broadcast(ts[0], node.shape),
    E.Transpose: lambda node, ts: E.transpose(ts[0]),
    E.Trace: lambda node, ts: E.trace(ts[0]),
    E.DiagVec: lambda node, ts: E.diag_vec(ts[0]),
    E.DiagMat: lambda node, ts: E.diag_mat(ts[0]),
    E.Sum: lambda node, ts: E.total(ts[0]),
    E.PartialTrace: lambda node, ts: E.partial_trace(ts[0], node.params[0], node.params[1:3],
                                                     node.params[3:5]),
    E.Elementwise: _elementwise,                                                   # df(x) = f′(x) ∘ dx
    E.Power: _power,
    E.Inverse: lambda node, ts: E.neg(E.mul(node, ts[0], node)),                   # dX⁻¹ = −X⁻¹ dX X⁻¹
    E.Det: lambda node, ts: E.mul(node, E.trace(E.mul(E.inverse(node.children[0]), ts[0]))),
    E.LogDet: lambda node, ts: E.trace(E.mul(E.inverse(node.children[0]), ts[0])),  # tr(X⁻¹ dX)
    E.Softmax: _softmax,
    E.LogSumExp: lambda node, ts: E.frobenius(E.softmax(node.children[0]), ts[0]),
    E.Norm: lambda node, ts: E.frobenius(E.mul(node.children[0], E.reciprocal(node)), ts[0]),
}

_CONSTANT_LEAVES = (E.Var, E.Const, E.Identity, E.Zero, E.Differential)


def named_by_definition(tangent: E.Expr, definition: E.Ref) -> E.Expr:
    """f′ rows refer to their output (σ′(v) = σ(v) ∘ (1 − σ(v))): inside the differential of
    ``s = σ(v)`` call σ(v) by its name s. A body that is only a name (``h = x``) is not renamed:
    it would turn dx into dh and lose the derivative."""
    body = definition.children[0]
    if isinstance(body, _CONSTANT_LEAVES + (E.Ref,)):
        return tangent
    return E.substitute(tangent, {body: definition}, into_refs=False)


def differential(e: E.Expr, seeds: dict[E.Expr, E.Expr], through_refs: bool = True) -> E.Expr:
    """The differential of ``e`` given the differentials of the nodes in ``seeds``.

    With ``through_refs=False`` a definition that is not seeded is a constant: reverse mode over
    definitions treats each definition as a boundary."""
    memo: dict[int, E.Expr] = {}
    for node in E.walk(e, into_refs=through_refs):
        if node in seeds:
            tangent = seeds[node]
        elif isinstance(node, _CONSTANT_LEAVES) or (isinstance(node, E.Ref) and not through_refs):
            tangent = E.zero(node.shape)
        elif isinstance(node, E.Ref):
            tangent = named_by_definition(memo[id(node.children[0])], node)
        else:
            tangents = [memo[id(c)] for c in node.children]
            if all(isinstance(t, E.Zero) for t in tangents):
                tangent = E.zero(node.shape)
            else:
                tangent = DIFFERENTIALS[type(node)](node, tangents)
        memo[id(node)] = tangent
    return memo[id(e)]
