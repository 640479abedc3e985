"""Lowering of SymPy's matrix vocabulary: the matrix half of ``Lowering``.

Products read OneMatrix factors as broadcasts and sums and drop identities;
1 x 1 matrices under scalar functions are read as their entry; ``log(det X)``
becomes one LogDet; ``M.applyfunc(f)`` lowers f's body entry by entry.
"""

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr

from ..errors import ShapeMismatch, describe_path, short_text as _short
from .ir import Broadcast, Fill
from ..ops.nodes import LogDet, RowLogSumExp, SumAll

__all__ = ["MatrixLowering"]


class MatrixLowering:
    """Methods of Lowering for matrix nodes (mixed into symgrad.lower.Lowering)."""

    def _matmul(self, e, path):
        args = self._args(e, path)
        out = None
        for node in args:
            out = node if out is None else self.matmul(out, node, e)
        return out

    def matmul(self, a, b, where=None):
        """The product a @ b, reading OneMatrix, Identity and scalar factors."""
        g = self.graph
        if a.shape == () or b.shape == ():
            return g.apply(sp.Mul, a, b)
        if _is_zero_fill(a) or _is_zero_fill(b):
            return g.broadcast(g.const(0), (a.shape[0], b.shape[1]))
        if a.shape[1] != b.shape[0] and sp.expand(a.shape[1] - b.shape[0]) != 0:
            raise ShapeMismatch("matrix product of shapes (%s, %s) and (%s, %s)%s: the inner "
                                "dimensions differ" % (*a.shape, *b.shape,
                                                       " in " + _short(where) if where else ""))
        for x, y in ((a, b), (b, a)):
            scale = _identity_scale(g, x)
            if scale is not None:
                return y if scale is True else g.apply(sp.Mul, scale, y)
        rows, cols = a.shape[0], b.shape[1]
        if _is_scalar_broadcast(a):
            scale = a.args[0]
            sums = g.sum_to(b, (1, cols))
            return g.broadcast(g.apply(sp.Mul, scale, sums), (rows, cols))
        if _is_scalar_broadcast(b):
            scale = b.args[0]
            sums = g.sum_to(a, (rows, 1))
            return g.broadcast(g.apply(sp.Mul, scale, sums), (rows, cols))
        return g.apply(sp.MatMul, a, b, shape=(rows, cols))

    def transpose(self, a):
        g = self.graph
        if a.shape == () or _is_fill(a, sp.Identity):
            return a
        if a.op is sp.Transpose:
            return a.args[0]
        if a.op is Fill:
            return g.fill(a.extra[0], a.shape[::-1])
        return g.apply(sp.Transpose, a, shape=a.shape[::-1])

    def _transpose(self, e, path):
        return self.transpose(self._args(e, path)[0])

    def _square(self, e, node, path):
        if node.shape == () or node.shape[0] != node.shape[1] and \
                sp.expand(node.shape[0] - node.shape[1]) != 0:
            raise ShapeMismatch("%s needs a square matrix, got shape %s %s"
                                % (type(e).__name__, node.shape or "scalar",
                                   describe_path([(p.xreplace(self.user), i) for p, i in path])))
        return node

    def _inverse(self, e, path):
        x = self._square(e, self._args(e, path)[0], path)
        return self.graph.apply(sp.Inverse, x, shape=x.shape)

    def _matpow(self, e, path):
        base, exponent = e.args
        x = self._lower(base, path + ((e, 0),))
        if x.shape == (1, 1):
            return self.graph.apply(sp.Pow, self.graph.apply(sp.Trace, x, shape=()),
                                    self._lower(exponent, path + ((e, 1),)))
        if not exponent.is_Integer:
            self._unsupported(e, path, "matrix powers need an integer exponent")
        self._square(e, x, path)
        k = int(exponent)
        if k < 0:
            x = self.graph.apply(sp.Inverse, x, shape=x.shape)
            k = -k
        if k == 0:
            return self.graph.fill(sp.Identity, x.shape)
        out = None                  # by repeated squaring: M**1000000 is 39 products, not 10**6
        while k:
            if k & 1:
                out = x if out is None else self.matmul(out, x)
            k >>= 1
            if k:
                x = self.matmul(x, x)
        return out

    def _diag_matrix(self, e, path):
        """DiagMatrix(v) of a column or row vector v: the square matrix with v on its diagonal."""
        v = self._args(e, path)[0]
        if v.shape == ():
            return v                                # a 1 x 1 vector read as its entry
        if v.shape[0] != 1 and v.shape[1] != 1:
            raise ShapeMismatch("DiagMatrix needs a vector (k x 1 or 1 x k), got shape (%s, %s) "
                                "%s" % (*v.shape, describe_path([(p.xreplace(self.user), i)
                                                                 for p, i in path])))
        k = v.shape[0] if v.shape[1] == 1 else v.shape[1]
        return self.graph.apply(sp.DiagMatrix, v, shape=(k, k))

    def _trace(self, e, path):
        x = self._args(e, path)[0]
        if x.shape == ():              # a 1 x 1 matrix already read as its entry
            return x
        x = self._square(e, x, path)
        return self.graph.apply(sp.Trace, x, shape=())

    def _determinant(self, e, path):
        x = self._args(e, path)[0]
        if x.shape == ():
            return x
        x = self._square(e, x, path)
        return self.graph.apply(sp.Determinant, x, shape=())

    def _logdet(self, det, path):
        x = self._lower(det.args[0], path + ((det, 0),))
        if x.shape == ():
            return self.graph.apply(sp.log, x)
        x = self._square(det, x, path)
        return self.graph.apply(LogDet, x, shape=())

    def _logdet_node(self, e, path):
        return self._logdet(sp.Determinant(e.arg), path)

    def _lower_bound(self, body, bindings, path):
        """Lower a Lambda body with its variables bound to nodes (a fresh memo, so an
        earlier binding of the same variable is never reused)."""
        saved = self.memo, self.env
        self.memo, self.env = {}, {**self.env, **bindings}
        try:
            return self._lower(body, path)
        finally:
            self.memo, self.env = saved

    def _applyfunc(self, e, path):
        matrix = self._lower(e.expr, path + ((e, 1),))
        function = e.function
        if isinstance(function, sp.Lambda):
            out = self._lower_bound(function.expr, {function.variables[0]: matrix}, path + ((e, 0),))
        else:
            var = sp.Dummy("m", real=True)
            out = self._lower_bound(function(var), {var: matrix}, path + ((e, 0),))
        return self.graph.broadcast(out, matrix.shape)

    def _elementwise_map(self, e, path):
        matrices = [self._lower(m, path + ((e, i + 1),)) for i, m in enumerate(e.matrices)]
        bindings = dict(zip(e.function.variables, matrices))
        out = self._lower_bound(e.function.expr, bindings, path + ((e, 0),))
        return self.graph.broadcast(out, matrices[0].shape)

    def _fill(self, e, path):
        shape = tuple(sp.sympify(d) for d in e.shape)
        return self.graph.fill(type(e), shape)

    def _row_op(self, e, path):
        x = self._args(e, path)[0]
        shape = (x.shape[0], sp.S.One) if isinstance(e, RowLogSumExp) else x.shape
        return self.graph.apply(type(e), x, shape=shape)

    def _axis_sum(self, e, path):
        x = self._lower(e.arg, path + ((e, 0),))
        shape = (sp.S.One, x.shape[1]) if e.axis == 0 else (x.shape[0], sp.S.One)
        return self.graph.sum_to(x, shape)

    def _sum_all(self, e, path):
        return self.graph.sum_to(self._lower(e.arg, path + ((e, 0),)), ())

    def _mean(self, e, path):
        rows, cols = e.arg.shape
        return self._lower(SumAll(e.arg) / (rows * cols), path)

    def _index_sum(self, e, path):
        """A Sum: over matrix entries (SymPy's form of (a.T*X*b)[0, 0]) it goes back to matrix
        form; over a few explicit terms it is written out."""
        if not e.function.atoms(MatrixElement):
            bounds = [b for _, *b in e.limits]
            if all(sp.sympify(x).is_Integer for b in bounds for x in b) and \
                    sum(int(hi) - int(lo) + 1 for lo, hi in bounds) <= 1000:
                return self._lower(e.doit(), path)
            self._unsupported(e, path, "a Sum with symbolic bounds; write the terms out, or use "
                              "matrix expressions (Trace, msum) for sums over entries")
        try:
            m = MatrixExpr.from_index_summation(e)
        except Exception:                 # SymPy could not read it as a matrix product
            m = None
        if not isinstance(m, (MatrixElement, MatrixExpr)):
            self._unsupported(e, path, "a Sum symgrad cannot read as a matrix expression; write "
                              "the product without indexing, e.g. Trace(a.T*X*b) for (a.T*X*b)[0, 0]")
        return self._lower(m, path)

    def _element(self, e, path):
        parent = e.parent
        if tuple(parent.shape) == (1, 1):        # the entry of a 1 x 1 product is its trace
            return self._lower(sp.Trace(parent), path)
        self._unsupported(e, path, "entries of a matrix are not supported; use whole-matrix "
                          "expressions (a 1 x 1 product, Trace, msum)")

    def _adjoint(self, e, path):
        return self.transpose(self._args(e, path)[0])



def _identity_scale(g, x):
    """True for an Identity, the scale s for a product s*Identity, else None."""
    if _is_fill(x, sp.Identity):
        return True
    if x.op is not sp.Mul:
        return None
    stack, factors = [x], []
    while stack:
        n = stack.pop()
        if n.op is sp.Mul:
            stack.extend(n.args)
        else:
            factors.append(n)
    eye = [f for f in factors if _is_fill(f, sp.Identity)]
    rest = [f for f in factors if not _is_fill(f, sp.Identity)]
    if len(eye) != 1 or any(f.shape != () for f in rest):
        return None          # an entrywise product with a matrix is not a scaled identity
    return g.mul(*rest)


def _is_zero_fill(n):
    return n.op is Broadcast and n.args[0].is_const and n.args[0].value == 0


def _is_fill(n, kind):
    return n.op is Fill and n.extra[0] is kind


def _is_scalar_broadcast(n):
    return n.op is Broadcast and n.args[0].shape == ()


