"""Traces of matrix chains for ``chains.matrix_chains_by_cost``: the split, the rotation and
the sums to multiply out that make Trace(A B ... Z) cheapest.

Trace(A B ... Z) = sum((A...M) * (N...Z)^T) for any split and any rotation of the chain.
A factor that is a sum is multiplied out when that is cheaper: Trace(inv(A) (u v^T +
v u^T) inv(A)) is two products of vectors with solves (u^T inv(A) inv(A) v), where
computing the d x d sum first costs d^3 (the gradient of ridge regression's validation
loss by lambda)."""

import numpy as np
import sympy as sp

from .match import _terms

LONG = 24        # a chain longer than this is multiplied as written: the search is cubic in it

__all__ = ["Traces"]

DEPTH = 2        # sums multiplied out inside one trace, at most


class Traces:
    """Methods of ``chains.Chains`` for Trace nodes (a mixin: it uses the chain machinery)."""

    def trace(self, n):
        coef, fs, members = self.factors(n)
        cost, build = self.plan_trace(fs, members, DEPTH)
        return self.scale(build(), [self.new[c.id] for c in coef])

    def plan_trace(self, fs, members, depth):
        """(mean cost, builder) of the trace of the chain of factors ``fs``."""
        best = self.plain_trace(fs, members)
        if depth == 0:
            return best
        for i, (x, flip) in enumerate(fs):
            if x.op is not sp.Add or self.uses[x.id] != 1 or x.shape in ((), (1, 1)) \
                    or any(t.shape != x.shape for _, t in _terms(x)):
                continue
            plans, computed = [], 0.0
            for c, t in _terms(x):
                tcoef, tfs, tmembers = self.factors(t, flip)
                if t.op is sp.MatMul and self.uses[t.id] == 1:
                    computed += self.cost(tfs)
                plans.append((c, tcoef, self.plan_trace(fs[:i] + tfs + fs[i + 1:],
                                                        members | tmembers | {x.id}, depth - 1)))
            rows, cols = (self.sizes.of(d) for d in x.shape)
            as_is = best[0] + computed + float(np.mean(rows * cols))
            spread = sum(p[0] for _, _, p in plans)
            if spread < as_is:
                best = (spread, lambda plans=plans: self._sum_of_traces(plans))
            break
        return best

    def _sum_of_traces(self, plans):
        g = self.g
        parts = []
        for c, tcoef, (_, build) in plans:
            part = self.scale(build(), [self.new[k.id] for k in tcoef])
            parts.append(part if c == 1 else g.apply(sp.Mul, g.const(c), part))
        return g.add(*parts)

    def plain_trace(self, fs, members):
        """(cost, builder) of the cheapest rotation and split, the factors as they are."""
        coef = []
        nodes = self.factor_nodes(fs, coef)
        k, best = len(nodes), None
        long = k > LONG                    # a long chain: as written, split before its last factor
        for r in range(1 if long else k):
            turn, tfs = nodes[r:] + nodes[:r], fs[r:] + fs[:r]
            split, cost = self.order(turn, members, tfs)
            for s in ([k - 2] if long else range(k - 1)):
                rows, cols = self.sizes.of(turn[0].shape[0]), self.sizes.of(turn[s].shape[1])
                c = cost[0][s] + cost[s + 1][k - 1] + float(np.mean(rows * cols))
                if best is None or c < best[0] - 1e-9:
                    best = (c, turn, (split, cost), s)
        if best is None:
            return 0.0, lambda: self.scale(self.g.apply(sp.Trace, nodes[0], shape=()), coef)
        c, turn, tree, s = best

        def build():
            left = self.build(tree, turn, 0, s)
            right = self.build(tree, turn, s + 1, len(turn) - 1)
            trace = self.g.apply(sp.Trace, self.multiply(left, right), shape=())
            return self.scale(trace, coef)
        return c, build
