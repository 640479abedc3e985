"""SymPy -> index graph: ``IndexLowering`` reads a loss written with indices into a TGraph.

Sums bind their indices (each index name has one range: ``ShapeMismatch`` otherwise);
reads ``x[i + k, c]`` become Access nodes, KroneckerDelta a Delta, a bare index a
Position, ``LogSumExpOver`` an LSE node, and every elementwise op of the registry its
own node. A Sum over an index its terms do not use counts the copies.
"""

from __future__ import annotations

import sympy as sp

from ..errors import ShapeMismatch, UnsupportedExpression
from ..ops import is_elementwise, lookup
from .index_ir import Position, TGraph
from .index_lse import LSE, LogSumExpOver
from .index_reach import guard_ranges, reach, record

__all__ = ["IndexLowering"]


class IndexLowering:
    """Read a SymPy expression written with indices into one TGraph."""

    def __init__(self, graph=None):
        self.graph = graph if graph is not None else TGraph()
        self.env = {}                  # placeholder -> node (rule templates)
        self.memo = {}
        self.guard = {}                # index -> (lo, hi) a Piecewise branch's condition allows

    def __call__(self, expr):
        return self._lower(sp.sympify(expr))

    def template(self, expr, bindings):
        saved = self.env, self.memo
        self.env, self.memo = dict(bindings), {}
        try:
            return self._lower(sp.sympify(expr))
        finally:
            self.env, self.memo = saved

    def _lower(self, e):
        node = self.env.get(e)
        if node is None:
            key = (e, tuple(sorted(self.guard.items(), key=str))) if self.guard else e
            node = self.memo.get(key)
            if node is None:
                node = self._dispatch(e)
                self.memo[key] = node
        return node

    def _piecewise(self, e):
        """Each branch's value lowered under its condition's bounds on the indices (so
        ``Piecewise((w[i - 1], i >= 1), (0, True))`` reads w from position 0 on)."""
        flat = []
        for value, cond in e.args:
            saved = self.guard
            self.guard = guard_ranges(self.graph, cond, saved)
            try:
                flat.append(self._lower(value))
            finally:
                self.guard = saved
            flat.append(self._lower(cond))
        return self.graph.apply(sp.Piecewise, *flat)

    def _dispatch(self, e):
        g = self.graph
        if isinstance(e, sp.Indexed):
            return self._access(e)
        if isinstance(e, sp.Symbol):
            if e in g.ranges:
                return g._intern(Position, (), (e,), e)
            return g.access(e)
        if e in (sp.true, sp.false) or e.is_Number or isinstance(e, sp.NumberSymbol):
            return g.const(e)
        if isinstance(e, sp.Sum):
            return self._sum(e)
        if isinstance(e, LogSumExpOver):
            return self._logsumexp(e)
        if isinstance(e, sp.KroneckerDelta):
            i, j = e.args
            if not (isinstance(i, sp.Symbol) and isinstance(j, sp.Symbol)):
                raise UnsupportedExpression("KroneckerDelta%s: give it two index symbols" % (e.args,))
            return g.delta(i, j)
        if isinstance(e, sp.IndexedBase):
            raise UnsupportedExpression("the IndexedBase %s appears without indices; write %s[i] "
                                        "(with the indices it is read at)" % (e, e))
        if isinstance(e, sp.Piecewise):
            return self._piecewise(e)
        op = lookup(type(e))
        if op is None or not is_elementwise(type(e)) or getattr(e, "is_Matrix", False):
            raise UnsupportedExpression("%s node %s in an index expression: symgrad reads Sum, "
                                        "Indexed, KroneckerDelta and elementwise functions there"
                                        % (type(e).__name__, e))
        args = [self._lower(a) for a in e.args]
        if e.func in (sp.Add, sp.Mul, sp.Max, sp.Min, sp.And, sp.Or) and len(args) > 2:
            out = args[0]
            for a in args[1:]:
                out = g.apply(type(e), out, a)
            return out
        return g.apply(type(e), *args)

    def _access(self, e):
        indices = tuple(sp.sympify(k) for k in e.indices)
        for k in indices:
            terms = k.as_coefficients_dict()
            ok = all((t == 1 and c.is_Integer) or (isinstance(t, sp.Symbol) and c == 1)
                     for t, c in terms.items())
            if not ok:
                raise UnsupportedExpression("index %s of %s: symgrad reads indices of the form i, "
                                            "i + 1 or i + k (index symbols plus a whole number)"
                                            % (k, e))
            r = reach(self.graph, k, self.guard)
            if r is not None and r[0].is_Integer and r[0] < 0:
                at = ", ".join("%s = %s" % (q, (self.guard.get(q) or self.graph.ranges[q])[0])
                               for q in sorted(k.free_symbols, key=str))
                raise ShapeMismatch("%s reads position %s along an axis (at %s), before the "
                                    "array's first entry; start the Sum where the read is at 0 "
                                    "or more, or guard it: Piecewise((..., i >= 1), (0, True))"
                                    % (e, r[0], at))
        node = self.graph.access(e.base, indices)
        record(self.graph, node, self.guard)
        return node

    def _logsumexp(self, e):
        """log Σ_S exp(u): an LSE node; an index u does not use adds log of its count."""
        g = self.graph
        bound = self._bind(e, e.args[1:])
        terms = self._lower(e.args[0])
        present = [i for i in bound if i in terms.idx]
        copies = [i for i in bound if i not in terms.idx]
        out = g._intern(LSE, (terms,), g.order(set(terms.idx) - set(present)), g.order(present)) \
            if present else terms
        return g.apply(sp.Add, out, g.const(sp.log(g.size_of(copies)))) if copies else out

    def _sum(self, e):
        g = self.graph
        bound = self._bind(e, e.limits)
        terms = self._lower(e.function)
        copies = [i for i in bound if i not in terms.idx]       # Σ_i b = (hi - lo + 1) b
        out = g.reduce(terms, bound)
        return g.apply(sp.Mul, g.const(g.size_of(copies)), out) if copies else out

    def _bind(self, e, limits):
        """Give each index of a Sum's limits its range; returns the bound indices."""
        g = self.graph
        bound = []
        for limit in limits:
            if len(limit) != 3:
                raise UnsupportedExpression("Sum %s: give every index its bounds, (i, lo, hi)" % e)
            i, lo, hi = limit
            lo, hi = sp.sympify(lo), sp.sympify(hi)
            if not lo.is_Integer:
                raise UnsupportedExpression("Sum %s: the lower bound of %s must be a number" % (e, i))
            here = {limit[0] for limit in limits}
            inner = (hi.free_symbols | lo.free_symbols) & (set(g.ranges) | here)
            if inner:
                raise UnsupportedExpression(
                    "Sum %s: the range of %s depends on the index %s (a triangular sum); symgrad "
                    "reads sums whose bounds are numbers or sizes (n, d), not other indices; write "
                    "it with a mask, e.g. Sum(Piecewise((f, j <= i), (0, True)), (j, 0, n - 1))"
                    % (e, i, sorted(inner, key=str)[0]))
            old = g.ranges.get(i)
            if old is not None and (old[0] != lo or sp.expand(old[1] - hi) != 0):
                raise ShapeMismatch("index %s runs over %s..%s in one Sum and %s..%s in another; "
                                    "use a different index name for each range" % (i, *old, lo, hi))
            g.ranges[i] = (lo, hi)
            g.rank.setdefault(i, len(g.rank))
            bound.append(i)
        return bound
