"""Scalar gradients: a table of ML losses through check_grad, sympy.diff as the reference,
error behaviour, and Hypothesis properties over random guarded expression trees."""

import random
import re
from dataclasses import dataclass, field

import pytest
import sympy as sp
from hypothesis import assume, given, note
from sympy.codegen.cfunctions import expm1, log1p

import symgrad as sg
from symgrad.ops.nodes import LogSoftmax, XLogY      # no public constructor for these two
from helpers import as_real, numeric
from strategies import SYMBOLS, close, expressions, kink_distance, magnitude, points

w, b, a, c = sp.symbols("w b a c")               # parameters (plain symbols: treated as real)
x, y, t = sp.symbols("x y t")                    # data
s, k = sp.symbols("s k", positive=True)          # parameters declared positive
z = w * x + b                                    # a linear model's output


# --- the table ------------------------------------------------------------------------

def interval(lo, hi):
    return sp.Rational(lo), sp.Rational(hi)


@dataclass
class Row:
    """One table entry: a loss, its parameters (wrt) and data (args).

    ``where`` gives an interval per symbol for the sympy.diff comparison (the
    default is [-2, 2]); ``values`` pins check_grad's point where its own
    sampler would leave the domain.
    """

    name: str
    expr: object
    wrt: list
    args: list = field(default_factory=list)
    where: dict = field(default_factory=dict)
    values: dict = None


ROWS = [
    # --- classic losses --------------------------------------------------------------
    Row("squared error", (z - y)**2, [w, b], [x, y]),
    Row("focal loss", -(1 - sg.sigmoid(z))**2 * sp.log(sg.sigmoid(z)), [w, b], [x]),
    Row("focal loss, symbolic gamma", -(1 - sg.sigmoid(z))**s * sp.log(sg.sigmoid(z)), [w, b, s], [x],
        where={s: interval(1, 3)}),
    Row("huber as Piecewise", sp.Piecewise(((z - y)**2 / 2, sp.Abs(z - y) <= 1),
                                           (sp.Abs(z - y) - sp.Rational(1, 2), True)), [w, b], [x, y]),
    Row("log-cosh", sp.log(sp.cosh(z - y)), [w, b], [x, y]),
    Row("GELU with erf", z * (1 + sp.erf(z / sp.sqrt(2))) / 2, [w, b], [x]),
    Row("softplus written naively", sp.log(1 + sp.exp(z)), [w, b], [x]),
    Row("sigmoid cross-entropy written naively",
        -(y * sp.log(1 / (1 + sp.exp(-z))) + (1 - y) * sp.log(1 - 1 / (1 + sp.exp(-z)))),
        [w, b], [x, y], where={y: interval(0, 1)}),
    Row("swish", z * sg.sigmoid(z), [w, b], [x]),
    Row("swish written naively", z / (1 + sp.exp(-z)), [w, b], [x]),
    Row("mish", x * w * sp.tanh(sp.log(1 + sp.exp(w * x))), [w], [x]),
    Row("logistic regression per sample", sg.softplus(-y * z), [w, b], [x, y]),
    Row("logistic regression with xlogy",
        -XLogY(y, sg.sigmoid(z)) - XLogY(1 - y, sg.sigmoid(-z)), [w, b], [x, y],
        where={y: interval(0, 1)}),
    Row("poisson NLL", sp.exp(z) - y * z + sp.loggamma(y + 1), [w, b], [x, y],
        where={y: interval(0, 3)}),
    Row("poisson NLL with log1p rate", log1p(sp.exp(z)) - y * sp.log(log1p(sp.exp(z))), [w, b],
        [x, y]),
    Row("gaussian NLL, learned scale", sp.log(s) + (x - w)**2 / (2 * s**2), [w, s], [x]),
    Row("student-t NLL", (k + 1) / 2 * sp.log(1 + (y - z)**2 / k) - sp.loggamma((k + 1) / 2)
        + sp.loggamma(k / 2) + sp.log(k) / 2, [w, b, k], [x, y], where={k: interval(1, 4)}),
    Row("gamma NLL", sp.loggamma(k) + k * sp.log(s) - (k - 1) * sp.log(t) + t / s, [k, s], [t],
        where={k: interval(1, 3), s: interval(1, 3), t: interval(1, 3)}),
    Row("cauchy loss", sp.log(1 + (z - y)**2), [w, b], [x, y]),
    Row("pinball loss", sp.Max(sp.Rational(3, 4) * (y - z), -sp.Rational(1, 4) * (y - z)),
        [w, b], [x, y]),
    Row("hinge", sp.Max(0, 1 - y * z), [w, b], [x, y]),
    Row("squared hinge", sp.Max(0, 1 - y * z)**2, [w, b], [x, y]),
    Row("smooth L1 with Min", sp.Min(sp.Abs(z - y), 1)**2 / 2
        + sp.Max(sp.Abs(z - y) - 1, 0), [w, b], [x, y]),
    Row("elastic net", (z - y)**2 + sp.Abs(w) / 10 + w**2 / 100, [w, b], [x, y]),
    Row("softmax cross-entropy of three logits", sg.logsumexp(w * x, b * x, c) - w * x,
        [w, b, c], [x]),
    Row("log-softmax cross-entropy", -LogSoftmax(1, w * x, b * x, c) + c**2 / 10, [w, b, c], [x]),
    Row("KL of Bernoullis", XLogY(s, s / k) + XLogY(1 - s, (1 - s) / (1 - k)), [s, k], [],
        where={s: interval(0, 1), k: interval(0, 1)}, values={s: 0.25, k: 0.625}),
    Row("tanh MLP unit", (w * sp.tanh(a * x + b) + c - y)**2, [w, a, b, c], [x, y]),
    Row("exponential decay fit", (w * sp.exp(-s * t) - y)**2, [w, s], [t, y],
        where={t: interval(0, 2)}),
    # --- activations and kinks ---------------------------------------------------------
    Row("ReLU", sp.Max(0, z), [w, b], [x]),
    Row("leaky ReLU", sp.Max(z, z / 100), [w, b], [x]),
    Row("clipped output", sp.Min(sp.Max(z, -1), 1)**2, [w, b], [x]),
    Row("sign and Heaviside", sp.sign(w) * w**2 + sp.Heaviside(b) * b**3, [w, b]),
    Row("step with DiracDelta", w**2 + sp.DiracDelta(w - 3), [w]),
    Row("abs of a product", sp.Abs(w * x - b) * sp.Abs(b), [w, b], [x]),
    Row("nested Piecewise", sp.Piecewise(
        (sp.Piecewise((z**2, z < 1), (2 * z - 1, True)), z > 0), (z**3 / 3, True)), [w, b], [x]),
    Row("Piecewise with every relation", sp.Piecewise(
        (w * b, sp.And(w > 0, b >= 0)), (w**2, sp.Or(w < -1, b <= -1)),
        (sp.sin(w), sp.Eq(w, b)), (sp.cos(b), sp.Ne(w, 2 * b)), (w, True)), [w, b]),
    Row("Piecewise with Not", sp.Piecewise((w**3, sp.Not(w > 1, evaluate=False)), (3 * w - 2, True)),
        [w]),
    # --- elementary and special functions ------------------------------------------------
    Row("log base 2", sp.log(w**2 + 1, 2) + sp.log(s, 2), [w, s]),
    Row("symbolic exponent", s**w + x**2 * k**(w * b), [s, w, b, k], [x]),
    Row("exp and log1p/expm1", expm1(w * x) + log1p(w**2), [w], [x]),
    Row("sinc", sp.sinc(w * x), [w], [x]),
    Row("atan2 angle loss", 1 - sp.cos(sp.atan2(w, b) - x), [w, b], [x],
        values={w: 0.75, b: 0.5, x: [0.25, -1.0, 2.0]}),
    Row("atan2 of two heads", (sp.atan2(w * x + 1, b**2 + 1) - y)**2, [w, b], [x, y]),
    Row("polygamma family", sp.gamma(s) + sp.loggamma(k) + sp.digamma(s) + sp.polygamma(1, k)
        + sp.polygamma(2, s), [s, k], where={s: interval(1, 3), k: interval(1, 3)}),
    Row("erf and erfc", sp.erf(w * x) * sp.erfc(b), [w, b], [x]),
    Row("trigonometric", sp.sin(w) + sp.cos(b) * sp.tan(w / 2) + sp.cot(1 + w**2) + sp.sec(b / 2)
        + sp.csc(1 + b**2), [w, b]),
    Row("inverse trigonometric", sp.asin(w / 3) + sp.acos(b / 3) + sp.atan(w * b) + sp.acot(w)
        + sp.asec(2 + b**2) + sp.acsc(-2 - w**2), [w, b], where={w: interval(1, 2)},
        values={w: 1.25, b: 0.5}),
    Row("hyperbolic", sp.sinh(w) + sp.cosh(b) * sp.tanh(w * b) + sp.coth(1 + w**2)
        + sp.sech(b) + sp.csch(1 + b**2), [w, b]),
    Row("inverse hyperbolic", sp.asinh(w * b) + sp.acosh(2 + w**2) + sp.atanh(w / 3)
        + sp.acoth(2 + b**2) + sp.asech(sp.tanh(w)**2 / 2 + sp.Rational(1, 4)) + sp.acsch(b), [w, b],
        where={b: interval(1, 2)}, values={w: 0.5, b: 1.5}),
    Row("sqrt and reciprocal", sp.sqrt(w**2 + 1) + 1 / (1 + b**2) + (w**2 + 1)**sp.Rational(-3, 2)
        + s**sp.Rational(1, 3), [w, b, s]),
    Row("sigmoid and softplus nodes", sg.sigmoid(z) * sg.softplus(-z), [w, b], [x]),
]

IDS = [r.name for r in ROWS]


def sample(row, seed):
    """An exact point for a row: dyadic rationals inside each symbol's interval."""
    rng = random.Random(seed)
    point = {}
    for sym in row.wrt + row.args:
        lo, hi = row.where.get(sym, interval(-2, 2))
        if lo <= 0 and sym.is_positive:
            lo = sp.Rational(1, 8)
        point[sym] = lo + (hi - lo) * sp.Rational(rng.randint(1, 63), 64)
    return point


def test_the_table_is_large_and_named_uniquely():
    assert len(ROWS) >= 40
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_check_grad_accepts_the_table(row, capsys):
    report = sg.check_grad(row.expr, row.wrt, row.args, values=row.values)
    assert report.ok, "%s\n%s" % (row.name, report)
    assert [r.parameter for r in report.rows] == [str(p) for p in row.wrt]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_grad_equals_sympy_diff_on_the_table(row):
    grads = sg.grad(row.expr, row.wrt)
    references = [sp.diff(as_real(row.expr), as_real(p)) for p in row.wrt]
    compared = 0
    for seed in range(6):
        point = sample(row, seed)
        if kink_distance(row.expr, point) < 1e-6:
            continue
        for p, g, reference in zip(row.wrt, grads, references):
            mine, theirs = numeric(g, point), numeric(reference, point)
            assert mine.is_real and theirs.is_real, (row.name, p, mine, theirs)
            assert close(mine, theirs, 1e-30, 1e-30), (row.name, p, point, mine, theirs)
        compared += 1
    assert compared >= 3


# --- zero gradients, real symbols, unsupported nodes ------------------------------------------

def test_absent_symbol_gets_a_zero_gradient():
    n, m = sp.symbols("n m", integer=True, positive=True)
    W = sp.MatrixSymbol("W", n, m)
    gx, gz, gW = sg.grad(x**2, [x, y, W])
    assert gx == 2 * x
    assert gz is sp.S.Zero
    assert gW == sp.ZeroMatrix(n, m) and gW.shape == (n, m)
    assert sg.grad(sp.sin(x), y) is sp.S.Zero


def test_absent_symbol_gets_a_zero_gradient_in_generated_code():
    f = sg.value_and_grad(w**2 * x, [w, b], [x])
    value, (dw, db) = f(3.0, 1.0, [1.0, 2.0])
    assert float(value) == pytest.approx(13.5, rel=1e-15)
    assert float(dw) == pytest.approx(9.0, rel=1e-15)
    assert abs(float(db)) == 0.0


@pytest.mark.parametrize("expr, expected", [
    (sp.Abs(x), sp.sign(x)),
    (sp.Abs(x)**3, 3 * sp.Abs(x)**2 * sp.sign(x)),
    (sp.log(sp.Abs(x)), sp.sign(x) / sp.Abs(x)),
    (sp.sqrt(x**2), None),
    (sp.Abs(w * x - y), None),
    (sp.Max(x, y)**2, None),
    (sp.atan2(y, x), None),
    (x**y, None),
])
def test_plain_symbols_behave_as_real(expr, expected):
    g = sg.grad(expr, x)
    if expected is not None:               # equal at exact points (SymPy's simplify may stall)
        for value in (sp.Rational(-7, 3), sp.Rational(1, 5), 4):
            assert (g - expected).subs(x, value) == 0, g
    assert not g.has(sp.re, sp.im, sp.conjugate, sp.arg), g
    assert g.free_symbols <= expr.free_symbols          # user symbols back, no real stand-ins
    assert not any(isinstance(q, sp.Dummy) for q in g.free_symbols)


def test_grad_abs_is_sign_exactly():
    assert sg.grad(sp.Abs(x), x) == sp.sign(x)


f_undefined = sp.Function("f")


@pytest.mark.parametrize("expr, node, parent", [
    (w + sp.exp(f_undefined(w)), "f", "exp(f(w))"),
    (w * sp.Integral(w * x, (x, 0, 1)), "Integral", "w*Integral(w*x, (x, 0, 1))"),
    (sp.Derivative(sp.sin(w * f_undefined(w)), w), "Derivative", None),
    (sp.sin(w) + sp.floor(w), "floor", "sin(w) + floor(w)"),
    (sp.log(1 + sp.besselj(0, w)), "besselj", "besselj(0, w) + 1"),
])
def test_unsupported_node_is_named_with_its_location(expr, node, parent):
    for call in (lambda: sg.grad(expr, w), lambda: sg.value_and_grad(expr, [w]),
                 lambda: sg.check_grad(expr, [w])):
        with pytest.raises(sg.UnsupportedExpression) as info:
            call()
        message = str(info.value)
        assert isinstance(info.value, sg.SymgradError)
        assert message.startswith(node + " node"), message       # the node type
        if parent is None:                                       # and where it occurs
            assert "at the top of the expression" in message, message
        else:
            assert re.search(r"in argument \d+ of %s" % re.escape(parent), message), message


# check_grad failing on a wrong rule: test_internals.py (it puts wrong rules into the rules table).


# --- Hypothesis: random guarded expression trees ------------------------------------------------

WRT = list(SYMBOLS)


@given(expressions(), points())
def test_grad_equals_sympy_diff_at_exact_points(expr, point):
    assume(kink_distance(expr, point) > 1e-6)
    for p, g in zip(WRT, sg.grad(expr, WRT)):
        reference = sp.diff(as_real(expr), as_real(p))
        mine, theirs = numeric(g, point), numeric(reference, point)
        note("d/d%s: symgrad %s, sympy %s" % (p, mine, theirs))
        assert close(mine, theirs, 1e-30, 1e-30)


@given(expressions(), points())
def test_generated_code_equals_the_symbolic_gradient(expr, point):
    assume(kink_distance(expr, point) > 1e-6)
    grads = sg.grad(expr, WRT)
    scale = 1 + magnitude([expr] + grads, point)
    value, generated = sg.value_and_grad(expr, WRT)(*[float(point[p]) for p in WRT])
    for exact, got in zip([expr] + grads, [value] + list(generated)):
        want = numeric(exact, point)
        note("%s: generated %r, exact %s, scale %g" % (exact, got, want, scale))
        assert close(float(got), want, 1e-9, 1e-10 * scale)


@given(expressions(), points())
def test_finite_differences_agree(expr, point):
    report = sg.check_grad(expr, WRT, values={p: float(v) for p, v in point.items()})
    note(str(report))
    assert report.ok
    if not report.kinks and not report.notes:
        # check_grad's own tolerance follows its error estimate; keep an absolute bound
        # too, so a large estimate (a jump) cannot certify itself.
        scale = 1 + magnitude([expr] + sg.grad(expr, WRT), point)
        for row in report.rows:
            assert row.errors["symbolic~fd"][0] <= 1e-5 * scale
