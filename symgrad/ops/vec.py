"""Nodes of the vec/Kronecker form of second derivatives of matrix parameters.

The vec is row-major (NumPy's ``reshape`` order): entry (i, j) of a p x q matrix M is
entry i*q + j of ``vec(M)``. With this order vec(A X B) = (A ⊗ Bᵀ) vec(X), and the
Hessian of a scalar L with respect to a p x q matrix W is the pq x pq matrix of
d2 L / d vec(W)_r d vec(W)_s, the order ``value_grad_hessian`` uses.

* ``Kron(A, B)``: the Kronecker product A ⊗ B (SymPy's ``KroneckerProduct``, printed with ⊗);
* ``Vec(M)``: the (pq, 1) column vec(M);
* ``Diag(v)``: the diagonal matrix of a column (SymPy's ``DiagMatrix``, printed diag(v));
* ``Commutation(p, q)``: the pq x pq permutation with Commutation(p, q) vec(M) = vec(Mᵀ)
  for a p x q matrix M.

They print as a textbook writes them and evaluate entry by entry at numeric sizes
(``as_explicit``); they are results, not inputs: lowering does not read them.

>>> import sympy as sp
>>> A, B = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("B", 3, 3)
>>> str(Kron(A, B)), str(Diag(Vec(A))), Commutation(2, 3).shape
('A ⊗ B', 'diag(vec(A))', (6, 6))
"""

import sympy as sp
from sympy.matrices.expressions.kronecker import KroneckerProduct

__all__ = ["Kron", "Vec", "Diag", "Commutation"]


def _factor(printer, m):
    text = printer._print(m)
    if isinstance(m, (sp.MatAdd, sp.MatMul, KroneckerProduct)) and not text.startswith("("):
        return "(%s)" % text
    return text


class Kron(KroneckerProduct):
    """A ⊗ B."""

    def _sympystr(self, printer, **kwargs):
        return " ⊗ ".join(_factor(printer, a) for a in self.args)

    def _latex(self, printer, **kwargs):
        return r" \otimes ".join(r"\left(%s\right)" % printer._print(a)
                                 if isinstance(a, (sp.MatAdd, sp.MatMul)) else printer._print(a)
                                 for a in self.args)


class Vec(sp.MatrixExpr):
    """vec(M), row-major: a (rows*cols, 1) column."""

    def __new__(cls, m):
        return super().__new__(cls, m)

    @property
    def shape(self):
        rows, cols = self.args[0].shape
        return (rows * cols, sp.S.One)

    def _entry(self, i, j, **kwargs):
        cols = self.args[0].shape[1]
        return self.args[0][i // cols, i % cols]

    def doit(self, **hints):
        m = self.args[0].doit(**hints) if hints.get("deep", True) else self.args[0]
        if isinstance(m, sp.MatrixBase):                  # explicit: the column itself
            return sp.ImmutableMatrix(m.rows * m.cols, 1, list(m))
        return Vec(m)

    def _sympystr(self, printer, **kwargs):
        return "vec(%s)" % printer._print(self.args[0])

    def _latex(self, printer, **kwargs):
        return r"\operatorname{vec}\left(%s\right)" % printer._print(self.args[0])


class Diag(sp.DiagMatrix):
    """diag(v) of a column v."""

    def _sympystr(self, printer, **kwargs):
        return "diag(%s)" % printer._print(self.args[0])

    def _latex(self, printer, **kwargs):
        return r"\operatorname{diag}\left(%s\right)" % printer._print(self.args[0])


class Commutation(sp.MatrixExpr):
    """K(p, q): vec(Mᵀ) = K(p, q) vec(M) for M of shape p x q (row-major vec)."""

    def __new__(cls, p, q):
        return super().__new__(cls, sp.sympify(p), sp.sympify(q))

    @property
    def shape(self):
        p, q = self.args
        return (p * q, p * q)

    def _entry(self, r, c, **kwargs):
        p, q = self.args
        i, j = r % p, r // p                     # row r of vec(Mᵀ) holds M[i, j]
        return sp.KroneckerDelta(c, i * q + j)

    def doit(self, **hints):
        p, q = self.args
        if p.is_Integer and q.is_Integer:                 # numeric sizes: the permutation matrix
            return sp.ImmutableMatrix(p * q, p * q, lambda r, c: 1 if c == (r % p) * q + r // p else 0)
        return self

    def _eval_transpose(self):
        return Commutation(self.args[1], self.args[0])

    def _sympystr(self, printer, **kwargs):
        return "K(%s,%s)" % tuple(printer._print(a) for a in self.args)

    def _latex(self, printer, **kwargs):
        return "K_{%s,%s}" % tuple(printer._print(a) for a in self.args)
