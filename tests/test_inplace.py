"""Elementwise chains written in place (codegen/inplace.py): the same numbers to the last bit
as the code that allocates every intermediate, the caller's arrays never written, and less
memory per call."""

import tracemalloc

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.codegen.module import generate
from symgrad.pipeline.build import compile_source

from test_matrix_models import MODELS, _arrays, compiled

n, d, k = sp.symbols("n d k", integer=True, positive=True)
A, X = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("X", n, d)
W, V = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("V", d, k)

# shapes where a temporary is read twice, through a transpose, by a slice and by a product
ADVERSARIAL = {
    "temporary and its transpose": (
        sp.Trace((A * W).applyfunc(sp.exp) * (A * W).applyfunc(sp.exp).T)
        + sg.msum((A * W + W).applyfunc(sp.tanh)), [W], [A]),
    "temporary read twice": (
        sg.msum(sp.HadamardProduct((X * V).applyfunc(sp.tanh), (X * V).applyfunc(sp.tanh))
                + (X * V).applyfunc(sp.sin)), [V], [X]),
    "slice of a temporary": (
        sg.msum((A * W).applyfunc(sp.exp)[0:2, :]) + sg.msum((A * W).applyfunc(sp.cos)),
        [W], [A]),
    "gradient reused downstream": (
        sg.msum((X * V).applyfunc(lambda u: sp.log(1 + sp.exp(-u)) + u**2 / 2)) / n, [V], [X]),
}


def _same(got, want):
    """Bit-for-bit: the in-place lines are the same IEEE operations on the same operands."""
    assert np.asarray(got).shape == np.asarray(want).shape
    assert np.array_equal(np.asarray(got), np.asarray(want), equal_nan=True), (got, want)


def _both_ways(f, values):
    """(in place, allocating) results of the generated functions, each checked not to write
    its arguments."""
    plain = compile_source(generate(f.program, in_place=False))
    out = []
    for value_and_grad, value in ((f.raw, f.raw_value), (plain["value_and_grad"], plain["value"])):
        copies = [np.array(v, copy=True) for v in values]
        result = (value_and_grad(*values), value(*values))
        for v, c in zip(values, copies):
            assert np.array_equal(np.asarray(v), c), "an argument was written"
        out.append(result)
    return out


def _check(f, values):
    (vg, v), (vg0, v0) = _both_ways(f, values)
    _same(vg[0], vg0[0])
    _same(v, v0)
    for g, g0 in zip(vg[1], vg0[1]):
        _same(g, g0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_matrix_models_in_place_equal_allocating_code(name):
    params, data = _arrays(name, np.random.default_rng(11))
    f = compiled(name)
    arrays, _ = f.prepare(params + data)
    _check(f, list(arrays))


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_temporaries(name):
    expr, wrt, args = ADVERSARIAL[name]
    f = sg.value_and_grad(expr, wrt, args)
    rng = np.random.default_rng(5)
    values = [rng.normal(size=(4, 4) if s.shape == (n, n) else
                         (4, 3) if s.shape == (n, d) else (3, 2)) for s in wrt + args]
    _check(f, values)


def test_mlp_is_written_in_place_and_allocates_less():
    f = compiled("tanh MLP, logsumexp")
    body = f.source[f.source.index("def value_and_grad"):]
    assert "+= b1" in body and "out=" in body, body
    rng = np.random.default_rng(0)
    values = [rng.normal(size=s) for s in ((8, 64), (1, 64), (64, 10), (1, 10), (2000, 8))]
    values.append(np.eye(10)[rng.integers(0, 10, 2000)])
    plain = compile_source(generate(f.program, in_place=False))["value_and_grad"]
    peaks = []
    for fn in (f.raw, plain):
        fn(*values)
        tracemalloc.start()
        fn(*values)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    layer = 2000 * 64 * 8                              # one n x h float64 array
    assert peaks[0] <= peaks[1] - layer, peaks     # a layer-sized array fewer at the peak


def test_float32_stays_float32_in_place():
    f = compiled("tanh MLP, logsumexp")
    params, data = _arrays("tanh MLP, logsumexp", np.random.default_rng(2))
    values = [np.asarray(v, dtype=np.float32) for v in params + data]
    loss, grads = f(*values)
    assert np.asarray(loss).dtype == np.float32 and all(g.dtype == np.float32 for g in grads)


def test_per_sample_code_is_not_written_in_place():
    """(torch's and JAX's code: tests/test_zz_backends.py, which loads those libraries last.)"""
    x, w = sp.symbols("x w")
    per_sample = sg.value_and_grad((sp.tanh(w * x) + 1)**2, [w], [x])
    body = per_sample.source[per_sample.source.index("def value("):]
    assert "out=" not in body and "+=" not in body and "*=" not in body, body


def test_complex_inputs_keep_each_products_operand_order():
    """Complex products are not commutative to the last bit (NumPy's a*b and b*a differ): an
    in-place line writing into the right operand keeps it on the right."""
    f = compiled("tanh MLP, logsumexp")
    params, data = _arrays("tanh MLP, logsumexp", np.random.default_rng(3))
    rng = np.random.default_rng(4)
    values = [np.asarray(v) + 0.3j * rng.normal(size=np.shape(v)) for v in params + data]
    arrays, dtype = f.prepare(values)
    assert dtype == np.complex128
    _check(f, list(arrays))


P = sp.MatrixSymbol("P", n, n)


@pytest.mark.parametrize("expr", [
    sg.msum(P.applyfunc(lambda u: sp.erf(u)**2)),                  # 4/sqrt(pi): a computed constant
    sg.msum((P * (P + sp.Identity(n))).applyfunc(sp.exp)) / n,      # np.eye
    sg.msum(P[0:2, :].applyfunc(sp.sin)),                            # a broadcast 1 in the slice's adjoint
], ids=["erf", "identity", "slice"])
def test_float32_stays_float32_through_constants_identities_and_broadcasts(expr):
    """NumPy 2 keeps np.float64 scalars and arrays strong: constants NumPy computes print as
    float(...), identities and broadcast numbers take the arguments' dtype."""
    f = sg.value_and_grad(expr, [P], [])
    value = np.random.default_rng(6).normal(size=(4, 4)).astype(np.float32)
    loss, (grad,) = f.raw(value)
    assert np.asarray(loss).dtype == np.float32 and grad.dtype == np.float32, f.source
    _check(f, [value])


def test_half_precision_arguments_compute_in_float32():
    """SciPy's special functions have no float16 loops (expit would answer in float64)."""
    f = compiled("tanh MLP, logsumexp")
    params, data = _arrays("tanh MLP, logsumexp", np.random.default_rng(2))
    loss, grads = f(*[np.asarray(v, dtype=np.float16) for v in params + data])
    assert np.asarray(loss).dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
