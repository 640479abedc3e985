"""verify(), step 2: exact and certified evaluation at one sample point.

Both sides are substituted with exact values (Rationals, integer dimensions,
matrices of Rationals) and evaluated by SymPy. Where the result is rational the
comparison is exact. Otherwise:

* the two sides *agree* when, at 60 digits, they differ by less than 1e-30 of
  their size (or the difference is zero to every precision we can reach);
* the relation is *violated* only when the sign of lhs - rhs is certified:
  ``evalf(strict=True)`` succeeds at two successive precisions (30, 60, 120,
  240 digits, each allowed DEPTH more working digits for cancellation) and both
  give the same sign and leading digits. A difference that is exactly zero but
  not syntactically so (catastrophic cancellation) never certifies, so it can
  never refute a true identity. Two sides that agree to 1e-30 are still
  refuted when their difference certifies (an exp(-1000)-sized error);
* a strict inequality fails where lhs - rhs is zero: exactly, or (on a tie that
  is not syntactic, Max(x, y) at x = y) when a cheap exact rewrite of the
  closed-form difference reaches 0.

The values themselves come from the one exact evaluator, ``exact.closed_form``.

``judge`` returns one of "ok", "violated", "unknown" (neither could be shown) or
"uncertified" (violated, but only on the values of an op registered without an mpmath
implementation, whose values are float64: that is never a certified refutation), or
raises ``Undefined`` when a side is not a finite real number there. This module is the
one place a sign, and so a refutation, is certified.
"""

from dataclasses import dataclass, replace
from fractions import Fraction

import mpmath
import sympy as sp

from .exact import Undefined, closed_form, float_only_ops

__all__ = ["Undefined", "Judgement", "evaluate", "shown", "certified_sign", "deep_sign",
           "sign_of", "compare_equal", "compare_order", "compare_loewner", "rational_psd",
           "exactly_zero", "judge", "PRECISIONS", "AGREE_DIGITS"]

PRECISIONS = (30, 60, 120, 240)
DEPTH = 600               # extra working digits a certified sign may use (cancellation)
AGREE_DIGITS = 60
RTOL = sp.Float("1e-30", AGREE_DIGITS)
ZERO_TOL = sp.Float("1e-45", AGREE_DIGITS)
SHOW_DIGITS = 30
BAD = (sp.nan, sp.zoo, sp.oo, -sp.oo)


@dataclass
class Judgement:
    state: str            # "ok", "violated", "unknown", "uncertified" (see judge)
    exact: bool           # decided in exact rational arithmetic
    lhs: object = None    # both sides at the point (closed form)
    rhs: object = None
    detail: str = ""      # where it fails: a matrix entry, a direction
    tie: bool = False     # violated: a strict inequality, lhs - rhs rewritten exactly to 0
    float_only: tuple = ()  # uncertified: the float64-only ops the violation rests on


# --- evaluation -------------------------------------------------------------------

def evaluate(expr, point, explicit):
    """expr at the point: an exact SymPy number or ImmutableMatrix; raises Undefined
    where a value is not a finite real number."""
    value = closed_form(expr, point, explicit, standard=True)
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix(value.applyfunc(_real_number))
    return _real_number(value)


def _real_part(f, digits):
    """The real part of an evalf result whose imaginary part is rounding noise, else None.

    Real values written through complex exponentials, (exp(I*x) - exp(-I*x))/(2*I),
    evaluate with an imaginary part at the level of the working precision.
    """
    re, im = f.as_real_imag()
    if not re.is_number or not re.is_finite:
        return None
    if im == 0:
        return re
    if abs(im) <= max(abs(re), sp.Float(1)) * sp.Float(10) ** (5 - digits):
        return re
    return None


def _real_number(v):
    """v itself when it is a finite real number; Undefined otherwise.

    An imaginary part at rounding level is noise only when it does not certify nonzero:
    sqrt(-10^-60) = 10^-30 i is small, but not real.
    """
    if v.is_Rational:
        return v
    if v.free_symbols or any(v.has(b) for b in BAD):
        raise Undefined("%s is not a finite real number" % v)
    f = v.evalf(SHOW_DIGITS)
    if _real_part(f, SHOW_DIGITS) is None:
        raise Undefined("%s is not a finite real number" % v)
    if f.as_real_imag()[1] != 0 and certified_sign(sp.im(v)) is not None:
        raise Undefined("%s is not real (its imaginary part is small but not zero)" % v)
    return v


def shown(v):
    """A value for the report: exact when rational, else a 30-digit Float."""
    if isinstance(v, sp.MatrixBase):
        return sp.ImmutableMatrix(v.applyfunc(shown))
    if v.is_Rational:
        return v
    f = v.evalf(SHOW_DIGITS)
    re = _real_part(f, SHOW_DIGITS)
    return f if re is None else re


# --- signs ------------------------------------------------------------------------

def _strict(v, digits, depth=None):
    """The real value of v to ``digits`` significant digits, or None when not certain.

    evalf may raise its working precision to ``digits + depth`` digits (default
    ``2 * digits``) to get through cancellation.
    """
    try:
        f = v.evalf(digits, strict=True, maxn=digits + (digits if depth is None else depth))
    except Exception:                          # PrecisionExhausted and evalf failures alike
        return None
    return f if f.is_Rational else _real_part(f, digits)


def _certify(d, precisions, depth=None):
    """+1 or -1 when strict evalf at two successive precisions agrees on the sign, else None."""
    previous, misses = None, 0
    for digits in precisions:
        re = _strict(d, digits, depth)
        if re is None or re == 0:
            previous, misses = None, misses + 1
            if depth is not None and misses == 2:      # more digits will not help
                return None
            continue
        misses = 0
        if previous is not None:
            last, last_digits = previous
            if (re > 0) == (last > 0) and abs(re - last) <= abs(re) * sp.Float(10) ** (5 - last_digits):
                return 1 if re > 0 else -1
        previous = (re, digits)
    return None


def _estimate(d):
    """A plain 60-digit evalf of d (not certified), or None when evalf fails."""
    try:
        return d.evalf(AGREE_DIGITS)
    except Exception:
        return None


def _resolved(f):
    """True when a plain evalf result is a real value, not noise at its working precision."""
    return isinstance(f, sp.Float) and bool(f._mpf_[1]) and f._prec >= 20


def deep_sign(d, estimate=None):
    """The certified sign with up to DEPTH extra working digits, tried only when a plain
    evalf already resolves d to a nonzero value (an exact zero evaluates to noise)."""
    estimate = _estimate(d) if estimate is None else estimate
    if estimate is None or not _resolved(estimate):
        return None
    return _certify(d, PRECISIONS, DEPTH)


def certified_sign(d, estimate=None):
    """+1 or -1 when the sign of the closed-form real number d is certain, else None."""
    return _certify(d, PRECISIONS) or deep_sign(d, estimate)


def sign_of(d, scale):
    """(sign, exact) of a real number: sign is 1, -1, 0 (zero to all precision) or None."""
    if d.is_Rational:
        return (1 if d > 0 else -1 if d < 0 else 0), True
    sign = _certify(d, PRECISIONS)
    if sign is not None:
        return sign, False
    estimate = _estimate(d)
    sign = deep_sign(d, estimate)
    if sign is not None:
        return sign, False
    if estimate is not None and estimate.is_number and abs(estimate) <= ZERO_TOL * scale:
        return 0, False
    return None, False


def _size(*vals):
    return max([abs(v.evalf(AGREE_DIGITS)) for v in vals] + [sp.S.One], key=float)


DISCONTINUOUS = (sp.sign, sp.Heaviside, sp.floor, sp.ceiling, sp.frac, sp.Piecewise)


def compare_equal(L, R):
    """(state, exact) for L == R; the order of checks keeps true identities cheap.

    Agreement at 60 digits uses strict evaluations of both sides, so two sides
    that SymPy could not evaluate accurately never "agree" by accident. Sides
    that agree are still told apart when their difference certifies nonzero
    (evalf then reaches a tiny difference through the cancellation); not where
    a discontinuous function is left unevaluated (a tie SymPy cannot decide).
    """
    d = L - R
    if d.is_Rational:
        return ("ok" if d == 0 else "violated"), L.is_Rational and R.is_Rational
    Lf, Rf = _strict(L, AGREE_DIGITS), _strict(R, AGREE_DIGITS)
    if Lf is not None and Rf is not None and abs(Lf - Rf) <= RTOL * max(abs(Lf), abs(Rf)):
        tiny = not d.has(*DISCONTINUOUS) and deep_sign(d) is not None
        return ("violated" if tiny else "ok"), False
    sign, _ = sign_of(d, _size(L, R))
    return {None: "unknown", 0: "ok"}.get(sign, "violated"), False


def exactly_zero(d):
    """True when a cheap exact rewrite of the closed-form number d reaches 0."""
    steps = (sp.expand, lambda e: sp.cancel(sp.together(e)),
             lambda e: sp.expand(sp.expand_log(sp.expand(e), deep=True)),
             lambda e: sp.expand(sp.expand_log(sp.powsimp(sp.expand(e.rewrite(sp.exp))), deep=True)))
    for step in steps:
        try:
            if step(d) == 0:
                return True
        except Exception:                      # a failed rewrite proves nothing
            continue
    return False


def compare_order(L, R, relation):
    """(state, exact, tie) for L <rel> R with an inequality relation.

    ``tie`` marks a strict inequality refuted because lhs - rhs rewrote exactly to 0.
    """
    d = L - R if relation in (">=", ">") else R - L
    sign, exact = sign_of(d, _size(L, R))
    if sign is None:
        return "unknown", exact, False
    if sign == 0 and relation in ("<", ">"):
        if exact:
            return "violated", True, False
        return ("violated", False, True) if exactly_zero(d) else ("unknown", False, False)
    return ("ok" if sign >= 0 else "violated"), exact, False


# --- positive semidefiniteness ------------------------------------------------------

def rational_psd(S, strict=False):
    """Exact test that a symmetric matrix of Rationals is PSD (PD when strict), by LDL^T."""
    rows = [[Fraction(int(v.p), int(v.q)) for v in S.row(i)] for i in range(S.rows)]
    while rows:
        a, head = rows[0][0], rows[0]
        if a < 0 or (a == 0 and (strict or any(head))):
            return False
        rows = [[r[j] - (r[0] * head[j] / a if a else 0) for j in range(1, len(r))] for r in rows[1:]]
    return True


def _witness(S):
    """A rational direction along the most negative eigenvalue of S, and that eigenvalue."""
    with mpmath.workdps(AGREE_DIGITS):
        M = mpmath.matrix([[mpmath.mpf(str(v.evalf(AGREE_DIGITS))) for v in S.row(i)]
                           for i in range(S.rows)])
        E, Q = mpmath.eigsy(M)
        k = min(range(S.rows), key=lambda i: E[i])
        top = max(abs(Q[i, k]) for i in range(S.rows))
        w = sp.ImmutableMatrix([sp.Rational(Fraction(float(Q[i, k] / top)).limit_denominator(10**6))
                                for i in range(S.rows)])
        return w, sp.Float(str(E[k]), SHOW_DIGITS)


def compare_loewner(L, R, relation):
    """(state, exact, detail) for the Loewner order: the symmetric part of L - R is PSD."""
    D = L - R if relation in (">=", ">") else R - L
    S = (D + D.T) / 2
    strict = relation in ("<", ">")
    word = "positive definite" if strict else "positive semidefinite"
    name = "lhs - rhs" if relation in (">=", ">") else "rhs - lhs"
    if all(v.is_Rational for v in S):
        if rational_psd(S, strict):
            return "ok", True, ""
        w, low = _witness(S)
        return "violated", True, "%s is not %s (exact LDL^T test; smallest eigenvalue ~ %s)" % (
            name, word, sp.Float(low, 6))
    w, low = _witness(S)
    q = (w.T * S * w)[0, 0]
    sign, exact = sign_of(q, _size(*S))
    if sign is not None and (sign < 0 or (sign == 0 and strict and exact)):
        return "violated", exact, "v^T (%s) v = %s < 0 for v = %s (smallest eigenvalue ~ %s)" % (
            name, shown(q), list(w), sp.Float(low, 6))
    if low > -ZERO_TOL * _size(*S) and not (strict and low <= ZERO_TOL * _size(*S)):
        return "ok", False, ""
    return "unknown", False, ""


# --- one point ------------------------------------------------------------------------

def judge(problem, point):
    """Evaluate both sides at ``point`` and decide the relation there (see module doc)."""
    verdict = _judge(problem, point)
    if verdict.state == "violated" and not verdict.exact and not verdict.tie:
        names = float_only_ops(verdict.lhs - verdict.rhs)
        if names:
            return replace(verdict, state="uncertified", float_only=tuple(names))
    return verdict


def _judge(problem, point):
    explicit = problem.has_matrices
    for guard in problem.guards:
        evaluate(guard, point, explicit)
    L, R = evaluate(problem.lhs, point, explicit), evaluate(problem.rhs, point, explicit)
    if problem.kind == "scalar":
        tie = False
        if problem.relation == "==":
            state, exact = compare_equal(L, R)
        else:
            state, exact, tie = compare_order(L, R, problem.relation)
        return Judgement(state, exact, L, R, tie=tie)
    if L.shape != R.shape:
        raise Undefined("the sides have shapes %s and %s at this point" % (L.shape, R.shape))
    if problem.relation != "==" and problem.order == "loewner":
        state, exact, detail = compare_loewner(L, R, problem.relation)
        return Judgement(state, exact, L, R, detail)
    states, all_exact, tie = [], True, False
    for i in range(L.rows):
        for j in range(L.cols):
            if problem.relation == "==":
                state, exact = compare_equal(L[i, j], R[i, j])
            else:
                state, exact, tie = compare_order(L[i, j], R[i, j], problem.relation)
            all_exact = all_exact and exact
            if state == "violated":
                detail = "entry (%d, %d): lhs = %s, rhs = %s" % (i, j, shown(L[i, j]), shown(R[i, j]))
                return Judgement("violated", exact, L, R, detail, tie)
            states.append(state)
    return Judgement("unknown" if "unknown" in states else "ok", all_exact, L, R)
