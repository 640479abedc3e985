"""Second order: the Hessians of linear and logistic regression, convexity, and Newton's one step

The article trains both of its models with gradient descent. Their Hessians,
derived by symgrad in closed form for any n samples and d features
(sg.hessian of a (d, 1) MatrixSymbol), say why that is slow and what is faster.

Linear regression: L(w) = ||X w - y||^2 / n has the constant Hessian
H = (2/n) X^T X, positive semidefinite, so L is a convex quadratic and equals its
own second-order Taylor expansion. Newton's step w - H^-1 grad L(w) therefore
lands on the normal-equations solution (X^T X)^-1 X^T y from every w: one step.
On the article's data (x = [1, 2, 3, 4], y = [2, 4, 6, 8], design rows (x, 1))
H = [[15, 5], [5, 2]] with eigenvalues (17 -+ sqrt(269))/2, about 0.30 and 16.7.
Gradient descent multiplies the error by I - alpha H per step, so the slow
direction shrinks by 1 - alpha lambda_min per step: at alpha = 0.01, after 1000
steps the error is still above 1/25 of where it started along it, and W is
0.01 away from 2. No stable learning rate does much better, since alpha < 2/lambda_max
keeps 1 - alpha lambda_min above 1 - 2 lambda_min/lambda_max > 0.96 (the
condition number is about 56). sg.fit with sg.Newton() takes the one step in float64.

Logistic regression: the Hessian of the mean sigmoid cross-entropy is
X^T diag(sigma(z) sigma(-z)) X / n with z = X w, which is A^T A / n for
A = diag(sqrt(sigma(z) sigma(-z))) X, so it is positive semidefinite for every
A (the loss is convex) and positive definite once an L2 term lambda/2 ||w||^2
with lambda > 0 is added: Newton's linear system always has a unique solution.

The identities between the closed forms and the hand forms written with
DiagMatrix expect "probable": they compare elementwise maps built separately
(see README.md); the convexity claims are proven for every A, the lemma the
factorization reduces them to.
"""

from fractions import Fraction

import sympy as sp

import symgrad as sg

n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
A = sp.MatrixSymbol("A", n, d)
lam = sp.Symbol("lambda", positive=True)

# --- linear regression -----------------------------------------------------------------------
mse = sg.msum(sp.HadamardPower(X * w - y, 2)) / n    # the article's reduce_mean(square(.))
H_mse = sg.hessian(mse, w)
grad_mse = sg.grad(mse, w)
H_inverse = n / 2 * (X.T * X).I                       # the inverse of (2/n) X^T X
w_normal = (X.T * X).I * X.T * y

XS, YS = [1, 2, 3, 4], [2, 4, 6, 8]
design = sp.ImmutableMatrix([[xi, 1] for xi in XS])   # rows (x, 1): w = (W, b)
target = sp.ImmutableMatrix(YS)
at_article = {X.xreplace({n: 4, d: 2}): design, y.xreplace({n: 4}): target}
H_article = H_mse.xreplace({n: 4, d: 2}).xreplace(at_article)

W, b = sp.symbols("W b")
theta = sp.Matrix([W, b])
article_loss = sp.Add(*[(W * xi + b - yi)**2 for xi, yi in zip(XS, YS)]) / 4
article_grad = sp.Matrix(sg.grad(article_loss, [W, b]))
H2 = sp.Matrix([[15, 5], [5, 2]])
newton_step = theta - H2.inv() * article_grad
lam_min, lam_max = (17 - sp.sqrt(269)) / 2, (17 + sp.sqrt(269)) / 2


def gd_iterate(steps, lr=Fraction(1, 100)):
    """GD from W = b = 0 in exact Fractions: grad = H theta - (60, 20) / 2."""
    w_k, b_k = Fraction(0), Fraction(0)
    for _ in range(steps):
        gw, gb = 15 * w_k + 5 * b_k - 30, 5 * w_k + 2 * b_k - 10
        w_k, b_k = w_k - lr * gw, b_k - lr * gb
    return sp.Rational(w_k.numerator, w_k.denominator), sp.Rational(b_k.numerator, b_k.denominator)


W_GD, B_GD = gd_iterate(1000)
x, t = sp.symbols("x t")
FIT = sg.fit((W * x + b - t)**2, {W: 0.0, b: 0.0}, {x: XS, t: YS}, optimizer=sg.Newton(), steps=1)
W_NEWTON, B_NEWTON = (sp.Rational(float(FIT.params[s])) for s in (W, b))   # exact binary values
TOL = sp.Rational(1, 10**12)

# --- logistic regression ---------------------------------------------------------------------
z = X * w
logistic = sg.msum(z.applyfunc(sg.softplus) - sp.HadamardProduct(y, z)) / n
H_logistic = sg.hessian(logistic, w)
H_logistic_l2 = sg.hessian(logistic + lam / 2 * sp.Trace(w.T * w), w)
curvature = sp.HadamardProduct(z.applyfunc(sg.sigmoid), (-z).applyfunc(sg.sigmoid))
factor = sp.DiagMatrix(curvature.applyfunc(sp.sqrt)) * X     # A = diag(sqrt(sigma sigma')) X
u = sp.Symbol("u")

CLAIMS = [
    sg.Claim("least squares: Hessian of ||Xw - y||^2/n = (2/n) X^T X",
             H_mse, 2 * X.T * X / n,
             hand=r"\nabla^2_w \tfrac1n\lVert Xw - y\rVert^2 = \tfrac2n X^T X"),
    sg.Claim("least squares: (2/n) X^T X >= 0 (Loewner): the loss is convex",
             H_mse, sp.ZeroMatrix(d, d), relation=">=",
             hand=r"v^T \tfrac2n X^T X v = \tfrac2n \lVert Xv\rVert^2 \ge 0"),
    sg.Claim("article's data: the closed-form Hessian at the design (x, 1) is [[15, 5], [5, 2]]",
             H_article, H2,
             hand=r"H = \tfrac24 \begin{pmatrix} \sum x_i^2 & \sum x_i \\ \sum x_i & 4 \end{pmatrix}"),
    sg.Claim("matrix form: (n/2)(X^T X)^-1 is the inverse Hessian",
             H_mse * H_inverse, sp.Identity(d),
             hand=r"H^{-1} = \tfrac n2 (X^T X)^{-1}"),
    sg.Claim("matrix form: one Newton step from any w solves the normal equations",
             w - H_inverse * grad_mse, w_normal,
             hand=r"w - H^{-1}\nabla L(w) = (X^T X)^{-1} X^T y"),
    sg.Claim("article's data: one Newton step from any (W, b) lands on (2, 0)",
             newton_step, sp.Matrix([2, 0]),
             hand=r"\theta - H^{-1}\nabla L(\theta) = (2, 0)\ \text{for every}\ \theta"),
    sg.Claim("article's data: GD (lr 0.01) after 1000 exact steps: |W - 2| > 1/200",
             sp.Abs(W_GD - 2), sp.Rational(1, 200), relation=">",
             hand=r"W_{1000} \approx 1.9897 \ne 2"),
    sg.Claim("GD's slow direction keeps (1 - lambda_min/100)^1000 > 1/25 of its error",
             (1 - lam_min / 100)**1000, sp.Rational(1, 25), relation=">",
             hand=r"(1 - \alpha\lambda_{min})^{1000} > \tfrac1{25},\ \lambda_{min} = \tfrac{17 - \sqrt{269}}{2}"),
    sg.Claim("no stable lr helps much: 1 - 2 lambda_min/lambda_max > 24/25 per step",
             1 - 2 * lam_min / lam_max, sp.Rational(24, 25), relation=">",
             hand=r"\alpha < \tfrac2{\lambda_{max}} \Rightarrow 1 - \alpha\lambda_{min} > 1 - \tfrac{2}{\kappa}"),
    sg.Claim("sg.fit (Newton, 1 step, float64): |W - 2| <= 1e-12",
             sp.Abs(W_NEWTON - 2), TOL, relation="<=",
             hand=r"\text{sg.fit(loss, ..., sg.Newton(), steps=1)}"),
    sg.Claim("sg.fit (Newton, 1 step, float64): |b| <= 1e-12",
             sp.Abs(B_NEWTON), TOL, relation="<=",
             hand=r"\text{sg.fit(loss, ..., sg.Newton(), steps=1)}"),
    sg.Claim("logistic: Hessian = X^T diag(sigma(z) sigma(-z)) X / n",
             H_logistic, X.T * sp.DiagMatrix(curvature) * X / n, expect="probable", budget=5.0,
             hand=r"\nabla^2_w L = \tfrac1n X^T \operatorname{diag}(\sigma(z_i)\sigma(-z_i)) X"),
    sg.Claim("logistic: Hessian = A^T A / n with A = diag(sqrt(sigma(z) sigma(-z))) X",
             H_logistic, factor.T * factor / n, expect="probable", budget=5.0,
             hand=r"\nabla^2_w L = \tfrac1n A^T A,\ A = \operatorname{diag}(\sqrt{\sigma(z_i)\sigma(-z_i)})\, X"),
    sg.Claim("A^T A / n >= 0 (Loewner) for every A: the logistic loss is convex",
             A.T * A / n, sp.ZeroMatrix(d, d), relation=">=",
             hand=r"v^T A^T A v = \lVert Av\rVert^2 \ge 0"),
    sg.Claim("logistic + (lambda/2)||w||^2: Hessian = X^T diag(sigma(z) sigma(-z)) X / n + lambda I",
             H_logistic_l2, X.T * sp.DiagMatrix(curvature) * X / n + lam * sp.Identity(d),
             expect="probable", budget=5.0,
             hand=r"\nabla^2_w (L + \tfrac\lambda2\lVert w\rVert^2) = \tfrac1n X^T D X + \lambda I"),
    sg.Claim("A^T A / n + lambda I > 0 for lambda > 0: Newton's system has one solution",
             A.T * A / n + lam * sp.Identity(d), sp.ZeroMatrix(d, d), relation=">",
             hand=r"\tfrac1n A^T A + \lambda I \succ 0"),
    sg.Claim("sigma(u) sigma(-u) <= 1/4: the logistic Hessian is at most X^T X / (4n)",
             sg.sigmoid(u) * sg.sigmoid(-u), sp.Rational(1, 4), relation="<=",
             hand=r"\sigma(u)\sigma(-u) \le \tfrac14"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
