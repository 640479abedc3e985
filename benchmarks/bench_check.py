"""check_grad's speed on whole models (issue 13), now and before the ball reference.

Cases (each ``sg.check_grad`` on a GradFunction compiled beforehand; compiling is timed
apart, in the "compile" column):

* ``mlp``: the 2-layer tanh MLP with softmax cross-entropy, 8 samples, 5 inputs, 4 hidden,
  3 classes (``models.mlp([5, 4, 3], "tanh", "softmax")``), X and Y given, parameters drawn,
  default points (3): every entry checked (reference, differences, generated code);
* ``readme``: the README MLP at full size, 256 x 784 -> 128 -> 10, X and Y given: mode
  "auto" compares every entry with the reference and differentiates along random directions
  (one point, the default for a model this large);
* ``sines``: the product of 200 sines of the cheap-gradient benchmark, mean over samples of
  prod_i sin(w_i x + c_i), 200 parameters, everything drawn, default points.

"after" is this tree, the median of ``--rounds`` runs in this process (wall clock, and the
process's CPU time: on a busy shared machine the wall clock counts the wait for a core). "before"
is the same check run by the tree at ``--before`` (a checkout of main at 767e156, where
check_grad substituted into SymPy entry by entry), in a subprocess with a 600 s limit:
"over 600 s" or "refused" (it refused matrices over 2500 entries) when it does not finish.

Targets: mlp < 1 s, readme < 5 s, sines < 2 s (2 cores).

Run:  git worktree add /tmp/before 767e156
      python benchmarks/bench_check.py --before /tmp/before
      git worktree remove /tmp/before
      python benchmarks/bench_check.py              (after only)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

LIMIT = 600          # seconds the "before" tree gets per case
TARGETS = {"mlp": 1.0, "readme": 5.0, "sines": 2.0}


def case(name):
    """(compiled GradFunction, keyword arguments of check_grad) for one case."""
    import sympy as sp
    import symgrad as sg
    from symgrad.zoo import models
    rng = np.random.default_rng(0)
    if name in ("mlp", "readme"):
        widths, n = ([5, 4, 3], 8) if name == "mlp" else ([784, 128, 10], 256)
        m = models.mlp(widths, activation="tanh", loss="softmax")
        X, Y = m.data
        values = {X: rng.normal(size=(n, widths[0])),
                  Y: np.eye(widths[-1])[rng.integers(0, widths[-1], n)]}
        return sg.value_and_grad(m.loss, list(m.params), list(m.data)), {"values": values}
    w = sp.symbols("w0:200")
    c = sp.symbols("c0:200")
    x = sp.Symbol("x")
    loss = sp.Mul(*[sp.sin(wi * x + ci) for wi, ci in zip(w, c)])
    return sg.value_and_grad(loss, wrt=list(w), args=[x] + list(c)), {}


def run_once(name):
    """{compile, check, ok} seconds for one case in this process (this tree's symgrad)."""
    import symgrad as sg
    start = time.perf_counter()
    f, kwargs = case(name)
    compiled = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    try:
        report = sg.check_grad(f, **kwargs)
        ok = bool(report.ok)
    except sg.SymgradError as exc:
        return {"compile": compiled, "check": None, "ok": False, "error": str(exc)[:120]}
    return {"compile": compiled, "check": time.perf_counter() - start,
            "cpu": time.process_time() - cpu, "ok": ok}


def before(tree, name):
    """The same case run by the symgrad at ``tree``, in a subprocess limited to LIMIT s."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    command = [sys.executable, os.path.abspath(__file__), "--one", name]
    try:
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=LIMIT,
                             cwd=os.path.abspath(tree))
    except subprocess.TimeoutExpired:
        return "over %d s" % LIMIT
    try:
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "failed: " + (out.stderr.strip().splitlines() or ["?"])[-1][:80]
    if result["check"] is None:
        return "refused (%s)" % result["error"][:60]
    return "%.1f s" % result["check"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", metavar="TREE", help="a checkout of main at 767e156")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", nargs="*", default=list(TARGETS))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_once(args.one)))
        return
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rows = []
    for name in args.cases:
        runs = [run_once(name) for _ in range(args.rounds)]
        check = statistics.median(r["check"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        compiled = statistics.median(r["compile"] for r in runs)
        old = before(args.before, name) if args.before else "not measured"
        met = "met" if check < TARGETS[name] and all(r["ok"] for r in runs) else "NOT met"
        rows.append((name, "%.2f s" % check, "%.2f s" % cpu, "%.2f s" % compiled, old,
                     "< %g s: %s" % (TARGETS[name], met), str(all(r["ok"] for r in runs))))
    print("| case | check_grad after (wall) | after (CPU) | compile | check_grad before "
          "(767e156, wall) | target (wall) | ok |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| %s |" % " | ".join(row))
    print("\ncommand: %s" % " ".join([os.path.basename(sys.executable)] + sys.argv))
    print("load average: %s; cores: %s" % (", ".join("%.1f" % v for v in os.getloadavg()),
                                          os.cpu_count()))


if __name__ == "__main__":
    main()
