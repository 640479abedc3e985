"""Scalar ops made with ``make_function``: one call each, entry and class together.

``SincSlope`` and ``Sech2`` are what the rules and rewrites use for stable code
(people see their standard forms); ``logit`` is an ordinary op people write.
"""

import mpmath as mp
import sympy as sp

from .registry import MUL
from .functions import make_function

__all__ = ["SincSlope", "Sech2", "logit"]


def _sinc_slope(x):
    return sp.Piecewise(((x * sp.cos(x) - sp.sin(x)) / x**2, sp.Ne(x, 0)), (0, True))


def _sinc_curve(x):
    return sp.Piecewise(((2 * sp.sin(x) - 2 * x * sp.cos(x) - x**2 * sp.sin(x)) / x**3,
                         sp.Ne(x, 0)), (sp.Rational(-1, 3), True))


# sinc'(x) = -j1(x): scipy's spherical Bessel function keeps its digits near 0, where the
# quotient (x cos x - sin x)/x^2 cancels to nothing.
SincSlope = make_function(
    "sinc_slope", class_name="SincSlope",
    rule=lambda g, ans, x: (g * _sinc_curve(x),),
    numpy=lambda p, x: ("-%s" % p.call("special.spherical_jn", 1, x), MUL),
    mpmath=lambda x: (x * mp.cos(x) - mp.sin(x)) / x**2 if x != 0 else mp.mpf(0),
    standard=_sinc_slope, names=(), shown=_sinc_slope, complex_step=False)

# tanh's derivative 1 - tanh(u)^2 = sech(u)^2, computed by a helper that cannot overflow.
Sech2 = make_function(
    "sech2", class_name="Sech2",
    rule=lambda g, ans, u: (-2 * g * ans * sp.tanh(u),),
    numpy="_sech2", mpmath=lambda u: mp.sech(u)**2, underflows=True,
    standard=lambda u: sp.sech(u)**2, names=(), shown=lambda u: sp.sech(u)**2)

logit = make_function(
    "logit", rule=lambda g, ans, p: (g / (p * (1 - p)),),
    numpy="special.logit", mpmath=lambda p: mp.log(p / (1 - p)),
    standard=lambda p: sp.log(p / (1 - p)),
    domain=lambda node: [node.args[0], 1 - node.args[0]])
