r"""The LaTeX and 2-D textbook printers, and ``render``: what every node's print method calls.

``TextbookLatex`` writes \odot, ^{T}, \mathbf{1}, \sigma and \operatorname names (and
sum(M**2) as a squared Frobenius norm); ``TextbookPretty`` the same in 2-D text, unicode or
ASCII. Both share ``textbook.TextbookCommon`` with the text printer. ``render(expr, printer,
kind)``:
SymPy's own printers (``str``, ``latex``, ``pretty``) hand the node to the textbook printer of
their format; any other printer subclass (symgrad's parser syntax, ``srepr``) gets a display
node's SymPy twin, so it prints what it always printed.

>>> import sympy as sp
>>> n = sp.Symbol("n")
>>> X = sp.MatrixSymbol("X", n, 3)
>>> print(TextbookLatex().doprint(sp.HadamardProduct(X, X + sp.OneMatrix(n, 3))))
X \odot \left(X + \mathbf{1}\mathbf{1}^{T}\right)
"""

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict
from sympy.printing.str import StrPrinter

from .textbook import (ATOM, MUL, NAMES, POW, TextbookCommon, TextbookStr, named_methods,
                       negated)

__all__ = ["TextbookLatex", "TextbookPretty", "render", "Printed"]


# --- LaTeX --------------------------------------------------------------------------------

@named_methods
class TextbookLatex(TextbookCommon, LatexPrinter):
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

    def _print_MatAdd(self, e):
        tex = ""
        for i, term in enumerate(self._as_ordered_terms(e)):
            negative, positive = negated(term)
            text = self.parenthesize(positive, PRECEDENCE["Add"], strict=False)
            tex += ("- " if negative else "") + text if i == 0 else \
                (" - " if negative else " + ") + text
        return tex

    def _print_MatMul(self, e):
        negative, positive = negated(e)
        if negative:            # SymPy's own would print - A \otimes B C, dropping the brackets
            return "- " + self._print(positive)
        return super()._print_MatMul(e)

    def _print_SumAll(self, e, **kwargs):
        norm = _frobenius(e.arg)
        if norm is not None:
            return r"\left\Vert %s\right\Vert_{F}^{2}" % self._print(norm)
        return self.named(e, "SumAll", [e.arg], **kwargs)


# --- 2-D text ------------------------------------------------------------------------------

@named_methods
class TextbookPretty(TextbookCommon, PrettyPrinter):
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
            negative, positive = negated(term)
            part = self._print(positive)
            if form is None:
                form = prettyForm(*stringPict.next("-", part)) if negative else part
            else:
                form = prettyForm(*stringPict.next(form, " - " if negative else " + ", part))
        form.binding = prettyForm.ADD
        return form

    def _print_Vec(self, e):
        return self._helper_print_function(e.func, e.args, func_name="vec")

    def _print_Diag(self, e):
        return self._helper_print_function(e.func, e.args, func_name="diag")

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
