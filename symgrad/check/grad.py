"""The three-way gradient check: symbolic, finite difference, generated code.

At each sample point ``check_grad`` compares

- the symbolic gradient, the derived graph run on Arb balls over whole arrays
  (``reference.py``, ``numeric.arrays``): certified to 50 digits, the precision rising
  until every ball has them, so cancellation such as 1 - sigma(1000) cannot pass for the value;
- central differences of the generated loss with Richardson steps, whose own error
  estimate sets how closely they must agree (steps and tolerances follow the dtype the code
  runs in: float64, float32, float16);
- the generated gradient, at every entry;
- where the expression is analytic (no Abs, Max, Piecewise, ...), the complex-step
  derivative Im f(w + ih)/h of the loss as written, exact to rounding because nothing is
  subtracted; skipped with a note where Re f(w + ih) is not the generated loss.

Differences and complex steps run entry by entry (``mode="full"``) or along random
directions v, comparing v . grad (``mode="directional"``), so a 784 x 128 weight is checked
whole; ``mode="auto"`` takes entries for parameters of at most MAX_FD_ENTRIES entries.
When a pair disagrees, ``blame.py`` names the node where the derivation goes wrong.

Points where the expression is not differentiable (a zero under Abs or sign, a Max/Min tie,
a Piecewise boundary in the parameters) are drawn again, or listed when the caller fixed them;
samples of per-sample data on a kink are left out, the others compared (``points.py``).
A condition on data alone (Eq(y, 0)) is no kink: data is drawn on both of its sides.
A difference or complex step whose own error estimate is too large, and a point where the
generated code overflows (the exact values in range), are "not comparable", never a
mismatch; blame runs only where reliable pairs disagree. A report is OK only when it
compared something.
"""

import math
import weakref

import numpy as np
import sympy as sp

from ..errors import ArgumentError, SymgradError, whole_number
from ..numeric.arrays import Deadline
from ..numeric.differences import for_dtype
from ..numeric.dims import sizes
from ..numeric.indices import has_indices
from ..ops import is_analytic
from ..pipeline.function import GradFunction, reuse, value_and_grad
from ..pipeline.index_function import IndexGradFunction
from .blame import blame
from .probes import along, complex_step, unit
from .hessian import check_hessian
from .index import check_index_grad
from .points import admissible, scale_of
from .reference import Reference
from .report import MAX_FD_ENTRIES, NEAR_KINK, GradCheckReport, Row, tolerances
from .sampler import Sampler, float64_notes, given_arrays, random_dims

__all__ = ["check_grad", "GradCheckReport"]

MAX_INPUT_ENTRIES = 1 << 22  # every input entry together (4 million: 32 MB of float64)
MAX_CHECK_ENTRIES = 2500     # mode="full": entries of one matrix with numeric dimensions (50 x 50)
DIRECTIONS = 2               # random directions per parameter in directional checks
BITS = 170                   # the reference's certified bits (50 digits)
LARGE_BITS = 64              # ... when the inputs hold more than LARGE entries (19 digits)
LARGE = 20000
MODES = ("auto", "full", "directional")


def check_grad(expr: "sp.Expr | GradFunction",
               wrt: "sp.Symbol | sp.MatrixSymbol | list | None" = None,
               args: "sp.Symbol | sp.MatrixSymbol | list" = (), values: "dict | None" = None,
               seed: int = 0, *, points: "int | None" = None, order: int = 1, mode: str = "auto",
               dtype: "type | str" = np.float64,
               budget: "float | None" = None) -> GradCheckReport:
    """Compare symbolic, finite-difference and generated gradients of ``expr``.

    ``values`` maps symbols to numbers (or arrays); the others are drawn at
    random inside the domain (positive under log and sqrt), at ``points`` points (3; 1 for
    a model with more than 20000 input entries). Returns a
    GradCheckReport: ``report.ok`` is the verdict and ``str(report)`` a table.
    ``mode``: "full" (differences entry by entry), "directional" (along random
    directions) or "auto". ``dtype`` runs the generated code in float32 or float16 with
    steps and tolerances for it. ``budget`` (seconds) bounds the check: BudgetExceeded
    past it. ``order=2`` checks the Hessian instead. ``expr`` may be a GradFunction
    from ``value_and_grad`` (leave ``wrt`` and ``args`` out): its code is reused.

    >>> import sympy as sp
    >>> w, x = sp.symbols("w x")
    >>> check_grad(sp.log(1 + sp.exp(w*x)), [w], [x]).ok
    True
    """
    seed = whole_number("check_grad seed", seed)
    points = None if points is None else whole_number("check_grad points", points, 1)
    if _with_indices(expr, wrt, args):
        if order != 1:
            raise ArgumentError("check_grad order=2 is not available for losses written with "
                                "indices; check first order, or write the loss with matrices")
        items = lambda v: list(v) if isinstance(v, (list, tuple)) else [v]   # noqa: E731
        return check_index_grad(expr, items(wrt), items(args), values, seed,
                                3 if points is None else points)
    f, expr, wrt, args = reuse(expr, wrt, args)
    if order == 2:
        return check_hessian(expr, wrt, args, values, seed, 3 if points is None else points)
    if order != 1:
        raise SymgradError("check_grad order must be 1 or 2, got %r" % (order,))
    if mode not in MODES:
        raise ArgumentError("check_grad mode must be one of %s, got %r" % (", ".join(MODES), mode))
    dtype = _float_type(dtype)
    deadline = Deadline(_budget(budget))
    _not_too_large(wrt + args)
    if mode == "full":
        _small_enough(wrt + args)
    f = f or value_and_grad(expr, wrt, args)
    deadline.check("deriving and compiling")
    return _Check(f, expr, wrt, args, seed, mode, dtype, deadline).run(values, points)


def _float_type(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f" or dt.itemsize > 8:
        raise ArgumentError("check_grad dtype must be float64, float32 or float16, got %r" % (dtype,))
    return dt.type


def _budget(budget):
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0:
        raise ArgumentError("check_grad budget must be a positive number of seconds, got %r"
                            % (budget,))
    return float(budget)


def _with_indices(expr, wrt, args):
    """Whether the loss is written with indices (an IndexedBase among its inputs or reads)."""
    if isinstance(expr, IndexGradFunction):
        raise ArgumentError("check_grad needs the expression of a loss written with indices: "
                            "pass it with wrt and args (check_grad(L, wrt=[w], args=[x]))")
    items = [*(wrt if isinstance(wrt, (list, tuple)) else [wrt] if wrt is not None else []),
             *(args if isinstance(args, (list, tuple)) else [args])]
    return any(isinstance(s, sp.IndexedBase) for s in items) or (
        isinstance(expr, sp.Basic) and has_indices(expr))


def _not_too_large(inputs):
    """Refuse, before any work, inputs whose numeric dimensions hold more entries than a check
    can draw and hold as balls (a 10**9 x 10**9 matrix is 8 EB)."""
    shapes = [(s, sizes(s, {})) for s in inputs if isinstance(s, sp.MatrixSymbol)]
    shapes = [(s, shape) for s, shape in shapes if shape]
    total = sum(int(r) * int(c) for _, (r, c) in shapes)
    if total > MAX_INPUT_ENTRIES:
        s, (r, c) = max(shapes, key=lambda item: int(item[1][0]) * int(item[1][1]))
        raise SymgradError("check_grad draws every input entry, and %s is %s x %s (%d entries in "
                           "all, more than %d); check at smaller or symbolic dimensions (the "
                           "gradient is the same expression)" % (s, r, c, total, MAX_INPUT_ENTRIES))


def _small_enough(inputs):
    """mode="full" differentiates every entry: refuse matrices too large for that."""
    for s in inputs:
        shape = sizes(s, {}) if isinstance(s, sp.MatrixSymbol) else None
        if shape and shape[0] * shape[1] > MAX_CHECK_ENTRIES:
            raise SymgradError(
                "check_grad mode=\"full\" differentiates %s entry by entry, and its %s x %s = %d "
                "entries are more than %d; use mode=\"directional\" (or \"auto\"), or check at "
                "small or symbolic dimensions" % (s, shape[0], shape[1], shape[0] * shape[1],
                                                  MAX_CHECK_ENTRIES))


class _Check:
    """One check_grad run: the reference, the sampler and the rows it fills."""

    def __init__(self, f, expr, wrt, args, seed, mode, dtype, deadline):
        self.f, self.expr, self.wrt, self.args = f, expr, wrt, args
        self.inputs = wrt + args
        self.seed, self.mode, self.dtype, self.deadline = seed, mode, dtype, deadline
        self.tol = tolerances(dtype)
        self.steps = for_dtype(dtype)
        self.ref = _reference(f, expr, wrt, args)
        self.complex_step = _complex_version(expr, f) if dtype is np.float64 else None
        self.rows = [Row(str(w)) for w in wrt]
        self.kinks, self.notes, self.outcomes = [], [], {}
        self.failed = None           # the first point where a pair disagreed (for blame)
        self.rng = np.random.default_rng(seed + 11)

    def run(self, values, points):
        given, dims, notes = given_arrays(values or {}, self.inputs, self.f.per_sample)
        self.notes = float64_notes(self.expr) + notes
        self.dims = random_dims(self.inputs, dims, self.seed)
        self.given = given
        entries = sum(int(np.prod(sizes(s, self.dims))) if isinstance(s, sp.MatrixSymbol) else 1
                      for s in self.inputs)
        self.bits = BITS if entries <= LARGE else LARGE_BITS
        sampler = Sampler(self.expr, self.seed)
        data = set(self.args) if self.f.per_sample else set()
        pinned = all(s in given for s in self.inputs)
        if points is None and self.bits == LARGE_BITS and not pinned:
            points = 1
            self.notes.append("a large model: checked at 1 point (pass points= for more)")
        count = 1 if pinned else (3 if points is None else points)
        boundary = {s: v for s, v in self.ref.boundary_values().items() if s not in given}
        for k in range(count):
            self._compare(admissible(self, sampler, data, pinned, boundary, k), k)
        return self._report(count, pinned)

    def _compare(self, p, k):
        point, ev = p.values, p.ev
        on_kink, near_kink = ev.kinks(NEAR_KINK)
        if p.dropped:
            self.kinks.append("point %d: sample%s %s on a kink (not differentiable there; left "
                              "out, the other samples compared)" % (
                                  k + 1, "s" if len(p.dropped) > 1 else "", list(p.dropped)))
        if on_kink:
            self.kinks.append("point %d: on %s (not differentiable there; not compared)"
                              % (k + 1, sorted(set(on_kink))[0]))
            return
        if p.overflow:
            self.notes.append("point %d: not comparable (the generated %s code overflows there: "
                              "an intermediate value is beyond its range although the exact loss "
                              "and gradient are not)" % (k + 1, self.dtype.__name__))
            return
        if p.underflow:
            self.notes.append("point %d: every gradient entry is below float64's normal range "
                              "and no draw was better: compared as the floats hold them, which "
                              "tests little" % (k + 1))
        for text, seen in ev.outcomes().items():
            self.outcomes.setdefault(text, set()).update(seen)
        if ev.uncertified:
            self.notes.append("%s has no ball evaluator: the reference runs it in mpmath "
                              "(not certified)" % ", ".join(ev.uncertified))
        arrays, loss, generated = [self.cast(point[s]) for s in self.inputs], p.loss, p.generated
        if self.f.backend == "numpy":        # validated once: differences call the raw code
            arrays = self.f.prepare(arrays)[0]
        if not (np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in generated)):
            self.notes.append("point %d: the generated %s code gives inf or NaN where the exact "
                              "values are finite" % (k + 1, self.dtype.__name__))
        scale = scale_of(loss, generated)
        floor = self.tol.floor * scale
        joint = self.mode == "auto" and len(self.wrt) > MAX_FD_ENTRIES
        exacts = [ev.gradient(i, np.shape(g)) for i, g in enumerate(generated)]
        for i, (w, row) in enumerate(zip(self.wrt, self.rows)):
            exact = exacts[i]
            size = np.maximum(np.abs(exact), floor)
            row.record_many("symbolic~generated", generated[i], exact, self.tol.generated * size)
            if near_kink or joint:
                continue
            self.deadline.check("finite differences")
            if self._directional(generated[i]):
                self._directions(i, arrays, exact, generated[i], float(loss), scale, k)
            else:
                self._entries(i, arrays, exact, generated[i], float(loss), floor, k)
        if joint and not near_kink:
            self._joint(arrays, exacts, generated, float(loss), scale, k)
        if near_kink:
            self.notes.append("point %d is within %.0e of a kink: finite differences skipped there"
                              % (k + 1, NEAR_KINK))
        if self.failed is None and not all(r.ok for r in self.rows):
            self.failed = point

    def cast(self, v):
        if isinstance(v, np.ndarray):
            return v.astype(self.dtype)
        return self.dtype(v) if self.dtype is not np.float64 else v

    def _directional(self, g):
        """Directions for a parameter of more than MAX_FD_ENTRIES entries, or for every
        parameter of a large model (more than LARGE input entries), in mode "auto"."""
        return self.mode == "directional" or (self.mode == "auto" and (
            np.size(g) > MAX_FD_ENTRIES or self.bits == LARGE_BITS))

    def _entries(self, i, arrays, exact, gen, loss, floor, k):
        row, position = self.rows[i], self.inputs.index(self.wrt[i])
        entries = list(np.ndindex(*np.shape(gen))) or [()]
        row.how = row.how or "%d entr%s: generated vs reference, fd%s at each" % (
            len(entries), "y" if len(entries) == 1 else "ies",
            " and complex step" if self.complex_step is not None else "")
        for idx in entries:
            self.deadline.check("finite differences")
            s_val = float(exact[idx])
            self._probe([row], arrays, unit(arrays, position, idx), loss, s_val, float(gen[idx]),
                        max(abs(s_val), floor), k, ", %s%s" % (self.wrt[i], list(idx) or ""))

    def _directions(self, i, arrays, exact, gen, loss, scale, k):
        row, position = self.rows[i], self.inputs.index(self.wrt[i])
        row.how = ("%d entries: generated vs reference at every entry; fd%s along %d random "
                   "directions v (v . grad) per point" % (
                       np.size(gen), " and complex step" if self.complex_step is not None else "",
                       DIRECTIONS))
        for _ in range(DIRECTIONS):
            self.deadline.check("directional differences")
            v = self.rng.standard_normal(np.shape(gen))
            v /= np.max(np.abs(v))
            s_dot = math.fsum((v * exact).ravel())
            g_dot = math.fsum((v * gen).ravel())
            size = max(abs(s_dot), self.tol.floor * (scale + math.fsum(np.abs(v * exact).ravel())))
            self._probe([row], arrays, {position: v}, loss, s_dot, g_dot, size, k,
                        ", %s along a random direction" % self.wrt[i])

    def _joint(self, arrays, exacts, generated, loss, scale, k):
        """Many parameters (mode "auto"): fd and complex step along random directions over all
        of them together, recorded in every row (a disagreement fails every row; blame
        then names the node)."""
        positions = [self.inputs.index(w) for w in self.wrt]
        for row in self.rows:
            row.how = ("generated vs reference at every entry; fd%s along %d random directions "
                       "over all %d parameters together (v . grad) per point"
                       % (" and complex step" if self.complex_step is not None else "",
                          DIRECTIONS, len(self.wrt)))
        for _ in range(DIRECTIONS):
            self.deadline.check("directional differences")
            vs = [self.rng.standard_normal(np.shape(g)) for g in generated]
            top = max(float(np.max(np.abs(v))) if np.size(v) else 0.0 for v in vs) or 1.0
            vs = [v / top for v in vs]
            s_dot = math.fsum(float(x) for v, e in zip(vs, exacts) for x in np.ravel(v * e))
            g_dot = math.fsum(float(x) for v, g in zip(vs, generated) for x in np.ravel(v * g))
            spread = math.fsum(float(x) for v, e in zip(vs, exacts) for x in np.ravel(np.abs(v * e)))
            size = max(abs(s_dot), self.tol.floor * (scale + spread))
            self._probe(self.rows, arrays, dict(zip(positions, vs)), loss, s_dot, g_dot, size, k,
                        " along a random direction of all parameters")

    def _probe(self, rows, arrays, moves, loss, exact, gen, size, k, where):
        """fd and complex step along ``moves``, against ``exact`` (the reference's derivative
        along them) and ``gen`` (the generated code's), recorded in ``rows``: each only where
        its own error estimate says it means something; else a note says why not."""
        fd, est = along(self.f, arrays, moves, self.steps)
        if est <= self.tol.unreliable * size:         # not NaN: no step overflowed
            tol_fd = 10 * est + self.tol.fd * size
            for row in rows:
                row.record("symbolic~fd", fd, exact, tol_fd)
                row.record("fd~generated", gen, fd, tol_fd)
        else:
            self._note("point %d%s: finite differences unreliable (error estimate %.1e: a jump or "
                       "kink nearby, a step beyond the float range, or steps too long for how "
                       "fast the loss changes); not compared" % (k + 1, where, est))
        if self.complex_step is None:
            return
        found = complex_step(self.complex_step, arrays, moves, loss)
        if found is None:
            self._note("point %d: the complex step's loss differs from the generated loss "
                       "(cancellation in the form as written); not compared" % (k + 1))
        elif found[1] <= self.tol.generated * min(size, found[2]):   # the steps agree
            for row in rows:
                row.record("symbolic~complex", found[0], exact, self.tol.generated * size)
        else:
            self._note("point %d%s: the complex step is unreliable (a step 2^40 times longer "
                       "gives a derivative %.1e away: an imaginary part that is not the step's); "
                       "not compared" % (k + 1, where, found[1]))

    def _note(self, text):
        if text not in self.notes:
            self.notes.append(text)

    def _report(self, count, pinned):
        compared = any(r.compared for r in self.rows)
        vacuous = not compared and pinned and bool(self.kinks)
        ok = all(r.ok for r in self.rows) and compared
        if not compared and not vacuous:
            self.notes.append("nothing was compared (every point on a kink or not comparable); "
                              "not OK")
        for text, seen in sorted(self.outcomes.items()):
            missing = {True, False} - seen
            if missing:
                self.notes.append("the data condition %s was never %s at the compared points: "
                                  "that branch is untested" % (text, str(missing.pop()).lower()))
            else:
                self.notes.append("the data condition %s was compared on both sides" % text)
        # blame only a real disagreement: every pair recorded was reliable by its estimate
        blamed = blame(self) if self.failed is not None else []
        return GradCheckReport(ok, self.rows, count, self.kinks, self.notes, blame=blamed,
                               reference="symbolic (Arb balls, certified to %d digits)"
                               % int(self.bits * 0.30103),
                               dtype=self.dtype.__name__, vacuous=vacuous)


_REFERENCES = weakref.WeakKeyDictionary()    # GradFunction -> its Reference (derived once)


def _reference(f, expr, wrt, args):
    """The reference derivation of ``f``, made once per GradFunction: from its symbolic
    gradients when something already derived them (the command line prints them), else by
    reverse mode on the graph (linear in the loss's size, where the gradients written out in
    SymPy may not be: tanh nested 60 deep)."""
    ref = _REFERENCES.get(f)
    if ref is None:
        ref = _REFERENCES[f] = Reference(expr, wrt, args, f.__dict__.get("symbolic_grads"))
    return ref


def _complex_version(expr, f):
    """The loss compiled without stable rewrites, for complex steps; None if not analytic."""
    if not is_analytic(expr) or expr.atoms(sp.core.relational.Relational):
        return None
    return f.as_written
