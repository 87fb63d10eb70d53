"""Command line: ``matcalc derive SOURCE --wrt NAME [--latex | --numpy | --steps | --check]``.

User errors print ``line:col: error: …`` with the source line and a caret on stderr and exit 2;
a failed ``--check`` exits 1.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .api import derive
from .errors import MatcalcError

_EXAMPLES = """examples:
  matcalc derive 'E = ½‖σ(Wx)−y‖²' --wrt W
  matcalc derive 'v = W x; s = σ(v); E = ½ (s−y):(s−y)' --wrt W --steps
  matcalc derive examples/two_layer_network.mc --wrt A0,b0,A1,b1 --numpy
  matcalc derive "f = x'Ax" --wrt x --order 2 --check
"""


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


def _read_source(argument: str) -> str:
    if argument == "-":
        return sys.stdin.read()
    if "\n" not in argument and len(argument) < 4096:
        path = Path(argument)
        try:
            if path.is_file():
                return path.read_text(encoding="utf-8")
        except OSError:
            pass
    return argument


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        source = _read_source(args.source)
    except OSError as err:
        print(f"error: cannot read {args.source}: {err}", file=sys.stderr)
        return 2
    wrt = [name.strip() for group in args.wrt for name in group.split(",") if name.strip()]
    try:
        d = derive(source, wrt, of=args.of, order=args.order)
        if args.latex:
            print(d.to_latex())
        elif args.numpy:
            print(d.to_numpy(), end="")
        elif args.steps:
            print("\n".join(d.steps_text()))
            print()
            print(d)
        elif args.check:
            print(d)
            report = d.check()
            print(report)
            return 0 if report.passed else 1
        else:
            print(d)
    except MatcalcError as err:
        print(err.with_source(source).format(), file=sys.stderr)
        return 2
    except BrokenPipeError:   # `matcalc … | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
