"""Index notation in user text: ``Sum(body, (i, 0, n - 1))``, ``x[i, j]``, ``KroneckerDelta(i, j)``.

A formula is read in index notation when it calls ``Sum`` or ``KroneckerDelta`` (or the
caller says so: the command line does for every formula beside one that does); nothing
needs declaring. Before anything is built the whole tree is
scanned once for the role of every name: the first entry of a ``Sum`` limit ``(i, lo, hi)``
is an index (an integer symbol), a name in a bound is a size (a positive integer symbol,
read from the arrays' shapes later), a name read with a subscript (``x[i]``) is an array
(an ``IndexedBase`` of that rank), any other name inside a subscript is a free index (the
``j`` of a gradient ``d/dw[j]``), and every other name is a real scalar as usual. Index
positions are an index plus or minus whole numbers (``x[i + k, c]``, ``y[i - 1]``, ``x[0]``);
bounds are whole numbers, sizes, ``+ - *``. Everything else in a subscript or a limit is
refused with a ``ParseError`` that gives the column.
"""
import ast

import sympy as sp

from . import tables as T
from .guards import check_name, fail
from .reader import Reader
from .tables import MAX_DIMENSION

__all__ = ["IndexReader", "reader_for", "INDEX_CALLS"]

INDEX_CALLS = ("Sum", "KroneckerDelta")
_LIMIT_HINT = "write a limit as (i, 0, n - 1): an index name, then the first and last value"
_INDEX_HINT = "write positions as i, i + 1 or i + k (index names plus whole numbers)"


def _call_name(node):
    return node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None


def reader_for(tree, indices=None):
    """``IndexReader`` when the parsed tree is written with indices (it calls ``Sum`` or
    ``KroneckerDelta``, or ``indices`` is true: a gradient ``2*x[j]`` beside such a loss),
    else ``Reader``, which refuses subscripts."""
    if indices is not None:
        return IndexReader if indices else Reader
    for node in ast.walk(tree):
        if _call_name(node) in INDEX_CALLS:
            return IndexReader
    return Reader


def _names(node):
    """The names in ``node`` that can stand for a value (not a function or constant)."""
    return [m.id for m in ast.walk(node) if isinstance(m, ast.Name) and m.id not in T.FUNCTIONS
            and m.id not in T.MATRIX_FUNCTIONS and m.id not in T.CONSTANTS]


class IndexReader(Reader):
    """The formula reader with Sum, subscripts and KroneckerDelta (see the module docstring)."""

    def __init__(self, source, lead, what, matrices=None, tree=None):
        super().__init__(source, lead, what, matrices)
        self.indices, self.sizes, self.arrays, self.ranks = set(), set(), set(), {}
        if tree is not None:
            self.scan(tree)

    # --- the roles of names, found before anything is built ---

    def scan(self, tree):
        bound = []
        for node in ast.walk(tree):
            if _call_name(node) == "Sum":
                for limit in node.args[1:]:
                    if isinstance(limit, ast.Tuple) and len(limit.elts) == 3:
                        if isinstance(limit.elts[0], ast.Name):
                            bound.append(limit.elts[0].id)
                        for part in limit.elts[1:]:
                            self.sizes.update(_names(part))
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
                self.arrays.update(_names(node.value))
        self.indices.update(bound)
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript):
                self.indices.update(q for q in _names(node.slice) if q not in self.sizes)
            elif _call_name(node) == "KroneckerDelta":
                self.indices.update(q for a in node.args for q in _names(a))
        for name in sorted(self.indices | self.sizes | self.arrays):
            check_name(name, "name %s in %s" % (name, self.what))
        for a, b, what in ((self.indices, self.sizes, "an index and a size (in a Sum bound)"),
                           (self.arrays, self.indices, "an array (read as %s[...]) and an index"),
                           (self.arrays, self.sizes, "an array (read as %s[...]) and a size")):
            for name in sorted(a & b):
                fail(self.what, "%s is both %s" % (name, what.replace("%s", name)),
                     "use a different name for each role")
        for name in sorted(self.arrays & (set(self.matrices) | set(self.dims))):
            fail(self.what, "%s is a declared matrix (or dimension) and is read with a subscript"
                 % name, "index notation needs no --matrix declaration; drop it")

    def name(self, node):
        name = node.id
        if name in self.arrays:
            self.fail(node, "%s is an array (read as %s[...] elsewhere) but appears here without "
                      "a subscript" % (name, name), "write %s[i] with the indices it is read at" % name)
        if name in self.indices:
            return sp.Symbol(name, integer=True)
        if name in self.sizes:
            return sp.Symbol(name, integer=True, positive=True)
        return super().name(node)

    # --- x[i, j] ---

    def subscript(self, node):
        if not isinstance(node.value, ast.Name) or node.value.id.startswith("_"):
            self.fail(node, "only a name can be read with a subscript, not %s"
                      % self.snippet(node.value), "write x[i] or x[i, j] for an array x")
        name = node.value.id
        if name in T.FUNCTIONS or name in T.MATRIX_FUNCTIONS or name in T.CONSTANTS:
            self.fail(node, "%s is a function or constant, not an array" % name,
                      "choose another name for the array")
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if not 1 <= len(parts) <= 8:
            self.fail(node, "%s is read with %d indices" % (name, len(parts)),
                      "an array has 1 to 8 indices")
        rank = self.ranks.setdefault(name, len(parts))
        if rank != len(parts):
            self.fail(node, "%s is read with %d ind%s here and %d elsewhere" % (
                name, len(parts), "ex" if len(parts) == 1 else "ices", rank),
                "read each array with the same number of indices everywhere")
        return sp.IndexedBase(name, real=True)[tuple(self.position(p) for p in parts)]

    def position(self, node):
        """One index position: index names plus or minus whole numbers."""
        if isinstance(node, ast.Name) and node.id in self.indices:
            return sp.Symbol(node.id, integer=True)
        if isinstance(node, ast.Constant) and isinstance(node.value, int) \
                and not isinstance(node.value, bool) and 0 <= node.value <= MAX_DIMENSION:
            return sp.Integer(node.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            left, right = self.position(node.left), self.position(node.right)
            return left + right if isinstance(node.op, ast.Add) else left - right
        self.fail(node, "%s is not an index position" % self.snippet(node), _INDEX_HINT)

    # --- Sum and KroneckerDelta ---

    def call(self, node):
        name = _call_name(node)
        if name not in INDEX_CALLS:
            return super().call(node)
        if node.keywords:
            self.fail(node, "keyword arguments are not allowed in %s(...)" % name,
                      "pass arguments by position")
        if name == "KroneckerDelta":
            if len(node.args) != 2:
                self.fail(node, "KroneckerDelta takes 2 arguments, got %d" % len(node.args),
                          "write KroneckerDelta(i, j) with two index names")
            return sp.KroneckerDelta(*(self.position(a) for a in node.args))
        if len(node.args) < 2 or len(node.args) > 9:
            self.fail(node, "Sum takes a body and 1 to 8 limits, got %d arguments"
                      % len(node.args), _LIMIT_HINT)
        limits = [self.limit(a) for a in node.args[1:]]
        symbols = [lim[0] for lim in limits]
        if len(set(symbols)) != len(symbols):
            self.fail(node, "Sum %s binds an index twice" % self.snippet(node),
                      "use a different index name in each limit")
        return self.checked(node, sp.Sum(self.value(node.args[0]), *limits))

    def limit(self, node):
        if not (isinstance(node, ast.Tuple) and len(node.elts) == 3
                and isinstance(node.elts[0], ast.Name)):
            self.fail(node, "%s is not a Sum limit" % self.snippet(node), _LIMIT_HINT)
        index = sp.Symbol(node.elts[0].id, integer=True)
        return (index, self.bound(node.elts[1]), self.bound(node.elts[2]))

    def bound(self, node):
        """A Sum bound: whole numbers and sizes joined by + - *."""
        if isinstance(node, ast.Name) and node.id in self.sizes:
            return sp.Symbol(node.id, integer=True, positive=True)
        if isinstance(node, ast.Constant) and isinstance(node.value, int) \
                and not isinstance(node.value, bool) and 0 <= node.value <= MAX_DIMENSION:
            return sp.Integer(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.bound(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            a, b = self.bound(node.left), self.bound(node.right)
            return a + b if isinstance(node.op, ast.Add) else a - b if \
                isinstance(node.op, ast.Sub) else a * b
        self.fail(node, "%s is not a Sum bound" % self.snippet(node),
                  "bounds are whole numbers and size names joined by + - *, e.g. n - 1")

    VALUE_RULES = {**Reader.VALUE_RULES, ast.Name: name, ast.Subscript: subscript, ast.Call: call}
