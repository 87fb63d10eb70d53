"""The Lark parse table built once per user, not once per process.

Building the LALR table from the grammar takes 60–130 ms; loading it pickled, ~15 ms. The table
is kept in ``$XDG_CACHE_HOME/matcalc`` (default ``~/.cache/matcalc``) under a name keyed by the
grammar, the options, the postlexer, and the Lark and Python versions, written atomically (a
temporary file, then a rename) so that processes starting together never read half a file. Any
failure — no home, a read-only or full disk, a corrupt or foreign file — falls back silently to
building the table in the process: the cache never changes a result and never fails a run.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base and os.path.isabs(base) else Path.home() / ".cache") / "matcalc"


def _key(grammar: str, options: dict) -> str:
    import lark
    parts = [grammar, lark.__version__, repr(sys.version_info[:2])]
    for name, value in sorted(options.items()):
        if name == "postlex":   # an instance: its class and what it asks the lexer to accept
            value = (type(value).__module__, type(value).__qualname__, getattr(value, "always_accept", ()))
        parts.append(f"{name}={value!r}")
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def cached_lark(grammar: str, **options):
    """``Lark(grammar, **options)`` (LALR), its table loaded from the user's cache when there."""
    from lark import Lark
    try:
        key = _key(grammar, options)
        path = cache_dir() / f"parser-{key[:32]}.pickle"
    except Exception:   # no home folder, an unpicklable option: build it here
        return Lark(grammar, **options)
    try:
        with open(path, "rb") as f:
            if hasattr(os, "getuid") and os.fstat(f.fileno()).st_uid != os.getuid():
                raise PermissionError("not our file")   # never unpickle another user's file
            if f.readline().rstrip(b"\n") == key.encode("ascii"):
                return Lark.load(f)
    except Exception:   # missing, truncated, foreign, from another Lark: rebuild and replace it
        pass
    parser = Lark(grammar, **options)
    temporary = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=".parser-", suffix=".tmp",
                                         delete=False) as f:
            temporary = f.name
            f.write(key.encode("ascii") + b"\n")
            parser.save(f)
        os.replace(temporary, path)
        temporary = None
    except Exception:   # read-only, full, or no such folder: this process keeps its own table
        pass
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
    return parser
