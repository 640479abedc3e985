"""sg.fit against the same training loop written by hand in NumPy.

The article's run: linear regression on x = [1, 2, 3, 4], y = [2, 4, 6, 8],
mean squared error, gradient descent with lr 0.01 for 1000 steps from w = b = 0.
Both sides compute the loss and the gradient at every step and record the loss.
sg.fit is timed end to end (compiling the loss included). The two are run
alternately in one process and the medians compared, so drifts in machine load
hit both alike.

Then an MLP (2 -> 16 tanh -> 1, BCE with logits, Adam) is trained through
sg.fit on a seeded two-moons task; its held-out accuracy is printed.

    python benchmarks/bench_fit.py [--repeats 41]
"""

import argparse
import statistics
import time

import numpy as np
import sympy as sp

import symgrad as sg
from symgrad import GD, Adam, fit, models

XS = np.array([1.0, 2.0, 3.0, 4.0])
YS = np.array([2.0, 4.0, 6.0, 8.0])
w, b, x, y = sp.symbols("w b x y")
LOSS = (w * x + b - y)**2


def by_hand(steps=1000, lr=0.01):
    W, B, history = 0.0, 0.0, []
    for _ in range(steps):
        err = W * XS + B - YS
        history.append(np.mean(err**2))
        gw, gb = np.mean(2 * err * XS), np.mean(2 * err)
        W, B = W - lr * gw, B - lr * gb
    return W, B, history


def with_symgrad(steps=1000, lr=0.01):
    res = fit(LOSS, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=lr), steps=steps)
    return res.params[w], res.params[b], res.history


def compile_only():
    return sg.value_and_grad(LOSS, wrt=[w, b], args=[x, y])


def two_moons(count, seed, noise=0.15):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, count)
    label = rng.integers(0, 2, count)
    X = np.where(label[:, None] == 0, np.c_[np.cos(t), np.sin(t)],
                 np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + noise * rng.standard_normal((count, 2)), label[:, None].astype(float)


def moons():
    X, Y = two_moons(400, seed=7)
    m = models.mlp([2, 16, 1], activation="tanh", loss="bce")
    start = time.perf_counter()
    res = fit(m.loss, m.init(seed=1), {m.inputs[0]: X[:300], m.target: Y[:300]}, Adam(lr=0.02),
              steps=1500)
    elapsed = time.perf_counter() - start
    accuracy = np.mean((m.predict(res.params, X[300:]) > 0) == (Y[300:] > 0.5))
    return accuracy, elapsed, res.final_loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=41)
    repeats = parser.parse_args().repeats

    w_hand, b_hand, h_hand = by_hand()
    w_sg, b_sg, h_sg = with_symgrad()
    assert abs(w_hand - w_sg) < 1e-9 and abs(b_hand - b_sg) < 1e-9
    assert max(abs(p - q) for p, q in zip(h_hand, h_sg)) < 1e-9

    times = {"hand": [], "fit": [], "compile": []}
    for _ in range(repeats):
        for name, run in (("hand", by_hand), ("fit", with_symgrad), ("compile", compile_only)):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    ratio = med["fit"] / med["hand"]
    accuracy, elapsed, final = moons()

    print("Article linear regression, GD lr 0.01, 1000 steps (median of %d interleaved runs)\n"
          % repeats)
    print("| run | time |")
    print("|---|---|")
    print("| hand-written NumPy loop | %.1f ms |" % med["hand"])
    print("| `sg.fit` (compile included) | %.1f ms |" % med["fit"])
    print("| of which compiling the loss (`value_and_grad`) | %.1f ms |" % med["compile"])
    print("| ratio `sg.fit` / hand | %.2fx |" % ratio)
    print()
    print("| MLP 2-16-1 tanh, BCE, Adam lr 0.02, 1500 steps, two moons (300 train / 100 test) | |")
    print("|---|---|")
    print("| test accuracy | %.1f%% |" % (100 * accuracy))
    print("| final training loss | %.4f |" % final)
    print("| training time (`sg.fit`) | %.2f s |" % elapsed)


if __name__ == "__main__":
    main()
