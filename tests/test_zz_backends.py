"""Cross-backend equivalence: the same derived, stabilized graph printed for NumPy, JAX and
PyTorch gives the same loss and gradients (1e-12 relative in float64), on the scalar table,
the matrix models and the extreme-input stability cases. A backend that is not installed
is skipped, saying so.

Named to run last: loading JAX or PyTorch starts threads, and verify's proof routes run in a
forked child process, which must not inherit them (see the fork warning JAX prints)."""

import importlib.util

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

import symgrad as sg

from test_matrix_models import MODELS
from test_scalar_grad import ROWS
from catalogue_cases import CASES as CATALOGUE
from test_stability import CASES
from test_stability_catalogue import REL, reference, relative_error
from test_value_grad_hessian import MODELS as HESSIAN_MODELS, _compiled_at

BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec(module) is None, reason="%s not installed" % name))
    for name, module in (("jax", "jax"), ("torch", "torch"))]


def _close(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    both_nan = np.isnan(a) & np.isnan(b)
    assert np.array_equal(np.isnan(a), np.isnan(b)), (a, b)
    a, b = a[~both_nan], b[~both_nan]
    assert np.all(np.abs(a - b) <= 1e-12 * np.maximum(1.0, np.abs(b))), (a, b)


def _compare(expr, wrt, args, values, backend, compiled=None):
    reference, other = compiled or (sg.value_and_grad(expr, wrt, args),
                                    sg.value_and_grad(expr, wrt, args, backend=backend))
    want, got = reference(*values), other(*values)
    _close(np.asarray(got[0]), want[0])
    for g, h in zip(got[1], want[1]):
        _close(np.asarray(g), h)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("row", ROWS[:24], ids=[r.name for r in ROWS[:24]])
def test_scalar_table_on_every_backend(row, backend):
    rng = np.random.default_rng(3)
    values = []
    for s in row.wrt + row.args:
        lo, hi = (0.2, 1.5)
        values.append(float(rng.uniform(lo, hi)) if s in row.wrt else rng.uniform(lo, hi, size=5))
    try:
        _compare(row.expr, row.wrt, row.args, values, backend)
    except sg.UnsupportedExpression as e:
        pytest.skip("not printable for %s: %s" % (backend, e))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_matrix_models_on_every_backend(name, backend):
    expr, wrt, args, _ = MODELS[name]
    rng = np.random.default_rng(4)
    values = []
    for s in wrt + args:
        if isinstance(s, sp.MatrixSymbol):
            shape = tuple(int(sp.sympify(d).subs({q: 3 for q in sp.sympify(d).free_symbols}))
                          for d in s.shape)
            values.append(rng.normal(size=shape))
        else:
            values.append(0.3)
    _compare(expr, wrt, args, values, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_extreme_inputs_on_every_backend(name, backend):
    expr, wrt, args, _, points = CASES[name]
    try:
        compiled = sg.value_and_grad(expr, wrt, args), sg.value_and_grad(expr, wrt, args, backend=backend)
    except sg.UnsupportedExpression as e:
        pytest.skip("not printable for %s: %s" % (backend, e))
    for point in points:
        _compare(expr, wrt, args, list(point), backend, compiled)


# catalogue forms whose stable code uses hypot, a log1p of a square or the log-odds rewrite
SQUARES = ["Cauchy loss log(1 + (w x - y)^2)", "Charbonnier loss sqrt((w x - y)^2 + 1e-12)",
           "Euclidean norm sqrt(w^2 + x^2)", "log-odds log s(z) - log s(-z)"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", SQUARES)
def test_squares_at_extreme_inputs_on_every_backend(name, backend):
    """Values and gradients at |u| = 1e300, 1e-300, 1e-12 within 1e-10 of 400 digits."""
    case = CATALOGUE[name]
    f = sg.value_and_grad(case.expr, case.wrt, case.args, backend=backend)
    for point in case.points:
        value, grads = f(*point)
        got = [np.asarray(value, dtype=float)] + [np.asarray(g, dtype=float) for g in grads]
        for label, g, r in zip(["value"] + case.wrt, got, reference(case, point)):
            assert relative_error(g, r) <= REL, "%s at %s: %s = %r" % (name, point, label, g)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["least squares", "logistic", "ridge", "Gaussian NLL in the mean"])
def test_value_grad_hessian_on_every_backend(name, backend):
    assert name in HESSIAN_MODELS
    expr, p, args, f2, values, arrays = _compiled_at(name)
    other = sg.value_grad_hessian(expr, wrt=[p], args=args, backend=backend)
    want, got = f2(*arrays), other(*arrays)
    assert type(got[2]).__module__.split(".")[0] in ("jax", "jaxlib", "torch")
    _close(np.asarray(got[0]), want[0])
    _close(np.asarray(got[1][0]), want[1][0])
    _close(np.asarray(got[2]), want[2])


def _j1(x):
    """-sinc'(x) = j1(x) at 50 digits, through the Bessel function (no cancellation near 0)."""
    with mp.workdps(50):
        x = mp.mpf(x)
        return 0.0 if x == 0 else float(mp.sqrt(mp.pi / (2 * x)) * mp.besselj(1.5, x)) if x > 0 \
            else -float(mp.sqrt(mp.pi / (-2 * x)) * mp.besselj(1.5, -x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sinc_slope_is_stable_at_zero_tiny_and_large_inputs(backend):
    w = sp.Symbol("w")
    f = sg.value_and_grad(sp.sinc(w), [w], backend=backend)
    assert "_spherical_jn(1, w)" in f.source
    points = [0.0, 1e-300, -1e-8, 0.3, 0.999, 1.0, -1.001, 3.0, 1e5, 1e300]
    for x in points:
        got, want = float(f(x)[1][0]), -_j1(x)
        assert abs(got - want) <= 4e-16 * abs(want), (x, got, want)
    import numpy
    xs = numpy.linspace(-40, 40, 801)      # through j1's zeros too: the absolute error is tiny
    f = sg.value_and_grad(sp.sinc(w) * sp.Symbol("c"), [w], [sp.Symbol("c")], backend=backend)
    for x in xs[::37]:
        got = float(f(x, [1.0])[1][0])
        assert abs(got + _j1(x)) <= 1e-16 * max(1.0, abs(x)) + 4e-16 * abs(_j1(x)), x


@pytest.mark.parametrize("backend", BACKENDS)
def test_exprel_and_the_refused_hypergeometric(backend):
    from symgrad.ops.derived import Exprel
    w, x = sp.symbols("w x")
    values = [1.5, np.array([0.0, 1e-300, -1e-9, 0.5, -30.0, 700.0])]
    _compare(w * Exprel(x), [w], [x], values, backend)
    with pytest.raises(sg.UnsupportedExpression, match="special.hyp1f1 .*numpy backend"):
        sg.value_and_grad(Exprel(w * x), [w], [x], backend=backend)    # exprel' = 1F1(2; 3; t)/2


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_stays_float32(backend):
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w, y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
    loss = sg.msum(sp.HadamardPower(X * w - y, 2)) / n          # its Hessian broadcasts 2/n
    rng = np.random.default_rng(8)
    values = [rng.normal(size=s).astype(np.float32) for s in ((3, 1), (5, 3), (5, 1))]
    value, grads, hessian = sg.value_grad_hessian(loss, [w], [X, y], backend=backend)(*values)
    assert {str(a.dtype).replace("torch.", "") for a in (value, grads[0], hessian)} == {"float32"}
    want = sg.value_grad_hessian(loss, [w], [X, y])(*values)
    assert np.allclose(np.asarray(hessian), want[2], rtol=1e-6)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
@pytest.mark.parametrize("name", ["KL term y*log(y/p) at y = 0", "sinc near 0 (its derivative cancels as written)",
                                  "binary cross-entropy, naive", "softmax cross-entropy, naive",
                                  "log(1 - exp(-x))"])
def test_jax_differentiates_the_generated_loss_to_symgrads_gradient(name):
    """The value code is JAX-differentiable without NaN from unselected branches (safe where):
    jax.grad of f.raw_value equals symgrad's generated gradient at the extreme points."""
    import jax
    expr, wrt, args, _, points = CASES[name]
    f = sg.value_and_grad(expr, wrt, args, backend="jax")
    k = len(wrt)
    grad = jax.jit(jax.grad(lambda ws, data: f.raw_value(*ws, *data)))
    for point in points:
        arrays, _ = f.prepare(list(point))
        got = grad([jax.numpy.asarray(a) for a in arrays[:k]], arrays[k:])
        for g, h in zip(got, f(*point)[1]):
            _close(np.asarray(g), np.asarray(h))


def test_a_matrix_parameter_hessian_is_numpy_only():
    n, d, k = sp.symbols("n d k", integer=True, positive=True)
    X, W, Y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("W", d, k), sp.MatrixSymbol("Y", n, k)
    loss = sg.msum(sp.HadamardPower(X * W - Y, 2)) / n
    assert sg.value_grad_hessian(loss, [W], [X, Y]).backend == "numpy"     # the Kronecker form
    with pytest.raises(sg.UnsupportedExpression, match="Kronecker-form Hessian.*NumPy only"):
        sg.value_grad_hessian(loss, [W], [X, Y], backend="jax")


def test_an_unknown_backend_is_refused():
    w = sp.Symbol("w")
    with pytest.raises(sg.ArgumentError, match="backend must be one of"):
        sg.value_and_grad(w**2, [w], backend="tensorflow")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_torch_autograd_through_the_generated_loss_and_its_in_place_helper():
    """The torch _sech2 writes in place only when autograd is not watching its argument: torch's
    autograd through the generated loss (sech^2 of a layer) equals symgrad's gradient, and the
    helper's in-place path gives the same numbers."""
    import torch
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, W = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("W", d, 1)
    f = sg.value_and_grad(sg.msum((X * W).applyfunc(lambda u: 1 - sp.tanh(u)**2)), [W], [X],
                          backend="torch")
    assert "_sech2(" in f.source[f.source.index("def value("):]
    rng = np.random.default_rng(8)
    Xv, Wv = rng.normal(size=(6, 3)) * 8, rng.normal(size=(3, 1))
    w = torch.tensor(Wv, requires_grad=True)
    value = f.raw_value(w, torch.as_tensor(Xv))
    (got,) = torch.autograd.grad(value, [w])
    want_value, (want,) = f(Wv, Xv)
    _close(value.detach().numpy(), want_value)
    _close(got.numpy(), want)
    u = torch.as_tensor(Xv @ Wv)
    _close(f.namespace["_sech2"](u.clone()).numpy(), 1 / np.cosh(Xv @ Wv)**2)
    z = np.array([0.5 + 0.7j, -2 + 0.1j, 3j])                 # off the real line: the definition
    _close(f.namespace["_sech2"](torch.as_tensor(z)).numpy().real, (1 / np.cosh(z)**2).real)
    _close(f.namespace["_sech2"](torch.as_tensor(z)).numpy().imag, (1 / np.cosh(z)**2).imag)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
@pytest.mark.parametrize("name", ["tanh MLP, logsumexp", "relu MLP", "ridge regression"])
def test_torch_gradients_in_place_equal_the_allocating_code(name):
    """torch's gradient function writes elementwise chains in place (under no_grad): the same
    operations, so the same numbers to the last bit as the code with in-place writes off."""
    import torch
    from symgrad.codegen.module import generate
    from symgrad.pipeline.build import compile_source
    from test_matrix_models import _arrays
    expr, wrt, args, _ = MODELS[name]
    f = sg.value_and_grad(expr, wrt, args, backend="torch")
    plain = compile_source(generate(f.program, backend="torch", in_place=False))["value_and_grad"]
    params, data = _arrays(name, np.random.default_rng(12))
    tensors = [torch.as_tensor(a) for a in f.prepare(params + data)[0]]
    copies = [t.clone() for t in tensors]
    got, want = f.raw(*tensors), plain(*tensors)
    assert all(torch.equal(t, c) for t, c in zip(tensors, copies)), "an argument was written"
    assert torch.equal(torch.as_tensor(got[0]), torch.as_tensor(want[0]))
    for g, h in zip(got[1], want[1]):
        assert torch.equal(torch.as_tensor(g), torch.as_tensor(h))


def test_torchs_value_and_jax_code_are_not_written_in_place():
    from symgrad.codegen.module import generate
    expr, wrt, args, _ = MODELS["tanh MLP, logsumexp"]
    program = sg.value_and_grad(expr, wrt, args).program
    torch_source = generate(program, backend="torch")
    value = torch_source[torch_source.index("def value("):torch_source.index("def value_and_grad")]
    assert "+=" not in value and "out=" not in value and "*=" not in value, value
    gradient = torch_source[torch_source.index("def value_and_grad"):]
    assert "with torch.no_grad():" in gradient and "+= b1" in gradient, gradient
    jax_source = generate(program, backend="jax")
    assert "+=" not in jax_source and "out=" not in jax_source
