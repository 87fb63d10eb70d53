"""A module imported on first use: ``np = lazy_import("numpy", __name__, "np")``.

The first attribute read imports the module and puts it in the owner's globals in place of the
stand-in, so later reads cost nothing. Used for NumPy, which only the numerical check and compiled
functions need: ``matcalc derive … --wrt W`` prints without loading it.
"""
from __future__ import annotations

import importlib
import sys


class _LazyModule:
    __slots__ = ("_name", "_owner", "_alias")

    def __init__(self, name: str, owner: str, alias: str):
        self._name, self._owner, self._alias = name, owner, alias

    def __getattr__(self, attribute: str):
        module = importlib.import_module(self._name)
        owner = sys.modules.get(self._owner)
        if owner is not None and getattr(owner, self._alias, None) is self:
            setattr(owner, self._alias, module)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_import(name: str, owner: str, alias: str):
    """``name`` if it is imported already, else a stand-in that imports it on first use."""
    return sys.modules.get(name) or _LazyModule(name, owner, alias)
