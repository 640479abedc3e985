"""verify(), step 4c: interval branch-and-bound over the assumed box (as dReal and MetiTarski do).

A scalar inequality d >= 0 (d > 0) whose symbols all have bounded intervals is proven by
covering the box with sub-boxes, each *certified*: an Arb enclosure of d over it (the
same evaluator verify certifies points with, ``numeric.enclose``) lies at or above 0.
A box is certified by the natural enclosure, by the mean-value form d(m) + grad d(B)(B - m),
or by monotonicity (where a partial derivative of d keeps its sign on the box, d is
smallest on one face, and the box shrinks to that face); otherwise it is bisected along
its widest side. The verdict is "proven" only when every sub-box is certified; a box where
d is certainly negative, or running out of boxes, ends the attempt with no proof. Points
where d is not defined are not admissible (verify's meaning of an inequality), so a box
on which d certainly has no value needs nothing.
"""

from __future__ import annotations

import sympy as sp
from flint import arb

from ..numeric.enclose import Tape, Undefined, ball_of
from ..ops.balls import interval
from .sample import rational_end

MAX_BOXES = 3000
MAX_SYMBOLS = 4
PREC = 96


def applicable(problem):
    """The symbols of the box and the oriented difference, or None when the claim is not a
    scalar inequality over a bounded box."""
    if problem.relation == "==" or problem.kind != "scalar" or problem.has_matrices \
            or problem.bases or problem.integers & set(problem.scalars):
        return None
    symbols = list(problem.scalars)
    if not symbols or len(symbols) > MAX_SYMBOLS:
        return None
    for s in symbols:
        box = problem.intervals[s]
        if box.lo is None or box.hi is None or box.is_point():
            return None
    d = problem.lhs - problem.rhs if problem.relation in (">=", ">") else problem.rhs - problem.lhs
    return symbols, d.xreplace(dict(problem.eliminated))


class _Prover:
    def __init__(self, d, symbols, strict, boxes):
        self.symbols, self.strict = symbols, strict
        self.d = Tape(d, symbols, box=True)
        # derivatives only where d is continuous (a Piecewise may jump: its diff forgets the jump)
        smooth = not d.has(sp.Piecewise)
        self.grad = [Tape(sp.diff(d, s), symbols, box=True) for s in symbols] if smooth else None
        self._d, self._higher = d, {}
        self.boxes = boxes
        self.count = 0

    def _balls(self, box):
        out = []
        for lo, hi in box:
            b = ball_of(lo) if lo == hi else interval(ball_of(lo), ball_of(hi))
            out.append(b.nonnegative_part() if lo >= 0 else b)
        return out

    def _derivative(self, i, k):
        """The tape of the k-th partial derivative of d along side i."""
        if (i, k) not in self._higher:
            self._higher[(i, k)] = Tape(sp.diff(self._d, self.symbols[i], k), self.symbols, box=True)
        return self._higher[(i, k)]

    def _eval(self, tape, box):
        """The enclosure over the box (at more bits where the box is a point and the
        enclosure straddles 0), or None where there is certainly no value."""
        point = all(lo == hi for lo, hi in box)
        try:
            for prec in (PREC, 512, 2048) if point else (PREC,):
                e = tape.run(self._balls(box), prec)
                if not (e.is_finite() and e.contains(0) and not e.is_zero()):
                    return e
            return e
        except Undefined:
            return None                          # certainly no value: no admissible point

    def _ok(self, e):
        return e is not None and e.is_finite() and (e > 0 if self.strict else e >= 0)

    def prove(self, box):
        stack = [(box, False)]
        while stack:
            self.count += 1
            if self.count > self.boxes:
                return False
            box, face = stack.pop()
            verdict = self._box(box, face)
            if verdict is False:
                return False
            if verdict is not True:
                stack.extend(verdict)
        return True

    def _box(self, box, face):
        """True (certified), False (d fails, or no proof here) or the boxes to look at next.

        A face (the box shrunk along a monotone side) stands for the box it came from: it
        must have a value, so "no admissible point" certifies a box but never a face."""
        e = self._eval(self.d, box)
        if e is None:
            return not face
        if self._ok(e):
            return True
        if e.is_finite() and (e < 0 or (self.strict and e <= 0)):
            return False
        if e.is_finite() and self.grad is not None:
            grads = [self._eval(g, box) for g in self.grad]
            smaller = self._face(box, grads)
            if smaller is not None:
                return [(smaller, True)]
            if self._mean_value(box, grads):
                return True
        halves = self._bisect(box)
        return False if halves is False else [(h, face) for h in halves]

    def _face(self, box, grads):
        """The box shrunk to the face where d is smallest, along a side where a partial
        derivative certainly keeps its sign; None when there is no such side."""
        for i, (g, (lo, hi)) in enumerate(zip(grads, box)):
            if lo == hi or g is None or not g.is_finite():
                continue
            sign = 1 if g >= 0 else -1 if g <= 0 else self._slope_sign(i, 1, box)
            if sign == 1:
                return box[:i] + [(lo, lo)] + box[i + 1:]
            if sign == -1:
                return box[:i] + [(hi, hi)] + box[i + 1:]
        return None

    def _slope_sign(self, i, k, box):
        """The sign the k-th derivative along side i keeps on the box, from its value on a
        face and the sign of the next derivative: where the slope is exactly 0 at an end
        (e^x - 1 at 0) its enclosure on the box never shows the sign, but a slope >= 0 at lo
        that only grows is >= 0 throughout (up to the fourth derivative)."""
        curve = self._eval(self._derivative(i, k + 1), box)
        if curve is None or not curve.is_finite():
            return None
        if not (curve >= 0 or curve <= 0) and k < 4:
            turn = self._slope_sign(i, k + 1, box)
            curve = arb(turn) if turn is not None else curve
        lo, hi = box[i]
        slope = self._derivative(i, k)
        at_lo = self._eval(slope, box[:i] + [(lo, lo)] + box[i + 1:])
        at_hi = self._eval(slope, box[:i] + [(hi, hi)] + box[i + 1:])
        ends = [(v, end) for v, end in ((at_lo, "lo"), (at_hi, "hi")) if v is not None and v.is_finite()]
        for v, end in ends:
            if curve >= 0 and end == "lo" and v >= 0 or curve <= 0 and end == "hi" and v >= 0:
                return 1
            if curve >= 0 and end == "hi" and v <= 0 or curve <= 0 and end == "lo" and v <= 0:
                return -1
        return None

    def _mean_value(self, box, grads):
        if any(g is None or not g.is_finite() for g in grads):
            return False
        mid = [((lo + hi) / 2, (lo + hi) / 2) for lo, hi in box]
        at_mid = self._eval(self.d, mid)
        if at_mid is None or not at_mid.is_finite():
            return False
        total = at_mid
        for g, (lo, hi) in zip(grads, box):
            half = ball_of((hi - lo) / 2)
            total = total + g * arb(0, 1) * half if lo != hi else total
        return self._ok(total)

    def _bisect(self, box):
        widths = [hi - lo for lo, hi in box]
        i = max(range(len(box)), key=lambda k: widths[k])
        lo, hi = box[i]
        if widths[i] == 0 or widths[i] < sp.Rational(1, 2**60) * (1 + abs(lo)):
            return False                          # too thin to split further: no proof
        mid = _dyadic_mid(lo, hi)
        return [box[:i] + [(lo, mid)] + box[i + 1:], box[:i] + [(mid, hi)] + box[i + 1:]]


def _dyadic_mid(lo, hi):
    """A dyadic rational strictly between lo and hi, near their midpoint."""
    m = (lo + hi) / 2
    for k in range(0, 80):
        q = sp.Rational(round(m * 2**k), 2**k)
        if lo < q < hi:
            return q
    return m


def box_route(problem, boxes=MAX_BOXES):
    """The route name when branch-and-bound certifies d >= 0 (d > 0) on the whole box."""
    made = applicable(problem)
    if made is None:
        return None
    symbols, d = made
    prover = _Prover(d, symbols, problem.relation in ("<", ">"), boxes)
    box = [(rational_end(problem.intervals[s].lo), rational_end(problem.intervals[s].hi))
           for s in symbols]
    if any(problem.intervals[s].lo != rational_end(problem.intervals[s].lo) or
           problem.intervals[s].hi != rational_end(problem.intervals[s].hi) for s in symbols):
        return None                               # irrational ends: the box would be approximate
    if prover.prove(box):
        return "interval branch-and-bound (%d boxes)" % prover.count
    return None
