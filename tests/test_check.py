"""The gradient checker itself: it passes right gradients, fails wrong ones, and says why."""

import math

import numpy as np
import pytest
import sympy as sp

import symgrad as sg

w, b, x, y = sp.symbols("w b x y")
n = sp.Symbol("n", integer=True, positive=True)
W, A, V = (sp.MatrixSymbol(s, n, n) for s in "WAV")


def test_complex_step_is_used_where_the_loss_is_analytic():
    report = sg.check_grad(sp.log(1 + sp.exp(w * x)) + sp.sin(b) * w, [w, b], [x])
    assert report.ok
    for row in report.rows:
        assert "symbolic~complex" in row.compared
        assert row.errors["symbolic~complex"][1] < 1e-12
    assert "complex" in str(report)


def test_complex_step_is_skipped_at_kinks_of_the_expression():
    report = sg.check_grad(sp.Abs(w - x) + w**2, [w], [x])
    assert report.ok
    assert "symbolic~complex" not in report.rows[0].compared
    assert "n/a" in str(report)


@pytest.mark.parametrize("expr, wrt, args", [
    (sp.log(1 + sp.exp(-y * (w * x + b))), [w, b], [x, y]),
    (sp.sin(w) * sp.exp(b * w) + sp.atan(w * b), [w, b], []),
    (sp.Piecewise((w**3, w > 0), (w**2, True)) * x, [w], [x]),
])
def test_second_order_check_passes_right_hessians(expr, wrt, args):
    report = sg.check_grad(expr, wrt, args, order=2)
    assert report.ok, str(report)
    assert "second derivatives" in " ".join(report.notes)


@pytest.mark.parametrize("expr", [sp.Trace(W.T * A * W * W.T), sp.log(sp.Determinant(W)),
                                  sg.msum(W.applyfunc(sp.tanh))])
def test_second_order_check_of_matrix_parameters_uses_directions(expr):
    args = [A] if expr.has(A) else []
    report = sg.check_grad(expr, [W], args, order=2)
    assert report.ok, str(report)
    assert "direction" in " ".join(report.notes)


# check_grad failing on a wrong first- or second-derivative rule: test_internals.py.


def test_unknown_order_is_refused():
    with pytest.raises(sg.SymgradError, match="order"):
        sg.check_grad(w**2, [w], order=3)


def test_hessian_of_a_matrix_with_numeric_dimensions_is_explicit():
    M = sp.MatrixSymbol("M", 2, 2)
    H = sg.hessian(sp.Trace(M.T * M), [M])
    assert H == 2 * sp.eye(4)


def test_hessian_vector_product_keeps_symbolic_dimensions():
    hv = sg.hessian(sp.Trace(W.T * A * W), W, direction=V)
    assert hv.shape == (n, n)
    rng = np.random.default_rng(0)
    a, v = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    value = sp.lambdify([A, V], hv.subs(n, 3))(a, v)
    np.testing.assert_allclose(value, a @ v + a.T @ v, rtol=1e-12)


def test_hessian_of_symbolic_matrix_without_direction_is_the_kronecker_form():
    assert sg.hessian(sp.Trace(W.T * W), [W]) == 2 * sp.Identity(n * n)      # over row-major vec(W)
    assert str(sg.hessian(sp.Trace(W.T * A * W), W)) == "(A + Aᵀ) ⊗ I"


def test_kinks_are_listed_not_failed():
    report = sg.check_grad(sp.Abs(w) + sp.Max(w, b), [w, b], values={w: 0.0, b: 0.0})
    assert not report.ok and report.vacuous and not report.blame   # nothing compared: not OK
    assert report.kinks and "not compared" in report.kinks[0]
    assert "MISMATCH" not in str(report)


def test_large_batches_are_subsampled_on_the_exact_side_and_say_so():
    xs = np.linspace(-1, 1, 50)
    report = sg.check_grad((w * x - 1)**2, [w], [x], values={x: xs})
    assert report.ok
    assert any("first 8 of 50" in note for note in report.notes)


# --- extreme logits -------------------------------------------------------------------------

SIG = 1 / (1 + sp.exp(-sp.Symbol("z")))


@pytest.mark.parametrize("z", [40.0, 120.0, 1000.0, -1000.0])
def test_right_gradients_pass_at_extreme_logits(z):
    # At z = 1000, 1 - 1/(1 + e^-z) cancels: evalf at 50 digits returns 1.5e-248 for a
    # gradient of 0.7, so the symbolic side must raise its precision until it settles.
    zs, y = sp.symbols("z y")
    bce = -(y * sp.log(SIG) + (1 - y) * sp.log(1 - SIG))
    report = sg.check_grad(bce, [zs], [y], values={zs: z, y: 0.3})
    assert report.ok, str(report)
    expected = 1 / (1 + math.exp(-z)) - 0.3 if z > 0 else math.exp(z) / (1 + math.exp(z)) - 0.3
    assert "symbolic~generated" in report.rows[0].compared
    assert report.rows[0].errors["symbolic~generated"][0] <= 1e-15 * abs(expected) + 1e-30


def test_complex_step_through_a_cancelling_form_is_not_compared():
    zs = sp.Symbol("z")
    report = sg.check_grad(sp.log(1 - SIG), [zs], values={zs: 40.0})
    assert report.ok, str(report)
    assert any("complex step" in n for n in report.notes)
    assert "n/a" in str(report)


# --- Hessians over matrix entries ---------------------------------------------------------------

def test_hessian_over_entries_with_other_matrices_in_the_expression():
    X2, A2, a2 = sp.MatrixSymbol("X", 2, 2), sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("a", 2, 1)
    assert sg.hessian(sp.Trace(A2 * X2), [X2]) == sp.zeros(4, 4)
    H = sg.hessian(a2.T * A2 * a2, [a2])
    assert (H - (A2.as_explicit() + A2.as_explicit().T)).applyfunc(sp.expand) == sp.zeros(2, 2)


def test_hessian_entries_are_the_matrix_elements():
    X2 = sp.MatrixSymbol("X", 2, 2)
    H = sg.hessian(sp.Trace(X2.T * X2 * X2), [X2])
    assert H[0, 0].subs(X2[0, 0], 5) == 30
    assert H.subs(X2, sp.Matrix([[5, 0], [0, 0]]))[0, 0] == 30


def test_hessian_vector_product_accepts_a_one_item_list():
    assert sg.hessian(sp.Trace(W.T * W), [W], direction=V) == 2 * V


def test_matrices_too_large_to_evaluate_exactly_are_refused_up_front():
    # entry by entry (mode="full") is refused up front; mode="auto" checks them whole along
    # random directions instead (tests/test_check_fast.py)
    big = sp.MatrixSymbol("B", 300, 300)
    with pytest.raises(sg.SymgradError, match="90000 entries"):
        sg.check_grad(sp.Trace(big.T * big), [big], mode="full")
