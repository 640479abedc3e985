"""symgrad's matrix nodes, for operations SymPy has no single node for.

RowLogSumExp, RowSoftmax, RowLogSoftmax, AxisSum and ElementwiseMap are
MatrixExprs; SumAll, Mean and LogDet are scalars of a matrix, like SymPy's
Trace. Symbolic dimensions stay symbolic; ``doit()`` evaluates explicit matrices. LaTeX and
2-D text print them as a textbook does (``Printed``: softmax(Z), sum(M), M𝟏).
"""

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from ..errors import ArgumentError

from .scalar_nodes import LogSumExp
from .printing import Printed

__all__ = ["RowLogSumExp", "RowSoftmax", "RowLogSoftmax", "AxisSum", "ElementwiseMap",
           "SumAll", "Mean", "LogDet"]


def _explicit(M, hints):
    """M.doit(): the node evaluates explicitly only when M holds no MatrixSymbol.

    Like SymPy's own nodes, a node over a MatrixSymbol stays a node even with
    numeric dimensions: SymPy calls doit() on every product it builds, and an
    n x k softmax written out entry by entry would grow with n and k.
    """
    if not hints.get("deep", True):
        return M
    M = M.doit(**hints)
    if not isinstance(M, sp.MatrixBase) and not M.atoms(sp.MatrixSymbol) and \
            all(sp.sympify(d).is_Integer for d in M.shape):
        M = M.as_explicit()                   # HadamardPower(Matrix(...), 2) and the like
    return M


def _matrix_arg(cls, M):
    if isinstance(M, (str, bytes)):
        raise ArgumentError("%s takes a SymPy matrix expression, not text (%r); strings are never "
                            "parsed" % (cls.__name__, M))
    M = sp.sympify(M, strict=True)
    if not getattr(M, "is_Matrix", False):
        raise ArgumentError("%s needs a matrix argument, got %s" % (cls.__name__, M))
    return M


class _RowNode(Printed, MatrixExpr):
    """A matrix function of one matrix argument, applied row by row."""

    def __new__(cls, M):
        return sp.Basic.__new__(cls, _matrix_arg(cls, M))

    @property
    def arg(self):
        return self.args[0]


class RowLogSumExp(_RowNode):
    """Row-wise log-sum-exp: an n x k matrix gives an n x 1 column."""

    @property
    def shape(self):
        return (self.arg.shape[0], sp.S.One)

    def _entry(self, i, j, **kwargs):
        k = sp.sympify(self.arg.shape[1])
        if k.is_Integer:
            return LogSumExp(*[self.arg[i, c] for c in range(int(k))])
        c = sp.Dummy("c", integer=True)
        return sp.log(sp.Sum(sp.exp(self.arg[i, c]), (c, 0, k - 1)))

    def doit(self, **hints):
        M = _explicit(self.arg, hints)
        if isinstance(M, sp.MatrixBase):
            return sp.ImmutableMatrix(M.rows, 1, lambda i, j: LogSumExp(*M.row(i)))
        return RowLogSumExp(M)



class RowSoftmax(_RowNode):
    """Row-wise softmax: exp(M) divided by its row sums, same shape as M."""

    @property
    def shape(self):
        return self.arg.shape

    def _entry(self, i, j, **kwargs):
        return sp.exp(self.arg[i, j] - RowLogSumExp(self.arg)._entry(i, 0))

    def doit(self, **hints):
        M = _explicit(self.arg, hints)
        if isinstance(M, sp.MatrixBase):
            return sp.ImmutableMatrix(
                M.rows, M.cols, lambda i, j: sp.exp(M[i, j] - LogSumExp(*M.row(i))))
        return RowSoftmax(M)



class AxisSum(Printed, MatrixExpr):
    """Sum along an axis: axis=0 gives the 1 x k column sums, axis=1 the n x 1 row sums."""

    def __new__(cls, M, axis):
        axis = sp.sympify(axis)
        if axis not in (0, 1):
            raise ArgumentError("AxisSum axis must be 0 or 1, got %s" % axis)
        return sp.Basic.__new__(cls, _matrix_arg(cls, M), axis)

    @property
    def arg(self):
        return self.args[0]

    @property
    def axis(self):
        return int(self.args[1])

    @property
    def shape(self):
        r, c = self.arg.shape
        return (sp.S.One, c) if self.axis == 0 else (r, sp.S.One)

    def _entry(self, i, j, **kwargs):
        r, c = (sp.sympify(d) for d in self.arg.shape)
        n = r if self.axis == 0 else c
        if n.is_Integer:
            if self.axis == 0:
                return sp.Add(*[self.arg[t, j] for t in range(int(n))])
            return sp.Add(*[self.arg[i, t] for t in range(int(n))])
        t = sp.Dummy("t", integer=True)
        term = self.arg[t, j] if self.axis == 0 else self.arg[i, t]
        return sp.Sum(term, (t, 0, n - 1))

    def doit(self, **hints):
        M = _explicit(self.arg, hints)
        if isinstance(M, sp.MatrixBase):
            if self.axis == 0:
                return sp.ImmutableMatrix(1, M.cols, lambda i, j: sp.Add(*M.col(j)))
            return sp.ImmutableMatrix(M.rows, 1, lambda i, j: sp.Add(*M.row(i)))
        return AxisSum(M, self.axis)



class ElementwiseMap(Printed, MatrixExpr):
    """A function of several same-shape matrices, applied entry by entry.

    SymPy's ``M.applyfunc(f)`` takes one matrix; this takes several, e.g. the
    entrywise ``Piecewise((G, Z > 0), (0, True))`` of a ReLU's gradient.
    """

    def __new__(cls, function, *matrices):
        matrices = [_matrix_arg(cls, M) for M in matrices]
        if not isinstance(function, sp.Lambda) or len(function.variables) != len(matrices):
            raise ArgumentError("ElementwiseMap needs a Lambda with one variable per matrix")
        return sp.Basic.__new__(cls, function, *matrices)

    @property
    def function(self):
        return self.args[0]

    @property
    def matrices(self):
        return self.args[1:]

    @property
    def shape(self):
        return self.matrices[0].shape

    def _entry(self, i, j, **kwargs):
        return self.function(*[M[i, j] for M in self.matrices])

    def doit(self, **hints):
        ms = [_explicit(M, hints) for M in self.matrices]
        if all(isinstance(M, sp.MatrixBase) for M in ms):
            return sp.ImmutableMatrix(ms[0].rows, ms[0].cols,
                                      lambda i, j: self.function(*[M[i, j] for M in ms]))
        return ElementwiseMap(self.function, *ms)


class _ScalarOfMatrix(Printed, sp.Expr):
    """A scalar-valued function of one matrix, like SymPy's Trace."""

    is_commutative = True

    def __new__(cls, M):
        return sp.Basic.__new__(cls, _matrix_arg(cls, M))

    @property
    def arg(self):
        return self.args[0]

    def _eval_is_real(self):
        return True if self.arg.is_real is not False else None

    def _eval_transpose(self):
        return self


class SumAll(_ScalarOfMatrix):
    """The sum of every entry of a matrix, a scalar."""

    def doit(self, **hints):
        M = _explicit(self.arg, hints)
        if isinstance(M, sp.MatrixBase):
            return sp.Add(*M)
        return SumAll(M)



class Mean(_ScalarOfMatrix):
    """The mean of every entry of a matrix, a scalar."""

    def doit(self, **hints):
        M = _explicit(self.arg, hints)
        if isinstance(M, sp.MatrixBase):
            return sp.Add(*M) / (M.rows * M.cols)
        return Mean(M)



class LogDet(_ScalarOfMatrix):
    """log(det(X)) of a square matrix, evaluated through slogdet."""

    def doit(self, **hints):
        X = _explicit(self.arg, hints)
        if isinstance(X, sp.MatrixBase):
            return sp.log(X.det())
        return LogDet(X)



class RowLogSoftmax(_RowNode):
    """Row-wise log-softmax: M minus its row-wise log-sum-exp, same shape as M."""

    @property
    def shape(self):
        return self.arg.shape

    def _entry(self, i, j, **kwargs):
        return self.arg[i, j] - RowLogSumExp(self.arg)._entry(i, 0)

    def doit(self, **hints):
        M = _explicit(self.arg, hints)
        if isinstance(M, sp.MatrixBase):
            return sp.ImmutableMatrix(M.rows, M.cols, lambda i, j: M[i, j] - LogSumExp(*M.row(i)))
        return RowLogSoftmax(M)


