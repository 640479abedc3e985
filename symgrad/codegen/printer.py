"""symgrad's NumPy printer: a SymPy printer subclass that reads the op registry.

It prints SymPy expressions whose symbols are ``Code`` placeholders (already
printed text with a precedence), so one printer serves both scalar formulas and
the pieces of generated code. How each op prints is its registry entry's ``numpy``
field (a function name, a helper the module carries, or a small function of the
printer); ops marked ``BUILTIN`` (numbers, powers, Piecewise as ``np.where``,
comparisons) print through the methods below. An unknown node raises
``UnsupportedExpression`` naming its type.
"""

import math

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from ..errors import UnsupportedExpression
from ..ops import BUILTIN, lookup
from ..ops.helpers import HELPERS
from .backends import BACKENDS

__all__ = ["Code", "CodePrinter", "ATOM", "CALL"]

ATOM = PRECEDENCE["Atom"]
CALL = 70


class Code(sp.Symbol):
    """A placeholder that prints as ``text`` and parenthesizes by ``precedence``.

    Made with ``__xnew__``, outside SymPy's symbol cache, so each carries its own
    precedence and none outlives the printing that made it.
    """

    def __new__(cls, text, precedence=ATOM):
        obj = sp.Symbol.__xnew__(cls, text)
        obj.precedence = precedence
        return obj


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

    def __init__(self, backend=None):
        super().__init__({"fully_qualified_modules": False, "inline": True,
                          "allow_unknown_functions": False, "strict": True})
        self.backend = backend if backend is not None else BACKENDS["numpy"]
        self.printmethod = None   # every node prints through this class, never itself
        self.uses_special = False
        self.helpers = set()      # helper functions the printed code calls

    # --- the registry's printing API: what entries' numpy functions call ----------------

    def call(self, fname, *args):
        """``fname(arg, ...)``; a name from ops/helpers.py is a helper the module carries."""
        if fname.startswith("special."):
            self.uses_special = True
        if fname in HELPERS:
            self.helpers.add(fname)
        if self.backend.name == "torch" and args and all(_number(a) for a in args) and \
                fname not in HELPERS:
            return self._constant_call(fname, args)
        return "%s(%s)" % (self.backend.call(fname), ", ".join(self._print(a) for a in args))

    def _constant_call(self, fname, args):
        """torch's functions take tensors, not numbers: a function of constants is printed as
        its float64 value (computed by NumPy/SciPy, as the NumPy code would)."""
        import numpy
        from scipy import special
        module, _, name = fname.partition(".")
        f = getattr({"np": numpy, "special": special}[module], name)
        return repr(float(f(*[float(a) for a in args])))

    def name(self, fname):
        """A NumPy name (np.pi, np.where, ...) in this printer's backend."""
        return self.backend.call(fname)

    def paren(self, arg, level):
        """``arg`` printed, in parentheses when it binds looser than ``level``."""
        return self.parenthesize(arg, level)

    def print(self, arg):
        return self._print(arg)

    def code(self, expr):
        """(text, Python precedence) of a whole expression."""
        op = lookup(type(expr))
        if op is not None and op.numpy not in (None, BUILTIN):
            return self._op_text(op, expr)
        return self._print(expr), precedence_of(expr)

    def _op_text(self, op, expr):
        return self.op_code(op, expr.args)

    def op_code(self, op, args):
        """(text, precedence) of registry op ``op`` applied to ``args`` (placeholders)."""
        if callable(op.numpy):
            return op.numpy(self, *args)
        return self.call(op.numpy, *args), CALL

    def _print(self, expr, **kwargs):
        op = lookup(type(expr))
        if op is not None and op.numpy not in (None, BUILTIN):
            text, prec = self._op_text(op, expr)
            return text if prec >= CALL else "(%s)" % text
        return super()._print(expr, **kwargs)

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
        return self.name("np.pi")

    def _print_Exp1(self, e):
        return self.name("np.e")

    def _print_NumberSymbol(self, e):
        return repr(float(e))

    def _print_Infinity(self, e):
        return self.name("np.inf")

    def _print_NegativeInfinity(self, e):
        return "-" + self.name("np.inf")

    def _print_BooleanTrue(self, e):
        return "True"

    def _print_BooleanFalse(self, e):
        return "False"

    # --- arithmetic ------------------------------------------------------------------

    def _print_Pow(self, e, rational=False):
        base, exponent = e.args
        if exponent == sp.S.Half:
            return self.call("np.sqrt", base)
        if exponent == -sp.S.Half:
            return "1/%s" % self.call("np.sqrt", base)
        if exponent.is_Integer and exponent < 0:
            inner = base if exponent == -1 else sp.Pow(base, -exponent, evaluate=False)
            return "1/%s" % self.parenthesize(inner, PRECEDENCE["Mul"] + 1)
        return "%s**%s" % (self.parenthesize(base, PRECEDENCE["Pow"] + 1),
                           self.parenthesize(exponent, PRECEDENCE["Pow"] + 1))

    # --- kinks, steps and branches -------------------------------------------------------

    def _print_DiracDelta(self, e):
        raise UnsupportedExpression("DiracDelta reached the code printer; the rewrite stage "
                                    "replaces it by 0 (internal error)")

    def _print_Piecewise(self, e):
        pairs = list(e.args)
        if pairs[-1].cond == sp.true:
            default = self._print(pairs.pop().expr)
        else:
            default = self.name("np.nan")
        if len(pairs) == 1 or self.backend.name == "torch":     # torch has no select: nest
            out = default
            for pair in reversed(pairs):
                out = "%s(%s, %s, %s)" % (self.name("np.where"), self._print(pair.cond),
                                          self._print(pair.expr), out)
            return out
        return "%s([%s], [%s], default=%s)" % (self.name("np.select"),
            ", ".join(self._print(p.cond) for p in pairs),
            ", ".join(self._print(p.expr) for p in pairs), default)

    def _print_Relational(self, e):
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[e.rel_op]
        return "%s %s %s" % (self.parenthesize(e.lhs, PRECEDENCE["Relational"] + 1), op,
                             self.parenthesize(e.rhs, PRECEDENCE["Relational"] + 1))

    # --- special functions and symgrad's nodes -------------------------------------------

    def emptyPrinter(self, e):
        raise UnsupportedExpression("no NumPy printer for %s node %s" % (type(e).__name__, e))



def _number(a):
    return isinstance(a, (sp.Number, sp.NumberSymbol)) or (isinstance(a, sp.Expr) and a.is_number
                                                          and not a.atoms(Code))


def precedence_of(expr):
    """Python precedence of the printed form (a Pow may print as np.sqrt(x) or 1/x)."""
    if isinstance(expr, (sp.Function, sp.Piecewise)):
        return CALL
    if isinstance(expr, sp.Pow):
        if expr.exp == sp.S.Half:
            return CALL
        if expr.exp.is_number and expr.exp.is_negative:
            return PRECEDENCE["Mul"]
    return precedence(expr)
