"""Softmax cross-entropy, and cross-entropy against squared error at a sigmoid output

For logits z and a target distribution y (three classes), the cross-entropy
L = -sum_k y_k log softmax_k(z) has gradient dL/dz_j = softmax_j(z) - y_j only
because sum_k y_k = 1: in general it is softmax_j(z) * sum_k y_k - y_j, and the
claim without that assumption is refuted.

At a single sigmoid output p = sigma(z) the article lists two losses. The
squared error (p - y)^2 has dL/dz = 2 (p - y) p (1 - p): the factor
sigma'(z) = p (1 - p) <= 1/4 vanishes as |z| grows, so a confidently wrong
output learns slowly. The cross-entropy has dL/dz = p - y, with no such factor.
The two gradients are not equal (refuted); their ratio is exactly 2 p (1 - p).

The row-wise claim with MatrixSymbols (n samples, k classes, symgrad's
softmax and logsumexp nodes) is proven by verify's matrix canonical form:
symgrad's gradient writes exp(Z - logsumexp(Z) 1^T) elementwise as softmax(Z),
the form the claim states.
"""

import sympy as sp

import symgrad as sg

z1, z2, z3, y1, y2, y3 = sp.symbols("z1 z2 z3 y1 y2 y3")
zs, ys = [z1, z2, z3], [y1, y2, y3]
softmax = sg.softmax(sp.Matrix([zs]))                  # one row of logits, as in TensorFlow
cross_entropy = -sp.Add(*[yk * (zk - sg.logsumexp(*zs)) for yk, zk in zip(ys, zs)])
ce_grad = sp.Matrix([sg.grad(cross_entropy, zs)])
target = sp.Matrix([ys])
distribution = sp.Eq(y1 + y2 + y3, 1)

# row-wise, n samples and k classes (symbolic sizes), with symgrad's matrix nodes
n, k = sp.symbols("n k", integer=True, positive=True)
Z, Y = sp.MatrixSymbol("Z", n, k), sp.MatrixSymbol("Y", n, k)
row_ce = -sg.msum(sp.HadamardProduct(Y, Z - sg.logsumexp(Z, axis=1) * sp.OneMatrix(1, k)))
row_sums = Y * sp.OneMatrix(k, k)                 # each row of Y summed, repeated k times

z, y = sp.symbols("z y")
p = sg.sigmoid(z)
mse = (p - y)**2
bce = -y * sp.log(p) - (1 - y) * sp.log(1 - p)
mse_grad, bce_grad = sg.grad(mse, z), sg.grad(bce, z)

CLAIMS = [
    sg.Claim("softmax cross-entropy: dL/dz = softmax(z) - y when sum y = 1",
             ce_grad, softmax - target, assumptions=[distribution],
             hand=r"\frac{\partial L}{\partial z_j} = \operatorname{softmax}_j(z) - y_j,\ \sum_k y_k = 1"),
    sg.Claim("softmax cross-entropy: dL/dz = softmax(z) sum(y) - y for any y",
             ce_grad, softmax * (y1 + y2 + y3) - target,
             hand=r"\frac{\partial L}{\partial z_j} = \operatorname{softmax}_j(z)\sum_k y_k - y_j"),
    sg.Claim("softmax cross-entropy: dL/dz = softmax(z) - y for any y >= 0",
             ce_grad, softmax - target, assumptions=[yk >= 0 for yk in ys], expect="refuted",
             hand=r"\frac{\partial L}{\partial z_j} = \operatorname{softmax}_j(z) - y_j"),
    sg.Claim("row-wise (n x k): dL/dZ = softmax(Z) o (Y 1 1^T) - Y",
             sg.grad(row_ce, Z), sp.HadamardProduct(sg.softmax(Z), row_sums) - Y,
             budget=5.0,
             hand=r"\frac{\partial L}{\partial Z} = \operatorname{softmax}(Z) \odot (Y \mathbf{1}\mathbf{1}^T) - Y"),
    sg.Claim("the softmax sums to 1",
             sg.msum(softmax), 1,
             hand=r"\sum_j \operatorname{softmax}_j(z) = 1"),
    sg.Claim("sigmoid + squared error: dL/dz = 2 (p - y) p (1 - p)",
             mse_grad, 2 * (p - y) * p * (1 - p),
             hand=r"\frac{\partial}{\partial z}(\sigma(z) - y)^2 = 2(\sigma - y)\,\sigma(1 - \sigma)"),
    sg.Claim("sigmoid + cross-entropy: dL/dz = p - y",
             bce_grad, p - y,
             hand=r"\frac{\partial}{\partial z}\,\mathrm{CE}(\sigma(z), y) = \sigma - y"),
    sg.Claim("the squared-error and cross-entropy gradients are equal (0 <= y <= 1)",
             mse_grad, bce_grad, assumptions=[y >= 0, y <= 1], expect="refuted",
             hand=r"2(\sigma - y)\,\sigma(1 - \sigma) = \sigma - y"),
    sg.Claim("their ratio is the vanishing factor 2 p (1 - p)",
             mse_grad / bce_grad, 2 * p * (1 - p),
             hand=r"\frac{\partial_z \mathrm{MSE}}{\partial_z \mathrm{CE}} = 2\sigma(1 - \sigma)"),
    sg.Claim("the factor is small: p (1 - p) <= 1/4",
             p * (1 - p), sp.Rational(1, 4), relation="<=",
             hand=r"\sigma(1 - \sigma) \le \tfrac14"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
