"""Display classes: SymPy matrix nodes that print as a textbook writes them.

Each class subclasses one SymPy (or symgrad) node and changes nothing but printing:
``str``, ``pretty`` and ``latex`` go through the textbook printers (``textbook.py``), for the
node and everything under it. A display node equals its base-class twin and hashes like it
(``MatrixProduct(2, W) == MatMul(2, W)``), so results compare, substitute and differentiate as
before; ``.subs`` and ``xreplace`` keep the display class. Each class has a registry entry
(``matrix.py``) that lowers it as its base class and whose ``standard`` form is the base class
itself, so verification never sees the difference.

``shown(expr)`` rebuilds an expression with every matrix node of these kinds replaced by its
display class. A result whose top node has none (a bare ``RowSoftmax``) prints in ``str`` by
its SymPy class name; its pretty and LaTeX forms are textbook ones (``Printed``).

>>> import sympy as sp
>>> n = sp.Symbol("n")
>>> X, b = sp.MatrixSymbol("X", n, 3), sp.MatrixSymbol("b", 1, 3)
>>> e = shown(X + sp.OneMatrix(n, 1)*b)
>>> str(e), e == X + sp.OneMatrix(n, 1)*b
('X + 𝟏*b', True)
"""

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .matrix_nodes import AxisSum, ElementwiseMap, Mean, SumAll
from .printing import render
from .textbook import printed_precedence

__all__ = ["Shown", "MatrixProduct", "MatrixSum", "Hadamard", "HadamardPow", "Map", "EntryMap",
           "Transposed", "Inverted", "Power", "Total", "RowColumnSum", "Average", "DISPLAY",
           "shown", "plain"]


class Shown:
    """Mixin: textbook printing; equal to, and hashed as, its base class ``plain_class``."""

    __slots__ = ()
    plain_class = None

    def __eq__(self, other):
        if isinstance(other, sp.Basic) and type(other) is not type(self) and \
                getattr(type(other), "plain_class", type(other)) is self.plain_class:
            return self._hashable_content() == other._hashable_content()
        return self.plain_class.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        h = self._mhash
        if h is None:
            h = self._mhash = hash((self.plain_class.__name__,) + self._hashable_content())
        return h

    def _sympystr(self, printer, **kwargs):
        return render(self, printer, "str", **kwargs)

    def _latex(self, printer, **kwargs):
        return render(self, printer, "latex", **kwargs)

    def _pretty(self, printer, **kwargs):
        return render(self, printer, "pretty", **kwargs)


# (names that are not SymPy printer names: a class called Sum or Product would be printed by
# lambdify's _print_Sum / _print_Product, which expect sp.Sum's limits)
class MatrixProduct(Shown, sp.MatMul):
    """A matrix product: ``Xᵀ*(σ(X*w) - y)/n``, ``𝟏*b``."""

    plain_class = sp.MatMul


class MatrixSum(Shown, sp.MatAdd):
    """A sum of matrices, positive terms first: ``softmax(Z) - Y``."""

    plain_class = sp.MatAdd


class Hadamard(Shown, sp.HadamardProduct):
    """An entrywise product: ``A ⊙ B``."""

    plain_class = sp.HadamardProduct


class HadamardPow(Shown, sp.HadamardPower):
    """An entrywise power: ``(X*W - Y)**2``, LaTeX ``(XW - Y)^{∘2}``."""

    plain_class = sp.HadamardPower


def _body_precedence(self):
    """How tightly the printed body binds (``1 - tanh(Z)**2`` as a sum, ``tanh(Z)`` as a call)."""
    f = self.function
    return printed_precedence(f.expr if isinstance(f, sp.Lambda) else f(sp.Dummy()))


class Map(Shown, ElementwiseApplyFunction):
    """A function applied entry by entry, written as the function of the matrix:
    ``tanh(X*W + 𝟏*b)``, ``1 - tanh(Z)**2``. Its transpose stays ``tanh(Z)ᵀ``."""

    plain_class = ElementwiseApplyFunction
    precedence = property(_body_precedence)

    def _eval_transpose(self):
        return None


class EntryMap(Shown, ElementwiseMap):
    """A function of several matrices entry by entry: ``(1 - Y)/(1 - P) - Y/P``."""

    plain_class = ElementwiseMap
    precedence = property(_body_precedence)

    def _eval_transpose(self):
        return None


class Transposed(Shown, sp.Transpose):
    """A transpose: ``Xᵀ``."""

    plain_class = sp.Transpose


class Inverted(Shown, sp.Inverse):
    """A matrix inverse: ``S⁻¹``, ``Sᵀ⁻¹``."""

    plain_class = sp.Inverse


class Power(Shown, sp.MatPow):
    """A matrix power: ``S⁻²``."""

    plain_class = sp.MatPow


class Total(Shown, SumAll):
    """The sum of all entries: ``sum(M)``."""

    plain_class = SumAll


class RowColumnSum(Shown, AxisSum):
    """Row sums ``M*𝟏`` (axis 1) or column sums ``𝟏ᵀ*M`` (axis 0)."""

    plain_class = AxisSum


class Average(Shown, Mean):
    """The mean of all entries: ``mean(M)``."""

    plain_class = Mean


DISPLAY = (MatrixProduct, MatrixSum, Hadamard, HadamardPow, Map, EntryMap, Transposed, Inverted, Power,
           Total, RowColumnSum, Average)
_BY_BASE = {cls.plain_class: cls for cls in DISPLAY}


def plain(cls):
    """``standard`` of a display class's registry entry: the node as its base class."""
    return lambda *args: sp.Basic.__new__(cls.plain_class, *args)


def shown(expr, memo=None):
    """``expr`` with each matrix node that has a display class rebuilt as it (Lambda bodies,
    which hold scalars only, are left alone)."""
    memo = {} if memo is None else memo
    out = memo.get(expr)
    if out is not None:
        return out
    if not expr.args or isinstance(expr, (sp.Lambda, sp.MatrixBase)):
        out = expr
    else:
        args = tuple(shown(a, memo) for a in expr.args)
        cls = _BY_BASE.get(type(expr), type(expr))
        if cls is type(expr) and all(a is b for a, b in zip(args, expr.args)):
            out = expr
        elif cls is type(expr):
            out = expr.func(*args)
        else:
            out = sp.Basic.__new__(cls, *args)
    memo[expr] = out
    return out
