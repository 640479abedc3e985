"""Graph nodes -> SymPy expressions, for results shown to people.

``Raising`` turns a node back into SymPy: scalars into ordinary expressions,
matrices into MatrixExprs in SymPy's own vocabulary (MatMul, MatAdd,
HadamardProduct, HadamardPower, ``M.applyfunc(f)``, OneMatrix products for
broadcasts and sums). A run of elementwise operations over one matrix becomes a
single ``applyfunc`` whose body is a function of that matrix: a linear combination of
matrices (``X*W + 𝟏*b - Y``) is one argument, and its scalar coefficients move into the body.

What ``Raising(...)(node)`` returns is the result as people read it (``readable.present``):
display classes that print as a textbook does (``ops.display``), the common factor of a sum
outside it, σ and softmax where the graph spells them with exp. These are exact identities,
and the display classes equal their SymPy base classes, so results stay ordinary SymPy.
"""

import sympy as sp

from ..ops import is_elementwise, require
from ..ops.nodes import ElementwiseMap, SumAll
from .ir import Broadcast, Const, Fill, Leaf, SumTo
from .readable import coefficient, present, readable_scalar, transpose

__all__ = ["Raising"]


class Raising:
    """Raise nodes of one Graph to SymPy, mapping real stand-ins back to user symbols."""

    def __init__(self, user_symbols, names=None):
        self.user = dict(user_symbols)
        self.names = dict(names or {})   # node id -> the symbol a derivation sheet calls it
        self.memo = {}            # node id -> SymPy value in SymPy's vocabulary
        self.shown = {}           # node id -> the value as people read it
        self.present_memo = {}
        self.structural = {}      # node id -> whether it is raised as one matrix

    def __call__(self, node):
        """The node as a result people read (display classes, readable forms)."""
        out = self.shown.get(node.id)
        if out is None:
            out = self.shown[node.id] = present(self.value(node), self.present_memo)
        return out

    def definition(self, node):
        """The node itself, in terms of the named nodes below it (never its own name)."""
        return present(self._raise(node), self.present_memo)

    def value(self, node):
        """The node in SymPy's own vocabulary (what the readable form is made from); a named
        node is its name."""
        out = self.names.get(node.id)
        if out is None:
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
                    return _apply(op, [self.value(a) for a in chain(n)])
                return _apply(op, [self.value(a) for a in n.args])
            return self._elementwise_matrix(n)
        args = [self.value(a) for a in n.args]
        if op is Broadcast:
            return _stretch(args[0], n.args[0].shape, n.shape)
        if op is SumTo:
            return _sum_down(args[0], n.args[0].shape, n.shape)
        if op is sp.Transpose:
            return transpose(args[0])             # tanh(Z)ᵀ, not tanh applied to Zᵀ
        entry = require(op)
        return entry.shown(*args) if entry.shown is not None else op(*args)

    # --- elementwise runs over matrices --------------------------------------------

    def _elementwise_matrix(self, root):
        sources = {}          # matrix -> its Lambda variable
        by_node = {}          # node id -> (coefficient * variable)

        def source(n):
            if n.id not in by_node:
                value = self.names.get(n.id)
                if value is None:
                    value = self._structural(n) if is_elementwise(n.op) else self.value(n)
                if n.shape != root.shape:
                    value = _stretch(value, n.shape, root.shape)
                coeff, factors = coefficient(value)
                matrix = value if coeff == 1 else \
                    factors[0] if len(factors) == 1 else sp.MatMul(*factors)
                if matrix not in sources:
                    sources[matrix] = _variable(len(sources))
                by_node[n.id] = coeff * sources[matrix]
            return by_node[n.id]

        def body(n):
            if n.shape == ():
                return self.value(n)
            if n.op is Broadcast and n.args[0].shape == ():
                return self.value(n.args[0])
            if is_elementwise(n.op) and not self._is_structural(n) and \
                    (n is root or n.id not in self.names):
                return _apply(n.op, [body(a) for a in n.args])
            return source(n)

        expr = body(root) if not self._is_structural(root) else source(root)
        body = readable_scalar(sp.factor_terms(expr))
        return _assemble(body, {d: m for m, d in sources.items()}, root.shape)

    def _is_structural(self, n):
        """An elementwise + or * of matrices that are not elementwise themselves, or are
        linear combinations of such (a sum, a scalar multiple): it is raised as one matrix,
        a MatAdd or a HadamardProduct."""
        known = self.structural.get(n.id)
        if known is None:
            mats = [a for a in n.args if a.shape != () and not _stretched_scalar(a)]
            known = n.op in (sp.Add, sp.Mul) and bool(mats) and \
                (n.op is sp.Mul or len(mats) == len(n.args)) and all(
                    not is_elementwise(a.op) or (self._linear(a) and self._is_structural(a))
                    for a in mats)
            self.structural[n.id] = known
        return known

    @staticmethod
    def _linear(n):
        return n.op is sp.Add or (n.op is sp.Mul and sum(a.shape != () for a in n.args) == 1)

    def _structural(self, n):
        """A structural node (see ``_is_structural``) as one MatAdd or HadamardProduct."""
        parts = []
        for a in n.args:
            if a.op is Broadcast and a.args[0].shape == ():
                a = a.args[0]
            value = self.value(a)
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


def _stretched_scalar(n):
    return n.op is Broadcast and n.args[0].shape == ()


def chain(n):
    """The operands of a left-nested chain of one binary op, in order, without recursion."""
    out, node = [], n
    while node.op is n.op and node.shape == n.shape:
        out.append(node.args[1])
        node = node.args[0]
    out.append(node)
    return out[::-1]


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
    """A scalar body over source placeholders, as a SymPy matrix expression: sums and
    products of sources as MatAdd and HadamardProduct, a constant factor in front, and any
    other function of one matrix (or of several) as one map, printed as that function."""
    used = [d for d in sources if expr.has(d)]
    if not used:
        return expr * sp.OneMatrix(*shape)
    if expr in sources:
        return sources[expr]
    if isinstance(expr, sp.Mul):
        scalar, rest = expr.as_independent(*used, as_Add=False)
        if scalar != 1:
            return scalar * _assemble(rest, sources, shape)
    if len(used) == 1 and (not _arithmetic(expr, sources) or _constant_term(expr, used)):
        return _map(used[0], expr, sources[used[0]])          # 1 - tanh(Z)**2, 1 - Y
    if _constant_term(expr, used):                             # log(P) + 1 - log(Y)
        return ElementwiseMap(sp.Lambda(tuple(used), expr), *[sources[d] for d in used])
    if isinstance(expr, sp.Add):
        return sp.MatAdd(*[_assemble(t, sources, shape) for t in expr.args]).doit(deep=False)
    if isinstance(expr, sp.Mul) and not any(_divides(f) for f in expr.args):
        return sp.HadamardProduct(*[_assemble(f, sources, shape) for f in expr.args])
    if _arithmetic(expr, sources) and isinstance(expr, sp.Pow):
        return sp.HadamardPower(_assemble(expr.base, sources, shape), expr.exp)
    inner = [i for i, a in enumerate(expr.args) if any(a.has(d) for d in used)]
    if len(inner) == 1 and not isinstance(expr, (sp.Piecewise, sp.Mul, sp.Pow)):
        d = _variable(len(sources))
        args = list(expr.args)
        matrix = _assemble(args[inner[0]], sources, shape)
        args[inner[0]] = d
        return _map(d, expr.func(*args), matrix)
    return ElementwiseMap(sp.Lambda(tuple(used), expr), *[sources[d] for d in used])


def _constant_term(expr, used):
    """A sum with a constant term (1 - y): one map reads better than a matrix of ones."""
    return isinstance(expr, sp.Add) and any(not t.has(*used) for t in expr.args)


def _divides(f):
    """A factor that divides (f = g**-k): a product with one is kept whole, printed Y/P."""
    return isinstance(f, sp.Pow) and f.exp.is_number and f.exp.is_negative


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
