"""A normal form for expressions written with indices, so equal sums can be seen to be equal.

``index_normal(e)`` applies only identities of finite sums over ranges that do not depend
on each other, each exact for every size: a Sum of an Add is the Add of Sums (linearity);
a factor free of the summed indices moves out, and an index the terms do not use counts
its range; a product of sums inside a sum is one sum over all their indices
(Σ_a f_a Σ_b g_ab = Σ_a Σ_b f_a g_ab), so each term is one multi-index Sum of a product;
and its indices are renamed ``_sK, _sK+1, ...`` in the order (among all orders) that
prints first, past every ``_s`` name already inside, so nothing is captured. Sums under
a function (log Σ exp) are normalized inside it. So ``index_normal(a - b) == 0`` proves
a == b; the converse does not hold (Σ_j δ_ij x_j is not resolved, a triangular sum is
left as written, ...).

>>> i, k, n = sp.symbols("i k n", integer=True)
>>> x, y = sp.IndexedBase("x"), sp.IndexedBase("y")
>>> a = 2 * sp.Sum(x[i] * (y[i] + 1), (i, 0, n - 1)) / n
>>> b = sp.Sum(2 * x[k] * y[k] / n + 2 * x[k] / n, (k, 0, n - 1))
>>> index_normal(a - b)
0
"""

from __future__ import annotations

import itertools

import sympy as sp

__all__ = ["index_normal", "index_zero"]

_PREFIX = "_s"
MAX_PERMUTED = 5          # indices of one sum whose orders are all tried (5! = 120)


def index_zero(d, scalar_zero=None) -> bool:
    """Whether the normal form of ``d`` is 0 (then ``d`` is 0 for every size and every
    array); False proves nothing. With ``scalar_zero`` (a proof that a scalar expression is
    identically 0, Sums in it taken as unknowns), the terms left over are grouped by their
    Sum's limits, and a group whose summed terms ``scalar_zero`` proves 0 vanishes:
    Σ_L f + Σ_L g = Σ_L (f + g), and a Sum of 0 is 0."""
    d = sp.sympify(d)
    if not d.has(sp.Sum) or any(s.name.startswith(_PREFIX) for s in d.atoms(sp.Symbol)):
        return False
    normal = index_normal(d)
    if normal == 0:
        return True
    if scalar_zero is None:
        return False
    groups = {}
    for term in sp.Add.make_args(normal):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        key = sums[0].limits if len(sums) == 1 else None if not sums else False
        if key is False:
            return False                       # a product of sums: no grouping applies
        body = term if key is None else (term / sums[0]) * sums[0].function
        groups.setdefault(key, []).append(body)
    return all(scalar_zero(sp.Add(*bodies)) for bodies in groups.values())


def index_normal(e):
    """The normal form of ``e`` (see the module docstring)."""
    return _expand(_normal(sp.sympify(e)))


def _expand(e):
    """Products of sums multiplied out; exp and log left whole (SymPy's expand would turn
    exp(Sum) into a Product)."""
    return sp.expand(e, power_exp=False, power_base=False, log=False)


def _normal(e):
    if isinstance(e, sp.Sum):
        limits = [tuple(lim) for lim in e.limits]
        bound = {lim[0] for lim in limits}
        if any((lo.free_symbols | hi.free_symbols) & bound for _, lo, hi in limits):
            return e                             # a triangular sum: left as written
        return sp.Add(*[_term(t, limits) for t in sp.Add.make_args(_expand(_normal(e.function)))])
    if not e.args or isinstance(e, (sp.Indexed, sp.Symbol)):
        return e
    return e.func(*[_normal(a) for a in e.args])


def _term(term, limits):
    """Σ over ``limits`` of one expanded term, as coefficient * one canonical Sum."""
    bound = {lim[0] for lim in limits}
    outside, inside = [], []
    for f in sp.Mul.make_args(term):
        (inside if f.free_symbols & bound else outside).append(f)
    count = sp.Mul(*[hi - lo + 1 for i, lo, hi in limits
                     if not any(i in f.free_symbols for f in inside)])
    limits = [lim for lim in limits if any(lim[0] in f.free_symbols for f in inside)]
    if not inside:
        return sp.Mul(*outside) * count
    factors = []
    for f in _repeated(inside):                   # hoist the sums among the factors
        while isinstance(f, sp.Sum) and _hoistable(f, limits):
            fresh = {lim[0]: sp.Dummy(lim[0].name, integer=True) for lim in f.limits}
            limits += [(fresh[i], lo, hi) for i, lo, hi in f.limits]
            f = f.function.xreplace(fresh)
        factors.extend(sp.Mul.make_args(f))
    body = sp.Mul(*factors)
    if sp.Add.make_args(_expand(body)) != (body,):     # hoisting made a sum of terms
        return sp.Mul(*outside) * count * _normal(sp.Sum(body, *limits))
    return sp.Mul(*outside) * count * _canonical(body, limits)


def _repeated(factors):
    """Factors with each power Sum**p (p a whole number) written as p factors."""
    out = []
    for f in factors:
        if isinstance(f, sp.Pow) and isinstance(f.base, sp.Sum) and f.exp.is_Integer \
                and 0 < f.exp <= 4:
            out.extend([f.base] * int(f.exp))
        else:
            out.append(f)
    return out


def _hoistable(f, limits):
    """A Sum factor whose ranges use none of the indices bound around it or in it (so its
    limits and the outer ones may be listed in any order)."""
    bound = {lim[0] for lim in limits} | {lim[0] for lim in f.limits}
    return all(not ((lo.free_symbols | hi.free_symbols) & bound) for _, lo, hi in f.limits)


def _canonical(body, limits):
    """Sum(body, *limits) with its indices renamed in the order that prints first."""
    renamed = {lim[0] for lim in limits}
    start = 1 + max([int(s.name[len(_PREFIX):]) for s in body.atoms(sp.Symbol) - renamed
                     if s.name.startswith(_PREFIX) and s.name[len(_PREFIX):].isdigit()] or [0])
    names = [sp.Symbol("%s%d" % (_PREFIX, start + k), integer=True) for k in range(len(limits))]
    orders = itertools.permutations(limits) if len(limits) <= MAX_PERMUTED else [limits]
    best = None
    for order in orders:
        mapping = {lim[0]: name for lim, name in zip(order, names)}
        candidate = sp.Sum(body.xreplace(mapping), *[(name, lo, hi) for (_, lo, hi), name
                                                     in zip(order, names)])
        key = sp.srepr(candidate)
        if best is None or key < best[0]:
            best = (key, candidate)
    return best[1]
