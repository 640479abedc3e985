"""The guards behind :mod:`symgrad.parse`: they enforce the limits in :mod:`symgrad._parse_tables`.

They refuse text before ``ast.parse`` sees it (length, brackets, digits),
trees before SymPy sees them (depth, size), and numbers before SymPy evaluates
them (``9**9**9``, ``exp(10**9*log(3))``, ``gamma(10**6)``). Names and matrix
declarations are checked here too. Every refusal is one ``ParseError`` line
made by :func:`fail`.
"""
import ast
import keyword
import math
import numbers
import re
import unicodedata
import warnings

import sympy as sp

from .tables import (CHAIN_KIND, CONSTANTS, FUNCTIONS, GROWING, MATRIX_FUNCTIONS, NOT_NUMBERS,
                            MAX_ARGS, MAX_DEPTH, MAX_DIMENSION, MAX_EXPONENT, MAX_GROWTH_ARG,
                            MAX_LENGTH, MAX_LITERAL_DIGITS, MAX_NESTING, MAX_NODES,
                            MAX_RESULT_DIGITS, MAX_SPECIAL_ARG, NUMBER_GUARDED)
from ..errors import ArgumentError, ParseError


# --- guards: text and trees ---------------------------------------------------------------

_TOKEN = re.compile(r"\w+")


def fail(what, problem, hint=None):
    """Raise the one-line ParseError 'what: problem; hint'."""
    message = "%s: %s" % (what, problem) + ("; " + hint if hint else "")
    raise ParseError("".join(c if c.isprintable() else " " for c in message))


def misuse(what, problem):
    """Raise the ArgumentError 'what: problem': a Python caller passed the wrong kind of value."""
    raise ArgumentError("%s: %s" % (what, problem))


def short(text, limit=40):
    """A quoted, truncated piece of user text for messages."""
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def check_text(text, what):
    """Refuse text that must not reach ast.parse: too long, empty, null bytes, deep brackets."""
    if not isinstance(text, str):
        misuse(what, "expected text (a str), got %s" % type(text).__name__)
    depth = 0
    for i, c in enumerate(text[:MAX_LENGTH + 1]):
        if c == "\0" or "\ud800" <= c <= "\udfff":
            fail(what, "character %r at column %d is not allowed" % (c, i + 1), "remove it")
        depth += (c in "([{") - (c in ")]}")
        if depth > MAX_NESTING:
            fail(what, "too deeply nested: more than %d open brackets at column %d"
                 % (MAX_NESTING, i + 1), "simplify the formula")
    if len(text) > MAX_LENGTH:
        fail(what, "text too long (%d characters, the limit is %d)" % (len(text), MAX_LENGTH),
             "split the formula into smaller parts")
    if not text.strip():
        fail(what, "empty text", "write a formula such as w*x + b")
    for m in _TOKEN.finditer(text):
        if m.group()[0] in "0123456789" and len(m.group()) > MAX_LITERAL_DIGITS:
            fail(what, "number too large: more than %d digits at column %d"
                 % (MAX_LITERAL_DIGITS, m.start() + 1), "use a smaller number or a symbol")


def chain_kind(node):
    """'sum' for + -, 'product' for * / @, None for other operators."""
    return CHAIN_KIND.get(type(node.op))


def parse_tree(text, what):
    """The checked ``ast.Expression`` of ``text``, its stripped source, and the stripped lead."""
    check_text(text, what)
    source, lead = text.strip(), len(text) - len(text.lstrip())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        where = "column %d" % ((e.offset or 1) + lead) if (e.lineno or 1) == 1 else \
            "line %d, column %d" % (e.lineno, e.offset or 1)
        fail(what, "not a valid expression: %s at %s" % (e.msg, where),
             "check brackets, commas and operators")
    except (RecursionError, MemoryError):
        fail(what, "too deeply nested: Python's parser gave up", "simplify the formula")
    except Exception as e:                           # ast.parse's other refusals
        fail(what, "not a valid expression (%s)" % type(e).__name__, "check the text")
    count, stack = 0, [(tree.body, 1)]
    while stack:                                     # iterative: the tree may be deep
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            fail(what, "too large: more than %d syntax nodes" % MAX_NODES, "split the formula")
        if depth > MAX_DEPTH:
            fail(what, "too deeply nested: more than %d levels" % MAX_DEPTH, "simplify the formula")
        for child in ast.iter_child_nodes(node):     # a + b - c ... counts as one level
            chained = (isinstance(node, ast.BinOp) and isinstance(child, ast.BinOp)
                       and child is node.left and chain_kind(node) is not None
                       and chain_kind(child) == chain_kind(node))
            stack.append((child, depth if chained else depth + 1))
    return tree, source, lead


# --- guards: numbers SymPy would evaluate ---------------------------------------------------

_LOG10_2 = math.log10(2)
_NON_FINITE = {sp.zoo, sp.nan, sp.oo, -sp.oo}
_TOO_LARGE = ("is too large: more than %d digits" % MAX_RESULT_DIGITS,
              "use smaller numbers or a symbol")
_BIG_EXPONENT = ("has an exponent above %d" % MAX_EXPONENT, "use a smaller exponent")


def digits(expr):
    """Decimal digits a power of ``expr`` would multiply: the size of its numeric part."""
    if getattr(expr, "is_Rational", False):
        return max(abs(expr.p).bit_length(), expr.q.bit_length()) * _LOG10_2
    if isinstance(expr, sp.Pow) and expr.exp.is_Rational:
        return digits(expr.base) * abs(float(expr.exp))
    if isinstance(expr, sp.Mul):
        return sum(digits(a) for a in expr.args)
    return 0.0


def magnitude(expr):
    """|expr| as a float if it is a constant (inf if too large to evaluate), else None."""
    if getattr(expr, "is_Matrix", False) or not getattr(expr, "is_number", False):
        return None
    try:
        return abs(complex(expr.evalf(15)))
    except (TypeError, ValueError, ArithmeticError):
        return math.inf


def exp_problem(arg):
    """(problem, hint) when exp(arg) would be a huge number: arg itself is huge, or
    arg is c*log(a), which SymPy evaluates to a**c."""
    size = magnitude(arg)
    if size is not None and size > MAX_GROWTH_ARG:
        return ("is too large: an exponent above %d" % MAX_GROWTH_ARG, "use smaller numbers")
    for term in sp.Add.make_args(arg):
        c, rest = term.as_coeff_Mul()
        if c.is_Rational and rest.has(sp.log):
            size = sum(digits(f.args[0]) for f in rest.atoms(sp.log)) * abs(float(c))
            if abs(c) > MAX_EXPONENT or size > MAX_RESULT_DIGITS:
                return _TOO_LARGE
    return None


def power_problem(base, e):
    """(problem, hint) for base**e that SymPy would evaluate into a huge number, else None."""
    if base == sp.E or (not e.is_Rational and getattr(base, "is_number", False)):
        return exp_problem(e)
    if not e.is_Rational:
        return None
    if abs(e) > MAX_EXPONENT:
        return _BIG_EXPONENT
    if digits(base) * abs(float(e)) > MAX_RESULT_DIGITS:
        return _TOO_LARGE
    if getattr(base, "is_number", False) and base.is_negative and not e.is_Integer:
        return ("is not real: a fractional power of a negative number",
                "symgrad works with real numbers")
    return None


def call_problem(name, args):
    """(problem, hint) for a scalar function call that SymPy would evaluate into a huge
    number, or that flattens into too many arguments (max of max of ...)."""
    fn, (_, most) = FUNCTIONS[name]
    if name in NUMBER_GUARDED and (magnitude(args[-1]) or 0) > MAX_SPECIAL_ARG:
        return ("is too large to evaluate",
                "keep numbers given to %s within +-%d" % (name, MAX_SPECIAL_ARG))
    if fn is sp.log and len(args) == 2 and getattr(args[1], "is_number", False) and \
            (args[1].is_positive is False or args[1] == 1):
        return ("has base %s, and a logarithm's base must be positive and not 1" % args[1],
                "write log(x, b) with b > 0, b != 1, or log(x) for the natural logarithm")
    if name in GROWING:
        return exp_problem(args[0])
    if fn is sp.sqrt:
        return power_problem(args[0], sp.S.Half)
    if most is None and sum(len(a.args) if isinstance(a, fn) else 1 for a in args) > MAX_ARGS:
        return ("has more than %d arguments in all" % MAX_ARGS, "split it into smaller parts")
    return None


def result_problem(result):
    """(problem, hint) for a built node that is not finite, not real or carries a huge number."""
    if getattr(result, "is_number", False) and result.has(sp.I):    # log(-2), acosh(0)
        return ("is not real: it contains the imaginary unit I", "symgrad works with real numbers")
    for part in (result, *result.args):
        if part in _NON_FINITE:
            return ("is not finite (it gives %s)" % part,
                    "check for a division by zero or a log of 0")
        if getattr(part, "is_Rational", False) and digits(part) > MAX_RESULT_DIGITS:
            return _TOO_LARGE
        if isinstance(part, sp.Pow) and part.exp.is_Rational and abs(part.exp) > MAX_EXPONENT:
            return _BIG_EXPONENT
    return None


# --- names ------------------------------------------------------------------------------------

def check_name(text, what):
    """The NFKC-normalized identifier in ``text`` (as Python reads it), or a ParseError."""
    if not isinstance(text, str):
        misuse(what, "expected a name (a str), got %s" % type(text).__name__)
    name = unicodedata.normalize("NFKC", text.strip())
    if not name.isidentifier() or keyword.iskeyword(name) or len(name) > 100:
        fail(what, "%s is not a valid name" % short(text),
             "use letters, digits and _, starting with a letter (e.g. w1)")
    if name.startswith("_"):
        fail(what, "name %r may not start with _" % name, "rename it")
    if name in NOT_NUMBERS:
        fail(what, "%s reads as a non-finite number" % name, "choose another name")
    if name in FUNCTIONS or name in MATRIX_FUNCTIONS or name in CONSTANTS:
        fail(what, "%s is a %s name" % (name, "constant" if name in CONSTANTS else "function"),
             "choose another name")
    return name


def dimension(name):
    """The SymPy symbol of a matrix dimension: a positive integer."""
    return sp.Symbol(name, integer=True, positive=True)


def declare(matrices, what):
    """MatrixSymbols and dimension symbols of a ``{name: (rows, cols)}`` mapping."""
    if matrices is None:
        return {}, {}
    if not hasattr(matrices, "items"):
        misuse(what, "matrices must map names to (rows, cols), got %s" % type(matrices).__name__)
    mats, dims = {}, {}
    for name, shape in matrices.items():
        name = check_name(name, "matrix name")
        if not isinstance(shape, (tuple, list)) or len(shape) != 2:
            misuse(what, "matrix %s needs a shape (rows, cols), got %s" % (name, short(shape)))
        sizes = []
        for d in shape:
            if isinstance(d, str):
                d = check_name(d, "dimension name")
                sizes.append(dims.setdefault(d, dimension(d)))
            elif isinstance(d, numbers.Integral) and not isinstance(d, bool) \
                    and 1 <= d <= MAX_DIMENSION:
                sizes.append(sp.Integer(int(d)))
            else:
                fail(what, "dimension %s of matrix %s must be a name or a whole number from 1 "
                     "to %d" % (short(d), name, MAX_DIMENSION))
        mats[name] = sp.MatrixSymbol(name, *sizes)
    for name in sorted(set(mats) & set(dims)):
        fail(what, "%s is both a matrix and a dimension" % name, "use different names")
    return mats, dims
