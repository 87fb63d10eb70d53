"""Reading the program as a reader of a paper would: precedence, the naming convention, and input
that must give a MatcalcError with a position (never a crash, a hang or a silent guess)."""
import numpy as np
import pytest
import sympy

import matcalc
from matcalc import MatcalcError, NameResolutionError, ParseError, ShapeError, UnsupportedError
from matcalc.errors import Span
from matcalc.parse import parse
from matcalc.resolve import resolve

rng = np.random.default_rng(7)


def gradient(source, wrt, **values):
    return matcalc.derive(source, wrt).compile()(**values)


# ── precedence: '/' binds like juxtaposition, left to right ─────────────────────────────────────

def test_lambda_over_two_times_norm_squared_is_ridge():
    # ∂/∂w (λ/2)‖w‖² = λ w
    w, lam = rng.standard_normal(4), 0.7
    got = gradient("w in R^4; lam in R; L = lam/2 ||w||^2", "w", w=w, lam=lam)
    assert np.allclose(got, lam * w)
    got = gradient("w ∈ ℝ^4; λ ∈ ℝ; L = λ/2 ‖w‖²", "w", w=w, λ=lam)
    assert np.allclose(got, lam * w)


def test_one_half_norm_of_sigmoid_residual():
    # ∂/∂W ½‖σ(Wx) − y‖² = ((s − y) ∘ s ∘ (1 − s)) xᵀ
    W, x, y = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal(3)
    got = gradient("W in R^(3,2); x in R^2; y in R^3; E = 1/2 ||sigmoid(W x) - y||^2", "W", W=W, x=x, y=y)
    s = 1 / (1 + np.exp(-W @ x))
    assert np.allclose(got, np.outer((s - y) * s * (1 - s), x))


def test_one_over_two_x_is_half_x():
    # ∂/∂x sum(1/2x) = ½ 𝟏
    got = gradient("x in R^3; f = sum(1/2x)", "x", x=rng.standard_normal(3))
    assert np.allclose(got, 0.5 * np.ones(3))


def test_a_over_b_c_is_a_over_b_times_c():
    # ∂/∂c (a/b) c = a/b, and a/b/c = (a/b)/c
    got = gradient("a, b, c in R; f = a/b c", "c", a=3.0, b=2.0, c=5.0)
    assert np.isclose(got, 1.5)
    got = gradient("a, b, c in R; f = a/b/c", "a", a=3.0, b=2.0, c=5.0)
    assert np.isclose(got, 0.1)


@pytest.mark.parametrize("source, same_as", [
    ("f = -x^2", "f = -(x^2)"),
    ("f = x'A x", "f = (x') A x"),
    ("f = 2^-1 x", "f = (1/2) x"),
    ("f = s ∘ W x", "f = s ∘ (W x)"),
    ("f = a ∘ b / 2", "f = a ∘ (b / 2)"),
    ("f = λ/2 x'x", "f = (λ/2) (x'x)"),
    ("f = x^2y", "f = (x^2) y"),
])
def test_precedence_traps(source, same_as):
    assert resolve(parse(source)).output.children[0] is resolve(parse(same_as)).output.children[0]


def test_matrix_inverse_spelled_with_a_negative_exponent():
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    got = gradient("A in R^(3,3); f = tr(A^-1)", "A", A=A)
    inv = np.linalg.inv(A)
    assert np.allclose(got, -(inv @ inv).T)


# ── the naming convention ─────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("name", ["lambda", "alpha", "beta", "gamma", "delta", "epsilon", "eta",
                                  "kappa", "rho", "sigma", "tau", "omega", "lambda2", "lambda_1", "σ2"])
def test_spelled_out_greek_scalar_names_are_scalars(name):
    program = resolve(parse(f"w in R^4; L = {name}/2 ‖w‖²"))
    assert program.variables[name].shape == (1, 1)
    assert program.output.shape == (1, 1)
    assert program.shape_origin == {"w": "declared", name: "convention"}


def test_undeclared_lambda_gives_the_ridge_gradient():
    w = rng.standard_normal(4)
    assert np.allclose(gradient("w in R^4; L = lambda ‖w‖²", "w", w=w, **{"lambda": 2.0}), 4 * w)


def test_shape_origin_tells_declared_inferred_and_guessed_shapes():
    origin = resolve(parse("x in R^3; f = sum(σ(W x)) + c")).shape_origin
    assert origin == {"x": "declared", "W": "inferred", "c": "convention"}


def test_output_dimension_guessed_by_the_convention_is_reported():
    # mu is guessed to be a vector, so "L" is a vector only because of that guess
    program = resolve(parse("w in R^4; L = mu ‖w‖²"))
    assert program.shape_origin["mu"] == "convention"
    assert program.guessed_dims == (program.variables["mu"].shape[0],)


def test_jacobian_programs_without_declarations_have_no_guessed_dimensions():
    assert resolve(parse("f = σ(W x)")).guessed_dims == ()
    assert resolve(parse("x in R^3; f = sigmoid(x)")).guessed_dims == ()


def test_undeclared_e_raised_to_a_power_is_eulers_number():
    # ∂/∂x e^(xᵀx) = 2 e^(xᵀx) x
    x = rng.standard_normal(3) / 3
    for spelling in ("e^(x'x)", "e^{x'x}", "exp(x'x)"):
        assert np.allclose(gradient(f"x in R^3; f = {spelling}", "x", x=x), 2 * np.exp(x @ x) * x)
    assert set(resolve(parse("x in R^3; f = sum(e^x)")).variables) == {"x"}


def test_a_declared_e_stays_the_users():
    program = resolve(parse("e in R; x in R; f = e^x"))
    assert set(program.variables) == {"e", "x"}


def test_e_as_both_a_variable_and_eulers_number_is_an_error():
    with pytest.raises(NameResolutionError, match="Euler"):
        resolve(parse("x in R; f = e + e^x"))


def test_matrix_exponential_is_refused():
    with pytest.raises(UnsupportedError, match="matrix exponential"):
        resolve(parse("X in R^(3,3); f = sum(e^X)"))


@pytest.mark.parametrize("source, name", [
    ("x in R^3; f = sum_i log(x)", "sum_i"),
    ("x in R^3; f = log(y_i) + sum(x)", "y_i"),
    ("f = prod_k(x)", "prod_k"),
    ("f = sum_i(x_i)", "sum_i"),
])
def test_index_notation_is_an_error_not_invented_variables(source, name):
    with pytest.raises(NameResolutionError) as info:
        resolve(parse(source))
    assert name in info.value.message and "index notation" in info.value.hint
    assert info.value.span is not None and "^" in str(info.value)


def test_inferred_dimension_names_avoid_variable_names():
    # the triplet loss's n is a variable; its length must not be called n too
    program = resolve(parse("L = ‖a − p‖² − ‖a − n‖² + 1"))
    names = {str(sym) for sym in program.dimensions}
    assert not names & set(program.variables)


def test_a_declared_dimension_named_like_a_variable_is_an_error():
    with pytest.raises(NameResolutionError) as info:
        resolve(parse("n in R; x in R^n; f = n sum(x)"))
    assert "dimension" in info.value.message and info.value.hint
    assert (info.value.line, info.value.column) == (1, 16)


# ── input that must be a MatcalcError with a line, a column and a caret ─────────────────────────

def error_of(source: str, wrt="x") -> MatcalcError:
    with pytest.raises(MatcalcError) as info:
        matcalc.derive(source, wrt)
    err = info.value
    assert err.line is not None and err.column is not None, err
    assert "^" in str(err)
    return err


@pytest.mark.parametrize("separator", ["\v", "\f", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x1c"])
def test_odd_line_ends_before_a_bad_character(separator):
    # \v and \f are spaces, the others end the line; either way the error shows where it is
    err = error_of(f"x in R^3{separator}f = sum(x) $")
    assert isinstance(err, ParseError)


@pytest.mark.parametrize("source", [
    "x in R^3; f = sum(" + "(" * 10_000 + "x" + ")" * 10_000 + ")",
    "x in R^3; f = sum(" + " + ".join(["x"] * 10_000) + ")",
    "x in R; f = " + " ".join(["x"] * 10_000),
    "x in R; f = " + "sin(" * 10_000 + "x" + ")" * 10_000,
    "x in R; f = " + "-" * 10_000 + "x",
    "x in R^3\nh0 = x\n" + "\n".join(f"h{i + 1} = h{i} + x" for i in range(5_000)) + "\nf = sum(h5000)",
])
def test_deep_and_long_programs_resolve_without_recursion_errors(source):
    assert resolve(parse(source)).output.shape == (1, 1)


def test_deep_nesting_with_a_syntax_error_at_the_bottom():
    err = error_of("x in R; f = " + "(" * 5000 + "x +" + ")" * 5000)
    assert isinstance(err, ParseError)


@pytest.mark.parametrize("source, message", [
    ("x in R; f = 1e99999 x", "too large"),
    ("x in R; f = 1e999999999 x", "too large"),
    ("x in R; f = 1e-99999 x", "too small"),
    ("x in R; f = 2^100000 x", "too large"),
    ("x in R; f = 2^(10^300) x", "too large"),
    ("x in R; f = 0^(-1) x", "division by zero"),
    ("x in R; f = x/0", "division by zero"),
    ("x in R; f = x/(1 - 1)", "division by zero"),
    ("x in R; f = 1/0 x", "division by zero"),
    ("x in R; f = x^1e309", "too large"),
    ("x in R; f = " + "7" * 5000 + " x", "digits"),
    ("x in R; f = (-1)^0.5 x", "not a real number"),
])
def test_huge_or_degenerate_numbers(source, message):
    assert message in error_of(source).message


def test_numbers_are_read_exactly():
    assert parse("f = 1.5e-3").statements[0].value.value == sympy.Rational(3, 2000)


@pytest.mark.parametrize("source", [
    "x in R^(2,3,4); f = sum(x)",          # rank 3
    "x in Foo(3); f = sum(x)",             # unknown set
    "x in R^lambda; f = sum(x)",           # a Python keyword as a dimension
    "x in R^3; f = tr(I) + sum(x)",        # the size of I is fixed by nothing
    "a in R^n; c in R^(n,p); f = sum(kron(a, x) - c)",   # x's length would be p/n
    "x in R^3; 3",                         # the program defines nothing
])
def test_resolve_errors_point_at_the_text(source):
    error_of(source)


def test_names_are_nfkc_normalised():
    # ϵ (lunate epsilon) and ε are one name; x₁ and x1 too
    program = resolve(parse("x₁ in R^3; f = ϵ sum(x1) + ε"))
    assert set(program.variables) == {"x1", "ε"}


def test_format_never_raises_on_a_span_beyond_the_source():
    for span in (Span(9, 1, 9, 2), Span(1, 50, 1, 60), Span(1, 3, 4, 1), Span(0, 0, 0, 0)):
        text = MatcalcError("bad", span, hint="h", source="f = x\r\ny").format()
        assert "error: bad" in text and "hint: h" in text


@pytest.mark.parametrize("source, same_as", [
    ("a, b in R; f = ab^2", "a, b in R; f = a b^2"),
    ("W in R^(3,3); x in R^(1,3); y in R^3; f = y'Wx'", "W in R^(3,3); x in R^(1,3); y in R^3; f = y' W x'"),
    ("a in R; x in R^3; f = sum(ae^x)", "a in R; x in R^3; f = sum(a exp(x))"),
])
def test_a_power_or_transpose_on_juxtaposed_names_takes_the_last_name(source, same_as):
    # ab² is a·b², as on paper, not (ab)²
    assert resolve(parse(source)).output.children[0] is resolve(parse(same_as)).output.children[0]


def test_an_identity_sized_only_by_the_output_is_reported():
    assert resolve(parse("a in R; f = a I")).unsized_identities == (Span(1, 15, 1, 16),)
    assert resolve(parse("A in R^(3,3); f = A + I")).unsized_identities == ()
