"""verify(), step 4b: set up the symbolic proof and run it on a time budget.

The proof works on lhs - rhs (rhs - lhs for <= and <) after three sound
rewrites: equalities from the assumptions are substituted, each bounded symbol
is written as its bound plus (or minus) a fresh positive or nonnegative symbol,
and each det(M) whose log occurs in the problem becomes a fresh positive symbol
(both sides are only defined where det(M) > 0). Proving the rewritten claim for
every value of the fresh symbols proves the original on its domain.

When that fails and a symbol has both ends, both are used: s in [lo, hi) is
(lo + hi t)/(1 + t) for a fresh t >= 0 (t > 0 when lo is excluded), and a closed
hi is proven separately (s = hi): p(1 - p) >= 0 on [0, 1] becomes t/(1 + t)^2 >= 0
and 0 >= 0. A scalar inequality over a bounded box then gets interval
branch-and-bound (``boxes.py``).

SymPy calls cannot be interrupted from a thread, so the routes run in a forked
child process that sends back only the name of the route that succeeded; the
parent kills it when the budget runs out. Without fork, only the cheap routes
(structural, expand, cancel/together) run, in process.
"""

import multiprocessing

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

import itertools

from .boxes import box_route
from .routes import (bound_substitution, loewner_route, matrix_zero_route, sign_route,
                     entries_route, zero_route)

MAX_TWO_SIDED = 3          # symbols with both ends used at once (2^k cases for the closed ends)


def _substitution(problem, ends=None):
    """Each bounded symbol as its bound plus a fresh symbol; ``ends`` maps a symbol with both
    ends to "inside" ((lo + hi t)/(1 + t)) or "hi" (the closed upper end itself)."""
    sub = {}
    for s in problem.scalars:
        box = problem.intervals[s]
        if ends and s in ends:
            new = box.hi if ends[s] == "hi" else _between(s, box)
        else:
            new = bound_substitution(s, box, s.is_integer)
        if new is not None:
            sub[s] = new
    sub.update({s: e.xreplace(sub) for s, e in problem.eliminated})
    return sub


def _between(s, box):
    t = sp.Dummy(s.name, positive=True) if box.lo_strict else sp.Dummy(s.name, nonnegative=True)
    return (box.lo + box.hi * t) / (1 + t)


def _two_sided(problem):
    """The symbols whose interval has both ends (and is not a point)."""
    return [s for s in problem.scalars if not s.is_integer and problem.intervals[s].lo is not None
            and problem.intervals[s].hi is not None and not problem.intervals[s].is_point()]


def _positive_dets(expr, problem):
    dets = {}
    for m in problem.positive_dets:
        t = sp.Dummy("det_%s" % len(dets), positive=True)
        for form in (sp.Determinant(m), sp.Determinant(m).doit(), sp.Determinant(m.doit())):
            if isinstance(form, sp.Determinant):
                dets[form] = t
    if not dets:
        return expr
    if isinstance(expr, (MatrixExpr, sp.Expr)):
        expr = expr.doit() if problem.has_matrices else expr
    return expr.xreplace(dets)


def difference(problem, ends=None):
    """The rewritten difference whose zero-ness (or sign) is to be proven."""
    sub = _substitution(problem, ends)
    lhs, rhs = problem.lhs.xreplace(sub), problem.rhs.xreplace(sub)
    d = rhs - lhs if problem.relation in ("<", "<=") else lhs - rhs
    return _positive_dets(d, problem)


def route_for(problem, cheap=False):
    """Run the routes that fit the problem; the succeeding route's name, or None."""
    route = _routes(problem, difference(problem), cheap)
    if route is not None or cheap:
        return route
    both = _two_sided(problem)
    if both and len(both) <= MAX_TWO_SIDED:
        route = _both_ends(problem, both)
        if route is not None:
            return route
    if problem.relation != "==" and problem.kind == "scalar":
        return box_route(problem)
    return None


def _both_ends(problem, both):
    """A route proving the claim inside every two-sided interval and at each closed hi end."""
    choices = [("inside", "hi") if not problem.intervals[s].hi_strict else ("inside",) for s in both]
    names = []
    for pick in itertools.product(*choices):
        name = _routes(problem, difference(problem, dict(zip(both, pick))), False)
        if name is None:
            return None
        names.append(name)
    return "both ends of the intervals + %s" % max(names, key=len)


def _routes(problem, d, cheap):
    strict = problem.relation in ("<", ">")
    has_matrices = problem.has_matrices
    if problem.relation == "==":
        if has_matrices:
            return matrix_zero_route(d, cheap)
        return zero_route(d, cheap)
    if problem.kind == "scalar":
        return sign_route(sp.expand(d.doit()) if has_matrices else d, strict, cheap)
    if problem.order == "loewner":
        return loewner_route(d.doit() if has_matrices else d, problem.matrix_kinds, strict, cheap)
    if isinstance(d, sp.MatrixBase):
        return entries_route(list(d), lambda e: sign_route(e, strict, cheap))
    return None


def _child(fn, args, conn):
    try:
        conn.send(fn(*args))
    except BaseException:                       # any failure in the child is "no answer"
        conn.send(None)
    finally:
        conn.close()


class Forked:
    """``fn(*args)`` running in a forked child (SymPy calls cannot be interrupted in a
    thread); ``result(seconds)`` waits for it, ``cancel()`` kills it. ``started`` is False
    when fork is unavailable (nothing runs)."""

    def __init__(self, fn, args):
        self.child = self.receiver = None
        self.answer = None                   # (True, result) once received
        try:
            ctx = multiprocessing.get_context("fork")
            self.receiver, sender = ctx.Pipe(duplex=False)
            self.child = ctx.Process(target=_child, args=(fn, args, sender), daemon=True)
            self.child.start()
        except (ValueError, OSError, AssertionError):
            self.child = None
            return
        sender.close()

    @property
    def started(self):
        return self.child is not None

    def result(self, seconds):
        """(finished, result): finished is None when fork was unavailable, False when the
        time ran out (the child is then killed)."""
        if self.answer is not None:
            return self.answer
        if not self.started:
            return None, None
        try:
            if self.receiver.poll(max(seconds, 0)):
                self.answer = (True, self.receiver.recv())
                return self.answer
            return False, None
        except (EOFError, OSError):
            return True, None
        finally:
            self.cancel()

    def succeeded(self):
        """Whether the child has already answered with a result other than None (no wait)."""
        if self.answer is None and self.started:
            try:
                if self.receiver.poll(0):
                    self.answer = (True, self.receiver.recv())
            except (EOFError, OSError):
                self.answer = (True, None)
        return self.answer is not None and self.answer[1] is not None

    def cancel(self):
        if self.child is None:
            return
        self.receiver.close()
        if self.child.is_alive():
            self.child.kill()
        self.child.join()
        self.child = None


def run_forked(fn, args, seconds):
    """(finished, result): ``fn(*args)`` run in a forked child for at most ``seconds``
    (SymPy calls cannot be interrupted in a thread); the result must be picklable.
    finished is None when fork is unavailable, False when the time ran out."""
    return Forked(fn, args).result(seconds)


def start_proof(problem, budget):
    """The proof routes started in a forked child (they run while sampling goes on), or
    None for budget 0."""
    if budget is None or budget <= 0:
        return None
    return Forked(route_for, (problem,))


def finish_proof(proof, problem, seconds):
    """(route name or None, note): what the started proof reached within ``seconds``."""
    if proof is None:
        return None, "no proof attempted (budget 0)"
    finished, route = proof.result(seconds)
    if finished is None:
        try:
            route = route_for(problem, cheap=True)
        except Exception:
            route = None
        return route, "" if route else "no proof by the cheap routes (fork unavailable)"
    if not finished:
        return None, "no proof within the time left (%.3g s of the budget after sampling)" % (
            max(seconds, 0))
    return route, "" if route else "no proof found"


def prove(problem, budget):
    """(route name or None, note): the route that proved the claim within ``budget`` seconds."""
    return finish_proof(start_proof(problem, budget), problem, budget)
