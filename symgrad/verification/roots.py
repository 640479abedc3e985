"""verify(), step 5b: where an inequality may fail along one symbol (critical points).

With every other symbol fixed at a rational, the oriented difference d (the
claim is d >= 0, or d > 0) is a function f of one symbol s. If the claim fails
only on a thin set, that set lies around a zero of f, around a minimum of f (a
zero of f'), at an end of s's interval, or far out. ``slice_values`` finds
those places

* exactly when f is a rational function with rational coefficients: real root
  isolation of the numerators of f and f' (``Poly.intervals``, to 1e-40);
* numerically otherwise: f and f' in mpmath at 50 digits on a grid reaching
  +-1000, then root finding on each sign change (Anderson, else bisection);

and yields rationals there: a rational root itself, else roundings to 1, 2, 3,
4, 6, ..., 32 significant digits (around a zero of f also the next rationals on
either side), simplest first, then the ends of the interval and the far
points (log-scaled: 30 ... 1000, then 10^4 ... 10^12). Only values where f looks violated (exactly, or at 50 digits) are
yielded; the caller judges each in full, so this module only proposes.
"""

import math
from fractions import Fraction

import mpmath
import sympy as sp

from ..numeric.deadline import check as check_deadline
from ..numeric.exact import substitute
from .sample import inside, rational_end

DIGITS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
EPS = sp.Rational(1, 10**40)
MAX_DEGREE = 40
WORK = 50                   # mpmath digits for the numeric path
BRACKETS = 8                # sign changes refined per line
LARGE = tuple(sp.Integer(v) for v in (30, 50, 70, 100, 200, 1000)) + tuple(
    sp.Integer(10)**k for k in range(4, 13)) + tuple(3 * sp.Integer(10)**k for k in range(3, 12))
NEAR = tuple(sp.Rational(1, 10**k) for k in (3, 8, 12, 20, 30)) + (sp.Rational(1, 2), sp.S.One)
STEPS = tuple(sp.Rational(k, 8) for k in range(1, 25)) + tuple(
    sp.Integer(v) for v in (4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50, 70, 100, 200, 500, 1000))


def ends(box):
    """An interval's closed ends and points just inside its ends."""
    out = []
    for end, strict, step in ((box.lo, box.lo_strict, 1), (box.hi, box.hi_strict, -1)):
        if end is not None:
            end = rational_end(end)
            out += ([] if strict else [end]) + [end + step * t for t in NEAR]
    return [v for v in out if inside(v, box)]


def far(box):
    """Points of large magnitude in the interval's unbounded directions."""
    out = []
    if box.hi is None:
        out += [(rational_end(box.lo) if box.lo is not None else 0) + t for t in LARGE]
    if box.lo is None:
        out += [(rational_end(box.hi) if box.hi is not None else 0) - t for t in LARGE]
    return out


def _grid(box):
    lo, hi = rational_end(box.lo), rational_end(box.hi)
    if lo is not None and hi is not None:
        points = [lo + (hi - lo) * sp.Rational(j, 64) for j in range(65)]
    else:
        origin = lo if lo is not None else hi if hi is not None else sp.S.Zero
        points = [origin]
        points += [origin + t for t in STEPS] if hi is None else []
        points += [origin - t for t in STEPS] if lo is None else []
    return sorted({v for v in points + ends(box) if inside(v, box)})


# --- rational approximations ------------------------------------------------------------

def _rounded(m, k, shift=0):
    """The rational m rounded to k significant digits (then moved by ``shift`` units)."""
    if m == 0:
        return sp.Rational(shift, 10**k)
    with mpmath.workdps(30):
        e = int(mpmath.floor(mpmath.log10(abs(mpmath.mpf(m.p) / m.q))))
    scale = Fraction(10) ** (k - 1 - e)
    n = round(Fraction(m.p, m.q) * scale) + shift
    value = n / scale
    return sp.Rational(value.numerator, value.denominator)


def _approximations(roots):
    """Rationals near each (root, both sides?), simplest first across the roots."""
    out = []
    for root, both in roots:
        if root.q <= 10**6:
            out.append(root)
        out += [sp.Rational(Fraction(root.p, root.q).limit_denominator(q)) for q in (10, 1000)]
    for k in DIGITS:
        for root, both in roots:
            out += [_rounded(root, k, shift) for shift in ((0, -1, 1) if both else (0,))]
    return out


def _unique(values):
    seen = set()
    return [v for v in values if not (v in seen or seen.add(v))]


# --- exact: rational functions ---------------------------------------------------------

def _degree_bound(e, s, limit):
    """An upper bound on the degree in s of the numerator and denominator of the rational
    function e, read off its tree without expanding (above ``limit``: limit + 1)."""
    if not e.has(s):
        return 0
    if e == s:
        return 1
    if isinstance(e, sp.Pow) and e.exp.is_Integer:
        return min(limit + 1, abs(int(e.exp)) * _degree_bound(e.base, s, limit))
    if isinstance(e, (sp.Add, sp.Mul)):
        total = 0
        for a in e.args:
            total += _degree_bound(a, s, limit)   # a sum of fractions: degrees add up too
            if total > limit:
                return limit + 1
        return total
    return limit + 1                              # not a rational function of s


def degree_at_most(e, s, limit=MAX_DEGREE) -> bool:
    """Whether e is a rational function of s of degree at most ``limit`` (numerator plus
    denominator, bounded before anything is expanded or cancelled)."""
    return _degree_bound(e, s, limit) <= limit


def _rational_parts(f, s):
    try:
        if not degree_at_most(f, s) or not f.is_rational_function(s):
            return None
        num, den = sp.fraction(sp.cancel(sp.together(f)))
        P, Q = sp.Poly(num, s), sp.Poly(den, s)
    except (sp.PolynomialError, sp.GeneratorsNeeded, ValueError, TypeError):
        return None
    if not all(p.domain.is_ZZ or p.domain.is_QQ for p in (P, Q)) or \
            P.degree() + Q.degree() > MAX_DEGREE:
        return None
    return P, Q


def _exact_values(P, Q, box, strict):
    roots = []
    for poly, both in ((P.diff() * Q - P * Q.diff(), False), (P, True)):
        if poly.degree() >= 1:
            for (a, b), _ in poly.intervals(eps=EPS):
                roots.append((sp.Rational(a) if a == b else sp.Rational(a + b) / 2, both))
    for c in _unique(_approximations(roots) + ends(box) + far(box)):
        if inside(c, box) and Q.eval(c) != 0:
            v = P.eval(c) / Q.eval(c)
            if v < 0 or (strict and v == 0):
                yield c


# --- numeric: anything mpmath can evaluate ----------------------------------------------

def _real(fn, t):
    """fn(t) as a finite real mpf, or None."""
    check_deadline()
    try:
        v = fn(t if isinstance(t, mpmath.mpf) else mpmath.mpf(t.p) / t.q)
    except Exception:                          # outside the domain, or a name mpmath lacks
        return None
    if isinstance(v, mpmath.mpc):
        if abs(v.imag) > mpmath.mpf(10) ** (10 - WORK) * (1 + abs(v.real)):
            return None
        v = v.real
    if not isinstance(v, mpmath.mpf) or not mpmath.isfinite(v):
        return None
    return v


def _refine(fn, a, b):
    """A zero of fn between the rationals a and b (where fn changes sign), or None."""
    lo, hi = mpmath.mpf(a.p) / a.q, mpmath.mpf(b.p) / b.q
    f_lo = _real(fn, lo)
    try:
        r = mpmath.findroot(lambda t: _real(fn, t), (lo, hi), solver="anderson")
        if lo <= r <= hi:
            return r
    except Exception:                          # no convergence: bisect instead
        pass
    for _ in range(80):
        mid = (lo + hi) / 2
        f_mid = _real(fn, mid)
        if f_mid is None or f_lo is None:
            return None
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return (lo + hi) / 2


def _numeric_values(f, s, box, strict):
    try:
        F = sp.lambdify(s, f, "mpmath")
        G = sp.lambdify(s, sp.diff(f, s), "mpmath")
    except Exception:                          # a function mpmath does not know: no search
        return []
    grid = _grid(box)
    with mpmath.workdps(WORK):
        tol = mpmath.mpf(10) ** (20 - WORK)

        def fails(v):
            return v is not None and (v < 0 or (strict and abs(v) <= tol))
        fv = [_real(F, t) for t in grid]
        gv = [_real(G, t) for t in grid]
        brackets = []
        for vals, fn, both in ((gv, G, False), (fv, F, True)):
            for i in range(len(grid) - 1):
                a, b = vals[i], vals[i + 1]
                if a is not None and b is not None and (a > 0) != (b > 0) and fv[i] is not None \
                        and fv[i + 1] is not None:
                    brackets.append((both, min(fv[i], fv[i + 1]), i, fn))
        brackets.sort(key=lambda t: (t[0], t[1]))
        roots = []
        for both, _, i, fn in brackets[:BRACKETS]:
            r = _refine(fn, grid[i], grid[i + 1])
            if r is not None:
                roots.append((sp.Rational(mpmath.nstr(r, 40, min_fixed=-math.inf, max_fixed=math.inf)),
                              both))
        candidates = [t for t, v in zip(grid, fv) if fails(v)]
        candidates += _approximations(roots) + far(box)
        return [c for c in _unique(candidates) if inside(c, box) and fails(_real(F, c))]


def slice_values(d, s, others, box, strict):
    """Values of s (rationals in ``box``) where d, the other symbols at ``others``, may fail."""
    f = substitute(d, others, explicit=False)
    if s not in f.free_symbols or len(f.free_symbols) > 1:
        return []
    parts = _rational_parts(f, s)
    if parts is not None:
        return _exact_values(*parts, box, strict)
    return _numeric_values(f, s, box, strict)
