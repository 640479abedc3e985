"""symgrad's own SymPy nodes, for operations SymPy has no single node for.

Scalar (elementwise) functions:

    Sigmoid(z)        1 / (1 + exp(-z))
    Softplus(z)       log(1 + exp(z))
    LogSumExp(*z)     log(exp(z1) + ... + exp(zn))
    XLogY(x, y)       x*log(y), with 0*log(0) = 0

Matrix nodes (symbolic dimensions stay symbolic):

    RowLogSumExp(M)   n x 1, log of the sum of exp along each row
    RowSoftmax(M)     n x k, exp(M) divided by its row sums
    AxisSum(M, axis)  axis=0: 1 x k column sums; axis=1: n x 1 row sums
    SumAll(M)         scalar, sum of every entry
    Mean(M)           scalar, mean of every entry
    LogDet(X)         scalar, log(det(X)); symgrad reads log(Determinant(X)) as this
    ElementwiseMap(f, A, B, ...)   f applied entry by entry to same-shape matrices

Each node prints for NumPy (``_numpycode``, so ``sympy.lambdify`` works too) and
for LaTeX (``_latex``), evaluates numerically, and rewrites into standard SymPy
through :func:`to_standard`. SymPy's own ``log1p`` and ``expm1`` (from
``sympy.codegen.cfunctions``) are used as they are.
"""

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.matrices.expressions.matexpr import MatrixExpr

__all__ = [
    "Sigmoid", "Softplus", "LogSumExp", "XLogY", "log1p", "expm1",
    "RowLogSumExp", "RowSoftmax", "AxisSum", "SumAll", "Mean", "LogDet", "ElementwiseMap",
    "sigmoid", "softplus", "logsumexp", "softmax", "msum", "mean",
    "to_standard",
]


def _arg_latex(printer, arg):
    return printer._print(arg)


# --- scalar functions ---------------------------------------------------------

class Sigmoid(sp.Function):
    """The logistic function, 1/(1 + exp(-z)), printed as a stable ``expit``."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half
        if z is sp.S.Infinity:
            return sp.S.One
        if z is sp.S.NegativeInfinity:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        z = self.args[0]
        return Sigmoid(z) * Sigmoid(-z)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_real:
            return True

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)

    def _latex(self, printer):
        return r"\sigma\left(%s\right)" % _arg_latex(printer, self.args[0])

    def _numpycode(self, printer):
        return "%s(%s)" % (printer._module_format("scipy.special.expit"),
                           printer._print(self.args[0]))


class Softplus(sp.Function):
    """log(1 + exp(z)), printed as the stable ``logaddexp(0, z)``."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.log(2)

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0])

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_real:
            return True

    def _eval_rewrite_as_log(self, z, **kwargs):
        return sp.log(1 + sp.exp(z))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)

    def _latex(self, printer):
        return r"\operatorname{softplus}\left(%s\right)" % _arg_latex(printer, self.args[0])

    def _numpycode(self, printer):
        return "%s(0, %s)" % (printer._module_format("numpy.logaddexp"),
                              printer._print(self.args[0]))


class LogSumExp(sp.Function):
    """log(exp(z1) + ... + exp(zn)), evaluated with a max shift."""

    @classmethod
    def eval(cls, *zs):
        if len(zs) == 0:
            raise TypeError("LogSumExp needs at least one argument")
        if len(zs) == 1:
            return zs[0]

    def fdiff(self, argindex=1):
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_is_real(self):
        if all(z.is_real for z in self.args):
            return True

    def _eval_rewrite_as_log(self, *zs, **kwargs):
        return sp.log(sp.Add(*[sp.exp(z) for z in zs]))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        return sp.log(sp.Add(*[sp.exp(z) for z in self.args]))._eval_evalf(prec)

    def _latex(self, printer):
        return r"\operatorname{logsumexp}\left(%s\right)" % ", ".join(
            _arg_latex(printer, z) for z in self.args)

    def _numpycode(self, printer):
        return "%s([%s], axis=0)" % (printer._module_format("scipy.special.logsumexp"),
                                     ", ".join(printer._print(z) for z in self.args))


class XLogY(sp.Function):
    """x*log(y), with the convention 0*log(0) = 0 (``scipy.special.xlogy``)."""

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x.is_zero:
            return sp.S.Zero
        if y == 1:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        x, y = self.args
        return sp.log(y) if argindex == 1 else x / y

    def _eval_is_real(self):
        x, y = self.args
        if x.is_real and y.is_positive:
            return True

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * sp.log(y)

    def _eval_evalf(self, prec):
        x, y = self.args
        return (x * sp.log(y))._eval_evalf(prec)

    def _latex(self, printer):
        x, y = self.args
        return r"%s \log\left(%s\right)" % (printer.parenthesize(x, 50), printer._print(y))

    def _numpycode(self, printer):
        return "%s(%s, %s)" % (printer._module_format("scipy.special.xlogy"),
                               printer._print(self.args[0]), printer._print(self.args[1]))


# --- matrix nodes -------------------------------------------------------------

def _matrix_arg(cls, M):
    M = sp.sympify(M)
    if not getattr(M, "is_Matrix", False):
        raise TypeError("%s needs a matrix argument, got %s" % (cls.__name__, M))
    return M


class RowLogSumExp(MatrixExpr):
    """Row-wise log-sum-exp: an n x k matrix gives an n x 1 column."""

    def __new__(cls, M):
        return sp.Basic.__new__(cls, _matrix_arg(cls, M))

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return (self.arg.shape[0], sp.S.One)

    def _entry_(self, i, j, **kwargs):
        k = self.arg.shape[1]
        if k.is_Integer:
            return LogSumExp(*[self.arg[i, c] for c in range(int(k))])
        c = sp.Dummy("c", integer=True)
        return sp.log(sp.Sum(sp.exp(self.arg[i, c]), (c, 0, k - 1)))

    def doit(self, **hints):
        M = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(M, sp.MatrixBase):
            return sp.ImmutableMatrix(M.rows, 1, lambda i, j: LogSumExp(*M.row(i)))
        return RowLogSumExp(M)

    def _latex(self, printer):
        return r"\operatorname{logsumexp}_{\mathrm{row}}\left(%s\right)" % printer._print(self.arg)

    def _numpycode(self, printer):
        return "%s(%s, axis=1, keepdims=True)" % (
            printer._module_format("scipy.special.logsumexp"), printer._print(self.arg))


class RowSoftmax(MatrixExpr):
    """Row-wise softmax: exp(M) divided by its row sums, same shape as M."""

    def __new__(cls, M):
        return sp.Basic.__new__(cls, _matrix_arg(cls, M))

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return self.arg.shape

    def _entry_(self, i, j, **kwargs):
        return sp.exp(self.arg[i, j] - RowLogSumExp(self.arg)._entry_(i, 0))

    def doit(self, **hints):
        M = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(M, sp.MatrixBase):
            return sp.ImmutableMatrix(
                M.rows, M.cols, lambda i, j: sp.exp(M[i, j] - LogSumExp(*M.row(i))))
        return RowSoftmax(M)

    def _latex(self, printer):
        return r"\operatorname{softmax}_{\mathrm{row}}\left(%s\right)" % printer._print(self.arg)

    def _numpycode(self, printer):
        return "%s(%s, axis=1)" % (printer._module_format("scipy.special.softmax"),
                                   printer._print(self.arg))


class AxisSum(MatrixExpr):
    """Sum along an axis: axis=0 gives the 1 x k column sums, axis=1 the n x 1 row sums."""

    def __new__(cls, M, axis):
        axis = sp.sympify(axis)
        if axis not in (0, 1):
            raise ValueError("AxisSum axis must be 0 or 1, got %s" % axis)
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

    def _entry_(self, i, j, **kwargs):
        r, c = self.arg.shape
        n = r if self.axis == 0 else c
        if n.is_Integer:
            if self.axis == 0:
                return sp.Add(*[self.arg[t, j] for t in range(int(n))])
            return sp.Add(*[self.arg[i, t] for t in range(int(n))])
        t = sp.Dummy("t", integer=True)
        term = self.arg[t, j] if self.axis == 0 else self.arg[i, t]
        return sp.Sum(term, (t, 0, n - 1))

    def doit(self, **hints):
        M = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(M, sp.MatrixBase):
            if self.axis == 0:
                return sp.ImmutableMatrix(1, M.cols, lambda i, j: sp.Add(*M.col(j)))
            return sp.ImmutableMatrix(M.rows, 1, lambda i, j: sp.Add(*M.row(i)))
        return AxisSum(M, self.axis)

    def _latex(self, printer):
        return r"\operatorname{sum}_{%d}\left(%s\right)" % (self.axis, printer._print(self.arg))

    def _numpycode(self, printer):
        return "%s(%s, axis=%d, keepdims=True)" % (
            printer._module_format("numpy.sum"), printer._print(self.arg), self.axis)


class ElementwiseMap(MatrixExpr):
    """A function of several same-shape matrices, applied entry by entry.

    SymPy's ``M.applyfunc(f)`` takes one matrix; this takes several, e.g. the
    entrywise ``Piecewise((G, Z > 0), (0, True))`` of a ReLU's gradient.
    """

    def __new__(cls, function, *matrices):
        matrices = [_matrix_arg(cls, M) for M in matrices]
        if not isinstance(function, sp.Lambda) or len(function.variables) != len(matrices):
            raise TypeError("ElementwiseMap needs a Lambda with one variable per matrix")
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

    def _entry_(self, i, j, **kwargs):
        return self.function(*[M[i, j] for M in self.matrices])

    def doit(self, **hints):
        ms = [M.doit(**hints) for M in self.matrices] if hints.get("deep", True) else self.matrices
        if all(isinstance(M, sp.MatrixBase) for M in ms):
            return sp.ImmutableMatrix(ms[0].rows, ms[0].cols,
                                      lambda i, j: self.function(*[M[i, j] for M in ms]))
        return ElementwiseMap(self.function, *ms)

    def _latex(self, printer):
        return r"\left(%s\right)_{\circ}\left(%s\right)" % (
            printer._print(self.function),
            ", ".join(printer._print(M) for M in self.matrices))


class _ScalarOfMatrix(sp.Expr):
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
        M = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(M, sp.MatrixBase):
            return sp.Add(*M)
        return SumAll(M)

    def _latex(self, printer):
        return r"\operatorname{sum}\left(%s\right)" % printer._print(self.arg)

    def _numpycode(self, printer):
        return "%s(%s)" % (printer._module_format("numpy.sum"), printer._print(self.arg))


class Mean(_ScalarOfMatrix):
    """The mean of every entry of a matrix, a scalar."""

    def doit(self, **hints):
        M = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(M, sp.MatrixBase):
            return sp.Add(*M) / (M.rows * M.cols)
        return Mean(M)

    def _latex(self, printer):
        return r"\operatorname{mean}\left(%s\right)" % printer._print(self.arg)

    def _numpycode(self, printer):
        return "%s(%s)" % (printer._module_format("numpy.mean"), printer._print(self.arg))


class LogDet(_ScalarOfMatrix):
    """log(det(X)) of a square matrix, evaluated through slogdet."""

    def doit(self, **hints):
        X = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(X, sp.MatrixBase):
            return sp.log(X.det())
        return LogDet(X)

    def _latex(self, printer):
        return r"\log\det\left(%s\right)" % printer._print(self.arg)

    def _numpycode(self, printer):
        return "%s(%s)[1]" % (printer._module_format("numpy.linalg.slogdet"),
                              printer._print(self.arg))


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
            raise ValueError("logsumexp of a matrix supports axis=1 (row-wise) only")
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
    """Rewrite symgrad's nodes (and log1p/expm1) into standard SymPy functions.

    Matrix nodes are rewritten only where their argument is an explicit matrix;
    elsewhere they are left in place.

    >>> import sympy as sp
    >>> z = sp.Symbol("z", real=True)
    >>> to_standard(Softplus(z) + Sigmoid(z))
    log(exp(z) + 1) + 1/(1 + exp(-z))
    """
    expr = sp.sympify(expr)
    scalar = {
        Sigmoid: lambda z: 1 / (1 + sp.exp(-z)),
        Softplus: lambda z: sp.log(1 + sp.exp(z)),
        LogSumExp: lambda *zs: sp.log(sp.Add(*[sp.exp(z) for z in zs])),
        XLogY: lambda x, y: x * sp.log(y),
        log1p: lambda x: sp.log(1 + x),
        expm1: lambda x: sp.exp(x) - 1,
    }

    def walk(e):
        if not e.args:
            return e
        if isinstance(e, sp.Lambda):
            return sp.Lambda(e.variables, walk(e.expr))
        args = [walk(a) for a in e.args]
        f = scalar.get(type(e))
        if f is not None:
            return f(*args)
        if isinstance(e, LogDet):
            return sp.log(sp.Determinant(args[0]))
        if isinstance(e, (RowLogSumExp, RowSoftmax, AxisSum, SumAll, Mean, ElementwiseMap)):
            new = type(e)(*args)
            done = new.doit()
            return done if isinstance(done, (sp.MatrixBase, sp.Expr)) and done != new else new
        return e.func(*args) if args != list(e.args) else e

    return walk(expr)
