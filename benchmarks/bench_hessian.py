"""Logistic regression's Hessian: symgrad's generated value_grad_hessian against JAX and PyTorch.

The model: mean sigmoid cross-entropy of z = X w over n = 1000 samples, w of d
entries, d in {100, 200, 1000}, float64, written with a symbolic d:

    L = msum(softplus(X w) - y * (X w)) / n

symgrad compiles ``sg.value_grad_hessian(L, wrt=[w], args=[X, y])`` once: its
Hessian is the closed form X^T (sigma(z) sigma(-z) * X) / n, and the call
returns the loss and the gradient as well. The peers compute the Hessian alone:

* JAX: ``jax.jit(jax.hessian(loss))`` (forward over reverse), x64 enabled,
  arrays already on the device, ``block_until_ready``;
* PyTorch: ``torch.func.hessian(loss)`` (forward over reverse, vmapped),
  float64, as many intra-op threads as NumPy's BLAS uses.

They are optional (``pip install -e '.[jax,torch]'``); without one its column
says "not installed". Before anything is timed, each peer's Hessian is checked
against symgrad's (assert_allclose, rtol 1e-10), so every column does the same
work. Cases are timed in interleaved rounds (``_timing.py``); the table gives
medians over rounds and paired ratios.

Then the optimizers, on their own figures (not timings): Newton (``sg.fit`` with
``sg.Newton()``) on the article's linear regression, x = [1, 2, 3, 4],
y = [2, 4, 6, 8], one step against gradient descent's 1000 (lr 0.01); Newton
on an L2-regularized logistic regression (steps to a gradient norm of 1e-10);
L-BFGS against ``scipy.optimize.minimize(method="L-BFGS-B")`` on least squares.

Targets: symgrad's compiled Hessian (the validated call ``f2(...)``) at most 1.0x
JAX's time and at least 5x faster than PyTorch's, at every d; Newton solves the
linear regression in one step (|W - 2|, |b| <= 1e-12); Newton reaches a gradient norm
of 1e-10 within 10 steps; L-BFGS's parameters agree with SciPy's.

Run:  python benchmarks/bench_hessian.py --threads 1 --clock cpu   (steady on a busy machine)
      python benchmarks/bench_hessian.py                           (library default threads)
      python benchmarks/bench_hessian.py --quick                   (smoke run: few rounds)

With each library's default threads on an oversubscribed machine (load 7 to 8 on
2 cores, as measured here), NumPy's OpenBLAS with 2 threads is the outlier: the
(100 x 1000) @ (1000 x 100) product at the heart of the d = 100 Hessian took
80 ms instead of 1.6 ms with one thread, so symgrad's column there measures
OpenBLAS's thread contention, not the generated code; XLA's pool degrades less.
Use --threads 1 on a shared machine, and compare default threads only on a quiet one.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_mlp import XLA_SINGLE_THREAD, limit_threads  # noqa: E402  (stdlib imports only)

SAMPLES = 1000
FEATURES = [100, 200, 1000]
JAX_RATIO, TORCH_SPEEDUP = 1.0, 5.0


def logistic_data(d, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((SAMPLES, d))
    w = 0.1 * rng.standard_normal((d, 1))
    y = (rng.random((SAMPLES, 1)) < 0.5) * 1.0
    return w, X, y


def symgrad_hessian():
    import sympy as sp
    import symgrad as sg
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w, y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
    z = X * w
    L = sg.msum(z.applyfunc(sg.softplus) - sp.HadamardProduct(y, z)) / n
    return sg.value_grad_hessian(L, wrt=[w], args=[X, y])


def jax_hessian(jax, w, X, y):
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def loss(w, X, y):
        z = X @ w
        return jnp.mean(jax.nn.softplus(z) - y * z)
    hess = jax.jit(jax.hessian(loss))
    args = [jax.device_put(jnp.asarray(a)) for a in (w[:, 0], X, y[:, 0])]
    return lambda: jax.block_until_ready(hess(*args))


def torch_hessian(torch, w, X, y):
    def loss(w, X, y):
        z = X @ w
        return torch.mean(torch.nn.functional.softplus(z) - y * z)
    hess = torch.func.hessian(loss)
    args = [torch.tensor(a, dtype=torch.float64) for a in (w[:, 0], X, y[:, 0])]
    return lambda: hess(*args)


def hessian_table(peers, rounds, clock):
    """Rows of the timing table, and {d: (jax ratio or None, torch speed-up or None)}."""
    import numpy as np
    from _timing import interleaved, median, paired_ratio, spread
    f2 = symgrad_hessian()
    rows, ratios = [], {}
    for d in FEATURES:
        w, X, y = logistic_data(d)
        reference = f2(w, X, y)[2]
        cases = {"symgrad": lambda: f2(w, X, y)}
        for name, (module, make) in peers.items():
            if module is not None:
                cases[name] = make(module, w, X, y)
                np.testing.assert_allclose(np.asarray(cases[name]()), reference, rtol=1e-10,
                                           atol=1e-14, err_msg="%s's Hessian at d = %d" % (name, d))
        times = interleaved(cases, rounds, warmup=2, clock=clock)
        jax_ratio = paired_ratio(times["symgrad"], times["jax"]) if "jax" in times else None
        torch_speedup = paired_ratio(times["torch"], times["symgrad"]) if "torch" in times else None
        ratios[d] = (jax_ratio, torch_speedup)

        def cell(name):
            if name not in times:
                return "not installed"
            return "%.2f ms (±%s)" % (1e3 * median(times[name]), spread(times[name]))
        rows.append([str(d), cell("symgrad"), cell("jax"), cell("torch"),
                     "%.2fx" % jax_ratio if jax_ratio else "n/a",
                     "%.1fx" % torch_speedup if torch_speedup else "n/a"])
    return rows, ratios


def blas_setter():
    """OpenBLAS's set_num_threads from the loaded library (ctypes), or None."""
    import ctypes
    import numpy  # noqa: F401  (loads the BLAS library)
    names = ["scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
             "openblas_set_num_threads64_", "openblas_set_num_threads"]
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.split()[-1].lower()
                 and line.split()[-1].startswith("/")}
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for name in names:
            if hasattr(lib, name):
                return getattr(lib, name)
    return None


def gemm_rows(rounds, clock):
    """Why the 2-thread column can lose: the Hessian's one product Xᵀ(s ⊙ X) (what the
    generated code calls) timed with NumPy's BLAS on 1 and on 2 threads, interleaved."""
    import numpy as np
    from _timing import interleaved, median, paired_ratio
    setter = blas_setter()
    if setter is None:
        return [["(OpenBLAS not found: not measured)", "", "", ""]]
    rows = []
    for d in FEATURES:
        _, X, _ = logistic_data(d)
        s = np.random.default_rng(2).random((SAMPLES, 1))

        def on(threads):
            def call():
                setter(threads)
                return X.T @ (s * X)
            return call
        times = interleaved({"1": on(1), "2": on(2)}, rounds, warmup=2, clock=clock)
        rows.append([str(d), "%.2f ms" % (1e3 * median(times["1"])),
                     "%.2f ms" % (1e3 * median(times["2"])), "%.2fx" % paired_ratio(times["2"], times["1"])])
    setter(blas_threads_default[0])
    return rows


blas_threads_default = [1]


def newton_figures():
    """The optimizers' figures: {name: value} and the rows of their table."""
    import numpy as np
    import scipy.optimize
    import sympy as sp
    import symgrad as sg
    W, b, x, y = sp.symbols("W b x y")
    article = ((W * x + b - y)**2, {W: 0.0, b: 0.0}, {x: [1, 2, 3, 4], y: [2, 4, 6, 8]})
    newton = sg.fit(*article, sg.Newton(), steps=1)
    gd = sg.fit(*article, sg.GD(lr=0.01), steps=1000)
    rows = [["article's regression, Newton, 1 step", "W = %.17g, b = %.3g" % (newton.params[W],
                                                                             newton.params[b]),
             "W - 2 = %.1e, loss %.1e" % (newton.params[W] - 2, newton.final_loss)],
            ["article's regression, GD lr 0.01, 1000 steps", "W = %.6f, b = %.6f"
             % (gd.params[W], gd.params[b]), "W - 2 = %.1e, loss %.1e"
             % (gd.params[W] - 2, gd.final_loss)]]
    one_step = max(abs(newton.params[W] - 2), abs(newton.params[b]))

    n, d = sp.symbols("n d", integer=True, positive=True)
    X, w, Y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
    c = sp.Symbol("c")
    z = X * w + c * sp.OneMatrix(n, 1)
    L = (sg.msum(z.applyfunc(sg.softplus) - sp.HadamardProduct(Y, z)) / n
         + sp.Rational(1, 100) / 2 * (sp.Trace(w.T * w) + c**2))
    f2 = sg.value_grad_hessian(L, [w, c], [X, Y])
    rng = np.random.default_rng(1)
    Xv = rng.standard_normal((SAMPLES, 100))
    yv = (rng.random((SAMPLES, 1)) < 1 / (1 + np.exp(-(Xv @ rng.standard_normal((100, 1)))))) * 1.0
    norms = []
    for steps in range(1, 11):
        res = sg.fit(f2, {w: np.zeros((100, 1)), c: 0.0}, {X: Xv, Y: yv}, sg.Newton(), steps=steps)
        _, (gw, gc), _ = f2(res.params[w], res.params[c], Xv, yv)
        norms.append(float(np.sqrt(np.sum(gw**2) + gc**2)))
    reached = next((k + 1 for k, g in enumerate(norms) if g <= 1e-10), None)
    rows.append(["L2 logistic regression (n = 1000, d = 100 + bias), Newton",
                 "gradient norm after steps 1..10: %s" % ", ".join("%.0e" % g for g in norms),
                 "<= 1e-10 after %s steps" % reached])

    Ls = sg.msum(sp.HadamardPower(X * w - Y, 2)) / n
    target = Xv[:, :20] @ rng.standard_normal((20, 1)) + 0.1 * rng.standard_normal((SAMPLES, 1))
    data = {X: Xv[:, :20], Y: target}
    lbfgs = sg.fit(Ls, {w: np.zeros((20, 1))}, data, sg.LBFGS(), steps=500)
    f = sg.value_and_grad(Ls, [w], [X, Y])

    def fun(v):
        value, (g,) = f(v.reshape(20, 1), Xv[:, :20], target)
        return float(value), g.ravel()
    ref = scipy.optimize.minimize(fun, np.zeros(20), jac=True, method="L-BFGS-B",
                                  options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000})
    exact = np.linalg.lstsq(Xv[:, :20], target, rcond=None)[0].ravel()
    gap = float(np.max(np.abs(lbfgs.params[w].ravel() - ref.x)))
    rows.append(["least squares (n = 1000, d = 20), sg.LBFGS vs scipy L-BFGS-B",
                 "%d steps, loss %.12g; SciPy %d iterations, loss %.12g"
                 % (len(lbfgs.history), lbfgs.final_loss, ref.nit, ref.fun),
                 "largest gap to SciPy %.1e; to lstsq: ours %.1e, SciPy %.1e"
                 % (gap, np.max(np.abs(lbfgs.params[w].ravel() - exact)),
                    np.max(np.abs(ref.x - exact)))])
    return {"one_step": one_step, "reached": reached, "lbfgs_gap": gap}, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: few rounds")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 15; --quick 3)")
    parser.add_argument("--threads", type=int, help="threads for every system (NumPy's BLAS, "
                                                    "PyTorch, XLA); default: each library's own")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: time.perf_counter (default); cpu: time.process_time")
    args = parser.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    from _timing import blas_threads, command_line, environment, markdown_table, optional
    rounds = args.rounds or (3 if args.quick else 15)
    jax, jax_missing = optional("jax")
    torch, torch_missing = optional("torch")
    notes = ["clock: " + {"wall": "wall time (time.perf_counter)",
                          "cpu": "CPU time (time.process_time)"}[args.clock]]
    if jax is not None:
        notes.append("JAX %s, XLA CPU: %s" % (jax.__version__, "XLA_FLAGS=%s" % XLA_SINGLE_THREAD
                                               if args.threads == 1 else "default thread pool"))
    else:
        notes.append("JAX: %s" % jax_missing)
    if torch is not None:
        torch.set_num_threads(blas_threads() or torch.get_num_threads())
        notes.append("PyTorch %s, torch.get_num_threads() = %d"
                     % (torch.__version__, torch.get_num_threads()))
    else:
        notes.append("PyTorch: %s" % torch_missing)

    print("# Logistic regression Hessian, n = %d, float64\n" % SAMPLES)
    print("Command: `%s`\n" % command_line())
    print(environment(notes) + "\n")
    blas_threads_default[0] = blas_threads() or 1
    rows, ratios = hessian_table({"jax": (jax, jax_hessian), "torch": (torch, torch_hessian)},
                                 rounds, args.clock)
    print(markdown_table(["d", "symgrad f2(...) (loss, grad, Hessian)", "jax.jit(jax.hessian)",
                          "torch.func.hessian", "symgrad / JAX", "PyTorch / symgrad"], rows))
    print("\n## The Hessian's product Xᵀ(s ⊙ X) alone, NumPy's BLAS on 1 and 2 threads (interleaved)\n")
    print(markdown_table(["d", "1 thread", "2 threads", "2 / 1"], gemm_rows(rounds, args.clock)))
    figures, newton_rows = newton_figures()
    print("\n## Newton and L-BFGS\n")
    print(markdown_table(["problem", "result", "figure"], newton_rows))

    targets = []
    for d, (jax_ratio, torch_speedup) in ratios.items():
        targets.append(["d = %d: symgrad <= %.1fx JAX" % (d, JAX_RATIO),
                        "%.2fx" % jax_ratio if jax_ratio else "JAX not installed",
                        _met(jax_ratio is not None and jax_ratio <= JAX_RATIO, jax_ratio)])
        targets.append(["d = %d: symgrad >= %.0fx faster than PyTorch" % (d, TORCH_SPEEDUP),
                        "%.1fx" % torch_speedup if torch_speedup else "PyTorch not installed",
                        _met(torch_speedup is not None and torch_speedup >= TORCH_SPEEDUP,
                             torch_speedup)])
    targets.append(["Newton solves the article's regression in 1 step (error <= 1e-12)",
                    "%.1e" % figures["one_step"], _met(figures["one_step"] <= 1e-12, 1)])
    targets.append(["Newton: gradient norm <= 1e-10 within 10 steps", str(figures["reached"]),
                    _met(figures["reached"] is not None, 1)])
    targets.append(["L-BFGS agrees with SciPy (largest parameter gap <= 1e-7)",
                    "%.1e" % figures["lbfgs_gap"], _met(figures["lbfgs_gap"] <= 1e-7, 1)])
    print("\n## Targets\n")
    print(markdown_table(["target", "measured", "met"], targets))
    if args.quick:
        print("\n(--quick: few rounds; the timing targets are not meaningful)")


def _met(ok, measured):
    if measured is None:
        return "not measured"
    return "yes" if ok else "**no**"


if __name__ == "__main__":
    main()
