"""symgrad's nodes for pieces of matrices: the adjoint of a slice, and concatenation.

SymPy's ``MatrixSlice`` (``Z[:, 0]``, ``(X*W)[:, 1:]``, ``X[::2, :]``) is itself a graph op;
these two nodes are what its gradient and ``BlockMatrix`` need:

    Embed(G, rows, cols, r0, r1, rs, c0, c1, cs)   rows x cols zeros with G placed at
                                                    [r0:r1:rs, c0:c1:cs] (a slice's adjoint)
    Concat(axis, A, B, ...)                        A, B, ... side by side (axis=1) or stacked
                                                    (axis=0), as np.concatenate

Bounds are SymPy integers or expressions in the dimensions (``n - 1``); steps are positive
and divide the extent. ``doit()`` writes out explicit matrices; ``_entry`` reads one entry.

>>> import sympy as sp
>>> G = sp.ImmutableMatrix([[1, 2]])
>>> Embed(G, 2, 3, 1, 2, 1, 0, 3, 2).doit()
Matrix([
[0, 0, 0],
[1, 0, 2]])
>>> Concat(1, G, G).doit()
Matrix([[1, 2, 1, 2]])
"""

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from ..errors import ArgumentError
from .printing import Printed

__all__ = ["Embed", "Concat", "slice_count"]


def slice_count(start, stop, step):
    """How many indices start, start + step, ... < stop holds (step divides stop - start)."""
    return sp.simplify((sp.sympify(stop) - start) / step)


def _matrix(cls, M):
    M = sp.sympify(M)
    if not getattr(M, "is_Matrix", False):
        raise ArgumentError("%s needs matrix arguments, got %s" % (cls.__name__, M))
    return M


def _explicit(M, hints):
    if hints.get("deep", True):
        M = M.doit(**hints)
    if isinstance(M, MatrixExpr) and not M.atoms(sp.MatrixSymbol) and \
            all(sp.sympify(d).is_Integer for d in M.shape):
        M = M.as_explicit()
    return M


class Embed(Printed, MatrixExpr):
    """A rows x cols matrix of zeros with G at the slice [r0:r1:rs, c0:c1:cs]."""

    def __new__(cls, G, rows, cols, r0, r1, rs, c0, c1, cs):
        bounds = [sp.sympify(b) for b in (rows, cols, r0, r1, rs, c0, c1, cs)]
        return sp.Basic.__new__(cls, _matrix(cls, G), *bounds)

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return self.args[1], self.args[2]

    def _entry(self, i, j, **kwargs):
        r0, r1, rs, c0, c1, cs = self.args[3:]
        i, j = sp.sympify(i), sp.sympify(j)
        a, b = (i - r0) / rs, (j - c0) / cs
        inside = [(i >= r0), (i < r1), (j >= c0), (j < c1)]
        if sp.sympify(i).is_Integer and sp.sympify(j).is_Integer and \
                all(c in (sp.true, sp.false) for c in inside):
            hit = all(c == sp.true for c in inside) and a.is_Integer and b.is_Integer
            return self.arg[a, b] if hit else sp.S.Zero
        return sp.Piecewise((self.arg[a, b], sp.And(*inside, sp.Eq(sp.Mod(i - r0, rs), 0),
                                                     sp.Eq(sp.Mod(j - c0, cs), 0))),
                            (0, True))

    def doit(self, **hints):
        G = _explicit(self.arg, hints)
        if isinstance(G, sp.MatrixBase) and all(a.is_Integer for a in self.args[1:]):
            rows, cols, r0, r1, rs, c0, c1, cs = (int(a) for a in self.args[1:])
            out = sp.zeros(rows, cols)
            for a, i in enumerate(range(r0, r1, rs)):
                for b, j in enumerate(range(c0, c1, cs)):
                    out[i, j] = G[a, b]
            return sp.ImmutableMatrix(out)
        return Embed(G, *self.args[1:])


class Concat(Printed, MatrixExpr):
    """Matrices side by side (axis=1: same rows) or stacked (axis=0: same columns)."""

    def __new__(cls, axis, *blocks):
        axis = sp.sympify(axis)
        if axis not in (0, 1) or not blocks:
            raise ArgumentError("Concat needs axis 0 or 1 and at least one matrix, got %s" % axis)
        return sp.Basic.__new__(cls, axis, *[_matrix(cls, b) for b in blocks])

    @property
    def axis(self):
        return int(self.args[0])

    @property
    def blocks(self):
        return self.args[1:]

    @property
    def shape(self):
        first = self.blocks[0].shape
        if self.axis == 1:
            return first[0], sp.Add(*[b.shape[1] for b in self.blocks])
        return sp.Add(*[b.shape[0] for b in self.blocks]), first[1]

    def _entry(self, i, j, **kwargs):
        index = i if self.axis == 0 else j
        pieces, offset = [], sp.S.Zero
        for b in self.blocks:
            size = b.shape[self.axis]
            local = (index - offset, j) if self.axis == 0 else (i, index - offset)
            pieces.append((b[local], index < offset + size))
            offset += size
        if index.is_Integer and all(c in (sp.true, sp.false) for _, c in pieces):
            return next(value for value, c in pieces if c == sp.true)
        return sp.Piecewise(*pieces)

    def doit(self, **hints):
        blocks = [_explicit(b, hints) for b in self.blocks]
        if all(isinstance(b, sp.MatrixBase) for b in blocks):
            join = sp.Matrix.hstack if self.axis == 1 else sp.Matrix.vstack
            return sp.ImmutableMatrix(join(*blocks))
        return Concat(self.axis, *blocks)
