"""``fit``: train the parameters of any loss on the code symgrad generates for it.

``fit`` compiles the loss and its gradients once (``value_and_grad``), or takes
the GradFunction it is given, checks and converts the data once
(``GradFunction.prepare``), and then runs the generated function in a short
loop: call, record the loss, update. Nothing is re-derived or re-validated per
step, and the stability limit below comes from the same generated gradient.

- ``history[t]`` is the training loss at the parameters *before* update t (the
  value computed together with the gradient), so ``history[0]`` is the loss at
  the starting point. For mini-batch optimizers it is the loss on that step's
  batch.
- A NaN or infinite loss or gradient raises ``TrainingDiverged`` naming the
  step. When the loss is quadratic in scalar parameters, the message (and
  ``err.max_stable_lr``) gives the largest stable learning rate, from the
  largest eigenvalue of the Hessian of the mean loss over the training data.
  So does a loss that grows a trillion-fold, or a full-batch run that ends above
  its starting loss with the learning rate past that limit (slow divergence).
- ``Newton`` and ``LBFGS`` run in ``SearchRun`` (``search.py``) instead of
  ``Run`` (``loop.py``): a line search picks each step, so the loss never rises.
"""

import numpy as np
import sympy as sp

from ..codegen.backends import backend as _backend
from ..errors import ArgumentError, TrainingDiverged, whole_number
from ..graph.index_ir import has_indices
from ..graph.lower import as_expression
from ..pipeline.function import GradFunction, HessianFunction, value_and_grad, value_grad_hessian
from ..pipeline.index_function import IndexGradFunction
from .data import Batches, sample_axis, split
from .accelerated import backend_run
from .diverge import explain, growing
from .loop import FitResult, Progress, Run
from .newton import LineSearch
from .optim import GD, Optimizer
from .search import SearchRun

__all__ = ["fit", "FitResult"]


def fit(loss: "sp.Expr | GradFunction", params: dict, data: dict | None = None,
        optimizer: Optimizer | None = None, steps: int = 1000, *,
        validation: float | dict | None = None, early_stopping: int | None = None, seed: int = 0,
        progress: bool | None = None, backend: str | None = None) -> FitResult:
    """Minimise ``loss`` over ``params`` on ``data``; return a :class:`FitResult`.

    ``params`` maps each parameter (Symbol or MatrixSymbol, or its name) to its
    starting value (a number, or an array shaped like the MatrixSymbol);
    ``data`` maps the data symbols (or names) to arrays or lists. With plain
    Symbols the loss is per-sample and averaged over the samples (the first
    axis of the data); with MatrixSymbols it is evaluated as written.
    ``optimizer`` defaults to ``GD(lr=0.01)``; a ``batch_size`` at least the
    number of samples means full batch. ``Newton()`` (which compiles the Hessian too,
    with ``value_grad_hessian``) and ``LBFGS()`` pick each step by a line search that
    never raises the loss, on the full batch. ``validation`` is a fraction of the samples
    held out (seeded), or a dict of validation data; ``early_stopping=k``
    stops after k steps without a new best loss (validation loss if any, else
    training loss) and returns the best parameters. ``seed`` drives the split
    and mini-batch shuffling; ``progress`` (None: only on a terminal, for runs
    over half a second) draws a progress bar on stderr. ``loss`` may be a
    GradFunction from ``value_and_grad`` (per-sample or matrix, as it was
    compiled): its code is reused, and ``params`` and ``data`` must give its
    ``wrt`` and ``args``. A loss in index notation (IndexedBases such as ``w[i]``,
    ``x[n, i]`` in ``sp.Sum``; or an ``IndexGradFunction``) is evaluated as written on the
    full batch: no per-sample mean, no mini-batches or validation fraction, no Newton.
    ``backend="jax"`` runs the steps jitted in ``lax.scan`` (data sharded over the samples when
    there are several devices; ``np.memmap`` data streamed window by window with mini-batches),
    ``"torch"`` on tensors (see ``accelerated.py``); None takes a GradFunction's own backend.

    >>> import sympy as sp
    >>> w, b, x, y = sp.symbols("w b x y")
    >>> res = fit((w*x + b - y)**2, {w: 0.0, b: 0.0}, {x: [1, 2, 3, 4], y: [2, 4, 6, 8]},
    ...           GD(lr=0.01), steps=1000)
    >>> round(res.params[w], 3), round(res.params[b], 3), res.history[0]
    (1.99, 0.03, 30.0)
    """
    optimizer = GD(lr=0.01) if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise ArgumentError("optimizer must be a symgrad optimizer such as GD(lr=0.01) or "
                            "Adam(lr=0.001), got %r" % (optimizer,))
    steps = _count("steps", steps)
    seed = whole_number("fit seed", seed)
    patience = None if early_stopping is None else _count("early_stopping", early_stopping)
    searching = isinstance(optimizer, LineSearch)
    f, loss, params, data = _compiled(loss, params, data, hessian=searching and optimizer.uses_hessian,
                                      backend=backend)
    if f.backend != "numpy" and searching:
        raise ArgumentError("%r runs on the numpy backend only; use GD, Momentum, Nesterov or Adam "
                            "with backend=%r" % (optimizer, f.backend))
    arrays, _ = f.prepare(list(params.values()) + list(data.values()))
    _real_and_finite(list(params) + list(data), list(params.values()) + list(data.values()),
                     arrays, "data")
    start = [a[()] if a.ndim == 0 else a for a in arrays[:len(params)]]
    train = arrays[len(params):]
    idx, why = sample_axis(f, list(params), list(data), train)
    rng = np.random.default_rng(seed)
    train, val = _validation(f, loss, params, data, train, validation, idx, why, rng)
    batches = _batches(optimizer, train, idx, why, rng)
    bar = Progress(progress, steps)
    if searching:
        hessian = f.namespace["value_grad_hessian"] if optimizer.uses_hessian else None
        run = SearchRun(f, optimizer, start, train, val, patience, bar, hessian)
    elif f.backend != "numpy":
        run = backend_run(f, optimizer, start, train, val, batches, patience, bar)
    else:
        run = Run(f, optimizer, start, train, val, batches, patience, bar)
    if f.backend == "torch":
        train = run.train                 # the generated torch code takes tensors
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            run.loop(steps)
            if batches is None and not run.stopped_early and not searching:
                growing(run.history, loss, f.wrt, f, train, optimizer)
            res = run.result(f.wrt)
    except TrainingDiverged as err:
        raise explain(err, loss, f.wrt, f, train, optimizer) from None
    for s, given in params.items():               # a 1-D vector given stays 1-D
        shape = np.shape(given)
        if np.ndim(res.params[s]) and np.size(res.params[s]) == int(np.prod(shape)):
            res.params[s] = np.reshape(res.params[s], shape)
    return res


# --- arguments ------------------------------------------------------------------------

def _validation(f, loss, params, data, train, validation, idx, why, rng):
    """(training arrays, validation arrays or None): a dict of validation data prepared and
    checked like the data, or a seeded fraction of the samples held out."""
    if isinstance(validation, dict):
        val_data = _resolve(loss, validation, "validation")
        if set(val_data) != set(data):
            raise ArgumentError("validation data must give the same symbols as data (%s)"
                                % ", ".join(map(str, data)))
        val = f.prepare(list(params.values()) + [val_data[s] for s in data])[0][len(params):]
        _real_and_finite(list(data), [val_data[s] for s in data], val, "validation data")
        return train, val
    if validation is not None:
        return split(validation, train, idx, why, rng)
    return train, None


def _batches(optimizer, train, idx, why, rng):
    """The optimizer's mini-batches of the training arrays (None: full batch)."""
    if optimizer.batch_size is None:
        return None
    if not idx:
        raise ArgumentError("%r needs data with samples along the first axis to make "
                            "mini-batches; %s" % (optimizer, why))
    if optimizer.batch_size < train[idx[0]].shape[0]:
        return Batches(train, idx, optimizer.batch_size, rng)
    return None


def _real_and_finite(symbols, given, arrays, what):
    """Refuse complex values (training is real) and NaN or infinite entries, naming the
    symbol and the first bad entry, before any step."""
    for s, v, a in zip(symbols, given, arrays):
        if np.iscomplexobj(v):
            raise ArgumentError("%s for %s are complex; fit trains real losses on real data: give "
                                "real arrays (np.real(...) if the imaginary parts are zero)"
                                % (what if what != "data" else "the values", s))
        bad = ~np.isfinite(a)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ArgumentError("%s for %s hold %d %s (the first at index %s); remove or fill "
                                "in those rows before fitting" % (
                                    what if what != "data" else "the values", s, int(bad.sum()),
                                    "NaN or infinite entries" if bad.sum() > 1 else
                                    "NaN or infinite entry", where if a.ndim else "()"))


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ArgumentError("%s must be a positive int, got %r" % (name, value))
    return int(value)


def _compiled(loss, params, data, hessian=False, backend=None):
    """(f, loss expression, params, data): the GradFunction given as ``loss``, with params and
    data in its order, or one compiled now (for ``backend``); params and data are checked
    against the loss. ``hessian``: f's module must also hold value_grad_hessian (for Newton)."""
    f = loss.gradient if isinstance(loss, HessianFunction) else \
        loss if isinstance(loss, (GradFunction, IndexGradFunction)) else None
    expr = f.expr if f is not None else as_expression(loss, "loss")
    if isinstance(f, IndexGradFunction) or (f is None and _index_form(expr, params, data)):
        if backend not in (None, "numpy"):
            raise ArgumentError("a loss in index notation trains on the numpy backend only; "
                                "leave backend out or write the loss with MatrixSymbols")
        return _compiled_index(f, expr, params, data, hessian)
    if f is not None and backend is not None and _backend(backend).name != f.backend:
        raise ArgumentError("the GradFunction was compiled for backend %r, not %r; leave backend "
                            "out, or pass the loss expression" % (f.backend, backend))
    backend = backend or "numpy"
    params = _resolve(expr, params, "params")
    if not params:
        raise ArgumentError("params is empty; pass {symbol: starting value} for each parameter")
    data = _resolve(expr, data or {}, "data")
    _check_symbols(expr, params, data)
    if f is None:
        f = value_grad_hessian(expr, wrt=list(params), args=list(data), backend=backend).gradient \
            if hessian \
            else value_and_grad(expr, wrt=list(params), args=list(data), backend=backend)
        return f, expr, params, data
    if hessian and "value_grad_hessian" not in f.namespace:
        raise ArgumentError("Newton needs the Hessian, and this GradFunction has none: pass the "
                            "loss expression, or a function from value_grad_hessian")
    if set(params) != set(f.wrt) or set(data) != set(f.args):
        raise ArgumentError("the GradFunction was compiled for params %s and data %s, but got "
                            "params %s and data %s; give those, or pass the loss expression to "
                            "train other parameters" % (f.wrt, f.args, list(params), list(data)))
    return f, expr, {s: params[s] for s in f.wrt}, {s: data[s] for s in f.args}


def _index_form(expr, params, data):
    keys = [*(params if isinstance(params, dict) else ()), *(data if isinstance(data, dict) else ())]
    return has_indices(expr) or any(isinstance(k, (sp.IndexedBase, sp.Indexed)) for k in keys)


def _compiled_index(f, expr, params, data, hessian):
    """``_compiled`` for a loss in index notation: the IndexGradFunction given, or one compiled now."""
    if hessian:
        raise ArgumentError("Newton needs the Hessian, which symgrad does not derive for a loss in "
                            "index notation; use LBFGS() or GD/Adam")
    params = _resolve(expr, params, "params")
    if not params:
        raise ArgumentError("params is empty; pass {symbol: starting value} for each parameter")
    data = _resolve(expr, data or {}, "data")
    both = [s for s in params if s in data]
    if both:
        raise ArgumentError("%s is in both params and data; a symbol is either trained or given"
                            % both[0])
    if f is None:
        return value_and_grad(expr, wrt=list(params), args=list(data)), expr, params, data
    if set(params) != set(f.wrt) or set(data) != set(f.args):
        raise ArgumentError("the IndexGradFunction was compiled for params %s and data %s, but got "
                            "params %s and data %s; give those, or pass the loss expression to "
                            "train other parameters" % (f.wrt, f.args, list(params), list(data)))
    return f, expr, {s: params[s] for s in f.wrt}, {s: data[s] for s in f.args}


def _resolve(loss, mapping, what):
    if not isinstance(mapping, dict):
        raise ArgumentError("%s must be a dict {symbol: value}, got %s" % (what, type(mapping).__name__))
    by_name = {str(s): s for s in loss.free_symbols | loss.atoms(sp.MatrixSymbol)}
    by_name.update({str(s): s for s in loss.atoms(sp.IndexedBase)})
    out = {}
    for key, value in mapping.items():
        symbol = by_name.get(key) if isinstance(key, str) else key
        symbol = symbol.base if isinstance(symbol, sp.Indexed) else symbol
        if symbol is None:
            raise ArgumentError("%s names %r, which does not occur in the loss" % (what, key))
        if not isinstance(symbol, (sp.Symbol, sp.MatrixSymbol, sp.IndexedBase)):
            raise ArgumentError("%s keys must be Symbols, MatrixSymbols or IndexedBases (or their "
                                "names), got %r"
                                % (what, key))
        if symbol in out:
            raise ArgumentError("%s gives %s twice" % (what, symbol))
        out[symbol] = value
    return out


def _check_symbols(loss, params, data):
    both = [s for s in params if s in data]
    if both:
        raise ArgumentError("%s is in both params and data; a symbol is either trained or given"
                            % both[0])
    dims = {d for m in loss.atoms(sp.MatrixSymbol) for dim in m.shape
            for d in sp.sympify(dim).free_symbols}
    for m in list(params) + list(data):
        if isinstance(m, sp.MatrixSymbol):
            dims |= {d for dim in m.shape for d in sp.sympify(dim).free_symbols}
    used = (loss.free_symbols | loss.atoms(sp.MatrixSymbol)) - dims
    for s in sorted(used - set(params) - set(data), key=str):
        raise ArgumentError("symbol %s occurs in the loss but is in neither params nor data; add "
                            "data={%s: values} (or a starting value in params)" % (s, s))
    for s in data:
        if s not in used:
            raise ArgumentError("data gives %s, which does not occur in the loss; remove it or check "
                                "the loss" % s)

