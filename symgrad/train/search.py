"""The training loop for optimizers that choose their own step (``Newton``, ``LBFGS``).

``SearchRun`` is ``Run`` with another step: the optimizer gives a direction p
from the gradient (and, for Newton, the Hessian from the generated
``value_grad_hessian``), and ``backtrack`` picks the step length (see
``newton.py`` for the acceptance rule). The parameters travel as one flat
vector, each parameter's entries in row-major order, the layout of the
generated Hessian. ``history[t]`` is the loss at the parameters before update
t. A run that ends before ``steps`` (the gradient's norm at most ``tol``, or no
step along p lowers the loss) has ``FitResult.converged`` True, and the last
entry of its history is the loss where it ended (no update followed).
"""

import math

import numpy as np

from ..errors import TrainingDiverged
from .loop import Run, first_bad
from .newton import ARMIJO

__all__ = ["SearchRun", "backtrack"]

HALVINGS = 60          # t = 1 down to 2**-59
ROUNDING = 8 * np.finfo(float).eps


def backtrack(value, x, loss, g, p):
    """(t, x + t p, what ``value`` returned there) for the first t = 1, 1/2, ... whose loss is
    finite and lowers ``loss`` enough; None when no such t exists. ``value(x)`` returns the
    loss, or a tuple whose first entry is the loss."""
    slope = float(g @ p)
    t = 1.0
    for _ in range(HALVINGS):
        trial = x + t * p
        out = value(trial)
        new = float(out[0] if isinstance(out, tuple) else out)
        if math.isfinite(new):
            wanted = ARMIJO * t * slope
            if new <= loss + wanted or (-wanted <= ROUNDING * abs(loss) and new <= loss):
                return t, trial, out
        t /= 2
    return None


class SearchRun(Run):
    """``Run`` for a line-search optimizer; ``hessian`` is the generated value_grad_hessian
    (None for L-BFGS, which needs only the gradient)."""

    def __init__(self, f, optimizer, start, train, val, patience, progress, hessian=None):
        super().__init__(f, optimizer, start, train, val, None, patience, progress)
        self.optimizer, self.hessian = optimizer, hessian
        self.shapes = [np.shape(v) for v in start]
        self.converged = False

    def flat(self, values):
        return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values])

    def unflat(self, x):
        out, k = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            part = x[k:k + size]
            out.append(part[0] if shape == () else part.reshape(shape))
            k += size
        return out

    def evaluate(self, values):
        """(loss, grads, H or None) at ``values`` on the training data."""
        if self.hessian is not None:
            return self.hessian(*values, *self.train)
        loss, grads = self.f.raw(*values, *self.train)
        return loss, grads, None

    def _loop(self, steps):
        state, values, monitored = self.update, self.values, self.val is not None or self.patience
        tick = self.progress.next
        loss, grads, H = self.evaluate(values)
        x = self.flat(values)
        for step in range(steps):
            self._check(step, loss, grads, H)
            self.history.append(loss)
            if monitored and self._monitor(step, values, loss):
                break
            if step == tick:
                tick = self.progress.tick(step, loss)
            g = self.flat(grads)
            if not np.any(g) or float(np.linalg.norm(g)) <= self.optimizer.tol:
                self.converged = True
                break
            found = backtrack(self._value, x, float(loss), g, state.direction(g, _matrix(H)))
            if found is None or np.array_equal(found[1], x):
                self.converged = True
                break
            _, x_new, out = found
            values = self.unflat(x_new)
            if self.hessian is None:
                loss, grads = out
            elif step + 1 < steps:                # the last point needs no Hessian
                loss, grads, H = self.evaluate(values)
            else:
                grads = None
            if grads is not None:
                state.accepted(x_new - x, self.flat(grads) - g)
            x = x_new
        self.values, self.grads = values, grads

    def _value(self, x):
        values = self.unflat(x)
        if self.hessian is not None:
            return self.f.raw_value(*values, *self.train)
        return self.f.raw(*values, *self.train)

    def _check(self, step, loss, grads, H):
        if not math.isfinite(loss):
            self._non_finite(step, loss, None)
        bad = first_bad(self.f.wrt, grads)
        if bad is not None:
            raise TrainingDiverged("training stopped at step %d: the gradient of %s is non-finite "
                                   "where the loss is %.6g" % (step, bad, loss), step=step)
        if H is not None and not np.all(np.isfinite(H)):
            raise TrainingDiverged("training stopped at step %d: the Hessian is non-finite where "
                                   "the loss is %.6g; use LBFGS, which needs no Hessian"
                                   % (step, loss), step=step)

    def result(self, symbols):
        res = super().result(symbols)
        res.converged = self.converged
        return res


def _matrix(H):
    return None if H is None else np.atleast_2d(np.asarray(H, dtype=float))
