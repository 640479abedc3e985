"""The reader behind :mod:`symgrad.parse`: SymPy objects from a checked AST, one rule per node type.

``Reader(source, lead, what, matrices).value(node)`` builds the SymPy object of
one expression node, refusing every node type, operator, name and call outside
the whitelist in :mod:`symgrad._parse_tables` with a one-line ``ParseError``
that gives the column. The matrix rules (``@``, elementwise ``*``, ``.T``, no
broadcasting) are described in :mod:`symgrad.parse`.
"""
import ast
import math
import re
from difflib import get_close_matches
from fractions import Fraction

import sympy as sp

from . import guards as G
from . import tables as T
from .guards import fail, short
from .tables import (CONSTANTS, FUNCTIONS, MATRIX_FUNCTIONS, MAX_ARGS, MAX_DIMENSION, NOT_NUMBERS,
                            arity_text)

__all__ = ["Reader"]

_SYMPY_ERRORS = (TypeError, ValueError, AttributeError, NotImplementedError, ArithmeticError,
                 IndexError, KeyError)          # SymPy's ShapeError is a ValueError
_LINES = re.compile(r"\r\n|\r|\n")
_HELP = "see `symgrad --help` for the list of functions"


def _is_matrix(x):
    return bool(getattr(x, "is_Matrix", False))


def _shape_text(x):
    return "%s x %s" % x.shape


# --- the reader: one rule per AST node type -----------------------------------------------

class Reader:
    """Builds SymPy objects from a checked AST, refusing every node outside the whitelist."""

    def __init__(self, source, lead, what, matrices=None):
        self.source, self.lead, self.what = source, lead, what
        self.matrices, self.dims = G.declare(matrices, what)

    # --- messages ---

    def at(self, node):
        line = _LINES.split(self.source)[node.lineno - 1]
        column = len(line.encode("utf-8")[:node.col_offset].decode("utf-8", "replace")) + 1
        if node.lineno == 1:
            return "column %d" % (column + self.lead)
        return "line %d, column %d" % (node.lineno, column)

    def snippet(self, node):
        return short(ast.get_source_segment(self.source, node) or type(node).__name__)

    def sized(self, node, value):
        """The text of ``node`` with its shape if it is a matrix: 'X' (n x d)."""
        return self.snippet(node) + (" (%s)" % _shape_text(value) if _is_matrix(value) else "")

    def fail(self, node, problem, hint=None):
        fail(self.what, "%s at %s" % (problem, self.at(node)), hint)

    def refuse(self, node):
        name, hint = T.REFUSED_SYNTAX.get(type(node), (
            "Python syntax %s" % type(node).__name__,
            "use numbers, names, + - * / ** @ and the listed functions"))
        self.fail(node, "%s is not allowed" % name, hint)

    def guard(self, node, problem):
        """Fail with a (problem, hint) pair from the number guards, if there is one."""
        if problem is not None:
            self.fail(node, "%s %s" % (self.snippet(node), problem[0]), problem[1])

    def sympy(self, node, fn, *args, **kwargs):
        """Call SymPy, turning its errors into a ParseError that names the shapes."""
        try:
            return fn(*args, **kwargs)
        except _SYMPY_ERRORS as e:
            shapes = ", ".join(_shape_text(a) for a in args if _is_matrix(a))
            self.fail(node, "cannot build %s%s (%s: %s)" % (
                self.snippet(node), " from shapes " + shapes if shapes else "",
                type(e).__name__, str(e)[:80]), "check the shapes and arguments")

    def checked(self, node, result):
        self.guard(node, G.result_problem(result))
        return result

    # --- leaves ---

    def value(self, node):
        rule = self.VALUE_RULES.get(type(node))
        if rule is None:
            self.refuse(node)
        return rule(self, node)

    def number(self, node):
        v = node.value
        if isinstance(v, int) and not isinstance(v, bool):
            return sp.Integer(v)
        if isinstance(v, float):
            if not math.isfinite(v):
                self.fail(node, "number %s is too large (not finite as a float)"
                          % self.snippet(node), "use a smaller number, or exp(...)")
            mantissa = re.split("[eE]", ast.get_source_segment(self.source, node) or "")[0]
            if v == 0 and any(c in "123456789" for c in mantissa):
                self.fail(node, "number %s underflows to 0" % self.snippet(node),
                          "use a larger number, or exp(-...)")
            exact = Fraction(repr(v))
            return sp.Rational(exact.numerator, exact.denominator)
        kind = ("a complex number" if isinstance(v, complex) else
                "a string" if isinstance(v, (str, bytes)) else repr(v))
        self.fail(node, "%s is not allowed" % kind, "write a real number or a name")

    def name(self, node):
        name = node.id
        if name.startswith("_"):
            self.fail(node, "name %r is not allowed" % name, "names may not start with _")
        for table in (self.matrices, self.dims, CONSTANTS):
            if name in table:
                return table[name]
        if name in FUNCTIONS or name in MATRIX_FUNCTIONS:
            self.fail(node, "%s is a function, not a symbol" % name,
                      "call it as %s(x), or rename the symbol" % name)
        if name in NOT_NUMBERS:
            self.fail(node, "%s is not a finite number" % name,
                      "symgrad computes with finite numbers; rename the symbol if you meant one")
        return sp.Symbol(name, real=True)

    def attribute(self, node):
        if node.attr != "T":
            self.fail(node, "attribute .%s is not allowed" % node.attr,
                      "the only attribute is M.T, the transpose of a matrix")
        value = self.value(node.value)
        if not _is_matrix(value):
            self.fail(node, "%s is a scalar: .T transposes matrices only"
                      % self.snippet(node.value), "drop .T, or declare the name as a matrix")
        return value.T

    def misplaced_condition(self, node):
        self.fail(node, "the condition %s is only allowed as the first argument of "
                  "where(condition, a, b)" % self.snippet(node), "write e.g. where(x > 0, x, 0)")

    # --- operators ---

    def unary(self, node):
        if isinstance(node.op, (ast.Not, ast.Invert)):
            self.fail(node, "%s is only allowed on comparisons"
                      % ("~" if isinstance(node.op, ast.Invert) else "not"),
                      "use it inside where(condition, a, b)")
        v = self.value(node.operand)
        return self.checked(node, -v if isinstance(node.op, ast.USub) else v)

    def binop(self, node):
        if type(node.op) in T.REFUSED_OPS:
            symbol, hint = T.REFUSED_OPS[type(node.op)]
            self.fail(node, "operator %s is not allowed here" % symbol, hint)
        kind = G.chain_kind(node)
        if kind is None:                                    # ** is not a chain
            return self.binary(node, self.value(node.left), self.value(node.right))
        links, first = [], node                             # a + b - c: walk the left spine
        while isinstance(first, ast.BinOp) and G.chain_kind(first) == kind:
            links.append(first)
            first = first.left
        if len(links) >= T.MAX_CHAIN:
            self.fail(node, "more than %d terms in one sum or product" % T.MAX_CHAIN,
                      "split the formula into smaller parts")
        links.reverse()
        acc, rights = self.value(first), [self.value(link.right) for link in links]
        if kind == "sum" and not any(map(_is_matrix, [acc, *rights])):
            terms = [r if isinstance(link.op, ast.Add) else -r for link, r in zip(links, rights)]
            return self.checked(node, sp.Add(acc, *terms))   # one flatten, not n
        for link, right in zip(links, rights):              # size checks once, at the end
            acc = self.binary(link, acc, right, check=link is node)
        return acc

    def binary(self, node, a, b, check=True):
        """a <op> b for scalars and matrices; ``node`` is the ast.BinOp (for messages)."""
        op, ma, mb = type(node.op), _is_matrix(a), _is_matrix(b)
        if op is ast.Pow:
            return self.power(node, a, b)
        if op is ast.Div and not mb and b.is_zero:
            self.fail(node, "division by zero in %s" % self.snippet(node), "check the denominator")
        if op is ast.MatMult and not (ma and mb):
            self.fail(node, "@ is the matrix product and needs two matrices, got %s and %s"
                      % (self.sized(node.left, a), self.sized(node.right, b)),
                      "use * to multiply by a scalar")
        if ma or mb:
            self.check_shapes(node, op, a, b)
        table = T.MATRIX_OPS if ma and mb else T.SCALED_OPS if ma or mb else T.SCALAR_OPS
        result = self.sympy(node, table[op], a, b)
        return self.checked(node, result) if check else result

    def check_shapes(self, node, op, a, b):
        """Refuse matrix operations whose shapes do not fit (no broadcasting)."""
        sa, sb = self.sized(node.left, a), self.sized(node.right, b)
        if _is_matrix(a) and _is_matrix(b):
            if op is ast.MatMult and a.shape[1] != b.shape[0]:
                self.fail(node, "cannot multiply %s @ %s: inner dimensions differ" % (sa, sb),
                          "check the shapes, or transpose one side with .T")
            if op is not ast.MatMult and a.shape != b.shape:
                self.fail(node, "cannot %s %s and %s: shapes differ" % (T.MATRIX_VERBS[op], sa, sb),
                          "there is no broadcasting: * and / are elementwise like NumPy, @ is "
                          "the matrix product, ones(n, 1) @ b repeats a row b")
        elif op in (ast.Add, ast.Sub):
            shape = (a if _is_matrix(a) else b).shape
            self.fail(node, "cannot add or subtract a scalar and a matrix: %s and %s" % (sa, sb),
                      "wrap the 1 x 1 matrix in tr(...) to use it as a scalar" if shape == (1, 1)
                      else "write c*ones(%s, %s) for a matrix of constants" % shape)
        elif op is ast.Div and _is_matrix(b):
            self.fail(node, "cannot divide the scalar %s by the matrix %s" % (sa, sb),
                      "for elementwise reciprocals write c * M**-1")

    def power(self, node, base, exponent):
        if _is_matrix(exponent):
            self.fail(node, "the exponent %s is a matrix" % self.sized(node.right, exponent),
                      "only scalar exponents are allowed (M**c is elementwise)")
        self.guard(node, G.power_problem(base, exponent))
        if _is_matrix(base):
            return self.checked(node, self.sympy(node, sp.HadamardPower, base, exponent))
        return self.checked(node, self.sympy(node, lambda: base ** exponent))

    # --- calls ---

    def call(self, node):
        if not isinstance(node.func, ast.Name):
            kind = "an attribute" if isinstance(node.func, ast.Attribute) else "the result of"
            self.fail(node, "calling %s %s is not allowed" % (kind, self.snippet(node.func)),
                      "call a listed function by its bare name, e.g. exp(x)")
        name = node.func.id
        if name.startswith("_"):
            self.fail(node, "name %r is not allowed" % name, "names may not start with _")
        if node.keywords:
            arg = node.keywords[0].arg
            self.fail(node, ("keyword argument %s=" % arg if arg else "**kwargs")
                      + " is not allowed", "pass arguments by position, e.g. log(x, 2)")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail(arg, "*args is not allowed", "pass each argument separately")
        entries = [table[name] for table in (FUNCTIONS, MATRIX_FUNCTIONS) if name in table]
        if not entries:
            self.unknown_function(node, name)
        self.check_arity(node, name, (min(e[1][0] for e in entries),
                                      max(e[1][1] or MAX_ARGS for e in entries)))
        kinds = T.ARG_KINDS.get(name, ())
        args = [self.argument(kinds[i] if i < len(kinds) else "value", a)
                for i, a in enumerate(node.args)]
        if name in MATRIX_FUNCTIONS and (name not in FUNCTIONS or any(map(_is_matrix, args))):
            return self.matrix_call(node, name, args)
        return self.scalar_call(node, name, args)

    def unknown_function(self, node, name):
        if name in self.matrices or name in self.dims or name in CONSTANTS:
            self.fail(node, "%s is not a function" % name, "write %s*(...) for a product" % name)
        close = get_close_matches(name, [*FUNCTIONS, *MATRIX_FUNCTIONS], n=1)
        self.fail(node, "unknown function %r" % name,
                  "did you mean %s? (%s)" % (close[0], _HELP) if close else _HELP)

    def check_arity(self, node, name, arity):
        if not arity[0] <= len(node.args) <= (arity[1] or MAX_ARGS):
            self.fail(node, "%s takes %s, got %d" % (name, arity_text(arity), len(node.args)),
                      _HELP)

    def argument(self, kind, node):
        if kind == "value":
            return self.value(node)
        if kind == "condition":
            return self.condition(node)
        if kind == "dim" and isinstance(node, ast.Name) and node.id in self.dims:
            return self.dims[node.id]
        low, high = {"order": (0, T.MAX_POLYGAMMA_ORDER), "axis": (0, 1),
                     "dim": (1, MAX_DIMENSION)}[kind]
        v = node.value if isinstance(node, ast.Constant) else None
        if not (isinstance(v, int) and not isinstance(v, bool) and low <= v <= high):
            self.fail(node, "the %s %s must be a whole number from %d to %d%s" % (
                "dimension" if kind == "dim" else kind, self.snippet(node), low, high,
                " or a declared dimension name" if kind == "dim" else ""),
                "write it as a number literal")
        return v if kind == "axis" else sp.Integer(v)

    def scalar_call(self, node, name, args):
        fn, arity = FUNCTIONS[name]
        self.check_arity(node, name, arity)
        self.guard(node, G.call_problem(name, args))
        mats = [i for i, a in enumerate(args) if _is_matrix(a)]
        if mats and name in T.SCALAR_ONLY:
            self.fail(node, "%s(...) works on scalars, got a matrix" % name,
                      "use it on scalar expressions")
        if all(args[i].shape == (1, 1) for i in mats):       # scalars, or 1 x 1 matrices
            result = self.sympy(node, fn, *args)
            if mats and result.has(sp.Adjoint, sp.conjugate):
                self.fail(node, "%s of a 1 x 1 matrix is not supported" % name,
                          "wrap the 1 x 1 matrix in tr(...) to use it as a scalar")
            return self.checked(node, result)
        if len(mats) > 1:
            self.fail(node, "%s applies elementwise to one matrix, got %d matrices"
                      % (name, len(mats)), "combine the matrices with + - * / first")
        i = mats[0]
        f = fn if len(args) == 1 and isinstance(fn, sp.FunctionClass) else \
            (lambda t: fn(*args[:i], t, *args[i + 1:]))
        return self.checked(node, self.sympy(node, args[i].applyfunc, f))

    def matrix_call(self, node, name, args):
        fn, arity = MATRIX_FUNCTIONS[name]
        self.check_arity(node, name, arity)
        if name not in T.BUILDERS:
            if not _is_matrix(args[0]):
                self.fail(node, "%s needs a matrix, but %s is a scalar"
                          % (name, self.snippet(node.args[0])), "declare the name as a matrix")
            if name in T.SQUARE_ONLY and args[0].shape[0] != args[0].shape[1]:
                self.fail(node, "%s needs a square matrix, got %s"
                          % (name, self.sized(node.args[0], args[0])), "e.g. use X.T @ X")
        return self.checked(node, self.sympy(node, fn, *args))

    # --- conditions (only inside where) ---

    def condition(self, node):
        if isinstance(node, ast.Compare):
            return self.comparison(node, evaluate=True)
        if isinstance(node, ast.BoolOp):
            join = sp.And if isinstance(node.op, ast.And) else sp.Or
            return self.sympy(node, join, *[self.condition(v) for v in node.values])
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            join = sp.And if isinstance(node.op, ast.BitAnd) else sp.Or
            return self.sympy(node, join, self.condition(node.left), self.condition(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Invert, ast.Not)):
            return self.sympy(node, sp.Not, self.condition(node.operand))
        self.fail(node, "%s is not a condition" % self.snippet(node),
                  "write a comparison such as x > 0; combine comparisons with & | ~")

    def comparison(self, node, evaluate):
        for op in node.ops:
            if type(op) not in T.COMPARISONS:
                self.fail(node, "'%s' is not allowed" % T.COMPARISON_TEXT[type(op)],
                          "compare with < <= > >= == !=")
        sides = [node.left, *node.comparators]
        values = [self.value(side) for side in sides]
        for side, v in zip(sides, values):
            if _is_matrix(v):
                self.fail(side, "comparisons need scalars, but %s is a matrix"
                          % self.sized(side, v), "compare a scalar such as tr(...) or sum(...)")
        relations = [self.sympy(node, T.COMPARISONS[type(op)], a, b, evaluate=evaluate)
                     for op, a, b in zip(node.ops, values, values[1:])]
        return relations[0] if len(relations) == 1 else self.sympy(node, sp.And, *relations)

    VALUE_RULES = {ast.Constant: number, ast.Name: name, ast.Attribute: attribute,
                   ast.UnaryOp: unary, ast.BinOp: binop, ast.Call: call,
                   ast.Compare: misplaced_condition, ast.BoolOp: misplaced_condition}
