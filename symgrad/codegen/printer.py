"""symgrad's NumPy printer: a SymPy printer subclass with a name table.

It prints SymPy expressions whose symbols are ``Code`` placeholders (already
printed text with a precedence), so one printer serves both scalar formulas and
the pieces of generated code. Everything vectorises: Max/Min become
``np.maximum``/``np.minimum``, Piecewise becomes ``np.where``/``np.select``,
special functions map to ``scipy.special``. An unknown node raises
``UnsupportedExpression`` naming its type.
"""

import math

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from ..errors import UnsupportedExpression

__all__ = ["Code", "CodePrinter", "ATOM"]

ATOM = PRECEDENCE["Atom"]


class Code(sp.Symbol):
    """A placeholder that prints as ``text`` and parenthesizes by ``precedence``.

    Made with ``__xnew__``, outside SymPy's symbol cache, so each carries its own
    precedence and none outlives the printing that made it.
    """

    def __new__(cls, text, precedence=ATOM):
        obj = sp.Symbol.__xnew__(cls, text)
        obj.precedence = precedence
        return obj


# SymPy function name -> NumPy / SciPy function
FUNCTIONS = {
    "exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt", "Abs": "np.abs", "sign": "np.sign",
    "sin": "np.sin", "cos": "np.cos", "tan": "np.tan",
    "asin": "np.arcsin", "acos": "np.arccos", "atan": "np.arctan", "atan2": "np.arctan2",
    "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh",
    "asinh": "np.arcsinh", "acosh": "np.arccosh", "atanh": "np.arctanh",
    "erf": "special.erf", "erfc": "special.erfc", "gamma": "special.gamma",
    "loggamma": "special.gammaln", "log1p": "np.log1p", "expm1": "np.expm1",
    "Sigmoid": "special.expit", "XLogY": "special.xlogy",
}

# reciprocal functions: f(x) = 1 / g(x), inverse reciprocals: f(x) = g(1/x)
RECIPROCAL = {"sec": "np.cos", "csc": "np.sin", "cot": "np.tan",
              "sech": "np.cosh", "csch": "np.sinh", "coth": "np.tanh"}
INVERSE_RECIPROCAL = {"asec": "np.arccos", "acsc": "np.arcsin", "acot": "np.arctan",
                      "asech": "np.arccosh", "acsch": "np.arcsinh", "acoth": "np.arctanh"}


def _in_float_range(number):
    """Refuse a constant that float64 cannot hold (it would be inf or raise at run time)."""
    try:
        ok = math.isfinite(float(number))
    except OverflowError:
        ok = False
    if not ok:
        text = sp.sstr(number)
        raise UnsupportedExpression(
            "the constant %s is beyond float64's range (about 1.8e308), so generated code cannot "
            "hold it; rescale the expression (e.g. fold it into a log)" % (text if len(text) < 30 else
                                                                             "%s...(%d digits)" % (text[:12], len(text))))


class CodePrinter(NumPyPrinter):
    """Print elementwise SymPy expressions as NumPy code (module aliases np, special)."""

    printmethod = "_symgrad_numpy"

    def __init__(self):
        super().__init__({"fully_qualified_modules": False, "inline": True,
                          "allow_unknown_functions": False, "strict": True})
        self.printmethod = None   # every node prints through this class, never itself
        self.uses_special = False
        self.helpers = set()      # helper functions the printed code calls

    def _call(self, fname, *args):
        if fname.startswith("special."):
            self.uses_special = True
        return "%s(%s)" % (fname, ", ".join(self._print(a) for a in args))

    def _print_Code(self, e):
        return e.name

    def _print_Symbol(self, e):
        raise UnsupportedExpression("symbol %s reached the code printer unnamed (internal error)" % e)

    def _module_format(self, fqn, register=True):
        for prefix, alias in (("numpy.", "np."), ("scipy.special.", "special.")):
            if fqn.startswith(prefix):
                self.uses_special |= alias == "special."
                return alias + fqn[len(prefix):]
        raise UnsupportedExpression("the generated code may use NumPy and scipy.special only; "
                                    "%s is neither" % fqn)

    def _print_Function(self, e):
        raise UnsupportedExpression("no NumPy printer for %s node %s" % (type(e).__name__, e))

    def _print_named(self, e):
        return self._call(FUNCTIONS[type(e).__name__], *e.args)

    def _print_reciprocal(self, e):
        return "1/%s" % self._call(RECIPROCAL[type(e).__name__], *e.args)

    def _print_inverse_reciprocal(self, e):
        return self._call(INVERSE_RECIPROCAL[type(e).__name__], 1 / e.args[0])

    # --- numbers ------------------------------------------------------------------

    def _print_Integer(self, e):
        _in_float_range(e)
        return str(int(e)) if abs(e.p) <= 2**53 else repr(float(e))

    def _print_Rational(self, e):
        _in_float_range(e)
        return "%d/%d" % (e.p, e.q)

    def _print_Float(self, e):
        _in_float_range(e)
        return repr(float(e))

    def _print_Pi(self, e):
        return "np.pi"

    def _print_Exp1(self, e):
        return "np.e"

    def _print_NumberSymbol(self, e):
        return repr(float(e))

    def _print_Infinity(self, e):
        return "np.inf"

    def _print_NegativeInfinity(self, e):
        return "-np.inf"

    def _print_BooleanTrue(self, e):
        return "True"

    def _print_BooleanFalse(self, e):
        return "False"

    # --- arithmetic ------------------------------------------------------------------

    def _print_Pow(self, e, rational=False):
        base, exponent = e.args
        if exponent == sp.S.Half:
            return self._call("np.sqrt", base)
        if exponent == -sp.S.Half:
            return "1/%s" % self._call("np.sqrt", base)
        if exponent.is_Integer and exponent < 0:
            inner = base if exponent == -1 else sp.Pow(base, -exponent, evaluate=False)
            return "1/%s" % self.parenthesize(inner, PRECEDENCE["Mul"] + 1)
        return "%s**%s" % (self.parenthesize(base, PRECEDENCE["Pow"] + 1),
                           self.parenthesize(exponent, PRECEDENCE["Pow"] + 1))

    # --- kinks, steps and branches -------------------------------------------------------

    def _print_Max(self, e):
        return self._chain("np.maximum", e.args)

    def _print_Min(self, e):
        return self._chain("np.minimum", e.args)

    def _chain(self, fname, args):
        out = self._print(args[0])
        for a in args[1:]:
            out = "%s(%s, %s)" % (fname, out, self._print(a))
        return out

    def _print_Heaviside(self, e):
        return self._call("np.heaviside", *e.args)

    def _print_sinc(self, e):
        return "np.sinc(%s/np.pi)" % self.parenthesize(e.args[0], PRECEDENCE["Mul"] + 1)

    def _print_DiracDelta(self, e):
        raise UnsupportedExpression("DiracDelta reached the code printer; the rewrite stage "
                                    "replaces it by 0 (internal error)")

    def _print_Piecewise(self, e):
        pairs = list(e.args)
        if pairs[-1].cond == sp.true:
            default = self._print(pairs.pop().expr)
        else:
            default = "np.nan"
        if len(pairs) == 1:
            return "np.where(%s, %s, %s)" % (self._print(pairs[0].cond),
                                             self._print(pairs[0].expr), default)
        return "np.select([%s], [%s], default=%s)" % (
            ", ".join(self._print(p.cond) for p in pairs),
            ", ".join(self._print(p.expr) for p in pairs), default)

    def _print_Relational(self, e):
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[e.rel_op]
        return "%s %s %s" % (self.parenthesize(e.lhs, PRECEDENCE["Relational"] + 1), op,
                             self.parenthesize(e.rhs, PRECEDENCE["Relational"] + 1))

    def _print_And(self, e):
        return self._chain("np.logical_and", e.args)

    def _print_Or(self, e):
        return self._chain("np.logical_or", e.args)

    def _print_Not(self, e):
        return self._call("np.logical_not", e.args[0])

    # --- special functions and symgrad's nodes -------------------------------------------

    def _print_jn(self, e):
        return self._call("special.spherical_jn", *e.args)

    def _print_polygamma(self, e):
        order, x = e.args
        if order == 0:
            return self._call("special.psi", x)
        return self._call("special.polygamma", order, x)

    def _print_Softplus(self, e):
        self.helpers.add("_softplus")                 # faster than np.logaddexp(0, z)
        return self._call("_softplus", *e.args)

    def _print_LogSoftmax(self, e):
        self.helpers.add("_log_softmax")
        return self._call("_log_softmax", *e.args)

    def _print_LogSumExp(self, e):
        self.helpers.add("_logsumexp")
        return self._call("_logsumexp", *e.args)

    def emptyPrinter(self, e):
        raise UnsupportedExpression("no NumPy printer for %s node %s" % (type(e).__name__, e))


for _name in FUNCTIONS:
    setattr(CodePrinter, "_print_" + _name, CodePrinter._print_named)
for _name in RECIPROCAL:
    setattr(CodePrinter, "_print_" + _name, CodePrinter._print_reciprocal)
for _name in INVERSE_RECIPROCAL:
    setattr(CodePrinter, "_print_" + _name, CodePrinter._print_inverse_reciprocal)
