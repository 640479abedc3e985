"""Rewrites of branches (Piecewise nodes). Each receives the node's arguments
``(value, condition, other, true)`` (see ``database.py``)."""

import sympy as sp

from .database import register
from .match import _const

__all__ = []


@register(sp.Piecewise)
def nested_where_same_condition(r, *args):
    """where(c, where(c, a, _), b) -> where(c, a, b), and likewise in the other branch: the
    inner branch is decided already, and the branch not taken (often inf or NaN at the
    points that choose the other one) then needs no code at all."""
    if len(args) != 4 or not _const(args[3], sp.true):
        return None
    value, cond, other = args[0], args[1], args[2]
    if value.op is sp.Piecewise and len(value.args) == 4 and value.args[1] is cond:
        value = value.args[0]
    if other.op is sp.Piecewise and len(other.args) == 4 and other.args[1] is cond:
        other = other.args[2]
    if value is args[0] and other is args[2]:
        return None
    return r.g.apply(sp.Piecewise, value, cond, other, args[3])
