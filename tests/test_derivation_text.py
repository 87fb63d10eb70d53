"""The derivation steps and the LaTeX, as exact strings."""
import matcalc


def test_steps_follow_the_hand_derivation_of_seed_000():
    d = matcalc.derive("v = W x; s = σ(v); E = ½ (s−y):(s−y)", "W")
    assert [line.split("    [")[0] for line in d.steps_text()] == [
        "dE = (s − y) : ds",
        "ds = s ∘ (1 − s) ∘ dv",
        "dE = (s − y) : (s ∘ (1 − s) ∘ dv)",
        "dE = ((s − y) ∘ s ∘ (1 − s)) : dv",
        "dv = dW x",
        "dE = ((s − y) ∘ s ∘ (1 − s)) : dW x",
        "dE = ((s − y) ∘ s ∘ (1 − s)) xᵀ : dW",
    ]
    assert "A : (B ∘ C) = (A ∘ B) : C" in d.steps_text()[3]


def test_steps_are_latex_lines():
    d = matcalc.derive("E = ½‖σ(Wx)−y‖²", "W")
    assert d.steps[-1].startswith(r"\mathrm{d}E = \left(\left(s - y\right) \circ s \circ \left(1 - s\right)\right) x^{\top} : \mathrm{d}W")


def test_latex_of_the_closed_form():
    assert matcalc.latex("E = ½‖σ(Wx)−y‖²", "W") == (
        "\\begin{aligned}\n"
        "& \\frac{\\partial E}{\\partial W} = \\left(\\left(s - y\\right) \\circ s \\circ \\left(1 - s\\right)\\right) x^{\\top} \\\\\n"
        "& \\text{where } s = \\sigma\\left(W x\\right)\n"
        "\\end{aligned}")
    assert matcalc.latex("X in R^(n,n); f = logdet(X)", "X") == r"\frac{\partial f}{\partial X} = X^{-\top}"


def test_latex_names_use_subscripts_and_greek():
    text = matcalc.latex("x ∈ ℝ^{1×4}; r = x W1 + b1; θ = σ(r) W2; ŷ = softmax(θ); J = −sum(y ∘ log(ŷ))", "W2")
    assert r"W_{2}" in text and r"\hat{y}" in text and r"\theta" in text
