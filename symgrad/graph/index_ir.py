"""The index graph: losses written with indices (Σᵢ over ``x[i, j]``), as papers write them.

A ``TNode`` is a tensor whose axes are *named by index symbols* (``idx``, in a canonical
order: sorted by name), so elementwise operations broadcast by name, not by position,
and arrays of any rank (1 to 4 and beyond) are handled alike. Ops:

``Access``   an IndexedBase read at index expressions: ``x[i, j]``, ``x[i + k, c]``
             (extra = (base, indices)); a plain Symbol is an Access with no indices
``Const``    a number (extra = (type name, value))
``Reduce``   a sum over some indices (extra = the summed indices)
``Spread``   a value stretched over more indices (extra = the target indices)
``Delta``    KroneckerDelta(i, j)
``LSE``      log Σ exp over some indices (graph/index_lse.py)
and every elementwise op of the registry (Add, Mul, exp, sigmoid, ...).

Each index has a range (lo, hi) from the Sum that binds it (or from the parameter it
indexes, for the free index of a gradient). ``IndexLowering`` (graph/index_lower.py)
reads a SymPy expression into the graph; nodes are hash-consed like the matrix graph's.
"""

from __future__ import annotations

import sympy as sp

from ..ops.plumbing import Const
from .index_lse import LSE

__all__ = ["TNode", "TGraph", "Access", "Reduce", "Spread", "Delta", "Position", "has_indices",
           "order"]


class Access:
    """Op marker: an IndexedBase (or Symbol) read at index expressions."""


class Reduce:
    """Op marker: a sum over the indices in ``extra``."""


class Spread:
    """Op marker: a value stretched over the indices in ``extra``."""


class Delta:
    """Op marker: KroneckerDelta of two indices."""


class Position:
    """Op marker: the value of an index itself (x[i]**(j + 1) reads j as a number)."""


def order(indices, rank=None):
    """The canonical order of a set of index symbols: the order their Sums bind them, outer
    first (so x[i, j] under Σ_i Σ_j is laid out (i, j), as written), then by name."""
    rank = rank or {}
    return tuple(sorted(set(indices), key=lambda s: (rank.get(s, len(rank)), s.name)))


def has_indices(expr):
    """Whether a SymPy expression is written with indices (Indexed or an IndexedBase)."""
    expr = sp.sympify(expr)
    return bool(expr.atoms(sp.Indexed)) or isinstance(expr, (sp.Indexed, sp.IndexedBase))


class TNode:
    """One tensor operation; compare with ``is`` (hash-consed)."""

    __slots__ = ("op", "args", "idx", "extra", "id")

    def __init__(self, op, args, idx, extra, id):
        self.op, self.args, self.idx, self.extra, self.id = op, args, idx, extra, id

    @property
    def is_const(self):
        return self.op is Const

    @property
    def value(self):
        return self.extra[1] if self.op is Const else None

    def __repr__(self):
        return "%s#%d%s" % (getattr(self.op, "__name__", self.op), self.id, list(self.idx))


class TGraph:
    """Hash-consed tensor nodes in topological order, and the range of every index."""

    def __init__(self):
        self.nodes, self._table = [], {}
        self.ranges = {}                 # index symbol -> (lo, hi), inclusive
        self.rank = {}                   # index symbol -> the order it was bound in
        self.reaches = {}                # read node id -> {axis: (first, last)} it touches

    def order(self, indices):
        return order(indices, self.rank)

    def _intern(self, op, args, idx, extra):
        key = (op, tuple(a.id for a in args), idx, extra)
        node = self._table.get(key)
        if node is None:
            node = TNode(op, tuple(args), idx, extra, len(self.nodes))
            self.nodes.append(node)
            self._table[key] = node
        return node

    def const(self, value):
        value = sp.sympify(value)
        return self._intern(Const, (), (), (type(value).__name__, value))

    def access(self, base, indices=()):
        free = self.order(s for e in indices for s in sp.sympify(e).free_symbols)
        return self._intern(Access, (), free, (base, tuple(indices)))

    def delta(self, i, j):
        if i == j:
            return self.const(1)
        return self._intern(Delta, (), self.order((i, j)), (i, j))

    def reduce(self, x, indices):
        summed = self.order(s for s in indices if s in x.idx)
        if not summed:
            return x
        if x.is_const:
            return self.apply(sp.Mul, self.const(self.size_of(summed)), x)
        if x.op is Spread:                       # the sum of a stretched value: count copies
            inner = x.args[0]
            copies = [i for i in summed if i not in inner.idx]
            out = self.reduce(inner, [i for i in summed if i in inner.idx])
            if copies:
                out = self.apply(sp.Mul, self.const(self.size_of(copies)), out)
            return self.spread(out, set(x.idx) - set(summed))
        return self._intern(Reduce, (x,), self.order(set(x.idx) - set(summed)), summed)

    def spread(self, x, idx):
        idx = self.order(idx)
        if idx == x.idx:
            return x
        return self._intern(Spread, (x,), idx, idx)

    def size_of(self, indices):
        out = sp.S.One
        for i in indices:
            lo, hi = self.ranges[i]
            out *= hi - lo + 1
        return out

    def apply(self, op, *args, extra=None):
        """An elementwise op; its indices are the union of its arguments'."""
        simpler = _fold(self, op, args)
        if simpler is not None:
            return simpler
        idx = self.order(s for a in args for s in a.idx)
        return self._intern(op, tuple(args), idx, extra)

    def add(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = self.apply(sp.Add, out, x)
        return out

    # --- renaming bound indices (alpha-equivalence) -----------------------------------------

    def rename(self, x, mapping):
        """``x`` with index symbols renamed by ``mapping`` (rebuilt, so equal results share
        their nodes)."""
        if not mapping or not (set(mapping) & set(_mentioned(x))):
            return x
        args = [self.rename(a, mapping) for a in x.args]
        op, extra = x.op, x.extra
        if op is Access:
            base, indices = extra
            return self.access(base, tuple(sp.sympify(e).xreplace(mapping) for e in indices))
        if op is Reduce:
            return self.reduce(args[0], [mapping.get(i, i) for i in extra])
        if op is LSE:
            summed = self.order(mapping.get(i, i) for i in extra)
            return self._intern(LSE, (args[0],), self.order(set(args[0].idx) - set(summed)), summed)
        if op is Spread:
            return self.spread(args[0], [mapping.get(i, i) for i in extra])
        if op is Delta:
            return self.delta(*[mapping.get(i, i) for i in extra])
        if op is Position:
            return self._intern(Position, (), (mapping.get(extra, extra),), mapping.get(extra, extra))
        if op is Const:
            return x
        return self.apply(op, *args, extra=extra)

    def combine(self, parts):
        """The sum of adjoint parts, merging sums over differently named but equally ranged
        indices: sum_s A(s) F(s) + sum_s2 B(s2) F(s2) = sum_s (A(s) + B(s)) F(s), so a
        contraction that appears twice (attention's scores over s and s2) is done once."""
        merged = []
        for p in parts:
            for k, q in enumerate(merged):
                both = self._merge(q, p)
                if both is not None:
                    merged[k] = both
                    break
            else:
                merged.append(p)
        return self.add(*merged)

    def _merge(self, a, b):
        if a.op is not Reduce or b.op is not Reduce or len(a.extra) != len(b.extra):
            return None
        if a.idx != b.idx:
            return None
        mapping = {}
        for i, j in zip(a.extra, b.extra):
            if self.ranges.get(i) != self.ranges.get(j) or (i != j and not _capture_free(b, j, i)):
                return None
            if i != j:
                mapping[j] = i
        inner = self.rename(b.args[0], mapping)
        fa, fb = _flat(a.args[0]), _flat(inner)
        common = [f for f in fa if f in fb]
        if not common:
            return None
        f = common[-1]
        rest_a = [x for x in fa if x is not f] or [self.const(1)]
        rest_b = [x for x in fb if x is not f] or [self.const(1)]
        left = rest_a[0]
        for x in rest_a[1:]:
            left = self.apply(sp.Mul, left, x)
        right = rest_b[0]
        for x in rest_b[1:]:
            right = self.apply(sp.Mul, right, x)
        return self.reduce(self.apply(sp.Mul, self.apply(sp.Add, left, right), f), a.extra)


def _mentioned(x, memo=None):
    """Every index symbol used anywhere below ``x`` (free or bound)."""
    out = set(x.idx)
    if x.op in (Reduce, LSE):
        out |= set(x.extra)
    for a in x.args:
        out |= _mentioned(a)
    return out


def _capture_free(x, old, new):
    """Whether renaming index ``old`` to ``new`` in the terms of the sum ``x`` is safe: ``new``
    is not free in them, and no sum over ``new`` inside them has ``old`` in its terms."""
    if new in x.args[0].idx:            # ``new`` free in the terms: renaming would clash
        return False
    stack, seen = [x.args[0]], set()
    while stack:
        n = stack.pop()
        if n.id in seen:
            continue
        seen.add(n.id)
        if n.op in (Reduce, LSE) and new in n.extra and old in n.args[0].idx:
            return False
        stack.extend(n.args)
    return True


def _flat(n):
    """The factors of a chain of products."""
    if n.op is sp.Mul:
        return _flat(n.args[0]) + _flat(n.args[1])
    return [n]


def _constant(n):
    """The number a constant (or a constant stretched over indices) holds, else None."""
    if n.op is Spread:
        n = n.args[0]
    return n.value if n.is_const else None


def _fold(g, op, args):
    """Constant folding and x+0, x*1, x*0, x**1 (the index graph's simplifications)."""
    if all(a.is_const for a in args) and op is not sp.Piecewise:
        try:
            value = op(*[a.value for a in args])
        except (TypeError, ValueError, ZeroDivisionError):
            return None
        if value.is_number and not value.has(sp.zoo, sp.nan):
            return g.const(value)
        return None
    if op is sp.Add:
        a, b = args
        if a.is_const and a.value == 0:
            return b if set(a.idx) <= set(b.idx) else None
        if b.is_const and b.value == 0:
            return a
    if op is sp.Mul:
        a, b = args
        for x, y in ((a, b), (b, a)):
            value = _constant(x)
            if value == 1:
                return g.spread(y, set(y.idx) | set(x.idx))
            if value == 0:
                return g.spread(g.const(0), set(x.idx) | set(y.idx))
            if value is not None and _constant(y) is not None:
                return g.spread(g.const(value * _constant(y)), set(x.idx) | set(y.idx))
        if b.is_const and not a.is_const:
            return g.apply(sp.Mul, b, a)
    if op is sp.Pow and args[1].is_const and args[1].value == 1:
        return args[0]
    return None
