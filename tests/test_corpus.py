"""Every corpus case: numerically right, in the expected closed form, and simplified to a fixed point."""
import pytest

import matcalc
from matcalc.simplify import simplify

from corpus.cases import CASES
from helpers import assert_checks, assert_closed_form


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case):
    d = matcalc.derive(case.source, list(case.wrt), of=case.of, order=case.order)
    assert_checks(d)
    for name, expected in case.expected.items():
        assert_closed_form(d, name, expected)
    for result in d.expressions.values():
        assert simplify(result) is result, "simplification is idempotent"


def test_corpus_is_large():
    assert len(CASES) >= 100
