"""The surface language: spellings, precedence, declarations, name splitting and shape inference."""
import pytest

import matcalc
from matcalc import expr as E
from matcalc.parse import parse
from matcalc.resolve import resolve


def output(source: str) -> E.Expr:
    return resolve(parse(source)).output.children[0]


def shapes(source: str) -> dict:
    return {name: v.shape for name, v in resolve(parse(source)).variables.items()}


@pytest.mark.parametrize("unicode, ascii", [
    ("E = ½‖σ(Wx)−y‖²", "E = 1/2 * norm(sigmoid(W*x) - y)^2"),
    ("E = ½‖σ(Wx)−y‖²", "E = 0.5 * ||sigmoid(W @ x) - y||^2"),
    ("f = a ∘ b ⊘ c", "f = a .* b ./ c"),
    ("f = a ⊙ b", "f = a .* b"),
    ("f = Aᵀ B⁻¹", "f = A' * inv(B)"),
    ("f = Aᵀ B⁻¹", "f = A^T @ B^(-1)"),
    ("f = X⁻ᵀ", "f = inv(X)'"),
    ("f = x²", "f = x^2"),
    ("f = √x", "f = sqrt(x)"),
    ("f = A · B", "f = A * B"),
    ("f = A ⊗ B", "f = kron(A, B)"),
    ("f = ln(x) − 1", "f = log(x) - 1"),
    ("f = tr(A) + trace(B)", "f = trace(A) + tr(B)"),
    ("x ∈ ℝ^{1×4}; f = x x'", "x in R^(1,4); f = x*x^T"),
    ("S ∈ 𝕊^n; f = tr(S)", "S in Sym(n); f = tr(S)"),
])
def test_unicode_and_ascii_spellings_reach_the_same_ir(unicode, ascii):
    assert output(unicode) is output(ascii)


def test_juxtaposition_binds_tighter_than_explicit_products():
    # s ∘ Wx is s ∘ (W x)
    assert output("f = s ∘ Wx") is output("f = s ∘ (W*x)")


def test_frobenius_is_looser_than_products_and_tighter_than_sums():
    assert output("f = a + 2 B : C D") is output("f = a + ((2*B) : (C*D))")


def test_juxtaposed_names_split_into_known_parts():
    assert output("W2 in R^(3,3); h in R^(1,3); f = hW2") is output("W2 in R^(3,3); h in R^(1,3); f = h W2")
    assert shapes("f = Φθ") == shapes("f = Φ θ")


def test_names_with_digits_or_underscores_or_greek_words_stay_whole():
    assert set(shapes("f = A0 x0 + b_bias")) == {"A0", "x0", "b_bias"}
    assert set(shapes("f = theta' x")) == {"theta", "x"}


def test_inferred_shapes_follow_use_before_convention():
    # the bias b0 is added to a vector, so it is a vector despite its scalar-style name
    s = shapes("f = A0 x + b0")
    assert s["b0"] == (s["A0"][0], 1) and s["x"] == (s["A0"][1], 1)
    s = shapes("f = a x + b")
    assert s["a"] == (1, 1) and s["x"][1] == 1 and s["b"] == s["x"]


def test_naming_convention_fills_what_inference_leaves_open():
    s = shapes("f = x' A x")
    assert s["x"][1] == 1 and s["A"][0] == s["A"][1] == s["x"][0]


def test_row_vector_declaration_propagates_through_products():
    s = shapes("x ∈ ℝ^{1×4}; r = x W1 + b1")
    assert s["x"] == (1, 4) and s["W1"][0] == 4 and s["b1"] == (1, s["W1"][1])


def test_a_number_or_declared_scalar_broadcasts_over_a_vector():
    one_minus = output("h in R^3; f = 1 − h")
    assert isinstance(one_minus, E.Add) and isinstance(one_minus.children[0], E.Broadcast)
    scaled = output("c in R; h in R^3; f = c + h")
    assert isinstance(scaled.children[0], E.Broadcast)


def test_symbolic_dimensions_are_named_and_shared():
    s = shapes("A, B in R^(n,n); x in R^n; f = A B x")
    assert s["A"] == s["B"] and s["x"] == (s["A"][0], 1) and str(s["A"][0]) == "n"


def test_comments_semicolons_and_newlines_separate_statements():
    source = "# a model\nv = W x   # pre-activation\n\ns = σ(v); E = ½ (s−y):(s−y)\n"
    assert matcalc.derive(source, "W").of == "E"


def test_a_bare_expression_is_named_f():
    assert matcalc.derive("x' A x", "x").of == "f"


def test_matrix_powers_and_elementwise_powers():
    assert output("A in R^(3,3); f = A^2") is output("A in R^(3,3); f = A A")
    assert output("x in R^3; f = x.^2") is output("x in R^3; f = x .^ 2")
    assert output("A in R^(3,3); f = A^-1") is output("A in R^(3,3); f = inv(A)")


def test_norm_squared_is_a_frobenius_product():
    assert output("x in R^3; f = ‖x‖²") is output("x in R^3; f = x : x")


def test_identity_takes_its_size_from_use():
    assert output("A in R^(4,4); λ in R; f = A + λ I").shape == (4, 4)
