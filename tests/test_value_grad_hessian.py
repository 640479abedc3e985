"""sg.value_grad_hessian: the generated Hessian against the closed form, evaluated exactly.

For every model of test_second_order (least squares, logistic, Poisson, tanh features,
...), the Hessian the generated code returns at a random dyadic point must equal the
closed-form sg.hessian evaluated there at 40 digits, and its value and gradients must
be value_and_grad's. Then the layout (row-major, several parameters, rows and
columns), per-sample means, the stable rewrites, what is refused, and the consumers
(check_grad, verify) on the closed forms.
"""

import importlib.util
import random
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from test_second_order import (MATRIX_MODELS, MATRIX_SIZES, MODELS, SIZES, WRT, Y, _matrix_point,
                               _numeric, _point, lam)

n, d, m = sp.symbols("n d m", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
w = sp.MatrixSymbol("w", d, 1)
y = sp.MatrixSymbol("y", n, 1)
A = sp.MatrixSymbol("A", d, d)
c = sp.MatrixSymbol("c", d, 1)
v = sp.MatrixSymbol("v", 1, d)
b = sp.Symbol("b")


def _inputs(expr, p):
    others = sorted(expr.atoms(sp.MatrixSymbol) - {p}, key=str)
    scalars = sorted(expr.free_symbols - set(SIZES) - set(expr.atoms(sp.MatrixSymbol)), key=str)
    return others + scalars


def _array(value):
    if isinstance(value, sp.MatrixBase):
        return np.array(value.tolist(), dtype=float)
    return float(value)


# exact evaluation of the closed form takes seconds for the models with nested elementwise maps;
# those are compared with Richardson differences of the generated gradient only
SLOW_EXACT = {"logistic, naive sigmoid", "linear layer, output weights", "tanh features, squared",
              "log-cosh regression", "logistic, L2"}


def _compiled_at(name):
    expr, p = MODELS[name], WRT.get(name, w)
    args = _inputs(expr, p)
    f2 = sg.value_grad_hessian(expr, wrt=[p], args=args)
    values = _point(expr, random.Random("vgh " + name))
    arrays = [_array(values[p])] + [_array(values[s]) for s in args]
    return expr, p, args, f2, values, arrays


@pytest.mark.parametrize("name", sorted(set(MODELS) - SLOW_EXACT))
def test_generated_hessian_equals_the_closed_form_exactly_evaluated(name):
    expr, p, args, f2, values, arrays = _compiled_at(name)
    value, (g,), H = f2(*arrays)
    exact = np.array(_numeric(sg.hessian(expr, p), values).tolist(), dtype=float)
    assert H.shape == exact.shape == (SIZES[d], SIZES[d])
    np.testing.assert_allclose(H, exact, rtol=1e-11, atol=1e-13 * (1 + np.abs(exact).max()))
    value0, (g0,) = sg.value_and_grad(expr, wrt=[p], args=args)(*arrays)
    np.testing.assert_allclose(value, value0, rtol=1e-14)
    np.testing.assert_allclose(g, g0, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_generated_hessian_equals_differences_of_the_generated_gradient(name):
    expr, p, args, f2, values, arrays = _compiled_at(name)
    _, _, H = f2(*arrays)
    x0, shape = arrays[0], arrays[0].shape

    def gradient(x):
        return f2.gradient(x.reshape(shape), *arrays[1:])[1][0].ravel()

    def central(h):
        return np.array([(gradient(x0.ravel() + h * e) - gradient(x0.ravel() - h * e)) / (2 * h)
                         for e in np.eye(x0.size)]).T
    h = 2.0 ** -8
    coarse, fine = central(h), central(h / 2)
    richardson = (4 * fine - coarse) / 3
    error = np.abs(richardson - fine).max() + 1e-9 * (1 + np.abs(richardson).max())
    assert np.abs(H - richardson).max() <= 10 * error, (name, H, richardson)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-14)


def test_row_major_layout_over_a_column_and_a_scalar():
    L = sp.Trace(w.T * A * w) / 2 + b * sp.Trace(c.T * w) + b**3
    f2 = sg.value_grad_hessian(L, wrt=[w, b], args=[A, c])
    rng = np.random.default_rng(0)
    Av, cv, wv = rng.normal(size=(3, 3)), rng.normal(size=(3, 1)), rng.normal(size=(3, 1))
    _, _, H = f2(wv, 0.5, Av, cv)
    expected = np.block([[(Av + Av.T) / 2, cv], [cv.T, np.array([[3.0]])]])
    np.testing.assert_allclose(H, expected, rtol=1e-15, atol=1e-15)


def test_row_vector_parameter_and_a_one_dimensional_array():
    f2 = sg.value_grad_hessian((v * A * v.T)[0, 0] / 2 + sp.Trace(v * v.T)**2, wrt=[v], args=[A])
    rng = np.random.default_rng(1)
    Av, vv = rng.normal(size=(4, 4)), rng.normal(size=4)
    value, (g,), H = f2(vv, Av)
    assert g.shape == (4,)
    expected = (Av + Av.T) / 2 + 8 * np.outer(vv, vv) + 4 * (vv @ vv) * np.eye(4)
    np.testing.assert_allclose(H, expected, rtol=1e-13, atol=1e-13)


def test_per_sample_scalars_give_the_mean_hessian():
    w_, b_, x_, y_ = sp.symbols("w b x y")
    z = w_ * x_ + b_
    L = sg.softplus(z) - y_ * z + w_**2 * b_**2 / 10
    f2 = sg.value_grad_hessian(L, wrt=[w_, b_], args=[x_, y_])
    xs, ys = [0.5, -1.25, 2.0], [1.0, 0.0, 1.0]
    value, grads, H = f2(0.75, -0.5, xs, ys)
    exact = sg.hessian(L, [w_, b_])
    mean = sum((exact.xreplace({w_: sp.Rational(3, 4), b_: sp.Rational(-1, 2), x_: sp.nsimplify(xi),
                                y_: sp.nsimplify(yi)}) for xi, yi in zip(xs, ys)), sp.zeros(2, 2)) / 3
    np.testing.assert_allclose(H, np.array(mean.evalf(30).tolist(), dtype=float), rtol=1e-14)
    assert H.shape == (2, 2) and H[0, 1] == H[1, 0]
    value0, grads0 = sg.value_and_grad(L, wrt=[w_, b_], args=[x_, y_])(0.75, -0.5, xs, ys)
    np.testing.assert_allclose([value, *grads], [value0, *grads0], rtol=1e-15)


def test_hessian_is_finite_where_the_loss_as_written_overflows():
    naive = MODELS["logistic, naive sigmoid"]
    Xv = np.array([[1.0, 2.0, 0.0], [-3.0, 1.0, 0.0], [2.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    wv, yv = np.array([[300.0], [-100.0], [2.0]]), np.array([[1.0], [0.0], [1.0], [0.0]])
    _, _, H = sg.value_grad_hessian(naive, [w], [X, y])(wv, Xv, yv)
    e = np.exp(-np.abs(Xv @ wv))
    exact = Xv.T @ (e / (1 + e)**2 * Xv) / 4        # sigma(z) sigma(-z), written without overflow
    np.testing.assert_allclose(H, exact, rtol=1e-12, atol=1e-300)
    with np.errstate(all="ignore"):
        _, _, raw = sg.value_grad_hessian(naive, [w], [X, y], stable=False)(wv, Xv, yv)
    assert not np.all(np.isfinite(raw))             # what the rewrites are for


def test_value_grad_hessian_shares_the_forward_pass_with_the_gradient():
    L = MODELS["logistic"]
    source = sg.value_grad_hessian(L, [w], [X, y]).source
    body = source.split("def value_grad_hessian")[1]
    # z = X w once; sigma(z), shared by the gradient and the Hessian, and sigma(-z) once each
    assert body.count("X @ w") == 1 and body.count("special.expit(") == 2, body


@pytest.mark.parametrize("name", sorted(MATRIX_MODELS))
def test_matrix_parameters_kronecker_hessian_equals_differences(name):
    """Matrix parameters: H over row-major vec of each parameter in wrt order, computed by
    einsum over the Kronecker-form terms (no np.kron), equal to differences of the gradient."""
    expr, params = MATRIX_MODELS[name]
    args = sorted(expr.atoms(sp.MatrixSymbol) - set(params), key=str) + \
        sorted(expr.free_symbols - set(MATRIX_SIZES) - set(expr.atoms(sp.MatrixSymbol)), key=str)
    f2 = sg.value_grad_hessian(expr, wrt=params, args=args)
    assert "kron" not in f2.source
    values = _matrix_point(expr, params, random.Random("vgh " + name))
    arrays = [_array(values[s]) for s in params + args]
    value, grads, H = f2(*arrays)
    value0, grads0 = sg.value_and_grad(expr, wrt=params, args=args)(*arrays)
    np.testing.assert_allclose(value, value0, rtol=1e-14)
    for g, g0 in zip(grads, grads0):
        np.testing.assert_allclose(g, g0, rtol=1e-13, atol=1e-15)
    shapes = [a.shape for a in arrays[:len(params)]]
    x0 = np.concatenate([a.ravel() for a in arrays[:len(params)]])

    def gradient(x):
        parts = np.split(x, np.cumsum([np.prod(s) for s in shapes])[:-1])
        out = f2.gradient(*[q.reshape(s) for q, s in zip(parts, shapes)], *arrays[len(params):])[1]
        return np.concatenate([np.ravel(g) for g in out])

    def central(h):
        return np.array([(gradient(x0 + h * e) - gradient(x0 - h * e)) / (2 * h)
                         for e in np.eye(x0.size)]).T
    coarse, fine = central(2.0 ** -8), central(2.0 ** -9)
    richardson = (4 * fine - coarse) / 3
    error = np.abs(richardson - fine).max() + 1e-9 * (1 + np.abs(richardson).max())
    assert H.shape == (x0.size, x0.size)
    assert np.abs(H - richardson).max() <= 10 * error, (name, H, richardson)


def test_matrix_parameter_hessian_equals_the_kronecker_form_exactly_evaluated():
    expr, (W_,) = MATRIX_MODELS["softmax regression, L2"]
    args = [X, Y, lam]
    values = _matrix_point(expr, [W_], random.Random("exact"))
    _, _, H = sg.value_grad_hessian(expr, [W_], args)(*[_array(values[s]) for s in [W_] + args])
    import test_second_order as T
    saved, T.SIZES = T.SIZES, MATRIX_SIZES
    try:
        exact = np.array(T._numeric_kron(sg.hessian(expr, W_), values).tolist(), dtype=float)
    finally:
        T.SIZES = saved
    np.testing.assert_allclose(H, exact, rtol=1e-12, atol=1e-14)


def test_a_scalar_beside_a_matrix_parameter_is_refused_saying_what_works():
    W_ = sp.MatrixSymbol("W", 2, 3)
    Z = sp.MatrixSymbol("Z", 4, 2)
    with pytest.raises(sg.UnsupportedExpression, match=r"MatrixSymbol parameters only; b is a scalar"):
        sg.value_grad_hessian(sg.msum(sp.HadamardPower(Z * W_, 2)) + b**2, [W_, b], [Z])


def test_index_notation_is_refused_clearly():
    i = sp.Symbol("i", integer=True)
    xb, wb = sp.IndexedBase("x"), sp.IndexedBase("w")
    with pytest.raises(sg.UnsupportedExpression, match="index notation"):
        sg.value_grad_hessian(sp.Sum((wb[i] * xb[i])**2, (i, 0, n - 1)), [wb], [xb])


def test_check_grad_takes_the_hessian_function():
    f2 = sg.value_grad_hessian(MODELS["logistic"], [w], [X, y])
    assert sg.check_grad(f2, order=2).ok
    assert sg.check_grad(f2).ok


# --- verify on the closed forms: a hand-derived Hessian is checked like a gradient ------------

def test_verify_proves_the_least_squares_hessian_and_refutes_a_wrong_one():
    H = sg.hessian(MODELS["least squares"], w)
    assert sg.verify(2 * X.T * X / n, H).status == "proven"
    wrong = sg.verify(X.T * X / n, H)
    assert wrong.status == "refuted" and wrong.counterexample is not None
    assert sg.verify(H, sp.ZeroMatrix(d, d), relation=">=").status == "proven"


def test_verify_checks_a_hand_derived_logistic_hessian():
    H = sg.hessian(MODELS["logistic"], w)
    s = (X * w).applyfunc(sg.sigmoid)
    hand = X.T * sp.DiagMatrix(sp.HadamardProduct(s, sp.OneMatrix(n, 1) - s)) * X / n
    assert sg.verify(hand, H, budget=0).status == "probable"
    assert sg.verify(hand * n, H, budget=0).status == "refuted"


# --- peers, when installed (quick: small sizes) -----------------------------------------------
# Each peer runs in a child process: JAX and PyTorch start threads when imported, and the
# verification tests later fork this process, which must not hold such threads.

PEER = {
    "jax": """
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
def loss(w):
    z = jnp.asarray(X) @ w
    return jnp.mean(jax.nn.softplus(z) - jnp.asarray(y) * z)
H = np.asarray(jax.hessian(loss)(jnp.asarray(w)))
""",
    "torch": """
import torch
def loss(w):
    z = torch.tensor(X) @ w
    return torch.mean(torch.nn.functional.softplus(z) - torch.tensor(y) * z)
H = torch.func.hessian(loss)(torch.tensor(w)).numpy()
""",
}


def _logistic_data():
    rng = np.random.default_rng(2)
    Xv = rng.normal(size=(30, 5))
    return rng.normal(size=5) * 0.5, Xv, (rng.random(30) < 0.5) * 1.0


@pytest.mark.parametrize("peer", sorted(PEER))
def test_hessian_matches_the_peer(peer, tmp_path):
    if importlib.util.find_spec(peer) is None:
        pytest.skip("%s is not installed" % peer)
    wv, Xv, yv = _logistic_data()
    np.savez(tmp_path / "data.npz", w=wv, X=Xv, y=yv)
    script = ("import numpy as np\ndata = np.load(%r)\nw, X, y = data['w'], data['X'], data['y']\n"
              % str(tmp_path / "data.npz")) + PEER[peer] + "np.save(%r, H)\n" % str(tmp_path / "H.npy")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    _, _, H = sg.value_grad_hessian(MODELS["logistic"], [w], [X, y])(wv[:, None], Xv, yv[:, None])
    np.testing.assert_allclose(H, np.load(tmp_path / "H.npy"), rtol=1e-12, atol=1e-15)


def test_small_hessian_calls_run_on_one_blas_thread_and_restore_the_count():
    from symgrad.pipeline import blas
    controls = blas._controls()
    if controls is None:
        pytest.skip("this NumPy's BLAS exposes no thread control (not OpenBLAS)")
    set_threads, get_threads = controls
    before = int(get_threads())
    try:
        set_threads(2)
        seen = []
        with blas.few_blas_threads(10**6):
            seen.append(int(get_threads()))
        with blas.few_blas_threads(10**9):
            seen.append(int(get_threads()))
        assert seen == [1, 2] and int(get_threads()) == 2
    finally:
        set_threads(before)
