"""Rewrites of sums: two terms that cancel in floating point become one stable node.

Each is keyed on the op of one term, ``terms[i] = (c, t)``, and looks for a partner term
among the others; the rest of the sum is kept as it is (see ``database.py``)."""

import sympy as sp

from ..ops.derived import Sech2
from ..ops.nodes import LogSoftmax, LogSumExp, RowLogSoftmax, RowLogSumExp, Sigmoid, Softplus, expm1
from .database import register
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
def softplus_minus_identity(r, terms, i):
    """softplus(u) - u -> softplus(-u): for large u both are about u and cancel, while
    softplus(-u) is about e^-u."""
    c, t = terms[i]
    for j, (c1, u) in enumerate(terms):
        if c1 == -c and u is t.args[0]:
            return r.total(_rest(terms, i, j) + [(c, r.g.apply(Softplus, r.neg(u)))])
    return None


@register(LogSumExp, RowLogSumExp, within=sp.Add)
def log_softmax_of_difference(r, terms, i):
    """z_k - logsumexp(z) -> LogSoftmax(k, z) (row-wise: M - RowLogSumExp(M) ->
    RowLogSoftmax(M)): when z_k dominates both are large and their difference, near 0,
    keeps no digits; the log-softmax computes it from the shifted exponents."""
    c, t = terms[i]
    for j, (c1, z) in enumerate(terms):
        if c1 == -c and (z in t.args if t.op is LogSumExp else z is t.args[0]):
            if t.op is LogSumExp:
                soft = r.g.apply(LogSoftmax, r.g.const(t.args.index(z)), *t.args)
            else:
                soft = r.g.apply(RowLogSoftmax, z, shape=z.shape)
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
