"""Each matrix computed in the layout its users read it in: the speed pass
``products_in_the_layout_used``, the last one (the transposes are not merged after it).

After ``one_node_per_transpose_pair`` a matrix and its transpose are one node; which of the
two is computed was a free choice (the transpose is a view). It matters for speed: an
entrywise operation on a row-major array and the transpose of another (a column-major
view) walks one of them with a stride, several times slower than two arrays in one
layout. So the orientations are chosen here, from the outputs down: a matrix is computed
transposed when more of its entrywise users read it transposed than as it is. Matrix
products (BLAS takes either layout of its operands) and vectors (one layout) have no say.
"""

import numpy as np
import sympy as sp

from ..graph.ir import Broadcast, Leaf, SumTo, ancestors
from ..ops import is_elementwise
from .chains import _Sizes
from .database import register_pass

__all__ = []

AS_IS, TURNED = False, True


@register_pass
def scalars_on_the_smaller_operand(graph, outs):
    """c*(A @ B) -> (c*A) @ B when A is half the product's size or less: a scale is one pass
    over its operand, so it goes on the smallest of the three; run after the passes that
    share work, which read c*(A @ B) and A @ B as one product."""
    sizes = _Sizes()

    def size(x):
        return float(np.mean(sizes.of(x.shape[0]) * sizes.of(x.shape[1]))) if x.shape else 0.0

    def replace(n, args):
        if n.op is not sp.Mul or args[0].shape != () or args[1].op is not sp.MatMul:
            return None
        c, product = args
        a, b = product.args
        if min(size(a), size(b)) >= size(product) / 2:    # a clear gain only: sizes drawn
            return None                                     # alike tie, and c*(A @ B) reads best
        if size(a) <= size(b):
            a = graph.apply(sp.Mul, c, a)
        else:
            b = graph.apply(sp.Mul, c, b)
        return graph.apply(sp.MatMul, a, b, shape=product.shape)
    return graph.rebuild(outs, replace)


@register_pass
def products_in_the_layout_used(graph, outs):
    """(A B)^T, f(X)^T read transposed by entrywise users -> B^T A^T, f(X^T): each matrix
    comes out in the layout it is read in, so entrywise operations do not mix row- and
    column-major arrays (a strided pass is slow); BLAS takes transposed operands for free."""
    nodes = ancestors(outs)
    turned = _orientations(nodes, outs)
    if not turned:
        return outs
    new = {}

    def view(x, want):
        """A node whose value is x (want AS_IS) or x^T (TURNED)."""
        if x.op is sp.Transpose and x.shape != (1, 1):
            return view(x.args[0], not want)
        stored = new[x.id]
        if x.shape in ((), (1, 1)) or want == (x.id in turned):
            return stored
        return _t(graph, stored)

    for n in nodes:
        if n.op is sp.Transpose and n.shape != (1, 1):
            new[n.id] = None            # a view: read through view()
            continue
        if n.id not in turned:
            args = [view(a, AS_IS) for a in n.args]
            new[n.id] = graph.reapply(n, args) if n.args else n
            continue
        if n.op is sp.MatMul:
            a, b = n.args
            new[n.id] = graph.apply(sp.MatMul, view(b, TURNED), view(a, TURNED), shape=n.shape[::-1])
        elif n.op is Broadcast:
            new[n.id] = graph.broadcast(view(n.args[0], TURNED), n.shape[::-1])
        elif n.op is SumTo:
            new[n.id] = graph.sum_to(view(n.args[0], TURNED), n.shape[::-1])
        else:
            new[n.id] = graph.apply(n.op, *[view(a, TURNED) for a in n.args], extra=n.extra)
    return [view(o, AS_IS) for o in outs]


def _orientations(nodes, outs):
    """The ids of the nodes to compute transposed: votes from the outputs down."""
    votes = {}
    for o in outs:
        want = AS_IS
        while o.op is sp.Transpose and o.shape != (1, 1):
            o, want = o.args[0], not want
        votes.setdefault(o.id, []).append(want)
    turned = set()
    for n in reversed(nodes):
        if n.op is sp.Transpose:
            continue
        mine = votes.get(n.id, [])
        if _turnable(n) and 2 * sum(mine) > len(mine):
            turned.add(n.id)
        if n.op is sp.MatMul:
            continue                     # BLAS reads either layout
        orientation = n.id in turned
        entrywise = is_elementwise(n.op) or n.op in (Broadcast, SumTo)
        for a in n.args:
            want = orientation if entrywise else AS_IS
            while a.op is sp.Transpose and a.shape != (1, 1):
                a, want = a.args[0], not want
            if _is_matrix(a):
                votes.setdefault(a.id, []).append(want)
    return turned


def _is_matrix(x):
    return len(x.shape) == 2 and 1 not in x.shape and x.shape[0] != 1


def _turnable(n):
    """Nodes computed either way round at the same cost (not leaves, vectors or row ops)."""
    if not _is_matrix(n) or n.op is Leaf:
        return False
    return n.op in (sp.MatMul, Broadcast, SumTo) or is_elementwise(n.op)


def _t(graph, x):
    if x.op is sp.Transpose:
        return x.args[0]
    if x.shape == (1, 1):
        return x
    return graph.apply(sp.Transpose, x, shape=x.shape[::-1])
