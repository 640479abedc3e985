"""The whitelist behind :mod:`symgrad.parse`, its limits, and the guards that enforce them.

Everything user text may name lives here, so the whitelist can be read (and
listed by ``symgrad --help``) in one place. Each function entry is
``name: (callable, (min_args, max_args))``; ``max_args`` is None for n-ary
functions, which are still capped at ``MAX_ARGS``. The callables receive SymPy
objects the parser built itself, never text.

The guards refuse text before ``ast.parse`` sees it (length, brackets, digits),
trees before SymPy sees them (depth, size), and numbers before SymPy evaluates
them (``9**9**9``, ``exp(10**9*log(3))``, ``gamma(10**6)``).
"""
import ast
import keyword
import math
import numbers
import operator
import re
import unicodedata
import warnings

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from . import nodes
from .errors import ParseError

# --- limits (each one refused with a ParseError naming it) -------------------------

MAX_LENGTH = 10_000           # characters of user text
MAX_NESTING = 50              # brackets ( [ { open at once, checked before ast.parse
MAX_DEPTH = 100               # AST depth; a chain a+b-c+... or a*b/c*... counts once
MAX_NODES = 10_000            # AST nodes
MAX_CHAIN = 500               # terms of one sum a+b-c..., factors of one product a*b/c...
MAX_LITERAL_DIGITS = 100      # digits in one number literal
MAX_RESULT_DIGITS = 1_000     # digits of a number SymPy would compute exactly
MAX_EXPONENT = 10_000         # |p| of a number exponent x**p
MAX_ARGS = 16                 # arguments of n-ary max/min/logsumexp (after flattening)
MAX_SPECIAL_ARG = 1_000       # |number| given to gamma/loggamma/digamma/polygamma
MAX_GROWTH_ARG = 10_000       # |number| given to exp/expm1/sinh/cosh, or a non-rational exponent
MAX_POLYGAMMA_ORDER = 10      # n in polygamma(n, x)
MAX_DIMENSION = 10 ** 9       # an integer matrix dimension

# --- constants -------------------------------------------------------------------------

CONSTANTS = {"pi": sp.pi, "E": sp.E}


# --- helpers behind a few table entries ----------------------------------------------

def relu(x):
    """max(0, x)."""
    return sp.Max(0, x)


def where(condition, a, b):
    """a where the condition holds, b elsewhere."""
    return sp.Piecewise((a, condition), (b, True))


def logdet(M):
    """log(det(M))."""
    return sp.log(sp.Determinant(M))


def row_logsumexp(M):
    """Row-wise log-sum-exp of a matrix (an n x 1 column)."""
    return nodes.logsumexp(M, axis=1)


# --- scalar functions: elementwise when given one matrix argument ---------------------

FUNCTIONS = {
    # --- exponentials, logarithms, roots ---
    "exp": (sp.exp, (1, 1)),
    "log": (sp.log, (1, 2)),
    "log1p": (log1p, (1, 1)),
    "expm1": (expm1, (1, 1)),
    "sqrt": (sp.sqrt, (1, 1)),
    # --- trigonometric ---
    "sin": (sp.sin, (1, 1)), "cos": (sp.cos, (1, 1)), "tan": (sp.tan, (1, 1)),
    "cot": (sp.cot, (1, 1)), "sec": (sp.sec, (1, 1)), "csc": (sp.csc, (1, 1)),
    "asin": (sp.asin, (1, 1)), "acos": (sp.acos, (1, 1)), "atan": (sp.atan, (1, 1)),
    "acot": (sp.acot, (1, 1)), "asec": (sp.asec, (1, 1)), "acsc": (sp.acsc, (1, 1)),
    "atan2": (sp.atan2, (2, 2)),
    # --- hyperbolic ---
    "sinh": (sp.sinh, (1, 1)), "cosh": (sp.cosh, (1, 1)), "tanh": (sp.tanh, (1, 1)),
    "coth": (sp.coth, (1, 1)), "sech": (sp.sech, (1, 1)), "csch": (sp.csch, (1, 1)),
    "asinh": (sp.asinh, (1, 1)), "acosh": (sp.acosh, (1, 1)), "atanh": (sp.atanh, (1, 1)),
    "acoth": (sp.acoth, (1, 1)), "asech": (sp.asech, (1, 1)), "acsch": (sp.acsch, (1, 1)),
    # --- piecewise ---
    "abs": (sp.Abs, (1, 1)), "Abs": (sp.Abs, (1, 1)),
    "sign": (sp.sign, (1, 1)),
    "heaviside": (sp.Heaviside, (1, 1)), "Heaviside": (sp.Heaviside, (1, 1)),
    "max": (sp.Max, (2, None)), "Max": (sp.Max, (2, None)),
    "min": (sp.Min, (2, None)), "Min": (sp.Min, (2, None)),
    "relu": (relu, (1, 1)),
    "where": (where, (3, 3)),
    # --- special functions ---
    "sinc": (sp.sinc, (1, 1)),
    "erf": (sp.erf, (1, 1)), "erfc": (sp.erfc, (1, 1)),
    "gamma": (sp.gamma, (1, 1)),
    "loggamma": (sp.loggamma, (1, 1)), "lgamma": (sp.loggamma, (1, 1)),
    "digamma": (sp.digamma, (1, 1)),
    "polygamma": (sp.polygamma, (2, 2)),
    # --- machine learning ---
    "sigmoid": (nodes.Sigmoid, (1, 1)),
    "softplus": (nodes.Softplus, (1, 1)),
    "logsumexp": (nodes.LogSumExp, (1, None)),
}

# --- functions of whole matrices ------------------------------------------------------

MATRIX_FUNCTIONS = {
    "tr": (sp.Trace, (1, 1)),
    "det": (sp.Determinant, (1, 1)),
    "logdet": (logdet, (1, 1)),
    "inv": (sp.Inverse, (1, 1)),
    "sum": (nodes.msum, (1, 2)),
    "mean": (nodes.mean, (1, 1)),
    "softmax": (nodes.softmax, (1, 1)),
    "logsumexp": (row_logsumexp, (1, 1)),
    "ones": (sp.OneMatrix, (2, 2)),
    "zeros": (sp.ZeroMatrix, (2, 2)),
    "eye": (sp.Identity, (1, 1)),
}

SQUARE_ONLY = {"tr", "det", "logdet", "inv"}
BUILDERS = {"ones", "zeros", "eye"}              # take dimensions, not matrices
SCALAR_ONLY = {"where"}                          # never applied elementwise
NUMBER_GUARDED = {"gamma", "loggamma", "lgamma", "digamma", "polygamma"}   # exact values
GROWING = {"exp", "expm1", "sinh", "cosh"}       # towers of these overflow SymPy's evalf

# How to read each argument that is not an ordinary value.
ARG_KINDS = {
    "where": ("condition", "value", "value"),
    "polygamma": ("order", "value"),
    "sum": ("value", "axis"),
    "ones": ("dim", "dim"),
    "zeros": ("dim", "dim"),
    "eye": ("dim",),
}

# --- operators ---------------------------------------------------------------------------

SCALAR_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv}
SCALED_OPS = {ast.Mult: operator.mul, ast.Div: operator.truediv}     # a matrix and a scalar
MATRIX_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.MatMult: operator.matmul,
              ast.Mult: sp.hadamard_product,                        # elementwise, like NumPy
              ast.Div: lambda a, b: sp.hadamard_product(a, sp.HadamardPower(b, -1))}
MATRIX_VERBS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply elementwise",
                ast.Div: "divide elementwise"}
CHAIN_KIND = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product",
              ast.MatMult: "product"}
REFUSED_OPS = {
    ast.Mod: ("%", "there is no remainder operator"),
    ast.FloorDiv: ("//", "use / for division"),
    ast.BitXor: ("^", "use ** for powers"),
    ast.LShift: ("<<", "write the formula with + - * / **"),
    ast.RShift: (">>", "write the formula with + - * / **"),
    ast.BitAnd: ("&", "& | ~ combine comparisons inside where(condition, a, b)"),
    ast.BitOr: ("|", "& | ~ combine comparisons inside where(condition, a, b)"),
}
COMPARISONS = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge,
               ast.Eq: sp.Eq, ast.NotEq: sp.Ne}
COMPARISON_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
                   ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
                   ast.NotIn: "not in"}

# --- Python syntax that is never allowed: what it is, what to do instead --------------

_NO_CONTAINERS = "write one formula; declare matrices separately (X:n,d)"
_NO_LOOPS = "write the terms out, or use a matrix and sum(...)"
REFUSED_SYNTAX = {
    ast.Subscript: ("a subscript [...]", "use matrix operations (@, .T, sum) instead of indexing"),
    ast.Slice: ("a slice", "use matrix operations instead of indexing"),
    ast.Lambda: ("a lambda", "write the formula itself"),
    ast.ListComp: ("a comprehension", _NO_LOOPS),
    ast.SetComp: ("a comprehension", _NO_LOOPS),
    ast.DictComp: ("a comprehension", _NO_LOOPS),
    ast.GeneratorExp: ("a generator expression", _NO_LOOPS),
    ast.JoinedStr: ("an f-string", "write the formula without quotes"),
    ast.FormattedValue: ("an f-string", "write the formula without quotes"),
    ast.Starred: ("a starred argument", "pass each argument separately"),
    ast.NamedExpr: ("an assignment ':='", "write the formula without assignments"),
    ast.IfExp: ("a conditional 'a if c else b'", "write where(c, a, b)"),
    ast.List: ("a list", _NO_CONTAINERS),
    ast.Tuple: ("a tuple", _NO_CONTAINERS),
    ast.Set: ("a set", _NO_CONTAINERS),
    ast.Dict: ("a dict", _NO_CONTAINERS),
    ast.Await: ("await", "write a formula"),
    ast.Yield: ("yield", "write a formula"),
    ast.YieldFrom: ("yield", "write a formula"),
}


def arity_text(arity):
    """'1 argument', '1 or 2 arguments', 'at least 2 arguments' for an arity pair."""
    low, high = arity
    if high is None:
        return "at least %d arguments" % low
    if low == high:
        return "%d argument%s" % (low, "" if low == 1 else "s")
    return "%d or %d arguments" % (low, high) if high == low + 1 else \
        "%d to %d arguments" % (low, high)


# --- guards: text and trees ---------------------------------------------------------------

_TOKEN = re.compile(r"\w+")


def fail(what, problem, hint=None):
    """Raise the one-line ParseError 'what: problem; hint'."""
    message = "%s: %s" % (what, problem) + ("; " + hint if hint else "")
    raise ParseError("".join(c if c.isprintable() else " " for c in message))


def short(text, limit=40):
    """A quoted, truncated piece of user text for messages."""
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def check_text(text, what):
    """Refuse text that must not reach ast.parse: too long, empty, null bytes, deep brackets."""
    if not isinstance(text, str):
        fail(what, "expected text, got %s" % type(text).__name__)
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
        fail(what, "expected a name, got %s" % type(text).__name__)
    name = unicodedata.normalize("NFKC", text.strip())
    if not name.isidentifier() or keyword.iskeyword(name) or len(name) > 100:
        fail(what, "%s is not a valid name" % short(text),
             "use letters, digits and _, starting with a letter (e.g. w1)")
    if name.startswith("_"):
        fail(what, "name %r may not start with _" % name, "rename it")
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
        fail(what, "matrices must map names to (rows, cols), got %s" % type(matrices).__name__)
    mats, dims = {}, {}
    for name, shape in matrices.items():
        name = check_name(name, "matrix name")
        if not isinstance(shape, (tuple, list)) or len(shape) != 2:
            fail(what, "matrix %s needs a shape (rows, cols), got %s" % (name, short(shape)))
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
