"""Names for subexpressions, so long results read like the textbook: ``… where s = σ(W x)``.

Every definition (Ref) prints as its own name. Beyond those, a non-trivial subexpression that
occurs two or more times in the results is given a short name, largest first, so a shared σ(Wx)
is named once instead of its inner W x. Code generation uses the same names for its temporaries.
"""
from __future__ import annotations

from collections import Counter

from .. import expr as E
from ..functions import FUNCTIONS

_VECTOR_NAMES = ("u", "v", "w", "z", "g", "q", "r", "t", "k")
_MATRIX_NAMES = ("M", "N", "P", "Q", "R", "S", "T", "U", "V")
_SCALAR_NAMES = ("c", "α", "β", "γ", "κ")


def _trivial(e: E.Expr) -> bool:
    """Short enough to repeat: leaves, xᵀ, X⁻ᵀ, W x, x − a, 1 ⊘ x …"""
    if not e.children or isinstance(e, (E.Ref, E.Broadcast, E.Differential)):
        return True
    if _size(e, {}) <= 5 and not isinstance(e, (E.Elementwise, E.Softmax, E.LogSumExp, E.Det, E.LogDet)):
        return True
    if isinstance(e, (E.Transpose, E.Norm)) and isinstance(e.children[0], (E.Var, E.Ref)):
        return True
    if isinstance(e, E.Product) and len(e.children) == 2 and isinstance(e.children[0], E.Const) \
            and not e.children[1].children:
        return True
    if isinstance(e, E.Power) and isinstance(e.children[1], E.Const) and e.children[1].value == -1:
        return True   # printed as a fraction or ⊘: name the denominator instead
    return isinstance(e, E.Power) and not e.children[0].children


def _occurrences(roots: list[E.Expr], named: set[E.Expr]) -> Counter:
    """How often each node is written out when named nodes are written once (in their definition)."""
    counts: Counter = Counter()
    order = []
    seen = set()
    for root in roots:
        for node in E.walk(root, into_refs=False):
            if node not in seen:
                seen.add(node)
                order.append(node)
    for root in roots:
        counts[root] += 1
    for node in reversed(order):
        times = 1 if node in named else counts[node]
        if isinstance(node, E.Ref):
            continue
        for child in node.children:
            counts[child] += times
    return counts


def _size(e: E.Expr, memo: dict) -> int:
    if e not in memo:
        memo[e] = 1 + sum(_size(c, memo) for c in e.children if not isinstance(e, E.Ref))
    return memo[e]


def _hint(e: E.Expr) -> tuple[str, ...]:
    if isinstance(e, E.Elementwise):
        return (FUNCTIONS[e.function].letter,)
    if isinstance(e, E.Softmax):
        return ("p",)
    if e.is_scalar:
        return _SCALAR_NAMES
    return _VECTOR_NAMES if e.is_vector else _MATRIX_NAMES


def shared_names(roots: list[E.Expr], taken: set[str],
                 preferred: dict[E.Expr, str] | None = None) -> dict[E.Expr, str]:
    """Names for the repeated subexpressions of ``roots`` (definitions keep their own names);
    a node in ``preferred`` (the differentiated definition's body) takes the name given there."""
    names: dict[E.Expr, str] = {}
    used = set(taken)
    sizes: dict = {}
    while True:
        counts = _occurrences(roots, set(names))
        candidates = [n for n, c in counts.items() if c >= 2 and n not in names and not _trivial(n)]
        if not candidates:
            return names
        best = max(candidates, key=lambda n: _size(n, sizes))
        if preferred and best in preferred:
            names[best] = preferred[best]
            continue
        hints = _hint(best)
        pool = hints + tuple(f"{hints[0]}{i}" for i in range(1, 1000))
        name = next(n for n in pool if n not in used)
        used.add(name)
        names[best] = name


def where_clause(roots: list[E.Expr], names: dict[E.Expr, str]) -> list[tuple[str, E.Expr]]:
    """The (name, definition) pairs a reader needs for ``roots``, each after what it uses."""
    entries: list[tuple[str, E.Expr]] = []
    listed: set[E.Expr] = set()

    def visit(e: E.Expr) -> None:
        for node in E.walk(e, into_refs=False):
            if node in listed:
                continue
            if isinstance(node, E.Ref):
                listed.add(node)
                visit(node.children[0])
                entries.append((node.name, node.children[0]))
            elif node in names:
                listed.add(node)
                entries.append((names[node], node))
    for root in roots:
        visit(root)
    return entries
