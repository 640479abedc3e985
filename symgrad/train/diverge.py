"""Why training diverged, and the largest stable learning rate when it can be known.

When the loss is quadratic in scalar parameters its Hessian is constant, and
each optimizer has a largest stable learning rate (``Optimizer.stable_lr``)
set by the Hessian's largest eigenvalue. The Hessian comes from the generated
gradient ``fit`` already compiled: the gradient of a quadratic is affine, so
column j of the Hessian is grad(e_j) - grad(0). Nothing is derived again.
"""

import math

import numpy as np
import sympy as sp

from ..errors import TrainingDiverged

__all__ = ["growing", "explain", "curvature"]


def growing(history, loss, params, f, train, optimizer):
    """Raise TrainingDiverged when a full-batch run ended above its starting loss with a
    learning rate past the stable limit of a quadratic loss: it is diverging, however slowly."""
    if len(history) < 2 or not history[-1] > history[0]:
        return
    top = curvature(loss, params, f, train)
    lr_max = optimizer.stable_lr(top) if top else None
    if lr_max is not None and optimizer.lr >= lr_max:
        raise TrainingDiverged("training diverged at step %d: the loss grew from %.6g to %.6g"
                               % (len(history) - 1, history[0], history[-1]), step=len(history) - 1)


def explain(err, loss, params, f, train, optimizer):
    """A TrainingDiverged saying what to do: the largest stable learning rate, when the loss
    is quadratic, else to lower the learning rate. An optimizer with no learning rate
    (a line search picks its steps) gets ``err`` as it is."""
    if optimizer.lr is None:
        return err
    top = curvature(loss, params, f, train)
    lr_max = optimizer.stable_lr(top) if top else None
    if lr_max is None:
        message = "%s; lower the learning rate (%r)" % (err, optimizer)
    else:
        message = ("%s. The loss is quadratic in %s and the Hessian of the mean training loss has "
                   "largest eigenvalue %.6g, so %s is stable only for lr < %.6g; got lr=%g: lower it"
                   % (err, ", ".join(map(str, params)), top, type(optimizer).__name__,
                      lr_max, optimizer.lr))
    return TrainingDiverged(message, step=err.step, max_stable_lr=lr_max)


def curvature(loss, params, f, train):
    """Largest eigenvalue of the mean training Hessian of a loss quadratic in scalar ``params``
    (the GradFunction ``f``'s parameters, in its order), or None for any other loss."""
    if not f.per_sample:
        return None
    try:
        if sp.Poly(loss, *params).total_degree() > 2:
            return None
    except sp.PolynomialError:
        return None
    zero = [0.0] * len(params)
    _, base = f.raw(*zero, *train)
    hessian = np.empty((len(params), len(params)))
    for j in range(len(params)):
        unit = list(zero)
        unit[j] = 1.0
        _, column = f.raw(*unit, *train)
        hessian[:, j] = [float(g) - float(g0) for g, g0 in zip(column, base)]
    if not np.all(np.isfinite(hessian)):
        return None
    top = float(np.max(np.linalg.eigvalsh((hessian + hessian.T) / 2)))
    return top if top > 0 and math.isfinite(top) else None
