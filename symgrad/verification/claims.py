"""Claims and the ``symgrad prove`` runner.

A proof file in ``proofs/`` holds a list ``CLAIMS`` of :class:`Claim` objects;
each claim is decided by :func:`symgrad.verify` and compared with the verdict it
expects. ``run(paths)`` loads the files, prints a table (claim, expected,
verdict, method, time) and returns exit code 1 if any verdict differs from the
expected one. ``--report FILE`` writes a Markdown report with LaTeX formulas;
it holds no timings, so it is the same on every run.
"""

import importlib.util
import os
import sys
import time
from dataclasses import dataclass, field

import sympy as sp

from ..errors import SymgradError
from ..files import check_target, write_atomic
from .api import verify

__all__ = ["Claim", "run", "run_claims", "load_claims", "render_report"]

VERDICTS = ("proven", "probable", "refuted")


@dataclass
class Claim:
    """One machine-checked statement: ``lhs relation rhs`` under ``assumptions``.

    ``statement`` says what is claimed in words; ``hand`` is the textbook or
    article form it came from (text, optional). ``expect`` is the verdict it
    must reach: "proven", "probable" (only sampling supports it) or "refuted"
    (a mistake the claim exposes).

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> c = Claim("square of a sum", (x + 1)**2, x**2 + 2*x + 1, expect="proven")
    >>> c.check().status
    'proven'
    """

    statement: str
    lhs: object
    rhs: object
    expect: str = "proven"
    relation: str = "=="
    assumptions: tuple = ()
    hand: str = ""
    seed: int = 0
    budget: float = 30.0
    verdict: object = field(default=None, repr=False)
    seconds: float = field(default=0.0, repr=False)

    def __post_init__(self):
        if self.expect not in VERDICTS:
            raise SymgradError("claim %r expects %r; use one of %s"
                               % (self.statement, self.expect, ", ".join(VERDICTS)))

    def check(self):
        """Decide the claim with verify; remember and return the Verdict. A claim verify
        cannot decide (a SymgradError) gets the status "error", which no claim expects."""
        start = time.perf_counter()
        try:
            self.verdict = verify(self.lhs, self.rhs, relation=self.relation,
                                  assumptions=tuple(self.assumptions), seed=self.seed,
                                  budget=self.budget)
        except SymgradError as e:
            self.verdict = _Undecided("error", "%s: %s" % (type(e).__name__, e))
        self.seconds = time.perf_counter() - start
        return self.verdict

    @property
    def passed(self):
        return self.verdict is not None and self.verdict.status == self.expect


@dataclass
class _Undecided:
    """The verdict of a claim verify raised on: it fails, and says why."""

    status: str
    method: str
    counterexample: object = None


def load_claims(path):
    """The CLAIMS list and title (module docstring) of one proof file."""
    name = "symgrad_proof_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path) if path.endswith(".py") else None
    if spec is None or spec.loader is None:
        raise SymgradError("%s is not a Python file; proof files are proofs/*.py" % path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the project's own proof file, not user text
    claims = getattr(module, "CLAIMS", None)
    if not isinstance(claims, list) or not all(isinstance(c, Claim) for c in claims):
        raise SymgradError("%s has no CLAIMS list of symgrad.Claim objects" % path)
    title = (module.__doc__ or os.path.basename(path)).strip().splitlines()[0]
    return title, claims


def _files(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            out += sorted(os.path.join(p, f) for f in os.listdir(p)
                          if f.endswith(".py") and not f.startswith("_"))
        elif os.path.isfile(p):
            out.append(p)
        elif p == "proofs":
            raise SymgradError("no proofs/ directory here: run symgrad prove from the root of the "
                               "symgrad repository, or pass proof files (symgrad prove PATH...)")
        else:
            raise SymgradError("%s does not exist; pass proof files or the proofs/ directory" % p)
    if not out:
        raise SymgradError("no proof files found in %s" % ", ".join(paths))
    return out


def run_claims(claims: list, title: str = "", stream: "typing.TextIO | None" = None) -> int:
    """Check claims, print the table, return 0 if every verdict is the expected one, else 1."""
    stream = stream or sys.stdout
    if title:
        print("== %s" % title, file=stream)
    print("%-72s %-9s %-9s %-6s %s" % ("claim", "expected", "verdict", "time", "method"), file=stream)
    failed = 0
    for c in claims:
        v = c.check()
        mark = "" if c.passed else "   <-- expected %s" % c.expect
        failed += not c.passed
        print("%-72s %-9s %-9s %5.1fs %s%s" % (c.statement[:72], c.expect, v.status, c.seconds,
                                                v.method, mark), file=stream)
    return 1 if failed else 0


def run(paths=("proofs",), report=None, force=False, stream=None):
    """Run proof files (or directories of them); optionally write the Markdown report."""
    stream = stream or sys.stdout
    if report:
        check_target(report, force=force)           # before the run, not after
    loaded = []
    for path in _files(list(paths)):
        try:
            loaded.append(load_claims(path))
        except SymgradError:
            raise
        except Exception as e:      # a broken proof file is bad input, named before any claim runs
            raise SymgradError("%s could not be loaded: %s: %s" % (path, type(e).__name__, e)) from e
    sections, status, total, failed = [], 0, 0, 0
    for path, (title, claims) in zip(_files(list(paths)), loaded):
        status |= run_claims(claims, title, stream)
        total += len(claims)
        failed += sum(not c.passed for c in claims)
        sections.append((os.path.basename(path), title, claims))
        print(file=stream)
    print("%d claims, %d as expected, %d not" % (total, total - failed, failed), file=stream)
    if report:
        write_atomic(report, render_report(sections), force=force)
        print("report written to %s" % report, file=stream)
    return status


def render_report(sections):
    """Markdown with LaTeX formulas, one table per proof file; no run-dependent text."""
    lines = ["# symgrad proofs", "",
             "Every formula of the article, derived and checked by `symgrad prove`. "
             "*proven*: a symbolic route reached zero; *probable*: agreement at many "
             "random points, no proof; *refuted*: an exact counterexample.", ""]
    counts = {v: 0 for v in VERDICTS}
    for filename, title, claims in sections:
        lines += ["## %s" % title, "", "`proofs/%s`" % filename, "",
                  "| claim | formula | expected | verdict | method |", "|---|---|---|---|---|"]
        for c in claims:
            v = c.verdict
            counts[v.status] += 1
            ok = "" if c.passed else " **(expected %s)**" % c.expect
            lines.append("| %s | %s | %s | %s%s | %s |" % (
                _cell(c.statement), _formula(c), c.expect, v.status, ok, _cell(v.method)))
            if v.status == "refuted" and v.counterexample:
                point = ", ".join("%s = %s" % (k, _short(val)) for k, val in
                                  sorted(v.counterexample.items(), key=lambda kv: str(kv[0])))
                lines.append("| | counterexample: %s | | | |" % _cell(point))
        lines.append("")
    lines.append("Totals: %s." % ", ".join("%d %s" % (counts[v], v) for v in VERDICTS))
    return "\n".join(lines) + "\n"


def _formula(c):
    rel = {"==": "=", "<=": r"\le", "<": "<", ">=": r"\ge", ">": ">"}[c.relation]
    text = r"%s %s %s" % (_latex(c.lhs), rel, _latex(c.rhs))
    if c.assumptions:
        text += r" \quad (%s)" % r",\ ".join(_latex(a) for a in c.assumptions)
    return "$%s$" % text if len(text) < 400 else "(formula too long to show)"


def _latex(e):
    return sp.latex(e).replace("|", r"\vert ").replace("\n", " ")


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _short(value, limit=60):
    text = sp.sstr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
