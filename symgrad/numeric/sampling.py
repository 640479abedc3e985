"""Sampling primitives: exact random numbers and matrices drawn from one ``random.Random``.

Every draw is an exact SymPy number, so the exact side (SymPy) and a float64 side see
the same value: dyadic rationals k/256 (check_grad, whose generated code runs in
floats) and small rationals p/q (verify). The callers (check's ``Sampler``, verify's
``draw_point``) decide what to draw where; this module only draws. Each primitive makes
the same calls on the generator for the same arguments, so a seed fixes the points.

>>> import random
>>> rng = random.Random(0)
>>> positive_definite(rng, 2, small_rational).is_positive_definite
True
"""

from __future__ import annotations

import random
from typing import Callable

import sympy as sp

__all__ = ["DENOMINATOR", "dyadic", "small_rational", "magnitude", "matrix",
           "positive_definite", "dimension"]

DENOMINATOR = 256          # dyadic draws are multiples of 1/256: floats hold them exactly


def dyadic(rng: random.Random, lo: int, hi: int, denominator: int = DENOMINATOR) -> sp.Rational:
    """k/denominator for a uniform integer k in [lo, hi]."""
    return sp.Rational(rng.randint(lo, hi), denominator)


def small_rational(rng: random.Random) -> sp.Rational:
    """p/q with |p| <= 9 and q in {1, 2, 3, 4} (1 twice as often)."""
    return sp.Rational(rng.randint(-9, 9), rng.choice((1, 1, 2, 3, 4)))


def magnitude(rng: random.Random) -> sp.Rational:
    """A positive rational p/q (q <= 10): half the time at most 3, else up to 20 or 50."""
    q = rng.randint(1, 10)
    return sp.Rational(rng.randint(1, rng.choice((3 * q, 3 * q, 20, 50))), q)


def matrix(rng: random.Random, rows: int, cols: int,
           entry: Callable[[random.Random], sp.Rational]) -> sp.ImmutableMatrix:
    """A rows x cols matrix of ``entry(rng)`` draws, row by row."""
    return sp.ImmutableMatrix(rows, cols, lambda i, j: entry(rng))


def positive_definite(rng: random.Random, n: int, entry: Callable[[random.Random], sp.Rational],
                      skew: bool = False) -> sp.ImmutableMatrix:
    """A A^T + I for a random n x n matrix A: symmetric positive definite.

    With ``skew``, S - S^T is added for a second random S: the symmetric part stays
    positive definite (so det > 0), but the matrix is not symmetric, so X^-1 and X^-T
    differ and a missing transpose shows.
    """
    a = sp.Matrix(n, n, lambda i, j: entry(rng))
    out = a * a.T + sp.eye(n)
    if skew:
        s = sp.Matrix(n, n, lambda i, j: entry(rng))
        out = out + s - s.T
    return sp.ImmutableMatrix(out)


def dimension(rng: random.Random, allowed) -> sp.Integer:
    """One size from ``allowed`` (repeats weight it)."""
    return sp.Integer(rng.choice(list(allowed)))
