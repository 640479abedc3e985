"""Generated code stays finite and accurate at extreme inputs (issue: numerically stable code).

Every case is a loss written the way people write it. At each extreme point the
generated value and every gradient must be finite and match a high-precision
mpmath reference (hand-written formula, differentiated by mpmath) to a relative
error of 1e-10, or to an absolute error of 1e-300 where the true value
underflows. Each case also shows that plain ``sympy.lambdify`` of the same
expression (and of ``sympy.diff`` of it) gives inf, NaN or a large error at the
same points, so the rewrite is needed.
"""

import functools
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from helpers import as_real, numeric

REL, UNDERFLOW = 1e-10, 1e-300
DPS = 1200          # working digits: e**-1000 still has 50 correct digits beside 1

z, y, x, p = sp.symbols("z y x p")
z1, z2, z3 = sp.symbols("z1 z2 z3")
sigma = 1 / (1 + sp.exp(-z))
SIGMOID, SOFTPLUS = sg.sigmoid(z).func, sg.softplus(z).func      # symgrad's node types
total = sp.exp(z1) + sp.exp(z2) + sp.exp(z3)
m = mpmath.mpf


def mp_sigmoid(t):
    return 1 / (1 + mpmath.exp(-t))


def mp_lse(*ts):
    return mpmath.log(sum(mpmath.exp(t) for t in ts))


# name: (expression, wrt, args, reference(*wrt_values, *arg_values), points)
CASES = {
    "sigmoid 1/(1+exp(-z))": (
        sigma, [z], [], lambda t: mp_sigmoid(t),
        [(-1000.0,), (-745.0,), (-40.0,), (0.5,), (40.0,), (745.0,), (1000.0,)]),
    "sigmoid exp(z)/(1+exp(z))": (
        sp.exp(z) / (1 + sp.exp(z)), [z], [], lambda t: mp_sigmoid(t),
        [(-1000.0,), (-100.0,), (100.0,), (1000.0,)]),
    "binary cross-entropy, naive": (
        -y * sp.log(sigma) - (1 - y) * sp.log(1 - sigma), [z], [y],
        lambda t, yy: -yy * mpmath.log(mp_sigmoid(t)) - (1 - yy) * mpmath.log(1 - mp_sigmoid(t)),
        [(zz, yy) for zz in (-1000.0, -100.0, -40.0, 0.5, 40.0, 100.0, 1000.0) for yy in (0.0, 1.0, 0.25)]),
    "softplus log(1+exp(z))": (
        sp.log(1 + sp.exp(z)), [z], [], lambda t: mpmath.log(1 + mpmath.exp(t)),
        [(-1000.0,), (-40.0,), (40.0,), (800.0,), (1000.0,)]),
    "logistic loss log(1+exp(-y*z))": (
        sp.log(1 + sp.exp(-y * z)), [z], [y], lambda t, yy: mpmath.log(1 + mpmath.exp(-yy * t)),
        [(1000.0, 1.0), (1000.0, -1.0), (-900.0, 1.0), (30.0, -1.0)]),
    "log(1 + x)": (
        sp.log(1 + x), [x], [], lambda t: mpmath.log(1 + t),
        [(1e-15,), (-1e-15,), (3e-12,), (1e-10,)]),
    "exp(x) - 1": (
        sp.exp(x) - 1, [x], [], lambda t: mpmath.exp(t) - 1,
        [(1e-15,), (-1e-15,), (2e-13,), (-7e-11,)]),
    "softmax cross-entropy, naive": (
        -sp.log(sp.exp(z1) / total), [z1, z2, z3], [], lambda a, b, c: mp_lse(a, b, c) - a,
        [(500.0, 300.0, -200.0), (-300.0, 200.0, 100.0), (800.0, 799.0, -800.0),
         (-700.0, -710.0, -705.0), (100.0, 100.0, 100.0)]),
    "softmax probability exp(z1)/sum(exp)": (
        sp.exp(z1) / total, [z1, z2, z3], [], lambda a, b, c: mpmath.exp(a - mp_lse(a, b, c)),
        [(500.0, 300.0, -200.0), (-300.0, 200.0, 100.0), (800.0, 799.0, -800.0)]),
    "log-sum-exp, naive": (
        sp.log(total), [z1, z2, z3], [], mp_lse,
        [(500.0, 300.0, -200.0), (-900.0, -950.0, -1000.0), (800.0, 799.0, 798.0)]),
    "log-cosh loss log(cosh(x))": (
        sp.log(sp.cosh(x)), [x], [], lambda t: mpmath.log(mpmath.cosh(t)),
        [(1000.0,), (-800.0,), (1e-8,), (3.0,)]),
    "log-cosh written log((e^x + e^-x)/2)": (
        sp.log((sp.exp(x) + sp.exp(-x)) / 2), [x], [], lambda t: mpmath.log(mpmath.cosh(t)),
        [(1000.0,), (-800.0,), (1e-15,), (1e-8,), (1e-5,), (3.0,)]),
    "log-cosh written log(e^x + e^-x) - log 2": (
        sp.log(sp.exp(x) + sp.exp(-x)) - sp.log(2), [x], [], lambda t: mpmath.log(mpmath.cosh(t)),
        [(1000.0,), (-800.0,), (1e-15,), (1e-8,), (1e-5,), (3.0,)]),
    "sigmoid to a fractional power": (
        sigma**sp.Rational(7, 10), [z], [], lambda t: mp_sigmoid(t)**mpmath.mpf("0.7"),
        [(-800.0,), (-40.0,), (0.5,), (40.0,), (800.0,)]),
    "generalized cross-entropy (1 - p^q)/q, p = 1/(1+exp(-z))": (
        (1 - sigma**sp.Rational(7, 10)) / sp.Rational(7, 10), [z], [],
        lambda t: (1 - mp_sigmoid(t)**mpmath.mpf("0.7")) / mpmath.mpf("0.7"),
        [(-800.0,), (-40.0,), (0.5,), (40.0,), (300.0,)]),
    "sinc near 0 (its derivative cancels as written)": (
        sp.sinc(x), [x], [], lambda t: mpmath.sin(t) / t,
        [(1e-8,), (1e-5,), (-1e-3,), (0.3,), (-3.0,)]),
    "log(1 - exp(-x))": (
        sp.log(1 - sp.exp(-x)), [x], [], lambda t: mpmath.log(1 - mpmath.exp(-t)),
        [(1e-10,), (0.5,), (50.0,), (700.0,)]),
    "log(exp(x) - 1)": (
        sp.log(sp.exp(x) - 1), [x], [], lambda t: mpmath.log(mpmath.exp(t) - 1),
        [(1e-12,), (3.0,), (800.0,)]),
    "log(exp(3z) + exp(-2z) + 1)": (
        sp.log(sp.exp(3 * z) + sp.exp(-2 * z) + 1), [z], [],
        lambda t: mpmath.log(mpmath.exp(3 * t) + mpmath.exp(-2 * t) + 1),
        [(-1000.0,), (-300.0,), (0.5,), (300.0,), (1000.0,)]),
    "tanh written with exp": (
        (sp.exp(z) - sp.exp(-z)) / (sp.exp(z) + sp.exp(-z)), [z], [], mpmath.tanh,
        [(-1000.0,), (-100.0,), (-30.0,), (1e-15,), (30.0,), (100.0,), (1000.0,)]),
    "log(exp(z) + exp(-z)) near 0": (
        sp.log(sp.exp(z) + sp.exp(-z)), [z], [], lambda t: mpmath.log(mpmath.exp(t) + mpmath.exp(-t)),
        [(1e-15,), (-1e-15,), (1e-8,), (-900.0,), (900.0,)]),
    "softplus(z) - z": (
        sp.log(1 + sp.exp(z)) - z, [z], [], lambda t: mpmath.log(1 + mpmath.exp(t)) - t,
        [(30.0,), (36.0,), (700.0,), (-700.0,)]),
    "log(2*exp(z))": (
        sp.log(2 * sp.exp(z)), [z], [], lambda t: mpmath.log(2 * mpmath.exp(t)),
        [(-1000.0,), (-745.0,), (1000.0,)]),
    "KL with a sigmoid: y*log(y/s) + (1-y)*log((1-y)/(1-s))": (
        y * sp.log(y / sigma) + (1 - y) * sp.log((1 - y) / (1 - sigma)), [z], [y],
        lambda t, yy: yy * mpmath.log(yy / mp_sigmoid(t)) + (1 - yy) * mpmath.log((1 - yy) / (1 - mp_sigmoid(t))),
        [(-1000.0, 0.3), (-700.0, 0.3), (0.5, 0.3), (700.0, 0.3), (1000.0, 0.3)]),
    "KL term y*log(y/p) at y = 0": (
        y * sp.log(y / p), [p], [y], lambda pp, yy: yy * mpmath.log(yy / pp) if yy else m(0),
        [(0.3, 0.0), (1e-20, 0.0), (0.5, 0.25)]),
}


def _value_and_grads(fn, point, nwrt):
    """[fn, d fn/d arg_0, ..., d fn/d arg_(nwrt-1)] at ``point``, by mpmath at DPS digits."""
    with mpmath.workdps(DPS):
        args = [m(v) for v in point]
        value = fn(*args)
        grads = []
        for i in range(nwrt):
            order = tuple(1 if j == i else 0 for j in range(len(args)))
            grads.append(mpmath.diff(fn, args, order))
        return [value] + grads


@functools.lru_cache(maxsize=None)
def _reference(name, point):
    """The mpmath reference of a case at a point (shared by both tests of the case)."""
    _, wrt, _, ref_fn, _ = CASES[name]
    return _value_and_grads(ref_fn, point, len(wrt))


def _close(got, ref):
    got = float(got)
    if not np.isfinite(got):
        return False
    err = abs(mpmath.mpf(got) - ref)
    return err <= REL * abs(ref) or (abs(ref) < UNDERFLOW and err <= UNDERFLOW)


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_code_is_accurate_at_extreme_inputs(name):
    expr, wrt, args, ref_fn, points = CASES[name]
    f = sg.value_and_grad(expr, wrt, args)
    for point in points:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(all="raise", under="ignore"):
                value, grads = f(*point)
        got = [value, *grads]
        ref = _reference(name, point)
        for label, g, r in zip(["value"] + ["d/d%s" % w for w in wrt], got, ref):
            assert _close(g, r), "%s at %s: %s = %r, reference %s" % (
                name, point, label, g, mpmath.nstr(r, 20))


@pytest.mark.parametrize("name", sorted(CASES))
def test_plain_lambdify_fails_on_the_same_inputs(name):
    expr, wrt, args, ref_fn, points = CASES[name]
    symbols = wrt + args
    naive = [sp.lambdify(symbols, expr, "numpy")] + \
        [sp.lambdify(symbols, sp.diff(expr, w), "numpy") for w in wrt]
    failures = 0
    for point in points:
        ref = _reference(name, point)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = [fn(*[np.float64(v) for v in point]) for fn in naive]
        failures += sum(not _close(g, r) for g, r in zip(got, ref))
    assert failures > 0, "plain lambdify handled %s everywhere: the case does not test a rewrite" % name


# --- the matrix level ---------------------------------------------------------------

n, k = sp.symbols("n k", integer=True, positive=True)
Z = sp.MatrixSymbol("Z", n, k)
Y = sp.MatrixSymbol("Y", n, k)
E = Z.applyfunc(sp.exp)
row_sums = E * sp.OneMatrix(k, 1)
probs = sp.HadamardProduct(E, (row_sums * sp.OneMatrix(1, k)).applyfunc(lambda t: 1 / t))
sig = Z.applyfunc(lambda t: 1 / (1 + sp.exp(-t)))
ones = sp.OneMatrix(n, k)

def mp_softmax_ce_row(zs, ys):
    return -sum(yj * (zj - mp_lse(*zs)) for zj, yj in zip(zs, ys))


def mp_bce_row(zs, ys):
    return sum(-yj * mpmath.log(mp_sigmoid(zj)) - (1 - yj) * mpmath.log(1 - mp_sigmoid(zj))
               for zj, yj in zip(zs, ys))


# name: (expression, reference loss of one row (logits, targets)); the loss is their sum
MATRIX_CASES = {
    "softmax cross-entropy, exp / row sums": (
        -sg.msum(sp.HadamardProduct(Y, probs.applyfunc(sp.log))), mp_softmax_ce_row),
    "softmax cross-entropy, log(softmax(Z))": (
        -sg.msum(sp.HadamardProduct(Y, sg.softmax(Z).applyfunc(sp.log))), mp_softmax_ce_row),
    "binary cross-entropy, naive sigmoid": (
        sg.msum(-sp.HadamardProduct(Y, sig.applyfunc(sp.log))
                - sp.HadamardProduct(ones - Y, (ones - sig).applyfunc(sp.log))), mp_bce_row),
}
LOGITS = np.array([[500.0, 300.0, -200.0], [-300.0, 200.0, 100.0], [800.0, 799.0, -800.0],
                   [-1000.0, 1000.0, 0.5]])
TARGETS = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])


@functools.lru_cache(maxsize=None)
def _matrix_reference(name):
    """Loss and dL/dZ at LOGITS, TARGETS: row losses summed; each entry's derivative is
    mpmath.diff of its own row's loss (the other rows do not depend on it)."""
    row_fn = MATRIX_CASES[name][1]
    value, grads = 0, np.empty(LOGITS.shape, dtype=object)
    for i, (zs, ys) in enumerate(zip(LOGITS, TARGETS)):
        targets = [m(v) for v in ys]
        row = _value_and_grads(lambda *logits: row_fn(logits, targets), zs, len(zs))
        value, grads[i] = value + row[0], row[1:]
    return value, grads


@pytest.mark.parametrize("name", sorted(MATRIX_CASES))
def test_matrix_losses_are_accurate_at_extreme_logits(name):
    expr, _ = MATRIX_CASES[name]
    f = sg.value_and_grad(expr, [Z], [Y])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, (grad,) = f(LOGITS, TARGETS)
    ref_value, ref_grad = _matrix_reference(name)
    assert _close(value, ref_value), "%s: value %r, reference %s" % (name, value, mpmath.nstr(ref_value, 20))
    for idx in np.ndindex(*LOGITS.shape):
        assert _close(grad[idx], ref_grad[idx]), "%s: d/dZ%s = %r, reference %s" % (
            name, idx, grad[idx], mpmath.nstr(ref_grad[idx], 20))


@pytest.mark.parametrize("name", sorted(MATRIX_CASES))
def test_plain_lambdify_fails_on_the_matrix_losses(name):
    expr, _ = MATRIX_CASES[name]
    rows, cols = LOGITS.shape
    zs = sp.Matrix(rows, cols, lambda i, j: sp.Symbol("z_%d_%d" % (i, j)))
    explicit = expr.xreplace({Z: zs, Y: sp.Matrix(TARGETS)}).subs({n: rows, k: cols}).doit()
    explicit = sp.sympify(explicit)
    fn = sp.lambdify(list(zs), explicit, "numpy")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive = fn(*LOGITS.ravel())
    ref_value, _ = _matrix_reference(name)
    assert not _close(naive, ref_value), "plain lambdify computed %s accurately" % name


def test_rewrites_leave_what_the_user_sees_unchanged():
    # the code's stable forms (softplus) stay in the code; the user sees the gradient a person
    # writes, sigma(z) - y, not the exp/(1 + exp) quotient the chain rule produces
    expr = -y * sp.log(sigma) - (1 - y) * sp.log(1 - sigma)
    shown = sg.grad(expr, z)
    assert not shown.has(SOFTPLUS) and shown == SIGMOID(z) - y
    assert sp.simplify((shown - sp.diff(expr.subs(z, sp.Symbol("z", real=True)),
                                        sp.Symbol("z", real=True)).subs(sp.Symbol("z", real=True), z))
                       .rewrite(sp.exp)) == 0
    f = sg.value_and_grad(expr, [z], [y])
    assert "expit" in f.source and "_softplus" in f.source
    naive = sg.value_and_grad(expr, [z], [y], stable=False)
    assert "expit" not in naive.source


def test_check_grad_compares_rewritten_code_with_original_math():
    expr = -sp.log(sp.exp(z1) / total)
    report = sg.check_grad(expr, [z1, z2, z3], [])
    assert report.ok, str(report)


def test_an_option_shows_the_stable_form():
    expr = -y * sp.log(sigma) - (1 - y) * sp.log(1 - sigma)
    loss, (dz,) = sg.value_and_grad(expr, [z], [y]).stable_form
    assert loss.has(SOFTPLUS) and dz.has(SIGMOID)
    derivative = sp.diff(as_real(expr), as_real(z))
    for value in (-3, sp.Rational(1, 2), 4):
        point = {z: value, y: sp.Rational(1, 3)}
        assert abs(numeric(loss, point, 40) - numeric(expr, point, 40)) < 1e-35
        assert abs(numeric(dz, point, 40) - numeric(derivative, point, 40)) < 1e-35


def test_the_command_line_shows_the_stable_form(capsys):
    from symgrad.cli import main
    code = main(["derive", "log(1 + exp(w*x))", "--wrt", "w", "--stable", "--no-check"])
    out = capsys.readouterr().out
    assert code == 0 and "stable form" in out and "softplus" in out


def test_expm1_gradient_keeps_its_digits_for_negative_arguments():
    f = sg.value_and_grad(sp.exp(x) - 1, [x])
    for t in (-30.0, -36.0, -100.0, -700.0):
        _, (g,) = f(t)
        assert _close(g, mpmath.exp(t)), (t, g)
