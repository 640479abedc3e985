"""sg.fit against the same training loop written by hand in NumPy, on every backend.

The article's run: linear regression on x = [1, 2, 3, 4], y = [2, 4, 6, 8],
mean squared error, gradient descent with lr 0.01 for 1000 steps from w = b = 0.
Both sides compute the loss and the gradient at every step and record the loss.
sg.fit is timed end to end (compiling the loss included; for JAX also tracing and
compiling the jitted lax.scan). The runs alternate in one process (a rotating order)
and the medians are compared, so drifts in machine load hit every side alike. Every
backend must reproduce the seed's W = 1.9896587550255742, b = 0.030404521305361965
within 1e-9.

Then an MLP (2 -> 16 tanh -> 1, BCE with logits, Adam) is trained through sg.fit on
a seeded two-moons task on each backend; its held-out accuracy must be the same.

With JAX: least-squares problems of 10^7 and 4 x 10^7 rows in memory-mapped files,
streamed window by window through fit(..., backend="jax") in child processes whose peak
RSS is reported beside the file's size; and the two-moons MLP on 4 CPU devices
(XLA_FLAGS=--xla_force_host_platform_device_count=4, data sharded over them) against 1.

    python benchmarks/bench_fit.py [--backend all|numpy|jax|torch] [--threads 1] [--repeats 21]
    python benchmarks/bench_fit.py --rows 1000000     (one smaller streamed file)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SEED_W, SEED_B = 1.9896587550255742, 0.030404521305361965
HERE = os.path.dirname(os.path.abspath(__file__))


def setup(threads):
    sys.path[:0] = [HERE, os.path.dirname(HERE)]
    if threads:
        from bench_mlp import limit_threads
        limit_threads(threads)


def problem():
    import numpy as np
    import sympy as sp
    w, b, x, y = sp.symbols("w b x y")
    return (w * x + b - y)**2, (w, b, x, y), np.array([1.0, 2, 3, 4]), np.array([2.0, 4, 6, 8])


def by_hand(steps=1000, lr=0.01):
    import numpy as np
    _, _, xs, ys = problem()
    W, B, history = 0.0, 0.0, []
    for _ in range(steps):
        err = W * xs + B - ys
        history.append(np.mean(err**2))
        gw, gb = np.mean(2 * err * xs), np.mean(2 * err)
        W, B = W - lr * gw, B - lr * gb
    return W, B, history


def with_symgrad(backend, steps=1000, lr=0.01):
    import symgrad as sg
    loss, (w, b, x, y), xs, ys = problem()
    res = sg.fit(loss, {w: 0.0, b: 0.0}, {x: xs, y: ys}, sg.GD(lr=lr), steps=steps, backend=backend)
    return res.params[w], res.params[b], res.history


def two_moons(count, seed, noise=0.15):
    import numpy as np
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, count)
    label = rng.integers(0, 2, count)
    X = np.where(label[:, None] == 0, np.c_[np.cos(t), np.sin(t)],
                 np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + noise * rng.standard_normal((count, 2)), label[:, None].astype(float)


def moons(backend, count=400):
    """(test accuracy, seconds, final loss, parameters) of the two-moons MLP on ``backend``."""
    import numpy as np
    from symgrad import Adam, fit, models
    X, Y = two_moons(count, seed=7)
    train = count * 3 // 4
    m = models.mlp([2, 16, 1], activation="tanh", loss="bce")
    start = time.perf_counter()
    res = fit(m.loss, m.init(seed=1), {m.inputs[0]: X[:train], m.target: Y[:train]}, Adam(lr=0.02),
              steps=1500, backend=backend)
    elapsed = time.perf_counter() - start
    accuracy = np.mean((m.predict(res.params, X[train:]) > 0) == (Y[train:] > 0.5))
    return accuracy, elapsed, res.final_loss, [np.asarray(v).ravel().tolist() for v in res.params.values()]


# --- children: the streamed file and the sharded run ---------------------------------------

def stream_child(path, rows, steps):
    """Train on the memory-mapped file at ``path`` (x, y rows); report params, time, peak RSS."""
    import numpy as np
    import jax  # noqa: F401   (imported before the baseline RSS)
    import symgrad as sg
    baseline = _status("VmRSS")
    loss, (w, b, x, y), _, _ = problem()
    table = np.load(path, mmap_mode="r")
    start = time.perf_counter()
    res = sg.fit(loss, {w: 0.0, b: 0.0}, {x: table[0], y: table[1]},
                 sg.Adam(lr=0.01, batch_size=1000), steps=steps, backend="jax")
    return {"w": res.params[w], "b": res.params[b], "final_loss": res.final_loss,
            "seconds": time.perf_counter() - start, "baseline_mb": baseline,
            "peak_mb": _status("VmHWM")}


def _status(field):
    """A memory figure of this process from /proc/self/status, in MB (VmRSS now, VmHWM peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no %s in /proc/self/status" % field)


def shard_child():
    import jax
    accuracy, seconds, final, params = moons("jax", count=4096)
    return {"devices": jax.device_count(), "accuracy": accuracy, "seconds": seconds,
            "final_loss": final, "params": params}


def child(args, env=None):
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), *args], capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError("child %s failed:\n%s" % (args, proc.stderr))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_rows(path, rows):
    """x ~ N(0, 1), y = 2x - 0.5 + N(0, 0.1^2), as a (2, rows) float64 .npy, in blocks."""
    import numpy as np
    table = np.lib.format.open_memmap(path, mode="w+", dtype=float, shape=(2, rows))
    rng = np.random.default_rng(11)
    for lo in range(0, rows, 1 << 20):
        hi = min(rows, lo + (1 << 20))
        table[0, lo:hi] = rng.standard_normal(hi - lo)
        table[1, lo:hi] = 2 * table[0, lo:hi] - 0.5 + 0.1 * rng.standard_normal(hi - lo)
    table.flush()


# --- the report ------------------------------------------------------------------------------

def article(backends, repeats):
    import numpy as np
    w_hand, b_hand, h_hand = by_hand()
    rows = []
    for name in backends:
        W, B, history = with_symgrad(name)
        assert abs(W - SEED_W) <= 1e-9 and abs(B - SEED_B) <= 1e-9, (name, W, B)
        assert max(abs(p - q) for p, q in zip(h_hand, history)) < 1e-9
        rows.append([name, repr(float(W)), repr(float(B)), "%.1e" % max(abs(W - SEED_W), abs(B - SEED_B))])
    runs = {"hand NumPy loop": by_hand}
    runs.update({"sg.fit, %s" % n: (lambda n=n: with_symgrad(n)) for n in backends})
    times = {k: [] for k in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print("## The article's linear regression, GD lr 0.01, 1000 steps (median of %d interleaved runs)\n"
          % repeats)
    print("| backend | W | b | off the seed's |\n|---|---|---|---|")
    print("\n".join("| %s |" % " | ".join(r) for r in rows))
    print("\n| run | time | / hand |\n|---|---|---|")
    for k in names:
        print("| %s | %.1f ms | %.2fx |" % (k, med[k], med[k] / med["hand NumPy loop"]))
    print("\n(sg.fit includes compiling the loss; with JAX also tracing and compiling the scan, "
          "which is most of it at 1000 steps on 4 samples.)")
    del np


def moons_table(backends):
    print("\n## MLP 2-16-1 tanh, BCE, Adam lr 0.02, 1500 steps, two moons (300 train / 100 test)\n")
    print("| backend | test accuracy | final training loss | sg.fit time |\n|---|---|---|---|")
    accuracy = {}
    for name in backends:
        acc, seconds, final, _ = moons(name)
        accuracy[name] = acc
        print("| %s | %.1f%% | %.6f | %.2f s |" % (name, 100 * acc, final, seconds))
    assert len(set(accuracy.values())) == 1, accuracy


def streamed(sizes):
    print("\n## Least squares streamed from a memory-mapped file (JAX, Adam lr 0.01, batch 1000, "
          "one epoch)\n")
    print("| rows | file | peak RSS (VmHWM) | RSS before fit | w (true 2) | b (true -0.5) | "
          "final loss | time |\n|---|---|---|---|---|---|---|---|")
    for rows in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "rows.npy")
            write_rows(path, rows)
            size = os.path.getsize(path) / 2**20
            r = child(["--stream-child", path, str(rows), str(rows // 1000)])
        print("| %d | %.0f MB | %.0f MB | %.0f MB | %.6f | %.6f | %.6f | %.1f s |"
              % (rows, size, r["peak_mb"], r["baseline_mb"], r["w"], r["b"], r["final_loss"],
                 r["seconds"]), flush=True)


def sharded():
    runs = {}
    for count in (4, 1):
        env = dict(os.environ, JAX_PLATFORMS="cpu",      # the device count first: XLA stops
                   XLA_FLAGS=("--xla_force_host_platform_device_count=%d " % count +   # at a bad flag
                              os.environ.get("XLA_FLAGS", "")).strip())
        runs[count] = child(["--shard-child"], env=env)
        assert runs[count]["devices"] == count, runs[count]
    gap = max(abs(p - q) for a, b in zip(runs[4]["params"], runs[1]["params"]) for p, q in zip(a, b))
    print("\n## The two-moons MLP (4096 samples) on 4 CPU devices, data sharded, against 1 device\n")
    print("| devices | test accuracy | final loss | time |\n|---|---|---|---|")
    for count in (1, 4):
        r = runs[count]
        print("| %d | %.2f%% | %.12f | %.2f s |" % (r["devices"], 100 * r["accuracy"], r["final_loss"],
                                                  r["seconds"]))
    print("\nlargest parameter difference, 4 devices against 1: %.1e (the per-sample means are "
          "summed in another order)" % gap)
    assert gap < 1e-9 and runs[4]["accuracy"] == runs[1]["accuracy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="all", choices=["all", "numpy", "jax", "torch"])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--threads", type=int, help="threads for NumPy's BLAS, XLA and PyTorch")
    parser.add_argument("--rows", type=int, nargs="+", default=[10**7, 4 * 10**7],
                        help="rows of the streamed files (default 10^7 and 4 x 10^7)")
    parser.add_argument("--stream-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--shard-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup(args.threads)
    if args.stream_child:
        path, rows, steps = args.stream_child
        print(json.dumps(stream_child(path, int(rows), int(steps))))
        return
    if args.shard_child:
        print(json.dumps(shard_child()))
        return
    import importlib.util
    from _timing import command_line, environment
    installed = ["numpy"] + [n for n in ("jax", "torch") if importlib.util.find_spec(n)]
    backends = installed if args.backend == "all" else ["numpy", args.backend]
    if args.threads:
        for name in backends:
            if name == "torch":
                import torch
                torch.set_num_threads(args.threads)
    print("# sg.fit on %s\n\nCommand: `%s`\n" % (", ".join(backends), command_line()))
    print(environment(["threads: %s" % (args.threads or "each library's default")]) + "\n")
    article(backends, args.repeats)
    moons_table(backends)
    if "jax" in backends:
        streamed(args.rows)
        sharded()


if __name__ == "__main__":
    main()
