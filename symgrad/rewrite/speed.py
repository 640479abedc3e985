"""Fast forms of what codegen prints: the "speed" passes, in the order they run.

    fused.py        exp(log-softmax) -> softmax; a branch's condition decided once
    pieces.py       slices' adjoints that fill a matrix side by side -> one concatenation
    transposes.py   one node for a matrix and its transpose (a forward pass is not computed
                    again in the gradient's layout)
    chains.py       matrix chains in their cheapest order, traces of chains split where
                    cheap, solves instead of inverses
    associations.py one node per product however it is parenthesized
    factorizations.py  one LU factorization per matrix for its solves, inverse and log det
    product_layout.py  scales on the smallest operand of a product; each matrix computed in
                    the layout its users read (the last passes)

Unlike the stable rewrites, these run on the loss and gradients codegen prints, not on the
program's graph as the pipeline keeps it: they add nodes to the graph (hash-consed, so
shared work stays shared) and return new output nodes. ``symgrad.rewrite.names("speed")``
lists them; ``exclude=`` switches some off.
"""

from typing import Iterable

from . import fused, pieces, transposes, chains, associations, factorizations, product_layout  # noqa: F401,I001
from .database import describe, run_passes

__all__ = ["speed"]

LAST = {transposes.one_node_per_transpose_pair.__name__,    # after these, no merging of transposes
        product_layout.scalars_on_the_smaller_operand.__name__,
        product_layout.products_in_the_layout_used.__name__}


def speed(graph, outs: list, exclude: Iterable[str] = ()) -> list:
    """The output nodes ``outs`` rewritten by the speed passes (without ``exclude``); after
    each pass that builds new products, matrices and their transposes are made one node
    again (unless that pass is excluded too).

    >>> import sympy as sp
    >>> from symgrad.graph.ir import Graph
    >>> g = Graph(); a = g.leaf(sp.MatrixSymbol("a", 3, 1))
    >>> at = g.apply(sp.Transpose, a, shape=(1, 3))
    >>> r = g.apply(sp.Add, g.apply(sp.Transpose, g.apply(sp.exp, a), shape=(1, 3)), g.apply(sp.exp, at))
    >>> speed(g, [r])[0].op.__name__
    'Transpose'
    """
    exclude = set(exclude)
    canon = transposes.one_node_per_transpose_pair.__name__
    for rw in describe("speed"):
        if rw.name in exclude:
            continue
        outs = run_passes(graph, list(outs), [n.name for n in describe("speed") if n is not rw])
        if rw.name not in LAST and canon not in exclude:
            outs = transposes.one_node_per_transpose_pair(graph, outs)
    return outs
