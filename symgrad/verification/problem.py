"""verify(), step 1: turn the user's arguments into one normalised ``Problem``.

Inside the problem every scalar symbol is real (a user symbol with no real
assumption is replaced by a real one of the same name), every dimension symbol
is a positive integer, symgrad's nodes are rewritten into standard SymPy, and
the assumptions are read by ``assumptions.py`` (bounds, equalities, checks).
Expressions written with indices (Sum over Indexed reads) keep their arrays
(IndexedBases), sizes (the n, d of the Sums' limits: dimension symbols) and free
indices (the j of d L / d w[j]: integers sampled within the range they index).
A node verify cannot evaluate at a point (an Integral, a bare IndexedBase, an
undefined function) is an ``UnsupportedExpression`` naming it.
"""

from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.matexpr import MatrixExpr

from ..errors import ArgumentError, ParseError, ShapeMismatch, SymgradError, UnsupportedExpression
from ..graph.ir import dims_equal
from ..numeric.dims import dimension_symbols
from ..numeric.indices import index_symbols, labels
from ..numeric.kinks import determinant_hints, domain_guards
from ..ops import lookup
from ..ops.nodes import to_standard
from .assumptions import classify, eliminate, flatten

RELATIONS = ("==", "<=", "<", ">=", ">")
ORDERS = (None, "loewner", "elementwise")


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
    bases: dict = field(default_factory=dict)           # IndexedBase -> rank it is read at
    indices: list = field(default_factory=list)         # free indices (integers)
    memo: dict = field(default_factory=dict)            # index ranges and shapes per size


# --- inputs --------------------------------------------------------------------

def _as_sympy(value, name):
    if isinstance(value, str):
        raise ArgumentError("verify() takes SymPy expressions, not text (%s=%r); parse text "
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


EVALUABLE = (sp.Atom, sp.Function, sp.Tuple, sp.Lambda, sp.Indexed, sp.IndexedBase, sp.Sum, sp.Product,
             sp.MatrixBase, MatrixExpr, sp.logic.boolalg.Boolean, sp.Derivative,
             sp.functions.elementary.piecewise.ExprCondPair)


def _supported(expr, name):
    """UnsupportedExpression naming the first node verify cannot evaluate at a point."""
    stack = [(expr, None)]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, sp.IndexedBase) and not isinstance(parent, sp.Indexed):
            raise UnsupportedExpression(
                "%s uses the IndexedBase %s without indices; verify samples arrays only where "
                "they are read, as %s[i] (inside a Sum) or %s[j] (a free index)"
                % (name, node, node, node))
        if not (isinstance(node, EVALUABLE) or lookup(type(node)) is not None):
            raise UnsupportedExpression(
                "%s contains %s (a %s node), which verify cannot evaluate at a point; "
                "evaluate it (.doit()) or write it with supported functions"
                % (name, sp.sstr(node)[:80], type(node).__name__))
        if not isinstance(node, sp.IndexedBase):
            stack.extend((a, node) for a in node.args)


def _doit_derivatives(expr):
    return expr.replace(lambda e: isinstance(e, sp.Derivative), lambda e: e.doit())


def _matrix_symbols(exprs):
    found = set()
    for e in exprs:
        found |= e.atoms(sp.MatrixSymbol)
    return sorted(found, key=sp.default_sort_key)


def _realify(exprs, sizes=(), indices=()):
    """The renaming user symbol -> internal symbol (real scalars, positive-integer dims and
    sizes, integer free indices)."""
    dims = set(dimension_symbols(exprs)) | set(sizes)
    scalars = set()
    for e in exprs:
        scalars |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
    scalars -= dims | set(indices) | labels(exprs)
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
    for j in indices:
        if not j.is_integer:
            rename[j] = sp.Dummy(j.name, integer=True)
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
    items = flatten(assumptions)
    bases, sizes, indices = index_symbols([lhs, rhs])
    rename, dims, scalars = _realify([lhs, rhs] + items, sizes, indices)
    user_matrices = _matrix_symbols([lhs, rhs] + items)
    lhs, rhs = _doit_derivatives(lhs.xreplace(rename)), _doit_derivatives(rhs.xreplace(rename))
    _supported(lhs, "lhs")
    _supported(rhs, "rhs")
    items = [a.xreplace(rename) for a in items]
    to_user = {rename.get(s, s): s for s in dims + scalars + indices}
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
    indices = [rename.get(j, j) for j in indices]
    intervals, integers, equalities, checks, kinds = classify(
        items, (scalars, dims, matrices))
    for m in determinant_hints([lhs, rhs]):
        for sym in sorted(m.atoms(sp.MatrixSymbol), key=sp.default_sort_key):
            kinds.setdefault(sym, set()).add("spd_hint")
    eliminated = eliminate(equalities, scalars)
    gone = {s for s, _ in eliminated}
    return Problem(
        lhs=lhs, rhs=rhs, relation=relation, kind=kind, order=order, shape=shape,
        scalars=[s for s in scalars if s not in gone], eliminated=eliminated, dims=dims,
        matrices=matrices, intervals=intervals, integers=integers, checks=checks, matrix_kinds=kinds,
        to_user=to_user, positive_dets=_log_det_arguments([lhs, rhs]),
        guards=[] if bases else domain_guards([lhs, rhs]), bases=bases, indices=indices,
        has_matrices=any(is_matrix_expr(e) for side in (lhs, rhs) for e in sp.preorder_traversal(side)))


def is_matrix_expr(e):
    """True for MatrixExpr and explicit matrices alike."""
    return isinstance(e, (MatrixExpr, sp.MatrixBase))
