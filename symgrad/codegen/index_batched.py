"""A batched matrix product printed as ``@``: NumPy's matmul loops BLAS over the batch axes,
where ``np.einsum`` of two operands with a batch index has no BLAS path.

``batched_matmul(em, a, b, out)`` prints Σ_c a[..., c] b[..., c] as ``A @ B`` when the two
arrays share batch indices (kept in the output) and exactly one contracted index, and each
has at most one index of its own; the operands are permuted (views) into
(batch..., own, c) and (batch..., c, own) and the output must come out in ``out``'s order.

>>> order_text("t", ("b", "t", "s"), ("b", "s", "t"))
't.swapaxes(-1, -2)'
>>> order_text("t", ("a", "b", "c"), ("c", "a", "b"))
'np.transpose(t, (2, 0, 1))'
"""

from __future__ import annotations

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


def batched_matmul(em, a, b, out):
    """``(text, precedence)`` of the product, or None when it is not a batched product."""
    ia, ib, out = tuple(em.ax(a)), tuple(em.ax(b)), tuple(out)
    shared = set(ia) & set(ib)
    batch = [i for i in out if i in shared]
    contracted = [i for i in shared if i not in out]
    own_a, own_b = [i for i in ia if i not in shared], [i for i in ib if i not in shared]
    if not batch or len(contracted) != 1 or len(own_a) > 1 or len(own_b) > 1 or \
            set(out) != set(batch) | set(own_a) | set(own_b) or tuple(out[:len(batch)]) != tuple(batch):
        return None
    (c,) = contracted
    rest = out[len(batch):]
    if tuple(own_b + own_a) == rest and tuple(own_a + own_b) != rest:
        a, b, ia, ib, own_a, own_b = b, a, ib, ia, own_b, own_a
    if tuple(own_a + own_b) != rest:
        return None
    left = order_text(em.wrap(em.ref(a), CALL), ia, tuple(batch + own_a + [c]))
    right = order_text(em.wrap(em.ref(b), CALL), ib, tuple(batch + [c] + own_b))
    if not own_a:
        left = "%s[..., None, :]" % left
    if not own_b:
        right = "%s[..., None]" % right
    text = "(%s @ %s)" % (left, right)
    if not own_a:
        text += "[..., 0, :]" if own_b else "[..., 0, 0]"
    elif not own_b:
        text += "[..., 0]"
    return text, MATMUL if own_a and own_b else CALL
