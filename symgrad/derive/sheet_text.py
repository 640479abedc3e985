"""How a derivation sheet shows itself: text, Markdown and LaTeX (and Jupyter's display).

Every expression goes through the textbook printers (``ops.textbook``); a step's name is a
symbol name (``Z1``, ``∂L/∂W2``), written ``Z_{1}`` and ``\\frac{\\partial L}{\\partial W_{2}}``
in LaTeX.
"""

import sympy as sp

from ..ops.printing import TextbookLatex
from ..ops.textbook import TextbookStr

__all__ = ["SheetText", "adjoint_name"]

PARTIAL = "∂L/∂"


def adjoint_name(name):
    """The name of the adjoint of the value called ``name``: ∂L/∂Z1."""
    return PARTIAL + name


def _name_latex(name):
    if name.startswith(PARTIAL):
        return r"\frac{\partial L}{\partial %s}" % _name_latex(name[len(PARTIAL):])
    return TextbookLatex()._print(sp.Symbol(name))


class SheetText:
    """Mixin for ``Derivation``: ``str``, ``markdown()``, ``latex()``, ``step_latex(name)``."""

    def _sections(self):
        return (("forward", self.steps[:self.forward]), ("backward", self.steps[self.forward:]))

    def __str__(self):
        lines = []
        for title, steps in self._sections():
            lines.append("%s:" % title)
            lines += ["  %s = %s" % (name, TextbookStr().doprint(expr)) for name, expr in steps]
        return "\n".join(lines)

    def __repr__(self):
        return "<derivation of %s: %d forward steps, %d adjoints>" % (
            ", ".join("∂L/∂%s" % w for w in self.wrt), self.forward, len(self.steps) - self.forward)

    def _latex_printer(self):
        names = {symbol: _name_latex(name) for name, symbol in self.symbols.items()}
        return TextbookLatex({"symbol_names": names})

    def step_latex(self, name):
        """One step as LaTeX, ``lhs = rhs``."""
        expr = dict(self.steps)[name]
        return "%s = %s" % (_name_latex(name), self._latex_printer().doprint(expr))

    def latex(self):
        """The sheet as one LaTeX ``aligned`` block, forward steps first."""
        printer = self._latex_printer()
        rows = [r"%s &= %s" % (_name_latex(name), printer.doprint(expr))
                for name, expr in self.steps]
        return "\\begin{aligned}\n%s\n\\end{aligned}" % " \\\\\n".join(rows)

    def markdown(self):
        """The sheet as Markdown: a list of forward steps, then of adjoints, each in $...$,
        then how the steps were checked (when they were)."""
        parts = []
        for title, steps in self._sections():
            parts.append("**%s**\n" % title.capitalize())
            parts += ["- $%s$" % self.step_latex(name) for name, _ in steps]
            parts.append("")
        if self.checks:
            parts += ["*%s*" % self.check_summary(), ""]
        return "\n".join(parts)

    def check_summary(self):
        """One line on how the steps were checked against ``grad``: how many are the same
        expression as grad's, how many were decided by ``verify`` (and how)."""
        same = sum(1 for _, how in self.checks if isinstance(how, str))
        decided = {}
        for _, how in self.checks:
            if not isinstance(how, str):
                decided[how.status] = decided.get(how.status, 0) + 1
        rest = "".join(", %d %s by verify" % (decided[s], s) for s in sorted(decided))
        return "each step checked against grad: %d the same expression%s" % (same, rest)

    def _repr_latex_(self):
        return "$$%s$$" % self.latex()

    def _repr_markdown_(self):
        return self.markdown()
