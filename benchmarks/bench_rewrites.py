"""What the stable rewrites cost: the MLP end to end, and elementwise micro-benchmarks.

The MLP of bench_mlp.py (256 x 784 -> 128 tanh -> 10, biases, softmax
cross-entropy, float64) is written the way people write it without symgrad's
nodes -- exp, row sums through OneMatrix, log -- and compiled twice:
``sg.value_and_grad(L, ...)`` (stable: the rewrite stage turns the naive
softmax into a row-wise log-softmax) and ``stable=False`` (printed as written).
Loss + four gradients are timed side by side, interleaved, medians over rounds,
in the normal input range (inputs N(0, 1), weights N(0, 0.05)), where both
give the same numbers (checked first). Target: stable <= 1.10 x as written.

The elementwise micro-benchmarks (1e6 float64 entries, reported, not gated)
time each stable form against the naive one: sigmoid (expit vs 1/(1+exp(-z))),
softplus (logaddexp vs log(1+exp)), log1p, expm1, and the sigmoid
cross-entropy with its gradient.

Run:  python benchmarks/bench_rewrites.py --clock cpu        (add --quick for a smoke run)
"""

import argparse
import os
import sys

import numpy as np
import sympy as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _timing  # noqa: E402

import symgrad as sg  # noqa: E402


def naive_mlp():
    """The layers from sg.models.mlp; the softmax cross-entropy written naively with exp and log."""
    d, h, k = sp.symbols("d h k", integer=True, positive=True)
    m = sg.models.mlp([d, h, k], activation="tanh")
    Z, (X,), Y = m.output, m.inputs, m.target
    n = Z.shape[0]
    E = Z.applyfunc(sp.exp)
    P = sp.HadamardProduct(E, ((E * sp.OneMatrix(k, 1)) * sp.OneMatrix(1, k)).applyfunc(lambda t: 1 / t))
    L = -sg.msum(sp.HadamardProduct(Y, P.applyfunc(sp.log))) / n
    return L, list(m.params), [X, Y]


def mlp_arrays(rng, n=256, d=784, h=128, k=10):
    return [rng.normal(0, 0.05, (d, h)), np.zeros((1, h)), rng.normal(0, 0.05, (h, k)),
            np.zeros((1, k)), rng.normal(size=(n, d)), np.eye(k)[rng.integers(0, k, n)]]


def micro_cases(size, rng):
    z, y, x = sp.symbols("z y x")
    sigma = 1 / (1 + sp.exp(-z))
    zs, ys, xs = rng.normal(0, 3, size), rng.integers(0, 2, size).astype(float), rng.uniform(-0.5, 0.5, size)
    return [
        ("sigmoid 1/(1+exp(-z))", sigma, [z], [], [zs]),
        ("softplus log(1+exp(z))", sp.log(1 + sp.exp(z)), [z], [], [zs]),
        ("log(1 + x)", sp.log(1 + x), [x], [], [xs]),
        ("exp(x) - 1", sp.exp(x) - 1, [x], [], [xs]),
        ("sigmoid cross-entropy", -y * sp.log(sigma) - (1 - y) * sp.log(1 - sigma), [z], [y], [zs, ys]),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few rounds")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 31)
    rng = np.random.default_rng(0)

    L, wrt, data = naive_mlp()
    stable = sg.value_and_grad(L, wrt, data)
    plain = sg.value_and_grad(L, wrt, data, stable=False)
    arrays = mlp_arrays(rng, n=32 if args.quick else 256, d=64 if args.quick else 784)
    a_stable, _ = stable.prepare(arrays)
    a_plain, _ = plain.prepare(arrays)
    v1, g1 = stable.raw(*a_stable)
    v2, g2 = plain.raw(*a_plain)
    np.testing.assert_allclose(v1, v2, rtol=1e-10)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-14)
    times = _timing.interleaved({"stable": lambda: stable.raw(*a_stable),
                                 "as written": lambda: plain.raw(*a_plain)}, rounds, clock=args.clock)
    ratio = _timing.paired_ratio(times["stable"], times["as written"])
    print("## MLP, naive softmax cross-entropy: loss + 4 gradients\n")
    print(_timing.markdown_table(
        ["code", "ms", "noise"],
        [[name, "%.2f" % (1e3 * _timing.median(t)), _timing.spread(t)] for name, t in times.items()]))
    print("\nstable / as written = %.3f (target <= 1.10: %s)\n" % (ratio, "met" if ratio <= 1.10 else "NOT met"))

    size = 10**5 if args.quick else 10**6
    rows = []
    for name, expr, wrt_s, args_s, values in micro_cases(size, rng):
        # per-sample code called on whole arrays (raw, unvalidated): the elementwise work is timed
        fs, fp = sg.value_and_grad(expr, wrt_s, args_s), sg.value_and_grad(expr, wrt_s, args_s, stable=False)
        t = _timing.interleaved({"stable": lambda: fs.raw(*values), "as written": lambda: fp.raw(*values)},
                                rounds, clock=args.clock)
        rows.append([name, "%.2f" % (1e3 * _timing.median(t["stable"])),
                     "%.2f" % (1e3 * _timing.median(t["as written"])),
                     "%.2f" % _timing.paired_ratio(t["stable"], t["as written"])])
    print("## Elementwise, %d entries: value and gradient (reported, not gated)\n" % size)
    print(_timing.markdown_table(["expression", "stable ms", "as written ms", "ratio"], rows))
    print("\ncommand: %s" % _timing.command_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
