"""SymPy expression -> Graph nodes.

``Lowering`` walks a SymPy expression (scalar or matrix) once and returns the
graph node of its value. It chains n-ary sums and products into binary nodes,
turns elementwise matrix functions (``M.applyfunc(f)``, Hadamard products and
powers) into the same elementwise operations scalars use, reads products with
``OneMatrix`` as broadcasts and sums, and reads ``log(det(X))`` as one LogDet.

Symbols are treated as real: a symbol without ``real=True`` gets a real stand-in
for the whole derivation (``user_symbol`` maps it back), so no result contains
``re()`` or ``im()``.
"""

import itertools
import sys
import threading
from dataclasses import dataclass

import sympy as sp

from ..errors import (ArgumentError, ShapeMismatch, UnsupportedExpression, describe_path,
                      short_text as _short)
from ..ops import entries, is_elementwise, lookup
from .ir import Graph, broadcast_shapes
from .lower_matrix import MatrixLowering

__all__ = ["Lowering", "as_expression", "measure", "check_size", "Size"]


def as_expression(value, what="expr"):
    """``value`` as a SymPy object, refusing text: a string given to the Python API is never
    parsed (SymPy's sympify would evaluate it as Python). Use symgrad.parse for text. An
    expression too big to derive is refused too (``check_size``)."""
    if isinstance(value, (str, bytes)):
        raise ArgumentError("%s must be a SymPy expression, not text (%r); build it with SymPy, "
                            "or read text with symgrad.parse.parse_expr" % (what, _clip(value)))
    try:
        expr = sp.sympify(value, strict=True)
    except sp.SympifyError:
        raise ArgumentError("%s must be a SymPy expression, got %s" % (what, type(value).__name__)) \
            from None
    check_size(expr)                # before any work: refuse what would not finish
    return expr


# --- the size of the work, measured before any of it starts ----------------------------------

MAX_DISTINCT = 200_000      # distinct subexpressions: the graph and its gradient grow with them
MAX_WRITTEN = 5_000_000     # nodes of the expression written out as a tree: SymPy's own walks
                            # (atoms, xreplace, printing) visit every one of them
MAX_DEPTH = 600             # nesting: lowering and SymPy recurse once per level
FRAMES_PER_LEVEL = 24       # Python frames one level of nesting may take (lowering, SymPy)

_RECURSION_LOCK = threading.Lock()


@dataclass(frozen=True)
class Size:
    """How big an expression is: ``distinct`` subexpressions, ``written`` nodes when written
    out as a tree (shared subexpressions counted at each use), ``depth`` of nesting."""

    distinct: int
    written: int
    depth: int


def measure(expr) -> Size:
    """The Size of a SymPy expression, in time linear in its distinct subexpressions
    (no recursion, so any depth is measured); stops with UnsupportedExpression past
    MAX_DISTINCT.

    >>> x = sp.Symbol("x")
    >>> measure(sp.sin(x) + sp.cos(sp.sin(x)))     # sin(x) counted once, written twice
    Size(distinct=4, written=6, depth=4)
    """
    sizes = {}                      # id -> (written, depth); the objects live in expr
    stack = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in sizes:
            continue
        args = e.args if isinstance(e, sp.Basic) else ()
        if not ready and args:
            stack.append((e, True))
            stack.extend((a, False) for a in args if id(a) not in sizes)
            continue
        parts = [sizes[id(a)] for a in args]
        sizes[id(e)] = (min(1 + sum(w for w, _ in parts), 10 * MAX_WRITTEN),
                        1 + max((d for _, d in parts), default=0))
        if len(sizes) > MAX_DISTINCT:
            raise UnsupportedExpression(
                "the expression has more than %d distinct subexpressions; deriving and compiling "
                "it would take minutes and gigabytes. Write it with matrices (MatrixSymbol, "
                "msum, Trace) instead of entry by entry, or split it" % MAX_DISTINCT)
    written, depth = sizes[id(expr)]
    return Size(len(sizes), written, depth)


def check_size(expr) -> Size:
    """Refuse, before any work, an expression too big to derive: more than MAX_DISTINCT
    distinct subexpressions, MAX_WRITTEN nodes written out, or MAX_DEPTH levels; then make
    room for the recursion its depth needs. Returns its Size."""
    size = measure(expr)
    if size.written > MAX_WRITTEN:
        raise UnsupportedExpression(
            "the expression written out has more than %d nodes (%d distinct subexpressions, "
            "reused many times over): SymPy's own traversals of it would not finish. Give the "
            "repeated part its own symbol, or build the loss with matrices" % (MAX_WRITTEN,
                                                                             size.distinct))
    if size.depth > MAX_DEPTH:
        raise UnsupportedExpression(
            "the expression is nested %d levels deep; symgrad derives up to %d levels (deeper "
            "nesting overflows the interpreter's stack). Unroll fewer steps, or use index "
            "notation for long recurrences" % (size.depth, MAX_DEPTH))
    need = 2000 + FRAMES_PER_LEVEL * size.depth
    with _RECURSION_LOCK:           # only ever raised, so other threads are not cut short
        if sys.getrecursionlimit() < need:
            sys.setrecursionlimit(need)
    return size


def _clip(value, limit=40):
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text if len(text) <= limit else text[:limit - 3] + "..."

_BINARY_CHAINS = (sp.Add, sp.Mul, sp.Max, sp.Min, sp.And, sp.Or)


class Lowering(MatrixLowering):
    """Lower SymPy expressions into one Graph, sharing repeated subexpressions."""

    def __init__(self, graph=None):
        self.graph = graph if graph is not None else Graph()
        self.memo = {}
        self.env = {}          # placeholder symbol -> node (rule templates, lambda bodies)
        self._real = {}        # symbol name -> real stand-in
        self.user = {}         # real stand-in -> user symbol
        self._dims = {}        # dimension name -> dimension symbol
        self._numbers = {}     # subexpression -> whether it is a number (see _is_number)
        self.placeholders = itertools.count()   # names for the rules' matrix placeholders

    # --- symbols ------------------------------------------------------------------

    def real_symbol(self, s):
        """The real stand-in for a user symbol: the symbol itself when already real.

        Symbols are identified by name, so ``w`` and ``Symbol("w", real=True)`` are one
        parameter (every symbol is treated as real anyway); a dimension keeps its symbol.
        """
        key = s if isinstance(s, sp.Dummy) else s.name
        r = self._real.get(key)
        if r is None:
            r = self._dims.get(s.name, s if s.is_real else None)
            if r is None:
                r = sp.Dummy(s.name, real=True)
                self.user[r] = s
            self._real[key] = r
        return r

    def leaf(self, s):
        """The leaf node of a user Symbol or MatrixSymbol."""
        if isinstance(s, sp.MatrixSymbol):
            self._note_dims(s)
            return self.graph.leaf(s)
        return self.graph.leaf(self.real_symbol(s))

    def _note_dims(self, m):
        for d in m.shape:
            for s in sp.sympify(d).free_symbols:
                self._dims.setdefault(s.name, s)

    # --- entry point ----------------------------------------------------------------

    def __call__(self, expr):
        expr = as_expression(expr)
        for m in expr.atoms(sp.MatrixSymbol):
            self._note_dims(m)
        # real stand-ins first, so SymPy itself simplifies re(x), conjugate(x), |x|**2, ...
        stand_ins = {s: self.real_symbol(s) for s in expr.atoms(sp.Symbol)
                     if not isinstance(s, sp.Dummy)}
        expr = expr.xreplace({s: r for s, r in stand_ins.items() if r is not s})
        return self._lower(expr, ())

    def lower_template(self, expr, bindings):
        """Lower a rule's output, whose placeholders stand for the nodes in ``bindings``."""
        saved = self.memo, self.env
        self.memo, self.env = {}, dict(bindings)
        try:
            return self._lower(sp.sympify(expr), ())
        finally:
            self.memo, self.env = saved

    def _lower(self, e, path):
        node = self.env.get(e)
        if node is not None:
            return node
        node = self.memo.get(e)
        if node is None:
            node = self._dispatch(e, path)
            self.memo[e] = node
        return node

    def _args(self, e, path):
        return [self._lower(a, path + ((e, i),)) for i, a in enumerate(e.args)]

    def _unsupported(self, e, path, why=None):
        name = type(e).__name__
        hint = why or ("symgrad has no entry for %s; rewrite it with supported functions (see "
                       "symgrad.ops), or register it with symgrad.register_function" % name)
        user = self.user                  # show the user's own symbols, not the real stand-ins
        shown = [(p.xreplace(user), i) for p, i in path]
        raise UnsupportedExpression("%s node %s %s: %s"
                                    % (name, _short(e.xreplace(user)), describe_path(shown), hint))

    # --- dispatch -------------------------------------------------------------------

    def _dispatch(self, e, path):
        g = self.graph
        if isinstance(e, sp.MatrixSymbol):
            return self.leaf(e)
        if isinstance(e, sp.Symbol):
            if e.is_commutative is False:
                self._unsupported(e, path, "non-commutative symbols are not supported")
            return self.leaf(e)
        if e in (sp.true, sp.false):
            return g.const(e)
        if e.is_Number or isinstance(e, sp.NumberSymbol):
            if e.has(sp.nan, sp.zoo):
                self._unsupported(e, path, "an undefined constant (nan or complex infinity)")
            return g.const(e)
        number = self._is_number(e)
        if number and e.has(sp.I):
            self._unsupported(e, path, "complex numbers are not supported (symbols are real)")
        if number and not _real_constant(e):
            self._unsupported(e, path, "the constant is not a real number (it is %s); generated "
                              "code would compute NaN" % sp.N(e, 6))
        op = lookup(type(e)) or _subclass_entry(e)
        if op is not None and op.lower is not None:
            return getattr(self, op.lower)(e, path)
        if op is not None and is_elementwise(op.cls):
            return self._function(e, path)
        self._unsupported(e, path)

    def _is_number(self, e):
        """``e.is_number``, remembered per subexpression: SymPy's walks the whole subtree
        each time it is asked, which made lowering quadratic in the depth."""
        if e.is_Atom or not isinstance(e, sp.Expr):
            return bool(getattr(e, "is_number", False))
        known = self._numbers.get(e)
        if known is None:
            if isinstance(e, (sp.Function, sp.Add, sp.Mul, sp.Pow)):
                known = all(self._is_number(a) for a in e.args)
            else:
                known = bool(e.is_number)
            self._numbers[e] = known
        return known

    def _function(self, e, path):
        op = type(e)
        if op is sp.log and isinstance(e.args[0], sp.Determinant):
            return self._logdet(e.args[0], path + ((e, 0),))
        args = [self._scalar(a, n, e, path) for a, n in zip(e.args, self._args(e, path))]
        if op in _BINARY_CHAINS and len(args) > 2:
            out = args[0]
            for a in args[1:]:
                out = self.graph.apply(op, out, a)
            return out
        return self.graph.apply(op, *args)

    def _scalar(self, arg, node, parent, path):
        """A scalar function of a matrix is allowed for a 1x1 matrix (read as its entry)."""
        if getattr(arg, "is_Matrix", False) and type(parent) not in (sp.Piecewise,):
            if node.shape != (1, 1) and node.shape != ():
                self._unsupported(parent, path, "%s of a %s x %s matrix: apply it elementwise "
                                  "with M.applyfunc(...), or take Trace/SumAll first"
                                  % (type(parent).__name__, *node.shape))
            if node.shape == (1, 1):
                return self.graph.apply(sp.Trace, node, shape=())
        return node

    # --- arithmetic -------------------------------------------------------------------

    def _add_chain(self, e, path):
        return self._chain(sp.Add, e, path)

    def _mul_chain(self, e, path):
        return self._chain(sp.Mul, e, path)

    def _chain(self, op, e, path):
        """An n-ary sum or product (also MatAdd, HadamardProduct): a chain of binary nodes."""
        args = self._args(e, path)
        if isinstance(e, sp.MatAdd):
            try:
                broadcast_shapes([a.shape for a in args])
            except ShapeMismatch:                 # the text of e only when it is needed
                broadcast_shapes([a.shape for a in args], " in %s" % _short(e))
        out = args[0]
        for a in args[1:]:
            out = self.graph.apply(op, out, a)
        return out

    def _pow(self, e, path):
        base, exponent = self._args(e, path)
        return self.graph.apply(sp.Pow, base, exponent)

    def _piecewise(self, e, path):
        flat = []
        for i, (value, cond) in enumerate(e.args):
            where = path + ((e, i),)
            flat.append(self._lower(value, where))
            flat.append(self._lower(cond, where))
        return self.graph.apply(sp.Piecewise, *flat)

def _real_constant(e):
    """Whether a constant expression (no symbols) is real: asin(2) and log(-1) are not."""
    if e.is_real is not None:
        return bool(e.is_real)
    try:
        value = complex(sp.N(e, 30))
    except (TypeError, ValueError):
        return True                     # cannot tell here; evaluation will say
    return value.imag == 0


def _subclass_entry(e):
    """The entry of the nearest registered base class that lowering reads (SymPy builds
    subclasses such as ``Identity`` variants and ``MatrixElement`` flavours)."""
    for op in entries():
        if op.lower is not None and isinstance(e, op.cls):
            return op
    return None
