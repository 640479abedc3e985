"""Log-sum-exp over indices in the index graph: log(Σ_S exp(u)) held as one node.

``LogSumExpOver(u, (i, lo, hi), ...)`` is the SymPy form (what ``rewrite/index_stable.py``
writes for ``log(Sum(exp(u), ...))``); ``LSE`` is its graph op (extra = the summed
indices), printed as ``special.logsumexp`` (a max shift: no overflow at logits of 1000),
differentiated as adj * exp(u - LSE) (the softmax over S), and raised back to
``log(Sum(exp(u), ...))`` for people.

>>> i, n = sp.symbols("i n", integer=True)
>>> x = sp.IndexedBase("x")
>>> LogSumExpOver(x[i], (i, 0, n - 1)).as_written()
log(Sum(exp(x[i]), (i, 0, n - 1)))
"""

from __future__ import annotations

import sympy as sp

__all__ = ["LSE", "LogSumExpOver"]


class LSE:
    """Op marker: log Σ exp over the indices in ``extra``."""


class LogSumExpOver(sp.Function):
    """log(Sum(exp(args[0]), *args[1:])), kept whole so it can be computed stably."""

    is_real = True

    @classmethod
    def eval(cls, *args):
        return None

    def as_written(self):
        return sp.log(sp.Sum(sp.exp(self.args[0]), *self.args[1:]))

    def _sympystr(self, printer):
        return printer._print(self.as_written())

    def _latex(self, printer):
        return printer._print(self.as_written())
