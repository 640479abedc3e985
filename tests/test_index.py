"""Index notation: losses as papers write them (Σᵢ over x[i, j]), arrays of rank 1 to 4.

Every model in the table is checked three ways at small random sizes:
- the symbolic gradient sg.grad(L, w) (an expression in free indices), evaluated exactly
  with the Sums written out at concrete sizes;
- the generated code (sg.value_and_grad), whose loss must also equal the exact loss;
- central differences of the generated loss;
and, where the model has a matrix form, against sg.value_and_grad of that form.
"""

import itertools

import numpy as np
import pytest
import sympy as sp

import symgrad as sg

i, j, k, c, o, h, t, s, s2, e, q, r, bb = sp.symbols("i j k c o h t s s2 e q r bb", integer=True)
n, d, K, C, O, H, T, E, Q, B, R = sp.symbols("n d K C O H T E Q B R", integer=True, positive=True)
x, y, w, W, W1, W2, b1, U, V, M, A, Y, Z = (sp.IndexedBase(name) for name in
                                          "x y w W W1 W2 b1 U V M A Y Z".split())
Kr, bias, Wq, Wk, Wv, cvec = (sp.IndexedBase(name) for name in "Kr bias Wq Wk Wv cvec".split())
b, lam, b2 = sp.symbols("b lam b2")


def S(expr, *limits):
    return sp.Sum(expr, *limits)


def _linear(i_):
    return S(w[j] * x[i_, j], (j, 0, d - 1)) + b


def _mlp_hidden(i_, h_):
    return sp.tanh(S(x[i_, j] * W1[j, h_], (j, 0, d - 1)) + b1[h_])


def _attention_out(t_, e_, head=None):
    """softmax over s of (Q K^T)/sqrt(E), times V; Q = X Wq etc. (per head when given)."""
    def proj(Wm, row, col):
        return S(x[row, q] * (Wm[head, q, col] if head is not None else Wm[q, col]), (q, 0, Q - 1))
    score = lambda tt, ss: S(proj(Wq, tt, r) * proj(Wk, ss, r), (r, 0, E - 1)) / 2
    weights = sp.exp(score(t_, s)) / S(sp.exp(score(t_, s2)), (s2, 0, T - 1))
    return S(weights * proj(Wv, s, e_), (s, 0, T - 1))


MODELS = {
    # name: (loss, wrt, args, sizes, rank of each IndexedBase)
    "linear regression (MSE)": (S((_linear(i) - y[i])**2, (i, 0, n - 1)) / n,
                                [w, b], [x, y], {n: 5, d: 3}),
    "ridge": (S((_linear(i) - y[i])**2, (i, 0, n - 1)) / n + lam * S(w[j]**2, (j, 0, d - 1)),
              [w, b], [x, y, lam], {n: 5, d: 3}),
    "lasso (smooth part away from 0)": (S((_linear(i) - y[i])**2, (i, 0, n - 1)) / n
                                        + lam * S(sp.Abs(w[j]), (j, 0, d - 1)),
                                        [w], [b, x, y, lam], {n: 4, d: 3}),
    "logistic regression": (S(sg.softplus(_linear(i)) - y[i] * _linear(i), (i, 0, n - 1)) / n,
                            [w, b], [x, y], {n: 6, d: 3}),
    "logistic, naive sigmoid": (-S(y[i] * sp.log(1 / (1 + sp.exp(-_linear(i))))
                                   + (1 - y[i]) * sp.log(1 - 1 / (1 + sp.exp(-_linear(i)))),
                                   (i, 0, n - 1)) / n, [w, b], [x, y], {n: 5, d: 2}),
    "Poisson regression": (S(sp.exp(_linear(i)) - y[i] * _linear(i), (i, 0, n - 1)),
                           [w, b], [x, y], {n: 5, d: 2}),
    "softmax regression": (S(sp.log(S(sp.exp(S(x[i, j] * W[j, c], (j, 0, d - 1))), (c, 0, C - 1)))
                             - S(Y[i, c] * S(x[i, j] * W[j, c], (j, 0, d - 1)), (c, 0, C - 1)),
                             (i, 0, n - 1)) / n, [W], [x, Y], {n: 4, d: 3, C: 3}),
    "2-layer MLP": (S((S(_mlp_hidden(i, h) * W2[h], (h, 0, H - 1)) + b2 - y[i])**2, (i, 0, n - 1)) / n,
                    [W1, b1, W2, b2], [x, y], {n: 4, d: 3, H: 2}),
    "matrix factorization with a mask": (S(M[i, j] * (S(U[i, k] * V[j, k], (k, 0, K - 1)) - A[i, j])**2,
                                           (i, 0, n - 1), (j, 0, d - 1)), [U, V], [M, A],
                                         {n: 3, d: 4, K: 2}),
    "quadratic form": (S(w[j] * A[j, k] * w[k], (j, 0, d - 1), (k, 0, d - 1)) / 2
                       - S(cvec[j] * w[j], (j, 0, d - 1)), [w], [A, cvec], {d: 3}),
    "batched bilinear form": (S((S(x[bb, j] * W[j, k] * Z[bb, k], (j, 0, d - 1), (k, 0, K - 1))
                                 - y[bb])**2, (bb, 0, B - 1)), [W], [x, Z, y], {B: 3, d: 2, K: 3}),
    "1-D convolution (valid)": (S((S(x[i + k, c] * Kr[k, c, o], (k, 0, K - 1), (c, 0, C - 1))
                                   + bias[o] - Y[i, o])**2, (i, 0, n - K), (o, 0, O - 1)),
                                [Kr, bias], [x, Y], {n: 6, K: 3, C: 2, O: 2}),
    "Huber": (S(sp.Piecewise(((_linear(i) - y[i])**2 / 2, sp.Abs(_linear(i) - y[i]) <= 1),
                             (sp.Abs(_linear(i) - y[i]) - sp.Rational(1, 2), True)), (i, 0, n - 1)),
              [w, b], [x, y], {n: 5, d: 2}),
    "hinge (SVM)": (S(sp.Max(0, 1 - y[i] * _linear(i)), (i, 0, n - 1)) / n
                    + lam * S(w[j]**2, (j, 0, d - 1)), [w, b], [x, y, lam], {n: 5, d: 2}),
    "log-cosh": (S(sp.log(sp.cosh(_linear(i) - y[i])), (i, 0, n - 1)), [w, b], [x, y], {n: 4, d: 2}),
    "weighted MSE": (S(A[i, 0] * (_linear(i) - y[i])**2, (i, 0, n - 1)), [w, b], [A, x, y],
                     {n: 4, d: 3}),
    "Gaussian NLL, learned log-variance": (S((y[i] - _linear(i))**2 * sp.exp(-lam) / 2 + lam / 2,
                                             (i, 0, n - 1)), [w, lam], [b, x, y], {n: 4, d: 2}),
    "polynomial features": (S((S(w[j] * x[i, 0]**(j + 1), (j, 0, d - 1)) - y[i])**2, (i, 0, n - 1)),
                            [w], [x, y], {n: 4, d: 3}),
    "elastic net on a matrix": (S(W[j, k]**2 + sp.sqrt(W[j, k]**2 + 1), (j, 0, d - 1), (k, 0, K - 1)),
                                [W], [], {d: 2, K: 3}),
    "KL to a softmax": (S(y[c] * (sp.log(y[c]) - w[c] + sp.log(S(sp.exp(w[s]), (s, 0, C - 1)))),
                          (c, 0, C - 1)), [w], [y], {C: 4}),
    "single-head attention": (S((_attention_out(t, e) - Y[t, e])**2, (t, 0, T - 1), (e, 0, E - 1)),
                              [Wq, Wk, Wv], [x, Y], {T: 2, Q: 2, E: 2}),
    "multi-head attention (rank 3 weights)": (
        S((_attention_out(t, e, head=h) - Z[h, t, e])**2, (h, 0, H - 1), (t, 0, T - 1), (e, 0, E - 1)),
        [Wq, Wk, Wv], [x, Z], {H: 2, T: 2, Q: 2, E: 2}),
}

POSITIVE_DATA = {"KL to a softmax"}


def _ranks(expr):
    out = {}
    for a in expr.atoms(sp.Indexed):
        out[a.base] = len(a.indices)
    return out


def _shape(base, expr, sizes, rng_extent):
    """An array shape for base: each axis as long as its largest position + 1."""
    tops = None
    for a in expr.atoms(sp.Indexed):
        if a.base != base:
            continue
        here = [rng_extent(ix) for ix in a.indices]
        tops = here if tops is None else [max(u, v) for u, v in zip(tops, here)]
    return tuple(tops)


def _extent_function(expr, sizes):
    ranges = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Sum):
            for sym, lo, hi in node.limits:
                ranges[sym] = int(sp.sympify(hi).xreplace(sizes))
    def extent(ix):
        return int(sp.sympify(ix).xreplace(ranges)) + 1
    return extent


def _arrays(name, expr, wrt, args, sizes, seed=0):
    rng = np.random.default_rng(seed)
    extent = _extent_function(expr, sizes)
    out = {}
    for base in wrt + args:
        if isinstance(base, sp.IndexedBase):
            shape = _shape(base, expr, sizes, extent)
            low = 0.1 if name in POSITIVE_DATA and base in args else -1
            out[base] = np.round(rng.uniform(low, 1, size=shape) * 64) / 64
        else:
            out[base] = round(float(rng.uniform(0.2, 0.8)) * 64) / 64
    if name in POSITIVE_DATA:
        for base in args:
            out[base] = out[base] / out[base].sum()
    return out


def _exact(expr, sizes, values, digits=30):
    """Evaluate an index expression by walking its Sums (an interpreter independent of
    symgrad's code generation), in ``digits``-digit mpmath arithmetic."""
    import mpmath as mp
    table = {base: v for base, v in values.items()}

    def ev(e, env):
        if isinstance(e, sp.Sum):
            (sym, lo, hi), rest = e.limits[0], e.limits[1:]
            lo, hi = (int(sp.sympify(q).xreplace(sizes).xreplace(env)) for q in (lo, hi))
            inner = sp.Sum(e.function, *rest) if rest else e.function
            return mp.fsum(ev(inner, {**env, sym: sp.Integer(v)}) for v in range(lo, hi + 1))
        if isinstance(e, sp.Indexed):
            index = tuple(int(sp.sympify(q).xreplace(env)) for q in e.indices)
            return mp.mpf(sp.Rational(float(table[e.base][index])).p) / sp.Rational(float(table[e.base][index])).q
        if e in table:
            return mp.mpf(sp.Rational(table[e]).p) / sp.Rational(table[e]).q
        if isinstance(e, sp.Symbol):
            return mp.mpf(int(sp.sympify(sp.sympify(e).xreplace(sizes)).xreplace(env)))
        if e.is_Number:
            return mp.mpf(e.p) / e.q if e.is_Rational else mp.mpf(str(sp.N(e, digits + 10)))
        if isinstance(e, sp.Piecewise):
            for value, cond in e.args:
                if cond == sp.true or bool(cond.func(*[sp.Float(ev(a, env), digits) for a in cond.args])):
                    return ev(value, env)
            raise ValueError("no branch")
        if isinstance(e, sp.Add):
            return mp.fsum(ev(a, env) for a in e.args)
        if isinstance(e, sp.Mul):
            out = mp.mpf(1)
            for a in e.args:
                out *= ev(a, env)
            return out
        if isinstance(e, sp.Pow):
            return ev(e.base, env) ** ev(e.exp, env)
        args = [sp.Float(ev(a, env), digits) for a in e.args]
        return mp.mpf(str(sp.N(e.func(*args), digits)))

    with mp.workdps(digits):
        return sp.Float(ev(sp.sympify(expr), {}), digits)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_index_model_three_ways(name):
    expr, wrt, args, sizes = MODELS[name]
    values = _arrays(name, expr, wrt, args, sizes)
    f = sg.value_and_grad(expr, wrt=wrt, args=args)
    assert "for " not in f.source.split('"""')[-1]          # no Python loop over an index
    inputs = [values[q] for q in wrt + args]
    value, grads = f(*inputs)
    exact = _exact(expr, sizes, values)
    assert abs(float(exact) - value) <= 1e-9 * (1 + abs(value)), (value, exact)
    for p, g in zip(wrt, grads):
        g = np.asarray(g, dtype=float)
        assert g.shape == np.shape(values[p])
        target = tuple(sp.Symbol("a%d" % m, integer=True) for m in range(g.ndim))
        sym = sg.grad(expr, p[target] if target else p)
        for index in (itertools.product(*[range(m) for m in g.shape]) if g.ndim else [()]):
            at = {a: sp.Integer(v) for a, v in zip(target, index)}
            want = float(_exact(sym.xreplace(at), sizes, values))
            assert abs(g[index] - want) <= 1e-8 * (1 + abs(want)), (name, p, index, g[index], want)
            fd = _difference(f, inputs, wrt.index(p), index)
            assert abs(fd - want) <= 1e-5 * (1 + abs(want)), (name, p, index, fd, want)


def _difference(f, inputs, position, index, h=1e-6):
    plus = [np.array(a, dtype=float, copy=True) for a in inputs]
    minus = [np.array(a, dtype=float, copy=True) for a in inputs]
    if np.ndim(plus[position]):
        plus[position][index] += h
        minus[position][index] -= h
    else:
        plus[position] = plus[position] + h
        minus[position] = minus[position] - h
    return (f.value(*plus) - f.value(*minus)) / (2 * h)


@pytest.mark.parametrize("name", ["ridge", "logistic regression", "quadratic form", "Poisson regression"])
def test_index_hessian_equals_differences_of_the_generated_gradient(name):
    expr, wrt, args, sizes = MODELS[name]
    p = wrt[0]
    values = _arrays(name, expr, wrt, args, sizes)
    f = sg.value_and_grad(expr, wrt=wrt, args=args)
    inputs = [values[q] for q in wrt + args]
    H = sg.hessian(expr, p)
    free = sorted((s for s in H.free_symbols if s.is_integer and s not in sizes
                   and not any(s in lim for lim in ())), key=lambda s: s.name)
    rows, cols = _row_col(H, p)
    size = np.shape(values[p])[0]
    for a in range(size):
        plus = [np.array(v, dtype=float, copy=True) for v in inputs]
        minus = [np.array(v, dtype=float, copy=True) for v in inputs]
        plus[0][a] += 1e-6
        minus[0][a] -= 1e-6
        column = (np.asarray(f(*plus)[1][0]) - np.asarray(f(*minus)[1][0])) / 2e-6
        for r in range(size):
            want = float(_exact(H.xreplace({rows: sp.Integer(r), cols: sp.Integer(a)}), sizes, values))
            assert abs(column[r] - want) <= 1e-5 * (1 + abs(want)), (name, r, a, column[r], want)


def _row_col(H, p):
    """The free indices of a Hessian in the order sg.hessian names them (row, column)."""
    bound = {lim[0] for s_ in H.atoms(sp.Sum) for lim in s_.limits}
    free = [s_ for s_ in H.free_symbols if isinstance(s_, sp.Symbol) and s_.is_integer and s_ not in bound
            and s_.name[0] in "jklmpqrs"]
    free.sort(key=lambda s_: ("jklmpqrs".index(s_.name[0]), s_.name))
    return free[0], free[1]


# --- found by an adversarial user: each was a silent wrong answer or a raw error ------------

def test_a_triangular_sum_is_refused_not_summed_over_the_full_range():
    with pytest.raises(sg.UnsupportedExpression, match="triangular sum"):
        sg.value_and_grad(S(S(w[i] * w[j], (j, 0, i)), (i, 0, d - 1)), [w])


def test_a_diagonal_read_differentiates_to_a_kronecker_delta():
    assert sg.grad(S(W[i, i], (i, 0, d - 1)), W[j, k]) == sp.KroneckerDelta(j, k)


def test_a_gradient_asked_at_the_summation_index_does_not_capture_it():
    expr = MODELS["linear regression (MSE)"][0]
    g = sg.grad(expr, w[i])
    assert g.free_symbols >= {i} and not any(a.indices == (a.indices[0], a.indices[0])
                                              for a in g.atoms(sp.Indexed) if len(a.indices) == 2)
    assert sg.grad(expr, w[0]).free_symbols.isdisjoint({j})


def test_data_longer_than_its_index_range_is_a_shape_mismatch_not_truncated():
    expr, wrt, args, sizes = MODELS["linear regression (MSE)"]
    f = sg.value_and_grad(expr, wrt, args)
    with pytest.raises(sg.ShapeMismatch, match="y"):
        f(np.zeros(3), 0.0, np.ones((5, 3)), np.ones(6))


def test_wrt_of_the_wrong_rank_and_repeated_symbols_are_argument_errors():
    expr = MODELS["linear regression (MSE)"][0]
    with pytest.raises(sg.ArgumentError, match="read with 1 index"):
        sg.grad(expr, w[j, k])
    with pytest.raises(sg.ArgumentError, match="more than once"):
        sg.value_and_grad(expr, [w, w, b], [x, y])
