"""verify(), step 2: certified judgement at one sample point.

Both sides are substituted with exact values (Rationals, integer dimensions, matrices of
Rationals) and written as closed forms (``exact.closed_form``). Where lhs - rhs is
rational the comparison is exact. Otherwise its sign comes from Arb balls
(``enclose.py``): an enclosure of lhs - rhs that contains 0 is "not certified yet", so
the precision is raised, up to a cap that grows with the sizes the expression reaches;
past the cap nothing is refuted. So:

* ``==`` is *violated* only when the enclosure of lhs - rhs excludes 0; the sides
  *agree* ("ok") when, at the cap, it contains 0 and is within 1e-30 of their size;
* an inequality is *violated* only when the enclosure lies on the wrong side of 0; a
  strict inequality also fails on a tie when lhs - rhs is exactly 0 (rational, or a cheap
  exact rewrite of the closed form reaches 0);
* both sides, and every ``guard`` (a subexpression that must be real), must have finite
  real enclosures; a value that certainly is not real or not finite raises ``Undefined``.

Every decision that rests on a ball keeps its text (``Judgement.enclosure``), so a
refutation shows the enclosure it rests on. An op without an Arb evaluator (``missing``)
certifies nothing: its values come from a plain 60-digit evalf, and a violation seen on
them is "uncertified". This module is the one place a sign, and so a refutation, is
certified.
"""

from dataclasses import dataclass, replace
from fractions import Fraction

import mpmath
import sympy as sp

from .enclose import accurate_to, enclose, excludes_zero
from .exact import Undefined, closed_form
from .indices import substitute_reads, written_out
from .kinks import domain_guards

__all__ = ["Undefined", "Judgement", "evaluate", "shown", "certified_sign", "sign_of",
           "compare_equal", "compare_order", "compare_loewner", "rational_psd", "exactly_zero",
           "judge", "AGREE_DIGITS", "Sign"]

AGREE_DIGITS = 60
RTOL = sp.Float("1e-30", AGREE_DIGITS)
SHOW_DIGITS = 30
SHOW_BITS = 110            # a side is shown (and checked real) to about 33 digits
BAD = (sp.nan, sp.zoo, sp.oo, -sp.oo)


@dataclass
class Judgement:
    state: str            # "ok", "violated", "unknown", "uncertified" (see judge)
    exact: bool           # decided in exact rational arithmetic
    lhs: object = None    # both sides at the point (closed form)
    rhs: object = None
    detail: str = ""      # where it fails: a matrix entry, a direction
    tie: bool = False     # violated: a strict inequality, lhs - rhs rewritten exactly to 0
    missing: tuple = ()   # uncertified: the ops without a rigorous evaluator it rests on
    enclosure: str = ""   # the enclosure of lhs - rhs (or v^T S v) the decision rests on


@dataclass(frozen=True)
class Sign:
    """The sign of one closed-form real number: ``sign`` 1, -1, 0 (0 to the cap's
    precision, or exactly) or None; ``exact`` when rational; ``ball`` its enclosure."""

    sign: object
    exact: bool
    ball: object = None
    missing: tuple = ()


# --- values ------------------------------------------------------------------------------

def _finite_real(v):
    """v's enclosure to about 33 digits; Undefined where it certainly has no finite real value."""
    if v.is_Rational:
        return None
    if v.free_symbols or any(v.has(b) for b in BAD):
        raise Undefined("%s is not a finite real number" % v)
    return enclose(v, accurate_to(SHOW_BITS))


def _indexed(expr, point):
    """An expression with indices at a point with arrays: its Sums written out, its reads
    replaced by the arrays' entries (other symbols are left to closed_form)."""
    arrays = {k: v for k, v in point.items() if isinstance(k, sp.IndexedBase)}
    if not arrays:
        return expr
    try:
        return substitute_reads(written_out(expr, point), arrays)
    except (TypeError, ValueError, IndexError) as exc:
        raise Undefined(str(exc)) from exc


def evaluate(expr, point, explicit):
    """expr at the point: an exact SymPy number or ImmutableMatrix; raises Undefined where a
    value certainly is not a finite real number."""
    value = closed_form(_indexed(expr, point), point, explicit, standard=True)
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    for v in entries:
        _finite_real(v)
    return sp.ImmutableMatrix(value) if isinstance(value, sp.MatrixBase) else value


def shown(v):
    """A value for the report: exact when rational, else 30 digits read off a ball."""
    if isinstance(v, sp.MatrixBase):
        return sp.ImmutableMatrix(v.applyfunc(shown))
    if v.is_Rational:
        return v
    b = enclose(v, accurate_to(SHOW_BITS))
    if b.missing or not b.ball.is_finite():
        return v.evalf(SHOW_DIGITS)
    return sp.Float(b.ball.mid().str(SHOW_DIGITS + 5, radius=False), SHOW_DIGITS)


def _size(*vals):
    """max(|v|, 1) over the values, from their balls (1 where a value has no finite ball)."""
    out = 1.0
    for v in vals:
        if v.is_Rational:
            out = max(out, abs(float(v)))
            continue
        b = enclose(v, accurate_to(20))
        if b.ball.is_finite():
            out = max(out, float(abs(b.ball.mid())))
    return sp.Float(out, AGREE_DIGITS)


# --- signs --------------------------------------------------------------------------------

def _estimate(d):
    """A plain 60-digit evalf (not certified), or None."""
    try:
        f = d.evalf(AGREE_DIGITS)
    except Exception:                          # evalf failures of any kind: no estimate
        return None
    re, im = f.as_real_imag()
    return re if re.is_number and re.is_finite and abs(im) <= 1e-40 * (1 + abs(re)) else None


def sign_of(d, scale=1):
    """The Sign of of the closed-form real number d (see the module doc)."""
    if d.is_Rational:
        return Sign(1 if d > 0 else -1 if d < 0 else 0, True)
    b = enclose(d, excludes_zero)
    if b.missing:
        return Sign(None, False, b, b.missing)
    if b.sign is not None:
        return Sign(b.sign, False, b)
    if b.ball.is_finite() and b.ball.rad() <= float(RTOL) * float(scale):
        return Sign(0, False, b)            # 0 to the cap's precision: agreement, no proof
    return Sign(None, False, b)


def certified_sign(d):
    """+1 or -1 when an enclosure of the closed-form real number d excludes 0, else None."""
    v = sign_of(d)
    return v.sign if v.sign in (1, -1) and not v.missing else None


def _uncertified(d, wrong):
    """The state when d's sign rests on ops without a rigorous evaluator: "uncertified" if a
    plain evalf says the relation fails (``wrong(estimate)``), else "ok" or "unknown"."""
    estimate = _estimate(d)
    if estimate is None:
        return "unknown"
    return "uncertified" if wrong(estimate) else "ok"


def compare_equal(L, R):
    """(state, exact, Sign) for L == R."""
    d = L - R
    v = sign_of(d, _size(L, R))
    if v.missing:
        return _uncertified(d, lambda e: abs(e) > RTOL * _size(L, R)), False, v
    state = {None: "unknown", 0: "ok"}.get(v.sign, "violated")
    return state, v.exact and L.is_Rational and R.is_Rational, v


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
    """(state, exact, tie, Sign) for L <rel> R with an inequality relation.

    ``tie`` marks a strict inequality refuted because lhs - rhs is exactly 0.
    """
    d = L - R if relation in (">=", ">") else R - L
    strict = relation in ("<", ">")
    v = sign_of(d, _size(L, R))
    if v.missing:
        return _uncertified(d, lambda e: e < 0 or (strict and e == 0)), False, False, v
    if v.sign is None:
        return "unknown", False, False, v
    if v.sign == 0 and strict:
        if v.exact:
            return "violated", True, False, v
        return ("violated", False, True, v) if exactly_zero(d) else ("unknown", False, False, v)
    return ("ok" if v.sign >= 0 else "violated"), v.exact, False, v


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


def _midpoint(v):
    if v.is_Rational:
        return mpmath.mpf(int(v.p)) / int(v.q)
    b = enclose(v, accurate_to(200))
    return mpmath.mpf(b.ball.mid().str(AGREE_DIGITS, radius=False)) if b.ball.is_finite() \
        else mpmath.mpf(str(v.evalf(AGREE_DIGITS)))


def _witness(S):
    """A rational direction along the most negative eigenvalue of S, and that eigenvalue
    (an estimate from the entries' midpoints; the caller certifies what it uses)."""
    with mpmath.workdps(AGREE_DIGITS):
        M = mpmath.matrix([[_midpoint(v) for v in S.row(i)] for i in range(S.rows)])
        E, Q = mpmath.eigsy(M)
        k = min(range(S.rows), key=lambda i: E[i])
        top = max(abs(Q[i, k]) for i in range(S.rows))
        w = sp.ImmutableMatrix([sp.Rational(Fraction(float(Q[i, k] / top)).limit_denominator(10**6))
                                for i in range(S.rows)])
        return w, sp.Float(str(E[k]), SHOW_DIGITS)


def compare_loewner(L, R, relation):
    """(state, exact, detail, Sign or None) for the Loewner order: the symmetric part of
    L - R is PSD. A failure is certified on v^T S v < 0 for a rational direction v."""
    D = L - R if relation in (">=", ">") else R - L
    S = (D + D.T) / 2
    strict = relation in ("<", ">")
    word = "positive definite" if strict else "positive semidefinite"
    name = "lhs - rhs" if relation in (">=", ">") else "rhs - lhs"
    if all(v.is_Rational for v in S):
        if rational_psd(S, strict):
            return "ok", True, "", None
        w, low = _witness(S)
        return "violated", True, "%s is not %s (exact LDL^T test; smallest eigenvalue ~ %s)" % (
            name, word, sp.Float(low, 6)), None
    w, low = _witness(S)
    q = (w.T * S * w)[0, 0]
    size = _size(*S)
    v = sign_of(q, size)
    if v.missing:
        return _uncertified(q, lambda e: e < 0), False, "", v
    if v.sign is not None and (v.sign < 0 or (v.sign == 0 and strict and v.exact)):
        return "violated", v.exact, "v^T (%s) v = %s < 0 for v = %s (smallest eigenvalue ~ %s)" % (
            name, shown(q), list(w), sp.Float(low, 6)), v
    tol = 1e-45 * float(size)
    if low > -tol and not (strict and low <= tol):
        return "ok", False, "", v
    return "unknown", False, "", v


# --- one point ------------------------------------------------------------------------

def judge(problem, point):
    """Evaluate both sides at ``point`` and decide the relation there (see module doc)."""
    explicit = problem.has_matrices
    lhs, rhs, guards = problem.lhs, problem.rhs, problem.guards
    if problem.bases:                          # the sides (and their guards) written out here
        lhs, rhs = _indexed(lhs, point), _indexed(rhs, point)
        guards = domain_guards([lhs, rhs])
    for guard in guards:
        evaluate(guard, point, explicit)
    L, R = evaluate(lhs, point, explicit), evaluate(rhs, point, explicit)
    if problem.kind == "scalar":
        return _scalar(problem.relation, L, R)
    if L.shape != R.shape:
        raise Undefined("the sides have shapes %s and %s at this point" % (L.shape, R.shape))
    if problem.relation != "==" and problem.order == "loewner":
        state, exact, detail, v = compare_loewner(L, R, problem.relation)
        judged = _with(Judgement(state, exact, L, R, detail), v, "v^T S v")
        if exact and state == "violated":
            judged = replace(judged, enclosure="the symmetric part of %s fails an exact LDL^T "
                             "test" % ("lhs - rhs" if problem.relation in (">=", ">") else "rhs - lhs"))
        return judged
    states, all_exact, suspect = [], True, None
    for i in range(L.rows):
        for j in range(L.cols):
            one = _scalar(problem.relation, L[i, j], R[i, j])
            all_exact = all_exact and one.exact
            if one.state in ("violated", "uncertified"):
                detail = "entry (%d, %d): lhs = %s, rhs = %s" % (i, j, shown(L[i, j]), shown(R[i, j]))
                one = replace(one, lhs=L, rhs=R, detail=detail)
                if one.state == "violated":
                    return one
                suspect = suspect or one
            states.append(one.state)
    if suspect is not None:
        return suspect
    return Judgement("unknown" if "unknown" in states else "ok", all_exact, L, R)


def _scalar(relation, L, R):
    if relation == "==":
        state, exact, v = compare_equal(L, R)
        return _with(Judgement(state, exact, L, R), v, "lhs - rhs", L - R)
    state, exact, tie, v = compare_order(L, R, relation)
    name, d = ("lhs - rhs", L - R) if relation in (">=", ">") else ("rhs - lhs", R - L)
    return _with(Judgement(state, exact, L, R, tie=tie), v, name, d)


def _with(judgement, v, name, value=None):
    """The judgement with the enclosure (or exact value) its decision rests on."""
    if v is None:
        return judgement
    if v.missing:
        return replace(judgement, missing=v.missing)
    if v.exact:
        text = "%s = %s (exact)" % (name, value) if value is not None else ""
    else:
        text = "%s in %s" % (name, v.ball.text())
    return replace(judgement, enclosure=text)
