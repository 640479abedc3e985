"""Kronecker-form Hessian blocks as ``numpy.einsum`` calls, with no Kronecker product formed.

A term c * F1 F2 ... Fm (``derive/kronecker.py``) maps vec of a p x q matrix to vec of an
r x s one. Each factor is a four-index tensor between two boundaries, each boundary a pair
of indices (row, column of the matrix being vec'd):

    A ⊗ B        A[o1, i1] B[o2, i2]
    diag(vec M)  M[o1, o2], with i1 = o1 and i2 = o2
    K(p, q)      i1 = o2 and i2 = o1

Identities join their two indices, so ``(Xᵀ ⊗ I) diag(vec S) (X ⊗ I)`` becomes
``einsum('ia,ij,ib->ajbj')``-like contractions over the data, never an nk x nk matrix.
An identity that would join two indices of the result (a diagonal block) is kept as an
``eye`` operand of its own size. ``plan(term)`` returns the subscripts, the operands
(matrix expressions, or ("eye", size) and ("ones", rows, cols)) and the result's
(r, s, p, q) sizes; ``einsum_line`` prints it.
"""

from __future__ import annotations

import string

import sympy as sp

__all__ = ["plan", "LETTERS"]

LETTERS = string.ascii_letters


class _Indices:
    """Union-find over index labels that refuses to join two labels of the result."""

    def __init__(self):
        self.parent, self.size, self.output = [], [], []

    def new(self, size):
        self.parent.append(len(self.parent))
        self.size.append(size)
        self.output.append(False)
        return len(self.parent) - 1

    def find(self, a):
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def join(self, a, b, eyes):
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.output[ra] and self.output[rb]:
            eyes.append((ra, rb))
            return
        self.parent[rb] = ra
        self.output[ra] = self.output[ra] or self.output[rb]


def plan(term, in_shape):
    """(subscripts, operands, sizes) of one term acting on vec of an ``in_shape`` matrix."""
    ix = _Indices()
    shapes = [f.out_shape for f in term.factors] + [tuple(in_shape)]
    if not term.factors:                        # the identity: vec(V) to itself
        shapes = [tuple(in_shape), tuple(in_shape)]
    bounds = [(ix.new(r), ix.new(c)) for r, c in shapes]
    for label in bounds[0] + bounds[-1]:
        ix.output[label] = True
    operands, eyes = [], []
    for t, f in enumerate(term.factors):
        (o1, o2), (i1, i2) = bounds[t], bounds[t + 1]
        if f.kind == "kron":
            for m, o, i in zip(f.args, (o1, o2), (i1, i2)):
                _matrix_operand(m, o, i, ix, operands, eyes)
        elif f.kind == "diag":
            operands.append((f.args[0], (o1, o2)))
            ix.join(o1, i1, eyes)
            ix.join(o2, i2, eyes)
        else:
            ix.join(o1, i2, eyes)
            ix.join(o2, i1, eyes)
    if not term.factors:
        for a, b in zip(bounds[0], bounds[-1]):
            ix.join(a, b, eyes)
    out = [ix.find(a) for a in bounds[0] + bounds[-1]]
    for a, b in eyes:
        operands.append((("eye", ix.size[a]), (a, b)))
    roots = sorted({ix.find(a) for _, labels in operands for a in labels} | set(out))
    if len(roots) > len(LETTERS):
        raise ValueError("a Kronecker term with more than %d indices" % len(LETTERS))
    letter = {r: LETTERS[k] for k, r in enumerate(roots)}
    subscripts = ",".join("".join(letter[ix.find(a)] for a in labels) for _, labels in operands)
    subscripts += "->" + "".join(letter[r] for r in out)
    sizes = tuple(ix.size[a] for a in bounds[0] + bounds[-1])
    return subscripts, [m for m, _ in operands], sizes


def _matrix_operand(m, o, i, ix, operands, eyes):
    if isinstance(m, sp.Identity):
        ix.join(o, i, eyes)
    elif isinstance(m, sp.OneMatrix):
        operands.append((("ones",) + tuple(m.shape), (o, i)))
    else:
        operands.append((m, (o, i)))


def _is_constant(m):
    return isinstance(m, tuple)


def staged(subscripts, operands):
    """The one contraction split so that BLAS does the work: with a single summed index c
    (the samples), the operands of the result's row indices are multiplied into P[c, rows],
    those of its column indices into Q[c, cols], and one einsum of P, Q and the identities
    contracts c (a matrix product). Returns (subscripts, items), an item an operand or a
    nested (subscripts, items); ones whose indices occur elsewhere are dropped (all 1)."""
    inputs, output = subscripts.split("->")
    labels = inputs.split(",")
    counts = {}
    for lab in labels:
        for ch in set(lab):
            counts[ch] = counts.get(ch, 0) + 1
    keep = [(lab, m) for lab, m in zip(labels, operands)
            if not (_is_constant(m) and m[0] == "ones" and
                    all(ch in output or counts[ch] > 1 for ch in lab))]
    summed = {ch for lab, _ in keep for ch in lab} - set(output)
    if len(summed) != 1:
        return _flat(keep, output)
    (c,) = summed
    sides = [set(output[:2]) | {c}, set(output[2:]) | {c}]
    groups, rest = ([], []), []
    for lab, m in keep:
        if _is_constant(m):
            rest.append((lab, m))
            continue
        side = next((k for k in (0, 1) if set(lab) <= sides[k]), None)
        if side is None:
            return _flat(keep, output)
        groups[side].append((lab, m))
    if not groups[0] or not groups[1]:
        return _flat(keep, output)
    parts = []
    for group in groups:
        present = "".join(ch for ch in output if any(ch in lab for lab, _ in group))
        parts.append((c + present, _flat(group, c + present) if len(group) > 1 else group[0][1]))
    parts += rest
    return _flat(parts, output)


def _flat(pairs, output):
    return ",".join(lab for lab, _ in pairs) + "->" + output, [m for _, m in pairs]
