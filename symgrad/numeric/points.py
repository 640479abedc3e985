"""Sample points inside an expression's domain, and evaluate SymPy at them exactly.

Points are drawn as dyadic rationals (multiples of 1/256), which floats
represent exactly, so the exact (SymPy) side and the float64 (generated) side
see the same numbers. Symbols that sit under a log, a square root or a
fractional power are drawn positive; square matrices under an inverse or a
determinant are drawn with a positive definite symmetric part but not
symmetric, so det > 0 and X^-1 differs from X^-T.
"""

import random

import numpy as np
import sympy as sp

__all__ = ["Sampler", "evaluate", "explicit", "exact", "kink_values", "is_finite_real",
           "random_dims"]

DENOMINATOR = 256


def exact(value):
    """An exact SymPy number (or ImmutableMatrix) for a float or array."""
    a = np.asarray(value)
    if a.ndim == 0:
        return sp.Rational(float(a)) if a.dtype.kind == "f" else sp.Integer(int(a))
    return sp.ImmutableMatrix(a.shape[0], a.shape[1], [sp.Rational(float(v)) for v in a.ravel()])


MAX_PREC = 1600      # digits evaluate() may reach to get through cancellation
MAX_EXPONENT = 10**5  # exp(a) or b**a with |a|, |a log b| beyond this is too large to evaluate


def beyond_reach(e):
    """True when the closed-form number e holds exp(a) or b**a so large (|a| or |a log b|
    above MAX_EXPONENT, e.g. exp(exp(exp(17)))) that evaluating it would not finish.

    Nodes are checked innermost first, so each check evaluates only what already passed.
    """
    for node in sp.postorder_traversal(e):
        if isinstance(node, sp.exp):
            size = node.args[0]
        elif isinstance(node, sp.Pow) and not node.exp.is_Integer:
            size = node.exp * sp.log(abs(node.base)) if node.base != 0 else sp.S.Zero
        else:
            continue
        if not size.is_number:
            continue
        try:
            value = complex(size.evalf(15))
        except (TypeError, ValueError, ArithmeticError):
            continue
        if abs(value.real) > MAX_EXPONENT:
            return True
    return False


def evaluate(expr, subs, prec=50):
    """``expr`` at the point ``subs`` (symbols -> exact numbers/matrices), to ``prec`` digits.

    evalf does not always notice cancellation (1 - 1/(1 + e^-1000) comes out as
    garbage at 50 digits), so the value is only taken once two evaluations at
    doubling precision agree to ``prec - 10`` digits; past MAX_PREC digits the
    last value stands.
    """
    e = explicit(expr.xreplace(subs))
    if not isinstance(e, sp.MatrixBase):
        e = sp.sympify(e).doit()
    if any(beyond_reach(v) for v in _entries(e)):
        return sp.zoo                          # not finite for our purposes: another point
    previous, n = e.evalf(prec), prec
    while n < MAX_PREC:
        if _settled(previous):
            return previous
        n *= 2
        value = e.evalf(n)
        if _agree(previous, value, prec - 10):
            return value.evalf(prec)
        previous = value
    return previous.evalf(prec)


def _entries(v):
    return list(v) if isinstance(v, sp.MatrixBase) else [v]


def _settled(v):
    """True when v has nothing evalf could have got wrong (exact numbers only)."""
    return all(x.is_Rational for x in _entries(v))


def _agree(a, b, digits):
    tol = sp.Float(10, 30) ** -digits
    for x, y in zip(_entries(a), _entries(b)):
        if x == y:
            continue
        if not (x.is_number and y.is_number):
            return False
        try:
            if abs(x - y) > tol * max(abs(x), abs(y)):
                return False
        except TypeError:                      # a complex or undefined entry: compare no further
            return x == y
    return True


def explicit(e):
    """Evaluate every matrix subexpression with numeric dimensions to an explicit Matrix."""
    if isinstance(e, sp.MatrixBase) or not isinstance(e, sp.Basic):
        return e
    if isinstance(e, sp.Lambda):
        return e
    args = [explicit(a) for a in e.args]
    new = e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e
    if getattr(new, "is_Matrix", False) and not isinstance(new, sp.MatrixBase):
        if all(sp.sympify(d).is_Integer for d in new.shape) and not new.atoms(sp.MatrixSymbol):
            done = new.doit()
            return done if isinstance(done, sp.MatrixBase) else done.as_explicit()
    elif any(isinstance(a, sp.MatrixBase) for a in args):
        return new.doit()
    return new


def is_finite_real(value):
    values = list(value) if isinstance(value, sp.MatrixBase) else [value]
    for v in values:
        if not (v.is_number and v.is_real and v.is_finite) or v.has(sp.nan, sp.zoo, sp.oo, sp.I):
            return False
    return True


def _positive_symbols(expr):
    """Symbols that appear directly under log, sqrt, a fractional power or a gamma function."""
    out = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow) and not node.exp.is_integer:
            out |= node.base.free_symbols if node.base.is_Symbol else set()
        elif isinstance(node, (sp.log, sp.loggamma, sp.gamma, sp.polygamma, sp.acosh)):
            arg = node.args[-1]
            if arg.is_Symbol:
                out.add(arg)
        elif isinstance(node, sp.Lambda):
            out |= _positive_symbols(node.expr)
    return out


def _needs_spd(expr):
    out = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Inverse, sp.Determinant)) or type(node).__name__ == "LogDet":
            out |= {m for m in node.args[0].atoms(sp.MatrixSymbol) if m.shape[0] == m.shape[1]}
    return out


class Sampler:
    """Draw admissible values for the symbols of an expression."""

    def __init__(self, expr, seed=0, samples=4):
        self.expr = expr
        self.rng = random.Random(seed)
        self.samples = samples
        self.positive = _positive_symbols(expr)
        self.spd = _needs_spd(expr)

    def number(self, symbol, attempt):
        r = self.rng
        if symbol.is_integer:
            low = 1 if symbol.is_positive else 0 if symbol.is_nonnegative else -4
            return sp.Integer(r.randint(low, 4))
        if symbol.is_positive or symbol in self.positive or attempt % 3 == 2:
            k = r.randint(DENOMINATOR // 8, 2 * DENOMINATOR)
        elif symbol.is_nonnegative:
            k = r.randint(0, 2 * DENOMINATOR)
        elif attempt % 3 == 1:
            k = r.randint(-DENOMINATOR + 16, DENOMINATOR - 16)
        else:
            k = r.randint(-2 * DENOMINATOR, 2 * DENOMINATOR)
        return sp.Rational(k, DENOMINATOR)

    def matrix(self, m, dims, attempt):
        rows, cols = (int(sp.sympify(d).xreplace(dims)) for d in m.shape)
        if m in self.spd:
            # A A^T + I + (N - N^T): its symmetric part is positive definite, so det > 0, and it
            # is not symmetric, so X^-1 and X^-T differ and a missing transpose shows
            a = sp.Matrix(rows, cols, lambda i, j: sp.Rational(self.rng.randint(-128, 128), 256))
            s = sp.Matrix(rows, cols, lambda i, j: sp.Rational(self.rng.randint(-128, 128), 256))
            return sp.ImmutableMatrix(a * a.T + sp.eye(rows) + s - s.T)
        positive = m in self.positive or attempt % 3 == 2
        low = DENOMINATOR // 8 if positive else -DENOMINATOR
        return sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Rational(
            self.rng.randint(low, DENOMINATOR), DENOMINATOR))

    def point(self, symbols, data, given, dims, attempt):
        """Exact values: scalars for symbols, lists of `samples` values for data symbols."""
        out = {}
        for s in symbols:
            if s in given:
                out[s] = given[s]
            elif isinstance(s, sp.MatrixSymbol):
                out[s] = self.matrix(s, dims, attempt)
            elif s in data:
                out[s] = [self.number(s, attempt) for _ in range(self.samples)]
            else:
                out[s] = self.number(s, attempt)
        return out


def random_dims(expr_symbols, given, seed):
    """Concrete sizes (2 or 3) for dimension symbols not fixed by given arrays."""
    r = random.Random(seed + 7)
    dims = dict(given)
    for m in expr_symbols:
        if isinstance(m, sp.MatrixSymbol):
            for d in m.shape:
                for s in sp.sympify(d).free_symbols:
                    dims.setdefault(s, sp.Integer(r.randint(2, 3)))
    return dims


def kink_values(expr, subs):
    """(description, value) of every kink argument at a point; a zero value is a kink.

    Kinks inside ``M.applyfunc(f)`` are evaluated at every entry of M.
    """
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    from ..ops.nodes import ElementwiseMap

    def value(desc, u, at):
        if desc.startswith("atan2's"):                    # a jump only where x < 0
            y, x = u
            return evaluate(y.xreplace(at), subs, 30) if evaluate(x.xreplace(at), subs, 30) < 0 else None
        return evaluate(u.xreplace(at), subs, 30)

    out = [(desc, value(desc, u, {})) for desc, u in _kink_arguments(expr)]
    for node in sp.preorder_traversal(expr):
        if isinstance(node, ElementwiseApplyFunction) and isinstance(node.function, sp.Lambda):
            variables, matrices = node.function.variables, [node.expr]
        elif isinstance(node, ElementwiseMap):
            variables, matrices = node.function.variables, node.matrices
        else:
            continue
        entries = [list(evaluate(m, subs, 30)) for m in matrices]
        for desc, u in _kink_arguments(node.function.expr):
            for values in zip(*entries):
                out.append((desc, value(desc, u, dict(zip(variables, values)))))
    return [(desc, v) for desc, v in out if v is not None]


def _kink_arguments(expr):
    """(description, argument) pairs whose zero is a point of non-differentiability."""
    out = []
    for node in _scalar_preorder(expr):
        if isinstance(node, (sp.Abs, sp.sign)):
            out.append(("%s at argument 0" % sp.sstr(node), node.args[0]))
        elif isinstance(node, sp.Heaviside):
            out.append(("%s at argument 0" % sp.sstr(node), node.args[0]))
        elif isinstance(node, sp.atan2):
            out.append(("atan2's branch cut in %s" % sp.sstr(node), node.args))
        elif isinstance(node, (sp.Max, sp.Min)):
            args = node.args
            for i in range(len(args)):
                for j in range(i + 1, len(args)):
                    out.append(("a tie in %s" % sp.sstr(node), args[i] - args[j]))
        elif isinstance(node, sp.Piecewise):
            for _, cond in node.args:
                for rel in cond.atoms(sp.core.relational.Relational):
                    out.append(("the Piecewise boundary %s = %s" % (sp.sstr(rel.lhs), sp.sstr(rel.rhs)),
                                rel.lhs - rel.rhs))
    return out



def _scalar_preorder(expr):
    """Preorder traversal that does not enter Lambda bodies."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, sp.Lambda):
            stack.extend(reversed(node.args))
