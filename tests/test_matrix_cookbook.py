"""Matrix Cookbook identities, derived by symgrad at the matrix level and checked three ways.

Equation numbers are those of The Matrix Cookbook (Petersen & Pedersen, version of
November 15, 2012). Each identity is stated with MatrixSymbols of symbolic
dimensions n and k, and symgrad's gradient is checked

(a) against the cookbook's closed form: both sides evaluated exactly at random
    rational matrices for several concrete dimensions, compared with == (50 digits
    for transcendental entries). Where an inverse or a determinant needs it a matrix
    is drawn positive definite but not symmetric (M M^T + I + N - N^T), so that a
    gradient with X^-1 in place of X^-T is caught;
(b) against element-by-element ``sympy.diff`` of the loss expanded into one scalar
    (for each entry, that entry of the parameter becomes a fresh scalar symbol);
(c) by ``sg.check_grad`` (exact symbolic vs finite differences vs generated code).

Rows marked ``sympy_gap`` are among those where SymPy 1.14's ``MatrixSymbol.diff`` is
wrong or raises (DESIGN.md, "Known gaps"); what SymPy does is recorded, not asserted.
"""

import functools
from dataclasses import dataclass, field

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from sympy.matrices.expressions.matexpr import MatrixElement

import symgrad as sg
from matrix_strategies import assert_same, at, entrywise_gradient, random_values, scalar_loss

n, k = sp.symbols("n k", integer=True, positive=True)


def M(name, rows=n, cols=n):
    return sp.MatrixSymbol(name, rows, cols)


def det(x):
    return sp.Determinant(x)


def ones(rows, cols):
    return sp.OneMatrix(rows, cols)


# Square n x n, vectors n x 1, and rectangular shapes used across the table.
X, A, B, C, D, S = (M(name) for name in "XABCDS")
a, b, c, d, x, s = (M(name, n, 1) for name in "abcdxs")
Xr = M("X", n, k)                                 # a rectangular X


@dataclass(frozen=True)
class Entry:
    """One row of the table: d loss / d wrt = closed."""

    eq: str
    text: str
    loss: sp.Basic
    wrt: sp.MatrixSymbol
    closed: sp.Basic
    pd: tuple = ()            # names drawn positive definite (not symmetric: X^-1 != X^-T)
    symmetric: tuple = ()     # names drawn symmetric positive definite
    exact: bool = True        # rational entries at rational points
    sympy_gap: bool = False   # SymPy 1.14's MatrixSymbol.diff is wrong or raises here
    dims: tuple = ((2, 3), (3, 2), (4, 4))           # (n, k) for the closed-form check
    diff_dims: tuple = ((2, 3), (3, 2))              # (n, k) for the sympy.diff check
    check_dims: dict = field(default_factory=dict)   # fixed dims for check_grad, if needed

    @property
    def others(self):
        return sorted((m for m in sp.sympify(self.loss).atoms(sp.MatrixSymbol) if m != self.wrt),
                      key=str)

    def __str__(self):
        return "%s %s" % (self.eq, self.text)


def _h(x_):
    return x_.applyfunc(sp.tanh)


_affine = A * Xr * M("B", k, k) + M("C", n, k)      # AXB + C of (119)


# --- the logistic-regression sum and the 2-layer tanh MLP, in plain SymPy ------------------

w, y = M("w", k, 1), M("y", n, 1)
_z = Xr * w
LOGISTIC = sp.Trace(ones(1, n) * (_z.applyfunc(lambda t: sp.log(1 + sp.exp(t)))
                                  - sp.HadamardProduct(y, _z)))
LOGISTIC_GRAD = Xr.T * (_z.applyfunc(lambda t: 1 / (1 + sp.exp(-t))) - y)

W1, W2, Y = M("W1", k, k), M("W2", k, 1), M("Y", n, 1)
_H = _h(Xr * W1)
_R = _H * W2 - Y
MLP = sp.Trace(_R.T * _R)
MLP_GRAD_W2 = 2 * _H.T * _R
MLP_GRAD_W1 = Xr.T * sp.HadamardProduct(2 * _R * W2.T, ones(n, k) - sp.HadamardPower(_H, 2))


TABLE = [
    # --- determinants (2.1) ---
    Entry("(49)", "d det(X)/dX = det(X) X^-T", det(X), X, det(X) * X.I.T,
          pd=("X",), sympy_gap=True),
    Entry("(51)", "d det(AXB)/dX = det(AXB) X^-T", det(A * X * B), X, det(A * X * B) * X.I.T,
          pd=("X", "A", "B"), sympy_gap=True),
    Entry("(52)", "d det(X^T A X)/dX = 2 det(X^T A X) X^-T (X square)", det(X.T * A * X), X,
          2 * det(X.T * A * X) * X.I.T, pd=("X", "A"), sympy_gap=True),
    Entry("(53)", "d det(X^T A X)/dX = 2 det(X^T A X) A X (X^T A X)^-1 (A symmetric)",
          det(Xr.T * A * Xr), Xr, 2 * det(Xr.T * A * Xr) * A * Xr * (Xr.T * A * Xr).I,
          symmetric=("A",), dims=((3, 2), (4, 2), (4, 3)), diff_dims=((3, 2),),
          check_dims={n: 3, k: 2}, sympy_gap=True),
    Entry("(54)", "d det(X^T A X)/dX = det(X^T A X)(A X (X^T A X)^-1 + A^T X (X^T A^T X)^-1)",
          det(Xr.T * B * Xr), Xr,
          det(Xr.T * B * Xr) * (B * Xr * (Xr.T * B * Xr).I + B.T * Xr * (Xr.T * B.T * Xr).I),
          dims=((3, 2), (4, 2), (4, 3)), diff_dims=((3, 2),), check_dims={n: 3, k: 2},
          sympy_gap=True),
    Entry("(55)", "d ln det(X^T X)/dX = 2 (X^+)^T = 2 X (X^T X)^-1", sp.log(det(Xr.T * Xr)), Xr,
          2 * Xr * (Xr.T * Xr).I, dims=((3, 2), (4, 2), (4, 3)), diff_dims=((3, 2),),
          check_dims={n: 3, k: 2}, sympy_gap=True),
    Entry("(57)", "d ln|det(X)|/dX = X^-T", sp.log(det(X)), X, X.I.T, pd=("X",),
          exact=False, sympy_gap=True),
    Entry("(58)", "d det(X^3)/dX = 3 det(X^3) X^-T", det(X**3), X, 3 * det(X**3) * X.I.T,
          pd=("X",), sympy_gap=True),
    # --- inverses (2.2) ---
    Entry("(61)", "d a^T X^-1 b/dX = -X^-T a b^T X^-T", a.T * X.I * b, X,
          -X.I.T * a * b.T * X.I.T, pd=("X",)),
    Entry("(62)", "d det(X^-1)/dX = -det(X^-1) X^-T", det(X.I), X, -det(X.I) * X.I.T,
          pd=("X",), sympy_gap=True),
    Entry("(63)", "d Tr(A X^-1 B)/dX = -(X^-1 B A X^-1)^T", sp.Trace(A * X.I * B), X,
          -(X.I * B * A * X.I).T, pd=("X",)),
    Entry("(64)", "d Tr((X + A)^-1)/dX = -((X + A)^-1 (X + A)^-1)^T", sp.Trace((X + A).I), X,
          -((X + A).I * (X + A).I).T, pd=("X", "A")),
    # --- first-order forms (2.4.1) ---
    Entry("(69)", "d x^T a/dx = a", x.T * a, x, a),
    Entry("(70)", "d a^T X b/dX = a b^T", a.T * Xr * M("b", k, 1), Xr, a * M("b", k, 1).T,
          sympy_gap=True),
    Entry("(71)", "d a^T X^T b/dX = b a^T", M("a", k, 1).T * Xr.T * b, Xr, b * M("a", k, 1).T,
          sympy_gap=True),
    Entry("(72)", "d a^T X a/dX = a a^T", a.T * X * a, X, a * a.T),
    Entry("(70) with a = b = 1", "d 1^T X 1/dX = 1 1^T (OneMatrix sum)",
          ones(1, n) * Xr * ones(k, 1), Xr, ones(n, k), sympy_gap=True),
    # --- second-order forms (2.4.2) ---
    Entry("(77)", "d b^T X^T X c/dX = X (b c^T + c b^T)",
          M("b", k, 1).T * Xr.T * Xr * M("c", k, 1), Xr,
          Xr * (M("b", k, 1) * M("c", k, 1).T + M("c", k, 1) * M("b", k, 1).T), sympy_gap=True),
    Entry("(78)", "d (Bx + b)^T C (Dx + d)/dx = B^T C (Dx + d) + D^T C^T (Bx + b)",
          (M("B", n, k) * M("x", k, 1) + b).T * C * (M("D", n, k) * M("x", k, 1) + d),
          M("x", k, 1),
          M("B", n, k).T * C * (M("D", n, k) * M("x", k, 1) + d)
          + M("D", n, k).T * C.T * (M("B", n, k) * M("x", k, 1) + b)),
    Entry("(81)", "d x^T B x/dx = (B + B^T) x", x.T * B * x, x, (B + B.T) * x),
    Entry("(82)", "d b^T X^T D X c/dX = D^T X b c^T + D X c b^T",
          M("b", k, 1).T * Xr.T * D * Xr * M("c", k, 1), Xr,
          D.T * Xr * M("b", k, 1) * M("c", k, 1).T + D * Xr * M("c", k, 1) * M("b", k, 1).T,
          sympy_gap=True),
    Entry("(83)", "d (Xb + c)^T D (Xb + c)/dX = (D + D^T)(Xb + c) b^T",
          (Xr * M("b", k, 1) + c).T * D * (Xr * M("b", k, 1) + c), Xr,
          (D + D.T) * (Xr * M("b", k, 1) + c) * M("b", k, 1).T, sympy_gap=True),
    Entry("(88)", "d (x - As)^T W (x - As)/dA = -2 W (x - As) s^T (W = S + S^T symmetric)",
          (x - M("A", n, k) * M("s", k, 1)).T * (S + S.T) * (x - M("A", n, k) * M("s", k, 1)),
          M("A", n, k), -2 * (S + S.T) * (x - M("A", n, k) * M("s", k, 1)) * M("s", k, 1).T,
          sympy_gap=True),
    # --- higher order (2.4.3) ---
    Entry("(91)", "d a^T X^3 b/dX = sum_r (X^r)^T a b^T (X^(2-r))^T", a.T * X**3 * b, X,
          a * b.T * (X**2).T + X.T * a * b.T * X.T + (X**2).T * a * b.T),
    # --- traces, first order (2.5.1) ---
    Entry("(99)", "d Tr(X)/dX = I", sp.Trace(X), X, sp.Identity(n)),
    Entry("(100)", "d Tr(XA)/dX = A^T", sp.Trace(Xr * M("A", k, n)), Xr, M("A", k, n).T),
    Entry("(101)", "d Tr(AXB)/dX = A^T B^T", sp.Trace(M("A", k, n) * Xr * M("B", k, k)), Xr,
          M("A", k, n).T * M("B", k, k).T),
    Entry("(102)", "d Tr(A X^T B)/dX = B A", sp.Trace(M("A", n, k) * Xr.T * B), Xr,
          B * M("A", n, k)),
    Entry("(103)", "d Tr(X^T A)/dX = A", sp.Trace(Xr.T * M("A", n, k)), Xr, M("A", n, k)),
    Entry("(104)", "d Tr(A X^T)/dX = A", sp.Trace(M("A", n, k) * Xr.T), Xr, M("A", n, k)),
    # --- traces, second order (2.5.2) ---
    Entry("(106)", "d Tr(X^2)/dX = 2 X^T", sp.Trace(X**2), X, 2 * X.T),
    Entry("(107)", "d Tr(X^2 B)/dX = (XB + BX)^T", sp.Trace(X**2 * B), X, (X * B + B * X).T),
    Entry("(108)", "d Tr(X^T B X)/dX = BX + B^T X", sp.Trace(Xr.T * B * Xr), Xr,
          B * Xr + B.T * Xr),
    Entry("(111)", "d Tr(X B X^T)/dX = X B^T + X B", sp.Trace(Xr * M("B", k, k) * Xr.T), Xr,
          Xr * M("B", k, k).T + Xr * M("B", k, k)),
    Entry("(114)", "d Tr(AXBX)/dX = A^T X^T B^T + B^T X^T A^T",
          sp.Trace(M("A", k, n) * Xr * M("B", k, n) * Xr), Xr,
          M("A", k, n).T * Xr.T * M("B", k, n).T + M("B", k, n).T * Xr.T * M("A", k, n).T),
    Entry("(115)", "d Tr(X^T X)/dX = 2X", sp.Trace(Xr.T * Xr), Xr, 2 * Xr),
    Entry("(116)", "d Tr(B^T X^T C X B)/dX = C^T X B B^T + C X B B^T",
          sp.Trace(M("B", k, k).T * Xr.T * C * Xr * M("B", k, k)), Xr,
          C.T * Xr * M("B", k, k) * M("B", k, k).T + C * Xr * M("B", k, k) * M("B", k, k).T),
    Entry("(117)", "d Tr(X^T B X C)/dX = B X C + B^T X C^T",
          sp.Trace(Xr.T * B * Xr * M("C", k, k)), Xr,
          B * Xr * M("C", k, k) + B.T * Xr * M("C", k, k).T),
    Entry("(118)", "d Tr(A X B X^T C)/dX = A^T C^T X B^T + C A X B",
          sp.Trace(A * Xr * M("B", k, k) * Xr.T * C), Xr,
          A.T * C.T * Xr * M("B", k, k).T + C * A * Xr * M("B", k, k)),
    Entry("(119)", "d Tr[(AXB + C)(AXB + C)^T]/dX = 2 A^T (AXB + C) B^T",
          sp.Trace(_affine * _affine.T), Xr, 2 * A.T * _affine * M("B", k, k).T),
    Entry("(120)", "d Tr(X) Tr(X)/dX = 2 Tr(X) I", sp.Trace(X)**2, X,
          2 * sp.Trace(X) * sp.Identity(n)),
    # --- traces, higher order (2.5.3) ---
    Entry("(121)", "d Tr(X^4)/dX = 4 (X^3)^T", sp.Trace(X**4), X, 4 * (X**3).T),
    Entry("(122)", "d Tr(A X^3)/dX = sum_r (X^r A X^(2-r))^T", sp.Trace(A * X**3), X,
          (A * X**2).T + (X * A * X).T + (X**2 * A).T),
    # --- norms (2.6, 2.7) ---
    Entry("(129)", "d ||x - a||_2/dx = (x - a)/||x - a||_2", sp.sqrt((x - a).T * (x - a)), x,
          (x - a) / sp.sqrt(sp.Trace((x - a).T * (x - a))), exact=False),
    Entry("(131)", "d ||x||_2^2/dx = d x^T x/dx = 2x", x.T * x, x, 2 * x),
    Entry("(132)", "d ||X||_F^2/dX = d Tr(X X^T)/dX = 2X", sp.Trace(Xr * Xr.T), Xr, 2 * Xr),
    Entry("(132) + chain rule", "d ||X||_F/dX = d sqrt(Tr(X^T X))/dX = X/||X||_F",
          sp.sqrt(sp.Trace(Xr.T * Xr)), Xr, Xr / sp.sqrt(sp.Trace(Xr.T * Xr)), exact=False,
          sympy_gap=True),
    # --- Hadamard products and powers, (38): d(X o Y) = dX o Y + X o dY ---
    Entry("(38)", "d Tr(A^T (X o C))/dX = A o C",
          sp.Trace(M("A", n, k).T * sp.HadamardProduct(Xr, M("C", n, k))), Xr,
          sp.HadamardProduct(M("A", n, k), M("C", n, k))),
    Entry("(38)", "d 1^T (A o X o X) 1/dX = 2 A o X",
          ones(1, n) * sp.HadamardProduct(M("A", n, k), Xr, Xr) * ones(k, 1), Xr,
          2 * sp.HadamardProduct(M("A", n, k), Xr), sympy_gap=True),
    Entry("(38)", "d sum(X^o3)/dX = 3 X^o2 (HadamardPower)", sg.msum(sp.HadamardPower(Xr, 3)),
          Xr, 3 * sp.HadamardPower(Xr, 2), sympy_gap=True),
    Entry("(38) + (115)", "d Tr((X o X)^T (X o X))/dX = 4 X^o3",
          sp.Trace(sp.HadamardPower(Xr, 2).T * sp.HadamardPower(Xr, 2)), Xr,
          4 * sp.HadamardPower(Xr, 3)),
    # --- elementwise functions through applyfunc (chain rule entry by entry) ---
    Entry("entrywise", "d 1^T tanh(X) 1/dX = 1 - tanh(X)^o2", ones(1, n) * _h(Xr) * ones(k, 1),
          Xr, ones(n, k) - sp.HadamardPower(_h(Xr), 2), exact=False),
    Entry("entrywise", "d Tr(A^T exp(X))/dX = A o exp(X)",
          sp.Trace(M("A", n, k).T * Xr.applyfunc(sp.exp)), Xr,
          sp.HadamardProduct(M("A", n, k), Xr.applyfunc(sp.exp)), exact=False),
    Entry("entrywise", "d sum(sigmoid(X))/dX = sigmoid(X) o sigmoid(-X)",
          sg.msum(sg.sigmoid(Xr)), Xr,
          Xr.applyfunc(lambda t: sp.exp(-t) / (1 + sp.exp(-t))**2), exact=False, sympy_gap=True),
    # --- models SymPy's MatrixSymbol.diff cannot differentiate ---
    Entry("model", "logistic regression: d 1^T(log(1 + exp(Xw)) - y o Xw)/dw "
                   "= X^T(sigmoid(Xw) - y)",
          LOGISTIC, w, LOGISTIC_GRAD, exact=False, sympy_gap=True),
    Entry("model", "logistic regression as a 1 x 1 product (no Trace)", LOGISTIC.arg, w,
          LOGISTIC_GRAD, exact=False, sympy_gap=True),
    Entry("model", "2-layer tanh MLP, squared error: d/dW1",
          MLP, W1, MLP_GRAD_W1, exact=False, sympy_gap=True, dims=((3, 2), (2, 3)),
          diff_dims=((2, 2),)),
    Entry("model", "2-layer tanh MLP, squared error: d/dW2",
          MLP, W2, MLP_GRAD_W2, exact=False, dims=((3, 2), (2, 3)),
          diff_dims=((2, 2),)),
]

IDS = ["%s %s" % (row.eq, row.text.split(":")[0].split("/d")[0][:40]) for row in TABLE]


@functools.lru_cache(maxsize=None)
def _derive(loss, wrt):
    return sg.grad(loss, wrt)


def derived(row):
    """symgrad's gradient for a row, derived once and shared by the row's tests."""
    return _derive(row.loss, row.wrt)


def _dims(pair):
    return {n: sp.Integer(pair[0]), k: sp.Integer(pair[1])}


def _values(row, dims, seed):
    return random_values([row.wrt] + row.others, dims, seed, pd=row.pd, symmetric=row.symmetric)


def test_table_is_large_and_labelled():
    cookbook = {row.eq for row in TABLE if row.eq.startswith("(")}
    assert len(TABLE) >= 25 and len(cookbook) >= 25
    assert all(row.text for row in TABLE)
    assert {"(49)", "(57)", "(61)", "(81)", "(101)", "(103)", "(115)", "(117)"} <= cookbook


# --- (a) the closed form ---------------------------------------------------------------

@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_closed_form(row):
    ours = derived(row)
    assert ours.shape == row.wrt.shape
    assert not (ours.free_symbols - row.loss.free_symbols - {n, k}), "new symbols in the gradient"
    for seed, pair in enumerate(row.dims):
        dims = _dims(pair)
        values = _values(row, dims, seed)
        assert_same(at(ours, values, dims), at(row.closed, values, dims), row.exact,
                    "%s at (n, k) = %s" % (row, pair))


# --- (b) element-by-element sympy.diff of the expanded loss -------------------------------

@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_matches_entrywise_sympy_diff(row):
    ours = derived(row)
    for seed, pair in enumerate(row.diff_dims):
        dims = _dims(pair)
        values = _values(row, dims, 100 + seed)
        reference = entrywise_gradient(row.loss, row.wrt, values, dims)
        assert_same(at(ours, values, dims), reference, row.exact, "%s at (n, k) = %s" % (row, pair))


# --- (c) check_grad: symbolic vs finite differences vs generated code ------------------------

@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_check_grad(row):
    values = None
    if row.check_dims:     # the identity needs n >= k; fix the dims through one given value
        values = {row.wrt: np.array(_values(row, row.check_dims, 7)[row.wrt].tolist(), dtype=float)}
    report = sg.check_grad(row.loss, [row.wrt], row.others, values=values)
    assert report.ok, str(report)


# --- where SymPy 1.14 is wrong or raises, symgrad is right ---------------------------------

GAPS = [row for row in TABLE if row.sympy_gap]


def _sympy_verdict(row, dims, values):
    """What MatrixSymbol.diff does here: 'agrees', 'wrong', 'unevaluated' or 'raises ...'."""
    try:
        theirs = sp.sympify(row.loss).diff(row.wrt)
    except Exception as e:   # noqa: BLE001 - any failure of SymPy is the observation
        return "raises %s" % type(e).__name__
    if theirs.has(sp.Derivative):
        return "unevaluated"
    if not getattr(theirs, "is_Matrix", False) or theirs.shape != row.wrt.shape:
        return "not a %s x %s matrix: %s" % (*row.wrt.shape, type(theirs).__name__)
    try:
        assert_same(at(theirs, values, dims), at(row.closed, values, dims), False)
    except Exception:        # noqa: BLE001
        return "wrong"
    return "agrees"


@pytest.mark.parametrize("row", GAPS, ids=[str(r)[:50] for r in GAPS])
def test_symgrad_right_where_sympy_diff_fails(row, record_property):
    dims = _dims(row.dims[0])
    values = _values(row, dims, 11)
    record_property("sympy_1_14_diff", _sympy_verdict(row, dims, values))
    assert_same(at(derived(row), values, dims), at(row.closed, values, dims), False,
                str(row))


def test_log_det_is_not_zero():
    """SymPy 1.14 gives d log det X/dX = 0; symgrad gives X^-T, symbolically."""
    assert sg.grad(sp.log(det(X)), X) == X.I.T
    assert sg.grad(det(X), X) == det(X) * X.I.T


def test_gaps_cover_the_design_list():
    texts = " ".join(str(r) for r in GAPS)
    for needle in ("(57)", "(49)", "logistic regression", "MLP"):
        assert needle in texts


# --- derivation does not depend on the numeric dimensions ----------------------------------

def _with_dims(expr, size):
    # k = n - 1 keeps rectangular shapes rectangular (SymPy itself splits det(X^T A X)
    # into det(A) det(X)**2 when X is square)
    return sp.sympify(expr).xreplace({n: sp.Integer(size), k: sp.Integer(size - 1)})


@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_same_structure_for_any_dimension(row):
    """The gradient for 3 x 2, 300 x 299 and symbolic dims is one expression, dims aside:
    nothing is expanded into entries, so deriving costs the same whatever the sizes."""
    symbolic = derived(row)
    for size in (3, 300):
        concrete = sg.grad(_with_dims(row.loss, size), _with_dims(row.wrt, size))
        assert str(concrete) == str(_with_dims(symbolic, size))
        assert sp.count_ops(concrete) == sp.count_ops(symbolic)
        assert not concrete.atoms(MatrixElement), "the gradient was expanded into entries"


# --- regressions: bugs and a weakness these tests found, now fixed ---------------------------

BUG_IDENTITY_MASK = (
    "fixed bug: lower.matmul (_identity_scale) reads the elementwise product I o F, the adjoint a "
    "Trace sends through an elementwise function, as the scalar multiple F*I, so (I o F) @ B "
    "becomes F o B")


def test_trace_of_elementwise_function_of_a_product():
    """d Tr(tanh(XB))/dX = (I o (1 - tanh(XB)^2)) B^T."""
    loss = sp.Trace((X * B).applyfunc(sp.tanh))
    closed = sp.HadamardProduct(sp.Identity(n), ones(n, n) - sp.HadamardPower(_h(X * B), 2)) * B.T
    dims = _dims((3, 3))
    values = random_values([X, B], dims, 5)
    assert_same(at(sg.grad(loss, X), values, dims), at(closed, values, dims), False)


BUG_APPLYFUNC_1X1 = (
    "fixed bug: symbolic._assemble raises a gradient over a 1 x 1 matrix as M.applyfunc(Lambda); "
    "SymPy 1.14 substitutes the matrix into the Lambda at once and raises TypeError")


def test_elementwise_function_of_a_1x1_matrix():
    m, t = M("m", 1, 1), sp.Rational(1, 3)
    loss = m.applyfunc(lambda u: sp.tanh(sp.exp(u)))
    ours = sg.grad(loss, m)
    closed = sp.exp(t) * (1 - sp.tanh(sp.exp(t))**2)
    assert_same(at(ours, {m: sp.ImmutableMatrix([[t]])}, {}), closed, False)


BUG_TRACE_1X1_POWER = (
    "fixed bug: lower._matpow turns a 1 x 1 MatPow into a scalar, and _trace/_determinant then "
    "raise ShapeMismatch ('needs a square matrix, got shape scalar') for Trace(m**2)")


def test_trace_of_a_1x1_matrix_power():
    m = M("m", 1, 1)
    values = {m: sp.ImmutableMatrix([[sp.Rational(3, 2)]])}
    assert_same(at(sg.grad(sp.Trace(m**2), m), values, {}), at(2 * m, values, {}), True)


# A LogDet rule giving X^-1 instead of X^-T makes check_grad fail: test_internals.py (that test
# found check_grad drawing symmetric matrices under an inverse, where X^-1 == X^-T; fixed).


# --- random matrix expressions -----------------------------------------------------------

@given(scalar_loss())
def test_random_matrix_expressions_check_grad(case):
    loss, wrt, args = case
    report = sg.check_grad(loss, wrt, args)
    assert report.ok, "%s\n%s" % (loss, report)
