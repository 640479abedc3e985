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
bits beside 1), up to MAX_BITS. ``reference.py`` gives check_grad's reference values from
the same balls.

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
from .deadline import check as check_deadline
from .exact import HugePower, Undefined

__all__ = ["Tape", "Ball", "apply_fact", "enclose", "excludes_zero", "accurate_to",
           "MIN_BITS", "MAX_BITS", "ball_of"]

MIN_BITS = 64
FLOOR_CAP = 512            # every cap reaches at least this many bits
MAX_BITS = 16384           # no enclosure is computed at more bits than this (about 4900 digits)
ARITHMETIC = (total, product, power)
CONSTANTS = {"Pi": arb.pi, "Exp1": lambda: arb(1).exp(), "EulerGamma": arb.const_euler,
             "Catalan": arb.const_catalan, "GoldenRatio": lambda: (1 + arb(5).sqrt()) / 2}


# --- compiling -----------------------------------------------------------------------------

def _has_imaginary(expr):
    """Whether I occurs in expr (each shared subexpression visited once)."""
    seen, stack = set(), [expr]
    while stack:
        e = stack.pop()
        if e is sp.I:
            return True
        if e.args and e not in seen:
            seen.add(e)
            stack.extend(e.args)
    return False


class Tape:
    """``expr`` compiled for ball evaluation; ``symbols`` are read from ``run``'s values.

    A Sum (or Product) runs its summand's own tape once per value of its index, and a read
    x[i, j] takes the entry of ``run``'s ``arrays`` at the integer values of its indices,
    so a loss written with indices is evaluated without writing it out.
    """

    def __init__(self, expr, symbols=(), box=False, parent=None):
        self.symbols = list(symbols)
        self.parent = parent
        self.hoisted = []            # parent slots a sum's body receives (they do not use its index)
        self._uses = {}
        expr = sp.sympify(expr)
        self.complex = parent.complex if parent else _has_imaginary(expr)
        self.missing = parent.missing if parent else []   # nodes without an arb fact
        self.trace = None            # a list while _scale records sizes (shared with sums)
        self.code = []               # (kind, payload, argument slots)
        self.bits = 0                # the longest rational's numerator or denominator, in bits
        self.nonnegative = set()     # symbol positions whose box starts at 0 (box mode)
        self._slots = {}
        self.root = self._compile(expr)

    def _emit(self, e, kind, payload, args=()):
        self.code.append((kind, payload, tuple(args)))
        self._slots[e] = len(self.code) - 1
        return self._slots[e]

    def _compile(self, e):
        if e in self._slots:
            return self._slots[e]
        check_deadline()
        if self.parent is not None and e.args and not self._uses_index(e):
            self.hoisted.append(self.parent._compile(e))       # computed once, outside the loop
            return self._emit(e, "hoisted", len(self.hoisted) - 1)
        if e in self.symbols:                 # the innermost binding of a rebound index
            return self._emit(e, "var", len(self.symbols) - 1 - self.symbols[::-1].index(e))
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
        if isinstance(e, (sp.Sum, sp.Product)):
            return self._sum(e)
        if isinstance(e, sp.Indexed):
            return self._emit(e, "read", e.base, [self._compile(i) for i in e.indices])
        if isinstance(e, sp.KroneckerDelta):
            return self._emit(e, "delta", None, [self._compile(a) for a in e.args])
        return self._function(e)

    def _uses_index(self, e):
        """Whether e uses the index this body runs over (its last symbol) freely."""
        if e in self._uses:
            return self._uses[e]
        s = self.symbols[-1]
        if e == s:
            used = True
        elif isinstance(e, (sp.Sum, sp.Product)):
            rebound = s in {lim[0] for lim in e.limits}
            used = any(self._uses_index(b) for lim in e.limits for b in lim[1:]) or (
                not rebound and self._uses_index(e.function))
        else:
            used = any(self._uses_index(a) for a in e.args)
        self._uses[e] = used
        return used

    def _sum(self, e):
        (s, lo, hi), rest = e.limits[-1], e.limits[:-1]
        inner = type(e)(e.function, *rest) if rest else e.function
        body = Tape(inner, self.symbols + [s], parent=self)
        self.bits = max(self.bits, body.bits)
        kind = "sum" if isinstance(e, sp.Sum) else "product"
        return self._emit(e, kind, body, [self._compile(lo), self._compile(hi)])

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

    def run(self, values=(), prec=MIN_BITS, arrays=None):
        """The enclosure at ``prec`` bits (an arb; an acb only inside complex arithmetic).
        ``arrays`` maps each IndexedBase read to an array of exact Rationals."""
        with ctx.workprec(prec):
            result = self._run(list(values), _Arrays(arrays or {}, self.complex))
        if result is UNDEFINED:
            raise Undefined("not defined here (outside the domain of a function)")
        return result

    def _run(self, values, arrays, hoisted=()):
        out = []
        for step, (kind, payload, args) in enumerate(self.code):
            if not step % 64:
                check_deadline()             # a caller's budget holds inside one run
            if kind == "hoisted":
                out.append(hoisted[payload])
                continue
            out.append(self._step(kind, payload, args, out, values, arrays))
        return out[self.root]

    def _step(self, kind, payload, args, out, values, arrays=None):
        if kind == "var":
            v = values[payload]
            if payload in self.nonnegative and isinstance(v, arb):
                v = v.nonnegative_part()
            return acb(v) if self.complex and not isinstance(v, acb) else v
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
        if kind in ("sum", "product", "read", "delta"):
            return _indexed_step(self, kind, payload, [out[a] for a in args], values, arrays, out)
        v = self._apply(payload, [out[a] for a in args], out)
        if self.trace is not None:
            self.trace.append(_bits(v))
            if payload[0] not in ARITHMETIC:
                self.trace += [_argument_bits(out[a]) for a in args]
        return v

    def _apply(self, payload, vals, out):
        fact, domain, lazy, name = payload
        return apply_fact(fact, vals, lazy, [out[d] for d in domain or ()], name, self.missing)


def apply_fact(fact, vals, lazy=False, guards=(), name="", missing=None):
    """One registry ``arb`` fact on balls, as a Tape applies it: UNDEFINED in (unless the
    fact is ``lazy``, a Piecewise) gives UNDEFINED out; a non-finite value is UNDEFINED when
    its arguments are exact or a domain ``guard`` ball is certainly negative. (Also used
    entry by entry by the array evaluator, ``numeric.arrays``.)"""
    if not lazy and any(v is UNDEFINED for v in vals):
        return UNDEFINED
    try:
        v = fact(*vals)
    except (ValueError, ZeroDivisionError, TypeError, ArithmeticError, AttributeError):
        return arb.nan()                  # the balls cannot tell (or acb lacks the function)
    if v is NotImplemented:               # a person's function that cannot run on balls
        if missing is not None:
            missing.append(name)
        return arb.nan()
    if v is UNDEFINED or v is None or isinstance(v, bool) or lazy:
        return v
    if not v.is_finite():
        balls = [x for x in vals if isinstance(x, (arb, acb))]
        if balls and all(x.is_exact() for x in balls):
            return UNDEFINED              # exact arguments and no finite value: log(0), 1/0
        if any(isinstance(g, arb) and g < 0 for g in guards):
            return UNDEFINED              # certainly outside the domain
    return v


def _integer(v):
    """An exact integer ball as an int, else None."""
    if isinstance(v, acb):
        v = v.real if v.imag.is_zero() else None
    if isinstance(v, arb) and v.is_exact() and v.is_integer():
        return int(v.unique_fmpz())
    return None


class _Arrays:
    """The arrays of one run as balls, keyed by (base, index tuple of ints)."""

    def __init__(self, arrays, complex_):
        self.balls = {}
        for base, a in arrays.items():
            for index in _indices(tuple(int(n) for n in a.shape)):
                v = ball_of(a[index])
                self.balls[(base, index)] = acb(v) if complex_ else v

    def get(self, base, index):
        return self.balls.get((base, index), UNDEFINED)


def _indices(shape):
    out = [()]
    for n in shape:
        out = [i + (k,) for i in out for k in range(n)]
    return out


def _indexed_step(tape, kind, payload, vals, values, arrays, out=()):
    """A Sum or Product over its range, a read of an array, or a KroneckerDelta."""
    if any(v is UNDEFINED for v in vals):
        return UNDEFINED
    ints = [_integer(v) for v in vals]
    if kind == "read":
        return arrays.get(payload, tuple(ints))
    if kind == "delta":
        if None in ints:
            return arb.nan()
        return arb(1 if ints[0] == ints[1] else 0)
    lo, hi = ints
    if lo is None or hi is None or hi < lo - 1:
        return UNDEFINED
    payload.trace = tape.trace
    hoisted = [out[slot] for slot in payload.hoisted]
    acc = arb(0 if kind == "sum" else 1)
    for k in range(lo, hi + 1):
        check_deadline()
        term = payload._run(values + [arb(k)], arrays, hoisted)
        if term is UNDEFINED:
            return UNDEFINED
        acc = acc + term if kind == "sum" else acc * term
    return acc


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
        elif body.startswith("[+/-") and b.is_finite() and (b > 0 or b < 0):
            # Arb prints only digits it is sure of, so a ball whose radius is near its
            # midpoint reads "[+/- r]", as if it held 0; show midpoint and radius instead
            body = "[%s +/- %s]" % (b.mid().str(digits, radius=False), b.rad().str(3, radius=False))
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


def _argument_bits(x):
    """|x| / log 2 for a function's argument x: its value may come within e^-|x| of an
    asymptote (sigmoid(1000) is 1 - e^-1000)."""
    x = x.real if isinstance(x, acb) else x
    if not isinstance(x, arb) or not x.is_finite():
        return 0
    size = float(abs(x.mid())) if _bits(x) < 64 else float(MAX_BITS)
    return int(min(size, MAX_BITS) * 1.4427) + 1


def _scale(tape, values, arrays=None):
    """About how many bits cancellation may cost here: the largest binary exponent (in size)
    an intermediate value reaches at low precision, the longest rational, and the
    ``_argument_bits`` of every function's argument."""
    tape.trace = []
    try:
        tape.run(values, MIN_BITS, arrays)
    except Undefined:
        pass
    finally:
        trace, tape.trace = tape.trace, None
    return max([tape.bits] + trace)


def cap_for(tape, values=(), arrays=None) -> int:
    """The most bits ``enclose`` tries for this tape."""
    return int(min(MAX_BITS, FLOOR_CAP + 2 * _scale(tape, values, arrays)))


def _real(result, prec):
    if isinstance(result, acb):
        im = result.imag
        if not im.contains(0):
            raise Undefined("not real here (its imaginary part is certainly not 0)")
        return Ball(result.real, prec, None if im.is_zero() else im.abs_upper())
    return Ball(result, prec)


def enclose(expr, decide=excludes_zero, symbols=(), values=(), cap=None, tape=None,
            arrays=None) -> Ball:
    """Balls of ``expr`` at 64, 128, ... bits until ``decide(ball)``; the last one when the
    cap (``cap_for``) is reached first. Raises Undefined where expr has no real value."""
    tape = tape or Tape(expr, symbols)
    cap = (cap or cap_for(tape, values, arrays)) if not tape.missing else MIN_BITS
    prec = MIN_BITS
    while True:
        b = _real(tape.run(values, prec, arrays), prec)
        if tape.missing:
            return Ball(arb.nan(), prec, missing=tuple(sorted(set(tape.missing))))
        if decide(b) or prec >= cap:
            return b
        prec = min(2 * prec, cap)


def ball_of(value):
    """An exact SymPy Rational (or Python int) as a ball."""
    value = sp.Rational(value)
    return arb(fmpq(int(value.p), int(value.q)))
