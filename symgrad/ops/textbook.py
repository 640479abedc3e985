"""Textbook printing: symgrad's results as a person writes them, in text, 2-D text and LaTeX.

Three printer subclasses, one per format, share the decisions below (``TextbookCommon``):

* a function applied to a matrix entry by entry is written as the function of the matrix:
  ``tanh(XW + 𝟏b)``, ``1 − tanh²(Z)``, never ``Lambda(_x0, ...)``; inside such a body a
  product of two matrix-valued factors is a Hadamard product ``⊙``, ``x**2`` of a matrix is
  a Hadamard power, and ``Piecewise((a, c), (0, True))`` is ``a ⊙ [c]`` (an Iverson bracket);
* ``OneMatrix`` is ``𝟏`` (a column), ``𝟏ᵀ`` (a row) or ``𝟏𝟏ᵀ``, never a bare ``1``;
* symgrad's nodes by their textbook names: ``σ``, ``softplus``, ``softmax``, ``logsumexp``,
  ``sum``; a row sum is ``M𝟏``, a column sum ``𝟏ᵀM``;
* in sums, terms without a minus sign come first (``σ(Z) − Y``, not ``−Y + σ(Z)``).

The text format (``TextbookStr``, here) keeps SymPy's operators (``*`` for the matrix product,
``**`` for powers) and adds ``⊙``, ``ᵀ``, ``𝟏`` and a coefficient as a trailing divisor
(``(σ(Z) - Y)/n``). The LaTeX and 2-D printers, and ``render`` (what a node's ``_sympystr``,
``_latex`` or ``_pretty`` calls), are in ``printing.py``.

>>> import sympy as sp
>>> n = sp.Symbol("n")
>>> X, b = sp.MatrixSymbol("X", n, 3), sp.MatrixSymbol("b", 1, 3)
>>> TextbookStr().doprint(X + sp.OneMatrix(n, 1)*b)
'X + 𝟏*b'
"""

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

__all__ = ["TextbookStr", "TextbookCommon", "Entry", "Joined", "Iverson", "NAMES",
           "named_methods", "printed_precedence", "negated", "MUL", "POW", "ATOM"]

MUL, POW, ATOM = PRECEDENCE["Mul"], PRECEDENCE["Pow"], PRECEDENCE["Atom"]
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

# class name -> (text, LaTeX) of a function written by name
NAMES = {
    "Sigmoid": ("σ", r"\sigma"), "Softplus": ("softplus", r"\operatorname{softplus}"),
    "LogSumExp": ("logsumexp", r"\operatorname{logsumexp}"),
    "RowSoftmax": ("softmax", r"\operatorname{softmax}"),
    "RowLogSumExp": ("logsumexp", r"\operatorname{logsumexp}"),
    "RowLogSoftmax": ("log_softmax", r"\log\operatorname{softmax}"),
    "SumAll": ("sum", r"\operatorname{sum}"), "Mean": ("mean", r"\operatorname{mean}"),
    "Trace": ("tr", r"\operatorname{tr}"), "Determinant": ("det", r"\det"),
    "LogDet": ("log det", r"\log\det"),
}


class Entry(sp.Dummy):
    """A Lambda variable standing for the matrix it ranges over (printing only): it prints
    as the matrix and binds as tightly as the matrix does."""

    def __new__(cls, matrix):
        obj = super().__new__(cls, "entry", real=True)
        obj.matrix = matrix
        return obj

    @property
    def precedence(self):
        return precedence(self.matrix)


class Joined(sp.Expr):
    """Scalar factors of an entrywise body shown as a Hadamard product (printing only)."""

    is_commutative = True
    precedence = MUL


class Iverson(sp.Expr):
    """[c]: 1 where the condition c holds, 0 elsewhere (printing only)."""

    is_commutative = True
    precedence = ATOM


def printed_precedence(expr):
    """How tightly ``expr`` binds as these printers show it: a Piecewise prints as a sum of
    Iverson terms (see ``_print_Piecewise``)."""
    if isinstance(expr, sp.Piecewise):
        taken = [v for v, _ in expr.args if v != 0]
        return PRECEDENCE["Add"] if len(taken) > 1 else MUL
    return precedence(expr)


def _ones_shape(expr):
    rows, cols = (sp.sympify(d) for d in expr.shape)
    return rows == 1, cols == 1


class TextbookCommon:
    """What every textbook format decides the same way (mixed into each printer)."""

    def _print_Entry(self, e, **kwargs):
        return self._print(e.matrix)

    def _as_ordered_terms(self, expr, order=None):
        terms = super()._as_ordered_terms(expr, order=order)
        return sorted(terms, key=lambda t: negated(t)[0])

    def _varies(self, e):
        return any(isinstance(s, Entry) for s in e.free_symbols)

    # --- functions applied entry by entry ---

    def _print_ElementwiseApplyFunction(self, e):
        return self.entrywise(e.function, [e.expr])

    def _print_ElementwiseMap(self, e):
        return self.entrywise(e.function, list(e.matrices))

    def entrywise(self, function, matrices):
        entries = [Entry(m) for m in matrices]
        if isinstance(function, sp.Lambda):
            body = function.expr.xreplace(dict(zip(function.variables, entries)))
        else:
            body = function(*entries)
        return self._print(body)

    def _print_Mul(self, expr, **kwargs):
        if self._varies(expr):
            const, num, den = [], [], []
            for f in expr.args:
                if not self._varies(f):
                    const.append(f)
                elif f.is_Pow and f.exp.is_number and f.exp.is_negative:
                    den.append(sp.Pow(f.base, -f.exp))
                else:
                    num.append(f)
            if len(num) > 1 or len(den) > 1:
                parts = const + [_joined(num)] + ([sp.Pow(_joined(den), -1, evaluate=False)]
                                                  if den else [])
                if len(parts) == 1:
                    return self._print(parts[0])
                return super()._print_Mul(sp.Mul(*parts, evaluate=False), **kwargs)
        return super()._print_Mul(expr, **kwargs)

    def _print_Piecewise(self, expr):
        """v1 ⊙ [c1] + v2 ⊙ [¬c1 ∧ c2] + ...: each value times an Iverson bracket saying where
        it is taken (0 where no branch is)."""
        terms, earlier = [], []
        for value, cond in expr.args:
            where = sp.And(cond, *[sp.Not(c) for c in earlier])
            if where == sp.true:
                terms.append(value)
            elif value == 1:
                terms.append(Iverson(where))
            elif value != 0 and where != sp.false:
                factors = value.args if value.is_Mul and not self._varies(value) else (value,)
                terms.append(sp.Mul(*factors, Iverson(where), evaluate=False))   # x*y*[c]
            earlier.append(cond)
        if not terms:
            return self._print(sp.S.Zero)
        return self._print(terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False))

    def ones(self, expr):
        """The all-ones matrix: 𝟏 (a column), 𝟏ᵀ (a row), 𝟏𝟏ᵀ (anything wider)."""
        row, col = _ones_shape(expr)
        return self.one_vector(transposed=row and not col) if row or col else \
            self.one_vector() + self.one_vector(transposed=True)

    # --- symgrad's nodes ---

    def _print_AxisSum(self, e):
        rows, cols = e.arg.shape
        ones = sp.OneMatrix(cols, 1) if e.axis == 1 else sp.OneMatrix(1, rows)
        factors = (e.arg, ones) if e.axis == 1 else (ones, e.arg)
        return self._print(sp.Basic.__new__(sp.MatMul, *factors))

    def _print_SumAll(self, e, **kwargs):
        return self.named(e, "SumAll", [e.arg], **kwargs)

    def _print_XLogY(self, e, **kwargs):
        return self._print(sp.Mul(e.args[0], sp.log(e.args[1]), evaluate=False))

    def _print_LogSoftmax(self, e, **kwargs):
        k, *zs = e.args
        return self._print(zs[int(k)] - sp.Function("logsumexp")(*zs))


def negated(term):
    """(True, -term) when ``term`` is written with a minus sign, else (False, term). A matrix
    product is negative when its scalar coefficient is (SymPy's could_extract_minus_sign
    does not say so for a product like (-1/n)*A*B)."""
    if isinstance(term, sp.MatMul):
        coeff = sp.Mul(*[a for a in term.args if not getattr(a, "is_Matrix", False)])
        if not coeff.could_extract_minus_sign():
            return False, term
        args = ([-coeff] if coeff != -1 else []) + \
            [a for a in term.args if getattr(a, "is_Matrix", False)]
        return True, args[0] if len(args) == 1 else sp.Basic.__new__(type(term), *args)
    if getattr(term, "is_Matrix", False) or not term.could_extract_minus_sign():
        return False, term
    return True, -term


def _joined(factors):
    return factors[0] if len(factors) == 1 else Joined(*factors)


def named_methods(cls):
    """``_print_<Name>`` for every class in NAMES: the function by its textbook name."""
    for name in NAMES:
        if not hasattr(cls, "_print_" + name) or name in ("Trace", "Determinant"):
            setattr(cls, "_print_" + name,
                    lambda self, e, _n=name, **kw: self.named(e, _n, list(e.args), **kw))
    return cls


# --- plain text ---------------------------------------------------------------------------

@named_methods
class TextbookStr(TextbookCommon, StrPrinter):
    """Text: SymPy's operators, with ⊙, ᵀ, 𝟏 and textbook names."""

    def named(self, e, name, args, **kwargs):
        return "%s(%s)" % (NAMES[name][0], ", ".join(self._print(a) for a in args))

    def one_vector(self, transposed=False):
        return "𝟏ᵀ" if transposed else "𝟏"

    def _print_OneMatrix(self, e):
        return self.ones(e)

    def _print_Transpose(self, e):
        text = self.parenthesize(e.arg, POW)
        return "(%s)ᵀ" % text if "/" in text and not text.startswith("(") else "%sᵀ" % text

    def _print_Inverse(self, e):
        return "%s⁻¹" % self.parenthesize(e.arg, POW)

    def _print_MatPow(self, e):
        if not e.exp.is_Integer:
            return super()._print_MatPow(e)
        return "%s%s" % (self.parenthesize(e.base, POW), str(e.exp).translate(SUPERSCRIPTS))

    def _print_Max(self, e):
        return "max(%s)" % ", ".join(self._print(a) for a in e.args)

    def _print_Min(self, e):
        return "min(%s)" % ", ".join(self._print(a) for a in e.args)

    def _print_Abs(self, e):
        return "|%s|" % self._print(e.args[0])

    def _print_Unequality(self, e):
        return "%s ≠ %s" % (self._print(e.lhs), self._print(e.rhs))

    def _print_Equality(self, e):
        return "%s = %s" % (self._print(e.lhs), self._print(e.rhs))

    def _print_HadamardProduct(self, e):
        return " ⊙ ".join(self.parenthesize(a, MUL, strict=False) for a in e.args)

    _print_Joined = _print_HadamardProduct

    def _print_HadamardPower(self, e):
        return "%s**%s" % (self.parenthesize(e.base, POW), self.parenthesize(e.exp, POW))

    def _print_Iverson(self, e):
        return "[%s]" % self._print(e.args[0])

    def _print_MatMul(self, e):
        coeff = sp.Mul(*[a for a in e.args if not getattr(a, "is_Matrix", False)])
        matrices = [a for a in e.args if getattr(a, "is_Matrix", False)]
        sign = "-" if coeff.could_extract_minus_sign() else ""
        num, den = sp.fraction(-coeff if sign else coeff)
        text = "*".join(self.parenthesize(m, MUL, strict=False) for m in matrices)
        if num != 1:
            text = "%s*%s" % (self.parenthesize(num, MUL, strict=True), text)   # 2*lam*W
        if den != 1:
            text = "%s/%s" % (text, self.parenthesize(den, MUL, strict=False))
        return sign + text
