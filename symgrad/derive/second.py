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
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..errors import ArgumentError, ShapeMismatch, UnsupportedExpression
from ..graph.ir import Const
from ..graph.lower import Lowering, as_expression
from ..graph.raising import Raising
from ..ops.display import shown
from ..ops.matrix_nodes import ElementwiseMap
from ..ops.vec import Vec
from .jacobian import MatrixIntermediate, forward_jacobian, length
from .kronecker import display, hessian_terms, transpose_terms
from .reverse import _indexed, backward, check_wrt, grad, scalar_loss, tidy, zero_like

__all__ = ["hessian", "jacobian", "kronecker_blocks"]


def _closed_form(w):
    """A MatrixSymbol vector with a symbolic dimension: the closed-form route."""
    return isinstance(w, sp.MatrixSymbol) and length(tuple(w.shape)) is not None and \
        not all(sp.sympify(d).is_Integer for d in w.shape)


def jacobian(expr: "sp.Expr | sp.MatrixExpr", wrt: "sp.Symbol | sp.MatrixSymbol") -> sp.MatrixExpr:
    """The Jacobian d vec(expr) / d vec(wrt) as a matrix expression (symbolic dimensions kept).

    ``expr`` is a scalar or a matrix expression of shape (r, c); ``wrt`` one Symbol or
    MatrixSymbol of shape (p, q). The result is rc x pq (1 x pq for a scalar), vec row-major
    (``ops/vec.py``): for vectors a plain matrix expression (a diagonal kept as a row
    scaling), for matrices a Kronecker form.

    >>> import sympy as sp
    >>> m, d, k = sp.symbols("m d k", integer=True, positive=True)
    >>> A, w = sp.MatrixSymbol("A", m, d), sp.MatrixSymbol("w", d, 1)
    >>> jacobian(A*w, w)
    A
    >>> jacobian(A*sp.MatrixSymbol("W", d, k), sp.MatrixSymbol("W", d, k))
    A ⊗ I
    """
    w = _one_parameter(wrt)
    expr = as_expression(expr)
    lowering = Lowering()
    out = lowering(expr)
    rows = out.shape[0] * out.shape[1] if out.shape else sp.S.One
    if length(out.shape) is not None and length(_shape(w)) is not None:
        try:
            j = forward_jacobian(lowering, out, lowering.leaf(w))
            return _show(lowering, j, (length(out.shape), length(_shape(w))))
        except MatrixIntermediate:
            pass                                  # a matrix inside: the Kronecker form below
    if not isinstance(w, sp.MatrixSymbol):
        raise ShapeMismatch("jacobian of the %s x %s matrix %s with respect to the scalar %s: "
                            "pass a MatrixSymbol parameter, or differentiate each entry"
                            % (out.shape[0], out.shape[1], _short(expr), w))
    if out.shape in ((), (1, 1)):                 # a scalar: the gradient, as a row
        g = grad(expr, w)
        return sp.ZeroMatrix(1, rows_w(w)) if getattr(g, "is_ZeroMatrix", False) else \
            shown(sp.Transpose(Vec(g)))
    u = sp.MatrixSymbol("U_%s" % w.name, *out.shape)
    vjp = _vjp(lowering, out, w, u)
    terms = [] if getattr(vjp, "is_ZeroMatrix", False) else transpose_terms(hessian_terms(vjp, u))
    return display(terms, (rows, rows_w(w)))


def rows_w(w):
    return w.shape[0] * w.shape[1]


def _spread(e):
    """u for a column u spread over columns (u*𝟏ᵀ), else None."""
    if isinstance(e, sp.MatMul) and isinstance(e.args[-1], sp.OneMatrix) and e.args[-1].shape[0] == 1:
        rest = sp.MatMul(*e.args[:-1]).doit() if len(e.args) > 2 else e.args[0]
        if getattr(rest, "is_Matrix", False) and rest.shape[1] == 1:
            return rest
    return None


def _columns_first(e, memo):
    """Entrywise work on a spread column done on the column: f(u*𝟏ᵀ) = f(u)*𝟏ᵀ and
    (a*𝟏ᵀ) ⊙ (b*𝟏ᵀ) ⊙ X = ((a ⊙ b)*𝟏ᵀ) ⊙ X, so a Hessian reads Xᵀ((σ(z) ⊙ σ(-z))𝟏ᵀ ⊙ X)/n,
    one spread vector scaling the rows of X (no n x d map of a spread matrix)."""
    if e in memo:
        return memo[e]
    if not getattr(e, "is_Matrix", False) or not e.args or isinstance(e, sp.MatrixSymbol):
        return e
    args = tuple(_columns_first(a, memo) if isinstance(a, sp.Basic) else a for a in e.args)
    new = e.func(*args) if args != e.args else e
    mats = [a for a in args if getattr(a, "is_Matrix", False)]
    if isinstance(e, (ElementwiseApplyFunction, ElementwiseMap)) or \
            (isinstance(e, (sp.MatAdd, sp.HadamardPower)) and mats and all(_spread(a) is not None for a in mats)):
        cols = [_spread(a) for a in mats]
        if cols and all(c is not None for c in cols) and len({a.shape for a in mats}) == 1:
            ones = mats[0].args[-1]
            inner = e.func(*[_spread(a) if getattr(a, "is_Matrix", False) else a for a in args])
            new = sp.MatMul(inner, ones)
    elif isinstance(e, sp.HadamardProduct):
        spread = [a for a in args if _spread(a) is not None]
        if len(spread) > 1 and len({a.args[-1] for a in spread}) == 1:
            column = sp.HadamardProduct(*[_spread(a) for a in spread])
            rest = [a for a in args if _spread(a) is None]
            joined = sp.MatMul(column, spread[0].args[-1])
            new = sp.HadamardProduct(joined, *rest) if rest else joined
    memo[e] = new
    return new


def _one_parameter(wrt):
    if isinstance(wrt, (list, tuple)):
        raise ArgumentError("jacobian takes one parameter, got the %s %s; call jacobian once per "
                            "parameter" % (type(wrt).__name__, list(wrt)))
    if not isinstance(wrt, (sp.Symbol, sp.MatrixSymbol)):
        raise ArgumentError("jacobian differentiates with respect to a Symbol or MatrixSymbol, got %s "
                            "(%s); pass the symbol itself" % (_short(wrt), type(wrt).__name__))
    (w,), _ = check_wrt([wrt])
    return w


def _short(e):
    text = str(e)
    return text if len(text) <= 80 else text[:77] + "..."


def _vjp(lowering, out, w, u):
    """grad_w <out, u>: linear in u, its linear map is the transposed Jacobian."""
    g = lowering.graph
    inner = g.sum_to(g.apply(sp.Mul, out, lowering.leaf(u)), ())
    (vjp,) = backward(lowering, inner, [lowering.leaf(w)])
    if vjp.op is Const and vjp.value == 0:
        return zero_like(w)
    return tidy(Raising(lowering.user)(vjp))


def _shape(w):
    return tuple(w.shape) if isinstance(w, sp.MatrixSymbol) else ()


def _show(lowering, node, shape):
    if node.op is Const and node.value == 0 or _zero(node):
        return sp.ZeroMatrix(*shape)
    out = tidy(Raising(lowering.user)(node))
    if getattr(out, "is_Matrix", False):
        out = shown(_columns_first(out, {}))
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
    try:
        blocks = [[_show(lowering, forward_jacobian(lowering, gi, leaf), (si, sj))
                   for leaf, sj in zip(leaves, sizes)] for gi, si in zip(grads, sizes)]
    except MatrixIntermediate as e:
        raise UnsupportedExpression("%s (pass numeric dimensions for an entrywise Hessian, or "
                                    "direction=V for a Hessian-vector product)" % e) from None
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
    k = len(leaves)
    out = [[None] * k for _ in range(k)]
    for i, gi in enumerate(first):          # the upper triangle, mirrored: H is symmetric
        row = backward(lowering, gi, leaves[i:]) if not gi.is_const else [lowering.graph.const(0)] * (k - i)
        for j, h in enumerate(row, start=i):
            out[i][j] = out[j][i] = tidy(raise_(h))
    if back:                                # one shared memo: each sigma(z_i) is rebuilt once
        memo = {}
        out = [[_replace(e, back, memo) for e in row] for row in out]
    return sp.Matrix(out)


def _replace(e, rule, memo):
    """``e.xreplace(rule)`` with a memo shared across calls (entries share subexpressions)."""
    hit = memo.get(e)
    if hit is not None:
        return hit
    if e in rule:
        new = rule[e]
    elif not e.args or isinstance(e, sp.Lambda):
        new = e.xreplace(rule) if isinstance(e, sp.Lambda) else e
    else:
        args = tuple(_replace(a, rule, memo) for a in e.args)
        if args == e.args:
            new = e
        elif isinstance(e, sp.Function):    # a renaming cannot change what eval decided
            new = e.func(*args, evaluate=False)
        else:
            new = e.func(*args)
    memo[e] = new
    return new


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
    blocks = kronecker_blocks(expr, items)
    sizes = [w.shape[0] * w.shape[1] for w in items]
    shown_ = [[display(blocks[i][j], (sizes[i], sizes[j])) for j in range(len(items))]
              for i in range(len(items))]
    return shown_[0][0] if len(items) == 1 else sp.BlockMatrix(shown_)


def kronecker_blocks(expr: sp.Expr, items: list) -> list:
    """[[terms of d2 L / d vec(W_i) d vec(W_j)]] (``kronecker.Term`` lists) for MatrixSymbol
    parameters of any shape (row-major vec); numeric dimensions are kept as given."""
    for w in items:
        if not isinstance(w, sp.MatrixSymbol):
            raise UnsupportedExpression(
                "the Kronecker-form Hessian takes MatrixSymbol parameters only; %s is a scalar: "
                "write it as a 1 x 1 MatrixSymbol, or take the Hessian of the matrices alone" % w)
    expr = as_expression(expr)
    directions = [sp.MatrixSymbol("V_%s" % w.name, *w.shape) for w in items]
    blocks = [[None] * len(items) for _ in items]
    for j, (wj, v) in enumerate(zip(items, directions)):
        for i, wi in enumerate(items):
            hv = _mixed_hvp(expr, wi, wj, v)
            blocks[i][j] = [] if getattr(hv, "is_ZeroMatrix", False) else hessian_terms(hv, v)
    return blocks


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
