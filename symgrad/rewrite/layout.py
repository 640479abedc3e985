"""The canonical layout patterns are matched on: transposes at the leaves, sums along an
axis.

SymPy writes ``R.T`` for a softmax R = exp(S)/rowsum(exp(S)) as exp(S.T) divided by the
*column* sums of exp(S.T), and a transpose people apply themselves to a whole expression
hides every pattern under it. So the loss is first put in one layout: a transpose moves
below elementwise operations, broadcasts and sums, down to a leaf or to a node it cannot
pass (a matrix product, a row-wise softmax), and two transposes cancel. Patterns over
sums then name the axis they sum along (``sum_axis``), and the log-sum-exp of any axis is
built from the row-wise node (``logsumexp_along``): the column-wise one of M is the
transpose of the row-wise one of M.T, and the one over every entry is the row-wise one of
the column-wise one.
"""

import sympy as sp

from ..graph.ir import Broadcast, Fill, SumTo
from ..ops import is_elementwise
from ..ops.nodes import RowLogSumExp
from .database import register

__all__ = ["sum_axis", "logsumexp_along", "transpose"]

ROWS, COLUMNS, ALL = 1, 0, None


@register(sp.Transpose, phases=("stabilize",))
def transpose_to_the_leaves(r, x):
    """(f(a, b))^T -> f(a^T, b^T) for elementwise f, (rowsum X)^T -> colsum(X^T), and
    (X^T)^T -> X, over exponentials: a softmax or log-sum-exp seen through a transpose is
    the same pattern as one written directly, so its stable form is found whatever the
    layout. (Where no exponential is under it, the transpose stays where it was written.)"""
    if x.shape == (1, 1) or not _passes_to_exp(x, set()):
        return None
    out = transpose(r, x)
    return None if out.op is sp.Transpose and out.args[0] is x else out


def _passes_to_exp(x, seen):
    """Whether an exp node is reached from ``x`` through nodes a transpose moves through."""
    if x.op is sp.exp:
        return True
    if x.id in seen or not (x.op in (Broadcast, SumTo, sp.Transpose) or is_elementwise(x.op)):
        return False
    seen.add(x.id)
    return any(_passes_to_exp(a, seen) for a in x.args)


def transpose(r, x):
    """x^T with the transpose moved as far down as it goes (memoized for the run)."""
    memo = r.memo.setdefault("transpose", {})
    out = memo.get(x.id)
    if out is None:
        out = memo[x.id] = _transpose(r, x)
    return out


def _transpose(r, x):
    g = r.g
    if x.shape == () or x.shape == (1, 1) or (x.op is Fill and x.extra[0] is sp.Identity):
        return x
    flipped = x.shape[::-1]
    if x.op is sp.Transpose:
        return x.args[0]
    if x.op is Broadcast:
        return g.broadcast(transpose(r, x.args[0]), flipped)
    if x.op is SumTo:
        return g.sum_to(transpose(r, x.args[0]), flipped)
    if is_elementwise(x.op):
        return g.apply(x.op, *[transpose(r, a) for a in x.args], extra=x.extra)
    return g.apply(sp.Transpose, x, shape=flipped)


def sum_axis(x):
    """For a SumTo node: ROWS (one sum per row), COLUMNS, or ALL (every entry)."""
    inner = x.args[0].shape
    if x.shape != () and inner != ():
        rows, cols = inner
        if x.shape == (rows, 1) and cols != 1:
            return ROWS
        if x.shape == (1, cols) and rows != 1:
            return COLUMNS
    return ALL


def logsumexp_along(r, m, axis, shape):
    """The log-sum-exp of matrix node ``m`` along ``axis``, shaped like the sum (``shape``)."""
    g = r.g
    rows, cols = m.shape
    if axis == ROWS or (axis == ALL and rows == 1):
        out = g.apply(RowLogSumExp, m, shape=(rows, 1))
    elif axis == COLUMNS or cols == 1:
        out = transpose(r, g.apply(RowLogSumExp, transpose(r, m), shape=(cols, 1)))
    else:
        out = g.apply(RowLogSumExp, logsumexp_along(r, m, COLUMNS, (1, cols)), shape=(1, 1))
    if shape == ():
        return g.apply(sp.Trace, out, shape=())
    return out
