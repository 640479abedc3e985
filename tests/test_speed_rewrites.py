"""The speed passes (symgrad.rewrite.names("speed")): each changes how the generated code
computes a model and never what: with it off the numbers agree; with all on, the shapes of
work the issue measured (a forward pass again in the gradient's layout, chains multiplied
left to right, inverses, one matrix factorized three times) are gone."""

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.codegen.emit import LINALG_HELPERS
from symgrad.codegen.module import generate
from symgrad.pipeline.build import build_program, compile_source
from symgrad.graph.ir import ancestors
from symgrad.rewrite import describe, names
from symgrad.rewrite.speed import speed

n, d, k, m = sp.symbols("n d k m", integer=True, positive=True)
X, W, y, w = (sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("W", d, k), sp.MatrixSymbol("y", n, 1),
              sp.MatrixSymbol("w", d, 1))
Wq, Wk, Wv, V = (sp.MatrixSymbol("Wq", d, k), sp.MatrixSymbol("Wk", d, k), sp.MatrixSymbol("Wv", d, m),
                 sp.MatrixSymbol("V", k, m))
T = sp.MatrixSymbol("T", n, m)
U, Vm = sp.MatrixSymbol("U", n, 1), sp.MatrixSymbol("Vm", m, 1)
Xv, yv = sp.MatrixSymbol("Xv", m, d), sp.MatrixSymbol("yv", m, 1)
K, S = sp.MatrixSymbol("K", n, n), sp.MatrixSymbol("S", d, d)
lam, a, s2 = sp.symbols("lam a s2", positive=True)
Z = X * W

RIDGE_W = (X.T * X + lam * sp.Identity(d)).I * X.T * y
GP_K = a * K + s2 * sp.Identity(n)
ATTENTION = sg.softmax(X * Wq * (X * Wk).T) * X * Wv - T
HIDDEN = (X * W).applyfunc(sp.tanh) * V - T
CASES = {   # name -> (loss, wrt, args): a model on which the pass changes the code
    "softmax_not_exp_of_log_softmax": (
        (sg.msum(sg.logsumexp(Z * Z.T, axis=1)) - sp.Trace(Z * Z.T)) / n, [W], [X]),
    "one_node_per_transpose_pair": (sp.Trace((X * w - y).T * (X * w - y)), [w], [X, y]),
    "matrix_chains_by_cost": (sp.Trace((X - X * W * W.T).T * (X - X * W * W.T)), [W], [X]),
    "one_node_per_matrix_product": (sp.Trace(ATTENTION.T * ATTENTION), [Wq, Wk, Wv], [X, T]),
    "one_factorization_per_matrix": (sp.Trace(y.T * GP_K.I * y) + sp.log(sp.Determinant(GP_K)),
                                     [a, s2], [K, y]),
    "products_in_the_layout_used": (sp.Trace(HIDDEN.T * HIDDEN), [W, V], [X, T]),
    "scalars_on_the_smaller_operand": ((U.T * T * Vm)[0, 0] / n, [T], [U, Vm]),  # (u / n) v^T
    "embeds_side_by_side_are_one_concatenation": (     # two heads, each a slice of X Wq
        sg.msum(sp.BlockMatrix([[sg.softmax(Z[:, :1] * Z[:, :1].T) * X,
                                 sg.softmax(Z[:, 1:] * Z[:, 1:].T) * X]]).applyfunc(sp.tanh)),
        [W], [X]),
    "branches_decided_once": (sg.msum((X * w - y).applyfunc(
        lambda t: sp.Piecewise((t**2 / 2, sp.Abs(t) <= 1), (sp.Abs(t) - sp.Rational(1, 2), True)))),
        [w], [X, y]),
}


def arrays(symbols, seed=0, sizes=(7, 4, 3, 5)):
    rng = np.random.default_rng(seed)
    dims = dict(zip((n, d, k, m), sizes))
    out = []
    for s in symbols:
        if not isinstance(s, sp.MatrixSymbol):
            out.append(0.7)
        elif s is K:
            A = rng.normal(size=(dims[n], dims[n]))
            out.append(A @ A.T / dims[n] + np.eye(dims[n]))
        else:
            out.append(rng.normal(size=tuple(int(x.subs(dims)) for x in s.shape)))
    return out


def function(loss, wrt, args, exclude=()):
    source = generate(build_program(loss, wrt, args), exclude=exclude)
    return source, compile_source(source)["value_and_grad"]


def test_the_speed_passes_are_listed_and_documented():
    speed = names("speed")
    assert sorted(speed) == sorted(CASES)
    assert not set(speed) & set(names("stabilize")) and not set(speed) & set(names("cleanup"))
    for rw in describe("speed"):
        assert "->" in rw.doc and ":" in rw.doc, rw.name


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_pass_switched_off_changes_the_code_not_the_numbers(name):
    loss, wrt, args = CASES[name]
    on_source, on = function(loss, wrt, args)
    off_source, off = function(loss, wrt, args, exclude=[name])
    assert on_source != off_source, "%s did not change the code" % name
    values = arrays(wrt + args)
    (v1, g1), (v2, g2) = on(*values), off(*values)
    np.testing.assert_allclose(v1, v2, rtol=1e-10)
    for a_, b_ in zip(g1, g2):
        np.testing.assert_allclose(a_, b_, rtol=1e-9, atol=1e-12)


def _grad_source(f):
    return f.source.split("def value_and_grad")[1]


def test_a_residual_and_its_transpose_are_computed_once():
    f = sg.value_and_grad(*CASES["one_node_per_transpose_pair"])
    assert _grad_source(f).count("X @ w") == 1


def test_ridge_lambda_gradient_has_no_inverse_and_no_d_by_d_product():
    f = sg.value_and_grad(sp.Trace((Xv * RIDGE_W - yv).T * (Xv * RIDGE_W - yv)), [lam], [X, y, Xv, yv])
    source = _grad_source(f)
    assert "inv(" not in source and source.count("lu_factor(") == 1
    values = [2.0] + arrays([X, y, Xv, yv], sizes=(30, 6, 3, 9))
    value, (grad,) = f(*values)
    eps = 1e-6
    up, down = f(values[0] + eps, *values[1:])[0], f(values[0] - eps, *values[1:])[0]
    np.testing.assert_allclose(grad, (up - down) / (2 * eps), rtol=1e-6)


def test_gaussian_process_factorizes_the_kernel_once():
    f = sg.value_and_grad(*CASES["one_factorization_per_matrix"])
    source = _grad_source(f)
    assert source.count("lu_factor(") == 1 and "inv(" not in source and "slogdet" not in source


def test_pca_multiplies_the_thin_way():
    """X - X W W^T: no d x d product W W^T, no n x n product, one projection X W."""
    program = build_program(*CASES["matrix_chains_by_cost"])
    outs = speed(program.graph, [program.loss] + program.grads)
    nodes = ancestors(outs)
    traced = {x.args[0].id for x in nodes if x.op is sp.Trace}    # printed as sum(A * B.T)
    products = [x for x in nodes if x.op is sp.MatMul and x.id not in traced]
    assert not [x for x in products if x.shape in ((d, d), (n, n))]

    def leaf(x):
        return str(x.args[0].extra) if x.op is sp.Transpose else str(x.extra)
    assert len([x for x in products if {leaf(x.args[0]), leaf(x.args[1])} == {"X", "W"}]) == 1


def test_log_det_from_lu_matches_slogdet_with_pivots_and_signs():
    namespace = {"np": np}
    exec(LINALG_HELPERS["_logdet_lu"], namespace)
    import scipy.linalg
    rng = np.random.default_rng(3)
    for _ in range(20):
        A = rng.normal(size=(5, 5))
        sign, logabs = np.linalg.slogdet(A)
        got = namespace["_logdet_lu"](scipy.linalg.lu_factor(A))
        if sign > 0:
            np.testing.assert_allclose(got, logabs, rtol=1e-12)
        else:
            assert np.isnan(got)


def test_generated_code_is_deterministic():
    loss, wrt, args = CASES["one_node_per_matrix_product"]
    first = sg.value_and_grad(loss, wrt, args).source
    assert sg.value_and_grad(loss, wrt, args).source == first
