"""The proof routes added for sound verification: both ends of an interval, interval
branch-and-bound over a bounded box, the noncommutative canonical form for inverses.

Each route proves its true claims and none of the wrong ones; the wrong ones are tried on
the routes directly (no sampling), so a route that accepted a false claim would show.
"""

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symgrad as sg
from symgrad.verification.boxes import box_route
from symgrad.verification.noncommutative import nc_route
from symgrad.verification.problem import build_problem
from symgrad.verification.prove import route_for

x, y, p = sp.symbols("x y p")
S = sg.sigmoid
R = sp.Rational
n, k = sp.symbols("n k", integer=True, positive=True)
A, B = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
U, V, C = sp.MatrixSymbol("U", n, k), sp.MatrixSymbol("V", k, n), sp.MatrixSymbol("C", k, k)
P, Q = sp.MatrixSymbol("P", n, k), sp.MatrixSymbol("Q", k, n)
u, v = sp.MatrixSymbol("u", n, 1), sp.MatrixSymbol("v", n, 1)
I_n, I_k = sp.Identity(n), sp.Identity(k)


def _route(lhs, rhs, relation="==", assumptions=()):
    return route_for(build_problem(lhs, rhs, relation, assumptions, None))


# --- both ends of an interval ----------------------------------------------------------------

def test_both_ends_of_an_interval_reach_the_proof():
    v = sg.verify(p * (1 - p), 0, ">=", [p >= 0, p <= 1])
    assert v.status == "proven" and "both ends" in v.method
    assert _route(p * (1 - p), 0, ">=", [p >= 0]) is None            # one end is not enough
    assert _route(p * (1 - p), R(1, 10**9), ">=", [p >= 0, p <= 1]) is None


# --- interval branch-and-bound ------------------------------------------------------------------

BOXED_TRUE = [
    (sp.exp(x), 1 + x, ">=", [x >= -3, x <= 3]),                       # touches at 0
    (x * S(x), -R(2785, 10000), ">=", [x >= -10, x <= 10]),            # SiLU's minimum -0.27846
    (sp.sin(x), x - x**3 / 6, ">=", [x >= 0, x <= 2]),                  # third-order contact at 0
    (sp.cos(x) + sp.cos(y), 2 - (x**2 + y**2) / 2, ">=", [x >= -1, x <= 1, y >= -1, y <= 1]),
]
BOXED_FALSE = [
    (sp.exp(x), 1 + x + R(1, 10**9), ">=", [x >= -3, x <= 3]),
    (x * S(x), -R(2784, 10000), ">=", [x >= -10, x <= 10]),
    (sp.sin(x), x - x**3 / 6 + R(1, 10**12), ">=", [x >= 0, x <= 2]),
    (sp.cos(x) + sp.cos(y), 2 - (x**2 + y**2) / 2, ">", [x >= -1, x <= 1, y >= -1, y <= 1]),
]


@pytest.mark.parametrize("lhs, rhs, relation, assumptions", BOXED_TRUE)
def test_branch_and_bound_proves_bounds_on_a_box(lhs, rhs, relation, assumptions):
    assert box_route(build_problem(lhs, rhs, relation, assumptions, None)) is not None
    v = sg.verify(lhs, rhs, relation, assumptions, budget=30)    # ends when the proof comes in
    assert v.status == "proven", str(v)


@pytest.mark.parametrize("lhs, rhs, relation, assumptions", BOXED_FALSE)
def test_branch_and_bound_never_proves_a_wrong_bound(lhs, rhs, relation, assumptions):
    assert box_route(build_problem(lhs, rhs, relation, assumptions, None)) is None
    assert sg.verify(lhs, rhs, relation, assumptions, budget=10).status == "refuted"


SYMS = sp.symbols("a b")
leaves = st.one_of(st.sampled_from(SYMS), st.integers(-2, 2).map(sp.Integer))
grow = lambda c: st.one_of(st.tuples(c, c).map(lambda t: t[0] + t[1]),          # noqa: E731
                           st.tuples(c, c).map(lambda t: t[0] * t[1]),
                           c.map(sp.sin), c.map(sp.exp), c.map(lambda e: sp.log(1 + e**2)))
expressions = st.recursive(leaves, grow, max_leaves=5)


@settings(max_examples=15, deadline=None)
@given(expressions, st.tuples(st.integers(-8, 8), st.integers(-8, 8)))
def test_branch_and_bound_never_proves_a_bound_that_fails_at_a_point(e, at):
    # f >= f(c) + 10^-6 fails at c itself, which lies in the box [-1, 1]^2
    c = {SYMS[0]: R(at[0], 8), SYMS[1]: R(at[1], 8)}
    value = e.xreplace(c)
    box = [s >= -1 for s in SYMS] + [s <= 1 for s in SYMS]
    problem = build_problem(e, value + R(1, 10**6), ">=", box, None)
    assert box_route(problem, boxes=300) is None


# --- noncommutative rational expressions -----------------------------------------------------------

NC_TRUE = [
    ((I_n + P * Q).I * P, P * (I_k + Q * P).I),
    ((A + U * C * V).I, A.I - A.I * U * (C.I + V * A.I * U).I * V * A.I),
    ((A.I + B.I).I, A * (A + B).I * B),
    ((A.I + B.I).I, B * (A + B).I * A),
    (sp.Determinant(A + u * v.T), (1 + (v.T * A.I * u)[0, 0]) * sp.Determinant(A)),
]
NC_FALSE = [
    ((I_n + P * Q).I * P, P * (I_k + P.T * P).I),
    ((A + U * C * V).I, A.I + A.I * U * (C.I + V * A.I * U).I * V * A.I),
    ((A.I + B.I).I, (A + B).I),
    ((A.I + B.I).I, A * (A + B).I * A),
    (sp.Determinant(A + u * v.T), (1 + (v.T * A * u)[0, 0]) * sp.Determinant(A)),
    (sp.Determinant(A + u * v.T), (1 + (u.T * A.I * u)[0, 0]) * sp.Determinant(A)),
]


@pytest.mark.parametrize("lhs, rhs", NC_TRUE)
def test_noncommutative_canonical_form_proves_inverse_identities(lhs, rhs):
    assert nc_route(lhs - rhs) is not None
    v = sg.verify(lhs, rhs, budget=10)
    assert v.status == "proven" and "noncommutative" in v.method, str(v)


@pytest.mark.parametrize("lhs, rhs", NC_FALSE)
def test_noncommutative_canonical_form_rejects_wrong_identities(lhs, rhs):
    assert nc_route(lhs - rhs) is None
    assert _route(lhs, rhs) is None
    assert sg.verify(lhs, rhs, budget=2).status == "refuted"


def test_a_claim_with_inverses_left_unproven_says_probable_with_the_reason():
    # (A + B)^-1 A = I - (A + B)^-1 B: true, but only after multiplying by (A + B) on the left
    # and then on the right again; the form does not search that far, and sampling agrees
    v = sg.verify((A + B).I * A * (A + B).I, (A + B).I * (I_n - B * (A + B).I), budget=3)
    assert v.status in ("proven", "probable"), str(v)
    if v.status == "probable":
        assert "inverses" in v.note and "canonical form" in v.note, str(v)
