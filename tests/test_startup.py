"""Start-up structure (no timings; benchmarks/bench_startup.py measures): the command line and
``import matcalc`` load nothing heavy until needed, NumPy only for what runs numbers, and the
parse table comes from a per-user cache that falls back silently when it cannot be used."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import matcalc

ROOT = Path(__file__).resolve().parent.parent
SEED_000 = "E = ½‖σ(Wx)−y‖²"
EXPECTED = "∂E/∂W = ((s − y) ∘ s ∘ (1 − s)) xᵀ"
HEAVY = ("sympy", "lark", "numpy")


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}, timeout=120)


def _loaded_after(statement: str) -> list[str]:
    done = _python(f"import sys\n{statement}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])


def test_cli_module_imports_nothing_heavy():
    assert _loaded_after("import matcalc.cli") == []


def test_package_import_is_lazy():
    assert _loaded_after("import matcalc; matcalc.__version__") == []


def test_text_output_does_not_import_numpy():
    loaded = _loaded_after("import matcalc\nd = matcalc.derive('E = ½‖σ(Wx)−y‖²', ['W'])\n"
                           "str(d); d.to_latex(); d.to_numpy(); d.steps_text()")
    assert "numpy" not in loaded and "sympy" in loaded


def test_version_subprocess():
    done = subprocess.run([sys.executable, "-m", "matcalc", "--version"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"matcalc {matcalc.__version__}"


def test_version_does_not_import_heavy_modules():
    assert _loaded_after("import sys\nfrom matcalc.cli import main\nsys.argv = ['matcalc', '--version']\n"
                         "try:\n    main()\nexcept SystemExit:\n    pass") == []


def test_public_names():
    from matcalc import derive   # noqa: F401  (the eager spelling keeps working)
    for name in matcalc.__all__:
        assert getattr(matcalc, name) is not None
        assert name in dir(matcalc)
    assert issubclass(matcalc.ParseError, matcalc.MatcalcError)
    assert matcalc.derive is matcalc.api.derive
    with pytest.raises(AttributeError):
        matcalc.no_such_name   # noqa: B018
    assert EXPECTED in str(matcalc.derive(SEED_000, ["W"]))


def test_check_still_uses_numpy():
    report = matcalc.derive(SEED_000, ["W"]).check()
    assert report.passed
    import numpy
    assert matcalc.check.np is numpy and matcalc.api.np is numpy   # the stand-ins replaced themselves


def _derive_with_cache(cache_home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matcalc", "derive", SEED_000, "--wrt", "W"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "XDG_CACHE_HOME": str(cache_home), "PYTHONIOENCODING": "utf-8"})


def test_parser_cache_is_written_and_reused(tmp_path):
    first = _derive_with_cache(tmp_path)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    tables = list((tmp_path / "matcalc").glob("parser-*.pickle"))
    assert len(tables) == 1
    written = tables[0].stat().st_mtime_ns
    second = _derive_with_cache(tmp_path)
    assert second.stdout == first.stdout and EXPECTED in second.stdout
    assert tables[0].stat().st_mtime_ns == written   # read, not rebuilt


def test_parser_cache_falls_back_when_unwritable(tmp_path):
    # (root writes into read-only folders; the cache "folder" that is a file below fails for all)
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        done = _derive_with_cache(readonly)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert EXPECTED in done.stdout
    finally:
        readonly.chmod(stat.S_IRWXU)
    # a cache "folder" that is a file, and a corrupt table: also silent, also correct
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = _derive_with_cache(blocker)
    assert done.returncode == 0 and done.stderr == "" and EXPECTED in done.stdout


def test_corrupt_cache_is_replaced(tmp_path):
    assert _derive_with_cache(tmp_path).returncode == 0
    (table,) = (tmp_path / "matcalc").glob("parser-*.pickle")
    table.write_bytes(table.read_bytes()[:200])   # truncated, as by a crash mid-write
    done = _derive_with_cache(tmp_path)
    assert done.returncode == 0 and done.stderr == "" and EXPECTED in done.stdout
    assert table.stat().st_size > 200   # rebuilt and written again


def test_cached_parser_matches_built_parser(tmp_path, monkeypatch):
    import lark
    from matcalc import _parser_cache, parse
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    options = dict(parser="lalr", lexer="contextual", postlex=parse._BarPostLexer(),
                   propagate_positions=True, maybe_placeholders=False)
    built = lark.Lark(parse._grammar(), **options)
    _parser_cache.cached_lark(parse._grammar(), **options)            # writes the table
    loaded = _parser_cache.cached_lark(parse._grammar(), **options)   # reads it
    assert isinstance(loaded.options.postlex, parse._BarPostLexer)
    for source in (SEED_000, "f = ‖a‖ ‖b‖ + |c| |d|\ng = ½‖x‖²", "h = x'Ax; k = tr(A X⁻¹ B)"):
        assert loaded.parse(source) == built.parse(source)


def test_derive_is_the_function_whatever_was_imported_first():
    # the submodule matcalc.derive must not shadow the function when matcalc.api is imported first
    done = _python("import matcalc.api, matcalc.parse\nimport matcalc\nfrom matcalc import derive\n"
                   "print(matcalc.derive is derive is matcalc.api.derive)")
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
