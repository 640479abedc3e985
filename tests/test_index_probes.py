"""Index notation, found by probing: parameters the loss never reads, sizes passed as
arguments, and losses at extreme inputs (logits near 1000) against a high-precision
reference."""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg

i, j, c = sp.symbols("i j c", integer=True)
n, d, C = sp.symbols("n d C", integer=True, positive=True)
x, y, w, W, V, Y = (sp.IndexedBase(name) for name in "x y w W V Y".split())
b = sp.Symbol("b")
MSE = sp.Sum((sp.Sum(w[j] * x[i, j], (j, 0, d - 1)) + b - y[i])**2, (i, 0, n - 1)) / n
RNG = np.random.default_rng(0)
XS, YS = RNG.normal(size=(5, 3)), RNG.normal(size=5)


# --- parameters the loss never reads, sizes as arguments -------------------------------------

def test_a_parameter_the_loss_never_reads_gets_zeros_of_its_own_shape():
    f = sg.value_and_grad(MSE, [w, b, V], [x, y])
    for shape in [(2, 3), (4,), (2, 2, 2)]:
        _, grads = f(np.ones(3), 0.5, np.ones(shape), XS, YS)
        assert grads[2].shape == shape and not np.any(grads[2])
    assert sg.grad(MSE, V) == 0 and sg.grad(MSE, V[i, j]) == 0


def test_a_declared_shape_of_an_unread_parameter_is_checked():
    V2 = sp.IndexedBase("V2", shape=(d, d))
    f = sg.value_and_grad(MSE, [w, b, V2], [x, y])
    assert f(np.ones(3), 0.5, np.ones((3, 3)), XS, YS)[1][2].shape == (3, 3)
    with pytest.raises(sg.ShapeMismatch, match="V2"):
        f(np.ones(3), 0.5, np.ones((3, 3, 3)), XS, YS)


def test_a_size_read_from_a_shape_and_passed_as_an_argument_is_an_error():
    with pytest.raises(sg.ArgumentError, match="n is a size, read from axis 0 of x"):
        sg.value_and_grad(MSE, [w, b], [x, y, n])


def test_a_size_no_array_gives_is_an_argument_and_must_be_given():
    L = sp.Sum((b - 1)**2, (i, 0, n - 1)) + sp.Sum(w[j]**2, (j, 0, d - 1))
    with pytest.raises(sg.ArgumentError, match="the size n is the length of no array"):
        sg.value_and_grad(L, [w, b], [])
    f = sg.value_and_grad(L, [w, b], [n])
    value, (gw, gb) = f(np.ones(3), 3.0, 4)
    assert value == 4 * 4 + 3 and gb == 4 * 4 and np.array_equal(gw, 2 * np.ones(3))
    with pytest.raises(sg.ArgumentError, match="whole number"):
        f(np.ones(3), 3.0, 2.5)


def test_a_sum_over_an_index_its_terms_do_not_use_counts_the_copies():
    L = sp.Sum(sp.Sum(b * w[j]**2, (i, 0, n - 1)), (j, 0, d - 1))       # = n b Σ_j w_j²
    assert sp.simplify(sg.grad(L, b) - n * sp.Sum(w[j]**2, (j, 0, d - 1))) == 0
    value, (gw, gb) = sg.value_and_grad(L, [w, b], [n])(np.ones(3), 2.0, 4)
    assert value == 24 and gb == 12 and np.array_equal(gw, 16 * np.ones(3))


# --- stable forms at extreme inputs, against 30-digit arithmetic ------------------------------

DIGITS = 600          # e^-1000 next to 1 needs more than 434 digits


def _extreme(name, scale):
    from test_index import MODELS, _arrays
    expr, wrt, args, sizes = MODELS[name]
    values = _arrays(name, expr, wrt, args, sizes)
    for q in wrt:
        values[q] = values[q] * scale
    return expr, wrt, args, sizes, values


@pytest.mark.parametrize("name, scale", [
    ("softmax regression", 1000),             # logits ~ 1000: log Σ exp over the class index
    ("logistic, naive sigmoid", 1000),        # log(1/(1 + exp(-z))), log(1 - 1/(1 + exp(-z)))
    ("logistic regression", -1000),           # softplus
    ("KL to a softmax", 1000),                # log Σ_s exp(w_s) beside y_c w_c
    ("single-head attention", 60),            # scores ~ 1000: exp(a)/Σ exp(u) as exp(a - LSE)
    ("log-cosh", 1000),
])
def test_index_losses_are_stable_at_extreme_inputs(name, scale):
    from test_index import _exact
    expr, wrt, args, sizes, values = _extreme(name, scale)
    f = sg.value_and_grad(expr, wrt=wrt, args=args)
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # e^-1000 = 0 is right
        value, grads = f(*[values[q] for q in wrt + args])
    exact = float(_exact(expr, sizes, values, DIGITS))
    assert abs(value - exact) <= 1e-9 * (1 + abs(exact)), (name, value, exact)
    for p, g in zip(wrt, grads):
        target = tuple(sp.Symbol("a%d" % m, integer=True) for m in range(np.ndim(g)))
        sym = sg.grad(expr, p[target] if target else p)
        for index in np.ndindex(*np.shape(g)):
            want = float(_exact(sym.xreplace({a: sp.Integer(v) for a, v in zip(target, index)}),
                                sizes, values, DIGITS))
            assert abs(g[index] - want) <= 1e-8 * (1 + abs(want)), (name, p, index, g[index], want)


def test_the_stable_forms_are_in_the_code_and_not_in_what_grad_shows():
    from test_index import MODELS
    expr, wrt, args, _ = MODELS["softmax regression"]
    assert "_logsumexp(" in sg.value_and_grad(expr, wrt, args).source
    assert sg.grad(expr, wrt[0]).has(sp.exp) and not sg.grad(expr, wrt[0]).atoms(sp.Function) - \
        set(sg.grad(expr, wrt[0]).atoms(sp.exp, sp.log))
