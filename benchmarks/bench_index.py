"""Index notation against matrix notation and hand-written code, side by side.

    python benchmarks/bench_index.py [--threads 1] [--rounds 15]

1. The README MLP (256x784 -> 128 tanh -> 10, softmax cross-entropy) written with
   indices, against the same loss written with MatrixSymbols: loss + gradients.
2. Multi-head attention (batch 8, 4 heads, 64 tokens, width 32) written with indices
   (arrays of rank 4): symgrad's generated code against hand-written NumPy einsum code
   and, when JAX is installed, jax.jit(jax.value_and_grad).
3. Expression -> compiled function, for both index models.
Ratios are medians of per-round ratios over interleaved rounds (benchmarks/_timing.py).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if __name__ == "__main__" and "--threads" in sys.argv:       # before NumPy loads its BLAS
    _count = sys.argv[sys.argv.index("--threads") + 1]
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_name] = _count
    if _count == "1":
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import numpy as np            # noqa: E402
import sympy as sp            # noqa: E402

import _timing                # noqa: E402
import symgrad as sg          # noqa: E402

S = sp.Sum
i, j, h, c, b, t, s, s2, e, q, r = sp.symbols("i j h c b t s s2 e q r", integer=True)
n, d, H, C, B, T, E, Q, NH = sp.symbols("n d H C B T E Q NH", integer=True, positive=True)


def index_mlp():
    x, Y, W1, b1, W2, b2 = (sp.IndexedBase(z) for z in "x Y W1 b1 W2 b2".split())
    hidden = lambda i_, h_: sp.tanh(S(x[i_, j] * W1[j, h_], (j, 0, d - 1)) + b1[h_])
    logits = lambda i_, c_: S(hidden(i_, h) * W2[h, c_], (h, 0, H - 1)) + b2[c_]
    L = S(sp.log(S(sp.exp(logits(i, c)), (c, 0, C - 1)))
          - S(Y[i, c] * logits(i, c), (c, 0, C - 1)), (i, 0, n - 1)) / n
    return L, [W1, b1, W2, b2], [x, Y]


def matrix_mlp():
    nn, dd, hh, kk = sp.symbols("n d h k", integer=True, positive=True)
    X, Y = sp.MatrixSymbol("X", nn, dd), sp.MatrixSymbol("Y", nn, kk)
    W1, b1 = sp.MatrixSymbol("W1", dd, hh), sp.MatrixSymbol("b1", 1, hh)
    W2, b2 = sp.MatrixSymbol("W2", hh, kk), sp.MatrixSymbol("b2", 1, kk)
    Hm = (X * W1 + sp.OneMatrix(nn, 1) * b1).applyfunc(sp.tanh)
    Z = Hm * W2 + sp.OneMatrix(nn, 1) * b2
    L = (sg.msum(sg.logsumexp(Z, axis=1)) - sp.Trace(Y.T * Z)) / nn
    return L, [W1, b1, W2, b2], [X, Y]


def index_attention():
    """Per batch b and head m: softmax over s of (Q K^T)/sqrt(E), times V; squared error."""
    x, Z, Wq, Wk, Wv = (sp.IndexedBase(z) for z in "x Z Wq Wk Wv".split())
    m = sp.Symbol("m", integer=True)
    proj = lambda Wm, bb, row, col: S(x[bb, row, q] * Wm[m, q, col], (q, 0, Q - 1))
    score = lambda tt, ss: S(proj(Wq, b, tt, r) * proj(Wk, b, ss, r), (r, 0, E - 1)) / sp.sqrt(E)
    weights = sp.exp(score(t, s)) / S(sp.exp(score(t, s2)), (s2, 0, T - 1))
    out = S(weights * proj(Wv, b, s, e), (s, 0, T - 1))
    L = S((out - Z[b, m, t, e])**2, (b, 0, B - 1), (m, 0, NH - 1), (t, 0, T - 1), (e, 0, E - 1))
    return L, [Wq, Wk, Wv], [x, Z]


def hand_attention(Wq, Wk, Wv, x, Z):
    """Hand-written NumPy einsum forward and backward for index_attention's loss."""
    E_ = Wq.shape[2]
    Qm = np.einsum("btq,mqe->bmte", x, Wq)
    Km = np.einsum("btq,mqe->bmte", x, Wk)
    Vm = np.einsum("btq,mqe->bmte", x, Wv)
    sc = np.einsum("bmte,bmse->bmts", Qm, Km) / np.sqrt(E_)
    sc -= sc.max(axis=-1, keepdims=True)
    P = np.exp(sc)
    P /= P.sum(axis=-1, keepdims=True)
    out = np.einsum("bmts,bmse->bmte", P, Vm)
    R = out - Z
    loss = np.sum(R * R)
    G = 2 * R
    dP = np.einsum("bmte,bmse->bmts", G, Vm)
    dV = np.einsum("bmts,bmte->bmse", P, G)
    dS = P * (dP - np.sum(dP * P, axis=-1, keepdims=True)) / np.sqrt(E_)
    dQ = np.einsum("bmts,bmse->bmte", dS, Km)
    dK = np.einsum("bmts,bmte->bmse", dS, Qm)
    return loss, (np.einsum("btq,bmte->mqe", x, dQ), np.einsum("btq,bmte->mqe", x, dK),
                  np.einsum("btq,bmte->mqe", x, dV))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--rounds", type=int, default=15)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    rows = []

    # 1. MLP, index form vs matrix form
    t0 = time.perf_counter(); L, wrt, args = index_mlp(); fi = sg.value_and_grad(L, wrt, args)
    build_index = time.perf_counter() - t0
    Lm, wrtm, argsm = matrix_mlp(); fm = sg.value_and_grad(Lm, wrtm, argsm)
    X = rng.normal(size=(256, 784)); Y = np.eye(10)[rng.integers(0, 10, 256)]
    W1 = rng.normal(size=(784, 128)) * 0.05; b1 = np.zeros(128)
    W2 = rng.normal(size=(128, 10)) * 0.1; b2 = np.zeros(10)
    vi, gi = fi(W1, b1, W2, b2, X, Y)
    vm, gm = fm(W1, b1[None, :], W2, b2[None, :], X, Y)
    assert abs(vi - vm) < 1e-9 * abs(vm) and np.allclose(gi[0], gm[0], rtol=1e-9, atol=1e-12)
    times = _timing.interleaved({
        "index": lambda: fi(W1, b1, W2, b2, X, Y),
        "matrix": lambda: fm(W1, b1[None, :], W2, b2[None, :], X, Y)}, a.rounds)
    rows.append(["MLP 256x784->128->10, index form", "%.2f ms" % (1e3 * _timing.median(times["index"])),
                 "matrix form %.2f ms" % (1e3 * _timing.median(times["matrix"])),
                 "%.2f" % _timing.paired_ratio(times["index"], times["matrix"])])

    # 2. multi-head attention, rank 4
    t0 = time.perf_counter(); L, wrt, args = index_attention(); fa = sg.value_and_grad(L, wrt, args)
    build_attention = time.perf_counter() - t0
    x = rng.normal(size=(8, 64, 32)); Z = rng.normal(size=(8, 4, 64, 32))
    Wq, Wk, Wv = (rng.normal(size=(4, 32, 32)) * 0.1 for _ in range(3))
    va, ga = fa(Wq, Wk, Wv, x, Z)
    vh, gh = hand_attention(Wq, Wk, Wv, x, Z)
    assert abs(va - vh) < 1e-8 * abs(vh) and all(np.allclose(u, v, rtol=1e-7, atol=1e-9) for u, v in zip(ga, gh))
    cases = {"symgrad": lambda: fa(Wq, Wk, Wv, x, Z), "hand einsum": lambda: hand_attention(Wq, Wk, Wv, x, Z)}
    jax, why = _timing.optional("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        jf = jax.jit(jax.value_and_grad(lambda p, x_, z_: hand_attention_jax(jnp, p, x_, z_)))
        jp = tuple(map(jnp.asarray, (Wq, Wk, Wv)))
        jx, jz = jnp.asarray(x), jnp.asarray(Z)
        jf(jp, jx, jz)[0].block_until_ready()
        cases["jax.jit(value_and_grad)"] = lambda: jf(jp, jx, jz)[0].block_until_ready()
    times = _timing.interleaved(cases, a.rounds)
    for name in cases:
        rows.append(["attention 8x4x64x32, %s" % name, "%.2f ms" % (1e3 * _timing.median(times[name])), "",
                     "%.2f" % _timing.paired_ratio(times[name], times["hand einsum"])])
    if jax is None:
        rows.append(["attention, jax.jit", "JAX %s" % why, "", ""])
    rows.append(["expression -> compiled function", "MLP %.2f s" % build_index,
                 "attention %.2f s" % build_attention, ""])
    print(_timing.command_line())
    print(_timing.markdown_table(["case", "loss + grads", "beside", "ratio"], rows))


def hand_attention_jax(jnp, params, x, Z):
    Wq, Wk, Wv = params
    Qm = jnp.einsum("btq,mqe->bmte", x, Wq)
    Km = jnp.einsum("btq,mqe->bmte", x, Wk)
    Vm = jnp.einsum("btq,mqe->bmte", x, Wv)
    sc = jnp.einsum("bmte,bmse->bmts", Qm, Km) / jnp.sqrt(Wq.shape[2])
    P = jnp.exp(sc - sc.max(axis=-1, keepdims=True))
    P = P / P.sum(axis=-1, keepdims=True)
    return jnp.sum((jnp.einsum("bmts,bmse->bmte", P, Vm) - Z) ** 2)


if __name__ == "__main__":
    main()
