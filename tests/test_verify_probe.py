"""Claims an adversarial probe of verify found called "probable" although false.

* A BCE gradient written with a branch that is wrong only past a cut-off (z < -10, -30,
  -100): random points rarely land there, and the kink search put its points only on the
  boundary z = -c itself, where the right branch is taken. Kink points now also go just
  across each boundary, so the claim is refuted with a certified counterexample.
* exp(-10**6 (x - 30)**2) at a typical point is e^-(10^9): a tiny positive number a ball
  encloses, which verify used to refuse as "too large to evaluate" (0 points), and
  gamma(9*10**11) was multiplied out exactly by SymPy until the hard time limit.
* A "probable" that no agreeing point supports says so in its note.
"""

import random
import time

import pytest
import sympy as sp

import symgrad as sg
from cli_helpers import run
from independent import fails_at
from symgrad.numeric import deadline
from symgrad.numeric.certify import Judgement
from symgrad.verification import api, sample, search
from symgrad.verification.problem import build_problem

x = sp.Symbol("x", real=True)
y, z = sp.symbols("y z", real=True)
BCE = -(y * sp.log(sg.sigmoid(z)) + (1 - y) * sp.log(1 - sg.sigmoid(z)))
SLACK = 0.25          # beyond verify's hard limit (1.5 x budget + 0.25 s): a fork, a kill


def timed(lhs, rhs, budget=1.0, **kw):
    """The verdict, checked to come within the hard limit of its budget."""
    start = time.monotonic()
    v = sg.verify(lhs, rhs, budget=budget, **kw)
    assert time.monotonic() - start <= api.HARD_SHARE * budget + api.GRACE + SLACK, str(v)
    return v


def refuted_for_real(v):
    assert v.status == "refuted", str(v)
    assert "certified" in v.method or "exact" in v.method, v.method
    assert fails_at(v, v.counterexample), str(v)


@pytest.mark.parametrize("cut", [10, 30, 100])
def test_branch_wrong_past_a_cut_off_is_refuted(cut):
    hand = sp.Piecewise((-y, z < -cut), (sg.sigmoid(z) - y, True))
    v = timed(hand, sg.grad(BCE, z), budget=5.0)          # the probe's (default) budget
    refuted_for_real(v)
    assert v.counterexample[z] < -cut               # on the wrong branch, not on the tie


def test_kink_points_go_on_and_across_each_boundary():
    hand = sp.Piecewise((-y, z < -10), (sg.sigmoid(z) - y, True))
    problem = build_problem(hand, sg.grad(BCE, z), "==", [], None)
    zs = {p[z] for p in search._kink_points(problem, random.Random(0)) if p is not None}
    assert -10 in zs and any(v < -10 for v in zs) and any(v > -10 for v in zs), zs


def test_branch_wrong_past_a_cut_off_on_the_command_line(capsys):
    code, out, _ = run(capsys, "verify", "where(z < -10, -y, sigmoid(z) - y)", "--grad-of",
                       "-(y*log(sigmoid(z)) + (1-y)*log(1-sigmoid(z)))", "--wrt", "z",
                       "--budget", "1")
    assert code == 1 and "verdict: refuted" in out and "certified: lhs - rhs in [-" in out, out


def test_the_right_branch_is_not_refuted():
    hand = sp.Piecewise((-y, z < -10**6), (sg.sigmoid(z) - y, True))   # wrong by < e^-10^6
    v = timed(hand, sg.sigmoid(z) - y)
    assert v.status != "refuted" or fails_at(v, v.counterexample), str(v)
    v = timed(sg.sigmoid(z) - y, sg.grad(BCE, z))
    assert v.status in ("proven", "probable"), str(v)


def test_exp_of_a_huge_negative_number_is_evaluated():
    bump = sp.exp(-10**6 * (x - 30)**2)
    v = timed(x**2, x**2 + bump)
    refuted_for_real(v)
    assert "lhs - rhs in [-" in v.enclosure          # a certified tiny negative difference
    v = timed(sp.gamma(x), sp.factorial(x - 1) + bump, assumptions=[x > 0], budget=5.0)
    refuted_for_real(v)         # the probe's call: 'probable' with 0 points in 7.8 s before
    v = timed(x**2 + bump, x**2 + bump)
    assert v.status == "proven", str(v)


def test_gamma_of_a_huge_integer_is_not_multiplied_out():
    v = timed(sp.gamma(x), sp.factorial(x - 1), assumptions=[x > 0])
    assert v.status in ("proven", "probable") and v.points > 0, str(v)
    v = timed(sp.gamma(x + 1), x * sp.gamma(x) + 1, assumptions=[x > 0])
    refuted_for_real(v)


def _undecided(problem, point):
    """A judge that never decides: it waits (checking the deadline) and says "unknown"."""
    for _ in range(3):
        deadline.check()
        time.sleep(0.01)
    return Judgement("unknown", False)


def test_probable_with_no_agreeing_point_says_so(monkeypatch):
    monkeypatch.setattr(sample, "judge", _undecided)
    monkeypatch.setattr(api, "start_proof", lambda problem, budget: None)
    v = timed(x, x + 1)
    assert v.status == "probable" and v.points == 0, str(v)
    assert "no point was judged" in v.note and "no evidence" in v.note, v.note


def test_probable_at_the_hard_limit_says_no_point_was_judged(monkeypatch):
    def stuck(*args):
        while True:
            time.sleep(0.05)
    monkeypatch.setattr(api, "_decide", stuck)
    v = sg.verify(x, x + 1, budget=0.2)
    assert v.status == "probable" and v.points == 0, str(v)
    assert v.note.startswith("no point was judged") and "no evidence" in v.note, v.note
