"""Export to SymPy: the exported expression evaluates to what the generated code computes, and it
agrees with SymPy's own matrix derivatives where SymPy has them."""
import numpy as np
import pytest
import sympy

import matcalc
from matcalc import UnsupportedError
from matcalc.check import sample
from matcalc.export_sympy import to_sympy


SIZES = {"n": 3, "m": 2, "p": 4}


def random_inputs(d: matcalc.Derivation) -> dict:
    rng = np.random.default_rng(0)
    dims = {sympy.Symbol(k, positive=True, integer=True): n for k, n in SIZES.items()}
    return {name: sample(v, tuple(int(sympy.sympify(s).xreplace(dims)) for s in v.shape),
                         "conditioned" if name == "X" else v.domain, rng, positive=False)
            for name, v in d.variables.items()}


def evaluate(expression, inputs: dict, sizes: dict = SIZES):
    """A SymPy matrix expression at concrete values."""
    concrete = expression.xreplace({sympy.Symbol(k, positive=True, integer=True): v for k, v in sizes.items()})
    values = {}
    for symbol in concrete.free_symbols:
        value = inputs[str(symbol)]
        values[symbol] = sympy.ImmutableMatrix(np.atleast_2d(value).reshape(symbol.shape)) \
            if isinstance(symbol, sympy.MatrixSymbol) else value
    result = concrete.xreplace(values).doit()
    return np.array(result.as_explicit() if hasattr(result, "as_explicit") else result, dtype=float)


@pytest.mark.parametrize("source, wrt", [
    ("A, X, B in R^(n,n); f = tr(A X B)", "X"),
    ("x in R^n; A in R^(n,n); f = x' A x", "x"),
    ("E = ½‖σ(Wx)−y‖²", "W"),
    ("X, A in R^(n,n); f = tr(inv(X) A) + logdet(X)", "X"),
    ("f1 = tanh(A0 x + b0); E = ½‖A1 f1 − y‖²", "A0"),
])
def test_export_evaluates_like_the_generated_code(source, wrt):
    d = matcalc.derive(source, wrt)
    inputs = random_inputs(d)
    expected = np.asarray(d.compile()(**inputs))
    got = evaluate(d.to_sympy(), inputs)
    np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("source, wrt", [
    ("A, X, B in R^(n,n); f = tr(A X B)", "X"),
    ("x in R^n; A in R^(n,n); f = x' A x", "x"),
    ("a, b in R^n; X in R^(n,n); f = a' X b", "X"),
])
def test_agrees_with_sympys_own_matrix_derivative(source, wrt):
    d = matcalc.derive(source, wrt)
    function = to_sympy(d.function)
    variable = next(s for s in function.free_symbols if str(s) == wrt)
    theirs = function.diff(variable)
    inputs = random_inputs(d)
    np.testing.assert_allclose(evaluate(d.to_sympy(), inputs), evaluate(theirs, inputs), rtol=1e-10)


def test_softmax_has_no_sympy_counterpart():
    with pytest.raises(UnsupportedError):
        matcalc.derive("x in R^3; f = logsumexp(x)", "x").to_sympy()
