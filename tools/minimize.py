"""Shrink a failing case to a small reproducer with the same failure signature.

Generated programs are shrunk on their typed AST first (so every candidate still type-checks and
keeps its intended meaning): drop ``of=`` and extra ``wrt`` names, replace a definition by a
variable or inline it, replace each subexpression by one of its children of the same shape or by
a variable of that shape, make variables plain real ones. Then, for any case, the text itself:
drop statements, then delta-debug chunks of characters.
"""
from __future__ import annotations

import copy
import dataclasses
import re
import time

from . import gen as G
from .runner import Case


def signature_key(result: dict) -> tuple:
    """What must stay the same while shrinking: the outcome and its coarse signature."""
    sig = tuple(result.get("sig", ()))
    if sig and sig[0] == "CRASH":
        return sig[:3]       # exception type and where, not the phase
    if sig and sig[0] == "HANG":
        return ("HANG",)
    return sig


class Minimizer:
    def __init__(self, pool, budget_s: float = 60.0, max_tries: int = 250) -> None:
        self.pool = pool
        self.budget_s = budget_s
        self.max_tries = max_tries

    def minimize(self, case: Case, result: dict) -> tuple[Case, dict]:
        self.deadline = time.monotonic() + self.budget_s
        self.tries = 0
        self.key = signature_key(result)
        if self.key[0] == "HANG":
            self.max_tries = min(self.max_tries, 25)
        best, best_result = case, result
        if case.prog is not None:
            best, best_result = self.ast_passes(best, best_result)
        if self.key[:2] != ("WRONG", "misread") and self.key[:2] != ("WRONG", "declared-shape"):
            text_case = dataclasses.replace(best, prog=None) if best.prog is not None else best
            if best.prog is not None:
                r = self.run(text_case)
                if r is None:
                    return best, best_result
                best_result = r
            best, best_result = self.text_passes(text_case, best_result)
        return best, best_result

    # ── running candidates ────────────────────────────────────────────────────────────────────
    def out_of_budget(self) -> bool:
        return time.monotonic() > self.deadline or self.tries >= self.max_tries

    def run(self, case: Case) -> dict | None:
        """The result if ``case`` fails the same way, else None."""
        if self.out_of_budget():
            return None
        self.tries += 1
        result = self.pool.run_one(dataclasses.replace(case, extras=self.key[0] == "CRASH"))
        return result if signature_key(result) == self.key else None

    # ── on the generator's AST ────────────────────────────────────────────────────────────────
    def with_prog(self, case: Case, prog: G.Program) -> Case:
        prune(prog)
        wrt = prog.wrt
        return dataclasses.replace(case, prog=prog, text=prog.text(), wrt=wrt, of=prog.of)

    def ast_passes(self, case: Case, result: dict) -> tuple[Case, dict]:
        changed = True
        while changed and not self.out_of_budget():
            changed = False
            for candidate in self.ast_candidates(case.prog):
                if self.out_of_budget():
                    break
                try:
                    c = self.with_prog(case, candidate)
                except Exception:   # noqa: BLE001 - an AST we cannot render: skip it
                    continue
                if len(c.text) > len(case.text) + 40:
                    continue
                r = self.run(c)
                if r is not None:
                    case, result, changed = c, r, True
                    break
        return case, result

    def ast_candidates(self, prog: G.Program):
        # what to differentiate
        if prog.of is not None:
            p = copy.deepcopy(prog)
            p.of = None
            yield p
        if isinstance(prog.wrt, list):
            for name in prog.wrt:
                p = copy.deepcopy(prog)
                p.wrt = name
                yield p
        target = prog.of or prog.output
        names = [n for n, _ in prog.definitions]
        # drop definitions the target does not use; replace the others by a variable or inline them
        for i, (name, body) in enumerate(prog.definitions):
            if name == target:
                continue
            p = copy.deepcopy(prog)
            p.definitions = [(n, b) for n, b in p.definitions if n != name]
            try:
                fresh = new_var(p, body.shape)
                leaf = G.G("var", [], body.shape, data=fresh)
                p.definitions = [(n, replace_ref(b, name, leaf)) for n, b in p.definitions]
                yield p
            except ValueError:
                pass
            p = copy.deepcopy(prog)
            inline = dict(p.definitions)[name]
            p.definitions = [(n, replace_ref(b, name, inline)) for n, b in p.definitions if n != name]
            yield p
        # the target's own definition: every subexpression
        for name, body in prog.definitions:
            nodes = list(body.nodes())
            for node in nodes:
                if node.op in ("var", "num", "I", "ref"):
                    continue
                for kid in node.kids:
                    if kid.shape == node.shape:
                        yield replaced(prog, name, node, kid)
                existing = [v for v, info in prog.variables.items() if info.shape == node.shape]
                if existing:
                    yield replaced(prog, name, node, G.G("var", [], node.shape, data=existing[0]))
                p = copy.copy(prog)
                p.variables = dict(prog.variables)
                try:
                    fresh = new_var(p, node.shape)
                except ValueError:
                    continue
                yield replaced(p, name, node, G.G("var", [], node.shape, data=fresh))
        # plain real variables, declared
        for vname, info in prog.variables.items():
            if info.domain != "real" or not info.declared:
                p = copy.deepcopy(prog)
                if p.variables[vname].domain in ("positive", "spd", "simplex"):
                    continue     # its positivity may be what keeps log/√ defined
                p.variables[vname].domain = "real"
                p.variables[vname].declared = True
                yield p
        if prog.style.get("sep") != "\n" or prog.style.get("comments") or prog.style.get("tabs"):
            p = copy.deepcopy(prog)
            p.style.update(sep="\n", comments=False, tabs=False, trailing="", decl_place="first")
            yield p
        del names

    # ── on the text ───────────────────────────────────────────────────────────────────────────
    def text_passes(self, case: Case, result: dict) -> tuple[Case, dict]:
        # statements
        changed = True
        while changed and not self.out_of_budget():
            changed = False
            parts = [p for p in re.split(r"[;\n]", case.text.replace("\r\n", "\n"))]
            if len(parts) <= 1:
                break
            for i in range(len(parts)):
                candidate = "\n".join(p for j, p in enumerate(parts) if j != i and p.strip())
                r = self.run(dataclasses.replace(case, text=candidate))
                if r is not None:
                    case, result, changed = dataclasses.replace(case, text=candidate), r, True
                    break
        # delta debugging on characters
        n = 2
        while len(case.text) >= 2 and not self.out_of_budget():
            text = case.text
            chunk = max(1, len(text) // n)
            reduced = False
            for start in range(0, len(text), chunk):
                candidate = text[:start] + text[start + chunk:]
                if not candidate.strip():
                    continue
                r = self.run(dataclasses.replace(case, text=candidate))
                if r is not None:
                    case, result = dataclasses.replace(case, text=candidate), r
                    n = max(n - 1, 2)
                    reduced = True
                    break
                if self.out_of_budget():
                    break
            if not reduced:
                if chunk == 1:
                    break
                n = min(n * 2, len(text))
        return case, result


def new_var(prog: G.Program, shape) -> str:
    kind = G.kind(shape)
    pool = {"scalar": ["a", "b", "c", "β", "γ"], "column": ["x", "y", "z", "u", "v", "w"],
            "row": ["u", "v", "r", "w"]}.get(kind, ["A", "B", "C", "X", "Y", "Z"])
    taken = set(prog.variables) | {n for n, _ in prog.definitions} | set(prog.dims)
    name = next((n for n in pool if n not in taken), None)
    i = 0
    while name is None or name in taken:
        i += 1
        name = f"{pool[0]}{i}"
    if any(len(d) > 1 for d in shape):
        raise ValueError("no variable of a Kronecker shape")
    prog.variables[name] = G.VarInfo(name, shape, "real", True, "", name)
    return name


def replace_ref(body: G.G, name: str, new: G.G) -> G.G:
    for node in list(body.nodes()):
        if node.op == "ref" and node.data == name:
            body = body.replace(node, new)
    return body


def replaced(prog: G.Program, defname: str, old: G.G, new: G.G) -> G.Program:
    p = copy.copy(prog)
    p.variables = dict(prog.variables)
    p.definitions = [(n, b.replace(old, new) if n == defname else b) for n, b in prog.definitions]
    return p


def prune(prog: G.Program) -> None:
    """Drop variables no definition uses and definitions after the target that nothing needs."""
    used = {g.data for _, b in prog.definitions for g in b.nodes() if g.op == "var"}
    prog.variables = {n: v for n, v in prog.variables.items() if n in used}
    if isinstance(prog.wrt, str) and prog.wrt not in prog.variables:
        pass
    if prog.definitions and prog.output not in {n for n, _ in prog.definitions}:
        prog.output = prog.definitions[-1][0]
