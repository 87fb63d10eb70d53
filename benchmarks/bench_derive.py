"""How long the symbolic engine takes as programs grow: a K-layer tanh network, all 2K gradients.

    python benchmarks/bench_derive.py [--layers 4 10 20 40]

Prints median seconds (of 3 runs, each in a fresh process state for the simplifier's memo) for
deriving, for printing + code + steps, and for the numerical check. Read the growth, not the
absolute numbers.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

RUN = """
import time, matcalc
K = {K}
lines = [f"h{{i}} = tanh(W{{i}} h{{i-1}} + b{{i}})" for i in range(1, K + 1)] + [f"L = ½ ‖h{{K}} − y‖²"]
src = "\\n".join(lines).replace("h0", "x")
wrt = [f"W{{i}}" for i in range(1, K + 1)] + [f"b{{i}}" for i in range(1, K + 1)]
t0 = time.perf_counter(); d = matcalc.derive(src, wrt); t1 = time.perf_counter()
str(d); d.to_numpy(); d.steps; t2 = time.perf_counter()
assert d.check().passed; t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[4, 10, 20, 40])
    args = parser.parse_args()
    print(f"{'layers':>6} {'derive':>9} {'print+code+steps':>17} {'check':>9}")
    for K in args.layers:
        runs = [list(map(float, subprocess.run([sys.executable, "-c", RUN.format(K=K)], check=True,
                                               capture_output=True, text=True).stdout.split()))
                for _ in range(3)]
        derive, render, check = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"{K:>6} {derive:>8.2f}s {render:>16.2f}s {check:>8.2f}s")


if __name__ == "__main__":
    main()
