"""Random programs through every stage, checked against an independent oracle.

The oracle (tools/oracle.py) evaluates the parsed and resolved program with its own NumPy
interpreter — never through matcalc's derivative or generated code — and derivatives are compared
with central finite differences of that value (second differences for Hessians). Programs come
from tools/gen.py: typed, well-formed programs in every spelling and declaration kind, with
definitions, aliases, ``of=``, list ``wrt`` and ``order=2``; idiomatic ML losses; malformed text;
deep and long programs. Each runs in a worker process with a 2 s limit on the symbolic part.

Seeded and CI-sized; ``MATCALC_FUZZ=5000 pytest tests/test_fuzz.py`` runs more, and
``python tools/fuzz.py --minutes 10`` runs a campaign that also shrinks failures to reproducers.
"""
import os
import random
import sys
from collections import Counter

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import matcalc                                            # noqa: E402
from matcalc import MatcalcError                           # noqa: E402
from tools.fuzz import Campaign, _abbreviate, legacy_program   # noqa: E402
from tools.runner import Case, Pool                        # noqa: E402

COUNT = int(os.environ.get("MATCALC_FUZZ", "400"))
SEED = int(os.environ.get("MATCALC_FUZZ_SEED", "2026"))

# Minimal reproducers found by tools/fuzz.py campaigns: each must be right or a clear refusal.
FOUND = [
    ("||u||", "u", 2, None),                                  # Hessian of a norm
    ("ŷ in R^(4,1)\nf = det(Σ) ŷᵀ", "ŷ", 1, None),            # a row of a column, scaled by det
    ("w in R^(1,n)\nf = a w", "w", 1, None),                  # a row of a row, scaled
    ("w ∈ ℝ^(1, n)\nact = -w\nE = 1e-1 − theta", "w", 1, "act"),
    ("f = relu(Y + kron(t, y))", "y", 1, None),               # Jacobian through a Kronecker column
    ("v ∈ Pos(1,5)\nf = diag(inv(kron(μ, v)) κ)", "κ", 1, None),   # check() samples μ as 25 entries
    ("x in R^3; A in R^(3,3); c in R\nf = c I", "c", 1, None),   # I sized by nothing: KeyError 'n'
    ("E = norm(c)", "c", 1, None),                            # to_sympy() of the norm of a scalar
    ("u ∈ ℝ^{1}\ns = ((P - P)^(-1)) w", "w", 1, None),        # to_sympy() of a singular inverse
    ("F = sqrt(σ(Tr(Φ - S)))", "Φ", 1, None),                 # to_sympy(): Trace of a non-matrix
    ("x in R^3; h = x; E = hᵀh", "x", 1, None),               # issue 6, item 1
    ("y in Simplex(3); L = −yᵀ log(softmax(y))", "y", 2, None),   # issue 6, item 2
    ("H in R^(4,4); f = sum(Hᵀ − H)", "H", 1, None),           # issue 6, item 4
]


def _failures(results, outcomes):
    lines = []
    for case, result in results:
        if result["outcome"] in outcomes:
            lines.append(f"{result['outcome']}: {_abbreviate(case.call(), 400)}\n    {result['detail'][:600]}")
    return lines


@pytest.fixture(scope="module")
def campaign():
    c = Campaign(SEED, workers=1)
    c.results = []
    on_result = c.on_result

    def record(case, result):
        on_result(case, result)
        c.results.append((case, result))
    c.on_result = record
    try:
        c.run(None, COUNT)
        legacy = []
        for seed in range(60):
            text, wrt, order = legacy_program(seed)
            legacy.append(Case(100_000 + seed, text, wrt, order, None, None, "legacy", seed))
        for i, (text, wrt, order, of) in enumerate(FOUND):
            legacy.append(Case(200_000 + i, text, wrt, order, of, None, "found", i))
        c.pool.run(legacy, c.on_result)
        c.confirm_hangs()        # a hang that finishes in time when run again was a busy machine
    finally:
        c.close()
    return c


def _assert_none(campaign, outcome):
    bad = _failures(campaign.results, (outcome,))
    assert not bad, f"{len(bad)} of {campaign.done} inputs: {outcome}\n" + "\n".join(bad[:25])


def test_no_wrong_numbers(campaign):
    """Values, shapes and derivatives agree with the oracle (confirmed at two points)."""
    _assert_none(campaign, "WRONG")


def test_no_crashes(campaign):
    """Every failure is a MatcalcError: nothing else escapes, not even while printing one."""
    _assert_none(campaign, "CRASH")


def test_no_hangs(campaign):
    """derive … compile finishes within 2 s."""
    _assert_none(campaign, "HANG")


def test_errors_point_at_the_source(campaign):
    """A MatcalcError about part of the program carries its line and column."""
    _assert_none(campaign, "refused-nopos")


def test_the_oracle_really_checks(campaign):
    """Guard against a vacuous pass: most generated programs are derived and verified."""
    counts = Counter(r["outcome"] for c, r in campaign.results if c.mode == "gen")
    total = sum(counts.values())
    assert counts["ok"] >= 0.5 * total, counts
    assert counts["oracle-error"] == 0, _failures(campaign.results, ("oracle-error",))[:5]
    kinds = Counter(r["kind"] for c, r in campaign.results if r["outcome"] == "ok")
    assert {"gradient", "jacobian", "hessian", "derivative"} <= set(kinds), kinds


TOKENS = ["x", "W", "Wx", "θ", "1", "½", "+", "−", "*", "∘", "⊘", "./", "/", "⊗", ":", "'", "ᵀ", "⁻¹",
          "²", "^", "^(-1)", ".^", "(", ")", "‖", "||", "|", "σ(", "softmax(", "sum(", "tr(", "inv(",
          "Diag(", "√", "I", ";", "\n", "=", "f =", "x in R^3", "A in R^(3,3)", "y ∈ Δ^3", ",", "@", "$"]


@pytest.mark.parametrize("seed", range(60))
def test_random_text_never_escapes_as_another_exception(seed):
    r = random.Random(seed)
    text = " ".join(r.choice(TOKENS) for _ in range(r.randint(1, 12)))
    try:
        matcalc.derive(("f = " if seed % 2 else "") + text, "x").to_numpy()
    except MatcalcError as err:
        assert err.format()
