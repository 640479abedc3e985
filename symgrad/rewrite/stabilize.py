"""Stable forms, rewritten on the graph before code generation.

People write the sigmoid as 1/(1 + exp(-z)) and cross-entropy as
-y*log(sigmoid) - (1 - y)*log(1 - sigmoid); printed as written, such code
returns inf or NaN once |z| passes a few hundred. ``stabilize`` recognises
these patterns however they are written and replaces them with stable nodes:

    1/(1 + exp(-z))          -> Sigmoid(z)           (printed as scipy's expit; powers too)
    sigmoid(z)^q, q not int  -> exp(-q Softplus(-z))  (and (1 + e^u)^q -> exp(q Softplus(u)))
    exp(z)/(1 + exp(z))      -> Sigmoid(z)
    1 - Sigmoid(z)           -> Sigmoid(-z)
    log(Sigmoid(z))          -> -Softplus(-z)        (printed as logaddexp(0, .))
    log(1 + exp(z))          -> Softplus(z)
    log(exp(a) + exp(b)+...) -> LogSumExp(a, b, ...) (a max shift), row-wise for matrices
    exp(a)/(exp(a)+exp(b)..) -> exp(a - LogSumExp(a, b, ...)), row-wise for matrices
    z_k - LogSumExp(z)       -> LogSoftmax(k, z)     (no cancellation when z_k dominates)
    log(exp(u))              -> u
    log(1 + x)               -> log1p(x)
    log(1 - exp(u))          -> log(-expm1(u)) or log1p(-exp(u)), whichever keeps digits
    log(exp(u) - 1)          -> u + log(1 - exp(-u))
    log(c*e^u*sigmoid(v)*w)  -> log c + u - Softplus(-v) + log w (positive factors split off)
    softplus(u) - u          -> Softplus(-u)
    sigmoid(u) - sigmoid(-u) -> tanh(u/2)
    1 - tanh(u)^2            -> Sech2(u)             (tanh's derivative, keeping its digits)
    (e^a - e^b)/(e^a + e^b)  -> tanh((a - b)/2)
    log(cosh(u))             -> log1p(2 sinh(u/2)^2) or |u| + log1p(exp(-2|u|)) - log 2
    exp(x) - 1               -> expm1(x)
    x*log(y)                 -> XLogY(x, y)          (0*log(0) = 0, scipy's xlogy)

It runs on the loss before differentiation, so the gradient is derived from
the stable form (whose rules are stable too), and again on the loss and the
gradients together (``cleanup``). Neither changes the mathematics, and what
``grad`` shows the user is never rewritten.
"""

import sympy as sp

from .match import (_const, _factors, _is_inverse_sum_of_exps, _is_mask, _is_row_sum,
                             _positive, _terms)
from ..graph.ir import Broadcast, SumTo
from ..ops.derived import Sech2
from ..ops.nodes import (LogSoftmax, LogSumExp, RowLogSoftmax, RowLogSumExp, RowSoftmax, Sigmoid,
                    Softplus, XLogY, expm1, log1p)

__all__ = ["stabilize", "cleanup"]


# --- the rewriter (node patterns are in _rewrite_match) -------------------------------

class _Rewriter:
    def __init__(self, graph):
        self.g = graph
        self.final = set()      # nodes a rewrite produced in their final form: leave them alone

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
        if n.id in self.final:
            return n
        if op is sp.Piecewise:
            return self.piecewise(n)
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
        g = self.g
        k = exponent.value if _const(exponent) else None
        if k is None or not k.is_real:
            return n
        if base.op is Sigmoid and not k.is_Integer:     # sigmoid(u)^k = e^(-k softplus(-u))
            return g.apply(sp.exp, g.apply(sp.Mul, g.const(-k),
                                           g.apply(Softplus, self.neg(base.args[0]))))
        if (k.is_Integer and k >= 0) or base.op is not sp.Add:
            return n
        terms = _terms(base)
        if len(terms) == 2:
            for (c1, one), (c2, e) in (terms, terms[::-1]):
                if c1 == 1 and _const(one, 1) and c2 == 1 and e.op is sp.exp:
                    if not k.is_Integer:                 # (1 + e^u)^k = e^(k softplus(u))
                        return g.apply(sp.exp, g.apply(sp.Mul, g.const(k),
                                                       g.apply(Softplus, e.args[0])))
                    s = g.apply(Sigmoid, self.neg(e.args[0]))          # 1/(1 + exp(u))
                    return s if k == -1 else g.apply(sp.Pow, s, g.const(-k))
        return n

    def logarithm(self, x):
        g = self.g
        if x.op is sp.exp:
            return x.args[0]
        if x.op is Sigmoid:
            return self.neg(g.apply(Softplus, self.neg(x.args[0])))
        if x.op is RowSoftmax:
            return g.apply(RowLogSoftmax, x.args[0], shape=x.shape)
        if x.op is sp.cosh:
            return self.log_cosh(x.args[0])
        if x.op is expm1:                             # log(e^u - 1) = u + log(1 - e^-u)
            u = x.args[0]
            return g.apply(sp.Add, u, self.log1mexp(self.neg(u)))
        if x.op is sp.Mul and _const(x.args[0], -1) and x.args[1].op is expm1:
            return self.log1mexp(x.args[1].args[0])   # log(1 - e^u)
        if x.op is SumTo and x.args[0].op is sp.exp and _is_row_sum(x):
            return g.apply(RowLogSumExp, x.args[0].args[0], shape=x.shape)
        if x.op is sp.Mul:
            split = self.log_product(x)
            if split is not None:
                return split
        if x.op is sp.Add:
            terms = _terms(x)
            c = terms[0][0]
            if len(terms) == 2 and c.is_positive and all(k == c and t.op is sp.exp for k, t in terms) \
                    and self.neg(terms[0][1].args[0]) is terms[1][1].args[0]:
                # log(c e^u + c e^-u) = log 2c + log cosh u: no cancellation near u = 0
                return g.apply(sp.Add, self.log_cosh(terms[0][1].args[0]), g.const(sp.log(2 * c)))
            exponents = [self._exponent(c, t) for c, t in terms]
            if len(terms) >= 2 and all(e is not None for e in exponents) and \
                    any(t.op is sp.exp for _, t in terms) and not (
                        len(terms) == 2 and any(_const(t, 1) and c == 1 for c, t in terms)):
                return g.apply(LogSumExp, *exponents)      # sum of c*e^u and positive constants
            ones = [i for i, (c, t) in enumerate(terms) if _const(t, 1) and c == 1]
            if ones:
                rest = terms[:ones[0]] + terms[ones[0] + 1:]
                if len(rest) == 1 and rest[0][0] == 1 and rest[0][1].op is sp.exp:
                    return g.apply(Softplus, rest[0][1].args[0])
                return g.apply(log1p, self.total(rest))
        return g.apply(sp.log, x)

    def _exponent(self, c, t):
        """u with c*t = e^u, for t = e^v with c > 0 or a positive constant; else None."""
        g = self.g
        if not (c.is_number and c.is_positive):
            return None
        if t.op is sp.exp:
            return t.args[0] if c == 1 else g.apply(sp.Add, t.args[0], g.const(sp.log(c)))
        if _const(t) and t.value.is_positive and t.value.is_finite:
            return g.const(sp.log(c * t.value))
        return None

    def _sum_of_exponentials(self, f):
        """A sum of c*e^u terms and positive constants: positive, with a stable log."""
        if f.op is not sp.Add:
            return False
        terms = _terms(f)
        return any(t.op is sp.exp for _, t in terms) and \
            all(self._exponent(c, t) is not None for c, t in terms)

    def log_product(self, x):
        """log of a product with positive factors (e^u, sigmoid, positive powers of them,
        positive constants): a sum of their logs, which are stable, plus log of the rest."""
        g = self.g
        parts, rest = [], []
        for f in _factors(x):
            if _positive(f) or self._sum_of_exponentials(f):
                parts.append(self.logarithm(f))
            elif f.op is sp.Pow and _positive(f.args[0]) and _const(f.args[1]):
                parts.append(g.apply(sp.Mul, f.args[1], self.logarithm(f.args[0])))
            else:
                rest.append(f)
        if not parts:
            return None
        if rest:
            parts.append(self.logarithm(g.mul(*rest)))
        return g.add(*parts)

    def log_cosh(self, u):
        """log cosh u: log1p(2 sinh(u/2)^2) near 0, |u| + log1p(e^-2|u|) - log 2 beyond."""
        g = self.g
        half = g.apply(sp.sinh, g.apply(sp.Mul, g.const(sp.S.Half), u))
        small = g.apply(log1p, g.apply(sp.Mul, g.const(2), g.apply(sp.Pow, half, g.const(2))))
        a = g.apply(sp.Abs, u)
        large = g.add(a, g.apply(log1p, g.apply(sp.exp, g.apply(sp.Mul, g.const(-2), a))),
                      g.const(-sp.log(2)))
        return g.apply(sp.Piecewise, small, g.apply(sp.StrictLessThan, a, g.const(1)), large,
                       g.const(sp.true))

    def sech2(self, u):
        """sech(u)^2 as one op, Sech2, whose NumPy helper cannot overflow."""
        return self.g.apply(Sech2, u)

    def log1mexp(self, u):
        """log(1 - e^u) for u < 0, choosing the form that keeps its digits (Maechler 2012)."""
        g = self.g
        near_zero = g.apply(sp.log, self.neg(g.apply(expm1, u)))
        self.final.add(near_zero.id)
        far = g.apply(log1p, self.neg(g.apply(sp.exp, u)))
        return g.apply(sp.Piecewise, near_zero, g.apply(sp.StrictGreaterThan, u, g.const(-sp.log(2))),
                       far, g.const(sp.true))

    def piecewise(self, n):
        """where(c, where(c, a, _), b) -> where(c, a, b), and likewise in the other branch."""
        args = list(n.args)
        if len(args) != 4 or not _const(args[3], sp.true):
            return n
        value, cond, other = args[0], args[1], args[2]
        if value.op is sp.Piecewise and len(value.args) == 4 and value.args[1] is cond:
            value = value.args[0]
        if other.op is sp.Piecewise and len(other.args) == 4 and other.args[1] is cond:
            other = other.args[2]
        if value is args[0] and other is args[2]:
            return n
        return self.g.apply(sp.Piecewise, value, cond, other, args[3])

    def sum(self, n):
        terms = _terms(n)
        g = self.g
        for i, (c, t) in enumerate(terms):
            if t.op is Sigmoid:                           # sigmoid(u) - sigmoid(-u) = tanh(u/2)
                for j, (c1, s) in enumerate(terms):
                    if c1 == -c and s.op is Sigmoid and self.neg(s.args[0]) is t.args[0]:
                        rest = [x for k, x in enumerate(terms) if k not in (i, j)]
                        half = g.apply(sp.Mul, g.const(sp.S.Half), t.args[0])
                        return self.total(rest + [(c, g.apply(sp.tanh, half))])
            if t.op is sp.Pow and t.args[0].op is sp.tanh and _const(t.args[1], 2):
                for j, (c1, one) in enumerate(terms):     # 1 - tanh(u)^2 -> sech(u)^2
                    if _const(one) and c1 * one.value == -c:
                        rest = [x for k, x in enumerate(terms) if k not in (i, j)]
                        return self.total(rest + [(-c, self.sech2(t.args[0].args[0]))])
            if t.op is Softplus:                          # softplus(u) - u -> softplus(-u)
                for j, (c1, u) in enumerate(terms):
                    if c1 == -c and u is t.args[0]:
                        rest = [x for k, x in enumerate(terms) if k not in (i, j)]
                        return self.total(rest + [(c, g.apply(Softplus, self.neg(u)))])
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
            power = next((f for f in factors if f.op is sp.Pow and f.args[0].op is Sigmoid and
                          self.neg(f.args[0].args[0]) is e.args[0] and _const(f.args[1]) and
                          f.args[1].value.is_Integer and f.args[1].value > 1), None)
            if power is not None:                     # exp(z)*sigmoid(-z)^k
                rest = g.apply(sp.Pow, power.args[0], g.const(power.args[1].value - 1))
                return self._replace(factors, [e, power], g.mul(g.apply(Sigmoid, e.args[0]), rest))
            shift = next((f for f in factors if _is_inverse_sum_of_exps(f)), None)
            if shift is not None:                     # exp(a)/sum(exp) -> exp(a - lse)
                return self._replace(factors, [e, shift], self._softmax(e, shift.args[0]))
        ratio = self._tanh(factors)
        if ratio is not None:
            return ratio
        masks = [f for f in factors if _is_mask(f)]
        if masks and len(factors) > 1:                # x*where(c, 1, 0) -> where(c, x, 0)
            rest = [f for f in factors if f is not masks[0]]
            shapes = {f.shape for f in factors}
            if len(shapes) == 1:
                return g.apply(sp.Piecewise, g.mul(*rest), masks[0].args[1], g.const(0),
                               g.const(sp.true))
        logs = [f for f in factors if f.op is sp.log]
        if len(logs) == 1 and len(factors) > 1:
            others = [f for f in factors if f is not logs[0]]
            consts = [f for f in others if _const(f)]
            weights = [f for f in others if not _const(f)]
            if weights and all(w.shape == () or w.shape == n.shape for w in weights):
                core = g.apply(XLogY, g.mul(*weights), logs[0].args[0])
                return g.mul(*consts, core) if consts else core
        return n

    def _tanh(self, factors):
        """(e^a - e^b) / (e^a + e^b) -> tanh((a - b)/2)."""
        g = self.g
        for d in factors:
            if d.op is not sp.Pow or not _const(d.args[1], -1) or d.args[0].op is not sp.Add:
                continue
            below = _terms(d.args[0])
            if len(below) != 2 or not all(c == 1 and t.op is sp.exp for c, t in below):
                continue
            for n in factors:
                above = _terms(n) if n.op is sp.Add else []
                if len(above) == 2 and {c for c, _ in above} == {1, -1} and \
                        {t for _, t in above} == {t for _, t in below}:
                    a = next(t for c, t in above if c == 1).args[0]
                    b = next(t for c, t in above if c == -1).args[0]
                    half = g.apply(sp.Mul, g.const(sp.S.Half), g.apply(sp.Add, a, self.neg(b)))
                    return self._replace(factors, [n, d], g.apply(sp.tanh, half))
        return None

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
