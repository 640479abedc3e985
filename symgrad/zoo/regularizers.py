"""Regularizers: L1, L2 and elastic net, over a Symbol, a list of them, or MatrixSymbols.

Each returns a plain SymPy expression to add to a loss (also exported by
``symgrad.losses``).
"""

import sympy as sp

from ..errors import ArgumentError
from ..ops.nodes import SumAll

__all__ = ["l1", "l2", "elastic_net"]

_u = sp.Dummy("u", real=True)


def _is_matrix(x):
    return getattr(x, "is_Matrix", False)


def _params(name, params):
    items = list(params) if isinstance(params, (list, tuple)) else [params]
    if not items:
        raise ArgumentError("%s: no parameters given; pass a Symbol, a MatrixSymbol or a list" % name)
    out = [sp.sympify(w) for w in items]
    for w in out:
        if not (isinstance(w, sp.Expr) or _is_matrix(w)):
            raise ArgumentError("%s: %r is not a parameter; pass Symbols or MatrixSymbols" % (name, w))
    return out


def l1(params: "sp.Expr | list", strength: "sp.Expr | float" = 1) -> sp.Expr:
    """L1 penalty strength * sum |w| over Symbols and every entry of MatrixSymbols.

    >>> w1, w2 = sp.symbols("w1 w2")
    >>> l1([w1, w2], strength=sp.Rational(1, 10))
    Abs(w1)/10 + Abs(w2)/10
    """
    terms = [SumAll(w.applyfunc(sp.Lambda(_u, sp.Abs(_u)))) if _is_matrix(w) else sp.Abs(w) for w in _params("l1", params)]
    return sp.sympify(strength) * sp.Add(*terms)


def l2(params: "sp.Expr | list", strength: "sp.Expr | float" = 1) -> sp.Expr:
    """L2 penalty strength * sum w**2 (the squared Euclidean / Frobenius norm).

    >>> w1, w2 = sp.symbols("w1 w2")
    >>> l2([w1, w2], strength=2)
    2*w1**2 + 2*w2**2
    """
    terms = [SumAll(sp.HadamardProduct(w, w)) if _is_matrix(w) else w**2 for w in _params("l2", params)]
    return sp.sympify(strength) * sp.Add(*terms)


def elastic_net(params: "sp.Expr | list", alpha: "sp.Expr | float" = 1,
                l1_ratio: "sp.Expr | float" = sp.Rational(1, 2)) -> sp.Expr:
    """Elastic net (scikit-learn's convention): alpha (l1_ratio |w|_1 + (1 - l1_ratio)/2 |w|_2**2).

    >>> w = sp.Symbol("w")
    >>> elastic_net([w], alpha=2, l1_ratio=sp.Rational(1, 4))
    3*w**2/4 + Abs(w)/2
    """
    r = sp.sympify(l1_ratio)
    if r.is_number and not (0 <= r <= 1):
        raise ArgumentError("elastic_net: l1_ratio must lie in [0, 1], got %s" % r)
    a = sp.sympify(alpha)
    return a * r * l1(params) + a * (1 - r) / 2 * l2(params)
