"""Data for training: CSV files in; samples split and batched; JSON results and plots out.

Every problem with a file is one ``ParseError`` line naming the file, the row
(the line number, the header being row 1) and the column, and saying what to do.
Outputs are written atomically and never over an existing file unless forced.
``sample_axis``, ``split`` and ``Batches`` are the sample handling behind ``fit``:
samples lie along the first axis of the data arrays.
"""

import array
import csv
import io
import json
import math
import os
import stat

import numpy as np
import sympy as sp

from ..errors import ArgumentError, MissingDependency, ParseError
from ..files import check_target, write_atomic
from ..pipeline.index_function import IndexGradFunction

__all__ = ["load_csv", "csv_columns", "save_result_json", "write_loss_plot", "loss_figure"]


MAX_CSV_BYTES = 512 << 20     # data files beyond this are refused, not read into memory


def load_csv(path, names):
    """Read the columns ``names`` of a CSV file with a header row; return {name: 1-D float array}.

    Cells must be finite numbers. Blank lines are skipped; other columns are
    ignored (they may hold text). A missing file or column, an empty file, a
    row with the wrong number of cells, or a cell that is not a finite number
    raises ParseError.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "line.csv")
    >>> _ = open(path, "w").write("x,y\\n1,2\\n2,4\\n")
    >>> load_csv(path, ["x", "y"])
    {'x': array([1., 2.]), 'y': array([2., 4.])}
    """
    names = [str(n) for n in names]
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ParseError("%s is not a regular file; give a CSV file" % path)
        if info.st_size > MAX_CSV_BYTES:
            raise ParseError("%s is %d MB; CSV input is limited to %d MB"
                             % (path, info.st_size >> 20, MAX_CSV_BYTES >> 20))
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _read_columns(path, csv.reader(handle), names)
    except OSError as e:
        raise ParseError("cannot read %s: %s" % (path, e.strerror or e)) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ParseError("%s is not a readable CSV text file (%s); save it as UTF-8 CSV"
                         % (path, e)) from None


def csv_columns(path):
    """The names in the header row of a CSV file that ``load_csv`` has read (else [])."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle):
                if any(cell.strip() for cell in row):
                    return [cell.strip() for cell in row]
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return []


def _read_columns(path, reader, names):
    """Stream the rows of ``reader`` into one float buffer per column (8 bytes a cell):
    no row is kept after it is read."""
    rows = ((line, row) for line, row in enumerate(reader, 1) if any(cell.strip() for cell in row))
    first = next(rows, None)
    if first is None:
        raise ParseError("%s is empty; it needs a header row naming the columns (%s) and one row "
                         "per sample" % (path, ", ".join(names)))
    header = [h.strip() for h in first[1]]
    for name in names:
        if header.count(name) > 1:
            raise ParseError("%s: the header names column %s twice; rename one of them" % (path, name))
        if name not in header:
            raise ParseError("%s: no column named %s (the header has: %s); name a column after each "
                             "data symbol" % (path, name, ", ".join(header)))
    where = [(name, header.index(name), array.array("d")) for name in names]
    count = 0
    for line, row in rows:
        if len(row) != len(header):
            raise ParseError("%s, row %d: %d cells but the header has %d columns; give every row "
                             "one cell per column" % (path, line, len(row), len(header)))
        for name, j, column in where:
            column.append(_number(path, line, name, row[j].strip()))
        count += 1
    if not count:
        raise ParseError("%s has a header but no data rows; add one row per sample" % path)
    return {name: np.frombuffer(column, dtype=float) for name, _, column in where}


def _number(path, line, name, cell):
    try:
        value = float(cell)
    except ValueError:
        raise ParseError("%s, row %d, column %s: %r is not a number; fix or remove the row"
                         % (path, line, name, cell)) from None
    if not math.isfinite(value):
        raise ParseError("%s, row %d, column %s: %s is not a finite number; fill in or "
                         "remove the row" % (path, line, name, cell))
    return value


def save_result_json(path, res, force=False):
    """Write a FitResult's final parameters and loss history to ``path`` as JSON, atomically.

    Parameters are keyed by name: numbers for scalar parameters, nested lists
    for matrices. An existing file is kept unless ``force``.

    >>> import tempfile, os, sympy as sp
    >>> from symgrad import FitResult
    >>> res = FitResult(params={sp.Symbol("w"): 2.0}, history=[4.0, 1.0], final_loss=0.25)
    >>> path = os.path.join(tempfile.mkdtemp(), "result.json")
    >>> save_result_json(path, res)
    >>> json.load(open(path))["params"]
    {'w': 2.0}
    """
    write_atomic(path, json.dumps(res.to_dict(), indent=2) + "\n", force=force)


# --- samples: the axis, a validation split, mini-batches (used by fit) -------------------

def sample_axis(f, params, data, arrays):
    """Which data arrays hold samples along axis 0: (their indices, why none when empty).

    Per-sample losses: every 1-D data array. Matrix losses: the data whose
    MatrixSymbol has the most common symbolic row count (n in X: n x d). Index-notation
    losses: none (they are evaluated as written, on all the data).
    """
    if isinstance(f, IndexGradFunction):
        return [], ("a loss in index notation is evaluated as written on all its data, so it has no "
                    "sample axis; use a full-batch optimizer (batch_size=None) and no validation "
                    "fraction (a dict of validation data works)")
    if f.per_sample:
        idx = [i for i, a in enumerate(arrays) if a.ndim == 1]
    else:
        rows = [s.shape[0] for s in data if isinstance(s, sp.MatrixSymbol)
                and isinstance(s.shape[0], sp.Symbol)]
        if not rows:
            return [], "no data MatrixSymbol has a symbolic number of rows (like X: n x d)"
        dim = max(rows, key=lambda r: (rows.count(r), -rows.index(r)))
        if any(dim in sp.sympify(m).free_symbols for p in params if isinstance(p, sp.MatrixSymbol)
               for m in p.shape):
            return [], "the sample dimension %s is also a parameter's dimension" % dim
        idx = [i for i, s in enumerate(data) if isinstance(s, sp.MatrixSymbol) and s.shape[0] == dim]
    return idx, None if idx else "every data value is a single number"


def split(fraction, arrays, idx, why, rng):
    """Hold out ``fraction`` of the samples (a seeded draw); return (training, validation) arrays."""
    if isinstance(fraction, bool) or not isinstance(fraction, (float, int)) or not 0 < fraction < 1:
        raise ArgumentError("validation must be a fraction in (0, 1) or a dict of validation data, "
                            "got %r" % (fraction,))
    if not idx:
        raise ArgumentError("a validation split needs samples along the first axis; %s" % why)
    total = arrays[idx[0]].shape[0]
    held = int(round(fraction * total))
    if held < 1 or held >= total:
        raise ArgumentError("validation=%r of %d samples leaves %d for validation and %d for "
                            "training; each needs at least one" % (fraction, total, held, total - held))
    order = rng.permutation(total)
    keep, out = np.sort(order[held:]), np.sort(order[:held])
    return ([a[keep] if i in idx else a for i, a in enumerate(arrays)],
            [a[out] if i in idx else a for i, a in enumerate(arrays)])


class Batches:
    """Endless mini-batches: a fresh seeded shuffle every epoch, the last batch may be short."""

    def __init__(self, arrays, idx, size, rng):
        self.full, self.idx, self.size, self.rng = arrays, set(idx), size, rng
        self.total = arrays[idx[0]].shape[0]
        self.queue = iter(())

    def __iter__(self):
        return self

    def __next__(self):
        for item in self.queue:
            return item
        order = self.rng.permutation(self.total)
        shuffled = [a[order] if i in self.idx else a for i, a in enumerate(self.full)]
        self.queue = iter([[a[s:s + self.size] if i in self.idx else a for i, a in enumerate(shuffled)]
                           for s in range(0, self.total, self.size)])
        return next(self.queue)


# --- loss plots -------------------------------------------------------------------------

_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def write_loss_plot(path, history, val_history=None, force=False):
    """Draw the training (and validation) loss per step to a .png, .svg or .pdf file.

    Needs matplotlib (``pip install symgrad[plot]``); uses its object API
    (no pyplot, no global state) and writes atomically.
    """
    fmt = _FORMATS.get(os.path.splitext(os.fspath(path))[1].lower())
    if fmt is None:
        raise ArgumentError("plot file %s must end in .png, .svg or .pdf" % path)
    check_target(path, force=force)             # before importing matplotlib
    fig = loss_figure(history, val_history)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    write_atomic(path, buffer.getvalue(), force=force)


def loss_figure(history, val_history=None):
    """The training (and validation) loss per step as a ``matplotlib.figure.Figure``.

    Made with matplotlib's object API (no pyplot, no global state); the figure
    displays itself as a PNG in a notebook.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependency("plotting needs matplotlib, which is not installed: "
                                "pip install symgrad[plot]") from None
    fig = Figure(figsize=(6.4, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(np.arange(len(history)), history, label="training loss")
    if val_history is not None:
        ax.plot(np.arange(len(val_history)), val_history, label="validation loss")
    curves = list(history) + list(val_history or [])
    if curves and min(curves) > 0 and max(curves) / min(curves) > 100:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig._repr_png_ = lambda: _png(fig)        # inline in any notebook, whatever the backend
    return fig


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
