"""Optimizers for ``fit``: small classes, one update rule each.

An optimizer holds hyperparameters only. ``fit`` calls ``start(params)`` once
per run, which returns a fresh ``update(params, grads) -> new params`` with its
own state (velocities, moment estimates), so one optimizer object can serve
many runs. Parameters are never modified in place: each update returns new
values, so a reference to an earlier step's parameters stays valid.

``batch_size=None`` is full-batch; an int makes the run mini-batch (``SGD``
always is): the data are shuffled every epoch, seeded by ``fit(seed=...)``.

The update rules, with g the gradient at the current parameters p:

    GD, SGD    p <- p - lr g
    Momentum   v <- mu v + g;            p <- p - lr v
    Nesterov   v <- mu v + g;            p <- p - lr (g + mu v)
    Adam       m <- b1 m + (1 - b1) g;   s <- b2 s + (1 - b2) g**2;
               p <- p - lr (m / (1 - b1**t)) / (sqrt(s / (1 - b2**t)) + eps)

Nesterov is the reformulation used by PyTorch and Keras, which needs the
gradient only at p.
"""

import inspect
import math
from collections.abc import Callable
from types import ModuleType

import numpy as np

from ..errors import ArgumentError

__all__ = ["Optimizer", "GD", "SGD", "Momentum", "Nesterov", "Adam", "OPTIMIZERS", "make_optimizer"]


def _number(owner, name, value, low, high, low_open=True, high_open=True):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentError("%s: %s must be a number, got %r" % (owner, name, value))
    v = float(value)
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and \
        (high is None or (v < high if high_open else v <= high))
    if not ok:
        span = "%s%s, %s%s" % ("(" if low_open else "[", low, "inf" if high is None else high,
                                ")" if high_open or high is None else "]")
        raise ArgumentError("%s: %s must be finite and in %s, got %r" % (owner, name, span, value))
    return v


def _batch(owner, batch_size, required=False):
    if batch_size is None and not required:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ArgumentError("%s: batch_size must be a positive int%s, got %r"
                            % (owner, "" if required else " or None (full batch)", batch_size))
    return int(batch_size)


class Optimizer:
    """Base class: ``lr``, ``batch_size``, ``start(params)`` and ``stable_lr(curvature)``."""

    lr = None
    batch_size = None

    def start(self, params: list) -> Callable:
        """A fresh update function ``update(params, grads) -> new params`` for one run."""
        state = [self.initial(params, np)]

        def update(params, grads):
            state[0], new = self.step(state[0], params, grads, np)
            return new
        return update

    def initial(self, params: list, xp: "ModuleType" = np) -> tuple:
        """The optimizer's state before the first step, in array module ``xp`` (NumPy, jax.numpy
        or torch): ``start`` for NumPy, and jitted JAX steps (``fit(..., backend="jax")``)."""
        return ()

    def step(self, state: tuple, params: list, grads: list, xp: "ModuleType" = np) -> tuple:
        """One update as a pure function: (state, params, grads) -> (new state, new params)."""
        raise NotImplementedError

    def stable_lr(self, curvature: float) -> float | None:
        """The largest stable lr on a quadratic whose Hessian's top eigenvalue is ``curvature``."""
        return None

    def __repr__(self):
        fields = ", ".join("%s=%r" % (k, v) for k, v in vars(self).items() if v is not None)
        return "%s(%s)" % (type(self).__name__, fields)


class GD(Optimizer):
    """Full-batch gradient descent, W <- W - lr * dL/dW (the article's update).

    >>> opt = GD(lr=0.1)
    >>> update = opt.start([1.0])
    >>> update([1.0], [2.0])
    [0.8]
    """

    def __init__(self, lr: float = 0.01):
        self.lr = _number("GD", "lr", lr, 0, None)

    def step(self, state: tuple, params: list, grads: list, xp: "ModuleType" = np) -> tuple:
        lr = self.lr
        return state, [p - lr * g for p, g in zip(params, grads)]

    def stable_lr(self, curvature: float) -> float | None:
        return 2.0 / curvature


class SGD(GD):
    """Mini-batch stochastic gradient descent: GD's update on a shuffled batch per step.

    One step is one batch; an epoch is ceil(samples / batch_size) steps.

    >>> SGD(lr=0.05, batch_size=16)
    SGD(lr=0.05, batch_size=16)
    """

    def __init__(self, lr: float = 0.01, batch_size: int = 32):
        self.lr = _number("SGD", "lr", lr, 0, None)
        self.batch_size = _batch("SGD", batch_size, required=True)


class Momentum(Optimizer):
    """Heavy-ball momentum: v <- mu v + g, p <- p - lr v (v starts at zero).

    >>> update = Momentum(lr=0.1, momentum=0.5).start([0.0])
    >>> [float(p) for p in update([0.0], [1.0])], [float(p) for p in update([0.0], [1.0])]
    ([-0.1], [-0.15000000000000002])
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, batch_size: int | None = None):
        self.lr = _number("Momentum", "lr", lr, 0, None)
        self.momentum = _number("Momentum", "momentum", momentum, 0, 1, low_open=False)
        self.batch_size = _batch("Momentum", batch_size)

    def initial(self, params: list, xp: "ModuleType" = np) -> tuple:
        return ([_zeros(p, xp) for p in params],)

    def step(self, state: tuple, params: list, grads: list, xp: "ModuleType" = np) -> tuple:
        lr, mu = self.lr, self.momentum
        velocity = [mu * v + g for v, g in zip(state[0], grads)]
        return (velocity,), [p - lr * v for p, v in zip(params, velocity)]

    def stable_lr(self, curvature: float) -> float | None:
        return 2.0 * (1.0 + self.momentum) / curvature


class Nesterov(Momentum):
    """Nesterov momentum (PyTorch form): v <- mu v + g, p <- p - lr (g + mu v).

    >>> update = Nesterov(lr=0.1, momentum=0.5).start([0.0])
    >>> [float(p) for p in update([0.0], [1.0])]
    [-0.15000000000000002]
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, batch_size: int | None = None):
        self.lr = _number("Nesterov", "lr", lr, 0, None)
        self.momentum = _number("Nesterov", "momentum", momentum, 0, 1, low_open=False)
        self.batch_size = _batch("Nesterov", batch_size)

    def step(self, state: tuple, params: list, grads: list, xp: "ModuleType" = np) -> tuple:
        lr, mu = self.lr, self.momentum
        velocity = [mu * v + g for v, g in zip(state[0], grads)]
        return (velocity,), [p - lr * (g + mu * v) for p, g, v in zip(params, grads, velocity)]

    def stable_lr(self, curvature: float) -> float | None:
        mu = self.momentum
        return 2.0 * (1.0 + mu) / ((1.0 + 2.0 * mu) * curvature)


class Adam(Optimizer):
    """Adam (Kingma and Ba 2015, Algorithm 1), with bias-corrected moment estimates.

    >>> update = Adam(lr=0.1).start([0.0])
    >>> [float(p) for p in update([0.0], [3.0])]   # the first step moves by lr, whatever the scale
    [-0.09999999966666669]
    """

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 batch_size: int | None = None):
        self.lr = _number("Adam", "lr", lr, 0, None)
        self.beta1 = _number("Adam", "beta1", beta1, 0, 1, low_open=False)
        self.beta2 = _number("Adam", "beta2", beta2, 0, 1, low_open=False)
        self.eps = _number("Adam", "eps", eps, 0, None)
        self.batch_size = _batch("Adam", batch_size)

    def initial(self, params: list, xp: "ModuleType" = np) -> tuple:
        return 0, [_zeros(p, xp) for p in params], [_zeros(p, xp) for p in params]

    def step(self, state: tuple, params: list, grads: list, xp: "ModuleType" = np) -> tuple:
        lr, b1, b2, eps = self.lr, self.beta1, self.beta2, self.eps
        t, m, s = state
        t = t + 1
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        m = [b1 * mi + (1.0 - b1) * g for mi, g in zip(m, grads)]
        s = [b2 * si + (1.0 - b2) * (g * g) for si, g in zip(s, grads)]
        return (t, m, s), [p - lr * (mi / c1) / (xp.sqrt(si / c2) + eps)
                           for p, mi, si in zip(params, m, s)]


def _zeros(p, xp):
    """A zero state shaped like parameter ``p``: float64 in NumPy, ``p``'s own dtype otherwise."""
    return np.zeros_like(np.asarray(p, dtype=float)) if xp is np else xp.zeros_like(p)


OPTIMIZERS = {"gd": GD, "sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam}


def make_optimizer(name: str, **hyperparameters) -> "Optimizer":
    """An optimizer from its name (gd, sgd, momentum, nesterov, adam, newton, lbfgs) and
    hyperparameters.

    Hyperparameters left out or None take the class defaults (e.g. a command
    line that passes ``lr=None`` when no --lr was given).

    >>> make_optimizer("adam", lr=0.01, batch_size=None)
    Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-08)
    """
    from .newton import SEARCHERS          # newton.py builds on this module
    known = {**OPTIMIZERS, **SEARCHERS}
    cls = known.get(str(name).lower())
    if cls is None:
        raise ArgumentError("unknown optimizer %r; use one of %s" % (name, ", ".join(known)))
    given = {k: v for k, v in hyperparameters.items() if v is not None}
    accepted = list(inspect.signature(cls).parameters)
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ArgumentError("%s takes %s; %s is not one of them"
                            % (cls.__name__, ", ".join(accepted), ", ".join(unknown)))
    return cls(**given)
