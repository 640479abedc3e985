"""Safe parsing of user text (command-line formulas) into SymPy objects.

Text is read by Python's ``ast`` module, every node is checked against a
whitelist (the tables in :mod:`symgrad._parse_tables`), and SymPy objects are
built directly from the nodes. Nothing is evaluated: no ``eval``, ``exec``,
``sympify`` or SymPy ``parse_expr`` ever sees the text. Anything else raises
:class:`~symgrad.errors.ParseError` with one line: what was refused, where
(column), and what to write instead. No other exception leaves this module.
The limits (length, nesting, sizes of numbers) are in :mod:`symgrad._parse_tables`.

Scalars: names are real symbols, ``pi`` and ``E`` are constants, integers stay
exact and a float literal becomes the exact rational of its shortest repr
(``0.1`` -> 1/10). Comparisons, ``& | ~`` (or ``and or not``) appear only in
the condition of ``where(condition, a, b)``.

Matrices (names declared with ``matrices={"X": ("n", "d")}``) follow NumPy:
``@`` is the matrix product; ``*``, ``/`` and ``** c`` are elementwise
(HadamardProduct, HadamardPower) and need equal shapes; ``c*X`` and ``X/c``
scale; ``X.T`` transposes; a scalar function of one matrix applies elementwise,
and of a 1 x 1 matrix is a scalar. A scalar plus a matrix is refused (write
``c*ones(n, d)``). Dimension names are positive integer symbols, usable as
scalars too (``sum(X)/n``).

``to_text(expr)`` is the inverse: it prints a SymPy object in this syntax.
"""
import ast

import sympy as sp

from . import guards as G
from .guards import check_text, dimension, fail, short
from .index import IndexReader, reader_for
from .reader import Reader
from .text import NoText, to_text
from .tables import CONSTANTS, FUNCTIONS, MATRIX_FUNCTIONS, MAX_DIMENSION, arity_text
from ..errors import ArgumentError, ParseError

__all__ = ["parse_expr", "parse_relation", "parse_assignment", "parse_matrix_decl",
           "parse_name", "to_text", "NoText", "dimension", "arity_text", "FUNCTIONS",
           "MATRIX_FUNCTIONS", "CONSTANTS"]


# --- public functions -----------------------------------------------------------------------

def _run(text, what, build, matrices=None, lead=0, indices=None):
    """Parse ``text`` and return ``build(reader, body)``; only ParseError escapes (and
    ArgumentError, when a Python caller passes something other than text)."""
    try:
        tree, source, stripped = G.parse_tree(text, what)
        if reader_for(tree, indices) is IndexReader:   # Sum(...), x[i]: index notation
            return build(IndexReader(source, lead + stripped, what, matrices, tree), tree.body)
        return build(Reader(source, lead + stripped, what, matrices), tree.body)
    except (ParseError, ArgumentError):
        raise
    except RecursionError:
        fail(what, "too deeply nested to build", "simplify the formula")
    except ArithmeticError as e:             # SymPy's evalf overflowing on a huge constant
        fail(what, "a number is too large to evaluate (%s)" % type(e).__name__,
             "use smaller numbers")
    except Exception as e:                   # the contract: nothing but ParseError leaves
        fail(what, "could not build the formula (%s: %s)" % (type(e).__name__, str(e)[:80]),
             "this is a symgrad bug; please report it with the text")


def _real(reader, body, result):
    if result.has(sp.I):
        reader.fail(body, "%s is not real: it contains the imaginary unit I"
                    % reader.snippet(body), "symgrad works with real numbers")
    return result


def parse_expr(text, *, matrices=None, what="expression", indices=None):
    """Parse a formula into a SymPy expression (scalar ``Expr`` or ``MatrixExpr``).

    ``matrices`` maps matrix names to ``(rows, cols)``, each an int or a dimension
    name; every other name is a real symbol. ``what`` names the text in error
    messages. The matrix rules are in the module docstring (``*`` is elementwise).
    Text that calls ``Sum`` or ``KroneckerDelta`` is index notation (``x[i]`` reads an
    array; see :mod:`symgrad.parse.index`); ``indices=True`` reads it so without them.

    >>> parse_expr("sigmoid(w*x + b) + 0.1*w**2")
    w**2/10 + Sigmoid(b + w*x)
    >>> parse_expr("X @ W", matrices={"X": ("n", "d"), "W": ("d", 3)}).shape
    (n, 3)
    """
    return _run(text, what, lambda r, body: _real(r, body, r.value(body)), matrices,
                indices=indices)


def parse_relation(text, *, matrices=None):
    """Parse one comparison (an assumption) into an unevaluated SymPy relational.

    ``< <= > >=`` give Lt/Le/Gt/Ge, ``==`` gives Eq and ``!=`` gives Ne. A chain
    such as ``a < b < c``, a relation that is never true, or anything that is not
    a comparison is refused.

    >>> parse_relation("y1 + y2 + y3 == 1")
    Eq(y1 + y2 + y3, 1)
    """
    def build(reader, body):
        if not isinstance(body, ast.Compare):
            reader.fail(body, "%s is not a comparison" % reader.snippet(body),
                        "write one comparison such as x > 0 or y1 + y2 == 1")
        if len(body.ops) > 1:
            reader.fail(body, "a chained comparison %s is not allowed" % reader.snippet(body),
                        "give each comparison as its own assumption, e.g. a < b and b < c")
        relation = _real(reader, body, reader.comparison(body, evaluate=False))
        if reader.sympy(body, relation.func, *relation.args) is sp.false:
            reader.fail(body, "the assumption %s is never true" % reader.snippet(body),
                        "check the assumption")
        return relation
    return _run(text, "assumption", build, matrices)


def parse_assignment(text):
    """Parse ``NAME=NUMBER`` (``w=0``, ``b=-1.5``, ``lr=1e-3``) into ``(name, Rational)``.

    The number is exact: the rational of the float's shortest repr, as in formulas.

    >>> parse_assignment("lr=1e-3")
    ('lr', 1/1000)
    """
    what = "parameter value"
    check_text(text, what)
    left, equals, right = text.partition("=")
    if not equals:
        fail(what, "expected NAME=NUMBER, got %s" % short(text), "write e.g. w=0 or lr=1e-3")
    name = G.check_name(left, "parameter name")

    def build(reader, body):
        node, sign = body, 1
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            node, sign = node.operand, (-1 if isinstance(node.op, ast.USub) else 1)
        if not (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
                and not isinstance(node.value, bool)):
            reader.fail(body, "%s is not a number" % reader.snippet(body),
                        "write a plain number such as 0, -1.5 or 1e-3")
        return sign * reader.number(node)
    return name, _run(right, what, build, lead=len(left) + 1)


def parse_matrix_decl(text):
    """Parse ``NAME:ROWS,COLS`` (``X:n,d``, ``b:1,k``) into ``(name, (rows, cols))``.

    Each dimension is a positive int or a dimension name (a str).

    >>> parse_matrix_decl("W:784,k")
    ('W', (784, 'k'))
    """
    what = "matrix declaration"
    check_text(text, what)
    left, colon, right = text.partition(":")
    if not colon:
        fail(what, "expected NAME:ROWS,COLS, got %s" % short(text), "write e.g. X:n,d or b:1,k")
    name = G.check_name(left, "matrix name")
    parts = [p.strip() for p in right.split(",")]
    if len(parts) != 2:
        fail(what, "a matrix has 2 dimensions, got %d in %s" % (len(parts), short(right)),
             "write NAME:ROWS,COLS such as X:n,d")
    shape = []
    for part in parts:
        if not (part.isascii() and part.isdigit()):
            shape.append(G.check_name(part, "dimension name"))
        elif len(part) <= 10 and 1 <= int(part) <= MAX_DIMENSION:
            shape.append(int(part))
        else:
            fail(what, "dimension %s must be from 1 to %d" % (short(part), MAX_DIMENSION))
    if name in shape:
        fail(what, "%s is both the matrix and one of its dimensions" % name,
             "use different names, e.g. X:n,d")
    return name, tuple(shape)


def parse_name(text, what="symbol"):
    """Check one identifier (for ``--wrt``/``--args``) and return it NFKC-normalized,
    as Python reads names. Function names, ``pi``, ``E`` and ``_names`` are refused.

    >>> parse_name(" w1 ")
    'w1'
    """
    return G.check_name(text, what)
