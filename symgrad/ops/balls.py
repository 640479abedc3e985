"""Ball arithmetic for the registry's ``arb`` facts: small helpers over python-flint's Arb.

An ``arb`` fact maps balls (``flint.arb``; ``flint.acb`` where a value is complex) to a
ball that contains every value the op takes on them: ``exp`` is ``increasing(arb.exp)``.
A ball may be wide (a box in a branch-and-bound proof), so the helpers keep enclosures
tight the way interval arithmetic does: a monotone function is evaluated at the two ends
of its argument (``increasing``, ``decreasing``), an even power at the absolute value,
a product of wide balls from its four corner products. A fact may return a ball with
NaN in it (nothing is known: the argument straddles the edge of the domain) or
``UNDEFINED`` (the value certainly does not exist: a Piecewise that certainly selects
an undefined branch). Conditions (relations, And/Or/Not) map balls to True, False, or
None when the balls cannot tell.

>>> from flint import arb
>>> power(arb(-3), arb(2))
9.00000000000000
>>> bool(increasing(lambda t: t.exp())(arb(0)) == 1)
True
"""

from __future__ import annotations

from flint import acb, arb, fmpq

__all__ = ["UNDEFINED", "increasing", "decreasing", "total", "product", "power", "reciprocal",
           "hull", "interval", "relation", "both", "either", "negate", "heaviside", "sign", "delta",
           "maximum", "minimum", "piecewise", "logsumexp", "log_softmax", "xlogy", "log",
           "is_wide", "real_part", "arb_nan", "atan2", "interval_fact"]

UNDEFINED = type("Undefined", (), {"__repr__": lambda self: "UNDEFINED"})()
WIDE = 2.0 ** -40          # a ball wider than this (relative) counts as an interval


def is_wide(x) -> bool:
    """Whether x is a real ball of positive width relative to its midpoint above WIDE."""
    if not isinstance(x, arb) or x.is_exact() or not x.is_finite():
        return False
    return x.rad() > abs(x.mid()) * WIDE


def hull(*balls):
    """The smallest ball holding all of ``balls``."""
    out = balls[0]
    for b in balls[1:]:
        out = out.union(b)
    return out


def interval(*balls):
    """A ball holding all of ``balls`` whose end nearer to 0 is exact: Arb stores a radius with
    30 bits, so a plain hull of [0, 1] starts at -1e-9; here it starts at 0, so a bound that
    touches 0 (a monotone derivative at its zero) is still certified."""
    if not all(isinstance(b, arb) and b.is_finite() for b in balls):
        return hull(*balls)
    lo, hi = balls[0].lower(), balls[0].upper()
    for b in balls[1:]:
        lo, hi = lo.min(b.lower()), hi.max(b.upper())
    step = arb(0, (hi - lo).upper()).nonnegative_part()
    return lo + step if abs(lo) <= abs(hi) else hi - step


def _ends(x):
    return x.lower(), x.upper()


def increasing(f):
    """A fact for a nondecreasing f: a wide ball's image from its two ends."""
    def fact(x):
        if is_wide(x):
            lo, hi = _ends(x)
            return interval(f(lo), f(hi))
        return f(x)
    return fact


def decreasing(f):
    """A fact for a nonincreasing f."""
    return increasing(f)


def real_part(x):
    """x as a real ball: itself, or an acb's real part when its imaginary part is exactly 0."""
    if isinstance(x, acb):
        if not x.imag.is_zero():
            raise TypeError("a complex value where a real one is needed")
        return x.real
    return x


# --- arithmetic ----------------------------------------------------------------------------

def total(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def _mul(a, b):
    if is_wide(a) or is_wide(b):
        al, ah = _ends(a) if is_wide(a) else (a, a)
        bl, bh = _ends(b) if is_wide(b) else (b, b)
        return interval(al * bl, al * bh, ah * bl, ah * bh)
    return a * b


def product(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = _mul(out, x)
    return out


def reciprocal(x):
    """1/x; NaN where x may be 0."""
    if is_wide(x) and (x > 0 or x < 0):
        lo, hi = _ends(x)
        return interval(1 / lo, 1 / hi)
    return 1 / x


def _integer(e):
    """e as a Python int when it is an exact integer ball, else None."""
    if isinstance(e, acb):
        if not e.imag.is_zero():
            return None
        e = e.real
    if e.is_exact() and e.is_integer():
        return int(e.unique_fmpz())
    return None


def _nonnegative_power(x, n):
    """x**n for an integer n >= 0, tight on wide balls."""
    if n == 0:
        return x * 0 + 1
    if isinstance(x, arb) and is_wide(x):
        base = abs(x) if n % 2 == 0 else x
        lo, hi = _ends(base)
        if n % 2 == 0 and lo < 0:
            lo = lo * 0
        return interval(lo**n, hi**n)
    return x**n


def power(x, e):
    """x**e with SymPy's real meaning: integer powers of any real, other powers of x >= 0
    (0**e is 0 for e > 0); NaN where the sign of x or e cannot be told."""
    n = _integer(e)
    if n is not None:
        if n >= 0:
            return _nonnegative_power(x, n)
        return reciprocal(_nonnegative_power(x, -n))
    if isinstance(x, acb) or isinstance(e, acb):
        return acb(x) ** acb(e)
    if x.is_zero():
        return x if e > 0 else UNDEFINED if e <= 0 else arb.nan()
    if x > 0:
        if is_wide(x) or is_wide(e):
            lo, hi = _ends(x)
            corners = [a ** b for a in (lo, hi) for b in ((e.lower(), e.upper()) if is_wide(e) else (e,))]
            return interval(*corners)
        return x ** e
    if x < 0:
        return UNDEFINED                   # SymPy's x**e is not real here
    return arb.nan()


def arb_nan():
    """A ball about which nothing is known."""
    return arb.nan()


def atan2(y, x):
    return arb.atan2(real_part(y), real_part(x))


def log(x, base=None):
    """log(x), or log(x)/log(base)."""
    value = increasing(lambda t: t.log())(x) if isinstance(x, arb) else x.log()
    return value if base is None else value / base.log()


# --- conditions: True, False or None (the balls cannot tell) ----------------------------------

def _compare(kind, a, b):
    if kind in ("==", "!="):
        if a.is_exact() and b.is_exact():
            same = bool(a == b)
        elif not a.overlaps(b):
            same = False
        else:
            return None
        return same if kind == "==" else not same
    yes = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[kind]
    no = {"<": a >= b, "<=": a > b, ">": a <= b, ">=": a < b}[kind]
    return True if yes else False if no else None


def relation(kind):
    """A fact for one relation class ("<", "<=", "==", ...) between two real balls."""
    return lambda a, b: _compare(kind, real_part(a), real_part(b))


def both(*cs):
    if any(c is False for c in cs):
        return False
    return True if all(c is True for c in cs) else None


def either(*cs):
    if any(c is True for c in cs):
        return True
    return False if all(c is False for c in cs) else None


def negate(c):
    return None if c is None else not c


# --- steps, kinks and branches ---------------------------------------------------------------

def _step(x, below, at, above):
    x = real_part(x)
    if x > 0:
        return arb(above)
    if x < 0:
        return arb(below)
    if x.is_zero():
        return arb(at)
    return hull(arb(below), arb(at), arb(above))


def heaviside(x, h0=None):
    return _step(x, 0, fmpq(1, 2) if h0 is None else h0, 1)


def sign(x):
    return _step(x, -1, 0, 1)


def delta(x, *k):
    """DiracDelta: 0 away from 0; nothing is known where x may be 0."""
    x = real_part(x)
    return arb(0) if (x > 0 or x < 0) else arb.nan()


def maximum(*xs):
    out = real_part(xs[0])
    for x in xs[1:]:
        out = out.max(real_part(x))
    return out


def minimum(*xs):
    out = real_part(xs[0])
    for x in xs[1:]:
        out = out.min(real_part(x))
    return out


def piecewise(*args):
    """(value, condition, value, condition, ...): the branch the conditions select, or
    the hull of every branch they may select; a value is UNDEFINED where its branch is
    not defined (harmless unless that branch may be selected)."""
    possible = []
    for value, cond in zip(args[0::2], args[1::2]):
        if cond is False:
            continue
        if value is UNDEFINED:
            return UNDEFINED if (cond is True and not possible) else arb.nan()
        possible.append(value)
        if cond is True:
            break
    else:
        if not possible:
            return UNDEFINED                   # no branch applies: SymPy's Piecewise is nan
        return arb.nan()                       # a branch may apply, or none: not known
    return hull(*possible)


# --- symgrad's scalar nodes --------------------------------------------------------------------

def logsumexp(*zs):
    top = maximum(*zs)
    top = top.mid() if top.is_finite() else top
    return top + total(*[(z - top).exp() for z in zs]).log()


def log_softmax(k, *zs):
    return zs[_integer(k)] - logsumexp(*zs)


def xlogy(x, y):
    """x log y, with 0 log 0 = 0."""
    if x.is_zero():
        return x
    return product(x, log(y))


# --- functions people register: their mpmath implementation, in interval arithmetic ---------

def _strict_context():
    """A private mpmath interval context whose comparisons raise when an interval cannot
    decide them (mpmath's own return None, which an ``if`` would read as False)."""
    from mpmath.ctx_iv import MPIntervalContext, ivmpf
    ctx = MPIntervalContext()

    def strict(name):
        base = getattr(ivmpf, name)

        def compare(s, t):
            result = base(s, t)
            if result is None or result is NotImplemented and not hasattr(t, "_mpi_"):
                raise TypeError("an interval cannot decide this comparison")
            return result
        return compare
    for name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        setattr(ctx.mpf, name, strict(name))
    return ctx


_IV = _strict_context()


def _exact_mpf(x):
    """The exact binary number x (an exact arb, such as a midpoint) as an mpmath tuple."""
    from mpmath.libmp import from_man_exp
    man, exp = x.man_exp()
    return from_man_exp(int(man), int(exp))


def _to_interval(x):
    mid, rad = _exact_mpf(x.mid()), _exact_mpf(x.rad())
    return _IV.make_mpf((mid, mid)) + _IV.make_mpf((rad, rad)) * _IV.mpf([-1, 1])


def _to_ball(v, prec):
    from flint import ctx, fmpz
    ends = []
    for sign, man, exp, bits in v._mpi_:
        if not man and exp:                     # an infinite end (or NaN): nothing is known
            return arb.nan()
        with ctx.workprec(max(prec, bits + 10)):
            ends.append(arb(fmpz((-1) ** sign * int(man))) * arb(2) ** int(exp))
    return hull(*ends)


def interval_fact(f):
    """A fact from a function of mpmath numbers, run in interval arithmetic (mpmath's iv) on
    the ball: rigorous for functions built from arithmetic, abs, comparisons and iv's own
    functions. Where f cannot run on intervals (it calls mpmath.exp, or makes a comparison
    the interval cannot decide) it returns NotImplemented: the op has no rigorous value
    here. Where the interval straddles a pole, nothing is known: a NaN ball."""
    def fact(x):
        from flint import ctx
        x = real_part(x)
        if not x.is_finite():
            return arb.nan()
        _IV.prec = ctx.prec + 20
        try:
            y = f(_to_interval(x))
        except ZeroDivisionError:
            return arb.nan()
        except Exception:                   # a person's function: whatever it raises on intervals
            return NotImplemented
        if not hasattr(y, "_mpi_"):
            return NotImplemented
        return _to_ball(y, ctx.prec)
    return fact
