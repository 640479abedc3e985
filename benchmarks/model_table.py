"""Matrix models for bench_models.py and tests/test_models_table.py: each stated once in SymPy
(MatrixSymbols with symbolic dimensions) and once in hand-written NumPy, as an expert would
write it (value and gradients, shared work, solves and factorizations instead of inverses).

A model is a ``Model``: its loss, ``wrt`` and ``args`` (the signature order is wrt then
args), ``data(rng, size)`` returning the arrays in that order for a size table
(``size["n"]`` samples, ...), and ``hand(*arrays)`` returning (loss, gradients).
``BENCH`` holds the sizes timed, ``SMALL`` the sizes the test uses.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp
from scipy.linalg import cho_factor, cho_solve, lu_factor, lu_solve
from scipy.special import expit

import symgrad as sg

n, d, h, k, m = sp.symbols("n d h k m", integer=True, positive=True)
ones, I = sp.OneMatrix, sp.Identity
BENCH = {"n": 2000, "d": 100, "h": 64, "k": 10, "m": 500}
SMALL = {"n": 9, "d": 4, "h": 3, "k": 3, "m": 5}


@dataclass
class Model:
    name: str
    loss: object
    wrt: list
    args: list
    data: Callable
    hand: Callable
    size: dict = None          # overrides of BENCH for this model

    def sizes(self, small=False):
        return dict(SMALL) if small else {**BENCH, **(self.size or {})}


def M(name, rows, cols):
    return sp.MatrixSymbol(name, rows, cols)


def sqnorm(E):
    """||E||_F^2 as people write it: Trace(E^T E)."""
    return sp.Trace(E.T * E)


def normal(rng, *shape, scale=1.0):
    return scale * rng.standard_normal(shape)


def spd(rng, size):
    A = rng.standard_normal((size, size + 3))
    return A @ A.T / size + np.eye(size)


MODELS = []


def model(name, loss, wrt, args, size=None):
    def add(pair):
        data, hand = pair
        MODELS.append(Model(name, loss, wrt, args, data, hand, size))
        return pair
    return add


# --- regression -----------------------------------------------------------------------

X, y, w = M("X", n, d), M("y", n, 1), M("w", d, 1)
lam = sp.Symbol("lam", positive=True)


def _ls_data(rng, s):
    return [normal(rng, s["d"], 1, scale=0.1), normal(rng, s["n"], s["d"]), normal(rng, s["n"], 1)]


def _ls_hand(w_, X_, y_):
    r = X_ @ w_ - y_
    return (r * r).sum() / len(r), (2 / len(r)) * (X_.T @ r)


model("least squares", sqnorm(X * w - y) / n, [w], [X, y])((_ls_data, _ls_hand))


def _ridge_hand(w_, X_, y_, lam_):
    loss, g = _ls_hand(w_, X_, y_)
    return loss + lam_ * (w_ * w_).sum(), g + 2 * lam_ * w_


model("ridge", sqnorm(X * w - y) / n + lam * sp.Trace(w.T * w), [w], [X, y, lam])(
    (lambda rng, s: _ls_data(rng, s) + [0.3], _ridge_hand))

Xv, yv = M("Xv", m, d), M("yv", m, 1)
_ridge_w = (X.T * X + lam * I(d)).I * X.T * y


def _ridge_lambda_hand(lam_, X_, y_, Xv_, yv_):
    A = X_.T @ X_
    A[np.diag_indices_from(A)] += lam_
    c = cho_factor(A)
    wl = cho_solve(c, X_.T @ y_)
    r = Xv_ @ wl - yv_
    return (r * r).sum(), -2 * ((Xv_.T @ r).T @ cho_solve(c, wl))[0, 0]


model("ridge: validation loss by lambda", sqnorm(Xv * _ridge_w - yv), [lam], [X, y, Xv, yv],
      size={"d": 200})((lambda rng, s: [2.0, normal(rng, s["n"], s["d"]), normal(rng, s["n"], 1),
                                        normal(rng, s["m"], s["d"]), normal(rng, s["m"], 1)],
                        _ridge_lambda_hand))


def _logistic_hand(w_, X_, y_):
    z = X_ @ w_
    return (np.logaddexp(0, z) - y_ * z).sum() / len(z), X_.T @ (expit(z) - y_) / len(z)


_p = (X * w).applyfunc(lambda t: 1 / (1 + sp.exp(-t)))
model("logistic regression",
      -(sp.Trace(y.T * _p.applyfunc(sp.log)) + sp.Trace((ones(n, 1) - y).T
                                                         * (ones(n, 1) - _p).applyfunc(sp.log))) / n,
      [w], [X, y])((lambda rng, s: [normal(rng, s["d"], 1, scale=0.1), normal(rng, s["n"], s["d"]),
                                    rng.integers(0, 2, (s["n"], 1)).astype(float)], _logistic_hand))


def _poisson_hand(w_, X_, y_):
    z = X_ @ w_
    e = np.exp(z)
    return (e - y_ * z).sum() / len(z), X_.T @ (e - y_) / len(z)


model("Poisson regression", sg.msum((X * w).applyfunc(sp.exp) - sp.HadamardProduct(y, X * w)) / n,
      [w], [X, y])((lambda rng, s: [normal(rng, s["d"], 1, scale=0.02), normal(rng, s["n"], s["d"]),
                                    rng.poisson(1.0, (s["n"], 1)).astype(float)], _poisson_hand))

delta = sp.Rational(1, 2)


def _huber_hand(w_, X_, y_):
    r = X_ @ w_ - y_
    small = np.abs(r) <= 0.5
    loss = np.where(small, r * r / 2, 0.5 * (np.abs(r) - 0.25)).sum() / len(r)
    return loss, X_.T @ np.where(small, r, 0.5 * np.sign(r)) / len(r)


model("Huber regression",
      sg.msum((X * w - y).applyfunc(lambda t: sp.Piecewise((t**2 / 2, sp.Abs(t) <= delta),
                                                            (delta * (sp.Abs(t) - delta / 2), True)))) / n,
      [w], [X, y])((_ls_data, _huber_hand))

a1, a2 = sp.Symbol("a1", positive=True), sp.Symbol("a2", positive=True)


def _elastic_hand(w_, X_, y_, a1_, a2_):
    r = X_ @ w_ - y_
    nn = len(r)
    loss = (r * r).sum() / (2 * nn) + a1_ * np.abs(w_).sum() + a2_ / 2 * (w_ * w_).sum()
    return loss, X_.T @ r / nn + a1_ * np.sign(w_) + a2_ * w_


model("elastic net", sqnorm(X * w - y) / (2 * n) + a1 * sg.msum(w.applyfunc(sp.Abs))
      + a2 / 2 * sp.Trace(w.T * w), [w], [X, y, a1, a2])(
    (lambda rng, s: _ls_data(rng, s) + [0.1, 0.2], _elastic_hand))

S = M("S", n, n)


def _gls_hand(w_, X_, y_, S_):
    lu = lu_factor(S_)
    r = y_ - X_ @ w_
    return (r.T @ lu_solve(lu, r))[0, 0], -X_.T @ (lu_solve(lu, r) + lu_solve(lu, r, trans=1))


model("generalized least squares", sp.Trace((y - X * w).T * S.I * (y - X * w)), [w], [X, y, S],
      size={"n": 400})((lambda rng, s: _ls_data(rng, s) + [spd(rng, s["n"])], _gls_hand))

# --- classification and networks ------------------------------------------------------

Y, W, b = M("Y", n, k), M("W", d, k), M("b", 1, k)


def _onehot(rng, rows, cols):
    return np.eye(cols)[rng.integers(0, cols, rows)]


def _softmax_ce(Z, Y_):
    mx = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - mx)
    s = E.sum(axis=1, keepdims=True)
    return ((mx + np.log(s)).sum() - (Y_ * Z).sum()) / len(Z), (E / s - Y_) / len(Z)


def _softmax_reg_hand(W_, b_, X_, Y_):
    loss, dZ = _softmax_ce(X_ @ W_ + b_, Y_)
    return loss, (X_.T @ dZ, dZ.sum(axis=0, keepdims=True))


_Z = X * W + ones(n, 1) * b
model("softmax regression", (sg.msum(sg.logsumexp(_Z, axis=1)) - sp.Trace(Y.T * _Z)) / n, [W, b],
      [X, Y])((lambda rng, s: [normal(rng, s["d"], s["k"], scale=0.1), normal(rng, 1, s["k"]),
                               normal(rng, s["n"], s["d"]), _onehot(rng, s["n"], s["k"])],
               _softmax_reg_hand))

_E = _Z.applyfunc(sp.exp)
_P = sp.HadamardProduct(_E, (_E * ones(k, 1)).applyfunc(lambda t: 1 / t) * ones(1, k))
def _softmax_by_hand_hand(W_, b_, X_, Y_):
    """-sum(Y * log softmax(Z)) / n for any Y (the loss does not say rows of Y sum to 1)."""
    Z = X_ @ W_ + b_
    mx = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - mx)
    s = E.sum(axis=1, keepdims=True)
    r = Y_.sum(axis=1, keepdims=True)
    nn = len(Z)
    loss = ((r * (mx + np.log(s))).sum() - (Y_ * Z).sum()) / nn
    dZ = (E * (r / s) - Y_) / nn
    return loss, (X_.T @ dZ, dZ.sum(axis=0, keepdims=True))


model("softmax written by hand, through a transpose", -sp.Trace(_P.applyfunc(sp.log).T * Y) / n,
      [W, b], [X, Y])((lambda rng, s: [normal(rng, s["d"], s["k"], scale=0.1), normal(rng, 1, s["k"]),
                                       normal(rng, s["n"], s["d"]), _onehot(rng, s["n"], s["k"])],
                       _softmax_by_hand_hand))

W1, b1, W2, b2 = M("W1", d, h), M("b1", 1, h), M("W2", h, k), M("b2", 1, k)


def _mlp_hand(W1_, b1_, W2_, b2_, X_, Y_):
    H = np.tanh(X_ @ W1_ + b1_)
    loss, dZ = _softmax_ce(H @ W2_ + b2_, Y_)
    dA = (dZ @ W2_.T) * (1 - H * H)
    return loss, (X_.T @ dA, dA.sum(axis=0, keepdims=True), H.T @ dZ, dZ.sum(axis=0, keepdims=True))


_Zm = (X * W1 + ones(n, 1) * b1).applyfunc(sp.tanh) * W2 + ones(n, 1) * b2
model("MLP, tanh, softmax cross-entropy", (sg.msum(sg.logsumexp(_Zm, axis=1)) - sp.Trace(Y.T * _Zm)) / n,
      [W1, b1, W2, b2], [X, Y])((lambda rng, s: [normal(rng, s["d"], s["h"], scale=0.1),
                                                 normal(rng, 1, s["h"], scale=0.1),
                                                 normal(rng, s["h"], s["k"], scale=0.1),
                                                 normal(rng, 1, s["k"], scale=0.1),
                                                 normal(rng, s["n"], s["d"]),
                                                 _onehot(rng, s["n"], s["k"])], _mlp_hand))

T = M("T", n, d)
Wd, b1d, W2d, b2d = M("W1", d, h), M("b1", 1, h), M("W2", h, d), M("b2", 1, d)


def _autoencoder_hand(W1_, b1_, W2_, b2_, X_):
    H = expit(X_ @ W1_ + b1_)
    R = H @ W2_ + b2_ - X_
    nn = len(X_)
    dR = (2 / nn) * R
    dA = (dR @ W2_.T) * H * (1 - H)
    return (R * R).sum() / nn, (X_.T @ dA, dA.sum(axis=0, keepdims=True), H.T @ dR,
                                dR.sum(axis=0, keepdims=True))


_H = (X * Wd + ones(n, 1) * b1d).applyfunc(lambda t: 1 / (1 + sp.exp(-t)))
model("autoencoder, sigmoid", sqnorm(_H * W2d + ones(n, 1) * b2d - X) / n, [Wd, b1d, W2d, b2d], [X])(
    (lambda rng, s: [normal(rng, s["d"], s["h"], scale=0.1), normal(rng, 1, s["h"], scale=0.1),
                     normal(rng, s["h"], s["d"], scale=0.1), normal(rng, 1, s["d"], scale=0.1),
                     normal(rng, s["n"], s["d"])], _autoencoder_hand))
