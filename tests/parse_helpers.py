"""Shared fixtures of the parser tests: symbols, declared matrices, and a hang guard."""
import contextlib
import signal

import sympy as sp

from symgrad.parse.expr import dimension

x, y, z, w, b = sp.symbols("x y z w b", real=True)
n, d, k = dimension("n"), dimension("d"), dimension("k")
R = sp.Rational
MATS = {"X": ("n", "d"), "W": ("d", "k"), "Y": ("n", "k"), "S": ("n", "n"), "v": ("n", 1),
        "B": (1, "k"), "A": (2, 3)}
X, W, Y, S = (sp.MatrixSymbol(s, *shape) for s, shape in
              [("X", (n, d)), ("W", (d, k)), ("Y", (n, k)), ("S", (n, n))])
v, B, A = sp.MatrixSymbol("v", n, 1), sp.MatrixSymbol("B", 1, k), sp.MatrixSymbol("A", 2, 3)


class Hang(BaseException):
    """Raised by the alarm; a BaseException, so no parser fallback can swallow it."""


@contextlib.contextmanager
def no_hang(seconds=5):
    """Fail (instead of hanging the suite) if the body runs for more than ``seconds``."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def alarm(*_):
        raise Hang("parsing took more than %d s" % seconds)
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def canon(e):
    """Rename the Dummy variables of elementwise Lambdas, so == compares structure."""
    t = sp.Symbol("t_")
    return e.xreplace({dummy: t for dummy in e.atoms(sp.Dummy)})


def relu_of(M):
    return M.applyfunc(lambda t: sp.Max(0, t))
