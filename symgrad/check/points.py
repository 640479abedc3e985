"""Where check_grad compares: drawn points made admissible, and the generated code run there.

A point is admissible where the loss and gradients are finite, real and within float64's
range (certified balls), off every kink, and where the generated code computes them without
overflowing: an intermediate beyond the float type's range (w**10000 with the loss itself
in range) says nothing about the gradient, so such a point is drawn again, or, where the
caller fixed it, reported as not comparable; never a mismatch. A drawn point where every
gradient entry underflows float64 (nonzero, below its normal range) is drawn again too:
0 against 0 there would pass any formula; it is compared, with a note, only when no draw
is better (and before a point that overflows). With per-sample data, the samples that sit
on a kink (x = 0 in Max(0, w*x)) are left out and the others compared:
no other draw of the parameters moves them off it.

>>> scale_of(2.0, [np.array([-3.0, 1.0])])
6.0
"""

from typing import NamedTuple

import numpy as np
import sympy as sp
from flint import arb

from ..errors import SymgradError
from ..numeric.arrays import NotBallable
from .report import NEAR_KINK
from .sampler import ATTEMPTS, FLOAT_LIMIT

__all__ = ["Point", "admissible", "scale_of"]

TINY = float(np.finfo(np.float64).tiny)     # below this, float64 keeps no relative precision


class Point(NamedTuple):
    """One point: its values, the reference's evaluation there, the generated code's loss and
    gradients (None on a kink), the samples left out, whether the generated code overflows
    there (then nothing is compared), and whether every gradient entry of a drawn point
    underflows."""

    values: dict
    ev: object
    loss: object = None
    generated: object = None
    dropped: tuple = ()
    overflow: bool = False
    underflow: bool = False


def admissible(check, sampler, data, pinned, boundary, k) -> Point:
    """The k-th point of ``check`` (a check_grad run): drawn until admissible; a point the
    caller fixed is returned as it is, with what is wrong with it."""
    spare = None                      # the point to fall back on, if no draw is better
    for attempt in range(ATTEMPTS):
        check.deadline.check("drawing points")
        values = sampler.arrays(check.inputs, data, check.given, check.dims, attempt + k,
                                boundary if (k + attempt) % 2 == 0 else None)
        ev = _evaluate(check, values)
        values, ev, dropped = _without_kink_samples(check, values, ev, data)
        on, _ = ev.kinks(NEAR_KINK)
        if on and pinned:
            return Point(values, ev, dropped=dropped)         # listed as a kink, not compared
        last = attempt == ATTEMPTS - 1
        if not ev.finite_within(FLOAT_LIMIT) or (on and not last):
            continue
        if on:
            return Point(values, ev, dropped=dropped)
        loss, generated, overflow = _generated(check, values, ev)
        underflow = not pinned and _underflows(ev)
        point = Point(values, ev, loss, generated, dropped, overflow, underflow)
        if (overflow or underflow) and not pinned:
            spare = point if spare is None or (spare.overflow and not overflow) else spare
            if not last:
                continue
            return spare
        return point
    if spare is not None:
        return spare
    raise SymgradError("check_grad found no point where %s and its gradient are finite, real and "
                       "within float64's range; pass values={symbol: value} inside the domain"
                       % sp.sstr(check.expr)[:80])


def _evaluate(check, values):
    try:
        return check.ref.evaluation(values, check.dims, check.bits, check.deadline)
    except NotBallable as exc:
        raise SymgradError("check_grad cannot evaluate the symbolic gradient: %s" % exc) from None


def _without_kink_samples(check, values, ev, data):
    """(values, evaluation, samples left out): per-sample data without the samples on a kink,
    when some but not all samples are on one."""
    samples = {s for s in data if isinstance(values[s], np.ndarray) and values[s].ndim == 1}
    counts = {values[s].size for s in samples}
    if len(counts) != 1:
        return values, ev, ()
    count = counts.pop()
    on = ev.kink_samples(count)
    if not on or len(on) >= count:
        return values, ev, ()
    keep = [i for i in range(count) if i not in on]
    values = {s: (v[keep] if s in samples else v) for s, v in values.items()}
    return values, _evaluate(check, values), tuple(sorted(on))


def _underflows(ev) -> bool:
    """Whether every gradient entry is below float64's normal range though not every one is
    0: x**10000 at x = 0.3 is e^-12000, 0 in float64, where 0 against 0 tests nothing."""
    mids = [ev.gradient(i, np.shape(g)) for i, g in enumerate(ev.grad_balls)]   # cached
    if not all(np.all(np.abs(m) < TINY) for m in mids):
        return False
    return any(isinstance(b, arb) and not b.is_zero()
               for g in ev.grad_balls for b in np.asarray(g, dtype=object).ravel())


def scale_of(loss, generated) -> float:
    """1 + |loss| + the largest |gradient entry|: what entries are measured against."""
    return 1 + abs(float(loss)) + max((float(np.max(np.abs(g))) if np.size(g) else 0.0)
                                      for g in generated)


def _generated(check, values, ev):
    """(loss, gradients, overflow) of the generated code at ``values``. ``overflow``: it
    overflowed (NumPy's flag; for JAX and PyTorch, an inf or NaN) and its values are not the
    exact ones, so the point cannot be compared in this float type."""
    arrays = [check.cast(values[s]) for s in check.inputs]
    flagged = False
    try:
        with np.errstate(all="ignore", over="raise"):
            loss, generated = check.f(*arrays)
    except (FloatingPointError, OverflowError):
        flagged = True
        try:
            with np.errstate(all="ignore"):
                loss, generated = check.f(*arrays)
        except OverflowError:            # Python floats raise whatever NumPy says
            return None, None, True
    generated = [np.asarray(g, dtype=float) for g in generated]
    finite = bool(np.isfinite(loss)) and all(np.all(np.isfinite(g)) for g in generated)
    if check.f.backend != "numpy":
        flagged = flagged or not finite
    if not flagged:
        return loss, generated, False
    if not finite:
        return loss, generated, True
    floor = check.tol.floor * scale_of(loss, generated)
    exact = [ev.gradient(i, np.shape(g)) for i, g in enumerate(generated)]
    agrees = all(np.all(np.abs(g - e) <= check.tol.generated * np.maximum(np.abs(e), floor))
                 for g, e in zip(generated, exact))
    return loss, generated, not agrees
