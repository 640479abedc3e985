"""``value_and_grad``, the public face of the pipeline, and the callables it returns.

A :class:`GradFunction` carries what the pipeline derived for one loss, so its
consumers (``check_grad``, ``fit``, the command line) take it instead of
deriving again: ``.source`` (the generated module), ``.program`` (the graph
codegen printed), ``.symbolic_grads`` (the gradients as written, what ``grad``
returns), ``.stable_form`` (the loss and gradients the code computes) and
``.as_written`` (the loss compiled without stable rewrites). The last three are
made on first use, once. ``value_grad_hessian`` adds the Hessian over every
parameter entry to the same generated module (a :class:`HessianFunction`, whose
``.gradient`` is the GradFunction of that module). ``compile_expression``
compiles an expression alone, of any shape, with no derivative (a model's predictions).
"""

from functools import cached_property

import numpy as np
import sympy as sp

from ..codegen.emit import Program
from ..codegen.module import generate
from ..derive.reverse import grad
from ..errors import ArgumentError, UnsupportedExpression
from ..graph.lower import as_expression
from ..graph.raising import Raising
from .arguments import Signature, finish
from .blas import few_blas_threads
from ..codegen.backends import backend as _backend
from .backend_arrays import from_backend, require, to_backend
from .build import build_forward, build_program, check_args, compile_source, source_markdown

__all__ = ["value_and_grad", "GradFunction", "value_grad_hessian", "HessianFunction",
           "compile_expression", "CompiledExpression", "reuse", "build_program", "check_args",
           "compile_source"]

Symbols = sp.Symbol | sp.MatrixSymbol | list | tuple


def value_and_grad(expr: sp.Expr, wrt: Symbols, args: Symbols = (), *,
                   stable: bool = True, backend: str = "numpy") -> "GradFunction":
    """Compile the loss and its gradients into one generated NumPy function.

    ``f = value_and_grad(expr, wrt=[...], args=[...])`` returns a callable:
    ``value, grads = f(*wrt_values, *arg_values)``, with ``grads`` a tuple
    aligned with ``wrt``, each shaped like its parameter. When every symbol is a
    plain Symbol, array arguments are samples along the first axis and the value
    and gradients are means over them. With MatrixSymbols the expression is
    evaluated as written and symbolic dimensions are read from the arrays.
    ``f.source`` is the generated module; ``stable=False`` skips the rewrites
    that keep the code finite at extreme inputs. Pass ``f`` itself to
    ``check_grad`` and ``fit``: they reuse what it derived.

    >>> import sympy as sp
    >>> w, b, x, y = sp.symbols("w b x y")
    >>> f = value_and_grad((w*x + b - y)**2, wrt=[w, b], args=[x, y])
    >>> value, (dw, db) = f(0.0, 0.0, [1, 2, 3, 4], [2, 4, 6, 8])
    >>> float(value), float(dw), float(db)
    (30.0, -30.0, -10.0)
    >>> f.symbolic_grads
    [2*x*(b + w*x - y), 2*b + 2*w*x - 2*y]
    """
    expr = as_expression(expr)
    if _indexed(expr, wrt, args):
        from .index_function import index_value_and_grad    # the index-notation route
        return index_value_and_grad(expr, wrt, args, backend=backend)
    return GradFunction(expr, build_program(expr, wrt, args, stable=stable), stable=stable,
                        backend=backend)


def compile_expression(expr: sp.Expr, args: Symbols, *, stable: bool = True,
                       as_loss: bool = False) -> "CompiledExpression":
    """Compile ``expr`` alone (any shape, no derivative) into a generated NumPy function.

    ``g = compile_expression(expr, args)``; ``g(*arg_values)`` is its value. With
    only plain Symbols, array arguments are samples along the first axis and the
    result has one value per sample; with MatrixSymbols the expression is
    evaluated as written, so a matrix expression gives a 2-D array. ``as_loss=True``
    gives what ``value_and_grad``'s ``value`` would: the mean over the samples, and
    a 1 x 1 result as a scalar. The code is symgrad's, with the stable rewrites unless
    ``stable=False``; ``g.source`` is the generated module.

    >>> import sympy as sp
    >>> w, x = sp.symbols("w x")
    >>> g = compile_expression(sp.log(1 + sp.exp(w*x)), [w, x])
    >>> g(1.0, [0.0, 1000.0]).round(6).tolist()
    [0.693147, 1000.0]
    """
    expr = as_expression(expr)
    return CompiledExpression(expr, build_forward(expr, args, stable=stable, as_loss=as_loss))


def value_grad_hessian(expr: sp.Expr, wrt: Symbols, args: Symbols = (), *,
                       stable: bool = True, backend: str = "numpy") -> "HessianFunction":
    """Compile the loss, its gradients and its Hessian into one generated NumPy function.

    ``f2 = value_grad_hessian(expr, wrt=[...], args=[...])`` returns a callable:
    ``value, grads, H = f2(*wrt_values, *arg_values)``. ``value`` and ``grads`` are
    what ``value_and_grad`` returns; ``H`` is the 2-D Hessian over every entry of
    every parameter, parameters in ``wrt`` order and each vector's entries in order
    (row-major vec order), so a (d, 1) ``w`` and a scalar ``b`` give a (d + 1) x (d + 1)
    H. Parameters are scalar Symbols (per-sample mode: H is the mean over the samples)
    or vector MatrixSymbols of shape (d, 1) or (1, d), d symbolic or not; the blocks are
    closed forms sharing their work with the gradient, with the same stable rewrites.
    ``backend="jax"`` or ``"torch"`` prints the same program for that library (its arrays out).

    >>> import sympy as sp
    >>> w, b, x, y = sp.symbols("w b x y")
    >>> f2 = value_grad_hessian((w*x + b - y)**2, wrt=[w, b], args=[x, y])
    >>> value, grads, H = f2(0.0, 0.0, [1, 2, 3, 4], [2, 4, 6, 8])
    >>> H.tolist()
    [[15.0, 5.0], [5.0, 2.0]]
    """
    expr = as_expression(expr)
    if _indexed(expr, wrt, args):
        raise UnsupportedExpression("value_grad_hessian does not take index notation (Sum over "
                                    "Indexed terms) yet; write the loss with MatrixSymbols, a "
                                    "(d, 1) MatrixSymbol for a vector parameter")
    if any(isinstance(w, sp.MatrixSymbol) and 1 not in w.shape for w in check_args(wrt, args)[0]):
        if _backend(backend).name != "numpy":
            raise UnsupportedExpression("value_grad_hessian of a matrix parameter (its Kronecker-form "
                                        "Hessian) is generated for NumPy only; use backend='numpy', "
                                        "or vector parameters with backend=%r" % backend)
        return HessianFunction.kronecker(expr, wrt, args, stable=stable)
    return HessianFunction(expr, build_program(expr, wrt, args, stable=stable, hessian=True),
                           stable=stable, backend=backend)


class CompiledExpression:
    """A compiled expression: call it with values for ``inputs``; ``.source`` is the code."""

    def __init__(self, expr: sp.Expr, program: Program):
        self.expr, self.program = expr, program
        self.inputs = list(program.inputs)
        self.source = generate(program)
        self.raw = compile_source(self.source)["value"]
        per_sample = not any(isinstance(s, sp.MatrixSymbol) for s in self.inputs)
        self._signature = Signature(self.inputs, per_sample)

    def __repr__(self):
        return "<compiled %s of %s>" % (sp.sstr(self.expr)[:60], ", ".join(map(str, self.inputs)))

    def __call__(self, *values, **named) -> np.ndarray | np.generic:
        values = self._signature.bind(values, named)
        arrays, dtype = self._signature.prepare(values)
        return finish(self.raw(*arrays), dtype, shape=None)


def _indexed(expr, wrt, args):
    from ..graph.index_ir import has_indices
    items = [*(wrt if isinstance(wrt, (list, tuple)) else [wrt]),
             *(args if isinstance(args, (list, tuple)) else [args])]
    return (not isinstance(expr, str) and has_indices(expr)) or \
        any(isinstance(w, (sp.Indexed, sp.IndexedBase)) for w in items)


class GradFunction:
    """The compiled loss and gradients, and what was derived to make them.

    ``value, grads = f(*values)``; ``f.value(*values)`` is the loss alone.
    ``f.raw`` and ``f.raw_value`` are the generated functions themselves, with
    no argument checks, for loops over arrays already passed through ``f.prepare``
    (``jax.jit`` of them with ``backend="jax"``); ``f.namespace`` is the compiled module (``value_grad_hessian`` too, when the
    program carries Hessian blocks).
    """

    def __init__(self, expr: sp.Expr, program: Program, *, stable: bool = True,
                 backend: str = "numpy"):
        self.expr, self.program, self.stable = expr, program, stable
        self.backend = _backend(backend).name
        if self.backend != "numpy":
            require(self.backend)
        self.source = generate(program, self.backend)
        namespace = self.namespace = compile_source(self.source)
        self.raw = namespace["value_and_grad"]
        self.raw_value = namespace["value"]
        if self.backend == "jax":                  # jit-compatible by construction: compiled once
            import jax
            self.raw, self.raw_value = jax.jit(self.raw), jax.jit(self.raw_value)
        self.wrt = list(program.wrt)
        self.inputs = list(program.inputs)
        self.args = [s for s in self.inputs if s not in set(self.wrt)]
        self.per_sample = program.per_sample
        self._signature = Signature(self.inputs, self.per_sample, params=self.wrt)

    @cached_property
    def symbolic_grads(self) -> list:
        """The gradients as written, aligned with ``wrt``: ``grad(expr, wrt)``, derived on first use."""
        return grad(self.expr, self.wrt)

    @cached_property
    def stable_form(self) -> tuple:
        """(loss, [gradients]) as SymPy, in the rewritten form the code computes: Sigmoid,
        Softplus, LogSumExp, log1p, ... where the expression as written would overflow."""
        raise_ = Raising(self.program.user)
        return raise_(self.program.loss), [raise_(g) for g in self.program.grads]

    @cached_property
    def as_written(self) -> CompiledExpression:
        """The loss compiled as written, without stable rewrites (arguments as for ``value``):
        analytic wherever the expression is, so a complex step through it is exact."""
        return CompiledExpression(self.expr, build_forward(self.expr, self.inputs, stable=False,
                                                           as_loss=True))

    def __repr__(self):
        return "<value_and_grad of %d parameter(s): %s>" % (len(self.wrt), ", ".join(map(str, self.wrt)))

    def _repr_markdown_(self) -> str:
        """The notebook display: the loss, the parameters and the generated source."""
        return source_markdown("value_and_grad", self.expr, self.wrt, self.source)

    def __call__(self, *values, **named) -> tuple:
        values = self._signature.bind(values, named)
        arrays, dtype = self.prepare(values)
        if self.backend != "numpy":
            return self.shaped(*self.raw(*to_backend(self.backend, arrays)), values)
        value, grads = self.raw(*arrays)
        # each gradient has the shape its parameter was given in (a 1-D vector stays 1-D)
        return finish(value, dtype), tuple(finish(g, dtype, np.shape(values[i]))
                                           for i, g in enumerate(grads))

    def shaped(self, value: object, grads: "tuple | list", values: tuple) -> tuple:
        """(value, grads) from a JAX or torch run, each gradient shaped like its parameter."""
        return from_backend(self.backend, value), tuple(
            from_backend(self.backend, g, np.shape(values[i])) for i, g in enumerate(grads))

    def value(self, *values) -> np.ndarray | np.generic:
        """The loss alone (a forward pass, no gradients)."""
        arrays, dtype = self.prepare(values)
        if self.backend != "numpy":
            return from_backend(self.backend, self.raw_value(*to_backend(self.backend, arrays)))
        return finish(self.raw_value(*arrays), dtype)

    def prepare(self, values: list | tuple) -> tuple:
        """Validate and convert call arguments; return (arrays, dtype)."""
        return self._signature.prepare(values)


class HessianFunction:
    """The compiled loss, gradients and Hessian: ``value, grads, H = f2(*values)``.

    ``f2.gradient`` is the GradFunction of the same generated module (pass it, or
    ``f2`` itself, to ``check_grad`` and ``fit``); ``f2.raw`` is the generated
    ``value_grad_hessian`` with no argument checks.
    """

    def __init__(self, expr: sp.Expr, program: Program, *, stable: bool = True,
                 backend: str = "numpy"):
        self.gradient = GradFunction(expr, program, stable=stable, backend=backend)
        self.backend = self.gradient.backend
        self.expr, self.program, self.source = expr, program, self.gradient.source
        self.raw = self.gradient.namespace["value_grad_hessian"]
        if self.backend == "jax":
            import jax
            self.raw = jax.jit(self.raw)
        self.wrt, self.args, self.inputs = self.gradient.wrt, self.gradient.args, self.gradient.inputs
        self.per_sample = self.gradient.per_sample

    @classmethod
    def kronecker(cls, expr: sp.Expr, wrt: Symbols, args: Symbols, *, stable: bool = True):
        """Matrix parameters: the gradient's module and the Kronecker-form Hessian as einsum
        calls over compiled operands (``kron_function.py``)."""
        from .kron_function import KroneckerHessian
        self = cls.__new__(cls)
        self.gradient, self.backend = value_and_grad(expr, wrt, args, stable=stable), "numpy"
        kron = KroneckerHessian(expr, self.gradient, stable)
        self.expr, self.program, self.raw = expr, self.gradient.program, kron.raw
        self.gradient.namespace["value_grad_hessian"] = kron.raw     # what fit's Newton calls
        self.source = "\n\n".join([self.gradient.source, kron.source] +
                                   ["# operand %d\n%s" % (k, c.source) for k, c in enumerate(kron.compiled)])
        self.wrt, self.args, self.inputs = self.gradient.wrt, self.gradient.args, self.gradient.inputs
        self.per_sample = self.gradient.per_sample
        return self

    def __repr__(self):
        return "<value_grad_hessian of %d parameter(s): %s>" % (len(self.wrt),
                                                                  ", ".join(map(str, self.wrt)))

    def _repr_markdown_(self) -> str:
        return source_markdown("value_grad_hessian", self.expr, self.wrt, self.source)

    def __call__(self, *values, **named) -> tuple:
        values = self.gradient._signature.bind(values, named)
        arrays, dtype = self.prepare(values)
        if self.backend != "numpy":
            value, grads, hessian = self.raw(*to_backend(self.backend, arrays))
            return (*self.gradient.shaped(value, grads, values),
                    from_backend(self.backend, hessian, hessian.shape))
        entries = sum(np.size(a) for a in arrays[:len(self.wrt)])
        rows = max([np.shape(a)[0] for a in arrays[len(self.wrt):] if np.ndim(a)] or [1])
        with few_blas_threads(entries * entries * rows):    # small products: one BLAS thread
            value, grads, hessian = self.raw(*arrays)
        return (finish(value, dtype),
                tuple(finish(g, dtype, np.shape(values[i])) for i, g in enumerate(grads)),
                finish(hessian, dtype, shape=None))

    def value(self, *values) -> np.ndarray | np.generic:
        """The loss alone (a forward pass)."""
        return self.gradient.value(*values)

    def prepare(self, values: list | tuple) -> tuple:
        """Validate and convert call arguments; return (arrays, dtype)."""
        return self.gradient.prepare(values)


def reuse(target, wrt=None, args=()):
    """(compiled, expr, wrt, args) for a consumer of the pipeline.

    From a GradFunction (or the ``.gradient`` of a function from ``value_grad_hessian``):
    itself and its own expression, wrt and args (``wrt`` and
    ``args``, when given, must be its own). From an expression: compiled is None and
    ``wrt`` and ``args`` are checked.
    """
    if isinstance(target, HessianFunction):
        target = target.gradient
    if not isinstance(target, GradFunction):
        if wrt is None:
            raise ArgumentError("wrt is missing: pass the parameters to differentiate with respect "
                                "to (wrt=[w, b]), or a GradFunction from value_and_grad")
        wrt, args = check_args(wrt, args)
        return None, as_expression(target), wrt, args
    f = target
    if wrt is not None and check_args(wrt, ())[0] != f.wrt:
        raise ArgumentError("wrt=%s differs from the parameters this GradFunction was compiled "
                            "for (%s); leave wrt out, or call value_and_grad again for other "
                            "parameters" % (wrt, f.wrt))
    if args not in (None, (), []) and check_args([], args)[1] != f.args:
        raise ArgumentError("args=%s differs from the data arguments this GradFunction was "
                            "compiled for (%s); leave args out, or call value_and_grad again"
                            % (args, f.args))
    return f, f.expr, f.wrt, f.args
