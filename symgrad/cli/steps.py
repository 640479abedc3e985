"""The ``--steps`` parts of the command line: ``symgrad derive --steps`` prints the
backpropagation sheet (``symgrad.derivation``), ``symgrad verify --steps FILE`` checks a file of
hand-derived steps pair by pair (``symgrad.verify_steps``; the file format is in
:mod:`symgrad.parse.steps`). User text goes through :mod:`symgrad.parse` only.
"""
from __future__ import annotations

import argparse
import os
import stat

import sympy as sp

from ..errors import ArgumentError, ParseError
from ..parse.guards import short
from ..parse.steps import MAX_BYTES, parse_steps
from ..parse.text import to_text
from ..verification.steps import derivation, verify_steps

__all__ = ["add_derive_options", "add_verify_options", "run_sheet", "print_sheet", "run_steps_file",
           "read_steps_file", "SHEET_FORMATS"]

SHEET_FORMATS = ("text", "markdown", "latex")


def add_derive_options(p: "argparse.ArgumentParser") -> None:
    """``--steps [FORMAT]`` of ``symgrad derive``."""
    p.add_argument("--steps", nargs="?", const="text", choices=SHEET_FORMATS, metavar="FORMAT",
                   help="print the backpropagation sheet instead: forward definitions, then "
                        "each adjoint, every step checked against the gradient; FORMAT is "
                        "text (default), markdown or latex")


def add_verify_options(p: "argparse.ArgumentParser") -> None:
    """``--steps FILE`` of ``symgrad verify``."""
    p.add_argument("--steps", metavar="FILE",
                   help="check a file of hand-derived steps, each against the one before: one "
                        "formula per line, optionally after a relation (== <= < >= >); "
                        "'matrix X:n,d' and 'assume x > 0' lines declare; # comments")


# --- derive --steps ---------------------------------------------------------------------------

def run_sheet(args: "argparse.Namespace", expr: "sp.Expr", wrt: list, seed: int) -> int:
    """``symgrad derive EXPR --wrt ... --steps [FORMAT]``: the exit code (0; errors raise)."""
    given = [o for o, on in (("--latex", args.latex), ("--pretty", args.pretty),
                             ("--code", args.code), ("--stable", args.stable),
                             ("--backend", getattr(args, "backend", "numpy") != "numpy")) if on]
    if given:
        raise ArgumentError("--steps prints the derivation sheet alone; drop %s (for LaTeX "
                            "write --steps latex)" % " and ".join(given))
    print_sheet(expr, wrt, args.steps, seed)
    return 0


def print_sheet(expr: "sp.Expr", wrt: list, style: str, seed: int) -> None:
    """Print the checked sheet of ``expr`` (``style``: text, markdown or latex)."""
    if len(set(wrt)) != len(wrt):
        raise ArgumentError("--wrt names a parameter more than once")
    if expr.has(sp.Indexed) or expr.has(sp.IndexedBase):
        raise ArgumentError("--steps writes sheets for scalar and matrix formulas; a formula in "
                            "index notation (Sum, x[i]) has none: drop --steps")
    d = derivation(expr, wrt, seed=seed)
    if style == "markdown":
        print(d.markdown(), end="")                        # it ends with the checks
        return
    print(d.latex() if style == "latex" else d)
    note = d.check_summary()
    print(note if style == "text" else "%% %s" % note)


# --- verify --steps FILE ----------------------------------------------------------------------

def read_steps_file(path: str) -> str:
    """The text of a steps file: a regular file of at most MAX_BYTES bytes of UTF-8."""
    info = os.stat(path)                                   # OSError: main prints it
    if not stat.S_ISREG(info.st_mode):
        raise ParseError("--steps: %s is not a regular file" % short(path))
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ParseError("--steps: %s is larger than %d bytes; split the derivation"
                         % (short(path), MAX_BYTES))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError("--steps: %s is not UTF-8 text (byte %d)" % (short(path), e.start + 1)) \
            from None


def _text(expr):
    return to_text(expr, fallback=True)


def run_steps_file(args: "argparse.Namespace", formulas, options: tuple) -> int:
    """``symgrad verify --steps FILE``: the exit code (1 when a step is refuted).
    ``formulas`` holds the --matrix declarations; ``options`` is (seed, budget, points)."""
    for name in ("hand", "reference", "grad_of", "wrt"):
        if getattr(args, name, None):
            raise ArgumentError("--steps FILE takes the derivation from the file; give no HAND, "
                                "REFERENCE, --grad-of or --wrt with it")
    name = os.path.basename(args.steps) or args.steps
    steps = parse_steps(read_steps_file(args.steps), name, relation=args.relation,
                        matrices=formulas.shapes)
    assumptions = [formulas.relation(text) for text in args.assume] + steps.assumptions
    seed, budget, points = options
    result = verify_steps(steps.steps, steps.relations, assumptions, seed, budget=budget,
                          points=points)
    for k, (v, rel) in enumerate(zip(result.verdicts, result.relations)):
        print("line %d -> %d: %s %s %s: %s (%s)" % (
            steps.lines[k], steps.lines[k + 1], _text(steps.steps[k]), rel,
            _text(steps.steps[k + 1]), v.status, v.method))
    k = result.first_wrong
    if k is None:
        print("every step holds (%d step%s)" % (len(result.verdicts),
                                                "" if len(result.verdicts) == 1 else "s"))
        return 0
    v = result.verdicts[k]
    at = ", ".join("%s = %s" % (s, _one_line(x)) for s, x in v.counterexample.items())
    print("first wrong step: line %d -> line %d" % (steps.lines[k], steps.lines[k + 1]))
    print("  counterexample: %s" % (at or "(no free symbols)"))
    print("  line %d = %s, line %d = %s" % (steps.lines[k], _one_line(v.lhs_value),
                                            steps.lines[k + 1], _one_line(v.rhs_value)))
    if v.enclosure:
        print("  certified: %s" % v.enclosure)
    return 1


def _one_line(value):
    return str(value.tolist()) if hasattr(value, "tolist") else str(value)
