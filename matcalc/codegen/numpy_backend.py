"""IR → a standalone NumPy module, built as a Python ``ast`` and unparsed.

Inside the generated function every value is two-dimensional (columns n×1, rows 1×n), so ``@``,
``.T`` and broadcasting mean what the IR means; inputs are reshaped on entry and results on
return to the documented layout (column vectors 1-D, scalars floats, derivatives Sf + Sx).
Shared subexpressions and definitions are computed once — also what only the code shows shared,
such as inv(X) inside inv(X).T (a pass over the generated AST, ``optimise``, which also drops dead
assignments and turns an inverse used only in products into ``np.linalg.solve``); Diag(a)·B is
broadcasting, never an n×n matrix; chains of three or more matrices are parenthesised at generation
by the matrix-chain DP when their sizes are concrete, else use ``np.linalg.multi_dot``; arrays keep
their floating type (constants are Python floats, weak scalars); sigmoid, softplus, softmax,
logsumexp, log∘softmax and log∘σ use their overflow-free forms.
"""
from __future__ import annotations

import ast
import keyword
import unicodedata
from collections import Counter
from dataclasses import dataclass
from collections.abc import Callable

import sympy

from .. import expr as E
from ..errors import UnsupportedError
from ..functions import FUNCTIONS

_HELPERS = {
    "_softmax": '''
def _softmax(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e)
''',
    "_logsumexp": '''
def _logsumexp(z):
    m = np.max(z)
    return m + np.log(np.sum(np.exp(z - m)))
''',
}
_HELPERS["_array"] = '''
def _array(x):
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(float)
'''
_RESERVED = {"np", "float", "dict", "_dtype"} | set(_HELPERS)


@dataclass(frozen=True)
class Output:
    """One returned value: its key (a variable name for dict results), expression and layout."""
    key: str
    expr: E.Expr
    layout: tuple[str, ...]   # per axis of the IR value or its Jacobian: see _reshape


class Taken(set):
    """Identifiers in use, remembering for each stem the last suffix tried, so that the n-th
    temporary ``t`` costs O(1) and is named ``t_n`` (not n underscores)."""

    def __init__(self) -> None:
        super().__init__()
        self.suffix: dict[str, int] = {}


def identifier(name: str, taken: set[str]) -> str:
    """A Python identifier for a user name: kept when it is one already, else transliterated;
    unique in ``taken``: ``t``, ``t_``, ``t_2``, ``t_3`` …"""
    candidate = name
    if unicodedata.normalize("NFKC", name) != name or not name.isidentifier():
        candidate = "".join(ch if (ch.isascii() and (ch.isalnum() or ch == "_")) else
                            unicodedata.name(ch, "x").split()[-1].lower() for ch in name) or "v"
    if keyword.iskeyword(candidate) or candidate in _RESERVED or not candidate.isidentifier():
        candidate += "_"
    if candidate in taken:
        stem = candidate
        suffixes = taken.suffix if isinstance(taken, Taken) else {}
        n = suffixes.get(stem, 1)
        candidate = stem + "_" if n == 1 else f"{stem}_{n}"
        while candidate in taken:
            n += 1
            candidate = f"{stem}_{n}"
        suffixes[stem] = n
    taken.add(candidate)
    return candidate


def _name(id_: str) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Load())


def _attr(value: ast.expr, attr: str) -> ast.Attribute:
    return ast.Attribute(value=value, attr=attr, ctx=ast.Load())


def _np(path: str) -> ast.expr:
    node: ast.expr = _name("np")
    for part in path.split("."):
        node = _attr(node, part)
    return node


def _call(func: ast.expr | str, *args: ast.expr, **kwargs: ast.expr) -> ast.Call:
    if isinstance(func, str):
        func = _np(func[3:]) if func.startswith("np.") else _name(func)
    return ast.Call(func=func, args=list(args), keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])


def _binop(left: ast.expr, op: ast.operator, right: ast.expr) -> ast.BinOp:
    return ast.BinOp(left=left, op=op, right=right)


def _const(value: float) -> ast.expr:
    if value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    return ast.Constant(value)


_TEMPLATES: dict[str, ast.expr] = {}


def _template(source: str, x: ast.expr) -> ast.expr:
    """A function-table template such as ``np.exp(x)`` with the argument put in for ``x`` (the
    template parsed once; a fresh copy each time, so no two trees share its nodes)."""
    tree = _TEMPLATES.get(source)
    if tree is None:
        tree = _TEMPLATES[source] = ast.parse(source, mode="eval").body
    return _fill(tree, x)


def _fill(template: ast.AST, x: ast.expr):
    """A copy of ``template`` with ``x`` for the name x (recursive on the template only, a few
    levels; never into x)."""
    if isinstance(template, ast.Name) and template.id == "x":
        return x
    if isinstance(template, list):
        return [_fill(item, x) for item in template]
    if not isinstance(template, ast.AST):
        return template
    return type(template)(**{field: _fill(getattr(template, field), x) for field in template._fields})


def _subexpressions(node: ast.AST) -> list[ast.AST]:
    """The child expressions (and keywords, list items) of an AST node; not contexts or operators."""
    out: list[ast.AST] = []
    for field in node._fields:
        value = getattr(node, field, None)
        if isinstance(value, list):
            out.extend(v for v in value if isinstance(v, (ast.expr, ast.keyword)))
        elif isinstance(value, (ast.expr, ast.keyword)):
            out.append(value)
    return out


# Generated expressions nest at most this deep; deeper ones go through a temporary, so neither
# ast.unparse nor Python's parser and compiler ever meet deep nesting, whatever the input depth.
MAX_NESTING = 32


class _Emitter:
    def __init__(self, variables: dict[str, E.Var], dims: dict[sympy.Symbol, ast.expr]) -> None:
        self.ids: dict[E.Expr, str] = {}
        self.taken: set[str] = Taken()
        self.dims = dims
        self.helpers: set[str] = set()
        self.statements: list[ast.stmt] = []
        self.temporaries: set[str] = set()        # names made only to bound the nesting
        self.dtype_used = False                   # np.eye / zeros / full need ``_dtype``
        self.inverses = False                     # some np.linalg.inv was emitted
        self._codes: dict[E.Expr, ast.expr] = {}   # each node's code, built once
        self._depths: dict[int, tuple[int, ast.AST]] = {}
        for name, v in variables.items():
            self.ids[v] = identifier(name, self.taken)

    # — expressions —
    def code(self, e: E.Expr) -> ast.expr:
        """The code of ``e``: its name when bound, else built from its children's code, which is
        built first, children before parents, with an explicit stack (no recursion on depth)."""
        if e in self.ids:
            return _name(self.ids[e])
        done = self._codes.get(e)
        if done is not None:
            return done
        stack = [e]
        while stack:
            node = stack[-1]
            if node in self.ids or node in self._codes:
                stack.pop()
                continue
            pending = [c for c in node.children
                       if c not in self.ids and c not in self._codes and type(c) in CODE]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            rule = CODE.get(type(node))
            if rule is None:
                raise AssertionError(f"no NumPy code for {type(node).__name__}")
            tree = rule(self, node)
            if self.depth(tree) > MAX_NESTING:
                tree = self.temporary(tree)
            self._codes[node] = tree
        return self._codes[e]

    def depth(self, tree: ast.AST) -> int:
        """How deep the expression ``tree`` nests, measuring each subtree once (iterative)."""
        known = self._depths.get(id(tree))
        if known is not None and known[1] is tree:
            return known[0]
        stack: list[tuple[ast.AST, bool]] = [(tree, False)]
        while stack:
            node, finished = stack.pop()
            if finished:
                depth = 1 + max((self._depths[id(c)][0] for c in _subexpressions(node)), default=0)
                self._depths[id(node)] = (depth, node)
                continue
            known = self._depths.get(id(node))
            if known is not None and known[1] is node:
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in _subexpressions(node))
        return self._depths[id(tree)][0]

    def temporary(self, tree: ast.expr) -> ast.Name:
        """``tree`` computed into a temporary (removed again if nothing reads it)."""
        target = identifier("t", self.taken)
        self.temporaries.add(target)
        self.statements.append(ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())],
                                          value=tree, lineno=0))
        return _name(target)

    def binop(self, left: ast.expr, op: ast.operator, right: ast.expr) -> ast.BinOp:
        """``left op right``, with an operand that nests too deep computed into a temporary first
        (a sum of 10⁴ terms is a chain of 10⁴ BinOps)."""
        if self.depth(left) >= MAX_NESTING:
            left = self.temporary(left)
        if self.depth(right) >= MAX_NESTING:
            right = self.temporary(right)
        tree = ast.BinOp(left=left, op=op, right=right)
        self._depths[id(tree)] = (1 + max(self.depth(left), self.depth(right)), tree)
        return tree

    def dim(self, d) -> ast.expr:
        if isinstance(d, int):
            return ast.Constant(d)
        text = sympy.pycode(sympy.sympify(d))
        tree = ast.parse(text, mode="eval").body

        class Fill(ast.NodeTransformer):
            def visit_Name(inner, node):
                symbol = sympy.Symbol(node.id, positive=True, integer=True)
                if symbol not in self.dims:
                    raise UnsupportedError(f"the size {node.id} is fixed by no input, so the "
                                           "generated code cannot know it",
                                           hint=f"declare a variable with a dimension {node.id}")
                return self.dims[symbol]
        return Fill().visit(tree)

    def bind(self, e: E.Expr, name: str) -> None:
        """Compute ``e`` once into a local variable."""
        target = identifier(name, self.taken)
        self.statements.append(ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())],
                                          value=self.code(e), lineno=0))
        self.ids[e] = target


def _scalar_operand(emitter: _Emitter, e: E.Expr, siblings) -> ast.expr:
    """Broadcasts stay scalars beside an array operand; NumPy broadcasts them."""
    if isinstance(e, E.Broadcast) and any(not isinstance(s, E.Broadcast) for s in siblings):
        return emitter.code(e.children[0])
    return emitter.code(e)


def _is_negated(term: E.Expr) -> bool:
    return bool(isinstance(term, E.Product) and isinstance(term.children[0], E.Const)
                and term.children[0].value.is_number and term.children[0].value < 0)


def _add(em: _Emitter, e: E.Add) -> ast.expr:
    result = None
    for term in sorted(e.children, key=_is_negated):   # a − b rather than −b + a
        negative = _is_negated(term)
        code = _scalar_operand(em, E.neg(term) if negative else term, e.children)
        if result is None:
            result = ast.UnaryOp(op=ast.USub(), operand=code) if negative else code
        else:
            result = em.binop(result, ast.Sub() if negative else ast.Add(), code)
    return result


def _product(em: _Emitter, e: E.Product) -> ast.expr:
    scalars = [c for c in e.children if c.is_scalar]
    chain = [c for c in e.children if not c.is_scalar]
    result = _chain(em, chain) if chain else None
    for s in reversed(scalars):
        if isinstance(s, E.Power) and isinstance(s.children[1], E.Const) and s.children[1].value == -1 \
                and result is not None:
            result = em.binop(result, ast.Div(), em.code(s.children[0]))
            continue
        code = _const(float(s.value)) if isinstance(s, E.Const) and s.value.is_number else em.code(s)
        result = code if result is None else em.binop(code, ast.Mult(), result)
    return result


def _chain(em: _Emitter, chain: list[E.Expr]) -> ast.expr:
    """Matrix chain. Diag(a) next to a neighbour is broadcasting, and so is an outer product
    (inner dimension 1): neither builds through matrix multiplication what ``*`` gives directly.

    The recursion over sub-chains runs on an explicit stack: ``("chain", lo, hi)`` pushes the code
    of chain[lo:hi]; the other frames combine the codes on top of ``values``."""
    values: list[ast.expr] = []
    work: list[tuple] = [("chain", 0, len(chain))]
    while work:
        frame = work.pop()
        kind = frame[0]
        if kind == "diag left":                                          # Diag(a) B = a ∘ B
            values.append(em.binop(frame[1], ast.Mult(), values.pop()))
            continue
        if kind == "diag right":                                         # B Diag(a) = B ∘ aᵀ
            values.append(em.binop(values.pop(), ast.Mult(), _row(em, frame[1])))
            continue
        if kind in ("outer", "split"):
            right, left = values.pop(), values.pop()
            values.append(em.binop(left, ast.Mult(), right) if kind == "outer" else _matmul([left, right]))
            continue
        _, lo, hi = frame
        if hi - lo >= 2 and isinstance(chain[lo], E.DiagMat):
            work.append(("diag left", _column(em, chain[lo].children[0])))
            work.append(("chain", lo + 1, hi))
            continue
        if hi - lo >= 2 and isinstance(chain[hi - 1], E.DiagMat):
            work.append(("diag right", chain[hi - 1].children[0]))
            work.append(("chain", lo, hi - 1))
            continue
        outer = next((i for i in range(lo + 1, hi)                      # a bᵀ = a ∘ bᵀ by broadcasting
                      if chain[i - 1].shape[1] == 1 and chain[i].shape[0] == 1), None)
        if outer is not None:
            work.extend([("outer",), ("chain", outer, hi), ("chain", lo, outer)])
            continue
        middle = next((i for i in range(lo + 1, hi - 1) if isinstance(chain[i], E.DiagMat)), None)
        if middle is not None:
            work.extend([("split",), ("chain", middle + 1, hi), ("chain", lo, middle + 1)])
            continue
        values.append(_matmul([em.code(f) for f in chain[lo:hi]], _sizes(chain[lo:hi])))
    return values[0]


FIXED_ORDER_FACTORS = 16   # longer chains with known sizes still go to multi_dot (the DP is cubic)


def _sizes(chain: list[E.Expr]) -> list[int] | None:
    """p₀ … pₖ for factors of shapes p₀×p₁, p₁×p₂ …, when every one is a concrete integer (and
    the chain is short enough for its order to be fixed here)."""
    if len(chain) > FIXED_ORDER_FACTORS:
        return None
    dims = [chain[0].shape[0], *(f.shape[1] for f in chain)]
    if all(type(d) is int or getattr(d, "is_Integer", False) for d in dims):
        return [int(d) for d in dims]
    return None


def _chain_order(p: list[int]) -> list[list[int]]:
    """The matrix-chain dynamic programme: split[i][j] is where the cheapest product of factors
    i…j splits (cost Σ pᵢ pₖ₊₁ pⱼ₊₁ flops; ties to the leftmost split)."""
    k = len(p) - 1
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(2, k + 1):
        for i in range(k - length + 1):
            j = i + length - 1
            cost[i][j], split[i][j] = min((cost[i][m] + cost[m + 1][j] + p[i] * p[m + 1] * p[j + 1], m)
                                          for m in range(i, j))
    return split


def _matmul(groups: list[ast.expr], sizes: list[int] | None = None) -> ast.expr:
    """The product of ``groups``: ``@`` for two, for more the order the chain DP fixes now when
    ``sizes`` are known, else ``np.linalg.multi_dot`` (which works it out on every call)."""
    if len(groups) == 1:
        return groups[0]
    if len(groups) == 2:
        return _binop(groups[0], ast.MatMult(), groups[1])
    if sizes is None:
        return _call("np.linalg.multi_dot", ast.List(elts=groups, ctx=ast.Load()))
    split = _chain_order(sizes)

    def product(i: int, j: int) -> ast.expr:   # nests no deeper than the chain is long
        if i == j:
            return groups[i]
        m = split[i][j]
        return _binop(product(i, m), ast.MatMult(), product(m + 1, j))
    return product(0, len(groups) - 1)


def _column(em: _Emitter, v: E.Expr) -> ast.expr:
    return em.code(v) if v.is_column else _attr(em.code(v), "T")


def _row(em: _Emitter, v: E.Expr) -> ast.expr:
    return em.code(v) if v.is_row else _attr(em.code(v), "T")


def _hadamard(em: _Emitter, e: E.Hadamard) -> ast.expr:
    result = None
    for f in e.children:
        if isinstance(f, E.Power) and isinstance(f.children[1], E.Const) and f.children[1].value == -1 \
                and result is not None:
            result = em.binop(result, ast.Div(), em.code(f.children[0]))
            continue
        code = _scalar_operand(em, f, e.children)
        result = code if result is None else em.binop(result, ast.Mult(), code)
    return result


def _power(em: _Emitter, e: E.Power) -> ast.expr:
    base, exponent = e.children
    if isinstance(exponent, E.Const) and exponent.value.is_number:
        p = exponent.value
        if p == -1:
            return _binop(ast.Constant(1.0), ast.Div(), em.code(base))
        if p == sympy.Rational(1, 2):
            return _call("np.sqrt", em.code(base))
        return _binop(em.code(base), ast.Pow(), ast.Constant(int(p) if p.is_Integer else float(p)))
    return _binop(em.code(base), ast.Pow(), em.code(exponent))


def _elementwise(em: _Emitter, e: E.Elementwise) -> ast.expr:
    x = e.children[0]
    if e.function == "log":
        stable = _stable_log(em, x)
        if stable is not None:
            return stable
    return _template(FUNCTIONS[e.function].numpy, em.code(x))


def _definition(e: E.Expr) -> E.Expr:
    return e.children[0] if isinstance(e, E.Ref) else e


def _stable_log(em: _Emitter, x: E.Expr) -> ast.expr | None:
    """log(softmax(z)) = z − logsumexp(z),  log(σ(z)) = −log(1 + e⁻ᶻ),  log(1 − σ(z)) = −log(1 + eᶻ):
    no log of an underflowed 0 (also when σ(z) is a definition)."""
    inner = _definition(x)
    if isinstance(inner, E.Softmax):
        em.helpers.add("_logsumexp")
        z = em.code(inner.children[0])
        return _binop(z, ast.Sub(), _call("_logsumexp", z))
    if _is_sigmoid(inner):
        z = em.code(_definition(inner).children[0])
        return ast.UnaryOp(op=ast.USub(), operand=_call("np.logaddexp", ast.Constant(0.0),
                                                         ast.UnaryOp(op=ast.USub(), operand=z)))
    complement = _one_minus(inner)
    if complement is not None and _is_sigmoid(complement):   # log(1 − σ(z)) = −log(1 + eᶻ)
        z = em.code(_definition(complement).children[0])
        return ast.UnaryOp(op=ast.USub(), operand=_call("np.logaddexp", ast.Constant(0.0), z))
    return None


def _is_sigmoid(e: E.Expr) -> bool:
    inner = _definition(e)
    return isinstance(inner, E.Elementwise) and inner.function == "sigmoid"


def _one_minus(e: E.Expr) -> E.Expr | None:
    """s for 1 − s (a scalar 1 or a broadcast 𝟏), else None."""
    if not (isinstance(e, E.Add) and len(e.children) == 2):
        return None
    one, rest = e.children
    if not (one is E.ONE or isinstance(one, E.Broadcast) and one.children[0] is E.ONE):
        return None
    if isinstance(rest, E.Product) and len(rest.children) == 2 and rest.children[0] is E.MINUS_ONE:
        return rest.children[1]
    return None


def _helper(name: str) -> Callable[[_Emitter, E.Expr], ast.expr]:
    def emit(em: _Emitter, e: E.Expr) -> ast.expr:
        em.helpers.add(name)
        return _call(name, em.code(e.children[0]))
    return emit


def _np_unary(path: str) -> Callable[[_Emitter, E.Expr], ast.expr]:
    return lambda em, e: _call(path, em.code(e.children[0]))


def _partial_trace(em: _Emitter, e: E.PartialTrace) -> ast.expr:
    which, a, b, c, d = e.params
    blocks = _call(_attr(em.code(e.children[0]), "reshape"), *(em.dim(k) for k in (a, c, b, d)))
    spec = "icjc->ij" if which == 2 else "icid->cd"
    return _call("np.einsum", ast.Constant(spec), blocks)


def _zero(em: _Emitter, e: E.Zero) -> ast.expr:
    if e.is_scalar:
        return ast.Constant(0.0)
    em.dtype_used = True
    return _call("np.zeros", ast.Tuple(elts=[em.dim(d) for d in e.shape], ctx=ast.Load()), dtype=_name("_dtype"))


def _broadcast(em: _Emitter, e: E.Broadcast) -> ast.expr:
    shape = ast.Tuple(elts=[em.dim(d) for d in e.shape], ctx=ast.Load())
    em.dtype_used = True
    return _call("np.full", shape, em.code(e.children[0]), dtype=_name("_dtype"))


def _inverse(em: _Emitter, e: E.Inverse) -> ast.expr:
    em.inverses = True   # worth looking for solves
    return _call("np.linalg.inv", em.code(e.children[0]))


def _identity(em: _Emitter, e: E.Identity) -> ast.expr:
    em.dtype_used = True
    return _call("np.eye", em.dim(e.shape[0]), dtype=_name("_dtype"))


def _const_code(em: _Emitter, e: E.Const) -> ast.expr:
    if e.value.is_number:
        return _const(float(e.value))
    return em.dim(e.value)


CODE: dict[type, Callable[[_Emitter, E.Expr], ast.expr]] = {
    E.Const: _const_code,
    E.Identity: lambda em, e: _identity(em, e),
    E.Zero: _zero,
    E.Broadcast: _broadcast,
    E.Ref: lambda em, e: em.code(e.children[0]),
    E.Add: _add,
    E.Product: _product,
    E.Hadamard: _hadamard,
    E.Transpose: lambda em, e: _attr(em.code(e.children[0]), "T"),
    E.Elementwise: _elementwise,
    E.Power: _power,
    E.Inverse: lambda em, e: _inverse(em, e),
    E.Det: _np_unary("np.linalg.det"),
    E.LogDet: lambda em, e: ast.Subscript(value=_call("np.linalg.slogdet", em.code(e.children[0])),
                                          slice=ast.Constant(1), ctx=ast.Load()),
    E.Trace: _np_unary("np.trace"),
    E.DiagVec: lambda em, e: _call(_attr(_call("np.diagonal", em.code(e.children[0])), "reshape"),
                                   _const(-1), ast.Constant(1)),
    E.DiagMat: _np_unary("np.diagflat"),
    E.Sum: _np_unary("np.sum"),
    E.Softmax: _helper("_softmax"),
    E.LogSumExp: _helper("_logsumexp"),
    E.Norm: _np_unary("np.linalg.norm"),
    E.Kron: lambda em, e: _call("np.kron", *(em.code(c) for c in e.children)),
    E.Frobenius: lambda em, e: _call("np.vdot", *(em.code(c) for c in e.children)),
    E.PartialTrace: _partial_trace,
}


def _shared(outputs: list[E.Expr]) -> list[E.Expr]:
    """Definitions used, and other non-trivial nodes used twice or more, in dependency order."""
    order = E.walk_all(outputs)
    uses: Counter = Counter(child for node in order if not isinstance(node, E.Ref)
                            for child in node.children)
    uses.update(outputs)   # a result that is also part of another result is computed once
    return [n for n in order if isinstance(n, E.Ref) or
            (n.children and uses[n] >= 2 and not isinstance(n, (E.Transpose, E.Broadcast, E.Inverse)))]


def _input(name: str, v: E.Var) -> ast.expr:
    """An argument as an array of its own floating type (float32 stays float32; integers and
    booleans become float64); a scalar as a Python float, which NumPy treats as a weak scalar
    (it never upcasts a float32 array)."""
    if v.is_scalar:   # accepts 2.0, np.float64, or any size-1 array such as ℝ^1 values
        array = _call("np.asarray", _name(name), dtype=_name("float"))
        return _call("float", _call(_attr(array, "reshape"), ast.Tuple(elts=[], ctx=ast.Load())))
    array = _call("_array", _name(name))
    if v.is_column:
        return _call(_attr(array, "reshape"), _const(-1), ast.Constant(1))
    if v.is_row:
        return _call(_attr(array, "reshape"), ast.Constant(1), _const(-1))
    return array


def _reshape(value: ast.expr, layout: tuple[str, ...]) -> ast.expr:
    """Return layout: () → float; otherwise a reshape whose axes are 1 or an axis of the value."""
    if not layout:
        return _call("float", _call(_attr(_call("np.asarray", value), "reshape"),
                                    ast.Tuple(elts=[], ctx=ast.Load())))
    if layout == ("rows", "cols"):
        return value
    axes = [ast.Constant(1) if a == "1" else
            ast.Subscript(value=_attr(_name("_r"), "shape"), slice=ast.Constant(0 if a == "rows" else 1),
                          ctx=ast.Load()) for a in layout]
    return _call(_attr(value, "reshape"), *axes)


def _bind_dimensions(variables: dict[str, E.Var], params: dict[str, str],
                     dims: dict[sympy.Symbol, ast.expr]) -> None:
    """Each dimension symbol read off an input's shape: from an axis that is that symbol alone,
    else from a product such as m·n whose other factors are known (m = Y.shape[0] // n) — never
    m = Y.shape[0] for Y ∈ ℝ^(m·n)."""
    axes = [(sympy.sympify(d), ast.Subscript(value=_attr(_name(params[name]), "shape"),
                                             slice=ast.Constant(axis), ctx=ast.Load()))
            for name, v in variables.items() for axis, d in enumerate(v.shape)]
    for d, size in axes:
        if isinstance(d, sympy.Symbol):
            dims.setdefault(d, size)
    for d, size in axes:
        unknown = [sym for sym in d.free_symbols if sym not in dims]
        if len(unknown) != 1 or not isinstance(d, sympy.Mul):
            continue
        rest = d / unknown[0]
        if rest.free_symbols & set(unknown) or not all(
                f.is_Integer or f.is_Symbol for f in sympy.Mul.make_args(rest)):
            continue
        divisor = None
        for f in sympy.Mul.make_args(rest):
            code = ast.Constant(int(f)) if f.is_Integer else dims[f]
            divisor = code if divisor is None else _binop(divisor, ast.Mult(), code)
        dims[unknown[0]] = _binop(size, ast.FloorDiv(), divisor)


def generate(variables: dict[str, E.Var], outputs: list[Output], function_name: str,
             docstring: str, as_dict: bool, names: dict[E.Expr, str], value: Output | None = None
             ) -> tuple[ast.FunctionDef, set[str], dict[str, str]]:
    """One function computing every output; returns it, the helpers it needs and its parameter
    names. ``names`` are the printed names of shared subexpressions, reused for temporaries.
    With ``value``, the function returns ``(value, derivative)`` from one pass: what the two
    share is computed once."""
    dims: dict[sympy.Symbol, ast.expr] = {}
    emitter = _Emitter(variables, dims)
    params = {name: emitter.ids[v] for name, v in variables.items()}
    _bind_dimensions(variables, params, dims)
    emitter.helpers.add("_array")
    body: list[ast.stmt] = [ast.Expr(ast.Constant(docstring))]
    for name, v in variables.items():
        body.append(ast.Assign(targets=[ast.Name(id=params[name], ctx=ast.Store())],
                               value=_input(params[name], v), lineno=0))
    everything = ([value] if value is not None else []) + list(outputs)
    for node in _shared([o.expr for o in everything]):
        if node not in emitter.ids:
            emitter.bind(node, node.name if isinstance(node, E.Ref) else names.get(node, "t"))
    results = []
    for out in everything:
        code = emitter.code(out.expr)
        if any(a in ("rows", "cols") for a in out.layout) and out.layout != ("rows", "cols"):
            emitter.statements.append(ast.Assign(targets=[ast.Name(id="_r", ctx=ast.Store())],
                                                 value=code, lineno=0))
            code = _name("_r")
        results.append(_reshape(code, out.layout))
        if len(everything) > 1:
            emitter.statements.append(ast.Assign(targets=[ast.Name(id=f"_out{len(results)}", ctx=ast.Store())],
                                                 value=results[-1], lineno=0))
            results[-1] = _name(f"_out{len(results)}")
    derivatives = results[1:] if value is not None else results
    if as_dict:
        returned: ast.expr = ast.Dict(keys=[ast.Constant(o.key) for o in outputs], values=derivatives)
    else:
        returned = derivatives[0]
    if value is not None:
        returned = ast.Tuple(elts=[results[0], returned], ctx=ast.Load())
    prelude = []
    if emitter.dtype_used:   # np.eye, np.zeros, np.full in the inputs' floating type
        arrays = [_name(params[n]) for n, v in variables.items() if not v.is_scalar]
        dtype = _call("np.result_type", *arrays) if arrays else _name("float")
        prelude.append(ast.Assign(targets=[ast.Name(id="_dtype", ctx=ast.Store())], value=dtype, lineno=0))
    body.extend(optimise([*prelude, *emitter.statements, ast.Return(value=returned, lineno=0)],
                         emitter.taken, solves=emitter.inverses))
    args = ast.arguments(posonlyargs=[], args=[], vararg=None,
                         kwonlyargs=[ast.arg(arg=params[n]) for n in variables],
                         kw_defaults=[None] * len(variables), kwarg=None, defaults=[])
    function = ast.FunctionDef(name=function_name, args=args, body=body, decorator_list=[],
                               returns=None, type_params=[], lineno=0)
    return function, emitter.helpers, params


# ── the generated function's body, optimised as code ──────────────────────────────────────────────
# The IR names what it knows to be shared; what only the code shows shared (a node emitted inside
# a transpose, a reciprocal written as a division, σ(z) read through log σ(z) = −log(1 + e⁻ᶻ)) is
# found on the generated AST: dead assignments dropped, inverses used only in products turned into
# solves, then every repeated subexpression computed once. All passes are linear in the code size.

_INV = ("np", "linalg", "inv")


def _is_np(node: ast.AST, path: tuple[str, ...]) -> bool:
    """``node`` is the attribute chain np.a.b… spelled by ``path``."""
    for part in reversed(path[1:]):
        if not (isinstance(node, ast.Attribute) and node.attr == part):
            return False
        node = node.value
    return isinstance(node, ast.Name) and node.id == path[0]


def _inverse_of(node: ast.AST) -> tuple[ast.expr, bool] | None:
    """(A, transposed) for ``np.linalg.inv(A)`` or ``np.linalg.inv(A).T``, else None."""
    transposed = isinstance(node, ast.Attribute) and node.attr == "T"
    if transposed:
        node = node.value
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords and _is_np(node.func, _INV):
        return node.args[0], transposed
    return None


def _transposed(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return node.value
    return _attr(node, "T")


def _reads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _target(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
            isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id
    return None


def _live(statements: list[ast.stmt]) -> list[ast.stmt]:
    """Without assignments nothing reads (generated expressions have no side effects): one
    backward pass of liveness, so a chain of dead temporaries goes at once."""
    live: set[str] = set()
    kept: list[ast.stmt] = []
    for statement in reversed(statements):
        target = _target(statement)
        if target is not None:
            if target not in live:
                continue
            live.discard(target)
        kept.append(statement)
        live |= _reads(statement)
    kept.reverse()
    return kept


class _Keys:
    """Structural keys of expressions, interned to ints: equal code, equal key. A name's key
    includes how often it was assigned before, so ``_r`` of one output is not ``_r`` of the next.
    Keys are made children first, so a key's children always have smaller numbers."""

    def __init__(self) -> None:
        self.ids: dict[tuple, int] = {}
        self.children: list[list[int]] = []
        self.versions: Counter = Counter()

    def key(self, node: ast.AST, memo: dict[int, int]) -> int:
        known = memo.get(id(node))
        if known is not None:
            return known
        if isinstance(node, ast.Name):
            parts: tuple = ("Name", node.id, self.versions[node.id])
            children: list[int] = []
        elif isinstance(node, ast.Constant):
            parts, children = ("Constant", type(node.value).__name__, repr(node.value)), []
        else:
            fields: list = [type(node).__name__]
            children = []
            for field in node._fields:
                if field == "ctx":
                    continue
                value = getattr(node, field, None)
                if isinstance(value, list):
                    items = []
                    for item in value:
                        if isinstance(item, ast.AST):
                            k = self.key(item, memo)
                            children.append(k)
                            items.append(k)
                        else:
                            items.append(item)
                    fields.append(tuple(items))
                elif isinstance(value, (ast.expr, ast.keyword)):
                    k = self.key(value, memo)
                    children.append(k)
                    fields.append(k)
                elif isinstance(value, ast.AST):
                    fields.append(type(value).__name__)   # an operator
                else:
                    fields.append(value)
            parts = tuple(fields)
        number = self.ids.get(parts)
        if number is None:
            number = self.ids[parts] = len(self.children)
            self.children.append(children)
        memo[id(node)] = number
        return number


def _worth_sharing(node: ast.AST) -> bool:
    """Work worth a temporary when it is repeated: calls and arithmetic (not a name, a constant,
    a ``.T`` view or a negation)."""
    return isinstance(node, (ast.Call, ast.BinOp))


def _solves(statements: list[ast.stmt]) -> list[ast.stmt]:
    """inv(A) B → solve(A, B), B inv(A) → solve(Aᵀ, Bᵀ)ᵀ (and with inv(A)ᵀ) where each inverse is
    used at most twice and only as the first or last factor of a product; an inverse needed more
    often, or on its own, is computed once instead (the sharing pass below sees to that)."""
    uses: Counter = Counter()
    in_product: Counter = Counter()

    def key(a: ast.expr) -> str:
        return ast.dump(a)

    for statement in statements:
        for node in ast.walk(statement):
            inverse = _inverse_of(node) if isinstance(node, ast.Call) else None
            if inverse is not None:
                uses[key(inverse[0])] += 1
            for operand in _product_ends(node):
                inverse = _inverse_of(operand)
                if inverse is not None:
                    in_product[key(inverse[0])] += 1
    eligible = {k for k, n in uses.items() if n <= 2 and in_product[k] == n}
    if not eligible:
        return statements

    def solve(a: ast.expr, transposed: bool, rhs: ast.expr) -> ast.expr:
        return _call("np.linalg.solve", _transposed(a) if transposed else a, rhs)

    def rewrite(node: ast.AST):
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        if not isinstance(node, ast.AST) or isinstance(node, (ast.expr_context, ast.operator)):
            return node
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            left, right = _inverse_of(node.left), _inverse_of(node.right)
            if left is not None and key(left[0]) in eligible:
                return solve(rewrite(left[0]), left[1], rewrite(node.right))
            if right is not None and key(right[0]) in eligible:          # B A⁻¹ = (A⁻ᵀ Bᵀ)ᵀ
                return _attr(solve(rewrite(right[0]), not right[1], _transposed(rewrite(node.left))), "T")
        if _is_multi_dot(node):
            factors = node.args[0].elts
            first, last = _inverse_of(factors[0]), _inverse_of(factors[-1])
            if first is not None and key(first[0]) in eligible:
                return solve(rewrite(first[0]), first[1], rewrite(_matmul(factors[1:])))
            if last is not None and key(last[0]) in eligible:
                return _attr(solve(rewrite(last[0]), not last[1],
                                   _transposed(rewrite(_matmul(factors[:-1])))), "T")
        return type(node)(**{f: rewrite(getattr(node, f)) for f in node._fields if hasattr(node, f)})

    out = []
    for statement in statements:
        new = rewrite(statement)
        new.lineno = 0
        out.append(new)
    return out


def _is_multi_dot(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _is_np(node.func, ("np", "linalg", "multi_dot")) and \
        len(node.args) == 1 and isinstance(node.args[0], ast.List) and len(node.args[0].elts) >= 3


def _product_ends(node: ast.AST) -> list[ast.expr]:
    """The operands of a product that a solve can take the place of: both sides of ``@`` (only
    the left when both are inverses), the first and last factors of ``multi_dot``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        if _inverse_of(node.left) is not None:
            return [node.left]
        return [node.right]
    if _is_multi_dot(node):
        factors = node.args[0].elts
        if _inverse_of(factors[0]) is not None:     # the rest, a product again, keeps its last
            return [factors[0], factors[-1]]
        return [factors[-1]]
    return []


def _share(statements: list[ast.stmt], taken: set[str]) -> list[ast.stmt]:
    """Every repeated subexpression computed once, into a temporary before its first use (or the
    variable an assignment already computes it into). Counts are effective ones: a subexpression
    inside a shared one counts once for all copies of it."""
    keys = _Keys()
    values: list[int | None] = []           # each statement's value key
    versions: list[Counter] = []            # … and the versions of names assigned more than once
    top: Counter = Counter()
    assigned = Counter(t for t in map(_target, statements) if t is not None)
    for statement in statements:
        versions.append(Counter(keys.versions))
        value = getattr(statement, "value", None)
        k = keys.key(value, {}) if value is not None else None
        values.append(k)
        if k is not None:
            top[k] += 1
        target = _target(statement)
        if target is not None and assigned[target] > 1:   # such as _r: the rest are read only
            keys.versions[target] += 1                    # after their one assignment
    # occurrences(k) = top(k) + Σ over each parent occurrence: parents first (descending numbers)
    count = [0] * len(keys.children)
    for k, n in top.items():
        count[k] += n
    worth: dict[int, bool] = {}
    kinds = {number: parts[0] for parts, number in keys.ids.items()}
    shared = [False] * len(keys.children)
    for k in range(len(keys.children) - 1, -1, -1):
        shared[k] = count[k] >= 2 and kinds[k] in ("Call", "BinOp")
        passes = 1 if shared[k] else count[k]
        for child in keys.children[k]:
            count[child] += passes
    if not any(shared):
        return statements
    available: dict[int, str] = {}
    out: list[ast.stmt] = []

    def rebuild(node: ast.AST, memo: dict[int, int], version: Counter, is_value: bool):
        if isinstance(node, list):
            return [rebuild(item, memo, version, False) for item in node]
        if not isinstance(node, (ast.expr, ast.keyword)):
            return node
        k = keys.key(node, memo)
        if k in available:
            return _name(available[k])
        children = {f: rebuild(getattr(node, f), memo, version, False)
                    for f in node._fields if hasattr(node, f)}
        new = type(node)(**children)
        if shared[k] and not is_value:
            name = identifier("t", taken)
            out.append(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=new, lineno=0))
            available[k] = name
            return _name(name)
        return new

    for statement, k, version in zip(statements, values, versions):
        keys.versions = version
        if k is None:
            out.append(statement)
            continue
        value = rebuild(statement.value, {}, version, True)
        target = _target(statement)
        new = type(statement)(**{**{f: getattr(statement, f) for f in statement._fields if hasattr(statement, f)},
                                 "value": value})
        new.lineno = 0
        out.append(new)
        if target is not None and shared[k] and assigned[target] == 1 and k not in available:
            available[k] = target
    return out


def optimise(statements: list[ast.stmt], taken: set[str], solves: bool = True) -> list[ast.stmt]:
    """The body (after the input conversions) without dead code, with solves (``solves``: when
    there are inverses to look at), every repeated subexpression computed once."""
    statements = _live(statements)
    if solves:
        statements = _solves(statements)
    return _share(statements, taken)


def module(functions: list[ast.FunctionDef], helpers: set[str], docstring: str) -> str:
    body: list[ast.stmt] = [ast.Expr(ast.Constant(docstring)),
                            ast.Import(names=[ast.alias(name="numpy", asname="np")])]
    for name in sorted(helpers):
        body.extend(ast.parse(_HELPERS[name]).body)
    body.extend(functions)
    tree = ast.Module(body=body, type_ignores=[])
    for statement in [*body, *(s for f in functions for s in f.body)]:   # unparse reads the line
        if not hasattr(statement, "lineno"):                            # of statements only (not
            statement.lineno = 0                                        # a walk of every node)
    return ast.unparse(tree) + "\n"
