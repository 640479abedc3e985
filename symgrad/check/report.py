"""The pieces both gradient checks share: tolerances, the report, and the sampled point.

``check_grad`` (first order, check.py) and ``check_hessian`` (second order,
hessian_check.py) both fill a ``GradCheckReport`` with one ``Row`` per
parameter, from points drawn by ``admissible_point``.
"""

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..errors import ArgumentError, ShapeMismatch, SymgradError
from ..numeric.points import evaluate, exact, is_finite_real

__all__ = ["GradCheckReport", "Row", "PAIRS", "given_values", "split_samples", "admissible_point",
           "numeric"]

RTOL_GENERATED = 1e-7     # generated float64 code against exact values
RTOL_FD = 1e-5            # finite differences, on top of their own error estimate
NEAR_KINK = 1e-3          # closer than this to a kink, differences straddle it
UNRELIABLE_FD = 1e-5      # a Richardson error estimate this large (relative) means no derivative
MAX_SYMBOLIC_SAMPLES = 8  # per-sample data: exact side uses at most this many samples
MAX_FD_ENTRIES = 24       # finite differences of a large matrix: this many entries
FLOAT_LIMIT = 1e300       # exact values beyond this are not compared (float64 overflows)


PAIRS = ("symbolic~generated", "symbolic~fd", "fd~generated", "symbolic~complex")

@dataclass
class Row:
    """Largest disagreement of each pair for one parameter."""

    parameter: str
    errors: dict = field(default_factory=lambda: {p: [0.0, 0.0] for p in PAIRS})
    ok: bool = True
    compared: set = field(default_factory=set)
    relative: set = field(default_factory=set)

    def record(self, pair, a, b, tol):
        self.compared.add(pair)
        err = float(abs(a - b))
        scale = float(abs(b))
        rel = err / scale if scale > 0 else (0.0 if err == 0 else None)
        e = self.errors[pair]
        worse = lambda new, old: new if (new != new or new > old) else old   # NaN counts as worst
        e[0] = worse(err, e[0])
        if rel is not None:                  # no relative error against an exact zero
            e[1] = worse(rel, e[1])
            self.relative.add(pair)
        if not err <= tol:
            self.ok = False


@dataclass
class GradCheckReport:
    """Result of check_grad: ``ok``, a row per parameter, kinks, and notes."""

    ok: bool
    rows: list
    points: int
    kinks: list
    notes: list

    def __bool__(self):
        return self.ok

    def __str__(self):
        head = "check_grad: %s at %d point(s): symbolic (exact, 50 digits) vs central+Richardson " \
               "differences (fd) vs generated NumPy vs complex step" % (
                   "OK" if self.ok else "MISMATCH", self.points)
        row = "%-14s" + " %-19s" * len(PAIRS) + " %s"
        lines = [head, "max abs / rel error of each pair:",
                 row % ("parameter", *PAIRS, "verdict")]
        for r in self.rows:
            cells = [("%.1e / %s" % (r.errors[p][0], "%.1e" % r.errors[p][1] if p in r.relative
                                     else "n/a")) if p in r.compared else "n/a" for p in PAIRS]
            lines.append(row % (r.parameter[:14], *cells, "ok" if r.ok else "MISMATCH"))
        lines += ["not differentiable: " + k for k in self.kinks]
        lines += ["note: " + n for n in self.notes]
        return "\n".join(lines)


def given_values(values, inputs, per_sample):
    given, dims, notes = {}, {}, []
    for s, v in values.items():
        if s not in inputs:
            raise SymgradError("values names %s, which is in neither wrt nor args" % s)
        try:
            a = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise ArgumentError("values[%s] is not numeric: %r" % (s, v)) from None
        if not np.all(np.isfinite(a)):
            raise ArgumentError("values[%s] holds NaN or inf; check_grad needs finite points" % s)
        if isinstance(s, sp.MatrixSymbol):
            if a.ndim == 1 and 1 in s.shape:
                a = a.reshape((1, -1) if s.shape[0] == 1 else (-1, 1))
            if a.ndim != 2:
                raise ShapeMismatch("values[%s] has shape %s; %s is a %s x %s matrix"
                                    % (s, a.shape, s, *s.shape))
            for d, size in zip(s.shape, a.shape):
                if isinstance(d, sp.Symbol):
                    dims[d] = sp.Integer(size)
            given[s] = exact(a)
        elif a.ndim == 0:
            given[s] = exact(a)
        else:
            a = a.ravel()
            if a.size > MAX_SYMBOLIC_SAMPLES:
                notes.append("%s: compared at the first %d of %d samples (exact side at 50 "
                             "digits, generated code and differences alike)"
                             % (s, MAX_SYMBOLIC_SAMPLES, a.size))
                a = a[:MAX_SYMBOLIC_SAMPLES]
            given[s] = [exact(x) for x in a]
    return given, dims, notes


def split_samples(point):
    """Split a point with per-sample lists into one scalar point per sample."""
    count = max([len(v) for v in point.values() if isinstance(v, list)], default=0)
    if count == 0:
        return [point]
    return [{s: (v[i] if isinstance(v, list) else v) for s, v in point.items()} for i in range(count)]


def admissible_point(sampler, inputs, data, given, dims, expr, symbolic, prec=50):
    """A point where ``expr`` and every expression in ``symbolic`` are finite and real.

    Returns (point, values): ``values[i][j]`` is ``symbolic[j]`` at sample i, to ``prec``
    digits, so callers need not evaluate them again.
    """
    for attempt in range(40):
        point = sampler.point(inputs, data, given, dims, attempt)
        values = []
        for sample in split_samples(point):
            subs = {**sample, **dims}
            here = [evaluate(e, subs, prec) for e in [expr] + list(symbolic)]
            if not all(is_finite_real(v) and _fits_float64(v) for v in here):
                break
            values.append(here[1:])
        else:
            return point, values
    raise SymgradError("check_grad found no point where %s and its gradient are finite, real and "
                       "within float64's range; pass values={symbol: value} inside the domain"
                       % sp.sstr(expr)[:80])


def _fits_float64(value):
    """Exact values float64 can hold: beyond 1e300 the generated code must overflow, and a
    comparison there would say nothing about the gradient."""
    return all(abs(v) < FLOAT_LIMIT for v in (value if isinstance(value, sp.MatrixBase) else [value]))


def numeric(v):
    if isinstance(v, list):
        return np.array([float(x) for x in v])
    if isinstance(v, sp.MatrixBase):
        return np.array(v.tolist(), dtype=float)
    return float(v)
