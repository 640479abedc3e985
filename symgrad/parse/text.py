"""The inverse of :mod:`symgrad.parse`: SymPy objects printed in the syntax it reads.

``to_text(expr)`` writes matrix products with ``@``, elementwise products and
powers with ``*`` and ``**``, ``X.T``, ``tr``, ``det``, ``inv``, ``sum``,
``softmax``, ``sigmoid``, ``ones(n, k)``, ``where(c, a, b)``, so that a result
printed by ``symgrad derive`` can be pasted back into ``symgrad verify``.
``sympy.sstr`` cannot serve: it prints a matrix product as ``X*W`` (elementwise
in this syntax) and an elementwise function as ``Lambda(_d, tanh(_d)).(M)``.

A function of matrix entries (``M.applyfunc(f)``) is printed as ``f`` applied
to the matrix, with each constant term ``c`` written ``c*ones(rows, cols)``.
A node the parser has no syntax for (an entrywise comparison, infinity, an
unknown function) raises :class:`NoText`; ``to_text(expr, fallback=True)``
then returns ``sympy.sstr(expr)`` instead.
"""
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from ..ops import nodes
from .guards import check_name
from .tables import CONSTANTS, FUNCTIONS
from ..errors import NoText, ParseError

__all__ = ["to_text", "NoText"]

_NAMES = {nodes.Sigmoid: "sigmoid", nodes.Softplus: "softplus", nodes.LogSumExp: "logsumexp",
          sp.Abs: "abs", sp.loggamma: "loggamma"}
_MATRIX_CALLS = {sp.Trace: "tr", sp.Determinant: "det", sp.Inverse: "inv", nodes.SumAll: "sum",
                 nodes.Mean: "mean", nodes.RowSoftmax: "softmax", nodes.LogDet: "logdet",
                 nodes.RowLogSumExp: "logsumexp"}
_BUILDERS = {sp.OneMatrix: "ones", sp.ZeroMatrix: "zeros"}
_NO_SYNTAX = (sp.core.numbers.Infinity, sp.core.numbers.NegativeInfinity,
              sp.core.numbers.ComplexInfinity, sp.core.numbers.NaN,
              sp.core.numbers.ImaginaryUnit, sp.logic.boolalg.BooleanAtom, sp.Lambda,
              MatrixElement, sp.Derivative, sp.Integral, sp.Subs, sp.Product,
              sp.Tuple, sp.MatrixBase)


class _TextPrinter(StrPrinter):
    """StrPrinter with the parser's spelling; ``entry`` maps Lambda variables to matrices."""

    def __init__(self):
        super().__init__({"order": None})
        self.entry = {}           # inside applyfunc: variable -> (matrix text, precedence, shape)

    # --- refusals and names ---

    def _print(self, expr, **kwargs):
        if isinstance(expr, _NO_SYNTAX) or (isinstance(expr, sp.NumberSymbol)
                                            and expr not in CONSTANTS.values()):
            raise NoText(type(expr).__name__)
        return super()._print(expr, **kwargs)

    def emptyPrinter(self, expr):
        raise NoText(type(expr).__name__)

    def _print_Symbol(self, expr):
        if expr in self.entry:
            return self.entry[expr][0]
        try:
            return check_name(expr.name, "symbol")
        except ParseError:
            raise NoText("the name %r" % expr.name) from None

    _print_MatrixSymbol = _print_Symbol

    def _print_Dummy(self, expr):
        if expr in self.entry:
            return self.entry[expr][0]
        raise NoText("a bound variable %s" % expr.name)

    def _print_Function(self, expr):
        name = _NAMES.get(type(expr), type(expr).__name__)
        if name not in FUNCTIONS:
            raise NoText("function %s" % name)
        return "%s(%s)" % (name, ", ".join(self._print(a) for a in expr.args))

    def _print_KroneckerDelta(self, expr):          # index notation (symgrad.parse.index)
        return "KroneckerDelta(%s, %s)" % tuple(self._print(a) for a in expr.args)

    def _print_Infinity(self, expr):
        raise NoText("infinity")

    _print_NegativeInfinity = _print_ComplexInfinity = _print_NaN = _print_Infinity

    def _print_Heaviside(self, expr):
        if len(expr.args) > 1 and expr.args[1] != sp.S.Half:
            raise NoText("Heaviside with a value at 0")
        return "heaviside(%s)" % self._print(expr.args[0])

    def _print_XLogY(self, expr):
        x, y = expr.args
        return "%s*log(%s)" % (self.parenthesize(x, PRECEDENCE["Mul"]), self._print(y))

    def _print_LogSoftmax(self, expr):
        k, *zs = expr.args
        return "%s - logsumexp(%s)" % (self._print(zs[int(k)]), ", ".join(map(self._print, zs)))

    def _print_Piecewise(self, expr):
        *pieces, (last, cond) = expr.args
        if cond is not sp.true:
            raise NoText("Piecewise without a default")
        text = self._print(last)
        for value, cond in reversed(pieces):
            text = "where(%s, %s, %s)" % (self._print(cond), self._print(value), text)
        return text

    # --- conditions ---

    def _print_Relational(self, expr):
        if self.entry:
            raise NoText("an entrywise comparison")
        return "%s %s %s" % (self._print(expr.lhs), expr.rel_op, self._print(expr.rhs))

    def _print_And(self, expr):
        return " & ".join("(%s)" % self._print(a) for a in expr.args)

    def _print_Or(self, expr):
        return " | ".join("(%s)" % self._print(a) for a in expr.args)

    def _print_Not(self, expr):
        return "~(%s)" % self._print(expr.args[0])

    # --- scalar arithmetic inside applyfunc: constants become matrices ---

    def parenthesize(self, item, level, strict=False):
        if item in self.entry:                       # a matrix standing for its entries
            text, prec, _ = self.entry[item]
            return "(%s)" % text if prec < level or (not strict and prec <= level) else text
        return super().parenthesize(item, level, strict)

    def varies(self, expr):
        return bool(self.entry) and bool(expr.free_symbols & set(self.entry))

    def _print_Add(self, expr, order=None):
        if not self.varies(expr):
            return super()._print_Add(expr, order)
        shape = next(iter(self.entry.values()))[2]
        terms = []
        for term in expr.as_ordered_terms():
            if not self.varies(term):                # c -> c*ones(rows, cols)
                coeff = "" if term == 1 else "-" if term == -1 else \
                    self.parenthesize(term, PRECEDENCE["Mul"]) + "*"
                terms.append("%sones(%s, %s)" % (coeff, *map(self._print, shape)))
            else:
                terms.append(self._print(term))
        return " + ".join(terms).replace("+ -", "- ")

    def _print_Mul(self, expr):
        if not self.varies(expr):
            return super()._print_Mul(expr)
        factors = sp.Mul.make_args(expr)
        const = sp.Mul(*[f for f in factors if not self.varies(f)])
        parts = [self.parenthesize(f, PRECEDENCE["Mul"], strict=False)
                 for f in factors if self.varies(f)]
        lead = "" if const == 1 else "-" if const == -1 else \
            self.parenthesize(const, PRECEDENCE["Mul"], strict=False) + "*"
        return lead + "*".join(parts)

    def _print_Pow(self, expr, rational=False):
        if not self.varies(expr) or expr.exp == sp.S.Half:
            return super()._print_Pow(expr, rational)
        return "%s**%s" % (self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False),
                           self.parenthesize(expr.exp, PRECEDENCE["Pow"], strict=False))

    # --- matrices ---

    def tight(self, expr, level=PRECEDENCE["Pow"]):
        """True if ``expr`` binds at least as tightly as ``level``: Pow for a factor of a
        chain of @ and *, Func for the base of ** or of .T."""
        if isinstance(expr, (ElementwiseApplyFunction, nodes.ElementwiseMap)):
            if not isinstance(expr.function, sp.Lambda):
                return True
            body = expr.function.expr
            if body in expr.function.variables:
                return self.tight(expr.args[-1], level)
            return precedence(body) >= level and not body.could_extract_minus_sign()
        if isinstance(expr, sp.MatMul):
            return False
        return precedence(expr) >= level and not (
            getattr(expr, "is_number", False) and expr.is_negative)

    def operand(self, expr, level=PRECEDENCE["Pow"]):
        """``expr`` as a factor (or, at level Func, a base): parenthesized unless it is tight."""
        text = self._print(expr)
        return text if self.tight(expr, level) else "(%s)" % text

    def _print_MatMul(self, expr):
        coeff, matrices = _flat_product(expr)
        sign = "-" if coeff.could_extract_minus_sign() else ""
        coeff = -coeff if sign else coeff
        text = " @ ".join(self.operand(m) for m in matrices)
        if coeff == 1:
            return sign + text
        return "%s%s*%s" % (sign, self.parenthesize(coeff, PRECEDENCE["Mul"]), text)

    def _print_HadamardProduct(self, expr):
        return "*".join(self.operand(m) for m in expr.args)

    def _print_HadamardPower(self, expr):
        return "%s**%s" % (self.operand(expr.base, PRECEDENCE["Func"]),
                           self.parenthesize(expr.exp, PRECEDENCE["Pow"]))

    def _print_Transpose(self, expr):
        return "%s.T" % self.operand(expr.arg, PRECEDENCE["Func"])

    def _print_MatPow(self, expr):
        base, n = expr.base, expr.exp
        if not (n.is_Integer and 1 <= abs(n) <= 8):
            raise NoText("matrix power %s" % n)
        one = self.operand(base) if n > 0 else "inv(%s)" % self._print(base)
        return " @ ".join([one] * abs(int(n)))

    def _print_Identity(self, expr):
        return "eye(%s)" % self._print(expr.rows)

    def _print_OneMatrix(self, expr):
        return "%s(%s, %s)" % (_BUILDERS[type(expr)], *map(self._print, expr.shape))

    _print_ZeroMatrix = _print_OneMatrix

    def _print_AxisSum(self, expr):
        return "sum(%s, %d)" % (self._print(expr.arg), expr.axis)

    def _print_RowLogSoftmax(self, expr):
        return "log(softmax(%s))" % self._print(expr.args[0])

    def _print_ElementwiseApplyFunction(self, expr):
        return self.entrywise(expr.function, [expr.expr])

    def _print_ElementwiseMap(self, expr):
        return self.entrywise(expr.function, expr.matrices)

    def entrywise(self, function, matrices):
        if self.entry:
            raise NoText("nested elementwise functions")
        if not isinstance(function, sp.Lambda):
            return "%s(%s)" % (self._print(function), self._print(matrices[0]))
        names = [sp.Dummy("entry%d" % i) for i in range(len(matrices))]
        body = function.expr.xreplace(dict(zip(function.variables, names)))
        self.entry = {s: (self._print(m), PRECEDENCE["Atom"] if self.tight(m) else
                          precedence(m), m.shape) for s, m in zip(names, matrices)}
        try:
            return self._print(body)
        finally:
            self.entry = {}


def _flat_product(expr):
    """(scalar coefficient, [matrix factors]) of a MatMul, through nested MatMuls."""
    coeff, matrices = sp.S.One, []
    for arg in expr.args:
        if isinstance(arg, sp.MatMul):
            c, ms = _flat_product(arg)
            coeff, matrices = coeff * c, matrices + ms
        elif getattr(arg, "is_Matrix", False):
            matrices.append(arg)
        else:
            coeff = coeff * arg
    return coeff, matrices


def _print_matrix_call(self, expr):
    return "%s(%s)" % (_MATRIX_CALLS[type(expr)], self._print(expr.args[0]))


for _cls in _MATRIX_CALLS:
    setattr(_TextPrinter, "_print_" + _cls.__name__, _print_matrix_call)


def to_text(expr, *, fallback=False):
    """``expr`` in the syntax of :func:`symgrad.parse.parse_expr`.

    Raises :class:`NoText` for a node the parser cannot read, unless
    ``fallback`` is true: then the result is ``sympy.sstr(expr)``.

    >>> from symgrad.parse import parse_expr
    >>> to_text(parse_expr("X.T @ (X @ W - Y)*2", matrices={"X": ("n", "d"),
    ...                    "W": ("d", 1), "Y": ("n", 1)}))
    '2*X.T @ (X @ W - Y)'
    >>> to_text(parse_expr("sigmoid(w*x)"))
    'sigmoid(w*x)'
    """
    try:
        return _TextPrinter().doprint(expr)
    except NoText as e:
        if fallback:
            return sp.sstr(expr)
        raise NoText("%s has no syntax symgrad's parser reads; pass fallback=True for "
                     "sympy.sstr's text" % e) from None
