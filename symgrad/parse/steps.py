"""A file of hand-derived steps (``symgrad verify --steps FILE``), read through the formula parser.

The format, one item per line::

    # the gradient of a squared error, by hand       <- a comment (# to the end of a line)
    matrix X:n,d w:d,1 y:n,1                         <- declares matrices, as --matrix does
    assume lam > 0                                   <- an assumption, as --assume
    sum((X @ w - y)**2) + lam*sum(w**2)              <- the first step, e0
    == sum((X @ w)**2) - 2*sum(y*(X @ w)) + sum(y**2) + lam*sum(w**2)
    >= -2*sum(y*(X @ w)) + sum(y**2)                 <- e2, with e1 >= e2

Every other line is a step: a formula in the syntax of the command line, optionally after a
relation (``==`` or ``=``, ``<=``, ``<``, ``>=``, ``>``) saying how the step before relates to
it; a step without one uses the default relation (``--relation``, ``==`` unless given).
``matrix`` and ``assume`` lines may stand anywhere; blank lines are skipped. Each formula,
declaration and assumption goes through :mod:`symgrad.parse` (the ``ast`` whitelist: nothing
is evaluated), and an error names the file's line. The file is UTF-8 text of at most
``MAX_BYTES`` bytes and ``MAX_STEPS`` steps.

>>> s = parse_steps("# expand\\n(x + 1)**2\\n== x**2 + 2*x + 1\\n>= 2*x\\n", "steps.txt")
>>> s.steps, s.relations, s.lines
([(x + 1)**2, x**2 + 2*x + 1, 2*x], ['==', '>='], [2, 3, 4])
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .expr import parse_expr, parse_matrix_decl, parse_relation
from .guards import fail, short
from ..errors import ParseError

__all__ = ["StepsFile", "parse_steps", "MAX_BYTES", "MAX_STEPS", "RELATIONS"]

MAX_BYTES = 64 * 1024
MAX_STEPS = 100
RELATIONS = ("==", "<=", "<", ">=", ">")
_RELATION = re.compile(r"\s*(==|=|<=|>=|<|>)")
_DIRECTIVE = re.compile(r"\s*(matrix|assume)(\s+|\Z)")


@dataclass
class StepsFile:
    """What a steps file says: the steps e0, e1, ... (SymPy), the relation between each
    consecutive pair, the line of each step, the declared matrix shapes and the assumptions."""

    steps: list = field(default_factory=list)
    relations: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    matrices: dict = field(default_factory=dict)
    assumptions: list = field(default_factory=list)


def _content(line):
    """The line without its comment (# never occurs in a formula)."""
    return line.split("#", 1)[0]


def _declare(matrices, text, where):
    items = text.split()
    if not items:
        fail(where, "a matrix line declares nothing", "write e.g. matrix X:n,d W:d,k")
    for item in items:
        try:
            name, shape = parse_matrix_decl(item)
        except ParseError as e:
            raise ParseError("%s: %s" % (where, e)) from None
        if name in matrices:
            fail(where, "%s is declared twice" % name, "declare each matrix once")
        matrices[name] = shape


def parse_steps(text: str, name: str = "steps file", *, relation: str = "==",
                matrices: "dict | None" = None) -> StepsFile:
    """Read a steps file (the text above) into a :class:`StepsFile`.

    ``name`` names the file in error messages (``steps.txt line 4: ...``); ``relation`` is the
    default relation for steps written without one; ``matrices`` adds shapes declared elsewhere
    (the command line's ``--matrix``) to the file's own. Any problem raises ParseError, one
    line naming the file's line.
    """
    if relation not in RELATIONS:
        fail(name, "unknown default relation %s" % short(relation), "use one of ==, <=, <, >=, >")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        fail(name, "too large (more than %d bytes)" % MAX_BYTES, "split the derivation")
    out = StepsFile(matrices=dict(matrices or {}))
    rows = [(i + 1, _content(line.rstrip("\r"))) for i, line in enumerate(text.split("\n"))]
    rest = []
    for number, line in rows:                        # declarations first: steps may use them
        where = "%s line %d" % (name, number)
        directive = _DIRECTIVE.match(line)
        if directive and directive.group(1) == "matrix":
            _declare(out.matrices, line[directive.end():], where)
        elif line.strip():
            rest.append((number, line, directive))
    for number, line, directive in rest:
        where = "%s line %d" % (name, number)
        if directive:                                # assume RELATION
            blank = " " * directive.end()
            try:
                out.assumptions.append(parse_relation(blank + line[directive.end():],
                                                      matrices=out.matrices))
            except ParseError as e:
                raise ParseError("%s: %s" % (where, e)) from None
            continue
        _step(out, line, where, number, relation)
    if len(out.steps) < 2:
        fail(name, "%d step%s found; a derivation needs at least two (one formula per line)"
             % (len(out.steps), "" if len(out.steps) == 1 else "s"),
             "write the first expression on one line and each next step on its own line")
    return out


def _step(out, line, where, number, default):
    m = _RELATION.match(line)
    rel = None
    if m:
        rel = "==" if m.group(1) == "=" else m.group(1)
        line = " " * m.end() + line[m.end():]       # columns in messages stay the file's
        if not out.steps:
            fail(where, "the first step has a relation (%s) but nothing before it" % rel,
                 "write the first expression alone on its line")
    if len(out.steps) >= MAX_STEPS:
        fail(where, "more than %d steps" % MAX_STEPS, "split the derivation")
    out.steps.append(parse_expr(line, matrices=out.matrices, what=where))
    out.lines.append(number)
    if len(out.steps) > 1:
        out.relations.append(rel or default)
