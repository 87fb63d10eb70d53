"""Names for subexpressions, so long results read like the textbook: ``… where s = σ(W x)``.

Every definition (Ref) prints as its own name. Beyond those, a non-trivial subexpression that
occurs two or more times in the results is given a short name, largest first, so a shared σ(Wx)
is named once instead of its inner W x. Code generation uses the same names for its temporaries.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import chain, count as count_from

from .. import expr as E
from ..functions import FUNCTIONS

_VECTOR_NAMES = ("u", "v", "w", "z", "g", "q", "r", "t", "k")
_MATRIX_NAMES = ("M", "N", "P", "Q", "R", "S", "T", "U", "V")
_SCALAR_NAMES = ("c", "α", "β", "γ", "κ")


def _trivial(e: E.Expr) -> bool:
    """Short enough to repeat: leaves, xᵀ, X⁻ᵀ, W x, x − a, 1 ⊘ x …"""
    if not e.children or isinstance(e, (E.Ref, E.Broadcast, E.Differential)):
        return True
    if E.tree_size(e) <= 5 and not isinstance(e, (E.Elementwise, E.Softmax, E.LogSumExp, E.Det, E.LogDet)):
        return True
    if isinstance(e, (E.Transpose, E.Norm)) and isinstance(e.children[0], (E.Var, E.Ref)):
        return True
    if isinstance(e, E.Product) and len(e.children) == 2 and isinstance(e.children[0], E.Const) \
            and not e.children[1].children:
        return True
    if isinstance(e, E.Power) and isinstance(e.children[1], E.Const) and e.children[1].value == -1:
        return True   # printed as a fraction or ⊘: name the denominator instead
    return isinstance(e, E.Power) and not e.children[0].children


def _size(e: E.Expr, memo: dict | None = None) -> int:
    """Tree size (a definition counts one), cached weakly across calls; ``memo`` is unused."""
    return E.tree_size(e)


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
    a node in ``preferred`` (the differentiated definition's body) takes the name given there.

    A node is named when, with every larger named node written once (in its definition), it is
    still written out twice or more. Naming a node only changes how often smaller nodes (its
    descendants) are written, so one pass from the largest node down decides everything: a node's
    count is final once all its parents, which are larger, are done. O(n log n) in the DAG."""
    order = E.walk_all(roots, into_refs=False)          # children before parents
    position: dict[E.Expr, int] = {}                    # first-touch order, to break size ties
    for root in roots:
        position.setdefault(root, len(position))
    for node in reversed(order):
        if not isinstance(node, E.Ref):
            for child in node.children:
                position.setdefault(child, len(position))
    counts: Counter = Counter(roots)
    names: dict[E.Expr, str] = {}
    used = set(taken)
    pools: dict[tuple[str, ...], Iterator[str]] = {}
    for node in sorted(position, key=lambda n: (-E.tree_size(n), position[n])):
        count = counts[node]
        if count >= 2 and not _trivial(node):
            if preferred and node in preferred:
                names[node] = preferred[node]
            else:
                hints = _hint(node)
                pool = pools.setdefault(hints, chain(hints, (f"{hints[0]}{i}" for i in count_from(1))))
                name = next(n for n in pool if n not in used)   # a pool's earlier names stay used
                used.add(name)
                names[node] = name
        if not isinstance(node, E.Ref):
            times = 1 if node in names else count
            for child in node.children:
                counts[child] += times
    return names


def where_clause(roots: list[E.Expr], names: dict[E.Expr, str]) -> list[tuple[str, E.Expr]]:
    """The (name, definition) pairs a reader needs for ``roots``, each after what it uses.

    Post-order through the roots; a definition met on the way is expanded there (its body's
    entries first, then its own), on the same explicit stack, visiting each node once."""
    entries: list[tuple[str, E.Expr]] = []
    listed: set[E.Expr] = set()
    seen: set[E.Expr] = set()
    stack: list[tuple[int, E.Expr]] = [(_ENTER, root) for root in reversed(roots)]
    while stack:
        state, node = stack.pop()
        if state == _ENTER:
            if node in seen:
                continue
            seen.add(node)
            stack.append((_EXIT, node))
            if not isinstance(node, E.Ref):
                stack.extend((_ENTER, c) for c in reversed(node.children))
        elif state == _EXIT:
            if node in listed:
                continue
            if isinstance(node, E.Ref):
                listed.add(node)
                stack.append((_DEFINED, node))
                stack.append((_ENTER, node.children[0]))
            elif node in names:
                listed.add(node)
                entries.append((names[node], node))
        else:   # _DEFINED: the body's entries are in
            entries.append((node.name, node.children[0]))
    return entries


_ENTER, _EXIT, _DEFINED = 0, 1, 2
