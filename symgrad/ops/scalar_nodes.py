"""symgrad's scalar SymPy functions: Sigmoid, Softplus, LogSumExp, LogSoftmax, XLogY, XLog1pY.

Each prints for LaTeX and 2-D text as a textbook does (``Printed``: σ(z), softplus(z)),
evaluates numerically, and rewrites into
standard SymPy (``rewrite(sp.exp)``). Their derivative rules, printers and
evaluators are their registry entries (``elementwise.py``); ``functions.attach``
gives each class the ``fdiff`` that reads its rule.
"""

import sympy as sp

from ..errors import ArgumentError

from .printing import Printed

__all__ = ["Sigmoid", "Softplus", "LogSumExp", "LogSoftmax", "XLogY", "XLog1pY"]


# --- scalar functions ---------------------------------------------------------

class Sigmoid(Printed, sp.Function):
    """The logistic function, 1/(1 + exp(-z)), printed as a stable ``expit``."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half
        if z is sp.S.Infinity:
            return sp.S.One
        if z is sp.S.NegativeInfinity:
            return sp.S.Zero

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_real:
            return True

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)


class Softplus(Printed, sp.Function):
    """log(1 + exp(z)), evaluated without overflow (max(z, 0) + log1p(exp(-|z|)))."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.log(2)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_real:
            return True

    def _eval_rewrite_as_log(self, z, **kwargs):
        return sp.log(1 + sp.exp(z))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)


class LogSumExp(Printed, sp.Function):
    """log(exp(z1) + ... + exp(zn)), evaluated with a max shift."""

    @classmethod
    def eval(cls, *zs):
        if len(zs) == 0:
            raise ArgumentError("LogSumExp needs at least one argument")
        if len(zs) == 1:
            return zs[0]

    def _eval_is_real(self):
        if all(z.is_real for z in self.args):
            return True

    def _eval_rewrite_as_log(self, *zs, **kwargs):
        return sp.log(sp.Add(*[sp.exp(z) for z in zs]))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        return sp.log(sp.Add(*[sp.exp(z) for z in self.args]))._eval_evalf(prec)


class XLogY(Printed, sp.Function):
    """x*log(y), with the convention 0*log(0) = 0 (``scipy.special.xlogy``)."""

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x.is_zero:
            return sp.S.Zero
        if y == 1:
            return sp.S.Zero

    def _eval_is_real(self):
        x, y = self.args
        if x.is_real and y.is_positive:
            return True

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * sp.log(y)

    def _eval_evalf(self, prec):
        x, y = self.args
        return (x * sp.log(y))._eval_evalf(prec)


class XLog1pY(Printed, sp.Function):
    """x*log(1 + y), with 0*log(0) = 0 (``scipy.special.xlog1py``): the (1 - t) log(1 - p)
    term of a cross-entropy at t = 1, p = 1 is 0, not 0 * -inf = NaN."""

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x.is_zero or y.is_zero:
            return sp.S.Zero

    def _eval_is_real(self):
        x, y = self.args
        if x.is_real and (1 + y).is_positive:
            return True

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * sp.log(1 + y)

    def _eval_evalf(self, prec):
        x, y = self.args
        return (x * sp.log(1 + y))._eval_evalf(prec)


class LogSoftmax(Printed, sp.Function):
    """LogSoftmax(k, z0, ..., zn) = z_k - log(exp(z0) + ... + exp(zn)), k a literal index.

    Evaluated without cancellation when z_k dominates (log1p of the other terms).
    """

    @classmethod
    def eval(cls, k, *zs):
        if not k.is_Integer or not 0 <= int(k) < len(zs):
            raise ArgumentError("LogSoftmax needs a literal index 0 <= k < %d first, got %s" % (len(zs), k))
        if len(zs) == 1:
            return sp.S.Zero

    @property
    def index(self):
        return int(self.args[0])

    def _eval_is_real(self):
        if all(z.is_real for z in self.args[1:]):
            return True

    def _eval_rewrite_as_log(self, k, *zs, **kwargs):
        return zs[int(k)] - sp.log(sp.Add(*[sp.exp(z) for z in zs]))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_log(*self.args)._eval_evalf(prec)
