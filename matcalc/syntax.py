"""The surface AST: what the user wrote, with spellings normalised and every node's span kept.

Nothing here knows shapes or meaning; resolve.py turns these nodes into the typed IR.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from .errors import Span


@dataclass(frozen=True)
class Node:
    span: Span


@dataclass(frozen=True)
class Number(Node):
    value: sympy.Rational | sympy.Float


@dataclass(frozen=True)
class Name(Node):
    text: str


@dataclass(frozen=True)
class Call(Node):
    function: Name
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Binary(Node):
    """``op`` is one of: add, sub, frobenius, product, hadamard, ediv, div, kron."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True)
class Postfix(Node):
    """``op`` is transpose or inverse."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Power(Node):
    base: Node
    exponent: Node
    elementwise: bool


@dataclass(frozen=True)
class Norm(Node):
    operand: Node


@dataclass(frozen=True)
class Abs(Node):
    operand: Node


@dataclass(frozen=True)
class Domain(Node):
    """A declared set such as ℝ^{n×m}, Sym(n) or Δ^n: ``kind`` names it, ``dims`` are ints or names."""

    kind: str
    dims: tuple[int | str, ...]


@dataclass(frozen=True)
class Declaration(Node):
    names: tuple[Name, ...]
    domain: Domain


@dataclass(frozen=True)
class Definition(Node):
    name: Name
    value: Node


@dataclass(frozen=True)
class ExpressionStatement(Node):
    value: Node


@dataclass(frozen=True)
class Program:
    statements: tuple[Node, ...]
    source: str
