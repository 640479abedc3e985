"""Hypothesis strategies for random scalar expression trees, and the helpers to judge them.

``expressions()`` draws trees of depth at most 5 over the symbols x, y (plain, so
symgrad treats them as real) and p (declared positive). Every operation is
guarded so the tree is finite and real at every real point:

- log and sqrt only of positive things: p, 1 + u**2, 1 + exp(.), u**2 + v**2 + 1;
- asin, acos and atanh of tanh(u)/2, whose range is (-1/2, 1/2);
- division only by 1 + v**2, and powers with a symbolic exponent only of p;
- exp only of bounded arguments (tanh, sin, -u**2), so nothing overflows;
- no irrational constant subexpressions (see ``_tree``).

Kinks (Abs, sign, Max, Min, Piecewise) are included; ``kink_distance`` says how
far a point is from the nearest one, so properties can stay off them.

``points()`` draws exact dyadic rationals (multiples of 1/64), which floats
represent exactly: the exact (50-digit) side and the float64 side see the same
numbers.
"""

import sympy as sp
from hypothesis import strategies as st

import symgrad as sg
from helpers import as_real, numeric, subexpression_values

__all__ = ["X", "Y", "P", "SYMBOLS", "expressions", "points", "kink_distance", "magnitude", "close",
           "as_real", "exact_value"]

exact_value = numeric      # the names test_rules_spec.py imports from here (helpers.py has both)

X, Y = sp.Symbol("x"), sp.Symbol("y")     # plain symbols: symgrad treats them as real
P = sp.Symbol("p", positive=True)         # may sit under log, sqrt and as a power base
SYMBOLS = (X, Y, P)
DENOMINATOR = 64
_REAL = {s: sp.Symbol(s.name, real=True) for s in SYMBOLS if not s.is_real}   # x, y -> real x, y

CONSTANTS = (sp.Integer(2), sp.Integer(-1), sp.Rational(1, 2), sp.Integer(3), sp.Rational(-3, 4))


# --- guarded operations ----------------------------------------------------------

UNARY = (
    ("sin", sp.sin),
    ("cos", sp.cos),
    ("tanh", sp.tanh),
    ("atan", sp.atan),
    ("asinh", sp.asinh),
    ("erf", sp.erf),
    ("sigmoid", sg.sigmoid),
    ("softplus", sg.softplus),
    ("square", lambda u: u**2),
    ("negate", lambda u: -u),
    ("scale", lambda u: 3 * u / 2),
    ("exp_tanh", lambda u: sp.exp(sp.tanh(u))),
    ("exp_sin", lambda u: sp.exp(sp.sin(u))),
    ("gauss", lambda u: sp.exp(-u**2)),
    ("log_1p_square", lambda u: sp.log(1 + u**2)),
    ("log_1p_exp", lambda u: sp.log(1 + sp.exp(sp.tanh(u)))),
    ("sqrt_1p_square", lambda u: sp.sqrt(1 + u**2)),
    ("reciprocal", lambda u: 1 / (1 + u**2)),
    ("asin", lambda u: sp.asin(sp.tanh(u) / 2)),
    ("acos", lambda u: sp.acos(sp.tanh(u) / 2)),
    ("atanh", lambda u: sp.atanh(sp.tanh(u) / 2)),
    ("abs", sp.Abs),
    ("sign_times", lambda u: u * sp.sign(u - sp.Rational(1, 3))),
    ("p_power", lambda u: P**sp.tanh(u)),
    ("power_p", lambda u: sp.sqrt(1 + u**2)**(P / 2)),
    ("log_p", lambda u: u * sp.log(P)),
    ("sqrt_p", lambda u: u + sp.sqrt(P)),
)

BINARY = (
    ("add", lambda u, v: u + v),
    ("sub", lambda u, v: u - v),
    ("mul", lambda u, v: u * v),
    ("div", lambda u, v: u / (1 + v**2)),
    ("max", sp.Max),
    ("min", sp.Min),
    ("piecewise", lambda u, v: sp.Piecewise((u, v > 0), (u * v, True))),
    ("atan2", lambda u, v: sp.atan2(u, 1 + v**2)),
    ("hypot", lambda u, v: sp.sqrt(u**2 + v**2 + 1)),
)


def expressions(symbols=SYMBOLS, max_depth=5, min_depth=3):
    """Random guarded scalar expressions over ``symbols``.

    The top ``min_depth`` levels are always operations, so every example is a
    real composition; below them a branch may stop at a symbol or a constant.
    The depth never exceeds ``max_depth``.
    """
    real = tuple(_REAL.get(s, s) for s in symbols)
    back = {r: s for s, r in _REAL.items()}
    # Built over real stand-ins, so SymPy's automatic evaluation never introduces re()/im(),
    # then handed to symgrad over the plain symbols (which it must treat as real).
    return _tree(real, max_depth, min_depth).map(lambda e: e.xreplace(back)).filter(
        lambda e: bool(e.free_symbols) and not e.has(sp.re, sp.im))


@st.composite
def _tree(draw, symbols, depth, forced=0):
    if forced > 0:
        kinds = ("unary", "binary")
    elif depth > 0:
        kinds = ("symbol", "unary", "binary", "constant")
    else:
        kinds = ("symbol", "constant")
    kind = draw(st.sampled_from(kinds))
    if kind == "symbol":
        return draw(st.sampled_from(symbols))
    if kind == "constant":
        return draw(st.sampled_from(CONSTANTS))
    operand = _tree(symbols, depth - 1, forced - 1)
    with_symbol = operand
    if kind == "unary":
        _, op = draw(st.sampled_from(UNARY))
        return op(draw(with_symbol))
    _, op = draw(st.sampled_from(BINARY))
    return op(draw(with_symbol), draw(operand))


def _value(symbol):
    if symbol.is_positive:
        numerators = st.integers(DENOMINATOR // 4, 3 * DENOMINATOR)
    else:
        numerators = st.integers(-2 * DENOMINATOR, 2 * DENOMINATOR)
    return numerators.map(lambda k: sp.Rational(k, DENOMINATOR))


def points(symbols=SYMBOLS):
    """Exact dyadic points: plain symbols in [-2, 2], positive ones in [1/4, 3]."""
    return st.fixed_dictionaries({s: _value(s) for s in symbols})


# --- judging helpers ----------------------------------------------------------------

def _kink_arguments(expr):
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Abs, sp.sign, sp.Heaviside)):
            yield node.args[0]
        elif isinstance(node, (sp.Max, sp.Min)):
            args = node.args
            for i in range(len(args)):
                for j in range(i + 1, len(args)):
                    yield args[i] - args[j]
        elif isinstance(node, sp.Piecewise):
            for _, cond in node.args:
                for rel in cond.atoms(sp.core.relational.Relational):
                    yield rel.lhs - rel.rhs


def kink_distance(expr, point):
    """The smallest |argument| of any kink of ``expr`` at ``point`` (inf without kinks)."""
    out = sp.oo
    for u in set(_kink_arguments(expr)):
        out = min(out, abs(numeric(u, point, 20)))
    return float(out)


def magnitude(exprs, point):
    """The largest |value| of any subexpression of ``exprs`` at ``point``.

    Floating-point evaluation of a sum loses about eps times its largest term,
    so this scales the absolute floor of a float-vs-exact comparison.
    """
    out = 0.0
    for node, v in subexpression_values(exprs, point).items():
        if isinstance(node, sp.Expr) and not node.is_number and v.is_real and v.is_finite:
            out = max(out, abs(float(v)))
    return out


def close(a, b, rtol, atol):
    """|a - b| <= atol + rtol * |b| with both sides SymPy numbers or floats."""
    a, b = sp.Float(a, 50), sp.Float(b, 50)
    return abs(a - b) <= atol + rtol * abs(b)
