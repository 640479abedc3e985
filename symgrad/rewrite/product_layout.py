"""Products computed in the layout their users read: the speed pass
``products_in_the_layout_used``, the last one (the transposes are not merged after it)."""

import sympy as sp

from ..graph.ir import ancestors
from .database import register_pass

__all__ = []


@register_pass
def products_in_the_layout_used(graph, outs):
    """(A B)^T, where A B is used only transposed -> B^T A^T: the product comes out in the
    layout it is read in (BLAS takes transposed operands for free), so the entrywise
    operations after it do not mix row- and column-major arrays, which is slow."""
    nodes = ancestors(outs)
    plain = {o.id for o in outs}
    for n in nodes:
        for a in n.args:
            if n.op is not sp.Transpose:
                plain.add(a.id)

    def replace(n, args):
        x = args[0] if n.op is sp.Transpose else None
        if x is None or n.args[0].id in plain:
            return None
        scale = None
        if x.op is sp.Mul and x.args[0].shape == () and x.args[1].op is sp.MatMul:
            scale, x = x.args              # (c A B)^T = c B^T A^T
        if x.op is not sp.MatMul:
            return None
        a, b = x.args
        out = graph.apply(sp.MatMul, _t(graph, b), _t(graph, a), shape=n.shape)
        return out if scale is None else graph.apply(sp.Mul, scale, out)
    return graph.rebuild(outs, replace)


def _t(graph, x):
    if x.op is sp.Transpose:
        return x.args[0]
    if x.shape == (1, 1):
        return x
    return graph.apply(sp.Transpose, x, shape=x.shape[::-1])
