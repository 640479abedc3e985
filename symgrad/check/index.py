"""check_grad for losses written with indices (Sum over x[i, j]; IndexedBase wrt and args).

At each point the sizes (n, d, ...) are drawn (2 or 3, or read off given arrays), every
array is drawn long enough for every read (dyadic entries, exact in float64; positive
where a read sits under log or sqrt), and for each entry of each gradient three values
are compared: the symbolic gradient ``grad(L, w[t])`` with its free indices at that entry,
written out at these sizes and evaluated in certified balls (``numeric.enclose``); the
generated code (``value_and_grad``, an IndexGradFunction); and Richardson differences of
the generated loss. Points on a kink of the written-out loss are listed, not compared.
"""

from __future__ import annotations

import random

import numpy as np
import sympy as sp

from ..derive.reverse import grad
from ..errors import ArgumentError, ShapeMismatch
from ..numeric.differences import richardson
from ..numeric.reference import evaluate_at
from ..numeric.indices import array_shapes, index_symbols, written_out
from ..numeric.kinks import positive_symbols
from ..numeric.sampling import DENOMINATOR, dyadic
from ..ops import kinks_in, lookup
from ..pipeline.function import value_and_grad
from .report import NEAR_KINK, RTOL_FD, RTOL_GENERATED, UNRELIABLE_FD, GradCheckReport, Row

__all__ = ["check_index_grad"]

SIZES = (2, 3)
MAX_ENTRIES = 24              # gradient entries compared per parameter and point


def _positive(expr):
    """Symbols and IndexedBases whose values must be positive (under log, sqrt, ...)."""
    out = set(positive_symbols(expr))
    for node in sp.preorder_traversal(expr):
        op = lookup(type(node))
        if op is None:
            continue
        found = [node.args[i] for i in op.positive if i < len(node.args)]
        found += list(op.domain(node)) if op.domain is not None else []
        out |= {c.base for c in found if isinstance(c, sp.Indexed)}
    return out


def _sizes(f, given, size_symbols, rng):
    """Sizes read off the given arrays (as the generated code reads them), the rest drawn."""
    sizes = {}
    for D, (base, axis, off) in f.program.dims.items():
        if base in given and isinstance(given[base], sp.NDimArray):
            sizes[D] = sp.Integer(given[base].shape[axis]) - sp.sympify(off).xreplace(sizes)
    for s in size_symbols:                  # a size passed in args: its value, or drawn
        sizes.setdefault(s, given[s] if s in given else sp.Integer(rng.choice(SIZES)))
    return sizes


def _draw(rng, shape, positive):
    low = DENOMINATOR // 8 if positive else -DENOMINATOR
    count = int(np.prod(shape)) if shape else 1
    return [dyadic(rng, low, DENOMINATOR) for _ in range(count)]


def _given(values, inputs):
    out = {}
    for s, v in (values or {}).items():
        if s not in inputs:
            raise ArgumentError("values names %s, which is in neither wrt nor args" % s)
        a = np.asarray(v, dtype=float)
        if not np.all(np.isfinite(a)):
            raise ArgumentError("values[%s] holds NaN or inf; check_grad needs finite points" % s)
        if isinstance(s, sp.IndexedBase):
            out[s] = sp.ImmutableDenseNDimArray([sp.Rational(float(t)) for t in a.ravel()], a.shape)
        else:
            out[s] = sp.Rational(float(a))
    return out


def _point(expr, inputs, given, f, size_symbols, positive, rng):
    sizes = _sizes(f, given, size_symbols, rng)
    shapes = array_shapes([expr], sizes)
    point = dict(sizes)
    for s in inputs:
        if s in given:
            point[s] = given[s]
        elif isinstance(s, sp.IndexedBase):
            point[s] = sp.ImmutableDenseNDimArray(_draw(rng, shapes[s], s in positive), shapes[s])
        elif s not in sizes:
            point[s] = _draw(rng, (), s in positive)[0]
    for s in inputs:
        if isinstance(s, sp.IndexedBase) and tuple(point[s].shape) != tuple(shapes[s]):
            raise ShapeMismatch("values[%s] has shape %s, but the loss reads it as %s at sizes %s"
                                % (s, point[s].shape, shapes[s], sizes))
    return point


def _exact(e, point):
    """e (free of free indices) at the point, to 50 digits from certified balls: its Sums
    run over their ranges at the point's sizes, its reads from the point's arrays."""
    symbols = [s for s in point if isinstance(s, sp.Symbol)]
    arrays = {k: v for k, v in point.items() if isinstance(k, sp.IndexedBase)}
    return evaluate_at(e, symbols, [point[s] for s in symbols], 50, arrays)


def check_index_grad(expr, wrt, args, values=None, seed=0, points=3) -> GradCheckReport:
    """check_grad for an expression written with indices (see the module docstring)."""
    wrt, args = list(wrt), list(args)
    inputs = wrt + args
    f = value_and_grad(expr, wrt=wrt, args=args)
    _, size_symbols, free = index_symbols([expr])
    if free:
        raise ArgumentError("the loss has free indices %s; sum over them so it is a scalar"
                            % ", ".join(map(str, free)))
    rng = random.Random(seed)
    given, positive = _given(values, inputs), _positive(expr)
    symbolic = {p: _symbolic(expr, p) for p in wrt}
    rows, kinks, notes = [Row(str(p)) for p in wrt], [], []
    for k in range(points):
        point = _point(expr, inputs, given, f, size_symbols, positive, rng)
        arrays = [np.array(np.array(point[s].tolist(), dtype=float)) if isinstance(s, sp.IndexedBase)
                  else float(point[s]) for s in inputs]
        on, near = _kinks(expr, point)
        if on:
            kinks.append("point %d: on %s (not differentiable there; not compared)" % (k + 1, on[0]))
            continue
        with np.errstate(all="ignore"):
            _, generated = f(*arrays)
        for i, (p, row) in enumerate(zip(wrt, rows)):
            _compare(f, arrays, i, p, symbolic[p], point, np.asarray(generated[i], dtype=float),
                     row, near, notes, k, rng)
        if near:
            notes.append("point %d is within %.0e of a kink: finite differences skipped there"
                         % (k + 1, NEAR_KINK))
    return GradCheckReport(all(r.ok for r in rows), rows, points, kinks, notes)


def _symbolic(expr, p):
    """(gradient expression, its free target indices) for one parameter."""
    if isinstance(p, sp.IndexedBase):
        rank = next(len(r.indices) for r in expr.atoms(sp.Indexed) if r.base == p)
        target = tuple(sp.Symbol("_t%d" % a, integer=True) for a in range(rank))
        return grad(expr, p[target]), target
    return grad(expr, p), ()


def _kinks(expr, point):
    """(kinks the point lies on, whether one is within NEAR_KINK): the kinks of the loss
    written out at these sizes (reads still symbolic), evaluated at the arrays."""
    on, near = [], False
    for desc, u in kinks_in(written_out(expr, {k: v for k, v in point.items()
                                                if isinstance(k, sp.Symbol)})):
        if isinstance(u, tuple):                      # a branch cut (y, x): cut where x < 0
            x = _exact(u[1], point)
            if x is sp.zoo or x >= 0:
                continue
            u = u[0]
        v = _exact(u, point)
        if v is sp.zoo:
            continue
        on += [desc] if v == 0 else []
        near = near or abs(v) < NEAR_KINK
    return on, near


def _compare(f, arrays, i, p, symbolic, point, gen, row, near, notes, k, rng):
    g, target = symbolic
    entries = list(np.ndindex(*gen.shape)) or [()]
    if len(entries) > MAX_ENTRIES:
        entries = sorted(rng.sample(entries, MAX_ENTRIES))
        notes.append("%s: compared at %d of %d entries" % (p, MAX_ENTRIES, len(list(np.ndindex(*gen.shape)))))
    for idx in entries:
        exact = _exact(g.xreplace({t: sp.Integer(v) for t, v in zip(target, idx)}), point)
        if exact is sp.zoo or not exact.is_number:
            notes.append("point %d, %s%s: no finite exact value; not compared" % (k + 1, p, list(idx)))
            continue
        s_val, g_val = sp.Float(exact, 50), float(gen[idx]) if gen.shape else float(gen)
        size = max(abs(float(s_val)), 1e-6 * (1 + float(np.max(np.abs(gen)))))
        row.record("symbolic~generated", sp.Float(g_val, 50), s_val, RTOL_GENERATED * size)
        if near:
            continue
        fd, est = _difference(f, arrays, i, idx)
        if est > UNRELIABLE_FD * size:
            notes.append("point %d, %s%s: finite differences unreliable (error estimate %.1e); "
                         "not compared" % (k + 1, p, list(idx), est))
            continue
        tol = 10 * est + RTOL_FD * size
        row.record("symbolic~fd", sp.Float(fd, 50), s_val, tol)
        row.record("fd~generated", sp.Float(g_val, 50), sp.Float(fd, 50), tol)


def _difference(f, arrays, position, idx):
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
        with np.errstate(all="ignore"):
            return float(f.value(*moved))

    return richardson(at, abs(x0))
