"""Generated NumPy code for matrix expressions: its text, shapes, dtypes and values.

The source must read like hand-written NumPy (``@`` products, broadcasting instead of
``np.ones`` products, one shared forward pass for the loss and every gradient, log
det through slogdet), the callable must check shapes against the MatrixSymbols and
name what is wrong, and every value is compared with a NumPy reference.
"""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from helpers import mlp_model, np_mlp, random_spd_array

n, d, h, k = sp.symbols("n d h k", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
Y = sp.MatrixSymbol("Y", n, k)
W1, b1 = sp.MatrixSymbol("W1", d, h), sp.MatrixSymbol("b1", 1, h)
W2, b2 = sp.MatrixSymbol("W2", h, k), sp.MatrixSymbol("b2", 1, k)

S = sp.MatrixSymbol("S", n, n)          # square
A = sp.MatrixSymbol("A", n, n)
B = sp.MatrixSymbol("B", n, k)
V = sp.MatrixSymbol("V", k, n)
v = sp.MatrixSymbol("v", n, 1)
a, c = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("c", n, 1)

ones = sp.OneMatrix
RTOL = 1e-10

Z = mlp_model("tanh").output           # (X W1 + 1 b1).applyfunc(tanh) W2 + 1 b2
MLP = (sg.msum(sg.logsumexp(Z, axis=1)) - sp.Trace(Y.T * Z)) / n
MLP_SHAPES = [(5, 4), (1, 4), (4, 3), (1, 3), (7, 5), (7, 3)]     # W1, b1, W2, b2, X, Y


@pytest.fixture(scope="module")
def mlp():
    return sg.value_and_grad(MLP, wrt=[W1, b1, W2, b2], args=[X, Y])


def _mlp_arrays(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=s) for s in MLP_SHAPES[:5]]
    arrays.append(np.eye(3)[rng.integers(3, size=7)])
    return [x.astype(dtype) for x in arrays]


_np_mlp = np_mlp("tanh")


def _function(source, name):
    """The text of one generated function (its def line through its return)."""
    start = source.index("def %s(" % name)
    end = source.find("\ndef ", start + 1)
    return source[start:] if end < 0 else source[start:end]


# --- the text of the generated code ------------------------------------------------------------

def test_mlp_source_reads_like_numpy(mlp):
    src = mlp.source
    assert "@" in src and ".dot(" not in src
    assert "np.ones" not in src and "broadcast_to" not in src, "bias broadcasts should broadcast"
    body = _function(src, "value_and_grad")
    assert body.count("np.tanh(") == 1, "the forward tanh is computed once for loss and gradients"
    assert body.count("_logsumexp_rows(") == 1
    assert body.count("X @ W1") == 1
    assert "return loss, (grad_W1, grad_b1, grad_W2, grad_b2)" in body


def test_source_is_deterministic(mlp):
    again = sg.value_and_grad(MLP, wrt=[W1, b1, W2, b2], args=[X, Y])
    assert again.source == mlp.source


def test_log_det_prints_through_slogdet():
    f = sg.value_and_grad(sp.log(sp.Determinant(S)), [S])
    value_source, grad_source = f.source.split("def value_and_grad")
    assert "_logdet(" in value_source and "slogdet" in value_source
    # with the gradient, one LU factorization gives both the log det and the inverse
    assert "_logdet_lu(" in grad_source and grad_source.count("lu_factor(") == 1
    assert "np.log(np.linalg.det(" not in f.source
    big = 10.0 * np.eye(400)                      # det = 1e400 overflows; log det does not
    value, (grad,) = f(big)
    np.testing.assert_allclose(value, 400 * np.log(10.0), rtol=RTOL)
    np.testing.assert_allclose(grad, 0.1 * np.eye(400), rtol=RTOL)
    x = random_spd_array(1, 4)
    value, (grad,) = f(x)
    np.testing.assert_allclose(value, np.linalg.slogdet(x)[1], rtol=RTOL)
    np.testing.assert_allclose(grad, np.linalg.inv(x).T, rtol=RTOL)


# --- shapes ------------------------------------------------------------------------------------

def test_inconsistent_shapes_name_the_symbol_and_both_shapes(mlp):
    arrays = _mlp_arrays()
    arrays[0] = np.zeros((4, 4))                  # W1 says d = 4, X says d = 5
    with pytest.raises(sg.ShapeMismatch) as err:
        mlp(*arrays)
    text = str(err.value)
    assert "X" in text and "W1" in text
    assert "(7, 5)" in text and "(7, 4)" in text


@pytest.mark.parametrize("position, shape, name, expected", [
    (5, (6, 3), "Y", "(7, 3)"),
    (3, (1, 2), "b2", "(1, 3)"),
    (1, (2, 4), "b1", "(1, 4)"),
])
def test_one_bad_argument_is_named(mlp, position, shape, name, expected):
    arrays = _mlp_arrays()
    arrays[position] = np.zeros(shape)
    with pytest.raises(sg.ShapeMismatch) as err:
        mlp(*arrays)
    text = str(err.value)
    assert text.startswith(name + ":")
    assert expected in text and str(shape) in text


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 7, 5)), np.float64(1.0)])
def test_a_matrix_needs_a_2d_array(mlp, bad):
    arrays = _mlp_arrays()
    arrays[4] = bad
    with pytest.raises(sg.ShapeMismatch, match="X"):
        mlp(*arrays)


def test_column_symbol_accepts_a_1d_array():
    f = sg.value_and_grad(v.T * A * v, [v], [A])
    rng = np.random.default_rng(2)
    x, m = rng.normal(size=4), rng.normal(size=(4, 4))
    value, (grad,) = f(x, m)
    assert np.ndim(value) == 0
    np.testing.assert_allclose(value, x @ m @ x, rtol=RTOL)
    assert grad.shape == (4,)             # the shape v was given in, so x - lr*grad stays 1-D
    np.testing.assert_allclose(grad, (m + m.T) @ x, rtol=RTOL)
    _, (column,) = f(x[:, None], m)
    assert column.shape == (4, 1)


def test_a_row_symbol_accepts_a_1d_array(mlp):
    arrays = _mlp_arrays()
    arrays[1] = arrays[1][0]                      # b1 as shape (4,)
    value, grads = mlp(*arrays)
    ref_value, ref_grads = _np_mlp(*_mlp_arrays())
    np.testing.assert_allclose(value, ref_value, rtol=RTOL)
    np.testing.assert_allclose(np.reshape(grads[1], (1, 4)), ref_grads[1], rtol=RTOL)


# --- dtypes and values ---------------------------------------------------------------------------

def test_mlp_values(mlp):
    arrays = _mlp_arrays()
    value, grads = mlp(*arrays)
    ref_value, ref_grads = _np_mlp(*arrays)
    np.testing.assert_allclose(value, ref_value, rtol=RTOL)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=1e-15)


def test_float32_in_float32_out(mlp):
    arrays = _mlp_arrays(np.float32)
    value, grads = mlp(*arrays)
    assert np.asarray(value).dtype == np.float32
    assert [g.dtype for g in grads] == [np.float32] * 4
    ref_value, ref_grads = _np_mlp(*[x.astype(np.float64) for x in arrays])
    np.testing.assert_allclose(value, ref_value, rtol=1e-4)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-5)
    assert np.asarray(mlp.value(*arrays)).dtype == np.float32


def _scalar_cases():
    rng = np.random.default_rng(4)
    x, m = rng.normal(size=(4, 1)), rng.normal(size=(4, 4))
    return [
        ("Trace", sp.Trace(A), [A], [m], np.trace(m), [np.eye(4)]),
        ("1x1 product", v.T * A * v, [v, A], [x, m], (x.T @ m @ x)[0, 0],
         [(m + m.T) @ x, x @ x.T]),
        ("sqrt of a Trace", sp.sqrt(sp.Trace(A.T * A)), [A], [m], np.linalg.norm(m),
         [m / np.linalg.norm(m)]),
        ("log of a 1x1 product", sp.log(v.T * v), [v], [x], np.log(np.sum(x * x)),
         [2 * x / np.sum(x * x)]),
    ]


@pytest.mark.parametrize("case", _scalar_cases(), ids=lambda c: c[0])
def test_scalar_valued_results_are_scalars(case):
    _, loss, wrt, arrays, ref_value, ref_grads = case
    value, grads = sg.value_and_grad(loss, wrt)(*arrays)
    assert np.ndim(value) == 0
    np.testing.assert_allclose(value, ref_value, rtol=RTOL)
    for g, r in zip(grads, ref_grads):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=RTOL)


def test_parameter_absent_from_the_loss_gets_zeros():
    W = sp.MatrixSymbol("W", k, k)
    f = sg.value_and_grad(sp.Trace(B.T * B), [B, W])
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 2))
    value, (gb, gw) = f(x, rng.normal(size=(2, 2)))
    np.testing.assert_allclose(gb, 2 * x, rtol=RTOL)
    assert gw.shape == (2, 2) and not np.any(gw)
    assert gw.flags.writeable, "a gradient must be an ordinary array an optimizer can update"


# --- Identity, ZeroMatrix, matrix powers, inverses ---------------------------------------------

def _square(seed):
    rng = np.random.default_rng(seed)
    return 3 * np.eye(4) + 0.3 * rng.normal(size=(4, 4)), rng.normal(size=(4, 4))


def _inv(x):
    return np.linalg.inv(x)


MATRIX_CASES = [
    ("Identity and ZeroMatrix",
     sp.Trace(A * (S + 2 * sp.Identity(n)) * (S - sp.Identity(n)).T)
     + sp.Trace(sp.ZeroMatrix(n, n) * S),
     lambda s, m: np.trace(m @ (s + 2 * np.eye(4)) @ (s - np.eye(4)).T),
     lambda s, m: m @ (s + 2 * np.eye(4)) + m.T @ (s - np.eye(4))),
    ("X + ZeroMatrix", sp.Trace((S + sp.ZeroMatrix(n, n)).T * (S + sp.Identity(n))),
     lambda s, m: np.trace(s.T @ (s + np.eye(4))),
     lambda s, m: 2 * s + np.eye(4)),
    ("MatPow 3", sp.Trace(A * S**3),
     lambda s, m: np.trace(m @ s @ s @ s),
     lambda s, m: (m @ s @ s + s @ m @ s + s @ s @ m).T),
    ("MatPow -2", sp.Trace(A * S**-2),
     lambda s, m: np.trace(m @ _inv(s) @ _inv(s)),
     lambda s, m: -(_inv(s) @ _inv(s) @ m @ _inv(s)).T - (_inv(s) @ m @ _inv(s) @ _inv(s)).T),
    ("MatPow 0", sp.Trace(S**0 * A), lambda s, m: np.trace(m), lambda s, m: np.zeros((4, 4))),
    ("Inverse in a product", sp.Trace(A * S.I * A.T),
     lambda s, m: np.trace(m @ _inv(s) @ m.T),
     lambda s, m: -(_inv(s) @ m.T @ m @ _inv(s)).T),
    ("X^-1 B as a solve", sg.msum(S.I * A),
     lambda s, m: np.sum(np.linalg.solve(s, m)),
     lambda s, m: -_inv(s).T @ np.ones((4, 4)) @ m.T @ _inv(s).T),
]


@pytest.mark.parametrize("case", MATRIX_CASES, ids=lambda c: c[0])
def test_matrix_vocabulary_values(case):
    _, loss, ref_value, ref_grad = case
    f = sg.value_and_grad(loss, [S], [A])
    assert ".dot(" not in f.source
    for seed in (0, 1):
        s, m = _square(seed)
        value, (grad,) = f(s, m)
        assert np.ndim(value) == 0
        np.testing.assert_allclose(value, ref_value(s, m), rtol=RTOL)
        np.testing.assert_allclose(grad, ref_grad(s, m), rtol=RTOL, atol=1e-13)


def test_inverse_with_rectangular_neighbours():
    """d Tr(V X^-1 B)/dX = -X^-T V^T B^T X^-T, with V k x n and B n x k."""
    f = sg.value_and_grad(sp.Trace(V * S.I * B), [S], [V, B])
    rng = np.random.default_rng(6)
    s = random_spd_array(6, 4)
    vv, bb = rng.normal(size=(2, 4)), rng.normal(size=(4, 2))
    value, (grad,) = f(s, vv, bb)
    np.testing.assert_allclose(value, np.trace(vv @ _inv(s) @ bb), rtol=RTOL)
    np.testing.assert_allclose(grad, -_inv(s).T @ vv.T @ bb.T @ _inv(s).T, rtol=RTOL)
    value_source, grad_source = f.source.split("def value_and_grad")
    # no inverse: one solve for the value, one factorization shared by the gradient's solves
    assert "np.linalg.inv(" not in f.source and value_source.count("np.linalg.solve(") == 1
    assert grad_source.count("lu_factor(") == 1 and "np.linalg.solve(" not in grad_source


def test_quadratic_form_with_inverse_in_a_1x1_product():
    f = sg.value_and_grad(a.T * S.I * c, [S], [a, c])
    rng = np.random.default_rng(7)
    s, x, z = random_spd_array(7, 3), rng.normal(size=(3, 1)), rng.normal(size=(3, 1))
    value, (grad,) = f(s, x, z)
    assert np.ndim(value) == 0
    np.testing.assert_allclose(value, (x.T @ _inv(s) @ z)[0, 0], rtol=RTOL)
    np.testing.assert_allclose(grad, -_inv(s).T @ x @ z.T @ _inv(s).T, rtol=RTOL)


def test_square_symbol_needs_a_square_array():
    f = sg.value_and_grad(sp.log(sp.Determinant(S)), [S])
    with pytest.raises(sg.ShapeMismatch) as err:
        f(np.ones((3, 4)))
    text = str(err.value)
    assert text.startswith("S:") and "(3, 3)" in text and "(3, 4)" in text
