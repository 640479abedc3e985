"""Matrix chains in their cheapest order, traces of chains split where they are cheap, and
solves for inverses: the speed pass ``matrix_chains_by_cost``.

A product A B C ... is written by SymPy and by reverse mode left to right, but its cost
depends on the order: X (W W^T) costs n d^2 where (X W) W^T costs 2 n d k, and a chain
that ends in a vector should be multiplied from that end. The chain (every product node
used once, scalar factors and transposes of such products included) is ordered by
dynamic programming over the shapes. Symbolic dimensions are unknown until the call, so
the cost of an order is its mean over a fixed sample of sizes (each dimension symbol drawn
log-uniformly from 2 to 4096): an order that squares a dimension loses to one that does
not, vectors are multiplied first, and the result is deterministic. A product that the
code computes anyway (it has other uses) costs nothing.

Trace(A B ... Z) is the sum of (A...M) * (N...Z)^T entry by entry for any split and any
rotation of the chain; the cheapest is taken (Trace(D L L^T D^T) is sum((D L)^2)).

inv(A) B becomes solve(A, B) (and B inv(A) = solve(A^T, B^T)^T) where the inverse is not
needed by itself elsewhere: a solve is as cheap as a product with the inverse and does not
compute the inverse first.
"""

import numpy as np
import sympy as sp

from ..graph.ir import Broadcast, Fill, SumTo, ancestors
from .database import register_pass
from .linalg_nodes import Solve
from .traces import LONG, Traces

__all__ = ["Chains"]

SAMPLES, SMALLEST, LARGEST = 64, 2, 4096


@register_pass
def matrix_chains_by_cost(graph, outs):
    """A B C ... -> its cheapest parenthesization; Trace(chain) -> sum(left * right^T) at the
    cheapest split and rotation; inv(A) B -> solve(A, B): products written left to right
    (matrix-matrix where matrix-vector would do) and explicit inverses cost orders of
    magnitude on models such as ridge regression's validation loss by lambda."""
    explicit = set()
    for _ in range(3):
        chains = Chains(graph, outs, explicit)
        new = chains.rebuild()
        kept = {n.args[0].id for n in ancestors(new) if n.op is sp.Inverse}
        clash = kept & chains.solved
        if not clash:
            break
        explicit |= clash
    return new


class Chains(Traces):
    """One rebuild of the graph under ``outs`` with chains reordered (see the module doc)."""

    def __init__(self, graph, outs, explicit=()):
        self.g, self.outs, self.explicit = graph, outs, set(explicit)
        self.nodes = ancestors(outs)
        self.uses = {}
        for n in self.nodes:
            for a in n.args:
                self.uses[a.id] = self.uses.get(a.id, 0) + 1
        for o in outs:
            self.uses[o.id] = self.uses.get(o.id, 0) + 2
        self.needed = {n.id for n in self.nodes}
        self.new = {}
        self.solved = set()          # ids of matrices A whose inverse became a solve
        self.sizes = _Sizes()
        self.flat = set()            # products used more than once, multiplied out in each use
        self.choose_flat()

    def choose_flat(self):
        """Multiply a product used by several chains out in each of them when that is cheaper
        than computing it once (X^T R used as (X^T R) W and W^T (X^T R): X^T (R W) and
        (W^T X^T) R cost 2 n d k each, X^T R costs n d^2)."""
        users = {}
        for n in self.nodes:
            for a in n.args:
                users.setdefault(a.id, []).append(n)
        for n in self.nodes:
            if n.op is not sp.MatMul or self.uses[n.id] < 2 or n.id in {o.id for o in self.outs}:
                continue
            parents = users.get(n.id, [])
            if not parents or any(u.op is not sp.MatMul for u in parents):
                continue
            shared = self.cost(self.factors(n)[1]) + sum(self.cost(self.factors(u)[1]) for u in parents)
            self.flat.add(n.id)
            apart = sum(self.cost(self.factors(u)[1]) for u in parents)
            if apart >= shared:
                self.flat.discard(n.id)

    def cost(self, fs):
        """The mean cost of the cheapest order of factors ``fs`` ((node, transposed) pairs)."""
        shapes = [x.shape[::-1] if f else x.shape for x, f in fs]
        dims = [self.sizes.of(shapes[0][0])] + [self.sizes.of(sh[1]) for sh in shapes]
        return _dynamic_program(dims)[1][0][len(fs) - 1]

    def rebuild(self):
        g, new = self.g, self.new
        for n in self.nodes:
            if n.op is sp.MatMul:
                new[n.id] = self.chain(n)
            elif n.op is sp.Trace and n.args[0].op is sp.MatMul and self.uses[n.args[0].id] == 1:
                new[n.id] = self.trace(n.args[0])
            elif n.op is SumTo and n.shape != () and self.chained(n.args[0]):
                new[n.id] = self.chain(n)
            elif _trace_by_identity(n) is not None:
                x = _trace_by_identity(n)
                new[n.id] = self.trace(x) if x.op is sp.MatMul and self.uses[x.id] == 1 else \
                    g.apply(sp.Trace, new[x.id], shape=())
            else:
                new[n.id] = g.reapply(n, [new[a.id] for a in n.args])
        return [new[o.id] for o in self.outs]

    # --- flattening ---------------------------------------------------------------------

    def chained(self, x):
        """Whether a product node is part of the chain of its user."""
        return x.op is sp.MatMul and (self.uses[x.id] == 1 or x.id in self.flat)

    def ones(self, rows, cols):
        """A stretched 1 as a chain factor: sums along an axis and broadcasts of vectors are
        products with it, so rowsum(X W) and X rowsum(W) are one chain."""
        out = self.g.broadcast(self.g.const(1), (rows, cols))
        self.new[out.id] = out
        return out

    def factors(self, n, flip=False):
        """(scalar coefficients, matrix factors, member ids) of the chain rooted at ``n``
        (of n^T with ``flip``)."""
        if n.op is SumTo:
            coef, out, members = self.factors(n.args[0])
            rows, cols = n.args[0].shape
            out = out + [(self.ones(cols, 1), False)] if n.shape[1] == 1 else \
                [(self.ones(1, rows), False)] + out
            if flip:                                   # (A B)^T = B^T A^T
                out = [(x, not f) for x, f in reversed(out)]
            return coef, out, members | {n.id}
        coef, out, members = [], [], {n.id}

        def walk(x, flip):
            if x.op is sp.MatMul and (x is n or self.uses[x.id] == 1 or x.id in self.flat):
                members.add(x.id)
                a, b = x.args
                for y in ((b, a) if flip else (a, b)):
                    walk(y, flip)
            elif x.op is sp.Transpose and (
                    x.args[0].op is sp.MatMul and (self.uses[x.args[0].id] == 1 == self.uses[x.id]
                                                   or x.args[0].id in self.flat)
                    or x.args[0].op is sp.Mul and any(a.shape == () for a in x.args[0].args)):
                members.add(x.id)
                walk(x.args[0], not flip)
            elif x.op is sp.Mul and any(a.shape == () for a in x.args) \
                    and any(a.shape != () for a in x.args):
                members.add(x.id)
                c, m = x.args if x.args[0].shape == () else x.args[::-1]
                coef.append(c)
                walk(m, flip)
            elif x.op is SumTo and x.shape != () and 1 in x.shape and 1 not in x.args[0].shape:
                members.add(x.id)
                rows, cols = x.args[0].shape
                row = x.shape[1] == 1
                ones = self.ones(cols, 1) if row else self.ones(1, rows)
                if row != flip:
                    walk(x.args[0], flip)
                    out.append((ones, flip))
                else:
                    out.append((ones, flip))
                    walk(x.args[0], flip)
            elif x.op is Broadcast and x.args[0].shape not in ((), (1, 1)) \
                    and x.shape[0] != x.shape[1] and 1 in x.args[0].shape:
                members.add(x.id)
                v, (rows, cols) = x.args[0], x.shape
                column = v.shape[1] == 1
                ones = self.ones(1, cols) if column else self.ones(rows, 1)
                if column != flip:          # v 1^T, or (1 v)^T = v^T 1^T
                    walk(v, flip)
                    out.append((ones, flip))
                else:
                    out.append((ones, flip))
                    walk(v, flip)
            else:
                out.append((x, flip))
        walk(n, flip)
        return coef, out, members

    def factor_nodes(self, fs, coef):
        """The rebuilt factors, scalar multiples taken out of them into ``coef``."""
        out = []
        for x, flip in fs:
            y = self.new[x.id]
            y = self.transpose(y) if flip else y
            while True:
                inner, turned = (y.args[0], True) if y.op is sp.Transpose else (y, False)
                if inner.op is not sp.Mul or not any(a.shape == () for a in inner.args) \
                        or all(a.shape == () for a in inner.args):
                    break
                c, m = inner.args if inner.args[0].shape == () else inner.args[::-1]
                coef.append(c)
                y = self.transpose(m) if turned else m
            out.append(y)
        return out

    def transpose(self, y):
        if y.shape in ((), (1, 1)) or (y.op is Fill and y.extra[0] is sp.Identity):
            return y
        if y.op is sp.Transpose:
            return y.args[0]
        if y.op is Broadcast and y.args[0].shape == ():
            return self.g.broadcast(y.args[0], y.shape[::-1])
        return self.g.apply(sp.Transpose, y, shape=y.shape[::-1])

    # --- ordering -------------------------------------------------------------------------

    def chain(self, n):
        coef, fs, members = self.factors(n)
        coef = [self.new[c.id] for c in coef]
        nodes = self.factor_nodes(fs, coef)
        tree = self.order(nodes, members, fs)
        out = self.build(tree, nodes)
        return self.scale(out, coef)

    def order(self, nodes, members, fs):
        """The optimal split table of the chain (dynamic programming on mean costs)."""
        k = len(nodes)
        dims = [self.sizes.of(nodes[0].shape[0])] + [self.sizes.of(x.shape[1]) for x in nodes]
        free = [k > 1 and i + 1 < k and self.computed(fs[i], fs[i + 1], members) for i in range(k)]
        return _dynamic_program(dims, free)

    def computed(self, a, b, members):
        """Whether the product of two adjacent factors is a node the code computes anyway
        (as written, or transposed: b^T a^T)."""
        (x, fx), (y, fy) = a, b
        table = self.g._table
        if fx and fy:
            pair = (y.id, x.id)
        else:
            left = table.get((sp.Transpose, (x.id,), None)) if fx else x
            right = table.get((sp.Transpose, (y.id,), None)) if fy else y
            if left is None or right is None:
                return False
            pair = (left.id, right.id)
        node = table.get((sp.MatMul, pair, None))
        return node is not None and node.id in self.needed and node.id not in members \
            and self.uses[node.id] >= 2 and node.id not in self.flat

    def build(self, tree, nodes, i=0, j=None):
        split, _ = tree
        j = len(nodes) - 1 if j is None else j
        if i == j:
            return nodes[i]
        s = split[i][j]
        left, right = self.build(tree, nodes, i, s), self.build(tree, nodes, s + 1, j)
        return self.multiply(left, right)

    def multiply(self, a, b):
        """a @ b, an inverse on either side read as a solve, a product with ones as a sum or
        a broadcast."""
        g, shape = self.g, (a.shape[0], b.shape[1])
        if _ones(b) and b.shape[1] == 1:
            return g.sum_to(a, shape)
        if _ones(a) and a.shape[0] == 1:
            return g.sum_to(b, shape)
        if _ones(b) and a.shape[1] == 1:
            return g.broadcast(a, shape)
        if _ones(a) and b.shape[0] == 1:
            return g.broadcast(b, shape)
        inv_a, t_a = _inverse(a)
        inv_b, t_b = _inverse(b)
        if inv_a is not None and inv_a.id not in self.explicit:
            self.solved.add(inv_a.id)
            return self.solve(inv_a, t_a, b)
        if inv_b is not None and inv_b.id not in self.explicit:
            self.solved.add(inv_b.id)
            return self.transpose(self.solve(inv_b, not t_b, self.transpose(a)))
        return self.g.apply(sp.MatMul, a, b, shape=(a.shape[0], b.shape[1]))

    def solve(self, A, transposed, B):
        matrix = self.transpose(A) if transposed else A
        return self.g.apply(Solve, matrix, B, shape=(A.shape[0], B.shape[1]))

    def scale(self, out, coef):
        g = self.g
        for c in coef:
            out = g.apply(sp.Mul, c, out)
        return out


def _dynamic_program(dims, free=()):
    """(split, cost) tables of the cheapest order of a chain whose factor i is dims[i] x
    dims[i + 1] (arrays of sampled sizes; the cost is the mean multiply count); a pair
    marked in ``free`` is computed anyway and costs nothing."""
    k = len(dims) - 1
    D = np.stack([np.asarray(d, float) for d in dims])
    if k > LONG:
        return _LeftToRight(lambda i, j: j - 1), _LeftToRight(lambda i, j: float(sum(
            np.mean(D[i] * D[m] * D[m + 1]) for m in range(i + 1, j + 1))))
    cost = np.zeros((k, k))
    split = [[None] * k for _ in range(k)]
    for length in range(2, k + 1):         # every split of a span at once: O(k^2) array steps
        for i in range(k - length + 1):
            j = i + length - 1
            mults = ((D[i] * D[j + 1])[None, :] * D[i + 1:j + 1]).mean(axis=1)
            c = cost[i, i:j] + cost[i + 1:j + 1, j] + mults
            s = int(np.argmin(c))          # the first of equal costs, as a scan would take
            split[i][j] = i + s
            cost[i, j] = 0.0 if length == 2 and i < len(free) and free[i] else c[s]
    return split, cost


class _LeftToRight:
    """table[i][j] of a long chain, computed when read (a split or a cost)."""

    def __init__(self, f, i=None):
        self.f, self.i = f, i

    def __getitem__(self, k):
        return _LeftToRight(self.f, k) if self.i is None else self.f(self.i, k)


def _trace_by_identity(n):
    """x when ``n`` is sum(x * I) (how the derivative of lam*I reaches lam), else None."""
    if n.op is not SumTo or n.shape != () or n.args[0].op is not sp.Mul:
        return None
    a, b = n.args[0].args
    for eye, x in ((a, b), (b, a)):
        if eye.op is Fill and eye.extra[0] is sp.Identity and x.shape == eye.shape:
            return x
    return None


def _ones(x):
    return x.op is Broadcast and x.args[0].is_const and x.args[0].value == 1


def _inverse(x):
    """(A, transposed) when ``x`` is inv(A) or inv(A)^T, else (None, False)."""
    if x.op is sp.Inverse:
        return x.args[0], False
    if x.op is sp.Transpose and x.args[0].op is sp.Inverse:
        return x.args[0].args[0], True
    return None, False


class _Sizes:
    """Sampled values of dimensions: a symbol is log-uniform on [2, 4096], the same draws
    for every chain of a run (seeded), a number is itself."""

    def __init__(self):
        self.table = {}

    def of(self, dim):
        dim = sp.sympify(dim)
        if dim.is_Number:
            return np.full(SAMPLES, float(dim))
        key = sp.srepr(dim)
        if key not in self.table:
            values = {}
            for s in sorted(dim.free_symbols, key=str):
                values[s] = self.symbol(s)
            f = sp.lambdify(sorted(values, key=str), dim, "numpy")
            self.table[key] = np.broadcast_to(np.asarray(f(*[values[s] for s in sorted(values, key=str)]),
                                                         float), (SAMPLES,))
        return self.table[key]

    def symbol(self, s):
        key = ("symbol", str(s))
        if key not in self.table:
            rng = np.random.default_rng(_seed(str(s)))
            self.table[key] = np.exp(rng.uniform(np.log(SMALLEST), np.log(LARGEST), SAMPLES))
        return self.table[key]


def _seed(text):
    """A seed from a symbol's name, the same in every process (str hashes are salted)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(text))
