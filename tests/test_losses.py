"""Every loss in symgrad.zoo.losses, checked two ways, per-sample and batch form.

One spec per loss (the table below) says what each input is and where to draw
it, and gives an independent reference formula (NumPy / SciPy, written from
the literature, not from the SymPy expression). For each spec:

- the gradient of the per-sample form and of the batch form passes
  ``check_grad`` (symbolic vs finite differences vs generated code);
- the per-sample form, evaluated exactly by SymPy, and the batch form, run
  as generated code, both equal the reference at random points.

Input roles: "e" an entry (per-sample scalar; batch n x k), "v" a vector
(per-sample list of k scalars; batch n x k, one sample per row), "s" a
per-row scalar (per-sample scalar; batch n x 1).
"""

import functools
from dataclasses import dataclass

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import special, stats

import symgrad as sg
from helpers import central_difference, numeric
from symgrad import ArgumentError, ShapeMismatch
from symgrad import losses as L

N_ROWS, K = 4, 3
n, k = sp.symbols("n k", integer=True, positive=True)


@dataclass
class Spec:
    name: str
    build: object          # build(*inputs) -> loss expression (same call for both forms)
    roles: tuple           # one role per input: "e", "v" or "s"
    names: tuple           # input names
    wrt: tuple             # indices of the inputs that are parameters
    draw: object           # draw(rng, shape_e, shape_s) -> list of arrays, one per input
    ref: object            # ref(*arrays) -> per-entry (role e) or per-row losses
    rowwise: bool = False  # reference is per row (vector losses) rather than per entry


def normal(scale=1.0):
    return lambda rng, shape: scale * rng.standard_normal(shape)


def uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def choice(*values):
    return lambda rng, shape: rng.choice(np.array(values, dtype=float), shape)


def simplex(rng, shape):
    a = rng.uniform(0.2, 1.0, shape)
    return a / a.sum(axis=1, keepdims=True)


def drawer(*samplers):
    def draw(rng, roles):
        shapes = {"e": (N_ROWS, K), "v": (N_ROWS, K), "s": (N_ROWS, 1)}
        return [s(rng, shapes[r]) for s, r in zip(samplers, roles)]
    return draw


def rows(f):
    """Apply a per-row reference to each row of the arrays (columns of role s as scalars)."""
    def ref(*arrays):
        return np.array([f(*[a[i] if a.shape[1] > 1 else a[i, 0] for a in arrays])
                         for i in range(arrays[0].shape[0])])
    return ref


def tf_sigmoid_xent(z, y):
    # TensorFlow's sigmoid_cross_entropy_with_logits, as documented
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def torch_focal(z, y, gamma=2.0, alpha=0.25):
    # torchvision.ops.sigmoid_focal_loss, as documented
    p = special.expit(z)
    ce = tf_sigmoid_xent(z, y)
    p_t = p * y + (1 - p) * (1 - y)
    return (alpha * y + (1 - alpha) * (1 - y)) * ce * (1 - p_t)**2


def cosine(a, b):
    return a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


SPECS = [
    Spec("mse", L.mse, "ee", "py", (0,), drawer(normal(1.5), normal(1.5)), lambda p, y: (p - y)**2),
    Spec("mae", L.mae, "ee", "py", (0,), drawer(normal(1.5), normal(1.5)), lambda p, y: np.abs(p - y)),
    Spec("huber", lambda p, y: L.huber(p, y, delta=sp.Rational(3, 4)), "ee", "py", (0,),
         drawer(normal(1.5), normal(1.5)), lambda p, y: special.huber(0.75, p - y)),
    Spec("smooth_l1", lambda p, y: L.smooth_l1(p, y, beta=sp.Rational(1, 2)), "ee", "py", (0,),
         drawer(normal(1.5), normal(1.5)), lambda p, y: special.huber(0.5, p - y) / 0.5),
    Spec("log_cosh", L.log_cosh, "ee", "py", (0,), drawer(normal(3), normal(3)),
         lambda p, y: np.log(np.cosh(p - y))),
    Spec("quantile", lambda p, y: L.quantile(p, y, q=sp.Rational(3, 10)), "ee", "py", (0,),
         drawer(normal(1.5), normal(1.5)),
         lambda p, y: np.where(y - p >= 0, 0.3 * (y - p), -0.7 * (y - p))),
    Spec("poisson_nll", lambda z, y: L.poisson_nll(z, y, full=True), "ee", "zy", (0,),
         drawer(normal(1.0), choice(0, 1, 2, 3, 5)),
         lambda z, y: -stats.poisson.logpmf(y, np.exp(z))),
    Spec("gaussian_nll", lambda m, y, v: L.gaussian_nll(m, y, v, full=True), "eee", "myv", (0, 2),
         drawer(normal(1.0), normal(1.5), uniform(0.5, 2.0)),
         lambda m, y, v: -stats.norm.logpdf(y, m, np.sqrt(v))),
    Spec("bce_with_logits", L.bce_with_logits, "ee", "zy", (0,), drawer(normal(3), uniform(0, 1)),
         tf_sigmoid_xent),
    Spec("binary_cross_entropy", L.binary_cross_entropy, "ee", "py", (0,),
         drawer(uniform(0.05, 0.95), uniform(0, 1)),
         lambda p, y: -(special.xlogy(y, p) + special.xlog1py(1 - y, -p))),
    Spec("softmax_cross_entropy", L.softmax_cross_entropy, "vv", "zy", (0,),
         drawer(normal(2), simplex), rows(lambda z, y: -(y * special.log_softmax(z)).sum()),
         rowwise=True),
    Spec("hinge", L.hinge, "ee", "sy", (0,), drawer(normal(1.5), choice(-1, 1)),
         lambda s, y: np.maximum(0, 1 - y * s)),
    Spec("squared_hinge", L.squared_hinge, "ee", "sy", (0,), drawer(normal(1.5), choice(-1, 1)),
         lambda s, y: np.maximum(0, 1 - y * s)**2),
    Spec("focal", lambda z, y: L.focal(z, y, gamma=2, alpha=sp.Rational(1, 4)), "ee", "zy", (0,),
         drawer(normal(2), choice(0, 1)), torch_focal),
    Spec("kl_divergence", lambda p, q: L.kl_divergence(p, q), "vv", "pq", (1,),
         drawer(simplex, simplex), rows(lambda p, q: special.rel_entr(p, q).sum()), rowwise=True),
    Spec("cosine_embedding", lambda a, b, y: L.cosine_embedding(a, b, y, margin=sp.Rational(1, 10)),
         "vvs", "aby", (0, 1), drawer(normal(1), normal(1), choice(-1, 1)),
         rows(lambda a, b, y: 1 - cosine(a, b) if y > 0 else max(0.0, cosine(a, b) - 0.1)),
         rowwise=True),
    Spec("contrastive", lambda a, b, y: L.contrastive(a, b, y, margin=sp.Rational(5, 2)),
         "vvs", "aby", (0, 1), drawer(normal(1), normal(1), choice(0, 1)),
         rows(lambda a, b, y: y * np.sum((a - b)**2) / 2
              + (1 - y) * max(0.0, 2.5 - np.linalg.norm(a - b))**2 / 2), rowwise=True),
    Spec("triplet_margin", L.triplet_margin, "vvv", "apn", (0, 1, 2),
         drawer(normal(1), normal(1), normal(1)),
         rows(lambda a, p, q: max(0.0, np.linalg.norm(a - p) - np.linalg.norm(a - q) + 1)),
         rowwise=True),
]


def test_table_covers_every_loss():
    assert sorted(s.name for s in SPECS) == sorted(L.LOSSES)
    assert len(L.LOSSES) >= 16


# --- the two forms of a spec ---------------------------------------------------------------

def scalar_inputs(spec):
    """Per-sample symbols: one Symbol per e/s input, a list of K Symbols per v input."""
    out = []
    for name, role in zip(spec.names, spec.roles):
        out.append([sp.Symbol("%s%d" % (name, j)) for j in range(K)] if role == "v"
                   else sp.Symbol(name))
    return out


def matrix_inputs(spec):
    return [sp.MatrixSymbol(name.upper(), n, 1 if role == "s" else k)
            for name, role in zip(spec.names, spec.roles)]


def flat(items):
    return [s for item in items for s in (item if isinstance(item, list) else [item])]


def arrays_for(spec, seed):
    return spec.draw(np.random.default_rng(seed), spec.roles)


def split_wrt(spec, inputs):
    wrt = flat([inputs[i] for i in spec.wrt])
    args = flat([x for i, x in enumerate(inputs) if i not in spec.wrt])
    return wrt, args


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_per_sample_gradient_checks(spec):
    inputs = scalar_inputs(spec)
    expr = spec.build(*inputs)
    wrt, args = split_wrt(spec, inputs)
    arrays = arrays_for(spec, 1)
    values = {}
    for i, (x, a) in enumerate(zip(inputs, arrays)):
        symbols = x if isinstance(x, list) else [x]
        for j, s in enumerate(symbols):
            column = a[:, j]
            values[s] = column[0] if i in spec.wrt else column    # parameters: one value
    report = sg.check_grad(expr, wrt=wrt, args=args, values=values)
    assert report.ok, str(report)
    assert not report.kinks, str(report)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_batch_gradient_checks(spec):
    inputs = matrix_inputs(spec)
    expr = spec.build(*inputs)
    wrt, args = split_wrt(spec, inputs)
    arrays = [a[:3, :2] for a in arrays_for(spec, 2)]     # 3 x 2 keeps the exact side quick
    report = sg.check_grad(expr, wrt=wrt, args=args, values=dict(zip(inputs, arrays)))
    assert report.ok, str(report)
    assert not report.kinks, str(report)


@functools.lru_cache(maxsize=None)
def batch_function(name):
    """(inputs, wrt, args, compiled value_and_grad) of a spec's batch form, compiled once."""
    spec = next(s for s in SPECS if s.name == name)
    inputs = matrix_inputs(spec)
    wrt, args = split_wrt(spec, inputs)
    return inputs, wrt, args, sg.value_and_grad(spec.build(*inputs), wrt=wrt, args=args)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_batch_gradient_matches_finite_differences(spec):
    """The generated batch gradient against central differences of the reference formula."""
    inputs, wrt, args, f = batch_function(spec.name)
    arrays = arrays_for(spec, 7)
    _, grads = f(*[arrays[inputs.index(s)] for s in wrt + args])
    mean_loss = lambda *a: np.mean(spec.ref(*a))      # noqa: E731
    for w, g in zip(wrt, grads):
        position = inputs.index(w)
        for idx in np.ndindex(*arrays[position].shape):
            fd = central_difference(mean_loss, arrays, position, idx, h=1e-6)
            assert g[idx] == pytest.approx(fd, rel=1e-6, abs=1e-8), (spec.name, str(w), idx)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_per_sample_value_matches_reference(spec):
    inputs = scalar_inputs(spec)
    expr = spec.build(*inputs)
    for seed in (3, 4):
        arrays = arrays_for(spec, seed)
        expected = spec.ref(*arrays)
        for i in range(N_ROWS):
            cells = [(i, None)] if spec.rowwise else [(i, j) for j in range(K)]
            for row, col in cells:
                subs = {}
                for x, a, role in zip(inputs, arrays, spec.roles):
                    if role == "v":
                        subs.update({s: sp.Float(v, 30) for s, v in zip(x, a[row])})
                    else:
                        subs[x] = sp.Float(a[row, 0 if role == "s" else col], 30)
                got = float(numeric(expr, subs, 30))
                want = expected[row] if spec.rowwise else expected[row, col]
                assert got == pytest.approx(want, rel=1e-11, abs=1e-13), (spec.name, subs)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_batch_value_matches_reference(spec):
    inputs, wrt, args, f = batch_function(spec.name)
    for seed in (5, 6):
        arrays = arrays_for(spec, seed)
        ordered = [arrays[inputs.index(s)] for s in wrt + args]
        expected = np.mean(spec.ref(*arrays))
        assert float(f.value(*ordered)) == pytest.approx(expected, rel=1e-11, abs=1e-13)


def test_log_cosh_is_finite_where_cosh_overflows():
    p, y = sp.symbols("p y")
    f = sg.value_and_grad(L.log_cosh(p, y), wrt=[p], args=[y])
    value, (dp,) = f(800.0, 0.0)
    assert value == pytest.approx(800 - np.log(2), rel=1e-15)
    assert dp == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("r", [1e-300, 1e-15, 1e-8, 1e-5, 0.3])
def test_log_cosh_keeps_its_digits_for_small_residuals(r):
    # A converged regression has small residuals: log cosh r ~ r^2/2 must not cancel.
    p, y = sp.symbols("p y")
    value, (dp,) = sg.value_and_grad(L.log_cosh(p, y), wrt=[p], args=[y])(r, 0.0)
    with mpmath.workdps(50):
        ref_value, ref_grad = mpmath.log(mpmath.cosh(r)), mpmath.tanh(r)
    assert abs(value - float(ref_value)) <= 1e-14 * float(ref_value) + 1e-300
    assert abs(dp - float(ref_grad)) <= 1e-14 * float(ref_grad)


def test_bce_with_logits_is_finite_at_extreme_logits():
    z, y = sp.symbols("z y")
    f = sg.value_and_grad(L.bce_with_logits(z, y), wrt=[z], args=[y])
    value, (dz,) = f(-1000.0, [1.0])
    assert value == pytest.approx(1000.0, rel=1e-15)
    assert dz == pytest.approx(-1.0, rel=1e-15)


# --- regularizers ---------------------------------------------------------------------------

def reg_reference(name, w):
    l1, l2 = np.abs(w).sum(), (w**2).sum()
    return {"l1": 0.3 * l1, "l2": 0.3 * l2, "elastic_net": 0.3 * (0.25 * l1 + 0.75 / 2 * l2)}[name]


REGULARIZERS = {
    "l1": lambda w: L.l1(w, strength=sp.Rational(3, 10)),
    "l2": lambda w: L.l2(w, strength=sp.Rational(3, 10)),
    "elastic_net": lambda w: L.elastic_net(w, alpha=sp.Rational(3, 10), l1_ratio=sp.Rational(1, 4)),
}


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_regularizer_on_symbols(name):
    ws = list(sp.symbols("w0:3"))
    expr = REGULARIZERS[name](ws)
    values = np.array([0.7, -1.3, 0.4])
    report = sg.check_grad(expr, wrt=ws, values=dict(zip(ws, values)))
    assert report.ok, str(report)
    got = float(numeric(expr, {w: sp.Float(v, 30) for w, v in zip(ws, values)}, 30))
    assert got == pytest.approx(reg_reference(name, values), rel=1e-13)


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_regularizer_on_a_matrix(name):
    d, h = sp.symbols("d h", integer=True, positive=True)
    W = sp.MatrixSymbol("W", d, h)
    expr = REGULARIZERS[name](W)
    value = np.array([[0.7, -1.3, 0.4], [-0.2, 0.9, 1.1]])
    report = sg.check_grad(expr, wrt=[W], values={W: value})
    assert report.ok, str(report)
    f = sg.value_and_grad(expr, wrt=[W])
    assert float(f.value(value)) == pytest.approx(reg_reference(name, value), rel=1e-13)


def test_l2_gradient_is_twice_the_weights():
    d, h = sp.symbols("d h", integer=True, positive=True)
    W = sp.MatrixSymbol("W", d, h)
    value = np.arange(6.0).reshape(2, 3) - 2
    _, (g,) = sg.value_and_grad(L.l2(W), wrt=[W])(value)
    np.testing.assert_allclose(g, 2 * value, rtol=1e-15, atol=0)


# --- bad input ---------------------------------------------------------------------------------

def test_mixing_matrices_and_scalars_is_a_shape_error():
    P = sp.MatrixSymbol("P", n, 1)
    with pytest.raises(ShapeMismatch, match="mse: mix of matrix and scalar"):
        L.mse(P, sp.Symbol("y"))


def test_batch_shapes_must_agree():
    P, Y = sp.MatrixSymbol("P", n, k), sp.MatrixSymbol("Y", n, 1)
    with pytest.raises(ShapeMismatch, match=r"bce_with_logits: P has shape \(n, k\) but Y"):
        L.bce_with_logits(P, Y)


@pytest.mark.parametrize("call, message", [
    (lambda p, y: L.huber(p, y, delta=-1), "huber: delta must be positive"),
    (lambda p, y: L.smooth_l1(p, y, beta=0), "smooth_l1: beta must be positive"),
    (lambda p, y: L.quantile(p, y, q=1.5), "quantile: q must lie strictly between 0 and 1"),
    (lambda p, y: L.focal(p, y, gamma=-1), "focal: gamma must be non-negative"),
    (lambda p, y: L.softmax_cross_entropy([p, y], [y]), "vectors of lengths"),
    (lambda p, y: L.kl_divergence(p, y), "per-sample vectors are non-empty lists"),
    (lambda p, y: L.elastic_net([p], l1_ratio=2), "l1_ratio must lie in"),
    (lambda p, y: L.l2([]), "no parameters given"),
])
def test_bad_hyperparameters_are_clear_errors(call, message):
    p, y = sp.symbols("p y")
    with pytest.raises((ArgumentError, ShapeMismatch), match=message):
        call(p, y)
