"""Registry entries of the matrix ops, the graph's shape plumbing, and the matrix
vocabulary that lowering reads into other ops (see ``registry.py``).

Matrix rules receive MatrixSymbol placeholders shaped like the node and its
arguments; ``g`` has the node's shape (a scalar for Trace, Determinant and LogDet).
"""

import mpmath as mp
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.matrices.expressions.slice import MatrixSlice

from .registry import CALL, MUL
from .matrix_nodes import (AxisSum, ElementwiseMap, LogDet, Mean, RowLogSoftmax, RowLogSumExp,
                           RowSoftmax, SumAll)
from .plumbing import Broadcast, Const, Fill, Leaf, SumTo
from .slicing import Concat, Embed
from .registry import BUILTIN, MATRIX, PLUMBING, VOCABULARY, Op, lookup, register
from .display import DISPLAY, plain
from sympy.codegen.cfunctions import expm1

__all__ = ["MATMUL"]

MATMUL = 45                 # Python precedence of @


def matrix(cls, rule, numpy, mpmath, *, lower, **facts):
    return register(Op(cls, MATRIX, rule=rule, numpy=numpy, mpmath=mpmath, matrix_rule=True,
                       lower=lower, **facts))


def vocabulary(cls, lower, **facts):
    return register(Op(cls, VOCABULARY, lower=lower, **facts))


def written_out(M):
    """A symgrad matrix node in standard SymPy where its argument is explicit, else itself."""
    done = M.doit()
    return done if isinstance(done, (sp.MatrixBase, sp.Expr)) and done != M else M


# --- rules that take more than one line --------------------------------------------------

def _sum_like(G, x):
    """Sum the adjoint G of a broadcast back down to the shape of x."""
    if not getattr(x, "is_Matrix", False):
        return SumAll(G)
    rows, cols = x.shape
    if rows == 1 and cols == 1:
        return AxisSum(AxisSum(G, 0), 1)
    return AxisSum(G, 0) if rows == 1 else AxisSum(G, 1)


def _stretch_like(g, x):
    """Stretch the adjoint g of a sum back out to the shape of x."""
    rows, cols = x.shape
    if not getattr(g, "is_Matrix", False):
        return g * sp.OneMatrix(rows, cols)
    if g.shape[0] == 1 and g.shape[1] == 1:
        return sp.OneMatrix(rows, 1) * g * sp.OneMatrix(1, cols)
    return sp.OneMatrix(rows, 1) * g if g.shape[0] == 1 else g * sp.OneMatrix(1, cols)


def _row_logsumexp(G, ans, M):
    k = M.shape[1]
    return (sp.HadamardProduct(G * sp.OneMatrix(1, k),
                               (M - ans * sp.OneMatrix(1, k)).applyfunc(sp.exp)),)


def _row_log_softmax(G, ans, M):
    # G - softmax*rowsum(G), arranged so neither large nor tiny softmax entries cancel
    r = AxisSum(G, 1) * sp.OneMatrix(1, M.shape[1])
    a, s, gg = sp.Dummy("a", real=True), sp.Dummy("s", real=True), sp.Dummy("g", real=True)
    near_one = sp.Add(gg - s, -s * expm1(a), evaluate=False)      # (g - s) first: it is exact
    entry = sp.Piecewise((near_one, a > -sp.log(2)), (gg - s * sp.exp(a), True))
    return (ElementwiseMap(sp.Lambda((a, s, gg), entry), ans, r, G),)


def _row_softmax(G, ans, M):
    k = M.shape[1]
    row_dot = AxisSum(sp.HadamardProduct(G, ans), 1)
    return (sp.HadamardProduct(ans, G - row_dot * sp.OneMatrix(1, k)),)


def _diag_matrix(G, ans, v):
    """The adjoint of DiagMatrix(v) is the diagonal of G, shaped like v (a column or a row)."""
    n = ans.shape[0]
    diagonal = sp.HadamardProduct(G, sp.Identity(n))
    return (diagonal * sp.OneMatrix(n, 1) if v.shape[1] == 1 else sp.OneMatrix(1, n) * diagonal,)


def _slice(G, ans, X, *bounds):
    """The adjoint of X[r0:r1:rs, c0:c1:cs] is G placed at the slice of zeros shaped like X."""
    return (Embed(G, X.shape[0], X.shape[1], *bounds),) + (None,) * 6


def _embed(G, ans, g, rows, cols, r0, r1, rs, c0, c1, cs):
    return (MatrixSlice(G, (r0, r1, rs), (c0, c1, cs)),) + (None,) * 8


def _concat(G, ans, axis, *blocks):
    """Each block's adjoint is its own slice of G."""
    out, offset = [None], sp.S.Zero
    rows, cols = G.shape
    for b in blocks:
        size = b.shape[axis]
        span = (offset, offset + size, 1)
        out.append(MatrixSlice(G, span, (0, cols, 1)) if axis == 0 else
                   MatrixSlice(G, (0, rows, 1), span))
        offset += size
    return tuple(out)


def _range(p, start, stop, step):
    text = "%s:%s" % ("" if start == 0 else p.print(start), p.print(stop))
    return text if step == 1 else "%s:%s" % (text, p.print(step))


def _slice_text(p, M, r0, r1, rs, c0, c1, cs):
    return "%s[%s, %s]" % (p.paren(M, CALL), _range(p, r0, r1, rs), _range(p, c0, c1, cs)), 1000


def _concat_text(p, axis, *blocks):
    return "%s((%s), %s=%d)" % (p.name("np.concatenate"), ", ".join(p.print(b) for b in blocks),
                                p.backend.axis, axis), CALL


def _steps(*bounds):
    return [range(int(a), int(b), int(c)) for a, b, c in (bounds[:3], bounds[3:])]


def _mp_slice(M, *bounds):
    rows, cols = _steps(*bounds)
    return mp.matrix([[M[i, j] for j in cols] for i in rows])


def _mp_embed(g, rows, cols, *bounds):
    out = mp.zeros(int(rows), int(cols))
    for a, i in enumerate(_steps(*bounds)[0]):
        for b, j in enumerate(_steps(*bounds)[1]):
            out[i, j] = g[a, b]
    return out


def _mp_concat(axis, *blocks):
    rows = [[b[i, j] for j in range(b.cols)] for b in blocks for i in range(b.rows)]
    if int(axis) == 1:
        rows = [sum(([b[i, j] for j in range(b.cols)] for b in blocks), [])
                for i in range(blocks[0].rows)]
    return mp.matrix(rows)


def _block_rows(axis, *blocks):
    """Concat in SymPy's own vocabulary: a BlockMatrix (one row, or one column, of blocks)."""
    return sp.BlockMatrix([list(blocks)] if int(axis) == 1 else [[b] for b in blocks])


def _trace_shown(X):
    """tr(X), or M[i, j] when X is the 1 x 1 slice M[i:i+1, j:j+1] (an entry read as a scalar)."""
    if isinstance(X, MatrixSlice) and tuple(X.shape) == (1, 1):
        return X.parent[X.rowslice[0], X.colslice[0]]
    return sp.Trace(X)


def _matmul_text(p, a, b):
    return "%s @ %s" % (p.paren(a, MATMUL), p.paren(b, MUL + 1)), MATMUL


def _rows(f):
    """An mpmath evaluator applied to each row of a matrix."""
    def rows(M):
        out = [f([M[i, j] for j in range(M.cols)]) for i in range(M.rows)]
        return mp.matrix(out)
    return rows


def _lse(row):
    top = max(row)
    return top + mp.log(mp.fsum(mp.exp(z - top) for z in row))


# --- matrix ---
matrix(sp.MatMul, lambda G, ans, A, B: (G * B.T, A.T * G), _matmul_text, lambda a, b: a * b,
       lower="_matmul", shown=lambda a, b: sp.MatMul(a, b).doit(deep=False))
matrix(sp.Transpose, lambda G, ans, A: (G.T,),
       lambda p, a: ("%s.T" % p.paren(a, CALL), 1000), lambda a: a.T,
       lower="_transpose", shown=lambda a: a.T)
matrix(sp.Inverse, lambda G, ans, X: (-ans.T * G * ans.T,), "np.linalg.inv", lambda a: a**-1,
       lower="_inverse", needs_spd=True)
matrix(sp.Trace, lambda g, ans, X: (g * sp.Identity(X.shape[0]),), BUILTIN,
       lambda a: mp.fsum(a[i, i] for i in range(a.rows)), lower="_trace", shown=_trace_shown)
matrix(sp.Determinant, lambda g, ans, X: (g * ans * X.I.T,), "np.linalg.det", mp.det,
       lower="_determinant", needs_spd=True, complex_step=False)
matrix(LogDet, lambda g, ans, X: (g * X.I.T,), "_logdet", lambda a: mp.log(mp.det(a)),
       lower="_logdet_node", needs_spd=True, complex_step=False,
       standard=lambda X: sp.log(sp.Determinant(X)), shown=lambda X: sp.log(sp.Determinant(X)))
matrix(sp.DiagMatrix, _diag_matrix, "np.diagflat", lambda v: mp.diag([v[i] for i in range(len(v))]),
       lower="_diag_matrix")
matrix(MatrixSlice, _slice, _slice_text, _mp_slice, lower="_matrix_slice",
       shown=lambda M, *b: MatrixSlice(M, b[:3], b[3:]))
matrix(Embed, _embed, "_embed", _mp_embed, lower="_embed",
       standard=lambda *args: written_out(Embed(*args)))
matrix(Concat, _concat, _concat_text, _mp_concat, lower="_concat", shown=_block_rows,
       standard=_block_rows)
matrix(RowLogSumExp, _row_logsumexp, "_logsumexp_rows", _rows(lambda r: [_lse(r)]),
       lower="_row_op", complex_step=False, underflows=True,
       standard=lambda M: written_out(RowLogSumExp(M)))
matrix(RowSoftmax, _row_softmax, "_softmax_rows",
       _rows(lambda r: [mp.exp(z - _lse(r)) for z in r]), lower="_row_op", complex_step=False,
       underflows=True, standard=lambda M: written_out(RowSoftmax(M)))
matrix(RowLogSoftmax, _row_log_softmax, "_log_softmax_rows",
       _rows(lambda r: [z - _lse(r) for z in r]), lower="_row_op", complex_step=False,
       underflows=True, standard=lambda M: written_out(RowLogSoftmax(M)))

# --- shape plumbing (the graph's own markers) ---
register(Op(Broadcast, PLUMBING, rule=lambda G, ans, x: (_sum_like(G, x),), numpy=BUILTIN,
            matrix_rule=True))
register(Op(SumTo, PLUMBING, rule=lambda g, ans, x: (_stretch_like(g, x),), numpy=BUILTIN,
            matrix_rule=True))
register(Op(Fill, PLUMBING, numpy=BUILTIN))
register(Op(Leaf, PLUMBING, numpy=BUILTIN))
register(Op(Const, PLUMBING, numpy=BUILTIN))

# --- vocabulary: read by lowering into the ops above ---
for _cls, _method in ((sp.MatAdd, "_add_chain"), (sp.HadamardProduct, "_mul_chain"),
                      (sp.HadamardPower, "_pow"), (sp.Adjoint, "_adjoint"),
                      (sp.Sum, "_index_sum"), (MatrixElement, "_element"),
                      (sp.MatPow, "_matpow"), (ElementwiseApplyFunction, "_applyfunc"),
                      (sp.OneMatrix, "_fill"), (sp.Identity, "_fill"), (sp.ZeroMatrix, "_fill"),
                      (sp.BlockMatrix, "_block_matrix")):
    vocabulary(_cls, _method)
vocabulary(ElementwiseMap, "_elementwise_map",
           standard=lambda f, *ms: written_out(ElementwiseMap(f, *ms)))
vocabulary(AxisSum, "_axis_sum", standard=lambda M, axis: written_out(AxisSum(M, axis)))
vocabulary(SumAll, "_sum_all", standard=lambda M: written_out(SumAll(M)))
vocabulary(Mean, "_mean", standard=lambda M: written_out(Mean(M)))

# --- display classes (display.py): lowered as their base class, standard = the base class ---
for _cls in DISPLAY:
    _base = lookup(_cls.plain_class)
    vocabulary(_cls, _base.lower, standard=_base.standard or plain(_cls))
