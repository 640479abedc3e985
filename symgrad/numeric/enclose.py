"""The rigorous evaluator: SymPy expressions to Arb balls (python-flint), at any precision.

A ``Tape`` compiles an expression once: numbers and constants, the given symbols, and
every other node through its registry entry's ``arb`` fact (``symgrad.ops.balls``).
``Tape.run(values, prec)`` gives a ball that certainly contains the value at ``prec``
bits: at a point (no symbols, or exact values) or over a box (wide balls for the
symbols; ``box=True`` reads a symbol whose box starts at 0 as nonnegative). A value that
certainly does not exist (log 0, 1/0, sqrt of a certainly negative number, a Piecewise
that selects nothing) raises ``Undefined``; one that cannot be told yet (an argument
straddling the edge of a domain) comes back as a ball with NaN or an infinite radius.
An op without an ``arb`` fact is named in ``Tape.missing``: its values are never
rigorous, so nothing that rests on them is certified.

``enclose`` raises the precision (64, 128, ... bits) until ``decide(ball)`` holds or a cap
is reached; the cap grows with the sizes the expression reaches (e^-1000 needs about 1450
bits beside 1), up to MAX_BITS. ``evaluate`` gives check_grad's reference values from the
same balls.

>>> x = sp.Symbol("x")
>>> b = enclose(sp.log(1 + sp.exp(-x)).subs(x, 200), excludes_zero)
>>> b.sign, b.text(4).split(" +/- ")[0]
(1, '[1.384e-87')
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from flint import acb, arb, ctx, fmpq, fmpz

from ..ops import lookup
from ..ops.balls import UNDEFINED, power, product, total
from .exact import HugePower, Undefined, closed_form

__all__ = ["Tape", "Ball", "enclose", "excludes_zero", "accurate_to", "evaluate", "MIN_BITS",
           "MAX_BITS", "ball_of"]

MIN_BITS = 64
FLOOR_CAP = 512            # every cap reaches at least this many bits
MAX_BITS = 16384           # no enclosure is computed at more bits than this (about 4900 digits)
ARITHMETIC = (total, product, power)
CONSTANTS = {"Pi": arb.pi, "Exp1": lambda: arb(1).exp(), "EulerGamma": arb.const_euler,
             "Catalan": arb.const_catalan, "GoldenRatio": lambda: (1 + arb(5).sqrt()) / 2}


# --- compiling -----------------------------------------------------------------------------

class Tape:
    """``expr`` compiled for ball evaluation; ``symbols`` are read from ``run``'s values."""

    def __init__(self, expr, symbols=(), box=False):
        self.symbols = list(symbols)
        self.complex = bool(expr.atoms(sp.I.func))
        self.missing = []            # names of nodes without an arb fact
        self.code = []               # (kind, payload, argument slots)
        self.bits = 0                # the longest rational's numerator or denominator, in bits
        self.nonnegative = set()     # symbol positions whose box starts at 0 (box mode)
        self._slots = {}
        self.root = self._compile(sp.sympify(expr))

    def _emit(self, e, kind, payload, args=()):
        self.code.append((kind, payload, tuple(args)))
        self._slots[e] = len(self.code) - 1
        return self._slots[e]

    def _compile(self, e):
        if e in self._slots:
            return self._slots[e]
        if e in self.symbols:
            return self._emit(e, "var", self.symbols.index(e))
        if e.is_Rational:
            self.bits = max(self.bits, int(e.p).bit_length(), int(e.q).bit_length())
            return self._emit(e, "rational", fmpq(int(e.p), int(e.q)))
        if isinstance(e, sp.Float):
            return self._emit(e, "float", e._mpf_)
        if isinstance(e, sp.NumberSymbol) and type(e).__name__ in CONSTANTS:
            return self._emit(e, "constant", CONSTANTS[type(e).__name__])
        if e is sp.I:
            return self._emit(e, "i", None)
        if e in (sp.true, sp.false):
            return self._emit(e, "bool", bool(e))
        if isinstance(e, HugePower):
            return self._emit(e, "func", (power, None, False, "Pow"),
                              [self._compile(a) for a in e.args])
        return self._function(e)

    def _function(self, e):
        op = lookup(type(e))
        if isinstance(e, sp.Symbol) or op is None or op.arb is None:
            name = "the symbol %s" % e if isinstance(e, sp.Symbol) else type(e).__name__
            self.missing.append(name)
            return self._emit(e, "missing", name)
        lazy = isinstance(e, sp.Piecewise)
        parts = [p for pair in e.args for p in pair.args] if lazy else list(e.args)
        args = [self._compile(a) for a in parts]
        domain = []
        if op.domain is not None and not self.complex:
            domain = [self._compile(g) for g in op.domain(e)]
        return self._emit(e, "func", (op.arb, domain, lazy, op.name), args)

    # --- running ---

    def run(self, values=(), prec=MIN_BITS):
        """The enclosure at ``prec`` bits (an arb; an acb only inside complex arithmetic)."""
        with ctx.workprec(prec):
            out = []
            for kind, payload, args in self.code:
                out.append(self._step(kind, payload, args, out, values))
            result = out[self.root]
        if result is UNDEFINED:
            raise Undefined("not defined here (outside the domain of a function)")
        return result

    def _step(self, kind, payload, args, out, values):
        if kind == "var":
            v = values[payload]
            if payload in self.nonnegative and isinstance(v, arb):
                v = v.nonnegative_part()
            return acb(v) if self.complex else v
        if kind == "rational":
            return acb(arb(payload)) if self.complex else arb(payload)
        if kind == "float":
            sign, man, exp, _ = payload
            v = arb(fmpz((-1) ** sign * int(man))) * arb(2) ** int(exp)
            return acb(v) if self.complex else v
        if kind == "constant":
            return acb(payload()) if self.complex else payload()
        if kind == "i":
            return acb(0, 1)
        if kind == "bool":
            return payload
        if kind == "missing":
            return arb.nan()
        return self._apply(payload, [out[a] for a in args], out)

    def _apply(self, payload, vals, out):
        fact, domain, lazy, name = payload
        if not lazy and any(v is UNDEFINED for v in vals):
            return UNDEFINED
        try:
            v = fact(*vals)
        except (ValueError, ZeroDivisionError, TypeError, ArithmeticError, AttributeError):
            return arb.nan()                  # the balls cannot tell (or acb lacks the function)
        if v is NotImplemented:               # a person's function that cannot run on balls
            self.missing.append(name)
            return arb.nan()
        if v is UNDEFINED or v is None or isinstance(v, bool) or lazy:
            return v
        if not v.is_finite():
            balls = [x for x in vals if isinstance(x, (arb, acb))]
            if balls and all(x.is_exact() for x in balls):
                return UNDEFINED              # exact arguments and no finite value: log(0), 1/0
            if any(isinstance(out[d], arb) and out[d] < 0 for d in domain or ()):
                return UNDEFINED              # certainly outside the domain
        return v


# --- escalation ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Ball:
    """An enclosure of a real value: ``ball`` (an arb) at ``prec`` bits; ``imaginary`` is the
    radius of an imaginary part the balls could not tell from 0 (complex arithmetic)."""

    ball: object
    prec: int
    imaginary: object = None
    missing: tuple = ()      # ops without an arb fact: the ball is NaN, nothing is certified

    @property
    def sign(self):
        """1 or -1 when the ball excludes 0; 0 when it is exactly 0; else None."""
        b = self.ball
        if b > 0:
            return 1
        if b < 0:
            return -1
        return 0 if b.is_zero() else None

    def text(self, digits: int = 6) -> str:
        """The ball as Arb prints it, with its precision."""
        b = self.ball
        body = b.str(digits, radius=True) if b.is_finite() else "[unbounded]"
        if b.is_exact() and b.is_finite() and "+/-" not in body:
            body = "[%s +/- 0]" % body
        note = "" if self.imaginary is None else ", imaginary part within +/- %s" % (
            self.imaginary.str(3, radius=False))
        return body + note


def excludes_zero(b: Ball) -> bool:
    return b.sign in (1, -1)


def accurate_to(bits: int):
    """A decide function: the ball has ``bits`` correct bits relative to its midpoint."""
    return lambda b: b.ball.is_finite() and b.ball.rel_accuracy_bits() >= bits


def _bits(v):
    """The binary exponent of a finite nonzero ball's midpoint, in size."""
    if isinstance(v, acb):
        v = v.real
    if not isinstance(v, arb) or not v.is_finite() or v.is_zero():
        return 0
    man, exp = v.mid().man_exp()
    return abs(int(exp) + int(fmpz(man).bit_length())) if man else 0


def _scale(tape, values):
    """About how many bits cancellation may cost here: the largest binary exponent (in size)
    an intermediate value reaches at low precision, the longest rational, and |a| / log 2 for
    each argument a of a function (its value may come within e^-|a| of an asymptote, as
    sigmoid(1000) does of 1)."""
    biggest = tape.bits
    with ctx.workprec(MIN_BITS):
        out = []
        for kind, payload, args in tape.code:
            try:
                v = tape._step(kind, payload, args, out, values)
            except Exception:                 # a node that cannot be run tells nothing
                v = arb.nan()
            out.append(v)
            biggest = max(biggest, _bits(v))
            if kind == "func" and payload[0] not in ARITHMETIC:
                for a in args:
                    x = out[a].real if isinstance(out[a], acb) else out[a]
                    if isinstance(x, arb) and x.is_finite():
                        size = float(abs(x.mid())) if _bits(x) < 64 else float(MAX_BITS)
                        biggest = max(biggest, int(min(size, MAX_BITS) * 1.4427) + 1)
    return biggest


def cap_for(tape, values=()) -> int:
    """The most bits ``enclose`` tries for this tape."""
    return int(min(MAX_BITS, FLOOR_CAP + 2 * _scale(tape, values)))


def _real(result, prec):
    if isinstance(result, acb):
        im = result.imag
        if not im.contains(0):
            raise Undefined("not real here (its imaginary part is certainly not 0)")
        return Ball(result.real, prec, None if im.is_zero() else im.abs_upper())
    return Ball(result, prec)


def enclose(expr, decide=excludes_zero, symbols=(), values=(), cap=None, tape=None) -> Ball:
    """Balls of ``expr`` at 64, 128, ... bits until ``decide(ball)``; the last one when the
    cap (``cap_for``) is reached first. Raises Undefined where expr has no real value."""
    tape = tape or Tape(expr, symbols)
    cap = (cap or cap_for(tape, values)) if not tape.missing else MIN_BITS
    prec = MIN_BITS
    while True:
        b = _real(tape.run(values, prec), prec)
        if tape.missing:
            return Ball(arb.nan(), prec, missing=tuple(sorted(set(tape.missing))))
        if decide(b) or prec >= cap:
            return b
        prec = min(2 * prec, cap)


def ball_of(value):
    """An exact SymPy Rational (or Python int) as a ball."""
    value = sp.Rational(value)
    return arb(fmpq(int(value.p), int(value.q)))


# --- check_grad's reference values ---------------------------------------------------------------

def _value(v, digits):
    if v.is_Rational:
        return v
    if v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return sp.zoo
    tape = Tape(v)
    if tape.missing:
        return v.evalf(digits)                # float64-only ops: check_grad notes it
    try:
        b = enclose(v, accurate_to(int(digits * 3.33) + 4), tape=tape)
    except Undefined:
        return sp.zoo
    if b.missing:
        return v.evalf(digits)                # a registered function that cannot run on balls
    if not b.ball.is_finite():
        return sp.zoo
    return sp.Float(b.ball.mid().str(digits + 5, radius=False), digits)


def evaluate(expr, point: dict, prec: int = 50):
    """``expr`` at the exact ``point`` to ``prec`` significant digits, from certified balls
    (sp.zoo where it has no finite real value); matrices entry by entry. The digits are
    right: the precision is raised until the ball has them (or the value is within
    2^-cap of 0).

    >>> x = sp.Symbol("x")
    >>> evaluate(1 - 1/(1 + sp.exp(-x)), {x: sp.Integer(1000)}, 20)
    5.0759588975494567653e-435
    """
    try:
        value = closed_form(expr, point)
    except Undefined:
        return sp.zoo
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix(value.shape[0], value.shape[1],
                                  [_value(v, prec) for v in value])
    return _value(value, prec)

