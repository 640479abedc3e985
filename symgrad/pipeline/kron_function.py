"""``value_grad_hessian`` for matrix parameters: the Kronecker-form Hessian compiled to einsum.

The loss and gradients come from ``value_and_grad`` (the same generated module as
always). The Hessian blocks d2 L / d vec(W_i) d vec(W_j) (row-major vec) are the terms of
``derive.second.kronecker_blocks``; each term's matrices (softmax(X W), X, ...) are compiled
once as operands and the term is one ``np.einsum`` over them (``codegen/kron_einsum.py``),
so no Kronecker product and no nk x nk diagonal is ever formed: the largest array is the
Hessian itself or an operand of the loss's own sizes.
"""

from __future__ import annotations

import sympy as sp

from ..codegen.kron_einsum import plan, staged
from ..derive.second import kronecker_blocks
from .build import compile_source

__all__ = ["KroneckerHessian"]


class KroneckerHessian:
    """The generated Hessian of matrix parameters: ``raw(*arrays)`` gives (value, grads, H)."""

    def __init__(self, expr, gradient, stable=True):
        from .function import compile_expression
        self.gradient = gradient
        program = gradient.program
        self.names = {s: program.names[s] for s in gradient.inputs}
        self.dims = {d: "%s.shape[%d]" % (self.names[s], axis) for d, (s, axis) in program.dims.items()}
        self._dim_names = {d: sp.Symbol("%s" % program.names.get(d, d)) for d in self.dims}
        self.operands, self.compiled = [], []
        wrt = gradient.wrt
        blocks = kronecker_blocks(expr, wrt)
        sizes = [w.shape for w in wrt]
        lines = []
        for i, row in enumerate(blocks):
            for j, terms in enumerate(row):
                lines.append("    H%d_%d = %s" % (i, j, self._block(terms, sizes[i], sizes[j])))
        self.compiled = [compile_expression(e, gradient.inputs, stable=stable) for e in self.operands]
        self.source = self._source(lines, len(wrt))
        namespace = compile_source(self.source)
        namespace.update({"operand_%d" % k: c.raw for k, c in enumerate(self.compiled)})
        namespace["value_and_grad"] = gradient.raw
        self.raw = namespace["value_grad_hessian"]

    def _source(self, lines, count):
        args = ", ".join(self.names[s] for s in self.gradient.inputs)
        head = ["import numpy as np", "", "", "def value_grad_hessian(%s):" % args,
                "    value, grads = value_and_grad(%s)" % args]
        head += ["    %s = %s" % (self._dim_names[d], text) for d, text in self.dims.items()]
        head += ["    t%d = operand_%d(%s)    # %s" % (k, k, args, sp.sstr(e))
                 for k, e in enumerate(self.operands)]
        blocks = "[%s]" % ", ".join("[%s]" % ", ".join("H%d_%d" % (i, j) for j in range(count))
                                    for i in range(count))
        tail = ["    H = %s" % ("H0_0" if count == 1 else "np.block(%s)" % blocks),
                "    return value, grads, H", ""]
        return "\n".join(head + lines + tail)

    def _size(self, e):
        return sp.pycode(sp.sympify(e).xreplace(self._dim_names))

    def _operand(self, m):
        if isinstance(m, tuple) and m[0] == "eye":
            return "np.eye(%s)" % self._size(m[1])
        if isinstance(m, tuple):
            return "np.ones((%s, %s))" % (self._size(m[1]), self._size(m[2]))
        if m in self.names:                                   # an input itself
            return self.names[m]
        if isinstance(m, sp.Transpose) and m.arg in self.names:
            return "%s.T" % self.names[m.arg]
        if m not in self.operands:
            self.operands.append(m)
        return "t%d" % self.operands.index(m)

    def _coefficient(self, c):
        scalars = {s: sp.Symbol(self.names[s]) for s in self.names if not isinstance(s, sp.MatrixSymbol)}
        if c.free_symbols <= set(self.dims) | set(scalars):
            return "(%s)" % sp.pycode(c.xreplace({**self._dim_names, **scalars}))
        return "float(%s)" % self._operand(c)

    def _einsum(self, subscripts, items):
        args = [self._einsum(*m) if isinstance(m, tuple) and isinstance(m[1], list) else
                self._operand(m) for m in items]
        return "np.einsum('%s', %s, optimize=True)" % (subscripts, ", ".join(args))

    def _block(self, terms, rows, cols):
        shape = "(%s, %s)" % (self._size(rows[0] * rows[1]), self._size(cols[0] * cols[1]))
        if not terms:
            return "np.zeros(%s)" % shape
        parts = []
        for t in terms:
            if not t.factors:                                  # a multiple of the identity
                parts.append("%s * np.eye(%s)" % (self._coefficient(t.coef), self._size(rows[0] * rows[1])))
                continue
            subscripts, operands, _ = plan(t, cols)
            call = "%s.reshape%s" % (self._einsum(*staged(subscripts, operands)), shape)
            parts.append(call if t.coef == 1 else "%s * %s" % (self._coefficient(t.coef), call))
        return " + ".join(parts)
