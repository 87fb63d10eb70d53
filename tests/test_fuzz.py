"""Random programs through every stage: the result is right (finite differences) or a MatcalcError.

Seeded and small so CI stays fast; ``MATCALC_FUZZ=2000 pytest tests/test_fuzz.py`` runs more.
"""
import os
import random

import pytest

import matcalc
from matcalc import MatcalcError

COUNT = int(os.environ.get("MATCALC_FUZZ", "60"))
DECLARATIONS = "x, y in R^3; u in R^(1,3); A, B in R^(3,3); S in Sym(3); c in R; p in Pos(3)\n"


class Programs:
    """A small random grammar of vector, matrix and scalar expressions over the declarations."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def pick(self, depth: int, leaves: list[str], forms: list[str]) -> str:
        if depth <= 0:
            return self.r.choice(leaves)
        return self._fill(self.r.choice(forms), depth - 1)

    def _fill(self, form: str, depth: int) -> str:
        out = ""
        for part in form.split("%"):
            if part[:1] in ("v", "m", "s"):
                out += {"v": self.vector, "m": self.matrix, "s": self.scalar}[part[0]](depth) + part[1:]
            else:
                out += part
        return out

    def vector(self, depth: int) -> str:
        return self.pick(depth, ["x", "y", "p"], [
            "%m %v", "(%v + %v)", "(%v ∘ %v)", "σ(%v)", "tanh(%v)", "softmax(%v)", "%s %v", "(1 − %v)",
            "exp(%v / 4)", "(%v ⊘ (1 + exp(%v)))", "%v.^2", "diag(%m)", "(%v − %v)", "softplus(%v)"])

    def matrix(self, depth: int) -> str:
        return self.pick(depth, ["A", "B", "S"], [
            "%m %m", "%mᵀ", "(%m + %m)", "%v %vᵀ", "Diag(%v)", "(A + 3 I)⁻¹", "(%m ∘ %m)", "%s %m",
            "tanh(%m)"])

    def scalar(self, depth: int) -> str:
        return self.pick(depth, ["c", "2", "½"], [
            "%vᵀ %v", "tr(%m)", "‖%v‖²", "sum(%v)", "logsumexp(%v)", "(%s + %s)", "%vᵀ %m %v", "‖%m‖",
            "u %v", "%m : %m"])


@pytest.mark.parametrize("seed", range(COUNT))
def test_random_program_is_right_or_refused(seed):
    programs = Programs(seed)
    body = programs.scalar(programs.r.randint(1, 3)) if seed % 3 else programs.vector(2)
    wrt = programs.r.choice(["x", "A", "c", "S", "u", "p"])
    order = 2 if seed % 7 == 0 and wrt in ("x", "c", "p") else 1
    try:
        d = matcalc.derive(DECLARATIONS + "f = " + body, wrt, order=order)
    except MatcalcError as err:
        assert err.format()
        return
    str(d), d.to_latex(), d.steps
    report = d.check()
    assert report.passed, f"f = {body}, wrt {wrt}, order {order}: {report}"


TOKENS = ["x", "W", "Wx", "θ", "1", "½", "+", "−", "*", "∘", "⊘", "./", "/", "⊗", ":", "'", "ᵀ", "⁻¹",
          "²", "^", "^(-1)", ".^", "(", ")", "‖", "||", "|", "σ(", "softmax(", "sum(", "tr(", "inv(",
          "Diag(", "√", "I", ";", "\n", "=", "f =", "x in R^3", "A in R^(3,3)", "y ∈ Δ^3", ",", "@", "$"]


@pytest.mark.parametrize("seed", range(COUNT))
def test_random_text_never_escapes_as_another_exception(seed):
    r = random.Random(seed)
    text = " ".join(r.choice(TOKENS) for _ in range(r.randint(1, 12)))
    try:
        matcalc.derive(("f = " if seed % 2 else "") + text, "x").to_numpy()
    except MatcalcError as err:
        assert err.format()
