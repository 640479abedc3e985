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
    """(Im f(w + ih v)/h, its error estimate, its size): a derivative along v with no
    subtraction, so no cancellation.

    Only the moved arguments are complex: NumPy raises a complex number to an integer power
    of 100 or more through its polar form, exp(n log z), where a negative real base gets an
    imaginary part of rounding size (sin(200 pi) is 2e-14, not 0) that swamps the step. The
    estimate is the difference from a second step 2^40 times longer, which an imaginary
    part that is not the step's (such a power of a moved negative base) cannot pass. None
    when Re f(w + ih v), computed by the form as written (``f``, a CompiledExpression), is
    not the generated (stable) ``loss``.
    """
    if f is None:
        return None
    values = [_moved(f, arrays, moves, h) for h in _steps(arrays, moves)]
    if any(v is None for v in values):
        return None
    (d1, real), (d2, _) = values
    if not (np.isfinite(d1) and np.isfinite(d2) and abs(real - loss) <= 1e-8 * abs(loss)):
        return None
    return d1, abs(d1 - d2), max(abs(d1), abs(d2))


def _steps(arrays, moves):
    big = max((float(np.max(np.abs(np.asarray(arrays[p])))) if np.size(arrays[p]) else 0.0)
              for p in moves)
    h = 1e-30 * max(1.0, big)
    return h, h * 2.0 ** 40


def _moved(f, arrays, moves, h):
    """(Im f / h, Re f) at the arguments moved by ih along ``moves``; None where the code
    refuses complex input."""
    moved = list(arrays)
    for p, d in moves.items():
        base = np.asarray(arrays[p], dtype=complex)
        moved[p] = base + 1j * h * np.asarray(d).reshape(base.shape)
    try:
        with np.errstate(all="ignore"):
            value = f.raw(*moved)
    except (TypeError, ValueError):
        return None
    return float(np.imag(value)) / h, float(np.real(value))
