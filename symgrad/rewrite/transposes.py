"""One node for a matrix and its transpose: the speed pass ``one_node_per_transpose_pair``.

Reverse mode and SymPy write the same value in both layouts: the residual r = X w - y of a
loss Trace(r.T*r) comes back as w.T*X.T - y.T, a layer's forward pass as its transpose in
the gradient. Hash-consing cannot see that two such nodes are transposes of each other, so
the code would compute both. This pass gives every matrix value one canonical node: a
transpose is pulled up through elementwise operations, broadcasts, sums, products
((A B)^T = B^T A^T) and inverses until it reaches the top, where it is free (NumPy's ``.T``
is a view). Each node becomes (base, flipped), the value being ``base`` or ``base.T``; of
the two ways to build a node from its arguments' canonical forms, the one with fewer
explicit transposes is taken, and a tie is broken by the arguments alone, so every route
to a value ends at the same node.
"""

import sympy as sp

from ..graph.ir import Broadcast, Const, Fill, Leaf, SumTo
from ..ops import is_elementwise
from ..ops.nodes import LogDet
from .database import register_pass

__all__ = ["Canonical"]

FREE = None          # orientation of a node equal to its own transpose (scalars, 1 x 1, I)


@register_pass
def one_node_per_transpose_pair(graph, outs):
    """f(A)^T, (A B)^T, inv(A)^T -> f(A^T), B^T A^T, inv(A^T) whichever way round needs fewer
    transposes: a matrix and its transpose, written separately by reverse mode (a forward
    pass recomputed in the gradient's layout), become one node and a free ``.T``."""
    canon = Canonical(graph)
    return graph.rebuild(outs, canon)


class Canonical:
    """The rebuild function of the pass: node, new args -> canonical node (base or base.T)."""

    def __init__(self, graph):
        self.g = graph
        self.info = {}            # canonical node id -> (base node, flipped or FREE)

    def __call__(self, n, args):
        base, flip = self.orient(n, args)
        return self.rep(base, flip)

    # --- (base, flip) of one node ------------------------------------------------------

    def orient(self, n, args):
        op = n.op
        if op in (Leaf, Const, Fill) or n.shape in ((), (1, 1)):
            if op in (Leaf, Const, Fill):
                return self.settle(n, False)
            if op in (sp.Trace, sp.Determinant, LogDet) and args[0].shape != (1, 1):
                return self.settle(self.g.reapply(n, [self.base(args[0])]), FREE)
        if op is sp.Transpose:
            b, f = self.of(args[0])
            return b, (f if f is FREE else not f)
        if op is sp.MatMul:
            return self.product(n, args)
        args = self.scalars_first(n, args)
        if op is sp.Add and n.shape != () and args[0] is args[1]:
            twice = self.g.apply(sp.Mul, self.g.const(2), args[0])      # X + X -> 2*X
            return self.orient(twice, twice.args)
        if op is sp.Add and n.shape != ():
            common = self.common_scale(args)
            if common is not None:
                return common
        if is_elementwise(op) or op in (Broadcast, SumTo, sp.Inverse):
            return self.commuting(n, args)
        return self.settle(self.g.reapply(n, args), False)

    def scalars_first(self, n, args):
        """sum(c * X) -> c * sum(X) and X * c -> c * X for a scalar c: one form for a scaled
        value, wherever the scale was written."""
        g = self.g
        if n.op is sp.Mul and args[1].shape == () and args[0].shape != ():
            args = [args[1], args[0]]
        if n.op is sp.Mul and args[0].shape == () and args[1].op is sp.Mul \
                and args[1].args[0].shape == () and args[1].args[1].shape != ():
            c, x = args[1].args            # s*(c*X) -> (s*c)*X: scalars multiply as scalars
            return [g.apply(sp.Mul, args[0], c), x]
        if n.op is sp.Mul:
            return args
        if n.op is SumTo and args[0].op is sp.Mul and args[0].args[0].shape == () \
                and args[0].args[1].shape != ():
            c, x = args[0].args
            return [g.apply(sp.Mul, c, g.sum_to(x, n.shape))]
        return args

    def common_scale(self, args):
        """c*A + c*B -> c*(A + B) (and c*A - c*B): one pass over the matrix fewer."""
        g = self.g
        (ca, a, sa), (cb, b, sb) = _scaled(args[0]), _scaled(args[1])
        if ca is None or ca is not cb:
            return None
        if sb != sa:
            b = g.apply(sp.Mul, g.const(-1), b)
        inner = g.apply(sp.Add, a, b)
        inner = self.rep(*self.orient(inner, inner.args))
        if sa < 0:
            inner = g.apply(sp.Mul, g.const(-1), inner)
        out = g.apply(sp.Mul, ca, inner)
        return self.orient(out, out.args)

    def commuting(self, n, args):
        """An op that commutes with transposition: built as is, or on the transposed
        arguments and flipped."""
        forms = [(0, args, False), (0, [self.rep(*self.flipped(a)) for a in args], True)]
        cost = [sum(self.needs_t(a) for a in forms[k][1]) for k in (0, 1)]
        if cost[0] == cost[1]:
            first = next((self.of(a)[1] for a in args if self.of(a)[1] is not FREE), False)
            pick = 1 if first else 0
        else:
            pick = 0 if cost[0] < cost[1] else 1
        _, new_args, flip = forms[pick]
        node = self.build(n, new_args, flip)
        if n.shape in ((), (1, 1)) or all(self.of(a)[1] is FREE for a in args) \
                and n.shape[0] == n.shape[1]:
            flip = FREE                 # a function of symmetric matrices is symmetric
        return self.settle(node, flip)

    def product(self, n, args):
        a, b = args
        straight = (a, b)
        turned = (self.rep(*self.flipped(b)), self.rep(*self.flipped(a)))
        cost = [sum(self.needs_t(x) for x in pair) for pair in (straight, turned)]
        if cost[0] == cost[1]:
            key = [tuple(self.base(x).id for x in pair) for pair in (straight, turned)]
            pick = 0 if key[0] <= key[1] else 1
        else:
            pick = 0 if cost[0] < cost[1] else 1
        pair = (straight, turned)[pick]
        shape = (pair[0].shape[0], pair[1].shape[1])
        node = self.g.apply(sp.MatMul, *pair, shape=shape)
        if n.shape == (1, 1) or straight[0] is turned[0] and straight[1] is turned[1]:
            return self.settle(node, FREE)     # A^T A is symmetric
        return self.settle(node, bool(pick))

    def build(self, n, args, flip):
        g = self.g
        shape = n.shape[::-1] if flip else n.shape
        if n.op is Broadcast:
            return g.broadcast(args[0], shape)
        if n.op is SumTo:
            return g.sum_to(args[0], shape)
        if n.op is sp.Inverse:
            return g.apply(sp.Inverse, args[0], shape=shape)
        return g.apply(n.op, *args, extra=n.extra)

    # --- helpers ----------------------------------------------------------------------

    def settle(self, node, flip):
        """Record (base, flip) for a built node; a node met before keeps what it had."""
        known = self.info.get(node.id)
        if known is not None:
            b, f = known
            if flip is FREE or f is FREE:
                return b, FREE if f is FREE else f
            return b, f != flip
        if node.op is sp.Transpose and node.shape != (1, 1):
            b, f = self.of(node.args[0])
            out = (b, FREE if f is FREE else (not f) != flip)
        else:
            out = (node, FREE if node.shape in ((), (1, 1)) or _symmetric(node) else flip)
        return out

    def of(self, x):
        """(base, flip) of a canonical node ``x``: ``x`` is ``base`` or ``base.T``."""
        known = self.info.get(x.id)
        if known is not None:
            return known
        if x.op is sp.Transpose and x.shape != (1, 1):
            b, f = self.of(x.args[0])
            return b, (FREE if f is FREE else not f)
        return x, FREE if x.shape in ((), (1, 1)) or _symmetric(x) else False

    def base(self, x):
        return self.of(x)[0]

    def flipped(self, x):
        b, f = self.of(x)
        return b, (FREE if f is FREE else not f) if not _free_broadcast(b) else "turn"

    def needs_t(self, x):
        """Whether ``x`` is written with an explicit transpose."""
        return x.op is sp.Transpose and x.shape != (1, 1)

    def rep(self, base, flip):
        """The node for ``base`` (flip False or FREE) or ``base.T`` (flip True)."""
        if flip == "turn":
            out = self.g.broadcast(base.args[0], base.shape[::-1])
            self.info.setdefault(out.id, (out, FREE))
            return out
        free = flip is FREE or base.shape in ((), (1, 1)) or _symmetric(base)
        self.info.setdefault(base.id, (base, FREE if free else False))
        if flip is True and not free:
            out = self.g.apply(sp.Transpose, base, shape=base.shape[::-1])
            self.info.setdefault(out.id, (base, True))
            return out
        return base


def _scaled(x):
    """(c, M, sign) for x = c*M or -(c*M) with a scalar c and a matrix M, else (None,) * 3."""
    sign = 1
    if x.op is sp.Mul and x.args[0].is_const and x.args[0].value == -1 and x.args[1].op is sp.Mul:
        sign, x = -1, x.args[1]
    if x.op is sp.Mul and x.args[0].shape == () and not x.args[0].is_const and x.args[1].shape != ():
        return x.args[0], x.args[1], sign
    return None, None, None


def _symmetric(x):
    """Equal to its own transpose by construction: the identity, a square broadcast scalar."""
    if x.op is Fill and x.extra[0] is sp.Identity:
        return True
    return x.op is Broadcast and x.args[0].shape == () and x.shape[0] == x.shape[1]


def _free_broadcast(x):
    """A scalar stretched to a non-square shape: its transpose is the scalar stretched the
    other way, no transpose needed."""
    return x.op is Broadcast and x.args[0].shape == () and x.shape[0] != x.shape[1]
