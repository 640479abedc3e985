"""sg.Newton and sg.LBFGS in sg.fit: one Newton step solves a least-squares problem, Newton
reaches a gradient norm of 1e-10 on an L2-regularized logistic regression within 10 steps,
L-BFGS agrees with scipy.optimize.minimize, and no accepted step ever raises the loss."""

import numpy as np
import pytest
import scipy.optimize
import sympy as sp

import symgrad as sg
from symgrad.train.optim import make_optimizer

W, B, x, y = sp.symbols("W b x y")
XS, YS = [1, 2, 3, 4], [2, 4, 6, 8]
ARTICLE = (W * x + B - y)**2

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, Y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
b = sp.Symbol("b")
z = X * w + b * sp.OneMatrix(n, 1)
LOGISTIC_L2 = (sg.msum(z.applyfunc(sg.softplus) - sp.HadamardProduct(Y, z)) / n
               + sp.Rational(1, 100) / 2 * (sp.Trace(w.T * w) + b**2))
LEAST_SQUARES = sg.msum(sp.HadamardPower(X * w - Y, 2)) / n


def _classification(seed=1, samples=400, features=12):
    rng = np.random.default_rng(seed)
    Xv = rng.normal(size=(samples, features))
    truth = rng.normal(size=(features, 1))
    labels = (rng.random((samples, 1)) < 1 / (1 + np.exp(-(Xv @ truth)))) * 1.0
    return Xv, labels


def _non_increasing(history):
    return all(later <= earlier for earlier, later in zip(history, history[1:]))


def test_newton_solves_the_articles_linear_regression_in_one_step_gd_misses_after_1000():
    newton = sg.fit(ARTICLE, {W: 0.0, B: 0.0}, {x: XS, y: YS}, sg.Newton(), steps=1)
    assert abs(newton.params[W] - 2) <= 1e-12 and abs(newton.params[B]) <= 1e-12
    assert newton.final_loss <= 1e-24 and newton.history == [30.0]
    gd = sg.fit(ARTICLE, {W: 0.0, B: 0.0}, {x: XS, y: YS}, sg.GD(lr=0.01), steps=1000)
    assert abs(gd.params[W] - 2) > 5e-3 and gd.final_loss > 1e-4


def test_newton_reaches_gradient_norm_1e_10_on_l2_logistic_regression_within_10_steps():
    Xv, labels = _classification()
    f2 = sg.value_grad_hessian(LOGISTIC_L2, [w, b], [X, Y])
    res = sg.fit(f2, {w: np.zeros((12, 1)), b: 0.0}, {X: Xv, Y: labels}, sg.Newton(), steps=10)
    _, (gw, gb), H = f2(res.params[w], res.params[b], Xv, labels)
    assert np.sqrt(np.sum(gw**2) + gb**2) <= 1e-10
    assert _non_increasing(res.history) and res.final_loss <= res.history[-1]
    assert np.all(np.linalg.eigvalsh(H) > 0)                    # a strict minimum
    early = sg.fit(f2, {w: np.zeros((12, 1)), b: 0.0}, {X: Xv, Y: labels},
                   sg.Newton(tol=1e-10), steps=50)
    assert early.converged and len(early.history) <= 10


def test_lbfgs_matches_scipy_minimize_on_least_squares():
    rng = np.random.default_rng(3)
    Xv = rng.normal(size=(200, 8))
    target = Xv @ rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(200, 1))
    res = sg.fit(LEAST_SQUARES, {w: np.zeros((8, 1))}, {X: Xv, Y: target}, sg.LBFGS(memory=5),
                 steps=200)
    f = sg.value_and_grad(LEAST_SQUARES, [w], [X, Y])

    def fun(v):
        value, (g,) = f(v.reshape(8, 1), Xv, target)
        return float(value), g.ravel()
    reference = scipy.optimize.minimize(fun, np.zeros(8), jac=True, method="L-BFGS-B",
                                        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000})
    assert reference.success
    np.testing.assert_allclose(res.params[w].ravel(), reference.x, rtol=1e-7, atol=1e-9)
    assert res.final_loss <= reference.fun * (1 + 1e-12)
    exact = np.linalg.lstsq(Xv, target, rcond=None)[0]
    np.testing.assert_allclose(res.params[w], exact, rtol=1e-9, atol=1e-11)
    assert res.converged and _non_increasing(res.history)


@pytest.mark.parametrize("optimizer", [sg.Newton(), sg.LBFGS()], ids=["newton", "lbfgs"])
def test_rosenbrock_from_the_classic_start_never_raises_the_loss(optimizer):
    a, c = sp.symbols("a c")
    rosenbrock = (1 - a)**2 + 100 * (c - a**2)**2      # indefinite Hessian on the way
    res = sg.fit(rosenbrock, {a: -1.2, c: 1.0}, optimizer=optimizer, steps=200)
    assert _non_increasing(res.history)
    assert abs(res.params[a] - 1) < 1e-8 and abs(res.params[c] - 1) < 1e-8


def test_newton_backtracks_out_of_the_domain_of_the_loss():
    u = sp.Symbol("u")
    res = sg.fit(u - sp.log(u), {u: 10.0}, optimizer=sg.Newton(), steps=30)  # first step: u < 0
    assert _non_increasing(res.history) and abs(res.params[u] - 1) < 1e-12


def test_newton_on_a_non_convex_start_takes_a_shifted_step_downhill():
    u = sp.Symbol("u")
    res = sg.fit(u**4 - 2 * u**2, {u: 0.1}, optimizer=sg.Newton(), steps=40)  # H(0.1) < 0
    assert res.history[1] < res.history[0] and abs(abs(res.params[u]) - 1) < 1e-10


def test_a_hessian_function_and_its_gradient_are_accepted_a_plain_gradient_function_is_not():
    f2 = sg.value_grad_hessian(ARTICLE, [W, B], [x, y])
    for loss in (f2, f2.gradient):
        res = sg.fit(loss, {W: 0.0, B: 0.0}, {x: XS, y: YS}, sg.Newton(), steps=1)
        assert abs(res.params[W] - 2) <= 1e-12
    f = sg.value_and_grad(ARTICLE, [W, B], [x, y])
    with pytest.raises(sg.ArgumentError, match="Newton needs the Hessian"):
        sg.fit(f, {W: 0.0, B: 0.0}, {x: XS, y: YS}, sg.Newton())
    res = sg.fit(f, {W: 0.0, B: 0.0}, {x: XS, y: YS}, sg.LBFGS(), steps=30)
    assert abs(res.params[W] - 2) <= 1e-9


def test_a_non_finite_start_is_reported_not_searched():
    u = sp.Symbol("u")
    with pytest.raises(sg.TrainingDiverged, match="at the starting parameters"):
        sg.fit(sp.log(u), {u: -1.0}, optimizer=sg.Newton(), steps=3)


def test_validation_history_and_to_dict_with_newton():
    res = sg.fit(ARTICLE, {W: 0.0, B: 0.0}, {x: XS, y: YS}, sg.Newton(), steps=3,
                 validation={x: [5, 6], y: [10, 12]})
    assert len(res.val_history) == len(res.history) and res.final_val_loss < 1e-20
    assert res.to_dict()["converged"] in (True, False)


@pytest.mark.parametrize("make, message", [
    (lambda: sg.Newton(damping=-1), "damping"),
    (lambda: sg.Newton(tol=float("nan")), "tol"),
    (lambda: sg.LBFGS(memory=0), "memory"),
    (lambda: sg.LBFGS(memory=2.5), "memory"),
    (lambda: make_optimizer("newton", lr=0.1), "lr is not one of them"),
])
def test_bad_hyperparameters_are_argument_errors(make, message):
    with pytest.raises(sg.ArgumentError, match=message):
        make()


def test_make_optimizer_knows_the_line_search_optimizers():
    assert make_optimizer("newton", damping=1e-3).damping == 1e-3
    assert make_optimizer("LBFGS", memory=4).memory == 4


def test_newton_on_softmax_regression_with_a_matrix_parameter():
    """The Kronecker-form Hessian (row-major vec(W)) drives Newton: L2 softmax regression
    reaches a gradient of 1e-12 within 6 steps."""
    n_, d_, k_ = sp.symbols("n d k", integer=True, positive=True)
    Xs, Ys, Ws = sp.MatrixSymbol("X", n_, d_), sp.MatrixSymbol("Y", n_, k_), sp.MatrixSymbol("W", d_, k_)
    L = sg.losses.softmax_cross_entropy(Xs * Ws, Ys) + sp.Rational(1, 20) * sg.msum(sp.HadamardPower(Ws, 2))
    rng = np.random.default_rng(0)
    Xv, Yv = rng.standard_normal((200, 5)), np.eye(3)[rng.integers(0, 3, 200)]
    res = sg.fit(L, {Ws: np.zeros((5, 3))}, {Xs: Xv, Ys: Yv}, sg.Newton(), steps=6)
    _, (g,) = sg.value_and_grad(L, [Ws], [Xs, Ys])(res.params[Ws], Xv, Yv)
    assert np.abs(g).max() <= 1e-12
    assert all(b <= a for a, b in zip(res.history, res.history[1:]))
