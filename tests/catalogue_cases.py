"""The stability catalogue: naive loss forms people write, at the inputs where the naive
code loses every digit, overflows or returns NaN (issue "Hardening", stability part).

Each case is ``Case(expr, wrt, args, reference, points)``: the loss as people write it
(plain SymPy, no symgrad node), the parameters and data, an mpmath formula of the same
loss (``reference(*wrt_values, *arg_values)``, matrices as lists of rows) that the tests
evaluate at 400 digits and differentiate with mpmath, and the extreme points (one value
per wrt and arg, in order; matrices as NumPy arrays). ``tests/test_stability_catalogue.py``
runs them.
"""

from dataclasses import dataclass

import mpmath as mp
import numpy as np
import sympy as sp

import symgrad as sg

__all__ = ["Case", "CASES"]


@dataclass
class Case:
    expr: object
    wrt: list
    args: list
    reference: object
    points: list


z, y, x, a, b, w, mu, lam, alpha = sp.symbols("z y x a b w mu lambda alpha")
z1, z2, z3, t1, t2 = sp.symbols("z1 z2 z3 theta1 theta2")
SQRT2 = sp.sqrt(2)
sigma = 1 / (1 + sp.exp(-z))
Phi = (1 + sp.erf(z / SQRT2)) / 2                        # the normal CDF as people write it


def s_mp(t):
    return 1 / (1 + mp.exp(-t))


def lse_mp(ts):
    top = max(ts)
    return top + mp.log(mp.fsum(mp.exp(t - top) for t in ts))


def elu(u, al):
    return sp.Piecewise((u, u > 0), (al * (sp.exp(u) - 1), True))


def hurdle(a_, b_, y_):
    """Hurdle Poisson NLL: P(y = 0) = sigmoid(a); the rate e^b appears only where y > 0."""
    pi, rate = 1 / (1 + sp.exp(-a_)), sp.exp(b_)
    return sp.Piecewise((-sp.log(pi), sp.Eq(y_, 0)),
                        (-sp.log(1 - pi) - y_ * b_ + rate + sp.loggamma(y_ + 1)
                         + sp.log(1 - sp.exp(-rate)), True))


def hurdle_mp(aa, bb, yy):
    if yy == 0:
        return -mp.log(s_mp(aa))
    rate = mp.exp(bb)
    return -mp.log(1 - s_mp(aa)) - yy * bb + rate + mp.loggamma(yy + 1) + mp.log(-mp.expm1(-rate))


def box_cox(y_, l_):
    return (y_**l_ - 1) / l_


SCALAR = {
    # --- erf and erfc tails ---
    "GELU z/2 (1 + erf(z/sqrt 2))": Case(
        z / 2 * (1 + sp.erf(z / SQRT2)), [z], [], lambda t: t * mp.ncdf(t),
        [(-10.0,), (-30.0,)]),
    "probit NLL, Phi = (1 + erf(z/sqrt 2))/2": Case(
        -y * sp.log(Phi) - (1 - y) * sp.log(1 - Phi), [z], [y],
        lambda t, yy: -yy * mp.log(mp.ncdf(t)) - (1 - yy) * mp.log(mp.ncdf(-t)),
        [(10.0, 0.0), (-10.0, 1.0), (-40.0, 1.0)]),
    "log Phi(z) = log(erfc(-z/sqrt 2)/2)": Case(
        sp.log(sp.erfc(-z / SQRT2) / 2), [z], [], lambda t: mp.log(mp.ncdf(t)), [(-40.0,)]),
    "log erfc(x)": Case(sp.log(sp.erfc(x)), [x], [], lambda t: mp.log(mp.erfc(t)), [(30.0,)]),
    "inverse Mills ratio phi(z)/Phi(z)": Case(
        sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi) / Phi, [z], [], lambda t: mp.npdf(t) / mp.ncdf(t),
        [(-40.0,)]),
    "scaled erfc e^(x^2) erfc(x)": Case(
        sp.exp(x**2) * sp.erfc(x), [x], [], lambda t: mp.exp(t**2) * mp.erfc(t), [(30.0,)]),
    "erf(x) - 1": Case(sp.erf(x) - 1, [x], [], lambda t: mp.erf(t) - 1, [(6.0,)]),
    "1 - erfc(x) near 0": Case(1 - sp.erfc(x), [x], [], lambda t: 1 - mp.erfc(t), [(1e-10,)]),
    # --- differences of sigmoids, Box-Cox, log1mexp ---
    "ordinal regression log(s(t2 - z) - s(t1 - z))": Case(
        sp.log(1 / (1 + sp.exp(z - t2)) - 1 / (1 + sp.exp(z - t1))), [z, t1, t2], [],
        lambda t, a1, a2: mp.log(s_mp(a2 - t) - s_mp(a1 - t)), [(-60.0, 0.0, 1.0)]),
    "ordinal likelihood s(t2 - z) - s(t1 - z)": Case(
        1 / (1 + sp.exp(z - t2)) - 1 / (1 + sp.exp(z - t1)), [z, t1, t2], [],
        lambda t, a1, a2: s_mp(a2 - t) - s_mp(a1 - t), [(-60.0, 0.0, 1.0)]),
    "Box-Cox NLL ((y^lam - 1)/lam - mu)^2/2 - (lam - 1) log y": Case(
        (box_cox(y, lam) - mu)**2 / 2 - (lam - 1) * sp.log(y), [lam, mu], [y],
        lambda l_, m_, yy: (mp.expm1(l_ * mp.log(yy)) / l_ - m_)**2 / 2 - (l_ - 1) * mp.log(yy),
        [(1e-9, 1.1, 3.0), (-2e-12, 0.5, 0.2)]),
    "Box-Cox with its lam = 0 branch": Case(
        (sp.Piecewise((sp.log(y), sp.Eq(lam, 0)), (box_cox(y, lam), True)) - mu)**2, [lam, mu], [y],
        lambda l_, m_, yy: (mp.expm1(l_ * mp.log(yy)) / l_ - m_)**2, [(1e-12, 1.1, 3.0)]),
    "log(e^a - e^b)": Case(
        sp.log(sp.exp(a) - sp.exp(b)), [a, b], [], lambda u, v: u + mp.log(-mp.expm1(v - u)),
        [(800.0, 799.0), (-800.0, -801.0)]),
    "log(1 - e^x)": Case(
        sp.log(1 - sp.exp(x)), [x], [], lambda t: mp.log(-mp.expm1(t)), [(-1e-20,), (-50.0,)]),
    "complementary log-log log(1 - exp(-e^z))": Case(
        sp.log(1 - sp.exp(-sp.exp(z))), [z], [], lambda t: mp.log(-mp.expm1(-mp.exp(t))),
        [(-800.0,), (-40.0,)]),
    # --- sigmoids and softmaxes written by hand ---
    "odds s/(1 - s), s = 1/(1 + e^-z)": Case(
        sigma / (1 - sigma), [z], [], lambda t: mp.exp(t), [(40.0,), (700.0,)]),
    "binary cross-entropy, naive sigmoid": Case(
        -y * sp.log(sigma) - (1 - y) * sp.log(1 - sigma), [z], [y],
        lambda t, yy: -yy * mp.log(s_mp(t)) - (1 - yy) * mp.log(1 - s_mp(t)),
        [(-800.0, 1.0), (800.0, 0.0)]),
    "focal loss -(1 - p)^2 log p, p = 1/(1 + e^-z)": Case(
        -(1 - sigma)**2 * sp.log(sigma), [z], [], lambda t: -(1 - s_mp(t))**2 * mp.log(s_mp(t)),
        [(-800.0,), (40.0,)]),
    "softplus log(1 + e^z)": Case(
        sp.log(1 + sp.exp(z)), [z], [], lambda t: mp.log(1 + mp.exp(t)), [(800.0,), (-800.0,)]),
    "softmax cross-entropy -log(e^z1 / sum e^z)": Case(
        -sp.log(sp.exp(z1) / (sp.exp(z1) + sp.exp(z2) + sp.exp(z3))), [z1, z2, z3], [],
        lambda u, v, t: lse_mp([u, v, t]) - u, [(1000.0, 999.0, -1000.0)]),
    "log-sum-exp log(e^z1 + e^z2 + e^z3)": Case(
        sp.log(sp.exp(z1) + sp.exp(z2) + sp.exp(z3)), [z1, z2, z3], [],
        lambda u, v, t: lse_mp([u, v, t]), [(1000.0, 999.0, 998.0)]),
    "log-cosh loss log(cosh x)": Case(
        sp.log(sp.cosh(x)), [x], [], lambda t: mp.log(mp.cosh(t)), [(1000.0,)]),
    "tanh written (e^z - e^-z)/(e^z + e^-z)": Case(
        (sp.exp(z) - sp.exp(-z)) / (sp.exp(z) + sp.exp(-z)), [z], [], mp.tanh, [(800.0,)]),
    "log-odds log s(z) - log s(-z)": Case(
        sp.log(sigma) - sp.log(1 / (1 + sp.exp(z))), [z], [], lambda t: t,
        [(1e-12,), (-3e-9,), (2.5,), (800.0,)]),
    # --- squares: Cauchy loss, Charbonnier loss, Euclidean norm ---
    "Cauchy loss log(1 + (w x - y)^2)": Case(
        sp.log(1 + (w * x - y)**2), [w], [x, y], lambda ww, xx, yy: mp.log(1 + (ww * xx - yy)**2),
        [(1.0, 1e300, 0.0), (1e-300, 1.0, 0.0), (1e-12, 1.0, 0.0), (0.7, 1.3, 0.2), (3.0, 1e100, -1.0)]),
    "Charbonnier loss sqrt((w x - y)^2 + 1e-12)": Case(
        sp.sqrt((w * x - y)**2 + sp.Rational(1, 10**12)), [w], [x, y],
        lambda ww, xx, yy: mp.sqrt((ww * xx - yy)**2 + mp.mpf(10)**-12),
        [(1.0, 1e300, 0.0), (1e-300, 1.0, 0.0), (1e-12, 1.0, 0.0), (0.7, 1.3, 0.2)]),
    "Euclidean norm sqrt(w^2 + x^2)": Case(
        sp.sqrt(w**2 + x**2), [w], [x], lambda ww, xx: mp.sqrt(ww**2 + xx**2),
        [(1e-300, 1e-300), (1e300, 1e300), (1e-12, 3e-12), (0.3, -0.4)]),
    # --- branches ---
    "ELU regression (elu(w z) - y)^2, alpha a parameter": Case(
        (elu(w * z, alpha) - y)**2, [w, alpha], [z, y],
        lambda ww, al, zz, yy: ((ww * zz if ww * zz > 0 else al * mp.expm1(ww * zz)) - yy)**2,
        [(1.0, 1.5, 800.0, 0.0), (1.0, 1.5, -3.0, 1.0)]),
    "hurdle Poisson NLL": Case(
        hurdle(a, b, y), [a, b], [y], hurdle_mp, [(0.5, 800.0, 0.0), (0.5, -800.0, 3.0)]),
}


# --- the matrix level: softmax and log-sum-exp through transposes and layouts --------------

n, k, m = sp.symbols("n k m", integer=True, positive=True)
S, Y = sp.MatrixSymbol("S", n, k), sp.MatrixSymbol("Y", n, k)
Q, K, V, T = (sp.MatrixSymbol(c, n, m) for c in "QKVT")
A, B = sp.MatrixSymbol("A", n, m), sp.MatrixSymbol("B", n, m)
zc, yc = sp.MatrixSymbol("z", k, 1), sp.MatrixSymbol("y", k, 1)


def exp_of(M):
    return M.applyfunc(sp.exp)


def inverse(M):
    return M.applyfunc(lambda t: 1 / t)


def row_softmax(M, cols):
    e = exp_of(M)
    return sp.HadamardProduct(e, inverse(e * sp.OneMatrix(cols, 1) * sp.OneMatrix(1, cols)))


def column_softmax(M, rows):
    e = exp_of(M)
    return sp.HadamardProduct(e, inverse(sp.OneMatrix(rows, 1) * sp.OneMatrix(1, rows) * e))


def mp_softmax_rows(M):
    return [[mp.exp(v - lse_mp(row)) for v in row] for row in M]


def mp_columns(M):
    return [list(col) for col in zip(*M)]


def mp_matmul(P, R):
    return [[mp.fsum(P[i][j] * R[j][c] for j in range(len(R))) for c in range(len(R[0]))]
            for i in range(len(P))]


def mp_transpose(M):
    return [list(r) for r in zip(*M)]


def brier(s_, y_):
    P = mp_softmax_rows(s_)
    return mp.fsum((P[i][j] - y_[i][j])**2 for i in range(len(P)) for j in range(len(P[0])))


def cross_entropy(s_, y_):
    return -mp.fsum(y_[i][j] * (s_[i][j] - lse_mp(s_[i])) for i in range(len(s_)) for j in range(len(s_[0])))


def attention(q_, k_, v_, t_):
    out = mp_matmul(mp_softmax_rows(mp_matmul(q_, mp_transpose(k_))), v_)
    return mp.fsum((out[i][j] - t_[i][j])**2 for i in range(len(out)) for j in range(len(out[0])))


def contrastive(a_, b_):
    s_ = mp_matmul(a_, mp_transpose(b_))
    return (-2 * mp.fsum(s_[i][i] for i in range(len(s_))) + mp.fsum(lse_mp(r) for r in s_)
            + mp.fsum(lse_mp(c) for c in mp_columns(s_)))


LOGITS = np.array([[1000.0, 998.0, -1000.0], [500.0, 1000.0, 999.0]])
NEAR_500 = np.array([[500.0, 499.5, 480.0], [975.0, 974.0, 976.0]])    # the logits
TARGETS = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
R_ = row_softmax(S, k) - Y
ONES_N = sp.OneMatrix(1, n)

MATRIX = {
    "Brier score Trace(R.T*R), R = exp(S)/rowsum - Y": Case(
        sp.Trace(R_.T * R_), [S], [Y], brier, [(LOGITS, TARGETS), (NEAR_500, TARGETS)]),
    "softmax cross-entropy -Trace(log(P).T*Y)": Case(
        -sp.Trace(row_softmax(S, k).applyfunc(sp.log).T * Y), [S], [Y], cross_entropy,
        [(LOGITS, TARGETS), (NEAR_500, TARGETS)]),
    "attention |softmax(Q K.T) V - T|^2": Case(
        sp.Trace((row_softmax(Q * K.T, n) * V - T).T * (row_softmax(Q * K.T, n) * V - T)),
        [Q, K, V], [T], attention,
        [(np.array([[30.0, 10.0], [29.0, 11.0]]), np.array([[31.0, 7.0], [30.0, 9.9]]),
          np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))]),
    "column softmax cross-entropy, exp(S)/colsum": Case(
        -sg.msum(sp.HadamardProduct(Y, column_softmax(S, n).applyfunc(sp.log))), [S], [Y],
        lambda s_, y_: cross_entropy(mp_transpose(s_), mp_transpose(y_)), [(LOGITS, TARGETS)]),
    "contrastive (CLIP) loss, log-sum-exp over rows and columns": Case(
        -2 * sp.Trace(A * B.T) + sg.msum((exp_of(A * B.T) * sp.OneMatrix(n, 1)).applyfunc(sp.log))
        + sg.msum((ONES_N * exp_of(A * B.T)).applyfunc(sp.log)), [A, B], [], contrastive,
        [(np.array([[30.0, 10.0], [29.0, 11.0]]), np.array([[31.0, 7.0], [30.0, 9.9]]))]),
    "softmax of a column vector -Trace(y.T*log(exp(z)/(1.T*exp(z))))": Case(
        -sp.Trace(yc.T * sp.HadamardProduct(exp_of(zc), inverse(sp.OneMatrix(k, 1) * sp.OneMatrix(1, k)
                                                                * exp_of(zc))).applyfunc(sp.log)),
        [zc], [yc], lambda z_, y_: cross_entropy(mp_transpose(z_), mp_transpose(y_)),
        [(np.array([[1000.0], [960.0], [-1000.0]]), np.array([[1.0], [0.0], [0.0]]))]),
    "log-sum-exp over every entry log(msum(exp(S)))": Case(
        sp.log(sg.msum(exp_of(S))), [S], [], lambda s_: lse_mp([v for r in s_ for v in r]),
        [(LOGITS,)]),
    "log of a transposed softmax -Trace(log(softmax(S).T)*Y)": Case(
        -sp.Trace(sg.softmax(S).T.applyfunc(sp.log) * Y), [S], [Y],
        cross_entropy, [(LOGITS, TARGETS)]),
}

CASES = {**SCALAR, **MATRIX}


# one softmax cross-entropy, written in several layouts (the same loss and gradient)
_P = row_softmax(S, k)
_LOG_P = _P.applyfunc(sp.log)
_TARGETS_T = sp.MatrixSymbol("Yt", k, n)
LAYOUTS = {name: Case(expr, [S], [Y], cross_entropy, [(LOGITS, TARGETS), (NEAR_500, TARGETS)])
           for name, expr in {
    "rows: -msum(Y o log(exp(S)/(exp(S) 1 1.T)))": -sg.msum(sp.HadamardProduct(Y, _LOG_P)),
    "rows through msum(., axis=1)": -sg.msum(sp.HadamardProduct(Y, sp.HadamardProduct(
        exp_of(S), inverse(sg.msum(exp_of(S), axis=1) * sp.OneMatrix(1, k))).applyfunc(sp.log))),
    "SymPy's transpose: -Trace(log(P).T Y)": -sp.Trace(_LOG_P.T * Y),
    "unevaluated Transpose(log(P))": -sp.Trace(sp.Transpose(_LOG_P) * Y),
    "row sums written (1.T exp(S).T).T, a transpose inside the pattern": -sg.msum(
        sp.HadamardProduct(Y, sp.HadamardProduct(exp_of(S), inverse(sp.Transpose(
            sp.OneMatrix(1, k) * exp_of(S).T)) * sp.OneMatrix(1, k)).applyfunc(sp.log))),
    "column softmax of S.T, transposed back": -sp.Trace(
        Y * column_softmax(S.T, k).applyfunc(sp.log)),
}.items()}
