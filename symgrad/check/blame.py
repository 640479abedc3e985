"""Blame: the node where a derivation goes wrong, when check_grad's pairs disagree.

Two walks over graphs, in topological order (inputs first), at the first point where a pair
disagreed; each stops at the first node it can blame.

- **The generated code** (``printer``): each node of the generated program (forward and
  backward) is printed alone, as codegen prints it, and run on the float64 values of its
  arguments; its certified ball value on those same arguments (``numeric.arrays``) must
  agree. A wrong NumPy printer entry, or a helper that computes something else, is named
  at the node where it first shows.
- **The derivative rules** (``rules``): each node of the derivation the reference runs
  gets a local check of its rule, for each argument a that depends on a parameter:
  <rule(G)_a, U> must equal d/dt <G, node(a + tU)> for random G and U, the derivative taken
  by Richardson differences of balls at 256 bits (so its error is far below any tolerance).
  A wrong rule in the registry, or a wrong derivative given to ``register_function``, is
  named with the node and its argument.

When neither walk finds a node, the difference comes from the stable rewrites (the
generated loss is another expression than the one written) or from the finite differences
themselves, and the blame says so.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from flint import arb, ctx

from ..codegen.emit import _Function
from ..derive.reverse import apply_rule
from ..graph.ir import Const, Leaf, ancestors
from ..graph.raising import Raising
from ..numeric.arrays import BallGraph, BudgetExceeded, NotBallable, midpoints, to_balls
from ..ops import CONDITION, lookup

__all__ = ["blame", "printer_blame", "rule_blame"]

PRINTER_RTOL = 1e-6        # one node printed alone, against its exact value on the same inputs
RULE_RTOL = 1e-9           # a local rule against 256-bit differences of its node
STEP = arb(2) ** -40
BITS = 256


def blame(check) -> list:
    """Sentences naming where ``check`` (a failed check_grad run) goes wrong."""
    if check.failed is None:
        return []
    point = check.failed
    try:
        found = printer_blame(check.f, point, check.dims, check.deadline)
        if not found:
            found = rule_blame(check.ref, point, check.dims, check.rng, check.deadline)
    except (NotBallable, BudgetExceeded) as exc:
        return ["not located (%s)" % exc]
    if found:
        return found
    return ["no single node's printer or rule is wrong at this point: the difference comes "
            "from the stable rewrites (compare f.stable_form with the expression) or from "
            "the finite differences (see the notes)"]


def _text(raise_, n):
    try:
        return sp.sstr(raise_(n))
    except Exception:                    # raising is for display only
        return repr(n)


def _name(op):
    return getattr(op, "__name__", str(op))


def _floats(value):
    a = np.asarray(value, dtype=object)
    if a.size and all(isinstance(v, (bool, np.bool_)) for v in a.ravel()):
        return a.astype(bool)
    m = midpoints(a)
    return m if m.ndim else float(m)


# --- the generated code ------------------------------------------------------------------------

def printer_blame(f, point, dims, deadline=None) -> list:
    """The first node of ``f``'s program whose printed code disagrees with its value."""
    program = f.program
    outs = [program.loss] + list(program.grads)
    balls = BallGraph(outs, dims, program.user)
    leaves = {s: to_balls(point[s]) for s in program.inputs if s in point}
    values = balls.run(leaves, 128, deadline)
    raise_ = Raising(program.user)
    printer = _Function(program, outs, set())
    printer.inline = set()
    names = {program.names[d]: v for d, v in dims.items() if d in program.names}
    for n in balls.nodes:
        if n.op in (Leaf, Const) or any(a.op is not Const and _is_condition_of(a, n) for a in n.args):
            continue
        if deadline is not None:
            deadline.check("blame: the generated code")
        args = {"_a%d" % i: _floats(values[a.id]) for i, a in enumerate(n.args)}
        for i, a in enumerate(n.args):
            if a.op is not Const:
                printer.names[a.extra if a.op is Leaf else a.id] = "_a%d" % i
        try:
            code = printer.text(n)[0]
            with np.errstate(all="ignore"):
                # codegen's own text for one node (never user text), as compile_source runs it
                got = np.asarray(eval(code, {**f.namespace, **names}, args), dtype=float)  # noqa: S307
        except Exception:                # codegen's own text; a failure is not a blame here
            continue
        inputs = [to_balls(args["_a%d" % i]) if a.op is not Const else values[a.id]
                  for i, a in enumerate(n.args)]
        with ctx.workprec(128):
            exact = midpoints(balls.node(n, leaves, inputs, 128))
        if not _close(got, exact, PRINTER_RTOL):
            where = np.unravel_index(int(np.argmax(np.abs(np.broadcast_to(got, np.shape(exact))
                                                         - exact))), np.shape(exact)) \
                if np.ndim(exact) else ()
            return ["the generated code of %s node %s computes %s, which gives %.17g%s where "
                    "its definition gives %.17g on the same inputs: the NumPy printer of %s "
                    "(registry entry) is wrong"
                    % (_name(n.op), _text(raise_, n), code, np.broadcast_to(got, np.shape(exact))[where],
                       " at entry %s" % [int(k) for k in where] if where else "", exact[where], _name(n.op))]
    return []


def _is_condition_of(a, n):
    entry = lookup(a.op)
    return entry is not None and entry.kind == CONDITION and n.op is not sp.Piecewise


def _close(got, exact, rtol):
    got = np.broadcast_to(got, np.shape(exact))
    if not np.all(np.isfinite(exact)):
        return True                      # nothing certain to compare against
    scale = np.max(np.abs(exact)) if np.size(exact) else 0.0
    return bool(np.all(np.abs(got - exact) <= rtol * (np.abs(exact) + scale) + 1e-300))


# --- the derivative rules ----------------------------------------------------------------------

def rule_blame(ref, point, dims, rng, deadline=None) -> list:
    """The first node of the reference derivation whose local rule fails its check."""
    lowering, graph = ref.lowering, ref.graph
    forward = [n for n in ancestors([ref.loss]) if n.op not in (Leaf, Const) and ref.depends[n.id]]
    balls = BallGraph([ref.loss], dims, lowering.user)
    leaves = {s: to_balls(point[s]) for s in ref.leaves if s in point}
    values = balls.run(leaves, BITS, deadline)
    for n in forward:
        if deadline is not None:
            deadline.check("blame: the derivative rules")
        shape = np.shape(values[n.id])
        G = to_balls(rng.standard_normal(shape) if shape else rng.standard_normal())
        adjoint = _adjoint_leaf(lowering, n)
        try:
            parts = apply_rule(lowering, n, adjoint)
        except Exception:                # no rule: reverse mode would have said so already
            continue
        for i, (a, c) in enumerate(zip(n.args, parts)):
            if c is None or not hasattr(c, "op") or not ref.depends[a.id]:
                continue
            c = graph.to_shape(c, a.shape)
            bad = _local_check(balls, leaves, values, n, i, a, c, adjoint, G, rng, deadline)
            if bad is not None:
                entry = lookup(n.op)
                whose = ("the derivative given to register_function(%r)" % entry.name
                         if entry is not None and entry.user else
                         "the rule of the registry entry of %s" % _name(n.op))
                return ["the derivative rule of %s at node %s is wrong for its argument %d (%s): "
                        "it gives %s along a random direction where differences of the node give "
                        "%s; fix %s" % (_name(n.op), _text(ref.raise_, n), i, _text(ref.raise_, a),
                                        bad[0], bad[1], whose)]
    return []


def _adjoint_leaf(lowering, n):
    shape = n.shape
    name = "_blame_g%d" % n.id
    symbol = sp.MatrixSymbol(name, *shape) if shape else sp.Symbol(name, real=True)
    return lowering.graph.leaf(symbol)


def _local_check(balls, leaves, values, n, i, a, c, adjoint, G, rng, deadline):
    """(rule value, difference value) as text where <rule(G)_a, U> and d/dt <G, n(a + tU)>
    disagree, else None."""
    sub = BallGraph([c], balls.dims, balls.user)
    known = {**values, adjoint.id: G}
    todo = [m for m in sub.nodes if m.id not in known]
    with ctx.workprec(BITS):
        vjp = sub.run(leaves, BITS, deadline, nodes=todo, values=known)[c.id]
        shape = np.shape(values[a.id])
        U = to_balls(rng.standard_normal(shape) if shape else rng.standard_normal())
        rule = _dot(vjp, U)
        step = STEP * max(arb(1), _largest(values[a.id]))    # a step relative to the argument

        def moved(t):
            args = [values[b.id] for b in n.args]
            args[i] = np.asarray(args[i] + t * U, dtype=object)
            return _dot(G, balls.node(n, leaves, args, BITS))

        d1 = (moved(step) - moved(-step)) / (2 * step)
        d2 = (moved(step / 2) - moved(-step / 2)) / step
        fd = (4 * d2 - d1) / 3
        if not (fd.is_finite() and rule.is_finite()):
            return None
        # blamed only where the balls certify the gap: w**10000 is 1e3000, beyond any float
        if not abs(rule - fd) > RULE_RTOL * (abs(rule) + abs(fd)) + arb(10) ** -30:
            return None
    return rule.str(12, radius=False), fd.str(12, radius=False)


def _largest(values):
    """The largest |entry| of a ball or an array of balls, as a ball (its upper bound)."""
    top = arb(0)
    for v in np.asarray(values, dtype=object).ravel():
        if isinstance(v, arb) and v.is_finite():
            top = max(top, arb(abs(v).upper()), key=lambda b: b.mid())
    return top


def _dot(a, b):
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    prod = np.broadcast_arrays(a, b)
    total = arb(0)
    for x, y in zip(prod[0].ravel(), prod[1].ravel()):
        total += x * y
    return total
