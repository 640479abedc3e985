"""Lowering of SymPy's matrix vocabulary: the matrix half of ``Lowering``.

Products read OneMatrix factors as broadcasts and sums and drop identities;
1 x 1 matrices under scalar functions are read as their entry; ``log(det X)``
becomes one LogDet; ``M.applyfunc(f)`` lowers f's body entry by entry.
"""

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr
from sympy.matrices.expressions.slice import MatrixSlice

from ..errors import ShapeMismatch, describe_path, short_text as _short
from .ir import Broadcast, Fill, Leaf, dims_equal
from ..ops.nodes import LogDet, RowLogSumExp, SumAll
from ..ops.slicing import Concat, Embed, slice_count

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
        """M[i, j] at numeric (or dimension) indices: the 1 x 1 slice M[i:i+1, j:j+1], read
        as a scalar."""
        parent, i, j = e.args
        if tuple(parent.shape) == (1, 1):        # the entry of a 1 x 1 product is its trace
            return self._lower(sp.Trace(parent), path)
        x = self._as_matrix(self._lower(parent, path + ((e, 0),)))
        i, j = (index + size if (index < 0) == True else index           # noqa: E712
                for index, size in ((i, x.shape[0]), (j, x.shape[1])))   # M[-1, 0] counts back
        for k, index in ((1, i), (2, j)):
            if self.dimension_of(self._lower(index, path + ((e, k),))) is None:
                self._unsupported(e, path, "an entry at index %s, which is neither a number nor a "
                                  "dimension; write the sum with index notation (IndexedBase), "
                                  "or slice with numeric bounds" % index)
        return self.graph.apply(sp.Trace, self.slice(x, (i, i + 1, 1), (j, j + 1, 1), e, path),
                                shape=())

    # --- pieces of matrices: slices, their adjoints, concatenation -------------------------

    def _where(self, path):
        return describe_path([(p.xreplace(self.user), i) for p, i in path])

    def _as_matrix(self, x):
        return self.graph.broadcast(x, (sp.S.One, sp.S.One)) if x.shape == () else x

    def dimension_of(self, n):
        """The SymPy value of a node built from numbers and dimensions, else None."""
        if n.is_const:
            return n.value if n.value.is_number else None
        if n.op is Leaf:
            return n.extra if self._dims.get(getattr(n.extra, "name", None)) is n.extra else None
        if n.op in (sp.Add, sp.Mul) and n.shape == ():
            args = [self.dimension_of(a) for a in n.args]
            return None if any(a is None for a in args) else n.op(*args)
        return None

    def _bounds(self, spec, e, path, size_of, k):
        """The nodes of (start, stop, step) and the number of indices they select."""
        nodes = [self._lower(sp.sympify(b), path + ((e, k),)) for b in spec]
        start, stop, step = values = [self.dimension_of(n) for n in nodes]
        if any(v is None for v in values):
            self._unsupported(e, path, "slice bounds must be numbers or expressions in the "
                              "matrices' dimensions, got %s:%s:%s; slice with those, or mask "
                              "with a data matrix of zeros and ones"
                              % tuple(sp.sympify(b).xreplace(self.user) for b in spec))
        if not (step.is_Integer and step > 0):
            self._unsupported(e, path, "a slice needs a positive integer step, got %s" % step)
        count = slice_count(start, stop, step)
        if (start < 0) == True or (stop > size_of) == True or (count < 1) == True:  # noqa: E712
            raise ShapeMismatch("%s selects %s:%s of an axis of size %s %s; keep 0 <= start < "
                                "stop <= size" % (type(e).__name__, start, stop, size_of,
                                                  self._where(path)))
        if step != 1 and not sp.Mod(stop - start, step).equals(0):
            self._unsupported(e, path, "the step %s does not divide the extent %s: SymPy sizes "
                              "such a slice floor(%s/%s) where NumPy takes the ceiling; choose "
                              "a stop with stop - start a multiple of the step, or join single "
                              "rows or columns with BlockMatrix"
                              % (step, stop - start, stop - start, step))
        return nodes, count, start == 0 and step == 1 and dims_equal(stop, size_of)

    def slice(self, x, rows, cols, e, path):
        """x[rows, cols] for (start, stop, step) triples of SymPy values (or placeholders)."""
        if x.op is MatrixSlice:                         # a slice of a slice is one slice
            outer = [self.dimension_of(b) for b in x.args[1:]]
            rows, cols = _compose(outer[:3], rows), _compose(outer[3:], cols)
            x = x.args[0]
        r, nr, whole_r = self._bounds(rows, e, path, x.shape[0], 1)
        c, nc, whole_c = self._bounds(cols, e, path, x.shape[1], 2)
        if whole_r and whole_c:
            return x
        if x.op is Broadcast and x.args[0].shape == ():      # a piece of a constant matrix
            return self.graph.broadcast(x.args[0], (nr, nc))
        return self.graph.apply(MatrixSlice, x, *r, *c, shape=(nr, nc))

    def _matrix_slice(self, e, path):
        x = self._as_matrix(self._lower(e.parent, path + ((e, 0),)))
        return self.slice(x, e.rowslice, e.colslice, e, path)

    def _embed(self, e, path):
        g = self._as_matrix(self._lower(e.arg, path + ((e, 0),)))
        rows, cols = (self._lower(d, path + ((e, k + 1),)) for k, d in enumerate(e.shape))
        shape = (self.dimension_of(rows), self.dimension_of(cols))
        r, nr, whole_r = self._bounds(e.args[3:6], e, path, shape[0], 3)
        c, nc, whole_c = self._bounds(e.args[6:9], e, path, shape[1], 6)
        if not (dims_equal(nr, g.shape[0]) and dims_equal(nc, g.shape[1])):
            raise ShapeMismatch("Embed places a (%s, %s) matrix at a (%s, %s) slice %s; the "
                                "slice must have the matrix's shape" % (*g.shape, nr, nc,
                                                                         self._where(path)))
        if whole_r and whole_c:
            return g
        return self.graph.apply(Embed, g, rows, cols, *r, *c, shape=shape)

    def concat(self, axis, blocks, e, path):
        """Blocks side by side (axis 1) or stacked (axis 0)."""
        blocks = [self._as_matrix(b) for b in blocks]
        if len(blocks) == 1:
            return blocks[0]
        other = 1 - axis
        for b in blocks[1:]:
            if not dims_equal(b.shape[other], blocks[0].shape[other]):
                raise ShapeMismatch(
                    "%s joins blocks of shapes (%s, %s) and (%s, %s) %s: blocks in one %s need "
                    "the same number of %s" % (type(e).__name__, *blocks[0].shape, *b.shape,
                                               self._where(path),
                                               "row" if axis else "column",
                                               "rows" if axis else "columns"))
        size = sp.Add(*[b.shape[axis] for b in blocks])
        shape = (blocks[0].shape[0], size) if axis == 1 else (size, blocks[0].shape[1])
        return self.graph.apply(Concat, self.graph.const(axis), *blocks, shape=shape)

    def _concat(self, e, path):
        blocks = [self._lower(b, path + ((e, k + 1),)) for k, b in enumerate(e.blocks)]
        return self.concat(e.axis, blocks, e, path)

    def _block_matrix(self, e, path):
        grid = e.blocks
        rows = [self.concat(1, [self._lower(grid[i, j], path + ((e, 0),))
                                for j in range(grid.cols)], e, path) for i in range(grid.rows)]
        return self.concat(0, rows, e, path)

    def _adjoint(self, e, path):
        return self.transpose(self._args(e, path)[0])



def _compose(outer, inner):
    """The (start, stop, step) of slice ``inner`` taken of slice ``outer``."""
    start, _, step = outer
    a, b, c = (sp.sympify(t) for t in inner)
    return start + a * step, start + b * step, step * c


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


