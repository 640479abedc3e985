"""API misuse found by an adversarial probe: seeds, point counts and fixed values are checked
before any work, with ArgumentError or ShapeMismatch naming the argument (never a raw NumPy,
flint or TypeError from deep inside, never a text value parsed)."""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg

w, x = sp.symbols("w x")
n, d = sp.symbols("n d", integer=True, positive=True)
X, W = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("W", d, 1)


@pytest.mark.parametrize("bad", [-1, 2.5, "a", True, None])
def test_seeds_are_non_negative_ints_everywhere(bad):
    calls = (lambda: sg.check_grad(w**2 * x, [w], [x], seed=bad),
             lambda: sg.verify(w, w, seed=bad),
             lambda: sg.fit(w**2 * x, {w: 0.0}, {x: [1.0, 2.0]}, seed=bad, steps=2))
    for call in calls:
        with pytest.raises(sg.ArgumentError, match="seed must be an int"):
            call()


@pytest.mark.parametrize("bad", [0, -3, "3", 2.0])
def test_point_counts_are_positive_ints(bad):
    with pytest.raises(sg.ArgumentError, match="points must be an int"):
        sg.check_grad(w**2 * x, [w], [x], points=bad)
    with pytest.raises(sg.ArgumentError, match="points must be an int"):
        sg.verify(w, w, points=bad)


def test_fixed_arrays_whose_shapes_disagree_name_the_dimension():
    loss = sp.Trace((X * W).T * (X * W))
    with pytest.raises(sg.ShapeMismatch, match=r"d = 3, but d = 2 from values\[W\]"):
        sg.check_grad(loss, [W], [X], values={W: np.ones((2, 1)), X: np.ones((5, 3))})
    assert sg.check_grad(loss, [W], [X], values={W: np.ones((3, 1)), X: np.ones((5, 3))}).ok


def test_a_text_value_is_refused_not_parsed():
    with pytest.raises(sg.ArgumentError, match="strings are never parsed"):
        sg.check_grad(w**2 * x, [w], [x], values={w: "1"})


def test_inputs_too_large_to_draw_are_refused_before_any_work():
    huge = sp.MatrixSymbol("H", 10**9, 10**9)
    with pytest.raises(sg.SymgradError, match="H is 1000000000 x 1000000000"):
        sg.check_grad(sg.msum(huge)**2, [huge])


def test_compiled_functions_take_inputs_by_name():
    f = sg.value_and_grad(w**2 * x, [w], [x])
    assert f(w=1.0, x=2.0) == f(1.0, 2.0) == f(1.0, x=2.0)
    with pytest.raises(sg.ArgumentError, match="missing x"):
        f(w=1.0)
    with pytest.raises(sg.ArgumentError, match="given twice"):
        f(1.0, w=2.0)
    with pytest.raises(sg.ArgumentError, match="no input is named 'q'"):
        f(q=1.0, x=1.0)


@pytest.mark.parametrize("derivative", [lambda t: 1 / 0, lambda t, u: t])
def test_a_failing_derivative_callable_is_an_argument_error(derivative):
    with pytest.raises(sg.ArgumentError, match="derivative\\(x\\) raised"):
        sg.register_function("broken_rule", derivative=derivative, numpy=np.arctan)


def test_matrix_functions_refuse_text():
    with pytest.raises(sg.ArgumentError, match="strings are never parsed"):
        sg.msum("X")
