"""check_grad under an adversarial probe: right gradients of steep products are not refuted
and nothing right is blamed; a float overflow or an unreliable difference is "not
comparable", never a mismatch; one sample on a kink does not hide the others; a report that
compared nothing is never OK; |w|**3 is no kink."""

import numpy as np
import sympy as sp

import symgrad as sg
from symgrad.check.blame import rule_blame
from symgrad.cli.main import main
from symgrad.check.probes import complex_step
from symgrad.check.reference import Reference
from symgrad.check.report import GradCheckReport, Row
from symgrad.ops import replaced

x, w = sp.symbols("x w", real=True)
STEEP = w**200 * x**200 * sp.exp(200 * w)
STEEPER = w**10000 * x**10000 * sp.exp(10000 * w)


# --- steep products --------------------------------------------------------------------------

def test_steep_products_pass_with_nothing_blamed():
    report = sg.check_grad(STEEP, wrt=[w], args=[x], seed=0)
    assert report.ok and report.blame == [], str(report)
    assert report.rows[0].count["symbolic~generated"] == 3


def test_a_product_float64_cannot_hold_is_never_a_mismatch():
    # w**10000 x**10000 e^(10000 w): at every draw an intermediate overflows or the whole
    # gradient underflows (e^-5000); the report says so at each point
    for seed in (0, 1):
        report = sg.check_grad(STEEPER, wrt=[w], args=[x], seed=seed)
        assert report.blame == [] and "MISMATCH" not in str(report), str(report)
        notes = [n for n in report.notes if n.startswith("point")]
        assert len(notes) == 3 and all("not comparable" in n or "below float64's normal range"
                                       in n for n in notes), str(report)


def test_the_complex_step_is_exact_where_an_unmoved_argument_is_negative():
    # NumPy raises a complex to a power >= 100 by its polar form: a negative real x became
    # x**200 with an imaginary part of 1e-14 relative, 1e12 times the derivative (the probe)
    f = sg.value_and_grad(STEEP, [w], [x])
    point = [1.078125, np.array([1.36328125, -1.6796875, 0.0703125, 1.88671875])]
    loss, (exact,) = f(*point)
    step, estimate, _ = complex_step(f.as_written, f.prepare(point)[0], {0: np.ones(())}, loss)
    assert abs(step - exact) <= 1e-12 * abs(exact) and estimate <= 1e-12 * abs(exact)


def test_a_complex_step_that_is_not_the_steps_own_is_refused():
    # the moved base is negative: the polar form loses the step; two steps disagree by 2^40
    f = sg.value_and_grad(w**200 + w, [w])
    loss, (exact,) = f(-1.5)
    step, estimate, size = complex_step(f.as_written, f.prepare([-1.5])[0], {0: np.ones(())},
                                        loss)
    assert estimate > 1e-3 * size
    report = sg.check_grad(w**200 + w, [w], values={w: -1.5})
    assert report.ok and "symbolic~complex" not in report.rows[0].compared, str(report)
    assert any("complex step is unreliable" in n for n in report.notes)


def test_a_right_rule_on_a_steep_node_is_not_blamed():
    # differences at a fixed step lost their digits next to 1e153 (Mul was blamed), and
    # w**10000 = 1e3000 compared as float inf (Pow was blamed)
    rng = np.random.default_rng(0)
    ref = Reference(STEEP, [w], [x])
    point = {w: 1.078125, x: np.array([1.36328125, -1.6796875, 0.0703125, 1.88671875])}
    assert rule_blame(ref, point, {}, rng) == []
    ref = Reference(STEEPER, [w], [x])
    assert rule_blame(ref, {w: 2.0, x: np.array([0.5, -1.5])}, {}, rng) == []


def test_a_wrong_rule_in_a_steep_product_is_still_caught_and_blamed():
    with replaced(sp.exp, rule=lambda g, ans, u: (g * ans * sp.Rational(1001, 1000),)):
        report = sg.check_grad(STEEP, wrt=[w], args=[x], seed=0)
    assert not report.ok
    assert len(report.blame) == 1 and "rule of exp at node exp(200*w)" in report.blame[0]


def test_a_fixed_point_where_the_float64_code_overflows_is_not_comparable():
    # exact loss e^-100; w**10000 = inf and x**10000 = 0 in float64
    report = sg.check_grad(STEEPER, wrt=[w], args=[x], values={w: 1.1, x: 0.3})
    assert not report.ok and report.blame == [] and report.compared == 0
    assert "MISMATCH" not in str(report) and "NOT CHECKED" in str(report)
    assert any("point 1: not comparable" in n and "overflows" in n for n in report.notes)


def test_the_command_line_never_says_mismatch_for_a_float_overflow(capsys):
    code = main(["derive", "w**10000*x**10000*exp(w)**10000", "--wrt", "w"])
    out = capsys.readouterr().out
    assert "MISMATCH" not in out and "blame" not in out
    assert (code == 0) == ("check_grad: OK" in out)


# --- kinks -----------------------------------------------------------------------------------

def test_one_sample_on_a_kink_is_left_out_and_the_others_compared():
    report = sg.check_grad(sp.Max(0, w * x), wrt=[w], args=[x],
                           values={x: np.array([0.0, 1.0, -1.0])})
    assert report.ok and report.compared > 0 and not report.vacuous, str(report)
    assert all("sample [0] on a kink" in k for k in report.kinks) and len(report.kinks) == 3
    fixed = sg.check_grad(sp.Max(0, w * x), wrt=[w], args=[x],
                          values={w: 0.5, x: np.array([0.0, 1.0, -1.0])})
    assert fixed.ok and fixed.rows[0].count["symbolic~fd"] == 1, str(fixed)


def test_every_sample_on_a_kink_draws_the_parameters_again():
    report = sg.check_grad(sp.Abs(w * x), wrt=[w], args=[x], values={x: np.array([1.0, 2.0])})
    assert report.ok and report.kinks == [], str(report)


def test_a_report_that_compared_nothing_is_never_ok():
    report = sg.check_grad(sp.Abs(w), [w], values={w: 0.0})
    assert not report.ok and report.vacuous and report.blame == []
    assert str(report).startswith("check_grad: NOT CHECKED (nothing compared")
    assert not GradCheckReport(True, [Row("w")], 1, [], []).ok


def test_a_power_above_one_of_a_corner_is_no_kink():
    assert Reference(sp.Abs(w)**3, [w], []).kinks == []             # SymPy: w**2*Abs(w)
    assert Reference(sp.Max(0, w)**2, [w], []).kinks == []
    assert Reference(sp.Abs(w - x)**3 * x, [w], [x]).kinks == []
    for expr in (sp.Abs(w)**3, sp.Max(0, w)**2, sp.Abs(w)**sp.Rational(3, 2)):
        report = sg.check_grad(expr, [w], values={w: 0.0})
        assert report.ok and report.kinks == [] and report.compared > 0, str(report)
    # still kinks: |w| alone beside the power, sign (a jump) under a power, a power below 1
    assert len(Reference(sp.Abs(w)**3 + sp.Abs(w), [w], []).kinks) == 1
    assert len(Reference(sp.sign(w)**3 * w, [w], []).kinks) == 1
    assert len(Reference(sp.Abs(w)**sp.Rational(1, 2), [w], []).kinks) == 1

