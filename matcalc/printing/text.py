"""Readable Unicode text. Where it can, the output is valid matcalc input again."""
from __future__ import annotations

import sympy

from ..functions import FUNCTIONS
from .core import Notation

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_FRACTIONS = {(1, 2): "½", (1, 3): "⅓", (2, 3): "⅔", (1, 4): "¼", (3, 4): "¾"}


def _number(value: sympy.Expr) -> str:
    if value.is_Rational and not value.is_Integer:
        p, q = int(value.p), int(value.q)
        return _FRACTIONS.get((p, q), f"{p}/{q}")
    if value.is_Float:
        return repr(float(value))
    return str(value).replace("**", "^").replace("*", "·")


def _power(base: str, exponent: str) -> str:
    if exponent.isdigit():
        return base + exponent.translate(_SUPERSCRIPTS)
    return f"{base}^({exponent})"


TEXT = Notation(
    name=lambda n: n,
    number=_number,
    add=" + ", sub=" − ", neg="−",
    hadamard=" ∘ ", ediv=" ⊘ ", kron=" ⊗ ", frobenius=" : ", juxtapose=" ",
    transpose=lambda x: x + "ᵀ",
    inverse=lambda x: x + "⁻¹",
    inverse_transpose=lambda x: x + "⁻ᵀ",
    power=_power,
    elementwise_power=lambda b, p: f"{b}.^{p}" if p.isdigit() else f"{b}.^({p})",
    fraction=lambda a, b: f"{a}/{b}",
    function=lambda name, arg: f"{name}({arg})",
    elementwise=lambda fn, arg: f"{FUNCTIONS[fn].text}({arg})",
    norm=lambda x: f"‖{x}‖",
    norm_squared=lambda x: f"‖{x}‖²",
    paren=lambda x: f"({x})",
    differential=lambda x: "d" + x,
    identity="I",
    ones="𝟏",
    partial_trace=lambda which, x: f"tr{'₁₂'[which - 1]}({x})",
)

