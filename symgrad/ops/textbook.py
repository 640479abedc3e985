"""Textbook printing: symgrad's results as a person writes them, in text, 2-D text and LaTeX.

Three printer subclasses, one per format, share the decisions below (``_Common``):

* a function applied to a matrix entry by entry is written as the function of the matrix:
  ``tanh(XW + 𝟏b)``, ``1 − tanh²(Z)``, never ``Lambda(_x0, ...)``; inside such a body a
  product of two matrix-valued factors is a Hadamard product ``⊙``, ``x**2`` of a matrix is
  a Hadamard power, and ``Piecewise((a, c), (0, True))`` is ``a ⊙ [c]`` (an Iverson bracket);
* ``OneMatrix`` is ``𝟏`` (a column), ``𝟏ᵀ`` (a row) or ``𝟏𝟏ᵀ``, never a bare ``1``;
* symgrad's nodes by their textbook names: ``σ``, ``softplus``, ``softmax``, ``logsumexp``,
  ``sum``; a row sum is ``M𝟏``, a column sum ``𝟏ᵀM``;
* in sums, terms without a minus sign come first (``σ(Z) − Y``, not ``−Y + σ(Z)``).

The text format keeps SymPy's operators (``*`` for the matrix product, ``**`` for powers) and
adds ``⊙``, ``ᵀ``, ``𝟏`` and a coefficient as a trailing divisor (``(σ(Z) - Y)/n``).
``render(expr, printer, kind)`` is what a node's ``_sympystr``, ``_latex`` or ``_pretty`` calls:
SymPy's own printers (``str``, ``latex``, ``pretty``) hand the node to the textbook printer of
their format; any other printer subclass (symgrad's parser syntax, ``srepr``) prints the node
as its SymPy base class would.

>>> import sympy as sp
>>> n = sp.Symbol("n")
>>> X, b = sp.MatrixSymbol("X", n, 3), sp.MatrixSymbol("b", 1, 3)
>>> TextbookStr().doprint(X + sp.OneMatrix(n, 1)*b)
'X + 𝟏*b'
"""

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict
from sympy.printing.str import StrPrinter

__all__ = ["TextbookStr", "TextbookLatex", "TextbookPretty", "render", "Printed", "Entry",
           "printed_precedence"]

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


class _Common:
    """What every textbook format decides the same way (mixed into each printer)."""

    def _print_Entry(self, e, **kwargs):
        return self._print(e.matrix)

    def _as_ordered_terms(self, expr, order=None):
        terms = super()._as_ordered_terms(expr, order=order)
        return sorted(terms, key=lambda t: bool(t.could_extract_minus_sign()))

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
                terms.append(sp.Mul(value, Iverson(where), evaluate=False))
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


def _joined(factors):
    return factors[0] if len(factors) == 1 else Joined(*factors)


def _named_methods(cls):
    """``_print_<Name>`` for every class in NAMES: the function by its textbook name."""
    for name in NAMES:
        if not hasattr(cls, "_print_" + name) or name in ("Trace", "Determinant"):
            setattr(cls, "_print_" + name,
                    lambda self, e, _n=name, **kw: self.named(e, _n, list(e.args), **kw))
    return cls


# --- plain text ---------------------------------------------------------------------------

@_named_methods
class TextbookStr(_Common, StrPrinter):
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
            text = "%s*%s" % (self.parenthesize(num, MUL), text)
        if den != 1:
            text = "%s/%s" % (text, self.parenthesize(den, MUL, strict=False))
        return sign + text


# --- LaTeX --------------------------------------------------------------------------------

@_named_methods
class TextbookLatex(_Common, LatexPrinter):
    """LaTeX: \\odot, ^{T}, \\mathbf{1}, \\sigma and \\operatorname names."""

    def named(self, e, name, args, exp=None, **kwargs):
        head = NAMES[name][1] if exp is None else "%s^{%s}" % (NAMES[name][1], exp)
        return r"%s\left(%s\right)" % (head, ", ".join(self._print(a) for a in args))

    def one_vector(self, transposed=False):
        return r"\mathbf{1}^{T}" if transposed else r"\mathbf{1}"

    def _print_OneMatrix(self, e):
        return self.ones(e)

    def _print_HadamardProduct(self, e):
        return r" \odot ".join(self.parenthesize(a, MUL, strict=False) for a in e.args)

    _print_Joined = _print_HadamardProduct

    def _print_Iverson(self, e):
        return r"\left[%s\right]" % self._print(e.args[0])

    def _print_Pow(self, e, **kwargs):
        if self._varies(e) and e.exp.is_Integer and e.exp > 1 and not e.base.is_Function:
            return r"{%s}^{\circ %s}" % (self.parenthesize(e.base, POW), self._print(e.exp))
        return super()._print_Pow(e, **kwargs)

    def _print_Transpose(self, e):
        text = self._print(e.arg)
        if precedence(e.arg) < PRECEDENCE["Func"] or "^" in text or r"\frac" in text:
            text = r"\left(%s\right)" % text
        return "%s^{T}" % text

    def _print_SumAll(self, e, **kwargs):
        norm = _frobenius(e.arg)
        if norm is not None:
            return r"\left\Vert %s\right\Vert_{F}^{2}" % self._print(norm)
        return self.named(e, "SumAll", [e.arg], **kwargs)


# --- 2-D text ------------------------------------------------------------------------------

@_named_methods
class TextbookPretty(_Common, PrettyPrinter):
    """2-D text (unicode, or ASCII where the terminal has no unicode)."""

    def named(self, e, name, args, **kwargs):
        text = NAMES[name][0] if self._use_unicode or name != "Sigmoid" else "sigmoid"
        return self._helper_print_function(e.func, args, func_name=text)

    def one_vector(self, transposed=False):
        if not self._use_unicode:
            return "ones^T" if transposed else "ones"
        return "𝟏ᵀ" if transposed else "𝟏"

    def _print_OneMatrix(self, e):
        return prettyForm(self.ones(e))

    def _print_HadamardProduct(self, e):
        return self._print_seq(e.args, None, None, " ⊙ " if self._use_unicode else " .* ",
                               parenthesize=lambda a: precedence(a) <= MUL)

    _print_Joined = _print_HadamardProduct

    def _print_Iverson(self, e):
        return prettyForm(*self._print(e.args[0]).parens("[", "]"))

    def _print_Entry(self, e, **kwargs):
        form = self._print(e.matrix)
        if precedence(e.matrix) < MUL:
            form = prettyForm(*stringPict.next(form), binding=prettyForm.ADD)
        return form

    def _print_MatAdd(self, e):
        form = None
        for term in self._as_ordered_terms(e):
            negative = term.could_extract_minus_sign()
            part = self._print(-term if negative else term)
            if form is None:
                form = prettyForm(*stringPict.next("-", part)) if negative else part
            else:
                form = prettyForm(*stringPict.next(form, " - " if negative else " + ", part))
        form.binding = prettyForm.ADD
        return form

    def _print_Transpose(self, e):
        if precedence(e.arg) < ATOM:
            return super()._print_Transpose(e)
        return self._print(e.arg)**prettyForm("T")


def _frobenius(M):
    """M when ``sum(M)`` is a squared Frobenius norm (M∘2 or M⊙M), else None."""
    if isinstance(M, sp.HadamardPower) and M.exp == 2:
        return M.base
    if isinstance(M, sp.HadamardProduct) and len(M.args) == 2 and M.args[0] == M.args[1]:
        return M.args[0]
    return None


# --- dispatch from a node's print method ----------------------------------------------------

_PLAIN = {"str": StrPrinter, "latex": LatexPrinter, "pretty": PrettyPrinter}
_TEXTBOOK = {"str": TextbookStr, "latex": TextbookLatex, "pretty": TextbookPretty}


def render(expr, printer, kind, **kwargs):
    """Print ``expr`` for ``printer`` (one of "str", "latex", "pretty" printers).

    SymPy's own printers switch to the textbook printer of their format; a textbook printer
    prints the node by its class (for a display subclass: its SymPy base class); any other
    printer subclass is given the display node's base-class twin, and prints symgrad's own
    nodes in the textbook form.
    """
    base = getattr(type(expr), "plain_class", None)
    textbook = _TEXTBOOK[kind]
    if isinstance(printer, textbook):
        return _by_class(printer, expr, base or type(expr), **kwargs)
    if type(printer) is not _PLAIN[kind] and base is not None:
        return printer._print(sp.Basic.__new__(base, *expr.args), **kwargs)   # its twin
    settings = {k: v for k, v in printer._settings.items() if k in textbook._default_settings}
    return textbook(settings)._print(expr, **kwargs)


class Printed:
    """Mixin for symgrad's own nodes: LaTeX and 2-D text in the textbook form; ``str`` stays
    SymPy's (``Sigmoid(z)``, ``SumAll(M)``), the syntax the nodes are built with."""

    __slots__ = ()

    def _latex(self, printer, **kwargs):
        return render(self, printer, "latex", **kwargs)

    def _pretty(self, printer, **kwargs):
        return render(self, printer, "pretty", **kwargs)


def _by_class(printer, expr, cls, **kwargs):
    for c in cls.__mro__:
        method = getattr(printer, "_print_" + c.__name__, None)
        if method is not None:
            return method(expr, **kwargs)
    return printer.emptyPrinter(expr)
