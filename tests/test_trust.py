"""Never silently wrong: each case once gave a wrong number without a warning (issue 6).

Every expected value here comes from hand-written NumPy — a formula or finite differences of a
hand-written value function — never from matcalc's own derivative code.
"""
import numpy as np
import pytest

import matcalc
from matcalc import expr as E
from matcalc.check import verify

rng = np.random.default_rng(7)


def numeric_gradient(value, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of a hand-written scalar function."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for j in range(x.size):
        e = np.zeros_like(x)
        e.flat[j] = h
        g.flat[j] = (value(x + e) - value(x - e)) / (2 * h)
    return g


def numeric_hessian(value, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central second differences of a hand-written scalar function."""
    n = x.size
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = (value(x + ei + ej) - value(x + ei - ej) - value(x - ei + ej)
                       + value(x - ei - ej)) / (4 * h * h)
    return H


# ── a definition whose body is only a name keeps its derivative ─────────────────────────────

@pytest.mark.parametrize("alias", ["h = x", "h = (x)", "h = +x", "h = 1 x", "h = x''", "h = I x"])
def test_an_alias_of_a_variable_passes_the_derivative_through(alias):
    # E = hᵀh with h = x: ∂E/∂x = 2x
    d = matcalc.derive(f"x in R^3; {alias}; E = h'h", "x")
    x = rng.standard_normal(3)
    np.testing.assert_allclose(d.compile()(x=x), 2 * x)


def test_an_unrolled_network_starting_from_an_alias():
    # f = vᵀ tanh(W1 h0), h0 = x: ∂f/∂x = W1ᵀ (v ∘ (1 − tanh²(W1 x)))
    d = matcalc.derive("x in R^3; W1 in R^(4,3); v in R^4; h0 = x; h1 = tanh(W1 h0); f = v'h1", "x")
    x, W1, v = rng.standard_normal(3), rng.standard_normal((4, 3)), rng.standard_normal(4)
    want = W1.T @ (v * (1 - np.tanh(W1 @ x) ** 2))
    np.testing.assert_allclose(d.compile()(x=x, W1=W1, v=v), want)


@pytest.mark.parametrize("body", ["a", "sum(a)", "(a)"])
def test_a_scalar_output_that_is_its_variable_has_derivative_one(body):
    d = matcalc.derive(f"a in R; E = {body}", "a")
    assert d.compile()(a=0.3) == pytest.approx(1.0)


def test_an_aliased_scalar_in_forward_mode():
    # f = loss w with loss = c: ∂f/∂c = w
    d = matcalc.derive("c in R; w in R^3; loss = c; f = loss w", "c")
    w = rng.standard_normal(3)
    assert "dloss" not in str(d)
    np.testing.assert_allclose(d.compile()(c=0.5, w=w), w)


def test_an_alias_chain_of_definitions():
    # u = x, v = u, E = ‖v‖²: 2x, and the result names the variable, not its aliases
    d = matcalc.derive("x in R^2; u = x; v = u; E = ‖v‖²", "x")
    assert str(d).splitlines()[0] == "∂E/∂x = 2 x"
    x = rng.standard_normal(2)
    np.testing.assert_allclose(d.compile()(x=x), 2 * x)


# ── shapes survive cancellation ──────────────────────────────────────────────────────────────

def test_cancelling_broadcasts_keep_the_matrix_shape():
    # sum(Hᵀ − H) is constant: its gradient is the 4×4 zero matrix, not the number 0
    d = matcalc.derive("H in R^(4,4); f = sum(H' - H)", "H")
    g = d.compile()(H=rng.standard_normal((4, 4)))
    assert np.shape(g) == (4, 4) and not np.any(g)


def test_scaled_ones_are_collected():
    # sum(2 Hᵀ − H) = sum(H): gradient 𝟏
    d = matcalc.derive("H in R^(3,2); f = sum(2 H - H)", "H")
    np.testing.assert_allclose(d.compile()(H=rng.standard_normal((3, 2))), np.ones((3, 2)))


# ── domain facts simplify results, never what is differentiated again ────────────────────────

def test_hessian_with_respect_to_a_simplex_variable_is_the_unconstrained_one():
    # L = −yᵀ log softmax(y); sum(y) = 1 holds at the point, not around it
    d = matcalc.derive("y in Simplex(3); L = -y' log(softmax(y))", "y", order=2)

    def value(y):
        z = y - y.max()
        return -y @ (z - np.log(np.exp(z).sum()))
    y = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(d.compile()(y=y), numeric_hessian(value, y), atol=1e-6)


def test_hessian_with_respect_to_a_one_hot_variable():
    # L = (sum(y))² ‖y‖²: the fact sum(y) = 1 may not be used before differentiating twice
    d = matcalc.derive("y in OneHot(3); L = sum(y)^2 ‖y‖²", "y", order=2)
    y = np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(d.compile()(y=y),
                               numeric_hessian(lambda v: v.sum() ** 2 * (v @ v), y), atol=1e-5)


# ── check() compares with the value only ─────────────────────────────────────────────────────

def test_check_of_a_hessian_uses_second_differences_of_the_value():
    # a Hessian that is wrong by a constant is caught, whatever the gradient says
    x = E.var("x", (3, 1))
    value = lambda x: float(x @ x)          # noqa: E731  f = xᵀx, H = 2I
    right = lambda x: 2 * np.eye(3)         # noqa: E731
    wrong = lambda x: 2 * np.eye(3) + 0.3   # noqa: E731
    assert verify({"x": x}, [x], value, right, ["x"], order=2).passed
    assert not verify({"x": x}, [x], value, wrong, ["x"], order=2).passed


def test_check_reports_a_function_singular_everywhere_instead_of_raising():
    d = matcalc.derive("X in R^(3,3); f = logdet(X - X')", "X")
    report = d.check()
    assert not report.passed and "could not be evaluated" in str(report)


# ── finite where the mathematics is finite ───────────────────────────────────────────────────

def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


X_FAR = np.array([1000.0, -1000.0, 60.0, -60.0, 0.0])
Y_BITS = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
STABLE_CASES = [
    # (program, inputs, value, gradient wrt x) — the references are hand-written and stable
    ("x in R^5; f = sum(log(1 + exp(x)))", {},
     lambda x: softplus(x).sum(), lambda x: sigmoid(x)),
    ("x in R^5; f = log(sum(exp(x)))", {},
     lambda x: np.logaddexp.reduce(x), lambda x: np.exp(x - np.logaddexp.reduce(x))),
    ("x in R^5; y in R^5; L = -sum(y ∘ log(σ(x)) + (1 - y) ∘ log(1 - σ(x)))", {"y": Y_BITS},
     lambda x: (Y_BITS * softplus(-x) + (1 - Y_BITS) * softplus(x)).sum(), lambda x: sigmoid(x) - Y_BITS),
    ("x in R^5; y in R^5; p = σ(x); L = -sum(y ∘ log(p) + (1 - y) ∘ log(1 - p))", {"y": Y_BITS},
     lambda x: (Y_BITS * softplus(-x) + (1 - Y_BITS) * softplus(x)).sum(), lambda x: sigmoid(x) - Y_BITS),
]


@pytest.mark.parametrize("source, extra, value, gradient", STABLE_CASES)
def test_hand_written_log_forms_are_finite_far_from_zero(source, extra, value, gradient):
    d = matcalc.derive(source, "x")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(d.compile_value()(x=X_FAR, **extra), value(X_FAR), rtol=1e-12)
        np.testing.assert_allclose(d.compile()(x=X_FAR, **extra), gradient(X_FAR), atol=1e-12)


def test_scalar_label_logistic_loss_cancels_to_sigma_minus_y():
    # L = −(y log p + (1 − y) log(1 − p)), p = σ(wᵀx): ∂L/∂w = (p − y) x, finite when p rounds to 1
    d = matcalc.derive("w in R^3; x in R^3; y in R; p = σ(w'x); L = -(y log(p) + (1-y) log(1-p))", "w")
    assert str(d).splitlines()[0] == "∂L/∂w = (p − y) x"
    w, x = np.array([30.0, 0.0, 0.0]), np.array([2.0, 1.0, 1.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(d.compile()(w=w, x=x, y=0.0), sigmoid(60.0) * x)
        assert d.compile_value()(w=w, x=x, y=0.0) == pytest.approx(60.0)


@pytest.mark.parametrize("source", ["z in R^3; f = log(softmax(z))", "z in R^3; p = softmax(z); f = log(p)"])
def test_jacobian_of_log_softmax_divides_by_nothing(source):
    # ∂ log softmax(z)/∂z = I − 𝟏 softmax(z)ᵀ
    d = matcalc.derive(source, "z")
    z = np.array([400.0, 0.0, -400.0])
    p = np.exp(z - np.logaddexp.reduce(z))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(d.compile()(z=z), np.eye(3) - np.outer(np.ones(3), p), atol=1e-12)


def test_a_list_mixing_a_scalar_and_a_vector_gives_each_its_own_layout():
    # f = a x: ∂f/∂a = x (shaped like f), ∂f/∂x = a I (f shape + x shape)
    d = matcalc.derive("a in R; x in R^3; f = a x", ["a", "x"])
    x = rng.standard_normal(3)
    got = d.compile()(a=2.0, x=x)
    np.testing.assert_allclose(got["a"], x)
    np.testing.assert_allclose(got["x"], 2.0 * np.eye(3))


# ── the output shows what was read ───────────────────────────────────────────────────────────

def test_the_output_shows_the_function_as_read():
    d = matcalc.derive("w in R^4; lam in R; L = lam/2 ||w||^2", "w")
    assert "as read: L = ½ lam ‖w‖²" in str(d).splitlines()
    d = matcalc.derive("v = W x; s = σ(v); E = ½ (s−y):(s−y)", "W")
    assert "as read: v = W x; s = σ(v); E = ½ (s − y) : (s − y)" in str(d).splitlines()


def test_shapes_chosen_by_the_naming_convention_are_marked():
    # x in W x is a column only by convention; W and y are fixed by how they are used
    d = matcalc.derive("E = ½‖σ(Wx)−y‖²", "W")
    assert "with W ∈ ℝ^(n×m), x ∈ ℝ^m (guessed), y ∈ ℝ^n" in str(d).splitlines()


def test_a_loss_that_is_a_vector_only_by_a_guess_is_refused():
    # mu is undeclared; guessed a vector, it would make L a vector and its "gradient" a Jacobian
    with pytest.raises(matcalc.MatcalcError) as info:
        matcalc.derive("w in R^4; L = mu/2 ||w||^2", "w")
    assert info.value.line == 1 and "mu in R" in info.value.hint


@pytest.mark.parametrize("source, wrt, order", [
    ("x in R^3; f = sum(relu(x))", "x", 2),
    ("X in R^(3,3); f = X", "X", 1),
    ("x in R^3; f = x'x", "x", 3),
    ("x in R^3; y in R^3; f = x'x", "y", 1),
])
def test_errors_of_the_derivative_stage_point_into_the_source(source, wrt, order):
    with pytest.raises(matcalc.MatcalcError) as info:
        matcalc.derive(source, wrt, order=order)
    assert info.value.line == 1 and "^" in str(info.value)


def test_check_catches_a_wrong_derivative_that_is_small():
    # f = 10⁻⁶ xᵀx has gradient 2·10⁻⁶ x; claiming 0 is wrong, however small the difference
    x = E.var("x", (3, 1))
    value = lambda x: 1e-6 * float(x @ x)   # noqa: E731
    assert verify({"x": x}, [x], value, lambda x: 2e-6 * x, ["x"]).passed
    assert not verify({"x": x}, [x], value, lambda x: 0 * x, ["x"]).passed


def test_check_of_a_function_undefined_at_every_sample_says_so():
    d = matcalc.derive("x in R^3; f = logdet(x x' + x x')", "x")
    report = d.check()
    assert not report.passed and "could not be evaluated" in str(report)


def test_inverse_of_a_kronecker_product_of_non_square_factors_is_not_split():
    # (μ ⊗ v)⁻¹ with μ 3×1 and v 1×3 is the inverse of a 3×3 matrix; μ⁻¹ ⊗ v⁻¹ means nothing
    d = matcalc.derive("μ in R^3; v in R^(1,3); κ in R; f = diag(inv(kron(μ, v)) κ)", "κ")
    assert str(d).splitlines()[0] == "∂f/∂κ = diag((μ ⊗ v)⁻¹)"


@pytest.mark.parametrize("softmax", ["exp(z) / sum(exp(z))", "exp(z) ⊘ sum(exp(z))"])
def test_an_explicit_softmax_is_finite_for_large_scores(softmax):
    # L = −yᵀ log p, p written out: ∂L/∂z = sum(y) p − y, value logsumexp(z) − yᵀz
    d = matcalc.derive(f"z in R^3; y in R^3; p = {softmax}; L = -y'log(p)", "z")
    z, y = np.array([800.0, 0.0, -800.0]), np.array([0.0, 1.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(d.compile()(z=z, y=y), [1.0, -1.0, 0.0], atol=1e-12)
        assert d.compile_value()(z=z, y=y) == pytest.approx(800.0)


@pytest.mark.parametrize("source, wrt", [
    ("P in R^(2,2); w in R^2; s = ((P - P)^(-1)) w", "w"),
    ("x in R^3; f = sum(x ./ (x - x))", "x"),
    ("x in R; f = x/(x-x)", "x"),
])
def test_division_by_something_zero_everywhere_is_refused(source, wrt):
    # never 0⁻¹ or an infinite constant in a result
    with pytest.raises(matcalc.UnsupportedError) as info:
        matcalc.derive(source, wrt)
    assert info.value.line is not None


def test_an_identity_whose_size_nothing_fixes_is_refused_at_the_I():
    with pytest.raises(matcalc.ShapeError) as info:
        matcalc.derive("x in R^3; A in R^(3,3); c in R\nf = c I", "c")
    assert (info.value.line, info.value.column) == (2, 7)


def test_the_norm_of_an_undeclared_scalar_name_is_its_absolute_value():
    d = matcalc.derive("E = norm(c)", "c")
    assert d.compile()(c=-2.0) == pytest.approx(-1.0)
    d.to_sympy()


# ── bounded work: derive or refuse, never hang ───────────────────────────────────────────────

def test_a_megabyte_of_program_is_refused_before_parsing():
    source = "x in R^3; f = sum(" + "+".join(["x"] * 300_000) + ")"
    with pytest.raises(matcalc.ParseError) as info:
        matcalc.derive(source, "x")
    assert info.value.line == 1 and len(str(info.value)) < 600   # the caret line is a window


def test_comments_do_not_count_towards_the_length_limit():
    source = "x in R^3; f = x'x\n" + ("# " + "a" * 1000 + "\n") * 300
    assert str(matcalc.derive(source, "x")).splitlines()[0] == "∂f/∂x = 2 x"


def test_a_program_past_the_operation_limit_is_refused_with_a_position():
    source = "x in R^3\n" + "\n".join(f"h{i + 1} = σ(h{i})" if i else "h1 = σ(x)" for i in range(3000)) + "\nf = sum(h3000)"
    with pytest.raises(matcalc.UnsupportedError, match="operations") as info:
        matcalc.derive(source, "x")
    assert (info.value.line, info.value.column) == (3002, 1)   # at the differentiated definition


def test_the_hessian_of_a_very_deep_composition_is_refused():
    source = "x in R^3; f = sum(" + "σ(" * 100 + "x" + ")" * 100 + ")"
    with pytest.raises(matcalc.UnsupportedError, match="depth"):
        matcalc.derive(source, "x", order=2)


def test_many_scalar_coefficients_settle():
    # f = Σ cᵢ (xᵀx or sum(sin x)): the coefficient sums are collected once, not reordered forever
    n = 40
    terms = [f"c{i} x'x" if i % 2 == 0 else f"c{i} sum(sin(x))" for i in range(n)]
    source = "x in R^5\n" + "\n".join(f"c{i} in R" for i in range(n)) + "\nf = " + " + ".join(terms)
    d = matcalc.derive(source, "x")
    c = np.arange(n) / n
    x = rng.standard_normal(5)
    want = 2 * c[0::2].sum() * x + c[1::2].sum() * np.cos(x)
    np.testing.assert_allclose(d.compile()(x=x, **{f"c{i}": c[i] for i in range(n)}), want)


def test_determinant_of_a_power_needs_one_inverse_of_the_base():
    # ∂ det(X³)/∂X = 3 det(X)³ X⁻ᵀ — not three inverses of X³, whose condition number is cubed
    d = matcalc.derive("X in R^(4,4); f = det(X^3)", "X")
    assert str(d).splitlines()[0] == "∂f/∂X = 3 det(X)³ X⁻ᵀ"
    X = np.eye(4) * 2 + 0.3 * rng.standard_normal((4, 4))
    np.testing.assert_allclose(d.compile()(X=X), 3 * np.linalg.det(X) ** 3 * np.linalg.inv(X).T,
                               rtol=1e-10)


def test_ten_thousand_statements_are_refused_before_parsing():
    source = "x in R^3\nh0 = x\n" + "\n".join(f"h{i + 1} = h{i} + x" for i in range(10_000))
    with pytest.raises(matcalc.ParseError, match="longer than matcalc reads"):
        matcalc.derive(source + "\nf = sum(h10000)", "x")


def test_a_definition_nested_too_deep_is_refused_with_the_hint_to_name_steps():
    source = "x in R^3; f = sum(" + "σ(" * 1500 + "x" + ")" * 1500 + ")"
    with pytest.raises(matcalc.UnsupportedError) as info:
        matcalc.derive(source, "x")
    assert "h1 = σ(x)" in info.value.hint


@pytest.mark.parametrize("source, read", [
    ("u in R^(1,3); s in R^3; E = (us).^2", "E = (u s)²"),   # the parentheses square the product
    ("u in R^(1,3); s in R^3; E = us.^2", "E = u s.^2"),     # a power on split names: the last one
    ("a in R; b in R; f = (ab)^2", "f = (a b)²"),
])
def test_parentheses_around_juxtaposed_names_keep_the_product_together(source, read):
    d = matcalc.derive(source, source.split()[0])
    assert d.read_as() == [read]
