"""The Python API: ``derive`` and the ``Derivation`` it returns."""
from __future__ import annotations

import math
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from collections.abc import Callable

import sympy

from . import expr as E
from ._lazy import lazy_import
from .check import CheckReport, verify
from .codegen.numpy_backend import Output, generate, module
from .derive import Derivative, Step, derive as _derive
from .errors import MatcalcError
from .export_sympy import to_sympy
from .parse import parse
from .printing.core import Printer
from .printing.latex import LATEX, latex_name
from .printing.naming import shared_names, where_clause
from .printing.text import TEXT
from .resolve import resolve

np = lazy_import("numpy", __name__, "np")   # only compiled functions and check() need NumPy


@dataclass(frozen=True)
class Options:
    """How a derivation is carried out; frozen so it can be shared and cached safely.

    ``record_steps``: record the derivation while deriving; otherwise (the default) it is recorded
    on first use of ``steps`` / ``steps_text()``, so results that nobody reads cost nothing."""
    record_steps: bool = False


def _layout(shape: tuple) -> tuple[str, ...]:
    """NumPy layout of an IR value: scalars are floats, columns 1-D, the rest 2-D."""
    if shape == E.SCALAR:
        return ()
    return ("rows",) if shape[1] == 1 else ("rows", "cols")


def _jacobian_layout(f: tuple, x: tuple) -> tuple[str, ...]:
    """Sf + Sx for a Jacobian J (rows index f, columns index x), as jax.jacobian lays it out."""
    f_axes = ("rows",) if f[1] == 1 else ("1", "rows")
    x_axes = ("cols",) if x[1] == 1 else ("1", "cols")
    return f_axes + x_axes


class InputError(ValueError):
    """Arguments of a compiled function that do not fit the program: a wrongly shaped array, or
    sizes that disagree between arguments. The message names the variable, the expected shape with
    its dimensions bound from the other arguments (``W: expected shape (n, m) = (4, 3), got (3, 4)``)
    and the shape given."""


class KeywordError(InputError, TypeError):
    """A missing, unexpected or positional argument of a compiled function. Also a TypeError, which
    is what Python itself raises for a wrong keyword."""


class _InputCheck:
    """Checks the keyword arguments of a compiled function against the program's variables.

    The layout is the documented one: a scalar is a float, a 0-d or any size-1 array; a column
    vector a 1-D array (n,); a row vector (1, n); a matrix 2-D. A call costs a few comparisons per
    argument; only when something does not fit is the message worked out (``_diagnose``).
    """

    def __init__(self, variables: dict[str, E.Var], params: dict[str, str]) -> None:
        self.params = params
        # Python reads identifiers as NFKC, so `grad(ℓ=…)` arrives as `l`; and the generated module
        # spells `lambda` as `lambda_`: accept those spellings too
        self.aliases = {unicodedata.normalize("NFKC", n): n for n in params
                        if unicodedata.normalize("NFKC", n) != n}
        self.aliases.update({p: n for n, p in params.items() if p != n and p not in params})
        self.specs: list[tuple[str, str, tuple]] = []   # (name, kind, axes); an axis is an int,
        for name, v in variables.items():                # a dimension's name, or a sympy expression
            r, c = v.shape
            kind, dims = (("scalar", ()) if v.is_scalar else ("column", (r,)) if v.is_column else
                          ("row", (1, c)) if v.is_row else ("matrix", (r, c)))
            self.specs.append((name, kind, tuple(_axis(d) for d in dims)))
        self.derived = [(name, axes) for name, _, axes in self.specs
                        if any(isinstance(a, sympy.Expr) for a in axes)]

    def __call__(self, args: tuple, inputs: dict) -> dict:
        """The arguments by parameter name of the generated function, or an InputError."""
        if args or inputs.keys() != self.params.keys():
            inputs = self._keywords(args, inputs)
        bound: dict[str, int] = {}
        for name, kind, axes in self.specs:
            value = inputs[name]
            shape = value.shape if type(value) is np.ndarray else np.shape(value)
            if kind == "scalar":
                if shape and math.prod(shape) != 1:
                    raise InputError(self._diagnose(inputs))
            elif len(shape) != len(axes):
                raise InputError(self._diagnose(inputs))
            else:
                for size, axis in zip(shape, axes):
                    if type(axis) is str:
                        axis = bound.setdefault(axis, size)
                    elif type(axis) is not int:
                        continue   # a derived size such as 2n: checked below, once all are bound
                    if size != axis:
                        raise InputError(self._diagnose(inputs))
        if self.derived and any(not _fits(axes, np.shape(inputs[name]), bound) for name, axes in self.derived):
            raise InputError(self._diagnose(inputs))
        return {self.params[n]: value for n, value in inputs.items()}

    def _keywords(self, args: tuple, inputs: dict) -> dict:
        expected = ", ".join(self.params)
        if args:
            raise KeywordError(f"pass the arguments by keyword: {expected}")
        inputs = {self.aliases.get(n, n): value for n, value in inputs.items()}
        missing = [n for n in self.params if n not in inputs]
        unknown = [n for n in inputs if n not in self.params]
        if missing or unknown:
            raise KeywordError(f"expected keyword arguments {expected}" +
                               (f"; missing {', '.join(missing)}" if missing else "") +
                               (f"; unexpected {', '.join(unknown)}" if unknown else ""))
        return inputs

    def _diagnose(self, inputs: dict) -> str:
        """What does not fit, in the order a reader would fix it: an array of the wrong rank, a
        fixed size, then dimensions that disagree between arguments."""
        shapes = {name: tuple(np.shape(inputs[name])) for name, _, _ in self.specs}
        ranked = [(name, axes) for name, kind, axes in self.specs
                  if kind != "scalar" and len(shapes[name]) == len(axes)]
        consensus = _binding(ranked, shapes)
        for name, kind, axes in self.specs:
            shape, expected = shapes[name], _expected(axes, consensus)
            if kind == "scalar" and shape and math.prod(shape) != 1:
                return f"{name}: expected a scalar (a float or a 0-d array), got shape {shape}"
            if kind != "scalar" and len(shape) != len(axes):
                if kind == "column" and len(shape) == 2 and 1 in shape:
                    return (f"{name}: expected shape {expected}, got {shape}: a column vector is a "
                            f"1-D array; pass {name}.reshape(-1)")
                if kind == "row" and len(shape) == 1:
                    return (f"{name}: expected shape {expected}, got {shape}: a row vector is a "
                            f"(1, n) array; pass {name}.reshape(1, -1)")
                return f"{name}: expected shape {expected}, a {len(axes)}-D array, got {shape}"
        for name, axes in ranked:
            if any(type(a) is int and a != s for a, s in zip(axes, shapes[name])):
                return f"{name}: expected shape {_expected(axes, consensus)}, got {shapes[name]}"
        culprits = [name for name, _ in ranked
                    if _consistent([(n, a) for n, a in ranked if n != name], shapes)]
        if len(culprits) == 1:
            (name, axes), = [(n, a) for n, a in ranked if n == culprits[0]]
            others = [(n, a) for n, a in ranked if n != name]
            binding, sources = _binding(others, shapes), _sources(others, shapes)
            wrong = [a for a, s in zip(axes, shapes[name]) if type(a) is str and binding.get(a, s) != s]
            why = "; ".join(f"{a} = {binding[a]} from {sources[a]}" for a in dict.fromkeys(wrong))
            return (f"{name}: expected shape {_expected(axes, binding)}, got {shapes[name]}" +
                    (f" ({why})" if why else ""))
        seen: dict[str, tuple[str, int]] = {}
        for name, axes in ranked:
            for axis, size in zip(axes, shapes[name]):
                if type(axis) is str:
                    first = seen.setdefault(axis, (name, size))
                    if first[1] != size:
                        return (f"inconsistent sizes for {axis}: {first[0]} has shape {shapes[first[0]]}, "
                                f"so {axis} = {first[1]}, but {name} has shape {shapes[name]}, so "
                                f"{axis} = {size}")
        for name, axes in self.derived:
            return f"{name}: expected shape {_expected(axes, consensus)}, got {shapes[name]}"
        return "the arguments do not fit the program"   # not reached: some check above failed


def _axis(d) -> int | str | sympy.Expr:
    d = sympy.sympify(d)
    return int(d) if d.is_Integer else str(d) if d.is_Symbol else d


def _fits(axes: tuple, shape: tuple, bound: dict[str, int]) -> bool:
    values = {sympy.Symbol(k): v for k, v in bound.items()}
    for axis, size in zip(axes, shape):
        if isinstance(axis, sympy.Expr):
            value = axis.xreplace(values)
            if value.is_Integer and int(value) != size:
                return False
    return True


def _binding(ranked: list[tuple[str, tuple]], shapes: dict) -> dict[str, int]:
    """Each dimension's most common size among the arguments (the first one seen on a tie)."""
    votes: dict[str, Counter] = {}
    for name, axes in ranked:
        for axis, size in set(zip(axes, shapes[name])):
            if type(axis) is str:
                votes.setdefault(axis, Counter())[size] += 1
    return {axis: counts.most_common(1)[0][0] for axis, counts in votes.items()}


def _sources(ranked: list[tuple[str, tuple]], shapes: dict) -> dict[str, str]:
    sources: dict[str, str] = {}
    for name, axes in ranked:
        for axis in axes:
            if type(axis) is str:
                sources.setdefault(axis, name)
    return sources


def _consistent(ranked: list[tuple[str, tuple]], shapes: dict) -> bool:
    bound: dict[str, int] = {}
    return all(size == bound.setdefault(axis, size) for name, axes in ranked
               for axis, size in zip(axes, shapes[name]) if type(axis) is str)


def _expected(axes: tuple, binding: dict[str, int]) -> str:
    """``(n, m) = (4, 3)`` when every dimension is bound, else ``(n, m)``; ``(3,)`` for fixed sizes."""
    symbolic = _tuple(str(a) for a in axes)
    values = {sympy.Symbol(k): v for k, v in binding.items()}
    sizes = [a if type(a) is int else binding.get(a) if type(a) is str else a.xreplace(values)
             for a in axes]
    if all(type(a) is int for a in axes):
        return symbolic
    if all(isinstance(s, int) or getattr(s, "is_Integer", False) for s in sizes):
        return f"{symbolic} = {_tuple(str(s) for s in sizes)}"
    return symbolic


def _tuple(parts) -> str:
    parts = list(parts)
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"


class Derivation:
    """The derivative(s) of one program: closed form, derivation, LaTeX, NumPy code and checks."""

    def __init__(self, derivative: Derivative, record: Callable[[], Derivative] | None = None,
                 as_dict: bool = False) -> None:
        self._d = derivative
        self._record = record   # derives again with the steps recorded, when they were not
        self._as_dict = as_dict or len(derivative.wrt) > 1   # wrt given as a list
        self.source = derivative.program.source
        self.of = derivative.of.name
        self.wrt = [x.name for x in derivative.wrt]
        self.order = derivative.order
        self.kind = derivative.kind

    # ── the closed form ───────────────────────────────────────────────────────────────────────
    @property
    def expressions(self) -> dict:
        """The results as matcalc IR, by variable name."""
        return dict(self._d.results)

    @property
    def function(self) -> E.Expr:
        """The differentiated definition's body as matcalc IR."""
        return self._d.of.children[0]

    @property
    def variables(self) -> dict:
        """Every free variable of the program (matcalc IR, with shape and domain), by name."""
        return dict(self._d.program.variables)

    @cached_property
    def _names(self) -> dict:
        program = self._d.program
        taken = set(program.variables) | set(program.definitions) | {str(s) for s in program.dimensions}
        of = self._d.of
        return shared_names(list(self._d.results.values()), taken - {of.name}, {of.children[0]: of.name})

    def _symbol(self, name: str, latex: bool) -> str:
        f = latex_name(self.of) if latex else self.of
        x = latex_name(name) if latex else name
        if latex:
            if self.order == 2:
                return rf"\frac{{\partial^2 {f}}}{{\partial {x}\, \partial {x}^{{\top}}}}"
            return rf"\frac{{\partial {f}}}{{\partial {x}}}"
        return f"∂²{f}/∂{x}∂{x}ᵀ" if self.order == 2 else f"∂{f}/∂{x}"

    def _where(self, printer: Printer) -> list[tuple[str, str]]:
        entries = where_clause(list(self._d.results.values()), self._names)
        return [(name, printer.definition(e)) for name, e in entries]

    def __str__(self) -> str:
        printer = Printer(TEXT, self._names)
        lines = [f"{self._symbol(name, False)} = {printer(e)}" for name, e in self._d.results.items()]
        where = self._where(printer)
        if where:
            lines.append("where")
            lines.extend(f"  {name} = {text}" for name, text in where)
        lines.append("as read: " + "; ".join(self.read_as()))
        lines.append("with " + ", ".join(self._declared_as(name) for name in self._d.program.variables))
        return "\n".join(lines)

    def _declared_as(self, name: str) -> str:
        """``x ∈ ℝ^m``, marked when the naming convention chose the shape: a guess to look at."""
        program = self._d.program
        guessed = program.shape_origin.get(name) == "convention"
        return f"{name} ∈ {self._space(program.variables[name])}" + (" (guessed)" if guessed else "")

    def read_as(self) -> list[str]:
        """The definitions the differentiated function uses, printed from what matcalc understood
        (not from the text), so that a misreading such as λ/(2‖w‖²) for λ/2 ‖w‖² shows."""
        program = self._d.program
        printer = Printer(TEXT, {})
        used = {n for n in E.walk(program.definitions[self.of]) if isinstance(n, E.Ref)}
        return [f"{name} = {printer.definition(ref.children[0])}"
                for name, ref in program.definitions.items() if ref in used]

    def __repr__(self) -> str:
        return f"<Derivation {self.kind} of {self.of} wrt {', '.join(self.wrt)}>"

    @staticmethod
    def _space(v: E.Var) -> str:
        r, c = v.shape
        if v.domain in ("symmetric", "spd"):
            return ("𝕊" if v.domain == "symmetric" else "𝕊₊₊") + f"^{r}"
        base = {"positive": "ℝ₊", "simplex": "Δ", "onehot": "OneHot"}.get(v.domain, "ℝ")
        if v.is_scalar:
            return base
        return f"{base}^{r}" if c == 1 else f"{base}^({r}×{c})"

    def to_latex(self) -> str:
        """The closed form as LaTeX: ``\\frac{\\partial E}{\\partial W} = …`` with its where-clause."""
        printer = Printer(LATEX, self._names)
        lines = [f"{self._symbol(name, True)} = {printer(e)}" for name, e in self._d.results.items()]
        where = self._where(printer)
        if where:
            lines.append(r"\text{where } " + r",\quad ".join(f"{latex_name(n)} = {t}" for n, t in where))
        if len(lines) == 1:
            return lines[0]
        return "\\begin{aligned}\n" + " \\\\\n".join("& " + line for line in lines) + "\n\\end{aligned}"

    @cached_property
    def _recorded(self) -> Derivative:
        if self._d.steps is not None or self._record is None:
            return self._d
        return self._record()

    @property
    def steps(self) -> list[str]:
        """The derivation with differentials, one LaTeX line per substitution or adjoint move."""
        printer = Printer(LATEX, self._names)
        return [f"{printer(s.lhs)} = {printer(s.rhs)} \\qquad {_rule_latex(s)}" for s in self._recorded.steps]

    def steps_text(self) -> list[str]:
        """The derivation as readable Unicode lines."""
        printer = Printer(TEXT, self._names)
        return [f"{printer(s.lhs)} = {printer(s.rhs)}    [{_rule_text(s)}]" for s in self._recorded.steps]

    def to_sympy(self):
        """The results as SymPy matrix expressions (definitions expanded): one expression, or a
        dict name → expression when several variables (or a list) were requested."""
        exported = {name: to_sympy(e) for name, e in self._d.results.items()}
        return exported if self._as_dict else exported[self.wrt[0]]

    # ── code ──────────────────────────────────────────────────────────────────────────────────
    def _outputs(self) -> list[Output]:
        f = self._d.of.shape
        outputs = []
        for x in self._d.wrt:
            e = self._d.results[x.name]
            if self.kind == "gradient":
                layout = _layout(x.shape)
            elif x.is_scalar:   # f′(x) is shaped like f (like the gradient, for a Hessian)
                layout = _layout(x.shape if self.kind == "hessian" else f)
            else:   # J has rows indexing f (or the gradient), columns x
                layout = _jacobian_layout(x.shape if self.kind == "hessian" else f, x.shape)
            outputs.append(Output(x.name, e, layout))
        return outputs

    @cached_property
    def _module(self) -> tuple[str, dict[str, str]]:
        program = self._d.program
        header = (f"Generated by matcalc: {self.kind} of {self.of} with respect to "
                  f"{', '.join(self.wrt)}.\n\nSource:\n" +
                  "\n".join("    " + line for line in self.source.strip().splitlines()) +
                  "\n\nStandalone: needs only NumPy. Column vectors are 1-D arrays, row vectors (1, n),"
                  "\nscalars floats.")
        derivative, helpers, params = generate(
            program.variables, self._outputs(), "derivative",
            f"{self._symbol(self.wrt[0], False) if len(self.wrt) == 1 else 'Gradients of ' + self.of}"
            f" at the given point.", as_dict=self._as_dict, names=self._names)
        functions = [derivative]
        of = Output(self.of, self._d.of, _layout(self._d.of.shape))
        value, value_helpers, _ = generate(program.variables, [of], "value", f"The value of {self.of}.",
                                           as_dict=False, names={})
        functions.append(value)
        helpers |= value_helpers
        both, both_helpers, _ = generate(
            program.variables, self._outputs(), "value_and_derivative",
            f"({self.of}, {'derivative' if len(self.wrt) == 1 else 'gradients'}) from one pass: "
            f"what they share is computed once.", as_dict=self._as_dict, names=self._names, value=of)
        functions.append(both)
        helpers |= both_helpers
        if self._d.gradient is not None:
            x = self._d.wrt[0]
            gradient, gradient_helpers, _ = generate(
                program.variables, [Output(x.name, self._d.gradient, _layout(x.shape))], "gradient",
                f"∂{self.of}/∂{x.name}, whose Jacobian is the Hessian.", as_dict=False, names=self._names)
            functions.append(gradient)
            helpers |= gradient_helpers
        return module(functions, helpers, header), params

    def to_numpy(self) -> str:
        """Source of a standalone module with ``derivative(...)``, ``value(...)`` and
        ``value_and_derivative(...)`` (and ``gradient(...)`` for a Hessian)."""
        return self._module[0]

    @cached_property
    def _namespace(self) -> dict:
        namespace: dict = {}
        exec(compile(self.to_numpy(), f"<matcalc {self.of}>", "exec"), namespace)
        return namespace

    @cached_property
    def _inputs(self) -> _InputCheck:
        return _InputCheck(self._d.program.variables, self._module[1])

    def _wrap(self, function: Callable) -> Callable:
        """``function`` called by the program's variable names, its arguments checked first
        (``InputError``, a ValueError, when they do not fit)."""
        check = self._inputs

        def call(*args, **inputs):
            return function(**check(args, inputs))
        call.__doc__ = function.__doc__
        return call

    def compile(self, *, with_value: bool = False, check_inputs: bool = True) -> Callable:
        """The derivative as a function of every free variable, passed by keyword; returns an
        ndarray (a float for scalars), or a dict name → ndarray when several were requested.

        ``with_value=True``: the function returns ``(value, derivative)`` from one forward pass,
        the value as ``compile_value()`` gives it and the derivative as ``compile()`` does (the
        generated module's ``value_and_derivative``).

        ``check_inputs=False``: the generated function itself, without the wrapper that checks
        the arguments (about 4 µs a call): same results for valid arguments, but arguments must
        be passed by keyword as the module spells them (``lambda_`` for ``lambda``), and a wrong
        shape fails inside NumPy, or not at all, instead of raising ``InputError``.

        Arrays keep their floating type (float32 in, float32 out); integer and boolean arrays
        are converted to float64; scalars are returned as Python floats."""
        function = self._namespace["value_and_derivative" if with_value else "derivative"]
        return self._wrap(function) if check_inputs else function

    def compile_value(self, *, check_inputs: bool = True) -> Callable:
        """The differentiated function itself, with the same keyword arguments (and the same
        ``check_inputs`` option as ``compile``)."""
        function = self._namespace["value"]
        return self._wrap(function) if check_inputs else function

    def check(self, seed: int = 0, tolerance: float | None = None) -> CheckReport:
        """Verify the result against central finite differences of the value on random inputs
        (second differences for a Hessian); ``tolerance`` defaults to 1e-5 (1e-4 for order 2)."""
        roots = [self._d.of, *self._d.results.values()]
        return verify(self._d.program.variables, roots, self.compile_value(), self.compile(), self.wrt,
                      order=self.order, tolerance=tolerance, seed=seed)


def _rule_text(step: Step) -> str:
    return {"differential": f"differential of {step.subject}",
            "substitute": f"substitute d{step.subject}",
            "adjoint": "; ".join(rule.identity for rule in step.identities),
            "collect": "collect terms",
            "jacobian": f"read off ∂/∂{step.subject}",
            "gradient again": "differentiate the gradient again"}[step.rule]


def _rule_latex(step: Step) -> str:
    if step.rule == "adjoint":
        return r",\ ".join(rule.latex for rule in step.identities)
    subject = latex_name(step.subject)
    return {"differential": rf"\text{{differential of }} {subject}",
            "substitute": rf"\text{{substitute }} \mathrm{{d}}{subject}",
            "collect": r"\text{collect terms}",
            "jacobian": rf"\text{{read off }} \partial / \partial {subject}",
            "gradient again": r"\text{differentiate the gradient again}"}[step.rule]


def derive(source: str, wrt: str | list[str], *, of: str | None = None, order: int = 1,
           options: Options = Options()) -> Derivation:
    """Differentiate the program ``source`` with respect to ``wrt`` (a name or a list of names).

    ``of`` names the definition to differentiate (default: the last); ``order=2`` gives the Hessian.
    """
    names = [wrt] if isinstance(wrt, str) else list(wrt)
    if not names:
        raise MatcalcError("name at least one variable to differentiate with respect to")
    program = resolve(parse(source))
    derivative = _derive(program, names, of=of, order=order, record_steps=options.record_steps)
    return Derivation(derivative, lambda: _derive(program, names, of=of, order=order, record_steps=True),
                      as_dict=not isinstance(wrt, str))


def latex(source: str, wrt: str | list[str], *, of: str | None = None, order: int = 1) -> str:
    """Shorthand for ``derive(source, wrt, ...).to_latex()``."""
    return derive(source, wrt, of=of, order=order).to_latex()


__all__ = ["derive", "latex", "Derivation", "Options", "CheckReport", "InputError", "KeywordError"]
