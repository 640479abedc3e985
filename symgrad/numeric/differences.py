"""Finite differences: central differences with one Richardson step, and their error.

``richardson(f, scale)`` differentiates a float function ``f(t)`` (a number or an array) at
t = 0. With step h, the central differences over h and h/2 are combined as
(4 d(h/2) - d(h)) / 3, which cancels the h^2 error term; |that - d(h/2)| (plus rounding,
1e-13 relative) estimates what is left. Steps 2^-p * max(1, scale) are tried for each p in
``powers`` until the estimate is below 1e-9 relative; the best one stands.

The steps and the rounding suit float64. For code that computes in float32 or float16,
``for_dtype(dtype)`` gives steps near eps^(1/3) (the best a central difference can do) and
that dtype's rounding: a step of 2^-18 would vanish in float16 (its eps is 2^-10) and make
every difference exactly zero.

>>> value, error = richardson(lambda t: (1.5 + t)**3, 1.5)
>>> round(float(value), 9), bool(error < 1e-5)
(6.75, True)
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = ["richardson", "POWERS", "Steps", "for_dtype"]

POWERS = (10, 14, 18)      # steps 2^-10, 2^-14, 2^-18 (times the scale)
SETTLED = 1e-9             # an error estimate this small (relative) ends the search
ROUNDING = 1e-13           # relative rounding every estimate carries


class Steps(NamedTuple):
    """Step powers (steps 2^-p times the scale), the relative rounding of one estimate, and
    the error estimate that ends the search, for one floating-point type."""

    powers: tuple
    rounding: float
    settled: float


FLOAT64 = Steps(POWERS, ROUNDING, SETTLED)


def for_dtype(dtype) -> Steps:
    """The steps for code computing in ``dtype`` (float64, float32, float16).

    >>> for_dtype(np.float16).powers, for_dtype(np.float64) == FLOAT64
    ((2, 3, 4), True)
    """
    eps = float(np.finfo(dtype).eps)
    if eps <= 2.0 ** -52:
        return FLOAT64
    best = int(round(-np.log2(eps) / 3))          # h near eps^(1/3)
    return Steps((best - 1, best, best + 1), 2.0 ** 6 * eps, 2.0 ** 4 * eps)


def _one_step(f: Callable, h: float, rounding: float = ROUNDING):
    d1 = (f(h) - f(-h)) / (2 * h)
    d2 = (f(h / 2) - f(-h / 2)) / h
    value = (4 * d2 - d1) / 3
    return value, np.abs(value - d2) + rounding * np.maximum(1.0, np.abs(value))


def richardson(f: Callable, scale: float, powers=POWERS, steps: Steps = FLOAT64):
    """(derivative, error estimate) of ``f`` at 0, entrywise for an array-valued ``f``.
    ``steps`` (``for_dtype``) replaces the float64 steps and rounding when ``powers`` is left."""
    if powers is not POWERS:
        steps = steps._replace(powers=tuple(powers))
    best = None
    for power in steps.powers:
        value, error = _one_step(f, 2.0 ** -power * max(1.0, scale), steps.rounding)
        if best is None or np.max(error) < np.max(best[1]):
            best = (value, error)
        if np.all(error <= steps.settled * np.maximum(1.0, np.abs(value))):
            break
    return best
