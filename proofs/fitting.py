"""Over-fitting, under-fitting and early stopping: what the mathematics settles

The article says an under-fit model "does badly on the training data but well
on new data", and that early stopping keeps the model from converging "too
early". Both are wrong. What is formalised here, and how:

* New data = fresh labels y'_i = f(x_i) + e'_i at the training inputs, with
  independent zero-mean noise of variance sigma^2 (training labels
  y_i = f(x_i) + e_i). For a least-squares fit with p parameters on n points the
  expected error on new data exceeds the expected training error by exactly
  2 p sigma^2 / n (the optimism of the training error). Expectations are taken
  exactly, monomial by monomial (E e_i = 0, E e_i^2 = sigma^2, E e_i e_j = 0).
  Under-fitting (a constant model, p = 1, for the article's law f(x) = 2x)
  therefore means bad training error (>= 5) *and* error on new data at least as
  bad: the claim "E[new-data error] < E[training error]" is refuted.
  Over-fitting (a cubic through the 4 points, p = 4) has training error exactly
  0 and the worst error on new data.
* Early stopping stops gradient descent before it converges: along GD with a
  stable step the training loss only goes down, so the model returned at
  step 100 of the article's run is less converged than the one at step 1000
  (the claim "at least as converged" is refuted). What it buys is shrinkage:
  from theta_0 = 0 the norm of the GD iterate grows monotonically, and in one
  dimension the GD iterate at step k is exactly the ridge solution with
  lambda_k = a s / (1 - s), s = (1 - 2 alpha a)^k.
* Ridge regression: the norm of the closed-form solution shrinks and the
  training error grows as lambda grows (one dimension with symbolic data, and
  the article's design with a bias column, the bias penalised too).

Left out: "over-fitting means doing well on training data and badly on new
data" is a definition, not a theorem; the claims above only show it happening
for interpolation. A change of variables r = 1/(1 + p), s = 1/(1 + q) (p > 0,
q >= 0) states "0 < r < 1, 0 < s <= 1" with one-sided bounds, which verify's
proof routes need.
"""

import sympy as sp

import symgrad as sg

# --- ridge regression in one dimension, symbolic data ---------------------------------------
theta, lam = sp.symbols("theta lambda")
xs, ys = sp.symbols("x1:5"), sp.symbols("y1:5")
train_error = sp.Add(*[(theta * xi - yi)**2 for xi, yi in zip(xs, ys)])
ridge = train_error + lam * theta**2
sxx = sp.Add(*[xi**2 for xi in xs])
sxy = sp.Add(*[xi * yi for xi, yi in zip(xs, ys)])
theta_ridge = sxy / (sxx + lam)

# --- ridge regression on the article's design (columns x, 1) -------------------------------------
XS, YS = [1, 2, 3, 4], [2, 4, 6, 8]
design = sp.Matrix([[xi, 1] for xi in XS])
target = sp.Matrix(YS)
theta_design = ((design.T * design + lam * sp.eye(2)).inv() * design.T * target).applyfunc(sp.cancel)
norm2_design = (theta_design.T * theta_design)[0, 0]
residual_design = design * theta_design - target
error_design = (residual_design.T * residual_design)[0, 0]

# --- gradient descent from 0 in one dimension, E(theta) = a theta^2 - 2 c theta + const ------------
a, c, step = sp.symbols("a c alpha")
p, q, theta_star = sp.symbols("p q theta_star")
r, s = 1 / (1 + p), 1 / (1 + q)        # r = 1 - 2 alpha a in (0, 1), s = r^k in (0, 1]
k = sp.Symbol("k", integer=True, nonnegative=True)
ratio = 1 - 2 * step * a
gd_iterate = (c / a) * (1 - ratio**k)                     # GD from theta_0 = 0, k steps

# --- the article's GD run (loss mean((W x + b - y)^2), alpha = 1/100) ----------------------------------
W, b = sp.symbols("W b")
article_loss = sp.Add(*[(W * xi + b - yi)**2 for xi, yi in zip(XS, YS)]) / 4
H = sg.hessian(article_loss, [W, b])
star = sp.Matrix([2, 0])


def gd_article(steps):
    return star + (sp.eye(2) - H / 100)**steps * (sp.zeros(2, 1) - star)


def loss_at(point):
    return article_loss.xreplace({W: point[0], b: point[1]})


def norm2(vector):
    return (vector.T * vector)[0, 0]


# --- expected errors of least-squares fits under label noise --------------------------------------
sigma = sp.Symbol("sigma")
f = sp.symbols("f1:5")                       # the true function at the four inputs
e = sp.symbols("e1:5")                       # training noise
e_new = sp.symbols("en1:5")                  # noise of the new labels


def expectation(expr, noise=e + e_new, variance=sigma**2):
    """E over independent zero-mean noise with the given variance (degree <= 2 in the noise)."""
    total = sp.S.Zero
    for monom, coeff in sp.Poly(sp.expand(expr), *noise).terms():
        moment = sp.S.One
        for degree in monom:
            if degree == 1:
                moment = sp.S.Zero
            elif degree == 2:
                moment *= variance
            elif degree > 2:
                raise ValueError("expectation() handles noise up to degree 2")
        total += coeff * moment
    return sp.expand(total)


def expected_errors(features, truth=f):
    """(E training error, E new-data error) of the least-squares fit with these features of x."""
    phi = sp.Matrix([[g(xi) for g in features] for xi in XS])
    hat = phi * (phi.T * phi).inv() * phi.T
    y_train = sp.Matrix([ti + ei for ti, ei in zip(truth, e)])
    y_new = sp.Matrix([ti + ei for ti, ei in zip(truth, e_new)])
    fitted = hat * y_train
    n = len(XS)
    return (expectation(norm2(y_train - fitted) / n), expectation(norm2(y_new - fitted) / n))


CONSTANT = [lambda x: 1]                                  # under-fits y = 2x
LINEAR = [lambda x: 1, lambda x: x]                       # the article's model
CUBIC = [lambda x, j=j: x**j for j in range(4)]           # interpolates 4 points: over-fits
article_law = [2 * xi for xi in XS]
linear_law = [sp.Symbol("beta0") + sp.Symbol("beta1") * xi for xi in XS]

train_c, new_c = expected_errors(CONSTANT)
train_law, new_law = expected_errors(CONSTANT, article_law)
train_l, new_l = expected_errors(LINEAR, linear_law)
_, new_3 = expected_errors(CUBIC, linear_law)
cubic_fit = sp.Matrix([[xi**j for j in range(4)] for xi in XS])
y_any = sp.Matrix(ys)

CLAIMS = [
    # ridge
    sg.Claim("ridge, 1-D: theta(lam) = sum xy / (sum x^2 + lam) zeroes the gradient",
             sg.grad(ridge, theta).subs(theta, theta_ridge), 0, assumptions=[lam > 0],
             hand=r"\hat\theta(\lambda) = \frac{\sum x_i y_i}{\sum x_i^2 + \lambda}"),
    sg.Claim("ridge, 1-D: d theta(lam)^2 / d lam <= 0 for lam > 0",
             sp.diff(theta_ridge**2, lam), 0, relation="<=", assumptions=[lam > 0],
             hand=r"\frac{d}{d\lambda}\lVert\hat\theta(\lambda)\rVert^2 \le 0"),
    sg.Claim("ridge, 1-D: the training error grows with lam",
             sp.diff(train_error.subs(theta, theta_ridge), lam), 0, relation=">=",
             assumptions=[lam > 0],
             hand=r"\frac{d}{d\lambda}\sum_i(\hat\theta(\lambda) x_i - y_i)^2 \ge 0"),
    sg.Claim("ridge, article's design: ||theta(lam)||^2 shrinks as lam grows",
             sp.diff(norm2_design, lam), 0, relation="<=", assumptions=[lam > 0],
             hand=r"\hat\theta(\lambda) = (X^T X + \lambda I)^{-1} X^T y,\ \frac{d}{d\lambda}\lVert\hat\theta\rVert^2 \le 0"),
    sg.Claim("ridge, article's design: the training error grows with lam",
             sp.diff(error_design, lam), 0, relation=">=", assumptions=[lam > 0],
             hand=r"\frac{d}{d\lambda}\lVert X\hat\theta(\lambda) - y\rVert^2 \ge 0"),
    # early stopping
    sg.Claim("GD from 0, 1-D: theta_k = (c/a)(1 - (1 - 2 alpha a)^k) follows the GD step",
             gd_iterate.subs(k, k + 1),
             gd_iterate - step * sp.diff(a * theta**2 - 2 * c * theta, theta).subs(theta, gd_iterate),
             assumptions=[a > 0],
             hand=r"\theta_{k+1} = \theta_k - \alpha\,E'(\theta_k),\ \theta_0 = 0"),
    sg.Claim("GD from 0, 1-D: |theta_k| grows with k (0 < r < 1, s = r^k)",
             (theta_star * (1 - r * s))**2, (theta_star * (1 - s))**2, relation=">=",
             assumptions=[p > 0, q >= 0],
             hand=r"\theta_k^2 = \theta^{*2}(1 - r^k)^2 \le \theta^{*2}(1 - r^{k+1})^2"),
    sg.Claim("early stopping at step k = ridge with lam_k = a s / (1 - s)",
             (c / a) * (1 - s), c / (a + a * s / (1 - s)), assumptions=[a > 0, q > 0],
             hand=r"\theta_k = \hat\theta_{\mathrm{ridge}}(\lambda_k),\ \lambda_k = \frac{a\,r^k}{1 - r^k}"),
    sg.Claim("article's run: ||theta_100|| < ||theta_1000|| < ||theta*|| (shrinkage)",
             sp.Matrix([norm2(gd_article(100)), norm2(gd_article(1000))]),
             sp.Matrix([norm2(gd_article(1000)), norm2(star)]), relation="<",
             hand=r"\lVert\theta_{100}\rVert < \lVert\theta_{1000}\rVert < \lVert\theta^*\rVert"),
    sg.Claim("article: early stopping at step 100 is at least as converged as 1000 steps",
             loss_at(gd_article(100)), loss_at(gd_article(1000)), relation="<=", expect="refuted",
             hand=r"\text{early stopping prevents converging too early}:\ L(\theta_{100}) \le L(\theta_{1000})"),
    # under- and over-fitting
    sg.Claim("under-fit (constant model): E[new] = E[train] + 2 sigma^2 / 4",
             new_c, train_c + 2 * sigma**2 / 4,
             hand=r"\mathbb{E}[\mathrm{Err}_{new}] - \mathbb{E}[\mathrm{err}_{train}] = \frac{2p\sigma^2}{n},\ p = 1"),
    sg.Claim("under-fit on y = 2x: E[training error] >= 5 (bad on training data)",
             train_law, 5, relation=">=",
             hand=r"\mathbb{E}\,\tfrac14\sum_i (y_i - \bar y)^2 = 5 + \tfrac34\sigma^2"),
    sg.Claim("article: an under-fit model does better on new data than on training data",
             new_law, train_law, relation="<", expect="refuted",
             hand=r"\text{under-fitting: bad on training data, good on new data}"),
    sg.Claim("right model (linear law, p = 2): E[new] = E[train] + sigma^2",
             new_l, train_l + sigma**2,
             hand=r"\frac{2p\sigma^2}{n} = \sigma^2,\ p = 2,\ n = 4"),
    sg.Claim("over-fit (cubic through 4 points): training error is exactly 0",
             norm2(y_any - cubic_fit * cubic_fit.inv() * y_any), 0,
             hand=r"\lVert y - \Phi\Phi^{-1} y\rVert^2 = 0"),
    sg.Claim("over-fit cubic: E[new] = 2 sigma^2, worse than the linear model's",
             new_3, new_l + sigma**2 / 2,
             hand=r"\mathbb{E}[\mathrm{Err}_{new}] = \sigma^2(1 + p/n):\ 2\sigma^2\ \text{vs}\ \tfrac32\sigma^2"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
