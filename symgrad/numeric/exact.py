"""Exact closed forms: SymPy expressions at exact points.

A point maps symbols to exact numbers (Rationals, integer dimensions, ImmutableMatrices of
Rationals). ``closed_form`` substitutes it bottom up and returns the exact closed-form value
(a SymPy number such as ``log(3/2) + 1/4``, or an ImmutableMatrix of them), turning every
matrix node with numeric dimensions explicit as soon as it can. Its values are then
enclosed in balls by ``enclose.py`` (the one evaluator of "the truth": check_grad's
reference values, verify's certified signs). Three guards keep evaluation finite:

* a rational power whose exact value would have more than MAX_DIGITS digits stays
  unevaluated as a ``HugePower`` that evalf computes at any precision;
* ``exp(a)`` or ``b**a`` with ``a`` (or ``a log |b|``) above MAX_EXPONENT is refused
  (``Undefined``): its value could not be computed; a huge *negative* exponent is kept
  (e^-10^9 is a tiny positive number that a ball encloses with its own exponent);
* gamma, factorial or binomial of a rational above MAX_FACTORIAL stays unevaluated (SymPy
  would multiply gamma(9*10**11) out exactly, without end); the balls evaluate it.

An op registered without an mpmath implementation (``float_only``) evaluates through its
NumPy implementation, so its values carry 53 bits; ``float_only_ops`` names such ops.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import sympy as sp
from mpmath.libmp import prec_to_dps
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr

from ..ops import lookup
from ..ops.nodes import to_standard
from .deadline import check as check_deadline

__all__ = ["Undefined", "HugePower", "exact", "substitute", "closed_form", "beyond_reach",
           "is_finite_real", "float_only_ops", "MAX_EXPONENT", "MAX_DIGITS"]

MAX_EXPONENT = 10**5  # exp(a) or b**a with |a|, |a log b| beyond this is too large to evaluate
MAX_DIGITS = 10**4    # larger exact powers stay unevaluated (HugePower)
MAX_TERMS = 10**5     # longer Sums and Products are left to SymPy's doit
MAX_FACTORIAL = 2000  # gamma, factorial, binomial of a larger rational stay unevaluated
FACTORIALS = (sp.gamma, sp.factorial, sp.binomial)


class Undefined(Exception):
    """An expression has no finite value at this point (pole, log of a negative, too large)."""


def exact(value):
    """An exact SymPy number (or ImmutableMatrix) for a float or array.

    >>> exact(0.375), exact([[1.0, 2.5]])
    (3/8, Matrix([[1, 5/2]]))
    """
    a = np.asarray(value)
    if a.ndim == 0:
        return sp.Rational(float(a)) if a.dtype.kind == "f" else sp.Integer(int(a))
    return sp.ImmutableMatrix(a.shape[0], a.shape[1], [sp.Rational(float(v)) for v in a.ravel()])


# --- huge powers --------------------------------------------------------------------

class HugePower(sp.Expr):
    """base**exp for a rational base and exponent, too large to evaluate exactly.

    Arithmetic leaves it alone (it is not a Pow); evalf computes it in mpmath
    with enough guard bits for the exponent's size.
    """

    is_commutative = True

    def _eval_evalf(self, prec):
        b, e = self.args
        scale = float(abs(e)) * (abs(math.log(abs(b.p))) + math.log(b.q) + 1)
        with mpmath.workprec(prec + 20 + int(math.log2(scale + 2))):
            v = mpmath.power(mpmath.mpf(b.p) / b.q,
                             mpmath.mpf(e.p) / e.q if e.q != 1 else mpmath.mpf(e.p))
            if isinstance(v, mpmath.mpc):
                return sp.Float(v.real, prec_to_dps(prec)) + sp.I * sp.Float(v.imag, prec_to_dps(prec))
            return sp.Float(v, prec_to_dps(prec))

    def _sympystr(self, printer):
        return "(%s)**(%s)" % self.args


def _digits(b, e):
    """About how many decimal digits the exact value of b**e has (b, e Rational)."""
    size = max(abs(b.p), b.q)
    if size <= 1 or e == 0:
        return 0
    try:
        return float(abs(e)) * size.bit_length() * 0.30103
    except OverflowError:
        return math.inf


def beyond_reach(e) -> bool:
    """True when the closed-form number e holds exp(a) or b**a so large (the real part of a
    or of a log |b| above MAX_EXPONENT, e.g. exp(exp(exp(17)))) that evaluating it would
    not finish. A huge negative exponent is within reach: exp(-10**9) is a tiny number
    that an Arb ball encloses (its exponent is an arbitrary integer).

    Nodes are checked innermost first, so each check evaluates only what already passed.
    """
    for node in sp.postorder_traversal(e):
        check_deadline()
        if isinstance(node, sp.exp):
            size = node.args[0]
        elif isinstance(node, sp.Pow) and not node.exp.is_Integer:
            size = node.exp * sp.log(abs(node.base)) if node.base != 0 else sp.S.Zero
        else:
            continue
        if not size.is_number:
            continue
        try:
            value = complex(size.evalf(15))
        except (TypeError, ValueError, ArithmeticError):
            continue
        if value.real > MAX_EXPONENT:
            return True
    return False


# --- the closed form at a point -------------------------------------------------------

def substitute(e, point: dict, explicit: bool = True):
    """Substitute the point bottom up, turning matrix nodes explicit as soon as they can be.

    Going bottom up matters: an entry of a product, (x.T*A*x)[0, 0], then
    indexes an explicit matrix instead of becoming an unevaluated Sum. A power
    of rationals with more than MAX_DIGITS digits becomes a HugePower.
    """
    if e in point:
        return point[e]
    if isinstance(e, sp.MatrixBase):
        return sp.ImmutableMatrix(e.xreplace(point))
    if not e.args:
        return e
    check_deadline()                           # a caller's budget holds inside one evaluation
    if isinstance(e, sp.Lambda):
        return e.xreplace(point)
    args = [substitute(a, point, explicit) for a in e.args]
    if isinstance(e, sp.Pow) and args[0].is_Rational and args[1].is_Rational \
            and _digits(*args) > MAX_DIGITS:
        return HugePower(*args)
    if isinstance(e, FACTORIALS) and any(a.is_Rational and abs(a) > MAX_FACTORIAL for a in args):
        return e.func(*args, evaluate=False)  # gamma(9*10**11): left to the balls, not multiplied out
    new = e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e
    if not explicit:
        return new
    if isinstance(new, (sp.Sum, sp.Product)):
        return _written_out(new)
    if isinstance(new, sp.MatMul) and all(isinstance(a, sp.MatrixBase) or not a.is_Matrix
                                          for a in new.args):
        return _product(new.args)
    if isinstance(new, MatrixExpr) and not isinstance(new, sp.MatrixBase):
        new = new.doit()
        if not isinstance(new, sp.MatrixBase):
            new = new.as_explicit()
        return sp.ImmutableMatrix(new).applyfunc(lambda v: v.doit())
    if isinstance(new, sp.Expr) and any(isinstance(a, sp.MatrixBase) for a in args):
        new = new.doit()
    return new


def _product(factors):
    """The explicit product of scalars and explicit matrices. Rational entries multiply
    exactly; other terms are joined unevaluated: SymPy's own product asks the sign of every
    partial sum of transcendental entries (an evalf each), which took seconds for 8 x 8
    softmax entries, and the balls evaluate the unevaluated form just as well."""
    scale = [f for f in factors if not isinstance(f, sp.MatrixBase)]
    mats = [f for f in factors if isinstance(f, sp.MatrixBase)]
    out = mats[0]
    for m in mats[1:]:
        if all(v.is_Rational for v in out) and all(v.is_Rational for v in m):
            out = out * m
            continue
        rows, inner, cols = out.shape[0], out.shape[1], m.shape[1]
        entries = []
        for i in range(rows):
            check_deadline()
            for j in range(cols):
                terms = [a * b if a.is_Rational and b.is_Rational else sp.Mul(a, b, evaluate=False)
                         for a, b in ((out[i, k], m[k, j]) for k in range(inner))
                         if a is not sp.S.Zero and b is not sp.S.Zero]   # no is_zero: it evalfs
                entries.append(sp.Add(*terms, evaluate=False) if len(terms) > 1 else
                               terms[0] if terms else sp.S.Zero)
        out = sp.ImmutableMatrix(rows, cols, entries)
    if scale:
        c = sp.Mul(*scale)
        out = out.applyfunc(lambda v: c * v if c.is_Rational and v.is_Rational
                            else sp.Mul(c, v, evaluate=False))
    return sp.ImmutableMatrix(out)


def _written_out(e):
    """A Sum or Product whose limits are integers as its terms, added or multiplied (nested
    ones too): far faster than ``doit``, which tries summation formulas first."""
    if len(e.limits) != 1:
        return e
    (i, lo, hi), = e.limits
    if not (lo.is_Integer and hi.is_Integer) or hi - lo >= MAX_TERMS:
        return e
    terms = []
    for k in range(int(lo), int(hi) + 1):
        check_deadline()
        term = e.function.xreplace({i: sp.Integer(k)})
        terms.append(term.replace(lambda n: isinstance(n, (sp.Sum, sp.Product)), _written_out)
                     if term.has(sp.Sum, sp.Product) else term)
    return sp.Add(*terms) if isinstance(e, sp.Sum) else sp.Mul(*terms)


def closed_form(expr, point: dict, explicit: bool = True, standard: bool = False):
    """``expr`` at the exact ``point``: a closed-form SymPy number or ImmutableMatrix.

    ``explicit`` writes matrix nodes out entry by entry (needed wherever a matrix
    occurs); ``standard`` rewrites symgrad's nodes into standard SymPy (``to_standard``).
    Raises ``Undefined`` where SymPy cannot form the value or it is beyond reach (see
    the module docstring); the value may still be infinite or complex.

    >>> x = sp.Symbol("x")
    >>> closed_form(sp.log(x) + x**2, {x: sp.Rational(1, 2)})
    1/4 - log(2)
    """
    try:
        value = substitute(expr, point, explicit)
        if explicit and value.has(sp.Sum, sp.Product, MatrixElement):
            value = value.doit()
        if standard:
            value = to_standard(value)
    except (ArithmeticError, ValueError, TypeError, NotImplementedError, IndexError) as exc:
        raise Undefined(str(exc) or type(exc).__name__) from exc
    if any(beyond_reach(v) for v in _entries(value)):
        raise Undefined("a value here is too large to evaluate (an exponent beyond %d)"
                        % MAX_EXPONENT)
    return value


def _entries(v):
    return list(v) if isinstance(v, sp.MatrixBase) else [v]


def is_finite_real(value) -> bool:
    """True when every entry of an evaluated value is a finite real number."""
    for v in _entries(value):
        if not (v.is_number and v.is_real and v.is_finite) or v.has(sp.nan, sp.zoo, sp.oo, sp.I):
            return False
    return True


def float_only_ops(*exprs) -> list:
    """Names of the ops in ``exprs`` whose values are float64 only (registered without an
    mpmath implementation): no value of theirs is rigorous."""
    names = set()
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            op = lookup(type(node))
            if op is not None and op.float_only:
                names.add(op.name)
    return sorted(names)
