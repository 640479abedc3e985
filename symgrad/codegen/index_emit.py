"""Index graph -> readable NumPy source with no Python loop over an index.

Every node is an array whose axes are its indices in canonical order, so an
elementwise op only inserts new axes (``t0[:, None]``) to broadcast by name. A sum of
a product is one ``np.einsum`` call with an optimized contraction path, printed as ``@``
when it is a plain matrix product; other sums are ``np.sum(..., axis=...)``. A read
``x[i + k, c]`` (a valid 1-D convolution) is a sliding-window view. Dimensions (n, d, ...)
are read from the arrays' shapes, as the matrix code does.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import sympy as sp

from ..errors import UnsupportedExpression
from ..graph.index_ir import Access, Delta, Position, Reduce, Spread
from ..graph.index_lse import LSE
from ..graph.index_reach import at_least, furthest, node_reach, reach
from ..graph.ir import ancestors
from ..ops import is_elementwise
from ..ops.plumbing import Const
from .index_batched import batched_matmul
from .printer import ATOM, CALL, Code, CodePrinter

__all__ = ["IndexProgram"]

MATMUL, MUL = 45, 50


@dataclass
class IndexProgram:
    """What to generate for a loss written with indices."""

    graph: object
    loss: object
    inputs: list                   # IndexedBases and Symbols, in signature order
    wrt: list
    reads: dict                    # param key -> [(access node, adjoint node)]
    names: dict                    # input (and dimension) -> identifier
    dims: dict = field(default_factory=dict)    # dimension symbol -> (input, axis, offset)
    title: str = ""


class _Emitter:
    def __init__(self, program, outputs):
        self.p = program
        self.g = program.graph
        self.printer = CodePrinter()
        self.names = dict(program.names)
        self.lines, self.text = [], {}
        self.lse = False                   # whether the code calls _logsumexp (index_module.py)
        self.windows = False               # whether it calls _window / _add_window
        self.count = 0
        self.uses, self.actual, self.seen = {}, {}, {}
        for n in ancestors(outputs):
            for a in n.args:
                self.uses[a.id] = self.uses.get(a.id, 0) + 1
        for o in outputs:
            self.uses[o.id] = self.uses.get(o.id, 0) + 2

    def ax(self, n):
        """The indices ``n``'s array really has: a spread (a value stretched over more indices)
        is left to NumPy's broadcasting, so it adds none."""
        out = self.actual.get(n.id)
        if out is None:
            if n.op is Spread:
                out = self.ax(n.args[0])
            elif n.op in (Reduce, LSE):
                out = tuple(i for i in self.ax(n.args[0]) if i not in n.extra)
            elif n.op in (Access, Delta, Const, Position):
                out = n.idx
            else:
                out = self.g.order(i for a in n.args for i in self.ax(a))
            self.actual[n.id] = out
        return out

    def inline(self, n):
        """A single-use elementwise node is written into its user; so is an outer product,
        which einsum consumes without materializing it."""
        return is_elementwise(n.op) and (self.uses.get(n.id, 0) == 1 or _outer(n, self.ax))

    def sympy(self, n, idx):
        """A SymPy expression over Code placeholders for ``n`` aligned to ``idx``."""
        if n.op is Const:
            return self.number(n.value)
        if n.op is Spread:
            return self.sympy(n.args[0], idx)
        if self.inline(n) and self.ax(n) == tuple(idx):
            args = [self.sympy(a, idx) for a in n.args]
            if n.op is sp.Piecewise:
                return sp.Piecewise(*zip(args[0::2], args[1::2]), evaluate=False)
            return n.op(*args)
        return Code(self.aligned(n, idx), ATOM)

    # --- sizes ---------------------------------------------------------------------------

    def dim(self, e):
        e = sp.sympify(e)
        return self.printer.doprint(e.xreplace({s: Code(self.names.get(s, s.name))
                                                for s in e.free_symbols}))

    def number(self, value):
        """A constant, its dimension symbols (a count of copies: n, d) named."""
        return value.xreplace({s: Code(self.names.get(s, s.name)) for s in value.free_symbols})

    def size(self, i):
        lo, hi = self.g.ranges[i]
        return self.dim(sp.sympify(hi) - lo + 1)

    # --- nodes ---------------------------------------------------------------------------

    def ref(self, n):
        """(text, precedence) of a node as an argument: inputs and numbers inline."""
        if n.id in self.text:
            return self.text[n.id]
        if n.op is Spread:
            return self.ref(n.args[0])
        if self.inline(n):
            return self.expression(n)
        if n.op is Const:
            return self.printer.code(self.number(n.value))
        if n.op is Access:
            out = self.access(n)
        else:
            out = (self.statement(n), ATOM)
        self.text[n.id] = out
        return out

    def statement(self, n):
        """A named temporary for ``n``; an identical right-hand side is computed once (two
        nodes that differ only in the names of their indices print the same text)."""
        text, _ = self.expression(n)
        if text in self.seen:
            return self.seen[text]
        name = "t%d" % self.count
        self.seen[text] = name
        self.count += 1
        self.lines.append("%s = %s" % (name, text))
        return name

    def expression(self, n):
        if n.op is Reduce:
            return self.reduce(n)
        if n.op is LSE:
            return self.logsumexp(n)
        if n.op is Delta:
            i, j = n.idx                     # entry [a, b] is 1 where lo_i + a == lo_j + b
            shift = sp.sympify(self.g.ranges[i][0] - self.g.ranges[j][0])
            offset = ", k=%s" % self.dim(shift) if shift != 0 else ""
            return "np.eye(%s, %s%s)" % (self.size(i), self.size(j), offset), CALL
        if n.op is Position:
            lo, hi = self.g.ranges[n.extra]
            return "np.arange(%s, %s)" % (self.dim(lo), self.dim(sp.sympify(hi) + 1)), CALL
        if is_elementwise(n.op):
            args = [self.sympy(x, self.ax(n)) for x in n.args]
            if n.op is sp.Piecewise:
                expr = sp.Piecewise(*zip(args[0::2], args[1::2]), evaluate=False)
            else:
                expr = n.op(*args, evaluate=False) if n.op in (sp.Add, sp.Mul, sp.Pow) \
                    else n.op(*args)
            return self.printer.code(expr)
        raise UnsupportedExpression("no NumPy printer for index op %s" % getattr(n.op, "__name__", n.op))

    def aligned(self, a, idx):
        """``a``'s array with new axes where ``idx`` has indices ``a`` lacks."""
        while a.op is Spread:
            a = a.args[0]
        text, prec = self.ref(a)
        if self.ax(a) == tuple(idx) or not self.ax(a):
            return text if prec >= CALL else "(%s)" % text
        keys = ", ".join(":" if i in self.ax(a) else "None" for i in idx)
        base = text if prec >= ATOM else "(%s)" % text
        return "%s[%s]" % (base, keys)

    def reduce(self, n):
        arg = n.args[0]
        while arg.op is Spread:
            arg = arg.args[0]
        missing = [i for i in n.extra if i not in self.ax(arg)]
        if missing:                          # a sum over copies: the count times the value
            text = self.reduce_present(n, arg, [i for i in n.extra if i in self.ax(arg)])
            count = self.dim(self.g.size_of(missing))
            return "(%s)*%s" % (count, self.wrap(text, 51)), 50
        return self.reduce_present(n, arg, n.extra)

    def reduce_present(self, n, arg, summed):
        if not summed:
            return self.ref(arg)
        named = (self.uses.get(arg.id, 0) > 1 or arg.id in self.text) and not \
            _outer(arg, self.ax)
        factors = [arg] if named else [f.args[0] if f.op is Spread else f
                                       for f in _factors(arg, self.uses, self.ax)]
        arrays = [f for f in factors if self.ax(f)]
        scalars = [f for f in factors if not self.ax(f)]
        if len(arrays) == 1 and scalars:
            core = self.total(arrays[0], n, summed)
            scale = "*".join(self.wrap(self.ref(q), 50) for q in scalars)
            return "%s*%s" % (scale, core[0]), 50
        if len(arrays) >= 2:
            core = self.contraction(arrays, self.ax(n))
            if scalars:
                scale = "*".join(self.wrap(self.ref(s), 50) for s in scalars)
                return "%s*%s" % (scale, core[0] if core[1] >= 50 else "(%s)" % core[0]), 50
            return core
        return self.total(arg, n, summed)

    def logsumexp(self, n):
        """log Σ exp over the summed indices, with SciPy's max shift (no overflow)."""
        arg = n.args[0]
        while arg.op is Spread:
            arg = arg.args[0]
        self.lse = True
        present = [i for i in n.extra if i in self.ax(arg)]
        missing = [i for i in n.extra if i not in self.ax(arg)]    # a broadcast axis: copies
        if not present:
            text = self.ref(arg)[0]
        elif not self.ax(n):
            text = "_logsumexp(%s, None)" % self.ref(arg)[0]
        else:
            axes = tuple(self.ax(arg).index(i) for i in present)
            axis = axes[0] if len(axes) == 1 else "(%s)" % ", ".join(map(str, axes))
            text = "_logsumexp(%s, %s)" % (self.ref(arg)[0], axis)
        if missing:
            return "%s + np.log(%s)" % (text, self.dim(self.g.size_of(missing))), 40
        return text, CALL

    def total(self, arg, n, summed):
        """np.sum of ``arg`` over the indices ``summed``."""
        if not self.ax(n):
            return "np.sum(%s)" % self.ref(arg)[0], CALL
        axes = tuple(self.ax(arg).index(i) for i in summed)
        axis = axes[0] if len(axes) == 1 else "(%s)" % ", ".join(map(str, axes))
        return "np.sum(%s, axis=%s)" % (self.ref(arg)[0], axis), CALL

    def transposable(self, n):
        """A not yet printed sum of a two-array product: it can be printed in either layout."""
        if n.op is not Reduce or n.id in self.text or self.uses.get(n.id, 0) > 2:
            return False
        factors = _factors(n.args[0], self.uses, self.ax)
        arrays = [f for f in factors if self.ax(f)]
        return len(arrays) == 2 and len(arrays) == len(factors)

    def contraction_text(self, n, out_idx):
        arrays = [f.args[0] if f.op is Spread else f for f in _factors(n.args[0], self.uses, self.ax)]
        text, _ = self.contraction(arrays, out_idx)
        name = "t%d" % self.count
        self.count += 1
        self.lines.append("%s = %s" % (name, text))
        return name

    def wrap(self, ref, level):
        return ref[0] if ref[1] >= level else "(%s)" % ref[0]

    def contraction(self, arrays, out_idx):
        matmul = self.matmul(arrays, out_idx)
        if matmul is not None:
            return matmul
        letters, operands, specs = {}, [], []
        for a in arrays:
            if a.op is Access and a.id not in self.text:
                text, labels = self.access_parts(a)      # einsum takes any axis order
            else:
                text, labels = self.ref(a)[0], list(self.ax(a))
            for i in labels:
                letters.setdefault(i, string.ascii_letters[len(letters)])
            operands.append(text)
            specs.append("".join(letters[i] for i in labels))
        out = "".join(letters[i] for i in out_idx)
        spec = ",".join(specs) + "->" + out
        if len(specs) == 2 and set(specs[0]) & set(specs[1]) & set(out):
            # a batch index (in both and kept): NumPy has no BLAS call for it, and finding a
            # contraction path for two operands costs more than small arrays' products
            return 'np.einsum("%s", %s)' % (spec, ", ".join(operands)), CALL
        return 'np.einsum("%s", %s, optimize=True)' % (spec, ", ".join(operands)), CALL

    def matmul(self, arrays, out_idx):
        """A @ B when two arrays of rank <= 2 share exactly the contracted index (or a
        batched product: codegen/index_batched.py)."""
        if len(arrays) != 2:
            return None
        batched = batched_matmul(self, arrays[0], arrays[1], out_idx)
        if batched is not None:
            return batched
        a, b = arrays
        ia, ib = self.ax(a), self.ax(b)
        shared = set(ia) & set(ib)
        if len(shared) != 1 or len(ia) > 2 or len(ib) > 2 or shared & set(out_idx):
            return None
        (c,) = shared
        options = []
        for x, y in ((a, b), (b, a)):
            ix, iy = self.ax(x), self.ax(y)
            result = [i for i in ix if i != c] + [i for i in iy if i != c]
            if tuple(result) == tuple(out_idx):
                flips = (len(ix) == 2 and ix.index(c) == 0) + (len(iy) == 2 and iy.index(c) == 1)
                options.append((flips, len(ix) < len(iy), x, y))
        if not options:
            return None
        _, _, x, y = min(options, key=lambda o: o[:2])
        return "%s @ %s" % (self.oriented(x, c, last=True), self.oriented(y, c, last=False)), MATMUL

    def oriented(self, a, c, last):
        text = self.wrap(self.ref(a), MUL + 1 if not last else MUL)
        ia = self.ax(a)
        if len(ia) == 2 and (ia.index(c) == 1) != last:
            inner = self.wrap(self.ref(a), CALL)
            return inner[:-2] if inner.endswith(".T") else "%s.T" % inner
        return text

    def access(self, n):
        text, labels = self.access_parts(n)
        perm = [labels.index(i) for i in n.idx]
        if perm != list(range(len(perm))):
            text = "%s.T" % text if len(perm) == 2 else "np.transpose(%s, %s)" % (text, tuple(perm))
        return text, ATOM

    def access_parts(self, n):
        """(text, axis labels) of a read before any transposition into canonical order."""
        base, pattern = n.extra
        name = self.names[base]
        if not pattern:
            return name, []
        padded = self.padded(n)
        if padded is not None:
            self.windows = True
            labels = [next(iter(e.free_symbols)) for e in pattern]
            if len(set(labels)) == len(labels):
                return "_window(%s, %s)" % (name, padded), labels
        text, labels = name, []
        keys, windows = [], []
        for axis, e in enumerate(pattern):
            symbols = sorted(e.free_symbols, key=str)
            c = e - sum(symbols)
            if not symbols:
                keys.append(self.dim(e))
            elif len(symbols) == 1:
                s = symbols[0]
                lo, hi = self.g.ranges[s]
                keys.append(self.slice(base, axis, lo + c, hi + c))
                labels.append(s)
            elif len(symbols) == 2:
                s, t = symbols
                (lo_s, hi_s), (lo_t, hi_t) = self.g.ranges[s], self.g.ranges[t]
                keys.append(self.slice(base, axis, lo_s + lo_t + c, hi_s + hi_t + c))
                windows.append((len(labels), t))
                labels.append(s)
            else:
                raise UnsupportedExpression("%s: an axis read at %s (three or more indices)" % (base, e))
        if any(k != ":" for k in keys):
            text = "%s[%s]" % (name, ", ".join(keys))
        for position, t in windows:
            text = "np.lib.stride_tricks.sliding_window_view(%s, %s, axis=%d)" % (
                text, self.size(t), position)
            labels.append(t)
        if len(set(labels)) != len(labels):
            raise UnsupportedExpression("%s read with a repeated index %s; write the diagonal "
                                        "with KroneckerDelta" % (base, pattern))
        return text, labels

    def padded(self, n):
        """"(starts,), (stops,)" of a read under a guard that runs past its array's ends
        (``w[i - 1]`` under ``i >= 1`` at i = 0; the branch's value there is discarded), or
        None for a read that stays inside (a plain slice)."""
        pattern = n.extra[1]
        spans = [reach(self.g, e) for e in pattern]
        if None in spans or all(node_reach(self.g, n, axis) == span
                                for axis, span in enumerate(spans)):
            return None                      # not under a guard: the callable checked it fits
        last = furthest(self.g, self.g.nodes, n.extra[0])
        if all(at_least(a, 0) and axis in last and at_least(last[axis], b)
               for axis, (a, b) in enumerate(spans)):
            return None
        if not all(len(e.free_symbols) == 1 and (e - sum(e.free_symbols)).is_Integer
                   for e in pattern):
            raise UnsupportedExpression("%s[%s] under a guard runs past the ends of %s; symgrad "
                                        "pads reads at i + c in every axis only"
                                        % (n.extra[0], ", ".join(map(str, pattern)), n.extra[0]))
        starts = ", ".join(self.dim(a) for a, _ in spans) + ","
        stops = ", ".join(self.dim(b + 1) for _, b in spans) + ","
        return "(%s), (%s)" % (starts, stops)

    def slice(self, base, axis, lo, hi):
        source = self.p.dims
        lo, hi = sp.sympify(lo), sp.sympify(hi)
        for D, (b, ax, offset) in source.items():
            if b == base and ax == axis and lo == 0 and sp.expand(hi + 1 - (D + offset)) == 0:
                return ":"                   # the axis this very bound was read from
        return "%s:%s" % (self.dim(lo) if lo != 0 else "", self.dim(hi + 1))


def _factors(n, uses, ax, top=True):
    """The factors of a product, down through products used only here (a product used
    elsewhere too is one factor, computed once under its own name, unless it is an outer
    product: that is cheaper to leave to einsum than to materialize)."""
    if n.op is sp.Mul and (top or uses.get(n.id, 0) <= 1 or _outer(n, ax)):
        return _factors(n.args[0], uses, ax, False) + _factors(n.args[1], uses, ax, False)
    return [n]


def _outer(n, ax):
    """A product whose array has indices no single factor's array has (it broadcasts into a
    larger array); ``ax`` gives a node's actual indices."""
    return n.op is sp.Mul and all(set(ax(a)) != set(ax(n)) for a in n.args)
