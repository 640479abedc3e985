"""verify(), step 1: turn the user's arguments into one normalised ``Problem``.

Inside the problem every scalar symbol is real (a user symbol with no real
assumption is replaced by a real one of the same name), every dimension symbol
is a positive integer, symgrad's nodes are rewritten into standard SymPy, and
the assumptions are split three ways:

* single-symbol bounds (``x > 0``, ``x <= 3``) become an ``Interval`` per
  symbol, used to sample and (as a change of variable) to prove;
* equalities linear in some symbol (``Eq(y1 + y2 + y3, 1)``) are solved for
  that symbol, which is then computed, not sampled;
* every relation, bounds and equalities included, is also kept in ``checks``
  and tested exactly at each sample point (rejection sampling).
"""

from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.matexpr import MatrixExpr

from ..errors import ParseError, ShapeMismatch, SymgradError, UnsupportedExpression
from ..graph.ir import dims_equal
from ..numeric.dims import dimension_symbols
from ..numeric.kinks import determinant_hints, domain_guards
from ..ops.nodes import to_standard

RELATIONS = ("==", "<=", "<", ">=", ">")
ORDERS = (None, "loewner", "elementwise")
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


@dataclass
class Problem:
    """Everything sampling and proving need, in internal (real) symbols."""

    lhs: object
    rhs: object
    relation: str
    kind: str                       # "scalar" or "matrix"
    order: object                   # None, "loewner" or "elementwise"
    shape: object                   # None for scalars
    scalars: list                   # sampled scalar symbols
    eliminated: list                # [(symbol, expression in sampled symbols)]
    dims: list
    matrices: list
    intervals: dict                 # symbol -> Interval (scalars and dims)
    integers: set                   # scalar symbols sampled as integers
    checks: list                    # relations tested exactly at each point
    matrix_kinds: dict              # MatrixSymbol -> set of kind names
    to_user: dict                   # internal symbol -> the user's object
    positive_dets: list = field(default_factory=list)   # M with log(det(M)) present
    guards: list = field(default_factory=list)          # subexpressions that must be real
    has_matrices: bool = False                          # any matrix node in lhs or rhs


# --- inputs --------------------------------------------------------------------

def _as_sympy(value, name):
    if isinstance(value, str):
        raise ParseError("verify() takes SymPy expressions, not text (%s=%r); parse text "
                         "with symgrad's parser first" % (name, value))
    if isinstance(value, (list, tuple)) or type(value).__module__ == "numpy":
        value = sp.ImmutableMatrix(value.tolist() if hasattr(value, "tolist") else value)
    try:
        expr = sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError) as exc:
        raise UnsupportedExpression("%s=%r is not a SymPy expression or matrix" % (name, value)) from exc
    floats = {f: sp.Rational(str(f)) for f in expr.atoms(sp.Float)}
    expr = expr.xreplace(floats) if floats else expr
    expr = _doit_derivatives(expr)
    undefined = sorted(expr.atoms(AppliedUndef), key=str)
    if undefined:
        raise UnsupportedExpression("%s contains the undefined function %s, which cannot be "
                                    "sampled; give it a definition" % (name, undefined[0]))
    return to_standard(expr)


def _doit_derivatives(expr):
    return expr.replace(lambda e: isinstance(e, sp.Derivative), lambda e: e.doit())


def _matrix_symbols(exprs):
    found = set()
    for e in exprs:
        found |= e.atoms(sp.MatrixSymbol)
    return sorted(found, key=sp.default_sort_key)


def _realify(exprs):
    """The renaming user symbol -> internal symbol (real scalars, positive-integer dims)."""
    dims = set(dimension_symbols(exprs))
    scalars = set()
    for e in exprs:
        scalars |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
    scalars -= dims
    names = {}
    for s in scalars | dims:
        names.setdefault(s.name, []).append(s)
    rename = {}
    for s in sorted(dims, key=sp.default_sort_key):
        if not (s.is_integer and s.is_positive):
            rename[s] = sp.Symbol(s.name, integer=True, positive=True) if len(names[s.name]) == 1 \
                else sp.Dummy(s.name, integer=True, positive=True)
    for s in sorted(scalars, key=sp.default_sort_key):
        if s.is_real is False or s.is_extended_real is False:
            raise SymgradError("symbol %s is declared non-real; verify() treats symbols as real" % s)
        if s.is_real:
            continue
        unique = len(names[s.name]) == 1 and not isinstance(s, sp.Dummy)
        rename[s] = (sp.Symbol if unique else sp.Dummy)(s.name, real=True)
    return rename, sorted(dims, key=sp.default_sort_key), sorted(scalars, key=sp.default_sort_key)


def _match_shapes(lhs, rhs):
    lm, rm = getattr(lhs, "is_Matrix", False), getattr(rhs, "is_Matrix", False)
    if lm and not rm and rhs == 0:
        return lhs, sp.ZeroMatrix(*lhs.shape)
    if rm and not lm and lhs == 0:
        return sp.ZeroMatrix(*rhs.shape), rhs
    if lm != rm:
        mat, other = (lhs, rhs) if lm else (rhs, lhs)
        if tuple(mat.shape) == (1, 1):
            return (sp.Trace(mat), rhs) if lm else (lhs, sp.Trace(mat))
        raise ShapeMismatch("lhs is %s but rhs is %s; compare a matrix with a matrix of the "
                            "same shape (or with 0)" % (_shape_text(lhs), _shape_text(rhs)))
    if lm and not all(dims_equal(a, b) for a, b in zip(lhs.shape, rhs.shape)):
        raise ShapeMismatch("lhs has shape %s but rhs has shape %s; both sides must have the "
                            "same shape" % (tuple(lhs.shape), tuple(rhs.shape)))
    return lhs, rhs


def _shape_text(e):
    return "a matrix of shape %s" % (tuple(e.shape),) if getattr(e, "is_Matrix", False) else "a scalar"


# --- assumptions ----------------------------------------------------------------

def _flatten(assumptions):
    out = []
    for a in assumptions:
        if isinstance(a, str):
            raise ParseError("assumption %r is text; pass a SymPy relation such as x > 0" % a)
        a = sp.sympify(a, strict=True)
        if isinstance(a, sp.And):
            out.extend(_flatten(a.args))
        elif a is sp.true:
            continue
        elif a is sp.false:
            raise SymgradError("the assumptions include False, so no point satisfies them")
        else:
            out.append(a)
    return out


def _eliminate(equalities, sampled):
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


def _classify_assumptions(items, problem_symbols):
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


def _log_det_arguments(exprs):
    """Matrices M with log(det(M)) in the expressions: det(M) > 0 wherever both sides are
    defined, so the proof may take det(M) positive.

    The registry's ``domain`` facts cannot give this: they name a domain's edge, not
    whether the edge itself belongs to it (sqrt(det(M)) is defined at det(M) = 0, so
    it must not count), so the proof reads the one op whose edge is excluded, log.
    """
    found = set()
    for e in exprs:
        for node in sp.preorder_traversal(e):
            if isinstance(node, sp.log) and isinstance(node.args[0], sp.Determinant):
                found.add(node.args[0].arg)
    return sorted(found, key=sp.default_sort_key)


# --- the entry point -------------------------------------------------------------

def build_problem(lhs, rhs, relation, assumptions, order):
    """Normalise verify()'s arguments (see the module docstring)."""
    if relation not in RELATIONS:
        raise ParseError("relation must be one of %s, got %r" % (", ".join(RELATIONS), relation))
    if order not in ORDERS:
        raise ParseError("order must be None, 'loewner' or 'elementwise', got %r" % (order,))
    lhs, rhs = _as_sympy(lhs, "lhs"), _as_sympy(rhs, "rhs")
    items = _flatten(assumptions)
    rename, dims, scalars = _realify([lhs, rhs] + items)
    user_matrices = _matrix_symbols([lhs, rhs] + items)
    lhs, rhs = _doit_derivatives(lhs.xreplace(rename)), _doit_derivatives(rhs.xreplace(rename))
    items = [a.xreplace(rename) for a in items]
    to_user = {rename.get(s, s): s for s in dims + scalars}
    for m in user_matrices:
        to_user[m.xreplace(rename)] = m
    dims = [rename.get(d, d) for d in dims]
    scalars = [rename.get(s, s) for s in scalars]
    matrices = [m.xreplace(rename) for m in user_matrices]
    lhs, rhs = _match_shapes(lhs, rhs)
    kind = "matrix" if getattr(lhs, "is_Matrix", False) else "scalar"
    shape = tuple(lhs.shape) if kind == "matrix" else None
    if kind == "matrix" and relation != "==" and order is None:
        order = "loewner" if dims_equal(shape[0], shape[1]) else "elementwise"
    if order == "loewner" and kind == "matrix" and not dims_equal(shape[0], shape[1]):
        raise ShapeMismatch("the Loewner order needs square matrices, got shape %s" % (shape,))
    intervals, integers, equalities, checks, kinds = _classify_assumptions(
        items, (scalars, dims, matrices))
    for m in determinant_hints([lhs, rhs]):
        for sym in sorted(m.atoms(sp.MatrixSymbol), key=sp.default_sort_key):
            kinds.setdefault(sym, set()).add("spd_hint")
    eliminated = _eliminate(equalities, scalars)
    gone = {s for s, _ in eliminated}
    return Problem(
        lhs=lhs, rhs=rhs, relation=relation, kind=kind, order=order, shape=shape,
        scalars=[s for s in scalars if s not in gone], eliminated=eliminated, dims=dims,
        matrices=matrices, intervals=intervals, integers=integers, checks=checks, matrix_kinds=kinds,
        to_user=to_user, positive_dets=_log_det_arguments([lhs, rhs]),
        guards=domain_guards([lhs, rhs]),
        has_matrices=any(is_matrix_expr(e) for side in (lhs, rhs) for e in sp.preorder_traversal(side)))


def is_matrix_expr(e):
    """True for MatrixExpr and explicit matrices alike."""
    return isinstance(e, (MatrixExpr, sp.MatrixBase))
