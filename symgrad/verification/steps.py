"""Checking derivations step by step: ``verify_steps`` for a chain a person wrote, and
``derivation``, symgrad's own backpropagation sheet with every step checked.

Both call only the public ``verify``: each consecutive pair of a chain, and each step of a
sheet against what ``grad`` derives, is proven, probable or refuted with a certified
counterexample.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..derive.sheet import Derivation, build_sheet
from ..errors import ArgumentError, SymgradError
from .api import verify
from .display import StepsDisplay

__all__ = ["verify_steps", "StepsVerdict", "derivation", "check_sheet"]

RELATIONS = ("==", "<=", "<", ">=", ">")


@dataclass(frozen=True)
class StepsVerdict(StepsDisplay):
    """The outcome of :func:`verify_steps`.

    steps        the expressions e0, e1, ... as given
    relations    the relation checked between e_k and e_{k+1}, one per pair
    verdicts     one Verdict per consecutive pair (e_k, e_{k+1})
    first_wrong  the index k of the first pair that is refuted (e_k does not relate to
                 e_{k+1}), or None when no pair is refuted
    """

    steps: tuple
    relations: tuple
    verdicts: tuple

    @property
    def first_wrong(self):
        return next((k for k, v in enumerate(self.verdicts) if v.status == "refuted"), None)

    @property
    def ok(self):
        """True when no step is refuted."""
        return self.first_wrong is None

    @property
    def counterexample(self):
        """The certified counterexample of the first wrong step (None when there is none)."""
        k = self.first_wrong
        return None if k is None else self.verdicts[k].counterexample

    def __str__(self):
        lines = []
        for k, (v, rel) in enumerate(zip(self.verdicts, self.relations)):
            lines.append("step %d -> %d: %s %s %s: %s (%s)"
                         % (k, k + 1, self.steps[k], rel, self.steps[k + 1], v.status, v.method))
        k = self.first_wrong
        if k is None:
            lines.append("every step holds")
        else:
            v = self.verdicts[k]
            at = ", ".join("%s = %s" % item for item in v.counterexample.items())
            lines += ["first wrong step: %d -> %d" % (k, k + 1),
                      "  counterexample: %s" % (at or "(no free symbols)"),
                      "  step %d = %s, step %d = %s" % (k, _one_line(v.lhs_value), k + 1,
                                                        _one_line(v.rhs_value))]
            if v.enclosure:
                lines.append("  certified: %s" % v.enclosure)
        return "\n".join(lines)


def _one_line(value):
    return str(value.tolist()) if isinstance(value, sp.MatrixBase) else str(value)


def _relations(relation, pairs):
    rels = (relation,) * pairs if isinstance(relation, str) else tuple(relation)
    if len(rels) != pairs or any(r not in RELATIONS for r in rels):
        raise ArgumentError("relation must be one of %s, or a list of them with one per "
                            "consecutive pair (%d here); got %r" % (", ".join(RELATIONS), pairs,
                                                                    relation))
    return rels


def verify_steps(steps: list, relation: str = "==", assumptions: "list | tuple" = (),
                 seed: int = 0, *, budget: float = 5.0,
                 points: "int | None" = None) -> StepsVerdict:
    """Check a derivation e0, e1, e2, ... step by step: each consecutive pair with ``verify``.

    ``relation`` holds between e_k and e_{k+1} for every k ("==" by default; a list gives one
    relation per pair, e.g. ["==", "<="]); ``assumptions``, ``seed``, ``budget`` and
    ``points`` are passed to ``verify``. Every pair is checked, so ``s.verdicts`` has one
    Verdict per pair: proven or probable for a right step, refuted with a certified
    counterexample for a wrong one (a pair that no point was evaluated for within ``budget`` is
    checked again with twice the time, up to 8 times it). ``s.first_wrong`` is the index k of
    the first refuted pair (None when none is), ``s.counterexample`` its counterexample;
    ``str(s)`` shows all.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> s = verify_steps([(x + 1)**2, x**2 + 2*x + 1, x*(x + 2) + 1, x**2 + 1], budget=1)
    >>> s.first_wrong, [v.status for v in s.verdicts[:2]]
    (2, ['proven', 'proven'])
    >>> s.counterexample[x] != 0
    True
    """
    steps = tuple(steps) if isinstance(steps, (list, tuple)) else None
    if steps is None or len(steps) < 2:
        raise ArgumentError("verify_steps needs a list of at least two expressions (the "
                            "derivation e0, e1, ...); got %r" % (steps,))
    rels = _relations(relation, len(steps) - 1)
    verdicts = tuple(_compared(a, b, seed, budget, relation=rel, assumptions=assumptions,
                               points=points) for a, b, rel in zip(steps, steps[1:], rels))
    return StepsVerdict(steps, rels, verdicts)


# --- symgrad's own sheet, checked --------------------------------------------------------

def _canonical(expr):
    """expr with the arguments of commutative matrix nodes (sums, Hadamard products) sorted."""
    if not isinstance(expr, sp.Basic) or not expr.args or isinstance(expr, sp.Lambda):
        return expr
    if isinstance(expr, sp.MatrixBase):          # the blocks of a BlockMatrix
        return expr.applyfunc(_canonical)
    args = [_canonical(a) for a in expr.args]
    if isinstance(expr, (sp.MatAdd, sp.HadamardProduct)):
        args.sort(key=sp.default_sort_key)
    return sp.Basic.__new__(type(expr), *args)


def derivation(expr: "sp.Expr", wrt: "list | sp.MatrixSymbol | sp.Symbol", *, seed: int = 0,
               budget: float = 2.0) -> Derivation:
    """The backpropagation sheet of ``expr``'s gradient with respect to ``wrt``, every step
    checked against what ``grad`` derives.

    ``d.steps`` is [(name, expression), ...]: the forward definitions (Z1 = X W1 + 𝟏 b1,
    H = tanh(Z1), ..., L = ...), then the adjoints (∂L/∂Z2 = (softmax(Z2) - Y)/n,
    ∂L/∂W2 = Hᵀ ∂L/∂Z2, ...), each in terms of the names before it. Each step, with the
    earlier steps substituted back, is compared with the value ``grad`` raises for the same
    node (for a parameter: ``grad(expr, w)`` itself): the same expression up to the order of
    sums and Hadamard products, or else ``verify`` (``seed``, ``budget``) must not refute it.
    ``d.checks`` lists (name, how). A refuted step raises SymgradError: the sheet would have
    drifted from the code. ``str(d)``, ``d.markdown()``, ``d.latex()``; Jupyter shows it.

    >>> import sympy as sp
    >>> w, x, y, b = sp.symbols("w x y b")
    >>> print(derivation((w*x + b - y)**2, [w, b]))
    forward:
      z = b + w*x - y
      L = z**2
    backward:
      ∂L/∂z = 2*z
      ∂L/∂w = 2*x*z
      ∂L/∂b = ∂L/∂z
    """
    return check_sheet(build_sheet(expr, wrt), seed=seed, budget=budget)


def check_sheet(d, *, seed=0, budget=2.0):
    """Check every step of a sheet against grad's value for it (see ``derivation``); fills
    ``d.checks`` and returns ``d``, or raises SymgradError naming the first step that fails."""
    full = d.expanded()
    for name, _ in d.steps:
        reference = d.references[name]
        if _canonical(full[name]) == _canonical(reference):
            d.checks.append((name, "the same expression as grad's"))
            continue
        v = _compared(full[name], reference, seed, budget)
        if v.status == "refuted":
            raise SymgradError("derivation step %s does not reproduce grad's result: %s"
                               % (name, v))
        if v.status != "proven" and v.points == 0:
            raise SymgradError("derivation step %s could not be checked against grad's result: "
                               "no point was evaluated within %g s (%s); give derivation a "
                               "larger budget" % (name, budget * 2 ** RETRIES, v.note))
        d.checks.append((name, v))
    return d


RETRIES = 3          # a check that evaluated no point is tried again with twice the budget


def _compared(step, reference, seed, budget, **options):
    """verify(step, reference, ...), again with a doubled budget while no point was evaluated
    (a loaded machine can spend a short budget before the first point)."""
    for attempt in range(RETRIES + 1 if budget > 0 else 1):      # budget 0: sampling only
        v = verify(step, reference, seed=seed, budget=budget * 2 ** attempt, **options)
        if v.status != "probable" or v.points > 0:
            return v
    return v
