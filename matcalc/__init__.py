"""matcalc: symbolic matrix calculus."""
