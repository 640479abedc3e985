"""SymPy function classes made from registry entries.

``make_function`` builds the SymPy class of a scalar op and registers its entry in one
step; symgrad's derived nodes (``derived.py``) and functions people register
(``user.py``) both come through here. ``attach`` gives an existing symgrad class the
methods that read its entry: ``fdiff`` from the derivative rule (so ``sympy.diff`` and
symgrad agree by construction), evaluation through the mpmath evaluator, and printing
for ``lambdify`` through the standard form.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from .registry import ELEMENTWISE, Op, lookup, register

__all__ = ["make_function", "attach"]


def _fdiff(self, argindex: int = 1) -> sp.Expr:
    op = lookup(type(self))
    part = op.rule(sp.S.One, self, *self.args)[argindex - 1]
    if part is None:
        raise sp.ArgumentIndexError(self, argindex)
    return part


def _evalf(self, prec):
    """Evaluate through the entry's mpmath function at ``prec`` bits (None if not a number)."""
    op = lookup(type(self))
    values = []
    for a in self.args:
        v = a._eval_evalf(prec) if not a.is_Number else a
        if v is None or not v.is_number:
            return None
        values.append(v)
    with mp.workprec(prec + 10):
        try:
            # integers as mpf too: a Python int would make u/(1 + abs(u)) a float64 division
            result = op.mpmath(*[mp.mpmathify(v) for v in values])
        except (ValueError, ZeroDivisionError, TypeError, OverflowError):
            return None
        if isinstance(result, mp.mpc):
            if result.imag != 0:
                return None
            result = result.real
        # a float64 evaluator (a NumPy-only registered function) carries 53 bits, no more
        return sp.Float(result, precision=min(prec, 53) if op.float_only else prec)


def _standard_code(self, printer):
    return printer._print(lookup(type(self)).standard(*self.args))


def _real(self):
    op = lookup(type(self))
    if op.domain is None and all(a.is_real for a in self.args):
        return True
    return None


def attach(cls, *, evalf=False, lambdify=True):
    """Give ``cls`` the methods that read its registry entry."""
    cls.fdiff = _fdiff
    if evalf:
        cls._eval_evalf = _evalf
    if lambdify and lookup(cls).standard is not None:
        cls._numpycode = _standard_code
        cls._mpmathcode = _standard_code
    return cls


def make_function(name: str, *, rule, numpy, mpmath, standard=None, latex=None, nargs=1,
                  class_name=None, **facts) -> type:
    """A new SymPy function class for an elementwise op, registered with its entry.

    ``latex`` is the LaTeX operator name (``\\operatorname{softsign}`` by default).
    """
    latex = latex or r"\operatorname{%s}" % name.replace("_", r"\_")

    def _latex(self, printer):
        return r"%s\left(%s\right)" % (latex, ", ".join(printer._print(a) for a in self.args))

    attrs = {"nargs": nargs, "_latex": _latex, "_eval_is_real": _real,
             "__doc__": "%s: a symgrad op (see its registry entry)." % name,
             "__module__": __name__}
    cls = type(class_name or name, (sp.Function,), attrs)
    facts.setdefault("names", (name,))
    facts.setdefault("arity", (nargs, nargs))
    register(Op(cls, ELEMENTWISE, rule=rule, numpy=numpy, mpmath=mpmath, standard=standard,
                **facts))
    return attach(cls, evalf=True)
