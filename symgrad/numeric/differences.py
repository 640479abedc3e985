"""Finite differences: central differences with one Richardson step, and their error.

``richardson(f, scale)`` differentiates a float function ``f(t)`` (a number or an array) at
t = 0. With step h, the central differences over h and h/2 are combined as
(4 d(h/2) - d(h)) / 3, which cancels the h^2 error term; |that - d(h/2)| (plus rounding,
1e-13 relative) estimates what is left. Steps 2^-p * max(1, scale) are tried for each p in
``powers`` until the estimate is below 1e-9 relative; the best one stands.

>>> value, error = richardson(lambda t: (1.5 + t)**3, 1.5)
>>> round(float(value), 9), bool(error < 1e-5)
(6.75, True)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["richardson", "POWERS"]

POWERS = (10, 14, 18)      # steps 2^-10, 2^-14, 2^-18 (times the scale)
SETTLED = 1e-9             # an error estimate this small (relative) ends the search
ROUNDING = 1e-13           # relative rounding every estimate carries


def _one_step(f: Callable, h: float):
    d1 = (f(h) - f(-h)) / (2 * h)
    d2 = (f(h / 2) - f(-h / 2)) / h
    value = (4 * d2 - d1) / 3
    return value, np.abs(value - d2) + ROUNDING * np.maximum(1.0, np.abs(value))


def richardson(f: Callable, scale: float, powers=POWERS):
    """(derivative, error estimate) of ``f`` at 0, entrywise for an array-valued ``f``."""
    best = None
    for power in powers:
        value, error = _one_step(f, 2.0 ** -power * max(1.0, scale))
        if best is None or np.max(error) < np.max(best[1]):
            best = (value, error)
        if np.all(error <= SETTLED * np.maximum(1.0, np.abs(value))):
            break
    return best
