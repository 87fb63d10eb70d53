"""Shared timing helpers for the benchmarks: BLAS thread pinning, a machine header, interleaved timing.

Import this module *before* NumPy (or call :func:`pin_threads` before the first ``import numpy``
anywhere in the process): BLAS libraries read their thread count when they are loaded.
"""
from __future__ import annotations

import gc
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def pin_threads(threads: int) -> None:
    """Set every BLAS / OpenMP thread-count variable to ``threads``; must run before NumPy loads.

    XLA (JAX) gets the matching intra-op setting through XLA_FLAGS; PyTorch is pinned with
    ``torch.set_num_threads`` when it is imported (see :func:`pin_torch`).
    """
    if "numpy" in sys.modules:
        raise RuntimeError("pin_threads() must run before numpy is imported")
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        extra = f"--xla_cpu_multi_thread_eigen={'false' if threads == 1 else 'true'} " \
                f"intra_op_parallelism_threads={threads}"
        os.environ["XLA_FLAGS"] = f"{flags} {extra}".strip()


def pin_torch(torch, threads: int) -> None:
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:   # already set, or parallel work has started
        pass


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return " ".join(os.getloadavg().__repr__().strip("()").split(", "))
    except OSError:
        return "n/a"


def blas_description() -> str:
    """Which BLAS NumPy uses and how many threads it reports (threadpoolctl when installed)."""
    import numpy as np
    parts = []
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        parts.append(f"{blas.get('name')} {blas.get('version')}")
    except Exception:   # older NumPy: no mode="dicts"
        parts.append("BLAS unknown (numpy.show_config)")
    try:
        import threadpoolctl
        pools = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") in ("blas", "openmp")]
        for p in pools:
            parts.append(f"{p.get('internal_api')} {p.get('version') or ''} "
                         f"{p.get('architecture') or ''} threads={p.get('num_threads')}".replace("  ", " "))
    except ImportError:
        parts.append("threads: threadpoolctl not installed")
    return "; ".join(parts)


def git_revision() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
        dirty = [line[3:] for line in dirty if line.strip()]
        return head + (f" + uncommitted changes in {', '.join(dirty)}" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def header(threads: int, extra: list[str] = ()) -> str:
    import numpy as np
    lines = [
        f"machine  : {cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}",
        f"python   : {platform.python_version()}, numpy {np.__version__}",
        f"BLAS     : {blas_description()}",
        f"threads  : {threads} requested (OMP/OPENBLAS/MKL/VECLIB/NUMEXPR_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')})",
        f"load avg : {load_average()} (1, 5, 15 min) at start",
        f"matcalc  : git {git_revision()}",
    ]
    lines.extend(extra)
    return "\n".join(lines)


@dataclass
class Result:
    name: str
    seconds: list[float] = field(default_factory=list)   # per round, per call
    ratios: list[float] = field(default_factory=list)    # per round, this / baseline (same round)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def paired_ratio(self) -> float:
        return statistics.median(self.ratios) if self.ratios else float("nan")

    def ratio_spread(self) -> tuple[float, float]:
        """Interquartile range of the paired ratios (a noise gauge)."""
        if len(self.ratios) < 4:
            return (float("nan"), float("nan"))
        q = statistics.quantiles(self.ratios, n=4)
        return (q[0], q[2])


def calls_per_sample(function: Callable[[], object], target_s: float = 2e-3, limit: int = 1000) -> int:
    """How many back-to-back calls make one timed sample of at least ``target_s`` (for tiny calls)."""
    once = float("inf")
    for _ in range(3):   # the fastest of three: a preempted call would make the samples too short
        start = time.perf_counter()
        function()
        once = min(once, time.perf_counter() - start)
    if once >= target_s:
        return 1
    return max(1, min(limit, int(target_s / max(once, 1e-7)) + 1))


def round_order(names: list[str], r: int, how: str, rng: random.Random, bases: list) -> list[str]:
    """The call order of round ``r``. ``rotate``: start one further each round (every position in
    turn, but each implementation always follows the same one). ``shuffle``: every len(names)
    rounds a fresh seeded permutation, rotated one further each round, so that positions stay
    balanced and predecessors vary as well."""
    shift = r % len(names)
    if how == "rotate":
        return names[shift:] + names[:shift]
    if shift == 0:
        bases.append(rng.sample(names, len(names)))
    base = bases[-1]
    return base[shift:] + base[:shift]


def interleaved(functions: dict[str, Callable[[], object]], *, baseline: str, rounds: int,
                warmup: int, number: int = 1, order: str = "shuffle", prime: bool = True,
                clock: Callable[[], float] = time.perf_counter, seed: int = 0) -> dict[str, Result]:
    """Time ``functions`` round-robin: each round times every one once (``number`` calls in a row),
    in an order that changes from round to round (see :func:`round_order`), so drifts in machine
    load hit all alike. With ``prime`` each timed sample is preceded by one untimed call of the
    same function, so that it runs with its own data in cache, as in a loop that calls it again
    and again, and not with whatever the previous implementation left behind (torch's autograd,
    run just before, doubled the time of a 300 µs NumPy gradient). Returns per implementation
    the per-call seconds of every round and the per-round ratio to ``baseline``. The first
    ``warmup`` rounds are run but not recorded. The garbage collector is off while timing.
    ``clock``: wall time (``time.perf_counter``) or the CPU time of the whole process
    (``time.process_time``: all its threads, but not the time other processes hold the cores,
    which on a loaded machine is most of the noise).
    """
    names = list(functions)
    rng = random.Random(seed)
    bases: list = []
    results = {name: Result(name) for name in names}
    perf = clock
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for r in range(warmup + rounds):
            times = {}
            for name in round_order(names, r, order, rng, bases):
                f = functions[name]
                if prime:
                    f()
                start = perf()
                for _ in range(number):
                    f()
                times[name] = (perf() - start) / number
            if r < warmup:
                continue
            for name in names:
                results[name].seconds.append(times[name])
                results[name].ratios.append(times[name] / times[baseline])
    finally:
        if enabled:
            gc.enable()
    return results
