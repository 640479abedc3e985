"""Generated statements that reuse memory: elementwise chains written in place.

``t1 = X @ W1 + b1`` allocates the product and then a second array for the sum;
written as ``t1 = X @ W1`` and ``t1 += b1`` it allocates one. A gradient's
elementwise tail (``g = _sech2(t1)*((g0 @ W2.T)*t0)``) saves two or three arrays
of the layer's size this way, and each array saved is memory the allocator does
not hand back to the kernel and fault in again on the next call (hundreds of page
faults per call in a process that has loaded SymPy; see benchmarks/bench_mlp.py).

The arithmetic is the same: each in-place line is the same ufunc on the same
operands in the same order and grouping (``t *= b`` for ``t*b``,
``np.multiply(a, t, out=t)`` for ``a*t``: complex products are not commutative to the
last bit; ``a - c*x`` is ``a + (-c)*x`` exactly), so the numbers do not change by a
bit. Only arrays the function itself made are written:

* an inline intermediate that is a new array (a matrix product, an arithmetic
  operator, a NumPy ufunc, ``_sech2``) of the statement's own shape;
* a named temporary of that kind at its last use, read once by the statement,
  and not viewed by anything else (no named transpose or slice of it lives on).

Arguments, outputs, branch-guarded statements, per-sample functions and complex
constants are never written in place, and neither are shapes with a literal 1
(vectors, whose NumPy value may be a scalar). NumPy, and torch's gradient functions, which
run under ``torch.no_grad()`` (they compute gradients by formula; torch's ``value`` stays
differentiable by autograd and is not written in place). JAX arrays are immutable.
"""

import numpy as np
import sympy as sp
from scipy import special

from ..graph.ir import Const, Leaf, SumTo
from ..ops import ELEMENTWISE, lookup

__all__ = ["InPlace"]

OUT_HELPERS = {"_sech2"}          # helpers that return a new array and take ``out=``
FRESH_HELPERS = OUT_HELPERS | {"_softplus", "_logsumexp", "_logsumexp_rows", "_log_softmax_rows",
                               "_softmax_rows"}      # helpers that return a new array


def _ufunc(name):
    """The NumPy or SciPy ufunc printed as ``name`` (np.exp, special.expit), else None."""
    if not isinstance(name, str):
        return None
    module, _, attr = name.partition(".")
    obj = {"np": np, "special": special}.get(module)
    obj = getattr(obj, attr, None) if obj is not None and "." not in attr else None
    return obj if isinstance(obj, np.ufunc) and obj.nin == 1 and obj.nout == 1 else None


def _unary(op):
    """The in-place-capable function name of a one-argument elementwise op, else None."""
    entry = lookup(op)
    if entry is None or entry.kind != ELEMENTWISE:
        return None
    if entry.numpy in OUT_HELPERS or _ufunc(entry.numpy) is not None:
        return entry.numpy
    return None


def _full(shape):
    """A 2-D shape with no literal 1: its value is always an array of that shape."""
    return len(shape) == 2 and all(not (sp.sympify(d).is_Integer and int(d) == 1) for d in shape)


class InPlace:
    """In-place statements for one generated function (``_Function``), or none."""

    def __init__(self, fn, last_use):
        self.fn, self.last_use = fn, last_use
        self.enabled = (fn.in_place and fn.api.name in ("numpy", "torch") and not fn.p.per_sample and
                        all(n.value.is_real is not False for n in fn.nodes if n.op is Const))
        self.outputs = {o.id for o in fn.outputs}
        self.users = {}
        for n in fn.nodes:
            for a in n.args:
                self.users.setdefault(a.id, []).append(n)
        self.k, self.reads = None, []

    # --- which arrays a statement may overwrite ------------------------------------

    def fresh(self, x):
        """x's value is a new array of its full shape, made by this function."""
        return _full(x.shape) and _new_array(x)

    def owned(self, x):
        """x's array may be overwritten by the statement being written (``self.k``)."""
        if not self.fresh(x):
            return False
        if x.id in self.fn.inline:
            return True
        return (x.id in self.fn.names and x.id not in self.outputs and not self.fn.ctx.get(x.id)
                and self.last_use.get(x.id) == self.k and self.reads.count(x.id) == 1
                and all(self._transient(u) for u in self.users.get(x.id, ())))

    def _transient(self, u):
        """A user that keeps no view of its argument past its own statement."""
        if u.op is sp.Transpose:
            return u.id in self.fn.inline and all(self._transient(v) for v in self.users.get(u.id, ()))
        return u.shape == () or _new_array(u)

    def _reads(self, n):
        """The named temporaries a statement reads, once per reading."""
        out = []
        for a in n.args:
            if a.id in self.fn.inline:
                out += self._reads(a)
            elif a.op not in (Leaf, Const):
                out.append(a.id)
        return out

    def saved(self, x):
        """Arrays saved by computing x into a reused buffer (0: x is a named temporary)."""
        if x.id not in self.fn.inline:
            return 0
        inner = [self.saved(a) for a in x.args if self._chainable(x) and self.owned(a) and a.shape == x.shape]
        return 1 + max(inner or [0])

    def wrap(self, code):
        """torch's gradient functions run under no_grad (no tape; in-place writes allowed)."""
        if self.fn.api.name != "torch" or not self.enabled:
            return code
        return ["with torch.no_grad():  # gradients by formula, no autograd tape"] + \
            ["    " + line for line in code]

    # --- the statement ---------------------------------------------------------------

    def statement(self, n, name, k):
        """Lines computing node ``n`` into the variable ``name`` (statement ``k``), or None
        when nothing is written in place."""
        if not self.enabled or self.fn.ctx.get(n.id) or not self.fresh(n) or not self._chainable(n):
            return None
        self.k, self.reads = k, self._reads(n)
        lines = self._into(n, name, top=True)
        return lines if len(lines) > 1 or "out=" in lines[0] else None

    def _into(self, n, target, top=False):
        """Lines that leave n's value in ``target``."""
        fn = self.fn
        if not top and n.id not in fn.inline:             # a named temporary at its last use
            return ["%s = %s" % (target, fn.names[n.id])]
        if self._chainable(n) and len(n.args) == 1:
            (x,) = n.args
            if self.owned(x) and x.shape == n.shape:
                f = self._call(n.op)
                if x.id not in fn.inline:
                    return ["%s = %s(%s, out=%s)" % (target, f, fn.names[x.id], fn.names[x.id])]
                return self._into(x, target) + ["%s(%s, out=%s)" % (f, target, target)]
        elif self._chainable(n):
            plan = self._binary(n)
            if plan is not None:
                buffer, line = plan
                return self._into(buffer, target) + [line.replace("@T@", target)]
        return ["%s = %s" % (target, fn.text(n)[0])]

    def _binary(self, n):
        """(operand whose buffer holds the result, the in-place line with @T@ for the target)."""
        fn = self.fn
        a, b = n.args
        options = [x for x in (a, b) if self.owned(x) and x.shape == n.shape]
        if n.op is sp.Mul:
            if a.op is Const and a.value == -1:
                negative = fn.api.call("np.negative")
                return (b, "%s(@T@, out=@T@)" % negative) if b in options else None
            for num, den in ((a, b), (b, a)):
                if den.id in fn.inline and den.op is sp.Pow and den.args[1].op is Const \
                        and den.args[1].value.is_Integer and den.args[1].value < 0:
                    if num not in options:      # only the numerator's buffer rounds as num/den
                        return None
                    k = -den.args[1].value
                    base = self._operand(den.args[0])
                    return num, "@T@ /= %s" % (base if k == 1 else "%s**%d" % (_paren(base), k))
        if not options:
            return None
        first, second = a, b                            # in the order the product prints
        if n.op is sp.Mul and b.op is sp.MatMul and a.op is not sp.MatMul and b.id in fn.inline:
            first, second = b, a
        buffer = max([x for x in (first, second) if x in options], key=self.saved)  # ties: first
        if buffer is first:
            negated = fn._negated(b) if n.op is sp.Add else None
            if negated is not None:
                return a, "@T@ -= %s" % negated[0]
            return first, "@T@ %s= %s" % ("+" if n.op is sp.Add else "*", self._operand(second))
        # the right operand's buffer: the left stays left (complex a*b and b*a can differ in
        # the last bit), and a + (-c*x) is a - c*x exactly
        ufunc = fn.api.call("np.add" if n.op is sp.Add else "np.multiply")
        return second, "%s(%s, @T@, out=@T@)" % (ufunc, self._operand(first))

    def _name(self, op):
        """The printed name of a unary op's function that takes ``out=``, else None."""
        name = _unary(op)
        if name is None or self.fn.api.name == "numpy" or name in OUT_HELPERS:
            return name
        translated = self.fn.api.call(name)
        return translated if translated.startswith("torch.") else None

    def _call(self, op):
        """_name, and a helper it names is carried by the module."""
        name = self._name(op)
        if name in OUT_HELPERS:
            self.fn.helpers.add(name)
        return name

    def _chainable(self, x):
        """A binary sum or product, or a one-argument function with ``out=``: writable into an
        operand's buffer."""
        return x.op in (sp.Add, sp.Mul) and len(x.args) == 2 or \
            len(x.args) == 1 and self._name(x.op) is not None

    def _operand(self, x):
        """Text of the operand an in-place line reads: a unary function of a named temporary
        at its last use writes into that temporary."""
        fn = self.fn
        if x.id in fn.inline and len(x.args) == 1 and self._chainable(x):
            (y,) = x.args
            if y.id not in fn.inline and self.owned(y) and y.shape == x.shape:
                return "%s(%s, out=%s)" % (self._call(x.op), fn.names[y.id], fn.names[y.id])
        return fn.ref(x)[0]


def _new_array(x):
    """x's NumPy value is always an array the function allocated (never a view or an argument)."""
    if x.op in (sp.MatMul, sp.Add, sp.Mul, sp.Pow, SumTo):
        return True
    entry = lookup(x.op)
    return entry is not None and (entry.numpy in FRESH_HELPERS or
                                  len(x.args) == 1 and _unary(x.op) is not None)


def _paren(text):
    return text if text.isidentifier() else "(%s)" % text
