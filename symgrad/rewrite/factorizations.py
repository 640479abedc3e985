"""One factorization per matrix: the speed pass ``one_factorization_per_matrix``."""

import sympy as sp

from ..graph.ir import ancestors
from ..ops.nodes import LogDet
from .database import register_pass
from .linalg_nodes import LUFactor, LUInverse, LULogDet, LUSolve, Solve

__all__ = []


@register_pass
def one_factorization_per_matrix(graph, outs):
    """solve(A, B), solve(A^T, C), inv(A), log det A, two or more of them -> one LU
    factorization of A and triangular solves with it: each solve, inverse and slogdet
    factorizes A again (2/3 d^3 each), a shared factorization does it once."""
    count = {}
    for n in ancestors(outs):
        a = _matrix(n)
        if a is not None:
            count[a.id] = count.get(a.id, 0) + 1
    shared = {i for i, c in count.items() if c >= 2}
    if not shared:
        return outs

    def replace(n, args):
        a = _matrix(n)
        if a is None or a.id not in shared:
            return None
        f = graph.apply(LUFactor, a, shape=a.shape)
        if n.op is LogDet:
            return graph.apply(LULogDet, f, shape=())
        if n.op is sp.Inverse:
            return graph.apply(LUInverse, f, shape=a.shape)
        turned = n.args[0].op is sp.Transpose
        return graph.apply(LUSolve, f, args[1], shape=n.shape, extra="T" if turned else "N")
    return graph.rebuild(outs, replace)


def _matrix(n):
    """The matrix A a solve, inverse or log det node works with (A for a solve with A^T)."""
    if n.op is Solve:
        a = n.args[0]
        return a.args[0] if a.op is sp.Transpose else a
    if n.op in (sp.Inverse, LogDet):
        return n.args[0]
    return None
