"""Stable forms, rewritten on the graph before code generation: the two phases.

People write the sigmoid as 1/(1 + exp(-z)) and cross-entropy as
-y*log(sigmoid) - (1 - y)*log(1 - sigmoid); printed as written, such code
returns inf or NaN once |z| passes a few hundred. ``stabilize`` recognises
these patterns however they are written and replaces them with stable nodes.
Each pattern is one named rewrite (``symgrad.rewrite.names()`` lists them, in the
order they are tried; ``exclude=`` switches some off):

    layout.py    (stabilize only) transposes moved down to the leaves, so a pattern seen
                 through a transpose is the pattern; log-sum-exp along rows, columns or
                 every entry
    powers.py    1/(1 + exp(-z)) -> Sigmoid(z); sigmoid(z)^q and (1 + e^u)^q, q not an
                 integer -> exp(-q Softplus(-z)), exp(q Softplus(u)); sqrt(u^2 + v^2 + c)
                 -> hypot(hypot(u, v), sqrt(c))
    logs.py      log(exp(u)) -> u; log(Sigmoid(z)) -> -Softplus(-z); log of a row softmax
                 (also under a transpose); log(cosh(u)); log(e^u - 1), log(1 - e^u) ->
                 log1mexp forms; log(erfc(u)) -> log_ndtr; log(e^a - e^b); log-sum-exp of
                 scalars and along any axis; log of positive factors split into stable
                 logs; log(1 + exp(z)) -> Softplus(z); log(1 + x) -> log1p(x); log1p(+-e^u),
                 log1p(-sigmoid(u)); log1p(u^2) -> 2 log|u| + log1p(u^-2) past |u| = 1
    sums.py      sigmoid(u) - sigmoid(-u) -> tanh(u/2); sigmoid(a) - sigmoid(b) as a product;
                 1 - tanh(u)^2 -> Sech2(u); softplus(u) - softplus(-u) -> u; softplus(u) -
                 u -> Softplus(-u); z_k - LogSumExp(z) -> LogSoftmax(k, z) (row- and
                 column-wise); 1 - Sigmoid(z) -> Sigmoid(-z); exp(x) - 1 -> expm1(x); x^p - 1
                 -> expm1(p log x); 1 +- erf, 1 - erfc, 2 - erfc -> erfc and erf
    products.py  exp(z)/(1 + exp(z)) -> Sigmoid(z); exp(a)/sum(exp) -> exp(a - LogSumExp)
                 (any axis); e^(k v^2) erfc(v)^k -> erfcx(v)^k; sigmoid odds -> exp;
                 expm1(p q)/p -> q exprel(p q); (e^a - e^b)/(e^a + e^b) -> tanh((a - b)/2);
                 x*where(c, 1, 0) -> where(c, x, 0); x*log(y) -> XLogY(x, y)
    branches.py  where(c, where(c, a, _), b) -> where(c, a, b)

``stabilize`` runs on the loss before differentiation, so the gradient is derived
from the stable form (whose rules are stable too), and ``cleanup`` again on the
loss and the gradients together. Neither changes the mathematics, and what
``grad`` shows the user is never rewritten.
"""

from typing import Iterable

import sympy as sp

# the rewrites, registered in the order they are listed (the order within one op is their priority)
from . import layout, powers, logs, sums, products, branches  # noqa: F401,I001
from .database import run

__all__ = ["stabilize", "cleanup"]


def stabilize(graph, out, exclude: Iterable[str] = ()):
    """Stable forms of the loss node ``out`` in ``graph`` (phase "stabilize"), without the
    rewrites named in ``exclude``. Returns the new loss node.

    >>> import sympy as sp
    >>> from symgrad.graph.ir import Graph
    >>> g = Graph(); z = g.leaf(sp.Symbol("z"))
    >>> stabilize(g, g.apply(sp.log, g.apply(sp.exp, z))) is z
    True
    """
    return run(graph, [out], "stabilize", exclude)[0]


def cleanup(graph, outs, stable: bool = True, exclude: Iterable[str] = ()):
    """The loss and gradient nodes ``outs`` ready to print: a step's derivative (DiracDelta)
    is 0 away from the step, always; with ``stable``, also the stable forms (phase
    "cleanup", without ``exclude``). Returns the new output nodes, in order.

    >>> import sympy as sp
    >>> from symgrad.graph.ir import Graph
    >>> g = Graph(); x = g.leaf(sp.Symbol("x"))
    >>> cleanup(g, [g.apply(sp.DiracDelta, x)], stable=False)[0].value
    0
    """
    def no_dirac_delta(n, args):
        return graph.const(0) if n.op is sp.DiracDelta else None
    outs = graph.rebuild(outs, no_dirac_delta)
    return run(graph, outs, "cleanup", exclude) if stable else outs
