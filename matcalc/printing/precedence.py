"""The one precedence table shared by every printer, loosest first."""
from __future__ import annotations

ADD = 10          # a + b, a − b
FROBENIUS = 20    # A : B
OPERATOR = 30     # ∘ ⊘ ⊗ /
NEGATION = 35     # −a
PRODUCT = 40      # juxtaposition: A x
POSTFIX = 50      # xᵀ X⁻¹ x² x.^p
ATOM = 100        # names, numbers, f(…), ‖…‖, (…)
