"""The cheap-gradient principle: loss + N gradients cost a small constant times the loss.

The case (GitHub issue #2): a product of N factors,

    L(w) = mean over samples of  prod_{i=1..N} sin(w_i * x + c_i),

over 20,000 samples of x, in symgrad's per-sample mode (the w_i are wrt; x and
the c_i are args). Reverse mode should give the loss and all N gradients for a
constant multiple of the loss's cost, whatever N is.

Measured in one process, cases interleaved round by round (see _timing.py):

* symgrad loss + N gradients: ``f.raw`` on arrays from ``f.prepare`` (and the
  validated ``f(...)`` call, for the cost of validation);
* the loss alone compiled by ``sympy.lambdify(..., cse=True)`` (the baseline),
  and symgrad's own loss alone, ``f.raw_value``;
* deriving + compiling: ``sg.value_and_grad(...)`` construction, SymPy's cache
  cleared first;
* SymPy's own route for comparison: the operation count of
  ``cse([loss] + [diff(loss, w_i) for every i])`` over that of ``cse([loss])``,
  and symgrad's equivalent (arithmetic operations and NumPy calls in the
  generated ``value_and_grad`` over those in ``value``).

Targets:

* time(symgrad loss + grads, f.raw) / time(lambdify loss) <= 4.5 at N = 200;
* flat in N: that ratio at N = 400 within 1.25x of its value at N = 50;
* sg.value_and_grad construction <= 5 s at N = 200.

The w_i and c_i are drawn so every factor stays near 1 (|w_i x| <= 0.1,
c_i near pi/2): a product of hundreds of factors otherwise falls into
subnormal floats, and the benchmark would time the FPU's slow path instead of
the code.

Run:  python benchmarks/bench_cheap_gradient.py --clock cpu   (full: N = 50, 100, 200, 400)
      python benchmarks/bench_cheap_gradient.py --quick       (smoke run: small N, few rounds)
      add --keep-freed-memory to take glibc's page faults out of the comparison
"""

import argparse
import ast
import time

import numpy as np
import sympy as sp
from sympy.core.cache import clear_cache

import symgrad as sg
from _timing import (command_line, environment, interleaved, keep_freed_memory, markdown_table, median,
                     page_faults, paired_ratio, spread)

SAMPLES = 20_000
RATIO_TARGET, FLAT_TARGET, BUILD_TARGET = 4.5, 1.25, 5.0


def product_of_sines(n):
    """The loss expression and its symbols: (loss, w list, x, c list)."""
    x = sp.Symbol("x")
    w = list(sp.symbols("w1:%d" % (n + 1)))
    c = list(sp.symbols("c1:%d" % (n + 1)))
    return sp.Mul(*[sp.sin(wi * x + ci) for wi, ci in zip(w, c)]), w, x, c


def data(n, samples, seed=0):
    """Values for w, x, c with every factor sin(w_i x + c_i) in about [0.99, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, samples)
    w = rng.uniform(-0.1, 0.1, n)
    c = np.pi / 2 + rng.uniform(-0.05, 0.05, n)
    return w, x, c


def reference(w, x, c):
    """Loss and all gradients in closed form: dL/dw_i = mean(P * x * cot(w_i x + c_i))."""
    a = np.outer(x, w) + c
    p = np.prod(np.sin(a), axis=1)
    return p.mean(), (p[:, None] * x[:, None] / np.tan(a)).mean(axis=0)


def count_generated_ops(source, function):
    """Arithmetic operators and calls in one generated function (excluding np.mean reductions)."""
    tree = ast.parse(source)
    fn = next(node for node in tree.body
              if isinstance(node, ast.FunctionDef) and node.name == function)
    count = 0
    for node in ast.walk(fn):
        if isinstance(node, ast.BinOp):
            count += 1
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            count += 1
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name != "np.mean":
                count += 1
    return count


def sympy_route(n):
    """(ops(loss), ops(loss + all gradients), seconds): SymPy's diff + cse, counted by count_ops."""
    def ops(exprs):
        replacements, reduced = sp.cse(exprs)
        return (sum(sp.count_ops(e) for _, e in replacements)
                + sum(sp.count_ops(e) for e in reduced))
    loss, w, _, _ = product_of_sines(n)
    start = time.perf_counter()
    loss_ops = ops([loss])
    grad_ops = ops([loss] + [sp.diff(loss, wi) for wi in w])
    return loss_ops, grad_ops, time.perf_counter() - start


def build(n, samples):
    """Everything timed for one N: the compiled functions, arrays, and build times."""
    clear_cache()
    loss, w, x, c = product_of_sines(n)
    start = time.perf_counter()
    f = sg.value_and_grad(loss, wrt=w, args=[x] + c)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    lam = sp.lambdify([x] + c + w, loss, modules="numpy", cse=True)
    lambdify_s = time.perf_counter() - start

    wv, xv, cv = data(n, samples)
    values = [*wv, xv, *cv]
    arrays, _ = f.prepare(values)
    lam_args = [xv, *cv, *wv]

    # Equal work: symgrad, lambdify and the closed form agree before anything is timed.
    ref_loss, ref_grads = reference(wv, xv, cv)
    value, grads = f(*values)
    np.testing.assert_allclose(value, ref_loss, rtol=1e-10)
    np.testing.assert_allclose(np.mean(lam(*lam_args)), ref_loss, rtol=1e-10)
    np.testing.assert_allclose(np.array(grads), ref_grads, rtol=1e-8,
                               atol=1e-12 * np.max(np.abs(ref_grads)))

    return {
        "n": n, "f": f, "build_s": build_s, "lambdify_s": lambdify_s,
        "lines": len(f.source.splitlines()),
        "ops": (count_generated_ops(f.source, "value"),
                count_generated_ops(f.source, "value_and_grad")),
        "cases": {
            ("lambdify loss", n): lambda: np.mean(lam(*lam_args)),
            ("symgrad loss", n): lambda: f.raw_value(*arrays),
            ("symgrad loss+grad raw", n): lambda: f.raw(*arrays),
            ("symgrad loss+grad f()", n): lambda: f(*values),
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small N, few rounds")
    parser.add_argument("--sizes", type=int, nargs="+", help="the N values (default 50 100 200 400)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 30; --quick 5)")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="samples of x (default 20000)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: time.perf_counter (default); cpu: time.process_time, which "
                             "leaves out time spent waiting for a core on a loaded machine")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="tell glibc's malloc to keep freed memory (no per-call page faults)")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([10, 20] if args.quick else [50, 100, 200, 400])
    rounds = args.rounds or (5 if args.quick else 30)
    route_sizes = [5, 10] if args.quick else [5, 10, 20, 40]
    allocator = "glibc defaults"
    if args.keep_freed_memory:
        allocator = ("freed memory kept (mallopt M_TRIM_THRESHOLD, M_MMAP_THRESHOLD)"
                     if keep_freed_memory() else "could not change it (not glibc); defaults")

    print("# Cheap gradient: product of N sines, %d samples\n" % args.samples)
    print("Command: `%s`\n" % command_line())
    clock = {"wall": "wall time (time.perf_counter)",
             "cpu": "CPU time (time.process_time)"}[args.clock]
    print(environment(["malloc: " + allocator, "clock: " + clock]) + "\n")

    built = []
    for n in sizes:
        b = build(n, args.samples)
        built.append(b)
        print("built N=%d: sg.value_and_grad %.2f s, lambdify(cse=True) %.2f s"
              % (n, b["build_s"], b["lambdify_s"]), flush=True)
    cases = {}
    for b in built:
        cases.update(b["cases"])
    print("timing %d cases x %d interleaved rounds ..." % (len(cases), rounds), flush=True)
    times = interleaved(cases, rounds, clock=args.clock)

    rows, build_rows, ratios = [], [], {}
    for b in built:
        n = b["n"]
        t = {name: times[(name, n)] for name, _ in b["cases"]}
        ratio = paired_ratio(t["symgrad loss+grad raw"], t["lambdify loss"])
        ratios[n] = ratio
        faults = page_faults(b["cases"][("symgrad loss+grad raw", n)])
        rows.append([
            str(n),
            "%.2f" % (1e3 * median(t["lambdify loss"])),
            "%.2f" % (1e3 * median(t["symgrad loss"])),
            "%.2f" % (1e3 * median(t["symgrad loss+grad raw"])),
            "%.2f" % (1e3 * median(t["symgrad loss+grad f()"])),
            "**%.2f**" % ratio,
            "%.2f" % paired_ratio(t["symgrad loss+grad raw"], t["symgrad loss"]),
            spread(t["symgrad loss+grad raw"]),
            "n/a" if faults is None else "%.0f" % faults,
        ])
        build_rows.append([
            str(n), "%.2f" % b["build_s"], "%.2f" % b["lambdify_s"], str(b["lines"]),
            "%d / %d = %.2f" % (b["ops"][1], b["ops"][0], b["ops"][1] / b["ops"][0]),
        ])
    print("\n## Loss + N gradients vs the loss alone (%s, medians of %d interleaved rounds)\n"
          % (args.clock, rounds))
    print(markdown_table(
        ["N", "lambdify loss ms", "symgrad loss ms", "symgrad loss+grad ms (f.raw)",
         "symgrad loss+grad ms (f(...))", "ratio vs lambdify loss", "ratio vs symgrad loss",
         "noise (IQR)", "page faults per loss+grad call"], rows))
    print("\nratio = median over rounds of (symgrad loss + N gradients) / (loss alone).")

    print("\n## Deriving and compiling\n")
    print(markdown_table(["N", "sg.value_and_grad s", "lambdify(cse=True) of the loss s",
                          "generated lines", "symgrad ops grad/loss"], build_rows))
    print("\nops: arithmetic operators and NumPy calls in the generated value_and_grad over "
          "those in value (np.mean reductions not counted).")

    route_rows = []
    for n in route_sizes:
        loss_ops, grad_ops, seconds = sympy_route(n)
        route_rows.append([str(n), str(loss_ops), str(grad_ops), "%.2f" % (grad_ops / loss_ops),
                           "%.2f" % seconds])
    print("\n## SymPy's route: count_ops after cse, loss + every diff vs the loss\n")
    print(markdown_table(["N", "ops(loss)", "ops(loss + grads)", "ratio", "diff + cse s"],
                         route_rows))

    print("\n## Targets\n")
    checks = []
    at = 200 if 200 in ratios else max(ratios)
    checks.append(("loss+grad / lambdify loss <= %.1f at N=%d" % (RATIO_TARGET, at),
                   "%.2f" % ratios[at], ratios[at] <= RATIO_TARGET))
    lo, hi = min(ratios), max(ratios)
    flat = ratios[hi] / ratios[lo]
    checks.append(("ratio at N=%d within %.2fx of N=%d" % (hi, FLAT_TARGET, lo),
                   "%.2fx" % flat, 1 / FLAT_TARGET <= flat <= FLAT_TARGET))
    build_s = next(b["build_s"] for b in built if b["n"] == at)
    checks.append(("sg.value_and_grad construction <= %.0f s at N=%d" % (BUILD_TARGET, at),
                   "%.2f s" % build_s, build_s <= BUILD_TARGET))
    print(markdown_table(["target", "measured", "met"],
                         [[name, value, "yes" if ok else "**no**"] for name, value, ok in checks]))
    if args.quick:
        print("\n(--quick: smoke run; the targets are defined at N = 50 ... 400)")


if __name__ == "__main__":
    main()
