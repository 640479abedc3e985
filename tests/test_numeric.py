"""The numeric core (symgrad/numeric), one piece at a time: the exact evaluator, the sampling
primitives, dimension discovery, kinks and domains read from the op registry, finite
differences, and certification's refusal to refute on float64-only values."""

import random

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.check.sampler import Sampler, admissible_point
from symgrad.numeric import certify, dims, enclose, exact, kinks, reference, sampling
from symgrad.numeric.differences import richardson
from symgrad.ops import replaced
from symgrad.ops.elementwise import at_zero
from symgrad.ops.nodes import ElementwiseMap, Sigmoid
from symgrad.verification.problem import build_problem

x, y, z = sp.symbols("x y z")
n, k = sp.symbols("n k", integer=True, positive=True)
R = sp.Rational


def _softsign(name, with_mpmath):
    """A registered softsign; float64 values only unless ``with_mpmath``."""
    return sg.register_function(
        name, derivative=lambda u: 1 / (1 + sp.Abs(u))**2, numpy=lambda u: u / (1 + np.abs(u)),
        mpmath=(lambda u: u / (1 + abs(u))) if with_mpmath else None)


# --- the exact evaluator --------------------------------------------------------------------

def test_exact_turns_floats_into_the_rationals_they_are():
    assert exact.exact(0.1) == R(3602879701896397, 36028797018963968)
    M = exact.exact(np.array([[0.5, -2.0], [0.25, 3.0]]))
    assert M == sp.ImmutableMatrix([[R(1, 2), -2], [R(1, 4), 3]])


def test_closed_form_is_exact_and_keeps_irrationals_closed():
    value = exact.closed_form(sp.log(x) + x**2, {x: R(1, 2)})
    assert value == R(1, 4) - sp.log(2)
    X = sp.MatrixSymbol("X", n, 1)
    A = sp.MatrixSymbol("A", n, n)
    point = {n: sp.Integer(2), X: sp.ImmutableMatrix([1, R(1, 2)]),
             A: sp.ImmutableMatrix([[2, 1], [0, 3]])}
    assert exact.closed_form((X.T * A * X)[0, 0], point) == R(2 + 1 / 2 + 3 / 4)


def test_closed_form_keeps_huge_powers_unevaluated_and_refuses_unreachable_ones():
    huge = exact.closed_form(x**y, {x: R(3, 2), y: sp.Integer(10**6)})
    assert isinstance(huge, exact.HugePower)
    with mp.workdps(40):
        want = (mp.mpf(3) / 2) ** (10**6)
        assert abs(mp.mpf(str(huge.evalf(30))) / want - 1) < mp.mpf(10)**-25
    with pytest.raises(exact.Undefined, match="too large"):
        exact.closed_form(sp.exp(sp.exp(sp.exp(x))), {x: sp.Integer(17)})
    assert reference.evaluate(sp.exp(sp.exp(sp.exp(x))), {x: sp.Integer(17)}) is sp.zoo


def test_evaluate_raises_precision_through_cancellation():
    # 1 - sigma(1000) = e^-1000 / (1 + e^-1000): at 50 digits evalf alone gets it wrong
    got = reference.evaluate(1 - Sigmoid(x), {x: sp.Integer(1000)}, 30)
    with mp.workdps(60):
        want = mp.exp(-1000) / (1 + mp.exp(-1000))
        assert abs(mp.mpf(str(got)) - want) < want * mp.mpf(10)**-28


def test_evaluate_gives_prec_digits_and_matrices_entrywise():
    value = reference.evaluate(x**2 / 3 + sp.sqrt(x), {x: R(1, 2)}, 40)
    assert value._prec >= 130 and abs(value - R(1, 12) - sp.sqrt(2) / 2) < 1e-39
    A = sp.MatrixSymbol("A", 2, 2)
    value = reference.evaluate(A.I, {A: sp.ImmutableMatrix([[2, 1], [0, 4]])})
    want = [R(1, 2), -R(1, 8), 0, R(1, 4)]
    assert isinstance(value, sp.MatrixBase)
    assert max(abs(v - w) for v, w in zip(value, want)) < 1e-49


def test_is_finite_real():
    assert exact.is_finite_real(sp.Float(2.5))
    assert exact.is_finite_real(sp.ImmutableMatrix([1, R(1, 3)]))
    assert not exact.is_finite_real(sp.zoo)
    assert not exact.is_finite_real(sp.I + 1)
    assert not exact.is_finite_real(sp.ImmutableMatrix([1, sp.nan]))


def test_float_only_ops_names_functions_registered_without_mpmath():
    F = _softsign("softsign_floatonly_a", with_mpmath=False)
    G = _softsign("softsign_exact_a", with_mpmath=True)
    assert exact.float_only_ops(F(x) + G(x), sp.sin(x)) == ["softsign_floatonly_a"]
    assert exact.float_only_ops(G(x) * sp.exp(x)) == []


# --- sampling primitives ----------------------------------------------------------------

def test_draws_are_reproducible_from_the_seed():
    def draws(seed):
        rng = random.Random(seed)
        return ([sampling.dyadic(rng, -512, 512) for _ in range(5)],
                [sampling.small_rational(rng) for _ in range(5)],
                sampling.positive_definite(rng, 3, sampling.small_rational, skew=True),
                sampling.dimension(rng, (1, 2, 3)))
    assert draws(4) == draws(4)
    assert draws(4) != draws(5)


def test_dyadic_draws_are_exact_in_float64():
    rng = random.Random(1)
    for _ in range(50):
        v = sampling.dyadic(rng, -512, 512)
        assert v.q in (1, 2, 4, 8, 16, 32, 64, 128, 256)
        assert sp.Rational(float(v)) == v


def test_small_rationals_and_magnitudes_stay_in_their_ranges():
    rng = random.Random(2)
    for _ in range(200):
        v = sampling.small_rational(rng)
        assert abs(v.p) <= 9 and v.q in (1, 2, 3, 4)
        m = sampling.magnitude(rng)
        assert 0 < m <= 50 and m.q <= 10


def test_positive_definite_with_skew_is_not_symmetric_but_its_symmetric_part_is_pd():
    rng = random.Random(3)
    for size in (1, 2, 3, 4):
        plain = sampling.positive_definite(rng, size, sampling.small_rational)
        assert plain == plain.T and certify.rational_psd(plain, strict=True)
        skewed = sampling.positive_definite(rng, size, lambda r: sampling.dyadic(r, -128, 128),
                                            skew=True)
        assert certify.rational_psd((skewed + skewed.T) / 2, strict=True)
        assert skewed.det() > 0
    assert skewed != skewed.T


def test_matrix_and_dimension_draws():
    rng = random.Random(4)
    M = sampling.matrix(rng, 2, 3, lambda r: sampling.dyadic(r, 0, 7, 8))
    assert M.shape == (2, 3) and all(0 <= v <= R(7, 8) for v in M)
    assert {int(sampling.dimension(rng, (2, 3))) for _ in range(40)} == {2, 3}


# --- dimension discovery ----------------------------------------------------------------------

def test_dimension_symbols_of_every_matrix_in_order_of_appearance():
    m = sp.Symbol("m", integer=True, positive=True)
    X = sp.MatrixSymbol("X", n, k)
    assert dims.dimension_symbols([X * X.T]) == [n, k]
    assert dims.dimension_symbols([sp.Trace(sp.Identity(m)) + x]) == [m]
    assert dims.dimension_symbols([x**2]) == []


def test_sizes_resolve_a_shape_or_say_none():
    X = sp.MatrixSymbol("X", n, k + 1)
    assert dims.sizes(X, {n: 2, k: 3}) == (2, 4)
    assert dims.sizes(X, {n: 2}) is None
    assert dims.sizes(X, {n: 0, k: 3}) is None
    assert dims.sizes(sp.MatrixSymbol("C", 3, 2), {}) == (3, 2)


def test_draw_dimensions_keeps_given_sizes_and_draws_the_rest():
    X, W = sp.MatrixSymbol("X", n, k), sp.MatrixSymbol("W", k, 1)
    got = dims.draw_dimensions([X, W], {n: sp.Integer(5)}, random.Random(0))
    assert got[n] == 5 and got[k] in (2, 3) and set(got) == {n, k}
    assert dims.draw_dimensions([X], {}, random.Random(0), allowed=(7,)) == {n: 7, k: 7}


def test_bind_dimensions_reads_sizes_off_an_array():
    out = {}
    dims.bind_dimensions(sp.MatrixSymbol("X", n, k + 1), (4, 6), out)
    assert out == {n: 4}          # k + 1 = 6 is not solved for


# --- kinks and domains, from the registry ------------------------------------------------------

def test_kinks_at_finds_zeros_ties_and_branch_cuts():
    on = kinks.kinks_at(sp.Abs(x - 1) + sp.Max(x, y), {x: sp.Integer(1), y: sp.Integer(1)})
    assert [v for _, v in on] == [0, 0]
    assert any("tie" in desc for desc, _ in on)
    cut = sp.atan2(y, x)
    assert kinks.kinks_at(cut, {x: sp.Integer(-1), y: sp.Integer(0)}) != []
    assert kinks.kinks_at(cut, {x: sp.Integer(1), y: sp.Integer(0)}) == []


def test_kinks_at_looks_inside_elementwise_maps_entry_by_entry():
    A = sp.MatrixSymbol("A", 2, 1)
    u = sp.Dummy("u")
    expr = sp.Trace(ElementwiseMap(sp.Lambda((u,), sp.Abs(u)), A).T * A)
    values = sorted(v for _, v in kinks.kinks_at(expr, {A: sp.ImmutableMatrix([R(1, 2), 0])}))
    assert len(values) == 2 and values[0] == 0 and abs(values[1] - R(1, 2)) < 1e-29


def test_kinks_come_from_the_registry():
    assert kinks.kinks_at(sp.sin(x), {x: sp.Integer(0)}) == []
    with replaced(sp.sin, kinks=at_zero):
        assert [v for _, v in kinks.kinks_at(sp.sin(x - 2), {x: sp.Integer(2)})] == [0]
        assert kinks.has_kinks(sp.sin(x))
    assert not kinks.has_kinks(sp.sin(x))


def test_positive_symbols_read_positive_and_domain_facts():
    expr = sp.sqrt(x) + sp.log(y) + sp.polygamma(0, z) + sp.sin(n)
    assert kinks.positive_symbols(expr) == {x, y, z}
    assert kinks.positive_symbols(sp.log(x + 1)) == set()


def test_spd_matrices_read_needs_spd():
    A, B = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
    expr = sp.Trace(A.I) + sp.Trace(B)
    assert kinks.spd_matrices(expr) == {A}
    with replaced(sp.Trace, needs_spd=True):
        assert kinks.spd_matrices(expr) == {A, B}


def test_boundaries_guards_and_determinant_hints():
    assert kinks.boundaries([1 / x + sp.asin(y)]) == [x, 1 - y**2]
    assert kinks.domain_guards([sp.sqrt(x) * sp.Piecewise((sp.log(y), y > 0), (0, True))]) \
        == [sp.sqrt(x)]
    M, N, P = (sp.MatrixSymbol(s, n, n) for s in "MNP")
    exprs = [sp.log(sp.Determinant(M)) + sp.sqrt(sp.Determinant(N)) + 1 / sp.Determinant(P)]
    assert kinks.determinant_hints(exprs) == [M, N]


def test_a_registered_functions_domain_is_honoured_by_sampler_and_verify():
    F = _softsign("softsign_domain_t", with_mpmath=True)
    expr = F(x) * x
    assert kinks.positive_symbols(expr) == set()
    with replaced(F, domain=lambda node: [node.args[0]]):
        assert kinks.positive_symbols(expr) == {x}
        assert kinks.domain_guards([expr]) == [F(x)]
        assert kinks.boundaries([expr]) == [x]
        sampler = Sampler(expr, seed=0)
        assert all(sampler.number(x, attempt) > 0 for attempt in range(30))
        point, _ = admissible_point(sampler, [x], set(), {}, {}, expr, [])
        assert point[x] > 0
        problem = build_problem(expr, x, "==", (), None)
        assert problem.guards == [F(problem.scalars[0])]
    sampler = Sampler(expr, seed=0)
    assert any(sampler.number(x, attempt) < 0 for attempt in range(30))


# --- finite differences ------------------------------------------------------------------------

def test_richardson_is_accurate_and_estimates_its_error():
    value, error = richardson(lambda t: np.exp(0.3 + t), 0.3)
    assert abs(value - np.exp(0.3)) < 1e-10 and error < 1e-8
    values, errors = richardson(lambda t: np.array([np.sin(1 + t), (1 + t)**4]), 1.0,
                                powers=(10,))
    assert np.all(np.abs(values - [np.cos(1), 4]) < 1e-8) and errors.shape == (2,)


def test_richardson_error_estimate_is_large_across_a_kink():
    # a step of 2^-10 straddles the kink at -1e-5: the estimate says so
    value, error = richardson(lambda t: abs(t + 1e-5), 0.0, powers=(10,))
    assert error > 1e-3
    # smaller steps are tried until one does not straddle it
    value, error = richardson(lambda t: abs(t + 1e-5), 0.0)
    assert abs(value - 1) < 1e-9 and error < 1e-9


# --- certification and float64-only values ----------------------------------------------------

def _judge_at(lhs, rhs, value):
    problem = build_problem(lhs, rhs, "==", (), None)
    (s,) = problem.scalars
    return certify.judge(problem, {s: value})


def test_a_float64_only_function_never_certifies_a_violation():
    F = _softsign("softsign_floatonly_b", with_mpmath=False)
    G = _softsign("softsign_exact_b", with_mpmath=True)
    truth = _judge_at(F(x), x / (1 + sp.Abs(x)), R(-17))
    assert truth.state == "uncertified" and truth.missing == ("softsign_floatonly_b",)
    wrong = _judge_at(F(x), x / (1 + sp.Abs(x)) + 1, R(1, 3))
    assert wrong.state == "uncertified"
    assert _judge_at(G(x), x / (1 + sp.Abs(x)) + 1, R(1, 3)).state == "violated"
    assert _judge_at(G(x), x / (1 + sp.Abs(x)), R(-17)).state == "ok"
    # a difference free of the float64 values still certifies
    assert _judge_at(F(x) + 1, F(x), R(1, 3)).state == "violated"


def test_verify_says_probable_with_the_reason_for_float64_only_values():
    F = _softsign("softsign_floatonly_c", with_mpmath=False)
    for rhs in (x / (1 + sp.Abs(x)), x / (1 + sp.Abs(x)) + 1):
        v = sg.verify(F(x), rhs, budget=0)
        assert v.status == "probable", str(v)
        assert "softsign_floatonly_c" in v.note and "mpmath" in v.note
        assert v.counterexample is None
    G = _softsign("softsign_exact_c", with_mpmath=True)
    assert sg.verify(G(x), x / (1 + sp.Abs(x)) + 1, budget=0).status == "refuted"


def test_check_grad_notes_a_float64_only_reference():
    w = sp.Symbol("w")
    F = _softsign("softsign_floatonly_d", with_mpmath=False)
    report = sg.check_grad(F(w * x), [w], [x])
    assert report.ok
    assert any("softsign_floatonly_d" in note and "float64" in note for note in report.notes)
    G = _softsign("softsign_exact_d", with_mpmath=True)
    assert not any("float64" in note for note in sg.check_grad(G(w * x), [w], [x]).notes)


def test_a_tiny_but_certain_imaginary_part_is_not_real():
    # sqrt(-10^-60) = 10^-30 i: within rounding noise of 30 digits, but certainly not real,
    # so the point is outside the real domain (it had refuted |sqrt(x)|^2 == x, true for x >= 0)
    problem = build_problem(sp.Abs(sp.sqrt(x))**2, x, "==", (), None)
    (s,) = problem.scalars
    with pytest.raises(certify.Undefined, match="imaginary"):
        certify.judge(problem, {s: -R(1, 10**60)})
    # real values written through complex exponentials keep their rounding-noise imaginary part
    problem = build_problem((sp.exp(sp.I * x) - sp.exp(-sp.I * x)) / (2 * sp.I), sp.sin(x),
                            "==", (), None)
    (s,) = problem.scalars
    assert certify.judge(problem, {s: R(1, 3)}).state == "ok"
