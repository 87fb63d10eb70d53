"""The Python API: ``derive`` and the ``Derivation`` it returns."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from collections.abc import Callable

from . import expr as E
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


@dataclass(frozen=True)
class Options:
    """How a derivation is carried out; frozen so it can be shared and cached safely."""
    record_steps: bool = True


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


class Derivation:
    """The derivative(s) of one program: closed form, derivation, LaTeX, NumPy code and checks."""

    def __init__(self, derivative: Derivative, as_dict: bool = False) -> None:
        self._d = derivative
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
        lines.append("with " + ", ".join(f"{name} ∈ {self._space(v)}"
                                          for name, v in self._d.program.variables.items()))
        return "\n".join(lines)

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

    @property
    def steps(self) -> list[str]:
        """The derivation with differentials, one LaTeX line per substitution or adjoint move."""
        printer = Printer(LATEX, self._names)
        return [f"{printer(s.lhs)} = {printer(s.rhs)} \\qquad {_rule_latex(s)}" for s in self._d.steps]

    def steps_text(self) -> list[str]:
        """The derivation as readable Unicode lines."""
        printer = Printer(TEXT, self._names)
        return [f"{printer(s.lhs)} = {printer(s.rhs)}    [{_rule_text(s)}]" for s in self._d.steps]

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
        value, value_helpers, _ = generate(program.variables, [Output(self.of, self._d.of, _layout(self._d.of.shape))],
                                           "value", f"The value of {self.of}.", as_dict=False, names={})
        functions.append(value)
        helpers |= value_helpers
        if self._d.gradient is not None:
            x = self._d.wrt[0]
            gradient, gradient_helpers, _ = generate(
                program.variables, [Output(x.name, self._d.gradient, _layout(x.shape))], "gradient",
                f"∂{self.of}/∂{x.name}, whose Jacobian is the Hessian.", as_dict=False, names=self._names)
            functions.append(gradient)
            helpers |= gradient_helpers
        return module(functions, helpers, header), params

    def to_numpy(self) -> str:
        """Source of a standalone module with ``derivative(...)`` and ``value(...)``."""
        return self._module[0]

    @cached_property
    def _namespace(self) -> dict:
        namespace: dict = {}
        exec(compile(self.to_numpy(), f"<matcalc {self.of}>", "exec"), namespace)
        return namespace

    def _wrap(self, function: Callable) -> Callable:
        params = self._module[1]

        def call(**inputs):
            missing = [n for n in params if n not in inputs]
            unknown = [n for n in inputs if n not in params]
            if missing or unknown:
                raise TypeError("expected keyword arguments " + ", ".join(params) +
                                (f"; missing {', '.join(missing)}" if missing else "") +
                                (f"; unexpected {', '.join(unknown)}" if unknown else ""))
            return function(**{params[n]: value for n, value in inputs.items()})
        call.__doc__ = function.__doc__
        return call

    def compile(self) -> Callable:
        """The derivative as a function of every free variable, passed by keyword; returns an
        ndarray (a float for scalars), or a dict name → ndarray when several were requested."""
        return self._wrap(self._namespace["derivative"])

    def compile_value(self) -> Callable:
        """The differentiated function itself, with the same keyword arguments."""
        return self._wrap(self._namespace["value"])

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
    return Derivation(_derive(program, names, of=of, order=order, record_steps=options.record_steps),
                      as_dict=not isinstance(wrt, str))


def latex(source: str, wrt: str | list[str], *, of: str | None = None, order: int = 1) -> str:
    """Shorthand for ``derive(source, wrt, ...).to_latex()``."""
    return derive(source, wrt, of=of, order=order).to_latex()


__all__ = ["derive", "latex", "Derivation", "Options", "CheckReport"]
