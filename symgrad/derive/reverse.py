"""Reverse accumulation over the expression graph (symbolic backpropagation).

``backward`` walks the graph once from the loss towards the parameters, asking
the rules table for each node's contribution to its arguments and summing the
contributions each node receives. Every node is visited once, so the gradient
costs a small constant times the loss, whatever the number of parameters.

Values computed only inside one branch of a Piecewise may be NaN or infinite
where that branch is not selected. Their contributions are masked with the
branch's condition where they leave the branch (before any sum down to a
broadcast argument's shape), so nothing leaks out; the gradient of a parameter
used only inside a branch leaves it too, as an output.

``grad`` and ``hessian`` are the public faces of this stage.
"""

import sympy as sp

from ..errors import ArgumentError, ShapeMismatch, UnsupportedExpression
from ..graph.ir import Const, Leaf, branch_contexts
from ..graph.index_ir import has_indices
from ..graph.lower import Lowering, as_expression
from ..graph.raising import Raising
from ..ops import CONDITION, UNKNOWN_DERIVATIVE, is_elementwise, lookup

__all__ = ["grad", "backward", "apply_rule", "check_wrt", "scalar_loss", "zero_like", "tidy"]



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


def _mask(graph, contribution, inner, outer, ctx):
    """Zero a contribution wherever the branches it was computed in are not taken. A branch
    whose condition is itself computed inside other branches (``ctx``) is masked inside
    theirs, so its condition is evaluated only where they are taken."""
    def depth(sel):
        return max(len(ctx.get(node_id, ())) for node_id, _ in sel)
    for sel in sorted(inner - outer, key=lambda sel: (-depth(sel), sorted(sel))):
        cond = None
        for node_id, polarity in sorted(sel):
            lit = graph.nodes[node_id]
            lit = lit if polarity else graph.apply(sp.Not, lit)
            cond = lit if cond is None else graph.apply(sp.And, cond, lit)
        contribution = graph.apply(sp.Piecewise, contribution, cond, graph.const(0),
                                   graph.const(sp.true))
    return contribution


def apply_rule(lowering, node, g):
    """Each argument's contribution from ``node``'s registry rule, for adjoint node ``g``."""
    op = lookup(node.op)
    rule = op.rule if op is not None else None
    if rule is None:
        raise UnsupportedExpression("no derivative rule for %s node %r; give its registry entry a "
                                    "rule (symgrad.ops)" % (getattr(node.op, "__name__", node.op), node))
    matrix = op.matrix_rule
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
    return [c if c is None or c is UNKNOWN_DERIVATIVE else lowering.lower_template(c, bindings)
            for c in rule(G, ans, *args)]


def _is_boolean(n):
    op = lookup(n.op)
    return (op is not None and op.kind == CONDITION) or \
        (n.op is Const and n.value in (sp.true, sp.false))


def backward(lowering, out, wrt_nodes):
    """Adjoint nodes of ``out`` with respect to each of ``wrt_nodes`` (reverse mode)."""
    graph = lowering.graph
    targets = {w.id for w in wrt_nodes}
    depends = {}
    for n in graph.nodes[:out.id + 1]:
        depends[n.id] = n.id in targets or any(depends.get(a.id, False) for a in n.args)
    ctx = branch_contexts(graph, [out], fitted=True) \
        if any(n.op is sp.Piecewise for n in graph.nodes) else {}
    unconditional = frozenset()

    def used(a):
        """Where the adjoint of ``a`` is used: everywhere for a parameter (it is an output)."""
        return unconditional if a.id in targets else ctx.get(a.id, unconditional)

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
        inner = ctx.get(n.id, unconditional)
        elementwise = is_elementwise(n.op)
        if inner and not elementwise:
            # a matrix op may sum its adjoint down inside its rule: mask the adjoint first
            kept = [used(a) for a in n.args if depends[a.id]]
            g = _mask(graph, g, inner, frozenset.intersection(*kept), ctx) if kept else g
        for k, (a, c) in enumerate(zip(n.args, apply_rule(lowering, n, g))):
            if c is None or not depends[a.id]:
                continue
            if c is UNKNOWN_DERIVATIVE:
                raise UnsupportedExpression(
                    "symgrad has no derivative of %s with respect to its argument %d, and that "
                    "argument depends on a parameter; keep it a constant or data"
                    % (getattr(n.op, "__name__", n.op), k + 1))
            if elementwise and inner - used(a):
                # masked where it leaves the branch, before it is summed down to a's shape
                c = _mask(graph, c, inner, used(a), ctx)
            adjoints.setdefault(a.id, []).append(graph.to_shape(c, a.shape))
    return [found.get(w.id) or graph.to_shape(graph.const(0), w.shape) for w in wrt_nodes]


def scalar_loss(lowering, expr):
    out = lowering(expr)
    if out.shape not in ((), (1, 1)):
        raise ShapeMismatch("the expression has shape (%s, %s), but a gradient needs a scalar: "
                            "take a Trace, msum(...) or a 1 x 1 product first" % out.shape)
    if _is_boolean(out):
        raise ArgumentError("the expression %s is a condition, not a number; differentiate a "
                            "numeric expression (use Piecewise or Heaviside for a step)"
                            % sp.sstr(expr)[:60])
    return out


def zero_like(w):
    return sp.ZeroMatrix(*w.shape) if isinstance(w, sp.MatrixSymbol) else sp.S.Zero


def tidy(expr):
    if isinstance(expr, sp.Expr) and expr.has(sp.Piecewise) and not expr.is_Matrix \
            and not expr.has(sp.Lambda):       # a fold would pull a Lambda's variable out of it
        return sp.piecewise_fold(expr)
    return expr


def _indexed(expr, wrt):
    items = wrt if isinstance(wrt, (list, tuple)) else [wrt]
    return has_indices(expr) or any(isinstance(w, (sp.Indexed, sp.IndexedBase)) for w in items)


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
    expr = as_expression(expr)
    if _indexed(expr, wrt):
        from .index_reverse import index_grad       # the index-notation route
        return index_grad(expr, wrt)
    items, single = check_wrt(wrt)
    lowering = Lowering()
    out = scalar_loss(lowering, expr)
    leaves = [lowering.leaf(w) for w in items]
    adj = backward(lowering, out, leaves)
    raise_ = Raising(lowering.user)
    results = [tidy(raise_(a)) if not (a.op is Const and a.value == 0) else zero_like(w)
               for w, a in zip(items, adj)]
    return results[0] if single else results
