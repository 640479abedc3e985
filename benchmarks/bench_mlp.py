"""A 2-layer MLP, loss + four gradients: symgrad's generated code against hand NumPy, JAX, PyTorch.

The model (GitHub issue #3): 256 x 784 inputs -> 128 tanh -> 10, with biases,
softmax cross-entropy, float64: the layers from ``sg.models.mlp``, the loss in
SymPy's own vocabulary with symgrad nodes where SymPy has none:

    Z = sg.models.mlp([d, h, k], activation="tanh").output   # (X*W1 + 1*b1).applyfunc(tanh)*W2 + 1*b2
    L = (msum(logsumexp(Z, axis=1)) - Trace(Y.T*Z)) / n

Measured side by side in one process, cases interleaved round by round (see
_timing.py), medians over rounds:

* symgrad: ``f.raw`` on arrays from ``f.prepare`` (and the validated
  ``f(...)`` call); the loss alone through ``f.raw_value`` (and ``f.value``);
* hand-written NumPy: max-shifted logsumexp forward, dZ = (softmax - Y)/n
  backward, the natural efficient implementation;
* JAX: ``jax.jit(jax.value_and_grad(loss))``, x64 enabled, block_until_ready;
* PyTorch: autograd (``torch.autograd.grad``), float64, as many intra-op
  threads as NumPy's BLAS uses;
* symgrad-JAX and symgrad-torch: the same derived graph printed for JAX (jitted ``f.raw``)
  and PyTorch (``f.raw`` on tensors), ``sg.value_and_grad(..., backend=...)``, against the
  peer written by hand for that library (see _backend_cases.py).

JAX and PyTorch are optional (``pip install -e .[bench]``); without them their
rows say "not installed". Before anything is timed, every system's loss and
gradients are checked against symgrad's (assert_allclose, rtol 1e-8), so each
row does the same work.

"Time to first gradient" is measured in fresh processes (SymPy's caches and
JAX's tracing caches start cold), for two model sizes: building the expression
+ ``sg.value_and_grad`` (derive, rewrite, codegen, compile; it never sees the
arrays), then the first call, reported separately. For JAX the first call is
trace + compile + run. Imports are reported apart.

Targets:

* symgrad loss + grads (f.raw) <= 1.00 x hand NumPy (and, reported beside it,
  the same ratio in fresh processes that load one system each, as a user's
  script would: the allocator's state, hence its page faults, differs);
* symgrad's (loss + grads) / (loss alone) within 1.1x of hand NumPy's;
* build (expression + sg.value_and_grad) <= 0.5 s, for both sizes;
* symgrad-JAX <= 1.0 x JAX jit(value_and_grad); symgrad-torch <= 1.0 x PyTorch autograd.

Run:  python benchmarks/bench_mlp.py --threads 1 --clock cpu   (full; steady on a busy machine)
      python benchmarks/bench_mlp.py --threads 2 --pair torch   (symgrad-torch and PyTorch alone:
                                                               at 2 threads one library's spinning
                                                               workers slow the next one's calls)
      python benchmarks/bench_mlp.py                           (full; library default threads)
      python benchmarks/bench_mlp.py --quick                   (smoke run: few rounds, one cold start)
"""

import argparse
import json
import os
import subprocess
import sys
import time

SIZES = {"256x784": (256, 784, 128, 10), "32x16": (32, 16, 8, 4)}   # n, d, h, k
MAIN_SIZE = "256x784"
SPEED_TARGET, RATIO_TARGET, BUILD_TARGET = 1.00, 1.10, 0.5
SYSTEMS = ["symgrad", "numpy", "jax", "torch"]
STEADY_CALLS = 30         # later calls timed in each fresh process (their median is reported)


XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def limit_threads(threads):
    """Ask every library for ``threads`` threads; must run before NumPy, JAX or torch is imported.

    Environment variables reach the BLAS libraries (OpenBLAS, MKL) and OpenMP
    when they load, and the fresh processes of the cold-start measurement
    inherit them. XLA has no thread-count flag; with one thread it is told not
    to use its multi-threaded Eigen pool. PyTorch is set in torch_functions().
    """
    loaded = [m for m in ("numpy", "jax", "torch") if sys.modules.get(m) is not None]
    if loaded:
        raise RuntimeError("--threads must be applied before importing %s" % ", ".join(loaded))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + XLA_SINGLE_THREAD).strip()


# --- the model, four ways ------------------------------------------------------------------

def mlp_data(size, seed=0):
    """Parameters and data as float64 NumPy arrays: [W1, b1, W2, b2, X, Y] (Y one-hot)."""
    import numpy as np
    n, d, h, k = SIZES[size]
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((d, h)) / np.sqrt(d)
    b1 = 0.1 * rng.standard_normal((1, h))
    W2 = rng.standard_normal((h, k)) / np.sqrt(h)
    b2 = 0.1 * rng.standard_normal((1, k))
    X = rng.standard_normal((n, d))
    Y = np.eye(k)[rng.integers(0, k, n)]
    return [W1, b1, W2, b2, X, Y]


def symgrad_function(backend="numpy"):
    """Build the model (sg.models.mlp) and its loss, and compile them (the build being timed)."""
    import sympy as sp
    import symgrad as sg
    d, h, k = sp.symbols("d h k", integer=True, positive=True)
    m = sg.models.mlp([d, h, k], activation="tanh")
    Z, (X,), Y = m.output, m.inputs, m.target          # Z = tanh(X W1 + 1 b1) W2 + 1 b2
    L = (sg.msum(sg.logsumexp(Z, axis=1)) - sp.Trace(Y.T * Z)) / Z.shape[0]
    return sg.value_and_grad(L, wrt=list(m.params), args=[X, Y], backend=backend)


def hand_loss(W1, b1, W2, b2, X, Y):
    import numpy as np
    Z = np.tanh(X @ W1 + b1) @ W2 + b2
    m = Z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True))
    return (lse.sum() - np.sum(Y * Z)) / X.shape[0]


def hand_value_and_grad(W1, b1, W2, b2, X, Y):
    import numpy as np
    n = X.shape[0]
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    m = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - m)
    s = E.sum(axis=1, keepdims=True)
    loss = (np.sum(m + np.log(s)) - np.sum(Y * Z)) / n
    dZ = (E / s - Y) / n
    dW2 = H.T @ dZ
    db2 = dZ.sum(axis=0, keepdims=True)
    dA = (dZ @ W2.T) * (1 - H * H)
    dW1 = X.T @ dA
    db1 = dA.sum(axis=0, keepdims=True)
    return loss, (dW1, db1, dW2, db2)


def jax_functions(jax, values):
    """(value_and_grad, loss, device arguments) for JAX, jitted, x64."""
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def loss(W1, b1, W2, b2, X, Y):
        Z = jnp.tanh(X @ W1 + b1) @ W2 + b2
        return (jnp.sum(jax.nn.logsumexp(Z, axis=1)) - jnp.sum(Y * Z)) / X.shape[0]

    vg = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))
    loss_jit = jax.jit(loss)
    args = [jax.device_put(jnp.asarray(a)) for a in values]
    return (lambda: jax.block_until_ready(vg(*args)),
            lambda: jax.block_until_ready(loss_jit(*args)))


def torch_functions(torch, values, threads=None):
    """(value_and_grad, loss) closures for PyTorch autograd, float64."""
    if threads:
        torch.set_num_threads(threads)
    W1, b1, W2, b2 = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in values[:4]]
    X, Y = [torch.tensor(a, dtype=torch.float64) for a in values[4:]]
    params = (W1, b1, W2, b2)

    def loss():
        Z = torch.tanh(X @ W1 + b1) @ W2 + b2
        return (torch.logsumexp(Z, dim=1).sum() - (Y * Z).sum()) / X.shape[0]

    def value_and_grad():
        value = loss()
        return value, torch.autograd.grad(value, params)

    def loss_alone():
        with torch.no_grad():
            return loss()

    return value_and_grad, loss_alone


# --- time to first gradient, in a fresh process ---------------------------------------------

def first_gradient(system, size, clock="wall"):
    """Run in a child process: import, build and first-call times for one system (a dict).

    Import, build and first call are wall time; later calls use ``clock``.
    """
    out = {"system": system, "size": size}
    start = time.perf_counter()
    import numpy as np
    if system == "symgrad":
        import sympy  # noqa: F401
        import symgrad  # noqa: F401
    elif system == "jax":
        import jax
    elif system == "torch":
        import torch
    out["import_s"] = time.perf_counter() - start
    values = mlp_data(size)

    start = time.perf_counter()
    if system == "symgrad":
        f = symgrad_function()
        call = lambda: f(*values)  # noqa: E731  (the validated call a user makes)
    elif system == "numpy":
        call = lambda: hand_value_and_grad(*values)  # noqa: E731
    elif system == "jax":
        call = jax_functions(jax, values)[0]
    else:
        from _timing import blas_threads
        call = torch_functions(torch, values, blas_threads())[0]
    out["build_s"] = time.perf_counter() - start

    start = time.perf_counter()
    call()
    out["first_call_s"] = time.perf_counter() - start
    from _timing import CLOCKS, page_faults
    timer = CLOCKS[clock]
    steady = []
    for _ in range(STEADY_CALLS):
        start = timer()
        call()
        steady.append(timer() - start)
    out["steady_call_s"] = float(np.median(steady))
    out["faults_per_call"] = page_faults(call, calls=20)
    return out


def cold_starts(systems, sizes, repeats, flags=()):
    """first_gradient() in fresh processes; medians over ``repeats`` runs of each. The systems
    take turns (one process of each, then again), so a slow spell of the machine falls on all."""
    results, runs_of = {}, {}
    for size in sizes:
        for _ in range(repeats):
            for system in systems:
                runs = runs_of.setdefault((system, size), [])
                proc = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--first-gradient", system,
                     "--size", size, *flags], capture_output=True, text=True)
                if proc.returncode != 0:
                    raise RuntimeError("first-gradient child for %s failed:\n%s"
                                       % (system, proc.stderr))
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    for (system, size), runs in runs_of.items():
        results[system, size] = {key: _median([r[key] for r in runs])
                                 for key in runs[0] if key.endswith(("_s", "_call"))
                                 and runs[0][key] is not None}
    return results


def _median(xs):
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


# --- the benchmark --------------------------------------------------------------------------

def check_agreement(reference, other, name):
    """Same loss and gradients as symgrad's, to rtol 1e-8, or AssertionError naming the system."""
    import numpy as np
    (v0, g0), (v1, g1) = reference, other
    np.testing.assert_allclose(float(v1), float(v0), rtol=1e-8, err_msg="%s: loss" % name)
    for label, a, b in zip(["W1", "b1", "W2", "b2"], g0, g1):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-8,
                                   err_msg="%s: gradient of %s" % (name, label))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: few rounds, one cold start")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 60; --quick 5)")
    parser.add_argument("--cold-repeats", type=int,
                        help="fresh processes per system and size (default 5; --quick 1)")
    parser.add_argument("--threads", type=int,
                        help="threads for every system (NumPy's BLAS, PyTorch, XLA); default: "
                             "each library's own default")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: time.perf_counter (default); cpu: time.process_time, which "
                             "leaves out time spent waiting for a core on a loaded machine")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="tell glibc's malloc to keep freed memory (no per-call page faults)")
    parser.add_argument("--pair", choices=["numpy", "jax", "torch"],
                        help="time symgrad against one library only (JAX's or torch's worker "
                             "threads then cannot slow the other systems' calls); NumPy's hand "
                             "code is timed in every run")
    parser.add_argument("--first-gradient", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--size", choices=sorted(SIZES), default=MAIN_SIZE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    from _timing import (blas_threads, command_line, environment, interleaved, keep_freed_memory,
                         markdown_table, median, optional, page_faults, paired_ratio, spread)
    allocator = "glibc defaults"
    if args.keep_freed_memory:
        allocator = ("freed memory kept (mallopt M_TRIM_THRESHOLD, M_MMAP_THRESHOLD)"
                     if keep_freed_memory() else "could not change it (not glibc); defaults")
    if args.first_gradient:
        print(json.dumps(first_gradient(args.first_gradient, args.size, args.clock)))
        return

    import numpy as np
    rounds = args.rounds or (5 if args.quick else 60)
    repeats = args.cold_repeats or (1 if args.quick else 5)
    threads = blas_threads()

    jax, jax_missing = optional("jax") if args.pair in (None, "jax") else (None, "not timed (--pair)")
    torch, torch_missing = (optional("torch") if args.pair in (None, "torch")
                            else (None, "not timed (--pair)"))
    notes = ["malloc: " + allocator, "clock: " + {"wall": "wall time (time.perf_counter)",
                                                  "cpu": "CPU time (time.process_time)"}[args.clock]]
    if jax is not None:
        notes.append("JAX %s, XLA CPU: %s" % (jax.__version__, "XLA_FLAGS=%s" % XLA_SINGLE_THREAD
                                               if args.threads == 1 else
                                               "default thread pool (one thread per core)"))
    if torch is not None:
        torch.set_num_threads(threads or torch.get_num_threads())
        notes.append("PyTorch %s, torch.get_num_threads() = %d (set to NumPy's BLAS threads); "
                     "interop threads %d" % (torch.__version__, torch.get_num_threads(),
                                             torch.get_num_interop_threads()))

    print("# 2-layer MLP %s -> %d tanh -> %d, softmax cross-entropy, float64\n"
          % ("x".join(map(str, SIZES[MAIN_SIZE][:2])), SIZES[MAIN_SIZE][2], SIZES[MAIN_SIZE][3]))
    print("Command: `%s`\n" % command_line())
    print(environment(notes) + "\n")

    values = mlp_data(MAIN_SIZE)
    f = symgrad_function()
    arrays, _ = f.prepare(values)
    reference = f(*values)
    check_agreement(reference, hand_value_and_grad(*values), "hand NumPy")
    np.testing.assert_allclose(f.raw_value(*arrays), hand_loss(*values), rtol=1e-12)
    cases = {
        "symgrad f.raw": (lambda: f.raw(*arrays), lambda: f.raw_value(*arrays)),
        "symgrad f(...) validated": (lambda: f(*values), lambda: f.value(*values)),
        "hand NumPy": (lambda: hand_value_and_grad(*values), lambda: hand_loss(*values)),
    }
    missing = {}
    if jax is not None:
        vg, loss = jax_functions(jax, values)
        check_agreement(reference, vg(), "JAX")
        cases["JAX jit"] = (vg, loss)
    else:
        missing["JAX jit"] = jax_missing
    if torch is not None:
        vg, loss = torch_functions(torch, values)
        value, grads = vg()
        check_agreement(reference, (value.item(), [g.numpy() for g in grads]), "PyTorch")
        cases["PyTorch"] = (vg, loss)
    else:
        missing["PyTorch"] = torch_missing
    from _backend_cases import PEERS, backend_cases
    cases.update(backend_cases(symgrad_function, values, jax, torch, check_agreement))
    print("All systems agree on the loss and the four gradients (rtol 1e-8).\n")

    print("timing %d systems x %d interleaved rounds ..." % (len(cases), rounds), flush=True)
    flat = {}
    for name, (vg, loss) in cases.items():
        flat[name, "vg"], flat[name, "loss"] = vg, loss
    times = interleaved(flat, rounds, clock=args.clock)

    systems = ["symgrad"] + ["numpy"] + (["jax"] if jax else []) + (["torch"] if torch else [])
    print("timing first gradients in fresh processes (%d per system and size) ..." % repeats,
          flush=True)
    flags = ["--clock", args.clock] + (["--keep-freed-memory"] if args.keep_freed_memory else [])
    cold = cold_starts(systems, list(SIZES), repeats, flags)
    cold_name = {"symgrad f.raw": "symgrad", "hand NumPy": "numpy", "JAX jit": "jax",
                 "PyTorch": "torch"}

    rows, ratio = [], {}
    for name in cases:
        vg_t, loss_t = times[name, "vg"], times[name, "loss"]
        ratio[name] = paired_ratio(vg_t, loss_t)
        c = cold.get((cold_name.get(name), MAIN_SIZE))
        faults = page_faults(cases[name][0])
        rows.append([name, "%.2f" % (1e3 * median(vg_t)), "%.2f" % (1e3 * median(loss_t)),
                     "%.2f" % ratio[name],
                     "%.2f" % (c["build_s"] + c["first_call_s"]) if c else "",
                     "%.2f" % paired_ratio(vg_t, times["hand NumPy", "vg"]),
                     spread(vg_t),
                     "n/a" if faults is None else "%.0f" % faults])
    for name, reason in missing.items():
        rows.append([name, reason, "", "", "", "", "", ""])
    print("\n## Loss + gradients, %s (%s, medians of %d interleaved rounds)\n"
          % (MAIN_SIZE, args.clock, rounds))
    print(markdown_table(["system", "loss+grad ms", "loss ms", "ratio", "first gradient s",
                          "vs hand NumPy", "noise (IQR)", "page faults per call"], rows))
    print("\nratio = (loss + grads) / (loss alone); ratios are medians of per-round ratios.")
    print("\n\"first gradient\": build + first call in a fresh process (imports excluded; "
          "for JAX the first call is trace + compile + run).")

    cold_rows = []
    for size in SIZES:
        for system in systems:
            c = cold[system, size]
            faults = c.get("faults_per_call")
            cold_rows.append([system, size, "%.2f" % c["import_s"], "%.3f" % c["build_s"],
                              "%.3f" % c["first_call_s"], "%.2f" % (1e3 * c["steady_call_s"]),
                              "n/a" if faults is None else "%.0f" % faults,
                              "%.3f" % (c["build_s"] + c["first_call_s"])])
    print("\n## Time to first gradient, fresh process (median of %d)\n" % repeats)
    print(markdown_table(["system", "size (n x d)", "import s", "build s", "first call s",
                          "later call ms", "page faults per later call", "first gradient s"],
                         cold_rows))
    print("\nsymgrad's build = the SymPy expression + sg.value_and_grad (derive, rewrite, "
          "codegen, compile); the first call is the validated f(...). Page faults here are "
          "those of a fresh process that has loaded only that system, as in a user's script.")

    speed = paired_ratio(times["symgrad f.raw", "vg"], times["hand NumPy", "vg"])
    fresh = cold["symgrad", MAIN_SIZE]["steady_call_s"] / cold["numpy", MAIN_SIZE]["steady_call_s"]
    ratio_vs = ratio["symgrad f.raw"] / ratio["hand NumPy"]
    checks = [
        ("symgrad loss+grad (f.raw) <= %.2f x hand NumPy" % SPEED_TARGET, "%.2fx" % speed,
         speed <= SPEED_TARGET),
        ("same, in fresh processes (validated f(...) vs hand, %s clock)" % args.clock,
         "%.2fx" % fresh, fresh <= SPEED_TARGET),
        ("(loss+grad)/loss within %.1fx of hand NumPy's (%.2f)" % (RATIO_TARGET, ratio["hand NumPy"]),
         "%.2f (%.2fx)" % (ratio["symgrad f.raw"], ratio_vs), ratio_vs <= RATIO_TARGET),
    ]
    for name, peer in PEERS.items():
        if name in cases and peer in cases:
            r = paired_ratio(times[name, "vg"], times[peer, "vg"])
            checks.append(("%s loss+grad <= 1.00 x %s" % (name, peer), "%.2fx" % r, r <= 1.0))
    for size in SIZES:
        seconds = cold["symgrad", size]["build_s"]
        checks.append(("build <= %.1f s at %s" % (BUILD_TARGET, size), "%.3f s" % seconds,
                       seconds <= BUILD_TARGET))
    print("\n## Targets\n")
    print(markdown_table(["target", "measured", "met"],
                         [[name, value, "yes" if ok else "**no**"] for name, value, ok in checks]))
    if args.quick:
        print("\n(--quick: smoke run, few rounds; run without --quick for the reported figures)")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
