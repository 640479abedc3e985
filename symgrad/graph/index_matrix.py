"""Matrix expressions written out with indices: entry (r, c) of a MatrixExpr as a Sum.

``entry(M, r, c)`` writes one entry of a matrix expression by the definitions:
(AB)_rc = Σ_k A_rk B_kc, (Aᵀ)_rc = A_cr, (A ∘ B)_rc = A_rc B_rc, f(A)_rc = f(A_rc),
(𝟏)_rc = 1, I_rc = δ_rc, softmax(A)_rc = exp(A_rc) / Σ_k exp(A_rk), logsumexp(A)_r =
log Σ_k exp(A_rk); ``scalar(L)`` writes a scalar of matrices (tr, sum, ...). A
MatrixSymbol X becomes the IndexedBase X read at [r, c], and a column (d x 1) or row
(1 x d) vector an array of rank 1, as the index form of the same loss writes them. Each
contraction gets a fresh index ``k1, k2, ...``; so the index form and the matrix form of
a loss (or of its gradient) can be compared in one notation.

>>> n, d = sp.symbols("n d", integer=True, positive=True)
>>> X, w = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1)
>>> i = sp.Symbol("i", integer=True)
>>> entry(X * w, i, 0)
Sum(X[i, k1]*w[k1], (k1, 0, d - 1))
"""

from __future__ import annotations

import itertools

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..errors import ArgumentError, UnsupportedExpression
from ..ops.matrix_nodes import AxisSum, ElementwiseMap, RowLogSumExp, RowSoftmax, SumAll

__all__ = ["index_form", "entry", "scalar"]


def index_form(expr: "sp.Basic", row: "sp.Expr | int | None" = None,
               col: "sp.Expr | int | None" = None) -> sp.Expr:
    """A scalar of matrices (a loss: tr, sum, ...) written with indices, or entry
    (row, col) of a matrix expression (a gradient), so it can be compared with the same
    loss written in index notation (``verify`` proves such equalities for all sizes).

    >>> n, d = sp.symbols("n d", integer=True, positive=True)
    >>> X, w = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1)
    >>> index_form(sp.Trace(w.T * w))
    Sum(w[k2]**2, (k2, 0, d - 1), (k1, 0, 0))
    >>> index_form(X.T * X, sp.Symbol("i", integer=True), 0)
    Sum(X[k1, 0]*X[k1, i], (k1, 0, n - 1))
    """
    expr = sp.sympify(expr)
    if getattr(expr, "is_Matrix", False):
        if row is None or col is None:
            raise ArgumentError("index_form of a %s x %s matrix needs the entry: row and col"
                                % expr.shape)
        return entry(expr, row, col)
    return scalar(expr)


def entry(M, r, c, fresh=None):
    """Entry (r, c) of the matrix expression ``M`` as an index expression."""
    fresh = fresh if fresh is not None else _Fresh(M)
    return _Entries(fresh).at(M, sp.sympify(r), sp.sympify(c))


def scalar(L):
    """A scalar expression of matrices (tr, sum, 1 x 1 products) with every matrix written
    out as Sums of entries."""
    return _Entries(_Fresh(L)).scalar(sp.sympify(L))


class _Fresh:
    """Fresh index symbols k1, k2, ... not used in the expression."""

    def __init__(self, expr):
        self.taken = {s.name for s in sp.sympify(expr).atoms(sp.Symbol)}
        self.count = itertools.count(1)

    def __call__(self):
        while True:
            name = "k%d" % next(self.count)
            if name not in self.taken:
                return sp.Symbol(name, integer=True)


class _Entries:
    def __init__(self, fresh):
        self.fresh = fresh

    def contract(self, size, f):
        k = self.fresh()
        return sp.Sum(f(k), (k, 0, size - 1))

    def scalar(self, e):
        if isinstance(e, sp.Trace):
            return self.contract(e.arg.shape[0], lambda k: self.at(e.arg, k, k))
        if isinstance(e, SumAll):
            M = e.args[0]
            return self.contract(M.shape[0], lambda a: self.contract(
                M.shape[1], lambda b: self.at(M, a, b)))
        if getattr(e, "is_Matrix", False):
            if e.shape != (1, 1):
                raise UnsupportedExpression("a %s x %s matrix where a scalar is expected" % e.shape)
            return self.at(e, sp.S.Zero, sp.S.Zero)
        if not e.args or isinstance(e, sp.Symbol):
            return e
        return e.func(*[self.scalar(a) for a in e.args])

    def at(self, M, r, c):
        if isinstance(M, sp.MatrixSymbol):
            rows, cols = M.shape
            base = sp.IndexedBase(M.name)
            if cols == 1:
                return base[r]
            if rows == 1:
                return base[c]
            return base[r, c]
        if isinstance(M, sp.MatAdd):
            return sp.Add(*[self.at(a, r, c) for a in M.args])
        if isinstance(M, sp.MatMul):
            return self.product(M, r, c)
        if isinstance(M, sp.Transpose):
            return self.at(M.arg, c, r)
        if isinstance(M, sp.HadamardProduct):
            return sp.Mul(*[self.at(a, r, c) for a in M.args])
        if isinstance(M, sp.HadamardPower):
            return self.at(M.base, r, c) ** self.scalar(M.exp)
        if isinstance(M, ElementwiseApplyFunction):
            return M.function(self.at(M.expr, r, c))
        if isinstance(M, ElementwiseMap):
            return M.function(*[self.at(A, r, c) for A in M.matrices])
        if isinstance(M, sp.OneMatrix):
            return sp.S.One
        if isinstance(M, sp.ZeroMatrix):
            return sp.S.Zero
        if isinstance(M, sp.Identity):
            return sp.KroneckerDelta(r, c)
        if isinstance(M, RowSoftmax):
            A = M.args[0]
            return sp.exp(self.at(A, r, c)) / self.contract(
                A.shape[1], lambda k: sp.exp(self.at(A, r, k)))
        if isinstance(M, RowLogSumExp):
            A = M.args[0]
            return sp.log(self.contract(A.shape[1], lambda k: sp.exp(self.at(A, r, k))))
        if isinstance(M, AxisSum):
            A, axis = M.args
            if axis == 0:
                return self.contract(A.shape[0], lambda k: self.at(A, k, c))
            return self.contract(A.shape[1], lambda k: self.at(A, r, k))
        raise UnsupportedExpression("%s: no index form of this matrix operation" % type(M).__name__)

    def product(self, M, r, c):
        scalars = [a for a in M.args if not getattr(a, "is_Matrix", False)]
        mats = [a for a in M.args if getattr(a, "is_Matrix", False)]
        coefficient = sp.Mul(*[self.scalar(s) for s in scalars])
        if not mats:
            return coefficient
        return coefficient * self.chain(mats, r, c)

    def chain(self, mats, r, c):
        if len(mats) == 1:
            return self.at(mats[0], r, c)
        first, rest = mats[0], mats[1:]
        if first.shape[1] == 1:                 # an outer product: no index to sum
            return self.at(first, r, sp.S.Zero) * self.chain(rest, sp.S.Zero, c)
        return self.contract(first.shape[1], lambda k: self.at(first, r, k) * self.chain(rest, k, c))
