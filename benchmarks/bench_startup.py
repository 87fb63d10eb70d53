"""Start-up time of the command line against the import floor of its dependencies.

    python benchmarks/bench_startup.py [--rounds 21] [--compare DIR] [--extra]

Each round runs every command once as a fresh subprocess, in an order that changes from round to
round (interleaved, so that drifts in machine load hit all alike); the table gives the median wall
time and the median CPU time of the child (user + system, which a loaded machine disturbs less),
and each command's median paired difference to the floor ``python -c "import sympy, lark"``.

``--compare DIR`` adds the matcalc commands run against another source tree (``PYTHONPATH=DIR``,
e.g. ``git archive <rev> | tar -x -C DIR``), interleaved with the current one: before and after in
one table. ``--extra`` adds --latex, --numpy and --check, and a derive without a usable parser
cache (the cache folder unusable: the grammar is compiled in the process).

The matcalc console script is run with this interpreter (``python …/bin/matcalc``), not through a
shell shim such as pyenv's, whose own start-up would swamp the numbers.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import cpu_model, git_revision, load_average  # noqa: E402

SEED_000 = "E = ½‖σ(Wx)−y‖²"
FLOOR = "import sympy, lark"


def console_script() -> list[str]:
    """How to run the installed ``matcalc`` entry point with this interpreter."""
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        script = os.path.join(folder, "matcalc")
        if os.path.isfile(script):
            return [sys.executable, script]
    return [sys.executable, "-m", "matcalc"]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and child CPU seconds of one run; a failing command stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0,):
        sys.exit(f"{argv!r} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=2, help="rounds run but not recorded")
    parser.add_argument("--compare", metavar="DIR", help="also run matcalc from this source tree")
    parser.add_argument("--extra", action="store_true",
                        help="also --latex, --numpy, --check and a derive without parser cache")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    python = [sys.executable]
    matcalc = console_script()
    base_env = dict(os.environ)
    base_env.pop("PYTHONPATH", None)
    # a cache "folder" that is a file: no table can be read or written (a read-only folder would
    # do for other users, but root writes into those)
    handle, unusable = tempfile.mkstemp(prefix="matcalc-bench-nocache-")
    os.close(handle)

    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "python -c pass": (python + ["-c", "pass"], base_env),
        f'python -c "{FLOOR}"': (python + ["-c", FLOOR], base_env),
        'python -c "import sympy, lark, numpy"': (python + ["-c", FLOOR + ", numpy"], base_env),
    }
    variants = [("", base_env)]
    if args.compare:
        variants.append((" [compare]", {**base_env, "PYTHONPATH": os.path.abspath(args.compare)}))
    derive = ["derive", SEED_000, "--wrt", "W"]
    for tag, env in variants:
        commands[f"matcalc --version{tag}"] = (matcalc + ["--version"], env)
        commands[f"matcalc derive '{SEED_000}' --wrt W{tag}"] = (matcalc + derive, env)
        if args.extra:
            for flag in ("--latex", "--numpy", "--check"):
                commands[f"  … {flag}{tag}"] = (matcalc + derive + [flag], env)
            commands[f"  … no parser cache (unusable dir){tag}"] = \
                (matcalc + derive, {**env, "XDG_CACHE_HOME": unusable})

    print(f"machine  : {cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}")
    print(f"python   : {platform.python_version()} ({sys.executable})")
    print(f"matcalc  : git {git_revision()}; console script: {' '.join(matcalc)}")
    if args.compare:
        print(f"compare  : PYTHONPATH={os.path.abspath(args.compare)}")
    print(f"load avg : {load_average()} (1, 5, 15 min) at start")
    print(f"rounds   : {args.rounds} (+{args.warmup} warm-up), order shuffled per round (seed {args.seed})")

    names = list(commands)
    floor = f'python -c "{FLOOR}"'
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    rng = random.Random(args.seed)
    for r in range(args.warmup + args.rounds):
        order = rng.sample(names, len(names))
        for name in order:
            w, c = run_once(*commands[name])
            if r >= args.warmup:
                wall[name].append(w)
                cpu[name].append(c)
    os.unlink(unusable)

    width = max(len(n) for n in names)
    print()
    print(f"{'command':<{width}}  {'wall ms':>8}  {'cpu ms':>7}  {'Δ floor (wall, paired)':>22}")
    for name in names:
        diffs = [a - b for a, b in zip(wall[name], wall[floor])]
        print(f"{name:<{width}}  {statistics.median(wall[name]) * 1e3:8.1f}  "
              f"{statistics.median(cpu[name]) * 1e3:7.1f}  {statistics.median(diffs) * 1e3:+21.1f}")
    print(f"load avg : {load_average()} (1, 5, 15 min) at end")


if __name__ == "__main__":
    main()
