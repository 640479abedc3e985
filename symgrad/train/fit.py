"""``fit``: train the parameters of any loss on the code symgrad generates for it.

``fit`` compiles the loss and its gradients once (``value_and_grad``), checks
and converts the data once (``GradFunction.prepare``), and then runs the
generated function in a short loop: call, record the loss, update. Nothing is
re-derived or re-validated per step.

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
"""

import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..pipeline.function import value_and_grad
from ..derive.second import hessian
from ..errors import ArgumentError, TrainingDiverged
from .data import Batches, sample_axis, split
from .optim import GD, Optimizer

__all__ = ["fit", "FitResult"]


@dataclass
class FitResult:
    """What ``fit`` returns.

    ``params``: {symbol: value} (floats for Symbols, arrays for MatrixSymbols).
    ``history``: the training loss before each update; ``val_history`` likewise
    on the validation data (None without validation). ``best_step``: the number
    of updates after which the monitored loss (validation if any, else
    training) was lowest; with early stopping ``params`` are the parameters
    there, otherwise the final ones. ``final_loss``: the training loss at
    ``params`` on all the training data (``final_val_loss`` on the validation data).
    """

    params: dict
    history: list
    val_history: list = None
    best_step: int = 0
    stopped_early: bool = False
    final_loss: float = None
    final_val_loss: float = None

    def __repr__(self):
        values = ", ".join("%s=%s" % (s, ("%.6g" % v) if isinstance(v, float) else
                                      "array%s" % (v.shape,)) for s, v in self.params.items())
        losses = " -> ".join("%.6g" % v for v in (self.history[:1] + [self.final_loss])
                             if v is not None)
        return "<FitResult %d steps%s: loss %s; %s>" % (
            len(self.history), " (stopped early)" if self.stopped_early else "", losses, values)

    def to_dict(self):
        """A JSON-ready dict: parameter names to numbers or nested lists, and the histories."""
        return {"params": {str(s): (v if isinstance(v, float) else np.asarray(v).tolist())
                           for s, v in self.params.items()},
                "history": list(self.history), "val_history": self.val_history,
                "best_step": self.best_step, "stopped_early": self.stopped_early,
                "final_loss": self.final_loss, "final_val_loss": self.final_val_loss,
                "steps": len(self.history)}

    def plot(self, path, *, force=False):
        """Draw the loss curves to ``path`` (.png, .svg or .pdf) with matplotlib, atomically."""
        from .data import write_loss_plot
        write_loss_plot(path, self.history, self.val_history, force=force)


def fit(loss, params, data=None, optimizer=None, steps=1000, *, validation=None,
        early_stopping=None, seed=0, progress=None):
    """Minimise ``loss`` over ``params`` on ``data``; return a :class:`FitResult`.

    ``params`` maps each parameter (Symbol or MatrixSymbol, or its name) to its
    starting value (a number, or an array shaped like the MatrixSymbol);
    ``data`` maps the data symbols (or names) to arrays or lists. With plain
    Symbols the loss is per-sample and averaged over the samples (the first
    axis of the data); with MatrixSymbols it is evaluated as written.
    ``optimizer`` defaults to ``GD(lr=0.01)``; a ``batch_size`` at least the
    number of samples means full batch. ``validation`` is a fraction of the samples
    held out (seeded), or a dict of validation data; ``early_stopping=k``
    stops after k steps without a new best loss (validation loss if any, else
    training loss) and returns the best parameters. ``seed`` drives the split
    and mini-batch shuffling; ``progress`` (None: only on a terminal, for runs
    over half a second) draws a progress bar on stderr.

    >>> import sympy as sp
    >>> w, b, x, y = sp.symbols("w b x y")
    >>> res = fit((w*x + b - y)**2, {w: 0.0, b: 0.0}, {x: [1, 2, 3, 4], y: [2, 4, 6, 8]},
    ...           GD(lr=0.01), steps=1000)
    >>> round(res.params[w], 3), round(res.params[b], 3), res.history[0]
    (1.99, 0.03, 30.0)
    """
    loss = sp.sympify(loss)
    optimizer = GD(lr=0.01) if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise ArgumentError("optimizer must be a symgrad optimizer such as GD(lr=0.01) or "
                            "Adam(lr=0.001), got %r" % (optimizer,))
    steps = _count("steps", steps)
    patience = None if early_stopping is None else _count("early_stopping", early_stopping)
    params = _resolve(loss, params, "params")
    if not params:
        raise ArgumentError("params is empty; pass {symbol: starting value} for each parameter")
    data = _resolve(loss, data or {}, "data")
    _check_symbols(loss, params, data)

    f = value_and_grad(loss, wrt=list(params), args=list(data))
    arrays, _ = f.prepare(list(params.values()) + list(data.values()))
    start = [a[()] if a.ndim == 0 else a for a in arrays[:len(params)]]
    train = arrays[len(params):]
    idx, why = sample_axis(f, list(params), list(data), train)
    rng = np.random.default_rng(seed)
    val = None
    if isinstance(validation, dict):
        val_data = _resolve(loss, validation, "validation")
        if set(val_data) != set(data):
            raise ArgumentError("validation data must give the same symbols as data (%s)"
                                % ", ".join(map(str, data)))
        val = f.prepare(list(params.values()) + [val_data[s] for s in data])[0][len(params):]
    elif validation is not None:
        train, val = split(validation, train, idx, why, rng)
    batches = None
    if optimizer.batch_size is not None:
        if not idx:
            raise ArgumentError("%r needs data with samples along the first axis to make "
                                "mini-batches; %s" % (optimizer, why))
        if optimizer.batch_size < train[idx[0]].shape[0]:
            batches = Batches(train, idx, optimizer.batch_size, rng)

    run = _Run(f, optimizer, start, train, val, batches, patience, _Progress(progress, steps))
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            run.loop(steps)
            _growing(run, loss, list(params), list(data), f, train, optimizer, batches)
            res = run.result(list(params))
    except TrainingDiverged as err:
        raise _explain(err, loss, list(params), list(data), f, train, optimizer) from None
    for s, given in params.items():               # a 1-D vector given stays 1-D
        shape = np.shape(given)
        if np.ndim(res.params[s]) and np.size(res.params[s]) == int(np.prod(shape)):
            res.params[s] = np.reshape(res.params[s], shape)
    return res


GROWTH = 1e12    # a loss this many times larger than at the start has diverged


# --- the loop -------------------------------------------------------------------------

class _Run:
    def __init__(self, f, optimizer, start, train, val, batches, patience, progress):
        self.f, self.train, self.val, self.batches = f, train, val, batches
        self.patience, self.progress = patience, progress
        self.update = optimizer.start(start)
        self.values = start
        self.history, self.val_history = [], ([] if val is not None else None)
        self.best = (math.inf, 0, start)
        self.stopped_early = False
        self.grads = None

    def loop(self, steps):
        try:
            self._loop(steps)
        finally:
            self.progress.close(len(self.history), self.history[-1] if self.history else None)

    def _loop(self, steps):
        raw, update, values, append = self.f.raw, self.update, self.values, self.history.append
        monitored = self.val is not None or self.patience is not None
        batches, data = self.batches, self.train
        tick = self.progress.next
        grads, limit = None, math.inf
        for step in range(steps):
            if batches is not None:
                data = next(batches)
            loss, new_grads = raw(*values, *data)
            if not abs(loss) < limit:             # NaN, inf, or a loss running away
                self.values = values
                self._non_finite(step, loss, grads)
            if step == 0:
                limit = GROWTH * max(1.0, abs(loss))
            grads = new_grads
            append(loss)
            if monitored and self._monitor(step, values, loss):
                break
            if step == tick:
                tick = self.progress.tick(step, loss)
            values = update(values, grads)
        self.values, self.grads = values, grads

    def _monitor(self, step, values, loss):
        if self.val is not None:
            loss = self.f.raw_value(*values, *self.val)
            if not math.isfinite(loss):
                raise TrainingDiverged("training diverged at step %d: the validation loss became %s"
                                       % (step, loss), step=step)
            self.val_history.append(loss)
        if loss < self.best[0]:
            self.best = (loss, step, values)
        elif self.patience is not None and step - self.best[1] >= self.patience:
            self.stopped_early = True
            return True
        return False

    def _non_finite(self, step, loss, grads):
        if step == 0:
            raise TrainingDiverged("the loss is %s at the starting parameters (step 0); start inside "
                                   "the loss's domain or check the data for extreme values" % loss,
                                   step=0)
        if math.isfinite(loss):
            raise TrainingDiverged("training diverged at step %d: the loss grew to %.3g, more than "
                                   "%.0e times where it started (%.3g)"
                                   % (step, loss, GROWTH, self.history[0]), step=step)
        bad = _first_bad(self.f.wrt, grads)
        if bad is not None:
            raise TrainingDiverged("training diverged at step %d: the gradient of %s became "
                                   "non-finite" % (step - 1, bad), step=step - 1)
        raise TrainingDiverged("training diverged at step %d: the loss became %s" % (step, loss),
                               step=step)

    def result(self, symbols):
        ran = len(self.history)
        if not self.stopped_early:
            for what, values in (("the gradient of", self.grads), ("parameter", self.values)):
                bad = _first_bad(self.f.wrt, values)
                if bad is not None:
                    raise TrainingDiverged("training diverged at step %d: %s %s became non-finite"
                                           % (ran - 1, what, bad), step=ran - 1)
        train, val = self._losses_at(self.values)
        last = train if val is None else val
        monitored = self.val_history if self.val is not None else self.history
        if self.patience is None:
            k = int(np.argmin(monitored))
            best_step, chosen = (ran if last <= monitored[k] else k), self.values
        elif not self.stopped_early and last <= self.best[0]:
            best_step, chosen = ran, self.values
        else:
            best_step, chosen = self.best[1], self.best[2]
            train, val = self._losses_at(chosen)
        return FitResult(
            params={s: _public(v) for s, v in zip(symbols, chosen)},
            history=np.asarray(self.history, dtype=float).tolist(),
            val_history=None if self.val_history is None
            else np.asarray(self.val_history, dtype=float).tolist(),
            best_step=best_step, stopped_early=self.stopped_early, final_loss=train,
            final_val_loss=val)

    def _losses_at(self, values):
        """The loss on all the training data, and on the validation data (or None)."""
        full = self.train if self.batches is None else self.batches.full
        train = float(self.f.raw_value(*values, *full))
        return train, None if self.val is None else float(self.f.raw_value(*values, *self.val))


def _first_bad(symbols, values):
    if values is None:
        return None
    for s, v in zip(symbols, values):
        if not np.all(np.isfinite(v)):
            return s
    return None


def _public(v):
    return float(v) if np.ndim(v) == 0 else np.array(v)


# --- arguments ------------------------------------------------------------------------

def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ArgumentError("%s must be a positive int, got %r" % (name, value))
    return int(value)


def _resolve(loss, mapping, what):
    if not isinstance(mapping, dict):
        raise ArgumentError("%s must be a dict {symbol: value}, got %s" % (what, type(mapping).__name__))
    by_name = {str(s): s for s in loss.free_symbols | loss.atoms(sp.MatrixSymbol)}
    out = {}
    for key, value in mapping.items():
        symbol = by_name.get(key) if isinstance(key, str) else key
        if symbol is None:
            raise ArgumentError("%s names %r, which does not occur in the loss" % (what, key))
        if not isinstance(symbol, (sp.Symbol, sp.MatrixSymbol)):
            raise ArgumentError("%s keys must be Symbols or MatrixSymbols (or their names), got %r"
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


# --- divergence -------------------------------------------------------------------------

def _growing(run, loss, params, data, f, train, optimizer, batches):
    """A full-batch run that ends above its starting loss with a learning rate past the stable
    limit of a quadratic loss is diverging, however slowly: raise (checked only then)."""
    history = run.history
    if batches is not None or run.stopped_early or len(history) < 2 or not history[-1] > history[0]:
        return
    curvature = _curvature(loss, params, data, f, train)
    lr_max = optimizer.stable_lr(curvature) if curvature else None
    if lr_max is not None and optimizer.lr >= lr_max:
        raise TrainingDiverged("training diverged at step %d: the loss grew from %.6g to %.6g"
                               % (len(history) - 1, history[0], history[-1]), step=len(history) - 1)


def _explain(err, loss, params, data, f, train, optimizer):
    """Add the largest stable learning rate to a TrainingDiverged, when the loss is quadratic."""
    curvature = _curvature(loss, params, data, f, train)
    lr_max = optimizer.stable_lr(curvature) if curvature else None
    if lr_max is None:
        message = "%s; lower the learning rate (%r)" % (err, optimizer)
    else:
        message = ("%s. The loss is quadratic in %s and the Hessian of the mean training loss has "
                   "largest eigenvalue %.6g, so %s is stable only for lr < %.6g; got lr=%g: lower it"
                   % (err, ", ".join(map(str, params)), curvature, type(optimizer).__name__,
                      lr_max, optimizer.lr))
    return TrainingDiverged(message, step=err.step, max_stable_lr=lr_max)


def _curvature(loss, params, data, f, train):
    """Largest eigenvalue of the mean Hessian, for a loss quadratic in scalar params; else None."""
    if not f.per_sample:
        return None
    try:
        if sp.Poly(loss, *params).total_degree() > 2:
            return None
    except sp.PolynomialError:
        return None
    H = hessian(loss, params)
    count = max([a.shape[0] for a in train if a.ndim == 1], default=1)
    mean = np.empty(H.shape)
    for (i, j), entry in np.ndenumerate(np.array(H.tolist(), dtype=object)):
        value = sp.lambdify(data, entry, modules="numpy")(*train)
        mean[i, j] = np.mean(np.broadcast_to(np.asarray(value, dtype=float), (count,)))
    top = float(np.max(np.linalg.eigvalsh(mean)))
    return top if top > 0 and math.isfinite(top) else None


class _Progress:
    """A one-line progress bar on stderr: only on a terminal, and only for runs over 0.5 s."""

    WIDTH = 30

    def __init__(self, mode, steps):
        self.steps, self.drawn, self.last = steps, False, None
        on = bool(mode) if mode is not None else _is_terminal(sys.stderr)
        self.every = max(1, steps // 100)
        self.next = self.every - 1 if on else -1
        self.start, self.force = time.perf_counter(), mode is True

    def tick(self, step, loss):
        self.last = (step, loss)
        if self.force or time.perf_counter() - self.start > 0.5:
            self._draw(step + 1, loss)
        return step + self.every

    def _draw(self, done, loss):
        bar = "#" * int(done / self.steps * self.WIDTH)
        sys.stderr.write("\r[%-*s] %3d%% step %d/%d loss %.6g"
                         % (self.WIDTH, bar, 100 * done // self.steps, done, self.steps, float(loss)))
        sys.stderr.flush()
        self.drawn = True

    def close(self, done, loss):
        if self.drawn:
            if loss is not None:
                self._draw(done, loss)
            sys.stderr.write("\n")
            sys.stderr.flush()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):     # replaced or closed stream
        return False
