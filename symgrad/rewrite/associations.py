"""One node per product, however it is parenthesized: the speed pass
``one_node_per_matrix_product``."""

import numpy as np
import sympy as sp

from ..graph.ir import ancestors
from .chains import _Sizes
from .database import register_pass
from .transposes import one_node_per_transpose_pair

__all__ = []


@register_pass
def one_node_per_matrix_product(graph, outs):
    """(A B) C and A (B C), or (A B)^T and B^T A^T, both in the code -> the one whose last
    multiplication is cheaper: when A B and B C are each needed for something else, the
    chains that use them are ordered apart and would compute the same product twice.
    Repeated until no two nodes are one product (merging two makes their users equal)."""
    for _ in range(6):
        new = _merge_once(graph, outs)
        if new is outs:
            break
        outs = one_node_per_transpose_pair(graph, new)
    return outs


def _merge_once(graph, outs):
    nodes = ancestors(outs)
    keys, groups = {}, {}
    for n in nodes:
        key = _key(n, keys)
        if key is not None and len(key[0]) > 2:
            groups.setdefault(key, []).append(n)
    sizes, pick = _Sizes(), {}
    for key, members in groups.items():
        if len({m.id for m in members}) < 2:
            continue
        best = min(members, key=lambda m: (_last_cost(m, sizes), m.id))
        for m in members:
            if m is not best:
                pick[m.id] = (best, key[1] != keys[best.id][1])
    if not pick:
        return outs

    def replace(n, args):
        if n.id not in pick:
            return None
        best, turned = pick[n.id]
        return graph.apply(sp.Transpose, best, shape=best.shape[::-1]) if turned else best
    return graph.rebuild(outs, replace)


def _key(n, keys):
    """(factor sequence, transposed) of a product node: the leaves of its multiplications
    as (node id, transposed) pairs, in the orientation that sorts first; None otherwise."""
    if n.id in keys:
        return keys[n.id]
    seq = _sequence(n, False, keys.setdefault("sequences", {}))
    if seq is None:
        keys[n.id] = None
        return None
    back = tuple((i, not f) for i, f in reversed(seq))
    out = (seq, False) if seq <= back else (back, True)
    keys[n.id] = out
    return out


LONGEST = 64          # products of more factors are not compared (M**(2**20) squared 20 times)


def _sequence(n, flip, memo):
    """The factors of a product as (node id, transposed) pairs; None past LONGEST factors."""
    if (n.id, flip) in memo:
        return memo[n.id, flip]
    if n.op is sp.Transpose and n.shape != (1, 1):
        out = _sequence(n.args[0], not flip, memo)
    elif n.op is not sp.MatMul:
        out = ((n.id, flip),)
    else:
        a, b = n.args
        left, right = _sequence(a, flip, memo), _sequence(b, flip, memo)
        out = None if left is None or right is None or len(left) + len(right) > LONGEST \
            else right + left if flip else left + right
    memo[n.id, flip] = out
    return out


def _last_cost(n, sizes):
    while n.op is sp.Transpose:           # (A B)^T costs what A B costs
        n = n.args[0]
    a, b = n.args
    return float(np.mean(sizes.of(a.shape[0]) * sizes.of(a.shape[1]) * sizes.of(b.shape[1])))
