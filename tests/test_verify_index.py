"""Index notation in verify and check_grad, and expressions verify cannot sample.

verify samples sizes for the n, d of the Sums, integers for free indices within the range
they index, and arrays long enough for every read; check_grad accepts IndexedBase wrt and
args and compares the symbolic gradient (free indices at each entry, Sums run at the
sampled sizes), the generated code and differences.
"""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.ops import replaced
from symgrad.ops.nodes import Sigmoid, Softplus
from test_index import MODELS

i, j, k, n, d = sp.symbols("i j k n d", integer=True)
x, y, w = sp.IndexedBase("x"), sp.IndexedBase("y"), sp.IndexedBase("w")
b, lam = sp.symbols("b lam")
lin = sp.Sum(w[k] * x[i, k], (k, 0, d - 1))
ridge = sp.Sum((lin + b - y[i])**2, (i, 0, n - 1)) / n + lam * sp.Sum(w[k]**2, (k, 0, d - 1))
hand = 2 * sp.Sum(x[i, j] * (lin + b - y[i]), (i, 0, n - 1)) / n + 2 * lam * w[j]


def test_verify_accepts_a_gradient_in_free_indices():
    v = sg.verify(sg.grad(ridge, w[j]), hand, budget=5)
    assert v.status in ("proven", "probable") and v.points >= 20, str(v)


def test_verify_refutes_a_wrong_index_gradient_with_arrays():
    wrong = 2 * sp.Sum(x[i, j] * (lin + b - y[i]), (i, 0, n - 1)) / n + lam * w[j]
    v = sg.verify(sg.grad(ridge, w[j]), wrong, budget=1)
    assert v.status == "refuted", str(v)
    point = v.counterexample
    assert {n, d, j, b, lam, x, y, w} <= set(point)
    assert isinstance(point[n], int) and isinstance(point[j], int) and 0 <= point[j] < point[d]
    assert tuple(point[x].shape) == (point[n], point[d]) and tuple(point[w].shape) == (point[d],)
    # the sides differ by lam w[j] there, exactly
    assert v.lhs_value - v.rhs_value == point[lam] * point[w][point[j]]


def test_sizes_beyond_four_are_reached():
    v = sg.verify(sp.Sum(1, (i, 0, n - 1)), 4, "<=", budget=1)
    assert v.status == "refuted" and v.counterexample[n] >= 5


@pytest.mark.parametrize("expr, what", [
    (x + 1, "IndexedBase x without indices"),
    (sp.Integral(sp.Symbol("t"), (sp.Symbol("t"), 0, sp.Symbol("u"))), "Integral"),
])
def test_expressions_verify_cannot_sample_are_named(expr, what):
    with pytest.raises(sg.UnsupportedExpression, match=what):
        sg.verify(expr, 1)


# --- check_grad with IndexedBases ----------------------------------------------------------------

FAST = ["ridge", "logistic regression", "softmax regression", "1-D convolution (valid)",
        "matrix factorization with a mask", "hinge (SVM)", "KL to a softmax", "polynomial features"]


@pytest.mark.parametrize("name", FAST)
def test_check_grad_on_index_models(name):
    expr, wrt, args, _ = MODELS[name]
    report = sg.check_grad(expr, wrt, args, points=2)
    assert report.ok, str(report)
    assert all("symbolic~generated" in r.compared for r in report.rows)


def test_check_grad_index_catches_a_wrong_rule():
    expr, wrt, args, _ = MODELS["logistic regression"]
    with replaced(Softplus, rule=lambda g, ans, z: (g * Sigmoid(-z),)):
        report = sg.check_grad(expr, wrt, args, points=1)
    assert not report.ok, str(report)


def test_check_grad_index_takes_given_arrays():
    expr, wrt, args, _ = MODELS["ridge"]
    values = {MODELS["ridge"][2][0]: np.arange(8.0).reshape(4, 2) / 8,
              MODELS["ridge"][2][1]: np.array([1.0, -0.5, 0.25, 2.0])}
    report = sg.check_grad(expr, wrt, args, values=values, points=1)
    assert report.ok, str(report)
    with pytest.raises(sg.ArgumentError, match="neither wrt nor args"):
        sg.check_grad(expr, wrt, args, values={sp.IndexedBase("zz"): np.ones(2)})
