"""Rewriting combinators that know no node types.

A rule is a pure function that returns its input unchanged (the same object) when it does not
apply. ``first_of`` tries rules in order; ``Normalizer`` rewrites bottom-up to a fixed point,
memoised by node identity, and stops with ``RewriteLimitExceeded`` when a budget runs out rather
than looping forever.
"""
from __future__ import annotations

import sys
import weakref
from collections.abc import Callable

from .expr import Expr, Ref

Rule = Callable[[Expr], Expr]


class RewriteLimitExceeded(RuntimeError):
    """The rule set did not reach a fixed point within its budget: a bug in a rule, reported."""


def first_of(*rules: Rule) -> Rule:
    def apply(e: Expr) -> Expr:
        for rule in rules:
            new = rule(e)
            if new is not e:
                return new
        return e
    apply.rules = rules  # type: ignore[attr-defined]
    return apply


class Normalizer:
    """Bottom-up rewriting to a fixed point. Definitions (Refs) are opaque leaves.

    Rewriting is a pure function of an (interned) node, so results are remembered across calls,
    weakly: an entry lives as long as both the node and its result are in use somewhere."""

    def __init__(self, rule: Rule, budget: int = 200_000) -> None:
        self.rule = rule
        self.budget = budget
        self.memo: weakref.WeakKeyDictionary[Expr, weakref.ref] = weakref.WeakKeyDictionary()
        self.rewrites = 0
        self._depth = 0   # rules may call back in (re-entrant); the budget spans the outermost call

    def __call__(self, e: Expr) -> Expr:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 20_000))
        if self._depth == 0:
            self.rewrites = 0
        self._depth += 1
        try:
            return self._normalize(e)
        finally:
            self._depth -= 1
            sys.setrecursionlimit(limit)

    def _normalize(self, e: Expr) -> Expr:
        done = self.memo.get(e)
        if done is not None and done() is not None:
            return done()
        node = e
        if e.children and not isinstance(e, Ref):
            node = e.rebuild(self._normalize(c) for c in e.children)
        new = self.rule(node)
        if new is not node:
            self.rewrites += 1
            if self.rewrites > self.budget:
                raise RewriteLimitExceeded(f"simplification did not settle after {self.budget} rewrites")
            new = self._normalize(new)
        self.memo[e] = self.memo[new] = weakref.ref(new)
        return new
