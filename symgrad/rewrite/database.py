"""The rewrite database and its driver: one named function per stable form.

A rewrite is a small function with a docstring (the pattern and why), registered with the
op it triggers on and the phases it runs in::

    @register(sp.log)
    def log_of_sigmoid(r, x):
        '''log(sigmoid(u)) -> -softplus(-u): ...'''

How a rewrite is called depends on where its op sits:

    @register(op)                   f(r, *args)          a node of that op (log, Pow, Piecewise)
    @register(sp.Mul)               f(r, factors, shape) a whole product, flattened, and its shape
    @register(op, within=sp.Add)    f(r, terms, i)       a sum whose term i (coefficient, node)
                                                         has that op; it looks for partners
    @register(op, within=sp.Mul)    f(r, factors, i)     a product whose factor i has that op

It returns the replacement node, or None when the pattern is not there. ``r`` is the
``Rewriter`` of the run: ``r.g`` is the graph, ``r.neg``, ``r.total`` and ``r.replace``
build nodes, ``r.log(x)`` is the stable log of a part (the enabled log rewrites), and
``r.memo`` keeps a helper's results for the run.

The driver rebuilds the graph bottom-up and gives each node to the enabled rewrites for its
op in registration order; the first that matches wins. A sum tries its terms left to right
(each term's rewrites in order), a product its factors first, then the whole-product
rewrites. Rebuilds repeat until nothing changes (at most four passes). Phases: "stabilize"
runs on the loss before differentiation, "cleanup" on the loss and gradients together; a
rewrite runs in both unless it says otherwise.

>>> import sympy as sp
>>> from symgrad.graph.ir import Graph
>>> from symgrad.rewrite import names
>>> from symgrad.rewrite.stabilize import stabilize
>>> g = Graph(); z = g.leaf(sp.Symbol("z"))
>>> loss = g.apply(sp.log, g.apply(sp.Add, g.const(1), g.apply(sp.exp, z)))
>>> stabilize(g, loss).op.__name__, "log_of_one_plus_exp" in names("stabilize")
('Softplus', True)
>>> stabilize(g, loss, exclude=["log_of_one_plus_exp", "log1p_of_exp_or_sigmoid"]).op.__name__
'log1p'
"""

from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import sympy as sp

from ..errors import ArgumentError
from .match import _const, _factors, _terms

__all__ = ["Rewrite", "Rewriter", "register", "register_pass", "names", "describe", "run",
           "run_passes", "PHASES", "SPEED"]

PHASES = ("stabilize", "cleanup")
SPEED = "speed"     # whole-graph passes for fast code, run by codegen on what it prints


@dataclass(frozen=True)
class Rewrite:
    """One registered rewrite: its name, function, trigger ops, context and phases."""

    name: str
    fn: Callable
    ops: tuple
    within: Optional[type]
    phases: tuple

    @property
    def doc(self) -> str:
        return " ".join((self.fn.__doc__ or "").split())


_DATABASE: list = []                                  # every Rewrite, in registration order
_INDEX = {phase: {None: {}, sp.Add: {}, sp.Mul: {}} for phase in PHASES}
# phase -> within -> op -> [functions], in order: what a run with nothing excluded reads


def register(*ops, within=None, phases: Iterable[str] = PHASES) -> Callable:
    """Decorator: add the function below to the database, triggered by ``ops``."""
    phases = tuple(phases)
    unknown = [p for p in phases if p not in PHASES]
    if unknown or not ops or within not in (None, sp.Add, sp.Mul):
        raise ArgumentError("register(%s, within=%s, phases=%s): give at least one op, within "
                            "None, sp.Add or sp.Mul, and phases from %s"
                            % (ops, within, phases, PHASES))

    def add(fn):
        if any(rw.name == fn.__name__ for rw in _DATABASE):
            raise ArgumentError("a rewrite named %s is registered already; pick another name"
                                % fn.__name__)
        if not fn.__doc__:
            raise ArgumentError("rewrite %s has no docstring; say its pattern and why" % fn.__name__)
        _DATABASE.append(Rewrite(fn.__name__, fn, ops, within, phases))
        for phase in phases:
            for op in ops:
                _INDEX[phase][within].setdefault(op, []).append(fn)
        return fn
    return add


def register_pass(fn: Callable) -> Callable:
    """Decorator: add a whole-graph pass of phase "speed", ``fn(graph, outs) -> outs``.

    Speed passes change how the loss and gradients are computed, never what: the order of
    a matrix chain, one node for a matrix and its transpose, a solve for an inverse.
    They run in registration order on the nodes codegen prints (``run_passes``)."""
    if any(rw.name == fn.__name__ for rw in _DATABASE):
        raise ArgumentError("a rewrite named %s is registered already; pick another name"
                            % fn.__name__)
    if not fn.__doc__:
        raise ArgumentError("rewrite %s has no docstring; say its pattern and why" % fn.__name__)
    _DATABASE.append(Rewrite(fn.__name__, fn, (), None, (SPEED,)))
    return fn


def run_passes(graph, outs: list, exclude: Iterable[str] = ()) -> list:
    """The speed passes, in order, on the nodes ``outs`` (without those named in ``exclude``)."""
    exclude = set(exclude)
    unknown = sorted(exclude - set(names()))
    if unknown:
        raise ArgumentError("no rewrite is named %r; symgrad.rewrite.names() lists them"
                            % unknown[0])
    for rw in _DATABASE:
        if SPEED in rw.phases and rw.name not in exclude:
            outs = rw.fn(graph, list(outs))
    return outs


def names(phase: Optional[str] = None) -> list:
    """The names of the registered rewrites (of one phase), in the order they are tried."""
    return [rw.name for rw in _DATABASE if phase is None or phase in rw.phases]


def describe(phase: Optional[str] = None) -> list:
    """The registered ``Rewrite`` records (of one phase), in the order they are tried."""
    return [rw for rw in _DATABASE if phase is None or phase in rw.phases]


def _tables(phase, exclude):
    """op -> [rewrite functions] for node, term and factor rewrites, without ``exclude``."""
    if phase not in PHASES or isinstance(exclude, str):
        raise ArgumentError("rewrites run in phase %r with exclude=%r; the phase is one of %s "
                            "and exclude a list of names (symgrad.rewrite.names())"
                            % (phase, exclude, PHASES))
    exclude = set(exclude)
    if not exclude:
        tables = _INDEX[phase]
        return tables[None], tables[sp.Add], tables[sp.Mul]
    unknown = sorted(exclude - set(names()))
    if unknown:
        raise ArgumentError("no rewrite is named %r; symgrad.rewrite.names() lists them"
                            % unknown[0])
    tables = {None: {}, sp.Add: {}, sp.Mul: {}}
    for rw in _DATABASE:
        if phase in rw.phases and rw.name not in exclude:
            for op in rw.ops:
                tables[rw.within].setdefault(op, []).append(rw.fn)
    return tables[None], tables[sp.Add], tables[sp.Mul]


class Rewriter:
    """The state of one run, handed to every rewrite as ``r``: the graph ``g``, the enabled
    rewrites, and ``final``, the ids of nodes a rewrite built in their last form."""

    def __init__(self, graph, phase, exclude=()):
        self.g = graph
        self.final = set()
        self.memo = {}          # helper name -> its memo for this run (see layout.transpose)
        self.nodes, self.terms, self.factors = _tables(phase, exclude)

    # --- helpers for rewrites --------------------------------------------------------

    def neg(self, x):
        """-x, pushing the sign into sums and coefficients rather than wrapping it."""
        g = self.g
        if _const(x):
            return g.const(-x.value)
        if x.op is sp.Mul and _const(x.args[0]):
            return g.apply(sp.Mul, g.const(-x.args[0].value), x.args[1])
        if x.op is sp.Add:
            return g.apply(sp.Add, self.neg(x.args[0]), self.neg(x.args[1]))
        return g.apply(sp.Mul, g.const(-1), x)

    def total(self, terms):
        """The sum of (coefficient, node) terms."""
        g = self.g
        nodes = [t if c == 1 else g.apply(sp.Mul, g.const(c), t) for c, t in terms]
        return g.add(*nodes) if nodes else g.const(0)

    def replace(self, factors, used, new):
        """The product of ``factors`` with those in ``used`` replaced by ``new``."""
        rest = list(factors)
        for u in used:
            rest.remove(u)
        return self.g.mul(*rest, new) if rest else new

    def log(self, x):
        """The stable log of ``x``: the first enabled log rewrite that matches, else log(x)."""
        for fn in self.nodes.get(sp.log, ()):
            out = fn(self, x)
            if out is not None:
                return out
        return self.g.apply(sp.log, x)

    # --- the driver ------------------------------------------------------------------

    def __call__(self, n, args):
        if all(a is b for a, b in zip(args, n.args)):
            return self.rewrite(n)
        return self.rewrite(self.g.reapply(n, args))

    def rewrite(self, n):
        """The first matching rewrite of node ``n``, or ``n``."""
        if n.id in self.final:
            return n
        op = n.op
        if op is sp.log:
            return self.log(n.args[0])
        if op is sp.Add:
            out = self._sum(n)
        elif op is sp.Mul:
            out = self._product(n)
        else:
            out = None
            for fn in self.nodes.get(op, ()):
                out = fn(self, *n.args)
                if out is not None:
                    break
        return n if out is None else out

    def _sum(self, n):
        """Terms left to right, each term's rewrites in order."""
        table = self.terms
        terms = _terms(n)
        for i, (_, t) in enumerate(terms):
            for fn in table.get(t.op, ()):
                out = fn(self, terms, i)
                if out is not None:
                    return out
        return None

    def _product(self, n):
        """Factors left to right (each factor's rewrites in order), then the whole product."""
        table = self.factors
        factors = _factors(n)
        for i, f in enumerate(factors):
            for fn in table.get(f.op, ()):
                out = fn(self, factors, i)
                if out is not None:
                    return out
        for fn in self.nodes.get(sp.Mul, ()):
            out = fn(self, factors, n.shape)
            if out is not None:
                return out
        return None


def run(graph, outs: list, phase: str, exclude: Iterable[str] = (), passes: int = 4) -> list:
    """Apply the enabled rewrites of ``phase`` to the graph under ``outs`` until nothing
    changes (at most ``passes`` rebuilds). Returns the new output nodes."""
    rewriter = Rewriter(graph, phase, exclude)
    for _ in range(passes):
        new = graph.rebuild(outs, rewriter)
        if all(a is b for a, b in zip(new, outs)):
            break
        outs = new
    return outs
