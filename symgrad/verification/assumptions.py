"""verify(), step 1b: the assumptions, read three ways.

* single-symbol bounds (``x > 0``, ``x <= 3``) become an ``Interval`` per symbol, used
  to sample and (as a change of variable) to prove;
* equalities linear in some symbol (``Eq(y1 + y2 + y3, 1)``) are solved for that
  symbol, which is then computed, not sampled;
* every relation, bounds and equalities included, is also kept in ``checks`` and tested
  exactly at each sample point (rejection sampling).
"""

from dataclasses import dataclass

import sympy as sp

from ..errors import ParseError, SymgradError, UnsupportedExpression

MATRIX_PREDICATES = ("symmetric", "positive_definite", "diagonal", "invertible")
SIGN_PREDICATES = ("positive", "negative", "nonnegative", "nonpositive", "nonzero",
                   "integer", "real")


@dataclass(frozen=True)
class Interval:
    """A real interval; ``None`` ends are unbounded; strict ends are open."""

    lo: object = None
    lo_strict: bool = False
    hi: object = None
    hi_strict: bool = False

    def meet(self, other):
        lo, lo_strict = self.lo, self.lo_strict
        if other.lo is not None and (lo is None or other.lo > lo):
            lo, lo_strict = other.lo, other.lo_strict
        elif other.lo is not None and other.lo == lo:
            lo_strict = lo_strict or other.lo_strict
        hi, hi_strict = self.hi, self.hi_strict
        if other.hi is not None and (hi is None or other.hi < hi):
            hi, hi_strict = other.hi, other.hi_strict
        elif other.hi is not None and other.hi == hi:
            hi_strict = hi_strict or other.hi_strict
        return Interval(lo, lo_strict, hi, hi_strict)

    def is_empty(self):
        if self.lo is None or self.hi is None:
            return False
        return bool(self.lo > self.hi) or (self.lo == self.hi and (self.lo_strict or self.hi_strict))

    def is_point(self):
        return self.lo is not None and self.lo == self.hi and not self.is_empty()


def declared_interval(s):
    """The interval a symbol's own assumptions (positive=True, ...) give it."""
    if s.is_positive:
        return Interval(sp.S.Zero, True)
    if s.is_nonnegative:
        return Interval(sp.S.Zero, False)
    if s.is_negative:
        return Interval(hi=sp.S.Zero, hi_strict=True)
    if s.is_nonpositive:
        return Interval(hi=sp.S.Zero)
    return Interval()


def relation_bound(rel):
    """(symbol, Interval) when ``rel`` bounds one symbol linearly, else None."""
    if isinstance(rel, (sp.Gt, sp.Ge)):
        g, strict = rel.lhs - rel.rhs, isinstance(rel, sp.Gt)
    elif isinstance(rel, (sp.Lt, sp.Le)):
        g, strict = rel.rhs - rel.lhs, isinstance(rel, sp.Lt)
    elif isinstance(rel, sp.Eq):
        g, strict = rel.lhs - rel.rhs, None
    else:
        return None
    if len(g.free_symbols) != 1:
        return None
    (s,) = g.free_symbols
    if not isinstance(s, sp.Symbol):
        return None
    a = sp.expand(g).coeff(s, 1)
    rest = sp.expand(g - a * s)
    if rest.free_symbols or not a.is_number or not a.is_nonzero or not a.is_real:
        return None
    root = -rest / a
    if not root.is_real:
        return None
    if strict is None:
        return s, Interval(root, False, root, False)
    if a > 0:
        return s, Interval(root, strict)
    return s, Interval(hi=root, hi_strict=strict)


def flatten(assumptions):
    out = []
    for a in assumptions:
        if isinstance(a, str):
            raise ParseError("assumption %r is text; pass a SymPy relation such as x > 0" % a)
        a = sp.sympify(a, strict=True)
        if isinstance(a, sp.And):
            out.extend(flatten(a.args))
        elif a is sp.true:
            continue
        elif a is sp.false:
            raise SymgradError("the assumptions include False, so no point satisfies them")
        else:
            out.append(a)
    return out


def eliminate(equalities, sampled):
    """Solve each linear equality for one symbol; return [(symbol, expression)]."""
    solved = []
    for eq in equalities:
        g = sp.expand((eq.lhs - eq.rhs).xreplace(dict(solved)))
        if not g.free_symbols:
            if g != 0:
                raise SymgradError("assumption %s cannot hold (it reduces to %s = 0)" % (eq, g))
            continue
        order = sorted(g.free_symbols & set(sampled), key=sp.default_sort_key, reverse=True)
        for s in sorted(order, key=lambda t: bool(t.is_integer)):      # prefer real symbols
            a = g.coeff(s, 1)
            if a.is_number and a.is_nonzero and not sp.expand(g - a * s).has(s):
                value = sp.expand(-(g - a * s) / a)
                solved = [(t, sp.expand(e.xreplace({s: value}))) for t, e in solved]
                solved.append((s, value))
                break
        else:
            raise SymgradError("cannot use the equality %s: no symbol enters it linearly with a "
                               "constant coefficient; solve it for one symbol and substitute" % eq)
    return solved


def classify(items, problem_symbols):
    scalars, dims, matrices = problem_symbols
    intervals = {s: declared_interval(s) for s in scalars}
    intervals.update({d: Interval(sp.S.One) for d in dims})
    integers = {s for s in scalars if s.is_integer}
    equalities, checks, kinds = [], [], {}
    for a in items:
        if isinstance(a, sp.assumptions.AppliedPredicate):
            _predicate(a, intervals, integers, kinds, checks, (scalars, matrices))
            continue
        if not isinstance(a, sp.logic.boolalg.Boolean):
            raise UnsupportedExpression("assumption %s is not a relation; use e.g. x > 0 or "
                                        "Eq(a + b, 1)" % (a,))
        if isinstance(a, sp.Eq) and getattr(a.lhs, "is_Matrix", False):
            raise UnsupportedExpression("matrix equality %s is not supported as an assumption; "
                                        "state it entry by entry" % (a,))
        checks.append(a)
        bound = relation_bound(a) if isinstance(a, sp.core.relational.Relational) else None
        if isinstance(a, sp.Eq) and not (bound and bound[0] in dims):
            equalities.append(a)
        elif bound is not None and bound[0] in intervals:
            intervals[bound[0]] = intervals[bound[0]].meet(bound[1])
    for s, box in intervals.items():
        if box.is_empty():
            raise SymgradError("the assumptions leave no admissible value for %s" % s)
    return intervals, integers, equalities, checks, kinds


def _predicate(a, intervals, integers, kinds, checks, symbols):
    scalars, matrices = symbols
    name, arg = a.function.name, a.arguments[0]
    if arg in matrices and name in MATRIX_PREDICATES:
        kinds.setdefault(arg, set()).add(name)
    elif arg in scalars and name in SIGN_PREDICATES:
        intervals[arg] = intervals[arg].meet(declared_interval(sp.Dummy(**{name: True})))
        if name == "integer":
            integers.add(arg)
        checks.append(a)
    else:
        raise UnsupportedExpression("assumption %s is not supported; matrix predicates: %s; scalar "
                                    "predicates: %s" % (a, ", ".join(MATRIX_PREDICATES),
                                                        ", ".join(SIGN_PREDICATES)))


