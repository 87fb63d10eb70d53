"""Patterns of the generated NumPy, checked on its AST across the whole corpus: every subexpression
computed once (also under a transpose), no dead assignment, solves instead of inverses used only
in products, one pass for value and derivative, the inputs' dtype kept, the wrapper bypassable,
and the matrix-chain order fixed when the sizes are known. Behaviour and code shape, never timings."""
from __future__ import annotations

import ast
from collections import Counter

import numpy as np
import pytest
import sympy

import matcalc
from matcalc.check import _usage_domains, dimension_sizes, sample

from corpus.cases import CASES

PUBLIC = ("derivative", "value", "value_and_derivative", "gradient")


def derivation(case) -> matcalc.Derivation:
    return matcalc.derive(case.source, list(case.wrt), of=case.of, order=case.order)


def functions(source: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(source)
    return {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name in PUBLIC}


def inputs_for(d: matcalc.Derivation, seed: int = 0, dtype=float) -> dict:
    variables = d.variables
    sizes = dimension_sizes(variables)
    domains = _usage_domains([d.function, *d.expressions.values()])
    rng = np.random.default_rng(seed)
    inputs = {}
    for name, v in variables.items():
        shape = tuple(int(sympy.sympify(n).xreplace(sizes)) for n in v.shape)
        domain = v.domain if v.domain != "real" else domains.get(v, "real")
        value = sample(v, shape, domain, rng, positive=True)
        inputs[name] = value if isinstance(value, float) else value.astype(dtype)
    return inputs


def _dead_and_repeated(function: ast.FunctionDef) -> list[str]:
    problems = []
    assigned = Counter(t.id for s in function.body if isinstance(s, ast.Assign)
                       for t in s.targets if isinstance(t, ast.Name))
    read = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    problems += [f"dead assignment {name}" for name in assigned if name not in read]
    calls = Counter()
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("inv", "det", "slogdet") and ast.unparse(node.func.value) == "np.linalg":
            calls[f"np.linalg.{node.func.attr}({ast.unparse(node.args[0])})"] += 1
    problems += [f"{call} computed {n} times" for call, n in calls.items() if n > 1]
    # any work (a call or arithmetic) repeated, where the names it reads are assigned once
    # (``_r`` is reassigned per output, so its text means different values)
    work = Counter()
    for statement in function.body[1:]:
        if isinstance(statement, ast.Assign) and statement.targets[0].id in {a.arg for a in function.args.kwonlyargs}:
            continue   # the input conversions
        for node in ast.walk(statement):
            if isinstance(node, (ast.Call, ast.BinOp)) and not any(
                    isinstance(n, ast.Name) and assigned[n.id] > 1 for n in ast.walk(node)):
                work[ast.dump(node)] += 1
    problems += [f"{text[:100]} computed {n} times" for text, n in work.items() if n > 1]
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_subexpression_once_and_no_dead_assignment(case):
    for name, function in functions(derivation(case).to_numpy()).items():
        assert not _dead_and_repeated(function), (name, _dead_and_repeated(function))


def test_an_inverse_under_a_transpose_is_shared():
    # −X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ: the inverse once, whether it is used as inv(X) or inv(X).T
    d = matcalc.derive("X, A, B in R^(n,n); f = tr(A X⁻¹ B + A X⁻¹)", "X")
    source = ast.unparse(functions(d.to_numpy())["derivative"])
    assert source.count("np.linalg.inv(X)") == 1
    d = matcalc.derive("X, A in R^(n,n); f = tr((X + A)⁻¹)", "X")
    source = ast.unparse(functions(d.to_numpy())["derivative"])
    assert source.count("np.linalg.inv(") + source.count("np.linalg.solve(") <= 2


def test_an_inverse_used_only_in_products_is_a_solve():
    d = matcalc.derive("a, b in R^n; X in R^(n,n); f = a' X⁻¹ b", "X")
    source = ast.unparse(functions(d.to_numpy())["derivative"])
    assert "np.linalg.solve" in source and "np.linalg.inv" not in source
    inputs = inputs_for(d)
    X_inv = np.linalg.inv(inputs["X"])
    expected = -np.outer(X_inv.T @ inputs["a"], inputs["b"] @ X_inv.T)
    np.testing.assert_allclose(d.compile()(**inputs), expected, rtol=1e-10, atol=1e-12)
    # tr(A X⁻¹ B): −X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ as two solves, no inverse
    d = matcalc.derive("X, A, B in R^(n,n); f = tr(A X⁻¹ B)", "X")
    source = ast.unparse(functions(d.to_numpy())["derivative"])
    assert "np.linalg.inv" not in source
    inputs = inputs_for(d)
    X_inv = np.linalg.inv(inputs["X"])
    np.testing.assert_allclose(d.compile()(**inputs), -X_inv.T @ inputs["A"].T @ inputs["B"].T @ X_inv.T,
                               rtol=1e-9, atol=1e-12)


def test_an_inverse_needed_on_its_own_stays_one_inverse():
    d = matcalc.derive("x, μ in R^n; Σ in SPD(n); L = ½ (x − μ)' Σ⁻¹ (x − μ) + ½ logdet(Σ)", "Σ")
    source = ast.unparse(functions(d.to_numpy())["derivative"])
    assert source.count("np.linalg.inv(Σ)") == 1 and "solve" not in source


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_value_and_derivative_from_one_pass(case):
    d = derivation(case)
    assert "value_and_derivative" in functions(d.to_numpy())
    inputs = inputs_for(d)
    with np.errstate(all="ignore"):
        value, derivative = d.compile(with_value=True)(**inputs)
        expected_value, expected = d.compile_value()(**inputs), d.compile()(**inputs)
    # same layout and types; the numbers agree to rounding (sharing one inverse between value and
    # derivative may replace a solve by a product with it)
    assert type(value) is type(expected_value) and type(derivative) is type(expected)
    close = dict(rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(value, expected_value, **close)
    if isinstance(expected, dict):
        assert list(derivative) == list(expected)
        for name in expected:
            assert np.shape(derivative[name]) == np.shape(expected[name])
            np.testing.assert_allclose(derivative[name], expected[name], **close)
    else:
        assert np.shape(derivative) == np.shape(expected)
        np.testing.assert_allclose(derivative, expected, **close)


def test_value_and_derivative_share_the_forward_pass():
    d = matcalc.derive("E = ½‖σ(Wx)−y‖²", "W")
    both = ast.unparse(functions(d.to_numpy())["value_and_derivative"])
    assert both.count("np.logaddexp") == 1 and both.count("W @ x") == 1
    value, gradient = d.compile(with_value=True)(W=np.eye(3), x=np.ones(3), y=np.zeros(3))
    assert isinstance(value, float) and gradient.shape == (3, 3)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_float32_in_float32_out(case):
    d = derivation(case)
    inputs64 = inputs_for(d)
    inputs32 = {k: v if isinstance(v, float) else v.astype(np.float32) for k, v in inputs64.items()}
    if all(isinstance(v, float) for v in inputs32.values()):
        return
    with np.errstate(all="ignore"):
        out32, out64 = d.compile()(**inputs32), d.compile()(**inputs64)
    out32 = out32 if isinstance(out32, dict) else {"": out32}
    out64 = out64 if isinstance(out64, dict) else {"": out64}
    for name, result in out32.items():
        if isinstance(result, float):
            continue   # scalars are Python floats
        assert result.dtype == np.float32, (name, result.dtype)
        scale = max(1.0, float(np.max(np.abs(out64[name])))) if out64[name].size else 1.0
        if np.all(np.isfinite(out64[name])):
            np.testing.assert_allclose(result, out64[name], rtol=2e-2, atol=2e-2 * scale)


def test_integer_and_boolean_inputs_become_float64():
    d = matcalc.derive("A in R^(2,2); x in R^2; f = sum(A x) + ‖x‖²", "x")
    out = d.compile()(A=np.array([[1, 2], [3, 4]]), x=np.array([True, False]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [1 + 3 + 2, 2 + 4])


def test_constants_and_identities_do_not_upcast():
    # an I, a broadcast 𝟏 and a scalar constant in the result
    d = matcalc.derive("x in R^n; A in R^(n,n); f = x' A x + sum(exp(x)) + 3 ‖x‖²", "x", order=2)
    source = d.to_numpy()
    assert "np.eye(" in source and "dtype=_dtype" in source
    x, A = np.arange(3, dtype=np.float32) / 3, np.eye(3, dtype=np.float32)
    assert d.compile()(x=x, A=A).dtype == np.float32
    d = matcalc.derive("A in R^(n,m); x in R^m; f = sum(A x)", "x")
    assert d.compile()(A=np.ones((2, 3), np.float32), x=np.ones(3, np.float32)).dtype == np.float32


def test_the_checks_can_be_bypassed():
    d = matcalc.derive("lambda in R; w in R^3; L = lambda ‖w‖²", "w")
    raw, checked = d.compile(check_inputs=False), d.compile()
    w = np.array([1.0, -2.0, 0.5])
    np.testing.assert_array_equal(raw(lambda_=0.1, w=w), checked(**{"lambda": 0.1}, w=w))
    assert raw.__code__.co_kwonlyargcount == 2 and raw.__code__.co_argcount == 0
    with pytest.raises(TypeError):
        raw(0.1, w)
    with pytest.raises(matcalc.InputError):
        checked(**{"lambda": 0.1}, w=np.ones(4))
    both = d.compile(with_value=True, check_inputs=False)
    value, gradient = both(lambda_=0.1, w=w)
    assert value == d.compile_value()(**{"lambda": 0.1}, w=w)
    np.testing.assert_array_equal(gradient, raw(lambda_=0.1, w=w))
    assert "check_inputs" in matcalc.Derivation.compile.__doc__
    assert "with_value" in matcalc.Derivation.compile.__doc__


def _matmuls(node: ast.AST) -> str:
    """The parenthesisation of a product of names: ``((A B) C)``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return f"({_matmuls(node.left)} {_matmuls(node.right)})"
    return ast.unparse(node)


def test_chain_order_is_fixed_when_sizes_are_known():
    d = matcalc.derive("A in R^(10,100); B in R^(100,5); C in R^(5,50); D in R^(50,1)\nf = sum(A B C D)", "D")
    value = functions(d.to_numpy())["value"]
    assert "multi_dot" not in ast.unparse(value)
    call, = [n for n in ast.walk(value) if isinstance(n, ast.Call) and ast.unparse(n.func) == "np.sum"]
    # costs: ((A B) C) D = 5000 + 2500 + 500; A (B (C D)) = 250 + 500 + 1000 — the DP's choice
    assert _matmuls(call.args[0]) == "(A (B (C D)))"
    d = matcalc.derive("A in R^(2,100); B in R^(100,50); C in R^(50,40); f = tr(A B C X)", "X")
    value = functions(d.to_numpy())["value"]
    call, = [n for n in ast.walk(value) if isinstance(n, ast.Call) and ast.unparse(n.func) == "np.trace"]
    assert _matmuls(call.args[0]) == "(((A B) C) X)"
    inputs = inputs_for(d)
    np.testing.assert_allclose(d.compile_value()(**inputs),
                               np.trace(inputs["A"] @ inputs["B"] @ inputs["C"] @ inputs["X"]))


def test_symbolic_sizes_keep_multi_dot():
    source = matcalc.derive("A, B, C, X in R^(n,n); f = tr(A X B C)", "X").to_numpy()
    assert "np.linalg.multi_dot" in source
