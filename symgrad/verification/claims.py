"""Claims and the ``symgrad prove`` runner.

A proof file in ``proofs/`` holds a list ``CLAIMS`` of :class:`Claim` objects;
each claim is decided by :func:`symgrad.verify` and compared with the verdict it
expects. ``run(paths)`` loads each file in a worker process and decides its claims
there, each with a hard time limit (:mod:`.isolate`): a claim that raises, calls
``sys.exit`` or overruns, and a file that cannot be loaded, is a failed row and the
rest still run. It prints a table (claim, expected, verdict, method, time) and
returns exit code 1 if any verdict differs from the expected one. ``--report FILE``
writes a Markdown report with LaTeX formulas; it holds no timings, so it is the
same on every run."""

import importlib.util
import os
import sys
import time
import typing
from dataclasses import dataclass, field

import sympy as sp

from ..errors import ArgumentError, SymgradError
from ..files import check_target, write_atomic
from .api import verify
from .isolate import describe, run_isolated

__all__ = ["Claim", "ClaimResult", "run", "run_claims", "load_claims", "render_report"]

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


@dataclass(frozen=True)
class ClaimResult:
    """One row of the table and the report, as plain text: what a worker process sends back."""

    statement: str
    expect: str
    status: str
    method: str
    seconds: float = 0.0
    formula: str = ""
    counterexample: str = ""

    @property
    def passed(self):
        return self.status == self.expect


def _row(claim):
    """The ClaimResult of a checked claim (a ClaimResult is returned as it is)."""
    if isinstance(claim, ClaimResult):
        return claim
    v = claim.verdict
    point = ""
    if v.status == "refuted" and isinstance(v.counterexample, dict) and v.counterexample:
        point = ", ".join("%s = %s" % (k, _short(val)) for k, val in
                          sorted(v.counterexample.items(), key=lambda kv: str(kv[0])))
    formula = getattr(claim, "formula_text", None) or _formula(claim)
    return ClaimResult(str(claim.statement), claim.expect, v.status, str(v.method),
                       claim.seconds, formula, point)


def _decide(claim):
    """Check one claim in the worker; whatever it raises (SystemExit too) is a failed row."""
    start = time.perf_counter()
    try:
        claim.check()
        return _row(claim)
    except BaseException as exc:       # noqa: B036 - reported as the claim's failure
        return _failed(_head(claim), describe(exc), time.perf_counter() - start)


def _head(claim):
    """What the parent needs to report a claim that never returns: (statement, expect,
    budget, formula); the formula is kept on the claim for its row."""
    try:
        claim.formula_text = _formula(claim)
    except Exception as exc:                   # shown in the row; the claim still runs
        claim.formula_text = "(no formula: %s)" % describe(exc)
    return str(claim.statement), claim.expect, claim.budget, claim.formula_text


def _failed(head, why, seconds=0.0):
    if head is None:
        return ClaimResult("(the file could not be loaded)", "-", "error", why, seconds)
    return ClaimResult(head[0], head[1], "error", why, seconds, head[3])


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
            if not p.endswith(".py"):
                raise SymgradError("%s is not a Python file; proof files are proofs/*.py" % p)
            out.append(p)
        elif p == "proofs":
            raise SymgradError("no proofs/ directory here: run symgrad prove from the root of the "
                               "symgrad repository, or pass proof files (symgrad prove PATH...)")
        else:
            raise SymgradError("%s does not exist; pass proof files or the proofs/ directory" % p)
    if not out:
        raise SymgradError("no proof files found in %s" % ", ".join(paths))
    return out


def _limits(timeout):
    """A claim's hard limit: ``timeout`` seconds, or by default 4 times its verify budget + 30 s
    (verify may overrun its budget on a loaded machine; the limit is for claims that hang)."""
    if timeout is None:
        return lambda head: 4 * float(head[2]) + 30.0
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 1e6:
        raise ArgumentError("timeout must be a number of seconds in (0, 1e6), got %r" % (timeout,))
    return lambda head: float(timeout)


def _run_source(load, name, stream, limit_of):
    """Run one file (or list) of claims isolated, printing rows as they come; return (title, rows)."""
    title, rows = [name], []

    def on_title(text):
        title[0] = text if text is not None else "%s could not be loaded" % name
        if title[0]:
            print("== %s" % title[0], file=stream)
        print("%-72s %-9s %-9s %-6s %s" % ("claim", "expected", "verdict", "time", "method"),
              file=stream)

    def on_row(_, r):
        rows.append(r)
        mark = "" if r.passed else "   <-- expected %s" % r.expect
        print("%-72s %-9s %-9s %5.1fs %s%s" % (r.statement[:72], r.expect, r.status, r.seconds,
                                                r.method, mark), file=stream)
        stream.flush()

    run_isolated(load, _head, _decide, _failed, limit_of, on_title, on_row)
    return title[0], rows


def run_claims(claims: list, title: str = "", stream: "typing.TextIO | None" = None,
               timeout: "float | None" = None) -> int:
    """Check claims, print the table, return 0 if every verdict is the expected one, else 1.

    Each claim runs in a worker process with a hard limit (``timeout`` seconds, by default
    4 times its budget + 30 s): a claim that raises, exits or overruns is a failed row."""
    stream = stream or sys.stdout
    limit_of = _limits(timeout)
    _, rows = _run_source(lambda: (title, list(claims)), title, stream, limit_of)
    for c, r in zip(claims, rows):
        c.verdict, c.seconds = _Undecided(r.status, r.method, r.counterexample or None), r.seconds
    return 0 if len(rows) == len(claims) and all(r.passed for r in rows) else 1


def run(paths=("proofs",), report=None, force=False, stream=None, timeout=None):
    """Run proof files (or directories of them); optionally write the Markdown report.

    Each file loads in its own worker process and each claim has a hard limit (see
    run_claims); a file that cannot be loaded is one failed row and the others still run.
    Returns 0 if every claim reached its expected verdict, else 1."""
    stream = stream or sys.stdout
    files = _files(list(paths))
    limit_of = _limits(timeout)
    if report:
        check_target(report, force=force)           # before the run, not after
    sections = []
    for path in files:
        title, rows = _run_source(lambda path=path: load_claims(path), path, stream, limit_of)
        sections.append((os.path.basename(path), title, rows))
        print(file=stream)
    total = sum(len(rows) for _, _, rows in sections)
    failed = sum(not r.passed for _, _, rows in sections for r in rows)
    print("%d claims, %d as expected, %d not" % (total, total - failed, failed), file=stream)
    if report:
        write_atomic(report, render_report(sections), force=force)
        print("report written to %s" % report, file=stream)
    return 1 if failed else 0


def render_report(sections):
    """Markdown with LaTeX formulas, one table per proof file; no run-dependent text.

    ``sections``: (file name, title, claims) with checked Claims or ClaimResults."""
    lines = ["# symgrad proofs", "",
             "Every formula of the article, derived and checked by `symgrad prove`. "
             "*proven*: a symbolic route reached zero; *probable*: agreement at many "
             "random points, no proof; *refuted*: an exact counterexample.", ""]
    counts = {v: 0 for v in VERDICTS + ("error",)}
    for filename, title, claims in sections:
        lines += ["## %s" % title, "", "`proofs/%s`" % filename, "",
                  "| claim | formula | expected | verdict | method |", "|---|---|---|---|---|"]
        for r in map(_row, claims):
            counts[r.status if r.status in counts else "error"] += 1
            ok = "" if r.passed else " **(expected %s)**" % r.expect
            lines.append("| %s | %s | %s | %s%s | %s |" % (
                _cell(r.statement), r.formula, r.expect, r.status, ok, _cell(r.method)))
            if r.counterexample:
                lines.append("| | counterexample: %s | | | |" % _cell(r.counterexample))
        lines.append("")
    shown = VERDICTS + (("error",) if counts["error"] else ())
    lines.append("Totals: %s." % ", ".join("%d %s" % (counts[v], v) for v in shown))
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
