"""check_grad on whole models: the ball reference, directional checks, blame, dtypes, reports."""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.ops import replaced
from symgrad.zoo import models

w, b, x, y = sp.symbols("w b x y")
SMOOTH = (sp.tanh(w * x + b) - y)**2


def small_mlp():
    m = models.mlp([5, 4, 3], activation="tanh", loss="softmax")
    X, Y = m.data
    rng = np.random.default_rng(0)
    values = {X: rng.normal(size=(8, 5)), Y: np.eye(3)[rng.integers(0, 3, 8)]}
    return m, values


def test_the_mlp_is_checked_against_certified_balls_at_every_entry():
    m, values = small_mlp()
    report = sg.check_grad(m.loss, list(m.params), list(m.data), values=values)
    assert report.ok, str(report)
    assert "Arb balls, certified to 51 digits" in str(report)
    for row in report.rows:
        assert {"symbolic~generated", "symbolic~fd", "fd~generated"} <= row.compared
        assert row.errors["symbolic~generated"][1] < 1e-12
    assert report.compared >= 3 * (20 + 4 + 12 + 3)


def test_large_parameters_are_checked_whole_along_random_directions():
    big = sp.MatrixSymbol("B", 60, 60)
    report = sg.check_grad(sp.Trace(big.T * big * big.T * big) / 1000, [big], points=1)
    assert report.ok, str(report)
    row = report.rows[0]
    assert "3600 entries" in row.how and "random directions" in row.how
    assert row.count["symbolic~generated"] == 3600
    assert row.count["symbolic~fd"] >= 2


def test_modes_agree_and_unknown_modes_are_refused():
    W = sp.MatrixSymbol("W", 3, 2)
    X = sp.MatrixSymbol("X", 4, 3)
    loss = sg.msum((X * W).applyfunc(sp.tanh))
    full = sg.check_grad(loss, [W], [X], mode="full")
    along = sg.check_grad(loss, [W], [X], mode="directional")
    assert full.ok and along.ok
    assert full.rows[0].count["symbolic~fd"] == 3 * 6
    assert along.rows[0].count["symbolic~fd"] == 3 * 2
    with pytest.raises(sg.ArgumentError, match="mode"):
        sg.check_grad(loss, [W], [X], mode="fast")


# --- blame --------------------------------------------------------------------------------------

def test_a_wrong_rule_in_the_registry_is_caught_and_blamed_on_its_node():
    with replaced(sp.tanh, rule=lambda g, ans, u: (g * (1 + ans**2),)):
        report = sg.check_grad(SMOOTH, [w, b], [x, y])
    assert not report.ok
    assert report.rows[0].errors["symbolic~fd"][1] > 1e-3
    assert len(report.blame) == 1
    assert "rule of tanh at node tanh(b + w*x)" in report.blame[0]
    assert "registry entry of tanh" in report.blame[0]


def test_a_wrong_rule_inside_a_matrix_model_is_blamed_on_its_node():
    m, values = small_mlp()
    with replaced(sp.tanh, rule=lambda g, ans, u: (g * (1 - ans),)):
        report = sg.check_grad(m.loss, list(m.params), list(m.data), values=values, points=1)
    assert not report.ok and "rule of tanh" in report.blame[0]


def test_a_wrong_printer_entry_is_caught_and_blamed_on_its_node():
    with replaced(sp.tanh, numpy="np.sinh"):
        report = sg.check_grad(SMOOTH, [w, b], [x, y])
    assert not report.ok
    assert report.rows[0].errors["symbolic~generated"][1] > 1e-3
    assert "generated code of tanh node tanh(b + w*x) computes np.sinh(_a0)" in report.blame[0]
    assert "NumPy printer of tanh" in report.blame[0]


def test_a_wrong_hand_derivative_is_caught_and_blamed_on_its_node():
    # right for u > 0, where registration samples it; the |u| is missing below 0
    F = sg.register_function("softsign_hand", derivative=lambda u: 1 / (1 + u)**2,
                             numpy=lambda u: u / (1 + np.abs(u)), mpmath=lambda u: u / (1 + abs(u)),
                             points=[0.5, 1.0, 2.0, 3.0])
    report = sg.check_grad(F(w * x - 1) * b, [w, b], [x], values={x: -1.5})
    assert not report.ok and not report.rows[0].ok and report.rows[1].ok
    assert "softsign_hand(w*x - 1)" in report.blame[0]
    assert "register_function('softsign_hand')" in report.blame[0]


def test_right_gradients_have_no_blame():
    report = sg.check_grad(SMOOTH, [w, b], [x, y])
    assert report.ok and report.blame == []


# --- dtypes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_code_is_checked_with_steps_that_do_not_vanish(dtype):
    report = sg.check_grad(w**2 * x + sp.sin(w), [w], [x], dtype=dtype)
    assert report.ok, str(report)
    assert "symbolic~fd" in report.rows[0].compared
    assert report.rows[0].errors["symbolic~fd"][1] < 0.05
    assert "generated %s code" % np.dtype(dtype).name in str(report)


def test_a_wrong_rule_is_still_caught_in_float32():
    with replaced(sp.tanh, rule=lambda g, ans, u: (g * (1 + ans**2),)):
        report = sg.check_grad(SMOOTH, [w, b], [x, y], dtype=np.float32)
    assert not report.ok


def test_dtype_and_budget_are_checked():
    with pytest.raises(sg.ArgumentError, match="dtype"):
        sg.check_grad(w**2, [w], dtype=np.int32)
    with pytest.raises(sg.ArgumentError, match="budget"):
        sg.check_grad(w**2, [w], budget=-1)


# --- the report --------------------------------------------------------------------------------------

def test_the_report_is_a_table_in_terminals_and_notebooks_saying_which_side_is_which():
    report = sg.check_grad(SMOOTH, [w, b], [x, y])
    text, md, html = str(report), report._repr_markdown_(), report._repr_html_()
    assert "symbolic~generated" in text and "first side compared with the second" in text
    assert md.count("\n| `") == 2 and "| parameter |" in md
    assert "*symbolic*: the derived gradient, in certified Arb balls (the reference)" in md
    assert "<table>" in html and html.count("<tr>") == 3 and "generated code's gradient" in html


# --- values -----------------------------------------------------------------------------------------

def test_string_keys_in_values_are_refused_naming_the_symbol():
    with pytest.raises(sg.ArgumentError, match=r"string key 'x'.*values=\{x: \.\.\.\}"):
        sg.check_grad((w * x)**2, [w], [x], values={"x": 1.0})


def test_high_powers_pass_the_complex_step():
    report = sg.check_grad(w**100, [w])
    assert report.ok, str(report)
    assert "symbolic~complex" in report.rows[0].compared
