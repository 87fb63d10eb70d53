"""The three problems matcalc started from (../shared/seeds), end to end."""
import numpy as np

import matcalc
from helpers import assert_checks, assert_closed_form

SEED_000 = "E = ½‖σ(Wx)−y‖²"
NETWORK = "f1 = σ(A0 x + b0); f2 = σ(A1 f1 + b1); E = ½‖f2 − y‖²"
SEED_002 = ("x ∈ ℝ^{1×4}\nr = x W1 + b1; h = σ(r); θ = h W2 + b2; ŷ = softmax(θ)\n"
            "J = −sum(y ∘ log(ŷ))")


def test_seed_000_undeclared_shapes_are_inferred_symbolically():
    # ∂E/∂W = ((s − y) ∘ s ∘ (1 − s)) xᵀ with s = σ(Wx); W is n×m
    d = matcalc.derive(SEED_000, "W")
    assert str(d).splitlines()[:3] == ["∂E/∂W = ((s − y) ∘ s ∘ (1 − s)) xᵀ", "where", "  s = σ(W x)"]
    assert "with W ∈ ℝ^(n×m), x ∈ ℝ^m (guessed), y ∈ ℝ^n" in str(d).splitlines()
    assert_checks(d)


def test_seed_000_declared():
    d = matcalc.derive("W ∈ ℝ^{5×4}; x ∈ ℝ^4; y ∈ ℝ^5\n" + SEED_000, "W")
    assert str(d).startswith("∂E/∂W = ((s − y) ∘ s ∘ (1 − s)) xᵀ")
    W, x, y = np.ones((5, 4)) * 0.1, np.arange(4.0), np.linspace(0, 1, 5)
    assert d.compile()(W=W, x=x, y=y).shape == (5, 4)
    assert_checks(d)


def test_seed_000_multi_line_form_gives_the_same_gradient():
    d = matcalc.derive("v = W x; s = σ(v); E = ½ (s−y):(s−y)", "W")
    assert str(d).splitlines()[0] == "∂E/∂W = ((s − y) ∘ s ∘ (1 − s)) xᵀ"
    one_line = matcalc.derive(SEED_000, "W").compile()
    inputs = dict(W=np.random.default_rng(1).standard_normal((3, 2)), x=np.array([0.5, -1.0]),
                  y=np.array([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(d.compile()(**inputs), one_line(**inputs))


def test_seed_001_least_squares():
    d = matcalc.derive("L = ‖y − Φθ‖²", "θ")
    assert str(d).splitlines()[0] == "∂L/∂θ = −2 Φᵀ (y − Φ θ)"
    assert_checks(d)


def test_seed_001_two_layer_network_in_one_backward_pass():
    d = matcalc.derive(NETWORK, ["A0", "b0", "A1", "b1"])
    text = str(d)
    # the backpropagated error of each layer is named once and reused
    assert "∂E/∂A1 = v f1ᵀ" in text and "∂E/∂b1 = v" in text
    assert "∂E/∂A0 = u xᵀ" in text and "∂E/∂b0 = u" in text
    assert text.count("v = (f2 − y) ∘ f2 ∘ (1 − f2)") == 1
    assert_closed_form(d, "b0", "A1'((f2 − y) ∘ f2 ∘ (1 − f2)) ∘ f1 ∘ (1 − f1)")
    rng = np.random.default_rng(0)
    inputs = dict(A0=rng.standard_normal((3, 2)), x=rng.standard_normal(2), b0=rng.standard_normal(3),
                  A1=rng.standard_normal((2, 3)), b1=rng.standard_normal(2), y=rng.standard_normal(2))
    grads = d.compile()(**inputs)
    assert set(grads) == {"A0", "b0", "A1", "b1"}
    assert {k: v.shape for k, v in grads.items()} == {"A0": (3, 2), "b0": (3,), "A1": (2, 3), "b1": (2,)}
    # one backward pass: each definition is computed once in the generated code
    source = d.to_numpy().split("def value")[0]
    assert source.count("np.exp(-np.logaddexp(0.0, -") == 2
    assert_checks(d)


def test_seed_001_scalar_function():
    # df/dx = 2x (1/(2√(x² + e^{x²})) − sin(x² + e^{x²})) (1 + e^{x²})   (MML book eq. 5.110)
    d = matcalc.derive("x in R; f = √(x² + exp(x²)) + cos(x² + exp(x²))", "x")
    assert str(d).splitlines()[0] == "∂f/∂x = x (1 + e) (1/√(c) − 2 sin(c))"
    assert isinstance(d.compile()(x=0.3), float)
    assert_checks(d)


def test_seed_002_row_vectors_in_general():
    d = matcalc.derive(SEED_002, "x")
    assert str(d).splitlines()[0] == "∂J/∂x = ((sum(y) ŷ − y) W2ᵀ ∘ h ∘ (1 − h)) W1ᵀ"
    assert_checks(d)


def test_seed_002_with_a_probability_vector_y():
    d = matcalc.derive(SEED_002.replace("x ∈ ℝ^{1×4}", "x ∈ ℝ^{1×4}; y ∈ Δ^{1×3}"), "x")
    assert str(d).splitlines()[0] == "∂J/∂x = ((ŷ − y) W2ᵀ ∘ h ∘ (1 − h)) W1ᵀ"
    assert d.compile()(x=np.ones((1, 4)), W1=np.ones((4, 2)), b1=np.zeros((1, 2)),
                       W2=np.ones((2, 3)), b2=np.zeros((1, 3)),
                       y=np.array([[0.2, 0.3, 0.5]])).shape == (1, 4)
    assert_checks(d)


def test_seed_002_one_hot_is_a_probability_vector_too():
    d = matcalc.derive(SEED_002.replace("x ∈ ℝ^{1×4}", "x ∈ ℝ^{1×4}; y ∈ OneHot(1,3)"), "x")
    assert str(d).splitlines()[0] == "∂J/∂x = ((ŷ − y) W2ᵀ ∘ h ∘ (1 − h)) W1ᵀ"
