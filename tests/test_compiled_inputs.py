"""A compiled function checks its arguments: a wrong keyword or a wrongly shaped array is an
InputError (a ValueError) naming the variable, the expected shape with its dimensions bound from the
other arguments, and the shape given — never an error from deep inside NumPy."""
import numpy as np
import pytest

import matcalc
from matcalc.api import InputError, KeywordError

SEED = "E = ½‖σ(Wx)−y‖²"          # W ∈ ℝ^(n×m), x ∈ ℝ^m, y ∈ ℝ^n


@pytest.fixture(scope="module")
def gradient():
    return matcalc.derive(SEED, "W").compile()


def test_right_arguments_pass(gradient):
    assert gradient(W=np.ones((4, 3)), x=np.ones(3), y=np.ones(4)).shape == (4, 3)
    assert gradient(W=[[1.0, 2.0]], x=[1.0, 2.0], y=[0.5]).shape == (1, 2)   # nested lists too


def test_a_transposed_matrix_names_the_shape_bound_from_the_others(gradient):
    with pytest.raises(InputError, match=r"^W: expected shape \(n, m\) = \(4, 3\), got \(3, 4\) "
                                         r"\(n = 4 from y; m = 3 from x\)$"):
        gradient(W=np.ones((3, 4)), x=np.ones(3), y=np.ones(4))


def test_sizes_that_disagree_name_both_arguments(gradient):
    # x has 3 entries but W has 5 columns: either could be the mistake, so the message names both
    with pytest.raises(InputError, match=r"^inconsistent sizes for m: W has shape \(4, 5\), so m = 5, "
                                         r"but x has shape \(3,\), so m = 3$"):
        gradient(W=np.ones((4, 5)), x=np.ones(3), y=np.ones(4))


def test_a_column_vector_is_one_dimensional(gradient):
    with pytest.raises(InputError, match=r"^x: expected shape \(m,\) = \(3,\), got \(3, 1\): a column "
                                         r"vector is a 1-D array; pass x.reshape\(-1\)$"):
        gradient(W=np.ones((4, 3)), x=np.ones((3, 1)), y=np.ones(4))
    with pytest.raises(InputError, match=r"^W: expected shape \(n, m\) = \(4, 3\), a 2-D array, got \(12,\)$"):
        gradient(W=np.ones(12), x=np.ones(3), y=np.ones(4))


def test_row_vectors_fixed_sizes_and_scalars():
    d = matcalc.derive("A in R^(3,2); x in R^2; r in R^(1,3); c in R\nf = c (r A x)", ["A", "x", "r", "c"])
    f = d.compile_value()
    good = dict(A=np.ones((3, 2)), x=np.ones(2), r=np.ones((1, 3)), c=2.0)
    assert f(**good) == 12.0
    assert f(**{**good, "c": np.array(2.0)}) == f(**{**good, "c": np.ones((1, 1)) * 2}) == 12.0
    with pytest.raises(InputError, match=r"^r: expected shape \(1, 3\), got \(3,\): a row vector is a "
                                         r"\(1, n\) array; pass r.reshape\(1, -1\)$"):
        f(**{**good, "r": np.ones(3)})
    with pytest.raises(InputError, match=r"^A: expected shape \(3, 2\), got \(2, 3\)$"):
        f(**{**good, "A": np.ones((2, 3))})
    with pytest.raises(InputError, match=r"^c: expected a scalar \(a float or a 0-d array\), got shape \(2,\)$"):
        f(**{**good, "c": np.ones(2)})


def test_a_square_matrix_must_be_square():
    trace = matcalc.derive("A in R^(n,n); f = tr(A)", "A").compile()
    with pytest.raises(InputError, match=r"^A: expected shape \(n, n\), got \(3, 4\)$"):
        trace(A=np.ones((3, 4)))


def test_missing_extra_and_positional_arguments_are_keyword_errors(gradient):
    # KeywordError is an InputError (so a ValueError) and also the TypeError Python raises itself
    assert issubclass(KeywordError, InputError) and issubclass(KeywordError, TypeError)
    assert issubclass(InputError, ValueError)
    with pytest.raises(KeywordError, match=r"^expected keyword arguments W, x, y; missing y$"):
        gradient(W=np.ones((4, 3)), x=np.ones(3))
    with pytest.raises(KeywordError, match=r"^expected keyword arguments W, x, y; unexpected z$"):
        gradient(W=np.ones((4, 3)), x=np.ones(3), y=np.ones(4), z=1.0)
    with pytest.raises(KeywordError, match=r"^pass the arguments by keyword: W, x, y$"):
        gradient(np.ones((4, 3)), np.ones(3), np.ones(4))


def test_the_numerical_check_still_passes_through_the_checked_arguments():
    for source, wrt, order in [(SEED, "W", 1), ("x in R^n; A in R^(n,n); f = x' A x", "x", 2),
                               ("A in R^(3,2); x in R^2; r in R^(1,3); c in R\nf = c (r A x)", "c", 1)]:
        assert matcalc.derive(source, wrt, order=order).check().passed


@pytest.mark.parametrize("source, wrt, order", [
    (SEED, "W", 1),                                                  # one wrt: an array
    (SEED, ["W"], 1),                                                # a list of one: a dict
    ("f1 = σ(A0 x + b0); E = ‖f1‖²", ["A0", "b0"], 1),               # a list: a dict
    ("x in R^n; A in R^(n,n); f = x' A x + sum(exp(x))", "x", 2),    # a Hessian
    ("W in R^(4,3); x in R^3; f = σ(W x)", "x", 1),                  # a Jacobian
])
def test_the_generated_module_returns_what_compile_returns(source, wrt, order):
    d = matcalc.derive(source, wrt, order=order)
    namespace: dict = {}
    exec(d.to_numpy(), namespace)
    rng = np.random.default_rng(0)
    sizes = {"n": 4, "m": 3}
    inputs = {}
    for name, v in d.variables.items():
        r, c = (int(sizes.get(str(s), s)) for s in v.shape)
        inputs[name] = rng.standard_normal(r) if v.is_column else rng.standard_normal((r, c))
    compiled, generated = d.compile()(**inputs), namespace["derivative"](**inputs)
    assert type(compiled) is type(generated)
    if isinstance(wrt, list):
        assert isinstance(generated, dict) and list(generated) == wrt
        for name in wrt:
            np.testing.assert_array_equal(generated[name], compiled[name])
    else:
        assert isinstance(generated, np.ndarray)
        np.testing.assert_array_equal(generated, compiled)


def test_a_keyword_name_is_accepted_as_written_and_as_the_module_spells_it():
    # the generated module cannot have a parameter `lambda`; it is `lambda_` there
    d = matcalc.derive("lambda in R; w in R^3; L = lambda ‖w‖²", "w")
    namespace: dict = {}
    exec(d.to_numpy(), namespace)
    w = np.array([1.0, -2.0, 0.5])
    expected = namespace["derivative"](lambda_=0.1, w=w)
    np.testing.assert_array_equal(d.compile()(**{"lambda": 0.1}, w=w), expected)
    np.testing.assert_array_equal(d.compile()(lambda_=0.1, w=w), expected)
