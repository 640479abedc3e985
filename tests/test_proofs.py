"""Every claim in proofs/ reaches the verdict it expects, honestly, and proofs/REPORT.md is current.

One test per claim (so a failure names the claim), then the rules the proof
files must follow as a whole:

- at least 30 claims, at least 2 of them refuted;
- a "proven" verdict names a symbolic proof route, never sampling; a
  "probable" one names sampling; a "refuted" one carries a counterexample at
  which the relation really fails (re-evaluated by the tests' own evaluator,
  ``helpers.assert_counterexample``);
- each file uses only ``import symgrad as sg`` (names in ``sg.__all__``) and ends with the
  ``__main__`` block that runs it on its own;
- proofs/REPORT.md equals the report rendered from this run, holds no timings,
  and a second run, ``python -m symgrad prove --report`` in a subprocess with another
  PYTHONHASHSEED, writes the same text for the files it proves (three files that reach
  the matrix, quotient and softmax routes: the whole collection twice cost a minute of CPU).
"""

import ast
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import symgrad as sg
from helpers import assert_counterexample
from symgrad.verification.claims import load_claims, render_report   # the runner's loader and report

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "proofs"
REPORT = PROOFS / "REPORT.md"
FILES = sorted(p for p in PROOFS.glob("*.py") if not p.name.startswith("_"))
SECOND_RUN = ("linear_regression.py", "matrix_cookbook.py", "softmax.py")

# Names of verify's symbolic proof routes (symgrad/verification/routes.py). A proven
# verdict must name one of them, possibly wrapped as "matrix canonical form + R",
# "explicit entries + R" or "principal minors (R)".
ROUTES = ("structural", "index sums", "expand", "cancel/together", "trigsimp", "exp/log rewrite",
          "Piecewise folding", "simplify", "sign analysis", "sum of squares", "quadratic form",
          "real root isolation", "matrix canonical form", "PSD structure",
          r"exact PSD test (LDL^T)")
_ROUTE = "(?:%s)" % "|".join(re.escape(r) for r in ROUTES)
SYMBOLIC = re.compile(r"^(?:{r}|matrix canonical form \+ {r}|explicit entries \+ {r}"
                      r"|principal minors \({r}\))$".format(r=_ROUTE))
SAMPLED = re.compile(r"^random points, ")
REFUTED = re.compile(r"^counterexample, ")


def _load(path):
    try:
        title, claims = load_claims(str(path))
    except Exception as exc:          # reported by test_file_loads, not a collection error
        return None, None, "%s: %s" % (type(exc).__name__, exc)
    return title, claims, None


LOADED = {p.name: _load(p) for p in FILES}
CASES = [pytest.param(name, i, id="%s-%02d-%s" % (name[:-3], i, re.sub(r"\W+", "_", c.statement)[:50]))
         for name, (_, claims, _) in LOADED.items() for i, c in enumerate(claims or [])]


def _checked(name, i):
    claim = LOADED[name][1][i]
    if claim.verdict is None:
        claim.check()
    return claim


def _all_checked():
    return [(name, title, [_checked(name, i) for i in range(len(claims))])
            for name, (title, claims, _) in LOADED.items() if claims is not None]


# --- a second, concurrent run with another PYTHONHASHSEED -------------------------------------

@pytest.fixture(scope="session")
def second_run():
    """Start the whole proof run in a subprocess now; the fixture's value waits for its report."""
    seed = os.environ.get("PYTHONHASHSEED", "")
    other = str(int(seed) + 1) if seed.isdigit() else "12345"
    env = dict(os.environ, PYTHONHASHSEED=other,
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    with tempfile.TemporaryDirectory() as tmp:
        report, errors = os.path.join(tmp, "REPORT.md"), os.path.join(tmp, "stderr.txt")
        with open(errors, "wb") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", "symgrad", "prove",
                                     *[str(PROOFS / name) for name in SECOND_RUN], "--report", report],
                                    cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=stderr)

        def wait():
            proc.wait(timeout=600)
            assert proc.returncode == 0, "second run failed (exit %s): %s" % (
                proc.returncode, Path(errors).read_text(encoding="utf-8", errors="replace")[-2000:])
            return Path(report).read_text(encoding="utf-8"), other

        try:
            yield wait
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# --- one test per claim -------------------------------------------------------------------------

@pytest.mark.parametrize("name", [p.name for p in FILES])
def test_file_loads(name):
    title, claims, error = LOADED[name]
    assert error is None, "proofs/%s does not load: %s" % (name, error)
    assert title and claims, "proofs/%s has no title or no claims" % name


@pytest.mark.parametrize("name, i", CASES)
def test_claim(name, i, second_run):
    claim = _checked(name, i)
    v = claim.verdict
    assert v.status == claim.expect, "%s: expected %s\n%s" % (claim.statement, claim.expect, v)
    assert claim.hand.strip(), "%s has no hand= form" % claim.statement
    if v.status == "proven":
        assert SYMBOLIC.match(v.method), "proven by a non-symbolic method: %r" % v.method
    elif v.status == "probable":
        assert SAMPLED.match(v.method), v.method
    else:
        assert REFUTED.match(v.method), v.method
        assert_counterexample(claim.lhs, claim.rhs, claim.relation, claim.assumptions, v.counterexample)


# --- the collection as a whole -------------------------------------------------------------------------

def test_totals():
    claims = [c for _, _, cs in _all_checked() for c in cs]
    assert len(claims) >= 30
    assert sum(c.expect == "refuted" for c in claims) >= 2
    assert sum(c.verdict.status == "refuted" for c in claims) >= 2


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_file_uses_only_the_public_api_and_runs_on_its_own(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert {m for m in imported if m and m.startswith("symgrad")} == {"symgrad"}, imported
    used = set(re.findall(r"\bsg\.(\w+)", source))
    assert used <= set(sg.__all__), "not in symgrad.__all__: %s" % sorted(used - set(sg.__all__))
    docstring = ast.get_docstring(tree, clean=False)
    assert docstring and docstring.splitlines()[0].strip(), "the first docstring line is the title"
    assert 'sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))' in source
    assert 'if __name__ == "__main__":' in source


def test_report_is_current_and_run_independent(second_run):
    text = render_report(_all_checked())
    committed = REPORT.read_text(encoding="utf-8")
    assert text == committed, ("proofs/REPORT.md is out of date; regenerate it with\n"
                               "  python -m symgrad prove proofs --report proofs/REPORT.md --force")
    header = "| claim | formula | expected | verdict | method |"
    assert text.count(header) == len(FILES)
    assert not re.search(r"\btime\b|\b\d+\.\d+ ?s\b|\bseconds\b", text)
    other, seed = second_run()
    subset = render_report([s for s in _all_checked() if s[0] in SECOND_RUN])
    assert other == subset, "the report differs under PYTHONHASHSEED=%s" % seed
