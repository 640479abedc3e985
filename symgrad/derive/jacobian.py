"""Forward accumulation of Jacobians over the graph, for closed-form second derivatives.

``forward_jacobian(lowering, out, leaf)`` returns a graph node for d vec(out) / d w,
where ``w`` is a vector parameter (a d x 1 or 1 x d MatrixSymbol, symbolic d allowed)
or a scalar. Vectors are read as columns: the Jacobian of a scalar is 1 x d, of an
r x 1 column or 1 x r row r x d. The rules keep structure: the Jacobian of an
elementwise f(u) is f'(u) ⊙ J(u), a row scaling (never an r x r ``diag``); of A u it is
A J(u). Intermediates that are matrices (neither dimension 1) may be constants (data)
but may not depend on w; such expressions get ``UnsupportedExpression`` naming the node.

Elementwise partial derivatives come from the op registry's rules (with adjoint 1), so
the second-order code is as correct as the first-order rules and needs no table of its
own.
"""

from __future__ import annotations

import sympy as sp

from ..errors import UnsupportedExpression
from ..graph.ir import Broadcast, Const, Fill, Leaf, SumTo, ancestors
from ..graph.raising import Raising
from ..ops import UNKNOWN_DERIVATIVE, is_elementwise
from ..ops.slicing import Concat, Embed
from sympy.matrices.expressions.slice import MatrixSlice
from .reverse import apply_rule

__all__ = ["forward_jacobian", "length", "MatrixIntermediate"]


def length(shape):
    """How many entries a scalar or vector shape holds (None for a matrix)."""
    if shape == ():
        return sp.S.One
    rows, cols = shape
    if cols == 1:
        return rows
    if rows == 1:
        return cols
    return None


def forward_jacobian(lowering, out, leaf):
    """The Jacobian node of ``out`` with respect to the vector or scalar leaf ``leaf``."""
    g = lowering.graph
    d = length(leaf.shape)
    if d is None:
        raise UnsupportedExpression("the vector-form Jacobian needs a vector or scalar parameter; "
                                    "%s has shape %s" % (leaf.extra, leaf.shape))
    needed = ancestors([out])
    depends = {}
    for n in needed:
        depends[n.id] = n is leaf or any(depends.get(a.id, False) for a in n.args)
    jac = {leaf.id: g.fill(sp.Identity, (d, d)) if d != 1 else g.const(1)}
    for n in needed:
        if depends.get(n.id) and n.id not in jac:
            jac[n.id] = _rule(lowering, n, jac, depends, d)
    if not depends.get(out.id):
        return g.broadcast(g.const(0), (length(out.shape), d))
    return jac[out.id]


def _column(g, lowering, x):
    """A row vector read as a column (a scalar or column unchanged)."""
    if x.shape != () and x.shape[0] == 1 and x.shape[1] != 1:
        return lowering.transpose(x)
    return x


def _as_rows(g, j, count, d):
    """J stretched to ``count`` rows (the Jacobian of a broadcast scalar)."""
    if j.shape == () or j.shape[0] == count:
        return j
    return g.broadcast(j, (count, d))


def _shape_of(j, d):
    return j.shape if j.shape != () else (sp.S.One, d)


def _rule(lowering, n, jac, depends, d):
    g = lowering.graph
    where = " in %s" % _name(lowering, n)
    if length(n.shape) is None:
        _matrix_factor(lowering, n)
    count = length(n.shape)
    if is_elementwise(n.op):
        return _elementwise(lowering, n, jac, depends, d, count)
    args = n.args
    if n.op is sp.MatMul:
        return _matmul(lowering, n, jac, depends, d)
    if n.op is sp.Transpose:
        return jac[args[0].id]
    if n.op is SumTo or (n.op is sp.Trace and args[0].shape in ((1, 1), ())):
        j = jac[args[0].id]
        return g.sum_to(j, (sp.S.One, d)) if n.op is SumTo and n.shape in ((), (1, 1)) else j
    if n.op is Broadcast:
        return _as_rows(g, jac[args[0].id], count, d)
    if n.op in (MatrixSlice, Embed, Concat):
        return _pieces(lowering, n, jac, depends, d)
    raise UnsupportedExpression("no closed-form second-derivative rule for %s%s; pass numeric "
                                "dimensions, or direction=V for a Hessian-vector product"
                                % (getattr(n.op, "__name__", n.op), where))


def _pieces(lowering, n, jac, depends, d):
    """J of a piece of a vector is that piece of J's rows; J of an embedded vector is J placed
    in zero rows; J of vectors joined end to end is their J's stacked."""
    g = lowering.graph
    if n.op is Concat:
        parts = [jac[b.id] if depends.get(b.id) else g.broadcast(g.const(0), (length(b.shape), d))
                 for b in n.args[1:]]
        return lowering.concat(0, [g.broadcast(p, (sp.S.One, d)) if p.shape == () else p
                                   for p in parts], n, ())
    x, bounds = n.args[0], [lowering.dimension_of(b) for b in n.args[1:]]
    if n.op is Embed:
        bounds = bounds[2:]
    j = jac[x.id]
    along = bounds[:3] if (n.shape if n.op is Embed else x.shape)[1] == 1 else bounds[3:]
    P = sp.MatrixSymbol("_sg_j%d" % next(lowering.placeholders), *_shape_of(j, d))
    if n.op is MatrixSlice:
        piece = sp.MatrixSlice(P, tuple(along), (0, d, 1))
    else:
        piece = Embed(P, length(n.shape), d, *along, 0, d, 1)
    return lowering.lower_template(piece, {P: g.broadcast(j, P.shape) if j.shape == () else j})


def _elementwise(lowering, n, jac, depends, d, count):
    """J(f(x1, ..., xm)) = sum_i df/dx_i ⊙ J(x_i), with df/dx_i from the registry rule."""
    g = lowering.graph
    ones = g.to_shape(g.const(1), n.shape)
    partials = apply_rule(lowering, n, ones)
    total = None
    for a, p in zip(n.args, partials):
        if p is None or not depends.get(a.id):
            continue
        if p is UNKNOWN_DERIVATIVE:
            raise UnsupportedExpression("symgrad has no derivative of %s with respect to an "
                                        "argument that depends on the parameter"
                                        % getattr(n.op, "__name__", n.op))
        if _is_one(p):
            term = _as_rows(g, jac[a.id], count, d)
        else:
            term = g.apply(sp.Mul, _column(g, lowering, p), _as_rows(g, jac[a.id], count, d))
        term = _as_rows(g, term, count, d) if term.shape == () else term
        total = term if total is None else g.apply(sp.Add, total, term)
    return total if total is not None else g.broadcast(g.const(0), (count, d))


def _is_one(p):
    if p.op is Broadcast:
        p = p.args[0]
    return p.op is Const and p.value == 1


def _matmul(lowering, n, jac, depends, d):
    """J(A B) for a vector or scalar product: A J(B) + (B^T ⊗ 1) J(A), by orientation."""
    g = lowering.graph
    a, b = n.args
    rows, cols = n.shape
    total = None

    def add(term):
        nonlocal total
        total = term if total is None else g.apply(sp.Add, total, term)

    if cols == 1:                                  # a column (or 1 x 1): A (r x m), B (m x 1)
        if depends.get(b.id):
            add(lowering.matmul(a, jac[b.id]))
        if depends.get(a.id):
            if a.shape[1] == 1:                    # A a column, B 1 x 1: b J(A)
                add(g.apply(sp.Mul, _scalar(g, b), jac[a.id]))
            elif a.shape[0] == 1:                  # a row times a column: b^T J(a^T)
                add(lowering.matmul(lowering.transpose(b), jac[a.id]))
            else:
                _matrix_factor(lowering, a)
    elif rows == 1:                                # a row: A (1 x m), B (m x c); u^T = B^T A^T
        if depends.get(a.id):
            add(lowering.matmul(lowering.transpose(b), jac[a.id]) if a.shape[1] != 1 else
                g.apply(sp.Mul, _column(g, lowering, b), _as_rows(g, jac[a.id], cols, d)))
        if depends.get(b.id):
            if b.shape[0] == 1:                    # A 1 x 1, B a row: a B
                add(g.apply(sp.Mul, _scalar(g, a), jac[b.id]))
            else:
                _matrix_factor(lowering, b)
    return total if total is not None else g.broadcast(g.const(0), (length(n.shape), d))


def _scalar(g, x):
    return x if x.shape == () else g.apply(sp.Trace, x, shape=())


class MatrixIntermediate(UnsupportedExpression):
    """A matrix (neither dimension 1) that depends on the parameter: the vector-form rules stop."""


def _matrix_factor(lowering, x):
    raise MatrixIntermediate(
        "the %s x %s matrix %s depends on the parameter; the vector-form rules take intermediates "
        "that are vectors or scalars" % (x.shape[0], x.shape[1], _name(lowering, x)))


def _name(lowering, n):
    """The node as the expression it stands for (shortened), for messages."""
    if n.op is Leaf:
        return str(n.extra)
    if n.op is Const:
        return str(n.value)
    if n.op is Fill:
        return "an identity"
    text = str(Raising(lowering.user)(n))
    return text if len(text) <= 80 else text[:77] + "..."
