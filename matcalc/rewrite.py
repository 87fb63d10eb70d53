"""Rewriting combinators that know no node types.

A rule is a pure function that returns its input unchanged (the same object) when it does not
apply. ``first_of`` tries rules in order; ``Normalizer`` rewrites bottom-up to a fixed point,
memoised by node identity, and stops with ``RewriteLimitExceeded`` when a budget runs out rather
than looping forever. It uses an explicit stack, never Python recursion, so expression depth is
limited by memory only.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable

from .errors import UnsupportedError
from .expr import Expr, Ref

Rule = Callable[[Expr], Expr]


class RewriteLimitExceeded(UnsupportedError):
    """The rule set did not reach a fixed point within its budget: a bug in a rule, reported as a
    MatcalcError (and, through NotImplementedError, still a RuntimeError)."""


def first_of(*rules: Rule) -> Rule:
    def apply(e: Expr) -> Expr:
        for rule in rules:
            new = rule(e)
            if new is not e:
                return new
        return e
    apply.rules = rules  # type: ignore[attr-defined]
    return apply


# Frames of the normaliser's stack: what to do with a node when it comes off the stack.
_ENTER = 0      # normalise it: memo, else its children first
_REBUILD = 1    # its children's normal forms are on the value stack: rebuild, then apply the rule
_SETTLED = 2    # the normal form of its rewrite is on the value stack: remember it for the node


class Normalizer:
    """Bottom-up rewriting to a fixed point. Definitions (Refs) are opaque leaves.

    Rewriting is a pure function of an (interned) node, so results are remembered across calls,
    weakly: an entry lives as long as both the node and its result are in use somewhere.
    Rules may call back in (re-entrant); the budget spans the outermost call."""

    def __init__(self, rule: Rule, budget: int = 200_000) -> None:
        self.rule = rule
        self.budget = budget
        self.memo: weakref.WeakKeyDictionary[Expr, weakref.ref] = weakref.WeakKeyDictionary()
        self.rewrites = 0
        self._depth = 0

    def __call__(self, e: Expr) -> Expr:
        if self._depth == 0:
            self.rewrites = 0
        self._depth += 1
        try:
            return self._normalize(e)
        finally:
            self._depth -= 1

    def _normalize(self, root: Expr) -> Expr:
        """normalize(e) = memo[e], else rule*(rebuild(e, normalize(children))), iteratively:
        ``values`` holds finished normal forms, ``stack`` the work still to do."""
        memo, rule = self.memo, self.rule
        values: list[Expr] = []
        stack: list[tuple[int, Expr]] = [(_ENTER, root)]
        while stack:
            state, e = stack.pop()
            if state == _ENTER:
                done = memo.get(e)
                if done is not None:
                    result = done()
                    if result is not None:
                        values.append(result)
                        continue
                if e.children and not isinstance(e, Ref):
                    stack.append((_REBUILD, e))
                    stack.extend((_ENTER, c) for c in reversed(e.children))
                    continue
                node = e
            elif state == _REBUILD:
                k = len(e.children)
                node = e.rebuild(values[-k:])
                del values[-k:]
            else:   # _SETTLED
                result = values[-1]
                memo[e] = memo[result] = weakref.ref(result)
                continue
            new = rule(node)
            if new is not node:
                self.rewrites += 1
                if self.rewrites > self.budget:
                    raise RewriteLimitExceeded(
                        f"simplification did not settle after {self.budget} rewrites",
                        hint="this is a bug in matcalc's simplifier; please report the program")
                stack.append((_SETTLED, e))
                stack.append((_ENTER, new))
            else:
                memo[e] = memo[node] = weakref.ref(node)
                values.append(node)
        return values[-1]
