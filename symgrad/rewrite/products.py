"""Rewrites of products: quotients of exponentials that overflow become sigmoids, softmaxes,
erfcx and tanh; odds of sigmoids become exponentials, expm1(t)/p becomes exprel; a mask
becomes a branch; x log y becomes XLogY.

Those keyed on one factor (``factors[i]``: an exp, a sigmoid, an expm1) look for its partner
among the other factors; the rest see the whole product, after every factor has been tried
(see ``database.py``)."""

import sympy as sp

from ..graph.ir import Broadcast, SumTo
from ..ops.derived import Erfcx, Exprel
from ..ops.nodes import LogSumExp, Sigmoid, XLog1pY, XLogY, expm1, log1p
from .database import register
from .layout import logsumexp_along, sum_axis
from .match import _as_polynomial, _const, _factors, _is_inverse_sum_of_exps, _is_mask, _terms

__all__ = []


# --- an exponential and its partner ---------------------------------------------------

@register(sp.exp, within=sp.Mul)
def exp_times_sigmoid_is_sigmoid(r, factors, i):
    """e^z sigmoid(-z) -> sigmoid(z) (as exp(z)/(1 + exp(z)) reads once 1/(1 + e^z) is a
    sigmoid): e^z overflows for z > 709 while the product is about 1."""
    e = factors[i]
    partner = next((f for f in factors if f.op is Sigmoid and r.neg(f.args[0]) is e.args[0]), None)
    if partner is None:
        return None
    return r.replace(factors, [e, partner], r.g.apply(Sigmoid, e.args[0]))


@register(sp.exp, within=sp.Mul)
def exp_times_sigmoid_power(r, factors, i):
    """e^z sigmoid(-z)^k -> sigmoid(z) sigmoid(-z)^(k-1) for integers k > 1 (derivatives of
    sigmoids read this way): e^z overflows where the product stays finite."""
    e = factors[i]
    power = next((f for f in factors if f.op is sp.Pow and f.args[0].op is Sigmoid and
                  r.neg(f.args[0].args[0]) is e.args[0] and _const(f.args[1]) and
                  f.args[1].value.is_Integer and f.args[1].value > 1), None)
    if power is None:
        return None
    g = r.g
    rest = g.apply(sp.Pow, power.args[0], g.const(power.args[1].value - 1))
    return r.replace(factors, [e, power], g.mul(g.apply(Sigmoid, e.args[0]), rest))


@register(sp.exp, within=sp.Mul)
def softmax_shift(r, factors, i):
    """e^a / (e^a + e^b + ...) -> exp(a - LogSumExp(a, b, ...)) (for matrices, along rows,
    columns or every entry, as the sum runs): every e^a overflows for a > 709, the shifted
    exponent is never positive."""
    e = factors[i]
    shift = next((f for f in factors if _is_inverse_sum_of_exps(f)), None)
    if shift is None:
        return None
    g = r.g
    total = shift.args[0]
    if total.op is Broadcast:
        total = total.args[0]
    if total.op is SumTo:
        lse = logsumexp_along(r, total.args[0].args[0], sum_axis(total), total.shape)
    else:
        lse = g.apply(LogSumExp, *[t.args[0] for _, t in _terms(total)])
    return r.replace(factors, [e, shift], g.apply(sp.exp, g.apply(sp.Add, e.args[0], r.neg(lse))))


@register(sp.exp, within=sp.Mul)
def exp_times_erfc_is_erfcx(r, factors, i):
    """e^(k v^2) erfc(v)^k -> erfcx(v)^k for k = 1 or -1 (the inverse Mills ratio
    phi(z)/Phi(z), the slope of log erfc): erfc underflows past v = 26.5 and e^(v^2)
    overflows, so both forms as written give 0/0 or inf*0; erfcx is about 1/(sqrt(pi) v)."""
    e = factors[i]
    for f in factors:
        k, base = (f.args[1].value, f.args[0]) if f.op is sp.Pow and _const(f.args[1]) \
            else (sp.S.One, f)
        scale = sp.S.One
        if base.op is sp.Mul and _const(base.args[0]):        # (c erfc(v))^k
            scale, base = base.args[0].value**k, base.args[1]
        if base.op is not sp.erfc or k not in (1, -1):
            continue
        atoms = {}
        u, v = _as_polynomial(e.args[0], atoms), _as_polynomial(base.args[0], atoms)
        if u is not None and v is not None and sp.expand(u - k * v**2) == 0:
            g = r.g
            out = g.apply(Erfcx, base.args[0])
            out = out if k == 1 else g.apply(sp.Pow, out, g.const(-1))
            return r.replace(factors, [e, f], out if scale == 1 else g.mul(g.const(scale), out))
    return None


@register(Sigmoid, within=sp.Mul)
def sigmoid_odds_is_exp(r, factors, i):
    """sigmoid(u) / sigmoid(-u) -> e^u (the odds, once 1 - sigmoid(u) reads sigmoid(-u)):
    sigmoid(-u) underflows past u = 745 and rounds the odds to inf long before e^u does."""
    s = factors[i]
    for f in factors:
        if f.op is sp.Pow and _const(f.args[1], -1) and f.args[0].op is Sigmoid and \
                f.args[0].args[0] is r.neg(s.args[0]):
            return r.replace(factors, [s, f], r.g.apply(sp.exp, s.args[0]))
    return None


@register(expm1, within=sp.Mul)
def expm1_over_a_factor_is_exprel(r, factors, i):
    """expm1(c p q) / p -> c q exprel(c p q) (Box-Cox expm1(lam log x)/lam): at lam near 0
    the quotient is fine, but its slope in lam cancels (and at lam = 0 it is 0/0);
    exprel = expm1(t)/t and its derivatives keep their digits there."""
    e = factors[i]
    inside = _factors(e.args[0])
    for f in factors:
        if f.op is sp.Pow and _const(f.args[1], -1) and not _const(f.args[0]) and \
                any(p is f.args[0] for p in inside):
            g = r.g
            rest = list(inside)
            rest.remove(f.args[0])
            core = g.apply(Exprel, e.args[0])
            return r.replace(factors, [e, f], g.mul(*rest, core) if rest else core)
    return None


# --- whole products ---------------------------------------------------------------------

@register(sp.Mul)
def exp_ratio_is_tanh(r, factors, shape):
    """(e^a - e^b) / (e^a + e^b) -> tanh((a - b)/2): both sums overflow for large a or b,
    and the numerator cancels near a = b."""
    for d in factors:
        if d.op is not sp.Pow or not _const(d.args[1], -1) or d.args[0].op is not sp.Add:
            continue
        below = _terms(d.args[0])
        if len(below) != 2 or not all(c == 1 and t.op is sp.exp for c, t in below):
            continue
        for n in factors:
            above = _terms(n) if n.op is sp.Add else []
            if len(above) == 2 and {c for c, _ in above} == {1, -1} and \
                    {t for _, t in above} == {t for _, t in below}:
                a = next(t for c, t in above if c == 1).args[0]
                b = next(t for c, t in above if c == -1).args[0]
                g = r.g
                half = g.apply(sp.Mul, g.const(sp.S.Half), g.apply(sp.Add, a, r.neg(b)))
                return r.replace(factors, [n, d], g.apply(sp.tanh, half))
    return None


@register(sp.Mul)
def mask_is_where(r, factors, shape):
    """x where(c, 1, 0) -> where(c, x, 0): where the mask is 0 the product is 0 even when x
    is inf or NaN there (the other branch of a stable form), instead of NaN."""
    masks = [f for f in factors if _is_mask(f)]
    if not masks or len(factors) < 2 or len({f.shape for f in factors}) != 1:
        return None
    rest = [f for f in factors if f is not masks[0]]
    g = r.g
    return g.apply(sp.Piecewise, g.mul(*rest), masks[0].args[1], g.const(0), g.const(sp.true))


@register(sp.Mul)
def xlog1py(r, factors, shape):
    """x log1p(y) -> XLog1pY(x, y) (scipy's xlog1py): the (1 - t) log(1 - p) term of a
    cross-entropy at t = 1, p = 1 is 0 there, instead of 0 * -inf = NaN."""
    return _weighted_log(r, factors, shape, log1p, XLog1pY)


@register(sp.Mul)
def xlogy(r, factors, shape):
    """x log(y) -> XLogY(x, y) (scipy's xlogy): 0 log 0 is 0 there, as in the limit of
    cross-entropy terms with a zero label, instead of 0 * -inf = NaN."""
    return _weighted_log(r, factors, shape, sp.log, XLogY)


def _weighted_log(r, factors, shape, log_op, node):
    """A product with one ``log_op`` factor and non-constant weights x -> node(x, y) times
    the constants (shared by xlogy and xlog1py); None when the product is not of that form."""
    logs = [f for f in factors if f.op is log_op]
    if len(logs) != 1 or len(factors) < 2:
        return None
    others = [f for f in factors if f is not logs[0]]
    consts = [f for f in others if _const(f)]
    weights = [f for f in others if not _const(f)]
    if not weights or not all(w.shape == () or w.shape == shape for w in weights):
        return None
    core = r.g.apply(node, r.g.mul(*weights), logs[0].args[0])
    return r.g.mul(*consts, core) if consts else core
