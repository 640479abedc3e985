"""Shared test helpers: the one reference evaluator, the exact matrix samplers, counterexample
re-evaluation, central differences, and the MLP the matrix tests share.

The reference side of every comparison goes through :func:`reference` (exact) or
:func:`numeric` (digits). They substitute a point and rebuild the expression bottom-up
with plain SymPy arithmetic, using this module's own table of what symgrad's nodes mean
(``NODE_MEANING``), so an oracle never runs symgrad's evaluators, rewrites or printers.

A point maps Symbols to exact numbers, MatrixSymbols to explicit matrices, and
dimension symbols to ints (the form of ``Verdict.counterexample``). Plain symbols and
their ``real=True`` twins (see :func:`as_real`) get the same value.
"""

import random

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixExpr

import symgrad as sg
from symgrad.ops.nodes import (AxisSum, ElementwiseMap, LogDet, LogSoftmax, LogSumExp, Mean,
                               RowLogSoftmax, RowLogSumExp, RowSoftmax, Sigmoid, Softplus, SumAll,
                               XLogY)
from symgrad.ops.slicing import Concat, Embed

__all__ = ["reference", "numeric", "explicit", "subexpression_values", "as_real", "certified_sign",
           "relation_fails", "assert_counterexample", "rational_matrix", "positive_definite",
           "as_array", "random_spd_array", "central_difference", "mlp_model", "np_softmax_ce",
           "np_mlp"]


# --- what symgrad's nodes mean, written out here (not symgrad's own to_standard) -------

def _lse(*zs):
    return sp.log(sp.Add(*[sp.exp(z) for z in zs]))


def _rows(M, f):
    """An n x k matrix -> the n x c matrix whose row i is f(row i as a list)."""
    rows = [f(list(M.row(i))) for i in range(M.rows)]
    return sp.ImmutableMatrix(rows)


def _embed(G, rows, cols, r0, r1, rs, c0, c1, cs):
    """rows x cols zeros with G's entries at rows r0, r0 + rs, ... and columns c0, c0 + cs, ..."""
    out = sp.zeros(int(rows), int(cols))
    for a, i in enumerate(range(int(r0), int(r1), int(rs))):
        for b, j in enumerate(range(int(c0), int(c1), int(cs))):
            out[i, j] = G[a, b]
    return sp.ImmutableMatrix(out)


def _concat(axis, *blocks):
    return sp.ImmutableMatrix.hstack(*blocks) if int(axis) == 1 else \
        sp.ImmutableMatrix.vstack(*blocks)


NODE_MEANING = {
    Embed: _embed,
    Concat: _concat,
    Sigmoid: lambda z: 1 / (1 + sp.exp(-z)),
    Softplus: lambda z: sp.log(1 + sp.exp(z)),
    LogSumExp: _lse,
    XLogY: lambda x, y: sp.S.Zero if x == 0 else x * sp.log(y),
    LogSoftmax: lambda k, *zs: zs[int(k)] - _lse(*zs),
    log1p: lambda x: sp.log(1 + x),
    expm1: lambda x: sp.exp(x) - 1,
    RowLogSumExp: lambda M: _rows(M, lambda r: [_lse(*r)]),
    RowSoftmax: lambda M: _rows(M, lambda r: [sp.exp(t) / sp.Add(*map(sp.exp, r)) for t in r]),
    RowLogSoftmax: lambda M: _rows(M, lambda r: [t - _lse(*r) for t in r]),
    AxisSum: lambda M, axis: (sp.ImmutableMatrix([[sp.Add(*M.col(j)) for j in range(M.cols)]])
                              if axis == 0 else _rows(M, lambda r: [sp.Add(*r)])),
    SumAll: lambda M: sp.Add(*M),
    Mean: lambda M: sp.Add(*M) / (M.rows * M.cols),
    LogDet: lambda M: sp.log(M.det(method="berkowitz")),
    ElementwiseMap: lambda f, *Ms: sp.ImmutableMatrix(
        Ms[0].rows, Ms[0].cols, lambda i, j: f(*[M[i, j] for M in Ms])),
}


# --- plain SymPy matrix arithmetic -----------------------------------------------------

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


_MATRIX_ARITHMETIC = {
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


def explicit(expr):
    """Rebuild ``expr`` bottom-up once its MatrixSymbols are explicit matrices.

    Returns an ImmutableMatrix for a matrix and a SymPy scalar otherwise. Products
    multiply, inverses are adjugate / determinant, symgrad's nodes follow
    ``NODE_MEANING``; nothing is simplified, so symbolic entries stay cheap.
    """
    if _is_matrix(expr):
        return sp.ImmutableMatrix(expr.applyfunc(explicit))
    if not isinstance(expr, sp.Basic) or not expr.args or isinstance(expr, sp.Lambda):
        return expr
    args = [explicit(a) for a in expr.args]
    rule = NODE_MEANING.get(type(expr)) or _MATRIX_ARITHMETIC.get(type(expr))
    if rule is not None:
        out = rule(*args)
    else:
        if not getattr(expr, "is_Matrix", False):    # log(v.T*v): a 1 x 1 product as a scalar
            args = [a[0, 0] if _is_matrix(a) and a.shape == (1, 1) else a for a in args]
        out = expr.func(*args)
        if isinstance(out, MatrixExpr):
            out = out.as_explicit()
    return sp.ImmutableMatrix(out) if _is_matrix(out) else out


# --- the one reference evaluator ---------------------------------------------------------

def as_real(expr):
    """The same expression over real=True symbols (what sympy.diff must see to match symgrad)."""
    expr = sp.sympify(expr)
    return expr.xreplace({q: _real_twin(q) for q in expr.free_symbols
                          if isinstance(q, sp.Symbol) and not isinstance(q, sp.Dummy)})


def _real_twin(symbol):
    return symbol if symbol.is_real else sp.Symbol(symbol.name, real=True)


def reference(expr, point, doit=True):
    """``expr`` at ``point``, exactly: a SymPy number, or an ImmutableMatrix of them.

    ``doit=False`` skips the final ``doit()`` (which evaluates what a rebuild leaves
    unevaluated, such as a Derivative): for points with symbolic entries, where it is slow.
    """
    scalars = {}
    for key, value in point.items():
        if not isinstance(key, sp.MatrixSymbol):
            scalars[key] = sp.sympify(value)
            if isinstance(key, sp.Symbol) and not isinstance(key, sp.Dummy):
                scalars[_real_twin(key)] = sp.sympify(value)
    matrices = {key.xreplace(scalars): sp.ImmutableMatrix(value)
                for key, value in point.items() if isinstance(key, sp.MatrixSymbol)}
    out = explicit(sp.sympify(expr).xreplace(scalars).xreplace(matrices))
    if not doit:
        return out
    return out.applyfunc(lambda t: t.doit()) if _is_matrix(out) else sp.sympify(out).doit()


def numeric(expr, point, digits=50):
    """``expr`` at an exact point to ``digits`` significant digits (SymPy Floats)."""
    value = reference(expr, point)
    if _is_matrix(value):
        return value.applyfunc(lambda t: t.evalf(digits))
    return value.evalf(digits)


def subexpression_values(exprs, point, digits=30):
    """{subexpression: value} for every node of ``exprs``, in one bottom-up pass.

    The leaves get ``digits``-digit Floats and each node is evaluated from its
    children's values (``NODE_MEANING`` for symgrad's nodes): cheap, but rounding
    accumulates, so this is for tolerance scales, never for the reference side.
    """
    floats = {}
    for key, value in point.items():
        floats[key] = sp.Float(value, digits)
        if isinstance(key, sp.Symbol) and not isinstance(key, sp.Dummy):
            floats[_real_twin(key)] = floats[key]
    memo = {}

    def walk(e):
        if e in memo:
            return memo[e]
        if e in floats:
            out = floats[e]
        elif not e.args or isinstance(e, sp.Lambda):
            out = e
        else:
            args = [walk(a) for a in e.args]
            rule = NODE_MEANING.get(type(e))
            out = rule(*args) if rule is not None else e.func(*args)
            if isinstance(out, sp.Expr) and not out.is_Number:
                out = out.evalf(digits)
        memo[e] = out
        return out

    for e in exprs:
        walk(sp.sympify(e))
    return memo


# --- signs and counterexamples ---------------------------------------------------------------

TINY = sp.Float("1e-40")


def certified_sign(d):
    """The sign of a closed-form real number: exact for rationals, else at 60 digits.

    None when it cannot be certified (|d| <= 1e-40 at 60 digits, or not a real number).
    """
    d = sp.sympify(d)
    if d.is_Rational:
        return int(sp.sign(d))
    value = d.evalf(60)
    if not (value.is_Number and value.is_real) or abs(value) <= TINY:
        return None
    return 1 if value > 0 else -1


def _failing(s, relation):
    return {"==": s not in (0, None), "<=": s == 1, "<": s in (0, 1),
            ">=": s == -1, ">": s in (0, -1)}[relation]


def relation_fails(lhs, rhs, relation):
    """True when ``lhs <relation> rhs`` certainly fails for these exact values.

    Matrices compare entry by entry for ``==`` and when not square; square ones follow the
    Loewner order (the symmetric part of the difference is PSD, PD when strict). A matrix
    may be compared with the scalar 0.
    """
    if _is_matrix(lhs) and not _is_matrix(rhs) and rhs == 0:
        rhs = sp.zeros(*lhs.shape)
    if _is_matrix(rhs) and not _is_matrix(lhs) and lhs == 0:
        lhs = sp.zeros(*rhs.shape)
    if not _is_matrix(lhs):
        return _failing(certified_sign(lhs - rhs), relation)
    d = sp.Matrix(lhs) - sp.Matrix(rhs)
    if relation == "==" or d.rows != d.cols:
        return any(_failing(certified_sign(e), relation) for e in d)
    d = d if relation in (">=", ">") else -d
    S = (d + d.T) / 2
    strict = relation in (">", "<")
    if all(v.is_Rational for v in S):
        return not (S.is_positive_definite if strict else S.is_positive_semidefinite)
    import mpmath
    with mpmath.workdps(50):
        low = min(mpmath.eigsy(mpmath.matrix(S.evalf(50).tolist()))[0])
    return low < -1e-30


def _assumption_holds(assumption, point):
    if isinstance(assumption, sp.assumptions.assume.AppliedPredicate):
        return sp.ask(assumption.function(reference(assumption.arguments[0], point))) is True
    return sp.sympify(assumption).xreplace(point) in (sp.true, True)


def assert_counterexample(lhs, rhs, relation, assumptions, point):
    """Re-evaluate a refutation here: ``point`` satisfies the assumptions and breaks the relation."""
    assert point is not None, "no counterexample"
    for a in assumptions:
        assert _assumption_holds(a, point), "assumption %s fails at %s" % (a, point)
    L, R = reference(lhs, point), reference(rhs, point)
    assert relation_fails(L, R, relation), \
        "the counterexample %s does not break %s %s %s: %s vs %s" % (point, lhs, relation, rhs, L, R)


# --- random exact matrices ---------------------------------------------------------------------

def rational_matrix(rng, rows, cols, low=-9, high=9):
    """Small random rationals: numerators in [low, high], denominators 1..4 (``rng``: random.Random)."""
    return sp.ImmutableMatrix(rows, cols,
                              lambda i, j: sp.Rational(rng.randint(low, high), rng.randint(1, 4)))


def positive_definite(rng, size, symmetric=True):
    """The one positive-definite sampler: M M^T + I, exact rationals.

    With ``symmetric=False`` a skew part N - N^T is added: the symmetric part stays
    positive definite (so det > 0 and it is invertible), but X^-1 != X^-T, so a gradient
    transposed by mistake is caught (an SPD matrix cannot tell them apart).
    """
    m = sp.Matrix(rational_matrix(rng, size, size, -4, 4))
    out = m * m.T + sp.eye(size)
    if not symmetric:
        skew = sp.Matrix(rational_matrix(rng, size, size, -4, 4))
        out += skew - skew.T
    return sp.ImmutableMatrix(out)


def as_array(matrix, dtype=float):
    """An explicit SymPy matrix as a NumPy array."""
    return np.array(sp.Matrix(matrix).tolist(), dtype=dtype)


def random_spd_array(seed, size):
    """A float SPD array from the one sampler (for code that wants NumPy input)."""
    return as_array(positive_definite(random.Random(seed), size))


# --- finite differences ------------------------------------------------------------------------

def central_difference(f, arrays, position, index, h=1e-6):
    """(f(a + h e) - f(a - h e)) / 2h for entry ``index`` of ``arrays[position]``."""
    moved = []
    for step in (h, -h):
        a = [x.copy() for x in arrays]
        a[position][index] += step
        moved.append(f(*a))
    return (moved[0] - moved[1]) / (2 * h)


# --- the MLP the matrix tests share: models.mlp, and an independent NumPy oracle ----------------

D, H, K = sp.symbols("d h k", integer=True, positive=True)


def mlp_model(activation="tanh"):
    """A d -> h (activation) -> k MLP from ``sg.models.mlp``; its ``output`` is the logits Z."""
    return sg.models.mlp([D, H, K], activation=activation, loss="softmax")


def np_softmax_ce(z, labels):
    """Loss and dL/dz of the mean softmax cross-entropy (rows of ``labels`` sum to 1)."""
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    rows = z.shape[0]
    return (lse.sum() - (labels * z).sum()) / rows, (np.exp(z - lse) - labels) / rows


_NP_ACTIVATIONS = {
    "tanh": (np.tanh, lambda a, hidden: 1 - hidden**2),
    "relu": (lambda a: np.maximum(a, 0), lambda a, hidden: (a > 0).astype(float)),
}


def np_mlp(activation="tanh"):
    """Hand-written NumPy loss and gradients (W1, b1, W2, b2) of the MLP, softmax cross-entropy."""
    act, derivative = _NP_ACTIVATIONS[activation]

    def f(W1_, b1_, W2_, b2_, X_, Y_):
        a = X_ @ W1_ + b1_
        hidden = act(a)
        loss, dz = np_softmax_ce(hidden @ W2_ + b2_, Y_)
        da = (dz @ W2_.T) * derivative(a, hidden)
        return loss, (X_.T @ da, da.sum(0, keepdims=True), hidden.T @ dz, dz.sum(0, keepdims=True))
    return f
