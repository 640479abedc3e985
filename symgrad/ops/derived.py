"""Scalar ops made with ``make_function``: one call each, entry and class together.

``SincSlope`` and ``Sech2`` are what the rules and rewrites use for stable code
(people see their standard forms); ``logit`` is an ordinary op people write.
``Erfcx``, ``LogNdtr``, ``Exprel`` and ``Hyp1f1`` are the stable forms the rewrites
give erfc tails, log Phi, Box-Cox and log(1 - exp(-e^b)) (scipy has each), and ``Hypot``
that of sqrt(u^2 + v^2) (NumPy's hypot); their rules are stable too, so the gradients
derived from them keep their digits.
"""

import mpmath as mp
import sympy as sp

from ..errors import UnsupportedExpression
from .balls import arb_nan, decreasing, increasing, power
from .functions import make_function
from .registry import MUL

__all__ = ["SincSlope", "Sech2", "logit", "Erfcx", "LogNdtr", "Hyp1f1", "Exprel", "Hypot"]


def _sinc_slope(x):
    return sp.Piecewise(((x * sp.cos(x) - sp.sin(x)) / x**2, sp.Ne(x, 0)), (0, True))


def _arb_sinc_slope(x):
    if x > 0 or x < 0:
        return (x * x.cos() - x.sin()) / power(x, x * 0 + 2)
    return x * 0 if x.is_zero() else arb_nan()


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
    arb=_arb_sinc_slope, standard=_sinc_slope, names=(), shown=_sinc_slope, complex_step=False)

# tanh's derivative 1 - tanh(u)^2 = sech(u)^2, computed by a helper that cannot overflow.
Sech2 = make_function(
    "sech2", class_name="Sech2",
    rule=lambda g, ans, u: (-2 * g * ans * sp.tanh(u),),
    numpy="_sech2", mpmath=lambda u: mp.sech(u)**2, underflows=True,
    arb=lambda u: power(u.sech(), u * 0 + 2),
    standard=lambda u: sp.sech(u)**2, names=(), shown=lambda u: sp.sech(u)**2)

logit = make_function(
    "logit", rule=lambda g, ans, p: (g / (p * (1 - p)),),
    numpy="special.logit", mpmath=lambda p: mp.log(p / (1 - p)),
    arb=increasing(lambda p: (p / (1 - p)).log()),
    standard=lambda p: sp.log(p / (1 - p)),
    domain=lambda node: [node.args[0], 1 - node.args[0]])


# --- stable forms of erfc tails, log Phi and expm1(t)/t ---

# erfcx(x) = e^(x^2) erfc(x): erfc underflows past x = 26.5, erfcx is about 1/(sqrt(pi) x) there
Erfcx = make_function(
    "erfcx", class_name="Erfcx",
    rule=lambda g, ans, x: (g * (2 * x * ans - 2 / sp.sqrt(sp.pi)),),
    numpy="special.erfcx", mpmath=lambda x: mp.exp(x**2) * mp.erfc(x), complex_step=False,
    arb=decreasing(lambda x: (x * x).exp() * x.erfc()),
    standard=lambda x: sp.exp(x**2) * sp.erfc(x))

# log Phi(x), Phi the standard normal CDF: Phi underflows past x = -38; its slope
# phi(x)/Phi(x) = sqrt(2/pi)/erfcx(-x/sqrt(2)) is never 0/0
LogNdtr = make_function(
    "log_ndtr", class_name="LogNdtr",
    rule=lambda g, ans, x: (g * sp.sqrt(2 / sp.pi) / Erfcx(-x / sp.sqrt(2)),),
    numpy="special.log_ndtr", mpmath=lambda x: mp.log(mp.ncdf(x)), underflows=True,
    arb=increasing(lambda x: ((-x / (x * 0 + 2).sqrt()).erfc() / 2).log()),
    complex_step=False, standard=lambda x: sp.log(sp.erfc(-x / sp.sqrt(2)) / 2))


def _hyp1f1(g, ans, a, b, t):
    if not (a.is_number and b.is_number):
        raise UnsupportedExpression("hyp1f1(%s, %s, t) is differentiated in t only; its first two "
                                    "arguments must be numbers" % (a, b))
    return None, None, g * a / b * Hyp1f1(a + 1, b + 1, t)


# Kummer's 1F1(a; b; t), whose t-derivative is (a/b) 1F1(a+1; b+1; t): every derivative of
# exprel(t) = 1F1(1; 2; t) without the cancellation of (t e^t - e^t + 1)/t^2 near t = 0
Hyp1f1 = make_function(
    "hyp1f1", class_name="Hyp1f1", nargs=3, rule=_hyp1f1, numpy="special.hyp1f1",
    mpmath=mp.hyp1f1, arb=lambda a, b, t: t.hypgeom_1f1(a, b), names=(), complex_step=False,
    standard=lambda a, b, t: sp.hyper([a], [b], t))

# exprel(t) = (e^t - 1)/t, 1 at t = 0: Box-Cox (x^lam - 1)/lam is log(x) exprel(lam log x)
Exprel = make_function(
    "exprel", class_name="Exprel",
    rule=lambda g, ans, t: (g * Hyp1f1(2, 3, t) / 2,),
    numpy="special.exprel", mpmath=lambda t: mp.expm1(t) / t if t != 0 else mp.mpf(1),
    arb=lambda t: t.hypgeom_1f1(1, 2),
    complex_step=False,
    standard=lambda t: sp.Piecewise(((sp.exp(t) - 1) / t, sp.Ne(t, 0)), (1, True)))

# hypot(u, v) = sqrt(u^2 + v^2) without forming the squares, which overflow past 1.3e154 and
# underflow below 1.5e-154; its slopes u/hypot and v/hypot lie in [-1, 1] (NaN at the origin,
# the kink of sqrt(u^2 + v^2))
Hypot = make_function(
    "hypot", class_name="Hypot", nargs=2,
    rule=lambda g, ans, u, v: (g * u / ans, g * v / ans),
    numpy="np.hypot", mpmath=mp.hypot, complex_step=False, names=(),
    arb=lambda u, v: (power(u, u * 0 + 2) + power(v, v * 0 + 2)).sqrt(),
    standard=lambda u, v: sp.sqrt(u**2 + v**2), shown=lambda u, v: sp.sqrt(u**2 + v**2))
