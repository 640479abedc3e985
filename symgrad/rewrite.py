"""Stable forms, rewritten on the graph before code generation.

People write the sigmoid as 1/(1 + exp(-z)) and cross-entropy as
-y*log(sigmoid) - (1 - y)*log(1 - sigmoid); printed as written, such code
returns inf or NaN once |z| passes a few hundred. ``stabilize`` recognises
these patterns however they are written and replaces them with stable nodes:

    1/(1 + exp(-z))          -> Sigmoid(z)           (printed as scipy's expit)
    exp(z)/(1 + exp(z))      -> Sigmoid(z)
    1 - Sigmoid(z)           -> Sigmoid(-z)
    log(Sigmoid(z))          -> -Softplus(-z)        (printed as logaddexp(0, .))
    log(1 + exp(z))          -> Softplus(z)
    log(exp(a) + exp(b)+...) -> LogSumExp(a, b, ...) (a max shift), row-wise for matrices
    exp(a)/(exp(a)+exp(b)..) -> exp(a - LogSumExp(a, b, ...)), row-wise for matrices
    z_k - LogSumExp(z)       -> LogSoftmax(k, z)     (no cancellation when z_k dominates)
    log(exp(u))              -> u
    log(1 + x)               -> log1p(x)
    exp(x) - 1               -> expm1(x)
    x*log(y)                 -> XLogY(x, y)          (0*log(0) = 0, scipy's xlogy)

It runs on the loss before differentiation, so the gradient is derived from
the stable form (whose rules are stable too), and again on the loss and the
gradients together (``cleanup``). Neither changes the mathematics, and what
``grad`` shows the user is never rewritten.
"""

import sympy as sp

from .ir import Broadcast, Const, SumTo
from .nodes import (LogSoftmax, LogSumExp, RowLogSoftmax, RowLogSumExp, RowSoftmax, Sigmoid,
                    Softplus, XLogY, expm1, log1p)

__all__ = ["stabilize", "cleanup"]


# --- small helpers over graph nodes ----------------------------------------------------

def _const(n, value=None):
    return n.op is Const and (value is None or n.value == value)


def _terms(n):
    """The terms of a chain of binary Adds, as (coefficient, node) pairs."""
    out = []
    for t in _flatten(n, sp.Add):
        if t.op is sp.Mul and _const(t.args[0]) and not _const(t.args[1]):
            out.append((t.args[0].value, t.args[1]))
        else:
            out.append((sp.S.One, t))
    return out


def _factors(n):
    return _flatten(n, sp.Mul)


def _flatten(n, op):
    """Operands of nested binary ``op`` nodes, left to right, without recursion."""
    out, stack = [], [n]
    while stack:
        node = stack.pop()
        if node.op is op:
            stack += [node.args[1], node.args[0]]
        else:
            out.append(node)
    return out


class _Rewriter:
    def __init__(self, graph):
        self.g = graph

    def neg(self, x):
        """-x, pushing the sign into sums and coefficients rather than wrapping it."""
        g = self.g
        if _const(x):
            return g.const(-x.value)
        if x.op is sp.Mul and _const(x.args[0]):
            return g.apply(sp.Mul, g.const(-x.args[0].value), x.args[1])
        if x.op is sp.Add:
            return g.apply(sp.Add, self.neg(x.args[0]), self.neg(x.args[1]))
        return g.apply(sp.Mul, g.const(-1), x)

    def total(self, terms):
        g = self.g
        nodes = [t if c == 1 else g.apply(sp.Mul, g.const(c), t) for c, t in terms]
        return g.add(*nodes) if nodes else g.const(0)

    def __call__(self, n, args):
        if all(a is b for a, b in zip(args, n.args)):
            return self.rewrite(n)
        return self.rewrite(self.g.reapply(n, args))

    def rewrite(self, n):
        op = n.op
        if op is sp.Pow:
            return self.power(n)
        if op is sp.log:
            return self.logarithm(n.args[0])
        if op is sp.Add:
            return self.sum(n)
        if op is sp.Mul:
            return self.product(n)
        return n

    # --- patterns ---------------------------------------------------------------------

    def power(self, n):
        base, exponent = n.args
        if not _const(exponent, -1) or base.op is not sp.Add:
            return n
        terms = _terms(base)
        if len(terms) == 2:
            for (c1, one), (c2, e) in (terms, terms[::-1]):
                if c1 == 1 and _const(one, 1) and c2 == 1 and e.op is sp.exp:
                    return self.g.apply(Sigmoid, self.neg(e.args[0]))       # 1/(1 + exp(u))
        return n

    def logarithm(self, x):
        g = self.g
        if x.op is sp.exp:
            return x.args[0]
        if x.op is Sigmoid:
            return self.neg(g.apply(Softplus, self.neg(x.args[0])))
        if x.op is RowSoftmax:
            return g.apply(RowLogSoftmax, x.args[0], shape=x.shape)
        if x.op is SumTo and x.args[0].op is sp.exp and _is_row_sum(x):
            return g.apply(RowLogSumExp, x.args[0].args[0], shape=x.shape)
        if x.op is sp.Add:
            terms = _terms(x)
            if len(terms) >= 2 and all(c == 1 and t.op is sp.exp for c, t in terms):
                return g.apply(LogSumExp, *[t.args[0] for _, t in terms])
            ones = [i for i, (c, t) in enumerate(terms) if _const(t, 1) and c == 1]
            if ones:
                rest = terms[:ones[0]] + terms[ones[0] + 1:]
                if len(rest) == 1 and rest[0][0] == 1 and rest[0][1].op is sp.exp:
                    return g.apply(Softplus, rest[0][1].args[0])
                return g.apply(log1p, self.total(rest))
        return g.apply(sp.log, x)

    def sum(self, n):
        terms = _terms(n)
        g = self.g
        for i, (c, t) in enumerate(terms):
            if t.op in (LogSumExp, RowLogSumExp):       # z_k - logsumexp(z) -> log softmax
                for j, (c1, z) in enumerate(terms):
                    if c1 == -c and (z in t.args if t.op is LogSumExp else z is t.args[0]):
                        rest = [x for k, x in enumerate(terms) if k not in (i, j)]
                        if t.op is LogSumExp:
                            soft = g.apply(LogSoftmax, g.const(t.args.index(z)), *t.args)
                        else:
                            soft = g.apply(RowLogSoftmax, z, shape=z.shape)
                        return self.total(rest + [(c1, soft)])
            if t.op is Sigmoid:                       # c - c*sigmoid(z) -> c*sigmoid(-z)
                for j, (c1, one) in enumerate(terms):
                    if _const(one) and c1 * one.value == -c:
                        rest = [x for k, x in enumerate(terms) if k not in (i, j)]
                        return self.total(rest + [(-c, g.apply(Sigmoid, self.neg(t.args[0])))])
            if t.op is sp.exp:                        # c*exp(x) - c -> c*expm1(x)
                for j, (c1, one) in enumerate(terms):
                    if _const(one) and c1 * one.value == -c:
                        rest = [x for k, x in enumerate(terms) if k not in (i, j)]
                        return self.total(rest + [(c, g.apply(expm1, t.args[0]))])
        return n

    def product(self, n):
        g = self.g
        factors = _factors(n)
        exps = [f for f in factors if f.op is sp.exp]
        for e in exps:
            partner = next((f for f in factors if f.op is Sigmoid and
                            self.neg(f.args[0]) is e.args[0]), None)
            if partner is not None:                   # exp(z)*sigmoid(-z) -> sigmoid(z)
                return self._replace(factors, [e, partner], g.apply(Sigmoid, e.args[0]))
            shift = next((f for f in factors if _is_inverse_sum_of_exps(f)), None)
            if shift is not None:                     # exp(a)/sum(exp) -> exp(a - lse)
                return self._replace(factors, [e, shift], self._softmax(e, shift.args[0]))
        logs = [f for f in factors if f.op is sp.log]
        if len(logs) == 1 and len(factors) > 1:
            others = [f for f in factors if f is not logs[0]]
            consts = [f for f in others if _const(f)]
            weights = [f for f in others if not _const(f)]
            if weights and all(w.shape == () or w.shape == n.shape for w in weights):
                core = g.apply(XLogY, g.mul(*weights), logs[0].args[0])
                return g.mul(*consts, core) if consts else core
        return n

    def _softmax(self, e, total):
        g = self.g
        if total.op is Broadcast:
            total = total.args[0]
        if total.op is SumTo:
            lse = g.apply(RowLogSumExp, total.args[0].args[0], shape=total.shape)
        else:
            lse = g.apply(LogSumExp, *[t.args[0] for _, t in _terms(total)])
        return g.apply(sp.exp, g.apply(sp.Add, e.args[0], self.neg(lse)))

    def _replace(self, factors, used, new):
        rest = list(factors)
        for u in used:
            rest.remove(u)
        return self.g.mul(*rest, new) if rest else new


def _is_row_sum(x):
    inner = x.args[0]
    return inner.shape != () and x.shape == (inner.shape[0], 1) and inner.shape[1] != 1


def _is_inverse_sum_of_exps(f):
    if f.op is not sp.Pow or not _const(f.args[1], -1):
        return False
    base = f.args[0]
    if base.op is Broadcast:
        base = base.args[0]
    if base.op is SumTo:
        return base.args[0].op is sp.exp and _is_row_sum(base)
    terms = _terms(base) if base.op is sp.Add else []
    return len(terms) >= 2 and all(c == 1 and t.op is sp.exp for c, t in terms)


def stabilize(graph, out):
    """Stable forms of the loss (see the module docstring). Returns the new loss node."""
    return _fixpoint(graph, [out])[0]


def cleanup(graph, outs, stable=True):
    """A step's derivative (DiracDelta) is 0 away from the step; with ``stable``, also the
    stable forms, on the loss and the gradients together. Returns the new output nodes."""
    def no_delta(n, args):
        return graph.const(0) if n.op is sp.DiracDelta else None
    outs = graph.rebuild(outs, no_delta)
    return _fixpoint(graph, outs) if stable else outs


def _fixpoint(graph, outs, passes=4):
    rewriter = _Rewriter(graph)
    for _ in range(passes):
        new = graph.rebuild(outs, rewriter)
        if all(a is b for a, b in zip(new, outs)):
            break
        outs = new
    return outs
