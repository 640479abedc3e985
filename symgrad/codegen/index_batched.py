"""Two-array contractions printed as a batched ``@``: NumPy's matmul calls small BLAS
products in a loop over the batch axes, where ``np.einsum`` of two operands either has no
BLAS path (a batch index) or makes one large product through copies (``optimize=True``).

``batched_matmul(em, a, b, out)`` prints Σ a b over the indices the two arrays share and
``out`` drops as ``A @ B``: one summed index ``c`` is the product's inner axis, every other
index is a batch axis (a new axis ``None`` in the operand that lacks it, so NumPy
broadcasts), one index of each operand's own is its row or column, and the other summed
indices are added up afterwards with ``np.sum``. Arrays of rank at most 2 with no batch
are left to the plain ``A @ B`` of the emitter, and row-wise dot products (no row and no
column) to einsum's own loop; None means "print an einsum".

>>> order_text("t", ("b", "t", "s"), ("b", "s", "t"))
't.swapaxes(-1, -2)'
>>> order_text("t", ("a", "b", "c"), ("c", "a", "b"))
'np.transpose(t, (2, 0, 1))'
"""

from __future__ import annotations

import itertools

from .printer import CALL

__all__ = ["batched_matmul", "order_text"]

MATMUL = 45


def order_text(text, have, want):
    """``text`` (an array with axes ``have``) as a view with axes in the order ``want``."""
    perm = tuple(have.index(i) for i in want)
    if perm == tuple(range(len(perm))):
        return text
    if perm == tuple(range(len(perm) - 2)) + (len(perm) - 1, len(perm) - 2):
        return "%s.swapaxes(-1, -2)" % text
    return "np.transpose(%s, %s)" % (text, perm)


def _plan(ia, ib, out):
    """(a first?, r, s, c, batch, summed) for the product, or None."""
    shared = [i for i in ia if i in ib]
    contracted = [i for i in shared if i not in out]
    if not contracted or (set(ia) | set(ib)) - set(out) - set(shared) or not (set(out) <= set(ia) | set(ib)):
        return None
    c, summed = contracted[-1], contracted[:-1]
    best = None
    for first in (True, False):
        x, y = (ia, ib) if first else (ib, ia)
        own_x = [i for i in x if i not in shared] or [None]
        own_y = [i for i in y if i not in shared] or [None]
        for r, s in itertools.product(own_x, own_y):
            batch = [i for i in out if i not in (r, s)]
            kept = batch + [i for i in (r, s) if i is not None]
            cost = (kept != list(out), r is None or s is None, not first)
            if best is None or cost < best[0]:
                best = (cost, (first, r, s, c, batch + summed, summed))
    if not best[1][4] or (best[1][1] is None and best[1][2] is None):
        return None                      # no batch (the emitter's plain A @ B), or row-wise dots
    return best[1]


def _operand(em, node, batch, inner):
    """The operand's text with axes (batch..., inner[0], inner[1]); None where it lacks one."""
    have = tuple(em.ax(node))
    mine = [i for i in batch if i in have] + [i for i in inner if i is not None]
    text = order_text(em.wrap(em.ref(node), CALL), have, tuple(mine))
    keys = [":" if i in have else "None" for i in batch] + \
        [":" if i is not None else "None" for i in inner]
    if any(k == "None" for k in keys):
        text = "%s[%s]" % (text, ", ".join(keys))
    return text


def batched_matmul(em, a, b, out):
    """``(text, precedence)`` of the product, or None when an einsum is the better print."""
    plan = _plan(tuple(em.ax(a)), tuple(em.ax(b)), tuple(out))
    if plan is None:
        return None
    first, r, s, c, batch, summed = plan
    x, y = (a, b) if first else (b, a)
    text = "%s @ %s" % (_operand(em, x, batch, (r, c)), _operand(em, y, batch, (c, s)))
    axes = batch + [r, s]
    if r is None or s is None:
        text = "(%s)[..., %s]" % (text, "0, 0" if r is None and s is None else "0, :" if r is None
                                  else "0")
        axes = batch + [i for i in (r, s) if i is not None]
    if summed:
        positions = tuple(axes.index(i) for i in summed)
        text = "np.sum(%s, axis=%s)" % (text, positions[0] if len(positions) == 1 else positions)
        axes = [i for i in axes if i not in summed]
    text = order_text("(%s)" % text if not text.startswith("np.") and not text.endswith("]")
                      else text, tuple(axes), tuple(out))
    return text, CALL if text.endswith((")", "]")) else MATMUL
