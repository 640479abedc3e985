"""verify(), step 3: draw random admissible points and look for a counterexample.

Every draw comes from one ``random.Random(seed)``, so the same problem and seed
give the same points. A point gives:

* each dimension symbol a small integer (1..8, mostly at most 4, within its
  bounds), the same for every matrix that shares it;
* each sampled scalar a modest rational p/q (|p/q| <= 3 half the time, else
  |p| <= 50; q <= 10), one time in ten a log-scaled one (m 10^k, |k| <= 12),
  inside its interval, an integer for integer symbols,
  sometimes a special value (0, +-1, +-1/2, 2) and sometimes a value just on, left or right of a *boundary*: a
  Piecewise condition, the kink of Abs/Max/Min/sign/Heaviside, or the edge of
  the domain of log, sqrt or a division;
* each eliminated symbol (from an equality) its exact computed value;
* each MatrixSymbol a matrix of small rationals (symmetric, diagonal or
  symmetric positive definite when asked, and half the time SPD when its
  log-determinant occurs);
* for expressions written with indices, each free index an integer within the
  range it indexes, and each IndexedBase an array of small rationals long enough
  for every read (positive half the time when a read sits under log or sqrt).

Points that break an assumption, or where a side is undefined, are skipped.
"""

import time
from dataclasses import dataclass

import sympy as sp

from ..numeric import kinks
from ..numeric.deadline import OutOfTime, until
from .cost import oversized, record_cost, size_cap
from ..numeric.certify import Undefined, judge
from ..numeric.dims import sizes
from ..numeric.indices import array_shapes, free_index_ranges
from ..ops import lookup
from ..numeric.sampling import dimension, magnitude, matrix, positive_definite, small_rational

SPECIAL = tuple(sp.Rational(v) for v in ("0", "1", "-1", "1/2", "-1/2", "2"))
OFFSETS = tuple(sp.Rational(v) for v in ("0", "1/1000", "-1/1000", "1/10", "-1/10", "1", "-1", "3", "-3"))


@dataclass
class Search:
    points: int                 # admissible points evaluated
    tries: int
    exact: bool                 # every comparison was exact rational arithmetic
    unknown: int = 0            # admissible points that could not be decided
    counterexample: object = None   # (point, Judgement) when refuted
    suspect: object = None          # (point, Judgement): violated on float64-only values
    last_error: str = ""
    timed_out: bool = False     # stopped drawing at the deadline
    admitted: int = 0           # admissible points judged, agreeing or not
    oversized: bool = False     # some draw had a matrix of more than MAX_ENTRIES entries
    sizes_capped: int = 0       # matrix sizes were kept at most this (cost), 0 if never
    slowest: float = 0.0        # seconds of the slowest point judged


# --- boundaries -----------------------------------------------------------------

def boundaries(problem):
    """Kinks and domain edges (``numeric.kinks.boundaries``) as expressions g in the sampled
    symbols: each zero set is a place to put points."""
    sub = dict(problem.eliminated)
    sampled = set(problem.scalars)
    kept = set()
    for g in kinks.boundaries([problem.lhs, problem.rhs]):
        g = g.xreplace(sub)
        if g.free_symbols and g.free_symbols <= sampled:
            kept.add(g)
    return sorted(kept, key=sp.default_sort_key)


def _linear_in_one(g):
    """Whether some symbol enters g linearly (``onto_boundary`` can solve for it)."""
    return any(not sp.diff(g, s).has(s) for s in g.free_symbols)


def onto_boundary(rng, g, values, box_of, offsets=OFFSETS):
    """Move one symbol of g so that g is zero (plus a small offset); False if it cannot."""
    symbols = sorted(g.free_symbols, key=sp.default_sort_key)
    s = rng.choice(symbols)
    a = sp.diff(g, s)
    if a.has(s):
        return False
    others = {t: values[t] for t in symbols if t is not s}
    a_val, rest = a.xreplace(others), (g - a * s).xreplace(others)
    if not (a_val.is_Rational and rest.is_Rational) or a_val == 0:
        return False
    target = -rest / a_val + rng.choice(offsets)
    if not inside(target, box_of(s)):
        return False
    values[s] = target
    return True


# --- scalars and dimensions ----------------------------------------------------------

def inside(v, box):
    if box.lo is not None and (v < box.lo or (box.lo_strict and v == box.lo)):
        return False
    if box.hi is not None and (v > box.hi or (box.hi_strict and v == box.hi)):
        return False
    return True


def rational_end(v):
    return v if v is None or v.is_Rational else sp.Rational(str(sp.N(v, 20)))


def log_scaled(rng):
    """m 10^k for a random digit m and a random k in [-12, 12]: far out or near 0."""
    return sp.Rational(rng.randint(1, 9)) * sp.Rational(10) ** rng.randint(-12, 12)


def _draw_real(rng, box):
    lo, hi = rational_end(box.lo), rational_end(box.hi)
    r = rng.random()
    if r < 0.15:
        v = rng.choice(SPECIAL)
        if inside(v, box):
            return v
    elif r < 0.25:
        if lo is not None and hi is not None:
            v = lo + (hi - lo) * sp.Rational(1, 10**rng.randint(1, 12)) * rng.choice((1, 1, -1))
            v = v if v >= lo else hi + v - lo
        else:
            v = (lo if lo is not None else hi if hi is not None else 0) + \
                (1 if hi is None else -1) * log_scaled(rng)
        if inside(v, box):
            return v
    if lo is not None and hi is not None:
        return lo + (hi - lo) * sp.Rational(rng.randint(1, 99), 100)
    if lo is not None:
        return lo + magnitude(rng)
    if hi is not None:
        return hi - magnitude(rng)
    return rng.choice((1, -1)) * magnitude(rng)


def _integer_end(v, strict, up):
    """The first integer inside the end v of an interval (up: the lower end)."""
    if v.is_Integer:
        return int(v) + (1 if up else -1) * int(strict)
    return int(sp.ceiling(v)) if up else int(sp.floor(v))


def _draw_integer(rng, box, default=(-10, 10)):
    lo = default[0] if box.lo is None else _integer_end(box.lo, box.lo_strict, True)
    hi = default[1] if box.hi is None else _integer_end(box.hi, box.hi_strict, False)
    if box.hi is None:
        hi = max(hi, lo + 12)
    if box.lo is None:
        lo = min(lo, hi - 12)
    return sp.Integer(rng.randint(lo, hi)) if lo <= hi else None


DIMENSIONS = (1, 2, 2, 3, 3, 4, 4, 5, 6, 8)


def _draw_dim(rng, box, cap=None):
    allowed = [k for k in DIMENSIONS if inside(sp.Integer(k), box)]
    if not allowed and box.lo is not None:
        lo = max(1, _integer_end(box.lo, box.lo_strict, True))
        allowed = [k for k in range(lo, lo + 3) if inside(sp.Integer(k), box)]
    if not allowed:
        return None
    k = dimension(rng, allowed)
    if cap is not None and k > cap:             # the same draws, sizes kept within the cap
        k = max([v for v in allowed if v <= cap] or [min(allowed)])
    return sp.Integer(k)


# --- matrices ---------------------------------------------------------------------------

def _draw_matrix(rng, rows, cols, kinds):
    if rows != cols:
        kinds = set()
    if "positive_definite" in kinds or ("spd_hint" in kinds and rng.random() < 0.5):
        return positive_definite(rng, rows, small_rational)
    if "diagonal" in kinds:
        return sp.ImmutableMatrix(sp.diag(*[small_rational(rng) for _ in range(rows)]))
    M = matrix(rng, rows, cols, small_rational)
    return M + M.T if "symmetric" in kinds else M


# --- a point ------------------------------------------------------------------------------

def draw_scalar(rng, s, problem):
    """An ordinary random value for the sampled scalar s (None when its draw failed)."""
    box = problem.intervals[s]
    return _draw_integer(rng, box) if s in problem.integers else _draw_real(rng, box)


def draw_point(problem, rng, bounds, scalar=draw_scalar, move=None):
    """A candidate point {internal symbol: value}, or None when a draw failed.

    ``scalar(rng, s, problem)`` draws each sampled scalar; ``move(values)``, when
    given, then adjusts them (False: no point) instead of the random boundary move.
    """
    values = {}
    for d in problem.dims:
        values[d] = _draw_dim(rng, problem.intervals[d], size_cap(problem))
        if values[d] is None:
            return None
    for s in problem.scalars:
        v = scalar(rng, s, problem)
        if v is None:
            return None
        values[s] = v
    if move is not None:
        if not move(values):
            return None
    elif bounds and rng.random() < 0.4:
        candidates = [g for g in bounds if not (g.free_symbols & problem.integers)]
        if candidates:
            onto_boundary(rng, rng.choice(candidates), values, problem.intervals.__getitem__)
    return complete_point(problem, rng, values)


def complete_point(problem, rng, values):
    """Add the eliminated symbols and the matrices to sampled scalar values; None if invalid."""
    values = dict(values)
    for s, e in problem.eliminated:
        v = e.xreplace(values)
        if not v.is_Rational or not inside(v, problem.intervals[s]) or \
                (s in problem.integers and not v.is_Integer):
            return None
        values[s] = v
    if problem.has_matrices:
        big = oversized(problem, values)
        if big:
            problem.memo["oversized"] = big
            return None
    for m in problem.matrices:
        shape = sizes(m, values)
        if shape is None:
            return None
        values[m] = _draw_matrix(rng, *shape, problem.matrix_kinds.get(m, set()))
    if problem.bases and not _draw_arrays(problem, rng, values):
        return None
    return values


# --- index notation ------------------------------------------------------------------------

def _memo(problem, key, compute):
    if key not in problem.memo:
        try:
            problem.memo[key] = compute()
        except Undefined:
            problem.memo[key] = None
    return problem.memo[key]


def _positive_bases(problem):
    """IndexedBases read as the bare argument of an op that needs it positive (log(y[c]))."""
    out = set()
    for side in (problem.lhs, problem.rhs):
        for node in sp.preorder_traversal(side):
            op = lookup(type(node))
            if op is None:
                continue
            found = [node.args[i] for i in op.positive if i < len(node.args)]
            found += list(op.domain(node)) if op.domain is not None else []
            out |= {c.base for c in found if isinstance(c, sp.Indexed)}
    return out


def _draw_arrays(problem, rng, values):
    """Free indices within their ranges, then arrays long enough for every read; False when
    these sizes admit none."""
    sides = [problem.lhs, problem.rhs]
    at = {d: values[d] for d in problem.dims}
    key = tuple(sorted(at.items(), key=lambda kv: kv[0].name))
    ranges = _memo(problem, ("ranges", key), lambda: free_index_ranges(sides, at))
    if ranges is None:
        return False
    for j in problem.indices:
        lo, hi = ranges[j]
        if lo > hi:
            return False
        values[j] = sp.Integer(rng.randint(lo, hi))
    where = {**at, **{j: values[j] for j in problem.indices}}
    key = tuple(sorted(where.items(), key=lambda kv: kv[0].name))
    shapes = _memo(problem, ("shapes", key), lambda: array_shapes(sides, where))
    if shapes is None:
        return False
    positive = _memo(problem, "positive", lambda: _positive_bases(problem))
    for base, shape in shapes.items():
        count = 1
        for n in shape:
            count *= n
        if base in positive and rng.random() < 0.5:
            entries = [magnitude(rng) for _ in range(count)]
        else:
            entries = [small_rational(rng) for _ in range(count)]
        values[base] = sp.ImmutableDenseNDimArray(entries, shape)
    return True


def satisfies(problem, point):
    """True when every assumption holds exactly at the point."""
    for check in problem.checks:
        try:
            if isinstance(check, sp.assumptions.AppliedPredicate):
                ok = sp.ask(check.function(check.arguments[0].xreplace(point)))
            else:
                ok = check.xreplace({k: v for k, v in point.items()
                                     if not isinstance(k, sp.IndexedBase)})
        except (TypeError, ValueError, ArithmeticError):
            return False
        if ok is not sp.true and ok is not True:
            return False
    return True


def examine(problem, point, found):
    """Judge one candidate point into ``found``; True when it is a certified violation."""
    if point is None or not satisfies(problem, point):
        return False
    try:
        verdict = judge(problem, point)
    except Undefined as exc:
        found.last_error = str(exc)
        return False
    found.admitted += 1
    found.exact = found.exact and verdict.exact
    if verdict.state == "violated":
        found.counterexample = (point, verdict)
        found.points = found.admitted
        return True
    if verdict.state == "ok":
        found.points += 1
    else:
        found.unknown += 1
        if verdict.state == "uncertified" and found.suspect is None:
            found.suspect = (point, verdict)
    return False


def search(problem, rng, want, max_tries, deadline=None, found=None):
    """Evaluate up to ``want`` agreeing points; stop at the first certified violation.

    No new point is drawn after ``deadline`` (a ``time.monotonic()`` value), and an
    evaluation still running then is stopped (``numeric.deadline``). ``found`` (a
    Search) continues an earlier search.
    """
    found = found if found is not None else Search(points=0, tries=0, exact=True)
    found.timed_out = False
    if "movable" not in problem.memo:       # the boundaries a point can be moved onto
        problem.memo["movable"] = [g for g in boundaries(problem) if _linear_in_one(g)]
    bounds = problem.memo["movable"]
    with until(deadline):
        while found.points < want and found.tries < max_tries:
            if deadline is not None and time.monotonic() > deadline:
                found.timed_out = True
                break
            found.tries += 1
            if _timed_examine(problem, rng, bounds, found, deadline):
                break
            if found.suspect is not None and found.admitted >= want:
                break                           # enough points, none of them certifiable
    if problem.memo.get("oversized"):
        found.oversized = True
        found.last_error = found.last_error or problem.memo["oversized"]
    return found


def _timed_examine(problem, rng, bounds, found, deadline):
    """Draw and judge one point, learning its cost; True when the search is over."""
    began = time.monotonic()
    point = None
    try:
        point = draw_point(problem, rng, bounds)
        if examine(problem, point, found):
            return True
    except OutOfTime:
        found.timed_out = True
        return True
    finally:
        seconds = time.monotonic() - began
        if point is not None:
            found.slowest = max(found.slowest, seconds)
            record_cost(problem, point, seconds, deadline)
            cap = size_cap(problem)
            if problem.dims and cap < max(DIMENSIONS):
                found.sizes_capped = cap
    return False
