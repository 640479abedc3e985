"""Stable forms of a loss written with indices, before it is lowered to the index graph.

Two kinds of rewrite, both exact identities:

- over an index: ``log(Sum(exp(u), S))`` becomes ``LogSumExpOver(u, S)`` (computed with a max
  shift), and a softmax ratio ``exp(a) / Sum(exp(u), S)`` becomes ``exp(a - LogSumExpOver(u, S))``;
- elementwise: every index-free stretch of the expression (its Sums, reads and indices
  frozen as real placeholders) goes through the scalar pipeline's own stabilizer
  (``rewrite/stabilize.py``): log(1 + exp(z)) -> Softplus(z), 1/(1 + exp(-z)) -> Sigmoid(z),
  log(Sigmoid(z)) -> -Softplus(-z), log(cosh(u)), ...

Only the generated code uses the result; ``grad`` shows the loss as written.

>>> i, n = sp.symbols("i n", integer=True)
>>> z = sp.IndexedBase("z")
>>> stable_index(sp.Sum(sp.log(1 + sp.exp(z[i])), (i, 0, n - 1)))
Sum(Softplus(z[i]), (i, 0, n - 1))
"""

from __future__ import annotations

import sympy as sp

from ..errors import SymgradError
from ..graph.index_lse import LogSumExpOver
from ..graph.lower import Lowering
from ..graph.raising import Raising
from .stabilize import stabilize

__all__ = ["stable_index"]


def stable_index(expr):
    """``expr`` (Sums over Indexed reads) with its unstable patterns rewritten."""
    expr = sp.sympify(expr)
    ranges = {lim[0]: tuple(lim[1:]) for e in expr.atoms(sp.Sum) for lim in e.limits}
    return _Stable(ranges)(expr)


def _lse_of(e):
    """LogSumExpOver for log(Sum(exp(u), S)), else None."""
    if isinstance(e, sp.log) and isinstance(e.args[0], sp.Sum) \
            and isinstance(e.args[0].function, sp.exp):
        s = e.args[0]
        return s.function.args[0], s.limits
    return None


def _inverse_sum_of_exps(f):
    """(u, S) for a factor 1/Sum(exp(u), S), else None."""
    if isinstance(f, sp.Pow) and f.exp == -1 and isinstance(f.base, sp.Sum) \
            and isinstance(f.base.function, sp.exp):
        return f.base.function.args[0], f.base.limits
    return None


class _Stable:
    def __init__(self, ranges):
        self.memo, self.ranges = {}, ranges      # index -> (lo, hi) of the Sum binding it

    def __call__(self, e):
        out = self.memo.get(e)
        if out is None:
            out = self.memo[e] = self._stable(e)
        return out

    def _stable(self, e):
        if isinstance(e, sp.Sum):
            return sp.Sum(self(e.function), *e.limits)
        if isinstance(e, LogSumExpOver):
            return LogSumExpOver(self(e.args[0]), *e.args[1:])
        if isinstance(e, (sp.Indexed, sp.KroneckerDelta, sp.Symbol, sp.Number, sp.NumberSymbol)) \
                or not e.args:
            return e
        lse = _lse_of(e)
        if lse is not None:
            return LogSumExpOver(self(lse[0]), *lse[1])
        frozen = {}
        body = self._freeze(e, frozen)
        if not frozen or not any(isinstance(f, sp.Function) for f in sp.preorder_traversal(body)):
            return self._thaw(body, frozen)
        try:
            return self._thaw(_scalar_stable(body), frozen)
        except SymgradError:           # a stretch the scalar pipeline does not read: as written
            return self._thaw(body, frozen)

    def _freeze(self, e, frozen):
        """``e`` with every index part (Sum, read, index, log-sum-exp) a real placeholder."""
        if isinstance(e, sp.Mul):
            e = self._softmax(e)
        lse = _lse_of(e)
        if lse is not None:
            e = LogSumExpOver(*lse[0:1], *lse[1])
        if isinstance(e, (sp.Sum, sp.Indexed, LogSumExpOver, sp.KroneckerDelta)) or \
                (isinstance(e, sp.Symbol) and e.is_integer):
            d = sp.Dummy("p", real=True)
            frozen[d] = self(e)
            return d
        if not e.args:
            return e
        return e.func(*[self._freeze(a, frozen) for a in e.args])

    def _softmax(self, e):
        """exp(a) * ... / Sum(exp(u), S) -> exp(a - LogSumExpOver(u, S)) * ..."""
        factors = list(e.args)
        inverse = [k for k, f in enumerate(factors) if _inverse_sum_of_exps(f) is not None]
        exps = [k for k, f in enumerate(factors) if isinstance(f, sp.exp)]
        if not inverse or not exps:
            return e
        u, limits = _inverse_sum_of_exps(factors[inverse[0]])
        a = factors[exps[0]].args[0]
        if len(limits) == 1:            # Σ_s2 exp(u(s2)) beside exp(u(s)): bind s, so the
            (s2, lo, hi) = limits[0]   # scores are one node, computed once
            for s in sorted(a.free_symbols & set(self.ranges), key=str):
                if self.ranges[s] == (lo, hi) and s not in u.free_symbols \
                        and u.xreplace({s2: s}) == a:
                    u, limits = a, [(s, lo, hi)]
                    break
        rest = [f for k, f in enumerate(factors) if k not in (inverse[0], exps[0])]
        return sp.Mul(sp.exp(a - LogSumExpOver(u, *limits), evaluate=False), *rest)

    def _thaw(self, e, frozen):
        return e.xreplace(frozen) if frozen else e


def _scalar_stable(body):
    """The scalar pipeline's stable form of an index-free expression."""
    lowering = Lowering()
    node = lowering(body)
    return Raising(lowering.user).value(stabilize(lowering.graph, node))
