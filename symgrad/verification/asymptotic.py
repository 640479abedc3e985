"""verify(), step 5d: the behaviour at +-infinity (and at an open end) decides the sign far out.

Sampling reaches |x| = 10^12 (log-scaled draws and ``roots.far``). Beyond that, for each
sampled real symbol s with an unbounded direction or an open end (the other symbols at an
admissible point), SymPy's limit of the oriented difference d (the claim is d >= 0) as s
goes there is computed in a forked child, on a time budget. A negative limit says d < 0
somewhere out there: the candidates then reach s = 10^300 (or within 10^-300 of the end);
otherwise they stop at 10^100. Each candidate is judged exactly or in certified balls by
the caller, so the limit only tells where to look.

>>> x = sp.Symbol("x", real=True)
>>> _limit_sign(10**20 * sp.log(1 + x) - x, x, sp.oo, "-")
'negative'
"""

from __future__ import annotations

import time

import sympy as sp

from .prove import run_forked
from .sample import complete_point, draw_point, inside, rational_end

NEAR_POWERS = (13, 15, 20, 30, 50, 100)
FAR_POWERS = (150, 200, 300)
LIMIT_SECONDS = 0.5
SECONDS = 1.0               # the most this phase may take of the search's time


def _limit_sign(f, s, target, direction):
    """"negative", "positive", "zero" or None: the sign of the limit of f as s -> target."""
    L = sp.limit(f, s, target, direction)
    if L is sp.S.NegativeInfinity or L.is_negative:
        return "negative"
    if L is sp.S.Infinity or L.is_positive:
        return "positive"
    return "zero" if L == 0 else None


def _directions(box):
    """(target, SymPy direction, step sign) for each way s can go far: +oo, -oo, open ends."""
    out = []
    if box.hi is None:
        out.append((sp.oo, "-", 1))
    if box.lo is None:
        out.append((-sp.oo, "+", -1))
    if box.lo is not None and box.lo_strict:
        out.append((rational_end(box.lo), "+", 1))
    if box.hi is not None and box.hi_strict:
        out.append((rational_end(box.hi), "-", -1))
    return out


def asymptotic_points(problem, rng, deadline):
    """Candidate points far beyond sampling's reach (see the module docstring)."""
    if problem.relation == "==" or problem.kind != "scalar" or problem.has_matrices \
            or problem.bases:
        return
    d = problem.lhs - problem.rhs if problem.relation in (">=", ">") else problem.rhs - problem.lhs
    d = d.xreplace(dict(problem.eliminated))
    deadline = min(deadline, time.monotonic() + SECONDS)
    for s in [v for v in problem.scalars if v not in problem.integers]:
        box = problem.intervals[s]
        for target, direction, step in _directions(box):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            base = draw_point(problem, rng, None)
            if base is None:
                continue
            others = {t: base[t] for t in problem.scalars if t is not s}
            finished, sign = run_forked(_limit_sign, (d.xreplace(others), s, target, direction),
                                        min(LIMIT_SECONDS, remaining))
            powers = NEAR_POWERS + (FAR_POWERS if sign == "negative" else ())
            end = box.lo if step > 0 else box.hi
            origin = rational_end(end) if end is not None else sp.S.Zero
            for k in powers:
                if target in (sp.oo, -sp.oo):
                    value = origin + step * sp.Integer(10)**k
                else:
                    value = target + step * sp.Rational(1, 10**k)
                if inside(value, box):
                    yield complete_point(problem, rng, {**others, s: value})
