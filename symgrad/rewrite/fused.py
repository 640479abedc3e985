"""Fewer passes over the data for what the stable rewrites leave: the speed pass
``softmax_not_exp_of_log_softmax``."""

import sympy as sp

from ..graph.ir import ancestors
from ..ops.nodes import RowLogSoftmax, RowLogSumExp, RowSoftmax
from .database import register_pass

__all__ = []


@register_pass
def softmax_not_exp_of_log_softmax(graph, outs):
    """exp(RowLogSoftmax(z)) -> exp(z - RowLogSumExp(z)) when the log-sum-exp is computed
    anyway, else RowSoftmax(z): the gradient of a row-wise log-sum-exp is the softmax;
    computing it as the exponential of the stable log-softmax takes twice the work (an
    argmax, two exponentials, a log1p) for the same value to rounding."""
    computed = {n.args[0].id: n for n in ancestors(outs) if n.op is RowLogSumExp}

    def replace(n, args):
        if n.op is sp.exp and args[0].op is RowLogSoftmax:
            z = args[0].args[0]
            lse = computed.get(z.id)
            if lse is not None:
                return graph.apply(sp.exp, graph.apply(sp.Add, z, graph.apply(sp.Mul, graph.const(-1), lse)))
            return graph.apply(RowSoftmax, z, shape=z.shape)
        return None
    return graph.rebuild(outs, replace)


@register_pass
def branches_decided_once(graph, outs):
    """where(c, k*where(c, a, z), b) -> where(c, k*a, b); where(c, a, 0)*y -> where(c, a*y, 0);
    where(c, a, 0) + where(not c, b, 0) -> where(c, a, b): reverse mode masks each
    contribution by the branch that selects it, which leaves a select per contribution and
    per factor; inside a branch its condition is decided, and a masked product is a masked
    value (the unselected entries are 0 either way, never 0 * inf)."""
    def replace(n, args):
        if n.op is sp.Piecewise and _simple_where(args):
            value, cond, other = args[0], args[1], args[2]
            new = graph.apply(sp.Piecewise, _decide(graph, value, cond, True, 3), cond,
                              _decide(graph, other, cond, False, 3), args[3])
            return None if new is n else new
        if n.op is sp.Mul:
            for i in (0, 1):
                w, y = args[i], args[1 - i]
                if _masked(w) and w.shape == n.shape:
                    return graph.apply(sp.Piecewise, graph.apply(sp.Mul, w.args[0], y), w.args[1],
                                       w.args[2], w.args[3])
        if n.op is sp.Add and all(_masked(a) for a in args) and args[0].shape == args[1].shape:
            (a, c), (b, d) = (args[0].args[:2]), (args[1].args[:2])
            if d.op is sp.Not and d.args[0] is c:
                return graph.apply(sp.Piecewise, a, c, b, args[0].args[3])
            if c.op is sp.Not and c.args[0] is d:
                return graph.apply(sp.Piecewise, b, d, a, args[0].args[3])
        return None
    return graph.rebuild(outs, replace)


def _simple_where(args):
    return len(args) == 4 and args[3].is_const and args[3].value == sp.true


def _masked(w):
    """where(c, a, 0)."""
    return w.op is sp.Piecewise and _simple_where(w.args) and w.args[2].is_const \
        and w.args[2].value == 0


def _decide(graph, x, cond, holds, depth):
    """``x`` where ``cond`` is known to be ``holds``: where(cond, a, b) inside it is a or b
    (also for not cond), through a few entrywise nodes."""
    if x.op is sp.Piecewise and _simple_where(x.args):
        c = x.args[1]
        if c is cond or c.op is sp.Not and c.args[0] is cond:
            taken = holds if c is cond else not holds
            return _decide(graph, x.args[0] if taken else x.args[2], cond, holds, depth)
    if depth == 0 or x.op not in (sp.Mul, sp.Add):
        return x
    args = [_decide(graph, a, cond, holds, depth - 1) for a in x.args]
    return x if all(a is b for a, b in zip(args, x.args)) else graph.apply(x.op, *args)
