"""Graph -> readable, deterministic NumPy source.

``generate(program)`` writes one module with two functions: ``value`` (the loss)
and ``value_and_grad`` (the loss and every gradient, sharing their common
subexpressions). Each function is a ``def`` with named temporaries and a
``return``. A node used once is written inline into its user; a node used more
than once, or an output, gets a name: ``t<k>`` on the forward pass, ``g<k>`` on
the backward pass. Matrix products print as ``@``. Work that only one branch of
a Piecewise needs runs under ``np.errstate(all="ignore")``, so an unselected
branch cannot warn; its value is discarded by ``np.where``. A function that
computes exponentials runs under ``np.errstate(under="ignore")``: e^-1000 is 0,
the right answer, and must not raise where the caller set ``np.seterr(all="raise")``.
"""

import keyword
import re
import unicodedata
from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions.slice import MatrixSlice

from ..errors import ShapeMismatch, UnsupportedExpression
from ..graph.ir import Broadcast, Const, Fill, Leaf, SumTo, ancestors, branch_contexts
from ..ops import BUILTIN, entries, is_elementwise, lookup
from ..rewrite.linalg_nodes import LUFactor, LUInverse, LULogDet, LUSolve, Solve
from .inplace import InPlace
from .linalg_helpers import LINALG_HELPERS
from .printer import ATOM, Code, CodePrinter, precedence_of as _precedence

__all__ = ["Program", "sanitize_names", "LINALG_HELPERS"]

ADD, MATMUL, MUL, CALL = 40, 45, 50, 70
INLINE_LIMIT = 8          # inline a single-use node while its inlined tree has at most this many ops
CHEAP_LIMIT, CHEAP_USES = 3, 4   # recompute tiny sums/products of inputs rather than store them
# calls whose result may underflow to 0 (e^-1000): the registry's ``underflows`` fact
UNDERFLOWS = re.compile(r"(?<![\w.])(%s)\(" % "|".join(sorted(
    re.escape(op.numpy) for op in entries() if op.underflows and isinstance(op.numpy, str))))
DEL_AFTER = 12            # longer functions free temporaries after last use (glibc keeps the pages)
RESERVED = {"np", "special", "scipy", "loss", "value", "value_and_grad", "self"}
LINALG = (Solve, LUFactor, LUSolve, LULogDet, LUInverse)   # built by the speed passes (rewrite/linalg_nodes.py)


@dataclass
class Program:
    """What to generate: inputs in signature order, the loss node and gradient nodes."""

    graph: object
    inputs: list                  # user Symbols / MatrixSymbols, in signature order
    leaves: dict                  # user symbol -> leaf node (absent when unused)
    loss: object
    grads: list
    wrt: list                     # the parameters, aligned with grads
    per_sample: bool
    names: dict                   # user symbol, leaf symbol and dimension -> identifier
    dims: dict = field(default_factory=dict)   # dimension symbol -> (matrix symbol, axis)
    title: str = ""
    user: dict = field(default_factory=dict)   # real stand-in -> user symbol (for raising)
    hessian: list = None          # blocks [[node]] of second derivatives (value_grad_hessian)


def sanitize_names(symbols, taken=()):
    """Valid, unique Python identifiers for symbols ('lambda' -> 'lambda_', 'x[0]' -> 'x_0').

    Names are NFKC-normalized first, as Python's parser does with identifiers, so a
    fullwidth 'ｌｏｓｓ' cannot collide with the generated ``loss`` nor 'ｎｐ' shadow NumPy;
    characters no identifier may hold (w₁ -> w1 after normalization, a backslash, a
    space) become underscores.
    """
    used, out = set(RESERVED) | set(taken), {}
    for s in symbols:
        text = unicodedata.normalize("NFKC", str(s))
        base = "".join(c if ("a" + c).isidentifier() else "_" for c in text).strip("_") or "x"
        base = unicodedata.normalize("NFKC", base)
        if not base.isidentifier():
            base = "x_" + base
        if keyword.iskeyword(base) or re.fullmatch(r"[tg]\d+", base) or base in used \
                or base.startswith("grad_"):
            base += "_"
        name, k = base, 1
        while name in used:
            name, k = "%s%d" % (base, k), k + 1
        used.add(name)
        out[s] = name
    return out


class _Function:
    """Emit one generated function for the given output nodes."""

    def __init__(self, program, outputs, forward, backend=None, in_place=True):
        self.p, self.names, self.outputs = program, dict(program.names), outputs
        self.in_place = in_place
        self.forward = forward
        self.printer = CodePrinter(backend)
        self.api = self.printer.backend
        self.helpers = set()
        nodes = ancestors(outputs)
        self.uses, self.user = {}, {}
        for n in nodes:
            for a in n.args:
                self.uses[a.id] = self.uses.get(a.id, 0) + 1
                self.user[a.id] = n
        for o in outputs:
            self.uses[o.id] = self.uses.get(o.id, 0) + 2
        has_branches = any(n.op is sp.Piecewise for n in nodes)
        self.ctx = branch_contexts(program.graph, outputs) if has_branches else {}
        self.nodes, self.inline, self.size = nodes, set(), {}
        for n in nodes:
            self._decide(n)

    def _decide(self, n):
        if n.op in (Leaf, Const):
            return
        size = 1 + sum(self.size.get(a.id, 0) for a in n.args if a.id in self.inline)
        self.size[n.id] = size
        if self._cheap(n, size) and n not in self.outputs:
            self.inline.add(n.id)
        elif self.uses.get(n.id, 0) == 1 and size <= INLINE_LIMIT and n.op is not Fill:
            if self.ctx.get(n.id, frozenset()) == self.ctx.get(self.user[n.id].id, frozenset()):
                self.inline.add(n.id)

    def _cheap(self, n, size):
        """Recomputing a little arithmetic on inputs beats storing it (an allocation); not a
        matrix's (X - mu used four times is four passes over X)."""
        return (n.op in (sp.Add, sp.Mul) and size <= CHEAP_LIMIT
                and (self.p.per_sample or n.shape == () or self.uses.get(n.id, 0) <= 1)
                and self.uses.get(n.id, 0) <= CHEAP_USES
                and all(a.op in (Leaf, Const) or a.id in self.inline and a.op in (sp.Add, sp.Mul)
                        for a in n.args))

    def _refs(self, n):
        """The named nodes a statement for ``n`` reads (through inlined arguments)."""
        out = set()
        for a in n.args:
            if a.id in self.inline:
                out |= self._refs(a)
            elif a.op not in (Leaf, Const):
                out.add(a.id)
        return out

    # --- text of one node ---------------------------------------------------------

    def ref(self, n):
        """(text, precedence) of a node used as an argument."""
        if n.op is Leaf:
            return self.names[n.extra], ATOM
        if n.op is Const:
            return self._constant(n.value)
        if n.id in self.inline:
            return self.text(n)
        return self.names[n.id], ATOM

    def view(self, n):
        """A SymPy placeholder for an argument: its number, or its printed text as Code."""
        if n.op is Const:
            text = self._constant(n.value)
            return Code(*text) if text[0].startswith("float(") else n.value
        return Code(*self.ref(n))

    def _like(self):
        """An argument whose dtype the generated arrays take: a matrix's (always an array)."""
        matrices = [s for s in self.p.inputs if isinstance(s, sp.MatrixSymbol)]
        return self.names[(matrices or self.p.inputs)[0]]

    def _constant(self, value):
        """A number NumPy computes (np.sqrt(2), 4/np.sqrt(np.pi)) is a strong np.float64 that
        would make float32 arrays float64 (NumPy 2): it is printed as float(...)."""
        text = self.printer.doprint(value)
        if self.api.name == "numpy" and "(" in text and value.is_real:
            return "float(%s)" % text, CALL
        return text, _const_precedence(value)

    def text(self, n):
        """(text, precedence) of one node. Sums and products print in the graph's own
        order and grouping, so the code rounds exactly as the rewrites arranged."""
        op = n.op
        if op is sp.Add:
            return self._sum(n)
        if op is sp.Mul:
            return self._product(n)
        if is_elementwise(op):
            args = [self.view(a) for a in n.args]
            if op is sp.Piecewise:
                expr = sp.Piecewise(*zip(args[0::2], args[1::2]), evaluate=False)
            else:
                expr = op(*args)
            return self.printer.code(expr)
        if op is sp.MatMul and self.api.left_transposed and n.args[0].op is sp.Transpose \
                and n.args[0].id in self.inline:     # A.T @ B through the backend's helper
            self.helpers.add(self.api.left_transposed)
            return "%s(%s, %s)" % (self.api.left_transposed, self.ref(n.args[0].args[0])[0],
                                   self.ref(n.args[1])[0]), CALL
        entry = lookup(op)
        if entry is not None and entry.numpy not in (None, BUILTIN):
            return self.printer.op_code(entry, [self.view(a) for a in n.args])
        a = [self.ref(x) for x in n.args]
        if op is sp.Trace:
            return self._trace(n, a[0])
        if op is SumTo:
            return self._sum_to(n, a[0][0])
        if op is Broadcast:
            # torch's helper takes its dtype from an argument (all share one after prepare)
            return self.api.broadcast(a[0][0], self.shape(n.shape), self._like()), CALL
        if op is Fill:
            if self.api.name == "torch":      # torch.eye is float32 unless told
                return "torch.eye(%s, dtype=%s.dtype)" % (self.dim(n.shape[0]),
                                                          self.names[self.p.inputs[0]]), CALL
            return "np.eye(%s, dtype=%s.dtype)" % (self.dim(n.shape[0]), self._like()) \
                if self.api.name == "numpy" else "%s(%s)" % (self.api.call("np.eye"), self.dim(n.shape[0])), CALL
        if op in LINALG:
            return self._linalg(n, [x[0] for x in a])
        raise UnsupportedExpression("no NumPy printer for graph op %s" % getattr(op, "__name__", op))

    def _sum(self, n):
        a, b = n.args
        left = _wrap(self.ref(a), ADD)
        negated = self._negated(b)
        if negated is not None:
            return "%s - %s" % (left, _wrap(negated, ADD + 1)), ADD
        return "%s + %s" % (left, _wrap(self.ref(b), ADD + 1)), ADD

    def _negated(self, b):
        """(text, precedence) of -b when b prints naturally as a subtraction, else None."""
        if b.op is Const and b.value.is_negative:
            return self._constant(-b.value)
        if b.op is sp.Mul and b.id in self.inline and b.args[0].op is Const \
                and b.args[0].value.is_negative:
            c, x = -b.args[0].value, b.args[1]
            if c == 1:
                return self.ref(x)
            return "%s*%s" % (_wrap((self.printer.doprint(c), _const_precedence(c)), MUL),
                              _wrap(self.ref(x), MUL + 1)), MUL
        return None

    def _product(self, n):
        a, b = n.args
        if a.op is Const and a.value == -1:
            return "-%s" % _wrap(self.ref(b), MUL), MUL
        for num, den in ((a, b), (b, a)):
            if den.id in self.inline and den.op is sp.Pow and den.args[1].op is Const \
                    and den.args[1].value.is_Integer and den.args[1].value < 0:
                k = -den.args[1].value
                base = _wrap(self.ref(den.args[0]), CALL)
                below = base if k == 1 else "%s**%d" % (base, k)
                return "%s/%s" % (_wrap(self.ref(num), MUL), below), MUL
        if b.op is sp.MatMul and a.op is not sp.MatMul and b.id in self.inline:
            a, b = b, a      # the product first: its result's memory is reused, not faulted in
        return "%s*%s" % (_wrap(self.ref(a), MUL), _wrap(self.ref(b), MUL + 1)), MUL

    def _linalg(self, n, a):
        """A solve, an LU factorization, a solve with it, a log det from it."""
        if n.op is Solve:
            return "%s(%s, %s)" % (self.api.call("np.linalg.solve"), a[0], a[1]), CALL
        if n.op is LUFactor:
            return "scipy.linalg.lu_factor(%s)" % a[0], CALL
        if n.op is LUSolve:
            trans = ", trans=1" if n.extra == "T" else ""
            return "scipy.linalg.lu_solve(%s, %s%s)" % (a[0], a[1], trans), CALL
        helper = "_logdet_lu" if n.op is LULogDet else "_inverse_lu"
        self.helpers.add(helper)
        return "%s(%s)" % (helper, a[0]), CALL

    def _helper(self, name, arg):
        self.helpers.add(name)
        return "%s(%s)" % (name, arg), CALL

    def _trace(self, n, arg):
        x = n.args[0]
        if x.shape == (1, 1) and x.op is sp.MatMul and x.id in self.inline and self.api.name == "numpy":
            a, b = (_wrap(self.ref(y), CALL) for y in x.args)   # a dot product, not a matrix product
            return "np.dot(%s.ravel(), %s.ravel())" % (a, b), CALL
        if x.shape == (1, 1) and x.op is MatrixSlice and x.id in self.inline:
            m, r0, _, _, c0 = (self.ref(y) for y in x.args[:5])   # an entry M[i, j]
            return "%s[%s, %s]" % (_wrap(m, CALL), r0[0], c0[0]), ATOM
        if x.shape == (1, 1):
            return "%s[0, 0]" % _wrap(arg, CALL), ATOM
        if x.op is sp.MatMul and x.id in self.inline:
            a, b = x.args
            if b.op is sp.Transpose and b.id in self.inline:
                return self.api.reduce("np.sum", "%s * %s" % (_wrap(self.ref(a), 51), _wrap(self.ref(b.args[0]), 51))), CALL
            if a.op is sp.Transpose and a.id in self.inline:
                return self.api.reduce("np.sum", "%s * %s" % (_wrap(self.ref(a.args[0]), 51), _wrap(self.ref(b), 51))), CALL
            return self.api.reduce("np.sum", "%s * %s.T" % (_wrap(self.ref(a), 51), _wrap(self.ref(b), CALL))), CALL
        return "%s(%s)" % (self.api.call("np.trace"), arg[0]), CALL

    def _sum_to(self, n, arg):
        if n.shape == ():
            return self.api.reduce("np.sum", arg), CALL
        if n.shape == (1, 1):
            return self.api.reduce("np.sum", arg, keepdims=True) if self.api.name != "torch" else \
                "%s.reshape(1, 1)" % self.api.reduce("np.sum", arg), CALL
        axis = 0 if n.shape[0] == 1 else 1
        return self.api.reduce("np.sum", arg, axis=axis, keepdims=True), CALL

    def dim(self, d):
        d = sp.sympify(d)
        return self.printer.doprint(d.xreplace({s: Code(self.names[s]) for s in d.free_symbols}))

    def shape(self, shape):
        return "(%s)" % ", ".join(self.dim(d) for d in shape)

    # --- the function ------------------------------------------------------------------

    def emit(self, fname, output_names, reduce, blocks=None):
        counters = {"t": 0, "g": 0}
        for o, name in zip(self.outputs, output_names):
            self.names.setdefault(o.id, name)
        body, block = [], None
        statements = [n for n in self.nodes if n.op not in (Leaf, Const) and n.id not in self.inline]
        last_use = {}
        for k, n in enumerate(statements):
            for r in self._refs(n):
                last_use[r] = k
        outputs = {o.id for o in self.outputs}
        inplace = InPlace(self, last_use)
        dead_after = {}
        if len(statements) > DEL_AFTER:
            for r, k in last_use.items():
                if r not in outputs:
                    dead_after.setdefault(k, []).append(r)
        for k, n in enumerate(statements):
            if n.id not in self.names:
                prefix = "t" if n.id in self.forward else "g"
                self.names[n.id] = "%s%d" % (prefix, counters[prefix])
                counters[prefix] += 1
            lines = inplace.statement(n, self.names[n.id], k)
            line = "\n".join(lines) if lines else "%s = %s" % (self.names[n.id], self.text(n)[0])
            if k in dead_after:
                line += "\ndel " + ", ".join(self.names[r] for r in sorted(dead_after[k]))
            quiet = bool(self.ctx.get(n.id))
            if quiet and block is None:
                block = []
                body.append(block)
            if quiet:
                block.append(line)
            else:
                block = None
                body.append(line)
        results = []
        for o, name in zip(self.outputs, output_names):
            text = self.ref(o)[0] if o.op in (Leaf, Const) else self.names[o.id]
            results.append(self.api.reduce("np.mean", text) if reduce else text)
        code = []
        for item in body:
            if isinstance(item, list) and self.api.errstate:
                code.append('with np.errstate(all="ignore"):  # values only one branch needs')
                code += ["    " + x for line in item for x in line.split("\n")]
            elif isinstance(item, list):
                code += [x for line in item for x in line.split("\n")]
            else:
                code += item.split("\n")
        if blocks is not None:
            count = 1 + len(self.p.grads)
            code.append("hessian = %s" % _assemble(results[count:], blocks, reduce, self.api))
            results = results[:count] + ["hessian"]
            grads = ", ".join(results[1:-1]) + ("," if count == 2 else "")
            code.append("return %s, (%s), hessian" % (results[0], grads))
        elif len(results) == 1:
            code.append("return %s" % results[0])
        else:
            grads = ", ".join(results[1:]) + ("," if len(results) == 2 else "")
            code.append("return %s, (%s)" % (results[0], grads))
        code = inplace.wrap(code)
        if self.api.errstate and any(UNDERFLOWS.search(line) for line in code):
            code = ['with np.errstate(under="ignore"):  # e^-1000 is 0, not an error'] + \
                ["    " + line for line in code]
        lines = ["def %s(%s):" % (fname, ", ".join(self.names[s] for s in self.p.inputs))]
        lines += ["    %s = %s.shape[%d]" % x for x in self._dims()]
        return lines + ["    " + line for line in code]

    def _dims(self):
        wanted = set()
        for n in self.nodes:
            if n.op is Leaf and n.extra in self.p.dims:
                wanted.add(n.extra)
            if n.op in (Broadcast, Fill):
                for d in n.shape:
                    wanted |= sp.sympify(d).free_symbols
        out = []
        for d in sorted(wanted, key=str):
            source = self.p.dims.get(d)
            if source is None:
                raise ShapeMismatch("dimension %s cannot be read from any argument's shape; pass a "
                                    "matrix that has it as a plain dimension" % d)
            out.append((self.names[d], self.names[source[0]], source[1]))
        return out


def _assemble(entries, blocks, reduce, api):
    """The Hessian from its blocks: scalars (means over samples) and 2-D blocks, row-major."""
    rows, k = [], 0
    for row in blocks:
        cells = []
        for node in row:
            text = entries[k]
            k += 1
            cells.append(text if node.shape not in ((), (1, 1)) or not reduce and node.shape
                         else "%s(%s, (1, 1))" % (api.call("np.reshape"), text))
        rows.append("[%s]" % ", ".join(cells))
    if api.name == "torch":                       # torch has no block: concatenate rows of cells
        return "torch.cat([%s], dim=0)" % ", ".join("torch.cat(%s, dim=1)" % r for r in rows)
    return "%s([%s])" % (api.call("np.block"), ", ".join(rows))


def _wrap(ref, level):
    text, prec = ref
    return text if prec >= level else "(%s)" % text


def _const_precedence(value):
    """Python precedence of a printed constant: 2 and pi are atoms, pi - 1 is a sum."""
    if value.is_Integer or value.is_Float:
        return MUL if value.is_negative else ATOM
    if value.is_Rational:
        return MUL
    if isinstance(value, sp.NumberSymbol):
        return ATOM
    return _precedence(value) if not value.is_negative else min(MUL, _precedence(value))
