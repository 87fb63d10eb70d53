"""Surface AST → typed IR: names, juxtaposed-name splitting, shape inference, sugar lowering.

Each expression is visited once, producing a ``Typed``: its (possibly still symbolic) shape and a
thunk that builds the IR node once every dimension is final. Building late lets inference see the
whole program before any shape is fixed; only decisions that cannot wait (is this factor a scalar?
is this a column or a row?) consult the naming convention early.

Naming convention for undeclared names, used only for what inference leaves open:
lower-case a–g and α β γ δ ε η κ λ ρ τ ω are scalars, other lower-case letters are column vectors,
upper-case letters are matrices. The first letter of the name decides (``b0`` is a scalar name,
``W2`` a matrix name).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from collections.abc import Callable

import sympy

from . import expr as E
from . import syntax as s
from .errors import MatcalcError, NameResolutionError, ShapeError, Span, UnsupportedError
from .functions import SPELLINGS
from .shapes import Dims, ShapePair, describe_shape, rigid

_SCALAR_GREEK = set("αβγδεηκλρτω")
_GREEK_WORDS = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
                "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi",
                "chi", "psi", "omega"}
_GROUP = re.compile(r"[^\W\d_][\u0300-\u036f]*\d*", re.UNICODE)

# Declared sets: spelling → (domain, needs a square shape).
_DOMAINS = {
    "R": ("real", False), "ℝ": ("real", False), "Real": ("real", False),
    "Pos": ("positive", False), "ℝ₊": ("positive", False), "Rpos": ("positive", False),
    "Sym": ("symmetric", True), "𝕊": ("symmetric", True), "S": ("symmetric", True),
    "SPD": ("spd", True), "PD": ("spd", True), "𝕊₊₊": ("spd", True), "S₊₊": ("spd", True),
    "Simplex": ("simplex", False), "Δ": ("simplex", False), "Prob": ("simplex", False),
    "OneHot": ("onehot", False),
}

# Matrix functions: name → (arity, builder name). Elementwise functions come from functions.py.
_MATRIX_FUNCTIONS = {
    "softmax": "softmax", "logsumexp": "logsumexp", "lse": "logsumexp", "sum": "sum",
    "tr": "trace", "trace": "trace", "Tr": "trace", "det": "det", "logdet": "logdet",
    "inv": "inverse", "diag": "diag", "Diag": "Diag", "norm": "norm", "kron": "kron",
}
_BINARY_FUNCTIONS = {"kron"}   # the ASCII twin of ⊗
_FUNCTION_NAMES = sorted(set(_MATRIX_FUNCTIONS) | set(SPELLINGS))


def convention(name: str) -> str:
    """The kind an undeclared name gets when inference leaves it open: scalar, vector or matrix."""
    first = name[0]
    if first.isupper():
        return "matrix"
    if ("a" <= first <= "g") or first in _SCALAR_GREEK:
        return "scalar"
    return "vector"


@dataclass
class Typed:
    shape: ShapePair
    build: Callable[[], E.Expr]
    span: Span
    free_name: str | None = None  # an undeclared variable whose kind is still open


@dataclass
class _Undeclared:
    name: str
    shape: ShapePair
    span: Span


@dataclass
class ResolvedProgram:
    source: str
    variables: dict[str, E.Var]          # every free variable, in order of first appearance
    definitions: dict[str, E.Ref]        # every definition, in order
    output: E.Ref                        # the last definition (or the bare expression)
    dimensions: tuple[sympy.Symbol, ...] = field(default=())
    spans: dict[str, Span] = field(default_factory=dict)   # where each name is defined or first used


class _Resolver:
    def __init__(self, program: s.Program) -> None:
        self.source = program.source
        self.program = program
        self.dims = Dims()
        self.declared: dict[str, tuple[ShapePair, str, Span]] = {}
        self.undeclared: dict[str, _Undeclared] = {}
        self.defined: dict[str, Typed] = {}
        self.var_order: list[str] = []
        self.checks: list[Callable[[], None]] = []
        self._vars: dict[str, E.Var] = {}
        self._refs: dict[str, E.Ref] = {}
        self.spans: dict[str, Span] = {}

    # ── helpers ───────────────────────────────────────────────────────────────────────────────
    def text(self, span: Span) -> str:
        lines = self.source.splitlines()
        if span.line == span.end_line:
            return lines[span.line - 1][span.column - 1:span.end_column - 1]
        return lines[span.line - 1][span.column - 1:] + " …"

    def shape_text(self, shape: ShapePair) -> str:
        r, c = (self.dims.resolve(d) for d in shape)
        return describe_shape((r if not isinstance(r, sympy.Dummy) else "?",
                               c if not isinstance(c, sympy.Dummy) else "?"))

    def operand(self, t: Typed) -> str:
        return f"'{self.text(t.span)}' is {self.shape_text(t.shape)}"

    def is_scalar(self, t: Typed) -> bool:
        return self.dims.is_one(t.shape[0]) and self.dims.is_one(t.shape[1])

    def settle(self, t: Typed) -> None:
        """Apply the naming convention to an undeclared operand whose kind must be known now."""
        if t.free_name is not None:
            self.default_kind(self.undeclared[t.free_name])
            t.free_name = None

    def default_kind(self, u: _Undeclared) -> None:
        """Fill what inference left open by the convention: scalar names become 1×1, and a
        scalar or vector name whose columns are still free becomes a column."""
        kind = convention(u.name)
        r, c = u.shape
        if kind == "scalar" and self.dims.is_free(r) and self.dims.is_free(c):
            self.dims.unify(r, 1)
            self.dims.unify(c, 1)
        elif kind in ("scalar", "vector") and self.dims.is_free(c) and not self.dims.is_one(r):
            self.dims.unify(c, 1)

    def wants_scalar(self, t: Typed) -> bool:
        """A factor is a scalar if it is one already, or is an undeclared scalar-named name."""
        if self.is_scalar(t):
            return True
        if t.free_name is not None and convention(t.free_name) == "scalar" \
                and all(self.dims.is_free(d) for d in t.shape):
            self.settle(t)
            return True
        return False

    def unify_shapes(self, op: str, a: Typed, b: Typed, span: Span) -> None:
        ok = self.dims.unify(a.shape[0], b.shape[0]) and self.dims.unify(a.shape[1], b.shape[1])
        if not ok:
            raise ShapeError(f"{op} needs operands of the same shape, but {self.operand(a)} and "
                             f"{self.operand(b)}", span,
                             hint="a scalar broadcasts; use a transpose or check the declarations")

    def final_shape(self, shape: ShapePair) -> E.Shape:
        return (self.dims.final(shape[0]), self.dims.final(shape[1]))

    def require(self, condition: Callable[[], bool], message: Callable[[], str], span: Span,
                hint: str | None = None) -> None:
        """A check that can only be decided once inference is complete."""
        def check() -> None:
            if not condition():
                raise ShapeError(message(), span, hint=hint)
        self.checks.append(check)

    # ── statements ────────────────────────────────────────────────────────────────────────────
    def run(self) -> ResolvedProgram:
        statements = self.program.statements
        if not statements:
            raise NameResolutionError("the program is empty", None,
                                      hint="write a definition such as  E = ½‖σ(Wx) − y‖²")
        for st in statements:
            if isinstance(st, s.Declaration):
                self.declare(st)
        last_name = None
        for index, st in enumerate(statements):
            if isinstance(st, s.Definition):
                name = st.name.text
                self.check_new_name(name, st.name.span)
                self.spans[name] = st.name.span
                self.defined[name] = self.expression(st.value)
                last_name = name
            elif isinstance(st, s.ExpressionStatement):
                if index != len(statements) - 1:
                    raise NameResolutionError("an expression on its own must be the last statement",
                                              st.span, hint="give it a name: f = …")
                last_name = next(n for n in ("f", "f_", "f__") if n not in self.defined)
                self.spans[last_name] = st.span
                self.defined[last_name] = self.expression(st.value)
        if last_name is None:
            raise NameResolutionError("the program declares variables but defines nothing", None,
                                      hint="add a definition such as  E = ‖x‖²")
        for u in self.undeclared.values():
            self.default_kind(u)
        taken = {str(sym) for shape, _, _ in self.declared.values() for d in shape
                 for sym in sympy.sympify(d).free_symbols}
        self.dims.finalize(taken)
        for check in self.checks:
            check()
        definitions = {name: self.ref(name) for name in self.defined}
        variables = {name: self.var(name) for name in self.var_order}
        dims = sorted({sym for v in variables.values() for d in v.shape
                       for sym in sympy.sympify(d).free_symbols}, key=str)
        for name, (_, _, span) in self.declared.items():
            self.spans.setdefault(name, span)
        for name, u in self.undeclared.items():
            self.spans.setdefault(name, u.span)
        return ResolvedProgram(self.source, variables, definitions, definitions[last_name], tuple(dims),
                               self.spans)

    def declare(self, st: s.Declaration) -> None:
        domain = st.domain
        if domain.kind not in _DOMAINS:
            close = difflib.get_close_matches(domain.kind, list(_DOMAINS), n=3)
            raise NameResolutionError(f"unknown set '{domain.kind}'", domain.span,
                                      hint="use one of " + ", ".join(close or ["R", "Sym", "SPD", "Pos", "Simplex", "OneHot"]))
        kind, square = _DOMAINS[domain.kind]
        dims = [sympy.Integer(d) if isinstance(d, int) else rigid(d) for d in domain.dims]
        if len(dims) > 2:
            raise UnsupportedError("variables of rank 3 or more are not supported", domain.span)
        if square:
            if len(dims) != 1 and not (len(dims) == 2 and dims[0] == dims[1]):
                raise ShapeError(f"'{domain.kind}' is a set of square matrices: give one size, as in "
                                 f"{domain.kind}(n)", domain.span)
            shape = (dims[0], dims[0])
        else:
            shape = {0: (sympy.Integer(1), sympy.Integer(1)), 1: (dims[0] if dims else 1, sympy.Integer(1)),
                     2: tuple(dims)}[len(dims)]
        if any(d == 0 for d in shape):
            raise ShapeError("dimensions must be positive", domain.span)
        if kind in ("simplex", "onehot") and not (shape[0] == 1 or shape[1] == 1):
            raise ShapeError(f"'{domain.kind}' declares a vector; give one length", domain.span)
        for name in st.names:
            if name.text in self.declared:
                raise NameResolutionError(f"'{name.text}' is declared twice", name.span)
            self.declared[name.text] = (shape, kind, name.span)

    def check_new_name(self, name: str, span: Span) -> None:
        if name in self.declared:
            raise NameResolutionError(f"'{name}' is declared as a variable and cannot also be defined",
                                      span, hint="use a new name for the definition")
        if name in self.defined:
            raise NameResolutionError(f"'{name}' is defined twice", span,
                                      hint="each name is defined once; use a new name")
        if name in self.undeclared:
            raise NameResolutionError(f"'{name}' is used before it is defined", self.undeclared[name].span,
                                      hint="define names before using them")
        if name in SPELLINGS or name in _MATRIX_FUNCTIONS:
            raise NameResolutionError(f"'{name}' is a function name and cannot be defined", span)

    # ── IR builders for names ─────────────────────────────────────────────────────────────────
    def var(self, name: str) -> E.Var:
        if name not in self._vars:
            if name in self.declared:
                shape, domain, _ = self.declared[name]
            else:
                shape, domain = self.undeclared[name].shape, "real"
            self._vars[name] = E.var(name, self.final_shape(shape), domain)
        return self._vars[name]

    def ref(self, name: str) -> E.Ref:
        if name not in self._refs:
            self._refs[name] = E.ref(name, self.defined[name].build())
        return self._refs[name]

    # ── expressions ───────────────────────────────────────────────────────────────────────────
    def expression(self, node: s.Node) -> Typed:
        method = getattr(self, "visit_" + type(node).__name__)
        return method(node)

    def visit_Number(self, node: s.Number) -> Typed:
        value = node.value
        return Typed((sympy.Integer(1), sympy.Integer(1)), lambda: E.const(value), node.span)

    def visit_Name(self, node: s.Name) -> Typed:
        name = node.text
        if name in self.defined:
            return Typed(self.defined[name].shape, lambda: self.ref(name), node.span)
        if name in self.declared:
            if name not in self.var_order:
                self.var_order.append(name)
            return Typed(self.declared[name][0], lambda: self.var(name), node.span)
        if name in self.undeclared:
            return Typed(self.undeclared[name].shape, lambda: self.var(name), node.span,
                         free_name=name)
        if name in SPELLINGS or name in _MATRIX_FUNCTIONS:
            raise NameResolutionError(f"'{name}' is a function; call it with parentheses", node.span,
                                      hint=f"write {name}(…)")
        if name == "I":
            n = self.dims.fresh()
            return Typed((n, n), lambda: E.identity(self.dims.final(n)), node.span)
        parts = self.split(name)
        if len(parts) > 1:
            return self.juxtaposed_parts(node, parts)
        self.undeclared[name] = _Undeclared(name, (self.dims.fresh(), self.dims.fresh()), node.span)
        self.var_order.append(name)
        return self.visit_Name(node)

    def split(self, name: str) -> list[str]:
        """``Wx`` → [W, x], ``hW2`` → [h, W2]: longest known name first, else one letter (+digits)."""
        if "_" in name or name.lower() in _GREEK_WORDS:
            return [name]
        groups = _GROUP.findall(name)
        if "".join(groups) != name or len(groups) < 2:
            return [name]
        known = set(self.defined) | set(self.declared) | set(self.undeclared)
        parts, i = [], 0
        while i < len(name):
            match = max((k for k in known if name.startswith(k, i)), key=len, default=None)
            if match is None:
                match = _GROUP.match(name, i).group(0)
            parts.append(match)
            i += len(match)
        return parts

    def juxtaposed_parts(self, node: s.Name, parts: list[str]) -> Typed:
        column = node.span.column
        pieces = []
        for part in parts:
            span = Span(node.span.line, column, node.span.line, column + len(part))
            pieces.append(s.Name(span, part))
            column += len(part)
        tree: s.Node = pieces[0]
        for piece in pieces[1:]:
            tree = s.Binary(tree.span.merge(piece.span), "product", tree, piece)
        return self.expression(tree)

    def visit_Negate(self, node: s.Negate) -> Typed:
        t = self.expression(node.operand)
        return Typed(t.shape, lambda: E.neg(t.build()), node.span, t.free_name)

    def visit_Postfix(self, node: s.Postfix) -> Typed:
        t = self.expression(node.operand)
        if node.op == "transpose":
            self.settle(t)
            return Typed((t.shape[1], t.shape[0]), lambda: E.transpose(t.build()), node.span)
        return self.inverse(t, node.span)

    def inverse(self, t: Typed, span: Span) -> Typed:
        if self.wants_scalar(t):
            return Typed(t.shape, lambda: E.reciprocal(t.build()), span)
        self.square(t, "the inverse", span)
        return Typed(t.shape, lambda: E.inverse(t.build()), span)

    def square(self, t: Typed, what: str, span: Span) -> None:
        if not self.dims.unify(t.shape[0], t.shape[1]):
            raise ShapeError(f"{what} needs a square matrix, but {self.operand(t)}", span)

    def visit_Binary(self, node: s.Binary) -> Typed:
        a, b = self.expression(node.left), self.expression(node.right)
        return getattr(self, "binary_" + node.op)(a, b, node)

    def binary_add(self, a: Typed, b: Typed, node: s.Binary, negate: bool = False) -> Typed:
        sign = E.neg if negate else (lambda x: x)
        word = "subtraction" if negate else "addition"
        if self.is_scalar(a) and not self.is_scalar(b):
            return Typed(b.shape, lambda: E.add(E.broadcast(a.build(), self.final_shape(b.shape)),
                                                sign(b.build())), node.span, None)
        if self.is_scalar(b) and not self.is_scalar(a):
            return Typed(a.shape, lambda: E.add(a.build(), E.broadcast(sign(b.build()),
                                                                       self.final_shape(a.shape))),
                         node.span, None)
        self.unify_shapes(word, a, b, node.span)
        free = a.free_name if a.free_name and b.free_name else None
        return Typed(a.shape, lambda: E.add(a.build(), sign(b.build())), node.span, free)

    def binary_sub(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        return self.binary_add(a, b, node, negate=True)

    def binary_product(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        if self.wants_scalar(a):
            return Typed(b.shape, lambda: E.mul(a.build(), b.build()), node.span)
        if self.wants_scalar(b):
            return Typed(a.shape, lambda: E.mul(a.build(), b.build()), node.span)
        if b.free_name and self.dims.is_free(b.shape[1]):   # W x: x is a column unless shown otherwise
            self.settle(b)
        if not self.dims.unify(a.shape[1], b.shape[0]):
            left = self.dims.resolve(a.shape[1])
            right = self.dims.resolve(b.shape[0])
            raise ShapeError(f"matrix product '{self.text(node.span)}': {self.operand(a)} and "
                             f"{self.operand(b)}; inner dimensions {left} and {right} differ",
                             node.span, hint="check the order of the factors or add a transpose")
        return Typed((a.shape[0], b.shape[1]), lambda: E.mul(a.build(), b.build()), node.span)

    def elementwise_pair(self, a: Typed, b: Typed, node: s.Binary, word: str,
                         combine: Callable[[E.Expr, E.Expr], E.Expr]) -> Typed:
        if self.is_scalar(a) and not self.is_scalar(b):
            return Typed(b.shape, lambda: combine(E.broadcast(a.build(), self.final_shape(b.shape)),
                                                  b.build()), node.span)
        if self.is_scalar(b) and not self.is_scalar(a):
            return Typed(a.shape, lambda: combine(a.build(), E.broadcast(b.build(),
                                                                         self.final_shape(a.shape))),
                         node.span)
        self.unify_shapes(word, a, b, node.span)
        return Typed(a.shape, lambda: combine(a.build(), b.build()), node.span)

    def binary_hadamard(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        return self.elementwise_pair(a, b, node, "the Hadamard product", E.hadamard)

    def binary_ediv(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        return self.elementwise_pair(a, b, node, "elementwise division",
                                     lambda x, y: E.hadamard(x, E.reciprocal(y)))

    def binary_div(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        if b.free_name is not None and all(self.dims.is_free(d) for d in b.shape):
            self.dims.unify(b.shape[0], 1)
            self.dims.unify(b.shape[1], 1)
        if not self.is_scalar(b):
            raise ShapeError(f"'/' divides by a scalar, but {self.operand(b)}", node.span,
                             hint="use ./ or ⊘ for elementwise division, inv(B) for a matrix inverse")
        return Typed(a.shape, lambda: E.mul(a.build(), E.reciprocal(b.build())), node.span, a.free_name)

    def binary_kron(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        self.settle(a)
        self.settle(b)
        shape = (a.shape[0] * b.shape[0], a.shape[1] * b.shape[1])
        return Typed(shape, lambda: E.kron(a.build(), b.build()), node.span)

    def binary_frobenius(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        self.unify_shapes("the Frobenius product ':'", a, b, node.span)
        return Typed((sympy.Integer(1), sympy.Integer(1)), lambda: E.frobenius(a.build(), b.build()),
                     node.span)

    def visit_Power(self, node: s.Power) -> Typed:
        exponent_node = node.exponent
        if isinstance(exponent_node, s.Name) and exponent_node.text == "T" and not node.elementwise:
            return self.visit_Postfix(s.Postfix(node.span, "transpose", node.base))
        norm_of = _norm_operand(node.base)
        if norm_of is not None and not node.elementwise and _is_number(exponent_node, 2):
            t = self.expression(norm_of)
            return Typed((sympy.Integer(1), sympy.Integer(1)),
                         lambda: E.frobenius(t.build(), t.build()), node.span)
        base = self.expression(node.base)
        exponent = self.expression(exponent_node)
        if not self.wants_scalar(exponent):
            raise ShapeError(f"an exponent must be a scalar, but {self.operand(exponent)}",
                             exponent_node.span)
        if node.elementwise:
            return Typed(base.shape, lambda: E.power(base.build(), exponent.build()), node.span,
                         base.free_name)
        if base.free_name is not None and convention(base.free_name) != "matrix" \
                and all(self.dims.is_free(d) for d in base.shape):
            self.dims.unify(base.shape[0], 1)
            self.dims.unify(base.shape[1], 1)
        if self.is_scalar(base):
            return Typed(base.shape, lambda: E.power(base.build(), exponent.build()), node.span)
        return self.matrix_power(base, exponent_node, node)

    def matrix_power(self, base: Typed, exponent_node: s.Node, node: s.Power) -> Typed:
        k = _integer_value(exponent_node)
        if k is None:
            raise ShapeError(f"a matrix power needs an integer exponent, but {self.operand(base)}",
                             node.span, hint="use .^ for an elementwise power")
        if self.dims.is_one(base.shape[0]) or self.dims.is_one(base.shape[1]):
            raise ShapeError(f"'^' of a vector is not defined: {self.operand(base)}", node.span,
                             hint="use .^ for an elementwise power, or ‖x‖² for the squared norm")
        self.square(base, "a matrix power", node.span)
        if k == -1:
            return Typed(base.shape, lambda: E.inverse(base.build()), node.span)

        def build() -> E.Expr:
            b = base.build()
            if k == 0:
                return E.identity(b.shape[0])
            factor = b if k > 0 else E.inverse(b)
            return E.mul(*[factor] * abs(k))
        return Typed(base.shape, build, node.span)

    def visit_Norm(self, node: s.Norm) -> Typed:
        t = self.expression(node.operand)
        if self.is_scalar(t):
            return Typed(t.shape, lambda: E.elementwise("abs", t.build()), node.span)
        self.settle(t)
        return Typed((sympy.Integer(1), sympy.Integer(1)), lambda: E.norm(t.build()), node.span)

    def visit_Abs(self, node: s.Abs) -> Typed:
        t = self.expression(node.operand)
        return Typed(t.shape, lambda: E.elementwise("abs", t.build()), node.span, t.free_name)

    def visit_Call(self, node: s.Call) -> Typed:
        name = node.function.text
        if name not in SPELLINGS and name not in _MATRIX_FUNCTIONS:
            known = name in self.defined or name in self.declared or name in self.undeclared
            if len(node.args) == 1 and (known or convention(name) == "matrix"):
                product = s.Binary(node.span, "product", node.function, node.args[0])
                return self.expression(product)
            close = difflib.get_close_matches(name, _FUNCTION_NAMES, n=3)
            hint = ("did you mean " + " or ".join(close) + "?") if close else \
                "functions: " + ", ".join(_FUNCTION_NAMES)
            raise NameResolutionError(f"unknown function '{name}'", node.function.span, hint=hint)
        arity = 2 if name in _BINARY_FUNCTIONS else 1
        if len(node.args) != arity:
            raise ShapeError(f"{name}(…) takes {'two arguments' if arity == 2 else 'one argument'}, "
                             f"got {len(node.args)}", node.span)
        if arity == 2:
            kron = s.Binary(node.span, "kron", node.args[0], node.args[1])
            return self.expression(kron)
        t = self.expression(node.args[0])
        if name in SPELLINGS:
            fn = SPELLINGS[name].name
            return Typed(t.shape, lambda: E.elementwise(fn, t.build()), node.span, t.free_name)
        return getattr(self, "call_" + _MATRIX_FUNCTIONS[name])(t, node)

    def vector_argument(self, t: Typed, node: s.Call) -> None:
        self.settle(t)
        self.require(lambda: self.dims.is_one(t.shape[0]) or self.dims.is_one(t.shape[1]),
                     lambda: f"{node.function.text}(…) takes a vector, but {self.operand(t)}",
                     node.span)

    def call_softmax(self, t: Typed, node: s.Call) -> Typed:
        self.vector_argument(t, node)
        return Typed(t.shape, lambda: E.softmax(t.build()), node.span)

    def call_logsumexp(self, t: Typed, node: s.Call) -> Typed:
        self.vector_argument(t, node)
        return Typed((sympy.Integer(1), sympy.Integer(1)), lambda: E.logsumexp(t.build()), node.span)

    def call_sum(self, t: Typed, node: s.Call) -> Typed:
        self.settle(t)
        return Typed((sympy.Integer(1), sympy.Integer(1)), lambda: E.total(t.build()), node.span)

    def call_norm(self, t: Typed, node: s.Call) -> Typed:
        return self.visit_Norm(s.Norm(node.span, node.args[0]))

    def _square_scalar(self, constructor, what: str) -> Callable[[Typed, s.Call], Typed]:
        def call(t: Typed, node: s.Call) -> Typed:
            self.settle(t)
            self.square(t, what, node.span)
            return Typed((sympy.Integer(1), sympy.Integer(1)), lambda: constructor(t.build()), node.span)
        return call

    def call_trace(self, t: Typed, node: s.Call) -> Typed:
        return self._square_scalar(E.trace, "the trace")(t, node)

    def call_det(self, t: Typed, node: s.Call) -> Typed:
        return self._square_scalar(E.det, "the determinant")(t, node)

    def call_logdet(self, t: Typed, node: s.Call) -> Typed:
        return self._square_scalar(E.logdet, "log det")(t, node)

    def call_inverse(self, t: Typed, node: s.Call) -> Typed:
        self.settle(t)
        return self.inverse(t, node.span)

    def call_diag(self, t: Typed, node: s.Call) -> Typed:
        self.settle(t)
        self.square(t, "diag(…)", node.span)
        return Typed((t.shape[0], sympy.Integer(1)), lambda: E.diag_vec(t.build()), node.span)

    def call_Diag(self, t: Typed, node: s.Call) -> Typed:
        self.vector_argument(t, node)
        n = t.shape[0] * t.shape[1]
        return Typed((n, n), lambda: E.diag_mat(t.build()), node.span)


def _norm_operand(node: s.Node) -> s.Node | None:
    """e for ‖e‖ or norm(e): squared, they lower to e : e."""
    if isinstance(node, s.Norm):
        return node.operand
    if isinstance(node, s.Call) and node.function.text == "norm" and len(node.args) == 1:
        return node.args[0]
    return None


def _is_number(node: s.Node, value: int) -> bool:
    return isinstance(node, s.Number) and node.value == value


def _integer_value(node: s.Node) -> int | None:
    if isinstance(node, s.Number) and node.value.is_Integer:
        return int(node.value)
    if isinstance(node, s.Negate):
        inner = _integer_value(node.operand)
        return None if inner is None else -inner
    return None


def resolve(program: s.Program) -> ResolvedProgram:
    """Resolve names and shapes; every error carries the program source for its caret."""
    try:
        return _Resolver(program).run()
    except MatcalcError as err:
        raise err.with_source(program.source) from None
