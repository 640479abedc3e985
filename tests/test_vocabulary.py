"""Pieces of matrices: slices (``(X*W)[:, 1:]``, ``X[::2, :]``), entries of matrix expressions
inside a larger loss (``(v.T*w)[0, 0]``), and ``BlockMatrix`` (attention heads concatenated).

Each gradient is compared with sympy.diff of the loss written out entry by entry (at
numeric sizes, exact rational points, 50 digits), checked by check_grad (exact balls /
finite differences / generated code), and its generated code run on every installed
backend. What stays unsupported fails with a message naming the node and what to do.
"""

import random

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.ops.slicing import Concat
from helpers import numeric, reference
from strategies import close

X = sp.MatrixSymbol("X", 4, 3)
W = sp.MatrixSymbol("W", 3, 2)
v, w = sp.MatrixSymbol("v", 3, 1), sp.MatrixSymbol("w", 3, 1)
n, d = sp.symbols("n d", integer=True, positive=True)
Z, U = sp.MatrixSymbol("Z", n, d), sp.MatrixSymbol("U", d, d)


def _entries(m, sizes):
    rows, cols = (int(sp.sympify(s).xreplace(sizes)) for s in m.shape)
    return sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Symbol("%s_%d_%d" % (m.name, i, j),
                                                                 real=True))


def _point(symbols, sizes, seed):
    rng = random.Random(seed)
    return {m: _entries(m, sizes).applyfunc(lambda _: sp.Rational(rng.randint(-64, 64), 64))
            for m in symbols}


def assert_equals_sympy_diff(expr, wrt, args, sizes=None):
    """sg.grad equals sympy.diff of the written-out loss, entry by entry, at two points."""
    sizes = sizes or {}
    written = reference(expr, {**sizes, **{m: _entries(m, sizes) for m in wrt + args}},
                        doit=False)
    grads = sg.grad(expr, wrt)
    for seed in (1, 2):
        point = _point(wrt + args, sizes, seed)
        at = {s: val for m in wrt + args for s, val in zip(_entries(m, sizes), point[m])}
        for p, g in zip(wrt, grads):
            mine = numeric(g, {**sizes, **point})
            theirs = _entries(p, sizes).applyfunc(lambda e: sp.diff(written, e).xreplace(at))
            assert mine.shape == theirs.shape, (p, mine.shape, theirs.shape)
            for a, b in zip(mine, theirs):
                assert close(a, b.evalf(50), 1e-30, 1e-30), (expr, p, a, b)


CASES = {
    "column of a product": (sg.msum((X * W)[:, 0]), [W], [X]),
    "columns from 1 on, through tanh": (sg.msum((X * W)[:, 1:].applyfunc(sp.tanh)), [W], [X]),
    "every other row": (sg.msum(X[::2, :].applyfunc(sp.exp)), [X], []),
    "rows 0 and 2 of a product, squared": (sg.msum(sp.HadamardPower((X * W)[0:4:2, :], 2)),
                                           [W, X], []),
    "an entry inside a larger loss": ((v.T * w)[0, 0]**2 + sg.msum(X * W), [w, W], [v, X]),
    "an entry of a product": (sp.sin((X * W)[2, 1]) + (X * W)[0, 0] * (X * W)[3, 1], [W], [X]),
    "heads side by side": (sg.msum(sp.BlockMatrix([[X * W, X * W]]).applyfunc(sp.sin)),
                           [W], [X]),
    "an entry counted from the end": (X[-1, 0] * sg.msum(X * W), [W, X], []),
    "the trace of two rows": (sp.Trace((X * W)[:2, :]), [W], [X]),
    "blocks of constants": (sg.msum(sp.BlockMatrix([[W, sp.ZeroMatrix(3, 1)],
                                                    [sp.OneMatrix(1, 2), sp.Identity(1)]]
                                                   ).applyfunc(sp.exp)), [W], []),
    "blocks stacked, with a slice": (
        sg.msum(sp.BlockMatrix([[X * W], [W.T * W]]).applyfunc(sp.cos)[2:, :]), [W], [X]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_equals_sympy_diff_of_the_written_out_loss(name):
    expr, wrt, args = CASES[name]
    assert_equals_sympy_diff(expr, wrt, args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_grad(name):
    expr, wrt, args = CASES[name]
    report = sg.check_grad(expr, wrt, args, seed=3)
    assert report.ok, str(report)


def test_a_product_and_its_transpose_under_a_slice():
    # (X W) and (X W)^T (X W) in one graph: the speed pass that merges equal products met a
    # transposed product among them (it read every member as a product of two)
    expr = sg.msum(sp.BlockMatrix([[X * W], [W.T * X.T * X * W]]).applyfunc(sp.cos)[2:, :])
    report = sg.check_grad(expr, [W], [X], seed=3)
    assert report.ok, str(report)


SYMBOLIC = {
    "first column": sg.msum((Z * U)[:, 0]),
    "all but the first column": sg.msum((Z * U)[:, 1:].applyfunc(sp.tanh)),
    "an entry plus all but the last row": (Z * U)[0, 0]**2 + sg.msum(Z[:-1, :] * U),
    "the last column": sg.msum((Z * U)[:, d - 1:].applyfunc(sp.exp)),
    "side by side": sg.msum(sp.BlockMatrix([[Z * U, Z]]).applyfunc(sp.sin)),
}


@pytest.mark.parametrize("name", sorted(SYMBOLIC))
def test_symbolic_sizes(name):
    expr = SYMBOLIC[name]
    g = sg.grad(expr, U)
    assert g.shape == (d, d)
    assert_equals_sympy_diff(expr, [U], [Z], sizes={n: 3, d: 2})
    rng = np.random.default_rng(0)
    values = {Z: rng.standard_normal((5, 3)), U: rng.standard_normal((3, 3))}
    report = sg.check_grad(expr, [U], [Z], values=values)
    assert report.ok, str(report)
    f = sg.value_and_grad(expr, [U], [Z])
    _, (gu,) = f(values[U], values[Z])
    assert gu.shape == (3, 3)


def attention_heads(heads=2, size=2):
    """Multi-head self-attention with the heads concatenated by BlockMatrix, then projected."""
    X_ = sp.MatrixSymbol("X", 3, heads * size)
    Y = sp.MatrixSymbol("Y", 3, heads * size)
    Wq, Wk, Wv, Wo = (sp.MatrixSymbol(a, heads * size, heads * size)
                      for a in ("Wq", "Wk", "Wv", "Wo"))
    Q, K, V = X_ * Wq, X_ * Wk, X_ * Wv
    parts = [slice(h * size, (h + 1) * size) for h in range(heads)]
    H = [sg.softmax(Q[:, s] * K[:, s].T / sp.sqrt(size)) * V[:, s] for s in parts]
    out = sp.BlockMatrix([H]) * Wo
    return sg.msum(sp.HadamardPower(out - Y, 2)), [Wq, Wk, Wv, Wo], [X_, Y]


def test_multi_head_attention_heads_concatenated():
    loss, wrt, args = attention_heads()
    report = sg.check_grad(loss, wrt, args, seed=0)
    assert report.ok, str(report)
    f = sg.value_and_grad(loss, wrt, args)
    # the heads' gradients fill Wq's, Wk's and Wv's adjoints side by side: one concatenation
    # each (the speed pass embeds_side_by_side_are_one_concatenation), no matrix of zeros
    gradient = f.source.split("def value_and_grad")[1]
    assert gradient.count("np.concatenate((") == 4 and "_embed(" not in f.source


def test_generated_code_reads_entries_and_slices_plainly():
    expr, wrt, args = CASES["an entry inside a larger loss"]
    source = sg.value_and_grad(expr, wrt, args).source
    assert "v[0, 0]*w[0, 0]" in source
    source = sg.value_and_grad(*CASES["every other row"]).source
    assert "X[:4:2, :3]" in source


def test_a_slice_of_a_slice_is_one_slice():
    source = sg.value_and_grad(*CASES["blocks of constants"]).source
    assert "[:3, :2]" in source and "][" not in source


def test_results_show_entries_and_slices():
    assert "v[0, 0]" in str(sg.grad(*CASES["an entry inside a larger loss"][:2])[0])
    assert "(X*W)[:, 1:]" in str(sg.grad(*CASES["columns from 1 on, through tanh"][:2])[0])


# --- what stays unsupported says so, naming the node and what to do -----------------------------

def test_a_step_that_does_not_divide_the_extent_is_refused():
    Y = sp.MatrixSymbol("Y", 3, 3)
    with pytest.raises(sg.UnsupportedExpression, match=r"MatrixSlice node Y\[::2, :\].*step 2 "
                       r"does not divide the extent 3.*choose a stop"):
        sg.grad(sg.msum(Y[0:3:2, :]), Y)
    with pytest.raises(sg.UnsupportedExpression, match="does not divide the extent n"):
        sg.grad(sg.msum(Z[::2, :]), Z)


def test_an_entry_at_a_free_index_points_to_index_notation():
    i = sp.Symbol("i", integer=True)
    with pytest.raises(sg.UnsupportedExpression, match=r"MatrixElement node X\[i, 0\].*index "
                       r"notation"):
        sg.grad(X[i, 0]**2, X)


def test_slice_bounds_that_are_not_dimensions_are_refused():
    k = sp.Symbol("k")
    with pytest.raises(sg.UnsupportedExpression, match=r"MatrixSlice node X\[:, :k\].*bounds "
                       r"must be numbers or expressions in the matrices' dimensions, got 0:k:1"):
        sg.grad(sg.msum(X[:, :k]), X)


def test_blocks_that_do_not_fit_are_a_shape_mismatch():
    m = sp.Symbol("m", integer=True, positive=True)
    A = sp.MatrixSymbol("A", m, 1)
    with pytest.raises(sg.ShapeMismatch, match=r"Concat joins blocks of shapes \(n, d\) and "
                       r"\(m, 1\).*need the same number of rows"):
        sg.grad(sg.msum(Concat(1, Z, A)), Z)


def test_an_embed_that_does_not_fit_is_a_shape_mismatch():
    from symgrad.ops.slicing import Embed
    B = sp.MatrixSymbol("B", 2, 2)
    with pytest.raises(sg.ShapeMismatch, match=r"Embed places a \(2, 2\) matrix at a \(4, 3\) "
                       r"slice.*must have the matrix's shape"):
        sg.grad(sg.msum(Embed(B, 4, 3, 0, 4, 1, 0, 3, 1)), B)
    with pytest.raises(sg.ShapeMismatch, match=r"Embed selects 3:5 of an axis of size 4.*keep "
                       r"0 <= start < stop <= size"):
        sg.grad(sg.msum(Embed(B, 4, 3, 3, 5, 1, 0, 2, 1)), B)


# --- second order: a vector parameter read in pieces (an intercept and the weights) -------------

def test_hessian_of_a_vector_read_in_pieces_with_symbolic_sizes():
    Xs, w1, ys = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d + 1, 1), sp.MatrixSymbol("y", n, 1)
    loss = sg.msum(sp.HadamardPower(Xs * w1[1:, :] + w1[0, 0] * sp.OneMatrix(n, 1) - ys, 2)) / n \
        + w1[0, 0]**2
    H = sg.hessian(loss, w1)
    assert H.shape == (d + 1, d + 1)
    sizes = {n: 4, d: 2}
    Xn, wn, yn = (sp.MatrixSymbol(m.name, *[s.xreplace(sizes) for s in m.shape])
                  for m in (Xs, w1, ys))
    numeric_dims = sg.hessian(loss.xreplace({Xs: Xn, w1: wn, ys: yn}).xreplace(sizes), wn)
    point = _point([Xn], {}, seed=5)[Xn]
    at = {Xn[i, j]: point[i, j] for i in range(4) for j in range(2)}
    mine = reference(H, {**sizes, Xs: point})
    assert mine == sp.Matrix(numeric_dims).xreplace(at)


def test_value_grad_hessian_through_blocks_and_slices():
    w1 = sp.MatrixSymbol("w", d + 1, 1)
    loss = sg.msum(sp.BlockMatrix([[w1[1:, :]], [w1[:1, :]]]).applyfunc(sp.exp)) + \
        sg.msum((Z * w1[:d, :]).applyfunc(sp.tanh))
    rng = np.random.default_rng(4)
    wv, zv = rng.standard_normal((4, 1)), rng.standard_normal((5, 3))
    _, _, H = sg.value_grad_hessian(loss, wrt=[w1], args=[Z])(wv, zv)
    f = sg.value_and_grad(loss, [w1], [Z])
    step, columns = 1e-6, []
    for k in range(4):
        e = np.zeros((4, 1))
        e[k] = step
        columns.append(((f(wv + e, zv)[1][0] - f(wv - e, zv)[1][0]) / (2 * step)).ravel())
    np.testing.assert_allclose(H, np.array(columns).T, rtol=1e-6, atol=1e-7)


def test_verify_reads_slices_and_blocks_with_symbolic_sizes():
    g = sg.grad(sg.msum((Z * U)[:, 0]), U)
    first = Z.T * sp.BlockMatrix([[sp.OneMatrix(n, 1), sp.ZeroMatrix(n, d - 1)]])
    last = Z.T * sp.BlockMatrix([[sp.ZeroMatrix(n, d - 1), sp.OneMatrix(n, 1)]])
    assert sg.verify(g, first).status in ("proven", "probable")
    wrong = sg.verify(g, last)
    assert wrong.status == "refuted" and wrong.counterexample[d] >= 2


# --- backends, last in this file: JAX starts threads, and verify forks -----------------------------

BACKEND_CASES = [CASES["rows 0 and 2 of a product, squared"], CASES["an entry inside a larger loss"],
                 CASES["blocks stacked, with a slice"], CASES["the trace of two rows"],
                 CASES["blocks of constants"], attention_heads()]


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_backends_agree_with_numpy(backend):
    pytest.importorskip(backend)
    rng = np.random.default_rng(1)
    for expr, wrt, args in BACKEND_CASES:
        values = [rng.standard_normal(tuple(int(s) for s in m.shape)) for m in wrt + args]
        value, grads = sg.value_and_grad(expr, wrt, args)(*values)
        value_b, grads_b = sg.value_and_grad(expr, wrt, args, backend=backend)(*values)
        np.testing.assert_allclose(float(value_b), value, rtol=1e-12)
        for a, b in zip(grads, grads_b):
            np.testing.assert_allclose(np.asarray(b), a, rtol=1e-10, atol=1e-12)


def test_symbolic_sizes_on_backends():
    expr = SYMBOLIC["an entry plus all but the last row"] + SYMBOLIC["side by side"]
    rng = np.random.default_rng(2)
    zv, uv = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    _, (want,) = sg.value_and_grad(expr, [U], [Z])(uv, zv)
    for backend in ("jax", "torch"):
        try:
            __import__(backend)
        except ImportError:
            continue
        _, (got,) = sg.value_and_grad(expr, [U], [Z], backend=backend)(uv, zv)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)
