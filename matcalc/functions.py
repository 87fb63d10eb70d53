"""The elementwise-function table: one row per scalar function, everything about it in one place.

A row gives the spellings users may write, how to print it, its derivative (as an expression in the
argument ``x`` and the result ``y``, so σ′ reads σ∘(1−σ)), the NumPy spelling (a template over
``x``, numerically stable), a SymPy twin used as an independent oracle in tests, the input domain
for random test inputs, and the letter used when a printed result names a shared ``f(…)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import sympy

from . import expr as E


@dataclass(frozen=True)
class Function:
    name: str
    spellings: tuple[str, ...]
    text: str                 # unicode, e.g. "σ"
    latex: str                # e.g. r"\sigma"
    derivative: Callable[[E.Expr, E.Expr], E.Expr] | None   # (x, y=f(x)) -> f′(x); None: refused
    numpy: str                # template over x
    sympy: Callable[[sympy.Expr], sympy.Expr]
    domain: str = "real"      # "positive": sample x > 0 in numerical checks
    letter: str = "u"


def _one_minus(y: E.Expr) -> E.Expr:
    return E.sub(E.ones(y.shape), y)


_ROWS = [
    Function("sigmoid", ("sigmoid", "σ", "logistic"), "σ", r"\sigma",
             lambda x, y: E.hadamard(y, _one_minus(y)),
             "np.exp(-np.logaddexp(0.0, -x))", lambda z: 1 / (1 + sympy.exp(-z)), letter="s"),
    Function("tanh", ("tanh",), "tanh", r"\tanh",
             lambda x, y: _one_minus(E.power(y, E.const(2))),
             "np.tanh(x)", sympy.tanh, letter="t"),
    Function("exp", ("exp",), "exp", r"\exp", lambda x, y: y, "np.exp(x)", sympy.exp, letter="e"),
    Function("log", ("log", "ln"), "log", r"\log", lambda x, y: E.reciprocal(x),
             "np.log(x)", sympy.log, domain="positive", letter="l"),
    Function("sin", ("sin",), "sin", r"\sin", lambda x, y: E.elementwise("cos", x),
             "np.sin(x)", sympy.sin),
    Function("cos", ("cos",), "cos", r"\cos", lambda x, y: E.neg(E.elementwise("sin", x)),
             "np.cos(x)", sympy.cos),
    Function("sqrt", ("sqrt", "√"), "√", r"\sqrt",
             lambda x, y: E.scale(sympy.Rational(1, 2), E.reciprocal(y)),
             "np.sqrt(x)", sympy.sqrt, domain="positive", letter="r"),
    Function("abs", ("abs",), "abs", r"\operatorname{abs}", lambda x, y: E.elementwise("sign", x),
             "np.abs(x)", sympy.Abs),
    Function("relu", ("relu", "ReLU"), "relu", r"\operatorname{relu}",
             lambda x, y: E.elementwise("step", x), "np.maximum(x, 0.0)",
             lambda z: sympy.Max(z, 0), letter="h"),
    Function("softplus", ("softplus",), "softplus", r"\operatorname{softplus}",
             lambda x, y: E.elementwise("sigmoid", x), "np.logaddexp(0.0, x)",
             lambda z: sympy.log(1 + sympy.exp(z))),
    # Derivatives of abs and relu. Both are 0 at 0 (the convention JAX and PyTorch use for relu);
    # they are piecewise constant, so differentiating them again is refused rather than guessed.
    Function("sign", ("sign",), "sign", r"\operatorname{sign}", None, "np.sign(x)", sympy.sign),
    Function("step", ("step",), "step", r"\operatorname{step}", None, "np.heaviside(x, 0.0)",
             lambda z: sympy.Heaviside(z, 0)),
]

FUNCTIONS: dict[str, Function] = {row.name: row for row in _ROWS}
SPELLINGS: dict[str, Function] = {spelling: row for row in _ROWS for spelling in row.spellings}
