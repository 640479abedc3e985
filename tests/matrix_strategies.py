"""Shared helpers for the matrix tests: exact evaluation, random exact matrices, and
Hypothesis strategies for random matrix expressions with consistent shapes.

Evaluation here is deliberately independent of symgrad: ``explicit`` rebuilds an
expression bottom-up with plain SymPy matrix arithmetic, so the reference side of
every comparison never goes through symgrad's code.
"""

import random

import sympy as sp
from hypothesis import strategies as st
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixExpr

import symgrad as sg
from symgrad.ops.nodes import LogDet, Mean, SumAll

DIGITS = 50
REL_TOL_DIGITS = sp.Float(10) ** -40     # 50-digit comparisons of transcendental entries


# --- exact evaluation --------------------------------------------------------------

def explicit(expr):
    """Evaluate an expression whose MatrixSymbols were replaced by explicit matrices.

    Returns an ImmutableMatrix for a matrix, and a SymPy scalar otherwise. Matrix nodes
    are rebuilt bottom-up from explicit arguments with plain matrix arithmetic (products
    multiply, inverses are adjugate / determinant), so no MatrixExpr is left and symbolic
    entries stay cheap: nothing is simplified.
    """
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr)
    if not isinstance(expr, sp.Basic) or not expr.args or isinstance(expr, sp.Lambda):
        return expr
    args = [explicit(a) for a in expr.args]
    rule = _EXPLICIT.get(type(expr))
    if rule is not None:
        out = rule(*args)
    else:
        out = expr.func(*args)
        if isinstance(out, MatrixExpr):
            out = out.as_explicit()
        elif isinstance(out, (SumAll, Mean, LogDet)):
            out = out.doit()
    return sp.ImmutableMatrix(out) if isinstance(out, sp.MatrixBase) else out


def _is_matrix(v):
    return isinstance(v, sp.MatrixBase)


def _product(*args):
    scale = sp.Mul(*[v for v in args if not _is_matrix(v)])
    matrices = [v for v in args if _is_matrix(v)]
    out = matrices[0]
    for m in matrices[1:]:
        out = out * m
    return out * scale


def _inverse(m):
    return m.adjugate(method="berkowitz") / m.det(method="berkowitz")


def _power(m, e):
    if m.shape == (1, 1):               # sqrt((x - a).T*(x - a)) is MatPow(1 x 1, 1/2)
        return sp.ImmutableMatrix([[m[0, 0]**e]])
    if not e.is_Integer:
        raise ValueError("matrix power %s of a %s x %s matrix" % (e, *m.shape))
    if e < 0:
        m, e = _inverse(m), -e
    out = sp.eye(m.rows)
    for _ in range(int(e)):
        out = out * m
    return out


def _hadamard(*ms):
    out = ms[0]
    for m in ms[1:]:
        out = out.multiply_elementwise(m)
    return out


_EXPLICIT = {
    sp.MatMul: _product,
    sp.MatAdd: lambda *ms: sum(ms[1:], ms[0]),
    sp.Transpose: lambda m: m.T,
    sp.Inverse: lambda m, *_: _inverse(m),   # Inverse(X) has args (X, -1)
    sp.MatPow: _power,
    sp.HadamardProduct: _hadamard,
    sp.HadamardPower: lambda m, e: m.applyfunc(lambda v: v**e),
    ElementwiseApplyFunction: lambda f, m: m.applyfunc(f),
    sp.Trace: lambda m: m.trace(),
    sp.Determinant: lambda m: m.det(method="berkowitz"),
}


def at(expr, values, dims):
    """``expr`` with MatrixSymbols and dimension symbols replaced, evaluated explicitly."""
    return explicit(sp.sympify(expr).xreplace({**values, **dims}))


def scalar(value):
    """The entry of a 1 x 1 matrix, or the scalar itself."""
    if isinstance(value, sp.MatrixBase):
        if value.shape != (1, 1):
            raise AssertionError("expected a scalar or a 1 x 1 matrix, got %s" % (value.shape,))
        return value[0, 0]
    return value


def assert_same(ours, reference, exact, what=""):
    """Entrywise equality of two explicit matrices (or scalars).

    ``exact``: every entry must be a Rational on both sides and equal (==).
    Otherwise entries are evaluated to 50 digits and must agree to 1e-40 relative.
    """
    ours, ref = (sp.ImmutableMatrix(v if isinstance(v, sp.MatrixBase) else [[v]])
                 for v in (ours, reference))
    assert ours.shape == ref.shape, "%s: shape %s != %s" % (what, ours.shape, ref.shape)
    for idx, (o, r) in enumerate(zip(ours, ref)):
        if exact:
            assert o.is_Rational and r.is_Rational, \
                "%s: entry %d is not an exact rational: %s vs %s" % (what, idx, o, r)
            assert o == r, "%s: entry %d differs: %s != %s" % (what, idx, o, r)
        else:
            ov, rv = sp.N(o, DIGITS), sp.N(r, DIGITS)
            assert ov.is_Number and rv.is_Number, \
                "%s: entry %d does not evaluate to a number: %s vs %s" % (what, idx, o, r)
            assert abs(ov - rv) <= REL_TOL_DIGITS * (1 + abs(rv)), \
                "%s: entry %d differs: %s != %s" % (what, idx, ov, rv)


# --- random exact values -------------------------------------------------------------

def rational_matrix(rng, rows, cols, low=-9, high=9):
    """A matrix of small random rationals (numerators in [low, high], denominators 1..4)."""
    return sp.ImmutableMatrix(rows, cols,
                              lambda i, j: sp.Rational(rng.randint(low, high), rng.randint(1, 4)))


def spd_matrix(rng, size):
    """A random symmetric positive definite rational matrix, M M^T + I."""
    m = sp.Matrix(rational_matrix(rng, size, size, -4, 4))
    return sp.ImmutableMatrix(m * m.T + sp.eye(size))


def pd_matrix(rng, size):
    """A random positive definite but NOT symmetric matrix, M M^T + I + (N - N^T).

    Its symmetric part is positive definite, so its determinant is positive and it is
    invertible; being non-symmetric, it tells X^-1 from X^-T (an SPD matrix cannot).
    """
    skew = sp.Matrix(rational_matrix(rng, size, size, -4, 4))
    return sp.ImmutableMatrix(spd_matrix(rng, size) + skew - skew.T)


def concrete_shape(symbol, dims):
    return tuple(int(sp.sympify(d).xreplace(dims)) for d in symbol.shape)


def random_values(symbols, dims, seed, pd=(), symmetric=()):
    """Exact random values for MatrixSymbols: names in ``pd`` are drawn positive definite
    (non-symmetric), names in ``symmetric`` symmetric positive definite."""
    rng = random.Random(seed)
    out = {}
    for s in sorted(symbols, key=str):
        rows, cols = concrete_shape(s, dims)
        if str(s) in symmetric:
            out[s] = spd_matrix(rng, rows)
        elif str(s) in pd:
            out[s] = pd_matrix(rng, rows)
        else:
            out[s] = rational_matrix(rng, rows, cols)
    return out


def symbolic_matrix(symbol, dims):
    """An explicit matrix of fresh real scalar symbols standing for ``symbol``'s entries."""
    rows, cols = concrete_shape(symbol, dims)
    return sp.ImmutableMatrix(rows, cols,
                              lambda i, j: sp.Symbol("%s_%d_%d" % (symbol, i, j), real=True))


def entrywise_gradient(loss, wrt, values, dims):
    """The gradient of ``loss`` w.r.t. ``wrt`` by sympy.diff of the expanded scalar, entry by entry.

    ``wrt`` becomes a matrix of fresh scalar symbols, every other MatrixSymbol its value
    in ``values``; the loss is expanded into one scalar, differentiated per entry with
    ``sympy.diff``, and evaluated at ``values[wrt]``.
    """
    entries = symbolic_matrix(wrt, dims)
    others = {s: v for s, v in values.items() if s != wrt}
    expanded = scalar(at(loss, {**others, wrt: entries}, dims))
    point = dict(zip(entries, values[wrt]))
    rows, cols = entries.shape
    return sp.ImmutableMatrix(rows, cols,
                              lambda i, j: sp.diff(expanded, entries[i, j]).xreplace(point))


# --- Hypothesis strategies: random matrix expressions -----------------------------------

N, K = sp.symbols("n k", integer=True, positive=True)
DIMS = (N, K, sp.Integer(1), sp.Integer(2), sp.Integer(3))   # symbolic dims and concrete ones


class Pool:
    """Matrix symbols by shape, created on demand (one leaf per name and shape)."""

    def __init__(self):
        self.symbols = {}

    def leaf(self, rows, cols, index):
        key = (rows, cols, index)
        if key not in self.symbols:
            self.symbols[key] = sp.MatrixSymbol("M%d_%s%s" % (index, rows, cols), rows, cols)
        return self.symbols[key]


ELEMENTWISE = (
    ("tanh", lambda M_: M_.applyfunc(sp.tanh)),
    ("sigmoid", sg.sigmoid),
    ("exp", lambda M_: M_.applyfunc(sp.exp)),
    ("sin", lambda M_: M_.applyfunc(sp.sin)),
    ("square", lambda M_: sp.HadamardPower(M_, 2)),
)


@st.composite
def matrix_expr(draw, rows, cols, pool, depth):
    """A random matrix expression of shape (rows, cols) over symbols from ``pool``."""
    if depth <= 0:
        return pool.leaf(rows, cols, draw(st.integers(0, 1)))
    kind = draw(st.sampled_from(["leaf", "product", "transpose", "sum", "hadamard",
                                 "elementwise", "scale"]))

    def sub(r, c):
        return draw(matrix_expr(r, c, pool, depth - 1))

    if kind == "leaf":
        return pool.leaf(rows, cols, draw(st.integers(0, 1)))
    if kind == "product":
        inner = draw(st.sampled_from(DIMS))
        return sub(rows, inner) * sub(inner, cols)
    if kind == "transpose":
        return sub(cols, rows).T
    if kind == "sum":
        return sub(rows, cols) + sub(rows, cols)
    if kind == "hadamard":
        return sp.HadamardProduct(sub(rows, cols), sub(rows, cols))
    if kind == "elementwise":
        _, f = draw(st.sampled_from(ELEMENTWISE))
        return f(sub(rows, cols))
    coefficient = draw(st.sampled_from([sp.Integer(2), sp.Integer(-3), sp.Rational(1, 2)]))
    return coefficient * sub(rows, cols)


@st.composite
def scalar_loss(draw, depth=3):
    """(loss, wrt, args): a random matrix expression reduced to a scalar by Trace or msum."""
    pool = Pool()
    reduce = draw(st.sampled_from(["trace", "msum", "ones"]))
    if reduce == "trace":
        side = draw(st.sampled_from(DIMS))
        loss = sp.Trace(draw(matrix_expr(side, side, pool, depth)))
    else:
        rows, cols = draw(st.sampled_from(DIMS)), draw(st.sampled_from(DIMS))
        body = draw(matrix_expr(rows, cols, pool, depth))
        loss = sg.msum(body) if reduce == "msum" else \
            sp.OneMatrix(1, rows) * body * sp.OneMatrix(cols, 1)
    symbols = sorted(sp.sympify(loss).atoms(sp.MatrixSymbol), key=str)
    wrt_count = draw(st.integers(1, len(symbols)))
    return loss, symbols[:wrt_count], symbols[wrt_count:]
