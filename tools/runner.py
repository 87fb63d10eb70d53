"""One fuzz case, end to end, and a pool of worker processes that runs cases under a time limit.

A case is program text plus what to derive (``wrt``, ``order``, ``of``) and, for generated
programs, the generator's ``Program`` (its intended meaning and shapes). ``run_case`` derives it
through the public API (printing, LaTeX, steps, NumPy source, compile, compile_value, check) and
classifies the outcome:

* ``ok``          every check passed
* ``unchecked``   derived fine, but no usable point was found for the numbers (the value is not
                  finite, or badly conditioned, everywhere we looked) or sizes are too large
* ``refused``     a MatcalcError that carries a position (``refused-nopos``: one that does not)
* ``WRONG``       value, shape or derivative differ from the oracle, confirmed at a second point
* ``flaky``       differed at one point but not at another: reported, not counted as WRONG
* ``CRASH``       any exception that is not a MatcalcError (also while formatting an error)
* ``HANG``        the symbolic part (derive … compile) took longer than the limit (2 s)

Notes that are not failures of the case: ``misread-undeclared`` (an undeclared name got another
shape than the generator meant by the naming convention) and ``check-disagrees`` (matcalc's own
``check()`` verdict differs from ours).
"""
from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
import traceback
from dataclasses import dataclass

import numpy as np
import sympy

HANG_LIMIT = 2.0
MAX_SIZE = 40           # skip numbers when a bound dimension is larger than this


@dataclass
class Case:
    id: int
    text: str
    wrt: object
    order: int = 1
    of: str | None = None
    prog: object = None          # gen.Program, or None for text-only cases
    mode: str = "gen"            # gen, template, malformed, stress, corpus
    seed: int = 0
    extras: bool = True          # also exercise check() and to_sympy()

    def call(self) -> str:
        args = [repr(self.text), repr(self.wrt)]
        if self.order != 1:
            args.append(f"order={self.order}")
        if self.of:
            args.append(f"of={self.of!r}")
        return f"matcalc.derive({', '.join(args)})"


# ── the case ───────────────────────────────────────────────────────────────────────────────────

def _crash(result: dict, phase: str, err: BaseException) -> dict:
    frames = traceback.extract_tb(err.__traceback__)
    where = "?"
    for fr in reversed(frames):
        name = fr.filename.replace("\\", "/")
        if "/matcalc/" in name or name.startswith("<matcalc"):
            short = name.split("/matcalc/")[-1] if "/matcalc/" in name else "generated code"
            where = f"{short}:{fr.name}"
            break
    else:
        if frames:
            where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].name}"
    result.update(outcome="CRASH", sig=("CRASH", type(err).__name__, where, phase),
                  detail=f"{type(err).__name__}: {str(err)[:300]} (in {where}, during {phase})")
    return result


def _layout(shape) -> tuple:
    """Concrete NumPy layout of an IR shape (r, c): () scalar, (r,) column, (1, c) row, (r, c)."""
    (r, c), (sr, sc) = shape
    if sr == 1 and sc == 1:
        return ()
    if sc == 1:
        return (r,)
    return (r, c)


def _to_input(v, value: np.ndarray, concrete: tuple):
    sr, sc = v.shape
    if sr == 1 and sc == 1:
        return float(value.reshape(()))
    if sc == 1:
        return value.reshape(-1).copy()
    return value.reshape(concrete).copy()


def _usage_domains(root) -> dict:
    """Variables that appear directly under log, √, a non-integer power (positive) or an inverse,
    det or logdet (conditioned): only for sampling, never for the verdict."""
    from matcalc import expr as E
    found = {}
    for node in E.walk(root):
        need = None
        if isinstance(node, E.Elementwise) and node.function in ("log", "sqrt"):
            need = "positive"
        elif isinstance(node, E.Power):
            need = "positive"
        elif isinstance(node, (E.Inverse, E.Det, E.LogDet)):
            need = "conditioned"
        if need:
            x = node.children[0]
            while isinstance(x, (E.Transpose, E.Ref)):
                x = x.children[0]
            if isinstance(x, E.Var):
                found.setdefault(x.name, need)
    return found


def sample(domain: str, shape: tuple, rng, positive: bool, scale: float = 1.0) -> np.ndarray:
    r, c = shape
    if domain == "positive" or (positive and domain == "real"):
        return rng.uniform(0.5, 2.0, size=shape)
    if domain == "symmetric":
        a = rng.standard_normal(shape)
        return (a + a.T) / 2
    if domain == "spd":
        a = rng.standard_normal(shape)
        return a @ a.T / r + np.eye(r)
    if domain == "conditioned" and r == c:
        return np.eye(r) * 2.0 + 0.5 * rng.standard_normal(shape)
    if domain == "simplex":
        w = rng.uniform(0.2, 1.0, size=shape)
        return w / w.sum()
    if domain == "onehot":
        value = np.zeros(shape)
        value.flat[rng.integers(r * c)] = 1.0
        return value
    return scale * rng.standard_normal(shape)


class _Skip(Exception):
    pass


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> bool:
    scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
    return bool(np.all(np.abs(a - b) <= rtol * scale))


def run_case(case: Case, phase_done=lambda: None, hang_limit: float = HANG_LIMIT) -> dict:
    import matcalc
    from matcalc import MatcalcError
    from . import oracle as O
    result: dict = {"id": case.id, "outcome": "ok", "sig": ("ok",), "detail": "", "notes": [],
                    "ops": [], "kind": None, "time": 0.0}
    phase = "derive"
    # CPU time of this process, not wall time: the machine may be busy with other work
    t0 = time.process_time()
    try:
        d = matcalc.derive(case.text, case.wrt, of=case.of, order=case.order)
        result["kind"] = d.kind
        phase = "print"
        str(d)
        d.to_latex()
        d.steps
        d.steps_text()
        phase = "to_numpy"
        d.to_numpy()
        phase = "compile"
        derivative = d.compile()
        value_fn = d.compile_value()
    except MatcalcError as err:
        result["time"] = time.process_time() - t0
        phase_done()
        try:
            err.format()
            str(err)
        except Exception as inner:   # noqa: BLE001 - reporting the error must not fail
            return _crash(result, "formatting a MatcalcError", inner)
        if result["time"] > hang_limit:
            result.update(outcome="HANG", sig=("HANG", "refused"),
                          detail=f"refused after {result['time']:.1f} s of CPU time")
            return result
        kind = type(err).__name__
        if err.span is None:
            result.update(outcome="refused-nopos", sig=("refused-nopos", kind, _message_class(err.message)),
                          detail=f"{kind}: {err.message}")
        else:
            result.update(outcome="refused", sig=("refused", kind), detail=f"{kind}: {err.message}")
        return result
    except BaseException as err:   # noqa: BLE001 - everything else is a crash
        if isinstance(err, KeyboardInterrupt):
            raise
        result["time"] = time.process_time() - t0
        phase_done()
        return _crash(result, phase, err)
    result["time"] = time.process_time() - t0
    phase_done()
    if result["time"] > hang_limit:
        result.update(outcome="HANG", sig=("HANG", "slow"),
                      detail=f"derived in {result['time']:.1f} s of CPU time")
        return result
    try:
        result["ops"] = O.operators(d.function)
    except Exception:   # noqa: BLE001
        pass
    try:
        numbers(case, d, derivative, value_fn, result)
    except _Crash as c:
        return _crash(result, c.phase, c.err)
    if case.extras:
        extras(case, d, result)
    return result


class _Crash(Exception):
    def __init__(self, phase, err):
        super().__init__(phase)
        self.phase, self.err = phase, err


def _message_class(message: str) -> str:
    import re
    words = [w for w in re.sub(r"'[^']*'|\([^)]*\)", " ", message).split() if re.fullmatch(r"[a-z]+", w)]
    return " ".join(words[:3])


def extras(case: Case, d, result: dict) -> None:
    from matcalc import MatcalcError
    rng = random.Random(case.seed)
    try:
        report = d.check()
        ours_ok = result["outcome"] in ("ok",)
        if result["outcome"] == "WRONG" and report.passed:
            result["notes"].append("check() passed this wrong result")
        elif ours_ok and not report.passed:
            result["notes"].append(f"check-disagrees: check() failed a result the oracle accepts ({report})")
    except MatcalcError:
        pass
    except Exception as err:   # noqa: BLE001
        if result["outcome"] in ("ok", "unchecked", "flaky"):
            _crash(result, "check()", err)
    if case.mode == "found" or rng.random() < 0.3:
        try:
            d.to_sympy()
        except MatcalcError:
            pass
        except Exception as err:   # noqa: BLE001
            if result["outcome"] in ("ok", "unchecked", "flaky"):
                _crash(result, "to_sympy()", err)


def bind_sizes(case: Case, variables: dict, rng) -> tuple[dict, list[str]]:
    """Bind every dimension symbol to an int: from the generator's intended sizes when known,
    else small random ints. Returns (sizes, names whose shape differs from what was meant)."""
    sizes: dict = {}
    mismatched = []
    prog = case.prog
    # declared variables first: an undeclared one may legitimately be read otherwise (inference)
    ordered = sorted(variables.items(), key=lambda kv: not (prog is not None and kv[0] in prog.variables
                                                             and prog.variables[kv[0]].declared))
    for name, v in ordered:
        if prog is None or name not in prog.variables:
            continue
        want = prog.shape_of(name)
        trial = dict(sizes)
        ok = True
        for dim, n in zip(v.shape, want):
            dim = sympy.sympify(dim)
            if dim.is_Integer:
                ok &= int(dim) == n
            elif dim.is_Symbol:
                if dim in trial:
                    ok &= trial[dim] == n
                else:
                    trial[dim] = n
            else:
                value = dim.xreplace(trial)
                ok &= (not value.is_Integer) or int(value) == n
        if ok:
            sizes = trial
        else:
            mismatched.append(name)
    free = sorted({s for v in variables.values() for d in v.shape for s in sympy.sympify(d).free_symbols
                   if s not in sizes}, key=str)
    choices = [2, 3, 4, 5, 3, 4]
    rng.shuffle(choices)
    for i, s in enumerate(free):
        sizes[s] = choices[i % len(choices)]
    return sizes, mismatched


def numbers(case: Case, d, derivative, value_fn, result: dict) -> None:
    """Value, layout and finite-difference checks against the oracle, at up to three points."""
    from . import oracle as O
    from . import gen as G
    variables = d.variables
    root = d.function
    rng_py = random.Random(case.seed * 31 + 7)
    sizes, mismatched = bind_sizes(case, variables, rng_py)
    if mismatched:
        prog = case.prog
        undeclared = [n for n in mismatched if not prog.variables[n].declared]
        if undeclared:
            result["notes"].append("misread-undeclared: " + ", ".join(
                f"{n} is {variables[n].shape}" for n in undeclared))
        declared = [n for n in mismatched if prog.variables[n].declared]
        if declared:
            _wrong(result, "declared-shape", d, "declared variables read with other shapes: " +
                   ", ".join(f"{n}: {variables[n].shape}, meant {prog.shape_of(n)}" for n in declared))
            return
    concrete = {}
    for name, v in variables.items():
        try:
            concrete[name] = O.concrete_shape(v.shape, sizes)
        except O.OracleError:
            result.update(outcome="unchecked", sig=("unchecked", "dims"), detail="unbound dimension")
            return
    if any(n > MAX_SIZE for s in concrete.values() for n in s):
        result.update(outcome="unchecked", sig=("unchecked", "large"), detail="dimensions too large")
        return
    f_shape = O.concrete_shape(root.shape, sizes)
    f_layout = _layout((f_shape, root.shape))
    names = [case.wrt] if isinstance(case.wrt, str) else list(case.wrt)
    semantic = case.prog is not None and not mismatched
    usage = _usage_domains(root)
    bad_points = []
    good_points = 0
    attempt = 0
    checked_points = 0
    while attempt < 8 and checked_points < 3:
        attempt += 1
        rng = np.random.default_rng(case.seed * 1009 + attempt)
        positive = attempt > 3
        # one case in nine starts with large inputs: overflow where the mathematics is finite
        scale = 20.0 if case.seed % 9 == 4 and attempt <= 2 else 1.0
        raw = {}
        for name, v in variables.items():
            dom = v.domain if v.domain != "real" else usage.get(name, "real")
            raw[name] = sample(dom, concrete[name], rng, positive, scale)
        inputs = {name: _to_input(variables[name], raw[name], concrete[name]) for name in variables}
        kinks: list = []
        try:
            V = O.evaluate(root, raw, sizes, kinks)
        except O.IllConditioned:
            continue
        except O.OracleError as err:
            result.update(outcome="unchecked", sig=("unchecked", "oracle"), detail=f"oracle: {err}")
            return
        if kinks and min(kinks) < 1e-3:      # at (or next to) a kink of abs, relu, sign or step
            continue
        if not np.all(np.isfinite(V)) or np.max(np.abs(V), initial=0) > 1e8:
            continue
        checked_points += 1
        verdict = check_point(case, d, derivative, value_fn, raw, inputs, V, sizes, f_layout, names,
                              semantic, concrete)
        if scale != 1.0 and verdict not in ("ok", None) and verdict[0] not in ("value-nonfinite", "nonfinite"):
            verdict = None    # large inputs: our plain NumPy loses digits (1 − σ(30)); only overflow counts
        if verdict is None:          # unreliable point (kink, conditioning)
            checked_points -= 1
            continue
        if verdict == "ok":
            good_points += 1
            if not bad_points:
                return
        else:
            bad_points.append(verdict)
        if len(bad_points) >= 2:
            what, detail = bad_points[0]
            _wrong(result, what, d, detail + (f"; at a second point: {bad_points[1][1]}"
                                              if bad_points[1][0] == what else ""))
            return
        if bad_points and good_points >= 1 and checked_points >= 3:
            break
    if bad_points:
        what, detail = bad_points[0]
        if len(bad_points) == 1 and good_points == 0 and what in ("layout", "shape", "value-shape", "type"):
            _wrong(result, what, d, detail)     # shapes do not depend on the point
            return
        result.update(outcome="flaky", sig=("flaky", what, d.kind), detail=detail)
        return
    if good_points == 0:
        result.update(outcome="unchecked", sig=("unchecked", "no usable point"),
                      detail="no point with a finite, well-conditioned value")


def _wrong(result: dict, what: str, d, detail: str) -> None:
    result.update(outcome="WRONG", sig=("WRONG", what, d.kind), detail=detail)


def _expected_layout(f_layout: tuple, x_layout: tuple, order: int) -> tuple:
    return x_layout + x_layout if order == 2 else f_layout + x_layout


def _shape_of(value) -> tuple | str:
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, (float, np.floating)) and not isinstance(value, np.ndarray):
        return ()
    if isinstance(value, np.ndarray):
        return ("0-d array",) if value.ndim == 0 else value.shape
    if isinstance(value, (int, np.integer)):
        return ("int",)
    return (type(value).__name__,)


def check_point(case, d, derivative, value_fn, raw, inputs, V, sizes, f_layout, names, semantic, concrete):
    """'ok', None (this point is unusable) or (what, detail) for a mismatch."""
    from . import oracle as O
    from . import gen as G
    # the value
    try:
        with np.errstate(all="ignore"):
            got = value_fn(**inputs)
    except Exception as err:   # noqa: BLE001
        raise _Crash("calling compile_value()", err)
    if _shape_of(got) != f_layout:
        return ("value-shape", f"compile_value() returned shape {_shape_of(got)}, expected {f_layout}")
    got_arr = np.asarray(got, dtype=float).reshape(V.shape)
    if not _close(got_arr, V, 1e-6):
        if not np.all(np.isfinite(got_arr)):
            return ("value-nonfinite", f"compile_value() = {_short(got_arr)}, oracle {_short(V)}")
        return ("value", f"compile_value() = {_short(got_arr)}, oracle {_short(V)}")
    if semantic:
        try:
            meant = G.semantic_value(case.prog, raw, case.of or case.prog.output)
        except O.IllConditioned:
            return None
        except Exception as err:   # noqa: BLE001 - our generator's problem, not matcalc's
            meant = None
            semantic = False
        if meant is not None:
            if meant.shape != V.shape:
                return ("misread", f"the program is read as a {V.shape} value; meant {meant.shape}")
            if np.all(np.isfinite(meant)) and not _close(V, meant, 1e-6):
                try:
                    text = G.meaning(case.prog)
                except Exception:   # noqa: BLE001
                    text = "?"
                return ("misread", f"read as a function with value {_short(V)}; meant {_short(meant)}, "
                                   f"i.e. {text}")
    # the derivative
    try:
        with np.errstate(all="ignore"):
            D = derivative(**inputs)
    except Exception as err:   # noqa: BLE001
        raise _Crash("calling compile()", err)
    as_dict = not isinstance(case.wrt, str)
    if as_dict != isinstance(D, dict):
        return ("type", f"compile() returned {type(D).__name__}; expected {'a dict' if as_dict else 'an array'}")
    if as_dict and set(D) != set(names):
        return ("type", f"compile() returned keys {sorted(D)}; expected {sorted(names)}")
    for name in names:
        Dx = D[name] if as_dict else D
        v = d.variables[name]
        x_layout = _layout((concrete[name], v.shape))
        expected = _expected_layout(f_layout, x_layout, case.order)
        if _shape_of(Dx) != expected:
            return ("shape", f"∂/∂{name} has shape {_shape_of(Dx)}, expected {expected}")
        A = np.asarray(Dx, dtype=float)
        x0 = raw[name]

        def g(flat, name=name):
            trial = dict(raw)
            trial[name] = flat.reshape(x0.shape)
            try:
                return O.evaluate(d.function, trial, sizes).reshape(-1)
            except O.IllConditioned:
                return np.full(V.size, np.nan)

        fsize = V.size
        if case.order == 2:
            h1, h2 = 1e-4, 4e-4
            F1, F2 = O.fd_hessian(g, x0, h1), O.fd_hessian(g, x0, h2)
            A = A.reshape(x0.size, x0.size)
            noise = 50 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(V)))) / (h1 * h1)
            tol = 2e-5
        else:
            h1, h2 = 1e-5, 1e-4
            F1, F2 = O.fd_jacobian(g, x0, h1), O.fd_jacobian(g, x0, h2)
            A = A.reshape(fsize, x0.size)
            noise = 50 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(V)))) / h1
            tol = 1e-6
        if not (np.all(np.isfinite(F1)) and np.all(np.isfinite(F2))):
            return None
        scale = max(1.0, float(np.max(np.abs(F1))) if F1.size else 1.0)
        gap = float(np.max(np.abs(F1 - F2), initial=0.0))
        if not np.all(np.isfinite(A)):
            return ("nonfinite", f"∂/∂{name} has non-finite entries where the finite differences are "
                                 f"{_short(F1)}: {_short(A)}")
        err1 = float(np.max(np.abs(A - F1), initial=0.0))
        limit = tol * scale + noise
        if err1 <= limit:
            continue
        if gap > err1 / 10 or gap > 1e-3 * scale:
            return None       # the finite differences disagree with each other: a kink or worse
        what = "hessian" if case.order == 2 else "derivative"
        return (what, f"∂/∂{name}: max error {err1:.3g} (scale {scale:.3g}); got {_short(A)}, "
                      f"finite differences {_short(F1)}")
    return "ok"


def _short(a) -> str:
    a = np.asarray(a, dtype=float)
    text = np.array2string(a.reshape(-1)[:6], precision=4, suppress_small=True, max_line_width=200)
    return text + (" …" if a.size > 6 else "")


# ── the worker pool ─────────────────────────────────────────────────────────────────────────────

def _worker(conn, hang_limit: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    except Exception:   # noqa: BLE001
        pass
    import sys
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    while True:
        try:
            case = conn.recv()
        except EOFError:
            return
        if case is None:
            return
        try:
            result = run_case(case, lambda: conn.send(("phase", case.id)), hang_limit)
        except BaseException as err:   # noqa: BLE001 - the oracle's own failure
            result = {"id": case.id, "outcome": "oracle-error", "sig": ("oracle-error", type(err).__name__),
                      "detail": "".join(traceback.format_exception(err))[-1500:], "notes": [], "ops": [],
                      "kind": None, "time": 0.0}
        conn.send(("done", case.id, result))


class Pool:
    """``workers`` forked processes; each case gets ``hang_limit`` seconds of CPU time for its
    symbolic part (measured in the worker) and ``case_limit`` seconds in all. A worker that does
    not answer within ``wall_factor`` × ``hang_limit`` + 1 s of wall time (the machine may be
    busy) is killed and replaced, and the case counts as a hang."""

    def __init__(self, workers: int = 1, hang_limit: float = HANG_LIMIT, case_limit: float = 60.0,
                 wall_factor: float = 3.0):
        import matcalc
        from matcalc.parse import parse
        parse("x in R^3; f = sum(σ(x))")       # build the parser once, before forking
        matcalc.derive("x in R^3; f = sum(σ(x))", "x").compile()
        self.ctx = multiprocessing.get_context("fork")
        self.hang_limit = hang_limit
        self.case_limit = case_limit
        self.wall_limit = wall_factor * hang_limit + 1.0
        self.slots = [self._spawn() for _ in range(max(1, workers))]

    def _spawn(self) -> dict:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, self.hang_limit), daemon=True)
        proc.start()
        child.close()
        return {"proc": proc, "conn": parent, "case": None, "start": 0.0, "phase": False}

    def _kill(self, slot: dict) -> None:
        try:
            os.kill(slot["proc"].pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        slot["proc"].join(timeout=5)
        slot["conn"].close()

    def close(self) -> None:
        for slot in self.slots:
            try:
                slot["conn"].send(None)
            except Exception:   # noqa: BLE001
                pass
        for slot in self.slots:
            slot["proc"].join(timeout=2)
            if slot["proc"].is_alive():
                self._kill(slot)

    def run(self, cases, on_result, stop=lambda: False) -> None:
        """Run every case of the iterable ``cases``; ``on_result(case, result)`` for each."""
        from multiprocessing.connection import wait
        it = iter(cases)
        exhausted = False
        while True:
            for i, slot in enumerate(self.slots):
                if slot["case"] is None and not exhausted:
                    if stop():
                        exhausted = True
                        break
                    case = next(it, None)
                    if case is None:
                        exhausted = True
                        break
                    slot.update(case=case, start=time.perf_counter(), phase=False)
                    slot["conn"].send(case)
            busy = [s for s in self.slots if s["case"] is not None]
            if not busy:
                return
            now = time.perf_counter()
            deadlines = [s["start"] + (self.case_limit if s["phase"] else self.wall_limit) for s in busy]
            ready = wait([s["conn"] for s in busy], timeout=max(0.0, min(deadlines) - now))
            for slot in busy:
                conn = slot["conn"]
                if conn in ready:
                    try:
                        msg = conn.recv()
                    except (EOFError, OSError):
                        case = slot["case"]
                        code = slot["proc"].exitcode
                        self._replace(slot)
                        on_result(case, {"id": case.id, "outcome": "CRASH",
                                         "sig": ("CRASH", "worker died", f"exit code {code}", "derive"),
                                         "detail": f"the worker process died (exit code {code}): "
                                                   "out of memory or a fatal error", "notes": [], "ops": [],
                                         "kind": None, "time": time.perf_counter() - slot["start"]})
                        continue
                    if msg[0] == "phase":
                        slot["phase"] = True
                    else:
                        case = slot["case"]
                        slot["case"] = None
                        on_result(case, msg[2])
                else:
                    limit = self.case_limit if slot["phase"] else self.wall_limit
                    if time.perf_counter() - slot["start"] > limit:
                        case = slot["case"]
                        elapsed = time.perf_counter() - slot["start"]
                        in_phase = slot["phase"]
                        self._replace(slot)
                        if in_phase:
                            res = {"outcome": "unchecked", "sig": ("unchecked", "numbers timed out"),
                                   "detail": f"the numerical checks took over {self.case_limit:.0f} s"}
                        else:
                            res = {"outcome": "HANG", "sig": ("HANG", "killed"),
                                   "detail": f"no answer after {elapsed:.1f} s (killed)"}
                        res.update(id=case.id, notes=[], ops=[], kind=None, time=elapsed)
                        on_result(case, res)

    def _replace(self, slot: dict) -> None:
        self._kill(slot)
        fresh = self._spawn()
        slot.clear()
        slot.update(fresh)

    def run_one(self, case) -> dict:
        out = {}
        self.run([case], lambda c, r: out.update(r))
        return out
