"""L1 and L2 regularization: weight decay, subgradients and the soft threshold

The article lists L1 and L2 regularization among the ways to fight
over-fitting. With the L2 penalty lambda w^2, a gradient step is weight decay:
w - alpha d(L + lambda w^2)/dw = (1 - 2 alpha lambda) w - alpha dL/dw, for a
scalar and for a weight matrix (penalty lambda ||W||_F^2). The L1 penalty
lambda |w| has derivative lambda sign(w) away from w = 0, and sign(w) is a
subgradient everywhere. Its proximal step is the soft threshold
prox(v) = sign(v) max(|v| - t, 0), t = alpha lambda > 0, which minimises
(w - v)^2 / 2 + t |w|; the plain subgradient step v - t sign(v) does not
(it overshoots zero). Verify samples, but no route proves, the inequalities
with |w| and max (they expect "probable").
"""

import sympy as sp

import symgrad as sg

w, x, y, v = sp.symbols("w x y v")
alpha, lam, lam1, lam2, t = sp.symbols("alpha lambda lambda1 lambda2 t")
data_loss = (w * x - y)**2

n, k = sp.symbols("n k", integer=True, positive=True)
W, X, Y = sp.MatrixSymbol("W", n, k), sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("Y", n, k)
matrix_loss = sp.Trace((X * W - Y).T * (X * W - Y))
frobenius2 = sp.Trace(W.T * W)


def proximal_objective(u):
    return (u - v)**2 / 2 + t * sp.Abs(u)


soft_threshold = sp.sign(v) * sp.Max(sp.Abs(v) - t, 0)
piecewise_threshold = sp.Piecewise((v - t, v > t), (v + t, v < -t), (0, True))

CLAIMS = [
    sg.Claim("L2 step is weight decay: w - a d(L + lam w^2)/dw",
             w - alpha * sg.grad(data_loss + lam * w**2, w),
             (1 - 2 * alpha * lam) * w - alpha * sg.grad(data_loss, w),
             hand=r"w - \alpha\,\partial_w(L + \lambda w^2) = (1 - 2\alpha\lambda)\,w - \alpha\,\partial_w L"),
    sg.Claim("L2 step is weight decay for a matrix W (penalty lam ||W||_F^2)",
             W - alpha * sg.grad(matrix_loss + lam * frobenius2, W),
             (1 - 2 * alpha * lam) * W - alpha * sg.grad(matrix_loss, W),
             hand=r"W - \alpha\nabla(L + \lambda\lVert W\rVert_F^2) = (1 - 2\alpha\lambda) W - \alpha\nabla L"),
    sg.Claim("L1: d(lam |w|)/dw = lam w/|w| = lam for w > 0",
             sg.grad(lam * sp.Abs(w), w), lam * w / sp.Abs(w), assumptions=[w > 0],
             hand=r"\frac{\partial}{\partial w}\lambda|w| = \lambda\,\operatorname{sign}(w),\ w \ne 0"),
    sg.Claim("L1: d(lam |w|)/dw = lam w/|w| = -lam for w < 0",
             sg.grad(lam * sp.Abs(w), w), lam * w / sp.Abs(w), assumptions=[w < 0],
             hand=r"\frac{\partial}{\partial w}\lambda|w| = \lambda\,\operatorname{sign}(w),\ w \ne 0"),
    sg.Claim("L1: sign(w) is a subgradient of |.| at every w (also w = 0)",
             sp.Abs(v), sp.Abs(w) + sp.sign(w) * (v - w), relation=">=", expect="probable",
             budget=5.0,
             hand=r"|v| \ge |w| + \operatorname{sign}(w)(v - w)"),
    sg.Claim("elastic net: d(L + l1 |w| + l2 w^2)/dw = dL/dw + l1 sign(w) + 2 l2 w",
             sg.grad(data_loss + lam1 * sp.Abs(w) + lam2 * w**2, w),
             sg.grad(data_loss, w) + lam1 * sp.sign(w) + 2 * lam2 * w,
             hand=r"\partial_w(L + \lambda_1|w| + \lambda_2 w^2) = \partial_w L + \lambda_1\operatorname{sign}(w) + 2\lambda_2 w"),
    sg.Claim("soft threshold = piecewise v - t / 0 / v + t (t > 0)",
             soft_threshold, piecewise_threshold, assumptions=[t > 0], expect="probable",
             budget=5.0,
             hand=r"\operatorname{sign}(v)\max(|v| - t, 0)"),
    sg.Claim("soft threshold minimises (w - v)^2/2 + t|w| (t = alpha lambda > 0)",
             proximal_objective(w), proximal_objective(soft_threshold), relation=">=",
             assumptions=[t > 0], expect="probable", budget=5.0,
             hand=r"\operatorname{prox}_{t|\cdot|}(v) = \arg\min_w \tfrac12(w - v)^2 + t|w|"),
    sg.Claim("the subgradient step v - t sign(v) also minimises it",
             proximal_objective(w), proximal_objective(v - t * sp.sign(v)), relation=">=",
             assumptions=[t > 0], expect="refuted",
             hand=r"v - t\,\operatorname{sign}(v) = \arg\min_w \tfrac12(w - v)^2 + t|w|"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
