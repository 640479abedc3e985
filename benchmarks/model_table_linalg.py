"""The rest of the model table (see model_table.py): layers, recurrences, attention, Gaussian
processes and covariances, factorizations. Importing this module completes
``model_table.MODELS``; ``MODELS`` here is that list."""

import numpy as np
import sympy as sp
from scipy.linalg import cho_factor, cho_solve, lu_factor, lu_solve

import symgrad as sg
from model_table import (MODELS, BENCH, SMALL, I, M, d, h, k, m, model, n, normal, ones,  # noqa: F401
                         spd, sqnorm, _softmax_ce)

__all__ = ["MODELS"]

X, T = M("X", n, d), M("T", n, h)

# --- LayerNorm after a linear layer ---------------------------------------------------------

Wl, gamma, beta = M("W", d, h), M("gamma", 1, h), M("beta", 1, h)
EPS = sp.Rational(1, 10**5)


def _layernorm_hand(W_, g_, b_, X_, T_):
    Z = X_ @ W_
    C = Z - Z.mean(axis=1, keepdims=True)
    rstd = 1 / np.sqrt((C * C).mean(axis=1, keepdims=True) + 1e-5)
    N = C * rstd
    R = N * g_ + b_ - T_
    nn = len(X_)
    dO = (2 / nn) * R
    dN = dO * g_
    dZ = rstd * (dN - dN.mean(axis=1, keepdims=True) - N * (dN * N).mean(axis=1, keepdims=True))
    return (R * R).sum() / nn, (X_.T @ dZ, (dO * N).sum(axis=0, keepdims=True),
                                dO.sum(axis=0, keepdims=True))


_Zl = X * Wl
_C = _Zl - _Zl * ones(h, h) / h
_rstd = ((sp.HadamardProduct(_C, _C) * ones(h, 1) / h).applyfunc(lambda t: 1 / sp.sqrt(t + EPS)))
_N = sp.HadamardProduct(_C, _rstd * ones(1, h))
model("LayerNorm after a linear layer",
      sqnorm(sp.HadamardProduct(_N, ones(n, 1) * gamma) + ones(n, 1) * beta - T) / n,
      [Wl, gamma, beta], [X, T])((lambda rng, s: [normal(rng, s["d"], s["h"], scale=0.1),
                                                  1 + normal(rng, 1, s["h"], scale=0.1),
                                                  normal(rng, 1, s["h"], scale=0.1),
                                                  normal(rng, s["n"], s["d"]), normal(rng, s["n"], s["h"])],
                                  _layernorm_hand))

# --- a recurrent network, three steps -------------------------------------------------------

X1, X2, X3 = M("X1", n, d), M("X2", n, d), M("X3", n, d)
Wr, U, br, V, Yr = M("W", d, h), M("U", h, h), M("b", 1, h), M("V", h, k), M("Y", n, k)


def _rnn_hand(W_, U_, b_, V_, X1_, X2_, X3_, Y_):
    xs = (X1_, X2_, X3_)
    hs, prev = [], None
    for x in xs:
        a = x @ W_ + b_ if prev is None else x @ W_ + prev @ U_ + b_
        prev = np.tanh(a)
        hs.append(prev)
    R = prev @ V_ - Y_
    nn = len(R)
    dR = (2 / nn) * R
    dV = prev.T @ dR
    dH = dR @ V_.T
    dW, dU, db = 0, 0, 0
    for t in (2, 1, 0):
        dA = dH * (1 - hs[t] * hs[t])
        dW = dW + xs[t].T @ dA
        db = db + dA.sum(axis=0, keepdims=True)
        if t:
            dU = dU + hs[t - 1].T @ dA
            dH = dA @ U_.T
    return (R * R).sum() / nn, (dW, dU, db, dV)


_h = None
for _x in (X1, X2, X3):
    _a = _x * Wr + ones(n, 1) * br if _h is None else _x * Wr + _h * U + ones(n, 1) * br
    _h = _a.applyfunc(sp.tanh)
model("RNN, three tanh steps", sqnorm(_h * V - Yr) / n, [Wr, U, br, V], [X1, X2, X3, Yr])(
    (lambda rng, s: [normal(rng, s["d"], s["h"], scale=0.1), normal(rng, s["h"], s["h"], scale=0.1),
                     normal(rng, 1, s["h"], scale=0.1), normal(rng, s["h"], s["k"], scale=0.1),
                     normal(rng, s["n"], s["d"]), normal(rng, s["n"], s["d"]), normal(rng, s["n"], s["d"]),
                     normal(rng, s["n"], s["k"])], _rnn_hand))

# --- attention ----------------------------------------------------------------------------

Wq, Wk, Wv = M("Wq", d, k), M("Wk", d, k), M("Wv", d, h)


def _attention_hand(Wq_, Wk_, Wv_, X_, T_):
    Q, K, Vv = X_ @ Wq_, X_ @ Wk_, X_ @ Wv_
    c = 1 / np.sqrt(Wq_.shape[1])
    S = (Q @ K.T) * c
    E = np.exp(S - S.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    R = P @ Vv - T_
    nn = len(R)
    dO = (2 / nn) * R
    dP = dO @ Vv.T
    dS = P * (dP - (dP * P).sum(axis=1, keepdims=True)) * c
    return (R * R).sum() / nn, (X_.T @ (dS @ K), X_.T @ (dS.T @ Q), X_.T @ (P.T @ dO))


_S = X * Wq * (X * Wk).T / sp.sqrt(k)
model("self-attention, one head", sqnorm(sg.softmax(_S) * X * Wv - T) / n, [Wq, Wk, Wv], [X, T],
      size={"n": 400})((lambda rng, s: [normal(rng, s["d"], s["k"], scale=0.1),
                                        normal(rng, s["d"], s["k"], scale=0.1),
                                        normal(rng, s["d"], s["h"], scale=0.1),
                                        normal(rng, s["n"], s["d"]), normal(rng, s["n"], s["h"])],
                        _attention_hand))

# --- contrastive (InfoNCE) ----------------------------------------------------------------

Xa, Xb, Wc = M("Xa", n, d), M("Xb", n, d), M("W", d, k)
tau = sp.Symbol("tau", positive=True)


def _infonce_hand(W_, Xa_, Xb_, tau_):
    Za, Zb = Xa_ @ W_, Xb_ @ W_
    S = (Za @ Zb.T) / tau_
    mx = S.max(axis=1, keepdims=True)
    E = np.exp(S - mx)
    s = E.sum(axis=1, keepdims=True)
    nn = len(S)
    loss = ((mx + np.log(s)).sum() - np.trace(S)) / nn
    dS = E / s
    dS[np.diag_indices_from(dS)] -= 1
    dS /= nn * tau_
    return loss, Xa_.T @ (dS @ Zb) + Xb_.T @ (dS.T @ Za)


_Sc = Xa * Wc * (Xb * Wc).T / tau
model("contrastive (InfoNCE)", (sg.msum(sg.logsumexp(_Sc, axis=1)) - sp.Trace(_Sc)) / n, [Wc],
      [Xa, Xb, tau], size={"n": 400})(
    (lambda rng, s: [normal(rng, s["d"], s["k"], scale=0.1), normal(rng, s["n"], s["d"]),
                     normal(rng, s["n"], s["d"]), 0.5], _infonce_hand))

# --- Gaussian process marginal likelihood -------------------------------------------------

D2, yg = M("D", n, n), M("y", n, 1)
amp, ell, noise = sp.symbols("amp ell noise", positive=True)


def _gp_hand(amp_, ell_, noise_, D_, y_):
    """Cholesky: the hand version knows K is symmetric positive definite (symgrad does not
    assume it and factorizes by LU)."""
    E = np.exp(D_ * (-0.5 / ell_**2))
    K = amp_ * E
    K[np.diag_indices_from(K)] += noise_
    c = cho_factor(K, lower=True)
    alpha = cho_solve(c, y_)
    loss = 0.5 * (y_ * alpha).sum() + np.log(np.diag(c[0])).sum()
    Wm = cho_solve(c, np.eye(len(K))) - alpha @ alpha.T
    WE = Wm * E
    return loss, (0.5 * WE.sum(), 0.5 * amp_ / ell_**3 * (WE * D_).sum(), 0.5 * np.trace(Wm))


_K = amp * D2.applyfunc(lambda t: sp.exp(-t / (2 * ell**2))) + noise * I(n)
model("Gaussian process marginal likelihood", sp.Trace(yg.T * _K.I * yg) / 2 + sp.log(sp.Determinant(_K)) / 2,
      [amp, ell, noise], [D2, yg], size={"n": 400})(
    (lambda rng, s: [1.3, 0.8, 0.1, _sqdist(normal(rng, s["n"], 2)), normal(rng, s["n"], 1)], _gp_hand))


def _sqdist(P):
    q = (P * P).sum(axis=1)
    return np.maximum(q[:, None] + q[None, :] - 2 * P @ P.T, 0)


# --- covariances, log determinants, quadratic forms ----------------------------------------

Sig, mu = M("Sigma", d, d), M("mu", 1, d)


def _gauss_hand(Sig_, mu_, X_):
    nn = len(X_)
    C = X_ - mu_
    lu = lu_factor(Sig_)
    P = lu_solve(lu, np.eye(len(Sig_)))
    logdet = np.log(np.abs(np.diag(lu[0]))).sum()
    CP, CPt = C @ P, C @ P.T          # Sigma is any invertible matrix here, not assumed symmetric
    loss = nn / 2 * logdet + 0.5 * (CP * C).sum()
    gS = 0.5 * (nn * P - CPt.T @ CP).T
    return loss, (gS, -0.5 * (CP + CPt).sum(axis=0, keepdims=True))


_Cg = X - ones(n, 1) * mu
model("Gaussian negative log-likelihood, covariance",
      n / 2 * sp.log(sp.Determinant(Sig)) + sp.Trace(_Cg * Sig.I * _Cg.T) / 2, [Sig, mu], [X],
      size={"n": 1000})((lambda rng, s: [spd(rng, s["d"]), normal(rng, 1, s["d"], scale=0.1),
                                         normal(rng, s["n"], s["d"])], _gauss_hand))

A, Sd = M("A", d, d), M("S", d, d)


def _logdet_hand(A_, S_):
    lu = lu_factor(A_)
    logdet = np.log(np.abs(np.diag(lu[0]))).sum()
    return -logdet + (S_ * A_.T).sum(), S_.T - lu_solve(lu, np.eye(len(A_)), trans=1)


model("log det with a linear term (precision estimation)", -sp.log(sp.Determinant(A)) + sp.Trace(Sd * A),
      [A], [Sd], size={"d": 300})((lambda rng, s: [spd(rng, s["d"]), spd(rng, s["d"]) / s["d"]],
                                   _logdet_hand))

Dm, Lm = M("D", n, d), M("L", d, k)


def _maha_hand(L_, D_):
    P = D_ @ L_
    return (P * P).sum() / len(D_), (2 / len(D_)) * (D_.T @ P)


model("Mahalanobis metric learning", sp.Trace(Dm * Lm * Lm.T * Dm.T) / n, [Lm], [Dm])(
    (lambda rng, s: [normal(rng, s["d"], s["k"], scale=0.1), normal(rng, s["n"], s["d"])], _maha_hand))

# --- factorizations -----------------------------------------------------------------------

Uf, Vf, R, Mask = M("U", n, k), M("V", m, k), M("R", n, m), M("Mask", n, m)
lam = sp.Symbol("lam", positive=True)


def _mf_hand(U_, V_, R_, Mask_, lam_):
    E = Mask_ * (U_ @ V_.T - R_)
    G = Mask_ * E                      # the mask is any weight matrix here, not assumed 0/1
    return ((E * E).sum() + lam_ * ((U_ * U_).sum() + (V_ * V_).sum()),
            (2 * (G @ V_ + lam_ * U_), 2 * (G.T @ U_ + lam_ * V_)))


model("matrix factorization, masked", sqnorm(sp.HadamardProduct(Mask, Uf * Vf.T - R))
      + lam * (sqnorm(Uf) + sqnorm(Vf)), [Uf, Vf], [R, Mask, lam], size={"n": 1000})(
    (lambda rng, s: [normal(rng, s["n"], s["k"], scale=0.3), normal(rng, s["m"], s["k"], scale=0.3),
                     normal(rng, s["n"], s["m"]), (rng.random((s["n"], s["m"])) < 0.3).astype(float),
                     0.1], _mf_hand))

Wp = M("W", d, k)


def _pca_hand(W_, X_):
    P = X_ @ W_
    Rr = X_ - P @ W_.T
    nn = len(X_)
    return (Rr * Rr).sum() / nn, (-2 / nn) * (X_.T @ (Rr @ W_) + Rr.T @ P)


model("PCA reconstruction", sqnorm(X - X * Wp * Wp.T) / n, [Wp], [X])(
    (lambda rng, s: [normal(rng, s["d"], s["k"], scale=0.1), normal(rng, s["n"], s["d"])], _pca_hand))

wq, Aq = M("w", d, 1), M("A", d, d)


def _rayleigh_hand(w_, A_):
    Aw = A_ @ w_
    num, den = (w_ * Aw).sum(), (w_ * w_).sum()
    return num / den, ((Aw + A_.T @ w_) * den - 2 * num * w_) / den**2


model("Rayleigh quotient", sp.Trace(wq.T * Aq * wq) / sp.Trace(wq.T * wq), [wq], [Aq], size={"d": 500})(
    (lambda rng, s: [normal(rng, s["d"], 1), normal(rng, s["d"], s["d"])], _rayleigh_hand))
