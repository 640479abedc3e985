"""Rewrites of log(x): a log of something that overflows, underflows or cancels becomes a
form that keeps its digits. Each receives the argument ``x`` of the log; they are tried in
the order below (see ``database.py``). ``log_of_positive_product`` asks ``r.log`` for the
stable log of each factor, so it reuses every rewrite here. ``log1p_of_exp_or_sigmoid`` and
``log1p_of_square`` are the rewrites of a log1p node."""

import sympy as sp

from ..graph.ir import SumTo
from ..ops.derived import Exprel, LogNdtr
from ..ops.nodes import LogSumExp, RowLogSoftmax, RowSoftmax, Sigmoid, Softplus, expm1, log1p
from .database import register
from .layout import logsumexp_along, sum_axis, transpose
from .match import _const, _factors, _positive, _terms

__all__ = []


# --- logs of single functions -------------------------------------------------------

@register(sp.log)
def log_of_exp(r, x):
    """log(exp(u)) -> u: exp(u) overflows for u > 709, its log need not."""
    if x.op is sp.exp:
        return x.args[0]
    return None


@register(sp.log)
def log_of_sigmoid(r, x):
    """log(sigmoid(u)) -> -softplus(-u): sigmoid(u) underflows to 0 for u < -745, where its
    log is about u; softplus prints as logaddexp(0, .), which never overflows."""
    if x.op is Sigmoid:
        return r.neg(r.g.apply(Softplus, r.neg(x.args[0])))
    return None


@register(sp.log)
def log_of_row_softmax(r, x):
    """log(RowSoftmax(M)) -> RowLogSoftmax(M): a softmax entry underflows to 0 long before
    its log is large; the log-softmax is M minus its row-wise log-sum-exp."""
    if x.op is RowSoftmax:
        return r.g.apply(RowLogSoftmax, x.args[0], shape=x.shape)
    return None


@register(sp.log)
def log_of_cosh(r, x):
    """log(cosh(u)) -> log1p(2 sinh(u/2)^2) for |u| < 1, |u| + log1p(e^-2|u|) - log 2 beyond:
    cosh overflows for |u| > 710, and log(cosh u) loses every digit near u = 0."""
    if x.op is sp.cosh:
        return log_cosh(r, x.args[0])
    return None


@register(sp.log)
def log_of_expm1(r, x):
    """log(e^u - 1) -> u + log(1 - e^-u): e^u overflows for large u; the second form is
    about u there, and log1mexp keeps the digits of the rest."""
    if x.op is expm1:
        u = x.args[0]
        return r.g.apply(sp.Add, u, log1mexp(r, r.neg(u)))
    return None


@register(sp.log)
def log_of_one_minus_exp(r, x):
    """log(-expm1(u)) = log(1 - e^u) -> log(-expm1(u)) near u = 0, log1p(-e^u) below -log 2
    (Maechler 2012): each form loses digits where the other keeps them."""
    if x.op is sp.Mul and _const(x.args[0], -1) and x.args[1].op is expm1:
        return log1mexp(r, x.args[1].args[0])
    return None


@register(sp.log)
def log_of_axis_sum_of_exps(r, x):
    """log(sum of exp(M) along rows, columns or every entry) -> the log-sum-exp along that
    axis: the sums overflow once an entry passes 709; the log-sum-exp shifts by the
    maximum first (the column-wise one is the row-wise one of M^T, transposed)."""
    if x.op is SumTo and x.args[0].op is sp.exp:
        return logsumexp_along(r, x.args[0].args[0], sum_axis(x), x.shape)
    return None


@register(sp.log)
def log_of_erfc(r, x):
    """log(erfc(u)) -> log 2 + log_ndtr(-sqrt(2) u): erfc underflows to 0 past u = 26.5,
    where its log is about -u^2; log_ndtr keeps every digit, and so does its slope."""
    if x.op is sp.erfc:
        g = r.g
        u = g.apply(sp.Mul, g.const(-sp.sqrt(2)), x.args[0])
        return g.apply(sp.Add, g.apply(LogNdtr, u), g.const(sp.log(2)))
    return None


@register(sp.log)
def log_of_reciprocal(r, x):
    """log(1/u) -> -log(u) (as PyTensor's local_log_div): 1/u overflows for u below 5.6e-309,
    where its log is about 709; and the log of u may have a stable form of its own."""
    if x.op is sp.Pow and _const(x.args[1], -1):
        return r.neg(r.log(x.args[0]))
    return None


@register(sp.log)
def log_of_transpose(r, x):
    """log(M^T) -> (stable log of M)^T: a log-softmax is found under a transpose, as in
    Trace(log(softmax(S)).T * Y)."""
    if x.op is sp.Transpose:
        inner = r.log(x.args[0])
        if not (inner.op is sp.log and inner.args[0] is x.args[0]):
            return transpose(r, inner)
    return None


# --- logs of products and sums ------------------------------------------------------

@register(sp.log)
def log_of_positive_product(r, x):
    """log(c e^u sigmoid(v)^k w) -> log c + u - k softplus(-v) + log w: the positive factors
    (e^u, sigmoid, sums of exponentials, positive constants and their powers) split off
    into logs that are stable, so no factor's overflow or underflow reaches the log."""
    if x.op is not sp.Mul:
        return None
    g = r.g
    parts, rest = [], []
    for f in _factors(x):
        if _positive(f) or _sum_of_exponentials(r, f):
            parts.append(r.log(f))
        elif f.op is sp.Pow and _positive(f.args[0]) and _const(f.args[1]):
            parts.append(g.apply(sp.Mul, f.args[1], r.log(f.args[0])))
        else:
            rest.append(f)
    if not parts:
        return None
    if rest:
        parts.append(r.log(g.mul(*rest)))
    return g.add(*parts)


@register(sp.log)
def log_of_exp_pair_is_log_cosh(r, x):
    """log(c e^u + c e^-u) -> log 2c + log cosh(u): the exponentials overflow for |u| > 709,
    and near u = 0 the sum rounds away the u^2 its log is made of."""
    if x.op is not sp.Add:
        return None
    terms = _terms(x)
    c = terms[0][0]
    if len(terms) == 2 and c.is_positive and all(k == c and t.op is sp.exp for k, t in terms) \
            and r.neg(terms[0][1].args[0]) is terms[1][1].args[0]:
        return r.g.apply(sp.Add, log_cosh(r, terms[0][1].args[0]), r.g.const(sp.log(2 * c)))
    return None


@register(sp.log)
def log_of_exp_difference(r, x):
    """log(c e^a - c e^b) -> log c + a + log1mexp(b - a) for c > 0: e^a overflows past 709,
    and near a = b the difference cancels; log1mexp keeps the digits of both ends."""
    terms = _terms(x) if x.op is sp.Add else []
    if len(terms) != 2 or not all(t.op is sp.exp for _, t in terms):
        return None
    (c1, e1), (c2, e2) = terms if terms[0][0].is_positive else terms[::-1]
    if not (c1.is_number and c1.is_positive and c2 == -c1):
        return None
    g = r.g
    a, b = e1.args[0], e2.args[0]
    out = g.apply(sp.Add, a, log1mexp(r, g.apply(sp.Add, b, r.neg(a))))
    return out if c1 == 1 else g.apply(sp.Add, out, g.const(sp.log(c1)))


@register(sp.log)
def log_of_sum_of_exps(r, x):
    """log(c1 e^a + c2 e^b + k ...) -> LogSumExp(a + log c1, b + log c2, log k, ...) for
    positive c and k: each e^a may overflow; the log-sum-exp shifts by the largest first.
    (1 + e^u is left to ``log_of_one_plus_exp``.)"""
    if x.op is not sp.Add:
        return None
    terms = _terms(x)
    exponents = [_exponent(r, c, t) for c, t in terms]
    if len(terms) >= 2 and all(e is not None for e in exponents) and \
            any(t.op is sp.exp for _, t in terms) and not (
                len(terms) == 2 and any(_const(t, 1) and c == 1 for c, t in terms)):
        return r.g.apply(LogSumExp, *exponents)
    return None


@register(sp.log)
def log_of_one_plus_exp(r, x):
    """log(1 + e^u) -> softplus(u), printed as logaddexp(0, u): e^u overflows for u > 709
    and 1 + e^u rounds to 1 for u < -37, where softplus is about e^u."""
    rest = _without_one(x)
    if rest is not None and len(rest) == 1 and rest[0][0] == 1 and rest[0][1].op is sp.exp:
        return r.g.apply(Softplus, rest[0][1].args[0])
    return None


@register(sp.log)
def log1p_of_sum(r, x):
    """log(1 + t) -> log1p(t): 1 + t rounds t away when |t| < 1e-16, log1p keeps it."""
    rest = _without_one(x)
    if rest is not None:
        return r.g.apply(log1p, r.total(rest))
    return None


@register(log1p)
def log1p_of_exp_or_sigmoid(r, x):
    """log1p(e^u) -> softplus(u), log1p(-e^u) -> log1mexp(u), log1p(-sigmoid(u)) ->
    -softplus(u): e^u overflows past 709, and -e^u and -sigmoid(u) round to -1 where
    these forms keep their digits."""
    g = r.g
    if x.op is sp.exp:
        # a log1p(e^(-2|u|)) as in log cosh cannot overflow: left as it is
        return None if _nonpositive(x.args[0]) else g.apply(Softplus, x.args[0])
    if x.op is sp.Mul and _const(x.args[0], -1):
        inner = x.args[1]
        if inner.op is sp.exp:
            return log1mexp(r, inner.args[0])
        if inner.op is Sigmoid:
            return r.neg(g.apply(Softplus, inner.args[0]))
    return None


@register(log1p)
def log1p_of_square(r, x):
    """log1p(u^2) -> 2 log|u| + log1p(u^-2) for |u| > 1, log1p(u^2) for |u| <= 1 (the
    Cauchy loss log(1 + r^2); c u^2 with c > 0 is (sqrt(c) u)^2): u^2 overflows past
    1.3e154, where log(1 + u^2) is still about 2 log|u|, and the slope 2u/(1 + u^2) is 0
    there instead of about 2/u; the large form's slope 2/u - 2u^-3/(1 + u^-2) keeps it."""
    g = r.g
    c, t = _terms(x)[0] if x.op is sp.Mul else (sp.S.One, x)
    if not (t.op is sp.Pow and _const(t.args[1], 2) and c.is_positive and c.is_finite):
        return None
    u = t.args[0] if c == 1 else g.apply(sp.Mul, g.const(sp.sqrt(c)), t.args[0])
    a = g.apply(sp.Abs, u)
    small = g.apply(log1p, g.apply(sp.Pow, u, g.const(2)))
    r.final.add(small.id)
    large = g.add(g.apply(sp.Mul, g.const(2), g.apply(sp.log, a)),
                  g.apply(log1p, g.apply(sp.Pow, u, g.const(-2))))
    return g.apply(sp.Piecewise, large, g.apply(sp.StrictGreaterThan, a, g.const(1)), small,
                   g.const(sp.true))


# --- helpers -----------------------------------------------------------------------

def _without_one(x):
    """The terms of sum ``x`` without its first term 1, or None when it has none."""
    if x.op is not sp.Add:
        return None
    terms = _terms(x)
    ones = [i for i, (c, t) in enumerate(terms) if _const(t, 1) and c == 1]
    if not ones:
        return None
    return terms[:ones[0]] + terms[ones[0] + 1:]


def _nonpositive(u):
    """c |v| or c e^v with a constant c <= 0: known not to be positive."""
    return u.op is sp.Mul and _const(u.args[0]) and u.args[0].value <= 0 and \
        u.args[1].op in (sp.Abs, sp.exp)


def _exponent(r, c, t):
    """u with c*t = e^u, for t = e^v with c > 0 or a positive constant; else None."""
    g = r.g
    if not (c.is_number and c.is_positive):
        return None
    if t.op is sp.exp:
        return t.args[0] if c == 1 else g.apply(sp.Add, t.args[0], g.const(sp.log(c)))
    if _const(t) and t.value.is_positive and t.value.is_finite:
        return g.const(sp.log(c * t.value))
    return None


def _sum_of_exponentials(r, f):
    """A sum of c*e^u terms and positive constants: positive, with a stable log."""
    if f.op is not sp.Add:
        return False
    terms = _terms(f)
    return any(t.op is sp.exp for _, t in terms) and \
        all(_exponent(r, c, t) is not None for c, t in terms)


def log_cosh(r, u):
    """log cosh u: log1p(2 sinh(u/2)^2) near 0, |u| + log1p(e^-2|u|) - log 2 beyond."""
    g = r.g
    half = g.apply(sp.sinh, g.apply(sp.Mul, g.const(sp.S.Half), u))
    small = g.apply(log1p, g.apply(sp.Mul, g.const(2), g.apply(sp.Pow, half, g.const(2))))
    a = g.apply(sp.Abs, u)
    large = g.add(a, g.apply(log1p, g.apply(sp.exp, g.apply(sp.Mul, g.const(-2), a))),
                  g.const(-sp.log(2)))
    return g.apply(sp.Piecewise, small, g.apply(sp.StrictLessThan, a, g.const(1)), large,
                   g.const(sp.true))


def log1mexp(r, u):
    """log(1 - e^u) for u < 0, choosing the form that keeps its digits (Maechler 2012).
    The near-zero form log(-expm1(u)) is final: it must not be rewritten again. For
    u = -e^b (a complementary log-log link) it is b + log(exprel(u)): e^b underflows
    for b < -745, where log(1 - e^u) is about b."""
    g = r.g
    if u.op is sp.Mul and _const(u.args[0], -1) and u.args[1].op is sp.exp:
        # u = -e^b: log(e^b exprel(u)) = b + log(exprel(u)), where e^b may underflow
        near_zero = g.apply(sp.Add, u.args[1].args[0], g.apply(sp.log, g.apply(Exprel, u)))
    else:
        near_zero = g.apply(sp.log, r.neg(g.apply(expm1, u)))
        r.final.add(near_zero.id)
    far = g.apply(log1p, r.neg(g.apply(sp.exp, u)))
    return g.apply(sp.Piecewise, near_zero, g.apply(sp.StrictGreaterThan, u, g.const(-sp.log(2))),
                   far, g.const(sp.true))
