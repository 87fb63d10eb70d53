"""Generated NumPy: standalone, the documented array layout, and no overflow where the math is finite."""
import numpy as np
import pytest

import matcalc


def standalone(d: matcalc.Derivation) -> dict:
    """Execute the generated module with nothing but NumPy available."""
    namespace: dict = {"__builtins__": __builtins__}
    exec(d.to_numpy(), namespace)
    return namespace


def test_module_imports_only_numpy():
    source = matcalc.derive("E = ½‖σ(Wx)−y‖²", "W").to_numpy()
    imports = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert imports == ["import numpy as np"]


def test_array_layout_contract():
    d = matcalc.derive("A in R^(3,2); x in R^2; r in R^(1,3); c in R\nf = c (r A x)", ["A", "x", "r", "c"])
    out = d.compile()(A=np.ones((3, 2)), x=np.ones(2), r=np.ones((1, 3)), c=2.0)
    assert out["A"].shape == (3, 2)          # matrices stay 2-D
    assert out["x"].shape == (2,)            # column vectors are 1-D
    assert out["r"].shape == (1, 3)          # row vectors are (1, n)
    assert isinstance(out["c"], float)       # scalars are floats
    assert isinstance(d.compile_value()(A=np.ones((3, 2)), x=np.ones(2), r=np.ones((1, 3)), c=2.0), float)


def test_derivative_shape_is_sf_plus_sx_like_jax_jacobian():
    rows = matcalc.derive("x in R^(1,3); W in R^(3,2); f = x W", "x")
    assert rows.compile()(x=np.ones((1, 3)), W=np.ones((3, 2))).shape == (1, 2, 1, 3)
    mixed = matcalc.derive("x in R^3; W in R^(3,2); f = x' W", "x")
    assert mixed.compile()(x=np.ones(3), W=np.ones((3, 2))).shape == (1, 2, 3)
    scalar_wrt = matcalc.derive("t in R; A in R^(2,2); F = t A", "t")
    assert scalar_wrt.compile()(t=1.0, A=np.eye(2)).shape == (2, 2)


def test_every_free_variable_is_accepted_even_if_unused():
    d = matcalc.derive("f = u' x + ‖y‖²", "x")     # ∂f/∂x = u does not use y
    np.testing.assert_allclose(d.compile()(u=np.array([1.0, 2.0]), x=np.zeros(2), y=np.ones(3)), [1, 2])
    with pytest.raises(TypeError, match="missing y"):
        d.compile()(u=np.ones(2), x=np.zeros(2))


def test_jacobian_of_elementwise_map_broadcasts_instead_of_building_diag():
    d = matcalc.derive("W in R^(4,3); x in R^3; f = σ(W x)", "x")
    assert str(d).startswith("∂f/∂x = Diag(f ∘ (1 − f)) W")
    source = d.to_numpy()
    assert "diagflat" not in source and "np.diag(" not in source
    W, x = np.arange(12.0).reshape(4, 3) / 10, np.array([0.1, -0.2, 0.3])
    s = 1 / (1 + np.exp(-W @ x))
    np.testing.assert_allclose(d.compile()(W=W, x=x), np.diag(s * (1 - s)) @ W)


def test_chains_of_three_or_more_use_multi_dot():
    # symbolic sizes: the order is worked out per call (concrete sizes fix it at generation)
    source = matcalc.derive("A, B, C, X in R^(n,n); f = tr(A X B C)", "X").to_numpy()
    assert "np.linalg.multi_dot" in source


@pytest.mark.parametrize("source, wrt", [
    ("z in R^4; f = sum(σ(z))", "z"),
    ("z in R^4; f = sum(softplus(z))", "z"),
    ("z in R^4; f = logsumexp(z)", "z"),
    ("z in R^4; f = sum(softmax(z) ∘ z)", "z"),
    ("z in R^4; y in Simplex(4); f = −sum(y ∘ log(softmax(z)))", "z"),
    ("z in R^4; f = sum(log(σ(z)))", "z"),
])
def test_stable_where_the_math_is_finite(source, wrt):
    d = matcalc.derive(source, wrt)
    z = np.array([1000.0, -1000.0, 0.5, -0.5])
    inputs = {"z": z, "y": np.full(4, 0.25)} if "y" in source else {"z": z}
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        value = d.compile_value()(**inputs)
        gradient = d.compile()(**inputs)
    assert np.isfinite(value) and np.all(np.isfinite(gradient))


def test_identifiers_are_sanitised():
    d = matcalc.derive("lambda in R; np in R^3; f = lambda ‖np‖²", "np")
    out = d.compile()(**{"lambda": 2.0, "np": np.array([1.0, 2.0, 3.0])})
    np.testing.assert_allclose(out, [4.0, 8.0, 12.0])


def test_a_list_of_one_variable_still_returns_a_dict():
    d = matcalc.derive("f = ‖x‖²", ["x"])
    assert list(d.compile()(x=np.array([1.0, 2.0]))) == ["x"]
    assert isinstance(matcalc.derive("f = ‖x‖²", "x").compile()(x=np.array([1.0, 2.0])), np.ndarray)
