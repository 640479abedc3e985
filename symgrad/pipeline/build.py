"""Expression -> Program (derive and rewrite), and Program source -> a namespace (compile).

``build_program`` is the one place the pipeline derives: it lowers the loss,
rewrites it into its stable form, runs reverse mode once and cleans the loss
and gradients up together. ``build_forward`` lowers and rewrites an expression
of any shape with no derivative at all (predictions, the loss as written).
Both return a :class:`~symgrad.codegen.emit.Program` for codegen to print.

The source is compiled under a unique file name registered with ``linecache``,
so tracebacks and ``inspect`` show the generated lines.
"""

import hashlib
import linecache

import sympy as sp

from ..codegen.emit import Program, sanitize_names
from ..derive.reverse import backward, check_wrt
from ..errors import ArgumentError, ShapeMismatch
from ..graph.lower import Lowering, as_expression
from ..rewrite import stabilize as rewrite

__all__ = ["build_program", "build_forward", "check_args", "compile_source"]


def check_args(wrt, args):
    """``wrt`` and ``args`` as lists of Symbols/MatrixSymbols, no symbol in both."""
    wrt, _ = check_wrt(wrt, "wrt")
    args, _ = check_wrt(list(args) if isinstance(args, (list, tuple)) else [args], "args") \
        if args is not None else ([], False)
    clash = {str(s) for s in wrt} & {str(s) for s in args}
    if clash:
        raise ArgumentError("%s is listed in both wrt and args; list it in one of them"
                            % sorted(clash)[0])
    return wrt, args


def build_program(expr, wrt, args=(), *, stable: bool = True) -> Program:
    """Derive and rewrite: the Program of a scalar loss and its gradients (no compilation)."""
    wrt, args = check_args(wrt, args)
    lowered = _Lowered(as_expression(expr), wrt + args, "is in neither wrt nor args; add it to one of them")
    graph, out = lowered.graph, lowered.out
    if out.shape not in ((), (1, 1)):
        raise ShapeMismatch("the expression has shape (%s, %s), but value_and_grad needs a "
                            "scalar-valued loss: take a Trace, msum(...) or a 1 x 1 product" % out.shape)
    if stable:
        out = rewrite.stabilize(graph, out)
    leaves = lowered.leaves
    grads = backward(lowered.lowering, out, [leaves[w] for w in wrt])
    grads = [graph.to_shape(g, leaves[w].shape) for g, w in zip(grads, wrt)]
    if out.shape == (1, 1):
        out = graph.apply(sp.Trace, out, shape=())
    out, *grads = rewrite.cleanup(graph, [out] + grads, stable=stable)
    return lowered.program(out, grads, wrt)


def build_forward(expr, inputs, *, stable: bool = True, as_loss: bool = False) -> Program:
    """The Program of ``expr`` alone, of any shape: no derivative is taken.

    ``as_loss``: the value as value_and_grad's ``value`` computes it, the mean over
    the samples when every input is a plain Symbol, and a 1 x 1 result as a scalar.
    Otherwise the expression is evaluated as written, one value per sample.
    """
    _, inputs = check_args([], inputs)
    lowered = _Lowered(as_expression(expr), inputs, "is not among the inputs; add it to them")
    graph, out = lowered.graph, lowered.out
    if stable:
        out = rewrite.stabilize(graph, out)
    if as_loss and out.shape == (1, 1):
        out = graph.apply(sp.Trace, out, shape=())
    (out,) = rewrite.cleanup(graph, [out], stable=stable)
    program = lowered.program(out, [], [])
    program.per_sample = program.per_sample and as_loss
    return program


class _Lowered:
    """An expression lowered into a graph, with a leaf per input and the dimensions read
    from the inputs' shapes; refuses a free symbol that is not an input."""

    def __init__(self, expr, inputs, missing_text):
        self.expr, self.inputs = expr, inputs
        dims = {}
        for s in inputs:
            if isinstance(s, sp.MatrixSymbol):
                for axis, d in enumerate(s.shape):
                    if isinstance(d, sp.Symbol):
                        dims.setdefault(d, (s, axis))
        known = {str(s) for s in inputs} | {str(d) for d in dims}
        missing = sorted(str(s) for s in expr.free_symbols
                         if str(s) not in known and not _is_dimension(s, expr))
        if missing:
            raise ArgumentError("symbol %s occurs in the expression but %s" % (missing[0], missing_text))
        self.dims = dims
        self.per_sample = not any(isinstance(s, sp.MatrixSymbol) for s in inputs)
        self.lowering = Lowering()
        self.graph = self.lowering.graph
        self.out = self.lowering(expr)
        self.leaves = {s: self.lowering.leaf(s) for s in inputs}

    def program(self, loss, grads, wrt):
        names = sanitize_names(self.inputs + sorted(set(self.dims) - set(self.inputs), key=str))
        for s, leaf in self.leaves.items():
            names[leaf.extra] = names[s]
        return Program(graph=self.graph, inputs=self.inputs, leaves=self.leaves, loss=loss,
                       grads=grads, wrt=wrt, per_sample=self.per_sample, names=names,
                       dims=self.dims, title=sp.sstr(self.expr), user=dict(self.lowering.user))


def _is_dimension(s, expr):
    return any(s in sp.sympify(d).free_symbols for m in expr.atoms(sp.MatrixSymbol) for d in m.shape)


def compile_source(source: str) -> dict:
    """Execute generated source in a fresh namespace registered under a unique file name."""
    digest = hashlib.sha1(source.encode("utf-8")).hexdigest()[:12]
    filename = "<symgrad-generated-%s>" % digest
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": "symgrad_generated_%s" % digest}
    exec(compile(source, filename, "exec"), namespace)  # generated by codegen, never user text
    return namespace
