"""An evaluator independent of verify's: re-checks counterexamples in the tests.

It shares no code with symgrad's evaluator (numeric/enclose.py and the registry's arb
facts): a plain recursive walk of the SymPy expression (symgrad's nodes first written in
standard SymPy) calling python-flint's Arb functions directly, at high precision, with
Sums run over their ranges and matrices written out by SymPy in exact arithmetic. A
refutation re-checks when the relation certainly fails here: the ball of lhs - rhs lies
on the wrong side of 0 (or the difference is exactly 0 for a strict relation).
"""

import mpmath
import sympy as sp
from flint import arb, ctx, fmpq

from symgrad.ops.nodes import to_standard

PREC = 4000
PRECS = (4000, 32000, 100000)

UNARY = {sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.tan: "tan",
         sp.atan: "atan", sp.asin: "asin", sp.acos: "acos", sp.sinh: "sinh", sp.cosh: "cosh",
         sp.tanh: "tanh", sp.erf: "erf", sp.erfc: "erfc", sp.asinh: "asinh", sp.atanh: "atanh",
         sp.acosh: "acosh", sp.gamma: "gamma", sp.loggamma: "lgamma"}


class NotEvaluable(Exception):
    """The test evaluator has no rule for a node (the re-check is then skipped, loudly)."""


def _rational(v):
    v = sp.Rational(v)
    return arb(fmpq(int(v.p), int(v.q)))


def _value(e, env):
    if e in env:
        return env[e]
    if e.is_Rational:
        return _rational(e)
    if e is sp.pi:
        return arb.pi()
    if e is sp.E:
        return arb(1).exp()
    if isinstance(e, sp.Add):
        out = arb(0)
        for a in e.args:
            out += _value(a, env)
        return out
    if isinstance(e, sp.Mul):
        out = arb(1)
        for a in e.args:
            out *= _value(a, env)
        return out
    if isinstance(e, sp.Pow):
        base = _value(e.base, env)
        if e.exp.is_Integer:
            return base ** int(e.exp)
        if not base > 0:
            raise NotEvaluable("a power of a base not certainly positive: %s" % e)
        return (_value(e.exp, env) * base.log()).exp()
    if type(e) in UNARY:
        return getattr(_value(e.args[0], env), UNARY[type(e)])()
    if isinstance(e, sp.Abs):
        return abs(_value(e.args[0], env))
    if isinstance(e, (sp.Max, sp.Min)):
        vals = [_value(a, env) for a in e.args]
        out = vals[0]
        for v in vals[1:]:
            out = out.max(v) if isinstance(e, sp.Max) else out.min(v)
        return out
    if isinstance(e, sp.Heaviside):
        v = _value(e.args[0], env)
        return arb(1) if v > 0 else arb(0) if v < 0 else _decided_zero(v, fmpq(1, 2))
    if isinstance(e, sp.sign):
        v = _value(e.args[0], env)
        return arb(1) if v > 0 else arb(-1) if v < 0 else _decided_zero(v, 0)
    if isinstance(e, sp.Piecewise):
        for value, cond in e.args:
            if _truth(cond, env):
                return _value(value, env)
        raise NotEvaluable("no branch of %s applies" % e)
    if isinstance(e, sp.Sum):
        return _sum(e, env)
    if isinstance(e, (sp.Determinant, sp.Trace)) and not e.arg.free_symbols:
        M = sp.Matrix(e.arg.as_explicit())
        return _value(M.det() if isinstance(e, sp.Determinant) else M.trace(), env)
    raise NotEvaluable("no rule for %s" % type(e).__name__)


def _decided_zero(v, at_zero):
    if v.is_zero():
        return arb(at_zero)
    raise NotEvaluable("a step at an argument not certainly nonzero")


def _truth(cond, env):
    if cond in (sp.true, True):
        return True
    if isinstance(cond, sp.And):
        return all(_truth(c, env) for c in cond.args)
    if isinstance(cond, sp.Or):
        return any(_truth(c, env) for c in cond.args)
    d = _value(cond.lhs - cond.rhs, env)
    table = {sp.StrictLessThan: (d < 0, d >= 0), sp.LessThan: (d <= 0, d > 0),
             sp.StrictGreaterThan: (d > 0, d <= 0), sp.GreaterThan: (d >= 0, d < 0)}
    yes, no = table[type(cond)]
    if not (yes or no):
        raise NotEvaluable("an undecided condition %s" % cond)
    return bool(yes)


def _sum(e, env):
    (s, lo, hi), rest = e.limits[-1], e.limits[:-1]
    inner = sp.Sum(e.function, *rest) if rest else e.function
    lo, hi = (int(sp.sympify(b).xreplace({k: v for k, v in env.items() if isinstance(v, int)}))
              for b in (lo, hi))
    out = arb(0)
    for k in range(lo, hi + 1):
        out += _value(inner.xreplace({s: sp.Integer(k)}), env)
    return out


def _sides(claim, point):
    """Both sides at the point in standard SymPy: dimensions, sizes and free indices put in,
    matrices written out exactly, Sums expanded and array reads filled in (by SymPy)."""
    ints = {k: sp.Integer(v) for k, v in point.items() if isinstance(v, int)}
    values = {}
    for k, v in point.items():
        if isinstance(k, sp.MatrixSymbol):
            values[k.xreplace(ints)] = v
        elif not isinstance(v, int) and not isinstance(k, sp.IndexedBase):
            values[k] = v
    arrays = {k: v for k, v in point.items() if isinstance(k, sp.IndexedBase)}
    out = []
    for side in (claim.lhs, claim.rhs):
        e = to_standard(sp.sympify(side)).xreplace(ints).xreplace(values)
        if getattr(e, "is_Matrix", False):
            e = sp.Matrix(e.as_explicit()).applyfunc(lambda t: to_standard(t.doit()))
        elif arrays:
            e = e.doit().replace(lambda t: isinstance(t, sp.Indexed),
                                 lambda t: arrays[t.base][tuple(int(i) for i in t.indices)])
        else:
            e = to_standard(e.doit())
        out.append(e)
    return out


def fails_at(claim, point):
    """True when the relation of ``claim`` certainly fails at ``point`` (see module doc)."""
    L, R = _sides(claim, point)
    if isinstance(L, sp.MatrixBase) or isinstance(R, sp.MatrixBase):
        return _matrix_fails(claim, L, R)
    for prec in PRECS:                 # more bits until the sign shows (e^-10000 needs 14400)
        with ctx.workprec(prec):
            d = _value(sp.sympify(L - R), {})
        if not d.contains(0) or d.is_zero():
            break
    return _scalar_fails(claim.relation, d, sp.sympify(L - R).is_zero is True)


def _scalar_fails(relation, d, exactly_zero):
    if relation == "==":
        return not d.contains(0)
    if relation in (">=", ">"):
        return bool(d < 0) or (relation == ">" and (exactly_zero or d.is_zero()))
    return bool(d > 0) or (relation == "<" and (exactly_zero or d.is_zero()))


def _matrix_fails(claim, L, R):
    if not isinstance(R, sp.MatrixBase):
        R = sp.zeros(*L.shape) if R == 0 else R
    if claim.relation == "==" or L.shape[0] != L.shape[1]:
        with ctx.workprec(PREC):
            return any(_scalar_fails(claim.relation, _value(sp.sympify(a - b), {}),
                                     sp.sympify(a - b).is_zero is True) for a, b in zip(L, R))
    D = L - R if claim.relation in (">=", ">") else R - L
    S = (D + D.T) / 2
    if all(v.is_Rational for v in S):
        return not (S.is_positive_definite if claim.relation in (">", "<") else S.is_positive_semidefinite)
    with mpmath.workdps(60):
        low = min(mpmath.eigsy(mpmath.matrix(S.evalf(60).tolist()))[0])
    return low < -1e-40
