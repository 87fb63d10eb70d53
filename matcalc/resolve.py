"""Surface AST → typed IR: names, juxtaposed-name splitting, shape inference, sugar lowering.

Each expression is visited once, producing a ``Typed``: its (possibly still symbolic) shape and a
function that builds the IR node once every dimension is final. Building late lets inference see the
whole program before any shape is fixed; only decisions that cannot wait (is this factor a scalar?
is this a column or a row?) consult the naming convention early.

Neither visiting nor building recurses on the depth of the program: visitors are generators that
``yield`` a child node and receive its ``Typed`` (driven by an explicit stack in ``expression``),
and IR nodes are built bottom-up in the order their ``Typed`` were made, each from its children's
already built nodes.

Naming convention for undeclared names, used only for what inference leaves open:
lower-case a–g and α β γ δ ε η κ λ ρ σ τ ω are scalars, other lower-case letters are column
vectors, upper-case letters are matrices. The first letter decides (``b0`` is a scalar name, ``W2``
a matrix name); a spelled-out Greek name decides as its letter (``lambda``, ``lambda2``,
``lambda_1`` are scalar names like λ; ``mu``, ``theta`` vector names like μ, θ). An undeclared ``e``
raised to a power (``e^x``, ``e^(…)``, ``e^{…}``) is Euler's number: ``exp(…)``.
"""
from __future__ import annotations

import difflib
import keyword
import math
import re
from dataclasses import dataclass, field
from collections.abc import Callable, Generator

import sympy

from . import expr as E
from . import syntax as s
from .errors import MatcalcError, NameResolutionError, ShapeError, Span, UnsupportedError, source_lines
from .functions import SPELLINGS
from .shapes import Dims, ShapePair, describe_shape, rigid

_SCALAR_GREEK = set("αβγδεηκλρστω")
_GREEK_LETTERS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ", "eta": "η",
    "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "omicron": "ο", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω",
}
# A spelled-out Greek name, alone or with digits or an underscore suffix: lambda, lambda2, lambda_1.
_GREEK_WORD = re.compile("(" + "|".join(sorted(_GREEK_LETTERS, key=len, reverse=True)) + r")(?=$|[\d_])")
_GREEK_WHOLE = re.compile("(" + "|".join(_GREEK_LETTERS) + r")\d*")
_GROUP = re.compile(r"[^\W\d_][\u0300-\u036f]*\d*", re.UNICODE)
# Index notation the language does not read: sum_i …, prod_k …, y_i, x_ij.
_INDEX_SUM = re.compile(r"(sum|Sum|prod|Prod|max|min|argmax|argmin)(_.*)?")
_INDEXED = re.compile(r"[^\W\d_][^\W_]*_[ijk]{1,2}")
# Constants must fit a float64; a power of numbers is checked before sympy computes it.
_LARGEST = sympy.Integer(10) ** 308

# Declared sets: spelling (NFKC-normalised, as parse.py hands them over) → (domain, needs a square shape).
_DOMAINS = {
    "R": ("real", False), "Real": ("real", False),
    "Pos": ("positive", False), "R+": ("positive", False), "Rpos": ("positive", False),
    "Sym": ("symmetric", True), "S": ("symmetric", True),
    "SPD": ("spd", True), "PD": ("spd", True), "S++": ("spd", True),
    "Simplex": ("simplex", False), "Δ": ("simplex", False), "Prob": ("simplex", False),
    "OneHot": ("onehot", False),
}

# Matrix functions: name → builder name. Elementwise functions come from functions.py.
_MATRIX_FUNCTIONS = {
    "softmax": "softmax", "logsumexp": "logsumexp", "lse": "logsumexp", "sum": "sum",
    "tr": "trace", "trace": "trace", "Tr": "trace", "det": "det", "logdet": "logdet",
    "inv": "inverse", "diag": "diag", "Diag": "Diag", "norm": "norm", "kron": "kron",
}
_BINARY_FUNCTIONS = {"kron"}   # the ASCII twin of ⊗
_FUNCTION_NAMES = sorted(set(_MATRIX_FUNCTIONS) | set(SPELLINGS))

# Where a variable's shape came from (ResolvedProgram.shape_origin).
DECLARED, INFERRED, CONVENTION = "declared", "inferred", "convention"


def convention(name: str) -> str:
    """The kind an undeclared name gets when inference leaves it open: scalar, vector or matrix."""
    first = name[0]
    if first.isupper():
        return "matrix"
    word = _GREEK_WORD.match(name)
    if word:
        first = _GREEK_LETTERS[word.group(1)]
    if ("a" <= first <= "g") or first in _SCALAR_GREEK:
        return "scalar"
    return "vector"


@dataclass(eq=False)
class Typed:
    """A visited expression: its shape, the ``Typed`` of its operands, and ``make``, which builds
    its IR node from theirs. ``value`` is its number when it is a constant (folded exactly)."""

    shape: ShapePair
    parts: tuple["Typed", ...]
    make: Callable[..., E.Expr]
    span: Span
    free_name: str | None = None  # an undeclared variable whose kind is still open
    value: sympy.Expr | None = None
    chain: str | None = None      # "mul", "add" or "sub" when ``make`` is that plain n-ary operation
    shape_final: E.Shape | None = None
    _built: E.Expr | None = field(default=None, repr=False)

    def build(self) -> E.Expr:
        """The IR node, built bottom-up without recursion (see ``_build``)."""
        if self._built is None:
            _build(self)
        return self._built


def _chain_operands(top: Typed, through: Callable[[Typed], bool]) -> list[tuple[Typed, bool]]:
    """The operands of a run of one associative operation under ``top`` (a + b − c + d, a b c d),
    in order, each with whether it is subtracted: the run is built with one n-ary call instead of
    one call per operator, which would copy the growing operand list each time (quadratic)."""
    kind = "add" if top.chain in ("add", "sub") else "mul"
    out: list[tuple[Typed, bool]] = []
    stack: list[tuple[Typed, bool]] = [(top, False)]
    while stack:
        node, negated = stack.pop()
        inner = node is top or (not negated and through(node))
        if inner and node.chain is not None and ("add" if node.chain in ("add", "sub") else "mul") == kind \
                and node._built is None:
            left, right = node.parts
            stack.append((right, node.chain == "sub"))
            stack.append((left, False))
        else:
            out.append((node, negated))
    return out


def _is_plain_scalar(e: E.Expr) -> bool:
    """A 1×1 value that E.mul never keeps whole (it is not a 1×1 chain such as xᵀy)."""
    return e.is_scalar and not (isinstance(e, E.Product) and any(not c.is_scalar for c in e.children))


def _build(root: Typed) -> None:
    """Build ``root`` and whatever it needs, with an explicit stack. A run of additions is one
    E.add; a run of products is one E.mul when every factor is a plain scalar, else one E.mul per
    stretch whose intermediate results are not 1×1 (where E.mul keeps a 1×1 chain whole, grouping
    matters: (xᵀy) B is not xᵀ (y B))."""
    stack: list[tuple[Typed, int]] = [(root, 0)]
    while stack:
        node, stage = stack.pop()
        if node._built is not None:
            continue
        if node.chain is None:
            missing = [p for p in node.parts if p._built is None]
            if missing and stage == 0:
                stack.append((node, 1))
                stack.extend((p, 0) for p in reversed(missing))
                continue
            node._built = node.make(*(p._built for p in node.parts))
            continue
        if node.chain in ("add", "sub"):
            operands = _chain_operands(node, lambda n: True)
        elif stage < 2:
            operands = _chain_operands(node, lambda n: True)
        else:
            operands = _chain_operands(node, lambda n: n.shape_final != (1, 1))
        missing = [p for p, _ in operands if p._built is None]
        if missing:
            stack.append((node, stage if stage == 2 else 1))
            stack.extend((p, 0) for p in reversed(missing))
            continue
        values = [E.neg(p._built) if negated else p._built for p, negated in operands]
        if node.chain in ("add", "sub"):
            node._built = E.add(*values)
        elif stage == 2 or all(_is_plain_scalar(v) for v in values):
            node._built = E.mul(*values)
        else:
            stack.append((node, 2))


@dataclass
class _Undeclared:
    name: str
    shape: ShapePair
    span: Span


@dataclass
class ResolvedProgram:
    """The resolved program.

    ``shape_origin`` says for each variable where its shape came from: ``"declared"`` (a
    declaration), ``"inferred"`` (fixed by how it is used) or ``"convention"`` (the naming
    convention chose scalar or column vector for an undeclared name, so the shape is a guess worth
    showing). ``guessed_dims`` are the output's dimensions that exist only because the convention
    guessed an undeclared lower-case name to be a vector and nothing else shares them (``mu ‖w‖²``
    is a vector only because ``mu`` was guessed one): a gradient of such an output should be
    refused, with the hint to declare the name."""

    source: str
    variables: dict[str, E.Var]          # every free variable, in order of first appearance
    definitions: dict[str, E.Ref]        # every definition, in order
    output: E.Ref                        # the last definition (or the bare expression)
    dimensions: tuple[sympy.Symbol, ...] = field(default=())
    spans: dict[str, Span] = field(default_factory=dict)   # where each name is defined or first used
    shape_origin: dict[str, str] = field(default_factory=dict)
    guessed_dims: tuple[sympy.Symbol, ...] = field(default=())
    guessed_dims_of: dict[str, tuple[sympy.Symbol, ...]] = field(default_factory=dict)  # per definition
    # Spans of each I whose size only the output's own shape fixes (f = λ I): no variable gives it a
    # value, so code cannot be generated; derive should refuse with this span.
    unsized_identities: tuple[Span, ...] = field(default=())


_Visit = Generator[s.Node, Typed, Typed]


def _scalar_shape() -> ShapePair:
    return (sympy.Integer(1), sympy.Integer(1))


class _Resolver:
    def __init__(self, program: s.Program) -> None:
        self.source = program.source
        self.program = program
        self.dims = Dims()
        self.declared: dict[str, tuple[ShapePair, str, Span]] = {}
        self.dim_names: dict[str, Span] = {}          # declared symbolic sizes, first occurrence
        self.undeclared: dict[str, _Undeclared] = {}
        self.defined: dict[str, Typed] = {}
        self.var_order: dict[str, None] = {}
        self.checks: list[Callable[[], None]] = []
        self.created: list[Typed] = []                # every visited Typed, children before parents
        self.identities: list[tuple[sympy.Expr, Span]] = []
        self.by_convention: set[str] = set()          # undeclared names the convention shaped
        self.guessed_vectors: set[str] = set()        # … of which those it guessed to be vectors
        self.euler: Span | None = None                # first e^… read as Euler's number
        self._vars: dict[str, E.Var] = {}
        self._refs: dict[str, E.Ref] = {}
        self.spans: dict[str, Span] = {}

    # ── helpers ───────────────────────────────────────────────────────────────────────────────
    def text(self, span: Span) -> str:
        lines = source_lines(self.source)
        if not 1 <= span.line <= len(lines):
            return "…"
        if span.line == span.end_line:
            return lines[span.line - 1][span.column - 1:span.end_column - 1]
        return lines[span.line - 1][span.column - 1:] + " …"

    def shape_text(self, shape: ShapePair) -> str:
        r, c = (self.dims.resolve(d) for d in shape)
        return describe_shape((r if not r.has(sympy.Dummy) else "?",
                               c if not c.has(sympy.Dummy) else "?"))

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
            self.by_convention.add(u.name)
        elif kind in ("scalar", "vector") and self.dims.is_free(c) and not self.dims.is_one(r):
            if self.dims.is_free(r):
                self.guessed_vectors.add(u.name)
            self.dims.unify(c, 1)
            self.by_convention.add(u.name)

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

    def constant(self, value: sympy.Expr, span: Span) -> sympy.Expr:
        """A folded constant, refused when float64 could not hold it."""
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise ShapeError("division by zero", span)
        if value.is_real is False:
            raise ShapeError("this power of numbers is not a real number", span,
                             hint="a negative number has no real non-integer power")
        magnitude = abs(value)
        if magnitude > _LARGEST:
            raise ShapeError("the number is too large for float64", span,
                             hint="numbers must stay below about 1.8e308")
        if value != 0 and magnitude < 1 / _LARGEST:
            raise ShapeError("the number is too small to be told from 0 in float64", span)
        return value

    def constant_power(self, base: sympy.Expr, exponent: sympy.Expr, span: Span) -> sympy.Expr:
        """``base^exponent`` of two numbers, its size estimated before sympy computes it (2^100000
        would be a 30,000-digit integer; 2^(10^300) would never finish)."""
        if base == 0:
            if exponent.is_negative:
                raise ShapeError("division by zero: 0 to a negative power", span)
            return sympy.Integer(1) if exponent == 0 else sympy.Integer(0)
        if base.is_negative and not exponent.is_integer:
            raise ShapeError("this power of numbers is not a real number", span,
                             hint="a negative number has no real non-integer power")
        if abs(base) != 1:
            size = float(exponent) * math.log10(abs(float(base)))
            if size > 308:
                raise ShapeError("the number is too large for float64", span,
                                 hint="numbers must stay below about 1.8e308")
            if size < -308:
                raise ShapeError("the number is too small to be told from 0 in float64", span)
        elif exponent.is_integer is not True and base.is_negative:
            raise ShapeError("this power of numbers is not a real number", span)
        return self.constant(base ** exponent, span)

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
                last_name = next(n for n in ("f", "f_", "f__", "f___")
                                 if n not in self.defined and n not in self.declared
                                 and n not in self.undeclared)
                self.spans[last_name] = st.span
                self.defined[last_name] = self.expression(st.value)
        if last_name is None:
            raise NameResolutionError("the program declares variables but defines nothing",
                                      statements[-1].span, hint="add a definition such as  E = ‖x‖²")
        self.check_dimension_names()
        for u in self.undeclared.values():
            self.default_kind(u)
        taken = set(self.dim_names) | set(self.declared) | set(self.undeclared) | set(self.defined)
        self.dims.finalize(taken)
        for check in self.checks:
            check()
        variables = {name: self.var(name) for name in self.var_order}
        var_dims = {sym for v in variables.values() for d in v.shape
                    for sym in sympy.sympify(d).free_symbols}
        self.check_identities(var_dims | set(sympy.sympify(
            self.dims.final(self.defined[last_name].shape[0])).free_symbols))
        unsized = tuple(span for size, span in self.identities
                        if not sympy.sympify(self.dims.final(size)).free_symbols <= var_dims)
        for t in self.created:
            t.shape_final = self.final_shape(t.shape)
        for t in self.defined.values():   # in order: a definition's uses come after it
            t.build()
        definitions = {name: self.ref(name) for name in self.defined}
        dims = sorted(var_dims, key=str)
        for name, (_, _, span) in self.declared.items():
            self.spans.setdefault(name, span)
        for name, u in self.undeclared.items():
            self.spans.setdefault(name, u.span)
        origin = {name: DECLARED if name in self.declared else
                  CONVENTION if name in self.by_convention else INFERRED for name in variables}
        guessed = {name: self.guessed(ref.shape, variables) for name, ref in definitions.items()}
        return ResolvedProgram(self.source, variables, definitions, definitions[last_name], tuple(dims),
                               self.spans, origin, guessed[last_name],
                               {name: g for name, g in guessed.items() if g}, unsized)

    def guessed(self, shape: E.Shape, variables: dict[str, E.Var]) -> tuple[sympy.Symbol, ...]:
        """Dimensions of ``shape`` that only variables the convention guessed to be vectors have."""
        result = []
        for d in shape:
            for sym in sorted(sympy.sympify(d).free_symbols, key=str):
                owners = [name for name, v in variables.items()
                          if any(sym in sympy.sympify(x).free_symbols for x in v.shape)]
                if owners and all(name in self.guessed_vectors for name in owners) and sym not in result:
                    result.append(sym)
        return tuple(result)

    def check_dimension_names(self) -> None:
        """A declared size may not share its name with a variable or a definition."""
        for dim, span in self.dim_names.items():
            if dim in self.declared or dim in self.defined or dim in self.undeclared:
                what = "defined" if dim in self.defined else "a variable"
                raise NameResolutionError(
                    f"'{dim}' is a dimension (a size in a declaration) and also {what}", span,
                    hint=f"dimensions and variables share one namespace; rename the size "
                         f"(e.g. {dim}{dim}) or the variable")

    def check_identities(self, var_dims: set) -> None:
        """Every I must take its size from a variable (or from the output's own shape, which the
        derive stage then reports); ``f = tr(I)`` has no size to compute with."""
        for size, span in self.identities:
            final = sympy.sympify(self.dims.final(size))
            if not final.is_Integer and not final.free_symbols <= var_dims:
                raise ShapeError("the size of I is not fixed by anything in the program", span,
                                 hint="use I beside a declared matrix or vector, or declare the "
                                      "variables whose size it shares")

    def declare(self, st: s.Declaration) -> None:
        domain = st.domain
        if domain.kind not in _DOMAINS:
            close = difflib.get_close_matches(domain.kind, list(_DOMAINS), n=3)
            raise NameResolutionError(f"unknown set '{domain.kind}'", domain.span,
                                      hint="use one of " + ", ".join(close or ["R", "Sym", "SPD", "Pos", "Simplex", "OneHot"]))
        kind, square = _DOMAINS[domain.kind]
        for d in domain.dims:
            if isinstance(d, s.DimName):
                if keyword.iskeyword(d.text):
                    raise NameResolutionError(f"'{d.text}' cannot name a dimension: it is a Python "
                                              "keyword, and generated code names sizes", d.span,
                                              hint="choose another name, such as n, m or k")
                self.dim_names.setdefault(d.text, d.span)
        dims = [sympy.Integer(d) if isinstance(d, int) else rigid(d.text) for d in domain.dims]
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
            if name.text in SPELLINGS or name.text in _MATRIX_FUNCTIONS or name.text == "I":
                raise NameResolutionError(f"'{name.text}' is a built-in name and cannot be declared",
                                          name.span, hint="use another name for the variable")
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
        if name == "e" and self.euler is not None:
            raise NameResolutionError("'e' is defined after e^… used it as Euler's number", span,
                                      hint="define e before using it, or rename the definition")
        if name in SPELLINGS or name in _MATRIX_FUNCTIONS or name == "I":
            raise NameResolutionError(f"'{name}' is a built-in name and cannot be defined", span)

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
        """Visit ``node`` with an explicit stack: a visitor is a generator that yields the child
        nodes it needs and receives their ``Typed``, so no Python frame is kept per level."""
        stack: list[_Visit] = [self._visit(node)]
        result: Typed | None = None
        while stack:
            try:
                child = stack[-1].send(result)
            except StopIteration as done:
                stack.pop()
                result = done.value
                self.created.append(result)
                continue
            stack.append(self._visit(child))
            result = None
        assert result is not None
        return result

    def _visit(self, node: s.Node) -> _Visit:
        outcome = getattr(self, "visit_" + type(node).__name__)(node)
        if isinstance(outcome, Typed):
            return outcome
        return (yield from outcome)

    def visit_Number(self, node: s.Number) -> Typed:
        value = self.constant(node.value, node.span)
        return Typed(_scalar_shape(), (), lambda: E.const(value), node.span, value=value)

    def visit_Name(self, node: s.Name) -> _Visit:
        name = node.text
        if name in self.defined:
            return Typed(self.defined[name].shape, (), lambda: self.ref(name), node.span,
                         value=self.defined[name].value)
        if name in self.declared:
            self.var_order.setdefault(name)
            return Typed(self.declared[name][0], (), lambda: self.var(name), node.span)
        if name in self.undeclared:
            return Typed(self.undeclared[name].shape, (), lambda: self.var(name), node.span,
                         free_name=name)
        if name in SPELLINGS or name in _MATRIX_FUNCTIONS:
            raise NameResolutionError(f"'{name}' is a function; call it with parentheses", node.span,
                                      hint=f"write {name}(…)")
        if name == "I":
            n = self.dims.fresh()
            self.identities.append((n, node.span))
            return Typed((n, n), (), lambda: E.identity(self.dims.final(n)), node.span)
        parts = self.split(name)
        if len(parts) > 1:
            return (yield self.juxtaposed_parts(node, parts))
        self.check_not_index_notation(node)
        if name == "e" and self.euler is not None:
            raise NameResolutionError("'e' is used as a variable here and as Euler's number in e^…",
                                      node.span, hint="declare it (e in R) to make it a variable "
                                                      "everywhere, or write exp(…) for the exponential")
        self.undeclared[name] = _Undeclared(name, (self.dims.fresh(), self.dims.fresh()), node.span)
        self.var_order.setdefault(name)
        return Typed(self.undeclared[name].shape, (), lambda: self.var(name), node.span, free_name=name)

    def check_not_index_notation(self, node: s.Name) -> None:
        name = node.text
        if _INDEX_SUM.fullmatch(name) or _INDEXED.fullmatch(name):
            raise NameResolutionError(
                f"'{name}' looks like index notation, which matcalc does not read", node.span,
                hint="no index notation; write whole-vector expressions such as sum(…), xᵀy or "
                     "‖Wx − y‖², or declare the name if it is a variable")

    def split(self, name: str) -> list[str]:
        """``Wx`` → [W, x], ``hW2`` → [h, W2]: longest known name first, else one letter (+digits)."""
        if "_" in name or _GREEK_WHOLE.fullmatch(name.lower()):
            return [name]
        groups = _GROUP.findall(name)
        if "".join(groups) != name or len(groups) < 2:
            return [name]
        known = set(self.defined) | set(self.declared) | set(self.undeclared)
        parts, i = [], 0
        while i < len(name):
            match = max((k for k in known if name.startswith(k, i)), key=len, default=None)
            if match is None:
                group = _GROUP.match(name, i)
                if group is None:      # cannot happen for names that are all groups; stay whole
                    return [name]
                match = group.group(0)
            parts.append(match)
            i += len(match)
        return parts

    def juxtaposed_parts(self, node: s.Name, parts: list[str]) -> s.Node:
        column = node.span.column
        pieces = []
        for part in parts:
            span = Span(node.span.line, column, node.span.line, column + len(part))
            pieces.append(s.Name(span, part))
            column += len(part)
        tree: s.Node = pieces[0]
        for piece in pieces[1:]:
            tree = s.Binary(tree.span.merge(piece.span), "product", tree, piece)
        return tree

    def visit_Negate(self, node: s.Negate) -> _Visit:
        t = yield node.operand
        value = None if t.value is None else -t.value
        return Typed(t.shape, (t,), E.neg, node.span, t.free_name, value)

    def split_operand(self, operand: s.Node, rebuild: Callable[[s.Node], s.Node]) -> s.Node | None:
        """A postfix or power on juxtaposed names applies to the last one, as on paper: ``ab²`` is
        a b², ``Wx'`` is W xᵀ — not (a b)², (W x)ᵀ. None when ``operand`` is no such name."""
        if not isinstance(operand, s.Name) or operand.grouped or operand.text in self.defined or operand.text in self.declared \
                or operand.text in self.undeclared:
            return None
        parts = self.split(operand.text)
        if len(parts) < 2:
            return None
        product = self.juxtaposed_parts(operand, parts)
        assert isinstance(product, s.Binary)
        return s.Binary(product.span, "product", product.left, rebuild(product.right))

    def visit_Postfix(self, node: s.Postfix) -> _Visit:
        split = self.split_operand(node.operand, lambda last: s.Postfix(last.span, node.op, last))
        if split is not None:
            return (yield split)
        t = yield node.operand
        if node.op == "transpose":
            self.settle(t)
            return Typed((t.shape[1], t.shape[0]), (t,), E.transpose, node.span, value=t.value)
        return self.inverse(t, node.span)

    def inverse(self, t: Typed, span: Span) -> Typed:
        if self.wants_scalar(t):
            value = None if t.value is None else self.constant_power(t.value, sympy.Integer(-1), span)
            return Typed(t.shape, (t,), E.reciprocal, span, value=value)
        self.square(t, "the inverse", span)
        return Typed(t.shape, (t,), E.inverse, span)

    def square(self, t: Typed, what: str, span: Span) -> None:
        if not self.dims.unify(t.shape[0], t.shape[1]):
            raise ShapeError(f"{what} needs a square matrix, but {self.operand(t)}", span)

    def visit_Binary(self, node: s.Binary) -> _Visit:
        a = yield node.left
        b = yield node.right
        return getattr(self, "binary_" + node.op)(a, b, node)

    def binary_add(self, a: Typed, b: Typed, node: s.Binary, negate: bool = False) -> Typed:
        sign = E.neg if negate else (lambda x: x)
        word = "subtraction" if negate else "addition"
        value = None
        if a.value is not None and b.value is not None:
            value = self.constant(a.value - b.value if negate else a.value + b.value, node.span)
        if self.is_scalar(a) and not self.is_scalar(b):
            return Typed(b.shape, (a, b), lambda x, y: E.add(E.broadcast(x, self.final_shape(b.shape)),
                                                             sign(y)), node.span)
        if self.is_scalar(b) and not self.is_scalar(a):
            return Typed(a.shape, (a, b), lambda x, y: E.add(x, E.broadcast(sign(y),
                                                                            self.final_shape(a.shape))),
                         node.span)
        self.unify_shapes(word, a, b, node.span)
        free = a.free_name if a.free_name and b.free_name else None
        return Typed(a.shape, (a, b), lambda x, y: E.add(x, sign(y)), node.span, free, value,
                     chain="sub" if negate else "add")

    def binary_sub(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        return self.binary_add(a, b, node, negate=True)

    def binary_product(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        value = None
        if a.value is not None and b.value is not None:
            value = self.constant(a.value * b.value, node.span)
        if self.wants_scalar(a):
            return Typed(b.shape, (a, b), E.mul, node.span, value=value, chain="mul")
        if self.wants_scalar(b):
            return Typed(a.shape, (a, b), E.mul, node.span, value=value, chain="mul")
        if b.free_name and self.dims.is_free(b.shape[1]):   # W x: x is a column unless shown otherwise
            self.settle(b)
        if not self.dims.unify(a.shape[1], b.shape[0]):
            left = self.dims.resolve(a.shape[1])
            right = self.dims.resolve(b.shape[0])
            raise ShapeError(f"matrix product '{self.text(node.span)}': {self.operand(a)} and "
                             f"{self.operand(b)}; inner dimensions {left} and {right} differ",
                             node.span, hint="check the order of the factors or add a transpose")
        return Typed((a.shape[0], b.shape[1]), (a, b), E.mul, node.span, chain="mul")

    def nonzero_divisor(self, b: Typed, span: Span) -> None:
        if b.value is not None and b.value == 0:
            raise ShapeError("division by zero", span)

    def elementwise_pair(self, a: Typed, b: Typed, node: s.Binary, word: str,
                         combine: Callable[[E.Expr, E.Expr], E.Expr]) -> Typed:
        if self.is_scalar(a) and not self.is_scalar(b):
            return Typed(b.shape, (a, b), lambda x, y: combine(E.broadcast(x, self.final_shape(b.shape)), y),
                         node.span)
        if self.is_scalar(b) and not self.is_scalar(a):
            return Typed(a.shape, (a, b), lambda x, y: combine(x, E.broadcast(y, self.final_shape(a.shape))),
                         node.span)
        self.unify_shapes(word, a, b, node.span)
        return Typed(a.shape, (a, b), combine, node.span)

    def binary_hadamard(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        t = self.elementwise_pair(a, b, node, "the Hadamard product", E.hadamard)
        if a.value is not None and b.value is not None:
            t.value = self.constant(a.value * b.value, node.span)
        return t

    def binary_ediv(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        self.nonzero_divisor(b, node.span)
        t = self.elementwise_pair(a, b, node, "elementwise division",
                                  lambda x, y: E.hadamard(x, E.reciprocal(y)))
        if a.value is not None and b.value is not None:
            t.value = self.constant(a.value / b.value, node.span)
        return t

    def binary_div(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        if b.free_name is not None and all(self.dims.is_free(d) for d in b.shape):
            self.dims.unify(b.shape[0], 1)
            self.dims.unify(b.shape[1], 1)
        if not self.is_scalar(b):
            raise ShapeError(f"'/' divides by a scalar, but {self.operand(b)}", node.span,
                             hint="use ./ or ⊘ for elementwise division, inv(B) for a matrix inverse")
        self.nonzero_divisor(b, node.span)
        value = None
        if a.value is not None and b.value is not None:
            value = self.constant(a.value / b.value, node.span)
        return Typed(a.shape, (a, b), lambda x, y: E.mul(x, E.reciprocal(y)), node.span, a.free_name,
                     value)

    def binary_kron(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        self.settle(a)
        self.settle(b)
        shape = (a.shape[0] * b.shape[0], a.shape[1] * b.shape[1])
        value = None
        if a.value is not None and b.value is not None:
            value = self.constant(a.value * b.value, node.span)
        return Typed(shape, (a, b), E.kron, node.span, value=value)

    def binary_frobenius(self, a: Typed, b: Typed, node: s.Binary) -> Typed:
        self.unify_shapes("the Frobenius product ':'", a, b, node.span)
        value = None
        if a.value is not None and b.value is not None:
            value = self.constant(a.value * b.value, node.span)
        return Typed(_scalar_shape(), (a, b), E.frobenius, node.span, value=value)

    def is_euler(self, node: s.Node) -> bool:
        """An undeclared, undefined ``e`` as the base of a power is Euler's number."""
        return isinstance(node, s.Name) and node.text == "e" and "e" not in self.declared \
            and "e" not in self.defined

    def visit_Power(self, node: s.Power) -> _Visit:
        exponent_node = node.exponent
        if isinstance(exponent_node, s.Name) and exponent_node.text == "T" and not node.elementwise:
            return (yield s.Postfix(node.span, "transpose", node.base))
        split = self.split_operand(node.base, lambda last: s.Power(
            last.span.merge(node.exponent.span), last, node.exponent, node.elementwise))
        if split is not None:
            return (yield split)
        if self.is_euler(node.base):
            return (yield from self.euler_power(node))
        norm_of = _norm_operand(node.base)
        if norm_of is not None and not node.elementwise and _is_number(exponent_node, 2):
            t = yield norm_of
            value = None if t.value is None else self.constant_power(t.value, sympy.Integer(2), node.span)
            return Typed(_scalar_shape(), (t,), lambda x: E.frobenius(x, x), node.span, value=value)
        base = yield node.base
        exponent = yield exponent_node
        if not self.wants_scalar(exponent):
            raise ShapeError(f"an exponent must be a scalar, but {self.operand(exponent)}",
                             exponent_node.span)
        value = None
        if base.value is not None and exponent.value is not None:
            value = self.constant_power(base.value, exponent.value, node.span)
        elif base.value is not None and base.value == 0 and exponent.value is None:
            pass   # 0^x: left to the function's domain
        if node.elementwise:
            return Typed(base.shape, (base, exponent), E.power, node.span, base.free_name, value)
        if base.free_name is not None and convention(base.free_name) != "matrix" \
                and all(self.dims.is_free(d) for d in base.shape):
            self.dims.unify(base.shape[0], 1)
            self.dims.unify(base.shape[1], 1)
            self.by_convention.add(base.free_name)
        if self.is_scalar(base):
            return Typed(base.shape, (base, exponent), E.power, node.span, value=value)
        return self.matrix_power(base, exponent_node, node)

    def euler_power(self, node: s.Power) -> _Visit:
        """``e^x`` with an undeclared e: exp(x), elementwise for a vector exponent."""
        if "e" in self.undeclared:
            raise NameResolutionError("'e' is used as a variable and, here, as Euler's number in e^…",
                                      node.base.span, hint="declare it (e in R) to make it a variable "
                                      "everywhere, or write exp(…) for the exponential")
        if self.euler is None:
            self.euler = node.base.span
        exponent = yield node.exponent
        if not self.wants_scalar(exponent):
            self.settle(exponent)
            rows, cols = exponent.shape
            if not (self.dims.is_one(rows) or self.dims.is_one(cols)) and not node.elementwise:
                raise UnsupportedError(
                    f"e^ of a matrix would be the matrix exponential, which matcalc does not support: "
                    f"{self.operand(exponent)}", node.span,
                    hint="write exp(…) (or e.^…) for the elementwise exponential")
        return Typed(exponent.shape, (exponent,), lambda x: E.elementwise("exp", x), node.span)

    def matrix_power(self, base: Typed, exponent_node: s.Node, node: s.Power) -> Typed:
        k = _integer_value(exponent_node)
        if k is None:
            raise ShapeError(f"a matrix power needs an integer exponent, but {self.operand(base)}",
                             node.span, hint="use .^ for an elementwise power")
        if self.dims.is_one(base.shape[0]) or self.dims.is_one(base.shape[1]):
            raise ShapeError(f"'^' of a vector is not defined: {self.operand(base)}", node.span,
                             hint="use .^ for an elementwise power, or ‖x‖² for the squared norm")
        if abs(k) > 64:
            raise UnsupportedError(f"a matrix power above 64 is not supported (got {k})", node.span,
                                   hint="write it as a product of smaller powers")
        self.square(base, "a matrix power", node.span)
        if k == -1:
            return Typed(base.shape, (base,), E.inverse, node.span)

        def build(b: E.Expr) -> E.Expr:
            if k == 0:
                return E.identity(b.shape[0])
            factor = b if k > 0 else E.inverse(b)
            return E.mul(*[factor] * abs(k))
        return Typed(base.shape, (base,), build, node.span)

    def visit_Norm(self, node: s.Norm) -> _Visit:
        t = yield node.operand
        self.settle(t)   # ‖c‖ of an undeclared scalar-named c is |c|
        if self.is_scalar(t):
            value = None if t.value is None else abs(t.value)
            return Typed(t.shape, (t,), lambda x: E.elementwise("abs", x), node.span, value=value)
        return Typed(_scalar_shape(), (t,), E.norm, node.span)

    def visit_Abs(self, node: s.Abs) -> _Visit:
        t = yield node.operand
        value = None if t.value is None else abs(t.value)
        return Typed(t.shape, (t,), lambda x: E.elementwise("abs", x), node.span, t.free_name, value)

    def visit_Call(self, node: s.Call) -> _Visit:
        name = node.function.text
        if name not in SPELLINGS and name not in _MATRIX_FUNCTIONS:
            known = name in self.defined or name in self.declared or name in self.undeclared
            if len(node.args) == 1 and (known or convention(name) == "matrix"):
                return (yield s.Binary(node.span, "product", node.function, node.args[0]))
            if _INDEX_SUM.fullmatch(name):
                raise NameResolutionError(
                    f"'{name}' looks like index notation, which matcalc does not read",
                    node.function.span, hint="no index notation; write sum(…) of a whole vector, "
                                             "e.g. sum(log(σ(X w)))")
            close = difflib.get_close_matches(name, _FUNCTION_NAMES, n=3)
            hint = ("did you mean " + " or ".join(close) + "?") if close else \
                "functions: " + ", ".join(_FUNCTION_NAMES)
            raise NameResolutionError(f"unknown function '{name}'", node.function.span, hint=hint)
        arity = 2 if name in _BINARY_FUNCTIONS else 1
        if len(node.args) != arity:
            raise ShapeError(f"{name}(…) takes {'two arguments' if arity == 2 else 'one argument'}, "
                             f"got {len(node.args)}", node.span)
        if arity == 2:
            return (yield s.Binary(node.span, "kron", node.args[0], node.args[1]))
        if name in ("norm",):
            return (yield s.Norm(node.span, node.args[0]))
        t = yield node.args[0]
        if name in SPELLINGS:
            fn = SPELLINGS[name].name
            return Typed(t.shape, (t,), lambda x: E.elementwise(fn, x), node.span, t.free_name)
        return getattr(self, "call_" + _MATRIX_FUNCTIONS[name])(t, node)

    def vector_argument(self, t: Typed, node: s.Call) -> None:
        self.settle(t)
        self.require(lambda: self.dims.is_one(t.shape[0]) or self.dims.is_one(t.shape[1]),
                     lambda: f"{node.function.text}(…) takes a vector, but {self.operand(t)}",
                     node.span)

    def call_softmax(self, t: Typed, node: s.Call) -> Typed:
        self.vector_argument(t, node)
        return Typed(t.shape, (t,), E.softmax, node.span)

    def call_logsumexp(self, t: Typed, node: s.Call) -> Typed:
        self.vector_argument(t, node)
        return Typed(_scalar_shape(), (t,), E.logsumexp, node.span)

    def call_sum(self, t: Typed, node: s.Call) -> Typed:
        self.settle(t)
        return Typed(_scalar_shape(), (t,), E.total, node.span, value=t.value)

    def _square_scalar(self, t: Typed, node: s.Call, constructor, what: str) -> Typed:
        self.settle(t)
        self.square(t, what, node.span)
        return Typed(_scalar_shape(), (t,), constructor, node.span)

    def call_trace(self, t: Typed, node: s.Call) -> Typed:
        return self._square_scalar(t, node, E.trace, "the trace")

    def call_det(self, t: Typed, node: s.Call) -> Typed:
        return self._square_scalar(t, node, E.det, "the determinant")

    def call_logdet(self, t: Typed, node: s.Call) -> Typed:
        return self._square_scalar(t, node, E.logdet, "log det")

    def call_inverse(self, t: Typed, node: s.Call) -> Typed:
        self.settle(t)
        return self.inverse(t, node.span)

    def call_diag(self, t: Typed, node: s.Call) -> Typed:
        self.settle(t)
        self.square(t, "diag(…)", node.span)
        return Typed((t.shape[0], sympy.Integer(1)), (t,), E.diag_vec, node.span)

    def call_Diag(self, t: Typed, node: s.Call) -> Typed:
        self.vector_argument(t, node)
        n = t.shape[0] * t.shape[1]
        return Typed((n, n), (t,), E.diag_mat, node.span)


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
