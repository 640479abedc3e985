"""Checking call arguments against the inputs of a compiled function.

``Signature(inputs, per_sample, params)`` knows each input's declared shape.
``prepare(values)`` turns the values a caller passes into arrays of one float
(or complex) dtype, checking their count, kinds and shapes, sample counts in
per-sample mode, and binding symbolic dimensions on first use in matrix mode.
``finish`` shapes an output the way the caller gave its parameter.
"""

import numpy as np
import sympy as sp

from ..errors import ArgumentError, ShapeMismatch

__all__ = ["Signature", "finish"]


class Signature:
    """The inputs of a generated function, and how to check values for them."""

    def __init__(self, inputs, per_sample, params=()):
        self.inputs = list(inputs)
        self.per_sample = per_sample
        self.params = set(params)          # per-sample mode: these must be single numbers
        self.specs = _shape_specs(self.inputs)

    def bind(self, values: tuple, named: dict) -> tuple:
        """The call's values in input order: positional ones first, then each keyword named
        after an input symbol (f(W=..., X=...)); an unknown, repeated or missing name is an
        ArgumentError listing the inputs."""
        if not named:
            return values
        order = [str(s) for s in self.inputs]
        out = list(values) + [None] * (len(order) - len(values))
        for name, value in named.items():
            if name not in order:
                raise ArgumentError("no input is named %r; the inputs are %s" % (name, ", ".join(order)))
            i = order.index(name)
            if i < len(values) or out[i] is not None:
                raise ArgumentError("%s is given twice (by position and by name)" % name)
            out[i] = value
        missing = [n for n, v in zip(order, out) if v is None]
        if missing or len(values) > len(order):
            raise ArgumentError("expected the inputs %s; missing %s" % (", ".join(order),
                                                                      ", ".join(missing) or "none"))
        return tuple(out)

    def prepare(self, values: list | tuple) -> tuple:
        """Validate and convert call arguments; return (arrays, dtype)."""
        if len(values) != len(self.inputs):
            raise ArgumentError("expected %d arguments (%s), got %d"
                                % (len(self.inputs), ", ".join(map(str, self.inputs)), len(values)))
        arrays = [_as_array(v, s) for v, s in zip(values, self.inputs)]
        typed = [a for a, v in zip(arrays, values) if isinstance(v, (np.ndarray, np.generic))]
        dtype = np.result_type(*typed) if typed else np.dtype(np.float64)
        if dtype.kind not in "fc":
            dtype = np.dtype(np.float64)
        if dtype == np.float16:                  # SciPy's special functions have no half loops
            dtype = np.dtype(np.float32)
        if dtype.kind != "c" and any(a.dtype.kind == "c" for a in arrays):
            dtype = np.result_type(dtype, np.complex64)     # never drop an imaginary part
        arrays = [a.astype(dtype, copy=False) for a in arrays]
        if self.per_sample:
            _check_samples(arrays, self.inputs, self.params)
        else:
            arrays = _check_matrices(arrays, self.specs)
        return arrays, dtype


def _as_array(v, symbol):
    try:
        a = np.asarray(v)
    except (TypeError, ValueError) as e:
        raise ArgumentError("argument %s is not numeric: %s" % (symbol, e)) from None
    if a.dtype.kind not in "biufc":
        raise ArgumentError("argument %s must be numeric, got an array of dtype %s" % (symbol, a.dtype))
    return a if a.dtype.kind in "fc" else a.astype(np.float64)


def _check_samples(arrays, inputs, params):
    count, first = None, None
    for i, (a, s) in enumerate(zip(arrays, inputs)):
        if s in params and a.ndim != 0:
            raise ShapeMismatch("parameter %s must be a single number (per-sample mode); got shape %s"
                                % (s, a.shape))
        if a.ndim == 2 and a.shape[1] == 1:
            a = arrays[i] = a[:, 0]
        if a.ndim > 1:
            raise ShapeMismatch("argument %s has shape %s; per-sample data must be 1-D (samples "
                                "along the first axis)" % (s, a.shape))
        if a.ndim == 1:
            if a.shape[0] == 0:
                raise ShapeMismatch("argument %s has no samples" % s)
            if count is None:
                count, first = a.shape[0], s
            elif a.shape[0] != count:
                raise ShapeMismatch("argument %s has %d samples but %s has %d; give every data "
                                    "argument the same number of samples" % (s, a.shape[0], first, count))


def _shape_specs(inputs):
    """Per input: (symbol, None) for a scalar, else (symbol, [(axis kind, value)]), kind "int" (a
    fixed size), "dim" (a dimension symbol) or "expr" (a size like n + 1); built once."""
    specs = []
    for s in inputs:
        if not isinstance(s, sp.MatrixSymbol):
            specs.append((s, None))
            continue
        axes = []
        for d in (sp.sympify(d) for d in s.shape):
            kind = "int" if d.is_Integer else "dim" if isinstance(d, sp.Symbol) else "expr"
            axes.append((kind, int(d) if kind == "int" else d))
        specs.append((s, axes))
    return specs


def _check_matrices(arrays, specs):
    """Check matrix arguments against their declared shapes; dimensions bind on first use."""
    bound, out = {}, []
    for a, (s, axes) in zip(arrays, specs):
        if axes is None:
            if a.ndim != 0:
                raise ShapeMismatch("scalar %s must be a single number; got shape %s" % (s, a.shape))
            out.append(a)
            continue
        if a.ndim == 1 and any(k == "int" and v == 1 for k, v in axes):
            a = a.reshape((1, -1) if axes[0] == ("int", 1) else (-1, 1))
        if a.ndim != 2:
            raise ShapeMismatch("%s is declared %s x %s but got an array of shape %s"
                                % (s, s.shape[0], s.shape[1], a.shape))
        if 0 in a.shape:
            raise ShapeMismatch("%s has shape %s: it has no entries; give it at least one row and "
                                "one column" % (s, a.shape))
        for (kind, d), size in zip(axes, a.shape):
            if kind == "dim" and d not in bound:
                bound[d] = (size, s)
        out.append(a)
    for a, (s, axes) in zip(out, specs):
        if axes is None:
            continue
        expected = []
        for kind, d in axes:
            if kind == "int":
                expected.append(d)
            elif kind == "dim":
                expected.append(bound[d][0])
            else:
                size = d.xreplace({k: sp.Integer(v) for k, (v, _) in bound.items()})
                expected.append(int(size) if size.is_Integer else -1)
        if tuple(a.shape) != tuple(expected):
            detail = ", ".join("%s=%d (from %s)" % (d, v, src) for d, (v, src) in bound.items()
                               if d in sp.Tuple(*s.shape).free_symbols)
            raise ShapeMismatch("%s: expected shape (%s, %s) = %s but got %s%s"
                                % (s, s.shape[0], s.shape[1], tuple(expected), a.shape,
                                   "; " + detail if detail else ""))
    return out


def finish(x, dtype, shape=()):
    """``x`` as an array of ``dtype`` shaped ``shape`` (None: as it is); 0-d becomes a scalar."""
    a = np.asarray(x, dtype=dtype)
    shape = a.shape if shape is None else tuple(shape)
    if a.shape != shape:
        if a.size == int(np.prod(shape)):
            a = a.reshape(shape)
        else:
            a = np.broadcast_to(a, shape).copy()
    if not a.flags.writeable:                   # generated code may return a broadcast view
        a = a.copy()
    return a[()] if a.shape == () else a

