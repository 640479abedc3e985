"""Index notation at concrete sizes: the arrays, sizes and free indices of an expression
written with ``Sum`` over ``Indexed`` reads, and its value once they are given.

``index_symbols`` sorts the symbols: IndexedBases (arrays, with the rank they are read
at), sizes (free symbols in the limits of a Sum: n, d), free indices (free symbols inside
an index: the j of a gradient d L / d w[j]). At concrete sizes, ``written_out`` expands
every Sum (so each read has integer indices); ``free_index_ranges`` says which values a
free index may take (the axis it indexes has the length the other reads give it), and
``array_shapes`` how long each array must be for every read. ``substitute_reads`` puts
the arrays' entries in.

>>> i, j, n = sp.symbols("i j n", integer=True)
>>> x = sp.IndexedBase("x")
>>> e = sp.Sum(x[i] * x[j], (i, 0, n - 1))
>>> index_symbols([e])
({x: 1}, [n], [j])
>>> free_index_ranges([e], {n: 3})
{j: (0, 2)}
>>> array_shapes([e], {n: 3, j: 1})
{x: (3,)}
"""

from __future__ import annotations

import sympy as sp

from .exact import Undefined

__all__ = ["has_indices", "index_symbols", "written_out", "free_index_ranges", "array_shapes",
           "substitute_reads", "labels", "UNCONSTRAINED"]

UNCONSTRAINED = (0, 2)       # values of a free index no read bounds (the array grows to fit)


def has_indices(expr) -> bool:
    """Whether an expression reads an IndexedBase."""
    return bool(sp.sympify(expr).atoms(sp.Indexed))


def index_symbols(exprs):
    """({IndexedBase: rank}, sizes, free indices) of the expressions, each list sorted."""
    bases, in_limits, in_indices, free, labels = {}, set(), set(), set(), set()
    for e in exprs:
        e = sp.sympify(e)
        free |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
        labels |= {b.label for b in e.atoms(sp.IndexedBase)}
        for node in sp.preorder_traversal(e):
            if isinstance(node, sp.Indexed):
                bases.setdefault(node.base, len(node.indices))
                for ix in node.indices:
                    in_indices |= sp.sympify(ix).free_symbols
            elif isinstance(node, sp.KroneckerDelta):
                for a in node.args:
                    in_indices |= a.free_symbols
            elif isinstance(node, (sp.Sum, sp.Product)):
                for limit in node.limits:
                    for bound in limit[1:]:
                        in_limits |= sp.sympify(bound).free_symbols
    free -= labels
    indices = sorted(free & in_indices, key=sp.default_sort_key)
    sizes = sorted((free & in_limits) - set(indices), key=sp.default_sort_key)
    return dict(sorted(bases.items(), key=lambda kv: sp.default_sort_key(kv[0]))), sizes, indices


def labels(exprs) -> set:
    """The label Symbols of the IndexedBases in ``exprs`` (SymPy counts them as free)."""
    return {b.label for e in exprs for b in sp.sympify(e).atoms(sp.IndexedBase)}


def written_out(expr, values: dict):
    """expr with the symbols of ``values`` substituted (bound variables are left alone) and
    every Sum (and Product) expanded term by term, outermost first; raises Undefined when a
    range is not a pair of integers then."""
    scalars = {k: sp.sympify(v) for k, v in values.items() if isinstance(k, sp.Symbol)}
    return _expand(sp.sympify(expr), scalars)


def _expand(e, env):
    """``e`` written out with the symbols in ``env`` given values: one walk, each Sum's
    index bound in the environment of its terms (a Sum that binds a name again shadows it),
    values put in only at the leaves (no subs of whole subtrees, which cost 10 s a claim)."""
    if isinstance(e, (sp.Sum, sp.Product)):
        return _limits(e, list(e.limits), env)
    if isinstance(e, sp.Symbol):
        return env.get(e, e)
    if isinstance(e, sp.Indexed):
        indices = [sp.sympify(ix).xreplace(env) for ix in e.indices]
        return e.base[tuple(indices)]
    if not e.args:
        return e
    args = [_expand(a, env) for a in e.args]
    return e.func(*args) if any(x is not y for x, y in zip(args, e.args)) else e


def _limits(e, limits, env):
    """The terms of ``e`` over its ``limits`` (the last is the outermost) in ``env``."""
    if not limits:
        return _expand(e.function, env)
    (s, lo, hi), rest = limits[-1], limits[:-1]
    lo, hi = sp.sympify(lo).xreplace(env), sp.sympify(hi).xreplace(env)
    if not (lo.is_Integer and hi.is_Integer) or hi < lo - 1:
        raise Undefined("the %s over %s runs from %s to %s, not a range of integers here"
                        % (type(e).__name__.lower(), s, lo, hi))
    terms = [_limits(e, rest, {**env, s: sp.Integer(k)}) for k in range(int(lo), int(hi) + 1)]
    return sp.Add(*terms) if isinstance(e, sp.Sum) else sp.Mul(*terms)


def _reads(exprs, values):
    out = []
    for e in exprs:
        out += list(written_out(e, values).atoms(sp.Indexed))
    return out


def _lengths(reads):
    """{(base, axis): length} from the reads whose index there is an integer."""
    out = {}
    for r in reads:
        for axis, ix in enumerate(r.indices):
            if sp.sympify(ix).is_Integer:
                key = (r.base, axis)
                out[key] = max(out.get(key, 0), int(ix) + 1)
    return out


def free_index_ranges(exprs, sizes: dict) -> dict:
    """{free index: (lo, hi)}: the values it may take at these sizes. A read x[..., j + c, ...]
    bounds j by the length the other reads give that axis; an index no read bounds gets
    UNCONSTRAINED. (An empty range, lo > hi, means no admissible value.)"""
    _, _, free = index_symbols(exprs)
    reads = _reads(exprs, sizes)
    lengths = _lengths(reads)
    ranges = {j: None for j in free}
    for r in reads:
        for axis, ix in enumerate(r.indices):
            ix = sp.sympify(ix)
            mine = ix.free_symbols & set(free)
            if len(mine) != 1 or (r.base, axis) not in lengths:
                continue
            (j,) = mine
            c = ix - j
            if c.free_symbols or not c.is_Integer:
                continue
            lo, hi = -int(c), lengths[(r.base, axis)] - 1 - int(c)
            old = ranges[j]
            ranges[j] = (lo, hi) if old is None else (max(old[0], lo), min(old[1], hi))
    return {j: (UNCONSTRAINED if r is None else r) for j, r in ranges.items()}


def array_shapes(exprs, values: dict) -> dict:
    """{IndexedBase: shape}: long enough for every read at these sizes and free indices;
    raises Undefined when a read has a negative or non-integer index."""
    bases, _, _ = index_symbols(exprs)
    reads = _reads(exprs, values)
    for r in reads:
        for ix in r.indices:
            if not (sp.sympify(ix).is_Integer and ix >= 0):
                raise Undefined("%s is not a read at nonnegative integer indices" % (r,))
    lengths = _lengths(reads)
    return {b: tuple(max(1, lengths.get((b, a), 1)) for a in range(rank))
            for b, rank in bases.items()}


def substitute_reads(e, arrays: dict):
    """e (written out) with each read x[2, 0] replaced by its entry of ``arrays[x]``."""
    table = {}
    for r in e.atoms(sp.Indexed):
        a = arrays.get(r.base)
        if a is None:
            raise Undefined("no values for %s" % r.base)
        idx = tuple(int(v) if sp.sympify(v).is_Integer else -1 for v in r.indices)
        if len(idx) != len(a.shape) or any(not 0 <= v < s for v, s in zip(idx, a.shape)):
            raise Undefined("%s is outside the sampled array of shape %s" % (r, a.shape))
        table[r] = a[idx]
    return e.xreplace(table)
