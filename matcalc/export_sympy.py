"""Export to SymPy matrix expressions, for users who keep working in SymPy.

Variables become ``MatrixSymbol``s (scalars ``Symbol``s) over the same symbolic dimensions;
definitions are expanded. Nodes with no SymPy counterpart (softmax, logsumexp, partial traces)
raise UnsupportedError rather than being approximated.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce

import sympy
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from . import expr as E
from .errors import UnsupportedError
from .functions import FUNCTIONS


def _scalar(value):
    """A 1×1 matrix expression as the scalar it is, tr(xᵀAx): SymPy would not let a 1×1 matrix
    scale a vector, and its entry [0, 0] would expand into an index sum."""
    return sympy.Trace(value) if isinstance(value, sympy.MatrixExpr) else value


def _elementwise(function: Callable, argument):
    if not isinstance(argument, sympy.MatrixExpr):
        return function(argument)
    t = sympy.Dummy("t")
    return ElementwiseApplyFunction(sympy.Lambda(t, function(t)), argument)


def _power(base, exponent):
    if isinstance(base, sympy.MatrixExpr):
        return sympy.HadamardPower(base, exponent)
    return base ** exponent


def _ones(shape):
    return sympy.OneMatrix(*shape)


def _refuse(name: str):
    def rule(node, args):
        raise UnsupportedError(f"{name} has no SymPy matrix-expression counterpart")
    return rule


SYMPY: dict[type, Callable] = {
    E.Const: lambda node, args: node.value,
    E.Identity: lambda node, args: sympy.Identity(node.shape[0]),
    E.Zero: lambda node, args: sympy.ZeroMatrix(*node.shape) if not node.is_scalar else sympy.Integer(0),
    E.Ref: lambda node, args: args[0],
    E.Add: lambda node, args: reduce(operator.add, args),
    E.Product: lambda node, args: reduce(operator.mul, args),
    E.Hadamard: lambda node, args: sympy.HadamardProduct(*args),
    E.Broadcast: lambda node, args: args[0] * _ones(node.shape),
    E.Transpose: lambda node, args: args[0].T,
    E.Elementwise: lambda node, args: _elementwise(FUNCTIONS[node.function].sympy, args[0]),
    E.Power: lambda node, args: _power(args[0], args[1]),
    E.Inverse: lambda node, args: args[0].I,
    E.Det: lambda node, args: sympy.Determinant(args[0]),
    E.LogDet: lambda node, args: sympy.log(sympy.Determinant(args[0])),
    E.Trace: lambda node, args: sympy.Trace(args[0]),
    E.DiagVec: lambda node, args: DiagonalOf(args[0]),
    E.DiagMat: lambda node, args: DiagMatrix(args[0]),
    E.Sum: lambda node, args: (_ones((1, node.children[0].shape[0])) * args[0]
                               * _ones((node.children[0].shape[1], 1))),
    E.Kron: lambda node, args: sympy.KroneckerProduct(*args),
    E.Frobenius: lambda node, args: sympy.Trace(args[0].T * args[1]),
    E.Norm: lambda node, args: (sympy.sqrt(sympy.Trace(args[0].T * args[0]))
                                if isinstance(args[0], sympy.MatrixExpr) else sympy.Abs(args[0])),
    E.Softmax: _refuse("softmax"),
    E.LogSumExp: _refuse("logsumexp"),
    E.PartialTrace: _refuse("a partial trace"),
}


def to_sympy(e: E.Expr) -> sympy.Basic:
    """``e`` as a SymPy (matrix) expression."""
    memo: dict[E.Expr, sympy.Basic] = {}
    for node in E.walk(e):
        if isinstance(node, E.Var):
            value = sympy.Symbol(node.name, real=True) if node.is_scalar else \
                sympy.MatrixSymbol(node.name, *node.shape)
        elif isinstance(node, E.Differential):
            raise UnsupportedError("a differential has no SymPy counterpart")
        else:
            try:
                value = SYMPY[type(node)](node, [memo[c] for c in node.children])
            except UnsupportedError:
                raise
            except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
                # e.g. SymPy refuses the inverse of a zero matrix outright
                raise UnsupportedError(f"SymPy cannot represent this {type(node).__name__.lower()}: "
                                       f"{error}") from error
        memo[node] = _scalar(value) if node.is_scalar else value
    return memo[e]
