"""``check_grad(..., order=2)``: the three-way check for second derivatives.

For scalar parameters each row of the Hessian is compared three ways: the
symbolic Hessian (``hessian``) evaluated exactly; central differences with a
Richardson step of the generated gradient; and generated code for the
gradient of each first derivative. For a matrix parameter the same is done for
the Hessian-vector product H[V] along a random dyadic direction V.
"""

import numpy as np
import sympy as sp

from ..derive.reverse import grad
from ..derive.second import hessian
from ..numeric.differences import richardson
from ..numeric.reference import evaluate
from ..numeric.kinks import kinks_at
from ..pipeline.function import value_and_grad
from .report import RTOL_FD, RTOL_GENERATED, UNRELIABLE_FD, GradCheckReport, Row
from .sampler import (Sampler, admissible_point, float64_notes, given_values, numeric,
                      random_dims, sample_mean, split_samples)

__all__ = ["check_hessian"]


def check_hessian(expr, wrt, args, values, seed, points):
    """Second-order check; returns a GradCheckReport with one row per parameter."""
    f = value_and_grad(expr, wrt, args)
    inputs = wrt + args
    directions = {w: sp.MatrixSymbol("d_" + w.name, *w.shape) for w in wrt
                  if isinstance(w, sp.MatrixSymbol)}
    given, dims, notes = given_values(values or {}, inputs, f.per_sample)
    notes = float64_notes(expr) + notes
    dims = random_dims(inputs, dims, seed)
    sampler = Sampler(expr, seed)
    data = set(args) if f.per_sample else set()
    rows = [Row("d2/d%s" % w) for w in wrt]
    symbolic, generated = {}, {}
    scalars = [w for w in wrt if w not in directions]
    rows_h = hessian(expr, scalars) if scalars else None
    for w in wrt:
        if w in directions:
            v = directions[w]
            symbolic[w] = [hessian(expr, w, direction=v)]
            inner = _inner(grad(expr, w), v)
            generated[w] = value_and_grad(inner, [w], [a for a in inputs if a is not w] + [v])
        else:
            symbolic[w] = list(rows_h.row(scalars.index(w)))
            generated[w] = value_and_grad(grad(expr, w), scalars, [a for a in inputs if a not in scalars])
    kinks = []
    count = 1 if all(s in given for s in inputs) else points
    first = grad(expr, wrt)
    for k in range(count):
        point, _ = admissible_point(sampler, inputs, data, given, dims, expr, first, prec=20)
        samples = [{**s, **dims} for s in split_samples(point)]
        if any(u == 0 for subs in samples for _, u in kinks_at(expr, subs)):
            kinks.append("point %d: on a kink (not compared)" % (k + 1))
            continue
        for w, row in zip(wrt, rows):
            _compare_row(f, w, scalars, directions, symbolic[w], generated[w], inputs, point,
                         samples, row, sampler.matrix(directions[w], dims, k) if w in directions else None,
                         notes)
    return GradCheckReport(all(r.ok for r in rows), rows, count, kinks,
                           notes + ["second derivatives; matrix parameters along a random direction"
                                    if directions else "second derivatives"])


def _inner(G, V):
    """<G, V>, the sum of the entrywise product, as a scalar expression."""
    return sp.Trace(G.T * V)


def _compare_row(f, w, scalars, directions, symbolic, generated, inputs, point, samples, row,
                 v_exact, notes):
    arrays = [numeric(point[s]) for s in inputs]
    if w in directions:
        subs_v = {directions[w]: v_exact}
        exact = sample_mean([evaluate(symbolic[0], {**s, **subs_v}) for s in samples])
        v = np.array(v_exact.tolist(), dtype=float)
        _, (gen,) = generated(*[arrays[inputs.index(w)]] +
                              [a for s, a in zip(inputs, arrays) if s is not w] + [v])
        fd, est = _directional(f, arrays, inputs, w, v)
        entries = list(np.ndindex(*np.shape(gen)))
        exact = np.array(exact.tolist(), dtype=object)
    else:
        exact = np.array([sample_mean([evaluate(h, s) for s in samples]) for h in symbolic], dtype=object)
        _, gen = generated(*[arrays[inputs.index(s)] for s in scalars] +
                           [a for s, a in zip(inputs, arrays) if s not in scalars])
        gen = np.array([float(np.asarray(g)) for g in gen])
        pairs = [_directional(f, arrays, inputs, w, None, s) for s in scalars]
        fd = np.array([p[0] for p in pairs])
        est = np.array([p[1] for p in pairs])
        entries = list(np.ndindex(len(scalars)))
    scale = 1 + max(float(abs(e)) for e in exact.ravel())
    for idx in entries:
        s_val = sp.Float(exact[idx], 50)
        size = max(abs(float(s_val)), 1e-6 * scale)
        g_val = float(np.asarray(gen)[idx])
        row.record("symbolic~generated", sp.Float(g_val, 50), s_val, RTOL_GENERATED * size)
        e = float(np.asarray(est)[idx]) if np.ndim(est) else float(est)
        if e > UNRELIABLE_FD * size:             # a kink or jump nearby: no second derivative
            notes.append("%s%s: finite differences unreliable (error estimate %.1e); not compared"
                         % (row.parameter, list(idx), e))
            continue
        fd_val = float(np.asarray(fd)[idx])
        row.record("symbolic~fd", sp.Float(fd_val, 50), s_val, 10 * e + RTOL_FD * size)
        row.record("fd~generated", sp.Float(g_val, 50), sp.Float(fd_val, 50), 10 * e + RTOL_FD * size)


def _directional(f, arrays, inputs, w, direction, along=None):
    """Richardson central difference of the generated gradient of ``w``: along ``direction``
    (matrix parameters) or with respect to the scalar ``along``."""
    target = inputs.index(w)
    moved_at = inputs.index(along) if along is not None else target

    def gradient(t):
        moved = list(arrays)
        if direction is not None:
            moved[moved_at] = arrays[moved_at] + t * direction
        else:
            moved[moved_at] = float(arrays[moved_at]) + t
        return np.asarray(f(*moved)[1][target], dtype=float)

    base = float(np.max(np.abs(arrays[moved_at]))) if direction is not None else abs(float(arrays[moved_at]))
    return richardson(gradient, base, powers=(10,))
