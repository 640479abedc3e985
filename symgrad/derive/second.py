"""Second derivatives: Hessians and Jacobians, the public faces ``hessian`` and ``jacobian``.

Three forms of the Hessian:

* scalar Symbols (and MatrixSymbols with numeric dimensions, read as their entries):
  the explicit SymPy Matrix of second derivatives, by reverse mode applied twice;
* one vector parameter w of shape (d, 1) or (1, d), symbolic d allowed: a d x d matrix
  expression in closed form, by forward accumulation of the Jacobian of the gradient
  (``jacobian.py``); a diagonal stays a row scaling (``DiagMatrix(v)*X``), never an
  n x n matrix;
* matrix parameters W (p x q, neither dimension 1), symbolic sizes allowed: the pq x pq
  Hessian over row-major vec(W) in Kronecker form (``kronecker.py``), read off the
  Hessian-vector product; several parameters give a BlockMatrix of such blocks;
* ``direction=V``: the Hessian-vector product, shaped like the parameter.
"""

from __future__ import annotations

import sympy as sp

from ..errors import ShapeMismatch, UnsupportedExpression
from ..graph.ir import Const
from ..graph.lower import Lowering, as_expression
from ..graph.raising import Raising
from .jacobian import forward_jacobian, length
from .kronecker import display, hessian_terms
from .reverse import _indexed, backward, check_wrt, scalar_loss, tidy, zero_like

__all__ = ["hessian", "jacobian"]


def _closed_form(w):
    """A MatrixSymbol vector with a symbolic dimension: the closed-form route."""
    return isinstance(w, sp.MatrixSymbol) and length(tuple(w.shape)) is not None and \
        not all(sp.sympify(d).is_Integer for d in w.shape)


def jacobian(expr: "sp.Expr | sp.MatrixExpr", wrt: "sp.Symbol | sp.MatrixSymbol") -> sp.MatrixExpr:
    """The Jacobian d expr / d wrt as a matrix expression (symbolic dimensions kept).

    ``expr`` is a column (m x 1), a row or a scalar; ``wrt`` a vector MatrixSymbol of
    shape (d, 1) or (1, d), or a Symbol. The result is m x d (1 x d for a scalar).

    >>> import sympy as sp
    >>> m, d = sp.symbols("m d", integer=True, positive=True)
    >>> A, w = sp.MatrixSymbol("A", m, d), sp.MatrixSymbol("w", d, 1)
    >>> jacobian(A*w, w)
    A
    """
    (w,), _ = check_wrt([wrt])
    lowering = Lowering()
    out = lowering(as_expression(expr))
    if length(out.shape) is None:
        raise ShapeMismatch("jacobian needs a vector or scalar expression; this one has shape "
                            "(%s, %s)" % out.shape)
    j = forward_jacobian(lowering, out, lowering.leaf(w))
    return _show(lowering, j, (length(out.shape), length(_shape(w))))


def _shape(w):
    return tuple(w.shape) if isinstance(w, sp.MatrixSymbol) else ()


def _show(lowering, node, shape):
    if node.op is Const and node.value == 0 or _zero(node):
        return sp.ZeroMatrix(*shape)
    out = tidy(Raising(lowering.user)(node))
    if not getattr(out, "is_Matrix", False):
        out = out * sp.Identity(1) if shape == (1, 1) else out * sp.OneMatrix(*shape)
    return out


def _zero(node):
    return node.args and node.op.__name__ == "Broadcast" and node.args[0].op is Const \
        and node.args[0].value == 0


def _closed_hessian(expr, items):
    """Blocks d2 L / dw_i dw_j for vector (or scalar) parameters, in closed form."""
    lowering = Lowering()
    out = scalar_loss(lowering, expr)
    leaves = [lowering.leaf(w) for w in items]
    grads = backward(lowering, out, leaves)
    sizes = [length(_shape(w)) for w in items]
    blocks = [[_show(lowering, forward_jacobian(lowering, gi, leaf), (si, sj))
               for leaf, sj in zip(leaves, sizes)] for gi, si in zip(grads, sizes)]
    if len(items) == 1:
        return blocks[0][0]
    return sp.BlockMatrix(blocks)


def hessian(expr: sp.Expr, wrt: "sp.Symbol | sp.MatrixSymbol | list",
            direction: "sp.Symbol | sp.MatrixSymbol | None" = None) -> "sp.Matrix | sp.MatrixExpr":
    """Second derivatives of a scalar expression.

    For scalar Symbols ``wrt = [w1, w2, ...]`` the result is the SymPy Matrix
    of d2 expr / dwi dwj. A MatrixSymbol with numeric dimensions counts as its
    entries, row by row. A vector MatrixSymbol w of shape (d, 1) with symbolic d gives the
    d x d Hessian as one matrix expression in closed form (several parameters: a
    BlockMatrix of their blocks). For one parameter ``wrt`` (a Symbol or a MatrixSymbol,
    symbolic dimensions allowed) and ``direction`` of the same shape, the
    result is the Hessian-vector product H[direction] = d/dt grad(w + t*direction)
    at t = 0, shaped like ``wrt``.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> hessian(x**2*y, [x, y])
    Matrix([
    [2*y, 2*x],
    [2*x,   0]])
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> W, A, V = (sp.MatrixSymbol(s, n, n) for s in "WAV")
    >>> hessian(sp.Trace(W.T*A*W), W, direction=V)
    A*V + Aᵀ*V
    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> w, B = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("B", d, d)
    >>> hessian((w.T*B*w)[0, 0], w)
    B + Bᵀ
    """
    expr = as_expression(expr)
    if _indexed(expr, wrt):
        from .index_reverse import index_hessian       # the index-notation route
        return index_hessian(expr, wrt)
    if direction is not None:
        return _hessian_vector(expr, wrt, direction)
    items, _ = check_wrt(wrt)
    if any(_matrix_parameter(w) for w in items):
        return _kronecker_hessian(expr, items)
    if any(_closed_form(w) for w in items):
        return _closed_hessian(expr, items)
    back = {}
    if any(isinstance(w, sp.MatrixSymbol) for w in items):
        expr, items, back = _entries(expr, items)
    lowering = Lowering()
    out = scalar_loss(lowering, expr)
    leaves = [lowering.leaf(w) for w in items]
    first = backward(lowering, out, leaves)
    raise_ = Raising(lowering.user)
    rows = []
    for gi in first:
        row = backward(lowering, gi, leaves) if not gi.is_const else [lowering.graph.const(0)] * len(leaves)
        rows.append([tidy(raise_(h)).xreplace(back) for h in row])
    return sp.Matrix(rows)


def _entries(expr, items):
    """Write every MatrixSymbol with numeric dimensions out as a matrix of scalar symbols.

    Returns (scalar expression, the wrt items with matrices as their entries row by
    row, {scalar symbol: the MatrixElement it stands for}).
    """
    for w in items:
        if isinstance(w, sp.MatrixSymbol) and not all(sp.sympify(d).is_Integer for d in w.shape):
            raise UnsupportedExpression(
                "hessian of %s with symbolic shape %s: give numeric dimensions, or pass "
                "direction=V (a MatrixSymbol shaped like %s) for the Hessian-vector product"
                % (w, w.shape, w))
    subs, back = {}, {}
    for m in sorted(expr.atoms(sp.MatrixSymbol) | {w for w in items if isinstance(w, sp.MatrixSymbol)},
                    key=sp.default_sort_key):
        if not all(sp.sympify(d).is_Integer for d in m.shape):
            continue
        rows, cols = (int(d) for d in m.shape)
        entries = [[sp.Symbol("%s[%d,%d]" % (m.name, i, j), real=True) for j in range(cols)]
                   for i in range(rows)]
        subs[m] = sp.ImmutableMatrix(entries)
        back.update({entries[i][j]: m[i, j] for i in range(rows) for j in range(cols)})
    out = []
    for w in items:
        out += list(subs[w]) if isinstance(w, sp.MatrixSymbol) else [w]
    explicit = expr.xreplace(subs).doit()
    if getattr(explicit, "is_Matrix", False):
        explicit = explicit.as_explicit()[0, 0]
    return explicit, out, back


def _matrix_parameter(w):
    """A matrix MatrixSymbol (neither dimension 1) with a symbolic dimension."""
    return isinstance(w, sp.MatrixSymbol) and length(tuple(w.shape)) is None and \
        not all(sp.sympify(d).is_Integer for d in w.shape)


def _kronecker_hessian(expr, items):
    """Blocks d2 L / d vec(W_i) d vec(W_j) in Kronecker form (every parameter a MatrixSymbol)."""
    for w in items:
        if not isinstance(w, sp.MatrixSymbol):
            raise UnsupportedExpression(
                "the Kronecker-form Hessian takes MatrixSymbol parameters only; %s is a scalar: "
                "write it as a 1 x 1 MatrixSymbol, or take the Hessian of the matrices alone" % w)
    directions = [sp.MatrixSymbol("V_%s" % w.name, *w.shape) for w in items]
    sizes = [w.shape[0] * w.shape[1] for w in items]
    blocks = [[None] * len(items) for _ in items]
    for j, (wj, v) in enumerate(zip(items, directions)):
        for i, wi in enumerate(items):
            hv = _mixed_hvp(expr, wi, wj, v)
            shape = (sizes[i], sizes[j])
            blocks[i][j] = sp.ZeroMatrix(*shape) if hv.is_ZeroMatrix else \
                display(hessian_terms(hv, v), shape)
    return blocks[0][0] if len(items) == 1 else sp.BlockMatrix(blocks)


def _mixed_hvp(expr, wi, wj, v):
    """d/dt grad_wi L(wj + t v) at t = 0, shaped like wi."""
    lowering = Lowering()
    out = scalar_loss(lowering, expr)
    (g,) = backward(lowering, out, [lowering.leaf(wj)])
    inner = lowering.graph.sum_to(lowering.graph.apply(sp.Mul, g, lowering.leaf(v)), ())
    (hv,) = backward(lowering, inner, [lowering.leaf(wi)])
    if hv.op is Const and hv.value == 0:
        return zero_like(wi)
    return tidy(Raising(lowering.user)(hv))


def _hessian_vector(expr, wrt, direction):
    if isinstance(wrt, (list, tuple)) and len(wrt) == 1:
        wrt = wrt[0]                      # hessian(L, [X], direction=V) means hessian(L, X, ...)
    if isinstance(direction, (list, tuple)) and len(direction) == 1:
        direction = direction[0]
    (w,), _ = check_wrt([wrt])
    (v,), _ = check_wrt([direction], "direction")
    if getattr(w, "shape", ()) != getattr(v, "shape", ()) or isinstance(w, sp.MatrixSymbol) != \
            isinstance(v, sp.MatrixSymbol):
        raise ShapeMismatch("direction %s must have the shape of %s (%s)" % (v, w, getattr(w, "shape", "scalar")))
    return _mixed_hvp(expr, w, w, v)
