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

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .errors import ShapeMismatch, UnsupportedExpression
from .ir import ELEMENTWISE, Broadcast, Fill, Graph, broadcast_shapes
from .nodes import (AxisSum, ElementwiseMap, LogDet, Mean, RowLogSoftmax, RowLogSumExp,
                    RowSoftmax, SumAll)

__all__ = ["Lowering", "describe_path"]

_BINARY_CHAINS = (sp.Add, sp.Mul, sp.Max, sp.Min, sp.And, sp.Or)


def describe_path(path):
    """'argument 1 of log(...), argument 0 of Add' style location text."""
    if not path:
        return "at the top of the expression"
    parts = ["argument %d of %s" % (i, _short(p)) for p, i in reversed(path)]
    return "in " + ", in ".join(parts[:4]) + (" ..." if len(parts) > 4 else "")


def _short(expr, limit=60):
    text = sp.sstr(expr)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Lowering:
    """Lower SymPy expressions into one Graph, sharing repeated subexpressions."""

    def __init__(self, graph=None):
        self.graph = graph if graph is not None else Graph()
        self.memo = {}
        self.env = {}          # placeholder symbol -> node (rule templates, lambda bodies)
        self._real = {}        # user symbol -> real stand-in
        self.user = {}         # real stand-in -> user symbol
        self._dims = set()

    # --- symbols ------------------------------------------------------------------

    def real_symbol(self, s):
        """The real stand-in for a user symbol (the symbol itself when already real)."""
        if s.is_real or s in self._dims:
            return s
        r = self._real.get(s)
        if r is None:
            r = sp.Dummy(s.name, real=True)
            self._real[s] = r
            self.user[r] = s
        return r

    def leaf(self, s):
        """The leaf node of a user Symbol or MatrixSymbol."""
        if isinstance(s, sp.MatrixSymbol):
            self._note_dims(s)
            return self.graph.leaf(s)
        return self.graph.leaf(self.real_symbol(s))

    def _note_dims(self, m):
        for d in m.shape:
            self._dims.update(sp.sympify(d).free_symbols)

    def bind(self, placeholder, node):
        self.env[placeholder] = node

    # --- entry point ----------------------------------------------------------------

    def __call__(self, expr):
        expr = sp.sympify(expr)
        for m in expr.atoms(sp.MatrixSymbol):
            self._note_dims(m)
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
        hint = why or ("symgrad has no derivative rule for %s; rewrite it with supported "
                       "functions (see symgrad.rules.RULES)" % name)
        raise UnsupportedExpression("%s node %s %s: %s" % (name, _short(e), describe_path(path), hint))

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
        if e.is_number and e.has(sp.I):
            self._unsupported(e, path, "complex numbers are not supported (symbols are real)")
        handler = _HANDLERS.get(type(e))
        if handler is None:
            for cls, h in _HANDLERS.items():
                if isinstance(e, cls):
                    handler = h
                    break
        if handler is not None:
            return handler(self, e, path)
        if type(e) in ELEMENTWISE or isinstance(e, sp.Function) and not isinstance(e, AppliedUndef):
            return self._function(e, path)
        self._unsupported(e, path)

    def _function(self, e, path):
        op = type(e)
        if op not in ELEMENTWISE:
            self._unsupported(e, path)
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

    # --- matrices -----------------------------------------------------------------------

    def _matmul(self, e, path):
        args = self._args(e, path)
        out = None
        for node in args:
            out = node if out is None else self.matmul(out, node, e)
        return out

    def matmul(self, a, b, where=None):
        """The product a @ b, reading OneMatrix, Identity and scalar factors."""
        g = self.graph
        if a.shape == () or b.shape == ():
            return g.apply(sp.Mul, a, b)
        if _is_zero_fill(a) or _is_zero_fill(b):
            return g.broadcast(g.const(0), (a.shape[0], b.shape[1]))
        if a.shape[1] != b.shape[0] and sp.expand(a.shape[1] - b.shape[0]) != 0:
            raise ShapeMismatch("matrix product of shapes (%s, %s) and (%s, %s)%s: the inner "
                                "dimensions differ" % (*a.shape, *b.shape,
                                                       " in " + _short(where) if where else ""))
        for x, y in ((a, b), (b, a)):
            scale = _identity_scale(g, x)
            if scale is not None:
                return y if scale is True else g.apply(sp.Mul, scale, y)
        rows, cols = a.shape[0], b.shape[1]
        if _is_scalar_broadcast(a):
            scale = a.args[0]
            sums = g.sum_to(b, (1, cols))
            return g.broadcast(g.apply(sp.Mul, scale, sums), (rows, cols))
        if _is_scalar_broadcast(b):
            scale = b.args[0]
            sums = g.sum_to(a, (rows, 1))
            return g.broadcast(g.apply(sp.Mul, scale, sums), (rows, cols))
        return g.apply(sp.MatMul, a, b, shape=(rows, cols))

    def transpose(self, a):
        g = self.graph
        if a.shape == () or _is_fill(a, sp.Identity):
            return a
        if a.op is sp.Transpose:
            return a.args[0]
        if a.op is Fill:
            return g.fill(a.extra[0], a.shape[::-1])
        return g.apply(sp.Transpose, a, shape=a.shape[::-1])

    def _transpose(self, e, path):
        return self.transpose(self._args(e, path)[0])

    def _square(self, e, node, path):
        if node.shape == () or node.shape[0] != node.shape[1] and \
                sp.expand(node.shape[0] - node.shape[1]) != 0:
            raise ShapeMismatch("%s needs a square matrix, got shape %s %s"
                                % (type(e).__name__, node.shape or "scalar", describe_path(path)))
        return node

    def _inverse(self, e, path):
        x = self._square(e, self._args(e, path)[0], path)
        return self.graph.apply(sp.Inverse, x, shape=x.shape)

    def _matpow(self, e, path):
        base, exponent = e.args
        x = self._lower(base, path + ((e, 0),))
        if x.shape == (1, 1):
            return self.graph.apply(sp.Pow, self.graph.apply(sp.Trace, x, shape=()),
                                    self._lower(exponent, path + ((e, 1),)))
        if not exponent.is_Integer:
            self._unsupported(e, path, "matrix powers need an integer exponent")
        self._square(e, x, path)
        k = int(exponent)
        if k < 0:
            x = self.graph.apply(sp.Inverse, x, shape=x.shape)
            k = -k
        if k == 0:
            return self.graph.fill(sp.Identity, x.shape)
        out = x
        for _ in range(k - 1):
            out = self.matmul(out, x)
        return out

    def _trace(self, e, path):
        x = self._args(e, path)[0]
        if x.shape == ():              # a 1 x 1 matrix already read as its entry
            return x
        x = self._square(e, x, path)
        return self.graph.apply(sp.Trace, x, shape=())

    def _determinant(self, e, path):
        x = self._args(e, path)[0]
        if x.shape == ():
            return x
        x = self._square(e, x, path)
        return self.graph.apply(sp.Determinant, x, shape=())

    def _logdet(self, det, path):
        x = self._lower(det.args[0], path + ((det, 0),))
        if x.shape == ():
            return self.graph.apply(sp.log, x)
        x = self._square(det, x, path)
        return self.graph.apply(LogDet, x, shape=())

    def _logdet_node(self, e, path):
        return self._logdet(sp.Determinant(e.arg), path)

    def _lower_bound(self, body, bindings, path):
        """Lower a Lambda body with its variables bound to nodes (a fresh memo, so an
        earlier binding of the same variable is never reused)."""
        saved = self.memo, self.env
        self.memo, self.env = {}, {**self.env, **bindings}
        try:
            return self._lower(body, path)
        finally:
            self.memo, self.env = saved

    def _applyfunc(self, e, path):
        matrix = self._lower(e.expr, path + ((e, 1),))
        function = e.function
        if isinstance(function, sp.Lambda):
            out = self._lower_bound(function.expr, {function.variables[0]: matrix}, path + ((e, 0),))
        else:
            var = sp.Dummy("m", real=True)
            out = self._lower_bound(function(var), {var: matrix}, path + ((e, 0),))
        return self.graph.broadcast(out, matrix.shape)

    def _elementwise_map(self, e, path):
        matrices = [self._lower(m, path + ((e, i + 1),)) for i, m in enumerate(e.matrices)]
        bindings = dict(zip(e.function.variables, matrices))
        out = self._lower_bound(e.function.expr, bindings, path + ((e, 0),))
        return self.graph.broadcast(out, matrices[0].shape)

    def _fill(self, e, path):
        shape = tuple(sp.sympify(d) for d in e.shape)
        return self.graph.fill(type(e), shape)

    def _row_op(self, e, path):
        x = self._args(e, path)[0]
        shape = (x.shape[0], sp.S.One) if isinstance(e, RowLogSumExp) else x.shape
        return self.graph.apply(type(e), x, shape=shape)

    def _axis_sum(self, e, path):
        x = self._lower(e.arg, path + ((e, 0),))
        shape = (sp.S.One, x.shape[1]) if e.axis == 0 else (x.shape[0], sp.S.One)
        return self.graph.sum_to(x, shape)

    def _sum_all(self, e, path):
        return self.graph.sum_to(self._lower(e.arg, path + ((e, 0),)), ())

    def _mean(self, e, path):
        rows, cols = e.arg.shape
        return self._lower(SumAll(e.arg) / (rows * cols), path)

    def _adjoint(self, e, path):
        return self.transpose(self._args(e, path)[0])


def _identity_scale(g, x):
    """True for an Identity, the scale s for a product s*Identity, else None."""
    if _is_fill(x, sp.Identity):
        return True
    if x.op is not sp.Mul:
        return None
    stack, factors = [x], []
    while stack:
        n = stack.pop()
        if n.op is sp.Mul:
            stack.extend(n.args)
        else:
            factors.append(n)
    eye = [f for f in factors if _is_fill(f, sp.Identity)]
    rest = [f for f in factors if not _is_fill(f, sp.Identity)]
    if len(eye) != 1 or any(f.shape != () for f in rest):
        return None          # an entrywise product with a matrix is not a scaled identity
    return g.mul(*rest)


def _is_zero_fill(n):
    return n.op is Broadcast and n.args[0].is_const and n.args[0].value == 0


def _is_fill(n, kind):
    return n.op is Fill and n.extra[0] is kind


def _is_scalar_broadcast(n):
    return n.op is Broadcast and n.args[0].shape == ()


def _chain(op):
    """Handler for an n-ary sum or product: a chain of binary nodes."""
    def lower_chain(self, e, path):
        args = self._args(e, path)
        if isinstance(e, sp.MatAdd):
            broadcast_shapes([a.shape for a in args], " in %s" % _short(e))
        out = args[0]
        for a in args[1:]:
            out = self.graph.apply(op, out, a)
        return out
    return lower_chain


_HANDLERS = {
    sp.Add: _chain(sp.Add),
    sp.Mul: _chain(sp.Mul),
    sp.Pow: Lowering._pow,
    sp.Piecewise: Lowering._piecewise,
    sp.MatAdd: _chain(sp.Add),
    sp.HadamardProduct: _chain(sp.Mul),
    sp.HadamardPower: Lowering._pow,
    sp.MatMul: Lowering._matmul,
    sp.Transpose: Lowering._transpose,
    sp.Adjoint: Lowering._adjoint,
    sp.Inverse: Lowering._inverse,
    sp.MatPow: Lowering._matpow,
    sp.Trace: Lowering._trace,
    sp.Determinant: Lowering._determinant,
    LogDet: Lowering._logdet_node,
    ElementwiseApplyFunction: Lowering._applyfunc,
    sp.OneMatrix: Lowering._fill,
    sp.Identity: Lowering._fill,
    sp.ZeroMatrix: Lowering._fill,
    RowSoftmax: Lowering._row_op,
    RowLogSumExp: Lowering._row_op,
    RowLogSoftmax: Lowering._row_op,
    ElementwiseMap: Lowering._elementwise_map,
    AxisSum: Lowering._axis_sum,
    SumAll: Lowering._sum_all,
    Mean: Lowering._mean,
}
