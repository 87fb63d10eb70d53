"""Every primitive has every rule: a missing row fails here, not for a user."""
import ast
import pathlib

import pytest
import sympy

from matcalc import expr as E
from matcalc.adjoint import ADJOINTS
from matcalc.codegen.numpy_backend import CODE
from matcalc.differential import DIFFERENTIALS
from matcalc.functions import FUNCTIONS, SPELLINGS
from matcalc.printing.core import PRINTED_NODES
from matcalc.scalar_algebra import to_sympy

LEAVES = {E.Var, E.Const, E.Identity, E.Zero, E.Differential, E.Ref}
# Nodes a differential can be linear in; the others only ever appear as coefficients.
LINEAR = {E.Add, E.Product, E.Hadamard, E.Frobenius, E.Kron, E.Broadcast, E.Transpose, E.Trace,
          E.Sum, E.DiagVec, E.DiagMat, E.PartialTrace}


@pytest.mark.parametrize("node", E.NODE_TYPES, ids=lambda c: c.__name__)
def test_every_node_has_differential_printer_and_code(node):
    assert node in PRINTED_NODES
    if node not in LEAVES:
        assert node in DIFFERENTIALS
    if node is not E.Differential and node is not E.Var:
        assert node in CODE


def test_adjoint_table_covers_exactly_the_linear_nodes():
    assert set(ADJOINTS) == LINEAR


@pytest.mark.parametrize("row", FUNCTIONS.values(), ids=lambda r: r.name)
def test_function_derivative_agrees_with_sympy(row):
    if row.derivative is None:
        pytest.skip("piecewise constant: its derivative is refused")
    x = E.var("x", E.SCALAR)
    derivative = row.derivative(x, E.elementwise(row.name, x))
    atoms: dict = {}
    ours = to_sympy(derivative, atoms)
    t = sympy.Symbol("t", positive=True)
    (symbol,) = atoms
    substituted = ours.subs(symbol, t).replace(
        lambda f: isinstance(f, sympy.core.function.AppliedUndef),
        lambda f: FUNCTIONS[type(f).__name__].sympy(f.args[0]))
    expected = sympy.diff(row.sympy(t), t)
    for value in (0.3, 1.7):
        assert float(substituted.subs(t, value)) == pytest.approx(float(expected.subs(t, value)))


def test_every_spelling_names_a_row():
    assert all(SPELLINGS[s].name in FUNCTIONS for s in SPELLINGS)


def test_numpy_templates_parse():
    for row in FUNCTIONS.values():
        ast.parse(row.numpy, mode="eval")


PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "matcalc"
# Imports point one way: syntax → resolve → calculus → derive → api/cli; printers and codegen
# see only the IR and the function table.
FORBIDDEN = {
    "expr.py": {"parse", "resolve", "derive", "simplify", "printing", "codegen", "api", "cli"},
    "functions.py": {"parse", "resolve", "derive", "simplify", "printing", "codegen", "api"},
    "differential.py": {"derive", "simplify", "printing", "codegen", "api", "cli", "parse"},
    "adjoint.py": {"derive", "simplify", "printing", "codegen", "api", "cli", "parse"},
    "simplify.py": {"derive", "printing", "codegen", "api", "cli", "parse", "resolve"},
    "derive.py": {"printing", "codegen", "api", "cli", "parse"},
    "printing": {"derive", "simplify", "codegen", "api", "cli", "parse", "resolve", "differential"},
    "codegen": {"derive", "simplify", "printing", "api", "cli", "parse", "resolve", "differential"},
}


def _imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("matcalc"):
            names.add(node.module.split(".")[1] if "." in node.module else "")
    return names


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_imports_point_one_way(module):
    paths = sorted((PACKAGE / module).glob("*.py")) if (PACKAGE / module).is_dir() else [PACKAGE / module]
    for path in paths:
        assert not (_imports(path) & FORBIDDEN[module]), f"{path.name} imports {_imports(path) & FORBIDDEN[module]}"
