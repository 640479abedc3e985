"""Is this hand-derived math right? ``verify(lhs, rhs)`` answers proven, probable or refuted.

The work is split by step, one helper module each:

    problem.py          arguments -> Problem (real symbols, dimensions, assumptions)
    sample.py           random admissible points, searched for a counterexample
    numeric/certify.py  certified judgement at one point (values from numeric/exact.py)
    routes.py           symbolic proof routes (expand, cancel, ..., PSD tests)
    prove.py            the proof set-up and its time budget (a forked child)
    search.py           special, kink and critical points (with roots.py)
    cost.py, guard.py   the budget: matrix sizes that fit it, a worker killed past it

The proof routes start in a child process after the first points, and sampling
and then the targeted search run beside them: a certified counterexample ends
everything at once, a route that succeeds ends the search. The targeted
search which looks where random points rarely land (near an extremum, on a
tie, far out). Only a route that reaches an exact certificate makes a claim
"proven"; agreement at random points alone makes it "probable", never "proven".
"""

import random
import time
from dataclasses import dataclass, field, replace

import sympy as sp

from ..numeric.certify import shown
from .display import VerdictDisplay
from .problem import build_problem
from .prove import finish_proof, start_proof
from .sample import Search, search
from .guard import run_guarded
from .search import targeted
from ..errors import ArgumentError, SymgradError, whole_number

__all__ = ["verify", "Verdict"]

STATUSES = ("proven", "probable", "refuted")
FIRST_POINTS = 8          # points judged before the proof routes start (most refutations)
FIRST_SHARE = 0.1         # ... or this share of the planned time, whichever comes first
SAMPLE_SHARE = 0.4        # sampling stops drawing at this share of the planned time
PROVE_SHARE = 0.9         # the proof routes end by this share (the targeted search runs beside)
HARD_SHARE = 1.5          # past this share (plus GRACE) the worker is killed
GRACE = 0.25
SEARCH_SECONDS = 3.0      # the targeted search stops drawing after this long
NO_PROOF_SECONDS = 3.0    # budget=0 (no proof): sampling (to 75%) and the search still get this long
MIN_SECONDS = 0.25        # the least time planned for a positive budget


@dataclass(frozen=True)
class Verdict(VerdictDisplay):
    """The outcome of :func:`verify`.

    status          "proven", "probable" or "refuted"
    method          how it was decided (a proof route, or how the points were compared)
    relation        the relation checked: "==", "<=", "<", ">=" or ">"
    points          sample points used (agreeing points, or up to the counterexample)
    lhs, rhs        the two sides as given
    counterexample  for "refuted": {Symbol: Rational, MatrixSymbol: Matrix, dimension: int}
    lhs_value       both sides at the counterexample (exact, or 30-digit Floats)
    rhs_value
    detail          for matrices, where the relation fails (an entry, a direction)
    note            for "probable", why no proof was found
    enclosure       for "refuted", what the refutation rests on: lhs - rhs exactly, or an
                    Arb ball of it (or of v^T S v) that excludes 0
    """

    status: str
    method: str
    relation: str
    points: int
    lhs: object = field(default=None, hash=False)
    rhs: object = field(default=None, hash=False)
    counterexample: dict = field(default=None, hash=False)
    lhs_value: object = None
    rhs_value: object = None
    detail: str = ""
    note: str = ""
    enclosure: str = ""

    @property
    def ok(self):
        """True unless a counterexample was found."""
        return self.status != "refuted"

    def __str__(self):
        lines = ["verify: %s %s %s" % (self.lhs, self.relation, self.rhs),
                 "  verdict: %s" % self.status,
                 "  method:  %s" % self.method,
                 "  points:  %d" % self.points]
        if self.note:
            lines.append("  note:    %s" % self.note)
        if self.counterexample is not None:
            at = ", ".join("%s = %s" % (k, _one_line(v)) for k, v in self.counterexample.items())
            lines += ["  counterexample: %s" % (at or "(no free symbols)"),
                      "    lhs = %s" % _one_line(self.lhs_value),
                      "    rhs = %s" % _one_line(self.rhs_value)]
        if self.enclosure:
            lines.append("    certified: %s" % self.enclosure)
        if self.detail:
            lines.append("    where: %s" % self.detail)
        return "\n".join(lines)


def _one_line(v):
    if isinstance(v, sp.MatrixBase):
        return str(v.tolist())
    return str(v)


def _user_point(problem, point):
    """The point with the user's own symbols as keys, dimensions as ints."""
    out = {}
    for key in problem.dims + problem.scalars + [s for s, _ in problem.eliminated] + \
            problem.matrices + problem.indices + list(problem.bases):
        value = point[key]
        out[problem.to_user.get(key, key)] = int(value) if key in problem.dims + problem.indices \
            else value
    return out


MANY_DRAWS = 50      # out of time after fewer inadmissible draws: too few to blame the domain


def _no_points(problem, found, want):
    names = ", ".join(str(problem.to_user.get(s, s)) for s in
                      problem.dims + problem.scalars + problem.matrices + problem.indices
                      + list(problem.bases)) or "(none)"
    last = found.last_error if len(found.last_error) < 200 else found.last_error[:200] + "..."
    if found.timed_out and not found.last_error:
        raise SymgradError(
            "verify evaluated no point of %s within the time limit (%d draws); each evaluation "
            "is too slow: simplify the sides or raise budget=" % (names, found.tries))
    raise SymgradError(
        "verify found only %d admissible points (of %d wanted, in %d draws; %d undecided) for "
        "the symbols %s%s; add assumptions that keep both sides defined (e.g. x > 0)"
        % (found.points, want, found.tries, found.unknown, names,
           "; last failure: " + last if last else ""))


def _refuted(problem, relation, lhs, rhs, found, points):
    point, judged = found.counterexample
    if judged.exact:
        method = "counterexample, exact rational arithmetic"
    elif judged.tie:
        method = "counterexample, lhs = rhs there (the difference simplifies exactly to 0)"
    else:
        method = "counterexample, sign certified by ball arithmetic (Arb)"
    return Verdict("refuted", method, relation, points, lhs, rhs, _user_point(problem, point),
                   shown(judged.lhs), shown(judged.rhs), judged.detail,
                   enclosure=judged.enclosure)


def _uncertified(problem, relation, lhs, rhs, suspect, points, note):
    """"probable": the sides differ at a point, but only on values of ops without a rigorous
    (ball or interval) evaluator, which never certify a refutation."""
    point, judged = suspect
    names = ", ".join(judged.missing)
    at = ", ".join("%s = %s" % (k, _one_line(v)) for k, v in _user_point(problem, point).items())
    why = ("not refuted: lhs = %s and rhs = %s differ at %s, but %s %s no rigorous evaluator "
           "(registered without an mpmath implementation that runs in interval arithmetic, or "
           "not in symgrad's registry): its values are approximations, which certify no "
           "counterexample; register it with an mpmath= implementation built from arithmetic, "
           "abs and mpmath.iv functions to decide" % (
               _one_line(shown(judged.lhs)), _one_line(shown(judged.rhs)), at or "(no symbols)",
               names, "has" if len(judged.missing) == 1 else "have"))
    return Verdict("probable", "random points, not certified (approximate values of %s)" % names,
                   relation, points, lhs, rhs, detail=judged.detail,
                   note="; ".join(filter(None, [why, note])))


def verify(lhs: sp.Expr, rhs: sp.Expr, relation: str = "==", assumptions: "list | tuple" = (),
           seed: int = 0, *, budget: float = 5.0, points: "int | None" = None,
           order: "str | None" = None, max_tries: "int | None" = None) -> "Verdict":
    """Decide whether ``lhs <relation> rhs`` holds: proven, probable, or refuted with a counterexample.

    Symbols are treated as real (declared assumptions such as ``positive=True``
    are respected; Python floats are read as the decimals they print as);
    ``assumptions`` is a list of SymPy relations (``x > 0``, ``Eq(y1 + y2 + y3,
    1)``, ...) or predicates (``Q.symmetric(X)``, ``Q.positive_definite(X)``).
    Both sides may be scalars, MatrixExpr with symbolic dimensions, or explicit
    matrices, of the same shape (a matrix may also be compared with 0); matrix
    ``<=``/``>=`` between square matrices is the Loewner order (the symmetric
    part of the difference is PSD; ``order="elementwise"`` compares entries).
    Points where a side is not a finite real number are skipped. ``points``
    random admissible points (default 20 for ``==``, 60 for inequalities; at
    most ``max_tries`` draws) from ``random.Random(seed)`` are evaluated exactly
    where rational, else with the sign of lhs - rhs certified at up to 240
    digits: a certified failure gives ``status="refuted"`` with a
    ``counterexample`` covering every free symbol (dimension symbols as ints)
    and both sides' values there. Otherwise the proof routes run in a child process: a
    route reaching an exact certificate gives ``"proven"`` (``method`` names it). A claim
    still undecided gets a targeted search (special values, points on kinks and ties and just
    across them, far-out values, critical points of lhs - rhs, structured matrices up to 8 x 8),
    judged the same way; only then is it ``"probable"`` (``note`` says why). A
    difference seen only on the values of a function registered without an mpmath
    implementation (float64 values) is never a certified counterexample: the claim stays
    ``"probable"`` and ``note`` names the point and the function.
    ``budget`` bounds the whole call, in seconds: sampling stops drawing at 40% of
    it; the proof routes start after the first 8 points and run beside sampling and
    the targeted search (which ends by 100%, at most 3 s, or when a route succeeds),
    ending by 90%. Each deadline is
    checked inside every evaluation, matrix sizes are kept to those whose measured
    cost fits, and the whole call is interrupted (SIGALRM, or a forked worker killed)
    at 1.5 x budget + 0.25 s. budget=0: no proof, 3 s for the rest (sampling to 90%).
    Running out of time gives ``"probable"`` with the reason in ``note``, never a
    refutation or a proof.
    Raises ``ShapeMismatch`` for sides of different shapes and ``SymgradError``
    when too few admissible points can be found.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> verify((x + 1)**2, x**2 + 2*x + 1).status
    'proven'
    >>> v = verify(sp.sqrt(x**2), x)
    >>> v.status, v.counterexample[x] < 0, v.lhs_value == -v.rhs_value
    ('refuted', True, True)
    >>> verify(sp.sqrt(x**2), x, assumptions=[x > 0]).method
    'structural'
    """
    _check_sides(lhs, rhs)
    seed = whole_number("verify seed", seed)
    points = None if points is None else whole_number("verify points", points, 1, 100000)
    if relation != "==":
        import scipy.optimize  # noqa: F401  (the search's minimizer; imported once, not per child)
    start = time.monotonic()
    total = _total(budget)
    args = (lhs, rhs, relation, assumptions, seed, budget, start, total, points, order, max_tries)
    state, value = run_guarded(_decide, args, start + HARD_SHARE * total + GRACE - time.monotonic())
    if state == "unavailable" or (state == "unpicklable" and not value):
        state, value = "done", _decide(*args[:6], time.monotonic(), *args[7:])
    if state == "raised":
        raise value
    if state == "unpicklable":
        raise SymgradError(value)
    if state == "timeout":
        return Verdict("probable", "stopped at the time limit", relation, 0, lhs, rhs,
                       note="no point was judged: verify's time (%.3g s for budget=%r) ran "
                            "out inside one step that cannot be interrupted (a SymPy call); no "
                            "counterexample and no proof were found before it, so this "
                            "'probable' rests on no evidence; raise budget= to decide"
                       % (HARD_SHARE * total + GRACE, budget))
    return replace(value, lhs=lhs, rhs=rhs)


def _check_sides(lhs, rhs):
    for side, what in ((lhs, "lhs"), (rhs, "rhs")):
        if isinstance(side, str):
            raise ArgumentError("verify() takes SymPy expressions, not text (%s=%r); parse text "
                                "with symgrad's parser first (sg.parse)" % (what, side))
        if isinstance(side, (bool, sp.logic.boolalg.Boolean)) and not isinstance(side, sp.Symbol):
            raise ArgumentError("verify compares two expressions; %s is the condition %s. Pass its "
                                "sides instead, e.g. verify(a, b, relation=\"<=\")" % (what, side))


def _total(budget):
    """The seconds verify plans to take for ``budget`` (see verify's docstring)."""
    if not budget or budget <= 0:
        return NO_PROOF_SECONDS
    return max(float(budget), MIN_SECONDS)


def _decide(lhs, rhs, relation, assumptions, seed, budget, start, total, points, order,
            max_tries):
    """The verdict (its lhs and rhs left out: the caller puts the user's back), each step
    within its share of ``total`` seconds from ``start``."""
    problem = build_problem(lhs, rhs, relation, assumptions, order)
    want = points if points is not None else (20 if relation == "==" else 60)
    if want < 1:
        raise SymgradError("points must be at least 1, got %r" % (points,))
    rng = random.Random(seed)
    tries = max_tries if max_tries is not None else 20 * want + 100
    found = search(problem, rng, min(want, FIRST_POINTS), tries, start + FIRST_SHARE * total)
    if found.counterexample is not None:          # most refutations: no proof started
        return _refuted(problem, relation, None, None, found, found.points)
    proof = start_proof(problem, budget)          # the routes run beside both searches
    try:
        share = SAMPLE_SHARE if proof is not None else PROVE_SHARE    # no proof: more points
        found = search(problem, rng, want, tries, start + share * total, found)
        if found.counterexample is not None:
            return _refuted(problem, relation, None, None, found, found.points)
        if found.points == 0 and found.suspect is None and not found.oversized \
                and (not found.timed_out or found.last_error and found.tries >= MANY_DRAWS):
            _no_points(problem, found, want)
        extra = Search(points=0, tries=0, exact=True)
        if proof is None or not proof.succeeded():
            extra = targeted(problem, rng, extra, min(start + total, time.monotonic() + SEARCH_SECONDS),
                             stop=proof.succeeded if proof is not None else None)
        if extra.counterexample is not None:
            return _refuted(problem, relation, None, None, extra, found.points + extra.points)
        end = start + min(budget, PROVE_SHARE * total) if budget else time.monotonic()
        route, note = finish_proof(proof, problem, end - time.monotonic())
    finally:
        if proof is not None:
            proof.cancel()
    if route is not None:
        return Verdict("proven", route, relation, found.points)
    if found.points == 0 and found.oversized and not found.timed_out:
        _too_large(problem, found)
    if note == "no proof found" and (problem.lhs.has(sp.Inverse) or problem.rhs.has(sp.Inverse)):
        note = ("no proof found: a matrix identity with inverses, and its noncommutative "
                "canonical form (also times each inverted matrix, once or twice) did not reach 0")
    suspect = found.suspect or extra.suspect
    if suspect is not None:
        return _uncertified(problem, relation, None, None, suspect, found.points, note)
    if found.points < want and not found.timed_out:
        _no_points(problem, found, want)
    if found.timed_out:
        note = "; ".join(filter(None, [note, "sampling stopped at the time limit after %d points%s"
                                       % (found.points, _slow(found))]))
    if found.points == 0:
        note = "; ".join(filter(None, [_nothing_judged(found, extra), note]))
    how = "none judged within the budget" if not found.admitted else \
        "exact rational arithmetic" if found.exact else "ball arithmetic (Arb)"
    return Verdict("probable", "random points, %s" % how, relation, found.points, note=note)


def _nothing_judged(found, extra):
    """The note of a "probable" that no agreeing random point supports."""
    unknown = found.unknown + extra.unknown
    undecided = (" (%d admissible points were evaluated, none decided: their enclosures of "
                 "lhs - rhs stayed too wide)" % unknown) if unknown else ""
    if extra.points:
        return ("no random point was judged to agree%s; only %d points of the targeted search "
                "agreed" % (undecided, extra.points))
    return ("no point was judged to agree%s, so this 'probable' rests on no evidence"
            % undecided)


def _slow(found):
    if not found.sizes_capped:
        return ""
    return (" (matrix sizes kept at most %d: one point took %.2g s there, so larger ones "
            "would not fit the budget)" % (found.sizes_capped, found.slowest))


def _too_large(problem, found):
    raise SymgradError(
        "verify cannot sample this claim: %s; verify writes matrices out entry by entry, so "
        "give the matrices symbolic dimensions (MatrixSymbol('A', n, n)) to check it at small "
        "sizes" % found.last_error)
