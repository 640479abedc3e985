"""Shifted and partial reads in index notation: sums over i = 1..n-1, reads w[i + 1], w[i - 1],
KroneckerDelta over unequal ranges. Each gradient is compared entry by entry, at several n
(the first and last entries among them), with sympy.diff of the sum written out, and the
generated code with check_grad (whose symbolic side is the gradient tested here)."""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.ops.registry import replaced

i, j, n, d = sp.symbols("i j n d", integer=True)
x, w = sp.IndexedBase("x"), sp.IndexedBase("w")

SHIFTED = [
    sp.Sum(w[i] * x[i], (i, 1, n - 1)),
    sp.Sum(w[i + 1] * x[i], (i, 0, n - 2)),
    sp.Sum((w[i + 1] - w[i])**2, (i, 0, n - 2)),
    sp.Sum(w[i + 1]**2, (i, 0, n - 1)),
    sp.Sum((w[i] - w[i - 1])**2, (i, 1, n - 1)),
    sp.Sum(w[i]**2 * x[i], (i, 2, n - 1)),
    sp.Sum(w[i] * x[i + 1], (i, 0, n - 1)),
    sp.Sum((x[i + 1] - x[i]) * w[i]**2, (i, 0, n - 2)),
    sp.Sum(sp.exp(w[i + 2]) * x[i] + w[i]**2, (i, 0, n - 1)),
]


def _written(L, size):
    return L.subs(n, size).doit()


def _length(e, base):
    return 1 + max(int(r.indices[0]) for r in e.atoms(sp.Indexed) if r.base == base)


@pytest.mark.parametrize("L", SHIFTED, ids=lambda L: sp.sstr(L))
def test_gradient_matches_the_written_out_sum_at_every_entry(L):
    g = sg.grad(L, w[j])
    for size in (3, 4, 6):
        written = _written(L, size)
        for t in range(_length(written, w)):         # 0 and the last entry among them
            want = sp.diff(written, w[t])
            got = g.subs({n: size, j: t}).doit()
            assert sp.expand(got - want) == 0, (size, t, got, want)


@pytest.mark.parametrize("L", SHIFTED, ids=lambda L: sp.sstr(L))
def test_check_grad_passes_the_generated_gradient(L):
    report = sg.check_grad(L, wrt=[w], args=[x] if L.has(x) else [], seed=0, points=2)
    assert report.ok, str(report)


def test_a_read_that_spans_its_axis_has_no_indicator():
    assert sg.grad(sp.Sum(w[i] * x[i], (i, 0, n - 1)), w[j]) == x[j]
    assert sg.grad(sp.Sum(w[i + 1] * x[i], (i, 0, n - 1)), w[j]) == \
        sp.Piecewise((x[j - 1], j >= 1), (0, True))


def test_check_grad_still_fails_a_wrong_rule_under_a_partial_sum():
    L = sp.Sum(sp.tanh(w[i]) * x[i], (i, 1, n - 1))
    assert sg.check_grad(L, wrt=[w], args=[x], seed=0, points=1).ok
    with replaced(sp.tanh, rule=lambda g, ans, u: (g * (1 + ans**2),)):
        assert not sg.check_grad(L, wrt=[w], args=[x], seed=0, points=1).ok


def test_differences_of_neighbours_run_from_the_array_length():
    f = sg.value_and_grad(sp.Sum((w[i + 1] - w[i])**2, (i, 0, n - 2)), wrt=[w], args=[])
    value, (grad,) = f(np.arange(5.))
    assert value == pytest.approx(4.0)
    np.testing.assert_allclose(grad, [-2, 0, 0, 0, 2])
    f = sg.value_and_grad(sp.Sum((w[i] - w[i - 1])**2, (i, 1, n - 1)), wrt=[w], args=[])
    np.testing.assert_allclose(f(np.arange(5.))[1][0], [-2, 0, 0, 0, 2])


def test_arrays_of_different_lengths_share_one_size():
    f = sg.value_and_grad(sp.Sum((x[i + 1] - x[i]) * w[i]**2, (i, 0, n - 2)), wrt=[w], args=[x])
    value, (grad,) = f(np.ones(4), np.arange(5.))
    assert value == pytest.approx(4.0)
    np.testing.assert_allclose(grad, 2 * np.ones(4))
    wrong = r"x.*needs 5 entries.*shape \(6,\).*n=5 \(from axis 0 of w\)"
    with pytest.raises(sg.ShapeMismatch, match=wrong):
        f(np.ones(4), np.arange(6.))
    f = sg.value_and_grad(sp.Sum(w[i] * x[i + 1], (i, 0, n - 1)), wrt=[w], args=[x])
    value, (grad,) = f(np.ones(4), np.arange(5.))
    assert value == pytest.approx(10.0)
    np.testing.assert_allclose(grad, [1, 2, 3, 4])
    with pytest.raises(sg.ShapeMismatch, match=r"x\[i \+ 1\] reaches position 4.*\(4,\)"):
        f(np.ones(4), np.ones(4))


def test_a_shift_along_the_second_axis():
    L = sp.Sum((w[i, j + 1] - w[i, j])**2, (i, 0, n - 1), (j, 0, d - 1))
    f = sg.value_and_grad(L, wrt=[w], args=[])
    a = np.array([[0., 1, 3, 6], [2, 2, 2, 2]])
    value, (grad,) = f(a)
    assert value == pytest.approx(1 + 4 + 9)
    np.testing.assert_allclose(grad, [[-2, -2, -2, 6], [0, 0, 0, 0]])
    assert sg.check_grad(L, wrt=[w], args=[], seed=0, points=2).ok
    k = sp.Symbol("k", integer=True)
    g = sg.grad(L, w[j, k])
    written = L.subs({n: 2, d: 3}).doit()
    for r in range(2):
        for c in range(4):
            got = g.subs({n: 2, d: 3, j: r, k: c}).doit()
            assert sp.expand(got - sp.diff(written, w[r, c])) == 0


def test_kronecker_delta_over_unequal_ranges():
    L = sp.Sum(sp.KroneckerDelta(i, j) * w[i, j]**2 + w[i, j] * x[i, j],
               (i, 0, n - 1), (j, 0, d - 1))
    f = sg.value_and_grad(L, wrt=[w], args=[x])
    value, (grad,) = f(np.ones((2, 3)), np.ones((2, 3)))
    assert value == pytest.approx(8.0)
    np.testing.assert_allclose(grad, [[3, 1, 1], [1, 3, 1]])
    assert sg.check_grad(L, wrt=[w], args=[x], seed=0, points=2).ok
    shifted = sp.Sum(sp.KroneckerDelta(i, j) * w[i] * x[j], (i, 1, n - 1), (j, 0, n - 1))
    f = sg.value_and_grad(shifted, wrt=[w], args=[x])
    np.testing.assert_allclose(f(np.ones(3), np.arange(3.))[1][0], [0, 1, 2])
    assert sg.check_grad(shifted, wrt=[w], args=[x], seed=0, points=2).ok


def test_a_read_before_the_first_entry_is_refused():
    L = sp.Sum(w[i - 1] * x[i], (i, 0, n - 1))
    with pytest.raises(sg.ShapeMismatch, match=r"w\[i - 1\] reads position -1.*i = 0"):
        sg.grad(L, w[j])
    with pytest.raises(sg.ShapeMismatch, match=r"w\[i - 1\]"):
        sg.value_and_grad(L, wrt=[w], args=[x])


def test_a_gradient_added_into_never_changes_an_input_in_place():
    k = sp.Symbol("k", integer=True)
    L = sp.Sum(w[i]**2, (i, 0, n - 3)) + sp.Sum(w[k] * x[k], (k, 0, n - 1))
    f = sg.value_and_grad(L, wrt=[w], args=[x])
    data = np.ones(4)
    np.testing.assert_allclose(f(np.arange(4.), data)[1][0], [1, 3, 1, 1])
    np.testing.assert_allclose(data, np.ones(4))
    assert sg.check_grad(L, wrt=[w], args=[x], seed=1, points=2).ok


def test_an_axis_read_to_two_unrelated_ends_gives_no_size():
    k = sp.Symbol("k", integer=True)
    L = sp.Sum(w[i] * x[i], (i, 0, n - 1)) + sp.Sum(w[k]**2, (k, 0, d - 1))
    with pytest.raises(sg.ArgumentError, match="the size d is the length of no array's axis"):
        sg.value_and_grad(L, wrt=[w], args=[x])
    f = sg.value_and_grad(L, wrt=[w], args=[x, d])
    np.testing.assert_allclose(f(np.ones(3), np.ones(2), 3)[1][0], [3, 3, 2])
    assert sg.grad(L, w[j]) == sp.Piecewise((x[j], j <= n - 1), (0, True)) + \
        sp.Piecewise((2 * w[j], j <= d - 1), (0, True))
    assert sg.check_grad(L, wrt=[w], args=[x, d], seed=1, points=2).ok


@pytest.mark.parametrize("L", SHIFTED[2:6], ids=lambda L: sp.sstr(L))
def test_hessian_matches_the_written_out_sum_at_every_entry(L):
    k = sp.Symbol("k", integer=True)
    H = sg.hessian(L, w[j])                  # d2 L / dw[j] dw[k]
    assert H.atoms(sp.Symbol) - L.free_symbols == {j, k}
    for size in (3, 4):
        written = _written(L, size)
        last = _length(written, w)
        for r in range(last):
            for c in range(last):
                got = H.subs({n: size, j: r, k: c}).doit()
                assert sp.expand(got - sp.diff(written, w[r], w[c])) == 0, (size, r, c)


def test_a_window_read_and_a_plain_read_of_one_array():
    k = sp.Symbol("k", integer=True)
    L = sp.Sum(sp.Sum(w[k] * x[i + k], (k, 0, d - 1)) * x[i], (i, 0, n - 1))
    f = sg.value_and_grad(L, wrt=[w], args=[x])          # d = 2 from w, then n = 4 - d + 1
    value, (grad,) = f(np.ones(2), np.arange(4.))
    assert value == pytest.approx(13.0)
    np.testing.assert_allclose(grad, [5, 8])
    assert sg.check_grad(L, wrt=[w], args=[x], seed=0, points=2).ok


def test_the_old_gradient_without_its_range_is_refused_by_verify():
    g = sg.grad(sp.Sum(w[i] * x[i], (i, 1, n - 1)), w[j])
    assert sg.verify(g, x[j]).status == "refuted"
    assert sg.verify(g, sp.Piecewise((x[j], j >= 1), (0, True))).status == "proven"


GUARDED = [
    sp.Sum(sp.Piecewise((w[i - 1] * x[i], i >= 1), (0, True)), (i, 0, n - 1)),
    sp.Sum(sp.Piecewise((w[i + 1] * x[i], i <= n - 2), (0, True)) + w[i]**2, (i, 0, n - 1)),
    sp.Sum(sp.Piecewise((w[i - 1] * w[i + 1], (i >= 1) & (i < n - 1)), (x[i] * w[i], True)),
           (i, 0, n - 1)),
]


@pytest.mark.parametrize("L", GUARDED, ids=lambda L: sp.sstr(L))
def test_a_read_past_the_ends_under_a_guard(L):
    g = sg.grad(L, w[j])
    for size in (3, 4, 5):
        written = _written(L, size)
        for t in range(_length(written, w)):
            got = g.subs({n: size, j: t}).doit()
            assert sp.expand(got - sp.diff(written, w[t])) == 0, (size, t, got)
    assert sg.check_grad(L, wrt=[w], args=[x], seed=0, points=2).ok


def test_a_guarded_read_is_computed_on_a_padded_window():
    L = GUARDED[0]
    f = sg.value_and_grad(L, wrt=[w], args=[x])
    assert "_window(w, (-1,), (n - 1,))" in f.source
    value, (grad,) = f(np.arange(3.), np.arange(4.))       # n = 4 from x; w needs 3
    assert value == pytest.approx(0 * 1 + 1 * 2 + 2 * 3)
    np.testing.assert_allclose(grad, [1, 2, 3])


def test_a_gradient_with_its_range_can_be_summed_again():
    g = sg.grad(sp.Sum((w[i + 1] - w[i])**2, (i, 0, n - 2)), w[j])
    M = sp.Sum(g * x[j]**2, (j, 0, n - 1))
    f = sg.value_and_grad(M, wrt=[w], args=[x])
    value, _ = f(np.arange(4.)**2, np.ones(4))
    assert value == pytest.approx(0.0)
    assert sg.check_grad(M, wrt=[w], args=[x], seed=0, points=2).ok


def test_a_guarded_read_that_cannot_be_padded_is_refused():
    W = sp.IndexedBase("W")
    L = sp.Sum(sp.Piecewise((W[i - 1, 0] * x[i], i >= 1), (0, True)), (i, 0, n - 1))
    with pytest.raises(sg.UnsupportedExpression, match=r"W\[i - 1, 0\] under a guard"):
        sg.value_and_grad(L, wrt=[x], args=[W])
