"""The expression graph every stage works on.

A ``Graph`` holds hash-consed ``Node`` objects: building the same operation on
the same arguments twice returns the same node, so common subexpressions are
shared by construction, across the loss and every gradient. Nodes are appended
in topological order (each node after its arguments).

A node's ``op`` is the key of its derivative rule: a SymPy class (``sp.Add``,
``sp.exp``, ``sp.MatMul``, ...), one of symgrad's node classes, or one of the
shape-plumbing markers below. ``Add``, ``Mul``, ``Max`` and ``Min`` are binary
here (SymPy's n-ary forms are chained), which keeps reverse mode linear in size.

Shapes are ``()`` for scalars and ``(rows, cols)`` of SymPy integers or
dimension symbols for matrices. Elementwise operations broadcast as NumPy does:
a scalar goes with anything, and a dimension of 1 stretches to match.
"""

import sympy as sp

from ..errors import ShapeMismatch
from ..ops import is_elementwise
from ..ops.plumbing import Broadcast, Const, Fill, Leaf, SumTo

__all__ = ["Node", "Graph", "Leaf", "Const", "Broadcast", "SumTo", "Fill", "dims_equal",
           "broadcast_shapes", "branch_contexts", "selection", "ancestors"]


def dims_equal(a, b):
    """Whether two dimensions are the same (numbers, symbols, or sums and products of them)."""
    return a == b or sp.expand(a - b) == 0


def broadcast_shapes(shapes, where=""):
    """The NumPy broadcast of shapes; raise ShapeMismatch when they do not fit."""
    out = ()
    for s in shapes:
        if s == ():
            continue
        if out == ():
            out = s
            continue
        dims = []
        for a, b in zip(out, s):
            if a == b:
                dims.append(a)
            elif a == 1:
                dims.append(b)
            elif b == 1:
                dims.append(a)
            elif dims_equal(a, b):
                dims.append(a)
            else:
                raise ShapeMismatch(
                    "shapes %s and %s do not broadcast%s; make the dimensions agree"
                    % (_fmt(out), _fmt(s), where))
        out = tuple(dims)
    return out


def _fmt(shape):
    return "(%s)" % ", ".join(str(d) for d in shape) if shape else "scalar"


class Node:
    """One operation in a Graph. Compare nodes with ``is``: they are hash-consed."""

    __slots__ = ("op", "args", "shape", "extra", "id")

    def __init__(self, op, args, shape, extra, id):
        self.op, self.args, self.shape, self.extra, self.id = op, args, shape, extra, id

    @property
    def is_const(self):
        return self.op is Const

    @property
    def value(self):
        """The SymPy value of a constant node (None for other nodes)."""
        return self.extra[1] if self.op is Const else None

    def __repr__(self):
        name = getattr(self.op, "__name__", str(self.op))
        if self.op in (Leaf, Const):
            return "%s(%s)" % (name, self.extra)
        return "%s#%d(%s)" % (name, self.id, ", ".join("#%d" % a.id for a in self.args))


class Graph:
    """A store of hash-consed nodes, in topological order."""

    def __init__(self):
        self.nodes = []
        self._table = {}

    # --- construction -----------------------------------------------------------

    def _intern(self, op, args, shape, extra):
        key = (op, tuple(a.id for a in args), extra)
        node = self._table.get(key)
        if node is None:
            node = Node(op, tuple(args), shape, extra, len(self.nodes))
            self.nodes.append(node)
            self._table[key] = node
        return node

    def leaf(self, symbol):
        shape = tuple(sp.sympify(d) for d in symbol.shape) if symbol.is_Matrix else ()
        return self._intern(Leaf, (), shape, symbol)

    def const(self, value):
        value = sp.sympify(value)
        return self._intern(Const, (), (), (type(value).__name__, value))

    def fill(self, kind, shape):
        """OneMatrix and ZeroMatrix become stretched constants; Identity stays a Fill."""
        shape = tuple(shape)
        if kind is sp.ZeroMatrix:
            return self.broadcast(self.const(0), shape)
        if kind is sp.OneMatrix or kind is sp.Identity and shape == (1, 1):
            return self.broadcast(self.const(1), shape)
        return self._intern(Fill, (), shape, (kind, shape))

    def apply(self, op, *args, extra=None, shape=None):
        """Build ``op(*args)``, folding constants and trivial identities."""
        args = list(args)
        if is_elementwise(op):
            stretched = {a.shape for a in args if a.op is Broadcast}
            if len(stretched) == 1 and all(a.op is Broadcast or a.shape == () for a in args):
                # f(stretch(s), t) with scalars s, t is stretch(f(s, t)): keep the stretch outermost
                inner = [a.args[0] if a.op is Broadcast else a for a in args]
                return self.broadcast(self.apply(op, *inner, extra=extra), stretched.pop())
            args = [_drop_broadcast(a, args) for a in args]
            simpler = _simplify_elementwise(self, op, args, extra)
            if simpler is not None:
                return simpler
            if shape is None:
                shape = broadcast_shapes([a.shape for a in args],
                                         " in %s" % getattr(op, "__name__", op))
        elif shape is None:
            raise ValueError("non-elementwise op %s needs an explicit shape" % op)
        return self._intern(op, args, tuple(shape), extra)

    def broadcast(self, x, shape):
        shape = tuple(shape)
        if x.shape == shape or shape == ():
            return x
        if x.op is Broadcast:
            x = x.args[0]
        return self._intern(Broadcast, (x,), shape, shape)

    def sum_to(self, x, shape):
        """Sum ``x`` down to ``shape`` (the adjoint of broadcasting)."""
        shape = tuple(shape)
        if x.shape == shape or x.shape == ():
            return x
        if x.op is sp.Mul and x.args[0].is_const:
            return self.apply(sp.Mul, x.args[0], self.sum_to(x.args[1], shape))
        if x.op is Broadcast and x.args[0].shape == shape:
            # sum of a stretched value: multiply by the number of copies
            count = sp.Mul(*x.shape) / sp.Mul(*shape) if shape else sp.Mul(*x.shape)
            return self.apply(sp.Mul, self.const(count), x.args[0])
        return self._intern(SumTo, (x,), shape, shape)

    def to_shape(self, x, shape):
        """Make ``x`` exactly ``shape``: sum down a larger value, stretch a smaller one."""
        shape = tuple(shape)
        if x.shape == shape:
            return x
        if x.shape == () or (shape and all(a == b or a == 1 for a, b in zip(x.shape, shape))):
            return self.broadcast(x, shape) if shape else x
        return self.sum_to(x, shape)

    def reapply(self, n, args):
        """Node ``n`` rebuilt on new arguments (same op, same shape)."""
        if not n.args or all(a is b for a, b in zip(args, n.args)):
            return n
        if is_elementwise(n.op):
            return self.apply(n.op, *args, extra=n.extra)
        if n.op is Broadcast:
            return self.broadcast(args[0], n.shape)
        if n.op is SumTo:
            return self.sum_to(args[0], n.shape)
        args = [self.to_shape(a, old.shape) for a, old in zip(args, n.args)]
        return self._intern(n.op, args, n.shape, n.extra)

    def rebuild(self, outs, replace):
        """Rebuild the graph under ``outs`` bottom-up; ``replace(node, args)`` may return a
        substitute node (or None to keep the op). Returns the new output nodes."""
        new = {}
        for n in ancestors(outs):
            args = [new[a.id] for a in n.args]
            out = replace(n, args)
            new[n.id] = out if out is not None else self.reapply(n, args)
        return [new[o.id] for o in outs]

    # --- convenience for rules and rewrites --------------------------------------

    def add(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = self.apply(sp.Add, out, x)
        return out

    def mul(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = self.apply(sp.Mul, out, x)
        return out


def selection(piecewise, branch):
    """When branch ``branch`` of a Piecewise node is the one taken, as a set of literals.

    A literal is (condition node, polarity); the branch is taken when its own
    condition holds and every earlier one fails. And/Not are flattened, so two
    Piecewise nodes over the same condition give the same set.
    """
    conds = piecewise.args[1::2]
    lits = set()
    for c in conds[:branch]:
        lits |= _literals(c, False)
    lits |= _literals(conds[branch], True)
    return frozenset(lits)


def _literals(c, polarity):
    if c.op is sp.Not:
        return _literals(c.args[0], not polarity)
    if c.op is sp.And and polarity:
        return _literals(c.args[0], True) | _literals(c.args[1], True)
    if c.op is Const and c.value == sp.true and polarity:
        return set()
    return {(c.id, polarity)}


def branch_contexts(graph, outs, fitted=False):
    """For each node below ``outs``: the Piecewise branches it is computed only inside.

    A context is a frozenset of branch selections (see ``selection``): the node
    is needed only where all of them are taken. The empty set means the node is
    needed unconditionally. A node used in several places keeps the selections
    common to every use, whatever order the branches nest in.

    ``fitted``: a node keeps only the selections whose conditions broadcast to its
    own shape. A scalar used inside a branch chosen entry by entry over a matrix is
    needed wherever any entry takes the branch, so no mask can be applied to it; reverse
    mode masks such contributions before they are summed down to the scalar.
    """
    ctx = {out.id: frozenset() for out in outs}
    for n in reversed(graph.nodes[:max(out.id for out in outs) + 1]):
        here = ctx.get(n.id)
        if here is None:
            continue
        for i, a in enumerate(n.args):
            use = here
            if n.op is sp.Piecewise and i % 2 == 0:
                sel = selection(n, i // 2)
                use = here | {sel} if sel else here
            if fitted and use:
                use = frozenset(s for s in use if _fits(graph, s, a.shape))
            old = ctx.get(a.id)
            ctx[a.id] = use if old is None else old & use
    return ctx


def _fits(graph, sel, shape):
    """Whether every condition of selection ``sel`` broadcasts to ``shape``."""
    for node_id, _ in sel:
        cond = graph.nodes[node_id].shape
        if cond != shape and cond != () and (
                shape == () or any(c != 1 and not dims_equal(c, s) for c, s in zip(cond, shape))):
            return False
    return True


def ancestors(outs):
    """The nodes ``outs`` depend on (themselves included), sorted by id."""
    seen, stack = {}, list(outs)
    while stack:
        n = stack.pop()
        if n.id not in seen:
            seen[n.id] = n
            stack.extend(n.args)
    return [seen[i] for i in sorted(seen)]


def _drop_broadcast(a, args):
    """Inside an elementwise op, a Broadcast is implicit when another argument has its shape."""
    if a.op is Broadcast and any(b is not a and b.shape == a.shape for b in args):
        return a.args[0]
    return a


def _is_minus_one(n):
    return n.is_const and n.value == -1


def _is_negation(n):
    return n.op is sp.Mul and _is_minus_one(n.args[0])


def _is_zero(n):
    return n.is_const and n.value == 0


def _is_one(n):
    return n.is_const and n.value == 1


def _simplify_elementwise(g, op, args, extra):
    """Constant folding and the identities x+0, x*1, x*0, x**1, x**0, -(-x)."""
    if all(a.is_const for a in args) and op is not sp.Piecewise:
        try:
            value = op(*[a.value for a in args])
        except (TypeError, ValueError, ZeroDivisionError):
            value = None
        if value is not None and (value.is_number or value in (sp.true, sp.false)):
            if value.has(sp.zoo, sp.nan):
                return None
            return g.const(value)
    if op is sp.Add:
        a, b = args
        if _is_zero(a) and broadcast_shapes([a.shape, b.shape]) == b.shape:
            return b
        if _is_zero(b) and broadcast_shapes([a.shape, b.shape]) == a.shape:
            return a
        if _is_negation(a) and not _is_negation(b):
            return g.apply(sp.Add, b, a)            # -a + b reads better as b - a
        for x, c in ((a, b), (b, a)):
            if c.is_const and x.op is sp.Add and x.shape == () and sum(t.is_const for t in x.args) == 1:
                # (u + c1) + c2 -> u + (c1 + c2), exactly: log 2 - log 2 must not cancel in floats
                k, u = (x.args[0], x.args[1]) if x.args[0].is_const else (x.args[1], x.args[0])
                return g.apply(sp.Add, u, g.const(k.value + c.value))
    elif op is sp.Mul:
        a, b = args
        if _is_one(a) and broadcast_shapes([a.shape, b.shape]) == b.shape:
            return b
        if _is_one(b) and broadcast_shapes([a.shape, b.shape]) == a.shape:
            return a
        if _is_zero(a) or _is_zero(b):
            return g.const(0)
        if b.is_const and not a.is_const:
            return g.apply(sp.Mul, b, a)             # coefficients first
        if _is_minus_one(a) and _is_negation(b):
            return b.args[1]                         # -(-x) -> x
        for x, y in ((a, b), (b, a)):
            if _is_negation(x) and not x is y and not a.is_const:
                # (-x)*y -> -(x*y): signs gather at the front, exactly
                return g.apply(sp.Mul, g.const(-1), g.apply(sp.Mul, *((x.args[1], y) if x is a
                                                                        else (y, x.args[1]))))
        if a.is_const and b.op is sp.Mul and b.args[0].is_const:
            # fold numeric coefficients: c1 * (c2 * x) -> (c1*c2) * x
            return g.apply(sp.Mul, g.const(a.value * b.args[0].value), b.args[1])
    elif op is sp.Pow:
        base, exponent = args
        if _is_one(exponent):
            return base
        if _is_zero(exponent):
            return g.const(1)
    return None
