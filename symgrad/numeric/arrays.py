"""Arb balls over whole arrays: a derived graph evaluated node by node at any precision.

``BallGraph(outs, dims, user)`` runs the nodes under ``outs`` (a ``graph.ir`` Graph: the loss, the
gradients, any node) on NumPy object arrays of python-flint balls: elementwise nodes entry by
entry through their registry ``arb`` fact (``enclose.apply_fact``, as a Tape applies it),
matrix nodes through Arb's matrices (``arb_mat``: products, inverses, determinants) and the
row ops below. Every entry is a ball that certainly holds the exact value at the given
points (floats are exact dyadic rationals), so its radius is a certified error bound; an
op registered without an ``arb`` fact runs its mpmath (else float64) evaluator at the
ball's midpoint and is named in ``uncertified``. ``certified`` raises the precision (128,
256, ... bits) until every output ball is accurate to the bits asked for.

One run costs one pass over the graph, whatever the number of entries: an MLP gradient is
a few matrix products of balls, not a SymPy substitution per entry.

>>> import sympy as sp
>>> from symgrad.graph.lower import Lowering
>>> x = sp.Symbol("x")
>>> lo = Lowering(); out = lo(sp.log(1 + sp.exp(x)))
>>> g = BallGraph([out], {}, lo.user)
>>> values = certified(g, {x: np.array([0.0, 1000.0])}, [out], 60).values
>>> [round(float(v.mid()), 6) for v in values[out.id]]
[0.693147, 1000.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp
from flint import acb, arb, ctx, fmpq

from ..errors import BudgetExceeded, UnsupportedExpression
from .budget import Deadline
from ..graph.ir import Broadcast, Const, Fill, Leaf, SumTo, ancestors
from ..ops import CONDITION, ELEMENTWISE, lookup
from ..ops.balls import UNDEFINED
from .ball_matrix import MATRIX_OPS, as_arb_mat, from_arb_mat
from .enclose import Tape, apply_fact

__all__ = ["BallGraph", "Certified", "certified", "to_balls", "midpoints", "BudgetExceeded",
           "Deadline", "NotBallable", "START_BITS", "MAX_BITS"]

START_BITS = 128
MAX_BITS = 16384


NotBallable = UnsupportedExpression     # a node the ball evaluator cannot run (named)


# --- values in and out ---------------------------------------------------------------------

def _ball(x):
    if x is UNDEFINED or isinstance(x, (arb, acb, bool)) or x is None:
        return x
    if isinstance(x, (int, np.integer)):
        return arb(int(x))
    if isinstance(x, sp.Rational):
        return arb(fmpq(int(x.p), int(x.q)))
    return arb(float(x))                # a float is an exact dyadic rational


_to_ball = np.frompyfunc(_ball, 1, 1)


def to_balls(value) -> np.ndarray:
    """An exact number or array (floats, ints, SymPy Rationals) as an object array of balls."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim:
        out = np.empty(value.shape, dtype=object)
        out.reshape(-1)[:] = [arb(v) for v in value.astype(float).ravel().tolist()]
        return out
    return np.asarray(_to_ball(np.asarray(value, dtype=object)), dtype=object)


def _mid(b):
    if isinstance(b, acb):
        b = b.real
    if not isinstance(b, arb) or not b.is_finite():
        return float("nan")
    return float(b.mid())


_midpoint = np.frompyfunc(_mid, 1, 1)


def midpoints(balls) -> np.ndarray:
    """The midpoints of an array of balls as float64 (NaN where a ball is NaN)."""
    a = np.asarray(balls, dtype=object)
    if a.dtype != object:
        return a.astype(float)
    flat = a.ravel().tolist()
    if all(type(b) is arb for b in flat):
        return np.array(flat, dtype=float).reshape(a.shape)     # float(ball) is its midpoint
    return np.asarray(_midpoint(a), dtype=float)


def _accurate(b, bits):
    if isinstance(b, acb):
        if not b.imag.contains(0):
            return False
        b = b.real
    if not isinstance(b, arb) or not b.is_finite():
        return False
    return b.is_exact() or b.rel_accuracy_bits() >= bits or b.rad() < arb(2) ** (-bits - 64)


_is_accurate = np.frompyfunc(_accurate, 2, 1)


# --- the evaluator ---------------------------------------------------------------------------

@dataclass
class BallGraph:
    """The nodes under ``outs``, ready to run on balls; ``dims`` maps dimension symbols to ints."""

    outs: list
    dims: dict
    user: dict = field(default_factory=dict)   # a leaf's real stand-in -> the user's symbol
    nodes: list = field(init=False)
    uncertified: set = field(default_factory=set)

    def __post_init__(self):
        self.nodes = ancestors(self.outs)
        self._shapes = {}

    def shape(self, n):
        if n.id not in self._shapes:
            self._shapes[n.id] = tuple(int(sp.sympify(d).xreplace(self.dims)) for d in n.shape)
        return self._shapes[n.id]

    def run(self, leaves: dict, prec: int, deadline: "Deadline | None" = None,
            replace: "dict | None" = None, nodes: "list | None" = None, values=None) -> dict:
        """{node id: object array of balls} at ``prec`` bits. ``leaves`` maps each symbol to
        its balls (``to_balls``); ``replace`` maps node ids to values used instead of
        computing them; ``nodes``/``values`` run only those nodes on top of earlier values."""
        out = dict(values or {})
        self._mats = {}
        with ctx.workprec(prec):
            for n in (nodes if nodes is not None else self.nodes):
                if deadline is not None:
                    deadline.check("the ball evaluation of the symbolic gradient")
                if replace and n.id in replace:
                    out[n.id] = replace[n.id]
                    continue
                out[n.id] = self.node(n, leaves, [out[a.id] for a in n.args], prec)
        self._mats = None
        for o in self.outs:                    # a leaf's floats (or their transpose) as balls
            if o.id in out:
                out[o.id] = _as_balls(out[o.id])
        return out

    def node(self, n, leaves, args, prec):
        """The value of one node from its arguments' values (balls at ``prec`` bits)."""
        op = n.op
        if op is Leaf:
            symbol = self.user.get(n.extra, n.extra)
            if symbol in leaves:
                return leaves[symbol]
            if symbol in self.dims:
                return to_balls(self.dims[symbol])
            raise NotBallable("no value for %s" % symbol)
        if op is Const:
            return self._const(n.value, prec)
        if op is Broadcast:
            return np.broadcast_to(args[0], self.shape(n))
        if op is not sp.MatMul and op is not sp.Transpose:
            args = [_as_balls(a) for a in args]
        if op is SumTo:
            return _sum_to(args[0], self.shape(n))
        if op is Fill:
            size = self.shape(n)[0]
            eye = np.full((size, size), arb(0), dtype=object)
            np.fill_diagonal(eye, arb(1))
            return eye
        entry = lookup(op)
        if entry is not None and entry.kind in (ELEMENTWISE, CONDITION):
            return self._elementwise(n, entry, args, prec)
        matrix = MATRIX_OPS.get(op)
        if matrix is None:
            raise NotBallable("no ball evaluator for %s nodes" % getattr(op, "__name__", op))
        try:
            if op is sp.MatMul:
                return from_arb_mat(self._mat(n.args[0], args[0]) * self._mat(n.args[1], args[1]))
            if op is sp.Transpose:
                return args[0].T                    # floats stay floats (exact)
            return np.asarray(matrix(*args), dtype=object)
        except TypeError:                  # an UNDEFINED entry: no value here
            return np.full(self.shape(n), UNDEFINED, dtype=object)

    def _mat(self, node, value):
        """``value`` as an Arb matrix, converted once per run (a transpose from its argument's)."""
        mats = getattr(self, "_mats", None)
        if mats is None:                       # a node run alone: nothing to share
            return as_arb_mat(value)
        if node.id not in mats:
            inner = node.args[0].id if node.op is sp.Transpose else None
            mats[node.id] = mats[inner].transpose() if inner in mats else as_arb_mat(value)
        return mats[node.id]

    def _const(self, value, prec):
        value = sp.sympify(value).xreplace({d: sp.Integer(v) for d, v in self.dims.items()})
        if value in (sp.true, sp.false):
            return np.asarray(bool(value), dtype=object)
        if value.is_Rational:
            return to_balls(value)
        b = Tape(value).run((), prec)
        if isinstance(b, acb):
            b = b.real if b.imag.is_zero() else arb.nan()
        return np.asarray(b, dtype=object)

    def _elementwise(self, n, entry, args, prec):
        fact = entry.arb
        lazy = n.op is sp.Piecewise
        if fact is None:
            fact = _pointwise(entry, prec)
            self.uncertified.add(entry.name)
        fast = _arithmetic(n, args)
        if fast is not None:
            return fast
        name = entry.name

        def one(*v):
            if not lazy:
                try:
                    r = fact(*v)        # the usual case: finite balls in, a finite ball out
                    if isinstance(r, arb) and r.is_finite():
                        return r
                except Exception:       # noqa: BLE001 -- apply_fact below sorts the cases out
                    pass
            return apply_fact(fact, v, lazy, (), name)

        if len(args) < 32:
            return np.asarray(np.frompyfunc(one, len(args), 1)(*args), dtype=object)
        arrays = np.broadcast_arrays(*[np.asarray(a, dtype=object) for a in args])
        out = np.empty(arrays[0].shape, dtype=object)      # ufuncs take at most 64 operands
        flat = [a.ravel() for a in arrays]
        out.reshape(-1)[:] = [one(*[a[k] for a in flat]) for k in range(out.size)]
        return out


def _arithmetic(n, args):
    """Sums, products and integer powers of ball arrays in one NumPy operation (Arb's own
    arithmetic is rigorous on any ball); None where an entry is not a ball (UNDEFINED)."""
    try:
        if n.op is sp.Add:
            return np.asarray(args[0] + args[1], dtype=object)
        if n.op is sp.Mul:
            return np.asarray(args[0] * args[1], dtype=object)
        if n.op is sp.Pow and n.args[1].op is Const and n.args[1].value.is_Integer \
                and n.args[1].value > 0:
            k = int(n.args[1].value)
            return np.asarray(np.frompyfunc(lambda x: x ** k, 1, 1)(args[0]), dtype=object)
    except TypeError:
        return None
    return None


def _pointwise(entry, prec):
    """An op with no arb fact: its mpmath (else float64) evaluator at the midpoints."""
    if entry.mpmath is None:
        raise NotBallable("%s has neither an arb nor an mpmath evaluator" % entry.name)

    def fact(*vals):
        with mpmath.workprec(prec):
            v = entry.mpmath(*[mpmath.mpf(float(x.mid())) if isinstance(x, arb) else x
                               for x in vals])
        if isinstance(v, mpmath.mpc) or not mpmath.isfinite(v):
            return arb.nan()
        return arb(mpmath.nstr(v, int(prec * 0.3) + 5))
    return fact


def _sum_to(a, shape):
    if shape == ():
        return np.asarray(np.sum(a), dtype=object)
    if a.ndim == 0:
        return np.broadcast_to(a, shape)
    if shape == (1, 1):
        return np.asarray(np.sum(a), dtype=object).reshape(1, 1)
    axis = 0 if shape[0] == 1 else 1
    return np.sum(a, axis=axis, keepdims=True)


# --- matrix ops ------------------------------------------------------------------------------

def _as_balls(a):
    """A leaf's float array (kept as floats for Arb's matrix products) as balls."""
    return to_balls(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


# --- rising precision ----------------------------------------------------------------------------

@dataclass
class Certified:
    """Values of a run whose outputs are accurate: ``values`` (node id -> balls) at ``prec`` bits;
    ``defined`` is False where an output has no finite real value at this point."""

    values: dict
    prec: int
    defined: bool = True


def certified(g: BallGraph, leaves: dict, outs: list, bits: int,
              deadline: "Deadline | None" = None, cap: "int | None" = None) -> Certified:
    """Run ``g`` at 128, 256, ... bits until every ball of ``outs`` has ``bits`` correct bits
    (relative, or an absolute radius below 2^-(bits+64)); ``defined=False`` as soon as an
    output is UNDEFINED, or when the cap is reached first. The cap grows with the sizes the
    first run meets (``_scale``: 1 - sigma(1000) needs about 1450 bits), up to MAX_BITS."""
    leaves = {s: (v if isinstance(v, np.ndarray) and (v.dtype == object or v.ndim == 2)
                  else to_balls(v)) for s, v in leaves.items()}
    prec = START_BITS
    while prec < bits + 64:
        prec *= 2
    while True:
        values = g.run(leaves, prec, deadline)
        arrays = [np.asarray(values[o.id], dtype=object).ravel() for o in outs]
        if any(any(v is UNDEFINED for v in a) for a in arrays):
            return Certified(values, prec, False)
        if all(all(_is_accurate(a, bits)) for a in arrays if a.size):
            return Certified(values, prec)
        if cap is None:
            cap = int(min(MAX_BITS, max(4 * bits, 512) + 2 * _scale(g, values)))
        if prec >= cap:
            return Certified(values, prec, False)
        prec = min(2 * prec, cap)


def _scale(g, values):
    """About how many bits cancellation may cost: the largest binary exponent of a value,
    and |x| / log 2 for each value x (a function of it may come within e^-|x| of its limit)."""
    top = 0.0
    for n in g.nodes:
        if n.op in (Leaf, Const):
            continue
        v = np.asarray(values[n.id], dtype=object)
        if v.dtype != object or not v.size or isinstance(v.ravel()[0], bool):
            continue
        m = np.abs(midpoints(v))
        m = m[np.isfinite(m) & (m > 0)]
        if m.size:
            top = max(top, float(np.max(np.abs(np.log2(m)))), float(np.max(m)) * 1.4427)
    return int(min(top, MAX_BITS)) + 1
