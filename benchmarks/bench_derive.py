"""How the symbolic engine scales: an L-layer tanh network, all L weight gradients, written as
L statements and as one nested expression.

    python benchmarks/bench_derive.py [--layers 16 32 64 128] [--quick] [--runs 3]

For each form and L it times, in a fresh process (so the simplifier's weak memo starts empty):
derive + to_numpy() + compile(), and separately str() + steps. Prints the median of --runs and
the fitted exponent (slope of log time against log L). A run that fails or exceeds --timeout
is reported as such. Read the growth, not the absolute numbers.
"""
from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys

RUN = """
import time, matcalc
L, form = {L}, {form!r}
decl = ["x in R^n", "v in R^n"] + [f"W{{i}} in R^(n,n)" for i in range(1, L + 1)]
if form == "statements":
    body = [f"h{{i}} = tanh(W{{i}} h{{i - 1}})" for i in range(1, L + 1)] + [f"f = v' h{{L}}"]
    src = "\\n".join(decl + body).replace("h0", "x")
else:
    e = "x"
    for i in range(1, L + 1):
        e = f"tanh(W{{i}} {{e}})"
    src = "\\n".join(decl + [f"f = v' {{e}}"])
wrt = [f"W{{i}}" for i in range(1, L + 1)]
t0 = time.perf_counter()
d = matcalc.derive(src, wrt); d.to_numpy(); d.compile()
t1 = time.perf_counter()
str(d); d.steps
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def measure(L: int, form: str, runs: int, timeout: float) -> tuple[float, float] | str:
    samples = []
    for _ in range(runs):
        try:
            done = subprocess.run([sys.executable, "-c", RUN.format(L=L, form=form)],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"> {timeout:.0f} s"
        if done.returncode != 0:
            return done.stderr.strip().splitlines()[-1][:60] if done.stderr.strip() else "failed"
        samples.append(tuple(map(float, done.stdout.split())))
    return tuple(statistics.median(s[i] for s in samples) for i in range(2))   # type: ignore[return-value]


def slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log t against log L."""
    if len(points) < 2:
        return None
    xs, ys = [math.log(L) for L, _ in points], [math.log(max(t, 1e-6)) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--forms", nargs="+", default=["statements", "nested"],
                        choices=["statements", "nested"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="L = 16, 32, 64 once each")
    args = parser.parse_args()
    if args.quick:
        args.layers, args.runs = [16, 32, 64], 1
    print(f"{'form':>10} {'L':>6} {'derive+code+compile':>20} {'str+steps':>10}")
    for form in args.forms:
        fits: dict[int, list[tuple[int, float]]] = {0: [], 1: []}
        for L in args.layers:
            result = measure(L, form, args.runs, args.timeout)
            if isinstance(result, str):
                print(f"{form:>10} {L:>6} {result:>31}")
                continue
            for i in (0, 1):
                fits[i].append((L, result[i]))
            print(f"{form:>10} {L:>6} {result[0]:>19.3f}s {result[1]:>9.3f}s")
        exponents = [slope(fits[i]) for i in (0, 1)]
        print(f"{form:>10} {'slope':>6} " + " ".join(
            f"{e:>19.2f} " if e is not None else f"{'—':>20}" for e in exponents))


if __name__ == "__main__":
    main()
