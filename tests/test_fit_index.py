"""``fit`` on losses written in index notation: evaluated as written, on the full batch."""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad import GD, LBFGS, Adam, Newton, fit
from symgrad.errors import ArgumentError

w, x, y = (sp.IndexedBase(s) for s in "wxy")
b = sp.Symbol("b")
i, k = sp.symbols("i k", integer=True)
N, D = sp.symbols("N D", integer=True, positive=True)
INDEX_LOSS = sp.Sum((sp.Sum(w[i] * x[k, i], (i, 0, D - 1)) + b - y[k]) ** 2, (k, 0, N - 1)) / N

n = sp.Symbol("n", integer=True, positive=True)
W, X, Y = sp.MatrixSymbol("W", 3, 1), sp.MatrixSymbol("X", n, 3), sp.MatrixSymbol("Y", n, 1)
R = X * W + b * sp.OneMatrix(n, 1) - Y
MATRIX_LOSS = sg.mean(sp.HadamardProduct(R, R))

RNG = np.random.default_rng(3)
XS = RNG.normal(size=(30, 3))
YS = XS @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.05 * RNG.normal(size=30)


@pytest.mark.parametrize("optimizer", [GD(lr=0.05), Adam(lr=0.05)])
def test_index_linear_regression_follows_the_matrix_form_step_by_step(optimizer):
    by_index = fit(INDEX_LOSS, {w: np.zeros(3), b: 0.0}, {x: XS, y: YS}, optimizer, steps=200)
    by_matrix = fit(MATRIX_LOSS, {W: np.zeros((3, 1)), b: 0.0}, {X: XS, Y: YS[:, None]},
                    optimizer, steps=200)
    np.testing.assert_allclose(by_index.history, by_matrix.history, rtol=1e-10)
    np.testing.assert_allclose(by_index.params[w], by_matrix.params[W][:, 0], rtol=1e-9)
    assert by_index.params[w].shape == (3,)
    assert by_index.params[b] == pytest.approx(by_matrix.params[b], rel=1e-9)
    assert by_index.final_loss == pytest.approx(by_matrix.final_loss, rel=1e-9)


def test_index_fit_reaches_least_squares_and_takes_names_and_compiled_functions():
    A = np.hstack([XS, np.ones((30, 1))])
    exact = np.linalg.lstsq(A, YS, rcond=None)[0]
    res = fit(INDEX_LOSS, {"w": np.zeros(3), "b": 0.0}, {"x": XS, "y": YS}, LBFGS(), steps=100)
    np.testing.assert_allclose(res.params[w], exact[:3], rtol=1e-6)
    assert res.params[b] == pytest.approx(exact[3], rel=1e-6)
    f = sg.value_and_grad(INDEX_LOSS, wrt=[w, b], args=[x, y])
    again = fit(f, {b: 0.0, w: np.zeros(3)}, {y: YS, x: XS}, GD(lr=0.05), steps=50)
    direct = fit(INDEX_LOSS, {w: np.zeros(3), b: 0.0}, {x: XS, y: YS}, GD(lr=0.05), steps=50)
    np.testing.assert_allclose(again.history, direct.history, rtol=1e-12)


def test_index_loss_has_no_per_sample_mean():
    total = sp.Sum((sp.Sum(w[i] * x[k, i], (i, 0, D - 1)) - y[k]) ** 2, (k, 0, N - 1))
    res = fit(total, {w: np.zeros(3)}, {x: XS, y: YS}, GD(lr=1e-3), steps=1)
    assert res.history[0] == pytest.approx(float(np.sum(YS ** 2)), rel=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: fit(INDEX_LOSS, {w: np.zeros(3), b: 0.0}, {x: XS, y: YS}, sg.SGD(lr=0.1, batch_size=5)),
     "index notation is evaluated as written on all its data"),
    (lambda: fit(INDEX_LOSS, {w: np.zeros(3), b: 0.0}, {x: XS, y: YS}, validation=0.2),
     "index notation is evaluated as written on all its data"),
    (lambda: fit(INDEX_LOSS, {w: np.zeros(3), b: 0.0}, {x: XS, y: YS}, Newton()),
     "Newton needs the Hessian, which symgrad does not derive for a loss in index notation"),
    (lambda: fit(INDEX_LOSS, {w: np.zeros(3), b: 0.0, x: XS}, {x: XS, y: YS}),
     "x is in both params and data"),
    (lambda: fit(INDEX_LOSS, {w: np.zeros(3), b: 0.0}, {x: XS}),
     "y occurs in the expression but is in neither wrt nor args"),
    (lambda: fit(sg.value_and_grad(INDEX_LOSS, wrt=[w, b], args=[x, y]), {w: np.zeros(3)},
                 {x: XS, y: YS, b: 0.0}), "compiled for params"),
])
def test_index_fit_refuses_what_it_cannot_do(call, message):
    with pytest.raises(ArgumentError, match=message):
        call()
