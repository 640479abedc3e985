"""Tests of internal units that no public name reaches.

Everything else in tests/ goes through ``import symgrad as sg``. These tests import
private modules because what they check cannot be observed from outside:

- verify's proof routes alone: sampling runs first, so a wrong claim is always refuted
  before the routes see it, and only a direct call shows that no route accepts it;
- the certified-sign functions' own return values (verify only shows their verdicts);
- the exact LDL^T PSD test on many random matrices (through verify, 0.4 s a matrix);
- the targeted search alone, and random sampling alone missing what it finds;
- check_grad failing on a wrong derivative rule: every side of the comparison is derived
  from the rules table, so the only way to get a wrong gradient is to put a wrong rule in.

When a public hook appears (a rule override, an option to skip sampling), move the test.
"""

import random
import time
from dataclasses import dataclass

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import symgrad as sg
from symgrad.ops import replaced
from helpers import assert_counterexample
from symgrad.numeric.certify import certified_sign, compare_equal, rational_psd, sign_of
from symgrad.ops.nodes import LogDet
from symgrad.verification.problem import build_problem
from symgrad.verification.prove import prove
from symgrad.verification.sample import Search, search
from symgrad.verification.search import targeted
from verify_corpus import WRONG

x, y, z, a = sp.symbols("x y z a")


# --- verify: the proof routes alone -------------------------------------------------------------

@pytest.mark.parametrize("case", WRONG, ids=[c.name for c in WRONG])
def test_no_proof_route_accepts_a_wrong_claim(case):
    problem = build_problem(case.lhs, case.rhs, case.relation, case.assumptions, None)
    route, _ = prove(problem, 3.0)
    assert route is None


# --- verify: certified evaluation ------------------------------------------------------------------

def test_cancellation_at_z_120_has_no_certified_sign():
    s = 1 / (1 + sp.exp(-z))
    L, R = sp.diff(s, z).subs(z, 120), (s * (1 - s)).subs(z, 120)
    assert certified_sign(L - R) is None           # zero to every precision tried
    v = sign_of(L - R, 1)
    assert (v.sign, v.exact) == (0, False)
    assert compare_equal(L, R)[:2] == ("ok", False)


def test_tiny_real_differences_get_a_certified_sign():
    assert certified_sign(sp.exp(1) - sp.Rational("2.718281828459045235360287")) == 1
    assert compare_equal(sp.cos(sp.Rational(3, 10**40)) - 1, sp.S.Zero)[0] == "violated"


@given(st.lists(st.fractions(-4, 4, max_denominator=3), min_size=6, max_size=6), st.booleans())
def test_exact_psd_test_agrees_with_sympy(entries, strict):
    A = sp.Matrix(3, 2, [sp.Rational(e) for e in entries])
    for M in (A * A.T, A * A.T - sp.eye(3) / 4, A * A.T + sp.eye(3)):
        expected = M.is_positive_definite if strict else M.is_positive_semidefinite
        assert rational_psd(sp.ImmutableMatrix(M), strict) == expected


# --- verify: the targeted search alone ------------------------------------------------------------

THIN = [  # the claims of test_verify.THIN, which fail only on a thin set
    ((x - sp.Rational(314159, 100000))**2 + sp.Rational(1, 10**6), sp.Rational(1, 10**5), ">"),
    (x**3, 500 * x**2, "<="),
    (sp.Max(x, y), sp.Min(x, y), ">"),
    ((x**2)**a, x**(2 * a), "=="),
    (abs(x - sp.Rational(7, 3)), sp.S.Zero, ">"),
    (x**4 - 2 * x**2 + 1 + sp.Rational(1, 10**8), sp.Rational(1, 10**7), ">="),
]


def _targeted(lhs, rhs, relation, seed, seconds):
    problem = build_problem(lhs, rhs, relation, (), None)
    found = targeted(problem, random.Random(seed), Search(points=0, tries=0, exact=True),
                     time.monotonic() + seconds)
    return problem, found


@pytest.mark.parametrize("lhs, rhs, relation", THIN)
def test_targeted_search_finds_thin_counterexamples(lhs, rhs, relation):
    problem, found = _targeted(lhs, rhs, relation, 0, 10)
    assert found.counterexample is not None
    point = {problem.to_user.get(k, k): v for k, v in found.counterexample[0].items()}
    assert_counterexample(lhs, rhs, relation, (), point)


def test_random_sampling_alone_misses_the_dip():
    # So the targeted search, not luck, refutes it. (The far point is now within the sampler's
    # own reach: it draws log-scaled far-out values.)
    for lhs, rhs, relation in THIN[:1]:
        problem = build_problem(lhs, rhs, relation, (), None)
        assert search(problem, random.Random(0), 60, 1300).counterexample is None


@pytest.mark.parametrize("lhs, rhs, relation", [
    (x**4 - 4 * x**3 + 4 * x**2, sp.S.Zero, ">="),          # touches 0 at x = 0 and x = 2
    (sp.Max(x, y), sp.Min(x, y), ">="),                      # equal on the tie
    (sp.log(1 + sp.exp(x)), x, ">"),                         # gap exp(-x) far out
    ((x**2)**a, abs(x)**(2 * a), "=="),
])
def test_targeted_search_never_refutes_a_true_claim(lhs, rhs, relation):
    _, found = _targeted(lhs, rhs, relation, 1, 3)
    assert found.counterexample is None and found.admitted > 0


# --- check_grad fails on a wrong rule ----------------------------------------------------------------

w, b = sp.symbols("w b")
n = sp.Symbol("n", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, n)
OFF = 1 + sp.Rational(1, 10**6)


@dataclass(frozen=True)
class WrongRule:
    name: str
    op: object                 # the registry entry whose rule is replaced
    rule: object               # the wrong rule
    expr: object
    wrt: list
    args: list = ()
    order: int = 1
    failing: tuple = None      # the parameters whose rows must fail (None: just "not ok")


WRONG_RULES = [
    WrongRule("sin' = sin", sp.sin, lambda g, ans, t: (g * sp.sin(t),), sp.sin(w * x), [w], [x]),
    WrongRule("sin' off by 1e-6", sp.sin, lambda g, ans, t: (OFF * g * sp.cos(t),),
              sp.sin(w * x), [w], [x]),
    WrongRule("exp' off by 1e-6", sp.exp, lambda g, ans, t: (g * ans * OFF,), sp.exp(w * x), [w], [x]),
    WrongRule("tanh' = 1 + tanh^2, deep inside", sp.tanh, lambda g, ans, t: (g * (1 + ans**2),),
              (w * sp.tanh(a * x + b) - y)**2, [w, a, b], [x, y], failing=("a", "b")),
    WrongRule("cos' = sin: only the second derivative is wrong", sp.cos,
              lambda g, ans, t: (g * sp.sin(t),), sp.sin(w) * x, [w], [x], order=2),
    # check_grad once drew matrices under an inverse or determinant symmetric, where
    # X^-1 == X^-T, so this wrong rule passed; M M^T + I + (N - N^T) tells them apart.
    WrongRule("d log det X/dX = X^-1 (transposed inverse)", LogDet, lambda g, ans, t: (g * t.I,),
              sp.log(sp.Determinant(X)), [X]),
]


@pytest.mark.parametrize("case", WRONG_RULES, ids=[c.name for c in WRONG_RULES])
def test_check_grad_fails_on_a_wrong_rule(case):
    with replaced(case.op, rule=case.rule):      # the op registry's entry, swapped for the test
        _check_fails(case)


def _check_fails(case):
    if case.op is LogDet:                      # the wrong rule is the one in force
        assert sg.grad(case.expr, X) == X.I
    if case.order == 2:                        # the first derivative is still right
        assert sg.check_grad(case.expr, case.wrt, list(case.args)).ok
    report = sg.check_grad(case.expr, case.wrt, list(case.args), order=case.order)
    assert report.ok is False and not bool(report), str(report)
    if case.order == 1:
        assert "MISMATCH" in str(report)
    if case.failing is not None:
        assert {r.parameter: r.ok for r in report.rows} == \
            {str(p): str(p) not in case.failing for p in case.wrt}
    if "1e-6" in case.name:                    # the fd pair sees the 1e-6 error
        assert 1e-8 < report.rows[0].errors["symbolic~fd"][1] < 1e-4

