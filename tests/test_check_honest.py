"""check_grad says OK only when it compared something, tests data-dependent branches on
both sides, and holds its time budget on adversarial inputs (issues 18 and 19)."""

import time

import numpy as np
import pytest
import sympy as sp

import symgrad as sg

w, b, x, y, z = sp.symbols("w b x y z")

# --- no vacuous OK ------------------------------------------------------------------------

HURDLE = sp.Piecewise((sp.log(1 + sp.exp(w * x + b)), sp.Eq(y, 0)),
                      (-sp.log(1 + sp.exp(-(w * x + b))) + (y - 1) * w, True))


def test_a_condition_on_data_alone_is_not_a_kink_and_both_branches_are_compared():
    report = sg.check_grad(HURDLE, [w, b], [x, y])
    assert report.ok, str(report)
    assert report.kinks == []
    assert report.compared > 0 and all(r.compared for r in report.rows)
    assert any("the data condition Eq(y, 0) was compared on both sides" in n for n in report.notes)


def test_a_data_branch_never_taken_is_reported_as_untested():
    report = sg.check_grad(HURDLE, [w, b], [x, y], values={y: [2.0, 3.0]})
    assert report.ok
    assert any("was never true" in n and "untested" in n for n in report.notes)


def test_a_wrong_gradient_inside_a_data_branch_is_caught():
    with sg.ops.replaced(sp.exp, rule=lambda g, ans, u: (2 * g * ans,)):
        report = sg.check_grad(HURDLE, [w, b], [x, y])
    assert not report.ok


@pytest.mark.parametrize("expr, wrt, args", [
    (sp.Piecewise((w**2, sp.Eq(x, 0)), (w * x, True)), [w], [x]),
    (sp.Piecewise((w * x, x > 0), (sp.exp(w) * x, True)), [w], [x]),
    (sp.Abs(w - x) + sp.Max(w, b), [w, b], [x]),
    (sp.Heaviside(x) * w**2 + sp.sign(y) * b, [w, b], [x, y]),
    (sp.Min(w * x, 0) + b**2, [w, b], [x]),
])
def test_every_ok_compared_something(expr, wrt, args):
    report = sg.check_grad(expr, wrt, args)
    assert report.ok, str(report)
    assert not report.vacuous and all(r.compared for r in report.rows), str(report)


def test_a_point_the_caller_puts_on_a_kink_says_nothing_was_compared():
    report = sg.check_grad(sp.Abs(w), [w], values={w: 0.0})
    assert report.vacuous and report.compared == 0
    assert "nothing compared" in str(report)


# --- budgets --------------------------------------------------------------------------------

def _sines(k):
    ws = sp.symbols("s0:%d" % k)
    return sp.Mul(*[sp.sin(s) for s in ws]), list(ws)


BIG = sp.MatrixSymbol("B", 120, 120)
SINES, SINE_PARAMS = _sines(40)
ADVERSARIAL = [
    ("exact power", lambda: ((w**10000 + 1)**10000, [w], [], {})),
    ("huge rational power", lambda: (w**sp.Rational(10**6, 3), [w], [], {})),
    ("tower of exponentials", lambda: (sp.exp(sp.exp(sp.exp(w))), [w], [], {})),
    ("cancellation at 5e3", lambda: (sp.log(1 - 1 / (1 + sp.exp(-z))), [z], [], {"values": {z: 5e3}})),
    ("many points", lambda: (sp.sin(w) * sp.exp(b), [w, b], [], {"points": 100000})),
    ("many sines, entry by entry", lambda: (SINES, SINE_PARAMS, [], {"points": 1000, "mode": "full"})),
    ("a large matrix chain", lambda: (sp.Trace((BIG.T * BIG)**2) / 1e6, [BIG], [], {"points": 1000})),
    ("deep nesting", lambda: (_nested(30), [w], [], {"points": 3000})),
    ("piecewise branches", lambda: (sp.Piecewise(*[(w * k, w < k / 8) for k in range(1, 40)],
                                                 (w**2, True)), [w], [], {"points": 100000})),
    ("float16 with many points", lambda: (w**3 * x, [w], [x], {"points": 100000,
                                                                "dtype": np.float16})),
]


def _nested(depth):
    e = w
    for _ in range(depth):
        e = sp.sin(e) * sp.Rational(9, 10) + w
    return e


@pytest.mark.parametrize("name, make", ADVERSARIAL, ids=[a[0] for a in ADVERSARIAL])
def test_the_budget_holds_within_twice_its_length(name, make):
    budget = 1.0
    expr, wrt, args, options = make()
    f = sg.value_and_grad(expr, wrt, args)       # compiling is not part of the check's budget
    start = time.monotonic()
    try:
        report = sg.check_grad(f, budget=budget, **options)
        assert report.ok, str(report)
    except sg.BudgetExceeded as exc:
        assert "budget of 1 s" in str(exc)
    assert time.monotonic() - start < 2 * budget
