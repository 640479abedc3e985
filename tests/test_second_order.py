"""Closed-form Hessians and Jacobians with symbolic dimensions (sg.hessian, sg.jacobian).

Each model's closed form, evaluated exactly at a random rational point with concrete
sizes, must equal the entry-by-entry second derivatives of the same loss written out
with numeric dimensions (sg.hessian's entrywise route, itself checked against
sympy.diff elsewhere), and must keep structure: no n x n matrix appears in it.
"""

import random

import pytest
import sympy as sp

import symgrad as sg
from symgrad.ops.nodes import to_standard

n, d, m = sp.symbols("n d m", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
A = sp.MatrixSymbol("A", m, d)
B = sp.MatrixSymbol("B", d, d)
S = sp.MatrixSymbol("S", d, d)
w = sp.MatrixSymbol("w", d, 1)
mu = sp.MatrixSymbol("mu", d, 1)
x1 = sp.MatrixSymbol("x1", d, 1)
y = sp.MatrixSymbol("y", n, 1)
c = sp.MatrixSymbol("c", m, 1)
lam, t = sp.symbols("lam t", positive=True)
SIZES = {n: 4, d: 3, m: 2}


def _mean(M):
    return sg.msum(M) / n


z = X * w
MODELS = {
    "least squares": _mean(sp.HadamardPower(z - y, 2)),
    "ridge": _mean(sp.HadamardPower(z - y, 2)) + lam * sp.Trace(w.T * w),
    "logistic": _mean(z.applyfunc(sg.softplus) - sp.HadamardProduct(y, z)),
    "logistic, L2": _mean(z.applyfunc(sg.softplus) - sp.HadamardProduct(y, z))
    + lam / 2 * sp.Trace(w.T * w),
    "logistic, naive sigmoid": -_mean(sp.HadamardProduct(y, z.applyfunc(
        lambda u: sp.log(1 / (1 + sp.exp(-u)))))
        + sp.HadamardProduct(sp.OneMatrix(n, 1) - y, z.applyfunc(
            lambda u: sp.log(1 - 1 / (1 + sp.exp(-u)))))),
    "Poisson regression": _mean(z.applyfunc(sp.exp) - sp.HadamardProduct(y, z)),
    "quadratic form": sp.Trace(w.T * B * w) / 2 - sp.Trace(c.T * A * w),
    "Gaussian NLL in the mean": sp.Trace((x1 - mu).T * S * (x1 - mu)) / 2,
    "tanh features, squared": _mean(sp.HadamardPower(z.applyfunc(sp.tanh) - y, 2)),
    "least squares, scale t": _mean(sp.HadamardPower(t * z - y, 2)),
    "log-cosh regression": _mean((z - y).applyfunc(lambda u: sp.log(sp.cosh(u)))),
    "softplus of a quadratic": sg.softplus(sp.Trace(w.T * B * w)),
    "linear layer, output weights": _mean(sp.HadamardPower(
        (X * w).applyfunc(sg.sigmoid) - y, 2)),
}
WRT = {"Gaussian NLL in the mean": mu}


def _point(expr, rng):
    values = {}
    for s in sorted(expr.atoms(sp.MatrixSymbol), key=str):
        rows, cols = (int(sp.sympify(q).xreplace(SIZES)) for q in s.shape)
        values[s] = sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Rational(rng.randint(-60, 60), 64))
    for s in sorted(expr.free_symbols - set(SIZES), key=str):
        if not isinstance(s, sp.MatrixSymbol):
            values[s] = sp.Rational(rng.randint(8, 60), 32)
    return values


def _numeric(e, values):
    e = e.xreplace(SIZES)
    e = e.xreplace({(k.xreplace(SIZES) if isinstance(k, sp.MatrixSymbol) else k): v
                    for k, v in values.items()})
    for _ in range(3):
        e = to_standard(e).doit()
    e = sp.Matrix(e.as_explicit()) if getattr(e, "is_Matrix", False) else sp.Matrix([[e]])
    return e.applyfunc(lambda q: sp.N(to_standard(q).doit(), 40))


def _entrywise(expr, p, values):
    """The same Hessian by the entrywise route at numeric sizes."""
    numeric = {s: sp.MatrixSymbol(s.name, *(sp.sympify(q).xreplace(SIZES) for q in s.shape))
               for s in expr.atoms(sp.MatrixSymbol)}
    concrete = expr.xreplace(SIZES).xreplace(numeric)
    H = sg.hessian(concrete, [numeric[p]])
    at = {}
    for s, v in values.items():
        if isinstance(s, sp.MatrixSymbol):
            for i in range(v.rows):
                for j in range(v.cols):
                    at[numeric[s][i, j]] = v[i, j]
        else:
            at[s] = v
    return H.xreplace(at).applyfunc(lambda q: sp.N(to_standard(q).doit(), 40))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_closed_form_hessian_equals_entrywise_second_derivatives(name):
    expr, p = MODELS[name], WRT.get(name, w)
    H = sg.hessian(expr, p)
    assert H.shape == (p.shape[0], p.shape[0])
    assert not any(q.shape == (n, n) for q in sp.preorder_traversal(H)
                   if getattr(q, "is_Matrix", False)), H          # no n x n matrix
    rng = random.Random(name)
    for _ in range(2):
        values = _point(expr, rng)
        mine, reference = _numeric(H, values), _entrywise(expr, p, values)
        assert mine.shape == reference.shape
        for a, b in zip(mine, reference):
            assert abs(a - b) <= 1e-30 * (1 + abs(b)), (name, H, a, b)


def test_closed_forms_read_as_the_textbook_writes_them():
    assert sg.hessian(MODELS["least squares"], w) == 2 * X.T * X / n
    assert sg.hessian(sp.Trace(w.T * B * w), w) == B + B.T
    assert str(sg.hessian(MODELS["ridge"], w)) == "2*(lam*I + Xᵀ*X/n)"
    # the logistic weights σ(z)σ(-z) are computed on the column z = Xw, then scale X's rows
    assert str(sg.hessian(MODELS["logistic, L2"], w)) == "lam*I + Xᵀ*(((σ(-X*w) ⊙ σ(X*w))*𝟏ᵀ) ⊙ X)/n"


def test_jacobian_of_a_linear_map_and_of_an_elementwise_map():
    assert sg.jacobian(A * w, w) == A
    J = sg.jacobian((X * w).applyfunc(sp.tanh), w)
    assert J.shape == (n, d)
    rng = random.Random(3)
    values = _point(X * w, rng)
    mine = _numeric(J, values)
    Xv, wv = values[X], values[w]
    for i in range(4):
        zi = sum(Xv[i, k] * wv[k, 0] for k in range(3))
        for j in range(3):
            assert abs(mine[i, j] - (1 - sp.tanh(zi)**2) * Xv[i, j]) < 1e-30


def test_several_vector_parameters_give_a_block_matrix():
    b = sp.MatrixSymbol("b", d, 1)
    H = sg.hessian(sp.Trace(w.T * B * b) + sp.Trace(w.T * w), [w, b])
    assert isinstance(H, sp.BlockMatrix)
    assert H.blocks[0, 1] == B and H.blocks[1, 0] == B.T


def test_a_matrix_that_depends_on_the_parameter_is_refused_clearly():
    v = sp.MatrixSymbol("v", d, 1)
    with pytest.raises(sg.UnsupportedExpression, match="depends on the parameter"):
        sg.hessian(sp.Trace((w * v.T).applyfunc(sp.sin) * B), w)


# --- matrix parameters: the Kronecker form over row-major vec(W) ----------------------------

k = sp.Symbol("k", integer=True, positive=True)
W = sp.MatrixSymbol("W", d, k)
Y = sp.MatrixSymbol("Y", n, k)
U = sp.MatrixSymbol("U", m, k)
F = sp.MatrixSymbol("F", n, k)
M = sp.MatrixSymbol("M", m, n)
MATRIX_SIZES = {n: 3, d: 2, m: 2, k: 3}
MATRIX_MODELS = {
    "softmax regression": (sg.losses.softmax_cross_entropy(X * W, Y), [W]),
    "softmax regression, L2": (sg.losses.softmax_cross_entropy(X * W, Y)
                               + lam / 2 * sg.msum(sp.HadamardPower(W, 2)), [W]),
    "log det": (sp.log(sp.Determinant(B)), [B]),
    "matrix factorization, one factor": (sg.msum(sp.HadamardPower(U * F.T - M, 2)), [U]),
    "matrix factorization, both factors": (sg.msum(sp.HadamardPower(U * F.T - M, 2)), [U, F]),
    "trace of a quadratic form": (sp.Trace(W.T * B * W), [W]),
}


def _matrix_point(expr, params, rng):
    values = {}
    for s in sorted(expr.atoms(sp.MatrixSymbol), key=str):
        rows, cols = (int(sp.sympify(q).xreplace(MATRIX_SIZES)) for q in s.shape)
        entry = (lambda i, j: sp.Rational(rng.randint(-60, 60), 64) + (2 if i == j else 0)) \
            if s == B else (lambda i, j: sp.Rational(rng.randint(-60, 60), 64))
        values[s] = sp.ImmutableMatrix(rows, cols, entry)
    values.update({s: sp.Rational(rng.randint(8, 60), 32) for s in expr.free_symbols
                   if not isinstance(s, sp.MatrixSymbol) and s not in MATRIX_SIZES})
    return values


def _numeric_kron(e, values):
    """A Kronecker-form result at 40 digits: each operand evaluated by _numeric first, then
    combined with SymPy's kronecker_product (row-major vec, K from its definition)."""
    from symgrad.ops.vec import Commutation, Diag, Kron
    if isinstance(e, sp.BlockMatrix):
        return sp.Matrix(sp.BlockMatrix([[_numeric_kron(b, values) for b in row]
                                         for row in e.blocks.tolist()]).as_explicit())
    if isinstance(e, sp.MatAdd):
        return sum((_numeric_kron(a, values) for a in e.args[1:]), _numeric_kron(e.args[0], values))
    if isinstance(e, sp.MatMul):
        mats = [_numeric_kron(a, values) for a in e.args if getattr(a, "is_Matrix", False)]
        scale = sp.Mul(*[_numeric(a, values)[0, 0] for a in e.args if not getattr(a, "is_Matrix", False)])
        out = mats[0]
        for q in mats[1:]:
            out = out * q
        return scale * out
    if isinstance(e, Kron):
        return sp.kronecker_product(*[_numeric_kron(a, values) for a in e.args])
    if isinstance(e, Diag):
        return sp.diag(*_numeric_kron(e.args[0].args[0], values))    # entries row by row
    if isinstance(e, (Commutation, sp.Identity)):
        return sp.Matrix(e.xreplace(SIZES).doit().as_explicit())
    return _numeric(e, values)


@pytest.mark.parametrize("name", sorted(MATRIX_MODELS))
def test_kronecker_hessian_of_matrix_parameters_equals_entrywise(name):
    global SIZES
    expr, params = MATRIX_MODELS[name]
    H = sg.hessian(expr, params if len(params) > 1 else params[0])
    size = sum(p.shape[0] * p.shape[1] for p in params)
    assert H.shape == (size, size)
    assert not any(q.shape == (n, n) for q in sp.preorder_traversal(H)
                   if getattr(q, "is_Matrix", False) and not isinstance(q, sp.Identity)), H
    saved, SIZES = SIZES, MATRIX_SIZES
    try:
        values = _matrix_point(expr, params, random.Random(name))
        mine = _numeric_kron(H, values)
        numeric = {s: sp.MatrixSymbol(s.name, *(sp.sympify(q).xreplace(SIZES) for q in s.shape))
                   for s in expr.atoms(sp.MatrixSymbol)}
        concrete = expr.xreplace(SIZES).xreplace(numeric)
        reference = sg.hessian(concrete, [numeric[p] for p in params])
        at = {numeric[s][i, j]: v[i, j] for s, v in values.items() if isinstance(s, sp.MatrixSymbol)
              for i in range(v.rows) for j in range(v.cols)}
        at.update({s: v for s, v in values.items() if not isinstance(s, sp.MatrixSymbol)})
        reference = reference.xreplace(at)
        reference = reference.applyfunc(lambda q: sp.N(to_standard(q).doit(), 40))
    finally:
        SIZES = saved
    assert mine.shape == reference.shape
    for a, b in zip(mine, reference):
        assert abs(a - b) <= 1e-30 * (1 + abs(b)), (name, H, a, b)


def test_kronecker_forms_read_as_the_textbook_writes_them():
    assert str(sg.hessian(sp.log(sp.Determinant(B)), B)) == "-(Bᵀ⁻¹ ⊗ B⁻¹)*K(d,d)"
    assert str(sg.hessian(sg.msum(sp.HadamardPower(U * F.T - M, 2)), U)) == "2*(I ⊗ (Fᵀ*F))"


def test_jacobian_of_matrices_in_kronecker_form():
    assert str(sg.jacobian(X * W, W)) == "X ⊗ I"
    assert str(sg.jacobian(W.T, W)) == "K(d,k)"
    assert str(sg.jacobian(sp.Inverse(B), B)) == "-(B⁻¹ ⊗ Bᵀ⁻¹)"
    J = sg.jacobian((X * W).applyfunc(sp.tanh), W)               # diag(vec(1 - tanh²)) (X ⊗ I)
    assert J.shape == (n * k, d * k)
    saved_sizes = dict(SIZES)
    SIZES.update(MATRIX_SIZES)
    try:
        values = _matrix_point(X * W, [W], random.Random(5))
        mine = _numeric_kron(J, values)
    finally:
        SIZES.clear()
        SIZES.update(saved_sizes)
    Z = values[X] * values[W]
    for (i, a), (j, b) in [((0, 1), (1, 1)), ((2, 0), (0, 0)), ((1, 2), (1, 1))]:
        want = (1 - sp.tanh(Z[i, a])**2) * values[X][i, j] * (1 if a == b else 0)
        assert abs(mine[i * 3 + a, j * 3 + b] - want) < 1e-30


@pytest.mark.parametrize("wrt, message", [
    ([w, w], r"jacobian takes one parameter, got the list \[w, w\]; call jacobian once"),
    (2 * w, r"got 2\*w \(MatMul\); pass the symbol itself"),
])
def test_jacobian_bad_input_names_it_and_says_what_to_do(wrt, message):
    with pytest.raises(sg.ArgumentError, match=message):
        sg.jacobian(X * w, wrt)


def test_a_matrix_inside_a_vector_hessian_is_named_as_the_expression():
    v = sp.MatrixSymbol("v", d, 1)
    with pytest.raises(sg.UnsupportedExpression, match=r"the d x d matrix w\*vᵀ depends on the "
                                                       r"parameter.*direction=V"):
        sg.hessian(sp.Trace((w * v.T).applyfunc(sp.sin) * B), w)
