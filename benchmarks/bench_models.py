"""Matrix models, loss + gradients: symgrad's generated code against expert hand NumPy.

The models (model_table.py, model_table_linalg.py) are each written once in SymPy with
symbolic dimensions and once by hand in NumPy the way an expert would: work shared
between the loss and the gradients, matrix chains in their cheap order, solves and one
Cholesky or LU factorization instead of inverses. For each model, in one process:

* both sides are checked equal first (loss and every gradient, assert_allclose rtol 1e-8);
* then timed side by side, interleaved round by round (``_timing.interleaved``), symgrad's
  ``f.raw`` on arrays from ``f.prepare`` against the hand function;
* the ratio reported is the median over rounds of symgrad / hand.

Threads: each thread count runs in a fresh child process that sets OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and MKL_NUM_THREADS before NumPy loads; the parent prints one table with
a column per thread count. Target: every ratio <= 1.2.

Run:  python benchmarks/bench_models.py                       (1 and 2 threads; ~5 min)
      python benchmarks/bench_models.py --quick               (smoke run: few rounds)
      python benchmarks/bench_models.py --only GP ridge        (models whose name has a word)
"""

import argparse
import json
import os
import subprocess
import sys

TARGET = 1.2
HERE = os.path.dirname(os.path.abspath(__file__))


def set_threads(threads):
    """Thread count for the BLAS libraries; must run before NumPy is imported."""
    if sys.modules.get("numpy") is not None:
        raise RuntimeError("set_threads must run before NumPy is imported")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


def load_models():
    """The model table, in order (importing the second half completes the list)."""
    sys.path[:0] = [HERE, os.path.dirname(HERE)]      # this checkout's symgrad, installed or not
    import model_table_linalg
    return model_table_linalg.MODELS


def build(model):
    """symgrad's value_and_grad for a model."""
    import symgrad as sg
    return sg.value_and_grad(model.loss, wrt=model.wrt, args=model.args)


def check_equal(model, f, values, rtol=1e-8):
    """The generated loss and gradients equal the hand ones (AssertionError naming the model)."""
    import numpy as np
    value, grads = f(*values)
    ref_value, ref_grads = model.hand(*values)
    if not isinstance(ref_grads, tuple):
        ref_grads = (ref_grads,)
    np.testing.assert_allclose(float(value), float(ref_value), rtol=rtol,
                               err_msg="%s: loss" % model.name)
    assert len(grads) == len(ref_grads) == len(model.wrt), model.name
    for w, g, r in zip(model.wrt, grads, ref_grads):
        scale = np.max(np.abs(r)) if np.ndim(r) else abs(r)
        np.testing.assert_allclose(np.asarray(g, float), np.asarray(r, float), rtol=rtol,
                                   atol=rtol * scale, err_msg="%s: gradient of %s" % (model.name, w))


def child(threads, rounds, clock, only):
    """Check and time every selected model at this process's thread count; JSON rows."""
    import numpy as np
    from _timing import interleaved, median, paired_ratio, spread
    rows = []
    for model in selected(load_models(), only):
        rng = np.random.default_rng(0)
        values = model.data(rng, model.sizes())
        f = build(model)
        check_equal(model, f, values)
        arrays, _ = f.prepare(values)
        times = interleaved({"symgrad": lambda: f.raw(*arrays), "hand": lambda: model.hand(*values)},
                            rounds, clock=clock)
        rows.append({"name": model.name, "sizes": _sizes_text(model), "threads": threads,
                     "symgrad_ms": 1e3 * median(times["symgrad"]), "hand_ms": 1e3 * median(times["hand"]),
                     "ratio": paired_ratio(times["symgrad"], times["hand"]),
                     "noise": spread(times["symgrad"])})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _sizes_text(model):
    used = set()
    for s in list(model.wrt) + list(model.args):
        for dim in getattr(s, "shape", ()):
            used |= {str(x) for x in getattr(dim, "free_symbols", ())}
    sizes = model.sizes()
    return ", ".join("%s=%d" % (key, sizes[key]) for key in sorted(used))


def selected(models, only):
    if not only:
        return models
    return [mo for mo in models if any(word.lower() in mo.name.lower() for word in only)]


def run_children(threads_list, argv_tail):
    results = {}
    for threads in threads_list:
        print("timing with %d BLAS thread(s) in a child process ..." % threads, flush=True)
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(threads)]
                              + argv_tail, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("child with %d threads failed:\n%s" % (threads, proc.stderr))
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                results[row["name"], threads] = row
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 rounds")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 25; --quick 5)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="BLAS thread counts, one child process each (default 1 2)")
    parser.add_argument("--clock", choices=["auto", "wall", "cpu"], default="auto",
                        help="wall: time.perf_counter; cpu: time.process_time (steadier on a busy "
                             "machine, but with several threads it counts their spinning too); "
                             "auto (default): cpu with 1 thread, wall with more")
    parser.add_argument("--only", nargs="+", help="models whose name contains one of these words")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 25)
    if args.child:
        set_threads(args.child)
        sys.path.insert(0, HERE)
        clock = args.clock if args.clock != "auto" else ("cpu" if args.child == 1 else "wall")
        child(args.child, rounds, clock, args.only)
        return
    tail = ["--rounds", str(rounds), "--clock", args.clock] + (["--only"] + args.only if args.only else [])
    sys.path.insert(0, HERE)
    from _timing import command_line, environment, markdown_table
    print("# Matrix models: symgrad loss + gradients against expert hand NumPy\n")
    print("Command: `%s`\n" % command_line())
    clock = {"auto": "CPU time (time.process_time) with 1 thread, wall time with more",
             "cpu": "CPU time (time.process_time)", "wall": "wall time (time.perf_counter)"}[args.clock]
    print(environment(["clock: " + clock, "rounds: %d interleaved" % rounds]) + "\n")
    results = run_children(args.threads, tail)
    names = list(dict.fromkeys(name for name, _ in results))
    rows, worst = [], 0.0
    for name in names:
        cells = [name, results[name, args.threads[0]]["sizes"]]
        for t in args.threads:
            r = results[name, t]
            worst = max(worst, r["ratio"])
            cells += ["%.3f" % r["symgrad_ms"], "%.3f" % r["hand_ms"],
                      ("%.2f" if r["ratio"] <= TARGET else "**%.2f**") % r["ratio"], r["noise"]]
        rows.append(cells)
    headers = ["model", "sizes"]
    for t in args.threads:
        headers += ["symgrad ms (%dT)" % t, "hand ms (%dT)" % t, "ratio (%dT)" % t, "noise (%dT)" % t]
    print("\n" + markdown_table(headers, rows))
    print("\nratio = symgrad f.raw / hand NumPy, median of per-round ratios; noise = IQR of "
          "symgrad's per-round times over their median. All %d models agree with the hand "
          "versions (rtol 1e-8) before timing." % len(names))
    print("\nTarget: every ratio <= %.1f: %s (worst %.2f)"
          % (TARGET, "met" if worst <= TARGET else "**not met**", worst))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
