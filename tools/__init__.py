"""Developer tools for matcalc (not part of the installed package): the fuzzing oracle,
program generator and campaign runner. See tools/fuzz.py."""
