"""Rewrites of sums: two terms that cancel in floating point become one stable node.

Each is keyed on the op of one term, ``terms[i] = (c, t)``, and looks for a partner term
among the others; the rest of the sum is kept as it is (see ``database.py``)."""

import sympy as sp

from ..graph.ir import Leaf, ancestors
from ..ops.derived import Sech2
from ..ops.nodes import LogSoftmax, LogSumExp, RowLogSoftmax, RowLogSumExp, Sigmoid, Softplus, expm1
from .database import register
from .layout import transpose
from .match import _const

__all__ = []


def _rest(terms, i, j):
    """The terms other than i and j."""
    return [x for k, x in enumerate(terms) if k not in (i, j)]


@register(Sigmoid, within=sp.Add)
def sigmoid_difference_is_tanh(r, terms, i):
    """c sigmoid(u) - c sigmoid(-u) -> c tanh(u/2): both sigmoids round to 1 and 0 together
    as u grows, and near u = 0 the difference of two numbers near 1/2 cancels."""
    c, t = terms[i]
    for j, (c1, s) in enumerate(terms):
        if c1 == -c and s.op is Sigmoid and r.neg(s.args[0]) is t.args[0]:
            half = r.g.apply(sp.Mul, r.g.const(sp.S.Half), t.args[0])
            return r.total(_rest(terms, i, j) + [(c, r.g.apply(sp.tanh, half))])
    return None


@register(Sigmoid, within=sp.Add)
def sigmoid_difference_is_product(r, terms, i):
    """c sigmoid(a) - c sigmoid(b) -> c sigmoid(a) sigmoid(-b) (1 - e^(b - a)), with 1 - e^t
    as -expm1(t): when a and b are both large the sigmoids round to 1 and their difference
    to 0 (ordinal regression at -60), and the log of the product splits into stable logs."""
    c, t = terms[i]
    for j, (c1, s) in enumerate(terms):
        if j != i and c1 == -c and s.op is Sigmoid:
            g = r.g
            a, b = t.args[0], s.args[0]
            gap = r.neg(g.apply(expm1, g.apply(sp.Add, b, r.neg(a))))
            product = g.mul(t, g.apply(Sigmoid, r.neg(b)), gap)
            return r.total(_rest(terms, i, j) + [(c, product)])
    return None


@register(sp.Pow, within=sp.Add)
def one_minus_tanh_squared_is_sech2(r, terms, i):
    """c - c tanh(u)^2 -> c sech(u)^2 (Sech2, tanh's derivative): tanh(u)^2 rounds to 1 for
    |u| > 19, and the difference to 0, where sech(u)^2 is about 4 e^-2|u|."""
    c, t = terms[i]
    if t.args[0].op is not sp.tanh or not _const(t.args[1], 2):
        return None
    for j, (c1, one) in enumerate(terms):
        if _const(one) and c1 * one.value == -c:
            return r.total(_rest(terms, i, j) + [(-c, r.g.apply(Sech2, t.args[0].args[0]))])
    return None


@register(Softplus, within=sp.Add)
def softplus_difference_is_identity(r, terms, i):
    """c softplus(u) - c softplus(-u) -> c u (log sigmoid(u) - log sigmoid(-u), the log-odds):
    near u = 0 both softplus values are about log 2 and their difference of about u keeps
    only the digits above 1e-16 (at u = 1e-12 it is off by 2e-5), and for large |u| one of
    them is about |u| while the other carries a tail that the sum rounds away."""
    c, t = terms[i]
    for j, (c1, s) in enumerate(terms):
        if c1 == -c and s.op is Softplus and r.neg(s.args[0]) is t.args[0]:
            return r.total(_rest(terms, i, j) + [(c, t.args[0])])
    return None


@register(Softplus, within=sp.Add)
def softplus_minus_identity(r, terms, i):
    """softplus(u) - u -> softplus(-u): for large u both are about u and cancel, while
    softplus(-u) is about e^-u."""
    c, t = terms[i]
    for j, (c1, u) in enumerate(terms):
        if c1 == -c and u is t.args[0]:
            return r.total(_rest(terms, i, j) + [(c, r.g.apply(Softplus, r.neg(u)))])
    return None


@register(LogSumExp, RowLogSumExp, sp.Transpose, within=sp.Add)
def log_softmax_of_difference(r, terms, i):
    """z_k - logsumexp(z) -> LogSoftmax(k, z) (row-wise: M - RowLogSumExp(M) ->
    RowLogSoftmax(M), and column-wise through a transpose): when z_k dominates both are
    large and their difference, near 0, keeps no digits; the log-softmax computes it from
    the shifted exponents."""
    c, t = terms[i]
    flipped = t.op is sp.Transpose
    if flipped and t.args[0].op is not RowLogSumExp:
        return None
    for j, (c1, z) in enumerate(terms):
        if c1 != -c:
            continue
        if t.op is LogSumExp and z in t.args:
            soft = r.g.apply(LogSoftmax, r.g.const(t.args.index(z)), *t.args)
        elif t.op is RowLogSumExp and z is t.args[0]:
            soft = r.g.apply(RowLogSoftmax, z, shape=z.shape)
        elif z.shape != () and (flipped or t.shape == (1, 1)) and \
                transpose(r, z) is (t.args[0].args[0] if flipped else t.args[0]):
            w = transpose(r, z)                  # a column-wise one, or a column vector's
            soft = transpose(r, r.g.apply(RowLogSoftmax, w, shape=w.shape))
        else:
            continue
        return r.total(_rest(terms, i, j) + [(c1, soft)])
    return None


@register(Sigmoid, within=sp.Add)
def one_minus_sigmoid(r, terms, i):
    """c - c sigmoid(z) -> c sigmoid(-z): sigmoid(z) rounds to 1 for z > 37 and the
    difference to 0, where sigmoid(-z) is about e^-z."""
    c, t = terms[i]
    for j, (c1, one) in enumerate(terms):
        if _const(one) and c1 * one.value == -c:
            return r.total(_rest(terms, i, j) + [(-c, r.g.apply(Sigmoid, r.neg(t.args[0])))])
    return None


@register(sp.exp, within=sp.Add)
def exp_minus_one_is_expm1(r, terms, i):
    """c e^x - c -> c expm1(x): e^x rounds x away when |x| < 1e-16, expm1 keeps it."""
    c, t = terms[i]
    for j, (c1, one) in enumerate(terms):
        if _const(one) and c1 * one.value == -c:
            return r.total(_rest(terms, i, j) + [(c, r.g.apply(expm1, t.args[0]))])
    return None


@register(sp.Pow, within=sp.Add, phases=("stabilize",))
def power_minus_one_is_expm1(r, terms, i):
    """c x^p - c -> c expm1(p log x) for an exponent p that is not a number (Box-Cox
    (x^lam - 1)/lam): x^p rounds p log x away when it is below 1e-16; expm1 keeps it.
    (The loss only: a gradient's x^(p - 1) keeps its form.)"""
    c, t = terms[i]
    if _const(t.args[1]) or any(n.op is Leaf and n.extra.is_integer for n in ancestors([t.args[1]])):
        return None                   # an integer power of a negative base has no log form
    for j, (c1, one) in enumerate(terms):
        if _const(one) and c1 * one.value == -c:
            g = r.g
            exponent = g.apply(sp.Mul, t.args[1], g.apply(sp.log, t.args[0]))
            return r.total(_rest(terms, i, j) + [(c, g.apply(expm1, exponent))])
    return None


# --- 1 +- erf and 1 - erfc (as PyTensor's stabilize pass) ---------------------------

@register(sp.erf, within=sp.Add)
def one_plus_erf_is_erfc(r, terms, i):
    """c + c erf(u) -> c erfc(-u): erf(u) rounds to -1 for u < -5.9, and 1 + erf(u) to 0,
    where erfc(-u) keeps its digits (a normal CDF (1 + erf(z/sqrt 2))/2, GELU)."""
    return _erf_with_constant(r, terms, i, 1)


@register(sp.erf, within=sp.Add)
def erf_minus_one_is_erfc(r, terms, i):
    """c erf(u) - c -> -c erfc(u) (and c - c erf(u) -> c erfc(u)): erf(u) rounds to 1 for
    u > 5.9, and the difference to 0, where erfc(u) keeps its digits."""
    return _erf_with_constant(r, terms, i, -1)


def _erf_with_constant(r, terms, i, sign):
    c, t = terms[i]
    for j, (c1, one) in enumerate(terms):
        if _const(one) and c1 * one.value == sign * c:
            g = r.g
            u = r.neg(t.args[0]) if sign == 1 else t.args[0]
            return r.total(_rest(terms, i, j) + [(c * sign, g.apply(sp.erfc, u))])
    return None


@register(sp.erfc, within=sp.Add)
def erfc_minus_one_is_erf(r, terms, i):
    """c erfc(u) - c -> -c erf(u) (1 - erfc(u) -> erf(u)): erfc(u) is near 1 for small u,
    where the difference keeps none of erf's digits."""
    c, t = terms[i]
    for j, (c1, one) in enumerate(terms):
        if _const(one) and c1 * one.value == -c:
            return r.total(_rest(terms, i, j) + [(-c, r.g.apply(sp.erf, t.args[0]))])
    return None


@register(sp.erfc, within=sp.Add)
def two_minus_erfc_is_erfc(r, terms, i):
    """2c - c erfc(u) -> c erfc(-u) (SymPy writes erfc(-u) as 2 - erfc(u)): erfc(u) is
    near 2 for u < -5.9, where the difference keeps none of erfc(-u)'s digits."""
    c, t = terms[i]
    for j, (c1, two) in enumerate(terms):
        if _const(two) and c1 * two.value == -2 * c:
            return r.total(_rest(terms, i, j) + [(-c, r.g.apply(sp.erfc, r.neg(t.args[0])))])
    return None
