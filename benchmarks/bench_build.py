"""Expression to compiled function: how long symgrad takes to build a gradient (issue #18).

Cases (each in a fresh process, so SymPy's caches start cold):

* ``transformer``: one transformer-style block written with MatrixSymbols, as a
  user would: single-head attention RowSoftmax(X Wq (X Wk)^T / sqrt(d)) X Wv Wo with a
  residual, layer norm (mean, centred variance, 1/sqrt(var + eps), gain), a tanh MLP
  with biases and a second residual + layer norm; loss = mean squared error
  against Y; ten parameter matrices (n = 8, d = 6, hidden 12).
* ``sines``: the product of 120 sines, gradient with respect to all 120 symbols.
* ``ridge``: a validation loss through the ridge solution w(lambda) =
  (X^T X + lambda I)^-1 X^T y, gradient with respect to lambda (symbolic n, d).

For each: the seconds SymPy takes to build the expression (the user's own
code: SymPy multiplies matrix expressions out on every operator, so a deep
block costs seconds before symgrad sees it), the seconds of
``sg.value_and_grad`` (derive, rewrite, codegen, compile), and the first call
on random data. Target: expression + value_and_grad under 5 s per case.
Medians over ``--repeat`` fresh processes.

Run:  python benchmarks/bench_build.py             (3 fresh processes per case)
      python benchmarks/bench_build.py --repeat 1  (quick)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import command_line, environment, markdown_table  # noqa: E402

TARGET = 5.0
CASES = ["transformer", "sines", "ridge"]


def transformer():
    import sympy as sp
    from symgrad.ops.nodes import RowSoftmax, msum
    n, d, h = 8, 6, 12
    X, Y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("Y", n, d)
    Wq, Wk, Wv, Wo = [sp.MatrixSymbol(s, d, d) for s in ("W_q", "W_k", "W_v", "W_o")]
    W1, W2 = sp.MatrixSymbol("W_1", d, h), sp.MatrixSymbol("W_2", h, d)
    b1, b2 = sp.MatrixSymbol("b_1", 1, h), sp.MatrixSymbol("b_2", 1, d)
    g1, g2 = sp.MatrixSymbol("g_1", 1, d), sp.MatrixSymbol("g_2", 1, d)
    one_n, one_d = sp.OneMatrix(n, 1), sp.OneMatrix(d, 1)

    def layer_norm(Z, gain):
        C = Z - Z * one_d * one_d.T / d
        var = sp.HadamardProduct(C, C) * one_d / d
        inv = (var + sp.Rational(1, 10**5) * one_n).applyfunc(lambda t: 1 / sp.sqrt(t))
        return sp.HadamardProduct(C, inv * one_d.T, one_n * gain)

    A = RowSoftmax(X * Wq * (X * Wk).T / sp.sqrt(d))
    H1 = layer_norm(X + A * X * Wv * Wo, g1)
    M = (H1 * W1 + one_n * b1).applyfunc(sp.tanh) * W2 + one_n * b2
    H2 = layer_norm(H1 + M, g2)
    E = H2 - Y
    loss = msum(sp.HadamardProduct(E, E)) / n
    return loss, [Wq, Wk, Wv, Wo, W1, W2, b1, b2, g1, g2], [X, Y]


def sines():
    import sympy as sp
    xs = sp.symbols("x0:120", real=True)
    return sp.Mul(*[sp.sin(x) for x in xs]), list(xs), []


def ridge():
    import sympy as sp
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1)
    Xv, yv = sp.MatrixSymbol("X_v", n, d), sp.MatrixSymbol("y_v", n, 1)
    lam = sp.Symbol("lambda", positive=True)
    w = (X.T * X + lam * sp.Identity(d)).I * X.T * y
    r = Xv * w - yv
    return sp.Trace(r.T * r) / n, [lam], [X, y, Xv, yv]


def _values(symbols, rng):
    import sympy as sp
    sizes = {"n": 8, "d": 6}
    out = []
    for s in symbols:
        if isinstance(s, sp.MatrixSymbol):
            shape = tuple(int(sp.sympify(k).subs({sp.Symbol(a, integer=True, positive=True): v
                                                  for a, v in sizes.items()})) for k in s.shape)
            out.append(rng.normal(size=shape) * 0.5)
        else:
            out.append(0.5 + rng.random())
    return out


def one(case):
    """Run one case in this (fresh) process; print its figures as JSON."""
    import time
    t0 = time.perf_counter()
    import numpy as np
    import symgrad as sg
    t1 = time.perf_counter()
    loss, wrt, args = globals()[case]()
    t2 = time.perf_counter()
    f = sg.value_and_grad(loss, wrt, args)
    t3 = time.perf_counter()
    value, grads = f(*_values(wrt + args, np.random.default_rng(0)))
    t4 = time.perf_counter()
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)
    print(json.dumps({"import": t1 - t0, "expression": t2 - t1, "build": t3 - t2,
                      "first call": t4 - t3, "lines": f.source.count("\n")}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per case")
    parser.add_argument("--one", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return one(args.one)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    rows, met = [], []
    for case in CASES:
        runs = []
        for _ in range(args.repeat):
            done = subprocess.run([sys.executable, __file__, "--one", case], capture_output=True,
                                  text=True, env=env, timeout=600)
            if done.returncode:
                raise SystemExit("%s failed:\n%s" % (case, done.stderr))
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        total = med["expression"] + med["build"]
        met.append((case, total))
        rows.append([case, "%.2f" % med["expression"], "%.2f" % med["build"], "%.2f" % total,
                     "%.3f" % med["first call"], "%d" % med["lines"], "%.2f" % med["import"]])
    print(markdown_table(["case", "expression (SymPy) s", "value_and_grad s", "total s",
                          "first call s", "generated lines", "import s"], rows))
    print()
    print(markdown_table(["target", "measured", "met"],
                         [["%s: expression + value_and_grad < %g s" % (c, TARGET), "%.2f s" % t,
                           "yes" if t < TARGET else "NO"] for c, t in met]))
    print()
    print("command: %s" % command_line())
    print(environment())


if __name__ == "__main__":
    main()
