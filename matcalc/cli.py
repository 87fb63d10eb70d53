"""Command line: ``matcalc derive SOURCE --wrt NAME [--latex | --numpy | --steps | --check]``.

User errors (a malformed program, a file that cannot be read, output that cannot be written) print
a message on stderr — ``line:col: error: …`` with the source line and a caret where there is a
position — and exit 2; a failed ``--check`` exits 1; Ctrl-C exits 130. Anything else escaping is a
bug in matcalc and keeps its traceback.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import sys
from pathlib import Path

from . import __version__   # the package imports nothing heavy: --version and --help stay fast

# SymPy, Lark (and NumPy, for --check) are imported by main() once the arguments are parsed.

_EXAMPLES = """examples:
  matcalc derive 'E = ½‖σ(Wx)−y‖²' --wrt W
  matcalc derive 'v = W x; s = σ(v); E = ½ (s−y):(s−y)' --wrt W --steps
  matcalc derive examples/seed_001_two_layer_network.mc --wrt A0,b0,A1,b1 --numpy
  matcalc derive "f = x'Ax" --wrt x --order 2 --check
"""

# A SOURCE made only of characters of file names (no spaces, no operators but - + /) that ends in an
# extension (`model.mc`), starts like a path (`/`, `./`, `../`, `~/`) or names a file in a folder
# that exists (`examples/model`) is meant as a file name — the language has no `.` outside numbers —
# so when no such file exists that is what we say. `a/b` stays program text.
_PATH_CHARACTERS = re.compile(r"[\w.~/\\:+-]+")
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,7}$")   # .mc, .txt; not A.T (NumPy's transpose)
_PATH_START = ("/", "./", "../", "~/", ".\\", "..\\")


class _UserError(Exception):
    """A mistake of the user's outside the program text: reported on one line, exit 2."""


class _OutputError(_UserError):
    """Standard output cannot be written (a full disk, an encoding that lacks ∂)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):   # usage errors are user errors: exit 2, no traceback
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="matcalc", description="Symbolic matrix calculus.",
                     epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"matcalc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    d = commands.add_parser("derive", help="differentiate a program", epilog=_EXAMPLES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("source", help="program text, a file name, or - for standard input")
    d.add_argument("--wrt", required=True, action="append",
                   help="variable(s) to differentiate with respect to: repeat or separate by commas")
    d.add_argument("--of", help="the definition to differentiate (default: the last one)")
    d.add_argument("--order", type=int, default=1, choices=(1, 2), help="2 for the Hessian")
    out = d.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="print the closed form as LaTeX")
    out.add_argument("--numpy", action="store_true", help="print a standalone NumPy module")
    out.add_argument("--steps", action="store_true", help="print the derivation step by step")
    out.add_argument("--check", action="store_true",
                     help="verify numerically against finite differences (exit 1 on mismatch)")
    return parser


def _looks_like_path(text: str) -> bool:
    if not _PATH_CHARACTERS.fullmatch(text):
        return False
    if _EXTENSION.search(text) or text.startswith(_PATH_START) or "\\" in text:
        return True
    folder = os.path.dirname(text)   # `examples/model`: a file in a folder that exists
    return bool(folder) and os.path.isdir(folder)


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")   # a leading byte-order mark is not part of the program
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise _UserError(f"{name} is not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); "
                         "save it as UTF-8") from None


def _read_file(argument: str) -> str:
    path = Path(argument).expanduser()
    if path.is_dir():
        raise _UserError(f"{argument} is a directory; name a program file, or - for standard input")
    try:
        data = path.read_bytes()   # regular files, and pipes such as /dev/stdin or <(…)
    except FileNotFoundError:
        raise _UserError(f"no such file: {argument}") from None
    except OSError as err:
        raise _UserError(f"cannot read {argument}: {err.strerror or err}") from None
    return _decode(data, argument)


def _read_source(argument: str) -> tuple[str, bool]:
    """The program text, and whether SOURCE was a file (or standard input) rather than the text."""
    if argument == "-":
        stream = getattr(sys.stdin, "buffer", None)
        return (sys.stdin.read() if stream is None else _decode(stream.read(), "standard input")), True
    if "\n" in argument or len(argument) >= 4096:
        return argument, False
    try:
        exists = os.path.lexists(argument)
    except (OSError, ValueError):   # a name too long for the system, or one with a NUL
        exists = False
    if exists or _looks_like_path(argument):
        return _read_file(argument), True
    return argument, False


def _release_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):   # stdout is no file (captured)
        pass


def _write(text: str, end: str = "\n", flush: bool = False) -> None:
    """Write to stdout; a failure to write is the user's environment, not a bug: _OutputError."""
    try:
        sys.stdout.write(text + end)
        if flush:
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as err:    # a full disk, a device that went away, …
        raise _OutputError(f"cannot write output: {err.strerror or err}") from None
    except UnicodeEncodeError as err:
        raise _OutputError(f"cannot write output: the output encoding {err.encoding} cannot represent "
                           f"{err.object[err.start:err.end]!r}; set PYTHONIOENCODING=utf-8") from None


def derive(*args, **kwargs):
    """matcalc.derive, imported on the first call: after the arguments are parsed."""
    from .api import derive as api_derive
    return api_derive(*args, **kwargs)


def _derive(args: argparse.Namespace, source: str) -> int:
    wrt = [name.strip() for group in args.wrt for name in group.split(",") if name.strip()]
    d = derive(source, wrt, of=args.of, order=args.order)
    status = 0
    if args.latex:
        _write(d.to_latex())
    elif args.numpy:
        _write(d.to_numpy(), end="")
    elif args.steps:
        _write("\n".join(d.steps_text()) + "\n\n" + str(d))
    elif args.check:
        _write(str(d), flush=True)   # the closed form is shown while the check runs
        report = d.check()
        status = 0 if report.passed else 1
        _write(str(report))
    else:
        _write(str(d))
    _write("", end="", flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .errors import MatcalcError
    source, from_file = "", False
    try:
        source, from_file = _read_source(args.source)
        return _derive(args, source)
    except MatcalcError as err:
        print(err.with_source(source).format(), file=sys.stderr)
        if not from_file and "\n" not in source and ("/" in source or "\\" in source) \
                and _PATH_CHARACTERS.fullmatch(source):
            print(f"note: read as program text, since there is no file named {source}", file=sys.stderr)
        return 2
    except _OutputError as err:
        _release_stdout()   # what is still buffered would fail again at exit
        print(f"error: {err}", file=sys.stderr)
        return 2
    except _UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:   # `matcalc … | head`: the reader left; not an error of ours
        _release_stdout()
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
