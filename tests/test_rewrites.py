"""Every rewrite in the database, alone (symgrad/rewrite): it fires on its pattern, and the
generated code is accurate at an extreme input where the same code without it is not.

One spec per rewrite name: an expression that contains the pattern, the inputs, a
reference (an mpmath formula evaluated at 50 digits) and points. Each spec is compiled
twice through the real stages (lower -> rewrite -> codegen), once with only that rewrite
switched on and once with every rewrite off. A rewrite that only exposes a pattern to
another (a transpose moved out of the way) names those companions in ``COMPANIONS``; they
are on in both runs. With it on, the value at every point must
match the reference to a relative error of 1e-10 (or 1e-300 where the true value
underflows) and stay finite without raising under ``np.errstate(all="raise",
under="ignore")``; with it off, the value at one point at least must be off, infinite,
NaN, or raise. A coverage test checks that the table names every registered rewrite.
"""

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.codegen.cfunctions import expm1

from symgrad.codegen.emit import Program, sanitize_names
from symgrad.codegen.module import generate
from symgrad.errors import ArgumentError
from symgrad.graph.ir import ancestors
from symgrad.graph.lower import Lowering
from sympy.codegen.cfunctions import log1p

from symgrad.ops.nodes import LogSumExp, Sigmoid, Softplus, msum, softmax
from symgrad.pipeline.function import compile_source
from symgrad.rewrite import describe, names
from symgrad.rewrite.stabilize import cleanup, stabilize

REL, UNDERFLOW, DPS = 1e-10, 1e-300, 50

x, y, z, z1, z2, p = sp.symbols("x y z z1 z2 p")
Z = sp.MatrixSymbol("Z", 1, 2)
W = sp.MatrixSymbol("W", 2, 2)
mpf = mpmath.mpf
F64 = np.float64     # NumPy scalars, as sg.value_and_grad passes them (a Python float's ** raises)


def mp_sigmoid(t):
    return 1 / (1 + mpmath.exp(-t))


def mp_lse(*ts):
    return mpmath.log(sum(mpmath.exp(t) for t in ts))


def column_sums_of_exp(M):
    return sp.OneMatrix(1, M.shape[0]) * M.applyfunc(sp.exp)


def row_softmax_by_hand(M):
    e = M.applyfunc(sp.exp)
    return sp.HadamardProduct(e, (e * sp.OneMatrix(M.shape[1], 1) * sp.OneMatrix(1, M.shape[1]))
                              .applyfunc(lambda t: 1 / t))


# name: (expression, inputs, reference(*values), points);
# the code without the rewrite must fail at one point at least, the code with it at none
SPECS = {
    # --- powers ---
    "sigmoid_power_is_exp_softplus": (
        Sigmoid(z)**sp.Rational(7, 10), [z], lambda t: mp_sigmoid(t)**(mpf(7) / 10), [(-800.0,)]),
    "one_plus_exp_power_is_exp_softplus": (
        sp.sqrt(1 + sp.exp(z)), [z], lambda t: mpmath.sqrt(1 + mpmath.exp(t)), [(1000.0,)]),
    "inverse_one_plus_exp_is_sigmoid": (     # as written, exp(800) overflows (raises)
        1 / (1 + sp.exp(-z)), [z], mp_sigmoid, [(-800.0,), (2.0,)]),
    "root_of_squares_is_hypot": (         # Euclidean norms, the Charbonnier loss
        sp.sqrt(x**2 + 4 * y**2) + 1 / sp.sqrt(x**2 + sp.Rational(1, 10**12)), [x, y],
        lambda t, u: mpmath.sqrt(t**2 + 4 * u**2) + 1 / mpmath.sqrt(t**2 + mpf(10)**-12),
        [(F64(1e300), F64(1e300)), (F64(1e-300), F64(1e-300)), (F64(0.3), F64(-0.4))]),
    # --- logs ---
    "log_of_exp": (      # SymPy folds log(exp(z)) of a real z itself: built on the graph
        lambda low: graph_log(low, sp.exp(z)), [z], lambda t: t, [(800.0,)]),
    "log_of_sigmoid": (sp.log(Sigmoid(z)), [z], lambda t: mpmath.log(mp_sigmoid(t)), [(-800.0,)]),
    "log_of_row_softmax": (
        msum(softmax(Z).applyfunc(sp.log)), [Z], lambda zs: sum(t - mp_lse(*zs[0]) for t in zs[0]),
        [(np.array([[0.0, -800.0]]),)]),
    "log_of_cosh": (sp.log(sp.cosh(x)), [x], lambda t: mpmath.log(mpmath.cosh(t)), [(1000.0,)]),
    "log_of_expm1": (sp.log(expm1(x)), [x], lambda t: mpmath.log(mpmath.expm1(t)), [(800.0,)]),
    "log_of_one_minus_exp": (
        sp.log(-expm1(x)), [x], lambda t: mpmath.log(-mpmath.expm1(t)), [(-50.0,)]),
    "log_of_axis_sum_of_exps": (        # column sums: log of 1.T * exp(W)
        msum(column_sums_of_exp(W).applyfunc(sp.log)), [W],
        lambda ws: mp_lse(ws[0][0], ws[1][0]) + mp_lse(ws[0][1], ws[1][1]),
        [(np.array([[800.0, 0.0], [799.0, 1.0]]),)]),
    "log_of_erfc": (sp.log(sp.erfc(x)), [x], lambda t: mpmath.log(mpmath.erfc(t)), [(30.0,)]),
    "log_of_reciprocal": (sp.log(1 / x), [x], lambda t: -mpmath.log(t), [(1e-310,), (3.0,)]),
    "log_of_transpose": (       # log of a transposed softmax: SymPy keeps RowSoftmax(W).T
        msum(softmax(W).T.applyfunc(sp.log)), [W],
        lambda ws: sum(t - mp_lse(*row) for row in ws for t in row),
        [(np.array([[0.0, -800.0], [3.0, 2.0]]),)]),
    "log_of_positive_product": (
        sp.log(3 * Sigmoid(z)**2), [z], lambda t: mpmath.log(3 * mp_sigmoid(t)**2), [(-400.0,)]),
    "log_of_exp_pair_is_log_cosh": (
        sp.log(sp.exp(x) + sp.exp(-x)), [x], lambda t: mpmath.log(2 * mpmath.cosh(t)), [(800.0,)]),
    "log_of_exp_difference": (
        sp.log(sp.exp(z1) - sp.exp(z2)), [z1, z2],
        lambda a, b: mpmath.log(mpmath.exp(a) - mpmath.exp(b)), [(800.0, 799.0), (-800.0, -801.0)]),
    "log_of_sum_of_exps": (
        sp.log(sp.exp(z1) + sp.exp(z2)), [z1, z2], mp_lse, [(800.0, 799.0)]),
    "log_of_one_plus_exp": (
        sp.log(1 + sp.exp(z)), [z], lambda t: mpmath.log(1 + mpmath.exp(t)), [(800.0,)]),
    "log1p_of_sum": (sp.log(1 + x), [x], lambda t: mpmath.log(1 + t), [(1e-15,)]),
    "log1p_of_exp_or_sigmoid": (
        log1p(sp.exp(x)) + log1p(-sp.exp(-x**2)) + log1p(-Sigmoid(z)), [x, z],
        lambda t, u: mpmath.log1p(mpmath.exp(t)) + mpmath.log(-mpmath.expm1(-t**2))
        + mpmath.log1p(-mp_sigmoid(u)), [(800.0, 40.0), (1e-10, 0.5)]),
    "log1p_of_square": (        # the Cauchy loss log(1 + r^2), c r^2 read as (sqrt(c) r)^2
        log1p(4 * x**2), [x], lambda t: mpmath.log1p(4 * t**2),
        [(F64(1e300),), (F64(1e-300),), (F64(0.3),), (F64(2e100),)]),
    # --- sums ---
    "sigmoid_difference_is_tanh": (
        Sigmoid(z) - Sigmoid(-z), [z], lambda t: mp_sigmoid(t) - mp_sigmoid(-t), [(1e-20,)]),
    "sigmoid_difference_is_product": (
        Sigmoid(z1) - Sigmoid(z2), [z1, z2], lambda a, b: mp_sigmoid(a) - mp_sigmoid(b),
        [(61.0, 60.0)]),
    "one_minus_tanh_squared_is_sech2": (
        1 - sp.tanh(x)**2, [x], lambda t: 1 - mpmath.tanh(t)**2, [(30.0,)]),
    "softplus_difference_is_identity": (      # log sigmoid(z) - log sigmoid(-z), the log-odds
        Softplus(z) - Softplus(-z), [z], lambda t: t, [(1e-12,), (-3.0,)]),
    "softplus_minus_identity": (
        Softplus(z) - z, [z], lambda t: mpmath.log(1 + mpmath.exp(t)) - t, [(40.0,)]),
    "log_softmax_of_difference": (
        z1 - LogSumExp(z1, z2), [z1, z2], lambda a, b: a - mp_lse(a, b), [(1000.0, 960.0)]),
    "one_minus_sigmoid": (1 - Sigmoid(z), [z], lambda t: 1 - mp_sigmoid(t), [(40.0,)]),
    "exp_minus_one_is_expm1": (sp.exp(x) - 1, [x], lambda t: mpmath.exp(t) - 1, [(1e-15,)]),
    "power_minus_one_is_expm1": (
        x**p - 1, [x, p], lambda t, q: mpmath.expm1(q * mpmath.log(t)), [(3.0, 1e-20)]),
    "one_plus_erf_is_erfc": (1 + sp.erf(x), [x], lambda t: 1 + mpmath.erf(t), [(-6.0,)]),
    "erf_minus_one_is_erfc": (sp.erf(x) - 1, [x], lambda t: mpmath.erf(t) - 1, [(6.0,)]),
    "erfc_minus_one_is_erf": (1 - sp.erfc(x), [x], lambda t: 1 - mpmath.erfc(t), [(1e-10,)]),
    "two_minus_erfc_is_erfc": (      # SymPy writes erfc(-x) as 2 - erfc(x)
        sp.erfc(-x), [x], lambda t: mpmath.erfc(-t), [(-10.0,)]),
    # --- products ---
    "exp_times_sigmoid_is_sigmoid": (
        sp.exp(z) * Sigmoid(-z), [z], lambda t: mpmath.exp(t) * mp_sigmoid(-t), [(800.0,)]),
    "exp_times_sigmoid_power": (
        sp.exp(z) * Sigmoid(-z)**2, [z], lambda t: mpmath.exp(t) * mp_sigmoid(-t)**2, [(400.0,)]),
    "softmax_shift": (
        sp.exp(z1) / (sp.exp(z1) + sp.exp(z2)), [z1, z2],
        lambda a, b: mpmath.exp(a) / (mpmath.exp(a) + mpmath.exp(b)), [(800.0, 799.0)]),
    "exp_times_erfc_is_erfcx": (
        sp.exp(x**2) * sp.erfc(x) + sp.exp(-x**2) / sp.erfc(-x) / 7, [x],
        lambda t: mpmath.exp(t**2) * mpmath.erfc(t) + mpmath.exp(-t**2) / mpmath.erfc(-t) / 7,
        [(30.0,), (-0.5,)]),
    "sigmoid_odds_is_exp": (       # the log-odds: softplus(z) - softplus(-z) cancels near 0
        sp.log(Sigmoid(z) / Sigmoid(-z)), [z], lambda t: t, [(1e-20,), (30.0,)]),
    "expm1_over_a_factor_is_exprel": (
        expm1(p * sp.log(x)) / p, [x, p],
        lambda t, q: mpmath.expm1(q * mpmath.log(t)) / q if q else mpmath.log(t), [(3.0, 0.0)]),
    "exp_ratio_is_tanh": (
        (sp.exp(z) - sp.exp(-z)) / (sp.exp(z) + sp.exp(-z)), [z], mpmath.tanh, [(800.0,)]),
    "mask_is_where": (
        sp.exp(z) * sp.Piecewise((1, z < 700), (0, True)), [z],
        lambda t: mpmath.exp(t) if t < 700 else mpf(0), [(800.0,), (3.0,)]),
    "xlogy": (y * sp.log(y), [y], lambda t: t * mpmath.log(t) if t else mpf(0), [(0.0,), (0.5,)]),
    "xlog1py": ((1 - y) * log1p(-z), [y, z],     # a cross-entropy's (1 - t) log(1 - p) at t = p = 1
                lambda t, q: (1 - t) * mpmath.log(1 - q) if t != 1 else mpf(0), [(1.0, 1.0), (0.5, 0.25)]),
    # --- branches: np.where already discards the branch not taken, so the value as written
    # is right too; what the rewrite changes is the code (the test below checks that) ---
    "nested_where_same_condition": (     # SymPy folds it when written: built on the graph
        lambda low: nested_where(low), [z], lambda t: t if t > 0 else -t, [(800.0,), (-3.0,)]),
    # --- layout (stabilize only): a softmax under a transpose of the whole expression ---
    "transpose_to_the_leaves": (
        msum(sp.Transpose(row_softmax_by_hand(W)).applyfunc(sp.log)), [W],
        lambda ws: sum(t - mp_lse(*row) for row in ws for t in row),
        [(np.array([[1000.0, 999.0], [3.0, -800.0]]),)]),
}

# rewrites that expose a pattern to others: (the others, switched on in both runs)
COMPANIONS = {
    "log_of_transpose": ["log_of_row_softmax"],
    "sigmoid_odds_is_exp": ["log_of_exp", "log_of_positive_product", "log_of_sigmoid"],
    "transpose_to_the_leaves": ["softmax_shift", "log_of_exp", "log_softmax_of_difference"],
}

VALUE_RIGHT_AS_WRITTEN = {"nested_where_same_condition"}


def graph_log(low, expr):
    """log(expr) as a graph node, where SymPy would simplify the expression."""
    return low.graph.apply(sp.log, low(expr))


def nested_where(low):
    """where(z > 0, where(z > 0, z, log(-z)), -z) as graph nodes."""
    g, cond = low.graph, low(z > 0)
    inner = g.apply(sp.Piecewise, low(z), cond, low(sp.log(-z)), g.const(sp.true))
    return g.apply(sp.Piecewise, inner, cond, low(-z), g.const(sp.true))


# --- compiling one expression with chosen rewrites -----------------------------------

def lower(expr):
    """(Lowering, loss node) of a SymPy expression or of a builder ``expr(lowering)``."""
    lowering = Lowering()
    return lowering, expr(lowering) if callable(expr) else lowering(expr)


def compile_value(expr, inputs, exclude):
    """The generated ``value`` function of ``expr``, with the rewrites in ``exclude`` off,
    and the loss node it prints."""
    lowering, out = lower(expr)
    graph = lowering.graph
    out = stabilize(graph, out, exclude=exclude)
    (out,) = cleanup(graph, [out], exclude=exclude)
    leaves = {s: lowering.leaf(s) for s in inputs}
    names_ = sanitize_names(inputs)
    for s, leaf in leaves.items():
        names_[leaf.extra] = names_[s]
    program = Program(graph=graph, inputs=list(inputs), leaves=leaves, loss=out, grads=[], wrt=[],
                      per_sample=not any(isinstance(s, sp.MatrixSymbol) for s in inputs),
                      names=names_, title=str(expr))
    return compile_source(generate(program, exclude=names("speed")))["value"], out   # stable rewrites alone


def only(name, companions=()):
    """exclude= for a run with only ``name`` (and ``companions``) switched on (name None:
    every rewrite off but the companions)."""
    return [n for n in stable_names() if n != name and n not in companions]


def evaluate(fn, point):
    """fn(*point) as a float, or None when it raises a floating-point error."""
    try:
        with np.errstate(all="raise", under="ignore"):
            return float(np.asarray(fn(*point)).reshape(()))
    except FloatingPointError:
        return None


def reference(ref, point):
    with mpmath.workdps(DPS):
        args = [[[mpf(float(e)) for e in row] for row in v] if isinstance(v, np.ndarray) else mpf(v)
                for v in point]
        return ref(*args)


def close(got, ref):
    if got is None or not np.isfinite(got):
        return False
    err = abs(mpf(got) - ref)
    return err <= REL * abs(ref) or (abs(ref) < UNDERFLOW and err <= UNDERFLOW)


# --- the tests --------------------------------------------------------------------------

def stable_names():
    """The stable rewrites (the speed passes are tested in test_speed_rewrites.py)."""
    return [n for n in names() if n not in names("speed")]


def test_every_registered_rewrite_has_a_spec():
    assert sorted(SPECS) == sorted(stable_names())


def test_names_are_unique_and_every_rewrite_says_what_it_does():
    assert len(set(names())) == len(names())
    for rw in describe():
        assert "->" in rw.doc and ":" in rw.doc, "%s: docstring should say pattern -> form: why" % rw.name
        assert rw.phases and (set(rw.phases) <= {"stabilize", "cleanup"} or rw.phases == ("speed",))
    stabilize_only = {rw.name for rw in describe() if rw.phases == ("stabilize",)}
    assert stabilize_only == {"transpose_to_the_leaves",        # gradients keep their layout
                              "power_minus_one_is_expm1"}
    assert names("stabilize") == stable_names() and names("cleanup") == [
        n for n in stable_names() if n not in stabilize_only]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_rewrite_alone_is_accurate_where_the_code_without_it_fails(name):
    expr, inputs, ref, points = SPECS[name]
    companions = COMPANIONS.get(name, ())
    lowering, out = lower(expr)
    assert stabilize(lowering.graph, out, exclude=only(name, companions)) is not \
        stabilize(lowering.graph, out, exclude=only(None, companions)), "%s did not fire" % name
    with_it, _ = compile_value(expr, inputs, only(name, companions))
    without, _ = compile_value(expr, inputs, only(None, companions))
    naive_fails = False
    for point in points:
        want = reference(ref, point)
        got = evaluate(with_it, point)
        assert close(got, want), "%s at %s: %r, reference %s" % (name, point, got, mpmath.nstr(want, 20))
        naive_fails |= not close(evaluate(without, point), want)
    assert naive_fails or name in VALUE_RIGHT_AS_WRITTEN, \
        "%s: the code without it is as accurate at %s: pick a harder point" % (name, points)


def test_nested_where_drops_the_branch_never_taken():
    expr, inputs, _, _ = SPECS["nested_where_same_condition"]
    _, on = compile_value(expr, inputs, only("nested_where_same_condition"))
    _, off = compile_value(expr, inputs, names())
    assert any(n.op is sp.log for n in ancestors([off]))
    assert not any(n.op is sp.log for n in ancestors([on]))


def test_excluding_every_rewrite_leaves_the_loss_as_written():
    for name, (expr, _, _, _) in SPECS.items():
        lowering, out = lower(expr)
        assert stabilize(lowering.graph, out, exclude=names()) is out, name


def test_a_rewrite_switched_off_changes_the_full_run():
    expr = sp.log(1 + sp.exp(z))
    _, all_on = compile_value(expr, [z], ())
    _, via_log1p = compile_value(expr, [z], ["log_of_one_plus_exp"])
    _, no_softplus = compile_value(expr, [z], ["log_of_one_plus_exp", "log1p_of_exp_or_sigmoid"])
    assert all_on.op is Softplus
    assert via_log1p.op is Softplus                  # log1p(exp(z)), then softplus
    assert no_softplus.op.__name__ == "log1p"      # the next rewrite in line takes it


def test_unknown_names_are_refused_with_a_hint():
    lowering, out = lower(sp.log(1 + x))
    with pytest.raises(ArgumentError, match="no rewrite is named 'log_of_everything'.*names()"):
        stabilize(lowering.graph, out, exclude=["log_of_everything"])
    with pytest.raises(ArgumentError, match="list of names"):
        cleanup(lowering.graph, [out], exclude="log1p_of_sum")


def test_an_integer_power_keeps_its_form():
    # (-2)^n - 1 is real for an integer n; expm1(n log(-2)) would be NaN
    n = sp.Symbol("n", integer=True)
    lowering, out = lower(x**n - 1)
    assert stabilize(lowering.graph, out) is out
    fn, _ = compile_value(x**n - 1, [x, n], ())
    assert abs(evaluate(fn, (-2.0, 3.0)) + 9.0) <= 1e-12
