"""Tests for symgrad.verification.api: the corpus, certified counterexamples, random expressions."""

import random
import time

import mpmath
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

import symgrad.verification.prove as prove_module
from symgrad.ops import nodes
from symgrad.errors import ParseError, ShapeMismatch, SymgradError, UnsupportedExpression
from symgrad.verification.api import Verdict, verify
from symgrad.numeric.certify import certified_sign, compare_equal, rational_psd, sign_of
from symgrad.verification.problem import build_problem
from symgrad.verification.prove import prove
from symgrad.verification.sample import Search, search
from symgrad.verification.search import targeted
from verify_corpus import CASES, CATEGORIES

x, y, z = sp.symbols("x y z")
n = sp.Symbol("n")
TRUE = [c for c in CASES if c.expected != "refuted"]
WRONG = [c for c in CASES if c.expected == "refuted"]


def run(case, **kw):
    kw.setdefault("budget", case.budget)
    return verify(case.lhs, case.rhs, case.relation, case.assumptions, **kw)


# --- an evaluator independent of verify's own ---------------------------------------

def evaluate_at(expr, point):
    """expr at a counterexample, by plain subs/doit (not verify's bottom-up evaluator)."""
    dims = {k: sp.Integer(v) for k, v in point.items() if isinstance(v, int)}
    values = {(k.xreplace(dims) if isinstance(k, sp.MatrixSymbol) else k): v
              for k, v in point.items() if not isinstance(v, int)}
    e = nodes.to_standard(sp.sympify(expr)).xreplace(dims).xreplace(values).doit()
    if getattr(e, "is_Matrix", False):
        return sp.Matrix(e.as_explicit()).applyfunc(lambda t: nodes.to_standard(t).doit())
    return nodes.to_standard(e).doit()


def certainly_nonzero(d):
    d = sp.sympify(d)
    if d.is_Rational:
        return d != 0
    return abs(d.evalf(50)) > sp.Float("1e-40")


def certainly_negative(d, strict):
    """d < 0 (or d <= 0 when ``strict`` is the relation's strictness) at 50 digits or exactly."""
    d = sp.sympify(d)
    if d.is_Rational:
        return d <= 0 if strict else d < 0
    value = d.evalf(50)
    return value < -sp.Float("1e-40")


def separates(case, point):
    """True when the relation of ``case`` fails at ``point`` (re-evaluated here)."""
    L, R = evaluate_at(case.lhs, point), evaluate_at(case.rhs, point)
    if isinstance(L, sp.MatrixBase) and R == 0:
        R = sp.zeros(*L.shape)                     # "D^T D - I >= 0" compares with a zero matrix
    if case.relation == "==":
        pairs = zip(L, R) if isinstance(L, sp.MatrixBase) else [(L, R)]
        return any(certainly_nonzero(a - b) for a, b in pairs)
    d = L - R if case.relation in (">=", ">") else R - L
    strict = case.relation in (">", "<")
    if isinstance(L, sp.MatrixBase):
        S = (d + d.T) / 2
        if all(v.is_Rational for v in S):
            return not (S.is_positive_definite if strict else S.is_positive_semidefinite)
        with mpmath.workdps(50):
            low = min(mpmath.eigsy(mpmath.matrix(S.evalf(50).tolist()))[0])
        return low < -1e-30
    return certainly_negative(d, strict)


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


# --- the corpus ----------------------------------------------------------------------

def test_corpus_is_organised():
    assert len(CASES) >= 40
    assert len(WRONG) >= 15 and len(TRUE) >= 25
    assert {"activations", "losses", "matrix calculus", "log-det", "logsumexp",
            "inequalities", "Hessians (PSD)"} <= set(CATEGORIES)
    assert {c.expected for c in CASES} == {"proven", "probable", "refuted"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_verdict(case):
    v = run(case)
    assert v.status == case.expected, str(v)
    assert v.ok == (case.expected != "refuted")
    if v.status == "proven":
        assert not v.method.startswith("random points") and v.counterexample is None
    if v.status == "probable":
        assert v.points >= 20


@pytest.mark.parametrize("case", TRUE, ids=[c.name for c in TRUE])
def test_no_true_claim_is_refuted_by_sampling_alone(case):
    # Another seed and no proof budget: only the sampler and its certification decide.
    v = run(case, seed=7, budget=0)
    assert v.status == "probable", str(v)


@pytest.mark.parametrize("case", WRONG, ids=[c.name for c in WRONG])
def test_counterexample_separates_the_sides(case):
    v = run(case)
    assert v.status == "refuted"
    assert set(v.counterexample) == free_symbols(case)
    for key, value in v.counterexample.items():
        if isinstance(key, sp.MatrixSymbol):
            assert all(e.is_Rational for e in value)
            assert value.shape == tuple(int(sp.sympify(d).xreplace(
                {s: sp.Integer(i) for s, i in v.counterexample.items() if isinstance(i, int)}))
                for d in key.shape)
        elif not isinstance(value, int):
            assert value.is_Rational
    for a in case.assumptions:
        if isinstance(a, sp.core.relational.Relational):
            assert a.xreplace(v.counterexample) is sp.true
    assert separates(case, v.counterexample)


@pytest.mark.parametrize("case", WRONG, ids=[c.name for c in WRONG])
def test_no_proof_route_accepts_a_wrong_claim(case):
    problem = build_problem(case.lhs, case.rhs, case.relation, case.assumptions, None)
    route, _ = prove(problem, 3.0)
    assert route is None


# --- certification ------------------------------------------------------------------------

def test_cancellation_at_z_120_is_not_a_counterexample():
    s = 1 / (1 + sp.exp(-z))
    L, R = sp.diff(s, z).subs(z, 120), (s * (1 - s)).subs(z, 120)
    assert certified_sign(L - R) is None           # zero to every precision tried
    v = sign_of(L - R, 1)
    assert (v.sign, v.exact) == (0, False) and v.ball.ball.contains(0)
    assert compare_equal(L, R)[:2] == ("ok", False)
    v = verify(sp.diff(s, z), s * (1 - s), assumptions=[sp.Eq(z, 120)], budget=0)
    assert v.status == "probable" and v.points == 20


def test_tiny_real_differences_are_certified():
    assert certified_sign(sp.exp(1) - sp.Rational("2.718281828459045235360287")) == 1
    assert compare_equal(sp.cos(sp.Rational(3, 10**40)) - 1, sp.S.Zero)[0] == "violated"
    v = verify(x**2, x**2 + sp.Rational(1, 10**12))
    assert v.status == "refuted" and v.method == "counterexample, exact rational arithmetic"
    assert v.rhs_value - v.lhs_value == sp.Rational(1, 10**12)


def test_differences_below_1e30_are_still_certified():
    v = verify(sp.exp(x), sp.exp(x) + sp.exp(-1000))
    assert v.status == "refuted" and "certified" in v.method
    assert certainly_nonzero(sp.exp(-1000) * 10**400)     # the difference really is exp(-1000)


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
    v = verify(nodes.RowSoftmax(D), 0, ">")          # not square: compared entry by entry
    assert v.status == "probable" and v.points == 60
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
    with pytest.raises(ParseError, match="text"):
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

def test_budget_runs_out_and_sampling_decides(monkeypatch):
    monkeypatch.setattr(prove_module, "route_for", lambda problem, cheap=False: time.sleep(30))
    v = verify((x + 1)**2, x**2 + 2 * x + 1, budget=0.3)
    assert v.status == "probable" and "budget" in v.note


def test_without_fork_only_cheap_routes_run_inline(monkeypatch):
    def no_fork(method=None):
        raise ValueError("fork is not available")
    monkeypatch.setattr(prove_module.multiprocessing, "get_context", no_fork)
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
    L, R = e.xreplace(v.counterexample), (e + c * term).xreplace(v.counterexample)
    assert certainly_nonzero(L - R)


@given(st.lists(st.fractions(-4, 4, max_denominator=3), min_size=6, max_size=6), st.booleans())
def test_exact_psd_test_agrees_with_sympy(entries, strict):
    A = sp.Matrix(3, 2, [sp.Rational(e) for e in entries])
    for M in (A * A.T, A * A.T - sp.eye(3) / 4, A * A.T + sp.eye(3)):
        expected = M.is_positive_definite if strict else M.is_positive_semidefinite
        assert rational_psd(sp.ImmutableMatrix(M), strict) == expected


# --- the targeted search -----------------------------------------------------------------------

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
def test_targeted_search_finds_thin_counterexamples(lhs, rhs, relation):
    problem = build_problem(lhs, rhs, relation, (), None)
    found = targeted(problem, random.Random(0), Search(points=0, tries=0, exact=True),
                     time.monotonic() + 10)
    assert found.counterexample is not None
    case = type("Case", (), {"lhs": lhs, "rhs": rhs, "relation": relation})
    assert separates(case, {problem.to_user.get(k, k): v for k, v in found.counterexample[0].items()})
    v = verify(lhs, rhs, relation, budget=1)
    assert v.status == "refuted" and separates(case, v.counterexample), str(v)


def test_random_sampling_alone_misses_the_dip_and_the_point_beyond_1e12():
    # So the targeted search, not luck, refutes these two (sampling's log-scaled draws stop
    # at 9e12; the limit at infinity sends the search further).
    beyond = (x**2, 10**14 * abs(x), "<=")
    for lhs, rhs, relation in (THIN[0][1:], beyond):
        problem = build_problem(lhs, rhs, relation, (), None)
        assert search(problem, random.Random(0), 60, 1300).counterexample is None
        v = verify(lhs, rhs, relation, budget=1)
        assert v.status == "refuted", str(v)


@pytest.mark.parametrize("lhs, rhs, relation", [
    (x**4 - 4 * x**3 + 4 * x**2, sp.S.Zero, ">="),          # touches 0 at x = 0 and x = 2
    (sp.Max(x, y), sp.Min(x, y), ">="),                      # equal on the tie
    (sp.log(1 + sp.exp(x)), x, ">"),                         # gap exp(-x) far out
    ((x**2)**a, abs(x)**(2 * a), "=="),
])
def test_targeted_search_never_refutes_a_true_claim(lhs, rhs, relation):
    problem = build_problem(lhs, rhs, relation, (), None)
    found = targeted(problem, random.Random(1), Search(points=0, tries=0, exact=True),
                     time.monotonic() + 3)
    assert found.counterexample is None and found.admitted > 0
