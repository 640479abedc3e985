"""Where check_grad compares: admissible points drawn inside an expression's domain.

Points are dyadic rationals (multiples of 1/256), which floats represent exactly, so the
exact side (``numeric.enclose``, certified balls) and the float64 side (generated code) see the same numbers.
Symbols that sit under a log, a square root or a fractional power (whatever the registry's
``domain`` and ``positive`` facts say) are drawn positive; square matrices under an inverse
or a determinant (``needs_spd``) are drawn with a positive definite symmetric part but not
symmetric, so det > 0 and X^-1 differs from X^-T.
"""

import random

import numpy as np
import sympy as sp

from ..errors import ArgumentError, ShapeMismatch, SymgradError
from ..numeric.dims import bind_dimensions, draw_dimensions, sizes
from ..numeric.reference import evaluate
from ..numeric.exact import exact, float_only_ops, is_finite_real
from ..numeric.kinks import positive_symbols, spd_matrices
from ..numeric.sampling import DENOMINATOR, dyadic, matrix, positive_definite

__all__ = ["Sampler", "random_dims", "given_values", "given_arrays", "split_samples", "sample_mean",
           "admissible_point", "numeric", "float64_notes"]

MAX_SYMBOLIC_SAMPLES = 8  # per-sample data: exact side uses at most this many samples
FLOAT_LIMIT = 1e300       # exact values beyond this are not compared (float64 overflows)
ATTEMPTS = 40             # draws before check_grad gives up finding an admissible point


class Sampler:
    """Draw admissible values for the symbols of an expression."""

    def __init__(self, expr, seed=0, samples=4):
        self.expr = expr
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.samples = samples
        self.positive = positive_symbols(expr)
        self.spd = spd_matrices(expr)

    def number(self, symbol, attempt):
        r = self.rng
        if symbol.is_integer:
            low = 1 if symbol.is_positive else 0 if symbol.is_nonnegative else -4
            return sp.Integer(r.randint(low, 4))
        if symbol.is_positive or symbol in self.positive or attempt % 3 == 2:
            return dyadic(r, DENOMINATOR // 8, 2 * DENOMINATOR)
        if symbol.is_nonnegative:
            return dyadic(r, 0, 2 * DENOMINATOR)
        if attempt % 3 == 1:
            return dyadic(r, -DENOMINATOR + 16, DENOMINATOR - 16)
        return dyadic(r, -2 * DENOMINATOR, 2 * DENOMINATOR)

    def matrix(self, m, dims, attempt):
        rows, cols = sizes(m, dims)
        if m in self.spd:
            return positive_definite(self.rng, rows, lambda r: dyadic(r, -128, 128), skew=True)
        low = DENOMINATOR // 8 if m in self.positive or attempt % 3 == 2 else -DENOMINATOR
        return matrix(self.rng, rows, cols, lambda r: dyadic(r, low, DENOMINATOR))

    def arrays(self, symbols, data, given, dims, attempt, boundary=None):
        """A point as float64 (exact dyadic) values: floats, ints, arrays of samples and
        matrices; ``boundary`` {data symbol: value} puts half of that symbol's entries on a
        data condition's boundary, so both of its branches are taken."""
        out = {}
        count = max([np.size(given[s]) for s in data if s in given and np.ndim(given[s]) == 1],
                    default=self.samples)          # as many samples as the caller gave
        for s in symbols:
            if s in given:
                out[s] = given[s]
            elif isinstance(s, sp.MatrixSymbol):
                out[s] = self.matrix_array(s, dims, attempt)
            elif s in data:
                out[s] = np.array([float(self.number(s, attempt)) for _ in range(count)])
            else:
                v = self.number(s, attempt)
                out[s] = int(v) if v.is_Integer and s.is_integer else float(v)
            if boundary and s in boundary and s not in given:
                out[s] = _on_boundary(out[s], float(boundary[s]), attempt)
        return out

    def matrix_array(self, m, dims, attempt):
        rows, cols = sizes(m, dims)
        if m in self.spd:
            return np.array(self.matrix(m, dims, attempt).tolist(), dtype=float)
        low = DENOMINATOR // 8 if m in self.positive or attempt % 3 == 2 else -DENOMINATOR
        return self.np_rng.integers(low, DENOMINATOR, size=(rows, cols)) / DENOMINATOR

    def point(self, symbols, data, given, dims, attempt):
        """Exact values: scalars for symbols, lists of `samples` values for data symbols."""
        out = {}
        for s in symbols:
            if s in given:
                out[s] = given[s]
            elif isinstance(s, sp.MatrixSymbol):
                out[s] = self.matrix(s, dims, attempt)
            elif s in data:
                out[s] = [self.number(s, attempt) for _ in range(self.samples)]
            else:
                out[s] = self.number(s, attempt)
        return out


def random_dims(inputs, given, seed):
    """Concrete sizes (2 or 3) for dimension symbols not fixed by given arrays."""
    return draw_dimensions(inputs, given, random.Random(seed + 7))


def float64_notes(expr):
    """A note for each op in ``expr`` whose exact value is float64 only."""
    return ["%s is registered without an mpmath implementation: the symbolic reference "
            "evaluates it in float64 (about 16 digits), not to 50 digits; pass mpmath= to "
            "register_function for an exact reference" % name for name in float_only_ops(expr)]


def _agree(m, shape, dims, given):
    """Refuse a fixed array whose shape contradicts a dimension another one already fixed
    (or a numeric dimension of ``m``), naming the dimension, both sizes and the matrices."""
    for dim, size in zip(m.shape, shape):
        if dim.is_Number and int(dim) != size or dim in dims and int(dims[dim]) != size:
            other = [str(g) for g in given if isinstance(g, sp.MatrixSymbol) and dim in g.shape]
            raise ShapeMismatch(
                "values[%s] has shape %s, so %s = %d, but %s; give arrays whose shapes agree"
                % (m, shape, dim, size, "%s is %s" % (dim, dim) if dim.is_Number else
                   "%s = %s from values[%s]" % (dim, dims[dim], ", ".join(other) or "?")))


def given_arrays(values, inputs, per_sample):
    """The values the caller fixed as float64 arrays (exact: each float is a dyadic rational),
    the dimensions their shapes give, and notes. Keys must be the symbols themselves."""
    if not isinstance(values, dict):
        raise ArgumentError("values must be a dict {symbol: number or array}, got %s"
                            % type(values).__name__)
    given, dims, notes = {}, {}, []
    names = {str(s): s for s in inputs}
    for s, v in values.items():
        if isinstance(v, (str, bytes)):
            raise ArgumentError("values[%s] is the text %r: give a number or an array; strings are "
                                "never parsed" % (s, v))
        if isinstance(s, str):
            hint = " (values={%s: ...})" % names[s] if s in names else ""
            raise ArgumentError("values has the string key %r: use the symbol itself as the key%s; "
                                "strings are never parsed" % (s, hint))
        if s not in inputs:
            raise ArgumentError("values names %s, which is in neither wrt nor args" % s)
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
            _agree(s, a.shape, dims, given)
            bind_dimensions(s, a.shape, dims)
            given[s] = a
        elif a.ndim == 0:
            given[s] = float(a)
        else:
            a = a.ravel()
            if a.size > MAX_SYMBOLIC_SAMPLES:
                notes.append("%s: compared at the first %d of %d samples (exact side at 50 "
                             "digits, generated code and differences alike)"
                             % (s, MAX_SYMBOLIC_SAMPLES, a.size))
                a = a[:MAX_SYMBOLIC_SAMPLES]
            given[s] = a
    return given, dims, notes


def given_values(values, inputs, per_sample):
    """Exact values for the symbols the caller fixed, the dimensions their arrays give, notes."""
    given, dims, notes = given_arrays(values, inputs, per_sample)
    for s, a in given.items():
        given[s] = [exact(x) for x in a] if isinstance(a, np.ndarray) and a.ndim == 1 \
            else exact(a)
    return given, dims, notes


def _on_boundary(value, c, attempt):
    """Half the entries of a data value (every other one) at c; a scalar on alternate attempts."""
    if isinstance(value, np.ndarray):
        a = value.copy()
        a.reshape(-1)[::2] = c
        return a
    return c if attempt % 2 == 0 else value


def split_samples(point):
    """Split a point with per-sample lists into one scalar point per sample."""
    count = max([len(v) for v in point.values() if isinstance(v, list)], default=0)
    if count == 0:
        return [point]
    return [{s: (v[i] if isinstance(v, list) else v) for s, v in point.items()} for i in range(count)]


def sample_mean(values):
    """The mean of exact values (numbers or matrices) over the samples of a point."""
    return sum(values[1:], values[0]) / len(values)


def admissible_point(sampler, inputs, data, given, dims, expr, symbolic, prec=50):
    """A point where ``expr`` and every expression in ``symbolic`` are finite and real.

    Returns (point, values): ``values[i][j]`` is ``symbolic[j]`` at sample i, to ``prec``
    digits, so callers need not evaluate them again.
    """
    for attempt in range(ATTEMPTS):
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
    """A sampled exact value as float64: a float, or an array for samples and matrices."""
    if isinstance(v, list):
        return np.array([float(x) for x in v])
    if isinstance(v, sp.MatrixBase):
        return np.array(v.tolist(), dtype=float)
    return float(v)
