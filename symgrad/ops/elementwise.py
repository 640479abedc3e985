"""Registry entries of the elementwise ops: one entry per op (see ``registry.py``).

Each entry reads as the math: the derivative rule, then how NumPy prints it, how
mpmath evaluates it, and its kinks and domain where it has them.
"""

import mpmath as mp
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from . import balls as B
from .balls import decreasing, increasing
from .derived import SincSlope
from .functions import attach
from .registry import BUILTIN, CALL, CONDITION, ELEMENTWISE, MUL, UNKNOWN_DERIVATIVE, Op, register
from .scalar_nodes import LogSoftmax, LogSumExp, Sigmoid, Softplus, XLog1pY, XLogY

__all__ = ["RELATIONAL", "BOOLEAN"]


def elementwise(cls, rule, numpy, mpmath=None, *, names=None, **facts):
    """Register one elementwise op; ``names`` defaults to the class name."""
    names = (cls.__name__,) if names is None else names
    return register(Op(cls, ELEMENTWISE, rule=rule, numpy=numpy, mpmath=mpmath, names=names,
                       **facts))


# --- printing helpers for entries whose NumPy text is not a plain call ------------------

def reciprocal(name):
    """f(x) = 1/g(x): sec -> 1/np.cos(x)."""
    return lambda p, x: ("1/%s" % p.call(name, x), MUL)


def inverse_reciprocal(name):
    """f(x) = g(1/x): asec -> np.arccos(1/x)."""
    return lambda p, x: (p.call(name, 1 / x), CALL)


def chained(name):
    """n-ary max/min as nested binary calls."""
    def text(p, *xs):
        out = p.print(xs[0])
        for x in xs[1:]:
            out = "%s(%s, %s)" % (p.name(name), out, p.print(x))
        return out, CALL
    return text


def at_zero(node):
    return [("%s at argument 0" % sp.sstr(node), node.args[0])]


def ties(node):
    args = node.args
    return [("a tie in %s" % sp.sstr(node), args[i] - args[j])
            for i in range(len(args)) for j in range(i + 1, len(args))]


def boundaries(node):
    out = []
    for _, cond in node.args:
        for rel in cond.atoms(sp.core.relational.Relational):
            out.append(("the Piecewise boundary %s = %s" % (sp.sstr(rel.lhs), sp.sstr(rel.rhs)),
                        rel.lhs - rel.rhs))
    return out


# --- rules that take more than one line --------------------------------------------------

def _pow(g, ans, x, e):
    if e == sp.S.Half:
        dx = g / (2 * ans)
    elif e == -1:
        dx = -g * ans**2
    else:
        dx = g * e * x**(e - 1)
    de = None if e.is_number else g * ans * sp.log(x)
    return dx, de


def _pow_domain(node):
    base, e = node.args
    return [] if e.is_integer else [base]


def _piecewise(g, ans, *args):
    out, earlier = [], []
    for cond in args[1::2]:
        selected = sp.And(cond, *[sp.Not(c) for c in earlier])
        out += [sp.Piecewise((g, selected), (0, True)), None]
        earlier.append(cond)
    return tuple(out)


def _log_softmax(g, ans, k, *zs):
    # 1 - softmax_k = -expm1(ans) keeps its digits when softmax_k is near 1
    return (None,) + tuple(-g * expm1(ans) if j == k else -g * sp.exp(z - zs[k] + ans)
                           for j, z in enumerate(zs))


def _no_gradient(g, ans, *args):
    return (None,) * len(args)


def _heaviside(x, h0=sp.S.Half):
    return mp.mpf(1) if x > 0 else mp.mpf(0) if x < 0 else mp.mpf(h0)


def _arb_acot(t):
    if B.real_part(t) > 0 or B.real_part(t) < 0:
        return (1 / t).atan()
    return (t * 0 + 1).atan() * 2 if t.is_zero() else B.arb_nan()


def _arb_polygamma(n, x):
    k = int(n.unique_fmpz()) if n.is_exact() and n.is_integer() else None
    if k is None or k < 0:
        return B.arb_nan()
    if k == 0:
        return x.digamma()
    factorial = 1
    for j in range(2, k + 1):
        factorial *= j
    return (-1) ** (k + 1) * factorial * (x * 0 + k + 1).zeta(x)


def _log_softmax_mp(k, *zs):
    top = max(zs)
    return zs[int(k)] - top - mp.log(mp.fsum(mp.exp(z - top) for z in zs))


# --- arithmetic ---
elementwise(sp.Add, lambda g, ans, x, y: (g, g), BUILTIN, lambda x, y: x + y, names=(), arb=B.total,
            lower="_add_chain")
elementwise(sp.Mul, lambda g, ans, x, y: (g * y, g * x), BUILTIN, lambda x, y: x * y, names=(),
            arb=B.product,
            lower="_mul_chain")
elementwise(sp.Pow, _pow, BUILTIN, lambda x, e: x**e, names=(), domain=_pow_domain, arb=B.power,
            arity=(2, 2), lower="_pow")

# --- exponential and logarithm ---
elementwise(sp.exp, lambda g, ans, x: (g * ans,), "np.exp", mp.exp, underflows=True,
            arb=increasing(lambda t: t.exp()))
elementwise(sp.log, lambda g, ans, x: (g / x,), "np.log", mp.log, arity=(1, 2), arb=B.log,
            domain=lambda node: [node.args[0]], positive=(0,))
elementwise(log1p, lambda g, ans, x: (g / (1 + x),), "np.log1p", mp.log1p,
            arb=increasing(lambda t: t.log1p()),
            domain=lambda node: [1 + node.args[0]], standard=lambda x: sp.log(1 + x))
elementwise(expm1, lambda g, ans, x: (g * sp.exp(x),), "np.expm1", mp.expm1, underflows=True,  # not ans + 1
            arb=increasing(lambda t: t.expm1()),
            standard=lambda x: sp.exp(x) - 1)
elementwise(XLogY, lambda g, ans, x, y: (g * sp.log(y),
                                         g * sp.Piecewise((0, sp.Eq(x, 0)), (x / y, True))),
            "special.xlogy", lambda x, y: 0 if x == 0 else x * mp.log(y), names=(), arb=B.xlogy,
            arity=(2, 2), complex_step=False, standard=lambda x, y: x * sp.log(y))
elementwise(XLog1pY, lambda g, ans, x, y: (g * log1p(y),
                                           g * sp.Piecewise((0, sp.Eq(x, 0)), (x / (1 + y), True))),
            "special.xlog1py", lambda x, y: 0 if x == 0 else x * mp.log1p(y), names=(),
            arb=lambda x, y: B.xlogy(x, 1 + y), arity=(2, 2), complex_step=False,
            domain=lambda node: [1 + node.args[1]], standard=lambda x, y: x * sp.log(1 + y))
elementwise(Sigmoid, lambda g, ans, x: (g * ans * Sigmoid(-x),), "special.expit",
            lambda z: 1 / (1 + mp.exp(-z)), names=("sigmoid",), complex_step=False, underflows=True,
            arb=increasing(lambda z: 1 / (1 + (-z).exp())),
            standard=lambda z: 1 / (1 + sp.exp(-z)))
elementwise(Softplus, lambda g, ans, x: (g * Sigmoid(x),), "_softplus",
            lambda z: mp.log1p(mp.exp(z)), names=("softplus",), complex_step=False, underflows=True,
            arb=increasing(lambda z: z.exp().log1p()),
            standard=lambda z: sp.log(1 + sp.exp(z)))
elementwise(LogSumExp, lambda g, ans, *xs: tuple(g * sp.exp(x - ans) for x in xs), "_logsumexp",
            lambda *zs: max(zs) + mp.log(mp.fsum(mp.exp(z - max(zs)) for z in zs)),
            names=("logsumexp",), arity=(1, None), complex_step=False, underflows=True,
            arb=B.logsumexp,
            standard=lambda *zs: sp.log(sp.Add(*[sp.exp(z) for z in zs])))
elementwise(LogSoftmax, _log_softmax, "_log_softmax", _log_softmax_mp, names=(), arb=B.log_softmax,
            arity=(2, None), complex_step=False, underflows=True,
            standard=lambda k, *zs: zs[int(k)] - sp.log(sp.Add(*[sp.exp(z) for z in zs])))

# --- trigonometric ---
elementwise(sp.sin, lambda g, ans, x: (g * sp.cos(x),), "np.sin", mp.sin, arb=lambda t: t.sin())
elementwise(sp.cos, lambda g, ans, x: (-g * sp.sin(x),), "np.cos", mp.cos, arb=lambda t: t.cos())
elementwise(sp.tan, lambda g, ans, x: (g * (1 + ans**2),), "np.tan", mp.tan, arb=lambda t: t.tan())
elementwise(sp.cot, lambda g, ans, x: (-g * (1 + ans**2),), reciprocal("np.tan"), mp.cot,
            arb=lambda t: t.cot())
elementwise(sp.sec, lambda g, ans, x: (g * ans * sp.tan(x),), reciprocal("np.cos"), mp.sec,
            arb=lambda t: t.sec())
elementwise(sp.csc, lambda g, ans, x: (-g * ans * sp.cot(x),), reciprocal("np.sin"), mp.csc,
            arb=lambda t: t.csc())
elementwise(sp.asin, lambda g, ans, x: (g / sp.sqrt(1 - x**2),), "np.arcsin", mp.asin,
            arb=increasing(lambda t: t.asin()),
            domain=lambda node: [1 - node.args[0]**2])
elementwise(sp.acos, lambda g, ans, x: (-g / sp.sqrt(1 - x**2),), "np.arccos", mp.acos,
            arb=decreasing(lambda t: t.acos()),
            domain=lambda node: [1 - node.args[0]**2])
elementwise(sp.atan, lambda g, ans, x: (g / (1 + x**2),), "np.arctan", mp.atan,
            arb=increasing(lambda t: t.atan()))
elementwise(sp.acot, lambda g, ans, x: (-g / (1 + x**2),), inverse_reciprocal("np.arctan"),
            mp.acot, arb=_arb_acot)
elementwise(sp.asec, lambda g, ans, x: (g / (x**2 * sp.sqrt(1 - 1 / x**2)),),
            inverse_reciprocal("np.arccos"), mp.asec, domain=lambda node: [node.args[0]**2 - 1],
            arb=lambda t: (1 / t).acos())
elementwise(sp.acsc, lambda g, ans, x: (-g / (x**2 * sp.sqrt(1 - 1 / x**2)),),
            inverse_reciprocal("np.arcsin"), mp.acsc, domain=lambda node: [node.args[0]**2 - 1],
            arb=lambda t: (1 / t).asin())
elementwise(sp.atan2, lambda g, ans, y, x: (g * x / (x**2 + y**2), -g * y / (x**2 + y**2)),
            "np.arctan2", mp.atan2, arity=(2, 2), complex_step=False, arb=B.atan2,
            kinks=lambda node: [("atan2's branch cut in %s" % sp.sstr(node), node.args)])
elementwise(sp.sinc, lambda g, ans, x: (g * SincSlope(x),), lambda p, x: (
    "%s(%s/%s)" % (p.name("np.sinc"), p.paren(x, MUL + 1), p.name("np.pi")), CALL), mp.sinc,
    arb=lambda t: t.sinc())

# --- hyperbolic ---
elementwise(sp.sinh, lambda g, ans, x: (g * sp.cosh(x),), "np.sinh", mp.sinh, underflows=True,
            arb=increasing(lambda t: t.sinh()))
elementwise(sp.cosh, lambda g, ans, x: (g * sp.sinh(x),), "np.cosh", mp.cosh, underflows=True,
            arb=lambda t: t.cosh())
elementwise(sp.tanh, lambda g, ans, x: (g * (1 - ans**2),), "np.tanh", mp.tanh,  # code: Sech2
            arb=increasing(lambda t: t.tanh()))
elementwise(sp.coth, lambda g, ans, x: (g * (1 - ans**2),), reciprocal("np.tanh"), mp.coth,
            arb=lambda t: t.coth())
elementwise(sp.sech, lambda g, ans, x: (-g * ans * sp.tanh(x),), reciprocal("np.cosh"), mp.sech,
            arb=lambda t: t.sech())
elementwise(sp.csch, lambda g, ans, x: (-g * ans * sp.coth(x),), reciprocal("np.sinh"), mp.csch,
            arb=lambda t: t.csch())
elementwise(sp.asinh, lambda g, ans, x: (g / sp.sqrt(x**2 + 1),), "np.arcsinh", mp.asinh,
            arb=increasing(lambda t: t.asinh()))
elementwise(sp.acosh, lambda g, ans, x: (g / (sp.sqrt(x - 1) * sp.sqrt(x + 1)),), "np.arccosh",
            mp.acosh, domain=lambda node: [node.args[0] - 1], positive=(0,),
            arb=increasing(lambda t: t.acosh()))
elementwise(sp.atanh, lambda g, ans, x: (g / (1 - x**2),), "np.arctanh", mp.atanh,
            arb=increasing(lambda t: t.atanh()),
            domain=lambda node: [1 - node.args[0]**2])
elementwise(sp.acoth, lambda g, ans, x: (g / (1 - x**2),), inverse_reciprocal("np.arctanh"),
            mp.acoth, domain=lambda node: [node.args[0]**2 - 1], arb=lambda t: (1 / t).atanh())
elementwise(sp.asech, lambda g, ans, x: (-g / (x * sp.sqrt(1 - x**2)),),
            inverse_reciprocal("np.arccosh"), mp.asech, arb=lambda t: (1 / t).acosh(),
            domain=lambda node: [node.args[0], 1 - node.args[0]])
elementwise(sp.acsch, lambda g, ans, x: (-g / (x**2 * sp.sqrt(1 + x**-2)),),
            inverse_reciprocal("np.arcsinh"), mp.acsch, arb=lambda t: (1 / t).asinh())

# --- kinks, steps and branches ---
elementwise(sp.Abs, lambda g, ans, x: (g * sp.sign(x),), "np.abs", abs, names=("abs", "Abs"),
            kinks=at_zero, corner=True, complex_step=False, arb=abs)
elementwise(sp.sign, lambda g, ans, x: (2 * g * sp.DiracDelta(x),), "np.sign", mp.sign,
            kinks=at_zero, complex_step=False, arb=B.sign)
elementwise(sp.Heaviside, lambda g, ans, x, h0: (g * sp.DiracDelta(x), None), "np.heaviside",
            _heaviside, names=("heaviside", "Heaviside"), arity=(1, 1), kinks=at_zero,
            complex_step=False, arb=B.heaviside)
elementwise(sp.DiracDelta, lambda g, ans, x, *k: (g * sp.DiracDelta(x, (k[0] if k else 0) + 1),)
            + (None,) * len(k), BUILTIN, lambda x, *k: 0, names=(), arity=(1, 2),
            complex_step=False, arb=B.delta)
elementwise(sp.Max, lambda g, ans, x, y: (g * sp.Heaviside(x - y), g * sp.Heaviside(y - x)),
            chained("np.maximum"), max, names=("max", "Max"), arity=(2, None), kinks=ties,
            corner=True, complex_step=False, arb=B.maximum)
elementwise(sp.Min, lambda g, ans, x, y: (g * sp.Heaviside(y - x), g * sp.Heaviside(x - y)),
            chained("np.minimum"), min, names=("min", "Min"), arity=(2, None), kinks=ties,
            corner=True, complex_step=False, arb=B.minimum)
elementwise(sp.Piecewise, _piecewise, BUILTIN, None, names=(), arity=(2, None),
            kinks=boundaries, complex_step=False, lower="_piecewise", arb=B.piecewise)

# --- special functions ---
elementwise(sp.erf, lambda g, ans, x: (2 * g * sp.exp(-x**2) / sp.sqrt(sp.pi),), "special.erf",
            mp.erf, arb=increasing(lambda t: t.erf()))
elementwise(sp.erfc, lambda g, ans, x: (-2 * g * sp.exp(-x**2) / sp.sqrt(sp.pi),),
            "special.erfc", mp.erfc, arb=decreasing(lambda t: t.erfc()))
elementwise(sp.gamma, lambda g, ans, x: (g * ans * sp.polygamma(0, x),), "special.gamma",
            mp.gamma, positive=(0,), arb=lambda t: t.gamma())
elementwise(sp.loggamma, lambda g, ans, x: (g * sp.polygamma(0, x),), "special.gammaln",
            mp.loggamma, names=("loggamma", "lgamma"), domain=lambda node: [node.args[0]],
            positive=(0,), arb=lambda t: t.lgamma())
elementwise(sp.polygamma, lambda g, ans, n, x: (UNKNOWN_DERIVATIVE, g * sp.polygamma(n + 1, x)),
            lambda p, n, x: (p.call("special.psi", x) if n == 0 else
                             p.call("special.polygamma", n, x), CALL),
            mp.polygamma, arity=(2, 2), positive=(1,), arb=_arb_polygamma)
elementwise(sp.beta, lambda g, ans, a, b: (g * ans * (sp.polygamma(0, a) - sp.polygamma(0, a + b)),
                                            g * ans * (sp.polygamma(0, b) - sp.polygamma(0, a + b))),
            "special.beta", mp.beta, arity=(2, 2), positive=(0, 1),
            arb=lambda a, b: (a.lgamma() + b.lgamma() - (a + b).lgamma()).exp())
elementwise(sp.besseli, lambda g, ans, nu, x: (UNKNOWN_DERIVATIVE,
                                               g * (sp.besseli(nu - 1, x) + sp.besseli(nu + 1, x)) / 2),
            "special.iv", mp.besseli, arity=(2, 2), underflows=True,
            arb=lambda nu, x: x.bessel_i(nu))
elementwise(sp.factorial, lambda g, ans, x: (g * ans * sp.polygamma(0, x + 1),),
            lambda p, x: (p.call("special.gamma", x + 1), CALL), lambda x: mp.gamma(x + 1),
            positive=(0,), arb=lambda x: (x + 1).gamma())
elementwise(sp.binomial, lambda g, ans, n, k: (
    g * ans * (sp.polygamma(0, n + 1) - sp.polygamma(0, n - k + 1)),
    g * ans * (sp.polygamma(0, n - k + 1) - sp.polygamma(0, k + 1))),
    "special.binom", mp.binomial, arity=(2, 2), positive=(0,),
    arb=lambda n, k: (n + 1).gamma() / ((k + 1).gamma() * (n - k + 1).gamma()))

# --- conditions (no gradient flows) ---
RELATIONAL = (sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan, sp.LessThan,
              sp.Equality, sp.Unequality)
BOOLEAN = (sp.And, sp.Or, sp.Not)
for _cls, _kind in zip(RELATIONAL, (">", ">=", "<", "<=", "==", "!=")):
    register(Op(_cls, CONDITION, rule=_no_gradient, numpy=BUILTIN, arity=(2, 2),
                arb=B.relation(_kind)))
for _cls, _name, _arb in zip(BOOLEAN, ("np.logical_and", "np.logical_or", "np.logical_not"),
                             (B.both, B.either, B.negate)):
    register(Op(_cls, CONDITION, rule=_no_gradient,
                numpy=chained(_name) if _cls is not sp.Not else _name,
                arity=(1, 1) if _cls is sp.Not else (2, None), arb=_arb))

for _cls in (Sigmoid, Softplus, LogSumExp, LogSoftmax, XLogY, XLog1pY):
    attach(_cls)
