"""check_grad's reference side: the symbolic gradient as a graph, run on Arb balls.

``Reference(expr, wrt, args, grads)`` lowers the loss as written and the symbolic gradients
``grads`` (what ``grad`` returns: a GradFunction's ``symbolic_grads``, derived once) into one
graph, so a point costs one ball run of the whole graph (``numeric.arrays``) rather than a
SymPy substitution per entry. Without ``grads`` it runs reverse mode on the loss itself. It also reads, from the same
graph:

- kinks: each node of a kinked op (Abs, sign, Max, ...) or each condition of a Piecewise
  whose arguments depend on a parameter, with the expression whose zero is the kink;
- data conditions: conditions on data alone (``Eq(y, 0)`` with y data). They are not kinks:
  the gradient is smooth in the parameters there; the sampler draws data that makes each one
  true and false (``boundary_values``), and ``outcomes`` says which were seen.

>>> w, x = sp.symbols("w x")
>>> r = Reference(sp.Abs(w - x) + w**2, [w], [x])
>>> [d for d, _ in r.kinks]
['Abs(w - x) at argument 0']
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..derive.reverse import backward, scalar_loss
from ..graph.ir import Const, Leaf
from ..graph.lower import Lowering
from ..graph.raising import Raising
from flint import arb

from ..numeric.arrays import BallGraph, certified, midpoints
from ..ops import CONDITION, lookup

__all__ = ["Reference", "Evaluation"]

RELATIONS = (sp.Eq, sp.Ne, sp.Lt, sp.Le, sp.Gt, sp.Ge)


class Reference:
    """The derivation of ``expr``'s gradient with respect to ``wrt``, as one graph."""

    def __init__(self, expr, wrt, args, grads=None):
        self.lowering = lowering = Lowering()
        self.graph = graph = lowering.graph
        out = scalar_loss(lowering, expr)
        self.leaves = {s: lowering.leaf(s) for s in list(wrt) + list(args)}
        self.wrt, self.args = list(wrt), list(args)
        if grads is None:
            grads = backward(lowering, out, [self.leaves[w] for w in wrt])
        else:
            grads = [lowering(g) for g in grads]
        self.grads = [graph.to_shape(g, self.leaves[w].shape) for g, w in zip(grads, wrt)]
        self.loss = out
        self.raise_ = Raising(lowering.user)
        targets = {self.leaves[w].id for w in wrt}
        self.depends = {}
        for n in graph.nodes:
            self.depends[n.id] = n.id in targets or any(self.depends[a.id] for a in n.args)
        self.kinks, self.conditions = self._kinks_and_conditions()

    def _kinks_and_conditions(self):
        kinks, conditions = [], []
        forward = [n for n in self.graph.nodes[:self.loss.id + 1]]
        smoothed = _smoothed_corners(forward)
        for n in forward:
            entry = lookup(n.op)
            if entry is None or not n.args:
                continue
            if n.op in RELATIONS:
                u = self.graph.add(n.args[0], self.graph.apply(sp.Mul, self.graph.const(-1),
                                                               n.args[1]))
                if self.depends[n.id]:
                    kinks.append(("the boundary %s of a Piecewise" % self._text(n), u, n))
                else:
                    conditions.append((self._text(n), u, n))
            elif entry.kinks is not None and entry.kind != CONDITION and self.depends[n.id] \
                    and n.op is not sp.Piecewise and n.id not in smoothed:
                for text, u in self._kink_nodes(n, entry):
                    kinks.append((text, u, n))
        return [(t, u) for t, u, _ in kinks], [(t, n) for t, _, n in conditions]

    def kink_nodes(self) -> list:
        """Every node the kinks read (a branch cut's two parts)."""
        return [x for _, u in self.kinks for x in (u if isinstance(u, tuple) else (u,))]

    def _kink_nodes(self, n, entry):
        dummies = [sp.Dummy("a%d" % i, real=True) for i in range(len(n.args))]
        try:
            placeholder = n.op(*dummies, evaluate=False)
        except TypeError:
            placeholder = n.op(*dummies)
        env = dict(zip(dummies, n.args))
        shown = self._text(n)
        for text, u in entry.kinks(placeholder):
            if isinstance(u, tuple):          # a branch cut: a jump in u[0] where u[1] < 0
                node = tuple(self._lower_small(part, env) for part in u)
            else:
                node = self._lower_small(u, env)
            yield text.replace(sp.sstr(placeholder), shown), node

    def _lower_small(self, e, env):
        """A kink expression over the node's arguments, as a node of the graph."""
        if e in env:
            return env[e]
        if e.is_number:
            return self.graph.const(e)
        args = [self._lower_small(a, env) for a in e.args]
        if isinstance(e, (sp.Add, sp.Mul)):
            out = args[0]
            for a in args[1:]:
                out = self.graph.apply(type(e), out, a)
            return out
        return self.graph.apply(type(e), *args)

    def _text(self, n):
        try:
            return sp.sstr(self.raise_(n))
        except Exception:                  # raising is for display only
            return repr(n)

    def boundary_values(self) -> dict:
        """{data symbol: value} that puts a data condition on its boundary (y = 0 for
        Eq(y, 0)), so that sampled data selects each branch."""
        out = {}
        for _, n in self.conditions:
            a, b = n.args
            for s, c in ((a, b), (b, a)):
                if s.op is Leaf and c.op is Const and c.value.is_Rational:
                    out.setdefault(self.lowering.user.get(s.extra, s.extra), c.value)
        return out

    def evaluation(self, values: dict, dims: dict, bits: int, deadline=None) -> "Evaluation":
        """The loss, gradients, kinks and conditions at an exact point, certified to ``bits``."""
        graph = BallGraph([self.loss] + self.grads + self.kink_nodes()
                          + [n for _, n in self.conditions], dims, self.lowering.user)
        run = certified(graph, values, [self.loss] + self.grads, bits, deadline)
        return Evaluation(self, graph, run)


def _smoothed_corners(forward) -> set:
    """Ids of corner nodes (Abs, Max, Min: continuous at their kinks) whose every use is
    differentiable at the corner: a power above 1 of it (Max(0, w)**2), or, for |u|, a
    product with u or a power of u (SymPy writes |w|**3 as w**2*|w|): its derivative is 0
    there, so the zero is no kink of the gradient. |w| used anywhere else stays a kink."""
    users = {}
    for n in forward:
        for a in n.args:
            users.setdefault(a.id, []).append(n)
    out = set()
    for n in forward:
        entry = lookup(n.op)
        if entry is None or not entry.corner or not users.get(n.id):
            continue
        u = n.args[0] if len(n.args) == 1 else None
        if all(_power_above(m, n, 1, strict=True) or (
                u is not None and m.op is sp.Mul and n in m.args
                and any(_vanishes(a, u) for a in m.args if a is not n)) for m in users[n.id]):
            out.add(n.id)
    return out


def _power_above(m, base, p, strict=False):
    """Whether node m is base**q for a constant q > p (q >= p unless strict)."""
    if m.op is not sp.Pow or m.args[0] is not base or m.args[1].op is not Const:
        return False
    q = m.args[1].value
    return bool(q.is_real and (q > p if strict else q >= p))


def _vanishes(m, u):
    """Whether node m vanishes at least like u where u = 0: u, u**p (p >= 1), a product
    with such a factor."""
    if m is u or _power_above(m, u, 1):
        return True
    return m.op is sp.Mul and any(_vanishes(a, u) for a in m.args)


class Evaluation:
    """One point's ball values: ``loss``/``grads`` as float64 midpoints (per-sample values
    averaged), ``balls`` for the gradients, ``on_kink``/``near_kink`` and condition outcomes."""

    def __init__(self, ref, graph, run):
        self.ref, self.graph, self.run = ref, graph, run
        self.defined = run.defined
        self.prec = run.prec
        self.uncertified = sorted(graph.uncertified)
        v = run.values
        self.loss_balls = np.asarray(v[ref.loss.id], dtype=object)
        self.grad_balls = [np.asarray(v[g.id], dtype=object) for g in ref.grads]
        self._mids = {}

    def gradient(self, i, shape) -> np.ndarray:
        """Gradient ``i`` as float64 midpoints of its balls, averaged to ``shape``."""
        key = (i, tuple(shape))
        if key not in self._mids:
            balls = self.averaged(self.grad_balls[i], shape)
            same = balls is self.grad_balls[i] and (i, None) in self._mids
            self._mids[key] = self._mids[(i, None)] if same else midpoints(balls)
        return self._mids[key]

    def finite_within(self, limit: float) -> bool:
        """Whether every output is defined, finite and below ``limit`` in size."""
        if not self.defined:
            return False
        for i, a in enumerate([self.loss_balls] + self.grad_balls):
            m = midpoints(a)
            if i:
                self._mids[(i - 1, None)] = m
            if not np.all(np.isfinite(m)) or np.any(np.abs(m) >= limit):
                return False
        return True

    def averaged(self, balls, shape):
        """Per-sample values (one per sample along a leading axis) averaged to ``shape``."""
        a = np.asarray(balls, dtype=object)
        if a.shape == tuple(shape):
            return a
        if a.ndim == 1 and shape == ():
            return np.asarray(np.sum(a) / len(a), dtype=object)
        return np.broadcast_to(a, shape)

    def kinks(self, near: float):
        """(kinks the point lies on, whether one lies within ``near``)."""
        on, close = [], False
        for text, _, _, b in self._kink_entries():
            if b.is_zero():
                on.append(text)
            elif b.contains(0) or abs(float(b.mid())) < near:
                close = True
        return on, close

    def kink_samples(self, count: int) -> "set | None":
        """The samples (entries along the leading axis of ``count`` per-sample values) that lie
        on a kink; None where a kink on the point is not one sample's (a kink in the
        parameters alone)."""
        out = set()
        for _, shape, k, b in self._kink_entries():
            if b.is_zero():
                if shape != (count,):
                    return None
                out.add(k)
        return out

    def _kink_entries(self):
        """(text, shape of the kink's values, entry, ball) for each entry of each kink
        expression (a branch cut's entries only where it is cut)."""
        for text, u in self.ref.kinks:
            cut = None
            if isinstance(u, tuple):
                u, cut = u
            balls = np.asarray(self.run.values[u.id], dtype=object)
            sides = np.broadcast_to(np.asarray(self.run.values[cut.id], dtype=object),
                                    balls.shape).ravel() if cut is not None else None
            for k, b in enumerate(balls.ravel()):
                if not isinstance(b, arb) or (sides is not None and not sides[k] < 0):
                    continue                  # no jump where a branch cut is not cut
                yield text, balls.shape, k, b

    def outcomes(self) -> dict:
        """{condition text: set of outcomes (True/False) its entries took here}."""
        out = {}
        for text, n in self.ref.conditions:
            vals = np.asarray(self.run.values[n.id], dtype=object).ravel()
            out.setdefault(text, set()).update(v for v in vals if isinstance(v, bool))
        return out
