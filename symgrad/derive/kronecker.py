"""Hessians of matrix parameters in vec/Kronecker form.

The Hessian-vector product H[V] of a p x q parameter W is a matrix expression linear in
the direction V. ``linear_map(E, V)`` reads such an expression as the matrix K with
vec(E) = K vec(V) (row-major vec, ``ops/vec.py``), by four rules:

    vec(L F R)   = (L ⊗ Rᵀ) vec(F)          a product with F the factor holding V
    vec(M ⊙ F)   = diag(vec(M)) vec(F)      a Hadamard product
    vec(Fᵀ)      = K(a, b) vec(F)           F a x b, K the commutation matrix
    vec(F + G)   = vec(F) + vec(G),   vec(c F) = c vec(F)

A term is kept as a coefficient and a chain of factors (``Factor``), simplified by the
mixed-product rule (A ⊗ B)(C ⊗ D) = AC ⊗ BD, diag(a) diag(b) = diag(a ⊙ b), commutations
moved to the right (K (A ⊗ B) = (B ⊗ A) K, K diag(vec M) = diag(vec Mᵀ) K) and K(b, a) K(a, b)
= I. The chains print as matrix expressions (``display``) and are evaluated with ``einsum``
by ``codegen/kron_einsum.py`` without forming any Kronecker product.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..errors import UnsupportedExpression
from ..ops.display import shown
from ..ops.vec import Commutation, Diag, Kron, Vec

__all__ = ["Factor", "Term", "linear_map", "display", "hessian_terms", "transpose_terms"]


@dataclass(frozen=True)
class Factor:
    """One matrix of a chain: ``kron`` (A ⊗ B), ``diag`` (diag(vec M)) or ``comm`` (K(p, q))."""
    kind: str
    args: tuple

    @property
    def out_shape(self):
        if self.kind == "kron":
            return (self.args[0].shape[0], self.args[1].shape[0])
        if self.kind == "diag":
            return tuple(self.args[0].shape)
        return (self.args[1], self.args[0])

    @property
    def in_shape(self):
        if self.kind == "kron":
            return (self.args[0].shape[1], self.args[1].shape[1])
        if self.kind == "diag":
            return tuple(self.args[0].shape)
        return tuple(self.args)


@dataclass(frozen=True)
class Term:
    """coef * factors[0] * factors[1] * ... (an empty chain is the identity on vec(V))."""
    coef: sp.Expr
    factors: tuple


def _depends(e, v):
    return v in getattr(e, "free_symbols", set())


def _is_matrix(e):
    return getattr(e, "is_Matrix", False)


def _prepend(factor, terms, coef=sp.S.One):
    return [Term(coef * t.coef, (factor,) + t.factors) for t in terms]


def linear_map(e, v):
    """Terms of K with vec(e) = K vec(v), for a matrix expression ``e`` linear in ``v``."""
    if e == v:
        return [Term(sp.S.One, ())]
    if isinstance(e, sp.MatAdd):
        return [t for a in e.args if _depends(a, v) for t in linear_map(a, v)]
    if isinstance(e, sp.MatMul):
        return _product(e, v)
    if isinstance(e, sp.HadamardProduct):
        holding = [a for a in e.args if _depends(a, v)]
        if len(holding) != 1:
            _not_linear(e, v)
        rest = [a for a in e.args if a is not holding[0]]
        m = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
        return _prepend(Factor("diag", (m,)), linear_map(holding[0], v))
    if isinstance(e, sp.Transpose):
        a, b = e.arg.shape
        return _prepend(Factor("comm", (a, b)), linear_map(e.arg, v))
    _not_linear(e, v)


def _product(e, v):
    scalars = [a for a in e.args if not _is_matrix(a)]
    mats = [a for a in e.args if _is_matrix(a)]
    if any(_depends(s, v) for s in scalars):
        _not_linear(e, v)
    holding = [k for k, a in enumerate(mats) if _depends(a, v)]
    if len(holding) != 1:
        _not_linear(e, v)
    k = holding[0]
    coef = sp.Mul(*scalars)
    left = sp.MatMul(*mats[:k]).doit() if k else sp.Identity(mats[k].shape[0])
    right = sp.MatMul(*mats[k + 1:]).doit() if k + 1 < len(mats) else sp.Identity(mats[k].shape[1])
    return _prepend(Factor("kron", (left, _transpose(right))), linear_map(mats[k], v), coef)


def _transpose(m):
    return sp.Transpose(m).doit()


def _not_linear(e, v):
    raise UnsupportedExpression(
        "the Kronecker form of the Hessian reads the Hessian-vector product as a linear map of "
        "%s, but the node %s is not a product, sum, Hadamard product or transpose linear in it; "
        "use hessian(L, W, direction=V) for the Hessian-vector product itself" % (v, e))


# --- simplification ----------------------------------------------------------------------

def _identity(f):
    if f.kind == "comm":                        # vec of a row or column is its own transpose's
        return 1 in f.args
    return f.kind == "kron" and all(isinstance(a, sp.Identity) for a in f.args)


def _merge(a, b):
    """One factor for the product a b, or None when the pair does not simplify."""
    if a.kind == "kron" and b.kind == "kron":
        return Factor("kron", tuple(sp.MatMul(x, y).doit() for x, y in zip(a.args, b.args)))
    if a.kind == "diag" and b.kind == "diag":
        return Factor("diag", (sp.HadamardProduct(a.args[0], b.args[0]).doit(),))
    if a.kind == "comm" and b.kind == "comm" and a.args == (b.args[1], b.args[0]):
        p, q = b.args
        return Factor("kron", (sp.Identity(p), sp.Identity(q)))
    return None


def _swap(a, b):
    """Move a commutation ``a`` right past ``b``: K b = b' K'. None when ``b`` cannot pass."""
    if a.kind != "comm" or b.kind == "comm":
        return None
    if b.kind == "kron":
        x, y = b.args
        return Factor("kron", (y, x)), Factor("comm", (x.shape[1], y.shape[1]))
    m = b.args[0]
    return Factor("diag", (_transpose(m),)), Factor("comm", tuple(m.shape))


def simplify(term):
    """The chain with the rules of the module docstring applied until none applies."""
    chain = [f for f in term.factors if not _identity(f)]
    changed = True
    while changed:
        changed = False
        for k in range(len(chain) - 1):
            merged = _merge(chain[k], chain[k + 1])
            swapped = None if merged else _swap(chain[k], chain[k + 1])
            if merged or swapped:
                chain[k:k + 2] = [merged] if merged else list(swapped)
                chain = [f for f in chain if not _identity(f)]
                changed = True
                break
    return Term(term.coef, tuple(chain))


def collect(terms):
    """Terms with equal chains added up; zero terms dropped; simplified first."""
    sums = {}
    for t in map(simplify, terms):
        sums[t.factors] = sums.get(t.factors, sp.S.Zero) + t.coef
    return _factor_kron([Term(sp.factor_terms(c), f) for f, c in sums.items() if c != 0])


def _factor_kron(terms):
    """c1 (A1 ⊗ B) + c2 (A2 ⊗ B) = (c1 A1 + c2 A2) ⊗ B (and the same on the right)."""
    for side in (1, 0):
        groups, out = {}, []
        for t in terms:
            if len(t.factors) == 1 and t.factors[0].kind == "kron":
                groups.setdefault(t.factors[0].args[side], []).append(t)
            else:
                out.append(t)
        for shared, group in groups.items():
            if len(group) == 1:
                out.append(group[0])
                continue
            summed = sp.MatAdd(*[t.coef * t.factors[0].args[1 - side] for t in group]).doit()
            args = (summed, shared) if side == 1 else (shared, summed)
            out.append(Term(sp.S.One, (Factor("kron", args),)))
        terms = out
    return terms


def transpose_terms(terms):
    """The terms of Kᵀ: each chain reversed, (A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ, K(p, q)ᵀ = K(q, p)."""
    def flip(f):
        if f.kind == "kron":
            return Factor("kron", tuple(_transpose(a) for a in f.args))
        return f if f.kind == "diag" else Factor("comm", (f.args[1], f.args[0]))
    return collect([Term(t.coef, tuple(flip(f) for f in reversed(t.factors))) for t in terms])


def hessian_terms(hvp, v):
    """The simplified terms of the Hessian whose product with vec(v) is vec(hvp)."""
    return collect(linear_map(hvp, v))


# --- display -----------------------------------------------------------------------------

def _matrix(f):
    if f.kind == "kron":
        a, b = f.args
        if isinstance(a, sp.Identity) and isinstance(b, sp.Identity):
            return sp.Identity(a.shape[0] * b.shape[0])
        return Kron(shown(a), shown(b))
    if f.kind == "diag":
        return Diag(Vec(shown(f.args[0])))
    return Commutation(*f.args)


def display(terms, shape):
    """The terms as one matrix expression of the given shape (a ZeroMatrix when none)."""
    if not terms:
        return sp.ZeroMatrix(*shape)
    parts = []
    for t in terms:
        mats = [_matrix(f) for f in t.factors] or [sp.Identity(shape[0])]
        parts.append(sp.MatMul(t.coef, *mats) if t.coef != 1 else
                     (mats[0] if len(mats) == 1 else sp.MatMul(*mats)))
    return shown(parts[0] if len(parts) == 1 else sp.MatAdd(*parts))
