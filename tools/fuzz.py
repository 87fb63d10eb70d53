"""A fuzz campaign against matcalc with an independent oracle.

    python tools/fuzz.py --minutes 10 --workers 1 --seed 1 [--count N] [--out FILE]

Generates random programs (tools/gen.py: typed, well-formed ones in every spelling, idiomatic ML
losses, malformed text, deep and long programs), runs each in a worker process with a 2 s limit on
the symbolic part (tools/runner.py), checks values, shapes and derivatives against the oracle
(tools/oracle.py: matcalc's parser and resolver, then our own NumPy evaluation of the IR, and
finite differences of that value only), counts outcomes, and shrinks one or two examples of each
failure signature to a minimal reproducer (tools/minimize.py). The summary is printed and written,
with the reproducers, to --out (default /tmp/matcalc-fuzz-SEED.txt; a .json twin beside it).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict

if __package__ in (None, ""):          # run as a script: make `tools` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "tools"

from tools import gen as G                       # noqa: E402
from tools.minimize import Minimizer             # noqa: E402
from tools.runner import Case, Pool              # noqa: E402

FAILURES = ("WRONG", "CRASH", "HANG")
REPORTED = FAILURES + ("flaky", "refused-nopos", "oracle-error")


# ── the cases ───────────────────────────────────────────────────────────────────────────────────

def legacy_program(seed: int) -> tuple[str, str, int]:
    """The small grammar of the first fuzz test (kept: it found real bugs)."""
    r = random.Random(seed)
    decls = "x, y in R^3; u in R^(1,3); A, B in R^(3,3); S in Sym(3); c in R; p in Pos(3)\n"

    def pick(depth, leaves, forms):
        if depth <= 0:
            return r.choice(leaves)
        form = r.choice(forms)
        out = ""
        for part in form.split("%"):
            if part[:1] in ("v", "m", "s"):
                out += {"v": vector, "m": matrix, "s": scalar}[part[0]](depth - 1) + part[1:]
            else:
                out += part
        return out

    def vector(depth):
        return pick(depth, ["x", "y", "p"], [
            "%m %v", "(%v + %v)", "(%v ∘ %v)", "σ(%v)", "tanh(%v)", "softmax(%v)", "%s %v", "(1 − %v)",
            "exp(%v / 4)", "(%v ⊘ (1 + exp(%v)))", "%v.^2", "diag(%m)", "(%v − %v)", "softplus(%v)"])

    def matrix(depth):
        return pick(depth, ["A", "B", "S"], [
            "%m %m", "%mᵀ", "(%m + %m)", "%v %vᵀ", "Diag(%v)", "(A + 3 I)⁻¹", "(%m ∘ %m)", "%s %m",
            "tanh(%m)"])

    def scalar(depth):
        return pick(depth, ["c", "2", "½"], [
            "%vᵀ %v", "tr(%m)", "‖%v‖²", "sum(%v)", "logsumexp(%v)", "(%s + %s)", "%vᵀ %m %v", "‖%m‖",
            "u %v", "%m : %m"])

    body = scalar(r.randint(1, 3)) if seed % 3 else vector(2)
    wrt = r.choice(["x", "A", "c", "S", "u", "p"])
    order = 2 if seed % 7 == 0 and wrt in ("x", "c", "p") else 1
    return decls + "f = " + body, wrt, order


def make_case(seed: int, i: int, mix: dict | None = None) -> Case:
    s = seed * 1_000_003 + i
    r = random.Random(s)
    mix = mix or {"gen": 0.80, "legacy": 0.06, "malformed": 0.125, "stress": 0.015}
    c = r.random()
    if c < mix["gen"]:
        prog = G.Generator(s).program()
        text = prog.text()
        return Case(i, text, prog.wrt, prog.order, prog.of, prog, "gen", s)
    c -= mix["gen"]
    if c < mix["legacy"]:
        text, wrt, order = legacy_program(s)
        return Case(i, text, wrt, order, None, None, "legacy", s)
    c -= mix["legacy"]
    if c < mix["malformed"]:
        base = G.Generator(s).program()
        text = G.malformed(s, base.text() if r.random() < 0.7 else None)
        names = [n for n in base.variables] or ["x"]
        wrt = base.wrt if r.random() < 0.6 else r.choice(names + ["x"])
        return Case(i, text, wrt, 1, None, None, "malformed", s)
    text, wrt = G.stress(s)
    return Case(i, text, wrt, 1, None, None, "stress", s)


# ── the campaign ────────────────────────────────────────────────────────────────────────────────

class Campaign:
    def __init__(self, seed: int, workers: int, hang_limit: float = 2.0) -> None:
        self.seed = seed
        self.pool = Pool(workers, hang_limit=hang_limit)
        self.counts: Counter = Counter()
        self.modes: Counter = Counter()
        self.notes: Counter = Counter()
        self.note_examples: dict = {}
        self.examples: dict = defaultdict(list)       # signature → [(case, result)]
        self.sig_counts: Counter = Counter()
        self.done = 0
        self.elapsed = 0.0

    def on_result(self, case: Case, result: dict) -> None:
        self.done += 1
        outcome = result.get("outcome", "?")
        self.counts[outcome] += 1
        self.modes[(case.mode, outcome)] += 1
        for note in result.get("notes", []):
            key = note.split(":")[0]
            self.notes[key] += 1
            self.note_examples.setdefault(key, (case, note))
        if outcome in REPORTED:
            sig = tuple(result["sig"])
            self.sig_counts[sig] += 1
            ex = self.examples[sig]
            ex.append((case, result))
            ex.sort(key=lambda cr: len(cr[0].text))
            del ex[4 if sig[0] != "HANG" else 40:]

    def run(self, minutes: float | None, count: int | None, progress: bool = False) -> None:
        start = time.monotonic()
        deadline = start + minutes * 60 if minutes else None

        def cases():
            i = 0
            while count is None or i < count:
                yield make_case(self.seed, i)
                i += 1

        last = [start]

        def on_result(case, result):
            self.on_result(case, result)
            if progress and time.monotonic() - last[0] > 30:
                last[0] = time.monotonic()
                print(f"  … {self.done} inputs, {dict(self.counts)}", file=sys.stderr, flush=True)

        self.pool.run(cases(), on_result, stop=lambda: deadline is not None and time.monotonic() > deadline)
        self.elapsed = time.monotonic() - start

    def confirm_hangs(self, limit: int = 40) -> None:
        """Run each hang once more, alone: one that now finishes in time was the machine being
        busy, and counts as ``slow-once`` instead."""
        for sig in [s for s in list(self.examples) if s[0] == "HANG"]:
            kept = []
            for case, result in self.examples[sig][:limit]:
                again = self.pool.run_one(case)
                if again.get("outcome") == "HANG":
                    kept.append((case, result))
                else:
                    self.counts["HANG"] -= 1
                    self.counts["slow-once"] += 1
                    self.sig_counts[sig] -= 1
                    result["outcome"] = "slow-once"
            self.examples[sig] = kept
            if not kept:
                del self.examples[sig]

    def minimize(self, budget_s: float, per_signature: int = 1, per_case_s: float = 40.0) -> list[dict]:
        """Shrink examples of each failure signature; returns the reproducers."""
        deadline = time.monotonic() + budget_s
        out = []
        order = sorted(self.examples, key=lambda s: (s[0] not in FAILURES, -self.sig_counts[s]))
        for sig in order:
            for case, result in self.examples[sig][:per_signature]:
                remaining = deadline - time.monotonic()
                if remaining < 3:
                    out.append({"sig": sig, "count": self.sig_counts[sig], "case": case, "result": result,
                                "min_case": case, "min_result": result, "minimised": False})
                    continue
                m = Minimizer(self.pool, budget_s=min(per_case_s, remaining))
                try:
                    small, small_result = m.minimize(case, result)
                except Exception as err:   # noqa: BLE001 - keep the unminimised example
                    small, small_result = case, dict(result, detail=result["detail"] + f" [minimiser: {err!r}]")
                out.append({"sig": sig, "count": self.sig_counts[sig], "case": case, "result": result,
                            "min_case": small, "min_result": small_result, "minimised": True,
                            "tries": m.tries})
        return out

    def close(self) -> None:
        self.pool.close()


def summary(c: Campaign, command: str) -> str:
    lines = [f"command: {command}", f"inputs: {c.done} in {c.elapsed:.0f} s "
             f"({c.done / max(c.elapsed, 1e-9):.1f} inputs/s)", "", "outcome          count      %"]
    for outcome in ["ok", "unchecked", "refused", "refused-nopos", "flaky", "slow-once", "WRONG", "CRASH",
                    "HANG", "oracle-error"]:
        n = c.counts.get(outcome, 0)
        lines.append(f"{outcome:<15}{n:>7}{100 * n / max(c.done, 1):>7.2f}")
    modes = sorted({m for m, _ in c.modes})
    lines.append("")
    lines.append("by input kind: " + "; ".join(
        f"{m}: " + ", ".join(f"{o} {n}" for (mm, o), n in sorted(c.modes.items()) if mm == m) for m in modes))
    if c.notes:
        lines.append("notes: " + ", ".join(f"{k} {n}" for k, n in c.notes.most_common()))
        for key, (case, note) in c.note_examples.items():
            lines.append(f"  e.g. {key}: {case.call()[:400]}\n      {note[:400]}")
    return "\n".join(lines)


def _abbreviate(text: str, limit: int = 700) -> str:
    return text if len(text) <= limit else text[:limit // 2] + f" … [{len(text)} characters] … " + text[-limit // 4:]


def describe(repro: dict) -> str:
    sig = repro["sig"]
    case, res = repro["min_case"], repro["min_result"]
    lines = [f"== {' | '.join(map(str, sig))}   ({repro['count']} inputs)",
             f"   {res.get('detail', '')}"]
    if res.get("ops"):
        lines.append(f"   operators: {', '.join(res['ops'])}")
    lines.append(f"   reproducer{' (minimised)' if repro.get('minimised') else ''}: {_abbreviate(case.call())}")
    if case is not repro["case"]:
        lines.append(f"   original ({repro['case'].mode}): {_abbreviate(repro['case'].call())}")
    for note in res.get("notes", []):
        lines.append(f"   note: {note}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=None, help="stop generating after this long")
    ap.add_argument("--count", type=int, default=None, help="stop after this many inputs")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="report file (default /tmp/matcalc-fuzz-SEED.txt)")
    ap.add_argument("--minimize-minutes", type=float, default=None,
                    help="time for shrinking failures after the run (default: a third of --minutes, "
                         "at least 1)")
    ap.add_argument("--per-signature", type=int, default=1, help="examples to shrink per signature")
    ap.add_argument("--hang", type=float, default=2.0, help="seconds allowed for the symbolic part")
    args = ap.parse_args(argv)
    if args.minutes is None and args.count is None:
        args.minutes = 1.0
    out = args.out or f"/tmp/matcalc-fuzz-{args.seed}.txt"
    command = "python tools/fuzz.py " + " ".join(sys.argv[1:] if argv is None else argv)
    campaign = Campaign(args.seed, args.workers, args.hang)
    try:
        campaign.run(args.minutes, args.count, progress=True)
        campaign.confirm_hangs()
        text = summary(campaign, command)
        print(text, flush=True)
        budget = 60 * (args.minimize_minutes if args.minimize_minutes is not None
                       else max(1.0, (args.minutes or 3.0) / 3))
        repros = campaign.minimize(budget, args.per_signature)
    finally:
        campaign.close()
    sections = [text, "", f"failure signatures: {len(repros)}", ""]
    sections += [describe(r) + "\n" for r in repros]
    report = "\n".join(sections)
    print("\n".join(sections[1:]))
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(report + "\n")
    with open(os.path.splitext(out)[0] + ".json", "w", encoding="utf-8") as fh:
        json.dump({"command": command, "inputs": campaign.done, "seconds": campaign.elapsed,
                   "counts": dict(campaign.counts), "notes": dict(campaign.notes),
                   "failures": [{"signature": list(map(str, r["sig"])), "count": r["count"],
                                 "detail": r["min_result"].get("detail"),
                                 "reproducer": r["min_case"].call(), "original": r["case"].call()}
                                for r in repros]}, fh, ensure_ascii=False, indent=1)
    print(f"\nreport written to {out}")
    failed = sum(campaign.counts.get(k, 0) for k in FAILURES)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
