"""Shared test helpers: closed-form comparison in matcalc's own language."""
from __future__ import annotations

import matcalc
from matcalc.parse import parse
from matcalc.resolve import resolve
from matcalc.simplify import key, simplify
from matcalc.syntax import Declaration


def closed_form(source: str, expression: str):
    """``expression`` as IR in the context of ``source`` (its names, shapes and definitions)."""
    program = resolve(parse(source + "\nzzexpected = " + expression))
    statements = parse(source).statements
    declared = {n.text for st in statements if isinstance(st, Declaration) for n in st.names}
    known = declared | (set(resolve(parse(source)).variables) if any(
        not isinstance(st, Declaration) for st in statements) else set())
    extra = set(program.variables) - known
    assert not extra, f"the expected form uses names the program lacks: {extra}"
    return program.output.children[0]


def assert_closed_form(d: matcalc.Derivation, name: str, expression: str) -> None:
    """The result for ``name`` equals ``expression`` up to the simplifier's canonical form."""
    got = simplify(d.expressions[name])
    want = simplify(closed_form(d.source, expression))
    assert key(got) == key(want), f"{name}: got {d}, expected {expression}"


def assert_checks(d: matcalc.Derivation) -> None:
    report = d.check()
    assert report.passed, f"{report}\n{d}"
