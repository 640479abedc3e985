"""How far the reads of an array reach along each axis, and the axis length they imply.

A read ``x[i + c]`` with i in lo..hi touches positions lo + c .. hi + c (a window read
``x[i + k]`` the sum of both ranges). An array read several ways is as long as its
furthest read: ``w[i]`` and ``w[i + 1]`` with i in 0..n-2 make w n long. ``tops`` gives,
per axis, the last positions no other read provably passes (one when they all compare;
several when they do not, as n - 1 and d - 1). Sizes are solved from these
(``dimension_sources``), the callable checks them, and the gradient of a read that does
not span its whole axis is zero outside its reach (``derive/index_reverse.py``).

>>> i, n = sp.symbols("i n", integer=True)
>>> w = sp.IndexedBase("w")
>>> g = TGraph(); g.ranges[i] = (sp.Integer(0), n - 2)
>>> tops(g, [g.access(w, (i,)), g.access(w, (i + 1,))], w)
{0: [n - 1]}
"""

from __future__ import annotations

import sympy as sp

from .index_ir import Access, TGraph  # noqa: F401  (TGraph: the doctest)

__all__ = ["reach", "record", "node_reach", "guard_ranges", "tops", "furthest", "at_least",
           "dimension_sources"]


def reach(graph, e, guard=None):
    """(first, last) position an index expression touches, or None when one of its
    indices has no range (a free index of a gradient being differentiated again); ``guard``
    ({index: (lo, hi)}) narrows ranges, as a Piecewise branch's condition does."""
    e = sp.sympify(e)
    symbols = e.free_symbols
    if any(s not in graph.ranges for s in symbols):
        return None
    ranges = {s: (guard or {}).get(s) or graph.ranges[s] for s in symbols}
    first = sp.expand(e.xreplace({s: sp.sympify(ranges[s][0]) for s in symbols}))
    last = sp.expand(e.xreplace({s: sp.sympify(ranges[s][1]) for s in symbols}))
    return first, last


def record(graph, node, guard):
    """Note how far the read ``node`` reaches where it is lowered (widened over its uses)."""
    seen = graph.reaches.setdefault(node.id, {})
    for axis, e in enumerate(node.extra[1]):
        r = reach(graph, e, guard)
        if r is None:
            continue
        old = seen.get(axis)
        if old is None:
            seen[axis] = r
            continue
        first = old[0] if at_least(r[0], old[0]) else r[0] if at_least(old[0], r[0]) else None
        last = old[1] if at_least(old[1], r[1]) else r[1] if at_least(r[1], old[1]) else None
        full = reach(graph, e)
        seen[axis] = (full[0] if first is None else first, full[1] if last is None else last)


def node_reach(graph, node, axis):
    """(first, last) the read ``node`` touches along ``axis`` where its value is used."""
    r = graph.reaches.get(node.id, {}).get(axis)
    return r if r is not None else reach(graph, node.extra[1][axis])


def guard_ranges(graph, cond, outer):
    """{index: (lo, hi)}: ``outer`` narrowed by the bounds ``cond`` puts on bound indices
    (i >= 1, i <= n - 2, and their conjunctions); a bound that does not compare with the
    index's range is left out (the range stays as wide as it was)."""
    out = dict(outer)
    for c in sp.And.make_args(cond) if isinstance(cond, (sp.And, sp.Rel)) else ():
        if not isinstance(c, (sp.Ge, sp.Gt, sp.Le, sp.Lt)):
            continue
        lhs, rhs, kind = c.lhs, c.rhs, type(c)
        if not (isinstance(lhs, sp.Symbol) and lhs in graph.ranges):
            lhs, rhs = rhs, lhs
            kind = {sp.Ge: sp.Le, sp.Gt: sp.Lt, sp.Le: sp.Ge, sp.Lt: sp.Gt}[kind]
        if not (isinstance(lhs, sp.Symbol) and lhs in graph.ranges) or \
                rhs.free_symbols & set(graph.ranges):
            continue
        lo, hi = out.get(lhs) or graph.ranges[lhs]
        bound = rhs + (1 if kind is sp.Gt else -1 if kind is sp.Lt else 0)
        if kind in (sp.Ge, sp.Gt) and at_least(bound, lo):
            lo = sp.expand(bound)
        elif kind in (sp.Le, sp.Lt) and at_least(hi, bound):
            hi = sp.expand(bound)
        out[lhs] = (lo, hi)
    return out


def at_least(a, b):
    """Whether a >= b for every size (each at least 1, as a range needs one entry): their
    difference is linear in the sizes with whole coefficients >= 0 and is >= 0 at all 1."""
    diff = sp.expand(sp.sympify(a) - sp.sympify(b))
    symbols = diff.free_symbols
    coeffs = [diff.coeff(s) for s in symbols]
    if not all(c.is_Integer and c >= 0 for c in coeffs):
        return False
    if sp.expand(diff - sum(c * s for c, s in zip(coeffs, symbols))).free_symbols:
        return False
    return bool(diff.xreplace({s: sp.Integer(1) for s in symbols}) >= 0)


def tops(graph, nodes, base):
    """{axis: [last positions]}: the reaches of the reads of ``base`` among ``nodes`` that no
    other read provably passes (duplicates removed)."""
    label = base.label if isinstance(base, sp.IndexedBase) else base
    per_axis = {}
    for n in nodes:
        if n.op is not Access or not n.extra[1]:
            continue
        b = n.extra[0]
        if (b.label if isinstance(b, sp.IndexedBase) else b) != label:
            continue
        for axis, e in enumerate(n.extra[1]):
            if all(q in graph.ranges for q in sp.sympify(e).free_symbols):
                per_axis.setdefault(axis, []).append(node_reach(graph, n, axis)[1])
    out = {}
    for axis, lasts in per_axis.items():
        kept = []
        for t in lasts:
            if any(at_least(u, t) and not at_least(t, u) for u in lasts):
                continue
            if not any(at_least(u, t) and at_least(t, u) for u in kept):
                kept.append(t)
        out[axis] = kept
    return out


def furthest(graph, nodes, base):
    """{axis: last position of ``base``'s axis} when every read compares (else that axis is
    left out); a declared shape (``IndexedBase('w', shape=(n,))``) wins."""
    shape = getattr(base, "shape", None)
    if shape is not None:
        return {axis: sp.sympify(s) - 1 for axis, s in enumerate(shape)}
    return {axis: t[0] for axis, t in tops(graph, nodes, base).items() if len(t) == 1}


def dimension_sources(graph, inputs):
    """{dimension symbol: (input, axis, offset)} in solving order: D = shape[axis] - offset.

    An axis read at i (or i + k + c) holds positions up to hi_i (+ hi_k + c), so it is
    hi + 1 long; a dimension that appears alone (coefficient 1) in that bound, all other
    dimensions in it known, is read from that axis. Plain reads of arrays with more axes
    are preferred, so ``n`` comes from ``x`` rather than a slice of it. Only an axis's
    furthest read counts (``tops``): w read at i and i + 1 is one longer than i's range;
    an axis whose reads do not compare (n - 1 and d - 1) gives no size.
    """
    out = {}
    furthest = {b: tops(graph, graph.nodes, b) for b in inputs if isinstance(b, sp.IndexedBase)}
    by_base = {b.label if isinstance(b, sp.IndexedBase) else b: b for b in inputs}
    accesses = [n for n in graph.nodes if n.op is Access and n.extra[1]
                and n.extra[0].label in by_base]
    accesses.sort(key=lambda n: (sum(len(e.free_symbols) > 1 for e in n.extra[1]),
                                 -len(n.extra[1]), n.id))
    progress = True
    while progress:
        progress = False
        for n in accesses:
            base = by_base[n.extra[0].label]
            for axis, e in enumerate(n.extra[1]):
                if not e.free_symbols or not all(s in graph.ranges for s in e.free_symbols):
                    continue
                top = node_reach(graph, n, axis)[1]
                if furthest.get(base, {}).get(axis, [top]) != [top]:
                    continue                 # not this axis's end, or no provable end
                unknown = [D for D in top.free_symbols if D not in out]
                if len(unknown) == 1 and sp.expand(top - unknown[0]).free_symbols.isdisjoint(unknown) \
                        and top.coeff(unknown[0]) == 1:
                    out[unknown[0]] = (base, axis, sp.expand(top - unknown[0]) + 1)
                    progress = True
    return out
