"""LaTeX: names get subscripts (W2 → W_{2}) and Greek letters their macros."""
from __future__ import annotations

import re
import unicodedata

import sympy

from ..functions import FUNCTIONS
from .core import Notation

_GREEK = {unicodedata.lookup(f"GREEK SMALL LETTER {n}"): "\\" + n.lower() for n in (
    "ALPHA BETA GAMMA DELTA EPSILON ZETA ETA THETA IOTA KAPPA LAMDA MU NU XI PI RHO SIGMA TAU UPSILON "
    "PHI CHI PSI OMEGA").split()}
_GREEK["λ"] = r"\lambda"
_GREEK.update({unicodedata.lookup(f"GREEK CAPITAL LETTER {n}"): "\\" + n.capitalize() for n in (
    "GAMMA DELTA THETA XI PI SIGMA UPSILON PHI PSI OMEGA").split()})
_GREEK["Λ"] = r"\Lambda"
_ACCENTS = {"\u0302": r"\hat", "\u0303": r"\tilde", "\u0304": r"\bar", "\u0307": r"\dot"}
_FUNCTION_NAMES = {"det": r"\det", "logdet": r"\log\det", "tr": r"\operatorname{tr}",
                   "diag": r"\operatorname{diag}", "Diag": r"\operatorname{Diag}",
                   "sum": r"\operatorname{sum}", "softmax": r"\operatorname{softmax}",
                   "logsumexp": r"\operatorname{logsumexp}"}


def latex_name(name: str) -> str:
    """θ → \\theta, ŷ → \\hat{y}, W2 → W_{2}, y_hat → y_{hat}, delta → \\delta."""
    decomposed = unicodedata.normalize("NFD", name)
    match = re.fullmatch(r"(.*?)(?:_?(\d+)|_(\w+))?", decomposed)
    stem, subscript = match.group(1), match.group(2) or match.group(3)
    parts: list[str] = []
    for ch in stem:
        if ch in _ACCENTS and parts:
            parts[-1] = f"{_ACCENTS[ch]}{{{parts[-1]}}}"
        else:
            parts.append(_GREEK.get(ch, ch))
    if len(parts) > 1 and all(len(p) == 1 for p in parts):
        out = rf"\mathrm{{{''.join(parts)}}}"
    else:
        out = " ".join(parts)
    return f"{out}_{{{subscript}}}" if subscript else out


def _number(value: sympy.Expr) -> str:
    if value.is_Rational and not value.is_Integer:
        return rf"\frac{{{value.p}}}{{{value.q}}}"
    return sympy.latex(value)


LATEX = Notation(
    name=latex_name,
    number=_number,
    add=" + ", sub=" - ", neg="-",
    hadamard=r" \circ ", ediv=r" \oslash ", kron=r" \otimes ", frobenius=" : ", juxtapose=" ",
    transpose=lambda x: x + r"^{\top}",
    inverse=lambda x: x + "^{-1}",
    inverse_transpose=lambda x: x + r"^{-\top}",
    power=lambda b, p: f"{b}^{{{p}}}",
    elementwise_power=lambda b, p: rf"{b}^{{\circ {p}}}",
    fraction=lambda a, b: rf"\frac{{{_unwrap(a)}}}{{{_unwrap(b)}}}",
    function=lambda name, arg: rf"{_FUNCTION_NAMES[name]}\left({arg}\right)",
    elementwise=lambda fn, arg: (rf"\sqrt{{{arg}}}" if fn == "sqrt"
                                 else rf"{FUNCTIONS[fn].latex}\left({arg}\right)"),
    norm=lambda x: rf"\left\| {x} \right\|",
    norm_squared=lambda x: rf"\left\| {x} \right\|^{{2}}",
    paren=lambda x: rf"\left({x}\right)",
    differential=lambda x: rf"\mathrm{{d}}{x}",
    identity="I",
    ones=r"\mathbf{1}",
    partial_trace=lambda which, x: rf"\operatorname{{tr}}_{{{which}}}\left({x}\right)",
)


_DELIMITER = re.compile(r"\\(?:left|right)(?![A-Za-z])")   # not \leftarrow, \rightarrow


def _unwrap(text: str) -> str:
    r"""Drop one outer ``\left( … \right)`` — only when that pair matches: not in
    ``\left(c - 1\right) \left(x - b\right)``, whose first ``\left(`` closes in the middle."""
    if not (text.startswith(r"\left(") and text.endswith(r"\right)")):
        return text
    depth = 0
    for match in _DELIMITER.finditer(text):
        depth += 1 if match.group() == r"\left" else -1
        if depth == 0:
            return text[len(r"\left("):-len(r"\right)")] if match.end() == len(text) - 1 else text
    return text

