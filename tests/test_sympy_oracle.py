"""SymPy as an independent oracle: for scalar programs of scalars, matcalc's derivative agrees with
sympy.diff of the same expression at several points."""
import pytest
import sympy

import matcalc
from matcalc import expr as E
from matcalc.functions import FUNCTIONS
from matcalc.parse import parse
from matcalc.resolve import resolve
from matcalc.scalar_algebra import to_sympy

PROGRAMS = [
    "x in R; f = √(x² + exp(x²)) + cos(x² + exp(x²))",
    "x in R; f = σ(3 x) tanh(x)^2 / (1 + x²)",
    "x in R; f = log(1 + exp(sin(x))) x^3",
    "x in R; f = softplus(x) − relu(x − 5) + abs(x − 7)",
    "x in R; a = exp(−x²); b = a x + cos(a); f = b² / (1 + a)",
]


def sympy_of(source: str) -> tuple[sympy.Expr, sympy.Symbol]:
    atoms: dict = {}
    expression = to_sympy(_inline(resolve(parse(source)).output.children[0]), atoms)
    (x,) = [s for s, node in atoms.items() if getattr(node, "name", None) == "x"]
    real = expression.replace(lambda f: isinstance(f, sympy.core.function.AppliedUndef),
                              lambda f: FUNCTIONS[type(f).__name__].sympy(f.args[0]))
    return real, x


def _inline(e):
    """The body with definitions expanded, so SymPy sees the whole expression."""
    return E.substitute(e, {r: _inline(r.children[0]) for r in E.walk(e) if isinstance(r, E.Ref)})


@pytest.mark.parametrize("source", PROGRAMS)
def test_agrees_with_sympy(source):
    expression, x = sympy_of(source)
    derivative = sympy.diff(expression, x)
    ours = matcalc.derive(source, "x").compile()
    for value in (-1.3, 0.4, 2.2):
        assert ours(x=value) == pytest.approx(float(derivative.subs(x, value)), rel=1e-9, abs=1e-12)
