"""LaTeX output is well formed: every \\left has its \\right, of the matching kind, and braces balance."""
import re

import pytest

import matcalc
from matcalc.printing.latex import _unwrap

from corpus.cases import CASES

_TOKEN = re.compile(r"\\left(\\\||\\\{|[.(\[|])|\\right(\\\||\\\}|[.)\]|])|\\[{}]|[{}]")
_CLOSES = {"(": ")", "[": "]", r"\|": r"\|", "|": "|", r"\{": r"\}", ".": None}


def assert_balanced(latex: str) -> None:
    stack = []
    for match in _TOKEN.finditer(latex):
        left, right, token = match.group(1), match.group(2), match.group()
        if left is not None:
            stack.append(("left", left))
        elif right is not None:
            assert stack and stack[-1][0] == "left", f"\\right{right} without \\left in {latex}"
            opened = stack.pop()[1]
            assert _CLOSES[opened] in (right, None) or right == ".", f"\\left{opened} … \\right{right} in {latex}"
        elif token == "{":
            stack.append(("brace", "{"))
        elif token == "}":
            assert stack and stack[-1][0] == "brace", f"unbalanced }} in {latex}"
            stack.pop()
    assert not stack, f"unclosed {stack[-1]} in {latex}"


def test_a_fraction_keeps_the_parentheses_of_a_product_of_two_groups():
    # ∂/∂x (c − 1)‖x − b‖ = (c − 1)(x − b)/‖x − b‖: the numerator is two groups, not one
    latex = matcalc.derive("(c − 1) * ‖x − b‖", "x").to_latex()
    assert_balanced(latex)
    assert latex == (r"\frac{\partial f}{\partial x} = "
                     r"\frac{\left(c - 1\right) \left(x - b\right)}{\left\| x - b \right\|}")


@pytest.mark.parametrize("text, unwrapped", [
    (r"\left(a + b\right)", "a + b"),
    (r"\left(\left(a\right) b\right)", r"\left(a\right) b"),
    (r"\left(c - 1\right) \left(x - b\right)", r"\left(c - 1\right) \left(x - b\right)"),
    (r"\left(a\right) \left\| b \right\|", r"\left(a\right) \left\| b \right\|"),
    ("a + b", "a + b"),
])
def test_unwrap_removes_only_a_matching_outer_pair(text, unwrapped):
    assert _unwrap(text) == unwrapped


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_latex_is_balanced(case):
    d = matcalc.derive(case.source, list(case.wrt), of=case.of, order=case.order)
    assert_balanced(d.to_latex())
    for step in d.steps:
        assert_balanced(step)
