"""Adjoints of the linear pieces of a differential: one row per node type that can carry a
differential linearly. A row answers: given ``G : node`` where the differential sits in child j,
what ``G′`` gives ``G : node = G′ : child_j``? (JAX's transpose rules; bilinear nodes declare
both sides in one row.)

``peel`` moves one level; ``pull_back`` repeats it until only the differential is left.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

from . import expr as E


@dataclass(frozen=True)
class AdjointRule:
    identity: str     # the identity it applies, for the derivation text
    latex: str        # the same identity in LaTeX
    cotangent: Callable[[E.Expr, E.Expr, int], E.Expr]   # (G, node, j) -> G′


def _product(G: E.Expr, node: E.Expr, j: int) -> E.Expr:
    factors = node.children
    if factors[j].is_scalar:                       # G : (a M) = (G : M) a
        rest = E.mul(*(f for k, f in enumerate(factors) if k != j))
        return E.frobenius(G, rest)
    scalars = [f for f in factors if f.is_scalar]
    chain = [f for f in factors if not f.is_scalar]
    k = [i for i, f in enumerate(factors) if not f.is_scalar].index(j)
    left, right = chain[:k], chain[k + 1:]          # G : (L X R) = (Lᵀ G Rᵀ) : X
    return E.mul(*scalars, *(E.transpose(f) for f in reversed(left)), G,
                 *(E.transpose(f) for f in reversed(right)))


def _kron(G: E.Expr, node: E.Expr, j: int) -> E.Expr:
    A, B = node.children
    (m, n), (p, q) = A.shape, B.shape
    if j == 0:   # G : (dA ⊗ B) = tr₂(G (I ⊗ Bᵀ)) : dA
        return E.partial_trace(E.mul(G, E.kron(E.identity(n), E.transpose(B))), 2, (m, n), (p, p))
    # G : (A ⊗ dB) = tr₁((Aᵀ ⊗ I) G) : dB
    return E.partial_trace(E.mul(E.kron(E.transpose(A), E.identity(p)), G), 1, (n, n), (p, q))


def _partial_trace(G: E.Expr, node: E.Expr, j: int) -> E.Expr:
    which, grid_rows, _, block_rows, _ = node.params
    if which == 2:    # G : tr₂(M) = (G ⊗ I) : M
        return E.kron(G, E.identity(block_rows))
    return E.kron(E.identity(grid_rows), G)    # G : tr₁(M) = (I ⊗ G) : M


def _diag_mat(G: E.Expr, node: E.Expr, j: int) -> E.Expr:
    v = node.children[0]
    g = E.diag_vec(G)
    return g if v.is_column else E.transpose(g)


ADJOINTS: dict[type, AdjointRule] = {
    E.Add: AdjointRule("A : (B + C) = A : B + A : C", r"A : (B + C) = A : B + A : C", lambda G, node, j: G),
    E.Product: AdjointRule("A : (BC) = (ACᵀ) : B = (BᵀA) : C", r"A : (BC) = (AC^{\top}) : B = (B^{\top}A) : C", _product),
    E.Hadamard: AdjointRule("A : (B ∘ C) = (A ∘ B) : C", r"A : (B \circ C) = (A \circ B) : C",
                            lambda G, node, j: E.hadamard(G, *(c for k, c in enumerate(node.children)
                                                               if k != j))),
    E.Frobenius: AdjointRule("a : (B : C) = (a B) : C", r"a (B : C) = (a B) : C",
                             lambda G, node, j: E.mul(G, node.children[1 - j])),
    E.Kron: AdjointRule("A : (B ⊗ C) = tr₂(A (I ⊗ Cᵀ)) : B = tr₁((Bᵀ ⊗ I) A) : C",
                       r"A : (B \otimes C) = \operatorname{tr}_2(A (I \otimes C^{\top})) : B = \operatorname{tr}_1((B^{\top} \otimes I) A) : C", _kron),
    E.Broadcast: AdjointRule("A : (b 𝟏) = sum(A) : b", r"A : (b \mathbf{1}) = \operatorname{sum}(A)\, b", lambda G, node, j: E.total(G)),
    E.Transpose: AdjointRule("A : Bᵀ = Aᵀ : B", r"A : B^{\top} = A^{\top} : B", lambda G, node, j: E.transpose(G)),
    E.Trace: AdjointRule("a : tr(B) = (a I) : B", r"a \operatorname{tr}(B) = (a I) : B",
                         lambda G, node, j: E.mul(G, E.identity(node.children[0].shape[0]))),
    E.Sum: AdjointRule("a : sum(B) = (a 𝟏) : B", r"a \operatorname{sum}(B) = (a \mathbf{1}) : B",
                       lambda G, node, j: E.broadcast(G, node.children[0].shape)),
    E.DiagVec: AdjointRule("a : diag(B) = Diag(a) : B", r"a : \operatorname{diag}(B) = \operatorname{Diag}(a) : B", lambda G, node, j: E.diag_mat(G)),
    E.DiagMat: AdjointRule("A : Diag(b) = diag(A) : b", r"A : \operatorname{Diag}(b) = \operatorname{diag}(A) : b", _diag_mat),
    E.PartialTrace: AdjointRule("A : tr₂(B) = (A ⊗ I) : B", r"A : \operatorname{tr}_2(B) = (A \otimes I) : B", _partial_trace),
}


def peel(G: E.Expr, L: E.Expr, D: E.Expr) -> list[tuple[E.Expr, E.Expr]]:
    """One level: ``G : L`` as a sum of ``G′ : L′`` over the children of L that contain D."""
    rule = ADJOINTS.get(type(L))
    if rule is None:
        raise AssertionError(f"{type(L).__name__} is not linear in the differential")
    slots = [j for j, c in enumerate(L.children) if E.contains(c, D)]
    if not isinstance(L, E.Add) and len(slots) != 1:
        raise AssertionError(f"{type(L).__name__} is not linear in the differential")
    return [(rule.cotangent(G, L, j), L.children[j]) for j in slots]


def pull_back(G: E.Expr, L: E.Expr, D: E.Expr) -> E.Expr:
    """``G′`` with ``G : L = G′ : D`` for an expression L linear in the differential D."""
    return pull_back_all(G, L, [D])[D]


def pull_back_all(G: E.Expr, L: E.Expr, Ds: list[E.Expr]) -> dict[E.Expr, E.Expr]:
    """``G : L = Σ G_D : D`` for every differential D in ``Ds`` at once: symbolic reverse mode over
    the DAG of L — each node's cotangent is complete before it moves to the node's children (parents
    first), so a node shared by many paths is visited once and the pass is linear in L."""
    targets = frozenset(Ds)
    inside: dict[E.Expr, bool] = {}   # contains a target; definitions are opaque (they hold none)
    for n in E.walk(L, into_refs=False):
        inside[n] = n in targets or (not isinstance(n, E.Ref) and any(inside[c] for c in n.children))
    live = [n for n, has in inside.items() if has]
    cotangents: dict[E.Expr, list[E.Expr]] = {L: [G]} if live else {}
    for node in reversed(live):   # walk lists children before parents
        parts = cotangents.pop(node, None)
        if parts is None:
            continue
        g = parts[0] if len(parts) == 1 else E.add(*parts)
        if node in targets:
            cotangents[node] = [g]
            continue
        rule = ADJOINTS.get(type(node))
        slots = [j for j, c in enumerate(node.children) if inside[c]]
        if rule is None or (not isinstance(node, E.Add) and len(slots) != 1):
            raise AssertionError(f"{type(node).__name__} is not linear in the differential")
        for j in dict.fromkeys(slots):
            cotangents.setdefault(node.children[j], []).append(rule.cotangent(g, node, j))
    return {D: (E.add(*cotangents[D]) if D in cotangents else E.zero(D.shape)) for D in Ds}
