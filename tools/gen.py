"""Random matcalc programs, generated bottom-up by type so that most of them type-check.

A program is built as a small typed AST of our own (``G`` nodes with a shape over named
dimensions), rendered to text with randomly chosen spellings (Unicode or ASCII), whitespace and
statement separators, and it carries its *intended* meaning: ``semantic_value`` evaluates the AST
with NumPy, independently of matcalc's parser. The worker compares that with the oracle's
evaluation of matcalc's resolved IR, which catches text that matcalc reads as another function
(precedence, name splitting, bars …).

Rendering is unambiguous: an operand is parenthesised unless the documented precedence (README,
grammar/matcalc.lark) makes the reading certain. A few "trap" forms that a reader of a paper
writes without parentheses (``λ/2 ‖w‖²``, ``1/2 ||e||^2``) are rendered as written, with the
meaning issue 6 requires.

Also here: random malformed text (mutations of programs, token soup, odd characters) and a few
stress programs (deep nesting, long sums) for the hang and recursion checks.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from . import oracle as O

# ── shapes over named dimensions ────────────────────────────────────────────────────────────────
# A dimension is a sorted tuple of base-dimension names (a product, for Kronecker shapes); () is 1.
ONE: tuple = ()
SCALAR = (ONE, ONE)


def dmul(a: tuple, b: tuple) -> tuple:
    return tuple(sorted(a + b))


def kind(shape) -> str:
    r, c = shape
    if r == ONE and c == ONE:
        return "scalar"
    if c == ONE:
        return "column"
    if r == ONE:
        return "row"
    return "square" if r == c else "matrix"


def transposed(shape):
    return (shape[1], shape[0])


# ── the AST ──────────────────────────────────────────────────────────────────────────────────────

class G:
    """A generated expression: ``op``, children ``kids``, ``shape``, spelling choices ``style``
    and leaf data ``data`` (a name, a number …)."""

    __slots__ = ("op", "kids", "shape", "style", "data")

    def __init__(self, op, kids, shape, style=None, data=None):
        self.op = op
        self.kids = tuple(kids)
        self.shape = shape
        self.style = style or {}
        self.data = data

    def size(self) -> int:
        n, stack = 0, [self]
        while stack:
            g = stack.pop()
            n += 1
            stack.extend(g.kids)
        return n

    def nodes(self):
        stack = [self]
        while stack:
            g = stack.pop()
            yield g
            stack.extend(g.kids)

    def replace(self, old: "G", new: "G") -> "G":
        if self is old:
            return new
        kids = [k.replace(old, new) for k in self.kids]
        if all(a is b for a, b in zip(kids, self.kids)):
            return self
        return G(self.op, kids, self.shape, self.style, self.data)


@dataclass
class VarInfo:
    name: str
    shape: tuple
    domain: str = "real"        # real, positive, symmetric, spd, simplex, onehot
    declared: bool = True
    spelling: str = ""          # how the declaration is written (filled when rendering)
    text: str = ""              # how uses are written (x₁ for x1 …)


@dataclass
class Program:
    """A generated program: what to derive and how it was meant."""
    dims: dict                   # base dim name → (size, written as an integer?)
    variables: dict              # name → VarInfo
    definitions: list            # [(name, G)], in order
    output: str                  # the definition differentiated by default (the last)
    wrt: object                  # a name or a list of names
    order: int = 1
    of: str | None = None
    bare: bool = False           # the last statement is a bare expression (named f)
    trap: bool = False           # uses a precedence trap form
    style: dict = field(default_factory=dict)
    seed: int = 0

    def sizes(self) -> dict:
        return {name: size for name, (size, _) in self.dims.items()}

    def shape_of(self, name: str) -> tuple[int, int]:
        sizes = self.sizes()
        r, c = self.variables[name].shape
        return (int(np.prod([sizes[d] for d in r])), int(np.prod([sizes[d] for d in c])))

    def text(self) -> str:
        return render_program(self)


# ── names ────────────────────────────────────────────────────────────────────────────────────────
DIM_NAMES = ["n", "m", "k", "N", "M", "K", "l"]
SCALAR_NAMES = ["a", "b", "c", "α", "β", "γ", "λ", "η", "κ", "ρ", "τ", "ω", "b0", "c1", "a2"]
VECTOR_NAMES = ["x", "y", "z", "u", "v", "w", "h", "r", "s", "t", "q", "θ", "μ", "φ", "ψ", "x0", "x1",
                "y2", "z1", "ŷ", "y_hat", "theta", "mu", "x̄"]
ROW_NAMES = ["u", "v", "r", "w", "x", "y", "q"]
MATRIX_NAMES = ["A", "B", "C", "W", "X", "Y", "M", "P", "Q", "S", "Σ", "Φ", "W1", "W2", "A0", "B1",
                "U", "V", "Λ", "Ω"]
DEF_NAMES = ["h1", "z2", "g", "v1", "s1", "u1", "h2", "r2", "q1", "t1", "hid", "act", "out", "tmp",
             "o1", "p1", "p2", "e1", "score", "logits", "res", "ψ1", "ζ", "ξ"]
OUT_NAMES = ["E", "f", "L", "J", "loss", "F", "obj"]
FUNCTIONS = {   # canonical → spellings
    "sigmoid": ["σ", "sigmoid", "logistic"], "tanh": ["tanh"], "exp": ["exp"], "log": ["log", "ln"],
    "sin": ["sin"], "cos": ["cos"], "sqrt": ["sqrt", "√"], "abs": ["abs", "||"],
    "relu": ["relu", "ReLU"], "softplus": ["softplus"], "sign": ["sign"], "step": ["step"],
}
SAFE_FUNCTIONS = ["sigmoid", "tanh", "exp", "sin", "cos", "abs", "relu", "softplus"]
POSITIVE_FUNCTIONS = ["log", "sqrt"]

# precedence levels (loosest first), as in grammar/matcalc.lark
SUM, FROB, PROD, UNARY, JUXT, POW, POSTFIX, ATOM = range(8)


class Generator:
    """One random program per call of ``program()``."""

    def __init__(self, seed: int, *, traps: bool = True, max_depth: int = 4) -> None:
        self.r = random.Random(seed)
        self.seed = seed
        self.traps = traps
        self.max_depth = max_depth

    # ── program level ─────────────────────────────────────────────────────────────────────────
    def program(self) -> Program:
        r = self.r
        self.unicode = r.random() < 0.5
        n_dims = r.choice([1, 2, 2, 3, 3])
        sizes = r.sample([2, 3, 4, 5], n_dims)
        names = r.sample(DIM_NAMES, n_dims)
        as_int = r.random() < 0.3
        self.dims = {name: (size, as_int) for name, size in zip(names, sizes)}
        self.base = list(self.dims)
        self.vars: dict[str, VarInfo] = {}
        self.defs: list[tuple[str, G]] = []
        self.def_names = r.sample(DEF_NAMES, len(DEF_NAMES))
        self.reserved = set(DEF_NAMES) | set(OUT_NAMES) | {"h0", "h1", "h2", "h3", "p1", "f1", "f2"}
        self.undeclared_ok = r.random() < 0.25
        self.trap_used = False
        if r.random() < 0.18:
            prog = self.template()
            if prog is not None:
                return prog
        kind_ = r.choices(["gradient", "hessian", "jacobian", "derivative", "unsupported"],
                          [50, 15, 15, 14, 6])[0]
        # intermediate definitions
        for _ in range(r.choice([0, 0, 1, 1, 2, 3, 4])):
            shape = self.random_shape()
            name = self.def_names.pop()
            body = self.alias(shape) if r.random() < 0.3 else self.expr(shape, r.randint(1, self.max_depth))
            if body is None:
                body = self.expr(shape, r.randint(1, self.max_depth))
            self.defs.append((name, body))
        out_shape = {"gradient": SCALAR, "hessian": SCALAR,
                     "jacobian": r.choice([(self.dim(), ONE), (ONE, self.dim())]),
                     "derivative": self.random_shape(),
                     "unsupported": (self.dim(), self.dim())}[kind_]
        body = self.expr(out_shape, r.randint(1, self.max_depth))
        if self.traps and out_shape == SCALAR and r.random() < 0.08:
            body = self.trap(body)
        out = r.choice(OUT_NAMES)
        bare = r.random() < 0.08
        if bare:
            out = "f"
        if out in [n for n, _ in self.defs] or out in self.vars:
            out = "f_out"
        self.defs.append((out, body))
        if r.random() < 0.15:   # a last alias: E = a, E = sum(a) …
            alias_name = "E_" if out != "E_" else "E2"
            self.defs.append((alias_name, self.alias(out_shape, force_ref=out) or G("ref", [], out_shape, data=out)))
            out = alias_name
            bare = False
        prog = self.finish(kind_, out, bare)
        return prog

    def finish(self, kind_: str, out: str, bare: bool) -> Program:
        r = self.r
        shapes = {name: g.shape for name, g in self.defs}
        deps = self.dependencies(out)
        of = None
        if len(self.defs) > 1 and r.random() < 0.15:
            candidates = [n for n, _ in self.defs[:-1]]
            of = r.choice(candidates)
            deps = self.dependencies(of)
            out_shape = shapes[of]
            kind_ = {"scalar": r.choice(["gradient", "hessian"]), "column": "jacobian", "row": "jacobian"}.get(
                kind(out_shape), "derivative")
        target = of or out
        out_shape = shapes[target]
        order = 1
        pool = [v for v in self.vars.values() if v.name in deps] or list(self.vars.values())
        if not pool:
            v = self.new_var(SCALAR)
            pool = [v]

        def pick(pred, many=False):
            cands = [v.name for v in pool if pred(v)]
            if not cands:
                return None
            if many and len(cands) > 1 and r.random() < 0.35:
                return r.sample(cands, r.randint(2, min(3, len(cands))))
            name = r.choice(cands)
            return [name] if r.random() < 0.1 else name

        wrt = None
        if kind_ == "hessian" and out_shape == SCALAR:
            wrt = pick(lambda v: kind(v.shape) in ("scalar", "column", "row"))
            if isinstance(wrt, list):
                wrt = wrt[0]
            order = 2 if wrt else 1
        if wrt is None and kind_ == "jacobian" and kind(out_shape) in ("column", "row"):
            mixed = r.random() < 0.1
            wrt = pick(lambda v: kind(v.shape) in (("column", "row", "scalar") if mixed else ("column", "row")),
                       many=True)
        if wrt is None and kind_ in ("derivative", "jacobian", "unsupported") and out_shape != SCALAR:
            if kind_ == "unsupported":
                wrt = pick(lambda v: True)
            else:
                wrt = pick(lambda v: kind(v.shape) == "scalar", many=True)
                if wrt is None and of is None:      # make it depend on a scalar: c body
                    v = self.new_var(SCALAR)
                    name, body = self.defs[-1]
                    leaf = G("var", [], SCALAR, data=v.name)
                    form = r.random()
                    if form < 0.5:
                        body = G("mul", [leaf, body], out_shape, {"op": "juxt"})
                    elif form < 0.75:
                        body = G("add", [body, leaf], out_shape, {"op": "+"})
                    else:
                        body = G("had", [G("fn", [leaf], SCALAR, {"spelling": "σ"}, "sigmoid"), body],
                                 out_shape, {"op": "∘"})
                    self.defs[-1] = (name, body)
                    wrt = v.name
        if wrt is None:
            if out_shape == SCALAR:
                wrt = pick(lambda v: True, many=True)
            else:
                wrt = r.choice(pool).name
        if r.random() < 0.01:
            wrt = r.choice(["nonexistent", target])
        return Program(dict(self.dims), dict(self.vars), list(self.defs), out, wrt, order, of, bare,
                       self.trap_used, {"unicode": self.unicode,
                                        "sep": r.choice(["\n", "\n", "; ", ";", "\r\n", " ;\n", "\n\n"]
                                                        if r.random() < 0.95 else
                                                        ["\r", "\u2028", "\u2029", "\x85", "\f\n", "\n\v"]),
                                        "decl_sep": r.choice(["\n", "; ", "\n"]),
                                        "tabs": r.random() < 0.1, "comments": r.random() < 0.1,
                                        "trailing": r.choice(["", "", "\n", ";", " \n\n"]),
                                        "decl_place": r.choice(["first", "first", "first", "last", "mixed"]),
                                        "group": r.random() < 0.3},
                       self.seed)

    def dependencies(self, name: str) -> set[str]:
        bodies = dict(self.defs)
        seen, stack, found = set(), [name], set()
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            for g in bodies[n].nodes():
                if g.op == "var":
                    found.add(g.data)
                elif g.op == "ref":
                    stack.append(g.data)
        return found

    def dim(self) -> tuple:
        return (self.r.choice(self.base),)

    def random_shape(self):
        r = self.r
        k = r.choices(["scalar", "column", "row", "matrix", "square"], [3, 4, 1, 2, 2])[0]
        if k == "scalar":
            return SCALAR
        if k == "column":
            return (self.dim(), ONE)
        if k == "row":
            return (ONE, self.dim())
        if k == "square":
            d = self.dim()
            return (d, d)
        return (self.dim(), self.dim())

    # ── variables ─────────────────────────────────────────────────────────────────────────────
    def new_var(self, shape, domain: str | None = None) -> VarInfo:
        r = self.r
        k = kind(shape)
        pool = {"scalar": SCALAR_NAMES, "column": VECTOR_NAMES, "row": ROW_NAMES}.get(k, MATRIX_NAMES)
        taken = set(self.vars) | {n for n, _ in self.defs} | self.reserved | set(DIM_NAMES)
        taken |= {"E", "f", "L", "J", "F", "f_out", "E_", "E2", "loss", "obj", "ℓ"}
        free = [n for n in pool if n not in taken and n.replace("1", "₁") not in taken]
        name = r.choice(free) if free else f"v{len(self.vars)}"
        if domain is None:
            domain = "real"
            if k in ("column", "row") and shape[0 if k == "column" else 1] != ONE and \
                    len(shape[0 if k == "column" else 1]) == 1:
                domain = r.choices(["real", "positive", "simplex", "onehot"], [75, 10, 10, 5])[0]
            elif k == "square" and len(shape[0]) == 1:
                domain = r.choices(["real", "symmetric", "spd", "positive"], [70, 12, 12, 6])[0]
            elif k in ("scalar", "matrix"):
                domain = r.choices(["real", "positive"], [90, 10])[0]
        if any(len(d) > 1 for d in shape):
            domain = "real"
        declared = True
        if self.undeclared_ok and domain == "real" and all(len(d) <= 1 for d in shape) and k != "row" \
                and r.random() < 0.5:
            declared = False
        info = VarInfo(name, shape, domain, declared)
        info.text = name.replace("1", "₁") if name.endswith("1") and r.random() < 0.2 else name
        if name == "ŷ" and r.random() < 0.4:
            info.text = "y\u0302"     # decomposed: NFC makes it ŷ
        self.vars[name] = info
        return info

    def leaf(self, shape, positive=False) -> G:
        r = self.r
        k = kind(shape)
        if any(len(d) > 1 for d in shape):       # a Kronecker shape: only a Kronecker product has it
            return self.kron(shape, 0)
        if k == "scalar" and r.random() < 0.3 and not positive:
            return self.number()
        if k == "scalar" and positive and r.random() < 0.3:
            return self.number(positive=True)
        refs = [(n, g) for n, g in self.defs if g.shape == shape]
        if refs and not positive and r.random() < 0.35:
            name, _ = r.choice(refs)
            return G("ref", [], shape, data=name)
        okdom = ("positive", "simplex") if positive else None
        cands = [v for v in self.vars.values() if v.shape == shape and (okdom is None or v.domain in okdom)]
        if cands and r.random() < 0.7:
            v = r.choice(cands)
        else:
            dom = None
            if positive:
                dom = "positive"
                if k in ("column", "row") and r.random() < 0.3:
                    dom = "simplex"
            v = self.new_var(shape, dom)
        return G("var", [], shape, data=v.name)

    def number(self, positive=False) -> G:
        r = self.r
        choices = [(2.0, "2"), (3.0, "3"), (0.5, "0.5"), (0.5, ".5"), (0.5, "½"), (1 / 3, "⅓"),
                   (0.25, "¼"), (0.75, "¾"), (1.5, "1.5"), (0.1, "1e-1"), (10.0, "10"), (1.0, "1"),
                   (2.5, "2.50"), (4.0, "4."), (2 / 3, "⅔"), (0.2, "⅕"), (1 / 6, "⅙"), (0.125, "⅛"),
                   (0.01, "1E-2"), (3.0, "3.0")]
        value, text = r.choice(choices)
        g = G("num", [], SCALAR, data=(value, text))
        if not positive and r.random() < 0.1:
            return G("neg", [g], SCALAR, style={"op": r.choice(["-", "−"])})
        return g

    # ── expressions ───────────────────────────────────────────────────────────────────────────
    def expr(self, shape, depth: int, positive: bool = False) -> G:
        if positive:
            return self.positive(shape, depth)
        r = self.r
        if depth <= 0 or r.random() < 0.12:
            return self.leaf(shape)
        k = kind(shape)
        kron_shape = any(len(d) > 1 for d in shape)
        options = [("addsub", 8), ("neg", 1.5), ("scale", 4), ("had", 3), ("ediv", 1.5),
                   ("fn", 5), ("logfn", 1.5), ("epow", 1.5), ("T", 2.5), ("matmul", 7)]
        if k != "scalar":
            options += [("bcast", 2.5), ("div", 1.5)]
        if k == "scalar":
            options += [("dot", 5), ("quad", 3), ("tr", 3), ("det", 1.2), ("logdet", 1.5), ("sum", 4),
                        ("norm", 3), ("normsq", 4), ("abs", 1), ("lse", 2), ("frob", 3), ("spow", 2),
                        ("div", 2), ("sqrt", 1)]
        if k in ("column", "row"):
            options += [("softmax", 3)]
        if k == "column":
            options += [("diag", 1.5)]
        if k == "square" and not kron_shape:
            options += [("Diag", 2), ("inv", 3), ("mpow", 1.5), ("plusI", 2)]
        if kron_shape:
            options = [("kron", 10), ("addsub", 2), ("T", 1), ("had", 1), ("scale", 1), ("fn", 1)]
        elif k in ("matrix", "square") and self.r.random() < 0.05:
            options += [("kron", 2)]
        choice = r.choices([o for o, _ in options], [w for _, w in options])[0]
        g = getattr(self, "p_" + choice)(shape, depth - 1)
        return g if g is not None else self.leaf(shape)

    def sub(self, shape, depth, positive=False):
        return self.expr(shape, depth, positive)

    def p_addsub(self, shape, d):
        op = self.r.choice(["add", "sub"])
        style = {"op": {"add": "+", "sub": self.r.choice(["-", "−"])}[op]}
        return G(op, [self.sub(shape, d), self.sub(shape, d)], shape, style)

    def p_neg(self, shape, d):
        return G("neg", [self.sub(shape, d)], shape, {"op": self.r.choice(["-", "−"])})

    def p_scale(self, shape, d):
        r = self.r
        s = self.sub(SCALAR, d)
        x = self.sub(shape, d)
        spelling = r.choice(["juxt", "juxt", "*", "·", "@", "⋅"]) if shape != SCALAR or r.random() < 0.5 else "juxt"
        if r.random() < 0.3 and spelling != "juxt":
            return G("mul", [x, s], shape, {"op": spelling})
        return G("mul", [s, x], shape, {"op": spelling})

    def p_bcast(self, shape, d):
        r = self.r
        s = self.sub(SCALAR, d)
        x = self.sub(shape, d)
        op = r.choice(["add", "sub"])
        if r.random() < 0.5:
            return G(op, [s, x], shape, {"op": "+" if op == "add" else r.choice(["-", "−"])})
        return G(op, [x, s], shape, {"op": "+" if op == "add" else r.choice(["-", "−"])})

    def p_had(self, shape, d):
        op = self.r.choice(["∘", "∘", ".*", "⊙"])
        a, b = self.sub(shape, d), self.sub(shape, d)
        if shape != SCALAR and self.r.random() < 0.15:   # a scalar operand broadcasts
            a = self.sub(SCALAR, d)
        return G("had", [a, b], shape, {"op": op})

    def p_ediv(self, shape, d):
        op = self.r.choice(["⊘", "./"])
        return G("ediv", [self.sub(shape, d), self.positive(shape, d)], shape, {"op": op})

    def p_div(self, shape, d):
        return G("div", [self.sub(shape, d), self.positive(SCALAR, d)], shape, {"op": "/"})

    def p_fn(self, shape, d):
        fn = self.r.choice(SAFE_FUNCTIONS) if self.r.random() < 0.97 else self.r.choice(["sign", "step"])
        spelling = self.r.choice(FUNCTIONS[fn])
        return G("fn", [self.sub(shape, d)], shape, {"spelling": spelling}, fn)

    def p_logfn(self, shape, d):
        fn = self.r.choice(POSITIVE_FUNCTIONS)
        spelling = self.r.choice(FUNCTIONS[fn])
        return G("fn", [self.positive(shape, d)], shape, {"spelling": spelling}, fn)

    def p_epow(self, shape, d):
        r = self.r
        if r.random() < 0.5:
            k = r.choice([2, 3])
            base = self.sub(shape, d)
        else:
            k = r.choice([0.5, 1.5, -1, -0.5, 2.5])
            base = self.positive(shape, d)
        if shape == SCALAR and r.random() < 0.5:
            return self.p_spow(shape, d)
        return G("epow", [base, self.expnum(k)], shape, {})

    def expnum(self, k) -> G:
        text = str(k) if k != int(k) else str(int(k))
        return G("num", [], SCALAR, data=(float(k), text.lstrip("-"))) if k >= 0 else \
            G("neg", [G("num", [], SCALAR, data=(float(-k), str(-k) if -k != int(-k) else str(int(-k))))],
              SCALAR, {"op": self.r.choice(["-", "−"])})

    def p_spow(self, shape, d):
        r = self.r
        if r.random() < 0.5:
            k = r.choice([2, 3])
            base = self.sub(SCALAR, d)
            style = {"sup": r.random() < 0.5}
        else:
            k = r.choice([0.5, -1, 1.5, -2])
            base = self.positive(SCALAR, d)
            style = {"sup": False}
        return G("pow", [base, self.expnum(k)], SCALAR, style)

    def p_T(self, shape, d):
        style = {"op": self.r.choice(["ᵀ", "ᵀ", "'", "^T"])}
        return G("T", [self.sub(transposed(shape), d)], shape, style)

    def p_matmul(self, shape, d):
        r = self.r
        rows, cols = shape
        inner = r.choice(self.base + [ONE] if (rows != ONE and cols != ONE) else self.base)
        if not isinstance(inner, tuple):
            inner = (inner,)
        if rows == ONE and cols == ONE and inner == ONE:
            return None
        a = self.sub((rows, inner), d)
        b = self.sub((inner, cols), d)
        spelling = r.choice(["juxt", "juxt", "juxt", "*", "@", "·", "⋅"])
        if spelling == "juxt" and r.random() < 0.25:
            spelling = "glue"
        return G("mul", [a, b], shape, {"op": spelling})

    def p_dot(self, shape, d):
        r = self.r
        n = self.dim()
        if r.random() < 0.7:
            a, b = self.sub((n, ONE), d), self.sub((n, ONE), d)
            return G("mul", [G("T", [a], (ONE, n), {"op": r.choice(["ᵀ", "'", "^T"])}), b], SCALAR,
                     {"op": r.choice(["juxt", "juxt", "*", "@", "·", "glue"])})
        return G("mul", [self.sub((ONE, n), d), self.sub((n, ONE), d)], SCALAR,
                 {"op": r.choice(["juxt", "*", "·"])})

    def p_quad(self, shape, d):
        r = self.r
        n, m = self.dim(), self.dim()
        x = self.sub((n, ONE), d)
        y = x if r.random() < 0.6 else self.sub((m, ONE), d)
        A = self.sub((n, y.shape[0]), d)
        xt = G("T", [x], (ONE, n), {"op": r.choice(["ᵀ", "'"])})
        op = r.choice(["juxt", "juxt", "*"])
        return G("mul", [G("mul", [xt, A], (ONE, y.shape[0]), {"op": op}), y], SCALAR, {"op": op})

    def p_tr(self, shape, d):
        n = self.dim() if self.r.random() < 0.9 else dmul(self.dim(), self.dim())
        return G("tr", [self.sub((n, n), d)], SCALAR, {"spelling": self.r.choice(["tr", "trace", "Tr"])})

    def p_det(self, shape, d):
        n = self.dim()
        return G("det", [self.invertible(n, d)], SCALAR)

    def p_logdet(self, shape, d):
        n = self.dim()
        arg = self.invertible(n, d)
        if self.r.random() < 0.3:
            return G("fn", [G("det", [self.posdef(n, d)], SCALAR)], SCALAR,
                     {"spelling": self.r.choice(["log", "ln"])}, "log")
        return G("logdet", [arg], SCALAR)

    def p_sum(self, shape, d):
        return G("sum", [self.sub(self.random_shape_any(), d)], SCALAR)

    def random_shape_any(self):
        if self.r.random() < 0.06 and len(self.base) >= 1:
            return (dmul(self.dim(), self.dim()), self.r.choice([ONE, self.dim()]))
        s = self.random_shape()
        return s if s != SCALAR or self.r.random() < 0.3 else (self.dim(), ONE)

    def p_norm(self, shape, d):
        inner = self.random_shape_any()
        return G("norm", [self.sub(inner, d)], SCALAR,
                 {"spelling": self.r.choice(["‖", "‖", "||", "norm"])})

    def p_normsq(self, shape, d):
        inner = self.random_shape_any()
        return G("normsq", [self.sub(inner, d)], SCALAR,
                 {"spelling": self.r.choice(["‖", "‖", "||", "norm"]),
                  "sq": self.r.choice(["²", "^2", "^{2}"])})

    def p_abs(self, shape, d):
        return G("fn", [self.sub(SCALAR, d)], SCALAR, {"spelling": self.r.choice(["||", "abs"])}, "abs")

    def p_lse(self, shape, d):
        v = self.r.choice([(self.dim(), ONE), (ONE, self.dim())])
        return G("lse", [self.sub(v, d)], SCALAR, {"spelling": self.r.choice(["logsumexp", "lse"])})

    def p_frob(self, shape, d):
        inner = self.random_shape_any()
        if inner == SCALAR:
            inner = (self.dim(), self.dim())
        return G("frob", [self.sub(inner, d), self.sub(inner, d)], SCALAR)

    def p_sqrt(self, shape, d):
        return G("fn", [self.positive(SCALAR, d)], SCALAR, {"spelling": self.r.choice(["√", "sqrt"])}, "sqrt")

    def p_softmax(self, shape, d):
        return G("softmax", [self.sub(shape, d)], shape)

    def p_diag(self, shape, d):
        n = shape[0]
        return G("diag", [self.sub((n, n), d)], shape)

    def p_Diag(self, shape, d):
        n = shape[0]
        v = (n, ONE) if self.r.random() < 0.7 else (ONE, n)
        return G("Diag", [self.sub(v, d)], shape)

    def p_inv(self, shape, d):
        n = shape[0]
        style = {"op": self.r.choice(["⁻¹", "⁻¹", "^(-1)", "^-1", "inv", "⁻ᵀ"])}
        return G("inv", [self.invertible(n, d)], shape, style)

    def p_mpow(self, shape, d):
        k = self.r.choice([2, 2, 3, 0, -1, -2])
        base = self.invertible(shape[0], d) if k < 0 else self.sub(shape, d)
        style = {"sup": k in (2, 3) and self.r.random() < 0.5}
        return G("mpow", [base], shape, style, k)

    def p_plusI(self, shape, d):
        r = self.r
        ident = G("I", [], shape)
        if r.random() < 0.4:
            ident = G("mul", [self.number(positive=True), ident], shape, {"op": "juxt"})
        a = self.sub(shape, d)
        if r.random() < 0.2:     # I sized by a product: I A
            return G("mul", [G("I", [], shape), a], shape, {"op": "juxt"})
        return G("add", [a, ident] if r.random() < 0.5 else [ident, a], shape, {"op": "+"})

    def p_kron(self, shape, d):
        return self.kron(shape, d)

    def kron(self, shape, d):
        r = self.r
        rows, cols = shape

        def split(dim):
            if len(dim) > 1:
                i = r.randint(1, len(dim) - 1)
                items = list(dim)
                r.shuffle(items)
                return tuple(sorted(items[:i])), tuple(sorted(items[i:]))
            return (dim, ONE) if r.random() < 0.5 else (ONE, dim)

        (r1, r2), (c1, c2) = split(rows), split(cols)
        if (r1, c1) == SCALAR or (r2, c2) == SCALAR:
            if len(rows) < 2 and len(cols) < 2:
                return None
        a = self.sub((r1, c1), max(d - 1, 0))
        b = self.sub((r2, c2), max(d - 1, 0))
        return G("kron", [a, b], shape, {"op": r.choice(["⊗", "⊗", "kron"])})

    # ── values with a domain ──────────────────────────────────────────────────────────────────
    def positive(self, shape, d) -> G:
        """An expression whose every entry is positive (for log, √, ⊘ and non-integer powers)."""
        r = self.r
        k = kind(shape)
        if d <= 0 or r.random() < 0.25:
            if any(len(x) > 1 for x in shape):
                return G("fn", [self.kron(shape, 0)], shape, {"spelling": "exp"}, "exp")
            return self.leaf(shape, positive=True)
        options = ["exp", "sigmoid", "softplus", "onesq", "prod", "add", "ediv"]
        if k in ("column", "row"):
            options.append("softmax")
        if k == "scalar":
            options += ["normsq1", "lse_exp"]
        c = r.choice(options)
        if c in ("exp", "sigmoid", "softplus"):
            spelling = r.choice(FUNCTIONS.get(c, [c]))
            return G("fn", [self.sub(shape, d - 1)], shape, {"spelling": spelling}, c)
        if c == "onesq":
            x = self.sub(shape, d - 1)
            one = G("num", [], SCALAR, data=(1.0, "1"))
            sq = G("had", [x, x], shape, {"op": r.choice(["∘", ".*"])}) if shape != SCALAR else \
                G("pow", [x, self.expnum(2)], SCALAR, {"sup": True})
            return G("add", [one, sq], shape, {"op": "+"})
        if c == "prod":
            return G("had", [self.positive(shape, d - 1), self.positive(shape, d - 1)], shape,
                     {"op": r.choice(["∘", ".*"])}) if shape != SCALAR else \
                G("mul", [self.positive(shape, d - 1), self.positive(shape, d - 1)], shape, {"op": "juxt"})
        if c == "add":
            return G("add", [self.positive(shape, d - 1), self.positive(shape, d - 1)], shape, {"op": "+"})
        if c == "ediv":
            if shape == SCALAR:
                return G("div", [self.positive(shape, d - 1), self.positive(shape, d - 1)], shape, {"op": "/"})
            return G("ediv", [self.positive(shape, d - 1), self.positive(shape, d - 1)], shape,
                     {"op": r.choice(["⊘", "./"])})
        if c == "softmax":
            return G("softmax", [self.sub(shape, d - 1)], shape)
        if c == "normsq1":
            one = G("num", [], SCALAR, data=(1.0, "1"))
            return G("add", [self.p_normsq(SCALAR, d - 1), one], SCALAR, {"op": "+"})
        return G("fn", [self.sub(SCALAR, d - 1)], SCALAR, {"spelling": "exp"}, "exp")

    def posdef(self, n, d) -> G:
        r = self.r
        c = r.choice(["var", "AAt", "IxxT", "Diag", "var"])
        shape = (n, n)
        if c == "var" or d <= 0:
            cands = [v for v in self.vars.values() if v.shape == shape and v.domain == "spd"]
            v = r.choice(cands) if cands and r.random() < 0.7 else self.new_var(shape, "spd")
            return G("var", [], shape, data=v.name)
        if c == "AAt":
            m = r.choice(self.base)
            A = self.sub((n, (m,)), d - 1)
            At = G("T", [A], ((m,), n), {"op": r.choice(["ᵀ", "'"])})
            return G("add", [G("mul", [A, At], shape, {"op": "juxt"}), G("I", [], shape)], shape, {"op": "+"})
        if c == "IxxT":
            x = self.sub((n, ONE), d - 1)
            return G("add", [G("I", [], shape), G("mul", [x, G("T", [x], (ONE, n), {"op": "ᵀ"})], shape,
                                                   {"op": "juxt"})], shape, {"op": "+"})
        return G("Diag", [self.positive((n, ONE), d - 1)], shape)

    def invertible(self, n, d) -> G:
        if self.r.random() < 0.75:
            return self.posdef(n, d)
        return self.sub((n, n), d)

    def alias(self, shape, force_ref: str | None = None) -> G | None:
        """A body that is just another value: h = x, z = (x), v = xᵀᵀ, b = I θ, z = 1 x, E = sum(a)."""
        r = self.r
        if force_ref is not None:
            x = G("ref", [], shape, data=force_ref)
        else:
            x = self.leaf(shape)
            if x.op not in ("var", "ref"):
                return None
        forms = ["plain", "paren", "TT", "one", "plus"]
        if shape != SCALAR and kind(shape) in ("column", "square") and len(shape[0]) == 1:
            forms.append("I")
        if shape == SCALAR:
            forms.append("sum")
        f = r.choice(forms)
        if f == "plain":
            return x
        if f == "paren":
            return G(x.op, [], shape, {"paren": True}, x.data)
        if f == "TT":
            t = G("T", [x], transposed(shape), {"op": "ᵀ"})
            return G("T", [t], shape, {"op": r.choice(["ᵀ", "'"])})
        if f == "one":
            return G("mul", [G("num", [], SCALAR, data=(1.0, "1")), x], shape, {"op": "juxt"})
        if f == "plus":
            return G("pos", [x], shape)
        if f == "sum":
            return G("sum", [x], SCALAR)
        return G("mul", [G("I", [], (shape[0], shape[0])), x], shape, {"op": "juxt"})

    def trap(self, body: G) -> G:
        """Forms a reader writes without parentheses: λ/2 ‖w‖², 1/2 ||e||^2, a/b c."""
        r = self.r
        self.trap_used = True
        inner = self.sub((self.dim(), ONE), 1)
        normsq = G("normsq", [inner], SCALAR, {"spelling": r.choice(["‖", "||"]), "sq": r.choice(["²", "^2"])})
        if r.random() < 0.5:
            lam = self.leaf(SCALAR, positive=True)
            if lam.op == "num":
                lam = G("var", [], SCALAR, data=self.new_var(SCALAR, "positive").name)
            head = G("div", [lam, G("num", [], SCALAR, data=(2.0, "2"))], SCALAR, {"op": "/", "trap": True})
        else:
            head = G("div", [G("num", [], SCALAR, data=(1.0, "1")), G("num", [], SCALAR, data=(2.0, "2"))],
                     SCALAR, {"op": "/", "trap": True})
        term = G("mul", [head, normsq], SCALAR, {"op": "juxt", "trap": True})
        return G("add", [body, term], SCALAR, {"op": "+"})

    # ── idiomatic programs (the and README's) ─────────────────────────────────────────
    def template(self) -> Program | None:
        r = self.r
        n, m = self.dim(), self.dim()
        choice = r.choice(["ls", "xent", "logistic", "gauss", "rnn", "mlp", "ridge", "xent_hess"])

        def var(shape, dom=None):
            return G("var", [], shape, data=self.new_var(shape, dom).name)

        def fn(name, x, spelling=None):
            return G("fn", [x], x.shape, {"spelling": spelling or r.choice(FUNCTIONS[name])}, name)

        def mul(a, b, shape, op="juxt"):
            return G("mul", [a, b], shape, {"op": op})

        def T(x):
            return G("T", [x], transposed(x.shape), {"op": r.choice(["ᵀ", "'"])})

        def ref(name, shape):
            return G("ref", [], shape, data=name)

        half = G("num", [], SCALAR, data=(0.5, r.choice(["½", "0.5"])))
        kind_ = "gradient"
        if choice == "ls":
            W, x, y = var((n, m)), var((m, ONE)), var((n, ONE))
            e = G("sub", [fn("sigmoid", mul(W, x, (n, ONE), r.choice(["glue", "juxt"]))), y], (n, ONE), {"op": "−"})
            body = mul(half, G("normsq", [e], SCALAR, {"spelling": "‖", "sq": "²"}), SCALAR)
            self.defs.append(("E", body))
        elif choice in ("xent", "xent_hess"):
            y = var((n, ONE), r.choice(["simplex", "onehot", "real"]))
            z = var((n, ONE)) if choice == "xent" else y
            if choice == "xent" and r.random() < 0.5:
                W = var((n, m))
                x = var((m, ONE))
                z = mul(W, x, (n, ONE))
            lp = fn("log", G("softmax", [z], (n, ONE)))
            body = G("neg", [mul(T(y), lp, SCALAR)], SCALAR, {"op": "−"})
            self.defs.append(("L", body))
            if choice == "xent_hess":
                kind_ = "hessian"
        elif choice == "logistic":
            w, x = var((n, ONE)), var((n, ONE))
            y = var(SCALAR)
            p = fn("sigmoid", mul(T(w), x, SCALAR))
            self.defs.append(("p1", p))
            one = G("num", [], SCALAR, data=(1.0, "1"))
            body = G("neg", [G("add", [mul(y, fn("log", ref("p1", SCALAR)), SCALAR),
                                        mul(G("sub", [one, y], SCALAR, {"op": "−"}),
                                            fn("log", G("sub", [one, ref("p1", SCALAR)], SCALAR, {"op": "−"})),
                                            SCALAR)], SCALAR, {"op": "+"})], SCALAR, {"op": "−"})
            self.defs.append(("L", body))
        elif choice == "gauss":
            S = var((n, n), "spd")
            x, mu = var((n, ONE)), var((n, ONE))
            e = G("sub", [x, mu], (n, ONE), {"op": "−"})
            q = mul(mul(T(e), G("inv", [S], (n, n), {"op": "⁻¹"}), (ONE, n)), e, SCALAR)
            body = G("add", [mul(half, G("logdet", [S], SCALAR), SCALAR), mul(half, q, SCALAR)], SCALAR,
                     {"op": "+"})
            self.defs.append(("L", body))
        elif choice == "rnn":
            W, x, v = var((n, n)), var((n, ONE)), var((n, ONE))
            b = var((n, ONE))
            self.defs.append(("h0", G("var", [], (n, ONE), data=x.data)))
            prev = "h0"
            for i in range(1, r.randint(2, 4)):
                name = f"h{i}"
                pre = G("add", [mul(W, ref(prev, (n, ONE)), (n, ONE)), b], (n, ONE), {"op": "+"})
                self.defs.append((name, fn("tanh", pre)))
                prev = name
            self.defs.append(("f", mul(T(v), ref(prev, (n, ONE)), SCALAR)))
        elif choice == "mlp":
            A0, x, b0 = var((n, m)), var((m, ONE)), var((n, ONE))
            A1, b1, y = var((n, n)), var((n, ONE)), var((n, ONE))
            f1 = fn("sigmoid", G("add", [mul(A0, x, (n, ONE)), b0], (n, ONE), {"op": "+"}))
            self.defs.append(("f1", f1))
            f2 = fn("sigmoid", G("add", [mul(A1, ref("f1", (n, ONE)), (n, ONE)), b1], (n, ONE), {"op": "+"}))
            self.defs.append(("f2", f2))
            e = G("sub", [ref("f2", (n, ONE)), y], (n, ONE), {"op": "−"})
            self.defs.append(("E", mul(half, G("normsq", [e], SCALAR, {"spelling": "‖", "sq": "²"}), SCALAR)))
        elif choice == "ridge":
            X, w, y = var((m, n)), var((n, ONE)), var((m, ONE))
            lam = var(SCALAR, "positive")
            e = G("sub", [y, mul(X, w, (m, ONE))], (m, ONE), {"op": "−"})
            reg = G("mul", [G("div", [lam, G("num", [], SCALAR, data=(2.0, "2"))], SCALAR, {"op": "/", "trap": True}),
                            G("normsq", [w], SCALAR, {"spelling": "‖", "sq": "²"})], SCALAR,
                    {"op": "juxt", "trap": True})
            self.trap_used = True
            self.defs.append(("L", G("add", [G("normsq", [e], SCALAR, {"spelling": "‖", "sq": "²"}), reg],
                                     SCALAR, {"op": "+"})))
        out = self.defs[-1][0]
        return self.finish(kind_, out, False)


# ── rendering ────────────────────────────────────────────────────────────────────────────────────

def _dim_text(dim: tuple, dims: dict) -> str:
    (name,) = dim
    size, as_int = dims[name]
    return str(size) if as_int else name


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def declaration(v: VarInfo, dims: dict, unicode: bool, r: random.Random) -> str:
    """The set part of a declaration: ℝ^n, R^(n,m), Sym(n), Δ^k …"""
    k = kind(v.shape)
    rows, cols = v.shape
    if v.domain in ("symmetric", "spd"):
        n = _dim_text(rows, dims)
        if v.domain == "symmetric":
            return r.choice(["Sym(%s)" % n, "𝕊^%s" % n, "𝕊^{%s}" % n] if unicode else ["Sym(%s)" % n, "S(%s)" % n])
        return r.choice(["SPD(%s)" % n, "𝕊₊₊^%s" % n, "S₊₊(%s)" % n] if unicode else ["SPD(%s)" % n, "PD(%s)" % n])
    base = {"real": "ℝ" if unicode else r.choice(["R", "R", "R", "Real"]),
            "positive": "ℝ₊" if unicode else r.choice(["Pos", "Rpos"]),
            "simplex": "Δ" if unicode else r.choice(["Simplex", "Prob"]), "onehot": "OneHot"}[v.domain]
    if k == "scalar":
        return base
    call = v.domain in ("positive", "simplex", "onehot") and (not unicode or v.domain == "onehot" or r.random() < 0.5)
    if call:
        base = {"positive": r.choice(["Pos", "Pos", "Rpos"]), "simplex": r.choice(["Simplex", "Prob"]),
                "onehot": "OneHot"}[v.domain]
    if k == "column":
        n = _dim_text(rows, dims)
        if call:
            return f"{base}({n})"
        forms = [f"{base}^{n}", f"{base}^({n})", f"{base}^({n},1)"]
        if unicode:
            forms += [f"{base}^{{{n}×1}}"]
            if n.isdigit():
                forms.append(base + n.translate(_SUPERSCRIPTS))
        return r.choice(forms)
    rr, cc = _dim_text(rows, dims) if rows != ONE else "1", _dim_text(cols, dims) if cols != ONE else "1"
    if call:
        return f"{base}({rr},{cc})" if r.random() < 0.7 else f"{base}({rr}, {cc})"
    forms = [f"{base}^({rr},{cc})", f"{base}^({rr}, {cc})", f"{base}^{{{rr},{cc}}}"]
    if unicode:
        forms += [f"{base}^{{{rr}×{cc}}}"] * 2
    else:
        forms += [f"{base}^{{{rr}*{cc}}}"]
    return r.choice(forms)


class Renderer:
    def __init__(self, prog: Program, r: random.Random, explicit: bool = False):
        self.p = prog
        self.r = r
        self.explicit = explicit     # parenthesise every operand that is not an atom
        self.unicode = prog.style.get("unicode", True)
        self.names = {v.name: v.text or v.name for v in prog.variables.values()}

    def render(self, g: G, bars: tuple = ()) -> tuple[str, int]:
        text, prec = self._render(g, bars)
        if g.style.get("paren"):
            return f"({text})", ATOM
        return text, prec

    def wrap(self, g: G, need: int, bars: tuple, avoid_sqrt: bool = False) -> str:
        text, prec = self.render(g, bars)
        if prec < need or (avoid_sqrt and text.startswith("√")) or (self.explicit and prec < ATOM):
            return f"({text})"
        return text

    def sp(self, op: str) -> str:
        """An operator with random surrounding whitespace."""
        if self.explicit:
            return f" {op} "
        return self.r.choice([f" {op} ", f" {op} ", f"{op}", f" {op}", f"\t{op} "])

    def _render(self, g: G, bars: tuple) -> tuple[str, int]:
        op, r = g.op, self.r
        if op == "var":
            return self.names.get(g.data, g.data), ATOM
        if op == "ref":
            return g.data, ATOM
        if op == "num":
            return g.data[1], ATOM
        if op == "I":
            return "I", ATOM
        if op in ("add", "sub"):
            a = self.wrap(g.kids[0], SUM, bars)
            b = self.wrap(g.kids[1], FROB, bars)
            return a + self.sp(g.style.get("op", "+")) + b, SUM
        if op == "pos":
            return "+" + self.wrap(g.kids[0], UNARY, bars), UNARY
        if op == "neg":
            return g.style.get("op", "−") + self.wrap(g.kids[0], UNARY, bars), UNARY
        if op == "frob":
            return self.wrap(g.kids[0], FROB, bars) + self.sp(":") + self.wrap(g.kids[1], PROD, bars), FROB
        if op in ("had", "ediv", "kron") or (op == "mul" and g.style.get("op") not in ("juxt", "glue")):
            spelling = g.style.get("op", "*")
            if op == "kron" and spelling == "kron":
                return f"kron({self.render(g.kids[0])[0]}, {self.render(g.kids[1])[0]})", ATOM
            a = self.wrap(g.kids[0], PROD, bars)
            b = self.wrap(g.kids[1], UNARY, bars)
            if a[-1:].isdigit() and spelling.startswith("."):
                a += " "
            return a + self.sp(spelling) + b, PROD
        if op == "div":
            if g.style.get("trap") and not self.explicit:
                a = self.wrap(g.kids[0], JUXT, bars)
                return a + "/" + self.wrap(g.kids[1], POW, bars), JUXT
            a = self.wrap(g.kids[0], JUXT, bars)
            return a + self.sp("/") + self.wrap(g.kids[1], POW, bars), PROD
        if op == "mul" and self.explicit:
            return self.wrap(g.kids[0], ATOM, bars) + " * " + self.wrap(g.kids[1], ATOM, bars), PROD
        if op == "mul":    # juxtaposition
            a_text, a_prec = self.render(g.kids[0], bars)
            b_text, b_prec = self.render(g.kids[1], bars)
            trap = g.style.get("trap")
            if a_prec < JUXT:
                a_text = f"({a_text})"
            if b_prec < POW or b_text.startswith(("‖", "|")) and bars or b_text.startswith(("-", "−", "+")):
                b_text = f"({b_text})"
            if b_text.startswith("(") and _ends_with_name(a_text):
                # NAME ( … ) is a call; a product of a known name, but say it plainly
                return a_text + " * " + b_text, PROD
            glue = g.style.get("op") == "glue" and _gluable(g.kids[1], b_text) and (
                _gluable(g.kids[0], a_text) or a_text.endswith(("ᵀ", "'")) or
                (g.kids[0].op == "num" and a_text[-1:].isdigit() and not b_text.startswith(("e", "E"))))
            sep = "" if glue else r.choice([" ", " ", "  "])
            return a_text + sep + b_text, JUXT
        if op == "T":
            spelling = g.style.get("op", "ᵀ")
            if spelling == "'" and g.kids[0].op == "T" and g.kids[0].style.get("op") == "^T":
                spelling = "ᵀ"
            base = self.wrap(g.kids[0], POSTFIX, bars, avoid_sqrt=True)
            return base + spelling, (POW if spelling == "^T" else POSTFIX)
        if op == "inv":
            spelling = g.style.get("op", "⁻¹")
            if spelling == "inv":
                return f"inv({self.render(g.kids[0])[0]})", ATOM
            base = self.wrap(g.kids[0], POSTFIX, bars, avoid_sqrt=True)
            return base + spelling, (POSTFIX if spelling in ("⁻¹", "⁻ᵀ") else POW)
        if op == "mpow":
            k = g.data
            base = self.wrap(g.kids[0], POSTFIX, bars, avoid_sqrt=True)
            if g.style.get("sup") and k in (2, 3):
                return base + {2: "²", 3: "³"}[k], POSTFIX
            return base + "^" + (str(k) if k >= 0 else r.choice([f"({k})", f"{k}", f"{{{k}}}"])), POW
        if op in ("pow", "epow"):
            base = self.wrap(g.kids[0], POSTFIX, bars, avoid_sqrt=True)
            e = g.kids[1]
            value = e.data[0] if e.op == "num" else -e.kids[0].data[0]
            if op == "pow" and g.style.get("sup") and value in (2, 3):
                return base + {2: "²", 3: "³"}[int(value)], POSTFIX
            et, ep = self.render(e, bars)
            if ep < ATOM:
                et = r.choice([f"({et})", f"{{{et}}}"]) if not et.startswith(("-", "−")) or r.random() < 0.5 else et
            return base + (".^" if op == "epow" else "^") + et, POW
        if op == "fn":
            spelling = g.style.get("spelling", g.data)
            if spelling == "||":
                if "abs" in bars:
                    spelling = "abs"
                else:
                    return "|" + self.render(g.kids[0], bars + ("abs",))[0] + "|", ATOM
            if spelling == "√":
                return "√" + self.wrap(g.kids[0], POSTFIX, bars, avoid_sqrt=True), ATOM
            return f"{spelling}({self.render(g.kids[0])[0]})", ATOM
        if op in ("norm", "normsq"):
            spelling = g.style.get("spelling", "‖")
            if spelling in ("‖", "||") and "norm" in bars:
                spelling = "norm"
            if spelling == "norm":
                inner = f"norm({self.render(g.kids[0])[0]})"
            else:
                inner = spelling + self.render(g.kids[0], bars + ("norm",))[0] + spelling
            if op == "norm":
                return inner, ATOM
            sq = g.style.get("sq", "²")
            return inner + sq, (POSTFIX if sq == "²" else POW)
        simple = {"softmax": "softmax", "sum": "sum", "det": "det", "logdet": "logdet", "diag": "diag",
                  "Diag": "Diag"}
        if op in simple:
            return f"{simple[op]}({self.render(g.kids[0])[0]})", ATOM
        if op == "lse":
            return f"{g.style.get('spelling', 'logsumexp')}({self.render(g.kids[0])[0]})", ATOM
        if op == "tr":
            return f"{g.style.get('spelling', 'tr')}({self.render(g.kids[0])[0]})", ATOM
        raise ValueError(f"cannot render {op}")


def _gluable(g: G, text: str) -> bool:
    import re
    return g.op in ("var", "ref") and not g.style.get("paren") and re.fullmatch(r"[^\W\d_]\d*", text) is not None


def _ends_with_name(text: str) -> bool:
    import re
    return re.search(r"[^\W]$", text) is not None and not re.search(r"(^|[^\w.])[\d.]+$", text)


def render_expr(prog: Program, g: G, seed: int = 0, explicit: bool = False) -> str:
    return Renderer(prog, random.Random(seed), explicit).render(g)[0]


def meaning(prog: Program, target: str | None = None) -> str:
    """The intended program, every operand parenthesised: what a misread should have read."""
    return "; ".join(f"{name} = {render_expr(prog, body, explicit=True)}" for name, body in prog.definitions
                     if True) + (f"  [target {target}]" if target else "")


def render_program(prog: Program) -> str:
    r = random.Random(prog.seed * 7919 + 13)
    st = prog.style
    unicode = st.get("unicode", True)
    rend = Renderer(prog, r)
    decls = []
    declared = [v for v in prog.variables.values() if v.declared]
    groups: list[list[VarInfo]] = []
    if st.get("group"):
        by = {}
        for v in declared:
            by.setdefault((v.shape, v.domain), []).append(v)
        groups = list(by.values())
    else:
        groups = [[v] for v in declared]
    for grp in groups:
        names = ", ".join(v.text or v.name for v in grp)
        inword = r.choice(["∈", " ∈"]) if unicode else "in"
        decls.append(f"{names} {inword.strip()} {declaration(grp[0], prog.dims, unicode, r)}")
    defs = []
    for i, (name, body) in enumerate(prog.definitions):
        text = rend.render(body)[0]
        last = i == len(prog.definitions) - 1
        if last and prog.bare:
            defs.append(text)
        else:
            eq = r.choice([" = ", " = ", "=", " =\t"]) if st.get("tabs") else r.choice([" = ", "="])
            defs.append(f"{name}{eq}{text}")
    sep = st.get("sep", "\n")
    place = st.get("decl_place", "first")
    if place == "last" and not prog.bare:
        statements = defs + decls
    elif place == "mixed" and decls:
        statements = list(defs)
        for d in decls:
            statements.insert(r.randint(0, max(len(statements) - 1, 0)), d)
    else:
        statements = decls + defs
    if st.get("comments") and "\n" in sep:
        statements = [s + ("  # note" if r.random() < 0.3 else "") for s in statements]
    if st.get("tabs"):
        statements = [("\t" if r.random() < 0.3 else "") + s for s in statements]
    return sep.join(statements) + st.get("trailing", "")


# ── the intended meaning ─────────────────────────────────────────────────────────────────────────

def semantic_value(prog: Program, inputs: dict, target: str | None = None) -> np.ndarray:
    """The value the generator meant, from its own AST (not from matcalc's reading of the text)."""
    sizes = prog.sizes()
    env: dict[str, np.ndarray] = {}
    for name, v in prog.variables.items():
        shape = prog.shape_of(name)
        env[name] = np.asarray(inputs[name], dtype=float).reshape(shape)
    values: dict[str, np.ndarray] = {}
    for name, body in prog.definitions:
        values[name] = _eval(body, env, values, sizes)
    return values[target or prog.output]


def _n(dim, sizes):
    return int(np.prod([sizes[d] for d in dim])) if dim else 1


def _eval(g: G, env, defs, sizes) -> np.ndarray:
    with np.errstate(all="ignore"):
        return _ev(g, env, defs, sizes)


def _ev(g, env, defs, sizes):
    op = g.op
    k = [_ev(c, env, defs, sizes) for c in g.kids]
    if op == "var":
        return env[g.data]
    if op == "ref":
        return defs[g.data]
    if op == "num":
        return np.array([[g.data[0]]])
    if op == "I":
        return np.eye(_n(g.shape[0], sizes))
    if op == "add":
        return k[0] + k[1]
    if op == "sub":
        return k[0] - k[1]
    if op == "neg":
        return -k[0]
    if op == "pos":
        return k[0]
    if op == "mul":
        a, b = g.kids
        if a.shape == SCALAR or b.shape == SCALAR:
            return k[0] * k[1]
        return k[0] @ k[1]
    if op == "had":
        return k[0] * k[1]
    if op == "ediv":
        return k[0] / k[1]
    if op == "div":
        return k[0] / k[1]
    if op == "kron":
        return np.kron(k[0], k[1])
    if op == "frob":
        return np.array([[np.sum(k[0] * k[1])]])
    if op == "T":
        return k[0].T
    if op == "inv":
        inv = O.inverse(k[0])
        return inv.T if g.style.get("op") == "⁻ᵀ" else inv
    if op == "mpow":
        kk = g.data
        if kk == 0:
            return np.eye(k[0].shape[0])
        base = k[0] if kk > 0 else O.inverse(k[0])
        out = base
        for _ in range(abs(kk) - 1):
            out = out @ base
        return out
    if op in ("pow", "epow"):
        return O.power(k[0], k[1][0, 0])
    if op == "fn":
        return np.asarray(O.ELEMENTWISE[g.data](k[0]), dtype=float)
    if op == "norm":
        return np.array([[np.sqrt(np.sum(k[0] ** 2))]])
    if op == "normsq":
        return np.array([[np.sum(k[0] ** 2)]])
    if op == "softmax":
        return O.softmax(k[0])
    if op == "lse":
        return np.array([[O.logsumexp(k[0])]])
    if op == "sum":
        return np.array([[np.sum(k[0])]])
    if op == "tr":
        return np.array([[np.trace(k[0])]])
    if op == "det":
        return np.array([[O.det(k[0])]])
    if op == "logdet":
        return np.array([[O.logdet(k[0])]])
    if op == "diag":
        return np.diag(k[0]).reshape(-1, 1)
    if op == "Diag":
        return np.diag(k[0].reshape(-1))
    raise ValueError(op)


# ── malformed and stress inputs ─────────────────────────────────────────────────────────────────
TOKENS = ["x", "W", "Wx", "θ", "1", "½", "+", "−", "*", "∘", "⊘", "./", "/", "⊗", ":", "'", "ᵀ", "⁻¹",
          "²", "^", "^(-1)", ".^", "(", ")", "‖", "||", "|", "σ(", "softmax(", "sum(", "tr(", "inv(",
          "Diag(", "√", "I", ";", "\n", "=", "f =", "x in R^3", "A in R^(3,3)", "y ∈ Δ^3", ",", "@", "$",
          "kron(", "logdet(", "det(", "ℝ", "𝕊", "e", "^T", "\r\n", "\t", "1e99", "0", "{", "}", "n",
          "R^(n,m)", "Sym(", "SPD(3)", "OneHot(", "∈", "in", "#", "·", "⁻ᵀ", "³", "lse(", "norm(", "1/2"]
ODD_CHARS = ["\v", "\f", "\r", "\u2028", "\u0085", "\u00a0", "\u200b", "\x00", "é", "ℝ", "𝕊", "₊", "⁻",
             "\ufeff", "\t", "\n", ";", ")", "(", "‖", "|", "^", "'", "e", "9" * 30, "½"]
EDGE_SNIPPETS = ["1e309", "2^10000", "0^(-1)", "1/0", "c^1e309", "9" * 400, "0.0", "x/0", "1e-400",
                 "(1/0) x", "exp(1000) x", "log(0) c", "0 x", "x - x", "I", "sum(I)", "tr(I)",
                 "A^0", "A^1", "A^-0", "c^0", "0^0", "x.^0", "Aᵀᵀᵀ", "--x", "+-x", "(((x)))"]


def malformed(seed: int, valid_text: str | None) -> str:
    r = random.Random(seed)
    c = r.random()
    if valid_text and c < 0.55:
        text = valid_text
        for _ in range(r.randint(1, 3)):
            i = r.randrange(len(text) + 1)
            m = r.random()
            if m < 0.35 and text:
                j = min(len(text), i + r.randint(1, 4))
                text = text[:i] + text[j:]
            elif m < 0.7:
                text = text[:i] + r.choice(ODD_CHARS + TOKENS) + text[i:]
            elif m < 0.85 and text:
                text = text[:i]
            else:
                j = r.randrange(len(text) + 1)
                a, b = sorted((i, j))
                text = text[:a] + text[b:] + text[a:b]
        return text
    if c < 0.8:
        return ("f = " if r.random() < 0.5 else "") + " ".join(r.choice(TOKENS) for _ in range(r.randint(1, 12)))
    decl = r.choice(["x in R^3; A in R^(3,3); c in R\n", "", "x ∈ ℝ^n\n"])
    return decl + "f = " + r.choice(["sum(", "c ", "xᵀ", "‖", ""]) + r.choice(EDGE_SNIPPETS) + \
        r.choice(["", ")", " x", "‖", " + c"])


def stress(seed: int) -> tuple[str, str]:
    """(program, wrt): deep nesting and long sums and products, sized to finish in well under 2 s."""
    r = random.Random(seed)
    depth = r.choice([50, 200, 600, 1200, 3000, 10000])
    c = r.choice(["sigma", "parens", "sum", "prod", "neg", "transpose", "defs", "tanh8", "power"])
    if c == "sigma":
        return "x in R^3; f = sum(" + "σ(" * depth + "x" + ")" * depth + ")", "x"
    if c == "tanh8":
        k = r.randint(6, 12)
        return "x in R^3; f = sum(" + "tanh(" * k + "x" + ")" * k + ")", "x"
    if c == "parens":
        return "x in R^3; f = sum(" + "(" * depth + "x" + ")" * depth + ")", "x"
    if c == "sum":
        return "x in R^3; f = sum(" + " + ".join(["x"] * depth) + ")", "x"
    if c == "prod":
        k = r.choice([20, 60, 100, 160])
        return "x in R^3; A in R^(3,3); f = xᵀ " + " ".join(["A"] * k) + " x", "x"
    if c == "neg":
        return "x in R^3; f = sum(" + "-" * depth + "x)", "x"
    if c == "transpose":
        return "x in R^3; f = sum(x" + "ᵀ" * depth + ")", "x"
    if c == "power":
        return f"A in R^(3,3); f = tr(A^{r.choice([40, 100, 160])})", "A"
    k = r.choice([50, 200, 1000])
    lines = ["x in R^3", "h0 = x"] + [f"h{i} = h{i - 1} + x" for i in range(1, k)] + [f"f = sum(h{k - 1})"]
    return "\n".join(lines), "x"
