"""The op registry: one entry per operation, everything about it together.

An entry (``Op``) says, for one SymPy class (or one of symgrad's own nodes):

``kind``
    ``ELEMENTWISE`` (acts entry by entry on matrices, broadcasting as NumPy does),
    ``MATRIX`` (a function of whole matrices), ``CONDITION`` (a relation or a boolean:
    no gradient flows) or ``PLUMBING`` (the graph's own shape markers).
``rule``
    The derivative rule, ``rule(g, ans, *args) -> one contribution per argument``:
    ``g`` is the adjoint of the node, ``ans`` its value, ``args`` its arguments, all
    SymPy placeholders (constants arrive as their numbers). A contribution is the adjoint
    the argument receives, ``None`` where no gradient flows, or ``UNKNOWN_DERIVATIVE`` where
    one flows but symgrad has no formula (an error only when that argument depends on a
    parameter). Elementwise rules are
    written for scalars; ``matrix_rule=True`` rules receive MatrixSymbol placeholders
    shaped like the node and its arguments. At a kink the rule uses SymPy's conventions
    (sign(0) = 0, Heaviside(0) = 1/2, DiracDelta for the derivative of a step).
``numpy``
    How NumPy code prints it: a function name (``"np.exp"``, ``"special.erf"``), the name
    of a helper the generated module carries (``"_softplus"``, see ``helpers.py``), a
    callable ``(printer, *args) -> (text, precedence)``, or ``BUILTIN`` where the
    printer's own method handles the node (arithmetic, branches, the graph's products).
``mpmath``
    The high-precision evaluator: a function of mpmath numbers (None: SymPy's evalf
    knows the class).
``arb``
    The rigorous evaluator: a function of Arb balls (python-flint) returning a ball that
    contains every value the op takes on them (helpers in ``balls.py``); conditions return
    True, False or None (undecided). None: the op has no rigorous evaluator, so no value
    of it certifies anything (matrix ops need none: verification writes matrices out
    entry by entry first).
``standard``
    The node in standard SymPy (for verification and ``to_standard``); None when the
    class is standard SymPy already.
``kinks``, ``domain``, ``positive``
    ``kinks(node)`` lists ``(description, expression)`` pairs whose zero is a point
    where the op is not differentiable. ``domain(node)`` lists expressions that must be
    positive (``> 0``) for the op to be real, and ``positive`` the argument positions a
    sampler should draw positive. ``corner``: the op is continuous at its kinks (Abs, Max,
    Min: only the derivative jumps), so a power above 1 of it is differentiable there.
``complex_step``
    Whether the generated code may be called with complex input (complex-step
    differences): False for kinks and for real-only stable helpers.
``needs_spd``
    A square matrix argument is sampled with a positive definite symmetric part.
``names``, ``arity``
    What the command line calls it, and how many arguments it takes.
``shown``, ``underflows``
    How results show the node to people (None: as itself), and whether its NumPy value
    may underflow to 0 (generated code then runs under ``errstate(under="ignore")``).
``lower``
    For vocabulary that is not itself a graph op (MatAdd, HadamardProduct, OneMatrix, ...):
    the name of the ``Lowering`` method that reads it.

Stages only read the registry (``lookup``, ``require``, ``entries``); entries live in
``elementwise.py``, ``matrix.py`` and ``user.py`` (functions people register).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Optional

import sympy as sp

from ..errors import UnsupportedExpression

__all__ = ["Op", "CALL", "MUL", "UNKNOWN_DERIVATIVE", "ELEMENTWISE", "MATRIX", "CONDITION", "PLUMBING", "VOCABULARY", "BUILTIN",
           "register", "replaced", "lookup", "require", "entries", "is_elementwise", "kinks_in",
           "is_analytic"]

ELEMENTWISE, MATRIX, CONDITION, PLUMBING, VOCABULARY = (
    "elementwise", "matrix", "condition", "plumbing", "vocabulary")
BUILTIN = "builtin"          # printed by the backend printer's own method for this node
CALL, MUL = 70, 50           # Python precedence of a call and of a product/quotient (printers)


class _Unknown:
    """A rule's contribution for an argument symgrad cannot differentiate with respect to
    (the order of besseli, polygamma): an error only if that argument depends on a parameter."""

    def __repr__(self):
        return "UNKNOWN_DERIVATIVE"


UNKNOWN_DERIVATIVE = _Unknown()


@dataclass(frozen=True, eq=False)
class Op:
    """Everything symgrad knows about one operation (see the module docstring)."""

    cls: type
    kind: str
    rule: Optional[Callable] = None
    numpy: object = None
    mpmath: Optional[Callable] = None
    arb: Optional[Callable] = None
    standard: Optional[Callable] = None
    kinks: Optional[Callable] = None
    domain: Optional[Callable] = None
    positive: tuple = ()
    corner: bool = False            # continuous at its kinks: |u|**p, p > 1, is differentiable
    complex_step: bool = True
    matrix_rule: bool = False
    needs_spd: bool = False
    names: tuple = ()
    arity: tuple = (1, 1)
    lower: Optional[str] = None
    shown: Optional[Callable] = None   # how results show it to people (None: cls(*args))
    underflows: bool = False        # its NumPy value may underflow to 0 (e^-1000): not an error
    user: bool = False              # registered by a person (register_function)
    float_only: bool = False        # its evaluator is float64 (no mpmath given): not rigorous

    @property
    def name(self) -> str:
        return getattr(self.cls, "__name__", str(self.cls))


_REGISTRY: dict = {}


def register(op: Op) -> Op:
    """Add (or replace) the entry for ``op.cls``."""
    _REGISTRY[op.cls] = op
    return op


@contextlib.contextmanager
def replaced(cls, **facts):
    """Swap facts of one entry for the duration of a ``with`` block (tests use it to plant a
    wrong rule or printer and show that symgrad catches it)."""
    old = _REGISTRY[cls]
    _REGISTRY[cls] = replace(old, **facts)
    try:
        yield _REGISTRY[cls]
    finally:
        _REGISTRY[cls] = old


def lookup(cls) -> Optional[Op]:
    """The entry for a class (or the class of an expression), or None."""
    if not isinstance(cls, type):
        cls = type(cls)
    return _REGISTRY.get(cls)


def require(cls, where: str = "") -> Op:
    """The entry for ``cls``; UnsupportedExpression naming it when there is none."""
    op = lookup(cls)
    if op is None:
        name = getattr(cls, "__name__", cls)
        raise UnsupportedExpression(
            "symgrad has no entry for %s%s; rewrite it with supported functions, or register it "
            "with symgrad.register_function" % (name, where))
    return op


def entries(kind: Optional[str] = None) -> Iterator[Op]:
    """Every entry (of one kind), in registration order."""
    return (op for op in list(_REGISTRY.values()) if kind is None or op.kind == kind)


def is_elementwise(cls) -> bool:
    op = _REGISTRY.get(cls)
    return op is not None and op.kind in (ELEMENTWISE, CONDITION)


# --- reading expressions through the registry ------------------------------------------

def _scalar_preorder(expr):
    """Preorder traversal of a SymPy expression that does not enter Lambda bodies."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, sp.Lambda):
            stack.extend(reversed(node.args))


def kinks_in(expr) -> list:
    """(description, expression) pairs whose zero is a kink of ``expr`` (Lambda bodies of
    elementwise maps are not entered: their kinks depend on the matrix entries)."""
    out = []
    for node in _scalar_preorder(expr):
        op = _REGISTRY.get(type(node))
        if op is not None and op.kinks is not None:
            out += op.kinks(node)
    return out


def is_analytic(expr) -> bool:
    """Whether every op in ``expr`` allows complex-step differences in generated code."""
    for node in sp.preorder_traversal(expr):
        op = _REGISTRY.get(type(node))
        if op is not None and not op.complex_step:
            return False
    return True
