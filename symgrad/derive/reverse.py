"""Reverse accumulation over the expression graph (symbolic backpropagation).

``backward`` walks the graph once from the loss towards the parameters, asking
the rules table for each node's contribution to its arguments and summing the
contributions each node receives. Every node is visited once, so the gradient
costs a small constant times the loss, whatever the number of parameters.

Values computed only inside one branch of a Piecewise may be NaN or infinite
where that branch is not selected. Their contributions are masked with the
branch's condition where they leave the branch, so nothing leaks out.

``grad`` and ``hessian`` are the public faces of this stage.
"""

import sympy as sp

from ..errors import ArgumentError, ShapeMismatch, UnsupportedExpression
from ..graph.ir import RELATIONAL, Const, Leaf, branch_contexts
from ..graph.lower import Lowering
from ..ops.rules import MATRIX_RULES, RULES
from ..graph.raising import Raising

__all__ = ["grad", "hessian", "backward", "check_wrt"]



def check_wrt(wrt, what="wrt"):
    """Normalise ``wrt`` to a list of Symbols/MatrixSymbols; return (list, was_single)."""
    single = not isinstance(wrt, (list, tuple))
    items = [wrt] if single else list(wrt)
    for w in items:
        if not isinstance(w, (sp.Symbol, sp.MatrixSymbol)):
            raise ArgumentError("%s must be a Symbol or MatrixSymbol (or a list of them); got %r "
                                "of type %s" % (what, w, type(w).__name__))
    names = [str(w) for w in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ArgumentError("%s names %s more than once; list each parameter once" % (what, dup[0]))
    return items, single


def _mask(graph, contribution, inner, outer):
    """Zero a contribution wherever the branches it was computed in are not taken."""
    for sel in sorted(inner - outer, key=sorted):
        cond = None
        for node_id, polarity in sorted(sel):
            lit = graph.nodes[node_id]
            lit = lit if polarity else graph.apply(sp.Not, lit)
            cond = lit if cond is None else graph.apply(sp.And, cond, lit)
        contribution = graph.apply(sp.Piecewise, contribution, cond, graph.const(0),
                                   graph.const(sp.true))
    return contribution


def _apply_rule(lowering, node, g):
    rule = RULES.get(node.op)
    if rule is None:
        raise UnsupportedExpression("no derivative rule for %s node %r; add one to symgrad.rules.RULES"
                                    % (getattr(node.op, "__name__", node.op), node))
    matrix = node.op in MATRIX_RULES
    bindings = {}

    def placeholder(n, name):
        if n.op is Const:
            return n.value
        if matrix and n.shape != ():
            p = sp.MatrixSymbol("_sg_%s%d" % (name, next(lowering.placeholders)), *n.shape)
        elif _is_boolean(n):
            p = sp.Dummy(name)
        else:
            p = sp.Dummy(name, real=True)
        bindings[p] = n
        return p

    G = placeholder(g, "g")
    ans = placeholder(node, "ans")
    args = [placeholder(a, "x") for a in node.args]
    return [None if c is None else lowering.lower_template(c, bindings)
            for c in rule(G, ans, *args)]


def _is_boolean(n):
    return n.op in RELATIONAL or n.op in (sp.And, sp.Or, sp.Not) or \
        (n.op is Const and n.value in (sp.true, sp.false))


def backward(lowering, out, wrt_nodes):
    """Adjoint nodes of ``out`` with respect to each of ``wrt_nodes`` (reverse mode)."""
    graph = lowering.graph
    targets = {w.id for w in wrt_nodes}
    depends = {}
    for n in graph.nodes[:out.id + 1]:
        depends[n.id] = n.id in targets or any(depends.get(a.id, False) for a in n.args)
    ctx = branch_contexts(graph, [out]) if any(n.op is sp.Piecewise for n in graph.nodes) else {}
    adjoints = {out.id: [graph.to_shape(graph.const(1), out.shape)]}
    found = {}
    for n in reversed(graph.nodes[:out.id + 1]):
        parts = adjoints.pop(n.id, None)
        if parts is None or not depends[n.id]:
            continue
        g = graph.to_shape(graph.add(*parts), n.shape)
        if n.id in targets:
            found[n.id] = g
            if n.op is Leaf:
                continue
        for a, c in zip(n.args, _apply_rule(lowering, n, g)):
            if c is None or not depends[a.id]:
                continue
            c = graph.to_shape(c, a.shape)
            if ctx and ctx.get(n.id, frozenset()) - ctx.get(a.id, frozenset()):
                c = _mask(graph, c, ctx[n.id], ctx.get(a.id, frozenset()))
            adjoints.setdefault(a.id, []).append(c)
    return [found.get(w.id) or graph.to_shape(graph.const(0), w.shape) for w in wrt_nodes]


def _scalar_loss(lowering, expr):
    out = lowering(expr)
    if out.shape not in ((), (1, 1)):
        raise ShapeMismatch("the expression has shape (%s, %s), but a gradient needs a scalar: "
                            "take a Trace, msum(...) or a 1 x 1 product first" % out.shape)
    return out


def _zero_like(w):
    return sp.ZeroMatrix(*w.shape) if isinstance(w, sp.MatrixSymbol) else sp.S.Zero


def _tidy(expr):
    if isinstance(expr, sp.Expr) and expr.has(sp.Piecewise) and not expr.is_Matrix:
        return sp.piecewise_fold(expr)
    return expr


def grad(expr: sp.Expr, wrt: "sp.Symbol | sp.MatrixSymbol | list") -> "sp.Expr | list":
    """The gradient of a scalar-valued expression, derived by reverse accumulation.

    ``wrt`` is a Symbol, a MatrixSymbol or a list of them. The result has the
    shape of ``wrt`` (a MatrixExpr for a MatrixSymbol, with symbolic dimensions
    kept symbolic), or is a list aligned with ``wrt``. A parameter that does not
    occur gets a zero gradient. Symbols are treated as real.

    >>> import sympy as sp
    >>> w, x, y = sp.symbols("w x y")
    >>> grad((w*x - y)**2, w)
    2*x*(w*x - y)
    >>> n, k = sp.symbols("n k", integer=True, positive=True)
    >>> W = sp.MatrixSymbol("W", n, k)
    >>> grad(sp.Trace(W.T * W), W)
    2*W
    """
    items, single = check_wrt(wrt)
    lowering = Lowering()
    out = _scalar_loss(lowering, expr)
    leaves = [lowering.leaf(w) for w in items]
    adj = backward(lowering, out, leaves)
    raise_ = Raising(lowering.user)
    results = [_tidy(raise_(a)) if not (a.op is Const and a.value == 0) else _zero_like(w)
               for w, a in zip(items, adj)]
    return results[0] if single else results


def hessian(expr: sp.Expr, wrt: "sp.Symbol | sp.MatrixSymbol | list",
            direction: "sp.Symbol | sp.MatrixSymbol | None" = None) -> "sp.Matrix | sp.Expr":
    """Second derivatives of a scalar expression.

    For scalar Symbols ``wrt = [w1, w2, ...]`` the result is the SymPy Matrix
    of d2 expr / dwi dwj. A MatrixSymbol with numeric dimensions counts as its
    entries, row by row. For one parameter ``wrt`` (a Symbol or a MatrixSymbol,
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
    A*V + A.T*V
    """
    if direction is not None:
        return _hessian_vector(expr, wrt, direction)
    items, _ = check_wrt(wrt)
    back = {}
    if any(isinstance(w, sp.MatrixSymbol) for w in items):
        expr, items, back = _entries(expr, items)
    lowering = Lowering()
    out = _scalar_loss(lowering, expr)
    leaves = [lowering.leaf(w) for w in items]
    first = backward(lowering, out, leaves)
    raise_ = Raising(lowering.user)
    rows = []
    for gi in first:
        row = backward(lowering, gi, leaves) if not gi.is_const else [lowering.graph.const(0)] * len(leaves)
        rows.append([_tidy(raise_(h)).xreplace(back) for h in row])
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
    lowering = Lowering()
    graph = lowering.graph
    out = _scalar_loss(lowering, expr)
    leaf = lowering.leaf(w)
    (g,) = backward(lowering, out, [leaf])
    inner = graph.sum_to(graph.apply(sp.Mul, g, lowering.leaf(v)), ())
    (hv,) = backward(lowering, inner, [leaf])
    if hv.op is Const and hv.value == 0:
        return _zero_like(w)
    return _tidy(Raising(lowering.user)(hv))
