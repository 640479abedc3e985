"""The "index sums" proof route (graph/index_normal.py) and matrix entries written with
indices (graph/index_matrix.py). A false "proven" is the worst defect, so random pairs of
index expressions are decided by the normal form and every pair it calls equal is checked
at concrete sizes in exact arithmetic; pairs built equal by renaming, reordering and
distributing must be found equal."""

import itertools
import random

import pytest
import sympy as sp

import symgrad as sg
from symgrad.graph.index_matrix import entry, scalar
from symgrad.graph.index_normal import index_normal, index_zero
from test_index import _exact

i, j, k, m = sp.symbols("i j k m", integer=True)
n, d = sp.symbols("n d", integer=True, positive=True)
x, y, A = sp.IndexedBase("x"), sp.IndexedBase("y"), sp.IndexedBase("A")
RANGES = {i: n, j: d, k: n, m: d}


def _random_term(rng):
    """A product of reads over i, j, k, m (ranges n, d, n, d) and a constant."""
    reads = [x[i, j], x[k, m], x[i, m], x[k, j], y[i], y[k], A[j, m], A[m, j], y[i]**2]
    return rng.choice([1, 2, -1, sp.Rational(1, 2)]) * sp.Mul(*rng.sample(reads, rng.randint(1, 3)))


def _summed(term):
    used = [s for s in (i, j, k, m) if s in term.free_symbols]
    return sp.Sum(term, *[(s, 0, RANGES[s] - 1) for s in used]) if used else term


def _values(rng, sizes):
    values = {}
    for base, shape in ((x, (sizes[n], sizes[d])), (y, (sizes[n],)), (A, (sizes[d], sizes[d]))):
        import numpy as np
        values[base] = np.array([rng.randint(-4, 4) for _ in range(int(np.prod(shape)))],
                                dtype=float).reshape(shape)
    return values


def _variant(expr, rng):
    """``expr`` changed in a way that may or may not keep its value: indices swapped in
    the terms (equal when the ranges agree), A transposed, a constant changed."""
    change = rng.choice(["ik", "jm", "ij", "transpose", "constant", "none"])
    if change in ("ik", "jm", "ij"):
        a, b = {"ik": (i, k), "jm": (j, m), "ij": (i, j)}[change]
        return expr.replace(lambda e: isinstance(e, sp.Sum),
                            lambda e: sp.Sum(e.function.xreplace({a: b, b: a}), *e.limits))
    if change == "transpose":
        return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == A,
                            lambda e: A[e.indices[1], e.indices[0]])
    if change == "constant":
        return expr * rng.choice([1, 2])
    return expr


def test_random_pairs_called_equal_are_equal_at_concrete_sizes():
    rng = random.Random(5)
    decided = {True: 0, False: 0}
    for _ in range(60):
        a = sum(_summed(_random_term(rng)) for _ in range(rng.randint(1, 2)))
        b = _variant(a, rng)
        equal = index_zero(a - b)
        decided[equal] += 1
        if equal:                                  # a proof: it must hold at every size
            for sizes in ({n: 2, d: 3}, {n: 3, d: 2}):
                values = _values(rng, sizes)
                assert _exact(a, sizes, values) == _exact(b, sizes, values), (a, b)
    assert decided[True] >= 10 and decided[False] >= 10, decided


@pytest.mark.parametrize("seed", range(6))
def test_pairs_equal_by_renaming_reordering_and_distributing_are_proven(seed):
    rng = random.Random(seed)
    t1, t2 = _random_term(rng), _random_term(rng)
    a = _summed(t1) + _summed(t2)
    rename = dict(zip((i, j, k, m), (k, m, i, j)))              # i <-> k, j <-> m
    swapped = t1.xreplace(rename)
    used = [s for s in (i, j, k, m) if s in swapped.free_symbols]
    b = sp.Sum(swapped, *[(s, 0, RANGES[s] - 1) for s in reversed(used)]) if used else swapped
    b = b + sp.Sum(sp.expand(3 * t2), *[(s, 0, RANGES[s] - 1) for s in (i, j, k, m)
                                        if s in t2.free_symbols]) / 3
    assert index_zero(a - b), (a, b)


def test_transposed_reads_and_squares_of_sums_are_not_identified():
    wrong = [
        sp.Sum(x[i, j] * A[j, m], (j, 0, d - 1), (m, 0, d - 1)) - sp.Sum(x[i, j] * A[m, j], (j, 0, d - 1), (m, 0, d - 1)),
        sp.Sum(sp.Sum(x[i, j], (j, 0, d - 1))**2, (i, 0, n - 1)) - sp.Sum(x[i, j]**2, (i, 0, n - 1), (j, 0, d - 1)),
        sp.Sum(y[i], (i, 0, n - 1)) - sp.Sum(y[i], (i, 0, n - 2)),
        sp.Sum(sp.exp(sp.Sum(x[i, j], (j, 0, d - 1))), (i, 0, n - 1)) - sp.Sum(sp.exp(x[i, j]), (i, 0, n - 1), (j, 0, d - 1)),
    ]
    for e in wrong:
        assert not index_zero(e) and index_normal(e) != 0


def test_verify_proves_an_index_gradient_and_refutes_a_wrong_one():
    w = sp.IndexedBase("w")
    L = sp.Sum((sp.Sum(w[j] * x[i, j], (j, 0, d - 1)) - y[i])**2, (i, 0, n - 1)) / n
    hand = 2 * sp.Sum(x[k, m] * (sp.Sum(x[k, j] * w[j], (j, 0, d - 1)) - y[k]), (k, 0, n - 1)) / n
    v = sg.verify(hand, sg.grad(L, w[m]))
    assert v.status == "proven" and v.method == "index sums"
    assert sg.verify(2 * hand, sg.grad(L, w[m])).status == "refuted"


def test_matrix_entries_written_with_indices():
    X, W = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("W", d, d)
    v = sp.MatrixSymbol("v", d, 1)
    k1, k2 = sp.symbols("k1 k2", integer=True)
    Xb, Wb, vb = (sp.IndexedBase(name) for name in "XWv")
    assert index_zero(entry(X * W * v, i, 0) - sp.Sum(Xb[i, k1] * Wb[k1, k2] * vb[k2],
                                                      (k1, 0, d - 1), (k2, 0, d - 1)))
    assert entry(sp.Identity(d), i, j) == sp.KroneckerDelta(i, j)
    assert index_zero(scalar(sp.Trace(X.T * X)) - sp.Sum(sp.IndexedBase("X")[i, j]**2, (i, 0, n - 1), (j, 0, d - 1)))
    with pytest.raises(sg.UnsupportedExpression):
        entry(sp.Inverse(W), i, j)


def test_a_triangular_sum_is_never_reordered_into_a_proof():
    tri = sp.Sum(sp.Sum(x[i, j], (j, 0, i)), (i, 0, n - 1))          # Σ_i Σ_{j<=i}
    full = sp.Sum(sp.Sum(x[i, j], (j, 0, n - 1)), (i, 0, n - 1))
    assert not index_zero(tri - full)
    assert not index_zero(sp.Sum(y[k] * tri, (k, 0, n - 1)) - sp.Sum(y[k] * full, (k, 0, n - 1)))
    assert index_zero(sp.Sum(y[k] * tri, (k, 0, n - 1)) - sp.Sum(y[m] * tri, (m, 0, n - 1)))
