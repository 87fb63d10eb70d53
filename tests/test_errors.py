"""Bad input gets a MatcalcError with line, column, a caret and a hint — never a traceback."""
import subprocess
import sys

import pytest

import matcalc
from matcalc import MatcalcError, NameResolutionError, ParseError, ShapeError, UnsupportedError
from matcalc.cli import main


def error_of(source: str, wrt="x", **kw) -> MatcalcError:
    with pytest.raises(MatcalcError) as info:
        matcalc.derive(source, wrt, **kw)
    return info.value


def test_syntax_error_points_at_the_token():
    err = error_of("E = (x + ) y")
    assert isinstance(err, ParseError)
    assert (err.line, err.column) == (1, 10)
    assert err.format().splitlines()[1:3] == ["    E = (x + ) y", "             ^"]
    assert "hint: expected" in err.format()


def test_unexpected_character():
    err = error_of("E = x $ y")
    assert isinstance(err, ParseError) and "'$'" in err.message and err.column == 7


def test_unknown_function_suggests_a_close_name():
    err = error_of("E = sigmod(x)")
    assert isinstance(err, NameResolutionError)
    assert "unknown function 'sigmod'" in err.message and "sigmoid" in err.hint
    assert err.format().splitlines()[2] == "        ^~~~~~"


def test_shape_mismatch_names_both_shapes_and_the_operator():
    err = error_of("W in R^(5,4); x in R^3; E = ‖W x‖²", "W")
    assert isinstance(err, ShapeError)
    assert "'W' is 5×4" in err.message and "column vector of length 3" in err.message
    assert "inner dimensions 4 and 3 differ" in err.message
    assert err.column == 30


def test_symbolic_dimensions_that_differ_do_not_unify():
    err = error_of("A in R^(n,n); x in R^p; f = x' A x")
    assert isinstance(err, ShapeError) and "inner dimensions p and n differ" in err.message


def test_adding_different_shapes():
    err = error_of("a in R^3; b in R^4; f = sum(a + b)", "a")
    assert "same shape" in err.message and "length 3" in err.message and "length 4" in err.message


def test_wrt_a_name_that_does_not_occur():
    err = error_of("E = ½‖σ(Wx)−y‖²", "Z")
    assert isinstance(err, NameResolutionError)
    assert "'Z' does not occur" in err.message and "W, x, y" in err.hint
    assert "^" in err.format()


def test_wrt_a_defined_name_is_refused():
    err = error_of("v = W x; E = ‖v‖²", "v")
    assert isinstance(err, UnsupportedError) and "defined in the program" in err.message
    assert (err.line, err.column) == (1, 1)


def test_rank_three_results_are_refused_clearly():
    err = error_of("f = W x", "W")
    assert isinstance(err, UnsupportedError) and "rank-3" in err.message


def test_second_derivative_of_a_piecewise_constant_is_refused():
    err = error_of("x in R^3; f = sum(relu(x))", "x", order=2)
    assert isinstance(err, UnsupportedError) and "piecewise constant" in err.message


def test_hessian_with_respect_to_a_matrix_is_refused():
    err = error_of("X in R^(3,3); f = tr(X X)", "X", order=2)
    assert "rank-4" in err.message


def test_vector_power_explains_the_elementwise_spelling():
    err = error_of("x in R^3; f = sum(x^2)")
    assert ".^" in err.hint


def test_division_by_a_vector_explains_the_elementwise_spelling():
    err = error_of("x, y in R^3; f = sum(x / y)")
    assert "./" in err.hint


@pytest.mark.parametrize("source", [
    "", "   ", "x in R^3", "f = ", "f = ‖x", "f = x ∘∘ y", "f = (((x", "W in Foo(3); f = W",
    "f = sum()", "f = x y z )", "a = 1; a = 2", "x in R; x = 2", "f = σ", "ℝ = 2",
])
def test_malformed_programs_raise_matcalc_errors(source):
    with pytest.raises(MatcalcError) as info:
        matcalc.derive(source, "x")
    assert info.value.format().strip()


def test_cli_prints_caret_and_exits_2(capsys):
    assert main(["derive", "E = sigmod(W x)", "--wrt", "W"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("1:5: error: unknown function 'sigmod'")
    assert "Traceback" not in err


def test_cli_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["derive", "f = x"])
    assert info.value.code == 2


def test_cli_as_a_process_never_shows_a_traceback():
    result = subprocess.run([sys.executable, "-m", "matcalc", "derive", "E = ‖W x‖² +", "--wrt", "W"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "error:" in result.stderr
