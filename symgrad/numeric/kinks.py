"""Kinks and domains, read from the op registry: where an expression is not differentiable,
where it is not defined, and what a sampler must draw positive or positive definite.

Each fact comes from the entries of the ops in the expression (``symgrad.ops``):
``kinks(node)`` (the zero of each expression is a kink; a pair ``(y, x)`` is a branch cut,
a jump in y where x < 0), ``domain(node)`` (expressions that must be positive),
``positive`` (argument positions drawn positive) and ``needs_spd`` (a square matrix
argument drawn with a positive definite symmetric part). The one fact that is not an
entry's is arithmetic: a negative integer power has a pole where its base is 0.

>>> x, y = sp.symbols("x y")
>>> boundaries([sp.Abs(x - 1) + sp.log(y)])
[y, x - 1]
>>> sorted(positive_symbols(sp.sqrt(x) + sp.log(y)), key=str)
[x, y]
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..ops import kinks_in, lookup
from ..ops.nodes import ElementwiseMap
from .reference import evaluate

__all__ = ["kinks_at", "has_kinks", "positive_symbols", "spd_matrices", "domain_edges",
           "boundaries", "domain_guards", "determinant_hints"]

KINK_DIGITS = 30           # digits a kink argument is evaluated to


def _domain(node):
    op = lookup(type(node))
    return list(op.domain(node)) if op is not None and op.domain is not None else []


def _zero_of(u):
    """The expression whose zero is the kink: y for a branch cut (y, x)."""
    return u[0] if isinstance(u, tuple) else u


# --- kinks ----------------------------------------------------------------------------

def has_kinks(expr) -> bool:
    """Whether any op in ``expr`` (Lambda bodies included) has kinks."""
    for node in sp.preorder_traversal(expr):
        op = lookup(type(node))
        if op is not None and op.kinks is not None:
            return True
    return False


def _kink_value(u, point, at):
    """The kink expression u at the point (its Lambda variables at ``at``); None where a
    branch cut (y, x) is not cut (x >= 0)."""
    if isinstance(u, tuple):
        y, x = u
        if evaluate(x.xreplace(at), point, KINK_DIGITS) < 0:
            return evaluate(y.xreplace(at), point, KINK_DIGITS)
        return None
    return evaluate(u.xreplace(at), point, KINK_DIGITS)


def _elementwise_maps(expr):
    """(variables, body, matrices) of each elementwise map M.applyfunc(f) in ``expr``."""
    for node in sp.preorder_traversal(expr):
        if isinstance(node, ElementwiseApplyFunction) and isinstance(node.function, sp.Lambda):
            yield node.function.variables, node.function.expr, [node.expr]
        elif isinstance(node, ElementwiseMap):
            yield node.function.variables, node.function.expr, node.matrices


def kinks_at(expr, point: dict) -> list:
    """(description, value) of every kink expression at an exact point; a zero value is a
    kink. Kinks inside an elementwise map are evaluated at every entry of its matrices.

    >>> x = sp.Symbol("x")
    >>> kinks_at(sp.Abs(x - 1), {x: sp.Integer(1)})
    [('Abs(x - 1) at argument 0', 0)]
    """
    out = [(desc, _kink_value(u, point, {})) for desc, u in kinks_in(expr)]
    for variables, body, matrices in _elementwise_maps(expr):
        kinks = kinks_in(body)
        if not kinks:
            continue
        entries = [list(evaluate(m, point, KINK_DIGITS)) for m in matrices]
        for desc, u in kinks:
            for values in zip(*entries):
                out.append((desc, _kink_value(u, point, dict(zip(variables, values)))))
    return [(desc, v) for desc, v in out if v is not None]


# --- domains ----------------------------------------------------------------------------

def positive_symbols(expr) -> set:
    """Symbols a sampler draws positive: an argument at an entry's ``positive`` position,
    or an expression of its ``domain``, that is a bare symbol (log(x), sqrt(x), gamma(x))."""
    out = set()
    for node in sp.preorder_traversal(expr):
        op = lookup(type(node))
        if op is None:
            continue
        candidates = [node.args[i] for i in op.positive if i < len(node.args)] + _domain(node)
        out |= {c for c in candidates if getattr(c, "is_Symbol", False)}
    return out


def spd_matrices(expr) -> set:
    """Square MatrixSymbols under an op that ``needs_spd`` (inverse, determinant, log-det)."""
    out = set()
    for node in sp.preorder_traversal(expr):
        op = lookup(type(node))
        if op is not None and op.needs_spd:
            out |= {m for m in node.args[0].atoms(sp.MatrixSymbol) if m.shape[0] == m.shape[1]}
    return out


def domain_edges(expr) -> list:
    """Expressions whose zero is an edge of the domain: each op's ``domain`` expressions,
    and the base of a negative integer power (a pole)."""
    out = []
    for node in sp.preorder_traversal(expr):
        out += _domain(node)
        if isinstance(node, sp.Pow) and node.exp.is_Integer and node.exp < 0:
            out.append(node.base)
    return out


def boundaries(exprs) -> list:
    """Every expression whose zero is a kink or a domain edge of one of ``exprs``, once each,
    in a fixed order."""
    found = set()
    for e in exprs:
        found |= {sp.sympify(_zero_of(u)) for _, u in kinks_in(e)}
        found |= set(domain_edges(e))
    return sorted(found, key=sp.default_sort_key)


def domain_guards(exprs) -> list:
    """Subexpressions that must be real for a point to be admissible: each scalar op with a
    domain (log, sqrt, asin, ...) whose argument has free symbols.

    sqrt(x)*sqrt(y) is real at x = y = -1 only through imaginary intermediates;
    such points are outside the real domain. Branches of a Piecewise and bodies
    of a Lambda are not guarded (their conditions or arguments protect them).
    """
    found = set()

    def walk(e):
        if isinstance(e, (sp.Piecewise, sp.Lambda)) or not e.args:
            return
        if _domain(e) and not getattr(e, "is_Matrix", False) and e.free_symbols:
            found.add(e)
        for a in e.args:
            walk(a)

    for e in exprs:
        walk(e)
    return sorted(found, key=sp.default_sort_key)


def determinant_hints(exprs) -> list:
    """Matrices M whose determinant is a domain edge (log(det(M)), det(M)**(1/2)): det(M) > 0
    wherever the expression is defined, so a sampler should often draw M positive definite."""
    found = set()
    for e in exprs:
        for node in sp.preorder_traversal(e):
            found |= {g.arg for g in _domain(node) if isinstance(g, sp.Determinant)}
    return sorted(found, key=sp.default_sort_key)
