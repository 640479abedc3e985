"""Pieces of matrices: the speed pass ``embeds_side_by_side_are_one_concatenation``."""

import sympy as sp

from ..graph.ir import Const, Leaf, ancestors, dims_equal
from ..ops.slicing import Concat, Embed
from .database import register_pass

__all__ = []


@register_pass
def embeds_side_by_side_are_one_concatenation(graph, outs):
    """Embed(G1 at columns 0:a) + Embed(G2 at a:b) + ... filling every column (or every row)
    -> concatenate((G1, G2, ...)): the gradient of a matrix read in slices (attention heads)
    is written once, not as one matrix of zeros per slice added up."""
    nodes = ancestors(outs)
    uses = {}
    for n in nodes:
        for a in n.args:
            uses[a.id] = uses.get(a.id, 0) + 1
    inner = {a.id for n in nodes if _is_sum(n) for a in n.args
             if _is_sum(a) and a.shape == n.shape and uses[a.id] == 1}
    new = {}
    for n in nodes:
        args = [new[a.id] for a in n.args]
        out = None
        if _is_sum(n) and n.id not in inner:
            out = _joined(graph, [new[t.id] for t in _terms(n, inner)], n.shape)
        new[n.id] = out if out is not None else graph.reapply(n, args)
    return [new[o.id] for o in outs]


def _is_sum(n):
    return n.op is sp.Add and n.shape != ()


def _terms(n, inner):
    """The terms of a chain of sums, through the inner sums used only by it."""
    out, stack = [], [n]
    while stack:
        x = stack.pop()
        if x is n or x.id in inner:
            stack.extend(reversed(x.args))
        else:
            out.append(x)
    return out


def _value(n):
    """The SymPy value of a bound node (numbers and dimensions)."""
    if n.op is Const:
        return n.value
    if n.op is Leaf:
        return n.extra
    return n.op(*[_value(a) for a in n.args])


def _joined(graph, terms, shape):
    """The sum of ``terms`` with a run of Embeds that tiles one axis made one Concat."""
    for axis in (1, 0):
        pieces = {}
        for t in terms:
            if t.op is not Embed:
                continue
            rows, cols, *b = (_value(a) for a in t.args[1:])
            whole, part = (b[:3], b[3:]) if axis == 1 else (b[3:], b[:3])
            if whole[0] == 0 and whole[2] == 1 and dims_equal(whole[1], shape[1 - axis]) \
                    and part[2] == 1:
                pieces.setdefault(part[0], (part[1], t))
        run, at = [], sp.S.Zero
        while not dims_equal(at, shape[axis]):
            hit = next((key for key in pieces if dims_equal(key, at)), None)
            if hit is None:
                break
            at, piece = pieces.pop(hit)
            run.append(piece)
        if len(run) < 2 or not dims_equal(at, shape[axis]):
            continue
        out = graph.apply(Concat, graph.const(axis), *[t.args[0] for t in run], shape=shape)
        for t in terms:
            if all(t is not r for r in run):
                out = graph.apply(sp.Add, out, t)
        return out
    return None
