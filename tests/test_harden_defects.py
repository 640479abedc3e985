"""Defects an adversarial probe found (issue #18), one test each.

- binary cross-entropy at p = 1, y = 1 (and p = 0, y = 0) is 0 with a finite gradient, not NaN:
  (1 - y) log(1 - p) becomes xlog1py, whose rule is 0 where its weight is 0;
- register_function checks its derivative densely, both signs out to |x| = 8: a rule that is
  wrong only far from 0 is refused;
- fit refuses NaN or infinite data and complex data, naming the symbol and the entry;
- a compiled function never drops an imaginary part silently;
- value_and_grad with an input MatrixSymbol whose shape differs from the one in the loss
  (after loss.subs(n, 8)) is a ShapeMismatch naming it, not a KeyError from codegen;
- the command line reads I as a symbol, not the imaginary unit.
"""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from cli_helpers import run
from symgrad.errors import ArgumentError, RuleMismatch, ShapeMismatch

p, y, w, x = sp.symbols("p y w x", real=True)


@pytest.mark.parametrize("form", ["zoo", "naive"])
def test_bce_at_the_ends_is_zero_not_nan(form):
    loss = sg.losses.binary_cross_entropy(p, y) if form == "zoo" else \
        -y * sp.log(p) - (1 - y) * sp.log(1 - p)
    f = sg.value_and_grad(loss, [p], [y])
    with np.errstate(all="ignore"):
        for pv, yv, grad in ((1.0, 1.0, -1.0), (0.0, 0.0, 1.0)):
            value, (g,) = f(pv, yv)
            assert value == 0.0 and g == grad, (pv, yv, value, g)
        value, (g,) = f(0.25, 1.0)
    assert value == pytest.approx(np.log(4), rel=1e-15) and g == pytest.approx(-4.0, rel=1e-15)


def test_xlog1py_keeps_small_terms():
    f = sg.value_and_grad(-(1 - y) * sp.log(1 - p), [p], [y])
    value, (g,) = f(1e-20, 0.0)
    assert value == pytest.approx(1e-20, rel=1e-15) and g == pytest.approx(1.0, rel=1e-15)


def test_register_function_catches_a_rule_wrong_far_from_zero():
    with pytest.raises(RuleMismatch, match="x = -7.7|x = 4.4|x = 6.1|x = 7.9|x = -5.3"):
        # d/dx softsign is 1/(1+|x|)^2; this rule agrees with it for |x| < 4 only
        sg.register_function("softsign_far", derivative=lambda t: sp.Piecewise(
            (1 / (1 + sp.Abs(t))**2, sp.Abs(t) < 4), (0, True)),
            numpy=lambda t: t / (1 + np.abs(t)), mpmath=lambda t: t / (1 + abs(t)))


def test_fit_refuses_nan_and_complex_data():
    xs, ys = np.array([1.0, np.nan, 3.0]), np.array([1.0, 2.0, 3.0])
    with pytest.raises(ArgumentError, match=r"x hold 1 NaN or infinite entry \(the first at index \(1,\)\)"):
        sg.fit((w * x - y)**2, {w: 0.0}, {x: xs, y: ys}, sg.GD(), 5)
    with pytest.raises(ArgumentError, match="x are complex"):
        sg.fit((w * x - y)**2, {w: 0.0}, {x: ys + 1j, y: ys}, sg.GD(), 5)
    with pytest.raises(ArgumentError, match="w hold"):
        sg.fit((w * x - y)**2, {w: np.inf}, {x: ys, y: ys}, sg.GD(), 5)


def test_complex_values_are_never_cast_to_float():
    f = sg.value_and_grad((w * x - y)**2, [w], [x, y])
    value, (g,) = f(1.0 + 2j, np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert np.iscomplexobj(value) and np.iscomplexobj(g)
    assert value == pytest.approx(np.mean([(2j * v)**2 for v in (1.0, 2.0)]))


def test_an_input_of_another_shape_is_named():
    m = sg.models.mlp([5, 4, 3], activation="tanh", loss="softmax")
    n = next(s for s in m.loss.free_symbols if str(s) == "n")
    with pytest.raises(ShapeMismatch, match=r"X is 8 x 5 in the expression but n x 5"):
        sg.value_and_grad(m.loss.subs(n, 8), m.params, m.data)


def test_cli_reads_I_as_a_symbol(capsys):
    code, out, err = run(capsys, "derive", "I*w**2", "--wrt", "w")
    assert code == 0 and "d/dw = 2*I*w" in out and "check_grad: OK" in out
