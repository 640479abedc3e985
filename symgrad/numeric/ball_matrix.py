"""Ball evaluators of the matrix ops (Arb matrices from python-flint), for ``arrays.py``: each
takes and returns object arrays of balls (floats where they are exact), keyed by op."""

import numpy as np
import sympy as sp
from flint import arb, arb_mat
from sympy.matrices.expressions.slice import MatrixSlice

from ..ops.balls import UNDEFINED, logsumexp
from ..ops.matrix_nodes import LogDet, RowLogSoftmax, RowLogSumExp, RowSoftmax
from ..ops.slicing import Concat, Embed

__all__ = ["MATRIX_OPS", "as_arb_mat", "from_arb_mat"]


def as_arb_mat(a):
    """A 2-D array of floats (exact) or balls as an Arb matrix."""
    if a.dtype.kind == "f":
        return arb_mat(a.tolist())             # floats are exact
    return arb_mat(a.shape[0], a.shape[1], list(a.ravel()))


def from_arb_mat(m):
    """An Arb matrix as a 2-D object array of balls."""
    return np.array(m.entries(), dtype=object).reshape(m.nrows(), m.ncols())


def _matmul(a, b):
    return from_arb_mat(as_arb_mat(a) * as_arb_mat(b))


def _inverse(a):
    try:
        return from_arb_mat(as_arb_mat(a).inv())
    except ZeroDivisionError:              # not certainly invertible at this precision
        return np.full(a.shape, arb.nan(), dtype=object)


def _det(a):
    return np.asarray(as_arb_mat(a).det(), dtype=object)


def _logdet(a):
    d = as_arb_mat(a).det()
    return np.asarray(d.log() if d > 0 else (UNDEFINED if d <= 0 else arb.nan()), dtype=object)


def _rows(a, f):
    return np.array([f(list(row)) for row in a], dtype=object)


def _row_lse(a):
    return _rows(a, lambda r: [logsumexp(*r)])


def _row_softmax(a):
    return _rows(a, lambda r: [(x - logsumexp(*r)).exp() for x in r])


def _row_log_softmax(a):
    return _rows(a, lambda r: [x - logsumexp(*r) for x in r])


def _diag_matrix(v):
    """DiagMatrix of a column or row: its entries on the diagonal of a square matrix."""
    flat = list(np.asarray(v, dtype=object).ravel())
    out = np.full((len(flat), len(flat)), arb(0), dtype=object)
    for i, x in enumerate(flat):
        out[i, i] = x
    return out


def _steps(bounds):
    """Python slices from ball bounds (start, stop, step for rows, then columns)."""
    ints = [int(float(np.asarray(b, dtype=object).item())) for b in bounds]
    return slice(*ints[:3]), slice(*ints[3:])


def _embed(g, rows, cols, *bounds):
    out = np.full((int(float(rows.item())), int(float(cols.item()))), arb(0), dtype=object)
    out[_steps(bounds)] = g
    return out


MATRIX_OPS = {
    MatrixSlice: lambda a, *bounds: a[_steps(bounds)],
    Embed: _embed,
    Concat: lambda axis, *blocks: np.concatenate(blocks, axis=int(float(axis.item()))),
    sp.MatMul: _matmul,
    sp.DiagMatrix: _diag_matrix,
    sp.Transpose: lambda a: a.T,
    sp.Trace: lambda a: np.asarray(np.sum(np.diagonal(a)), dtype=object),
    sp.Inverse: _inverse,
    sp.Determinant: _det,
    LogDet: _logdet,
    RowLogSumExp: _row_lse,
    RowSoftmax: _row_softmax,
    RowLogSoftmax: _row_log_softmax,
}
