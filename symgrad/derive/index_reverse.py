"""Reverse accumulation over the index graph, and ``grad`` for losses written with indices.

The same registry rules as the matrix graph, applied to whole index expressions: an
elementwise node's contribution to an argument is summed over the indices the argument
does not carry (the adjoint of broadcasting by name); a sum's adjoint is spread back
over the summed indices. No sum is ever expanded into scalars, so the result stays
symbolic in n, d, ... and no KroneckerDelta appears.

The adjoint of a parameter read as ``w[j]`` is an expression in the free index ``j``;
``grad(L, w[k])`` renames it to the indices asked for.
"""

from __future__ import annotations

import sympy as sp

from ..errors import ArgumentError, UnsupportedExpression
from ..graph.index_ir import Access, Delta, Position, Reduce, Spread
from ..graph.index_lower import IndexLowering
from ..graph.index_lse import LSE
from ..graph.index_reach import at_least, furthest
from ..ops import CONDITION, UNKNOWN_DERIVATIVE, lookup
from ..ops.plumbing import Const

__all__ = ["index_backward", "index_grad", "raise_index", "param_base"]


def param_base(w):
    """The IndexedBase or Symbol a ``wrt`` item names (w, w[j] or b)."""
    if isinstance(w, sp.Indexed):
        return w.base
    if isinstance(w, (sp.IndexedBase, sp.Symbol)):
        return w
    raise ArgumentError("wrt must be an IndexedBase, an Indexed like w[j], or a Symbol; got %r" % (w,))


def _key(base):
    return base.label if isinstance(base, sp.IndexedBase) else base


def index_backward(lowering, out, bases):
    """{param key: [(access node, adjoint node)]}: the adjoint of every read of each parameter."""
    g = lowering.graph
    wanted = {_key(b) for b in bases}
    depends = {}
    for n in g.nodes[:out.id + 1]:
        depends[n.id] = (n.op is Access and _key(n.extra[0]) in wanted) or \
            any(depends.get(a.id, False) for a in n.args)
    keep = set(out.idx)        # free indices of the output (a gradient being differentiated again)
    adjoints = {out.id: [g.spread(g.const(1), out.idx)]}
    found = {k: [] for k in wanted}
    for n in reversed(g.nodes[:out.id + 1]):
        parts = adjoints.pop(n.id, None)
        if parts is None or not depends[n.id]:
            continue
        adj = g.combine(parts)
        if n.op is Access:
            found[_key(n.extra[0])].append((n, adj))
            continue
        for a, c in zip(n.args, _contributions(lowering, n, adj)):
            if c is None or not depends[a.id]:
                continue
            if c is UNKNOWN_DERIVATIVE:
                raise UnsupportedExpression("symgrad has no derivative of %s with respect to an "
                                            "argument that depends on a parameter"
                                            % getattr(n.op, "__name__", n.op))
            target = set(a.idx) | (set(c.idx) & keep)
            c = g.reduce(c, set(c.idx) - target)
            if set(c.idx) != target:
                c = g.spread(c, target)
            adjoints.setdefault(a.id, []).append(c)
    return found


def _contributions(lowering, n, adj):
    g = lowering.graph
    if n.op is Reduce:
        return [g.spread(adj, set(n.args[0].idx) | set(adj.idx))]
    if n.op is LSE:                                  # d/du log Σ exp(u) = exp(u - LSE)
        u = n.args[0]
        shifted = _either_order(g, sp.Add, u, _either_order(g, sp.Mul, g.const(-1), n))
        return [g.apply(sp.Mul, adj, g.apply(sp.exp, shifted))]
    if n.op is Spread:
        return [adj]
    if n.op in (Delta, Const, Position):
        return []
    op = lookup(n.op)
    if op is None or op.rule is None:
        raise UnsupportedExpression("no derivative rule for %s in an index expression"
                                    % getattr(n.op, "__name__", n.op))
    if op.kind == CONDITION:
        return [None] * len(n.args)
    bindings = {}

    def placeholder(node, name):
        if node.is_const:
            return node.value
        p = sp.Dummy(name, real=True)
        bindings[p] = node
        return p

    G, ans = placeholder(adj, "g"), placeholder(n, "ans")
    args = [placeholder(a, "x") for a in n.args]
    return [c if c is None or c is UNKNOWN_DERIVATIVE else lowering.template(c, bindings)
            for c in op.rule(G, ans, *args)]


def _either_order(g, op, a, b):
    """op(a, b), or the node op(b, a) if the forward pass built that one (the softmax
    exp(u - LSE) of the loss is then the one its derivative uses)."""
    found = g._table.get((op, (b.id, a.id), g.order(set(a.idx) | set(b.idx)), None))
    return found if found is not None else g.apply(op, a, b)


# --- back to SymPy -------------------------------------------------------------------------

def raise_index(graph, node, memo=None):
    """A TGraph node as a SymPy expression (Sums for reductions, free indices left free)."""
    memo = {} if memo is None else memo
    out = memo.get(node.id)
    if out is not None:
        return out
    args = [raise_index(graph, a, memo) for a in node.args]
    op = node.op
    if op is Const:
        out = node.value
    elif op is Access:
        base, indices = node.extra
        out = base[indices] if indices else base
    elif op is Reduce:
        out = sp.Sum(args[0], *[(i, *graph.ranges[i]) for i in node.extra])
    elif op is LSE:
        out = sp.log(sp.Sum(sp.exp(args[0]), *[(i, *graph.ranges[i]) for i in node.extra]))
    elif op is Spread:
        out = args[0]
    elif op is Delta:
        out = sp.KroneckerDelta(*node.extra)
    elif op is Position:
        out = node.extra
    elif op is sp.Piecewise:
        out = sp.Piecewise(*zip(args[0::2], args[1::2]))
    else:
        shown = lookup(op).shown
        out = shown(*args) if shown is not None else op(*args)
    memo[node.id] = out
    return out


def _target(w, reads, rank, taken):
    """The indices a gradient is written in: those of w[j]; for w, those it is read at
    (when every read uses plain index symbols), else fresh ones."""
    if isinstance(w, sp.Indexed):
        return tuple(w.indices)
    patterns = {node.extra[1] for node, _ in reads}
    if len(patterns) == 1:
        (pattern,) = patterns
        if all(isinstance(p, sp.Symbol) for p in pattern) and len(set(pattern)) == len(pattern):
            return pattern
    names = ["j", "k", "l", "m", "p", "q"]
    out = []
    for k in range(rank):
        name = names[k % len(names)] + ("" if k < len(names) else str(k))
        while sp.Symbol(name, integer=True) in taken or name in {str(s) for s in taken}:
            name += "_"
        out.append(sp.Symbol(name, integer=True))
    return tuple(out)


def _rename(term, pattern, target, free=(), graph=None, last=None):
    """The adjoint of a read w[pattern] written at w[target]: i -> t - c for a read at i + c
    (i is summed over, so only i = t - c contributes, and only when lo + c <= t <= hi + c:
    that range condition is kept unless the read spans the whole axis, from 0 to ``last``,
    the axis's last position); an index that stays free (the row of a Hessian) gives
    KroneckerDelta(i + c, t) instead."""
    subs, deltas, first, inside = {}, sp.S.One, {}, []
    for axis, (p, t) in enumerate(zip(pattern, target)):
        if p.free_symbols & set(free):
            deltas *= sp.KroneckerDelta(p, t)
            continue
        if p in first:                      # a diagonal read W[i, i]: only entries with j = k
            deltas *= sp.KroneckerDelta(first[p], t)
            continue
        if isinstance(p, sp.Symbol):
            first[p] = t
        symbols = sorted(p.free_symbols, key=str)
        if len(symbols) != 1:
            raise UnsupportedExpression("a parameter read at %s (more than one index in one axis); "
                                        "symgrad differentiates parameters read at i or i + c" % (p,))
        s = symbols[0]
        subs[s] = t - (p - s)
        if graph is not None:
            inside += _within(graph, p, s, t, (last or {}).get(axis))
    out = term.xreplace(subs) * deltas
    condition = sp.And(*inside)
    if condition is sp.true or out == 0:
        return out
    return sp.Piecewise((out, condition), (0, True))


def _within(graph, p, s, t, last):
    """The conditions lo + c <= t <= hi + c of a read at p = s + c (s in lo..hi), leaving
    out a bound that is the axis's own end (0, or ``last``)."""
    lo, hi = graph.ranges[s]
    first, end = sp.expand(lo + p - s), sp.expand(hi + p - s)
    out = []
    if not (first.is_Integer and first <= 0):      # a read before 0 is under a guard
        out.append(sp.Le(first, t))
    if last is None or not at_least(end, last):     # t never passes the axis's last position
        out.append(sp.Le(t, end))
    return out


def _settle(expr, target, last):
    """Conditions on the gradient's own indices that hold at every entry of the array
    (j >= 0, j <= its last position) replaced by True, so Piecewise((1, j >= 0), (0, True))
    reads 1."""
    axes = {t: a for a, t in enumerate(target) if isinstance(t, sp.Symbol)}
    table = {}
    for c in expr.atoms(sp.Ge, sp.Gt, sp.Le, sp.Lt):
        lhs, rhs, kind = c.lhs, c.rhs, type(c)
        if lhs not in axes:
            lhs, rhs = rhs, lhs
            kind = {sp.Ge: sp.Le, sp.Gt: sp.Lt, sp.Le: sp.Ge, sp.Lt: sp.Gt}[kind]
        if lhs not in axes or rhs.free_symbols & set(axes):
            continue
        end = last.get(axes[lhs])
        holds = at_least(0, rhs) if kind is sp.Ge else at_least(-1, rhs) if kind is sp.Gt else \
            end is not None and at_least(rhs - (1 if kind is sp.Lt else 0), end)
        if holds:
            table[c] = sp.true
    return expr.xreplace(table) if table else expr


def _fresh_bound(expr, free):
    """Rename a summation index that has the name of a free index (Σ_j ... next to a free j
    is correct but hard to read): the bound one becomes j2, j3, ..."""
    def rename(e):
        clash = [lim[0] for lim in e.limits if lim[0] in free]
        if not clash:
            return e
        names = {str(s) for s in e.free_symbols | free}
        subs = {}
        for s in clash:
            k = 2
            while "%s%d" % (s.name, k) in names:
                k += 1
            subs[s] = sp.Symbol("%s%d" % (s.name, k), **s.assumptions0)
            names.add(subs[s].name)
        limits = [(subs.get(lim[0], lim[0]), *lim[1:]) for lim in e.limits]
        return sp.Sum(e.function.xreplace(subs), *limits)
    return expr.replace(lambda e: isinstance(e, sp.Sum), rename)


def index_grad(expr, wrt, free=(), targets=False, extent=None):
    """d expr / d wrt for a loss written with indices (see ``symgrad.grad``). ``free`` lists
    indices the expression may keep free (a gradient differentiated again); with
    ``targets`` each result is a pair (w[j], gradient): the entry it is the derivative by.
    ``extent`` ({param key: {axis: last position}}) gives the arrays' lengths when the
    expression does not show them all (a gradient differentiated again)."""
    single = not isinstance(wrt, (list, tuple))
    items = [wrt] if single else list(wrt)
    bases = [param_base(w) for w in items]
    lowering = IndexLowering()
    out = lowering(expr)
    if set(out.idx) - set(free):
        raise ArgumentError("the loss has free indices %s; sum over them so it is a scalar"
                            % ", ".join(map(str, out.idx)))
    found = index_backward(lowering, out, bases)
    taken = set(sp.sympify(expr).free_symbols) | set(lowering.graph.ranges)
    results = []
    for w, base in zip(items, bases):
        reads = found[_key(base)]
        rank = len(reads[0][0].extra[1]) if reads else (len(w.indices) if isinstance(w, sp.Indexed) else 0)
        if isinstance(w, sp.Indexed) and reads and len(w.indices) != rank:
            raise ArgumentError("%s is read with %d ind%s in the expression but wrt gives %d (%s)"
                                % (base, rank, "ex" if rank == 1 else "ices", len(w.indices), w))
        target = _target(w, reads, rank, taken)
        last = extent[_key(base)] if extent and _key(base) in extent else \
            furthest(lowering.graph, lowering.graph.nodes, base)
        total = sp.S.Zero
        memo = {}
        for node, adj in reads:
            pattern = node.extra[1]
            names = {q for e in pattern for q in sp.sympify(e).free_symbols}
            clash = names | {q for t in target for q in sp.sympify(t).free_symbols} | set(free)
            term = _fresh_bound(raise_index(lowering.graph, adj, memo), clash)
            total += _rename(term, pattern, target, free, lowering.graph, last)
        result = _settle(_fresh_bound(total, set(target) | set(free)), target, last)
        at = base[target] if isinstance(base, sp.IndexedBase) and target else base
        results.append((at, result) if targets else result)
    return results[0] if single else results


def index_hessian(expr, wrt):
    """Second derivatives of a loss written with indices: d2 L / d w[j] d v[k] as expressions
    in free indices (an IndexedBase parameter) or plain ones (a Symbol). One parameter gives
    one expression; several give a Matrix of them, row i for wrt[i]."""
    single = not isinstance(wrt, (list, tuple))
    items = [wrt] if single else list(wrt)
    used = {s.name for s in sp.sympify(expr).atoms(sp.Symbol)}

    def fresh(w, start):
        base = param_base(w)
        rank = len(w.indices) if isinstance(w, sp.Indexed) else _rank_in(expr, base)
        names = []
        for k in range(rank):
            name = "jklmpqrs"[(start + k) % 8]
            while name in used:
                name += "2"
            used.add(name)
            names.append(sp.Symbol(name, integer=True))
        return base[tuple(names)] if rank else base

    lowering = IndexLowering()
    lowering(expr)
    g = lowering.graph
    extent = {_key(param_base(w)): furthest(g, g.nodes, param_base(w)) for w in items}
    rows_at = [w if isinstance(w, sp.Indexed) else fresh(w, 0) for w in items]
    cols_at = [fresh(w, 1) for w in items]
    rows = []
    for ta in rows_at:
        first = index_grad(expr, ta)
        free = tuple(ta.indices) if isinstance(ta, sp.Indexed) else ()
        rows.append([index_grad(first, tb, free=free, extent=extent) for tb in cols_at])
    return rows[0][0] if single else sp.Matrix(rows)


def _rank_in(expr, base):
    for a in sp.sympify(expr).atoms(sp.Indexed):
        if a.base == base:
            return len(a.indices)
    return 0
