"""The backpropagation sheet: forward definitions, then the adjoint of each, as a person writes
backpropagation down.

``build_sheet(L, wrt)`` lowers the loss once, picks the intermediate values worth a name, runs
reverse accumulation with those values as targets too, and raises every step in terms of the
names before it:

    Z1 = X*W1 + 𝟏*b1          H = tanh(Z1)          Z2 = H*W2 + 𝟏*b2
    L = (sum(logsumexp(Z2)) - tr(Yᵀ*Z2))/n
    ∂L/∂Z2 = (softmax(Z2) - Y)/n     ∂L/∂W2 = Hᵀ*∂L/∂Z2     ∂L/∂b2 = 𝟏ᵀ*∂L/∂Z2
    ∂L/∂H = ∂L/∂Z2*W2ᵀ               ∂L/∂Z1 = ∂L/∂H ⊙ (1 - H**2)   ...

A value gets a name where the kind of computation changes: a linear stage (products with
matrices, sums, scaling: ``Z``, ``z`` for a scalar) feeding a nonlinear one, or a nonlinear
stage (an activation, a softmax: ``H``, ``h``) feeding a linear one, as in the article's
∂L/∂W = ∂L/∂Z · ∂Z/∂W. Each step's expression comes from the same graph nodes ``grad`` raises,
so substituting the definitions back gives ``grad``'s own result (``symgrad.derivation``, in
``verification/steps.py``, checks every step that way).
"""

from __future__ import annotations

import sympy as sp

from ..graph.ir import Broadcast, Const, Fill, Leaf, SumTo, ancestors
from ..graph.lower import Lowering, as_expression
from ..graph.raising import Raising
from ..graph.readable import present
from .reverse import backward, check_wrt, scalar_loss, tidy, zero_like
from .sheet_text import SheetText, adjoint_name

__all__ = ["Derivation", "build_sheet"]

_PLUMBING = (Leaf, Const, Fill, Broadcast, SumTo)
_LINEAR = (sp.MatMul, sp.Transpose, sp.Trace)


class Derivation(SheetText):
    """A backpropagation sheet: ``steps`` is [(name, expression), ...], the forward definitions
    (``forward`` of them, the loss ``L`` last), then the adjoints, each written with the names
    of the steps before it; ``symbols`` maps each name to the symbol standing for it.
    ``checks`` says how each step was checked against ``grad`` (filled by ``derivation``).
    ``str(d)``, ``d.markdown()`` and ``d.latex()`` show it; Jupyter shows the LaTeX."""

    def __init__(self, loss, wrt, steps, forward, symbols, references):
        self.loss, self.wrt, self.steps, self.forward = loss, list(wrt), list(steps), forward
        self.symbols = dict(symbols)
        self.references = dict(references)   # name -> the step without names (what grad gives)
        self.checks = []

    def expanded(self):
        """{name: the step's expression with every earlier step substituted back}: the
        forward values and gradients without names, as ``grad`` would give them."""
        full = {}
        for step, expr in self.steps:
            back = {self.symbols[s]: full[s] for s in full if s in self.symbols}
            full[step] = _tidy(present(expr.xreplace(back))) if back else expr
        return full

    def gradient(self, w):
        """The step for the gradient with respect to parameter ``w``, as the sheet writes it."""
        return dict(self.steps)[adjoint_name(str(w))]


def _tidy(expr):
    """grad's tidy (Piecewise folded), kept out of Lambda bodies: folding a Piecewise out of
    an entrywise map would free its bound variable."""
    return expr if expr.has(sp.Lambda) else tidy(expr)


# --- which values get a name -------------------------------------------------------------

def _dependent(nodes, leaves):
    targets = {w.id for w in leaves}
    out = {}
    for n in nodes:
        out[n.id] = n.id in targets or any(out.get(a.id, False) for a in n.args)
    return out


def _kinds(nodes, depends):
    """node id -> "linear" or "nonlinear" (None for plumbing and constants)."""
    kind = {}
    for n in nodes:
        if n.op in _PLUMBING:
            kind[n.id] = None
        elif n.op in _LINEAR:
            kind[n.id] = "linear"
        elif n.op in (sp.Add, sp.Mul):
            moving = [a for a in n.args if depends.get(a.id)]
            linear = n.op is sp.Add or len(moving) <= 1
            kind[n.id] = "linear" if linear and all(
                kind.get(a.id) in (None, "linear") for a in moving) else "nonlinear"
        else:
            kind[n.id] = "nonlinear"
    return kind


def _trivial(n):
    """A value not worth a name: a transposed symbol, or a multiple of another value."""
    return n.op is sp.Transpose and n.args[0].op is Leaf or \
        n.op is sp.Mul and any(a.is_const for a in n.args)


def named_stages(out, leaves):
    """The intermediate nodes a sheet names, in forward order, each with its letter."""
    nodes = ancestors([out])
    depends = _dependent(nodes, leaves)
    kind = _kinds(nodes, depends)
    consumers = {}
    for n in nodes:
        for a in n.args:
            consumers.setdefault(a.id, []).append(n)
    out_stages = []
    for n in nodes:
        if n is out or not depends[n.id] or kind[n.id] is None or _trivial(n):
            continue
        users = [c for c in consumers.get(n.id, ())
                 if kind[c.id] is not None and c.op is not sp.Add]
        if any(kind[c.id] != kind[n.id] and (c.shape != () or n.shape == ()) for c in users):
            letter = "Z" if kind[n.id] == "linear" else "H"
            out_stages.append((n, letter if n.shape != () else letter.lower()))
    return out_stages


LETTERS = {"Z": "ZUVS", "H": "HAGF"}      # a linear / nonlinear stage, then spares


def _names(stages, taken):
    """Z1, H, Z2, ...: a letter is numbered when it names several values, and replaced by a
    spare one when one of its names is already a symbol of the loss."""
    counts = {}
    for _, letter in stages:
        counts[letter] = counts.get(letter, 0) + 1

    def names(letter):
        return [letter] if counts[letter] == 1 else \
            ["%s%d" % (letter, i + 1) for i in range(counts[letter])]

    def clash(letter, c):
        return bool({c + name[len(letter):] for name in names(letter)} & taken)

    chosen = {}
    for letter in counts:
        spares = LETTERS[letter.upper()] if letter.isupper() else LETTERS[letter.upper()].lower()
        chosen[letter] = next((c for c in spares if not clash(letter, c)), letter + "'")
    seen, out = {}, []
    for node, letter in stages:
        seen[letter] = seen.get(letter, 0) + 1
        name = chosen[letter] if counts[letter] == 1 else "%s%d" % (chosen[letter], seen[letter])
        out.append((node, name))
    return out


def _symbol(name, node):
    if node.shape == ():
        return sp.Symbol(name, real=True)
    return sp.MatrixSymbol(name, *node.shape)


# --- building the sheet ------------------------------------------------------------------

def build_sheet(expr, wrt) -> Derivation:
    """The sheet for the gradient of ``expr`` with respect to ``wrt`` (unchecked; see
    ``symgrad.derivation``)."""
    items, _ = check_wrt(wrt)
    expr = as_expression(expr)
    lowering = Lowering()
    out = scalar_loss(lowering, expr)
    leaves = [lowering.leaf(w) for w in items]
    taken = {str(s) for s in expr.free_symbols | expr.atoms(sp.MatrixSymbol) | set(items)}
    stages = _names(named_stages(out, leaves), taken)
    adjoints = backward(lowering, out, [n for n, _ in stages] + leaves)
    sheet = _Sheet(lowering.user, {n.id: _symbol(name, n) for n, name in stages})
    for node, name in stages + [(out, "L")]:
        sheet.define(name, node, sheet.forward)
    forward = sheet.steps[:]
    sheet.steps = []
    sheet.adjoints(stages, adjoints[:len(stages)])
    params = [sheet.parameter(w, g) for w, g in zip(items, adjoints[len(stages):])]
    backward_steps = _interleave(sheet.steps, params, forward[:-1])
    return Derivation(expr, items, forward + backward_steps, len(forward), sheet.symbols,
                      sheet.references)


class _Sheet:
    """Steps under construction: each raised with the names of the others."""

    def __init__(self, user, forward):
        self.user, self.forward = user, forward      # node id -> symbol of a forward value
        self.names = dict(forward)                   # every named node (adjoints join later)
        self.steps, self.symbols, self.references = [], {}, {}

    def define(self, name, node, names):
        """name = node in terms of the other named nodes; what grad gives for it is kept."""
        rest = {i: s for i, s in names.items() if i != node.id}
        self.steps.append((name, Raising(self.user, rest).definition(node)))
        self.references[name] = Raising(self.user)(node)
        if node.id in names:
            self.symbols[name] = names[node.id]

    def adjoints(self, stages, adjoints):
        """∂L/∂N for each named value N, the deepest first."""
        for (node, name), g in zip(stages, adjoints):
            if not _is_zero(g) and g.id not in self.names:
                self.names[g.id] = _symbol(adjoint_name(name), node)
        for (node, name), g in reversed(list(zip(stages, adjoints))):
            label = adjoint_name(name)
            if _is_zero(g):
                continue
            if self.names[g.id].name != label:       # the same adjoint as a deeper value's
                self.steps.append((label, self.names[g.id]))
                self.references[label] = Raising(self.user)(g)
            else:
                self.define(label, g, self.names)

    def parameter(self, w, g):
        """(w, ∂L/∂w, its expression): grad's result for w, in terms of the names."""
        label = adjoint_name(str(w))
        if _is_zero(g):
            self.references[label] = zero_like(w)
            return w, label, zero_like(w)
        self.references[label] = tidy(Raising(self.user)(g))
        return w, label, tidy(Raising(self.user, self.names)(g))


def _interleave(steps, params, definitions):
    """Put each parameter's gradient right after the adjoint of the first named value whose
    definition uses the parameter (W2 after ∂L/∂Z2); first when none does, last when it is 0."""
    out = list(steps)
    for w, label, expr in params:
        users = [name for name, definition in definitions if w in definition.free_symbols]
        after = adjoint_name(users[0]) if users else None
        at = next((i + 1 for i, (name, _) in enumerate(out) if name == after),
                  len(out) if expr == 0 or getattr(expr, "is_ZeroMatrix", False) else 0)
        while at < len(out) and out[at][0] in [p[1] for p in params]:
            at += 1                                   # parameters in their given order
        out.insert(at, (label, expr))
    return out


def _is_zero(g):
    return g.op is Const and g.value == 0 or \
        g.op is Broadcast and g.args[0].op is Const and g.args[0].value == 0
