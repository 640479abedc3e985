"""check_grad's reference values: a SymPy expression at an exact point, to a number of
digits, from the certified balls of ``enclose.py`` (the numeric core check and verify share).
A value with no finite real value there is ``sp.zoo``; an op with no ball evaluator falls
back to SymPy's evalf, and check_grad notes that it is not certified."""

import sympy as sp

from .enclose import Tape, accurate_to, ball_of, enclose
from .exact import Undefined, closed_form

__all__ = ["evaluate", "evaluate_at"]

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


def evaluate_at(expr, symbols, values, digits: int = 50, arrays=None):
    """``expr`` with each of ``symbols`` at the exact number in ``values`` (and each
    IndexedBase read from ``arrays``, Sums run over their ranges), to ``digits`` digits from
    certified balls, without forming a closed form: sp.zoo where it has no finite real value.

    >>> i, n = sp.symbols("i n", integer=True)
    >>> x = sp.IndexedBase("x")
    >>> evaluate_at(sp.Sum(x[i]**2, (i, 0, n - 1)), [n], [3], 10,
    ...             {x: sp.ImmutableDenseNDimArray([1, 2, sp.Rational(1, 2)])})
    5.250000000
    """
    tape = Tape(expr, symbols)
    balls = [ball_of(v) for v in values]
    try:
        b = enclose(expr, accurate_to(int(digits * 3.33) + 4), values=balls, tape=tape,
                    arrays=arrays)
    except Undefined:
        return sp.zoo
    if b.missing:
        return sp.zoo if arrays else \
            sp.sympify(expr).xreplace(dict(zip(symbols, values))).evalf(digits)
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

