"""Logistic regression with sigmoid cross-entropy, and why it cannot learn XOR

The article (section 4.2) trains logits z = x W + b with
tf.nn.sigmoid_cross_entropy_with_logits on the four XOR points
(0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0. The claims check the loss and its
gradient sigma(z) - y, that TensorFlow's numerically stable form
max(z, 0) - z y + log(1 + exp(-|z|)) is the same function as the naive
-y log sigma(z) - (1 - y) log(1 - sigma(z)), and then that the article's
example cannot work: on XOR the mean loss L(w1, w2, b) is convex (its Hessian
is X^T D X / 4 with D = diag(sigma(z_i) sigma(-z_i)) > 0, hence PSD) and its
gradient vanishes at w = 0, b = 0, so that point is a global minimum with loss
ln 2: every linear model predicts 1/2 on all four points at best.

The inequality L >= ln 2 itself is only sampled by verify (no route proves it
directly; the convexity lemmas above are its proof), so it expects "probable",
and so does the direct Loewner claim on the Hessian (its 2 x 2 and 3 x 3
minors are sums of products of sigmoids). The derivative of the stable form
is also "probable": it has Heaviside(z) and sign(z), and the Piecewise route
drops the condition z != 0 that makes one of its branches empty.
The article's hope is stated as the claim "every linear model beats chance on
XOR, L < ln 2", which verify refutes at a certified point; the stronger
statement that *no* linear model beats chance is L >= ln 2.
"""

import sympy as sp

import symgrad as sg

z, y = sp.symbols("z y")
sigma = sg.sigmoid(z)
naive = -y * sp.log(sigma) - (1 - y) * sp.log(1 - sigma)
stable = sp.Max(z, 0) - z * y + sp.log(1 + sp.exp(-sp.Abs(z)))       # TensorFlow's formula

# --- XOR --------------------------------------------------------------------------------------
w1, w2, b = sp.symbols("w1 w2 b")
XOR = [((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)]
logits = [w1 * p + w2 * q + b for (p, q), _ in XOR]
xor_loss = sp.Add(*[sg.softplus(zi) - t * zi for zi, (_, t) in zip(logits, XOR)]) / 4
params = [w1, w2, b]
at_zero = {w1: 0, w2: 0, b: 0}
hess = sg.hessian(xor_loss, params)
design = sp.Matrix([[p, q, 1] for (p, q), _ in XOR])            # rows (x1, x2, 1)
weights = sp.diag(*[sg.sigmoid(zi) * sg.sigmoid(-zi) for zi in logits])
d = sp.symbols("d1:5")

CLAIMS = [
    sg.Claim("d/dz of sigmoid cross-entropy = sigma(z) - y",
             sg.grad(naive, z), sigma - y,
             hand=r"\frac{\partial}{\partial z}\left[-y\log\sigma(z) - (1-y)\log(1-\sigma(z))\right] = \sigma(z) - y"),
    sg.Claim("TF stable form max(z,0) - zy + log(1+e^-|z|) = naive form",
             stable, naive,
             hand=r"\max(z, 0) - z y + \log(1 + e^{-|z|}) = -y\log\sigma(z) - (1-y)\log(1-\sigma(z))"),
    sg.Claim("d/dz of the stable form = sigma(z) - y",
             sg.grad(stable, z), sigma - y, expect="probable", budget=5.0,
             hand=r"\frac{\partial}{\partial z}\,\text{sigmoid\_cross\_entropy\_with\_logits} = \sigma(z) - y"),
    sg.Claim("XOR: the gradient of the mean loss vanishes at w = 0, b = 0",
             sp.Matrix(sg.grad(xor_loss, params)).xreplace(at_zero), sp.zeros(3, 1),
             hand=r"\nabla L(0, 0, 0) = \tfrac14 \sum_i (\sigma(0) - y_i)\,(x_i, 1) = 0"),
    sg.Claim("XOR: the loss at w = 0, b = 0 is ln 2",
             xor_loss.xreplace(at_zero), sp.log(2),
             hand=r"L(0, 0, 0) = \log 2"),
    sg.Claim("XOR: Hessian = X^T diag(sigma(z_i) sigma(-z_i)) X / 4",
             hess, design.T * weights * design / 4,
             hand=r"\nabla^2 L = \tfrac14 X^T \operatorname{diag}(\sigma'(z_i)) X"),
    sg.Claim("sigma'(z) = sigma(z) sigma(-z)",
             sg.grad(sigma, z), sg.sigmoid(z) * sg.sigmoid(-z),
             hand=r"\sigma'(z) = \sigma(z)(1 - \sigma(z)) = \sigma(z)\sigma(-z)"),
    sg.Claim("sigma(z) sigma(-z) > 0",
             sg.sigmoid(z) * sg.sigmoid(-z), 0, relation=">",
             hand=r"\sigma'(z) = \sigma(z)(1 - \sigma(z)) > 0"),
    sg.Claim("X^T diag(d) X >= 0 (Loewner) for XOR's X and any d > 0",
             design.T * sp.diag(*d) * design, sp.zeros(3, 3), relation=">=",
             assumptions=[di > 0 for di in d],
             hand=r"X^T D X \succeq 0\ \text{for}\ D = \operatorname{diag}(d) \succ 0"),
    sg.Claim("XOR: the Hessian of the mean loss is PSD (Loewner), sampled",
             hess, sp.zeros(3, 3), relation=">=", expect="probable", budget=5.0,
             hand=r"\nabla^2 L \succeq 0"),
    sg.Claim("XOR: no linear model beats chance, L(w, b) >= ln 2",
             xor_loss, sp.log(2), relation=">=", expect="probable", budget=5.0,
             hand=r"L(w, b) \ge L(0, 0) = \log 2"),
    sg.Claim("article: the linear model learns XOR, L(w, b) < ln 2",
             xor_loss, sp.log(2), relation="<", expect="refuted",
             hand=r"\text{tf.nn.sigmoid\_cross\_entropy\_with\_logits on XOR reaches}\ L < \log 2"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
