"""The stability catalogue (issue "Hardening", stability part): every naive loss form in
``catalogue_cases.py``, at its extreme points, through ``sg.value_and_grad``.

The loss value and every gradient entry must be finite and within 1e-10 relative (or
1e-300 absolute, where the true value underflows) of a 400-digit mpmath reference, with
no floating-point error raised (``np.errstate(all="raise", under="ignore")``, warnings as
errors). Plain ``sympy.lambdify`` of the same expression and of ``sympy.diff`` of it must
fail somewhere on the same points, so each form needs a rewrite (or a mask). A coverage
test maps PyTensor's stabilize rewrites to symgrad's.

``python tests/test_stability_catalogue.py`` prints the table: per form and point, the
naive value, symgrad's value and the reference, and the worst relative error of each
side's gradient.
"""

import warnings

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from catalogue_cases import CASES, LAYOUTS, MATRIX
from symgrad.ops.nodes import to_standard
from symgrad.rewrite import names

REL, UNDERFLOW, DPS = 1e-10, 1e-300, 400


# --- the reference: 400 digits, gradients by mpmath.diff -----------------------------------

def _mp(value):
    if isinstance(value, np.ndarray):
        return [[mp.mpf(float(v)) for v in row] for row in value]
    return mp.mpf(value)


def reference(case, point):
    """[value, gradient of each wrt] at ``point``; a matrix gradient is an object array."""
    with mp.workdps(DPS):
        values = [_mp(v) for v in point]
        out = [case.reference(*values)]
        for i, p in enumerate(point[:len(case.wrt)]):
            if isinstance(p, np.ndarray):
                grad = np.empty(p.shape, dtype=object)
                for r, c in np.ndindex(*p.shape):
                    def along(t, r=r, c=c):
                        moved = [list(row) for row in values[i]]
                        moved[r][c] = t
                        return case.reference(*values[:i], moved, *values[i + 1:])
                    grad[r, c] = mp.diff(along, values[i][r][c])
                out.append(grad)
            else:
                def along(t):
                    return case.reference(*values[:i], t, *values[i + 1:])
                out.append(mp.diff(along, values[i]))
        return out


# --- the two codes under test -----------------------------------------------------------------

def symgrad_values(case, point):
    f = sg.value_and_grad(case.expr, case.wrt, case.args)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            value, grads = f(*point)
    return [value, *grads]


def naive_values(case, point):
    """Plain lambdify of the expression and of sympy.diff of it (matrices written out)."""
    if any(isinstance(v, np.ndarray) for v in point):
        symbols, expr, numbers, wrt = _explicit(case, point)
    else:
        # NumPy scalars, as symgrad's code gets them: a Python float's ** raises OverflowError
        numbers = [np.float64(v) for v in point]
        symbols, expr, wrt = case.wrt + case.args, case.expr, case.wrt
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = sp.lambdify(symbols, expr, ["scipy", "numpy"])(*numbers)
        grads = []
        for entries, p in zip(wrt, point):
            got = [sp.lambdify(symbols, sp.diff(expr, e), ["scipy", "numpy"])(*numbers)
                   for e in np.ravel(entries)]
            grads.append(np.reshape(np.array(got, dtype=float), np.shape(p)))
    return [value, *grads]


def _explicit(case, point):
    """The loss written out over matrix entries: (entry symbols, scalar expression, their
    values, the entry symbols of each wrt as arrays)."""
    values = dict(zip(case.wrt + case.args, point))
    dims = {d: size for q, v in values.items() for d, size in zip(q.shape, v.shape)
            if isinstance(d, sp.Symbol)}
    entries = {q.subs(dims): sp.ImmutableMatrix(*v.shape, lambda i, j: sp.Symbol(
        "%s_%d_%d" % (q.name, i, j))) for q, v in values.items()}
    expr = case.expr.subs(dims).xreplace(entries)
    fills = (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)
    for _ in range(4):
        expr = expr.replace(lambda e: isinstance(e, fills), lambda e: sp.ImmutableMatrix(e.as_explicit()))
        expr = to_standard(expr).doit()
        expr = expr.replace(lambda e: isinstance(e, sp.HadamardProduct) and all(
            isinstance(a, sp.MatrixBase) for a in e.args), lambda e: sp.ImmutableMatrix(
            *e.shape, lambda i, j: sp.Mul(*[a[i, j] for a in e.args])))
    expr = sp.sympify(expr[0, 0] if getattr(expr, "is_Matrix", False) else expr)
    symbols = [e for q in entries for e in entries[q]]
    numbers = [float(t) for q in values for t in np.ravel(values[q])]
    wrt = [np.array(entries[q.subs(dims)].tolist(), dtype=object) for q in case.wrt]
    return symbols, expr, numbers, wrt


def relative_error(got, ref):
    """Worst error over the entries, relative (absolute where the reference is below 1e-300);
    inf when an entry is not finite."""
    worst = 0.0
    for g, r in zip(np.ravel(np.asarray(got, dtype=float)), np.ravel(np.asarray(ref, dtype=object))):
        if not np.isfinite(g):
            return float("inf")
        err = abs(mp.mpf(float(g)) - r)
        if abs(r) < UNDERFLOW:
            worst = max(worst, 0.0 if err <= UNDERFLOW else float(err / UNDERFLOW) * REL)
        else:
            worst = max(worst, float(err / abs(r)))
    return worst


# --- the tests ------------------------------------------------------------------------------

def test_the_catalogue_has_at_least_25_forms():
    assert len(CASES) >= 25 and len(MATRIX) >= 6


@pytest.mark.parametrize("name", sorted(CASES))
def test_symgrad_is_accurate_at_extreme_inputs(name):
    case = CASES[name]
    for point in case.points:
        got, want = symgrad_values(case, point), reference(case, point)
        labels = ["value"] + ["d/d%s" % s for s in case.wrt]
        for label, g, r in zip(labels, got, want):
            err = relative_error(g, r)
            assert err <= REL, "%s at %s: %s = %r, reference %s (error %.3g)" % (
                name, point, label, g, r if isinstance(r, np.ndarray) else mp.nstr(r, 20), err)


# forms whose naive code is right: the NaN was symgrad's own (reverse mode's 0 * inf from an
# unselected branch, before masking), while lambdify's np.select drops the branch not taken
NAIVE_RIGHT = {"ELU regression (elu(w z) - y)^2, alpha a parameter"}


@pytest.mark.parametrize("name", sorted(set(CASES) - NAIVE_RIGHT))
def test_plain_lambdify_fails_on_the_same_inputs(name):
    case = CASES[name]
    failures = 0
    for point in case.points:
        got, want = naive_values(case, point), reference(case, point)
        failures += sum(relative_error(g, r) > REL for g, r in zip(got, want))
    assert failures, "plain lambdify handled %s everywhere: the case does not test a rewrite" % name


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_the_layout_does_not_hide_a_softmax(name):
    """One softmax cross-entropy written through transposes, column sums and unevaluated
    Transpose nodes: every layout is as accurate as the plain one."""
    case = LAYOUTS[name]
    for point in case.points:
        got, want = symgrad_values(case, point), reference(case, point)
        for label, g, r in zip(["value", "d/dS"], got, want):
            assert relative_error(g, r) <= REL, "%s: %s = %r" % (name, label, g)


# PyTensor's stabilize rewrites (pytensor/tensor/rewriting/math.py and special.py) and the
# symgrad rewrites that cover each; the Bessel ones have no counterpart (no Bessel op here)
PYTENSOR = {
    "local_log1p": ["log1p_of_sum"],
    "local_log_div": ["log_of_reciprocal", "log_of_positive_product"],
    "local_log_erfc": ["log_of_erfc"],
    "local_grad_log_erfc_neg": ["exp_times_erfc_is_erfcx"],
    "local_one_plus_erf": ["one_plus_erf_is_erfc"],
    "local_one_minus_erf": ["erf_minus_one_is_erfc"],
    "local_erf_minus_one": ["erf_minus_one_is_erfc"],
    "local_one_minus_erfc": ["erfc_minus_one_is_erf"],
    "local_erf_neg_minus_one": ["erfc_minus_one_is_erf"],
    "local_exp_over_1_plus_exp": ["inverse_one_plus_exp_is_sigmoid", "exp_times_sigmoid_is_sigmoid"],
    "local_sigm_times_exp": ["exp_times_sigmoid_is_sigmoid"],
    "local_reciprocal_1_plus_exp": ["inverse_one_plus_exp_is_sigmoid"],
    "logsigm_to_softplus": ["log_of_sigmoid"],
    "log1msigm_to_softplus": ["one_minus_sigmoid", "log_of_sigmoid"],
    "log1p_neg_sigmoid": ["log1p_of_exp_or_sigmoid"],
    "local_1msigmoid": ["one_minus_sigmoid"],
    "local_log1p_plusminus_exp": ["log1p_of_exp_or_sigmoid"],
    "logmexpm1_to_log1mexp": ["log_of_one_minus_exp"],
    "logdiffexp_to_log1mexpdiff": ["log_of_exp_difference"],
    "local_odds_sigmoid": ["sigmoid_odds_is_exp"],
    "local_inv_odds_sigmoid": ["sigmoid_odds_is_exp"],
    "local_mul_switch_sink": ["mask_is_where"],
    "local_logsoftmax": ["log_of_row_softmax", "log_of_transpose"],
    "local_softmax_stabilize": ["softmax_shift"],
    "local_log_add_exp": ["log_of_sum_of_exps"],
    "local_log_sum_exp": ["log_of_axis_sum_of_exps"],
    "local_log_softmax_from_logsumexp": ["log_softmax_of_difference"],
}


def test_pytensor_stabilize_rewrites_are_covered():
    registered = set(names())
    missing = {p: r for p, rs in PYTENSOR.items() for r in rs if r not in registered}
    assert not missing, missing


# --- the table ----------------------------------------------------------------------------------

def _short(v):
    if isinstance(v, (mp.mpf, float, np.floating)) or np.ndim(v) == 0:
        return mp.nstr(mp.mpf(float(v)) if not isinstance(v, mp.mpf) else v, 10)
    return "matrix"


def table():
    """Markdown rows: form, point, naive value, symgrad value, reference, gradient errors."""
    rows = ["| form | point | naive value | symgrad value | reference (400 digits) | naive grad error "
            "| symgrad grad error |", "|---|---|---|---|---|---|---|"]
    for name in CASES:
        case = CASES[name]
        for point in case.points:
            want = reference(case, point)
            naive, mine = naive_values(case, point), symgrad_values(case, point)
            where = ", ".join("%s" % _short(v) if not isinstance(v, np.ndarray) else "%s~%g" % (
                q, np.max(np.abs(v))) for q, v in zip(case.wrt + case.args, point))
            errs = [max(relative_error(g, r) for g, r in zip(side[1:], want[1:])) for side in (naive, mine)]
            naive_value = naive[0] if np.ndim(naive[0]) == 0 else np.ravel(naive[0])[0]
            rows.append("| %s | %s | %s | %s | %s | %.2g | %.2g |" % (
                name, where, _short(naive_value), _short(mine[0]), mp.nstr(want[0], 12), *errs))
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
