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
from ..derive.jacobian import forward_jacobian, length
from ..derive.reverse import backward, check_wrt
from ..errors import ArgumentError, ShapeMismatch, UnsupportedExpression, plain_text
from ..graph.lower import Lowering, as_expression, measure
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


def build_program(expr, wrt, args=(), *, stable: bool = True, hessian: bool = False) -> Program:
    """Derive and rewrite: the Program of a scalar loss and its gradients (no compilation).

    ``hessian=True`` also derives the blocks of second derivatives, d2 L / dw_i dw_j, as the
    Jacobian of each gradient (forward accumulation on the same graph, so they share its
    nodes); a block below the diagonal is the transpose of the one above it.
    """
    wrt, args = check_args(wrt, args)
    if hessian:
        _second_order_parameters(wrt)
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
    blocks = _hessian_blocks(lowered, grads, wrt) if hessian else []
    if out.shape == (1, 1):
        out = graph.apply(sp.Trace, out, shape=())
    flat = [h for row in blocks for h in row]
    out, *rest = rewrite.cleanup(graph, [out] + grads + flat, stable=stable)
    grads, flat = rest[:len(grads)], rest[len(grads):]
    program = lowered.program(out, grads, wrt)
    if hessian:
        k = len(wrt)
        program.hessian = [flat[i * k:(i + 1) * k] for i in range(k)]
    return program


def _second_order_parameters(wrt):
    """Refuse a parameter the closed-form Hessian cannot take, saying what works."""
    for w in wrt:
        if isinstance(w, sp.MatrixSymbol) and length(tuple(w.shape)) is None:
            raise UnsupportedExpression(
                "value_grad_hessian needs scalar Symbols or vector MatrixSymbols ((d, 1) or "
                "(1, d)); %s has shape %s. Pass its rows or columns as separate vector "
                "parameters, or use hessian(L, %s) with numeric dimensions (entrywise) or "
                "direction=V (a Hessian-vector product)" % (w, w.shape, w))


def _hessian_blocks(lowered, grads, wrt):
    """[[d2 L / dw_i dw_j]]: block (i, j) is the Jacobian of gradient i with respect to w_j,
    shaped (entries of w_i, entries of w_j); a vector gradient is read as a column."""
    lowering, graph, leaves = lowered.lowering, lowered.graph, lowered.leaves
    columns = [lowering.transpose(g) if g.shape != () and g.shape[0] == 1 and g.shape[1] != 1
               else g for g in grads]
    blocks = [[None] * len(wrt) for _ in wrt]
    for i, g in enumerate(columns):
        for j, w in enumerate(wrt):
            if j < i:
                above = blocks[j][i]
                blocks[i][j] = above if above.shape == () else lowering.transpose(above)
                continue
            shape = (length(_shape(wrt[i])), length(_shape(w)))
            block = forward_jacobian(lowering, g, leaves[w])
            blocks[i][j] = block if block.shape in ((), shape) else graph.to_shape(block, shape)
    return blocks


def _shape(w):
    return tuple(w.shape) if isinstance(w, sp.MatrixSymbol) else ()


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
        _same_shapes(expr, inputs)
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
                       dims=self.dims, title=_title(self.expr), user=dict(self.lowering.user))


TITLE_NODES = 3000      # a longer expression is summarized in the module's docstring


def _title(expr):
    """The expression as the generated module's docstring shows it: in full when it is short
    (printing a long one takes SymPy seconds, and nobody reads it), else its size."""
    size = measure(expr)
    if size.written <= TITLE_NODES:
        return plain_text(expr)
    return "(an expression of %d operations, %d of them distinct: too long to show)" % (
        size.written, size.distinct)


def _same_shapes(expr, inputs):
    """Each MatrixSymbol of the expression has the shape of the input of its name (after
    ``loss.subs(n, 8)``, X in the loss is 8 x d while the X passed in is still n x d)."""
    given = {s.name: s for s in inputs if isinstance(s, sp.MatrixSymbol)}
    for m in sorted(expr.atoms(sp.MatrixSymbol), key=str):
        other = given.get(m.name)
        if other is not None and tuple(other.shape) != tuple(m.shape):
            raise ShapeMismatch(
                "%s is %s x %s in the expression but %s x %s in wrt/args; pass the MatrixSymbol "
                "the expression uses (after subs, substitute in the inputs too)"
                % (m.name, *m.shape, *other.shape))


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


def source_markdown(kind: str, expr, wrt, source: str) -> str:
    """Markdown for a notebook: what was compiled (``kind`` of ``expr`` with respect to ``wrt``)
    and the generated source in a Python code block.

    >>> print(source_markdown("value_and_grad", sp.Symbol("w")**2, [sp.Symbol("w")], "x = 1\\n"))
    **value_and_grad** of `w**2` with respect to `w`
    <BLANKLINE>
    ```python
    x = 1
    ```
    """
    fence = "````" if "```" in source else "```"
    return "**%s** of `%s` with respect to %s\n\n%spython\n%s\n%s" % (
        kind, sp.sstr(expr), ", ".join("`%s`" % w for w in wrt), fence, source.rstrip("\n"), fence)
