"""The surface AST: what the user wrote, with spellings normalised and every node's span kept.

Nothing here knows shapes or meaning; resolve.py turns these nodes into the typed IR.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from .errors import Span


@dataclass(frozen=True, eq=False)
class Node:
    """Nodes compare by identity: structural equality would recurse as deep as the program nests."""

    span: Span


@dataclass(frozen=True, eq=False)
class Number(Node):
    value: sympy.Rational | sympy.Float


@dataclass(frozen=True, eq=False)
class Name(Node):
    text: str
    grouped: bool = False   # written in parentheses: (ab)² squares the product, ab² only b


@dataclass(frozen=True, eq=False)
class Call(Node):
    function: Name
    args: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Binary(Node):
    """``op`` is one of: add, sub, frobenius, product, hadamard, ediv, div, kron."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, eq=False)
class Negate(Node):
    operand: Node


@dataclass(frozen=True, eq=False)
class Postfix(Node):
    """``op`` is transpose or inverse."""

    op: str
    operand: Node


@dataclass(frozen=True, eq=False)
class Power(Node):
    base: Node
    exponent: Node
    elementwise: bool


@dataclass(frozen=True, eq=False)
class Norm(Node):
    operand: Node


@dataclass(frozen=True, eq=False)
class Abs(Node):
    operand: Node


@dataclass(frozen=True, eq=False)
class DimName(Node):
    """A symbolic size in a declaration (the ``n`` of ℝ^n), with its span."""

    text: str


@dataclass(frozen=True, eq=False)
class Domain(Node):
    """A declared set such as ℝ^{n×m}, Sym(n) or Δ^n: ``kind`` names it, ``dims`` are ints or names."""

    kind: str
    dims: tuple[int | DimName, ...]


@dataclass(frozen=True, eq=False)
class Declaration(Node):
    names: tuple[Name, ...]
    domain: Domain


@dataclass(frozen=True, eq=False)
class Definition(Node):
    name: Name
    value: Node


@dataclass(frozen=True, eq=False)
class ExpressionStatement(Node):
    value: Node


@dataclass(frozen=True, eq=False)
class Program:
    statements: tuple[Node, ...]
    source: str
