"""Each index model of tests/test_index.py that has a matrix form, written again with
MatrixSymbols: at the same arrays, sg.value_and_grad of the two forms gives the same loss
and the same gradients (to rounding: the two codes sum in different orders)."""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from test_index import MODELS, _arrays, b, lam, b2, x, y, w, W, W1, W2, b1, U, V, M, A, Y, Z, cvec

n, d, K, C, H, B, T = sp.symbols("n d K C H B T", integer=True, positive=True)
Xm, Wm, Ym = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("W", d, C), sp.MatrixSymbol("Y", n, C)
wm, ym = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
ones = sp.OneMatrix(n, 1)
col = lambda a: np.asarray(a, dtype=float).reshape(-1, 1)      # noqa: E731
same = lambda a: np.asarray(a, dtype=float)                      # noqa: E731
scalar = lambda a: float(a)                                      # noqa: E731


def _linear():
    return Xm * wm + ones * b


def _mlp():
    W1m, b1m = sp.MatrixSymbol("W1", d, H), sp.MatrixSymbol("b1", 1, H)
    W2m = sp.MatrixSymbol("W2", H, 1)
    hidden = (Xm * W1m + ones * b1m).applyfunc(sp.tanh)
    r = hidden * W2m + ones * b2 - ym
    return sg.msum(r.applyfunc(lambda e: e**2)) / n, [W1m, b1m, W2m, b2], [Xm, ym], \
        [same, lambda a: a.reshape(1, -1), col, scalar], [same, col]


def _factorization():
    Um, Vm = sp.MatrixSymbol("U", n, K), sp.MatrixSymbol("V", d, K)
    Mm, Am = sp.MatrixSymbol("M", n, d), sp.MatrixSymbol("A", n, d)
    r = Um * Vm.T - Am
    return sg.msum(sp.hadamard_product(Mm, r, r)), [Um, Vm], [Mm, Am], [same, same], [same, same]


def _bilinear():
    Xb, Zb = sp.MatrixSymbol("X", B, d), sp.MatrixSymbol("Z", B, K)
    Wb, yb = sp.MatrixSymbol("W", d, K), sp.MatrixSymbol("y", B, 1)
    r = sp.hadamard_product(Xb * Wb, Zb) * sp.OneMatrix(K, 1) - yb
    return sg.msum(r.applyfunc(lambda e: e**2)), [Wb], [Xb, Zb, yb], [same], [same, same, col]


def _attention():
    E, Qd = sp.symbols("E Q", integer=True, positive=True)
    Xa, Ya = sp.MatrixSymbol("x", T, Qd), sp.MatrixSymbol("Y", T, E)
    Wq, Wk, Wv = (sp.MatrixSymbol(name, Qd, E) for name in ("Wq", "Wk", "Wv"))
    out = sg.softmax(Xa * Wq * (Xa * Wk).T / 2) * (Xa * Wv)
    return sg.msum((out - Ya).applyfunc(lambda e: e**2)), [Wq, Wk, Wv], [Xa, Ya], \
        [same] * 3, [same, same]


# name: () -> (matrix loss, wrt, args, converters of wrt arrays, converters of args arrays)
MATRIX_FORMS = {
    "linear regression (MSE)": lambda: (
        sg.msum((_linear() - ym).applyfunc(lambda e: e**2)) / n, [wm, b], [Xm, ym],
        [col, scalar], [same, col]),
    "ridge": lambda: (
        sg.msum((_linear() - ym).applyfunc(lambda e: e**2)) / n + lam * sp.Trace(wm.T * wm),
        [wm, b], [Xm, ym, lam], [col, scalar], [same, col, scalar]),
    "logistic regression": lambda: (
        sg.msum(_linear().applyfunc(sg.softplus) - sp.hadamard_product(ym, _linear())) / n,
        [wm, b], [Xm, ym], [col, scalar], [same, col]),
    "Poisson regression": lambda: (
        sg.msum(_linear().applyfunc(sp.exp) - sp.hadamard_product(ym, _linear())),
        [wm, b], [Xm, ym], [col, scalar], [same, col]),
    "softmax regression": lambda: (
        (sg.msum(sg.logsumexp(Xm * Wm, axis=1)) - sp.Trace(Ym.T * Xm * Wm)) / n,
        [Wm], [Xm, Ym], [same], [same, same]),
    "2-layer MLP": _mlp,
    "matrix factorization with a mask": _factorization,
    "quadratic form": lambda: (
        sp.Trace(wm.T * sp.MatrixSymbol("A", d, d) * wm) / 2
        - sp.Trace(sp.MatrixSymbol("c", d, 1).T * wm),
        [wm], [sp.MatrixSymbol("A", d, d), sp.MatrixSymbol("c", d, 1)], [col], [same, col]),
    "batched bilinear form": _bilinear,
    "log-cosh": lambda: (
        sg.msum((_linear() - ym).applyfunc(lambda e: sp.log(sp.cosh(e)))),
        [wm, b], [Xm, ym], [col, scalar], [same, col]),
    "logistic, naive sigmoid": lambda: (
        -sg.msum(sp.hadamard_product(ym, _linear().applyfunc(lambda e: sp.log(1 / (1 + sp.exp(-e)))))
                 + sp.hadamard_product(ones - ym, _linear().applyfunc(
                     lambda e: sp.log(1 - 1 / (1 + sp.exp(-e)))))) / n,
        [wm, b], [Xm, ym], [col, scalar], [same, col]),
    "Gaussian NLL, learned log-variance": lambda: (
        sg.msum((ym - _linear()).applyfunc(lambda e: e**2 * sp.exp(-lam) / 2 + lam / 2)),
        [wm, lam], [b, Xm, ym], [col, scalar], [scalar, same, col]),
    "lasso (smooth part away from 0)": lambda: (
        sg.msum((_linear() - ym).applyfunc(lambda e: e**2)) / n + lam * sg.msum(wm.applyfunc(sp.Abs)),
        [wm], [b, Xm, ym, lam], [col], [scalar, same, col, scalar]),
    "single-head attention": _attention,
    "elastic net on a matrix": lambda: (
        sg.msum(sp.MatrixSymbol("W", d, K).applyfunc(lambda e: e**2 + sp.sqrt(e**2 + 1))),
        [sp.MatrixSymbol("W", d, K)], [], [same], []),
}


def test_at_least_fifteen_models_have_a_matrix_form():
    assert len(MATRIX_FORMS) >= 15 and set(MATRIX_FORMS) <= set(MODELS)


@pytest.mark.parametrize("name", sorted(MATRIX_FORMS))
def test_index_form_equals_matrix_form(name):
    expr, wrt, args, sizes = MODELS[name]
    values = _arrays(name, expr, wrt, args, sizes)
    f = sg.value_and_grad(expr, wrt=wrt, args=args)
    value, grads = f(*[values[q] for q in wrt + args])
    L, mwrt, margs, to_wrt, to_args = MATRIX_FORMS[name]()
    g = sg.value_and_grad(L, wrt=mwrt, args=margs)
    inputs = [c(values[q]) for c, q in zip(to_wrt, wrt)] + [c(values[q]) for c, q in zip(to_args, args)]
    mvalue, mgrads = g(*inputs)
    assert abs(value - mvalue) <= 1e-12 * (1 + abs(mvalue)), (name, value, mvalue)
    for q, gi, gm in zip(wrt, grads, mgrads):
        gm = np.asarray(gm, dtype=float).reshape(np.shape(gi))
        assert np.max(np.abs(gi - gm), initial=0) <= 1e-12 * (1 + np.max(np.abs(gm))), (name, q)
