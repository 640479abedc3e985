"""``symgrad verify``: HAND against REFERENCE, or against the gradient of --grad-of EXPR."""

import sympy as sp

from ..derive.reverse import grad
from ..errors import ArgumentError
from ..parse.text import to_text
from ..verification.api import verify
from .commands import MAX_SEED, Formulas, index_notation, integer, number
from .steps import run_steps_file

__all__ = ["run_verify"]


def run_verify(args):
    seed = integer(args.seed, "--seed", 0, MAX_SEED)
    points = None if args.points is None else integer(args.points, "--points", 1, 1000)
    budget = number(args.budget, "--budget", 0, 600, low_open=False)     # 0: sampling only
    formulas = Formulas(args.matrix, index_notation(args.hand, args.reference, args.grad_of))
    if args.steps is not None:
        return run_steps_file(args, formulas, (seed, budget, points))
    if args.hand is None:
        raise ArgumentError("give HAND and REFERENCE (or --grad-of EXPR --wrt NAME), or "
                            "--steps FILE")
    hand = formulas.expr(args.hand, "HAND")
    if args.grad_of is not None:
        if args.reference is not None:
            raise ArgumentError("give either REFERENCE or --grad-of EXPR, not both")
        if not args.wrt or len(args.wrt) != 1:
            raise ArgumentError("--grad-of needs --wrt with exactly one parameter (HAND is "
                                "one gradient)")
        reference = _gradient(formulas.expr(args.grad_of, "--grad-of"),
                              formulas.symbol(args.wrt[0], "--wrt"), hand)
    elif args.reference is None:
        raise ArgumentError("give REFERENCE, or --grad-of EXPR --wrt NAME to compare HAND "
                            "with a gradient")
    else:
        if args.wrt:
            raise ArgumentError("--wrt is only used with --grad-of")
        reference = formulas.expr(args.reference, "REFERENCE")
    assumptions = [formulas.relation(text) for text in args.assume]
    verdict = verify(hand, reference, relation=args.relation, assumptions=assumptions,
                     seed=seed, budget=budget, points=points)
    lines = str(verdict).splitlines()               # the claim, in the syntax it was given
    lines[0] = "verify: %s %s %s" % (to_text(hand, fallback=True), args.relation,
                                     to_text(reference, fallback=True))
    print("\n".join(lines))
    return 1 if verdict.status == "refuted" else 0


def _gradient(loss, wrt, hand):
    """The gradient of ``loss`` in ``wrt``; for an IndexedBase, at the free indices HAND uses
    (the gradient's entry w[j] when HAND is written in j), so both sides speak of one entry."""
    if not isinstance(wrt, sp.IndexedBase):
        return grad(loss, wrt)
    bound = set()
    for s in hand.atoms(sp.Sum):
        bound |= {limit[0] for limit in s.limits}
    free = []
    for a in sorted(hand.atoms(sp.Indexed), key=lambda a: (a.base != wrt, str(a))):
        for index in a.indices:
            for sym in sorted(index.free_symbols, key=str):
                if sym in hand.free_symbols and sym not in bound and sym not in free \
                        and sym.is_integer:
                    free.append(sym)
    rank = max((len(a.indices) for a in loss.atoms(sp.Indexed) if a.base == wrt), default=0)
    if len(free) != rank:
        return grad(loss, wrt)            # the gradient picks its own indices
    return grad(loss, wrt[tuple(free)])
