"""The derivative rules: one table, one entry per node type.

Contract of every entry ``RULES[op] = rule``::

    rule(g, ans, *args) -> tuple with one contribution per argument

``g`` is the adjoint of the node (the gradient of the loss with respect to the
node's value), ``ans`` is the node's value and ``args`` are its arguments. All
of them are SymPy placeholders, so a rule reads as the math it is. Each
contribution is the adjoint the argument receives, a SymPy expression in the
placeholders, or ``None`` where no gradient flows (a condition, an integer
order). Constant arguments arrive as their numbers.

Rules above ``# --- matrix ---`` are elementwise: they are written for scalars
and apply entry by entry to matrices (the engine sums a contribution down to the
shape of an argument that was broadcast). Rules in the matrix section receive
``MatrixSymbol`` placeholders shaped like the node and its arguments, and ``g``
has the node's shape (a scalar for Trace, Determinant and LogDet).

Where a kink has no derivative (|x| at 0, a Max tie) the rule uses SymPy's
conventions: sign(0) = 0, Heaviside(0) = 1/2, and DiracDelta for the derivative
of a step, which generated code evaluates as 0 away from the step.
"""

import sympy as sp

from ..graph.ir import Broadcast, SumTo, RELATIONAL
from .nodes import (AxisSum, ElementwiseMap, LogDet, LogSoftmax, LogSumExp, RowLogSoftmax,
                    RowLogSumExp, RowSoftmax, Sigmoid, Softplus, SumAll, XLogY, expm1, log1p)

__all__ = ["RULES", "MATRIX_RULES", "NO_GRADIENT"]


def _pow(g, ans, x, e):
    if e == sp.S.Half:
        dx = g / (2 * ans)
    elif e == -1:
        dx = -g * ans**2
    else:
        dx = g * e * x**(e - 1)
    de = None if e.is_number else g * ans * sp.log(x)
    return dx, de


def _piecewise(g, ans, *args):
    out, earlier = [], []
    for cond in args[1::2]:
        selected = sp.And(cond, *[sp.Not(c) for c in earlier])
        out += [sp.Piecewise((g, selected), (0, True)), None]
        earlier.append(cond)
    return tuple(out)


def _no_gradient(g, ans, *args):
    return (None,) * len(args)


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


def _log_softmax(g, ans, k, *zs):
    # 1 - softmax_k = -expm1(ans) keeps its digits when softmax_k is near 1
    return (None,) + tuple(-g * expm1(ans) if j == k else -g * sp.exp(z - zs[k] + ans)
                           for j, z in enumerate(zs))


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


RULES = {
    # --- arithmetic ---
    sp.Add: lambda g, ans, x, y: (g, g),
    sp.Mul: lambda g, ans, x, y: (g * y, g * x),
    sp.Pow: _pow,

    # --- exponential and logarithm ---
    sp.exp: lambda g, ans, x: (g * ans,),
    sp.log: lambda g, ans, x: (g / x,),
    log1p: lambda g, ans, x: (g / (1 + x),),
    expm1: lambda g, ans, x: (g * sp.exp(x),),           # not ans + 1: it cancels for x < 0
    XLogY: lambda g, ans, x, y: (g * sp.log(y), g * sp.Piecewise((0, sp.Eq(x, 0)), (x / y, True))),
    Sigmoid: lambda g, ans, x: (g * ans * Sigmoid(-x),),
    Softplus: lambda g, ans, x: (g * Sigmoid(x),),
    LogSumExp: lambda g, ans, *xs: tuple(g * sp.exp(x - ans) for x in xs),
    LogSoftmax: _log_softmax,

    # --- trigonometric ---
    sp.sin: lambda g, ans, x: (g * sp.cos(x),),
    sp.cos: lambda g, ans, x: (-g * sp.sin(x),),
    sp.tan: lambda g, ans, x: (g * (1 + ans**2),),
    sp.cot: lambda g, ans, x: (-g * (1 + ans**2),),
    sp.sec: lambda g, ans, x: (g * ans * sp.tan(x),),
    sp.csc: lambda g, ans, x: (-g * ans * sp.cot(x),),
    sp.asin: lambda g, ans, x: (g / sp.sqrt(1 - x**2),),
    sp.acos: lambda g, ans, x: (-g / sp.sqrt(1 - x**2),),
    sp.atan: lambda g, ans, x: (g / (1 + x**2),),
    sp.acot: lambda g, ans, x: (-g / (1 + x**2),),
    sp.asec: lambda g, ans, x: (g / (x**2 * sp.sqrt(1 - 1 / x**2)),),
    sp.acsc: lambda g, ans, x: (-g / (x**2 * sp.sqrt(1 - 1 / x**2)),),
    sp.atan2: lambda g, ans, y, x: (g * x / (x**2 + y**2), -g * y / (x**2 + y**2)),
    sp.sinc: lambda g, ans, x: (
        g * sp.Piecewise(((x * sp.cos(x) - sp.sin(x)) / x**2, sp.Ne(x, 0)), (0, True)),),

    # --- hyperbolic ---
    sp.sinh: lambda g, ans, x: (g * sp.cosh(x),),
    sp.cosh: lambda g, ans, x: (g * sp.sinh(x),),
    sp.tanh: lambda g, ans, x: (g * (1 - ans**2),),     # code: sech^2, see rewrite.py
    sp.coth: lambda g, ans, x: (g * (1 - ans**2),),
    sp.sech: lambda g, ans, x: (-g * ans * sp.tanh(x),),
    sp.csch: lambda g, ans, x: (-g * ans * sp.coth(x),),
    sp.asinh: lambda g, ans, x: (g / sp.sqrt(x**2 + 1),),
    sp.acosh: lambda g, ans, x: (g / (sp.sqrt(x - 1) * sp.sqrt(x + 1)),),
    sp.atanh: lambda g, ans, x: (g / (1 - x**2),),
    sp.acoth: lambda g, ans, x: (g / (1 - x**2),),
    sp.asech: lambda g, ans, x: (-g / (x * sp.sqrt(1 - x**2)),),
    sp.acsch: lambda g, ans, x: (-g / (x**2 * sp.sqrt(1 + x**-2)),),

    # --- kinks, steps and branches ---
    sp.Abs: lambda g, ans, x: (g * sp.sign(x),),
    sp.sign: lambda g, ans, x: (2 * g * sp.DiracDelta(x),),
    sp.Heaviside: lambda g, ans, x, h0: (g * sp.DiracDelta(x), None),
    sp.DiracDelta: lambda g, ans, x, *k: (g * sp.DiracDelta(x, (k[0] if k else 0) + 1),) + (None,) * len(k),
    sp.Max: lambda g, ans, x, y: (g * sp.Heaviside(x - y), g * sp.Heaviside(y - x)),
    sp.Min: lambda g, ans, x, y: (g * sp.Heaviside(y - x), g * sp.Heaviside(x - y)),
    sp.Piecewise: _piecewise,

    # --- special functions ---
    sp.erf: lambda g, ans, x: (2 * g * sp.exp(-x**2) / sp.sqrt(sp.pi),),
    sp.erfc: lambda g, ans, x: (-2 * g * sp.exp(-x**2) / sp.sqrt(sp.pi),),
    sp.gamma: lambda g, ans, x: (g * ans * sp.polygamma(0, x),),
    sp.loggamma: lambda g, ans, x: (g * sp.polygamma(0, x),),
    sp.polygamma: lambda g, ans, n, x: (None, g * sp.polygamma(n + 1, x)),

    # --- matrix ---
    sp.MatMul: lambda G, ans, A, B: (G * B.T, A.T * G),
    sp.Transpose: lambda G, ans, A: (G.T,),
    sp.Inverse: lambda G, ans, X: (-ans.T * G * ans.T,),
    sp.Trace: lambda g, ans, X: (g * sp.Identity(X.shape[0]),),
    sp.Determinant: lambda g, ans, X: (g * ans * X.I.T,),
    LogDet: lambda g, ans, X: (g * X.I.T,),
    RowLogSumExp: _row_logsumexp,
    RowSoftmax: _row_softmax,
    RowLogSoftmax: _row_log_softmax,

    # --- shape plumbing ---
    Broadcast: lambda G, ans, x: (_sum_like(G, x),),
    SumTo: lambda g, ans, x: (_stretch_like(g, x),),

    # --- conditions (no gradient flows) ---
    **{op: _no_gradient for op in (*RELATIONAL, sp.And, sp.Or, sp.Not)},
}

# Ops whose rules take MatrixSymbol placeholders for their matrix-shaped values.
MATRIX_RULES = frozenset([sp.MatMul, sp.Transpose, sp.Inverse, sp.Trace, sp.Determinant,
                          LogDet, RowLogSumExp, RowSoftmax, RowLogSoftmax, Broadcast, SumTo])

NO_GRADIENT = frozenset(op for op, rule in RULES.items() if rule is _no_gradient)
