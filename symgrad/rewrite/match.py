"""Node patterns for the rewrite stage: small predicates and
flatteners over graph nodes, and whole-pattern matchers that need no rewriter state."""

import sympy as sp

from ..graph.ir import Broadcast, Const, SumTo
from ..ops.nodes import Sigmoid

__all__ = []


def _const(n, value=None):
    return n.op is Const and (value is None or n.value == value)


def _terms(n):
    """The terms of a chain of binary Adds, as (coefficient, node) pairs."""
    out = []
    for t in _flatten(n, sp.Add):
        if t.op is sp.Mul and _const(t.args[0]) and not _const(t.args[1]):
            out.append((t.args[0].value, t.args[1]))
        else:
            out.append((sp.S.One, t))
    return out


def _factors(n):
    return _flatten(n, sp.Mul)


def _flatten(n, op):
    """Operands of nested binary ``op`` nodes, left to right, without recursion."""
    out, stack = [], [n]
    while stack:
        node = stack.pop()
        if node.op is op:
            stack += [node.args[1], node.args[0]]
        else:
            out.append(node)
    return out


def _positive(f):
    """Known positive by construction: e^u, sigmoid, or a positive constant."""
    return f.op in (sp.exp, Sigmoid) or (_const(f) and f.value.is_positive and f.value.is_finite)


def _is_mask(f):
    """where(c, 1, 0): a Piecewise that selects by a condition."""
    return (f.op is sp.Piecewise and len(f.args) == 4 and _const(f.args[0], 1)
            and _const(f.args[2], 0) and _const(f.args[3], sp.true))


def _is_inverse_sum_of_exps(f):
    if f.op is not sp.Pow or not _const(f.args[1], -1):
        return False
    base = f.args[0]
    if base.op is Broadcast:
        base = base.args[0]
    if base.op is SumTo:                     # along rows, columns or every entry
        return base.args[0].op is sp.exp
    terms = _terms(base) if base.op is sp.Add else []
    return len(terms) >= 2 and all(c == 1 and t.op is sp.exp for c, t in terms)


def _as_polynomial(n, atoms, budget=200):
    """Node ``n`` as a SymPy expression in which sums, products and constant powers are
    arithmetic and every other node is an opaque symbol (``atoms``: node id -> symbol), so
    two exponents can be compared algebraically whatever their graph shape; None when the
    node has more than ``budget`` arithmetic nodes."""
    count = [0]

    def walk(m):
        count[0] += 1
        if count[0] > budget:
            raise OverflowError
        if _const(m):
            return m.value
        if m.op is sp.Add:
            return walk(m.args[0]) + walk(m.args[1])
        if m.op is sp.Mul:
            return walk(m.args[0]) * walk(m.args[1])
        if m.op is sp.Pow and _const(m.args[1]):
            return walk(m.args[0]) ** m.args[1].value
        return atoms.setdefault(m.id, sp.Dummy("n%d" % m.id))
    try:
        return walk(n)
    except OverflowError:
        return None
