"""verify(), step 4b: set up the symbolic proof and run it on a time budget.

The proof works on lhs - rhs (rhs - lhs for <= and <) after three sound
rewrites: equalities from the assumptions are substituted, each bounded symbol
is written as its bound plus (or minus) a fresh positive or nonnegative symbol,
and each det(M) whose log occurs in the problem becomes a fresh positive symbol
(both sides are only defined where det(M) > 0). Proving the rewritten claim for
every value of the fresh symbols proves the original on its domain.

SymPy calls cannot be interrupted from a thread, so the routes run in a forked
child process that sends back only the name of the route that succeeded; the
parent kills it when the budget runs out. Without fork, only the cheap routes
(structural, expand, cancel/together) run, in process.
"""

import multiprocessing

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from .routes import (bound_substitution, loewner_route, matrix_zero_route, sign_route,
                             entries_route, zero_route)


def _substitution(problem):
    sub = {}
    for s in problem.scalars:
        new = bound_substitution(s, problem.intervals[s], s.is_integer)
        if new is not None:
            sub[s] = new
    sub.update({s: e.xreplace(sub) for s, e in problem.eliminated})
    return sub


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


def difference(problem):
    """The rewritten difference whose zero-ness (or sign) is to be proven."""
    sub = _substitution(problem)
    lhs, rhs = problem.lhs.xreplace(sub), problem.rhs.xreplace(sub)
    d = rhs - lhs if problem.relation in ("<", "<=") else lhs - rhs
    return _positive_dets(d, problem)


def route_for(problem, cheap=False):
    """Run the routes that fit the problem; the succeeding route's name, or None."""
    d = difference(problem)
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


def _child(problem, conn):
    try:
        conn.send(route_for(problem))
    except BaseException:                       # any failure in the child is "no proof"
        conn.send(None)
    finally:
        conn.close()


def prove(problem, budget):
    """(route name or None, note): the route that proved the claim within ``budget`` seconds."""
    if budget is None or budget <= 0:
        return None, "no proof attempted (budget 0)"
    try:
        ctx = multiprocessing.get_context("fork")
        receiver, sender = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_child, args=(problem, sender), daemon=True)
        child.start()
    except (ValueError, OSError, AssertionError):
        try:
            route = route_for(problem, cheap=True)
        except Exception:
            route = None
        return route, "" if route else "no proof by the cheap routes (fork unavailable)"
    sender.close()
    try:
        if receiver.poll(budget):
            route = receiver.recv()
            note = "" if route else "no proof found"
        else:
            route, note = None, "no proof within the %.3g s budget" % budget
    except (EOFError, OSError):
        route, note = None, "the proof process failed"
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    return route, note
