"""Graph nodes -> SymPy expressions, for results shown to people.

``Raising`` turns a node back into SymPy: scalars into ordinary expressions,
matrices into MatrixExprs in SymPy's own vocabulary (MatMul, MatAdd,
HadamardProduct, HadamardPower, ``M.applyfunc(f)``, OneMatrix products for
broadcasts and sums). A run of elementwise operations over one matrix becomes a
single ``applyfunc`` with a readable Lambda.
"""

import sympy as sp

from ..ops import is_elementwise, require
from ..ops.nodes import ElementwiseMap, SumAll
from .ir import Broadcast, Const, Fill, Leaf, SumTo

__all__ = ["Raising"]


class Raising:
    """Raise nodes of one Graph to SymPy, mapping real stand-ins back to user symbols."""

    def __init__(self, user_symbols):
        self.user = dict(user_symbols)
        self.memo = {}

    def __call__(self, node):
        out = self.memo.get(node.id)
        if out is None:
            out = self._raise(node)
            self.memo[node.id] = out
        return out

    def _raise(self, n):
        op = n.op
        if op is Leaf:
            return self.user.get(n.extra, n.extra)
        if op is Const:
            return n.value
        if op is Fill:
            return sp.Identity(n.shape[0]) if n.extra[0] is sp.Identity else n.extra[0](*n.shape)
        if is_elementwise(op):
            if n.shape == ():
                if op in (sp.Add, sp.Mul):         # a long chain: flatten without recursion
                    return _apply(op, [self(a) for a in chain(n)])
                return _apply(op, [self(a) for a in n.args])
            return self._elementwise_matrix(n)
        args = [self(a) for a in n.args]
        if op is Broadcast:
            return _stretch(args[0], n.args[0].shape, n.shape)
        if op is SumTo:
            return _sum_down(args[0], n.args[0].shape, n.shape)
        entry = require(op)
        return entry.shown(*args) if entry.shown is not None else op(*args)

    # --- elementwise runs over matrices --------------------------------------------

    def _elementwise_matrix(self, root):
        sources = {}

        def source(n):
            if n.id not in sources:
                value = self._structural(n) if is_elementwise(n.op) else self(n)
                if n.shape != root.shape:
                    value = _stretch(value, n.shape, root.shape)
                sources[n.id] = (_variable(len(sources)), value)
            return sources[n.id][0]

        def body(n):
            if n.shape == ():
                return self(n)
            if n.op is Broadcast and n.args[0].shape == ():
                return self(n.args[0])
            if is_elementwise(n.op) and not _is_structural(n, root):
                return _apply(n.op, [body(a) for a in n.args])
            return source(n)

        expr = body(root) if not _is_structural(root, root) else source(root)
        return _assemble(expr, {d: m for d, m in sources.values()}, root.shape)

    def _structural(self, n):
        """A sum or Hadamard product of matrices that are not elementwise themselves."""
        parts = []
        for a in n.args:
            if a.op is Broadcast and a.args[0].shape == ():
                a = a.args[0]
            value = self(a)
            parts.append(value if a.shape in (n.shape, ()) else _stretch(value, a.shape, n.shape))
        if n.op is sp.Add:
            return sp.MatAdd(*[p if getattr(p, "is_Matrix", False) else p * sp.OneMatrix(*n.shape)
                               for p in parts]).doit(deep=False)
        scalars = [p for p in parts if not getattr(p, "is_Matrix", False)]
        matrices = [p for p in parts if getattr(p, "is_Matrix", False)]
        matrix = matrices[0] if len(matrices) == 1 else sp.HadamardProduct(*matrices)
        return sp.Mul(*scalars) * matrix if scalars else matrix


def _variable(i):
    """The i-th Lambda variable: a Dummy with a fixed index, so equal results compare equal."""
    return sp.Dummy("x%d" % i, dummy_index=7340000 + i, real=True)


def _arithmetic(expr, sources):
    """True when expr is built from the sources by +, * and integer powers only."""
    if expr in sources or not any(expr.has(d) for d in sources):
        return True
    if isinstance(expr, (sp.Add, sp.Mul)):
        return all(_arithmetic(a, sources) for a in expr.args)
    if isinstance(expr, sp.Pow):
        return expr.exp.is_Integer and expr.exp > 0 and _arithmetic(expr.base, sources)
    return False


def chain(n):
    """The operands of a left-nested chain of one binary op, in order, without recursion."""
    out, node = [], n
    while node.op is n.op and node.shape == n.shape:
        out.append(node.args[1])
        node = node.args[0]
    out.append(node)
    return out[::-1]


def _is_structural(n, root):
    """An elementwise + or * whose matrix arguments are all non-elementwise nodes."""
    if n.op not in (sp.Add, sp.Mul):
        return False
    mats = [a for a in n.args if a.shape != ()]
    return bool(mats) and all(not is_elementwise(a.op) for a in mats)


def _apply(op, args):
    if op is sp.Piecewise:
        return sp.Piecewise(*zip(args[0::2], args[1::2]))
    if op is sp.Add:
        return sp.Add(*args)
    if op is sp.Mul:
        return sp.Mul(*args)
    shown = require(op).shown
    return shown(*args) if shown is not None else op(*args)


def _assemble(expr, sources, shape):
    """A scalar body over source placeholders, as a SymPy matrix expression."""
    used = [d for d in sources if expr.has(d)]
    if not used:
        return expr * sp.OneMatrix(*shape)
    if expr in sources:
        return sources[expr]
    if len(used) == 1 and not _arithmetic(expr, sources):
        return _map(used[0], expr, sources[used[0]])
    if isinstance(expr, sp.Add):
        return sp.MatAdd(*[_assemble(t, sources, shape) for t in expr.args]).doit(deep=False)
    if isinstance(expr, sp.Mul):
        scalar = sp.Mul(*[f for f in expr.args if not any(f.has(d) for d in used)])
        factors = [_assemble(f, sources, shape) for f in expr.args if any(f.has(d) for d in used)]
        matrix = factors[0] if len(factors) == 1 else sp.HadamardProduct(*factors)
        return matrix if scalar == 1 else scalar * matrix
    if isinstance(expr, sp.Pow) and not any(expr.exp.has(d) for d in used):
        return sp.HadamardPower(_assemble(expr.base, sources, shape), expr.exp)
    inner = [i for i, a in enumerate(expr.args) if any(a.has(d) for d in used)]
    if len(inner) == 1 and not isinstance(expr, sp.Piecewise):
        d = _variable(len(sources))
        args = list(expr.args)
        matrix = _assemble(args[inner[0]], sources, shape)
        args[inner[0]] = d
        return _map(d, expr.func(*args), matrix)
    return ElementwiseMap(sp.Lambda(tuple(used), expr), *[sources[d] for d in used])


def _map(d, body, matrix):
    """``matrix.applyfunc(Lambda(d, body))``; a 1 x 1 matrix is read through its entry,
    because SymPy applies functions to 1 x 1 matrices directly."""
    if tuple(matrix.shape) == (1, 1):
        return body.xreplace({d: sp.Trace(matrix)}) * sp.OneMatrix(1, 1)
    return matrix.applyfunc(sp.Lambda(d, body))


def _stretch(x, from_shape, to_shape):
    rows, cols = to_shape
    if from_shape == ():
        return x * sp.OneMatrix(rows, cols)
    if from_shape == (1, 1):
        return sp.OneMatrix(rows, 1) * x * sp.OneMatrix(1, cols)
    if from_shape[0] == 1:
        return sp.OneMatrix(rows, 1) * x
    return x * sp.OneMatrix(1, cols)


def _sum_down(x, from_shape, to_shape):
    rows, cols = from_shape
    if to_shape == ():
        return SumAll(x)
    if to_shape == (1, 1):
        return sp.OneMatrix(1, rows) * x * sp.OneMatrix(cols, 1)
    if to_shape[0] == 1:
        return sp.OneMatrix(1, rows) * x
    return x * sp.OneMatrix(cols, 1)
