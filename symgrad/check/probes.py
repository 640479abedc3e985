"""The float side of check_grad: differences and complex steps of the generated code.

Each moves parameters along directions: ``moves`` maps an argument position to a direction
array (a unit vector for one entry, a random direction, or one block of a direction over
several parameters together). ``arrays`` are prepared once per point
(``GradFunction.prepare``), so the raw generated functions run on them directly.
"""

import numpy as np

from ..numeric.differences import richardson

__all__ = ["along", "complex_step", "unit"]


def unit(arrays, position, idx):
    """{position: the unit vector of entry ``idx``} (a scalar position: 1.0)."""
    base = np.asarray(arrays[position])
    direction = np.zeros(base.shape)
    direction[idx] = 1.0
    return {position: direction}


def along(f, arrays, moves, steps):
    """Central difference with Richardson steps of the generated loss along ``moves``, and an
    estimate of its error (``numeric.differences``)."""
    bases = {p: np.asarray(arrays[p]) for p in moves}
    scale = max([float(np.max(np.abs(m))) for m in
                 (b[np.asarray(moves[p]) != 0] for p, b in bases.items()) if m.size], default=0.0)
    run = f.raw_value if f.backend == "numpy" else f.value     # numpy: arrays are prepared

    def at(t):
        moved = list(arrays)
        for p, d in moves.items():
            b = bases[p]
            dtype = b.dtype.type if b.dtype.kind == "f" else np.float64
            moved[p] = np.asarray(b + t * np.asarray(d)).astype(dtype)
        with np.errstate(all="ignore"):       # overflow shows in the report, not as warnings
            return float(np.asarray(run(*moved)))

    return richardson(at, scale, steps=steps)


def complex_step(f, arrays, moves, loss):
    """Im f(w + ih v)/h: a derivative along v with no subtraction, so no cancellation.

    Only as accurate as the real parts along the way: None when Re f(w + ih v),
    computed by the form as written (``f``, a CompiledExpression), is not the generated
    (stable) ``loss``.
    """
    if f is None:
        return None
    moved = [np.asarray(a, dtype=complex) for a in arrays]
    big = max((float(np.max(np.abs(moved[p].real))) if moved[p].size else 0.0) for p in moves)
    h = 1e-30 * max(1.0, big)
    for p, d in moves.items():
        moved[p] = moved[p] + 1j * h * np.asarray(d).reshape(moved[p].shape)
    try:
        with np.errstate(all="ignore"):
            value = f.raw(*moved)
    except (TypeError, ValueError):
        return None
    derivative = float(np.imag(value)) / h
    real = float(np.real(value))
    if not (np.isfinite(derivative) and abs(real - loss) <= 1e-8 * abs(loss)):
        return None
    return derivative
