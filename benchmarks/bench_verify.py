"""verify's soundness and verdict times on every corpus, before and after a change.

    python benchmarks/bench_verify.py                       # this checkout only
    python benchmarks/bench_verify.py --before /tmp/main    # and a checkout of main, interleaved

The claims are those of tests/verify_corpus.py (each at its own budget),
tests/verify_ml_corpus.py (each claim's budget, as its test;
BENCH_VERIFY_ML_BUDGET=2 gives them all one) and every proof file in proofs/
(each claim at its own budget, as ``symgrad prove`` runs them), all read from this
checkout. Each symgrad version runs in its own worker process (the symgrad of that
checkout on its path); the two workers take each claim in turn, alternating which goes
first, never at the same time, so a slow spell of the shared machine hits both. Printed:
true claims refuted, false claims proven, the share of false claims refuted, the share
of true claims proven, proof claims off their expected verdict and those that moved from
"probable" to "proven", and the median and slowest verdict times. ``--json FILE`` keeps
every row.
"""

import argparse
import glob
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ML_BUDGET = float(os.environ.get("BENCH_VERIFY_ML_BUDGET", "0")) or None   # None: each claim's own


# --- the claims (read in each worker, from this checkout's files) ----------------------------

def _module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)          # the project's own corpus files
    return module


def rows():
    """(corpus, name, lhs, rhs, relation, assumptions, budget, seed, truth, expect)."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    corpus = _module(os.path.join(ROOT, "tests", "verify_corpus.py"), "bench_verify_corpus")
    ml = _module(os.path.join(ROOT, "tests", "verify_ml_corpus.py"), "bench_verify_ml_corpus")
    out = [("verify corpus", c.name, c.lhs, c.rhs, c.relation, c.assumptions, c.budget, 0,
            c.expected != "refuted", c.expected) for c in corpus.CASES]
    out += [("ML corpus", c.name, c.lhs, c.rhs, c.relation, c.assumptions,
             ML_BUDGET or getattr(c, "budget", 2.0), 0, c.truth, None) for c in ml.CLAIMS]
    for path in sorted(glob.glob(os.path.join(ROOT, "proofs", "*.py"))):
        module = _module(path, "bench_proof_" + os.path.basename(path)[:-3])
        out += [("proofs", "%s: %s" % (os.path.basename(path), c.statement), c.lhs, c.rhs,
                 c.relation, tuple(c.assumptions), c.budget, c.seed, c.expect != "refuted",
                 c.expect) for c in module.CLAIMS]
    return out


def worker():
    """Read claim numbers from stdin; answer one JSON line each (status, method, seconds)."""
    import symgrad as sg
    table = rows()
    print(json.dumps({"count": len(table), "symgrad": os.path.dirname(sg.__file__)}), flush=True)
    for line in sys.stdin:
        corpus, name, lhs, rhs, relation, assumptions, budget, seed, truth, expect = \
            table[int(line)]
        start = time.perf_counter()
        try:
            v = sg.verify(lhs, rhs, relation, tuple(assumptions), seed, budget=budget)
            status, method = v.status, v.method
        except Exception as exc:              # a crash is measured, not hidden
            status, method = "error", "%s: %s" % (type(exc).__name__, str(exc)[:120])
        print(json.dumps(dict(corpus=corpus, name=name, truth=truth, expect=expect,
                              status=status, method=method,
                              seconds=time.perf_counter() - start)), flush=True)


# --- the parent: interleave the workers, then summarize -----------------------------------------

def _start(path):
    env = dict(os.environ, PYTHONPATH=path, PYTHONHASHSEED="0")
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"], cwd=ROOT,
                         env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    head = json.loads(p.stdout.readline())
    return p, head


def _ask(p, i):
    p.stdin.write("%d\n" % i)
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def summary(results):
    """The figures of one version's rows."""
    true = [r for r in results if r["truth"]]
    false = [r for r in results if not r["truth"]]
    proofs = [r for r in results if r["corpus"] == "proofs"]
    times = sorted(results, key=lambda r: -r["seconds"])
    return {
        "claims": len(results), "true": len(true), "false": len(false),
        "true refuted": sum(r["status"] == "refuted" for r in true),
        "false proven": sum(r["status"] == "proven" for r in false),
        "false refuted %": 100.0 * sum(r["status"] == "refuted" for r in false) / max(len(false), 1),
        "true proven %": 100.0 * sum(r["status"] == "proven" for r in true) / max(len(true), 1),
        "errors": sum(r["status"] == "error" for r in results),
        "proof claims as expected": "%d/%d" % (sum(r["status"] == r["expect"] for r in proofs),
                                               len(proofs)),
        "median s": statistics.median(r["seconds"] for r in results),
        "slowest": ["%.1f s %s" % (r["seconds"], r["name"][:60]) for r in times[:3]],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="a checkout (directory holding symgrad/) to compare with")
    ap.add_argument("--json", help="write every row to this file")
    ap.add_argument("--only", choices=("verify corpus", "ML corpus", "proofs"),
                    help="run one corpus only")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--list", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker()
    if args.list:
        return print(json.dumps([i for i, r in enumerate(rows()) if r[0] == args.list]))
    versions = {"after": ROOT}
    if args.before:
        versions = {"before": os.path.abspath(args.before), "after": ROOT}
    workers = {k: _start(v) for k, v in versions.items()}
    count = next(iter(workers.values()))[1]["count"]
    results = {k: [] for k in versions}
    names = list(versions)
    wanted = range(count) if not args.only else json.loads(subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--list", args.only], cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, check=True).stdout)
    for i in wanted:
        for k in (names if i % 2 == 0 else names[::-1]):
            results[k].append(_ask(workers[k][0], i))
        row = {k: results[k][-1] for k in names}
        print("%-14s %-5s %s  %s" % (row[names[0]]["corpus"], row[names[0]]["truth"],
                                     "  ".join("%-8s %5.1fs" % (row[k]["status"], row[k]["seconds"])
                                               for k in names), row[names[0]]["name"][:60]),
              flush=True)
    for p, _ in workers.values():
        p.stdin.close()
        p.wait()
    figures = {k: summary(v) for k, v in results.items()}
    if "before" in results:
        moved = [a["name"] for b, a in zip(results["before"], results["after"])
                 if b["status"] == "probable" and a["status"] == "proven"]
        lost = [a["name"] for b, a in zip(results["before"], results["after"])
                if b["status"] == "proven" and a["status"] != "proven"]
        figures["moved probable -> proven"] = len(moved)
        figures["moved proven -> other"] = lost
        figures["proof claims moved probable -> proven"] = sum(
            1 for b, a in zip(results["before"], results["after"]) if a["corpus"] == "proofs"
            and b["status"] == "probable" and a["status"] == "proven")
    print(json.dumps(figures, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": results, "figures": figures}, f, indent=1)


if __name__ == "__main__":
    main()
