"""verify(), step 5c: local minima of lhs - rhs, where an inequality may fail on a thin set.

A claim d >= 0 that fails only in a disk of radius 1e-3 around (sqrt 2, sqrt 3) is missed by
random rationals and by one-symbol slices alike. ``minimized_points`` runs a local
minimizer (SciPy's L-BFGS-B, inside the interval of each symbol) on d in float64 from
many starts in all the sampled symbols at once, and proposes, for each minimum where d
looks negative (or zero, for a strict relation), the rationals that round its coordinates
to 1, 2, 3, ... 17 significant digits. Float64 only locates; the caller judges each
proposed point exactly or in certified balls, so nothing here can refute on its own.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

import numpy as np
import sympy as sp

from ..numeric.deadline import check as check_deadline
from .sample import complete_point, draw_point, inside, log_scaled, rational_end

STARTS = 12                 # starts per claim (fewer when the deadline comes first)
SECONDS = 1.0               # the most the minimizer may take of the search's time
DIGITS = (17, 12, 9, 7, 6, 5, 4, 3, 2, 1)


def _objective(problem):
    """(float function of the sampled real symbols, those symbols) or None."""
    if problem.relation == "==" or problem.kind != "scalar" or problem.has_matrices \
            or problem.bases:
        return None
    symbols = [s for s in problem.scalars if s not in problem.integers]
    if not symbols or problem.integers & set(problem.scalars):
        return None
    d = problem.lhs - problem.rhs if problem.relation in (">=", ">") else problem.rhs - problem.lhs
    d = d.xreplace(dict(problem.eliminated))
    try:
        f = sp.lambdify(symbols, d, modules=["numpy", "scipy"])
    except Exception:                          # a function NumPy cannot print: no minimization
        return None

    def value(v):
        check_deadline()
        with np.errstate(all="ignore"):
            try:
                out = complex(f(*v))
            except Exception:                  # outside the domain, overflow: a wall
                return 1e300
        return out.real if math.isfinite(out.real) and abs(out.imag) <= 1e-9 * (1 + abs(out.real)) \
            else 1e300
    return value, symbols


def _bounds(problem, symbols):
    out = []
    for s in symbols:
        box = problem.intervals[s]
        lo, hi = rational_end(box.lo), rational_end(box.hi)
        out.append((None if lo is None else float(lo), None if hi is None else float(hi)))
    return out


def _start(problem, rng, symbols):
    point = draw_point(problem, rng, None)
    if point is None:
        return None
    values = [float(point[s]) for s in symbols]
    if rng.random() < 0.3:                     # sometimes far out or near 0 in one symbol
        k = rng.randrange(len(symbols))
        box = problem.intervals[symbols[k]]
        v = float(log_scaled(rng)) * (-1 if box.lo is None and rng.random() < 0.5 else 1)
        v += float(rational_end(box.lo)) if box.lo is not None else 0.0
        if inside(sp.Rational(v), box):
            values[k] = v
    return values


def _rounded(v, k):
    if v == 0 or not math.isfinite(v):
        return sp.Integer(0)
    e = math.floor(math.log10(abs(v)))
    scale = Fraction(10) ** (k - 1 - e)
    q = Fraction(round(Fraction(v) * scale)) / scale
    return sp.Rational(q.numerator, q.denominator)


def minimized_points(problem, rng, deadline):
    """Candidate points near local minima of the oriented difference (see module doc)."""
    made = _objective(problem)
    if made is None:
        return
    from scipy.optimize import minimize
    value, symbols = made
    bounds = _bounds(problem, symbols)
    strict = problem.relation in ("<", ">")
    seen = set()
    deadline = min(deadline, time.monotonic() + SECONDS)
    for _ in range(STARTS):
        if time.monotonic() > deadline:
            return
        x0 = _start(problem, rng, symbols)
        if x0 is None or value(x0) >= 1e300:
            continue
        try:
            res = minimize(value, np.array(x0), method="L-BFGS-B", bounds=bounds,
                           options={"maxiter": 60})
        except Exception:                      # the minimizer gave up: try another start
            continue
        if not (res.fun < 0 or (strict and res.fun <= 1e-12)):
            continue
        for k in DIGITS:
            values = {s: _rounded(float(v), k) for s, v in zip(symbols, res.x)}
            key = tuple(values[s] for s in symbols)
            if key in seen or not all(inside(values[s], problem.intervals[s]) for s in symbols):
                continue
            seen.add(key)
            yield complete_point(problem, rng, values)
