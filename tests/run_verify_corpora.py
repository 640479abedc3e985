"""Measure verify on the corpora: python tests/run_verify_corpora.py OUT.json [BUDGET]

Runs every claim of tests/verify_corpus.py and tests/verify_ml_corpus.py through
symgrad.verify (the symgrad on PYTHONPATH, so an older checkout can be measured the same
way) and writes, per claim, its corpus, expected truth, status, method and seconds. Not a
test: the tests (test_verify_ml.py) assert the properties; this records the figures.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import symgrad as sg  # noqa: E402
import verify_corpus  # noqa: E402
import verify_ml_corpus  # noqa: E402


def _rows():
    for c in verify_corpus.CASES:
        yield "verify_corpus", c.name, c.lhs, c.rhs, c.relation, c.assumptions, \
            c.expected != "refuted", c.expected
    for c in verify_ml_corpus.CLAIMS:
        yield "ml_corpus", c.name, c.lhs, c.rhs, c.relation, c.assumptions, c.truth, \
            "true" if c.truth else "false"


def main(out, budget):
    results = []
    for corpus, name, lhs, rhs, relation, assumptions, truth, expected in _rows():
        start = time.perf_counter()
        try:
            v = sg.verify(lhs, rhs, relation, assumptions, budget=budget)
            status, method = v.status, v.method
        except Exception as e:          # a crash is measured, not hidden
            status, method = "error", "%s: %s" % (type(e).__name__, str(e)[:160])
        seconds = time.perf_counter() - start
        results.append(dict(corpus=corpus, name=name, truth=truth, expected=expected,
                            status=status, method=method, seconds=round(seconds, 3)))
        print("%-14s %-5s %-9s %6.2fs %s" % (corpus, truth, status, seconds, name[:70]), flush=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 5.0)
