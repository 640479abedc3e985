"""The training loop behind ``fit``, and what it returns.

``_Run`` calls the generated function in a short loop: call, record the loss,
update (see ``fit`` for what ``history`` holds and when training counts as
diverged). ``SearchRun`` (``search.py``) is the same run for optimizers that
choose their own step by a line search. ``FitResult`` is what ``fit`` returns;
``Progress`` draws the progress bar.
"""

import html
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..errors import TrainingDiverged

__all__ = ["FitResult", "Run", "Progress", "GROWTH", "first_bad"]

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
    ``converged``: True when a line-search optimizer (Newton, LBFGS) ended before
    ``steps`` because the gradient vanished (norm at most its ``tol``) or no step
    along its direction lowered the loss any further.
    """

    params: dict
    history: list
    val_history: list = None
    best_step: int = 0
    stopped_early: bool = False
    final_loss: float = None
    final_val_loss: float = None
    converged: bool = False

    def __repr__(self):
        values = ", ".join("%s=%s" % (s, ("%.6g" % v) if isinstance(v, float) else
                                      "array%s" % (v.shape,)) for s, v in self.params.items())
        losses = " -> ".join("%.6g" % v for v in (self.history[:1] + [self.final_loss])
                             if v is not None)
        return "<FitResult %d steps%s: loss %s; %s>" % (
            len(self.history), " (stopped early)" if self.stopped_early else "", losses, values)

    def to_dict(self) -> dict:
        """A JSON-ready dict: parameter names to numbers or nested lists, and the histories."""
        return {"params": {str(s): (v if isinstance(v, float) else np.asarray(v).tolist())
                           for s, v in self.params.items()},
                "history": list(self.history), "val_history": self.val_history,
                "best_step": self.best_step, "stopped_early": self.stopped_early,
                "final_loss": self.final_loss, "final_val_loss": self.final_val_loss,
                "converged": self.converged, "steps": len(self.history)}

    def plot(self, path: "str | os.PathLike | None" = None, *, force: bool = False) -> object:
        """Draw the loss curves with matplotlib: to ``path`` (.png, .svg or .pdf, atomically), or,
        with no path, return the ``matplotlib.figure.Figure`` (it shows inline in a notebook)."""
        from .data import loss_figure, write_loss_plot
        if path is None:
            return loss_figure(self.history, self.val_history)
        write_loss_plot(path, self.history, self.val_history, force=force)
        return None

    def _repr_html_(self) -> str:
        """The notebook display: steps, losses and a table of the parameters."""
        def cell(v):
            text = ("%.6g" % v) if isinstance(v, float) else np.array2string(
                np.asarray(v), precision=6, threshold=20, edgeitems=3)
            tag = "pre" if "\n" in text else "code"
            return "<td><%s>%s</%s></td>" % (tag, html.escape(text), tag)

        facts = [("steps", "%d%s" % (len(self.history), " (stopped early)" if self.stopped_early
                                      else " (converged)" if self.converged else ""))]
        facts += [(name, "%.6g" % v) for name, v in (
            ("first loss", self.history[0] if self.history else None), ("final loss", self.final_loss),
            ("final validation loss", self.final_val_loss)) if v is not None]
        if self.stopped_early or self.val_history is not None:
            facts.append(("best step", str(self.best_step)))
        rows = "".join("<tr><th>%s</th><td>%s</td></tr>" % (k, html.escape(v)) for k, v in facts)
        params = "".join("<tr><th><code>%s</code></th>%s</tr>" % (html.escape(str(s)), cell(v))
                         for s, v in self.params.items())
        return ("<div><b>FitResult</b><table>%s</table><table><tr><th>parameter</th><th>value</th>"
                "</tr>%s</table></div>" % (rows, params))


GROWTH = 1e12    # a loss this many times larger than at the start has diverged


# --- the loop -------------------------------------------------------------------------

class Run:
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
        bad = first_bad(self.f.wrt, grads)
        if bad is not None:
            raise TrainingDiverged("training diverged at step %d: the gradient of %s became "
                                   "non-finite" % (step - 1, bad), step=step - 1)
        raise TrainingDiverged("training diverged at step %d: the loss became %s" % (step, loss),
                               step=step)

    def result(self, symbols):
        ran = len(self.history)
        if not self.stopped_early:
            for what, values in (("the gradient of", self.grads), ("parameter", self.values)):
                bad = first_bad(self.f.wrt, values)
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


def first_bad(symbols, values):
    if values is None:
        return None
    for s, v in zip(symbols, values):
        if not np.all(np.isfinite(np.asarray(v))):      # NumPy, JAX or torch
            return s
    return None


def _public(v):
    return float(v) if np.ndim(v) == 0 else np.array(v)


class Progress:
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
