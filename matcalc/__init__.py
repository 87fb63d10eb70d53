"""matcalc: symbolic matrix calculus — closed-form gradients, Jacobians and Hessians of matrix
expressions, with the derivation, LaTeX and standalone NumPy code.

The public names are imported on first use (PEP 562), so that ``import matcalc.cli`` — and with it
``matcalc --version`` — does not load SymPy, Lark or NumPy.
"""
from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_WHERE = {"derive": "api", "latex": "api", "Derivation": "api", "Options": "api", "CheckReport": "api",
          "InputError": "api", "KeywordError": "api", "MatcalcError": "errors", "ParseError": "errors",
          "ShapeError": "errors", "NameResolutionError": "errors", "UnsupportedError": "errors"}

__all__ = ["derive", "latex", "Derivation", "Options", "CheckReport", "InputError", "KeywordError",
           "MatcalcError", "ParseError", "ShapeError", "NameResolutionError", "UnsupportedError"]


def __getattr__(name: str):
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'matcalc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{where}", __name__), name)
    globals()[name] = value   # later reads are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``matcalc.derive`` is the function, although a submodule has that name too: importing the
    submodule (which matcalc.api does) would otherwise set the package's ``derive`` to it. The
    submodule stays in ``sys.modules["matcalc.derive"]``, as it did when the names were eager."""

    def __setattr__(self, name: str, value) -> None:
        if name in _WHERE and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:   # for type checkers and IDEs: the names as eager imports
    from .api import CheckReport, Derivation, InputError, KeywordError, Options, derive, latex
    from .errors import MatcalcError, NameResolutionError, ParseError, ShapeError, UnsupportedError
