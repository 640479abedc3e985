"""No NaN from unselected branches (issue "No silent wrong gradient").

A value computed inside one branch of a Piecewise may be inf where that branch is not
selected (e^800 in ELU's negative branch at z = 800). Every gradient contribution
computed inside a branch must be masked by the condition that selects it, including the
gradient of a parameter used only there (ELU's alpha, a hurdle model's rate), where 0 * inf
used to come out as NaN. Each case is compiled with sg.value_and_grad and called under
``np.errstate(all="raise", under="ignore")`` with warnings as errors; value and gradients
must be finite and match a 50-digit mpmath reference (hand-written formula of the
selected branch, differentiated by mpmath) to 1e-10 relative.
"""

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symgrad as sg

REL = 1e-10
mpf = mpmath.mpf

x, z, w, a, b, y, alpha = sp.symbols("x z w a b y alpha")


def mp_elu(t, al):
    return t if t > 0 else al * mpmath.expm1(t)


def elu(u, al):
    return sp.Piecewise((u, u > 0), (al * (sp.exp(u) - 1), True))


def mp_sigmoid(t):
    return 1 / (1 + mpmath.exp(-t))


def hurdle(a_, b_, y_):
    """Hurdle Poisson negative log-likelihood: pi = sigmoid(a) is P(y = 0), the rate
    exp(b) appears only in the branch y > 0."""
    pi, lam = 1 / (1 + sp.exp(-a_)), sp.exp(b_)
    positive = (-sp.log(1 - pi) - y_ * b_ + lam + sp.loggamma(y_ + 1)
                + sp.log(1 - sp.exp(-lam)))
    return sp.Piecewise((-sp.log(pi), sp.Eq(y_, 0)), (positive, True))


def mp_hurdle(aa, bb, yy):
    if yy == 0:
        return -mpmath.log(mp_sigmoid(aa))
    lam = mpmath.exp(bb)
    return (-mpmath.log(1 - mp_sigmoid(aa)) - yy * bb + lam + mpmath.loggamma(yy + 1)
            + mpmath.log(-mpmath.expm1(-lam)))


# name: (expression, wrt, args, reference(*wrt, *args) per sample, [(wrt values, arg arrays)])
CASES = {
    "ELU(x) with alpha a parameter, x past 710": (
        elu(x, alpha), [x, alpha], [], mp_elu,
        [((800.0, 1.5), ()), ((710.5, 0.5), ()), ((-800.0, 1.5), ()), ((-3.0, 2.0), ())]),
    "ELU(w z) regression, alpha used only in its branch": (
        (elu(w * z, alpha) - y)**2, [w, alpha], [z, y],
        lambda ww, al, zz, yy: (mp_elu(ww * zz, al) - yy)**2,
        [((1.0, 1.5), ([800.0, -3.0], [0.0, 1.0])), ((2.0, 0.5), ([400.0, 360.0], [1.0, 2.0])),
         ((-1.0, 1.5), ([-900.0, 2.0], [0.5, -0.5]))]),
    "hurdle Poisson, rate exp(b) unused where y = 0": (
        hurdle(a, b, y), [a, b], [y], mp_hurdle,
        [((0.5, 800.0), ([0.0, 0.0],)), ((0.5, 720.0), ([0.0],)), ((-2.0, 0.3), ([0.0, 3.0],)),
         ((0.5, 1.2), ([2.0, 5.0],))]),
    "nested branches, parameter in the innermost": (
        sp.Piecewise((x**2, x < 1), (sp.Piecewise((alpha * sp.exp(x), x > 3), (x, True)), True)),
        [x, alpha], [],
        lambda t, al: t**2 if t < 1 else (al * mpmath.exp(t) if t > 3 else t),
        [((-800.0, 2.0), ()), ((2.0, 0.5), ()), ((5.0, 0.5), ())]),
}


def reference(fn, wrt_values, arg_arrays, nwrt):
    """Mean over samples of the value and of each derivative, at 50 digits."""
    samples = list(zip(*arg_arrays)) if arg_arrays else [()]
    with mpmath.workdps(50):
        point = [mpf(v) for v in wrt_values]
        out = [mpf(0)] * (1 + nwrt)
        for sample in samples:
            data = [mpf(v) for v in sample]

            def at(*p):
                return fn(*p, *data)
            out[0] += at(*point)
            for i in range(nwrt):
                order = tuple(1 if j == i else 0 for j in range(nwrt))
                out[1 + i] += mpmath.diff(at, point, order)
        return [v / len(samples) for v in out]


def call(f, wrt_values, arg_arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            value, grads = f(*wrt_values, *arg_arrays)
    return [value, *grads]


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_nan_from_unselected_branches(name):
    expr, wrt, args, ref, points = CASES[name]
    f = sg.value_and_grad(expr, wrt, args)
    for wrt_values, arg_arrays in points:
        got = call(f, wrt_values, arg_arrays)
        want = reference(ref, wrt_values, arg_arrays, len(wrt))
        for label, g, r in zip(["value"] + ["d/d%s" % s for s in wrt], got, want):
            assert np.isfinite(float(g)), "%s at %s %s: %s = %r" % (name, wrt_values, arg_arrays, label, g)
            assert abs(mpf(float(g)) - r) <= REL * abs(r) + 1e-300, \
                "%s at %s %s: %s = %r, reference %s" % (name, wrt_values, arg_arrays, label, g,
                                                        mpmath.nstr(r, 17))


def test_gradient_of_a_parameter_used_only_in_a_branch_is_masked_in_the_code():
    f = sg.value_and_grad(elu(w * z, alpha), [w, alpha], [z])
    line = next(l for l in f.source.splitlines() if l.strip().startswith("grad_alpha ="))
    assert "np.where(" in line, f.source


def test_matrix_elementwise_branch_with_a_scalar_parameter():
    n, k = sp.symbols("n k", integer=True, positive=True)
    Z = sp.MatrixSymbol("Z", n, k)
    loss = sg.msum(Z.applyfunc(lambda t: elu(t, alpha)))
    f = sg.value_and_grad(loss, [Z, alpha])
    zs = np.array([[800.0, -2.0, 1.0], [-900.0, 720.0, 0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            value, (gz, galpha) = f(zs, 1.5)
    with mpmath.workdps(30):
        want_value = sum(mp_elu(mpf(t), mpf(1.5)) for t in zs.ravel())
        want_alpha = sum(mpmath.expm1(mpf(t)) for t in zs.ravel() if t <= 0)
    assert abs(float(value) - float(want_value)) <= REL * abs(float(want_value))
    assert abs(float(galpha) - float(want_alpha)) <= REL * abs(float(want_alpha))
    want_z = np.where(zs > 0, 1.0, 1.5 * np.exp(np.minimum(zs, 0)))
    np.testing.assert_allclose(gz, want_z, rtol=REL, atol=0)
    shown = sg.grad(loss, alpha)            # no variable of an elementwise map leaks out of it
    assert shown.free_symbols <= {Z}, shown


def test_what_grad_shows_is_unchanged_by_the_mask():
    shown = sg.grad(elu(w * z, alpha), alpha)
    assert shown == sp.Piecewise((sp.exp(w * z) - 1, w * z <= 0), (0, True))
