"""The three-way gradient check: symbolic, finite difference, generated code.

At each sample point ``check_grad`` compares

- the symbolic gradient (``grad``) evaluated exactly at dyadic rational points,
  to 50 significant digits (the working precision doubles until two evaluations
  agree, so cancellation such as 1 - sigma(1000) cannot pass for the value);
- central differences of the generated loss with one Richardson step, whose own
  error estimate sets how closely they must agree;
- the generated NumPy gradient;
- where the expression is analytic (no Abs, Max, Piecewise, ...), the
  complex-step derivative Im f(w + ih)/h of the loss as written, exact to
  rounding because nothing is subtracted; skipped with a note where Re f(w + ih)
  is not the generated loss (the form as written cancels there).

``order=2`` checks second derivatives the same way (see ``hessian.py``).

Points where the expression is not differentiable (a zero under Abs or sign, a
Max/Min tie, a Piecewise boundary) are listed in the report and not compared.
"""

import numpy as np
import sympy as sp

from ..errors import ArgumentError, SymgradError
from ..numeric.indices import has_indices
from ..pipeline.index_function import IndexGradFunction
from ..numeric.differences import richardson
from ..numeric.dims import sizes
from ..numeric.kinks import kinks_at
from ..ops import is_analytic
from ..pipeline.function import GradFunction, reuse, value_and_grad
from .hessian import check_hessian
from .index import check_index_grad
from .report import (MAX_FD_ENTRIES, NEAR_KINK, RTOL_FD, RTOL_GENERATED, UNRELIABLE_FD,
                     GradCheckReport, Row)
from .sampler import (Sampler, admissible_point, float64_notes, given_values, numeric,
                      random_dims, sample_mean, split_samples)

__all__ = ["check_grad", "GradCheckReport"]

MAX_CHECK_ENTRIES = 2500     # entries of one matrix with numeric dimensions (50 x 50)

def check_grad(expr: "sp.Expr | GradFunction",
               wrt: "sp.Symbol | sp.MatrixSymbol | list | None" = None,
               args: "sp.Symbol | sp.MatrixSymbol | list" = (), values: "dict | None" = None,
               seed: int = 0, *, points: int = 3, order: int = 1) -> GradCheckReport:
    """Compare symbolic, finite-difference and generated gradients of ``expr``.

    ``values`` maps symbols to numbers (or arrays); the others are drawn at
    random inside the domain (positive under log and sqrt). Returns a
    GradCheckReport: ``report.ok`` is the verdict and ``str(report)`` a table.
    ``order=2`` checks the Hessian instead (Hessian-vector products for
    matrix parameters). ``expr`` may be a GradFunction from ``value_and_grad``
    (then leave ``wrt`` and ``args`` out): its derivation and code are reused.

    >>> import sympy as sp
    >>> w, x = sp.symbols("w x")
    >>> check_grad(sp.log(1 + sp.exp(w*x)), [w], [x]).ok
    True
    """
    if _with_indices(expr, wrt, args):
        if order != 1:
            raise ArgumentError("check_grad order=2 is not available for losses written with "
                                "indices; check first order, or write the loss with matrices")
        items = lambda v: list(v) if isinstance(v, (list, tuple)) else [v]   # noqa: E731
        return check_index_grad(expr, items(wrt), items(args), values, seed, points)
    f, expr, wrt, args = reuse(expr, wrt, args)
    if order == 2:
        return check_hessian(expr, wrt, args, values, seed, points)
    if order != 1:
        raise SymgradError("check_grad order must be 1 or 2, got %r" % (order,))
    _small_enough(wrt + args)
    f = f or value_and_grad(expr, wrt, args)
    complex_step = _complex_version(expr, f)
    symbolic = f.symbolic_grads
    inputs = wrt + args
    given, dims, notes = given_values(values or {}, inputs, f.per_sample)
    notes = float64_notes(expr) + notes
    dims = random_dims(inputs, dims, seed)
    sampler = Sampler(expr, seed)
    data = set(args) if f.per_sample else set()
    rows = [Row(str(w)) for w in wrt]
    kinks = []
    count = 1 if all(s in given for s in inputs) else points
    for k in range(count):
        point, values = admissible_point(sampler, inputs, data, given, dims, expr, symbolic)
        _compare(f, complex_step, expr, values, inputs, wrt, point, dims, rows, kinks, k, notes)
    ok = all(r.ok for r in rows)
    return GradCheckReport(ok, rows, count, kinks, notes)


def _with_indices(expr, wrt, args):
    """Whether the loss is written with indices (an IndexedBase among its inputs or reads)."""
    if isinstance(expr, IndexGradFunction):
        raise ArgumentError("check_grad needs the expression of a loss written with indices: "
                            "pass it with wrt and args (check_grad(L, wrt=[w], args=[x]))")
    items = [*(wrt if isinstance(wrt, (list, tuple)) else [wrt] if wrt is not None else []),
             *(args if isinstance(args, (list, tuple)) else [args])]
    return any(isinstance(s, sp.IndexedBase) for s in items) or (
        isinstance(expr, sp.Basic) and has_indices(expr))


def _small_enough(inputs):
    """check_grad evaluates every entry exactly: refuse matrices too large for that."""
    for s in inputs:
        shape = sizes(s, {}) if isinstance(s, sp.MatrixSymbol) else None
        if shape and shape[0] * shape[1] > MAX_CHECK_ENTRIES:
            raise SymgradError(
                "check_grad evaluates %s exactly, and its %s x %s = %d entries are more than %d; "
                "check at small or symbolic dimensions (the gradient's formula does not depend "
                "on them)" % (s, shape[0], shape[1], shape[0] * shape[1], MAX_CHECK_ENTRIES))


def _compare(f, complex_step, expr, exact_values, inputs, wrt, point, dims, rows, kinks, k, notes):
    on_kink, near_kink = _kinks_near(expr, [{**s, **dims} for s in split_samples(point)])
    if on_kink:
        kinks.append("point %d: on %s (not differentiable there; not compared)"
                     % (k + 1, sorted(set(on_kink))[0]))
        return
    exact_grads = [sample_mean([sample[i] for sample in exact_values]) for i in range(len(wrt))]
    arrays = [numeric(point[s]) for s in inputs]
    with np.errstate(all="ignore"):
        loss, generated = f(*arrays)
    if not (np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in generated)):
        notes.append("point %d: the generated float64 code gives inf or NaN (overflow?) where the "
                     "exact values are finite" % (k + 1))
    scale = 1 + abs(float(loss)) + max((float(np.max(np.abs(g))) if np.size(g) else 0.0)
                                       for g in generated)
    floor = 1e-6 * scale     # an entry this small is compared in absolute terms
    complex_skipped = False
    for i, (w, row) in enumerate(zip(wrt, rows)):
        ex = np.array(exact_grads[i].tolist(), dtype=object) if isinstance(exact_grads[i], sp.MatrixBase) \
            else np.array(exact_grads[i], dtype=object)
        gen = np.asarray(generated[i], dtype=float)
        entries = list(np.ndindex(*np.shape(gen))) or [()]
        if len(entries) > MAX_FD_ENTRIES:
            rng = np.random.default_rng(k)
            picked = rng.choice(len(entries), MAX_FD_ENTRIES, replace=False)
            entries = [entries[j] for j in sorted(picked)]
            notes.append("%s: finite differences on %d of %d entries" % (w, MAX_FD_ENTRIES, gen.size))
        for idx in entries:
            s_val, g_val = sp.Float(ex[idx], 50), float(gen[idx])
            size = max(abs(float(s_val)), floor)
            row.record("symbolic~generated", sp.Float(g_val, 50), s_val, RTOL_GENERATED * size)
            if near_kink:
                continue
            fd, est = _richardson(f, arrays, inputs.index(w), idx)
            if est > UNRELIABLE_FD * size:
                notes.append("point %d, %s%s: finite differences unreliable (error estimate %.1e, "
                             "a jump or kink nearby?); not compared" % (k + 1, w, list(idx) or "", est))
                continue
            tol_fd = 10 * est + RTOL_FD * size
            row.record("symbolic~fd", sp.Float(fd, 50), s_val, tol_fd)
            row.record("fd~generated", sp.Float(g_val, 50), sp.Float(fd, 50), tol_fd)
            step = _complex_step(complex_step, arrays, inputs.index(w), idx, float(loss))
            if step is None and complex_step is not None and not complex_skipped:
                complex_skipped = True
                notes.append("point %d: the complex step's loss differs from the generated "
                             "loss (cancellation in the form as written); not compared" % (k + 1))
            elif step is not None:
                row.record("symbolic~complex", sp.Float(step, 50), s_val, RTOL_GENERATED * size)
    if near_kink:
        notes.append("point %d is within %.0e of a kink: finite differences skipped there"
                     % (k + 1, NEAR_KINK))


def _kinks_near(expr, points):
    """(descriptions of the kinks the points lie on, whether one lies within NEAR_KINK)."""
    on_kink, near_kink = [], False
    for subs in points:
        for desc, u in kinks_at(expr, subs):
            if u == 0:
                on_kink.append(desc)
            elif abs(u) < NEAR_KINK:
                near_kink = True
    return on_kink, near_kink


def _complex_version(expr, f):
    """The loss compiled without stable rewrites, for complex steps; None if not analytic."""
    if not is_analytic(expr) or expr.atoms(sp.core.relational.Relational):
        return None
    return f.as_written


def _complex_step(f, arrays, position, idx, loss):
    """Im f(w + ih)/h: a derivative with no subtraction, so no cancellation.

    Only as accurate as the real parts along the way: None when Re f(w + ih),
    computed by the form as written, is not the generated (stable) ``loss``.
    """
    if f is None:
        return None
    base = np.asarray(arrays[position], dtype=complex)
    h = 1e-30 * max(1.0, abs(float(base[idx].real)))
    moved = list(arrays)
    a = base.copy()
    a[idx] += 1j * h
    moved[position] = a
    try:
        with np.errstate(all="ignore"):
            value = f(*moved)
    except (TypeError, ValueError):
        return None
    derivative = float(np.imag(value)) / h
    real = float(np.real(value))
    if not (np.isfinite(derivative) and abs(real - loss) <= 1e-8 * abs(loss)):
        return None
    return derivative


def _richardson(f, arrays, position, idx):
    """Central difference with Richardson steps of the generated loss along one entry, and
    an estimate of its error (``numeric.differences``)."""
    base = arrays[position]
    x0 = float(base[idx]) if idx else float(base)

    def at(t):
        moved = list(arrays)
        if idx:
            a = np.array(base, dtype=float)
            a[idx] = x0 + t
            moved[position] = a
        else:
            moved[position] = x0 + t
        with np.errstate(all="ignore"):       # overflow shows in the report, not as warnings
            return float(f.value(*moved))

    return richardson(at, abs(x0))
