"""symgrad's own SymPy nodes, for operations SymPy has no single node for.

Scalar (elementwise) functions:

    Sigmoid(z)        1 / (1 + exp(-z))
    Softplus(z)       log(1 + exp(z))
    LogSumExp(*z)     log(exp(z1) + ... + exp(zn))
    XLogY(x, y)       x*log(y), with 0*log(0) = 0
    XLog1pY(x, y)     x*log(1 + y), with 0*log(0) = 0
    LogSoftmax(k, *z) z_k - log(exp(z1) + ... + exp(zn)), accurate when z_k dominates

Matrix nodes (symbolic dimensions stay symbolic):

    RowLogSumExp(M)   n x 1, log of the sum of exp along each row
    RowSoftmax(M)     n x k, exp(M) divided by its row sums
    RowLogSoftmax(M)  n x k, M minus its row-wise log-sum-exp
    AxisSum(M, axis)  axis=0: 1 x k column sums; axis=1: n x 1 row sums
    SumAll(M)         scalar, sum of every entry
    Mean(M)           scalar, mean of every entry
    LogDet(X)         scalar, log(det(X)); symgrad reads log(Determinant(X)) as this
    ElementwiseMap(f, A, B, ...)   f applied entry by entry to same-shape matrices

Each node prints for LaTeX (``_latex``), evaluates numerically, and rewrites
into standard SymPy through :func:`to_standard`. Everything else about them (rules,
printers, evaluators, kinks) is their entry in the op registry. SymPy's own ``log1p``
and ``expm1`` (from ``sympy.codegen.cfunctions``) are used as they are.
"""

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ..errors import ArgumentError

from .registry import lookup
from .matrix_nodes import (AxisSum, ElementwiseMap, LogDet, Mean, RowLogSoftmax, RowLogSumExp,
                           RowSoftmax, SumAll)
from .scalar_nodes import LogSoftmax, LogSumExp, Sigmoid, Softplus, XLog1pY, XLogY

__all__ = [
    "Sigmoid", "Softplus", "LogSumExp", "LogSoftmax", "XLogY", "XLog1pY", "log1p", "expm1",
    "RowLogSumExp", "RowSoftmax", "RowLogSoftmax", "AxisSum", "SumAll", "Mean", "LogDet",
    "ElementwiseMap",
    "sigmoid", "softplus", "logsumexp", "softmax", "msum", "mean",
    "to_standard",
]


# --- constructors ---------------------------------------------------------------

def _is_matrix(x):
    return getattr(sp.sympify(x), "is_Matrix", False)


def sigmoid(z):
    """The logistic function; elementwise on a matrix. ``sigmoid(0) == 1/2``."""
    if _is_matrix(z):
        return sp.sympify(z).applyfunc(Sigmoid)
    return Sigmoid(z)


def softplus(z):
    """log(1 + exp(z)); elementwise on a matrix."""
    if _is_matrix(z):
        return sp.sympify(z).applyfunc(Softplus)
    return Softplus(z)


def logsumexp(*zs, axis=None):
    """log(sum(exp(z))): of scalars, or of a matrix along ``axis=1`` (rows)."""
    if len(zs) == 1 and _is_matrix(zs[0]):
        if axis != 1:
            raise ArgumentError("logsumexp of a matrix supports axis=1 (row-wise) only; for "
                                "columns use logsumexp(M.T, axis=1)")
        return RowLogSumExp(zs[0])
    return LogSumExp(*zs)


def softmax(M):
    """Row-wise softmax of a matrix (symbolic dimensions allowed)."""
    return RowSoftmax(M)


def msum(M, axis=None):
    """Sum of a matrix's entries: all of them (a scalar), or along axis 0 or 1."""
    if axis is None:
        return SumAll(M)
    return AxisSum(M, axis)


def mean(M):
    """Mean of a matrix's entries, a scalar."""
    return Mean(M)


# --- back to standard SymPy -------------------------------------------------------

def to_standard(expr):
    """Rewrite symgrad's nodes (and log1p/expm1) into standard SymPy functions, through each
    op's registry entry (``standard``).

    Matrix nodes are rewritten only where their argument is an explicit matrix;
    elsewhere they are left in place.

    >>> import sympy as sp
    >>> z = sp.Symbol("z", real=True)
    >>> to_standard(Softplus(z) + Sigmoid(z))
    log(exp(z) + 1) + 1/(1 + exp(-z))
    """
    expr = sp.sympify(expr)

    def walk(e):
        if not e.args:
            return e
        if isinstance(e, sp.Lambda):
            return sp.Lambda(e.variables, walk(e.expr))
        args = [walk(a) for a in e.args]
        op = lookup(type(e))
        if op is not None and op.standard is not None:
            return op.standard(*args)
        return e.func(*args) if args != list(e.args) else e

    return walk(expr)
