"""The spec table: every op in the registry (symgrad.ops) with a derivative rule has a spec
saying where to sample it.

JAX-style: each spec builds an expression that contains its operation and gives
one input sampler per argument that stays inside the operation's domain
(``positive`` for log, ``open_unit`` for asin, ``greater_than_one`` for acosh,
positive definite matrices for an inverse). A second table lists
special points: kinks (|x| at 0, Max ties, Piecewise boundaries) and smooth
points that look special (sinc at 0).

For each spec, at its sampled points:
- check_grad is ok and reports no kink;
- sg.grad equals sympy.diff (over real=True symbols): proven by simplify where it
  simplifies, else equal at exact rational points to 50 digits; matrix rules
  are compared entry by entry with sympy.diff of the explicit matrix expression;
- the generated code equals the exact symbolic gradient.
"""

import random
import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.graph.ir import Broadcast, SumTo
from symgrad.ops.nodes import (AxisSum, LogDet, LogSoftmax, LogSumExp, RowLogSoftmax, RowLogSumExp,
                           RowSoftmax, Sigmoid, Softplus, SumAll, XLog1pY, XLogY, expm1, log1p, msum,
                           to_standard)
from symgrad.ops import CONDITION, ELEMENTWISE, BUILTIN, entries, lookup, replaced
from symgrad.ops.derived import Sech2, SincSlope, logit
from symgrad.ops.derived import Erfcx, Exprel, Hyp1f1, Hypot, LogNdtr
from symgrad.ops.slicing import Concat, Embed
from sympy.matrices.expressions.slice import MatrixSlice

RULES = {op.cls: op.rule for op in entries() if op.rule is not None}
NO_GRADIENT = {op.cls for op in entries(CONDITION)}
from helpers import numeric, positive_definite as pd_matrix, reference
from strategies import as_real, close, exact_value

n, k = sp.symbols("n k", integer=True, positive=True)
DIMS = {n: 2, k: 3}          # non-square, so a transposed gradient cannot pass by accident


# --- samplers: exact dyadic values inside a domain -----------------------------------------

def _dyadic(rng, lo, hi, denominator=64):
    return sp.Rational(rng.randint(int(lo * denominator), int(hi * denominator)), denominator)


def real(rng):
    """[-2, 2], at least 1/16 away from 0 (no accidental kink of Abs, sign, acot)."""
    value = _dyadic(rng, sp.Rational(1, 16), 2)
    return value if rng.random() < 0.5 else -value


def positive(rng):
    return _dyadic(rng, sp.Rational(1, 8), 3)


def open_unit(rng):
    return _dyadic(rng, sp.Rational(-7, 8), sp.Rational(7, 8))


def unit_positive(rng):
    return _dyadic(rng, sp.Rational(1, 8), sp.Rational(7, 8))


def greater_than_one(rng):
    return _dyadic(rng, sp.Rational(9, 8), 3)


def beyond_one(rng):
    value = greater_than_one(rng)
    return value if rng.random() < 0.5 else -value


def dense(rows, cols):
    def sample(rng):
        return sp.ImmutableMatrix(rows, cols, lambda i, j: _dyadic(rng, -1, 1))
    sample.__name__ = "dense"
    return sample


def positive_definite(size):
    """helpers' sampler, not symmetric (so X^-1 and X^-T differ), its symmetric part positive
    definite (so it is invertible with det > 0: log det exists)."""
    def sample(rng):
        return pd_matrix(rng, size, symmetric=False)
    sample.__name__ = "positive_definite"
    return sample


@dataclass
class Spec:
    """Where to sample one rule.

    ``build(*symbols)`` returns an expression containing the rule's operation.
    ``names`` names the symbols; ``domain`` has one sampler per symbol;
    ``shapes`` gives a matrix symbol's shape (None for a scalar); the first
    ``params`` symbols are parameters (wrt), the rest data (args).
    """

    build: object
    domain: tuple
    names: str = "x y z"
    shapes: tuple = ()
    params: int = None

    def symbols(self):
        names = self.names.split()[:len(self.domain)]
        shapes = list(self.shapes) + [None] * (len(names) - len(self.shapes))
        return [sp.MatrixSymbol(a, *shape) if shape else sp.Symbol(a)
                for a, shape in zip(names, shapes)]

    def setup(self):
        """(expression, wrt, args)."""
        symbols = self.symbols()
        count = len(symbols) if self.params is None else self.params
        return self.build(*symbols), symbols[:count], symbols[count:]

    @property
    def is_matrix(self):
        return any(self.shapes)


def _condition(rel):
    """A Piecewise whose first branch is chosen by ``rel(x, y)``."""
    return Spec(lambda x, y: sp.Piecewise((x * y, rel(x, y)), (x**2 - y, True)), (real, real))


SPECS = {
    # --- arithmetic ---
    sp.Add: Spec(lambda x, y: x + 2 * y, (real, real)),
    sp.Mul: Spec(lambda x, y: x * y, (real, real)),
    sp.Pow: Spec(lambda x, y: x**y + sp.sqrt(x) + 1 / x + x**3 + x**sp.Rational(-3, 2),
                 (positive, real)),

    # --- exponential and logarithm ---
    sp.exp: Spec(lambda x: sp.exp(x), (real,)),
    sp.log: Spec(lambda x: sp.log(x), (positive,)),
    log1p: Spec(lambda x: log1p(x), (open_unit,)),
    expm1: Spec(lambda x: expm1(x), (real,)),
    XLogY: Spec(lambda x, y: XLogY(x, y), (real, positive)),
    XLog1pY: Spec(lambda x, y: XLog1pY(x, y), (real, open_unit)),
    Sigmoid: Spec(lambda x: Sigmoid(x), (real,)),
    Softplus: Spec(lambda x: Softplus(x), (real,)),
    logit: Spec(lambda x: logit(x), (unit_positive,)),
    LogSumExp: Spec(lambda x, y, z: LogSumExp(x, y, z), (real, real, real)),
    LogSoftmax: Spec(lambda x, y, z: LogSoftmax(1, x, y, z), (real, real, real)),

    # --- trigonometric ---
    sp.sin: Spec(lambda x: sp.sin(x), (real,)),
    sp.cos: Spec(lambda x: sp.cos(x), (real,)),
    sp.tan: Spec(lambda x: sp.tan(x), (open_unit,)),
    sp.cot: Spec(lambda x: sp.cot(x), (positive,)),
    sp.sec: Spec(lambda x: sp.sec(x), (open_unit,)),
    sp.csc: Spec(lambda x: sp.csc(x), (positive,)),
    sp.asin: Spec(lambda x: sp.asin(x), (open_unit,)),
    sp.acos: Spec(lambda x: sp.acos(x), (open_unit,)),
    sp.atan: Spec(lambda x: sp.atan(x), (real,)),
    sp.acot: Spec(lambda x: sp.acot(x), (real,)),
    sp.asec: Spec(lambda x: sp.asec(x), (beyond_one,)),
    sp.acsc: Spec(lambda x: sp.acsc(x), (beyond_one,)),
    sp.atan2: Spec(lambda y, x: sp.atan2(y, x), (real, real), names="y x"),
    sp.sinc: Spec(lambda x: sp.sinc(x), (real,)),
    SincSlope: Spec(lambda x: SincSlope(x), (real,)),

    # --- hyperbolic ---
    sp.sinh: Spec(lambda x: sp.sinh(x), (real,)),
    sp.cosh: Spec(lambda x: sp.cosh(x), (real,)),
    sp.tanh: Spec(lambda x: sp.tanh(x), (real,)),
    Sech2: Spec(lambda x: Sech2(x), (real,)),
    sp.coth: Spec(lambda x: sp.coth(x), (real,)),
    sp.sech: Spec(lambda x: sp.sech(x), (real,)),
    sp.csch: Spec(lambda x: sp.csch(x), (real,)),
    sp.asinh: Spec(lambda x: sp.asinh(x), (real,)),
    sp.acosh: Spec(lambda x: sp.acosh(x), (greater_than_one,)),
    sp.atanh: Spec(lambda x: sp.atanh(x), (open_unit,)),
    sp.acoth: Spec(lambda x: sp.acoth(x), (beyond_one,)),
    sp.asech: Spec(lambda x: sp.asech(x), (unit_positive,)),
    sp.acsch: Spec(lambda x: sp.acsch(x), (real,)),

    # --- kinks, steps and branches ---
    sp.Abs: Spec(lambda x: sp.Abs(x), (real,)),
    sp.sign: Spec(lambda x: x**2 * sp.sign(x), (real,)),
    sp.Heaviside: Spec(lambda x: x**3 * sp.Heaviside(x), (real,)),
    sp.DiracDelta: Spec(lambda x: x**2 + sp.DiracDelta(x - sp.Rational(1, 3)), (real,)),
    sp.Max: Spec(lambda x, y: sp.Max(x, y), (real, real)),
    sp.Min: Spec(lambda x, y: sp.Min(x, y), (real, real)),
    sp.Piecewise: Spec(lambda x, y: sp.Piecewise((x**2 * y, x > y), (sp.sin(x * y), True)),
                       (real, real)),

    # --- special functions ---
    sp.erf: Spec(lambda x: sp.erf(x), (real,)),
    sp.erfc: Spec(lambda x: sp.erfc(x), (real,)),
    sp.gamma: Spec(lambda x: sp.gamma(x), (positive,)),
    sp.loggamma: Spec(lambda x: sp.loggamma(x), (positive,)),
    sp.polygamma: Spec(lambda x: sp.polygamma(0, x) + sp.polygamma(1, x), (positive,)),
    sp.beta: Spec(lambda x, y: sp.beta(x, y), (positive, positive)),
    sp.besseli: Spec(lambda x: sp.besseli(0, x) + sp.besseli(1, x), (real,)),
    sp.factorial: Spec(lambda x: sp.factorial(x), (positive,)),
    sp.binomial: Spec(lambda x, y: sp.binomial(x + 3, y), (positive, unit_positive)),

    # --- matrix ---
    sp.MatMul: Spec(lambda W, A: sp.Trace(W * A), (dense(2, 3), dense(3, 2)), "W A",
                    ((n, k), (k, n))),
    sp.Transpose: Spec(lambda W, B: sp.Trace(W.T * B), (dense(2, 3), dense(2, 3)), "W B",
                       ((n, k), (n, k)), params=1),
    sp.Inverse: Spec(lambda X, C: sp.Trace(X.I * C), (positive_definite(2), dense(2, 2)), "X C",
                     ((n, n), (n, n)), params=1),
    sp.Trace: Spec(lambda X: sp.Trace(X), (dense(2, 2),), "X", ((n, n),)),
    sp.Determinant: Spec(lambda X: sp.Determinant(X), (positive_definite(2),), "X", ((n, n),)),
    LogDet: Spec(lambda X: sp.log(sp.Determinant(X)), (positive_definite(2),), "X", ((n, n),)),
    RowLogSumExp: Spec(lambda W: msum(RowLogSumExp(W)), (dense(2, 3),), "W", ((n, k),)),
    sp.DiagMatrix: Spec(lambda v, u, B: sp.Trace(sp.DiagMatrix(v) * B * sp.DiagMatrix(u) * B.T),
                        (dense(3, 1), dense(1, 2), dense(3, 2)), "v u B", ((k, 1), (1, n), (k, n)),
                        params=2),
    MatrixSlice: Spec(lambda W, B: msum(sp.HadamardProduct(W[:, 1:].applyfunc(sp.sin), B)),
                      (dense(2, 3), dense(2, 2)), "W B", ((n, k), (n, k - 1)), params=1),
    Embed: Spec(lambda W, B: msum(sp.HadamardProduct(Embed(W, n, k, 0, n, 1, 1, k, 1), B)),
                (dense(2, 2), dense(2, 3)), "W B", ((n, k - 1), (n, k)), params=1),
    Concat: Spec(lambda W, A, B: msum(sp.HadamardProduct(
        sp.BlockMatrix([[W, A]]).applyfunc(sp.sin), B)), (dense(2, 3), dense(2, 1), dense(2, 4)),
        "W A B", ((n, k), (n, 1), (n, k + 1)), params=2),
    RowSoftmax: Spec(lambda W, B: msum(sp.HadamardProduct(RowSoftmax(W), B)),
                     (dense(2, 3), dense(2, 3)), "W B", ((n, k), (n, k)), params=1),
    RowLogSoftmax: Spec(lambda W, B: msum(sp.HadamardProduct(RowLogSoftmax(W), B)),
                        (dense(2, 3), dense(2, 3)), "W B", ((n, k), (n, k)), params=1),

    # --- shape plumbing (symgrad's internal markers) ---
    Broadcast: Spec(lambda c, A: sp.Trace(c * sp.OneMatrix(1, k) * A),
                    (dense(2, 1), dense(3, 2)), "c A", ((n, 1), (k, n))),
    SumTo: Spec(lambda W, B: msum(sp.HadamardProduct(W.applyfunc(sp.sin), B)),
                (dense(2, 3), dense(2, 3)), "W B", ((n, k), (n, k)), params=1),

    # --- conditions (no gradient flows): sampled as Piecewise conditions ---
    sp.StrictGreaterThan: _condition(lambda x, y: x > y),
    sp.GreaterThan: _condition(lambda x, y: x >= y),
    sp.StrictLessThan: _condition(lambda x, y: x < y),
    sp.LessThan: _condition(lambda x, y: x <= y),
    sp.Equality: _condition(lambda x, y: sp.Eq(x, y)),
    sp.Unequality: _condition(lambda x, y: sp.Ne(x, y)),
    sp.And: _condition(lambda x, y: sp.And(x > 0, y > 0)),
    sp.Or: _condition(lambda x, y: sp.Or(x > 1, y < -1)),
    sp.Not: _condition(lambda x, y: sp.Not(sp.And(x > y, y > 0))),   # Not(x > y) folds to x <= y

    # --- stable forms the rewrites use (symgrad.ops.derived) ---
    Erfcx: Spec(lambda x: Erfcx(x), (real,)),
    LogNdtr: Spec(lambda x: LogNdtr(x), (real,)),
    Hyp1f1: Spec(lambda x: Hyp1f1(1, 2, x) + Hyp1f1(2, 3, x), (real,)),
    Exprel: Spec(lambda x: Exprel(x), (real,)),
    Hypot: Spec(lambda x, y: Hypot(x, y), (real, real)),
}

# the SymPy nodes a user writes for ops that are not SymPy node types themselves
# (test_spec_exercises_its_rule checks that they do reach the op's rule)
MARKER_SOURCES = {Broadcast: (sp.OneMatrix,), SumTo: (SumAll, AxisSum), LogDet: (LogDet, sp.log),
                  Concat: (sp.BlockMatrix,)}


def _name(op):
    return getattr(op, "__name__", str(op))


def _seed(op):
    return zlib.crc32(_name(op).encode())


def sample_points(spec, op, count=3):
    """``count`` exact points for a spec (deterministic per op)."""
    rng = random.Random(_seed(op))
    _, wrt, args = spec.setup()
    return [{s: sampler(rng) for s, sampler in zip(wrt + args, spec.domain)} for _ in range(count)]


def as_numbers(point):
    """A point for check_grad / generated code: floats and float arrays (exact: dyadic)."""
    return {s: np.array(v.tolist(), dtype=float) if isinstance(v, sp.MatrixBase) else float(v)
            for s, v in point.items()}


# --- exact evaluation: tests/helpers.py's reference evaluator, at the concrete sizes DIMS ------

def at_sizes(point):
    """A point for helpers.reference/numeric: the values plus the concrete dimensions."""
    return {**DIMS, **point}


def entry_symbols(m):
    rows, cols = (int(sp.sympify(d).xreplace(DIMS)) for d in m.shape)
    return sp.ImmutableMatrix(rows, cols,
                              lambda i, j: sp.Symbol("%s_%d%d" % (m.name, i, j), real=True))


def entries_of(values_by_matrix):
    """{entry symbol: exact value} for a point given as {MatrixSymbol: Matrix}."""
    out = {}
    for m, value in values_by_matrix.items():
        for sym, v in zip(entry_symbols(m), value):
            out[sym] = v
    return out


def digits50(value):
    """An exact number or explicit matrix of them, to 50 digits."""
    if isinstance(value, sp.MatrixBase):
        return value.applyfunc(lambda t: sp.sympify(t).evalf(50))
    return sp.sympify(value).evalf(50)


# --- the table covers the rules ---------------------------------------------------------------

def test_spec_table_covers_rules_table_exactly():
    missing = sorted(_name(op) for op in set(RULES) - set(SPECS))
    extra = sorted(_name(op) for op in set(SPECS) - set(RULES))
    assert not missing, "rules without a spec in tests/test_rules_spec.py: " + ", ".join(missing)
    assert not extra, "specs for operations that have no rule: " + ", ".join(extra)


def test_special_points_name_rules():
    assert set(SPECIAL) <= set(RULES)
    assert {sp.Abs, sp.Max, sp.Min, sp.Piecewise, sp.sign, sp.Heaviside} <= set(SPECIAL)


SPEC_ITEMS = sorted(SPECS.items(), key=lambda item: _name(item[0]))
SPEC_IDS = [_name(op) for op, _ in SPEC_ITEMS]
SCALAR_ITEMS = [(op, spec) for op, spec in SPEC_ITEMS if not spec.is_matrix]
MATRIX_ITEMS = [(op, spec) for op, spec in SPEC_ITEMS if spec.is_matrix]


@pytest.mark.parametrize("op, spec", SPEC_ITEMS, ids=SPEC_IDS)
def test_spec_contains_its_operation(op, spec):
    expr, wrt, args = spec.setup()
    types = {type(node) for node in sp.preorder_traversal(expr)}
    assert types & set(MARKER_SOURCES.get(op, (op,))), (op, expr)
    assert len(spec.domain) == len(wrt) + len(args)
    assert set(wrt) <= expr.free_symbols | set(expr.atoms(sp.MatrixSymbol))


@pytest.mark.parametrize("op, spec", SPEC_ITEMS, ids=SPEC_IDS)
def test_spec_exercises_its_rule(op, spec):
    calls = []
    rule = RULES[op]

    def counting(*placeholders):
        calls.append(placeholders)
        return rule(*placeholders)

    expr, wrt, _ = spec.setup()
    if op in NO_GRADIENT:
        # no gradient flows through a condition: its rule gives None for every argument, and a
        # condition on its own is not a loss
        condition = next(node for node in sp.preorder_traversal(expr) if type(node) is op)
        placeholders = [sp.Dummy("x") for _ in condition.args]
        assert all(c is None for c in rule(sp.S.One, condition, *placeholders))
        with pytest.raises(sg.ArgumentError, match="is a condition"):
            sg.grad(condition, wrt)
        return
    with replaced(op, rule=counting):
        sg.grad(expr, wrt)
    assert calls, "sg.grad of %s never used the %s rule" % (expr, _name(op))


# --- check_grad at the sampled points -------------------------------------------------------

@pytest.mark.parametrize("op, spec", [
    pytest.param(op, spec, id=_name(op))
    for op, spec in SPEC_ITEMS])
def test_check_grad_at_spec_points(op, spec):
    expr, wrt, args = spec.setup()
    for point in sample_points(spec, op):
        report = sg.check_grad(expr, wrt, args, values=as_numbers(point))
        assert report.ok, "%s at %s\n%s" % (expr, point, report)
        assert report.kinks == [], report.kinks


# --- sg.grad equals sympy.diff -----------------------------------------------------------------

@pytest.mark.parametrize("op, spec", SCALAR_ITEMS, ids=[_name(op) for op, _ in SCALAR_ITEMS])
def test_scalar_rule_equals_sympy_diff(op, spec):
    expr, wrt, _ = spec.setup()
    for p, g in zip(wrt, sg.grad(expr, wrt)):
        expected = sp.diff(as_real(to_standard(expr)), as_real(p))
        difference = as_real(to_standard(g)) - expected
        if sp.count_ops(difference) <= 40 and sp.simplify(difference) == 0:
            continue                                    # proven
        for point in sample_points(spec, op, count=4):
            mine, theirs = exact_value(g, point), exact_value(expected, point)
            assert mine.is_real and theirs.is_real, (expr, p, point, mine, theirs)
            assert close(mine, theirs, 1e-30, 1e-30), (expr, p, point, mine, theirs)


@pytest.mark.parametrize("op, spec", MATRIX_ITEMS, ids=[_name(op) for op, _ in MATRIX_ITEMS])
def test_matrix_rule_equals_sympy_diff_entrywise(op, spec):
    expr, wrt, args = spec.setup()
    grads = sg.grad(expr, wrt)
    symbolic = {m: entry_symbols(m) if isinstance(m, sp.MatrixSymbol) else sp.Symbol(m.name, real=True)
                for m in wrt + args}
    scalar_loss = reference(expr, at_sizes(symbolic), doit=False)
    for point in sample_points(spec, op, count=2):
        at = entries_of({m: v for m, v in point.items() if isinstance(m, sp.MatrixSymbol)})
        at.update({symbolic[q]: v for q, v in point.items() if not isinstance(q, sp.MatrixSymbol)})
        for p, g in zip(wrt, grads):
            mine = numeric(g, at_sizes(point))
            if isinstance(p, sp.MatrixSymbol):
                expected = symbolic[p].applyfunc(lambda e: sp.diff(scalar_loss, e).xreplace(at))
                assert mine.shape == expected.shape, (p, mine.shape, expected.shape)
                pairs = zip(mine, digits50(expected))
            else:
                pairs = [(mine, digits50(sp.diff(scalar_loss, symbolic[p]).xreplace(at)))]
            for a, b in pairs:
                assert close(a, b, 1e-30, 1e-30), (expr, p, a, b)


# --- generated code equals the exact gradient ------------------------------------------------------

@pytest.mark.parametrize("op, spec", SPEC_ITEMS, ids=SPEC_IDS)
def test_generated_code_at_spec_points(op, spec):
    expr, wrt, args = spec.setup()
    f = sg.value_and_grad(expr, wrt, args)
    grads = sg.grad(expr, wrt)
    for point in sample_points(spec, op):
        numbers = as_numbers(point)
        value, generated = f(*[numbers[q] for q in wrt + args])
        exact = [numeric(e, at_sizes(point)) if spec.is_matrix else exact_value(e, point)
                 for e in [expr] + grads]
        for want, got in zip(exact, [value] + list(generated)):
            want = np.array(want.tolist() if isinstance(want, sp.MatrixBase) else want, dtype=float)
            np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-9,
                                       atol=1e-12 * (1 + np.max(np.abs(want))))


# --- special points: kinks are reported, smooth points are not --------------------------------------

@dataclass
class Special:
    """A point where an operation is special: ``kink`` says whether check_grad must list it."""

    build: object
    point: dict
    kink: bool
    names: str = "x y"
    data: str = ""
    xfail: str = None
    params: list = field(default_factory=list)


_x, _y = sp.symbols("x y")

SPECIAL = {
    sp.Abs: [Special(lambda x, y: sp.Abs(x) * y, {_x: 0, _y: 2}, True),
             Special(lambda x, y: sp.Abs(x - y), {_x: 0.25, _y: [0.25, 1.0, -1.0]}, True, data="y")],
    sp.sign: [Special(lambda x, y: x**2 * sp.sign(x) + y, {_x: 0, _y: 1}, True)],
    sp.Heaviside: [Special(lambda x, y: x * sp.Heaviside(x) + y, {_x: 0, _y: 1}, True)],
    sp.Max: [Special(lambda x, y: sp.Max(x, y), {_x: 0.5, _y: 0.5}, True),
             Special(lambda x, y: sp.Max(0, x * y), {_x: 0, _y: 1.5}, True)],
    sp.Min: [Special(lambda x, y: sp.Min(x, 2 * y), {_x: 1, _y: 0.5}, True)],
    sp.Piecewise: [
        Special(lambda x, y: sp.Piecewise((x**2, x > 1), (2 * x - 1, True)) + y, {_x: 1, _y: 0}, True),
        Special(lambda x, y: sp.Piecewise((x * y, sp.Eq(x, y)), (x**2, True)), {_x: 0.5, _y: 0.5},
                True),
        Special(lambda x, y: sp.Piecewise((x, sp.And(x > 0, y > 0)), (y, True)), {_x: 0, _y: 1},
                True),
    ],
    sp.sinc: [Special(lambda x, y: sp.sinc(x) * y, {_x: 0, _y: 2}, False)],
    LogSumExp: [Special(lambda x, y: LogSumExp(x, y), {_x: 0.75, _y: 0.75}, False)],
    sp.atan2: [
        Special(lambda x, y: sp.atan2(y, x), {_x: 1, _y: 0}, False),
        Special(lambda x, y: sp.atan2(y, x), {_x: -1, _y: 0}, True),   # the branch cut
    ],
}

SPECIAL_ITEMS = [(op, i, case) for op in sorted(SPECIAL, key=_name)
                 for i, case in enumerate(SPECIAL[op])]


@pytest.mark.parametrize("op, index, case", [
    pytest.param(op, i, case, id="%s-%d" % (_name(op), i),
                 marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else [])
    for op, i, case in SPECIAL_ITEMS])
def test_special_point(op, index, case):
    symbols = [sp.Symbol(a) for a in case.names.split()]
    expr = case.build(*symbols)
    data = [q for q in symbols if q.name in case.data.split()]
    wrt = [q for q in symbols if q not in data]
    report = sg.check_grad(expr, wrt, data, values=case.point)
    assert report.ok != report.vacuous, str(report)       # compared nothing: never OK
    assert not report.blame, str(report)
    assert bool(report.kinks) == case.kink, str(report)
    if case.kink:
        assert "not differentiable" in str(report)


@pytest.mark.parametrize("op, index, case", [
    pytest.param(op, i, case, id="%s-%d" % (_name(op), i)) for op, i, case in SPECIAL_ITEMS
    if not case.data])
def test_generated_code_follows_the_symbolic_conventions_at_special_points(op, index, case):
    # sign(0) = 0 and Heaviside(0) = 1/2 on both sides: the generated code and the
    # symbolic gradient agree even where the derivative does not exist
    symbols = [sp.Symbol(a) for a in case.names.split()]
    expr = case.build(*symbols)
    f = sg.value_and_grad(expr, symbols)
    value, generated = f(*[float(case.point[q]) for q in symbols])
    point = {q: sp.Rational(case.point[q]) for q in symbols}
    for g, got in zip(sg.grad(expr, symbols), generated):
        want = exact_value(g, point)
        assert want.is_real, (g, want)
        assert close(float(got), want, 1e-12, 1e-12), (expr, g, got, want)
    assert close(float(value), exact_value(expr, point), 1e-12, 1e-12)


# --- the registry is complete: every entry has every piece its kind needs --------------------

def test_every_op_prints_for_numpy():
    from symgrad.codegen.printer import CodePrinter
    missing = [op.name for op in entries() if op.kind != "vocabulary" and op.numpy is None]
    assert not missing, "registry entries without a NumPy printer: %s" % missing
    builtin = {op.cls for op in entries() if op.numpy == BUILTIN and op.kind in (ELEMENTWISE, CONDITION)}
    printed_by_class = {sp.Add, sp.Mul, sp.Pow, sp.Piecewise, sp.DiracDelta}
    unhandled = [c.__name__ for c in builtin - printed_by_class
                 if not any(hasattr(CodePrinter, "_print_" + k.__name__) for k in c.__mro__)]
    assert not unhandled, "BUILTIN ops the printer has no method for: %s" % unhandled


def test_every_elementwise_op_has_a_high_precision_evaluator():
    missing = [op.name for op in entries(ELEMENTWISE) if op.mpmath is None and op.cls is not sp.Piecewise]
    assert not missing, "elementwise entries without an mpmath evaluator: %s" % missing


@pytest.mark.parametrize("op, spec", SCALAR_ITEMS, ids=[_name(op) for op, _ in SCALAR_ITEMS])
def test_mpmath_evaluator_agrees_with_sympy(op, spec):
    """The registry's mpmath function of each scalar op equals SymPy's own evaluation of the
    op's standard form at the spec's points, to 40 digits."""
    import mpmath as mp
    entry = lookup(op)
    if entry.kind != ELEMENTWISE or entry.mpmath is None:
        pytest.skip("%s has no scalar evaluator" % _name(op))
    expr, wrt, args = spec.setup()
    node = next(e for e in sp.preorder_traversal(expr) if type(e) is op)
    for point in sample_points(spec, op):
        at = {q: v for q, v in point.items()}
        values = [a.xreplace(at) for a in node.args]
        with mp.workdps(60):
            ours = entry.mpmath(*[int(v) if v.is_Integer else mp.mpf(sp.Rational(v).p) / sp.Rational(v).q
                                  if v.is_Rational else mp.mpmathify(v.evalf(70)) for v in values])
            ours = mp.nstr(ours, 55)
        standard = entry.standard(*values) if entry.standard is not None else op(*values)
        reference = sp.sympify(standard).evalf(50)
        assert abs(sp.Float(ours, 50) - reference) <= sp.Float("1e-40") * (1 + abs(reference)), \
            (op, values, ours, reference)
