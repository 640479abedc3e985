"""Matrix models written in SymPy's own vocabulary, compiled by value_and_grad.

Each model is stated once with MatrixSymbols of symbolic dimensions (n samples, d
features, h hidden units, k classes); the MLPs' layers come from ``sg.models.mlp``
(``helpers.mlp_model``), their losses are written here. ``value_and_grad`` reads the
dimensions from the arrays it is given; its loss and every gradient must equal a
hand-written NumPy implementation (rtol 1e-10), and ``check_grad`` must agree at small
sizes.
"""

import functools

import numpy as np
import pytest
import sympy as sp
from scipy.special import expit
from sympy.matrices.expressions.matexpr import MatrixElement

import symgrad as sg
from helpers import mlp_model, np_mlp, np_softmax_ce

n, d, h, k = sp.symbols("n d h k", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
Y = sp.MatrixSymbol("Y", n, k)          # one-hot labels
W1, b1 = sp.MatrixSymbol("W1", d, h), sp.MatrixSymbol("b1", 1, h)
W2, b2 = sp.MatrixSymbol("W2", h, k), sp.MatrixSymbol("b2", 1, k)
W, b = sp.MatrixSymbol("W", d, k), sp.MatrixSymbol("b", 1, k)
w, y = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
c = sp.Symbol("c")                      # a scalar bias next to matrices
lam = sp.Symbol("lam", positive=True)

ones = sp.OneMatrix
RTOL = 1e-10


def dense(x, weights, bias):
    """x W + 1 b: an affine layer, the bias broadcast by a OneMatrix product."""
    return x * weights + ones(x.shape[0], 1) * bias


def softmax_cross_entropy(z, labels):
    """Mean softmax cross-entropy with symgrad's row-wise logsumexp."""
    return (sg.msum(sg.logsumexp(z, axis=1)) - sp.Trace(labels.T * z)) / z.shape[0]


def naive_softmax_cross_entropy(z, labels):
    """The same loss with only exp/log applyfunc and OneMatrix row sums (a 1 x 1 product)."""
    rows, cols = z.shape
    row_sums = z.applyfunc(sp.exp) * ones(cols, 1)
    return (sp.Trace(ones(1, rows) * row_sums.applyfunc(sp.log)) - sp.Trace(labels.T * z)) / rows


TANH, RELU = mlp_model("tanh"), mlp_model("relu")
Z_TANH, Z_RELU = TANH.output, RELU.output
Z_LOGISTIC = X * w + c * ones(n, 1)


# --- hand-written NumPy references (the MLP's is helpers.np_mlp) ---------------------------


def np_softmax_regression(W_, b_, X_, Y_):
    loss, dz = np_softmax_ce(X_ @ W_ + b_, Y_)
    return loss, (X_.T @ dz, dz.sum(0, keepdims=True))


def np_logistic(w_, c_, X_, y_):
    z = X_ @ w_ + c_
    loss = np.sum(np.logaddexp(0, z) - y_ * z)
    r = expit(z) - y_
    return loss, (X_.T @ r, r.sum())


def np_ridge(W_, X_, Y_, lam_):
    r = X_ @ W_ - Y_
    rows = X_.shape[0]
    return np.sum(r * r) / rows + lam_ * np.sum(W_ * W_), (2 * X_.T @ r / rows + 2 * lam_ * W_,)


# --- the model table ------------------------------------------------------------------------

def _data(rng, n_, d_, k_):
    return rng.normal(size=(n_, d_)), np.eye(k_)[rng.integers(k_, size=n_)]


MODELS = {
    "tanh MLP, logsumexp": (softmax_cross_entropy(Z_TANH, Y), [W1, b1, W2, b2], [X, Y],
                            np_mlp("tanh")),
    "tanh MLP, naive exp/log": (naive_softmax_cross_entropy(Z_TANH, Y), [W1, b1, W2, b2], [X, Y],
                                np_mlp("tanh")),
    "relu MLP": (softmax_cross_entropy(Z_RELU, Y), [W1, b1, W2, b2], [X, Y], np_mlp("relu")),
    "softmax regression": (softmax_cross_entropy(dense(X, W, b), Y), [W, b], [X, Y],
                           np_softmax_regression),
    "logistic regression": (
        sp.Trace(ones(1, n) * (sg.softplus(Z_LOGISTIC) - sp.HadamardProduct(y, Z_LOGISTIC))),
        [w, c], [X, y], np_logistic),
    "ridge regression": (sp.Trace((X * W - Y).T * (X * W - Y)) / n + lam * sp.Trace(W.T * W),
                         [W], [X, Y, lam], np_ridge),
}


def _arrays(name, rng, n_=7, d_=5, h_=4, k_=3):
    """Parameter and data arrays for a model, in the order of wrt then args."""
    X_, Y_ = _data(rng, n_, d_, k_)
    if "MLP" in name:
        params = [rng.normal(size=(d_, h_)), rng.normal(size=(1, h_)),
                  rng.normal(size=(h_, k_)), rng.normal(size=(1, k_))]
        return params, [X_, Y_]
    if name == "softmax regression":
        return [rng.normal(size=(d_, k_)), rng.normal(size=(1, k_))], [X_, Y_]
    if name == "logistic regression":
        return [rng.normal(size=(d_, 1)), 0.3], [X_, Y_[:, :1]]
    return [rng.normal(size=(d_, k_))], [X_, Y_, 0.1]


@functools.lru_cache(maxsize=None)
def compiled(name):
    """A model's loss compiled once by value_and_grad, shared by the tests that call it."""
    loss, wrt, args, _ = MODELS[name]
    return sg.value_and_grad(loss, wrt=wrt, args=args)


def test_the_mlps_use_this_files_symbols():
    assert TANH.params == RELU.params == (W1, b1, W2, b2) and TANH.data == (X, Y)


@pytest.mark.parametrize("name", MODELS)
def test_matches_handwritten_numpy(name):
    _, wrt, _, reference = MODELS[name]
    f = compiled(name)
    rng = np.random.default_rng(3)
    for sizes in ((7, 5, 4, 3), (11, 2, 6, 4)):       # one compiled function, any sizes
        params, data = _arrays(name, rng, *sizes)
        value, grads = f(*params, *data)
        ref_value, ref_grads = reference(*params, *data)
        assert np.ndim(value) == 0
        np.testing.assert_allclose(value, ref_value, rtol=RTOL)
        assert len(grads) == len(wrt)
        for p, g, r in zip(params, grads, ref_grads):
            assert np.shape(g) == np.shape(p)
            np.testing.assert_allclose(g, r, rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize("name", MODELS)
def test_check_grad_small(name):
    loss, wrt, args, _ = MODELS[name]
    rng = np.random.default_rng(5)
    X_, Y_ = _data(rng, 2, 2, 2)   # n = d = k = 2; h and the parameters are drawn by check_grad
    values = {X: X_, Y: Y_, y: Y_[:, :1], lam: 0.25}
    values = {s: v for s, v in values.items() if s in args}
    report = sg.check_grad(loss, wrt, args, values=values, points=1)
    assert report.ok, str(report)


def test_dimensions_are_read_from_the_arrays():
    f = compiled("tanh MLP, logsumexp")
    rng = np.random.default_rng(0)
    params, data = _arrays("tanh MLP, logsumexp", rng, 9, 3, 2, 5)
    _, grads = f(*params, *data)
    assert [g.shape for g in grads] == [(3, 2), (1, 2), (2, 5), (1, 5)]


def test_naive_and_logsumexp_forms_agree_far_from_zero():
    """The naive exp/log form is stabilized too: logits of 800 do not overflow."""
    naive = compiled("tanh MLP, naive exp/log")
    rng = np.random.default_rng(1)
    params, data = _arrays("tanh MLP, naive exp/log", rng)
    params[3] = params[3] + np.array([[800.0, 0.0, -800.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grads = naive(*params, *data)
    ref_value, ref_grads = np_mlp("tanh")(*params, *data)
    np.testing.assert_allclose(value, ref_value, rtol=RTOL)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=1e-14)


def test_mlp_gradient_is_one_matrix_expression_per_parameter():
    """grad keeps the MLP at the matrix level: one MatrixExpr of each parameter's shape."""
    loss = MODELS["tanh MLP, logsumexp"][0]
    grads = sg.grad(loss, [W1, b1, W2, b2])
    for g, p in zip(grads, [W1, b1, W2, b2]):
        assert g.is_Matrix and g.shape == p.shape
        assert not g.atoms(MatrixElement), "the gradient was expanded into entries"


# --- numeric dimensions --------------------------------------------------------------------

def _numeric_losses(N, D, K):
    Xn, Yn, Wn = sp.MatrixSymbol("X", N, D), sp.MatrixSymbol("Y", N, K), sp.MatrixSymbol("W", D, K)
    Z = Xn * Wn
    return Xn, Yn, Wn, {
        "softmax cross-entropy": -sp.Trace(Yn.T * sg.softmax(Z).applyfunc(sp.log)) / N,
        "logsumexp form": (sg.msum(sg.logsumexp(Z, axis=1)) - sp.Trace(Yn.T * Z)) / N,
        "column sums": sp.Trace(sp.OneMatrix(1, K) * sg.msum(Z.applyfunc(sp.tanh), axis=0).T),
    }


@pytest.mark.parametrize("name", ["softmax cross-entropy", "logsumexp form", "column sums"])
def test_row_nodes_with_numeric_dimensions_stay_nodes(name):
    # SymPy calls doit() on every product it builds; symgrad's nodes must not turn
    # into n x k explicit matrices there (they were refused, and grew with n).
    Xn, Yn, Wn, losses = _numeric_losses(3, 2, 2)
    L = losses[name]
    assert not L.atoms(sp.ImmutableDenseMatrix)
    assert sg.check_grad(L, [Wn], [Xn, Yn]).ok
    sizes = [len(str(sg.grad(_numeric_losses(N, 3, 4)[3][name], _numeric_losses(N, 3, 4)[2])))
             for N in (4, 256)]
    assert sizes[1] <= sizes[0] + 10           # only the printed 1/n differs (was 36788 vs 2227)
