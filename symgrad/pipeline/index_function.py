"""``value_and_grad`` for losses written with indices: the index graph's pipeline.

Derive (``derive/index_reverse.py``), print (``codegen/index_emit.py``), compile; the
callable validates the arrays (rank, and every index's range against the axis it
reads) before calling the generated code. Any IndexedBase means the loss is evaluated
as written: no per-sample mean.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import sympy as sp

from ..codegen.emit import sanitize_names
from ..codegen.index_emit import IndexProgram
from ..codegen.index_module import generate_index
from ..derive.index_reverse import index_backward, param_base
from ..errors import ArgumentError, ShapeMismatch
from ..graph.index_ir import Access
from ..graph.index_lower import IndexLowering
from ..graph.index_reach import dimension_sources, node_reach
from ..graph.lower import as_expression
from ..rewrite.index_stable import stable_index
from .build import source_markdown

__all__ = ["index_value_and_grad", "IndexGradFunction"]


def _inputs(items, what):
    out = []
    for s in items:
        base = param_base(s)
        if not isinstance(base, (sp.IndexedBase, sp.Symbol)):
            raise ArgumentError("%s: %r is not an IndexedBase or Symbol" % (what, s))
        out.append(base)
    return out


def index_value_and_grad(expr, wrt, args=(), backend="numpy"):
    """Compile a loss written with indices (see ``symgrad.value_and_grad``): NumPy code."""
    from .build import compile_source
    if backend != "numpy":
        raise ArgumentError("backend=%r: a loss written with indices compiles to NumPy only; "
                            "use backend='numpy', or write the loss with MatrixSymbols" % (backend,))
    expr = as_expression(expr)
    wrt = _inputs(wrt if isinstance(wrt, (list, tuple)) else [wrt], "wrt")
    args = _inputs(args if isinstance(args, (list, tuple)) else [args], "args")
    inputs = wrt + args
    names = [str(q) for q in inputs]
    repeated = sorted({q for q in names if names.count(q) > 1})
    if repeated:
        raise ArgumentError("%s is listed more than once in wrt and args; list each symbol once"
                            % repeated[0])
    lowering = IndexLowering()
    out = lowering(stable_index(expr))            # the code computes the stable form
    if out.idx:
        raise ArgumentError("the loss has free indices %s; sum over them so it is a scalar"
                            % ", ".join(map(str, out.idx)))
    known = {_label(s) for s in inputs}
    for n in lowering.graph.nodes:
        if n.op is Access and _label(n.extra[0]) not in known and not _is_dimension(n.extra[0], lowering):
            raise ArgumentError("%s occurs in the expression but is in neither wrt nor args; add it "
                                "to one of them" % n.extra[0])
    reads = index_backward(lowering, out, wrt)
    dims = dimension_sources(lowering.graph, inputs)
    _check_sizes(lowering.graph, dims, inputs)
    names = sanitize_names(inputs + sorted(set(dims) - set(inputs), key=str))
    program = IndexProgram(graph=lowering.graph, loss=out, inputs=inputs, wrt=wrt,
                           reads={_label(w): reads.get(_label(w), []) for w in wrt},
                           names=names, dims=dims, title=sp.sstr(expr))
    source = generate_index(program)
    return IndexGradFunction(program, source, compile_source(source), expr)


def _check_sizes(graph, dims, inputs):
    """Each size (n, d in the Sums' bounds) is read from one array's shape or passed as an
    argument, never both (a passed value would be silently overwritten) and never neither."""
    sizes = {q for lo, hi in graph.ranges.values() for q in sp.sympify(hi).free_symbols} | \
        {q for lo, hi in graph.ranges.values() for q in sp.sympify(lo).free_symbols}
    for D in sorted(sizes, key=str):
        if D in inputs and D in dims:
            base, axis, _ = dims[D]
            raise ArgumentError("%s is a size, read from axis %d of %s's shape; leave it out of "
                                "wrt and args" % (D, axis, base))
        if D not in inputs and D not in dims:
            raise ArgumentError("the size %s is the length of no array's axis (no array is read "
                                "at an index that runs to it); pass it in args as a whole number"
                                % D)
        if D in inputs and not D.is_integer:
            raise ArgumentError("the size %s is a Sum bound: declare it an integer symbol "
                                "(sp.Symbol('%s', integer=True, positive=True))" % (D, D))


def _label(s):
    return s.label if isinstance(s, sp.IndexedBase) else s


def _is_dimension(symbol, lowering):
    return any(symbol in sp.sympify(hi).free_symbols for _, hi in lowering.graph.ranges.values())


class IndexGradFunction:
    """The compiled loss and gradients of an index-notation loss; ``.source`` is the code."""

    def __init__(self, program, source, namespace, expr=None):
        self.source, self.program, self.expr = source, program, expr
        self.wrt, self.inputs = list(program.wrt), list(program.inputs)
        self.args = self.inputs[len(self.wrt):]
        self.raw, self.raw_value = namespace["value_and_grad"], namespace["value"]
        self.per_sample = False
        self.backend = "numpy"
        self._plan = None
        self._ranks = [_rank(program.graph, s) for s in self.inputs]

    @cached_property
    def symbolic_grads(self) -> list:
        """The gradients as written, aligned with ``wrt``: ``grad(expr, w)`` for each parameter,
        expressions in free indices of symgrad's choosing (derived on first use)."""
        return [g for _, g in self.grad_targets]

    @cached_property
    def grad_targets(self) -> list:
        """[(w[j], d loss / d w[j])]: each gradient with the entry it is the derivative by."""
        from ..derive.index_reverse import index_grad
        return index_grad(self.expr, list(self.wrt), targets=True)

    def __repr__(self):
        return "<value_and_grad (index notation) of %s>" % ", ".join(map(str, self.wrt))

    def _repr_markdown_(self):
        return source_markdown("value_and_grad (index notation)", self.expr, self.wrt, self.source)

    def __call__(self, *values):
        arrays, _ = self.prepare(values)
        value, grads = self.raw(*arrays)
        return float(value), tuple(np.asarray(g)[()] if np.ndim(g) == 0 else g for g in grads)

    def value(self, *values):
        return float(self.raw_value(*self.prepare(values)[0]))

    def prepare(self, values):
        """Validate and convert call arguments; return (arrays, dtype), as GradFunction does."""
        if len(values) != len(self.inputs):
            raise ArgumentError("expected %d arguments (%s), got %d"
                                % (len(self.inputs), ", ".join(map(str, self.inputs)), len(values)))
        arrays = []
        for v, s, rank in zip(values, self.inputs, self._ranks):
            if s.is_integer:                       # a size passed as an argument
                arrays.append(_size_value(v, s))
                continue
            a = np.asarray(v, dtype=float)
            if rank is not None and a.ndim != rank:
                raise ShapeMismatch("%s is read with %d ind%s but got an array of shape %s"
                                    % (s, rank, "ex" if rank == 1 else "ices", a.shape))
            arrays.append(a)
        self._check_ranges(arrays)
        return arrays, np.dtype(float)

    def _check_ranges(self, arrays):
        """Sizes from the shapes, then every read's reach against its axis: a plan of plain
        integer arithmetic made once (SymPy per call cost more than the MLP's gradient)."""
        if self._plan is None:
            self._plan = _range_plan(self.program)
        dims, reads = self._plan
        shapes = [np.shape(a) for a in arrays]
        sizes = {s: a for s, a in zip(self.inputs, arrays) if s.is_integer}
        for D, position, axis, offset in dims:
            sizes[D] = shapes[position][axis] - _linear(offset, sizes)
            if sizes[D] < 1:
                raise ShapeMismatch("%s = %d from axis %d of %s (shape %s): every range needs at "
                                    "least one entry" % (D, sizes[D], axis, self.inputs[position],
                                                         shapes[position]))
        for position, axis, tops, exact in reads:
            node, need = max(((n, _linear(top, sizes) + 1) for n, top in tops), key=lambda r: r[1])
            have = shapes[position][axis]
            if need > have or (exact and need != have):
                self._range_error(node, position, axis, need, exact, shapes, sizes)

    def _range_error(self, node, position, axis, need, exact, shapes, sizes):
        base, pattern = node.extra
        shape = shapes[position]
        where = ", ".join("%s=%d (%s)" % (D, v, "from axis %d of %s" % self.program.dims[D][1::-1]
                                          if D in self.program.dims else "passed in args")
                          for D, v in sorted(sizes.items(), key=str))
        if exact and need != shape[axis]:
            raise ShapeMismatch("%s is read from position 0 to %d along axis %d (furthest at "
                                "%s[%s]), so that axis needs %d entries, but %s has shape %s; %s" % (
                                    base, need - 1, axis, base, ", ".join(map(str, pattern)),
                                    need, base, shape, where))
        raise ShapeMismatch("%s[%s] reaches position %d along axis %d, but %s has shape %s; %s"
                            % (base, ", ".join(map(str, pattern)), need - 1, axis, base, shape,
                               where))


def _size_value(v, s):
    """A size given as an argument: a whole number of at least 1."""
    if np.ndim(v) != 0 or not float(v).is_integer() or float(v) < 1:
        raise ArgumentError("%s is a size (a Sum bound): pass a whole number of at least 1, "
                            "got %r" % (s, v))
    return int(float(v))


def _range_plan(p):
    """(dims, reads) of ``_check_ranges``: each size as (symbol, input position, axis, offset)
    and each read axis as (input position, axis, [(read, last position reached)], exact), the
    offsets and positions as linear forms in the sizes. An axis is exact (its length must
    be the furthest reach + 1) when some read of it is a plain index from 0."""
    position = {b: k for k, b in enumerate(p.inputs) if not b.is_integer}
    dims = [(D, position[b], axis, _linear_form(off)) for D, (b, axis, off) in p.dims.items()]
    axes = {}
    for n in p.graph.nodes:
        if n.op is not Access or not n.extra[1] or n.extra[0] not in position:
            continue
        for axis, e in enumerate(n.extra[1]):
            top = node_reach(p.graph, n, axis)[1]
            exact = isinstance(e, sp.Symbol) and p.graph.ranges[e][0] == 0
            key = (position[n.extra[0]], axis)
            tops, was = axes.get(key, ([], False))
            axes[key] = (tops + [(n, _linear_form(top))], was or exact)
    return dims, [(k[0], k[1], tops, exact) for k, (tops, exact) in axes.items()]


def _linear_form(e):
    """A SymPy expression in sizes as ({size: int coefficient}, int constant), or the
    expression itself when it is not linear (n*d as a bound)."""
    e = sp.expand(sp.sympify(e))
    coeffs = {s: e.coeff(s) for s in e.free_symbols}
    const = sp.sympify(e.xreplace({s: sp.Integer(0) for s in e.free_symbols}))
    if all(c.is_Integer for c in coeffs.values()) and const.is_Integer and \
            sp.expand(e - const - sum(c * s for s, c in coeffs.items())) == 0:
        return {s: int(c) for s, c in coeffs.items()}, int(const)
    return e


def _linear(form, sizes):
    if isinstance(form, tuple):
        coeffs, const = form
        return const + sum(c * sizes[s] for s, c in coeffs.items())
    return int(form.xreplace({D: sp.Integer(v) for D, v in sizes.items()}))


def _rank(graph, s):
    """The number of indices ``s`` is read with; for an IndexedBase the loss never reads,
    the length of its declared shape, or None (any array: its gradient is zeros of its shape)."""
    for n in graph.nodes:
        if n.op is Access and n.extra[0] == s:
            return len(n.extra[1])
    if isinstance(s, sp.Symbol):
        return 0
    return len(s.shape) if s.shape is not None else None
