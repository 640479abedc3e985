"""Optimizers that choose their own step: damped Newton and L-BFGS.

Both see the parameters as one vector x, every parameter's entries in order
(row-major), which is how ``value_grad_hessian`` lays out its Hessian. ``fit``
runs them with ``SearchRun`` (``search.py``): at each step the optimizer gives
a descent direction p, and a backtracking line search takes the first of
t = 1, 1/2, 1/4, ... whose loss satisfies the sufficient-decrease (Armijo)
condition L(x + t p) <= L(x) + c t g.p. Where that decrease is below the
rounding of L itself (near the optimum), it asks only L(x + t p) <= L(x). So
no accepted step ever raises the computed loss; when no step along p lowers
it, the run ends (converged as far as float arithmetic can tell).

The directions, with g the gradient and H the Hessian at x:

    Newton   (H + mu I) p = -g, with mu = 0 when H is positive definite (a Cholesky
             factorization exists), else mu = damping * max(1, max |H_ii|), grown
             tenfold until H + mu I is positive definite
    L-BFGS   p = -B g, B the inverse-Hessian estimate from the last ``memory``
             pairs (s, y) = (x_new - x, g_new - g) with s.y > 0, by the two-loop
             recursion (Nocedal and Wright, Algorithm 7.4), scaled by s.y / y.y

So on a quadratic with a positive definite Hessian the first Newton step is
the exact minimizer, whatever ``damping`` is.
"""

from collections import deque

import numpy as np

from ..errors import ArgumentError
from .optim import Optimizer, _number

__all__ = ["Newton", "LBFGS", "LineSearch", "SEARCHERS"]

ARMIJO = 1e-4          # c in the sufficient-decrease condition
MAX_SHIFTS = 60        # tenfold increases of the Newton shift before giving up


class LineSearch(Optimizer):
    """Base of the optimizers ``fit`` runs with a line search (no learning rate).

    ``start(x)`` returns a fresh state for one run with two methods:
    ``direction(g, H) -> p`` (H is None unless ``uses_hessian``) and
    ``accepted(s, y)``, told each accepted step s and the change y of the gradient.
    """

    uses_hessian = False
    tol = 0.0

    def start(self, x: np.ndarray) -> object:
        """A fresh search state for one run starting at the flat parameter vector ``x``."""
        raise NotImplementedError


def _tolerance(owner, tol):
    return _number(owner, "tol", tol, 0, None, low_open=False)


class Newton(LineSearch):
    """Damped Newton's method with a backtracking line search; needs the Hessian.

    ``damping`` is the shift mu (relative to the Hessian's largest diagonal entry) tried
    first when the Hessian is not positive definite; ``tol`` ends the run once the
    gradient's Euclidean norm is at most ``tol``.

    >>> import numpy as np
    >>> state = Newton().start(np.zeros(2))
    >>> state.direction(np.array([2.0, -1.0]), np.array([[4.0, 0.0], [0.0, 16.0]])).tolist()
    [-0.5, 0.0625]
    """

    uses_hessian = True

    def __init__(self, damping: float = 1e-6, tol: float = 0.0):
        self.damping = _number("Newton", "damping", damping, 0, None, low_open=False)
        self.tol = _tolerance("Newton", tol)

    def start(self, x: np.ndarray) -> "_NewtonState":
        return _NewtonState(self.damping)


class _NewtonState:
    def __init__(self, damping):
        self.damping = damping

    def direction(self, g, H):
        H = (H + H.T) / 2
        scale = max(1.0, float(np.max(np.abs(np.diag(H)))))
        mu = 0.0
        for _ in range(MAX_SHIFTS):
            try:
                factor = np.linalg.cholesky(H + mu * np.eye(len(g)) if mu else H)
            except np.linalg.LinAlgError:
                mu = max(10 * mu, self.damping * scale, np.finfo(float).eps * scale)
                continue
            p = -_cholesky_solve(factor, g)
            return p if float(g @ p) < 0 else -g
        return -g

    def accepted(self, s, y):
        pass


def _cholesky_solve(factor, g):
    from scipy.linalg import solve_triangular
    z = solve_triangular(factor, g, lower=True)
    return solve_triangular(factor.T, z, lower=False)


class LBFGS(LineSearch):
    """Limited-memory BFGS with a backtracking line search; needs only gradients.

    ``memory`` is the number of recent curvature pairs kept; ``tol`` ends the run once
    the gradient's Euclidean norm is at most ``tol``.

    >>> import numpy as np
    >>> state = LBFGS(memory=5).start(np.zeros(2))
    >>> state.direction(np.array([3.0, 4.0]), None).tolist()    # first step: along -g, length 1
    [-0.6, -0.8]
    """

    def __init__(self, memory: int = 10, tol: float = 0.0):
        if isinstance(memory, bool) or not isinstance(memory, (int, np.integer)) or memory < 1:
            raise ArgumentError("LBFGS: memory must be a positive int, got %r" % (memory,))
        self.memory = int(memory)
        self.tol = _tolerance("LBFGS", tol)

    def start(self, x: np.ndarray) -> "_LBFGSState":
        return _LBFGSState(self.memory)


class _LBFGSState:
    def __init__(self, memory):
        self.pairs = deque(maxlen=memory)

    def direction(self, g, H=None):
        if not self.pairs:
            return -g / max(1.0, float(np.linalg.norm(g)))
        q = g.copy()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * float(s @ q)
            q -= a * y
            alphas.append(a)
        s, y, _ = self.pairs[-1]
        r = q * (float(s @ y) / float(y @ y))
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            r += (a - rho * float(y @ r)) * s
        return -r if float(g @ r) > 0 else -g

    def accepted(self, s, y):
        sy = float(s @ y)
        if sy > np.finfo(float).eps * float(np.linalg.norm(s)) * float(np.linalg.norm(y)) and sy > 0:
            self.pairs.append((s, y, 1.0 / sy))


SEARCHERS = {"newton": Newton, "lbfgs": LBFGS}
