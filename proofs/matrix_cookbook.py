"""Matrix Cookbook identities at the matrix level

A selection of derivative identities from The Matrix Cookbook (Petersen &
Pedersen, November 15, 2012; equation numbers in the hand column), with
MatrixSymbols of symbolic size n: symgrad's gradient against the cookbook's
closed form. Two popular mistakes are refuted: dropping the transpose
(d tr(A X B)/dX = B A) and d x^T A x/dx = 2 A x for a non-symmetric A. And
SymPy 1.14's own MatrixSymbol.diff of log det X, which returns 0, is refuted
against X^-T. With a symmetric A (a predicate, not a construction) verify only
samples 2 A x: its routes do not use the predicate, so that claim expects
"probable"; with A = B + B^T written out, the same identity is proven.
"""

import sympy as sp

import symgrad as sg

n = sp.Symbol("n", integer=True, positive=True)
X, A, B = (sp.MatrixSymbol(name, n, n) for name in "XAB")
x, a, c = (sp.MatrixSymbol(name, n, 1) for name in "xac")
det = sp.Determinant
sym = B + B.T

CLAIMS = [
    sg.Claim("d log det X / dX = X^-T",
             sg.grad(sp.log(det(X)), X), X.I.T,
             hand=r"\frac{\partial \ln|\det X|}{\partial X} = X^{-T}\quad\text{Matrix Cookbook (57)}"),
    sg.Claim("SymPy 1.14's MatrixSymbol.diff of log det X equals X^-T",
             sp.log(det(X)).diff(X), X.I.T, expect="refuted",
             hand=r"\texttt{log(Determinant(X)).diff(X)} = 0"),
    sg.Claim("d det X / dX = det(X) X^-T",
             sg.grad(det(X), X), det(X) * X.I.T,
             hand=r"\frac{\partial \det X}{\partial X} = \det(X)\,X^{-T}\quad\text{(49)}"),
    sg.Claim("d tr(A X B) / dX = A^T B^T",
             sg.grad(sp.Trace(A * X * B), X), A.T * B.T,
             hand=r"\frac{\partial\,\mathrm{Tr}(AXB)}{\partial X} = A^T B^T\quad\text{(101)}"),
    sg.Claim("d tr(A X B) / dX = B A (transpose dropped)",
             sg.grad(sp.Trace(A * X * B), X), B * A, expect="refuted",
             hand=r"\frac{\partial\,\mathrm{Tr}(AXB)}{\partial X} = BA"),
    sg.Claim("d x^T A x / dx = (A + A^T) x",
             sg.grad(x.T * A * x, x), (A + A.T) * x,
             hand=r"\frac{\partial x^T A x}{\partial x} = (A + A^T)x\quad\text{(81)}"),
    sg.Claim("d x^T A x / dx = 2 A x for any A",
             sg.grad(x.T * A * x, x), 2 * A * x, expect="refuted",
             hand=r"\frac{\partial x^T A x}{\partial x} = 2Ax"),
    sg.Claim("d x^T A x / dx = 2 A x for symmetric A (predicate)",
             sg.grad(x.T * A * x, x), 2 * A * x, assumptions=[sp.Q.symmetric(A)],
             expect="probable",
             hand=r"\frac{\partial x^T A x}{\partial x} = 2Ax,\ A = A^T"),
    sg.Claim("d x^T S x / dx = 2 S x for S = B + B^T",
             sg.grad(x.T * sym * x, x), 2 * sym * x,
             hand=r"\frac{\partial x^T S x}{\partial x} = 2Sx,\ S = S^T"),
    sg.Claim("d tr(X^-1 A) / dX = -(X^-1 A X^-1)^T",
             sg.grad(sp.Trace(X.I * A), X), -(X.I * A * X.I).T,
             hand=r"\frac{\partial\,\mathrm{Tr}(X^{-1}A)}{\partial X} = -(X^{-1} A X^{-1})^T\quad\text{(63)}"),
    sg.Claim("d a^T X^-1 c / dX = -X^-T a c^T X^-T",
             sg.grad(a.T * X.I * c, X), -X.I.T * a * c.T * X.I.T,
             hand=r"\frac{\partial a^T X^{-1} b}{\partial X} = -X^{-T} a b^T X^{-T}\quad\text{(61)}"),
    sg.Claim("d tr(X^T B X) / dX = B X + B^T X",
             sg.grad(sp.Trace(X.T * B * X), X), B * X + B.T * X,
             hand=r"\frac{\partial\,\mathrm{Tr}(X^T B X)}{\partial X} = BX + B^T X\quad\text{(108)}"),
    sg.Claim("d ||X||_F^2 / dX = 2 X",
             sg.grad(sp.Trace(X * X.T), X), 2 * X,
             hand=r"\frac{\partial \lVert X\rVert_F^2}{\partial X} = 2X\quad\text{(132)}"),
    sg.Claim("d tr(X^2) / dX = 2 X^T",
             sg.grad(sp.Trace(X**2), X), 2 * X.T,
             hand=r"\frac{\partial\,\mathrm{Tr}(X^2)}{\partial X} = 2X^T\quad\text{(106)}"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
