"""The one module that sequences the stages: choose the kind of derivative, run reverse mode over
the definitions (or forward mode for Jacobians), simplify, and record the derivation as ``Step``s.

Reverse mode works definition by definition, as a person does on paper: for ``v = body`` with
cotangent G_v (so that dE = G_v : dv + …), take the differential of the body in terms of the
differentials of the definitions and variables it uses, then move everything but each differential
to the left of the Frobenius product with the adjoint table. Each substitution and each adjoint
move is one step of the derivation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from . import expr as E
from .adjoint import ADJOINTS, AdjointRule, peel, pull_back_all
from .differential import differential, named_by_definition
from .errors import MatcalcError, NameResolutionError, ShapeError, UnsupportedError
from .jacobian import jacobian
from .resolve import ResolvedProgram
from .shapes import describe_shape
from .simplify import simplify, tidy_differential
from .stable import stable_forms


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs = rhs``, justified by ``rule`` — one of "differential" (of
    the definition ``subject``), "substitute" (d``subject`` by its differential), "adjoint" (moves
    by the ``identities``), "collect", "jacobian" (read off ∂f/∂``subject``) or "gradient again" —
    rendered by the printers."""
    rule: str
    lhs: E.Expr
    rhs: E.Expr
    subject: str = ""
    identities: tuple[AdjointRule, ...] = ()


@dataclass
class Derivative:
    """The derivatives of ``of`` with respect to each of ``wrt``, and how they were obtained."""
    program: ResolvedProgram
    of: E.Ref
    wrt: list[E.Var]
    order: int
    kind: str                                   # gradient, jacobian, derivative or hessian
    results: dict[str, E.Expr]
    steps: list[Step] | None = None               # None: not recorded
    gradient: E.Expr | None = None              # for a Hessian: the gradient it differentiates


def _presented(G: E.Expr, L: E.Expr) -> E.Expr:
    """``G : L`` kept as written (not simplified), for a derivation line; ``1 : L`` is just L
    and a scalar G multiplies."""
    if L.is_scalar:
        return L if G is E.ONE else E.Product((G, L), (), E.SCALAR)
    return E.Frobenius((G, L), (), E.SCALAR)


def _line(terms: list[tuple[E.Expr, E.Expr]]) -> E.Expr:
    if not terms:
        return E.zero(E.SCALAR)
    return E.Add(tuple(_presented(G, L) for G, L in terms), (), E.SCALAR) if len(terms) > 1 \
        else _presented(*terms[0])


def _boundaries(body: E.Expr, active: frozenset, memo: dict) -> list[E.Expr]:
    """The definitions and variables a body uses directly that depend on what we differentiate
    (``memo`` is shared over the whole pass, so each node is examined once)."""
    found = []
    for node in E.walk(body, into_refs=False):
        if isinstance(node, (E.Ref, E.Var)) and E.depends_on(node, active, memo):
            found.append(node)
    return found


def reverse_mode(of: E.Ref, wrt: list[E.Var], record: bool) -> tuple[dict[E.Var, E.Expr], list[Step]]:
    """Gradients of the scalar ``of`` by reverse mode over definitions, with the derivation."""
    active = frozenset(wrt)
    memo: dict = {}
    refs = [n for n in E.walk(of) if isinstance(n, E.Ref) and E.depends_on(n, active, memo)]
    cotangent: dict[E.Expr, E.Expr] = {of: E.ONE}
    steps: list[Step] = []
    d_out = E.differential(of)
    # The running right-hand side of dE = Σ G : L, kept as (G, L) pairs for the derivation.
    line: list[tuple[E.Expr, E.Expr]] = [(E.ONE, d_out)]
    for ref in reversed(refs):
        if ref not in cotangent:
            continue
        G = simplify(cotangent.pop(ref))
        boundaries = _boundaries(ref.children[0], active, memo)
        seeds = {b: E.differential(b) for b in boundaries}
        body = ref.children[0]
        L = differential(body, seeds, through_refs=False)
        if ref is not of:
            L = named_by_definition(L, ref)
        L = tidy_differential(L)
        if record:
            steps.append(Step("differential", E.differential(ref), L, ref.name))
            line = _substitute_in_line(line, ref, G, L, steps, d_out)
        pulled = pull_back_all(G, L, [seeds[b] for b in boundaries])
        for b in boundaries:
            contribution = pulled[seeds[b]]
            if not isinstance(contribution, E.Zero):
                cotangent[b] = E.add(cotangent[b], contribution) if b in cotangent else contribution
    return {x: simplify(cotangent.get(x, E.zero(x.shape))) for x in wrt}, steps


def _substitute_in_line(line, ref, G, L, steps, d_out):
    """Replace the terms G : d(ref) by G : L, then move G across L one adjoint at a time."""
    D_ref = E.differential(ref)
    kept = [(g, l) for g, l in line if l is not D_ref]
    working = [(G, L)] if not isinstance(L, E.Zero) else []
    if kept or G is not E.ONE:
        steps.append(Step("substitute", d_out, _line(kept + working), ref.name))
    while any(not isinstance(l, E.Differential) for _, l in working):
        rules = dict.fromkeys(ADJOINTS[type(l)] for _, l in working if not isinstance(l, E.Differential))
        moved = []
        for g, l in working:
            moved.extend([(g, l)] if isinstance(l, E.Differential) else _peel_all(g, l))
        previous = _line(kept + working)
        working = [(g, l) for g, l in ((simplify(g), l) for g, l in moved) if not isinstance(g, E.Zero)]
        if _line(kept + working) is not previous:
            steps.append(Step("adjoint", d_out, _line(kept + working), identities=tuple(rules)))
    merged: dict[E.Expr, E.Expr] = {}
    for g, l in kept + working:
        merged[l] = simplify(E.add(merged[l], g)) if l in merged else g
    if len(merged) < len(kept) + len(working):
        steps.append(Step("collect", d_out, _line([(g, l) for l, g in merged.items()])))
    return [(g, l) for l, g in merged.items()]


def _differentials_in(L: E.Expr) -> list[E.Expr]:
    return [n for n in E.walk(L, into_refs=False) if isinstance(n, E.Differential)]


def _peel_all(G: E.Expr, L: E.Expr) -> list[tuple[E.Expr, E.Expr]]:
    """One adjoint move on ``G : L``, for every differential L contains."""
    pieces = []
    seen = set()
    for D in _differentials_in(L):
        for g, child in peel(G, L, D):
            if (id(child), id(D)) in seen:
                continue
            seen.add((id(child), id(D)))
            pieces.append((g, child))
    return _dedupe(pieces, L)


def _dedupe(pieces, L):
    if isinstance(L, E.Add):
        unique = []
        for g, child in pieces:
            if all(child is not c for _, c in unique):
                unique.append((g, child))
        return unique
    return pieces[:1] if pieces else pieces


def forward_derivative(f: E.Expr, x: E.Var) -> E.Expr:
    """∂f/∂x for f and x where the result is at most a matrix: scalar x, or vector f of vector x."""
    D = E.differential(x)
    L = simplify(differential(f, {x: D}))
    if x.is_scalar:                      # L is linear in the scalar dx: L = dx · ∂f/∂x
        return simplify(E.substitute(L, {D: E.ONE}))
    column = E.differential(E.transpose(x)) if x.is_row else D
    if x.is_row:
        L = simplify(E.substitute(L, {D: E.transpose(column)}))
    if f.is_row:
        L = simplify(E.transpose(L))
    return simplify(jacobian(L, column))


def derive(program: ResolvedProgram, wrt: list[str], of: str | None = None, order: int = 1,
           record_steps: bool = True) -> Derivative:
    """The derivative of ``of`` (default: the last definition) with respect to ``wrt``. An error
    that concerns no narrower part of the source points at the differentiated definition."""
    output = _output(program, of)
    _refuse_too_large(program, output, order)
    if program.unsized_identities:
        raise ShapeError("nothing in the program fixes the size of I", program.unsized_identities[0],
                         hint="the generated code learns sizes from the variables: use I with a "
                              "declared variable of its size (e.g. c I + A with A in R^(3,3))",
                         source=program.source)
    try:
        derivative = _derive(program, output, wrt, order, record_steps)
    except MatcalcError as err:
        if err.span is None:
            err.span = program.spans.get(output.name)
        raise err.with_source(program.source) from None
    aliases: dict[E.Expr, E.Expr] = {}
    for ref in program.definitions.values():   # in order, so u = x; v = u maps v to x
        if isinstance(ref.children[0], (E.Var, E.Ref)):
            aliases[ref] = aliases.get(ref.children[0], ref.children[0])
    if aliases:   # h = x: the result says x, not h
        names = list(derivative.results)
        inlined = E.substitute_all([derivative.results[n] for n in names], aliases)
        derivative.results = {name: simplify(e) for name, e in zip(names, inlined)}
    return derivative


def _derive(program: ResolvedProgram, output: E.Ref, wrt: list[str], order: int,
            record_steps: bool) -> Derivative:
    _refuse_guessed_shape(program, output)
    output = stable_forms(output)
    variables = [_variable(program, name, output) for name in wrt]
    if order not in (1, 2):
        raise UnsupportedError(f"order={order}: only first derivatives and Hessians (order=2) are supported")
    if order == 2:
        return _hessian(program, output, variables, record_steps)
    if output.is_scalar:
        gradients, steps = reverse_mode(output, variables, record_steps)
        return Derivative(program, output, variables, 1, "gradient",
                          {x.name: g for x, g in gradients.items()}, steps if record_steps else None)
    results = {}
    for x in variables:
        _check_rank(output, x)
        results[x.name] = forward_derivative(output.children[0], x)
    kind = "derivative" if all(x.is_scalar for x in variables) else "jacobian"
    steps = []
    if record_steps:
        for x in variables:
            L = tidy_differential(differential(output.children[0], {x: E.differential(x)}))
            steps.append(Step("differential", E.differential(output), L, output.name))
            if (x.is_scalar or x.is_column) and not output.is_row:   # df = J dx
                applied = E.Product((results[x.name], E.differential(x)), (), output.shape)
                steps.append(Step("jacobian", E.differential(output), applied, x.name))
    return Derivative(program, output, variables, 1, kind, results, steps if record_steps else None)


def _hessian(program: ResolvedProgram, output: E.Ref, variables: list[E.Var],
             record_steps: bool) -> Derivative:
    if len(variables) != 1:
        raise UnsupportedError("a Hessian is taken with respect to one variable",
                               hint="call derive once per variable")
    (x,) = variables
    if not output.is_scalar:
        raise UnsupportedError(f"a Hessian needs a scalar function, but {output.name} is "
                               f"{describe_shape(output.shape)}")
    if not (x.is_scalar or x.is_vector):
        raise UnsupportedError(f"the Hessian with respect to the matrix {x.name} is a rank-4 tensor; "
                               "not supported yet", hint="differentiate with respect to a vector")
    # A domain fact (sum(y) = 1 for y ∈ Δ, Sᵀ = S) holds at the point, not near it: the gradient
    # that is differentiated again is taken with x as a plain real variable, and the facts may
    # simplify only the finished Hessian.
    plain = E.var(x.name, x.shape)
    back = {plain: x}
    gradients, steps = reverse_mode(E.substitute(output, {x: plain}), [plain], record_steps)
    gradient = gradients[plain]
    hessian = simplify(E.substitute(forward_derivative(gradient, plain), back))
    if record_steps:
        again = differential(gradient, {plain: E.differential(plain)})
        steps.append(Step("gradient again", E.differential(gradient), simplify(E.substitute(again, back))))
        steps = [Step(st.rule, E.substitute(st.lhs, back), E.substitute(st.rhs, back), st.subject,
                      st.identities) for st in steps]
    return Derivative(program, output, [x], 2, "hessian", {x.name: hessian}, steps if record_steps else None,
                      simplify(E.substitute(gradient, back)))


def _check_rank(f: E.Expr, x: E.Var) -> None:
    if f.is_scalar or x.is_scalar or (f.is_vector and x.is_vector):
        return
    raise UnsupportedError(
        f"the derivative of {describe_shape(f.shape)} with respect to {x.name} "
        f"({describe_shape(x.shape)}) is a rank-3 or rank-4 tensor; not supported yet",
        hint="differentiate a scalar function of it, e.g. a norm or a trace")


# Bounds that keep every derivation (parse to compiled code) under about 2 s of CPU on the
# development machine: 1,000 statements h = h + x (3,002 operations) take 1.7 s, a σ chain 600
# deep 1.4 s; the Hessian of a σ chain grows with the cube of its depth (100 levels: 5 s). Past
# them matcalc refuses rather than hangs; the passes themselves are linear, so these can grow as
# the constant factors shrink.
MAX_OPERATIONS = 3_000
MAX_DEFINITION_DEPTH = 600   # one definition nested deeper: split it into definitions
MAX_HESSIAN_DEPTH = 64


def _refuse_too_large(program: ResolvedProgram, output: E.Ref, order: int) -> None:
    nodes = E.walk(output)
    if len(nodes) > MAX_OPERATIONS:
        raise UnsupportedError(f"{output.name} has {len(nodes):,} operations; matcalc differentiates "
                               f"up to {MAX_OPERATIONS:,}", program.spans.get(output.name),
                               hint="differentiate a smaller program", source=program.source)
    depth: dict[E.Expr, int] = {}       # through definitions
    local: dict[E.Expr, int] = {}       # within one definition's body
    for node in nodes:
        depth[node] = 1 + max((depth[c] for c in node.children), default=0)
        local[node] = 1 + max((1 if isinstance(c, E.Ref) else local[c] for c in node.children), default=0)
    deepest = max(d for node, d in local.items() if not isinstance(node, E.Ref))
    if deepest > MAX_DEFINITION_DEPTH:
        raise UnsupportedError(f"a definition of the program is nested {deepest:,} operations deep; "
                               f"matcalc differentiates up to depth {MAX_DEFINITION_DEPTH:,}",
                               program.spans.get(output.name),
                               hint="name intermediate results (h1 = σ(x); h2 = σ(h1); …): "
                                    "definitions may chain without limit", source=program.source)
    if order == 2:
        if depth[output] > MAX_HESSIAN_DEPTH:
            raise UnsupportedError(f"{output.name} is nested {depth[output]} operations deep; matcalc "
                                   f"takes Hessians up to depth {MAX_HESSIAN_DEPTH}",
                                   program.spans.get(output.name),
                                   hint="the closed-form Hessian of a deep composition grows with the "
                                        "cube of its depth; use first derivatives or a shallower program",
                                   source=program.source)


def _refuse_guessed_shape(program: ResolvedProgram, output: E.Ref) -> None:
    """``mu/2 ‖w‖²`` with ``mu`` undeclared: if the naming convention had guessed mu to be a
    vector, the "loss" would be a vector and its "gradient" a Jacobian — refuse instead of guessing."""
    guessed = set(program.guessed_dims_of.get(output.name, ()))
    if not guessed:
        return
    culprits = [name for name, v in program.variables.items()
                if any(sympy.sympify(d).free_symbols & guessed for d in v.shape)]
    names = ", ".join(f"'{n}'" for n in culprits)
    raise ShapeError(f"{output.name} is {describe_shape(output.shape)} only because the naming "
                     f"convention guessed {names} to be a vector",
                     program.spans.get(culprits[0]) if culprits else program.spans.get(output.name),
                     hint="declare it, e.g.  " + (culprits[0] if culprits else "mu") + " in R",
                     source=program.source)


def _output(program: ResolvedProgram, of: str | None) -> E.Ref:
    if of is None:
        return program.output
    if of not in program.definitions:
        span = program.spans.get(of)
        raise NameResolutionError(f"'{of}' is not defined in the program", span,
                                  hint="of= names a definition: " + ", ".join(program.definitions),
                                  source=program.source)
    return program.definitions[of]


def _variable(program: ResolvedProgram, name: str, output: E.Ref) -> E.Var:
    if name in program.definitions:
        raise UnsupportedError(f"'{name}' is defined in the program, not a variable: differentiate "
                               f"with respect to the variables it is built from",
                               program.spans.get(name), source=program.source,
                               hint="variables: " + ", ".join(program.variables))
    if name not in program.variables:
        raise NameResolutionError(f"'{name}' does not occur in the program", program.spans.get(output.name),
                                  source=program.source,
                                  hint="variables: " + ", ".join(program.variables))
    return program.variables[name]
