"""Rewrites of powers: a sigmoid written as 1/(1 + e^-z), real powers of sigmoids and
of 1 + e^u, whose bases overflow or round to 1 long before the power does, and square
roots of sums of squares (hypot). Each receives the base and the exponent of the Pow
node (see ``database.py``)."""

import sympy as sp

from ..ops.derived import Hypot
from ..ops.nodes import Sigmoid, Softplus
from .database import register
from .match import _const, _terms

__all__ = []


def _real_exponent(exponent):
    """The exponent's value when it is a real constant, else None."""
    k = exponent.value if _const(exponent) else None
    return k if k is not None and k.is_real else None


def _one_plus_exp(base):
    """e^u when ``base`` is 1 + e^u (either order), else None."""
    if base.op is not sp.Add:
        return None
    terms = _terms(base)
    if len(terms) == 2:
        for (c1, one), (c2, e) in (terms, terms[::-1]):
            if c1 == 1 and _const(one, 1) and c2 == 1 and e.op is sp.exp:
                return e
    return None


@register(sp.Pow)
def sigmoid_power_is_exp_softplus(r, base, exponent):
    """sigmoid(u)^q -> exp(-q softplus(-u)) for real q not an integer: sigmoid(u) underflows
    to 0 for u < -745 where its power may not (and a non-integer power of 0 has no slope)."""
    k = _real_exponent(exponent) if base.op is Sigmoid else None
    if k is None or k.is_Integer:
        return None
    g = r.g
    return g.apply(sp.exp, g.apply(sp.Mul, g.const(-k), g.apply(Softplus, r.neg(base.args[0]))))


@register(sp.Pow)
def one_plus_exp_power_is_exp_softplus(r, base, exponent):
    """(1 + e^u)^q -> exp(q softplus(u)) for real q not an integer: 1 + e^u overflows for
    u > 709 where the power need not."""
    k = _real_exponent(exponent) if base.op is sp.Add else None
    if k is None or k.is_Integer:
        return None
    e = _one_plus_exp(base)
    if e is None:
        return None
    g = r.g
    return g.apply(sp.exp, g.apply(sp.Mul, g.const(k), g.apply(Softplus, e.args[0])))


@register(sp.Pow)
def inverse_one_plus_exp_is_sigmoid(r, base, exponent):
    """(1 + e^u)^-m -> sigmoid(-u)^m for integers m > 0 (1/(1 + exp(-z)) is sigmoid(z)):
    e^u overflows for u > 709, and 1/inf loses the tail sigmoid keeps (printed as expit)."""
    k = _real_exponent(exponent) if base.op is sp.Add else None
    if k is None or not k.is_Integer or k >= 0:
        return None
    e = _one_plus_exp(base)
    if e is None:
        return None
    s = r.g.apply(Sigmoid, r.neg(e.args[0]))
    return s if k == -1 else r.g.apply(sp.Pow, s, r.g.const(-k))


@register(sp.Pow)
def root_of_squares_is_hypot(r, base, exponent):
    """sqrt(u^2 + v^2 + c) -> hypot(hypot(u, v), sqrt(c)) for c >= 0 (and its reciprocal;
    a c w^2 term with c > 0 is (sqrt(c) w)^2): u^2 overflows past 1.3e154 and underflows
    below 1.5e-154 where the root does neither; hypot never forms the squares, and its
    slope u/hypot(u, v) stays in [-1, 1] (the Charbonnier loss, Euclidean norms)."""
    k = _real_exponent(exponent)
    if k not in (sp.S.Half, -sp.S.Half) or base.op is not sp.Add:
        return None
    g = r.g
    legs = []
    for c, t in _terms(base):
        if _const(t) and (c * t.value).is_positive and (c * t.value).is_finite:
            legs.append(g.const(sp.sqrt(c * t.value)))
        elif c.is_positive and t.op is sp.Pow and _const(t.args[1], 2):
            legs.append(t.args[0] if c == 1 else g.apply(sp.Mul, g.const(sp.sqrt(c)), t.args[0]))
        else:
            return None
    if sum(not _const(leg) for leg in legs) == 0 or len(legs) < 2:
        return None
    out = legs[0]
    for leg in legs[1:]:
        out = g.apply(Hypot, out, leg)
    return out if k > 0 else g.apply(sp.Pow, out, g.const(-1))
