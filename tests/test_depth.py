"""Deep inputs: no pass recurses on expression depth (no RecursionError, the recursion limit is
never touched), and results stay right. Deep IR is built directly with matcalc.expr, so these
tests do not depend on the parser; a few go end to end from source text. No timings here: see
benchmarks/bench_derive.py."""
import sys

import numpy as np
import pytest
import sympy

import matcalc
from matcalc import expr as E
from matcalc.api import Derivation
from matcalc.derive import MAX_DEFINITION_DEPTH, derive
from matcalc.printing.core import Printer
from matcalc.printing.naming import shared_names, where_clause
from matcalc.printing.text import TEXT
from matcalc.resolve import ResolvedProgram
from matcalc.rewrite import Normalizer, RewriteLimitExceeded, first_of
from matcalc.simplify import key, simplify

n = sympy.Symbol("n", positive=True, integer=True)
DEEP = 1200   # beyond the default recursion limit of 1000


@pytest.fixture(autouse=True)
def recursion_limit_untouched():
    limit = sys.getrecursionlimit()
    yield
    assert sys.getrecursionlimit() == limit


def _program(defs, variables):
    return ResolvedProgram("", variables, dict(defs), defs[-1][1], (n,))


def _sigmoid_chain(depth):
    x = E.var("x", (n, 1))
    h = x
    for _ in range(depth):
        h = E.elementwise("sigmoid", h)
    return x, h


def _finite_difference(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step.flat[i] = eps
        g.flat[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return g


def test_expr_helpers_are_iterative():
    x, h = _sigmoid_chain(20_000)
    d = E.differential(x)
    e = E.add(E.hadamard(h, d), d)
    assert E.depends_on(e, frozenset([x]))
    assert E.contains(e, d) and not E.contains(h, d)
    assert E.tree_size(h) == 20_001
    assert repr(h).count("Elementwise(") == 20_000
    assert key(h) is key(h) and key(h) != key(E.elementwise("tanh", h))
    assert key(E.elementwise("sin", h)) < key(E.elementwise("tanh", h))   # ordered like its tuples


def test_normalizer_is_iterative_and_its_budget_is_a_matcalc_error():
    x, h = _sigmoid_chain(20_000)
    assert simplify(h) is h
    flip = lambda e: E.transpose(e) if isinstance(e, E.Var) and e.shape == (n, n) else e   # noqa: E731
    loop = Normalizer(first_of(flip, lambda e: e.children[0] if isinstance(e, E.Transpose) else e),
                      budget=100)
    with pytest.raises(RewriteLimitExceeded) as info:
        loop(E.var("A", (n, n)))
    assert isinstance(info.value, matcalc.MatcalcError)


def test_nested_sigmoids_derive_print_and_compile():
    # ∂ sum(σ∘⋯∘σ(x))/∂x, as deep as one definition may be (a recursive pass would need several
    # frames per level, far past the default recursion limit): against finite differences
    x, h = _sigmoid_chain(MAX_DEFINITION_DEPTH - 2)
    f = E.ref("f", E.total(h))
    d = Derivation(derive(_program([("f", f)], {"x": x}), ["x"]))
    text = str(d)
    assert text.startswith("∂f/∂x = ")
    assert d.to_latex()
    gradient, value = d.compile(), d.compile_value()
    point = np.array([0.3, -0.2, 0.1])
    assert np.allclose(gradient(x=point), _finite_difference(lambda p: value(x=p), point), atol=1e-7)


def test_deep_network_as_statements():
    # h_k = tanh(W_k h_{k−1}), f = vᵀh_L: every W_k gradient, 300 layers
    layers, size = 300, 2
    x, v = E.var("x", (n, 1)), E.var("v", (n, 1))
    weights = [E.var(f"W{i}", (n, n)) for i in range(1, layers + 1)]
    h, defs = x, []
    for i, W in enumerate(weights, 1):
        h = E.ref(f"h{i}", E.elementwise("tanh", E.mul(W, h)))
        defs.append((f"h{i}", h))
    defs.append(("f", E.ref("f", E.mul(E.transpose(v), h))))
    variables = {"x": x, "v": v, **{W.name: W for W in weights}}
    d = Derivation(derive(_program(defs, variables), [W.name for W in weights]), as_dict=True)
    assert len(str(d).splitlines()) > layers
    assert len(d.steps_text()) > layers
    rng = np.random.default_rng(0)
    point = {"x": rng.normal(size=size), "v": rng.normal(size=size),
             **{W.name: rng.normal(size=(size, size)) * 0.5 for W in weights}}
    grads, value = d.compile()(**point), d.compile_value()
    for name in ("W1", f"W{layers // 2}", f"W{layers}"):
        numeric = _finite_difference(lambda w: value(**{**point, name: w}), point[name])
        assert np.allclose(grads[name], numeric, atol=1e-6)


def test_long_sum_and_long_product_generate_shallow_code():
    # ∂ Σ_k c_k xᵀx/∂x = 2 (Σ c_k) x with 1200 terms; xᵀ A⋯A x with 100 factors
    x = E.var("x", (n, 1))
    cs = [E.var(f"c{i}", (1, 1)) for i in range(DEEP)]
    f = E.ref("f", E.add(*(E.mul(c, E.mul(E.transpose(x), x)) for c in cs)))
    d = Derivation(derive(_program([("f", f)], {"x": x, **{c.name: c for c in cs}}), ["x"]))
    point = {"x": np.array([1.0, 2.0]), **{c.name: 1.0 for c in cs}}
    assert np.allclose(d.compile()(**point), 2 * DEEP * point["x"])
    A = E.var("A", (n, n))
    f = E.ref("f", E.mul(E.transpose(x), *([A] * 100), x))
    d = Derivation(derive(_program([("f", f)], {"x": x, "A": A}), ["x"]))
    a = np.array([[0.9, 0.1], [0.0, 1.0]])
    p = np.linalg.matrix_power(a, 100)
    assert np.allclose(d.compile()(x=np.array([1.0, 1.0]), A=a), (p + p.T) @ np.array([1.0, 1.0]))


def test_printer_and_naming_on_deep_shared_expressions():
    x, h = _sigmoid_chain(DEEP)
    roots = [E.hadamard(h, h), E.hadamard(h, E.elementwise("exp", h))]
    names = shared_names(roots, set())
    assert names[h] == "s"                                # the largest repeated node is named
    assert [name for name, _ in where_clause(roots, names)] == ["s"]
    text = Printer(TEXT, {})(h)
    assert text == "σ(" * DEEP + "x" + ")" * DEEP


def test_deep_source_end_to_end():
    # depends on the parser being iterative too
    depth = MAX_DEFINITION_DEPTH - 2
    d = matcalc.derive("x in R^n\nf = sum(" + "σ(" * depth + "x" + ")" * depth + ")", "x")
    assert str(d).startswith("∂f/∂x")
    assert d.compile()(x=np.array([0.5, -0.5])).shape == (2,)
    d = matcalc.derive("x in R^n\nf = sum(" + "(" * 2000 + "x" + ")" * 2000 + ")", "x")
    assert np.allclose(d.compile()(x=np.array([0.5, -0.5, 2.0])), 1.0)
