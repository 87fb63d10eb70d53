"""The independent oracle: the value of a program, computed without matcalc's derivative code or
generated code.

The program text is parsed and resolved by matcalc (``matcalc.parse.parse`` +
``matcalc.resolve.resolve``: the resolved IR of matcalc/expr.py), and the IR is evaluated here by a
small NumPy interpreter, one function per node type, iteratively (children before parents through
``expr.walk``, which uses an explicit stack), so programs of any depth evaluate. Every value is a
2-D float array, as inside matcalc: a column n×1, a row 1×n, a scalar 1×1.

Derivatives are never taken symbolically here: ``fd_jacobian`` and ``fd_hessian`` are central
first and second differences of the value function only.

Nothing in this module imports matcalc's derive, simplify, check or codegen modules.
"""
from __future__ import annotations

import numpy as np
import sympy

from matcalc import expr as E


class OracleError(Exception):
    """The oracle cannot evaluate this IR (an unknown node, an inconsistent shape …)."""


class IllConditioned(Exception):
    """The point is badly conditioned (a near-singular inverse): finite differences are unreliable."""


class Undefined(IllConditioned):
    """Some intermediate value is not finite (√ or a fractional power of a negative entry, log of
    a non-positive one, overflow): the function is not defined here, even if the NaN is later
    multiplied by zero or dropped by a trace."""


# ── elementwise functions: our own NumPy spellings, written from the mathematics ────────────────

def _sigmoid(x):
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _log(x):
    with np.errstate(all="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.where(x == 0, -np.inf, np.nan))


def _sqrt(x):
    with np.errstate(all="ignore"):
        return np.where(x >= 0, np.sqrt(np.abs(x)), np.nan)


ELEMENTWISE = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "exp": np.exp,
    "log": _log,
    "sin": np.sin,
    "cos": np.cos,
    "sqrt": _sqrt,
    "abs": np.abs,
    "relu": lambda x: np.where(x > 0, x, 0.0),
    "softplus": lambda x: np.where(x > 30, x, np.log1p(np.exp(np.minimum(x, 30.0)))),
    "sign": np.sign,
    "step": lambda x: np.where(x > 0, 1.0, 0.0),
}

# Functions with a kink or a jump: finite differences near the kink are meaningless.
KINKED = {"abs", "relu", "sign", "step"}


def softmax(v):
    z = v - np.max(v)
    e = np.exp(z)
    return e / np.sum(e)


def logsumexp(v):
    m = np.max(v)
    return m + np.log(np.sum(np.exp(v - m)))


def power(base, exponent):
    with np.errstate(all="ignore"):
        k = float(exponent)
        if k == int(k):
            return np.power(base, k)
        return np.where(base >= 0, np.power(np.abs(base), k), np.nan)


COND_LIMIT = 1e6


def _conditioned(a):
    if not np.all(np.isfinite(a)):
        return
    if np.linalg.cond(a) > COND_LIMIT:
        raise IllConditioned("near-singular matrix")


def inverse(a):
    _conditioned(a)
    return np.linalg.inv(a)


def det(a):
    _conditioned(a)
    return np.linalg.det(a)


def logdet(a):
    _conditioned(a)
    sign, value = np.linalg.slogdet(a)
    return value if sign != 0 else -np.inf


def diag_mat(v):
    return np.diag(np.asarray(v).reshape(-1))


def partial_trace(x, which, a, b, c, d):
    blocks = x.reshape(a, c, b, d)           # X[(i, k), (j, l)] = blocks[i, k, j, l]
    if which == 2:                           # trace each c×c block: a×b
        return np.einsum("ikjk->ij", blocks)
    return np.einsum("ikil->kl", blocks)     # sum the diagonal blocks: c×d


# ── the IR interpreter ──────────────────────────────────────────────────────────────────────────

def size_of(d, sizes: dict) -> int:
    """A dimension (int or sympy expression in dimension symbols) as an int."""
    value = sympy.sympify(sympy.sympify(d).xreplace(sizes) if sizes else d)
    if not value.is_Integer:
        raise OracleError(f"dimension {d} is not bound to an integer ({value})")
    return int(value)


def concrete_shape(shape, sizes: dict) -> tuple[int, int]:
    return (size_of(shape[0], sizes), size_of(shape[1], sizes))


def _const(node, sizes):
    value = node.value.xreplace(sizes) if sizes else node.value
    return float(value)


def _product(node, vals):
    scale = 1.0
    chain = []
    for child, v in zip(node.children, vals):
        if child.shape == E.SCALAR:
            scale = scale * v[0, 0]
        else:
            chain.append(v)
    if not chain:
        return np.array([[scale]])
    out = chain[0]
    for m in chain[1:]:
        if out.shape[1] != m.shape[0]:
            raise OracleError(f"product chain {out.shape} × {m.shape}")
        out = out @ m
    return scale * out


def _same(vals):
    shape = vals[0].shape
    if any(v.shape != shape for v in vals):
        raise OracleError("operands of different shapes: " + ", ".join(str(v.shape) for v in vals))


def _add(node, vals):
    _same(vals)
    return sum(vals[1:], vals[0].copy())


def _hadamard(node, vals):
    _same(vals)
    out = vals[0].copy()
    for v in vals[1:]:
        out = out * v
    return out


def _vector(v, what):
    if v.shape[0] != 1 and v.shape[1] != 1:
        raise OracleError(f"{what} of a matrix {v.shape}")
    return v


def _square(v, what):
    if v.shape[0] != v.shape[1]:
        raise OracleError(f"{what} of a non-square {v.shape}")
    return v


def _elementwise(node, vals):
    fn = ELEMENTWISE.get(node.function)
    if fn is None:
        raise OracleError(f"the oracle has no row for the elementwise function {node.function!r}")
    with np.errstate(all="ignore"):
        return np.asarray(fn(vals[0]), dtype=float)


_EVAL = {
    E.Add: _add,
    E.Product: _product,
    E.Hadamard: _hadamard,
    E.Transpose: lambda node, vals: vals[0].T.copy(),
    E.Elementwise: _elementwise,
    E.Power: lambda node, vals: power(vals[0], vals[1][0, 0]),
    E.Inverse: lambda node, vals: inverse(_square(vals[0], "inverse")),
    E.Det: lambda node, vals: np.array([[det(_square(vals[0], "det"))]]),
    E.LogDet: lambda node, vals: np.array([[logdet(_square(vals[0], "logdet"))]]),
    E.Trace: lambda node, vals: np.array([[np.trace(_square(vals[0], "trace"))]]),
    E.DiagVec: lambda node, vals: np.diag(_square(vals[0], "diag")).reshape(-1, 1).copy(),
    E.DiagMat: lambda node, vals: diag_mat(_vector(vals[0], "Diag")),
    E.Sum: lambda node, vals: np.array([[np.sum(vals[0])]]),
    E.Softmax: lambda node, vals: softmax(_vector(vals[0], "softmax")),
    E.LogSumExp: lambda node, vals: np.array([[logsumexp(_vector(vals[0], "logsumexp"))]]),
    E.Norm: lambda node, vals: np.array([[np.sqrt(np.sum(vals[0] * vals[0]))]]),
    E.Kron: lambda node, vals: np.kron(vals[0], vals[1]),
    E.Frobenius: lambda node, vals: (_same(vals), np.array([[np.sum(vals[0] * vals[1])]]))[1],
    E.PartialTrace: lambda node, vals: partial_trace(vals[0], *node.params),
    E.Ref: lambda node, vals: vals[0],
}


def evaluate(root: E.Expr, inputs: dict, sizes: dict, kinks: list | None = None,
             strict: bool = True) -> np.ndarray:
    """The value of the IR ``root`` (2-D float array) at ``inputs`` (name → array in any layout
    with the right number of entries), with symbolic dimensions bound by ``sizes``. When ``kinks``
    is a list, the smallest |argument| of each kinked function (abs, relu, sign, step) is appended:
    finite differences are meaningless at a kink. ``strict``: raise ``Undefined`` when any
    intermediate value is not finite."""
    values: dict[int, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for node in E.walk(root):
            t = type(node)
            if t is E.Var:
                shape = concrete_shape(node.shape, sizes)
                v = np.asarray(inputs[node.name], dtype=float)
                if v.size != shape[0] * shape[1]:
                    raise OracleError(f"input {node.name} has {v.size} entries, expected {shape}")
                value = v.reshape(shape)
            elif t is E.Const:
                value = np.array([[_const(node, sizes)]])
            elif t is E.Identity:
                value = np.eye(size_of(node.shape[0], sizes))
            elif t is E.Zero:
                value = np.zeros(concrete_shape(node.shape, sizes))
            elif t is E.Broadcast:
                value = np.full(concrete_shape(node.shape, sizes), values[id(node.children[0])][0, 0])
            elif t in _EVAL:
                value = _EVAL[t](node, [values[id(c)] for c in node.children])
                if kinks is not None and t is E.Elementwise and node.function in KINKED:
                    arg = values[id(node.children[0])]
                    kinks.append(float(np.min(np.abs(arg))) if arg.size else np.inf)
                elif kinks is not None and t is E.Norm:      # ‖e‖ is not differentiable at e = 0
                    kinks.append(float(value[0, 0]))
            else:
                raise OracleError(f"the oracle has no rule for {t.__name__}")
            value = np.asarray(value, dtype=float)
            if strict and not np.all(np.isfinite(value)):
                raise Undefined(f"{t.__name__} is not finite")
            if value.ndim != 2:
                value = value.reshape(1, 1) if value.size == 1 else value
            expected = concrete_shape(node.shape, sizes)
            if value.shape != expected:
                raise OracleError(f"{t.__name__} evaluates to {value.shape}, its IR shape is {expected}")
            values[id(node)] = value
    return values[id(root)]


def kinked(root: E.Expr) -> bool:
    """Whether the expression has a kink or a jump somewhere (abs, relu, sign, step)."""
    return any(isinstance(n, E.Elementwise) and n.function in KINKED for n in E.walk(root))


def operators(root: E.Expr) -> list[str]:
    """The operator set of an expression: node types and elementwise function names."""
    found = set()
    for n in E.walk(root):
        if isinstance(n, (E.Var, E.Const, E.Ref)):
            continue
        found.add(n.function if isinstance(n, E.Elementwise) else type(n).__name__)
    return sorted(found)


# ── finite differences of the value only ────────────────────────────────────────────────────────

def fd_jacobian(f, x0: np.ndarray, h: float) -> np.ndarray:
    """(size f) × (size x) central first differences of ``f`` (array → flat array) at ``x0``."""
    x0 = np.asarray(x0, dtype=float)
    columns = []
    for j in range(x0.size):
        step = h * max(1.0, abs(x0.flat[j]))
        plus, minus = x0.copy(), x0.copy()
        plus.flat[j] += step
        minus.flat[j] -= step
        columns.append((f(plus) - f(minus)) / (2 * step))
    return np.stack(columns, axis=1)


def fd_hessian(f, x0: np.ndarray, h: float) -> np.ndarray:
    """(size x) × (size x) central second differences of the scalar ``f`` at ``x0``."""
    x0 = np.asarray(x0, dtype=float)
    n = x0.size
    steps = [h * max(1.0, abs(x0.flat[j])) for j in range(n)]
    H = np.empty((n, n))
    f0 = f(x0)[0]
    for i in range(n):
        for j in range(i, n):
            if i == j:
                plus, minus = x0.copy(), x0.copy()
                plus.flat[i] += steps[i]
                minus.flat[i] -= steps[i]
                H[i, i] = (f(plus)[0] - 2 * f0 + f(minus)[0]) / steps[i] ** 2
                continue
            vals = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                x = x0.copy()
                x.flat[i] += si * steps[i]
                x.flat[j] += sj * steps[j]
                vals.append(f(x)[0])
            H[i, j] = H[j, i] = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * steps[i] * steps[j])
    return H
