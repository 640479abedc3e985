"""The whitelist behind :mod:`symgrad.parse` and its limits.

Everything user text may name lives here, so the whitelist can be read (and
listed by ``symgrad --help``) in one place. Each function entry is
``name: (callable, (min_args, max_args))``; ``max_args`` is None for n-ary
functions, which are still capped at ``MAX_ARGS``. The callables receive SymPy
objects the parser built itself, never text. The guards that enforce the
limits are in :mod:`symgrad._parse_guards`.
"""
import ast
import operator

import sympy as sp

from ..ops import entries, nodes
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
# names that read as non-finite numbers: refused, as 1e309 and log(0) are
NOT_NUMBERS = frozenset({"nan", "NaN", "inf", "Inf", "infinity", "Infinity", "oo", "zoo"})


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

def _registry_functions():
    """name -> (class, arity) for every op the registry gives a command-line name."""
    out = {}
    for op in entries():
        for name in op.names:
            out[name] = (op.cls, op.arity)
    return out


# Everything the registry names (exp, log, sigmoid, max, ...), plus spellings that are not
# registry ops themselves.
FUNCTIONS = {
    **_registry_functions(),
    "sqrt": (sp.sqrt, (1, 1)),
    "digamma": (sp.digamma, (1, 1)),
    "relu": (relu, (1, 1)),
    "where": (where, (3, 3)),
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
        return "at least %d argument%s" % (low, "" if low == 1 else "s")
    if low == high:
        return "%d argument%s" % (low, "" if low == 1 else "s")
    return "%d or %d arguments" % (low, high) if high == low + 1 else \
        "%d to %d arguments" % (low, high)
