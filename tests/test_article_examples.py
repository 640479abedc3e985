"""The article's two TensorFlow examples, and what comes after them, trained with sg.fit.

1. Linear regression on x = [1, 2, 3, 4], y = [2, 4, 6, 8]: loss
   tf.reduce_mean(tf.square(pred - y)), GradientDescentOptimizer(0.01), 1000
   steps. The iterates are checked against exact rational arithmetic.
2. Logistic regression with sigmoid cross-entropy on the four XOR points: a
   linear model cannot fit XOR, and the loss never drops below ln 2.
3. One hidden layer is enough: an MLP learns XOR, and a two-moons task.
"""

import functools
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from helpers import numeric
from symgrad import GD, Adam, fit, losses, models

XS, YS = [1, 2, 3, 4], [2, 4, 6, 8]
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


@functools.lru_cache(maxsize=None)
def exact_gd(steps, lr=Fraction(1, 100)):
    """GD on mean((w x + b - y)**2) in exact rationals: the iterates and the loss before each step."""
    w, b, history = Fraction(0), Fraction(0), []  # (cached: the rationals grow to ~4000 digits)
    for _ in range(steps):
        r = [w * x + b - y for x, y in zip(XS, YS)]
        history.append(sum(ri * ri for ri in r) / 4)
        gw = 2 * sum(ri * x for ri, x in zip(r, XS)) / 4
        gb = 2 * sum(r) / 4
        w, b = w - lr * gw, b - lr * gb
    return w, b, history


def test_linear_regression_matches_exact_gradient_descent():
    m = models.linear_regression(scalar=True)
    w, b = m.params
    x, y = m.data
    assert sp.expand(m.loss - (w * x + b - y)**2) == 0      # the article's loss, per sample
    res = fit(m.loss, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=0.01), steps=1000)
    w_exact, b_exact, history = exact_gd(1000)
    assert abs(res.params[w] - float(w_exact)) < 1e-9
    assert abs(res.params[b] - float(b_exact)) < 1e-9
    assert len(res.history) == 1000
    assert max(abs(h - float(e)) for h, e in zip(res.history, history)) < 1e-9
    assert res.history[0] == 30.0


def test_closed_form_agrees_with_the_exact_iterates():
    # theta_k = theta* + (I - lr H)^k (theta_0 - theta*), H the Hessian of the mean loss
    H = sp.Matrix([[15, 5], [5, 2]])
    theta_star, theta_0 = sp.Matrix([2, 0]), sp.Matrix([0, 0])
    closed = theta_star + (sp.eye(2) - sp.Rational(1, 100) * H)**1000 * (theta_0 - theta_star)
    w_exact, b_exact, _ = exact_gd(1000)
    assert closed == sp.Matrix([sp.Rational(w_exact.numerator, w_exact.denominator),
                                sp.Rational(b_exact.numerator, b_exact.denominator)])
    assert sg.hessian(sp.Add(*[(sp.Symbol("w") * x + sp.Symbol("b") - y)**2 for x, y in zip(XS, YS)]) / 4,
                      [sp.Symbol("w"), sp.Symbol("b")]) == H


def test_matrix_form_of_the_article_model_takes_the_same_steps():
    m = models.linear_regression(features=1)
    W, b = m.params
    res = fit(m.loss, {W: [[0.0]], b: [[0.0]]},
              {m.inputs[0]: np.array(XS, float)[:, None], m.target: np.array(YS, float)[:, None]},
              GD(lr=0.01), steps=1000)
    w_exact, b_exact, _ = exact_gd(1000)
    assert abs(res.params[W][0, 0] - float(w_exact)) < 1e-9
    assert abs(res.params[b][0, 0] - float(b_exact)) < 1e-9


def test_too_large_a_learning_rate_diverges_with_the_exact_bound():
    w, b, x, y = sp.symbols("w b x y")
    with pytest.raises(sg.TrainingDiverged) as info:
        fit((w * x + b - y)**2, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=0.2), steps=1000)
    bound = (17 - math.sqrt(269)) / 5          # 2 / lambda_max of [[15, 5], [5, 2]]
    assert abs(info.value.max_stable_lr - bound) < 1e-12
    assert info.value.step is not None and 0 < info.value.step < 1000
    assert "stable only for lr < 0.119756" in str(info.value)
    assert "step %d" % info.value.step in str(info.value)
    # just under the bound, GD still converges
    res = fit((w * x + b - y)**2, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=0.119), steps=1000)
    assert res.final_loss < 1e-6


@pytest.mark.parametrize("lr", [0.1199, 0.12])
def test_a_learning_rate_just_past_the_bound_diverges_too(lr):
    # The loss grows only ~100-fold in 1000 steps here: no NaN, no runaway, still divergence.
    w, b, x, y = sp.symbols("w b x y")
    with pytest.raises(sg.TrainingDiverged) as info:
        fit((w * x + b - y)**2, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=lr), steps=1000)
    assert abs(info.value.max_stable_lr - (17 - math.sqrt(269)) / 5) < 1e-12
    assert "the loss grew from 30" in str(info.value)


def test_logistic_regression_cannot_learn_xor():
    m = models.logistic_regression()
    data = {m.inputs[0]: XOR_X, m.target: XOR_Y}
    for start in (m.init({"d": 2}, seed=0), {p: np.zeros(p.shape) for p in
                                              [sp.MatrixSymbol("W", 2, 1), sp.MatrixSymbol("b", 1, 1)]}):
        start = {str(p): v for p, v in start.items()}
        res = fit(m.loss, start, data, GD(lr=0.01), steps=1000)
        assert min(res.history) >= math.log(2) - 1e-12
        assert res.final_loss >= math.log(2) - 1e-12


def test_why_xor_is_out_of_reach_the_minimum_is_at_zero():
    # The mean loss is convex (softplus of an affine map), and its gradient at W = 0, b = 0 is
    # exactly zero, so that point is the global minimum: loss ln 2, prediction 1/2 everywhere.
    m = models.logistic_regression(features=2, scalar=True)
    w1, w2, b = m.params
    x1, x2, y = m.data
    total = sp.Add(*[m.loss.xreplace({x1: p[0], x2: p[1], y: t[0]})
                     for p, t in zip(XOR_X.astype(int).tolist(), XOR_Y.astype(int).tolist())]) / 4
    at_zero = {w1: 0, w2: 0, b: 0}
    assert [sp.simplify(g.xreplace(at_zero)) for g in sg.grad(total, [w1, w2, b])] == [0, 0, 0]
    assert sp.simplify(total.xreplace(at_zero) - sp.log(2)) == 0


def test_one_hidden_layer_learns_xor():
    m = models.mlp([2, 8, 1], activation="tanh", loss="bce")
    res = fit(m.loss, m.init(seed=0), {m.inputs[0]: XOR_X, m.target: XOR_Y}, Adam(lr=0.05),
              steps=1000)
    assert res.final_loss < 0.01
    assert np.array_equal(m.predict(res.params, XOR_X) > 0, XOR_Y > 0.5)


def two_moons(count, seed, noise=0.15):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, count)
    label = rng.integers(0, 2, count)
    X = np.where(label[:, None] == 0, np.c_[np.cos(t), np.sin(t)],
                 np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + noise * rng.standard_normal((count, 2)), label[:, None].astype(float)


def test_mlp_learns_two_moons_to_95_percent_test_accuracy():
    X, Y = two_moons(400, seed=7)
    X_train, Y_train, X_test, Y_test = X[:300], Y[:300], X[300:], Y[300:]
    m = models.mlp([2, 16, 1], activation="tanh", loss="bce")
    res = fit(m.loss, m.init(seed=1), {m.inputs[0]: X_train, m.target: Y_train}, Adam(lr=0.02),
              steps=1500)
    accuracy = np.mean((m.predict(res.params, X_test) > 0) == (Y_test > 0.5))
    assert accuracy > 0.95
    # the linear model, for contrast, cannot separate the moons as well
    lin = models.logistic_regression()
    base = fit(lin.loss, lin.init({"d": 2}), {lin.inputs[0]: X_train, lin.target: Y_train},
               Adam(lr=0.02), steps=1500)
    assert np.mean((lin.predict(base.params, X_test) > 0) == (Y_test > 0.5)) < accuracy


def test_the_article_losses_are_the_library_losses():
    p, y, z = sp.symbols("p y z")
    assert losses.mse(p, y) == (p - y)**2
    tf_form = sp.Max(z, 0) - z * y + sp.log(1 + sp.exp(-sp.Abs(z)))
    for value in (-3.5, -0.25, 0.75, 4.0):
        for label in (0, 1):
            point = {z: sp.Float(value, 30), y: label}
            assert float(numeric(losses.bce_with_logits(z, y), point, 30)) == \
                pytest.approx(float(numeric(tf_form, point, 30)), rel=1e-14)
