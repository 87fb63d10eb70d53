"""Numerical verification: the generated derivative against central finite differences of the
generated value function (second differences for Hessians), on random float64 inputs that
respect each variable's domain.

Domains come from declarations (Pos, Sym, SPD, Simplex, OneHot) and from use: a variable under
log or √ is sampled positive, one under logdet symmetric positive definite, one under an inverse
or det well-conditioned.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import sympy

from . import expr as E
from ._lazy import lazy_import
from .functions import FUNCTIONS

np = lazy_import("numpy", __name__, "np")   # imported by the first check, not by `import matcalc`

_SIZES = (3, 4, 5, 2, 6, 7)


@dataclass(frozen=True)
class CheckReport:
    passed: bool
    max_error: float                      # largest relative error over all results
    errors: dict[str, float]
    sizes: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def __str__(self) -> str:
        if self.note:
            return f"numerical check FAILED: {self.note}"
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        verdict = "passed" if self.passed else "FAILED"
        where = f" (sizes {sizes})" if sizes else ""
        return (f"numerical check {verdict}: largest relative error {self.max_error:.2e} against "
                f"central finite differences on random inputs{where}")


def dimension_sizes(variables: dict[str, E.Var]) -> dict[sympy.Symbol, int]:
    symbols = sorted({s for v in variables.values() for d in v.shape for s in sympy.sympify(d).free_symbols},
                     key=str)
    return {s: _SIZES[i % len(_SIZES)] + i // len(_SIZES) for i, s in enumerate(symbols)}


def _usage_domains(roots: list[E.Expr]) -> dict[E.Var, str]:
    found: dict[E.Var, str] = {}
    rank = {"positive": 1, "conditioned": 2, "spd": 3}
    for root in roots:
        for node in E.walk(root):
            need = None
            if isinstance(node, E.Elementwise) and FUNCTIONS[node.function].domain == "positive" or isinstance(node, E.Power) and not (isinstance(node.children[1], E.Const)
                                                    and node.children[1].value.is_integer):
                need = "positive"
            elif isinstance(node, E.LogDet):
                need = "spd"
            elif isinstance(node, (E.Inverse, E.Det)):
                need = "conditioned"
            if need:
                x = node.children[0]
                x = x.children[0] if isinstance(x, E.Transpose) else x
                if isinstance(x, E.Var) and rank[need] > rank.get(found.get(x, ""), 0):
                    found[x] = need
    return found


def sample(v: E.Var, shape: tuple[int, int], domain: str, rng: np.random.Generator, positive: bool):
    r, c = shape
    if domain == "positive" or (positive and domain in ("real",)):
        value = rng.uniform(0.5, 2.0, size=shape)
    elif domain == "symmetric":
        a = rng.standard_normal(shape)
        value = (a + a.T) / 2
    elif domain == "spd":
        a = rng.standard_normal(shape)
        value = a @ a.T / r + np.eye(r)
    elif domain == "conditioned":
        value = np.eye(r) * 2.0 + 0.4 * rng.standard_normal(shape)
    elif domain == "simplex":
        w = rng.uniform(0.2, 1.0, size=shape)
        value = w / w.sum()
    elif domain == "onehot":
        value = np.zeros(shape)
        value.flat[rng.integers(r * c)] = 1.0
    else:
        value = rng.standard_normal(shape)
    if v.is_scalar:
        return float(value.reshape(()))
    return value.reshape(-1) if v.is_column else value


def _perturbed(inputs: dict, name: str, x0: np.ndarray, steps: dict[int, float]) -> dict:
    x = x0.copy()
    for j, h in steps.items():
        x.flat[j] += h
    return {**inputs, name: float(x.reshape(())) if np.ndim(inputs[name]) == 0 else x}


def _value(f: Callable, inputs: dict) -> np.ndarray:
    return np.asarray(f(**inputs), dtype=float).reshape(-1)


def finite_difference(f: Callable, inputs: dict, name: str, step: float = 1e-6) -> np.ndarray:
    """∂f/∂inputs[name] by central differences, shaped (size of f, size of the input)."""
    x0 = np.asarray(inputs[name], dtype=float)
    columns = []
    for j in range(x0.size):
        h = step * max(1.0, abs(x0.flat[j]))
        columns.append((_value(f, _perturbed(inputs, name, x0, {j: h}))
                        - _value(f, _perturbed(inputs, name, x0, {j: -h}))) / (2 * h))
    return np.stack(columns, axis=1)


def second_difference(f: Callable, inputs: dict, name: str, step: float = 1e-4) -> np.ndarray:
    """∂²f/∂x∂xᵀ of a scalar f by central second differences of its value, (size x, size x):
    (f(x + hᵢ + hⱼ) − f(x + hᵢ − hⱼ) − f(x − hᵢ + hⱼ) + f(x − hᵢ − hⱼ)) / 4hᵢhⱼ."""
    x0 = np.asarray(inputs[name], dtype=float)
    n = x0.size
    hs = [step * max(1.0, abs(x0.flat[j])) for j in range(n)]

    def at(i: int, si: int, j: int, sj: int) -> float:
        steps: dict[int, float] = {i: si * hs[i]}
        steps[j] = steps.get(j, 0.0) + sj * hs[j]
        return float(_value(f, _perturbed(inputs, name, x0, steps))[0])

    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = (at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1)
                                 + at(i, -1, j, -1)) / (4 * hs[i] * hs[j])
    return H


def relative_error(analytic, numeric: np.ndarray, floor: float) -> float:
    """Largest entry error relative to the larger of the two results — so a derivative that is
    small and wrong fails — but never relative to less than ``floor``, the size below which
    finite differences of the value cannot see anything."""
    a = np.asarray(analytic, dtype=float).reshape(numeric.shape)
    if not a.size:
        return 0.0
    scale = max(floor, float(np.max(np.abs(numeric))), float(np.max(np.abs(a))))
    return float(np.max(np.abs(a - numeric)) / scale)


def verify(variables: dict[str, E.Var], roots: list[E.Expr], value: Callable, derivative: Callable,
           wrt: list[str], order: int = 1, tolerance: float | None = None, seed: int = 0) -> CheckReport:
    """Compare ``derivative`` with finite differences of the function's ``value`` for each of
    ``wrt``: central first differences, or second differences of the value for a Hessian. Never
    against anything derived, so a wrong gradient cannot vouch for a wrong Hessian."""
    if tolerance is None:   # second differences lose about two more digits to rounding
        tolerance = 1e-5 if order == 1 else 1e-4
    numeric = finite_difference if order == 1 else second_difference
    noise = 1e-4 if order == 1 else 1e-2   # of the function's size, below which differences are rounding
    sizes = dimension_sizes(variables)
    domains = _usage_domains(roots)
    size_names = {str(s): n for s, n in sizes.items()}
    errors: dict[str, float] = {}
    for attempt in range(4):   # later attempts sample real variables positive (e.g. log(x ∘ y))
        rng = np.random.default_rng(seed + attempt)
        inputs = {}
        for name, v in variables.items():
            shape = tuple(int(sympy.sympify(d).xreplace(sizes)) for d in v.shape)
            domain = v.domain if v.domain != "real" else domains.get(v, "real")   # declarations win
            inputs[name] = sample(v, shape, domain, rng, positive=attempt > 0)
        try:
            with np.errstate(all="ignore"):
                f = _value(value, inputs)
                if not np.all(np.isfinite(f)):
                    continue
                result = derivative(**inputs)
                results = result if isinstance(result, dict) else {wrt[0]: result}
                floor = noise * max(1.0, float(np.max(np.abs(f)))) if f.size else noise
                errors = {name: relative_error(results[name], numeric(value, inputs, name), floor)
                          for name in wrt}
        except np.linalg.LinAlgError:   # singular at this point: try another
            errors = {}
            continue
        if all(np.isfinite(e) for e in errors.values()):
            break
    if not errors or not all(np.isfinite(e) for e in errors.values()):
        return CheckReport(False, float("inf"), {}, size_names,
                           note="the function could not be evaluated at finite values on random inputs")
    worst = max(errors.values())
    return CheckReport(bool(worst <= tolerance), worst, errors, size_names)
