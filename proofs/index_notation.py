"""The article's losses in index notation, proven equal to their matrix forms

Papers write MSE = (1/n) Σ_i (Σ_j w_j x_ij + b - y_i)^2; the article writes the same
losses with matrices, MSE = ||X w + 1 b - y||^2 / n. For each loss (linear regression,
ridge, logistic regression, Poisson regression, softmax regression, a 2-layer tanh MLP)
two kinds of claim are proven for every size n, d, C, H at once, not at sampled sizes:

- the index form equals the matrix form written out entry by entry
  (``sg.index_form``: (AB)_rc = Σ_k A_rk B_kc, tr, sum, softmax, ...);
- the gradient symgrad derives from the index form, an expression in a free index
  (d L / d w_j), equals entry j of the gradient it derives from the matrix form.

The route is "index sums" (``symgrad.graph.index_normal``): linearity, constants out of
sums, products of sums as one sum, and bound indices renamed in a canonical order, all
exact identities of finite sums; nothing is sampled for the verdict. The last claim is a
mistake the route must not prove: the index gradient against the transposed matrix
gradient (X W where it should be X^T ...), which verify refutes at a certified point.
"""

import sympy as sp

import symgrad as sg

n, d, C, H = sp.symbols("n d C H", integer=True, positive=True)
i, j, k, c, h, q = sp.symbols("i j k c h q", integer=True)
b, lam, b2 = sp.symbols("b lam b2", real=True)
x, y, w, W, Y = (sp.IndexedBase(name) for name in ("x", "y", "w", "W", "Y"))
W1, b1, W2 = (sp.IndexedBase(name) for name in ("W1", "b1", "W2"))
Xm, wm, ym = sp.MatrixSymbol("x", n, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
Wm, Ym = sp.MatrixSymbol("W", d, C), sp.MatrixSymbol("Y", n, C)
ones = sp.OneMatrix(n, 1)
S = sp.Sum

# --- index forms, as papers write them ------------------------------------------------------
z = S(w[j] * x[i, j], (j, 0, d - 1)) + b                              # z_i = w . x_i + b
mse = S((z - y[i])**2, (i, 0, n - 1)) / n
ridge = mse + lam * S(w[j]**2, (j, 0, d - 1))
logistic = S(sg.softplus(z) - y[i] * z, (i, 0, n - 1)) / n
poisson = S(sp.exp(z) - y[i] * z, (i, 0, n - 1))
logits = S(x[i, j] * W[j, c], (j, 0, d - 1))
softmax_ce = S(sp.log(S(sp.exp(logits), (c, 0, C - 1))) - S(Y[i, c] * logits, (c, 0, C - 1)),
               (i, 0, n - 1)) / n
hidden = sp.tanh(S(x[i, j] * W1[j, h], (j, 0, d - 1)) + b1[h])
mlp = S((S(hidden * W2[h], (h, 0, H - 1)) + b2 - y[i])**2, (i, 0, n - 1)) / n

# --- matrix forms, as the article writes them --------------------------------------------
zm = Xm * wm + ones * b
mse_m = sg.msum((zm - ym).applyfunc(lambda e: e**2)) / n
ridge_m = mse_m + lam * sp.Trace(wm.T * wm)
logistic_m = sg.msum(zm.applyfunc(sg.softplus) - sp.hadamard_product(ym, zm)) / n
poisson_m = sg.msum(zm.applyfunc(sp.exp) - sp.hadamard_product(ym, zm))
softmax_ce_m = (sg.msum(sg.logsumexp(Xm * Wm, axis=1)) - sp.Trace(Ym.T * Xm * Wm)) / n
W1m, b1m, W2m = sp.MatrixSymbol("W1", d, H), sp.MatrixSymbol("b1", 1, H), sp.MatrixSymbol("W2", H, 1)
hidden_m = (Xm * W1m + ones * b1m).applyfunc(sp.tanh)
mlp_m = sg.msum((hidden_m * W2m + ones * b2 - ym).applyfunc(lambda e: e**2)) / n


def same_loss(name, index_form, matrix_form):
    return sg.Claim("%s: the index form equals the matrix form" % name,
                    index_form, sg.index_form(matrix_form),
                    hand=r"\text{%s in index notation} = \text{the matrix form, entry by entry}" % name)


def _written_out(g, row, col):
    return sg.index_form(g, row, col)


def same_gradient(name, index_form, matrix_form, at, matrix_wrt, row, col=0):
    return sg.Claim("%s: d/d%s of the index form = entry of the matrix gradient" % (name, at),
                    sg.grad(index_form, at), _written_out(sg.grad(matrix_form, matrix_wrt), row, col),
                    hand=r"\partial L / \partial %s = [\nabla_{%s} L]_{%s}" % (
                        sp.latex(at), matrix_wrt.name, sp.latex(row) if col == 0 else
                        "%s,%s" % (sp.latex(row), sp.latex(col))))


CLAIMS = [
    same_loss("MSE", mse, mse_m),
    same_gradient("MSE", mse, mse_m, w[k], wm, k),
    same_gradient("MSE", mse, mse_m, b, b, 0),
    same_loss("ridge", ridge, ridge_m),
    same_gradient("ridge", ridge, ridge_m, w[k], wm, k),
    same_loss("logistic regression", logistic, logistic_m),
    same_gradient("logistic regression", logistic, logistic_m, w[k], wm, k),
    same_loss("Poisson regression", poisson, poisson_m),
    same_gradient("Poisson regression", poisson, poisson_m, w[k], wm, k),
    same_loss("softmax regression", softmax_ce, softmax_ce_m),
    same_gradient("softmax regression", softmax_ce, softmax_ce_m, W[k, q], Wm, k, q),
    same_loss("2-layer tanh MLP", mlp, mlp_m),
    same_gradient("2-layer tanh MLP", mlp, mlp_m, W2[q], W2m, q),
    same_gradient("2-layer tanh MLP", mlp, mlp_m, W1[k, q], W1m, k, q),
    sg.Claim("softmax regression: the index gradient is NOT the transposed matrix gradient",
             sg.grad(softmax_ce, W[k, q]), sg.index_form(sg.grad(softmax_ce_m, Wm), q, k), expect="refuted",
             hand=r"\partial L / \partial W_{kq} \ne [\nabla_W L]_{qk}"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
