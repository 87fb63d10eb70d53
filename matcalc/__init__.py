"""matcalc: symbolic matrix calculus — closed-form gradients, Jacobians and Hessians of matrix
expressions, with the derivation, LaTeX and standalone NumPy code."""
from .api import CheckReport, Derivation, InputError, KeywordError, Options, derive, latex
from .errors import MatcalcError, NameResolutionError, ParseError, ShapeError, UnsupportedError

__all__ = ["derive", "latex", "Derivation", "Options", "CheckReport", "InputError", "KeywordError",
           "MatcalcError", "ParseError", "ShapeError", "NameResolutionError", "UnsupportedError"]
__version__ = "0.1.0"
