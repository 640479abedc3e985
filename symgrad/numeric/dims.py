"""Dimension symbols: which symbols size the matrices, and what sizes they take.

A matrix with shape ``(n, k)`` makes ``n`` and ``k`` dimension symbols. check_grad draws
them (or reads them off given arrays), verify draws them within their bounds; both read
and resolve shapes through these functions.

>>> n, k = sp.symbols("n k")
>>> X = sp.MatrixSymbol("X", n, k)
>>> dimension_symbols([X * X.T])
[n, k]
>>> sizes(X, {n: 2, k: 3})
(2, 3)
"""

from __future__ import annotations

import random

import sympy as sp

from .sampling import dimension

__all__ = ["dimension_symbols", "sizes", "draw_dimensions", "bind_dimensions"]


def dimension_symbols(exprs) -> list:
    """The symbols in the shape of any matrix in ``exprs``, in order of first appearance."""
    found = {}
    for e in exprs:
        for node in sp.preorder_traversal(e):
            if getattr(node, "is_Matrix", False) and hasattr(node, "shape"):
                for d in node.shape:
                    for s in sorted(sp.sympify(d).free_symbols, key=sp.default_sort_key):
                        found.setdefault(s, None)
    return list(found)


def sizes(m, values: dict):
    """(rows, cols) of matrix ``m`` as ints with ``values`` substituted into its shape, or
    None when a size is not a positive integer there."""
    out = tuple(sp.sympify(sp.sympify(d).xreplace(values)) for d in m.shape)
    if not all(d.is_Integer and d > 0 for d in out):
        return None
    return tuple(int(d) for d in out)


def draw_dimensions(exprs, given: dict, rng: random.Random, allowed=(2, 3)) -> dict:
    """``given`` plus a size from ``allowed`` for every other dimension symbol of ``exprs``."""
    dims = dict(given)
    for s in dimension_symbols(exprs):
        if s not in dims:
            dims[s] = dimension(rng, allowed)
    return dims


def bind_dimensions(m, shape, dims: dict) -> None:
    """Record in ``dims`` the sizes an array of ``shape`` gives the symbolic dimensions of
    matrix ``m`` (a dimension written as an expression, n + 1, is not solved for)."""
    for d, size in zip(m.shape, shape):
        if isinstance(d, sp.Symbol):
            dims[d] = sp.Integer(size)
