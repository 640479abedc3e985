"""Fast forms of what codegen prints: the "speed" passes, in the order they run.

    fused.py        exp(log-softmax) -> softmax
    transposes.py   one node for a matrix and its transpose (a forward pass is not computed
                    again in the gradient's layout)
    chains.py       matrix chains in their cheapest order, traces of chains split where
                    cheap, solves instead of inverses
    associations.py one node per product however it is parenthesized
    factorizations.py  one LU factorization per matrix for its solves, inverse and log det

Unlike the stable rewrites, these run on the loss and gradients codegen prints, not on the
program's graph as the pipeline keeps it: they add nodes to the graph (hash-consed, so
shared work stays shared) and return new output nodes. ``symgrad.rewrite.names("speed")``
lists them; ``exclude=`` switches some off.
"""

from typing import Iterable

from . import fused, transposes, chains, associations, factorizations  # noqa: F401,I001  (registers the passes, in order)
from .database import run_passes

__all__ = ["speed"]


def speed(graph, outs: list, exclude: Iterable[str] = ()) -> list:
    """The output nodes ``outs`` rewritten by the speed passes (without ``exclude``).

    >>> import sympy as sp
    >>> from symgrad.graph.ir import Graph
    >>> g = Graph(); a = g.leaf(sp.MatrixSymbol("a", 3, 1))
    >>> at = g.apply(sp.Transpose, a, shape=(1, 3))
    >>> r = g.apply(sp.Add, g.apply(sp.Transpose, g.apply(sp.exp, a), shape=(1, 3)), g.apply(sp.exp, at))
    >>> speed(g, [r])[0].op.__name__
    'Transpose'
    """
    outs = run_passes(graph, list(outs), exclude)
    if "one_node_per_transpose_pair" not in set(exclude):   # reordered chains, shared again
        outs = transposes.one_node_per_transpose_pair(graph, outs)
    return outs
