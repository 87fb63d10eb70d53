"""Generated derivatives against hand-written NumPy (and JAX / PyTorch where installed).

    python benchmarks/bench_gradients.py [--quick] [--rounds 41] [--threads 1] [--case NAME ...]

For every case: a careful hand-written NumPy derivative, matcalc's ``derive(...).compile()``, the
raw generated module function (``to_numpy()``, no argument checks), ``jax.jit(jax.grad)`` /
``jax.jit(jax.hessian)`` (x64) and ``torch.func.grad`` / ``torch.func.hessian`` (float64) of the
same loss, when JAX / PyTorch are installed. All results are checked against the hand-written one
before timing. The implementations are timed interleaved, round-robin (each round calls each once,
in an order rotating from round to round); the table gives the median time per call and the median
of the per-round paired ratio to hand-written NumPy (< 1 is faster), with its interquartile range
as a noise gauge. BLAS (and XLA / torch) are pinned to one thread unless ``--threads`` says
otherwise: on a small, shared VM, multi-threaded BLAS makes small GEMMs stall and ratios swing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _timing  # noqa: E402  (no NumPy import at module level)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed rounds per case (default 41; 9 with --quick)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed rounds first (default 5; 2 with --quick)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / XLA / torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run, not a measurement")
    parser.add_argument("--case", action="append", default=[], metavar="NAME",
                        help="run only this case (repeatable; a prefix is enough); see --list")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--no-jax", action="store_true", help="skip JAX even when installed")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when installed")
    parser.add_argument("--show-code", action="store_true",
                        help="print the generated derivative() of every case where matcalc is > 5 %% slower")
    parser.add_argument("--order", choices=("shuffle", "rotate"), default="shuffle",
                        help="call order within a round: rotated each round, or a seeded permutation "
                             "rotated each round (default; varies each one's predecessor too)")
    parser.add_argument("--cold", action="store_true",
                        help="no untimed call of the same implementation before each timed sample "
                             "(then each runs with the caches the previous one left)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall time (default), or the process's CPU time, which leaves out the time "
                             "other processes hold the cores (use it on a loaded machine)")
    parser.add_argument("--sample-ms", type=float, default=2.0,
                        help="repeat tiny calls back to back until one timed sample takes this long")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 9 if args.quick else 41
    if args.warmup is None:
        args.warmup = 2 if args.quick else 5
    return args


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    _timing.pin_threads(ARGS.threads)   # before NumPy is imported anywhere

import numpy as np  # noqa: E402

import matcalc  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Cases. Each returns a Case: the matcalc source, wrt, order, inputs, a hand-written NumPy
# derivative (same structure as matcalc's result: one array, or a tuple in wrt order), and the loss
# written once against a small array namespace `ops` (jax.numpy or torch), for JAX and PyTorch.
# ---------------------------------------------------------------------------------------------


class Case:
    def __init__(self, name, title, source, wrt, inputs, hand, loss, order=1, extra=None, rtol=1e-8):
        self.name, self.title, self.source, self.wrt, self.order = name, title, source, wrt, order
        self.inputs, self.hand, self.loss, self.rtol = inputs, hand, loss, rtol
        self.extra = extra or {}    # other hand-written variants worth a row (name -> function)

    @property
    def wrt_list(self):
        return [self.wrt] if isinstance(self.wrt, str) else list(self.wrt)


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))   # stable, one transcendental


def case_seed_000(rng):
    n = 1500
    inputs = dict(W=rng.standard_normal((n, n)) / np.sqrt(n), x=rng.standard_normal(n), y=rng.uniform(size=n))

    def hand(W, x, y):
        s = sigmoid(W @ x)
        return np.outer((s - y) * s * (1.0 - s), x)

    def loss(ops, W, x, y):
        return 0.5 * ops.sum((ops.sigmoid(W @ x) - y) ** 2)
    return Case("seed000", "seed 000 ∂E/∂W, W 1500×1500",
                "W in R^(n,m); x in R^m; y in R^n; E = ½‖σ(Wx)−y‖²", "W", inputs, hand, loss)


def case_net3(rng):
    d, h1, h2, k = 784, 512, 256, 10
    inputs = dict(W1=rng.standard_normal((h1, d)) / np.sqrt(d), x=rng.standard_normal(d),
                  W2=rng.standard_normal((h2, h1)) / np.sqrt(h1), W3=rng.standard_normal((k, h2)) / np.sqrt(h2),
                  y=rng.uniform(-1, 1, size=k))

    def hand(W1, x, W2, W3, y):
        a1 = np.tanh(W1 @ x)
        a2 = np.tanh(W2 @ a1)
        a3 = np.tanh(W3 @ a2)
        d3 = (a3 - y) * (1.0 - a3 * a3)
        d2 = (W3.T @ d3) * (1.0 - a2 * a2)
        d1 = (W2.T @ d2) * (1.0 - a1 * a1)
        return np.outer(d1, x), np.outer(d2, a1), np.outer(d3, a2)

    def loss(ops, W1, x, W2, W3, y):
        a3 = ops.tanh(W3 @ ops.tanh(W2 @ ops.tanh(W1 @ x)))
        return 0.5 * ops.sum((a3 - y) ** 2)
    return Case("net3", "3-layer tanh net, ∂E/∂W1,W2,W3 (784-512-256-10)",
                "h1 = tanh(W1 x); h2 = tanh(W2 h1); h3 = tanh(W3 h2); E = ½‖h3 − y‖²",
                ["W1", "W2", "W3"], inputs, hand, loss)


def case_hessian_seed_000(rng):
    n, m = 500, 300
    inputs = dict(W=rng.standard_normal((n, m)) / np.sqrt(m), x=rng.standard_normal(m), y=rng.uniform(size=n))

    def hand(W, x, y):
        s = sigmoid(W @ x)
        ds = s * (1.0 - s)
        c = ds * ds + (s - y) * ds * (1.0 - 2.0 * s)   # may be negative: no symmetric-root trick
        return W.T @ (c[:, None] * W)

    def loss(ops, W, x, y):
        return 0.5 * ops.sum((ops.sigmoid(W @ x) - y) ** 2)
    return Case("hess_seed000", "Hessian of seed 000 wrt x, W 500×300",
                "W in R^(n,m); x in R^m; y in R^n; E = ½‖σ(Wx)−y‖²", "x", inputs, hand, loss, order=2)


def case_hessian_logistic(rng):
    N, d = 2000, 500
    inputs = dict(X=rng.standard_normal((N, d)) / np.sqrt(d), y=(rng.uniform(size=N) < 0.5).astype(float),
                  w=rng.standard_normal(d))

    def hand(X, y, w):
        p = sigmoid(X @ w)
        return X.T @ (X * (p * (1.0 - p))[:, None])

    def hand_syrk(X, y, w):   # c = p(1 − p) ≥ 0: (X√c)ᵀ(X√c), which NumPy sends to the symmetric kernel
        p = sigmoid(X @ w)
        Xs = X * np.sqrt(p * (1.0 - p))[:, None]
        return Xs.T @ Xs

    def loss(ops, X, y, w):
        s = ops.sigmoid(X @ w)
        return -ops.sum(y * ops.log(s) + (1 - y) * ops.log(1 - s))
    return Case("hess_logreg", "Hessian of logistic regression wrt w, X 2000×500",
                "X in R^(N,d); y in R^N; w in R^d; L = -sum(y ∘ log(σ(X w)) + (1-y) ∘ log(1 - σ(X w)))",
                "w", inputs, hand, loss, order=2, extra={"hand √c syrk": hand_syrk})


def case_least_squares(rng):
    N, D = 2000, 400
    inputs = dict(Φ=rng.standard_normal((N, D)), θ=rng.standard_normal(D), y=rng.standard_normal(N))

    def hand(Φ, θ, y):
        return 2.0 * (Φ.T @ (Φ @ θ - y))

    def loss(ops, Φ, θ, y):
        return ops.sum((y - Φ @ θ) ** 2)
    return Case("lstsq", "least squares ∂L/∂θ, Φ 2000×400",
                "Φ in R^(N,D); θ in R^D; y in R^N; L = ‖y − Φθ‖²", "θ", inputs, hand, loss)


def case_trace_inverse(rng):
    n, p = 400, 20
    inputs = dict(A=rng.standard_normal((p, n)), X=np.eye(n) * 2 + rng.standard_normal((n, n)) / np.sqrt(n),
                  B=rng.standard_normal((n, p)))

    def hand(A, X, B):   # −X⁻ᵀAᵀBᵀX⁻ᵀ = −(X⁻¹B · AX⁻¹)ᵀ: one inverse, thin products
        Xi = np.linalg.inv(X)
        return -((Xi @ B) @ (A @ Xi)).T

    def hand_solve(A, X, B):   # two LU solves (4/3 n³) instead of one inverse (2 n³)
        U = np.linalg.solve(X, B)
        V = np.linalg.solve(X.T, A.T)
        return -(V @ U.T)

    def loss(ops, A, X, B):
        return ops.trace(A @ ops.solve(X, B))
    return Case("trinv", "∂ tr(A X⁻¹ B)/∂X, X 400×400, A 20×400",
                "A in R^(p,n); X in R^(n,n); B in R^(n,p); f = tr(A X⁻¹ B)", "X", inputs, hand, loss,
                extra={"hand 2×solve": hand_solve}, rtol=1e-7)


def case_gaussian_nll(rng):
    n = 300
    Q = rng.standard_normal((n, n))
    inputs = dict(Σ=Q @ Q.T / n + np.eye(n), x=rng.standard_normal(n), μ=rng.standard_normal(n))

    def hand(Σ, x, μ):
        Si = np.linalg.inv(Σ)
        a = Si @ (x - μ)
        return 0.5 * (Si - np.outer(a, a))

    def loss(ops, Σ, x, μ):
        r = x - μ
        return 0.5 * ops.logdet(Σ) + 0.5 * (r @ ops.solve(Σ, r))
    return Case("gauss_nll", "Gaussian NLL ∂/∂Σ, Σ SPD 300×300",
                "Σ in SPD(n); x, μ in R^n; L = ½ logdet(Σ) + ½ (x−μ)ᵀ Σ⁻¹ (x−μ)", "Σ", inputs, hand, loss,
                rtol=1e-7)


def case_det_cube(rng):
    n = 200
    inputs = dict(X=np.eye(n) + 0.3 * rng.standard_normal((n, n)) / np.sqrt(n))

    def hand(X):   # ∂ det(X)³/∂X = 3 det(X)³ X⁻ᵀ
        return (3.0 * np.linalg.det(X) ** 3) * np.linalg.inv(X).T

    def loss(ops, X):
        return ops.det(X @ X @ X)
    return Case("det3", "∂ det(X³)/∂X, X 200×200", "X in R^(n,n); f = det(X³)", "X", inputs, hand, loss,
                rtol=1e-6)


def case_softmax_ce(rng):
    k, d = 1000, 500
    y = np.zeros(k)
    y[3] = 1.0
    inputs = dict(W=rng.standard_normal((k, d)) / np.sqrt(d), x=rng.standard_normal(d), y=y)

    def hand(W, x, y):
        z = W @ x
        e = np.exp(z - z.max())
        return np.outer(e / e.sum() - y, x)

    def loss(ops, W, x, y):
        e = ops.exp(W @ x)
        return -ops.sum(y * ops.log(e / ops.sum(e)))
    return Case("softmax_ce", "explicit softmax CE ∂L/∂W, W 1000×500",
                "W in R^(k,d); x in R^d; y in OneHot(k); z = W x; p = exp(z) / sum(exp(z)); "
                "L = −sum(y ∘ log(p))", "W", inputs, hand, loss)


def case_chain(rng):
    # A n×m, B m×p, C p×q, X q×k, D k×l, E l×n with n tiny: the order of the products decides.
    n, m, p, q, k, l = 5, 1000, 600, 400, 300, 800
    inputs = dict(A=rng.standard_normal((n, m)), B=rng.standard_normal((m, p)), C=rng.standard_normal((p, q)),
                  X=rng.standard_normal((q, k)), D=rng.standard_normal((k, l)), E=rng.standard_normal((l, n)))

    def hand(A, B, C, X, D, E):   # ∂ tr(ABCXDE)/∂X = CᵀBᵀAᵀEᵀDᵀ, through the rank-5 middle
        return (C.T @ (B.T @ A.T)) @ (E.T @ D.T)

    def loss(ops, A, B, C, X, D, E):
        return ops.trace(A @ B @ C @ X @ D @ E)
    return Case("chain6", "∂ tr(ABCXDE)/∂X, n=5 m=1000 p=600 q=400 k=300 l=800",
                "A in R^(n,m); B in R^(m,p); C in R^(p,q); X in R^(q,k); D in R^(k,l); E in R^(l,n); "
                "f = tr(A B C X D E)", "X", inputs, hand, loss, rtol=1e-7)


CASES = [case_seed_000, case_net3, case_hessian_seed_000, case_hessian_logistic, case_least_squares,
         case_trace_inverse, case_gaussian_nll, case_det_cube, case_softmax_ce, case_chain]
CASE_NAMES = ["seed000", "net3", "hess_seed000", "hess_logreg", "lstsq", "trinv", "gauss_nll", "det3",
              "softmax_ce", "chain6"]


# ---------------------------------------------------------------------------------------------
# Implementations
# ---------------------------------------------------------------------------------------------


def as_list(result, wrt):
    if isinstance(result, dict):
        return [np.asarray(result[name]) for name in wrt]
    if isinstance(result, (tuple, list)):
        return [np.asarray(r) for r in result]
    return [np.asarray(result)]


def check_equal(label, got, want, case):
    got, want = as_list(got, case.wrt_list), as_list(want, case.wrt_list)
    assert len(got) == len(want), f"{case.name}/{label}: {len(got)} results, expected {len(want)}"
    for g, w, name in zip(got, want, case.wrt_list):
        np.testing.assert_allclose(np.reshape(g, np.shape(w)), w, rtol=case.rtol, atol=1e-10 * np.abs(w).max(),
                                   err_msg=f"{case.name}: {label} ≠ hand-written NumPy for {name}")


def matcalc_module(derivation):
    namespace: dict = {}
    exec(compile(derivation.to_numpy(), f"<matcalc {derivation.of}>", "exec"), namespace)
    return namespace["derivative"]


class _Ops:
    """The few array functions the losses use, over jax.numpy or torch."""

    def __init__(self, **functions):
        self.__dict__.update(functions)


def jax_implementation(case, threads):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None, "not installed"
    jax.config.update("jax_enable_x64", True)
    ops = _Ops(sum=jnp.sum, exp=jnp.exp, log=jnp.log, tanh=jnp.tanh, sigmoid=jax.nn.sigmoid,
               trace=jnp.trace, solve=jnp.linalg.solve, det=jnp.linalg.det,
               logdet=lambda S: jnp.linalg.slogdet(S)[1])
    names = list(case.inputs)
    argnums = tuple(names.index(n) for n in case.wrt_list)
    f = lambda *a: case.loss(ops, *a)   # noqa: E731
    if case.order == 2:
        d = jax.jit(jax.hessian(f, argnums=argnums[0]))
    else:
        d = jax.jit(jax.grad(f, argnums=argnums if len(argnums) > 1 else argnums[0]))
    args = [jnp.asarray(v) for v in case.inputs.values()]
    call = lambda: jax.block_until_ready(d(*args))   # noqa: E731
    call()   # compile outside the timing
    version = f"jax {jax.__version__}"
    return (call, version), None


def torch_implementation(case, threads):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # torch's own deprecation chatter on import
            import torch
            import torch.func
    except ImportError:
        return None, "not installed"
    _timing.pin_torch(torch, threads)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch(\.|$)")
    ops = _Ops(sum=torch.sum, exp=torch.exp, log=torch.log, tanh=torch.tanh, sigmoid=torch.sigmoid,
               trace=torch.trace, solve=torch.linalg.solve, det=torch.linalg.det,
               logdet=lambda S: torch.linalg.slogdet(S)[1])
    names = list(case.inputs)
    argnums = tuple(names.index(n) for n in case.wrt_list)
    f = lambda *a: case.loss(ops, *a)   # noqa: E731
    if case.order == 2:
        d = torch.func.hessian(f, argnums=argnums[0])
    else:
        d = torch.func.grad(f, argnums=argnums if len(argnums) > 1 else argnums[0])
    args = [torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)) for v in case.inputs.values()]
    call = lambda: d(*args)   # noqa: E731
    return (call, f"torch {torch.__version__}"), None


def to_numpy(result):
    if isinstance(result, (tuple, list)):
        return tuple(to_numpy(r) for r in result)
    if hasattr(result, "detach"):
        return result.detach().numpy()
    return np.asarray(result)


# ---------------------------------------------------------------------------------------------


def generated_derivative(d) -> str:
    """The derivative() function of the generated module, less its docstring and the plain argument
    conversions (``W = np.asarray(W, dtype=float)``); the whole module if that cannot be found."""
    import re
    code = d.to_numpy()
    start = code.find("def derivative")
    if start < 0:
        return code
    body = code[start:]
    end = body.find("\ndef ", 1)
    lines = body[:end if end > 0 else None].rstrip().splitlines()
    conversion = re.compile(r"\s+(\w+) = np\.asarray\(\1, dtype=float\)(\.reshape\(-1, 1\))?$")
    kept = [line for line in lines if not conversion.match(line) and not line.strip().startswith('"""')]
    return "\n".join(kept) if len(kept) > 1 else "\n".join(lines)


def run_case(case, args, rows, notes, slow):
    d = matcalc.derive(case.source, case.wrt, order=case.order)
    compiled = d.compile()
    module = matcalc_module(d)
    want = case.hand(**case.inputs)
    check_equal("matcalc compile()", compiled(**case.inputs), want, case)
    check_equal("matcalc module", module(**case.inputs), want, case)
    functions = {"hand NumPy": lambda: case.hand(**case.inputs)}
    for label, variant in case.extra.items():
        check_equal(label, variant(**case.inputs), want, case)
        functions[label] = (lambda v: lambda: v(**case.inputs))(variant)
    functions["matcalc"] = lambda: compiled(**case.inputs)
    functions["matcalc module"] = lambda: module(**case.inputs)
    for label, make, skip in (("jax.jit", jax_implementation, args.no_jax),
                              ("torch.func", torch_implementation, args.no_torch)):
        if skip:
            continue
        try:
            made, why = make(case, args.threads)
        except Exception as e:   # an optional comparison must not stop the benchmark
            made, why = None, f"{type(e).__name__}: {e}"
        if made is None:
            notes.setdefault(f"{label}: skipped ({why})", None)
            continue
        call, version = made
        try:
            check_equal(label, to_numpy(call()), want, case)
        except AssertionError as e:
            notes.setdefault(f"{case.name}/{label}: result differs, not timed: {str(e).splitlines()[0]}", None)
            continue
        notes.setdefault(f"{label}: {version}", None)
        functions[label] = call
    number = _timing.calls_per_sample(functions["hand NumPy"], target_s=args.sample_ms / 1e3)
    results = _timing.interleaved(functions, baseline="hand NumPy", rounds=args.rounds, warmup=args.warmup,
                                  number=number, order=args.order,
                                  prime=not args.cold,
                                  clock=time.process_time if args.clock == "cpu" else time.perf_counter)
    for label, r in results.items():
        lo, hi = r.ratio_spread()
        row = (case.name, label, r.median * 1e6, r.best * 1e6, r.paired_ratio, lo, hi, number)
        rows.append(row)
        print_row(row)
        if label == "matcalc" and r.paired_ratio > 1.05:
            slow[case.name] = generated_derivative(d)
    sys.stdout.flush()


def print_row(row):
    name, label, us, best, ratio, lo, hi, number = row
    print(f"{name:13} {label:15} {us:12.1f} {best:12.1f} {ratio:8.3f}   [{lo:5.2f}, {hi:5.2f}] {number:6d}")


def main(args) -> None:
    if args.list:
        rng = np.random.default_rng(0)
        for make in CASES:
            c = make(rng)
            print(f"{c.name:13} {c.title}")
        return
    selected = [(n, m) for n, m in zip(CASE_NAMES, CASES)
                if not args.case or any(n.startswith(c) for c in args.case)]
    if not selected:
        sys.exit(f"no case matches {args.case}; known: {', '.join(CASE_NAMES)}")
    print(_timing.header(args.threads, [
        f"command  : python {' '.join(sys.argv)}",
        f"timing   : {args.rounds} interleaved rounds (+{args.warmup} warm-up) per case, {args.clock} clock, order {args.order}{', cold' if args.cold else ', each sample after one untimed call'}; ratio = median over "
        f"rounds of (impl / hand NumPy in the same round); [IQR] of those ratios; n = calls per sample"]))
    print()
    print(f"{'case':13} {'implementation':15} {'median µs':>12} {'min µs':>12} {'ratio':>8}   {'[IQR of ratio]':14} {'n':>6}")
    rows, notes, slow = [], {}, {}
    for name, make in selected:
        case = make(np.random.default_rng(0))
        assert case.name == name
        run_case(case, args, rows, notes, slow)
    print()
    for note in notes:
        print(note)
    print(f"load avg : {_timing.load_average()} at end")
    if slow:
        print(f"\nmatcalc more than 5 % slower than hand-written NumPy: {', '.join(slow)}")
    if args.show_code:
        for name, code in slow.items():
            print(f"\n--- {name}: generated code\n{code}")


if __name__ == "__main__":
    main(ARGS)
