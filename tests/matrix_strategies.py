"""Matrix test helpers: exact values at random rational matrices, entrywise comparison,
sympy.diff entry by entry, and Hypothesis strategies for random matrix expressions with
consistent shapes.

Values come from the one reference evaluator (``helpers.reference``), which rebuilds an
expression bottom-up with plain SymPy matrix arithmetic, so the reference side of every
comparison never goes through symgrad's code.
"""

import random

import sympy as sp
from hypothesis import strategies as st

import symgrad as sg
from helpers import positive_definite, rational_matrix, reference

DIGITS = 50
REL_TOL_DIGITS = sp.Float(10) ** -40     # 50-digit comparisons of transcendental entries


# --- exact evaluation (through the one reference evaluator in helpers.py) -------------

def at(expr, values, dims):
    """``expr`` with MatrixSymbols (``values``) and dimension symbols (``dims``) replaced."""
    return reference(expr, {**values, **dims})


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
            out[s] = positive_definite(rng, rows)
        elif str(s) in pd:
            out[s] = positive_definite(rng, rows, symmetric=False)
        else:
            out[s] = rational_matrix(rng, rows, cols)
    return out


def entrywise_gradient(loss, wrt, values, dims):
    """The gradient of ``loss`` w.r.t. ``wrt`` at ``values``, by sympy.diff entry by entry.

    For entry (i, j), that entry of ``wrt`` becomes a fresh real symbol t and every other
    entry (and every other MatrixSymbol) keeps its value in ``values``; the loss expands
    into one scalar in t, which ``sympy.diff`` differentiates, at t = the entry's value.
    """
    t = sp.Symbol("t", real=True)
    point = values[wrt]

    def partial(i, j):
        moved = sp.Matrix(point)
        moved[i, j] = t
        expanded = scalar(reference(loss, {**values, wrt: moved, **dims}, doit=False))
        return sp.diff(expanded, t).xreplace({t: point[i, j]})

    return sp.ImmutableMatrix(point.rows, point.cols, partial)


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
