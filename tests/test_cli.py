"""The command line, as a user runs it."""
import contextlib
import io
import pathlib
import shlex
import subprocess
import sys

import pytest

from matcalc.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent

SEED = "E = ½‖σ(Wx)−y‖²"


def run(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_default_output_is_readable_unicode(capsys):
    code, out = run(capsys, "derive", SEED, "--wrt", "W")
    assert code == 0
    assert out.splitlines()[0] == "∂E/∂W = ((s − y) ∘ s ∘ (1 − s)) xᵀ"


def test_latex(capsys):
    code, out = run(capsys, "derive", "L = ‖y − Φθ‖²", "--wrt", "θ", "--latex")
    assert out.strip() == r"\frac{\partial L}{\partial \theta} = -2 \Phi^{\top} \left(y - \Phi \theta\right)"


def test_steps_show_the_differentials(capsys):
    code, out = run(capsys, "derive", "v = W x; s = σ(v); E = ½ (s−y):(s−y)", "--wrt", "W", "--steps")
    lines = out.splitlines()
    assert lines[0].startswith("dE = (s − y) : ds")
    assert any(line.startswith("dE = ((s − y) ∘ s ∘ (1 − s)) xᵀ : dW") for line in lines)


def test_numpy_module_is_printed(capsys):
    code, out = run(capsys, "derive", SEED, "--wrt", "W", "--numpy")
    assert "import numpy as np" in out and "def derivative(*, W, x, y):" in out
    compile(out, "generated", "exec")


def test_check_reports_and_exits_0(capsys):
    code, out = run(capsys, "derive", SEED, "--wrt", "W", "--check")
    assert code == 0 and "numerical check passed" in out


def test_several_variables_and_order(capsys):
    code, out = run(capsys, "derive", "f1 = σ(A0 x + b0); E = ‖f1‖²", "--wrt", "A0,b0")
    assert "∂E/∂A0" in out and "∂E/∂b0" in out
    code, out = run(capsys, "derive", "x in R^n; A in R^(n,n); f = x' A x", "--wrt", "x", "--order", "2")
    assert out.startswith("∂²f/∂x∂xᵀ = A + Aᵀ")


def test_source_from_a_file_and_from_stdin(tmp_path):
    program = tmp_path / "seed.mc"
    program.write_text("# seed 000\n" + SEED + "\n", encoding="utf-8")
    by_file = subprocess.run([sys.executable, "-m", "matcalc", "derive", str(program), "--wrt", "W"],
                             capture_output=True, text=True, timeout=60)
    by_stdin = subprocess.run([sys.executable, "-m", "matcalc", "derive", "-", "--wrt", "W"],
                              input=SEED, capture_output=True, text=True, timeout=60)
    assert by_file.returncode == by_stdin.returncode == 0
    assert by_file.stdout == by_stdin.stdout


def help_examples() -> list[str]:
    """Every `matcalc …` line of `matcalc --help` and `matcalc derive --help`."""
    lines = []
    for argv in (["--help"], ["derive", "--help"]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
        lines += [line.strip() for line in out.getvalue().splitlines() if line.strip().startswith("matcalc ")]
    return sorted(set(lines))


@pytest.mark.parametrize("example", help_examples())
def test_every_help_example_works_from_the_repository_root(example, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(shlex.split(example)[1:]) == 0, capsys.readouterr().err
