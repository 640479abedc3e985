"""verify(), step 5: a targeted search where random points found nothing.

Random rationals rarely land where a claim fails only on a thin set: near an
extremum, on a tie, far out, at a negative base with an even exponent. When
sampling and the proof routes have both come back empty-handed, ``targeted``
tries, in this order, within a count and a deadline, each phase within a fair share
of the time left (what a phase leaves unused goes to the next):

* special points: each real symbol at a simple value (0, +-1, +-2, +-1/2, ...);
  symbols in an exponent at small integers and halves, the bases of such
  powers negative half the time; unbounded symbols sometimes at +-30 ... +-1000,
  bounded ones at or just inside an end of their interval;
* kink points: exactly on a Max/Min tie, a zero of an Abs/sign/Heaviside
  argument, a Piecewise boundary or a domain edge (one symbol solved for where
  it enters linearly, else a rational root of a polynomial), and just off it on
  either side (1 and 1/1000 away), where the other branch is taken;
* critical points of a scalar inequality, in ``roots.py``: one symbol
  free, the others fixed, the zeros of d = lhs - rhs and of d';
* structured matrices at larger sizes (5, 6, 8 as well as 2..4): identity, all-ones,
  a multiple of either, rank one, diagonal, a basis vector, for claims that fail only
  for n >= 5 or only on such matrices;
* local minima of d in all sampled symbols at once (``minimize.py``), for a failure on
  a thin set around an irrational point;
* beyond |x| = 10^12, where the limit of d at +-infinity says to look (``asymptotic.py``).

Each candidate is judged like a random point (exact, or certified), so what the
search refutes is as certain as what sampling refutes.
"""

import time

import sympy as sp

from ..numeric.deadline import OutOfTime, until
from .asymptotic import asymptotic_points
from .cost import affordable, record_cost
from .minimize import minimized_points
from .roots import degree_at_most, ends, far, slice_values
from .sample import (boundaries, complete_point, draw_point, draw_scalar, examine, inside,
                             onto_boundary, satisfies)

SMALL = tuple(sp.Rational(v) for v in ("0", "1", "-1", "2", "-2", "1/2", "-1/2", "3", "-3",
                                       "1/3", "-1/3", "3/2", "-3/2"))
EXPONENTS = tuple(sp.Rational(v) for v in ("2", "2", "1/2", "1/2", "3", "1/3", "-1", "-2",
                                           "-1/2", "3/2"))
BASES = tuple(sp.Rational(v) for v in ("-2", "-1", "-1/2", "-3", "2", "1/2", "3"))
INTEGERS = tuple(sp.Integer(v) for v in (0, 1, -1, 2, -2, 3, -3, 10, -10, 100))
SPECIAL_DRAWS = 80          # special points tried (repeats are skipped, not judged)
KINK_OFFSETS = tuple(sp.Rational(v) for v in ("0", "-1", "1", "0", "-1/1000", "1/1000"))
                            # each kink: points on it and just across it on either side (a
                            # Piecewise branch taken only past z = -10 is wrong there alone)
KINKS = 8                   # kinks used at most
SLICES = 6                  # lines searched for critical points at most
STRUCTURED_DRAWS = 40       # points with structured matrices
LARGE_SIZES = (5, 6, 8, 5, 2, 3, 4)


# --- special values ------------------------------------------------------------------

def _roles(problem):
    """(symbols in a symbolic exponent, symbols only in the base of such a power)."""
    exps, bases = set(), set()
    for side in (problem.lhs, problem.rhs):
        for e in sp.preorder_traversal(side):
            if isinstance(e, sp.Pow) and e.exp.free_symbols:
                exps |= e.exp.free_symbols
                bases |= e.base.free_symbols
    return exps, bases - exps


def _special_scalar(roles):
    exps, bases = roles

    def draw(rng, s, problem):
        box, integer = problem.intervals[s], s in problem.integers
        r = rng.random()
        if r < 0.15:
            return draw_scalar(rng, s, problem)
        if integer:
            pool = INTEGERS
        elif r < 0.3:
            pool = ends(box) + far(box)
        else:
            pool = EXPONENTS if s in exps else BASES if s in bases else SMALL
        pool = [v for v in pool if inside(v, box) and (v.is_Integer or not integer)]
        return rng.choice(pool) if pool else draw_scalar(rng, s, problem)
    return draw


def _special_points(problem, rng):
    if not problem.scalars:
        return
    draw, seen = _special_scalar(_roles(problem)), set()
    for _ in range(SPECIAL_DRAWS):
        point = draw_point(problem, rng, None, draw)
        key = None if point is None else tuple(point[s] for s in problem.dims + problem.scalars)
        if key is not None and (problem.matrices or key not in seen):     # skip repeats
            seen.add(key)
            yield point


# --- kinks --------------------------------------------------------------------------

def _rational_root(rng, g, values, problem):
    """Move one symbol to a rational root of the polynomial g (others fixed); False if none."""
    for s in sorted(g.free_symbols, key=sp.default_sort_key):
        h = g.xreplace({t: values[t] for t in g.free_symbols if t is not s})
        if not degree_at_most(h, s):
            continue
        try:
            roots = sp.Poly(h, s).ground_roots() if h.is_polynomial(s) else {}
        except (sp.PolynomialError, sp.GeneratorsNeeded, ValueError):
            continue
        roots = [r for r in roots if r.is_Rational and inside(r, problem.intervals[s])]
        if roots:
            values[s] = rng.choice(sorted(roots))
            return True
    return False


def _kink_points(problem, rng):
    kinks = [g for g in boundaries(problem) if not (g.free_symbols & problem.integers)]
    special = _special_scalar(_roles(problem))
    for i, offset in enumerate(KINK_OFFSETS):           # every kink at one offset, then the next
        for g in kinks[:KINKS]:
            def move(values, g=g, offset=offset):
                return onto_boundary(rng, g, values, problem.intervals.__getitem__, (offset,)) \
                    or (offset == 0 and _rational_root(rng, g, values, problem))
            yield draw_point(problem, rng, None, special if i % 2 else draw_scalar, move)


# --- critical points ----------------------------------------------------------------

def _critical_points(problem, rng):
    if problem.relation == "==" or problem.kind != "scalar" or problem.has_matrices:
        return
    free = [s for s in problem.scalars if s not in problem.integers]
    if not free:
        return
    d = (problem.lhs - problem.rhs) if problem.relation in (">=", ">") else (problem.rhs - problem.lhs)
    d = d.xreplace(dict(problem.eliminated))
    strict = problem.relation in ("<", ">")
    fixed = len(problem.scalars) > 1
    for i in range(SLICES if fixed else 1):
        s = free[i % len(free)]
        base = _admissible(problem, rng)
        if base is None:
            continue
        others = {t: base[t] for t in problem.scalars if t is not s}
        for value in slice_values(d, s, others, problem.intervals[s], strict):
            yield complete_point(problem, rng, {**others, s: value})


def _admissible(problem, rng, tries=20):
    for _ in range(tries):
        point = draw_point(problem, rng, None)
        if point is not None and satisfies(problem, point):
            return point
    return None


# --- structured matrices ---------------------------------------------------------------

def _structured(rng, rows, cols, kinds):
    """A matrix of a structured kind that keeps the assumed ``kinds`` (symmetric, positive
    definite, diagonal, invertible): identity, all-ones, multiples, rank one, diagonal, e_1."""
    square = rows == cols
    allowed = {"identity", "scaled identity", "diagonal"} if square else set()
    allowed |= {"ones", "scaled ones", "rank one", "basis", "symmetric rank one"}
    if not square:
        allowed -= {"symmetric rank one"}
    if "diagonal" in kinds:
        allowed &= {"identity", "scaled identity", "diagonal"}
    if "symmetric" in kinds:
        allowed -= {"rank one"}
    if "positive_definite" in kinds:
        allowed &= {"identity", "scaled identity", "diagonal", "symmetric rank one"}
    if "invertible" in kinds or "positive_definite" in kinds:
        allowed -= {"ones", "scaled ones", "rank one", "basis"}
    if not allowed:
        return None
    kind = rng.choice(sorted(allowed))
    positive = "positive_definite" in kinds
    c = sp.Rational(rng.choice((2, 3, 1, 2) if positive else (2, 3, -1, 1, 2)), rng.choice((1, 1, 2)))
    if kind == "identity":
        return sp.ImmutableMatrix(sp.eye(rows))
    if kind == "scaled identity":
        return sp.ImmutableMatrix(c * sp.eye(rows))
    if kind == "diagonal":
        low = 1 if positive or "invertible" in kinds else -3
        return sp.ImmutableMatrix(sp.diag(*[sp.Integer(rng.choice([v for v in range(low, 4) if v]))
                                             for _ in range(rows)]))
    if kind in ("ones", "scaled ones"):
        return sp.ImmutableMatrix(rows, cols, [1 if kind == "ones" else c] * (rows * cols))
    if kind == "basis":
        return sp.ImmutableMatrix(rows, cols, lambda i, j: 1 if i == j == 0 else 0)
    left = sp.Matrix(rows, 1, lambda i, j: rng.randint(-2, 2) or 1)
    if kind == "symmetric rank one":
        outer = left * left.T
        return sp.ImmutableMatrix(outer + sp.eye(rows) if positive else outer)
    right = sp.Matrix(1, cols, lambda i, j: rng.randint(-2, 2) or 1)
    return sp.ImmutableMatrix(left * right)


def _large_sizes(problem, rng, deadline):
    """A size for each dimension symbol from LARGE_SIZES, each kept to what the cost of
    the points so far says fits the time left (``cost.affordable``)."""
    left = deadline - time.monotonic()
    fits = [k for k in LARGE_SIZES if affordable(problem, k, left)] or [min(LARGE_SIZES)]
    return {d: sp.Integer(min(rng.choice(LARGE_SIZES), max(fits))) for d in problem.dims}


def _sized_points(problem, rng, deadline):
    """Up to STRUCTURED_DRAWS points at large sizes (``_large_sizes``) inside the dimensions'
    intervals, scalars drawn, everything else completed; draws that fail are skipped."""
    for _ in range(STRUCTURED_DRAWS):
        values = _large_sizes(problem, rng, deadline)
        if not all(inside(values[d], problem.intervals[d]) for d in problem.dims):
            continue
        for s in problem.scalars:
            values[s] = draw_scalar(rng, s, problem)
        if any(values[s] is None for s in problem.scalars):
            continue
        point = complete_point(problem, rng, values)
        if point is not None:
            yield point


def _structured_points(problem, rng, deadline):
    if not problem.dims:
        return
    from ..numeric.dims import sizes
    for point in _sized_points(problem, rng, deadline):
        for m in problem.matrices:
            shape = sizes(m, point)
            if shape is not None and rng.random() < 0.7:
                drawn = _structured(rng, *shape, problem.matrix_kinds.get(m, set()))
                point[m] = drawn if drawn is not None else point[m]
        yield point


def _array_points(problem, rng, deadline):
    """Index notation: sizes up to 8, every array filled with one special value (or drawn)."""
    if not problem.bases:
        return
    for point in _sized_points(problem, rng, deadline):
        for base in problem.bases:
            if rng.random() < 0.7:
                fill = rng.choice(SMALL)
                point[base] = sp.ImmutableDenseNDimArray([fill] * len(point[base]),
                                                         point[base].shape)
        yield point


# --- the search ----------------------------------------------------------------------

def targeted(problem, rng, found, deadline, stop=None):
    """Judge special, kink and critical points into ``found`` until a certified violation
    (``found.counterexample``) or the ``deadline`` (a ``time.monotonic()`` value), which
    also stops an evaluation still running then (``numeric.deadline``); ``stop()``,
    when given, is asked between points (True: end the search, e.g. a proof came in)."""
    phases = (_special_points, _kink_points, _critical_points,     # these three take no deadline
              _structured_points, _array_points, minimized_points, asymptotic_points)
    with until(deadline):
        try:
            for i, phase in enumerate(phases):
                share = (deadline - time.monotonic()) / (len(phases) - i)   # a fair share each
                end = time.monotonic() + share
                made = phase(problem, rng, end) if i >= 3 else phase(problem, rng)
                if _phase(problem, made, found, end, stop):
                    return found
        except OutOfTime:
            found.timed_out = True
    return found


def _phase(problem, points, found, end, stop=None):
    """Judge one phase's points until ``end``; True when the search is over (refuted, or
    ``stop()``)."""
    with until(end):
        try:
            while time.monotonic() <= end:
                if stop is not None and stop():
                    return True
                began = time.monotonic()
                point = next(points, StopIteration)
                if point is StopIteration:
                    return False
                if examine(problem, point, found):
                    return True
                if point is not None:
                    record_cost(problem, point, time.monotonic() - began, end)
        except OutOfTime:
            pass                                # this phase's share is spent: the next one's turn
    return False
