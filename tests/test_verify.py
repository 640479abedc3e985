"""verify through the public API: the corpus, certified counterexamples, random expressions.

Every refutation is re-evaluated here by the tests' own reference evaluator
(``helpers.assert_counterexample``), not by verify's. Tests of verify's internal units
(the proof routes alone, the certified-sign functions, the targeted search) are in
test_internals.py.
"""

import multiprocessing
import time

import mpmath
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

import symgrad as sg
from symgrad import (ArgumentError, ParseError, ShapeMismatch, SymgradError, UnsupportedExpression, Verdict,
                     verify)
from helpers import assert_counterexample, certified_sign
from independent import NotEvaluable, fails_at
from verify_corpus import CASES, CATEGORIES, TRUE, WRONG

x, y, z = sp.symbols("x y z")
n = sp.Symbol("n")


def run(case, **kw):
    kw.setdefault("budget", case.budget)
    return verify(case.lhs, case.rhs, case.relation, case.assumptions, **kw)


def free_symbols(case):
    found = set()
    for e in (case.lhs, case.rhs) + case.assumptions:
        e = sp.sympify(e)
        found |= e.free_symbols
        for node in sp.preorder_traversal(e):
            if getattr(node, "is_Matrix", False):
                for d in node.shape:
                    found |= sp.sympify(d).free_symbols
    return found


def check_counterexample(case, v):
    """A refutation covers every free symbol with exact values of consistent shapes, and
    the relation really fails there (re-evaluated by the tests' own evaluator)."""
    assert set(v.counterexample) == free_symbols(case)
    dims = {s: sp.Integer(i) for s, i in v.counterexample.items() if isinstance(i, int)}
    for key, value in v.counterexample.items():
        if isinstance(key, sp.MatrixSymbol):
            assert all(e.is_Rational for e in value)
            assert value.shape == tuple(int(sp.sympify(d).xreplace(dims)) for d in key.shape)
        elif not isinstance(value, int):
            assert value.is_Rational
    assert_counterexample(case.lhs, case.rhs, case.relation, case.assumptions, v.counterexample)
    try:                                    # and by an Arb walk that shares no code with verify
        assert fails_at(case, v.counterexample), str(v)
    except NotEvaluable as e:               # pragma: no cover - a gap in the independent evaluator
        pytest.fail("the independent evaluator cannot re-check %s: %s" % (case.name, e))


def check_verdict(case, v):
    """The status the corpus expects, and what that status promises."""
    assert v.status == case.expected, str(v)
    assert v.ok == (case.expected != "refuted")
    if v.status == "proven":
        assert not v.method.startswith("random points") and v.counterexample is None
    elif v.status == "probable":
        assert v.points >= 20
    else:
        check_counterexample(case, v)


# --- the corpus ----------------------------------------------------------------------

def test_corpus_is_organised():
    assert len(CASES) >= 40
    assert len(WRONG) >= 15 and len(TRUE) >= 25
    assert {"activations", "losses", "matrix calculus", "log-det", "logsumexp",
            "inequalities", "Hessians (PSD)"} <= set(CATEGORIES)
    assert {c.expected for c in CASES} == {"proven", "probable", "refuted"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_verdict(case):
    check_verdict(case, run(case))


@pytest.mark.parametrize("case", TRUE, ids=[c.name for c in TRUE])
def test_no_true_claim_is_refuted_by_sampling_alone(case):
    # Another seed and no proof budget: only the sampler and its certification decide.
    v = run(case, seed=7, budget=0)
    assert v.status == "probable", str(v)


# --- certification ------------------------------------------------------------------------

def test_cancellation_at_z_120_is_not_a_counterexample():
    s = 1 / (1 + sp.exp(-z))
    v = verify(sp.diff(s, z), s * (1 - s), assumptions=[sp.Eq(z, 120)], budget=0)
    assert v.status == "probable" and v.points == 20


def test_tiny_real_differences_are_certified():
    e = verify(sp.E, sp.Rational("2.718281828459045235360287"))     # e is larger by 5e-25
    assert e.status == "refuted" and "certified" in e.method and e.lhs_value > e.rhs_value
    cos = verify(sp.cos(sp.Rational(3, 10**40)), 1)                 # 1 - 4.5e-81
    assert cos.status == "refuted" and "certified" in cos.method
    v = verify(x**2, x**2 + sp.Rational(1, 10**12))
    assert v.status == "refuted" and v.method == "counterexample, exact rational arithmetic"
    assert v.rhs_value - v.lhs_value == sp.Rational(1, 10**12)


def test_differences_below_1e30_are_still_certified():
    v = verify(sp.exp(x), sp.exp(x) + sp.exp(-1000))
    assert v.status == "refuted" and "certified" in v.method
    assert certified_sign(sp.exp(-1000) * 10**400) == 1     # the difference really is exp(-1000)


def test_huge_exact_powers_neither_hang_nor_fool_the_check():
    # Exact evaluation of (1 + 1e-6)**(1e6 x) would hang; it is kept as a huge power.
    v = verify(sp.exp(x), (1 + sp.Rational(1, 10**6))**(10**6 * x), budget=2)
    assert v.status == "refuted"
    point = v.counterexample
    with mpmath.workdps(60):                     # re-evaluated here in mpmath, not exactly
        t = mpmath.mpf(point[x].p) / point[x].q
        L, R = mpmath.exp(t), mpmath.power(1 + mpmath.mpf(10)**-6, 10**6 * t)
        assert abs(L - R) > 1e-30 * abs(L)


def test_formula_right_only_for_positive_x():
    v = verify(sp.sqrt(x**2), x)
    assert v.status == "refuted" and v.counterexample[x] < 0
    assert v.lhs_value == -v.counterexample[x] and v.rhs_value == v.counterexample[x]
    assert verify(sp.sqrt(x**2), x, assumptions=[x > 0]).status == "proven"


def test_wrong_inequality_counterexample_lies_in_zero_one():
    v = verify(x**2, x, ">=")
    assert v.status == "refuted" and 0 < v.counterexample[x] < 1
    assert v.lhs_value < v.rhs_value


def test_psd_refutation_reports_the_matrix_and_why():
    H = sp.hessian(x**2 - y**2, (x, y))
    v = verify(H, sp.zeros(2, 2), ">=")
    assert v.status == "refuted" and v.counterexample == {}
    assert "not positive semidefinite" in v.detail
    assert v.lhs_value == sp.ImmutableMatrix([[2, 0], [0, -2]])


def test_matrix_counterexample_gives_consistent_dimensions():
    A, B = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
    v = verify(A.T * B.T, B * A)
    dim = v.counterexample[n]
    assert isinstance(dim, int) and 1 <= dim <= 4
    assert v.counterexample[A].shape == v.counterexample[B].shape == (dim, dim)
    assert "entry" in v.detail


def test_matrix_orders_and_predicates():
    D, X = sp.MatrixSymbol("D", n, sp.Symbol("m")), sp.MatrixSymbol("X", n, n)
    v = verify(sg.softmax(D), 0, ">", budget=30, points=20)   # not square: entry by entry
    assert v.status == "probable" and v.points == 20
    w = verify(D, 0, ">=")
    assert w.status == "refuted" and "entry" in w.detail
    assert verify(X, 0, ">", assumptions=[sp.Q.positive_definite(X)]).method == "PSD structure"
    root_det = verify(sp.sqrt(sp.Determinant(X * X.T)), sp.Abs(sp.Determinant(X)), budget=0)
    assert root_det.status == "probable" and root_det.points == 20


def test_equality_assumption_keeps_eliminated_symbol_consistent():
    y1, y2, y3 = sp.symbols("y1 y2 y3")
    v = verify(y1 + y2, 1 - y3 + x, assumptions=[sp.Eq(y1 + y2 + y3, 1)])
    assert v.status == "refuted" and v.counterexample[x] != 0
    assert v.counterexample[y1] + v.counterexample[y2] + v.counterexample[y3] == 1
    assert verify(y1 + y2, 1 - y3, assumptions=[sp.Eq(y1 + y2 + y3, 1)]).status == "proven"


def test_same_seed_same_verdict():
    A = sp.MatrixSymbol("A", n, n)
    v = sp.MatrixSymbol("v", n, 1)
    first, again = verify(2 * A * v, (A + A.T) * v), verify(2 * A * v, (A + A.T) * v)
    assert first == again
    assert first.counterexample != verify(2 * A * v, (A + A.T) * v, seed=3).counterexample


def test_symbols_keep_their_identity():
    plain, real = sp.Symbol("x"), sp.Symbol("x", real=True)
    v = verify(plain, real)                # two different variables that share a name
    assert v.status == "refuted" and set(v.counterexample) == {plain, real}
    k = sp.Symbol("k", integer=True)
    w = verify(k**2, k + 1, ">=")
    assert w.status == "refuted" and w.counterexample[k].is_Integer


def test_floats_are_read_as_their_decimals():
    assert verify(x * 0.1, x / 10).status == "proven"


def test_str_is_a_readable_summary():
    v = verify(sp.sin(2 * x), 2 * sp.sin(x))
    text = str(v)
    for piece in ("verdict: refuted", v.method, "counterexample: x = ", "lhs = ", "rhs = "):
        assert piece in text
    assert "verdict: proven" in str(verify(sp.sin(x)**2 + sp.cos(x)**2, 1))
    assert Verdict("probable", "m", "==", 20).ok


# --- errors -------------------------------------------------------------------------------

def test_errors_name_what_is_wrong():
    A, v = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("v", n, 1)
    with pytest.raises(ShapeMismatch, match=r"\(n, n\).*\(n, 1\)"):
        verify(A, v)
    with pytest.raises(ShapeMismatch, match="scalar"):
        verify(A, x)
    with pytest.raises(ParseError, match="relation"):
        verify(x, x, "=")
    with pytest.raises(ArgumentError, match="text"):
        verify("x + 1", x)
    with pytest.raises(SymgradError, match="no admissible value for x"):
        verify(x, x, assumptions=[x > 1, x < 0])
    with pytest.raises(SymgradError, match="admissible points.*x"):
        verify(sp.log(-1 - x**2), 0)
    with pytest.raises(SymgradError, match="linearly"):
        verify(x, y, assumptions=[sp.Eq(x**2 + y**2, 1)])
    with pytest.raises(UnsupportedExpression, match="not a relation"):
        verify(x, x, assumptions=[x + 1])
    with pytest.raises(UnsupportedExpression, match="undefined function"):
        verify(sp.Function("f")(x), x)


# --- the proof budget --------------------------------------------------------------------------

def test_budget_runs_out_and_sampling_decides():
    # A millisecond budget: the call still takes its minimum time for sampling, and the proof
    # routes run beside it, so trigsimp may or may not come in; either way the verdict is
    # honest and the call short.
    start = time.monotonic()
    v = verify(sp.sin(x)**2 + sp.cos(x)**2, 1, budget=1e-3)
    assert time.monotonic() - start < 10
    assert v.status == "proven" and v.method == "trigsimp" or \
        v.status == "probable" and "budget" in v.note, str(v)


def test_without_fork_only_cheap_routes_run_inline(monkeypatch):
    def no_fork(method=None):
        raise ValueError("fork is not available")
    monkeypatch.setattr(multiprocessing, "get_context", no_fork)      # a platform without fork
    assert verify((x + 1)**2, x**2 + 2 * x + 1).method == "expand"
    v = verify(sp.sin(x)**2 + sp.cos(x)**2, 1)
    assert v.status == "probable" and "fork unavailable" in v.note


# --- random expressions ------------------------------------------------------------------------

SYMS = sp.symbols("a b c")
BOUNDS = [s >= -2 for s in SYMS] + [s <= 2 for s in SYMS]
leaves = st.one_of(st.sampled_from(SYMS), st.integers(-3, 3).map(sp.Integer))


def _grow(children):
    pair = st.tuples(children, children)
    return st.one_of(pair.map(lambda p: p[0] + p[1]), pair.map(lambda p: p[0] * p[1]),
                     st.tuples(children, st.integers(2, 3)).map(lambda p: p[0]**p[1]),
                     children.map(sp.exp), children.map(lambda e: sp.log(1 + e**2)),
                     children.map(sp.sin), children.map(sp.cos))


expressions = st.recursive(leaves, _grow, max_leaves=6)


def _exp_depth(e):
    inner = max((_exp_depth(a) for a in e.args), default=0)
    return inner + isinstance(e, sp.exp)


@given(expressions)
def test_expanding_never_refutes(e):
    assume(_exp_depth(e) <= 2)
    v = verify(e, sp.expand(e), assumptions=BOUNDS, budget=1.0)
    assert v.status != "refuted", str(v)


@given(expressions, st.sampled_from([SYMS[0], SYMS[1], SYMS[0]**2, SYMS[0] * SYMS[2]]),
       st.tuples(st.integers(1, 9), st.integers(1, 7), st.sampled_from([1, -1]))
       .map(lambda t: sp.Rational(t[0] * t[2], t[1])))
def test_perturbing_is_refuted_with_a_real_counterexample(e, term, c):
    assume(_exp_depth(e) <= 2)
    v = verify(e, e + c * term, assumptions=BOUNDS, budget=1.0)
    assert v.status == "refuted", str(v)
    assert set(SYMS) <= set(v.counterexample)
    assert_counterexample(e, e + c * term, "==", BOUNDS, v.counterexample)


# --- thin counterexamples (the targeted search's job; its unit tests are in test_internals.py) ---

a = sp.Symbol("a")
THIN = [  # claims that fail only on a thin set random rationals rarely reach
    ("narrow dip", (x - sp.Rational(314159, 100000))**2 + sp.Rational(1, 10**6), sp.Rational(1, 10**5), ">"),
    ("far out", x**3, 500 * x**2, "<="),
    ("tie", sp.Max(x, y), sp.Min(x, y), ">"),
    ("negative base, half exponent", (x**2)**a, x**(2 * a), "=="),
    ("zero of abs", abs(x - sp.Rational(7, 3)), sp.S.Zero, ">"),
    ("double root", x**4 - 2 * x**2 + 1 + sp.Rational(1, 10**8), sp.Rational(1, 10**7), ">="),
]


@pytest.mark.parametrize("lhs, rhs, relation", [c[1:] for c in THIN], ids=[c[0] for c in THIN])
def test_thin_counterexamples_are_found(lhs, rhs, relation):
    v = verify(lhs, rhs, relation, budget=5)                # ends at the refutation
    assert v.status == "refuted", str(v)
    assert_counterexample(lhs, rhs, relation, (), v.counterexample)
