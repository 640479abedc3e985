"""Functions people register: ``register_function``, checked before it is accepted.

A registered function becomes a SymPy function class with an ordinary registry entry,
made by the same ``make_function`` as symgrad's own derived ops, so every stage (grad,
value_and_grad, check_grad, verify, hessian, fit) handles it with no other edit. Before
the entry is accepted, the derivative is compared with a numeric derivative of the
implementation (mpmath's ``diff`` at 30 digits when an mpmath implementation is given,
else Richardson differences of the NumPy one), and the NumPy implementation with the
mpmath one; a disagreement raises ``RuleMismatch`` naming the point.
"""

from __future__ import annotations

import keyword
import math
import unicodedata
from typing import Callable, Optional, Sequence

import mpmath as mp
import numpy as np
import sympy as sp

from ..errors import ArgumentError, RuleMismatch
from .balls import interval_fact
from .registry import CALL
from .functions import make_function
from .helpers import HELPERS
from .registry import entries

__all__ = ["register_function", "implementation"]

# tried in order, outside the domain skipped: both signs, from near 0 out to 8, irregularly
# spaced so a rule wrong on part of the line (a missing branch, a sign) is caught
POINTS = (-2.5, -1.3, -0.7, -0.2, 0.3, 0.9, 1.6, 2.8,
          -7.7, -5.3, -3.6, -1.9, -0.45, -0.07, 0.02, 0.13, 0.55, 1.2, 2.1, 3.3, 4.4, 6.1, 7.9)
MIN_POINTS = 3
RTOL_MPMATH = 1e-15       # given derivative vs mpmath.diff of the mpmath implementation (30 digits)
RTOL_NUMPY = 1e-6         # ... vs Richardson differences of the NumPy implementation (float64)
RTOL_AGREE = 1e-9         # NumPy implementation vs mpmath implementation

_IMPLEMENTATIONS: dict = {}
_COUNT = [0]


def implementation(name: str) -> Callable:
    """The NumPy implementation of registered function ``name`` (generated code calls it)."""
    try:
        return _IMPLEMENTATIONS[name]
    except KeyError:
        raise ArgumentError("%s is not registered in this process; call "
                            "symgrad.register_function(%r, ...) before using this code"
                            % (name, name)) from None


def register_function(name: str, derivative: Callable, numpy: Callable,
                      mpmath: Optional[Callable] = None, *,
                      points: Optional[Sequence[float]] = None) -> type:
    """Register an elementwise function of one argument and return its SymPy class.

    ``derivative(x)`` is a SymPy expression in ``x``; ``numpy`` works entry by entry on
    arrays; ``mpmath`` (recommended) evaluates at any precision and makes verification
    rigorous. ``points`` overrides the sample points of the registration check (give
    points inside the function's domain). Raises RuleMismatch, naming the point, when the
    derivative or the two implementations disagree.

    >>> import sympy as sp, numpy as np, symgrad as sg
    >>> F = sg.register_function("softsign_doc", derivative=lambda x: 1/(1 + sp.Abs(x))**2,
    ...                          numpy=lambda x: x/(1 + np.abs(x)), mpmath=lambda x: x/(1 + abs(x)))
    >>> w = sp.Symbol("w")
    >>> sg.grad(F(2*w), w)
    2/(2*Abs(w) + 1)**2
    """
    ident = _identifier(name)
    if not callable(numpy) or (mpmath is not None and not callable(mpmath)):
        raise ArgumentError("register_function(%r): numpy and mpmath must be functions of one "
                            "argument" % name)
    x = sp.Dummy("x", real=True)
    slope = _derivative(name, derivative, x)
    _check(name, slope, x, numpy, mpmath, points or POINTS)
    _COUNT[0] += 1
    key = "%s_%d" % (ident, _COUNT[0])       # each registration keeps its own implementation
    helper = "_user_" + key
    _IMPLEMENTATIONS[key] = numpy
    HELPERS[helper] = ('from symgrad.ops.user import implementation\n'
                       '%s = implementation(%r)  # %s, registered with symgrad.register_function'
                       % (helper, key, name))
    evaluator = mpmath if mpmath is not None else _float_evaluator(numpy)
    return make_function(
        name, class_name=ident, user=True,
        rule=lambda g, ans, u: (g * slope.xreplace({x: u}),),
        numpy=lambda p, u: (p.call(helper, u), CALL), mpmath=evaluator,
        arb=interval_fact(mpmath) if mpmath is not None else None,
        complex_step=False, float_only=mpmath is None)


# --- checks ------------------------------------------------------------------------------

def _identifier(name):
    if not isinstance(name, str):
        raise ArgumentError("register_function: name must be a string, got %r" % (name,))
    ident = unicodedata.normalize("NFKC", name)
    if not ident.isidentifier() or keyword.iskeyword(ident) or ident.startswith("_"):
        raise ArgumentError("register_function: %r is not usable as a function name; use letters, "
                            "digits and underscores, starting with a letter" % name)
    for op in entries():
        if not op.user and (op.name.lower() == ident.lower() or ident in op.names):
            raise ArgumentError("register_function: %r is a built-in op; choose another name" % name)
    if ident in dir(sp) or ident in ("np", "special", "loss", "value", "value_and_grad"):
        raise ArgumentError("register_function: %r is taken by SymPy or generated code; choose "
                            "another name" % name)
    return ident


def _derivative(name, derivative, x):
    if not callable(derivative):
        raise ArgumentError("register_function(%r): derivative must be a function returning a SymPy "
                            "expression in its argument" % name)
    try:
        slope = derivative(x)
    except Exception as e:                 # the user's callable: its failure, named, with the cause
        raise ArgumentError("register_function(%r): derivative(x) raised %s: %s; it must take one "
                            "SymPy symbol and return an expression in it" % (name, type(e).__name__, e)) \
            from e
    if isinstance(slope, str) or not isinstance(slope, (sp.Expr, int, float)):
        raise ArgumentError("register_function(%r): derivative(x) must return a SymPy expression, "
                            "got %r" % (name, slope))
    slope = sp.sympify(slope)
    extra = slope.free_symbols - {x}
    if extra:
        raise ArgumentError("register_function(%r): derivative(x) may use only x; it also uses %s"
                            % (name, ", ".join(sorted(map(str, extra)))))
    return slope


def _check(name, slope, x, numpy, mpmath, points):
    used = 0
    for p in points:
        expected = _numeric_slope(numpy, mpmath, p)
        if expected is None:
            continue
        got = _value(slope.xreplace({x: sp.Rational(p)}))
        if got is None:
            continue
        rtol = RTOL_MPMATH if mpmath is not None else RTOL_NUMPY
        if abs(got - expected) > rtol * max(1.0, abs(expected)):
            raise RuleMismatch(
                "register_function(%r): the derivative gives %.17g at x = %s, but the numeric "
                "derivative of the %s implementation is %.17g; fix the derivative (or the "
                "implementation)" % (name, got, p, "mpmath" if mpmath else "NumPy", expected),
                point=p, expected=expected, got=got)
        if mpmath is not None:
            _agree(name, numpy, mpmath, p)
        used += 1
    if used < MIN_POINTS:
        raise ArgumentError("register_function(%r): the implementation could be evaluated at only "
                            "%d of the sample points %s; pass points=[...] inside its domain"
                            % (name, used, list(points)))
    _vectorized(name, numpy, points)


def _numeric_slope(numpy, mpmath, p):
    try:
        if mpmath is not None:
            with mp.workdps(30):
                d = mp.diff(mpmath, mp.mpf(p))
                return float(d) if mp.isfinite(d) and not isinstance(d, mp.mpc) else None
        h = 1e-3
        d1 = (float(numpy(p + h)) - float(numpy(p - h))) / (2 * h)
        d2 = (float(numpy(p + h / 2)) - float(numpy(p - h / 2))) / h
        d = (4 * d2 - d1) / 3
        return d if math.isfinite(d) else None
    except (ValueError, ZeroDivisionError, TypeError, OverflowError, ArithmeticError):
        return None


def _value(e):
    try:
        v = complex(e.evalf(30))
    except (TypeError, ValueError):
        return None
    return v.real if v.imag == 0 and math.isfinite(v.real) else None


def _agree(name, numpy, mpmath, p):
    with mp.workdps(30):
        want = mpmath(mp.mpf(p))
    got = float(np.asarray(numpy(np.float64(p))))
    if not mp.isfinite(want) or abs(got - float(want)) > RTOL_AGREE * max(1.0, abs(float(want))):
        raise RuleMismatch("register_function(%r): the NumPy implementation gives %.17g at x = %s "
                           "but the mpmath one gives %s; make them compute the same function"
                           % (name, got, p, mp.nstr(want, 17)), point=p, expected=want, got=got)


def _vectorized(name, numpy, points):
    a = np.asarray(points, dtype=float)
    with np.errstate(all="ignore"):
        try:
            out = np.asarray(numpy(a))
        except Exception as exc:   # a user function: any failure means it is not elementwise
            raise ArgumentError("register_function(%r): the NumPy implementation fails on an "
                                "array (%s); it must work entry by entry on arrays"
                                % (name, exc)) from None
    if out.shape != a.shape:
        raise ArgumentError("register_function(%r): the NumPy implementation maps shape %s to %s; "
                            "it must work entry by entry on arrays" % (name, a.shape, out.shape))


def _float_evaluator(numpy):
    """Evaluation through the NumPy implementation: float64 accuracy only."""
    return lambda u: mp.mpf(float(numpy(float(u))))

